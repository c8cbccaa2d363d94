//! The streaming reader. One pass over each file, one reused line buffer, cells kept as
//! ranges into it: a report of any size is read in constant memory (what grows is the set
//! of summaries and block ids, never the lines).
//!
//! Records are keyed on their type (`SU02`), never on the version suffix (`.03`): columns come
//! from the file's own `#` caption lines when it has them, else from the built-in table of the
//! Basic Audio and UGC profiles. An unknown minor version is a warning, not a failure.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::BufRead;

use model::Fine;
use serde::Serialize;

use crate::name::FileName;
use crate::numbers;

/// How bad a finding is. `Money` findings refuse the report unless the caller tolerates them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Money,
    Error,
}

/// One thing wrong with a report: where (file, line, record) and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub file: String,
    /// 1-based; 0 when the finding is about the whole file.
    pub line: u64,
    pub record: String,
    pub message: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sev = match self.severity {
            Severity::Warning => "warning",
            Severity::Money => "money",
            Severity::Error => "error",
        };
        if self.line > 0 {
            write!(
                f,
                "{sev}: {}:{}: {}: {}",
                self.file, self.line, self.record, self.message
            )
        } else {
            write!(f, "{sev}: {}: {}", self.file, self.message)
        }
    }
}

/// HEAD (or the legacy FHEA).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Header {
    pub message_version: String,
    pub profile: String,
    pub profile_version: String,
    pub message_id: String,
    pub created: String,
    pub file_number: Option<u32>,
    pub number_of_files: Option<u32>,
    pub usage_start: String,
    pub usage_end: String,
    pub sender_party_id: String,
    pub sender_name: String,
    pub service: String,
    pub recipient_party_id: String,
    pub recipient_name: String,
}

/// A summary record (SYxx): the sales context its usage lines point to, and its money.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub id: String,
    pub record: String,
    pub line: u64,
    pub commercial_model: String,
    pub use_type: String,
    pub territory: String,
    pub service: String,
    pub rights_type: String,
    pub rights_controller: String,
    /// Usages the summary covers (AllocatedUsages when given, else Usages).
    pub usages: Option<i64>,
    pub currency: String,
    /// The money for the recipient: AllocatedNetRevenue when given, else NetRevenue.
    pub amount: Option<Fine>,
    pub currency_of_transaction: String,
    pub exchange_rate: String,
    /// The usage period of this context when it differs from HEAD's (CSV layouts); empty
    /// for DSR, whose usage period is the header's.
    pub usage_period: String,
}

/// One usage line (SU01, SU02, SU03) with the identifiers of what it used, resolved through
/// its block: ISRC and DSP ids from the AS record, ICPN from the RE record.
#[derive(Debug, Clone, Copy)]
pub struct UsageLine<'a> {
    pub file: usize,
    pub line: u64,
    pub record: &'a str,
    pub block: u64,
    /// Index into [`ReportInfo::summaries`].
    pub summary: usize,
    pub transaction_id: &'a str,
    pub isrc: &'a str,
    pub icpn: &'a str,
    pub dsp_resource_id: &'a str,
    pub dsp_release_id: &'a str,
    pub proprietary_id: &'a str,
    pub title: &'a str,
    pub artist: &'a str,
    /// Streams or usages, returns already taken off (may be negative).
    pub units: i64,
    /// Money on the line itself (UGC SU03 NetRevenue); Basic Audio money is in the summary.
    pub amount: Option<Fine>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FileInfo {
    pub name: String,
    pub number: u32,
    pub lines: u64,
    pub blocks: u64,
    pub usage_lines: u64,
}

/// Which escape forms were met: the spec's `\\|` and the lenient `\|` found in the wild.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Escapes {
    pub spec: u64,
    pub lenient: u64,
}

/// Everything known about a report once all its files are read.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReportInfo {
    pub header: Header,
    pub names: Vec<FileName>,
    pub files: Vec<FileInfo>,
    pub summaries: Vec<Summary>,
    /// Per summary: units and line money of the usage lines that point to it.
    pub summary_units: Vec<i64>,
    pub summary_line_money: Vec<Fine>,
    pub summary_lines: Vec<u64>,
    pub lines: u64,
    pub usage_lines: u64,
    pub blocks: u64,
    pub escapes: Escapes,
    pub findings: Vec<Finding>,
}

impl ReportInfo {
    /// Whether the report must be refused: any error, or a money finding unless tolerated.
    pub fn refused(&self, tolerate_money: bool) -> bool {
        self.findings.iter().any(|f| {
            f.severity == Severity::Error || (f.severity == Severity::Money && !tolerate_money)
        })
    }

    /// The money the report carries for the recipient, per currency: each summary's amount,
    /// or for summaries whose lines carry money (UGC), the lines' sum.
    pub fn totals(&self) -> BTreeMap<String, Fine> {
        let mut t = BTreeMap::new();
        for (i, s) in self.summaries.iter().enumerate() {
            *t.entry(s.currency.clone()).or_insert(Fine::ZERO) += self.summary_money(i);
        }
        t
    }

    /// The money to book for one summary: line money where lines carry it, else the summary's.
    pub fn summary_money(&self, i: usize) -> Fine {
        if self.summary_line_money[i] != Fine::ZERO || self.summaries[i].amount.is_none() {
            self.summary_line_money[i]
        } else {
            self.summaries[i].amount.unwrap_or(Fine::ZERO)
        }
    }

    /// Whether a summary's lines carry their own money (UGC) rather than sharing the summary's.
    pub fn lines_carry_money(&self, i: usize) -> bool {
        self.summary_line_money[i] != Fine::ZERO || self.summaries[i].amount.is_none()
    }
}

/// Columns of one record type, by field name, with the hot usage-line columns resolved
/// once (a usage line must not pay for hashing field names).
#[derive(Debug, Clone, Default)]
struct Layout {
    cols: HashMap<&'static str, usize>,
    su: SuCols,
    /// How many cells the record has.
    width: usize,
}

