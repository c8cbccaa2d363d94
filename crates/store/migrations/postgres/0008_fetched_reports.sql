-- Sales report files fetched from the DSPs (issue 8): one row per remote file and size, so
-- a scheduled fetch downloads each file once, and a refused report is reported once (a
-- corrected file under the same name has another size or hash and is fetched again).
CREATE TABLE fetched_reports (
    dsp         TEXT NOT NULL,
    name        TEXT NOT NULL,
    size        BIGINT NOT NULL,
    sha256      TEXT NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('imported', 'already', 'refused')),
    detail      TEXT NOT NULL,
    fetched_at  TEXT NOT NULL,
    PRIMARY KEY (dsp, name, size, sha256)
);
