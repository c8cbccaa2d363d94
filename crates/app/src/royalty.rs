//! `liner reports import`: sales reports into the ledger.
//!
//! One streaming pass per report: the reader (DSR or a CSV layout) hands each usage line to
//! a matcher that finds its track or release in the catalog and adds it to an aggregate per
//! (sales context, track or release, or unmatched identifiers). Memory grows with the number
//! of aggregates, never with the number of lines. Summary money is then allocated over the
//! aggregates by usage (largest remainder, exact), turned into postings by the pure
//! `royalties` crate, and written with the report row, its unmatched usage and the DSP ids it
//! taught in one database transaction: a report is imported whole or not at all.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::{App, Context, Events, Meter, MeterKind, Result, bail, err};
use filestore::FileStore;
use model::{Fine, Release};
use royalties::posting::{Share, merge, reversal, suspense_entries};
use royalties::{Contracts, Dims, Entry, Rate, allocate};
use sha2::{Digest, Sha256};
use store::{DspId, NewReport, NewTx, ReportImport, Store, Unmatched};

use crate::config::Config;

/// A catalog track as matching sees it.
#[derive(Debug, Clone)]
pub struct TrackInfo {
    pub isrc: String,
    pub upc: String,
    pub label: String,
    pub shares: Vec<Share>,
}

/// The catalog, indexed for matching: ISRC → track, UPC → its tracks, learnt DSP ids.
#[derive(Debug, Default)]
pub struct CatalogIndex {
    pub tracks: Vec<TrackInfo>,
    by_isrc: FastMap<String, u32>,
    by_upc: FastMap<String, Vec<u32>>,
    /// (dsp, kind, value) → (isrc, upc)
    /// value → (dsp, kind, isrc, upc): looked up by the line's `&str`, without allocating.
    learnt: FastMap<String, Vec<(String, String, String, String)>>,
    pub payees: BTreeMap<String, store::PayeeRow>,
}

impl CatalogIndex {
    pub async fn load(catalog: &Store) -> Result<CatalogIndex> {
        let mut ix = CatalogIndex::default();
        for (upc, doc) in catalog.current_documents().await? {
            let release: Release = intake::parse_document(Path::new("catalog.json"), &doc)
                .map_err(|e| {
                    err!(
                        "stored release {upc} does not read back: {}",
                        e.iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join("; ")
                    )
                })?;
            ix.add_release(&release);
        }
        for id in catalog.dsp_ids().await? {
            let v = ix.learnt.entry(id.value).or_default();
            if !v.iter().any(|(d, k, _, _)| *d == id.dsp && *k == id.kind) {
                v.push((id.dsp, id.kind, id.isrc, id.upc));
            }
        }
        ix.payees = catalog
            .payees()
            .await?
            .into_iter()
            .map(|p| (p.id.clone(), p))
            .collect();
        Ok(ix)
    }

    pub fn add_release(&mut self, r: &Release) {
        let upc = r.upc.to_string();
        for t in &r.tracks {
            let isrc = t.isrc.to_string();
            if self.by_isrc.contains_key(&isrc) {
                // An ISRC on several releases (a single and its album) is paid by its first.
                self.by_upc
                    .entry(upc.clone())
                    .or_default()
                    .push(self.by_isrc[&isrc]);
                continue;
            }
            let i = self.tracks.len() as u32;
            self.tracks.push(TrackInfo {
                isrc: isrc.clone(),
                upc: upc.clone(),
                label: r.label.name.clone(),
                shares: t
                    .splits
                    .iter()
                    .map(|s| Share {
                        payee: s.payee.to_string(),
                        basis_points: u32::from(s.basis_points),
                    })
                    .collect(),
            });
            self.by_isrc.insert(isrc, i);
            self.by_upc.entry(upc.clone()).or_default().push(i);
        }
    }

    /// The (isrc, upc) a DSP id was learnt for.
    fn learnt(&self, dsp: &str, kind: &str, value: &str) -> Option<(&str, &str)> {
        if value.is_empty() || self.learnt.is_empty() {
            return None;
        }
        self.learnt
            .get(value)?
            .iter()
            .find(|(d, k, _, _)| d == dsp && k == kind)
            .map(|(_, _, i, u)| (i.as_str(), u.as_str()))
    }

    /// What a usage line is for: a track, a release, or nothing in the catalog.
    fn resolve(
        &self,
        dsp: &str,
        isrc: &str,
        icpn: &str,
        res_id: &str,
        rel_id: &str,
        prop: &str,
    ) -> Option<Target> {
        if !isrc.is_empty()
            && let Some(&t) = self.by_isrc.get(isrc)
        {
            return Some(Target::Track(t));
        }
        // A DSP id learnt for one recording never overrides an ISRC the line states for
        // another: such a line goes to suspense (see `conflict`), not to the wrong payee.
        if let Some((i, _)) = self.learnt(dsp, "resource", res_id)
            && (isrc.is_empty() || isrc == i)
            && let Some(&t) = self.by_isrc.get(i)
        {
            return Some(Target::Track(t));
        }
        if isrc.is_empty() || res_id.is_empty() {
            // A release-level sale (or a line that names no recording).
            let upc = if !icpn.is_empty() && self.by_upc.contains_key(icpn) {
                Some(icpn.to_owned())
            } else {
                self.learnt(dsp, "release", rel_id)
                    .or_else(|| self.learnt(dsp, "proprietary", prop))
                    .map(|(_, u)| u.to_owned())
            };
            if let Some(u) = upc
                && let Some(ts) = self.by_upc.get(&u)
                && !ts.is_empty()
            {
                return Some(Target::Release(u));
            }
        }
        None
    }
}

impl CatalogIndex {
    /// The recording a line's DSP id was learnt for, when the line states another ISRC.
    fn conflict(&self, dsp: &str, isrc: &str, res_id: &str) -> Option<&str> {
        self.learnt(dsp, "resource", res_id)
            .map(|(i, _)| i)
            .filter(|i| !isrc.is_empty() && i != &isrc)
    }

    /// The tracks suspense usage belongs to now, if the catalog (or a learnt id) knows it.
    pub fn resolve_for_rematch(
        &self,
        dsp: &str,
        isrc: &str,
        upc: &str,
        res: &str,
        rel: &str,
        prop: &str,
    ) -> Option<(Vec<u32>, bool)> {
        match self.resolve(dsp, isrc, upc, res, rel, prop)? {
            Target::Track(t) => Some((vec![t], false)),
            Target::Release(u) => self.by_upc.get(&u).cloned().map(|ts| (ts, true)),
            Target::Unmatched(_) => None,
        }
    }

