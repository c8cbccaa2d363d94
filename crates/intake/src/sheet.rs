//! Bulk CSV sheets, as labels keep them in spreadsheets: one row per track, rows grouped into
//! releases by UPC. Each group becomes a located tree (cells keep their line and column) and
//! goes through the same converter as release.toml. The column set is documented in
//! `schemas/release-sheet.csv`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::rc::Rc;

use model::{ArtistRole, CommercialModel, ContributorRole};

use crate::convert::{Ctx, cell_error};
use crate::node::{Key, Loc, Node, Value};

/// Columns describing the release; every row of a release must agree on them (or leave them blank).
pub const RELEASE_COLUMNS: &[&str] = &[
    "upc",
    "catalog_number",
    "grid",
    "release_title",
    "release_version",
    "release_type",
    "release_artists",
    "label",
    "label_email",
    "label_dpid",
    "p_line_year",
    "p_line_holder",
    "c_line_year",
    "c_line_holder",
    "genre",
    "subgenre",
    "release_date",
    "original_release_date",
    "preorder_date",
    "parental_advisory",
    "language",
    "territories",
    "excluded_territories",
    "deals",
    "artwork",
    "artwork_ai",
    "release_ai",
    "release_ai_parts",
    "ai_training",
];

/// Columns describing the track on that row.
pub const TRACK_COLUMNS: &[&str] = &[
    "disc",
    "track",
    "isrc",
    "title",
    "version",
    "artists",
    "contributors",
    "duration",
    "explicit",
    "lyrics",
    "iswc",
    "preview_start",
    "preview_length",
    "audio",
    "ai",
    "ai_parts",
    "splits",
];

const REQUIRED_COLUMNS: &[&str] = &[
    "upc",
    "release_title",
    "release_type",
    "release_artists",
    "label",
    "label_email",
    "p_line_year",
    "p_line_holder",
    "c_line_year",
    "c_line_holder",
    "genre",
    "release_date",
    "parental_advisory",
    "language",
    "artwork",
    "track",
    "isrc",
    "title",
    "duration",
    "audio",
];

pub const PAYEE_COLUMNS: &[&str] = &[
    "id",
    "name",
    "email",
    "currency",
    "payout_threshold",
    "payment_ref",
];

/// One cell: its text and where it is.
#[derive(Debug, Clone)]
struct Cell {
    text: String,
    loc: Loc,
}

/// One sheet record: its non-blank cells, found by column name through an index shared by all
/// rows of the sheet (a map per row cost more than the rest of intake put together).
#[derive(Debug, Clone)]
struct Row {
    cells: Vec<Option<Cell>>,
    columns: Rc<HashMap<String, usize>>,
}

impl Row {
    fn get(&self, name: &str) -> Option<&Cell> {
        let i = *self.columns.get(name)?;
        self.cells.get(i)?.as_ref()
    }

    fn values(&self) -> impl Iterator<Item = &Cell> {
        self.cells.iter().flatten()
    }

    fn is_empty(&self) -> bool {
        self.cells.iter().all(Option::is_none)
    }
}

/// A release's rows, as found in the sheet.
pub(crate) struct SheetRelease {
    pub(crate) upc: String,
    /// Normalised column names, to name a cell's column in errors.
    pub(crate) headers: Vec<String>,
    pub(crate) first_line: u32,
    pub(crate) node: Node,
    pub(crate) ctx: Ctx,
}

fn normalise_header(h: &str) -> String {
    h.trim()
        .trim_start_matches('\u{feff}')
        .to_ascii_lowercase()
        .replace([' ', '-'], "_")
}

/// The header line, whatever the line ending (old Mac files end lines with a lone '\r').
fn first_line(text: &str) -> &str {
    text.split(['\r', '\n']).next().unwrap_or("")
}

/// European spreadsheet programs save "CSV" with semicolons; guess from the header line.
fn delimiter(text: &str) -> u8 {
    let header = first_line(text);
    if header.matches(';').count() > header.matches(',').count() {
        b';'
    } else {
        b','
    }
}

