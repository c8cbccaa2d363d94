//! An installed binary in a folder of the operator's own: `liner init` makes a Liner home out
//! of the binary alone (no source tree, no LINER_* variables), and every step of the main job
//! works there and from a subfolder: import, QC, ERN, the mock DSPs + deliver --wait, reports.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::fixtures;

/// `liner` run in `dir` with none of the variables a developer might have set.
fn liner(dir: &Path, args: &[&str]) -> Output {
    bare(dir, args).output().expect("run liner")
}

fn bare(dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_liner"));
    c.args(args).current_dir(dir);
    for (k, _) in std::env::vars() {
        if k.starts_with("LINER_") || k == "DATABASE_URL" || k == "RUST_LOG" {
            c.env_remove(k);
        }
    }
    c
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let out = liner(dir, args);
    assert!(
        out.status.success(),
        "liner {args:?} in {} failed ({:?}):\n{}\n{}",
        dir.display(),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

struct Serve(Child);
impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_home_made_by_init_runs_the_main_job_from_any_subfolder() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path().join("distribution");
    std::fs::create_dir_all(&home).expect("mkdir");
    // Outside any home: no catalog, a clear error that says what to do.
    let out = liner(&home, &["releases"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("liner init"));
    // A LINER_HOME that is not a home is an error naming it.
    let out = bare(&home, &["releases"])
        .env("LINER_HOME", tmp.path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not a Liner home"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let said = liner(&home, &["init"]);
    assert!(
        said.status.success(),
        "{}",
        String::from_utf8_lossy(&said.stderr)
    );
    for f in [
        "liner.toml",
        "dsps/spotify.toml",
        "report-formats/apple.toml",
        ".liner/catalog.db",
    ] {
        assert!(home.join(f).exists(), "{f} made by init");
    }
    // Again: nothing changes, and it says so.
    let before = std::fs::read(home.join("liner.toml")).expect("toml");
    let again = liner(&home, &["init"]);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already a Liner home"));
    assert_eq!(
        std::fs::read(home.join("liner.toml")).expect("toml"),
        before
    );
    // A folder with other files asks first; without a terminal, it says to pass --yes.
    let busy = tmp.path().join("busy");
    std::fs::create_dir_all(&busy).expect("mkdir");
    std::fs::write(busy.join("notes.txt"), "mine").expect("write");
    let out = liner(&busy, &["init"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));
    assert!(!busy.join("liner.toml").exists(), "nothing written");

    // The main job, from a subfolder of the home.
    let sub = home.join("work/today");
    std::fs::create_dir_all(&sub).expect("mkdir");
    let f = fixtures();
    let upc = "196543210010";
    ok(
        &sub,
        &[
            "import",
            f.join("releases/night-drives").to_str().expect("utf-8"),
        ],
    );
    ok(&sub, &["qc", upc]);
    let xml = ok(&sub, &["ern", "build", upc, "--dsp", "spotify"]);
    assert!(xml.contains("NewReleaseMessage"), "an ERN message");
    let serve = Serve(
        bare(&sub, &["dsp", "serve"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("dsp serve"),
    );
    // The mocks are up when their keys exist in the home.
    let keys = home.join(".liner/dsp/keys/known_hosts");
    let until = Instant::now() + Duration::from_secs(30);
    while !keys.exists() {
        assert!(Instant::now() < until, "the mock DSPs did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(500));
    let out = liner(
        &sub,
        &[
            "deliver",
            upc,
            "--to",
            "spotify,deezer",
            "--wait",
            "--timeout",
            "120",
        ],
    );
    assert!(
        out.status.success(),
        "deliver from a subfolder: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = ok(&sub, &["dsp", "report", "spotify", "--period", "2026-11"]);
    let files: Vec<&str> = report.lines().collect();
    assert!(!files.is_empty(), "the mock wrote a report");
    // The payee is paid in EUR: the month's rate, as an operator records it.
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let fx = sub.join("fx.csv");
    std::fs::write(
        &fx,
        format!("period,base,quote,rate\n{month},USD,EUR,0.9231\n{month},USD,GBP,0.7912\n{month},USD,JPY,151.37\n"),
    )
    .expect("fx");
    ok(&sub, &["fx", "import", "fx.csv"]);
    let mut args = vec!["reports", "import", "--json"];
    args.extend(files.iter().copied());
    let imported = ok(&sub, &args);
    assert!(imported.contains("\"imported\""), "{imported}");
    drop(serve);
}
