//! `liner ern build|validate` and `liner import message.xml` end to end: a fixture release
//! through first delivery, update, takedown and purge at DSPs configured differently, each
//! message validated against the official XSD; a built message with its files imported into
//! a fresh catalog; HashSum mismatches and invalid messages refused.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use md5::Digest;

mod common;
use common::{fixtures, repo, schemas};

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let e = Env {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        e.ok(&["init"]);
        e
    }

    fn liner(&self, args: &[&str]) -> Output {
        let mut c = Command::new(env!("CARGO_BIN_EXE_liner"));
        c.args(args)
            .current_dir(repo())
            .env(
                "LINER_DATABASE",
                format!("sqlite://{}", self.dir.path().join("catalog.db").display()),
            )
            .env("LINER_FILES", self.dir.path().join("files"))
            .env_remove("DATABASE_URL")
            .env_remove("LINER_CONFIG")
            .env_remove("RUST_LOG");
        match schemas() {
            Some(s) => c.env("LINER_DDEX_SCHEMAS", s),
            None => c.env_remove("LINER_DDEX_SCHEMAS"),
        };
        c.output().expect("run liner")
    }

    fn ok(&self, args: &[&str]) -> String {
        common::stdout_of_success(args, self.liner(args))
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn build(&self, args: &[&str], name: &str) -> (String, String) {
        let out = self.path(name);
        let mut all = vec!["ern", "build"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-o", &out]);
        let o = self.liner(&all);
        assert!(
            o.status.success(),
            "liner {all:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        (
            std::fs::read_to_string(&out).expect("message written"),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    }

    fn valid(&self, file: &str) -> serde_json::Value {
        let out = self.liner(&["ern", "validate", file, "--json"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert!(out.status.success(), "{file} should validate: {v:#}");
        if schemas().is_some() {
            assert_eq!(v["xsd"]["checked"], true);
            assert_eq!(v["xsd"]["errors"], serde_json::json!([]));
        }
        v
    }
}

fn count(xml: &str, needle: &str) -> usize {
    xml.matches(needle).count()
}

const UPC: &str = "196543210010"; // night-drives: 5 tracks, a pre-order date, no AI

#[test]
fn lifecycle_new_update_takedown_purge_per_dsp() {
    let env = Env::new();
    let folder = fixtures().join("releases/night-drives");
    env.ok(&["import", folder.to_str().expect("utf-8")]);

    // Spotify-like: ERN 4.3, first delivery.
    let (new, _) = env.build(&[UPC, "--dsp", "spotify"], "spotify-1.xml");
    env.valid(&env.path("spotify-1.xml"));
    assert!(new.contains("xmlns:ern=\"http://ddex.net/xml/ern/43\""));
    assert!(new.contains("ReleaseProfileVersionId=\"Audio\""));
    assert_eq!(count(&new, "<TrackRelease>"), 5);
    assert_eq!(count(&new, "<SoundRecording>"), 5);
    assert_eq!(count(&new, "<Type>FrontCoverImage</Type>"), 1);
    assert_eq!(
        count(&new, "<Deal>"),
        2,
        "the profile's two streaming deals"
    );
    assert!(
        new.contains("<SamplingRate UnitOfMeasure=\"Hz\">"),
        "measured technical details"
    );
    assert_eq!(
        count(&new, "<Algorithm>MD5</Algorithm>"),
        6,
        "a HashSum per file"
    );
    assert!(new.contains("<ReleaseVisibilityReference>V1</ReleaseVisibilityReference>"));
    assert!(
        new.contains("<ReleaseDisplayStartDateTime>"),
        "pre-order visibility"
    );
    assert!(!new.contains("<EndDate>"));
    assert!(
        new.contains("<ProprietaryId Namespace=\"PADPIDA0000000001S\">spotify:artist:2NovaLuneFixture000000</ProprietaryId>"),
        "the artist's Spotify id, in Spotify's namespace"
    );
    assert!(!new.contains("1580000001"), "not the Apple id");

    // The same again is an update: a full re-send with the same ids, a new message id.
    let (update, said) = env.build(&[UPC, "--dsp", "spotify"], "spotify-2.xml");
    assert!(said.contains("0 deal change(s) since"), "{said}");
    env.valid(&env.path("spotify-2.xml"));
    let ids = |x: &str| {
        x.split("<MessageId>")
            .nth(1)
            .and_then(|s| s.split('<').next())
            .unwrap_or_default()
            .to_owned()
    };
    assert_ne!(ids(&new), ids(&update));
    assert_eq!(
        new.split("<ResourceList>").nth(1),
        update.split("<ResourceList>").nth(1),
        "an update re-sends the same release, resources and deals"
    );

    // Takedown: every deal ends today (Spotify asks nothing more); purge is refused.
    let (down, said) = env.build(&[UPC, "--dsp", "spotify", "--takedown"], "spotify-3.xml");
    assert!(said.contains("2 deal change(s) since"), "{said}");
    assert!(
        said.contains("~ SubscriptionModel"),
        "the deal is end-dated: {said}"
    );
    env.valid(&env.path("spotify-3.xml"));
    let today = chrono::Utc::now().date_naive();
    assert_eq!(count(&down, "<EndDate>"), 2);
    assert_eq!(count(&down, &format!("<EndDate>{today}</EndDate>")), 2);
    assert!(
        !down.contains("ReleaseVisibility>"),
        "no pre-order in a takedown"
    );
    let purge = env.liner(&["ern", "build", UPC, "--dsp", "spotify", "--purge"]);
    assert_eq!(purge.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&purge.stderr).contains("purge_allowed = false"));

    // YouTube-like: ERN 4.3.2; a takedown is end-dated two days in the past.
    let takedown_first = env.liner(&["ern", "build", UPC, "--dsp", "youtube-music", "--takedown"]);
    assert_eq!(takedown_first.status.code(), Some(1), "nothing sent yet");
    let (yt, _) = env.build(&[UPC, "--dsp", "youtube-music"], "yt-1.xml");
    env.valid(&env.path("yt-1.xml"));
    assert!(
        yt.contains("http://ddex.net/xml/ern/432") && yt.contains("<ContainsAI>None</ContainsAI>")
    );
    let (yt_down, _) = env.build(&[UPC, "--dsp", "youtube-music", "--takedown"], "yt-2.xml");
    env.valid(&env.path("yt-2.xml"));
    let two_days_ago = today - chrono::Duration::days(2);
    assert!(yt_down.contains(&format!("<EndDate>{two_days_ago}</EndDate>")));

    // Deezer-like: ERN 3.8.2 over HTTP; first an original message, then a purge.
    let (dz, _) = env.build(&[UPC, "--dsp", "deezer"], "dz-1.xml");
    env.valid(&env.path("dz-1.xml"));
    assert!(dz.contains("<UpdateIndicator>OriginalMessage</UpdateIndicator>"));
    assert!(
        dz.contains("<TerritoryCode>FR</TerritoryCode>"),
        "the profile's territories"
    );
    let (dz_purge, _) = env.build(&[UPC, "--dsp", "deezer", "--purge"], "dz-2.xml");
    env.valid(&env.path("dz-2.xml"));
    assert!(
        dz_purge.contains("ern:PurgeReleaseMessage")
            && dz_purge.contains(&format!("<ICPN>{UPC}</ICPN>"))
    );

    // --ern overrides the profile.
    let (v382, _) = env.build(
        &[UPC, "--dsp", "spotify", "--ern", "3.8.2"],
        "spotify-382.xml",
    );
    env.valid(&env.path("spotify-382.xml"));
    assert!(v382.contains("MessageSchemaVersionId=\"ern/382\""));
}

#[test]
fn ai_disclosure_is_left_out_with_a_warning_where_the_version_cannot_carry_it() {
    let env = Env::new();
    let folder = fixtures().join("releases/hoshizora");
    env.ok(&["import", folder.to_str().expect("utf-8")]);
    let (v43, warn) = env.build(&["196543210027", "--ern", "4.3"], "h-43.xml");
    env.valid(&env.path("h-43.xml"));
    assert!(warn.contains("cannot carry AI disclosure"), "{warn}");
    assert!(!v43.contains("ContainsAI"));
    let (v432, warn) = env.build(&["196543210027", "--ern", "4.3.2"], "h-432.xml");
    env.valid(&env.path("h-432.xml"));
    assert!(!warn.contains("cannot carry"), "{warn}");
    assert!(v432.contains("<ContainsAI>Partly</ContainsAI>"));
    assert!(v432.contains("<AiContribution>All</AiContribution>"));
}

/// Every stored blob by its MD5, to lay a message's files out beside it.
fn blobs_by_md5(root: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    for d in std::fs::read_dir(root.join("sha256"))
        .expect("store")
        .flatten()
    {
        for f in std::fs::read_dir(d.path()).expect("dir").flatten() {
            let bytes = std::fs::read(f.path()).expect("blob");
            out.insert(hex::encode(md5::Md5::digest(&bytes)), f.path());
        }
    }
    out
}

/// Lays a message's resources out beside it, the way a delivery folder holds them: each
/// `<URI>` gets the stored blob whose MD5 is the message's HashSum. Returns the URIs.
fn lay_out(sender: &Env, xml: &str, dir: &Path) -> Vec<String> {
    let blobs = blobs_by_md5(&sender.dir.path().join("files"));
    let field = |tag: &str| -> Vec<String> {
        xml.split(tag)
            .skip(1)
            .filter_map(|s| s.split('<').next())
            .map(str::to_owned)
            .collect()
    };
    let uris = field("<URI>");
    for (uri, md5) in uris.iter().zip(field("<HashSumValue>")) {
        let to = dir.join(uri);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::copy(&blobs[&md5], &to).expect("copy");
    }
    uris
}

#[test]
fn a_built_message_with_its_files_imports_into_another_catalog() {
    let Some(_) = schemas() else { return };
    let sender = Env::new();
    let folder = fixtures().join("releases/night-drives");
    sender.ok(&["import", folder.to_str().expect("utf-8")]);
    let (xml, _) = sender.build(&[UPC, "--dsp", "spotify"], "delivery/message.xml");
    let delivery = sender.dir.path().join("delivery");
    let uris = lay_out(&sender, &xml, &delivery);
    assert_eq!(uris.len(), 6);
    assert_eq!(
        uris.iter().filter(|u| u.ends_with(".flac")).count(),
        5,
        "{uris:?}"
    );
    assert_eq!(count(&xml, "<AudioCodecType>FLAC</AudioCodecType>"), 5);
    let receiver = Env::new();
    let out = receiver.ok(&["import", &sender.path("delivery/message.xml")]);
    assert!(out.starts_with("created   196543210010"), "{out}");
    let original: serde_json::Value =
        serde_json::from_str(&sender.ok(&["show", UPC, "--json"])).expect("json");
    let received: serde_json::Value =
        serde_json::from_str(&receiver.ok(&["show", UPC, "--json"])).expect("json");
    // Artists' ids at other DSPs are not sent to this one; the rest of the credit travels.
    let strip = |v: &serde_json::Value| {
        let mut v = v.clone();
        for a in v.as_array_mut().expect("artists") {
            a.as_object_mut().expect("artist").remove("dsp_ids");
        }
        v
    };
    assert_eq!(strip(&original["artists"]), strip(&received["artists"]));
    for key in [
        "title",
        "release_type",
        "genre",
        "release_date",
        "preorder_date",
        "p_line",
        "c_line",
        "artwork",
    ] {
        assert_eq!(original[key], received[key], "{key}");
    }
    let isrcs = |v: &serde_json::Value| -> Vec<serde_json::Value> {
        v["tracks"]
            .as_array()
            .expect("tracks")
            .iter()
            .map(|t| t["isrc"].clone())
            .collect()
    };
    assert_eq!(isrcs(&original), isrcs(&received));
    for (a, b) in original["tracks"]
        .as_array()
        .expect("t")
        .iter()
        .zip(received["tracks"].as_array().expect("t"))
    {
        // Spotify takes FLAC: the WAV master went as its lossless re-wrap, the same audio.
        let blob = |env: &Env, v: &serde_json::Value| {
            let hex = v
                .as_str()
                .expect("hash")
                .trim_start_matches("sha256:")
                .to_owned();
            env.dir
                .path()
                .join("files/sha256")
                .join(&hex[..2])
                .join(&hex)
        };
        let (master, delivered) = (
            audio::analyse(&blob(&sender, &a["audio"])),
            audio::analyse(&blob(&receiver, &b["audio"])),
        );
        assert_eq!(master.container, audio::Container::Wav);
        assert_eq!(delivered.container, audio::Container::Flac);
        assert!(master.pcm_sha256.is_some());
        assert_eq!(master.pcm_sha256, delivered.pcm_sha256, "the same audio");
        assert_eq!(a["title"], b["title"]);
        assert_eq!(a["duration"], b["duration"]);
    }

    // A file that differs from its HashSum refuses the whole message.
    let first = delivery.join(&uris[0]);
    let mut bytes = std::fs::read(&first).expect("read");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&first, bytes).expect("write");
    let other = Env::new();
    let out = other.liner(&["import", &sender.path("delivery/message.xml")]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the message's HashSum"), "{err}");
    assert!(
        other.ok(&["releases", "--json"]).trim() == "[]",
        "nothing written"
    );
}

#[test]
fn invalid_messages_are_refused_with_line_and_element() {
    let Some(xsd) = schemas() else { return };
    let env = Env::new();
    let bad = xsd.join("../samples/invalid/ern382_dedex_005_not_valid_xsd.xml");
    let out = env.liner(&["ern", "validate", bad.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("line 31: Element 'FakeTag'"), "{text}");
    let out = env.liner(&["import", bad.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("FakeTag"));
    // A valid official sample whose resource files are not beside it is refused for that.
    let sample = xsd.join("../samples/ern43_official_1_Audio.xml");
    let out = env.liner(&["import", sample.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("an existing file in the message's folder (there is none at")
    );
    // Without schemas, validating is an error that says why (exit 1)…
    let bare = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_liner"))
            .args(["ern", "validate"])
            .args(extra)
            .arg(&sample)
            .current_dir(std::env::temp_dir())
            .env_remove("LINER_DDEX_SCHEMAS")
            .env_remove("LINER_HOME")
            .output()
            .expect("run")
    };
    let out = bare(&[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot validate") && err.contains("against the XSD"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "no verdict is printed");
    // …unless the operator asks for Liner's own checks only.
    let out = bare(&["--no-xsd"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("XSD: not checked (--no-xsd)"));
}

#[test]
fn a_received_upc_failing_its_check_is_kept_unverified_and_blocks_qc() {
    let Some(_) = schemas() else { return };
    let sender = Env::new();
    let folder = fixtures().join("releases/night-drives");
    sender.ok(&["import", folder.to_str().expect("utf-8")]);
    let (xml, _) = sender.build(&[UPC, "--dsp", "spotify"], "d/message.xml");
    let delivery = sender.dir.path().join("d");
    lay_out(&sender, &xml, &delivery);
    // The label typed the UPC with a wrong check digit (as DDEX's own DJ-mix sample does).
    let bad = xml.replace(&format!("<ICPN>{UPC}</ICPN>"), "<ICPN>123123123123</ICPN>");
    std::fs::write(delivery.join("message.xml"), bad).expect("write");
    let receiver = Env::new();
    let out = receiver.ok(&["import", &sender.path("d/message.xml")]);
    assert!(out.starts_with("created   123123123123"), "{out}");
    let shown = receiver.ok(&["show", "123123123123", "--json"]);
    let doc: serde_json::Value = serde_json::from_str(&shown).expect("json");
    assert_eq!(doc["unverified"][0]["field"], "upc");
    assert_eq!(doc["unverified"][0]["kind"], "UPC/EAN");
    // QC blocks it until staff confirm or correct the code.
    let qc = receiver.liner(&["qc", "123123123123", "--json"]);
    assert_eq!(
        qc.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&qc.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&qc.stdout).expect("json");
    assert!(
        report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .any(|f| f["rule"] == "META-ID-UNVERIFIED" && f["field"] == "upc")
    );
    // The stored document imports again unchanged (the unverified UPC is accepted there only).
    let doc_path = receiver.path("shown.json");
    std::fs::write(&doc_path, &shown).expect("write");
    assert!(receiver.ok(&["import", &doc_path]).starts_with("unchanged"));

    // A GRid-only message needs a UPC from the operator; with --upc it imports.
    let grid_only = xml.replace(
        &format!("<ICPN>{UPC}</ICPN>"),
        "<GRid>A1UCASE0000000401X</GRid>",
    );
    std::fs::write(delivery.join("message.xml"), grid_only).expect("write");
    let other = Env::new();
    let out = other.liner(&["import", &sender.path("d/message.xml")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("give one with --upc"));
    let out = other.ok(&[
        "import",
        &sender.path("d/message.xml"),
        "--upc",
        "196543210997",
    ]);
    assert!(out.starts_with("created   196543210997"), "{out}");
}

#[test]
fn profiles_show_how_each_dsp_is_reached() {
    let env = Env::new();
    let list: serde_json::Value =
        serde_json::from_str(&env.ok(&["profiles", "--json"])).expect("json");
    let by = |n: &str| {
        list.as_array()
            .expect("list")
            .iter()
            .find(|p| p["name"] == n)
            .cloned()
            .expect("profile")
    };
    assert_eq!(
        by("spotify")["delivery"],
        "sftp batch liner@127.0.0.1:2221/inbox"
    );
    assert_eq!(
        by("deezer")["delivery"],
        "http release-by-release http://127.0.0.1:8470/deezer"
    );
}

/// Hardening defect 1: a received message's resources must resolve inside its package (no
/// symlinked file or folder that leads out, even when the bytes match), carry a HashSum
/// Liner checks (else only with --trust-unhashed) and match their FileSize.
#[test]
fn defect_01_ern_resources_outside_the_package_or_unvouched_are_refused() {
    let Some(_) = schemas() else { return };
    let sender = Env::new();
    let folder = fixtures().join("releases/night-drives");
    sender.ok(&["import", folder.to_str().expect("utf-8")]);
    let (xml, _) = sender.build(&[UPC, "--dsp", "spotify"], "delivery/message.xml");
    let delivery = sender.dir.path().join("delivery");
    let uris = lay_out(&sender, &xml, &delivery);
    let message = sender.path("delivery/message.xml");
    let refused = |args: &[&str], why: &str| {
        let receiver = Env::new();
        let out = receiver.liner(args);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?} should be refused: {err}"
        );
        assert!(err.contains(why), "{args:?}: {err}");
        assert_eq!(
            receiver.ok(&["releases", "--json"]).trim(),
            "[]",
            "nothing written"
        );
    };

    // (a) A file symlink that leads out of the package, even to the very same bytes.
    let outside = tempfile::tempdir().expect("tempdir");
    let first = delivery.join(&uris[0]);
    let copy = outside.path().join("elsewhere.flac");
    std::fs::copy(&first, &copy).expect("copy");
    std::fs::remove_file(&first).expect("rm");
    std::os::unix::fs::symlink(&copy, &first).expect("symlink");
    refused(&["import", &message], "leads outside it");
    std::fs::remove_file(&first).expect("rm");
    std::fs::copy(&copy, &first).expect("restore");

    // (b) A folder symlink on the way.
    let sub = first.parent().expect("folder").to_owned();
    if sub != delivery {
        let moved = outside.path().join("resources");
        std::fs::rename(&sub, &moved).expect("move");
        std::os::unix::fs::symlink(&moved, &sub).expect("symlink");
        refused(&["import", &message], "leads outside it");
        std::fs::remove_file(&sub).expect("rm");
        std::fs::rename(&moved, &sub).expect("move back");
    }

    // (c) No HashSum: refused, unless the operator trusts the package.
    let unhashed = {
        let mut out = String::new();
        let mut rest = xml.as_str();
        while let Some(i) = rest.find("<HashSum>") {
            out.push_str(&rest[..i]);
            let end = rest[i..].find("</HashSum>").expect("closed") + i + "</HashSum>".len();
            rest = &rest[end..];
        }
        out.push_str(rest);
        out
    };
    assert!(!unhashed.contains("HashSum"));
    std::fs::write(delivery.join("unhashed.xml"), &unhashed).expect("write");
    let unhashed_path = sender.path("delivery/unhashed.xml");
    refused(&["import", &unhashed_path], "--trust-unhashed");
    let trusting = Env::new();
    let out = trusting.ok(&["import", "--trust-unhashed", &unhashed_path]);
    assert!(out.starts_with("created   196543210010"), "{out}");

    // (d) A HashSum in an algorithm Liner does not check (SHA1 is XSD-valid).
    let sha1 = xml.replace("<Algorithm>MD5</Algorithm>", "<Algorithm>SHA1</Algorithm>");
    assert_ne!(sha1, xml, "the message names its HashSum algorithm");
    std::fs::write(delivery.join("sha1.xml"), &sha1).expect("write");
    refused(&["import", &sender.path("delivery/sha1.xml")], "not SHA1");

    // (e) The file on disk must have the message's FileSize.
    let size = xml
        .split("<FileSize>")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .expect("a FileSize")
        .to_owned();
    let wrong = xml.replacen(
        &format!("<FileSize>{size}</FileSize>"),
        &format!(
            "<FileSize>{}</FileSize>",
            size.parse::<u64>().expect("n") + 1
        ),
        1,
    );
    std::fs::write(delivery.join("size.xml"), &wrong).expect("write");
    refused(
        &["import", &sender.path("delivery/size.xml")],
        "the message's FileSize",
    );

    // The untouched package still imports.
    let receiver = Env::new();
    let out = receiver.ok(&["import", &message]);
    assert!(out.starts_with("created   196543210010"), "{out}");
}
