//! End-to-end tests of the `liner` binary, through its public interface only: a fresh
//! catalog per test (SQLite in a temporary folder, or a fresh PostgreSQL database), the
//! repository's fixtures, and assertions on stdout, stderr, exit codes and what was stored.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::{fixtures, repo};

/// A catalog and file store of its own, in a temporary folder.
struct Env {
    dir: tempfile::TempDir,
    database: String,
}

impl Env {
    fn sqlite() -> Env {
        let dir = tempfile::tempdir().expect("tempdir");
        let database = format!("sqlite://{}", dir.path().join("catalog.db").display());
        Env { dir, database }
    }

    fn liner(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_liner"))
            .args(args)
            .current_dir(repo())
            .env("LINER_DATABASE", &self.database)
            .env("LINER_FILES", self.dir.path().join("files"))
            .env_remove("DATABASE_URL")
            .env_remove("LINER_CONFIG")
            .env_remove("RUST_LOG")
            .output()
            .expect("run liner")
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

    fn releases(&self) -> Vec<serde_json::Value> {
        serde_json::from_str::<Vec<serde_json::Value>>(&self.ok(&["releases", "--json"]))
            .expect("releases --json is JSON")
    }

    fn stored_blobs(&self) -> usize {
        let root = self.dir.path().join("files/sha256");
        let Ok(dirs) = std::fs::read_dir(root) else {
            return 0;
        };
        dirs.filter_map(Result::ok)
            .map(|d| std::fs::read_dir(d.path()).map_or(0, Iterator::count))
            .sum()
    }
}

fn fixture_inputs() -> Vec<String> {
    let f = fixtures();
    let mut v: Vec<String> = [
        "releases/night-drives",
        "releases/hoshizora",
        "releases/paper-boats",
        "sheets/catalog.csv",
    ]
    .iter()
    .map(|p| f.join(p).display().to_string())
    .collect();
    v.sort();
    v
}

#[test]
fn import_list_show_and_round_trip() {
    let env = Env::sqlite();
    env.ok(&["init"]);
    let mut args = vec!["import", "--json"];
    let inputs = fixture_inputs();
    args.extend(inputs.iter().map(String::as_str));
    let report: Vec<serde_json::Value> =
        serde_json::from_str(&env.ok(&args)).expect("import --json");
    assert_eq!(
        report.len(),
        5,
        "three folders and a sheet with two releases"
    );
    assert!(
        report.iter().all(|r| r["outcome"] == "created"),
        "{report:#?}"
    );

    let listed = env.releases();
    let upcs: Vec<&str> = listed
        .iter()
        .map(|r| r["upc"].as_str().expect("upc"))
        .collect();
    for upc in [
        "196543210010",
        "196543210027",
        "196543210034",
        "196543210041",
        "196543210058",
    ] {
        assert!(upcs.contains(&upc), "{upc} missing from {upcs:?}");
    }
    for r in &listed {
        assert_eq!(r["status"], "imported");
        assert!(r["title"].as_str().is_some_and(|t| !t.is_empty()));
    }
    let ep = listed
        .iter()
        .find(|r| r["upc"] == "196543210027")
        .expect("EP");
    assert_eq!(
        ep["title"], "星空の下で",
        "non-Latin metadata survives intact"
    );
    let blobs = env.stored_blobs();
    assert_eq!(
        blobs, 18,
        "13 recordings + 5 covers, each stored once by content"
    );

    // show --json output imports again with no change at all.
    for upc in &upcs {
        let doc = env.ok(&["show", upc, "--json"]);
        assert!(
            doc.contains("\"sha256:"),
            "files are referenced by content hash"
        );
        let path = env.dir.path().join(format!("{upc}.json"));
        std::fs::write(&path, &doc).expect("write");
        let again: Vec<serde_json::Value> = serde_json::from_str(&env.ok(&[
            "import",
            "--json",
            path.to_str().expect("utf-8 path"),
        ]))
        .expect("json");
        assert_eq!(again[0]["outcome"], "unchanged", "{upc}: {again:#?}");
        assert_eq!(
            env.ok(&["show", upc, "--json"]),
            doc,
            "{upc}: the document is byte-identical after the round trip"
        );
    }
    // Importing the original inputs again changes nothing either, not even timestamps.
    env.ok(&args);
    assert_eq!(env.releases(), listed);
    assert_eq!(env.stored_blobs(), blobs);

    let human = env.ok(&["show", "196543210010"]);
    assert!(
        human.contains("Night Drives")
            && human.contains("Kai Sato [FeaturedArtist]")
            && human.contains("Kai Sato Remix"),
        "{human}"
    );
}

#[test]
fn broken_fixture_reports_every_error_and_writes_nothing() {
    let env = Env::sqlite();
    env.ok(&["init"]);
    let broken = fixtures().join("broken");
    let out = env.liner(&["import", broken.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let file = "fixtures/broken/release.toml";
    // Every mistake in the fixture, each with file:line:col and its field path.
    for (line_col, field) in [
        ("1:1", "parental_advisory"),
        ("1:1", "release_date"),
        ("3:7", "upc"),
        ("4:9", "title"),
        ("5:16", "release_type"),
        ("7:15", "relase_date"),
        ("8:12", "language"),
        ("9:41", "artists[0].role"),
        ("10:46", "label.email"),
        ("11:19", "p_line.year"),
        ("13:11", "artwork"),
        ("16:11", "territories.include"),
        ("16:25", "territories.include[1]"),
        ("20:8", "tracks[0].isrc"),
        ("24:8", "tracks[0].iswc"),
        ("27:10", "tracks[1].number"),
        ("30:12", "tracks[1].duration"),
        ("31:9", "tracks[1].audio"),
        ("32:21", "tracks[1].splits[0].payee"),
    ] {
        let needle = format!("{file}:{line_col}: {field}: ");
        assert!(stderr.contains(&needle), "missing {needle:?} in:\n{stderr}");
    }
    assert!(stderr.contains("did you mean `release_date`"), "{stderr}");
    assert!(stderr.contains("\"..\" is not allowed"), "{stderr}");
    assert!(
        !stderr.contains("tracks[0].audio"),
        "the one valid file reference is not flagged:\n{stderr}"
    );
    assert!(env.releases().is_empty(), "nothing imported");
    assert_eq!(env.stored_blobs(), 0, "no file stored");
}

#[test]
fn usage_errors_exit_2_and_missing_catalog_says_what_to_do() {
    let env = Env::sqlite();
    assert_eq!(
        env.liner(&["import"]).status.code(),
        Some(2),
        "a required argument is missing"
    );
    assert_eq!(env.liner(&["frobnicate"]).status.code(), Some(2));
    let out = env.liner(&["releases"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("liner init"));
    env.ok(&["init"]);
    let out = env.liner(&["show", "036000291452"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no release 036000291452"));
    let out = env.liner(&["show", "036000291453"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("check digit"),
        "a bad UPC on the command line is explained too"
    );
}

/// Copies a fixture folder (document + media) so a test can change it.
fn copy_fixture(name: &str, to: &Path) -> PathBuf {
    let src = fixtures().join("releases").join(name);
    let dst = to.join(name);
    for entry in walk(&src) {
        let rel = entry.strip_prefix(&src).expect("inside");
        let target = dst.join(rel);
        std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
        std::fs::copy(&entry, &target).expect("copy");
    }
    dst
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)
        .expect("read_dir")
        .filter_map(Result::ok)
    {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn verify_finds_a_corrupted_or_missing_file() {
    let env = Env::sqlite();
    env.ok(&["init"]);
    let folder = fixtures().join("releases/paper-boats");
    env.ok(&["import", folder.to_str().expect("utf-8")]);
    env.ok(&["verify"]);
    let report: serde_json::Value =
        serde_json::from_str(&env.ok(&["verify", "--json"])).expect("json");
    assert_eq!(report["files"], 3);
    assert_eq!(report["problems"].as_array().map(Vec::len), Some(0));

    let doc: serde_json::Value =
        serde_json::from_str(&env.ok(&["show", "196543210034", "--json"])).expect("json");
    let audio = doc["tracks"][0]["audio"]
        .as_str()
        .expect("hash")
        .trim_start_matches("sha256:")
        .to_owned();
    let cover = doc["artwork"]["file"]
        .as_str()
        .expect("hash")
        .trim_start_matches("sha256:")
        .to_owned();
    let blob = |hex: &str| {
        env.dir
            .path()
            .join("files/sha256")
            .join(&hex[..2])
            .join(hex)
    };
    let mut bytes = std::fs::read(blob(&audio)).expect("blob");
    bytes[1000] ^= 0xff;
    std::fs::write(blob(&audio), bytes).expect("corrupt it");
    std::fs::remove_file(blob(&cover)).expect("lose it");
    let out = env.liner(&["verify"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&audio) && stdout.contains("corrupt"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&cover) && stdout.contains("not in the file store"),
        "{stdout}"
    );
}

#[test]
fn a_changed_release_becomes_a_new_revision_and_history_is_kept() {
    let env = Env::sqlite();
    env.ok(&["init"]);
    let folder = copy_fixture("paper-boats", env.dir.path());
    let folder_s = folder.to_str().expect("utf-8");
    assert!(env.ok(&["import", folder_s]).starts_with("created"));
    let doc = folder.join("release.toml");
    let text = std::fs::read_to_string(&doc).expect("read");
    std::fs::write(
        &doc,
        text.replace(
            "title = \"Paper Boats\"\nrelease_type",
            "title = \"Paper Boats II\"\nrelease_type",
        ),
    )
    .expect("write");
    let out = env.ok(&["import", folder_s]);
    assert!(out.starts_with("updated   196543210034 rev 2"), "{out}");
    let old: serde_json::Value =
        serde_json::from_str(&env.ok(&["show", "196543210034", "--revision", "1", "--json"]))
            .expect("json");
    let new: serde_json::Value =
        serde_json::from_str(&env.ok(&["show", "196543210034", "--json"])).expect("json");
    assert_eq!(old["title"], "Paper Boats");
    assert_eq!(new["title"], "Paper Boats II");
    assert_eq!(env.releases()[0]["revision"], 2);
}

#[test]
fn files_outside_the_release_folder_are_refused() {
    let env = Env::sqlite();
    env.ok(&["init"]);
    let folder = copy_fixture("paper-boats", env.dir.path());
    // A symlink that stays inside is fine; one that leads out is refused, as is an absolute path.
    let outside = env.dir.path().join("secret.wav");
    std::fs::write(&outside, b"not yours").expect("write");
    std::os::unix::fs::symlink(&outside, folder.join("audio/escape.wav")).expect("symlink");
    let doc = folder.join("release.toml");
    let text = std::fs::read_to_string(&doc).expect("read");
    let text = text.replacen(
        "audio = \"audio/01.wav\"",
        "audio = \"audio/escape.wav\"",
        1,
    );
    let text = text.replacen(
        "audio = \"audio/02.wav\"",
        &format!("audio = \"{}\"", outside.display()),
        1,
    );
    std::fs::write(&doc, text).expect("write");
    let out = env.liner(&["import", folder.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("tracks[0].audio: found \"audio/escape.wav\"")
            && stderr.contains("that leads outside it"),
        "{stderr}"
    );
    assert!(
        stderr.contains("tracks[1].audio") && stderr.contains("not an absolute path"),
        "{stderr}"
    );
    assert!(env.releases().is_empty());
}

#[test]
fn a_bad_sheet_row_rejects_its_release_only() {
    let env = Env::sqlite();
    env.ok(&["init"]);
    let dir = env.dir.path().join("sheet");
    std::fs::create_dir_all(dir.join("audio")).expect("mkdir");
    let src = fixtures().join("sheets");
    for f in [
        "audio/tidal-1.wav",
        "audio/tidal-2.wav",
        "audio/undertow.wav",
        "artwork/tidal.png",
        "artwork/undertow.png",
        "payees.csv",
    ] {
        std::fs::create_dir_all(dir.join(f).parent().expect("parent")).expect("mkdir");
        std::fs::copy(src.join(f), dir.join(f)).expect("copy");
    }
    let sheet = std::fs::read_to_string(src.join("catalog.csv")).expect("sheet");
    // Break the second release: a bad ISRC and an impossible duration, both on line 4.
    let sheet = sheet
        .replace("USLTM2600013", "USLTM260001")
        .replace("Lyricist)\",0:33", "Lyricist)\",0:99");
    std::fs::write(dir.join("catalog.csv"), sheet).expect("write");
    let out = env.liner(&["import", dir.join("catalog.csv").to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("catalog.csv:4:20: isrc: found \"USLTM260001\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("catalog.csv:4:25: duration: found \"0:99\""),
        "{stderr}"
    );
    let upcs: Vec<String> = env
        .releases()
        .iter()
        .map(|r| r["upc"].as_str().expect("upc").to_owned())
        .collect();
    assert_eq!(
        upcs,
        ["196543210041"],
        "the good release in the sheet still imports"
    );
}

#[test]
fn json_documents_get_located_errors_too() {
    let env = Env::sqlite();
    env.ok(&["init"]);
    let path = env.dir.path().join("r.json");
    std::fs::write(
        &path,
        "{\n  \"upc\": \"036000291452\",\n  \"title\": 7,\n  \"tracks\": []\n}\n",
    )
    .expect("write");
    let out = env.liner(&["import", path.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("r.json:3:12: title: found \"7\", expected a string, not an integer"),
        "{stderr}"
    );
    assert!(
        stderr.contains("r.json:4:13: tracks: at least one track"),
        "{stderr}"
    );
    std::fs::write(
        &path,
        "{\n  \"upc\": \"036000291452\",\n  \"title\" \"x\"\n}\n",
    )
    .expect("write");
    let stderr =
        String::from_utf8_lossy(&env.liner(&["import", path.to_str().expect("utf-8")]).stderr)
            .into_owned();
    assert!(
        stderr.contains("r.json:3:11: valid JSON: expected ':'"),
        "{stderr}"
    );
}

#[test]
fn postgres_catalog_by_url() {
    let Some(pg) = common::PgDb::create() else {
        return;
    };
    let mut env = Env::sqlite();
    env.database = pg.url.clone();
    env.ok(&["init"]);
    let folder = fixtures().join("releases/night-drives");
    assert!(
        env.ok(&["import", folder.to_str().expect("utf-8")])
            .starts_with("created")
    );
    assert!(
        env.ok(&["import", folder.to_str().expect("utf-8")])
            .starts_with("unchanged")
    );
    let listed = env.releases();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["upc"], "196543210010");
    assert_eq!(listed[0]["tracks"], 5);
    // QC runs, cached analyses and staff decisions on PostgreSQL too.
    for _ in 0..2 {
        let out = env.liner(&["qc", "196543210010", "--json"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(report["counts"]["error"], 0);
        assert_eq!(report["revision"], 1);
    }
    let out = Command::new(env!("CARGO_BIN_EXE_liner"))
        .args([
            "review",
            "reject",
            "196543210010",
            "--code",
            "RIGHTS",
            "--reason",
            "unclear sample",
        ])
        .current_dir(repo())
        .env("LINER_DATABASE", &env.database)
        .env("LINER_FILES", env.dir.path().join("files"))
        .env("LINER_OPERATOR", "Rosa <rosa@example.com>")
        .output()
        .expect("run liner");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log: Vec<serde_json::Value> =
        serde_json::from_str(&env.ok(&["review", "log", "--json"])).expect("json");
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["code"], "RIGHTS");
    assert_eq!(env.releases()[0]["status"], "rejected");
    drop(pg);
}
