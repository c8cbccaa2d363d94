//! Configuration, layered: built-in defaults < `liner.toml` < environment (`DATABASE_URL`,
//! then `LINER_*`) < command-line flags. The `liner.toml` is the one `--config`/`LINER_CONFIG`
//! names, else the Liner home's (`LINER_HOME`, else the nearest folder at or above the
//! current one with a `liner.toml`, see `home.rs`). Relative paths in a config file, the
//! defaults and the DSP profiles' key files are relative to that file's folder, so commands
//! work from any subfolder and `liner -c /etc/liner/liner.toml` from anywhere.

use std::path::{Path, PathBuf};

use crate::{Context, Result, bail};
use serde::Deserialize;

/// The file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    /// `sqlite://PATH` or `postgres://USER@HOST/DB`.
    database: Option<String>,
    /// The content-addressed file store (audio, artwork, reports).
    files: Option<PathBuf>,
    /// Folder of DSP profiles (`*.toml`).
    profiles: Option<PathBuf>,
    /// Who signs staff review decisions ("Name <email>").
    operator: Option<String>,
    /// The AI policy of labels not listed under `[labels]`.
    ai_policy: Option<qc::AiPolicy>,
    /// Per-label settings, by label name.
    #[serde(default)]
    labels: std::collections::BTreeMap<String, LabelConfig>,
    /// Stylised names and act names QC's casing and one-artist rules leave alone.
    #[serde(default)]
    allow: Vec<String>,
    /// Where delivery e-mail goes.
    mail: Option<MailFile>,
    /// Royalty contracts (fees, advances, reserves, withholding): a TOML file.
    contracts: Option<PathBuf>,
    /// Folder of CSV sales-report layouts (`*.toml`).
    report_formats: Option<PathBuf>,
    /// What `liner worker` runs on its own, and how often.
    schedule: Option<Schedule>,
    /// The distributor as the sender of ERN messages (and recipient of sales reports).
    sender: Option<SenderFile>,
    /// Resource limits on users' input (docs/limits.md).
    limits: Option<model::Limits>,
}

/// `[sender]`: the distributor's DDEX party id (DPID, from DDEX) and name.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SenderFile {
    party_id: Option<String>,
    name: Option<String>,
}

pub use schedule::Schedule;

/// `[mail]`: a plain SMTP relay (loopback or a local MTA); without one, e-mail is written
/// to the outbox folder.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MailFile {
    /// `host:port`.
    smtp: Option<String>,
    from: Option<String>,
    outbox: Option<PathBuf>,
    /// Who gets the daily delivery summary.
    summary_to: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LabelConfig {
    ai_policy: Option<qc::AiPolicy>,
}

/// Flags that override the environment and the file.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub database: Option<String>,
    pub files: Option<PathBuf>,
    pub profiles: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database: String,
    /// The file store's folder; with `files_remote`, the local cache of verified copies
    /// and the staging folder.
    pub files: PathBuf,
    /// `files = "s3://bucket/prefix"`: the file store is that bucket (endpoint and
    /// credentials from `AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`).
    pub files_remote: Option<String>,
    pub profiles: PathBuf,
    /// Where each value came from, for `liner init` and error messages.
    pub source: String,
    pub operator: Option<String>,
    pub ai_policy: qc::AiPolicy,
    pub label_ai_policy: std::collections::BTreeMap<String, qc::AiPolicy>,
    pub allow: Vec<String>,
    pub mail: notify::Mailer,
    pub summary_to: Option<String>,
    pub contracts: Option<PathBuf>,
    pub report_formats: PathBuf,
    pub schedule: Schedule,
    /// `[limits]`: what a user's input may cost (docs/limits.md).
    pub limits: model::Limits,
    /// Who Liner's ERN messages come from (`[sender]`, `LINER_DPID`, `LINER_SENDER_NAME`).
    pub sender: ern::MessageParty,
    /// The folder of the `liner.toml` in use (the Liner home), if any.
    pub home: Option<PathBuf>,
    /// `profiles` and `report_formats` were not configured: when their default folders do
    /// not exist, the ones shipped in the binary are used.
    pub builtin_fallback: bool,
}

impl Config {
    /// The folder relative paths are taken from: the home, else the current folder.
    pub fn base(&self) -> PathBuf {
        self.home.clone().unwrap_or_default()
    }

