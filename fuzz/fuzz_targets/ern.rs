//! An ERN message never panics or runs away in the reader, nor in the import to a release.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((msg, _)) = ern::read(data) {
        let defaults = ern::ImportDefaults {
            label_email: model::Email::parse("labels@liner.invalid").expect("valid"),
            upc: None,
        };
        let _ = ern::checks::check(&msg);
        let _ = ern::to_release(&msg, &defaults);
    }
});
