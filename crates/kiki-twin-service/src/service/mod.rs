//! The twin service: the use cases behind the API and the jobs. It loads an
//! organisation's history and settings, calls the pure engines (CPU-bound
//! work on the blocking pool), and stores what they return together with
//! the audit entry and decision record, in one transaction per action.

use std::collections::BTreeSet;
use std::sync::Arc;

use kiki_core::{Clock, Currency, FieldError, OrgId, Page, PageRequest, TenantScope};
use kiki_explain::{Change, NewDecision, Recorder};
use kiki_identity::{Principal, RequestMeta};
use kiki_shield::{Actor, AuditEvent};
use kiki_store::Db;
use kiki_store::{EnqueueOptions, Jobs, Tx};
use kiki_twin::{
    DailyPerformance, EstimationConfig, EstimationInput, GateConfig, GateDecision, Industry,
    LtvInput, Margin, MarketModel, Plan, Platform, RiskLevel, SimulationOptions, TwinConfig,
    TwinReport, ValueBasis,
};
use serde_json::{Value, json};
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

use crate::config::TwinServiceConfig;
use crate::domain::*;
use crate::error::{Result, TwinServiceError, prefixed};
use crate::store::{self, Key};

mod allocations;
pub mod baselines;
mod campaign_budgets;
pub mod ltv;
pub mod mirror;
mod performance;
pub mod rebalancing;
mod settings;
mod simulations;

use ltv::LtvSource;
pub(crate) use settings::OrgSettings;
pub use simulations::MarketModelView;

/// The engine name on decision records.
pub const ENGINE: &str = "kiki-twin";
/// The engine version on decision records.
pub const ENGINE_VERSION: &str = env!("CARGO_PKG_VERSION");
/// The job kind of a queued simulation.
pub const SIMULATE_KIND: &str = "twin.simulate";

/// The service object shared with handlers and jobs.
pub struct TwinService {
    pub(crate) db: Db,
    /// Writes each change with its audit entry and decision record.
    pub(crate) record: Recorder,
    pub(crate) jobs: Jobs,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) config: TwinServiceConfig,
    pub(crate) ltv: Arc<dyn LtvSource>,
    /// The organisations: how each counts profit (contribution margin,
    /// profit basis).
    pub(crate) identity: kiki_identity::Identity,
}

impl std::fmt::Debug for TwinService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwinService")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What a simulation rests on besides the plan: the estimation input, the
/// options with the value basis resolved, the margin profit is counted at,
/// and where the value of a customer and the baseline came from.
pub(crate) struct RunInputs {
    pub input: EstimationInput,
    pub options: SimulationOptions,
    pub margin: Margin,
    pub value_source: String,
    pub baseline_source: Option<String>,
}

/// What one evaluation produced.
pub(crate) struct Computation {
    pub model: MarketModel,
    pub report: TwinReport,
    pub gate: GateDecision,
    /// The options as run: the value basis resolved.
    pub options: SimulationOptions,
}

/// Who acts, for audit entries and `created_by` / `approved_by` columns.
pub(crate) fn actor_text(actor: &Actor) -> String {
    match actor.id() {
        Some(id) => format!("{}:{id}", actor.kind()),
        None => actor.kind().to_owned(),
    }
}

