//! When a scheduled report is due, and which days it covers (pure).
//!
//! A schedule runs daily, weekly (one weekday) or monthly (one day of the
//! month, 1–28 so that every month has it) at a whole hour of its IANA time
//! zone. The next run is the first such local hour strictly after a moment;
//! a local hour skipped by a daylight-saving change runs at the first
//! instant after the gap, one that occurs twice runs at its first
//! occurrence (`jiff`'s "compatible" rule, as RFC 5545 calendars do).
//!
//! A report sent at a run covers complete days before the run's local day:
//! by default the previous period of the cadence (yesterday; the ISO week,
//! Monday to Sunday, before the run's week; the calendar month before the
//! run's month), or the `n` days before the run's day.

use serde::{Deserialize, Serialize};
use time::{Date, Duration, Month, OffsetDateTime};

use crate::period::Period;

kiki_core::string_enum! {
    /// How often a scheduled report is sent.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    #[schema(as = AnalyticsCadence)]
    pub enum Cadence {
        Daily = "daily",
        /// On `weekday`.
        Weekly = "weekly",
        /// On `day_of_month` (1–28).
        Monthly = "monthly",
    }
}

/// When a schedule runs. Built through [`Recurrence::new`], which checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recurrence {
    cadence: Cadence,
    hour: u8,
    /// ISO weekday, 1 = Monday … 7 = Sunday (weekly only).
    weekday: u8,
    /// 1–28 (monthly only).
    day_of_month: u8,
    zone: jiff::tz::TimeZone,
}

/// Why a recurrence cannot be built: the field and a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecurrenceError {
    pub field: &'static str,
    pub message: String,
}

impl Recurrence {
    /// Checks the parts: `hour` 0–23, a `weekday` 1–7 for a weekly and
    /// only then, a `day_of_month` 1–28 for a monthly and only then, a
    /// time zone the database knows.
    pub fn new(
        cadence: Cadence,
        hour: u8,
        weekday: Option<u8>,
        day_of_month: Option<u8>,
        time_zone: &str,
    ) -> Result<Recurrence, RecurrenceError> {
        let err = |field: &'static str, message: String| RecurrenceError { field, message };
        if hour > 23 {
            return Err(err("hour", "Must be a whole hour from 0 to 23.".into()));
        }
        let weekday = match (cadence, weekday) {
            (Cadence::Weekly, Some(w @ 1..=7)) => w,
            (Cadence::Weekly, Some(_)) => {
                return Err(err("weekday", "Must be 1 (Monday) to 7 (Sunday).".into()));
            }
            (Cadence::Weekly, None) => {
                return Err(err(
                    "weekday",
                    "A weekly schedule needs its weekday, 1 (Monday) to 7 (Sunday).".into(),
                ));
            }
            (_, Some(_)) => {
                return Err(err(
                    "weekday",
                    "Only a weekly schedule takes a weekday.".into(),
                ));
            }
            (_, None) => 1,
        };
        let day_of_month = match (cadence, day_of_month) {
            (Cadence::Monthly, Some(d @ 1..=28)) => d,
            (Cadence::Monthly, Some(_)) => {
                return Err(err(
                    "day_of_month",
                    "Must be 1 to 28, a day every month has.".into(),
                ));
            }
            (Cadence::Monthly, None) => {
                return Err(err(
                    "day_of_month",
                    "A monthly schedule needs its day of the month, 1 to 28.".into(),
                ));
            }
            (_, Some(_)) => {
                return Err(err(
                    "day_of_month",
                    "Only a monthly schedule takes a day of the month.".into(),
                ));
            }
            (_, None) => 1,
        };
        let zone = jiff::tz::db().get(time_zone).map_err(|_| {
            err(
                "time_zone",
                format!("`{time_zone}` is not in the time zone database."),
            )
        })?;
        Ok(Recurrence {
            cadence,
            hour,
            weekday,
            day_of_month,
            zone,
        })
    }