#[derive(Debug, Clone, Copy, Default)]
struct SuCols {
    block: Option<usize>,
    summary: Option<usize>,
    tx: Option<usize>,
    release: Option<usize>,
    resource: Option<usize>,
    dsp_ref: Option<usize>,
    streams: Option<usize>,
    usages: Option<usize>,
    returns: Option<usize>,
    net: Option<usize>,
}

impl Layout {
    fn of(names: &[&str]) -> Layout {
        let mut cols = HashMap::new();
        for (i, n) in names.iter().enumerate() {
            if let Some(k) = FIELDS.iter().find(|f| f.eq_ignore_ascii_case(n)) {
                cols.entry(*k).or_insert(i);
            }
        }
        // Alternative spellings seen in profiles and captions.
        for (alias, field) in [
            ("Currency", "CurrencyOfReporting"),
            ("NumberofFiles", "NumberOfFiles"),
            ("DspResourceId", "DspReleaseId"),
            ("TotalUsages", "Usages"),
            ("Downloads", "Usages"),
        ] {
            if let Some(&i) = cols.get(alias)
                && !cols.contains_key(field)
            {
                cols.insert(field, i);
            }
        }
        let g = |f: &str| cols.get(f).copied();
        let su = SuCols {
            block: g("BlockId"),
            summary: g("SummaryRecordId"),
            tx: g("SalesTransactionId"),
            release: g("TransactedRelease"),
            resource: g("TransactedResource"),
            dsp_ref: g("DspReleaseId"),
            streams: g("NumberOfStreams"),
            usages: g("Usages"),
            returns: g("Returns"),
            net: g("NetRevenue"),
        };
        Layout {
            cols,
            su,
            width: names.len(),
        }
    }

    fn get(&self, f: &str) -> Option<usize> {
        self.cols.get(f).copied()
    }
}

/// The fields the reader uses; any other column is carried past.
const FIELDS: &[&str] = &[
    "MessageVersion",
    "Profile",
    "ProfileVersion",
    "MessageId",
    "MessageCreatedDateTime",
    "FileNumber",
    "NumberOfFiles",
    "UsageStartDate",
    "UsageEndDate",
    "SenderPartyId",
    "SenderName",
    "ServiceDescription",
    "RecipientPartyId",
    "RecipientName",
    "SummaryRecordId",
    "CommercialModel",
    "UseType",
    "Territory",
    "Usages",
    "AllocatedUsages",
    "TotalUsages",
    "Downloads",
    "Currency",
    "CurrencyOfReporting",
    "NetRevenue",
    "AllocatedNetRevenue",
    "RightsController",
    "RightsType",
    "CurrencyOfTransaction",
    "ExchangeRate",
    "BlockId",
    "ReleaseReference",
    "DspReleaseId",
    "ProprietaryReleaseId",
    "ICPN",
    "Title",
    "DisplayArtistName",
    "ResourceReference",
    "DspResourceId",
    "ISRC",
    "SalesTransactionId",
    "TransactedRelease",
    "TransactedResource",
    "NumberOfStreams",
    "Returns",
    "NumberOfLinesInFile",
    "NumberOfLinesInReport",
    "NumberOfSummaryRecords",
    "NumberOfBlocksInFile",
    "NumberOfBlocksInReport",
    "NumberofFiles",
];

/// Built-in columns (Basic Audio 1.2 and UGC 1.2), used when a file has no caption line.
fn default_layout(record: &str) -> Option<Vec<&'static str>> {
    const SY02: &[&str] = &[
        "RecordType",
        "SummaryRecordId",
        "DistributionChannel",
        "DistributionChannelDPID",
        "CommercialModel",
        "UseType",
        "Territory",
        "ServiceDescription",
        "Usages",
        "Users",
        "CurrencyOfReporting",
        "NetRevenue",
        "RightsController",
        "RightsControllerPartyId",
        "AllocatedUsages",
        "AllocatedRevenue",
        "AllocatedNetRevenue",
        "RightsType",
        "ContentCategory",
        "CurrencyOfTransaction",
        "ExchangeRate",
        "RightsTypePercentage",
    ];
    let v: &[&str] = match record {
        "HEAD" => &[
            "RecordType",
            "MessageVersion",
            "Profile",
            "ProfileVersion",
            "MessageId",
            "MessageCreatedDateTime",
            "FileNumber",
            "NumberOfFiles",
            "UsageStartDate",
            "UsageEndDate",
            "SenderPartyId",
            "SenderName",
            "ServiceDescription",
            "RecipientPartyId",
            "RecipientName",
            "RepresentedRepertoire",
        ],
        // The legacy header of early test files.
        "FHEA" => &["RecordType", "MessageId", "FileNumber", "NumberOfFiles"],
        "FOOT" => &[
            "RecordType",
            "NumberOfLinesInFile",
            "NumberOfLinesInReport",
            "NumberOfSummaryRecords",
            "NumberOfBlocksInFile",
            "NumberOfBlocksInReport",
        ],
        "FFOO" => &["RecordType", "NumberOfLinesInFile"],
        "SY01" | "SY06" => &[
            "RecordType",
            "SummaryRecordId",
            "DistributionChannel",
            "DistributionChannelDPID",
            "CommercialModel",
            "UseType",
            "Territory",
            "ServiceDescription",
            "Usages",
            "Subscribers",
            "CurrencyOfReporting",
            "NetRevenue",
            "IndirectNetRevenue",
            "CurrencyOfTransaction",
            "ExchangeRate",
        ],
        "SY02" | "SY03" => SY02,
        "SY09" => &[
            "RecordType",
            "SummaryRecordId",
            "CommercialModel",
            "UseType",
            "Territory",
            "ServiceDescription",
            "SubscriberType",
            "RightsController",
            "RightsControllerPartyId",
            "RightsType",
            "TotalUsages",
            "AllocatedUsages",
            "NetRevenue",
            "IndirectNetRevenue",
            "RightsControllerMarketShare",
            "CurrencyOfReporting",
            "CurrencyOfTransaction",
            "ExchangeRate",
            "RightsTypePercentage",
        ],
        "RE01" => &[
            "RecordType",
            "BlockId",
            "ReleaseReference",
            "DspReleaseId",
            "ProprietaryReleaseId",
            "CatalogNumber",
            "ICPN",
            "DisplayArtistName",
            "DisplayArtistPartyId",
            "Title",
            "SubTitle",
            "ReleaseType",
            "Label",
            "PLine",
            "DataProvider",
        ],
        "AS01" | "AS02" | "AS03" => &[
            "RecordType",
            "BlockId",
            "ResourceReference",
            "DspResourceId",
            "ISRC",
            "Title",
            "SubTitle",
            "DisplayArtistName",
            "DisplayArtistPartyId",
            "Duration",
            "ResourceType",
        ],
        "SU01" => &[
            "RecordType",
            "BlockId",
            "SummaryRecordId",
            "SalesTransactionId",
            "TransactedRelease",
            "TransactedResource",
            "IsRoyaltyBearing",
            "SalesUpgrade",
            "Usages",
            "Returns",
            "PriceConsumerPaidExcSalesTax",
            "PromotionalActivity",
        ],
        "SU02" => &[
            "RecordType",
            "BlockId",
            "SummaryRecordId",
            "SalesTransactionId",
            "TransactedRelease",
            "TransactedResource",
            "IsRoyaltyBearing",
            "NumberOfStreams",
            "PriceConsumerPaidExcSalesTax",
            "PromotionalActivity",
        ],
        "SU03" => &[
            "RecordType",
            "BlockId",
            "SalesTransactionId",
            "SummaryRecordId",
            "DspResourceId",
            "Usages",
            "NetRevenue",
            "ValidityPeriodStart",
            "ValidityPeriodEnd",
        ],
        _ => return None,
    };
    Some(v.to_vec())
}

