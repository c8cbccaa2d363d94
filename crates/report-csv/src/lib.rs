//! Sales reports in CSV/TSV layouts, read through a column mapping kept in TOML
//! (`deploy/report-formats/*.toml`) into the same usage lines and [`dsr::ReportInfo`] as a
//! DSR file, so matching and booking are one code path.
//!
//! Each line carries its own money. Lines are grouped into sales contexts (territory,
//! commercial model, currency, usage month), which play the part of DSR summaries.
//! Dates come in the forms found in the wild (`2026-10`, `202610`, `2026M10`, `Oct 2026`,
//! `10/15/2026`, Excel serials …), countries as codes or names.

mod countries;

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;

use model::Fine;
use serde::Deserialize;

/// Which reader a report needs.
#[derive(Debug, Clone)]
pub enum Format {
    Dsr,
    Csv(Box<Layout>),
}

/// A CSV layout: which column holds what.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layout {
    /// Set from the file name (`spotify.toml` → `spotify`) when absent.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The DSP profile this layout's reports come from, when it is one DSP's own export.
    pub dsp: Option<String>,
    /// `,` or `\t` (`tab` is accepted).
    #[serde(default = "comma")]
    pub delimiter: String,
    /// Preamble lines before the header row.
    #[serde(default)]
    pub skip_rows: usize,
    /// How to read `1/2/2026`: `mdy` (US exports) or `dmy`.
    #[serde(default = "mdy")]
    pub date_order: String,
    pub columns: Columns,
    #[serde(default)]
    pub defaults: Defaults,
    /// Values of the commercial-model column mapped to DDEX CommercialModelType
    /// (case-insensitive): `premium = "SubscriptionModel"`.
    #[serde(default)]
    pub commercial_models: BTreeMap<String, String>,
}

fn comma() -> String {
    ",".into()
}
fn mdy() -> String {
    "mdy".into()
}

/// Column names in the file's header row. Only `units` and an amount are required.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Columns {
    pub isrc: Option<String>,
    pub upc: Option<String>,
    pub dsp_track_id: Option<String>,
    pub dsp_release_id: Option<String>,
    pub title: Option<String>,
    pub artist: Option<String>,
    pub territory: Option<String>,
    pub units: String,
    /// Units returned (refunds), taken off `units`.
    pub returns: Option<String>,
    /// The net amount payable, in `currency`.
    pub amount: Option<String>,
    pub currency: Option<String>,
    /// Or: an amount in the transaction currency and the rate that converts it.
    pub transaction_amount: Option<String>,
    pub exchange_rate: Option<String>,
    /// The usage month (or day) of the line; or `usage_start` and `usage_end`.
    pub usage_date: Option<String>,
    pub usage_start: Option<String>,
    pub usage_end: Option<String>,
    pub commercial_model: Option<String>,
    pub service: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    pub currency: Option<String>,
    pub commercial_model: Option<String>,
    pub territory: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct LayoutError {
    pub file: String,
    pub message: String,
}

impl Layout {
    pub fn parse(text: &str, path: &Path) -> Result<Layout, LayoutError> {
        let file = path.display().to_string();
        let mut l: Layout = toml::from_str(text).map_err(|e| LayoutError {
            file: file.clone(),
            message: e.to_string(),
        })?;
        if l.name.is_empty() {
            l.name = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default()
                .to_owned();
        }
        if l.delimiter == "tab" {
            l.delimiter = "\t".into();
        }
        let bad = |m: &str| {
            Err(LayoutError {
                file: file.clone(),
                message: m.to_owned(),
            })
        };
        if l.delimiter.len() != 1 {
            return bad("delimiter must be one character (or \"tab\")");
        }
        if l.columns.amount.is_none()
            && (l.columns.transaction_amount.is_none() || l.columns.exchange_rate.is_none())
        {
            return bad("columns: name `amount`, or both `transaction_amount` and `exchange_rate`");
        }
        if l.columns.currency.is_none() && l.defaults.currency.is_none() {
            return bad("name a `currency` column or a `defaults.currency`");
        }
        if !matches!(l.date_order.as_str(), "mdy" | "dmy") {
            return bad("date_order is mdy or dmy");
        }
        l.commercial_models = l
            .commercial_models
            .into_iter()
            .map(|(k, v)| (k.to_lowercase(), v))
            .collect();
        Ok(l)
    }

