//! `liner worker`: a scheduler and N job runners over the store's job queue, and
//! `liner jobs add` to queue work by hand.
//!
//! Each runner claims a due job with a lease, keeps the lease alive while the job runs, and
//! completes it or records the failure (backoff, then dead). On SIGTERM or Ctrl-C the
//! runners stop claiming, finish the job in hand and exit. Jobs are at-least-once; each kind
//! runs an operation that is idempotent already (deliveries resume, imports are keyed by
//! content, statements and payouts are keyed per period).
//!
//! A scheduler task (unless `--no-schedule`) enqueues the jobs `[schedule]` makes due
//! (see `schedule.rs`) on every tick; every worker may run one, since a slot is enqueued
//! once whoever proposes it.
//!
//! Logs are JSON lines on stderr with the job id, kind, scope and slot.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration as StdDuration;

use anyhow::{Result, anyhow, bail};
use chrono::{Duration, Utc};
use store::{Job, NewJob, OpenMode, Store};

use crate::schedule;
use app::Config;

#[derive(Debug, clap::Args)]
pub(crate) struct WorkerArgs {
    /// Job runners in this process.
    #[arg(long, default_value_t = 2)]
    pub(crate) runners: usize,
    /// Lease length in seconds; a job whose worker stops renewing it is taken over after it.
    #[arg(long, default_value_t = 120)]
    pub(crate) lease: i64,
    /// How often an idle runner looks for work, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub(crate) poll_ms: u64,
    /// Exit once no job is due (for cron-style runs and tests).
    #[arg(long)]
    pub(crate) drain: bool,
    /// Do not enqueue the scheduled jobs (only run what is queued).
    #[arg(long)]
    pub(crate) no_schedule: bool,
    /// How often the scheduler looks for due work, in milliseconds (default: the config's
    /// `[schedule] tick_seconds`).
    #[arg(long)]
    pub(crate) tick_ms: Option<u64>,
    /// This worker's name in leases and logs (default: host and process id).
    #[arg(long)]
    pub(crate) name: Option<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct AddJobArgs {
    /// deliver | takedown | refresh-acks | fetch-reports | import-reports | statements |
    /// ledger-check | purge
    pub(crate) kind: String,
    /// What the job is about; with the slot, its identity (a second add is a no-op).
    #[arg(long, default_value = "")]
    pub(crate) scope: String,
    /// The slot that keys the job: one job per kind, scope and slot.
    #[arg(long, default_value = "")]
    pub(crate) slot: String,
    /// The job's parameters as JSON, e.g. '{"upcs":["196543210010"],"to":["spotify"]}'.
    #[arg(long, default_value = "{}")]
    pub(crate) payload: String,
    /// Higher runs first (fixes 10, takedowns 20, new deliveries 5).
    #[arg(long, default_value_t = 0)]
    pub(crate) priority: i64,
    /// Attempts before the job is parked as dead.
    #[arg(long, default_value_t = 5)]
    pub(crate) max_attempts: i64,
}

const KINDS: [&str; 8] = [
    "deliver",
    "takedown",
    "refresh-acks",
    "fetch-reports",
    "import-reports",
    "statements",
    "ledger-check",
    "purge",
];

pub(crate) async fn add(cfg: &Config, a: AddJobArgs) -> Result<ExitCode> {
    if !KINDS.contains(&a.kind.as_str()) {
        bail!(
            "unknown job kind {:?}: expected one of {}",
            a.kind,
            KINDS.join(", ")
        );
    }
    let payload: serde_json::Value =
        serde_json::from_str(&a.payload).map_err(|e| anyhow!("--payload is not JSON: {e}"))?;
    let catalog = Store::open(&cfg.database, OpenMode::Existing).await?;
    let id = catalog
        .enqueue(&NewJob {
            kind: a.kind.clone(),
            scope: a.scope,
            slot: a.slot,
            payload,
            // Takedowns go in their lane unless told otherwise.
            priority: if a.kind == "takedown" && a.priority == 0 {
                schedule::PRIORITY_TAKEDOWN
            } else {
                a.priority
            },
            run_after: Utc::now(),
            max_attempts: a.max_attempts,
        })
        .await?;
    match id {
        Some(id) => println!("job {id} queued"),
        None => println!("already queued (same kind, scope and slot)"),
    }
    Ok(ExitCode::SUCCESS)
}

fn str_list(v: &serde_json::Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn need_str(v: &serde_json::Value, key: &str) -> Result<String> {
    v[key]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("payload needs {key:?}"))
}

/// A delivery job's outcome as the job's result: every release and DSP done, or why not.
fn ok(o: &app::delivery::DeliveryOutcome, what: &str) -> Result<()> {
    match (o.failed, o.not_cleared) {
        (0, 0) => Ok(()),
        (0, n) => bail!("{what}: {n} refused by the QC gate (see the job's log)"),
        (n, _) => bail!("{what}: {n} failed (see the job's log)"),
    }
}

/// Runs one job to its end; what happens on the way is logged as JSON lines.
async fn execute(app: &app::App, j: &Job) -> Result<()> {
    let (cfg, catalog) = (app.config(), app.catalog());
    let p = &j.payload;
    let log: Arc<dyn app::Events> = Arc::new(app::Logged);
    match j.kind.as_str() {
        "deliver" => {
            let upcs = str_list(p, "upcs")
                .iter()
                .map(|u| app::lookup_upc(u))
                .collect::<Result<Vec<_>, _>>()?;
            let to = str_list(p, "to");
            if upcs.is_empty() || to.is_empty() {
                bail!("payload needs \"upcs\" and \"to\"");
            }
            let r = app::delivery::DeliverRequest {
                upcs,
                to,
                priority: p["priority"].as_bool().unwrap_or(false),
                wait: None,
                schemas: None,
                holder: Some(format!("job:{}", j.id)),
            };
            ok(&app::delivery::deliver(app, r, log).await?, "deliver")
        }
        "takedown" => {
            let upc = app::lookup_upc(&need_str(p, "upc")?)?;
            let from = str_list(p, "from");
            if from.is_empty() {
                bail!("payload needs \"from\"");
            }
            let r = app::delivery::TakedownRequest {
                upc: Some(upc),
                from,
                purge: p["purge"].as_bool().unwrap_or(false),
                wait: None,
                schemas: None,
                holder: Some(format!("job:{}", j.id)),
            };
            ok(&app::delivery::takedown(app, r, log).await?, "takedown")
        }
        "fetch-reports" => {
            let dsp = need_str(p, "dsp")?;
            let profiles = app::ern::load_profiles(cfg)?;
            let profile = profiles
                .iter()
                .find(|x| x.name == dsp)
                .ok_or_else(|| anyhow!("no DSP profile {dsp:?}"))?;
            let f = app::fetch::fetch_reports(app, profile, None, &*log).await?;
            tracing::info!(
                dsp = %dsp,
                listed = f.listed,
                downloaded = f.downloaded,
                imported = f.imported.len(),
                already = f.already.len(),
                refused = f.refused.len(),
                waiting = f.waiting.len(),
                "sales reports fetched"
            );
            Ok(())
        }
        "purge" => {
            let days = p["days"].as_u64().unwrap_or(7);
            let (n, bytes) = purge(cfg, days)?;
            tracing::info!(files = n, bytes, days, "staged files purged");
            Ok(())
        }
        "refresh-acks" => {
            let r = app::delivery::DeliveriesRequest {
                refresh: true,
                all: false,
                summary: false,
            };
            let lines = app::delivery::deliveries(app, r, log).await?;
            tracing::info!(
                deliveries = lines.len(),
                overdue = lines.iter().filter(|l| l.ack_overdue).count(),
                "acknowledgements read"
            );
            Ok(())
        }
        "import-reports" => {
            let folder = PathBuf::from(need_str(p, "folder")?);
            let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
                .map_err(|e| anyhow!("{}: {e}", folder.display()))?
                .flatten()
                .map(|e| e.path())
                .filter(|f| {
                    f.is_file()
                        && !f
                            .file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                })
                .collect();
            files.sort();
            if files.is_empty() {
                return Ok(());
            }
            let r = app::royalty::ImportRequest {
                reports: files,
                period: p["period"].as_str().map(str::to_owned),
                dsp: p["dsp"].as_str().map(str::to_owned),
                format: p["format"].as_str().map(str::to_owned),
                accept_mismatch: false,
                supersedes: None,
                progress: false,
            };
            let (done, mut failures) = app::royalty::import_reports(app, &r, &*log).await?;
            for s in &done {
                tracing::info!(
                    report = ?s.report_id,
                    files = %s.files.join(" + "),
                    outcome = %s.outcome,
                    usage_lines = s.usage_lines,
                    matched_lines = s.matched_lines,
                    "sales report imported"
                );
            }
            for s in done.iter().filter(|s| s.outcome == "refused") {
                failures.push(format!(
                    "{}: refused: {}",
                    s.files.join(" + "),
                    s.refusals.join("; ")
                ));
            }
            if failures.is_empty() {
                Ok(())
            } else {
                bail!("{}", failures.join("; "))
            }
        }
        "statements" => {
            let period = need_str(p, "period")?;
            let out = p["out"]
                .as_str()
                .map_or_else(|| PathBuf::from("statements").join(&period), PathBuf::from);
            // The scheduler's period-end job follows the operator's rules: a month is closed
            // once it is over, never early; a month closed by hand already is left as it is.
            let today = royalties::Period::parse(&app::royalty::this_month(app::Clock::system()))
                .map_err(|e| anyhow::anyhow!(e))?;
            match crate::royalty_cmd::close_period(cfg, catalog, &period, today, false).await? {
                Ok(()) | Err(royalties::period::CloseRefusal::AlreadyClosed { .. }) => {}
                Err(refusal) => bail!("{refusal}"),
            }
            let r = crate::royalty_cmd::run_payouts(cfg, catalog, &period, &out).await?;
            if r.mail_errors > 0 {
                bail!(
                    "{} statement e-mails not sent: {}",
                    r.mail_errors,
                    r.mail.join("; ")
                );
            }
            Ok(())
        }
        "ledger-check" => {
            let r = crate::royalty_cmd::check_all(catalog).await?;
            if r.violations.is_empty() {
                Ok(())
            } else {
                bail!("ledger check: {}", r.violations.join("; "))
            }
        }
        other => bail!("unknown job kind {other:?}"),
    }
}

/// Removes staged files nobody needs any more: downloaded sales reports older than `days`
/// (their content is in the file store once imported, and the fetch record keeps them from
/// being downloaded again) and writes to the file store interrupted over a day ago.
pub(crate) fn purge(cfg: &Config, days: u64) -> Result<(usize, u64)> {
    let now = std::time::SystemTime::now();
    let older = |path: &std::path::Path, age: StdDuration| {
        std::fs::metadata(path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|d| d >= age)
    };
    let mut victims = Vec::new();
    let incoming = cfg.files.join("incoming");
    for dsp in std::fs::read_dir(&incoming).into_iter().flatten().flatten() {
        for f in std::fs::read_dir(dsp.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            if f.path().is_file() && older(&f.path(), StdDuration::from_secs(days * 86_400)) {
                victims.push(f.path());
            }
        }
    }
    for f in std::fs::read_dir(cfg.files.join("tmp"))
        .into_iter()
        .flatten()
        .flatten()
    {
        if f.path().is_file() && older(&f.path(), StdDuration::from_secs(86_400)) {
            victims.push(f.path());
        }
    }
    let (mut n, mut bytes) = (0, 0);
    for v in victims {
        let size = std::fs::metadata(&v).map(|m| m.len()).unwrap_or(0);
        match std::fs::remove_file(&v) {
            Ok(()) => {
                n += 1;
                bytes += size;
            }
            Err(e) => tracing::warn!(file = %v.display(), error = %e, "not purged"),
        }
    }
    Ok((n, bytes))
}

/// What the scheduler needs to know, read from the catalog and the profiles.
async fn facts(cfg: &Config, catalog: &Store) -> Result<schedule::Facts> {
    let profiles = app::ern::load_profiles(cfg)?;
    let dsps = profiles
        .iter()
        .map(|p| schedule::DspFacts {
            name: p.name.clone(),
            reachable: p.delivery.is_some(),
            delivery_offset_days: p.lead_time.delivery_offset_days,
        })
        .collect();
    // Every release as if cleared first; the gate (QC and review: three queries a release)
    // is read only for those that would get a delivery job, so a tick over a large catalog
    // that is all delivered costs no gate query at all.
    let mut releases = Vec::new();
    if cfg.schedule.deliveries {
        for r in catalog.releases().await? {
            let Ok(release_date) = chrono::NaiveDate::parse_from_str(&r.release_date, "%Y-%m-%d")
            else {
                tracing::warn!(upc = %r.upc, date = %r.release_date, "release date unreadable: not scheduled");
                continue;
            };
            releases.push(schedule::ReleaseFacts {
                upc: r.upc.clone(),
                release_date,
                revision: r.revision,
                cleared_for: profiles.iter().map(|p| p.name.clone()).collect(),
            });
        }
    }
    let mut latest = std::collections::BTreeMap::new();
    let mut reached = std::collections::BTreeSet::new();
    for d in catalog.deliveries().await? {
        let key = (d.upc.clone(), d.dsp.clone());
        if matches!(
            d.status,
            choreography::DeliveryStatus::Uploaded | choreography::DeliveryStatus::Acknowledged
        ) && !matches!(d.intent.as_str(), "takedown" | "purge")
        {
            reached.insert(key.clone());
        }
        // Rows come oldest first: the last one per pair is the latest.
        latest.insert(
            key,
            schedule::LatestDelivery {
                id: d.id,
                revision: d.revision,
                status: d.status.as_str().to_owned(),
                intent: d.intent.clone(),
            },
        );
    }
    let report_periods = catalog
        .reports()
        .await?
        .into_iter()
        .map(|r| r.reporting_period)
        .collect();
    let busy = catalog
        .jobs(false)
        .await?
        .into_iter()
        .filter(|j| j.kind == "deliver")
        .map(|j| j.scope)
        .collect();
    let mut f = schedule::Facts {
        now: Utc::now(),
        busy,
        dsps,
        releases,
        latest,
        reached,
        report_periods,
        statements_dir: cfg.files.join("statements").display().to_string(),
    };
    let only_deliveries = app::config::Schedule {
        deliveries: true,
        acknowledgements_minutes: 0,
        reports_hours: 0,
        statements_day: 0,
        ledger_check: false,
        purge_after_days: 0,
        ..cfg.schedule.clone()
    };
    let candidates: std::collections::BTreeSet<String> = schedule::due(&only_deliveries, &f)
        .into_iter()
        .filter_map(|j| j.payload["upcs"][0].as_str().map(str::to_owned))
        .collect();
    for r in &mut f.releases {
        let dsps = std::mem::take(&mut r.cleared_for);
        if !candidates.contains(&r.upc) {
            continue;
        }
        // The gate per DSP: a release blocked by one DSP's profile still goes to the others.
        for dsp in dsps {
            if let Some(gate) = catalog.gate(&r.upc, &dsp).await? {
                r.revision = gate.revision();
                if gate.deliverable() {
                    r.cleared_for.insert(dsp);
                }
            }
        }
    }
    Ok(f)
}

/// One scheduler tick: enqueues what is due; the ids of the jobs that were new.
async fn tick(cfg: &Config, catalog: &Store) -> Result<Vec<i64>> {
    let f = facts(cfg, catalog).await?;
    let mut new = Vec::new();
    for j in schedule::due(&cfg.schedule, &f) {
        if let Some(id) = catalog.enqueue(&j).await? {
            tracing::info!(job = id, kind = %j.kind, scope = %j.scope, slot = %j.slot, priority = j.priority, "job scheduled");
            new.push(id);
        }
    }
    Ok(new)
}

/// The release and DSP ids a job is about, for the log fields operators search by
/// (comma-separated when several; empty when none).
fn searchable(p: &serde_json::Value) -> (String, String) {
    let mut upcs = str_list(p, "upcs");
    upcs.extend(p["upc"].as_str().map(str::to_owned));
    let mut dsps = str_list(p, "to");
    dsps.extend(str_list(p, "from"));
    dsps.extend(p["dsp"].as_str().map(str::to_owned));
    (upcs.join(","), dsps.join(","))
}

/// Tells the operators that a job ran out of attempts.
fn alert_dead(cfg: &Config, j: &Job, error: &str) {
    let Some(to) = &cfg.summary_to else {
        return;
    };
    let n = notify::operator_alert(
        to,
        &format!("job {} ({} {}) is dead", j.id, j.kind, j.scope),
        &format!("It failed {} times. The last error:\n{error}", j.attempts),
        &format!("fix the cause, then `liner jobs retry {}`.", j.id),
    );
    if let Err(e) = cfg.mail.send(&n) {
        tracing::warn!(job = j.id, error = %e, "the dead-job e-mail was not sent");
    }
}

pub(crate) async fn worker(cfg: &Config, a: WorkerArgs) -> Result<ExitCode> {
    let app = app::App::open(cfg.clone()).await?;
    let catalog = app.catalog().clone();
    let name = a
        .name
        .clone()
        .unwrap_or_else(|| format!("{}-{}", app::host_name(), std::process::id()));
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(_) => return,
                };
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            tracing::info!("shutdown requested: finishing the jobs in hand");
            stop.store(true, Ordering::SeqCst);
        });
    }
    tracing::info!(worker = %name, runners = a.runners, "worker started");
    let lease = Duration::seconds(a.lease.max(2));
    let mut handles = Vec::new();
    if !a.no_schedule {
        // The first tick before any runner starts: a draining worker sees what is due.
        if let Err(e) = tick(cfg, &catalog).await {
            tracing::warn!(error = %format!("{e:#}"), "scheduling failed");
        }
        let every = StdDuration::from_millis(
            a.tick_ms
                .unwrap_or(cfg.schedule.tick_seconds.saturating_mul(1000))
                .max(50),
        );
        let (catalog, cfg, stop) = (catalog.clone(), cfg.clone(), stop.clone());
        tokio::spawn(async move {
            let mut last = std::time::Instant::now();
            while !stop.load(Ordering::SeqCst) {
                tokio::time::sleep(StdDuration::from_millis(50).min(every)).await;
                if last.elapsed() < every {
                    continue;
                }
                last = std::time::Instant::now();
                if let Err(e) = tick(&cfg, &catalog).await {
                    tracing::warn!(error = %format!("{e:#}"), "scheduling failed");
                }
            }
        });
    }
    for r in 0..a.runners.max(1) {
        let (catalog, cfg, stop, app) = (catalog.clone(), cfg.clone(), stop.clone(), app.clone());
        let me = format!("{name}/{r}");
        let (poll, drain) = (StdDuration::from_millis(a.poll_ms.max(10)), a.drain);
        handles.push(tokio::spawn(async move {
            let mut done = 0u64;
            while !stop.load(Ordering::SeqCst) {
                let job = match catalog.claim(&me, lease, Utc::now()).await {
                    Ok(j) => j,
                    Err(e) => {
                        tracing::warn!(error = %e, "claiming failed");
                        tokio::time::sleep(poll).await;
                        continue;
                    }
                };
                let Some(j) = job else {
                    // Draining: done when nothing is due and no other worker holds a job
                    // (a job whose worker died comes back when its lease runs out).
                    if drain && catalog.jobs_in_hand(Utc::now()).await.unwrap_or(1) == 0 {
                        break;
                    }
                    tokio::time::sleep(poll).await;
                    continue;
                };
                let (upc, dsp) = searchable(&j.payload);
                tracing::info!(job = j.id, kind = %j.kind, scope = %j.scope, slot = %j.slot, upc = %upc, dsp = %dsp, attempt = j.attempts, runner = %me, "job started");
                // Keep the lease while the job runs.
                let beat = {
                    let (catalog, me, id) = (catalog.clone(), me.clone(), j.id);
                    tokio::spawn(async move {
                        loop {
                            tokio::time::sleep((lease / 3).to_std().unwrap_or(StdDuration::from_secs(10))).await;
                            if !catalog.heartbeat(id, &me, Utc::now() + lease).await.unwrap_or(false) {
                                tracing::warn!(job = id, "lease lost");
                                break;
                            }
                        }
                    })
                };
                let result = execute(&app, &j).await;
                beat.abort();
                match result {
                    Ok(()) => {
                        done += 1;
                        let held = catalog.complete(j.id, &me).await.unwrap_or(false);
                        tracing::info!(job = j.id, kind = %j.kind, scope = %j.scope, upc = %upc, dsp = %dsp, held, "job done");
                    }
                    Err(e) => {
                        let error = format!("{e:#}");
                        let f = catalog.fail(j.id, &me, &error, Utc::now()).await;
                        let outcome = match &f {
                            Ok(store::Failed::Retry(at)) => format!("retry at {at}"),
                            Ok(store::Failed::Dead) => "dead: out of attempts".to_owned(),
                            Ok(store::Failed::LostLease) => "lease lost: another worker has it".to_owned(),
                            Err(e) => format!("not recorded: {e}"),
                        };
                        tracing::warn!(job = j.id, kind = %j.kind, scope = %j.scope, upc = %upc, dsp = %dsp, error = %error, outcome = %outcome, "job failed");
                        if matches!(f, Ok(store::Failed::Dead)) {
                            alert_dead(&cfg, &j, &error);
                        }
                    }
                }
            }
            done
        }));
    }
    let mut total = 0;
    for h in handles {
        total += h.await.unwrap_or(0);
    }
    tracing::info!(worker = %name, jobs = total, "worker stopped");
    Ok(ExitCode::SUCCESS)
}