    /// The tracks a sale is booked onto, as `royalties::book_sale` takes them.
    pub fn sale_tracks<'a>(
        &'a self,
        tracks: &[u32],
        contracts: &Contracts,
    ) -> Vec<royalties::SaleTrack<'a>> {
        tracks
            .iter()
            .map(|t| {
                let tr = &self.tracks[*t as usize];
                royalties::SaleTrack {
                    isrc: &tr.isrc,
                    upc: &tr.upc,
                    label: &tr.label,
                    fee_bp: contracts.fee_bp(&tr.label, &tr.upc),
                    shares: &tr.shares,
                }
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Target {
    Track(u32),
    Release(String),
    Unmatched(u32),
}

/// A fast, non-cryptographic hasher (the Fx multiply-rotate) for the per-line maps: their keys
/// come from one report being imported, not from an adversary choosing collisions.
#[derive(Debug, Default, Clone, Copy)]
pub struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(b));
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_usize(&mut self, x: usize) {
        self.write_u64(x as u64);
    }
    fn write_u32(&mut self, x: u32) {
        self.write_u64(u64::from(x));
    }
    fn write_u8(&mut self, x: u8) {
        self.write_u64(u64::from(x));
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<FxHasher>>;

/// The identifiers of unmatched usage, kept to show staff and to rematch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Ids {
    /// ISRC, ICPN, DSP resource id, DSP release id, proprietary id, title, artist and (when
    /// the line's DSP id was learnt for another ISRC) that ISRC, joined by U+001F in one
    /// allocation: a report of a million unknown recordings keeps a million of these.
    joined: Box<str>,
}

/// The separator of [`Ids`] fields (a control character no report cell may hold).
const SEP: char = '\u{1f}';

impl Ids {
    fn new(fields: &[&str; 8]) -> Ids {
        // A CSV report's cell could hold the separator: it is shown as U+FFFD instead.
        let clean: Vec<std::borrow::Cow<'_, str>> = fields
            .iter()
            .map(|f| {
                if f.contains(SEP) {
                    std::borrow::Cow::Owned(f.replace(SEP, "\u{fffd}"))
                } else {
                    std::borrow::Cow::Borrowed(*f)
                }
            })
            .collect();
        Ids {
            joined: clean.join("\u{1f}").into_boxed_str(),
        }
    }

    fn field(&self, i: usize) -> &str {
        self.joined.split(SEP).nth(i).unwrap_or("")
    }

    /// True when the first seven fields are `fields` (the conflict is derived from them).
    fn is(&self, fields: &[&str; 7]) -> bool {
        let mut it = self.joined.split(SEP);
        fields.iter().all(|f| it.next() == Some(*f))
    }

    fn isrc(&self) -> &str {
        self.field(0)
    }
    fn icpn(&self) -> &str {
        self.field(1)
    }
    fn res(&self) -> &str {
        self.field(2)
    }
    fn rel(&self) -> &str {
        self.field(3)
    }
    fn prop(&self) -> &str {
        self.field(4)
    }
    fn title(&self) -> &str {
        self.field(5)
    }
    fn artist(&self) -> &str {
        self.field(6)
    }
    fn conflict(&self) -> &str {
        self.field(7)
    }
}

#[derive(Debug, Clone, Default)]
struct Agg {
    units: i64,
    money: Fine,
    lines: u64,
    first: (usize, u64),
    last: (usize, u64),
}

/// Everything one pass over a report gathered.
#[derive(Debug, Default)]
pub struct Gathered {
    /// Matched aggregates per (summary, target).
    aggs: FastMap<(usize, Target), Agg>,
    /// Unmatched aggregates: (summary, unmatched id, aggregate), found through `unmatched_at`.
    unmatched_aggs: Vec<(u32, u32, Agg)>,
    unmatched_at: FastMap<(u32, u32), u32>,
    unmatched_ids: Vec<Ids>,
    /// Hash of a line's identifiers → the first `unmatched_ids` with that hash (the others
    /// follow through `unmatched_chain`): found without allocating, so usage that matches
    /// nothing costs what matched usage does.
    unmatched_index: FastMap<u64, u32>,
    /// Per unmatched id, the next one with the same hash (`u32::MAX`: none).
    unmatched_chain: Vec<u32>,
    /// The identifiers of the previous unmatched line: a report lists a recording's usage
    /// lines together, so most lines are found here without hashing.
    last_unmatched: Option<u32>,
    learnt: BTreeMap<(String, String), (String, String)>,
    pub matched_lines: u64,
    pub unmatched_lines: u64,
}

/// Records a DSP id the first time a line links it to an ISRC or UPC.
fn learn(g: &mut Gathered, kind: &str, value: &str, isrc: &str, upc: &str) {
    if !value.is_empty() {
        g.learnt
            .entry((kind.to_owned(), value.to_owned()))
            .or_insert_with(|| (isrc.to_owned(), upc.to_owned()));
    }
}

/// The matcher: called for every usage line.
#[allow(missing_debug_implementations)] // borrows the catalog index; never printed
pub struct Matcher<'a> {
    pub ix: &'a CatalogIndex,
    pub dsp: String,
    pub g: Gathered,
    /// The progress bar shows usage lines and lines per second beside the bytes.
    pub bar: Option<(std::sync::Arc<dyn Meter>, Instant)>,
}

impl Matcher<'_> {
    pub fn line(&mut self, u: &dsr::UsageLine<'_>) {
        if let Some((bar, started)) = &self.bar {
            let n = self.g.matched_lines + self.g.unmatched_lines;
            if n.is_multiple_of(1 << 16) && n > 0 {
                let secs = started.elapsed().as_secs_f64().max(1e-3);
                bar.message(&format!(
                    "{n} usage lines, {:.2} M lines/s",
                    n as f64 / secs / 1e6
                ));
            }
        }
        let target = self.ix.resolve(
            &self.dsp,
            u.isrc,
            u.icpn,
            u.dsp_resource_id,
            u.dsp_release_id,
            u.proprietary_id,
        );
        let target = match target {
            Some(t) => {
                self.g.matched_lines += 1;
                if let Target::Track(i) = &t {
                    let tr = &self.ix.tracks[*i as usize];
                    let g = &mut self.g;
                    learn(g, "resource", u.dsp_resource_id, &tr.isrc, &tr.upc);
                    // Release ids only when the line's ICPN confirms the release.
                    if u.icpn == tr.upc {
                        learn(g, "release", u.dsp_release_id, "", &tr.upc);
                        learn(g, "proprietary", u.proprietary_id, "", &tr.upc);
                    }
                }
                t
            }
            None => {
                self.g.unmatched_lines += 1;
                let fields = [
                    u.isrc,
                    u.icpn,
                    u.dsp_resource_id,
                    u.dsp_release_id,
                    u.proprietary_id,
                    u.title,
                    u.artist,
                ];
                let g = &mut self.g;
                let same = |i: &u32| g.unmatched_ids[*i as usize].is(&fields);
                if let Some(i) = g.last_unmatched.filter(|i| same(i)) {
                    Target::Unmatched(i)
                } else {
                    let mut h = FxHasher::default();
                    std::hash::Hash::hash(&fields, &mut h);
                    let key = std::hash::Hasher::finish(&h);
                    let head = g.unmatched_index.get(&key).copied();
                    let mut found = None;
                    let mut at = head;
                    while let Some(i) = at.filter(|&i| i != u32::MAX) {
                        if same(&i) {
                            found = Some(i);
                            break;
                        }
                        at = Some(g.unmatched_chain[i as usize]);
                    }
                    let i = match found {
                        Some(i) => i,
                        None => {
                            let next = g.unmatched_ids.len() as u32;
                            let conflict = self
                                .ix
                                .conflict(&self.dsp, u.isrc, u.dsp_resource_id)
                                .unwrap_or_default();
                            g.unmatched_ids.push(Ids::new(&[
                                u.isrc,
                                u.icpn,
                                u.dsp_resource_id,
                                u.dsp_release_id,
                                u.proprietary_id,
                                u.title,
                                u.artist,
                                conflict,
                            ]));
                            g.unmatched_chain.push(head.unwrap_or(u32::MAX));
                            g.unmatched_index.insert(key, next);
                            next
                        }
                    };
                    g.last_unmatched = Some(i);
                    Target::Unmatched(i)
                }
            }
        };
        let a = if let Target::Unmatched(i) = target {
            // Unmatched aggregates live apart, keyed by two indices: a report of a million
            // unknown recordings must not cost a map entry the size of a matched one each.
            let g = &mut self.g;
            let next = g.unmatched_aggs.len() as u32;
            let at = *g.unmatched_at.entry((u.summary as u32, i)).or_insert(next);
            if at == next {
                g.unmatched_aggs.push((
                    u.summary as u32,
                    i,
                    Agg {
                        first: (u.file, u.line),
                        ..Agg::default()
                    },
                ));
            }
            &mut g.unmatched_aggs[at as usize].2
        } else {
            self.g
                .aggs
                .entry((u.summary, target))
                .or_insert_with(|| Agg {
                    first: (u.file, u.line),
                    ..Agg::default()
                })
        };
        a.units += u.units;
        if let Some(m) = u.amount {
            a.money += m;
        }
        a.lines += 1;
        a.last = (u.file, u.line);
    }
}