fn read_rows(ctx: &mut Ctx, text: &str, known: &[&str]) -> Option<Vec<Row>> {
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter(text))
        .has_headers(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = match rdr.headers() {
        Ok(h) => h.iter().map(normalise_header).collect(),
        Err(e) => {
            ctx.error(
                Loc { line: 1, col: 1 },
                "header",
                None,
                format!("a readable CSV header row ({e})"),
            );
            return None;
        }
    };
    let mut ok = true;
    for (i, h) in headers.iter().enumerate() {
        let loc = Loc {
            line: 1,
            col: i as u32 + 1,
        };
        if !known.contains(&h.as_str()) {
            cell_error(
                ctx,
                loc,
                h,
                h,
                format!("a known column; allowed: {}", known.join(", ")),
            );
            ok = false;
        } else if headers[..i].contains(h) {
            cell_error(ctx, loc, h, h, "each column once");
            ok = false;
        }
    }
    let columns: Rc<HashMap<String, usize>> = Rc::new(
        headers
            .iter()
            .enumerate()
            .map(|(i, h)| (h.clone(), i))
            .collect(),
    );
    // Line numbers come from byte offsets, not the CSV reader's own count, so they match an
    // editor's for CRLF and CR-only files as well.
    let index = crate::node::LineIndex::new(text);
    // A record's position can sit on the line ending before it (the reader ends a record at
    // '\r' and skips the '\n' as part of the next one): step over line endings first.
    let line_at = |p: Option<&csv::Position>| {
        p.map_or(0, |p| {
            let mut at = p.byte() as usize;
            while matches!(text.as_bytes().get(at), Some(b'\r' | b'\n')) {
                at += 1;
            }
            index.loc(at).line
        })
    };
    let mut rows = Vec::new();
    for rec in rdr.records() {
        match rec {
            Ok(rec) => {
                let line = line_at(rec.position());
                let mut row = Row {
                    cells: vec![None; headers.len()],
                    columns: Rc::clone(&columns),
                };
                for (i, v) in rec.iter().enumerate() {
                    if i >= headers.len() {
                        continue;
                    }
                    if !v.trim().is_empty() {
                        row.cells[i] = Some(Cell {
                            text: v.trim().to_owned(),
                            loc: Loc {
                                line,
                                col: i as u32 + 1,
                            },
                        });
                    }
                }
                if !row.is_empty() {
                    rows.push(row);
                }
            }
            Err(e) => {
                let line = line_at(e.position());
                let why = match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => {
                        "text in UTF-8 (save the sheet as \"CSV UTF-8\")".to_owned()
                    }
                    csv::ErrorKind::UnequalLengths {
                        expected_len, len, ..
                    } => {
                        format!("{expected_len} cells like the header row, not {len}")
                    }
                    _ => format!("a well-formed CSV row ({e})"),
                };
                ctx.error(Loc { line, col: 1 }, "row", None, why);
                ok = false;
            }
        }
    }
    ok.then_some(rows)
}

/// Reads a sheet (and `payees.csv` beside it, if there is one) into one tree per release.
pub(crate) fn read_sheet(
    file: &Path,
    text: &str,
    payees: Option<(&Path, &str)>,
    limits: &model::Limits,
) -> Result<Vec<SheetRelease>, Ctx> {
    let mut ctx = Ctx::new(file, true);
    ctx.limits = limits.clone();
    let known: Vec<&str> = RELEASE_COLUMNS
        .iter()
        .chain(TRACK_COLUMNS)
        .copied()
        .collect();
    let Some(rows) = read_rows(&mut ctx, text, &known) else {
        return Err(ctx);
    };
    let present: Vec<&str> = first_line(text)
        .split(delimiter(text) as char)
        .map(|h| h.trim().trim_matches('"'))
        .collect();
    let present: Vec<String> = present.iter().map(|h| normalise_header(h)).collect();
    let missing: Vec<&str> = REQUIRED_COLUMNS
        .iter()
        .copied()
        .filter(|c| !present.iter().any(|p| p == c))
        .collect();
    if !missing.is_empty() {
        ctx.error(
            Loc { line: 1, col: 1 },
            "header",
            Some(present.join(",")),
            format!("the required columns {}", missing.join(", ")),
        );
        return Err(ctx);
    }
    if rows.is_empty() {
        ctx.error(
            Loc { line: 2, col: 1 },
            "rows",
            None,
            "at least one track row",
        );
        return Err(ctx);
    }

    let payee_rows: BTreeMap<String, Row> = match payees {
        None => BTreeMap::new(),
        Some((pfile, ptext)) => {
            let mut pctx = Ctx::new(pfile, true);
            let Some(prows) = read_rows(&mut pctx, ptext, PAYEE_COLUMNS) else {
                return Err(pctx);
            };
            prows
                .into_iter()
                .filter_map(|r| r.get("id").map(|c| (c.text.clone(), r.clone())))
                .collect()
        }
    };

    // Group by UPC, keeping the sheet's order of first appearance.
    let mut order: Vec<String> = Vec::new();
    let mut groups: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    for row in rows {
        let Some(upc) = row.get("upc").map(|c| c.text.clone()) else {
            let loc = row.values().next().map_or(Loc::default(), |c| Loc {
                line: c.loc.line,
                col: 1,
            });
            ctx.error(
                loc,
                "upc",
                None,
                "a UPC on every row (rows are grouped into releases by UPC)",
            );
            continue;
        };
        if !groups.contains_key(&upc) {
            order.push(upc.clone());
        }
        groups.entry(upc).or_default().push(row);
    }
    if !ctx.diags.is_empty() {
        return Err(ctx);
    }

    let mut out = Vec::new();
    for upc in order {
        let rows = &groups[&upc];
        let mut rctx = Ctx::new(file, true);
        rctx.limits = limits.clone();
        let first_line = rows[0].values().map(|c| c.loc.line).min().unwrap_or(0);
        let node = release_node(&mut rctx, rows, &payee_rows);
        out.push(SheetRelease {
            upc,
            headers: present.clone(),
            first_line,
            node,
            ctx: rctx,
        });
    }
    Ok(out)
}

