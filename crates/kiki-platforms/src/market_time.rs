//! The sandbox market's time: the calendar (real time) or accelerated, a
//! simulated day every `seconds_per_day` real seconds from an anchor. Pure:
//! the real instant is an input, so the same anchor and instant give the same
//! market instant on every replica.

use time::{Duration, OffsetDateTime};

/// Real seconds in a day: the rate of real time.
pub const REAL_SECONDS_PER_DAY: u32 = 86_400;

/// Accelerated market time: at `real_anchor` the market stood at
/// `market_anchor`, and from there a simulated day passes every
/// `seconds_per_day` real seconds. Before its anchor the market ran on the
/// calendar (a clock set back, as the demo does to write its history, sees
/// the market at the calendar's pace there, not the accelerated one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarketTime {
    pub real_anchor: OffsetDateTime,
    pub market_anchor: OffsetDateTime,
    pub seconds_per_day: u32,
}

impl MarketTime {
    /// The market's instant at the real instant `real`:
    /// `market_anchor + (real − real_anchor) × 86,400 / seconds_per_day`,
    /// to the nanosecond (saturating at the calendar's ends); before the
    /// anchor, `market_anchor − (real_anchor − real)`.
    pub fn at(&self, real: OffsetDateTime) -> OffsetDateTime {
        let elapsed = (real - self.real_anchor).whole_nanoseconds();
        let n = if elapsed < 0 {
            i128::from(REAL_SECONDS_PER_DAY)
        } else {
            i128::from(self.seconds_per_day.max(1))
        };
        let scaled = elapsed.saturating_mul(i128::from(REAL_SECONDS_PER_DAY)) / n;
        let secs = scaled / 1_000_000_000;
        let nanos = (scaled % 1_000_000_000) as i32;
        let step = i64::try_from(secs).ok().map(|s| Duration::new(s, nanos));
        match step.and_then(|d| self.market_anchor.checked_add(d)) {
            Some(t) => t,
            None if scaled < 0 => OffsetDateTime::new_utc(time::Date::MIN, time::Time::MIDNIGHT),
            None => OffsetDateTime::new_utc(time::Date::MAX, time::Time::MIDNIGHT),
        }
    }

    /// The same market, now at another rate: anchored at `real` where it
    /// stands then, so its time never jumps when the rate changes.
    pub fn re_anchored(&self, real: OffsetDateTime, seconds_per_day: u32) -> MarketTime {
        MarketTime {
            real_anchor: real,
            market_anchor: self.at(real),
            seconds_per_day,
        }
    }

    /// How often, in real seconds, an accelerated market is synced so that a
    /// simulated day arrives in about four steps: a quarter of a simulated
    /// day, at least every 2 seconds.
    pub fn sweep_every_secs(seconds_per_day: u32) -> u64 {
        u64::from((seconds_per_day / 4).max(2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn market(n: u32) -> MarketTime {
        let t = datetime!(2026-12-01 00:00 UTC);
        MarketTime {
            real_anchor: t,
            market_anchor: t,
            seconds_per_day: n,
        }
    }

    #[test]
    fn a_simulated_day_passes_every_n_real_seconds() {
        let m = market(10);
        let t0 = m.real_anchor;
        assert_eq!(m.at(t0), t0);
        assert_eq!(m.at(t0 + Duration::seconds(10)), t0 + Duration::days(1));
        assert_eq!(m.at(t0 + Duration::seconds(35)), t0 + Duration::hours(84));
        assert_eq!(
            m.at(t0 + Duration::milliseconds(1)),
            t0 + Duration::milliseconds(8_640)
        );
        // Before the anchor (a clock set back) the market ran on the calendar.
        assert_eq!(m.at(t0 - Duration::seconds(20)), t0 - Duration::seconds(20));
        assert_eq!(m.at(t0 - Duration::days(90)), t0 - Duration::days(90));
    }

    #[test]
    fn a_day_of_86400_seconds_is_the_calendar() {
        let m = market(REAL_SECONDS_PER_DAY);
        let t = m.real_anchor + Duration::seconds(123_456) + Duration::nanoseconds(789);
        assert_eq!(m.at(t), t);
    }

    #[test]
    fn changing_the_rate_keeps_the_market_where_it_stands() {
        let m = market(10);
        let later = m.real_anchor + Duration::seconds(25);
        let faster = m.re_anchored(later, 5);
        assert_eq!(faster.at(later), m.at(later));
        assert_eq!(
            faster.at(later + Duration::seconds(5)),
            m.at(later) + Duration::days(1)
        );
    }

    #[test]
    fn a_market_centuries_ahead_saturates_instead_of_overflowing() {
        let m = market(1);
        let t = m.at(m.real_anchor + Duration::days(365 * 200));
        assert_eq!(t.date(), time::Date::MAX);
    }

    #[test]
    fn sweeps_come_four_times_a_simulated_day_and_at_most_every_two_seconds() {
        assert_eq!(MarketTime::sweep_every_secs(1), 2);
        assert_eq!(MarketTime::sweep_every_secs(10), 2);
        assert_eq!(MarketTime::sweep_every_secs(60), 15);
        assert_eq!(MarketTime::sweep_every_secs(86_400), 21_600);
    }
}
