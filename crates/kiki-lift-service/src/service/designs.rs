//! Designs before spend as jobs: a request is checked against the latest
//! KPI panel, stored `queued` with its `lift.design` job in one
//! transaction; the job runs the engine on the blocking pool, reporting
//! progress, and stores the report with its audit entry, decision record
//! and event.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use kiki_core::{JobId, Page, PageRequest, TenantScope};
use kiki_explain::NewDecision;
use kiki_identity::{Principal, RequestMeta};
use kiki_shield::Actor;
use kiki_store::EnqueueOptions;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sqlx::types::Json;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{LiftService, actor_text, audit_event};
use crate::domain::{DesignMode, DesignRequest, ENGINE_VERSION, LiftMethod, run_design};
use crate::error::{LiftServiceError, Result};
use crate::events::DesignCompleted;
use crate::store::{self, DesignRow, Key};

/// The job kind of a design.
pub const DESIGN_JOB_KIND: &str = "lift.design";

/// The payload of a `lift.design` job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DesignPayload {
    pub design_id: Uuid,
    pub actor: Actor,
    pub request_id: Option<String>,
}

/// The latest progress of a running design (latest wins).
pub type ProgressSlot = Arc<Mutex<Option<f64>>>;

/// A queued design.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DesignAccepted {
    pub design_id: Uuid,
    pub job_id: Uuid,
    /// Poll this for status and progress.
    pub location: String,
}

/// A stored design.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DesignView {
    pub id: Uuid,
    pub experiment_id: Uuid,
    /// The panel it runs on.
    pub panel_id: Uuid,
    pub mode: DesignMode,
    /// `queued`, `completed` or `failed`.
    pub status: String,
    pub request: DesignRequest,
    /// The engine's report: for `select_markets` the ranked candidates with
    /// power per effect, MDE, placebo false-positive rate and the verdict;
    /// for `power` the group's evaluation.
    #[schema(value_type = Option<Object>)]
    pub report: Option<Value>,
    /// Why it failed.
    pub error: Option<String>,
    pub job_id: Option<Uuid>,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
}

impl TryFrom<DesignRow> for DesignView {
    type Error = LiftServiceError;

    fn try_from(r: DesignRow) -> Result<DesignView> {
        let request: DesignRequest = serde_json::from_value(r.request.0)?;
        Ok(DesignView {
            mode: request.mode(),
            request,
            id: r.id,
            experiment_id: r.experiment_id,
            panel_id: r.panel_id,
            status: r.status,
            report: r.report.map(|j| j.0),
            error: r.error,
            job_id: r.job_id,
            created_by: r.created_by,
            created_at: r.created_at,
            completed_at: r.completed_at,
        })
    }
}

/// Whether a report recommends a design (market selection) or passes
/// (power).
fn accepted(report: &Value) -> bool {
    report["verdict"]["status"] == "accepted"
}

impl LiftService {
    /// Checks a design request against the latest panel and queues it.
    pub async fn request_design(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        id: Uuid,
        req: DesignRequest,
    ) -> Result<DesignAccepted> {
        let org = p.scope.org_id();
        let row = self.row(org, id).await?;
        if let LiftMethod::Holdout(_) = row.plan()?.method {
            return Err(LiftServiceError::Conflict(
                "Designs choose markets and test lengths on a daily KPI panel; a holdout has neither.".into(),
            ));
        }
        let panel_row = store::latest_panel(&self.db, org, id)
            .await?
            .ok_or_else(|| {
                LiftServiceError::Conflict("Upload the KPI panel before designing on it.".into())
            })?;
        req.spec(&panel_row.panel()?)
            .map_err(LiftServiceError::Invalid)?;
        let actor = p.actor();
        let design_id = Uuid::now_v7();
        let payload = DesignPayload {
            design_id,
            actor: actor.clone(),
            request_id: meta.request_id.clone(),
        };
        let mut tx = self.record.begin().await?;
        let job = self
            .jobs
            .enqueue_tx(
                &mut tx,
                Some(org),
                DESIGN_JOB_KIND,
                serde_json::to_value(&payload)?,
                EnqueueOptions {
                    max_attempts: Some(2),
                    timeout_secs: Some(self.config.design_timeout_secs),
                    ..EnqueueOptions::default()
                },
            )
            .await?;
        let row = DesignRow {
            id: design_id,
            org_id: org.0,
            experiment_id: id,
            panel_id: panel_row.id,
            request: Json(serde_json::to_value(&req)?),
            status: "queued".into(),
            report: None,
            error: None,
            job_id: Some(job.0),
            created_by: actor_text(&actor),
            created_at: self.clock.now(),
            completed_at: None,
        };
        store::insert_design(&mut tx, &row).await?;
        tx.audit(
            audit_event(org, actor, "lift.design.requested", Some(meta))
                .target("lift_experiment", id)
                .details(
                    json!({"design_id": design_id, "job_id": job.0, "mode": req.mode().as_str()}),
                ),
        )
        .await?;
        tx.commit().await?;
        Ok(DesignAccepted {
            design_id,
            job_id: job.0,
            location: format!("/v1/jobs/{}", job.0),
        })
    }

