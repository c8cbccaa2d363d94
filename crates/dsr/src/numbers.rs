//! Numbers in sales reports, read strictly: counts and amounts are refused with why (not a
//! number, too many decimal places, too large), and a report's sums are checked, never
//! wrapped. One cell may state at most [`MAX_AMOUNT`] in magnitude, so the sums of any report
//! that fits on a disk stay far inside the 128-bit exact amounts the ledger keeps.

use model::{FINE_DECIMALS, FINE_ONE, Fine};

/// The largest amount (in whole currency units) one report cell may state: a trillion.
pub const MAX_AMOUNT: i128 = 1_000_000_000_000;

/// A count (usages, streams, returns): a whole number from 0 up.
pub fn count(raw: &str) -> Result<i64, String> {
    let t = raw.trim();
    let digits = t.strip_prefix('-').unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{raw:?} is not a whole number"));
    }
    if t.starts_with('-') && digits.bytes().any(|b| b != b'0') {
        return Err(format!("{raw:?} is negative; a count is 0 or more"));
    }
    digits.parse::<i64>().map_err(|_| {
        format!(
            "{raw:?} is too large for a count (the largest is {})",
            i64::MAX
        )
    })
}

/// A count that may be negative (a refund line in a store's CSV report).
pub fn signed_count(raw: &str) -> Result<i64, String> {
    let t = raw.trim();
    match t.strip_prefix('-') {
        Some(d) if !d.starts_with('-') => count(d)
            .map(|v| -v)
            .map_err(|e| e.replace(&format!("{d:?}"), &format!("{raw:?}"))),
        _ => count(t),
    }
}

/// An exact decimal amount, e.g. `-12.5`, `0.000123`.
pub fn amount(raw: &str) -> Result<Fine, String> {
    let t = raw.trim();
    let body = t.strip_prefix(['-', '+']).unwrap_or(t);
    let (whole, frac) = body.split_once('.').unwrap_or((body, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty()) || !digits(whole) || !digits(frac) {
        return Err(format!(
            "{raw:?} is not a decimal amount (digits with at most one '.', and an optional sign)"
        ));
    }
    if frac.len() > FINE_DECIMALS as usize {
        return Err(format!(
            "{raw:?} has {} decimal places; Liner keeps amounts exact to {FINE_DECIMALS}",
            frac.len()
        ));
    }
    let too_large = || format!("{raw:?} is too large: one amount may be at most {MAX_AMOUNT}");
    let f = Fine::parse_bytes(t.as_bytes()).ok_or_else(too_large)?;
    if f.0.abs() > MAX_AMOUNT * FINE_ONE {
        return Err(too_large());
    }
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_say_why_they_are_refused() {
        assert_eq!(count("42"), Ok(42));
        assert_eq!(count("-0"), Ok(0));
        assert!(count("-5").expect_err("refused").contains("is negative"));
        assert!(
            count("18446744073709551615")
                .expect_err("refused")
                .contains("too large for a count")
        );
        assert!(
            count("4x")
                .expect_err("refused")
                .contains("not a whole number")
        );
        assert!(
            count("")
                .expect_err("refused")
                .contains("not a whole number")
        );
    }

    #[test]
    fn amounts_say_why_they_are_refused() {
        assert_eq!(amount("45.92").map(|f| f.to_decimal()), Ok("45.92".into()));
        let e = amount("45.9200000000000000000").expect_err("refused");
        assert!(e.contains("has 19 decimal places"), "{e}");
        assert!(
            amount("1e5")
                .expect_err("refused")
                .contains("not a decimal amount")
        );
        assert!(
            amount("1000000000001")
                .expect_err("refused")
                .contains("too large")
        );
        assert!(amount("-1000000000000").is_ok());
        assert!(
            amount("99999999999999999999999999")
                .expect_err("refused")
                .contains("too large")
        );
    }
}
