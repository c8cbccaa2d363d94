-- Sales reports and the royalty ledger. Everything here is append-only: a correction is a
-- new row (a superseding report, a reversing transaction), never an edit.

-- One imported report (all its files). Its identity is import_key: sender, message id,
-- and the x-of-y and content hash of every file.
CREATE TABLE sales_reports (
    id               BIGSERIAL PRIMARY KEY,
    import_key       TEXT NOT NULL UNIQUE,
    sender           TEXT NOT NULL,
    message_id       TEXT NOT NULL,
    dsp              TEXT NOT NULL,
    format           TEXT NOT NULL,
    files            TEXT NOT NULL,
    reporting_period TEXT NOT NULL,
    usage_start      TEXT NOT NULL,
    usage_end        TEXT NOT NULL,
    lines            BIGINT NOT NULL,
    usage_lines      BIGINT NOT NULL,
    matched_lines    BIGINT NOT NULL,
    totals           TEXT NOT NULL,
    warnings         TEXT NOT NULL,
    supersedes       BIGINT REFERENCES sales_reports(id),
    imported_at      TEXT NOT NULL
);
CREATE INDEX sales_reports_message ON sales_reports(sender, message_id);

-- A transaction: its entries sum to zero per currency. `chain` hashes this transaction's
-- digest onto the previous one, so an edit made around the triggers still shows.
CREATE TABLE ledger_transactions (
    id          BIGSERIAL PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL CHECK (kind IN ('import', 'reversal', 'rematch', 'close', 'payout', 'advance')),
    period      TEXT NOT NULL,
    report_id   BIGINT REFERENCES sales_reports(id),
    reverses    BIGINT REFERENCES ledger_transactions(id),
    memo        TEXT NOT NULL,
    entry_count BIGINT NOT NULL,
    digest      TEXT NOT NULL,
    chain       TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX ledger_transactions_report ON ledger_transactions(report_id);

-- Amounts are integers of 10^-18 units, kept as TEXT: they exceed SQLite's 64-bit integers.
CREATE TABLE ledger_entries (
    id               BIGSERIAL PRIMARY KEY,
    tx_id            BIGINT NOT NULL REFERENCES ledger_transactions(id),
    account          TEXT NOT NULL,
    currency         TEXT NOT NULL,
    amount           TEXT NOT NULL,
    units            BIGINT NOT NULL,
    dsp              TEXT NOT NULL,
    territory        TEXT NOT NULL,
    usage_period     TEXT NOT NULL,
    commercial_model TEXT NOT NULL,
    rights_type      TEXT NOT NULL,
    isrc             TEXT NOT NULL,
    upc              TEXT NOT NULL,
    source           TEXT NOT NULL,
    formula          TEXT NOT NULL,
    -- A payee's or label's share before the distributor's fee (statements show the fee).
    gross            TEXT NOT NULL
);
CREATE INDEX ledger_entries_tx ON ledger_entries(tx_id);
CREATE INDEX ledger_entries_account ON ledger_entries(account);

-- Serialises ledger writers and holds the head of the hash chain.
CREATE TABLE ledger_head (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    chain    TEXT NOT NULL,
    tx_count BIGINT NOT NULL
);
INSERT INTO ledger_head (id, chain, tx_count) VALUES (1, '', 0);

-- Usage that matched nothing in the catalog, aggregated per report and identifiers; its
-- money sits in the suspense account until rematched.
CREATE TABLE unmatched_usage (
    id               BIGSERIAL PRIMARY KEY,
    report_id        BIGINT NOT NULL REFERENCES sales_reports(id),
    reason           TEXT NOT NULL,
    dsp              TEXT NOT NULL,
    isrc             TEXT NOT NULL,
    upc              TEXT NOT NULL,
    dsp_resource_id  TEXT NOT NULL,
    dsp_release_id   TEXT NOT NULL,
    proprietary_id   TEXT NOT NULL,
    title            TEXT NOT NULL,
    artist           TEXT NOT NULL,
    territory        TEXT NOT NULL,
    usage_period     TEXT NOT NULL,
    commercial_model TEXT NOT NULL,
    rights_type      TEXT NOT NULL,
    currency         TEXT NOT NULL,
    amount           TEXT NOT NULL,
    units            BIGINT NOT NULL,
    lines            BIGINT NOT NULL,
    source           TEXT NOT NULL
);
CREATE INDEX unmatched_usage_report ON unmatched_usage(report_id);

CREATE TABLE rematches (
    unmatched_id BIGINT PRIMARY KEY REFERENCES unmatched_usage(id),
    tx_id        BIGINT NOT NULL REFERENCES ledger_transactions(id),
    created_at   TEXT NOT NULL
);

-- DSP and proprietary ids, learnt the first time a report line links them to an ISRC or UPC.
CREATE TABLE dsp_ids (
    dsp       TEXT NOT NULL,
    kind      TEXT NOT NULL,
    value     TEXT NOT NULL,
    isrc      TEXT NOT NULL,
    upc       TEXT NOT NULL,
    report_id BIGINT NOT NULL,
    PRIMARY KEY (dsp, kind, value)
);

CREATE TABLE fx_rates (
    period     TEXT NOT NULL,
    base       TEXT NOT NULL,
    quote      TEXT NOT NULL,
    rate       TEXT NOT NULL,
    source     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (period, base, quote)
);

CREATE TABLE payouts (
    id           BIGSERIAL PRIMARY KEY,
    payee        TEXT NOT NULL,
    period       TEXT NOT NULL,
    currency     TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    tx_id        BIGINT NOT NULL REFERENCES ledger_transactions(id),
    reference    TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    UNIQUE (payee, period)
);

CREATE FUNCTION royalties_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER sales_reports_no_change BEFORE UPDATE OR DELETE ON sales_reports
FOR EACH ROW EXECUTE FUNCTION royalties_append_only();
CREATE TRIGGER sales_reports_no_truncate BEFORE TRUNCATE ON sales_reports
FOR EACH STATEMENT EXECUTE FUNCTION royalties_append_only();

CREATE TRIGGER ledger_transactions_no_change BEFORE UPDATE OR DELETE ON ledger_transactions
FOR EACH ROW EXECUTE FUNCTION royalties_append_only();
CREATE TRIGGER ledger_transactions_no_truncate BEFORE TRUNCATE ON ledger_transactions
FOR EACH STATEMENT EXECUTE FUNCTION royalties_append_only();

CREATE TRIGGER ledger_entries_no_change BEFORE UPDATE OR DELETE ON ledger_entries
FOR EACH ROW EXECUTE FUNCTION royalties_append_only();
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
FOR EACH STATEMENT EXECUTE FUNCTION royalties_append_only();

CREATE TRIGGER unmatched_usage_no_change BEFORE UPDATE OR DELETE ON unmatched_usage
FOR EACH ROW EXECUTE FUNCTION royalties_append_only();
CREATE TRIGGER unmatched_usage_no_truncate BEFORE TRUNCATE ON unmatched_usage
FOR EACH STATEMENT EXECUTE FUNCTION royalties_append_only();

CREATE TRIGGER rematches_no_change BEFORE UPDATE OR DELETE ON rematches
FOR EACH ROW EXECUTE FUNCTION royalties_append_only();
CREATE TRIGGER rematches_no_truncate BEFORE TRUNCATE ON rematches
FOR EACH STATEMENT EXECUTE FUNCTION royalties_append_only();

CREATE TRIGGER dsp_ids_no_change BEFORE UPDATE OR DELETE ON dsp_ids
FOR EACH ROW EXECUTE FUNCTION royalties_append_only();
CREATE TRIGGER dsp_ids_no_truncate BEFORE TRUNCATE ON dsp_ids
FOR EACH STATEMENT EXECUTE FUNCTION royalties_append_only();

CREATE TRIGGER fx_rates_no_change BEFORE UPDATE OR DELETE ON fx_rates
FOR EACH ROW EXECUTE FUNCTION royalties_append_only();
CREATE TRIGGER fx_rates_no_truncate BEFORE TRUNCATE ON fx_rates
FOR EACH STATEMENT EXECUTE FUNCTION royalties_append_only();

CREATE TRIGGER payouts_no_change BEFORE UPDATE OR DELETE ON payouts
FOR EACH ROW EXECUTE FUNCTION royalties_append_only();
CREATE TRIGGER payouts_no_truncate BEFORE TRUNCATE ON payouts
FOR EACH STATEMENT EXECUTE FUNCTION royalties_append_only();
