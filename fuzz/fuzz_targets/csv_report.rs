//! A CSV sales report under a built-in layout never panics or runs away; the layout file
//! itself is fuzzed too (the first byte picks which).
#![no_main]
use libfuzzer_sys::fuzz_target;

const LAYOUT: &str = include_str!("../../deploy/report-formats/apple.toml");

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    if which == 0 {
        if let Ok(text) = std::str::from_utf8(rest) {
            let _ = report_csv::Layout::parse(text, std::path::Path::new("fuzz.toml"));
        }
        return;
    }
    let layout = report_csv::Layout::parse(LAYOUT, std::path::Path::new("apple.toml"))
        .expect("the built-in layout parses");
    let guard = dsr::Guarded::new(rest, "report.csv", dsr::GuardLimits::plain(64 << 10));
    let mut info = dsr::ReportInfo::default();
    let _ = report_csv::read(&layout, "report.csv", 0, guard, &mut info, &mut |_| {});
});
