//! `cargo xtask fuzz [--seconds N] [TARGET…]`: runs every fuzz target (fuzz/, one per reader
//! that takes user bytes) with cargo-fuzz for N seconds each (default 600), under a 1 GiB RSS
//! limit and a 10 s per-input timeout. Any crash, timeout or out-of-memory fails the run; the
//! input that caused it is left in fuzz/artifacts/TARGET/.
//!
//! cargo-fuzz is installed with `cargo install` if missing. It needs nightly's sanitizer
//! flags: with a nightly toolchain it runs under AddressSanitizer; with stable only, it runs
//! without a sanitizer (RUSTC_BOOTSTRAP for the flags cargo-fuzz passes). Each target's
//! corpus is seeded from the fixtures and ../shared samples, kept under fuzz/corpus (never
//! committed) so later runs go on from there.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

pub(crate) const TARGETS: &[(&str, &str)] = &[
    ("release_document", "release documents (TOML, JSON)"),
    ("sheet", "CSV release sheets"),
    ("ern", "ERN messages"),
    ("dsr", "DSR sales reports"),
    ("csv_report", "CSV sales reports and their layouts"),
    ("audio_header", "WAV and FLAC files"),
    ("image_header", "PNG and JPEG covers"),
];

fn have_nightly() -> bool {
    Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn have_cargo_fuzz() -> bool {
    Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Copies seed files into a target's corpus: the first byte of some targets picks a mode.
fn seed(root: &Path, target: &str) -> std::io::Result<PathBuf> {
    let corpus = root.join("fuzz/corpus").join(target);
    std::fs::create_dir_all(&corpus)?;
    let shared = root.join("../shared");
    let files = |dir: PathBuf, ext: &[&str]| -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut stack = vec![dir];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p
                    .extension()
                    .and_then(|x| x.to_str())
                    .is_some_and(|x| ext.contains(&x))
                    && e.metadata().is_ok_and(|m| m.len() < 256 * 1024)
                {
                    out.push(p);
                }
            }
        }
        out
    };
    let (seeds, prefix): (Vec<PathBuf>, Option<u8>) = match target {
        "release_document" => {
            let mut v = files(root.join("fixtures"), &["toml", "json"]);
            v.extend(files(root.join("deploy"), &["json"]));
            (v, None)
        }
        "sheet" => (files(root.join("fixtures/sheets"), &["csv"]), None),
        "ern" => (files(shared.join("ddex"), &["xml"]), None),
        "dsr" => (files(shared.join("reports/samples"), &["tsv"]), None),
        "csv_report" => (files(root.join("fixtures"), &["csv"]), Some(1)),
        "audio_header" => (files(root.join("fixtures"), &["wav", "flac"]), None),
        "image_header" => (files(root.join("fixtures"), &["png", "jpg", "jpeg"]), None),
        _ => (Vec::new(), None),
    };
    for (i, s) in seeds.iter().enumerate().take(200) {
        let Ok(mut bytes) = std::fs::read(s) else {
            continue;
        };
        if target == "audio_header" || target == "image_header" {
            bytes.truncate(16 * 1024);
        }
        if let Some(p) = prefix {
            bytes.insert(0, p);
        }
        if target == "release_document" {
            let json = s.extension().is_some_and(|x| x == "json");
            bytes.insert(0, u8::from(json));
        }
        std::fs::write(corpus.join(format!("seed-{i}")), bytes)?;
    }
    Ok(corpus)
}

pub(crate) fn run(args: &[String]) -> ExitCode {
    let mut seconds = 600u64;
    let mut chosen: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--seconds" {
            match it.next().and_then(|s| s.parse().ok()) {
                Some(s) => seconds = s,
                None => {
                    eprintln!("xtask fuzz: --seconds takes a whole number");
                    return ExitCode::from(2);
                }
            }
        } else if TARGETS.iter().any(|(t, _)| t == a) {
            chosen.push(a.clone());
        } else {
            eprintln!(
                "xtask fuzz: unknown target {a:?}; the targets are {}",
                TARGETS
                    .iter()
                    .map(|(t, _)| *t)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            return ExitCode::from(2);
        }
    }
    if chosen.is_empty() {
        chosen = TARGETS.iter().map(|(t, _)| (*t).to_owned()).collect();
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let root = root.canonicalize().unwrap_or(root);
    if !have_cargo_fuzz() {
        eprintln!("xtask fuzz: installing cargo-fuzz");
        let ok = Command::new("cargo")
            .args(["install", "cargo-fuzz", "--locked"])
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("xtask fuzz: `cargo install cargo-fuzz --locked` failed");
            return ExitCode::FAILURE;
        }
    }
    let nightly = have_nightly();
    let fuzz_cmd = |sub: &str| {
        let mut c = Command::new("cargo");
        if nightly {
            c.arg("+nightly");
        } else {
            c.env("RUSTC_BOOTSTRAP", "1");
        }
        c.args(["fuzz", sub, "-O"]);
        if !nightly {
            c.args(["--sanitizer", "none"]);
        }
        c.current_dir(root.join("fuzz"));
        c
    };
    eprintln!(
        "xtask fuzz: {} target(s), {seconds} s each, {}",
        chosen.len(),
        if nightly {
            "nightly with AddressSanitizer"
        } else {
            "stable without a sanitizer"
        }
    );
    let started = Instant::now();
    if !fuzz_cmd("build").status().is_ok_and(|s| s.success()) {
        eprintln!("xtask fuzz: building the fuzz targets failed");
        return ExitCode::FAILURE;
    }
    let mut failed = Vec::new();
    for t in &chosen {
        let corpus = match seed(&root, t) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("xtask fuzz: seeding {t}: {e}");
                return ExitCode::FAILURE;
            }
        };
        let t0 = Instant::now();
        let status = fuzz_cmd("run")
            .arg(t)
            .arg(&corpus)
            .args([
                "--",
                &format!("-max_total_time={seconds}"),
                "-rss_limit_mb=1024",
                "-timeout=10",
                "-max_len=65536",
                "-print_final_stats=1",
            ])
            .status();
        let ok = status.is_ok_and(|s| s.success());
        eprintln!(
            "xtask fuzz: {t}: {} after {} s",
            if ok {
                "no crash, timeout or OOM"
            } else {
                "FAILED"
            },
            t0.elapsed().as_secs()
        );
        if !ok {
            failed.push(t.clone());
        }
    }
    eprintln!(
        "xtask fuzz: {} of {} targets clean in {} s",
        chosen.len() - failed.len(),
        chosen.len(),
        started.elapsed().as_secs()
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "xtask fuzz: failed: {} (inputs in fuzz/artifacts/)",
            failed.join(", ")
        );
        ExitCode::FAILURE
    }
}