    /// All layouts in a folder, by name.
    pub fn load_dir(dir: &Path) -> Result<BTreeMap<String, Layout>, LayoutError> {
        let mut out = BTreeMap::new();
        let rd = std::fs::read_dir(dir).map_err(|e| LayoutError {
            file: dir.display().to_string(),
            message: e.to_string(),
        })?;
        let mut paths: Vec<_> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        for p in paths {
            let text = std::fs::read_to_string(&p).map_err(|e| LayoutError {
                file: p.display().to_string(),
                message: e.to_string(),
            })?;
            let l = Layout::parse(&text, &p)?;
            out.insert(l.name.clone(), l);
        }
        Ok(out)
    }
}

/// A country as reports write it (`US`, `USA`, `United States`, `UNITED STATES`) → `US`.
/// `WW` and `Worldwide` stay `Worldwide`.
pub fn country(s: &str) -> Option<&'static str> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("ww")
        || t.eq_ignore_ascii_case("worldwide")
        || t.eq_ignore_ascii_case("world")
    {
        return Some("Worldwide");
    }
    countries::COUNTRIES.iter().find_map(|(a2, a3, names)| {
        (t.eq_ignore_ascii_case(a2)
            || t.eq_ignore_ascii_case(a3)
            || names.iter().any(|n| n.eq_ignore_ascii_case(t)))
        .then_some(*a2)
    })
}

/// The English short name of an ISO 3166-1 alpha-2 code (`JP` → `Japan`), for statements;
/// `Worldwide` for the world.
pub fn country_name(code: &str) -> Option<&'static str> {
    if code.eq_ignore_ascii_case("ww") || code.eq_ignore_ascii_case("worldwide") {
        return Some("Worldwide");
    }
    countries::COUNTRIES
        .iter()
        .find(|(a2, _, _)| a2.eq_ignore_ascii_case(code))
        .and_then(|(_, _, names)| names.first().copied())
}

