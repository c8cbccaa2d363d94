//! The postings of money coming in: a matched aggregate of usage is split into the
//! distributor's fee and the payees' shares (converted into each payee's currency at a
//! recorded rate), an unmatched one goes to suspense. Every list returned sums to zero per
//! currency: that is checked here, not left to convention.

use std::collections::BTreeMap;

use model::Fine;
use serde::Serialize;

use crate::alloc::allocate;

/// Where a posting's money came from and what it is for: the aggregation key of the ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Dims {
    pub dsp: String,
    pub territory: String,
    pub usage_period: String,
    pub commercial_model: String,
    pub rights_type: String,
    pub isrc: String,
    pub upc: String,
    /// The report file (content hash) and line numbers behind the posting.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    pub account: String,
    pub currency: String,
    pub amount: Fine,
    pub units: i64,
    pub dims: Dims,
    /// How the amount was worked out, shown on statements (`USD 1.20 × 85% × 70% × 0.79`).
    pub formula: String,
    /// On a payee's or label's income: their share before the distributor's fee, in the
    /// entry's currency, so statements show gross, fee and net. Zero on other entries.
    pub gross: Fine,
}

/// An exchange rate as an exact fraction (`0.7912` = 7912/10000), with its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rate {
    pub num: i128,
    pub den: i128,
    pub text: String,
    pub source: String,
}

impl Rate {
    pub fn parse(text: &str, source: &str) -> Option<Rate> {
        let f = Fine::parse(text).ok()?;
        if f.0 <= 0 {
            return None;
        }
        // Reduce by powers of ten so amount × num stays far from overflow.
        let (mut num, mut den) = (f.0, model::FINE_ONE);
        while num % 10 == 0 && den % 10 == 0 {
            num /= 10;
            den /= 10;
        }
        Some(Rate {
            num,
            den,
            text: f.to_decimal(),
            source: source.to_owned(),
        })
    }

    /// Converts exactly to the fine scale, cutting toward zero below 10^-18.
    pub fn convert(&self, amount: Fine) -> Option<Fine> {
        amount.0.checked_mul(self.num).map(|v| Fine(v / self.den))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostingError {
    #[error(
        "no {from}→{to} exchange rate for {period}: record one with `liner fx import` (payee {payee} is paid in {to})"
    )]
    NoRate {
        from: String,
        to: String,
        period: String,
        payee: String,
    },
    #[error("payee {0:?} is named in a split but not in the catalog's payees")]
    UnknownPayee(String),
    #[error("amount too large to allocate exactly: {0}")]
    Overflow(String),
}

/// One payee's share of a track.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Share {
    pub payee: String,
    pub basis_points: u32,
}

/// Money for a matched track or release in one sales context.
#[derive(Debug, Clone)]
pub struct Income {
    pub dims: Dims,
    pub currency: String,
    pub amount: Fine,
    pub units: i64,
    pub fee_bp: u32,
    /// Empty: the whole net goes to the label's account.
    pub shares: Vec<Share>,
    pub label: String,
}

pub fn label_account(label: &str) -> String {
    let slug: String = label
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '-' })
        .collect();
    format!("label:{}", slug.trim_matches('-'))
}

fn pct(bp: u32) -> String {
    let s = format!("{}.{:02}", bp / 100, bp % 100);
    format!("{}%", s.trim_end_matches('0').trim_end_matches('.'))
}

