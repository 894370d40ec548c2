//! The `ltv.fit` job: runs [`LtvService::run_fit`] for the job's
//! organisation, writing the fit's progress to the job record (between the
//! fit's own writes, so the two never compete for SQLite's write lock).

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use futures::future::BoxFuture;
use kiki_store::{JobContext, JobError, JobHandler};
use serde_json::{Value, json};

use crate::domain::Progress;
use crate::error::LtvServiceError;
use crate::service::{FIT_JOB_KIND, FitPayload, LtvService, ProgressSink};

/// How often a fit's progress is written to the job record at most.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// The job record as a fit's progress sink: the start, the last step and
/// the latest report every [`PROGRESS_EVERY`] are written.
struct JobProgress<'a> {
    ctx: &'a JobContext,
    last: Mutex<Option<Instant>>,
}

impl ProgressSink for JobProgress<'_> {
    fn report<'a>(&'a self, p: Progress) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            let due = {
                let mut last = self.last.lock();
                let due = p.fraction <= 0.0
                    || p.fraction >= 0.99
                    || last.is_none_or(|t| t.elapsed() >= PROGRESS_EVERY);
                if due {
                    *last = Some(Instant::now());
                }
                due
            };
            if due {
                self.ctx.progress(p.fraction, &p.message).await;
            }
        })
    }
}

/// The handler of `ltv.fit` jobs.
#[derive(Debug)]
pub struct FitJob {
    svc: Arc<LtvService>,
}

impl FitJob {
    pub fn new(svc: Arc<LtvService>) -> FitJob {
        FitJob { svc }
    }
}

/// Bad data or options fail for good with the engine's message; database
/// trouble is retried.
fn job_error(e: LtvServiceError) -> JobError {
    match e {
        LtvServiceError::Store(_) | LtvServiceError::Shield(_) | LtvServiceError::Explain(_) => {
            JobError::failed(e.to_string())
        }
        other => JobError::permanent(other.to_string()),
    }
}

impl JobHandler for FitJob {
    fn kind(&self) -> &'static str {
        FIT_JOB_KIND
    }

    fn run<'a>(&'a self, ctx: JobContext) -> BoxFuture<'a, Result<Value, JobError>> {
        Box::pin(async move {
            let payload: FitPayload = ctx.payload_as()?;
            let scope = ctx
                .scope()
                .ok_or_else(|| JobError::permanent("An ltv.fit job needs an organisation."))?;
            let sink = JobProgress {
                ctx: &ctx,
                last: Mutex::new(None),
            };
            let work = self.svc.run_fit(&scope, &payload, Some(ctx.id.0), &sink);
            let result = tokio::select! {
                r = work => r,
                () = ctx.cancel.cancelled() => return Err(JobError::Cancelled),
            };
            let model = result.map_err(job_error)?;
            ctx.progress(1.0, "done").await;
            Ok(json!({
                "model_id": model.id,
                "version": model.version,
                "kind": model.model.kind,
                "customers": model.customer_count,
                "converged": model.model.converged,
                "location": format!("/v1/ltv/models/{}", model.id),
            }))
        })
    }
}