fn s(cell: &Cell) -> Node {
    Node {
        loc: cell.loc,
        value: Value::Str(cell.text.clone()),
    }
}

fn tbl(loc: Loc, entries: Vec<(&'static str, Node)>) -> Node {
    Node {
        loc,
        value: Value::Table(
            entries
                .into_iter()
                .map(|(k, v)| (Key::Borrowed(k), v))
                .collect(),
        ),
    }
}

/// Splits a cell's list on `;` or `|`, but not inside parentheses, so
/// "Ana Ruiz (Composer; Lyricist); Kai Sato (Producer)" is two items.
fn list_items(text: &str) -> impl Iterator<Item = &str> {
    let mut items = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ';' | '|' if depth <= 0 => {
                items.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&text[start..]);
    items.into_iter().map(str::trim).filter(|s| !s.is_empty())
}

/// "Name (Role, Role)" → ("Name", ["Role", "Role"]); a trailing parenthesis that is not a role
/// list stays part of the name ("Band (UK)").
fn name_and_roles(item: &str, is_role: impl Fn(&str) -> bool) -> (&str, Vec<&str>) {
    if let Some(open) = item.rfind('(')
        && let Some(inner) = item[open + 1..].strip_suffix(')')
    {
        let roles: Vec<&str> = inner.split([',', ';']).map(str::trim).collect();
        if roles.iter().all(|r| is_role(r)) {
            return (item[..open].trim(), roles);
        }
    }
    (item, Vec::new())
}

fn artists_node(cell: &Cell) -> Node {
    let items = list_items(&cell.text)
        .map(|it| {
            let (name, roles) = name_and_roles(it, |r| ArtistRole::parse(r).is_some());
            let role = roles.first().copied().unwrap_or("MainArtist");
            let str_node = |v: &str| Node {
                loc: cell.loc,
                value: Value::Str(v.to_owned()),
            };
            tbl(
                cell.loc,
                vec![("name", str_node(name)), ("role", str_node(role))],
            )
        })
        .collect();
    Node {
        loc: cell.loc,
        value: Value::Array(items),
    }
}

fn contributors_node(ctx: &mut Ctx, cell: &Cell) -> Node {
    let mut items = Vec::new();
    for it in list_items(&cell.text) {
        let (name, roles) = name_and_roles(it, |r| ContributorRole::parse(r).is_some());
        if roles.is_empty() {
            cell_error(
                ctx,
                cell.loc,
                "contributors",
                it,
                format!(
                    "Name (Role, Role) with roles from: {}",
                    ContributorRole::expected()
                ),
            );
            continue;
        }
        let str_node = |v: &str| Node {
            loc: cell.loc,
            value: Value::Str(v.to_owned()),
        };
        let roles = Node {
            loc: cell.loc,
            value: Value::Array(roles.iter().map(|r| str_node(r)).collect()),
        };
        items.push(tbl(
            cell.loc,
            vec![("name", str_node(name)), ("roles", roles)],
        ));
    }
    Node {
        loc: cell.loc,
        value: Value::Array(items),
    }
}

fn str_list(cell: &Cell, sep: &[char]) -> Node {
    let items = cell
        .text
        .split(sep)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|v| Node {
            loc: cell.loc,
            value: Value::Str(v.to_owned()),
        })
        .collect();
    Node {
        loc: cell.loc,
        value: Value::Array(items),
    }
}

