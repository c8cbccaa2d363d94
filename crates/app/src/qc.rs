//! QC of a release: find it (a folder, or a UPC in the catalog), analyse its audio in
//! parallel (cached by file hash for stored files), gather what the catalog holds, run the
//! rules of the pure `qc` crate per DSP, apply machine fixes on request, record the runs.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::NaiveDate;
use filestore::FileStore;
use model::{FileRef, Icpn, Release};
use qc::{ArtworkReport, AudioReport, Catalog, CatalogRelease, CatalogTrack, QcInput, QcReport};
use rayon::prelude::*;
use store::Store;

use crate::config::Config;
use crate::{Context, Events, MeterKind, Result, bail, err, note};

/// Bumped when the analysers change what they measure: cached analyses of an older version
/// are ignored.
const AUDIO_ANALYSER: i64 = 1;
const ARTWORK_ANALYSER: i64 = 1;

/// A release to check and where its files are.
#[derive(Debug)]
pub struct Subject {
    pub release: Release,
    /// (UPC, revision) when it is in the catalog.
    stored: Option<(String, i64)>,
    audio_paths: Vec<Option<PathBuf>>,
    artwork_path: Option<PathBuf>,
    /// The store the catalog's files are in: a bucket's blobs are fetched (and verified)
    /// into the local cache only when they must be analysed.
    files: Option<FileStore>,
}

impl Subject {
    /// A local file for a path of this subject, fetched from the store if it is not here.
    fn local(&self, p: &Path, r: &FileRef) -> Result<PathBuf> {
        match (&self.files, r) {
            (Some(fs), FileRef::Stored(h)) if !p.is_file() => Ok(fs.local_copy(h)?),
            _ => Ok(p.to_owned()),
        }
    }
}

/// What `check_release` is asked: a folder, document or sheet, or a catalog UPC; one DSP or
/// every profile; machine fixes or not.
#[derive(Debug, Clone)]
pub struct CheckRequest<'a> {
    pub target: &'a str,
    pub dsp: Option<&'a str>,
    pub fix: bool,
    /// Show the analysis as a meter.
    pub progress: bool,
    /// "Today" for the date rules, in UTC.
    pub today: NaiveDate,
}

/// Checks a release (or every release of a sheet) against each DSP profile's rules; returns
/// one combined report per release (the verdict matrix, then the findings).
pub async fn check_release(
    cfg: &Config,
    files: &FileStore,
    r: &CheckRequest<'_>,
    ev: &dyn Events,
) -> Result<Vec<QcReport>> {
    // One DSP with --dsp; else every profile in the home: the gate is per DSP.
    let profiles: Vec<Option<profiles::DspProfile>> = match r.dsp {
        Some(name) => vec![Some(load_profile(cfg, name)?)],
        None => {
            let all = cfg.load_profiles().map_err(|errs| {
                err!(
                    "DSP profiles in {}:\n{}",
                    cfg.profiles.display(),
                    errs.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("\n")
                )
            })?;
            if all.is_empty() {
                vec![None]
            } else {
                all.into_iter().map(Some).collect()
            }
        }
    };
    let as_path = Path::new(r.target);
    let catalog = if as_path.exists() {
        crate::open_catalog(&cfg.database, store::OpenMode::Existing)
            .await
            .ok()
    } else {
        Some(crate::open_catalog(&cfg.database, store::OpenMode::Existing).await?)
    };
    let subjects = if as_path.exists() {
        if r.fix {
            bail!(
                "--fix records a new revision of a catalog release: import {} first, then run `liner qc <UPC> --fix`",
                as_path.display()
            );
        }
        from_path(as_path, &cfg.limits)?
    } else {
        let upc = crate::lookup_upc(r.target)
            .map_err(|e| err!("{} is neither a folder nor a valid UPC: {e}", r.target))?;
        let store = catalog.as_ref().context("no catalog")?;
        vec![from_catalog(store, files, &upc, None).await?]
    };
    let mut reports = Vec::new();
    for subject in subjects {
        reports.push(check_subject(cfg, catalog.as_ref(), subject, &profiles, r, ev).await?);
    }
    if let Some(c) = catalog {
        c.close().await;
    }
    Ok(reports)
}

