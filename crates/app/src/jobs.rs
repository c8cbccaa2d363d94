//! The job queue's use cases: queue a job, run one, and the runners and scheduler a worker
//! (or a server) hosts. Each runner claims a due job with a lease, keeps the lease alive
//! while the job runs, and completes it or records the failure (backoff, then dead). When
//! asked to stop, the runners stop claiming, finish the job in hand and return. Jobs are
//! at-least-once; each kind runs an operation that is idempotent already (deliveries
//! resume, imports are keyed by content, statements and payouts are keyed per period).
//!
//! The scheduler (see the `schedule` crate) enqueues what `[schedule]` makes due on every
//! tick; every worker may run one, since a slot is enqueued once whoever proposes it.
//!
//! What a job does is told to `tracing` (a worker's JSON lines) with the job's id, kind,
//! scope and slot.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration as StdDuration;

use chrono::Duration;
use schedule::Job;

use crate::{App, Error, Events, Result, bail, err};

/// How many attempts a job gets unless told otherwise.
pub const MAX_ATTEMPTS: i64 = 5;

/// What `enqueue` is asked: a job and its key.
#[derive(Debug, Clone)]
pub struct Enqueue {
    pub job: Job,
    /// What the job is about; with the slot, its identity (a second add is a no-op).
    pub scope: String,
    pub slot: String,
    /// Higher runs first; 0 puts a takedown in its lane.
    pub priority: i64,
    pub max_attempts: i64,
}

/// Queues a job; its id, or None when the same kind, scope and slot is queued already.
pub async fn enqueue(app: &App, e: Enqueue) -> Result<Option<i64>> {
    let priority = if matches!(e.job, Job::Takedown { .. }) && e.priority == 0 {
        schedule::PRIORITY_TAKEDOWN
    } else {
        e.priority
    };
    Ok(app
        .catalog()
        .enqueue(&store::NewJob {
            kind: e.job.kind().to_owned(),
            scope: e.scope,
            slot: e.slot,
            payload: e.job.payload(),
            priority,
            run_after: app.clock().now(),
            max_attempts: e.max_attempts,
        })
        .await?)
}

/// A delivery job's outcome as the job's result: every release and DSP done, or why not.
fn delivered(o: &crate::delivery::DeliveryOutcome, what: &str) -> Result<()> {
    match (o.failed, o.not_cleared) {
        (0, 0) => Ok(()),
        (0, n) => bail!("{what}: {n} refused by the QC gate (see the job's log)"),
        (n, _) => bail!("{what}: {n} failed (see the job's log)"),
    }
}

