//! Release intake: a release folder (`release.toml` or `release.json` beside its audio and
//! artwork), a JSON or TOML file, or a bulk CSV sheet becomes [`model::Release`] values.
//!
//! Design:
//! - Every source is first read into a located tree ([`node`]), then one converter builds the
//!   model from it. So TOML, JSON and CSV report errors the same way: file, line:column (a
//!   sheet's line and cell), the field path, the value found and what was expected.
//! - Errors are collected, never the first only, and never a panic.
//! - Intake touches the filesystem only to read the document and check that the files it
//!   names exist inside the release folder (no `..`, no absolute paths, no symlinks out).
//!   Hashing and storing those files is the caller's job (the file store).

mod convert;
pub mod node;
mod sheet;

use model::Limits;
use std::fmt;
use std::path::{Component, Path, PathBuf};

use model::{FileRef, Release};
pub use node::Loc;

pub use convert::accepted_keys;
pub use sheet::{PAYEE_COLUMNS, RELEASE_COLUMNS, TRACK_COLUMNS};

/// One problem in an input, located as precisely as the input allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: PathBuf,
    /// Line and column (a sheet: the record's line and the cell's column). None when the
    /// problem is the file itself (unreadable, missing).
    pub loc: Option<Loc>,
    /// Field path in the release document (`tracks[1].isrc`), or the sheet column.
    pub field: String,
    pub value: Option<String>,
    /// What was expected, in words for the person who will fix it.
    pub expected: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(loc) = self.loc {
            write!(f, ":{loc}")?;
        }
        if !self.field.is_empty() {
            write!(f, ": {}", self.field)?;
        }
        match &self.value {
            Some(v) => write!(f, ": found {v:?}, expected {}", self.expected),
            None => write!(f, ": {}", self.expected),
        }
    }
}

/// A file reference as written in the document, with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocatedFile {
    pub field: String,
    pub loc: Loc,
    pub reference: FileRef,
}

/// A release read without errors, with its file references checked.
#[derive(Debug, Clone)]
pub struct Intake {
    /// The document it came from (release.toml, release.json or the sheet).
    pub document: PathBuf,
    /// Human description: "release.toml" or "sheet.csv lines 2-5".
    pub origin: String,
    pub release: Release,
    pub files: Vec<ResolvedFile>,
}

#[derive(Debug, Clone)]
pub struct ResolvedFile {
    pub field: String,
    pub loc: Loc,
    pub reference: FileRef,
    /// For path references: the file on disk, inside the release folder.
    pub path: Option<PathBuf>,
}

/// A release (or a whole document) that cannot be imported, with every reason.
#[derive(Debug, Clone)]
pub struct Rejected {
    pub document: PathBuf,
    pub origin: String,
    pub diagnostics: Vec<Diagnostic>,
}

