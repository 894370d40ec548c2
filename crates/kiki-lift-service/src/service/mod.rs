//! The lift use cases. Every public method takes the caller's `Principal`
//! (changes) or `TenantScope` (reads) and touches only that organisation's
//! rows; every change commits with its audit entry (and, for registration,
//! analyses and designs, its decision record and event) through the
//! recorder.
//!
//! - `mod.rs`: the service, the views, experiments (create, edit, read,
//!   list), the KPI panel, registration and start.
//! - `analyses.rs`: running and listing registered analyses.
//! - `designs.rs`: queueing, running (the `lift.design` job) and listing
//!   designs.

mod analyses;
mod designs;

use std::sync::Arc;

use kiki_core::{Clock, FieldError, OrgId, Page, PageRequest, TenantScope};
use kiki_explain::{NewDecision, Recorder};
use kiki_identity::{Principal, RequestMeta};
use kiki_lift::{Panel, PanelData};
use kiki_server::Platform;
use kiki_shield::{Actor, AuditEvent};
use kiki_store::{Db, Jobs};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::types::Json;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::config::LiftConfig;
use crate::domain::panel::{StoredPanel, Upload, UserRow};
use crate::domain::{ENGINE_VERSION, LiftMethod, LiftPlan, PanelSummary, content_hash};
use crate::error::{LiftServiceError, Result};
use crate::events::ExperimentRegistered;
use crate::store::{self, ExperimentRow, Key, MoveExtras, PanelRow};

pub use analyses::AnalysisView;
pub use designs::{DESIGN_JOB_KIND, DesignAccepted, DesignPayload, DesignView, ProgressSlot};

kiki_core::string_enum! {
    /// Where an experiment stands: `draft` (plan editable) → `registered`
    /// (plan frozen with its hash) → `running` (the test is live) →
    /// `analysed` (at least one stored analysis).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum LiftStatus {
        Draft = "draft",
        Registered = "registered",
        Running = "running",
        Analysed = "analysed",
    }
}

/// A new experiment, or a draft rewritten.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "Spring geo test",
    "description": "Meta prospecting in Chicago and Portland",
    "plan": {
        "kpi": "conversions", "treated": ["chicago", "portland"],
        "pre_start": "2021-01-01", "test_start": "2021-04-01", "test_end": "2021-04-15"
    }
}))]
pub struct ExperimentRequest {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    pub plan: LiftPlan,
}

impl ExperimentRequest {
    fn validated(&self) -> Result<(String, Option<String>, LiftPlan)> {
        let mut errors = Vec::new();
        let name = kiki_core::trim_schema(&self.name).to_owned();
        if name.is_empty() || name.chars().count() > 200 {
            errors.push(FieldError::new(
                "name",
                "1 to 200 characters, not only spaces.",
            ));
        }
        let description = self
            .description
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_owned);
        if description
            .as_ref()
            .is_some_and(|d| d.chars().count() > 2000)
        {
            errors.push(FieldError::new("description", "At most 2000 characters."));
        }
        let plan = match self.plan.validated("plan") {
            Ok(p) => Some(p),
            Err(e) => {
                errors.extend(e);
                None
            }
        };
        match plan {
            Some(plan) if errors.is_empty() => Ok((name, description, plan)),
            _ => Err(LiftServiceError::Invalid(errors)),
        }
    }
}

/// An experiment as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExperimentView {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub status: LiftStatus,
    /// The plan (frozen once registered).
    pub plan: LiftPlan,
    /// SHA-256 of the plan's canonical JSON, set at registration.
    pub plan_hash: Option<String>,
    /// SHA-256 of the KPI panel's pre-period at registration; later
    /// uploads must keep those days as they were.
    pub pre_period_hash: Option<String>,
    /// Grows with every change.
    pub version: i64,
    /// The latest KPI panel, when one was uploaded.
    pub panel: Option<PanelSummary>,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub registered_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub registered_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub analysed_at: Option<OffsetDateTime>,
}

impl ExperimentRow {
    fn status(&self) -> Result<LiftStatus> {
        LiftStatus::parse(&self.status)
            .ok_or_else(|| LiftServiceError::Corrupt(format!("status `{}`", self.status)))
    }

    fn plan(&self) -> Result<LiftPlan> {
        Ok(serde_json::from_value(self.plan.0.clone())?)
    }
}