    pub fn cadence(&self) -> Cadence {
        self.cadence
    }

    /// The first run strictly after `after`; `None` only past the range of
    /// dates the calendar handles.
    pub fn next_after(&self, after: OffsetDateTime) -> Option<OffsetDateTime> {
        let ts = jiff::Timestamp::from_second(after.unix_timestamp()).ok()?;
        let mut day = ts.to_zoned(self.zone.clone()).date();
        // A monthly run is at most 31 days after any moment; 40 covers
        // every cadence with room for a skipped hour.
        for _ in 0..40 {
            if self.runs_on(day) {
                let local = day.at(i8::try_from(self.hour).ok()?, 0, 0, 0);
                let zoned = local.to_zoned(self.zone.clone()).ok()?;
                let at = OffsetDateTime::from_unix_timestamp(zoned.timestamp().as_second()).ok()?;
                if at > after {
                    return Some(at);
                }
            }
            day = day.tomorrow().ok()?;
        }
        None
    }

    fn runs_on(&self, day: jiff::civil::Date) -> bool {
        match self.cadence {
            Cadence::Daily => true,
            Cadence::Weekly => {
                day.weekday().to_monday_one_offset() == i8::try_from(self.weekday).unwrap_or(0)
            }
            Cadence::Monthly => day.day() == i8::try_from(self.day_of_month).unwrap_or(0),
        }
    }

    /// The local calendar day of the moment `at` in this schedule's zone.
    pub fn local_day(&self, at: OffsetDateTime) -> Option<Date> {
        let ts = jiff::Timestamp::from_second(at.unix_timestamp()).ok()?;
        let d = ts.to_zoned(self.zone.clone()).date();
        let month = Month::try_from(u8::try_from(d.month()).ok()?).ok()?;
        Date::from_calendar_date(i32::from(d.year()), month, u8::try_from(d.day()).ok()?).ok()
    }

