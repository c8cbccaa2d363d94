//! Reporting periods: calendar months, `2026-10`.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period {
    pub year: i32,
    pub month: u32,
}

impl Period {
    pub fn parse(s: &str) -> Result<Period, String> {
        let bad = || format!("period {s:?} is not a month such as 2026-10");
        let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        if y.len() != 4 || m.len() != 2 || !(1..=12).contains(&month) {
            return Err(bad());
        }
        Ok(Period { year, month })
    }

    pub fn next(self) -> Period {
        if self.month == 12 {
            Period {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Period {
                month: self.month + 1,
                ..self
            }
        }
    }

    pub fn prev(self) -> Period {
        if self.month == 1 {
            Period {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Period {
                month: self.month - 1,
                ..self
            }
        }
    }

    /// Months from `earlier` to `self` (negative if `earlier` is later).
    pub fn months_since(self, earlier: Period) -> i64 {
        i64::from(self.year - earlier.year) * 12 + i64::from(self.month) - i64::from(earlier.month)
    }
}

/// Why a period may not be closed now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloseRefusal {
    #[error(
        "{period} is in the future (this month is {today}): a period is closed after it has begun"
    )]
    Future { period: Period, today: Period },
    #[error(
        "{period} is the current month: sales for it may still arrive; close it with --force once the month's reports are in, or wait until {next}"
    )]
    Current { period: Period, next: Period },
    #[error("{period} is already closed (its statements are final)")]
    AlreadyClosed { period: Period },
    #[error(
        "{open} is not closed yet and comes before {period}: periods close in order (`liner period close {open}`)"
    )]
    EarlierOpen { period: Period, open: Period },
}

/// Whether `period` may be closed on a day in `today`: never a future month, the current one
/// only with `force`, never twice, and never before an earlier period that has postings
/// (`open_before`: the earliest such period still open, if any).
pub fn may_close(
    period: Period,
    today: Period,
    force: bool,
    closed: &std::collections::BTreeSet<Period>,
    open_before: Option<Period>,
) -> Result<(), CloseRefusal> {
    if closed.contains(&period) {
        return Err(CloseRefusal::AlreadyClosed { period });
    }
    if period > today {
        return Err(CloseRefusal::Future { period, today });
    }
    if period == today && !force {
        return Err(CloseRefusal::Current {
            period,
            next: today.next(),
        });
    }
    if let Some(open) = open_before.filter(|o| *o < period) {
        return Err(CloseRefusal::EarlierOpen { period, open });
    }
    Ok(())
}

/// The period money for `requested` is booked into: `requested` itself while it is open, else
/// the first open period after it. A late report, a reversal or an adjustment for a closed
/// period never changes that period's statements; it lands in the next open one, its lines
/// keeping their own usage period.
pub fn booking_period(requested: Period, closed: &std::collections::BTreeSet<Period>) -> Period {
    let mut p = requested;
    while closed.contains(&p) {
        p = p.next();
    }
    p
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn p(s: &str) -> Period {
        Period::parse(s).expect("period")
    }

    #[test]
    fn periods_close_in_the_past_in_order_and_once() {
        let none = BTreeSet::new();
        let today = p("2026-12");
        assert!(matches!(
            may_close(p("2027-01"), today, true, &none, None),
            Err(CloseRefusal::Future { .. })
        ));
        assert!(matches!(
            may_close(p("2026-12"), today, false, &none, None),
            Err(CloseRefusal::Current { .. })
        ));
        assert_eq!(may_close(p("2026-12"), today, true, &none, None), Ok(()));
        assert_eq!(may_close(p("2026-11"), today, false, &none, None), Ok(()));
        let closed: BTreeSet<Period> = [p("2026-11")].into();
        assert!(matches!(
            may_close(p("2026-11"), today, true, &closed, None),
            Err(CloseRefusal::AlreadyClosed { .. })
        ));
        assert!(matches!(
            may_close(p("2026-11"), today, false, &none, Some(p("2026-10"))),
            Err(CloseRefusal::EarlierOpen { .. })
        ));
        assert!(Period::parse("2026-13").is_err());
    }

    #[test]
    fn money_for_a_closed_period_goes_to_the_next_open_one() {
        let closed: BTreeSet<Period> = [p("2026-11"), p("2026-12")].into();
        assert_eq!(booking_period(p("2026-11"), &closed), p("2027-01"));
        assert_eq!(booking_period(p("2026-10"), &closed), p("2026-10"));
        assert_eq!(booking_period(p("2027-02"), &closed), p("2027-02"));
    }
}