/// The entries for matched income, drawn from `from_account` (the DSP's account on import,
/// suspense on a rematch).
pub fn income_entries(
    inc: &Income,
    from_account: &str,
    payee_currency: &dyn Fn(&str) -> Option<String>,
    rate: &dyn Fn(&str, &str) -> Option<Rate>,
    period: &str,
) -> Result<Vec<Entry>, PostingError> {
    let c = &inc.currency;
    let mut out = vec![Entry {
        account: from_account.to_owned(),
        currency: c.clone(),
        amount: -inc.amount,
        units: inc.units,
        dims: inc.dims.clone(),
        formula: String::new(),
        gross: Fine::ZERO,
    }];
    let overflow = || PostingError::Overflow(format!("{} {}", inc.amount, c));
    let split = allocate(
        inc.amount.0,
        &[i128::from(inc.fee_bp), i128::from(10_000 - inc.fee_bp)],
    )
    .ok_or_else(overflow)?;
    let (fee, net) = (Fine(split[0]), Fine(split[1]));
    out.push(Entry {
        account: "fee:distributor".into(),
        currency: c.clone(),
        amount: fee,
        units: 0,
        dims: inc.dims.clone(),
        formula: format!("{c} {} × {} fee", inc.amount, pct(inc.fee_bp)),
        gross: Fine::ZERO,
    });
    let base = format!("{c} {} × (100% − {} fee)", inc.amount, pct(inc.fee_bp));
    if inc.shares.is_empty() {
        out.push(Entry {
            account: label_account(&inc.label),
            currency: c.clone(),
            amount: net,
            units: inc.units,
            dims: inc.dims.clone(),
            formula: base,
            gross: inc.amount,
        });
        return Ok(out);
    }
    // Shares in payee order, so the largest-remainder tie-break is by payee id.
    let mut shares = inc.shares.clone();
    shares.sort_by(|a, b| a.payee.cmp(&b.payee));
    let parts = allocate(
        net.0,
        &shares
            .iter()
            .map(|s| i128::from(s.basis_points))
            .collect::<Vec<_>>(),
    )
    .ok_or_else(overflow)?;
    // The same shares of the gross, for the statement's gross / fee / net columns.
    let gross_parts = allocate(
        inc.amount.0,
        &shares
            .iter()
            .map(|s| i128::from(s.basis_points))
            .collect::<Vec<_>>(),
    )
    .ok_or_else(overflow)?;
    for ((s, part), gross) in shares.iter().zip(parts).zip(gross_parts) {
        let (part, gross) = (Fine(part), Fine(gross));
        let pc =
            payee_currency(&s.payee).ok_or_else(|| PostingError::UnknownPayee(s.payee.clone()))?;
        let formula = format!("{base} × {} split", pct(s.basis_points));
        if &pc == c {
            out.push(Entry {
                account: format!("payee:{}", s.payee),
                currency: c.clone(),
                amount: part,
                units: inc.units,
                dims: inc.dims.clone(),
                formula,
                gross,
            });
            continue;
        }
        let r = rate(c, &pc).ok_or_else(|| PostingError::NoRate {
            from: c.clone(),
            to: pc.clone(),
            period: period.to_owned(),
            payee: s.payee.clone(),
        })?;
        let conv = r.convert(part).ok_or_else(overflow)?;
        let fx = format!("fx:{c}-{pc}");
        out.push(Entry {
            account: fx.clone(),
            currency: c.clone(),
            amount: part,
            units: 0,
            dims: inc.dims.clone(),
            formula: String::new(),
            gross: Fine::ZERO,
        });
        out.push(Entry {
            account: fx,
            currency: pc.clone(),
            amount: -conv,
            units: 0,
            dims: inc.dims.clone(),
            formula: String::new(),
            gross: Fine::ZERO,
        });
        out.push(Entry {
            account: format!("payee:{}", s.payee),
            currency: pc.clone(),
            amount: conv,
            units: inc.units,
            dims: inc.dims.clone(),
            formula: format!("{formula} × {} {c}→{pc} ({})", r.text, r.source),
            gross: r.convert(gross).ok_or_else(overflow)?,
        });
    }
    debug_assert!(balanced(&out));
    Ok(out)
}

/// Money that matched nothing in the catalog: held in suspense, so the import still books
/// the report's whole total.
pub fn suspense_entries(
    dims: &Dims,
    currency: &str,
    amount: Fine,
    units: i64,
    dsp_account: &str,
) -> Vec<Entry> {
    vec![
        Entry {
            account: dsp_account.to_owned(),
            currency: currency.to_owned(),
            amount: -amount,
            units,
            dims: dims.clone(),
            formula: String::new(),
            gross: Fine::ZERO,
        },
        Entry {
            account: "suspense".into(),
            currency: currency.to_owned(),
            amount,
            units,
            dims: dims.clone(),
            formula: "unmatched: held until rematched".into(),
            gross: Fine::ZERO,
        },
    ]
}

