//! `liner deliver`, `liner takedown` and `liner deliveries`: the imperative shell of
//! delivery. The decisions are made by pure code elsewhere (`ern::lifecycle` says new,
//! update, takedown or purge; `choreography` names the package and reads acknowledgements;
//! `transport::decide` says whether to retry); this module moves bytes and records state.
//!
//! Crash safety: a delivery is queued with its file list and package time in one
//! transaction before anything is sent; each file is marked once it is in place; status
//! moves are compare-and-set. Run again after a kill, `liner deliver` finds the delivery
//! unfinished and goes on: files already in place are skipped, a half-sent one resumes from
//! what the DSP holds, the same folder and message id are used, so the DSP sees one message.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use choreography::{DeliveryStatus, DeliveryType, Party, ReleasePart};
use chrono::{DateTime, SecondsFormat, Utc};
use filestore::FileStore;
use model::Icpn;
use profiles::{DspProfile, HostKey, SftpAuth, SftpEndpoint, Transport};
use store::{DeliveryRow, NewAck, NewDelivery, OpenMode, Store};

use crate::config::Config;
use crate::ern_cmd;

#[derive(Debug, clap::Args)]
pub(crate) struct DeliverArgs {
    /// UPCs of releases in the catalog.
    #[arg(required = true)]
    pub(crate) upcs: Vec<String>,
    /// DSP profiles, comma-separated.
    #[arg(long, value_delimiter = ',', required = true, value_name = "DSP,…")]
    pub(crate) to: Vec<String>,
    /// Deliver inside the profile's lead time (refused otherwise), in the priority lane.
    #[arg(long)]
    pub(crate) priority: bool,
    /// Wait for the DSPs' acknowledgements.
    #[arg(long)]
    pub(crate) wait: bool,
    /// How long --wait waits, in seconds.
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    pub(crate) timeout: u64,
    /// DDEX XSD folder (else LINER_DDEX_SCHEMAS, else ../shared/ddex/xsd).
    #[arg(long, value_name = "DIR")]
    pub(crate) schemas: Option<PathBuf>,
    /// Print the deliveries as JSON at the end.
    #[arg(long)]
    pub(crate) json: bool,
    /// Who holds the delivery locks: the job, when a worker runs it.
    #[arg(skip)]
    pub(crate) holder: Option<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct TakedownArgs {
    /// The release's UPC.
    pub(crate) upc: String,
    /// DSP profiles, comma-separated.
    #[arg(long, value_delimiter = ',', required = true, value_name = "DSP,…")]
    pub(crate) from: Vec<String>,
    /// A PurgeReleaseMessage instead of end-dated deals (only where the profile allows).
    #[arg(long)]
    pub(crate) purge: bool,
    /// Wait for the DSPs' acknowledgements before returning.
    #[arg(long)]
    pub(crate) wait: bool,
    /// Seconds to wait for acknowledgements with --wait.
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    pub(crate) timeout: u64,
    /// The DDEX XSD folder (else LINER_DDEX_SCHEMAS, else ../shared/ddex/xsd beside a checkout).
    #[arg(long, value_name = "DIR")]
    pub(crate) schemas: Option<PathBuf>,
    #[arg(skip)]
    pub(crate) holder: Option<String>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct DeliveriesArgs {
    /// Print JSON on stdout (exact amounts as strings) instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
    /// Read acknowledgements again and check deadlines first.
    #[arg(long)]
    pub(crate) refresh: bool,
    /// Every delivery, not only the latest per release and DSP.
    #[arg(long)]
    pub(crate) all: bool,
    /// E-mail the daily summary to `[mail] summary_to`.
    #[arg(long)]
    pub(crate) summary: bool,
}

/// What a run needs, shared by the per-DSP tasks.
struct Ctx {
    cfg: Config,
    catalog: Store,
    files: FileStore,
    schemas: Option<PathBuf>,
    /// Who this run is, for the per-release-and-DSP delivery locks.
    holder: String,
    /// Bytes uploaded this run, on stderr (hidden with --quiet, off a terminal, in a worker).
    bytes: indicatif::ProgressBar,
}

/// How to reach one DSP, credentials resolved.
#[derive(Clone)]
pub(crate) enum Link {
    Sftp {
        target: Box<transport_sftp::Target>,
        endpoint: Box<SftpEndpoint>,
    },
    Http(transport_http::Client),
}

pub(crate) fn link(p: &DspProfile) -> Result<Link> {
    let d = p
        .delivery
        .as_ref()
        .ok_or_else(|| anyhow!("profile {} has no [delivery] section", p.name))?;
    let env = |name: &str, what: &str| {
        std::env::var(name).map_err(|_| {
            anyhow!(
                "{}: the {what} is read from ${name}, which is not set",
                p.name
            )
        })
    };
    Ok(match &d.transport {
        Transport::Sftp(e) => {
            let auth = match &e.auth {
                SftpAuth::KeyFile {
                    path,
                    passphrase_env,
                } => transport_sftp::Auth::KeyFile {
                    path: path.clone(),
                    passphrase: passphrase_env
                        .as_deref()
                        .map(|v| env(v, "key passphrase"))
                        .transpose()?,
                },
                SftpAuth::PasswordEnv(v) => transport_sftp::Auth::Password(env(v, "password")?),
            };
            let host_key = match &e.host_key {
                HostKey::KnownHosts(f) => transport_sftp::HostKeyCheck::KnownHosts(f.clone()),
                HostKey::Fingerprint(f) => transport_sftp::HostKeyCheck::Fingerprint(f.clone()),
            };
            Link::Sftp {
                target: Box::new(transport_sftp::Target {
                    host: e.host.clone(),
                    port: e.port,
                    user: e.user.clone(),
                    auth,
                    host_key,
                    timeout: Duration::from_secs(30),
                }),
                endpoint: Box::new(e.clone()),
            }
        }
        Transport::Http(h) => {
            let token = match (&h.token_env, &h.token_file) {
                (Some(v), _) if std::env::var(v).is_ok() => std::env::var(v).ok(),
                (_, Some(f)) => Some(
                    std::fs::read_to_string(f)
                        .with_context(|| {
                            format!("{}: reading the token file {}", p.name, f.display())
                        })?
                        .trim()
                        .to_owned(),
                ),
                (Some(v), None) => Some(env(v, "API token")?),
                (None, None) => None,
            };
            Link::Http(
                transport_http::Client::new(&h.base_url, token, Duration::from_secs(30))
                    .map_err(|e| anyhow!("{e}"))?,
            )
        }
    })
}

/// Whether a release date is within the profile's lead time: an error under `refuse_days`
/// (unless priority), a warning under `warn_days`; back catalogue has none.
pub(crate) fn lead_time(
    release_date: chrono::NaiveDate,
    today: chrono::NaiveDate,
    lt: &profiles::LeadTime,
    priority: bool,
) -> Result<Option<String>, String> {
    if release_date <= today {
        return Ok(None);
    }
    let days = (release_date - today).num_days();
    if days < i64::from(lt.refuse_days) && !priority {
        return Err(format!(
            "the release date {release_date} is {days} day(s) away, under the DSP's {} days' lead time: \
             deliver with --priority to send it anyway",
            lt.refuse_days
        ));
    }
    if days < i64::from(lt.warn_days) {
        return Ok(Some(format!(
            "the release date {release_date} is {days} day(s) away (the DSP asks for {} days)",
            lt.warn_days
        )));
    }
    Ok(None)
}

async fn current_release(ctx: &Ctx, upc: &Icpn) -> Result<model::Release> {
    Ok(crate::qc::from_catalog(&ctx.catalog, &ctx.files, upc, None)
        .await?
        .release)
}

/// A package folder's time, to the millisecond, never the same twice in this process: the
/// batch id is that time, and two deliveries sharing one folder would share one manifest
/// name (the second would replace the first; a DSP may have taken the batch by then).
fn stamp() -> String {
    use std::sync::atomic::{AtomicI64, Ordering};
    static LAST: AtomicI64 = AtomicI64::new(0);
    let now = Utc::now().timestamp_millis();
    let mut last = LAST.load(Ordering::Relaxed);
    let ms = loop {
        let next = now.max(last + 1);
        match LAST.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => break next,
            Err(seen) => last = seen,
        }
    };
    DateTime::from_timestamp_millis(ms)
        .unwrap_or_else(Utc::now)
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

async fn open_ctx(cfg: &Config, schemas: Option<&Path>) -> Result<Ctx> {
    Ok(Ctx {
        cfg: cfg.clone(),
        catalog: Store::open(&cfg.database, OpenMode::Existing).await?,
        files: FileStore::open(&cfg.files)?,
        schemas: ern_cmd::schemas_dir(schemas),
        holder: format!("cli:{}:{}", crate::host_name(), std::process::id()),
        bytes: indicatif::ProgressBar::hidden(),
    })
}

/// A bytes bar for an operator at a terminal.
fn bytes_bar() -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if crate::quiet() || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let b = indicatif::ProgressBar::new(0);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "uploading {bytes}/{total_bytes} at {bytes_per_sec}, {elapsed}",
    ) {
        b.set_style(style);
    }
    b
}

