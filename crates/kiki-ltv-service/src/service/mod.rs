//! The SyncValue use cases: ingest transactions, fit (in a job or inline),
//! read models, predictions and aggregates. Every method takes the
//! organisation and touches only its rows. Other services (bidder, twin)
//! call [`LtvService::aggregates`] and [`LtvService::current_model`] directly.
//!
//! - `ingest.rs`: storing uploaded transactions.
//! - `fit.rs`: queueing and running fits.
//! - `reads.rs`: models, predictions, customers, aggregates, `platform_ltv`.
//! - `new_customers.rs`: customers whose first order falls in a span, with
//!   their predicted CLV (what analytics reads).
//! - `erase.rs`: deleting uploads and transactions, erasing customers.

mod erase;
mod fit;
mod ingest;
mod new_customers;
mod reads;

use std::collections::HashMap;
use std::sync::Arc;

use kiki_core::{Clock, Currency, OrgId};
use kiki_explain::Recorder;
use kiki_ltv::{FittedModel, GammaGammaModel, HoldoutReport};
use kiki_server::Platform;
use kiki_shield::Actor;
use kiki_store::{Db, Jobs};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::config::{DateWindow, LtvConfig};
use crate::error::LtvServiceError;
use crate::store::ModelRow;

pub use crate::store::SortBy;
pub use erase::{DeletionReport, Requester};
pub use fit::{FIT_JOB_KIND, FitPayload, NoProgress, ProgressSink};
pub use ingest::NewUpload;
pub use new_customers::{ModelRef, NewCustomerCount, NewCustomers};
pub use reads::{
    Aggregates, AggregatesView, CustomerView, GroupValue, GroupValueView, MAX_PREDICT_ITEMS,
    PlatformLtv, PredictRequest, PredictRequestSchema, PredictResponse, PredictionRow, RfmInput,
    ScoredRow,
};

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
    /// Writes each change with its audit entry and decision record.
    record: Recorder,
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
            record: platform.recorder(),
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
}

/// `created_by` for a fit requested by `actor`: `user:<id>`, `api_key:<id>`, `system:<name>`.
pub fn created_by(actor: &Actor) -> String {
    actor_label(actor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_are_labelled_by_kind_and_id() {
        assert_eq!(actor_label(&Actor::System("cli".into())), "system:cli");
        assert_eq!(actor_label(&Actor::Anonymous), "anonymous");
    }
}
