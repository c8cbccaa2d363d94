//! The ledger's invariants, checked over everything it holds. Pure: the store hands over
//! the rows, this says what is wrong.

use std::collections::{BTreeMap, BTreeSet};

use model::Fine;
use sha2::{Digest, Sha256};

use crate::posting::Entry;

/// The digest of a transaction's content: what the hash chain links.
pub fn digest(key: &str, kind: &str, period: &str, entries: &[Entry]) -> String {
    let mut h = Sha256::new();
    h.update(format!("{key}\n{kind}\n{period}\n").as_bytes());
    for e in entries {
        let d = &e.dims;
        h.update(
            format!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                e.account,
                e.currency,
                e.amount.units(),
                e.gross.units(),
                e.units,
                d.dsp,
                d.territory,
                d.usage_period,
                d.commercial_model,
                d.rights_type,
                d.isrc,
                d.upc,
                d.source,
                e.formula
            )
            .as_bytes(),
        );
    }
    hex(&h.finalize())
}

/// The next link of the chain.
pub fn chain(prev: &str, digest: &str) -> String {
    let mut h = Sha256::new();
    h.update(prev.as_bytes());
    h.update(digest.as_bytes());
    hex(&h.finalize())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A transaction as stored, with its entries.
#[derive(Debug, Clone)]
pub struct StoredTx {
    pub id: i64,
    pub key: String,
    pub kind: String,
    pub period: String,
    pub report_id: Option<i64>,
    pub reverses: Option<i64>,
    pub entry_count: i64,
    pub digest: String,
    pub chain: String,
    pub entries: Vec<Entry>,
}

/// A report as stored: its totals per currency as the import computed them.
#[derive(Debug, Clone)]
pub struct StoredReport {
    pub id: i64,
    pub totals: BTreeMap<String, Fine>,
    pub supersedes: Option<i64>,
}

/// What `ledger check` reports.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CheckResult {
    pub transactions: usize,
    pub entries: usize,
    pub reports: usize,
    pub violations: Vec<String>,
    pub balances: BTreeMap<String, BTreeMap<String, String>>,
    /// Per currency, where the reported money went (I5): reported + converted in =
    /// fees + payees + converted out + suspense + labels, to the last unit.
    pub reconciliation: BTreeMap<String, Reconciliation>,
}

/// Where a currency's reported money went, over every import, reversal and rematch.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Reconciliation {
    pub reported: Fine,
    pub fees: Fine,
    pub payees: Fine,
    pub labels: Fine,
    pub suspense: Fine,
    pub converted_out: Fine,
    pub converted_in: Fine,
}

impl Reconciliation {
    pub fn holds(&self) -> bool {
        self.reported + self.converted_in
            == self.fees + self.payees + self.labels + self.suspense + self.converted_out
    }
}

