//! The royalty commands: `reports import|list|unmatched|rematch`, `ledger balance|check`,
//! `statements`, `payouts run`, `fx import`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};
use app::Catalog as Store;
use clap::{Args, Subcommand};
use model::Fine;
use royalties::Period;
use royalties::statement::Statement;

use app::config::Config;
use app::ledger::{check_all, close_period, statements_dir, statements_for};
use app::royalty::{CatalogIndex, this_month};
use table::Table;

#[derive(Debug, Subcommand)]
pub(crate) enum ReportsCommand {
    /// Import sales reports: DSR flat files (.tsv, .tsv.gz; the files of a multi-file report
    /// together) or CSV exports with --format. Whole or nothing; importing again changes nothing.
    Import(ImportArgs),
    /// Fetch new sales reports from the DSPs now (each profile's `[sales_reports] folder`,
    /// over its SFTP or HTTP delivery account) and import them; what the scheduler's
    /// fetch-reports jobs do. Each remote file is fetched once.
    Fetch {
        /// Only these DSPs (default: every profile with a [delivery] section).
        #[arg(long, value_delimiter = ',', value_name = "DSP,…")]
        dsp: Vec<String>,
        /// Print JSON on stdout (exact amounts as strings) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The report files fetched from the DSPs, with what their import did.
    Fetched {
        /// Print JSON on stdout (exact amounts as strings) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// List imported reports.
    List {
        /// Print JSON on stdout (exact amounts as strings) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Usage in suspense (matched nothing in the catalog), grouped by what identifies it (ISRC, else the DSP's id): title,
    /// artist, lines and amount per currency, largest first.
    #[command(
        after_long_help = "Examples:\n  liner reports unmatched\n  liner reports unmatched --limit 50 --offset 50\n  liner reports unmatched --rows --json   # every stored row, exact amounts"
    )]
    Unmatched {
        /// Print JSON (exact amounts, as strings).
        #[arg(long)]
        json: bool,
        /// Also count rows already rematched or superseded.
        #[arg(long)]
        all: bool,
        /// Every stored row instead of the groups.
        #[arg(long)]
        rows: bool,
        /// Groups per page.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Groups to skip (the next page: --offset 50).
        #[arg(long, default_value_t = 0)]
        offset: usize,
    },
    /// Write a large valid Basic Audio report over the catalog's tracks (for benchmarks and
    /// the crash test).
    Generate {
        /// How many usage lines.
        #[arg(long, default_value_t = 1_000_000)]
        lines: u64,
        /// How many files (x of y) to split the report into.
        #[arg(long, default_value_t = 1)]
        parts: u32,
        /// The report's message id (a new id is a new report; the same id with other lines a correction).
        #[arg(long, default_value = "GENERATED-1")]
        message_id: String,
        /// Where to write the output.
        #[arg(long)]
        out: PathBuf,
        /// Report on this many recordings the catalog does not know instead of its own
        /// (unmatched usage, for the suspense benchmark).
        #[arg(long, default_value_t = 0)]
        unknown: usize,
    },
    /// Match suspense usage again (after the catalog was fixed) and move its money to payees.
    Rematch {
        /// The reporting period to post into (default: this month).
        #[arg(long)]
        period: Option<String>,
        /// Print JSON on stdout (exact amounts as strings) instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// Report files (named `reports` here: `--files` is the global file-store flag).
    #[arg(required = true, value_name = "FILE")]
    pub(crate) reports: Vec<PathBuf>,
    /// The reporting period the money is booked in (default: this month). Statements are
    /// cut by it; the usage period travels with every line.
    #[arg(long)]
    pub(crate) period: Option<String>,
    /// The DSP profile the report comes from (default: HEAD's sender, or the CSV layout's).
    #[arg(long)]
    pub(crate) dsp: Option<String>,
    /// A CSV layout from the report-formats folder (spotify, apple, distrokid, tuneore …);
    /// default: DSR.
    #[arg(long)]
    pub(crate) format: Option<String>,
    /// Import even when usage or money does not add up to the summaries (the line values
    /// are booked); by default such a report is refused.
    #[arg(long)]
    pub(crate) accept_mismatch: bool,
    /// The report this one corrects (default: the earlier report with the same sender and
    /// message id).
    #[arg(long)]
    pub(crate) supersedes: Option<i64>,
    /// Print JSON on stdout (exact amounts as strings) instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum LedgerCommand {
    /// Balances per account and currency.
    Balance {
        /// Only this payee's accounts (payee, advance, reserve, tax).
        #[arg(long)]
        payee: Option<String>,
        /// Print JSON on stdout (exact amounts as strings) instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Verify every invariant over the whole ledger; exits 1 on any violation.
    Check {
        /// Print JSON on stdout (exact amounts as strings) instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// An exact amount as people read it: the currency, then the amount rounded to its minor
/// unit with thousands separators.
pub(crate) fn shown_money(currency: &str, v: Fine) -> String {
    let places = model::Currency::parse(currency).map_or(2, |c| u32::from(c.exponent()));
    format!(
        "{currency} {}",
        royalties::alloc::format_shown(v.round_minor(places), places, true)
    )
}

/// A reporting period on the command line: `2026-10` (a bad month is a usage error, exit 2).
pub(crate) fn period_arg(s: &str) -> std::result::Result<String, String> {
    Period::parse(s).map(|p| p.to_string())
}

#[derive(Debug, Args)]
pub(crate) struct StatementsArgs {
    /// The reporting period, e.g. 2026-10. Read-only: an open period gives a preview, a closed
    /// one its final statements (`liner period close` makes them final).
    #[arg(long, value_parser = period_arg)]
    pub(crate) period: String,
    /// Only this payee's statement.
    #[arg(long)]
    pub(crate) payee: Option<String>,
    /// Where the statements go (default: statements/<period> in the Liner home): per payee a
    /// CSV and an HTML page for people and the exact lines as .lines.csv.
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// Print the statements as JSON (exact amounts, as strings).
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum PeriodCommand {
    /// Close a reporting period for good: round each payee's balance once, hold reserves,
    /// recoup advances, withhold tax, and make its statements final. Asks first (or --yes).
    /// A future month is always refused, the current one without --force; later sales for a
    /// closed period are booked into the next open one.
    #[command(
        after_long_help = "Examples:\n  liner period close 2026-11\n  liner period close 2026-12 --force --yes   # the current month, in a script"
    )]
    Close {
        /// The reporting period, e.g. 2026-11.
        #[arg(value_parser = period_arg)]
        period: String,
        /// Close the current month before it has ended.
        #[arg(long)]
        force: bool,
        /// Do not ask: close (scripts, the scheduler).
        #[arg(long)]
        yes: bool,
        /// Where the final statements go (default: statements/<period> in the Liner home).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print what was done as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Reporting periods with sales: open or closed.
    List {
        /// Print the list as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum PayoutsCommand {
    /// Pay every balance at or above its payee's threshold, write the payment file, e-mail
    /// each payee their statement.
    Run {
        /// The closed period whose balances are paid (`liner period close` first).
        #[arg(long, value_parser = period_arg)]
        period: String,
        /// Where to write the output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print JSON on stdout (exact amounts as strings) instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum FxCommand {
    /// Record exchange rates from a CSV: period,base,quote,rate[,source].
    Import {
        /// The CSV file: period,base,quote,rate[,source].
        file: PathBuf,
        /// Print what was recorded as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List recorded rates.
    List {
        /// Print JSON on stdout (exact amounts as strings) instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// The catalog, for the commands below that still read it directly.
pub(crate) async fn open(cfg: &Config) -> Result<Store> {
    Ok(app::App::open(cfg.clone()).await?.catalog().clone())
}

fn check_period(p: &str) -> Result<String> {
    Ok(Period::parse(p).map_err(|e| anyhow!(e))?.to_string())
}

pub(crate) async fn reports(cfg: &Config, cmd: ReportsCommand) -> Result<ExitCode> {
    match cmd {
        ReportsCommand::Import(a) => import(cfg, a).await,
        ReportsCommand::Fetch { dsp, json } => {
            let app = app::App::open(cfg.clone()).await?;
            let profiles = app::ern::load_profiles(cfg)?;
            for d in &dsp {
                if !profiles.iter().any(|p| &p.name == d) {
                    bail!("no DSP profile {d:?}");
                }
            }
            let mut code = ExitCode::SUCCESS;
            let mut all = Vec::new();
            for p in profiles
                .iter()
                .filter(|p| p.delivery.is_some() && (dsp.is_empty() || dsp.contains(&p.name)))
            {
                match app::fetch::fetch_reports(&app, p, None, &crate::events::Cli).await {
                    Ok(f) => {
                        if !f.refused.is_empty() {
                            code = ExitCode::from(1);
                        }
                        if !json {
                            println!(
                                "{}: {} file(s) there, {} new; {} imported, {} already imported, {} refused, {} waiting for their other parts",
                                f.dsp,
                                f.listed,
                                f.downloaded,
                                f.imported.len(),
                                f.already.len(),
                                f.refused.len(),
                                f.waiting.len()
                            );
                            for r in &f.imported {
                                println!("  imported {r}");
                            }
                            for (r, why) in &f.refused {
                                println!("  REFUSED {r}: {why}");
                            }
                        }
                        all.push(f);
                    }
                    Err(e) => {
                        code = ExitCode::from(1);
                        note!("{}: {}", p.name, e.chain());
                    }
                }
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            }
            app.close().await;
            Ok(code)
        }
        ReportsCommand::Fetched { json } => {
            let catalog = open(cfg).await?;
            let list = catalog.fetched_reports().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                for f in &list {
                    println!(
                        "{}  {:<14} {:<9} {} ({} bytes): {}",
                        f.fetched_at, f.dsp, f.outcome, f.name, f.size, f.detail
                    );
                }
            }
            catalog.close().await;
            Ok(ExitCode::SUCCESS)
        }
        ReportsCommand::List { json } => {
            let catalog = open(cfg).await?;
            let list = catalog.reports().await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if list.is_empty() {
                note!("no reports imported yet: `liner reports import <files>`");
            } else {
                println!(
                    "{:>4}  {:<14} {:<8} {:<24} {:>10} {:>9}  {:<24} status",
                    "id", "dsp", "period", "message", "lines", "matched", "totals"
                );
                for r in &list {
                    let totals: Vec<String> = r
                        .totals
                        .iter()
                        .map(|(c, v)| shown_money(c, Fine::parse(v).unwrap_or_default()))
                        .collect();
                    let status = match (r.superseded_by, r.supersedes) {
                        (Some(n), _) => format!("superseded by {n}"),
                        (None, Some(o)) => format!("supersedes {o}"),
                        _ => "posted".into(),
                    };
                    println!(
                        "{:>4}  {:<14} {:<8} {:<24} {:>10} {:>9}  {:<24} {status}",
                        r.id,
                        r.dsp,
                        r.reporting_period,
                        r.message_id,
                        r.usage_lines,
                        r.matched_lines,
                        totals.join(", ")
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ReportsCommand::Unmatched {
            json,
            all,
            rows,
            limit,
            offset,
        } => {
            let catalog = open(cfg).await?;
            // Paged in the database: memory stays flat however large suspense grows.
            let (limit_n, offset_n) = (
                i64::try_from(limit).unwrap_or(i64::MAX),
                i64::try_from(offset).unwrap_or(i64::MAX),
            );
            if rows {
                let (page, total) = catalog.unmatched_page(all, limit_n, offset_n).await?;
                catalog.close().await;
                if json {
                    println!("{}", serde_json::to_string_pretty(&page)?);
                } else {
                    let mut t = Table::new(
                        &[
                            "row", "report", "dsp", "country", "usage", "amount", "units", "lines",
                            "why",
                        ],
                        &[true, true, false, false, false, true, true, true, false],
                    );
                    for u in &page {
                        let places = model::Currency::parse(&u.currency)
                            .map_or(2, |c| u32::from(c.exponent()));
                        t.row(vec![
                            u.id.to_string(),
                            u.report_id.to_string(),
                            u.dsp.clone(),
                            u.territory.clone(),
                            u.usage_period.clone(),
                            format!(
                                "{} {}",
                                u.currency,
                                royalties::alloc::format_shown(
                                    u.amount.round_minor(places),
                                    places,
                                    true
                                )
                            ),
                            u.units.to_string(),
                            u.lines.to_string(),
                            u.reason.clone(),
                        ]);
                    }
                    print!("{}", t.render());
                    println!("rows {}–{} of {}", offset + 1, offset + page.len(), total);
                }
                return Ok(ExitCode::SUCCESS);
            }
            let (page, total) = catalog.unmatched_groups(all, limit_n, offset_n).await?;
            catalog.close().await;
            let total = usize::try_from(total).unwrap_or(0);
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "groups": total, "offset": offset, "limit": limit, "page": page,
                    }))?
                );
            } else if total == 0 {
                println!("no unmatched usage");
            } else {
                let mut t = Table::new(
                    &["identifier", "title", "artist", "dsp", "lines", "amount"],
                    &[false, false, false, false, true, true],
                );
                for g in &page {
                    let amounts: Vec<String> = g
                        .amounts
                        .iter()
                        .map(|(c, f)| {
                            let places =
                                model::Currency::parse(c).map_or(2, |c| u32::from(c.exponent()));
                            format!(
                                "{c} {}",
                                royalties::alloc::format_shown(f.round_minor(places), places, true)
                            )
                        })
                        .collect();
                    t.row(vec![
                        g.identifier.clone(),
                        table::fit(&g.title, 32),
                        table::fit(&g.artist, 24),
                        g.dsps.join(", "),
                        g.lines.to_string(),
                        amounts.join(", "),
                    ]);
                }
                print!("{}", t.render());
                println!(
                    "groups {}–{} of {total}{}",
                    offset + 1,
                    offset + page.len(),
                    if offset + page.len() < total {
                        format!("; next page: --offset {}", offset + page.len())
                    } else {
                        String::new()
                    }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ReportsCommand::Rematch { period, json } => rematch(cfg, period, json).await,
        ReportsCommand::Generate {
            lines,
            parts,
            message_id,
            out,
            unknown,
        } => {
            let catalog = open(cfg).await?;
            let ix = CatalogIndex::load(&catalog).await?;
            let tracks = if unknown > 0 {
                bench::royalties::unknown_tracks(unknown)
            } else {
                bench::royalties::tracks_of(&ix)
            };
            for p in bench::royalties::generate(&out, lines, &tracks, parts, &message_id)? {
                println!("{}", p.display());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn import(cfg: &Config, a: ImportArgs) -> Result<ExitCode> {
    let (out, failures) = import_run(cfg, &a).await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(
        if failures.is_empty() && out.iter().all(|s| s.outcome != "refused") {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        },
    )
}

/// Imports the reports given, printing a summary of each (unless `--json`); what each
/// import did, and the reports that failed with why.
pub(crate) async fn import_run(
    cfg: &Config,
    a: &ImportArgs,
) -> Result<(Vec<app::royalty::ImportSummary>, Vec<String>)> {
    let app = app::App::open(cfg.clone()).await?;
    let r = app::royalty::ImportRequest {
        reports: a.reports.clone(),
        period: a.period.clone(),
        dsp: a.dsp.clone(),
        format: a.format.clone(),
        accept_mismatch: a.accept_mismatch,
        supersedes: a.supersedes,
        progress: !a.json,
    };
    let (out, failures) = app::royalty::import_reports(&app, &r, &crate::events::Cli).await?;
    if !a.json {
        for s in &out {
            print_summary(s);
        }
    }
    app.close().await;
    Ok((out, failures))
}

fn print_summary(s: &app::royalty::ImportSummary) {
    let files = s.files.join(" + ");
    match s.outcome.as_str() {
        "already imported" => {
            println!(
                "{files}: already imported as report {}; nothing changed",
                s.report_id.unwrap_or_default()
            );
            return;
        }
        "refused" => {
            println!(
                "{files}: REFUSED, nothing was booked ({} lines read)",
                s.lines
            );
            for r in &s.refusals {
                println!("  {r}");
            }
            for w in &s.warnings {
                println!("  {w}");
            }
            return;
        }
        _ => {}
    }
    let rate = if s.seconds > 0.0 {
        s.usage_lines as f64 / s.seconds
    } else {
        0.0
    };
    println!(
        "{files}: {} as report {} from {} (message {}), period {}",
        s.outcome,
        s.report_id.unwrap_or_default(),
        s.dsp,
        s.message_id,
        s.reporting_period
    );
    println!(
        "  {} lines, {} usage lines: {} matched, {} unmatched; {:.2} s ({:.0} usage lines/s)",
        s.lines, s.usage_lines, s.matched_lines, s.unmatched_lines, s.seconds, rate
    );
    for (c, v) in &s.totals {
        let susp = s
            .suspense
            .get(c)
            .map(|x| {
                format!(
                    " ({} in suspense)",
                    shown_money(c, Fine::parse(x).unwrap_or_default())
                )
            })
            .unwrap_or_default();
        println!(
            "  total {}{susp}",
            shown_money(c, Fine::parse(v).unwrap_or_default())
        );
    }
    if let Some(o) = s.superseded {
        println!(
            "  report {o} superseded: its postings were reversed in {}",
            s.reporting_period
        );
    }
    for w in &s.warnings {
        println!("  {w}");
    }
}

async fn rematch(cfg: &Config, period: Option<String>, json: bool) -> Result<ExitCode> {
    let app = app::App::open(cfg.clone()).await?;
    let out = app::royalty::rematch(&app, period.as_deref(), &crate::events::Cli).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for m in &out.rematched {
            println!(
                "suspense #{} → transaction {}: {} {}",
                m.unmatched,
                m.transaction
                    .map_or_else(|| "null".to_owned(), |t| t.to_string()),
                m.currency,
                m.amount
            );
        }
        println!(
            "{} rematched, {} still unmatched",
            out.rematched.len(),
            out.still_unmatched
        );
    }
    app.close().await;
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn ledger(cfg: &Config, cmd: LedgerCommand) -> Result<ExitCode> {
    let app = app::App::open(cfg.clone()).await?;
    let catalog = app.catalog().clone();
    match cmd {
        LedgerCommand::Balance { payee, json } => {
            let rows = app::ledger::balances(&app, payee.as_deref()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                // Per currency, the balances rounded to its minor unit and adding up to the
                // shown total (zero for the whole ledger: it balances).
                let mut by_cur: BTreeMap<&str, Vec<(&str, Fine)>> = BTreeMap::new();
                for r in &rows {
                    by_cur
                        .entry(r.currency.as_str())
                        .or_default()
                        .push((r.account.as_str(), r.amount));
                }
                let mut t = Table::new(&["account", "currency", "balance"], &[false, false, true]);
                for (cur, list) in &by_cur {
                    let places = model::Currency::parse(cur).map_or(2, |c| u32::from(c.exponent()));
                    let values: Vec<Fine> = list.iter().map(|(_, v)| *v).collect();
                    let total = royalties::alloc::shown_total(&values, places);
                    let shown = royalties::alloc::shown(&values, places, total);
                    for ((a, _), v) in list.iter().zip(&shown) {
                        t.row(vec![
                            (*a).to_owned(),
                            (*cur).to_owned(),
                            royalties::alloc::format_shown(*v, places, true),
                        ]);
                    }
                    t.row(vec![
                        "total".into(),
                        (*cur).to_owned(),
                        royalties::alloc::format_shown(total, places, true),
                    ]);
                }
                print!("{}", t.render());
            }
            Ok(ExitCode::SUCCESS)
        }
        LedgerCommand::Check { json } => {
            let r = check_all(&catalog).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                println!(
                    "{} transactions, {} entries, {} reports checked",
                    r.transactions, r.entries, r.reports
                );
                for v in &r.violations {
                    println!("VIOLATION: {v}");
                }
                for (cur, rc) in &r.reconciliation {
                    println!("{}", reconciliation_line(cur, rc));
                }
                if r.violations.is_empty() {
                    println!(
                        "ledger OK: every transaction and every currency balances, the hash chain is intact, every report's import equals its total, statements add up"
                    );
                }
            }
            Ok(if r.violations.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

/// Where one currency's reported money went, as `ledger check` and the demo print it.
/// How a currency's reported money adds up, for people: each amount rounded to the minor unit
/// and the two sides distributed so that both add up to the same shown total.
pub(crate) fn reconciliation_line(cur: &str, rc: &royalties::check::Reconciliation) -> String {
    let places = model::Currency::parse(cur).map_or(2, |c| u32::from(c.exponent()));
    let left = [rc.reported, rc.converted_in];
    let right = [rc.fees, rc.payees, rc.labels, rc.suspense, rc.converted_out];
    let total = royalties::alloc::shown_total(&left, places);
    let l = royalties::alloc::shown(&left, places, total);
    let r = royalties::alloc::shown(&right, places, total);
    let m = |v: i128| royalties::alloc::format_shown(v, places, true);
    format!(
        "{cur}: reported {} + converted in {} = fees {} + payees {} + labels {} + suspense {} + converted out {}",
        m(l[0]),
        m(l[1]),
        m(r[0]),
        m(r[1]),
        m(r[2]),
        m(r[3]),
        m(r[4])
    )
}

/// One line per statement for the terminal: every amount rounded to the currency's minor
/// unit, the summary adding up to the closing balance.
fn print_statement_line(s: &Statement) {
    let sh = s.shown();
    let m = |v: i128| royalties::alloc::format_shown(v, sh.places, false);
    println!(
        "{:<14} {} opening {:>10}  income {:>10}  reserve {:>8}  recouped {:>8}  tax {:>8}  paid {:>8}  closing {:>10}  ({} lines)",
        s.payee,
        s.currency,
        m(sh.opening),
        m(sh.income.total),
        m(sh.reserve_held + sh.reserve_released),
        m(sh.recouped),
        m(sh.tax),
        m(sh.payouts),
        m(sh.closing),
        s.lines.len()
    );
}

pub(crate) async fn statements(cfg: &Config, a: StatementsArgs) -> Result<ExitCode> {
    let period = a.period.clone();
    let catalog = open(cfg).await?;
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| statements_dir(cfg, &period));
    let list = statements_for(cfg, &catalog, &period, a.payee.as_deref(), &out).await?;
    let closed = list.first().is_some_and(|r| r.statement.closed);
    catalog.close().await;
    if a.json {
        let v: Vec<&Statement> = list.iter().map(|r| &r.statement).collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        for r in &list {
            print_statement_line(&r.statement);
        }
        if closed {
            println!("final statements of {period} written to {}", out.display());
        } else {
            println!(
                "PREVIEW statements of {period} (the period is open; `liner period close {period}` makes them final) written to {}",
                out.display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `liner period close|list`.
pub(crate) async fn period(cfg: &Config, cmd: PeriodCommand) -> Result<ExitCode> {
    match cmd {
        PeriodCommand::List { json } => {
            let app = app::App::open(cfg.clone()).await?;
            let list = app::ledger::periods(&app).await;
            app.close().await;
            let list = list?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if list.is_empty() {
                println!("no reporting period has sales yet");
            } else {
                println!("{:<8}  {:<6}  sales postings", "period", "state");
                for v in &list {
                    println!(
                        "{:<8}  {:<6}  {}",
                        v.period,
                        if v.closed { "closed" } else { "open" },
                        v.transactions
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        PeriodCommand::Close {
            period,
            force,
            yes,
            out,
            json,
        } => {
            let app = app::App::open(cfg.clone()).await?;
            let catalog = app.catalog().clone();
            // The rules first, before anything is asked.
            let postings = match app::ledger::close_preview(&app, &period, force).await? {
                Ok(n) => n,
                Err(refusal) => {
                    app.close().await;
                    eprintln!("error: {refusal}");
                    return Ok(ExitCode::FAILURE);
                }
            };
            let today = Period::parse(&this_month(app.clock())).map_err(|e| anyhow!(e))?;
            let question = if postings == 0 {
                format!(
                    "{period} is empty: no sales report was booked into it and nothing was rematched. Close it anyway (its statements become final, showing only balances carried)?"
                )
            } else {
                format!(
                    "Close {period} for good? {postings} sales transactions; balances are rounded once, reserves held, advances recouped, tax withheld, and the statements become final. Later sales for {period} go to the next open period."
                )
            };
            if !yes && !crate::confirm(&question)? {
                catalog.close().await;
                eprintln!("nothing changed");
                return Ok(ExitCode::FAILURE);
            }
            match close_period(cfg, &catalog, &period, today, force).await? {
                Ok(()) => {}
                Err(refusal) => {
                    catalog.close().await;
                    eprintln!("error: {refusal}");
                    return Ok(ExitCode::FAILURE);
                }
            }
            let out = out.unwrap_or_else(|| statements_dir(cfg, &period));
            let list = statements_for(cfg, &catalog, &period, None, &out).await?;
            catalog.close().await;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({
                        "period": period,
                        "closed": true,
                        "statements": list.iter().map(|r| &r.statement).collect::<Vec<_>>(),
                        "out": out,
                    }))?
                );
            } else {
                for r in &list {
                    print_statement_line(&r.statement);
                }
                println!(
                    "period {period} closed; {} final statements written to {}",
                    list.len(),
                    out.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub(crate) async fn payouts(cfg: &Config, cmd: PayoutsCommand) -> Result<ExitCode> {
    let PayoutsCommand::Run { period, out, json } = cmd;
    let period = check_period(&period)?;
    let app = app::App::open(cfg.clone()).await?;
    let out = out.unwrap_or_else(|| PathBuf::from("statements").join(&period));
    let report = app::ledger::run_payouts(&app, &period, &out).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        for p in &report.paid {
            println!(
                "paid {} {} {} ({})",
                p.payee,
                p.currency,
                app::ledger::minor_text(p.amount_minor, &p.currency),
                p.reference
            );
        }
        for c in &report.carried {
            println!("carried forward: {c}");
        }
        for m in &report.mail {
            println!("{m}");
        }
        println!("payment file: {}", report.payment_file.display());
    }
    Ok(if report.mail_errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub(crate) async fn fx(cfg: &Config, cmd: FxCommand) -> Result<ExitCode> {
    let app = app::App::open(cfg.clone()).await?;
    match cmd {
        FxCommand::Import { file, json } => {
            let r = app::ledger::import_rates(&app, &file).await?;
            if json {
                println!("{}", serde_json::to_string(&r)?);
            } else {
                println!(
                    "{} rates recorded, {} already there",
                    r.recorded, r.already_there
                );
            }
        }
        FxCommand::List { json } => {
            let r = app::ledger::rates(&app).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                for x in r {
                    println!(
                        "{} {}→{} {} ({})",
                        x.period, x.base, x.quote, x.rate, x.source
                    );
                }
            }
        }
    }
    app.close().await;
    Ok(ExitCode::SUCCESS)
}
