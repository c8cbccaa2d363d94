//! `liner deliver`, `liner takedown`, `liner deliveries` and `liner dsp`: arguments and
//! rendering over `app::delivery` (which moves the bytes and records the state), and the
//! mock DSPs for local runs and the demo.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use app::Config;
use model::Icpn;

#[derive(Debug, clap::Args)]
pub(crate) struct DeliverArgs {
    /// UPCs of releases in the catalog.
    #[arg(required = true)]
    pub(crate) upcs: Vec<String>,
    /// DSP profiles, comma-separated.
    #[arg(long, value_delimiter = ',', required = true, value_name = "DSP,…")]
    pub(crate) to: Vec<String>,
    /// Deliver inside the profile's lead time (refused otherwise), in the priority lane.
    #[arg(long)]
    pub(crate) priority: bool,
    /// Wait for the DSPs' acknowledgements.
    #[arg(long)]
    pub(crate) wait: bool,
    /// How long --wait waits, in seconds.
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    pub(crate) timeout: u64,
    /// DDEX XSD folder (else LINER_DDEX_SCHEMAS, else ../shared/ddex/xsd).
    #[arg(long, value_name = "DIR")]
    pub(crate) schemas: Option<PathBuf>,
    /// Print the deliveries as JSON at the end.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct TakedownArgs {
    /// The release's UPC.
    pub(crate) upc: String,
    /// DSP profiles, comma-separated.
    #[arg(long, value_delimiter = ',', required = true, value_name = "DSP,…")]
    pub(crate) from: Vec<String>,
    /// A PurgeReleaseMessage instead of end-dated deals (only where the profile allows).
    #[arg(long)]
    pub(crate) purge: bool,
    /// Wait for the DSPs' acknowledgements before returning.
    #[arg(long)]
    pub(crate) wait: bool,
    /// Seconds to wait for acknowledgements with --wait.
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    pub(crate) timeout: u64,
    /// The DDEX XSD folder (else LINER_DDEX_SCHEMAS, else ../shared/ddex/xsd beside a checkout).
    #[arg(long, value_name = "DIR")]
    pub(crate) schemas: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct DeliveriesArgs {
    /// Print JSON on stdout (exact amounts as strings) instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
    /// Read acknowledgements again and check deadlines first.
    #[arg(long)]
    pub(crate) refresh: bool,
    /// Every delivery, not only the latest per release and DSP.
    #[arg(long)]
    pub(crate) all: bool,
    /// E-mail the daily summary to `[mail] summary_to`.
    #[arg(long)]
    pub(crate) summary: bool,
}

fn wait_for(wait: bool, timeout: u64) -> Option<Duration> {
    wait.then(|| Duration::from_secs(timeout))
}

/// Exit 1 for a failure; only QC refusals: exit 3, as `liner qc` does.
fn exit_code(o: &app::delivery::DeliveryOutcome) -> ExitCode {
    if o.failed > 0 {
        ExitCode::FAILURE
    } else if o.not_cleared > 0 {
        ExitCode::from(crate::qc::EXIT_BLOCKED)
    } else {
        ExitCode::SUCCESS
    }
}

pub(crate) async fn deliver(cfg: &Config, a: DeliverArgs) -> Result<ExitCode> {
    let upcs: Vec<Icpn> = a
        .upcs
        .iter()
        .map(|u| app::lookup_upc(u))
        .collect::<Result<_, _>>()?;
    let app = app::App::open(cfg.clone()).await?;
    let out = app::delivery::deliver(
        &app,
        app::delivery::DeliverRequest {
            upcs,
            to: a.to,
            priority: a.priority,
            wait: wait_for(a.wait, a.timeout),
            schemas: a.schemas,
            holder: None,
        },
        Arc::new(crate::events::Cli),
    )
    .await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&out.deliveries)?);
    }
    app.close().await;
    Ok(exit_code(&out))
}

pub(crate) async fn takedown(cfg: &Config, a: TakedownArgs) -> Result<ExitCode> {
    let upc = app::lookup_upc(&a.upc)?;
    let app = app::App::open(cfg.clone()).await?;
    let out = app::delivery::takedown(
        &app,
        app::delivery::TakedownRequest {
            upc: Some(upc),
            from: a.from,
            purge: a.purge,
            wait: wait_for(a.wait, a.timeout),
            schemas: a.schemas,
            holder: None,
        },
        Arc::new(crate::events::Cli),
    )
    .await?;
    app.close().await;
    Ok(exit_code(&out))
}

