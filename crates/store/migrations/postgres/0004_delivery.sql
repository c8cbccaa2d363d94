-- Deliveries: one ERN message with its files to one DSP, and where it stands. Status moves
-- are compare-and-set (UPDATE … WHERE status = the expected one), so two workers never both
-- move one delivery. Acknowledgements are kept as history, every one of them, append-only.
CREATE TABLE deliveries (
    id           BIGSERIAL PRIMARY KEY,
    upc          TEXT NOT NULL,
    dsp          TEXT NOT NULL,
    revision     BIGINT NOT NULL,
    message_id   TEXT NOT NULL,
    intent       TEXT NOT NULL CHECK (intent IN ('new', 'update', 'takedown', 'purge')),
    status       TEXT NOT NULL CHECK (status IN ('queued', 'uploading', 'uploaded', 'acknowledged', 'rejected', 'failed')),
    attempts     BIGINT NOT NULL DEFAULT 0,
    bytes        BIGINT NOT NULL DEFAULT 0,
    last_error   TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    uploaded_at  TEXT,
    UNIQUE (dsp, message_id)
);
CREATE INDEX deliveries_release ON deliveries(upc, dsp, id);
CREATE INDEX deliveries_status ON deliveries(status);

CREATE TABLE acknowledgements (
    id           BIGSERIAL PRIMARY KEY,
    dsp          TEXT NOT NULL,
    message_id   TEXT NOT NULL,
    -- The acknowledgement file's name (SFTP) or the response's id (HTTP): the same one twice
    -- is one acknowledgement.
    source       TEXT NOT NULL,
    acked_at     TEXT NOT NULL,
    received_at  TEXT NOT NULL,
    status       TEXT NOT NULL,
    action       TEXT NOT NULL,
    error_text   TEXT,
    document     TEXT NOT NULL,
    UNIQUE (dsp, message_id, source)
);
CREATE INDEX acknowledgements_message ON acknowledgements(dsp, message_id, id);

CREATE FUNCTION acknowledgements_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'acknowledgements is an append-only history';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER acknowledgements_no_change BEFORE UPDATE OR DELETE ON acknowledgements
FOR EACH ROW EXECUTE FUNCTION acknowledgements_append_only();

-- Files made from a stored master for a DSP that takes another format (a FLAC of a WAV):
-- made once, content-addressed like every file, found again by (source, codec).
CREATE TABLE derived_files (
    source      TEXT NOT NULL REFERENCES files(sha256),
    codec       TEXT NOT NULL,
    derived     TEXT NOT NULL REFERENCES files(sha256),
    created_at  TEXT NOT NULL,
    PRIMARY KEY (source, codec)
);
