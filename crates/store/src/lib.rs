//! The catalog store. SQLite (a file, the embedded default) or PostgreSQL (when a URL names
//! one), through sqlx's `Any` driver so every query is written once. Each backend has its
//! own migrations (`migrations/sqlite`, `migrations/postgres`) because column types differ;
//! the queries themselves stay in the portable subset (TEXT timestamps, BIGINT counters,
//! `$n` placeholders, which SQLite accepts too).
//!
//! Invariants kept here:
//! - A release is imported whole or not at all: one transaction per release.
//! - Importing an unchanged release changes nothing (not even a timestamp); a changed one
//!   becomes a new revision, and every earlier revision is kept.

use std::str::FromStr;

mod delivery;
mod ern;
mod fetched;
mod jobs;
mod ledger;
mod locks;
mod qc;
mod statements;
pub use delivery::{AckRow, DeliveryFile, DeliveryRow, NewAck, NewDelivery};
pub use ern::{NewMessage, SentMessage};
pub use fetched::FetchedReport;
pub use jobs::{Failed, Job, NewJob, backoff};
pub use ledger::{
    DspId, FxRate, NewReport, NewTx, PayeeRow, Payout, Posting, ReportImport, ReportRow, Unmatched,
    UnmatchedGroup,
};
pub use locks::LockHeld;
pub use qc::{
    Decision, Gate, IndexedTrack, NewDecision, NewQcRun, QcRun, STATUS_APPROVED, STATUS_QC_BLOCKED,
    STATUS_QC_PASSED, STATUS_REJECTED,
};
pub use statements::FinalStatement;

use chrono::{SecondsFormat, Utc};
use model::{ContentHash, FileRef, Icpn, Release};
use sha2::{Digest, Sha256};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the catalog at {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("no catalog at {path}: run `liner init` first")]
    NotInitialised { path: String },
    #[error("unsupported database URL {url}: expected sqlite://PATH or postgres://…")]
    UnsupportedUrl { url: String },
    #[error("migrating the catalog schema: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("catalog query failed: {0}")]
    Query(#[from] sqlx::Error),
    #[error("release {upc} refers to {hash}, which is not in the catalog's file list")]
    UnknownFile { upc: String, hash: String },
    #[error("release {upc} still refers to a file by path ({path}); store its files first")]
    UnstoredFile { upc: String, path: String },
    #[error("a delivery cannot move from {from} to {to}")]
    BadMove {
        from: &'static str,
        to: &'static str,
    },
    #[error(
        "ledger key {key} was posted before (transaction {id}) with other entries; a posted transaction is never changed"
    )]
    LedgerConflict { key: String, id: i64 },
    #[error("transaction {key} does not balance: {sums}")]
    Unbalanced { key: String, sums: String },
    #[error(
        "exchange rate {what} is recorded as {old}; refusing {new} (rates booked against are never changed)"
    )]
    RateConflict {
        what: String,
        old: String,
        new: String,
    },
    #[error(
        "the catalog database stayed busy for {waited} s: another Liner process kept writing to it. Try again when it has finished (`liner jobs list` shows the worker's jobs)"
    )]
    Busy { waited: u64 },
    #[error("stored release {upc} revision {revision} cannot be read back: {why}")]
    Corrupt {
        upc: String,
        revision: i64,
        why: String,
    },
}

/// How long a write waits for SQLite's single writer before giving up.
pub const WRITE_WAIT: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// SQLite's "database is locked" (SQLITE_BUSY, also as extended codes like 517).
fn is_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            d.code()
                .is_some_and(|c| c == "5" || c.parse::<i32>().is_ok_and(|n| n & 0xff == 5))
                || d.message().contains("database is locked")
        }
        _ => false,
    }
}

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// Whether opening a SQLite catalog may create it (`liner init`) or must find it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    Create,
    Existing,
}

/// A URL fit for logs and errors: the password, if any, replaced.
pub fn redact(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((cred, host)) = rest.split_once('@')
        && let Some((user, _)) = cred.split_once(':')
    {
        return format!("{scheme}://{user}:***@{host}");
    }
    url.to_owned()
}

