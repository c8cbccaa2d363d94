//! Sales reports and the royalty ledger: append-only tables, transactions posted whole under
//! an idempotency key, a hash chain over them, and the queries statements and checks need.
//!
//! Ledger writers are serialised through the one `ledger_head` row: updating it first takes
//! SQLite's write lock and PostgreSQL's row lock, so the chain is extended by one writer at a
//! time on either backend.

use std::collections::BTreeMap;

use model::Fine;
use royalties::Dims;
use royalties::check::{StoredReport, StoredTx, chain, digest};
use royalties::posting::Entry;
use royalties::statement::Posted;
use sqlx::{Any, Row, Transaction};

use crate::{Store, StoreError, now};

/// A transaction to post.
#[derive(Debug, Clone)]
pub struct NewTx {
    pub key: String,
    /// import | reversal | rematch | close | payout | advance
    pub kind: &'static str,
    pub period: String,
    pub report_id: Option<i64>,
    pub reverses: Option<i64>,
    pub memo: String,
    pub entries: Vec<Entry>,
}

/// Whether a post added anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Posting {
    Posted(i64),
    /// The key was posted before with the same content: nothing added.
    AlreadyPosted(i64),
}

impl Posting {
    pub fn id(self) -> i64 {
        match self {
            Posting::Posted(i) | Posting::AlreadyPosted(i) => i,
        }
    }
}

/// A report to record with its import.
#[derive(Debug, Clone)]
pub struct NewReport {
    pub import_key: String,
    pub sender: String,
    pub message_id: String,
    pub dsp: String,
    pub format: String,
    /// JSON: the files with their names, numbers and content hashes.
    pub files: String,
    pub reporting_period: String,
    pub usage_start: String,
    pub usage_end: String,
    pub lines: i64,
    pub usage_lines: i64,
    pub matched_lines: i64,
    pub totals: BTreeMap<String, Fine>,
    pub warnings: Vec<String>,
    pub supersedes: Option<i64>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ReportRow {
    pub id: i64,
    pub import_key: String,
    pub sender: String,
    pub message_id: String,
    pub dsp: String,
    pub format: String,
    pub files: serde_json::Value,
    pub reporting_period: String,
    pub usage_start: String,
    pub usage_end: String,
    pub lines: i64,
    pub usage_lines: i64,
    pub matched_lines: i64,
    pub totals: BTreeMap<String, String>,
    pub warnings: Vec<String>,
    pub supersedes: Option<i64>,
    pub superseded_by: Option<i64>,
    pub imported_at: String,
}

/// What identifies suspense usage for people: its ISRC, else its UPC, else a DSP id.
const IDENT: &str = "CASE WHEN u.isrc <> '' THEN 'ISRC ' || u.isrc WHEN u.upc <> '' THEN 'UPC ' || u.upc WHEN u.dsp_resource_id <> '' THEN 'DSP id ' || u.dsp_resource_id WHEN u.dsp_release_id <> '' THEN 'DSP id ' || u.dsp_release_id ELSE '(no identifier)' END";

/// The SQL condition for suspense rows still open: not rematched, and not of a report a
/// correction superseded. `all` takes every row.
fn open_only(all: bool) -> &'static str {
    if all {
        "1 = 1"
    } else {
        "m.unmatched_id IS NULL AND NOT EXISTS (SELECT 1 FROM sales_reports s WHERE s.supersedes = u.report_id)"
    }
}

/// Suspense usage of one recording (or DSP id), summed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct UnmatchedGroup {
    /// `ISRC …`, `UPC …` or `DSP id …`.
    pub identifier: String,
    pub title: String,
    pub artist: String,
    pub dsps: Vec<String>,
    pub lines: i64,
    pub units: i64,
    /// Exact amounts per currency.
    #[serde(serialize_with = "exact_amounts")]
    pub amounts: BTreeMap<String, Fine>,
    pub reason: String,
}

fn exact_amounts<S: serde::Serializer>(
    m: &BTreeMap<String, Fine>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut out = s.serialize_map(Some(m.len()))?;
    for (c, v) in m {
        out.serialize_entry(c, &v.to_decimal())?;
    }
    out.end()
}

