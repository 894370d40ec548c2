//! The SyncValue use cases: ingest transactions, fit (in a job or inline),
//! read models, predictions and aggregates. Every method takes the
//! organisation and touches only its rows. Other services (bidder, twin)
//! call [`LtvService::aggregates`] and [`LtvService::current_model`] directly.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use kiki_core::{Clock, Currency, JobId, OrgId, TenantScope};
use kiki_explain::Decisions;
use kiki_explain::NewDecision;
use kiki_ltv::{
    CustomerPrediction, CustomerSummary, FittedModel, GammaGammaModel, GroupBy, HoldoutReport,
    LtvError, SegmentValue,
};
use kiki_server::Platform;
use kiki_shield::AuditLog;
use kiki_shield::{Actor, AuditEvent};
use kiki_store::{Db, EnqueueOptions, Jobs};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::config::{DateWindow, LtvConfig};
use crate::domain::{
    FitSpec, IngestReport, NewTransaction, Progress, TransactionKind, all_params, compute_fit,
    explain_fit, predict_options,
};
use crate::error::LtvServiceError;
use crate::store::{self, Deletion, ModelRow, PredictionRow, SortBy, UploadRow};

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

/// A stored model as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LtvModelView {
    pub id: Uuid,
    /// 1, 2, … per organisation; the highest is the current model.
    pub version: i64,
    pub currency: String,
    /// The purchase model: kind, parameters, diagnostics (log-likelihood,
    /// AIC, iterations, convergence, standard errors), time unit, data window.
    pub model: FittedModel,
    /// The spend model, when fitted.
    pub gamma_gamma: Option<GammaGammaModel>,
    /// The holdout check, when the fit held out a period.
    pub holdout: Option<HoldoutReport>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub calibration_end: Option<OffsetDateTime>,
    pub customer_count: i64,
    /// Horizon of the stored predictions, days.
    pub horizon_days: i64,
    /// Annual discount rate of the stored CLVs.
    pub discount_rate: f64,
    /// The job that fitted it (absent for an inline fit).
    pub job_id: Option<Uuid>,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When transactions this model rests on were deleted (absent while its
    /// data is intact): its parameters still describe the old data, so a
    /// refit is suggested.
    #[serde(with = "time::serde::rfc3339::option")]
    pub stale_at: Option<OffsetDateTime>,
    /// Stored transactions the fit left out as unusable (dated outside the
    /// plausible span, or an amount of the wrong sign for its kind).
    pub skipped_transactions: i64,
}

impl TryFrom<ModelRow> for LtvModelView {
    type Error = LtvServiceError;

    fn try_from(r: ModelRow) -> Result<Self, LtvServiceError> {
        let corrupt = |what: &str, e: serde_json::Error| {
            LtvServiceError::Corrupt(format!("model {} {what}: {e}", r.id))
        };
        let model: FittedModel =
            serde_json::from_value(r.fitted.0.clone()).map_err(|e| corrupt("fit", e))?;
        let gamma_gamma = r
            .gamma_gamma
            .as_ref()
            .map(|j| serde_json::from_value(j.0.clone()))
            .transpose()
            .map_err(|e| corrupt("gamma_gamma", e))?;
        let holdout = r
            .holdout
            .as_ref()
            .map(|j| serde_json::from_value(j.0.clone()))
            .transpose()
            .map_err(|e| corrupt("holdout", e))?;
        Ok(LtvModelView {
            id: r.id,
            version: r.version,
            currency: r.currency,
            model,
            gamma_gamma,
            holdout,
            calibration_end: r.calibration_end,
            customer_count: r.customer_count,
            horizon_days: r.horizon_days,
            discount_rate: r.discount_rate,
            job_id: r.job_id,
            created_by: r.created_by,
            created_at: r.created_at,
            stale_at: r.stale_at,
            skipped_transactions: r.skipped_transactions,
        })
    }
}

/// One RFM row to score ad hoc.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"customer_id": "c-1042", "frequency": 2, "recency": 30.43,
    "T": 38.86, "monetary": 35.5}))]
pub struct RfmInput {
    /// Optional label echoed back.
    pub customer_id: Option<String>,
    /// Repeat purchases (whole number).
    #[schema(minimum = 0, multiple_of = 1)]
    pub frequency: f64,
    /// Age at the last purchase, in the model's time unit; at most `T`, and
    /// 0 when `frequency` is 0.
    #[schema(minimum = 0)]
    pub recency: f64,
    /// Age at the end of observation, in the model's time unit.
    #[serde(rename = "T", alias = "t", alias = "age")]
    #[schema(minimum = 0)]
    pub age: f64,
    /// Mean repeat order value in the major unit (e.g. 35.50); without it no
    /// order value or CLV is given for the row.
    #[schema(minimum = 0, exclusive_maximum = 1e12)]
    pub monetary: Option<f64>,
}

