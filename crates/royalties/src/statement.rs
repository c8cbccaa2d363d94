//! A payee's statement for one period, built from the ledger's entries on their account:
//! opening + income − reserves + releases − recoupment − tax − payouts = closing. Each income
//! line keeps the report lines behind it and the formula that produced it.

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

    fn money(&self, f: Fine) -> String {
        f.display(u32::from(self.exponent))
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

    pub fn csv(&self) -> String {
        let mut o = String::from(
            "section,dsp,territory,isrc,upc,usage_period,commercial_model,units,amount,currency,formula,source,gross_before_fee\n",
        );
        let q = |s: &str| {
            if s.contains([',', '"', '\n']) {
                format!("\"{}\"", s.replace('"', "\"\""))
            } else {
                s.to_owned()
            }
        };
        let _ = writeln!(
            o,
            "opening,,,,,,,,{},{},,,",
            self.money(self.opening),
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
            // Income and its rounding are shown exactly: they are what rounding reconciles.
            let shown = if matches!(
                what,
                "gross_total" | "distributor_fee" | "income_total" | "rounding"
            ) {
                v.to_decimal()
            } else {
                self.money(v)
            };
            let _ = writeln!(o, "{what},,,,,,,,{shown},{},,,", self.currency);
        }
        o
    }

    pub fn html(&self) -> String {
        let e = |s: &str| {
            s.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('"', "&quot;")
        };
        let mut o = String::new();
        let _ = write!(
            o,
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Statement {p} — {n}</title>\
<style>body{{font:14px system-ui,sans-serif;margin:2em;color:#111}}table{{border-collapse:collapse;width:100%;margin:1em 0}}\
td,th{{border-bottom:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}}td.n,th.n{{text-align:right;font-variant-numeric:tabular-nums}}\
.f{{color:#555;font-size:12px}}@media print{{body{{margin:0}}}}</style></head><body>\
<h1>Royalty statement {p}</h1><p><b>{n}</b> ({id}) · amounts in {c}</p>",
            p = e(&self.period),
            n = e(&self.name),
            id = e(&self.payee),
            c = e(&self.currency)
        );
        o.push_str("<h2>Summary</h2><table id=\"summary\">");
        for (label, v, sign) in [
            ("Opening balance", self.opening, 1),
            (
                "Gross income (your share before the distributor's fee)",
                self.gross,
                1,
            ),
            ("Distributor fee", self.fees, -1),
            ("Income", self.income, 1),
            ("Rounding (once per period)", self.rounding, 1),
            ("Reserve held", self.reserve_held, -1),
            ("Reserve released", self.reserve_released, 1),
            ("Advance recouped", self.recouped, -1),
            ("Withholding tax", self.tax, -1),
            ("Paid out", self.payouts, -1),
        ] {
            let shown = if sign < 0 { -v } else { v };
            let txt = if label == "Income" {
                format!("{} ({})", self.money(shown), shown)
            } else {
                self.money(shown)
            };
            let _ = write!(
                o,
                "<tr><td>{label}</td><td class=\"n\">{}</td></tr>",
                e(&txt)
            );
        }
        let _ = write!(
            o,
            "<tr><th>Closing balance</th><th class=\"n\" id=\"closing\">{}</th></tr></table>",
            self.money(self.closing)
        );
        o.push_str("<h2>Income by DSP and territory</h2><table><tr><th>DSP</th><th>Territory</th><th class=\"n\">Units</th><th class=\"n\">Amount</th></tr>");
        for ((dsp, t), (u, a)) in self.by_dsp_territory() {
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{u}</td><td class=\"n\">{}</td></tr>",
                e(&dsp),
                e(&t),
                a
            );
        }
        o.push_str("</table><h2>Income lines</h2><table id=\"lines\"><tr><th>DSP</th><th>Territory</th><th>Track</th><th>Usage period</th><th class=\"n\">Units</th><th class=\"n\">Before fee</th><th class=\"n\">Amount</th><th>How it was worked out</th></tr>");
        for l in &self.lines {
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}<br><span class=\"f\">{}</span></td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"f\">{}<br>from {}</td></tr>",
                e(&l.dsp),
                e(&l.territory),
                e(&l.isrc),
                e(&l.upc),
                e(&l.usage_period),
                l.units,
                l.gross,
                l.amount,
                e(&l.formula),
                e(&l.source)
            );
        }
        o.push_str("</table><p class=\"f\">Amounts are exact until the period is closed; the payee's balance is rounded once per period (largest remainder), and the difference is shown above.</p></body></html>\n");
        o
    }
}
