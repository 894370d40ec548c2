//! Background jobs: one durable queue in the `jobs` table for every kind of
//! background work (syncs, fits, rollups, housekeeping), with leases so a
//! crashed worker's job is picked up again, retries with exponential backoff,
//! per-attempt timeouts, progress reporting and cancellation.
//!
//! A job is claimed by one atomic statement (PostgreSQL: `UPDATE … WHERE id IN
//! (SELECT … FOR UPDATE SKIP LOCKED)`; SQLite: the same UPDATE, which SQLite
//! runs under its single write lock), so two workers never run the same attempt.
//! Every later write by a worker is fenced on `locked_by` and `attempts`, so a
//! worker that lost its lease cannot overwrite the new owner's state.

mod housekeeping;
mod worker;

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::BoxFuture;
use kiki_core::{Clock, JobId, OrgId, Page, PageRequest, SystemClock, TenantScope};
use sea_query::{Cond, Expr, ExprTrait, Order, Query, SelectStatement};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::types::Json;
use time::OffsetDateTime;
use tokio::sync::Notify;
use uuid::Uuid;

use crate::config::JobsConfig;
use crate::db::{Db, Tx};
use crate::error::StoreError;
use crate::schema::Jobs as J;

pub use housekeeping::{HOUSEKEEPING_KIND, HousekeepingJob, HousekeepingReport};

kiki_core::string_enum! {
    /// Where a job is in its life.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "lowercase")]
    pub enum JobStatus {
        /// Waiting for `run_at` and a free worker (also between retries).
        Queued = "queued",
        /// Claimed by a worker holding a lease.
        Running = "running",
        Succeeded = "succeeded",
        /// Gave up: attempts exhausted or a permanent error.
        Failed = "failed",
        Cancelled = "cancelled",
    }
}

impl JobStatus {
    /// Succeeded, failed or cancelled: nothing more will happen to the job.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled
        )
    }
}

/// A job as stored, for the jobs API and the CLI.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JobRecord {
    pub id: JobId,
    /// The organisation the job acts for; `None` for system jobs (housekeeping).
    pub org_id: Option<OrgId>,
    /// The handler that runs it, e.g. `db.housekeeping`.
    pub kind: String,
    #[schema(value_type = Object)]
    pub payload: Value,
    pub status: JobStatus,
    /// Attempts started so far (including a running one).
    pub attempts: u32,
    pub max_attempts: u32,
    pub timeout_secs: u64,
    /// 0.0 to 1.0, as last reported by the handler.
    pub progress: f64,
    pub progress_message: Option<String>,
    /// The handler's output once succeeded.
    #[schema(value_type = Option<Object>)]
    pub result: Option<Value>,
    /// The error of the latest failed attempt.
    pub last_error: Option<String>,
    /// Not before this time (the next retry, for a queued job that failed).
    #[serde(with = "time::serde::rfc3339")]
    pub run_at: OffsetDateTime,
    /// The worker holding the lease, while running.
    pub locked_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub locked_until: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
}

/// The row as sqlx decodes it on both backends (see `schema.rs` for the types).
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct JobRow {
    id: Uuid,
    org_id: Option<Uuid>,
    kind: String,
    payload: Json<Value>,
    status: String,
    attempts: i64,
    max_attempts: i64,
    timeout_secs: i64,
    progress: f64,
    progress_message: Option<String>,
    result: Option<Json<Value>>,
    last_error: Option<String>,
    run_at: OffsetDateTime,
    locked_by: Option<String>,
    locked_until: Option<OffsetDateTime>,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
    finished_at: Option<OffsetDateTime>,
}

impl TryFrom<JobRow> for JobRecord {
    type Error = StoreError;

