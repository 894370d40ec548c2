//! The twin service: the use cases behind the API and the jobs. It loads an
//! organisation's history and settings, calls the pure engines (CPU-bound
//! work on the blocking pool), and stores what they return together with
//! the audit entry and decision record, in one transaction per action.

use std::collections::BTreeSet;
use std::sync::Arc;

use kiki_core::{Clock, Currency, Cursor, FieldError, OrgId, Page, PageRequest, TenantScope};
use kiki_explain::Decisions;
use kiki_explain::NewDecision;
use kiki_identity::{Principal, RequestMeta};
use kiki_shield::AuditLog;
use kiki_shield::{Actor, AuditEvent};
use kiki_store::Db;
use kiki_store::schema::sqlite_timestamp;
use kiki_store::{EnqueueOptions, EventBus, Jobs, Tx};
use kiki_twin::{
    DailyPerformance, EstimationConfig, EstimationInput, GateConfig, GateDecision, Industry,
    LtvInput, MarketModel, Plan, Platform, RiskLevel, SimulationOptions, TwinConfig, TwinReport,
};
use sea_query::{Cond, Expr, ExprTrait, OnConflict, Order, Query, SelectStatement};
use serde_json::{Value, json};
use sqlx::types::Json;
use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

use crate::config::TwinServiceConfig;
use crate::error::{Result, TwinServiceError, prefixed};
use crate::ltv::LtvSource;
use crate::schema::{
    TwinDailyPerformance as P, TwinGateDecisions as G, TwinMarketModels as M, TwinSettings as S,
    TwinSimulations as Sim,
};
use crate::types::*;

mod performance;
mod settings;
mod simulations;

pub(crate) use settings::OrgSettings;
pub use simulations::MarketModelView;
pub(crate) use simulations::{SIM_COLUMNS, SimRow};

/// The engine name on decision records.
pub const ENGINE: &str = "kiki-twin";
/// The engine version on decision records.
pub const ENGINE_VERSION: &str = env!("CARGO_PKG_VERSION");
/// The job kind of a queued simulation.
pub const SIMULATE_KIND: &str = "twin.simulate";

/// The service object shared with handlers and jobs.
pub struct TwinService {
    pub(crate) db: Db,
    pub(crate) audit: AuditLog,
    pub(crate) decisions: Decisions,
    pub(crate) events: EventBus,
    pub(crate) jobs: Jobs,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) config: TwinServiceConfig,
    pub(crate) ltv: Arc<dyn LtvSource>,
}

impl std::fmt::Debug for TwinService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwinService")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What one evaluation produced.
pub(crate) struct Computation {
    pub model: MarketModel,
    pub report: TwinReport,
    pub gate: GateDecision,
}

/// Who acts, for audit entries and `created_by` / `approved_by` columns.
pub(crate) fn actor_text(actor: &Actor) -> String {
    match actor.id() {
        Some(id) => format!("{}:{id}", actor.kind()),
        None => actor.kind().to_owned(),
    }
}

/// The cursor of a row ordered by (time, id) descending.
pub(crate) fn cursor_of(at: OffsetDateTime, id: Uuid) -> String {
    Cursor(format!("{}|{}", sqlite_timestamp(at), id)).encode()
}

/// Adds the "after this cursor" condition of a (time desc, id desc) list.
pub(crate) fn apply_cursor<C: sea_query::IntoColumnRef + Copy>(
    stmt: &mut SelectStatement,
    page: &PageRequest,
    at_col: C,
    id_col: C,
) -> Result<()> {
    let cursor = page
        .cursor()
        .map_err(|f| TwinServiceError::Invalid(vec![f]))?;
    if let Some(c) = cursor {
        let parsed = c.0.split_once('|').and_then(|(t, id)| {
            Some((
                OffsetDateTime::parse(t, &Rfc3339).ok()?,
                id.parse::<Uuid>().ok()?,
            ))
        });
        let (t, id) = parsed.ok_or_else(|| {
            TwinServiceError::field("cursor", "The cursor is not one this API issued.")
        })?;
        stmt.cond_where(
            Cond::any().add(Expr::col(at_col).lt(t)).add(
                Cond::all()
                    .add(Expr::col(at_col).eq(t))
                    .add(Expr::col(id_col).lt(id)),
            ),
        );
    }
    Ok(())
}