/// How long a delivery lock lasts unless renewed; renewed every third of it while the
/// delivery runs. A process that dies holds it at most this long (a job keeps it: the
/// job is the holder, whichever worker resumes it).
const DELIVERY_LOCK: Duration = Duration::from_secs(90);

fn pick<'a>(profiles: &'a [DspProfile], names: &[String]) -> Result<Vec<&'a DspProfile>> {
    names
        .iter()
        .map(|n| {
            profiles
                .iter()
                .find(|p| &p.name == n)
                .ok_or_else(|| anyhow!("no DSP profile {n:?}"))
                .and_then(|p| {
                    p.delivery
                        .as_ref()
                        .map(|_| p)
                        .ok_or_else(|| anyhow!("profile {n} has no [delivery] section"))
                })
        })
        .collect()
}

pub(crate) async fn deliver(cfg: &Config, a: DeliverArgs) -> Result<ExitCode> {
    let upcs: Vec<Icpn> = a
        .upcs
        .iter()
        .map(|u| crate::lookup_upc(u))
        .collect::<Result<_>>()?;
    let mut ctx = open_ctx(cfg, a.schemas.as_deref()).await?;
    if let Some(h) = &a.holder {
        ctx.holder = h.clone();
    }
    ctx.bytes = bytes_bar();
    let ctx = Arc::new(ctx);
    let profiles = ern_cmd::load_profiles(cfg)?;
    let targets: Vec<DspProfile> = pick(&profiles, &a.to)?.into_iter().cloned().collect();
    let mut problems = 0usize;
    let mut not_cleared = 0usize;
    let mut ids = Vec::new();
    // Each DSP in its own task; inside one, up to its concurrency at a time.
    let mut tasks = tokio::task::JoinSet::new();
    for p in targets {
        let ctx = Arc::clone(&ctx);
        let upcs = upcs.clone();
        let priority = a.priority;
        tasks.spawn(async move {
            let sem = Arc::new(tokio::sync::Semaphore::new(
                p.delivery.as_ref().map_or(1, |d| d.concurrency as usize),
            ));
            let mut inner = tokio::task::JoinSet::new();
            for upc in upcs {
                let (ctx, p, sem) = (Arc::clone(&ctx), p.clone(), Arc::clone(&sem));
                inner.spawn(async move {
                    let _permit = sem.acquire_owned().await;
                    let r = send(&ctx, &upc, &p, ern::lifecycle::Request::Deliver, priority).await;
                    (upc, p.name.clone(), r)
                });
            }
            let mut out = Vec::new();
            while let Some(r) = inner.join_next().await {
                if let Ok(r) = r {
                    out.push(r);
                }
            }
            out
        });
    }
    while let Some(r) = tasks.join_next().await {
        for (upc, dsp, r) in r.unwrap_or_default() {
            match r {
                Ok(Some(id)) => ids.push(id),
                Ok(None) => {}
                Err(e) if e.is::<crate::qc::NotCleared>() => {
                    not_cleared += 1;
                    eprintln!("refused: {e}");
                }
                Err(e) => {
                    problems += 1;
                    eprintln!("error: {upc} to {dsp}: {e:#}");
                }
            }
        }
    }
    if a.wait && !ids.is_empty() {
        problems += wait(&ctx, &profiles, &ids, Duration::from_secs(a.timeout)).await?;
    }
    if a.json {
        let rows = ctx.catalog.deliveries().await?;
        let rows: Vec<&DeliveryRow> = rows.iter().filter(|r| ids.contains(&r.id)).collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
    }
    ctx.catalog.close().await;
    // A failure is a failure (exit 1); only QC refusals: exit 3, as `liner qc` does.
    Ok(if problems > 0 {
        ExitCode::FAILURE
    } else if not_cleared > 0 {
        ExitCode::from(crate::qc::EXIT_BLOCKED)
    } else {
        ExitCode::SUCCESS
    })
}