    fn try_from(r: JobRow) -> Result<Self, StoreError> {
        let status = JobStatus::parse(&r.status).ok_or_else(|| {
            StoreError::Corrupt(format!("job {} has unknown status `{}`", r.id, r.status))
        })?;
        let non_negative = |v: i64, what: &str| {
            u64::try_from(v)
                .map_err(|_| StoreError::Corrupt(format!("job {} has negative {what}", r.id)))
        };
        Ok(JobRecord {
            id: JobId(r.id),
            org_id: r.org_id.map(OrgId),
            kind: r.kind,
            payload: r.payload.0,
            status,
            attempts: u32::try_from(non_negative(r.attempts, "attempts")?).unwrap_or(u32::MAX),
            max_attempts: u32::try_from(non_negative(r.max_attempts, "max_attempts")?)
                .unwrap_or(u32::MAX),
            timeout_secs: non_negative(r.timeout_secs, "timeout_secs")?,
            progress: r.progress,
            progress_message: r.progress_message,
            result: r.result.map(|j| j.0),
            last_error: r.last_error,
            run_at: r.run_at,
            locked_by: r.locked_by,
            locked_until: r.locked_until,
            created_at: r.created_at,
            updated_at: r.updated_at,
            finished_at: r.finished_at,
        })
    }
}

pub(crate) const JOB_COLUMNS: [J; 18] = [
    J::Id,
    J::OrgId,
    J::Kind,
    J::Payload,
    J::Status,
    J::Attempts,
    J::MaxAttempts,
    J::TimeoutSecs,
    J::Progress,
    J::ProgressMessage,
    J::Result,
    J::LastError,
    J::RunAt,
    J::LockedBy,
    J::LockedUntil,
    J::CreatedAt,
    J::UpdatedAt,
    J::FinishedAt,
];

/// Per-job overrides of the `JobsConfig` defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnqueueOptions {
    /// Not before this time (default: now).
    pub run_at: Option<OffsetDateTime>,
    /// Default `jobs.default_max_attempts`.
    pub max_attempts: Option<u32>,
    /// Default `jobs.default_timeout_secs`.
    pub timeout_secs: Option<u64>,
}

/// Why an attempt did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// A failure worth retrying (network, busy database, upstream 5xx).
    #[error("{0}")]
    Failed(String),
    /// A failure that retrying cannot fix (bad payload, missing record): no more attempts.
    #[error("{0}")]
    Permanent(String),
    /// The handler stopped because its `cancel` token fired.
    #[error("The job was cancelled.")]
    Cancelled,
}

impl JobError {
    pub fn failed(msg: impl Into<String>) -> Self {
        JobError::Failed(msg.into())
    }

    pub fn permanent(msg: impl Into<String>) -> Self {
        JobError::Permanent(msg.into())
    }
}

impl From<StoreError> for JobError {
    fn from(e: StoreError) -> Self {
        JobError::Failed(e.to_string())
    }
}

/// The code that runs one kind of job. Register it with [`Jobs::register`].
pub trait JobHandler: Send + Sync + 'static {
    /// The `kind` string jobs of this handler are enqueued with (`area.action`).
    fn kind(&self) -> &'static str;
    /// One attempt. Should watch `ctx.cancel` in long loops and report progress.
    fn run<'a>(&'a self, ctx: JobContext) -> BoxFuture<'a, Result<Value, JobError>>;
}

/// What a handler gets for one attempt.
#[derive(Clone)]
pub struct JobContext {
    pub id: JobId,
    pub org_id: Option<OrgId>,
    pub kind: String,
    pub payload: Value,
    /// 1 for the first attempt.
    pub attempt: u32,
    pub max_attempts: u32,
    /// Fires on timeout, cancellation through the API, lost lease, or shutdown
    /// after the grace period. The attempt is abandoned soon after.
    pub cancel: tokio_util::sync::CancellationToken,
    db: Db,
    worker_id: Arc<str>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for JobContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobContext")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("attempt", &self.attempt)
            .field("worker_id", &self.worker_id)
            .finish()
    }
}

