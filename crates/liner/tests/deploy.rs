//! What `deploy/` ships works as shipped: every `liner` command line in the systemd units
//! is one the binary accepts, the units pass `systemd-analyze verify`, and the example
//! configuration loads (the config unit tests load it field by field).

use std::path::Path;
use std::process::Command;

mod common;
use common::repo;

/// (unit file name, the arguments of each `liner` it starts).
fn liner_lines() -> Vec<(String, Vec<String>)> {
    let dir = repo().join("deploy/systemd");
    let mut out = Vec::new();
    for e in std::fs::read_dir(&dir).expect("deploy/systemd").flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(e.path()).expect("unit");
        for line in text.lines() {
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            if !key.starts_with("ExecStart") {
                continue;
            }
            let mut words = value.split_whitespace();
            assert_eq!(words.next(), Some("/usr/local/bin/liner"), "{name}: {line}");
            out.push((name.clone(), words.map(str::to_owned).collect()));
        }
    }
    out.sort();
    out
}

#[test]
fn every_command_in_the_units_is_one_liner_accepts() {
    let lines = liner_lines();
    let units: Vec<&str> = lines.iter().map(|(u, _)| u.as_str()).collect();
    for u in [
        "liner-worker.service",
        "liner-mock-dsp.service",
        "liner-batch.service",
    ] {
        assert!(units.contains(&u), "{u} starts liner: {units:?}");
    }
    for (unit, args) in &lines {
        // `--help` after the arguments: clap checks every flag and value, runs nothing.
        let out = Command::new(env!("CARGO_BIN_EXE_liner"))
            .args(args)
            .arg("--help")
            .output()
            .expect("run liner");
        assert!(
            out.status.success(),
            "{unit}: liner {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn the_units_pass_systemd_analyze_verify() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but systemd-analyze is missing"
        );
        eprintln!("skipping: no systemd-analyze");
        return;
    }
    // The units name /usr/local/bin/liner; verify them against the binary just built.
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut files = Vec::new();
    for e in std::fs::read_dir(repo().join("deploy/systemd"))
        .expect("units")
        .flatten()
    {
        let text = std::fs::read_to_string(e.path())
            .expect("unit")
            .replace("/usr/local/bin/liner", env!("CARGO_BIN_EXE_liner"));
        let dest = tmp.path().join(e.file_name());
        std::fs::write(&dest, text).expect("write");
        files.push(dest);
    }
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .args(files.iter().map(|f| f.as_path()))
        .env("SYSTEMD_LOG_LEVEL", "warning")
        .current_dir(tmp.path())
        .output()
        .expect("systemd-analyze");
    let said =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
    // The timer starts the batch service.
    assert!(Path::new(&tmp.path().join("liner-batch.timer")).is_file());
    assert!(
        tmp.path().join("liner-batch.service").is_file(),
        "a timer needs its service of the same name"
    );
}
