//! A small, hardened element tree over quick-xml: what the ERN reader walks.
//!
//! Hardening: a DOCTYPE is refused outright (DDEX messages never carry one, and refusing it
//! removes external entities and entity-expansion bombs in one stroke); only the five
//! predefined entities and character references are expanded; depth, size and element count
//! are limited. Every node keeps its byte offset so errors can name line and column.
//! A UTF-8 BOM and CRLF line ends (both found in DDEX's own samples) are accepted.

use quick_xml::Reader;
use quick_xml::events::Event;

/// Limits on what the reader accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_bytes: usize,
    pub max_depth: usize,
    pub max_elements: usize,
    /// Attributes on one element (DDEX elements carry at most a handful).
    pub max_attributes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        // The largest official sample is 330 KB; real catalogues with thousands of
        // territory deals stay well under this.
        Limits {
            max_bytes: 256 * 1024 * 1024,
            max_depth: 64,
            max_elements: 5_000_000,
            max_attributes: 64,
        }
    }
}

/// Why a document is not a readable XML message, with where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct XmlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

#[derive(Debug, Clone)]
pub struct Node {
    /// Local name (prefix stripped).
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<usize>,
    pub offset: usize,
}

#[derive(Debug, Clone)]
pub struct Tree {
    pub nodes: Vec<Node>,
    /// Namespace URI of the root element's prefix (or default namespace).
    pub root_ns: Option<String>,
    src: Vec<usize>,
}

/// 1-based line and column of a byte offset.
pub fn line_col(line_starts: &[usize], offset: usize) -> (usize, usize) {
    let line = line_starts.partition_point(|&s| s <= offset);
    let start = line_starts
        .get(line.saturating_sub(1))
        .copied()
        .unwrap_or(0);
    (line.max(1), offset - start + 1)
}

fn line_starts(bytes: &[u8]) -> Vec<usize> {
    let mut v = vec![0];
    v.extend(memchr_iter(bytes).map(|i| i + 1));
    v
}

fn memchr_iter(bytes: &[u8]) -> impl Iterator<Item = usize> + '_ {
    bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i)
}

fn local(name: &[u8]) -> &[u8] {
    match name.iter().position(|&b| b == b':') {
        Some(i) => &name[i + 1..],
        None => name,
    }
}

