//! `liner qc` and `liner review`: the imperative shell around the pure `qc` crate. It finds
//! the release (a folder, or a UPC in the catalog), analyses its audio in parallel (cached by
//! file hash for stored files), gathers what the catalog holds, runs the rules, writes the
//! reports, records the run, and with `--fix` records the fixed document as a new revision.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, Result, anyhow, bail};
use filestore::FileStore;
use model::{FileRef, Icpn, Release};
use qc::{
    ArtworkReport, AudioReport, Catalog, CatalogRelease, CatalogTrack, QcInput, QcReport, Severity,
};
use rayon::prelude::*;
use store::{OpenMode, Store};

use crate::config::Config;

/// Bumped when the analysers change what they measure: cached analyses of an older version
/// are ignored.
const AUDIO_ANALYSER: i64 = 1;
const ARTWORK_ANALYSER: i64 = 1;

/// Exit code when something blocks delivery.
pub(crate) const EXIT_BLOCKED: u8 = 3;

#[derive(Debug)]
pub(crate) struct QcArgs {
    pub(crate) target: String,
    pub(crate) json: bool,
    pub(crate) html: Option<PathBuf>,
    pub(crate) dsp: Option<String>,
    pub(crate) fix: bool,
    /// One line per release instead of every finding (`liner demo`).
    pub(crate) brief: bool,
}

/// A delivery refused by the QC gate of one DSP (`liner deliver` exits 3 for it).
#[derive(Debug)]
pub(crate) struct NotCleared {
    pub(crate) upc: String,
    pub(crate) dsp: String,
    pub(crate) gate: store::Gate,
}

impl std::fmt::Display for NotCleared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} is not cleared for {}: {}",
            self.upc, self.dsp, self.gate
        )
    }
}

impl std::error::Error for NotCleared {}

/// A release to check and where its files are.
pub(crate) struct Subject {
    pub(crate) release: Release,
    /// (UPC, revision) when it is in the catalog.
    stored: Option<(String, i64)>,
    audio_paths: Vec<Option<PathBuf>>,
    artwork_path: Option<PathBuf>,
}

