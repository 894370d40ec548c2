//! The `lift.design` job: runs [`LiftService::run_design`] for the job's
//! organisation, writing the engine's progress to the job record while it
//! runs, and stopping the engine when the job is cancelled.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use kiki_store::{JobContext, JobError, JobHandler};
use serde_json::{Value, json};

use crate::error::LiftServiceError;
use crate::service::{DESIGN_JOB_KIND, DesignPayload, LiftService, ProgressSlot};

/// How often the latest progress is written to the job record.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// The handler of `lift.design` jobs.
#[derive(Debug)]
pub struct DesignJob {
    svc: Arc<LiftService>,
}

impl DesignJob {
    pub fn new(svc: Arc<LiftService>) -> DesignJob {
        DesignJob { svc }
    }
}

/// Database trouble is retried; anything else fails for good.
fn job_error(e: LiftServiceError) -> JobError {
    match e {
        LiftServiceError::Store(_) | LiftServiceError::Shield(_) | LiftServiceError::Explain(_) => {
            JobError::failed(e.to_string())
        }
        LiftServiceError::Engine(kiki_lift::LiftError::Cancelled) => JobError::Cancelled,
        other => JobError::permanent(other.to_string()),
    }
}

impl JobHandler for DesignJob {
    fn kind(&self) -> &'static str {
        DESIGN_JOB_KIND
    }

    fn run<'a>(&'a self, ctx: JobContext) -> BoxFuture<'a, Result<Value, JobError>> {
        Box::pin(async move {
            let payload: DesignPayload = ctx.payload_as()?;
            let scope = ctx
                .scope()
                .ok_or_else(|| JobError::permanent("A lift.design job needs an organisation."))?;
            ctx.progress(0.0, "simulating tests").await;
            let slot: ProgressSlot = Arc::new(Mutex::new(None));
            let cancel = Arc::new(AtomicBool::new(false));
            let work = self
                .svc
                .run_design(&scope, &payload, slot.clone(), cancel.clone());
            tokio::pin!(work);
            let mut tick = tokio::time::interval(PROGRESS_EVERY);
            let result = loop {
                tokio::select! {
                    r = &mut work => break r,
                    () = ctx.cancel.cancelled() => {
                        // The engine stops at its next simulated test.
                        cancel.store(true, Ordering::Relaxed);
                        return Err(JobError::Cancelled);
                    }
                    _ = tick.tick() => {
                        let latest = slot.lock().ok().and_then(|mut g| g.take());
                        if let Some(f) = latest {
                            ctx.progress(f * 0.95, "simulating tests").await;
                        }
                    }
                }
            };
            let design = result.map_err(job_error)?;
            ctx.progress(1.0, "done").await;
            Ok(json!({
                "design_id": design.id,
                "experiment_id": design.experiment_id,
                "status": design.status,
                "location": format!("/v1/experiments/lift/{}/designs", design.experiment_id),
            }))
        })
    }
}
