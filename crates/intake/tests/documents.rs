//! Intake behaviour a label would notice: every mistake reported at once, located, with what
//! was expected; sheets grouped and checked; nothing accepted that the model cannot hold.

use std::path::Path;

use intake::{Diagnostic, Intake, Rejected, parse_document};

const GOOD: &str = r#"
upc = "036000291452"
title = "Night Drives"
release_type = "Single"
genre = "Electronic"
release_date = 2027-01-15
parental_advisory = "NotExplicit"
language = "en"
artwork = "sha256:0101010101010101010101010101010101010101010101010101010101010101"
artists = [{ name = "Nova Lune", role = "MainArtist" }]
label = { name = "Nightjar Records", email = "ops@nightjar.example" }
p_line = { year = 2027, holder = "Nightjar Records" }
c_line = { year = 2027, holder = "Nightjar Records" }
payees = [
  { id = "nova", name = "Nova Lune", email = "n@example.com", currency = "EUR", payout_threshold = "20", payment_ref = "vault:nova" },
  { id = "kai", name = "Kai Sato", email = "k@example.com", currency = "JPY", payout_threshold = "3000", payment_ref = "vault:kai" },
]

[[tracks]]
number = 1
isrc = "GBAYE2700001"
title = "Night Drive"
duration = "3:05"
audio = "sha256:0202020202020202020202020202020202020202020202020202020202020202"
splits = [{ payee = "nova", basis_points = 6000 }, { payee = "kai", basis_points = 4000 }]
"#;

fn errors(text: &str) -> Vec<Diagnostic> {
    parse_document(Path::new("r.toml"), text).expect_err("should be rejected")
}

fn has(errs: &[Diagnostic], field: &str, needle: &str) -> bool {
    errs.iter()
        .any(|d| d.field == field && d.to_string().contains(needle))
}

#[test]
fn a_good_document_reads_with_defaults_filled_in() {
    let r = parse_document(Path::new("r.toml"), GOOD).expect("valid");
    assert_eq!(
        r.tracks[0].artists, r.artists,
        "tracks inherit the release's artists"
    );
    assert_eq!(r.tracks[0].disc, 1);
    assert_eq!(r.territories, model::Territories::worldwide());
    assert_eq!(
        r.payees[1].payout_threshold.to_decimal(),
        "3000",
        "JPY has no minor unit"
    );
    assert!(
        !r.ai_training.generative,
        "AI-training consent is off unless given"
    );
}

#[test]
fn splits_must_total_exactly_100_percent() {
    let errs = errors(&GOOD.replace("basis_points = 4000", "basis_points = 3999"));
    assert!(
        has(&errs, "tracks[0].splits", "9999 basis points"),
        "{errs:#?}"
    );
}

#[test]
fn ai_disclosure_must_be_consistent_in_itself() {
    let doc = GOOD.replace(
        "language = \"en\"",
        "language = \"en\"\nai = { contains = \"Partly\" }",
    );
    assert!(has(&errors(&doc), "ai.parts", "which parts AI made"));
    let doc = GOOD.replace(
        "language = \"en\"",
        "language = \"en\"\nai = { contains = \"None\", parts = [\"Vocals\"] }",
    );
    assert!(has(&errors(&doc), "ai.parts", "no parts when contains"));
    let doc = GOOD.replace(
        "language = \"en\"",
        "language = \"en\"\nai = { contains = \"Partly\", parts = [\"Vocals\", \"Singing\"] }",
    );
    assert!(has(
        &errors(&doc),
        "ai.parts[1]",
        "Vocals, Instrumentation, Composition, PostProduction"
    ));
}

#[test]
fn track_numbers_run_without_gaps_and_isrcs_are_unique() {
    let second = "\n[[tracks]]\nnumber = 3\nisrc = \"GBAYE2700001\"\ntitle = \"B\"\nduration = \"1:00\"\naudio = \"sha256:0303030303030303030303030303030303030303030303030303030303030303\"\n";
    let errs = errors(&format!("{GOOD}{second}"));
    assert!(
        has(&errs, "tracks[1].isrc", "not already used by tracks[0]"),
        "{errs:#?}"
    );
    let errs = errors(&format!(
        "{GOOD}{}",
        second.replace("GBAYE2700001", "GBAYE2700002")
    ));
    assert!(has(&errs, "tracks", "number 2 is missing"), "{errs:#?}");
}

#[test]
fn text_values_are_checked_for_shape_and_type() {
    let errs = errors(
        &GOOD
            .replace("title = \"Night Drives\"", "title = \" Night Drives\"")
            .replace("genre = \"Electronic\"", "genre = 5"),
    );
    assert!(has(&errs, "title", "without leading or trailing spaces"));
    assert!(has(&errs, "genre", "a string, not an integer"));
    let errs = errors(&GOOD.replace("release_date = 2027-01-15", "release_date = \"2027-02-30\""));
    assert!(has(&errs, "release_date", "calendar date"));
    let errs = errors(&GOOD.replace(
        "release_date = 2027-01-15",
        "release_date = 2027-01-15\noriginal_release_date = 2027-02-01",
    ));
    assert!(has(
        &errs,
        "original_release_date",
        "on or before the release date"
    ));
}

