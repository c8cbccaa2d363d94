//! `doctor`: checks what a deployment needs and says what to fix, one line per check.

use std::path::Path;

use profiles::{HostKey, SftpAuth, Transport};

use crate::config::{Config, Overrides};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

/// One check: how it went, what was seen, and what to do about it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Check {
    pub level: Level,
    pub what: String,
    /// What to do about it (empty when all is well).
    pub fix: String,
}

#[derive(Debug, Default)]
struct Report(Vec<Check>);

impl Report {
    fn ok(&mut self, what: impl Into<String>) {
        self.0.push(Check {
            level: Level::Ok,
            what: what.into(),
            fix: String::new(),
        });
    }
    fn warn(&mut self, what: impl Into<String>, fix: impl Into<String>) {
        self.0.push(Check {
            level: Level::Warn,
            what: what.into(),
            fix: fix.into(),
        });
    }
    fn fail(&mut self, what: impl Into<String>, fix: impl Into<String>) {
        self.0.push(Check {
            level: Level::Fail,
            what: what.into(),
            fix: fix.into(),
        });
    }
}

/// Free space in bytes on the file system holding `p`, from `df` (no unsafe statvfs here).
fn free_bytes(p: &Path) -> Option<u64> {
    let out = std::process::Command::new("df")
        .arg("-Pk")
        .arg(p)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let kb: u64 = text
        .lines()
        .nth(1)?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()?;
    Some(kb * 1024)
}

fn nearest_existing(p: &Path) -> &Path {
    let mut cur = p;
    while !cur.exists() {
        match cur.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => cur = parent,
            _ => return Path::new("."),
        }
    }
    cur
}

/// Every check, in order: configuration, catalog, file store, profiles, schemas,
/// contracts, report layouts, mail, sender.
pub async fn doctor(overrides: &Overrides) -> Vec<Check> {
    let mut r = Report::default();
    let cfg = match Config::load(overrides) {
        Ok(c) => {
            r.ok(format!("configuration read ({})", c.source));
            Some(c)
        }
        Err(e) => {
            r.fail(
                format!("configuration: {}", e.chain()),
                "fix the file named above (see deploy/liner.example.toml)",
            );
            None
        }
    };
    if let Some(cfg) = &cfg {
        check_database(cfg, &mut r).await;
        check_files(cfg, &mut r);
        check_profiles(cfg, &mut r);
        match crate::ern::schemas_dir(None) {
            Some(d) if d.join("ern-4.3").is_dir() => {
                r.ok(format!("DDEX schemas in {}", d.display()))
            }
            Some(d) => r.fail(
                format!("DDEX schema folder {} has no ern-4.3/", d.display()),
                "unpack the ERN XSDs from DDEX there (see docs/ern.md)",
            ),
            None => r.warn(
                "no DDEX schemas found: ERN messages are checked by Liner's rules only",
                "set LINER_DDEX_SCHEMAS to the folder of the official XSDs (docs/ern.md)",
            ),
        }
        match crate::royalty::load_contracts(cfg) {
            Ok(c) => r.ok(format!(
                "contracts: default fee {} bp, {} fee rules, {} advances",
                c.default_fee_bp,
                c.fee.len(),
                c.advance.len()
            )),
            Err(e) => r.fail(
                format!("contracts: {}", e.chain()),
                "fix the contracts file (deploy/contracts.example.toml documents every rule)",
            ),
        }
        match cfg.report_layouts() {
            Ok(l) => r.ok(format!(
                "{} CSV report layouts in {}",
                l.len(),
                cfg.report_formats.display()
            )),
            Err(e) => r.fail(
                format!("report layouts: {e}"),
                "fix the layout named above, or point report_formats at deploy/report-formats",
            ),
        }
        match &cfg.mail.smtp {
            Some((h, p)) => match std::net::TcpStream::connect((h.as_str(), *p)) {
                Ok(_) => r.ok(format!("SMTP server {h}:{p} answers")),
                Err(e) => r.fail(
                    format!("SMTP server {h}:{p}: {e}"),
                    "start the relay or fix [mail] smtp / LINER_SMTP",
                ),
            },
            None => r.warn(
                format!(
                    "no SMTP server: e-mail is written to {}",
                    cfg.mail.outbox.display()
                ),
                "set [mail] smtp = \"host:port\" to send it",
            ),
        }
        match &cfg.summary_to {
            Some(to) => r.ok(format!(
                "operator alerts (dead jobs, refused reports) go to {to}"
            )),
            None => r.warn(
                "no [mail] summary_to: dead jobs and refused sales reports are only logged",
                "set [mail] summary_to = \"ops@…\" so someone hears of them",
            ),
        }
        if cfg.sender.party_id == "PADPIDA2026112601L" {
            r.warn(
                "the sender DPID is Liner's placeholder",
                "set [sender] party_id to the DPID DDEX gave you before delivering to a real DSP",
            );
        } else {
            r.ok(format!("sender {}", cfg.sender.party_id));
        }
    }
    r.0
}