pub(crate) async fn takedown(cfg: &Config, a: TakedownArgs) -> Result<ExitCode> {
    let upc = crate::lookup_upc(&a.upc)?;
    let mut ctx = open_ctx(cfg, a.schemas.as_deref()).await?;
    if let Some(h) = &a.holder {
        ctx.holder = h.clone();
    }
    let ctx = Arc::new(ctx);
    let profiles = ern_cmd::load_profiles(cfg)?;
    let mut ids = Vec::new();
    let mut problems = 0;
    for p in pick(&profiles, &a.from)? {
        let request = ern_cmd::request_for(!a.purge, a.purge, &p.lifecycle);
        // Takedowns go in the priority lane (their own P_ delivery, never inside a batch).
        match send(&ctx, &upc, p, request, true).await {
            Ok(Some(id)) => ids.push(id),
            Ok(None) => {}
            Err(e) => {
                problems += 1;
                eprintln!("error: {upc} from {}: {e:#}", p.name);
            }
        }
    }
    if a.wait && !ids.is_empty() {
        problems += wait(&ctx, &profiles, &ids, Duration::from_secs(a.timeout)).await?;
    }
    ctx.catalog.close().await;
    Ok(if problems == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Whether a lock holder is a `liner` process of this host that no longer runs (`cli:HOST:PID`
/// with no such process, or one that is not liner: the PID was reused).
fn dead_local_holder(holder: &str) -> bool {
    let Some(rest) = holder.strip_prefix("cli:") else {
        return false;
    };
    let Some((host, pid)) = rest.rsplit_once(':') else {
        return false;
    };
    if host != crate::host_name() {
        return false;
    }
    let Ok(pid) = pid.parse::<u32>() else {
        return false;
    };
    match std::fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(cmd) => !String::from_utf8_lossy(&cmd).contains("liner"),
        Err(_) => true,
    }
}

/// `send_locked` under the lock of this release and DSP: two runs (an operator's and a
/// worker's, two jobs) never deliver one release to one DSP at the same time.
async fn send(
    ctx: &Ctx,
    upc: &Icpn,
    p: &DspProfile,
    request: ern::lifecycle::Request,
    priority: bool,
) -> Result<Option<i64>> {
    let name = format!("deliver:{upc}/{}", p.name);
    let lease =
        chrono::Duration::from_std(DELIVERY_LOCK).unwrap_or_else(|_| chrono::Duration::minutes(5));
    if let Err(held) = ctx
        .catalog
        .take_lock(&name, &ctx.holder, Utc::now(), lease)
        .await?
    {
        // A run of this host that was killed: its lock is stale now, not in five minutes
        // (an interrupted delivery resumes at once, as it did before locks).
        let stale = dead_local_holder(&held.holder)
            && ctx
                .catalog
                .take_lock_from(&name, &held.holder, &ctx.holder, Utc::now() + lease)
                .await?;
        if !stale {
            bail!(
                "{upc} is being delivered to {} by {} (its lock runs until {}): nothing done; try again after it",
                p.name,
                held.holder,
                held.until
            );
        }
        note!(
            "{upc} → {}: taking over the lock of {} (that process is gone)",
            p.name,
            held.holder
        );
    }
    let beat = {
        let (catalog, name, holder) = (ctx.catalog.clone(), name.clone(), ctx.holder.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(DELIVERY_LOCK / 3).await;
                if !catalog
                    .renew_lock(&name, &holder, Utc::now() + lease)
                    .await
                    .unwrap_or(false)
                {
                    tracing::warn!(lock = %name, "delivery lock lost");
                    break;
                }
            }
        })
    };
    let r = send_locked(ctx, upc, p, request, priority).await;
    beat.abort();
    if let Err(e) = ctx.catalog.release_lock(&name, &ctx.holder).await {
        tracing::warn!(lock = %name, error = %e, "delivery lock not released (it runs out)");
    }
    r
}

/// Queues (or finds unfinished) and uploads one release's delivery to one DSP. Returns the
/// delivery id, or None when there is nothing to send.
async fn send_locked(
    ctx: &Ctx,
    upc: &Icpn,
    p: &DspProfile,
    request: ern::lifecycle::Request,
    priority: bool,
) -> Result<Option<i64>> {
    let latest = ctx.catalog.latest_delivery(upc.as_str(), &p.name).await?;
    let unfinished = latest.as_ref().filter(|d| {
        matches!(
            d.status,
            DeliveryStatus::Queued | DeliveryStatus::Uploading | DeliveryStatus::Failed
        )
    });
    let delivery = match unfinished {
        Some(d) => {
            note!(
                "{upc} → {}: resuming delivery {} ({}, {}, message {})",
                p.name,
                d.id,
                d.intent,
                d.status,
                d.message_id
            );
            d.clone()
        }
        None => {
            let takedown = !matches!(request, ern::lifecycle::Request::Deliver);
            if !takedown {
                let gate = ctx.catalog.gate(upc.as_str(), &p.name).await?;
                match gate {
                    Some(g) if g.deliverable() => {}
                    Some(g) => {
                        return Err(crate::qc::NotCleared {
                            upc: upc.to_string(),
                            dsp: p.name.clone(),
                            gate: g,
                        }
                        .into());
                    }
                    None => bail!("{upc} is not in the catalog"),
                }
            }
            if let Some(last) = &latest
                && !takedown
                && last.status == DeliveryStatus::Uploaded
            {
                note!(
                    "{upc} → {}: delivery {} is uploaded and waits for its acknowledgement",
                    p.name,
                    last.id
                );
                return Ok(Some(last.id));
            }
            // What reached the DSP decides new or update; a refused message did not.
            let delivered: Vec<String> = ctx
                .catalog
                .deliveries()
                .await?
                .into_iter()
                .filter(|r| {
                    r.upc == upc.as_str()
                        && r.dsp == p.name
                        && matches!(
                            r.status,
                            DeliveryStatus::Uploaded | DeliveryStatus::Acknowledged
                        )
                })
                .map(|r| r.message_id)
                .collect();
            let p2 = ern_cmd::prepare(
                &ctx.catalog,
                &ctx.files,
                upc,
                Some(p),
                request,
                ern_cmd::Options {
                    ern: None,
                    schemas: ctx.schemas.as_deref(),
                    delivered: Some(&delivered),
                    sender: &ctx.cfg.sender,
                },
            );
            let revision_now = ctx
                .catalog
                .gate(upc.as_str(), &p.name)
                .await?
                .map(|g| g.revision());
            if let Some(last) = &latest
                && !takedown
                && last.status == DeliveryStatus::Acknowledged
                && Some(last.revision) == revision_now
                && matches!(last.intent.as_str(), "new" | "update")
            {
                note!(
                    "{upc} → {}: revision {} is already live there (delivery {}, acknowledged); nothing to send",
                    p.name,
                    last.revision,
                    last.id
                );
                return Ok(None);
            }
            if !takedown {
                let release = current_release(ctx, upc).await?;
                match lead_time(
                    release.release_date,
                    Utc::now().date_naive(),
                    &p.lead_time,
                    priority,
                ) {
                    Ok(Some(w)) => eprintln!("warning: {upc} → {}: {w}", p.name),
                    Ok(None) => {}
                    Err(e) => bail!("{e}"),
                }
            }
            let prepared = match p2.await {
                Ok(x) => x,
                Err(e) => {
                    // The message or its files could not be made ready: the label hears of it.
                    let why = format!("{e:#}");
                    mail_about(
                        ctx,
                        (upc.as_str(), &p.name, "(not built)"),
                        None,
                        "failed",
                        &why,
                        |to, f| notify::failed(to, f, &why),
                    )
                    .await;
                    bail!("{why}; nothing is marked delivered");
                }
            };
            let mut files: Vec<(String, String, String, i64)> = prepared
                .resources
                .iter()
                .map(|(uri, h, md5, size)| (uri.clone(), h.to_string(), md5.clone(), *size as i64))
                .collect();
            files.push((
                format!("{upc}.xml"),
                "message".into(),
                hex::encode(md5::Md5::digest(prepared.xml.as_bytes())),
                prepared.xml.len() as i64,
            ));
            let row = ctx
                .catalog
                .queue_package(
                    &NewDelivery {
                        upc: upc.as_str(),
                        dsp: &p.name,
                        revision: prepared.revision,
                        message_id: &prepared.message_id,
                        intent: prepared.intent.as_str(),
                    },
                    &stamp(),
                    priority || takedown,
                    &files,
                )
                .await?;
            note!(
                "{upc} → {}: {} ({} ERN {}, {} file(s)), delivery {}",
                p.name,
                prepared.intent.as_str(),
                prepared.root,
                prepared.version,
                files.len(),
                row.id
            );
            row
        }
    };
    upload(ctx, p, &delivery).await?;
    Ok(Some(delivery.id))
}

use md5::Digest as _;

