//! The real DSR samples (ddexnet/dsrf test data, ../shared/reports/samples) and reports our
//! writer produces, read back through the checking reader.

use std::io::BufReader;
use std::path::{Path, PathBuf};

use dsr::read::{ReportReader, Severity};
use dsr::write::{Context, Head, Sale, Track, escape, write_basic_audio};
use model::Fine;

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reports/samples")
}

fn read(names: &[&str]) -> (dsr::ReportInfo, Vec<(String, i64)>) {
    let mut r = ReportReader::new();
    let mut seen = Vec::new();
    for n in names {
        let path = samples().join(n);
        let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let input: Box<dyn std::io::Read> = if n.ends_with(".gz") {
            Box::new(flate2_free_gunzip(file))
        } else {
            Box::new(file)
        };
        r.read_file(n, BufReader::new(input), &mut |u| {
            seen.push((u.isrc.to_owned(), u.units))
        })
        .expect("read");
    }
    (r.finish(), seen)
}

// The pure crate has no gzip; the test decompresses with the system's gzip.
fn flate2_free_gunzip(file: std::fs::File) -> std::io::Cursor<Vec<u8>> {
    let out = std::process::Command::new("gzip")
        .arg("-dc")
        .stdin(file)
        .output()
        .expect("gzip");
    std::io::Cursor::new(out.stdout)
}

fn messages(info: &dsr::ReportInfo) -> Vec<String> {
    info.findings.iter().map(|f| f.to_string()).collect()
}

#[test]
fn youtube_ugc_sample_is_read_and_refused_for_its_duplicated_summary_ids_and_money() {
    let n = "DSR_TEST_YouTube_AdSupport-music_2015-Q4_IS_1of1_20160121T150926.tsv";
    let (info, seen) = read(&[n]);
    let m = messages(&info);
    // FOOT 35 35 4 3 3 is right for this file: no count finding.
    assert!(!m.iter().any(|s| s.contains("NumberOf")), "{m:#?}");
    assert_eq!(info.lines, 35);
    assert_eq!(info.blocks, 3);
    assert_eq!(info.header.message_id, "1453417766009915");
    assert_eq!(info.header.profile, "UGCProfile");
    // Four SY02.01 rows share SummaryRecordId 1.
    assert!(
        m.iter()
            .any(|s| s.contains(":11: SY02.01: SummaryRecordId \"1\" is already used by line 10")),
        "{m:#?}"
    );
    // Six SU03.01 lines, matched through their block's AS01 to an ISRC.
    assert_eq!(seen.len(), 6, "{seen:?}");
    assert_eq!(seen[0], ("USSM19803037".to_owned(), 7810));
    assert!(info.refused(false));
    assert!(
        m.iter().any(|s| s.starts_with("money:")
            && s.contains("usage lines add up to 10210 usages, the summary says 537927")),
        "{m:#?}"
    );
}

#[test]
fn youtube_sample_with_a_wrong_footer_is_refused_with_the_count() {
    let n = "DSR_TEST2_YouTube_AdSupport-music_2015-Q4_IS_1of1_20160121T150926.tsv";
    let (info, _) = read(&[n]);
    let m = messages(&info);
    assert!(
        m.iter()
            .any(|s| s.contains(":34: FOOT: NumberOfLinesInFile says 35, the file has 34")),
        "{m:#?}"
    );
    assert!(
        info.refused(true),
        "a count error refuses even when money is tolerated"
    );
}

#[test]
fn the_two_part_sample_repeats_block_one_and_is_refused() {
    let (info, _) = read(&[
        "DSR_PADPIDA2014999999Z_PADPIDA2014111801Y_AdSupport_2015-02_AU_1of2_20150723T092522.tsv",
        "DSR_PADPIDA2014999999Z_PADPIDA2014111801Y_AdSupport_2015-02_AU_2of2_20150723T092522.tsv",
    ]);
    let m = messages(&info);
    assert!(
        m.iter().any(|s| s.contains(
            "2of2_20150723T092522.tsv:5: RE01: BlockId 1 was used before in this report"
        )),
        "{m:#?}"
    );
    assert!(info.refused(true));
}

#[test]
fn legacy_and_old_layout_samples_are_refused_with_precise_reasons() {
    for n in [
        "DSR_PADPIDA2014999999Z_PADPIDA2014111801Y_AdSupport_2015-02_AU_1of1_20140617T092522.tsv",
        "DSR_PADPIDA2014999999Z_PADPIDA2014111801Y_AdSupport_2015-02_AU_1of1_20150723T092522.tsv",
        "test_file_parser.tsv",
        "test_file_parser.tsv.gz",
    ] {
        let (info, _) = read(&[n]);
        let m = messages(&info);
        assert!(info.refused(true), "{n}: {m:#?}");
        assert!(
            m.iter()
                .any(|s| s.contains(": NumberOfLinesInFile says 123, the file has 7")),
            "{n}: {m:#?}"
        );
    }
    // The escaped pipe of the legacy file is read as a literal `|`, in the lenient form.
    let (info, _) = read(&["test_file_parser.tsv"]);
    assert_eq!(info.escapes.lenient, 1);
}

