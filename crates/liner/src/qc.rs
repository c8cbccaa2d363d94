//! `liner qc` and `liner review`: the imperative shell around the pure `qc` crate. It finds
//! the release (a folder, or a UPC in the catalog), analyses its audio in parallel (cached by
//! file hash for stored files), gathers what the catalog holds, runs the rules, writes the
//! reports, records the run, and with `--fix` records the fixed document as a new revision.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use app::Config;
use qc::{QcReport, Severity};

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

pub(crate) async fn run(cfg: &Config, args: QcArgs) -> Result<ExitCode> {
    let files = cfg.open_files()?;
    let ev = crate::events::Cli;
    let reports = app::qc::check_release(
        cfg,
        &files,
        &app::qc::CheckRequest {
            target: &args.target,
            dsp: args.dsp.as_deref(),
            fix: args.fix,
            progress: !args.json && !args.brief,
            today: app::Clock::system().today(),
        },
        &ev,
    )
    .await?;
    let several = reports.len() > 1;
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
                table::fit(&report.title, 28),
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

fn print_report(r: &QcReport) {
    println!(
        "{} {} — {} (revision {})",
        r.upc,
        r.title,
        r.display_artist,
        r.revision.map_or("—".into(), |v| v.to_string()),
    );
    if !r.verdicts.is_empty() {
        let mut t = table::Table::new(&["  DSP", "verdict", "why"], &[false, false, false]);
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
    let app = app::App::open(cfg.clone()).await?;
    let out = review_inner(&app, action).await;
    app.close().await;
    out
}

async fn review_inner(app: &app::App, action: ReviewAction) -> Result<ExitCode> {
    match action {
        ReviewAction::List { json } => {
            let (profiles, rows) = app::review::queue(app).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                let mut head = vec!["UPC", "TITLE", "REV"];
                head.extend(profiles.iter().map(String::as_str));
                head.push("NOTE");
                let mut right = vec![false, false, true];
                right.extend(profiles.iter().map(|_| false));
                right.push(false);
                let mut t = table::Table::new(&head, &right);
                for r in &rows {
                    let mut cells = vec![
                        r.upc.clone(),
                        table::fit(&r.title, 28),
                        r.revision.to_string(),
                    ];
                    for (_, cell) in &r.dsps.0 {
                        // The gate's name, as it is serialised (`{"gate": "passed", …}`).
                        let g = serde_json::to_value(&cell.gate).unwrap_or_default();
                        cells.push(
                            match g["gate"].as_str().unwrap_or("") {
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
                    cells.push(if r.escalate {
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
            let log = app::review::log(app, upc.as_deref()).await?;
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
            // The CLI signs with the configured operator; the web signs with its user.
            let operator = app.config().operator.clone().ok_or_else(|| {
                anyhow!("staff decisions are signed: set `operator = \"Name <email>\"` in liner.toml or LINER_OPERATOR")
            })?;
            let r = app::review::DecideRequest {
                upc: &upc,
                approve,
                code: code.as_deref(),
                reason: reason.as_deref(),
                dsp: dsp.as_deref(),
            };
            let d = app::review::decide(app, &r, &operator).await?;
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
    let profile = dsp.map(|d| app::qc::load_profile(cfg, d)).transpose()?;
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
