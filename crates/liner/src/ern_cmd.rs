//! `liner ern build|validate` and the ERN side of `liner import`: the shell around the pure
//! `ern` crate (catalog, file store, DSP profiles, schemas, the message history).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use app::ern::{NO_SCHEMAS, Options, load_profiles, prepare, request_for, schemas_dir, xsd_errors};
use filestore::FileStore;
use model::{FileRef, Icpn};
use store::{OpenMode, Store};

use app::config::Config;

pub(crate) fn validate(
    file: &Path,
    schemas: Option<&Path>,
    no_xsd: bool,
    json: bool,
) -> Result<ExitCode> {
    let dir = if no_xsd { None } else { schemas_dir(schemas) };
    if dir.is_none() && !no_xsd {
        eprintln!(
            "error: cannot validate {} against the XSD: {NO_SCHEMAS}; --no-xsd runs Liner's own checks only",
            file.display()
        );
        return Ok(ExitCode::FAILURE);
    }
    // The reader's own size limit, applied before the whole file is read.
    let limit = ern::tree::Limits::default().max_bytes as u64;
    if std::fs::metadata(file).is_ok_and(|m| m.len() > limit) {
        bail!(
            "{} is larger than the ERN reader's {} MB limit",
            file.display(),
            limit >> 20
        );
    }
    let xml = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let (msg, warnings) = match ern::read(&xml) {
        Ok(m) => m,
        Err(e) => {
            note!("✗ {}: {e}", file.display());
            return Ok(ExitCode::FAILURE);
        }
    };
    let xsd = match &dir {
        Some(d) => xsd_errors(msg.version, &xml, Some(d), &crate::events::Cli)?,
        None => None,
    };
    let findings = ern::checks::check(&msg);
    let errors = xsd.as_ref().map_or(0, Vec::len)
        + findings
            .iter()
            .filter(|f| f.severity == ern::checks::Severity::Error)
            .count();
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "file": file.display().to_string(),
                "version": msg.version,
                "xsd": xsd.as_ref().map(|e| serde_json::json!({"checked": true, "errors": e}))
                    .unwrap_or(serde_json::json!({"checked": false})),
                "rules": findings,
                "reader_warnings": warnings,
                "valid": errors == 0,
            }))?
        );
    } else {
        println!(
            "{}: ERN {} {} — releases {}, resources {}, deals {}",
            file.display(),
            msg.version,
            msg.kind.root(),
            msg.releases.len(),
            msg.resources.len(),
            msg.deal_count()
        );
        match &xsd {
            Some(e) if e.is_empty() => println!("  XSD: valid ({})", msg.version.schema_file()),
            Some(e) => {
                println!("  XSD: {} error(s)", e.len());
                for x in e {
                    println!("    {x}");
                }
            }
            None => println!("  XSD: not checked (--no-xsd)"),
        }
        for f in &findings {
            println!("  {f}");
        }
        for w in &warnings {
            println!("  note: {w}");
        }
    }
    Ok(if errors == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[derive(Debug, clap::Args)]
pub(crate) struct BuildArgs {
    /// The release's UPC in the catalog.
    pub(crate) upc: String,
    /// The DSP profile: its ERN version, deals, takedown and purge rules.
    #[arg(long, value_name = "NAME")]
    pub(crate) dsp: Option<String>,
    /// ERN version: 4.3 (default), 4.3.2 (AI disclosure) or 3.8.2.
    #[arg(long, value_name = "VERSION")]
    pub(crate) ern: Option<String>,
    /// End every deal (a takedown), as a full re-send.
    #[arg(long, conflicts_with = "purge")]
    pub(crate) takedown: bool,
    /// A PurgeReleaseMessage (only where the DSP's profile allows it).
    #[arg(long)]
    pub(crate) purge: bool,
    /// Write the message here (parent folders are created) instead of stdout.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub(crate) out: Option<PathBuf>,
    /// DDEX XSD folder (else LINER_DDEX_SCHEMAS, else ../shared/ddex/xsd).
    #[arg(long, value_name = "DIR")]
    pub(crate) schemas: Option<PathBuf>,
}

pub(crate) async fn build(cfg: &Config, a: BuildArgs) -> Result<ExitCode> {
    let upc = app::lookup_upc(&a.upc)?;
    let catalog = Store::open(&cfg.database, OpenMode::Existing).await?;
    let files = FileStore::open(&cfg.files)?;
    let profiles = load_profiles(cfg)?;
    let profile = match &a.dsp {
        Some(name) => Some(
            profiles
                .iter()
                .find(|p| &p.name == name)
                .cloned()
                .ok_or_else(|| anyhow!("no DSP profile {name:?} in {}", cfg.profiles.display()))?,
        ),
        None => None,
    };
    let lifecycle = profile.as_ref().map(|p| p.lifecycle).unwrap_or_default();
    let clock = app::Clock::system();
    let request = request_for(clock.today(), a.takedown, a.purge, &lifecycle);
    let p = prepare(
        &catalog,
        &files,
        &upc,
        profile.as_ref(),
        request,
        Options {
            ern: a.ern.as_deref(),
            schemas: schemas_dir(a.schemas.as_deref()).as_deref(),
            delivered: None,
            sender: &cfg.sender,
            now: clock.now(),
        },
        &crate::events::Cli,
    )
    .await?;
    catalog.close().await;
    match &a.out {
        Some(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            std::fs::write(path, &p.xml).with_context(|| format!("writing {}", path.display()))?;
            note!(
                "{} ERN {} {} for {upc} at {}: {} ({} bytes)",
                p.intent.as_str(),
                p.version,
                p.root,
                p.dsp,
                path.display(),
                p.xml.len()
            );
        }
        None => print!("{}", p.xml),
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads a received ERN message for `liner import`: validated against its XSD when schemas
/// are found, converted into the release model, its resource files found beside it and
/// checked against the message's HashSum.
/// The HashSum algorithms Liner verifies (their DDEX spellings).
fn checkable(algorithm: &str) -> bool {
    ["MD5", "SHA-256", "SHA256"]
        .iter()
        .any(|a| a.eq_ignore_ascii_case(algorithm.trim()))
}

/// Reads a received ERN message and the resource files of its package (its folder).
pub(crate) fn read_message(
    path: &Path,
    upc: Option<&Icpn>,
    trust_unhashed: bool,
    limits: &model::Limits,
) -> Result<intake::Intake, intake::Rejected> {
    let reject = |field: &str,
                  value: Option<String>,
                  expected: String,
                  loc: Option<intake::Loc>| intake::Rejected {
        document: path.to_owned(),
        origin: path.display().to_string(),
        diagnostics: vec![intake::Diagnostic {
            file: path.to_owned(),
            loc,
            field: field.into(),
            value,
            expected,
        }],
    };
    let xml = intake::read_bytes_within(path, limits.document_bytes)
        .map_err(|e| reject("", None, e, None))?;
    let tree_limits = ern::tree::Limits {
        max_bytes: usize::try_from(limits.document_bytes).unwrap_or(usize::MAX),
        max_attributes: limits.xml_attributes as usize,
        ..ern::tree::Limits::default()
    };
    let (msg, warnings) = ern::read::read_with(&xml, tree_limits).map_err(|e| {
        let (line, col, message) = match &e {
            ern::ReadError::Xml(x) => (x.line, x.column, x.message.clone()),
            ern::ReadError::Structure {
                line,
                column,
                message,
            } => (*line, *column, message.clone()),
        };
        reject(
            "",
            None,
            message,
            Some(intake::Loc {
                line: line as u32,
                col: col as u32,
            }),
        )
    })?;
    for w in &warnings {
        tracing::warn!(file = %path.display(), "{w}");
    }
    match xsd_errors(
        msg.version,
        &xml,
        schemas_dir(None).as_deref(),
        &crate::events::Cli,
    ) {
        Ok(Some(errors)) if !errors.is_empty() => {
            return Err(intake::Rejected {
                document: path.to_owned(),
                origin: path.display().to_string(),
                diagnostics: errors
                    .into_iter()
                    .map(|e| intake::Diagnostic {
                        file: path.to_owned(),
                        loc: None,
                        field: format!("ERN {} XSD", msg.version),
                        value: None,
                        expected: e,
                    })
                    .collect(),
            });
        }
        Ok(_) => {}
        Err(e) => {
            return Err(reject(
                "",
                None,
                format!("a usable DDEX schema folder ({e:#})"),
                None,
            ));
        }
    }
    for f in ern::checks::check(&msg) {
        tracing::warn!(file = %path.display(), "{f}");
    }
    let defaults = ern::ImportDefaults {
        label_email: model::Email::parse(
            &std::env::var("LINER_LABEL_EMAIL").unwrap_or_else(|_| "labels@liner.invalid".into()),
        )
        .map_err(|e| reject("LINER_LABEL_EMAIL", None, e.to_string(), None))?,
        upc: upc.cloned(),
    };
    let imported = ern::to_release(&msg, &defaults).map_err(|e| intake::Rejected {
        document: path.to_owned(),
        origin: path.display().to_string(),
        diagnostics: e
            .problems
            .iter()
            .map(|p| intake::Diagnostic {
                file: path.to_owned(),
                loc: None,
                field: p.at.clone(),
                value: None,
                expected: format!("[{}] {}", p.code, p.message),
            })
            .collect(),
    })?;
    for f in &imported.findings {
        tracing::warn!(file = %path.display(), "{f}");
    }
    let over = intake::limit_problems(&imported.release, limits);
    if !over.is_empty() {
        return Err(intake::Rejected {
            document: path.to_owned(),
            origin: path.display().to_string(),
            diagnostics: over
                .into_iter()
                .map(|expected| intake::Diagnostic {
                    file: path.to_owned(),
                    loc: None,
                    field: String::new(),
                    value: None,
                    expected,
                })
                .collect(),
        });
    }
    // The resource files sit in the message's folder (the package). Each must resolve inside
    // it, and its bytes must be the ones the message vouches for: a HashSum Liner checks
    // (MD5 or SHA-256) and the FileSize, when given. Without a checkable HashSum nothing
    // ties the bytes to the sender, so such a resource is refused unless the operator says
    // --trust-unhashed.
    let dir = path.parent().unwrap_or(Path::new("."));
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let mut diagnostics = Vec::new();
    let mut resolved = Vec::new();
    for (field, r) in imported.release.file_refs() {
        let FileRef::Path(uri) = r else { continue };
        let mut refuse = |expected: String| {
            diagnostics.push(intake::Diagnostic {
                file: path.to_owned(),
                loc: None,
                field: field.clone(),
                value: Some(uri.clone()),
                expected,
            })
        };
        let file = match intake::resolve_inside(dir, uri, "message's folder") {
            Ok(f) => f,
            Err(e) => {
                refuse(e);
                continue;
            }
        };
        let technical = imported.files.get(uri);
        let hash = technical.and_then(|t| t.hash.as_ref());
        let checked = hash.is_some_and(|h| checkable(&h.algorithm));
        if !checked && !trust_unhashed {
            refuse(match hash {
                None => "a resource the message vouches for with a HashSum (MD5 or SHA-256); it has none. Ask the sender for one, or import with --trust-unhashed if you trust this package".into(),
                Some(h) => format!(
                    "a HashSum Liner can check (MD5 or SHA-256), not {}; import with --trust-unhashed if you trust this package",
                    h.algorithm
                ),
            });
            continue;
        }
        let d = match FileStore::digest_file(&file) {
            Ok(d) => d,
            Err(e) => {
                refuse(format!("a readable resource file ({e})"));
                continue;
            }
        };
        if let Some(size) = technical.and_then(|t| t.size)
            && size != d.size
        {
            refuse(format!(
                "a file of {size} bytes (the message's FileSize); the file on disk has {}",
                d.size
            ));
            continue;
        }
        if let Some(h) = hash.filter(|h| checkable(&h.algorithm)) {
            let ok = if h.algorithm.eq_ignore_ascii_case("MD5") {
                d.md5.eq_ignore_ascii_case(h.value.trim())
            } else {
                d.sha256.hex().eq_ignore_ascii_case(h.value.trim())
            };
            if !ok {
                refuse(format!(
                    "a file whose {} is {} (the message's HashSum); the file on disk differs",
                    h.algorithm, h.value
                ));
                continue;
            }
        } else {
            tracing::warn!(file = %file.display(), "imported without a checked HashSum (--trust-unhashed)");
        }
        resolved.push(intake::ResolvedFile {
            field,
            loc: intake::Loc { line: 0, col: 0 },
            reference: r.clone(),
            path: Some(file),
        });
    }
    if !diagnostics.is_empty() {
        return Err(intake::Rejected {
            document: path.to_owned(),
            origin: path.display().to_string(),
            diagnostics,
        });
    }
    Ok(intake::Intake {
        document: path.to_owned(),
        origin: path.display().to_string(),
        release: imported.release,
        files: resolved,
    })
}