/// A report as read: the reader's info plus what the pass gathered.
#[derive(Debug)]
pub struct ReadReport {
    pub info: dsr::ReportInfo,
    pub gathered: Gathered,
    pub format: String,
    pub hashes: Vec<String>,
    pub names: Vec<String>,
}

/// Opens a report file, un-gzipping `.gz`, behind the guard that caps line length and
/// expansion (`[limits]`): a hostile file cannot make a reader buffer without bound.
fn open_report(path: &Path, limits: &model::Limits) -> Result<Box<dyn BufRead + Send>> {
    let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    // The guard's refusals say `name:line`; the caller already names the whole path.
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let r: Box<dyn Read + Send> = if path.extension().is_some_and(|e| e == "gz") {
        let size = f.metadata().map(|m| m.len()).unwrap_or(0);
        let guard = dsr::GuardLimits::for_compressed(
            limits.report_line_bytes,
            size,
            limits.report_expansion,
        );
        let gz = flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 16, f));
        Box::new(dsr::Guarded::new(gz, name, guard))
    } else {
        Box::new(dsr::Guarded::new(
            f,
            name,
            dsr::GuardLimits::plain(limits.report_line_bytes),
        ))
    };
    Ok(Box::new(BufReader::with_capacity(1 << 18, r)))
}

pub fn sha256_file(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 18];
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// A read error of a report file: a guard's refusal already says `file:line`; anything else
/// (the disk) gets the path.
fn read_error(e: std::io::Error, path: &Path) -> crate::Error {
    if e.kind() == std::io::ErrorKind::InvalidData {
        e.into()
    } else {
        crate::Error::Context {
            what: format!("reading {}", path.display()),
            inner: Box::new(e.into()),
        }
    }
}

/// Counts bytes read, for the progress bar.
struct Counting<R> {
    inner: R,
    bar: std::sync::Arc<dyn Meter>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(b)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
}

/// Reads one report (all its files, in x-of-y order) through the matcher.
pub fn read_report(
    files: &[PathBuf],
    format: &report_csv::Format,
    ix: &CatalogIndex,
    dsp_hint: Option<&str>,
    bar: &std::sync::Arc<dyn Meter>,
    limits: &model::Limits,
) -> Result<(ReadReport, String)> {
    let mut hashes = Vec::new();
    let mut names = Vec::new();
    for f in files {
        hashes.push(sha256_file(f)?);
        names.push(
            f.file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_owned(),
        );
    }
    let dsp = dsp_hint.unwrap_or("").to_owned();
    let mut m = Matcher {
        ix,
        dsp: dsp.clone(),
        g: Gathered::default(),
        bar: Some((bar.clone(), Instant::now())),
    };
    let info = match format {
        report_csv::Format::Dsr => {
            // The DSP is needed while matching (learnt ids are per DSP): take it from the
            // first file's HEAD before the pass.
            let mut reader = dsr::ReportReader::new();
            for (f, name) in files.iter().zip(&names) {
                let input = open_report(f, limits)?;
                let input = BufReader::with_capacity(
                    1 << 18,
                    Counting {
                        inner: input,
                        bar: bar.clone(),
                    },
                );
                reader
                    .read_file(name, input, &mut |u| m.line(u))
                    .map_err(|e| read_error(e, f))?;
            }
            reader.finish()
        }
        report_csv::Format::Csv(layout) => {
            let mut info = dsr::ReportInfo::default();
            for (i, (f, name)) in files.iter().zip(&names).enumerate() {
                let input = open_report(f, limits)?;
                let input = Counting {
                    inner: input,
                    bar: bar.clone(),
                };
                report_csv::read(layout, name, i, input, &mut info, &mut |u| m.line(u))
                    .map_err(|e| read_error(e, f))?;
            }
            info
        }
    };
    let fmt = match format {
        report_csv::Format::Dsr => "dsr".to_owned(),
        report_csv::Format::Csv(l) => format!("csv:{}", l.name),
    };
    Ok((
        ReadReport {
            info,
            gathered: {
                // What only the pass needed goes before booking.
                let mut g = m.g;
                g.unmatched_index = FastMap::default();
                g.unmatched_chain = Vec::new();
                g.unmatched_at = FastMap::default();
                g
            },
            format: fmt,
            hashes,
            names,
        },
        dsp,
    ))
}

/// `2026-10-01`/`20261001` and `2026-10-31` → `2026-10`; other spans stay `start--end`.
pub fn usage_period(start: &str, end: &str) -> String {
    let norm = |d: &str| -> String {
        let d = d.trim();
        if d.len() == 8 && d.bytes().all(|c| c.is_ascii_digit()) {
            format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..])
        } else {
            d.chars().take(10).collect()
        }
    };
    let (s, e) = (norm(start), norm(end));
    if s.len() >= 7 && e.len() >= 7 && s[..7] == e[..7] {
        return s[..7].to_owned();
    }
    if s.is_empty() && e.is_empty() {
        return String::new();
    }
    if e.is_empty() || s == e {
        s
    } else {
        format!("{s}--{e}")
    }
}

/// What booking a read report produced, before it is written.
#[derive(Debug)]
pub struct Booking {
    pub entries: Vec<Entry>,
    /// Unmatched usage per identifier and sales context, compact: the rows for staff are made
    /// from it as they are written ([`Booking::unmatched_rows`]), a chunk at a time.
    pub unmatched: Vec<PendingUnmatched>,
    pub ids: Vec<DspId>,
    pub totals: BTreeMap<String, Fine>,
}

