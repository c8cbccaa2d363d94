-- Sales reports and the royalty ledger. Everything here is append-only: a correction is a
-- new row (a superseding report, a reversing transaction), never an edit.

-- One imported report (all its files). Its identity is import_key: sender, message id,
-- and the x-of-y and content hash of every file.
CREATE TABLE sales_reports (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
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
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
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
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
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
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
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
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    payee        TEXT NOT NULL,
    period       TEXT NOT NULL,
    currency     TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    tx_id        BIGINT NOT NULL REFERENCES ledger_transactions(id),
    reference    TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    UNIQUE (payee, period)
);

CREATE TRIGGER sales_reports_no_update BEFORE UPDATE ON sales_reports
BEGIN SELECT RAISE(ABORT, 'sales_reports is append-only'); END;
CREATE TRIGGER sales_reports_no_delete BEFORE DELETE ON sales_reports
BEGIN SELECT RAISE(ABORT, 'sales_reports is append-only'); END;
CREATE TRIGGER ledger_transactions_no_update BEFORE UPDATE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'ledger_transactions is append-only'); END;
CREATE TRIGGER ledger_transactions_no_delete BEFORE DELETE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'ledger_transactions is append-only'); END;
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN SELECT RAISE(ABORT, 'ledger_entries is append-only'); END;
CREATE TRIGGER unmatched_usage_no_update BEFORE UPDATE ON unmatched_usage
BEGIN SELECT RAISE(ABORT, 'unmatched_usage is append-only'); END;
CREATE TRIGGER unmatched_usage_no_delete BEFORE DELETE ON unmatched_usage
BEGIN SELECT RAISE(ABORT, 'unmatched_usage is append-only'); END;
CREATE TRIGGER rematches_no_update BEFORE UPDATE ON rematches
BEGIN SELECT RAISE(ABORT, 'rematches is append-only'); END;
CREATE TRIGGER rematches_no_delete BEFORE DELETE ON rematches
BEGIN SELECT RAISE(ABORT, 'rematches is append-only'); END;
CREATE TRIGGER dsp_ids_no_update BEFORE UPDATE ON dsp_ids
BEGIN SELECT RAISE(ABORT, 'dsp_ids is append-only'); END;
CREATE TRIGGER dsp_ids_no_delete BEFORE DELETE ON dsp_ids
BEGIN SELECT RAISE(ABORT, 'dsp_ids is append-only'); END;
CREATE TRIGGER fx_rates_no_update BEFORE UPDATE ON fx_rates
BEGIN SELECT RAISE(ABORT, 'fx_rates is append-only'); END;
CREATE TRIGGER fx_rates_no_delete BEFORE DELETE ON fx_rates
BEGIN SELECT RAISE(ABORT, 'fx_rates is append-only'); END;
CREATE TRIGGER payouts_no_update BEFORE UPDATE ON payouts
BEGIN SELECT RAISE(ABORT, 'payouts is append-only'); END;
CREATE TRIGGER payouts_no_delete BEFORE DELETE ON payouts
BEGIN SELECT RAISE(ABORT, 'payouts is append-only'); END;
