//! Calendar buckets (day, ISO week starting Monday, month) and "today" in an
//! IANA time zone, from the time zone database built into the binary
//! (`jiff`, bundled tzdb).
//!
//! Daily rows carry the platform account's calendar day; a bucket groups
//! whole days. The organisation's time zone decides which day is today (the
//! end of a default range), so a request at 23:30 UTC from Auckland already
//! reads tomorrow's UTC date.

use serde::{Deserialize, Serialize};
use time::{Date, Duration, Month, OffsetDateTime};

use crate::period::Period;

kiki_core::string_enum! {
    /// The width of a time-series bucket.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    #[schema(as = AnalyticsGranularity)]
    pub enum Granularity {
        Day = "day",
        /// ISO weeks, Monday to Sunday.
        Week = "week",
        Month = "month",
    }
}

impl Granularity {
    /// The first day of the bucket `day` falls in.
    pub fn start_of(self, day: Date) -> Date {
        match self {
            Granularity::Day => day,
            Granularity::Week => {
                day - Duration::days(i64::from(day.weekday().number_days_from_monday()))
            }
            Granularity::Month => day.replace_day(1).unwrap_or(day),
        }
    }

    /// The last day of the bucket starting at `start`.
    fn end_of(self, start: Date) -> Date {
        match self {
            Granularity::Day => start,
            Granularity::Week => start + Duration::days(6),
            Granularity::Month => {
                let days = start.month().length(start.year());
                start.replace_day(days).unwrap_or(start)
            }
        }
    }
}

/// One bucket of a time series: its calendar start, and the days of the
/// requested range it covers (the first and last bucket may be partial).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Bucket {
    /// The bucket's label: the day, the week's Monday, the month's first day.
    pub start: Date,
    /// The first and last day of the range inside the bucket.
    pub first_day: Date,
    pub last_day: Date,
}

/// Every bucket that meets the range, in order.
pub fn buckets(period: &Period, g: Granularity) -> Vec<Bucket> {
    let mut out = Vec::new();
    let mut start = g.start_of(period.since);
    while start <= period.until {
        let end = g.end_of(start);
        out.push(Bucket {
            start,
            first_day: start.max(period.since),
            last_day: end.min(period.until),
        });
        match end.next_day() {
            Some(n) => start = n,
            None => break,
        }
    }
    out
}

/// True when the time zone database knows `zone` (`UTC` included).
pub fn known_time_zone(zone: &str) -> bool {
    jiff::tz::db().get(zone).is_ok()
}

/// The calendar day it is at `now` in `zone`; `None` for an unknown zone.
pub fn today_in(now: OffsetDateTime, zone: &str) -> Option<Date> {
    let tz = jiff::tz::db().get(zone).ok()?;
    let ts = jiff::Timestamp::from_second(now.unix_timestamp()).ok()?;
    let d = ts.to_zoned(tz).date();
    let month = Month::try_from(u8::try_from(d.month()).ok()?).ok()?;
    Date::from_calendar_date(i32::from(d.year()), month, u8::try_from(d.day()).ok()?).ok()
}

/// The instant a calendar day starts in `zone` (its first moment: midnight,
/// or the first time after a gap at midnight); `None` for an unknown zone
/// or a day out of range.
pub fn start_of_day_in(day: Date, zone: &str) -> Option<OffsetDateTime> {
    let tz = jiff::tz::db().get(zone).ok()?;
    let d = jiff::civil::Date::new(
        i16::try_from(day.year()).ok()?,
        i8::try_from(u8::from(day.month())).ok()?,
        i8::try_from(day.day()).ok()?,
    )
    .ok()?;
    let z = d.to_zoned(tz).ok()?;
    OffsetDateTime::from_unix_timestamp(z.timestamp().as_second()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        // 2026-03-04 is a Wednesday.
        assert_eq!(
            Granularity::Week.start_of(date!(2026 - 03 - 04)),
            date!(2026 - 03 - 02)
        );
        assert_eq!(
            Granularity::Week.start_of(date!(2026 - 03 - 08)),
            date!(2026 - 03 - 02),
            "Sunday closes the ISO week"
        );
        assert_eq!(
            Granularity::Month.start_of(date!(2026 - 02 - 28)),
            date!(2026 - 02 - 01)
        );
        assert_eq!(
            Granularity::Day.start_of(date!(2026 - 02 - 28)),
            date!(2026 - 02 - 28)
        );
    }

    #[test]
    fn buckets_cover_the_range_and_clip_the_ends() {
        // Thursday 26 Feb to Tuesday 10 Mar 2026: weeks of 23 Feb (partial),
        // 2 Mar, 9 Mar (partial).
        let p = Period::new(date!(2026 - 02 - 26), date!(2026 - 03 - 10)).unwrap();
        let w = buckets(&p, Granularity::Week);
        assert_eq!(w.len(), 3);
        assert_eq!(w[0].start, date!(2026 - 02 - 23));
        assert_eq!(w[0].first_day, date!(2026 - 02 - 26));
        assert_eq!(w[0].last_day, date!(2026 - 03 - 01));
        assert_eq!(w[2].first_day, date!(2026 - 03 - 09));
        assert_eq!(w[2].last_day, date!(2026 - 03 - 10));
        let m = buckets(&p, Granularity::Month);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].start, date!(2026 - 02 - 01));
        assert_eq!(m[0].last_day, date!(2026 - 02 - 28));
        assert_eq!(m[1].first_day, date!(2026 - 03 - 01));
        assert_eq!(buckets(&p, Granularity::Day).len(), 13);
        // Every day is in exactly one bucket.
        let covered: i64 = w
            .iter()
            .map(|b| (b.last_day - b.first_day).whole_days() + 1)
            .sum();
        assert_eq!(covered, p.days());
    }

    #[test]
    fn today_depends_on_the_time_zone() {
        let now = datetime!(2026-03-01 23:30 UTC);
        assert_eq!(today_in(now, "UTC"), Some(date!(2026 - 03 - 01)));
        // Auckland is UTC+13 in March (daylight saving time).
        assert_eq!(
            today_in(now, "Pacific/Auckland"),
            Some(date!(2026 - 03 - 02))
        );
        // Los Angeles is UTC−8: still 15:30 on 1 March.
        assert_eq!(
            today_in(now, "America/Los_Angeles"),
            Some(date!(2026 - 03 - 01))
        );
        let early = datetime!(2026-03-02 03:00 UTC);
        assert_eq!(
            today_in(early, "America/Los_Angeles"),
            Some(date!(2026 - 03 - 01))
        );
        assert_eq!(today_in(now, "Mars/Olympus"), None);
        assert!(known_time_zone("Europe/Berlin"));
        assert!(!known_time_zone("Europe/Atlantis"));
    }

    #[test]
    fn a_day_starts_at_local_midnight() {
        // Berlin is UTC+1 in winter, UTC+2 in summer.
        assert_eq!(
            start_of_day_in(date!(2026 - 01 - 15), "Europe/Berlin"),
            Some(datetime!(2026 - 01 - 14 23:00 UTC))
        );
        assert_eq!(
            start_of_day_in(date!(2026 - 07 - 15), "Europe/Berlin"),
            Some(datetime!(2026 - 07 - 14 22:00 UTC))
        );
        assert_eq!(
            start_of_day_in(date!(2026 - 07 - 15), "UTC"),
            Some(datetime!(2026 - 07 - 15 00:00 UTC))
        );
        assert_eq!(start_of_day_in(date!(2026 - 07 - 15), "Mars/Base"), None);
    }
}
