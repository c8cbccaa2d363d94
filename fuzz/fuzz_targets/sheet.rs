//! A CSV release sheet never panics or runs away; bytes that are not UTF-8 are refused with
//! the encoding named.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match intake::decode_text(data.to_vec()) {
        Ok(text) => {
            let _ = intake::parse_sheet(std::path::Path::new("sheet.csv"), &text);
        }
        Err((_, why)) => assert!(why.contains("UTF-8")),
    }
});