impl JobContext {
    /// Records progress (`fraction` is clamped to 0..=1; NaN is ignored with a
    /// warning). Failures to write are logged, never returned: progress is advisory.
    pub async fn progress(&self, fraction: f64, message: &str) {
        if !fraction.is_finite() {
            tracing::warn!(job.id = %self.id, fraction, "ignored a non-finite job progress value");
            return;
        }
        let fraction = fraction.clamp(0.0, 1.0);
        let stmt = Query::update()
            .table(J::Table)
            .value(J::Progress, fraction)
            .value(J::ProgressMessage, message)
            .value(J::UpdatedAt, self.clock.now())
            .and_where(Expr::col(J::Id).eq(self.id.0))
            .and_where(Expr::col(J::LockedBy).eq(self.worker_id.as_ref()))
            .and_where(Expr::col(J::Status).eq(JobStatus::Running.as_str()))
            .to_owned();
        match self.db.execute(&stmt).await {
            Ok(_) => {}
            // Another writer (often the job's own bulk writes) holds SQLite's
            // lock: the next report overwrites this one anyway.
            Err(e) if e.is_busy() => {
                metrics::counter!("kiki_jobs_store_busy_total", "op" => "progress").increment(1);
                tracing::debug!(job.id = %self.id, "job progress not recorded: the database was busy");
            }
            Err(e) => {
                tracing::warn!(job.id = %self.id, error = %e, "recording job progress failed")
            }
        }
    }

    /// The scope of the organisation the job was enqueued for: the job
    /// runner is the authority for the jobs it runs, as the authentication
    /// layer is for requests. `None` for a platform job (a sweep).
    pub fn scope(&self) -> Option<TenantScope> {
        self.org_id.map(TenantScope::single)
    }

    /// The scope a platform sweep (a scheduled job with no organisation of
    /// its own: LTV sync, rebalancing, the mirror) acts in for one
    /// organisation at a time.
    pub fn scope_for(&self, org: OrgId) -> TenantScope {
        TenantScope::single(org)
    }

    /// The current time, from the same clock the queue uses.
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// The database the queue lives in.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Decodes the payload; a payload of the wrong shape is a permanent error.
    pub fn payload_as<T: DeserializeOwned>(&self) -> Result<T, JobError> {
        serde_json::from_value(self.payload.clone()).map_err(|e| {
            JobError::permanent(format!(
                "The payload of job kind `{}` is invalid: {e}.",
                self.kind
            ))
        })
    }
}

type Handlers = HashMap<&'static str, Arc<dyn JobHandler>>;

/// The job queue and its workers. Cheap to clone; clones share handlers and wake-ups.
#[derive(Clone)]
pub struct Jobs {
    db: Db,
    cfg: Arc<JobsConfig>,
    handlers: Arc<Handlers>,
    clock: Arc<dyn Clock>,
    wake: Arc<Notify>,
}

impl std::fmt::Debug for Jobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jobs")
            .field("kinds", &self.kinds())
            .field("workers", &self.cfg.workers)
            .finish()
    }
}

impl Jobs {
    pub fn new(db: Db, cfg: JobsConfig) -> Jobs {
        Jobs {
            db,
            cfg: Arc::new(cfg),
            handlers: Arc::new(HashMap::new()),
            clock: Arc::new(SystemClock),
            wake: Arc::new(Notify::new()),
        }
    }

