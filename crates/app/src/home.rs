//! The Liner home: a folder with `liner.toml`, the catalog and file store under `.liner/`, the
//! DSP profiles in `dsps/` and the CSV report layouts in `report-formats/`. `liner init` writes
//! one out of the binary (the shipped profiles and layouts are compiled in), so an installed
//! `liner` needs nothing from the source tree. Commands find the home like git finds a
//! repository: `LINER_HOME`, else the nearest folder at or above the current one holding a
//! `liner.toml`.

use std::path::{Path, PathBuf};

use crate::{Context, Result, bail};

/// The file that marks a home.
pub const CONFIG: &str = "liner.toml";

/// The DSP profiles and report layouts shipped with Liner, written into a new home.
pub const PROFILES: &[(&str, &str)] = &[
    (
        "apple-music.toml",
        include_str!("../../../deploy/dsps/apple-music.toml"),
    ),
    (
        "deezer.toml",
        include_str!("../../../deploy/dsps/deezer.toml"),
    ),
    (
        "spotify.toml",
        include_str!("../../../deploy/dsps/spotify.toml"),
    ),
    (
        "youtube-music.toml",
        include_str!("../../../deploy/dsps/youtube-music.toml"),
    ),
];
pub const REPORT_FORMATS: &[(&str, &str)] = &[
    (
        "apple.toml",
        include_str!("../../../deploy/report-formats/apple.toml"),
    ),
    (
        "distrokid.toml",
        include_str!("../../../deploy/report-formats/distrokid.toml"),
    ),
    (
        "spotify.toml",
        include_str!("../../../deploy/report-formats/spotify.toml"),
    ),
    (
        "tunecore.toml",
        include_str!("../../../deploy/report-formats/tunecore.toml"),
    ),
];
const EXAMPLE: &str = include_str!("../../../deploy/liner.example.toml");

/// The example configuration turned into a new home's own: paths inside the home, and the
/// example's people, labels and contracts left as comments.
pub fn config_text() -> String {
    let swaps: &[(&str, &str)] = &[
        (
            "# Example liner.toml. Copy to liner.toml (or point LINER_CONFIG / --config at it).",
            "# This Liner home's configuration, written by `liner init`. Commands run anywhere inside\n# this folder (or with LINER_HOME pointing at it) use it.",
        ),
        ("profiles = \"deploy/dsps\"", "profiles = \"dsps\""),
        (
            "operator = \"Rosa Staff <rosa@distributor.example>\"",
            "# operator = \"Your Name <you@distributor.example>\"",
        ),
        (
            "allow = [\"deadmau5\", \"Simon & Garfunkel\"]",
            "# allow = [\"deadmau5\", \"Simon & Garfunkel\"]",
        ),
        (
            "contracts = \"deploy/contracts.example.toml\"",
            "# contracts = \"contracts.toml\"",
        ),
        (
            "report_formats = \"deploy/report-formats\"",
            "report_formats = \"report-formats\"",
        ),
        (
            "[labels.\"Nightjar Records\"]\nai_policy = \"allow\"",
            "# [labels.\"Nightjar Records\"]\n# ai_policy = \"allow\"",
        ),
        (
            "summary_to = \"ops@distributor.example\"",
            "# summary_to = \"ops@distributor.example\"",
        ),
        (
            "from = \"Liner <liner@distributor.example>\"",
            "from = \"Liner <liner@localhost>\"",
        ),
    ];
    let mut text = EXAMPLE.to_owned();
    for (from, to) in swaps {
        debug_assert!(text.contains(from), "the example no longer has {from:?}");
        text = text.replacen(from, to, 1);
    }
    text
}

/// The home named by `LINER_HOME`, else the nearest folder at or above `cwd` with a
/// `liner.toml`. A `LINER_HOME` that is not a home is an error naming it.
pub fn find(env_home: Option<&str>, cwd: &Path) -> Result<Option<PathBuf>> {
    if let Some(h) = env_home.filter(|h| !h.is_empty()) {
        let p = PathBuf::from(h);
        let p = if p.is_relative() { cwd.join(p) } else { p };
        if p.join(CONFIG).is_file() {
            return Ok(Some(p));
        }
        bail!(
            "LINER_HOME={h} is not a Liner home (no {CONFIG} in it): run `liner init` there, or unset LINER_HOME"
        );
    }
    Ok(cwd
        .ancestors()
        .find(|d| d.join(CONFIG).is_file())
        .map(Path::to_path_buf))
}

/// What `init` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Made {
    /// A new home was written.
    Created,
    /// The folder already is a home; nothing was changed.
    Existing,
    /// The operator said no.
    Declined,
}

/// Makes `dir` a Liner home: the commented `liner.toml`, `dsps/` and `report-formats/` from the
/// binary (the catalog and the file store are created by the caller, through the config). A
/// folder that already is a home is left alone; a non-empty folder asks first (`ask`: the
/// front end's yes/no question, or why it cannot ask) unless `yes`.
pub fn create(
    dir: &Path,
    yes: bool,
    ask: impl FnOnce(&str) -> std::result::Result<bool, String>,
) -> Result<Made> {
    if dir.join(CONFIG).is_file() {
        return Ok(Made::Existing);
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let entries: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    if !entries.is_empty() && !yes {
        let shown = entries
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        let more = if entries.len() > 5 { ", …" } else { "" };
        let question = format!(
            "{} is not empty ({shown}{more}) and is not a Liner home. Make it one (adds {CONFIG}, .liner/, dsps/, report-formats/)?",
            dir.display()
        );
        if !ask(&question).map_err(crate::Error::Refused)? {
            return Ok(Made::Declined);
        }
    }
    for (sub, files) in [("dsps", PROFILES), ("report-formats", REPORT_FORMATS)] {
        let d = dir.join(sub);
        std::fs::create_dir_all(&d)?;
        for (name, text) in files {
            let p = d.join(name);
            // Never overwrite a file the operator put there.
            if !p.exists() {
                std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))?;
            }
        }
    }
    // The config last: a home is only a home once it is complete.
    let tmp = dir.join(".liner.toml.new");
    std::fs::write(&tmp, config_text())?;
    std::fs::rename(&tmp, dir.join(CONFIG))?;
    Ok(Made::Created)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_home_config_is_the_example_with_home_paths() {
        let text = config_text();
        assert!(text.contains("profiles = \"dsps\""));
        assert!(text.contains("report_formats = \"report-formats\""));
        assert!(!text.contains("Rosa Staff <rosa@distributor.example>\"\n"));
        assert!(!text.contains("deploy/"), "no path into the source tree");
    }

    #[test]
    fn found_by_walking_up_or_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(find(None, dir.path()).expect("no error"), None);
        assert_eq!(
            create(dir.path(), false, |_| Ok(false)).expect("empty folder"),
            Made::Created
        );
        let sub = dir.path().join("a/b");
        std::fs::create_dir_all(&sub).expect("mkdir");
        assert_eq!(
            find(None, &sub).expect("found"),
            Some(dir.path().to_path_buf())
        );
        assert_eq!(
            create(dir.path(), false, |_| Ok(false)).expect("again"),
            Made::Existing
        );
        let e = find(Some("/nonexistent/home"), &sub).expect_err("not a home");
        assert!(
            e.to_string()
                .contains("LINER_HOME=/nonexistent/home is not a Liner home"),
            "{e}"
        );
        assert!(dir.path().join("dsps/spotify.toml").is_file());
        assert!(dir.path().join("report-formats/apple.toml").is_file());
    }
}
