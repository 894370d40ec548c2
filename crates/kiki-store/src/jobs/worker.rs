//! The worker side of the queue: claim a due job under a lease, run its
//! handler with a timeout and a heartbeat, then record the outcome (success,
//! retry with backoff, failure) fenced on the lease.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use sea_query::{Cond, Expr, ExprTrait, LockBehavior, LockType, Order, Query, UpdateStatement};
use serde_json::Value;
use time::OffsetDateTime;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{JOB_COLUMNS, JobContext, JobError, JobRecord, JobRow, JobStatus, Jobs};
use crate::error::StoreError;
use crate::schema::Jobs as J;

/// How one attempt ended, from the worker's point of view.
#[derive(Debug)]
enum Outcome {
    Succeeded(Value),
    Error(JobError),
    TimedOut(u64),
    Panicked(String),
    /// The lease was lost (cancelled through the API, or reclaimed after a stall).
    LeaseLost,
    /// Shutdown outlasted the grace period; the job goes back to the queue.
    Released,
}

impl Jobs {
    /// Claims the next due job of a registered kind for `worker_id`, or a
    /// running job whose lease expired (its worker crashed). Low level: workers
    /// call it; tests and the CLI may too.
    pub async fn claim(&self, worker_id: &str) -> Result<Option<JobRecord>, StoreError> {
        let kinds = self.kinds();
        if kinds.is_empty() {
            return Ok(None);
        }
        let now = self.clock.now();
        let lease =
            time::Duration::seconds(i64::try_from(self.cfg.lease_secs).unwrap_or(i64::MAX / 2));
        let due = Query::select()
            .column(J::Id)
            .from(J::Table)
            .cond_where(
                Cond::all().add(Expr::col(J::Kind).is_in(kinds)).add(
                    Cond::any()
                        .add(
                            Cond::all()
                                .add(Expr::col(J::Status).eq(JobStatus::Queued.as_str()))
                                .add(Expr::col(J::RunAt).lte(now)),
                        )
                        .add(
                            Cond::all()
                                .add(Expr::col(J::Status).eq(JobStatus::Running.as_str()))
                                .add(Expr::col(J::LockedUntil).lt(now)),
                        ),
                ),
            )
            .order_by(J::RunAt, Order::Asc)
            .limit(1)
            // SQLite's renderer drops the lock clause; its single writer serialises claims.
            .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
            .to_owned();
        let stmt = Query::update()
            .table(J::Table)
            .value(J::Status, JobStatus::Running.as_str())
            .value(J::Attempts, Expr::col(J::Attempts).add(1))
            .value(J::LockedBy, worker_id)
            .value(J::LockedUntil, now + lease)
            .value(J::UpdatedAt, now)
            .and_where(Expr::col(J::Id).in_subquery(due))
            .returning(Query::returning().columns(JOB_COLUMNS))
            .to_owned();
        self.db
            .fetch_optional::<JobRow, _>(&stmt)
            .await?
            .map(JobRecord::try_from)
            .transpose()
    }

    /// Claims and runs at most one job. Returns whether one ran.
    pub async fn run_once(&self, worker_id: &str) -> Result<bool, StoreError> {
        self.run_once_until(worker_id, &CancellationToken::new())
            .await
    }

    async fn run_once_until(
        &self,
        worker_id: &str,
        shutdown: &CancellationToken,
    ) -> Result<bool, StoreError> {
        let Some(job) = self.claim(worker_id).await? else {
            return Ok(false);
        };
        let span = tracing::info_span!(
            "job.run",
            job.id = %job.id,
            job.kind = %job.kind,
            job.attempt = job.attempts,
            org.id = job.org_id.map(|o| o.to_string()),
        );
        self.run_claimed(job, worker_id, shutdown)
            .instrument(span)
            .await?;
        Ok(true)
    }

