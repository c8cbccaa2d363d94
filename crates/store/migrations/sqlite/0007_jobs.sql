-- The job queue batch work runs from (issue 8): scheduled and ad-hoc jobs with a lease.
-- A scheduled run is keyed by (kind, scope, slot) and inserted if absent, so several
-- schedulers never enqueue one slot twice. Execution is at-least-once: a worker that dies
-- loses its lease (locked_until) and another takes the job; every job's effect is idempotent.
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL,
    scope        TEXT NOT NULL,
    slot         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    priority     BIGINT NOT NULL,
    run_after    TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'dead')),
    attempts     BIGINT NOT NULL,
    max_attempts BIGINT NOT NULL,
    locked_by    TEXT,
    locked_until TEXT,
    last_error   TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    finished_at  TEXT,
    UNIQUE (kind, scope, slot)
);
CREATE INDEX jobs_ready ON jobs(status, run_after);