/// Unmatched usage, aggregated per report and identifiers.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Unmatched {
    pub id: i64,
    pub report_id: i64,
    pub reason: String,
    pub dsp: String,
    pub isrc: String,
    pub upc: String,
    pub dsp_resource_id: String,
    pub dsp_release_id: String,
    pub proprietary_id: String,
    pub title: String,
    pub artist: String,
    pub territory: String,
    pub usage_period: String,
    pub commercial_model: String,
    pub rights_type: String,
    pub currency: String,
    pub amount: Fine,
    pub units: i64,
    pub lines: i64,
    pub source: String,
    /// The rematch transaction, once moved out of suspense.
    pub rematched_by: Option<i64>,
}

/// A DSP or proprietary id learnt from a report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DspId {
    pub dsp: String,
    pub kind: String,
    pub value: String,
    pub isrc: String,
    pub upc: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FxRate {
    pub period: String,
    pub base: String,
    pub quote: String,
    pub rate: String,
    pub source: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Payout {
    pub payee: String,
    pub period: String,
    pub currency: String,
    pub amount_minor: i64,
    pub tx_id: i64,
    pub reference: String,
    pub created_at: String,
}

/// What importing a report did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportImport {
    Imported { report_id: i64, tx_id: i64 },
    AlreadyImported { report_id: i64 },
}

const BATCH: usize = 400;

/// `head` followed by `rows` tuples of `cols` numbered placeholders: one statement per batch
/// instead of one round trip per row.
/// `head` followed by `rows` tuples of `cols` placeholders. SQLite gets anonymous `?`s:
/// sqlx looks every numbered parameter's name up, and SQLite's name lookup walks the
/// statement's parameter list, so `$N` costs O(n²) in a statement of n parameters (it made
/// a suspense-heavy import 30× slower). PostgreSQL needs `$N`.
fn multi_row_insert(c: &sqlx::AnyConnection, head: &str, rows: usize, cols: usize) -> String {
    let numbered = !c.backend_name().eq_ignore_ascii_case("sqlite");
    let mut sql = String::with_capacity(head.len() + rows * cols * 6);
    sql.push_str(head);
    for i in 0..rows {
        sql.push_str(if i > 0 { ",(" } else { "(" });
        for k in 1..=cols {
            if k > 1 {
                sql.push(',');
            }
            if numbered {
                sql.push_str(&format!("${}", i * cols + k));
            } else {
                sql.push('?');
            }
        }
        sql.push(')');
    }
    sql
}

