//! `db.housekeeping`: the store's own maintenance job. Deletes finished jobs
//! and scheduler leases past the retention period, old large-event bodies and
//! idempotency keys older than a day, then refreshes the planner statistics.

use futures::future::BoxFuture;
use sea_query::{Expr, ExprTrait, Query};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{JobContext, JobError, JobHandler, JobStatus};
use crate::db::{Backend, Db};
use crate::schema::{EventBodies, Jobs as J, SchedulerLeases};

/// The kind string of [`HousekeepingJob`].
pub const HOUSEKEEPING_KIND: &str = "db.housekeeping";

/// Event bodies only have to outlive delivery; a day is ample.
const EVENT_BODY_RETENTION: time::Duration = time::Duration::days(1);

/// What one housekeeping run did (the job's result).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HousekeepingReport {
    pub jobs_deleted: u64,
    pub leases_deleted: u64,
    pub event_bodies_deleted: u64,
    /// `Idempotency-Key` answers older than a day.
    #[serde(default)]
    pub idempotency_keys_deleted: u64,
    /// `PRAGMA optimize` (SQLite) or `ANALYZE jobs` (PostgreSQL).
    pub statistics_refreshed: String,
}

/// Deletes finished jobs older than `retention_days` (by `finished_at`),
/// scheduler leases older than that (by `period_start`) and event bodies older
/// than a day, then refreshes statistics.
#[derive(Debug, Clone)]
pub struct HousekeepingJob {
    db: Db,
    retention_days: u32,
}

impl HousekeepingJob {
    pub fn new(db: Db, retention_days: u32) -> Self {
        HousekeepingJob { db, retention_days }
    }

    /// One run at time `now`, outside the queue (the CLI's `kiki db housekeeping`).
    pub async fn run_at(
        &self,
        now: time::OffsetDateTime,
    ) -> Result<HousekeepingReport, crate::StoreError> {
        let cutoff = now - time::Duration::days(i64::from(self.retention_days));
        let jobs = Query::delete()
            .from_table(J::Table)
            .and_where(Expr::col(J::Status).is_in([
                JobStatus::Succeeded.as_str(),
                JobStatus::Failed.as_str(),
                JobStatus::Cancelled.as_str(),
            ]))
            .and_where(Expr::col(J::FinishedAt).lt(cutoff))
            .to_owned();
        let jobs_deleted = self.db.execute(&jobs).await?;
        let leases = Query::delete()
            .from_table(SchedulerLeases::Table)
            .and_where(Expr::col(SchedulerLeases::PeriodStart).lt(cutoff))
            .to_owned();
        let leases_deleted = self.db.execute(&leases).await?;
        let bodies = Query::delete()
            .from_table(EventBodies::Table)
            .and_where(Expr::col(EventBodies::CreatedAt).lt(now - EVENT_BODY_RETENTION))
            .to_owned();
        let event_bodies_deleted = self.db.execute(&bodies).await?;
        let idempotency_keys_deleted = crate::IdempotencyKeys::new(self.db.clone())
            .purge_before(now - crate::idempotency::IDEMPOTENCY_RETENTION)
            .await?;
        let statistics_refreshed = match self.db.backend() {
            Backend::Sqlite => {
                self.db.execute_raw("PRAGMA optimize").await?;
                "PRAGMA optimize"
            }
            Backend::Postgres => {
                self.db.execute_raw("ANALYZE jobs").await?;
                "ANALYZE jobs"
            }
        };
        Ok(HousekeepingReport {
            jobs_deleted,
            leases_deleted,
            event_bodies_deleted,
            idempotency_keys_deleted,
            statistics_refreshed: statistics_refreshed.to_owned(),
        })
    }
}

impl JobHandler for HousekeepingJob {
    fn kind(&self) -> &'static str {
        HOUSEKEEPING_KIND
    }

    fn run<'a>(&'a self, ctx: JobContext) -> BoxFuture<'a, Result<Value, JobError>> {
        Box::pin(async move {
            ctx.progress(0.0, "deleting expired rows").await;
            let report = self.run_at(ctx.now()).await?;
            tracing::info!(
                jobs_deleted = report.jobs_deleted,
                leases_deleted = report.leases_deleted,
                event_bodies_deleted = report.event_bodies_deleted,
                "housekeeping done"
            );
            serde_json::to_value(&report).map_err(|e| {
                JobError::permanent(format!(
                    "The housekeeping report could not be encoded: {e}."
                ))
            })
        })
    }
}
