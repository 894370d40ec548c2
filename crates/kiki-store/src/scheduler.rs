//! The cron scheduler: turns `jobs.schedules` into queued jobs, exactly once
//! per period across any number of instances.
//!
//! Every instance computes the same due periods from the same cron
//! expressions. For a due period it inserts `(kind, period_start)` into
//! `scheduler_leases` and enqueues the job in the same transaction; the primary
//! key lets exactly one insert succeed, so exactly one instance enqueues, and a
//! crash between the two writes loses neither. No leader election is needed.
//!
//! Cron dialect: see [`crate::JobsConfig`] (six fields with seconds first, or
//! five without; UTC). A scheduler only fires periods that start at or after
//! its own creation (minus an optional catch-up window), so a restart does not
//! replay old periods.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use croner::errors::CronError;
use croner::parser::{CronParser, Seconds, Year};
use croner::{CivilDate, CivilDateTime, CivilTime, Cron, CronDateTime, Resolution, Weekday};
use kiki_core::Clock;
use sea_query::{OnConflict, Query};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::db::Db;
use crate::error::StoreError;
use crate::jobs::{EnqueueOptions, Jobs};
use crate::schema::SchedulerLeases as L;

/// A UTC instant at whole-second resolution, searchable by croner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct CronTime(OffsetDateTime);

impl CronTime {
    fn new(t: OffsetDateTime) -> Self {
        let t = t.to_offset(time::UtcOffset::UTC);
        CronTime(t.replace_nanosecond(0).unwrap_or(t))
    }
}

impl CronDateTime for CronTime {
    fn to_civil(&self) -> CivilDateTime {
        let t = self.0;
        CivilDateTime::new(
            CivilDate::from_parts_unchecked(
                t.year(),
                u32::from(u8::from(t.month())),
                u32::from(t.day()),
            ),
            CivilTime::from_parts_unchecked(
                u32::from(t.hour()),
                u32::from(t.minute()),
                u32::from(t.second()),
            ),
        )
    }

    fn civil_weekday(&self) -> Weekday {
        Weekday::from_days_from_sunday(u32::from(self.0.weekday().number_days_from_sunday()))
    }

    fn resolve_civil(&self, civil: CivilDateTime) -> Result<Resolution<Self>, CronError> {
        let month = u8::try_from(civil.month())
            .ok()
            .and_then(|m| Month::try_from(m).ok())
            .ok_or(CronError::InvalidDate)?;
        let day = u8::try_from(civil.day()).map_err(|_| CronError::InvalidDate)?;
        let date = Date::from_calendar_date(civil.year(), month, day)
            .map_err(|_| CronError::InvalidDate)?;
        let hms = |v: u32| u8::try_from(v).map_err(|_| CronError::InvalidTime);
        let tod = time::Time::from_hms(
            hms(civil.hour())?,
            hms(civil.minute())?,
            hms(civil.second())?,
        )
        .map_err(|_| CronError::InvalidTime)?;
        // UTC has no gaps or folds.
        Ok(Resolution::Single(CronTime(
            PrimitiveDateTime::new(date, tod).assume_utc(),
        )))
    }

    fn checked_add_seconds(&self, seconds: i64) -> Option<Self> {
        self.0
            .checked_add(time::Duration::seconds(seconds))
            .map(CronTime)
    }