async fn check_database(cfg: &Config, r: &mut Report) {
    let opened = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        crate::open_catalog(&cfg.database, store::OpenMode::Existing),
    )
    .await;
    let Ok(opened) = opened else {
        r.fail(
            format!(
                "database {} did not answer within 5 s",
                store::redact(&cfg.database)
            ),
            "check database / DATABASE_URL, that the server runs and the user may connect",
        );
        return;
    };
    match opened {
        Ok(s) => {
            match s.table_counts().await {
                Ok(counts) => r.ok(format!(
                    "database {} reachable, schema up to date ({})",
                    store::redact(&cfg.database),
                    counts
                        .iter()
                        .map(|(t, n)| format!("{t} {n}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                Err(e) => r.fail(
                    format!("database {}: {e}", store::redact(&cfg.database)),
                    "check the database's permissions",
                ),
            }
            s.close().await;
        }
        Err(store::StoreError::NotInitialised { path }) => {
            r.fail(format!("no catalog at {path}"), "run `liner init`")
        }
        Err(e) => r.fail(
            format!("database: {e}"),
            "check database / DATABASE_URL, that the server runs and the user may connect",
        ),
    }
}

fn check_files(cfg: &Config, r: &mut Report) {
    if let Some(url) = &cfg.files_remote {
        match cfg.open_files() {
            Ok(_) => r.ok(format!("file store {url} reachable (local cache {})", cfg.files.display())),
            Err(e) => r.fail(
                format!("file store: {}", e.chain()),
                "check the bucket, AWS_ENDPOINT_URL and the credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)",
            ),
        }
    }
    let root = &cfg.files;
    if !root.is_dir() {
        r.fail(
            format!("file store {} does not exist", root.display()),
            "run `liner init`, or mount the shared file store there",
        );
    } else {
        let probe = root
            .join("tmp")
            .join(format!(".doctor-{}", std::process::id()));
        match std::fs::create_dir_all(root.join("tmp")).and_then(|_| std::fs::write(&probe, b"x")) {
            Ok(()) => {
                let _ = std::fs::remove_file(&probe);
                r.ok(format!("file store {} writable", root.display()));
            }
            Err(e) => r.fail(
                format!("file store {} not writable: {e}", root.display()),
                "give the Liner user write access to it",
            ),
        }
    }
    match free_bytes(nearest_existing(root)) {
        Some(b) if b < 1 << 30 => r.fail(
            format!("only {} MiB free for the file store", b >> 20),
            "free disk space or move the file store (at least 1 GiB)",
        ),
        Some(b) if b < 10 << 30 => r.warn(
            format!("{} GiB free for the file store", b >> 30),
            "audio masters are large: keep 10 GiB or more free",
        ),
        Some(b) => r.ok(format!("{} GiB free for the file store", b >> 30)),
        None => r.warn(
            "free disk space unknown (`df` failed)",
            "check the disk by hand",
        ),
    }
}

fn check_profiles(cfg: &Config, r: &mut Report) {
    let list = match cfg.load_profiles() {
        Ok(l) => {
            r.ok(format!(
                "{} DSP profiles in {}",
                l.len(),
                cfg.profiles.display()
            ));
            l
        }
        Err(errs) => {
            for e in errs {
                r.fail(
                    format!("DSP profile: {e}"),
                    "fix the profile (deploy/dsps has working examples)",
                );
            }
            return;
        }
    };
    for p in &list {
        let Some(d) = &p.delivery else {
            r.warn(
                format!("{}: no [delivery] section", p.name),
                "add one to deliver to this DSP (docs/delivery.md)",
            );
            continue;
        };
        match &d.transport {
            Transport::Sftp(s) => {
                match &s.host_key {
                    HostKey::KnownHosts(f) if !f.is_file() => r.fail(
                        format!("{}: known_hosts file {} is missing", p.name, f.display()),
                        format!("add the DSP's host key for {}:{} (ssh-keyscan -p {} {} >> {}) after checking its fingerprint with the DSP", s.host, s.port, s.port, s.host, f.display()),
                    ),
                    HostKey::KnownHosts(f) => {
                        let text = std::fs::read_to_string(f).unwrap_or_default();
                        let want = if s.port == 22 { s.host.clone() } else { format!("[{}]:{}", s.host, s.port) };
                        if text.lines().any(|l| l.split_whitespace().next().is_some_and(|h| h.split(',').any(|x| x == want))) {
                            r.ok(format!("{}: host key for {want} pinned", p.name));
                        } else {
                            r.fail(format!("{}: {} has no key for {want}", p.name, f.display()), "add the DSP's host key (checked with the DSP) to that file");
                        }
                    }
                    HostKey::Fingerprint(_) => r.ok(format!("{}: host key pinned by fingerprint", p.name)),
                }
                match &s.auth {
                    SftpAuth::KeyFile { path, .. } if !path.is_file() => r.fail(
                        format!("{}: SSH key {} is missing", p.name, path.display()),
                        "put the private key there (mode 600), or run `liner dsp serve` once for the mock's",
                    ),
                    SftpAuth::KeyFile { path, .. } => r.ok(format!("{}: SSH key {}", p.name, path.display())),
                    SftpAuth::PasswordEnv(v) if std::env::var_os(v).is_none() => {
                        r.fail(format!("{}: password variable {v} is not set", p.name), format!("export {v} in the worker's environment"))
                    }
                    SftpAuth::PasswordEnv(v) => r.ok(format!("{}: password from {v}", p.name)),
                }
            }
            Transport::Http(h) => {
                let env_ok = h
                    .token_env
                    .as_ref()
                    .is_some_and(|v| std::env::var_os(v).is_some());
                let file_ok = h.token_file.as_ref().is_some_and(|f| f.is_file());
                if env_ok || file_ok {
                    r.ok(format!("{}: API token resolvable", p.name));
                } else {
                    r.fail(
                        format!(
                            "{}: no API token ({}{})",
                            p.name,
                            h.token_env
                                .as_deref()
                                .map(|v| format!("{v} unset"))
                                .unwrap_or_default(),
                            h.token_file
                                .as_ref()
                                .map(|f| format!(", {} missing", f.display()))
                                .unwrap_or_default()
                        ),
                        "set the token variable or write the token file",
                    );
                }
            }
        }
    }
}
