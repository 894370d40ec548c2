//! Reads: models, predictions (stored or scored ad hoc), customers, CLV
//! aggregates and the per-platform CLV the twin reads.

use std::collections::{BTreeMap, HashSet};

use kiki_core::page::BAD_CURSOR;
use kiki_core::stats::quantile;
use kiki_core::{Currency, FieldError, Money, OrgId, Page, PageRequest, TenantScope};
use kiki_ltv::{CustomerPrediction, CustomerSummary, GroupBy, LtvError, SegmentValue};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{LtvModelView, LtvService};
use crate::domain::predict_options;
use crate::error::LtvServiceError;
use crate::store::{self, PredictionKey, PredictionRecord, SortBy};

/// The key of the customer list: the model it pages, its order, and the
/// last row's sort values.
#[derive(Debug, Serialize, Deserialize)]
struct CustomersKey {
    model: Uuid,
    sort: SortBy,
    row: PredictionKey,
}

fn cursor_error(f: FieldError) -> LtvServiceError {
    LtvServiceError::invalid(f.field, f.message)
}

/// One RFM row to score ad hoc.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"customer_id": "c-1042", "frequency": 2, "recency": 30.43,
    "T": 38.86, "monetary": {"micros": 35_500_000, "currency": "USD"}}))]
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
    #[serde(rename = "T")]
    #[schema(minimum = 0)]
    pub age: f64,
    /// Mean repeat order value, at least 0 and under a trillion, in the
    /// model's currency; without it no order value or CLV is given for the
    /// row.
    #[schema(value_type = Option<kiki_core::money::NonNegativeMoney>)]
    pub monetary: Option<Money>,
}

/// `POST /v1/ltv/predict`: customer ids (stored predictions) or RFM rows;
/// at least one of the two, each with 1 to 10 000 entries.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"customer_ids": ["c-1042", "c-7"],
    "rows": [{"frequency": 2, "recency": 30.43, "T": 38.86,
              "monetary": {"micros": 35_500_000, "currency": "USD"}}]}))]
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

kiki_server::request_schema!(pub PredictRequestSchema for PredictRequest, serde_json::json!({
    "anyOf": [
        {"required": ["customer_ids"], "properties": {"customer_ids": {"type": "array"}}},
        {"required": ["rows"], "properties": {"rows": {"type": "array"}}}
    ]
}));

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
    pub rows: Vec<ScoredRow>,
}

/// A stored per-customer summary and forecast.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PredictionRow {
    pub model_id: Uuid,
    pub customer_id: String,
    /// Repeat purchase days in the observation window.
    pub frequency: f64,
    /// Age at the last purchase, in the model's time unit.
    pub recency: f64,
    /// Age at the end of observation (T), in the model's time unit.
    pub age: f64,
    /// Mean value of the repeat purchase days.
    pub monetary: Money,
    /// Expected purchases over the model's horizon.
    pub expected_purchases: f64,
    pub p_alive: f64,
    pub churn_risk: f64,
    /// Expected value of the customer's next order (with a spend model).
    pub expected_aov: Option<Money>,
    /// Discounted value of the expected purchases over the horizon (with a
    /// spend model).
    pub clv: Option<Money>,
    pub segment: Option<String>,
    pub platform: Option<String>,
}

impl TryFrom<PredictionRecord> for PredictionRow {
    type Error = LtvServiceError;

    fn try_from(r: PredictionRecord) -> Result<Self, LtvServiceError> {
        let currency = Currency::parse(&r.currency).map_err(|_| {
            LtvServiceError::Corrupt(format!(
                "prediction of model {} has currency {:?}",
                r.model_id, r.currency
            ))
        })?;
        let money = |m: i64| Money::from_micros(m, currency);
        Ok(PredictionRow {
            model_id: r.model_id,
            customer_id: r.customer_id,
            frequency: r.frequency,
            recency: r.recency,
            age: r.age,
            monetary: money(r.monetary_micros),
            expected_purchases: r.expected_purchases,
            p_alive: r.p_alive,
            churn_risk: r.churn_risk,
            expected_aov: r.expected_aov_micros.map(money),
            clv: r.clv_micros.map(money),
            segment: r.segment,
            platform: r.platform,
        })
    }
}

