-- What a delivery sends, file by file, so a killed `liner deliver` resumes where it stopped:
-- a file marked sent is not sent again, the others resume from what the DSP holds.
-- `package_at` fixes the batch or release folder's timestamp (its name), so a resumed
-- delivery goes on in the same folder; a resend the DSP asked for gets a new one.
ALTER TABLE deliveries ADD COLUMN package_at TEXT;
ALTER TABLE deliveries ADD COLUMN priority BIGINT NOT NULL DEFAULT 0;

CREATE TABLE delivery_files (
    delivery_id  BIGINT NOT NULL REFERENCES deliveries(id),
    seq          BIGINT NOT NULL,
    -- The path written in the message (`resources/…`), or the message itself.
    uri          TEXT NOT NULL,
    -- `sha256:…` of a stored file, or `message`.
    source       TEXT NOT NULL,
    md5          TEXT NOT NULL,
    size         BIGINT NOT NULL,
    sent_at      TEXT,
    PRIMARY KEY (delivery_id, seq)
);

-- E-mails sent about deliveries: one per delivery, kind and subject matter, so a repeated
-- check does not mail the label twice.
CREATE TABLE notices (
    delivery_id  BIGINT NOT NULL REFERENCES deliveries(id),
    kind         TEXT NOT NULL,
    detail       TEXT NOT NULL,
    recipient    TEXT NOT NULL,
    how          TEXT NOT NULL,
    sent_at      TEXT NOT NULL,
    PRIMARY KEY (delivery_id, kind, detail)
);
