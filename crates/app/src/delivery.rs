//! Delivery: the imperative shell of sending releases to DSPs. The decisions are made by
//! pure code elsewhere (`ern::lifecycle` says new, update, takedown or purge; `choreography`
//! names the package, reads acknowledgements and bounds resends; `transport::decide` says
//! whether to retry; `profiles::LeadTime` says whether it is too late); this module moves
//! bytes and records state.
//!
//! Crash safety: a delivery is queued with its file list and package time in one
//! transaction before anything is sent; each file is marked once it is in place; status
//! moves are compare-and-set. Run again after a kill, a delivery finds the delivery
//! unfinished and goes on: files already in place are skipped, a half-sent one resumes from
//! what the DSP holds, the same folder and message id are used, so the DSP sees one message.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use choreography::{DeliveryStatus, DeliveryType, Party, ReleasePart};
use chrono::{DateTime, SecondsFormat, Utc};
use model::Icpn;
use profiles::{DspProfile, HostKey, SftpAuth, SftpEndpoint, Transport};
use store::{DeliveryRow, NewAck, NewDelivery};

use crate::{App, Context, Error, Events, Meter, MeterKind, NotCleared, Result, bail, err, note};

/// What `deliver` is asked.
#[derive(Debug, Clone, Default)]
pub struct DeliverRequest {
    /// Releases in the catalog.
    pub upcs: Vec<Icpn>,
    /// DSP profile names.
    pub to: Vec<String>,
    /// Inside the profile's lead time (refused otherwise), in the priority lane.
    pub priority: bool,
    /// Wait this long for the DSPs' acknowledgements.
    pub wait: Option<Duration>,
    /// The DDEX XSD folder (else the one found by `ern::schemas_dir`).
    pub schemas: Option<PathBuf>,
    /// Who holds the delivery locks: a job, when a worker runs it; else this process.
    pub holder: Option<String>,
}

/// What `takedown` is asked.
#[derive(Debug, Clone, Default)]
pub struct TakedownRequest {
    pub upc: Option<Icpn>,
    /// DSP profile names.
    pub from: Vec<String>,
    /// A PurgeReleaseMessage instead of end-dated deals (only where the profile allows).
    pub purge: bool,
    pub wait: Option<Duration>,
    pub schemas: Option<PathBuf>,
    pub holder: Option<String>,
}

/// How a run of deliveries ended.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DeliveryOutcome {
    /// The deliveries made or resumed.
    pub deliveries: Vec<DeliveryRow>,
    /// Releases and DSPs that failed (told as events).
    pub failed: usize,
    /// Releases QC has not cleared for a DSP (told as events).
    pub not_cleared: usize,
}

impl DeliveryOutcome {
    /// Every delivery ended well (or had nothing to send).
    pub fn ok(&self) -> bool {
        self.failed == 0 && self.not_cleared == 0
    }
}

/// What `deliveries` is asked.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeliveriesRequest {
    /// Read acknowledgements again and check deadlines first.
    pub refresh: bool,
    /// Every delivery, not only the latest per release and DSP.
    pub all: bool,
    /// E-mail the daily summary to `[mail] summary_to`.
    pub summary: bool,
}

/// One line of the deliveries board.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeliveryLine {
    #[serde(flatten)]
    pub row: DeliveryRow,
    pub latest_ack: Option<String>,
    pub ack_overdue: bool,
}

/// What a run needs, shared by the per-DSP tasks.
struct Ctx {
    app: App,
    schemas: Option<PathBuf>,
    /// Who this run is, for the per-release-and-DSP delivery locks.
    holder: String,
    /// Bytes uploaded this run (a bar at a terminal; nothing in a worker).
    bytes: Arc<dyn Meter>,
    ev: Arc<dyn Events>,
}

/// How to reach one DSP, credentials resolved.
#[derive(Clone)]
#[allow(missing_debug_implementations)] // holds credentials; never printed
pub enum Link {
    Sftp {
        target: Box<transport_sftp::Target>,
        endpoint: Box<SftpEndpoint>,
    },
    Http(transport_http::Client),
}