/// One unmatched aggregate: an identifier (index into the report's unmatched ids) in one
/// summary (sales context), with its money.
#[derive(Debug)]
pub struct PendingUnmatched {
    ids: u32,
    summary: u32,
    pub amount: Fine,
    units: i64,
    lines: u64,
    /// Where its lines are (file, line): the row's `source` is written from these.
    first: (u32, u64),
    last: (u32, u64),
}

impl Booking {
    /// The unmatched rows for the store, made one at a time from the compact aggregates.
    pub fn unmatched_rows<'a>(
        &'a self,
        r: &'a ReadReport,
        dsp: &'a str,
    ) -> impl Iterator<Item = Unmatched> + Send + 'a {
        let default_period = usage_period(&r.info.header.usage_start, &r.info.header.usage_end);
        self.unmatched.iter().map(move |p| {
            let ids = &r.gathered.unmatched_ids[p.ids as usize];
            let summary = &r.info.summaries[p.summary as usize];
            let reason = if !ids.conflict().is_empty() {
                format!(
                    "ISRC {} is not in the catalog, and DSP id {} was learnt for ISRC {}: the line contradicts what was learnt",
                    ids.isrc(),
                    ids.res(),
                    ids.conflict()
                )
            } else if !ids.isrc().is_empty() {
                format!("ISRC {} is not in the catalog", ids.isrc())
            } else if !ids.icpn().is_empty() {
                format!("UPC {} is not in the catalog", ids.icpn())
            } else if !ids.res().is_empty() || !ids.rel().is_empty() {
                format!(
                    "DSP id {} was never linked to an ISRC or UPC",
                    if ids.res().is_empty() {
                        ids.rel()
                    } else {
                        ids.res()
                    }
                )
            } else {
                "the line names no ISRC, UPC or DSP id".into()
            };
            Unmatched {
                reason,
                dsp: dsp.to_owned(),
                isrc: ids.isrc().to_owned(),
                upc: ids.icpn().to_owned(),
                dsp_resource_id: ids.res().to_owned(),
                dsp_release_id: ids.rel().to_owned(),
                proprietary_id: ids.prop().to_owned(),
                title: ids.title().to_owned(),
                artist: ids.artist().to_owned(),
                territory: summary.territory.clone(),
                usage_period: if summary.usage_period.is_empty() {
                    default_period.clone()
                } else {
                    summary.usage_period.clone()
                },
                commercial_model: summary.commercial_model.clone(),
                rights_type: summary.rights_type.clone(),
                currency: summary_currency(summary),
                amount: p.amount,
                units: p.units,
                lines: p.lines as i64,
                source: source_of(
                    r,
                    (p.first.0 as usize, p.first.1),
                    (p.last.0 as usize, p.last.1),
                    p.lines,
                    &summary.id,
                ),
                ..Unmatched::default()
            }
        })
    }
}

/// An aggregate's target while booking: borrowed from the matched map, or an unmatched id.
/// Ordered as the targets are (tracks, releases, then unmatched by id): the allocation's
/// tie-break.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot<'a> {
    Known(&'a Target),
    Unmatched(u32),
}

impl Ord for Slot<'_> {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        let key = |s: &Slot<'_>| match s {
            Slot::Known(Target::Unmatched(i)) | Slot::Unmatched(i) => (1u8, *i),
            Slot::Known(_) => (0, 0),
        };
        match (self, o) {
            (Slot::Known(a), Slot::Known(b)) => a.cmp(b),
            _ => key(self).cmp(&key(o)),
        }
    }
}

impl PartialOrd for Slot<'_> {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

/// Where an aggregate's lines are, for its ledger entry or suspense row: file, content hash,
/// line range, count and summary.
fn source_of(
    r: &ReadReport,
    first: (usize, u64),
    last: (usize, u64),
    count: u64,
    summary_id: &str,
) -> String {
    let lines = if first == last {
        format!(
            "{}#sha256:{} line {}",
            r.names[first.0],
            &r.hashes[first.0][..16],
            first.1
        )
    } else if first.0 == last.0 {
        format!(
            "{}#sha256:{} lines {}-{}",
            r.names[first.0],
            &r.hashes[first.0][..16],
            first.1,
            last.1
        )
    } else {
        format!(
            "{}#sha256:{} line {} to {}#sha256:{} line {}",
            r.names[first.0],
            &r.hashes[first.0][..16],
            first.1,
            r.names[last.0],
            &r.hashes[last.0][..16],
            last.1
        )
    };
    format!(
        "{lines} ({count} usage line{}, summary {summary_id})",
        if count == 1 { "" } else { "s" }
    )
}

/// The currency of a summary as booked (its ISO code as the model spells it).
fn summary_currency(s: &dsr::Summary) -> String {
    model::Currency::parse(&s.currency)
        .map(|c| c.code().to_owned())
        .unwrap_or_else(|_| s.currency.clone())
}

