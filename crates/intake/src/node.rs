//! A document tree whose every value knows where it came from. TOML, JSON and CSV sheets are
//! all turned into this tree first, so one converter (convert.rs) reads all three and every
//! error it finds can point at a line and column (or a sheet cell).

use std::fmt;

/// Where a value sits in its source file. Lines and columns count from 1; for a CSV sheet the
/// line is the record's line in the file and the column is the cell's 1-based index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Loc {
    pub line: u32,
    pub col: u32,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub loc: Loc,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    /// Kept as written: release documents have no business with floats, so a float is only
    /// ever reported as the wrong type.
    Float(String),
    Bool(bool),
    /// A TOML date/datetime literal, as written.
    Date(String),
    Array(Vec<Node>),
    /// Keys are borrowed when they are known names (a sheet's columns map to static keys)
    /// and owned when they come from a document.
    Table(Vec<(Key, Node)>),
}

pub type Key = std::borrow::Cow<'static, str>;

impl Value {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "a string",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Bool(_) => "a boolean",
            Value::Date(_) => "a date",
            Value::Array(_) => "an array",
            Value::Table(_) => "a table",
        }
    }

    /// A short rendering of the value for error messages.
    pub fn display(&self) -> String {
        match self {
            Value::Str(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) | Value::Date(f) => f.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Array(_) => "[…]".into(),
            Value::Table(_) => "{…}".into(),
        }
    }
}

/// Maps byte offsets to line:column (columns in characters, as editors count them).
#[derive(Debug)]
pub struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
    /// The last position asked for and its column: parsers ask in increasing order, so the
    /// next column is counted from there. A whole document on one line (as stored JSON is)
    /// would otherwise be re-counted from its start for every value: quadratic.
    last: std::cell::Cell<(usize, usize, u32)>,
}

impl<'a> LineIndex<'a> {
    /// Lines end at `\n`, `\r\n` or a lone `\r` (old Mac files), so line numbers match
    /// what an editor shows for every line ending.
    pub fn new(text: &'a str) -> LineIndex<'a> {
        let mut starts = vec![0];
        let bytes = text.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
                starts.push(i + 1);
            }
        }
        LineIndex {
            text,
            starts,
            last: std::cell::Cell::new((0, 0, 0)),
        }
    }

    pub fn loc(&self, offset: usize) -> Loc {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let start = self.starts[line];
        let (last_line, last_offset, last_col) = self.last.get();
        let (from, col0) = if last_line == line && last_offset >= start && last_offset <= offset {
            (last_offset, last_col)
        } else {
            (start, 0)
        };
        let col = col0 + self.text[from..offset].chars().count() as u32;
        self.last.set((line, offset, col));
        Loc {
            line: line as u32 + 1,
            col: col + 1,
        }
    }
}

// ------------------------------------------------------------------ TOML

/// Parses TOML into a located tree; on syntax errors returns every error the parser recovered.
pub fn from_toml(text: &str) -> Result<Node, Vec<(Loc, String)>> {
    use toml::de::{DeTable, DeValue};
    let index = LineIndex::new(text);
    let (doc, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        return Err(errors
            .iter()
            .map(|e| {
                let loc = e.span().map(|s| index.loc(s.start)).unwrap_or_default();
                (loc, e.message().trim().to_owned())
            })
            .collect());
    }
    fn conv(v: &DeValue<'_>, _loc: Loc, index: &LineIndex<'_>) -> Value {
        match v {
            DeValue::String(s) => Value::Str(s.to_string()),
            DeValue::Integer(i) => {
                match i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()) {
                    Ok(n) => Value::Int(n),
                    Err(_) => Value::Float(i.as_str().to_owned()),
                }
            }
            DeValue::Float(f) => Value::Float(f.as_str().to_owned()),
            DeValue::Boolean(b) => Value::Bool(*b),
            DeValue::Datetime(d) => Value::Date(d.to_string()),
            DeValue::Array(a) => Value::Array(
                a.iter()
                    .map(|item| {
                        let l = index.loc(item.span().start);
                        Node {
                            loc: l,
                            value: conv(item.get_ref(), l, index),
                        }
                    })
                    .collect(),
            ),
            DeValue::Table(t) => conv_table(t, index),
        }
    }
    fn conv_table(t: &DeTable<'_>, index: &LineIndex<'_>) -> Value {
        Value::Table(
            t.iter()
                .map(|(k, v)| {
                    let l = index.loc(v.span().start);
                    (
                        Key::Owned(k.get_ref().to_string()),
                        Node {
                            loc: l,
                            value: conv(v.get_ref(), l, index),
                        },
                    )
                })
                .collect(),
        )
    }
    let loc = Loc { line: 1, col: 1 };
    Ok(Node {
        loc,
        value: conv_table(doc.get_ref(), &index),
    })
}

