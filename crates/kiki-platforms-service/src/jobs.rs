//! Job handlers: `platforms.sync_all` (the performance sync of every
//! connected platform of every organisation, hourly by default),
//! `platforms.sync` (one organisation's platform, enqueued on demand, e.g.
//! after a launch) and, in accelerated time, `platforms.sync_sandboxes`
//! (every sandbox connection, scheduled every quarter of a simulated day so
//! new simulated days arrive while someone watches). All are idempotent:
//! metrics are upserted per day, and a failed run leaves the last synced
//! day where it was.

use std::sync::Arc;

use futures::future::BoxFuture;
use futures::lock::Mutex;
use kiki_core::{Clock, OrgId};
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
/// Every sandbox connection, in accelerated time.
pub const SYNC_SANDBOXES_KIND: &str = "platforms.sync_sandboxes";

/// The schedule of `platforms.sync_sandboxes` for a simulated day every
/// `seconds_per_day` real seconds: the longest cron period that divides its
/// unit evenly and is at most a quarter of a simulated day (at least every
/// 2 s; `kiki_platforms::MarketTime::sweep_every_secs`).
pub fn sync_sandboxes_schedule(seconds_per_day: u32) -> String {
    let every = kiki_platforms::MarketTime::sweep_every_secs(seconds_per_day);
    // (period in seconds, six-field cron, seconds first).
    let candidates: Vec<(u64, String)> = [2, 3, 4, 5, 6, 10, 12, 15, 20, 30]
        .into_iter()
        .map(|s| (s, format!("*/{s} * * * * *")))
        .chain(std::iter::once((60, "0 * * * * *".to_owned())))
        .chain(
            [2, 3, 4, 5, 6, 10, 12, 15, 20, 30]
                .into_iter()
                .map(|m| (m * 60, format!("0 */{m} * * * *"))),
        )
        .chain(std::iter::once((3_600, "0 0 * * * *".to_owned())))
        .chain(
            [2, 3, 4, 6, 8, 12]
                .into_iter()
                .map(|h| (h * 3_600, format!("0 0 */{h} * * *"))),
        )
        .chain(std::iter::once((86_400, "0 0 0 * * *".to_owned())))
        .collect();
    candidates
        .into_iter()
        .rev()
        .find(|(period, _)| *period <= every)
        .map_or_else(|| "*/2 * * * * *".to_owned(), |(_, cron)| cron)
}

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

/// `platforms.sync_sandboxes`: the sync of every connected sandbox, for the
/// market in accelerated time. A sweep still running in this process makes
/// the next one a no-op (a slow sweep does not pile up).
pub struct SyncSandboxesJob {
    svc: Arc<PlatformsService>,
    running: Mutex<()>,
}

impl SyncSandboxesJob {
    pub fn new(svc: Arc<PlatformsService>) -> SyncSandboxesJob {
        SyncSandboxesJob {
            svc,
            running: Mutex::new(()),
        }
    }
}

impl JobHandler for SyncSandboxesJob {
    fn kind(&self) -> &'static str {
        SYNC_SANDBOXES_KIND
    }

    fn run<'a>(&'a self, ctx: JobContext) -> BoxFuture<'a, Result<Value, JobError>> {
        Box::pin(async move {
            let Some(_sweeping) = self.running.try_lock() else {
                return Ok(json!({ "skipped": "The previous sweep is still running." }));
            };
            self.svc.anchor_market().await;
            self.svc
                .note_market_swept()
                .await
                .map_err(|e| JobError::failed(e.to_string()))?;
            let pairs = store::connections::connected_sandboxes(&self.svc.db)
                .await
                .map_err(|e| JobError::failed(e.to_string()))?;
            let mut runs = Vec::new();
            for (org, platform) in pairs {
                let Some(platform) = Platform::parse(&platform) else {
                    continue;
                };
                let scope = ctx.scope_for(OrgId(org));
                match self
                    .svc
                    .sync_platform(&scope, platform, "accelerated")
                    .await
                {
                    Ok(run) => runs.push(json!({
                        "org_id": org, "platform": platform.as_str(),
                        "until": run.until, "status": run.status, "rows": run.rows_upserted,
                    })),
                    Err(PlatformsError::Conflict(_) | PlatformsError::NotFound(_)) => {}
                    Err(e) => {
                        tracing::warn!(org = %org, platform = platform.as_str(), error = %e, "sandbox sync failed");
                        runs.push(json!({
                            "org_id": org, "platform": platform.as_str(), "error": e.to_string(),
                        }));
                    }
                }
            }
            let market_time = self
                .svc
                .market_clock()
                .now()
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            Ok(json!({ "market_time": market_time, "runs": runs }))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_sweeps_come_every_quarter_simulated_day_on_an_even_cron_period() {
        for (n, cron) in [
            (1, "*/2 * * * * *"),
            (8, "*/2 * * * * *"),
            (10, "*/2 * * * * *"),
            (30, "*/6 * * * * *"),
            (60, "*/15 * * * * *"),
            (100, "*/20 * * * * *"),
            (600, "0 */2 * * * *"),
            (3_600, "0 */15 * * * *"),
            (86_400, "0 0 */6 * * *"),
        ] {
            assert_eq!(sync_sandboxes_schedule(n), cron, "{n} s a day");
            kiki_store::CronSchedule::parse(SYNC_SANDBOXES_KIND, cron).expect("a valid cron");
        }
    }
}