/// Runs the rules once per DSP profile.
async fn check_each(
    cfg: &Config,
    today: NaiveDate,
    catalog: Option<&Store>,
    subject: &Subject,
    audio: &[Option<AudioReport>],
    artwork: Option<&ArtworkReport>,
    profiles: &[Option<profiles::DspProfile>],
) -> Result<Vec<QcReport>> {
    let mut out = Vec::with_capacity(profiles.len());
    for p in profiles {
        out.push(check(cfg, today, catalog, subject, audio, artwork, p.as_ref()).await?);
    }
    Ok(out)
}

/// Analyses one release (once), runs the rules for each DSP (and the fixes, with `--fix`),
/// records a run per DSP when the release is in the catalog, and returns the combined
/// report: the verdict matrix, then the findings.
async fn check_subject(
    cfg: &Config,
    catalog: Option<&Store>,
    mut subject: Subject,
    profiles: &[Option<profiles::DspProfile>],
    args: &CheckRequest<'_>,
    ev: &dyn Events,
) -> Result<QcReport> {
    let (audio, artwork) = analyse(catalog, &subject, args.progress.then_some(ev)).await?;
    let mut reports = check_each(
        cfg,
        args.today,
        catalog,
        &subject,
        &audio,
        artwork.as_ref(),
        profiles,
    )
    .await?;
    let combined = |r: &[QcReport]| -> Result<QcReport> {
        ::qc::combine(r.to_vec()).ok_or_else(|| err!("no QC report"))
    };
    let mut report = combined(&reports)?;

    if args.fix {
        let store = catalog.ok_or_else(|| err!("no catalog"))?;
        // Fixes can touch the same field (split an artist list, then add a featured artist
        // to it): apply one fix per field per round and re-run the rules, until nothing
        // fixable is left.
        let original = subject.release.clone();
        let mut applied = 0;
        for _round in 0..8 {
            // Fixes come from the rules' own run (no profile): profiles change severities,
            // not what a metadata fix is, and one document serves every DSP.
            let generic = check(
                cfg,
                args.today,
                catalog,
                &subject,
                &audio,
                artwork.as_ref(),
                None,
            )
            .await?;
            let mut fixes: Vec<::qc::Fix> = Vec::new();
            for f in generic.findings.iter().flat_map(|f| f.fixes.iter()) {
                if !fixes.iter().any(|g| {
                    g.field == f.field
                        || g.field.starts_with(&format!("{}.", f.field))
                        || f.field.starts_with(&format!("{}.", g.field))
                }) {
                    fixes.push(f.clone());
                }
            }
            if fixes.is_empty() {
                break;
            }
            let mut doc = serde_json::to_value(&subject.release)?;
            let changed = ::qc::apply_fixes(&mut doc, &fixes)?;
            if changed == 0 {
                break;
            }
            let text = serde_json::to_string_pretty(&doc)?;
            subject.release =
                intake::parse_document(Path::new("qc-fix.json"), &text).map_err(|errs| {
                    err!(
                        "the fixed document does not validate:\n{}",
                        errs.iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join("\n")
                    )
                })?;
            applied += changed;
            reports = check_each(
                cfg,
                args.today,
                catalog,
                &subject,
                &audio,
                artwork.as_ref(),
                profiles,
            )
            .await?;
            report = combined(&reports)?;
        }
        if subject.release == original {
            note!(
                ev,
                "nothing to fix: no finding has a machine-applicable fix"
            );
        } else {
            let outcome = store
                .import_release(&subject.release, &[], "liner qc --fix")
                .await?;
            let revision = match outcome {
                store::ImportOutcome::Created { revision }
                | store::ImportOutcome::Updated { revision }
                | store::ImportOutcome::Unchanged { revision } => revision,
            };
            note!(
                ev,
                "applied {applied} fix(es): {} is now revision {revision}",
                subject.release.upc
            );
            subject.stored = Some((subject.release.upc.to_string(), revision));
            reports = check_each(
                cfg,
                args.today,
                catalog,
                &subject,
                &audio,
                artwork.as_ref(),
                profiles,
            )
            .await?;
            report = combined(&reports)?;
        }
    }

    if let (Some(store), Some((upc, rev))) = (catalog, &subject.stored) {
        for r in &reports {
            let json = serde_json::to_string(r)?;
            let id = store
                .record_qc_run(&store::NewQcRun {
                    upc,
                    revision: *rev,
                    profile: r.profile.as_deref().unwrap_or(""),
                    blocked: r.blocked,
                    needs_review: r.needs_review,
                    errors: r.counts.error as i64,
                    warnings: r.counts.warning as i64,
                    report: &json,
                })
                .await?;
            tracing::info!(
                qc_run = id,
                upc,
                revision = rev,
                profile = r.profile.as_deref().unwrap_or(""),
                "QC run recorded"
            );
        }
    }
    Ok(report)
}

