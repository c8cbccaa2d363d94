-- ERN messages built per release and DSP: the history that tells an update from a first
-- delivery, and what a takedown or purge follows. Append-only, like the review log.
CREATE TABLE ern_messages (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
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

CREATE TRIGGER ern_messages_no_update BEFORE UPDATE ON ern_messages
BEGIN SELECT RAISE(ABORT, 'ern_messages is an append-only history'); END;
CREATE TRIGGER ern_messages_no_delete BEFORE DELETE ON ern_messages
BEGIN SELECT RAISE(ABORT, 'ern_messages is an append-only history'); END;