    async fn run_claimed(
        &self,
        job: JobRecord,
        worker_id: &str,
        shutdown: &CancellationToken,
    ) -> Result<(), StoreError> {
        let started = std::time::Instant::now();
        let outcome = if job.attempts > job.max_attempts {
            // Reclaimed after the worker of the last allowed attempt vanished.
            Outcome::Error(JobError::permanent(format!(
                "The job's lease expired during its last allowed attempt ({} of {}).",
                job.max_attempts, job.max_attempts
            )))
        } else if let Some(handler) = self.handlers.get(job.kind.as_str()).cloned() {
            self.supervise(&job, handler, worker_id, shutdown).await
        } else {
            Outcome::Error(JobError::permanent(format!(
                "No handler is registered for job kind `{}`.",
                job.kind
            )))
        };
        let label = match &outcome {
            Outcome::Succeeded(_) => "succeeded",
            Outcome::Error(JobError::Cancelled) => "cancelled",
            Outcome::Error(_) | Outcome::Panicked(_) => "error",
            Outcome::TimedOut(_) => "timed_out",
            Outcome::LeaseLost => "lease_lost",
            Outcome::Released => "released",
        };
        metrics::counter!("kiki_jobs_total", "kind" => job.kind.clone(), "outcome" => label)
            .increment(1);
        metrics::histogram!("kiki_job_duration_seconds", "kind" => job.kind.clone())
            .record(started.elapsed().as_secs_f64());
        self.record_outcome(&job, worker_id, outcome).await
    }

    /// Runs the handler with timeout, heartbeat and shutdown handling.
    async fn supervise(
        &self,
        job: &JobRecord,
        handler: Arc<dyn super::JobHandler>,
        worker_id: &str,
        shutdown: &CancellationToken,
    ) -> Outcome {
        let cancel = CancellationToken::new();
        let ctx = JobContext {
            id: job.id,
            org_id: job.org_id,
            kind: job.kind.clone(),
            payload: job.payload.clone(),
            attempt: job.attempts,
            max_attempts: job.max_attempts,
            cancel: cancel.clone(),
            db: self.db.clone(),
            worker_id: Arc::from(worker_id),
            clock: self.clock.clone(),
        };
        let timeout = Duration::from_secs(job.timeout_secs);
        let run = tokio::time::timeout(timeout, AssertUnwindSafe(handler.run(ctx)).catch_unwind());
        tokio::pin!(run);
        let beat_every = Duration::from_millis(std::cmp::max(
            self.cfg.lease_secs.saturating_mul(1000) / 3,
            50,
        ));
        let mut heartbeat =
            tokio::time::interval_at(tokio::time::Instant::now() + beat_every, beat_every);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let grace = tokio::time::sleep(Duration::from_secs(self.cfg.shutdown_grace_secs));
        tokio::pin!(grace);
        let mut shutting_down = false;
        // Heartbeats in a row that met a busy database; the lease lasts three.
        let mut busy_beats = 0u32;
        let outcome = loop {
            tokio::select! {
                r = &mut run => break match r {
                    Err(_) => Outcome::TimedOut(job.timeout_secs),
                    Ok(Err(panic)) => Outcome::Panicked(panic_message(panic.as_ref())),
                    Ok(Ok(Ok(v))) => Outcome::Succeeded(v),
                    Ok(Ok(Err(e))) => Outcome::Error(e),
                },
                _ = heartbeat.tick() => {
                    match self.extend_lease(job, worker_id).await {
                        Ok(true) => busy_beats = 0,
                        Ok(false) => break Outcome::LeaseLost,
                        // A missed heartbeat is survivable: the lease has two
                        // more periods. One that met SQLite's lock held by a
                        // bulk writer (often this job's own) is counted and
                        // only warned of when the next one missed too.
                        Err(e) if e.is_busy() && busy_beats == 0 => {
                            busy_beats += 1;
                            metrics::counter!("kiki_jobs_store_busy_total", "op" => "lease").increment(1);
                            tracing::debug!("job lease not extended: the database was busy; the lease has two more periods");
                        }
                        Err(e) => {
                            busy_beats += u32::from(e.is_busy());
                            tracing::warn!(error = %e, "extending a job lease failed")
                        }
                    }
                }
                _ = shutdown.cancelled(), if !shutting_down => {
                    shutting_down = true;
                    grace.as_mut().reset(tokio::time::Instant::now() + Duration::from_secs(self.cfg.shutdown_grace_secs));
                }
                _ = &mut grace, if shutting_down => break Outcome::Released,
            }
        };
        // Whatever ended the attempt, tell the handler's spawned work to stop.
        cancel.cancel();
        outcome
    }

