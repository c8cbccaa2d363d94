//! A strict mock DSP that anyone can run on loopback (`liner dsp serve`) and that tests and
//! the demo start in process. It behaves like the DSPs in the delivery notes
//! (../shared/design/domain/delivery.md §6 and §8), not like a friendly test double:
//!
//! - SFTP (russh + russh-sftp, `nodelay` on) into a jailed folder per DSP; `..` and paths
//!   outside the jail are refused; `rename` onto an existing file fails like OpenSSH's;
//!   only the user key it generated may log in.
//! - HTTP (axum): resumable uploads (`HEAD` → `Upload-Offset`, `PATCH`), messages `POST`ed
//!   with an `Idempotency-Key`, acknowledgements fetched by message id; bearer token.
//! - A batch is ingested only when its exact `BatchComplete_{BatchId}.xml` is there; a
//!   release folder when its message is.
//! - Each message is validated against the XSD of its version (own reader's checks when no
//!   schemas are configured), addressed to this DSP, and every file it references must be
//!   there with the declared MD5.
//! - Messages older than what it holds for the release are ignored; a NewReleaseMessage
//!   without a deal still running is a takedown; PurgeReleaseMessage is refused where the
//!   profile says so.
//! - Acknowledgements (ECHO 1.6) are written atomically (temp name + rename) after a delay.
//! - Faults by configuration ([`Faults`]): dropped connections, 503 with Retry-After, slow
//!   transfers, lost or corrupt acknowledgements, a later error after FileOK, a full disk.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use choreography::{Ack, Party};
use chrono::{SecondsFormat, Utc};
use md5::{Digest, Md5};
use profiles::{DspProfile, Transport};
use serde::{Deserialize, Serialize};

pub mod http;
pub mod keys;
pub mod reports;
pub mod sftp;

/// Faults a DSP injects, from `faults.toml` under the mock's root (`[spotify]`, …) or set
/// by a test.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Faults {
    /// SFTP: drop the connection once a session has written this many bytes…
    pub disconnect_after_bytes: Option<u64>,
    /// …this many times in all (0 = every session).
    pub disconnects: u32,
    /// HTTP: every Nth request is answered 503 with `Retry-After`.
    pub http_503_every: Option<u32>,
    pub retry_after_secs: u64,
    /// HTTP: an upload body is cut after this many bytes (answered 503), this many times.
    pub http_cut_after_bytes: Option<u64>,
    pub http_cuts: u32,
    /// Throttle writes to this many bytes per second.
    pub slow_bytes_per_sec: Option<u64>,
    /// Every Nth acknowledgement is never written.
    pub lose_ack_every: Option<u32>,
    /// Every Nth acknowledgement is written as garbage.
    pub corrupt_ack_every: Option<u32>,
    /// Every Nth FileOK is followed, later, by a ResourceCorrupt for the same message.
    pub later_error_every: Option<u32>,
    /// Uploads fail with "no space" once this many bytes are held.
    pub disk_full_after_bytes: Option<u64>,
    /// Delay before an acknowledgement is written.
    pub ack_delay_ms: u64,
    /// Ingest a batch's messages as they arrive instead of waiting for BatchComplete (as
    /// Audius does).
    pub eager: bool,
}

/// What the DSP has of one release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Live {
    pub upc: String,
    pub title: String,
    pub artist: String,
    /// `live`, `taken-down` or `purged`.
    pub status: String,
    pub message_id: String,
    /// MessageCreatedDateTime of the message that set this state.
    pub created: String,
    pub deals: usize,
    pub territories: Vec<String>,
    pub tracks: usize,
    pub release_date: Option<String>,
    /// (URI, MD5, size) of the files as received.
    pub files: Vec<(String, String, u64)>,
    pub updated_at: String,
    /// The sound recordings as delivered: what the DSP streams and reports sales for.
    #[serde(default)]
    pub recordings: Vec<Recording>,
}

/// A delivered sound recording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recording {
    pub isrc: String,
    pub title: String,
    pub artist: String,
}

/// The DSP's persistent state (`state.json` in its folder).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    pub catalog: BTreeMap<String, Live>,
    /// Batch or release folders (SFTP) and idempotency keys (HTTP) already ingested.
    pub processed: BTreeSet<String>,
    /// How many times each message changed the catalog: one effect each.
    pub effects: BTreeMap<String, u32>,
    /// Every acknowledgement decided, in order: (message id, status, error text).
    pub acks: Vec<(String, String, Option<String>)>,
    /// HTTP idempotency key → receipt answered.
    pub receipts: BTreeMap<String, serde_json::Value>,
}

