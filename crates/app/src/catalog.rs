//! The catalog's use cases. Import: read every input, report every problem, then store each
//! good release whole (files into the file store, rows in one catalog transaction). A
//! rejected release writes nothing; the others still import.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use filestore::FileStore;
use intake::{Diagnostic, Intake, Rejected};
use model::{ContentHash, FileRef};
use serde::Serialize;
use store::{FileRecord, ImportOutcome, Store};
use tracing::Instrument;

use crate::{App, Events, MeterKind, Result, bail};

/// What one input became.
#[derive(Debug, Clone, Serialize)]
pub struct ImportResult {
    pub source: String,
    pub upc: Option<String>,
    /// created | updated | unchanged | rejected
    pub outcome: &'static str,
    pub revision: Option<i64>,
    pub errors: Vec<String>,
}

/// What `import` is asked.
#[derive(Debug, Clone, Default)]
pub struct ImportRequest {
    /// Release folders, documents, sheets and DDEX ERN messages.
    pub paths: Vec<PathBuf>,
    /// The UPC a received ERN message without one is keyed on (one message only).
    pub upc: Option<model::Icpn>,
    /// Accept an ERN message's resources without a HashSum Liner can check.
    pub trust_unhashed: bool,
}

/// Imports releases: every input read first (all problems reported), then each good one
/// stored whole. What each input became, in order.
pub async fn import(app: &App, r: &ImportRequest, ev: &dyn Events) -> Result<Vec<ImportResult>> {
    let cfg = app.config();
    let messages = r
        .paths
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("xml")))
        .count();
    if r.upc.is_some() && messages != 1 {
        bail!("--upc keys one ERN message; {messages} .xml inputs were given");
    }
    let (catalog, files) = (app.catalog(), app.files());
    let mut read: Vec<std::result::Result<Intake, Rejected>> = Vec::new();
    for path in &r.paths {
        if intake::is_payee_companion(path) {
            tracing::info!(path = %path.display(), "payees.csv is read together with the sheet beside it");
            continue;
        }
        // A received DDEX ERN message (an aggregator's intake from labels).
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("xml"))
        {
            read.push(crate::ern::read_message(
                path,
                r.upc.as_ref(),
                r.trust_unhashed,
                &cfg.limits,
                ev,
            ));
            continue;
        }
        read.extend(intake::read_with(path, &cfg.limits));
    }
    let bar: std::sync::Arc<dyn crate::Meter> = if read.len() < 2 {
        std::sync::Arc::new(crate::events::NoMeter)
    } else {
        ev.meter(MeterKind::Items, read.len() as u64)
    };
    let mut results = Vec::new();
    for item in read {
        let result = match item {
            Ok(intake) => {
                bar.message(&format!("importing {}", intake.release.upc));
                // Every log line of this release carries its UPC and where it came from.
                let span = tracing::info_span!("import", upc = %intake.release.upc, source = %intake.origin);
                match store_release(catalog, files, intake).instrument(span).await {
                    Ok(r) => r,
                    Err(e) => {
                        bar.finish();
                        return Err(e);
                    }
                }
            }
            Err(rejected) => rejected_result(rejected),
        };
        bar.inc(1);
        results.push(result);
    }
    bar.finish();
    Ok(results)
}

fn rejected_result(r: Rejected) -> ImportResult {
    ImportResult {
        source: r.origin,
        upc: None,
        outcome: "rejected",
        revision: None,
        errors: r.diagnostics.iter().map(ToString::to_string).collect(),
    }
}

async fn store_release(catalog: &Store, files: &FileStore, intake: Intake) -> Result<ImportResult> {
    let Intake {
        document,
        origin,
        mut release,
        files: refs,
    } = intake;
    let upc = release.upc.to_string();

    // Files referred to by hash (a `liner show --json` document) must already be stored.
    let mut missing = Vec::new();
    for f in &refs {
        if let FileRef::Stored(h) = &f.reference
            && (catalog.file(h).await?.is_none() || !files.contains(h))
        {
            missing.push(Diagnostic {
                    file: document.clone(),
                    loc: Some(f.loc),
                    field: f.field.clone(),
                    value: Some(h.to_string()),
                    expected: "a file already in Liner's file store (import the release from its folder first)".into(),
                });
        }
    }
    if !missing.is_empty() {
        return Ok(rejected_result(Rejected {
            document,
            origin,
            diagnostics: missing,
        }));
    }

    let mut records = Vec::new();
    let mut by_path: BTreeMap<String, ContentHash> = BTreeMap::new();
    for f in &refs {
        let (FileRef::Path(written), Some(path)) = (&f.reference, &f.path) else {
            continue;
        };
        if by_path.contains_key(written) {
            continue;
        }
        let d = files.put_file(path)?;
        tracing::debug!(file = %path.display(), sha256 = %d.sha256, "stored file");
        records.push(FileRecord {
            sha256: d.sha256.clone(),
            md5: d.md5,
            size: d.size,
            original_name: file_name(path),
        });
        by_path.insert(written.clone(), d.sha256);
    }
    release.map_file_refs(|r| match r {
        FileRef::Path(p) => by_path
            .get(p)
            .map_or_else(|| r.clone(), |h| FileRef::Stored(h.clone())),
        stored => stored.clone(),
    });
    let outcome = catalog.import_release(&release, &records, &origin).await?;
    tracing::info!(?outcome, "imported");
    let (name, revision) = match outcome {
        ImportOutcome::Created { revision } => ("created", revision),
        ImportOutcome::Updated { revision } => ("updated", revision),
        ImportOutcome::Unchanged { revision } => ("unchanged", revision),
    };
    Ok(ImportResult {
        source: origin,
        upc: Some(upc),
        outcome: name,
        revision: Some(revision),
        errors: Vec::new(),
    })
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// What `init` found and made.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Initialised {
    /// The catalog existed before.
    pub had_catalog: bool,
    /// Releases in it.
    pub releases: i64,
}

