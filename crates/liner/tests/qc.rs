//! `liner qc` and `liner review` end to end: the planted-problems release yields exactly its
//! findings, `--fix` repairs the metadata ones, clean fixtures pass every DSP profile, broken
//! media are findings, staff decisions are audited, and the HTML report draws in Chromium.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

mod common;
use common::{fixtures, repo};

struct Env {
    dir: tempfile::TempDir,
    database: String,
    operator: Option<&'static str>,
}

impl Env {
    fn sqlite() -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let database = format!("sqlite://{}", dir.path().join("catalog.db").display());
        let env = Env {
            dir,
            database,
            operator: None,
        };
        env.ok(&["init"]);
        env
    }

    fn liner(&self, args: &[&str]) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_liner"));
        c.args(args)
            .current_dir(repo())
            .env("LINER_DATABASE", &self.database)
            .env("LINER_FILES", self.dir.path().join("files"))
            .env_remove("DATABASE_URL")
            .env_remove("LINER_CONFIG")
            .env_remove("LINER_OPERATOR")
            .env_remove("RUST_LOG");
        if let Some(op) = self.operator {
            c.env("LINER_OPERATOR", op);
        }
        c.output().expect("run liner")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.liner(args);
        assert!(
            out.status.success(),
            "liner {args:?} failed ({:?}):\n{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8 stdout")
    }

    /// Runs `qc … --json`, checks the exit code, returns the report.
    fn qc(&self, args: &[&str], code: i32) -> serde_json::Value {
        let mut all = vec!["qc"];
        all.extend_from_slice(args);
        all.push("--json");
        let out = self.liner(&all);
        assert_eq!(
            out.status.code(),
            Some(code),
            "liner {all:?}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("qc --json is JSON")
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// (severity, rule, field) of every error and warning.
fn findings(report: &serde_json::Value) -> BTreeSet<(String, String, String)> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["severity"] != "info")
        .map(|f| {
            (
                f["severity"].as_str().unwrap_or_default().to_owned(),
                f["rule"].as_str().unwrap_or_default().to_owned(),
                f["field"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn set(list: &[(&str, &str, &str)]) -> BTreeSet<(String, String, String)> {
    list.iter()
        .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
        .collect()
}

/// What stays after `--fix`: audio and artwork are never rewritten, and some metadata needs a
/// human (a writer's full name, marketing words in a title).
const UNFIXABLE: &[(&str, &str, &str)] = &[
    ("error", "ART-SQUARE", "artwork"),
    ("error", "ART-COLOUR", "artwork"),
    (
        "error",
        "META-WRITER-NAME",
        "tracks[0].contributors[0].name",
    ),
    ("error", "META-EXCLUSIVE", "tracks[3].title"),
    ("error", "META-FORMAT-TERMS", "tracks[3].title"),
    ("error", "AUD-TRUNCATED", "tracks[4].audio"),
    ("warning", "ART-MIN-SIZE", "artwork"),
    ("warning", "ART-BLUR", "artwork"),
    ("warning", "SCREEN-AI-POLICY", "ai.contains"),
    ("warning", "AUD-MIXED-FORMATS", "tracks"),
    ("warning", "AUD-CLIPPING", "tracks[0].audio"),
    ("warning", "AUD-TRUE-PEAK", "tracks[0].audio"),
    ("warning", "AUD-SAMPLE-PEAK", "tracks[0].audio"),
    ("warning", "AUD-SILENCE-EDGES", "tracks[1].audio"),
    ("warning", "AUD-DUAL-MONO", "tracks[1].audio"),
    ("warning", "META-GENERIC-TITLE", "tracks[2].title"),
    ("warning", "AUD-WAV-EXTENSIBLE", "tracks[2].audio"),
    ("warning", "AUD-BIT-PADDED", "tracks[2].audio"),
    ("warning", "AUD-LOSSY-SOURCE", "tracks[3].audio"),
];

/// What the DSPs' profiles raise above the rules' defaults, or add (the release discloses
/// AI content, which ERN 4.3 and 3.8.2 cannot carry).
const PER_DSP: &[(&str, &str, &str)] = &[
    ("error", "ART-MIN-SIZE", "artwork"),
    ("error", "AUD-WAV-EXTENSIBLE", "tracks[2].audio"),
    ("error", "META-CASE-ALL-CAPS", "title"),
    ("warning", "ERN-AI-NOT-CARRIED", "ai"),
];

/// The machine-fixable ones.
const FIXABLE: &[(&str, &str, &str)] = &[
    ("error", "META-ARTIST-SINGLE", "artists[0].name"),
    ("error", "META-ARTIST-SINGLE", "tracks[0].artists[0].name"),
    ("error", "META-ARTIST-SINGLE", "tracks[1].artists[0].name"),
    ("error", "META-ARTIST-SINGLE", "tracks[2].artists[0].name"),
    ("error", "META-ARTIST-SINGLE", "tracks[3].artists[0].name"),
    ("error", "META-ARTIST-SINGLE", "tracks[4].artists[0].name"),
    ("error", "META-EXPLICIT-CONSISTENT", "parental_advisory"),
    ("error", "META-AI-CONSISTENT", "ai.contains"),
    ("error", "META-FEAT-FORMAT", "tracks[0].title"),
    ("error", "META-FEAT-CREDITED", "tracks[0].artists"),
    ("error", "META-VERSION-BRACKETS", "tracks[1].title"),
    ("error", "META-EMOJI", "tracks[4].title"),
    ("error", "AUD-DURATION-MATCH", "tracks[2].duration"),
    ("error", "AUD-DURATION-MATCH", "tracks[4].duration"),
    ("warning", "META-CASE-ALL-CAPS", "title"),
];

#[test]
fn the_planted_problems_are_found_exactly_and_fix_repairs_the_metadata() {
    let env = Env::sqlite();
    let folder = fixtures().join("qc/problems");
    let report = env.qc(&[path(&folder)], 3);
    // Without --dsp every profile is checked: the profiles' own severities come in beside
    // the rules' defaults, each naming the DSPs it is for.
    let expected: BTreeSet<_> = set(UNFIXABLE)
        .union(&set(FIXABLE))
        .cloned()
        .chain(set(PER_DSP))
        .collect();
    let got = findings(&report);
    let verdicts = report["verdicts"].as_array().expect("verdicts");
    assert_eq!(verdicts.len(), 4, "one verdict per DSP");
    assert!(
        verdicts.iter().all(|v| v["outcome"] == "blocked"),
        "{verdicts:?}"
    );
    let extensible = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["rule"] == "AUD-WAV-EXTENSIBLE" && f["severity"] == "error")
        .expect("an error for Spotify");
    assert_eq!(extensible["dsps"], serde_json::json!(["spotify"]));
    assert_eq!(
        got,
        expected,
        "missing: {:#?}\nunexpected: {:#?}",
        expected.difference(&got).collect::<Vec<_>>(),
        got.difference(&expected).collect::<Vec<_>>()
    );
    let rules: BTreeSet<&str> = expected.iter().map(|(_, r, _)| r.as_str()).collect();
    assert!(rules.len() >= 15, "{} distinct problems", rules.len());
    assert!(report["blocked"].as_bool().expect("blocked"));
    for f in report["findings"].as_array().expect("findings") {
        assert!(
            !f["hint"].as_str().unwrap_or_default().is_empty(),
            "every finding says how to fix it: {f}"
        );
    }
    for (_, rule, field) in FIXABLE {
        let f = report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .find(|f| f["rule"] == *rule && f["field"] == *field)
            .expect("finding");
        assert!(
            f["fixes"].as_array().is_some_and(|x| !x.is_empty()),
            "{rule} on {field} offers a fix"
        );
    }
    assert_eq!(report["tracks"].as_array().map(Vec::len), Some(5));
    assert!(
        report["tracks"][0]["audio"]["measures"]["integrated_lufs"]
            .as_f64()
            .is_some()
    );

    // --fix works on the catalog: import, fix, and the fixed revision is what QC sees next.
    env.ok(&["import", path(&folder)]);
    let fixed = env.qc(&["196543210065", "--fix"], 3);
    assert_eq!(fixed["revision"], 2);
    // What --fix cannot repair is left, with the per-DSP severities (META-CASE-ALL-CAPS was
    // fixed; the rest are audio and artwork).
    // The fixed credit (two main artists) is one a DSP's profile raises to an error.
    let left: BTreeSet<_> = set(UNFIXABLE)
        .into_iter()
        .chain(
            set(PER_DSP)
                .into_iter()
                .filter(|f| f.1 != "META-CASE-ALL-CAPS"),
        )
        .chain(set(&[("error", "META-VARIOUS-ARTISTS", "artists")]))
        .collect();
    assert_eq!(findings(&fixed), left);
    let doc: serde_json::Value =
        serde_json::from_str(&env.ok(&["show", "196543210065", "--json"])).expect("json");
    assert_eq!(doc["title"], "Neon Ghosts");
    assert_eq!(doc["parental_advisory"], "Explicit");
    assert_eq!(
        doc["artists"],
        serde_json::json!([{"name": "DJ Koda", "role": "MainArtist"}, {"name": "MC Rune", "role": "MainArtist"}])
    );
    assert_eq!(doc["tracks"][0]["title"], "Summer (feat. Ana)");
    assert!(
        doc["tracks"][0]["artists"]
            .as_array()
            .expect("artists")
            .iter()
            .any(|a| a["name"] == "Ana" && a["role"] == "FeaturedArtist")
    );
    assert_eq!(
        doc["tracks"][1]["title"],
        "Night Drive (Radio Edit) [Remastered 2020]"
    );
    assert_eq!(doc["tracks"][4]["title"], "Fire");
    // Audio and artwork are the same files as before.
    let rev1: serde_json::Value =
        serde_json::from_str(&env.ok(&["show", "196543210065", "--revision", "1", "--json"]))
            .expect("json");
    assert_eq!(rev1["artwork"], doc["artwork"]);
    assert_eq!(rev1["tracks"][3]["audio"], doc["tracks"][3]["audio"]);
    let listed: Vec<serde_json::Value> =
        serde_json::from_str(&env.ok(&["releases", "--json"])).expect("json");
    assert_eq!(listed[0]["status"], "qc-blocked");
}

#[test]
fn clean_fixtures_pass_every_profile() {
    let env = Env::sqlite();
    let f = fixtures();
    env.ok(&[
        "import",
        path(&f.join("releases/night-drives")),
        path(&f.join("releases/paper-boats")),
        path(&f.join("sheets/catalog.csv")),
    ]);
    for upc in [
        "196543210010",
        "196543210034",
        "196543210041",
        "196543210058",
    ] {
        for dsp in [
            None,
            Some("spotify"),
            Some("apple-music"),
            Some("youtube-music"),
            Some("deezer"),
        ] {
            let mut args = vec![upc];
            if let Some(d) = dsp {
                args.extend(["--dsp", d]);
            }
            let report = env.qc(&args, 0);
            assert_eq!(findings(&report), BTreeSet::new(), "{upc} {dsp:?}");
            assert!(
                report["counts"]["info"].as_u64().unwrap_or(0) > 0,
                "measures are reported as info"
            );
        }
    }
    // The AI-disclosing EP passes too, with a review warning under the default policy.
    env.ok(&["import", path(&f.join("releases/hoshizora"))]);
    let report = env.qc(&["196543210027", "--dsp", "youtube-music"], 0);
    assert_eq!(
        findings(&report),
        set(&[("warning", "SCREEN-AI-POLICY", "ai.contains")]),
        "YouTube takes ERN 4.3.2: the disclosure reaches it"
    );
    assert_eq!(report["needs_review"], true);
    assert_eq!(report["verdicts"][0]["outcome"], "review");
    // A DSP whose ERN version cannot carry the disclosure gets a finding for it.
    let report = env.qc(&["196543210027", "--dsp", "spotify"], 0);
    assert!(
        findings(&report).contains(&(
            "warning".to_owned(),
            "ERN-AI-NOT-CARRIED".to_owned(),
            "ai".to_owned()
        )),
        "{report}"
    );
    // A second run reuses the cached analyses and gives the same findings.
    assert_eq!(
        findings(&env.qc(&["196543210027", "--dsp", "spotify"], 0)),
        findings(&report)
    );
    let out = env.liner(&["qc", "196543210010", "--dsp", "nowhere"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no DSP profile named \"nowhere\""));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).expect("copy");
        }
    }
}

#[test]
fn broken_media_are_findings_not_crashes() {
    let env = Env::sqlite();
    let work = tempfile::tempdir().expect("tmp");
    let single = work.path().join("single");
    copy_dir(&fixtures().join("releases/paper-boats"), &single);
    let wav = std::fs::read(single.join("audio/01.wav")).expect("wav");
    // Track 1: truncated WAV; track 2: an MP3 renamed .wav; cover: a 5-byte "PNG".
    std::fs::write(single.join("audio/01.wav"), &wav[..wav.len() / 3]).expect("write");
    let mut mp3 = b"ID3\x04\0\0\0\0\0\x10".to_vec();
    mp3.extend_from_slice(&[0u8; 16]);
    mp3.extend(std::iter::repeat_n([0xFFu8, 0xFB, 0x90, 0x64], 500).flatten());
    std::fs::write(single.join("audio/02.wav"), mp3).expect("write");
    std::fs::write(single.join("artwork/cover.png"), b"\x89PNG\r").expect("write");
    let report = env.qc(&[path(&single)], 3);
    let got = findings(&report);
    for want in [
        ("error", "AUD-TRUNCATED", "tracks[0].audio"),
        ("error", "AUD-FORMAT", "tracks[1].audio"),
        ("error", "ART-FORMAT", "artwork"),
    ] {
        assert!(
            got.contains(&(
                (want.0).to_owned(),
                (want.1).to_owned(),
                (want.2).to_owned()
            )),
            "{want:?} in {got:#?}"
        );
    }
    let mp3_finding = report["findings"]
        .as_array()
        .expect("f")
        .iter()
        .find(|f| f["rule"] == "AUD-FORMAT")
        .expect("AUD-FORMAT");
    assert!(
        mp3_finding["message"]
            .as_str()
            .unwrap_or_default()
            .contains("MP3"),
        "{mp3_finding}"
    );

    // Zero-length audio and a 20000 × 20000 PNG header.
    std::fs::write(single.join("audio/01.wav"), b"").expect("write");
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    png.extend_from_slice(&20_000u32.to_be_bytes());
    png.extend_from_slice(&20_000u32.to_be_bytes());
    png.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
    std::fs::write(single.join("artwork/cover.png"), png).expect("write");
    let report = env.qc(&[path(&single)], 3);
    let empty = report["findings"]
        .as_array()
        .expect("f")
        .iter()
        .find(|f| f["rule"] == "AUD-FORMAT" && f["field"] == "tracks[0].audio")
        .expect("empty audio");
    assert!(
        empty["message"]
            .as_str()
            .unwrap_or_default()
            .contains("empty"),
        "{empty}"
    );
    let big = report["findings"]
        .as_array()
        .expect("f")
        .iter()
        .find(|f| f["rule"] == "ART-FORMAT")
        .expect("huge artwork");
    assert!(
        big["message"]
            .as_str()
            .unwrap_or_default()
            .contains("20000 × 20000"),
        "{big}"
    );
    assert_eq!(report["artwork"]["width"], 20_000);
}

#[test]
fn staff_decisions_are_signed_coded_and_audited() {
    let mut env = Env::sqlite();
    env.ok(&["import", path(&fixtures().join("releases/night-drives"))]);
    let out = env.liner(&["review", "approve", "196543210010"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("operator"),
        "decisions need an operator identity"
    );
    env.operator = Some("Rosa Staff <rosa@distributor.example>");
    let out = env.liner(&["review", "approve", "196543210010"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("liner qc 196543210010"),
        "QC first"
    );
    env.qc(&["196543210010"], 0);
    let out = env.liner(&[
        "review",
        "reject",
        "196543210010",
        "--code",
        "BOGUS",
        "--reason",
        "x",
    ]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("METADATA"),
        "the code list is shown"
    );
    let out = env.liner(&[
        "review",
        "reject",
        "196543210010",
        "--code",
        "RIGHTS",
        "--reason",
        "  ",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--reason is required"));
    env.ok(&[
        "review",
        "reject",
        "196543210010",
        "--code",
        "rights",
        "--reason",
        "sample clearance missing for track 2",
    ]);
    let list: Vec<serde_json::Value> =
        serde_json::from_str(&env.ok(&["review", "list", "--json"])).expect("json");
    for dsp in ["spotify", "apple-music", "youtube-music", "deezer"] {
        assert_eq!(list[0]["dsps"][dsp]["gate"]["gate"], "rejected", "{dsp}");
        assert_eq!(list[0]["dsps"][dsp]["deliverable"], false);
    }
    assert_eq!(list[0]["status"], "rejected");
    env.ok(&[
        "review",
        "approve",
        "196543210010",
        "--reason",
        "clearance received",
    ]);
    let list: Vec<serde_json::Value> =
        serde_json::from_str(&env.ok(&["review", "list", "--json"])).expect("json");
    assert_eq!(list[0]["dsps"]["spotify"]["gate"]["gate"], "approved");
    assert_eq!(
        list[0]["deliverable_to"].as_array().map(Vec::len),
        Some(4),
        "approved for every DSP"
    );
    let log: Vec<serde_json::Value> =
        serde_json::from_str(&env.ok(&["review", "log", "196543210010", "--json"])).expect("json");
    assert_eq!(log.len(), 2);
    assert_eq!(
        (log[0]["decision"].as_str(), log[0]["code"].as_str()),
        (Some("reject"), Some("RIGHTS"))
    );
    assert_eq!(
        (log[1]["decision"].as_str(), log[1]["code"].as_str()),
        (Some("approve"), Some("CLEAN"))
    );
    for d in &log {
        assert_eq!(d["operator"], "Rosa Staff <rosa@distributor.example>");
        assert_eq!(d["revision"], 1);
        assert!(d["decided_at"].as_str().is_some_and(|t| t.ends_with('Z')));
        assert!(d["qc_run_id"].as_i64().is_some());
    }
    // A blocked release is approved only as an override with a reason.
    env.ok(&["import", path(&fixtures().join("qc/problems"))]);
    env.qc(&["196543210065"], 3);
    let out = env.liner(&["review", "approve", "196543210065"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("OVERRIDE"));
    // A decision can be for one DSP: the others keep their own gate.
    env.ok(&[
        "review",
        "reject",
        "196543210065",
        "--dsp",
        "deezer",
        "--code",
        "ARTWORK",
        "--reason",
        "cover unusable for Deezer",
    ]);
    let list: Vec<serde_json::Value> =
        serde_json::from_str(&env.ok(&["review", "list", "--json"])).expect("json");
    let row = list
        .iter()
        .find(|r| r["upc"] == "196543210065")
        .expect("row");
    assert_eq!(row["dsps"]["deezer"]["gate"]["gate"], "rejected");
    assert_eq!(row["dsps"]["spotify"]["gate"]["gate"], "blocked");
    env.ok(&[
        "review",
        "approve",
        "196543210065",
        "--code",
        "OVERRIDE",
        "--reason",
        "label accepts the artwork warning",
    ]);
}

/// The staff page renders in a real browser, offline: the waveform and loudness plots of every
/// track and the artwork thumbnail are drawn with a non-zero size.
#[test]
fn html_report_draws_its_plots_in_headless_chromium() {
    let browser = ["chromium", "chromium-browser"].into_iter().find(|b| {
        Command::new(b)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    });
    let Some(browser) = browser else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have Debian's chromium (.ci/run installs it)"
        );
        eprintln!("skipped: no chromium on this machine");
        return;
    };
    let env = Env::sqlite();
    let html = env.dir.path().join("qc.html");
    let out = env.liner(&[
        "qc",
        path(&fixtures().join("releases/night-drives")),
        "--html",
        path(&html),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = std::fs::read_to_string(&html).expect("html");
    assert!(
        !page.contains("http://") && !page.contains("https://") && !page.contains("src=\"//"),
        "no external assets"
    );
    // Measure after load, from inside the page, and leave the result in the DOM.
    let probe = r#"<script>
window.addEventListener('load', () => {
  const out = {};
  for (const el of document.querySelectorAll('svg.plot, #artwork-thumb')) {
    const b = el.getBoundingClientRect();
    out[el.id] = { w: b.width, h: b.height, natural: el.naturalWidth || 0, marks: el.querySelectorAll('polygon, path').length };
  }
  const pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script></body>"#;
    let probed = env.dir.path().join("probed.html");
    std::fs::write(&probed, page.replace("</body>", probe)).expect("write");
    let profile = env.dir.path().join("chrome-profile");
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--no-proxy-server",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--virtual-time-budget=5000",
            "--window-size=1200,3000",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}", probed.display()))
        .output()
        .expect("run chromium");
    let dom = String::from_utf8_lossy(&out.stdout);
    let start = dom.find("<pre id=\"probe\">").unwrap_or_else(|| {
        panic!(
            "probe did not run:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let json = &dom[start + "<pre id=\"probe\">".len()..];
    let json = &json[..json.find("</pre>").expect("end of probe")];
    let measured: serde_json::Value =
        serde_json::from_str(&json.replace("&quot;", "\"")).expect("probe JSON");
    for k in 0..5 {
        for kind in ["waveform", "loudness", "spectrum"] {
            let m = &measured[format!("{kind}-{k}")];
            assert!(
                m["w"].as_f64().unwrap_or(0.0) > 100.0 && m["h"].as_f64().unwrap_or(0.0) > 20.0,
                "{kind}-{k} drawn: {m}"
            );
            assert!(
                m["marks"].as_u64().unwrap_or(0) >= 1,
                "{kind}-{k} has marks: {m}"
            );
        }
    }
    let art = &measured["artwork-thumb"];
    assert!(
        art["w"].as_f64().unwrap_or(0.0) > 100.0 && art["natural"].as_f64().unwrap_or(0.0) >= 200.0,
        "artwork drawn: {art}"
    );
}

#[test]
fn a_sheet_is_checked_release_by_release() {
    let env = Env::sqlite();
    let sheet = fixtures().join("sheets/catalog.csv");
    let html = env.dir.path().join("qc.html");
    let out = env.liner(&["qc", path(&sheet), "--json", "--html", path(&html)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reports: Vec<serde_json::Value> =
        serde_json::from_slice(&out.stdout).expect("an array of reports");
    let upcs: Vec<&str> = reports.iter().filter_map(|r| r["upc"].as_str()).collect();
    assert_eq!(upcs, ["196543210041", "196543210058"]);
    for upc in upcs {
        let page = env.dir.path().join(format!("qc-{upc}.html"));
        assert!(
            std::fs::read_to_string(&page).is_ok_and(|p| p.contains(upc)),
            "{}",
            page.display()
        );
    }
    // A sheet with a rejected release: intake's errors, exit 1, nothing checked.
    let work = tempfile::tempdir().expect("tmp");
    copy_dir(&fixtures().join("sheets"), work.path());
    let text = std::fs::read_to_string(work.path().join("catalog.csv")).expect("sheet");
    std::fs::write(
        work.path().join("catalog.csv"),
        text.replace("USLTM2600013", "USLTM260001"),
    )
    .expect("write");
    let out = env.liner(&["qc", path(&work.path().join("catalog.csv"))]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("isrc: found \"USLTM260001\""));
}
