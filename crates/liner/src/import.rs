//! `liner import`: arguments and rendering over `app::catalog::import`. A rejected release
//! writes nothing; the others still import, and the exit code says something was rejected.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use app::Config;

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
    let app = app::App::open(cfg.clone()).await?;
    let r = app::catalog::ImportRequest {
        paths: paths.to_vec(),
        upc: upc.cloned(),
        trust_unhashed,
    };
    let results = app::catalog::import(&app, &r, &crate::events::Cli).await;
    app.close().await;
    let results = results?;
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
