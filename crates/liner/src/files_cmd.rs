//! `liner files gc`: arguments, preview and confirmation over `app::files` (which finds what
//! nothing refers to and removes it safely while workers run).

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::Args;

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

pub(crate) async fn gc(cfg: &Config, a: GcArgs) -> Result<ExitCode> {
    let app = app::App::open(cfg.clone()).await?;
    let out = gc_with(&app, &a).await;
    app.close().await;
    out
}

async fn gc_with(app: &app::App, a: &GcArgs) -> Result<ExitCode> {
    let min_age = Duration::from_secs(a.min_age_hours.saturating_mul(3600));
    let plan = app::files::gc_plan(app, min_age).await?;
    let say = |o: &app::files::GcOutcome| {
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
    if plan.is_empty() {
        if a.json {
            println!("{}", serde_json::to_string_pretty(&plan.outcome)?);
        } else {
            say(&plan.outcome);
            println!("nothing to remove");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !a.json {
        say(&plan.outcome);
        for b in plan.garbage.iter().take(10) {
            println!("  {}  {}", b.hash.hex(), table::bytes(b.size));
        }
        if plan.garbage.len() > 10 {
            println!("  … and {} more", plan.garbage.len() - 10);
        }
    }
    let go = a.yes
        || (!a.dry_run
            && !a.json
            && std::io::IsTerminal::is_terminal(&std::io::stdin())
            && crate::confirm(&format!(
                "Remove {} unreferenced files and {} temp files for good?",
                plan.outcome.garbage, plan.outcome.temp_files
            ))?);
    if !go {
        if a.json {
            println!("{}", serde_json::to_string_pretty(&plan.outcome)?);
        } else {
            println!("nothing removed (run `liner files gc --yes` to remove them)");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let out = app::files::gc_apply(app, plan).await?;
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