/// A file the catalog knows: its digests as computed when it was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    pub sha256: ContentHash,
    pub md5: String,
    pub size: u64,
    pub original_name: String,
}

/// One row of `liner releases`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReleaseSummary {
    pub upc: String,
    pub title: String,
    pub artist: String,
    pub label: String,
    pub release_type: String,
    pub release_date: String,
    pub tracks: i64,
    pub status: String,
    pub revision: i64,
    pub updated_at: String,
}

/// A stored revision of a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRevision {
    pub upc: String,
    pub revision: i64,
    /// Canonical JSON of the release, file references as `sha256:` hashes.
    pub document: String,
    pub document_sha256: String,
    pub source: String,
    pub imported_at: String,
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportOutcome {
    Created { revision: i64 },
    Updated { revision: i64 },
    Unchanged { revision: i64 },
}

/// Status of a release in the pipeline. Later stages (QC, delivery) add theirs.
pub const STATUS_IMPORTED: &str = "imported";

#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

pub(crate) fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The canonical stored form of a release: compact JSON of the model. Equal releases give
/// equal bytes (struct field order is fixed, sets are sorted), so its hash tells "unchanged".
pub fn canonical_document(release: &Release) -> String {
    serde_json::to_string(release).unwrap_or_default()
}

impl Store {
    /// Opens the catalog at `url` and brings its schema up to date.
    pub async fn open(url: &str, mode: OpenMode) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend =
            Backend::of_url(url).ok_or_else(|| StoreError::UnsupportedUrl { url: redact(url) })?;
        let mut connect_url = url.to_owned();
        if backend == Backend::Sqlite {
            let path = sqlite_path(url);
            match mode {
                OpenMode::Existing
                    if path != ":memory:" && !std::path::Path::new(&path).is_file() =>
                {
                    return Err(StoreError::NotInitialised { path });
                }
                OpenMode::Create => {
                    if let Some(parent) = std::path::Path::new(&path)
                        .parent()
                        .filter(|p| !p.as_os_str().is_empty())
                    {
                        std::fs::create_dir_all(parent).map_err(|e| StoreError::Connect {
                            url: redact(url),
                            source: sqlx::Error::Io(e),
                        })?;
                    }
                    if !connect_url.contains("mode=") {
                        connect_url.push_str(if connect_url.contains('?') {
                            "&mode=rwc"
                        } else {
                            "?mode=rwc"
                        });
                    }
                }
                OpenMode::Existing => {}
            }
        }
        let pool = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 8 })
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the single writer; foreign keys are off by default in SQLite.
                        sqlx::query("PRAGMA journal_mode = WAL")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA foreign_keys = ON")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA busy_timeout = 10000")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&connect_url)
            .await
            .map_err(|source| StoreError::Connect {
                url: redact(url),
                source,
            })?;
        let store = Store { pool, backend };
        store.migrate().await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    /// A transaction that will write. On SQLite it takes the writer's lock at once
    /// (`BEGIN IMMEDIATE`): a deferred transaction that read first would fail at once with
    /// "database is locked" when another writer committed in between. SQLite has one writer
    /// at a time; a second import waits for the first rather than failing. It says once that
    /// it waits, and gives up with [`StoreError::Busy`] after [`WRITE_WAIT`].
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        match self.backend {
            Backend::Sqlite => {
                let started = std::time::Instant::now();
                let mut said = false;
                loop {
                    match self.pool.begin_with("BEGIN IMMEDIATE").await {
                        Ok(t) => return Ok(t),
                        Err(e) if is_busy(&e) => {
                            if started.elapsed() >= WRITE_WAIT {
                                return Err(StoreError::Busy {
                                    waited: started.elapsed().as_secs(),
                                });
                            }
                            if !said {
                                tracing::warn!(
                                    "the catalog database is busy: another Liner process is writing to it (an import?); waiting for it, up to {} minutes",
                                    WRITE_WAIT.as_secs() / 60
                                );
                                said = true;
                            }
                            // busy_timeout has already waited inside SQLite; try again.
                            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            Backend::Postgres => Ok(self.pool.begin().await?),
        }
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub async fn file(&self, hash: &ContentHash) -> Result<Option<FileRecord>, StoreError> {
        let row =
            sqlx::query("SELECT sha256, md5, size, original_name FROM files WHERE sha256 = $1")
                .bind(hash.to_string())
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|r| FileRecord {
            sha256: hash.clone(),
            md5: r.get("md5"),
            size: r.get::<i64, _>("size") as u64,
            original_name: r.get("original_name"),
        }))
    }

    /// Every stored blob something refers to, as lowercase hex SHA-256: catalog files
    /// (masters, artwork, derived delivery files), the files of imported sales reports, and
    /// fetched reports. What is not here is garbage for `liner files gc`.
    pub async fn referenced_blobs(&self) -> Result<std::collections::HashSet<String>, StoreError> {
        let mut out = std::collections::HashSet::new();
        let mut add = |v: &str| {
            let hex = v.strip_prefix("sha256:").unwrap_or(v);
            if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                out.insert(hex.to_ascii_lowercase());
            }
        };
        for q in [
            "SELECT sha256 AS h FROM files",
            "SELECT source AS h FROM delivery_files",
            "SELECT sha256 AS h FROM fetched_reports WHERE outcome <> 'refused'",
        ] {
            for r in sqlx::query(q).fetch_all(&self.pool).await? {
                add(&r.try_get::<String, _>("h")?);
            }
        }
        // A report's files are a JSON list; every hash in it counts.
        for r in sqlx::query("SELECT files FROM sales_reports")
            .fetch_all(&self.pool)
            .await?
        {
            let files: String = r.try_get("files")?;
            let v: serde_json::Value = serde_json::from_str(&files).unwrap_or_default();
            let mut stack = vec![&v];
            while let Some(v) = stack.pop() {
                match v {
                    serde_json::Value::String(s) => add(s),
                    serde_json::Value::Array(a) => stack.extend(a),
                    serde_json::Value::Object(o) => stack.extend(o.values()),
                    _ => {}
                }
            }
        }
        Ok(out)
    }

    /// Every file the catalog knows, by hash.
    pub async fn files(&self) -> Result<Vec<FileRecord>, StoreError> {
        let rows =
            sqlx::query("SELECT sha256, md5, size, original_name FROM files ORDER BY sha256")
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|r| {
                let hash: String = r.get("sha256");
                let sha256 = ContentHash::parse(&hash).map_err(|e| StoreError::Corrupt {
                    upc: "-".into(),
                    revision: 0,
                    why: e.to_string(),
                })?;
                Ok(FileRecord {
                    sha256,
                    md5: r.get("md5"),
                    size: r.get::<i64, _>("size") as u64,
                    original_name: r.get("original_name"),
                })
            })
            .collect()
    }

    /// Imports one release whose file references are all content hashes: either among
    /// `files` (recorded in the same transaction) or already in the catalog. One transaction:
    /// the release, its revision, tracks, label, payees and file records, whole or nothing.
    pub async fn import_release(
        &self,
        release: &Release,
        files: &[FileRecord],
        source: &str,
    ) -> Result<ImportOutcome, StoreError> {
        let upc = release.upc.to_string();
        for (_, r) in release.file_refs() {
            match r {
                FileRef::Path(p) => {
                    return Err(StoreError::UnstoredFile {
                        upc,
                        path: p.clone(),
                    });
                }
                FileRef::Stored(h) => {
                    if !files.iter().any(|f| &f.sha256 == h) && self.file(h).await?.is_none() {
                        return Err(StoreError::UnknownFile {
                            upc,
                            hash: h.to_string(),
                        });
                    }
                }
            }
        }
        let document = canonical_document(release);
        let doc_hash = hex::encode(Sha256::digest(document.as_bytes()));
        let ts = now();

        let mut tx = self.begin_write().await?;
        let current: Option<(i64, String)> = sqlx::query(
            "SELECT r.current_revision, v.document_sha256 FROM releases r JOIN release_revisions v ON v.upc = r.upc AND v.revision = r.current_revision WHERE r.upc = $1",
        )
        .bind(&upc)
        .fetch_optional(&mut *tx)
        .await?
        .map(|row: AnyRow| (row.get(0), row.get(1)));

        if let Some((rev, hash)) = &current
            && *hash == doc_hash
        {
            tx.rollback().await?;
            return Ok(ImportOutcome::Unchanged { revision: *rev });
        }
        let revision = current.as_ref().map_or(1, |(r, _)| r + 1);

        for f in files {
            sqlx::query("INSERT INTO files (sha256, md5, size, original_name, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (sha256) DO NOTHING")
                .bind(f.sha256.to_string())
                .bind(&f.md5)
                .bind(f.size as i64)
                .bind(&f.original_name)
                .bind(&ts)
                .execute(&mut *tx)
                .await?;
        }

        // Label and payee records: written only when they differ, so an unchanged import
        // leaves every row as it was.
        let label = &release.label;
        sqlx::query(
            "INSERT INTO labels (name, dpid, email, updated_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (name) DO UPDATE SET dpid = excluded.dpid, email = excluded.email, updated_at = excluded.updated_at
             WHERE labels.dpid IS DISTINCT FROM excluded.dpid OR labels.email <> excluded.email",
        )
        .bind(&label.name)
        .bind(label.dpid.as_ref().map(ToString::to_string))
        .bind(label.email.to_string())
        .bind(&ts)
        .execute(&mut *tx)
        .await?;
        for p in &release.payees {
            sqlx::query(
                "INSERT INTO payees (id, name, email, currency, payout_threshold_minor, payment_ref, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, email = excluded.email, currency = excluded.currency,
                   payout_threshold_minor = excluded.payout_threshold_minor, payment_ref = excluded.payment_ref, updated_at = excluded.updated_at
                 WHERE payees.name <> excluded.name OR payees.email <> excluded.email OR payees.currency <> excluded.currency
                   OR payees.payout_threshold_minor <> excluded.payout_threshold_minor OR payees.payment_ref <> excluded.payment_ref",
            )
            .bind(p.id.to_string())
            .bind(&p.name)
            .bind(p.email.to_string())
            .bind(p.currency.code().to_owned())
            .bind(p.payout_threshold.minor)
            .bind(&p.payment_ref)
            .bind(&ts)
            .execute(&mut *tx)
            .await?;
        }

        let artist = display_artist(release);
        // One upsert: a new release gets its row, an existing one its new current revision
        // (created_at stays as first written). It precedes the revision row its key refers to.
        sqlx::query(
            "INSERT INTO releases (upc, title, display_artist, label_name, release_type, release_date, track_count, status, current_revision, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
             ON CONFLICT (upc) DO UPDATE SET title = excluded.title, display_artist = excluded.display_artist,
               label_name = excluded.label_name, release_type = excluded.release_type, release_date = excluded.release_date,
               track_count = excluded.track_count, status = excluded.status, current_revision = excluded.current_revision,
               updated_at = excluded.updated_at",
        )
        .bind(&upc)
        .bind(release.display_title())
        .bind(&artist)
        .bind(&label.name)
        .bind(release.release_type.as_str())
        .bind(release.release_date.to_string())
        .bind(release.tracks.len() as i64)
        .bind(STATUS_IMPORTED)
        .bind(revision)
        .bind(&ts)
        .execute(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO release_revisions (upc, revision, document_sha256, document, source, imported_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&upc)
            .bind(revision)
            .bind(&doc_hash)
            .bind(&document)
            .bind(source)
            .bind(&ts)
            .execute(&mut *tx)
            .await?;
        for t in &release.tracks {
            let FileRef::Stored(audio) = &t.audio else {
                continue;
            };
            sqlx::query("INSERT INTO tracks (upc, revision, disc, number, isrc, title, audio_sha256) VALUES ($1, $2, $3, $4, $5, $6, $7)")
                .bind(&upc)
                .bind(revision)
                .bind(i64::from(t.disc))
                .bind(i64::from(t.number))
                .bind(t.isrc.to_string())
                .bind(&t.title)
                .bind(audio.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(if revision == 1 {
            ImportOutcome::Created { revision }
        } else {
            ImportOutcome::Updated { revision }
        })
    }

    pub async fn releases(&self) -> Result<Vec<ReleaseSummary>, StoreError> {
        let rows = sqlx::query(&format!("{RELEASE_SUMMARY} ORDER BY release_date, upc"))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(summary).collect())
    }

    pub async fn release(&self, upc: &Icpn) -> Result<Option<ReleaseSummary>, StoreError> {
        let row = sqlx::query(&format!("{RELEASE_SUMMARY} WHERE upc = $1"))
            .bind(upc.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(summary))
    }

    /// A revision of a release; `None` for the current one.
    pub async fn revision(
        &self,
        upc: &Icpn,
        revision: Option<i64>,
    ) -> Result<Option<StoredRevision>, StoreError> {
        let q = match revision {
            Some(_) => "SELECT upc, revision, document, document_sha256, source, imported_at FROM release_revisions WHERE upc = $1 AND revision = $2",
            None => "SELECT v.upc, v.revision, v.document, v.document_sha256, v.source, v.imported_at FROM release_revisions v
                     JOIN releases r ON r.upc = v.upc AND r.current_revision = v.revision WHERE v.upc = $1",
        };
        let mut query = sqlx::query(q).bind(upc.to_string());
        if let Some(r) = revision {
            query = query.bind(r);
        }
        let row = query.fetch_optional(&self.pool).await?;
        Ok(row.map(|r| revision_of(&r)))
    }

    pub async fn revisions(&self, upc: &Icpn) -> Result<Vec<StoredRevision>, StoreError> {
        let rows = sqlx::query("SELECT upc, revision, document, document_sha256, source, imported_at FROM release_revisions WHERE upc = $1 ORDER BY revision")
            .bind(upc.to_string())
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(revision_of).collect())
    }

    /// Counts rows per table: how tests and `liner init` show what the catalog holds.
    pub async fn table_counts(&self) -> Result<Vec<(&'static str, i64)>, StoreError> {
        let mut out = Vec::new();
        for t in [
            "labels",
            "payees",
            "files",
            "releases",
            "release_revisions",
            "tracks",
        ] {
            let n: i64 = sqlx::query(&format!("SELECT COUNT(*) FROM {t}"))
                .fetch_one(&self.pool)
                .await?
                .get(0);
            out.push((t, n));
        }
        Ok(out)
    }

    /// Tracks of current revisions that use this ISRC (QC's uniqueness rule reads this).
    pub async fn releases_with_isrc(&self, isrc: &model::Isrc) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT t.upc FROM tracks t JOIN releases r ON r.upc = t.upc AND r.current_revision = t.revision WHERE t.isrc = $1 ORDER BY t.upc",
        )
        .bind(isrc.to_string())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}