impl Tree {
    pub fn parse(bytes: &[u8], limits: Limits) -> Result<Tree, XmlError> {
        let err_at = |offset: usize, message: String| {
            let (line, column) = line_col(&line_starts(bytes), offset);
            XmlError {
                line,
                column,
                message,
            }
        };
        if bytes.len() > limits.max_bytes {
            return Err(err_at(
                0,
                format!(
                    "message is {} bytes; the limit is {} bytes",
                    bytes.len(),
                    limits.max_bytes
                ),
            ));
        }
        let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let bom = bytes.len() - body.len();
        let text = std::str::from_utf8(body).map_err(|e| {
            err_at(
                bom + e.valid_up_to(),
                "not UTF-8 (ERN messages are UTF-8)".into(),
            )
        })?;
        let mut reader = Reader::from_str(text);
        // Text is not trimmed per event: "A &amp; B" arrives as three events and its spaces
        // matter. Whitespace-only events (indentation) are skipped; each node's text is
        // trimmed once at the end.
        reader.config_mut().trim_text(false);
        let mut nodes: Vec<Node> = Vec::with_capacity(text.len() / 40);
        let mut stack: Vec<usize> = Vec::new();
        let mut root_ns = None;
        let mut root_seen = false;
        loop {
            let pos = bom + reader.buffer_position() as usize;
            let ev = reader.read_event().map_err(|e| {
                err_at(
                    bom + reader.error_position() as usize,
                    format!("malformed XML: {e}"),
                )
            })?;
            match ev {
                Event::Start(ref e) | Event::Empty(ref e) => {
                    if stack.is_empty() && root_seen {
                        return Err(err_at(pos, "more than one root element".into()));
                    }
                    if stack.len() >= limits.max_depth {
                        return Err(err_at(
                            pos,
                            format!("elements nested deeper than {}", limits.max_depth),
                        ));
                    }
                    if nodes.len() >= limits.max_elements {
                        return Err(err_at(
                            pos,
                            format!("more than {} elements", limits.max_elements),
                        ));
                    }
                    let name = String::from_utf8_lossy(local(e.name().as_ref())).into_owned();
                    let mut attrs = Vec::new();
                    // quick-xml's own duplicate check compares every pair (quadratic); the
                    // count is capped and duplicates found through a set instead.
                    let mut seen = std::collections::HashSet::new();
                    for (n, a) in e.attributes().with_checks(false).enumerate() {
                        let a = a.map_err(|x| err_at(pos, format!("malformed attribute: {x}")))?;
                        if n >= limits.max_attributes {
                            return Err(err_at(
                                pos,
                                format!(
                                    "at most {} attributes on one element (the limit `xml_attributes` under [limits] in liner.toml)",
                                    limits.max_attributes
                                ),
                            ));
                        }
                        let key = a.key.as_ref();
                        if !seen.insert(key.to_vec()) {
                            return Err(err_at(
                                pos,
                                format!(
                                    "each attribute once (\"{}\" appears twice)",
                                    String::from_utf8_lossy(key)
                                ),
                            ));
                        }
                        let value = a
                            .unescape_value()
                            .map_err(|x| err_at(pos, format!("bad attribute value: {x}")))?
                            .into_owned();
                        if stack.is_empty() {
                            let prefix = e.name().prefix().map(|p| p.as_ref().to_vec());
                            let is_ns = match &prefix {
                                Some(p) => key.strip_prefix(b"xmlns:") == Some(p.as_slice()),
                                None => key == b"xmlns",
                            };
                            if is_ns {
                                root_ns = Some(value.clone());
                            }
                        }
                        if key.starts_with(b"xmlns") {
                            continue;
                        }
                        attrs.push((String::from_utf8_lossy(local(key)).into_owned(), value));
                    }
                    let idx = nodes.len();
                    nodes.push(Node {
                        name,
                        attrs,
                        text: String::new(),
                        children: Vec::new(),
                        offset: pos,
                    });
                    if let Some(&parent) = stack.last() {
                        nodes[parent].children.push(idx);
                    }
                    root_seen = true;
                    if matches!(ev, Event::Start(_)) {
                        stack.push(idx);
                    }
                }
                Event::End(_) => {
                    stack.pop();
                }
                Event::Text(t) => {
                    // Indentation between elements; a space between two references in a
                    // leaf ("A&gt; &amp;") is kept.
                    let indentation = stack.last().is_none_or(|&c| !nodes[c].children.is_empty());
                    if indentation && t.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    if let Some(&cur) = stack.last() {
                        let s = t
                            .decode()
                            .map_err(|x| err_at(pos, format!("bad text: {x}")))?;
                        nodes[cur].text.push_str(&s);
                    } else if !t.iter().all(u8::is_ascii_whitespace) {
                        return Err(err_at(pos, "text outside the root element".into()));
                    }
                }
                Event::GeneralRef(r) => {
                    let Some(&cur) = stack.last() else {
                        return Err(err_at(pos, "entity reference outside the root".into()));
                    };
                    let name = r
                        .decode()
                        .map_err(|x| err_at(pos, format!("bad reference: {x}")))?;
                    let ch = if let Some(c) = r
                        .resolve_char_ref()
                        .map_err(|x| err_at(pos, format!("bad character reference: {x}")))?
                    {
                        c
                    } else {
                        match name.as_ref() {
                            "lt" => '<',
                            "gt" => '>',
                            "amp" => '&',
                            "apos" => '\'',
                            "quot" => '"',
                            other => {
                                return Err(err_at(
                                    pos,
                                    format!(
                                        "undefined entity &{other}; (only the five XML entities are allowed; DTDs are refused)"
                                    ),
                                ));
                            }
                        }
                    };
                    nodes[cur].text.push(ch);
                }
                Event::CData(c) => {
                    if let Some(&cur) = stack.last() {
                        nodes[cur].text.push_str(&String::from_utf8_lossy(&c));
                    }
                }
                Event::DocType(_) => {
                    return Err(err_at(
                        pos,
                        "a DOCTYPE is not allowed in an ERN message (no DTDs, no entities)".into(),
                    ));
                }
                Event::Eof => {
                    if let Some(&open) = stack.last() {
                        return Err(err_at(
                            bytes.len(),
                            format!(
                                "unexpected end of file: <{}> is not closed",
                                nodes[open].name
                            ),
                        ));
                    }
                    if nodes.is_empty() {
                        return Err(err_at(0, "no root element".into()));
                    }
                    break;
                }
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            }
        }
        // Text was trimmed per event; trim the joins of text and references too.
        for n in &mut nodes {
            if n.text.starts_with(char::is_whitespace) || n.text.ends_with(char::is_whitespace) {
                n.text = n.text.trim().to_owned();
            }
        }
        Ok(Tree {
            nodes,
            root_ns,
            src: line_starts(bytes),
        })
    }

    pub fn root(&self) -> usize {
        0
    }

    pub fn node(&self, i: usize) -> &Node {
        &self.nodes[i]
    }

    pub fn name(&self, i: usize) -> &str {
        &self.nodes[i].name
    }

    pub fn text(&self, i: usize) -> &str {
        &self.nodes[i].text
    }

    pub fn attr(&self, i: usize, name: &str) -> Option<&str> {
        self.nodes[i]
            .attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Children of `i` named `name`.
    pub fn all<'a>(&'a self, i: usize, name: &'a str) -> impl Iterator<Item = usize> + 'a {
        self.nodes[i]
            .children
            .iter()
            .copied()
            .filter(move |&c| self.nodes[c].name == name)
    }

    pub fn first(&self, i: usize, name: &str) -> Option<usize> {
        self.all(i, name).next()
    }

    /// Text of the first child named `name`, if any and not empty.
    pub fn child_text(&self, i: usize, name: &str) -> Option<String> {
        self.first(i, name)
            .map(|c| self.text(c).to_owned())
            .filter(|s| !s.is_empty())
    }

    /// Follows a path of child names, taking the first match at each step.
    pub fn path(&self, i: usize, path: &[&str]) -> Option<usize> {
        path.iter().try_fold(i, |cur, name| self.first(cur, name))
    }

    pub fn line_col(&self, i: usize) -> (usize, usize) {
        line_col(&self.src, self.nodes[i].offset)
    }
}
