//! Closing a payee's period: the one place money is rounded, then reserves, recoupment and
//! withholding tax, each moved to its own account. Works in whole minor units from the
//! rounding on, so every later balance is payable as is.

use std::collections::BTreeMap;

use model::Fine;
use serde::Serialize;

use crate::alloc::allocate;
use crate::posting::{Dims, Entry};

/// What closing needs to know about one payee.
#[derive(Debug, Clone)]
pub struct PayeePeriod {
    pub payee: String,
    pub currency: String,
    /// Decimals of the currency (2 for EUR).
    pub exponent: u8,
    /// The payee account's whole balance before closing, at the fine scale.
    pub balance: Fine,
    /// What the period brought in (its postings to the payee account so far).
    pub income: Fine,
    /// Advances not yet recouped (≥ 0).
    pub outstanding_advance: Fine,
    pub reserve_bp: u32,
    /// Reserves held in earlier periods that fall due now.
    pub reserve_release: Fine,
    pub withholding_bp: u32,
}

/// What closing did for one payee, in minor units of the payee's currency (as fine amounts).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Closed {
    pub payee: String,
    pub rounding: Fine,
    pub reserve_held: Fine,
    pub reserve_released: Fine,
    pub recouped: Fine,
    pub tax: Fine,
}

fn unit(exponent: u8) -> i128 {
    10i128.pow(model::FINE_DECIMALS - u32::from(exponent))
}

/// Floor of `amount × bp / 10000` in whole minor units (never rounds up a deduction).
fn portion(amount: Fine, bp: u32, exponent: u8) -> Fine {
    if amount.0 <= 0 || bp == 0 {
        return Fine::ZERO;
    }
    let u = unit(exponent);
    let v = amount.0 / 10_000 * i128::from(bp) + amount.0 % 10_000 * i128::from(bp) / 10_000;
    Fine(v.div_euclid(u) * u)
}

/// The closing entries for every payee of a period. Rounding is by largest remainder per
/// currency: each balance is floored to minor units, the leftover units (the rounded total
/// minus the floors) go to the largest remainders, ties to the lower payee id; what the
/// rounded total and the exact total differ by goes to the `rounding` account.
pub fn close(payees: &[PayeePeriod]) -> (Vec<Entry>, Vec<Closed>) {
    let mut by_cur: BTreeMap<&str, Vec<&PayeePeriod>> = BTreeMap::new();
    for p in payees {
        by_cur.entry(&p.currency).or_default().push(p);
    }
    let mut entries = Vec::new();
    let mut closed = Vec::new();
    for (cur, mut ps) in by_cur {
        ps.sort_by(|a, b| a.payee.cmp(&b.payee));
        let exp = ps[0].exponent;
        let u = unit(exp);
        let total: i128 = ps.iter().map(|p| p.balance.0).sum();
        let (tq, tr) = (total.div_euclid(u), total.rem_euclid(u));
        let target = tq + i128::from(tr * 2 >= u);
        let floors: Vec<i128> = ps.iter().map(|p| p.balance.0.div_euclid(u)).collect();
        let mut left = target - floors.iter().sum::<i128>();
        let mut order: Vec<usize> = (0..ps.len()).collect();
        order.sort_by(|&a, &b| {
            ps[b]
                .balance
                .0
                .rem_euclid(u)
                .cmp(&ps[a].balance.0.rem_euclid(u))
                .then(a.cmp(&b))
        });
        let mut rounded: Vec<i128> = floors.iter().map(|f| f * u).collect();
        let mut k = 0;
        while left > 0 && !order.is_empty() {
            rounded[order[k % order.len()]] += u;
            left -= 1;
            k += 1;
        }
        let dims = Dims::default();
        let mk = |account: String, amount: Fine, formula: String| Entry {
            account,
            currency: cur.to_owned(),
            amount,
            units: 0,
            dims: dims.clone(),
            formula,
            gross: Fine::ZERO,
        };
        for (i, p) in ps.iter().enumerate() {
            let mut c = Closed {
                payee: p.payee.clone(),
                ..Closed::default()
            };
            let acct = format!("payee:{}", p.payee);
            let adj = Fine(rounded[i] - p.balance.0);
            if adj != Fine::ZERO {
                entries.push(mk(
                    acct.clone(),
                    adj,
                    "rounded once for the period (largest remainder)".into(),
                ));
                entries.push(mk(
                    "rounding".into(),
                    -adj,
                    format!("rounding of {}", p.payee),
                ));
            }
            c.rounding = adj;
            let earned = p.income + adj;
            c.reserve_held = portion(earned, p.reserve_bp, exp);
            if c.reserve_held != Fine::ZERO {
                let f = format!(
                    "{} of positive income {} held in reserve",
                    bp_text(p.reserve_bp),
                    earned.display(u32::from(exp))
                );
                entries.push(mk(acct.clone(), -c.reserve_held, f.clone()));
                entries.push(mk(format!("reserve:{}", p.payee), c.reserve_held, f));
            }
            c.reserve_released = Fine(p.reserve_release.0.div_euclid(u) * u);
            if c.reserve_released != Fine::ZERO {
                entries.push(mk(
                    acct.clone(),
                    c.reserve_released,
                    "reserve released".into(),
                ));
                entries.push(mk(
                    format!("reserve:{}", p.payee),
                    -c.reserve_released,
                    "reserve released".into(),
                ));
            }
            let after_reserve = earned - c.reserve_held;
            let recoupable = if after_reserve.0 > 0 {
                after_reserve
            } else {
                Fine::ZERO
            };
            c.recouped = Fine(recoupable.0.min(p.outstanding_advance.0).max(0));
            if c.recouped != Fine::ZERO {
                let f = format!(
                    "recouped = min(earned {}, outstanding advance {})",
                    recoupable.display(u32::from(exp)),
                    p.outstanding_advance.display(u32::from(exp))
                );
                entries.push(mk(acct.clone(), -c.recouped, f.clone()));
                entries.push(mk(format!("advance:{}", p.payee), c.recouped, f));
            }
            c.tax = portion(after_reserve - c.recouped, p.withholding_bp, exp);
            if c.tax != Fine::ZERO {
                let f = format!(
                    "{} withholding on {}",
                    bp_text(p.withholding_bp),
                    (after_reserve - c.recouped).display(u32::from(exp))
                );
                entries.push(mk(acct.clone(), -c.tax, f.clone()));
                entries.push(mk(format!("tax:{}", p.payee), c.tax, f));
            }
            closed.push(c);
        }
    }
    (entries, closed)
}

fn bp_text(bp: u32) -> String {
    let s = format!("{}.{:02}", bp / 100, bp % 100);
    format!("{}%", s.trim_end_matches('0').trim_end_matches('.'))
}

/// The parts of a reserve held in one period that fall due in each of the next `periods`.
pub fn release_schedule(held: Fine, periods: u32, exponent: u8) -> Vec<Fine> {
    let u = unit(exponent);
    let units = held.0 / u;
    allocate(units, &vec![1; periods.max(1) as usize])
        .unwrap_or_default()
        .into_iter()
        .map(|x| Fine(x * u))
        .collect()
}
