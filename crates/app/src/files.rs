//! `files gc`: removes from the file store what nothing refers to (the files of a refused
//! report, a failed import's leftovers, temp files of a killed write), safely while workers
//! run:
//! - a blob written (or re-used) less than `min_age` ago is kept: an import stores its files
//!   before it records them;
//! - in a folder, what goes is first moved aside, the references are read again, and anything
//!   that became referenced in between is put back before the rest is deleted; in a bucket
//!   (no rename), the references are read again just before the deletes.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use filestore::Blob;
use serde::Serialize;

use crate::{App, Context, Result};

/// What gc found, and what it removed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GcOutcome {
    pub blobs: usize,
    pub referenced: usize,
    pub garbage: usize,
    pub garbage_bytes: u64,
    pub too_recent: usize,
    pub temp_files: usize,
    pub removed: usize,
    pub removed_bytes: u64,
    pub put_back: usize,
}

/// What gc would remove: shown first, removed only when the person agrees.
#[derive(Debug, Clone)]
pub struct GcPlan {
    pub outcome: GcOutcome,
    pub garbage: Vec<Blob>,
    temps: Vec<Blob>,
}

impl GcPlan {
    pub fn is_empty(&self) -> bool {
        self.garbage.is_empty() && self.temps.is_empty()
    }
}

fn old_enough(b: &Blob, now: SystemTime, min_age: Duration) -> bool {
    b.modified
        .and_then(|m| now.duration_since(m).ok())
        .is_some_and(|age| age >= min_age)
}

/// Lists what nothing refers to and is older than `min_age`.
pub async fn gc_plan(app: &App, min_age: Duration) -> Result<GcPlan> {
    let now = SystemTime::from(app.clock().now());
    let referenced = app.catalog().referenced_blobs().await?;
    let files = app.files();
    let blobs = files.blobs()?;
    let (garbage, recent): (Vec<Blob>, Vec<Blob>) = blobs
        .iter()
        .filter(|b| !referenced.contains(b.hash.hex()))
        .cloned()
        .partition(|b| old_enough(b, now, min_age));
    let temps: Vec<Blob> = files
        .temp_files()?
        .into_iter()
        .filter(|b| old_enough(b, now, min_age))
        .collect();
    let outcome = GcOutcome {
        blobs: blobs.len(),
        referenced: blobs.len() - garbage.len() - recent.len(),
        garbage: garbage.len(),
        garbage_bytes: garbage.iter().map(|b| b.size).sum::<u64>()
            + temps.iter().map(|b| b.size).sum::<u64>(),
        too_recent: recent.len(),
        temp_files: temps.len(),
        ..GcOutcome::default()
    };
    Ok(GcPlan {
        outcome,
        garbage,
        temps,
    })
}

/// Removes what the plan lists, except what became referenced meanwhile.
pub async fn gc_apply(app: &App, plan: GcPlan) -> Result<GcOutcome> {
    let files = app.files();
    let mut out = plan.outcome;
    if files.is_remote() {
        let now_referenced: HashSet<String> = app.catalog().referenced_blobs().await?;
        for b in &plan.garbage {
            if now_referenced.contains(b.hash.hex()) {
                out.put_back += 1;
                continue;
            }
            files.remove(b)?;
            out.removed += 1;
            out.removed_bytes += b.size;
        }
    } else {
        // Aside first, then the references again: a blob an import recorded meanwhile goes
        // back.
        let stamp = app.clock().now().timestamp_nanos_opt().unwrap_or_default();
        let aside = files.root().join("gc").join(stamp.to_string());
        std::fs::create_dir_all(&aside).with_context(|| format!("creating {}", aside.display()))?;
        let mut moved: Vec<(&Blob, PathBuf)> = Vec::new();
        for b in &plan.garbage {
            let to = aside.join(b.hash.hex());
            if std::fs::rename(&b.path, &to).is_ok() {
                moved.push((b, to));
            }
        }
        let now_referenced: HashSet<String> = app.catalog().referenced_blobs().await?;
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
    for t in &plan.temps {
        if std::fs::remove_file(&t.path).is_ok() {
            out.removed += 1;
            out.removed_bytes += t.size;
        }
    }
    Ok(out)
}
