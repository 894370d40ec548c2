//! Registered analyses: run by the registered plan's method on the latest
//! panel (the registered days only), on the blocking pool, stored with the hash
//! of their inputs and of their result, audited and decision-recorded.

use kiki_core::{OrgId, Page, PageRequest, TenantScope};
use kiki_explain::NewDecision;
use kiki_identity::{Principal, RequestMeta};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::types::Json;
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::{LiftService, LiftStatus, actor_text, audit_event, changed_meanwhile};
use crate::domain::analysis::{AnalysisInputs, HoldoutSummary, analyze_users};
use crate::domain::{
    AnalysisSummary, ENGINE_VERSION, LiftMethod, MethodName, MethodResult, TbrSummary,
    TrimmedMatchSummary, analysis::AnalyzeError, analyze_plan, content_hash, plan::Alternative,
};

type RunResult = std::result::Result<(MethodResult, AnalysisInputs), AnalyzeError>;
use crate::error::{LiftServiceError, Result};
use crate::events::AnalysisCompleted;
use crate::store::{self, AnalysisRow, Key, MoveExtras};

/// A stored analysis.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AnalysisView {
    pub id: Uuid,
    pub experiment_id: Uuid,
    /// The panel it ran on.
    pub panel_id: Uuid,
    /// The registered plan's hash.
    pub plan_hash: String,
    /// The stored panel's hash.
    pub panel_hash: String,
    /// SHA-256 of the inputs it read (the plan and the panel cut to the
    /// registered days): the same inputs give the same hash and numbers.
    pub inputs_hash: String,
    /// SHA-256 of `result`.
    pub result_hash: String,
    pub engine_version: String,
    /// The plan's method.
    pub method: MethodName,
    /// `synthetic_control`: estimate, interval, p-value, weights and
    /// diagnostics.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub estimate: Option<AnalysisSummary>,
    /// `tbr`: incremental outcome, lift and iROAS with their intervals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tbr: Option<TbrSummary>,
    /// `trimmed_match`: the iROAS, its interval and the trim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trimmed_match: Option<TrimmedMatchSummary>,
    /// `holdout`: both arms, the differences in conversion rate and
    /// revenue per user, the assignment checks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holdout: Option<HoldoutSummary>,
    /// The engine's whole result (per-day observed and counterfactual,
    /// every weight, the inference's details).
    #[schema(value_type = Object)]
    pub result: Value,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl AnalysisView {
    /// The stored row read as the result of `method` (the plan's).
    fn of(r: AnalysisRow, method: MethodName) -> Result<AnalysisView> {
        let result = MethodResult::from_stored(method, r.result.0.clone())?;
        let (mut estimate, mut tbr, mut tm, mut holdout) = (None, None, None, None);
        match &result {
            MethodResult::SyntheticControl(a) => {
                let alternative = Alternative::of_engine(a.inference.options.alternative);
                estimate = Some(AnalysisSummary::of(a, alternative));
            }
            MethodResult::Tbr(t) => tbr = Some(TbrSummary::of(t)),
            MethodResult::TrimmedMatch(t) => tm = Some(TrimmedMatchSummary::of(t)),
            MethodResult::Holdout(h) => holdout = Some(HoldoutSummary::of(h)),
        }
        Ok(AnalysisView {
            method,
            estimate,
            tbr,
            trimmed_match: tm,
            holdout,
            id: r.id,
            experiment_id: r.experiment_id,
            panel_id: r.panel_id,
            plan_hash: r.plan_hash,
            panel_hash: r.panel_hash,
            inputs_hash: r.inputs_hash,
            result_hash: r.result_hash,
            engine_version: r.engine_version,
            result: r.result.0,
            created_by: r.created_by,
            created_at: r.created_at,
        })
    }
}

/// The figures of a result for the event and the decision record: the
/// headline estimate, its interval, the lift and the p-value where the
/// method has them.
struct Headline {
    estimate: f64,
    interval: (Option<f64>, Option<f64>),
    lift: Option<f64>,
    p_value: Option<f64>,
    text: String,
}