/// `POST /v1/ltv/predict`: customer ids (stored predictions) or RFM rows;
/// at least one of the two, each with 1 to 10 000 entries.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"customer_ids": ["c-1042", "c-7"],
    "rows": [{"frequency": 2, "recency": 30.43, "T": 38.86, "monetary": 35.5}]}))]
pub struct PredictRequest {
    /// A model of the organisation (default: the current one).
    pub model_id: Option<Uuid>,
    /// Customers whose stored predictions under the current model to return.
    #[schema(min_items = 1, max_items = 10000)]
    pub customer_ids: Option<Vec<String>>,
    /// RFM rows to score under the given or current model.
    #[schema(min_items = 1, max_items = 10000)]
    pub rows: Option<Vec<RfmInput>>,
}

/// Most ids or rows in one predict request.
pub const MAX_PREDICT_ITEMS: usize = 10_000;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PredictResponse {
    pub model_id: Uuid,
    pub currency: String,
    pub horizon_days: i64,
    /// Stored predictions of the requested customers.
    pub customers: Vec<PredictionRow>,
    /// Requested customer ids without a stored prediction.
    pub missing: Vec<String>,
    /// Predictions of the ad-hoc rows, in request order.
    pub rows: Vec<CustomerPrediction>,
}

/// A customer: their purchases and the current model's forecast.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CustomerView {
    pub customer_id: String,
    pub currency: String,
    /// Orders (refunds not counted).
    pub transactions: u64,
    pub refunds: u64,
    /// Stored rows left out as unusable (dated outside the plausible span,
    /// or an amount of the wrong sign for its kind).
    pub skipped_transactions: u64,
    #[serde(with = "time::serde::rfc3339::option")]
    pub first_purchase: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_purchase: Option<OffsetDateTime>,
    /// Orders less refunds, micros.
    pub total_spent_micros: i64,
    /// Summary and forecast under the current model (absent before a fit or
    /// for customers who first bought after it).
    pub prediction: Option<PredictionRow>,
}

/// CLV figures of one segment or platform.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GroupValue {
    #[serde(flatten)]
    pub value: SegmentValue,
    pub p25_p_alive: f64,
    pub p50_p_alive: f64,
    pub p75_p_alive: f64,
}

/// `GET /v1/ltv/aggregates`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Aggregates {
    pub model_id: Uuid,
    pub model_version: i64,
    pub currency: String,
    pub horizon_days: i64,
    pub by: GroupBy,
    pub groups: Vec<GroupValue>,
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

fn actor_label(actor: &Actor) -> String {
    match actor.id() {
        Some(id) => format!("{}:{id}", actor.kind()),
        None => actor.kind().to_owned(),
    }
}

/// The SyncValue service. Cheap to share behind an `Arc`.
pub struct LtvService {
    db: Db,
    jobs: Jobs,
    audit: AuditLog,
    decisions: Decisions,
    clock: Arc<dyn Clock>,
    config: LtvConfig,
    /// `platform_ltv` per organisation, with the model id it came from: a
    /// model's predictions never change, so the figures are computed once per
    /// model rather than on every simulation and rebalancing run.
    platform_cache: parking_lot::Mutex<HashMap<OrgId, PlatformCacheEntry>>,
}

/// The current model's id and its `platform_ltv` figures.
type PlatformCacheEntry = (Uuid, Vec<PlatformLtv>);

