//! The ledger's periods: checking every invariant, closing a period (advances, rounding,
//! reserves, recoupment, tax), cutting statements (final ones kept), paying out with e-mail.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use model::Fine;
use royalties::close::{PayeePeriod, close, release_schedule};
use royalties::statement::Statement;
use royalties::{Dims, Entry, Period};
use store::{NewTx, Payout, Store};

use crate::config::Config;
use crate::royalty::load_contracts;
use crate::{Context, Result, bail, err};

/// Every invariant: the pure checks over transactions and reports, the append-only
/// triggers still in place, and every closed period's statements adding up and chaining
/// (closing of one period = opening of the next).
pub async fn check_all(catalog: &Store) -> Result<royalties::check::CheckResult> {
    let txs = catalog.transactions().await?;
    let reports = catalog.stored_reports().await?;
    let head = catalog.ledger_head().await?;
    let mut r = royalties::check::check(&txs, &reports, &head);
    let payees = catalog.payees().await?;
    let posted = catalog.posted("payee:").await?;
    // The statements' income, summed over payees, is the payees' share of what was reported.
    let mut statement_income: BTreeMap<String, Fine> = BTreeMap::new();
    for p in &posted {
        if matches!(p.kind.as_str(), "import" | "reversal" | "rematch") {
            *statement_income
                .entry(p.entry.currency.clone())
                .or_default() += p.entry.amount;
        }
    }
    for (cur, rc) in &r.reconciliation {
        let s = statement_income.get(cur).copied().unwrap_or_default();
        if s != rc.payees {
            r.violations.push(format!(
                "{cur}: statements show income {s}, the imports credited payees {}",
                rc.payees
            ));
        }
    }
    let mut periods: Vec<String> = txs
        .iter()
        .filter(|t| t.kind == "close")
        .map(|t| t.period.clone())
        .collect();
    periods.sort();
    periods.dedup();
    for p in &payees {
        let exp = model::Currency::parse(&p.currency)
            .map(|c| c.exponent())
            .unwrap_or(2);
        let mut prev_closing: Option<Fine> = None;
        for period in &periods {
            let s = Statement::build(&p.id, &p.name, &p.currency, exp, period, &posted);
            if !s.adds_up() {
                r.violations.push(format!(
                    "statement {period} of {}: opening + movements ≠ closing",
                    p.id
                ));
            }
            if let Some(c) = prev_closing
                && c != s.opening
                && Period::parse(period).ok().map(|x| x.prev().to_string())
                    == periods.iter().find(|q| *q < period).cloned()
            {
                r.violations.push(format!(
                    "statement {period} of {}: opening {} ≠ the previous closing {}",
                    p.id, s.opening, c
                ));
            }
            prev_closing = Some(s.closing);
        }
    }
    Ok(r)
}

/// Posts the advances the contracts name (once each, by id).
async fn post_advances(
    catalog: &Store,
    contracts: &royalties::Contracts,
    payees: &BTreeMap<String, store::PayeeRow>,
) -> Result<()> {
    for a in &contracts.advance {
        let p = payees.get(&a.payee).ok_or_else(|| {
            err!(
                "advance {}: payee {:?} is not in the catalog",
                a.id,
                a.payee
            )
        })?;
        let amount = Fine::parse(&a.amount)?;
        let period = a.date.get(..7).unwrap_or_default().to_owned();
        Period::parse(&period).map_err(|e| err!("advance {}: date {:?}: {e}", a.id, a.date))?;
        let dims = Dims::default();
        let e = |account: String, v: Fine| Entry {
            account,
            currency: p.currency.clone(),
            amount: v,
            units: 0,
            dims: dims.clone(),
            formula: format!("advance {} paid {}", a.id, a.date),
            gross: Fine::ZERO,
        };
        catalog
            .post(&NewTx {
                key: format!("advance:{}", a.id),
                kind: "advance",
                period,
                report_id: None,
                reverses: None,
                memo: format!("advance {} to {}", a.id, a.payee),
                entries: vec![
                    e(format!("advance:{}", a.payee), -amount),
                    e("cash".into(), amount),
                ],
            })
            .await?;
    }
    Ok(())
}