/// How a sale is booked onto the tracks it is for: a track-level sale goes to its track; a
/// release-level sale is shared equally by the release's `tracks` tracks, the money and the
/// units each by largest remainder (so they add up to the sale). The one rule for importing
/// and rematching. `None` only when there are no tracks or the arithmetic overflows.
pub fn share_sale(amount: Fine, units: i64, tracks: usize) -> Option<Vec<(Fine, i64)>> {
    if tracks == 0 {
        return None;
    }
    let money = crate::allocate(amount.0, &vec![1; tracks])?;
    let units = crate::allocate(i128::from(units), &vec![1; tracks])?;
    Some(
        money
            .into_iter()
            .zip(units)
            .map(|(m, u)| (Fine(m), i64::try_from(u).unwrap_or(0)))
            .collect(),
    )
}

/// A catalog track a sale is booked onto: its identifiers, the label's fee and the split.
#[derive(Debug, Clone, Copy)]
pub struct SaleTrack<'a> {
    pub isrc: &'a str,
    pub upc: &'a str,
    pub label: &'a str,
    pub fee_bp: u32,
    pub shares: &'a [Share],
}

/// A sale to book: its dimensions (DSP, territory, usage period, model, rights, source; the
/// track's identifiers are filled in per track), currency, money and units.
#[derive(Debug, Clone)]
pub struct Sale {
    pub dims: Dims,
    pub currency: String,
    pub amount: Fine,
    pub units: i64,
    /// The sale names a release, not a recording: it is shared by the release's tracks.
    pub release_level: bool,
}

