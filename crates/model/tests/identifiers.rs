//! Property tests for the typed identifiers: every valid code round-trips through its text
//! form, and every single-character corruption of a check-digited code is rejected, except
//! the corruptions the standard's own algorithm provably cannot see (stated, and tested as
//! such, below).

use model::id::{gs1_check_digit, iswc_check_digit, mod11_2_check, mod37_36_check};
use model::{
    ContentHash, CountryCode, Currency, Dpid, Email, Grid, Icpn, Isni, Isrc, Iswc, LanguageTag,
};
use proptest::prelude::*;

const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
/// Characters a corruption may introduce: every printable ASCII character but the separators
/// that parsing strips on purpose (hyphen, space, dot).
fn corruption_chars() -> Vec<u8> {
    (0x21u8..0x7f)
        .filter(|c| !matches!(c, b'-' | b'.'))
        .collect()
}

fn digits(n: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(0u8..10, n)
        .prop_map(|v| v.into_iter().map(|d| (b'0' + d) as char).collect())
}

fn alnums(n: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(0usize..36, n)
        .prop_map(|v| v.into_iter().map(|i| ALNUM[i] as char).collect())
}

fn valid_gtin() -> impl Strategy<Value = String> {
    prop_oneof![Just(7usize), Just(11), Just(12), Just(13)]
        .prop_flat_map(digits)
        .prop_map(|body| {
            let c = gs1_check_digit(body.as_bytes());
            format!("{body}{}", c as char)
        })
}

fn valid_iswc() -> impl Strategy<Value = String> {
    digits(9).prop_map(|d| format!("T{d}{}", iswc_check_digit(d.as_bytes()) as char))
}

fn valid_isni() -> impl Strategy<Value = String> {
    digits(15).prop_map(|d| {
        format!(
            "{d}{}",
            mod11_2_check(d.as_bytes()).expect("digits") as char
        )
    })
}

fn valid_grid() -> impl Strategy<Value = String> {
    alnums(17).prop_map(|d| {
        format!(
            "{d}{}",
            mod37_36_check(d.as_bytes()).expect("alnum") as char
        )
    })
}