/// Counters for fault injection (not persisted).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) disconnects_done: u32,
    pub(crate) http_requests: u32,
    pub(crate) http_cuts_done: u32,
    pub(crate) acks_written: u32,
    pub(crate) file_oks: u32,
    pub(crate) bytes_held: u64,
    pub(crate) http_503s: u32,
}

/// One mock DSP: a profile, its folder, its state.
#[derive(Debug)]
pub struct Dsp {
    pub profile: DspProfile,
    /// `<root>/<name>`: `files/` (the SFTP jail), `http/`, `state.json`.
    pub dir: PathBuf,
    pub schemas: Option<PathBuf>,
    pub faults: Faults,
    pub(crate) state: Mutex<State>,
    pub(crate) counters: Mutex<Counters>,
}

#[derive(Debug, thiserror::Error)]
pub enum DspError {
    #[error("{0}")]
    Io(String),
    #[error("{0}")]
    Config(String),
}

fn io(what: impl std::fmt::Display, e: impl std::fmt::Display) -> DspError {
    DspError::Io(format!("{what}: {e}"))
}

/// Writes `bytes` to `path` through a temporary file and a rename: readers see all or none.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn today() -> String {
    Utc::now().date_naive().to_string()
}

/// The outcome of ingesting one message.
#[derive(Debug, Clone)]
pub struct Ingested {
    pub message_id: String,
    pub release_id: Option<String>,
    pub ack: Ack,
}

impl Dsp {
    pub fn new(
        profile: DspProfile,
        root: &Path,
        schemas: Option<PathBuf>,
        faults: Faults,
    ) -> Result<Arc<Dsp>, DspError> {
        let dir = root.join(&profile.name);
        std::fs::create_dir_all(dir.join("files")).map_err(|e| io(dir.display(), e))?;
        std::fs::create_dir_all(dir.join("http")).map_err(|e| io(dir.display(), e))?;
        let state_file = dir.join("state.json");
        let state = match std::fs::read(&state_file) {
            Ok(b) => serde_json::from_slice(&b)
                .map_err(|e| DspError::Config(format!("{}: {e}", state_file.display())))?,
            Err(_) => State::default(),
        };
        Ok(Arc::new(Dsp {
            profile,
            dir,
            schemas,
            faults,
            state: Mutex::new(state),
            counters: Mutex::new(Counters::default()),
        }))
    }

    pub fn name(&self) -> &str {
        &self.profile.name
    }

    /// Faults injected so far: (connections dropped, 503s answered, uploads cut).
    pub fn faults_injected(&self) -> (u32, u32, u32) {
        self.counters
            .lock()
            .map(|c| (c.disconnects_done, c.http_503s, c.http_cuts_done))
            .unwrap_or_default()
    }

    /// The SFTP user's home: every remote path lives under it.
    pub fn jail(&self) -> PathBuf {
        self.dir.join("files")
    }