    async fn extend_lease(&self, job: &JobRecord, worker_id: &str) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let lease =
            time::Duration::seconds(i64::try_from(self.cfg.lease_secs).unwrap_or(i64::MAX / 2));
        let stmt = fenced_update(job, worker_id)
            .value(J::LockedUntil, now + lease)
            .value(J::UpdatedAt, now)
            .to_owned();
        Ok(self.db.execute(&stmt).await? > 0)
    }

    async fn record_outcome(
        &self,
        job: &JobRecord,
        worker_id: &str,
        outcome: Outcome,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        let mut stmt = fenced_update(job, worker_id);
        stmt.value(J::UpdatedAt, now)
            .value(J::LockedBy, Option::<String>::None)
            .value(J::LockedUntil, Option::<OffsetDateTime>::None);
        let retry_or_fail = |stmt: &mut UpdateStatement, error: String| {
            if job.attempts < job.max_attempts {
                let delay = retry_delay(
                    self.cfg.retry_base_ms,
                    self.cfg.retry_max_secs,
                    job.id.0.as_u128(),
                    job.attempts,
                );
                tracing::warn!(error = %error, retry_in_ms = delay.as_millis() as u64, "job attempt failed; will retry");
                stmt.value(J::Status, JobStatus::Queued.as_str())
                    .value(J::RunAt, now + delay)
                    .value(J::LastError, error);
            } else {
                tracing::error!(error = %error, "job failed after its last attempt");
                stmt.value(J::Status, JobStatus::Failed.as_str())
                    .value(J::FinishedAt, now)
                    .value(J::LastError, error);
            }
        };
        match outcome {
            Outcome::Succeeded(result) => {
                stmt.value(J::Status, JobStatus::Succeeded.as_str())
                    .value(J::Result, result)
                    .value(J::Progress, 1.0f64)
                    .value(J::LastError, Option::<String>::None)
                    .value(J::FinishedAt, now);
            }
            Outcome::Error(JobError::Permanent(msg)) => {
                tracing::error!(error = %msg, "job failed permanently");
                stmt.value(J::Status, JobStatus::Failed.as_str())
                    .value(J::FinishedAt, now)
                    .value(J::LastError, msg);
            }
            Outcome::Error(JobError::Cancelled) => {
                stmt.value(J::Status, JobStatus::Cancelled.as_str())
                    .value(J::FinishedAt, now);
            }
            Outcome::Error(JobError::Failed(msg)) => retry_or_fail(&mut stmt, msg),
            Outcome::TimedOut(secs) => retry_or_fail(
                &mut stmt,
                format!("The job ran longer than its timeout of {secs} seconds."),
            ),
            Outcome::Panicked(msg) => {
                retry_or_fail(&mut stmt, format!("The job handler panicked: {msg}"))
            }
            Outcome::LeaseLost => {
                tracing::warn!("job lease lost (cancelled or reclaimed); abandoning the attempt");
                return Ok(());
            }
            Outcome::Released => {
                // Shutdown is not the job's fault: give the attempt back.
                stmt.value(J::Status, JobStatus::Queued.as_str())
                    .value(J::Attempts, Expr::col(J::Attempts).sub(1))
                    .value(J::RunAt, now);
            }
        }
        if self.db.execute(&stmt).await? == 0 {
            tracing::warn!("job outcome not recorded: the lease had moved on");
        }
        Ok(())
    }

    /// Starts `jobs.workers` polling workers named `{instance_id}/w{n}`.
    /// When `cancel` fires they stop claiming; a running job gets
    /// `jobs.shutdown_grace_secs` to finish before it is handed back to the
    /// queue. The handle completes when every worker has stopped.
    pub fn spawn_workers(&self, instance_id: &str, cancel: CancellationToken) -> JoinHandle<()> {
        let workers: Vec<_> = (0..self.cfg.workers.max(1))
            .map(|n| {
                let jobs = self.clone();
                let worker_id = format!("{instance_id}/w{n}");
                let cancel = cancel.clone();
                tokio::spawn(async move { jobs.worker_loop(worker_id, cancel).await })
            })
            .collect();
        tokio::spawn(async move {
            for w in workers {
                if let Err(e) = w.await {
                    tracing::error!(error = %e, "a job worker task ended abnormally");
                }
            }
        })
    }

    async fn worker_loop(&self, worker_id: String, cancel: CancellationToken) {
        tracing::info!(worker.id = %worker_id, kinds = ?self.kinds(), "job worker started");
        let poll = Duration::from_millis(std::cmp::max(self.cfg.poll_interval_ms, 1));
        while !cancel.is_cancelled() {
            // Registered before claiming, so an enqueue during the claim is not missed.
            let woken = self.wake.notified();
            tokio::pin!(woken);
            woken.as_mut().enable();
            match self.run_once_until(&worker_id, &cancel).await {
                Ok(true) => continue,
                Ok(false) => {}
                // An idle worker's claim that met SQLite's lock held by a
                // bulk writer: nothing was claimed, and the next poll tries
                // again. Counted, not warned of.
                Err(e) if e.is_busy() => {
                    metrics::counter!("kiki_jobs_store_busy_total", "op" => "claim").increment(1);
                    tracing::debug!(worker.id = %worker_id, "claiming a job waited out the busy timeout; trying at the next poll");
                }
                Err(e) => {
                    tracing::warn!(worker.id = %worker_id, error = %e, "claiming a job failed")
                }
            }
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tokio::time::sleep(poll) => {}
                _ = &mut woken => {}
            }
        }
        tracing::info!(worker.id = %worker_id, "job worker stopped");
    }
}

