//! The royalty ledger's invariants, on SQLite and PostgreSQL, over seeded random operation
//! sequences (VOPR-style: a failing seed replays exactly; `LEDGER_SEEDS=200` runs more):
//! imports of random reports (matched and unmatched usage, several currencies, splits, fees,
//! FX), replays of the same import, superseding corrections and rematches out of suspense,
//! in two different interleavings on two ledgers.
//!
//! After every step: each transaction sums to zero per currency (I1), all balances sum to
//! zero (I2), the hash chain is intact (I3), replaying an import adds nothing (I4), each
//! import booked exactly its report's total (I5), reversals mirror what they reverse, and the
//! ledger equals a plain-Rust reference model. At the end both interleavings hold the same
//! balances (I9), and posted rows cannot be updated, deleted or truncated.

use std::collections::BTreeMap;

use model::Fine;
use royalties::posting::{Income, Rate, Share, income_entries, merge, reversal, suspense_entries};
use royalties::{Dims, Entry};
use store::{NewReport, NewTx, Posting, ReportImport, Store, Unmatched};

mod common;
use common::TestDb;

/// A small deterministic generator (splitmix64): the seed is the whole scenario.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const PAYEES: [(&str, &str); 3] = [("ana", "EUR"), ("ben", "USD"), ("cai", "GBP")];

fn payee_currency(p: &str) -> Option<String> {
    PAYEES
        .iter()
        .find(|(id, _)| *id == p)
        .map(|(_, c)| (*c).to_owned())
}

fn rate(from: &str, to: &str) -> Option<Rate> {
    let r = match (from, to) {
        ("USD", "EUR") => "0.9231",
        ("USD", "GBP") => "0.7912",
        ("EUR", "USD") => "1.0833",
        ("EUR", "GBP") => "0.8571",
        _ => return None,
    };
    Rate::parse(r, "test")
}

/// A random report: its postings, its unmatched usage and its total per currency.
#[derive(Debug, Clone)]
struct Report {
    key: String,
    sender: String,
    message_id: String,
    entries: Vec<Entry>,
    unmatched: Vec<Unmatched>,
    totals: BTreeMap<String, Fine>,
}

fn random_report(rng: &mut Rng, tag: &str, message_id: &str) -> Report {
    let currency = if rng.below(2) == 0 { "USD" } else { "EUR" };
    let mut entries = Vec::new();
    let mut unmatched = Vec::new();
    let mut total = Fine::ZERO;
    for i in 0..(1 + rng.below(6)) {
        // Amounts with up to 17 decimals, some negative (returns, adjustments).
        let mut amount =
            Fine(i128::from(rng.below(50_000_000)) * 10i128.pow(10) + i128::from(rng.below(1000)));
        if rng.below(7) == 0 {
            amount = -amount;
        }
        total += amount;
        let dims = Dims {
            dsp: "mock".into(),
            territory: ["US", "FR", "JP"][rng.below(3) as usize].into(),
            usage_period: "2026-10".into(),
            commercial_model: "SubscriptionModel".into(),
            rights_type: String::new(),
            isrc: format!("QZ{tag}{i:05}"),
            upc: String::new(),
            source: format!("{tag} line {i}"),
        };
        if rng.below(4) == 0 {
            entries.extend(suspense_entries(&dims, currency, amount, 10, "dsp:mock"));
            unmatched.push(Unmatched {
                reason: "ISRC not in the catalog".into(),
                dsp: "mock".into(),
                isrc: dims.isrc.clone(),
                territory: dims.territory.clone(),
                usage_period: dims.usage_period.clone(),
                commercial_model: dims.commercial_model.clone(),
                currency: currency.into(),
                amount,
                units: 10,
                lines: 1,
                source: dims.source.clone(),
                ..Unmatched::default()
            });
            continue;
        }
        let mut shares = Vec::new();
        let n = 1 + rng.below(3) as usize;
        let mut left = 10_000u32;
        for (k, (p, _)) in PAYEES.iter().take(n).enumerate() {
            let bp = if k + 1 == n {
                left
            } else {
                (rng.below(u64::from(left)) as u32).max(1).min(left)
            };
            left -= bp;
            shares.push(Share {
                payee: (*p).into(),
                basis_points: bp,
            });
        }
        let inc = Income {
            dims,
            currency: currency.into(),
            amount,
            units: 10,
            fee_bp: rng.below(3001) as u32,
            shares,
            label: "L".into(),
        };
        entries.extend(
            income_entries(&inc, "dsp:mock", &payee_currency, &rate, "2026-11")
                .expect("rates exist"),
        );
    }
    Report {
        key: format!("report-{tag}"),
        sender: "PADPIDA0000000001S".into(),
        message_id: message_id.into(),
        entries: merge(entries),
        unmatched,
        totals: [(currency.to_owned(), total)].into_iter().collect(),
    }
}