pub fn load_profile(cfg: &Config, name: &str) -> Result<profiles::DspProfile> {
    let all = cfg.load_profiles().map_err(|errs| {
        err!(
            "DSP profiles in {}:\n{}",
            cfg.profiles.display(),
            errs.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        )
    })?;
    let names: Vec<String> = all.iter().map(|p| p.name.clone()).collect();
    let profile = all.into_iter().find(|p| p.name == name).ok_or_else(|| {
        err!(
            "no DSP profile named {name:?} in {} (have: {})",
            cfg.profiles.display(),
            names.join(", ")
        )
    })?;
    // A misspelt rule id would silently change nothing.
    let unknown: Vec<&String> = profile
        .qc
        .severity
        .keys()
        .filter(|id| ::qc::rule(id).is_none())
        .collect();
    if !unknown.is_empty() {
        bail!(
            "profile {name}: [qc.severity] names unknown rule(s) {:?}; `liner rules` lists them",
            unknown
        );
    }
    Ok(profile)
}

/// The releases of a folder, document or sheet. Any that intake rejects stop the run: QC
/// checks what intake has accepted.
fn from_path(path: &Path, limits: &model::Limits) -> Result<Vec<Subject>> {
    let mut subjects = Vec::new();
    let mut problems = Vec::new();
    for result in intake::read_with(path, limits) {
        match result {
            Ok(intake) => subjects.push(subject_of(intake)),
            Err(rejected) => {
                problems.push(format!(
                    "{} ({} problem(s)):",
                    rejected.origin,
                    rejected.diagnostics.len()
                ));
                problems.extend(rejected.diagnostics.iter().map(|d| format!("  {d}")));
            }
        }
    }
    if !problems.is_empty() {
        bail!(
            "intake rejects what QC was asked to check:\n{}",
            problems.join("\n")
        );
    }
    if subjects.is_empty() {
        bail!("{} holds no release", path.display());
    }
    Ok(subjects)
}

fn subject_of(intake: intake::Intake) -> Subject {
    let path_of = |r: &FileRef| {
        intake
            .files
            .iter()
            .find(|f| &f.reference == r)
            .and_then(|f| f.path.clone())
    };
    Subject {
        audio_paths: intake
            .release
            .tracks
            .iter()
            .map(|t| path_of(&t.audio))
            .collect(),
        artwork_path: path_of(&intake.release.artwork.file),
        release: intake.release.clone(),
        stored: None,
        files: None,
    }
}

