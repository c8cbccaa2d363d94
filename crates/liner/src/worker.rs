//! `liner worker`: a scheduler and N job runners over the store's job queue, and
//! `liner jobs add` to queue work by hand.
//!
//! Each runner claims a due job with a lease, keeps the lease alive while the job runs, and
//! completes it or records the failure (backoff, then dead). On SIGTERM or Ctrl-C the
//! runners stop claiming, finish the job in hand and exit. Jobs are at-least-once; each kind
//! runs an operation that is idempotent already (deliveries resume, imports are keyed by
//! content, statements and payouts are keyed per period).
//!
//! Logs are JSON lines on stderr with the job id, kind and scope.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration as StdDuration;

use anyhow::{Result, anyhow, bail};
use chrono::{Duration, Utc};
use store::{Job, NewJob, OpenMode, Store};

use crate::config::Config;

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
    /// This worker's name in leases and logs (default: host and process id).
    #[arg(long)]
    pub(crate) name: Option<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct AddJobArgs {
    /// deliver | refresh-acks | import-reports | statements | ledger-check
    pub(crate) kind: String,
    /// What the job is about; with the slot, its identity (a second add is a no-op).
    #[arg(long, default_value = "")]
    pub(crate) scope: String,
    #[arg(long, default_value = "")]
    pub(crate) slot: String,
    /// The job's parameters as JSON, e.g. '{"upcs":["196543210010"],"to":["spotify"]}'.
    #[arg(long, default_value = "{}")]
    pub(crate) payload: String,
    #[arg(long, default_value_t = 0)]
    pub(crate) priority: i64,
    #[arg(long, default_value_t = 5)]
    pub(crate) max_attempts: i64,
}

const KINDS: [&str; 5] = [
    "deliver",
    "refresh-acks",
    "import-reports",
    "statements",
    "ledger-check",
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
            priority: a.priority,
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

fn ok(code: ExitCode, what: &str) -> Result<()> {
    if code == ExitCode::SUCCESS {
        Ok(())
    } else {
        bail!("{what} ended with {code:?}")
    }
}

/// Runs one job to its end.
async fn execute(cfg: &Config, catalog: &Store, j: &Job) -> Result<()> {
    let p = &j.payload;
    match j.kind.as_str() {
        "deliver" => {
            let args = crate::deliver::DeliverArgs {
                upcs: str_list(p, "upcs"),
                to: str_list(p, "to"),
                priority: p["priority"].as_bool().unwrap_or(false),
                wait: false,
                timeout: 600,
                schemas: None,
                json: false,
            };
            if args.upcs.is_empty() || args.to.is_empty() {
                bail!("payload needs \"upcs\" and \"to\"");
            }
            ok(crate::deliver::deliver(cfg, args).await?, "deliver")
        }
        "refresh-acks" => {
            let args = crate::deliver::DeliveriesArgs {
                json: false,
                refresh: true,
                all: false,
                summary: false,
            };
            ok(crate::deliver::deliveries(cfg, args).await?, "refresh")
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
            let args = crate::royalty_cmd::ImportArgs {
                reports: files,
                period: p["period"].as_str().map(str::to_owned),
                dsp: p["dsp"].as_str().map(str::to_owned),
                format: p["format"].as_str().map(str::to_owned),
                accept_mismatch: false,
                supersedes: None,
                json: false,
            };
            ok(
                crate::royalty_cmd::reports(cfg, crate::royalty_cmd::ReportsCommand::Import(args))
                    .await?,
                "import",
            )
        }
        "statements" => {
            let period = need_str(p, "period")?;
            let out = p["out"]
                .as_str()
                .map_or_else(|| PathBuf::from("statements").join(&period), PathBuf::from);
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

/// The scheduled jobs of this moment, each keyed by its slot: enqueuing them again in the
/// same slot adds nothing, and a scheduler that was down enqueues the current slot once.
async fn schedule(catalog: &Store) -> Result<()> {
    let now = Utc::now();
    for (kind, slot) in [
        ("refresh-acks", now.format("%Y-%m-%dT%H").to_string()),
        ("ledger-check", now.format("%Y-%m-%d").to_string()),
    ] {
        catalog
            .enqueue(&NewJob {
                kind: kind.into(),
                scope: "all".into(),
                slot,
                payload: serde_json::json!({}),
                priority: 0,
                run_after: now,
                max_attempts: 3,
            })
            .await?;
    }
    Ok(())
}

pub(crate) async fn worker(cfg: &Config, a: WorkerArgs) -> Result<ExitCode> {
    let catalog = Store::open(&cfg.database, OpenMode::Existing).await?;
    let name = a.name.clone().unwrap_or_else(|| {
        let host = std::fs::read_to_string("/etc/hostname").unwrap_or_else(|_| "host".into());
        format!("{}-{}", host.trim(), std::process::id())
    });
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
    let lease = Duration::seconds(a.lease.max(5));
    let mut handles = Vec::new();
    for r in 0..a.runners.max(1) {
        let (catalog, cfg, stop) = (catalog.clone(), cfg.clone(), stop.clone());
        let me = format!("{name}/{r}");
        let (poll, drain, scheduler) = (
            StdDuration::from_millis(a.poll_ms.max(10)),
            a.drain,
            r == 0 && !a.no_schedule,
        );
        handles.push(tokio::spawn(async move {
            let mut done = 0u64;
            while !stop.load(Ordering::SeqCst) {
                if scheduler && let Err(e) = schedule(&catalog).await {
                    tracing::warn!(error = %e, "scheduling failed");
                }
                let job = match catalog.claim(&me, lease, Utc::now()).await {
                    Ok(j) => j,
                    Err(e) => {
                        tracing::warn!(error = %e, "claiming failed");
                        tokio::time::sleep(poll).await;
                        continue;
                    }
                };
                let Some(j) = job else {
                    if drain {
                        break;
                    }
                    tokio::time::sleep(poll).await;
                    continue;
                };
                tracing::info!(job = j.id, kind = %j.kind, scope = %j.scope, attempt = j.attempts, runner = %me, "job started");
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
                let result = execute(&cfg, &catalog, &j).await;
                beat.abort();
                match result {
                    Ok(()) => {
                        done += 1;
                        let held = catalog.complete(j.id, &me).await.unwrap_or(false);
                        tracing::info!(job = j.id, kind = %j.kind, scope = %j.scope, held, "job done");
                    }
                    Err(e) => {
                        let f = catalog.fail(j.id, &me, &format!("{e:#}"), Utc::now()).await;
                        tracing::warn!(job = j.id, kind = %j.kind, scope = %j.scope, error = %format!("{e:#}"), outcome = ?f, "job failed");
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
    eprintln!("worker {name}: {total} jobs done");
    Ok(ExitCode::SUCCESS)
}