pub(crate) async fn run(cfg: &Config, args: QcArgs) -> Result<ExitCode> {
    // One DSP with --dsp; else every profile in the home: the gate is per DSP.
    let profiles: Vec<Option<profiles::DspProfile>> = match &args.dsp {
        Some(name) => vec![Some(load_profile(cfg, name)?)],
        None => {
            let all = cfg.load_profiles().map_err(|errs| {
                anyhow!(
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
    let as_path = Path::new(&args.target);
    let catalog = if as_path.exists() {
        Store::open(&cfg.database, OpenMode::Existing).await.ok()
    } else {
        Some(Store::open(&cfg.database, OpenMode::Existing).await?)
    };
    let files = FileStore::open(&cfg.files)?;
    let subjects = if as_path.exists() {
        if args.fix {
            bail!(
                "--fix records a new revision of a catalog release: import {} first, then run `liner qc <UPC> --fix`",
                as_path.display()
            );
        }
        from_path(as_path, &cfg.limits)?
    } else {
        let upc = crate::lookup_upc(&args.target)
            .map_err(|e| anyhow!("{} is neither a folder nor a valid UPC: {e}", args.target))?;
        let store = catalog.as_ref().ok_or_else(|| anyhow!("no catalog"))?;
        vec![from_catalog(store, &files, &upc, None).await?]
    };
    let several = subjects.len() > 1;
    let mut reports = Vec::new();
    for subject in subjects {
        reports.push(check_subject(cfg, catalog.as_ref(), subject, &profiles, &args).await?);
    }
    if let Some(c) = catalog {
        c.close().await;
    }

    if let Some(path) = &args.html {
        for report in &reports {
            // A sheet of several releases gets one page each: qc.html → qc-<UPC>.html.
            let target = if several {
                let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("qc");
                let ext = path.extension().and_then(|s| s.to_str()).unwrap_or("html");
                path.with_file_name(format!("{stem}-{}.{ext}", report.upc))
            } else {
                path.clone()
            };
            std::fs::write(&target, qc_report::render(report))
                .with_context(|| format!("writing {}", target.display()))?;
            if !args.brief {
                note!("HTML report: {}", target.display());
            }
        }
    }
    for report in &reports {
        if args.json {
            continue;
        } else if args.brief {
            let per_dsp: Vec<String> = report
                .verdicts
                .iter()
                .map(|v| format!("{} {}", v.dsp, v.outcome.as_str()))
                .collect();
            println!(
                "{} {}  {}",
                report.upc,
                crate::table::fit(&report.title, 28),
                if per_dsp.is_empty() {
                    if report.blocked { "BLOCKED" } else { "PASSED" }.to_owned()
                } else {
                    per_dsp.join(", ")
                }
            );
        } else {
            print_report(report);
        }
    }
    if args.json {
        // One release: its report; a sheet of several: an array of reports.
        let text = match reports.as_slice() {
            [one] => serde_json::to_string_pretty(one)?,
            all => serde_json::to_string_pretty(all)?,
        };
        println!("{text}");
    }
    Ok(if reports.iter().any(|r| r.blocked) {
        ExitCode::from(EXIT_BLOCKED)
    } else {
        ExitCode::SUCCESS
    })
}

/// Runs the rules once per DSP profile.
async fn check_each(
    cfg: &Config,
    catalog: Option<&Store>,
    subject: &Subject,
    audio: &[Option<AudioReport>],
    artwork: Option<&ArtworkReport>,
    profiles: &[Option<profiles::DspProfile>],
) -> Result<Vec<QcReport>> {
    let mut out = Vec::with_capacity(profiles.len());
    for p in profiles {
        out.push(check(cfg, catalog, subject, audio, artwork, p.as_ref()).await?);
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
    args: &QcArgs,
) -> Result<QcReport> {
    let (audio, artwork) = analyse(catalog, &subject, !args.json && !args.brief).await?;
    let mut reports =
        check_each(cfg, catalog, &subject, &audio, artwork.as_ref(), profiles).await?;
    let combined = |r: &[QcReport]| -> Result<QcReport> {
        ::qc::combine(r.to_vec()).ok_or_else(|| anyhow!("no QC report"))
    };
    let mut report = combined(&reports)?;

    if args.fix {
        let store = catalog.ok_or_else(|| anyhow!("no catalog"))?;
        // Fixes can touch the same field (split an artist list, then add a featured artist
        // to it): apply one fix per field per round and re-run the rules, until nothing
        // fixable is left.
        let original = subject.release.clone();
        let mut applied = 0;
        for _round in 0..8 {
            // Fixes come from the rules' own run (no profile): profiles change severities,
            // not what a metadata fix is, and one document serves every DSP.
            let generic = check(cfg, catalog, &subject, &audio, artwork.as_ref(), None).await?;
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
                    anyhow!(
                        "the fixed document does not validate:\n{}",
                        errs.iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join("\n")
                    )
                })?;
            applied += changed;
            reports =
                check_each(cfg, catalog, &subject, &audio, artwork.as_ref(), profiles).await?;
            report = combined(&reports)?;
        }
        if subject.release == original {
            note!("nothing to fix: no finding has a machine-applicable fix");
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
                "applied {applied} fix(es): {} is now revision {revision}",
                subject.release.upc
            );
            subject.stored = Some((subject.release.upc.to_string(), revision));
            reports =
                check_each(cfg, catalog, &subject, &audio, artwork.as_ref(), profiles).await?;
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

fn load_profile(cfg: &Config, name: &str) -> Result<profiles::DspProfile> {
    let all = cfg.load_profiles().map_err(|errs| {
        anyhow!(
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
        anyhow!(
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
    }
}

pub(crate) async fn from_catalog(
    store: &Store,
    files: &FileStore,
    upc: &Icpn,
    revision: Option<i64>,
) -> Result<Subject> {
    let rev = store
        .revision(upc, revision)
        .await?
        .ok_or_else(|| anyhow!("{upc} is not in the catalog{}", crate::upc_note(upc)))?;
    let release =
        intake::parse_document(Path::new("catalog.json"), &rev.document).map_err(|e| {
            anyhow!(
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
    })
}

/// A stored release with its audio and artwork measured (cached analyses reused, missing
/// ones computed and cached): what the ERN writer states in TechnicalDetails.
pub(crate) async fn measured(
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
    let (audio, artwork) = analyse(Some(catalog), &s, false).await?;
    let revision = s.stored.as_ref().map_or(0, |(_, r)| *r);
    Ok((s.release, revision, audio, artwork))
}

/// Analyses every track in parallel (bounded by the cores) and the artwork, reusing cached
/// analyses of stored files.
async fn analyse(
    catalog: Option<&Store>,
    s: &Subject,
    progress: bool,
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
                    todo.push((k, p.clone()));
                }
            }
        }
    }
    let bar = if progress && !todo.is_empty() {
        let b = crate::progress(todo.len() as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} tracks {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b.set_prefix("analysing audio");
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
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
    bar.finish_and_clear();
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
                let p = p.clone();
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
        today: chrono::Local::now().date_naive(),
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

fn print_report(r: &QcReport) {
    println!(
        "{} {} — {} (revision {})",
        r.upc,
        r.title,
        r.display_artist,
        r.revision.map_or("—".into(), |v| v.to_string()),
    );
    if !r.verdicts.is_empty() {
        let mut t = crate::table::Table::new(&["  DSP", "verdict", "why"], &[false, false, false]);
        for v in &r.verdicts {
            t.row(vec![
                format!("  {}", v.dsp),
                v.outcome.as_str().to_owned(),
                v.reasons.join(", "),
            ]);
        }
        print!("{}", t.render());
    }
    for f in &r.findings {
        if f.severity == Severity::Info && f.rule == "AUD-MEASURES" {
            continue;
        }
        let only = if f.dsps.is_empty() || f.dsps.len() == r.verdicts.len() {
            String::new()
        } else {
            format!(" [{}]", f.dsps.join(", "))
        };
        println!(
            "  {:<7} {:<26} {}: {}{only}",
            f.severity.as_str(),
            f.rule,
            f.field,
            f.message
        );
        if !f.hint.is_empty() {
            println!(
                "          fix: {}{}",
                f.hint,
                if f.fixes.is_empty() { "" } else { " [--fix]" }
            );
        }
    }
    for t in &r.tracks {
        if let Some(m) = t.audio.as_ref().and_then(|a| a.measures.as_ref()) {
            println!(
                "  track {:>2} {:<28} {:>6} LUFS  LRA {:>4.1}  TP {:>6.2} dBTP",
                t.number,
                t.title.chars().take(28).collect::<String>(),
                m.integrated_lufs.map_or("—".into(), |l| format!("{l:.1}")),
                m.loudness_range_lu,
                m.true_peak_dbtp
            );
        }
    }
    println!(
        "{}: {} error(s), {} warning(s), {} info from {} rules",
        if r.blocked {
            "BLOCKED"
        } else if r.needs_review {
            "NEEDS REVIEW"
        } else {
            "PASSED"
        },
        r.counts.error,
        r.counts.warning,
        r.counts.info,
        r.rules_run
    );
}

/// Reason codes staff give with a decision (docs/qc.md).
pub(crate) const APPROVE_CODES: &[(&str, &str)] = &[
    ("CLEAN", "QC found nothing blocking; approved as is"),
    (
        "OVERRIDE",
        "approved despite blocking findings (the reason says why)",
    ),
    ("EDITED", "approved after staff corrected the metadata"),
];
pub(crate) const REJECT_CODES: &[(&str, &str)] = &[
    ("METADATA", "metadata breaks the DSPs' style guides"),
    ("AUDIO", "audio fails the technical requirements"),
    ("ARTWORK", "artwork fails the requirements or content rules"),
    ("RIGHTS", "ownership or licensing is unclear"),
    ("DUPLICATE", "the content is already distributed"),
    ("AI-POLICY", "AI content not allowed by the label's policy"),
    ("FRAUD", "signs of artificial streaming or spam"),
    ("LEGAL", "legal or content-policy problem"),
    ("OTHER", "anything else (the reason says what)"),
];

#[derive(Debug)]
pub(crate) enum ReviewAction {
    List {
        /// Print JSON on stdout (exact amounts as strings) instead of a table.
        json: bool,
    },
    Log {
        /// The release's UPC (EAN-13 or UPC-A).
        upc: Option<String>,
        json: bool,
    },
    Decide {
        /// The release's UPC (EAN-13 or UPC-A).
        upc: String,
        approve: bool,
        code: Option<String>,
        reason: Option<String>,
        /// The DSP the decision is for; `None`: every DSP.
        dsp: Option<String>,
        json: bool,
    },
}

pub(crate) async fn review(cfg: &Config, action: ReviewAction) -> Result<ExitCode> {
    let store = Store::open(&cfg.database, OpenMode::Existing).await?;
    let out = review_inner(cfg, &store, action).await;
    store.close().await;
    out
}

async fn review_inner(cfg: &Config, store: &Store, action: ReviewAction) -> Result<ExitCode> {
    match action {
        ReviewAction::List { json } => {
            let profiles: Vec<String> = cfg
                .load_profiles()
                .map_err(|e| {
                    anyhow!(
                        "DSP profiles: {}",
                        e.iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join("; ")
                    )
                })?
                .into_iter()
                .map(|p| p.name)
                .collect();
            let mut rows = Vec::new();
            for r in store.releases().await? {
                // The verdict matrix: the gate of each DSP.
                let mut gates = serde_json::Map::new();
                for dsp in &profiles {
                    let g = store.gate(&r.upc, dsp).await?;
                    gates.insert(dsp.clone(), serde_json::json!({
                        "gate": g, "deliverable": g.as_ref().is_some_and(store::Gate::deliverable),
                    }));
                }
                // Industry practice: after three blocked revisions, a person takes it over.
                let mut blocked_revisions: Vec<i64> = store
                    .qc_runs(&r.upc)
                    .await?
                    .iter()
                    .filter(|q| q.blocked)
                    .map(|q| q.revision)
                    .collect();
                blocked_revisions.dedup();
                rows.push(serde_json::json!({
                    "upc": r.upc, "title": r.title, "artist": r.artist, "revision": r.revision, "status": r.status,
                    "dsps": gates,
                    "deliverable_to": gates.iter().filter(|(_, v)| v["deliverable"] == true).map(|(k, _)| k.clone()).collect::<Vec<_>>(),
                    "blocked_revisions": blocked_revisions.len(), "escalate": blocked_revisions.len() >= 3,
                }));
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                let mut head = vec!["UPC", "TITLE", "REV"];
                head.extend(profiles.iter().map(String::as_str));
                head.push("NOTE");
                let mut right = vec![false, false, true];
                right.extend(profiles.iter().map(|_| false));
                right.push(false);
                let mut t = crate::table::Table::new(&head, &right);
                for r in &rows {
                    let mut cells = vec![
                        r["upc"].as_str().unwrap_or_default().to_owned(),
                        crate::table::fit(r["title"].as_str().unwrap_or_default(), 28),
                        r["revision"].to_string(),
                    ];
                    for dsp in &profiles {
                        let g = &r["dsps"][dsp]["gate"]["gate"];
                        cells.push(
                            match g.as_str().unwrap_or("") {
                                "passed" => "passed",
                                "approved" => "approved",
                                "blocked" => "BLOCKED",
                                "rejected" => "REJECTED",
                                "awaiting-review" => "review",
                                "not-checked" => "not checked",
                                _ => "—",
                            }
                            .to_owned(),
                        );
                    }
                    cells.push(if r["escalate"] == true {
                        "3+ blocked revisions: escalate".into()
                    } else {
                        String::new()
                    });
                    t.row(cells);
                }
                print!("{}", t.render());
            }
            Ok(ExitCode::SUCCESS)
        }
        ReviewAction::Log { upc, json } => {
            let log = store.decisions(upc.as_deref()).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&log)?);
            } else {
                for d in &log {
                    println!(
                        "#{} {} {} rev {} {} {} by {}: {}",
                        d.id,
                        d.decided_at,
                        d.upc,
                        d.revision,
                        d.decision,
                        d.code,
                        d.operator,
                        d.reason
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        ReviewAction::Decide {
            upc,
            approve,
            code,
            reason,
            dsp,
            json,
        } => {
            let operator = cfg.operator.clone().ok_or_else(|| {
                anyhow!("staff decisions are signed: set `operator = \"Name <email>\"` in liner.toml or LINER_OPERATOR")
            })?;
            let icpn = crate::lookup_upc(&upc).map_err(|e| anyhow!("{upc}: {e}"))?;
            let summary = store
                .release(&icpn)
                .await?
                .ok_or_else(|| anyhow!("{upc} is not in the catalog{}", crate::upc_note(&icpn)))?;
            // The QC runs the decision is about: that DSP's, or every DSP's.
            let dsps: Vec<String> = match &dsp {
                Some(d) => vec![load_profile(cfg, d)?.name],
                None => cfg
                    .load_profiles()
                    .map_err(|e| {
                        anyhow!(
                            "DSP profiles: {}",
                            e.iter()
                                .map(ToString::to_string)
                                .collect::<Vec<_>>()
                                .join("; ")
                        )
                    })?
                    .into_iter()
                    .map(|p| p.name)
                    .collect(),
            };
            let mut runs = Vec::new();
            for d in &dsps {
                if let Some(r) = store
                    .latest_qc_run(&summary.upc, summary.revision, Some(d))
                    .await?
                {
                    runs.push(r);
                }
            }
            let Some(run) = runs.iter().max_by_key(|r| r.id).cloned() else {
                bail!(
                    "revision {} of {upc} has not been through QC{}: run `liner qc {upc}` first",
                    summary.revision,
                    dsp.as_deref()
                        .map(|d| format!(" for {d}"))
                        .unwrap_or_default()
                );
            };
            let blocked_for: Vec<&str> = runs
                .iter()
                .filter(|r| r.blocked)
                .map(|r| r.profile.as_str())
                .collect();
            let run = store::QcRun {
                blocked: !blocked_for.is_empty(),
                ..run
            };
            let codes = if approve { APPROVE_CODES } else { REJECT_CODES };
            let code = match (code, approve) {
                (Some(c), _) => c.to_ascii_uppercase(),
                (None, true) if !run.blocked => "CLEAN".to_owned(),
                (None, true) => bail!(
                    "QC blocked revision {} of {upc} for {}: approving it needs --code OVERRIDE and a --reason",
                    summary.revision,
                    blocked_for.join(", ")
                ),
                (None, false) => bail!(
                    "a rejection needs --code (one of {})",
                    codes.iter().map(|c| c.0).collect::<Vec<_>>().join(", ")
                ),
            };
            if !codes.iter().any(|c| c.0 == code) {
                bail!(
                    "{code:?} is not a {} code; expected one of {}",
                    if approve { "approval" } else { "rejection" },
                    codes.iter().map(|c| c.0).collect::<Vec<_>>().join(", ")
                );
            }
            let reason = reason.map(|r| r.trim().to_owned()).unwrap_or_default();
            if reason.is_empty() && (!approve || code != "CLEAN") {
                bail!(
                    "--reason is required for {} {code}",
                    if approve { "approval" } else { "rejection" }
                );
            }
            if approve && run.blocked && code == "CLEAN" {
                bail!(
                    "QC blocked revision {}: approve with --code OVERRIDE (or EDITED) and a --reason",
                    summary.revision
                );
            }
            let d = store
                .record_decision(&store::NewDecision {
                    upc: &summary.upc,
                    revision: summary.revision,
                    approve,
                    code: &code,
                    reason: &reason,
                    operator: &operator,
                    qc_run_id: Some(run.id),
                    dsp: dsp.as_deref(),
                })
                .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&d)?);
            }
            note!(
                "#{} {} {} revision {} ({}) for {} by {}",
                d.id,
                d.decision,
                d.upc,
                d.revision,
                d.code,
                d.dsp.as_deref().unwrap_or("every DSP"),
                d.operator
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `liner rules`: every QC rule with its default severity (and a profile's, with `--dsp`).
pub(crate) fn rules(cfg: &Config, dsp: Option<&str>, json: bool) -> Result<ExitCode> {
    let profile = dsp.map(|d| load_profile(cfg, d)).transpose()?;
    let rows: Vec<serde_json::Value> = ::qc::all_rules()
        .map(|r| {
            let sev = profile.as_ref().and_then(|p| p.severity_override(r.id)).unwrap_or(r.severity);
            serde_json::json!({"id": r.id, "area": r.area, "severity": sev, "default_severity": r.severity, "summary": r.summary})
        })
        .collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        for r in &rows {
            println!(
                "{:<26} {:<10} {:<8} {}",
                r["id"].as_str().unwrap_or_default(),
                r["area"].as_str().unwrap_or_default(),
                r["severity"].as_str().unwrap_or_default(),
                r["summary"].as_str().unwrap_or_default()
            );
        }
        note!("{} rules", rows.len());
    }
    Ok(ExitCode::SUCCESS)
}