    /// The DSP profiles, their key and token files taken relative to the home. Unconfigured
    /// and with no folder at the default place: the profiles shipped in the binary.
    pub fn load_profiles(
        &self,
    ) -> std::result::Result<Vec<profiles::DspProfile>, Vec<profiles::ProfileError>> {
        let mut list = if self.builtin_fallback && !self.profiles.is_dir() {
            let mut v = Vec::new();
            let mut errors = Vec::new();
            for (name, text) in crate::home::PROFILES {
                match profiles::DspProfile::parse(&Path::new("(built in)").join(name), text) {
                    Ok(p) => v.push(p),
                    Err(e) => errors.extend(e),
                }
            }
            if !errors.is_empty() {
                return Err(errors);
            }
            v
        } else {
            profiles::load_dir(&self.profiles)?
        };
        let base = self.base();
        for p in &mut list {
            if let Some(d) = &mut p.delivery {
                d.rebase(&base);
            }
        }
        Ok(list)
    }

    /// The CSV report layouts; unconfigured and with no folder: the ones shipped in the binary.
    pub fn report_layouts(
        &self,
    ) -> std::result::Result<
        std::collections::BTreeMap<String, report_csv::Layout>,
        report_csv::LayoutError,
    > {
        if self.builtin_fallback && !self.report_formats.is_dir() {
            let mut out = std::collections::BTreeMap::new();
            for (name, text) in crate::home::REPORT_FORMATS {
                let l = report_csv::Layout::parse(text, &Path::new("(built in)").join(name))?;
                out.insert(l.name.clone(), l);
            }
            return Ok(out);
        }
        report_csv::Layout::load_dir(&self.report_formats)
    }

    /// The mock DSPs' folder (keys, received files): the shipped profiles expect it here.
    pub fn mock_root(&self) -> PathBuf {
        self.base().join(DEFAULT_DIR).join("dsp")
    }

    /// The AI policy QC applies to a label's releases.
    pub fn ai_policy_for(&self, label: &str) -> qc::AiPolicy {
        self.label_ai_policy
            .get(label)
            .copied()
            .unwrap_or(self.ai_policy)
    }
}

pub const DEFAULT_DIR: &str = ".liner";

impl Config {
    pub fn load(o: &Overrides) -> Result<Config> {
        Config::load_with(o, |k| std::env::var(k).ok())
    }

