//! Track and preview durations, written as labels write them: `3:25`, `1:02:03`, `3:25.500`.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Serialize, Serializer};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a duration: expected m:ss, h:mm:ss or m:ss.mmm (e.g. 3:25)")]
pub struct DurationError {
    pub value: String,
}

/// A duration in whole milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration {
    millis: u64,
}

impl Duration {
    pub fn from_millis(millis: u64) -> Duration {
        Duration { millis }
    }

    pub fn millis(&self) -> u64 {
        self.millis
    }

    pub fn parse(input: &str) -> Result<Duration, DurationError> {
        let err = || DurationError {
            value: input.to_owned(),
        };
        let s = input.trim();
        let (clock, frac) = s.split_once('.').unwrap_or((s, ""));
        let parts: Vec<&str> = clock.split(':').collect();
        if !(2..=3).contains(&parts.len())
            || frac.len() > 3
            || !frac.bytes().all(|c| c.is_ascii_digit())
        {
            return Err(err());
        }
        if s.contains('.') && frac.is_empty() {
            return Err(err());
        }
        let nums: Vec<u64> = parts
            .iter()
            .map(|p| {
                if !p.is_empty() && p.len() <= 4 && p.bytes().all(|c| c.is_ascii_digit()) {
                    p.parse().ok()
                } else {
                    None
                }
            })
            .collect::<Option<_>>()
            .ok_or_else(err)?;
        // Seconds (and minutes, when hours are given) are two-digit clock fields.
        let last = parts.len() - 1;
        if parts[last].len() != 2
            || nums[last] >= 60
            || (parts.len() == 3 && (parts[1].len() != 2 || nums[1] >= 60))
        {
            return Err(err());
        }
        let secs = nums.iter().fold(0u64, |acc, n| acc * 60 + n);
        let ms: u64 = if frac.is_empty() {
            0
        } else {
            format!("{frac:0<3}").parse().map_err(|_| err())?
        };
        Ok(Duration {
            millis: secs * 1000 + ms,
        })
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.millis / 1000;
        let ms = self.millis % 1000;
        let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
        if h > 0 {
            write!(f, "{h}:{m:02}:{s:02}")?;
        } else {
            write!(f, "{m}:{s:02}")?;
        }
        if ms > 0 {
            write!(f, ".{ms:03}")?;
        }
        Ok(())
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "string", "pattern": "^([0-9]+:)?[0-9]+:[0-5][0-9](\\.[0-9]{1,3})?$", "description": "m:ss, h:mm:ss, optionally .mmm" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_clock_forms() {
        for (input, ms, printed) in [
            ("3:25", 205_000, "3:25"),
            ("0:07", 7_000, "0:07"),
            ("1:02:03", 3_723_000, "1:02:03"),
            ("3:25.5", 205_500, "3:25.500"),
            ("65:00", 3_900_000, "1:05:00"),
        ] {
            let d = Duration::parse(input).expect(input);
            assert_eq!(d.millis(), ms, "{input}");
            assert_eq!(d.to_string(), printed);
            assert_eq!(Duration::parse(printed), Ok(d));
        }
        for bad in [
            "",
            "325",
            "3:6",
            "3:60",
            "a:bc",
            "3:25.",
            "3:25.1234",
            "1:2:03",
            "-1:00",
        ] {
            assert!(Duration::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
