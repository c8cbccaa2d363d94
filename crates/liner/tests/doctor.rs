//! `liner doctor` on a broken configuration names each problem and what to do; exit 1.

use std::process::Command;

mod common;
use common::repo;

fn doctor(dir: &std::path::Path, envs: &[(&str, String)]) -> (Option<i32>, serde_json::Value) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_liner"));
    c.current_dir(dir)
        .args(["doctor", "--json"])
        .env_remove("LINER_CONFIG")
        .env_remove("DATABASE_URL")
        .env_remove("LINER_SMTP");
    for (k, v) in envs {
        c.env(k, v);
    }
    let out = c.output().expect("run doctor");
    (
        out.status.code(),
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout))),
    )
}

fn failures(v: &serde_json::Value) -> Vec<String> {
    checks(v, "fail")
}

/// The checks of one level, as "what → fix".
fn checks(v: &serde_json::Value, level: &str) -> Vec<String> {
    v.as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["level"] == level)
        .map(|c| {
            format!(
                "{} → {}",
                c["what"].as_str().unwrap_or(""),
                c["fix"].as_str().unwrap_or("")
            )
        })
        .collect()
}

#[test]
fn a_broken_config_names_each_problem() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("liner.toml"),
        "database = \"postgres://liner@127.0.0.1:1/liner\"\nfiles = \"store\"\nprofiles = \"no-profiles\"\ncontracts = \"contracts.toml\"\n[mail]\nsmtp = \"127.0.0.1:1\"\n",
    )
    .expect("config");
    let (code, v) = doctor(
        dir.path(),
        &[(
            "LINER_REPORT_FORMATS",
            repo().join("deploy/report-formats").display().to_string(),
        )],
    );
    assert_eq!(code, Some(1));
    let f = failures(&v);
    let want = [
        "127.0.0.1:1/liner",
        "file store",
        "no-profiles",
        "contracts file",
        "SMTP server 127.0.0.1:1",
    ];
    for w in want {
        assert!(f.iter().any(|l| l.contains(w)), "want {w:?} among {f:#?}");
    }
    assert!(
        f.iter().all(|l| l.contains(" → ") && !l.ends_with("→ ")),
        "each failure says what to do: {f:#?}"
    );
    // Unattended work with nobody to tell, and the placeholder sender: warnings.
    let warnings = checks(&v, "warn");
    for w in ["summary_to", "sender DPID"] {
        assert!(
            warnings.iter().any(|l| l.contains(w)),
            "want {w:?} among {warnings:#?}"
        );
    }
    // A configuration that does not parse is named with its file and what was wrong.
    std::fs::write(
        dir.path().join("liner.toml"),
        "database = \"mysql://db/liner\"\n",
    )
    .expect("config");
    let (code, v) = doctor(dir.path(), &[]);
    assert_eq!(code, Some(1));
    let f = failures(&v);
    assert!(
        f.iter()
            .any(|l| l.contains("mysql://db/liner") && l.contains("sqlite://")),
        "{f:#?}"
    );
}

#[test]
fn a_missing_catalog_and_missing_dsp_credentials_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, v) = doctor(
        dir.path(),
        &[
            (
                "LINER_DATABASE",
                store::sqlite_url(&dir.path().join("catalog.db")),
            ),
            (
                "LINER_FILES",
                dir.path().join("files").display().to_string(),
            ),
            (
                "LINER_PROFILES",
                repo().join("deploy/dsps").display().to_string(),
            ),
            (
                "LINER_REPORT_FORMATS",
                repo().join("deploy/report-formats").display().to_string(),
            ),
        ],
    );
    assert_eq!(code, Some(1));
    let f = failures(&v);
    assert!(
        f.iter()
            .any(|l| l.contains("no catalog at") && l.contains("liner init")),
        "{f:#?}"
    );
    assert!(
        f.iter()
            .any(|l| l.starts_with("spotify: known_hosts file") && l.contains("ssh-keyscan")),
        "{f:#?}"
    );
    assert!(
        f.iter().any(|l| l.starts_with("deezer: no API token")),
        "{f:#?}"
    );
    let oks: Vec<&str> = v
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["level"] == "ok")
        .filter_map(|c| c["what"].as_str())
        .collect();
    assert!(oks.iter().any(|l| l.contains("4 DSP profiles")), "{oks:?}");
    assert!(
        oks.iter().any(|l| l.contains("CSV report layouts")),
        "{oks:?}"
    );
}
