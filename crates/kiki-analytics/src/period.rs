//! Date ranges (both ends included) and their comparison: the previous
//! period of the same length, or one the caller chooses; the change of a
//! value as an absolute difference and relative to the earlier value.

use serde::Serialize;
use time::{Date, Duration};

/// The longest range a query may span, in days (ten years).
pub const MAX_DAYS: i64 = 3_660;

/// A range of calendar days, `since` and `until` included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    pub since: Date,
    pub until: Date,
}

/// Why a range is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeriodError {
    /// `until` is before `since`.
    Reversed,
    /// More than [`MAX_DAYS`] days.
    TooLong,
}

impl PeriodError {
    /// A sentence for the field that carries the range's end.
    pub fn sentence(&self) -> String {
        match self {
            PeriodError::Reversed => "Must not be before the first day of the range.".into(),
            PeriodError::TooLong => format!("A range spans at most {MAX_DAYS} days."),
        }
    }
}

impl Period {
    pub fn new(since: Date, until: Date) -> Result<Period, PeriodError> {
        if until < since {
            return Err(PeriodError::Reversed);
        }
        let p = Period { since, until };
        if p.days() > MAX_DAYS {
            return Err(PeriodError::TooLong);
        }
        Ok(p)
    }

    /// The number of days, both ends counted.
    pub fn days(&self) -> i64 {
        (self.until - self.since).whole_days() + 1
    }

    /// The period of the same length that ends the day before this one
    /// starts.
    pub fn previous(&self) -> Period {
        let until = self.since - Duration::days(1);
        Period {
            since: until - Duration::days(self.days() - 1),
            until,
        }
    }

    pub fn contains(&self, day: Date) -> bool {
        self.since <= day && day <= self.until
    }

    /// Every day, in order.
    pub fn each_day(&self) -> impl Iterator<Item = Date> + '_ {
        let mut d = Some(self.since);
        std::iter::from_fn(move || {
            let cur = d?;
            d = if cur < self.until {
                cur.next_day()
            } else {
                None
            };
            Some(cur)
        })
    }
}

/// How a value moved from the comparison period to this one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Change<T> {
    /// This period's value minus the comparison's (`None` when either is
    /// `None`).
    pub absolute: Option<T>,
    /// The absolute change over the comparison's value (0.25 = +25 %);
    /// `None` when the comparison's value is zero or missing.
    pub relative: Option<f64>,
}

/// The change of an amount in micros (or a count).
pub fn change_micros(current: i64, previous: i64) -> Change<i64> {
    let absolute = current.saturating_sub(previous);
    Change {
        absolute: Some(absolute),
        relative: (previous != 0).then(|| absolute as f64 / previous.unsigned_abs() as f64),
    }
}

/// The change of a ratio (or any value that may be missing).
pub fn change_ratio(current: Option<f64>, previous: Option<f64>) -> Change<f64> {
    match (current, previous) {
        (Some(c), Some(p)) => Change {
            absolute: Some(c - p),
            relative: (p != 0.0).then(|| (c - p) / p.abs()),
        },
        _ => Change {
            absolute: None,
            relative: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn the_previous_period_has_the_same_length_and_ends_the_day_before() {
        let p = Period::new(date!(2026 - 03 - 01), date!(2026 - 03 - 31)).unwrap();
        assert_eq!(p.days(), 31);
        let prev = p.previous();
        // 31 days ending 28 February 2026: 29 January to 28 February.
        assert_eq!(prev.until, date!(2026 - 02 - 28));
        assert_eq!(prev.since, date!(2026 - 01 - 29));
        assert_eq!(prev.days(), 31);
        let one = Period::new(date!(2026 - 01 - 01), date!(2026 - 01 - 01)).unwrap();
        assert_eq!(one.previous().since, date!(2025 - 12 - 31));
        assert_eq!(one.each_day().count(), 1);
        assert_eq!(p.each_day().count(), 31);
    }

    #[test]
    fn reversed_and_too_long_ranges_are_refused() {
        assert_eq!(
            Period::new(date!(2026 - 03 - 02), date!(2026 - 03 - 01)),
            Err(PeriodError::Reversed)
        );
        assert_eq!(
            Period::new(date!(2000 - 01 - 01), date!(2026 - 03 - 01)),
            Err(PeriodError::TooLong)
        );
    }

    #[test]
    fn changes_are_absolute_and_relative_to_the_earlier_value() {
        let c = change_micros(150, 120);
        assert_eq!(c.absolute, Some(30));
        assert_eq!(c.relative, Some(0.25));
        assert_eq!(change_micros(5, 0).relative, None);
        // From −100 to −50: +50, +50 % of the magnitude.
        assert_eq!(change_micros(-50, -100).relative, Some(0.5));
        let r = change_ratio(Some(1.5), Some(2.0));
        assert_eq!(r.absolute, Some(-0.5));
        assert_eq!(r.relative, Some(-0.25));
        assert_eq!(change_ratio(None, Some(2.0)).absolute, None);
        assert_eq!(change_ratio(Some(1.0), Some(0.0)).relative, None);
    }
}
