//! `liner ern build|validate` and the ERN side of `liner import`: the shell around the pure
//! `ern` crate (catalog, file store, DSP profiles, schemas, the message history).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use app::ern::{NO_SCHEMAS, Options, load_profiles, prepare, request_for, schemas_dir, xsd_errors};

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
    let catalog = app::App::open(cfg.clone()).await?.catalog().clone();
    let files = cfg.open_files()?;
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
