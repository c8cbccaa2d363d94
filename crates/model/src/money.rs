//! Exact money: an ISO 4217 currency and an integer count of its minor units. Never a float.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Serialize, Serializer};

use crate::codes::currency_exponent;
use crate::id::IdError;

/// An ISO 4217 currency code with its minor-unit exponent (2 for EUR, 0 for JPY, 3 for KWD).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    code: [u8; 3],
    exponent: u8,
}

impl Currency {
    pub fn parse(input: &str) -> Result<Currency, IdError> {
        let s = input.trim().to_ascii_uppercase();
        match (s.len(), currency_exponent(&s)) {
            (3, Some(exponent)) => {
                let b = s.as_bytes();
                Ok(Currency {
                    code: [b[0], b[1], b[2]],
                    exponent,
                })
            }
            _ => Err(IdError {
                kind: "currency",
                value: input.to_owned(),
                expected: "an ISO 4217 currency code such as EUR, USD, GBP, JPY".into(),
            }),
        }
    }

    pub fn code(&self) -> &str {
        // The bytes came from a validated ASCII code.
        std::str::from_utf8(&self.code).unwrap_or("XXX")
    }

    pub fn exponent(&self) -> u8 {
        self.exponent
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl JsonSchema for Currency {
    fn schema_name() -> Cow<'static, str> {
        "Currency".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "pattern": "^[A-Z]{3}$", "description": "ISO 4217 currency code" })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not an amount of {currency}: {expected}")]
pub struct MoneyError {
    pub value: String,
    pub currency: String,
    pub expected: String,
}

/// An exact amount: `minor` units of `currency` (cents for EUR). Serialised as a decimal
/// string with exactly the currency's number of decimals ("50.00"), because JSON numbers
/// are floats to most readers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Money {
    pub currency: Currency,
    pub minor: i64,
}

impl Money {
    /// Parses "50", "50.5" or "50.00" exactly; more decimals than the currency has is an error,
    /// not a rounding.
    pub fn parse_decimal(input: &str, currency: Currency) -> Result<Money, MoneyError> {
        let exp = u32::from(currency.exponent());
        let err = |expected: String| MoneyError {
            value: input.to_owned(),
            currency: currency.code().to_owned(),
            expected,
        };
        let s = input.trim();
        let (neg, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        let well_formed = !int.is_empty()
            && int.bytes().all(|c| c.is_ascii_digit())
            && frac.bytes().all(|c| c.is_ascii_digit())
            && !(digits.contains('.') && frac.is_empty());
        if !well_formed {
            return Err(err(format!(
                "a decimal number such as 50 or 50.{}",
                "0".repeat(exp as usize)
            )));
        }
        if frac.len() > exp as usize {
            return Err(err(format!(
                "at most {exp} decimal places ({} has minor units of 10^-{exp})",
                currency.code()
            )));
        }
        let scale = 10i64.pow(exp);
        let whole: i64 = int
            .parse()
            .map_err(|_| err("an amount that fits in 64 bits".into()))?;
        let frac_val: i64 = if frac.is_empty() {
            0
        } else {
            format!("{frac:0<width$}", width = exp as usize)
                .parse()
                .unwrap_or(0)
        };
        let minor = whole
            .checked_mul(scale)
            .and_then(|v| v.checked_add(frac_val))
            .ok_or_else(|| err("an amount that fits in 64 bits".into()))?;
        Ok(Money {
            currency,
            minor: if neg { -minor } else { minor },
        })
    }

    /// The decimal string with exactly the currency's decimals.
    pub fn to_decimal(&self) -> String {
        let exp = u32::from(self.currency.exponent());
        let sign = if self.minor < 0 { "-" } else { "" };
        let abs = self.minor.unsigned_abs();
        if exp == 0 {
            return format!("{sign}{abs}");
        }
        let scale = 10u64.pow(exp);
        format!(
            "{sign}{}.{:0width$}",
            abs / scale,
            abs % scale,
            width = exp as usize
        )
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_decimal(), self.currency)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_decimal())
    }
}

impl JsonSchema for Money {
    fn schema_name() -> Cow<'static, str> {
        "Money".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$", "description": "decimal amount in the payee's currency, e.g. \"50.00\"" })
    }
}

/// Decimal places of a [`Fine`] amount. DSP lines carry up to 17 decimals (Cargo's
/// `0.00164130103450794`); 18 keeps every one of them exact, and i128 still holds
/// 10^20 whole units at this scale.
pub const FINE_DECIMALS: u32 = 18;
/// One whole unit (1.00 of a currency) in fine units.
pub const FINE_ONE: i128 = 1_000_000_000_000_000_000;

