//! The staff page of a QC report: one self-contained HTML file (inline CSS, inline SVG plots,
//! the artwork thumbnail as a data: URI), so it can be mailed, archived or opened offline.
//! Findings are grouped by severity with their fix hints; each track shows its waveform and
//! short-term loudness over time beside its measures.

use std::fmt::Write;

use qc::{Finding, QcReport, Severity, TrackFacts};

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
:root { --err:#b3261e; --warn:#8a5a00; --info:#3a5a8c; --ok:#1e6b35; --line:#d9d9e0; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1c1c24; background: #f6f6f9; }
header { background: #1c1c24; color: #fff; padding: 16px 24px; }
header h1 { margin: 0 0 4px; font-size: 20px; }
header .meta { opacity: .8; }
main { padding: 16px 24px; max-width: 1200px; }
.verdict { display: inline-block; padding: 4px 10px; border-radius: 4px; font-weight: 600; margin-top: 8px; }
.verdict.blocked { background: var(--err); } .verdict.passed { background: var(--ok); }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px; margin-bottom: 16px; }
h2 { font-size: 16px; margin: 0 0 8px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 8px; border-top: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; background: #fafafc; }
.rule { font-family: ui-monospace, monospace; white-space: nowrap; }
.sev { font-weight: 600; text-transform: uppercase; font-size: 12px; }
.sev.error { color: var(--err); } .sev.warning { color: var(--warn); } .sev.info { color: var(--info); }
.hint { color: #555; } .value { font-family: ui-monospace, monospace; word-break: break-all; }
.fix { font-family: ui-monospace, monospace; color: var(--ok); }
.track { display: grid; grid-template-columns: 1fr 280px; gap: 12px; border-top: 1px solid var(--line); padding-top: 10px; margin-top: 10px; }
.track:first-of-type { border-top: 0; }
.plot { width: 100%; height: auto; background: #fbfbfe; border: 1px solid var(--line); }
dl { display: grid; grid-template-columns: auto 1fr; gap: 2px 10px; margin: 0; }
dt { color: #555; } dd { margin: 0; font-variant-numeric: tabular-nums; }
.art { display: flex; gap: 16px; align-items: flex-start; }
.art img { width: 256px; height: 256px; object-fit: contain; border: 1px solid var(--line); background: #eee; }
.none { color: #777; font-style: italic; }
"#;

/// Renders the whole page.
pub fn render(report: &QcReport) -> String {
    let mut h = String::with_capacity(64 * 1024);
    let title = format!("QC {} — {}", report.upc, report.title);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>{}</title><style>{STYLE}</style></head><body>",
        escape(&title)
    );
    let verdict = if report.blocked {
        "<span class=\"verdict blocked\" id=\"verdict\">BLOCKED — errors must be fixed or overridden by staff</span>"
    } else if report.needs_review {
        "<span class=\"verdict blocked\" id=\"verdict\">NEEDS REVIEW — delivery waits for a staff decision</span>"
    } else {
        "<span class=\"verdict passed\" id=\"verdict\">PASSED — nothing blocks delivery</span>"
    };
    let _ = write!(
        h,
        "<header><h1>{}</h1><div class=\"meta\">{} · UPC {} · revision {} · profile {} · checked {} · {} rules · {} error(s), {} warning(s), {} info</div>{verdict}</header><main>",
        escape(&report.title),
        escape(&report.display_artist),
        escape(&report.upc),
        report.revision.map_or("—".to_owned(), |r| r.to_string()),
        escape(
            report
                .profile
                .as_deref()
                .unwrap_or(if report.verdicts.len() > 1 {
                    "every DSP"
                } else {
                    "generic"
                })
        ),
        report.checked_on,
        report.rules_run,
        report.counts.error,
        report.counts.warning,
        report.counts.info,
    );
    verdict_matrix(&mut h, report);
    for (sev, heading) in [
        (Severity::Error, "Errors"),
        (Severity::Warning, "Warnings"),
        (Severity::Info, "Information"),
    ] {
        findings_section(&mut h, report, sev, heading);
    }
    artwork_section(&mut h, report);
    let _ = write!(h, "<section id=\"tracks\"><h2>Audio</h2>");
    for t in &report.tracks {
        track_section(&mut h, t);
    }
    h.push_str("</section></main></body></html>\n");
    h
}

/// The page opens with what QC decides per DSP: passed, warnings, needs review or blocked,
/// with the rules behind it.
fn verdict_matrix(h: &mut String, report: &QcReport) {
    if report.verdicts.is_empty() {
        return;
    }
    h.push_str("<section id=\"verdicts\"><h2>Verdict per DSP</h2><table><thead><tr><th>DSP</th><th>Verdict</th><th>Why</th></tr></thead><tbody>");
    for v in &report.verdicts {
        let class = match v.outcome {
            qc::Outcome::Passed | qc::Outcome::Warnings => "passed",
            qc::Outcome::Review | qc::Outcome::Blocked => "blocked",
        };
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"{class}\">{}</td><td>{}</td></tr>",
            escape(&v.dsp),
            escape(v.outcome.as_str()),
            escape(&v.reasons.join(", "))
        );
    }
    h.push_str("</tbody></table></section>");
}

fn findings_section(h: &mut String, report: &QcReport, sev: Severity, heading: &str) {
    let list: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.severity == sev)
        .collect();
    let _ = write!(
        h,
        "<section class=\"findings\" id=\"findings-{sev}\"><h2>{heading} ({})</h2>",
        list.len()
    );
    if list.is_empty() {
        h.push_str("<p class=\"none\">None.</p></section>");
        return;
    }
    h.push_str("<table><thead><tr><th>Rule</th><th>Field</th><th>Finding</th><th>Fix</th></tr></thead><tbody>");
    for f in list {
        let fixes: Vec<String> = f
            .fixes
            .iter()
            .map(|x| format!("{} = {}", escape(&x.field), escape(&x.value.to_string())))
            .collect();
        let _ = write!(
            h,
            "<tr><td><span class=\"rule\">{}</span><br><span class=\"sev {sev}\">{sev}</span>{}</td><td class=\"value\">{}</td><td>{}{}<div class=\"hint\">{}</div></td><td class=\"fix\">{}</td></tr>",
            escape(&f.rule),
            // In a report over several DSPs: which ones this severity applies to.
            if f.dsps.is_empty() || f.dsps.len() == report.verdicts.len() {
                String::new()
            } else {
                format!(
                    "<br><span class=\"dsps\">{}</span>",
                    escape(&f.dsps.join(", "))
                )
            },
            escape(&f.field),
            escape(&f.message),
            f.value.as_deref().map_or(String::new(), |v| format!(
                "<div class=\"value\">“{}”</div>",
                escape(v)
            )),
            escape(&f.hint),
            if fixes.is_empty() {
                String::new()
            } else {
                format!("<code>liner qc --fix</code>: {}", fixes.join("<br>"))
            },
        );
    }
    h.push_str("</tbody></table></section>");
}

fn artwork_section(h: &mut String, report: &QcReport) {
    h.push_str("<section id=\"artwork\"><h2>Artwork</h2>");
    let Some(a) = &report.artwork else {
        h.push_str("<p class=\"none\">Not analysed.</p></section>");
        return;
    };
    h.push_str("<div class=\"art\">");
    match &a.thumbnail {
        Some(uri) => {
            let _ = write!(
                h,
                "<img id=\"artwork-thumb\" alt=\"cover art\" src=\"{}\">",
                escape(uri)
            );
        }
        None => h.push_str("<p class=\"none\">No thumbnail: the image was not decoded.</p>"),
    }
    let dims = match (a.width, a.height) {
        (Some(w), Some(hh)) => format!("{w} × {hh} px"),
        _ => "unknown".into(),
    };
    let _ = write!(
        h,
        "<dl><dt>Format</dt><dd>{:?}</dd><dt>Size</dt><dd>{}</dd><dt>File</dt><dd>{:.2} MB</dd><dt>Colour</dt><dd>{}</dd><dt>Bits/channel</dt><dd>{}</dd><dt>ICC profile</dt><dd>{}</dd><dt>EXIF orientation</dt><dd>{}</dd><dt>Sharpness</dt><dd>{}</dd><dt>dHash</dt><dd>{}</dd></dl></div></section>",
        a.format,
        dims,
        a.file_bytes as f64 / 1_048_576.0,
        a.colour.map_or("—".to_owned(), |c| format!("{c:?}")),
        a.bits_per_channel.map_or("—".to_owned(), |b| b.to_string()),
        if a.icc_profile { "embedded" } else { "none" },
        a.exif_orientation
            .map_or("none".to_owned(), |o| o.to_string()),
        a.sharpness.map_or("—".to_owned(), |s| format!("{s:.1}")),
        a.dhash.as_deref().unwrap_or("—"),
    );
}

fn track_section(h: &mut String, t: &TrackFacts) {
    let _ = write!(
        h,
        "<div class=\"track\" id=\"track-{}\"><div><h3>{}.{} {} <small>{}</small></h3>",
        t.index,
        t.disc.max(1),
        t.number,
        escape(&t.title),
        escape(&t.isrc)
    );
    let Some(a) = &t.audio else {
        h.push_str("<p class=\"none\">Audio not analysed.</p></div></div>");
        return;
    };
    match &a.plot {
        Some(p) => {
            h.push_str(&waveform_svg(t.index, p));
            h.push_str(&loudness_svg(t.index, p));
            if let Some(spectrum) = a.measures.as_ref().and_then(|m| m.spectrum.as_ref()) {
                h.push_str(&spectrum_svg(
                    t.index,
                    spectrum,
                    a.sample_rate.unwrap_or(44_100),
                ));
            }
        }
        None => {
            let _ = write!(
                h,
                "<p class=\"none\">No plot: {}</p>",
                escape(
                    a.unreadable
                        .as_deref()
                        .or(a.decode_error.as_deref())
                        .unwrap_or("nothing decoded")
                )
            );
        }
    }
    h.push_str("</div><dl>");
    let mut row = |k: &str, v: String| {
        let _ = write!(h, "<dt>{k}</dt><dd>{}</dd>", escape(&v));
    };
    row("Container", a.container.name().to_owned());
    row("Codec", a.codec.clone().unwrap_or_else(|| "—".into()));
    row(
        "Format",
        format!(
            "{}-bit / {} Hz / {} ch",
            a.bits_per_sample.map_or("?".into(), |b| b.to_string()),
            a.sample_rate.map_or("?".into(), |r| r.to_string()),
            a.channels.map_or("?".into(), |c| c.to_string())
        ),
    );
    row(
        "Duration",
        format!(
            "{:.1} s (metadata {:.1} s)",
            a.duration_ms as f64 / 1000.0,
            t.declared_duration_ms as f64 / 1000.0
        ),
    );
    if let Some(m) = &a.measures {
        row(
            "Integrated",
            m.integrated_lufs
                .map_or("below gate".into(), |l| format!("{l:.1} LUFS")),
        );
        row("Loudness range", format!("{:.1} LU", m.loudness_range_lu));
        row("True peak", format!("{:.2} dBTP", m.true_peak_dbtp));
        row("Sample peak", format!("{:.2} dBFS", m.sample_peak_dbfs));
        row(
            "Silence head/tail",
            format!(
                "{:.1} s / {:.1} s",
                m.leading_silence_ms as f64 / 1000.0,
                m.trailing_silence_ms as f64 / 1000.0
            ),
        );
        row("Clipped runs", m.clipped_runs.to_string());
        row("DC offset", format!("{:.3} %", m.dc_offset_percent));
        row("Bits used", m.effective_bits.to_string());
        row("Dual mono", if m.dual_mono { "yes" } else { "no" }.into());
        row(
            "Content reaches",
            m.spectrum
                .as_ref()
                .and_then(|s| s.cutoff_hz)
                .map_or("Nyquist".into(), |c| format!("{:.1} kHz", c / 1000.0)),
        );
    }
    row(
        "PCM hash",
        a.pcm_sha256
            .as_deref()
            .map_or("—".into(), |h| h[..16].to_owned()),
    );
    h.push_str("</dl></div>");
}

const W: f64 = 800.0;

/// Peak envelope mirrored around the centre line, with the RMS envelope inside it.
fn waveform_svg(index: usize, p: &qc::AudioPlot) -> String {
    let hgt = 120.0;
    let mid = hgt / 2.0;
    let n = p.peak.len().max(1) as f64;
    let x = |i: usize| i as f64 * W / n;
    let mut top = String::new();
    let mut bottom = String::new();
    let mut rms_top = String::new();
    let mut rms_bottom = String::new();
    for (i, (pk, r)) in p.peak.iter().zip(&p.rms).enumerate() {
        let y = f64::from(pk.min(1.0)) * (mid - 2.0);
        let yr = f64::from(r.min(1.0)) * (mid - 2.0);
        let _ = write!(top, "{:.1},{:.1} ", x(i), mid - y);
        let _ = write!(
            bottom,
            "{:.1},{:.1} ",
            x(p.peak.len() - 1 - i),
            mid + f64::from(p.peak[p.peak.len() - 1 - i].min(1.0)) * (mid - 2.0)
        );
        let _ = write!(rms_top, "{:.1},{:.1} ", x(i), mid - yr);
        let _ = write!(
            rms_bottom,
            "{:.1},{:.1} ",
            x(p.rms.len() - 1 - i),
            mid + f64::from(p.rms[p.rms.len() - 1 - i].min(1.0)) * (mid - 2.0)
        );
    }
    format!(
        "<svg class=\"plot waveform\" id=\"waveform-{index}\" viewBox=\"0 0 {W} {hgt}\" width=\"{W}\" height=\"{hgt}\" role=\"img\" aria-label=\"waveform\"><line x1=\"0\" y1=\"{mid}\" x2=\"{W}\" y2=\"{mid}\" stroke=\"#ccd\"/><polygon points=\"{top}{bottom}\" fill=\"#7b8ccf\"/><polygon points=\"{rms_top}{rms_bottom}\" fill=\"#2f3f8f\"/></svg>"
    )
}

/// Short-term loudness over time, −60…0 LUFS, with the −14 LUFS streaming reference.
fn loudness_svg(index: usize, p: &qc::AudioPlot) -> String {
    let hgt = 90.0;
    let (lo, hi) = (-60.0f64, 0.0f64);
    let y = |l: f64| hgt - (l.clamp(lo, hi) - lo) / (hi - lo) * hgt;
    let n = p.short_term_lufs.len().max(1) as f64;
    let mut path = String::new();
    let mut pen_up = true;
    for (i, v) in p.short_term_lufs.iter().enumerate() {
        match v {
            Some(l) => {
                let _ = write!(
                    path,
                    "{}{:.1},{:.1} ",
                    if pen_up { "M" } else { "L" },
                    i as f64 * W / n,
                    y(f64::from(*l))
                );
                pen_up = false;
            }
            None => pen_up = true,
        }
    }
    let r = y(-14.0);
    format!(
        "<svg class=\"plot loudness\" id=\"loudness-{index}\" viewBox=\"0 0 {W} {hgt}\" width=\"{W}\" height=\"{hgt}\" role=\"img\" aria-label=\"short-term loudness\"><line x1=\"0\" y1=\"{r:.1}\" x2=\"{W}\" y2=\"{r:.1}\" stroke=\"#c77\" stroke-dasharray=\"4 4\"/><text x=\"4\" y=\"{:.1}\" font-size=\"10\" fill=\"#a55\">−14 LUFS</text><path d=\"{path}\" fill=\"none\" stroke=\"#1e6b35\" stroke-width=\"1.5\"/></svg>",
        r - 3.0
    )
}

/// The long-term spectrum (level per 250 Hz band, 0–Nyquist), with the detected cutoff marked:
/// what staff look at when QC suspects a lossy source.
fn spectrum_svg(index: usize, s: &qc::AudioSpectrum, sample_rate: u32) -> String {
    let hgt = 90.0;
    let nyquist = f64::from(sample_rate) / 2.0;
    let top = s
        .bands
        .iter()
        .map(|b| b.1)
        .fold(f64::NEG_INFINITY, f64::max);
    let floor = top - 100.0;
    let x = |hz: f64| hz / nyquist * W;
    let y = |db: f64| hgt - ((db - floor) / (top - floor)).clamp(0.0, 1.0) * hgt;
    let mut path = String::new();
    for (i, (hz, db)) in s.bands.iter().enumerate() {
        let _ = write!(
            path,
            "{}{:.1},{:.1} ",
            if i == 0 { "M" } else { "L" },
            x(*hz + 125.0),
            y(*db)
        );
    }
    let cutoff = s.cutoff_hz.map_or(String::new(), |c| {
        format!(
            "<line x1=\"{0:.1}\" y1=\"0\" x2=\"{0:.1}\" y2=\"{hgt}\" stroke=\"#b3261e\" stroke-dasharray=\"3 3\"/><text x=\"{1:.1}\" y=\"12\" font-size=\"10\" fill=\"#b3261e\">content ends {2:.1} kHz</text>",
            x(c),
            (x(c) - 70.0).max(2.0),
            c / 1000.0
        )
    });
    format!(
        "<svg class=\"plot spectrum\" id=\"spectrum-{index}\" viewBox=\"0 0 {W} {hgt}\" width=\"{W}\" height=\"{hgt}\" role=\"img\" aria-label=\"long-term spectrum\"><text x=\"4\" y=\"{:.1}\" font-size=\"10\" fill=\"#666\">0 Hz</text><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"#666\">{:.1} kHz</text><path d=\"{path}\" fill=\"none\" stroke=\"#3a5a8c\" stroke-width=\"1.2\"/>{cutoff}</svg>",
        hgt - 3.0,
        W - 50.0,
        hgt - 3.0,
        nyquist / 1000.0
    )
}
