//! Statements for people add up on the page: random ledgers, rendered to HTML and CSV, every
//! shown column sums to its shown total and the summary to the closing balance, to the minor
//! unit; no amount has more places than its currency; no "-0".
#![allow(clippy::unwrap_used)]

use model::Fine;
use proptest::prelude::*;
use royalties::posting::{Dims, Entry};
use royalties::statement::{Names, Posted, Statement, TrackName};

/// The amounts in one HTML table (by id): body rows' last cell per column, and the footer.
fn table(html: &str, id: &str) -> (Vec<Vec<String>>, Vec<String>) {
    let start = html.find(&format!("<table id=\"{id}\"")).unwrap();
    let end = start + html[start..].find("</table>").unwrap();
    let t = &html[start..end];
    let cells = |row: &str| -> Vec<String> {
        row.split("class=\"n\"")
            .skip(1)
            .map(|c| {
                let c = c.trim_start_matches(" id=\"closing\"");
                c[1..c.find('<').unwrap()].to_owned()
            })
            .collect()
    };
    let body_at = t.find("<tbody>").unwrap();
    let (body, foot) = match t.find("<tfoot>") {
        Some(f) => (&t[body_at..f], &t[f..]),
        None => (&t[body_at..], ""),
    };
    let rows = body
        .split("<tr>")
        .skip(1)
        .map(cells)
        .filter(|c| !c.is_empty())
        .collect();
    (rows, cells(foot))
}

/// Parses a shown amount back to minor units, checking its form on the way.
fn parse_shown(s: &str, places: u32) -> i128 {
    assert!(
        !s.starts_with("-0") || s.contains(|c: char| ('1'..='9').contains(&c)),
        "negative zero: {s}"
    );
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let digits: String = body.chars().filter(|c| *c != ',').collect();
    let (w, f) = digits.split_once('.').unwrap_or((&digits, ""));
    assert_eq!(
        f.len() as u32,
        places,
        "{s} has {} places, the currency {places}",
        f.len()
    );
    let v: i128 = format!("{w}{f}").parse().unwrap();
    if neg { -v } else { v }
}

fn sum_column(rows: &[Vec<String>], col: usize, places: u32) -> i128 {
    rows.iter().map(|r| parse_shown(&r[col], places)).sum()
}

#[derive(Debug, Clone)]
struct Line {
    dsp: usize,
    country: usize,
    track: usize,
    period: usize,
    gross_e12: i64,
    fee_bp: i64,
    units: i64,
}

fn line() -> impl Strategy<Value = Line> {
    (
        0usize..3,
        0usize..4,
        0usize..5,
        0usize..3,
        -2_000_000_000_000i64..50_000_000_000_000,
        0i64..3000,
        0i64..10_000,
    )
        .prop_map(
            |(dsp, country, track, period, gross_e12, fee_bp, units)| Line {
                dsp,
                country,
                track,
                period,
                gross_e12,
                fee_bp,
                units,
            },
        )
}

const PERIODS: [&str; 3] = ["2026-09", "2026-10", "2026-11"];

fn posted(lines: &[Line], currency: &str, exp: u8, close: &[(usize, i64, &str)]) -> Vec<Posted> {
    let dsps = ["spotify", "deezer", "apple-music"];
    let countries = ["US", "JP", "DE", "KW"];
    let mut out = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        // Amounts with up to 12 decimals, as DSP lines have.
        let gross = Fine(i128::from(l.gross_e12) * 1_000_000);
        let amount = Fine(gross.0 * i128::from(10_000 - l.fee_bp) / 10_000);
        out.push(Posted {
            tx: i as i64 + 1,
            kind: "import".into(),
            period: PERIODS[l.period].into(),
            entry: Entry {
                account: "payee:p".into(),
                currency: currency.into(),
                amount,
                units: l.units,
                dims: Dims {
                    dsp: dsps[l.dsp].into(),
                    territory: countries[l.country].into(),
                    usage_period: PERIODS[l.period].into(),
                    commercial_model: "SubscriptionModel".into(),
                    rights_type: String::new(),
                    isrc: format!("QZABC26000{:02}", l.track),
                    upc: "196543210010".into(),
                    source: "sha256:ab:1".into(),
                },
                formula: format!("{gross} × fee"),
                gross,
            },
        });
    }
    // Closing entries in minor units (reserve held, tax, payout).
    for (k, (period, minor, formula)) in close.iter().enumerate() {
        out.push(Posted {
            tx: 10_000 + k as i64,
            kind: if formula.starts_with("payout") {
                "payout"
            } else {
                "close"
            }
            .into(),
            period: PERIODS[*period].into(),
            entry: Entry {
                account: "payee:p".into(),
                currency: currency.into(),
                amount: Fine::from_minor(*minor, exp),
                units: 0,
                dims: Dims::default(),
                formula: (*formula).into(),
                gross: Fine::ZERO,
            },
        });
    }
    out
}

