-- Named leases (issue 8): one holder at a time for work that must not run twice at once,
-- e.g. delivering one release to one DSP. A holder renews its lease while it works; a lease
-- that ran out may be taken by another holder; the same holder may take its own lock again
-- (a job resumed by another worker keeps the job's identity).
CREATE TABLE locks (
    name   TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until  TEXT NOT NULL
);