impl std::fmt::Debug for LtvService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LtvService")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl LtvService {
    /// The service on the platform's database, job queue, audit log,
    /// decision records and clock.
    pub fn new(platform: &Platform, config: LtvConfig) -> LtvService {
        LtvService {
            db: platform.db.clone(),
            jobs: platform.jobs.clone(),
            audit: platform.audit.clone(),
            decisions: platform.decisions.clone(),
            clock: platform.clock.clone(),
            config,
            platform_cache: parking_lot::Mutex::new(HashMap::new()),
        }
    }

    pub fn config(&self) -> &LtvConfig {
        &self.config
    }

    /// The currency an upload or fit uses when it names none.
    pub fn default_currency(&self) -> Result<Currency, LtvServiceError> {
        Currency::parse(&self.config.currency)
            .map_err(|_| LtvServiceError::invalid("currency", "ltv.currency is not an ISO code."))
    }

    /// The plausible span of transaction times now.
    pub fn date_window(&self) -> DateWindow {
        self.config.date_window(self.clock.now())
    }

    /// Stores transactions for `org` in one transaction; a row stored before
    /// (same customer, time, amount, currency and order id) is skipped. The
    /// entry point for uploads and for a future commerce module. With
    /// `upload`, the rows are recorded as one upload whose id the report
    /// carries. Rows dated outside the plausible span or with an amount of
    /// the wrong sign for their kind are refused (422), nothing stored.
    ///
    /// Identical rows *within one call* are distinct orders (the n-th copy
    /// gets its own key), so a file with two same-day orders of the same
    /// value keeps both, and sending the same file again adds nothing.
    pub async fn ingest_transactions(
        &self,
        org: OrgId,
        rows: &[NewTransaction],
        upload: Option<NewUpload>,
    ) -> Result<IngestReport, LtvServiceError> {
        let window = self.date_window();
        let mut bad = crate::domain::RowErrors::default();
        for (i, r) in rows.iter().enumerate() {
            let n = i as u64 + 1;
            if !window.contains(r.at) {
                bad.push(
                    n,
                    "timestamp",
                    "Outside the plausible span of transaction dates.",
                );
            }
            let sign_ok = match r.kind {
                TransactionKind::Order => r.amount_micros >= 0,
                TransactionKind::Refund => r.amount_micros <= 0,
            };
            if !sign_ok {
                bad.push(n, "amount", "Orders are at least 0 and refunds at most 0.");
            }
        }
        bad.into_result("batch", ())?;
        let mut seen: std::collections::HashMap<String, u32> = Default::default();
        let keys: Vec<String> = rows
            .iter()
            .map(|r| {
                let base = r.dedup_key();
                let n = seen.entry(base.clone()).or_insert(0);
                *n += 1;
                if *n == 1 {
                    base
                } else {
                    format!("{base}\u{1f}#{n}")
                }
            })
            .collect();
        let now = self.clock.now();
        let received = rows.len() as u64;
        let mut tx = self.db.begin().await?;
        let upload_id = match &upload {
            Some(u) => {
                let id = Uuid::now_v7();
                let row = UploadRow {
                    id,
                    format: u.format.to_owned(),
                    currency: rows
                        .first()
                        .map_or_else(|| self.config.currency.clone(), |r| r.currency.to_string()),
                    received: i64::try_from(received).unwrap_or(i64::MAX),
                    inserted: 0,
                    created_by: u.created_by.clone(),
                    created_at: now,
                };
                store::insert_upload(&mut tx, org, &row).await?;
                Some(id)
            }
            None => None,
        };
        let inserted =
            store::insert_transactions(&mut tx, org, upload_id, rows, &keys, now).await?;
        if let Some(id) = upload_id {
            store::set_upload_inserted(
                &mut tx,
                org,
                id,
                i64::try_from(inserted).unwrap_or(i64::MAX),
            )
            .await?;
        }
        tx.commit().await?;
        tracing::info!(org.id = %org, received, inserted, "ltv transactions ingested");
        Ok(IngestReport {
            received,
            inserted,
            duplicates: received.saturating_sub(inserted),
            upload_id,
        })
    }

    /// Customers with transactions in `currency`.
    pub async fn customer_count(
        &self,
        org: OrgId,
        currency: Currency,
    ) -> Result<u64, LtvServiceError> {
        Ok(store::count_customers(&self.db, org, currency).await?)
    }

    /// Queues an `ltv.fit` job for `org`.
    pub async fn enqueue_fit(
        &self,
        org: OrgId,
        payload: &FitPayload,
    ) -> Result<JobId, LtvServiceError> {
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
        org: OrgId,
        payload: &FitPayload,
        job_id: Option<Uuid>,
        progress: ProgressSlot,
    ) -> Result<LtvModelView, LtvServiceError> {
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
            compute_fit(&transactions, &spec, &mut |p| {
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
        let mut tx = self.db.begin().await?;
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
        let entry = self
            .audit
            .append(
                &mut tx,
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
        self.decisions
            .record(
                &mut tx,
                NewDecision {
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
                },
            )
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

    /// The organisation's current (latest) model.
    pub async fn current_model(&self, org: OrgId) -> Result<Option<LtvModelView>, LtvServiceError> {
        store::current_model(&self.db, org)
            .await?
            .map(LtvModelView::try_from)
            .transpose()
    }

    pub async fn model(&self, org: OrgId, id: Uuid) -> Result<LtvModelView, LtvServiceError> {
        store::get_model(&self.db, org, id)
            .await?
            .ok_or(LtvServiceError::NotFound("The model"))
            .and_then(LtvModelView::try_from)
    }

    /// Models newest first; the cursor is the last version shown.
    pub async fn models(
        &self,
        org: OrgId,
        before_version: Option<i64>,
        limit: u32,
    ) -> Result<(Vec<LtvModelView>, Option<i64>), LtvServiceError> {
        let rows = store::list_models(&self.db, org, before_version, limit + 1).await?;
        let more = rows.len() > limit as usize;
        let items: Vec<LtvModelView> = rows
            .into_iter()
            .take(limit as usize)
            .map(LtvModelView::try_from)
            .collect::<Result<_, _>>()?;
        let next = if more {
            items.last().map(|m| m.version)
        } else {
            None
        };
        Ok((items, next))
    }

    async fn model_or_current(
        &self,
        org: OrgId,
        id: Option<Uuid>,
    ) -> Result<LtvModelView, LtvServiceError> {
        match id {
            Some(id) => self.model(org, id).await,
            None => self
                .current_model(org)
                .await?
                .ok_or(LtvServiceError::NoModel),
        }
    }

    /// Scores stored customers (from the current model's stored predictions)
    /// or ad-hoc RFM rows under the given or current model.
    pub async fn predict(
        &self,
        org: OrgId,
        req: &PredictRequest,
    ) -> Result<PredictResponse, LtvServiceError> {
        let ids = req.customer_ids.as_deref().unwrap_or_default();
        let rows = req.rows.as_deref().unwrap_or_default();
        if ids.is_empty() && rows.is_empty() {
            return Err(LtvServiceError::invalid(
                "customer_ids",
                "Give `customer_ids` or `rows` (or both), each with at least one entry.",
            ));
        }
        for (field, n) in [("customer_ids", ids.len()), ("rows", rows.len())] {
            if n > MAX_PREDICT_ITEMS {
                return Err(LtvServiceError::invalid(
                    field,
                    format!("At most {MAX_PREDICT_ITEMS} entries per request."),
                ));
            }
        }
        let model = self.model_or_current(org, req.model_id).await?;
        let mut customers = Vec::new();
        let mut missing = Vec::new();
        if !ids.is_empty() {
            let current = self.current_model(org).await?.map(|m| m.id);
            if current != Some(model.id) {
                return Err(LtvServiceError::invalid(
                    "model_id",
                    "Stored predictions exist for the current model only; score older models with `rows`.",
                ));
            }
            customers = store::predictions_of(&self.db, org, model.id, ids).await?;
            let found: HashSet<&str> = customers.iter().map(|p| p.customer_id.as_str()).collect();
            missing = ids
                .iter()
                .filter(|id| !found.contains(id.as_str()))
                .cloned()
                .collect();
        }
        let predicted = if rows.is_empty() {
            Vec::new()
        } else {
            let m = model.clone();
            let rows = rows.to_vec();
            tokio::task::spawn_blocking(move || predict_rows(&m, &rows))
                .await
                .map_err(|e| {
                    LtvServiceError::Internal(format!("the predict task stopped: {e}"))
                })??
        };
        Ok(PredictResponse {
            model_id: model.id,
            currency: model.currency,
            horizon_days: model.horizon_days,
            customers,
            missing,
            rows: predicted,
        })
    }

    /// A customer's purchases and current forecast.
    pub async fn customer(
        &self,
        org: OrgId,
        customer_id: &str,
    ) -> Result<CustomerView, LtvServiceError> {
        let model = self.current_model(org).await?;
        let currency = match &model {
            Some(m) => Currency::parse(&m.currency)
                .map_err(|_| LtvServiceError::Corrupt(format!("model {} currency", m.id)))?,
            None => self.default_currency()?,
        };
        let ids = [customer_id.to_owned()];
        let loaded =
            store::load_transactions(&self.db, org, currency, Some(&ids), &self.date_window())
                .await?;
        let txs = &loaded.transactions;
        let prediction = match &model {
            Some(m) => store::predictions_of(&self.db, org, m.id, &ids)
                .await?
                .into_iter()
                .next(),
            None => None,
        };
        if txs.is_empty() && prediction.is_none() && loaded.skipped == 0 {
            return Err(LtvServiceError::NotFound("The customer"));
        }
        let purchases = || txs.iter().filter(|t| t.amount_micros >= 0);
        Ok(CustomerView {
            customer_id: customer_id.to_owned(),
            currency: currency.to_string(),
            transactions: loaded.orders,
            refunds: loaded.refunds,
            skipped_transactions: loaded.skipped,
            first_purchase: purchases().next().map(|t| t.at),
            last_purchase: purchases().next_back().map(|t| t.at),
            total_spent_micros: txs
                .iter()
                .fold(0i64, |a, t| a.saturating_add(t.amount_micros)),
            prediction,
        })
    }

    /// A page of the current model's predictions; `offset` rows in. Empty
    /// (and `None` model) before the first fit.
    pub async fn customers(
        &self,
        org: OrgId,
        sort: SortBy,
        offset: u64,
        limit: u32,
    ) -> Result<(Option<Uuid>, Vec<PredictionRow>), LtvServiceError> {
        let Some(model) = store::current_model(&self.db, org).await? else {
            return Ok((None, Vec::new()));
        };
        let rows = store::page_predictions(&self.db, org, model.id, sort, offset, limit).await?;
        Ok((Some(model.id), rows))
    }

    /// CLV totals and quartiles, and P(alive) quartiles, per segment,
    /// acquisition platform or overall, from the current model's stored
    /// predictions. `None` before the first fit. The bidder and twin read
    /// this to set CPA caps and simulate customer value.
    pub async fn aggregates(
        &self,
        org: OrgId,
        by: GroupBy,
    ) -> Result<Option<Aggregates>, LtvServiceError> {
        let Some(model) = store::current_model(&self.db, org).await? else {
            return Ok(None);
        };
        let rows = store::all_predictions(&self.db, org, model.id).await?;
        let mut alive: BTreeMap<Option<String>, Vec<f64>> = BTreeMap::new();
        let predictions: Vec<CustomerPrediction> = rows
            .into_iter()
            .map(|r| {
                let key = match by {
                    GroupBy::All => None,
                    GroupBy::Segment => r.segment.clone(),
                    GroupBy::Platform => r.platform.clone(),
                };
                alive.entry(key).or_default().push(r.p_alive);
                CustomerPrediction {
                    customer_id: r.customer_id,
                    segment: r.segment,
                    platform: r.platform,
                    expected_purchases: r.expected_purchases,
                    p_alive: r.p_alive,
                    churn_risk: r.churn_risk,
                    expected_aov_micros: r.expected_aov_micros,
                    clv_micros: r.clv_micros,
                }
            })
            .collect();
        let groups = kiki_ltv::aggregate(&predictions, by)
            .into_iter()
            .map(|value| {
                let mut a = alive.remove(&value.key).unwrap_or_default();
                a.sort_by(f64::total_cmp);
                GroupValue {
                    p25_p_alive: quantile(&a, 0.25),
                    p50_p_alive: quantile(&a, 0.5),
                    p75_p_alive: quantile(&a, 0.75),
                    value,
                }
            })
            .collect();
        Ok(Some(Aggregates {
            model_id: model.id,
            model_version: model.version,
            currency: model.currency,
            horizon_days: model.horizon_days,
            by,
            groups,
        }))
    }
}

/// Who asks for a deletion, for its audit entry.
#[derive(Debug, Clone)]
pub struct Requester {
    pub actor: Actor,
    pub request_id: Option<String>,
}

/// How an upload is recorded.
#[derive(Debug, Clone)]
pub struct NewUpload {
    /// `csv` or `json`.
    pub format: &'static str,
    /// `user:<id>`, `api_key:<id>` or `system:<name>`.
    pub created_by: String,
}

/// What a deletion or erasure removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"transactions_deleted": 535, "predictions_deleted": 200,
    "stale_model_id": "01938f2e-7c1a-7d1e-9a3b-4c5d6e7f8091"}))]
