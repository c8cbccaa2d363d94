//! `liner bench ern`: the ERN writer and reader on one core, against references measured in
//! the same run (the machines are shared and noisy, so ratios are what to quote):
//! - build: a 12-track album with one worldwide deal set (2 commercial models × 2 use types),
//!   hashes precomputed: compose + write, per message; reference: the ddex-builder PyPI
//!   package building a 12-track album (`bench/ddex_builder_ref.py`, run with `--python`);
//! - read: the official DDEX samples read into the message model (and the audio ones on into
//!   the release model), MB/s; reference: libxml2 parsing and XSD-validating the same files.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, anyhow};
use ern::{BuildInput, FileFacts, Intent, MessageParty, Version};

/// The benchmark album as a release document: 12 tracks, worldwide, two streaming deals with
/// two use types each, a contributor per track.
fn album_document() -> String {
    let mut s = String::from(
        r#"upc = "196543210010"
catalog_number = "NJR-001"
title = "Northern Lights"
release_type = "Album"
genre = "Electronic"
release_date = "2026-12-04"
parental_advisory = "NotExplicit"
language = "en"
artists = [{ name = "Nova Lune", role = "MainArtist" }]
label = { name = "Nightjar Records", email = "ops@nightjar.example" }
p_line = { year = 2026, holder = "Nightjar Records" }
c_line = { year = 2026, holder = "Nightjar Records" }
artwork = "cover.jpg"
deals = [
  { commercial_model = "SubscriptionModel", use_types = ["OnDemandStream", "NonInteractiveStream"], start = "2026-12-04" },
  { commercial_model = "AdvertisementSupportedModel", use_types = ["OnDemandStream", "NonInteractiveStream"], start = "2026-12-04" },
]
"#,
    );
    for n in 1..=12 {
        let _ = write!(
            s,
            "\n[[tracks]]\nnumber = {n}\nisrc = \"GBNJR26{n:05}\"\ntitle = \"Aurora {n}\"\nduration = \"3:{:02}\"\naudio = \"{n:02}.flac\"\ncontributors = [{{ name = \"Ada Wren\", roles = [\"Composer\", \"Producer\"] }}]\n",
            10 + n
        );
    }
    s
}

/// Iterations per second of `f`, after one warm-up call.
fn per_second(mut f: impl FnMut() -> Result<()>, seconds: f64) -> Result<f64> {
    f()?;
    let start = Instant::now();
    let mut n = 0usize;
    while start.elapsed().as_secs_f64() < seconds {
        f()?;
        n += 1;
    }
    Ok(n as f64 / start.elapsed().as_secs_f64())
}