/// Every ISO 3166-1 alpha-2 code with its English short name.
pub fn country_names() -> impl Iterator<Item = (&'static str, &'static str)> {
    countries::COUNTRIES
        .iter()
        .filter_map(|(a2, _, names)| names.first().map(|n| (*a2, *n)))
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

/// A date as reports write it → `YYYY-MM-DD`, or `YYYY-MM` when only the month is given.
/// `mdy` says how to read `1/2/2026`.
pub fn date(s: &str, mdy: bool) -> Option<String> {
    let t = s.trim();
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|c| c.is_ascii_digit());
    let ym = |y: i32, m: u32| {
        ((1900..=2200).contains(&y) && (1..=12).contains(&m)).then(|| format!("{y:04}-{m:02}"))
    };
    let ymd = |y: i32, m: u32, d: u32| {
        let days = [
            31,
            if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 {
                29
            } else {
                28
            },
            31,
            30,
            31,
            30,
            31,
            31,
            30,
            31,
            30,
            31,
        ];
        ((1900..=2200).contains(&y)
            && (1..=12).contains(&m)
            && d >= 1
            && d <= days[(m - 1) as usize])
            .then(|| format!("{y:04}-{m:02}-{d:02}"))
    };
    // 2026-10, 2026-10-15, 2026/10/15
    let parts: Vec<&str> = t.split(['-', '/', '.']).collect();
    if parts.iter().all(|p| digits(p)) {
        let n: Vec<i64> = parts.iter().filter_map(|p| p.parse().ok()).collect();
        match (parts.len(), parts[0].len()) {
            (2, 4) => return ym(n[0] as i32, n[1] as u32),
            (3, 4) => return ymd(n[0] as i32, n[1] as u32, n[2] as u32),
            (2, _) if parts[1].len() == 4 => return ym(n[1] as i32, n[0] as u32), // 10/2026
            (3, _) if parts[2].len() == 4 => {
                let (m, d) = if mdy && !t.contains('.') {
                    (n[0], n[1])
                } else {
                    (n[1], n[0])
                };
                return ymd(n[2] as i32, m as u32, d as u32);
            }
            (1, 6) => return ym(n[0] as i32 / 100, (n[0] % 100) as u32), // 202610
            (1, 8) => {
                return ymd(
                    (n[0] / 10000) as i32,
                    ((n[0] / 100) % 100) as u32,
                    (n[0] % 100) as u32,
                );
            } // 20261015
            (1, 5) => {
                // An Excel serial day (1900 system, counting its phantom 29 Feb 1900).
                let days = n[0] - 25569; // days since 1970-01-01
                let (y, m, d) = civil_from_days(days);
                return ymd(y, m, d);
            }
            _ => return None,
        }
    }
    // 2026M10, 2026-Q4 is not a month: refused.
    if let Some((y, m)) = t.split_once(['M', 'm'])
        && digits(y)
        && digits(m)
    {
        return ym(y.parse().ok()?, m.parse().ok()?);
    }
    // Oct 2026, October 2026, 2026 Oct
    let words: Vec<&str> = t.split([' ', '-']).filter(|w| !w.is_empty()).collect();
    if words.len() == 2 {
        let month = |w: &str| {
            MONTHS
                .iter()
                .position(|m| w.len() >= 3 && w.to_lowercase().starts_with(m))
                .map(|i| i as u32 + 1)
        };
        if let (Some(m), true) = (month(words[0]), digits(words[1])) {
            return ym(words[1].parse().ok()?, m);
        }
        if let (true, Some(m)) = (digits(words[0]), month(words[1])) {
            return ym(words[0].parse().ok()?, m);
        }
    }
    None
}

/// Days since 1970-01-01 → (year, month, day): Howard Hinnant's civil_from_days.
fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((if m <= 2 { y + 1 } else { y }) as i32, m, d)
}

/// A money cell: `1,234.56`, `$1.20`, `-0.00789993`, `(1.20)` for a negative.
fn money_cell(s: &str) -> Option<Fine> {
    let t = s.trim();
    let (neg, t) = match t.strip_prefix('(').and_then(|x| x.strip_suffix(')')) {
        Some(inner) => (true, inner),
        None => (false, t),
    };
    let t: String = t
        .chars()
        .filter(|c| !matches!(c, '$' | '€' | '£' | ' '))
        .collect();
    // Commas only as thousands separators (`1,234.56`): `4,80` (a decimal comma) is refused,
    // never read as 480.
    let (int, frac) = t.split_once('.').unwrap_or((&t, ""));
    if frac.contains(',') {
        return None;
    }
    if int.contains(',') {
        let groups: Vec<&str> = int.trim_start_matches('-').split(',').collect();
        let ok = (1..=3).contains(&groups[0].len()) && groups[1..].iter().all(|g| g.len() == 3);
        if !ok {
            return None;
        }
    }
    let f = dsr::numbers::amount(&t.replace(',', "")).ok()?;
    Some(if neg { -f } else { f })
}

