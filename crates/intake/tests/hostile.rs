//! Regression tests for the hostile-input run (hardening issue): each is named after the
//! defect it pins down and failed on the code before its fix.

use std::path::Path;

use intake::{Intake, Rejected};

const HEAD: &str = r#"upc = "036000291452"
title = "TITLE"
release_type = "Album"
genre = "Electronic"
release_date = 2027-01-15
parental_advisory = "NotExplicit"
language = "en"
artwork = "sha256:0101010101010101010101010101010101010101010101010101010101010101"
artists = [{ name = "Nova Lune", role = "MainArtist" }]
label = { name = "Nightjar Records", email = "ops@nightjar.example" }
p_line = { year = 2027, holder = "Nightjar Records" }
c_line = { year = 2027, holder = "Nightjar Records" }
payees = [{ id = "nova", name = "Nova Lune", email = "n@example.com", currency = "EUR", payout_threshold = "20", payment_ref = "vault:nova" }]
"#;

fn track(disc: u32, n: u32, i: u32) -> String {
    format!(
        "[[tracks]]\ndisc = {disc}\nnumber = {n}\nisrc = \"GBAYE27{i:05}\"\ntitle = \"T{i}\"\nduration = \"3:05\"\naudio = \"sha256:0202020202020202020202020202020202020202020202020202020202020202\"\nsplits = [{{ payee = \"nova\", basis_points = 10000 }}]\n"
    )
}

fn read_doc(dir: &Path, name: &str, text: &str) -> Vec<Result<Intake, Rejected>> {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    intake::read(&path)
}

