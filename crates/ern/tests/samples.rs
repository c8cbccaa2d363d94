//! DDEX's own sample messages: every XSD-valid one reads with the release and resource
//! counts PROVENANCE.md lists; the invalid ones are refused with line and element; the audio
//! samples re-written by Liner validate and keep their releases, resources and deals.
#![allow(clippy::unwrap_used)]

mod support;

use ern::{Version, read, write};
use support::*;

struct Row {
    file: String,
    releases: usize,
    resources: usize,
}

fn rows(dir: &std::path::Path) -> Vec<Row> {
    let text = std::fs::read_to_string(dir.join("samples/PROVENANCE.md")).expect("PROVENANCE.md");
    text.lines()
        .filter(|l| l.starts_with("| `") && !l.contains("invalid/"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            Row {
                file: cells[1].trim_matches('`').to_owned(),
                releases: cells[5].parse().expect("releases"),
                resources: cells[6].parse().expect("resources"),
            }
        })
        .collect()
}

#[test]
fn every_valid_sample_reads_with_its_counts() {
    let Some(dir) = shared() else { return };
    let rows = rows(&dir);
    assert_eq!(rows.len(), 35, "PROVENANCE.md lists 35 valid samples");
    for row in rows {
        let bytes = std::fs::read(dir.join("samples").join(&row.file)).expect("sample");
        let (msg, warnings) = read(&bytes).unwrap_or_else(|e| panic!("{}: {e}", row.file));
        assert_eq!(msg.releases.len(), row.releases, "{}: releases", row.file);
        assert_eq!(
            msg.resources.len(),
            row.resources,
            "{}: resources",
            row.file
        );
        if msg.kind == ern::MessageKind::NewRelease && row.releases > 0 {
            assert!(msg.main_release().is_some(), "{}: a main release", row.file);
        }
        for w in &warnings {
            assert!(w.line > 0, "{}: warning without a line: {w}", row.file);
        }
    }
}

#[test]
fn invalid_samples_are_refused_with_line_and_element() {
    let Some(dir) = shared() else { return };
    let fake =
        std::fs::read(dir.join("samples/invalid/ern382_dedex_005_not_valid_xsd.xml")).unwrap();
    let errors = schema(Version::V382).unwrap().validate(&fake).unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].line, 31);
    assert!(errors[0].message.contains("'FakeTag'"), "{errors:?}");
    let suite = std::fs::read(
        dir.join("samples/invalid/ern43_ddexsuite_testsuite_valid_simple_release.xml"),
    )
    .unwrap();
    let errors = schema(Version::V43).unwrap().validate(&suite).unwrap();
    assert_eq!(errors.len(), 7, "{errors:?}");
    assert!(
        errors
            .iter()
            .any(|e| e.message.contains("MessageSchemaVersionId")),
        "{errors:?}"
    );
    // Liner's own checks see the ERN 3 attribute on an ERN 4 message without any schema.
    let (msg, _) = read(&suite).expect("reads");
    let findings = ern::checks::check(&msg);
    assert!(
        findings.iter().any(|f| f.rule == "ERN-ROOT-ATTR"),
        "{findings:?}"
    );
}

#[test]
fn audio_samples_rewritten_validate_and_keep_releases_resources_deals() {
    let Some(dir) = shared() else { return };
    let defaults = ern::ImportDefaults {
        label_email: model::Email::parse("labels@example.com").unwrap(),
        upc: None,
    };
    for file in [
        "ern43_official_1_Audio.xml",
        "ern43_official_4_SimpleAudioSingle.xml",
        "ern43_official_8_DjMix.xml",
        "ern43_official_Variant_Classical.xml",
        "ern42_official_1_Audio.xml",
        "ern411_official_1_Audio.xml",
        "ern382_release_Profile_AudioAlbumMusicOnly.xml",
        "ern382_release_Profile_AudioSingle.xml",
        "ern382_release_ProfileVariant_BonusTrack_HiddenTrack.xml",
    ] {
        let bytes = std::fs::read(dir.join("samples").join(file)).unwrap();
        let (msg, _) = read(&bytes).unwrap();
        let src_sr = msg
            .resources
            .iter()
            .filter(|r| r.kind == ern::ResourceKind::SoundRecording)
            .count();
        // Liner keys releases on the UPC: a sample identified by GRid only is refused with
        // that reason, nothing else.
        match ern::to_release(&msg, &defaults) {
            Ok(imported) => {
                let r = &imported.release;
                assert!(
                    !r.tracks.is_empty() && r.tracks.len() <= src_sr,
                    "{file}: tracks"
                );
                assert!(!r.deals.is_empty() || msg.deals.is_empty(), "{file}: deals");
            }
            Err(e) => assert!(
                e.problems.iter().all(|p| p.code == "ID-ICPN"),
                "{file}: {e}"
            ),
        }
        // Re-write the message in its own version (4.1.1 and 4.2 as 4.3): valid, same counts.
        let target = if msg.version == Version::V382 {
            Version::V382
        } else {
            Version::V43
        };
        {
            let v = target;
            let mut m = msg.clone();
            m.version = v;
            let xml = write(&m, v).unwrap();
            if let Some(s) = schema(v) {
                let errors = s.validate(&xml).unwrap();
                assert!(errors.is_empty(), "{file} as ERN {v}: {errors:?}");
            }
            let (back, _) = read(&xml).unwrap();
            assert_eq!(
                back.releases.len(),
                msg.releases.iter().filter(|x| x.main || x.track).count(),
                "{file} as {v}: releases"
            );
            assert_eq!(
                back.resources.len(),
                msg.resources.len(),
                "{file} as {v}: resources"
            );
            assert_eq!(back.deal_count(), msg.deal_count(), "{file} as {v}: deals");
        }
    }
}