pub fn link(p: &DspProfile) -> Result<Link> {
    let d = p
        .delivery
        .as_ref()
        .ok_or_else(|| err!("profile {} has no [delivery] section", p.name))?;
    let env = |name: &str, what: &str| {
        std::env::var(name).map_err(|_| {
            err!(
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
                    .map_err(|e| err!("{e}"))?,
            )
        }
    })
}

async fn current_release(ctx: &Ctx, upc: &Icpn) -> Result<model::Release> {
    Ok(
        crate::qc::from_catalog(ctx.app.catalog(), ctx.app.files(), upc, None)
            .await?
            .release,
    )
}

/// A package folder's time, to the millisecond, never the same twice in this process: the
/// batch id is that time, and two deliveries sharing one folder would share one manifest
/// name (the second would replace the first; a DSP may have taken the batch by then).
fn stamp(now: DateTime<Utc>) -> String {
    use std::sync::atomic::{AtomicI64, Ordering};
    static LAST: AtomicI64 = AtomicI64::new(0);
    let at = now;
    let now = now.timestamp_millis();
    let mut last = LAST.load(Ordering::Relaxed);
    let ms = loop {
        let next = now.max(last + 1);
        match LAST.compare_exchange_weak(last, next, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => break next,
            Err(seen) => last = seen,
        }
    };
    DateTime::from_timestamp_millis(ms)
        .unwrap_or(at)
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn open_ctx(
    app: &App,
    schemas: Option<PathBuf>,
    holder: Option<String>,
    ev: Arc<dyn Events>,
) -> Ctx {
    Ctx {
        app: app.clone(),
        schemas: crate::ern::schemas_dir(schemas.as_deref()),
        holder: holder
            .unwrap_or_else(|| format!("cli:{}:{}", crate::host_name(), std::process::id())),
        bytes: Arc::new(crate::events::NoMeter),
        ev,
    }
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
                .ok_or_else(|| Error::NotFound(format!("no DSP profile {n:?}")))
                .and_then(|p| {
                    p.delivery
                        .as_ref()
                        .map(|_| p)
                        .ok_or_else(|| err!("profile {n} has no [delivery] section"))
                })
        })
        .collect()
}