fn new_report(r: &Report, supersedes: Option<i64>) -> NewReport {
    NewReport {
        import_key: r.key.clone(),
        sender: r.sender.clone(),
        message_id: r.message_id.clone(),
        dsp: "mock".into(),
        format: "dsr".into(),
        files: "[]".into(),
        reporting_period: "2026-11".into(),
        usage_start: "2026-10-01".into(),
        usage_end: "2026-10-31".into(),
        lines: 1,
        usage_lines: 1,
        matched_lines: 1,
        totals: r.totals.clone(),
        warnings: Vec::new(),
        supersedes,
    }
}

fn import_tx(r: &Report) -> NewTx {
    NewTx {
        key: format!("import:{}", r.key),
        kind: "import",
        period: "2026-11".into(),
        report_id: None,
        reverses: None,
        memo: String::new(),
        entries: r.entries.clone(),
    }
}

/// The operations a scenario is made of.
#[derive(Debug, Clone)]
enum Op {
    Import(usize),
    Replay(usize),
    /// Report `.1` corrects report `.0`.
    Supersede(usize, usize),
    /// Move report `.0`'s suspense usage to payee "ana".
    Rematch(usize),
}

type Balances = BTreeMap<(String, String), Fine>;

async fn balances(s: &Store) -> Balances {
    let mut b = Balances::new();
    for t in s.transactions().await.expect("transactions") {
        for e in t.entries {
            *b.entry((e.account, e.currency)).or_default() += e.amount;
        }
    }
    b.retain(|_, v| *v != Fine::ZERO);
    b
}

async fn assert_invariants(s: &Store, model: &Balances, what: &str) {
    let txs = s.transactions().await.expect("transactions");
    let reports = s.stored_reports().await.expect("reports");
    let head = s.ledger_head().await.expect("head");
    let r = royalties::check::check(&txs, &reports, &head);
    assert!(r.violations.is_empty(), "{what}: {:#?}", r.violations);
    let mut m = model.clone();
    m.retain(|_, v| *v != Fine::ZERO);
    assert_eq!(
        balances(s).await,
        m,
        "{what}: the ledger differs from the reference model"
    );
}

