//! `liner worker` and `liner jobs add`: arguments and signals over `app::jobs` (the runners,
//! the scheduler and what each kind of job does). Logs are JSON lines on stderr with the
//! job id, kind, scope and slot; nothing is printed.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration as StdDuration;

use anyhow::{Result, anyhow, bail};
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

pub(crate) async fn add(cfg: &Config, a: AddJobArgs) -> Result<ExitCode> {
    let kinds = schedule::Job::KINDS;
    if !kinds.contains(&a.kind.as_str()) {
        bail!(
            "unknown job kind {:?}: expected one of {}",
            a.kind,
            kinds.join(", ")
        );
    }
    let payload: serde_json::Value =
        serde_json::from_str(&a.payload).map_err(|e| anyhow!("--payload is not JSON: {e}"))?;
    let job = schedule::Job::from_row(&a.kind, &payload)
        .map_err(|e| anyhow!("--payload for a {} job: {}", a.kind, e.why))?;
    let app = app::App::open(cfg.clone()).await?;
    let id = app::jobs::enqueue(
        &app,
        app::jobs::Enqueue {
            job,
            scope: a.scope,
            slot: a.slot,
            priority: a.priority,
            max_attempts: a.max_attempts,
        },
    )
    .await?;
    match id {
        Some(id) => println!("job {id} queued"),
        None => println!("already queued (same kind, scope and slot)"),
    }
    app.close().await;
    Ok(ExitCode::SUCCESS)
}

pub(crate) async fn worker(cfg: &Config, a: WorkerArgs) -> Result<ExitCode> {
    let app = app::App::open(cfg.clone()).await?;
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
    let settings = app::jobs::RunnerSettings {
        name,
        runners: a.runners,
        lease: chrono::Duration::seconds(a.lease),
        poll: StdDuration::from_millis(a.poll_ms),
        drain: a.drain,
        tick: (!a.no_schedule).then(|| {
            StdDuration::from_millis(
                a.tick_ms
                    .unwrap_or(cfg.schedule.tick_seconds.saturating_mul(1000)),
            )
        }),
    };
    app::jobs::run_workers(&app, settings, stop).await;
    app.close().await;
    Ok(ExitCode::SUCCESS)
}
