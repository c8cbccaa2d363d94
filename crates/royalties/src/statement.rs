//! A payee's statement for one period, built from the ledger's entries on their account:
//! opening + income − reserves + releases − recoupment − tax − payouts = closing. Each income
//! line keeps the report lines behind it and the formula that produced it.
//!
//! Two renderings: for people (HTML and [`Statement::csv`]), every amount rounded to the
//! currency's minor unit by the display rule (half away from zero) and distributed so that
//! each column adds up to its shown total and the summary adds up to the closing balance
//! ([`Shown`], largest remainder); and for machines ([`Statement::lines_csv`]), every amount
//! exact, with the formula and the stored report line behind it.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use model::Fine;
use serde::Serialize;

use crate::posting::Entry;

/// An entry as the ledger holds it: with its transaction's kind and reporting period.
#[derive(Debug, Clone)]
pub struct Posted {
    pub tx: i64,
    pub kind: String,
    pub period: String,
    pub entry: Entry,
}

#[derive(Debug, Clone, Serialize)]
pub struct IncomeLine {
    pub dsp: String,
    pub territory: String,
    pub isrc: String,
    pub upc: String,
    pub usage_period: String,
    pub commercial_model: String,
    pub units: i64,
    /// The payee's share before the distributor's fee, and after it (`amount`).
    pub gross: Fine,
    pub amount: Fine,
    pub formula: String,
    pub source: String,
    pub transaction: i64,
}

/// A track as the statement names it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrackName {
    pub title: String,
    pub version: Option<String>,
    pub artist: String,
}

/// What the statement's lines are called for people: tracks by ISRC, DSPs by profile name,
/// countries by ISO code. Anything missing is shown by its code.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub tracks: BTreeMap<String, TrackName>,
    pub dsps: BTreeMap<String, String>,
    pub countries: BTreeMap<String, String>,
}

