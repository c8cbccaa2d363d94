//! `liner doctor`: the checks of `app::doctor`, one line each with what to fix. Exit 1 when
//! anything fails (warnings alone exit 0).

use std::process::ExitCode;

use anyhow::Result;
use app::Overrides;
use app::doctor::Level;

pub(crate) async fn doctor(overrides: &Overrides, json: bool) -> Result<ExitCode> {
    let checks = app::doctor::doctor(overrides).await;
    let failed = checks.iter().any(|c| c.level == Level::Fail);
    if json {
        println!("{}", serde_json::to_string_pretty(&checks)?);
    } else {
        for c in &checks {
            let tag = match c.level {
                Level::Ok => "ok  ",
                Level::Warn => "WARN",
                Level::Fail => "FAIL",
            };
            if c.fix.is_empty() {
                println!("{tag} {}", c.what);
            } else {
                println!("{tag} {}\n     → {}", c.what, c.fix);
            }
        }
        let n = checks.iter().filter(|c| c.level == Level::Fail).count();
        println!(
            "{}",
            if failed {
                format!("{n} problem(s) to fix")
            } else {
                "all checks passed".to_owned()
            }
        );
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