    /// Runs a queued design (the `lift.design` job): the engine on the
    /// blocking pool, progress into `progress`, stopped when `cancel` is
    /// set; stores the report (or the engine's refusal) with its audit
    /// entry and decision record.
    pub async fn run_design(
        &self,
        scope: &TenantScope,
        payload: &DesignPayload,
        progress: ProgressSlot,
        cancel: Arc<AtomicBool>,
    ) -> Result<DesignView> {
        let org = scope.org_id();
        let row = store::get_design(&self.db, org, payload.design_id)
            .await?
            .ok_or(LiftServiceError::NotFound("The design"))?;
        if row.status != "queued" {
            return DesignView::try_from(row);
        }
        let request: DesignRequest = serde_json::from_value(row.request.0.clone())?;
        let panel = store::get_panel(&self.db, org, row.experiment_id, row.panel_id)
            .await?
            .ok_or(LiftServiceError::NotFound("The KPI panel"))?
            .panel()?;
        let spec = request.spec(&panel).map_err(LiftServiceError::Invalid)?;
        let run_request = request.clone();
        let run_spec = spec.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            let mut report = |f: f64| {
                if let Ok(mut g) = progress.lock() {
                    *g = Some(f);
                }
            };
            let stop = || cancel.load(Ordering::Relaxed);
            run_design(&panel, &run_request, &run_spec, &mut report, &stop)
        })
        .await
        .map_err(|e| LiftServiceError::Internal(format!("the design task stopped: {e}")))?;
        let outcome = match outcome {
            Ok(report) => Ok(report),
            Err(kiki_lift::LiftError::Cancelled) => {
                return Err(LiftServiceError::Engine(kiki_lift::LiftError::Cancelled));
            }
            Err(e) => Err(e.to_string()),
        };
        let now = self.clock.now();
        let mode = request.mode();
        let mut tx = self.record.begin().await?;
        let finished = store::finish_design(&mut tx, org, row.id, outcome.clone(), now).await?;
        if finished {
            let entry = tx
                .audit(
                    audit_event(org, payload.actor.clone(), "lift.design.completed", None)
                        .target("lift_experiment", row.experiment_id)
                        .details(json!({
                            "design_id": row.id,
                            "mode": mode.as_str(),
                            "failed": outcome.is_err(),
                        }))
                        .context(None, None, payload.request_id.clone()),
                )
                .await?;
            let (output, explanation, ok) = match &outcome {
                Ok(report) => (
                    json!({"verdict": report["verdict"], "summary": report["summary"]}),
                    report["summary"]
                        .as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| {
                            format!(
                                "Power of {} over {} simulated tests per effect: {}.",
                                request.treated.as_deref().unwrap_or_default().join(", "),
                                request.simulations,
                                if accepted(report) {
                                    "accepted"
                                } else {
                                    "refused"
                                }
                            )
                        }),
                    accepted(report),
                ),
                Err(e) => (
                    json!({"error": e}),
                    format!("The design could not be computed: {e}"),
                    false,
                ),
            };
            tx.decision(NewDecision {
                org_id: Some(org),
                engine: "kiki-lift".into(),
                engine_version: ENGINE_VERSION.into(),
                kind: "lift_design".into(),
                subject_kind: "lift_experiment".into(),
                subject_id: row.experiment_id.to_string(),
                inputs: json!({"design_id": row.id, "panel_id": row.panel_id, "request": row.request.0}),
                output,
                confidence: None,
                explanation,
                audit_entry_id: Some(entry.id),
            })
            .await?;
            tx.publish(
                Some(org),
                &DesignCompleted {
                    experiment_id: row.experiment_id,
                    design_id: row.id,
                    mode: mode.as_str().into(),
                    accepted: ok,
                },
            );
        }
        tx.commit().await?;
        let row = store::get_design(&self.db, org, payload.design_id)
            .await?
            .ok_or(LiftServiceError::NotFound("The design"))?;
        DesignView::try_from(row)
    }

    /// An experiment's designs, newest first.
    pub async fn designs(
        &self,
        scope: &TenantScope,
        id: Uuid,
        page: &PageRequest,
    ) -> Result<Page<DesignView>> {
        let org = scope.org_id();
        self.row(org, id).await?;
        let key: Option<Key> = page
            .after()
            .map_err(|e| LiftServiceError::Invalid(vec![e]))?;
        let rows = store::list_designs(&self.db, org, id, page.fetch(), key).await?;
        let views = rows
            .into_iter()
            .map(DesignView::try_from)
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::keyset(views, page.limit(), |v| (v.created_at, v.id)))
    }

    /// The job id of a queued design (tests and the CLI wait on it).
    pub fn job_of(view: &DesignView) -> Option<JobId> {
        view.job_id.map(JobId)
    }
}
