//! A WAV or FLAC file (headers, then whatever follows) never panics: analysis gives a
//! report, with what is wrong in it. The file goes through a temp file, as masters do.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("liner-fuzz-audio-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("input");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let report = audio::analyse(&path);
    assert!(!report.unreadable.as_deref().is_some_and(|u| u.contains("crashed")), "{:?}", report.unreadable);
});
