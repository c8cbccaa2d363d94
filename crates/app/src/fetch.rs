//! Fetching sales reports from where each DSP leaves them (its `[sales_reports] folder`,
//! over the profile's own transport: SFTP or HTTP) and importing them.
//!
//! Each remote file is downloaded once: a file of the same name and size that was fetched
//! before is skipped, and what its import did (imported, already imported, refused) is
//! recorded with it. A multi-file DSR report is imported when all its parts are there; until
//! then its parts are left for the next fetch. A refused report is recorded (so it is not
//! fetched again until the DSP replaces it) and the operators are told once. The import
//! itself is keyed by content, so a fetch interrupted anywhere and run again books nothing
//! twice.

use std::path::{Path, PathBuf};

use profiles::DspProfile;
use store::FetchedReport;

use crate::config::Config;
use crate::delivery::{Link, link};
use crate::royalty::{CatalogIndex, Env, ImportOptions, group_reports, import_one, this_month};
use crate::{App, Events, Result, err};

/// What one fetch did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Fetched {
    pub dsp: String,
    /// Files in the DSP's folder.
    pub listed: usize,
    pub downloaded: usize,
    /// Report file names imported now, already imported before, and refused (with why).
    pub imported: Vec<String>,
    pub already: Vec<String>,
    pub refused: Vec<(String, String)>,
    /// Parts of multi-file reports whose other parts are not there yet.
    pub waiting: Vec<String>,
    /// What each import did.
    pub reports: Vec<crate::royalty::ImportSummary>,
}

/// Where downloads wait for their import: a staging folder the purge job empties.
pub fn incoming(cfg: &Config, dsp: &str) -> PathBuf {
    cfg.files.join("incoming").join(dsp)
}

/// The report folder as an SFTP path: the profile names it relative to the account's top.
fn sftp_folder(folder: &str) -> String {
    if folder.starts_with('/') {
        folder.to_owned()
    } else {
        format!("/{folder}")
    }
}

/// Only plain file names are fetched: no hidden files, no uploads in progress, nothing that
/// could point outside the staging folder.
fn wanted(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.ends_with(".part")
        && !name.contains(['/', '\\'])
        && name != ".."
}

