//! Liner's application layer: the use cases the CLI, the worker and the web all call. An
//! [`App`] is opened once per process; a use case takes it, a typed request, the person
//! it acts for where a decision is signed, and an [`Events`] sink; it returns a typed
//! outcome or an [`Error`]. Nothing here prints: front ends render.
//!
//! Time: every rule gets "now" from the App's [`Clock`], in UTC (dates are UTC dates).
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod catalog;
pub mod config;
pub mod delivery;
pub mod doctor;
pub mod ern;
pub mod error;
pub mod events;
pub mod fetch;
pub mod files;
pub mod home;
pub mod jobs;
pub mod ledger;
pub mod qc;
pub mod review;
pub mod royalty;

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use filestore::FileStore;
use profiles::DspProfile;
use store::{OpenMode, Store};

pub use config::{Config, Overrides};
pub use error::{Context, Error, NotCleared, Result};
pub use events::{Events, Level, Logged, Meter, MeterKind, Recorded};

/// Where "now" comes from: the system clock, or a fixed time (tests, replays).
#[derive(Debug, Clone, Copy, Default)]
pub struct Clock {
    fixed: Option<DateTime<Utc>>,
}

impl Clock {
    pub fn system() -> Clock {
        Clock { fixed: None }
    }

    pub fn fixed(at: DateTime<Utc>) -> Clock {
        Clock { fixed: Some(at) }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.fixed.unwrap_or_else(Utc::now)
    }

    /// Today's date in UTC.
    pub fn today(&self) -> NaiveDate {
        self.now().date_naive()
    }
}

/// Sends notices without blocking the async runtime (SMTP is a blocking protocol client).
#[derive(Debug, Clone)]
pub struct Notifier {
    mailer: notify::Mailer,
}

impl Notifier {
    pub fn new(mailer: notify::Mailer) -> Notifier {
        Notifier { mailer }
    }

    pub async fn send(&self, notice: notify::Notice) -> Result<notify::Sent> {
        let mailer = self.mailer.clone();
        Ok(tokio::task::spawn_blocking(move || mailer.send(&notice)).await??)
    }
}

/// The process's handle on Liner: catalog pool, file store, checked DSP profiles, settings,
/// notifier and clock. Cheap to clone (the parts are shared).
#[derive(Debug, Clone)]
pub struct App {
    config: Arc<Config>,
    catalog: Store,
    files: FileStore,
    /// The DSP profiles, checked once; the problems if they do not load (commands that need
    /// no profile still run).
    profiles: Arc<std::result::Result<Vec<DspProfile>, String>>,
    notifier: Notifier,
    clock: Clock,
}

impl App {
    /// Opens the configured catalog (which must exist: `liner init` makes it) and file store.
    pub async fn open(config: Config) -> Result<App> {
        App::open_with(config, OpenMode::Existing, Clock::system()).await
    }

    /// Opens the catalog, creating it (and its schema) when missing.
    pub async fn create(config: Config) -> Result<App> {
        App::open_with(config, OpenMode::Create, Clock::system()).await
    }

    pub async fn open_with(config: Config, mode: OpenMode, clock: Clock) -> Result<App> {
        let catalog = open_catalog(&config.database, mode).await?;
        let files = config.open_files()?;
        // Checked once; commands that need no profile still run when they do not load.
        let profiles = crate::ern::load_profiles(&config).map_err(|e| e.to_string());
        Ok(App {
            notifier: Notifier::new(config.mail.clone()),
            config: Arc::new(config),
            catalog,
            files,
            profiles: Arc::new(profiles),
            clock,
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn catalog(&self) -> &Store {
        &self.catalog
    }

    pub fn files(&self) -> &FileStore {
        &self.files
    }

    /// The DSP profiles, or why they do not load.
    pub fn profiles(&self) -> Result<&[DspProfile]> {
        match &*self.profiles {
            Ok(p) => Ok(p),
            Err(e) => Err(Error::Failed(e.clone())),
        }
    }

    /// One DSP profile by name.
    pub fn profile(&self, name: &str) -> Result<&DspProfile> {
        self.profiles()?
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| Error::NotFound(format!("no DSP profile {name:?}")))
    }

    pub fn notifier(&self) -> &Notifier {
        &self.notifier
    }

    pub fn clock(&self) -> Clock {
        self.clock
    }

    /// Closes the catalog pool (waits for its connections to finish).
    pub async fn close(&self) {
        self.catalog.close().await;
    }
}

/// Opens (and migrates) the catalog: the one place a process does, through `App::open`
/// (and `doctor`, which reports how it fails).
pub async fn open_catalog(database: &str, mode: OpenMode) -> Result<Store, store::StoreError> {
    Store::open(database, mode).await
}

/// This machine's name, for leases, locks and logs.
pub fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into())
}

/// A UPC typed to find a release in the catalog. Its check digit is not required here: a
/// release received with an unverified UPC (see `Release::unverified`) is found by the code it
/// was stored under; a code that is not in the catalog still fails the lookup.
pub fn lookup_upc(s: &str) -> Result<model::Icpn> {
    model::Icpn::parse_unverified(s)
        .map(|(u, _)| u)
        .map_err(|e| Error::Refused(e.to_string()))
}

/// For "not in the catalog" errors: explains a UPC that also fails its check digit.
pub fn upc_note(upc: &model::Icpn) -> String {
    match model::Icpn::parse(upc.as_str()) {
        Ok(_) => String::new(),
        Err(e) => format!(" ({e}: mistyped?)"),
    }
}

/// This process's peak resident memory (VmHWM) in MiB; 0 where /proc is not there.
pub fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// A database URL fit for people and logs: the password, if any, replaced.
pub fn redact(url: &str) -> String {
    store::redact(url)
}

/// The rows front ends show, as the catalog keeps them (typed, `Serialize`).
pub mod views {
    pub use filestore::Blob;
    pub use notify::Mailer;
    pub use store::{FxRate, Gate, ReleaseSummary, StoredRevision};
}

/// The catalog's handle type, for the commands that still read it directly (issue 18 moves
/// them into use cases).
pub use store::Store as Catalog;

/// The URL of an SQLite catalog file.
pub fn sqlite_url(path: &std::path::Path) -> String {
    store::sqlite_url(path)
}
