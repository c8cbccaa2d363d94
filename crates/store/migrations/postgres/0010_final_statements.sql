-- Final statements (issue 16): a payee's statement of a closed period is rendered once and
-- kept; rendering it again returns these bytes. Rows are never changed.
CREATE TABLE final_statements (
    period      TEXT NOT NULL,
    payee       TEXT NOT NULL,
    csv         TEXT NOT NULL,
    lines_csv   TEXT NOT NULL,
    html        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (period, payee)
);
CREATE FUNCTION final_statements_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'final statements are immutable';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER final_statements_no_change BEFORE UPDATE OR DELETE ON final_statements
FOR EACH ROW EXECUTE FUNCTION final_statements_immutable();
CREATE TRIGGER final_statements_no_truncate BEFORE TRUNCATE ON final_statements
FOR EACH STATEMENT EXECUTE FUNCTION final_statements_immutable();

-- The QC gate per DSP (issue 16): a staff decision names the DSP it is for (NULL: every DSP),
-- and a QC run records whether its findings need a staff decision before delivery (the
-- "review" AI policy).
ALTER TABLE review_decisions ADD COLUMN dsp TEXT;
ALTER TABLE qc_runs ADD COLUMN needs_review BIGINT NOT NULL DEFAULT 0;
CREATE INDEX qc_runs_release_profile ON qc_runs(upc, revision, profile);
