//! Helpers the binary's test files share.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

/// Renders and synthesizes the fixtures once per test process.
pub(crate) fn fixtures() -> PathBuf {
    static DONE: OnceLock<PathBuf> = OnceLock::new();
    DONE.get_or_init(|| {
        let dir = repo().join("fixtures");
        let out = Command::new(env!("CARGO_BIN_EXE_liner"))
            .args(["fixtures", "--dir"])
            .arg(&dir)
            .output()
            .expect("run fixtures");
        assert!(
            out.status.success(),
            "fixtures: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
    .clone()
}

/// The DDEX XSDs beside the checkout; with `CI=true` they must be there.
#[allow(dead_code)]
pub(crate) fn schemas() -> Option<PathBuf> {
    let p = repo().join("../shared/ddex/xsd");
    if p.is_dir() {
        Some(p)
    } else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but ../shared/ddex/xsd is missing"
        );
        None
    }
}

/// The stdout of a liner run that must have succeeded; otherwise a failure with both streams.
#[allow(dead_code)]
pub(crate) fn stdout_of_success(args: &[&str], out: std::process::Output) -> String {
    assert!(
        out.status.success(),
        "liner {args:?} failed ({:?}):\n{}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}