/// Turns a read report into postings: allocation of summary money over aggregates, fees,
/// splits, FX, suspense. Pure apart from its inputs.
pub fn book(
    r: &ReadReport,
    dsp: &str,
    ix: &CatalogIndex,
    contracts: &Contracts,
    rates: &BTreeMap<(String, String), Rate>,
    period: &str,
) -> Result<Booking> {
    let info = &r.info;
    let uperiod_default = usage_period(&info.header.usage_start, &info.header.usage_end);
    // Aggregates per summary, in a stable order (the tie-break of the allocation).
    let mut per_summary: BTreeMap<usize, Vec<(Slot<'_>, &Agg)>> = BTreeMap::new();
    for ((s, t), a) in &r.gathered.aggs {
        per_summary.entry(*s).or_default().push((Slot::Known(t), a));
    }
    for (s, i, a) in &r.gathered.unmatched_aggs {
        per_summary
            .entry(*s as usize)
            .or_default()
            .push((Slot::Unmatched(*i), a));
    }
    let mut entries = Vec::new();
    let mut unmatched = Vec::new();
    // Suspense per summary (one sales context): money, units, identifiers.
    let mut suspense: BTreeMap<usize, (Fine, i64, u64)> = BTreeMap::new();
    let mut totals: BTreeMap<String, Fine> = BTreeMap::new();
    let dsp_account = format!("dsp:{dsp}");
    let payee_currency = |p: &str| ix.payees.get(p).map(|x| x.currency.clone());
    let rate = |from: &str, to: &str| rates.get(&(from.to_owned(), to.to_owned())).cloned();
    for (si, summary) in info.summaries.iter().enumerate() {
        let currency = model::Currency::parse(&summary.currency)
            .map_err(|e| err!("summary {} (line {}): {e}", summary.id, summary.line))?
            .code()
            .to_owned();
        let mut aggs = per_summary.remove(&si).unwrap_or_default();
        aggs.sort_by(|a, b| a.0.cmp(&b.0));
        let money = info.summary_money(si);
        if aggs.is_empty() {
            continue; // a summary with no lines and no money (refused earlier if it had money)
        }
        *totals.entry(currency.clone()).or_default() += money;
        let amounts: Vec<Fine> = if info.lines_carry_money(si) {
            aggs.iter().map(|(_, a)| a.money).collect()
        } else {
            allocate(
                money.0,
                &aggs
                    .iter()
                    .map(|(_, a)| i128::from(a.units))
                    .collect::<Vec<_>>(),
            )
            .ok_or_else(|| err!("summary {}: amount too large to allocate", summary.id))?
            .into_iter()
            .map(Fine)
            .collect()
        };
        let uperiod = if summary.usage_period.is_empty() {
            uperiod_default.clone()
        } else {
            summary.usage_period.clone()
        };
        for ((target, a), amount) in aggs.iter().zip(amounts) {
            let target = match target {
                Slot::Known(t) => *t,
                Slot::Unmatched(i) => {
                    // The ledger holds suspense per sales context; the detail per identifier
                    // is in the unmatched rows (for staff and for rematching), whose texts are
                    // written as they are stored.
                    let e = suspense.entry(si).or_insert((Fine::ZERO, 0, 0));
                    e.0 += amount;
                    e.1 += a.units;
                    e.2 += 1;
                    unmatched.push(PendingUnmatched {
                        ids: *i,
                        summary: si as u32,
                        amount,
                        units: a.units,
                        lines: a.lines,
                        first: (a.first.0 as u32, a.first.1),
                        last: (a.last.0 as u32, a.last.1),
                    });
                    continue;
                }
            };
            let source = source_of(r, a.first, a.last, a.lines, &summary.id);
            let dims = Dims {
                dsp: dsp.to_owned(),
                territory: summary.territory.clone(),
                usage_period: uperiod.clone(),
                commercial_model: summary.commercial_model.clone(),
                rights_type: summary.rights_type.clone(),
                isrc: String::new(),
                upc: String::new(),
                source,
            };
            let (tracks, release_level) = match target {
                Target::Track(t) => (vec![*t], false),
                Target::Release(upc) => (ix.by_upc[upc].clone(), true),
                Target::Unmatched(_) => continue,
            };
            let sale = royalties::Sale {
                dims,
                currency: currency.clone(),
                amount,
                units: a.units,
                release_level,
            };
            entries.extend(royalties::book_sale(
                &sale,
                &ix.sale_tracks(&tracks, contracts),
                &dsp_account,
                &payee_currency,
                &rate,
                period,
            )?);
        }
    }
    for (si, (amount, units, n)) in suspense {
        let summary = &info.summaries[si];
        let dims = Dims {
            dsp: dsp.to_owned(),
            territory: summary.territory.clone(),
            usage_period: if summary.usage_period.is_empty() {
                uperiod_default.clone()
            } else {
                summary.usage_period.clone()
            },
            commercial_model: summary.commercial_model.clone(),
            rights_type: summary.rights_type.clone(),
            isrc: String::new(),
            upc: String::new(),
            source: format!(
                "{n} unmatched identifier{} in summary {} (liner reports unmatched)",
                if n == 1 { "" } else { "s" },
                summary.id
            ),
        };
        let currency = model::Currency::parse(&summary.currency)
            .map_err(|e| err!("summary {} (line {}): {e}", summary.id, summary.line))?
            .code()
            .to_owned();
        entries.extend(suspense_entries(
            &dims,
            &currency,
            amount,
            units,
            &dsp_account,
        ));
    }
    let entries = merge(entries);
    if !royalties::posting::balanced(&entries) {
        bail!(
            "internal error: the import's postings do not balance: {:?}",
            royalties::posting::sums(&entries)
        );
    }
    let ids = r
        .gathered
        .learnt
        .iter()
        .filter(|((kind, value), _)| ix.learnt(dsp, kind, value).is_none())
        .map(|((kind, value), (isrc, upc))| DspId {
            dsp: dsp.to_owned(),
            kind: kind.clone(),
            value: value.clone(),
            isrc: isrc.clone(),
            upc: upc.clone(),
        })
        .collect();
    Ok(Booking {
        entries,
        unmatched,
        ids,
        totals,
    })
}

/// The import key: the format, and the x-of-y and content hash of every file.
pub fn import_key(format: &str, hashes: &[String]) -> String {
    let mut h = Sha256::new();
    h.update(format.as_bytes());
    for (i, x) in hashes.iter().enumerate() {
        h.update(format!("\n{}of{}:{x}", i + 1, hashes.len()).as_bytes());
    }
    hex::encode(h.finalize())
}

/// Which DSP profile sent a report: `--dsp`, else the profile whose DPID is HEAD's sender,
/// else one whose name or display name matches the sender's name.
pub fn dsp_of(
    header: &dsr::Header,
    profiles: &[profiles::DspProfile],
    hint: Option<&str>,
) -> Result<String> {
    if let Some(h) = hint {
        return Ok(h.to_owned());
    }
    let name = header.sender_name.to_lowercase();
    profiles
        .iter()
        .find(|p| p.party_id.to_string() == header.sender_party_id)
        .or_else(|| profiles.iter().find(|p| !name.is_empty() && (p.name == name || p.display_name.to_lowercase() == name)))
        .map(|p| p.name.clone())
        .or_else(|| (!header.sender_name.is_empty()).then(|| header.sender_name.to_lowercase().replace(' ', "-")))
        .ok_or_else(|| err!("cannot tell which DSP sent this report (HEAD names sender {:?} / {:?}); pass --dsp", header.sender_party_id, header.sender_name))
}

/// Options of one import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    pub period: String,
    pub dsp: Option<String>,
    pub tolerate_money: bool,
    pub supersedes: Option<i64>,
}

/// What an import did, for the summary and `--json`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImportSummary {
    pub files: Vec<String>,
    pub outcome: String,
    pub report_id: Option<i64>,
    pub dsp: String,
    pub message_id: String,
    pub reporting_period: String,
    pub lines: u64,
    pub usage_lines: u64,
    pub matched_lines: u64,
    pub unmatched_lines: u64,
    pub totals: BTreeMap<String, String>,
    pub suspense: BTreeMap<String, String>,
    pub warnings: Vec<String>,
    pub refusals: Vec<String>,
    pub superseded: Option<i64>,
    pub seconds: f64,
    /// Peak resident memory of the importing process so far (Linux), MiB.
    pub peak_rss_mib: f64,
}

#[allow(missing_debug_implementations)] // borrows the catalog; never printed
pub struct Env<'a> {
    pub catalog: &'a Store,
    pub files: &'a FileStore,
    pub ix: &'a CatalogIndex,
    pub profiles: &'a [profiles::DspProfile],
    pub contracts: &'a Contracts,
    pub limits: &'a model::Limits,
}

/// The exchange rates recorded for a period, by (base, quote).
pub async fn rates_for(catalog: &Store, period: &str) -> Result<BTreeMap<(String, String), Rate>> {
    Ok(catalog
        .rates()
        .await?
        .into_iter()
        .filter(|r| r.period == period)
        .filter_map(|r| {
            Some((
                (r.base.clone(), r.quote.clone()),
                Rate::parse(&r.rate, &format!("{} {}", r.source, r.period))?,
            ))
        })
        .collect())
}

