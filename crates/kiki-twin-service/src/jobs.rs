//! Job handlers: `twin.simulate` (a simulation too big for the request),
//! `twin.mirror` (daily) and `twin.rebalance` (every five minutes). Each is
//! idempotent per period: the simulation only completes a pending row, the
//! mirror stores one report per simulation and day, the rebalancer claims
//! (org, period) in the transaction that applies the shifts.

use std::sync::Arc;

use futures::future::BoxFuture;
use kiki_core::OrgId;
use kiki_shield::Actor;
use kiki_store::{JobContext, JobError, JobHandler};
use kiki_twin::LtvInput;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::domain::SimulationStatus;
use crate::error::TwinServiceError;
use crate::service::mirror::MIRROR_KIND;
use crate::service::rebalancing::REBALANCE_KIND;
use crate::service::{SIMULATE_KIND, TwinService};

fn job_error(e: TwinServiceError) -> JobError {
    match e {
        TwinServiceError::Invalid(_)
        | TwinServiceError::Unprocessable(_)
        | TwinServiceError::NotFound(_)
        | TwinServiceError::Conflict(_) => JobError::permanent(e.to_string()),
        other => JobError::failed(other.to_string()),
    }
}

fn encode(v: impl serde::Serialize) -> Result<Value, JobError> {
    serde_json::to_value(v).map_err(|e| JobError::permanent(format!("encoding the result: {e}")))
}

/// The period a scheduled run is for: `scheduled_for` in the payload (the
/// scheduler's period start), else now.
fn period_of(ctx: &JobContext) -> OffsetDateTime {
    ctx.payload
        .get("scheduled_for")
        .and_then(Value::as_str)
        .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
        .unwrap_or_else(|| ctx.now())
}

#[derive(Debug, Deserialize)]
struct SimulatePayload {
    simulation_id: Uuid,
    /// `LtvInput`s, in either stored shape (read with the plan's currency).
    #[serde(default)]
    ltv: Vec<Value>,
    /// Where the plan's baseline came from, in words (resolved when the
    /// simulation was queued).
    #[serde(default)]
    baseline_source: Option<String>,
}

/// Runs a queued simulation and stores its outcome on the pending row.
pub struct SimulateJob(pub Arc<TwinService>);

impl JobHandler for SimulateJob {
    fn kind(&self) -> &'static str {
        SIMULATE_KIND
    }

    fn run<'a>(&'a self, ctx: JobContext) -> BoxFuture<'a, Result<Value, JobError>> {
        Box::pin(async move {
            let svc = &self.0;
            let payload: SimulatePayload = ctx.payload_as()?;
            let org: OrgId = ctx
                .org_id
                .ok_or_else(|| JobError::permanent("A simulation job needs an organisation."))?;
            let id = payload.simulation_id;
            let row = svc
                .sim_row(Some(org), id)
                .await
                .map_err(job_error)?
                .ok_or_else(|| JobError::permanent(format!("Simulation {id} does not exist.")))?;
            if row.status != SimulationStatus::Pending.as_str() {
                return Ok(json!({ "simulation_id": id, "status": row.status }));
            }
            ctx.progress(0.05, "estimating the market model").await;
            let plan = row.plan().map_err(job_error)?;
            let options = row.options().map_err(job_error)?;
            let ltv: Vec<LtvInput> =
                kiki_twin::stored::read(Value::Array(payload.ltv), plan.currency).map_err(|e| {
                    JobError::permanent(format!("The queued LTV inputs are unreadable: {e}"))
                })?;
            let settings = svc.org_settings(org).await.map_err(job_error)?;
            let run = svc
                .run_inputs(
                    &ctx.scope_for(org),
                    &plan,
                    options,
                    ltv,
                    settings.industry,
                    payload.baseline_source,
                )
                .await
                .map_err(job_error)?;
            ctx.progress(0.1, "simulating").await;
            let c = match svc.compute(run, plan.clone(), settings).await {
                Ok(c) => c,
                Err(e @ (TwinServiceError::Invalid(_) | TwinServiceError::Unprocessable(_))) => {
                    let msg = match &e {
                        TwinServiceError::Invalid(f) => f
                            .iter()
                            .map(|f| format!("{}: {}", f.field, f.message))
                            .collect::<Vec<_>>()
                            .join("; "),
                        other => other.to_string(),
                    };
                    svc.fail_simulation(org, id, &msg)
                        .await
                        .map_err(job_error)?;
                    return Ok(json!({ "simulation_id": id, "status": "failed", "error": msg }));
                }
                Err(e) => return Err(job_error(e)),
            };
            let mut tx = svc.record.begin().await.map_err(|e| job_error(e.into()))?;
            let stored = svc
                .store_outcome(
                    &mut tx,
                    org,
                    id,
                    &plan,
                    &c,
                    Actor::System(SIMULATE_KIND.into()),
                    None,
                )
                .await
                .map_err(job_error)?;
            tx.commit().await.map_err(|e| job_error(e.into()))?;
            Ok(json!({
                "simulation_id": id,
                "status": "done",
                "stored": stored,
                "approved": c.gate.approved,
                "confidence": c.report.result.confidence,
            }))
        })
    }
}

/// The daily mirror of launched simulations.
pub struct MirrorJob(pub Arc<TwinService>);

impl JobHandler for MirrorJob {
    fn kind(&self) -> &'static str {
        MIRROR_KIND
    }

    fn run<'a>(&'a self, ctx: JobContext) -> BoxFuture<'a, Result<Value, JobError>> {
        Box::pin(async move {
            let today = period_of(&ctx).date();
            let out = self.0.mirror_all(today).await.map_err(job_error)?;
            encode(json!({ "day": crate::domain::day_text(today), "simulations": out }))
        })
    }
}

/// The five-minute rebalancer over every organisation with budgets.
pub struct RebalanceJob(pub Arc<TwinService>);

impl JobHandler for RebalanceJob {
    fn kind(&self) -> &'static str {
        REBALANCE_KIND
    }

    fn run<'a>(&'a self, ctx: JobContext) -> BoxFuture<'a, Result<Value, JobError>> {
        Box::pin(async move {
            let period = period_of(&ctx);
            let out = self
                .0
                .rebalance_all(period, |org| ctx.scope_for(org))
                .await
                .map_err(job_error)?;
            encode(json!({ "organisations": out }))
        })
    }
}