impl Names {
    pub fn dsp(&self, slug: &str) -> String {
        self.dsps
            .get(slug)
            .cloned()
            .unwrap_or_else(|| slug.to_owned())
    }
    pub fn country(&self, code: &str) -> String {
        self.countries
            .get(code)
            .cloned()
            .unwrap_or_else(|| code.to_owned())
    }
    /// "Title (Version) — Artist", or the ISRC when the catalog does not know it.
    pub fn track(&self, isrc: &str) -> String {
        match self.tracks.get(isrc) {
            Some(t) => {
                let v = t
                    .version
                    .as_deref()
                    .map(|v| format!(" ({v})"))
                    .unwrap_or_default();
                format!("{}{v} — {}", t.title, t.artist)
            }
            None if isrc.is_empty() => "(release-level sale)".into(),
            None => isrc.to_owned(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Statement {
    pub payee: String,
    pub name: String,
    pub currency: String,
    pub exponent: u8,
    pub period: String,
    pub opening: Fine,
    pub lines: Vec<IncomeLine>,
    /// Income before the distributor's fee, the fee, and income after it (`income`).
    pub gross: Fine,
    pub fees: Fine,
    pub income: Fine,
    pub rounding: Fine,
    pub reserve_held: Fine,
    pub reserve_released: Fine,
    pub recouped: Fine,
    pub tax: Fine,
    pub payouts: Fine,
    pub closing: Fine,
    /// The period is closed: these are the final statements (else a preview).
    pub closed: bool,
}

impl Statement {
    /// Builds the statement from the entries on `payee:<id>` up to and including `period`.
    pub fn build(
        payee: &str,
        name: &str,
        currency: &str,
        exponent: u8,
        period: &str,
        posted: &[Posted],
    ) -> Statement {
        let mut s = Statement {
            payee: payee.into(),
            name: name.into(),
            currency: currency.into(),
            exponent,
            period: period.into(),
            opening: Fine::ZERO,
            lines: Vec::new(),
            gross: Fine::ZERO,
            fees: Fine::ZERO,
            income: Fine::ZERO,
            rounding: Fine::ZERO,
            reserve_held: Fine::ZERO,
            reserve_released: Fine::ZERO,
            recouped: Fine::ZERO,
            tax: Fine::ZERO,
            payouts: Fine::ZERO,
            closing: Fine::ZERO,
            closed: false,
        };
        let acct = format!("payee:{payee}");
        for p in posted
            .iter()
            .filter(|p| p.entry.account == acct && p.entry.currency == currency)
        {
            let a = p.entry.amount;
            if p.period.as_str() < period {
                s.opening += a;
                continue;
            }
            if p.period.as_str() > period {
                continue;
            }
            s.closing += a;
            let f = &p.entry.formula;
            match p.kind.as_str() {
                "close" if f.starts_with("rounded") => s.rounding += a,
                "close" if f.contains("held in reserve") => s.reserve_held -= a,
                "close" if f.starts_with("reserve released") => s.reserve_released += a,
                "close" if f.starts_with("recouped") => s.recouped -= a,
                "close" if f.contains("withholding") => s.tax -= a,
                "payout" => s.payouts -= a,
                _ => {
                    s.income += a;
                    s.gross += p.entry.gross;
                    s.fees += p.entry.gross - a;
                    let d = &p.entry.dims;
                    s.lines.push(IncomeLine {
                        dsp: d.dsp.clone(),
                        territory: d.territory.clone(),
                        isrc: d.isrc.clone(),
                        upc: d.upc.clone(),
                        usage_period: d.usage_period.clone(),
                        commercial_model: d.commercial_model.clone(),
                        units: p.entry.units,
                        gross: p.entry.gross,
                        amount: a,
                        formula: f.clone(),
                        source: d.source.clone(),
                        transaction: p.tx,
                    });
                }
            }
        }
        s.closing += s.opening;
        s.lines.sort_by(|a, b| {
            (&a.dsp, &a.territory, &a.isrc, &a.usage_period).cmp(&(
                &b.dsp,
                &b.territory,
                &b.isrc,
                &b.usage_period,
            ))
        });
        s
    }

    /// The identity every statement satisfies (checked by `ledger check` and the tests).
    pub fn adds_up(&self) -> bool {
        self.opening + self.income + self.rounding - self.reserve_held + self.reserve_released
            - self.recouped
            - self.tax
            - self.payouts
            == self.closing
    }

    /// Marks the statement final (its period is closed) or a preview.
    pub fn closed(mut self, closed: bool) -> Statement {
        self.closed = closed;
        self
    }

    /// Income by DSP and territory (the summary artists ask for first).
    pub fn by_dsp_territory(&self) -> BTreeMap<(String, String), (i64, Fine)> {
        let mut m: BTreeMap<(String, String), (i64, Fine)> = BTreeMap::new();
        for l in &self.lines {
            let e = m.entry((l.dsp.clone(), l.territory.clone())).or_default();
            e.0 += l.units;
            e.1 += l.amount;
        }
        m
    }

    /// Income by track (ISRC), in line order of first appearance sorted by ISRC.
    pub fn by_track(&self) -> BTreeMap<String, (i64, Fine)> {
        let mut m: BTreeMap<String, (i64, Fine)> = BTreeMap::new();
        for l in &self.lines {
            let e = m.entry(l.isrc.clone()).or_default();
            e.0 += l.units;
            e.1 += l.amount;
        }
        m
    }

    /// Every amount as people see it, in minor units, each column adding up.
    pub fn shown(&self) -> Shown {
        let places = u32::from(self.exponent);
        let closing = self.closing.round_minor(places);
        // The summary: opening + income − reserve + released − recouped − tax − paid = closing.
        let summary_values = [
            self.opening,
            self.income + self.rounding,
            -self.reserve_held,
            self.reserve_released,
            -self.recouped,
            -self.tax,
            -self.payouts,
        ];
        let summary = shown(&summary_values, places, closing);
        let income_total = summary[1];
        // The income column: gross − fee = income from sales; + rounding = income.
        let sales = self.income.round_minor(places);
        let fees = self.fees.round_minor(places);
        let income = Breakdown {
            gross: sales + fees,
            fees,
            sales,
            rounding: income_total - sales,
            total: income_total,
        };
        let amounts: Vec<Fine> = self.lines.iter().map(|l| l.amount).collect();
        let grosses: Vec<Fine> = self.lines.iter().map(|l| l.gross).collect();
        let lines = shown(&amounts, places, sales);
        let lines_gross = shown(&grosses, places, income.gross);
        let groups = self.by_dsp_territory();
        let group_values: Vec<Fine> = groups.values().map(|v| v.1).collect();
        let by_dsp_territory = groups
            .iter()
            .zip(shown(&group_values, places, sales))
            .map(|(((d, t), (u, _)), a)| (d.clone(), t.clone(), *u, a))
            .collect();
        let tracks = self.by_track();
        let track_values: Vec<Fine> = tracks.values().map(|v| v.1).collect();
        let by_track = tracks
            .iter()
            .zip(shown(&track_values, places, sales))
            .map(|((isrc, (u, _)), a)| (isrc.clone(), *u, a))
            .collect();
        Shown {
            places,
            opening: summary[0],
            income,
            reserve_held: summary[2],
            reserve_released: summary[3],
            recouped: summary[4],
            tax: summary[5],
            payouts: summary[6],
            closing,
            lines,
            lines_gross,
            by_dsp_territory,
            by_track,
        }
    }

    /// The statement for people as CSV: the summary, then per track, per DSP and country, and
    /// every line, amounts rounded to the minor unit and adding up (the exact amounts are in
    /// [`Statement::lines_csv`]).
    pub fn csv(&self, names: &Names) -> String {
        let sh = self.shown();
        let m = |v: i128| crate::alloc::format_shown(v, sh.places, false);
        let q = csv_field;
        let n = names;
        let mut o = format!(
            "Royalty statement,{}\nPayee,{} ({})\nCurrency,{}\nStatus,{}\n\nSummary,Amount\n",
            self.period,
            q(&self.name),
            q(&self.payee),
            self.currency,
            if self.closed {
                "final (period closed)"
            } else {
                "preview (period open)"
            }
        );
        for (label, v) in sh.summary_rows() {
            let _ = writeln!(o, "{},{}", q(label), m(v));
        }
        let _ = writeln!(o, "Closing balance,{}", m(sh.closing));
        let _ = writeln!(o, "\nIncome,Amount");
        for (label, v) in sh.income.rows() {
            let _ = writeln!(o, "{},{}", q(label), m(v));
        }
        let _ = writeln!(o, "\nTrack,ISRC,Units,Amount");
        for (isrc, u, a) in &sh.by_track {
            let _ = writeln!(o, "{},{},{u},{}", q(&n.track(isrc)), q(isrc), m(*a));
        }
        let _ = writeln!(
            o,
            "Total,,{},{}",
            self.lines.iter().map(|l| l.units).sum::<i64>(),
            m(sh.income.sales)
        );
        let _ = writeln!(o, "\nDSP,Country,Units,Amount");
        for (d, t, u, a) in &sh.by_dsp_territory {
            let _ = writeln!(o, "{},{},{u},{}", q(&n.dsp(d)), q(&n.country(t)), m(*a));
        }
        let _ = writeln!(
            o,
            "Total,,{},{}",
            self.lines.iter().map(|l| l.units).sum::<i64>(),
            m(sh.income.sales)
        );
        let _ = writeln!(
            o,
            "\nDSP,Country,Track,ISRC,Usage period,Commercial model,Units,Before fee,Amount"
        );
        for ((l, a), g) in self.lines.iter().zip(&sh.lines).zip(&sh.lines_gross) {
            let _ = writeln!(
                o,
                "{},{},{},{},{},{},{},{},{}",
                q(&n.dsp(&l.dsp)),
                q(&n.country(&l.territory)),
                q(&n.track(&l.isrc)),
                q(&l.isrc),
                q(&l.usage_period),
                q(&l.commercial_model),
                l.units,
                m(*g),
                m(*a)
            );
        }
        let _ = writeln!(
            o,
            "Total,,,,,,{},{},{}",
            self.lines.iter().map(|l| l.units).sum::<i64>(),
            m(sh.income.gross),
            m(sh.income.sales)
        );
        o
    }

    /// The statement for machines: one row per ledger entry with its exact amount, the formula
    /// and the stored report line behind it, then the exact totals.
    pub fn lines_csv(&self) -> String {
        let mut o = String::from(
            "section,dsp,territory,isrc,upc,usage_period,commercial_model,units,amount,currency,formula,source,gross_before_fee\n",
        );
        let q = csv_field;
        let _ = writeln!(
            o,
            "opening,,,,,,,,{},{},,,",
            self.opening.to_decimal(),
            self.currency
        );
        for l in &self.lines {
            let _ = writeln!(
                o,
                "income,{},{},{},{},{},{},{},{},{},{},{},{}",
                q(&l.dsp),
                q(&l.territory),
                q(&l.isrc),
                q(&l.upc),
                q(&l.usage_period),
                q(&l.commercial_model),
                l.units,
                l.amount,
                self.currency,
                q(&l.formula),
                q(&l.source),
                l.gross
            );
        }
        for (what, v) in [
            ("gross_total", self.gross),
            ("distributor_fee", -self.fees),
            ("income_total", self.income),
            ("rounding", self.rounding),
            ("reserve_held", -self.reserve_held),
            ("reserve_released", self.reserve_released),
            ("recouped", -self.recouped),
            ("tax", -self.tax),
            ("payouts", -self.payouts),
            ("closing", self.closing),
        ] {
            let _ = writeln!(o, "{what},,,,,,,,{},{},,,", v.to_decimal(), self.currency);
        }
        o
    }

    pub fn html(&self, names: &Names) -> String {
        let sh = self.shown();
        let m = |v: i128| crate::alloc::format_shown(v, sh.places, true);
        let n = names;
        let mut o = String::new();
        let _ = write!(
            o,
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Statement {p} — {name}</title>\
<style>body{{font:14px system-ui,sans-serif;margin:2em;color:#111;max-width:70em}}table{{border-collapse:collapse;width:100%;margin:1em 0}}\
td,th{{border-bottom:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}}td.n,th.n{{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}}\
tfoot th{{border-top:2px solid #111}}.f{{color:#555;font-size:12px}}.preview{{background:#fff4d6;padding:.5em 1em;border:1px solid #e0b84c}}@media print{{body{{margin:0}}}}</style></head><body>\
<h1>Royalty statement {p}</h1><p><b>{name}</b> ({id}) · amounts in {c}</p>",
            p = esc(&self.period),
            name = esc(&self.name),
            id = esc(&self.payee),
            c = esc(&self.currency)
        );
        if !self.closed {
            o.push_str("<p class=\"preview\"><b>Preview.</b> This period is not closed yet: the amounts can still change. The final statement is made when the period is closed.</p>");
        }
        o.push_str("<h2>Summary</h2><table id=\"summary\"><tbody>");
        for (label, v) in sh.summary_rows() {
            let _ = write!(o, "<tr><td>{label}</td><td class=\"n\">{}</td></tr>", m(v));
        }
        let _ = write!(
            o,
            "</tbody><tfoot><tr><th>Closing balance</th><th class=\"n\" id=\"closing\">{}</th></tr></tfoot></table>",
            m(sh.closing)
        );
        o.push_str("<h2>Income</h2><table id=\"income\"><tbody>");
        let rows = sh.income.rows();
        for (label, v) in &rows[..rows.len() - 1] {
            let _ = write!(o, "<tr><td>{label}</td><td class=\"n\">{}</td></tr>", m(*v));
        }
        let _ = write!(
            o,
            "</tbody><tfoot><tr><th>Income</th><th class=\"n\">{}</th></tr></tfoot></table>",
            m(sh.income.total)
        );
        let units: i64 = self.lines.iter().map(|l| l.units).sum();
        o.push_str("<h2>By track</h2><table id=\"tracks\"><thead><tr><th>Track</th><th>ISRC</th><th class=\"n\">Units</th><th class=\"n\">Amount</th></tr></thead><tbody>");
        for (isrc, u, a) in &sh.by_track {
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                esc(&n.track(isrc)),
                esc(isrc),
                crate::alloc::format_shown(i128::from(*u), 0, true),
                m(*a)
            );
        }
        let _ = write!(
            o,
            "</tbody><tfoot><tr><th>Total</th><th></th><th class=\"n\">{}</th><th class=\"n\">{}</th></tr></tfoot></table>",
            crate::alloc::format_shown(i128::from(units), 0, true),
            m(sh.income.sales)
        );
        o.push_str("<h2>By DSP and country</h2><table id=\"dsps\"><thead><tr><th>DSP</th><th>Country</th><th class=\"n\">Units</th><th class=\"n\">Amount</th></tr></thead><tbody>");
        for (d, t, u, a) in &sh.by_dsp_territory {
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                esc(&n.dsp(d)),
                esc(&n.country(t)),
                crate::alloc::format_shown(i128::from(*u), 0, true),
                m(*a)
            );
        }
        let _ = write!(
            o,
            "</tbody><tfoot><tr><th>Total</th><th></th><th class=\"n\">{}</th><th class=\"n\">{}</th></tr></tfoot></table>",
            crate::alloc::format_shown(i128::from(units), 0, true),
            m(sh.income.sales)
        );
        o.push_str("<h2>Income lines</h2><table id=\"lines\"><thead><tr><th>DSP</th><th>Country</th><th>Track</th><th>Usage period</th><th class=\"n\">Units</th><th class=\"n\">Before fee</th><th class=\"n\">Amount</th></tr></thead><tbody>");
        for ((l, a), g) in self.lines.iter().zip(&sh.lines).zip(&sh.lines_gross) {
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}<br><span class=\"f\">{} · {}</span></td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                esc(&n.dsp(&l.dsp)),
                esc(&n.country(&l.territory)),
                esc(&n.track(&l.isrc)),
                esc(&l.isrc),
                esc(&l.commercial_model),
                esc(&l.usage_period),
                crate::alloc::format_shown(i128::from(l.units), 0, true),
                m(*g),
                m(*a)
            );
        }
        let _ = write!(
            o,
            "</tbody><tfoot><tr><th>Total</th><th></th><th></th><th></th><th class=\"n\">{}</th><th class=\"n\">{}</th><th class=\"n\">{}</th></tr></tfoot></table>",
            crate::alloc::format_shown(i128::from(units), 0, true),
            m(sh.income.gross),
            m(sh.income.sales)
        );
        let _ = writeln!(
            o,
            "<p class=\"f\">Amounts are rounded to the {c} minor unit (half away from zero) and each table adds up to its total; the ledger keeps them exact, and your balance is rounded once per period (the rounding line above). Every line's exact amount, how it was worked out and the report line behind it are in the file {id}-{p}.lines.csv.</p></body></html>",
            c = esc(&self.currency),
            id = esc(&self.payee),
            p = esc(&self.period)
        );
        o
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// The income column of a statement, as shown: gross − fee = income from sales, + rounding
/// = income.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Breakdown {
    pub gross: i128,
    pub fees: i128,
    pub sales: i128,
    pub rounding: i128,
    pub total: i128,
}

impl Breakdown {
    /// Rows with their signed shown amounts: the first three and the rounding sum to the last.
    pub fn rows(&self) -> [(&'static str, i128); 4] {
        [
            (
                "Gross income (your share before the distributor's fee)",
                self.gross,
            ),
            ("Distributor fee", -self.fees),
            ("Rounding (once per period)", self.rounding),
            ("Income", self.total),
        ]
    }
}

/// A statement's amounts as shown to people, in minor units (`10^-places`): every column sums
/// to its shown total, and the summary sums to the closing balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown {
    pub places: u32,
    pub opening: i128,
    pub income: Breakdown,
    pub reserve_held: i128,
    pub reserve_released: i128,
    pub recouped: i128,
    pub tax: i128,
    pub payouts: i128,
    pub closing: i128,
    /// Per income line: the amount and the amount before the fee.
    pub lines: Vec<i128>,
    pub lines_gross: Vec<i128>,
    pub by_dsp_territory: Vec<(String, String, i64, i128)>,
    pub by_track: Vec<(String, i64, i128)>,
}

impl Shown {
    /// The summary rows, signed as they add up to the closing balance.
    pub fn summary_rows(&self) -> [(&'static str, i128); 7] {
        [
            ("Opening balance", self.opening),
            ("Income", self.income.total),
            ("Reserve held", self.reserve_held),
            ("Reserve released", self.reserve_released),
            ("Advance recouped", self.recouped),
            ("Withholding tax", self.tax),
            ("Paid out", self.payouts),
        ]
    }
}

use crate::alloc::shown;