/// Runs the operations on a store, checking every invariant after each, against the model.
async fn run(s: &Store, reports: &[Report], ops: &[Op], seed: u64, model: &mut Balances) {
    let mut ids: BTreeMap<usize, i64> = BTreeMap::new();
    let apply = |m: &mut Balances, es: &[Entry]| {
        for e in es {
            *m.entry((e.account.clone(), e.currency.clone()))
                .or_default() += e.amount;
        }
    };
    for (step, op) in ops.iter().enumerate() {
        let what = format!("seed {seed} step {step} {op:?}");
        match op {
            Op::Import(i) => {
                let r = &reports[*i];
                match s
                    .import_report(
                        &new_report(r, None),
                        &[],
                        &import_tx(r),
                        &mut r.unmatched.clone().into_iter(),
                        &[],
                    )
                    .await
                    .expect(&what)
                {
                    ReportImport::Imported { report_id, .. } => {
                        ids.insert(*i, report_id);
                        apply(model, &r.entries);
                    }
                    ReportImport::AlreadyImported { .. } => {
                        panic!("{what}: first import said already imported")
                    }
                }
            }
            Op::Replay(i) => {
                let r = &reports[*i];
                let before = s.transactions().await.expect("txs").len();
                let out = s
                    .import_report(
                        &new_report(r, None),
                        &[],
                        &import_tx(r),
                        &mut r.unmatched.clone().into_iter(),
                        &[],
                    )
                    .await
                    .expect(&what);
                assert_eq!(
                    out,
                    ReportImport::AlreadyImported { report_id: ids[i] },
                    "{what}"
                );
                assert_eq!(
                    s.transactions().await.expect("txs").len(),
                    before,
                    "{what}: a replay added transactions (I4)"
                );
            }
            Op::Supersede(old, new) => {
                let old_id = ids[old];
                let mut reversals = Vec::new();
                for t in s.live_transactions_of_report(old_id).await.expect("live") {
                    let rev = reversal(&t.entries);
                    apply(model, &rev);
                    reversals.push(NewTx {
                        key: format!("reversal:{}", t.id),
                        kind: "reversal",
                        period: "2026-11".into(),
                        report_id: Some(old_id),
                        reverses: Some(t.id),
                        memo: String::new(),
                        entries: rev,
                    });
                }
                let r = &reports[*new];
                match s
                    .import_report(
                        &new_report(r, Some(old_id)),
                        &reversals,
                        &import_tx(r),
                        &mut r.unmatched.clone().into_iter(),
                        &[],
                    )
                    .await
                    .expect(&what)
                {
                    ReportImport::Imported { report_id, .. } => {
                        ids.insert(*new, report_id);
                        apply(model, &r.entries);
                    }
                    ReportImport::AlreadyImported { .. } => panic!("{what}"),
                }
            }
            Op::Rematch(i) => {
                let rid = ids[i];
                let superseded = s
                    .reports()
                    .await
                    .expect("reports")
                    .iter()
                    .any(|r| r.id == rid && r.superseded_by.is_some());
                for u in s.unmatched().await.expect("unmatched") {
                    if u.report_id != rid || u.rematched_by.is_some() || superseded {
                        continue;
                    }
                    let inc = Income {
                        dims: Dims {
                            dsp: u.dsp.clone(),
                            territory: u.territory.clone(),
                            usage_period: u.usage_period.clone(),
                            isrc: u.isrc.clone(),
                            source: u.source.clone(),
                            ..Dims::default()
                        },
                        currency: u.currency.clone(),
                        amount: u.amount,
                        units: u.units,
                        fee_bp: 1500,
                        shares: vec![Share {
                            payee: "ana".into(),
                            basis_points: 10_000,
                        }],
                        label: "L".into(),
                    };
                    let es = income_entries(&inc, "suspense", &payee_currency, &rate, "2026-11")
                        .expect("rates");
                    let tx = NewTx {
                        key: format!("rematch:{}", u.id),
                        kind: "rematch",
                        period: "2026-11".into(),
                        report_id: Some(rid),
                        reverses: None,
                        memo: String::new(),
                        entries: es.clone(),
                    };
                    assert!(
                        matches!(
                            s.rematch(&tx, &[u.id]).await.expect(&what),
                            Posting::Posted(_)
                        ),
                        "{what}"
                    );
                    apply(model, &es);
                    // Posting the same key again adds nothing.
                    assert!(
                        matches!(s.post(&tx).await.expect(&what), Posting::AlreadyPosted(_)),
                        "{what}"
                    );
                }
            }
        }
        assert_invariants(s, model, &what).await;
    }
}