    fn cmp_instant(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

/// A parsed cron expression (dialect: see [`crate::JobsConfig`]).
#[derive(Debug, Clone)]
pub struct CronSchedule {
    expr: String,
    cron: Cron,
}

impl CronSchedule {
    /// Parses `expr`; `kind` only names the schedule in the error.
    pub fn parse(kind: &str, expr: &str) -> Result<CronSchedule, StoreError> {
        let parser = CronParser::builder()
            .seconds(Seconds::Optional)
            .year(Year::Disallowed)
            .build();
        let cron = parser.parse(expr).map_err(|e| StoreError::InvalidCron {
            kind: kind.to_owned(),
            expr: expr.to_owned(),
            reason: e.to_string(),
        })?;
        Ok(CronSchedule {
            expr: expr.to_owned(),
            cron,
        })
    }

    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// The latest occurrence at or before `t`.
    pub fn latest_at_or_before(&self, t: OffsetDateTime) -> Option<OffsetDateTime> {
        self.cron
            .find_previous_occurrence(&CronTime::new(t), true)
            .ok()
            .map(|c| c.0)
    }

    /// The first occurrence strictly after `t`.
    pub fn next_after(&self, t: OffsetDateTime) -> Option<OffsetDateTime> {
        self.cron
            .find_next_occurrence(&CronTime::new(t), false)
            .ok()
            .map(|c| c.0)
    }
}

/// One period this instance won and enqueued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledRun {
    pub kind: String,
    pub period_start: OffsetDateTime,
    pub job_id: kiki_core::JobId,
}

struct Inner {
    db: Db,
    jobs: Jobs,
    entries: Vec<(String, CronSchedule)>,
    clock: Arc<dyn Clock>,
    /// Periods before this are never fired (creation time minus catch-up).
    fire_from: OffsetDateTime,
    /// The last period each kind was seen through (won or lost), to skip the database.
    seen: parking_lot::Mutex<HashMap<String, OffsetDateTime>>,
}

/// Enqueues scheduled jobs; safe to run on every instance at once. Cheap to clone.
#[derive(Clone)]
pub struct Scheduler {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field(
                "schedules",
                &self
                    .inner
                    .entries
                    .iter()
                    .map(|(k, c)| (k.as_str(), c.expr()))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Scheduler {
    /// Parses every schedule (job kind → cron expression); an invalid
    /// expression is an error naming the kind.
    pub fn new(
        db: Db,
        jobs: Jobs,
        schedules: BTreeMap<String, String>,
        clock: Arc<dyn Clock>,
    ) -> Result<Scheduler, StoreError> {
        let entries = schedules
            .iter()
            .map(|(kind, expr)| Ok((kind.clone(), CronSchedule::parse(kind, expr)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let fire_from = clock.now();
        Ok(Scheduler {
            inner: Arc::new(Inner {
                db,
                jobs,
                entries,
                clock,
                fire_from,
                seen: parking_lot::Mutex::new(HashMap::new()),
            }),
        })
    }

    /// Also fires the latest period that began up to `window` before this
    /// scheduler was created (runs missed during a short outage once).
    /// Call before the first tick.
    pub fn with_catch_up(self, window: Duration) -> Scheduler {
        match Arc::try_unwrap(self.inner) {
            Ok(mut inner) => {
                inner.fire_from -= window;
                Scheduler {
                    inner: Arc::new(inner),
                }
            }
            Err(shared) => Scheduler { inner: shared },
        }
    }

    /// Fires every schedule whose latest period at or before `now` has not been
    /// fired yet (by any instance). Returns the periods this instance won.
    pub async fn tick(
        &self,
        instance_id: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<ScheduledRun>, StoreError> {
        let mut won = Vec::new();
        for (kind, schedule) in &self.inner.entries {
            let Some(period) = schedule.latest_at_or_before(now) else {
                continue;
            };
            if period < self.inner.fire_from {
                continue;
            }
            if self
                .inner
                .seen
                .lock()
                .get(kind)
                .is_some_and(|seen| *seen >= period)
            {
                continue;
            }
            if let Some(job_id) = self.try_fire(instance_id, kind, period, now).await? {
                metrics::counter!("kiki_scheduler_runs_total", "kind" => kind.clone()).increment(1);
                tracing::info!(job.kind = %kind, job.id = %job_id, period_start = %period, "scheduled job enqueued");
                won.push(ScheduledRun {
                    kind: kind.clone(),
                    period_start: period,
                    job_id,
                });
            }
            self.inner.seen.lock().insert(kind.clone(), period);
        }
        Ok(won)
    }

    /// Enqueues and takes the lease in one transaction; `None` when another
    /// instance holds the lease for this period.
    async fn try_fire(
        &self,
        instance_id: &str,
        kind: &str,
        period: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Option<kiki_core::JobId>, StoreError> {
        let mut tx = self.inner.db.begin().await?;
        let payload = serde_json::json!({
            "scheduled_for": period
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default(),
        });
        let job_id = self
            .inner
            .jobs
            .enqueue_tx(&mut tx, None, kind, payload, EnqueueOptions::default())
            .await?;
        let lease = Query::insert()
            .into_table(L::Table)
            .columns([
                L::Kind,
                L::PeriodStart,
                L::InstanceId,
                L::JobId,
                L::CreatedAt,
            ])
            .values_panic([
                kind.into(),
                period.into(),
                instance_id.into(),
                job_id.0.into(),
                now.into(),
            ])
            .on_conflict(
                OnConflict::columns([L::Kind, L::PeriodStart])
                    .do_nothing()
                    .to_owned(),
            )
            .to_owned();
        if tx.execute(&lease).await? == 1 {
            tx.commit().await?;
            Ok(Some(job_id))
        } else {
            tx.rollback().await?;
            Ok(None)
        }
    }

    /// The next time any schedule is due after `t`.
    pub fn next_due_after(&self, t: OffsetDateTime) -> Option<OffsetDateTime> {
        self.inner
            .entries
            .iter()
            .filter_map(|(_, s)| s.next_after(t))
            .min()
    }

    /// Ticks on the clock until `cancel` fires. Database errors are logged and
    /// the period is retried on the next tick.
    pub fn spawn(&self, instance_id: &str, cancel: CancellationToken) -> JoinHandle<()> {
        let this = self.clone();
        let instance_id = instance_id.to_owned();
        tokio::spawn(async move {
            tracing::info!(instance.id = %instance_id, schedules = ?this, "scheduler started");
            loop {
                let now = this.inner.clock.now();
                if let Err(e) = this.tick(&instance_id, now).await {
                    tracing::warn!(error = %e, "scheduler tick failed; retrying");
                }
                // Sleep to the next due time, but wake at least every second so a
                // clock that jumps (NTP, test clocks) is noticed.
                let wait = this
                    .next_due_after(now)
                    .map(|next| {
                        (next - this.inner.clock.now())
                            .clamp(time::Duration::milliseconds(10), time::Duration::seconds(1))
                    })
                    .and_then(|d| Duration::try_from(d).ok())
                    .unwrap_or(Duration::from_secs(1));
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tokio::time::sleep(wait) => {}
                }
            }
            tracing::info!(instance.id = %instance_id, "scheduler stopped");
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn six_field_expressions_have_seconds_first_and_five_fields_fire_at_second_zero() {
        let every_15_min = CronSchedule::parse("k", "0 */15 * * * *").unwrap();
        let t = datetime!(2026-05-01 10:07:30 UTC);
        assert_eq!(
            every_15_min.next_after(t),
            Some(datetime!(2026-05-01 10:15:00 UTC))
        );
        assert_eq!(
            every_15_min.latest_at_or_before(t),
            Some(datetime!(2026-05-01 10:00:00 UTC))
        );
        let hourly = CronSchedule::parse("k", "30 * * * *").unwrap();
        assert_eq!(
            hourly.next_after(t),
            Some(datetime!(2026-05-01 10:30:00 UTC))
        );
        let every_second = CronSchedule::parse("k", "* * * * * *").unwrap();
        assert_eq!(
            every_second.next_after(datetime!(2026-05-01 10:07:30.4 UTC)),
            Some(datetime!(2026-05-01 10:07:31 UTC))
        );
    }

    #[test]
    fn an_occurrence_exactly_now_is_the_latest_period() {
        let s = CronSchedule::parse("k", "0 0 * * * *").unwrap();
        let t = datetime!(2026-05-01 10:00:00 UTC);
        assert_eq!(s.latest_at_or_before(t), Some(t));
        assert_eq!(
            s.latest_at_or_before(t + time::Duration::milliseconds(999)),
            Some(t)
        );
    }

    #[test]
    fn weekday_and_month_boundaries_follow_the_calendar() {
        // 2026-05-04 is a Monday; 2026-02 has 28 days.
        let mondays = CronSchedule::parse("k", "0 0 9 * * MON").unwrap();
        assert_eq!(
            mondays.next_after(datetime!(2026-05-01 00:00 UTC)),
            Some(datetime!(2026-05-04 09:00 UTC))
        );
        let month_end = CronSchedule::parse("k", "0 0 0 L * *").unwrap();
        assert_eq!(
            month_end.next_after(datetime!(2026-02-10 00:00 UTC)),
            Some(datetime!(2026-02-28 00:00 UTC))
        );
    }

    #[test]
    fn invalid_expressions_name_the_job_kind() {
        let err = CronSchedule::parse("db.housekeeping", "every now and then").unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("db.housekeeping") && msg.contains("every now and then"),
            "{msg}"
        );
    }
}
