//! `liner bench limits`: peak memory of every command a hostile input reaches, each run as
//! its own `liner` process (which reports its VmHWM through LINER_PEAK_RSS_FILE), against the
//! 256 MiB budget of the hardening issue. The inputs are made here, in a temp folder.

use std::io::Write;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

const BUDGET_MIB: f64 = 256.0;

struct Run {
    what: String,
    peak_mib: f64,
    secs: f64,
    outcome: String,
}

/// Runs `liner args` in `home`; returns its peak RSS, time and exit status.
fn measure(exe: &Path, home: &Path, what: &str, args: &[&str]) -> Result<Run> {
    measure_as(exe, home, what, args, None)
}

/// `failure_means`: what a non-zero exit says for this command (QC exits 1 on findings).
fn measure_as(
    exe: &Path,
    home: &Path,
    what: &str,
    args: &[&str],
    failure_means: Option<&str>,
) -> Result<Run> {
    let peak = home.join("peak-rss");
    let _ = std::fs::remove_file(&peak);
    let t = Instant::now();
    let out = Command::new(exe)
        .args(args)
        .current_dir(home)
        .env("LINER_PEAK_RSS_FILE", &peak)
        .env_remove("LINER_CONFIG")
        .env_remove("LINER_DATABASE")
        .env_remove("LINER_FILES")
        .output()
        .with_context(|| format!("running liner {}", args.join(" ")))?;
    let secs = t.elapsed().as_secs_f64();
    let peak_mib: f64 = std::fs::read_to_string(&peak)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(f64::NAN);
    let outcome = if out.status.success() {
        "ok".to_owned()
    } else if let Some(m) = failure_means {
        m.to_owned()
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let first = err
            .lines()
            .chain(stdout.lines())
            .find(|l| l.contains("limit") || l.contains("error") || l.contains("REFUSED"))
            .unwrap_or("failed")
            .trim()
            .chars()
            .take(110)
            .collect::<String>();
        format!("refused: {first}")
    };
    Ok(Run {
        what: what.to_owned(),
        peak_mib,
        secs,
        outcome,
    })
}