fn scenario(seed: u64) -> (Vec<Report>, Vec<Op>, Vec<Op>) {
    let mut rng = Rng(seed);
    let t = |k: usize| format!("s{seed}r{k}");
    let r0 = random_report(&mut rng, &t(0), &format!("M{seed}-0"));
    let r1 = random_report(&mut rng, &t(1), &format!("M{seed}-1"));
    let r0b = random_report(&mut rng, &t(2), &format!("M{seed}-0")); // the correction of r0
    let r2 = random_report(&mut rng, &t(3), &format!("M{seed}-2"));
    let a = vec![
        Op::Import(0),
        Op::Import(1),
        Op::Replay(0),
        Op::Rematch(1),
        Op::Supersede(0, 2),
        Op::Import(3),
        Op::Rematch(3),
        Op::Replay(2),
    ];
    let b = vec![
        Op::Import(3),
        Op::Import(1),
        Op::Import(0),
        Op::Rematch(3),
        Op::Supersede(0, 2),
        Op::Replay(1),
        Op::Rematch(1),
    ];
    (vec![r0, r1, r0b, r2], a, b)
}

async fn interleavings_converge(one: &Store, two: &Store) {
    let seeds: u64 = std::env::var("LEDGER_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6);
    let (mut ma, mut mb) = (Balances::new(), Balances::new());
    for seed in 0..seeds {
        let (reports, a, b) = scenario(seed);
        run(one, &reports, &a, seed, &mut ma).await;
        run(two, &reports, &b, seed, &mut mb).await;
        assert_eq!(
            balances(one).await,
            balances(two).await,
            "seed {seed}: the interleavings end in different balances (I9)"
        );
    }
    // Every report's total is in the ledger once: the DSP owes the live reports' totals.
    let reports = one.reports().await.expect("reports");
    let live: usize = reports.iter().filter(|r| r.superseded_by.is_none()).count();
    assert_eq!(live, 3 * seeds as usize);
}

async fn posted_rows_cannot_change(s: &Store) {
    let r = random_report(&mut Rng(99), "x", "MX");
    s.import_report(
        &new_report(&r, None),
        &[],
        &import_tx(&r),
        &mut r.unmatched.clone().into_iter(),
        &[],
    )
    .await
    .expect("import");
    for sql in [
        "UPDATE ledger_entries SET amount = '0'",
        "DELETE FROM ledger_entries",
        "UPDATE ledger_transactions SET memo = 'x'",
        "DELETE FROM ledger_transactions",
        "DELETE FROM sales_reports",
    ] {
        let e = s.execute_raw(sql).await;
        assert!(e.is_err(), "{sql} was allowed on an append-only table");
        assert!(
            e.err()
                .map(|e| e.to_string())
                .unwrap_or_default()
                .contains("append-only"),
            "{sql}"
        );
    }
    if s.backend() == store::Backend::Postgres {
        assert!(
            s.execute_raw("TRUNCATE ledger_entries").await.is_err(),
            "TRUNCATE allowed"
        );
    }
    // A transaction that does not balance is refused before anything is written.
    let before = s.transactions().await.expect("txs").len();
    let mut bad = import_tx(&r);
    bad.key = "unbalanced".into();
    bad.entries[0].amount += Fine(1);
    assert!(s.post(&bad).await.is_err());
    // The same key with other entries is refused too (a posted transaction never changes).
    let mut changed = import_tx(&r);
    let c0 = changed.entries[0].currency.clone();
    let j = changed
        .entries
        .iter()
        .rposition(|e| e.currency == c0)
        .expect("a second entry");
    changed.entries[0].amount += Fine(5);
    changed.entries[j].amount -= Fine(5);
    assert!(s.post(&changed).await.is_err());
    assert_eq!(s.transactions().await.expect("txs").len(), before);
}

#[tokio::test]
async fn sqlite_interleavings_converge_and_every_invariant_holds() {
    let (one, two) = (TestDb::sqlite().await, TestDb::sqlite().await);
    interleavings_converge(&one.store, &two.store).await;
    posted_rows_cannot_change(&one.store).await;
    one.finish().await;
    two.finish().await;
}

#[tokio::test]
async fn postgres_interleavings_converge_and_every_invariant_holds() {
    let Some(one) = TestDb::postgres().await else {
        return;
    };
    let Some(two) = TestDb::postgres().await else {
        return;
    };
    interleavings_converge(&one.store, &two.store).await;
    posted_rows_cannot_change(&one.store).await;
    one.finish().await;
    two.finish().await;
}
