//! Hostile and broken input: refused with line and column, never a panic. The mutation test
//! is also the fuzzing command (see docs/ern.md): ERN_FUZZ_CASES=200000 runs it for minutes.
#![allow(clippy::unwrap_used)]

mod support;

use ern::tree::Limits;
use proptest::prelude::*;

fn err(xml: &str) -> String {
    ern::read(xml.as_bytes()).expect_err("refused").to_string()
}

#[test]
fn entities_and_dtds_are_refused() {
    let laughs = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><ern:NewReleaseMessage xmlns:ern="http://ddex.net/xml/ern/43">&lol2;</ern:NewReleaseMessage>"#;
    assert!(
        err(laughs).contains("DOCTYPE is not allowed"),
        "{}",
        err(laughs)
    );
    let xxe = "<?xml version=\"1.0\"?>\n<!DOCTYPE x [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n<x>&xxe;</x>";
    let e = err(xxe);
    assert!(e.starts_with("line 2, column 1"), "{e}");
    let undefined = "<ern:NewReleaseMessage xmlns:ern=\"http://ddex.net/xml/ern/43\">\n  <MessageHeader>&xxe;</MessageHeader></ern:NewReleaseMessage>";
    assert!(
        err(undefined).contains("undefined entity &xxe;"),
        "{}",
        err(undefined)
    );
}

#[test]
fn malformed_messages_name_line_and_column() {
    let e = err(
        "<ern:NewReleaseMessage xmlns:ern=\"http://ddex.net/xml/ern/43\">\n<MessageHeader>\n</Oops>\n",
    );
    assert!(e.starts_with("line 3"), "{e}");
    let e = err("<ern:NewReleaseMessage xmlns:ern=\"http://ddex.net/xml/ern/99\"/>");
    assert!(e.contains("not an ERN version"), "{e}");
    let e = err("<a>");
    assert!(e.contains("not closed"), "{e}");
    let e = err("");
    assert!(e.contains("no root element"), "{e}");
}

#[test]
fn depth_and_size_are_limited() {
    let deep = format!("{}{}", "<a>".repeat(100), "</a>".repeat(100));
    let e = ern::read::read_with(deep.as_bytes(), Limits::default())
        .expect_err("too deep")
        .to_string();
    assert!(e.contains("nested deeper than 64"), "{e}");
    let small = Limits {
        max_bytes: 10,
        ..Limits::default()
    };
    let e = ern::read::read_with(b"<a>0123456789</a>", small)
        .expect_err("too big")
        .to_string();
    assert!(e.contains("limit is 10 bytes"), "{e}");
}

fn samples() -> Vec<Vec<u8>> {
    let Some(dir) = support::shared() else {
        return vec![];
    };
    let mut v: Vec<_> = std::fs::read_dir(dir.join("samples"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    v.sort();
    v.into_iter().map(|p| std::fs::read(p).unwrap()).collect()
}

#[test]
fn mutated_samples_never_panic() {
    let corpus = samples();
    if corpus.is_empty() {
        return;
    }
    let cases = std::env::var("ERN_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let defaults = ern::ImportDefaults {
        label_email: model::Email::parse("l@example.com").unwrap(),
        upc: None,
    };
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let strategy = (
        0..corpus.len(),
        proptest::collection::vec(
            (
                any::<prop::sample::Index>(),
                0u8..4,
                any::<u8>(),
                1usize..64,
            ),
            1..8,
        ),
    );
    runner
        .run(&strategy, |(which, edits)| {
            let mut bytes = corpus[which].clone();
            for (at, op, byte, len) in edits {
                if bytes.is_empty() {
                    break;
                }
                let i = at.index(bytes.len());
                match op {
                    0 => bytes[i] = byte, // flip a byte
                    1 => {
                        let end = (i + len).min(bytes.len());
                        bytes.drain(i..end);
                    } // cut
                    2 => {
                        let chunk = bytes[i..(i + len).min(bytes.len())].to_vec();
                        bytes.splice(i..i, chunk);
                    } // duplicate
                    _ => bytes.insert(i, b"<>&;\"'/ \n"[usize::from(byte) % 9]), // XML punctuation
                }
            }
            if let Ok((msg, _)) = ern::read(&bytes) {
                let _ = ern::checks::check(&msg);
                let _ = ern::to_release(&msg, &defaults);
                for v in ern::Version::WRITABLE {
                    let _ = ern::write(&msg, v);
                }
            }
            Ok(())
        })
        .expect("no panic");
}

/// Hardening defect 6: 300 000 attributes on one element used to run for minutes (quick-xml
/// compares every pair for duplicates). Now the count is capped and duplicates are found
/// through a set: refused at once, naming the limit and its setting.
#[test]
fn defect_06_attributes_per_element_are_capped_and_checked_linearly() {
    let ns = "http://ddex.net/xml/ern/43";
    let attrs: String = (0..300_000).map(|i| format!(" a{i}=\"x\"")).collect();
    let xml = format!("<ern:NewReleaseMessage xmlns:ern=\"{ns}\"{attrs}/>");
    let t = std::time::Instant::now();
    let e = ern::read(xml.as_bytes()).expect_err("refused").to_string();
    assert!(
        e.contains("at most 64 attributes") && e.contains("xml_attributes"),
        "{e}"
    );
    assert!(t.elapsed().as_secs() < 10, "took {:?}", t.elapsed());
    let e = ern::read(
        format!("<ern:NewReleaseMessage xmlns:ern=\"{ns}\" a=\"1\" b=\"2\" a=\"3\"/>").as_bytes(),
    )
    .expect_err("refused")
    .to_string();
    assert!(e.contains("\"a\" appears twice"), "{e}");
}