/// An audit event stamped with the request.
pub(crate) fn audit_event(
    org: OrgId,
    actor: Actor,
    action: &str,
    meta: Option<&RequestMeta>,
) -> AuditEvent {
    let e = AuditEvent::new(Some(org), actor, action);
    match meta {
        Some(m) => e.context(m.ip, m.user_agent.clone(), m.request_id.clone()),
        None => e,
    }
}

/// Total work of a simulation: runs × plan lines × days, including the
/// stress scenarios (each as many runs again).
pub(crate) fn work_of(plan: &Plan, options: &SimulationOptions, stress: usize) -> u64 {
    u64::from(options.runs)
        .saturating_mul(plan.allocations.len() as u64)
        .saturating_mul(u64::from(plan.duration_days))
        .saturating_mul(1 + stress as u64)
}

impl TwinService {
    /// The service on the platform (database, audit log, decisions, events,
    /// jobs, clock) and the LTV source it is wired to.
    pub(crate) fn new(
        platform: &kiki_server::Platform,
        config: TwinServiceConfig,
        ltv: Arc<dyn LtvSource>,
    ) -> TwinService {
        TwinService {
            db: platform.db.clone(),
            audit: platform.audit.clone(),
            decisions: platform.decisions.clone(),
            events: platform.events.clone(),
            jobs: platform.jobs.clone(),
            clock: platform.clock.clone(),
            config,
            ltv,
        }
    }

    pub fn config(&self) -> &TwinServiceConfig {
        &self.config
    }

    pub(crate) fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    // ------------------------------------------------------------- simulation

    /// The estimation input for a plan: the org's history of the plan's
    /// platforms over `history_days`, LTV from the request, else the LTV
    /// service, else priors.
    pub(crate) async fn estimation_input(
        &self,
        org: OrgId,
        plan: &Plan,
        ltv: Vec<LtvInput>,
        industry: Industry,
    ) -> Result<EstimationInput> {
        let platforms: Vec<Platform> = plan
            .allocations
            .iter()
            .filter_map(|a| Platform::parse(&a.platform))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let today = self.now().date();
        let from = today - Duration::days(i64::from(self.config.history_days));
        let history = self
            .history(org, plan.currency, from, today, Some(&platforms))
            .await?;
        let ltv = if ltv.is_empty() {
            self.ltv.platform_ltv(org, plan.currency).await
        } else {
            ltv
        };
        Ok(EstimationInput {
            currency: plan.currency,
            industry,
            platforms: platforms.iter().map(|p| p.as_str().to_owned()).collect(),
            history,
            ltv,
            config: EstimationConfig::default(),
        })
    }

    /// Estimate, evaluate and gate: CPU-bound, on the blocking pool.
    pub(crate) async fn compute(
        &self,
        input: EstimationInput,
        plan: Plan,
        options: SimulationOptions,
        settings: OrgSettings,
    ) -> Result<Computation> {
        let gate_cfg = GateConfig {
            min_confidence: settings.min_confidence,
            fee_rate_bps: self.config.fee_rate_bps,
        };
        tokio::task::spawn_blocking(move || -> Result<Computation> {
            let model =
                kiki_twin::estimate(&input).map_err(|e| TwinServiceError::from_twin("", e))?;
            let report = kiki_twin::evaluate(&plan, &model, &options, &TwinConfig::default())
                .map_err(|e| TwinServiceError::from_twin("", e))?;
            let gate = kiki_twin::decide(&report, &gate_cfg)
                .map_err(|e| TwinServiceError::from_twin("settings", e))?;
            Ok(Computation {
                model,
                report,
                gate,
            })
        })
        .await
        .map_err(|e| TwinServiceError::Internal(format!("simulation task failed: {e}")))?
    }

