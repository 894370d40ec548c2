//! The analytics jobs. `analytics.ingest`: reads one platform's synced days
//! of one organisation through the platforms service (for `kiki`, KIKI's
//! own buying: through the bidder and conversions services) and replaces
//! them in the roll-ups; queued by the listener after each metrics sync,
//! bidder flush or conversion; safe to run twice. `analytics.export`: writes a queued export's file (CSV,
//! Excel or PDF) and stores it until its link expires; a second run after
//! it finished changes nothing.

use std::sync::Arc;

use futures::future::BoxFuture;
use kiki_store::{JobContext, JobError, JobHandler};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::domain::parse_day;
use crate::service::AnalyticsService;

pub const INGEST_KIND: &str = "analytics.ingest";

/// The days of one platform to ingest (`YYYY-MM-DD`, both included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestPayload {
    pub platform: String,
    pub since: String,
    pub until: String,
}

/// The handler of [`INGEST_KIND`].
pub struct IngestJob(pub Arc<AnalyticsService>);

impl JobHandler for IngestJob {
    fn kind(&self) -> &'static str {
        INGEST_KIND
    }

    fn run<'a>(&'a self, ctx: JobContext) -> BoxFuture<'a, Result<Value, JobError>> {
        Box::pin(async move {
            let Some(scope) = ctx.scope() else {
                return Err(JobError::permanent("An ingest job needs an organisation."));
            };
            let p: IngestPayload = ctx.payload_as()?;
            let (Some(since), Some(until)) = (parse_day(&p.since), parse_day(&p.until)) else {
                return Err(JobError::permanent(format!(
                    "The days {}..{} are not dates.",
                    p.since, p.until
                )));
            };
            let period = kiki_analytics::Period::new(since, until)
                .map_err(|e| JobError::permanent(e.sentence()))?;
            let rows = if p.platform == crate::service::kiki_source::PLATFORM {
                self.0.ingest_kiki(&scope, period).await
            } else {
                self.0
                    .ingest_from_platforms(&scope, &p.platform, period)
                    .await
            }
            .map_err(|e| JobError::failed(e.to_string()))?;
            Ok(json!({ "platform": p.platform, "since": p.since, "until": p.until, "rows": rows }))
        })
    }
}

pub use crate::service::exports::EXPORT_KIND;

/// The payload of an [`EXPORT_KIND`] job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportPayload {
    pub export_id: uuid::Uuid,
}

/// The handler of [`EXPORT_KIND`].
pub struct ExportJob(pub Arc<AnalyticsService>);

impl JobHandler for ExportJob {
    fn kind(&self) -> &'static str {
        EXPORT_KIND
    }

    fn run<'a>(&'a self, ctx: JobContext) -> BoxFuture<'a, Result<Value, JobError>> {
        Box::pin(async move {
            let Some(scope) = ctx.scope() else {
                return Err(JobError::permanent("An export job needs an organisation."));
            };
            let p: ExportPayload = ctx.payload_as()?;
            self.0
                .run_export(&ctx, &scope, p.export_id, crate::api::exports::parse_report)
                .await
                .map_err(|e| match e {
                    // A missing row or a query that no longer reads cannot
                    // succeed on a retry.
                    crate::AnalyticsError::NotFound(_) | crate::AnalyticsError::Invalid(_) => {
                        JobError::permanent(e.to_string())
                    }
                    other => JobError::failed(other.to_string()),
                })
        })
    }
}

pub use crate::service::schedules::{SEND_KIND, SWEEP_KIND, SWEEP_SCHEDULE, SendPayload};

/// The handler of [`SWEEP_KIND`]: queues the scheduled reports that are due.
pub struct SweepJob(pub Arc<AnalyticsService>);

impl JobHandler for SweepJob {
    fn kind(&self) -> &'static str {
        SWEEP_KIND
    }

    fn run<'a>(&'a self, _ctx: JobContext) -> BoxFuture<'a, Result<Value, JobError>> {
        Box::pin(async move {
            let queued = self
                .0
                .queue_due_reports()
                .await
                .map_err(|e| JobError::failed(e.to_string()))?;
            Ok(json!({ "queued": queued }))
        })
    }
}

/// The handler of [`SEND_KIND`]: sends one run of a scheduled report.
pub struct SendJob(pub Arc<AnalyticsService>);

impl JobHandler for SendJob {
    fn kind(&self) -> &'static str {
        SEND_KIND
    }

    fn run<'a>(&'a self, ctx: JobContext) -> BoxFuture<'a, Result<Value, JobError>> {
        Box::pin(async move {
            let Some(scope) = ctx.scope() else {
                return Err(JobError::permanent("A report run needs an organisation."));
            };
            let p: SendPayload = ctx.payload_as()?;
            self.0
                .send_report(&ctx, &scope, &p, crate::api::exports::parse_report)
                .await
                .map_err(|e| match e {
                    crate::AnalyticsError::Invalid(_) => JobError::permanent(e.to_string()),
                    other => JobError::failed(other.to_string()),
                })
        })
    }
}