/// Delivers releases to DSPs: each DSP in its own task, inside one up to its profile's
/// concurrency; with `wait`, until the DSPs acknowledge. A failure of one release at one DSP
/// is told and counted; the others go on.
pub async fn deliver(app: &App, r: DeliverRequest, ev: Arc<dyn Events>) -> Result<DeliveryOutcome> {
    let mut ctx = open_ctx(app, r.schemas.clone(), r.holder.clone(), Arc::clone(&ev));
    ctx.bytes = ev.meter(MeterKind::Bytes, 0);
    let ctx = Arc::new(ctx);
    let profiles = app.profiles()?;
    let targets: Vec<DspProfile> = pick(profiles, &r.to)?.into_iter().cloned().collect();
    let mut out = DeliveryOutcome::default();
    let mut ids = Vec::new();
    let mut tasks = tokio::task::JoinSet::new();
    for p in targets {
        let ctx = Arc::clone(&ctx);
        let upcs = r.upcs.clone();
        let priority = r.priority;
        tasks.spawn(async move {
            let sem = Arc::new(tokio::sync::Semaphore::new(
                p.delivery.as_ref().map_or(1, |d| d.concurrency as usize),
            ));
            let mut inner = tokio::task::JoinSet::new();
            for upc in upcs {
                let (ctx, p, sem) = (Arc::clone(&ctx), p.clone(), Arc::clone(&sem));
                inner.spawn(async move {
                    let _permit = sem.acquire_owned().await;
                    let r =
                        send(&ctx, &upc, &p, ::ern::lifecycle::Request::Deliver, priority).await;
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
                Err(e) if matches!(e.root(), Error::NotCleared(_)) => {
                    out.not_cleared += 1;
                    ev.tell(&format!("refused: {}", e.chain()));
                }
                Err(e) => {
                    out.failed += 1;
                    ev.error(&format!("{upc} to {dsp}: {}", e.chain()));
                }
            }
        }
    }
    ctx.bytes.finish();
    if let Some(timeout) = r.wait
        && !ids.is_empty()
    {
        out.failed += wait(&ctx, profiles, &ids, timeout).await?;
    }
    out.deliveries = app
        .catalog()
        .deliveries()
        .await?
        .into_iter()
        .filter(|r| ids.contains(&r.id))
        .collect();
    Ok(out)
}

/// Takes a release down from DSPs (or purges it where allowed), in the priority lane.
pub async fn takedown(
    app: &App,
    r: TakedownRequest,
    ev: Arc<dyn Events>,
) -> Result<DeliveryOutcome> {
    let upc = r
        .upc
        .clone()
        .ok_or_else(|| Error::Refused("a takedown needs the release's UPC".into()))?;
    let ctx = open_ctx(app, r.schemas.clone(), r.holder.clone(), Arc::clone(&ev));
    let profiles = app.profiles()?;
    let mut ids = Vec::new();
    let mut out = DeliveryOutcome::default();
    for p in pick(profiles, &r.from)? {
        let request = crate::ern::request_for(app.clock().today(), !r.purge, r.purge, &p.lifecycle);
        // Takedowns go in the priority lane (their own P_ delivery, never inside a batch).
        match send(&ctx, &upc, p, request, true).await {
            Ok(Some(id)) => ids.push(id),
            Ok(None) => {}
            Err(e) => {
                out.failed += 1;
                ev.error(&format!("{upc} from {}: {}", p.name, e.chain()));
            }
        }
    }
    if let Some(timeout) = r.wait
        && !ids.is_empty()
    {
        out.failed += wait(&ctx, profiles, &ids, timeout).await?;
    }
    out.deliveries = app
        .catalog()
        .deliveries()
        .await?
        .into_iter()
        .filter(|r| ids.contains(&r.id))
        .collect();
    Ok(out)
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
    request: ::ern::lifecycle::Request,
    priority: bool,
) -> Result<Option<i64>> {
    let name = format!("deliver:{upc}/{}", p.name);
    let lease =
        chrono::Duration::from_std(DELIVERY_LOCK).unwrap_or_else(|_| chrono::Duration::minutes(5));
    if let Err(held) = ctx
        .app
        .catalog()
        .take_lock(&name, &ctx.holder, ctx.app.clock().now(), lease)
        .await?
    {
        // A run of this host that was killed: its lock is stale now, not in five minutes
        // (an interrupted delivery resumes at once, as it did before locks).
        let stale = dead_local_holder(&held.holder)
            && ctx
                .app
                .catalog()
                .take_lock_from(
                    &name,
                    &held.holder,
                    &ctx.holder,
                    ctx.app.clock().now() + lease,
                )
                .await?;
        if !stale {
            return Err(Error::Locked(format!(
                "{upc} is being delivered to {} by {} (its lock runs until {}): nothing done; try again after it",
                p.name, held.holder, held.until
            )));
        }
        note!(
            &*ctx.ev,
            "{upc} → {}: taking over the lock of {} (that process is gone)",
            p.name,
            held.holder
        );
    }
    let beat = {
        let (catalog, name, holder) = (ctx.app.catalog().clone(), name.clone(), ctx.holder.clone());
        let clock = ctx.app.clock();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(DELIVERY_LOCK / 3).await;
                if !catalog
                    .renew_lock(&name, &holder, clock.now() + lease)
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
    if let Err(e) = ctx.app.catalog().release_lock(&name, &ctx.holder).await {
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
    request: ::ern::lifecycle::Request,
    priority: bool,
) -> Result<Option<i64>> {
    let latest = ctx
        .app
        .catalog()
        .latest_delivery(upc.as_str(), &p.name)
        .await?;
    let unfinished = latest.as_ref().filter(|d| {
        matches!(
            d.status,
            DeliveryStatus::Queued | DeliveryStatus::Uploading | DeliveryStatus::Failed
        )
    });
    let delivery = match unfinished {
        Some(d) => {
            note!(
                &*ctx.ev,
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
            let takedown = !matches!(request, ::ern::lifecycle::Request::Deliver);
            if !takedown {
                let gate = ctx.app.catalog().gate(upc.as_str(), &p.name).await?;
                match gate {
                    Some(g) if g.deliverable() => {}
                    Some(g) => {
                        return Err(Error::NotCleared(NotCleared {
                            upc: upc.to_string(),
                            dsp: p.name.clone(),
                            gate: g,
                        }));
                    }
                    None => {
                        return Err(Error::NotFound(format!("{upc} is not in the catalog")));
                    }
                }
            }
            if let Some(last) = &latest
                && !takedown
                && last.status == DeliveryStatus::Uploaded
            {
                note!(
                    &*ctx.ev,
                    "{upc} → {}: delivery {} is uploaded and waits for its acknowledgement",
                    p.name,
                    last.id
                );
                return Ok(Some(last.id));
            }
            // What reached the DSP decides new or update; a refused message did not.
            let delivered: Vec<String> = ctx
                .app
                .catalog()
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
            let p2 = crate::ern::prepare(
                ctx.app.catalog(),
                ctx.app.files(),
                upc,
                Some(p),
                request,
                crate::ern::Options {
                    ern: None,
                    schemas: ctx.schemas.as_deref(),
                    delivered: Some(&delivered),
                    sender: &ctx.app.config().sender,
                    now: ctx.app.clock().now(),
                },
                &*ctx.ev,
            );
            let revision_now = ctx
                .app
                .catalog()
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
                    &*ctx.ev,
                    "{upc} → {}: revision {} is already live there (delivery {}, acknowledged); nothing to send",
                    p.name,
                    last.revision,
                    last.id
                );
                return Ok(None);
            }
            if !takedown {
                let release = current_release(ctx, upc).await?;
                match p
                    .lead_time
                    .check(release.release_date, ctx.app.clock().today(), priority)
                {
                    Ok(Some(w)) => ctx.ev.warn(&format!("{upc} → {}: {w}", p.name)),
                    Ok(None) => {}
                    Err(e) => return Err(Error::Refused(e)),
                }
            }
            let prepared = match p2.await {
                Ok(x) => x,
                Err(e) => {
                    // The message or its files could not be made ready: the label hears of it.
                    let why = e.chain();
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
                .app
                .catalog()
                .queue_package(
                    &NewDelivery {
                        upc: upc.as_str(),
                        dsp: &p.name,
                        revision: prepared.revision,
                        message_id: &prepared.message_id,
                        intent: prepared.intent.as_str(),
                    },
                    &stamp(ctx.app.clock().now()),
                    priority || takedown,
                    &files,
                )
                .await?;
            note!(
                &*ctx.ev,
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
    let files = ctx.app.catalog().delivery_files(d.id).await?;
    let message = ctx
        .app
        .catalog()
        .messages(&d.upc, &d.dsp)
        .await?
        .into_iter()
        .find(|m| m.message_id == d.message_id)
        .ok_or_else(|| {
            err!(
                "delivery {}: message {} is not in the history",
                d.id,
                d.message_id
            )
        })?;
    let xml = ctx
        .app
        .catalog()
        .message_xml(message.id)
        .await?
        .ok_or_else(|| err!("message {} has no text", d.message_id))?;
    let at = d
        .package_at
        .as_deref()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .ok_or_else(|| err!("delivery {} has no package time", d.id))?;
    let msg_file = files
        .iter()
        .find(|f| f.source == "message")
        .ok_or_else(|| err!("delivery {} lists no message file", d.id))?;
    let part = ReleasePart {
        release_id: d.upc.clone(),
        message_id: d.message_id.clone(),
        message_md5: msg_file.md5.clone(),
        message_size: msg_file.size as u64,
        delivery: DeliveryType::for_delivery(&d.intent, d.priority),
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
        .ok_or_else(|| err!("no delivery section"))?;
    let (parsed, _) = ::ern::read(xml.as_bytes()).map_err(|e| err!("stored message: {e}"))?;
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
            .ok_or_else(|| err!("package file {} has no delivery file", pf.remote))?;
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
            ctx.app
                .catalog()
                .move_delivery(
                    d.id,
                    DeliveryStatus::Uploading,
                    DeliveryStatus::Queued,
                    None,
                    None,
                )
                .await?;
            ctx.app
                .catalog()
                .delivery(d.id)
                .await?
                .unwrap_or_else(|| d.clone())
        }
        DeliveryStatus::Failed => {
            ctx.app
                .catalog()
                .move_delivery(
                    d.id,
                    DeliveryStatus::Failed,
                    DeliveryStatus::Queued,
                    None,
                    None,
                )
                .await?;
            ctx.app
                .catalog()
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
        .app
        .catalog()
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
            Err(e) => Err(Failure::Permanent(e.chain())),
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
                match transport::decide(&policy, attempt, &outcome, jitter(), ctx.app.clock().now())
                {
                    transport::Decision::Fail(f) => {
                        transport::Decision::Fail(format!("{why}: {f}"))
                    }
                    other => other,
                }
            }
        };
        match decision {
            transport::Decision::Done => {
                ctx.app
                    .catalog()
                    .move_delivery(
                        d.id,
                        DeliveryStatus::Uploading,
                        DeliveryStatus::Uploaded,
                        Some(total as i64 + d.bytes),
                        None,
                    )
                    .await?;
                note!(
                    &*ctx.ev,
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
                ctx.ev.tell(&format!(
                    "{} → {}: attempt {attempt} failed ({}); retrying in {:.1} s",
                    d.upc,
                    p.name,
                    match &r {
                        Err(Failure::Transient { why, .. }) => why.as_str(),
                        _ => "",
                    },
                    wait.as_secs_f64()
                ));
                tokio::time::sleep(wait).await;
            }
            transport::Decision::Fail(why) => {
                ctx.app
                    .catalog()
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
    // A fraction in [0, 1) from the process's random hash keys: enough to keep workers apart.
    use std::hash::BuildHasher;
    let r = std::collections::hash_map::RandomState::new().hash_one(std::process::id());
    (r % 1_000_000) as f64 / 1_000_000.0
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
        .map_err(|e| Failure::Permanent(e.chain()))?;
    // Every stored file must be there before anything goes out.
    let mut local = BTreeMap::new();
    for (_, f) in &plan.files {
        if f.source == "message" {
            continue;
        }
        let h = model::ContentHash::parse(&f.source)
            .map_err(|e| Failure::Permanent(format!("{}: {e}", f.source)))?;
        // Read back and verified against its hash (fetched from the bucket when the store
        // is one): a corrupt or missing copy refuses the delivery, it is never shipped.
        let files = ctx.app.files().clone();
        let (hh, store_at) = (h.clone(), files.location());
        let copy = tokio::task::spawn_blocking(move || files.verified_copy(&hh))
            .await
            .map_err(|e| Failure::Permanent(format!("reading {}: {e}", f.source)))?;
        let path = match copy {
            Ok(p) => p,
            Err(filestore::FileStoreError::Missing { .. }) => {
                return Err(Failure::Permanent(format!(
                    "resource {} ({}) is missing from the file store {store_at}: re-import the release's files",
                    f.uri, f.source
                )));
            }
            Err(e) => {
                return Err(Failure::Permanent(format!(
                    "resource {} ({}) refused: {e}",
                    f.uri, f.source
                )));
            }
        };
        local.insert(f.seq, path);
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
                let _ = ctx.app.catalog().mark_sent(d.id, seq).await;
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
                let _ = ctx.app.catalog().mark_sent(d.id, f.seq).await;
            }
            let receipt = client.submit(key, &plan.message).await.map_err(transient)?;
            if let Some((_, f)) = plan.files.iter().find(|(_, f)| f.source == "message") {
                let _ = ctx.app.catalog().mark_sent(d.id, f.seq).await;
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
            .app
            .catalog()
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
    match ctx.app.notifier().send(notice).await {
        Ok(how) => {
            note!(&*ctx.ev, "  e-mail to {to}: {how}");
            if let Some(id) = delivery {
                let _ = ctx
                    .app
                    .catalog()
                    .record_notice(id, kind, &key, &to, &how.to_string())
                    .await;
            }
        }
        Err(e) => ctx.ev.warn(&format!(
            "e-mail to {to} about {upc} at {dsp} not sent: {}",
            e.chain()
        )),
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
            .map_err(|e| err!("{e}"))?
            .into_iter()
            .map(|a| (a.name, a.document.into_bytes()))
            .collect(),
    };
    for (name, bytes) in &docs {
        match choreography::read_ack(bytes) {
            Ok(ack) => {
                let action = ack.action();
                let new = ctx
                    .app
                    .catalog()
                    .record_ack(&NewAck {
                        dsp: &d.dsp,
                        message_id: &d.message_id,
                        source: name,
                        acked_at: &ack.created,
                        status: &ack.status,
                        action: action.as_str(),
                        error_text: ack.error_text.as_deref(),
                        document: &String::from_utf8_lossy(bytes),
                    })
                    .await?;
                if new {
                    ctx.ev.tell(&format!(
                        "{} ← {}: {}{}",
                        d.upc,
                        d.dsp,
                        ack.status,
                        ack.error_text
                            .as_deref()
                            .map(|e| format!(": {e}"))
                            .unwrap_or_default()
                    ));
                }
            }
            Err(e) => {
                if !ctx
                    .app
                    .catalog()
                    .notice_sent(d.id, "unreadable-ack", name)
                    .await
                    .unwrap_or(true)
                {
                    ctx.ev.warn(&format!(
                        "{} ← {}: acknowledgement {name} is unreadable: {e}",
                        d.upc, d.dsp
                    ));
                    let _ = ctx
                        .app
                        .catalog()
                        .record_notice(d.id, "unreadable-ack", name, "operator", "reported")
                        .await;
                }
            }
        }
    }
    // Act on the latest acknowledgement of every one kept.
    let acks = ctx.app.catalog().acks(&d.dsp, &d.message_id).await?;
    let Some(latest) = acks
        .iter()
        .enumerate()
        .max_by_key(|(i, a)| (DateTime::parse_from_rfc3339(&a.acked_at).ok(), *i))
        .map(|(_, a)| a)
    else {
        return Ok(d.status);
    };
    let action = choreography::Action::parse(&latest.action);
    let mut to = DeliveryStatus::after_ack(action);
    let error = latest.error_text.clone();
    // Resends are bounded: a DSP that keeps asking is a problem for a person.
    let exhausted = choreography::resends_exhausted(acks.iter().map(|a| a.action.as_str()));
    if to == DeliveryStatus::Queued
        && let Some(resends) = exhausted
    {
        const MAX_RESENDS: usize = choreography::MAX_RESENDS;
        to = DeliveryStatus::Failed;
        let why = format!(
            "{} asked for a resend {resends} times (limit {MAX_RESENDS}); last: {} {}",
            d.dsp,
            latest.status,
            error.as_deref().unwrap_or("")
        );
        if d.status.can_move_to(to) {
            ctx.app
                .catalog()
                .move_delivery(d.id, d.status, to, None, Some(&why))
                .await?;
            ctx.ev
                .tell(&format!("{} ← {}: FAILED: {why}", d.upc, d.dsp));
            mail(ctx, d, "failed", &why, |to, f| notify::failed(to, f, &why)).await;
        }
        return Ok(to);
    }
    if to == d.status || !d.status.can_move_to(to) {
        return Ok(d.status);
    }
    ctx.app
        .catalog()
        .move_delivery(d.id, d.status, to, None, error.as_deref())
        .await?;
    match to {
        DeliveryStatus::Rejected => {
            let text = error.unwrap_or_else(|| latest.status.clone());
            note!(
                &*ctx.ev,
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
                &*ctx.ev,
                "{} ← {}: the DSP asks for a resend ({}); sending again",
                d.upc,
                d.dsp,
                latest.status
            );
            // A new folder: the DSP has already ingested the old one.
            ctx.app
                .catalog()
                .repackage(d.id, &stamp(ctx.app.clock().now()))
                .await?;
            if let Some(d2) = ctx.app.catalog().delivery(d.id).await? {
                upload(ctx, p, &d2).await?;
            }
        }
        _ => {}
    }
    Ok(ctx
        .app
        .catalog()
        .delivery(d.id)
        .await?
        .map_or(to, |x| x.status))
}

/// Polls until every delivery in `ids` is acknowledged, rejected or failed, or the time
/// is up. Returns how many did not end acknowledged.
async fn wait(ctx: &Ctx, profiles: &[DspProfile], ids: &[i64], timeout: Duration) -> Result<usize> {
    let until = Instant::now() + timeout;
    let mut delay = Duration::from_millis(200);
    // The wait shows: how many acknowledgements are still due, and for how long it waits.
    let spin = ctx.ev.meter(MeterKind::Wait, 0);
    loop {
        let mut open = 0;
        for id in ids {
            let Some(d) = ctx.app.catalog().delivery(*id).await? else {
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
                    ctx.ev.warn(&format!(
                        "reading acknowledgements of {} at {}: {}",
                        d.upc,
                        d.dsp,
                        e.chain()
                    ));
                }
            }
        }
        if open == 0 || Instant::now() >= until {
            break;
        }
        spin.message(&format!(
            "waiting for {open} acknowledgement(s); giving up in {} s",
            until.saturating_duration_since(Instant::now()).as_secs()
        ));
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
    spin.finish();
    let mut not_ok = 0;
    for id in ids {
        if let Some(d) = ctx.app.catalog().delivery(*id).await? {
            if d.status != DeliveryStatus::Acknowledged {
                not_ok += 1;
                ctx.ev.tell(&format!(
                    "{} at {}: {}{}",
                    d.upc,
                    d.dsp,
                    d.status,
                    d.last_error
                        .as_deref()
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default()
                ));
            } else {
                note!(&*ctx.ev, "{} at {}: acknowledged", d.upc, d.dsp);
            }
        }
    }
    Ok(not_ok)
}

/// The deliveries board: the latest delivery per release and DSP (or all), with the latest
/// acknowledgement and whether one is overdue. With `refresh`, acknowledgements are read
/// again first and overdue ones alerted (told and e-mailed to the label, once).
pub async fn deliveries(
    app: &App,
    r: DeliveriesRequest,
    ev: Arc<dyn Events>,
) -> Result<Vec<DeliveryLine>> {
    let ctx = open_ctx(app, None, None, Arc::clone(&ev));
    let profiles = app.profiles()?;
    if r.refresh {
        for d in latest_per_pair(&app.catalog().deliveries().await?) {
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
                ev.warn(&format!("{} at {}: {}", d.upc, d.dsp, e.chain()));
            }
        }
    }
    let all = app.catalog().deliveries().await?;
    let rows: Vec<DeliveryRow> = if r.all { all } else { latest_per_pair(&all) };
    let now = app.clock().now();
    let mut lines = Vec::new();
    for row in rows {
        let acks = app.catalog().acks(&row.dsp, &row.message_id).await?;
        let deadline = profiles
            .iter()
            .find(|p| p.name == row.dsp)
            .and_then(|p| p.delivery.as_ref())
            .map_or(48, |d| d.ack_deadline_hours);
        let overdue = row.status == DeliveryStatus::Uploaded
            && row
                .uploaded_at
                .as_deref()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .is_some_and(|t| {
                    now.fixed_offset() - t > chrono::Duration::hours(i64::from(deadline))
                });
        if overdue && r.refresh {
            note!(
                &*ev,
                "ALERT: {} at {}: no acknowledgement within {deadline} h of the upload ({})",
                row.upc,
                row.dsp,
                row.uploaded_at.as_deref().unwrap_or("")
            );
            let at = row.uploaded_at.clone().unwrap_or_default();
            mail(&ctx, &row, "overdue", "ack", |to, f| {
                notify::overdue(to, f, &at, deadline)
            })
            .await;
        }
        lines.push(DeliveryLine {
            latest_ack: acks.last().map(|a| a.status.clone()),
            ack_overdue: overdue,
            row,
        });
    }
    if r.summary {
        let to = app.config().summary_to.clone().ok_or_else(|| {
            Error::Refused("--summary needs [mail] summary_to in liner.toml".into())
        })?;
        let today = app.clock().today().to_string();
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
        let how = app.notifier().send(n).await?;
        note!(
            &*ev,
            "summary of {} deliveries to {to}: {how}",
            summary.len()
        );
    }
    Ok(lines)
}

fn latest_per_pair(all: &[DeliveryRow]) -> Vec<DeliveryRow> {
    let mut m: BTreeMap<(String, String), DeliveryRow> = BTreeMap::new();
    for r in all {
        m.insert((r.upc.clone(), r.dsp.clone()), r.clone());
    }
    m.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_times_are_never_the_same_twice() {
        let at = DateTime::from_timestamp_millis(1_790_000_000_000).unwrap_or_default();
        let mut seen = std::collections::BTreeSet::new();
        let stamps: Vec<String> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(move || (0..500).map(|_| stamp(at)).collect::<Vec<_>>()))
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
}