    /// A copy of the state (catalog, effects, acknowledgements).
    pub fn state(&self) -> State {
        self.state.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn save(&self, s: &State) {
        match serde_json::to_vec_pretty(s) {
            Ok(b) => {
                if let Err(e) = write_atomically(&self.dir.join("state.json"), &b) {
                    tracing::error!(dsp = self.name(), "saving state: {e}");
                }
            }
            Err(e) => tracing::error!(dsp = self.name(), "state: {e}"),
        }
    }

    fn party(&self) -> Party {
        Party {
            dpid: self.profile.party_id.as_str().to_owned(),
            name: Some(self.profile.display_name.clone()),
        }
    }

    fn ack(&self, to: &Party, release: Option<&str>, status: &str, error: Option<String>) -> Ack {
        let proposed = match status {
            "ResourceMissing" | "ResourceCorrupt" => Some("ResendXmlAndResources".to_owned()),
            _ => None,
        };
        Ack {
            sender: self.party(),
            recipient: to.clone(),
            created: now(),
            release_id: release.map(str::to_owned),
            message_id: None,
            status: status.to_owned(),
            manual_check: (status != "FileOK").then_some(proposed.is_none()),
            proposed_action: proposed,
            error_text: error,
            affected: Vec::new(),
        }
    }

    /// Validates and applies one message whose files are under `base`; the acknowledgement
    /// says what happened. `key` identifies the message's delivery for "processed" (the
    /// batch or release folder, or the HTTP idempotency key).
    pub fn ingest(&self, xml: &[u8], base: &Path) -> Ingested {
        let unknown = Party::default();
        let (msg, _) = match ern::read(xml) {
            Ok(m) => m,
            Err(e) => {
                return Ingested {
                    message_id: String::new(),
                    release_id: None,
                    ack: self.ack(
                        &unknown,
                        None,
                        "NewReleaseMessageInvalid",
                        Some(format!("unreadable message: {e}")),
                    ),
                };
            }
        };
        let sender = Party {
            dpid: msg.header.sender.party_id.clone(),
            name: msg.header.sender.name.clone(),
        };
        let message_id = msg.header.message_id.clone();
        let release_id = msg
            .main_release()
            .and_then(|r| r.icpn.clone())
            .or_else(|| msg.purged.first().and_then(|p| p.icpn.clone()));
        let reject = |status: &str, why: String| Ingested {
            message_id: message_id.clone(),
            release_id: release_id.clone(),
            ack: self.ack(&sender, release_id.as_deref(), status, Some(why)),
        };
        if let Some(dir) = &self.schemas {
            let path = dir.join(msg.version.schema_file());
            match xsd::Schema::load(&path).and_then(|s| s.validate(xml)) {
                Ok(errors) if errors.is_empty() => {}
                Ok(errors) => {
                    let text: Vec<String> =
                        errors.iter().take(5).map(ToString::to_string).collect();
                    return reject(
                        "NewReleaseMessageInvalid",
                        format!(
                            "not valid against the ERN {} XSD: {}",
                            msg.version.as_str(),
                            text.join("; ")
                        ),
                    );
                }
                Err(e) => {
                    return reject("InternalError", format!("schema: {e}"));
                }
            }
        }
        if !msg
            .header
            .recipients
            .iter()
            .any(|r| r.party_id == self.profile.party_id.as_str())
        {
            return reject(
                "NewReleaseMessageInvalid",
                format!(
                    "MessageRecipient is not {} ({})",
                    self.profile.display_name,
                    self.profile.party_id.as_str()
                ),
            );
        }
        let Some(upc) = release_id.clone() else {
            return reject(
                "IdentifierInvalid",
                "the main release has no ICPN (this DSP keys releases on the UPC)".into(),
            );
        };
        // Every referenced file, there with its declared MD5.
        let mut files = Vec::new();
        for r in &msg.resources {
            for f in &r.files {
                let Some(uri) = &f.uri else { continue };
                if uri.starts_with('/') || uri.split('/').any(|s| s == "..") {
                    return reject(
                        "NewReleaseMessageInvalid",
                        format!(
                            "{}: file URI {uri:?} leaves the delivery folder",
                            r.reference
                        ),
                    );
                }
                let path = base.join(uri);
                let bytes = match std::fs::read(&path) {
                    Ok(b) => b,
                    Err(_) => {
                        let mut i = reject(
                            "ResourceMissing",
                            format!("{}: {uri} is not in the delivery", r.reference),
                        );
                        i.ack.affected = r.isrc.iter().cloned().collect();
                        return i;
                    }
                };
                let got = hex::encode(Md5::digest(&bytes));
                if let Some(h) = &f.hash
                    && !h.value.eq_ignore_ascii_case(&got)
                {
                    let mut i = reject(
                        "ResourceCorrupt",
                        format!(
                            "{}: {uri} has MD5 {got}, the message declares {}",
                            r.reference, h.value
                        ),
                    );
                    i.ack.affected = r.isrc.iter().cloned().collect();
                    return i;
                }
                files.push((uri.clone(), got, bytes.len() as u64));
            }
        }
        let mut st = match self.state.lock() {
            Ok(s) => s,
            Err(p) => p.into_inner(),
        };
        if let Some(held) = st.catalog.get(&upc)
            && held.created.as_str() > msg.header.created.as_str()
            && held.message_id != message_id
        {
            let i = Ingested {
                message_id: message_id.clone(),
                release_id: Some(upc.clone()),
                ack: self.ack(
                    &sender,
                    Some(&upc),
                    "FileOK",
                    Some(format!(
                        "not applied: {} ({}) is newer than this message ({})",
                        held.message_id, held.created, msg.header.created
                    )),
                ),
            };
            return i;
        }
        let today = today();
        let (status, title, artist, deals, territories, tracks, release_date) = if msg.kind
            == ern::MessageKind::Purge
        {
            if !self.profile.lifecycle.purge_allowed {
                drop(st);
                return reject(
                    "UnsupportedUsage",
                    format!(
                        "{} does not take PurgeReleaseMessage: take a release down with end-dated deals",
                        self.profile.display_name
                    ),
                );
            }
            let old = st.catalog.get(&upc);
            (
                "purged",
                old.map(|o| o.title.clone()).unwrap_or_default(),
                old.map(|o| o.artist.clone()).unwrap_or_default(),
                0,
                Vec::new(),
                0,
                None,
            )
        } else {
            let main = msg.main_release();
            let running: Vec<&ern::MsgDeal> = msg
                .deals
                .iter()
                .flat_map(|d| d.deals.iter())
                // An end date of today or earlier ends the deal (how takedowns are sent).
                .filter(|d| !d.takedown && d.end.as_deref().is_none_or(|e| e > today.as_str()))
                .collect();
            let mut territories: Vec<String> = running
                .iter()
                .flat_map(|d| d.territories.iter().cloned())
                .collect();
            territories.sort();
            territories.dedup();
            (
                if running.is_empty() {
                    "taken-down"
                } else {
                    "live"
                },
                main.and_then(|r| r.title.clone()).unwrap_or_default(),
                main.and_then(|r| r.display_artist_name.clone())
                    .unwrap_or_default(),
                running.len(),
                territories,
                msg.releases.iter().filter(|r| r.track).count().max(
                    msg.resources
                        .iter()
                        .filter(|r| r.kind == ern::ResourceKind::SoundRecording)
                        .count(),
                ),
                main.and_then(|r| r.release_date.clone()),
            )
        };
        let recordings: Vec<Recording> = if status == "purged" {
            Vec::new()
        } else {
            msg.resources
                .iter()
                .filter(|r| r.kind == ern::ResourceKind::SoundRecording)
                .filter_map(|r| {
                    Some(Recording {
                        isrc: r.isrc.clone()?,
                        title: r.title.clone().unwrap_or_default(),
                        artist: r
                            .display_artist_name
                            .clone()
                            .unwrap_or_else(|| artist.clone()),
                    })
                })
                .collect()
        };
        let same = st
            .catalog
            .get(&upc)
            .is_some_and(|l| l.message_id == message_id);
        st.catalog.insert(
            upc.clone(),
            Live {
                upc: upc.clone(),
                title,
                artist,
                status: status.to_owned(),
                message_id: message_id.clone(),
                created: msg.header.created.clone(),
                deals,
                territories,
                tracks,
                release_date,
                files,
                updated_at: now(),
                recordings,
            },
        );
        // The same message again (a resend) re-applies without a second effect.
        if !same {
            *st.effects.entry(message_id.clone()).or_default() += 1;
        }
        self.save(&st);
        drop(st);
        tracing::info!(dsp = self.name(), upc, message_id, status, "ingested");
        Ingested {
            message_id: message_id.clone(),
            release_id: Some(upc.clone()),
            ack: self.ack(&sender, Some(&upc), "FileOK", None),
        }
    }

    /// Records an acknowledgement and writes it (or loses or garbles it, as configured)
    /// into `dir` after the configured delay; a configured later error follows a FileOK.
    pub fn acknowledge(self: &Arc<Self>, i: Ingested, dir: PathBuf) {
        if let Ok(mut st) = self.state.lock() {
            st.acks.push((
                i.message_id.clone(),
                i.ack.status.clone(),
                i.ack.error_text.clone(),
            ));
            self.save(&st);
        }
        let (n, later) = {
            let mut c = match self.counters.lock() {
                Ok(c) => c,
                Err(p) => p.into_inner(),
            };
            c.acks_written += 1;
            let later = if i.ack.status == "FileOK" && i.ack.error_text.is_none() {
                c.file_oks += 1;
                self.faults
                    .later_error_every
                    .is_some_and(|n| n > 0 && c.file_oks % n == 0)
            } else {
                false
            };
            (c.acks_written, later)
        };
        let lose = self
            .faults
            .lose_ack_every
            .is_some_and(|k| k > 0 && n % k == 0);
        let corrupt = self
            .faults
            .corrupt_ack_every
            .is_some_and(|k| k > 0 && n % k == 0);
        let delay = Duration::from_millis(self.faults.ack_delay_ms);
        let dsp = Arc::clone(self);
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            if lose {
                tracing::warn!(
                    dsp = dsp.name(),
                    message_id = i.message_id,
                    "acknowledgement lost (fault injection)"
                );
            } else {
                dsp.write_ack(&dir, &i, corrupt);
            }
            if later {
                tokio::time::sleep(delay + Duration::from_millis(200)).await;
                let mut again = i.clone();
                again.ack.created = now();
                again.ack.status = "ResourceCorrupt".into();
                again.ack.error_text = Some("a later check found a resource corrupt".into());
                again.ack.proposed_action = Some("ResendXmlAndResources".into());
                again.ack.manual_check = Some(false);
                if let Ok(mut st) = dsp.state.lock() {
                    st.acks.push((
                        again.message_id.clone(),
                        again.ack.status.clone(),
                        again.ack.error_text.clone(),
                    ));
                    dsp.save(&st);
                }
                dsp.write_ack(&dir, &again, false);
            }
        });
    }

    fn write_ack(&self, dir: &Path, i: &Ingested, corrupt: bool) {
        let at = Utc::now().fixed_offset();
        let id = if i.message_id.is_empty() {
            "unknown"
        } else {
            &i.message_id
        };
        let name = choreography::ack_name(id, at);
        let bytes = if corrupt {
            b"<ern-c-sftp:FtpAcknowledgementMessage this is not XML".to_vec()
        } else {
            choreography::write_ack(&i.ack)
        };
        if let Err(e) = write_atomically(&dir.join(&name), &bytes) {
            tracing::error!(dsp = self.name(), "writing {name}: {e}");
        }
    }

    /// Where SFTP acknowledgements go, inside the jail.
    pub fn sftp_ack_dir(&self) -> Option<PathBuf> {
        match &self.profile.delivery.as_ref()?.transport {
            Transport::Sftp(s) => {
                Some(self.jail().join(s.acknowledgements.trim_start_matches('/')))
            }
            Transport::Http(_) => None,
        }
    }

    fn inbox(&self) -> Option<PathBuf> {
        match &self.profile.delivery.as_ref()?.transport {
            Transport::Sftp(s) => Some(self.jail().join(s.root.trim_start_matches('/'))),
            Transport::Http(_) => None,
        }
    }

    /// One pass over the SFTP inbox: ingests every complete batch or release folder not
    /// ingested before, oldest folder first (DSPs go by the folder's timestamp).
    pub fn scan(self: &Arc<Self>) {
        let (Some(inbox), Some(acks)) = (self.inbox(), self.sftp_ack_dir()) else {
            return;
        };
        let Ok(rd) = std::fs::read_dir(&inbox) else {
            return;
        };
        let mut folders: Vec<(String, String, PathBuf)> = rd
            .flatten()
            .filter(|e| e.path().is_dir())
            .map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                // Order by the timestamp at the end of the name, not the priority letter.
                let stamp = name.rsplit('_').next().unwrap_or_default().to_owned();
                (stamp, name, e.path())
            })
            .collect();
        folders.sort();
        for (_, name, path) in folders {
            if self.state().processed.contains(&name) {
                continue;
            }
            let batch_id = name.rsplit('_').next().unwrap_or_default();
            let manifest = path.join(choreography::manifest_name(batch_id));
            let messages: Vec<(PathBuf, PathBuf)> = if manifest.is_file() {
                // The manifest names the messages; read it, else ack the batch as invalid.
                match std::fs::read(&manifest)
                    .map_err(|e| e.to_string())
                    .and_then(|b| choreography::read_manifest(&b).map_err(|e| e.to_string()))
                {
                    Ok(m) => m
                        .messages
                        .iter()
                        .map(|e| {
                            let xml = path.join(&e.url);
                            let base = xml.parent().map_or(path.clone(), Path::to_path_buf);
                            (xml, base)
                        })
                        .collect(),
                    Err(e) => {
                        self.mark(&name);
                        let mut a =
                            self.ack(&Party::default(), None, "NewReleaseMessageInvalid", None);
                        a.error_text = Some(format!("{}: {e}", manifest.display()));
                        self.acknowledge(
                            Ingested {
                                message_id: format!("batch-{batch_id}"),
                                release_id: None,
                                ack: a,
                            },
                            acks.clone(),
                        );
                        continue;
                    }
                }
            } else if name.split('_').count() == 3 {
                // Release by release: `{P|N|L}_{ReleaseId}_{stamp}/{ReleaseId}.xml`.
                let rid = name.split('_').nth(1).unwrap_or_default();
                let xml = path.join(format!("{rid}.xml"));
                if !xml.is_file() {
                    continue;
                }
                vec![(xml, path.clone())]
            } else if self.faults.eager {
                glob_messages(&path)
            } else {
                continue;
            };
            self.mark(&name);
            for (xml, base) in messages {
                let ingested = match std::fs::read(&xml) {
                    Ok(b) => self.ingest(&b, &base),
                    Err(e) => Ingested {
                        message_id: xml
                            .file_stem()
                            .map(|s| s.to_string_lossy().into_owned())
                            .unwrap_or_default(),
                        release_id: None,
                        ack: self.ack(
                            &Party::default(),
                            None,
                            "ErnMissing",
                            Some(format!("{}: {e}", xml.display())),
                        ),
                    },
                };
                self.acknowledge(ingested, acks.clone());
            }
        }
    }

    fn mark(&self, key: &str) {
        if let Ok(mut st) = self.state.lock() {
            st.processed.insert(key.to_owned());
            self.save(&st);
        }
    }
}