/// What kind of document a path is.
fn document_of(path: &Path) -> Result<(PathBuf, DocKind), Diagnostic> {
    let fail = |expected: String| Diagnostic {
        file: path.to_owned(),
        loc: None,
        field: String::new(),
        value: None,
        expected,
    };
    let meta = std::fs::metadata(path)
        .map_err(|e| fail(format!("a readable file or folder ({})", plain_io(&e))))?;
    if meta.is_dir() {
        let toml = path.join("release.toml");
        let json = path.join("release.json");
        return match (toml.is_file(), json.is_file()) {
            (true, true) => Err(fail(
                "one release document per folder, not both release.toml and release.json".into(),
            )),
            (true, false) => Ok((toml, DocKind::Toml)),
            (false, true) => Ok((json, DocKind::Json)),
            (false, false) => Err(fail(
                "a release folder with a release.toml (or release.json)".into(),
            )),
        };
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("toml") => Ok((path.to_owned(), DocKind::Toml)),
        Some("json") => Ok((path.to_owned(), DocKind::Json)),
        Some("csv") => Ok((path.to_owned(), DocKind::Sheet)),
        _ => Err(fail(
            "a release folder, or a .toml, .json or .csv file".into(),
        )),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DocKind {
    Toml,
    Json,
    Sheet,
}

/// True for the payee list that sits beside a sheet: it is read with the sheet, not alone.
pub fn is_payee_companion(path: &Path) -> bool {
    path.file_name()
        .is_some_and(|n| n.eq_ignore_ascii_case("payees.csv"))
}

/// Reads every release at `path`. A folder or single document gives one result; a sheet
/// gives one per release (UPC) in it, each accepted or rejected on its own.
pub fn read(path: &Path) -> Vec<Result<Intake, Rejected>> {
    read_with(path, &Limits::default())
}

/// [`read`] with the distributor's limits (`[limits]` in liner.toml).
pub fn read_with(path: &Path, limits: &Limits) -> Vec<Result<Intake, Rejected>> {
    let origin_of = |p: &Path| p.display().to_string();
    let (doc, kind) = match document_of(path) {
        Ok(d) => d,
        Err(d) => {
            return vec![Err(Rejected {
                document: path.to_owned(),
                origin: origin_of(path),
                diagnostics: vec![d],
            })];
        }
    };
    let base = doc
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let text = match read_text_file(&doc, limits.document_bytes) {
        Ok(t) => t,
        Err((loc, expected)) => {
            let d = Diagnostic {
                file: doc.clone(),
                loc,
                field: String::new(),
                value: None,
                expected,
            };
            return vec![Err(Rejected {
                document: doc.clone(),
                origin: origin_of(&doc),
                diagnostics: vec![d],
            })];
        }
    };
    match kind {
        DocKind::Toml | DocKind::Json => vec![read_document(&doc, &base, &text, kind, limits)],
        DocKind::Sheet => read_sheet(&doc, &base, &text, limits),
    }
}

/// Parses release document text (TOML or JSON) whose files are relative to `base`.
fn read_document(
    doc: &Path,
    base: &Path,
    text: &str,
    kind: DocKind,
    limits: &Limits,
) -> Result<Intake, Rejected> {
    let mut ctx = convert::Ctx::new(doc, false);
    ctx.limits = limits.clone();
    let release = parse_text(&mut ctx, text, kind);
    finish(ctx, release, doc, base, doc.display().to_string())
}

/// Syntax, then the model: syntax errors are reported with their positions and stop there.
fn parse_text(ctx: &mut convert::Ctx, text: &str, kind: DocKind) -> Option<Release> {
    let tree = match kind {
        DocKind::Toml => node::from_toml(text).map_err(|errs| {
            for (loc, msg) in errs {
                ctx.error(loc, "", None, format!("valid TOML: {msg}"));
            }
        }),
        _ => node::from_json(text)
            .map_err(|(loc, msg)| ctx.error(loc, "", None, format!("valid JSON: {msg}"))),
    };
    convert::release(ctx, &tree.ok()?)
}

fn read_sheet(
    doc: &Path,
    base: &Path,
    text: &str,
    limits: &Limits,
) -> Vec<Result<Intake, Rejected>> {
    let payees_path = base.join("payees.csv");
    // payees.csv is read only when it is a file of the sheet's own folder: a symlink out of
    // it is refused without reading (and so without echoing) what it points at.
    let payees_text = if payees_path.symlink_metadata().is_ok() {
        let refuse = |expected: String| {
            vec![Err(Rejected {
                document: doc.to_owned(),
                origin: doc.display().to_string(),
                diagnostics: vec![Diagnostic {
                    file: payees_path.clone(),
                    loc: None,
                    field: String::new(),
                    value: None,
                    expected,
                }],
            })]
        };
        let inside = match resolve_inside(base, "payees.csv", "sheet's folder") {
            Ok(p) => p,
            Err(e) => return refuse(e),
        };
        match read_text_file(&inside, limits.document_bytes) {
            Ok(t) => Some(t),
            Err((_, e)) => return refuse(e),
        }
    } else {
        None
    };
    let payees = payees_text.as_deref().map(|t| (payees_path.as_path(), t));
    match sheet::read_sheet(doc, text, payees, limits) {
        Err(ctx) => {
            let mut diagnostics = ctx.diags;
            diagnostics.sort_by(|a, b| (&a.file, a.loc).cmp(&(&b.file, b.loc)));
            vec![Err(Rejected {
                document: doc.to_owned(),
                origin: doc.display().to_string(),
                diagnostics,
            })]
        }
        Ok(releases) => releases
            .into_iter()
            .map(|r| {
                let mut ctx = r.ctx;
                let release = convert::release(&mut ctx, &r.node);
                // A spreadsheet user thinks in columns, not document paths: name the cell's column.
                for d in &mut ctx.diags {
                    if let (Some(loc), Some(_)) = (d.loc, &d.value) {
                        let column = (loc.col as usize)
                            .checked_sub(1)
                            .and_then(|i| r.headers.get(i));
                        if let Some(h) = column.filter(|_| loc.line > 1) {
                            d.field = h.clone();
                        }
                    }
                }
                let origin = format!(
                    "{} (release {} from line {})",
                    doc.display(),
                    r.upc,
                    r.first_line
                );
                finish(ctx, release, doc, base, origin)
            })
            .collect(),
    }
}

fn finish(
    mut ctx: convert::Ctx,
    release: Option<Release>,
    doc: &Path,
    base: &Path,
    origin: String,
) -> Result<Intake, Rejected> {
    let mut files = Vec::new();
    for f in std::mem::take(&mut ctx.files) {
        let path = match &f.reference {
            FileRef::Stored(_) => None,
            FileRef::Path(p) => match resolve_inside(base, p, "release folder") {
                Ok(path) => Some(path),
                Err(expected) => {
                    ctx.error(f.loc, &f.field, Some(p.clone()), expected);
                    None
                }
            },
        };
        files.push(ResolvedFile {
            field: f.field,
            loc: f.loc,
            reference: f.reference,
            path,
        });
    }
    match release {
        Some(release) if ctx.diags.is_empty() => Ok(Intake {
            document: doc.to_owned(),
            origin,
            release,
            files,
        }),
        _ => {
            let mut diagnostics = ctx.diags;
            diagnostics.sort_by(|a, b| (a.loc, &a.field).cmp(&(b.loc, &b.field)));
            Err(Rejected {
                document: doc.to_owned(),
                origin,
                diagnostics,
            })
        }
    }
}

/// Resolves a path written in an input (a release document, a sheet, an ERN message) to a
/// regular file inside `base`, the folder that input came in. This is the one containment
/// rule of every importer: absolute paths, `..`, and symlinks (of files or of folders on the
/// way) that lead out of `base` are refused, so a label can never make Liner read a file of
/// the host or another label's folder. `folder` names `base` for the message.
pub fn resolve_inside(base: &Path, written: &str, folder: &str) -> Result<PathBuf, String> {
    let rel = Path::new(written);
    if written.is_empty() {
        return Err(format!(
            "a path to a file inside the {folder} (it is empty)"
        ));
    }
    if rel.is_absolute()
        || rel
            .components()
            .any(|c| matches!(c, Component::Prefix(_) | Component::RootDir))
    {
        return Err(format!(
            "a path relative to the {folder}, not an absolute path"
        ));
    }
    if rel.components().any(|c| c == Component::ParentDir) {
        return Err(format!(
            "a path inside the {folder} (\"..\" is not allowed)"
        ));
    }
    let joined = base.join(rel);
    let canon_base = base
        .canonicalize()
        .map_err(|e| format!("a readable {folder} ({})", plain_io(&e)))?;
    let canon = match joined.canonicalize() {
        Ok(c) => c,
        Err(_) => {
            return Err(format!(
                "an existing file in the {folder} (there is none at {})",
                joined.display()
            ));
        }
    };
    if !canon.starts_with(&canon_base) {
        return Err(format!(
            "a file inside the {folder} ({written} is a symlink, or lies under one, that leads outside it)"
        ));
    }
    if !canon.is_file() {
        return Err(format!("a regular file ({} is not one)", joined.display()));
    }
    Ok(canon)
}

/// Reads a text file a user handed in: at most `limit` bytes, in UTF-8 (a byte-order mark
/// is dropped). Any other encoding is refused naming the one found and how to convert it;
/// invalid UTF-8 is located at its first bad byte.
pub fn read_text_file(path: &Path, limit: u64) -> Result<String, (Option<Loc>, String)> {
    let bytes = read_bytes_within(path, limit).map_err(|e| (None, e))?;
    decode_text(bytes)
}

/// A user's file, refused without reading it all when it is over `limit` bytes (the
/// `document_bytes` setting); the error says what was expected.
pub fn read_bytes_within(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file =
        std::fs::File::open(path).map_err(|e| format!("a readable file ({})", plain_io(&e)))?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| format!("a readable file ({})", plain_io(&e)))?;
    if bytes.len() as u64 > limit {
        return Err(Limits::exceeded(
            &format!("a smaller file: this one is larger than {limit} bytes"),
            format!("{limit} bytes"),
            "document_bytes",
        ));
    }
    Ok(bytes)
}

/// UTF-8 text from bytes, or what encoding they look like and how to convert them.
pub fn decode_text(bytes: Vec<u8>) -> Result<String, (Option<Loc>, String)> {
    let convert = |found: &str, from: &str| {
        format!(
            "text encoded as UTF-8; this file is {found}. Save it as \"CSV UTF-8\" (or UTF-8 text), or convert it with: iconv -f {from} -t UTF-8 FILE > NEW-FILE"
        )
    };
    if bytes.starts_with(&[0xFF, 0xFE]) {
        return Err((
            None,
            convert(
                "UTF-16 little-endian (it starts with that byte-order mark)",
                "UTF-16",
            ),
        ));
    }
    if bytes.starts_with(&[0xFE, 0xFF]) {
        return Err((
            None,
            convert(
                "UTF-16 big-endian (it starts with that byte-order mark)",
                "UTF-16",
            ),
        ));
    }
    let head = &bytes[..bytes.len().min(4096)];
    let zeros = head.iter().filter(|&&b| b == 0).count();
    if head.len() >= 4 && zeros * 4 >= head.len() {
        let odd_zeros = head.iter().skip(1).step_by(2).filter(|&&b| b == 0).count();
        let (found, from) = if odd_zeros * 2 >= zeros {
            (
                "UTF-16 little-endian (every other byte is zero)",
                "UTF-16LE",
            )
        } else {
            ("UTF-16 big-endian (every other byte is zero)", "UTF-16BE")
        };
        return Err((None, convert(found, from)));
    }
    let bytes = match bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        Some(rest) => rest.to_vec(),
        None => bytes,
    };
    match String::from_utf8(bytes) {
        Ok(t) => Ok(t),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            let bad = e.as_bytes()[at];
            let good = String::from_utf8_lossy(&e.as_bytes()[..at]);
            let loc = node::LineIndex::new(&good).loc(good.len());
            let found = if bad >= 0x80 && e.utf8_error().error_len().is_some() {
                format!(
                    "probably Latin-1 or Windows-1252 (byte 0x{bad:02X} at line {}, column {} is not UTF-8)",
                    loc.line, loc.col
                )
            } else {
                format!(
                    "not valid UTF-8 (byte 0x{bad:02X} at line {}, column {})",
                    loc.line, loc.col
                )
            };
            Err((Some(loc), convert(&found, "WINDOWS-1252")))
        }
    }
}

