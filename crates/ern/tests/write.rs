//! The writer against the official XSDs: fixed releases, lifecycle messages, and a property
//! test over random releases for every version Liner writes.

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
