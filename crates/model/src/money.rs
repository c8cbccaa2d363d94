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
}