#[test]
fn identifiers_failing_their_check_are_kept_unverified() {
    let Some(dir) = shared() else { return };
    let defaults = ern::ImportDefaults {
        label_email: model::Email::parse("labels@example.com").unwrap(),
        upc: None,
    };
    let mut unverified = 0;
    for row in rows(&dir) {
        let bytes = std::fs::read(dir.join("samples").join(&row.file)).unwrap();
        let (msg, _) = read(&bytes).unwrap();
        let findings = ern::checks::check(&msg);
        unverified += findings
            .iter()
            .filter(|f| f.rule.starts_with("ID-"))
            .count();
        let _ = ern::to_release(&msg, &defaults);
    }
    assert!(
        unverified > 0,
        "the official samples carry identifiers that fail their checks"
    );
}

/// Every audio sample reads into the release model (GRid-only ones keyed on a UPC the
/// operator gives); the others are refused with the reason, never half-read.
#[test]
fn audio_samples_read_into_the_release_model() {
    let Some(dir) = shared() else { return };
    let defaults = ern::ImportDefaults {
        label_email: model::Email::parse("labels@example.com").unwrap(),
        upc: Some(model::Icpn::parse("196543210010").unwrap()),
    };
    let audio = [
        "ern43_official_1_Audio.xml",
        "ern43_official_3_MixedMedia.xml",
        "ern43_official_4_SimpleAudioSingle.xml",
        "ern43_official_6_Ringtone.xml",
        "ern43_official_8_DjMix.xml",
        "ern43_official_Variant_Classical.xml",
        "ern42_official_1_Audio.xml",
        "ern42_official_4_SimpleAudioSingle.xml",
        "ern411_official_1_Audio.xml",
        "ern382_release_Profile_AudioAlbumMusicOnly.xml",
        "ern382_release_Profile_AudioAlbum_WithBooklet.xml",
        "ern382_release_ProfileVariant_BonusTrack_HiddenTrack.xml",
        "ern382_release_Profile_AudioSingle.xml",
        "ern382_release_Profile_AudioSingle_WithCompoundArtistsAndTerritorialOverride.xml",
        "ern382_release_Profile_SingleResourceReleaseWithCoverArt.xml",
    ];
    let mut read = 0;
    for row in rows(&dir) {
        let bytes = std::fs::read(dir.join("samples").join(&row.file)).unwrap();
        let (msg, _) = read_msg(&bytes);
        match ern::to_release(&msg, &defaults) {
            Ok(i) => {
                assert!(
                    audio.contains(&row.file.as_str()),
                    "{} read but is not audio",
                    row.file
                );
                assert!(!i.release.tracks.is_empty());
                read += 1;
                if row.file == "ern43_official_Variant_Classical.xml" {
                    let discs: std::collections::BTreeSet<u16> =
                        i.release.tracks.iter().map(|t| t.disc).collect();
                    assert_eq!(discs.len(), 4, "multi-disc: {discs:?}");
                }
                if row.file == "ern43_official_8_DjMix.xml" {
                    // ICPN 123123123123 fails its GS1 check: kept, flagged for QC.
                    assert_eq!(i.release.upc.as_str(), "123123123123");
                    assert_eq!(i.release.unverified[0].field, "upc");
                }
            }
            Err(e) => {
                assert!(!audio.contains(&row.file.as_str()), "{}: {e}", row.file);
                assert!(
                    e.problems.iter().all(|p| [
                        "ERN-ARTIST",
                        "ERN-KIND",
                        "ERN-NO-TRACKS",
                        "ERN-DATE"
                    ]
                    .contains(&p.code)),
                    "{}: {e}",
                    row.file
                );
            }
        }
    }
    assert_eq!(read, audio.len());
}

fn read_msg(bytes: &[u8]) -> (ern::Message, Vec<ern::ReadWarning>) {
    read(bytes).unwrap()
}