/// An OS error's own words, without Rust's " (os error N)" suffix.
pub fn plain_io(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// The limits a release built elsewhere (from a received ERN message) must keep, as intake
/// keeps them for documents and sheets: one message per problem.
pub fn limit_problems(release: &Release, limits: &Limits) -> Vec<String> {
    let mut out = Vec::new();
    if release.tracks.len() > limits.tracks_per_release as usize {
        out.push(Limits::exceeded(
            &format!("fewer tracks: this release has {}", release.tracks.len()),
            limits.tracks_per_release,
            "tracks_per_release",
        ));
    }
    if let Some(d) = release
        .tracks
        .iter()
        .map(|t| t.disc)
        .max()
        .filter(|&d| u32::from(d) > limits.discs_per_release)
    {
        out.push(Limits::exceeded(
            &format!("fewer discs: this release has disc {d}"),
            limits.discs_per_release,
            "discs_per_release",
        ));
    }
    let mut texts: Vec<(&str, &str)> = vec![("title", release.title.as_str())];
    texts.extend(
        release
            .artists
            .iter()
            .map(|a| ("artists[].name", a.name.as_str())),
    );
    for t in &release.tracks {
        texts.push(("tracks[].title", t.title.as_str()));
        texts.extend(t.lyrics.as_deref().map(|l| ("tracks[].lyrics", l)));
        texts.extend(
            t.artists
                .iter()
                .map(|a| ("tracks[].artists[].name", a.name.as_str())),
        );
    }
    if let Some((field, long)) = texts
        .into_iter()
        .find(|(_, v)| v.chars().count() > limits.text_chars as usize)
    {
        out.push(Limits::exceeded(
            &format!(
                "a shorter {field}: one has {} characters",
                long.chars().count()
            ),
            format!("{} characters", limits.text_chars),
            "text_chars",
        ));
    }
    out
}

/// Parses sheet text from memory (no file checks, no payees.csv): one result per release
/// (UPC) in it. For tools and fuzzing that hold the text.
pub fn parse_sheet(name: &Path, text: &str) -> Vec<Result<Release, Vec<Diagnostic>>> {
    match sheet::read_sheet(name, text, None, &Limits::default()) {
        Err(ctx) => vec![Err(ctx.diags)],
        Ok(releases) => releases
            .into_iter()
            .map(|r| {
                let mut ctx = r.ctx;
                match convert::release(&mut ctx, &r.node) {
                    Some(rel) if ctx.diags.is_empty() => Ok(rel),
                    _ => Err(ctx.diags),
                }
            })
            .collect(),
    }
}

/// Parses release document text from memory (no file checks): for tests and tools that
/// already hold the text. `name` is used in diagnostics.
pub fn parse_document(name: &Path, text: &str) -> Result<Release, Vec<Diagnostic>> {
    let kind = if name
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        DocKind::Json
    } else {
        DocKind::Toml
    };
    let mut ctx = convert::Ctx::new(name, false);
    match parse_text(&mut ctx, text, kind) {
        Some(r) if ctx.diags.is_empty() => Ok(r),
        _ => Err(ctx.diags),
    }
}