/// The key a page starts after, from the request's cursor (a (time desc,
/// id desc) list).
pub(crate) fn key_of(page: &PageRequest) -> Result<Option<Key>> {
    page.after().map_err(|f| TwinServiceError::Invalid(vec![f]))
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
        identity: kiki_identity::Identity,
    ) -> TwinService {
        TwinService {
            db: platform.db.clone(),
            record: platform.recorder(),
            jobs: platform.jobs.clone(),
            clock: platform.clock.clone(),
            config,
            ltv,
            identity,
        }
    }

    /// The contribution margin the organisation counts profit at: its
    /// configured margin, 100 % under a revenue contract, or 100 % "not
    /// configured" (the figures say so). Product costs from a commerce
    /// integration will take precedence here once they exist.
    pub async fn margin(&self, scope: &TenantScope) -> Result<Margin> {
        let org = self
            .identity
            .organisation(scope, scope.org_id())
            .await
            .map_err(|e| TwinServiceError::Internal(format!("reading the organisation: {e}")))?;
        Ok(match org.profit_basis {
            kiki_identity::ProfitBasis::Revenue => Margin::revenue_contract(),
            kiki_identity::ProfitBasis::ContributionMargin => match org.contribution_margin_bps {
                Some(bps) => Margin::configured_bps(bps),
                None => Margin::not_configured(),
            },
        })
    }

    /// Fills a plan's left-out baseline (`organic_revenue`) from the
    /// organisation's recorded performance history: the mean revenue of a
    /// recorded day over `history_days`, times the plan's days. Without
    /// history the plan keeps it left out, and validation names the field.
    /// Returns where the baseline came from, in words.
    pub(crate) async fn resolve_baseline(
        &self,
        scope: &TenantScope,
        plan: &mut Plan,
    ) -> Result<Option<String>> {
        if let Some(given) = plan.organic_revenue {
            return Ok(Some(format!(
                "baseline revenue {} as given with the plan",
                given.text()
            )));
        }
        let today = self.now().date();
        let from = today - Duration::days(i64::from(self.config.history_days));
        let history = self
            .history(scope.org_id(), plan.currency, from, today, None)
            .await?;
        let days: BTreeSet<Date> = history.iter().map(|r| r.date).collect();
        if days.is_empty() || plan.duration_days == 0 {
            return Ok(None);
        }
        let revenue: i128 = history.iter().map(|r| i128::from(r.revenue_micros)).sum();
        let per_day = revenue / days.len() as i128;
        let total = per_day.saturating_mul(i128::from(plan.duration_days));
        plan.organic_revenue = Some(kiki_core::Money::from_micros(
            i64::try_from(total).unwrap_or(i64::MAX),
            plan.currency,
        ));
        Ok(Some(format!(
            "baseline revenue from the recorded history: {} a day over {} recorded days",
            kiki_core::Money::from_micros(per_day as i64, plan.currency).text(),
            days.len()
        )))
    }

    pub fn config(&self) -> &TwinServiceConfig {
        &self.config
    }

    pub(crate) fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    // ------------------------------------------------------------- simulation

    /// What a simulation of `plan` rests on: the org's history of the
    /// plan's platforms over `history_days`; LTV from the request, else the
    /// organisation's fitted LTV model (then the default value basis), else
    /// priors; the organisation's margin.
    pub(crate) async fn run_inputs(
        &self,
        scope: &TenantScope,
        plan: &Plan,
        mut options: SimulationOptions,
        ltv: Vec<LtvInput>,
        industry: Industry,
        baseline_source: Option<String>,
    ) -> Result<RunInputs> {
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
            .history(scope.org_id(), plan.currency, from, today, Some(&platforms))
            .await?;
        let given = !ltv.is_empty();
        let (ltv, model) = if given {
            (ltv, None)
        } else {
            let e = self.ltv.estimates(scope, plan.currency, &platforms).await;
            (e.inputs, e.model)
        };
        let requested = options.value_basis;
        let basis = requested.unwrap_or(if model.is_some() {
            ValueBasis::Ltv
        } else {
            ValueBasis::Revenue
        });
        options.value_basis = Some(basis);
        let value_source = match (basis, &model) {
            (ValueBasis::Ltv, Some(m)) => m.describe(),
            (ValueBasis::Ltv, None) if given => "LTV estimates given with the request".into(),
            (ValueBasis::Ltv, None) => {
                "industry-prior LTV (no fitted LTV model): planning assumptions".into()
            }
            (ValueBasis::Revenue, Some(m)) => {
                format!("first-order revenue, as requested (not {})", m.describe())
            }
            (ValueBasis::Revenue, None) => "first-order revenue (no fitted LTV model)".into(),
        };
        Ok(RunInputs {
            input: EstimationInput {
                currency: plan.currency,
                industry,
                platforms: platforms.iter().map(|p| p.as_str().to_owned()).collect(),
                history,
                ltv,
                config: EstimationConfig::default(),
            },
            options,
            margin: self.margin(scope).await?,
            value_source,
            baseline_source,
        })
    }

    /// Estimate, evaluate and gate: CPU-bound, on the blocking pool.
    pub(crate) async fn compute(
        &self,
        run: RunInputs,
        plan: Plan,
        settings: OrgSettings,
    ) -> Result<Computation> {
        let gate_cfg = GateConfig {
            min_confidence: settings.min_confidence,
            fee_rate_bps: self.config.fee_rate_bps,
            min_uplift_bps_of_spend: self.config.min_uplift_bps_of_spend,
        };
        let twin_cfg = TwinConfig {
            margin: run.margin,
            value_source: Some(run.value_source),
            baseline_source: run.baseline_source,
            ..TwinConfig::default()
        };
        let (input, options) = (run.input, run.options);
        tokio::task::spawn_blocking(move || -> Result<Computation> {
            let model =
                kiki_twin::estimate(&input).map_err(|e| TwinServiceError::from_twin("", e))?;
            let report = kiki_twin::evaluate(&plan, &model, &options, &twin_cfg)
                .map_err(|e| TwinServiceError::from_twin("", e))?;
            let gate = kiki_twin::decide(&report, &gate_cfg)
                .map_err(|e| TwinServiceError::from_twin("settings", e))?;
            Ok(Computation {
                model,
                report,
                gate,
                options,
            })
        })
        .await
        .map_err(|e| TwinServiceError::Internal(format!("simulation task failed: {e}")))?
    }

    /// `POST /v1/simulations`. Returns the view and whether it was queued.
    /// A plan that leaves out `organic_revenue` gets the baseline
    /// from the organisation's recorded history, or a 422 naming the field
    /// when there is none.
    pub async fn create_simulation(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        mut req: SimulationRequest,
    ) -> Result<(SimulationView, bool)> {
        let baseline_source = self.resolve_baseline(&p.scope, &mut req.plan).await?;
        let mut errors = prefixed("plan", req.plan.validate());
        errors.extend(prefixed("options", req.options.validate()));
        // Checked here too, so a queued simulation is refused now rather
        // than failing in its job.
        errors.extend(kiki_twin::validate_ltv_inputs(&req.ltv, req.plan.currency));
        if !errors.is_empty() {
            return Err(TwinServiceError::Invalid(errors));
        }
        let org = p.scope.org_id();
        let actor = p.actor();
        let settings = self.org_settings(org).await?;
        let id = Uuid::now_v7();
        let now = self.now();
        let queued = work_of(&req.plan, &req.options, 0) > self.config.max_sync_work;
        let created_by = actor_text(&actor);
        let mut row = store::simulations::NewSimulation {
            id,
            org,
            plan: json_of(&req.plan)?,
            options: json_of(&req.options)?,
            created_by: &created_by,
            now,
        };
        if queued {
            let mut tx = self.record.begin().await?;
            store::simulations::insert(&mut tx, row).await?;
            let job = self
                .jobs
                .enqueue_tx(
                    &mut tx,
                    Some(org),
                    SIMULATE_KIND,
                    json!({
                        "simulation_id": id,
                        "ltv": req.ltv,
                        "baseline_source": baseline_source,
                    }),
                    EnqueueOptions::default(),
                )
                .await?;
            store::simulations::set_job(&mut tx, id, job.0).await?;
            tx.audit(
                audit_event(org, actor, "twin.simulation.queued", Some(meta))
                    .target("simulation", id)
                    .details(json!({ "job_id": job.0, "runs": req.options.runs })),
            )
            .await?;
            tx.commit().await?;
        } else {
            let run = self
                .run_inputs(
                    &p.scope,
                    &req.plan,
                    req.options.clone(),
                    req.ltv,
                    settings.industry,
                    baseline_source,
                )
                .await?;
            let c = self.compute(run, req.plan.clone(), settings).await?;
            row.options = json_of(&c.options)?;
            let mut tx = self.record.begin().await?;
            store::simulations::insert(&mut tx, row).await?;
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
        tx: &mut Change<'_>,
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
        let model = store::simulations::NewMarketModel {
            id: model_id,
            org,
            currency: c.model.currency.as_str().to_owned(),
            industry: json_of(&c.model.industry)?
                .as_str()
                .unwrap_or("general")
                .to_owned(),
            first_day: first.map(day_text),
            last_day: last.map(day_text),
            history_days: i64::from(days),
            model: json_of(&c.model)?,
            now,
        };
        let approved = c.gate.approved;
        let start_day = plan.start_date.unwrap_or(now.date());
        let risk = json_of(&c.report.risk_level)?
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let finished = store::simulations::Finished {
            model_id,
            report: json_of(&c.report)?,
            gate: json_of(&c.gate)?,
            confidence: c.report.result.confidence,
            risk_level: &risk,
            approved,
            start_day: day_text(start_day),
            now,
        };
        if !store::simulations::finish(tx, org, id, finished).await? {
            return Ok(false);
        }
        store::simulations::insert_market_model(tx, model).await?;
        store::simulations::insert_gate_decision(
            tx,
            store::simulations::GateDecisionRow {
                org,
                simulation: id,
                approved,
                reason: &c.gate.reason,
                kind: "engine",
                by: None,
                confidence: Some(c.report.result.confidence),
                now,
            },
        )
        .await?;
        let entry = tx
            .audit(
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
        tx.decision(NewDecision {
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
                "margin": c.report.result.margin.describe(),
                "value_source": c.report.value_source,
                "baseline_source": c.report.baseline_source,
            }),
            output: json!({ "approved": approved, "fee": c.gate.fee }),
            confidence: Some(c.report.result.confidence.clamp(0.0, 1.0)),
            explanation: c.gate.reason.clone(),
            audit_entry_id: Some(entry.id),
        })
        .await?;
        Ok(true)
    }

    /// Marks a pending simulation failed (a queued job whose input the
    /// engine refused).
    pub(crate) async fn fail_simulation(&self, org: OrgId, id: Uuid, error: &str) -> Result<()> {
        store::simulations::fail(&self.db, org, id, error, self.now()).await?;
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
        let start_day = (approved && plan.start_date.is_none()).then(|| day_text(now.date()));
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
        let mut tx = self.record.begin().await?;
        store::simulations::set_approval(&mut tx, org, id, approved, &by, start_day, now).await?;
        store::simulations::insert_gate_decision(
            &mut tx,
            store::simulations::GateDecisionRow {
                org,
                simulation: id,
                approved,
                reason,
                kind: "user",
                by: Some(by.clone()),
                confidence: row.confidence,
                now,
            },
        )
        .await?;
        let entry = tx
            .audit(
                audit_event(org, actor, "twin.simulation.overridden", Some(meta))
                    .target("simulation", id)
                    .details(json!({
                        "approved": approved,
                        "engine_approved": engine_verdict,
                        "reason": reason,
                    })),
            )
            .await?;
        tx.decision(NewDecision {
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
        })
        .await?;
        tx.commit().await?;
        self.get_simulation(&p.scope, id)
            .await?
            .ok_or(TwinServiceError::NotFound("simulation"))
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
