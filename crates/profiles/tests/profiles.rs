//! The shipped profiles load, and broken ones say what is wrong.

use std::path::{Path, PathBuf};

use profiles::{AudioCodec, DspProfile, ErnVersion, Severity, load_dir};

fn deploy_dsps() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/dsps")
}

#[test]
fn shipped_profiles_load_and_differ() {
    let profiles = load_dir(&deploy_dsps()).unwrap_or_else(|e| panic!("{e:?}"));
    let names: Vec<&str> = profiles.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["apple-music", "deezer", "spotify", "youtube-music"]);
    let by = |n: &str| profiles.iter().find(|p| p.name == n).expect("profile");
    assert_eq!(by("spotify").ern_version, ErnVersion::V43);
    assert_eq!(by("youtube-music").ern_version, ErnVersion::V432);
    assert_eq!(by("deezer").ern_version, ErnVersion::V382);
    assert_eq!(by("apple-music").audio.codec, AudioCodec::Wav);
    assert_eq!(
        by("spotify").severity_override("ART-MIN-SIZE"),
        Some(Severity::Error)
    );
    assert!(
        !by("apple-music")
            .territories
            .includes(&model::CountryCode::parse("KP").expect("KP"))
    );
    assert!(
        !by("deezer")
            .territories
            .includes(&model::CountryCode::parse("IT").expect("IT"))
    );
}

#[test]
fn broken_profile_reports_every_problem() {
    let text = r#"
display_name = "Broken"
party_id = "DPID123"
ern_version = "4.3"
territories = ["Worldwide", "US"]
commercial_models = ["SubscriptionModel"]
deal_defaults = [{ commercial_model = "PayAsYouGoModel" }]
audio = { codec = "flac", sample_rates = [], bit_depths = [16] }
artwork = { min_px = 3000 }
lead_time = { warn_days = 7, refuse_days = 14 }
qc = { severity = { "lowercase" = "error" } }
"#;
    let errs = DspProfile::parse(Path::new("Broken_Name.toml"), text).expect_err("broken");
    let all = errs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    for needle in [
        "file name",
        "party_id",
        "territories",
        "PayAsYouGoModel",
        "sample_rates",
        "refuse_days",
        "lowercase",
    ] {
        assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
    }
}

#[test]
fn syntax_and_unknown_fields_are_located() {
    let err = DspProfile::parse(
        Path::new("x.toml"),
        "display_name = \"X\"\nern_versoin = \"4.3\"\n",
    )
    .expect_err("typo");
    let msg = err[0].to_string();
    assert!(
        msg.contains("x.toml") && msg.contains("line 2") && msg.contains("ern_versoin"),
        "{msg}"
    );
    let err =
        DspProfile::parse(Path::new("x.toml"), "ern_version = \"5.0\"").expect_err("bad version");
    assert!(err[0].to_string().contains("5.0"), "{}", err[0]);
}

#[test]
fn release_deals_win_and_defaults_fill_in() {
    let profiles = load_dir(&deploy_dsps()).expect("load");
    let apple = profiles
        .iter()
        .find(|p| p.name == "apple-music")
        .expect("apple");
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/release.toml"))
            .expect("fixture");
    let mut release = intake::parse_document(Path::new("release.toml"), &text).expect("valid");
    let defaults = apple.deals_for(&release);
    assert_eq!(defaults.len(), 2);
    assert!(defaults.iter().all(|d| d.start == release.release_date));
    release.deals = vec![model::Deal {
        commercial_model: model::CommercialModel::AdvertisementSupportedModel,
        use_types: vec![model::UseType::OnDemandStream],
        start: release.release_date,
        end: None,
        territories: None,
    }];
    assert!(
        apple.deals_for(&release).is_empty(),
        "Apple takes no ad-supported deals; the release's own deals win over defaults"
    );
}
