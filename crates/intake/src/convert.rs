//! Located tree → [`Release`], collecting every error instead of stopping at the first.
//!
//! The accepted keys of each table are listed once (the `*_KEYS` constants); unknown keys are
//! errors (a typo must not silently drop a field), and a test checks these lists against the
//! JSON Schema generated from the model.

use model::Limits;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt::Display;

use chrono::NaiveDate;
use model::{
    AiDisclosure, AiExtent, AiPart, AiTrainingConsent, ArtistRole, Artwork, CommercialModel,
    Contributor, ContributorRole, CountryCode, Currency, Deal, DisplayArtist, Duration, Email,
    FULL_SHARE_BP, FileRef, Grid, Icpn, IdError, Isni, Isrc, Iswc, Label, LanguageTag, Money,
    ParentalAdvisory, Payee, PayeeId, Preview, Release, ReleaseType, RightsLine, Split,
    Territories, Track, UnverifiedId, UseType,
};

use crate::node::{Key, Loc, Node, Value};
use crate::{Diagnostic, LocatedFile};

pub(crate) const RELEASE_KEYS: &[&str] = &[
    "upc",
    "catalog_number",
    "grid",
    "title",
    "version",
    "release_type",
    "artists",
    "label",
    "p_line",
    "c_line",
    "genre",
    "subgenre",
    "release_date",
    "original_release_date",
    "preorder_date",
    "parental_advisory",
    "language",
    "territories",
    "deals",
    "artwork",
    "ai",
    "ai_training",
    "payees",
    "tracks",
    "unverified",
];
pub(crate) const UNVERIFIED_KEYS: &[&str] = &["field", "kind", "value", "expected"];
pub(crate) const ARTIST_KEYS: &[&str] = &["name", "role", "isni", "dsp_ids"];
pub(crate) const CONTRIBUTOR_KEYS: &[&str] = &["name", "roles", "isni", "ai"];
pub(crate) const RIGHTS_LINE_KEYS: &[&str] = &["year", "holder"];
pub(crate) const LABEL_KEYS: &[&str] = &["name", "dpid", "email"];
pub(crate) const PAYEE_KEYS: &[&str] = &[
    "id",
    "name",
    "email",
    "currency",
    "payout_threshold",
    "payment_ref",
];
pub(crate) const DEAL_KEYS: &[&str] = &[
    "commercial_model",
    "use_types",
    "start",
    "end",
    "territories",
];
pub(crate) const TERRITORY_KEYS: &[&str] = &["include", "exclude"];
pub(crate) const ARTWORK_KEYS: &[&str] = &["file", "ai"];
pub(crate) const AI_KEYS: &[&str] = &["contains", "parts"];
pub(crate) const AI_TRAINING_KEYS: &[&str] = &["generative", "non_generative", "data_mining"];
pub(crate) const TRACK_KEYS: &[&str] = &[
    "disc",
    "number",
    "isrc",
    "title",
    "version",
    "artists",
    "contributors",
    "duration",
    "explicit",
    "lyrics",
    "iswc",
    "preview",
    "audio",
    "ai",
    "splits",
];
pub(crate) const PREVIEW_KEYS: &[&str] = &["start", "length"];
pub(crate) const SPLIT_KEYS: &[&str] = &["payee", "basis_points"];

/// The key lists by the name of the model type (= JSON Schema definition) they describe.
pub fn accepted_keys() -> Vec<(&'static str, &'static [&'static str])> {
    vec![
        ("Release", RELEASE_KEYS),
        ("DisplayArtist", ARTIST_KEYS),
        ("Contributor", CONTRIBUTOR_KEYS),
        ("RightsLine", RIGHTS_LINE_KEYS),
        ("Label", LABEL_KEYS),
        ("Payee", PAYEE_KEYS),
        ("Deal", DEAL_KEYS),
        ("Territories", TERRITORY_KEYS),
        ("Artwork", ARTWORK_KEYS),
        ("AiDisclosure", AI_KEYS),
        ("AiTrainingConsent", AI_TRAINING_KEYS),
        ("Track", TRACK_KEYS),
        ("Preview", PREVIEW_KEYS),
        ("Split", SPLIT_KEYS),
    ]
}

/// Collects diagnostics for one document.
pub(crate) struct Ctx {
    pub(crate) file: std::path::PathBuf,
    pub(crate) diags: Vec<Diagnostic>,
    /// Sheet cells are all text: accept "3" for an integer and "yes" for a boolean.
    pub(crate) text_scalars: bool,
    pub(crate) files: Vec<LocatedFile>,
    pub(crate) limits: model::Limits,
}

impl Ctx {
    pub(crate) fn new(file: impl Into<std::path::PathBuf>, text_scalars: bool) -> Ctx {
        Ctx {
            file: file.into(),
            diags: Vec::new(),
            text_scalars,
            files: Vec::new(),
            limits: model::Limits::default(),
        }
    }

    pub(crate) fn error(
        &mut self,
        loc: Loc,
        field: impl std::fmt::Display,
        value: Option<String>,
        expected: impl Into<String>,
    ) {
        self.diags.push(Diagnostic {
            file: self.file.clone(),
            loc: Some(loc),
            field: field.to_string(),
            value: value.map(shorten),
            expected: expected.into(),
        });
    }

    fn id_error(&mut self, loc: Loc, field: impl std::fmt::Display, e: impl Into<IdErrorLike>) {
        let e = e.into();
        self.error(loc, field, Some(e.value), e.expected);
    }
}

struct IdErrorLike {
    value: String,
    expected: String,
}

impl From<IdError> for IdErrorLike {
    fn from(e: IdError) -> Self {
        IdErrorLike {
            value: e.value,
            expected: format!("a valid {}: {}", e.kind, e.expected),
        }
    }
}

/// A field path (`tracks[1].isrc`) built on the stack and formatted only when an error needs
/// it: most fields are fine, and formatting every path up front dominated intake's cost.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Fp<'a> {
    Root,
    Key(&'a Fp<'a>, &'a str),
    Index(&'a Fp<'a>, usize),
}

impl std::fmt::Display for Fp<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fp::Root => Ok(()),
            Fp::Key(Fp::Root, k) => f.write_str(k),
            Fp::Key(parent, k) => write!(f, "{parent}.{k}"),
            Fp::Index(parent, i) => write!(f, "{parent}[{i}]"),
        }
    }
}

