//! A DSR file (behind the same guard as an import) never panics or runs away.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let guard = dsr::Guarded::new(data, "DSR_X_Y_Basic_2026-10_WW_1of1_20261103T100000.tsv", dsr::GuardLimits::plain(64 << 10));
    let mut reader = dsr::ReportReader::new();
    let mut lines = 0u64;
    let _ = reader.read_file(
        "DSR_PADPIDA0000000002_PADPIDA0000000001_Basic_2026-10_WW_1of1_20261103T100000.tsv",
        std::io::BufReader::new(guard),
        &mut |_| lines += 1,
    );
    let info = reader.finish();
    let _ = info.totals();
    let _ = info.refused(false);
});