/// Imports one report (its files in x-of-y order).
pub async fn import_one(
    env: &Env<'_>,
    files: &[PathBuf],
    format: &report_csv::Format,
    opts: &ImportOptions,
    bar: &std::sync::Arc<dyn Meter>,
) -> Result<ImportSummary> {
    let started = Instant::now();
    let mut summary = ImportSummary {
        files: files.iter().map(|f| f.display().to_string()).collect(),
        outcome: String::new(),
        report_id: None,
        dsp: String::new(),
        message_id: String::new(),
        reporting_period: opts.period.clone(),
        lines: 0,
        usage_lines: 0,
        matched_lines: 0,
        unmatched_lines: 0,
        totals: BTreeMap::new(),
        suspense: BTreeMap::new(),
        warnings: Vec::new(),
        refusals: Vec::new(),
        superseded: None,
        seconds: 0.0,
        peak_rss_mib: 0.0,
    };
    // Money for a closed period goes into the next open one (the lines keep their own usage
    // period): a closed period's statements never change, and a late report is never refused.
    let booked_in = booking_period(env.catalog, &opts.period).await?;
    if booked_in != opts.period {
        summary.warnings.push(format!(
            "reporting period {} is closed: booked into {booked_in}, the next open period (usage periods kept)",
            opts.period
        ));
        summary.reporting_period = booked_in.clone();
    }
    let requested_period = opts.period.clone();
    let opts = &ImportOptions {
        period: booked_in,
        ..opts.clone()
    };
    // Idempotency first: the same bytes are the same report, whatever else happened since.
    let mut hashes = Vec::new();
    for f in files {
        hashes.push(sha256_file(f)?);
    }
    let fmt_name = match format {
        report_csv::Format::Dsr => "dsr".to_owned(),
        report_csv::Format::Csv(l) => format!("csv:{}", l.name),
    };
    let key = import_key(&fmt_name, &hashes);
    if let Some(old) = env.catalog.report_by_key(&key).await? {
        summary.outcome = "already imported".into();
        summary.report_id = Some(old.id);
        summary.dsp = old.dsp;
        summary.message_id = old.message_id;
        summary.reporting_period = old.reporting_period;
        summary.totals = old.totals;
        summary.seconds = started.elapsed().as_secs_f64();
        return Ok(summary);
    }
    // The files go into the file store beside the pass (traceability points into them).
    let store_files: Vec<PathBuf> = files.to_vec();
    let fs = env.files.clone();
    let storing = std::thread::spawn(move || -> Result<()> {
        for f in &store_files {
            fs.put_file(f)
                .with_context(|| format!("storing {}", f.display()))?;
        }
        Ok(())
    });
    // A first look at HEAD decides the DSP (matching needs it for learnt ids).
    let dsp_hint = match (&opts.dsp, format) {
        (Some(d), _) => Some(d.clone()),
        (None, report_csv::Format::Dsr) => {
            let mut head = dsr::ReportReader::new();
            let first = open_report(&files[0], env.limits)?;
            let name = files[0]
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            // Only the first lines are needed: stop reading at the first block.
            let limited = BufReader::new(first.take(64 * 1024));
            let _ = head.read_file(name, limited, &mut |_| {});
            let info = head.finish();
            Some(dsp_of(&info.header, env.profiles, None)?)
        }
        (None, report_csv::Format::Csv(l)) => l.dsp.clone(),
    };
    let (read, _) = read_report(files, format, env.ix, dsp_hint.as_deref(), bar, env.limits)?;
    storing
        .join()
        .map_err(|_| err!("the file store thread panicked"))??;
    let info = &read.info;
    summary.lines = info.lines;
    summary.usage_lines = info.usage_lines;
    summary.matched_lines = read.gathered.matched_lines;
    summary.unmatched_lines = read.gathered.unmatched_lines;
    summary.message_id = info.header.message_id.clone();
    if info.escapes.spec > 0 || info.escapes.lenient > 0 {
        summary.warnings.push(format!(
            "escaped pipes seen: {} in the spec's form (\\\\|), {} in the lenient form (\\|)",
            info.escapes.spec, info.escapes.lenient
        ));
    }
    for f in &info.findings {
        if f.severity == dsr::Severity::Warning
            || (f.severity == dsr::Severity::Money && opts.tolerate_money)
        {
            summary.warnings.push(f.to_string());
        } else {
            summary.refusals.push(f.to_string());
        }
    }
    if info.refused(opts.tolerate_money) {
        summary.outcome = "refused".into();
        summary.seconds = started.elapsed().as_secs_f64();
        return Ok(summary);
    }
    let dsp = match dsp_hint {
        Some(d) => d,
        None => dsp_of(&info.header, env.profiles, None)?,
    };
    summary.dsp = dsp.clone();
    // Exchange rates of the period the report was for, wherever it is booked.
    let rates = match rates_for(env.catalog, &requested_period).await? {
        r if r.is_empty() => rates_for(env.catalog, &opts.period).await?,
        r => r,
    };
    let mut booking = book(&read, &dsp, env.ix, env.contracts, &rates, &opts.period)?;
    // A corrected report (same sender and message id, other bytes) supersedes the old one:
    // everything the old one posted is reversed in this period, then the new one posts.
    let sender = if info.header.sender_party_id.is_empty() {
        dsp.clone()
    } else {
        info.header.sender_party_id.clone()
    };
    let reports = env.catalog.reports().await?;
    let old = match opts.supersedes {
        Some(id) => Some(
            reports
                .iter()
                .find(|r| r.id == id)
                .ok_or_else(|| err!("--supersedes {id}: no such report"))?,
        ),
        None => reports.iter().find(|r| {
            r.sender == sender
                && r.message_id == info.header.message_id
                && r.superseded_by.is_none()
                && !info.header.message_id.is_empty()
        }),
    };
    let mut reversals = Vec::new();
    if let Some(old) = old {
        if old.superseded_by.is_some() {
            bail!(
                "report {} was already superseded by report {}",
                old.id,
                old.superseded_by.unwrap_or_default()
            );
        }
        for t in env.catalog.live_transactions_of_report(old.id).await? {
            reversals.push(NewTx {
                key: format!("reversal:{}", t.id),
                kind: "reversal",
                period: opts.period.clone(),
                report_id: Some(old.id),
                reverses: Some(t.id),
                memo: format!("report {} superseded", old.id),
                entries: reversal(&t.entries),
            });
        }
        summary.superseded = Some(old.id);
    }
    for (c, v) in &booking.totals {
        summary.totals.insert(c.clone(), v.to_decimal());
    }
    for u in &booking.unmatched {
        let e = summary
            .suspense
            .entry(summary_currency(&read.info.summaries[u.summary as usize]))
            .or_insert_with(|| "0".into());
        *e = (Fine::parse(e).unwrap_or_default() + u.amount).to_decimal();
    }
    let files_json: Vec<serde_json::Value> = read
        .names
        .iter()
        .zip(&read.hashes)
        .enumerate()
        .map(|(i, (n, h))| serde_json::json!({"name": n, "sha256": h, "number": i + 1, "of": read.names.len(), "lines": info.files.get(i).map(|f| f.lines)}))
        .collect();
    let report = NewReport {
        import_key: key.clone(),
        sender,
        message_id: info.header.message_id.clone(),
        dsp: dsp.clone(),
        format: read.format.clone(),
        files: serde_json::to_string(&files_json)?,
        reporting_period: opts.period.clone(),
        usage_start: info.header.usage_start.clone(),
        usage_end: info.header.usage_end.clone(),
        lines: info.lines as i64,
        usage_lines: info.usage_lines as i64,
        matched_lines: read.gathered.matched_lines as i64,
        totals: booking.totals.clone(),
        warnings: summary.warnings.clone(),
        supersedes: old.map(|o| o.id),
    };
    let import = NewTx {
        key: format!("import:{key}"),
        kind: "import",
        period: opts.period.clone(),
        report_id: None,
        reverses: None,
        memo: format!(
            "{} report {} from {dsp}",
            read.format, info.header.message_id
        ),
        entries: std::mem::take(&mut booking.entries),
    };
    match env
        .catalog
        .import_report(
            &report,
            &reversals,
            &import,
            &mut booking.unmatched_rows(&read, &dsp),
            &booking.ids,
        )
        .await?
    {
        ReportImport::Imported { report_id, .. } => {
            summary.outcome = if old.is_some() {
                "imported (supersedes)".into()
            } else {
                "imported".into()
            };
            summary.report_id = Some(report_id);
        }
        ReportImport::AlreadyImported { report_id } => {
            summary.outcome = "already imported".into();
            summary.report_id = Some(report_id);
        }
    }
    summary.seconds = started.elapsed().as_secs_f64();
    summary.peak_rss_mib = crate::peak_rss_mib();
    Ok(summary)
}