    /// `POST /v1/simulations`. Returns the view and whether it was queued.
    pub async fn create_simulation(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        req: SimulationRequest,
    ) -> Result<(SimulationView, bool)> {
        let mut errors = prefixed("plan", req.plan.validate());
        errors.extend(prefixed("options", req.options.validate()));
        // Checked here too, so a queued simulation is refused now rather
        // than failing in its job.
        errors.extend(kiki_twin::validate_ltv_inputs(&req.ltv));
        if !errors.is_empty() {
            return Err(TwinServiceError::Invalid(errors));
        }
        let org = p.scope.org_id();
        let actor = p.actor();
        let settings = self.org_settings(org).await?;
        let id = Uuid::now_v7();
        let now = self.now();
        let queued = work_of(&req.plan, &req.options, 0) > self.config.max_sync_work;
        let insert = Query::insert()
            .into_table(Sim::Table)
            .columns([
                Sim::Id,
                Sim::OrgId,
                Sim::Status,
                Sim::Plan,
                Sim::Options,
                Sim::CreatedBy,
                Sim::CreatedAt,
                Sim::UpdatedAt,
            ])
            .values_panic([
                id.into(),
                org.0.into(),
                SimulationStatus::Pending.as_str().into(),
                json_of(&req.plan)?.into(),
                json_of(&req.options)?.into(),
                actor_text(&actor).into(),
                now.into(),
                now.into(),
            ])
            .to_owned();
        if queued {
            let mut tx = self.db.begin().await?;
            tx.execute(&insert).await?;
            let job = self
                .jobs
                .enqueue_tx(
                    &mut tx,
                    Some(org),
                    SIMULATE_KIND,
                    json!({ "simulation_id": id, "ltv": req.ltv }),
                    EnqueueOptions::default(),
                )
                .await?;
            let set_job = Query::update()
                .table(Sim::Table)
                .value(Sim::JobId, job.0)
                .and_where(Expr::col(Sim::Id).eq(id))
                .to_owned();
            tx.execute(&set_job).await?;
            self.audit
                .append(
                    &mut tx,
                    audit_event(org, actor, "twin.simulation.queued", Some(meta))
                        .target("simulation", id)
                        .details(json!({ "job_id": job.0, "runs": req.options.runs })),
                )
                .await?;
            tx.commit().await?;
        } else {
            let input = self
                .estimation_input(org, &req.plan, req.ltv, settings.industry)
                .await?;
            let c = self
                .compute(input, req.plan.clone(), req.options.clone(), settings)
                .await?;
            let mut tx = self.db.begin().await?;
            tx.execute(&insert).await?;
            self.store_outcome(&mut tx, org, id, &req.plan, &c, actor, Some(meta))
                .await?;
            tx.commit().await?;
        }
        let view = self
            .get_simulation(&p.scope, id)
            .await?
            .ok_or(TwinServiceError::NotFound("simulation"))?;
        Ok((view, queued))
    }

