//! Job handlers: `platforms.sync_all` (the performance sync of every
//! connected platform of every organisation, hourly by default) and
//! `platforms.sync` (one organisation's platform, enqueued on demand, e.g.
//! after a launch). Both are idempotent: metrics are upserted per day, and
//! a failed run leaves the last synced day where it was.

use std::sync::Arc;

use futures::future::BoxFuture;
use kiki_core::OrgId;
use kiki_store::{JobContext, JobError, JobHandler};
use kiki_twin::Platform;
use serde_json::{Value, json};

use crate::error::PlatformsError;
use crate::service::PlatformsService;
use crate::store;

/// The sweep's job kind.
pub const SYNC_ALL_KIND: &str = "platforms.sync_all";
/// Its default schedule: hourly, five minutes past (seconds first).
pub const SYNC_ALL_SCHEDULE: &str = "0 5 * * * *";
/// One platform of one organisation.
pub const SYNC_KIND: &str = "platforms.sync";

/// `platforms.sync_all`.
pub struct SyncAllJob(pub Arc<PlatformsService>);

impl JobHandler for SyncAllJob {
    fn kind(&self) -> &'static str {
        SYNC_ALL_KIND
    }

    fn run<'a>(&'a self, ctx: JobContext) -> BoxFuture<'a, Result<Value, JobError>> {
        Box::pin(async move {
            let pairs = store::connections::connected(&self.0.db)
                .await
                .map_err(|e| JobError::failed(e.to_string()))?;
            let mut runs = Vec::new();
            for (org, platform) in pairs {
                let Some(platform) = Platform::parse(&platform) else {
                    continue;
                };
                let scope = ctx.scope_for(OrgId(org));
                match self.0.sync_platform(&scope, platform, "schedule").await {
                    Ok(run) => runs.push(json!({
                        "org_id": org, "platform": platform.as_str(),
                        "status": run.status, "rows": run.rows_upserted,
                    })),
                    // Disconnected meanwhile: nothing to do.
                    Err(PlatformsError::Conflict(_) | PlatformsError::NotFound(_)) => {}
                    Err(e) => {
                        tracing::warn!(org = %org, platform = platform.as_str(), error = %e, "platform sync failed");
                        runs.push(json!({
                            "org_id": org, "platform": platform.as_str(), "error": e.to_string(),
                        }));
                    }
                }
            }
            Ok(json!({ "runs": runs }))
        })
    }
}

#[derive(serde::Deserialize)]
struct SyncPayload {
    platform: String,
}

/// `platforms.sync`: one platform of the organisation it was enqueued for.
pub struct SyncJob(pub Arc<PlatformsService>);

impl JobHandler for SyncJob {
    fn kind(&self) -> &'static str {
        SYNC_KIND
    }

    fn run<'a>(&'a self, ctx: JobContext) -> BoxFuture<'a, Result<Value, JobError>> {
        Box::pin(async move {
            let p: SyncPayload = ctx.payload_as()?;
            let platform = Platform::parse(&p.platform)
                .ok_or_else(|| JobError::permanent(Platform::unknown_message(&p.platform)))?;
            let scope = ctx
                .scope()
                .ok_or_else(|| JobError::permanent("The platform sync needs an organisation."))?;
            match self.0.sync_platform(&scope, platform, "launch").await {
                Ok(run) => serde_json::to_value(run)
                    .map_err(|e| JobError::permanent(format!("encoding the run: {e}"))),
                Err(e @ (PlatformsError::Conflict(_) | PlatformsError::NotFound(_))) => {
                    Ok(json!({ "skipped": e.to_string() }))
                }
                Err(e) => Err(JobError::failed(e.to_string())),
            }
        })
    }
}
