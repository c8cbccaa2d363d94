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
    let meta =
        std::fs::metadata(path).map_err(|e| fail(format!("a readable file or folder ({e})")))?;
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
    let text = match std::fs::read(&doc).map(String::from_utf8) {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => {
            // Point at the first byte that is not UTF-8.
            let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
            let text = String::from_utf8_lossy(good);
            let loc = node::LineIndex::new(&text).loc(text.len());
            let d = Diagnostic {
                file: doc.clone(),
                loc: Some(loc),
                field: String::new(),
                value: None,
                expected: "text encoded as UTF-8".into(),
            };
            return vec![Err(Rejected {
                document: doc.clone(),
                origin: origin_of(&doc),
                diagnostics: vec![d],
            })];
        }
        Err(e) => {
            let d = Diagnostic {
                file: doc.clone(),
                loc: None,
                field: String::new(),
                value: None,
                expected: format!("a readable file ({e})"),
            };
            return vec![Err(Rejected {
                document: doc.clone(),
                origin: origin_of(&doc),
                diagnostics: vec![d],
            })];
        }
    };
    match kind {
        DocKind::Toml | DocKind::Json => vec![read_document(&doc, &base, &text, kind)],
        DocKind::Sheet => read_sheet(&doc, &base, &text),
    }
}

/// Parses release document text (TOML or JSON) whose files are relative to `base`.
fn read_document(doc: &Path, base: &Path, text: &str, kind: DocKind) -> Result<Intake, Rejected> {
    let mut ctx = convert::Ctx::new(doc, false);
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

fn read_sheet(doc: &Path, base: &Path, text: &str) -> Vec<Result<Intake, Rejected>> {
    let payees_path = base.join("payees.csv");
    let payees_text = if payees_path.is_file() {
        std::fs::read_to_string(&payees_path).ok()
    } else {
        None
    };
    let payees = payees_text.as_deref().map(|t| (payees_path.as_path(), t));
    match sheet::read_sheet(doc, text, payees) {
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
            FileRef::Path(p) => match resolve_inside(base, p) {
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

/// Resolves a path written in a release document to a file inside `base`. Anything that
/// could reach outside the folder is refused: absolute paths, `..`, and symlinks that lead out.
pub fn resolve_inside(base: &Path, written: &str) -> Result<PathBuf, String> {
    let rel = Path::new(written);
    if rel.is_absolute()
        || rel
            .components()
            .any(|c| matches!(c, Component::Prefix(_) | Component::RootDir))
    {
        return Err("a path relative to the release folder, not an absolute path".into());
    }
    if rel.components().any(|c| c == Component::ParentDir) {
        return Err("a path inside the release folder (\"..\" is not allowed)".into());
    }
    let joined = base.join(rel);
    let canon_base = base
        .canonicalize()
        .map_err(|e| format!("a readable release folder ({e})"))?;
    let canon = match joined.canonicalize() {
        Ok(c) => c,
        Err(_) => {
            return Err(format!(
                "an existing file (nothing at {})",
                joined.display()
            ));
        }
    };
    if !canon.starts_with(&canon_base) {
        return Err(
            "a file inside the release folder (this path is a symlink that leads outside it)"
                .into(),
        );
    }
    if !canon.is_file() {
        return Err(format!("a regular file ({} is not one)", joined.display()));
    }
    Ok(canon)
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
