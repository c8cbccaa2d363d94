//! Shared test material: releases built in code (fixed and random), build inputs, and the
//! official DDEX schemas and samples from ../shared (required when CI=true).
#![allow(clippy::unwrap_used)]
#![allow(dead_code, unreachable_pub)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use ern::{BuildInput, FileFacts, Intent, MessageParty, Version};
use model::*;
use proptest::prelude::*;

pub fn shared() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/ddex");
    if p.join("xsd").is_dir() {
        Some(p)
    } else {
        assert!(
            std::env::var("CI").map(|v| v != "true").unwrap_or(true),
            "CI=true but ../shared/ddex/xsd is missing: the XSD tests must run"
        );
        eprintln!("../shared/ddex missing: XSD checks skipped outside CI");
        None
    }
}

pub fn schema(version: Version) -> Option<xsd::Schema> {
    shared().map(|d| {
        xsd::Schema::load(&d.join("xsd").join(version.schema_file())).expect("schema compiles")
    })
}

pub fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
}

pub fn artist(name: &str, role: ArtistRole) -> DisplayArtist {
    DisplayArtist::new(name, role)
}

/// A 12-track album with one worldwide deal set (2 models x 2 use types), the benchmark shape.
pub fn album(tracks: usize) -> Release {
    let mut r = Release {
        upc: Icpn::parse("196543210010").expect("upc"),
        catalog_number: Some("NJR-001".into()),
        grid: None,
        title: "Northern Lights".into(),
        version: None,
        release_type: if tracks == 1 {
            ReleaseType::Single
        } else {
            ReleaseType::Album
        },
        artists: vec![artist("Nova Lune", ArtistRole::MainArtist)],
        label: Label {
            name: "Nightjar Records".into(),
            dpid: None,
            email: Email::parse("ops@nightjar.example").expect("email"),
        },
        p_line: RightsLine {
            year: 2026,
            holder: "Nightjar Records".into(),
        },
        c_line: RightsLine {
            year: 2026,
            holder: "Nightjar Records".into(),
        },
        genre: "Electronic".into(),
        subgenre: Some("Ambient".into()),
        release_date: date("2026-12-04"),
        original_release_date: None,
        preorder_date: None,
        parental_advisory: ParentalAdvisory::NotExplicit,
        language: LanguageTag::parse("en").expect("lang"),
        territories: Territories::worldwide(),
        deals: vec![
            Deal {
                commercial_model: CommercialModel::SubscriptionModel,
                use_types: vec![UseType::OnDemandStream, UseType::NonInteractiveStream],
                start: date("2026-12-04"),
                end: None,
                territories: None,
            },
            Deal {
                commercial_model: CommercialModel::AdvertisementSupportedModel,
                use_types: vec![UseType::OnDemandStream, UseType::NonInteractiveStream],
                start: date("2026-12-04"),
                end: None,
                territories: None,
            },
        ],
        artwork: Artwork {
            file: FileRef::Path("cover.jpg".into()),
            ai: AiExtent::None,
        },
        ai: AiDisclosure::none(),
        ai_training: AiTrainingConsent::default(),
        payees: vec![],
        tracks: vec![],
        unverified: vec![],
    };
    for n in 1..=tracks {
        r.tracks.push(Track {
            disc: 1,
            number: n as u16,
            isrc: Isrc::parse(&format!("GBNJR26{:05}", n)).expect("isrc"),
            title: format!("Aurora {n}"),
            version: (n % 4 == 0).then(|| "Radio Edit".to_owned()),
            artists: vec![],
            contributors: vec![Contributor {
                name: "Ada Wren".into(),
                roles: vec![ContributorRole::Composer, ContributorRole::Producer],
                isni: None,
                ai: AiExtent::None,
            }],
            duration: Duration::from_millis(180_000 + n as u64 * 1_234),
            explicit: false,
            lyrics: None,
            iswc: None,
            preview: Some(Preview {
                start: Duration::from_millis(30_000),
                length: Duration::from_millis(30_000),
            }),
            audio: FileRef::Path(format!("{n:02}.flac")),
            ai: AiDisclosure::none(),
            splits: vec![],
        });
    }
    r
}