/// An exact amount at a fixed fine scale (10^-18 of a currency unit), currency kept beside
/// it. Report money is carried and allocated at this scale; it becomes [`Money`] (minor
/// units) only when a payee's period is closed, so rounding happens once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Fine(pub i128);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not an exact decimal amount: {expected}")]
pub struct FineError {
    pub value: String,
    pub expected: &'static str,
}

impl Fine {
    pub const ZERO: Fine = Fine(0);

    /// Parses `12`, `-0.5`, `0.00164130103450794`, `+3.`, `.25`: decimal digits only, at most
    /// 18 decimals (more would need rounding, which is refused rather than done silently).
    pub fn parse(input: &str) -> Result<Fine, FineError> {
        Fine::parse_bytes(input.as_bytes()).ok_or_else(|| FineError {
            value: input.to_owned(),
            expected: "a decimal number with at most 18 decimals, such as 12.5 or -0.00789993",
        })
    }

    /// The allocation-free parser behind [`Fine::parse`], for the report hot path.
    pub fn parse_bytes(b: &[u8]) -> Option<Fine> {
        let (neg, b) = match b.first() {
            Some(b'-') => (true, &b[1..]),
            Some(b'+') => (false, &b[1..]),
            _ => (false, b),
        };
        let mut whole: i128 = 0;
        let mut frac: i128 = 0;
        let mut frac_digits = 0u32;
        let mut seen_dot = false;
        let mut digits = 0usize;
        for &c in b {
            match c {
                b'0'..=b'9' => {
                    digits += 1;
                    let d = i128::from(c - b'0');
                    if seen_dot {
                        frac_digits += 1;
                        if frac_digits > FINE_DECIMALS {
                            return None;
                        }
                        frac = frac * 10 + d;
                    } else {
                        whole = whole.checked_mul(10)?.checked_add(d)?;
                    }
                }
                b'.' if !seen_dot => seen_dot = true,
                _ => return None,
            }
        }
        if digits == 0 {
            return None;
        }
        let v = whole
            .checked_mul(FINE_ONE)?
            .checked_add(frac * 10i128.pow(FINE_DECIMALS - frac_digits))?;
        Some(Fine(if neg { -v } else { v }))
    }

    /// An amount in minor units of a currency with `exponent` decimals.
    pub fn from_minor(minor: i64, exponent: u8) -> Fine {
        Fine(i128::from(minor) * 10i128.pow(FINE_DECIMALS - u32::from(exponent)))
    }

    /// Floor division into minor units and the remainder left over (always ≥ 0), the two
    /// inputs of largest-remainder rounding.
    pub fn floor_minor(self, exponent: u8) -> (i64, i128) {
        let unit = 10i128.pow(FINE_DECIMALS - u32::from(exponent));
        let q = self.0.div_euclid(unit);
        let r = self.0.rem_euclid(unit);
        (
            i64::try_from(q).unwrap_or(if q < 0 { i64::MIN } else { i64::MAX }),
            r,
        )
    }

    /// The exact decimal, trailing zeros removed (`12.5`, `-0.00789993`, `3`).
    pub fn to_decimal(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        let one = FINE_ONE.unsigned_abs();
        let (w, f) = (abs / one, abs % one);
        if f == 0 {
            return format!("{sign}{w}");
        }
        let frac = format!("{f:018}");
        format!("{sign}{w}.{}", frac.trim_end_matches('0'))
    }

    /// The amount in units of `10^-places`, rounded half away from zero: the one rule by
    /// which Liner shows money to people (an exact amount stays exact in `--json` and machine
    /// files).
    pub fn round_minor(self, places: u32) -> i128 {
        let unit = 10i128.pow(FINE_DECIMALS - places.min(FINE_DECIMALS));
        let (q, r) = (self.0 / unit, self.0 % unit);
        if r.abs() * 2 >= unit {
            q + self.0.signum()
        } else {
            q
        }
    }

    /// The amount rounded to `places` decimals (half away from zero), for people: never
    /// `-0.00`.
    pub fn display(self, places: u32) -> String {
        format_minor(self.round_minor(places), places, false)
    }
}

/// Formats an integer count of `10^-places` units as a decimal for people: `1234.50`, or with
/// `grouped` thousands separators, `1,234.50`. Zero is never negative.
pub fn format_minor(minor: i128, places: u32, grouped: bool) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    let p = 10u128.pow(places);
    let whole = (abs / p).to_string();
    let whole = if grouped && whole.len() > 3 {
        let mut out = String::with_capacity(whole.len() + whole.len() / 3);
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    } else {
        whole
    };
    if places == 0 {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{:0width$}", abs % p, width = places as usize)
    }
}

impl Fine {
    /// The raw integer of fine units, as stored in the ledger (TEXT: SQLite integers are 64-bit).
    pub fn units(self) -> String {
        self.0.to_string()
    }

    pub fn from_units(s: &str) -> Option<Fine> {
        s.parse::<i128>().ok().map(Fine)
    }