impl PanelRow {
    fn summary(&self) -> Result<PanelSummary> {
        let data: StoredPanel = serde_json::from_value(self.data.0.clone())?;
        Ok(PanelSummary {
            id: self.id,
            source: self.source.clone(),
            markets: data.panel.units,
            users: data.users.as_ref().map(Vec::len),
            days: self.periods,
            first_day: self.first_period.clone(),
            last_day: self.last_period.clone(),
            panel_hash: self.panel_hash.clone(),
            created_by: self.created_by.clone(),
            created_at: self.created_at,
        })
    }

    pub(crate) fn panel(&self) -> Result<Panel> {
        let data: PanelData = serde_json::from_value(self.data.0.clone())?;
        Panel::try_from(data).map_err(|e| LiftServiceError::Corrupt(e.to_string()))
    }

    /// A holdout's users and the arms (a holdout upload only).
    pub(crate) fn users(&self) -> Result<Option<(PanelData, Vec<UserRow>)>> {
        let stored: StoredPanel = serde_json::from_value(self.data.0.clone())?;
        Ok(stored.users.map(|u| (stored.panel, u)))
    }

    /// The cost panel, when the upload had a cost column.
    pub(crate) fn cost_panel(&self) -> Result<Option<Panel>> {
        let stored: StoredPanel = serde_json::from_value(self.data.0.clone())?;
        stored
            .cost
            .map(Panel::try_from)
            .transpose()
            .map_err(|e| LiftServiceError::Corrupt(e.to_string()))
    }
}

/// `user:<id>`, `api_key:<id>`, `system:<name>`.
pub(crate) fn actor_text(actor: &Actor) -> String {
    match actor.id() {
        Some(id) => format!("{}:{id}", actor.kind()),
        None => actor.kind().to_owned(),
    }
}

/// An audit event stamped with the request, when there is one.
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

fn changed_meanwhile() -> LiftServiceError {
    LiftServiceError::Conflict(
        "The experiment changed while this request ran; read it again and retry.".into(),
    )
}

fn frozen(status: LiftStatus) -> LiftServiceError {
    LiftServiceError::Conflict(format!(
        "The experiment is {}: its plan was registered and can never change. Create a new experiment for another plan.",
        status.as_str()
    ))
}

/// The incrementality service. Cheap to share behind an `Arc`.
pub struct LiftService {
    db: Db,
    jobs: Jobs,
    record: Recorder,
    clock: Arc<dyn Clock>,
    config: LiftConfig,
}