/// Closes `period` if the rules allow (`royalties::period::may_close` against `today`):
/// rounding, reserves, recoupment, tax for every payee, in one transaction. Returns the
/// refusal, if any, without changing anything.
pub async fn close_period(
    cfg: &Config,
    catalog: &Store,
    period: &str,
    today: Period,
    force: bool,
) -> Result<std::result::Result<(), royalties::period::CloseRefusal>> {
    let this = Period::parse(period).map_err(|e| crate::Error::Refused(e.to_string()))?;
    let closed = crate::royalty::closed_periods(catalog).await?;
    let open_before = catalog
        .periods_with_postings()
        .await?
        .into_iter()
        .filter_map(|(p, _)| Period::parse(&p).ok())
        .find(|p| *p < this && !closed.contains(p));
    if let Err(refusal) = royalties::period::may_close(this, today, force, &closed, open_before) {
        return Ok(Err(refusal));
    }
    post_close(cfg, catalog, period).await?;
    Ok(Ok(()))
}

/// Posts the closing transaction of a period (the caller checked the rules).
async fn post_close(cfg: &Config, catalog: &Store, period: &str) -> Result<()> {
    let key = format!("close:{period}");
    if catalog.tx_id_by_key(&key).await?.is_some() {
        return Ok(());
    }
    let this = Period::parse(period).map_err(|e| crate::Error::Refused(e.to_string()))?;
    let contracts = load_contracts(cfg)?;
    let payees: BTreeMap<String, store::PayeeRow> = catalog
        .payees()
        .await?
        .into_iter()
        .map(|p| (p.id.clone(), p))
        .collect();
    post_advances(catalog, &contracts, &payees).await?;
    let txs = catalog.transactions().await?;
    // Periods close in order: an earlier period with postings must be closed first.
    let closed: std::collections::BTreeSet<&str> = txs
        .iter()
        .filter(|t| t.kind == "close")
        .map(|t| t.period.as_str())
        .collect();
    if let Some(open) = txs
        .iter()
        .filter(|t| {
            t.kind != "close"
                && t.kind != "advance"
                && t.period.as_str() < period
                && !closed.contains(t.period.as_str())
        })
        .map(|t| t.period.clone())
        .min()
    {
        bail!(
            "period {open} has sales and is not closed: periods close in order (`liner period close {open}`)"
        );
    }
    let mut pp = Vec::new();
    for p in payees.values() {
        let cur = model::Currency::parse(&p.currency)?;
        let (mut balance, mut income, mut advance, mut release) =
            (Fine::ZERO, Fine::ZERO, Fine::ZERO, Fine::ZERO);
        let acct = format!("payee:{}", p.id);
        for t in txs.iter().filter(|t| t.period.as_str() <= period) {
            for e in t.entries.iter().filter(|e| e.currency == p.currency) {
                if e.account == acct {
                    balance += e.amount;
                    if t.period == period
                        && matches!(t.kind.as_str(), "import" | "reversal" | "rematch")
                    {
                        income += e.amount;
                    }
                }
                if e.account == format!("advance:{}", p.id) {
                    advance -= e.amount;
                }
                // Reserves held in an earlier period fall due over the next `periods`.
                if e.account == format!("reserve:{}", p.id)
                    && t.kind == "close"
                    && e.amount.0 > 0
                    && let Some(r) = contracts.reserve_for(&p.id)
                    && let Ok(held_in) = Period::parse(&t.period)
                {
                    let k = this.months_since(held_in);
                    if k >= 1 && k <= i64::from(r.periods) {
                        release +=
                            release_schedule(e.amount, r.periods, cur.exponent())[(k - 1) as usize];
                    }
                }
            }
        }
        pp.push(PayeePeriod {
            payee: p.id.clone(),
            currency: p.currency.clone(),
            exponent: cur.exponent(),
            balance,
            income,
            outstanding_advance: if advance.0 > 0 { advance } else { Fine::ZERO },
            reserve_bp: contracts.reserve_for(&p.id).map_or(0, |r| r.bp),
            reserve_release: release,
            withholding_bp: contracts.withholding_bp(&p.id),
        });
    }
    let (entries, _) = close(&pp);
    catalog
        .post(&NewTx {
            key,
            kind: "close",
            period: period.to_owned(),
            report_id: None,
            reverses: None,
            memo: format!("period {period} closed"),
            entries,
        })
        .await?;
    Ok(())
}