fn views(rows: Vec<PredictionRecord>) -> Result<Vec<PredictionRow>, LtvServiceError> {
    rows.into_iter().map(PredictionRow::try_from).collect()
}

/// The forecast of an ad-hoc RFM row.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ScoredRow {
    /// The row's `customer_id`, or `row N` (its position) without one.
    pub customer_id: String,
    /// Expected purchases over the model's horizon.
    pub expected_purchases: f64,
    pub p_alive: f64,
    pub churn_risk: f64,
    /// With a spend model and the row's `monetary`.
    pub expected_aov: Option<Money>,
    /// With a spend model and the row's `monetary`.
    pub clv: Option<Money>,
}

impl ScoredRow {
    fn new(p: CustomerPrediction, currency: Currency) -> ScoredRow {
        let money = |m: i64| Money::from_micros(m, currency);
        ScoredRow {
            customer_id: p.customer_id,
            expected_purchases: p.expected_purchases,
            p_alive: p.p_alive,
            churn_risk: p.churn_risk,
            expected_aov: p.expected_aov_micros.map(money),
            clv: p.clv_micros.map(money),
        }
    }
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
    /// Orders less refunds.
    pub total_spent: Money,
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

/// CLV figures of one segment or platform, as the API shows them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = LtvGroupValue)]
pub struct GroupValueView {
    /// The segment or platform; absent for customers without one (and for
    /// the single group of `by=all`).
    pub key: Option<String>,
    pub count: u64,
    /// Customers with a CLV (all of them when a spend model was fitted).
    pub valued: u64,
    pub total_clv: Money,
    pub mean_clv: Money,
    pub p25_clv: Money,
    pub p50_clv: Money,
    pub p75_clv: Money,
    /// Expected purchases of the group over the horizon, summed.
    pub expected_purchases: f64,
    pub mean_p_alive: f64,
    pub p25_p_alive: f64,
    pub p50_p_alive: f64,
    pub p75_p_alive: f64,
}

/// `GET /v1/ltv/aggregates`: [`Aggregates`] with money as `Money`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = LtvAggregates)]
pub struct AggregatesView {
    pub model_id: Uuid,
    pub model_version: i64,
    pub currency: String,
    /// Horizon of the CLVs, days.
    pub horizon_days: i64,
    pub by: GroupBy,
    pub groups: Vec<GroupValueView>,
}

impl TryFrom<Aggregates> for AggregatesView {
    type Error = LtvServiceError;

    fn try_from(a: Aggregates) -> Result<Self, LtvServiceError> {
        let currency = Currency::parse(&a.currency)
            .map_err(|_| LtvServiceError::Corrupt(format!("model {} currency", a.model_id)))?;
        let money = |m: i64| Money::from_micros(m, currency);
        Ok(AggregatesView {
            model_id: a.model_id,
            model_version: a.model_version,
            currency: a.currency,
            horizon_days: a.horizon_days,
            by: a.by,
            groups: a
                .groups
                .into_iter()
                .map(|g| GroupValueView {
                    key: g.value.key,
                    count: g.value.count,
                    valued: g.value.valued,
                    total_clv: money(g.value.total_clv_micros),
                    mean_clv: money(g.value.mean_clv_micros),
                    p25_clv: money(g.value.p25_clv_micros),
                    p50_clv: money(g.value.p50_clv_micros),
                    p75_clv: money(g.value.p75_clv_micros),
                    expected_purchases: g.value.expected_purchases,
                    mean_p_alive: g.value.mean_p_alive,
                    p25_p_alive: g.p25_p_alive,
                    p50_p_alive: g.p50_p_alive,
                    p75_p_alive: g.p75_p_alive,
                })
                .collect(),
        })
    }
}

/// CLV aggregates of the current model, as other modules read them (the
/// bidder's segment values, the twin's market model); the API shows them as
/// [`AggregatesView`].
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Aggregates {
    pub model_id: Uuid,
    pub model_version: i64,
    pub currency: String,
    pub horizon_days: i64,
    pub by: GroupBy,
    pub groups: Vec<GroupValue>,
}

impl LtvService {
    /// The organisation's current (latest) model.
    pub async fn current_model(
        &self,
        scope: &TenantScope,
    ) -> Result<Option<LtvModelView>, LtvServiceError> {
        let org = scope.org_id();
        store::current_model(&self.db, org)
            .await?
            .map(LtvModelView::try_from)
            .transpose()
    }