fn ai_node(cell: &Cell, parts: Option<&Cell>) -> Node {
    let mut entries = vec![("contains", s(cell))];
    if let Some(p) = parts {
        entries.push(("parts", str_list(p, &[';', ',', '|'])));
    }
    tbl(cell.loc, entries)
}

fn release_node(ctx: &mut Ctx, rows: &[Row], payees: &BTreeMap<String, Row>) -> Node {
    // Release-level cells: the first non-blank value wins; a different value later is an error.
    let mut rel: BTreeMap<&str, Cell> = BTreeMap::new();
    for row in rows {
        for col in RELEASE_COLUMNS {
            let Some(cell) = row.get(col) else { continue };
            match rel.get(col) {
                None => {
                    rel.insert(col, cell.clone());
                }
                Some(first) if first.text != cell.text => {
                    cell_error(
                        ctx,
                        cell.loc,
                        col,
                        &cell.text,
                        format!(
                            "the same value as line {} ({:?}): all rows of a release must agree, or leave it blank",
                            first.loc.line, first.text
                        ),
                    );
                }
                Some(_) => {}
            }
        }
    }
    let loc = rows[0]
        .values()
        .map(|c| Loc {
            line: c.loc.line,
            col: 1,
        })
        .next()
        .unwrap_or_default();
    let mut e: Vec<(&str, Node)> = Vec::new();
    for (col, key) in [
        ("upc", "upc"),
        ("catalog_number", "catalog_number"),
        ("grid", "grid"),
        ("release_title", "title"),
        ("release_version", "version"),
        ("release_type", "release_type"),
        ("genre", "genre"),
        ("subgenre", "subgenre"),
        ("release_date", "release_date"),
        ("original_release_date", "original_release_date"),
        ("preorder_date", "preorder_date"),
        ("parental_advisory", "parental_advisory"),
        ("language", "language"),
    ] {
        if let Some(c) = rel.get(col) {
            e.push((key, s(c)));
        }
    }
    if let Some(c) = rel.get("release_artists") {
        e.push(("artists", artists_node(c)));
    }
    if let Some(c) = rel.get("label") {
        let mut l = vec![("name", s(c))];
        if let Some(m) = rel.get("label_email") {
            l.push(("email", s(m)));
        }
        if let Some(d) = rel.get("label_dpid") {
            l.push(("dpid", s(d)));
        }
        e.push(("label", tbl(c.loc, l)));
    }
    for (prefix, key) in [("p_line", "p_line"), ("c_line", "c_line")] {
        let year = rel.get(format!("{prefix}_year").as_str()).cloned();
        let holder = rel.get(format!("{prefix}_holder").as_str()).cloned();
        if let Some(at) = year.as_ref().or(holder.as_ref()) {
            let mut l = Vec::new();
            if let Some(y) = &year {
                l.push(("year", s(y)));
            }
            if let Some(h) = &holder {
                l.push(("holder", s(h)));
            }
            e.push((key, tbl(at.loc, l)));
        }
    }
    if let Some(c) = rel.get("territories") {
        let mut t = vec![("include", str_list(c, &[' ', ',', ';']))];
        if let Some(x) = rel.get("excluded_territories") {
            t.push(("exclude", str_list(x, &[' ', ',', ';'])));
        }
        e.push(("territories", tbl(c.loc, t)));
    } else if let Some(x) = rel.get("excluded_territories") {
        let ww = Node {
            loc: x.loc,
            value: Value::Array(vec![Node {
                loc: x.loc,
                value: Value::Str("Worldwide".into()),
            }]),
        };
        e.push((
            "territories",
            tbl(
                x.loc,
                vec![("include", ww), ("exclude", str_list(x, &[' ', ',', ';']))],
            ),
        ));
    }
    if let Some(c) = rel.get("deals") {
        // A sheet names commercial models; each gets DDEX's usual use types, from the release date.
        let mut deals = Vec::new();
        for m in list_items(&c.text) {
            let Some(model) = CommercialModel::parse(m) else {
                cell_error(
                    ctx,
                    c.loc,
                    "deals",
                    m,
                    format!(
                        "commercial models separated by ';', from: {}",
                        CommercialModel::expected()
                    ),
                );
                continue;
            };
            let uses = model
                .usual_use_types()
                .into_iter()
                .map(|u| Node {
                    loc: c.loc,
                    value: Value::Str(u.as_str().to_owned()),
                })
                .collect();
            deals.push(tbl(
                c.loc,
                vec![
                    (
                        "commercial_model",
                        Node {
                            loc: c.loc,
                            value: Value::Str(model.as_str().to_owned()),
                        },
                    ),
                    (
                        "use_types",
                        Node {
                            loc: c.loc,
                            value: Value::Array(uses),
                        },
                    ),
                ],
            ));
        }
        e.push((
            "deals",
            Node {
                loc: c.loc,
                value: Value::Array(deals),
            },
        ));
    }
    if let Some(c) = rel.get("artwork") {
        let mut a = vec![("file", s(c))];
        if let Some(x) = rel.get("artwork_ai") {
            a.push(("ai", s(x)));
        }
        e.push(("artwork", tbl(c.loc, a)));
    }
    if let Some(c) = rel.get("release_ai") {
        e.push(("ai", ai_node(c, rel.get("release_ai_parts"))));
    }
    if let Some(c) = rel.get("ai_training") {
        let mut flags = Vec::new();
        for f in list_items(&c.text)
            .flat_map(|x| x.split(','))
            .map(str::trim)
            .filter(|x| !x.is_empty())
        {
            let key = match f.to_ascii_lowercase().replace([' ', '-'], "_").as_str() {
                "generative" => "generative",
                "non_generative" => "non_generative",
                "data_mining" => "data_mining",
                _ => {
                    cell_error(
                        ctx,
                        c.loc,
                        "ai_training",
                        f,
                        "a list of consents: generative; non_generative; data_mining",
                    );
                    continue;
                }
            };
            flags.push((
                key,
                Node {
                    loc: c.loc,
                    value: Value::Bool(true),
                },
            ));
        }
        e.push(("ai_training", tbl(c.loc, flags)));
    }

    let mut tracks = Vec::new();
    let mut referenced: Vec<String> = Vec::new();
    for row in rows {
        let tloc = row
            .values()
            .map(|c| Loc {
                line: c.loc.line,
                col: 1,
            })
            .next()
            .unwrap_or_default();
        let mut t: Vec<(&str, Node)> = Vec::new();
        for (col, key) in [
            ("disc", "disc"),
            ("track", "number"),
            ("isrc", "isrc"),
            ("title", "title"),
            ("version", "version"),
            ("duration", "duration"),
            ("explicit", "explicit"),
            ("lyrics", "lyrics"),
            ("iswc", "iswc"),
            ("audio", "audio"),
        ] {
            if let Some(c) = row.get(col) {
                t.push((key, s(c)));
            }
        }
        if let Some(c) = row.get("artists") {
            t.push(("artists", artists_node(c)));
        }
        if let Some(c) = row.get("contributors") {
            t.push(("contributors", contributors_node(ctx, c)));
        }
        let ps = row.get("preview_start");
        let pl = row.get("preview_length");
        if let Some(at) = ps.or(pl) {
            let mut p = Vec::new();
            if let Some(c) = ps {
                p.push(("start", s(c)));
            }
            if let Some(c) = pl {
                p.push(("length", s(c)));
            }
            t.push(("preview", tbl(at.loc, p)));
        }
        if let Some(c) = row.get("ai") {
            t.push(("ai", ai_node(c, row.get("ai_parts"))));
        } else if let Some(p) = row.get("ai_parts") {
            cell_error(
                ctx,
                p.loc,
                "ai_parts",
                &p.text,
                "an ai column (None, Partly, All) on the same row",
            );
        }
        if let Some(c) = row.get("splits") {
            let mut splits = Vec::new();
            for it in list_items(&c.text) {
                match parse_split(it) {
                    Some((payee, bp)) => {
                        if !referenced.iter().any(|r| r == payee) {
                            referenced.push(payee.to_owned());
                        }
                        splits.push(tbl(
                            c.loc,
                            vec![
                                (
                                    "payee",
                                    Node {
                                        loc: c.loc,
                                        value: Value::Str(payee.to_owned()),
                                    },
                                ),
                                (
                                    "basis_points",
                                    Node {
                                        loc: c.loc,
                                        value: Value::Int(bp),
                                    },
                                ),
                            ],
                        ));
                    }
                    None => cell_error(
                        ctx,
                        c.loc,
                        "splits",
                        it,
                        "payee=basis points or payee=percent, e.g. nova-lune=7000; kai-sato=30%",
                    ),
                }
            }
            t.push((
                "splits",
                Node {
                    loc: c.loc,
                    value: Value::Array(splits),
                },
            ));
        }
        tracks.push(tbl(tloc, t));
    }
    e.push((
        "tracks",
        Node {
            loc,
            value: Value::Array(tracks),
        },
    ));

    // The release carries the payee records its splits refer to.
    let mut payee_nodes = Vec::new();
    for id in &referenced {
        if let Some(prow) = payees.get(id) {
            let ploc = prow.values().next().map_or(loc, |c| c.loc);
            let entries = PAYEE_COLUMNS
                .iter()
                .filter_map(|col| prow.get(col).map(|c| (*col, s(c))))
                .collect();
            payee_nodes.push(tbl(ploc, entries));
        }
    }
    if !payee_nodes.is_empty() {
        e.push((
            "payees",
            Node {
                loc,
                value: Value::Array(payee_nodes),
            },
        ));
    }
    tbl(loc, e)
}