/// The package of a delivery: every file's path at the DSP (upload order) and, for a
/// batch, the manifest to put last.
struct Plan {
    /// (remote path, seq, source, md5, size, sent)
    files: Vec<(String, store::DeliveryFile)>,
    manifest: Option<(String, Vec<u8>)>,
    message: Vec<u8>,
}

async fn plan(ctx: &Ctx, p: &DspProfile, d: &DeliveryRow) -> Result<Plan> {
    let files = ctx.catalog.delivery_files(d.id).await?;
    let message = ctx
        .catalog
        .messages(&d.upc, &d.dsp)
        .await?
        .into_iter()
        .find(|m| m.message_id == d.message_id)
        .ok_or_else(|| {
            anyhow!(
                "delivery {}: message {} is not in the history",
                d.id,
                d.message_id
            )
        })?;
    let xml = ctx
        .catalog
        .message_xml(message.id)
        .await?
        .ok_or_else(|| anyhow!("message {} has no text", d.message_id))?;
    let at = d
        .package_at
        .as_deref()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .ok_or_else(|| anyhow!("delivery {} has no package time", d.id))?;
    let msg_file = files
        .iter()
        .find(|f| f.source == "message")
        .ok_or_else(|| anyhow!("delivery {} lists no message file", d.id))?;
    let part = ReleasePart {
        release_id: d.upc.clone(),
        message_id: d.message_id.clone(),
        message_md5: msg_file.md5.clone(),
        message_size: msg_file.size as u64,
        delivery: match (d.intent.as_str(), d.priority) {
            ("takedown" | "purge", _) => DeliveryType::TakeDown,
            ("update", _) => DeliveryType::ReDelivery,
            (_, true) => DeliveryType::HighPriorityDelivery,
            _ => DeliveryType::NewReleaseDelivery,
        },
        resources: files
            .iter()
            .filter(|f| f.source != "message")
            .map(|f| {
                (
                    f.uri.clone(),
                    f.source.clone(),
                    f.md5.clone(),
                    f.size as u64,
                )
            })
            .collect(),
    };
    let dsp = p
        .delivery
        .as_ref()
        .ok_or_else(|| anyhow!("no delivery section"))?;
    let (parsed, _) = ern::read(xml.as_bytes()).map_err(|e| anyhow!("stored message: {e}"))?;
    let package = match dsp.choreography {
        profiles::Choreography::Batch => choreography::batch_package(
            (
                &Party {
                    dpid: parsed.header.sender.party_id.clone(),
                    name: parsed.header.sender.name.clone(),
                },
                &Party {
                    dpid: p.party_id.as_str().to_owned(),
                    name: Some(p.display_name.clone()),
                },
                &d.created_at,
            ),
            &choreography::batch_id(at),
            d.priority,
            false,
            std::slice::from_ref(&part),
        )?,
        profiles::Choreography::ReleaseByRelease => {
            choreography::release_package(d.priority, at, &part)?
        }
    };
    // Package files come in upload order, resources then message; match them to ours.
    let mut out = Vec::new();
    for pf in &package.files {
        let f = files
            .iter()
            .find(|f| {
                if pf.source == "message" {
                    f.source == "message"
                } else {
                    f.source == pf.source && pf.remote.ends_with(&format!("/{}", f.uri))
                }
            })
            .ok_or_else(|| anyhow!("package file {} has no delivery file", pf.remote))?;
        out.push((pf.remote.clone(), f.clone()));
    }
    Ok(Plan {
        files: out,
        manifest: package.manifest,
        message: xml.into_bytes(),
    })
}

fn join(root: &str, rel: &str) -> String {
    format!("{}/{}", root.trim_end_matches('/'), rel)
}

/// Sends what is not yet in place, with the profile's retry policy; moves the delivery
/// to uploaded, or to failed with the reason (and an e-mail to the label).
async fn upload(ctx: &Ctx, p: &DspProfile, d: &DeliveryRow) -> Result<()> {
    let d = match d.status {
        DeliveryStatus::Uploading => {
            // A run was killed mid-upload: start it again from queued (files already in
            // place are skipped).
            ctx.catalog
                .move_delivery(
                    d.id,
                    DeliveryStatus::Uploading,
                    DeliveryStatus::Queued,
                    None,
                    None,
                )
                .await?;
            ctx.catalog
                .delivery(d.id)
                .await?
                .unwrap_or_else(|| d.clone())
        }
        DeliveryStatus::Failed => {
            ctx.catalog
                .move_delivery(
                    d.id,
                    DeliveryStatus::Failed,
                    DeliveryStatus::Queued,
                    None,
                    None,
                )
                .await?;
            ctx.catalog
                .delivery(d.id)
                .await?
                .unwrap_or_else(|| d.clone())
        }
        _ => d.clone(),
    };
    if d.status != DeliveryStatus::Queued {
        return Ok(());
    }
    if !ctx
        .catalog
        .move_delivery(
            d.id,
            DeliveryStatus::Queued,
            DeliveryStatus::Uploading,
            None,
            None,
        )
        .await?
    {
        bail!("delivery {} is being sent by another process", d.id);
    }
    let policy = p.delivery.as_ref().map(|x| x.retry).unwrap_or_default();
    let mut attempt = 0u32;
    let mut total = 0u64;
    let started = Instant::now();
    // What the server acknowledged of each file, across this run's attempts (see
    // transport_sftp::Connection::upload: a failed write can leave a hole below the size).
    let acked: Acked = Arc::new(std::sync::Mutex::new(BTreeMap::new()));
    loop {
        attempt += 1;
        let r = match link(p) {
            Ok(l) => attempt_upload(ctx, p, &d, &l, &acked).await,
            Err(e) => Err(Failure::Permanent(format!("{e:#}"))),
        };
        let outcome_text;
        let decision = match &r {
            Ok(sent) => {
                total += sent;
                transport::Decision::Done
            }
            Err(Failure::Permanent(why)) => transport::Decision::Fail(why.clone()),
            Err(Failure::Transient { why, http }) => {
                outcome_text = why.clone();
                let outcome = match http {
                    Some((code, ra)) => transport::Outcome::Status {
                        code: *code,
                        retry_after: ra.as_deref(),
                    },
                    None => transport::Outcome::Connection(&outcome_text),
                };
                match transport::decide(&policy, attempt, &outcome, jitter(), Utc::now()) {
                    transport::Decision::Fail(f) => {
                        transport::Decision::Fail(format!("{why}: {f}"))
                    }
                    other => other,
                }
            }
        };
        match decision {
            transport::Decision::Done => {
                ctx.catalog
                    .move_delivery(
                        d.id,
                        DeliveryStatus::Uploading,
                        DeliveryStatus::Uploaded,
                        Some(total as i64 + d.bytes),
                        None,
                    )
                    .await?;
                note!(
                    "{} → {}: uploaded (delivery {}, {} bytes this run, {:.1} s, {} attempt(s))",
                    d.upc,
                    p.name,
                    d.id,
                    total,
                    started.elapsed().as_secs_f64(),
                    attempt
                );
                return Ok(());
            }
            transport::Decision::Retry(wait) => {
                eprintln!(
                    "{} → {}: attempt {attempt} failed ({}); retrying in {:.1} s",
                    d.upc,
                    p.name,
                    match &r {
                        Err(Failure::Transient { why, .. }) => why.as_str(),
                        _ => "",
                    },
                    wait.as_secs_f64()
                );
                tokio::time::sleep(wait).await;
            }
            transport::Decision::Fail(why) => {
                ctx.catalog
                    .move_delivery(
                        d.id,
                        DeliveryStatus::Uploading,
                        DeliveryStatus::Failed,
                        Some(total as i64 + d.bytes),
                        Some(&why),
                    )
                    .await?;
                mail(ctx, &d, "failed", &why, |to, f| notify::failed(to, f, &why)).await;
                bail!(
                    "delivery {} FAILED, nothing is marked delivered: {why}",
                    d.id
                );
            }
        }
    }
}