pub fn ern(python: Option<&Path>, seconds: f64, samples: Option<PathBuf>) -> Result<()> {
    let release = intake::parse_document(Path::new("bench.toml"), &album_document())
        .map_err(|e| anyhow!("benchmark album: {e:?}"))?;
    let mut files = BTreeMap::new();
    for (i, (_, r)) in release.file_refs().into_iter().enumerate() {
        files.insert(
            r.clone(),
            FileFacts {
                uri: format!("resources/{i:02}.flac"),
                size: 30_000_000,
                md5: format!("{:032x}", 0x5eed_u128 + i as u128),
                codec: Some(if i == 0 { "JPEG" } else { "FLAC" }.into()),
                channels: (i > 0).then_some(2),
                sample_rate: (i > 0).then_some(44_100),
                bits_per_sample: (i > 0).then_some(24),
                width: (i == 0).then_some(3000),
                height: (i == 0).then_some(3000),
            },
        );
    }
    let input = |v: Version| BuildInput {
        version: v,
        sender: MessageParty {
            party_id: "PADPIDA2026112601L".into(),
            name: Some("Liner".into()),
        },
        recipient: MessageParty {
            party_id: "PADPIDA0000000001S".into(),
            name: Some("Spotify".into()),
        },
        message_id: "196543210010-spotify-1".into(),
        thread_id: Some("196543210010".into()),
        created: "2026-11-26T10:00:00+00:00".into(),
        deals: release.deals.clone(),
        files: &files,
        intent: Intent::New,
        dsp: None,
        takedown_flag: false,
        test_message: false,
    };
    println!(
        "build: 12-track album, one worldwide deal set (2 commercial models x 2 use types), one core, {seconds} s each"
    );
    let schemas = app::ern::schemas_dir(None);
    let mut rates = BTreeMap::new();
    for v in Version::WRITABLE {
        let inp = input(v);
        let rate = per_second(
            || {
                let (msg, _) = ern::compose(&release, &inp);
                ern::write(&msg, v)?;
                Ok(())
            },
            seconds,
        )?;
        let (msg, _) = ern::compose(&release, &inp);
        let xml = ern::write(&msg, v)?;
        let valid =
            match app::ern::xsd_errors(v, &xml, schemas.as_deref(), &app::Recorded::default())? {
                Some(e) if e.is_empty() => "XSD-valid".to_owned(),
                Some(e) => format!("XSD INVALID ({} errors)", e.len()),
                None => "XSD not checked".to_owned(),
            };
        println!(
            "  ERN {:<5}  {:>8.1} µs/message  {:>9.0} messages/s  {} bytes  {valid}",
            v.as_str(),
            1e6 / rate,
            rate,
            xml.len()
        );
        rates.insert(v, rate);
    }
    if let Some(py) = python {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/ddex_builder_ref.py");
        let out = std::process::Command::new(py)
            .arg(&script)
            .arg(seconds.to_string())
            .output()
            .with_context(|| format!("running {} {}", py.display(), script.display()))?;
        if !out.status.success() {
            return Err(anyhow!(
                "ddex-builder reference failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        let reference = v["messages_per_s"].as_f64().unwrap_or(0.0);
        println!(
            "  reference ddex-builder (PyPI, same run): {reference:.0} messages/s, {} bytes (no DealList, fails the ERN 4.3 XSD)",
            v["bytes"]
        );
        if reference > 0.0 {
            println!(
                "  ratio ERN 4.3: {:.0}x ddex-builder's messages/s",
                rates[&Version::V43] / reference
            );
        }
    } else {
        println!(
            "  (reference: pass --python .venv/bin/python with ddex-builder installed; see docs/ern.md)"
        );
    }

    // Read: the official samples.
    let dir = samples
        .or_else(|| schemas.as_ref().map(|s| s.join("../samples")))
        .ok_or_else(|| anyhow!("no DDEX sample folder (use --samples DIR)"))?;
    let mut corpus = Vec::new();
    for e in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
        let p = e?.path();
        if p.extension().is_some_and(|x| x == "xml") {
            corpus.push(std::fs::read(&p)?);
        }
    }
    let total: usize = corpus.iter().map(Vec::len).sum();
    println!(
        "read: {} official samples, {:.1} KB, one core",
        corpus.len(),
        total as f64 / 1024.0
    );
    let rate = per_second(
        || {
            for x in &corpus {
                let _ = ern::read(x)?;
            }
            Ok(())
        },
        seconds,
    )?;
    let read_mbs = rate * total as f64 / 1e6;
    println!("  ERN -> message model:            {read_mbs:>7.1} MB/s");
    let defaults = ern::ImportDefaults {
        label_email: model::Email::parse("labels@example.com")?,
        upc: None,
    };
    let rate = per_second(
        || {
            for x in &corpus {
                let (m, _) = ern::read(x)?;
                let _ = ern::to_release(&m, &defaults);
            }
            Ok(())
        },
        seconds,
    )?;
    println!(
        "  ERN -> message -> release model: {:>7.1} MB/s",
        rate * total as f64 / 1e6
    );
    if let Some(s) = &schemas {
        let mut compiled = Vec::new();
        for x in &corpus {
            let (m, _) = ern::read(x)?;
            compiled.push(xsd::Schema::load(&s.join(m.version.schema_file()))?);
        }
        let rate = per_second(
            || {
                for (x, sch) in corpus.iter().zip(&compiled) {
                    let _ = sch.validate(x)?;
                }
                Ok(())
            },
            seconds,
        )?;
        let xsd_mbs = rate * total as f64 / 1e6;
        println!("  reference libxml2 parse + XSD validation: {xsd_mbs:>7.1} MB/s");
        println!(
            "  ratio: reading into the model runs at {:.1}x libxml2's validation speed",
            read_mbs / xsd_mbs
        );
    }
    Ok(())
}