pub struct DeletionReport {
    pub transactions_deleted: u64,
    /// Stored predictions removed: those of customers left without any
    /// transaction (for an erasure, every prediction of the customer).
    pub predictions_deleted: u64,
    /// The current model, marked stale now because data it rests on is
    /// gone; absent when nothing was deleted, there is no model, or it was
    /// stale already.
    pub stale_model_id: Option<Uuid>,
}

/// A customer reference for audit entries: the audit log is append-only,
/// so it keeps a keyed digest of the customer id rather than the id itself.
fn customer_ref(org: OrgId, customer_id: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(org.0.as_bytes());
    h.update(customer_id.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

impl LtvService {
    /// Deletes the transactions one upload stored. 404 for an upload the
    /// organisation does not have.
    pub async fn delete_upload(
        &self,
        scope: &TenantScope,
        upload: Uuid,
        by: &Requester,
    ) -> Result<DeletionReport, LtvServiceError> {
        let org = scope.org_id();
        let mut tx = self.db.begin().await?;
        let Some(row) = store::get_upload(&mut tx, org, upload).await? else {
            return Err(LtvServiceError::NotFound("The upload"));
        };
        let deleted = store::delete_transactions(&mut tx, org, Deletion::Upload(upload)).await?;
        store::delete_uploads(&mut tx, org, Some(upload)).await?;
        let report = self.after_deletion(&mut tx, org, deleted, None).await?;
        self.audit_deletion(
            &mut tx,
            org,
            by,
            "ltv.upload.deleted",
            ("ltv_upload", upload.to_string()),
            json!({"format": row.format, "received": row.received, "inserted": row.inserted}),
            &report,
        )
        .await?;
        tx.commit().await?;
        self.platform_cache.lock().remove(&org);
        Ok(report)
    }

    /// Deletes every transaction of one customer and their stored
    /// predictions. 404 when the customer has neither.
    pub async fn delete_customer_transactions(
        &self,
        scope: &TenantScope,
        customer_id: &str,
        by: &Requester,
    ) -> Result<DeletionReport, LtvServiceError> {
        let org = scope.org_id();
        let mut tx = self.db.begin().await?;
        let deleted =
            store::delete_transactions(&mut tx, org, Deletion::Customer(customer_id)).await?;
        let report = self
            .after_deletion(&mut tx, org, deleted, Some(customer_id))
            .await?;
        if report.transactions_deleted == 0 && report.predictions_deleted == 0 {
            return Err(LtvServiceError::NotFound("The customer"));
        }
        self.audit_deletion(
            &mut tx,
            org,
            by,
            "ltv.customer.transactions_deleted",
            ("ltv_customer", customer_ref(org, customer_id)),
            json!({}),
            &report,
        )
        .await?;
        tx.commit().await?;
        self.platform_cache.lock().remove(&org);
        Ok(report)
    }

    /// Deletes all of the organisation's transactions, upload records and
    /// stored predictions. The models stay (they hold parameters, not
    /// customers); the current one is marked stale.
    pub async fn delete_all_transactions(
        &self,
        scope: &TenantScope,
        by: &Requester,
    ) -> Result<DeletionReport, LtvServiceError> {
        let org = scope.org_id();
        let mut tx = self.db.begin().await?;
        let deleted = store::delete_transactions(&mut tx, org, Deletion::All).await?;
        let uploads = store::delete_uploads(&mut tx, org, None).await?;
        let report = self.after_deletion(&mut tx, org, deleted, None).await?;
        self.audit_deletion(
            &mut tx,
            org,
            by,
            "ltv.transactions.deleted",
            ("ltv_transactions", org.to_string()),
            json!({"uploads_deleted": uploads}),
            &report,
        )
        .await?;
        tx.commit().await?;
        self.platform_cache.lock().remove(&org);
        Ok(report)
    }

    /// Erases a customer from the LTV context: their transactions and every
    /// stored prediction of them, under any model, in one transaction with
    /// its audit entry (which names the customer by a digest only). Erasing
    /// a customer with nothing stored succeeds with zero counts, so a
    /// data-protection request can be replayed safely. The entry point of
    /// an organisation-wide erasure flow.
    pub async fn erase_customer(
        &self,
        scope: &TenantScope,
        customer_id: &str,
        by: &Requester,
    ) -> Result<DeletionReport, LtvServiceError> {
        let org = scope.org_id();
        let mut tx = self.db.begin().await?;
        let deleted =
            store::delete_transactions(&mut tx, org, Deletion::Customer(customer_id)).await?;
        let report = self
            .after_deletion(&mut tx, org, deleted, Some(customer_id))
            .await?;
        self.audit_deletion(
            &mut tx,
            org,
            by,
            "ltv.customer.erased",
            ("ltv_customer", customer_ref(org, customer_id)),
            json!({}),
            &report,
        )
        .await?;
        tx.commit().await?;
        self.platform_cache.lock().remove(&org);
        tracing::info!(org.id = %org, "ltv customer erased");
        Ok(report)
    }

    /// Removes the predictions the deletion left without data (all of
    /// `customer`'s, and those of customers without transactions) and marks
    /// the current model stale when transactions were deleted.
    async fn after_deletion(
        &self,
        tx: &mut kiki_store::Tx<'_>,
        org: OrgId,
        transactions_deleted: u64,
        customer: Option<&str>,
    ) -> Result<DeletionReport, LtvServiceError> {
        let mut predictions_deleted = match customer {
            Some(c) => store::delete_customer_predictions(tx, org, c).await?,
            None => 0,
        };
        predictions_deleted += store::delete_orphan_predictions(tx, org).await?;
        let stale_model_id = if transactions_deleted > 0 || predictions_deleted > 0 {
            store::mark_current_model_stale(tx, org, self.clock.now()).await?
        } else {
            None
        };
        Ok(DeletionReport {
            transactions_deleted,
            predictions_deleted,
            stale_model_id,
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn audit_deletion(
        &self,
        tx: &mut kiki_store::Tx<'_>,
        org: OrgId,
        by: &Requester,
        action: &str,
        (kind, id): (&str, String),
        mut details: serde_json::Value,
        report: &DeletionReport,
    ) -> Result<(), LtvServiceError> {
        if let Some(map) = details.as_object_mut() {
            map.insert(
                "transactions_deleted".into(),
                json!(report.transactions_deleted),
            );
            map.insert(
                "predictions_deleted".into(),
                json!(report.predictions_deleted),
            );
            map.insert("stale_model_id".into(), json!(report.stale_model_id));
        }
        self.audit
            .append(
                tx,
                AuditEvent::new(Some(org), by.actor.clone(), action)
                    .target(kind, id)
                    .details(details)
                    .context(None, None, by.request_id.clone()),
            )
            .await?;
        Ok(())
    }
}

/// CLV per acquisition platform, as the twin's market model reads it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PlatformLtv {
    /// The acquisition platform as uploaded (lower-case).
    pub platform: String,
    /// Customers with a CLV on this platform.
    pub customers: u64,
    pub mean_micros: i64,
    /// Standard deviation of CLV across those customers (population form).
    pub std_dev_micros: i64,
}

impl LtvService {
    /// Mean and standard deviation of CLV per acquisition platform from the
    /// current model's stored predictions. Empty before the first fit, when
    /// the model was fitted in another currency, or when no spend model gave
    /// CLVs. Customers without a platform are left out.
    pub async fn platform_ltv(
        &self,
        org: OrgId,
        currency: &str,
    ) -> Result<Vec<PlatformLtv>, LtvServiceError> {
        let Some(model) = store::current_model(&self.db, org).await? else {
            return Ok(Vec::new());
        };
        if !model.currency.eq_ignore_ascii_case(currency) {
            return Ok(Vec::new());
        }
        if let Some((id, hit)) = self.platform_cache.lock().get(&org)
            && *id == model.id
        {
            return Ok(hit.clone());
        }
        let rows = store::all_predictions(&self.db, org, model.id).await?;
        let mut by: BTreeMap<String, Vec<f64>> = BTreeMap::new();
        for r in rows {
            if let (Some(p), Some(clv)) = (r.platform, r.clv_micros) {
                by.entry(p.to_ascii_lowercase())
                    .or_default()
                    .push(clv as f64);
            }
        }
        let stats: Vec<PlatformLtv> = by
            .into_iter()
            .map(|(platform, v)| platform_stats(platform, &v))
            .collect();
        self.platform_cache
            .lock()
            .insert(org, (model.id, stats.clone()));
        Ok(stats)
    }

    /// Every organisation with a fitted model, for system jobs that act per
    /// organisation (the bidder's scheduled segment sync). Not tenant data:
    /// only the ids.
    pub async fn orgs_with_models(&self) -> Result<Vec<OrgId>, LtvServiceError> {
        Ok(store::orgs_with_models(&self.db).await?)
    }
}

/// Mean and population standard deviation (Welford), rounded to micros.
fn platform_stats(platform: String, values: &[f64]) -> PlatformLtv {
    let (mut n, mut mean, mut m2) = (0.0f64, 0.0f64, 0.0f64);
    for &x in values {
        n += 1.0;
        let d = x - mean;
        mean += d / n;
        m2 += d * (x - mean);
    }
    let var = if n > 0.0 { m2 / n } else { 0.0 };
    PlatformLtv {
        platform,
        customers: values.len() as u64,
        mean_micros: mean.round() as i64,
        std_dev_micros: var.sqrt().round() as i64,
    }
}

/// The first sentence of an engine message, without its (batch-relative)
/// row list.
fn reason(e: &LtvError) -> String {
    let s = e.to_string();
    match s.split_once(" in row") {
        Some((head, _)) => format!("{head}."),
        None => s,
    }
}

/// Scores ad-hoc rows; rows with `monetary` get order value and CLV when
/// the model has a spend model. Bad rows are reported by request position.
fn predict_rows(
    model: &LtvModelView,
    rows: &[RfmInput],
) -> Result<Vec<CustomerPrediction>, LtvServiceError> {
    let mut bad = crate::domain::RowErrors::default();
    for (i, r) in rows.iter().enumerate() {
        if let Some(m) = r.monetary
            && !(0.0..1e12).contains(&m)
        {
            bad.push(
                i as u64 + 1,
                &format!("rows[{i}].monetary"),
                "Must be a non-negative amount in the major unit.",
            );
        }
    }
    let bad = bad.into_result("request", ());
    bad?;
    let options = predict_options(
        u32::try_from(model.horizon_days).unwrap_or(365),
        model.discount_rate,
    );
    let summary = |i: usize, r: &RfmInput| CustomerSummary {
        customer_id: r
            .customer_id
            .clone()
            .unwrap_or_else(|| format!("row {}", i + 1)),
        frequency: r.frequency,
        recency: r.recency,
        age: r.age,
        monetary_micros: r.monetary.map_or(0, |m| {
            (m * kiki_core::money::MICROS_PER_UNIT as f64).round() as i64
        }),
        segment: None,
        platform: None,
    };
    let mut out: Vec<Option<CustomerPrediction>> = vec![None; rows.len()];
    let with_spend = model.gamma_gamma.is_some();
    let (valued, plain): (Vec<usize>, Vec<usize>) =
        (0..rows.len()).partition(|&i| with_spend && rows[i].monetary.is_some());
    for (group, spend) in [(valued, model.gamma_gamma.as_ref()), (plain, None)] {
        if group.is_empty() {
            continue;
        }
        let summaries: Vec<CustomerSummary> = group.iter().map(|&i| summary(i, &rows[i])).collect();
        match kiki_ltv::predict_batch(&model.model, spend, &summaries, &options) {
            Ok(preds) => {
                for (&i, p) in group.iter().zip(preds) {
                    out[i] = Some(p);
                }
            }
            Err(e) => {
                let Some(list) = e.offending_rows() else {
                    return Err(e.into());
                };
                let mut errors = crate::domain::RowErrors::default();
                for &k in &list.rows {
                    if let Some(&i) = group.get(k) {
                        errors.push(i as u64 + 1, &format!("rows[{i}]"), reason(&e));
                    }
                }
                errors.total = errors.total.max(list.total);
                return errors.into_result("request", Vec::new());
            }
        }
    }
    Ok(out.into_iter().flatten().collect())
}

/// Serialising these stored types cannot fail; `Null` is the
/// (unreachable) fallback rather than a panic.
fn to_json<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or(serde_json::Value::Null)
}

/// `created_by` for a fit requested by `actor`: `user:<id>`, `api_key:<id>`, `system:<name>`.
pub fn created_by(actor: &Actor) -> String {
    actor_label(actor)
}

#[cfg(test)]
mod tests {

    #[test]
    fn platform_stats_are_the_mean_and_population_standard_deviation() {
        let p = super::platform_stats(
            "meta".into(),
            &[2.0e6, 4.0e6, 4.0e6, 4.0e6, 5.0e6, 5.0e6, 7.0e6, 9.0e6],
        );
        assert_eq!(p.customers, 8);
        assert_eq!(p.mean_micros, 5_000_000);
        assert_eq!(p.std_dev_micros, 2_000_000);
        let one = super::platform_stats("google".into(), &[3.0e6]);
        assert_eq!((one.mean_micros, one.std_dev_micros), (3_000_000, 0));
    }

    use super::*;

    #[test]
    fn quantiles_interpolate_between_ranks() {
        let v = [0.0, 0.25, 0.5, 1.0];
        assert_eq!(quantile(&v, 0.0), 0.0);
        assert!((quantile(&v, 0.5) - 0.375).abs() < 1e-12);
        assert_eq!(quantile(&v, 1.0), 1.0);
        assert_eq!(quantile(&[], 0.5), 0.0);
    }

    #[test]
    fn engine_reasons_drop_the_batch_row_list() {
        let e = LtvError::RecencyExceedsAge {
            rows: kiki_ltv::RowList::collect([true]),
        };
        assert_eq!(
            reason(&e),
            "The recency (time of the last purchase) is later than the customer's age T."
        );
    }

    #[test]
    fn actors_are_labelled_by_kind_and_id() {
        assert_eq!(actor_label(&Actor::System("cli".into())), "system:cli");
        assert_eq!(actor_label(&Actor::Anonymous), "anonymous");
    }
}