impl std::fmt::Debug for LiftService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiftService")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl LiftService {
    pub fn new(platform: &Platform, config: LiftConfig) -> LiftService {
        LiftService {
            db: platform.db.clone(),
            jobs: platform.jobs.clone(),
            record: platform.recorder(),
            clock: platform.clock.clone(),
            config,
        }
    }

    pub fn config(&self) -> &LiftConfig {
        &self.config
    }

    async fn row(&self, org: OrgId, id: Uuid) -> Result<ExperimentRow> {
        store::get_experiment(&self.db, org, id)
            .await?
            .ok_or(LiftServiceError::NotFound("The experiment"))
    }

    async fn view_of(&self, row: ExperimentRow) -> Result<ExperimentView> {
        let org = OrgId(row.org_id);
        let panel = store::latest_panel(&self.db, org, row.id)
            .await?
            .map(|p| p.summary())
            .transpose()?;
        Ok(ExperimentView {
            status: row.status()?,
            plan: row.plan()?,
            id: row.id,
            name: row.name,
            description: row.description,
            plan_hash: row.plan_hash,
            pre_period_hash: row.pre_period_hash,
            version: row.version,
            panel,
            created_by: row.created_by,
            created_at: row.created_at,
            updated_at: row.updated_at,
            registered_by: row.registered_by,
            registered_at: row.registered_at,
            started_at: row.started_at,
            analysed_at: row.analysed_at,
        })
    }

    /// One experiment of the active organisation (404 otherwise).
    pub async fn get(&self, scope: &TenantScope, id: Uuid) -> Result<ExperimentView> {
        let row = self.row(scope.org_id(), id).await?;
        self.view_of(row).await
    }

    /// The active organisation's experiments, newest first.
    pub async fn list(
        &self,
        scope: &TenantScope,
        status: Option<LiftStatus>,
        page: &PageRequest,
    ) -> Result<Page<ExperimentView>> {
        let key: Option<Key> = page
            .after()
            .map_err(|e| LiftServiceError::Invalid(vec![e]))?;
        let rows = store::list_experiments(
            &self.db,
            scope.org_id(),
            status.map(LiftStatus::as_str),
            page.fetch(),
            key,
        )
        .await?;
        let mut views = Vec::with_capacity(rows.len());
        for r in rows {
            views.push(self.view_of(r).await?);
        }
        Ok(Page::keyset(views, page.limit(), |v| (v.created_at, v.id)))
    }

    /// Stores a draft experiment with its plan.
    pub async fn create(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        req: ExperimentRequest,
    ) -> Result<ExperimentView> {
        let (name, description, plan) = req.validated()?;
        let org = p.scope.org_id();
        let actor = p.actor();
        let now = self.clock.now();
        let row = ExperimentRow {
            id: Uuid::now_v7(),
            org_id: org.0,
            name,
            description,
            status: LiftStatus::Draft.as_str().into(),
            plan: Json(serde_json::to_value(&plan)?),
            plan_hash: None,
            pre_period_hash: None,
            version: 1,
            created_by: actor_text(&actor),
            created_at: now,
            updated_at: now,
            registered_by: None,
            registered_at: None,
            started_at: None,
            analysed_at: None,
        };
        let mut tx = self.record.begin().await?;
        store::insert_experiment(&mut tx, &row).await?;
        tx.audit(
            audit_event(org, actor, "lift.experiment.created", Some(meta))
                .target("lift_experiment", row.id)
                .details(json!({"name": row.name, "treated": plan.treated})),
        )
        .await?;
        tx.commit().await?;
        self.view_of(row).await
    }

    /// Rewrites a draft. A registered plan never changes (409).
    pub async fn update(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        id: Uuid,
        req: ExperimentRequest,
    ) -> Result<ExperimentView> {
        let org = p.scope.org_id();
        let row = self.row(org, id).await?;
        let status = row.status()?;
        if status != LiftStatus::Draft {
            return Err(frozen(status));
        }
        let (name, description, plan) = req.validated()?;
        let actor = p.actor();
        let mut tx = self.record.begin().await?;
        let written = store::rewrite_draft(
            &mut tx,
            org,
            id,
            row.version,
            (&name, description.as_deref(), serde_json::to_value(&plan)?),
            self.clock.now(),
        )
        .await?;
        if !written {
            // Registered meanwhile, or edited meanwhile.
            let now = self.row(org, id).await?.status()?;
            return Err(if now == LiftStatus::Draft {
                changed_meanwhile()
            } else {
                frozen(now)
            });
        }
        tx.audit(
            audit_event(org, actor, "lift.experiment.updated", Some(meta))
                .target("lift_experiment", id)
                .details(json!({"name": name, "treated": plan.treated})),
        )
        .await?;
        tx.commit().await?;
        self.get(&p.scope, id).await
    }

    /// The latest KPI panel of an experiment (404 when none was uploaded).
    pub async fn panel(&self, scope: &TenantScope, id: Uuid) -> Result<PanelSummary> {
        let org = scope.org_id();
        self.row(org, id).await?;
        store::latest_panel(&self.db, org, id)
            .await?
            .ok_or(LiftServiceError::NotFound("The KPI panel"))?
            .summary()
    }

    /// Stores a KPI panel for an experiment: the seam every source uses
    /// (uploads now; commerce orders and platform spend later, with their
    /// own `source` and a system actor). Once the plan is registered, the
    /// panel must keep the registered pre-period exactly (409 otherwise):
    /// later panels only add the test window's days.
    pub async fn store_panel(
        &self,
        scope: &TenantScope,
        actor: Actor,
        meta: Option<&RequestMeta>,
        id: Uuid,
        Upload { panel, cost, load }: Upload,
        source: &str,
    ) -> Result<PanelSummary> {
        let org = scope.org_id();
        let row = self.row(org, id).await?;
        if matches!(row.plan()?.method, LiftMethod::Holdout(_)) {
            return Err(LiftServiceError::Invalid(vec![FieldError::new(
                "rows",
                "A holdout reads its users, not a daily KPI panel: upload `users`.",
            )]));
        }
        if let Some(registered) = &row.pre_period_hash {
            let plan = row.plan()?;
            let pre = plan.pre_period(&panel).map_err(LiftServiceError::Invalid)?;
            if &content_hash(&PanelData::from(pre)) != registered {
                return Err(LiftServiceError::Conflict(format!(
                    "The pre-period ({} to the day before {}) differs from the data registered with the plan; a registered test is never re-cut. Upload the same pre-period days with the test window's days after them.",
                    plan.pre_start, plan.test_start
                )));
            }
        }
        let data = PanelData::from(panel);
        let stored = StoredPanel {
            panel: data.clone(),
            cost: cost.map(PanelData::from),
            users: None,
        };
        let hash = content_hash(&stored);
        let now = self.clock.now();
        let panel_row = PanelRow {
            id: Uuid::now_v7(),
            org_id: org.0,
            experiment_id: id,
            source: source.to_owned(),
            units: data.units.len() as i64,
            periods: data.periods.len() as i64,
            first_period: data.periods.first().cloned().unwrap_or_default(),
            last_period: data.periods.last().cloned().unwrap_or_default(),
            data: Json(serde_json::to_value(&stored)?),
            panel_hash: hash.clone(),
            created_by: actor_text(&actor),
            created_at: now,
        };
        let mut tx = self.record.begin().await?;
        store::insert_panel(&mut tx, &panel_row).await?;
        tx.audit(
            audit_event(org, actor, "lift.panel.stored", meta)
                .target("lift_experiment", id)
                .details(json!({
                    "panel_id": panel_row.id,
                    "source": source,
                    "markets": panel_row.units,
                    "days": panel_row.periods,
                    "first_day": panel_row.first_period,
                    "last_day": panel_row.last_period,
                    "rows": load.rows,
                    "merged_rows": load.merged_rows,
                    "panel_hash": hash,
                })),
        )
        .await?;
        tx.commit().await?;
        panel_row.summary()
    }

    /// Stores a holdout's users (checked by
    /// [`users_from_rows`](crate::domain::panel::users_from_rows)) as the
    /// experiment's panel: the arms, no days, the users. Only a holdout
    /// takes users (422 otherwise).
    pub async fn store_users(
        &self,
        scope: &TenantScope,
        actor: Actor,
        meta: Option<&RequestMeta>,
        id: Uuid,
        users: Vec<UserRow>,
        source: &str,
    ) -> Result<PanelSummary> {
        let org = scope.org_id();
        let row = self.row(org, id).await?;
        let plan = row.plan()?;
        if !matches!(plan.method, LiftMethod::Holdout(_)) {
            return Err(LiftServiceError::Invalid(vec![FieldError::new(
                "users",
                format!(
                    "A `{}` plan reads a daily KPI panel: upload `rows`.",
                    plan.method.name().as_str()
                ),
            )]));
        }
        let arms = vec!["control".to_owned(), "treatment".to_owned()];
        let stored = StoredPanel {
            panel: PanelData {
                values: vec![Vec::new(); arms.len()],
                units: arms,
                periods: Vec::new(),
                filled: Vec::new(),
            },
            cost: None,
            users: Some(users),
        };
        let hash = content_hash(&stored);
        let days = match plan.test_range() {
            Ok((start, end)) => (end - start) as i64,
            Err(_) => 0,
        };
        let panel_row = PanelRow {
            id: Uuid::now_v7(),
            org_id: org.0,
            experiment_id: id,
            source: source.to_owned(),
            units: stored.panel.units.len() as i64,
            periods: days,
            first_period: plan.test_start.clone(),
            last_period: plan.test_end.clone(),
            data: Json(serde_json::to_value(&stored)?),
            panel_hash: hash.clone(),
            created_by: actor_text(&actor),
            created_at: self.clock.now(),
        };
        let mut tx = self.record.begin().await?;
        store::insert_panel(&mut tx, &panel_row).await?;
        tx.audit(
            audit_event(org, actor, "lift.panel.stored", meta)
                .target("lift_experiment", id)
                .details(json!({
                    "panel_id": panel_row.id,
                    "source": source,
                    "users": stored.users.as_ref().map(Vec::len),
                    "panel_hash": hash,
                })),
        )
        .await?;
        tx.commit().await?;
        panel_row.summary()
    }

    /// Registers the plan: checks it against the latest panel (every
    /// named market in it, every pre-period day present), freezes it with
    /// its hash and the pre-period's hash, and records the decision.
    pub async fn register(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        id: Uuid,
    ) -> Result<ExperimentView> {
        let org = p.scope.org_id();
        let row = self.row(org, id).await?;
        let status = row.status()?;
        if status != LiftStatus::Draft {
            return Err(LiftServiceError::Conflict(format!(
                "The experiment is {} already; a plan is registered once.",
                status.as_str()
            )));
        }
        let plan = row.plan()?;
        // A holdout's users are known after the test only: nothing to check
        // the plan against, no pre-period to freeze.
        let (panel_id, panel_hash, pre_days, pre_hash) = if matches!(
            plan.method,
            LiftMethod::Holdout(_)
        ) {
            (None, None, 0, None)
        } else {
            let panel_row = store::latest_panel(&self.db, org, id).await?.ok_or_else(|| {
                    LiftServiceError::Conflict(
                        "Upload the KPI panel (at least the pre-period) before registering: the plan is checked against it and its pre-period is frozen with the plan.".into(),
                    )
                })?;
            let pre = plan
                .pre_period(&panel_row.panel()?)
                .map_err(LiftServiceError::Invalid)?;
            (
                Some(panel_row.id),
                Some(panel_row.panel_hash),
                pre.n_periods(),
                Some(content_hash(&PanelData::from(pre))),
            )
        };
        let plan_hash = content_hash(&plan);
        let actor = p.actor();
        let by = actor_text(&actor);
        let mut tx = self.record.begin().await?;
        let moved = store::set_status(
            &mut tx,
            org,
            id,
            (status.as_str(), row.version),
            LiftStatus::Registered.as_str(),
            MoveExtras {
                registered: Some((&plan_hash, pre_hash.as_deref(), &by)),
                ..MoveExtras::default()
            },
            self.clock.now(),
        )
        .await?;
        if !moved {
            return Err(changed_meanwhile());
        }
        let entry = tx
            .audit(
                audit_event(org, actor, "lift.experiment.registered", Some(meta))
                    .target("lift_experiment", id)
                    .details(json!({
                        "plan_hash": plan_hash,
                        "pre_period_hash": pre_hash,
                        "panel_id": panel_id,
                    })),
            )
            .await?;
        tx.decision(NewDecision {
            org_id: Some(org),
            engine: "kiki-lift".into(),
            engine_version: ENGINE_VERSION.into(),
            kind: "lift_plan_registered".into(),
            subject_kind: "lift_experiment".into(),
            subject_id: id.to_string(),
            inputs: json!({
                "plan": plan,
                "panel_id": panel_id,
                "panel_hash": panel_hash,
                "pre_period_days": pre_days,
            }),
            output: json!({"plan_hash": plan_hash, "pre_period_hash": pre_hash}),
            confidence: None,
            explanation: format!(
                "Registered before the test ({}): {}, pre-period {} to the day before {} ({pre_days} days), test {} to {}, {} at α = {}. The plan is frozen with hash {plan_hash}; the analysis will read these windows only.",
                plan.method.name().as_str(),
                plan.groups_text(),
                plan.pre_start,
                plan.test_start,
                plan.test_start,
                plan.test_end,
                plan.alternative.as_str(),
                plan.alpha
            ),
            audit_entry_id: Some(entry.id),
        })
        .await?;
        tx.publish(
            Some(org),
            &ExperimentRegistered {
                experiment_id: id,
                plan_hash,
                treated: plan.treated.clone(),
                test_start: plan.test_start.clone(),
                test_end: plan.test_end.clone(),
            },
        );
        tx.commit().await?;
        self.get(&p.scope, id).await
    }

    /// Marks a registered experiment as running (its test is live).
    pub async fn start(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        id: Uuid,
    ) -> Result<ExperimentView> {
        let org = p.scope.org_id();
        let row = self.row(org, id).await?;
        let status = row.status()?;
        if status != LiftStatus::Registered {
            return Err(LiftServiceError::Conflict(format!(
                "Only a registered experiment starts; this one is {}.",
                status.as_str()
            )));
        }
        let mut tx = self.record.begin().await?;
        let moved = store::set_status(
            &mut tx,
            org,
            id,
            (status.as_str(), row.version),
            LiftStatus::Running.as_str(),
            MoveExtras {
                started: true,
                ..MoveExtras::default()
            },
            self.clock.now(),
        )
        .await?;
        if !moved {
            return Err(changed_meanwhile());
        }
        tx.audit(
            audit_event(org, p.actor(), "lift.experiment.started", Some(meta))
                .target("lift_experiment", id),
        )
        .await?;
        tx.commit().await?;
        self.get(&p.scope, id).await
    }
}