/// Groups the files given on the command line into reports: DSR files by their name without
/// x-of-y, ordered by part number; every other file is a report of its own.
pub fn group_reports(files: &[PathBuf]) -> Vec<Vec<PathBuf>> {
    let mut dsr_groups: BTreeMap<String, Vec<(u32, PathBuf)>> = BTreeMap::new();
    let mut out = Vec::new();
    for f in files {
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        match dsr::FileName::parse(name) {
            Ok(n) => dsr_groups
                .entry(n.report_stem())
                .or_default()
                .push((n.number, f.clone())),
            Err(_) => out.push(vec![f.clone()]),
        }
    }
    for (_, mut g) in dsr_groups {
        g.sort_by_key(|(n, _)| *n);
        out.push(g.into_iter().map(|(_, p)| p).collect());
    }
    out
}

/// The current month, the default reporting period.
pub fn this_month(clock: crate::Clock) -> String {
    clock.now().format("%Y-%m").to_string()
}

/// The periods closed so far.
pub async fn closed_periods(
    catalog: &Store,
) -> Result<std::collections::BTreeSet<royalties::Period>> {
    Ok(catalog
        .closed_periods()
        .await?
        .iter()
        .filter_map(|p| royalties::Period::parse(p).ok())
        .collect())
}

/// The period new money for `requested` is booked into: itself while open, else the next
/// open one.
pub async fn booking_period(catalog: &Store, requested: &str) -> Result<String> {
    let p = royalties::Period::parse(requested).map_err(crate::Error::Refused)?;
    Ok(royalties::period::booking_period(p, &closed_periods(catalog).await?).to_string())
}

/// Loads the contracts file named in the config (none: the defaults).
pub fn load_contracts(cfg: &Config) -> Result<Contracts> {
    match &cfg.contracts {
        Some(p) if p.is_file() => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            Ok(Contracts::parse(&text, &p.display().to_string())?)
        }
        Some(p) => bail!("contracts file {} does not exist", p.display()),
        None => Ok(Contracts {
            default_fee_bp: 1500,
            ..Contracts::default()
        }),
    }
}

/// What `import_reports` is asked.
#[derive(Debug, Clone, Default)]
pub struct ImportRequest {
    /// Report files.
    pub reports: Vec<PathBuf>,
    /// The reporting period the money is booked in (default: this month).
    pub period: Option<String>,
    /// The DSP profile the report comes from (default: HEAD's sender, or the CSV layout's).
    pub dsp: Option<String>,
    /// A CSV layout from the report-formats folder; default: DSR.
    pub format: Option<String>,
    /// Import even when usage or money does not add up to the summaries.
    pub accept_mismatch: bool,
    /// The report this one corrects.
    pub supersedes: Option<i64>,
    /// Show each file's reading as a meter.
    pub progress: bool,
}

/// Imports sales reports (DSR files grouped into reports by name; each CSV file a report of
/// its own): what each import did, and the reports that failed with why (also told).
pub async fn import_reports(
    app: &App,
    a: &ImportRequest,
    ev: &dyn Events,
) -> Result<(Vec<ImportSummary>, Vec<String>)> {
    let cfg = app.config();
    let period = a.period.clone().unwrap_or_else(|| this_month(app.clock()));
    let period = royalties::Period::parse(&period)
        .map_err(crate::Error::Refused)?
        .to_string();
    let (catalog, files) = (app.catalog(), app.files());
    let profiles = app.profiles()?;
    let contracts = load_contracts(cfg)?;
    let format = match &a.format {
        None => report_csv::Format::Dsr,
        Some(f) if f == "dsr" => report_csv::Format::Dsr,
        Some(f) => {
            let layouts = cfg.report_layouts()?;
            let l = layouts.get(f).ok_or_else(|| {
                err!(
                    "no report format {f:?} in {}; there are: {}",
                    cfg.report_formats.display(),
                    layouts.keys().cloned().collect::<Vec<_>>().join(", ")
                )
            })?;
            report_csv::Format::Csv(Box::new(l.clone()))
        }
    };
    for f in &a.reports {
        if !f.is_file() {
            bail!("{}: no such file", f.display());
        }
    }
    let groups = match format {
        report_csv::Format::Dsr => group_reports(&a.reports),
        report_csv::Format::Csv(_) => a.reports.iter().map(|f| vec![f.clone()]).collect(),
    };
    let mut failures = Vec::new();
    let mut out = Vec::new();
    for g in groups {
        // The index is reloaded per report: a report may teach ids the next one needs.
        let ix = CatalogIndex::load(catalog).await?;
        let env = Env {
            catalog,
            files,
            ix: &ix,
            profiles,
            contracts: &contracts,
            limits: &cfg.limits,
        };
        let total: u64 = g
            .iter()
            .filter_map(|f| std::fs::metadata(f).ok())
            .map(|m| m.len())
            .sum();
        let bar: std::sync::Arc<dyn Meter> = if a.progress {
            ev.meter(MeterKind::Reading, total)
        } else {
            std::sync::Arc::new(crate::events::NoMeter)
        };
        bar.prefix(
            g[0].file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default(),
        );
        let opts = ImportOptions {
            period: period.clone(),
            dsp: a.dsp.clone(),
            tolerate_money: a.accept_mismatch,
            supersedes: a.supersedes,
        };
        let s = import_one(&env, &g, &format, &opts, &bar).await;
        bar.finish();
        let s = match s {
            Ok(s) => s,
            Err(e) => {
                let why = format!(
                    "{}: {}",
                    g.iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(" + "),
                    e.chain()
                );
                ev.tell(&why);
                failures.push(why);
                continue;
            }
        };
        out.push(s);
    }
    Ok((out, failures))
}

