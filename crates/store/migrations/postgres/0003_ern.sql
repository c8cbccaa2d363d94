-- ERN messages built per release and DSP: the history that tells an update from a first
-- delivery, and what a takedown or purge follows. Append-only, like the review log.
CREATE TABLE ern_messages (
    id          BIGSERIAL PRIMARY KEY,
    upc         TEXT NOT NULL,
    dsp         TEXT NOT NULL,
    revision    BIGINT NOT NULL,
    message_id  TEXT NOT NULL,
    intent      TEXT NOT NULL CHECK (intent IN ('new', 'update', 'takedown', 'purge')),
    ern_version TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    xml         TEXT NOT NULL,
    UNIQUE (dsp, message_id)
);
CREATE INDEX ern_messages_release ON ern_messages(upc, dsp, id);

CREATE FUNCTION ern_messages_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ern_messages is an append-only history';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER ern_messages_no_change BEFORE UPDATE OR DELETE ON ern_messages
FOR EACH ROW EXECUTE FUNCTION ern_messages_append_only();
CREATE TRIGGER ern_messages_no_truncate BEFORE TRUNCATE ON ern_messages
FOR EACH STATEMENT EXECUTE FUNCTION ern_messages_append_only();