/// Messages of a batch folder found without a manifest (eager mode).
fn glob_messages(batch: &Path) -> Vec<(PathBuf, PathBuf)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(batch).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir()
            && let Some(rid) = p.file_name().map(|n| n.to_string_lossy().into_owned())
        {
            let xml = p.join(format!("{rid}.xml"));
            if xml.is_file() {
                out.push((xml, p));
            }
        }
    }
    out.sort();
    out
}

/// Settings for a mock serving several DSPs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub root: PathBuf,
    pub schemas: Option<PathBuf>,
    /// Per DSP name.
    pub faults: BTreeMap<String, Faults>,
    /// How often the inboxes are scanned.
    pub scan_every: Duration,
}

/// Running mock DSPs.
#[derive(Debug)]
pub struct Running {
    pub dsps: Vec<Arc<Dsp>>,
    pub keys: keys::Keys,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    pub fn dsp(&self, name: &str) -> Option<&Arc<Dsp>> {
        self.dsps.iter().find(|d| d.name() == name)
    }

    pub fn stop(self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// `faults.toml` under the root, if any: `[dsp-name]` tables of [`Faults`].
pub fn load_faults(root: &Path) -> Result<BTreeMap<String, Faults>, DspError> {
    let path = root.join("faults.toml");
    match std::fs::read_to_string(&path) {
        Ok(s) => {
            toml::from_str(&s).map_err(|e| DspError::Config(format!("{}: {e}", path.display())))
        }
        Err(_) => Ok(BTreeMap::new()),
    }
}

/// Starts the mock DSPs of `profiles` that have a delivery section, on the loopback
/// addresses they name. Keys are made under `root/keys` on first use.
pub async fn start(profiles: &[DspProfile], s: &Settings) -> Result<Running, DspError> {
    let keys = keys::Keys::ensure(&s.root.join("keys"))?;
    let mut dsps = Vec::new();
    let mut tasks = Vec::new();
    let mut http_ports: BTreeMap<(String, u16), Vec<Arc<Dsp>>> = BTreeMap::new();
    for p in profiles {
        let Some(d) = &p.delivery else { continue };
        let dsp = Dsp::new(
            p.clone(),
            &s.root,
            s.schemas.clone(),
            s.faults.get(&p.name).cloned().unwrap_or_default(),
        )?;
        match &d.transport {
            Transport::Sftp(e) => {
                let host_key = keys.host_key(&p.name)?;
                keys.trust(&e.host, e.port, &host_key)?;
                tasks.push(
                    sftp::serve(
                        Arc::clone(&dsp),
                        &e.host,
                        e.port,
                        host_key,
                        keys.user_public()?,
                    )
                    .await?,
                );
                let scanner = Arc::clone(&dsp);
                let every = s.scan_every;
                tasks.push(tokio::spawn(async move {
                    let mut tick = tokio::time::interval(every);
                    loop {
                        tick.tick().await;
                        let d = Arc::clone(&scanner);
                        let _ = tokio::task::spawn_blocking(move || d.scan()).await;
                    }
                }));
            }
            Transport::Http(h) => {
                let (host, port, _) = http::split_url(&h.base_url).ok_or_else(|| {
                    DspError::Config(format!("{}: base_url {}", p.name, h.base_url))
                })?;
                http_ports
                    .entry((host, port))
                    .or_default()
                    .push(Arc::clone(&dsp));
            }
        }
        dsps.push(dsp);
    }
    for ((host, port), group) in http_ports {
        tasks.push(http::serve(group, &host, port, &keys).await?);
    }
    Ok(Running { dsps, keys, tasks })
}