/// One suspense row a rematch moved.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Rematched {
    /// The suspense row.
    pub unmatched: i64,
    pub currency: String,
    /// Exact, as a decimal string.
    pub amount: String,
    pub isrc: String,
    pub upc: String,
    /// The transaction that moved it (absent when it had been moved already).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction: Option<i64>,
}

/// What a rematch did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RematchOutcome {
    pub rematched: Vec<Rematched>,
    pub still_unmatched: usize,
}

/// Moves what the catalog now knows out of suspense: each row booked onto its tracks by
/// the same rule as an import (`royalties::book_sale`), in one transaction per report, into
/// `period` (default: this month; a closed period's money goes to the next open one, as a
/// late report's does). Suspense is read a page at a time; only the rows that move are kept.
pub async fn rematch(app: &App, period: Option<&str>, ev: &dyn Events) -> Result<RematchOutcome> {
    let catalog = app.catalog();
    let period = period.map_or_else(|| this_month(app.clock()), str::to_owned);
    let period = royalties::Period::parse(&period)
        .map_err(crate::Error::Refused)?
        .to_string();
    let booked_in = booking_period(catalog, &period).await?;
    if booked_in != period {
        ev.note(&format!(
            "note: reporting period {period} is closed: the rematched usage is booked into {booked_in}"
        ));
    }
    let period = booked_in;
    let ix = CatalogIndex::load(catalog).await?;
    let contracts = load_contracts(app.config())?;
    let rates = rates_for(catalog, &period).await?;
    let payee_currency = |p: &str| ix.payees.get(p).map(|x| x.currency.clone());
    let rate = |f: &str, t: &str| rates.get(&(f.to_owned(), t.to_owned())).cloned();
    let mut out = RematchOutcome::default();
    let mut movable = Vec::new();
    catalog
        .each_unmatched(false, |u| {
            match ix.resolve_for_rematch(
                &u.dsp,
                &u.isrc,
                &u.upc,
                &u.dsp_resource_id,
                &u.dsp_release_id,
                &u.proprietary_id,
            ) {
                Some(tracks) => movable.push((u, tracks)),
                None => out.still_unmatched += 1,
            }
            Ok(())
        })
        .await?;
    let mut by_report: BTreeMap<i64, (Vec<Entry>, Vec<i64>)> = BTreeMap::new();
    for (u, (tracks, release_level)) in movable {
        let sale = royalties::Sale {
            dims: Dims {
                dsp: u.dsp.clone(),
                territory: u.territory.clone(),
                usage_period: u.usage_period.clone(),
                commercial_model: u.commercial_model.clone(),
                rights_type: u.rights_type.clone(),
                isrc: String::new(),
                upc: String::new(),
                source: format!("{} (rematched from suspense #{})", u.source, u.id),
            },
            currency: u.currency.clone(),
            amount: u.amount,
            units: u.units,
            release_level,
        };
        let (entries, ids) = by_report.entry(u.report_id).or_default();
        entries.extend(royalties::book_sale(
            &sale,
            &ix.sale_tracks(&tracks, &contracts),
            "suspense",
            &payee_currency,
            &rate,
            &period,
        )?);
        ids.push(u.id);
        out.rematched.push(Rematched {
            unmatched: u.id,
            currency: u.currency.clone(),
            amount: u.amount.to_decimal(),
            isrc: u.isrc.clone(),
            upc: u.upc.clone(),
            transaction: None,
        });
    }
    for (report_id, (entries, ids)) in by_report {
        let first = ids.first().copied().unwrap_or_default();
        let last = ids.last().copied().unwrap_or_default();
        let tx = NewTx {
            // The rows it moves identify it: running rematch again posts nothing twice.
            key: format!("rematch:{report_id}:{first}-{last}:{}", ids.len()),
            kind: "rematch",
            period: period.clone(),
            report_id: Some(report_id),
            reverses: None,
            memo: format!(
                "{} suspense row{} of report {report_id} rematched",
                ids.len(),
                if ids.len() == 1 { "" } else { "s" }
            ),
            entries: merge(entries),
        };
        if let store::Posting::Posted(id) = catalog.rematch(&tx, &ids).await? {
            for m in out
                .rematched
                .iter_mut()
                .filter(|m| ids.binary_search(&m.unmatched).is_ok())
            {
                m.transaction = Some(id);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> CatalogIndex {
        let mut ix = CatalogIndex::default();
        ix.tracks.push(TrackInfo {
            isrc: "GBAYE2700001".into(),
            upc: "036000291452".into(),
            label: "Nightjar".into(),
            shares: Vec::new(),
        });
        ix.by_isrc.insert("GBAYE2700001".into(), 0);
        ix.by_upc.insert("036000291452".into(), vec![0]);
        ix.learnt.insert(
            "res-1".into(),
            vec![(
                "spotify".into(),
                "resource".into(),
                "GBAYE2700001".into(),
                "036000291452".into(),
            )],
        );
        ix
    }

    fn line<'a>(isrc: &'a str, res: &'a str) -> dsr::UsageLine<'a> {
        dsr::UsageLine {
            file: 0,
            line: 7,
            record: "SU02",
            block: 1,
            summary: 0,
            transaction_id: "",
            isrc,
            icpn: "",
            dsp_resource_id: res,
            dsp_release_id: "",
            proprietary_id: "",
            title: "",
            artist: "",
            units: 5,
            amount: None,
        }
    }

    /// Hardening defect 14: a line with an unknown ISRC and a DSP id learnt for another
    /// recording was booked to that recording's payee. Now it goes to suspense, with why.
    #[test]
    fn defect_14_a_learnt_dsp_id_never_overrides_the_isrc_a_line_states() {
        let ix = index();
        // The learnt id still matches a line that names no ISRC, or the same one.
        assert_eq!(
            ix.resolve("spotify", "", "", "res-1", "", ""),
            Some(Target::Track(0))
        );
        assert_eq!(
            ix.resolve("spotify", "GBAYE2700001", "", "res-1", "", ""),
            Some(Target::Track(0))
        );
        assert_eq!(
            ix.resolve("spotify", "USXYZ2600009", "", "res-1", "", ""),
            None
        );
        let mut m = Matcher {
            ix: &ix,
            dsp: "spotify".into(),
            g: Gathered::default(),
            bar: None,
        };
        m.line(&line("USXYZ2600009", "res-1"));
        assert_eq!((m.g.matched_lines, m.g.unmatched_lines), (0, 1));
        assert_eq!(m.g.unmatched_ids[0].conflict(), "GBAYE2700001");
    }
}
