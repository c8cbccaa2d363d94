//! `liner files gc`: removes from the file store what nothing refers to (the files of a
//! refused report, a failed import's leftovers, temp files of a killed write), safely while
//! workers run:
//! - a blob written (or re-used) less than `--min-age-hours` ago is kept: an import stores
//!   its files before it records them;
//! - what goes is first moved aside, the references are read again, and anything that became
//!   referenced in between is put back before the rest is deleted.

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use app::views::Blob;
use clap::Args;
use serde::Serialize;

use app::config::Config;

#[derive(Debug, Args)]
pub(crate) struct GcArgs {
    /// Remove without asking (a script's yes).
    #[arg(long)]
    yes: bool,
    /// Only say what would be removed.
    #[arg(long, conflicts_with = "yes")]
    dry_run: bool,
    /// Keep anything written within this many hours (an import in progress stores its files
    /// before it records them).
    #[arg(long, default_value_t = 24, value_name = "HOURS")]
    min_age_hours: u64,
    /// Print the outcome as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct Outcome {
    blobs: usize,
    referenced: usize,
    garbage: usize,
    garbage_bytes: u64,
    too_recent: usize,
    temp_files: usize,
    removed: usize,
    removed_bytes: u64,
    put_back: usize,
}

fn old_enough(b: &Blob, min_age: Duration) -> bool {
    b.modified
        .and_then(|m| SystemTime::now().duration_since(m).ok())
        .is_some_and(|age| age >= min_age)
}

pub(crate) async fn gc(cfg: &Config, a: GcArgs) -> Result<ExitCode> {
    let catalog = app::App::open(cfg.clone()).await?.catalog().clone();
    let files = cfg.open_files()?;
    let min_age = Duration::from_secs(a.min_age_hours.saturating_mul(3600));
    let referenced = catalog.referenced_blobs().await?;
    let blobs = files.blobs()?;
    let unreferenced: Vec<&Blob> = blobs
        .iter()
        .filter(|b| !referenced.contains(b.hash.hex()))
        .collect();
    let (garbage, recent): (Vec<&Blob>, Vec<&Blob>) = unreferenced
        .into_iter()
        .partition(|b| old_enough(b, min_age));
    let temps: Vec<Blob> = files
        .temp_files()?
        .into_iter()
        .filter(|b| old_enough(b, min_age))
        .collect();
    let mut out = Outcome {
        blobs: blobs.len(),
        referenced: blobs.len() - garbage.len() - recent.len(),
        garbage: garbage.len(),
        garbage_bytes: garbage.iter().map(|b| b.size).sum::<u64>()
            + temps.iter().map(|b| b.size).sum::<u64>(),
        too_recent: recent.len(),
        temp_files: temps.len(),
        removed: 0,
        removed_bytes: 0,
        put_back: 0,
    };
    let say = |o: &Outcome| {
        note!(
            "{} stored files: {} referenced, {} unreferenced ({} kept as written within {} h), {} leftover temp files; {} to remove",
            o.blobs,
            o.referenced,
            o.garbage + o.too_recent,
            o.too_recent,
            a.min_age_hours,
            o.temp_files,
            table::bytes(o.garbage_bytes)
        );
    };
    if garbage.is_empty() && temps.is_empty() {
        catalog.close().await;
        if a.json {
            println!("{}", serde_json::to_string_pretty(&out)?);
        } else {
            say(&out);
            println!("nothing to remove");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !a.json {
        say(&out);
        for b in garbage.iter().take(10) {
            println!("  {}  {}", b.hash.hex(), table::bytes(b.size));
        }
        if garbage.len() > 10 {
            println!("  … and {} more", garbage.len() - 10);
        }
    }
    let go = a.yes
        || (!a.dry_run
            && !a.json
            && std::io::IsTerminal::is_terminal(&std::io::stdin())
            && crate::confirm(&format!(
                "Remove {} unreferenced files and {} temp files for good?",
                garbage.len(),
                temps.len()
            ))?);
    if !go {
        catalog.close().await;
        if a.json {
            println!("{}", serde_json::to_string_pretty(&out)?);
        } else {
            println!("nothing removed (run `liner files gc --yes` to remove them)");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if files.is_remote() {
        // A bucket has no rename: the references are read again just before the deletes, so
        // a blob an import recorded meanwhile stays.
        let now_referenced: HashSet<String> = catalog.referenced_blobs().await?;
        catalog.close().await;
        for b in &garbage {
            if now_referenced.contains(b.hash.hex()) {
                out.put_back += 1;
                continue;
            }
            files.remove(b)?;
            out.removed += 1;
            out.removed_bytes += b.size;
        }
    } else {
        // Aside first, then the references again: a blob an import recorded meanwhile goes back.
        let aside = files.root().join("gc").join(format!(
            "{}",
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default()
        ));
        std::fs::create_dir_all(&aside).with_context(|| format!("creating {}", aside.display()))?;
        let mut moved: Vec<(&Blob, PathBuf)> = Vec::new();
        for b in &garbage {
            let to = aside.join(b.hash.hex());
            if std::fs::rename(&b.path, &to).is_ok() {
                moved.push((b, to));
            }
        }
        let now_referenced: HashSet<String> = catalog.referenced_blobs().await?;
        catalog.close().await;
        for (b, at) in moved {
            if now_referenced.contains(b.hash.hex()) || files.contains(&b.hash) {
                if !files.contains(&b.hash) {
                    std::fs::rename(&at, &b.path)
                        .with_context(|| format!("putting back {}", b.path.display()))?;
                } else {
                    std::fs::remove_file(&at).ok();
                }
                out.put_back += 1;
            } else {
                std::fs::remove_file(&at).with_context(|| format!("removing {}", at.display()))?;
                out.removed += 1;
                out.removed_bytes += b.size;
            }
        }
        std::fs::remove_dir(&aside).ok();
    }
    for t in &temps {
        if std::fs::remove_file(&t.path).is_ok() {
            out.removed += 1;
            out.removed_bytes += t.size;
        }
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!(
            "removed {} files ({}){}",
            out.removed,
            table::bytes(out.removed_bytes),
            if out.put_back > 0 {
                format!(
                    "; {} put back as an import recorded them meanwhile",
                    out.put_back
                )
            } else {
                String::new()
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}
