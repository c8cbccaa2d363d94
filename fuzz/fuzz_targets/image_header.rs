//! A cover image (PNG or JPEG headers and pixels) never panics and decodes only within
//! the pixel and allocation limits.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = artwork::analyse_bytes(data, data.len() as u64);
});