fn jitter() -> f64 {
    // A fraction in [0, 1) from the clock's nanoseconds: enough to keep workers apart.
    f64::from(Utc::now().timestamp_subsec_nanos() % 1_000_000) / 1_000_000.0
}

enum Failure {
    Transient {
        why: String,
        http: Option<(u16, Option<String>)>,
    },
    Permanent(String),
}

/// One connection's worth of uploading: every file not yet in place, then (batch) the
/// manifest. Returns the bytes sent.
type Acked = Arc<std::sync::Mutex<BTreeMap<i64, u64>>>;

async fn attempt_upload(
    ctx: &Ctx,
    p: &DspProfile,
    d: &DeliveryRow,
    l: &Link,
    acked: &Acked,
) -> Result<u64, Failure> {
    let plan = plan(ctx, p, d)
        .await
        .map_err(|e| Failure::Permanent(format!("{e:#}")))?;
    // Every stored file must be there before anything goes out.
    let mut local = BTreeMap::new();
    for (_, f) in &plan.files {
        if f.source == "message" {
            continue;
        }
        let h = model::ContentHash::parse(&f.source)
            .map_err(|e| Failure::Permanent(format!("{}: {e}", f.source)))?;
        if !ctx.files.contains(&h) {
            return Err(Failure::Permanent(format!(
                "resource {} ({}) is missing from the file store {}: re-import the release's files",
                f.uri,
                f.source,
                ctx.files.root().display()
            )));
        }
        local.insert(f.seq, ctx.files.path_of(&h));
    }
    match l {
        Link::Sftp { target, endpoint } => {
            let target = target.clone();
            let root = endpoint.root.clone();
            let files = plan.files.clone();
            let acked = Arc::clone(acked);
            let manifest = plan.manifest.clone();
            let message = plan.message.clone();
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<i64>();
            let bar = ctx.bytes.clone();
            bar.inc_length(
                files
                    .iter()
                    .filter(|(_, f)| f.sent_at.is_none())
                    .map(|(_, f)| f.size as u64)
                    .sum(),
            );
            let job =
                tokio::task::spawn_blocking(move || -> Result<u64, transport_sftp::SftpError> {
                    let c = transport_sftp::Connection::open(&target)?;
                    let mut sent = 0;
                    for (remote, f) in &files {
                        if f.sent_at.is_some() {
                            continue;
                        }
                        let dest = join(&root, remote);
                        let s = if f.source == "message" {
                            c.upload_bytes(&message, &dest)?
                        } else {
                            let Some(path) = local.get(&f.seq) else {
                                continue;
                            };
                            let trusted = acked.lock().ok().and_then(|m| m.get(&f.seq).copied());
                            let mut shown = 0u64;
                            c.upload(
                                path,
                                &dest,
                                &transport_sftp::Expect::Sha256(f.source.clone()),
                                f.size as u64,
                                trusted,
                                &mut |at| {
                                    if let Ok(mut m) = acked.lock() {
                                        m.insert(f.seq, at);
                                    }
                                    bar.inc(at.saturating_sub(shown));
                                    shown = shown.max(at);
                                },
                            )?
                        };
                        sent += s.bytes;
                        let _ = tx.send(f.seq);
                    }
                    if let Some((name, bytes)) = &manifest {
                        // Last, and only once everything else is in place.
                        sent += c.upload_bytes(bytes, &join(&root, name))?.bytes;
                    }
                    c.close();
                    Ok(sent)
                });
            let r = job.await;
            // Record every file that made it, even when a later one failed.
            while let Ok(seq) = rx.try_recv() {
                let _ = ctx.catalog.mark_sent(d.id, seq).await;
            }
            match r {
                Ok(Ok(n)) => Ok(n),
                Ok(Err(e)) if e.is_transient() => Err(Failure::Transient {
                    why: e.to_string(),
                    http: None,
                }),
                Ok(Err(e)) => Err(Failure::Permanent(e.to_string())),
                Err(e) => Err(Failure::Permanent(format!("upload task: {e}"))),
            }
        }
        Link::Http(client) => {
            let key = &d.message_id;
            let mut sent = 0;
            let transient = |e: transport_http::HttpError| match e.outcome() {
                (Some(_), _) => Failure::Transient {
                    why: e.to_string(),
                    http: None,
                },
                (None, Some((code, ra))) if code >= 500 || code == 408 || code == 429 => {
                    Failure::Transient {
                        why: e.to_string(),
                        http: Some((code, ra.map(str::to_owned))),
                    }
                }
                _ => Failure::Permanent(e.to_string()),
            };
            for (_, f) in &plan.files {
                if f.sent_at.is_some() || f.source == "message" {
                    continue;
                }
                let Some(path) = local.get(&f.seq) else {
                    continue;
                };
                ctx.bytes.inc_length(f.size as u64);
                sent += client
                    .upload(key, &f.uri, path, &f.md5, f.size as u64)
                    .await
                    .map_err(transient)?;
                // HTTP reports per file: the bar moves when a file is in.
                ctx.bytes.inc(f.size as u64);
                let _ = ctx.catalog.mark_sent(d.id, f.seq).await;
            }
            let receipt = client.submit(key, &plan.message).await.map_err(transient)?;
            if let Some((_, f)) = plan.files.iter().find(|(_, f)| f.source == "message") {
                let _ = ctx.catalog.mark_sent(d.id, f.seq).await;
            }
            sent += plan.message.len() as u64;
            tracing::info!(
                receipt = receipt.receipt,
                status = receipt.status,
                "message accepted for processing"
            );
            Ok(sent)
        }
    }
}