/// What the statements call tracks, DSPs and countries.
pub async fn statement_names(cfg: &Config, catalog: &Store) -> Result<royalties::statement::Names> {
    let mut names = royalties::statement::Names::default();
    for (upc, doc) in catalog.current_documents().await? {
        let Ok(release) = intake::parse_document(Path::new("catalog.json"), &doc) else {
            tracing::warn!(
                upc,
                "stored release does not read back; its tracks are shown by ISRC"
            );
            continue;
        };
        let main = |artists: &[model::DisplayArtist]| {
            artists
                .iter()
                .filter(|a| a.role == model::ArtistRole::MainArtist)
                .map(|a| a.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let release_artist = main(&release.artists);
        for t in &release.tracks {
            let a = main(&t.artists);
            names.tracks.insert(
                t.isrc.to_string(),
                royalties::statement::TrackName {
                    title: t.title.clone(),
                    version: t.version.clone(),
                    artist: if a.is_empty() {
                        release_artist.clone()
                    } else {
                        a
                    },
                },
            );
        }
    }
    if let Ok(profiles) = crate::ern::load_profiles(cfg) {
        for p in profiles {
            names.dsps.insert(p.name.clone(), p.display_name.clone());
        }
    }
    for (code, name) in report_csv::country_names() {
        names.countries.insert(code.to_owned(), name.to_owned());
    }
    names
        .countries
        .insert("Worldwide".into(), "Worldwide".into());
    Ok(names)
}

/// The three files of a statement: for people (CSV, HTML) and the exact lines.
fn write_statement(
    dir: &Path,
    payee: &str,
    period: &str,
    csv: &str,
    lines: &str,
    html: &str,
) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for (ext, text) in [("csv", csv), ("lines.csv", lines), ("html", html)] {
        let path = dir.join(format!("{payee}-{period}.{ext}"));
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(dir.join(format!("{payee}-{period}.html")))
}

/// A statement as rendered: the values and the three files' text.
#[derive(Debug)]
pub struct Rendered {
    pub statement: Statement,
    pub csv: String,
    pub lines_csv: String,
    pub html: String,
}

/// The statements of a period, written to `out`: a closed period's final statements (rendered
/// once and kept; later renders are the same bytes), an open period's previews. Read-only on
/// the ledger.
pub async fn statements_for(
    cfg: &Config,
    catalog: &Store,
    period: &str,
    only: Option<&str>,
    out: &Path,
) -> Result<Vec<Rendered>> {
    let closed = catalog.closed_periods().await?.iter().any(|p| p == period);
    let posted = catalog.posted("payee:").await?;
    let names = statement_names(cfg, catalog).await?;
    let mut out_list = Vec::new();
    for p in catalog.payees().await? {
        if only.is_some_and(|o| o != p.id) {
            continue;
        }
        let exp = model::Currency::parse(&p.currency)?.exponent();
        let s = Statement::build(&p.id, &p.name, &p.currency, exp, period, &posted).closed(closed);
        let mut r = Rendered {
            csv: s.csv(&names),
            lines_csv: s.lines_csv(),
            html: s.html(&names),
            statement: s,
        };
        if closed {
            let kept = catalog
                .keep_final_statement(&store::FinalStatement {
                    period: period.to_owned(),
                    payee: p.id.clone(),
                    csv: r.csv,
                    lines_csv: r.lines_csv,
                    html: r.html,
                })
                .await?;
            r.csv = kept.csv;
            r.lines_csv = kept.lines_csv;
            r.html = kept.html;
        }
        write_statement(out, &p.id, period, &r.csv, &r.lines_csv, &r.html)?;
        out_list.push(r);
    }
    if let Some(o) = only
        && out_list.is_empty()
    {
        bail!("no payee {o:?} in the catalog");
    }
    Ok(out_list)
}

/// The default folder of a period's statements: statements/<period> in the Liner home.
pub fn statements_dir(cfg: &Config, period: &str) -> PathBuf {
    cfg.base().join("statements").join(period)
}

pub fn minor_text(minor: i64, currency: &str) -> String {
    let exp = model::Currency::parse(currency)
        .map(|c| c.exponent())
        .unwrap_or(2);
    Fine::from_minor(minor, exp).display(u32::from(exp))
}

#[derive(Debug, serde::Serialize)]
pub struct PayoutReport {
    pub paid: Vec<Payout>,
    pub carried: Vec<String>,
    pub payment_file: PathBuf,
    pub mail: Vec<String>,
    pub mail_errors: usize,
}

/// Pays every balance at or above its threshold (once per payee and period), writes the
/// payment file and e-mails each payee their statement.
pub async fn run_payouts(app: &crate::App, period: &str, out: &Path) -> Result<PayoutReport> {
    let (cfg, catalog) = (app.config(), app.catalog());
    if !catalog.closed_periods().await?.iter().any(|p| p == period) {
        bail!(
            "period {period} is not closed: balances are paid from final statements (`liner period close {period}` first)"
        );
    }
    let finals = statements_for(cfg, catalog, period, None, out).await?;
    // A payout happens after its period closed: it is booked into the next open period, so
    // the closed period's statements never change.
    let pay_period = crate::royalty::booking_period(
        catalog,
        &Period::parse(period)
            .map_err(|e| crate::Error::Refused(e.to_string()))?
            .next()
            .to_string(),
    )
    .await?;
    let posted = catalog.posted("payee:").await?;
    let already: BTreeMap<String, Payout> = catalog
        .payouts()
        .await?
        .into_iter()
        .filter(|p| p.period == period)
        .map(|p| (p.payee.clone(), p))
        .collect();
    let mut report = PayoutReport {
        paid: Vec::new(),
        carried: Vec::new(),
        payment_file: out.join(format!("payments-{period}.csv")),
        mail: Vec::new(),
        mail_errors: 0,
    };
    let mut csv = String::from("payee,name,payment_ref,currency,amount,reference\n");
    for p in catalog.payees().await? {
        let cur = model::Currency::parse(&p.currency)?;
        let exp = cur.exponent();
        let s = Statement::build(&p.id, &p.name, &p.currency, exp, period, &posted);
        let (minor, rest) = s.closing.floor_minor(exp);
        let payout = if let Some(done) = already.get(&p.id) {
            Some(done.clone())
        } else if minor > 0 && minor >= p.threshold_minor && rest == 0 {
            let amount = Fine::from_minor(minor, exp);
            let reference = format!("LINER-{period}-{}", p.id);
            let e = |account: String, v: Fine| Entry {
                account,
                currency: p.currency.clone(),
                amount: v,
                units: 0,
                dims: Dims::default(),
                formula: format!("payout {reference}"),
                gross: Fine::ZERO,
            };
            let tx = NewTx {
                key: format!("payout:{}:{period}", p.id),
                kind: "payout",
                period: pay_period.clone(),
                report_id: None,
                reverses: None,
                memo: format!("payout to {}", p.id),
                entries: vec![
                    e(format!("payee:{}", p.id), -amount),
                    e("cash".into(), amount),
                ],
            };
            let row = Payout {
                payee: p.id.clone(),
                period: period.to_owned(),
                currency: p.currency.clone(),
                amount_minor: minor,
                tx_id: 0,
                reference,
                created_at: String::new(),
            };
            let id = catalog.record_payout(&tx, &row).await?.id();
            Some(Payout { tx_id: id, ..row })
        } else {
            report.carried.push(format!(
                "{} {} {} (threshold {})",
                p.id,
                p.currency,
                s.closing.display(u32::from(exp)),
                minor_text(p.threshold_minor, &p.currency)
            ));
            None
        };
        // The statement sent is the period's final statement, as kept.
        let Some(fin) = finals.iter().find(|r| r.statement.payee == p.id) else {
            continue;
        };
        if let Some(py) = &payout {
            csv.push_str(&format!(
                "{},{},{},{},{},{}\n",
                p.id,
                p.name.replace(',', " "),
                p.payment_ref,
                p.currency,
                minor_text(py.amount_minor, &p.currency),
                py.reference
            ));
            report.paid.push(py.clone());
        }
        if already.contains_key(&p.id) {
            continue; // e-mailed when it was paid
        }
        let paid_text = payout.as_ref().map(|py| {
            format!(
                "{} {}",
                minor_text(py.amount_minor, &p.currency),
                p.currency
            )
        });
        let notice = notify::statement(
            &p.email,
            &p.name,
            period,
            &format!(
                "{} {}",
                royalties::alloc::format_shown(fin.statement.shown().closing, u32::from(exp), true),
                p.currency
            ),
            paid_text.as_deref(),
            &fin.csv,
            &fin.html,
        );
        match app.notifier().send(notice).await {
            Ok(sent) => report
                .mail
                .push(format!("statement to {}: {sent}", p.email)),
            Err(e) => {
                report.mail_errors += 1;
                report
                    .mail
                    .push(format!("statement to {} NOT sent: {e}", p.email));
            }
        }
    }
    std::fs::create_dir_all(out)?;
    std::fs::write(&report.payment_file, csv)
        .with_context(|| format!("writing {}", report.payment_file.display()))?;
    Ok(report)
}

/// What an FX import did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RatesImported {
    pub recorded: u64,
    pub already_there: u64,
    pub rates: Vec<store::FxRate>,
}

/// Records exchange rates from a CSV file (`period,base,quote,rate[,source]`, a header
/// first); every line checked (period, ISO 4217 codes, a positive decimal) before any is
/// recorded. A rate already there for its period and pair is left as it is.
pub async fn import_rates(app: &crate::App, file: &Path) -> Result<RatesImported> {
    let text = intake::read_text_file(file, app.config().limits.document_bytes)
        .map_err(|(_, why)| crate::Error::Refused(format!("{}: expected {why}", file.display())))?;
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rates = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let at = || format!("{}:{line}", file.display());
        let rec = rec.map_err(|e| err!("{}: {e}", at()))?;
        let get = |k: usize| rec.get(k).unwrap_or("").trim().to_owned();
        let period = Period::parse(&get(0))
            .map_err(|e| crate::Error::Refused(format!("{}: period: {e}", at())))?
            .to_string();
        let base = model::Currency::parse(&get(1))
            .map_err(|e| crate::Error::Refused(format!("{}: base: {e}", at())))?;
        let quote = model::Currency::parse(&get(2))
            .map_err(|e| crate::Error::Refused(format!("{}: quote: {e}", at())))?;
        let rate = get(3);
        if royalties::Rate::parse(&rate, "").is_none() {
            bail!("{}: rate {rate:?} is not a positive decimal", at());
        }
        let source = if get(4).is_empty() {
            file.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("fx")
                .to_owned()
        } else {
            get(4)
        };
        rates.push(store::FxRate {
            period,
            base: base.code().into(),
            quote: quote.code().into(),
            rate,
            source,
        });
    }
    let (recorded, already_there) = app.catalog().record_rates(&rates).await?;
    Ok(RatesImported {
        recorded: recorded as u64,
        already_there: already_there as u64,
        rates,
    })
}