/// A table being read: reports unknown keys once, and missing required ones at its location.
struct Table<'a> {
    loc: Loc,
    path: Fp<'a>,
    entries: &'a [(Key, Node)],
}

impl<'a> Table<'a> {
    fn get(&self, key: &str) -> Option<&'a Node> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn path<'s>(&'s self, key: &'s str) -> Fp<'s> {
        Fp::Key(&self.path, key)
    }

    fn req(&self, ctx: &mut Ctx, key: &str) -> Option<&'a Node> {
        let v = self.get(key);
        if v.is_none() {
            ctx.error(
                self.loc,
                self.path(key),
                None,
                "this required field is missing",
            );
        }
        v
    }
}

fn table<'a>(ctx: &mut Ctx, node: &'a Node, path: Fp<'a>, keys: &[&str]) -> Option<Table<'a>> {
    let Value::Table(entries) = &node.value else {
        ctx.error(
            node.loc,
            path,
            Some(node.value.display()),
            format!("a table, not {}", node.value.type_name()),
        );
        return None;
    };
    for (k, v) in entries {
        if !keys.contains(&k.as_ref()) {
            let hint = suggest(k, keys)
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            ctx.error(
                v.loc,
                Fp::Key(&path, k),
                None,
                format!("unknown field{hint}; allowed here: {}", keys.join(", ")),
            );
        }
    }
    Some(Table {
        loc: node.loc,
        path: path.to_owned(),
        entries,
    })
}

/// The closest allowed key by edit distance, for "did you mean".
fn suggest<'k>(key: &str, keys: &[&'k str]) -> Option<&'k str> {
    fn dist(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut prev: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut cur = vec![i + 1];
            for (j, cb) in b.iter().enumerate() {
                cur.push(
                    (prev[j] + usize::from(ca != *cb))
                        .min(prev[j + 1] + 1)
                        .min(cur[j] + 1),
                );
            }
            prev = cur;
        }
        prev[b.len()]
    }
    keys.iter()
        .map(|k| (dist(key, k), *k))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, k)| k)
}

/// A value as echoed in an error: long ones are cut, so a 50 MB title is never printed back.
fn shorten(v: String) -> String {
    const SHOWN: usize = 120;
    match v.char_indices().nth(SHOWN) {
        None => v,
        Some((cut, _)) => format!("{}… ({} characters in all)", &v[..cut], v.chars().count()),
    }
}

fn array<'a>(ctx: &mut Ctx, node: &'a Node, path: Fp<'_>) -> Option<&'a [Node]> {
    match &node.value {
        Value::Array(items) => Some(items),
        other => {
            ctx.error(
                node.loc,
                path,
                Some(other.display()),
                format!("an array, not {}", other.type_name()),
            );
            None
        }
    }
}