    pub fn checked_add(self, o: Fine) -> Option<Fine> {
        self.0.checked_add(o.0).map(Fine)
    }
}

impl std::ops::Add for Fine {
    type Output = Fine;
    fn add(self, o: Fine) -> Fine {
        Fine(self.0 + o.0)
    }
}
impl std::ops::Sub for Fine {
    type Output = Fine;
    fn sub(self, o: Fine) -> Fine {
        Fine(self.0 - o.0)
    }
}
impl std::ops::Neg for Fine {
    type Output = Fine;
    fn neg(self) -> Fine {
        Fine(-self.0)
    }
}
impl std::ops::AddAssign for Fine {
    fn add_assign(&mut self, o: Fine) {
        self.0 += o.0;
    }
}
impl std::ops::SubAssign for Fine {
    fn sub_assign(&mut self, o: Fine) {
        self.0 -= o.0;
    }
}
impl std::iter::Sum for Fine {
    fn sum<I: Iterator<Item = Fine>>(it: I) -> Fine {
        Fine(it.map(|f| f.0).sum())
    }
}

impl Serialize for Fine {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_decimal())
    }
}

impl fmt::Display for Fine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_decimal())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur() -> Currency {
        Currency::parse("EUR").expect("EUR")
    }

    #[test]
    fn decimals_are_exact_and_per_currency() {
        assert_eq!(Money::parse_decimal("50", eur()).map(|m| m.minor), Ok(5000));
        assert_eq!(Money::parse_decimal("0.5", eur()).map(|m| m.minor), Ok(50));
        assert_eq!(
            Money::parse_decimal("12.34", eur()).map(|m| m.to_decimal()),
            Ok("12.34".into())
        );
        assert!(
            Money::parse_decimal("0.001", eur()).is_err(),
            "EUR has two decimals"
        );
        let jpy = Currency::parse("jpy").expect("JPY");
        assert_eq!(
            Money::parse_decimal("5000", jpy).map(|m| m.to_decimal()),
            Ok("5000".into())
        );
        assert!(
            Money::parse_decimal("50.5", jpy).is_err(),
            "JPY has no minor unit"
        );
        assert!(Money::parse_decimal("1e3", eur()).is_err());
        assert!(Money::parse_decimal("50.", eur()).is_err());
        assert_eq!(
            Money::parse_decimal("-1.05", eur()).map(|m| m.to_decimal()),
            Ok("-1.05".into())
        );
        assert!(Currency::parse("EUX").is_err());
    }

    #[test]
    fn fine_amounts_are_exact_to_eighteen_decimals() {
        let f = Fine::parse("0.00164130103450794").expect("17 decimals");
        assert_eq!(f.to_decimal(), "0.00164130103450794");
        assert_eq!(
            Fine::parse("-12.50").map(|f| f.to_decimal()),
            Ok("-12.5".into())
        );
        assert_eq!(Fine::parse(".25").map(|f| f.0), Ok(FINE_ONE / 4));
        assert!(Fine::parse("0.0000000000000000001").is_err(), "19 decimals");
        assert!(Fine::parse("1e3").is_err());
        assert!(Fine::parse("").is_err());
        assert!(Fine::parse("1.2.3").is_err());
        assert_eq!(
            Fine::parse("-0.015").map(|f| f.floor_minor(2)),
            Ok((-2, FINE_ONE / 200))
        );
        assert_eq!(Fine::from_minor(-150, 2).to_decimal(), "-1.5");
        // Rounded half away from zero, never "-0.00".
        let shown = |s: &str, p: u32| Fine::parse(s).map(|f| f.display(p));
        assert_eq!(shown("1.239", 2), Ok("1.24".into()));
        assert_eq!(shown("1.235", 2), Ok("1.24".into()));
        assert_eq!(shown("1.2349", 2), Ok("1.23".into()));
        assert_eq!(shown("-1.235", 2), Ok("-1.24".into()));
        assert_eq!(shown("-0.004", 2), Ok("0.00".into()));
        assert_eq!(shown("-0.005", 2), Ok("-0.01".into()));
        assert_eq!(shown("1354.742366832", 0), Ok("1355".into()));
        assert_eq!(shown("-0.4", 0), Ok("0".into()));
        assert_eq!(shown("2.0005", 3), Ok("2.001".into()));
        assert_eq!(format_minor(123_456_789, 2, true), "1,234,567.89");
        assert_eq!(format_minor(-100_000, 0, true), "-100,000");
        assert_eq!(format_minor(-5, 2, true), "-0.05");
        assert_eq!(format_minor(999, 2, true), "9.99");
        let u = Fine::parse("123.456").expect("ok").units();
        assert_eq!(
            Fine::from_units(&u).map(|f| f.to_decimal()),
            Some("123.456".into())
        );
    }
}