/// Minor versions the built-in tables were written against; others are read the same way
/// (by field name) with a warning.
fn known_version(base: &str, minor: &str) -> bool {
    match base {
        "SY02" => matches!(minor, "" | "01" | "02" | "03" | "04"),
        "SU02" => matches!(minor, "" | "01" | "02" | "03"),
        "AS01" => matches!(minor, "" | "01" | "02" | "03"),
        "AS02" => matches!(minor, "" | "01" | "02" | "03" | "04"),
        "SU03" | "LI01" | "MW01" | "RU01" | "SU01" | "RE01" => {
            matches!(minor, "" | "01" | "02" | "03")
        }
        _ => true,
    }
}

#[derive(Debug, Default)]
struct BlockRelease {
    reference: String,
    icpn: String,
    dsp_id: String,
    proprietary: String,
}

#[derive(Debug, Default)]
struct BlockResource {
    reference: String,
    isrc: String,
    dsp_id: String,
    title: String,
    artist: String,
}

/// The block ids seen, as sorted disjoint ranges: ids run 1, 2, 3… across a report, so this
/// stays a single range however many blocks there are (memory flat as the report grows),
/// while any repeat is still caught.
#[derive(Debug, Default)]
struct IdRanges {
    ranges: Vec<(u64, u64)>,
}

impl IdRanges {
    /// Adds an id; false if it was there already.
    fn insert(&mut self, id: u64) -> bool {
        // Fast path: the next id in sequence.
        if let Some(last) = self.ranges.last_mut() {
            if id == last.1 + 1 {
                last.1 = id;
                return true;
            }
            if id >= last.0 && id <= last.1 {
                return false;
            }
        }
        let i = self.ranges.partition_point(|r| r.1 < id);
        if i < self.ranges.len() && self.ranges[i].0 <= id {
            return false;
        }
        let joins_prev = i > 0 && self.ranges[i - 1].1 + 1 == id;
        let joins_next = i < self.ranges.len() && self.ranges[i].0 == id + 1;
        match (joins_prev, joins_next) {
            (true, true) => {
                self.ranges[i - 1].1 = self.ranges[i].1;
                self.ranges.remove(i);
            }
            (true, false) => self.ranges[i - 1].1 = id,
            (false, true) => self.ranges[i].0 = id,
            (false, false) => self.ranges.insert(i, (id, id)),
        }
        true
    }
}

/// Reads the files of one report in order and checks them as a whole.
#[derive(Debug, Default)]
pub struct ReportReader {
    info: ReportInfo,
    /// Per record type (a handful): a short list beats hashing on every line.
    layouts: Vec<(String, std::sync::Arc<Layout>)>,
    summary_index: HashMap<String, usize>,
    /// The SY lines of the first file, to check every later file repeats them exactly.
    first_sy: Vec<String>,
    block_ids: IdRanges,
    warned_versions: HashSet<String>,
    warned_short: HashSet<String>,
    warned_unknown: HashSet<String>,
    /// Footer claims of the last file read, checked against the whole report at the end.
    last_footer: Option<(String, u64, Option<u64>, Option<u64>)>,
    header_seen: bool,
}

/// Splits a line into cell ranges. A backslash escapes the next character (so `\<TAB>` is
/// not a separator); the fast path skips that when the line has no backslash.
fn split_cells(line: &[u8], cells: &mut Vec<(usize, usize)>) -> bool {
    cells.clear();
    let has_escape = memchr::memchr(b'\\', line).is_some();
    let mut start = 0;
    if !has_escape {
        for i in memchr::memchr_iter(b'\t', line) {
            cells.push((start, i));
            start = i + 1;
        }
    } else {
        let mut i = 0;
        while i < line.len() {
            match line[i] {
                b'\\' => i += 2,
                b'\t' => {
                    cells.push((start, i));
                    start = i + 1;
                    i += 1;
                }
                _ => i += 1,
            }
        }
    }
    cells.push((start, line.len()));
    has_escape
}

