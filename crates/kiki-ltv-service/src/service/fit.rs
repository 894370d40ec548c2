//! Fitting: the `ltv.fit` job's payload, queueing a fit, and running one
//! (fit, predict, store the model version with its audit entry and decision
//! record).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use kiki_core::{Currency, JobId, OrgId, TenantScope};
use kiki_explain::NewDecision;
use kiki_shield::{Actor, AuditEvent};
use kiki_store::EnqueueOptions;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::types::Json;
use uuid::Uuid;

use kiki_ltv::{CustomerPrediction, CustomerSummary};

use super::{LtvModelView, LtvService};
use crate::domain::{FitOutcome, FitSpec, Progress, all_params, compute_fit_log, explain_fit};
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

/// Where a running fit's progress goes (the job record, or nowhere for a
/// fit inside a request). The fit reports after each page it reads, every
/// 250 ms of the engine's work and before each batch of predictions it
/// writes — between its database writes, never during one, so on SQLite a
/// progress update does not wait for the fit's own write lock. A sink that
/// writes somewhere thins the reports out itself.
pub trait ProgressSink: Send + Sync {
    fn report<'a>(&'a self, progress: Progress) -> BoxFuture<'a, ()>;
}

/// Progress dropped (a fit inside a request).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl ProgressSink for NoProgress {
    fn report<'a>(&'a self, _: Progress) -> BoxFuture<'a, ()> {
        Box::pin(async {})
    }
}

/// How often the engine's latest progress is passed on.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Shares of the progress bar: loading the stored rows, the engine's work
/// (summaries, fits, predictions), storing the predictions.
const LOADED_AT: f64 = 0.25;
const COMPUTED_AT: f64 = 0.75;

/// Rows deleted per transaction when old predictions are removed.
const DELETE_BATCH: u64 = 20_000;

/// Leaves the database to other writers after a batch: a quarter of the
/// time the batch held it, at least 120 ms and at most 500 ms. SQLite's busy
/// handler polls a waiting writer's lock at most 100 ms apart, so every
/// writer that waited through a batch gets its turn in the pause that
/// follows, long before its `busy_timeout` (5 s by default).
pub(super) async fn pause_after(batch: Duration) {
    tokio::time::sleep((batch / 4).clamp(Duration::from_millis(120), Duration::from_millis(500)))
        .await;
}

/// Predictions written per transaction at most (in statements of
/// [`store::PREDICTION_BATCH`]): about a fiftieth of them, 2,000 to 20,000
/// rows — enough that the cost of starting a transaction on a connection
/// whose page cache another writer emptied is spread over many rows.
fn predictions_per_transaction(total: usize) -> usize {
    (total / 50).clamp(store::PREDICTION_BATCH, 10 * store::PREDICTION_BATCH)
}