/// An UPDATE of the job that only applies while `worker_id` still holds this attempt.
fn fenced_update(job: &JobRecord, worker_id: &str) -> UpdateStatement {
    Query::update()
        .table(J::Table)
        .and_where(Expr::col(J::Id).eq(job.id.0))
        .and_where(Expr::col(J::LockedBy).eq(worker_id))
        .and_where(Expr::col(J::Attempts).eq(i64::from(job.attempts)))
        .and_where(Expr::col(J::Status).eq(JobStatus::Running.as_str()))
        .to_owned()
}

/// Exponential backoff: `base × 2^(attempt-1)`, capped, times a jitter factor
/// in [0.75, 1.25) that is fixed per (job, attempt) so replicas retrying many
/// jobs spread out while each delay stays reproducible.
pub(crate) fn retry_delay(base_ms: u64, max_secs: u64, seed: u128, attempt: u32) -> Duration {
    let exp = std::cmp::min(attempt.saturating_sub(1), 32);
    let raw = base_ms.saturating_mul(1u64 << exp);
    let capped = std::cmp::min(raw, max_secs.saturating_mul(1000));
    let jitter = 0.75 + 0.5 * unit_hash(seed, attempt);
    Duration::from_millis((capped as f64 * jitter) as u64)
}

/// SplitMix64 of the inputs, mapped to [0, 1).
fn unit_hash(seed: u128, attempt: u32) -> f64 {
    let mut z = (seed as u64)
        ^ ((seed >> 64) as u64)
        ^ u64::from(attempt).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "a non-text panic payload".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_doubles_per_attempt_within_the_jitter_band() {
        for attempt in 1..=6u32 {
            let d = retry_delay(1000, 3600, 42, attempt).as_millis() as f64;
            let nominal = 1000.0 * 2f64.powi(attempt as i32 - 1);
            assert!(
                d >= nominal * 0.75 && d < nominal * 1.25,
                "attempt {attempt}: {d}"
            );
        }
    }

    #[test]
    fn retry_delay_is_capped_and_never_overflows() {
        let d = retry_delay(1000, 60, 7, 40);
        assert!(d <= Duration::from_millis(75_000), "{d:?}");
        assert!(d >= Duration::from_millis(45_000), "{d:?}");
        let huge = retry_delay(u64::MAX, u64::MAX, 1, u32::MAX);
        assert!(huge > Duration::ZERO);
    }

    #[test]
    fn jitter_is_reproducible_and_differs_between_jobs() {
        assert_eq!(retry_delay(1000, 3600, 5, 2), retry_delay(1000, 3600, 5, 2));
        let spread: std::collections::HashSet<_> =
            (0..20u128).map(|j| retry_delay(1000, 3600, j, 2)).collect();
        assert!(spread.len() > 10);
    }

    #[test]
    fn panic_messages_are_extracted() {
        let p: Box<dyn std::any::Any + Send> = Box::new("boom");
        assert_eq!(panic_message(p.as_ref()), "boom");
        let p: Box<dyn std::any::Any + Send> = Box::new(String::from("bang"));
        assert_eq!(panic_message(p.as_ref()), "bang");
        let p: Box<dyn std::any::Any + Send> = Box::new(3u8);
        assert_eq!(panic_message(p.as_ref()), "a non-text panic payload");
    }
}
