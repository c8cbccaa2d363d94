//! Delivery transports to DSPs. This first part is the retry policy every transport shares,
//! pure so it can be tested exactly: which failures are worth another attempt, and when.
//!
//! - Connection errors, timeouts, 5xx, 408 and 429 are retried; other 4xx are the DSP
//!   refusing what was sent (a validation error) and are never retried.
//! - The wait is exponential (`base · 2^(attempt-1)`, capped at `max`) with full jitter (a
//!   random fraction of it, so many workers do not retry in step), unless the DSP said how
//!   long with `Retry-After` (seconds or an HTTP date), which wins when it is later.
//! - After the policy's attempts, the delivery fails with the last reason.

use std::time::Duration;

use chrono::{DateTime, Utc};
use profiles::RetryPolicy;

/// What one attempt ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<'a> {
    Done,
    /// The connection failed or timed out before an answer.
    Connection(&'a str),
    /// An HTTP answer (SFTP maps its failures to Connection).
    Status {
        code: u16,
        retry_after: Option<&'a str>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Done,
    /// Try again after this long.
    Retry(Duration),
    /// Stop: the reason is for the operator (refused by the DSP, or attempts used up).
    Fail(String),
}

/// `Retry-After`: delta-seconds or an HTTP date (RFC 9110 §10.2.3), relative to `now`.
pub fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// Decides after attempt number `attempt` (1 for the first). `jitter` is a random fraction
/// in [0, 1) the caller draws (tests pass fixed values).
pub fn decide(
    policy: &RetryPolicy,
    attempt: u32,
    outcome: &Outcome<'_>,
    jitter: f64,
    now: DateTime<Utc>,
) -> Decision {
    let (retryable, reason, asked) = match outcome {
        Outcome::Done => return Decision::Done,
        Outcome::Connection(why) => (true, format!("connection failed: {why}"), None),
        Outcome::Status {
            code,
            retry_after: ra,
        } => {
            let retryable = *code >= 500 || *code == 408 || *code == 429;
            let asked = ra.and_then(|v| retry_after(v, now));
            (retryable, format!("the DSP answered HTTP {code}"), asked)
        }
    };
    if !retryable {
        return Decision::Fail(format!("{reason}: refused, not retried"));
    }
    if attempt >= policy.attempts {
        return Decision::Fail(format!("{reason} ({attempt} attempts, the policy's limit)"));
    }
    let exp = policy
        .base_delay_ms
        .saturating_mul(1u64 << (attempt.saturating_sub(1)).min(30))
        .min(policy.max_delay_ms);
    let backoff = Duration::from_millis((exp as f64 * jitter.clamp(0.0, 1.0)) as u64);
    Decision::Retry(asked.map_or(backoff, |a| a.max(backoff)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            attempts: 4,
            base_delay_ms: 500,
            max_delay_ms: 3_000,
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-26T10:00:00Z")
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn what_is_retried_and_when() {
        let p = policy();
        let conn = Outcome::Connection("reset by peer");
        // Full jitter at its top: the exponential wait, capped.
        assert_eq!(
            decide(&p, 1, &conn, 0.999_999, now()),
            Decision::Retry(Duration::from_millis(499))
        );
        assert_eq!(
            decide(&p, 2, &conn, 0.5, now()),
            Decision::Retry(Duration::from_millis(500))
        );
        assert_eq!(
            decide(&p, 3, &conn, 1.0, now()),
            Decision::Retry(Duration::from_millis(2_000))
        );
        let Decision::Fail(why) = decide(&p, 4, &conn, 0.5, now()) else {
            panic!("fails at the limit")
        };
        assert!(why.contains("4 attempts"), "{why}");
        // 5xx and 429 are retried; a 400 or 422 is the DSP refusing the content.
        for code in [500, 502, 503, 408, 429] {
            let o = Outcome::Status {
                code,
                retry_after: None,
            };
            assert!(
                matches!(decide(&p, 1, &o, 0.5, now()), Decision::Retry(_)),
                "{code}"
            );
        }
        for code in [400, 401, 403, 404, 409, 422] {
            let o = Outcome::Status {
                code,
                retry_after: None,
            };
            let Decision::Fail(why) = decide(&p, 1, &o, 0.5, now()) else {
                panic!("{code}")
            };
            assert!(why.contains("not retried"), "{why}");
        }
        assert_eq!(decide(&p, 1, &Outcome::Done, 0.5, now()), Decision::Done);
    }

    #[test]
    fn retry_after_is_honoured_in_seconds_or_as_a_date() {
        let p = policy();
        let secs = Outcome::Status {
            code: 503,
            retry_after: Some("30"),
        };
        assert_eq!(
            decide(&p, 1, &secs, 0.5, now()),
            Decision::Retry(Duration::from_secs(30))
        );
        let date = Outcome::Status {
            code: 429,
            retry_after: Some("Thu, 26 Nov 2026 10:01:00 GMT"),
        };
        assert_eq!(
            decide(&p, 1, &date, 0.5, now()),
            Decision::Retry(Duration::from_secs(60))
        );
        // A date in the past, or garbage: the backoff applies.
        let past = Outcome::Status {
            code: 503,
            retry_after: Some("Thu, 26 Nov 2026 09:00:00 GMT"),
        };
        assert_eq!(
            decide(&p, 2, &past, 0.5, now()),
            Decision::Retry(Duration::from_millis(500))
        );
        let junk = Outcome::Status {
            code: 503,
            retry_after: Some("soon"),
        };
        assert_eq!(
            decide(&p, 2, &junk, 0.5, now()),
            Decision::Retry(Duration::from_millis(500))
        );
        assert_eq!(retry_after(" 7 ", now()), Some(Duration::from_secs(7)));
    }
}