fn refusal(results: &[Result<Intake, Rejected>]) -> String {
    match &results[0] {
        Ok(_) => panic!("should be refused"),
        Err(r) => r
            .diagnostics
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

#[test]
fn defect_02_huge_releases_and_texts_are_refused_naming_the_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 1 001 tracks: over the default limit of 1 000.
    let mut text = HEAD.to_owned();
    for i in 0..1001 {
        text.push_str(&track(i / 500 + 1, i % 500 + 1, i));
    }
    let err = refusal(&read_doc(dir.path(), "many.toml", &text));
    assert!(
        err.contains("this release has 1001") && err.contains("`tracks_per_release`"),
        "{err}"
    );
    // 98 901 tracks (99 discs × 999), the run's case: refused, by size before any parse.
    let mut text = HEAD.to_owned();
    for i in 0..98_901u32 {
        text.push_str(&track(i / 999 + 1, i % 999 + 1, i));
    }
    let err = refusal(&read_doc(dir.path(), "huge.toml", &text));
    assert!(err.contains("`document_bytes`"), "{err}");
    // A 200-disc release: over discs_per_release.
    let text = format!("{HEAD}{}", track(200, 1, 1));
    let err = refusal(&read_doc(dir.path(), "discs.toml", &text));
    assert!(err.contains("`discs_per_release`"), "{err}");
    // A 2 MB title: refused, and never echoed whole.
    let text = HEAD.replace("TITLE", &"a".repeat(2_000_000)) + &track(1, 1, 1);
    let err = refusal(&read_doc(dir.path(), "title.toml", &text));
    assert!(err.contains("`text_chars`"), "{err}");
    assert!(
        err.len() < 2_000,
        "the title is not echoed whole: {} bytes",
        err.len()
    );
}

/// Stored documents are JSON on one line. Locating each value used to re-count the line
/// from its start: quadratic (98.6 % of a report import's CPU in the run). A 20 000-track
/// document on one line (~6 MB, read with limits raised to allow it) now parses in about a
/// second; before, it ran for minutes.
#[test]
fn defect_02_one_line_documents_are_located_in_linear_time() {
    let text = format!("{HEAD}{}", track(1, 1, 0));
    let release = intake::parse_document(Path::new("r.toml"), &text).expect("valid");
    let mut doc = serde_json::to_value(&release).expect("json");
    let one = doc["tracks"][0].clone();
    let tracks: Vec<serde_json::Value> = (0..20_000u32)
        .map(|i| {
            let mut t = one.clone();
            t["disc"] = (i / 999 + 1).into();
            t["number"] = (i % 999 + 1).into();
            t["isrc"] = format!("GBAYE27{i:05}").into();
            t
        })
        .collect();
    doc["tracks"] = tracks.into();
    let json = serde_json::to_string(&doc).expect("json");
    assert!(!json.contains('\n') && json.len() > 5_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("catalog.json");
    std::fs::write(&path, &json).expect("write");
    let limits = model::Limits {
        tracks_per_release: 20_000,
        document_bytes: 64 << 20,
        ..model::Limits::default()
    };
    let t = std::time::Instant::now();
    let results = intake::read_with(&path, &limits);
    assert!(results[0].is_ok(), "{:?}", results[0].as_ref().err());
    // A complexity guard, not a benchmark: linear takes about a second in a debug build,
    // the quadratic lookup well over a minute.
    assert!(t.elapsed().as_secs() < 30, "took {:?}", t.elapsed());
}

const SHEET_HEAD: &str = "upc,release_title,release_type,release_artists,label,label_email,p_line_year,p_line_holder,c_line_year,c_line_holder,genre,release_date,parental_advisory,language,artwork,track,isrc,title,duration,audio";

fn sheet_row(track: u32, isrc: &str) -> String {
    let h = |n: u8| format!("sha256:{}", format!("{n:02x}").repeat(32));
    format!(
        "036000291452,Tidal,Single,Marin Vale,Low Tide,l@x.example,2027,Low Tide,2027,Low Tide,Folk,2027-03-01,NotExplicit,en,{},{track},{isrc},Tidal,0:31,{}",
        h(1),
        h(2)
    )
}

#[test]
fn defect_08_a_payees_csv_symlink_out_of_the_folder_is_refused_unread() {
    let dir = tempfile::tempdir().expect("tempdir");
    let outside = tempfile::tempdir().expect("tempdir");
    let secret = outside.path().join("secret.txt");
    std::fs::write(&secret, "root:SECRET-LINE:0:0\nmore\n").expect("write");
    std::os::unix::fs::symlink(&secret, dir.path().join("payees.csv")).expect("symlink");
    let sheet = format!("{SHEET_HEAD}\n{}\n", sheet_row(1, "USLTM2600011"));
    let err = refusal(&read_doc(dir.path(), "sheet.csv", &sheet));
    assert!(
        err.contains("payees.csv") && err.contains("leads outside"),
        "{err}"
    );
    assert!(!err.contains("SECRET"), "the target is never echoed: {err}");
}

#[test]
fn defect_10_sheet_line_numbers_are_right_for_crlf_and_cr_files() {
    for (name, eol) in [("lf", "\n"), ("crlf", "\r\n"), ("cr", "\r")] {
        let dir = tempfile::tempdir().expect("tempdir");
        // Line 3 has a bad ISRC.
        let sheet = [
            SHEET_HEAD.to_owned(),
            sheet_row(1, "USLTM2600011"),
            sheet_row(2, "NOT-AN-ISRC"),
            sheet_row(3, "USLTM2600013"),
        ]
        .join(eol)
            + eol;
        let results = read_doc(dir.path(), "sheet.csv", &sheet);
        let Err(r) = &results[0] else {
            panic!("{name}: should be refused")
        };
        let lines: Vec<u32> = r
            .diagnostics
            .iter()
            .filter_map(|d| d.loc.map(|l| l.line))
            .collect();
        assert_eq!(lines, vec![3], "{name}: {:#?}", r.diagnostics);
    }
}

#[test]
fn defect_16_a_sheet_in_another_encoding_is_named_with_how_to_convert() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = format!("{SHEET_HEAD}\n{}\n", sheet_row(1, "USLTM2600011"));
    // UTF-16 with a byte-order mark, as Excel's "Unicode text" saves.
    let mut utf16 = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        utf16.extend_from_slice(&u.to_le_bytes());
    }
    std::fs::write(dir.path().join("u16.csv"), &utf16).expect("write");
    let err = refusal(&intake::read(&dir.path().join("u16.csv")));
    assert!(
        err.contains("UTF-16 little-endian") && err.contains("iconv -f UTF-16"),
        "{err}"
    );
    // UTF-16 without a mark.
    std::fs::write(dir.path().join("u16nobom.csv"), &utf16[2..]).expect("write");
    let err = refusal(&intake::read(&dir.path().join("u16nobom.csv")));
    assert!(err.contains("UTF-16 little-endian"), "{err}");
    // Latin-1: "Café" on line 2.
    let latin1 = text.replace("Tidal,Single", "Caf\u{e9},Single");
    let bytes: Vec<u8> = latin1.chars().map(|c| c as u32 as u8).collect();
    std::fs::write(dir.path().join("latin1.csv"), &bytes).expect("write");
    let results = intake::read(&dir.path().join("latin1.csv"));
    let err = refusal(&results);
    assert!(
        err.contains("Latin-1") && err.contains("0xE9") && err.contains("line 2"),
        "{err}"
    );
    // A UTF-8 byte-order mark is fine.
    let bom = [&[0xEF, 0xBB, 0xBF][..], text.as_bytes()].concat();
    std::fs::write(dir.path().join("bom.csv"), &bom).expect("write");
    let results = intake::read(&dir.path().join("bom.csv"));
    assert!(results[0].is_ok(), "{:?}", results[0].as_ref().err());
}

/// Beyond the list: a release built from a received ERN message keeps the same limits as a
/// document or a sheet (the ERN reader alone allows 5 million elements).
#[test]
fn releases_from_ern_messages_keep_the_same_limits() {
    let text = format!("{HEAD}{}{}", track(1, 1, 1), track(2, 1, 2));
    let release = intake::parse_document(Path::new("r.toml"), &text).expect("valid");
    assert!(intake::limit_problems(&release, &model::Limits::default()).is_empty());
    let tight = model::Limits {
        tracks_per_release: 1,
        discs_per_release: 1,
        text_chars: 3,
        ..model::Limits::default()
    };
    let problems = intake::limit_problems(&release, &tight).join("\n");
    for setting in [
        "`tracks_per_release`",
        "`discs_per_release`",
        "`text_chars`",
    ] {
        assert!(problems.contains(setting), "{setting} in {problems}");
    }
}