/// A cell's text with escapes resolved: `\\|` (the spec) and `\|` (seen in the wild) are a
/// literal `|`, `\\\` a backslash, `\<TAB>` a tab.
fn unescape(raw: &str, escapes: &mut Escapes) -> String {
    if !raw.contains('\\') {
        return raw.to_owned();
    }
    let mut out = String::with_capacity(raw.len());
    let b: Vec<char> = raw.chars().collect();
    let mut i = 0;
    while i < b.len() {
        if b[i] == '\\' {
            if b.get(i + 1) == Some(&'\\') && b.get(i + 2) == Some(&'|') {
                escapes.spec += 1;
                out.push('|');
                i += 3;
            } else if b.get(i + 1) == Some(&'\\') && b.get(i + 2) == Some(&'\\') {
                out.push('\\');
                i += 3;
            } else if let Some(&c) = b.get(i + 1) {
                if c == '|' {
                    escapes.lenient += 1;
                }
                out.push(c);
                i += 2;
            } else {
                out.push('\\');
                i += 1;
            }
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// Releases and resources one block may describe: a block is one release and its resources
/// (a box set has hundreds); more is a broken or hostile file, and each usage line searches
/// its block's records.
pub const MAX_BLOCK_RECORDS: usize = 10_000;

fn parse_int(b: &[u8]) -> Option<i64> {
    let (neg, d) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        _ => (false, b),
    };
    if d.is_empty() {
        return None;
    }
    let mut v: i64 = 0;
    for &c in d {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(i64::from(c - b'0'))?;
    }
    Some(if neg { -v } else { v })
}

/// The first value of a multi-value cell (`A|B` → `A`); a `\|` inside stays part of it.
fn first_value(s: &str) -> &str {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'|' => return &s[..i],
            _ => i += 1,
        }
    }
    s
}

struct Line<'a> {
    text: &'a str,
    cells: &'a [(usize, usize)],
}

impl<'a> Line<'a> {
    fn cell(&self, i: Option<usize>) -> &'a str {
        match i.and_then(|i| self.cells.get(i)) {
            Some(&(s, e)) => &self.text[s..e],
            None => "",
        }
    }
}

impl ReportReader {
    pub fn new() -> ReportReader {
        ReportReader::default()
    }

    fn find(&mut self, sev: Severity, file: &str, line: u64, record: &str, message: String) {
        // A broken report can repeat one fault a million times; keep the first 200.
        if self.info.findings.len() < 200 {
            self.info.findings.push(Finding {
                severity: sev,
                file: file.to_owned(),
                line,
                record: record.to_owned(),
                message,
            });
        }
    }

    /// A record with fewer cells than its layout is read with the rest empty: say so, once
    /// per record type (the set is only touched for short records).
    fn check_width(
        &mut self,
        name: &str,
        line_no: u64,
        rt: &str,
        base: &str,
        cells: usize,
        l: &Layout,
    ) {
        if cells < l.width && l.width > 2 && self.warned_short.insert(base.to_owned()) {
            self.find(
                Severity::Warning,
                name,
                line_no,
                rt,
                format!(
                    "{base} has {cells} of its {} cells; the missing ones are read as empty (reported once per record type)",
                    l.width
                ),
            );
        }
    }

    fn layout(&mut self, base: &str) -> Option<std::sync::Arc<Layout>> {
        if let Some((_, l)) = self.layouts.iter().find(|(b, _)| b == base) {
            return Some(l.clone());
        }
        let names = default_layout(base)?;
        let l = std::sync::Arc::new(Layout::of(&names));
        self.layouts.push((base.to_owned(), l.clone()));
        Some(l)
    }

    fn set_layout(&mut self, base: &str, l: Layout) {
        self.layouts.retain(|(b, _)| b != base);
        self.layouts.push((base.to_owned(), std::sync::Arc::new(l)));
    }