fn headline(result: &MethodResult) -> Headline {
    match result {
        MethodResult::SyntheticControl(a) => {
            let (f, i) = (&a.fit, &a.inference);
            Headline {
                estimate: f.incremental,
                interval: (i.incremental.lower, i.incremental.upper),
                lift: Some(f.lift),
                p_value: Some(i.p_value),
                text: format!(
                    "incremental {:.1} (interval {} to {}), lift {:+.2} %, p = {:.4}",
                    f.incremental,
                    fmt_bound(i.incremental.lower),
                    fmt_bound(i.incremental.upper),
                    f.lift * 100.0,
                    i.p_value
                ),
            }
        }
        MethodResult::Tbr(r) => Headline {
            estimate: r.incremental_response,
            interval: (r.response_interval.lower, r.response_interval.upper),
            lift: Some(r.relative_lift),
            p_value: Some(1.0 - r.probability_positive),
            text: format!(
                "incremental {:.1} (interval {} to {}), lift {:+.2} %{}",
                r.incremental_response,
                fmt_bound(r.response_interval.lower),
                fmt_bound(r.response_interval.upper),
                r.relative_lift * 100.0,
                r.iroas
                    .as_ref()
                    .map(|i| format!(", iROAS {:.4}", i.estimate))
                    .unwrap_or_default()
            ),
        },
        MethodResult::TrimmedMatch(r) => Headline {
            estimate: r.estimate,
            interval: (r.interval.lower, r.interval.upper),
            lift: None,
            p_value: None,
            text: format!(
                "iROAS {:.4} (interval {} to {}), trim rate {:.4}",
                r.estimate,
                fmt_bound(r.interval.lower),
                fmt_bound(r.interval.upper),
                r.trim_rate
            ),
        },
        MethodResult::Holdout(r) => {
            let d = &r.conversion_rate;
            Headline {
                estimate: d.absolute,
                interval: (d.interval.lower, d.interval.upper),
                lift: d.relative,
                p_value: Some(d.p_value),
                text: format!(
                    "conversion rate {:+.4} (interval {} to {}), p = {:.4}, incremental conversions {:.1}",
                    d.absolute,
                    fmt_bound(d.interval.lower),
                    fmt_bound(d.interval.upper),
                    d.p_value,
                    r.incremental_conversions
                ),
            }
        }
    }
}

fn fmt_bound(b: Option<f64>) -> String {
    b.map_or("unbounded".to_owned(), |v| format!("{v:.1}"))
}