    /// Uses `clock` for `run_at`, leases and timestamps (tests move it by hand).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Jobs {
        self.clock = clock;
        self
    }

    /// Adds a handler; a later handler of the same kind replaces the earlier one.
    pub fn register(&mut self, handler: Arc<dyn JobHandler>) {
        Arc::make_mut(&mut self.handlers).insert(handler.kind(), handler);
    }

    /// Builder form of [`Jobs::register`].
    pub fn with_handler(mut self, handler: Arc<dyn JobHandler>) -> Jobs {
        self.register(handler);
        self
    }

    /// The registered kinds, sorted.
    pub fn kinds(&self) -> Vec<&'static str> {
        let mut k: Vec<_> = self.handlers.keys().copied().collect();
        k.sort_unstable();
        k
    }

    pub fn config(&self) -> &JobsConfig {
        &self.cfg
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    fn insert_statement(
        &self,
        org: Option<OrgId>,
        kind: &str,
        payload: Value,
        opts: &EnqueueOptions,
    ) -> Result<(JobId, sea_query::InsertStatement), StoreError> {
        if kind.trim().is_empty() {
            return Err(StoreError::InvalidArgument(
                "A job needs a non-empty kind.".to_owned(),
            ));
        }
        let max_attempts = opts.max_attempts.unwrap_or(self.cfg.default_max_attempts);
        if max_attempts == 0 {
            return Err(StoreError::InvalidArgument(
                "A job needs max_attempts of at least 1.".to_owned(),
            ));
        }
        let timeout_secs = opts.timeout_secs.unwrap_or(self.cfg.default_timeout_secs);
        if timeout_secs == 0 {
            return Err(StoreError::InvalidArgument(
                "A job needs timeout_secs of at least 1.".to_owned(),
            ));
        }
        let timeout_secs = i64::try_from(timeout_secs)
            .map_err(|_| StoreError::InvalidArgument("The job timeout is too large.".to_owned()))?;
        let id = JobId::new();
        let now = self.clock.now();
        let stmt = Query::insert()
            .into_table(J::Table)
            .columns([
                J::Id,
                J::OrgId,
                J::Kind,
                J::Payload,
                J::Status,
                J::Attempts,
                J::MaxAttempts,
                J::TimeoutSecs,
                J::Progress,
                J::RunAt,
                J::CreatedAt,
                J::UpdatedAt,
            ])
            .values_panic([
                id.0.into(),
                org.map(|o| o.0).into(),
                kind.into(),
                payload.into(),
                JobStatus::Queued.as_str().into(),
                0i64.into(),
                i64::from(max_attempts).into(),
                timeout_secs.into(),
                0.0f64.into(),
                opts.run_at.unwrap_or(now).into(),
                now.into(),
                now.into(),
            ])
            .to_owned();
        Ok((id, stmt))
    }

    /// Queues a job. Any process may enqueue; only processes with a handler for
    /// `kind` run it.
    pub async fn enqueue(
        &self,
        org: Option<OrgId>,
        kind: &str,
        payload: Value,
        opts: EnqueueOptions,
    ) -> Result<JobId, StoreError> {
        let (id, stmt) = self.insert_statement(org, kind, payload, &opts)?;
        self.db.execute(&stmt).await?;
        self.wake.notify_waiters();
        tracing::debug!(job.id = %id, job.kind = kind, "job enqueued");
        Ok(id)
    }

    /// Queues a job inside the caller's transaction, so it exists exactly when
    /// the caller's writes commit.
    pub async fn enqueue_tx(
        &self,
        tx: &mut Tx<'_>,
        org: Option<OrgId>,
        kind: &str,
        payload: Value,
        opts: EnqueueOptions,
    ) -> Result<JobId, StoreError> {
        let (id, stmt) = self.insert_statement(org, kind, payload, &opts)?;
        tx.execute(&stmt).await?;
        // Workers poll anyway; the wake-up only shortens the wait after commit.
        self.wake.notify_waiters();
        Ok(id)
    }

    fn select_jobs() -> SelectStatement {
        Query::select()
            .columns(JOB_COLUMNS)
            .from(J::Table)
            .to_owned()
    }

    /// Any job by id (system view: no tenant check).
    pub async fn get(&self, id: JobId) -> Result<Option<JobRecord>, StoreError> {
        let stmt = Self::select_jobs()
            .and_where(Expr::col(J::Id).eq(id.0))
            .to_owned();
        self.db
            .fetch_optional::<JobRow, _>(&stmt)
            .await?
            .map(JobRecord::try_from)
            .transpose()
    }

    /// A job of the scope's active organisation. System jobs (no
    /// organisation) are never returned here.
    pub async fn get_scoped(
        &self,
        scope: &TenantScope,
        id: JobId,
    ) -> Result<Option<JobRecord>, StoreError> {
        let stmt = Self::select_jobs()
            .and_where(Expr::col(J::Id).eq(id.0))
            .and_where(Expr::col(J::OrgId).eq(scope.org_id().0))
            .to_owned();
        self.db
            .fetch_optional::<JobRow, _>(&stmt)
            .await?
            .map(JobRecord::try_from)
            .transpose()
    }

    /// The jobs of the scope's active organisation, newest first, optionally
    /// of one status. The cursor is the last job id of the previous page.
    pub async fn list_scoped(
        &self,
        scope: &TenantScope,
        status: Option<JobStatus>,
        page: &PageRequest,
    ) -> Result<Page<JobRecord>, StoreError> {
        let limit = page.limit();
        let mut stmt = Self::select_jobs()
            .and_where(Expr::col(J::OrgId).eq(scope.org_id().0))
            .order_by(J::Id, Order::Desc)
            .limit(u64::from(limit) + 1)
            .to_owned();
        if let Some(st) = status {
            stmt.and_where(Expr::col(J::Status).eq(st.as_str()));
        }
        let cursor = page.cursor().map_err(StoreError::InvalidField)?;
        if let Some(c) = cursor {
            let after: Uuid = c.0.parse().map_err(|_| {
                StoreError::InvalidField(kiki_core::FieldError::new(
                    "cursor",
                    "The cursor is not one this API issued.",
                ))
            })?;
            stmt.and_where(Expr::col(J::Id).lt(after));
        }
        let rows = self.db.fetch_all::<JobRow, _>(&stmt).await?;
        let mut items = rows
            .into_iter()
            .map(JobRecord::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items
                .last()
                .map(|j| kiki_core::Cursor(j.id.to_string()).encode())
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// Cancels a queued or running job. A running attempt sees its `cancel`
    /// token fire at its next heartbeat. Returns false when the job had already
    /// finished or does not exist.
    pub async fn cancel(&self, id: JobId) -> Result<bool, StoreError> {
        self.cancel_where(Cond::all().add(Expr::col(J::Id).eq(id.0)))
            .await
    }

    /// [`Jobs::cancel`] limited to jobs of the scope's active organisation.
    pub async fn cancel_scoped(&self, scope: &TenantScope, id: JobId) -> Result<bool, StoreError> {
        self.cancel_where(
            Cond::all()
                .add(Expr::col(J::Id).eq(id.0))
                .add(Expr::col(J::OrgId).eq(scope.org_id().0)),
        )
        .await
    }

    async fn cancel_where(&self, cond: Cond) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let stmt = Query::update()
            .table(J::Table)
            .value(J::Status, JobStatus::Cancelled.as_str())
            .value(J::FinishedAt, now)
            .value(J::UpdatedAt, now)
            .value(J::LockedBy, Option::<String>::None)
            .value(J::LockedUntil, Option::<OffsetDateTime>::None)
            .cond_where(
                cond.add(
                    Expr::col(J::Status)
                        .is_in([JobStatus::Queued.as_str(), JobStatus::Running.as_str()]),
                ),
            )
            .to_owned();
        Ok(self.db.execute(&stmt).await? > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_round_trip() {
        let problems = kiki_core::serde_name_problems::<JobStatus>();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(JobStatus::parse("done"), None);
    }

    #[test]
    fn only_terminal_statuses_are_finished() {
        let finished: Vec<_> = JobStatus::ALL
            .into_iter()
            .filter(|s| s.is_finished())
            .collect();
        assert_eq!(
            finished,
            [
                JobStatus::Succeeded,
                JobStatus::Failed,
                JobStatus::Cancelled
            ]
        );
    }
}