/// Every way of replacing one character of `code` by another character.
fn single_corruptions(code: &str) -> Vec<(usize, u8, String)> {
    let mut out = Vec::new();
    for i in 0..code.len() {
        for c in corruption_chars() {
            let orig = code.as_bytes()[i];
            if c == orig || c.to_ascii_uppercase() == orig {
                continue; // not a corruption: parsing is case-insensitive on purpose
            }
            let mut b = code.as_bytes().to_vec();
            b[i] = c;
            out.push((i, c, String::from_utf8(b).expect("ascii")));
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn icpn_round_trips_and_rejects_every_single_corruption(code in valid_gtin()) {
        let id = Icpn::parse(&code).expect("valid GTIN");
        prop_assert_eq!(id.as_str(), code.as_str());
        prop_assert_eq!(Icpn::parse(&id.to_string()), Ok(id));
        for (i, c, bad) in single_corruptions(&code) {
            prop_assert!(Icpn::parse(&bad).is_err(), "{} accepted after setting position {} to {:?}", bad, i, c as char);
        }
    }

    #[test]
    fn isni_round_trips_and_rejects_every_single_corruption(code in valid_isni()) {
        let id = Isni::parse(&code).expect("valid ISNI");
        prop_assert_eq!(Isni::parse(&id.to_string()), Ok(id.clone()));
        let spaced = format!("{} {} {} {}", &code[..4], &code[4..8], &code[8..12], &code[12..]);
        prop_assert_eq!(Isni::parse(&spaced), Ok(id));
        for (i, c, bad) in single_corruptions(&code) {
            prop_assert!(Isni::parse(&bad).is_err(), "{} accepted after setting position {} to {:?}", bad, i, c as char);
        }
    }

    #[test]
    fn grid_round_trips_and_rejects_every_single_corruption(code in valid_grid()) {
        let id = Grid::parse(&code).expect("valid GRid");
        prop_assert_eq!(Grid::parse(&id.to_string()), Ok(id.clone()));
        let hyphenated = format!("{}-{}-{}-{}", &code[..2], &code[2..7], &code[7..17], &code[17..]);
        prop_assert_eq!(Grid::parse(&hyphenated), Ok(id));
        for (i, c, bad) in single_corruptions(&code) {
            prop_assert!(Grid::parse(&bad).is_err(), "{} accepted after setting position {} to {:?}", bad, i, c as char);
        }
    }

    /// ISWC weights digit i by i (1..9) mod 10, so a change by d at position i is invisible
    /// exactly when i*d ≡ 0 (mod 10). Every other corruption, every non-digit, and every
    /// change of the check digit itself must be refused.
    #[test]
    fn iswc_round_trips_and_rejects_every_detectable_corruption(code in valid_iswc()) {
        let id = Iswc::parse(&code).expect("valid ISWC");
        prop_assert_eq!(Iswc::parse(&id.hyphenated()), Ok(id.clone()));
        prop_assert_eq!(Iswc::parse(&id.to_string()), Ok(id));
        for (i, c, bad) in single_corruptions(&code) {
            let orig = code.as_bytes()[i];
            let invisible = (1..=9).contains(&i) && c.is_ascii_digit() && {
                let d = (i64::from(c) - i64::from(orig)).rem_euclid(10);
                (i as i64 * d) % 10 == 0
            };
            if invisible {
                prop_assert!(Iswc::parse(&bad).is_ok(), "the ISWC algorithm cannot see this change; if it is now refused the algorithm changed");
            } else {
                prop_assert!(Iswc::parse(&bad).is_err(), "{} accepted after setting position {} to {:?}", bad, i, c as char);
            }
        }
    }

    #[test]
    fn isrc_round_trips_in_both_forms(cc in prop::sample::select(vec!["US", "GB", "JP", "DE", "FR", "QM", "QZ"]),
                                      reg in alnums(3), year in digits(2), des in digits(5)) {
        let code = format!("{cc}{reg}{year}{des}");
        let id = Isrc::parse(&code).expect("valid ISRC");
        prop_assert_eq!(id.as_str(), code.as_str());
        prop_assert_eq!(Isrc::parse(&id.hyphenated()), Ok(id.clone()));
        prop_assert_eq!(Isrc::parse(&code.to_lowercase()), Ok(id));
        // ISRC has no check digit, so only shape corruptions can be refused.
        let mut b = code.clone().into_bytes();
        b[7] = b'A';
        prop_assert!(Isrc::parse(std::str::from_utf8(&b).expect("ascii")).is_err());
    }
}

#[test]
fn published_examples_parse() {
    assert!(
        Icpn::parse("036000291452").is_ok(),
        "UPC-A example from GS1"
    );
    assert!(Icpn::parse("4006381333931").is_ok(), "EAN-13 example");
    assert!(Icpn::parse("036000291453").is_err());
    assert_eq!(
        Iswc::parse("T-034.524.680-1").map(|i| i.to_string()),
        Ok("T0345246801".into())
    );
    assert!(Iswc::parse("T-034.524.680-2").is_err());
    assert!(Isni::parse("0000 0001 2103 2683").is_ok(), "ISNI example");
    assert!(
        Isni::parse("0000 0002 1825 0097").is_ok(),
        "ORCID-style example with the same algorithm"
    );
    assert!(Isni::parse("0000 0001 2103 2684").is_err());
    assert!(
        Grid::parse("A1-2425G-ABC1234002-M").is_ok(),
        "GRid handbook example"
    );
    assert!(Grid::parse("A1-2425G-ABC1234002-N").is_err());
    assert_eq!(
        Isrc::parse("US-RC1-76-07839").map(|i| i.to_string()),
        Ok("USRC17607839".into())
    );
    assert!(Isrc::parse("XXRC17607839").is_err(), "XX is no country");
    assert!(Isrc::parse("USRC1760783").is_err(), "11 characters");
    assert!(Dpid::parse("PADPIDA2014111801Y").is_ok());
    assert!(Dpid::parse("PADPIDB2014111801Y").is_err());
    assert!(CountryCode::parse("gb").is_ok());
    assert!(
        CountryCode::parse("UK").is_err(),
        "UK is an ISRC prefix, not an ISO 3166 code"
    );
    assert_eq!(
        LanguageTag::parse("ja_jpan").map(|l| l.to_string()),
        Ok("ja-Jpan".into())
    );
    assert_eq!(
        LanguageTag::parse("sr-latn-rs").map(|l| l.to_string()),
        Ok("sr-Latn-RS".into())
    );
    assert!(LanguageTag::parse("xx").is_err());
    assert!(LanguageTag::parse("en-XX").is_err());
    assert!(Email::parse("label@example.com").is_ok());
    assert!(Email::parse("label@example").is_err());
    assert!(Email::parse("no at sign").is_err());
    assert!(Currency::parse("EUR").is_ok());
    assert!(ContentHash::parse(&format!("sha256:{}", "a".repeat(64))).is_ok());
    assert!(ContentHash::parse(&format!("sha256:{}", "g".repeat(64))).is_err());
}
