//! Typed identifiers. Each one is parsed once at the edge (`FromStr`/`parse`) and is valid
//! for the rest of its life: the rest of Liner takes these types and never re-checks them.
//!
//! Check characters follow the standards' own algorithms. Where an algorithm cannot see a
//! class of typing errors (ISWC's weights 2, 4, 5, 6 and 8 share a factor with 10), the
//! property tests say so explicitly rather than pretending otherwise.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::codes::{is_country_code, is_iso639_1};

/// Why a string is not a valid identifier. `expected` is written for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a valid {kind}: {expected}")]
pub struct IdError {
    pub kind: &'static str,
    pub value: String,
    pub expected: String,
}

impl IdError {
    fn new(kind: &'static str, value: &str, expected: impl Into<String>) -> Self {
        IdError {
            kind,
            value: value.to_owned(),
            expected: expected.into(),
        }
    }
}

/// Implements Display, FromStr, serde (as a string) and a JSON Schema string with a pattern.
macro_rules! string_id {
    ($ty:ident, $pattern:expr, $desc:expr) => {
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl FromStr for $ty {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                $ty::parse(s)
            }
        }
        impl $ty {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $ty::parse(&s).map_err(serde::de::Error::custom)
            }
        }
        impl JsonSchema for $ty {
            fn schema_name() -> Cow<'static, str> {
                stringify!($ty).into()
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({ "type": "string", "pattern": $pattern, "description": $desc })
            }
        }
    };
}

fn compact(s: &str) -> String {
    // People paste identifiers with the separators used in print: hyphens, spaces, dots.
    s.chars()
        .filter(|c| !matches!(c, '-' | ' ' | '.'))
        .collect::<String>()
        .to_ascii_uppercase()
}

fn digit(c: u8) -> u32 {
    u32::from(c - b'0')
}

// ---------------------------------------------------------------- ISRC

/// International Standard Recording Code (ISO 3901): CC-XXX-YY-NNNNN, stored without hyphens.
/// No check digit exists; the country prefix must be an ISO 3166 code or one the ISRC agency
/// allocates outside it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Isrc(String);

/// Prefixes allocated by the International ISRC Agency that are not ISO 3166 codes.
const ISRC_SPECIAL_PREFIXES: [&str; 8] = ["FX", "QM", "QT", "QZ", "UK", "CP", "DG", "ZZ"];

impl Isrc {
    pub fn parse(input: &str) -> Result<Isrc, IdError> {
        let s = compact(input.trim());
        let b = s.as_bytes();
        let expected = "12 characters CC-XXX-YY-NNNNN: country code, 3-character registrant, 2-digit year, 5-digit designation (e.g. USRC17607839)";
        if b.len() != 12 {
            return Err(IdError::new("ISRC", input, expected));
        }
        let ok = b[..2].iter().all(u8::is_ascii_uppercase)
            && b[2..5].iter().all(u8::is_ascii_alphanumeric)
            && b[5..].iter().all(u8::is_ascii_digit);
        if !ok {
            return Err(IdError::new("ISRC", input, expected));
        }
        let cc = &s[..2];
        if !is_country_code(cc) && !ISRC_SPECIAL_PREFIXES.contains(&cc) {
            return Err(IdError::new(
                "ISRC",
                input,
                format!(
                    "a country prefix that is an ISO 3166-1 code or an ISRC agency prefix, not {cc:?}"
                ),
            ));
        }
        Ok(Isrc(s))
    }

    /// The printed form, CC-XXX-YY-NNNNN.
    pub fn hyphenated(&self) -> String {
        let s = &self.0;
        format!("{}-{}-{}-{}", &s[..2], &s[2..5], &s[5..7], &s[7..])
    }
}
string_id!(
    Isrc,
    "^[A-Z]{2}-?[A-Z0-9]{3}-?[0-9]{2}-?[0-9]{5}$",
    "ISRC, e.g. USRC17607839"
);

// ---------------------------------------------------------------- ICPN (UPC / EAN / GTIN)

/// A release's product code: UPC-A (12 digits), EAN-13, or another GTIN length DDEX allows
/// (8 or 14), with a valid GS1 mod-10 check digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Icpn(String);

/// GS1 mod-10 check digit over `body` (all digits but the last).
pub fn gs1_check_digit(body: &[u8]) -> u8 {
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &c)| digit(c) * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    b'0' + ((10 - sum % 10) % 10) as u8
}

