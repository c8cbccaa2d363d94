-- QC: cached file analyses, QC runs per release revision, and the staff decision log.

-- One analysis per stored file and analyser version: re-running QC does not decode again.
CREATE TABLE file_analyses (
    sha256            TEXT NOT NULL REFERENCES files(sha256),
    kind              TEXT NOT NULL CHECK (kind IN ('audio', 'artwork')),
    analyser_version  INTEGER NOT NULL,
    pcm_sha256        TEXT,
    dhash             TEXT,
    report            TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    PRIMARY KEY (sha256, kind, analyser_version)
);
CREATE INDEX file_analyses_pcm ON file_analyses(pcm_sha256);

CREATE TABLE qc_runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    upc         TEXT NOT NULL,
    revision    INTEGER NOT NULL,
    profile     TEXT NOT NULL,
    blocked     INTEGER NOT NULL,
    errors      INTEGER NOT NULL,
    warnings    INTEGER NOT NULL,
    report      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    FOREIGN KEY (upc, revision) REFERENCES release_revisions(upc, revision)
);
CREATE INDEX qc_runs_release ON qc_runs(upc, revision);

-- The audit log of staff decisions: rows are only ever inserted.
CREATE TABLE review_decisions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    upc         TEXT NOT NULL,
    revision    INTEGER NOT NULL,
    decision    TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
    code        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    operator    TEXT NOT NULL,
    qc_run_id   INTEGER REFERENCES qc_runs(id),
    decided_at  TEXT NOT NULL,
    FOREIGN KEY (upc, revision) REFERENCES release_revisions(upc, revision)
);
CREATE INDEX review_decisions_release ON review_decisions(upc, revision);

CREATE TRIGGER review_decisions_no_update BEFORE UPDATE ON review_decisions
BEGIN SELECT RAISE(ABORT, 'review_decisions is an append-only audit log'); END;
CREATE TRIGGER review_decisions_no_delete BEFORE DELETE ON review_decisions
BEGIN SELECT RAISE(ABORT, 'review_decisions is an append-only audit log'); END;