/// Reads an array of tables with `keys`, item by item through `read` (which sees the items
/// read so far, for duplicate checks). Every item is read even after a bad one, so all
/// mistakes are reported together.
fn table_list<T>(
    ctx: &mut Ctx,
    node: &Node,
    path: Fp<'_>,
    keys: &[&str],
    mut read: impl FnMut(&mut Ctx, &Table<'_>, &[T]) -> Option<T>,
) -> Option<Vec<T>> {
    let items = array(ctx, node, path)?;
    let mut out = Vec::new();
    let mut ok = true;
    for (i, n) in items.iter().enumerate() {
        let p = Fp::Index(&path, i);
        match table(ctx, n, p, keys).and_then(|t| read(ctx, &t, &out)) {
            Some(v) => out.push(v),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn text(ctx: &mut Ctx, node: &Node, path: Fp<'_>) -> Option<String> {
    match &node.value {
        Value::Str(s) if s.trim().is_empty() => {
            ctx.error(node.loc, path, Some(s.clone()), "a non-empty text");
            None
        }
        Value::Str(s) if s.trim() != s => {
            ctx.error(
                node.loc,
                path,
                Some(s.clone()),
                "text without leading or trailing spaces",
            );
            None
        }
        Value::Str(s) if s.chars().count() > ctx.limits.text_chars as usize => {
            let limit = ctx.limits.text_chars;
            ctx.error(
                node.loc,
                path,
                Some(s.clone()),
                Limits::exceeded(
                    &format!(
                        "a shorter text: this one has {} characters",
                        s.chars().count()
                    ),
                    format!("{limit} characters"),
                    "text_chars",
                ),
            );
            None
        }
        Value::Str(s) => Some(s.clone()),
        other => {
            ctx.error(
                node.loc,
                path,
                Some(other.display()),
                format!("a string, not {}", other.type_name()),
            );
            None
        }
    }
}

fn parsed<T, E: Into<IdErrorLike>>(
    ctx: &mut Ctx,
    node: &Node,
    path: Fp<'_>,
    f: impl Fn(&str) -> Result<T, E>,
) -> Option<T> {
    let s = text(ctx, node, path)?;
    match f(&s) {
        Ok(v) => Some(v),
        Err(e) => {
            ctx.id_error(node.loc, path, e);
            None
        }
    }
}

impl From<model::DurationError> for IdErrorLike {
    fn from(e: model::DurationError) -> Self {
        IdErrorLike {
            value: e.value,
            expected: "a duration m:ss, h:mm:ss or m:ss.mmm (e.g. 3:25)".into(),
        }
    }
}

impl From<model::MoneyError> for IdErrorLike {
    fn from(e: model::MoneyError) -> Self {
        IdErrorLike {
            value: e.value,
            expected: format!("an amount of {}: {}", e.currency, e.expected),
        }
    }
}

fn vocab<T: Copy>(
    ctx: &mut Ctx,
    node: &Node,
    path: Fp<'_>,
    parse: fn(&str) -> Option<T>,
    expected: String,
) -> Option<T> {
    let s = text(ctx, node, path)?;
    let v = parse(&s);
    if v.is_none() {
        ctx.error(node.loc, path, Some(s), format!("one of: {expected}"));
    }
    v
}

fn vocab_list<T: Copy + PartialEq>(
    ctx: &mut Ctx,
    node: &Node,
    path: Fp<'_>,
    parse: fn(&str) -> Option<T>,
    expected: &str,
) -> Option<Vec<T>> {
    let items = array(ctx, node, path)?;
    let mut out = Vec::new();
    let mut ok = true;
    for (i, it) in items.iter().enumerate() {
        match vocab(ctx, it, Fp::Index(&path, i), parse, expected.to_owned()) {
            Some(v) if out.contains(&v) => {
                ctx.error(
                    it.loc,
                    Fp::Index(&path, i),
                    Some(it.value.display()),
                    "each value once",
                );
                ok = false;
            }
            Some(v) => out.push(v),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn int(ctx: &mut Ctx, node: &Node, path: Fp<'_>, min: i64, max: i64) -> Option<i64> {
    let n = match &node.value {
        Value::Int(n) => Some(*n),
        Value::Str(s) if ctx.text_scalars => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    match n {
        Some(n) if (min..=max).contains(&n) => Some(n),
        _ => {
            ctx.error(
                node.loc,
                path,
                Some(node.value.display()),
                format!("a whole number from {min} to {max}"),
            );
            None
        }
    }
}

fn boolean(ctx: &mut Ctx, node: &Node, path: Fp<'_>) -> Option<bool> {
    let b = match &node.value {
        Value::Bool(b) => Some(*b),
        Value::Str(s) if ctx.text_scalars => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "1" => Some(true),
            "false" | "no" | "n" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    };
    if b.is_none() {
        ctx.error(node.loc, path, Some(node.value.display()), "true or false");
    }
    b
}

fn date(ctx: &mut Ctx, node: &Node, path: Fp<'_>) -> Option<NaiveDate> {
    let s = match &node.value {
        Value::Str(s) | Value::Date(s) => s.trim().to_owned(),
        other => {
            ctx.error(
                node.loc,
                path,
                Some(other.display()),
                format!("a date YYYY-MM-DD, not {}", other.type_name()),
            );
            return None;
        }
    };
    let d = NaiveDate::parse_from_str(&s, "%Y-%m-%d")
        .ok()
        .filter(|_| s.len() == 10);
    if d.is_none() {
        ctx.error(
            node.loc,
            path,
            Some(s),
            "a calendar date YYYY-MM-DD (e.g. 2026-12-04)",
        );
    }
    d
}

/// Reads an optional field with `f`; absent → `default`. Returns None only on error.
fn opt<'a, T>(
    t: &Table<'a>,
    key: &str,
    f: impl FnOnce(&'a Node, Fp<'_>) -> Option<T>,
) -> Option<Option<T>> {
    match t.get(key) {
        None => Some(None),
        Some(n) => f(n, t.path(key)).map(Some),
    }
}

pub(crate) fn release(ctx: &mut Ctx, root: &Node) -> Option<Release> {
    let t = table(ctx, root, Fp::Root, RELEASE_KEYS)?;
    let before = ctx.diags.len();

    // Identifiers kept as received although they fail their check (an imported ERN). A UPC
    // listed there is accepted with its failing check digit, so `liner show --json` of such
    // a release imports again; everywhere else the check is strict.
    let unverified = opt(&t, "unverified", |n, p| {
        table_list(ctx, n, p, UNVERIFIED_KEYS, |ctx, t, _: &[UnverifiedId]| {
            let mut field = |k: &str| t.req(ctx, k).and_then(|n| text(ctx, n, t.path(k)));
            Some(UnverifiedId {
                field: field("field")?,
                kind: field("kind")?,
                value: field("value")?,
                expected: field("expected")?,
            })
        })
    });
    let unverified_upc: Option<String> = unverified
        .as_ref()
        .and_then(|u| u.as_ref())
        .and_then(|u| u.iter().find(|x| x.field == "upc"))
        .map(|x| x.value.clone());
    let upc = t.req(ctx, "upc").and_then(|n| {
        parsed(ctx, n, t.path("upc"), |s| match &unverified_upc {
            Some(v) if v == s => Icpn::parse_unverified(s).map(|(i, _)| i),
            _ => Icpn::parse(s),
        })
    });
    let catalog_number = opt(&t, "catalog_number", |n, p| text(ctx, n, p));
    let grid = opt(&t, "grid", |n, p| parsed(ctx, n, p, Grid::parse));
    let title = t
        .req(ctx, "title")
        .and_then(|n| text(ctx, n, t.path("title")));
    let version = opt(&t, "version", |n, p| text(ctx, n, p));
    let release_type = t.req(ctx, "release_type").and_then(|n| {
        vocab(
            ctx,
            n,
            t.path("release_type"),
            ReleaseType::parse,
            ReleaseType::expected(),
        )
    });
    let artists = t
        .req(ctx, "artists")
        .and_then(|n| artists(ctx, n, t.path("artists")));
    if let Some(a) = &artists
        && !a.iter().any(|a| a.role == ArtistRole::MainArtist)
    {
        ctx.error(
            t.get("artists").map_or(t.loc, |n| n.loc),
            "artists",
            None,
            "at least one artist with role MainArtist",
        );
    }
    let label = t
        .req(ctx, "label")
        .and_then(|n| label(ctx, n, t.path("label")));
    let p_line = t
        .req(ctx, "p_line")
        .and_then(|n| rights_line(ctx, n, t.path("p_line")));
    let c_line = t
        .req(ctx, "c_line")
        .and_then(|n| rights_line(ctx, n, t.path("c_line")));
    let genre = t
        .req(ctx, "genre")
        .and_then(|n| text(ctx, n, t.path("genre")));
    let subgenre = opt(&t, "subgenre", |n, p| text(ctx, n, p));
    let release_date = t
        .req(ctx, "release_date")
        .and_then(|n| date(ctx, n, t.path("release_date")));
    let original_release_date = opt(&t, "original_release_date", |n, p| date(ctx, n, p));
    if let (Some(rd), Some(Some(od))) = (release_date, original_release_date)
        && od > rd
    {
        let n = t.get("original_release_date").map_or(t.loc, |n| n.loc);
        ctx.error(
            n,
            "original_release_date",
            Some(od.to_string()),
            format!("a date on or before the release date {rd}"),
        );
    }
    let preorder_date = opt(&t, "preorder_date", |n, p| date(ctx, n, p));
    if let (Some(rd), Some(Some(pd))) = (release_date, preorder_date)
        && pd >= rd
    {
        let n = t.get("preorder_date").map_or(t.loc, |n| n.loc);
        ctx.error(
            n,
            "preorder_date",
            Some(pd.to_string()),
            format!("a date before the release date {rd} (pre-orders open before release)"),
        );
    }
    let parental_advisory = t.req(ctx, "parental_advisory").and_then(|n| {
        vocab(
            ctx,
            n,
            t.path("parental_advisory"),
            ParentalAdvisory::parse,
            ParentalAdvisory::expected(),
        )
    });
    let language = t
        .req(ctx, "language")
        .and_then(|n| parsed(ctx, n, t.path("language"), LanguageTag::parse));
    let territories = opt(&t, "territories", |n, p| territories(ctx, n, p))
        .map(|o| o.unwrap_or_else(Territories::worldwide));
    let deals =
        opt(&t, "deals", |n, p| deals(ctx, n, p, release_date)).map(Option::unwrap_or_default);
    let artwork = t
        .req(ctx, "artwork")
        .and_then(|n| artwork(ctx, n, t.path("artwork")));
    let ai = opt(&t, "ai", |n, p| ai_disclosure(ctx, n, p))
        .map(|o| o.unwrap_or_else(AiDisclosure::none));
    let ai_training =
        opt(&t, "ai_training", |n, p| ai_training(ctx, n, p)).map(Option::unwrap_or_default);
    let payees = opt(&t, "payees", |n, p| payees(ctx, n, p)).map(Option::unwrap_or_default);
    let payee_ids: BTreeSet<PayeeId> = payees.iter().flatten().map(|p| p.id.clone()).collect();
    let tracks = t
        .req(ctx, "tracks")
        .and_then(|n| tracks(ctx, n, t.path("tracks"), artists.as_deref(), &payee_ids));

    if ctx.diags.len() > before {
        return None;
    }
    Some(Release {
        upc: upc?,
        catalog_number: catalog_number?,
        grid: grid?,
        title: title?,
        version: version?,
        release_type: release_type?,
        artists: artists?,
        label: label?,
        p_line: p_line?,
        c_line: c_line?,
        genre: genre?,
        subgenre: subgenre?,
        release_date: release_date?,
        original_release_date: original_release_date?,
        preorder_date: preorder_date?,
        parental_advisory: parental_advisory?,
        language: language?,
        territories: territories?,
        deals: deals?,
        artwork: artwork?,
        ai: ai?,
        ai_training: ai_training?,
        payees: payees?,
        tracks: tracks?,
        unverified: unverified?.unwrap_or_default(),
    })
}

fn artists(ctx: &mut Ctx, node: &Node, path: Fp<'_>) -> Option<Vec<DisplayArtist>> {
    let out = table_list(ctx, node, path, ARTIST_KEYS, |ctx, t, _| {
        let name = t
            .req(ctx, "name")
            .and_then(|n| text(ctx, n, t.path("name")));
        let role = t.req(ctx, "role").and_then(|n| {
            vocab(
                ctx,
                n,
                t.path("role"),
                ArtistRole::parse,
                ArtistRole::expected(),
            )
        });
        let isni = opt(t, "isni", |n, p| parsed(ctx, n, p, Isni::parse));
        let dsp_ids = opt(t, "dsp_ids", |n, p| dsp_ids(ctx, n, p));
        match (name, role, isni, dsp_ids) {
            (Some(name), Some(role), Some(isni), Some(dsp_ids)) => Some(DisplayArtist {
                name,
                role,
                isni,
                dsp_ids: dsp_ids.unwrap_or_default(),
            }),
            _ => None,
        }
    })?;
    if out.is_empty() {
        ctx.error(node.loc, path, None, "at least one artist");
        return None;
    }
    Some(out)
}

/// `{ spotify = "spotify:artist:…", apple-music = "1234" }`: DSP profile name → artist id.
fn dsp_ids(
    ctx: &mut Ctx,
    node: &Node,
    path: Fp<'_>,
) -> Option<std::collections::BTreeMap<String, String>> {
    let Value::Table(entries) = &node.value else {
        ctx.error(
            node.loc,
            path,
            Some(node.value.display()),
            format!(
                "a table of DSP profile name = artist id, not {}",
                node.value.type_name()
            ),
        );
        return None;
    };
    let mut out = std::collections::BTreeMap::new();
    let mut ok = true;
    for (key, value) in entries {
        let p = Fp::Key(&path, key);
        let name_ok = !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !name_ok {
            ctx.error(
                value.loc,
                p,
                Some(key.to_string()),
                "a DSP profile name: lowercase letters, digits and '-' (e.g. spotify, apple-music)",
            );
            ok = false;
            continue;
        }
        match text(ctx, value, Fp::Key(&path, key)) {
            Some(id) => {
                out.insert(key.to_string(), id);
            }
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn contributors(ctx: &mut Ctx, node: &Node, path: Fp<'_>) -> Option<Vec<Contributor>> {
    table_list(ctx, node, path, CONTRIBUTOR_KEYS, |ctx, t, _| {
        let name = t
            .req(ctx, "name")
            .and_then(|n| text(ctx, n, t.path("name")));
        let roles = t.req(ctx, "roles").and_then(|n| {
            let r = vocab_list(
                ctx,
                n,
                t.path("roles"),
                ContributorRole::parse,
                &ContributorRole::expected(),
            )?;
            if r.is_empty() {
                ctx.error(n.loc, t.path("roles"), None, "at least one role");
                return None;
            }
            Some(r)
        });
        let isni = opt(t, "isni", |n, p| parsed(ctx, n, p, Isni::parse));
        let ai = opt(t, "ai", |n, p| {
            vocab(ctx, n, p, AiExtent::parse, AiExtent::expected())
        });
        match (name, roles, isni, ai) {
            (Some(name), Some(roles), Some(isni), Some(ai)) => Some(Contributor {
                name,
                roles,
                isni,
                ai: ai.unwrap_or(AiExtent::None),
            }),
            _ => None,
        }
    })
}

fn rights_line(ctx: &mut Ctx, node: &Node, path: Fp<'_>) -> Option<RightsLine> {
    let t = table(ctx, node, path, RIGHTS_LINE_KEYS)?;
    let year = t
        .req(ctx, "year")
        .and_then(|n| int(ctx, n, t.path("year"), 1900, 2100));
    let holder = t
        .req(ctx, "holder")
        .and_then(|n| text(ctx, n, t.path("holder")));
    Some(RightsLine {
        year: u16::try_from(year?).ok()?,
        holder: holder?,
    })
}

fn label(ctx: &mut Ctx, node: &Node, path: Fp<'_>) -> Option<Label> {
    let t = table(ctx, node, path, LABEL_KEYS)?;
    let name = t
        .req(ctx, "name")
        .and_then(|n| text(ctx, n, t.path("name")));
    let dpid = opt(&t, "dpid", |n, p| parsed(ctx, n, p, model::Dpid::parse));
    let email = t
        .req(ctx, "email")
        .and_then(|n| parsed(ctx, n, t.path("email"), Email::parse));
    Some(Label {
        name: name?,
        dpid: dpid?,
        email: email?,
    })
}

fn payees(ctx: &mut Ctx, node: &Node, path: Fp<'_>) -> Option<Vec<Payee>> {
    table_list(ctx, node, path, PAYEE_KEYS, |ctx, t, out: &[Payee]| {
        let mut ok = true;
        let id = t
            .req(ctx, "id")
            .and_then(|n| parsed(ctx, n, t.path("id"), PayeeId::parse));
        if let Some(id) = &id
            && out.iter().any(|p| &p.id == id)
        {
            ctx.error(
                t.get("id").map_or(t.loc, |n| n.loc),
                t.path("id"),
                Some(id.to_string()),
                "a payee id used once per release",
            );
            ok = false;
        }
        let name = t
            .req(ctx, "name")
            .and_then(|n| text(ctx, n, t.path("name")));
        let email = t
            .req(ctx, "email")
            .and_then(|n| parsed(ctx, n, t.path("email"), Email::parse));
        let currency = t
            .req(ctx, "currency")
            .and_then(|n| parsed(ctx, n, t.path("currency"), Currency::parse));
        let threshold = t.req(ctx, "payout_threshold").and_then(|n| {
            let c = currency?;
            let m = parsed(ctx, n, t.path("payout_threshold"), |s| {
                Money::parse_decimal(s, c)
            })?;
            if m.minor < 0 {
                ctx.error(
                    n.loc,
                    t.path("payout_threshold"),
                    Some(m.to_decimal()),
                    "zero or more",
                );
                return None;
            }
            Some(m)
        });
        let payment_ref = t
            .req(ctx, "payment_ref")
            .and_then(|n| text(ctx, n, t.path("payment_ref")));
        match (id, name, email, currency, threshold, payment_ref) {
            (
                Some(id),
                Some(name),
                Some(email),
                Some(currency),
                Some(payout_threshold),
                Some(payment_ref),
            ) => ok.then_some(Payee {
                id,
                name,
                email,
                currency,
                payout_threshold,
                payment_ref,
            }),
            _ => None,
        }
    })
}

fn territories(ctx: &mut Ctx, node: &Node, path: Fp<'_>) -> Option<Territories> {
    let t = table(ctx, node, path, TERRITORY_KEYS)?;
    let inc_node = t.req(ctx, "include")?;
    let inc_path = t.path("include");
    let items = array(ctx, inc_node, inc_path)?;
    if items.is_empty() {
        ctx.error(
            inc_node.loc,
            inc_path,
            None,
            "[\"Worldwide\"] or at least one country code",
        );
        return None;
    }
    let worldwide = items
        .iter()
        .any(|n| matches!(&n.value, Value::Str(s) if s.eq_ignore_ascii_case("worldwide")));
    let exclude = match t.get("exclude") {
        None => Some(BTreeSet::new()),
        Some(n) => country_set(ctx, n, t.path("exclude")),
    };
    if worldwide {
        if items.len() > 1 {
            ctx.error(
                inc_node.loc,
                inc_path,
                None,
                "either [\"Worldwide\"] alone or a list of country codes",
            );
            // Still check the codes beside it, so every mistake shows in one pass.
            for (i, n) in items.iter().enumerate() {
                if !matches!(&n.value, Value::Str(s) if s.eq_ignore_ascii_case("worldwide")) {
                    parsed(ctx, n, Fp::Index(&inc_path, i), CountryCode::parse);
                }
            }
            return None;
        }
        Some(Territories::Worldwide {
            excluding: exclude?,
        })
    } else {
        if let Some(n) = t.get("exclude") {
            ctx.error(
                n.loc,
                t.path("exclude"),
                None,
                "exclude only together with include = [\"Worldwide\"]",
            );
            return None;
        }
        Some(Territories::Only(country_set(ctx, inc_node, inc_path)?))
    }
}

fn country_set(ctx: &mut Ctx, node: &Node, path: Fp<'_>) -> Option<BTreeSet<CountryCode>> {
    let items = array(ctx, node, path)?;
    let mut out = BTreeSet::new();
    let mut ok = true;
    for (i, n) in items.iter().enumerate() {
        match parsed(ctx, n, Fp::Index(&path, i), CountryCode::parse) {
            Some(c) if !out.insert(c.clone()) => {
                ctx.error(
                    n.loc,
                    Fp::Index(&path, i),
                    Some(c.to_string()),
                    "each territory once",
                );
                ok = false;
            }
            Some(_) => {}
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn deals(
    ctx: &mut Ctx,
    node: &Node,
    path: Fp<'_>,
    release_date: Option<NaiveDate>,
) -> Option<Vec<Deal>> {
    table_list(ctx, node, path, DEAL_KEYS, |ctx, t, _| {
        let mut ok = true;
        let model = t.req(ctx, "commercial_model").and_then(|n| {
            vocab(
                ctx,
                n,
                t.path("commercial_model"),
                CommercialModel::parse,
                CommercialModel::expected(),
            )
        });
        let uses = t.req(ctx, "use_types").and_then(|n| {
            let u = vocab_list(
                ctx,
                n,
                t.path("use_types"),
                UseType::parse,
                &UseType::expected(),
            )?;
            if u.is_empty() {
                ctx.error(n.loc, t.path("use_types"), None, "at least one use type");
                return None;
            }
            Some(u)
        });
        // A deal without a start begins on the release date, as labels expect.
        let start = match t.get("start") {
            Some(n) => date(ctx, n, t.path("start")),
            None => release_date,
        };
        let end = opt(t, "end", |n, p| date(ctx, n, p));
        if let (Some(s), Some(Some(e))) = (start, end)
            && e < s
        {
            ctx.error(
                t.get("end").map_or(t.loc, |n| n.loc),
                t.path("end"),
                Some(e.to_string()),
                format!("an end on or after the start {s}"),
            );
            ok = false;
        }
        let terr = opt(t, "territories", |n, p| territories(ctx, n, p));
        match (model, uses, start, end, terr) {
            (
                Some(commercial_model),
                Some(use_types),
                Some(start),
                Some(end),
                Some(territories),
            ) => ok.then_some(Deal {
                commercial_model,
                use_types,
                start,
                end,
                territories,
            }),
            _ => None,
        }
    })
}

fn artwork(ctx: &mut Ctx, node: &Node, path: Fp<'_>) -> Option<Artwork> {
    // Shorthand: `artwork = "cover.jpg"` means a cover with no AI in it.
    if let Value::Str(_) = node.value {
        let file = file_ref(ctx, node, path)?;
        return Some(Artwork {
            file,
            ai: AiExtent::None,
        });
    }
    let t = table(ctx, node, path, ARTWORK_KEYS)?;
    let file = t
        .req(ctx, "file")
        .and_then(|n| file_ref(ctx, n, t.path("file")));
    let ai = opt(&t, "ai", |n, p| {
        vocab(ctx, n, p, AiExtent::parse, AiExtent::expected())
    });
    Some(Artwork {
        file: file?,
        ai: ai?.unwrap_or(AiExtent::None),
    })
}

fn file_ref(ctx: &mut Ctx, node: &Node, path: Fp<'_>) -> Option<FileRef> {
    let r = parsed(ctx, node, path, FileRef::parse)?;
    ctx.files.push(LocatedFile {
        field: path.to_string(),
        loc: node.loc,
        reference: r.clone(),
    });
    Some(r)
}

fn ai_disclosure(ctx: &mut Ctx, node: &Node, path: Fp<'_>) -> Option<AiDisclosure> {
    let t = table(ctx, node, path, AI_KEYS)?;
    let contains = t.req(ctx, "contains").and_then(|n| {
        vocab(
            ctx,
            n,
            t.path("contains"),
            AiExtent::parse,
            AiExtent::expected(),
        )
    });
    let parts = opt(&t, "parts", |n, p| {
        vocab_list(ctx, n, p, AiPart::parse, &AiPart::expected())
    });
    let (contains, parts) = (contains?, parts?.unwrap_or_default());
    // "None" with parts, or "Partly" without saying which part, is a contradiction to resolve
    // at the source, not something to guess.
    match (contains, parts.is_empty()) {
        (AiExtent::None, false) => {
            ctx.error(
                t.get("parts").map_or(t.loc, |n| n.loc),
                t.path("parts"),
                None,
                "no parts when contains = \"None\"",
            );
            None
        }
        (AiExtent::Partly, true) => {
            ctx.error(
                t.loc,
                t.path("parts"),
                None,
                format!(
                    "which parts AI made when contains = \"Partly\": {}",
                    AiPart::expected()
                ),
            );
            None
        }
        _ => Some(AiDisclosure { contains, parts }),
    }
}

fn ai_training(ctx: &mut Ctx, node: &Node, path: Fp<'_>) -> Option<AiTrainingConsent> {
    let t = table(ctx, node, path, AI_TRAINING_KEYS)?;
    let mut flag = |key: &str| opt(&t, key, |n, p| boolean(ctx, n, p)).map(|o| o.unwrap_or(false));
    let generative = flag("generative");
    let non_generative = flag("non_generative");
    let data_mining = flag("data_mining");
    Some(AiTrainingConsent {
        generative: generative?,
        non_generative: non_generative?,
        data_mining: data_mining?,
    })
}

fn duration(ctx: &mut Ctx, node: &Node, path: Fp<'_>) -> Option<Duration> {
    parsed(ctx, node, path, Duration::parse)
}

fn tracks(
    ctx: &mut Ctx,
    node: &Node,
    path: Fp<'_>,
    release_artists: Option<&[DisplayArtist]>,
    payees: &BTreeSet<PayeeId>,
) -> Option<Vec<Track>> {
    let items = array(ctx, node, path)?;
    if items.is_empty() {
        ctx.error(node.loc, path, None, "at least one track");
        return None;
    }
    if items.len() > ctx.limits.tracks_per_release as usize {
        let limit = ctx.limits.tracks_per_release;
        ctx.error(
            node.loc,
            path,
            None,
            Limits::exceeded(
                &format!("fewer tracks: this release has {}", items.len()),
                limit,
                "tracks_per_release",
            ),
        );
        return None;
    }
    let mut out: Vec<Track> = Vec::new();
    let mut ok = true;
    let mut seen_isrc: BTreeMap<Isrc, usize> = BTreeMap::new();
    let mut seen_pos: HashSet<(u16, u16)> = HashSet::new();
    for (i, n) in items.iter().enumerate() {
        let p = Fp::Index(&path, i);
        let Some(t) = table(ctx, n, p, TRACK_KEYS) else {
            ok = false;
            continue;
        };
        let discs = i64::from(ctx.limits.discs_per_release.min(999));
        let disc = opt(&t, "disc", |n, p| {
            let d = int(ctx, n, p, 1, discs);
            if d.is_none() && matches!(n.value, Value::Int(v) if v > discs) {
                ctx.error(
                    n.loc,
                    p,
                    None,
                    Limits::exceeded("fewer discs", discs, "discs_per_release"),
                );
            }
            d
        })
        .map(|d| d.unwrap_or(1) as u16);
        let number = t
            .req(ctx, "number")
            .and_then(|n| int(ctx, n, t.path("number"), 1, 999))
            .map(|n| n as u16);
        if let (Some(d), Some(num)) = (disc, number)
            && !seen_pos.insert((d, num))
        {
            let loc = t.get("number").map_or(t.loc, |n| n.loc);
            ctx.error(
                loc,
                t.path("number"),
                Some(num.to_string()),
                format!("a track number not already used on disc {d}"),
            );
            ok = false;
        }
        let isrc = t
            .req(ctx, "isrc")
            .and_then(|n| parsed(ctx, n, t.path("isrc"), Isrc::parse));
        if let Some(isrc) = &isrc
            && let Some(first) = seen_isrc.insert(isrc.clone(), i)
        {
            let loc = t.get("isrc").map_or(t.loc, |n| n.loc);
            ctx.error(
                loc,
                t.path("isrc"),
                Some(isrc.to_string()),
                format!("an ISRC not already used by tracks[{first}]: each recording has its own"),
            );
            ok = false;
        }
        let title = t
            .req(ctx, "title")
            .and_then(|n| text(ctx, n, t.path("title")));
        let version = opt(&t, "version", |n, p| text(ctx, n, p));
        let lyrics = opt(&t, "lyrics", |n, p| text(ctx, n, p));
        // Tracks without their own artists carry the release's, as DSPs display them.
        let artists = match t.get("artists") {
            Some(n) => artists(ctx, n, t.path("artists")),
            None => release_artists.map(<[DisplayArtist]>::to_vec),
        };
        let contributors =
            opt(&t, "contributors", |n, p| contributors(ctx, n, p)).map(Option::unwrap_or_default);
        let dur = t.req(ctx, "duration").and_then(|n| {
            let d = duration(ctx, n, t.path("duration"))?;
            if d.millis() == 0 {
                ctx.error(
                    n.loc,
                    t.path("duration"),
                    Some(d.to_string()),
                    "a duration longer than zero",
                );
                return None;
            }
            Some(d)
        });
        let explicit = opt(&t, "explicit", |n, p| boolean(ctx, n, p)).map(|o| o.unwrap_or(false));
        let iswc = opt(&t, "iswc", |n, p| parsed(ctx, n, p, Iswc::parse));
        let preview = opt(&t, "preview", |n, p| {
            let pt = table(ctx, n, p, PREVIEW_KEYS)?;
            let start = pt
                .req(ctx, "start")
                .and_then(|n| duration(ctx, n, pt.path("start")));
            let length = pt
                .req(ctx, "length")
                .and_then(|n| duration(ctx, n, pt.path("length")));
            let (start, length) = (start?, length?);
            if let Some(d) = dur
                && start.millis() + length.millis() > d.millis()
            {
                ctx.error(
                    n.loc,
                    p,
                    Some(format!("{start} + {length}")),
                    format!("a clip that ends within the track's duration {d}"),
                );
                return None;
            }
            Some(Preview { start, length })
        });
        let audio = t
            .req(ctx, "audio")
            .and_then(|n| file_ref(ctx, n, t.path("audio")));
        let ai = opt(&t, "ai", |n, p| ai_disclosure(ctx, n, p))
            .map(|o| o.unwrap_or_else(AiDisclosure::none));
        let splits =
            opt(&t, "splits", |n, p| splits(ctx, n, p, payees)).map(Option::unwrap_or_default);
        match (
            disc,
            number,
            isrc,
            title,
            (version, lyrics),
            artists,
            contributors,
            dur,
            explicit,
            iswc,
            preview,
            audio,
            ai,
            splits,
        ) {
            (
                Some(disc),
                Some(number),
                Some(isrc),
                Some(title),
                (Some(version), Some(lyrics)),
                Some(artists),
                Some(contributors),
                Some(duration),
                Some(explicit),
                Some(iswc),
                Some(preview),
                Some(audio),
                Some(ai),
                Some(splits),
            ) => out.push(Track {
                disc,
                number,
                isrc,
                title,
                version,
                artists,
                contributors,
                duration,
                explicit,
                lyrics,
                iswc,
                preview,
                audio,
                ai,
                splits,
            }),
            _ => ok = false,
        }
    }
    if ok {
        check_track_numbering(ctx, node, path, &out);
    }
    ok.then_some(out)
}

/// DSPs need each disc numbered 1..n without gaps, and discs 1..m.
fn check_track_numbering(ctx: &mut Ctx, node: &Node, path: Fp<'_>, tracks: &[Track]) {
    let mut discs: BTreeMap<u16, Vec<u16>> = BTreeMap::new();
    for t in tracks {
        discs.entry(t.disc).or_default().push(t.number);
    }
    for (i, (disc, numbers)) in discs.iter_mut().enumerate() {
        if usize::from(*disc) != i + 1 {
            ctx.error(
                node.loc,
                path,
                Some(format!("disc {disc}")),
                format!(
                    "discs numbered from 1 without gaps (disc {} is missing)",
                    i + 1
                ),
            );
            return;
        }
        numbers.sort_unstable();
        if let Some((pos, _)) = numbers
            .iter()
            .enumerate()
            .find(|(pos, n)| usize::from(**n) != pos + 1)
        {
            ctx.error(
                node.loc,
                path,
                Some(format!("disc {disc}")),
                format!(
                    "track numbers 1..{} without gaps (number {} is missing)",
                    numbers.len(),
                    pos + 1
                ),
            );
            return;
        }
    }
}

fn splits(
    ctx: &mut Ctx,
    node: &Node,
    path: Fp<'_>,
    payees: &BTreeSet<PayeeId>,
) -> Option<Vec<Split>> {
    let out = table_list(ctx, node, path, SPLIT_KEYS, |ctx, t, out: &[Split]| {
        let payee = t.req(ctx, "payee").and_then(|n| {
            let id = parsed(ctx, n, t.path("payee"), PayeeId::parse)?;
            if !payees.contains(&id) {
                let expected = if payees.is_empty() {
                    "the id of a payee listed in [[payees]] (this release lists none)".to_owned()
                } else {
                    let known = payees
                        .iter()
                        .map(|p| p.as_str())
                        .collect::<Vec<_>>()
                        .join(", ");
                    format!("the id of a payee listed in [[payees]] (known: {known})")
                };
                ctx.error(n.loc, t.path("payee"), Some(id.to_string()), expected);
                return None;
            }
            if out.iter().any(|s| s.payee == id) {
                ctx.error(
                    n.loc,
                    t.path("payee"),
                    Some(id.to_string()),
                    "each payee once per track",
                );
                return None;
            }
            Some(id)
        });
        let bp = t
            .req(ctx, "basis_points")
            .and_then(|n| int(ctx, n, t.path("basis_points"), 1, 10_000));
        match (payee, bp) {
            (Some(payee), Some(bp)) => Some(Split {
                payee,
                basis_points: bp as u16,
            }),
            _ => None,
        }
    })?;
    if !out.is_empty() {
        let total: u32 = out.iter().map(|s| u32::from(s.basis_points)).sum();
        if total != FULL_SHARE_BP {
            ctx.error(
                node.loc,
                path,
                Some(format!("{total} basis points")),
                format!("shares that total {FULL_SHARE_BP} basis points (100%)"),
            );
            return None;
        }
    }
    Some(out)
}

/// Used by the sheet reader: display an error about a cell's own syntax.
pub(crate) fn cell_error(
    ctx: &mut Ctx,
    loc: Loc,
    field: &str,
    value: &str,
    expected: impl Display,
) {
    ctx.error(loc, field, Some(value.to_owned()), expected.to_string());
}