fn liner_ok(exe: &Path, home: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new(exe)
        .args(args)
        .current_dir(home)
        .env_remove("LINER_CONFIG")
        .env_remove("LINER_DATABASE")
        .env_remove("LINER_FILES")
        .output()?;
    if !out.status.success() {
        bail!(
            "liner {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

const HEAD: &str = r#"upc = "UPC"
title = "Hostile"
release_type = "Album"
genre = "Electronic"
release_date = 2027-06-01
parental_advisory = "NotExplicit"
language = "en"
artists = [{ name = "Nova Lune", role = "MainArtist" }]
label = { name = "Nightjar Records", email = "ops@nightjar.example" }
p_line = { year = 2027, holder = "Nightjar Records" }
c_line = { year = 2027, holder = "Nightjar Records" }
artwork = { file = "cover.jpg" }
payees = [{ id = "nova", name = "Nova Lune", email = "n@example.com", currency = "EUR", payout_threshold = "20", payment_ref = "vault:nova" }]
"#;

fn track(disc: u32, n: u32, i: u32) -> String {
    format!(
        "[[tracks]]\ndisc = {disc}\nnumber = {n}\nisrc = \"GBAYE27{i:05}\"\ntitle = \"Track {i}\"\nduration = \"0:05\"\naudio = \"a.wav\"\nsplits = [{{ payee = \"nova\", basis_points = 10000 }}]\n"
    )
}

pub fn bench(lines: u64, line_bytes: u64, fixtures: &Path) -> Result<()> {
    let exe = std::env::current_exe()?;
    let tmp = tempfile::tempdir()?;
    let home = tmp.path();
    liner_ok(&exe, home, &["init", "--yes"])?;
    let mut runs = Vec::new();

    // 1. Unmatched usage: every line a different unknown recording.
    let out = home.join("unmatched");
    let files = liner_ok(
        &exe,
        home,
        &[
            "reports",
            "generate",
            "--lines",
            &lines.to_string(),
            "--unknown",
            &lines.to_string(),
            "--message-id",
            "LIMITS-1",
            "--out",
            &out.display().to_string(),
        ],
    )?;
    let report = files.lines().next().unwrap_or_default().trim().to_owned();
    let n = format!("{} M", lines as f64 / 1e6);
    runs.push(measure(
        &exe,
        home,
        &format!("reports import: {n} unmatched usage lines"),
        &["reports", "import", "--period", "2026-10", &report],
    )?);
    runs.push(measure(&exe, home, "ledger check", &["ledger", "check"])?);
    runs.push(measure(
        &exe,
        home,
        "reports unmatched (groups)",
        &["reports", "unmatched"],
    )?);
    runs.push(measure(
        &exe,
        home,
        "reports unmatched --rows (last page)",
        &[
            "reports",
            "unmatched",
            "--rows",
            "--offset",
            &lines.saturating_sub(50).to_string(),
        ],
    )?);
    runs.push(measure(
        &exe,
        home,
        "reports rematch",
        &["reports", "rematch"],
    )?);

    // 2. QC of a 400-track release whose tracks are all one recording, beside a catalog
    // release with the same audio.
    let media = fixtures.join("releases/night-drives");
    let wav = media.join("audio/01.wav");
    let cover = media.join("artwork/cover.jpg");
    if wav.is_file() && cover.is_file() {
        liner_ok(&exe, home, &["import", &media.display().to_string()])?;
        let dir = home.join("dups");
        std::fs::create_dir_all(&dir)?;
        std::fs::copy(&wav, dir.join("a.wav"))?;
        std::fs::copy(&cover, dir.join("cover.jpg"))?;
        let mut doc = HEAD.replace("UPC", "036000291452");
        for i in 0..400 {
            doc.push_str(&track(1, i + 1, i));
        }
        std::fs::write(dir.join("release.toml"), doc)?;
        runs.push(measure_as(
            &exe,
            home,
            "qc: 400 tracks of one recording, also in the catalog",
            &["qc", &dir.display().to_string()],
            Some("done: findings (exit 1)"),
        )?);
    } else {
        println!(
            "(QC case skipped: run `liner fixtures` first for {})",
            wav.display()
        );
    }

    // 3. A small gzip holding one enormous line.
    let gz = home.join(
        "DSR_PADPIDA2026112601L_PADPIDA0000000001S_Spotify_2026-10_WW_1of1_20261103T100000.tsv.gz",
    );
    {
        let f = std::fs::File::create(&gz)?;
        let mut e = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
        e.write_all(b"HEAD\tDSR\t3.0\tBasicAudioProfile\t1.3\tX\t2026-11-03T10:00:00\nRE01\t1\t")?;
        let chunk = vec![b'x'; 1 << 20];
        let mut left = line_bytes;
        while left > 0 {
            let n = left.min(chunk.len() as u64) as usize;
            e.write_all(&chunk[..n])?;
            left -= n as u64;
        }
        e.write_all(b"\n")?;
        e.finish()?;
    }
    let gz_size = std::fs::metadata(&gz)?.len();
    runs.push(measure(
        &exe,
        home,
        &format!(
            "reports import: a {:.1} MB gzip holding one {:.1} GB line",
            gz_size as f64 / 1e6,
            line_bytes as f64 / 1e9
        ),
        &[
            "reports",
            "import",
            "--period",
            "2026-10",
            "--dsp",
            "spotify",
            &gz.display().to_string(),
        ],
    )?);

    // 4. A release of 99 discs × 999 tracks.
    let big = home.join("huge");
    std::fs::create_dir_all(&big)?;
    let mut doc = HEAD.replace("UPC", "196543210027");
    for i in 0..98_901u32 {
        doc.push_str(&track(i / 999 + 1, i % 999 + 1, i));
    }
    let doc_mb = doc.len() as f64 / 1e6;
    std::fs::write(big.join("release.toml"), doc)?;
    runs.push(measure(
        &exe,
        home,
        &format!("import: a 98 901-track release ({doc_mb:.0} MB document)"),
        &["import", &big.display().to_string()],
    )?);

    println!("peak RSS against the {BUDGET_MIB:.0} MiB budget, each command its own process:");
    let mut t = table::Table::new(
        &[
            "command and input",
            "peak RSS",
            "of budget",
            "time",
            "outcome",
        ],
        &[false, true, true, true, false],
    );
    let mut over = 0;
    for r in &runs {
        if r.peak_mib.is_nan() || r.peak_mib > BUDGET_MIB {
            over += 1;
        }
        t.row(vec![
            r.what.clone(),
            format!("{:.0} MiB", r.peak_mib),
            format!("{:.2}×", r.peak_mib / BUDGET_MIB),
            format!("{:.1} s", r.secs),
            r.outcome.clone(),
        ]);
    }
    print!("{}", t.render());
    println!("{} of {} within budget", runs.len() - over, runs.len());
    Ok(())
}