impl Icpn {
    /// A received code (an ERN from a label) whose shape is right but whose check digit may
    /// not be: the code, and the check failure to record as unverified. Liner's own intake
    /// never takes this path.
    pub fn parse_unverified(input: &str) -> Result<(Icpn, Option<IdError>), IdError> {
        match Icpn::parse(input) {
            Ok(i) => Ok((i, None)),
            Err(e) => {
                let s = compact(input.trim());
                if matches!(s.len(), 8 | 12 | 13 | 14) && s.bytes().all(|b| b.is_ascii_digit()) {
                    Ok((Icpn(s), Some(e)))
                } else {
                    Err(e)
                }
            }
        }
    }

    pub fn parse(input: &str) -> Result<Icpn, IdError> {
        let s = compact(input.trim());
        let b = s.as_bytes();
        if !matches!(b.len(), 8 | 12 | 13 | 14) || !b.iter().all(u8::is_ascii_digit) {
            return Err(IdError::new(
                "UPC/EAN",
                input,
                "8, 12 (UPC), 13 (EAN) or 14 digits",
            ));
        }
        let (body, check) = b.split_at(b.len() - 1);
        let want = gs1_check_digit(body);
        if check[0] != want {
            return Err(IdError::new(
                "UPC/EAN",
                input,
                format!(
                    "a GS1 check digit of {} (last digit is {})",
                    want as char, check[0] as char
                ),
            ));
        }
        Ok(Icpn(s))
    }
}
string_id!(
    Icpn,
    "^([0-9]{8}|[0-9]{12,14})$",
    "ICPN: UPC-12 or EAN-13 with a valid GS1 check digit"
);

// ---------------------------------------------------------------- ISWC

/// International Standard Musical Work Code: T + 9 digits + check digit, stored compact
/// (`T0345246801`), printed `T-034.524.680-1`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Iswc(String);

pub fn iswc_check_digit(nine: &[u8]) -> u8 {
    let sum: u32 = 1 + nine
        .iter()
        .enumerate()
        .map(|(i, &c)| digit(c) * (i as u32 + 1))
        .sum::<u32>();
    b'0' + ((10 - sum % 10) % 10) as u8
}

impl Iswc {
    pub fn parse(input: &str) -> Result<Iswc, IdError> {
        let s = compact(input.trim());
        let b = s.as_bytes();
        if b.len() != 11 || b[0] != b'T' || !b[1..].iter().all(u8::is_ascii_digit) {
            return Err(IdError::new(
                "ISWC",
                input,
                "T followed by 10 digits, e.g. T-034.524.680-1",
            ));
        }
        let want = iswc_check_digit(&b[1..10]);
        if b[10] != want {
            return Err(IdError::new(
                "ISWC",
                input,
                format!(
                    "a check digit of {} (last digit is {})",
                    want as char, b[10] as char
                ),
            ));
        }
        Ok(Iswc(s))
    }

    pub fn hyphenated(&self) -> String {
        let s = &self.0;
        format!("T-{}.{}.{}-{}", &s[1..4], &s[4..7], &s[7..10], &s[10..])
    }
}
string_id!(
    Iswc,
    "^T-?[0-9]{3}\\.?[0-9]{3}\\.?[0-9]{3}-?[0-9]$",
    "ISWC, e.g. T-034.524.680-1"
);

// ---------------------------------------------------------------- ISO 7064 helpers

fn alnum_value(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'A'..=b'Z' => Some(u32::from(c - b'A') + 10),
        _ => None,
    }
}

/// ISO 7064 hybrid system MOD 37,36 check character (used by GRid).
pub fn mod37_36_check(body: &[u8]) -> Option<u8> {
    const M: u32 = 36;
    let mut p = M;
    for &c in body {
        let mut s = (p + alnum_value(c)?) % M;
        if s == 0 {
            s = M;
        }
        p = (2 * s) % (M + 1);
    }
    let v = (M + 1 - p) % M;
    Some(if v < 10 {
        b'0' + v as u8
    } else {
        b'A' + (v - 10) as u8
    })
}