fn fixture_report(files: u32, sales: Vec<Sale>) -> Vec<(String, Vec<u8>)> {
    let head = Head {
        message_id: "MSG-1".into(),
        created: "2026-11-03T10:00:00Z".into(),
        usage_start: "2026-10-01".into(),
        usage_end: "2026-10-31".into(),
        sender_dpid: "PADPIDA0000000001".into(),
        sender_name: "Mock | DSP".into(),
        recipient_dpid: "PADPIDA0000000002".into(),
        recipient_name: "Liner".into(),
        service: "Premium".into(),
        period: "2026-10".into(),
        territory: "WW".into(),
        created_compact: "20261103T100000".into(),
        gzip: false,
    };
    let contexts = vec![
        Context {
            commercial_model: "SubscriptionModel".into(),
            use_type: "OnDemandStream".into(),
            territory: "FR".into(),
            currency: "EUR".into(),
            amount: Fine::parse("12.3456789").expect("amount"),
        },
        Context {
            commercial_model: "AdvertisementSupportedModel".into(),
            use_type: "OnDemandStream".into(),
            territory: "US".into(),
            currency: "USD".into(),
            amount: Fine::parse("0.5").expect("amount"),
        },
    ];
    let tracks = vec![
        Track {
            isrc: "FRZ032600001".into(),
            icpn: "196543210010".into(),
            title: "Tab\there | pipe \\ slash".into(),
            artist: "Nova".into(),
            dsp_resource_id: "r1".into(),
            dsp_release_id: "a1".into(),
        },
        Track {
            isrc: "FRZ032600002".into(),
            icpn: "196543210010".into(),
            title: "Two".into(),
            artist: "Nova".into(),
            dsp_resource_id: "r2".into(),
            dsp_release_id: "a1".into(),
        },
    ];
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    let mut bufs: Vec<std::rc::Rc<std::cell::RefCell<Vec<u8>>>> = Vec::new();
    let names = write_basic_audio(
        &head,
        &contexts,
        &tracks,
        &|| Box::new(sales.clone().into_iter()),
        files,
        &mut |_n| {
            let b = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
            bufs.push(b.clone());
            Ok(Shared(b))
        },
    )
    .expect("write");
    for (n, b) in names.iter().zip(bufs) {
        out.push((n.render(), b.borrow().clone()));
    }
    out
}

struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);
impl std::io::Write for Shared {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn read_bytes(files: &[(String, Vec<u8>)]) -> (dsr::ReportInfo, Vec<(String, String, i64, usize)>) {
    let mut r = ReportReader::new();
    let mut seen = Vec::new();
    for (n, b) in files {
        r.read_file(n, &b[..], &mut |u| {
            seen.push((u.isrc.to_owned(), u.title.to_owned(), u.units, u.summary))
        })
        .expect("read");
    }
    (r.finish(), seen)
}

#[test]
fn written_reports_read_back_clean_in_one_or_several_files() {
    let sales = vec![
        Sale {
            track: 0,
            context: 0,
            streams: 100,
        },
        Sale {
            track: 0,
            context: 1,
            streams: 7,
        },
        Sale {
            track: 1,
            context: 0,
            streams: 50,
        },
    ];
    for files in [1, 2] {
        let report = fixture_report(files, sales.clone());
        assert_eq!(report.len(), files as usize);
        let (info, seen) = read_bytes(&report);
        assert!(info.findings.is_empty(), "{:#?}", info.findings);
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[0].1, "Tab\there | pipe \\ slash", "escapes round-trip");
        assert_eq!(info.summary_units, vec![150, 7]);
        assert_eq!(
            info.totals().get("EUR").map(|f| f.to_decimal()),
            Some("12.3456789".into())
        );
        assert_eq!(info.escapes.spec, 1);
    }
}

#[test]
fn tampered_reports_are_caught_line_by_line() {
    let sales = vec![
        Sale {
            track: 0,
            context: 0,
            streams: 100,
        },
        Sale {
            track: 1,
            context: 1,
            streams: 3,
        },
    ];
    let report = fixture_report(1, sales);
    let text = String::from_utf8(report[0].1.clone()).expect("utf8");
    let name = report[0].0.clone();
    let cases: Vec<(String, &str)> = vec![
        (
            text.replacen("\ttrue\t100\t", "\ttrue\t101\t", 1),
            "usage lines add up to 101 usages, the summary says 100",
        ),
        (
            text.replacen("SU02\t2\tS2", "SU02\t2\tS9", 1),
            "SummaryRecordId \"S9\" resolves to no summary record",
        ),
        (
            text.replacen("\nFOOT\t", "\nFOOT\t1", 1),
            "NumberOfLinesInFile says 1",
        ),
        (
            text.replacen("SU02\t2\tS2\tT2\t\tA1", "SU02\t2\tS2\tT2\t\tA7", 1),
            "resource \"A7\" which block 2 does not describe",
        ),
        (
            text.replacen("RE01\t2", "RE01\t1", 1)
                .replacen("AS01.01\t2", "AS01.01\t1", 1)
                .replacen("SU02\t2", "SU02\t1", 1),
            "NumberOfBlocksInFile says 2, the file has 1",
        ),
        (
            text.replacen("\t12.3456789\t", "\t12.3.4\t", 1),
            "NetRevenue \"12.3.4\" is not a decimal amount",
        ),
    ];
    for (t, want) in cases {
        let (info, _) = read_bytes(&[(name.clone(), t.into_bytes())]);
        let m = messages(&info);
        assert!(
            m.iter().any(|s| s.contains(want)),
            "want {want:?} in {m:#?}"
        );
        assert!(info.refused(false));
    }
}