/// Books a sale onto the catalog tracks it is for, drawing the money from `from_account`
/// (the DSP's account at import, suspense at rematch): the one rule for importing and
/// rematching. A track-level sale goes to its track; a release-level sale is shared by the
/// release's tracks with `share_sale`, each share saying so in its source.
pub fn book_sale(
    sale: &Sale,
    tracks: &[SaleTrack<'_>],
    from_account: &str,
    payee_currency: &dyn Fn(&str) -> Option<String>,
    rate: &dyn Fn(&str, &str) -> Option<Rate>,
    period: &str,
) -> Result<Vec<Entry>, PostingError> {
    let shares = share_sale(sale.amount, sale.units, tracks.len())
        .ok_or_else(|| PostingError::Overflow(sale.amount.to_decimal()))?;
    let mut out = Vec::new();
    for (t, (amount, units)) in tracks.iter().zip(shares) {
        let mut dims = sale.dims.clone();
        dims.isrc = t.isrc.to_owned();
        dims.upc = t.upc.to_owned();
        if sale.release_level {
            dims.source = format!(
                "{} (release-level sale shared by {} tracks)",
                dims.source,
                tracks.len()
            );
        }
        let inc = Income {
            dims,
            currency: sale.currency.clone(),
            amount,
            units,
            fee_bp: t.fee_bp,
            shares: t.shares.to_vec(),
            label: t.label.to_owned(),
        };
        out.extend(income_entries(
            &inc,
            from_account,
            payee_currency,
            rate,
            period,
        )?);
    }
    Ok(out)
}

/// The reversing entries of a transaction: every amount negated, nothing deleted.
pub fn reversal(entries: &[Entry]) -> Vec<Entry> {
    entries
        .iter()
        .map(|e| Entry {
            amount: -e.amount,
            units: -e.units,
            gross: -e.gross,
            formula: format!("reversal of: {}", e.formula),
            ..e.clone()
        })
        .collect()
}

/// Sums per currency.
pub fn sums(entries: &[Entry]) -> BTreeMap<String, Fine> {
    let mut m = BTreeMap::new();
    for e in entries {
        *m.entry(e.currency.clone()).or_insert(Fine::ZERO) += e.amount;
    }
    m
}

/// I1: the entries sum to zero in every currency.
pub fn balanced(entries: &[Entry]) -> bool {
    sums(entries).values().all(|v| *v == Fine::ZERO)
}

/// Merges entries with the same account, currency and dims (aggregation before posting).
pub fn merge(entries: Vec<Entry>) -> Vec<Entry> {
    let mut m: BTreeMap<(String, String, Dims), Entry> = BTreeMap::new();
    for e in entries {
        let k = (e.account.clone(), e.currency.clone(), e.dims.clone());
        match m.get_mut(&k) {
            Some(x) => {
                x.amount += e.amount;
                x.units += e.units;
                x.gross += e.gross;
            }
            None => {
                m.insert(k, e);
            }
        }
    }
    m.into_values().collect()
}

#[cfg(test)]
mod share_tests {
    use super::*;

    #[test]
    fn a_release_level_sale_shares_money_and_units_and_adds_up() {
        let s = share_sale(Fine::from_minor(100, 2), 7, 3).expect("shares");
        assert_eq!(
            s.iter().map(|(m, _)| m.0).sum::<i128>(),
            Fine::from_minor(100, 2).0
        );
        assert_eq!(s.iter().map(|(_, u)| u).sum::<i64>(), 7);
        assert_eq!(s.iter().map(|(_, u)| *u).collect::<Vec<_>>(), vec![3, 2, 2]);
        assert_eq!(
            share_sale(Fine::from_minor(5, 2), 4, 1),
            Some(vec![(Fine::from_minor(5, 2), 4)])
        );
        assert_eq!(share_sale(Fine::ZERO, 1, 0), None);
    }

    #[test]
    fn a_sale_is_booked_onto_its_track_or_shared_by_the_release_and_balances() {
        let shares = [Share {
            payee: "ann".into(),
            basis_points: 10_000,
        }];
        let track = |isrc| SaleTrack {
            isrc,
            upc: "036000291452",
            label: "Nightjar",
            fee_bp: 1500,
            shares: &shares,
        };
        let tracks = [
            track("GBAYE2700001"),
            track("GBAYE2700002"),
            track("GBAYE2700003"),
        ];
        let usd = |_: &str| Some("USD".to_owned());
        let no_rate = |_: &str, _: &str| None;
        let sale = |release_level| Sale {
            dims: Dims {
                dsp: "spotify".into(),
                source: "r.tsv:2".into(),
                ..Dims::default()
            },
            currency: "USD".into(),
            amount: Fine::from_minor(100, 2),
            units: 7,
            release_level,
        };
        let one = book_sale(
            &sale(false),
            &tracks[..1],
            "dsp:spotify",
            &usd,
            &no_rate,
            "2026-10",
        )
        .expect("booked");
        assert!(balanced(&one));
        let payee: Vec<&Entry> = one.iter().filter(|e| e.account == "payee:ann").collect();
        assert_eq!(payee.len(), 1);
        assert_eq!(
            (payee[0].units, payee[0].dims.isrc.as_str()),
            (7, "GBAYE2700001")
        );
        assert_eq!(payee[0].dims.source, "r.tsv:2");

        let all =
            book_sale(&sale(true), &tracks, "suspense", &usd, &no_rate, "2026-10").expect("booked");
        assert!(balanced(&all));
        let payee: Vec<&Entry> = all.iter().filter(|e| e.account == "payee:ann").collect();
        assert_eq!(
            payee.iter().map(|e| e.units).collect::<Vec<_>>(),
            vec![3, 2, 2],
            "units shared by largest remainder"
        );
        assert!(
            payee
                .iter()
                .all(|e| e.dims.source == "r.tsv:2 (release-level sale shared by 3 tracks)")
        );
        let from: Fine = all
            .iter()
            .filter(|e| e.account == "suspense")
            .map(|e| e.amount)
            .fold(Fine::ZERO, |a, b| a + b);
        assert_eq!(from, -Fine::from_minor(100, 2), "the whole sale drawn once");
    }
}