/// Every recorded exchange rate.
pub async fn rates(app: &crate::App) -> Result<Vec<store::FxRate>> {
    Ok(app.catalog().rates().await?)
}

/// A reporting period as `period list` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PeriodRow {
    pub period: String,
    /// Sales postings booked into it.
    pub transactions: i64,
    pub closed: bool,
}

/// Every period with sales postings, and every closed one.
pub async fn periods(app: &crate::App) -> Result<Vec<PeriodRow>> {
    let catalog = app.catalog();
    let closed = crate::royalty::closed_periods(catalog).await?;
    let mut rows: BTreeMap<String, i64> =
        catalog.periods_with_postings().await?.into_iter().collect();
    for c in &closed {
        rows.entry(c.to_string()).or_insert(0);
    }
    Ok(rows
        .into_iter()
        .map(|(period, transactions)| PeriodRow {
            closed: Period::parse(&period).is_ok_and(|x| closed.contains(&x)),
            period,
            transactions,
        })
        .collect())
}

/// What closing a period would do, checked against the rules before anyone is asked: its
/// sales postings, or why it may not close (`today`'s month decides what is over).
pub async fn close_preview(
    app: &crate::App,
    period: &str,
    force: bool,
) -> Result<std::result::Result<i64, royalties::period::CloseRefusal>> {
    let catalog = app.catalog();
    let today =
        Period::parse(&crate::royalty::this_month(app.clock())).map_err(crate::Error::Refused)?;
    let this = Period::parse(period).map_err(crate::Error::Refused)?;
    let with_postings = catalog.periods_with_postings().await?;
    let postings = with_postings
        .iter()
        .find(|(p, _)| p == period)
        .map_or(0, |(_, n)| *n);
    let closed = crate::royalty::closed_periods(catalog).await?;
    let open_before = with_postings
        .iter()
        .filter_map(|(p, _)| Period::parse(p).ok())
        .find(|p| *p < this && !closed.contains(p));
    Ok(royalties::period::may_close(this, today, force, &closed, open_before).map(|()| postings))
}

/// An account's balance in one currency.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Balance {
    pub account: String,
    pub currency: String,
    /// Exact, as a decimal string.
    pub balance: String,
    #[serde(skip)]
    pub amount: Fine,
}

/// Every account's balance per currency (of one payee's accounts with `payee`).
pub async fn balances(app: &crate::App, payee: Option<&str>) -> Result<Vec<Balance>> {
    let txs = app.catalog().transactions().await?;
    let mut b: BTreeMap<(String, String), Fine> = BTreeMap::new();
    for t in &txs {
        for e in &t.entries {
            *b.entry((e.account.clone(), e.currency.clone()))
                .or_default() += e.amount;
        }
    }
    let keep = |a: &str| match payee {
        None => true,
        Some(p) => a.split_once(':').is_some_and(|(_, id)| id == p),
    };
    Ok(b.into_iter()
        .filter(|((a, _), _)| keep(a))
        .map(|((account, currency), amount)| Balance {
            account,
            currency,
            balance: amount.to_decimal(),
            amount,
        })
        .collect())
}