/// File facts for every file of a release, as the shell would gather them.
pub fn facts(r: &Release) -> BTreeMap<FileRef, FileFacts> {
    let mut m = BTreeMap::new();
    for (i, t) in r.tracks.iter().enumerate() {
        m.insert(
            t.audio.clone(),
            FileFacts {
                uri: format!("resources/{}_{:02}.flac", r.upc, i + 1),
                size: 30_000_000 + i as u64,
                md5: format!("{:032x}", 0xabcdef_u128 + i as u128),
                codec: Some("FLAC".into()),
                channels: Some(2),
                sample_rate: Some(44_100),
                bits_per_sample: Some(24),
                width: None,
                height: None,
            },
        );
    }
    m.insert(
        r.artwork.file.clone(),
        FileFacts {
            uri: format!("resources/{}.jpg", r.upc),
            size: 2_000_000,
            md5: "0123456789abcdef0123456789abcdef".into(),
            codec: Some("JPEG".into()),
            width: Some(3000),
            height: Some(3000),
            ..Default::default()
        },
    );
    m
}

pub fn input<'a>(
    version: Version,
    r: &Release,
    files: &'a BTreeMap<FileRef, FileFacts>,
    intent: Intent,
) -> BuildInput<'a> {
    BuildInput {
        version,
        sender: MessageParty {
            party_id: "PADPIDA2026112601L".into(),
            name: Some("Liner Distribution".into()),
        },
        recipient: MessageParty {
            party_id: "PADPIDA0000000001S".into(),
            name: Some("Spotify".into()),
        },
        message_id: format!("{}-1", r.upc),
        thread_id: Some(r.upc.as_str().to_owned()),
        created: "2026-11-26T10:00:00+00:00".into(),
        deals: r.deals.clone(),
        files,
        intent,
        dsp: None,
        takedown_flag: false,
        test_message: false,
    }
}

// ------------------------------------------------------------------ random releases

fn upc_strategy() -> impl Strategy<Value = Icpn> {
    proptest::collection::vec(0u8..10, 11).prop_map(|d| {
        let body: String = d.iter().map(|x| char::from(b'0' + x)).collect();
        let check = model::id::gs1_check_digit(body.as_bytes()) as char;
        Icpn::parse(&format!("{body}{check}")).expect("valid upc")
    })
}

fn text_strategy() -> impl Strategy<Value = String> {
    // Unicode titles: Latin with accents, CJK, Cyrillic, Arabic, emoji, and XML's specials.
    prop_oneof![
        "[A-Za-z][A-Za-z0-9 '&<>\"-]{0,30}",
        "[\u{00C0}-\u{00FF}a-z ]{1,20}",
        "[\u{4E00}-\u{4E80}]{1,10}",
        "[\u{0410}-\u{044F} ]{1,20}",
        "[\u{0627}-\u{064A}]{1,12}",
        "[a-z]{1,8} [\u{1F300}-\u{1F320}]",
    ]
    .prop_map(|s| {
        let t = s.trim().to_owned();
        if t.is_empty() { "Untitled".into() } else { t }
    })
}

fn country_strategy() -> impl Strategy<Value = CountryCode> {
    proptest::sample::select(vec![
        "US", "GB", "DE", "FR", "JP", "BR", "IN", "NG", "AU", "CA", "MX", "KR", "SE", "ZA", "AR",
    ])
    .prop_map(|c| CountryCode::parse(c).expect("country"))
}

fn territories_strategy() -> impl Strategy<Value = Territories> {
    prop_oneof![
        Just(Territories::worldwide()),
        proptest::collection::btree_set(country_strategy(), 1..6)
            .prop_map(|excluding| Territories::Worldwide { excluding }),
        proptest::collection::btree_set(country_strategy(), 1..15).prop_map(Territories::Only),
    ]
}

fn ai_extent() -> impl Strategy<Value = AiExtent> {
    proptest::sample::select(AiExtent::ALL.to_vec())
}

prop_compose! {
    fn contributor()(name in text_strategy(),
                     roles in proptest::collection::btree_set(proptest::sample::select(ContributorRole::ALL.to_vec()), 1..4),
                     ai in ai_extent()) -> Contributor {
        Contributor { name, roles: roles.into_iter().collect(), isni: None, ai }
    }
}

prop_compose! {
    fn display_artist()(name in text_strategy(), role in proptest::sample::select(ArtistRole::ALL.to_vec()),
                        isni in proptest::option::of(Just("0000000121032683"))) -> DisplayArtist {
        let mut a = DisplayArtist::new(name, role);
        a.isni = isni.map(|i| Isni::parse(i).expect("isni"));
        a
    }
}