    /// Reads one file of the report. `name` is its file name (checked against the standard
    /// and against HEAD); each usage line that resolves is handed to `sink`.
    pub fn read_file<R: BufRead>(
        &mut self,
        name: &str,
        mut input: R,
        sink: &mut dyn FnMut(&UsageLine<'_>),
    ) -> std::io::Result<()> {
        let file_idx = self.info.files.len();
        let parsed_name = match FileName::parse(name) {
            Ok(n) => Some(n),
            Err(e) => {
                self.find(
                    Severity::Warning,
                    name,
                    0,
                    "",
                    format!("non-standard file name: {e}"),
                );
                None
            }
        };
        let mut fi = FileInfo {
            name: name.to_owned(),
            number: parsed_name
                .as_ref()
                .map_or(file_idx as u32 + 1, |n| n.number),
            ..FileInfo::default()
        };
        let mut buf: Vec<u8> = Vec::with_capacity(4096);
        let mut cells: Vec<(usize, usize)> = Vec::with_capacity(32);
        let mut line_no: u64 = 0;
        let mut sy_lines: Vec<String> = Vec::new();
        let mut footer: Option<(u64, Vec<Option<i64>>, String)> = None;
        let mut header_in_file = false;
        let mut current_block: Option<u64> = None;
        let mut releases: Vec<BlockRelease> = Vec::new();
        let mut n_rel = 0usize;
        let mut resources: Vec<BlockResource> = Vec::new();
        let mut n_res = 0usize;
        let mut blocks_in_file: u64 = 0;
        let mut in_blocks = false;
        loop {
            buf.clear();
            let n = input.read_until(b'\n', &mut buf)?;
            if n == 0 {
                break;
            }
            line_no += 1;
            let mut end = buf.len();
            if end > 0 && buf[end - 1] == b'\n' {
                end -= 1;
            }
            if end > 0 && buf[end - 1] == b'\r' {
                end -= 1;
            }
            let raw = &buf[..end];
            if raw.is_empty() {
                continue;
            }
            let text = match std::str::from_utf8(raw) {
                Ok(t) => t,
                Err(e) => {
                    self.find(
                        Severity::Error,
                        name,
                        line_no,
                        "",
                        format!("not UTF-8 at byte {} of the line", e.valid_up_to()),
                    );
                    continue;
                }
            };
            if footer.is_some() {
                self.find(Severity::Error, name, line_no, "", "line after FOOT".into());
            }
            if let Some(caption) = text.strip_prefix('#') {
                // A caption names the columns of a record type: use it over the built-in table.
                let names: Vec<&str> = caption.split('\t').collect();
                if let Some(first) = names.first() {
                    let base = first.split('.').next().unwrap_or(first);
                    if base.len() == 4 && base.bytes().all(|c| c.is_ascii_alphanumeric()) {
                        let mut full = vec!["RecordType"];
                        full.extend(&names[1..]);
                        let layout = Layout::of(&full);
                        // A HEAD caption describes FHEA too in the legacy files, but not its
                        // columns: only adopt captions whose record type actually appears.
                        self.set_layout(base, layout);
                    }
                }
                continue;
            }
            let escaped = split_cells(raw, &mut cells);
            let line = Line {
                text,
                cells: &cells,
            };
            let rt_full = line.cell(Some(0));
            let (base, minor) = rt_full.split_once('.').unwrap_or((rt_full, ""));
            // A control character (a NUL in a title, say) would be stored and shown as is.
            if let Some(at) = raw.iter().position(|&b| b < 0x20 && b != b'\t') {
                self.find(
                    Severity::Error,
                    name,
                    line_no,
                    rt_full,
                    format!(
                        "a control character (U+{:04X}) at byte {} of the line; only tabs separate cells",
                        raw[at],
                        at + 1
                    ),
                );
                continue;
            }
            if !known_version(base, minor) && self.warned_versions.insert(rt_full.to_owned()) {
                let msg = format!(
                    "record version {rt_full} is newer than the built-in tables; read by column name"
                );
                self.find(Severity::Warning, name, line_no, rt_full, msg);
            }
            match base {
                "HEAD" | "FHEA" => {
                    if base == "FHEA" {
                        // Legacy files caption HEAD but write FHEA: the caption does not fit.
                        self.layouts.retain(|(b, _)| b != "FHEA");
                    }
                    let Some(l) = self.layout(base) else { continue };
                    header_in_file = true;
                    let h = Header {
                        message_version: line.cell(l.get("MessageVersion")).into(),
                        profile: line.cell(l.get("Profile")).into(),
                        profile_version: line.cell(l.get("ProfileVersion")).into(),
                        message_id: line.cell(l.get("MessageId")).into(),
                        created: line.cell(l.get("MessageCreatedDateTime")).into(),
                        file_number: line.cell(l.get("FileNumber")).parse().ok(),
                        number_of_files: line.cell(l.get("NumberOfFiles")).parse().ok(),
                        usage_start: line.cell(l.get("UsageStartDate")).into(),
                        usage_end: line.cell(l.get("UsageEndDate")).into(),
                        sender_party_id: line.cell(l.get("SenderPartyId")).into(),
                        sender_name: line.cell(l.get("SenderName")).into(),
                        service: line.cell(l.get("ServiceDescription")).into(),
                        recipient_party_id: line.cell(l.get("RecipientPartyId")).into(),
                        recipient_name: line.cell(l.get("RecipientName")).into(),
                    };
                    self.check_header(name, line_no, rt_full, &h, parsed_name.as_ref(), file_idx);
                    if !self.header_seen {
                        self.info.header = h;
                        self.header_seen = true;
                    }
                }
                b if b.starts_with("SY") => {
                    if in_blocks {
                        self.find(
                            Severity::Error,
                            name,
                            line_no,
                            rt_full,
                            "summary record after the first block".into(),
                        );
                    }
                    sy_lines.push(text.to_owned());
                    if file_idx > 0 {
                        continue; // repeated set; compared with the first file's below
                    }
                    let Some(l) = self.layout(base) else { continue };
                    self.check_width(name, line_no, rt_full, base, cells.len(), &l);
                    self.add_summary(name, line_no, rt_full, &line, &l);
                }
                "FOOT" | "FFOO" | "SRFO" => {
                    let Some(l) = self.layout(base) else { continue };
                    let vals = [
                        "NumberOfLinesInFile",
                        "NumberOfLinesInReport",
                        "NumberOfSummaryRecords",
                        "NumberOfBlocksInFile",
                        "NumberOfBlocksInReport",
                    ]
                    .iter()
                    .map(|f| parse_int(line.cell(l.get(f)).as_bytes()))
                    .collect();
                    footer = Some((line_no, vals, base.to_owned()));
                }
                _ => {
                    // A block record: BlockId in column 1 by every profile.
                    let Some(l) = self.layout(base).or_else(|| {
                        Some(std::sync::Arc::new(Layout::of(&["RecordType", "BlockId"])))
                    }) else {
                        continue;
                    };
                    let su = l.su;
                    self.check_width(name, line_no, rt_full, base, cells.len(), &l);
                    let Some(block) = parse_int(line.cell(su.block).as_bytes())
                        .and_then(|b| u64::try_from(b).ok())
                    else {
                        self.find(
                            Severity::Error,
                            name,
                            line_no,
                            rt_full,
                            format!("BlockId {:?} is not a number", line.cell(su.block)),
                        );
                        continue;
                    };
                    in_blocks = true;
                    if current_block != Some(block) {
                        if !self.block_ids.insert(block) {
                            self.find(
                                Severity::Error,
                                name,
                                line_no,
                                rt_full,
                                format!(
                                    "BlockId {block} was used before in this report; block ids must be unique across all its files"
                                ),
                            );
                        }
                        current_block = Some(block);
                        blocks_in_file += 1;
                        n_rel = 0;
                        n_res = 0;
                    }
                    let mut esc = |s: &str| -> String {
                        if escaped {
                            unescape(s, &mut self.info.escapes)
                        } else {
                            s.to_owned()
                        }
                    };
                    match base {
                        "RE01" | "AS01" | "AS02" | "AS03" if n_rel + n_res >= MAX_BLOCK_RECORDS => {
                            self.find(
                                Severity::Error,
                                name,
                                line_no,
                                rt_full,
                                format!(
                                    "block {block} describes more than {MAX_BLOCK_RECORDS} releases and resources; a block describes one release"
                                ),
                            );
                            continue;
                        }
                        "RE01" => {
                            if releases.len() <= n_rel {
                                releases.push(BlockRelease::default());
                            }
                            let r = &mut releases[n_rel];
                            n_rel += 1;
                            set(&mut r.reference, line.cell(l.get("ReleaseReference")));
                            set(&mut r.icpn, first_value(line.cell(l.get("ICPN"))));
                            set(&mut r.dsp_id, first_value(line.cell(l.get("DspReleaseId"))));
                            set(
                                &mut r.proprietary,
                                first_value(line.cell(l.get("ProprietaryReleaseId"))),
                            );
                        }
                        "AS01" | "AS02" | "AS03" => {
                            if resources.len() <= n_res {
                                resources.push(BlockResource::default());
                            }
                            let title = esc(line.cell(l.get("Title")));
                            let artist = esc(line.cell(l.get("DisplayArtistName")));
                            let r = &mut resources[n_res];
                            n_res += 1;
                            set(&mut r.reference, line.cell(l.get("ResourceReference")));
                            set(&mut r.isrc, first_value(line.cell(l.get("ISRC"))));
                            set(
                                &mut r.dsp_id,
                                first_value(line.cell(l.get("DspResourceId"))),
                            );
                            r.title = title;
                            r.artist = artist;
                        }
                        "SU01" | "SU02" | "SU03" => {
                            fi.usage_lines += 1;
                            let sid = line.cell(su.summary);
                            let Some(&summary) = self.summary_index.get(sid) else {
                                self.find(
                                    Severity::Error,
                                    name,
                                    line_no,
                                    rt_full,
                                    format!(
                                        "SummaryRecordId {sid:?} resolves to no summary record"
                                    ),
                                );
                                continue;
                            };
                            let (units_col, units_idx) = if base == "SU02" {
                                ("NumberOfStreams", su.streams)
                            } else {
                                ("Usages", su.usages)
                            };
                            let units_raw = line.cell(units_idx);
                            let mut units = match numbers::count(units_raw) {
                                Ok(u) => u,
                                Err(e) => {
                                    self.find(
                                        Severity::Error,
                                        name,
                                        line_no,
                                        rt_full,
                                        format!("{units_col} {e}"),
                                    );
                                    continue;
                                }
                            };
                            let returns_raw = line.cell(su.returns);
                            if base == "SU01" && !returns_raw.is_empty() {
                                match numbers::count(returns_raw) {
                                    Ok(r) if r <= units => units -= r,
                                    Ok(r) => {
                                        self.find(Severity::Error, name, line_no, rt_full, format!("NumberOfReturns {r} is more than the line's {units} usages"));
                                        continue;
                                    }
                                    Err(e) => {
                                        self.find(
                                            Severity::Error,
                                            name,
                                            line_no,
                                            rt_full,
                                            format!("NumberOfReturns {e}"),
                                        );
                                        continue;
                                    }
                                }
                            }
                            let amount = if base == "SU03" {
                                let raw = line.cell(su.net);
                                if raw.is_empty() {
                                    None
                                } else {
                                    match numbers::amount(raw) {
                                        Ok(f) => Some(f),
                                        Err(e) => {
                                            self.find(
                                                Severity::Error,
                                                name,
                                                line_no,
                                                rt_full,
                                                format!("NetRevenue {e}"),
                                            );
                                            continue;
                                        }
                                    }
                                }
                            } else {
                                None
                            };
                            // What the line used: TransactedResource/Release point into the
                            // block; UGC lines name the DSP id; a one-resource block needs neither.
                            let res_ref = line.cell(su.resource);
                            let rel_ref = line.cell(su.release);
                            let dsp_ref = line.cell(su.dsp_ref);
                            let res = resources[..n_res].iter().find(|r| {
                                (!res_ref.is_empty() && r.reference == res_ref)
                                    || (!dsp_ref.is_empty() && r.dsp_id == first_value(dsp_ref))
                            });
                            let res = match res {
                                Some(r) => Some(r),
                                None if res_ref.is_empty() && rel_ref.is_empty() && n_res == 1 => {
                                    resources.first()
                                }
                                None => None,
                            };
                            let rel = releases[..n_rel]
                                .iter()
                                .find(|r| !rel_ref.is_empty() && r.reference == rel_ref)
                                .or(if n_rel == 1 { releases.first() } else { None });
                            let dangling = (!res_ref.is_empty() && res.is_none())
                                || (!rel_ref.is_empty()
                                    && !releases[..n_rel].iter().any(|r| r.reference == rel_ref))
                                || (res.is_none() && rel.is_none());
                            if dangling {
                                self.find(
                                    Severity::Error,
                                    name,
                                    line_no,
                                    rt_full,
                                    format!(
                                        "points to {} which block {block} does not describe",
                                        if !res_ref.is_empty() && res.is_none() {
                                            format!("resource {res_ref:?}")
                                        } else if !rel_ref.is_empty() {
                                            format!("release {rel_ref:?}")
                                        } else {
                                            format!("DSP id {dsp_ref:?}")
                                        }
                                    ),
                                );
                                continue;
                            }
                            // Checked sums: a crafted report must not wrap around to a total
                            // that happens to match its summary.
                            let Some(total_units) =
                                self.info.summary_units[summary].checked_add(units)
                            else {
                                self.find(Severity::Error, name, line_no, rt_full, format!("the usages of summary {sid:?} add up past {} (too large to be real)", i64::MAX));
                                continue;
                            };
                            let total_money = match amount {
                                Some(a) => {
                                    match self.info.summary_line_money[summary].checked_add(a) {
                                        Some(t) => Some(t),
                                        None => {
                                            self.find(Severity::Error, name, line_no, rt_full, format!("the amounts of summary {sid:?} add up past what Liner can hold exactly"));
                                            continue;
                                        }
                                    }
                                }
                                None => None,
                            };
                            self.info.summary_units[summary] = total_units;
                            self.info.summary_lines[summary] += 1;
                            if let Some(t) = total_money {
                                self.info.summary_line_money[summary] = t;
                            }
                            // A release-level sale (an album download) names the release only.
                            let by_release = !rel_ref.is_empty() && res_ref.is_empty();
                            let u = UsageLine {
                                file: file_idx,
                                line: line_no,
                                record: rt_full,
                                block,
                                summary,
                                transaction_id: line.cell(su.tx),
                                isrc: if by_release {
                                    ""
                                } else {
                                    res.map_or("", |r| r.isrc.as_str())
                                },
                                icpn: rel.map_or("", |r| r.icpn.as_str()),
                                dsp_resource_id: if by_release {
                                    ""
                                } else {
                                    res.map_or("", |r| r.dsp_id.as_str())
                                },
                                dsp_release_id: rel.map_or("", |r| r.dsp_id.as_str()),
                                proprietary_id: rel.map_or("", |r| r.proprietary.as_str()),
                                title: res.map_or("", |r| r.title.as_str()),
                                artist: res.map_or("", |r| r.artist.as_str()),
                                units,
                                amount,
                            };
                            sink(&u);
                        }
                        other => {
                            if default_layout(other).is_none()
                                && self.warned_unknown.insert(other.to_owned())
                            {
                                self.find(
                                    Severity::Warning,
                                    name,
                                    line_no,
                                    rt_full,
                                    format!(
                                        "record type {other} is not one Liner reads; its lines are skipped (reported once per record type)"
                                    ),
                                );
                            }
                        }
                    }
                }
            }
        }
        fi.lines = line_no;
        fi.blocks = blocks_in_file;
        if !header_in_file {
            self.find(
                Severity::Error,
                name,
                0,
                "HEAD",
                "the file has no HEAD record".into(),
            );
        }
        if file_idx == 0 {
            self.first_sy = sy_lines;
            if self.info.summaries.is_empty() {
                self.find(
                    Severity::Error,
                    name,
                    0,
                    "SY",
                    "the report has no summary record (SYxx)".into(),
                );
            }
        } else if sy_lines != self.first_sy {
            self.find(
                Severity::Error,
                name,
                0,
                "SY",
                format!(
                    "the summary records differ from those of the first file ({} against {} lines); every file of a report repeats the identical set",
                    sy_lines.len(),
                    self.first_sy.len()
                ),
            );
        }
        match footer {
            None => self.find(
                Severity::Error,
                name,
                0,
                "FOOT",
                "the file has no FOOT record".into(),
            ),
            Some((fl, vals, rt)) => {
                let rt = rt.as_str();
                let claim = |what: &str, got: Option<i64>, actual: u64, this: &mut Self| {
                    if let Some(g) = got
                        && g != actual as i64
                    {
                        this.find(
                            Severity::Error,
                            name,
                            fl,
                            rt,
                            format!("{what} says {g}, the file has {actual}"),
                        );
                    }
                };
                claim("NumberOfLinesInFile", vals[0], line_no, self);
                claim(
                    "NumberOfSummaryRecords",
                    vals[2],
                    self.first_sy.len() as u64,
                    self,
                );
                claim("NumberOfBlocksInFile", vals[3], blocks_in_file, self);
                self.last_footer = Some((
                    name.to_owned(),
                    fl,
                    vals[1].and_then(|v| u64::try_from(v).ok()),
                    vals[4].and_then(|v| u64::try_from(v).ok()),
                ));
            }
        }
        self.info.lines += line_no;
        self.info.blocks += blocks_in_file;
        self.info.usage_lines += fi.usage_lines;
        if let Some(n) = parsed_name {
            self.info.names.push(n);
        }
        self.info.files.push(fi);
        Ok(())
    }

    fn check_header(
        &mut self,
        name: &str,
        line: u64,
        rt: &str,
        h: &Header,
        fname: Option<&FileName>,
        file_idx: usize,
    ) {
        if h.message_id.is_empty() {
            self.find(Severity::Error, name, line, rt, "MessageId is empty".into());
        }
        if let Some(n) = fname {
            if let Some(f) = h.file_number
                && f != n.number
            {
                self.find(
                    Severity::Error,
                    name,
                    line,
                    rt,
                    format!(
                        "FileNumber is {f}, the file name says {}of{}",
                        n.number, n.of
                    ),
                );
            }
            if let Some(y) = h.number_of_files
                && y != n.of
            {
                self.find(
                    Severity::Error,
                    name,
                    line,
                    rt,
                    format!(
                        "NumberOfFiles is {y}, the file name says {}of{}",
                        n.number, n.of
                    ),
                );
            }
            if !h.recipient_party_id.is_empty()
                && h.recipient_party_id != n.recipient
                && h.recipient_name != n.recipient
            {
                self.find(
                    Severity::Error,
                    name,
                    line,
                    rt,
                    format!("the file name's recipient {:?} is neither RecipientPartyId {:?} nor RecipientName {:?} (the recipient comes first in the name)", n.recipient, h.recipient_party_id, h.recipient_name),
                );
            }
        }
        if file_idx > 0 && self.header_seen {
            let first = &self.info.header;
            if first.message_id != h.message_id {
                self.find(
                    Severity::Error,
                    name,
                    line,
                    rt,
                    format!(
                        "MessageId {:?} differs from the first file's {:?}",
                        h.message_id, first.message_id
                    ),
                );
            }
        }
    }

    fn add_summary(&mut self, name: &str, line_no: u64, rt: &str, line: &Line<'_>, l: &Layout) {
        let id = line.cell(l.get("SummaryRecordId")).to_owned();
        let money = |f: &str| -> Result<Option<Fine>, String> {
            let raw = line.cell(l.get(f));
            if raw.is_empty() {
                Ok(None)
            } else {
                numbers::amount(raw)
                    .map(Some)
                    .map_err(|e| format!("{f} {e}"))
            }
        };
        let amount = match (money("AllocatedNetRevenue"), money("NetRevenue")) {
            (Err(e), _) | (_, Err(e)) => Err(e),
            (Ok(Some(a)), _) if a != Fine::ZERO => Ok(Some(a)),
            (Ok(_), Ok(n)) => Ok(n),
        };
        let amount = match amount {
            Ok(a) => a,
            Err(e) => {
                self.find(Severity::Error, name, line_no, rt, e);
                None
            }
        };
        let usages_raw = {
            let a = line.cell(l.get("AllocatedUsages"));
            if a.is_empty() {
                line.cell(l.get("Usages"))
            } else {
                a
            }
        };
        let usages = if usages_raw.is_empty() {
            None
        } else {
            match numbers::count(usages_raw) {
                Ok(u) => Some(u),
                Err(e) => {
                    self.find(Severity::Error, name, line_no, rt, format!("Usages {e}"));
                    None
                }
            }
        };
        let s = Summary {
            id: id.clone(),
            record: rt.to_owned(),
            line: line_no,
            commercial_model: line.cell(l.get("CommercialModel")).into(),
            use_type: line.cell(l.get("UseType")).into(),
            territory: line.cell(l.get("Territory")).into(),
            service: line.cell(l.get("ServiceDescription")).into(),
            rights_type: line.cell(l.get("RightsType")).into(),
            rights_controller: line.cell(l.get("RightsController")).into(),
            usages,
            currency: line.cell(l.get("CurrencyOfReporting")).into(),
            amount,
            currency_of_transaction: line.cell(l.get("CurrencyOfTransaction")).into(),
            exchange_rate: line.cell(l.get("ExchangeRate")).into(),
            usage_period: String::new(),
        };
        if s.currency.is_empty() && s.amount.is_some() {
            self.find(
                Severity::Error,
                name,
                line_no,
                rt,
                "money without a currency (CurrencyOfReporting is empty)".into(),
            );
        }
        if id.is_empty() {
            self.find(
                Severity::Error,
                name,
                line_no,
                rt,
                "SummaryRecordId is empty".into(),
            );
        } else if let Some(&prev) = self.summary_index.get(&id) {
            let p = self.info.summaries[prev].line;
            self.find(
                Severity::Error,
                name,
                line_no,
                rt,
                format!("SummaryRecordId {id:?} is already used by line {p}; usage lines could not tell the two apart"),
            );
            return;
        }
        self.summary_index.insert(id, self.info.summaries.len());
        self.info.summaries.push(s);
        self.info.summary_units.push(0);
        self.info.summary_line_money.push(Fine::ZERO);
        self.info.summary_lines.push(0);
    }

    /// Finishes the report: the checks that need all its files.
    pub fn finish(mut self) -> ReportInfo {
        let first_name = self
            .info
            .files
            .first()
            .map(|f| f.name.clone())
            .unwrap_or_default();
        let last_name = self
            .info
            .files
            .last()
            .map(|f| f.name.clone())
            .unwrap_or_default();
        // Every part present, once, in order.
        if let Some(y) = self.info.names.first().map(|n| n.of) {
            let mut have: Vec<u32> = self.info.names.iter().map(|n| n.number).collect();
            have.sort_unstable();
            let want: Vec<u32> = (1..=y).collect();
            if have != want {
                let missing: Vec<String> = want
                    .iter()
                    .filter(|w| !have.contains(w))
                    .map(|w| format!("{w}of{y}"))
                    .collect();
                let msg = if missing.is_empty() {
                    format!("files {have:?} given for a report of {y}: each part once")
                } else {
                    format!("the report has {y} files; missing {}", missing.join(", "))
                };
                self.find(Severity::Error, &first_name, 0, "", msg);
            }
        }
        if let Some((fname, fl, lines_in_report, blocks_in_report)) = self.last_footer.clone() {
            if let Some(l) = lines_in_report
                && l != self.info.lines
            {
                self.find(
                    Severity::Error,
                    &fname,
                    fl,
                    "FOOT",
                    format!(
                        "NumberOfLinesInReport says {l}, the report has {}",
                        self.info.lines
                    ),
                );
            }
            if let Some(b) = blocks_in_report
                && b != self.info.blocks
            {
                self.find(
                    Severity::Error,
                    &fname,
                    fl,
                    "FOOT",
                    format!(
                        "NumberOfBlocksInReport says {b}, the report has {}",
                        self.info.blocks
                    ),
                );
            }
        }
        // Usage and money of the lines against their summaries.
        for i in 0..self.info.summaries.len() {
            let s = self.info.summaries[i].clone();
            let units = self.info.summary_units[i];
            let nlines = self.info.summary_lines[i];
            if let Some(u) = s.usages
                && nlines > 0
                && u != units
            {
                self.find(
                    Severity::Money,
                    &first_name,
                    s.line,
                    &s.record,
                    format!(
                        "SummaryRecordId {:?}: its {nlines} usage lines add up to {units} usages, the summary says {u}",
                        s.id
                    ),
                );
            }
            let line_money = self.info.summary_line_money[i];
            if line_money != Fine::ZERO
                && let Some(a) = s.amount
                && a != line_money
            {
                self.find(
                    Severity::Money,
                    &first_name,
                    s.line,
                    &s.record,
                    format!(
                        "SummaryRecordId {:?}: its usage lines carry {} {}, the summary says {}",
                        s.id, line_money, s.currency, a
                    ),
                );
            }
            if nlines == 0 && s.amount.is_some_and(|a| a != Fine::ZERO) {
                self.find(
                    Severity::Money,
                    &last_name,
                    s.line,
                    &s.record,
                    format!(
                        "SummaryRecordId {:?} has {} {} but no usage line points to it",
                        s.id,
                        s.amount.unwrap_or_default(),
                        s.currency
                    ),
                );
            }
        }
        self.info
    }
}

fn set(dst: &mut String, src: &str) {
    dst.clear();
    dst.push_str(src);
}

#[cfg(test)]
mod tests {
    use super::IdRanges;

    #[test]
    fn id_ranges_catch_every_repeat_in_any_order() {
        let mut r = IdRanges::default();
        let mut seen = std::collections::HashSet::new();
        let mut x = 7u64;
        for _ in 0..5000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let id = (x >> 33) % 600;
            assert_eq!(r.insert(id), seen.insert(id), "id {id}");
        }
        let mut seq = IdRanges::default();
        for id in 1..=100_000 {
            assert!(seq.insert(id));
        }
        assert_eq!(seq.ranges.len(), 1, "a sequential report is one range");
        assert!(!seq.insert(5));
    }
}