/// "nova-lune=7000" (basis points) or "nova-lune=70%" / "nova-lune=33.33%".
fn parse_split(item: &str) -> Option<(&str, i64)> {
    let (payee, share) = item.split_once(['=', ':'])?;
    let share = share.trim();
    let bp = match share.strip_suffix('%') {
        Some(pct) => {
            let (int, frac) = pct.trim().split_once('.').unwrap_or((pct.trim(), ""));
            if frac.len() > 2
                || !int.bytes().all(|c| c.is_ascii_digit())
                || !frac.bytes().all(|c| c.is_ascii_digit())
                || int.is_empty()
            {
                return None;
            }
            int.parse::<i64>().ok()? * 100 + format!("{frac:0<2}").parse::<i64>().ok()?
        }
        None => share.parse::<i64>().ok()?,
    };
    Some((payee.trim(), bp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_split_outside_parentheses_only() {
        let items: Vec<&str> =
            list_items("Ana Ruiz (Composer; Lyricist); Kai Sato (Producer) | Mo").collect();
        assert_eq!(
            items,
            ["Ana Ruiz (Composer; Lyricist)", "Kai Sato (Producer)", "Mo"]
        );
        assert_eq!(list_items(" ; ;").count(), 0);
    }

    #[test]
    fn a_parenthesis_that_is_not_a_role_list_stays_in_the_name() {
        let is_role = |r: &str| ContributorRole::parse(r).is_some();
        assert_eq!(
            name_and_roles("Ana Ruiz (Composer, Lyricist)", is_role),
            ("Ana Ruiz", vec!["Composer", "Lyricist"])
        );
        assert_eq!(
            name_and_roles("The Band (UK)", is_role),
            ("The Band (UK)", vec![])
        );
    }

    #[test]
    fn splits_read_basis_points_or_exact_percentages() {
        assert_eq!(parse_split("nova=7000"), Some(("nova", 7000)));
        assert_eq!(parse_split("nova = 70%"), Some(("nova", 7000)));
        assert_eq!(parse_split("nova:33.33%"), Some(("nova", 3333)));
        assert_eq!(
            parse_split("nova=33.333%"),
            None,
            "more precision than a basis point is refused, not rounded"
        );
        assert_eq!(parse_split("nova"), None);
        assert_eq!(parse_split("nova=x%"), None);
    }

    #[test]
    fn semicolon_sheets_are_read() {
        assert_eq!(delimiter("upc;isrc;title\n1;2;3"), b';');
        assert_eq!(delimiter("upc,isrc,title"), b',');
    }
}