/// ISO 7064 MOD 11-2 check character (used by ISNI and ORCID).
pub fn mod11_2_check(body: &[u8]) -> Option<u8> {
    let mut total: u32 = 0;
    for &c in body {
        if !c.is_ascii_digit() {
            return None;
        }
        total = (total + digit(c)) * 2 % 11;
    }
    let v = (12 - total % 11) % 11;
    Some(if v == 10 { b'X' } else { b'0' + v as u8 })
}

// ---------------------------------------------------------------- GRid

/// Global Release Identifier: 18 characters A1-XXXXX-XXXXXXXXXX-C with an ISO 7064 MOD 37,36
/// check character.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Grid(String);

impl Grid {
    pub fn parse(input: &str) -> Result<Grid, IdError> {
        let s = compact(input.trim());
        let b = s.as_bytes();
        if b.len() != 18 || !b.iter().all(u8::is_ascii_alphanumeric) {
            return Err(IdError::new(
                "GRid",
                input,
                "18 letters or digits, e.g. A1-2425G-ABC1234002-M",
            ));
        }
        let want = mod37_36_check(&b[..17]).unwrap_or(b'?');
        if b[17] != want {
            return Err(IdError::new(
                "GRid",
                input,
                format!(
                    "a check character of {} (last character is {})",
                    want as char, b[17] as char
                ),
            ));
        }
        Ok(Grid(s))
    }
}
string_id!(
    Grid,
    "^[A-Za-z0-9]{2}-?[A-Za-z0-9]{5}-?[A-Za-z0-9]{10}-?[A-Za-z0-9]$",
    "GRid, e.g. A1-2425G-ABC1234002-M"
);

// ---------------------------------------------------------------- ISNI

/// International Standard Name Identifier: 15 digits and an ISO 7064 MOD 11-2 check character
/// (digit or X), stored compact.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Isni(String);

impl Isni {
    pub fn parse(input: &str) -> Result<Isni, IdError> {
        let s = compact(input.trim());
        let b = s.as_bytes();
        if b.len() != 16
            || !b[..15].iter().all(u8::is_ascii_digit)
            || !(b[15].is_ascii_digit() || b[15] == b'X')
        {
            return Err(IdError::new(
                "ISNI",
                input,
                "16 characters: 15 digits and a check digit or X, e.g. 0000 0001 2103 2683",
            ));
        }
        let want = mod11_2_check(&b[..15]).unwrap_or(b'?');
        if b[15] != want {
            return Err(IdError::new(
                "ISNI",
                input,
                format!(
                    "a check character of {} (last character is {})",
                    want as char, b[15] as char
                ),
            ));
        }
        Ok(Isni(s))
    }
}
string_id!(
    Isni,
    "^[0-9]{4} ?[0-9]{4} ?[0-9]{4} ?[0-9]{3}[0-9Xx]$",
    "ISNI, e.g. 0000 0001 2103 2683"
);

// ---------------------------------------------------------------- DDEX Party ID

/// DDEX Party Identifier, `PADPIDA` followed by letters and digits (the XSD's pattern; DDEX
/// publishes no check algorithm we can verify offline).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Dpid(String);

impl Dpid {
    pub fn parse(input: &str) -> Result<Dpid, IdError> {
        let s = input.trim();
        let rest = s.strip_prefix("PADPIDA");
        match rest {
            Some(r) if !r.is_empty() && r.bytes().all(|c| c.is_ascii_alphanumeric()) => {
                Ok(Dpid(s.to_owned()))
            }
            _ => Err(IdError::new(
                "DDEX party id",
                input,
                "PADPIDA followed by letters and digits, e.g. PADPIDA2014111801Y",
            )),
        }
    }
}
string_id!(Dpid, "^PADPIDA[a-zA-Z0-9]+$", "DDEX party id (DPID)");

// ---------------------------------------------------------------- Territory

/// An ISO 3166-1 alpha-2 country code (upper case).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CountryCode(String);

impl CountryCode {
    pub fn parse(input: &str) -> Result<CountryCode, IdError> {
        let s = input.trim().to_ascii_uppercase();
        if is_country_code(&s) {
            Ok(CountryCode(s))
        } else {
            Err(IdError::new(
                "territory",
                input,
                "an ISO 3166-1 alpha-2 country code such as US, GB, JP, or Worldwide",
            ))
        }
    }
}
string_id!(CountryCode, "^[A-Z]{2}$", "ISO 3166-1 alpha-2 country code");

// ---------------------------------------------------------------- Language tag