prop_compose! {
    fn deal()(model in proptest::sample::select(CommercialModel::ALL.to_vec()),
              uses in proptest::collection::btree_set(proptest::sample::select(UseType::ALL.to_vec()), 1..4),
              start_off in 0i64..400, end_off in proptest::option::of(1i64..400),
              terr in proptest::option::of(territories_strategy())) -> Deal {
        let start = date("2026-01-01") + chrono::Duration::days(start_off);
        Deal { commercial_model: model, use_types: uses.into_iter().collect(), start,
               end: end_off.map(|e| start + chrono::Duration::days(e)), territories: terr }
    }
}

prop_compose! {
    pub fn release_strategy()(upc in upc_strategy(), title in text_strategy(), version in proptest::option::of(text_strategy()),
        main in display_artist(), feat in proptest::option::of(display_artist()),
        label in text_strategy(), genre in text_strategy(), multi_disc in any::<bool>(),
        territories in territories_strategy(), deals in proptest::collection::vec(deal(), 0..5),
        release_ai in ai_extent(), art_ai in ai_extent(),
        consent in (any::<bool>(), any::<bool>(), any::<bool>()),
        explicit in any::<bool>(), preorder in proptest::option::of(1i64..60),
        tracks in proptest::collection::vec((text_strategy(), proptest::option::of(text_strategy()),
            proptest::collection::vec(contributor(), 0..4), 1_000u64..900_000, any::<bool>(), ai_extent(),
            proptest::option::of(display_artist()), any::<bool>()), 1..=40),
        extra in proptest::option::of(display_artist())) -> Release {
        let mut r = album(0);
        r.upc = upc;
        r.title = title;
        r.version = version;
        r.artists = vec![DisplayArtist { role: ArtistRole::MainArtist, ..main }];
        if let Some(f) = feat { r.artists.push(DisplayArtist { role: ArtistRole::FeaturedArtist, ..f }); }
        // Any other role (Remixer, Conductor, …) travels as DisplayArtistRole Artist + ArtisticRole.
        if let Some(e) = extra { r.artists.push(e); }
        r.label.name = label;
        r.genre = genre;
        r.territories = territories;
        r.deals = deals;
        r.ai.contains = release_ai;
        r.artwork.ai = art_ai;
        r.ai_training = AiTrainingConsent { generative: consent.0, non_generative: consent.1, data_mining: consent.2 };
        r.preorder_date = preorder.map(|d| r.release_date - chrono::Duration::days(d));
        r.parental_advisory = if explicit { ParentalAdvisory::Explicit } else { ParentalAdvisory::NotExplicit };
        r.release_type = match tracks.len() { 1 => ReleaseType::Single, 2..=6 => ReleaseType::EP, _ => ReleaseType::Album };
        let n = tracks.len();
        for (i, (t, v, contributors, ms, exp, ai, guest, preview)) in tracks.into_iter().enumerate() {
            let disc = if multi_disc && n > 1 { if i < n / 2 { 1 } else { 2 } } else { 1 };
            let number = if disc == 2 { i - n / 2 + 1 } else { i + 1 };
            r.tracks.push(Track {
                disc, number: number as u16,
                isrc: Isrc::parse(&format!("QZ{}{:07}", "ABC", i + 1)).expect("isrc"),
                title: t, version: v,
                artists: guest.map(|g| { let mut a = r.artists.clone(); a.push(DisplayArtist { role: ArtistRole::FeaturedArtist, ..g }); a }).unwrap_or_default(),
                contributors, duration: Duration::from_millis(ms), explicit: exp && explicit, lyrics: None,
                iswc: (i % 3 == 0).then(|| Iswc::parse("T0345246801").expect("iswc")),
                preview: preview.then(|| Preview { start: Duration::from_millis(ms / 3), length: Duration::from_millis(30_000.min(ms / 2)) }),
                audio: FileRef::Path(format!("{:02}.flac", i + 1)),
                ai: AiDisclosure { contains: ai, parts: vec![] }, splits: vec![],
            });
        }
        r
    }
}

pub fn no_ternary_set<T: Ord>(v: Vec<T>) -> BTreeSet<T> {
    v.into_iter().collect()
}