async fn post_in(t: &mut Transaction<'_, Any>, tx: &NewTx) -> Result<Posting, StoreError> {
    let d = digest(&tx.key, tx.kind, &tx.period, &tx.entries);
    if let Some(r) = sqlx::query("SELECT id, digest FROM ledger_transactions WHERE key = $1")
        .bind(&tx.key)
        .fetch_optional(&mut **t)
        .await?
    {
        let id: i64 = r.try_get("id")?;
        let old: String = r.try_get("digest")?;
        if old != d {
            return Err(StoreError::LedgerConflict {
                key: tx.key.clone(),
                id,
            });
        }
        return Ok(Posting::AlreadyPosted(id));
    }
    if !royalties::posting::balanced(&tx.entries) {
        return Err(StoreError::Unbalanced {
            key: tx.key.clone(),
            sums: format!("{:?}", royalties::posting::sums(&tx.entries)),
        });
    }
    // Take the writer's lock first, then read the chain head under it.
    sqlx::query("UPDATE ledger_head SET tx_count = tx_count + 1 WHERE id = 1")
        .execute(&mut **t)
        .await?;
    let prev: String = sqlx::query("SELECT chain FROM ledger_head WHERE id = 1")
        .fetch_one(&mut **t)
        .await?
        .try_get("chain")?;
    let c = chain(&prev, &d);
    let id: i64 = sqlx::query(
        "INSERT INTO ledger_transactions (key, kind, period, report_id, reverses, memo, entry_count, digest, chain, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(&tx.key)
    .bind(tx.kind)
    .bind(&tx.period)
    .bind(tx.report_id)
    .bind(tx.reverses)
    .bind(&tx.memo)
    .bind(tx.entries.len() as i64)
    .bind(&d)
    .bind(&c)
    .bind(now())
    .fetch_one(&mut **t)
    .await?
    .try_get("id")?;
    sqlx::query("UPDATE ledger_head SET chain = $1 WHERE id = 1")
        .bind(&c)
        .execute(&mut **t)
        .await?;
    for chunk in tx.entries.chunks(BATCH) {
        let sql = multi_row_insert(
            t,
            "INSERT INTO ledger_entries (tx_id, account, currency, amount, units, dsp, territory, usage_period, commercial_model, rights_type, isrc, upc, source, formula, gross) VALUES ",
            chunk.len(),
            15,
        );
        let mut q = sqlx::query(&sql);
        for e in chunk {
            let d = &e.dims;
            q = q
                .bind(id)
                .bind(&e.account)
                .bind(&e.currency)
                .bind(e.amount.units())
                .bind(e.units)
                .bind(&d.dsp)
                .bind(&d.territory)
                .bind(&d.usage_period)
                .bind(&d.commercial_model)
                .bind(&d.rights_type)
                .bind(&d.isrc)
                .bind(&d.upc)
                .bind(&d.source)
                .bind(&e.formula)
                .bind(e.gross.units());
        }
        q.execute(&mut **t).await?;
    }
    Ok(Posting::Posted(id))
}

fn entry_of(r: &sqlx::any::AnyRow) -> Result<Entry, StoreError> {
    let fine = |col: &str| -> Result<Fine, StoreError> {
        let v: String = r.try_get(col)?;
        Fine::from_units(&v).ok_or_else(|| StoreError::Corrupt {
            upc: String::new(),
            revision: 0,
            why: format!("ledger {col} {v:?} is not an integer"),
        })
    };
    Ok(Entry {
        account: r.try_get("account")?,
        currency: r.try_get("currency")?,
        amount: fine("amount")?,
        units: r.try_get("units")?,
        dims: Dims {
            dsp: r.try_get("dsp")?,
            territory: r.try_get("territory")?,
            usage_period: r.try_get("usage_period")?,
            commercial_model: r.try_get("commercial_model")?,
            rights_type: r.try_get("rights_type")?,
            isrc: r.try_get("isrc")?,
            upc: r.try_get("upc")?,
            source: r.try_get("source")?,
        },
        formula: r.try_get("formula")?,
        gross: fine("gross")?,
    })
}

const REPORT_COLS: &str = "id, import_key, sender, message_id, dsp, format, files, reporting_period, usage_start, usage_end, lines, usage_lines, matched_lines, totals, warnings, supersedes, imported_at";

fn report_of(r: &sqlx::any::AnyRow) -> Result<ReportRow, StoreError> {
    let files: String = r.try_get("files")?;
    let totals: String = r.try_get("totals")?;
    let warnings: String = r.try_get("warnings")?;
    Ok(ReportRow {
        id: r.try_get("id")?,
        import_key: r.try_get("import_key")?,
        sender: r.try_get("sender")?,
        message_id: r.try_get("message_id")?,
        dsp: r.try_get("dsp")?,
        format: r.try_get("format")?,
        files: serde_json::from_str(&files).unwrap_or(serde_json::Value::Null),
        reporting_period: r.try_get("reporting_period")?,
        usage_start: r.try_get("usage_start")?,
        usage_end: r.try_get("usage_end")?,
        lines: r.try_get("lines")?,
        usage_lines: r.try_get("usage_lines")?,
        matched_lines: r.try_get("matched_lines")?,
        totals: serde_json::from_str(&totals).unwrap_or_default(),
        warnings: serde_json::from_str(&warnings).unwrap_or_default(),
        supersedes: r.try_get("supersedes")?,
        superseded_by: None,
        imported_at: r.try_get("imported_at")?,
    })
}

const UNMATCHED_COLS: &str = "u.id, u.report_id, u.reason, u.dsp, u.isrc, u.upc, u.dsp_resource_id, u.dsp_release_id, u.proprietary_id, u.title, u.artist, u.territory, u.usage_period, u.commercial_model, u.rights_type, u.currency, u.amount, u.units, u.lines, u.source, m.tx_id";

fn unmatched_of(r: &sqlx::any::AnyRow) -> Result<Unmatched, StoreError> {
    let amount: String = r.try_get("amount")?;
    Ok(Unmatched {
        id: r.try_get("id")?,
        report_id: r.try_get("report_id")?,
        reason: r.try_get("reason")?,
        dsp: r.try_get("dsp")?,
        isrc: r.try_get("isrc")?,
        upc: r.try_get("upc")?,
        dsp_resource_id: r.try_get("dsp_resource_id")?,
        dsp_release_id: r.try_get("dsp_release_id")?,
        proprietary_id: r.try_get("proprietary_id")?,
        title: r.try_get("title")?,
        artist: r.try_get("artist")?,
        territory: r.try_get("territory")?,
        usage_period: r.try_get("usage_period")?,
        commercial_model: r.try_get("commercial_model")?,
        rights_type: r.try_get("rights_type")?,
        currency: r.try_get("currency")?,
        amount: Fine::from_units(&amount).unwrap_or_default(),
        units: r.try_get("units")?,
        lines: r.try_get("lines")?,
        source: r.try_get("source")?,
        rematched_by: r.try_get("tx_id")?,
    })
}

impl Store {
    /// Posts one transaction under its key. Posting the same key again with the same
    /// entries adds nothing; with other entries it is refused.
    pub async fn post(&self, tx: &NewTx) -> Result<Posting, StoreError> {
        let mut t = self.begin_write().await?;
        let p = post_in(&mut t, tx).await?;
        t.commit().await?;
        Ok(p)
    }

    /// Posts several transactions in one database transaction: all or none.
    pub async fn post_all(&self, txs: &[NewTx]) -> Result<Vec<Posting>, StoreError> {
        let mut t = self.begin_write().await?;
        let mut out = Vec::new();
        for tx in txs {
            out.push(post_in(&mut t, tx).await?);
        }
        t.commit().await?;
        Ok(out)
    }

    pub async fn report_by_key(&self, key: &str) -> Result<Option<ReportRow>, StoreError> {
        let r = sqlx::query(&format!(
            "SELECT {REPORT_COLS} FROM sales_reports WHERE import_key = $1"
        ))
        .bind(key)
        .fetch_optional(&self.pool)
        .await?;
        r.as_ref().map(report_of).transpose()
    }

    /// Every report, oldest first, with which later report superseded it.
    pub async fn reports(&self) -> Result<Vec<ReportRow>, StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {REPORT_COLS} FROM sales_reports ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<ReportRow> = rows.iter().map(report_of).collect::<Result<_, _>>()?;
        let by: BTreeMap<i64, i64> = out
            .iter()
            .filter_map(|r| r.supersedes.map(|s| (s, r.id)))
            .collect();
        for r in &mut out {
            r.superseded_by = by.get(&r.id).copied();
        }
        Ok(out)
    }

    /// Records a report and its import in one database transaction: the report row, the
    /// reversals of what it supersedes, its ledger transaction, its unmatched usage and the
    /// DSP ids it taught. A crash anywhere leaves none of it.
    pub async fn import_report(
        &self,
        report: &NewReport,
        reversals: &[NewTx],
        import: &NewTx,
        unmatched: &mut (dyn Iterator<Item = Unmatched> + Send),
        ids: &[DspId],
    ) -> Result<ReportImport, StoreError> {
        let mut t = self.begin_write().await?;
        if let Some(r) = sqlx::query("SELECT id FROM sales_reports WHERE import_key = $1")
            .bind(&report.import_key)
            .fetch_optional(&mut *t)
            .await?
        {
            return Ok(ReportImport::AlreadyImported {
                report_id: r.try_get("id")?,
            });
        }
        let totals: BTreeMap<&String, String> = report
            .totals
            .iter()
            .map(|(k, v)| (k, v.to_decimal()))
            .collect();
        let report_id: i64 = sqlx::query(
            "INSERT INTO sales_reports (import_key, sender, message_id, dsp, format, files, reporting_period, usage_start, usage_end, lines, usage_lines, matched_lines, totals, warnings, supersedes, imported_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id",
        )
        .bind(&report.import_key)
        .bind(&report.sender)
        .bind(&report.message_id)
        .bind(&report.dsp)
        .bind(&report.format)
        .bind(&report.files)
        .bind(&report.reporting_period)
        .bind(&report.usage_start)
        .bind(&report.usage_end)
        .bind(report.lines)
        .bind(report.usage_lines)
        .bind(report.matched_lines)
        .bind(serde_json::to_string(&totals).unwrap_or_default())
        .bind(serde_json::to_string(&report.warnings).unwrap_or_default())
        .bind(report.supersedes)
        .bind(now())
        .fetch_one(&mut *t)
        .await?
        .try_get("id")?;
        for r in reversals {
            post_in(&mut t, r).await?;
        }
        let mut import = import.clone();
        import.report_id = Some(report_id);
        let tx_id = post_in(&mut t, &import).await?.id();
        // Written a chunk at a time as the caller makes the rows: memory stays flat however
        // much of a report matched nothing.
        let mut chunk: Vec<Unmatched> = Vec::with_capacity(BATCH / 2);
        loop {
            chunk.clear();
            chunk.extend((&mut *unmatched).take(BATCH / 2));
            if chunk.is_empty() {
                break;
            }
            let sql = multi_row_insert(
                &t,
                "INSERT INTO unmatched_usage (report_id, reason, dsp, isrc, upc, dsp_resource_id, dsp_release_id, proprietary_id, title, artist, territory, usage_period, commercial_model, rights_type, currency, amount, units, lines, source) VALUES ",
                chunk.len(),
                19,
            );
            let mut q = sqlx::query(&sql);
            for u in &chunk {
                q = q
                    .bind(report_id)
                    .bind(&u.reason)
                    .bind(&u.dsp)
                    .bind(&u.isrc)
                    .bind(&u.upc)
                    .bind(&u.dsp_resource_id)
                    .bind(&u.dsp_release_id)
                    .bind(&u.proprietary_id)
                    .bind(&u.title)
                    .bind(&u.artist)
                    .bind(&u.territory)
                    .bind(&u.usage_period)
                    .bind(&u.commercial_model)
                    .bind(&u.rights_type)
                    .bind(&u.currency)
                    .bind(u.amount.units())
                    .bind(u.units)
                    .bind(u.lines)
                    .bind(&u.source);
            }
            q.execute(&mut *t).await?;
        }
        for id in ids {
            sqlx::query(
                "INSERT INTO dsp_ids (dsp, kind, value, isrc, upc, report_id) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (dsp, kind, value) DO NOTHING",
            )
            .bind(&id.dsp)
            .bind(&id.kind)
            .bind(&id.value)
            .bind(&id.isrc)
            .bind(&id.upc)
            .bind(report_id)
            .execute(&mut *t)
            .await?;
        }
        // Fault injection for the crash test (only in builds with the `fault-injection`
        // feature, which the binary's tests turn on): die with everything written but not
        // committed, the worst moment for a kill.
        #[cfg(feature = "fault-injection")]
        if std::env::var_os("LINER_FAULT_ABORT_BEFORE_COMMIT").is_some() {
            std::process::abort();
        }
        t.commit().await?;
        Ok(ReportImport::Imported { report_id, tx_id })
    }

    pub async fn dsp_ids(&self) -> Result<Vec<DspId>, StoreError> {
        let rows = sqlx::query(
            "SELECT dsp, kind, value, isrc, upc FROM dsp_ids ORDER BY dsp, kind, value",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DspId {
                    dsp: r.try_get("dsp")?,
                    kind: r.try_get("kind")?,
                    value: r.try_get("value")?,
                    isrc: r.try_get("isrc")?,
                    upc: r.try_get("upc")?,
                })
            })
            .collect()
    }

    /// The transactions of a report (its import, rematches) not yet reversed.
    pub async fn live_transactions_of_report(
        &self,
        report_id: i64,
    ) -> Result<Vec<StoredTx>, StoreError> {
        let all = self.transactions().await?;
        let reversed: std::collections::BTreeSet<i64> =
            all.iter().filter_map(|t| t.reverses).collect();
        Ok(all
            .into_iter()
            .filter(|t| {
                t.report_id == Some(report_id) && t.kind != "reversal" && !reversed.contains(&t.id)
            })
            .collect())
    }

    /// Every transaction with its entries, in posting order.
    pub async fn transactions(&self) -> Result<Vec<StoredTx>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, key, kind, period, report_id, reverses, entry_count, digest, chain FROM ledger_transactions ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut txs: Vec<StoredTx> = Vec::with_capacity(rows.len());
        let mut index = BTreeMap::new();
        for r in &rows {
            let id: i64 = r.try_get("id")?;
            index.insert(id, txs.len());
            txs.push(StoredTx {
                id,
                key: r.try_get("key")?,
                kind: r.try_get("kind")?,
                period: r.try_get("period")?,
                report_id: r.try_get("report_id")?,
                reverses: r.try_get("reverses")?,
                entry_count: r.try_get("entry_count")?,
                digest: r.try_get("digest")?,
                chain: r.try_get("chain")?,
                entries: Vec::new(),
            });
        }
        let rows = sqlx::query("SELECT * FROM ledger_entries ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        for r in &rows {
            let tx: i64 = r.try_get("tx_id")?;
            let e = entry_of(r)?;
            match index.get(&tx) {
                Some(&i) => txs[i].entries.push(e),
                None => {
                    return Err(StoreError::Corrupt {
                        upc: String::new(),
                        revision: 0,
                        why: format!("ledger entry for missing transaction {tx}"),
                    });
                }
            }
        }
        Ok(txs)
    }

    pub async fn ledger_head(&self) -> Result<String, StoreError> {
        Ok(sqlx::query("SELECT chain FROM ledger_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await?
            .try_get("chain")?)
    }

    /// The reports as `ledger check` needs them.
    pub async fn stored_reports(&self) -> Result<Vec<StoredReport>, StoreError> {
        Ok(self
            .reports()
            .await?
            .into_iter()
            .map(|r| StoredReport {
                id: r.id,
                totals: r
                    .totals
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), Fine::parse(v).ok()?)))
                    .collect(),
                supersedes: r.supersedes,
            })
            .collect())
    }

    /// The entries on accounts starting with `prefix`, with their transaction's kind and period.
    pub async fn posted(&self, prefix: &str) -> Result<Vec<Posted>, StoreError> {
        let rows = sqlx::query(
            "SELECT e.*, t.kind, t.period FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.tx_id \
             WHERE e.account LIKE $1 ORDER BY e.id",
        )
        .bind(format!("{prefix}%"))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Posted {
                    tx: r.try_get("tx_id")?,
                    kind: r.try_get("kind")?,
                    period: r.try_get("period")?,
                    entry: entry_of(r)?,
                })
            })
            .collect()
    }

    /// Every suspense row, for tests and small catalogs. Commands use the paged and streamed
    /// readers below, whose memory does not grow with suspense.
    pub async fn unmatched(&self) -> Result<Vec<Unmatched>, StoreError> {
        let mut all = Vec::new();
        self.each_unmatched(true, |u| {
            all.push(u);
            Ok(())
        })
        .await?;
        Ok(all)
    }

    /// Hands every suspense row (only open ones unless `all`) to `f`, in id order, reading
    /// a bounded page at a time.
    pub async fn each_unmatched(
        &self,
        all: bool,
        mut f: impl FnMut(Unmatched) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        const PAGE: i64 = 5_000;
        let mut after = 0i64;
        loop {
            let rows = sqlx::query(&format!(
                "SELECT {UNMATCHED_COLS} FROM unmatched_usage u LEFT JOIN rematches m ON m.unmatched_id = u.id WHERE u.id > $1 AND ({}) ORDER BY u.id LIMIT $2",
                open_only(all)
            ))
            .bind(after)
            .bind(PAGE)
            .fetch_all(&self.pool)
            .await?;
            let n = rows.len();
            for r in &rows {
                let u = unmatched_of(r)?;
                after = u.id;
                f(u)?;
            }
            if (n as i64) < PAGE {
                return Ok(());
            }
        }
    }

    /// One page of suspense rows and how many there are in all.
    pub async fn unmatched_page(
        &self,
        all: bool,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Unmatched>, i64), StoreError> {
        let rows = sqlx::query(&format!(
            "SELECT {UNMATCHED_COLS} FROM unmatched_usage u LEFT JOIN rematches m ON m.unmatched_id = u.id WHERE {} ORDER BY u.id LIMIT $1 OFFSET $2",
            open_only(all)
        ))
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        let total: i64 = sqlx::query(&format!(
            "SELECT COUNT(*) AS n FROM unmatched_usage u LEFT JOIN rematches m ON m.unmatched_id = u.id WHERE {}",
            open_only(all)
        ))
        .fetch_one(&self.pool)
        .await?
        .try_get("n")?;
        Ok((
            rows.iter().map(unmatched_of).collect::<Result<_, _>>()?,
            total,
        ))
    }

    /// Suspense grouped by what identifies the usage (ISRC, else UPC, else DSP id), largest
    /// (lines) first: one page of groups and how many groups there are. The database groups;
    /// only the page's rows are read back, to sum their exact amounts per currency.
    pub async fn unmatched_groups(
        &self,
        all: bool,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<UnmatchedGroup>, i64), StoreError> {
        let grouped = format!(
            "SELECT {IDENT} AS ident, u.* FROM unmatched_usage u LEFT JOIN rematches m ON m.unmatched_id = u.id WHERE {}",
            open_only(all)
        );
        let total: i64 = sqlx::query(&format!(
            "SELECT COUNT(*) AS n FROM (SELECT ident FROM ({grouped}) g GROUP BY ident) x"
        ))
        .fetch_one(&self.pool)
        .await?
        .try_get("n")?;
        let page_sql = format!(
            "SELECT ident, MIN(title) AS title, MIN(artist) AS artist, MIN(reason) AS reason, CAST(SUM(lines) AS BIGINT) AS lines, CAST(SUM(units) AS BIGINT) AS units FROM ({grouped}) g GROUP BY ident ORDER BY SUM(lines) DESC, ident LIMIT $1 OFFSET $2"
        );
        let rows = sqlx::query(&page_sql)
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        let mut groups = Vec::with_capacity(rows.len());
        let mut at = std::collections::HashMap::new();
        for r in &rows {
            let identifier: String = r.try_get("ident")?;
            at.insert(identifier.clone(), groups.len());
            groups.push(UnmatchedGroup {
                identifier,
                title: r.try_get("title")?,
                artist: r.try_get("artist")?,
                dsps: Vec::new(),
                lines: r.try_get("lines")?,
                units: r.try_get("units")?,
                amounts: BTreeMap::new(),
                reason: r.try_get("reason")?,
            });
        }
        if groups.is_empty() {
            return Ok((groups, total));
        }
        let detail = sqlx::query(&format!(
            "WITH page AS (SELECT ident FROM ({grouped}) g GROUP BY ident ORDER BY SUM(lines) DESC, ident LIMIT $1 OFFSET $2) \
             SELECT g.ident, g.dsp, g.currency, g.amount FROM ({grouped}) g WHERE g.ident IN (SELECT ident FROM page)"
        ))
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        for r in &detail {
            let ident: String = r.try_get("ident")?;
            let Some(&i) = at.get(&ident) else { continue };
            let g = &mut groups[i];
            let dsp: String = r.try_get("dsp")?;
            if !g.dsps.contains(&dsp) {
                g.dsps.push(dsp);
            }
            let amount: String = r.try_get("amount")?;
            let corrupt = |why: String| StoreError::Corrupt {
                upc: "-".into(),
                revision: 0,
                why: format!("suspense of {ident}: {why}"),
            };
            let amount = Fine::from_units(&amount)
                .ok_or_else(|| corrupt(format!("amount {amount:?} is not stored units")))?;
            let sum = g
                .amounts
                .entry(r.try_get("currency")?)
                .or_insert(Fine::ZERO);
            *sum = sum
                .checked_add(amount)
                .ok_or_else(|| corrupt("the sum overflows".into()))?;
        }
        Ok((groups, total))
    }

    /// Posts a rematch and records which unmatched rows it moved, together.
    pub async fn rematch(&self, tx: &NewTx, unmatched_ids: &[i64]) -> Result<Posting, StoreError> {
        let mut t = self.begin_write().await?;
        let p = post_in(&mut t, tx).await?;
        if let Posting::Posted(id) = p {
            for u in unmatched_ids {
                sqlx::query(
                    "INSERT INTO rematches (unmatched_id, tx_id, created_at) VALUES ($1, $2, $3)",
                )
                .bind(u)
                .bind(id)
                .bind(now())
                .execute(&mut *t)
                .await?;
            }
        }
        t.commit().await?;
        Ok(p)
    }

    /// Records exchange rates; one already recorded with the same rate is skipped, with a
    /// different rate refused (a rate booked against is never changed).
    pub async fn record_rates(&self, rates: &[FxRate]) -> Result<(usize, usize), StoreError> {
        let mut t = self.begin_write().await?;
        let (mut added, mut same) = (0, 0);
        for r in rates {
            let old = sqlx::query(
                "SELECT rate FROM fx_rates WHERE period = $1 AND base = $2 AND quote = $3",
            )
            .bind(&r.period)
            .bind(&r.base)
            .bind(&r.quote)
            .fetch_optional(&mut *t)
            .await?;
            if let Some(o) = old {
                let o: String = o.try_get("rate")?;
                if Fine::parse(&o).ok() == Fine::parse(&r.rate).ok() {
                    same += 1;
                    continue;
                }
                return Err(StoreError::RateConflict {
                    what: format!("{} {}→{}", r.period, r.base, r.quote),
                    old: o,
                    new: r.rate.clone(),
                });
            }
            sqlx::query("INSERT INTO fx_rates (period, base, quote, rate, source, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(&r.period)
                .bind(&r.base)
                .bind(&r.quote)
                .bind(&r.rate)
                .bind(&r.source)
                .bind(now())
                .execute(&mut *t)
                .await?;
            added += 1;
        }
        t.commit().await?;
        Ok((added, same))
    }

    pub async fn rates(&self) -> Result<Vec<FxRate>, StoreError> {
        let rows = sqlx::query(
            "SELECT period, base, quote, rate, source FROM fx_rates ORDER BY period, base, quote",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(FxRate {
                    period: r.try_get("period")?,
                    base: r.try_get("base")?,
                    quote: r.try_get("quote")?,
                    rate: r.try_get("rate")?,
                    source: r.try_get("source")?,
                })
            })
            .collect()
    }

    /// Posts a payout transaction and its payout row together.
    pub async fn record_payout(&self, tx: &NewTx, p: &Payout) -> Result<Posting, StoreError> {
        let mut t = self.begin_write().await?;
        let posting = post_in(&mut t, tx).await?;
        if let Posting::Posted(id) = posting {
            sqlx::query(
                "INSERT INTO payouts (payee, period, currency, amount_minor, tx_id, reference, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&p.payee)
            .bind(&p.period)
            .bind(&p.currency)
            .bind(p.amount_minor)
            .bind(id)
            .bind(&p.reference)
            .bind(now())
            .execute(&mut *t)
            .await?;
        }
        t.commit().await?;
        Ok(posting)
    }

    pub async fn payouts(&self) -> Result<Vec<Payout>, StoreError> {
        let rows = sqlx::query("SELECT payee, period, currency, amount_minor, tx_id, reference, created_at FROM payouts ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Payout {
                    payee: r.try_get("payee")?,
                    period: r.try_get("period")?,
                    currency: r.try_get("currency")?,
                    amount_minor: r.try_get("amount_minor")?,
                    tx_id: r.try_get("tx_id")?,
                    reference: r.try_get("reference")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Runs one SQL statement as is: for maintenance scripts and for tests that prove the
    /// append-only triggers refuse edits. Nothing in Liner calls it.
    pub async fn execute_raw(&self, sql: &str) -> Result<u64, StoreError> {
        Ok(sqlx::query(sql).execute(&self.pool).await?.rows_affected())
    }

    pub async fn tx_id_by_key(&self, key: &str) -> Result<Option<i64>, StoreError> {
        let r = sqlx::query("SELECT id FROM ledger_transactions WHERE key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        Ok(r.map(|r| r.try_get("id")).transpose()?)
    }

    /// Payees as stored in the catalog: id → (name, email, currency, threshold in minor units).
    pub async fn payees(&self) -> Result<Vec<PayeeRow>, StoreError> {
        let rows = sqlx::query("SELECT id, name, email, currency, payout_threshold_minor, payment_ref FROM payees ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(PayeeRow {
                    id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    email: r.try_get("email")?,
                    currency: r.try_get("currency")?,
                    threshold_minor: r.try_get("payout_threshold_minor")?,
                    payment_ref: r.try_get("payment_ref")?,
                })
            })
            .collect()
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct PayeeRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub currency: String,
    pub threshold_minor: i64,
    pub payment_ref: String,
}