impl LiftService {
    /// Analyses a registered (or running, or analysed) experiment as
    /// registered; a draft is refused (409). Re-running on the same panel
    /// stores another analysis with the same hashes and numbers.
    pub async fn analyse(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        id: Uuid,
    ) -> Result<AnalysisView> {
        let org = p.scope.org_id();
        let row = self.row(org, id).await?;
        let status = row.status()?;
        if status == LiftStatus::Draft {
            return Err(LiftServiceError::Conflict(
                "A draft is not analysed: register its plan first (POST /v1/experiments/lift/{id}/register), before the test starts.".into(),
            ));
        }
        let plan = row.plan()?;
        let plan_hash = row.plan_hash.clone().ok_or_else(|| {
            LiftServiceError::Corrupt(format!("experiment {id} has no plan hash"))
        })?;
        if crate::domain::content_hash(&plan) != plan_hash {
            return Err(LiftServiceError::Corrupt(format!(
                "experiment {id}'s stored plan does not match its registered hash"
            )));
        }
        let panel_row = store::latest_panel(&self.db, org, id)
            .await?
            .ok_or_else(|| LiftServiceError::Conflict("Upload the KPI panel first.".into()))?;
        let run_plan = plan.clone();
        let method = plan.method.name();
        let run: Box<dyn FnOnce() -> RunResult + Send> = if let LiftMethod::Holdout(_) = plan.method
        {
            let (arms, users) = panel_row.users()?.ok_or_else(|| {
                LiftServiceError::Conflict("Upload the holdout's users first.".into())
            })?;
            Box::new(move || analyze_users(&run_plan, arms, &users))
        } else {
            let panel = panel_row.panel()?;
            let cost = panel_row.cost_panel()?;
            Box::new(move || analyze_plan(&run_plan, &panel, cost.as_ref()))
        };
        let (result, inputs) = tokio::task::spawn_blocking(run)
            .await
            .map_err(|e| LiftServiceError::Internal(format!("the analysis task stopped: {e}")))?
            .map_err(|e| match e {
                AnalyzeError::Plan(fields) => LiftServiceError::Invalid(fields),
                AnalyzeError::Engine(e) => LiftServiceError::Engine(e),
            })?;
        let inputs_hash = content_hash(&inputs);
        let result_json = serde_json::to_value(&result)?;
        let result_hash = content_hash(&result_json);
        let actor = p.actor();
        let now = self.clock.now();
        let analysis = AnalysisRow {
            id: Uuid::now_v7(),
            org_id: org.0,
            experiment_id: id,
            panel_id: panel_row.id,
            plan_hash: plan_hash.clone(),
            panel_hash: panel_row.panel_hash.clone(),
            inputs_hash: inputs_hash.clone(),
            result_hash: result_hash.clone(),
            engine_version: ENGINE_VERSION.into(),
            result: Json(result_json),
            created_by: actor_text(&actor),
            created_at: now,
        };
        let h = headline(&result);
        let mut tx = self.record.begin().await?;
        store::insert_analysis(&mut tx, &analysis).await?;
        if status != LiftStatus::Analysed {
            let moved = store::set_status(
                &mut tx,
                org,
                id,
                (status.as_str(), row.version),
                LiftStatus::Analysed.as_str(),
                MoveExtras {
                    analysed: true,
                    ..MoveExtras::default()
                },
                now,
            )
            .await?;
            if !moved {
                return Err(changed_meanwhile());
            }
        }
        let entry = tx
            .audit(
                audit_event(org, actor, "lift.analysis.completed", Some(meta))
                    .target("lift_experiment", id)
                    .details(json!({
                        "analysis_id": analysis.id,
                        "inputs_hash": inputs_hash,
                        "result_hash": result_hash,
                        "panel_id": panel_row.id,
                    })),
            )
            .await?;
        tx.decision(NewDecision {
            org_id: Some(org),
            engine: "kiki-lift".into(),
            engine_version: ENGINE_VERSION.into(),
            kind: "lift_analysis".into(),
            subject_kind: "lift_experiment".into(),
            subject_id: id.to_string(),
            inputs: json!({
                "plan_hash": plan_hash,
                "panel_id": panel_row.id,
                "panel_hash": panel_row.panel_hash,
                "inputs_hash": inputs_hash,
            }),
            output: json!({
                "analysis_id": analysis.id,
                "method": method,
                "estimate": h.estimate,
                "interval": [h.interval.0, h.interval.1],
                "lift": h.lift,
                "p_value": h.p_value,
                "result_hash": result_hash,
            }),
            confidence: h.p_value.map(|p| 1.0 - p),
            explanation: format!(
                "Analysed as registered (plan {plan_hash}, {}): {}. {}",
                method.as_str(),
                h.text,
                result.summary()
            ),
            audit_entry_id: Some(entry.id),
        })
        .await?;
        tx.publish(
            Some(org),
            &AnalysisCompleted {
                experiment_id: id,
                analysis_id: analysis.id,
                inputs_hash,
                result_hash,
                method,
                estimate: h.estimate,
                lift: h.lift,
                p_value: h.p_value,
            },
        );
        tx.commit().await?;
        tracing::info!(
            org.id = %org,
            lift.experiment_id = %id,
            lift.analysis_id = %analysis.id,
            "lift analysis stored"
        );
        AnalysisView::of(analysis, method)
    }

    /// An experiment's analyses, newest first.
    pub async fn analyses(
        &self,
        scope: &TenantScope,
        id: Uuid,
        page: &PageRequest,
    ) -> Result<Page<AnalysisView>> {
        let org: OrgId = scope.org_id();
        let method = self.row(org, id).await?.plan()?.method.name();
        let key: Option<Key> = page
            .after()
            .map_err(|e| LiftServiceError::Invalid(vec![e]))?;
        let rows = store::list_analyses(&self.db, org, id, page.fetch(), key).await?;
        let views = rows
            .into_iter()
            .map(|r| AnalysisView::of(r, method))
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::keyset(views, page.limit(), |v| (v.created_at, v.id)))
    }
}