fn names() -> Names {
    let mut n = Names::default();
    n.dsps.insert("spotify".into(), "Spotify".into());
    n.countries.insert("JP".into(), "Japan".into());
    n.tracks.insert(
        "QZABC2600001".into(),
        TrackName {
            title: "Night & Day".into(),
            version: Some("Live".into()),
            artist: "Kai <Sato>".into(),
        },
    );
    n
}

fn check(s: &Statement) {
    let places = u32::from(s.exponent);
    let html = s.html(&names());
    // The summary adds up to the closing balance.
    let (rows, foot) = table(&html, "summary");
    assert_eq!(
        sum_column(&rows, 0, places),
        parse_shown(&foot[0], places),
        "summary"
    );
    // The income breakdown adds up to the income, and equals the summary's income row.
    let (rows, foot) = table(&html, "income");
    let income = parse_shown(&foot[0], places);
    assert_eq!(sum_column(&rows, 0, places), income, "income breakdown");
    let (srows, _) = table(&html, "summary");
    assert_eq!(parse_shown(&srows[1][0], places), income);
    // Per track, per DSP and country, and per line: each amount column to its total; the
    // totals agree (income from sales), and the lines' before-fee column to the gross.
    let gross = parse_shown(&rows[0][0], places);
    let fee = parse_shown(&rows[1][0], places);
    for id in ["tracks", "dsps"] {
        let (rows, foot) = table(&html, id);
        assert_eq!(
            sum_column(&rows, 0, 0),
            parse_shown(&foot[0], 0),
            "{id} units"
        );
        assert_eq!(
            sum_column(&rows, 1, places),
            parse_shown(&foot[1], places),
            "{id}"
        );
        assert_eq!(
            parse_shown(&foot[1], places),
            gross + fee,
            "{id} = income from sales"
        );
    }
    let (rows, foot) = table(&html, "lines");
    assert_eq!(
        sum_column(&rows, 1, places),
        parse_shown(&foot[1], places),
        "lines before fee"
    );
    assert_eq!(parse_shown(&foot[1], places), gross);
    assert_eq!(
        sum_column(&rows, 2, places),
        parse_shown(&foot[2], places),
        "lines"
    );
    for z in [">-0<", ">-0.00<", ">-0.000<"] {
        assert!(!html.contains(z), "negative zero");
    }
    // The people's CSV shows the same figures.
    let csv = s.csv(&names());
    let closing = csv
        .lines()
        .find(|l| l.starts_with("Closing balance,"))
        .unwrap();
    assert_eq!(
        parse_shown(closing.split(',').nth(1).unwrap(), places),
        parse_shown(&table(&html, "summary").1[0].replace(',', ""), places)
    );
    // The machine CSV keeps exact amounts.
    assert!(s.lines_csv().contains(&s.income.to_decimal()));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn every_shown_column_adds_up(
        lines in proptest::collection::vec(line(), 0..40),
        currency in prop_oneof![Just(("USD", 2u8)), Just(("JPY", 0u8)), Just(("KWD", 3u8))],
        reserve in 0i64..5000,
        tax in 0i64..3000,
        paid in 0i64..100_000,
    ) {
        let (cur, exp) = currency;
        let close = [
            (1usize, -reserve, "held in reserve"),
            (2, -tax, "withholding 10%"),
            (2, -paid, "payout LINER-1"),
        ];
        let posted = posted(&lines, cur, exp, &close);
        for period in PERIODS {
            let s = Statement::build("p", "Payee & Co", cur, exp, period, &posted);
            prop_assert!(s.adds_up());
            check(&s);
        }
    }
}

#[test]
fn lines_are_named_for_people() {
    let l = Line {
        dsp: 0,
        country: 1,
        track: 1,
        period: 0,
        gross_e12: 1_354_742_366_832_000,
        fee_bp: 1500,
        units: 12,
    };
    let posted = posted(&[l], "JPY", 0, &[]);
    let s = Statement::build("p", "P", "JPY", 0, "2026-09", &posted);
    let html = s.html(&names());
    assert!(
        html.contains("Night &amp; Day (Live) — Kai &lt;Sato&gt;"),
        "{html}"
    );
    assert!(html.contains("<td>Spotify</td><td>Japan</td>"));
    assert!(html.contains("1,152"), "JPY rounded, grouped: {html}");
    assert!(!html.contains("1151.53"), "no raw decimals");
    assert!(html.contains("Preview."), "an open period says so");
    let s = s.closed(true);
    assert!(!s.html(&names()).contains("Preview."));
}