/// Checks I1 (each transaction sums to zero per currency), I2 (all balances sum to zero),
/// I3 (the hash chain: no stored transaction was changed or removed), I5 (each report's
/// import booked exactly its total) and that reversals mirror what they reverse.
pub fn check(txs: &[StoredTx], reports: &[StoredReport], head_chain: &str) -> CheckResult {
    let mut r = CheckResult {
        transactions: txs.len(),
        reports: reports.len(),
        ..CheckResult::default()
    };
    let mut prev = String::new();
    let mut totals: BTreeMap<String, Fine> = BTreeMap::new();
    let mut balances: BTreeMap<(String, String), Fine> = BTreeMap::new();
    let by_id: BTreeMap<i64, &StoredTx> = txs.iter().map(|t| (t.id, t)).collect();
    let mut reversed = BTreeSet::new();
    for t in txs {
        r.entries += t.entries.len();
        if t.entries.len() as i64 != t.entry_count {
            r.violations.push(format!(
                "transaction {} ({}) lists {} entries, {} are stored",
                t.id,
                t.key,
                t.entry_count,
                t.entries.len()
            ));
        }
        let d = digest(&t.key, &t.kind, &t.period, &t.entries);
        if d != t.digest {
            r.violations.push(format!("transaction {} ({}): its entries no longer match the digest recorded when it was posted", t.id, t.key));
        }
        let c = chain(&prev, &t.digest);
        if c != t.chain {
            r.violations.push(format!("transaction {} ({}): the hash chain breaks here (a transaction before it was changed or removed)", t.id, t.key));
        }
        prev = t.chain.clone();
        let mut sums: BTreeMap<&str, Fine> = BTreeMap::new();
        if matches!(t.kind.as_str(), "import" | "reversal" | "rematch") {
            for e in &t.entries {
                let rc = r.reconciliation.entry(e.currency.clone()).or_default();
                let a = e.amount;
                match e
                    .account
                    .split_once(':')
                    .map_or(e.account.as_str(), |(k, _)| k)
                {
                    "dsp" => rc.reported -= a,
                    "fee" => rc.fees += a,
                    "payee" => rc.payees += a,
                    "label" => rc.labels += a,
                    "suspense" => rc.suspense += a,
                    "fx" if a.0 > 0 => rc.converted_out += a,
                    "fx" => rc.converted_in -= a,
                    _ => {}
                }
            }
        }
        for e in &t.entries {
            *sums.entry(&e.currency).or_default() += e.amount;
            *totals.entry(e.currency.clone()).or_default() += e.amount;
            *balances
                .entry((e.account.clone(), e.currency.clone()))
                .or_default() += e.amount;
        }
        for (cur, s) in sums {
            if s != Fine::ZERO {
                r.violations.push(format!(
                    "transaction {} ({}) sums to {s} {cur}, not zero",
                    t.id, t.key
                ));
            }
        }
        if let Some(rev) = t.reverses {
            if !reversed.insert(rev) {
                r.violations
                    .push(format!("transaction {rev} is reversed more than once"));
            }
            match by_id.get(&rev) {
                None => r.violations.push(format!(
                    "transaction {} reverses {rev}, which does not exist",
                    t.id
                )),
                Some(o) => {
                    let mut a: Vec<(String, String, i128)> = o
                        .entries
                        .iter()
                        .map(|e| (e.account.clone(), e.currency.clone(), -e.amount.0))
                        .collect();
                    let mut b: Vec<(String, String, i128)> = t
                        .entries
                        .iter()
                        .map(|e| (e.account.clone(), e.currency.clone(), e.amount.0))
                        .collect();
                    a.sort();
                    b.sort();
                    if a != b {
                        r.violations.push(format!(
                            "transaction {} does not mirror transaction {rev}, which it reverses",
                            t.id
                        ));
                    }
                }
            }
        }
    }
    if !txs.is_empty() && prev != head_chain {
        r.violations.push("the ledger head does not point at the last transaction: transactions were removed from the end".into());
    }
    for (cur, s) in &totals {
        if *s != Fine::ZERO {
            r.violations
                .push(format!("all balances in {cur} sum to {s}, not zero"));
        }
    }
    for rep in reports {
        let imports: Vec<&&StoredTx> = by_id
            .values()
            .filter(|t| t.report_id == Some(rep.id) && t.kind == "import")
            .collect();
        if imports.len() != 1 {
            r.violations.push(format!(
                "report {} has {} import transactions, expected exactly 1",
                rep.id,
                imports.len()
            ));
            continue;
        }
        let mut booked: BTreeMap<String, Fine> = BTreeMap::new();
        for e in imports[0]
            .entries
            .iter()
            .filter(|e| e.account.starts_with("dsp:"))
        {
            *booked.entry(e.currency.clone()).or_default() -= e.amount;
        }
        booked.retain(|_, v| *v != Fine::ZERO);
        let mut want = rep.totals.clone();
        want.retain(|_, v| *v != Fine::ZERO);
        if booked != want {
            r.violations.push(format!(
                "report {}: the import booked {booked:?}, the report's total is {want:?}",
                rep.id
            ));
        }
        if let Some(old) = rep.supersedes {
            let old_import = by_id
                .values()
                .find(|t| t.report_id == Some(old) && t.kind == "import");
            if let Some(o) = old_import
                && !reversed.contains(&o.id)
            {
                r.violations.push(format!(
                    "report {} supersedes report {old}, whose import {} was never reversed",
                    rep.id, o.id
                ));
            }
        }
    }
    for (cur, rc) in &r.reconciliation {
        if !rc.holds() {
            r.violations.push(format!("{cur}: reported {} + converted in {} ≠ fees {} + payees {} + labels {} + suspense {} + converted out {}", rc.reported, rc.converted_in, rc.fees, rc.payees, rc.labels, rc.suspense, rc.converted_out));
        }
    }
    for ((acct, cur), v) in balances {
        r.balances
            .entry(acct)
            .or_default()
            .insert(cur, v.to_decimal());
    }
    r
}