    /// Stores a finished evaluation on a pending simulation row: the model,
    /// the report, the gate's verdict, its audit entry and decision record.
    /// Returns false (and writes nothing) when the row is no longer pending.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn store_outcome(
        &self,
        tx: &mut Tx<'_>,
        org: OrgId,
        id: Uuid,
        plan: &Plan,
        c: &Computation,
        actor: Actor,
        meta: Option<&RequestMeta>,
    ) -> Result<bool> {
        let now = self.now();
        let model_id = Uuid::now_v7();
        let windows: Vec<_> = c.model.platforms.iter().filter_map(|m| m.window).collect();
        let first = windows.iter().map(|w| w.first_day).min();
        let last = windows.iter().map(|w| w.last_day).max();
        let days: u32 = c
            .model
            .platforms
            .iter()
            .filter(|m| m.ad_set_id.is_none())
            .filter_map(|m| m.window.map(|w| w.days))
            .max()
            .unwrap_or(0);
        let insert_model = Query::insert()
            .into_table(M::Table)
            .columns([
                M::Id,
                M::OrgId,
                M::Currency,
                M::Industry,
                M::FirstDay,
                M::LastDay,
                M::HistoryDays,
                M::Model,
                M::CreatedAt,
            ])
            .values_panic([
                model_id.into(),
                org.0.into(),
                c.model.currency.as_str().into(),
                json_of(&c.model.industry)?
                    .as_str()
                    .unwrap_or("general")
                    .to_owned()
                    .into(),
                first.map(day_text).into(),
                last.map(day_text).into(),
                i64::from(days).into(),
                json_of(&c.model)?.into(),
                now.into(),
            ])
            .to_owned();
        let approved = c.gate.approved;
        let start_day = plan.start_date.unwrap_or(now.date());
        let risk = json_of(&c.report.risk_level)?
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let update = Query::update()
            .table(Sim::Table)
            .value(Sim::Status, SimulationStatus::Done.as_str())
            .value(Sim::ModelId, model_id)
            .value(Sim::Report, json_of(&c.report)?)
            .value(Sim::Gate, json_of(&c.gate)?)
            .value(Sim::Confidence, c.report.result.confidence)
            .value(Sim::RiskLevel, risk.as_str())
            .value(Sim::Approved, approved)
            .value(Sim::ApprovedBy, "engine")
            .value(Sim::ApprovedAt, now)
            .value(Sim::StartDay, day_text(start_day))
            .value(Sim::UpdatedAt, now)
            .and_where(Expr::col(Sim::Id).eq(id))
            .and_where(Expr::col(Sim::OrgId).eq(org.0))
            .and_where(Expr::col(Sim::Status).eq(SimulationStatus::Pending.as_str()))
            .to_owned();
        if tx.execute(&update).await? == 0 {
            return Ok(false);
        }
        tx.execute(&insert_model).await?;
        self.insert_gate_decision(
            tx,
            org,
            id,
            approved,
            &c.gate.reason,
            "engine",
            None,
            Some(c.report.result.confidence),
        )
        .await?;
        let entry = self
            .audit
            .append(
                tx,
                audit_event(org, actor, "twin.simulation.gated", meta)
                    .target("simulation", id)
                    .details(json!({
                        "approved": approved,
                        "confidence": c.report.result.confidence,
                        "min_confidence": c.gate.inputs.min_confidence,
                        "risk_level": risk,
                        "model_id": model_id,
                    })),
            )
            .await?;
        self.decisions
            .record(
                tx,
                NewDecision {
                    org_id: Some(org),
                    engine: ENGINE.into(),
                    engine_version: ENGINE_VERSION.into(),
                    kind: "launch_gate".into(),
                    subject_kind: "simulation".into(),
                    subject_id: id.to_string(),
                    inputs: json!({
                        "plan": plan,
                        "model_id": model_id,
                        "gate": c.gate.inputs,
                    }),
                    output: json!({ "approved": approved, "fee": c.gate.fee }),
                    confidence: Some(c.report.result.confidence.clamp(0.0, 1.0)),
                    explanation: c.gate.reason.clone(),
                    audit_entry_id: Some(entry.id),
                },
            )
            .await?;
        Ok(true)
    }

    #[allow(clippy::too_many_arguments)]
    async fn insert_gate_decision(
        &self,
        tx: &mut Tx<'_>,
        org: OrgId,
        simulation: Uuid,
        approved: bool,
        reason: &str,
        kind: &str,
        by: Option<String>,
        confidence: Option<f64>,
    ) -> Result<()> {
        let stmt = Query::insert()
            .into_table(G::Table)
            .columns([
                G::Id,
                G::OrgId,
                G::SimulationId,
                G::Approved,
                G::Reason,
                G::DecidedByKind,
                G::DecidedBy,
                G::Confidence,
                G::CreatedAt,
            ])
            .values_panic([
                Uuid::now_v7().into(),
                org.0.into(),
                simulation.into(),
                approved.into(),
                reason.into(),
                kind.into(),
                by.into(),
                confidence.into(),
                self.now().into(),
            ])
            .to_owned();
        tx.execute(&stmt).await?;
        Ok(())
    }

    /// Marks a pending simulation failed (a queued job whose input the
    /// engine refused).
    pub(crate) async fn fail_simulation(&self, org: OrgId, id: Uuid, error: &str) -> Result<()> {
        let stmt = Query::update()
            .table(Sim::Table)
            .value(Sim::Status, SimulationStatus::Failed.as_str())
            .value(Sim::Error, error)
            .value(Sim::UpdatedAt, self.now())
            .and_where(Expr::col(Sim::Id).eq(id))
            .and_where(Expr::col(Sim::OrgId).eq(org.0))
            .and_where(Expr::col(Sim::Status).eq(SimulationStatus::Pending.as_str()))
            .to_owned();
        self.db.execute(&stmt).await?;
        Ok(())
    }
    /// `POST /v1/simulations/{id}/decision`: a person approves or rejects
    /// the launch, overriding (or confirming) the gate.
    pub async fn override_decision(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        id: Uuid,
        req: DecisionRequest,
    ) -> Result<SimulationView> {
        let reason = req.reason.as_deref().map(str::trim).unwrap_or_default();
        if reason.is_empty() {
            return Err(TwinServiceError::field(
                "reason",
                "Say why the gate's verdict is overridden.",
            ));
        }
        if reason.chars().count() > 2000 {
            return Err(TwinServiceError::field(
                "reason",
                "The reason must be at most 2000 characters.",
            ));
        }
        let org = p.scope.org_id();
        let row = self
            .sim_row(Some(org), id)
            .await?
            .ok_or(TwinServiceError::NotFound("simulation"))?;
        if row.status != SimulationStatus::Done.as_str() {
            return Err(TwinServiceError::Conflict(format!(
                "The simulation is {}; only a finished simulation can be approved or rejected.",
                row.status
            )));
        }
        let approved = req.decision == Verdict::Approve;
        let engine_verdict: Option<bool> = row
            .gate
            .as_ref()
            .and_then(|g| g.0.get("approved"))
            .and_then(Value::as_bool);
        let plan = row.plan()?;
        let now = self.now();
        let actor = p.actor();
        let by = actor_text(&actor);
        let mut update = Query::update()
            .table(Sim::Table)
            .value(Sim::Approved, approved)
            .value(Sim::ApprovedBy, by.as_str())
            .value(Sim::ApprovedAt, now)
            .value(Sim::UpdatedAt, now)
            .and_where(Expr::col(Sim::Id).eq(id))
            .and_where(Expr::col(Sim::OrgId).eq(org.0))
            .to_owned();
        if approved && plan.start_date.is_none() {
            update.value(Sim::StartDay, day_text(now.date()));
        }
        let verb = if approved { "approved" } else { "rejected" };
        let agrees = engine_verdict == Some(approved);
        let explanation = format!(
            "A person {verb} the launch{}: {reason}",
            if agrees {
                ", in line with the gate"
            } else {
                ", overriding the gate's verdict"
            }
        );
        let mut tx = self.db.begin().await?;
        tx.execute(&update).await?;
        self.insert_gate_decision(
            &mut tx,
            org,
            id,
            approved,
            reason,
            "user",
            Some(by.clone()),
            row.confidence,
        )
        .await?;
        let entry = self
            .audit
            .append(
                &mut tx,
                audit_event(org, actor, "twin.simulation.overridden", Some(meta))
                    .target("simulation", id)
                    .details(json!({
                        "approved": approved,
                        "engine_approved": engine_verdict,
                        "reason": reason,
                    })),
            )
            .await?;
        self.decisions
            .record(
                &mut tx,
                NewDecision {
                    org_id: Some(org),
                    engine: ENGINE.into(),
                    engine_version: ENGINE_VERSION.into(),
                    kind: "launch_gate_override".into(),
                    subject_kind: "simulation".into(),
                    subject_id: id.to_string(),
                    inputs: json!({
                        "engine_approved": engine_verdict,
                        "confidence": row.confidence,
                        "decided_by": by,
                        "reason": reason,
                    }),
                    output: json!({ "approved": approved }),
                    confidence: row.confidence.map(|c| c.clamp(0.0, 1.0)),
                    explanation,
                    audit_entry_id: Some(entry.id),
                },
            )
            .await?;
        tx.commit().await?;
        self.get_simulation(&p.scope, id)
            .await?
            .ok_or(TwinServiceError::NotFound("simulation"))
    }

    /// Publishes an event; a failure is logged, never returned: the action
    /// it reports has committed, and its record is in the database.
    pub(crate) async fn publish<E: kiki_store::Event>(&self, org: OrgId, payload: &E) {
        if let Err(err) = self.events.emit(Some(org), payload, self.now()).await {
            tracing::warn!(event.kind = E::KIND, error = %err, "publishing a twin event failed");
        }
    }
}

pub(crate) fn json_of<T: serde::Serialize>(v: &T) -> Result<Value> {
    serde_json::to_value(v).map_err(|e| TwinServiceError::Internal(format!("encoding json: {e}")))
}

impl From<serde_json::Error> for TwinServiceError {
    fn from(e: serde_json::Error) -> Self {
        TwinServiceError::Internal(format!("json: {e}"))
    }
}
