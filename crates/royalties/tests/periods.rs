//! Closing periods and statements over random income: rounding happens once per payee and
//! period with every residue accounted for, deductions never round up, and each period's
//! closing balance is the next one's opening (I7), every statement adding up.

use model::Fine;
use proptest::prelude::*;
use royalties::close::{PayeePeriod, close};
use royalties::posting::{Dims, Entry, balanced};
use royalties::statement::{Posted, Statement};

const UNIT: i128 = 10_000_000_000_000_000; // one cent at 10^-18

fn income(payee: &str, amount: i128) -> Entry {
    Entry {
        account: format!("payee:{payee}"),
        currency: "EUR".into(),
        amount: Fine(amount),
        units: 1,
        dims: Dims::default(),
        formula: "income".into(),
        gross: Fine::ZERO,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn closing_rounds_once_and_accounts_for_every_residue(
        balances in proptest::collection::vec(-5_000_000_000_000_000_000i128..50_000_000_000_000_000_000, 1..8),
        reserve in 0u32..3000, tax in 0u32..4000, advance in 0i128..20_000_000_000_000_000_000,
    ) {
        let payees: Vec<PayeePeriod> = balances.iter().enumerate().map(|(i, b)| PayeePeriod {
            payee: format!("p{i}"), currency: "EUR".into(), exponent: 2, balance: Fine(*b), income: Fine(*b),
            outstanding_advance: Fine(advance / UNIT * UNIT), reserve_bp: reserve, reserve_release: Fine::ZERO, withholding_bp: tax,
        }).collect();
        let (entries, closed) = close(&payees);
        prop_assert!(balanced(&entries), "I1");
        let total: i128 = balances.iter().sum();
        let rounding: i128 = entries.iter().filter(|e| e.account == "rounding").map(|e| e.amount.0).sum();
        prop_assert!(rounding.abs() < UNIT, "the rounding account takes less than one unit per period");
        for (p, c) in payees.iter().zip(&closed) {
            let after = p.balance.0 + entries.iter().filter(|e| e.account == format!("payee:{}", p.payee)).map(|e| e.amount.0).sum::<i128>();
            prop_assert_eq!(after.rem_euclid(UNIT), 0, "payee balance in whole cents after closing");
            prop_assert!(c.rounding.0.abs() < UNIT, "each payee moved by less than a cent");
            prop_assert!(c.recouped.0 <= p.outstanding_advance.0 && c.recouped.0 >= 0, "recouped = min(earned, outstanding)");
            prop_assert!(c.tax.0 >= 0 && c.reserve_held.0 >= 0);
        }
        let rounded_total: i128 = payees.iter().zip(&closed).map(|(p, c)| p.balance.0 + c.rounding.0).sum();
        prop_assert_eq!(rounded_total + rounding, total, "payees + rounding = the exact total (I5)");
    }

    #[test]
    fn each_closing_is_the_next_opening(
        incomes in proptest::collection::vec(-2_000_000_000_000_000_000i128..9_000_000_000_000_000_000, 2..6),
        pay in proptest::collection::vec(any::<bool>(), 6),
    ) {
        let mut posted: Vec<Posted> = Vec::new();
        let periods: Vec<String> = (1..=incomes.len()).map(|m| format!("2026-{m:02}")).collect();
        for (k, (p, inc)) in periods.iter().zip(&incomes).enumerate() {
            posted.push(Posted { tx: k as i64 * 10, kind: "import".into(), period: p.clone(), entry: income("a", *inc) });
            let balance: Fine = posted.iter().map(|x| x.entry.amount).sum();
            let (entries, _) = close(&[PayeePeriod {
                payee: "a".into(), currency: "EUR".into(), exponent: 2, balance, income: Fine(*inc),
                outstanding_advance: Fine(3 * UNIT), reserve_bp: 1000, reserve_release: Fine::ZERO, withholding_bp: 500,
            }]);
            for e in entries.into_iter().filter(|e| e.account == "payee:a") {
                posted.push(Posted { tx: k as i64 * 10 + 1, kind: "close".into(), period: p.clone(), entry: e });
            }
            let after: Fine = posted.iter().map(|x| x.entry.amount).sum();
            if pay[k] && after.0 > 0 {
                posted.push(Posted { tx: k as i64 * 10 + 2, kind: "payout".into(), period: p.clone(), entry: Entry { amount: -after, formula: "payout".into(), ..income("a", 0) } });
            }
        }
        let mut prev: Option<Statement> = None;
        for p in &periods {
            let s = Statement::build("a", "A", "EUR", 2, p, &posted);
            prop_assert!(s.adds_up(), "statement {} adds up", p);
            if let Some(q) = &prev {
                prop_assert_eq!(q.closing, s.opening, "I7 at {}", p);
            }
            prop_assert_eq!(s.closing.0.rem_euclid(UNIT), 0, "closing in whole cents");
            prev = Some(s);
        }
    }
}