    /// The days a report sent at `run_at` covers: the `range_days` days
    /// before the run's local day, or without it the previous period of the
    /// cadence (see the module's documentation).
    pub fn report_period(&self, run_at: OffsetDateTime, range_days: Option<u16>) -> Option<Period> {
        let today = self.local_day(run_at)?;
        let until = today.previous_day()?;
        let since = match (range_days, self.cadence) {
            (Some(n), _) => until.checked_sub(Duration::days(i64::from(n.max(1)) - 1))?,
            (None, Cadence::Daily) => until,
            (None, Cadence::Weekly) => {
                let monday = today.checked_sub(Duration::days(i64::from(
                    today.weekday().number_days_from_monday(),
                )))?;
                let since = monday.checked_sub(Duration::days(7))?;
                return Period::new(since, monday.previous_day()?).ok();
            }
            (None, Cadence::Monthly) => {
                let first = today.replace_day(1).ok()?;
                let last = first.previous_day()?;
                return Period::new(last.replace_day(1).ok()?, last).ok();
            }
        };
        Period::new(since, until).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn rec(c: Cadence, hour: u8, wd: Option<u8>, dom: Option<u8>, tz: &str) -> Recurrence {
        Recurrence::new(c, hour, wd, dom, tz).unwrap()
    }

    #[test]
    fn a_daily_run_is_the_next_local_hour_strictly_after() {
        let r = rec(Cadence::Daily, 7, None, None, "Europe/Berlin");
        // 05:00 UTC is 06:00 in Berlin in winter: today at 07:00 local.
        assert_eq!(
            r.next_after(datetime!(2026-01-10 05:00 UTC)),
            Some(datetime!(2026-01-10 06:00 UTC))
        );
        // Exactly at the run: the next day's.
        assert_eq!(
            r.next_after(datetime!(2026-01-10 06:00 UTC)),
            Some(datetime!(2026-01-11 06:00 UTC))
        );
        // Summer time: 07:00 local is 05:00 UTC.
        assert_eq!(
            r.next_after(datetime!(2026-07-10 12:00 UTC)),
            Some(datetime!(2026-07-11 05:00 UTC))
        );
    }

    #[test]
    fn weekly_and_monthly_runs_land_on_their_day() {
        // 2026-03-04 is a Wednesday.
        let w = rec(Cadence::Weekly, 9, Some(1), None, "UTC");
        assert_eq!(
            w.next_after(datetime!(2026-03-04 10:00 UTC)),
            Some(datetime!(2026-03-09 09:00 UTC))
        );
        let m = rec(Cadence::Monthly, 0, None, Some(28), "UTC");
        assert_eq!(
            m.next_after(datetime!(2026-02-28 00:00 UTC)),
            Some(datetime!(2026-03-28 00:00 UTC))
        );
        assert_eq!(
            m.next_after(datetime!(2026-02-27 23:59 UTC)),
            Some(datetime!(2026-02-28 00:00 UTC))
        );
    }

    #[test]
    fn an_hour_skipped_by_daylight_saving_runs_after_the_gap() {
        // Europe/Berlin skips 02:00–03:00 on 2026-03-29.
        let r = rec(Cadence::Daily, 2, None, None, "Europe/Berlin");
        assert_eq!(
            r.next_after(datetime!(2026-03-28 12:00 UTC)),
            // 03:00 CEST = 01:00 UTC
            Some(datetime!(2026-03-29 01:00 UTC))
        );
        // Auckland at 23:30 UTC on 1 March is already 2 March.
        let a = rec(Cadence::Daily, 12, None, None, "Pacific/Auckland");
        assert_eq!(
            a.local_day(datetime!(2026-03-01 23:30 UTC)),
            Some(date!(2026 - 03 - 02))
        );
    }

    #[test]
    fn a_report_covers_the_previous_period_or_the_days_asked() {
        let run = datetime!(2026-03-04 08:00 UTC); // a Wednesday
        let d = rec(Cadence::Daily, 8, None, None, "UTC");
        let p = d.report_period(run, None).unwrap();
        assert_eq!(
            (p.since, p.until),
            (date!(2026 - 03 - 03), date!(2026 - 03 - 03))
        );
        let p = d.report_period(run, Some(7)).unwrap();
        assert_eq!(
            (p.since, p.until),
            (date!(2026 - 02 - 25), date!(2026 - 03 - 03))
        );
        let w = rec(Cadence::Weekly, 8, Some(3), None, "UTC");
        let p = w.report_period(run, None).unwrap();
        assert_eq!(
            (p.since, p.until),
            (date!(2026 - 02 - 23), date!(2026 - 03 - 01))
        );
        let m = rec(Cadence::Monthly, 8, None, Some(4), "UTC");
        let p = m.report_period(run, None).unwrap();
        assert_eq!(
            (p.since, p.until),
            (date!(2026 - 02 - 01), date!(2026 - 02 - 28))
        );
    }

    #[test]
    fn bad_parts_name_their_field() {
        let e = |c, h, w, d, tz| Recurrence::new(c, h, w, d, tz).unwrap_err().field;
        assert_eq!(e(Cadence::Daily, 24, None, None, "UTC"), "hour");
        assert_eq!(e(Cadence::Weekly, 1, None, None, "UTC"), "weekday");
        assert_eq!(e(Cadence::Weekly, 1, Some(8), None, "UTC"), "weekday");
        assert_eq!(e(Cadence::Daily, 1, Some(2), None, "UTC"), "weekday");
        assert_eq!(
            e(Cadence::Monthly, 1, None, Some(29), "UTC"),
            "day_of_month"
        );
        assert_eq!(e(Cadence::Monthly, 1, None, None, "UTC"), "day_of_month");
        assert_eq!(
            e(Cadence::Weekly, 1, Some(1), Some(3), "UTC"),
            "day_of_month"
        );
        assert_eq!(
            e(Cadence::Daily, 1, None, None, "Mars/Olympus"),
            "time_zone"
        );
    }
}
