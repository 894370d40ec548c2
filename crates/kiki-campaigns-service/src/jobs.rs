//! Job handlers: `campaigns.sync_channels` (one campaign's channels, enqueued
//! with every status move and budget change) and `campaigns.apply_shifts`
//! (the rebalancer's shifts on ad sets, every five minutes). Both are
//! idempotent: the sync compares what runs with what should, and a shift is
//! applied once.

use std::sync::Arc;

use futures::future::BoxFuture;
use kiki_store::{JobContext, JobError, JobHandler};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::error::CampaignsError;
use crate::service::CampaignsService;
use crate::service::channels::SYNC_KIND;
use crate::service::shifts::SHIFTS_KIND;
use crate::store;

/// `campaigns.sync_channels`: the sync of one campaign, in the scope of the
/// organisation it was enqueued for.
pub struct SyncChannelsJob(pub Arc<CampaignsService>);

#[derive(serde::Deserialize)]
struct SyncPayload {
    campaign_id: Uuid,
}

impl JobHandler for SyncChannelsJob {
    fn kind(&self) -> &'static str {
        SYNC_KIND
    }

    fn run<'a>(&'a self, ctx: JobContext) -> BoxFuture<'a, Result<Value, JobError>> {
        Box::pin(async move {
            let p: SyncPayload = ctx.payload_as()?;
            let scope = ctx
                .scope()
                .ok_or_else(|| JobError::permanent("The channel sync needs an organisation."))?;
            match self.0.sync_channels(&scope, p.campaign_id).await {
                Ok(report) => serde_json::to_value(report)
                    .map_err(|e| JobError::permanent(format!("encoding the report: {e}"))),
                Err(CampaignsError::NotFound(_)) => {
                    Ok(json!({ "campaign_id": p.campaign_id, "gone": true }))
                }
                Err(e) => Err(JobError::failed(e.to_string())),
            }
        })
    }
}

/// `campaigns.apply_shifts`: the sweep over organisations with live campaigns.
pub struct ApplyShiftsJob(pub Arc<CampaignsService>);

impl JobHandler for ApplyShiftsJob {
    fn kind(&self) -> &'static str {
        SHIFTS_KIND
    }

    fn run<'a>(&'a self, ctx: JobContext) -> BoxFuture<'a, Result<Value, JobError>> {
        Box::pin(async move {
            let orgs = store::budget_moves::orgs_with_live_campaigns(&self.0.db)
                .await
                .map_err(|e| JobError::failed(e.to_string()))?;
            let mut applied = Vec::new();
            for org in orgs {
                let scope = ctx.scope_for(org);
                match self.0.apply_shifts(&scope).await {
                    Ok(a) => applied.extend(a),
                    Err(e @ CampaignsError::Conflict(_)) => {
                        // A campaign changed meanwhile: the next run applies it.
                        tracing::info!(org = %org.0, error = %e, "budget shift deferred");
                    }
                    Err(e) => return Err(JobError::failed(e.to_string())),
                }
            }
            serde_json::to_value(applied)
                .map_err(|e| JobError::permanent(format!("encoding the result: {e}")))
        })
    }
}