#[test]
fn territories_are_worldwide_with_exclusions_or_a_list() {
    let doc = GOOD.replace(
        "language = \"en\"",
        "language = \"en\"\nterritories = { include = [\"US\", \"GB\"], exclude = [\"FR\"] }",
    );
    assert!(has(
        &errors(&doc),
        "territories.exclude",
        "only together with"
    ));
    let doc = GOOD.replace("language = \"en\"", "language = \"en\"\nterritories = { include = [\"Worldwide\"], exclude = [\"FR\", \"ZZ\"] }");
    assert!(has(&errors(&doc), "territories.exclude[1]", "ISO 3166-1"));
    let doc = GOOD.replace(
        "language = \"en\"",
        "language = \"en\"\nterritories = { include = [\"US\", \"us\"] }",
    );
    assert!(has(
        &errors(&doc),
        "territories.include[1]",
        "each territory once"
    ));
}

#[test]
fn toml_syntax_errors_are_located() {
    let errs = errors("upc = \"036000291452\"\ntitle = \"x\ngenre = \"y\"\n");
    assert!(errs.iter().all(|d| d.loc.is_some()), "{errs:#?}");
    assert!(
        errs.iter().any(|d| d.loc.is_some_and(|l| l.line == 2)),
        "{errs:#?}"
    );
}

fn read_sheet(dir: &Path, text: &str) -> Vec<Result<Intake, Rejected>> {
    let path = dir.join("sheet.csv");
    std::fs::write(&path, text).expect("write");
    intake::read(&path)
}

const SHEET_HEAD: &str = "upc,release_title,release_type,release_artists,label,label_email,p_line_year,p_line_holder,c_line_year,c_line_holder,genre,release_date,parental_advisory,language,artwork,track,isrc,title,duration,audio";

#[test]
fn sheet_rows_of_one_release_must_agree() {
    let dir = tempfile::tempdir().expect("tempdir");
    let h = |n: u8| format!("sha256:{}", format!("{n:02x}").repeat(32));
    let text = format!(
        "{SHEET_HEAD}\n036000291452,Tidal,Single,Marin Vale,Low Tide,l@x.example,2027,Low Tide,2027,Low Tide,Folk,2027-03-01,NotExplicit,en,{},1,USLTM2600011,Tidal,0:31,{}\n036000291452,Tidal (Live),,,,,,,,,,,,,,2,USLTM2600012,Tidal,0:32,{}\n",
        h(1),
        h(2),
        h(3)
    );
    let results = read_sheet(dir.path(), &text);
    let Err(rejected) = &results[0] else {
        panic!("should be rejected")
    };
    let d = &rejected.diagnostics[0];
    assert_eq!(d.loc.map(|l| (l.line, l.col)), Some((3, 2)));
    assert!(d.to_string().contains("same value as line 2"), "{d}");
}

#[test]
fn sheet_without_required_columns_says_which() {
    let dir = tempfile::tempdir().expect("tempdir");
    let results = read_sheet(dir.path(), "upc,title\n036000291452,x\n");
    let Err(rejected) = &results[0] else {
        panic!("should be rejected")
    };
    let msg = rejected.diagnostics[0].to_string();
    assert!(
        msg.contains("release_title") && msg.contains("isrc") && msg.contains("audio"),
        "{msg}"
    );
}

#[test]
fn sheets_that_are_not_utf8_are_refused_with_a_location() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("latin1.csv");
    std::fs::write(&path, b"upc,release_title\n036000291452,Caf\xe9\n").expect("write");
    let results = intake::read(&path);
    let Err(rejected) = &results[0] else {
        panic!("should be rejected")
    };
    let d = &rejected.diagnostics[0];
    assert_eq!(d.loc.map(|l| l.line), Some(2));
    assert!(d.expected.contains("UTF-8"));
}

#[test]
fn a_folder_needs_one_release_document() {
    let dir = tempfile::tempdir().expect("tempdir");
    let results = intake::read(dir.path());
    let Err(rejected) = &results[0] else {
        panic!("empty folder")
    };
    assert!(rejected.diagnostics[0].expected.contains("release.toml"));
    std::fs::write(dir.path().join("release.toml"), GOOD).expect("write");
    std::fs::write(dir.path().join("release.json"), "{}").expect("write");
    let results = intake::read(dir.path());
    let Err(rejected) = &results[0] else {
        panic!("two documents")
    };
    assert!(rejected.diagnostics[0].expected.contains("not both"));
}

#[test]
fn artist_dsp_ids_are_a_table_of_profile_names() {
    let ok = GOOD.replace(
        r#"artists = [{ name = "Nova Lune", role = "MainArtist" }]"#,
        r#"artists = [{ name = "Nova Lune", role = "MainArtist", dsp_ids = { spotify = "spotify:artist:X", apple-music = "158" } }]"#,
    );
    let r = parse_document(Path::new("r.toml"), &ok).expect("valid");
    assert_eq!(
        r.artists[0].dsp_ids.get("apple-music").map(String::as_str),
        Some("158")
    );
    assert_eq!(
        r.tracks[0].artists[0].dsp_ids.len(),
        2,
        "tracks inherit the release's artists"
    );
    let bad = GOOD.replace(
        r#"artists = [{ name = "Nova Lune", role = "MainArtist" }]"#,
        r#"artists = [{ name = "Nova Lune", role = "MainArtist", dsp_ids = { Spotify = "x", deezer = "" } }]"#,
    );
    let errs = errors(&bad);
    assert!(
        has(&errs, "artists[0].dsp_ids.Spotify", "DSP profile name"),
        "{errs:#?}"
    );
    assert!(
        has(&errs, "artists[0].dsp_ids.deezer", "non-empty"),
        "{errs:#?}"
    );
    let not_table = GOOD.replace(
        r#"artists = [{ name = "Nova Lune", role = "MainArtist" }]"#,
        r#"artists = [{ name = "Nova Lune", role = "MainArtist", dsp_ids = "spotify:artist:X" }]"#,
    );
    assert!(has(&errors(&not_table), "artists[0].dsp_ids", "table"));
}