/// `period`: the reporting period to book into (default: this month; a closed one moves to
/// the next open period).
pub async fn fetch_reports(
    app: &App,
    p: &DspProfile,
    period: Option<&str>,
    ev: &dyn Events,
) -> Result<Fetched> {
    let (cfg, catalog) = (app.config(), app.catalog());
    let mut out = Fetched {
        dsp: p.name.clone(),
        ..Fetched::default()
    };
    let folder = p.sales_reports.folder.clone();
    let staging = incoming(cfg, &p.name);
    std::fs::create_dir_all(&staging).map_err(|e| err!("{}: {e}", staging.display()))?;
    let lnk = link(p)?;
    let listed: Vec<(String, u64)> = match &lnk {
        Link::Sftp { target, .. } => {
            let (target, dir) = (target.clone(), sftp_folder(&folder));
            tokio::task::spawn_blocking(move || -> Result<Vec<(String, u64)>> {
                let c = transport_sftp::Connection::open(&target)?;
                let l = c.list(&dir)?;
                c.close();
                Ok(l)
            })
            .await??
        }
        Link::Http(client) => client
            .list(&folder)
            .await
            .map_err(|e| err!("{e}"))?
            .into_iter()
            .map(|l| (l.name, l.size))
            .collect(),
    };
    out.listed = listed.len();
    let mut new = Vec::new();
    for (name, size) in listed {
        if wanted(&name) && size > 0 && !catalog.was_fetched(&p.name, &name, size as i64).await? {
            new.push((name, size));
        }
    }
    if new.is_empty() {
        return Ok(out);
    }
    // Download into `name.part`, then rename: a killed fetch never leaves a short file that
    // looks whole.
    let mut local = Vec::new();
    match &lnk {
        Link::Sftp { target, .. } => {
            let (target, dir, staging, names) = (
                target.clone(),
                sftp_folder(&folder),
                staging.clone(),
                new.clone(),
            );
            let clock = app.clock();
            local = tokio::task::spawn_blocking(move || -> Result<Vec<PathBuf>> {
                let c = transport_sftp::Connection::open(&target)?;
                let mut got = Vec::new();
                for (name, _) in &names {
                    let part = staging.join(part_name(name, clock.now()));
                    c.download(&format!("{}/{name}", dir.trim_end_matches('/')), &part)?;
                    let dest = staging.join(name);
                    std::fs::rename(&part, &dest).map_err(|e| err!("{}: {e}", dest.display()))?;
                    got.push(dest);
                }
                c.close();
                Ok(got)
            })
            .await??;
        }
        Link::Http(client) => {
            for (name, _) in &new {
                let part = staging.join(part_name(name, app.clock().now()));
                client
                    .download(&folder, name, &part)
                    .await
                    .map_err(|e| err!("{e}"))?;
                let dest = staging.join(name);
                std::fs::rename(&part, &dest).map_err(|e| err!("{}: {e}", dest.display()))?;
                local.push(dest);
            }
        }
    }
    out.downloaded = local.len();
    tracing::info!(dsp = %p.name, files = local.len(), "sales report files downloaded");

    let format = match p.sales_reports.format.strip_prefix("csv:") {
        Some(l) => {
            let layouts = cfg.report_layouts()?;
            report_csv::Format::Csv(Box::new(
                layouts
                    .get(l)
                    .ok_or_else(|| {
                        err!(
                            "profile {}: no report layout {l:?} in {}",
                            p.name,
                            cfg.report_formats.display()
                        )
                    })?
                    .clone(),
            ))
        }
        None => report_csv::Format::Dsr,
    };
    let groups = match format {
        report_csv::Format::Dsr => group_reports(&local),
        report_csv::Format::Csv(_) => local.iter().map(|f| vec![f.clone()]).collect(),
    };
    let files = app.files();
    let profiles = app.profiles()?;
    let contracts = crate::royalty::load_contracts(cfg)?;
    let period = period.map_or_else(|| this_month(app.clock()), str::to_owned);
    for g in groups {
        let names: Vec<String> = g.iter().map(|f| file_name(f)).collect();
        if let Some(of) = parts_expected(&names[0])
            && (g.len() as u32) < of
        {
            // The other parts are still on their way: fetch this report again next time.
            out.waiting.extend(names);
            continue;
        }
        // Reloaded per report: one report may teach ids the next one needs.
        let ix = CatalogIndex::load(catalog).await?;
        let env = Env {
            catalog,
            files,
            ix: &ix,
            profiles,
            contracts: &contracts,
            limits: &cfg.limits,
        };
        let opts = ImportOptions {
            period: period.clone(),
            dsp: Some(p.name.clone()),
            ..ImportOptions::default()
        };
        // An error here (the database, a closed period) is not the report's fault: the job
        // fails and runs again, and nothing is recorded as fetched.
        let hidden: std::sync::Arc<dyn crate::Meter> = std::sync::Arc::new(crate::events::NoMeter);
        let s = import_one(&env, &g, &format, &opts, &hidden).await?;
        let (outcome, detail) = match s.outcome.as_str() {
            "refused" => ("refused", s.refusals.join("; ")),
            "already imported" => (
                "already",
                format!("report {}", s.report_id.unwrap_or_default()),
            ),
            _ => (
                "imported",
                format!(
                    "report {}: {} usage lines, {} matched; {}",
                    s.report_id.unwrap_or_default(),
                    s.usage_lines,
                    s.matched_lines,
                    s.totals
                        .iter()
                        .map(|(c, v)| format!("{c} {v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
        };
        for f in &g {
            let size = std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
            catalog
                .record_fetched(&FetchedReport {
                    dsp: p.name.clone(),
                    name: file_name(f),
                    size: size as i64,
                    sha256: crate::royalty::sha256_file(f)?,
                    outcome: outcome.into(),
                    detail: detail.clone(),
                    fetched_at: String::new(),
                })
                .await?;
        }
        let joined = names.join(" + ");
        tracing::info!(dsp = %p.name, report = %joined, outcome, detail = %detail, "sales report fetched");
        match outcome {
            "refused" => {
                ev.warn(&format!(
                    "sales report {joined} from {} refused: {detail}",
                    p.name
                ));
                alert_refused(app, &p.name, &joined, &detail).await;
                out.refused.push((joined, detail));
            }
            "already" => out.already.push(joined),
            _ => out.imported.push(joined),
        }
        out.reports.push(s);
    }
    Ok(out)
}

/// A download's name until it is whole: its own per process and moment, so two fetchers of
/// one DSP (a job taken over from a stalled worker, an operator's `reports fetch`) never
/// write into one file; the rename then puts identical bytes in place.
fn part_name(name: &str, now: chrono::DateTime<chrono::Utc>) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!(
        "{name}.{}-{}-{n}.part",
        std::process::id(),
        now.timestamp_subsec_nanos()
    )
}

fn file_name(f: &Path) -> String {
    f.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// How many files a DSR report of this name has (`…_1of3_…`); None for a single file.
fn parts_expected(name: &str) -> Option<u32> {
    dsr::FileName::parse(name)
        .ok()
        .map(|n| n.of)
        .filter(|n| *n > 1)
}

/// Tells the operators (`[mail] summary_to`) that a fetched report was refused; the
/// refusal is recorded with the file, so this happens once per file.
async fn alert_refused(app: &App, dsp: &str, report: &str, why: &str) {
    let cfg = app.config();
    let Some(to) = &cfg.summary_to else {
        tracing::warn!(dsp, report, "refused report: no [mail] summary_to to tell");
        return;
    };
    let n = notify::operator_alert(
        to,
        &format!("sales report from {dsp} refused: {report}"),
        &format!("Nothing of it was booked. Why:\n{why}"),
        &format!(
            "ask {dsp} for a corrected file, or import it by hand with `liner reports import` \
             (--accept-mismatch only if the money difference is understood)."
        ),
    );
    if let Err(e) = app.notifier().send(n).await {
        tracing::warn!(dsp, report, error = %e, "the refusal e-mail was not sent");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_finished_files_are_fetched() {
        assert!(wanted("spotify_sales_2026-10.csv"));
        for bad in ["", ".hidden", "x.tsv.part", "../etc/passwd", "a/b", ".."] {
            assert!(!wanted(bad), "{bad:?}");
        }
        assert_eq!(sftp_folder("reports"), "/reports");
        assert_eq!(sftp_folder("/out/reports"), "/out/reports");
    }

    #[test]
    fn multi_file_reports_wait_for_their_parts() {
        assert_eq!(
            parts_expected(
                "DSR_PADPIDA2026112601L_PADPIDA0000000001S_AdSupport_2026-10_WW_1of2_20261031T000000.tsv"
            ),
            Some(2)
        );
        assert_eq!(
            parts_expected(
                "DSR_PADPIDA2026112601L_PADPIDA0000000001S_AdSupport_2026-10_WW_1of1_20261031T000000.tsv"
            ),
            None
        );
        assert_eq!(parts_expected("apple-music_sales_2026-10.csv"), None);
    }
}
