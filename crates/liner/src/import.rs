//! `liner import`: read every input, report every problem, then store each good release
//! whole (files into the file store, rows in one catalog transaction). A rejected release
//! writes nothing; the others still import, and the exit code says something was rejected.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use filestore::FileStore;
use indicatif::ProgressStyle;
use intake::{Diagnostic, Intake, Rejected};
use model::{ContentHash, FileRef};
use serde::Serialize;
use store::{FileRecord, ImportOutcome, OpenMode, Store};
use tracing::Instrument;

use app::config::Config;

#[derive(Debug, Serialize)]
struct ImportResult {
    source: String,
    upc: Option<String>,
    /// created | updated | unchanged | rejected
    outcome: &'static str,
    revision: Option<i64>,
    errors: Vec<String>,
}

pub(crate) async fn run(cfg: &Config, paths: &[PathBuf], json: bool) -> Result<ExitCode> {
    run_with(cfg, paths, json, None, false).await
}

/// `upc`: the UPC a received ERN message without one is keyed on (one message only).
pub(crate) async fn run_with(
    cfg: &Config,
    paths: &[PathBuf],
    json: bool,
    upc: Option<&model::Icpn>,
    trust_unhashed: bool,
) -> Result<ExitCode> {
    let messages = paths
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("xml")))
        .count();
    if upc.is_some() && messages != 1 {
        anyhow::bail!("--upc keys one ERN message; {messages} .xml inputs were given");
    }
    let catalog = Store::open(&cfg.database, OpenMode::Existing).await?;
    let files = FileStore::open(&cfg.files)?;

    let mut read: Vec<Result<Intake, Rejected>> = Vec::new();
    for path in paths {
        if intake::is_payee_companion(path) {
            tracing::info!(path = %path.display(), "payees.csv is read together with the sheet beside it");
            continue;
        }
        // A received DDEX ERN message (an aggregator's intake from labels).
        if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("xml"))
        {
            read.push(crate::ern_cmd::read_message(
                path,
                upc,
                trust_unhashed,
                &cfg.limits,
            ));
            continue;
        }
        read.extend(intake::read_with(path, &cfg.limits));
    }

    let bar = crate::progress(read.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} importing {pos}/{len} {wide_bar} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    if read.len() < 2 {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }

    let mut results = Vec::new();
    for item in read {
        let result = match item {
            Ok(intake) => {
                bar.set_message(intake.release.upc.to_string());
                // Every log line of this release carries its UPC and where it came from.
                let span = tracing::info_span!("import", upc = %intake.release.upc, source = %intake.origin);
                match store_release(&catalog, &files, intake)
                    .instrument(span)
                    .await
                {
                    Ok(r) => r,
                    Err(e) => {
                        bar.finish_and_clear();
                        catalog.close().await;
                        return Err(e);
                    }
                }
            }
            Err(rejected) => rejected_result(rejected),
        };
        bar.inc(1);
        results.push(result);
    }
    bar.finish_and_clear();
    catalog.close().await;

    let rejected = results.iter().filter(|r| r.outcome == "rejected").count();
    if json {
        println!("{}", serde_json::to_string_pretty(&results)?);
    }
    for r in &results {
        if r.outcome == "rejected" {
            eprintln!(
                "✗ {}: rejected, {} problem(s), nothing written:",
                r.source,
                r.errors.len()
            );
            for e in &r.errors {
                note!("  {e}");
            }
        } else if !json {
            println!(
                "{:<9} {} rev {}  ({})",
                r.outcome,
                r.upc.as_deref().unwrap_or("-"),
                r.revision.unwrap_or(0),
                r.source
            );
        }
    }
    let count = |o: &str| results.iter().filter(|r| r.outcome == o).count();
    note!(
        "{} release(s): {} created, {} updated, {} unchanged, {} rejected",
        results.len(),
        count("created"),
        count("updated"),
        count("unchanged"),
        rejected
    );
    Ok(if rejected > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
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