    pub async fn model(
        &self,
        scope: &TenantScope,
        id: Uuid,
    ) -> Result<LtvModelView, LtvServiceError> {
        let org = scope.org_id();
        store::get_model(&self.db, org, id)
            .await?
            .ok_or(LtvServiceError::NotFound("The model"))
            .and_then(LtvModelView::try_from)
    }

    /// Models newest first, a page at a time (the key is the version).
    pub async fn models(
        &self,
        scope: &TenantScope,
        page: &PageRequest,
    ) -> Result<Page<LtvModelView>, LtvServiceError> {
        let org = scope.org_id();
        let before: Option<i64> = page.after().map_err(cursor_error)?;
        let rows = store::list_models(&self.db, org, before, page.fetch()).await?;
        let items = rows
            .into_iter()
            .map(LtvModelView::try_from)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::keyset(items, page.limit(), |m| m.version))
    }

    async fn model_or_current(
        &self,
        scope: &TenantScope,
        id: Option<Uuid>,
    ) -> Result<LtvModelView, LtvServiceError> {
        match id {
            Some(id) => self.model(scope, id).await,
            None => self
                .current_model(scope)
                .await?
                .ok_or(LtvServiceError::NoModel),
        }
    }

    /// Scores stored customers (from the current model's stored predictions)
    /// or ad-hoc RFM rows under the given or current model.
    pub async fn predict(
        &self,
        scope: &TenantScope,
        req: &PredictRequest,
    ) -> Result<PredictResponse, LtvServiceError> {
        let org = scope.org_id();
        let ids = req.customer_ids.as_deref().unwrap_or_default();
        let rows = req.rows.as_deref().unwrap_or_default();
        for (field, given) in [
            ("customer_ids", req.customer_ids.as_ref().map(Vec::len)),
            ("rows", req.rows.as_ref().map(Vec::len)),
        ] {
            if given == Some(0) {
                return Err(LtvServiceError::invalid(
                    field,
                    "Give at least one entry, or leave the field out.",
                ));
            }
        }
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
        let model = self.model_or_current(scope, req.model_id).await?;
        let mut customers = Vec::new();
        let mut missing = Vec::new();
        if !ids.is_empty() {
            let current = self.current_model(scope).await?.map(|m| m.id);
            if current != Some(model.id) {
                return Err(LtvServiceError::invalid(
                    "model_id",
                    "Stored predictions exist for the current model only; score older models with `rows`.",
                ));
            }
            customers = views(store::predictions_of(&self.db, org, model.id, ids).await?)?;
            let found: HashSet<&str> = customers.iter().map(|p| p.customer_id.as_str()).collect();
            missing = ids
                .iter()
                .filter(|id| !found.contains(id.as_str()))
                .cloned()
                .collect();
        }
        let currency = Currency::parse(&model.currency)
            .map_err(|_| LtvServiceError::Corrupt(format!("model {} currency", model.id)))?;
        let predicted = if rows.is_empty() {
            Vec::new()
        } else {
            let m = model.clone();
            let rows = rows.to_vec();
            tokio::task::spawn_blocking(move || predict_rows(&m, currency, &rows))
                .await
                .map_err(|e| LtvServiceError::Internal(format!("the predict task stopped: {e}")))??
                .into_iter()
                .map(|p| ScoredRow::new(p, currency))
                .collect()
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
        scope: &TenantScope,
        customer_id: &str,
    ) -> Result<CustomerView, LtvServiceError> {
        let org = scope.org_id();
        let model = self.current_model(scope).await?;
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
            Some(m) => views(store::predictions_of(&self.db, org, m.id, &ids).await?)?
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
            total_spent: Money::from_micros(
                txs.iter()
                    .fold(0i64, |a, t| a.saturating_add(t.amount_micros)),
                currency,
            ),
            prediction,
        })
    }

    /// A page of the current model's predictions in `sort` order; empty
    /// before the first fit. The cursor names the model it pages: a refit
    /// replaces every prediction, so an old cursor is refused rather than
    /// silently skipping or repeating rows.
    pub async fn customers(
        &self,
        scope: &TenantScope,
        sort: SortBy,
        page: &PageRequest,
    ) -> Result<Page<PredictionRow>, LtvServiceError> {
        let org = scope.org_id();
        let after: Option<CustomersKey> = page.after().map_err(cursor_error)?;
        if after.as_ref().is_some_and(|k| k.sort != sort) {
            return Err(LtvServiceError::invalid("cursor", BAD_CURSOR));
        }
        let model = store::current_model(&self.db, org).await?;
        if let Some(k) = &after
            && model.as_ref().map(|m| m.id) != Some(k.model)
        {
            return Err(LtvServiceError::invalid(
                "cursor",
                "A new model was fitted since this page; start again without a cursor.",
            ));
        }
        let Some(model) = model else {
            return Ok(Page {
                items: Vec::new(),
                next_cursor: None,
            });
        };
        let rows = store::page_predictions(
            &self.db,
            org,
            model.id,
            sort,
            after.map(|k| k.row),
            page.fetch(),
        )
        .await?;
        Ok(Page::keyset(views(rows)?, page.limit(), |r| CustomersKey {
            model: model.id,
            sort,
            row: PredictionKey {
                clv_micros: r.clv.map(|m| m.micros),
                churn_risk: r.churn_risk,
                customer_id: r.customer_id.clone(),
            },
        }))
    }

    /// CLV totals and quartiles, and P(alive) quartiles, per segment,
    /// acquisition platform or overall, from the current model's stored
    /// predictions. `None` before the first fit. The bidder and twin read
    /// this to set CPA caps and simulate customer value.
    pub async fn aggregates(
        &self,
        scope: &TenantScope,
        by: GroupBy,
    ) -> Result<Option<Aggregates>, LtvServiceError> {
        let org = scope.org_id();
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
                    p25_p_alive: quantile(&a, 0.25).unwrap_or(0.0),
                    p50_p_alive: quantile(&a, 0.5).unwrap_or(0.0),
                    p75_p_alive: quantile(&a, 0.75).unwrap_or(0.0),
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
        scope: &TenantScope,
        currency: &str,
    ) -> Result<Vec<PlatformLtv>, LtvServiceError> {
        let org = scope.org_id();
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
    currency: Currency,
    rows: &[RfmInput],
) -> Result<Vec<CustomerPrediction>, LtvServiceError> {
    let mut bad = crate::domain::RowErrors::default();
    for (i, r) in rows.iter().enumerate() {
        let Some(m) = r.monetary else { continue };
        let field = format!("rows[{i}].monetary");
        if m.currency != currency {
            bad.push(
                i as u64 + 1,
                &field,
                format!(
                    "Must be in the model's currency, {currency}, not {}.",
                    m.currency
                ),
            );
        } else if !(0..=crate::domain::MAX_AMOUNT_MICROS).contains(&m.micros) {
            bad.push(
                i as u64 + 1,
                &field,
                "Must be at least 0 and under a trillion in the major unit.",
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
        monetary_micros: r.monetary.map_or(0, |m| m.micros),
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
    fn engine_reasons_drop_the_batch_row_list() {
        let e = LtvError::RecencyExceedsAge {
            rows: kiki_ltv::RowList::collect([true]),
        };
        assert_eq!(
            reason(&e),
            "The recency (time of the last purchase) is later than the customer's age T."
        );
    }
}
