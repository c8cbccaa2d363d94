-- QC: cached file analyses, QC runs per release revision, and the staff decision log.

-- One analysis per stored file and analyser version: re-running QC does not decode again.
CREATE TABLE file_analyses (
    sha256            TEXT NOT NULL REFERENCES files(sha256),
    kind              TEXT NOT NULL CHECK (kind IN ('audio', 'artwork')),
    analyser_version  BIGINT NOT NULL,
    pcm_sha256        TEXT,
    dhash             TEXT,
    report            TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    PRIMARY KEY (sha256, kind, analyser_version)
);
CREATE INDEX file_analyses_pcm ON file_analyses(pcm_sha256);

CREATE TABLE qc_runs (
    id          BIGSERIAL PRIMARY KEY,
    upc         TEXT NOT NULL,
    revision    BIGINT NOT NULL,
    profile     TEXT NOT NULL,
    blocked     BIGINT NOT NULL,
    errors      BIGINT NOT NULL,
    warnings    BIGINT NOT NULL,
    report      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    FOREIGN KEY (upc, revision) REFERENCES release_revisions(upc, revision)
);
CREATE INDEX qc_runs_release ON qc_runs(upc, revision);

-- The audit log of staff decisions: rows are only ever inserted.
CREATE TABLE review_decisions (
    id          BIGSERIAL PRIMARY KEY,
    upc         TEXT NOT NULL,
    revision    BIGINT NOT NULL,
    decision    TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
    code        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    operator    TEXT NOT NULL,
    qc_run_id   BIGINT REFERENCES qc_runs(id),
    decided_at  TEXT NOT NULL,
    FOREIGN KEY (upc, revision) REFERENCES release_revisions(upc, revision)
);
CREATE INDEX review_decisions_release ON review_decisions(upc, revision);

CREATE FUNCTION review_decisions_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'review_decisions is an append-only audit log';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER review_decisions_no_change BEFORE UPDATE OR DELETE ON review_decisions
FOR EACH ROW EXECUTE FUNCTION review_decisions_append_only();
CREATE TRIGGER review_decisions_no_truncate BEFORE TRUNCATE ON review_decisions
FOR EACH STATEMENT EXECUTE FUNCTION review_decisions_append_only();