/// The columns `summary` reads.
const RELEASE_SUMMARY: &str = "SELECT upc, title, display_artist, label_name, release_type, release_date, track_count, status, current_revision, updated_at FROM releases";

fn display_artist(r: &Release) -> String {
    let main: Vec<&str> = r
        .artists
        .iter()
        .filter(|a| a.role == model::ArtistRole::MainArtist)
        .map(|a| a.name.as_str())
        .collect();
    main.join(", ")
}

fn summary(r: &AnyRow) -> ReleaseSummary {
    ReleaseSummary {
        upc: r.get("upc"),
        title: r.get("title"),
        artist: r.get("display_artist"),
        label: r.get("label_name"),
        release_type: r.get("release_type"),
        release_date: r.get("release_date"),
        tracks: r.get("track_count"),
        status: r.get("status"),
        revision: r.get("current_revision"),
        updated_at: r.get("updated_at"),
    }
}

fn revision_of(r: &AnyRow) -> StoredRevision {
    StoredRevision {
        upc: r.get("upc"),
        revision: r.get("revision"),
        document: r.get("document"),
        document_sha256: r.get("document_sha256"),
        source: r.get("source"),
        imported_at: r.get("imported_at"),
    }
}

/// The file path of a `sqlite:` URL.
pub fn sqlite_path(url: &str) -> String {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    rest.split('?').next().unwrap_or(rest).to_owned()
}

/// A `sqlite://` URL for a file path.
pub fn sqlite_url(path: &std::path::Path) -> String {
    format!("sqlite://{}", path.display())
}

impl FromStr for Backend {
    type Err = String;
    fn from_str(s: &str) -> Result<Backend, String> {
        Backend::of_url(s).ok_or_else(|| format!("unsupported database URL {}", redact(s)))
    }
}