/// Makes the configured catalog (schema and migrations) and file store, if missing.
pub async fn init(config: &crate::Config) -> Result<Initialised> {
    let had_catalog = match crate::open_catalog(&config.database, store::OpenMode::Existing).await {
        Ok(c) => {
            c.close().await;
            true
        }
        Err(_) => false,
    };
    let app = App::create(config.clone()).await?;
    let counts = app.catalog().table_counts().await?;
    app.close().await;
    let releases = counts
        .iter()
        .find(|(t, _)| *t == "releases")
        .map_or(0, |(_, n)| *n);
    Ok(Initialised {
        had_catalog,
        releases,
    })
}

/// Every release's current revision.
pub async fn releases(app: &App) -> Result<Vec<store::ReleaseSummary>> {
    Ok(app.catalog().releases().await?)
}

/// A release (a revision of it, or its current one): its summary, the revision and its
/// stored document.
pub async fn show(
    app: &App,
    upc: &model::Icpn,
    revision: Option<i64>,
) -> Result<(
    store::ReleaseSummary,
    store::StoredRevision,
    serde_json::Value,
)> {
    let rev = app.catalog().revision(upc, revision).await?;
    let summary = app.catalog().release(upc).await?;
    let (Some(rev), Some(summary)) = (rev, summary) else {
        let what = revision
            .map(|r| format!(" revision {r}"))
            .unwrap_or_default();
        return Err(crate::Error::NotFound(format!(
            "no release {upc}{what} in the catalog{}",
            crate::upc_note(upc)
        )));
    };
    let doc: serde_json::Value = serde_json::from_str(&rev.document)?;
    Ok((summary, rev, doc))
}

/// A stored file that is not as the catalog recorded it.
#[derive(Debug, Clone, Serialize)]
pub struct FileProblem {
    pub sha256: String,
    pub name: String,
    pub problem: String,
}

/// Every file the catalog records, read back from the store and hashed again.
#[derive(Debug, Clone, Serialize)]
pub struct Verified {
    pub files: usize,
    pub problems: Vec<FileProblem>,
}

pub async fn verify(app: &App) -> Result<Verified> {
    let records = app.catalog().files().await?;
    let files = app.files().clone();
    let n = records.len();
    let problems = tokio::task::spawn_blocking(move || {
        let mut problems = Vec::new();
        for r in &records {
            let problem = match files.verify(&r.sha256) {
                Ok(d) if d.size != r.size || d.md5 != r.md5 => Some(format!(
                    "size/MD5 differ from the catalog ({} bytes, md5 {}; catalog says {} bytes, md5 {})",
                    d.size, d.md5, r.size, r.md5
                )),
                Ok(_) => None,
                Err(e) => Some(e.to_string()),
            };
            if let Some(p) = problem {
                problems.push(FileProblem {
                    sha256: r.sha256.to_string(),
                    name: r.original_name.clone(),
                    problem: p,
                });
            }
        }
        problems
    })
    .await?;
    Ok(Verified { files: n, problems })
}

/// The DSP profiles, every one checked (a misspelt QC rule id would silently change
/// nothing): the list, or every problem.
pub fn checked_profiles(config: &crate::Config) -> Result<Vec<profiles::DspProfile>> {
    let profiles = config.load_profiles().map_err(|errs| {
        crate::err!(
            "{} profile problem(s):\n  {}",
            errs.len(),
            errs.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n  ")
        )
    })?;
    let unknown: Vec<String> = profiles
        .iter()
        .flat_map(|p| {
            p.qc.severity
                .keys()
                .filter(|id| ::qc::rule(id).is_none())
                .map(move |id| format!("{}: [qc.severity] names unknown rule {id:?}", p.name))
        })
        .collect();
    if !unknown.is_empty() {
        bail!(
            "{} profile problem(s):\n  {}\n(`liner rules` lists the rule ids)",
            unknown.len(),
            unknown.join("\n  ")
        );
    }
    Ok(profiles)
}