/// How long a bulk write (predictions, a staged upload) keeps one
/// transaction open: after the statement that passes it, the transaction
/// commits and the writer pauses ([`pause_after`]). On a loaded machine a
/// fixed number of rows can take seconds; a time budget keeps SQLite's write
/// lock short whatever the load, so job claims and progress writes waiting
/// behind it never reach their busy timeout.
pub(super) const LOCK_BUDGET: Duration = Duration::from_millis(400);

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
    /// and decision record.
    ///
    /// The stored rows are read a page at a time into a transaction log; the
    /// engine's work runs on a blocking thread. The model row is written
    /// first as `fitting` (no reader sees it), its predictions follow in
    /// short transactions of a few thousand rows, and one short transaction
    /// makes it the current model with its audit entry and decision record;
    /// the previous model's predictions are deleted afterwards in batches.
    /// So no writer waits long on SQLite and readers see either the old
    /// model whole or the new one whole. `progress` gets reports between
    /// those writes.
    pub async fn run_fit(
        &self,
        scope: &TenantScope,
        payload: &FitPayload,
        job_id: Option<Uuid>,
        progress: &dyn ProgressSink,
    ) -> Result<LtvModelView, LtvServiceError> {
        let org = scope.org_id();
        let started = Instant::now();
        self.remove_abandoned_fits(org).await;
        let spec = payload.spec.clone();
        progress
            .report(Progress {
                fraction: 0.0,
                message: "loading transactions".into(),
            })
            .await;
        let window = self.date_window();
        let mut reader = store::LogReader::new(&self.db, org, spec.currency, &window).await?;
        let stored = reader.stored().max(1);
        loop {
            let more = reader.next_page().await?;
            let read = reader.read();
            progress
                .report(Progress {
                    fraction: LOADED_AT * (read as f64 / stored as f64).min(1.0),
                    message: format!("loading transactions: {read} of {stored}"),
                })
                .await;
            if !more {
                break;
            }
        }
        let loaded = reader.finish();
        let skipped = loaded.skipped;
        if skipped > 0 {
            tracing::warn!(
                org.id = %org,
                ltv.skipped_transactions = skipped,
                "ltv fit leaves out stored transactions dated outside the plausible span or with an amount of the wrong sign"
            );
        }
        let load_ms = started.elapsed().as_millis();
        let slot: Arc<Mutex<Option<Progress>>> = Arc::new(Mutex::new(None));
        let engine_slot = slot.clone();
        let log = loaded.log;
        let work = tokio::task::spawn_blocking(move || {
            compute_fit_log(&log, &spec, &mut |p| {
                if let Ok(mut g) = engine_slot.lock() {
                    *g = Some(p);
                }
            })
        });
        tokio::pin!(work);
        let mut tick = tokio::time::interval(PROGRESS_EVERY);
        let engine = |p: Progress| Progress {
            fraction: LOADED_AT + (COMPUTED_AT - LOADED_AT) * p.fraction.clamp(0.0, 1.0),
            message: p.message,
        };
        let outcome = loop {
            tokio::select! {
                r = &mut work => break r,
                _ = tick.tick() => {
                    let latest = slot.lock().ok().and_then(|mut g| g.take());
                    if let Some(p) = latest {
                        progress.report(engine(p)).await;
                    }
                }
            }
        };
        // The engine's last step, when it ended between two ticks.
        let latest = slot.lock().ok().and_then(|mut g| g.take());
        if let Some(p) = latest {
            progress.report(engine(p)).await;
        }
        let outcome = outcome
            .map_err(|e| LtvServiceError::Internal(format!("the fit task stopped: {e}")))??;
        let compute_ms = started.elapsed().as_millis() - load_ms;
        let spec = &payload.spec;
        let id = Uuid::now_v7();
        let now = self.clock.now();
        let mut row = ModelRow {
            id,
            org_id: org.0,
            version: 0,
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
            status: store::MODEL_FITTING.to_owned(),
        };
        // The version is taken now, so two fits never share one; a fit that
        // fails leaves a gap.
        let mut tx = self.db.begin().await?;
        row.version = store::next_version(&mut tx, org).await?;
        store::insert_model(&mut tx, &row).await?;
        tx.commit().await?;
        let written = self.write_predictions(org, &row, &outcome, progress).await;
        let switched = match written {
            Ok(()) => {
                self.switch_model(org, &mut row, &outcome, payload, job_id, skipped)
                    .await
            }
            Err(e) => Err(e),
        };
        if let Err(e) = switched {
            self.remove_model(org, id).await;
            return Err(e);
        }
        let store_ms = started.elapsed().as_millis() - load_ms - compute_ms;
        tracing::info!(
            org.id = %org,
            ltv.model_id = %id,
            ltv.version = row.version,
            ltv.customers = row.customer_count,
            ltv.load_ms = load_ms as u64,
            ltv.compute_ms = compute_ms as u64,
            ltv.store_ms = store_ms as u64,
            "ltv model fitted"
        );
        progress
            .report(Progress {
                fraction: 0.99,
                message: "removing the previous model's predictions".into(),
            })
            .await;
        self.remove_old_predictions(org, id).await;
        LtvModelView::try_from(row)
    }

    /// Writes the predictions of a model being fitted, a few thousand rows a
    /// transaction, in customer order (the primary key and the customer
    /// index grow at their ends).
    async fn write_predictions(
        &self,
        org: OrgId,
        row: &ModelRow,
        outcome: &FitOutcome,
        progress: &dyn ProgressSink,
    ) -> Result<(), LtvServiceError> {
        let currency = Currency::parse(&row.currency)
            .map_err(|_| LtvServiceError::Internal(format!("model currency {}", row.currency)))?;
        let mut pairs: Vec<(&CustomerSummary, &CustomerPrediction)> =
            outcome.summaries.iter().zip(&outcome.predictions).collect();
        pairs.sort_unstable_by(|a, b| a.1.customer_id.cmp(&b.1.customer_id));
        let total = pairs.len();
        let most = predictions_per_transaction(total);
        let mut done = 0;
        let mut statements = pairs.chunks(store::PREDICTION_BATCH).peekable();
        while statements.peek().is_some() {
            progress
                .report(Progress {
                    fraction: COMPUTED_AT
                        + (0.99 - COMPUTED_AT) * done as f64 / total.max(1) as f64,
                    message: format!("storing predictions: {done} of {total}"),
                })
                .await;
            let batch = Instant::now();
            let mut tx = self.db.begin().await?;
            let mut in_tx = 0;
            while let Some(part) =
                statements.next_if(|_| in_tx < most && batch.elapsed() < LOCK_BUDGET)
            {
                store::insert_predictions(&mut tx, org, row.id, currency, part).await?;
                in_tx += part.len();
            }
            tx.commit().await?;
            done += in_tx;
            if statements.peek().is_some() {
                pause_after(batch.elapsed()).await;
            }
        }
        Ok(())
    }

    /// Makes the model current, with its audit entry and decision record, in
    /// one short transaction.
    async fn switch_model(
        &self,
        org: OrgId,
        row: &mut ModelRow,
        outcome: &FitOutcome,
        payload: &FitPayload,
        job_id: Option<Uuid>,
        skipped: u64,
    ) -> Result<(), LtvServiceError> {
        let spec = &payload.spec;
        let id = row.id;
        let mut tx = self.record.begin().await?;
        store::set_model_ready(&mut tx, org, id).await?;
        row.status = store::MODEL_READY.to_owned();
        let f = &outcome.fitted;
        let entry = tx
            .audit(
                AuditEvent::new(Some(org), payload.actor.clone(), "ltv.model.fitted")
                    .target("ltv_model", id)
                    .details(json!({
                        "version": row.version,
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
            explanation: explain_fit(outcome, spec),
            audit_entry_id: Some(entry.id),
        })
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes one model's predictions, [`DELETE_BATCH`] rows a transaction.
    async fn delete_predictions_of(&self, org: OrgId, model: Uuid) -> Result<u64, LtvServiceError> {
        let mut deleted = 0;
        loop {
            let batch = Instant::now();
            let mut tx = self.db.begin().await?;
            let n = store::delete_prediction_batch(&mut tx, org, model, DELETE_BATCH).await?;
            tx.commit().await?;
            deleted += n;
            if n < DELETE_BATCH {
                return Ok(deleted);
            }
            pause_after(batch.elapsed()).await;
        }
    }

    /// After a switch: the predictions of every other stored model go (only
    /// the current model's are kept). Failures are logged; the next fit
    /// tries again.
    async fn remove_old_predictions(&self, org: OrgId, current: Uuid) {
        let old = match store::other_ready_models(&self.db, org, current).await {
            Ok(ids) => ids,
            Err(e) => {
                tracing::warn!(org.id = %org, error = %e, "listing the previous ltv models failed");
                return;
            }
        };
        for model in old {
            if let Err(e) = self.delete_predictions_of(org, model).await {
                tracing::warn!(org.id = %org, ltv.model_id = %model, error = %e, "removing a previous ltv model's predictions failed");
            }
        }
    }

    /// Removes a model that was never made current, and its predictions.
    async fn remove_model(&self, org: OrgId, model: Uuid) {
        let removed = async {
            self.delete_predictions_of(org, model).await?;
            let mut tx = self.db.begin().await?;
            store::delete_fitting_model(&mut tx, org, model).await?;
            tx.commit().await?;
            Ok::<(), LtvServiceError>(())
        };
        if let Err(e) = removed.await {
            tracing::warn!(org.id = %org, ltv.model_id = %model, error = %e, "removing an unfinished ltv model failed; the next fit removes it");
        }
    }

    /// Removes models of the organisation left `fitting` by a fit that
    /// stopped without cleaning up (older than a fit attempt may run).
    async fn remove_abandoned_fits(&self, org: OrgId) {
        let limit = time::Duration::seconds(
            i64::try_from(self.config.fit_timeout_secs).unwrap_or(i64::MAX / 4) + 60,
        );
        let before = self.clock.now() - limit;
        match store::abandoned_models(&self.db, org, before).await {
            Ok(ids) => {
                for model in ids {
                    tracing::warn!(org.id = %org, ltv.model_id = %model, "removing an ltv model an earlier fit left unfinished");
                    self.remove_model(org, model).await;
                }
            }
            Err(e) => {
                tracing::warn!(org.id = %org, error = %e, "looking for unfinished ltv models failed")
            }
        }
    }
}

/// Serialising these stored types cannot fail; `Null` is the
/// (unreachable) fallback rather than a panic.
fn to_json<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}