/// Sends one e-mail about a delivery to the release's label, once per kind and detail.
async fn mail(
    ctx: &Ctx,
    d: &DeliveryRow,
    kind: &str,
    detail: &str,
    make: impl FnOnce(&str, &notify::DeliveryFacts<'_>) -> notify::Notice,
) {
    mail_about(
        ctx,
        (&d.upc, &d.dsp, &d.message_id),
        Some(d.id),
        kind,
        detail,
        make,
    )
    .await;
}

/// The same, also before a delivery exists (the message could not be built): then it is
/// not deduplicated.
async fn mail_about(
    ctx: &Ctx,
    (upc, dsp, message_id): (&str, &str, &str),
    delivery: Option<i64>,
    kind: &str,
    detail: &str,
    make: impl FnOnce(&str, &notify::DeliveryFacts<'_>) -> notify::Notice,
) {
    let release = match Icpn::parse_unverified(upc) {
        Ok((u, _)) => current_release(ctx, &u).await.ok(),
        Err(_) => None,
    };
    let (to, title) = match &release {
        Some(r) => (r.label.email.to_string(), r.title.clone()),
        None => return,
    };
    let key: String = detail.chars().take(200).collect();
    if let Some(id) = delivery
        && ctx
            .catalog
            .notice_sent(id, kind, &key)
            .await
            .unwrap_or(false)
    {
        return;
    }
    let facts = notify::DeliveryFacts {
        upc,
        title: &title,
        dsp,
        message_id,
    };
    let notice = make(&to, &facts);
    let mailer = ctx.cfg.mail.clone();
    match tokio::task::spawn_blocking(move || mailer.send(&notice)).await {
        Ok(Ok(how)) => {
            note!("  e-mail to {to}: {how}");
            if let Some(id) = delivery {
                let _ = ctx
                    .catalog
                    .record_notice(id, kind, &key, &to, &how.to_string())
                    .await;
            }
        }
        Ok(Err(e)) => eprintln!("warning: e-mail to {to} about {upc} at {dsp} not sent: {e}"),
        Err(e) => eprintln!("warning: e-mail task: {e}"),
    }
}

/// Reads the acknowledgements of a delivery that the DSP has written, keeps the new ones,
/// and moves the delivery by the latest. Returns the status it is in afterwards.
async fn poll(ctx: &Ctx, p: &DspProfile, d: &DeliveryRow) -> Result<DeliveryStatus> {
    let docs: Vec<(String, Vec<u8>)> = match link(p)? {
        Link::Sftp { target, endpoint } => {
            let mid = d.message_id.clone();
            tokio::task::spawn_blocking(move || -> Result<Vec<(String, Vec<u8>)>> {
                let c = transport_sftp::Connection::open(&target)?;
                let prefix = format!("ACK_{mid}_");
                let mut out = Vec::new();
                for (name, _) in c.list(&endpoint.acknowledgements)? {
                    if name.starts_with(&prefix) && name.ends_with(".xml") {
                        out.push((
                            name.clone(),
                            c.read(&join(&endpoint.acknowledgements, &name))?,
                        ));
                    }
                }
                c.close();
                Ok(out)
            })
            .await??
        }
        Link::Http(client) => client
            .acks(&d.message_id)
            .await
            .map_err(|e| anyhow!("{e}"))?
            .into_iter()
            .map(|a| (a.name, a.document.into_bytes()))
            .collect(),
    };
    for (name, bytes) in &docs {
        match choreography::read_ack(bytes) {
            Ok(ack) => {
                let action = ack.action();
                let new = ctx
                    .catalog
                    .record_ack(&NewAck {
                        dsp: &d.dsp,
                        message_id: &d.message_id,
                        source: name,
                        acked_at: &ack.created,
                        status: &ack.status,
                        action: action_str(action),
                        error_text: ack.error_text.as_deref(),
                        document: &String::from_utf8_lossy(bytes),
                    })
                    .await?;
                if new {
                    eprintln!(
                        "{} ← {}: {}{}",
                        d.upc,
                        d.dsp,
                        ack.status,
                        ack.error_text
                            .as_deref()
                            .map(|e| format!(": {e}"))
                            .unwrap_or_default()
                    );
                }
            }
            Err(e) => {
                if !ctx
                    .catalog
                    .notice_sent(d.id, "unreadable-ack", name)
                    .await
                    .unwrap_or(true)
                {
                    eprintln!(
                        "warning: {} ← {}: acknowledgement {name} is unreadable: {e}",
                        d.upc, d.dsp
                    );
                    let _ = ctx
                        .catalog
                        .record_notice(d.id, "unreadable-ack", name, "operator", "reported")
                        .await;
                }
            }
        }
    }
    // Act on the latest acknowledgement of every one kept.
    let acks = ctx.catalog.acks(&d.dsp, &d.message_id).await?;
    let Some(latest) = acks
        .iter()
        .enumerate()
        .max_by_key(|(i, a)| (DateTime::parse_from_rfc3339(&a.acked_at).ok(), *i))
        .map(|(_, a)| a)
    else {
        return Ok(d.status);
    };
    let action = parse_action(&latest.action);
    let mut to = DeliveryStatus::after_ack(action);
    let error = latest.error_text.clone();
    // Resends are bounded: a DSP that keeps asking is a problem for a person.
    let resends = acks
        .iter()
        .filter(|a| {
            matches!(
                a.action.as_str(),
                "resend_all" | "resend_xml" | "retry_later"
            )
        })
        .count();
    if to == DeliveryStatus::Queued && resends > MAX_RESENDS {
        to = DeliveryStatus::Failed;
        let why = format!(
            "{} asked for a resend {resends} times (limit {MAX_RESENDS}); last: {} {}",
            d.dsp,
            latest.status,
            error.as_deref().unwrap_or("")
        );
        if d.status.can_move_to(to) {
            ctx.catalog
                .move_delivery(d.id, d.status, to, None, Some(&why))
                .await?;
            eprintln!("{} ← {}: FAILED: {why}", d.upc, d.dsp);
            mail(ctx, d, "failed", &why, |to, f| notify::failed(to, f, &why)).await;
        }
        return Ok(to);
    }
    if to == d.status || !d.status.can_move_to(to) {
        return Ok(d.status);
    }
    ctx.catalog
        .move_delivery(d.id, d.status, to, None, error.as_deref())
        .await?;
    match to {
        DeliveryStatus::Rejected => {
            let text = error.unwrap_or_else(|| latest.status.clone());
            note!(
                "{} ← {}: REJECTED ({}): {text}",
                d.upc,
                d.dsp,
                latest.status
            );
            let status = latest.status.clone();
            mail(ctx, d, "rejected", &latest.source, |to, f| {
                notify::rejected(to, f, &status, &text)
            })
            .await;
        }
        DeliveryStatus::Queued => {
            note!(
                "{} ← {}: the DSP asks for a resend ({}); sending again",
                d.upc,
                d.dsp,
                latest.status
            );
            // A new folder: the DSP has already ingested the old one.
            ctx.catalog.repackage(d.id, &stamp()).await?;
            if let Some(d2) = ctx.catalog.delivery(d.id).await? {
                upload(ctx, p, &d2).await?;
            }
        }
        _ => {}
    }
    Ok(ctx.catalog.delivery(d.id).await?.map_or(to, |x| x.status))
}

/// How many times a DSP may ask for a message again before a person must look.
const MAX_RESENDS: usize = 3;

fn action_str(a: choreography::Action) -> &'static str {
    match a {
        choreography::Action::Done => "done",
        choreography::Action::ResendAll => "resend_all",
        choreography::Action::ResendXml => "resend_xml",
        choreography::Action::RetryLater => "retry_later",
        choreography::Action::Surface => "surface",
    }
}

fn parse_action(s: &str) -> choreography::Action {
    match s {
        "done" => choreography::Action::Done,
        "resend_all" => choreography::Action::ResendAll,
        "resend_xml" => choreography::Action::ResendXml,
        "retry_later" => choreography::Action::RetryLater,
        _ => choreography::Action::Surface,
    }
}

/// Polls until every delivery in `ids` is acknowledged, rejected or failed, or the time
/// is up. Returns how many did not end acknowledged.
async fn wait(ctx: &Ctx, profiles: &[DspProfile], ids: &[i64], timeout: Duration) -> Result<usize> {
    ctx.bytes.finish_and_clear();
    let until = Instant::now() + timeout;
    let mut delay = Duration::from_millis(200);
    // The wait shows: how many acknowledgements are still due, and for how long it waits.
    let spin = {
        use std::io::IsTerminal;
        if crate::quiet() || !std::io::stderr().is_terminal() {
            indicatif::ProgressBar::hidden()
        } else {
            indicatif::ProgressBar::new_spinner()
        }
    };
    spin.enable_steady_tick(Duration::from_millis(120));
    loop {
        let mut open = 0;
        for id in ids {
            let Some(d) = ctx.catalog.delivery(*id).await? else {
                continue;
            };
            if d.status != DeliveryStatus::Uploaded {
                continue;
            }
            let Some(p) = profiles.iter().find(|p| p.name == d.dsp) else {
                continue;
            };
            match poll(ctx, p, &d).await {
                Ok(
                    DeliveryStatus::Uploaded | DeliveryStatus::Queued | DeliveryStatus::Uploading,
                ) => open += 1,
                Ok(_) => {}
                Err(e) => {
                    open += 1;
                    eprintln!(
                        "warning: reading acknowledgements of {} at {}: {e:#}",
                        d.upc, d.dsp
                    );
                }
            }
        }
        if open == 0 || Instant::now() >= until {
            break;
        }
        spin.set_message(format!(
            "waiting for {open} acknowledgement(s); giving up in {} s",
            until.saturating_duration_since(Instant::now()).as_secs()
        ));
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
    spin.finish_and_clear();
    let mut not_ok = 0;
    for id in ids {
        if let Some(d) = ctx.catalog.delivery(*id).await? {
            if d.status != DeliveryStatus::Acknowledged {
                not_ok += 1;
                eprintln!(
                    "{} at {}: {}{}",
                    d.upc,
                    d.dsp,
                    d.status,
                    d.last_error
                        .as_deref()
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default()
                );
            } else {
                note!("{} at {}: acknowledged", d.upc, d.dsp);
            }
        }
    }
    Ok(not_ok)
}

/// One line of `liner deliveries`.
#[derive(Debug, serde::Serialize)]
struct Line<'a> {
    #[serde(flatten)]
    row: &'a DeliveryRow,
    latest_ack: Option<String>,
    ack_overdue: bool,
}

pub(crate) async fn deliveries(cfg: &Config, a: DeliveriesArgs) -> Result<ExitCode> {
    let ctx = open_ctx(cfg, None).await?;
    let profiles = ern_cmd::load_profiles(cfg)?;
    if a.refresh {
        for d in latest_per_pair(&ctx.catalog.deliveries().await?) {
            // Acknowledged ones too: a DSP may report a problem after FileOK.
            if !matches!(
                d.status,
                DeliveryStatus::Uploaded | DeliveryStatus::Acknowledged
            ) {
                continue;
            }
            let Some(p) = profiles.iter().find(|p| p.name == d.dsp) else {
                continue;
            };
            if let Err(e) = poll(&ctx, p, &d).await {
                eprintln!("warning: {} at {}: {e:#}", d.upc, d.dsp);
            }
        }
    }
    let all = ctx.catalog.deliveries().await?;
    let rows: Vec<DeliveryRow> = if a.all { all } else { latest_per_pair(&all) };
    let mut lines = Vec::new();
    for r in &rows {
        let acks = ctx.catalog.acks(&r.dsp, &r.message_id).await?;
        let deadline = profiles
            .iter()
            .find(|p| p.name == r.dsp)
            .and_then(|p| p.delivery.as_ref())
            .map_or(48, |d| d.ack_deadline_hours);
        let overdue = r.status == DeliveryStatus::Uploaded
            && r.uploaded_at
                .as_deref()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .is_some_and(|t| {
                    Utc::now().fixed_offset() - t > chrono::Duration::hours(i64::from(deadline))
                });
        if overdue && a.refresh {
            note!(
                "ALERT: {} at {}: no acknowledgement within {deadline} h of the upload ({})",
                r.upc,
                r.dsp,
                r.uploaded_at.as_deref().unwrap_or("")
            );
            let at = r.uploaded_at.clone().unwrap_or_default();
            mail(&ctx, r, "overdue", "ack", |to, f| {
                notify::overdue(to, f, &at, deadline)
            })
            .await;
        }
        lines.push(Line {
            row: r,
            latest_ack: acks.last().map(|a| a.status.clone()),
            ack_overdue: overdue,
        });
    }
    if a.summary {
        let to = cfg
            .summary_to
            .clone()
            .ok_or_else(|| anyhow!("--summary needs [mail] summary_to in liner.toml"))?;
        let today = Utc::now().date_naive().to_string();
        let summary: Vec<notify::SummaryLine> = lines
            .iter()
            .filter(|l| l.row.updated_at.starts_with(&today))
            .map(|l| notify::SummaryLine {
                upc: l.row.upc.clone(),
                dsp: l.row.dsp.clone(),
                status: l.row.status.to_string(),
                error: l.row.last_error.clone(),
            })
            .collect();
        let n = notify::summary(&to, &today, &summary);
        let how = cfg.mail.send(&n).map_err(|e| anyhow!("{e}"))?;
        note!("summary of {} deliveries to {to}: {how}", summary.len());
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&lines)?);
    } else {
        println!(
            "{:<14} {:<14} {:<9} {:<13} {:>8} {:>12}  LATEST ACK / ERROR",
            "UPC", "DSP", "INTENT", "STATUS", "ATTEMPTS", "BYTES"
        );
        for l in &lines {
            let r = l.row;
            println!(
                "{:<14} {:<14} {:<9} {:<13} {:>8} {:>12}  {}{}",
                r.upc,
                r.dsp,
                r.intent,
                r.status.as_str(),
                r.attempts,
                r.bytes,
                l.latest_ack.as_deref().unwrap_or("-"),
                r.last_error
                    .as_deref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
                    + if l.ack_overdue { " OVERDUE" } else { "" }
            );
        }
    }
    ctx.catalog.close().await;
    Ok(ExitCode::SUCCESS)
}