    /// `env` is a parameter so tests can layer without touching the process environment.
    pub fn load_with(o: &Overrides, env: impl Fn(&str) -> Option<String>) -> Result<Config> {
        let explicit = o
            .config
            .clone()
            .or_else(|| env("LINER_CONFIG").map(PathBuf::from));
        let cwd = std::env::current_dir().context("the current folder")?;
        let home = match &explicit {
            Some(p) => {
                let p = if p.is_relative() {
                    cwd.join(p)
                } else {
                    p.clone()
                };
                p.is_file()
                    .then(|| p.parent().map(Path::to_path_buf).unwrap_or_default())
            }
            None => crate::home::find(env("LINER_HOME").as_deref(), &cwd)?,
        };
        let path = explicit.clone().unwrap_or_else(|| match &home {
            Some(h) => h.join(crate::home::CONFIG),
            None => PathBuf::from(crate::home::CONFIG),
        });
        // Without a home, the defaults are the current folder's (a source checkout's
        // deploy/ folders); in a home, its own.
        let base = home.clone().unwrap_or_default();
        let mut database = format!(
            "sqlite://{}",
            base.join(DEFAULT_DIR).join("catalog.db").display()
        );
        let mut files = base.join(DEFAULT_DIR).join("files");
        let mut files_remote: Option<String> = None;
        let mut profiles = match &home {
            Some(h) => h.join("dsps"),
            None => PathBuf::from("deploy/dsps"),
        };
        let mut source = "defaults".to_owned();
        let mut operator = None;
        let mut ai_policy = qc::AiPolicy::default();
        let mut label_ai_policy = std::collections::BTreeMap::new();
        let mut allow = Vec::new();
        let mut smtp: Option<String> = None;
        let mut from = "liner@localhost".to_owned();
        let mut outbox = base.join(DEFAULT_DIR).join("outbox");
        let mut summary_to = None;
        let mut contracts: Option<PathBuf> = None;
        let mut report_formats = match &home {
            Some(h) => h.join("report-formats"),
            None => PathBuf::from("deploy/report-formats"),
        };
        let mut schedule = Schedule::default();
        let mut limits = model::Limits::default();
        let mut configured_paths = false;
        // A placeholder DPID: a distributor gets its own from DDEX and sets it in [sender].
        let mut sender_id = "PADPIDA2026112601L".to_owned();
        let mut sender_name = "Liner".to_owned();

        if path.is_file() {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let file: ConfigFile = toml::from_str(&text)
                .map_err(|e| crate::err!("{}: {}", path.display(), e.to_string().trim_end()))?;
            let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
            let rel = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
            if let Some(d) = file.database {
                database = match d.strip_prefix("sqlite://") {
                    Some(p) if !Path::new(p).is_absolute() => {
                        format!("sqlite://{}", base.join(p).display())
                    }
                    _ => d,
                };
            }
            if let Some(f) = file.files {
                match bucket(&f) {
                    Some(url) => files_remote = Some(url),
                    None => files = rel(f),
                }
            }
            if let Some(p) = file.profiles {
                profiles = rel(p);
                configured_paths = true;
            }
            operator = file.operator;
            ai_policy = file.ai_policy.unwrap_or_default();
            label_ai_policy = file
                .labels
                .into_iter()
                .filter_map(|(name, l)| l.ai_policy.map(|p| (name, p)))
                .collect();
            allow = file.allow;
            if let Some(m) = file.mail {
                smtp = m.smtp;
                if let Some(f) = m.from {
                    from = f;
                }
                if let Some(o) = m.outbox {
                    outbox = rel(o);
                }
                summary_to = m.summary_to;
            }
            contracts = file.contracts.map(&rel);
            if let Some(r) = file.report_formats {
                report_formats = rel(r);
                configured_paths = true;
            }
            if let Some(s) = file.schedule {
                schedule = s;
            }
            if let Some(l) = file.limits {
                limits = l;
            }
            if let Some(s) = file.sender {
                if let Some(id) = s.party_id {
                    sender_id = id;
                }
                if let Some(n) = s.name {
                    sender_name = n;
                }
            }
            source = path.display().to_string();
        } else if let Some(p) = explicit {
            bail!("config file {} does not exist", p.display());
        }

        if let Some(url) = env("DATABASE_URL") {
            database = url;
        }
        if let Some(url) = env("LINER_DATABASE") {
            database = url;
        }
        if let Some(f) = env("LINER_FILES") {
            match bucket(Path::new(&f)) {
                Some(url) => files_remote = Some(url),
                None => {
                    files = PathBuf::from(f);
                    files_remote = None;
                }
            }
        }
        if let Some(p) = env("LINER_PROFILES") {
            profiles = PathBuf::from(p);
            configured_paths = true;
        }
        if let Some(s) = env("LINER_SMTP") {
            smtp = Some(s);
        }
        if let Some(f) = env("LINER_MAIL_FROM") {
            from = f;
        }
        if let Some(o) = env("LINER_OUTBOX") {
            outbox = PathBuf::from(o);
        }
        let smtp = match smtp.filter(|s| !s.is_empty()) {
            Some(s) => {
                let (h, p) = s
                    .rsplit_once(':')
                    .and_then(|(h, p)| Some((h.to_owned(), p.parse::<u16>().ok()?)))
                    .ok_or_else(|| crate::err!("mail.smtp {s:?}: expected host:port"))?;
                Some((h, p))
            }
            None => None,
        };
        if let Some(c) = env("LINER_CONTRACTS") {
            contracts = Some(PathBuf::from(c));
        }
        if let Some(r) = env("LINER_REPORT_FORMATS") {
            report_formats = PathBuf::from(r);
            configured_paths = true;
        }
        if let Some(id) = env("LINER_DPID") {
            sender_id = id;
        }
        if let Some(n) = env("LINER_SENDER_NAME") {
            sender_name = n;
        }
        let sender_id = model::Dpid::parse(&sender_id)
            .map_err(|e| crate::err!("sender.party_id {sender_id:?}: {e}"))?
            .as_str()
            .to_owned();
        if let Some(op) = env("LINER_OPERATOR") {
            operator = Some(op);
        }
        if let Some(d) = &o.database {
            database = d.clone();
        }
        if let Some(f) = &o.files {
            match bucket(f) {
                Some(url) => files_remote = Some(url),
                None => {
                    files = f.clone();
                    files_remote = None;
                }
            }
        }
        if let Some(p) = &o.profiles {
            profiles = p.clone();
            configured_paths = true;
        }
        if store::Backend::of_url(&database).is_none() {
            bail!(
                "database {:?} is not a sqlite:// or postgres:// URL",
                store::redact(&database)
            );
        }
        Ok(Config {
            database,
            files,
            files_remote,
            profiles,
            source,
            operator: operator.filter(|o| !o.trim().is_empty()),
            ai_policy,
            label_ai_policy,
            allow,
            mail: notify::Mailer { smtp, from, outbox },
            summary_to,
            contracts,
            report_formats,
            schedule,
            limits,
            sender: ern::MessageParty {
                party_id: sender_id,
                name: Some(sender_name),
            },
            home,
            builtin_fallback: !configured_paths,
        })
    }
}