#[test]
fn escape_round_trips() {
    let s = "a\\|b|c\td\\";
    let e = escape(s);
    assert!(!e.contains('\t') || e.contains("\\\t"));
    let line = format!("AS01.01\t1\tA1\tr\tFRZ032600001\t{e}\t\tx\t\t\tSoundRecording\ttrue\n");
    let mut r = ReportReader::new();
    let _ = r.read_file("x.tsv", line.as_bytes(), &mut |_| {});
    let _ = Severity::Warning;
}

fn two_track_report() -> (String, String) {
    let sales = vec![
        Sale {
            track: 0,
            context: 0,
            streams: 100,
        },
        Sale {
            track: 1,
            context: 1,
            streams: 3,
        },
    ];
    let report = fixture_report(1, sales);
    (
        report[0].0.clone(),
        String::from_utf8(report[0].1.clone()).expect("utf8"),
    )
}

/// Hardening defect 9: usage totals were summed with wrapping arithmetic, so three lines of
/// i64::MAX, i64::MAX and 102 streams "added up" to a summary's 100. Now the sum is checked
/// and the overflow is a refusal at its line.
#[test]
fn defect_09_report_sums_are_checked_not_wrapped() {
    let (name, text) = two_track_report();
    let line = text
        .lines()
        .find(|l| l.contains("\ttrue\t100\t"))
        .expect("the 100-stream line")
        .to_owned();
    let big = |n: &str| line.replacen("\ttrue\t100\t", &format!("\ttrue\t{n}\t"), 1);
    let max = i64::MAX.to_string();
    let crafted = text.replacen(&line, &[big(&max), big(&max), big("102")].join("\n"), 1);
    let (info, _) = read_bytes(&[(name, crafted.into_bytes())]);
    let m = messages(&info);
    assert!(
        m.iter().any(|s| s.contains("add up past")),
        "want an overflow refusal in {m:#?}"
    );
    assert!(info.refused(false));
}

/// Hardening defect 13: unknown record types were skipped silently, a short record read as
/// if whole, a NUL byte stored in a title, negative streams accepted.
#[test]
fn defect_13_dsr_validation_gaps_are_reported() {
    let (name, text) = two_track_report();
    let su = text
        .lines()
        .find(|l| l.contains("\ttrue\t100\t"))
        .expect("the 100-stream line")
        .to_owned();
    // An unknown record type in a block, and an RE01 cut to 3 cells: warnings, said once.
    let block = su.split('\t').nth(1).expect("block id").to_owned();
    let unknown = text.replacen(&su, &format!("ZZ01\t{block}\tx\n{su}"), 1);
    let (info, _) = read_bytes(&[(name.clone(), unknown.into_bytes())]);
    let m = messages(&info);
    assert!(
        m.iter()
            .any(|s| s.starts_with("warning")
                && s.contains("record type ZZ01 is not one Liner reads")),
        "{m:#?}"
    );
    let re = text
        .lines()
        .find(|l| l.starts_with("RE01"))
        .expect("RE01")
        .to_owned();
    let short: String = re.split('\t').take(3).collect::<Vec<_>>().join("\t");
    let (info, _) = read_bytes(&[(name.clone(), text.replacen(&re, &short, 1).into_bytes())]);
    let m = messages(&info);
    assert!(
        m.iter()
            .any(|s| s.starts_with("warning") && s.contains("RE01 has 3 of its")),
        "{m:#?}"
    );
    // A NUL in a title: refused, not stored.
    let as_line = text
        .lines()
        .find(|l| l.starts_with("AS0"))
        .expect("AS")
        .to_owned();
    let nul = as_line.replacen("Tab", "T\0ab", 1);
    assert_ne!(nul, as_line);
    let (info, _) = read_bytes(&[(name.clone(), text.replacen(&as_line, &nul, 1).into_bytes())]);
    let m = messages(&info);
    assert!(
        m.iter().any(|s| s.contains("control character (U+0000)")),
        "{m:#?}"
    );
    assert!(info.refused(false));
    // Negative streams: refused (allocation would give 0 and spread the money elsewhere).
    let neg = su.replacen("\ttrue\t100\t", "\ttrue\t-100\t", 1);
    let (info, _) = read_bytes(&[(name, text.replacen(&su, &neg, 1).into_bytes())]);
    let m = messages(&info);
    assert!(
        m.iter().any(|s| s.contains("\"-100\" is negative")),
        "{m:#?}"
    );
    assert!(info.refused(false));
}
