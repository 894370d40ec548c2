//! `analytics.ingest`: reads one platform's synced days of one organisation
//! through the platforms service and replaces them in the roll-ups. Queued
//! by the listener after each metrics sync; safe to run twice.

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
            let rows = self
                .0
                .ingest_from_platforms(&scope, &p.platform, period)
                .await
                .map_err(|e| JobError::failed(e.to_string()))?;
            Ok(json!({ "platform": p.platform, "since": p.since, "until": p.until, "rows": rows }))
        })
    }
}
