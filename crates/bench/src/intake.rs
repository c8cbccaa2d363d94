//! `liner bench intake`: how much intake (parse, convert, check every field, locate every
//! value) costs over the bare minimum of reading the same bytes. Figures are ratios against a
//! reference measured in the same run, because the machines are shared and noisy:
//! - a sheet: intake::read vs a bare `csv::Reader` pass over the same file;
//! - a JSON document: intake::parse_document vs `serde_json::from_str::<Value>` of the same text.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::{Result, ensure};

fn gs1(body: &str) -> String {
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, c)| u32::from(c - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

/// A sheet of `releases` × `tracks` rows whose files are content hashes (no disk look-ups).
fn sheet(releases: usize, tracks: usize) -> String {
    let mut s = String::from(
        "upc,release_title,release_type,release_artists,label,label_email,p_line_year,p_line_holder,c_line_year,c_line_holder,genre,release_date,parental_advisory,language,territories,deals,artwork,disc,track,isrc,title,artists,contributors,duration,explicit,audio\n",
    );
    let hash = |n: usize| format!("sha256:{n:064x}");
    for r in 0..releases {
        let upc = gs1(&format!("19{r:09}"));
        for t in 1..=tracks {
            let release_cells = if t == 1 {
                format!(
                    "Release {r},Album,Artist {r}; Guest {r} (FeaturedArtist),Label {},ops@label.example,2027,Label,2027,Label,Pop,2027-03-01,NotExplicit,en,Worldwide,SubscriptionModel; AdvertisementSupportedModel,{}",
                    r % 50,
                    hash(r * 1000)
                )
            } else {
                ",,,,,,,,,,,,,,,".to_owned()
            };
            let isrc = format!(
                "US{}{:02}{:05}",
                ["AAA", "BBB", "CCC", "DDD"][r % 4],
                r / 4 % 100,
                (r * tracks + t) % 100_000
            );
            let _ = writeln!(
                s,
                "{upc},{release_cells},1,{t},{isrc},Track {t},Artist {r},\"Writer {r} (Composer, Lyricist); Producer {r} (Producer)\",3:{:02},no,{}",
                t % 60,
                hash(r * 1000 + t)
            );
        }
    }
    s
}

fn best_of(runs: usize, mut f: impl FnMut() -> Result<()>) -> Result<Duration> {
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let start = Instant::now();
        f()?;
        best = best.min(start.elapsed());
    }
    Ok(best)
}

pub fn intake(releases: usize, tracks: usize, runs: usize) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("bench.csv");
    let text = sheet(releases, tracks);
    std::fs::write(&path, &text)?;
    let rows = releases * tracks;

    let reference = best_of(runs, || {
        let bytes = std::fs::read(&path)?;
        let mut rdr = csv::Reader::from_reader(bytes.as_slice());
        let mut fields = 0usize;
        for rec in rdr.records() {
            fields += rec?.len();
        }
        ensure!(fields > 0);
        Ok(())
    })?;
    let ours = best_of(runs, || {
        let results = intake::read(&path);
        ensure!(
            results.len() == releases,
            "expected {releases} releases, got {}",
            results.len()
        );
        if let Some(Err(r)) = results.iter().find(|r| r.is_err()) {
            anyhow::bail!("bench sheet rejected: {:?}", r.diagnostics.first());
        }
        Ok(())
    })?;

    // One large document: the first release with many tracks, as JSON.
    let one = intake::read(&path)
        .into_iter()
        .next()
        .and_then(Result::ok)
        .map(|i| i.release);
    let Some(mut release) = one else {
        anyhow::bail!("no release to serialise")
    };
    let template = release.tracks[0].clone();
    release.tracks = (1..=500u16)
        .map(|n| {
            let mut t = template.clone();
            t.number = n;
            t.isrc =
                model::Isrc::parse(&format!("GBZZZ27{n:05}")).unwrap_or_else(|_| t.isrc.clone());
            t
        })
        .collect();
    let json = serde_json::to_string_pretty(&release)?;
    let json_ref = best_of(runs, || {
        let v: serde_json::Value = serde_json::from_str(&json)?;
        ensure!(v.is_object());
        Ok(())
    })?;
    let json_ours = best_of(runs, || {
        intake::parse_document(std::path::Path::new("bench.json"), &json)
            .map_err(|d| anyhow::anyhow!("{:?}", d.first()))?;
        Ok(())
    })?;

    let per_s = |n: usize, d: Duration| n as f64 / d.as_secs_f64();
    println!(
        "sheet: {releases} releases x {tracks} tracks = {rows} rows, {} KiB",
        text.len() / 1024
    );
    println!(
        "  reference (csv::Reader, all records): {:>8.1} ms  {:>10.0} rows/s",
        reference.as_secs_f64() * 1e3,
        per_s(rows, reference)
    );
    println!(
        "  liner intake (parse + check + model): {:>8.1} ms  {:>10.0} rows/s",
        ours.as_secs_f64() * 1e3,
        per_s(rows, ours)
    );
    println!(
        "  ratio intake / reference: {:.2}x",
        ours.as_secs_f64() / reference.as_secs_f64()
    );
    println!(
        "json document: 1 release, 500 tracks, {} KiB",
        json.len() / 1024
    );
    println!(
        "  reference (serde_json::Value): {:>8.2} ms",
        json_ref.as_secs_f64() * 1e3
    );
    println!(
        "  liner intake (located parse + model): {:>8.2} ms",
        json_ours.as_secs_f64() * 1e3
    );
    println!(
        "  ratio intake / reference: {:.2}x",
        json_ours.as_secs_f64() / json_ref.as_secs_f64()
    );
    Ok(())
}