/// `s3://bucket/prefix` given where a folder may be: the bucket's URL.
fn bucket(p: &Path) -> Option<String> {
    p.to_str()
        .filter(|s| s.starts_with("s3://"))
        .map(|s| s.trim_end_matches('/').to_owned())
}

impl Config {
    /// Opens the configured file store: the folder, or the bucket with the folder as its
    /// local cache.
    pub fn open_files(&self) -> Result<filestore::FileStore> {
        Ok(match &self.files_remote {
            Some(url) => filestore::FileStore::open_s3(
                &self.files,
                &filestore::S3Settings::from_url(url, |k| std::env::var(k).ok())?,
            )?,
            None => filestore::FileStore::open(&self.files)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_in_order() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg_path = dir.path().join("liner.toml");
        std::fs::write(
            &cfg_path,
            "database = \"sqlite://cat.db\"\nfiles = \"blobs\"\n",
        )
        .expect("write");
        let o = Overrides {
            config: Some(cfg_path.clone()),
            ..Overrides::default()
        };
        let none = |_: &str| None;
        let c = Config::load_with(&o, none).expect("load");
        assert_eq!(
            c.database,
            format!("sqlite://{}", dir.path().join("cat.db").display()),
            "relative to the file"
        );
        assert_eq!(c.files, dir.path().join("blobs"));
        assert_eq!(
            c.profiles,
            dir.path().join("dsps"),
            "default: the home's own"
        );
        assert_eq!(c.home.as_deref(), Some(dir.path()));

        let env = |k: &str| match k {
            "DATABASE_URL" => Some("postgres://a@h/x".to_owned()),
            "LINER_FILES" => Some("/srv/files".to_owned()),
            _ => None,
        };
        let c = Config::load_with(&o, env).expect("load");
        assert_eq!(c.database, "postgres://a@h/x", "environment beats the file");
        assert_eq!(c.files, PathBuf::from("/srv/files"));

        let o2 = Overrides {
            database: Some("sqlite://flag.db".into()),
            ..o.clone()
        };
        assert_eq!(
            Config::load_with(&o2, env).expect("load").database,
            "sqlite://flag.db",
            "flags beat everything"
        );

        std::fs::write(&cfg_path, "databse = \"x\"\n").expect("write");
        let err = Config::load_with(&o, none).expect_err("typo in key");
        assert!(err.to_string().contains("databse"), "{err}");
        let missing = Overrides {
            config: Some(dir.path().join("nope.toml")),
            ..Overrides::default()
        };
        assert!(Config::load_with(&missing, none).is_err());
        let bad = Overrides {
            database: Some("mysql://x".into()),
            ..Overrides::default()
        };
        assert!(Config::load_with(&bad, none).is_err());
    }

    #[test]
    fn the_shipped_example_config_loads() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/liner.example.toml");
        let o = Overrides {
            config: Some(example),
            ..Overrides::default()
        };
        let c = Config::load_with(&o, |_| None).expect("example loads");
        // The example documents the limits with their defaults.
        assert_eq!(c.limits, model::Limits::default());
        assert!(
            c.database.starts_with("sqlite://") && c.database.ends_with(".liner/catalog.db"),
            "{}",
            c.database
        );
        assert!(c.profiles.ends_with("deploy/dsps"));
        assert_eq!(
            c.operator.as_deref(),
            Some("Rosa Staff <rosa@distributor.example>")
        );
        assert_eq!(c.ai_policy_for("Nightjar Records"), qc::AiPolicy::Allow);
        assert_eq!(c.ai_policy_for("Any Other Label"), qc::AiPolicy::Review);
        assert!(c.allow.iter().any(|a| a == "Simon & Garfunkel"));
        assert_eq!(
            c.schedule,
            Schedule::default(),
            "the example shows the defaults"
        );
        assert_eq!(c.summary_to.as_deref(), Some("ops@distributor.example"));
        assert!(
            c.contracts
                .is_some_and(|p| p.ends_with("deploy/contracts.example.toml"))
        );
        let o = Overrides {
            config: Some(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/liner.example.toml"),
            ),
            ..Overrides::default()
        };
        let env =
            |k: &str| (k == "LINER_OPERATOR").then(|| "Night Shift <ops@example.com>".to_owned());
        assert_eq!(
            Config::load_with(&o, env)
                .expect("loads")
                .operator
                .as_deref(),
            Some("Night Shift <ops@example.com>")
        );
    }
}