fn latest_per_pair(all: &[DeliveryRow]) -> Vec<DeliveryRow> {
    let mut m: BTreeMap<(String, String), DeliveryRow> = BTreeMap::new();
    for r in all {
        m.insert((r.upc.clone(), r.dsp.clone()), r.clone());
    }
    m.into_values().collect()
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum DspCommand {
    /// Run the mock DSPs of the profiles on their loopback addresses until interrupted.
    Serve {
        /// The mock's folder: keys, received files, catalogs (default: .liner/dsp in the Liner
        /// home, where the shipped profiles expect it).
        #[arg(long)]
        root: Option<PathBuf>,
        /// DDEX XSD folder for validating what arrives (else LINER_DDEX_SCHEMAS, else ../shared/ddex/xsd).
        #[arg(long, value_name = "DIR")]
        schemas: Option<PathBuf>,
    },
    /// What a mock DSP holds: its catalog, one effect per message, its acknowledgements.
    Catalog {
        /// The DSP profile's name (e.g. spotify).
        dsp: String,
        /// The mock's folder (default: .liner/dsp in the Liner home).
        #[arg(long)]
        root: Option<PathBuf>,
    },
    /// Have a mock DSP write its sales report for a month (of what it has live) into the
    /// folder its profile names; prints the files written.
    Report {
        /// The DSP profile's name (e.g. spotify).
        dsp: String,
        /// The reporting period, e.g. 2026-11.
        #[arg(long)]
        period: String,
        /// A corrected report: same message id, other usage.
        #[arg(long, default_value_t = 0)]
        revision: u32,
        /// The mock's folder (default: .liner/dsp in the Liner home).
        #[arg(long)]
        root: Option<PathBuf>,
    },
}

pub(crate) async fn dsp(cfg: &Config, c: DspCommand) -> Result<ExitCode> {
    match c {
        DspCommand::Serve { root, schemas } => {
            let root = root.unwrap_or_else(|| cfg.mock_root());
            let profiles = ern_cmd::load_profiles(cfg)?;
            let schemas = ern_cmd::schemas_dir(schemas.as_deref());
            if schemas.is_none() {
                eprintln!(
                    "WARNING: no DDEX schemas found: the mock DSP checks messages with Liner's reader only"
                );
            }
            let running = mock_dsp::start(
                &profiles,
                &mock_dsp::Settings {
                    root: root.clone(),
                    schemas,
                    faults: mock_dsp::load_faults(&root).map_err(|e| anyhow!("{e}"))?,
                    scan_every: Duration::from_millis(250),
                },
            )
            .await
            .map_err(|e| anyhow!("{e}"))?;
            for d in &running.dsps {
                note!(
                    "mock DSP {} up ({})",
                    d.name(),
                    crate::delivery_summary(
                        d.profile
                            .delivery
                            .as_ref()
                            .ok_or_else(|| anyhow!("no delivery"))?
                    )
                );
            }
            note!(
                "keys and known_hosts in {}; Ctrl-C to stop",
                running.keys.dir.display()
            );
            tokio::signal::ctrl_c().await?;
            running.stop();
            Ok(ExitCode::SUCCESS)
        }
        DspCommand::Report {
            dsp,
            period,
            revision,
            root,
        } => {
            let root = root.unwrap_or_else(|| cfg.mock_root());
            let profiles = ern_cmd::load_profiles(cfg)?;
            let p = profiles
                .into_iter()
                .find(|p| p.name == dsp)
                .ok_or_else(|| anyhow!("no DSP profile {dsp:?} in {}", cfg.profiles.display()))?;
            let d = mock_dsp::Dsp::new(p, &root, None, Default::default())
                .map_err(|e| anyhow!("{e}"))?;
            let me = &cfg.sender;
            let files = mock_dsp::reports::write_sales_report(
                &d,
                &period,
                revision,
                &mock_dsp::reports::Recipient {
                    dpid: me.party_id.clone(),
                    name: me.name.clone().unwrap_or_default(),
                },
            )
            .map_err(|e| anyhow!("{e}"))?;
            for f in files {
                println!("{}", f.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        DspCommand::Catalog { dsp, root } => {
            let root = root.unwrap_or_else(|| cfg.mock_root());
            let path = root.join(&dsp).join("state.json");
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("no mock DSP state at {}", path.display()))?;
            let state: mock_dsp::State = serde_json::from_str(&text)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "catalog": state.catalog,
                    "effects": state.effects,
                    "acknowledgements": state.acks.len(),
                }))?
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The demo's delivery step: the shipped profiles rewritten to free loopback ports and keys
/// under `out/dsp`, their mock DSPs started in this process, every deliverable release sent
/// to every DSP with `--wait`, then what each DSP holds.
/// Delivers the demo's releases to mock DSPs started in this process; the mocks are left
/// running (the royalty step fetches their sales reports), with the configuration whose
/// profiles point at them.
pub(crate) async fn demo(
    cfg: &Config,
    out: &Path,
    upcs: &[String],
) -> Result<(mock_dsp::Running, Config)> {
    let keys = out.join("dsp/keys");
    let dir = out.join("dsps");
    std::fs::create_dir_all(&dir)?;
    let mut names = Vec::new();
    for e in std::fs::read_dir(&cfg.profiles)
        .with_context(|| format!("reading {}", cfg.profiles.display()))?
    {
        let path = e?.path();
        if path.extension().is_none_or(|x| x != "toml") {
            continue;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let text = std::fs::read_to_string(&path)?
            .replace(".liner/dsp/keys", &keys.display().to_string())
            .lines()
            .map(|l| {
                if l.starts_with("port = ") {
                    format!("port = {port}")
                } else if l.starts_with("base_url = \"http://127.0.0.1:") {
                    let rest = l.split_once("127.0.0.1:").map_or("", |(_, r)| r);
                    let path = rest.split_once('/').map_or("", |(_, p)| p);
                    format!("base_url = \"http://127.0.0.1:{port}/{path}")
                } else {
                    l.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        std::fs::write(dir.join(path.file_name().unwrap_or_default()), text)?;
        names.push(
            path.file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
        );
    }
    names.sort();
    let dcfg = Config {
        profiles: dir.clone(),
        ..cfg.clone()
    };
    let profiles = ern_cmd::load_profiles(&dcfg)?;
    let running = mock_dsp::start(
        &profiles,
        &mock_dsp::Settings {
            root: out.join("dsp"),
            schemas: ern_cmd::schemas_dir(None),
            faults: Default::default(),
            scan_every: Duration::from_millis(100),
        },
    )
    .await
    .map_err(|e| anyhow!("{e}"))?;
    let code = deliver(
        &dcfg,
        DeliverArgs {
            upcs: upcs.to_vec(),
            to: names.clone(),
            priority: false,
            wait: true,
            timeout: 120,
            schemas: None,
            json: false,
            holder: None,
        },
    )
    .await?;
    for d in &running.dsps {
        let st = d.state();
        let live = st.catalog.values().filter(|l| l.status == "live").count();
        note!(
            "  {:<14} holds {live} live release(s); {} message(s) ingested, {} acknowledgement(s)",
            d.name(),
            st.effects.len(),
            st.acks.len()
        );
    }
    // A release refused by one DSP's QC gate (exit 3) is part of the show; a failure is not.
    if code != ExitCode::SUCCESS && code != ExitCode::from(crate::qc::EXIT_BLOCKED) {
        running.stop();
        bail!("some deliveries did not end acknowledged (see above; `liner deliveries`)");
    }
    Ok((running, dcfg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_times_are_never_the_same_twice() {
        let mut seen = std::collections::BTreeSet::new();
        let stamps: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| (0..500).map(|_| stamp()).collect::<Vec<_>>()))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        });
        for t in &stamps {
            assert!(seen.insert(t.clone()), "{t} twice");
        }
        assert_eq!(seen.len(), 2000);
    }

    #[test]
    fn lead_time_warns_refuses_and_spares_back_catalogue() {
        let lt = profiles::LeadTime {
            warn_days: 14,
            refuse_days: 7,
            delivery_offset_days: 21,
        };
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 26).unwrap_or_default();
        let d = |n| today + chrono::Duration::days(n);
        assert_eq!(lead_time(d(30), today, &lt, false), Ok(None));
        assert!(
            matches!(lead_time(d(10), today, &lt, false), Ok(Some(w)) if w.contains("10 day(s)"))
        );
        assert!(matches!(lead_time(d(3), today, &lt, false), Err(e) if e.contains("--priority")));
        assert!(matches!(lead_time(d(3), today, &lt, true), Ok(Some(_))));
        assert_eq!(lead_time(d(-400), today, &lt, false), Ok(None));
    }
}