/// Reads one CSV file of a report, adding its contexts to `info` and handing every line to
/// `sink`. `file` is the file's index in the report.
pub fn read(
    layout: &Layout,
    name: &str,
    file: usize,
    input: impl Read,
    info: &mut dsr::ReportInfo,
    sink: &mut dyn FnMut(&dsr::UsageLine<'_>),
) -> Result<(), std::io::Error> {
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(layout.delimiter.as_bytes()[0])
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut record = csv::StringRecord::new();
    let mut line: u64 = 0;
    let finding = |info: &mut dsr::ReportInfo, line: u64, message: String| {
        if info.findings.len() < 200 {
            info.findings.push(dsr::Finding {
                severity: dsr::Severity::Error,
                file: name.to_owned(),
                line,
                record: "CSV".into(),
                message,
            });
        }
    };
    // Preamble, then the header row.
    let mut header: Option<csv::StringRecord> = None;
    while rdr.read_record(&mut record).map_err(csv_io)? {
        line += 1;
        if line as usize > layout.skip_rows {
            header = Some(record.clone());
            break;
        }
    }
    let Some(header) = header else {
        finding(info, 0, "the file has no header row".into());
        return Ok(());
    };
    let col = |n: &Option<String>| -> Result<Option<usize>, String> {
        match n {
            None => Ok(None),
            Some(n) => header
                .iter()
                .position(|h| {
                    h.trim()
                        .trim_start_matches('\u{feff}')
                        .eq_ignore_ascii_case(n)
                })
                .map(Some)
                .ok_or_else(|| {
                    format!(
                        "the header row has no column {n:?} (layout {}); it has: {}",
                        layout.name,
                        header.iter().collect::<Vec<_>>().join(", ")
                    )
                }),
        }
    };
    let c = &layout.columns;
    let resolved: Result<Vec<Option<usize>>, String> = [
        &c.isrc,
        &c.upc,
        &c.dsp_track_id,
        &c.dsp_release_id,
        &c.title,
        &c.artist,
        &c.territory,
        &Some(c.units.clone()),
        &c.returns,
        &c.amount,
        &c.currency,
        &c.transaction_amount,
        &c.exchange_rate,
        &c.usage_date,
        &c.usage_start,
        &c.usage_end,
        &c.commercial_model,
        &c.service,
    ]
    .iter()
    .map(|n| col(n))
    .collect();
    let cols = match resolved {
        Ok(v) => v,
        Err(e) => {
            finding(info, line, e);
            return Ok(());
        }
    };
    let [
        isrc,
        upc,
        track_id,
        release_id,
        title,
        artist,
        territory,
        units,
        returns,
        amount,
        currency,
        tx_amount,
        rate,
        udate,
        ustart,
        uend,
        model,
        service,
    ] = cols[..]
    else {
        return Ok(());
    };
    let mdy = layout.date_order == "mdy";
    let mut contexts: HashMap<(String, String, String, String, String), usize> = HashMap::new();
    for (i, s) in info.summaries.iter().enumerate() {
        contexts.insert(
            (
                s.territory.clone(),
                s.commercial_model.clone(),
                s.currency.clone(),
                s.usage_period.clone(),
                s.service.clone(),
            ),
            i,
        );
    }
    if info.header.message_id.is_empty() {
        info.header.message_id = name.to_owned();
        info.header.sender_name = layout.dsp.clone().unwrap_or_else(|| layout.name.clone());
    }

    let mut usage_lines: u64 = 0;
    while rdr.read_record(&mut record).map_err(csv_io)? {
        line += 1;

        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let get = |i: Option<usize>| i.and_then(|i| record.get(i)).unwrap_or("").trim();
        let cname = |n: &Option<String>| n.clone().unwrap_or_default();
        let u_raw = get(units);
        // Units may be negative here (a refund line in a store's report).
        let mut u = match dsr::numbers::signed_count(&u_raw.replace(',', "")) {
            Ok(u) => u,
            Err(e) => {
                finding(info, line, format!("column {:?}: {e}", c.units));
                continue;
            }
        };
        if let Some(r) = returns {
            let raw = get(Some(r));
            if !raw.is_empty() {
                match dsr::numbers::count(raw).map(|v| u.checked_sub(v)) {
                    Ok(Some(net)) => u = net,
                    Ok(None) => {
                        finding(
                            info,
                            line,
                            format!("column {:?}: {raw:?} is too large", cname(&c.returns)),
                        );
                        continue;
                    }
                    Err(e) => {
                        finding(info, line, format!("column {:?}: {e}", cname(&c.returns)));
                        continue;
                    }
                }
            }
        }
        let money = if let Some(a) = amount {
            let raw = get(Some(a));
            match money_cell(raw) {
                Some(m) => m,
                None => {
                    finding(
                        info,
                        line,
                        format!(
                            "column {:?}: {raw:?} is not a decimal amount",
                            cname(&c.amount)
                        ),
                    );
                    continue;
                }
            }
        } else {
            let (ta, tr) = (get(tx_amount), get(rate));
            match (money_cell(ta), Fine::parse(tr).ok().filter(|r| r.0 > 0)) {
                (Some(a), Some(r)) => match a.0.checked_mul(r.0) {
                    // amount × rate, both at 10^-18: divide the product's scale back out.
                    Some(p) => Fine(p / model::FINE_ONE),
                    None => {
                        finding(info, line, format!("{ta} × {tr} is too large"));
                        continue;
                    }
                },
                _ => {
                    finding(
                        info,
                        line,
                        format!(
                            "columns {:?} / {:?}: {ta:?} × {tr:?} is not an amount and a positive rate",
                            cname(&c.transaction_amount),
                            cname(&c.exchange_rate)
                        ),
                    );
                    continue;
                }
            }
        };
        let cur_raw = if currency.is_some() {
            get(currency).to_owned()
        } else {
            layout.defaults.currency.clone().unwrap_or_default()
        };
        let cur = match model::Currency::parse(&cur_raw) {
            Ok(c) => c.code().to_owned(),
            Err(e) => {
                finding(info, line, format!("column {:?}: {e}", cname(&c.currency)));
                continue;
            }
        };
        let terr_raw = if territory.is_some() {
            get(territory).to_owned()
        } else {
            layout
                .defaults
                .territory
                .clone()
                .unwrap_or_else(|| "Worldwide".into())
        };
        let Some(terr) = country(&terr_raw) else {
            finding(
                info,
                line,
                format!(
                    "column {:?}: {terr_raw:?} is not a country code or name",
                    cname(&c.territory)
                ),
            );
            continue;
        };
        let period = if udate.is_some() {
            let raw = get(udate);
            match date(raw, mdy) {
                Some(d) => d[..7].to_owned(),
                None => {
                    finding(
                        info,
                        line,
                        format!("column {:?}: {raw:?} is not a date", cname(&c.usage_date)),
                    );
                    continue;
                }
            }
        } else if ustart.is_some() {
            let (s, e) = (get(ustart), get(uend));
            match (
                date(s, mdy),
                if uend.is_some() {
                    date(e, mdy)
                } else {
                    date(s, mdy)
                },
            ) {
                (Some(a), Some(b)) if a[..7] == b[..7] => a[..7].to_owned(),
                (Some(a), Some(b)) => format!("{a}--{b}"),
                _ => {
                    finding(
                        info,
                        line,
                        format!("usage dates {s:?} / {e:?} are not dates"),
                    );
                    continue;
                }
            }
        } else {
            String::new()
        };
        let m_raw = if model.is_some() {
            get(model).to_owned()
        } else {
            layout.defaults.commercial_model.clone().unwrap_or_default()
        };
        let cm = layout
            .commercial_models
            .get(&m_raw.to_lowercase())
            .cloned()
            .unwrap_or(m_raw);
        let svc = get(service).to_owned();
        let key = (
            terr.to_owned(),
            cm.clone(),
            cur.clone(),
            period.clone(),
            svc.clone(),
        );
        let si = match contexts.get(&key) {
            Some(&i) => i,
            None => {
                let i = info.summaries.len();
                info.summaries.push(dsr::Summary {
                    id: format!("C{}", i + 1),
                    record: "CSV".into(),
                    line,
                    commercial_model: cm,
                    use_type: String::new(),
                    territory: terr.to_owned(),
                    service: svc,
                    rights_type: String::new(),
                    rights_controller: String::new(),
                    usages: None,
                    currency: cur,
                    amount: None,
                    currency_of_transaction: String::new(),
                    exchange_rate: get(rate).to_owned(),
                    usage_period: period.clone(),
                });
                info.summary_units.push(0);
                info.summary_line_money.push(Fine::ZERO);
                info.summary_lines.push(0);
                contexts.insert(key, i);
                i
            }
        };
        // The report's usage span: the earliest start and latest end of its lines.
        let (start, end) = period.split_once("--").unwrap_or((&period, &period));
        if !start.is_empty()
            && (info.header.usage_start.is_empty() || start < info.header.usage_start.as_str())
        {
            info.header.usage_start = start.to_owned();
        }
        if !end.is_empty() && end > info.header.usage_end.as_str() {
            info.header.usage_end = end.to_owned();
        }
        // Checked sums: a crafted file must not wrap around to a matching total.
        let (Some(units_total), Some(money_total)) = (
            info.summary_units[si].checked_add(u),
            info.summary_line_money[si].checked_add(money),
        ) else {
            finding(info, line, "the file's units or amounts add up past what Liner can hold exactly (too large to be real)".into());
            continue;
        };
        info.summary_units[si] = units_total;
        info.summary_line_money[si] = money_total;
        info.summary_lines[si] += 1;
        usage_lines += 1;
        let upc_v = get(upc);
        sink(&dsr::UsageLine {
            file,
            line,
            record: "CSV",
            block: 0,
            summary: si,
            transaction_id: "",
            isrc: get(isrc),
            icpn: upc_v,
            dsp_resource_id: get(track_id),
            dsp_release_id: get(release_id),
            proprietary_id: "",
            title: get(title),
            artist: get(artist),
            units: u,
            amount: Some(money),
        });
    }
    info.lines += line;
    info.usage_lines += usage_lines;
    info.files.push(dsr::read::FileInfo {
        name: name.to_owned(),
        number: file as u32 + 1,
        lines: line,
        blocks: 0,
        usage_lines,
    });

    Ok(())
}

fn csv_io(e: csv::Error) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_the_odd_forms_of_real_exports() {
        for (s, want) in [
            ("2026-10", "2026-10"),
            ("2026-10-15", "2026-10-15"),
            ("202610", "2026-10"),
            ("20261015", "2026-10-15"),
            ("2026M10", "2026-10"),
            ("Oct 2026", "2026-10"),
            ("October 2026", "2026-10"),
            ("10/2026", "2026-10"),
            ("10/15/2026", "2026-10-15"),
            ("15.10.2026", "2026-10-15"),
            ("46310", "2026-10-15"),
        ] {
            assert_eq!(date(s, true).as_deref(), Some(want), "{s}");
        }
        assert_eq!(date("15/10/2026", false).as_deref(), Some("2026-10-15"));
        for bad in ["2026-13", "2026-02-30", "yesterday", "2026-Q4", ""] {
            assert_eq!(date(bad, true), None, "{bad}");
        }
    }

    #[test]
    fn countries_by_code_or_name() {
        for (s, want) in [
            ("US", "US"),
            ("usa", "US"),
            ("United States", "US"),
            ("UNITED STATES", "US"),
            ("GBR", "GB"),
            ("France", "FR"),
            ("WW", "Worldwide"),
        ] {
            assert_eq!(country(s), Some(want), "{s}");
        }
        assert_eq!(country("Atlantis"), None);
    }

    #[test]
    fn money_cells() {
        assert_eq!(
            money_cell("1,234.56").map(|f| f.to_decimal()),
            Some("1234.56".into())
        );
        assert_eq!(
            money_cell("(1.20)").map(|f| f.to_decimal()),
            Some("-1.2".into())
        );
        assert_eq!(
            money_cell("$0.00789993").map(|f| f.to_decimal()),
            Some("0.00789993".into())
        );
        assert_eq!(money_cell("1.2e3"), None);
        assert_eq!(
            money_cell("4,80"),
            None,
            "a decimal comma is refused, not read as 480"
        );
        assert_eq!(
            money_cell("1,234,567.5").map(|f| f.to_decimal()),
            Some("1234567.5".into())
        );
        assert_eq!(money_cell("12,34.5"), None);
    }
}
