//! Fitting: the `ltv.fit` job's payload, queueing a fit, and running one
//! (fit, predict, store the model version with its audit entry and decision
//! record).

use std::sync::{Arc, Mutex};

use kiki_core::{Currency, JobId, TenantScope};
use kiki_explain::NewDecision;
use kiki_ltv::TransactionLog;
use kiki_shield::{Actor, AuditEvent};
use kiki_store::EnqueueOptions;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::types::Json;
use uuid::Uuid;

use super::{LtvModelView, LtvService};
use crate::domain::{FitSpec, Progress, all_params, compute_fit_log, explain_fit};
use crate::error::LtvServiceError;
use crate::store::{self, ModelRow};

/// The job kind of a fit.
pub const FIT_JOB_KIND: &str = "ltv.fit";

/// The payload of an `ltv.fit` job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FitPayload {
    pub spec: FitSpec,
    pub actor: Actor,
    /// `user:<id>`, `api_key:<id>` or `system:<name>`.
    pub created_by: String,
    pub request_id: Option<String>,
}

/// The latest progress of a running fit (latest wins).
pub type ProgressSlot = Arc<Mutex<Option<Progress>>>;

impl LtvService {
    /// Customers with transactions in `currency`.
    pub async fn customer_count(
        &self,
        scope: &TenantScope,
        currency: Currency,
    ) -> Result<u64, LtvServiceError> {
        let org = scope.org_id();
        Ok(store::count_customers(&self.db, org, currency).await?)
    }

    /// Queues an `ltv.fit` job for `org`.
    pub async fn enqueue_fit(
        &self,
        scope: &TenantScope,
        payload: &FitPayload,
    ) -> Result<JobId, LtvServiceError> {
        let org = scope.org_id();
        let value = serde_json::to_value(payload)
            .map_err(|e| LtvServiceError::Internal(format!("encoding the fit payload: {e}")))?;
        let opts = EnqueueOptions {
            max_attempts: Some(2),
            timeout_secs: Some(self.config.fit_timeout_secs),
            ..EnqueueOptions::default()
        };
        Ok(self
            .jobs
            .enqueue(Some(org), FIT_JOB_KIND, value, opts)
            .await?)
    }

    /// Fits, predicts and stores a new model version with its audit entry
    /// and decision record, all in one database transaction. The CPU work
    /// runs on a blocking thread; `progress` receives its reports.
    pub async fn run_fit(
        &self,
        scope: &TenantScope,
        payload: &FitPayload,
        job_id: Option<Uuid>,
        progress: ProgressSlot,
    ) -> Result<LtvModelView, LtvServiceError> {
        let org = scope.org_id();
        let spec = payload.spec.clone();
        let loaded =
            store::load_transactions(&self.db, org, spec.currency, None, &self.date_window())
                .await?;
        let skipped = loaded.skipped;
        if skipped > 0 {
            tracing::warn!(
                org.id = %org,
                ltv.skipped_transactions = skipped,
                "ltv fit leaves out stored transactions dated outside the plausible span or with an amount of the wrong sign"
            );
        }
        let transactions = loaded.transactions;
        let slot = progress.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            // The compact log replaces the loaded rows for the rest of the fit.
            let log = TransactionLog::from_transactions(&transactions);
            drop(transactions);
            compute_fit_log(&log, &spec, &mut |p| {
                if let Ok(mut g) = slot.lock() {
                    *g = Some(p);
                }
            })
        })
        .await
        .map_err(|e| LtvServiceError::Internal(format!("the fit task stopped: {e}")))??;
        if let Ok(mut g) = progress.lock() {
            *g = Some(Progress {
                fraction: 0.9,
                message: format!("storing {} predictions", outcome.predictions.len()),
            });
        }
        let spec = &payload.spec;
        let id = Uuid::now_v7();
        let now = self.clock.now();
        let mut tx = self.record.begin().await?;
        let version = store::next_version(&mut tx, org).await?;
        let row = ModelRow {
            id,
            org_id: org.0,
            version,
            kind: to_json(&outcome.fitted.kind)
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            time_unit: to_json(&spec.unit).as_str().unwrap_or_default().to_owned(),
            currency: spec.currency.to_string(),
            params: Json(json!(all_params(&outcome))),
            fitted: Json(to_json(&outcome.fitted)),
            gamma_gamma: outcome.gamma_gamma.as_ref().map(|g| Json(to_json(g))),
            holdout: outcome.holdout.as_ref().map(|h| Json(to_json(h))),
            window_start: outcome.window.start,
            window_end: outcome.window.end,
            calibration_end: outcome.calibration_end,
            customer_count: outcome.summaries.len() as i64,
            horizon_days: i64::from(spec.horizon_days),
            discount_rate: spec.discount_rate,
            job_id,
            created_by: payload.created_by.clone(),
            created_at: now,
            stale_at: None,
            skipped_transactions: i64::try_from(skipped).unwrap_or(i64::MAX),
        };
        store::insert_model(&mut tx, &row).await?;
        store::delete_predictions(&mut tx, org).await?;
        store::insert_predictions(
            &mut tx,
            org,
            id,
            spec.currency,
            &outcome.summaries,
            &outcome.predictions,
        )
        .await?;
        let f = &outcome.fitted;
        let entry = tx
            .audit(
                AuditEvent::new(Some(org), payload.actor.clone(), "ltv.model.fitted")
                    .target("ltv_model", id)
                    .details(json!({
                        "version": version,
                        "kind": row.kind,
                        "customers": row.customer_count,
                        "converged": f.converged,
                        "job_id": job_id,
                        "skipped_transactions": skipped,
                    }))
                    .context(None, None, payload.request_id.clone()),
            )
            .await?;
        tx.decision(NewDecision {
            org_id: Some(org),
            engine: "kiki-ltv".into(),
            engine_version: f.engine_version.clone(),
            kind: "ltv_model_fitted".into(),
            subject_kind: "ltv_model".into(),
            subject_id: id.to_string(),
            inputs: json!({
                "model": row.kind,
                "gamma_gamma": spec.gamma_gamma,
                "time_unit": row.time_unit,
                "data_window": outcome.window,
                "calibration_end": outcome.calibration_end.map(|t| t.to_string()),
                "customers": row.customer_count,
                "skipped_transactions": skipped,
                "penalizer": spec.penalizer,
                "horizon_days": spec.horizon_days,
                "discount_rate": spec.discount_rate,
                "currency": row.currency,
            }),
            output: json!({
                "params": row.params.0,
                "log_likelihood": f.log_likelihood,
                "aic": f.aic,
                "iterations": f.iterations,
                "converged": f.converged,
                "std_errors": f.std_errors,
                "holdout": outcome.holdout.as_ref().map(|h| json!({
                    "mae": h.mae, "rmse": h.rmse, "aggregate_error": h.aggregate_error,
                })),
            }),
            confidence: None,
            explanation: explain_fit(&outcome, spec),
            audit_entry_id: Some(entry.id),
        })
        .await?;
        tx.commit().await?;
        tracing::info!(
            org.id = %org,
            ltv.model_id = %id,
            ltv.version = version,
            ltv.customers = row.customer_count,
            "ltv model fitted"
        );
        LtvModelView::try_from(row)
    }
}

/// Serialising these stored types cannot fail; `Null` is the
/// (unreachable) fallback rather than a panic.
fn to_json<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}
