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

#[test]
fn shipped_profiles_say_how_to_reach_each_dsp() {
    use profiles::{Choreography, HostKey, SftpAuth, Transport};
    let profiles = load_dir(&deploy_dsps()).unwrap_or_else(|e| panic!("{e:?}"));
    let by = |n: &str| profiles.iter().find(|p| p.name == n).expect("profile");
    let spotify = by("spotify").delivery.as_ref().expect("spotify delivers");
    assert_eq!(spotify.choreography, Choreography::Batch);
    let Transport::Sftp(s) = &spotify.transport else {
        panic!("spotify is SFTP")
    };
    assert_eq!((s.host.as_str(), s.port), ("127.0.0.1", 2221));
    assert!(matches!(s.auth, SftpAuth::KeyFile { .. }));
    assert!(matches!(s.host_key, HostKey::KnownHosts(_)));
    assert_eq!(spotify.ack_deadline_hours, 120);
    let yt = by("youtube-music")
        .delivery
        .as_ref()
        .expect("youtube delivers");
    assert_eq!(yt.choreography, Choreography::ReleaseByRelease);
    let deezer = by("deezer").delivery.as_ref().expect("deezer delivers");
    let Transport::Http(h) = &deezer.transport else {
        panic!("deezer is HTTP")
    };
    assert_eq!(h.token_env.as_deref(), Some("LINER_DEEZER_TOKEN"));
    assert_eq!(
        by("apple-music")
            .delivery
            .as_ref()
            .expect("apple")
            .retry
            .attempts,
        8
    );
}

#[test]
fn delivery_settings_refuse_secrets_blind_trust_and_plain_http() {
    let base = r#"
display_name = "X"
party_id = "PADPIDA0000000009X"
ern_version = "4.3"
territories = ["Worldwide"]
commercial_models = ["SubscriptionModel"]
audio = { codec = "flac", sample_rates = [44100], bit_depths = [16] }
artwork = { min_px = 3000 }
lead_time = { warn_days = 14, refuse_days = 7 }
"#;
    let problems = |delivery: &str| -> String {
        match DspProfile::parse(
            Path::new("x.toml"),
            &format!("{base}\n[delivery]\n{delivery}"),
        ) {
            Ok(_) => String::new(),
            Err(e) => e
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        }
    };
    // A secret in the file, no pinned host key, both auth kinds.
    let p = problems(
        r#"transport = "sftp"
choreography = "batch"
host = "dsp.example"
user = "me"
password = "hunter2"
password_env = "lower_case"
key_file = "k"
root = "/in"
acknowledgements = "/acks""#,
    );
    for needle in [
        "delivery.password: secrets are never written in a profile",
        "delivery.password_env: \"lower_case\" is not an environment variable name",
        "exactly one of key_file or password_env",
        "never trusted blindly",
    ] {
        assert!(p.contains(needle), "missing {needle:?} in:\n{p}");
    }
    assert!(!p.contains("hunter2"), "the secret is not echoed back");
    // A malformed fingerprint, missing SFTP fields.
    let p = problems(
        r#"transport = "sftp"
choreography = "batch"
host_key_fingerprint = "MD5:aa:bb"
key_file = "k""#,
    );
    for needle in [
        "not SHA256:<43 base64 characters>",
        "delivery.host: required",
        "delivery.user: required",
        "delivery.root: required",
        "delivery.acknowledgements: required",
    ] {
        assert!(p.contains(needle), "missing {needle:?} in:\n{p}");
    }
    // Plain HTTP only to loopback; an unknown transport.
    assert!(problems("transport = \"http\"\nchoreography = \"release-by-release\"\nbase_url = \"http://dsp.example/api\"").contains("must be https://"));
    assert_eq!(
        problems(
            "transport = \"http\"\nchoreography = \"release-by-release\"\nbase_url = \"http://127.0.0.1:8470/x\""
        ),
        ""
    );
    assert_eq!(
        problems(
            "transport = \"http\"\nchoreography = \"batch\"\nbase_url = \"https://dsp.example/api\"\ntoken_env = \"DSP_TOKEN\""
        ),
        ""
    );
    assert!(
        problems("transport = \"ftp\"\nchoreography = \"batch\"")
            .contains("\"ftp\" is not sftp or http")
    );
    // A good fingerprint is taken.
    let ok = problems(
        r#"transport = "sftp"
choreography = "release-by-release"
host = "dsp.example"
user = "me"
key_file = "k"
host_key_fingerprint = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"
root = "/in"
acknowledgements = "/acks""#,
    );
    assert_eq!(ok, "");
}

/// Moved from the binary's delivery shell with the rule itself (issue 18): the lead time is
/// the profile's rule, checked against a date given to it.
#[test]
fn lead_time_warns_refuses_and_spares_back_catalogue() {
    let lt = profiles::LeadTime {
        warn_days: 14,
        refuse_days: 7,
        delivery_offset_days: 21,
    };
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 26).unwrap_or_default();
    let d = |n| today + chrono::Duration::days(n);
    assert_eq!(lt.check(d(30), today, false), Ok(None));
    assert!(matches!(lt.check(d(10), today, false), Ok(Some(w)) if w.contains("10 day(s)")));
    assert!(matches!(lt.check(d(3), today, false), Err(e) if e.contains("--priority")));
    assert!(matches!(lt.check(d(3), today, true), Ok(Some(_))));
    assert_eq!(lt.check(d(-400), today, false), Ok(None));
}