pub(crate) async fn deliveries(cfg: &Config, a: DeliveriesArgs) -> Result<ExitCode> {
    let app = app::App::open(cfg.clone()).await?;
    let lines = app::delivery::deliveries(
        &app,
        app::delivery::DeliveriesRequest {
            refresh: a.refresh,
            all: a.all,
            summary: a.summary,
        },
        Arc::new(crate::events::Cli),
    )
    .await?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&lines)?);
    } else {
        println!(
            "{:<14} {:<14} {:<9} {:<13} {:>8} {:>12}  LATEST ACK / ERROR",
            "UPC", "DSP", "INTENT", "STATUS", "ATTEMPTS", "BYTES"
        );
        for l in &lines {
            let r = &l.row;
            println!(
                "{:<14} {:<14} {:<9} {:<13} {:>8} {:>12}  {}{}",
                r.upc,
                r.dsp,
                r.intent,
                r.status.as_str(),
                r.attempts,
                r.bytes,
                l.latest_ack.as_deref().unwrap_or("-"),
                r.last_error
                    .as_deref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
                    + if l.ack_overdue { " OVERDUE" } else { "" }
            );
        }
    }
    app.close().await;
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum DspCommand {
    /// Run the mock DSPs of the profiles on their loopback addresses until interrupted.
    Serve {
        /// The mock's folder: keys, received files, catalogs (default: .liner/dsp in the Liner
        /// home, where the shipped profiles expect it).
        #[arg(long)]
        root: Option<PathBuf>,
        /// DDEX XSD folder for validating what arrives (else LINER_DDEX_SCHEMAS, else ../shared/ddex/xsd).
        #[arg(long, value_name = "DIR")]
        schemas: Option<PathBuf>,
    },
    /// What a mock DSP holds: its catalog, one effect per message, its acknowledgements.
    Catalog {
        /// The DSP profile's name (e.g. spotify).
        dsp: String,
        /// The mock's folder (default: .liner/dsp in the Liner home).
        #[arg(long)]
        root: Option<PathBuf>,
    },
    /// Have a mock DSP write its sales report for a month (of what it has live) into the
    /// folder its profile names; prints the files written.
    Report {
        /// The DSP profile's name (e.g. spotify).
        dsp: String,
        /// The reporting period, e.g. 2026-11.
        #[arg(long)]
        period: String,
        /// A corrected report: same message id, other usage.
        #[arg(long, default_value_t = 0)]
        revision: u32,
        /// The mock's folder (default: .liner/dsp in the Liner home).
        #[arg(long)]
        root: Option<PathBuf>,
    },
}

pub(crate) async fn dsp(cfg: &Config, c: DspCommand) -> Result<ExitCode> {
    match c {
        DspCommand::Serve { root, schemas } => {
            let root = root.unwrap_or_else(|| cfg.mock_root());
            let profiles = app::ern::load_profiles(cfg)?;
            let schemas = app::ern::schemas_dir(schemas.as_deref());
            if schemas.is_none() {
                eprintln!(
                    "WARNING: no DDEX schemas found: the mock DSP checks messages with Liner's reader only"
                );
            }
            let running = mock_dsp::start(
                &profiles,
                &mock_dsp::Settings {
                    root: root.clone(),
                    schemas,
                    faults: mock_dsp::load_faults(&root).map_err(|e| anyhow!("{e}"))?,
                    scan_every: Duration::from_millis(250),
                },
            )
            .await
            .map_err(|e| anyhow!("{e}"))?;
            for d in &running.dsps {
                note!(
                    "mock DSP {} up ({})",
                    d.name(),
                    crate::delivery_summary(
                        d.profile
                            .delivery
                            .as_ref()
                            .ok_or_else(|| anyhow!("no delivery"))?
                    )
                );
            }
            note!(
                "keys and known_hosts in {}; Ctrl-C to stop",
                running.keys.dir.display()
            );
            tokio::signal::ctrl_c().await?;
            running.stop();
            Ok(ExitCode::SUCCESS)
        }
        DspCommand::Report {
            dsp,
            period,
            revision,
            root,
        } => {
            let root = root.unwrap_or_else(|| cfg.mock_root());
            let profiles = app::ern::load_profiles(cfg)?;
            let p = profiles
                .into_iter()
                .find(|p| p.name == dsp)
                .ok_or_else(|| anyhow!("no DSP profile {dsp:?} in {}", cfg.profiles.display()))?;
            let d = mock_dsp::Dsp::new(p, &root, None, Default::default())
                .map_err(|e| anyhow!("{e}"))?;
            let me = &cfg.sender;
            let files = mock_dsp::reports::write_sales_report(
                &d,
                &period,
                revision,
                &mock_dsp::reports::Recipient {
                    dpid: me.party_id.clone(),
                    name: me.name.clone().unwrap_or_default(),
                },
            )
            .map_err(|e| anyhow!("{e}"))?;
            for f in files {
                println!("{}", f.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        DspCommand::Catalog { dsp, root } => {
            let root = root.unwrap_or_else(|| cfg.mock_root());
            let path = root.join(&dsp).join("state.json");
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("no mock DSP state at {}", path.display()))?;
            let state: mock_dsp::State = serde_json::from_str(&text)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&serde_json::json!({
                    "catalog": state.catalog,
                    "effects": state.effects,
                    "acknowledgements": state.acks.len(),
                }))?
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