// ------------------------------------------------------------------ JSON

/// Parses JSON into a located tree. serde_json can only say where its first error is and
/// forgets positions once parsed, so release JSON gets this small parser of its own.
pub fn from_json(text: &str) -> Result<Node, (Loc, String)> {
    let mut p = JsonParser {
        text: text.as_bytes(),
        pos: 0,
        index: LineIndex::new(text),
        depth: 0,
    };
    p.ws();
    let node = p.value()?;
    p.ws();
    if p.pos < p.text.len() {
        return Err(p.err("unexpected text after the JSON value"));
    }
    Ok(node)
}

struct JsonParser<'a> {
    text: &'a [u8],
    pos: usize,
    index: LineIndex<'a>,
    depth: u32,
}

impl JsonParser<'_> {
    fn err(&self, msg: &str) -> (Loc, String) {
        (self.index.loc(self.pos), msg.to_owned())
    }

    fn ws(&mut self) {
        while self.pos < self.text.len()
            && matches!(self.text[self.pos], b' ' | b'\t' | b'\n' | b'\r')
        {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn expect(&mut self, c: u8) -> Result<(), (Loc, String)> {
        if self.peek() == Some(c) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(&format!("expected '{}'", c as char)))
        }
    }

    fn value(&mut self) -> Result<Node, (Loc, String)> {
        let loc = self.index.loc(self.pos);
        // Deeply nested input is refused rather than allowed to exhaust the stack.
        if self.depth > 64 {
            return Err(self.err("nesting deeper than 64 levels"));
        }
        let value = match self.peek() {
            Some(b'{') => {
                self.pos += 1;
                self.depth += 1;
                let mut entries = Vec::new();
                self.ws();
                if self.peek() == Some(b'}') {
                    self.pos += 1;
                } else {
                    loop {
                        self.ws();
                        if self.peek() != Some(b'"') {
                            return Err(self.err("expected a quoted key"));
                        }
                        let key = self.string()?;
                        self.ws();
                        self.expect(b':')?;
                        self.ws();
                        let v = self.value()?;
                        if entries.iter().any(|(k, _): &(Key, Node)| *k == key) {
                            return Err((v.loc, format!("duplicate key {key:?}")));
                        }
                        entries.push((Key::Owned(key), v));
                        self.ws();
                        match self.peek() {
                            Some(b',') => self.pos += 1,
                            Some(b'}') => {
                                self.pos += 1;
                                break;
                            }
                            _ => return Err(self.err("expected ',' or '}'")),
                        }
                    }
                }
                self.depth -= 1;
                Value::Table(entries)
            }
            Some(b'[') => {
                self.pos += 1;
                self.depth += 1;
                let mut items = Vec::new();
                self.ws();
                if self.peek() == Some(b']') {
                    self.pos += 1;
                } else {
                    loop {
                        self.ws();
                        items.push(self.value()?);
                        self.ws();
                        match self.peek() {
                            Some(b',') => self.pos += 1,
                            Some(b']') => {
                                self.pos += 1;
                                break;
                            }
                            _ => return Err(self.err("expected ',' or ']'")),
                        }
                    }
                }
                self.depth -= 1;
                Value::Array(items)
            }
            Some(b'"') => Value::Str(self.string()?),
            Some(b't') if self.text[self.pos..].starts_with(b"true") => {
                self.pos += 4;
                Value::Bool(true)
            }
            Some(b'f') if self.text[self.pos..].starts_with(b"false") => {
                self.pos += 5;
                Value::Bool(false)
            }
            Some(b'n') if self.text[self.pos..].starts_with(b"null") => {
                return Err(self.err("null is not allowed: leave the field out instead"));
            }
            Some(c) if c == b'-' || c.is_ascii_digit() => {
                let start = self.pos;
                while self.peek().is_some_and(|c| {
                    c.is_ascii_digit() || matches!(c, b'-' | b'+' | b'.' | b'e' | b'E')
                }) {
                    self.pos += 1;
                }
                let s = std::str::from_utf8(&self.text[start..self.pos]).unwrap_or("");
                match s.parse::<i64>() {
                    Ok(n) => Value::Int(n),
                    Err(_) if s.parse::<f64>().is_ok() => Value::Float(s.to_owned()),
                    Err(_) => return Err((loc, format!("{s:?} is not a number"))),
                }
            }
            Some(_) => return Err(self.err("expected a JSON value")),
            None => return Err(self.err("unexpected end of file")),
        };
        Ok(Node { loc, value })
    }

    fn string(&mut self) -> Result<String, (Loc, String)> {
        self.expect(b'"')?;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.err("unterminated string"));
            };
            self.pos += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(e) = self.peek() else {
                        return Err(self.err("unterminated string"));
                    };
                    self.pos += 1;
                    match e {
                        b'"' => out.push(b'"'),
                        b'\\' => out.push(b'\\'),
                        b'/' => out.push(b'/'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let mut cp = self.hex4()?;
                            if (0xD800..0xDC00).contains(&cp) {
                                // A surrogate pair: the low half must follow.
                                if !self.text[self.pos..].starts_with(b"\\u") {
                                    return Err(self.err("lone UTF-16 surrogate in \\u escape"));
                                }
                                self.pos += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(self.err("invalid UTF-16 surrogate pair"));
                                }
                                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                            }
                            let ch =
                                char::from_u32(cp).ok_or_else(|| self.err("invalid \\u escape"))?;
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return Err(self.err("invalid escape")),
                    }
                }
                c if c < 0x20 => return Err(self.err("control character in string (escape it)")),
                c => out.push(c),
            }
        }
        String::from_utf8(out).map_err(|_| self.err("string is not valid UTF-8"))
    }

    fn hex4(&mut self) -> Result<u32, (Loc, String)> {
        let s = self
            .text
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.err("short \\u escape"))?;
        let s = std::str::from_utf8(s).map_err(|_| self.err("invalid \\u escape"))?;
        let v = u32::from_str_radix(s, 16).map_err(|_| self.err("invalid \\u escape"))?;
        self.pos += 4;
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_positions_point_at_values() {
        let text = "{\n  \"a\": 1,\n  \"b\": [true, \"x\\u00e9\"]\n}";
        let node = from_json(text).expect("valid");
        let Value::Table(t) = node.value else {
            panic!("table")
        };
        assert_eq!(t[0].1.loc, Loc { line: 2, col: 8 });
        let Value::Array(items) = &t[1].1.value else {
            panic!("array")
        };
        assert_eq!(items[1].value, Value::Str("xé".into()));
        assert_eq!(items[1].loc, Loc { line: 3, col: 15 });
    }

    #[test]
    fn json_errors_are_located() {
        let (loc, msg) = from_json("{\n  \"a\": 1,\n  \"b\" 2\n}").expect_err("missing colon");
        assert_eq!(loc, Loc { line: 3, col: 7 });
        assert!(msg.contains("':'"), "{msg}");
        assert!(from_json("[1, 2").is_err());
        assert!(from_json(&"[".repeat(1000)).is_err());
        assert!(from_json("{\"a\":1,\"a\":2}").is_err());
    }

    #[test]
    fn toml_positions_point_at_values() {
        let node = from_toml("title = \"x\"\n\n[[tracks]]\nisrc = \"US\"\n").expect("valid");
        let Value::Table(t) = node.value else {
            panic!("table")
        };
        let tracks = t.iter().find(|(k, _)| k == "tracks").expect("tracks");
        let Value::Array(items) = &tracks.1.value else {
            panic!("array")
        };
        let Value::Table(track) = &items[0].value else {
            panic!("table")
        };
        assert_eq!(track[0].1.loc, Loc { line: 4, col: 8 });
    }

    #[test]
    fn toml_syntax_errors_are_all_reported() {
        let errs = from_toml("a = \nb = 'x\"\n").expect_err("broken");
        assert!(!errs.is_empty());
        assert!(errs.iter().all(|(loc, _)| loc.line >= 1));
    }
}