/// A BCP 47 language tag restricted to what release metadata uses: an ISO 639-1 language,
/// an optional ISO 15924 script and an optional region, e.g. `en`, `ja-Jpan`, `pt-BR`,
/// `sr-Latn-RS`. Stored in canonical case (`sr-Latn-RS`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LanguageTag(String);

impl LanguageTag {
    pub fn parse(input: &str) -> Result<LanguageTag, IdError> {
        let expected = "a language tag: ISO 639-1 language, optional 4-letter script, optional region (e.g. en, ja-Jpan, pt-BR)";
        let mut parts = input.trim().split(['-', '_']);
        let lang = parts.next().unwrap_or("").to_ascii_lowercase();
        if !is_iso639_1(&lang) {
            return Err(IdError::new("language", input, expected));
        }
        let mut out = lang;
        let mut script: Option<String> = None;
        let mut region: Option<String> = None;
        for part in parts {
            if part.len() == 4
                && script.is_none()
                && region.is_none()
                && part.bytes().all(|c| c.is_ascii_alphabetic())
            {
                let mut sc = part.to_ascii_lowercase();
                sc[..1].make_ascii_uppercase();
                script = Some(sc);
            } else if region.is_none()
                && part.len() == 2
                && is_country_code(&part.to_ascii_uppercase())
            {
                region = Some(part.to_ascii_uppercase());
            } else if region.is_none()
                && part.len() == 3
                && part.bytes().all(|c| c.is_ascii_digit())
            {
                region = Some(part.to_owned());
            } else {
                return Err(IdError::new("language", input, expected));
            }
        }
        for p in [script, region].into_iter().flatten() {
            out.push('-');
            out.push_str(&p);
        }
        Ok(LanguageTag(out))
    }

    pub fn language(&self) -> &str {
        self.0.split('-').next().unwrap_or(&self.0)
    }

    pub fn script(&self) -> Option<&str> {
        self.0.split('-').nth(1).filter(|p| p.len() == 4)
    }
}
string_id!(
    LanguageTag,
    "^[a-zA-Z]{2}([-_][a-zA-Z]{4})?([-_]([a-zA-Z]{2}|[0-9]{3}))?$",
    "BCP 47 language tag, e.g. en, ja-Jpan, pt-BR"
);

// ---------------------------------------------------------------- Email

/// An e-mail address, checked for the shape mail systems accept (local@domain.tld), not for
/// deliverability.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Email, IdError> {
        let s = input.trim();
        let expected = "an e-mail address like name@example.com";
        let Some((local, domain)) = s.split_once('@') else {
            return Err(IdError::new("e-mail address", input, expected));
        };
        let local_ok =
            !local.is_empty() && local.len() <= 64 && !local.contains(char::is_whitespace);
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if local_ok && domain_ok {
            Ok(Email(s.to_owned()))
        } else {
            Err(IdError::new("e-mail address", input, expected))
        }
    }
}
string_id!(Email, "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", "e-mail address");

// ---------------------------------------------------------------- Content hash

/// SHA-256 of a file's bytes, written `sha256:<64 lower-case hex>`; how the catalog refers to
/// audio and artwork once they are in the content-addressed file store.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ContentHash(String);

impl ContentHash {
    pub fn parse(input: &str) -> Result<ContentHash, IdError> {
        let s = input.trim();
        match s.strip_prefix("sha256:") {
            Some(hex) if hex.len() == 64 && hex.bytes().all(|c| c.is_ascii_hexdigit()) => {
                Ok(ContentHash(format!("sha256:{}", hex.to_ascii_lowercase())))
            }
            _ => Err(IdError::new(
                "content hash",
                input,
                "sha256: followed by 64 hexadecimal digits",
            )),
        }
    }

    /// From raw digest bytes.
    pub fn from_digest(digest: &[u8; 32]) -> ContentHash {
        let mut s = String::with_capacity(71);
        s.push_str("sha256:");
        for b in digest {
            s.push_str(&format!("{b:02x}"));
        }
        ContentHash(s)
    }

    /// The 64 hex digits without the `sha256:` prefix.
    pub fn hex(&self) -> &str {
        &self.0[7..]
    }
}
string_id!(
    ContentHash,
    "^sha256:[0-9a-fA-F]{64}$",
    "SHA-256 content hash of a stored file"
);
