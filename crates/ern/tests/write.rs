//! The writer against the official XSDs: fixed releases, lifecycle messages, and a property
//! test over random releases for every version Liner writes.
#![allow(clippy::unwrap_used)]

mod support;

use ern::{Intent, Version, compose, write};
use proptest::prelude::*;
use support::*;

fn assert_valid(version: Version, xml: &[u8]) {
    if let Some(s) = schema(version) {
        let errors = s.validate(xml).expect("validate");
        assert!(
            errors.is_empty(),
            "ERN {version} invalid: {:?}\n{}",
            errors,
            String::from_utf8_lossy(xml)
        );
    }
}

#[test]
fn album_validates_in_every_version() {
    let r = album(12);
    let files = facts(&r);
    for v in Version::WRITABLE {
        let (msg, warnings) = compose(&r, &input(v, &r, &files, Intent::New));
        assert!(warnings.is_empty(), "{warnings:?}");
        let xml = write(&msg, v).expect("write");
        std::fs::write(format!("/tmp/album-{v}.xml"), &xml).ok();
        assert_valid(v, &xml);
    }
}

fn cases() -> u32 {
    std::env::var("ERN_PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200)
}

/// Any release the model can hold, written in any version Liner writes, is XSD-valid; and
/// write -> read -> write gives the same bytes, and the release read back is the release.
fn property(version: Version) {
    let Some(schema) = schema(version) else {
        return;
    };
    let defaults = ern::ImportDefaults {
        label_email: model::Email::parse("ops@nightjar.example").unwrap(),
        upc: None,
    };
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: cases(),
        ..ProptestConfig::default()
    });
    let checked = std::cell::Cell::new(0u32);
    runner
        .run(&release_strategy(), |r| {
            let files = facts(&r);
            let (msg, _) = compose(&r, &input(version, &r, &files, Intent::New));
            let xml = write(&msg, version).expect("write");
            let errors = schema.validate(&xml).expect("validate");
            prop_assert!(
                errors.is_empty(),
                "ERN {version} invalid: {errors:?}\n{}",
                String::from_utf8_lossy(&xml)
            );
            let (back, warnings) = ern::read(&xml).expect("read own output");
            prop_assert!(warnings.is_empty(), "{warnings:?}");
            // Liner's own output also passes its Release Profile rule ports.
            let broken: Vec<String> = ern::checks::check(&back)
                .into_iter()
                .filter(|f| f.severity == ern::checks::Severity::Error)
                .map(|f| f.to_string())
                .collect();
            prop_assert!(broken.is_empty(), "ERN {version}: {broken:?}");
            let again = write(&back, version).expect("write again");
            if xml != again {
                std::fs::write(format!("/tmp/rt-{version}-a.xml"), &xml).ok();
                std::fs::write(format!("/tmp/rt-{version}-b.xml"), &again).ok();
            }
            prop_assert!(
                xml == again,
                "write -> read -> write differs for ERN {version}"
            );
            let imported = ern::to_release(&back, &defaults).expect("to_release");
            let mut expected = r.clone();
            // Files come back as the delivery's names; the rest must be the same release.
            expected.map_file_refs(|f| model::FileRef::Path(files[f].uri.clone()));
            if !version.carries_ai() {
                expected.ai = model::AiDisclosure::none();
                expected.artwork.ai = model::AiExtent::None;
                expected.ai_training = Default::default();
                for t in &mut expected.tracks {
                    t.ai = model::AiDisclosure::none();
                    for c in &mut t.contributors {
                        c.ai = model::AiExtent::None;
                    }
                }
            }
            let mut got = imported.release.clone();
            normalise(&mut expected);
            normalise(&mut got);
            if got != expected {
                std::fs::write(format!("/tmp/rel-{version}-got"), format!("{got:#?}")).ok();
                std::fs::write(format!("/tmp/rel-{version}-exp"), format!("{expected:#?}")).ok();
            }
            prop_assert_eq!(got, expected);
            checked.set(checked.get() + 1);
            Ok(())
        })
        .expect("property holds");
    eprintln!(
        "ERN {version}: {} random releases written, XSD-valid and round-tripped",
        checked.get()
    );
}

/// Equal in meaning, not in form: track artists equal to the release's (written per track,
/// read back as "same as release"), the order of a contributor's roles (3.8.2 files work
/// roles apart), a deal's territories spelled out when they are the release's.
fn normalise(r: &mut model::Release) {
    for t in &mut r.tracks {
        if t.artists == r.artists {
            t.artists.clear();
        }
        t.ai.parts.clear();
    }
    r.ai.parts.clear();
    r.tracks.sort_by_key(|t| (t.disc, t.number));
    for t in &mut r.tracks {
        for c in &mut t.contributors {
            c.roles.sort();
        }
    }
    // Deals travel with their effective territories; the release's own only through them.
    let all = r.territories.clone();
    r.deals.retain(|d| {
        !d.territories
            .as_ref()
            .map_or(all.clone(), |t| t.intersect(&all))
            .is_empty()
    });
    for d in &mut r.deals {
        d.territories = Some(
            d.territories
                .as_ref()
                .map_or(all.clone(), |t| t.intersect(&all)),
        );
    }
    r.territories = model::Territories::worldwide();
    // Pre-order visibility travels in the DealList: without deals there is none.
    if r.deals.is_empty() {
        r.preorder_date = None;
    }
    // Release Profile rule 1030-1: one credit per contributor, roles merged.
    for t in &mut r.tracks {
        let mut merged: Vec<model::Contributor> = Vec::new();
        for c in t.contributors.drain(..) {
            match merged
                .iter_mut()
                .find(|m| m.name == c.name && m.isni == c.isni)
            {
                Some(m) => {
                    for role in c.roles {
                        if !m.roles.contains(&role) {
                            m.roles.push(role);
                        }
                    }
                    m.roles.sort();
                }
                None => merged.push(c),
            }
        }
        merged.sort_by(|a, b| a.name.cmp(&b.name));
        t.contributors = merged;
    }
}

#[test]
fn property_ern43() {
    property(Version::V43)
}
#[test]
fn property_ern432() {
    property(Version::V432)
}
#[test]
fn property_ern382() {
    property(Version::V382)
}

#[test]
fn the_same_inputs_give_the_same_bytes_and_only_the_inputs_change_them() {
    let r = album(12);
    let files = facts(&r);
    for v in Version::WRITABLE {
        let a = write(&compose(&r, &input(v, &r, &files, Intent::New)).0, v).unwrap();
        let b = write(&compose(&r, &input(v, &r, &files, Intent::New)).0, v).unwrap();
        assert_eq!(a, b, "ERN {v}: deterministic");
        let mut later = input(v, &r, &files, Intent::New);
        later.created = "2026-11-27T09:30:00+00:00".into();
        let c = write(&compose(&r, &later).0, v).unwrap();
        let (a, c) = (String::from_utf8(a).unwrap(), String::from_utf8(c).unwrap());
        let differing: Vec<(&str, &str)> =
            a.lines().zip(c.lines()).filter(|(x, y)| x != y).collect();
        assert_eq!(
            differing.len(),
            1,
            "ERN {v}: only the creation time differs: {differing:?}"
        );
        assert!(differing[0].1.contains("2026-11-27T09:30:00+00:00"));
    }
}