/// Runs one job to its end; what happens on the way is told to `ev`.
pub async fn execute(app: &App, id: i64, job: &Job, ev: Arc<dyn Events>) -> Result<()> {
    let upcs = |list: &[String]| -> Result<Vec<model::Icpn>> {
        list.iter().map(|u| crate::lookup_upc(u)).collect()
    };
    match job {
        Job::Deliver {
            upcs: list,
            to,
            priority,
        } => {
            let r = crate::delivery::DeliverRequest {
                upcs: upcs(list)?,
                to: to.clone(),
                priority: *priority,
                wait: None,
                schemas: None,
                holder: Some(format!("job:{id}")),
            };
            delivered(&crate::delivery::deliver(app, r, ev).await?, "deliver")
        }
        Job::Takedown { upc, from, purge } => {
            let r = crate::delivery::TakedownRequest {
                upc: Some(crate::lookup_upc(upc)?),
                from: from.clone(),
                purge: *purge,
                wait: None,
                schemas: None,
                holder: Some(format!("job:{id}")),
            };
            delivered(&crate::delivery::takedown(app, r, ev).await?, "takedown")
        }
        Job::FetchReports { dsp } => {
            let profile = app.profile(dsp)?;
            let f = crate::fetch::fetch_reports(app, profile, None, &*ev).await?;
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
        Job::Purge { days } => {
            let (n, bytes) = purge(app, *days)?;
            tracing::info!(files = n, bytes, days, "staged files purged");
            Ok(())
        }
        Job::RefreshAcks => {
            let r = crate::delivery::DeliveriesRequest {
                refresh: true,
                all: false,
                summary: false,
            };
            let lines = crate::delivery::deliveries(app, r, ev).await?;
            tracing::info!(
                deliveries = lines.len(),
                overdue = lines.iter().filter(|l| l.ack_overdue).count(),
                "acknowledgements read"
            );
            Ok(())
        }
        Job::ImportReports {
            folder,
            period,
            dsp,
            format,
        } => {
            let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
                .map_err(|e| err!("{}: {e}", folder.display()))?
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
            let r = crate::royalty::ImportRequest {
                reports: files,
                period: period.clone(),
                dsp: dsp.clone(),
                format: format.clone(),
                accept_mismatch: false,
                supersedes: None,
                progress: false,
            };
            let (done, mut failures) = crate::royalty::import_reports(app, &r, &*ev).await?;
            for s in &done {
                tracing::info!(
                    report = ?s.report_id,
                    files = %s.files.join(" + "),
                    outcome = %s.outcome,
                    usage_lines = s.usage_lines,
                    matched_lines = s.matched_lines,
                    "sales report imported"
                );
                if s.outcome == "refused" {
                    failures.push(format!(
                        "{}: refused: {}",
                        s.files.join(" + "),
                        s.refusals.join("; ")
                    ));
                }
            }
            if failures.is_empty() {
                Ok(())
            } else {
                bail!("{}", failures.join("; "))
            }
        }
        Job::Statements { period, out } => {
            let out = out
                .clone()
                .unwrap_or_else(|| PathBuf::from("statements").join(period));
            // The scheduler's period-end job follows the operator's rules: a month is closed
            // once it is over, never early; a month closed by hand already is left as it is.
            let today = royalties::Period::parse(&crate::royalty::this_month(app.clock()))
                .map_err(Error::Refused)?;
            match crate::ledger::close_period(app.config(), app.catalog(), period, today, false)
                .await?
            {
                Ok(()) | Err(royalties::period::CloseRefusal::AlreadyClosed { .. }) => {}
                Err(refusal) => bail!("{refusal}"),
            }
            let r = crate::ledger::run_payouts(app, period, &out).await?;
            if r.mail_errors > 0 {
                bail!(
                    "{} statement e-mails not sent: {}",
                    r.mail_errors,
                    r.mail.join("; ")
                );
            }
            Ok(())
        }
        Job::LedgerCheck => {
            let r = crate::ledger::check_all(app.catalog()).await?;
            if r.violations.is_empty() {
                Ok(())
            } else {
                bail!("ledger check: {}", r.violations.join("; "))
            }
        }
    }
}

/// Removes staged files nobody needs any more: downloaded sales reports older than `days`
/// (their content is in the file store once imported, and the fetch record keeps them from
/// being downloaded again) and writes to the file store interrupted over a day ago.
pub fn purge(app: &App, days: u64) -> Result<(usize, u64)> {
    let cfg = app.config();
    let now = std::time::SystemTime::from(app.clock().now());
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
async fn facts(app: &App) -> Result<schedule::Facts> {
    let (cfg, catalog) = (app.config(), app.catalog());
    let profiles = app.profiles()?;
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
        now: app.clock().now(),
        busy,
        dsps,
        releases,
        latest,
        reached,
        report_periods,
        statements_dir: cfg.files.join("statements").display().to_string(),
    };
    let only_deliveries = schedule::Schedule {
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
        .filter_map(|d| match d.job {
            Job::Deliver { upcs, .. } => upcs.into_iter().next(),
            _ => None,
        })
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
pub async fn tick(app: &App) -> Result<Vec<i64>> {
    let f = facts(app).await?;
    let mut new = Vec::new();
    for d in schedule::due(&app.config().schedule, &f) {
        let j = store::NewJob {
            kind: d.kind.to_owned(),
            payload: d.payload(),
            scope: d.scope,
            slot: d.slot,
            priority: d.priority,
            run_after: f.now,
            max_attempts: MAX_ATTEMPTS,
        };
        if let Some(id) = app.catalog().enqueue(&j).await? {
            tracing::info!(job = id, kind = %j.kind, scope = %j.scope, slot = %j.slot, priority = j.priority, "job scheduled");
            new.push(id);
        }
    }
    Ok(new)
}

/// Tells the operators that a job ran out of attempts.
async fn alert_dead(app: &App, j: &store::Job, error: &str) {
    let Some(to) = &app.config().summary_to else {
        return;
    };
    let n = notify::operator_alert(
        to,
        &format!("job {} ({} {}) is dead", j.id, j.kind, j.scope),
        &format!("It failed {} times. The last error:\n{error}", j.attempts),
        &format!("fix the cause, then `liner jobs retry {}`.", j.id),
    );
    if let Err(e) = app.notifier().send(n).await {
        tracing::warn!(job = j.id, error = %e, "the dead-job e-mail was not sent");
    }
}

/// How a worker's runners and scheduler run.
#[derive(Debug, Clone)]
pub struct RunnerSettings {
    /// This worker's name in leases and logs.
    pub name: String,
    pub runners: usize,
    /// Lease length; a job whose worker stops renewing it is taken over after it.
    pub lease: Duration,
    /// How often an idle runner looks for work.
    pub poll: StdDuration,
    /// Return once no job is due and none is in hand anywhere.
    pub drain: bool,
    /// How often the scheduler ticks; None: no scheduler.
    pub tick: Option<StdDuration>,
}

/// Runs job runners (and the scheduler) until `stop` is set, or, draining, until nothing
/// is due; how many jobs this process completed.
pub async fn run_workers(app: &App, s: RunnerSettings, stop: Arc<AtomicBool>) -> u64 {
    tracing::info!(worker = %s.name, runners = s.runners, "worker started");
    let lease = s.lease.max(Duration::seconds(2));
    if let Some(every) = s.tick {
        // The first tick before any runner starts: a draining worker sees what is due.
        if let Err(e) = tick(app).await {
            tracing::warn!(error = %e.chain(), "scheduling failed");
        }
        let (app, stop) = (app.clone(), Arc::clone(&stop));
        let every = every.max(StdDuration::from_millis(50));
        tokio::spawn(async move {
            let mut last = std::time::Instant::now();
            while !stop.load(Ordering::SeqCst) {
                tokio::time::sleep(StdDuration::from_millis(50).min(every)).await;
                if last.elapsed() < every {
                    continue;
                }
                last = std::time::Instant::now();
                if let Err(e) = tick(&app).await {
                    tracing::warn!(error = %e.chain(), "scheduling failed");
                }
            }
        });
    }
    let mut handles = Vec::new();
    for r in 0..s.runners.max(1) {
        let (app, stop) = (app.clone(), Arc::clone(&stop));
        let me = format!("{}/{r}", s.name);
        let (poll, drain) = (s.poll.max(StdDuration::from_millis(10)), s.drain);
        handles.push(tokio::spawn(async move {
            let mut done = 0u64;
            while !stop.load(Ordering::SeqCst) {
                if run_one(&app, &me, lease).await {
                    done += 1;
                    continue;
                }
                // Draining: done when nothing is due and no other worker holds a job (a
                // job whose worker died comes back when its lease runs out).
                if drain
                    && app
                        .catalog()
                        .jobs_in_hand(app.clock().now())
                        .await
                        .unwrap_or(1)
                        == 0
                {
                    break;
                }
                tokio::time::sleep(poll).await;
            }
            done
        }));
    }
    let mut total = 0;
    for h in handles {
        total += h.await.unwrap_or(0);
    }
    tracing::info!(worker = %s.name, jobs = total, "worker stopped");
    total
}

/// Claims one due job and runs it to its end; false when none was due (or claiming failed).
async fn run_one(app: &App, me: &str, lease: Duration) -> bool {
    let catalog = app.catalog();
    let j = match catalog.claim(me, lease, app.clock().now()).await {
        Ok(Some(j)) => j,
        Ok(None) => return false,
        Err(e) => {
            tracing::warn!(error = %e, "claiming failed");
            return false;
        }
    };
    let job = match Job::from_row(&j.kind, &j.payload) {
        Ok(job) => job,
        Err(unknown) => {
            // Written by another version or by hand: parked for an operator, never run.
            let error = unknown.to_string();
            let buried = catalog.bury(j.id, me, &error, app.clock().now()).await;
            tracing::warn!(job = j.id, kind = %j.kind, scope = %j.scope, error = %error, buried = ?buried.ok(), "job dead: unknown payload");
            return true;
        }
    };
    let (upc, dsp) = job.searchable();
    tracing::info!(job = j.id, kind = %j.kind, scope = %j.scope, slot = %j.slot, upc = %upc, dsp = %dsp, attempt = j.attempts, runner = %me, "job started");
    // Keep the lease while the job runs.
    let beat = {
        let (app, me, id) = (app.clone(), me.to_owned(), j.id);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep((lease / 3).to_std().unwrap_or(StdDuration::from_secs(10)))
                    .await;
                let until = app.clock().now() + lease;
                if !app
                    .catalog()
                    .heartbeat(id, &me, until)
                    .await
                    .unwrap_or(false)
                {
                    tracing::warn!(job = id, "lease lost");
                    break;
                }
            }
        })
    };
    let result = execute(app, j.id, &job, Arc::new(crate::Logged)).await;
    beat.abort();
    match result {
        Ok(()) => {
            let held = catalog.complete(j.id, me).await.unwrap_or(false);
            tracing::info!(job = j.id, kind = %j.kind, scope = %j.scope, upc = %upc, dsp = %dsp, held, "job done");
        }
        Err(e) => {
            let error = e.chain();
            let f = catalog.fail(j.id, me, &error, app.clock().now()).await;
            let outcome = match &f {
                Ok(store::Failed::Retry(at)) => format!("retry at {at}"),
                Ok(store::Failed::Dead) => "dead: out of attempts".to_owned(),
                Ok(store::Failed::LostLease) => "lease lost: another worker has it".to_owned(),
                Err(e) => format!("not recorded: {e}"),
            };
            tracing::warn!(job = j.id, kind = %j.kind, scope = %j.scope, upc = %upc, dsp = %dsp, error = %error, outcome = %outcome, "job failed");
            if matches!(f, Ok(store::Failed::Dead)) {
                alert_dead(app, &j, &error).await;
            }
        }
    }
    true
}

/// The queue: jobs not done (or every job).
pub async fn list(app: &App, all: bool) -> Result<Vec<store::Job>> {
    Ok(app.catalog().jobs(all).await?)
}

/// Queues a failed or dead job again.
pub async fn retry(app: &App, id: i64) -> Result<()> {
    if app.catalog().retry_job(id).await? {
        return Ok(());
    }
    match app.catalog().job(id).await? {
        None => Err(Error::NotFound(format!("no job {id}"))),
        Some(j) => Err(Error::Refused(format!(
            "job {id} is {}: only failed or dead jobs are retried",
            j.status
        ))),
    }
}