pub async fn from_catalog(
    store: &Store,
    files: &FileStore,
    upc: &Icpn,
    revision: Option<i64>,
) -> Result<Subject> {
    let rev = store
        .revision(upc, revision)
        .await?
        .ok_or_else(|| err!("{upc} is not in the catalog{}", crate::upc_note(upc)))?;
    let release =
        intake::parse_document(Path::new("catalog.json"), &rev.document).map_err(|e| {
            err!(
                "stored revision {} of {upc} does not read back: {}",
                rev.revision,
                e.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        })?;
    let path_of = |r: &FileRef| match r {
        FileRef::Stored(h) => Some(files.path_of(h)),
        FileRef::Path(_) => None,
    };
    Ok(Subject {
        audio_paths: release.tracks.iter().map(|t| path_of(&t.audio)).collect(),
        artwork_path: path_of(&release.artwork.file),
        stored: Some((upc.to_string(), rev.revision)),
        release,
        files: Some(files.clone()),
    })
}

/// A stored release with its audio and artwork measured (cached analyses reused, missing
/// ones computed and cached): what the ERN writer states in TechnicalDetails.
pub async fn measured(
    catalog: &Store,
    files: &FileStore,
    upc: &Icpn,
) -> Result<(
    Release,
    i64,
    Vec<Option<AudioReport>>,
    Option<ArtworkReport>,
)> {
    let s = from_catalog(catalog, files, upc, None).await?;
    let (audio, artwork) = analyse(Some(catalog), &s, None).await?;
    let revision = s.stored.as_ref().map_or(0, |(_, r)| *r);
    Ok((s.release, revision, audio, artwork))
}

/// Analyses every track in parallel (bounded by the cores) and the artwork, reusing cached
/// analyses of stored files.
async fn analyse(
    catalog: Option<&Store>,
    s: &Subject,
    progress: Option<&dyn Events>,
) -> Result<(Vec<Option<AudioReport>>, Option<ArtworkReport>)> {
    let stored = s.stored.is_some();
    let hash_of = |r: &FileRef| match r {
        FileRef::Stored(h) => Some(h.to_string()),
        FileRef::Path(_) => None,
    };
    let mut audio: Vec<Option<AudioReport>> = vec![None; s.release.tracks.len()];
    let mut todo = Vec::new();
    for (k, t) in s.release.tracks.iter().enumerate() {
        let cached = match (catalog, hash_of(&t.audio)) {
            (Some(c), Some(h)) if stored => c
                .analysis(&h, "audio", AUDIO_ANALYSER)
                .await?
                .and_then(|j| serde_json::from_str(&j).ok()),
            _ => None,
        };
        match cached {
            Some(r) => audio[k] = Some(r),
            None => {
                if let Some(p) = &s.audio_paths[k] {
                    todo.push((k, s.local(p, &t.audio)?));
                }
            }
        }
    }
    let bar: std::sync::Arc<dyn crate::Meter> = match progress {
        Some(ev) if !todo.is_empty() => ev.meter(MeterKind::Items, todo.len() as u64),
        _ => std::sync::Arc::new(crate::events::NoMeter),
    };
    bar.message("analysing audio (tracks)");
    let done = AtomicUsize::new(0);
    let bar2 = bar.clone();
    let fresh: Vec<(usize, AudioReport)> = tokio::task::spawn_blocking(move || {
        todo.par_iter()
            .map(|(k, p)| {
                let r = audio::analyse(p);
                done.fetch_add(1, Ordering::Relaxed);
                bar2.inc(1);
                (*k, r)
            })
            .collect()
    })
    .await?;
    bar.finish();
    for (k, r) in fresh {
        if let (Some(c), Some(h), true) = (catalog, hash_of(&s.release.tracks[k].audio), stored) {
            c.put_analysis(
                &h,
                "audio",
                AUDIO_ANALYSER,
                r.pcm_sha256.as_deref(),
                None,
                &serde_json::to_string(&r)?,
            )
            .await?;
        }
        audio[k] = Some(r);
    }

    let art_hash = hash_of(&s.release.artwork.file);
    let cached = match (catalog, &art_hash) {
        (Some(c), Some(h)) if stored => c
            .analysis(h, "artwork", ARTWORK_ANALYSER)
            .await?
            .and_then(|j| serde_json::from_str(&j).ok()),
        _ => None,
    };
    let artwork = match cached {
        Some(a) => Some(a),
        None => match &s.artwork_path {
            Some(p) => {
                let p = s.local(p, &s.release.artwork.file)?;
                let a = tokio::task::spawn_blocking(move || artwork::analyse(&p)).await?;
                if let (Some(c), Some(h), true) = (catalog, &art_hash, stored) {
                    c.put_analysis(
                        h,
                        "artwork",
                        ARTWORK_ANALYSER,
                        None,
                        a.dhash.as_deref(),
                        &serde_json::to_string(&a)?,
                    )
                    .await?;
                }
                Some(a)
            }
            None => None,
        },
    };
    Ok((audio, artwork))
}

/// Gathers the catalog facts and runs the rules.
async fn check(
    cfg: &Config,
    today: NaiveDate,
    catalog: Option<&Store>,
    s: &Subject,
    audio: &[Option<AudioReport>],
    artwork: Option<&ArtworkReport>,
    profile: Option<&profiles::DspProfile>,
) -> Result<QcReport> {
    let upc = s.release.upc.to_string();
    let mut facts = Catalog::default();
    if let Some(c) = catalog {
        let isrcs: Vec<String> = s
            .release
            .tracks
            .iter()
            .map(|t| t.isrc.to_string())
            .collect();
        let hashes: Vec<String> = audio
            .iter()
            .flatten()
            .filter_map(|a| a.pcm_sha256.clone())
            .collect();
        facts.tracks = c
            .tracks_matching(&isrcs, &hashes)
            .await?
            .into_iter()
            .filter(|t| t.upc != upc)
            .map(|t| CatalogTrack {
                upc: t.upc,
                isrc: t.isrc,
                title: t.title,
                pcm_sha256: t.pcm_sha256,
            })
            .collect();
        let dhashes: std::collections::BTreeMap<String, String> =
            c.artwork_hashes().await?.into_iter().collect();
        for (other, doc) in c.current_documents().await? {
            let v: serde_json::Value = serde_json::from_str(&doc).unwrap_or_default();
            let artists = artist_names(&v);
            let art = v["artwork"]["file"]
                .as_str()
                .and_then(|h| dhashes.get(h).cloned());
            if other == upc {
                // This UPC's catalog revision: what it was before this one.
                let previous_rev = s.stored.as_ref().map(|(_, r)| *r);
                if previous_rev.is_none() {
                    facts.previous = Some(title_and_artist(&v));
                }
                continue;
            }
            let mut artist_ids = Vec::new();
            let credits = v["artists"].as_array().into_iter().flatten().chain(
                v["tracks"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|t| t["artists"].as_array().into_iter().flatten()),
            );
            for a in credits {
                let name = a["name"].as_str().unwrap_or_default();
                for (dsp, id) in a["dsp_ids"].as_object().into_iter().flatten() {
                    let entry = (
                        name.to_owned(),
                        dsp.clone(),
                        id.as_str().unwrap_or_default().to_owned(),
                    );
                    if !artist_ids.contains(&entry) {
                        artist_ids.push(entry);
                    }
                }
            }
            facts.releases.push(CatalogRelease {
                artist_ids,
                upc: other,
                title: v["title"].as_str().unwrap_or_default().to_owned(),
                display_artist: artists.join(" & "),
                parental_advisory: v["parental_advisory"].as_str().map(str::to_owned),
                artwork_dhash: art,
                artists,
            });
        }
        // For a stored revision, the product it replaces is the revision before it.
        if let Some((_, rev)) = &s.stored
            && *rev > 1
            && let Some(prev) = c.revision(&s.release.upc, Some(rev - 1)).await?
        {
            let v: serde_json::Value = serde_json::from_str(&prev.document).unwrap_or_default();
            facts.previous = Some(title_and_artist(&v));
        }
    }
    let input = QcInput {
        release: &s.release,
        audio,
        artwork,
        catalog: &facts,
        profile,
        ai_policy: cfg.ai_policy_for(&s.release.label.name),
        today,
        allow: &cfg.allow,
    };
    Ok(qc::run(&input, s.stored.as_ref().map(|(_, r)| *r)))
}

/// The release-level artist names of a stored release document.
fn artist_names(doc: &serde_json::Value) -> Vec<String> {
    doc["artists"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["name"].as_str().map(str::to_owned))
        .collect()
}

/// (title, display artist) of a stored release document: what the UPC-reuse screen compares.
fn title_and_artist(doc: &serde_json::Value) -> (String, String) {
    (
        doc["title"].as_str().unwrap_or_default().to_owned(),
        artist_names(doc).join(" & "),
    )
}
