-- Catalog: labels, payees, stored files, releases and their revisions.
-- Timestamps are RFC 3339 UTC text on both backends so queries stay portable.
CREATE TABLE labels (
    name        TEXT PRIMARY KEY,
    dpid        TEXT,
    email       TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE payees (
    id                      TEXT PRIMARY KEY,
    name                    TEXT NOT NULL,
    email                   TEXT NOT NULL,
    currency                TEXT NOT NULL,
    payout_threshold_minor  BIGINT NOT NULL,
    payment_ref             TEXT NOT NULL,
    updated_at              TEXT NOT NULL
);

CREATE TABLE files (
    sha256         TEXT PRIMARY KEY,
    md5            TEXT NOT NULL,
    size           BIGINT NOT NULL,
    original_name  TEXT NOT NULL,
    created_at     TEXT NOT NULL
);

CREATE TABLE releases (
    upc               TEXT PRIMARY KEY,
    title             TEXT NOT NULL,
    display_artist    TEXT NOT NULL,
    label_name        TEXT NOT NULL REFERENCES labels(name),
    release_type      TEXT NOT NULL,
    release_date      TEXT NOT NULL,
    track_count       BIGINT NOT NULL,
    status            TEXT NOT NULL,
    current_revision  BIGINT NOT NULL,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL
);

-- Every version of a release ever imported; later issues deliver updates from this history.
CREATE TABLE release_revisions (
    upc              TEXT NOT NULL REFERENCES releases(upc),
    revision         BIGINT NOT NULL,
    document_sha256  TEXT NOT NULL,
    document         TEXT NOT NULL,
    source           TEXT NOT NULL,
    imported_at      TEXT NOT NULL,
    PRIMARY KEY (upc, revision)
);

CREATE TABLE tracks (
    upc           TEXT NOT NULL,
    revision      BIGINT NOT NULL,
    disc          BIGINT NOT NULL,
    number        BIGINT NOT NULL,
    isrc          TEXT NOT NULL,
    title         TEXT NOT NULL,
    audio_sha256  TEXT NOT NULL REFERENCES files(sha256),
    PRIMARY KEY (upc, revision, disc, number),
    FOREIGN KEY (upc, revision) REFERENCES release_revisions(upc, revision)
);
CREATE INDEX tracks_isrc ON tracks(isrc);
CREATE INDEX tracks_audio ON tracks(audio_sha256);
