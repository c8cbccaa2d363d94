//! A release document (TOML or JSON, chosen by the first byte) never panics or runs away.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let name = if kind & 1 == 0 { "r.toml" } else { "r.json" };
    let _ = intake::parse_document(std::path::Path::new(name), text);
});
