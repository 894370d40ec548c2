//! The service's own types and pure rules: uploaded rows and their
//! validation, fit requests, the fit pipeline over the engine (summaries →
//! fit → spend model → holdout → predictions) and the horizon arithmetic.
//! Nothing here does IO; the service runs [`compute_fit`] on a blocking thread.

use std::collections::BTreeMap;

use kiki_core::{Currency, Money};
use kiki_ltv::{
    CalibrationHoldout, CustomerPrediction, CustomerSummary, DataWindow, FitOptions, FitProgress,
    FittedModel, GammaGamma, GammaGammaModel, HoldoutReport, LtvError, ModelKind, PredictOptions,
    TimeUnit, Transaction,
};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::config::DateWindow;
use crate::error::{LtvServiceError, RowError};

/// Longest customer id, order id, segment or platform accepted.
pub const MAX_TEXT_CHARS: usize = 200;
/// Bad rows listed in an error (all are counted).
pub const MAX_LISTED_ROWS: usize = 50;

/// Whether an uploaded row is a purchase or money given back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TransactionKind {
    /// A purchase; its amount is at least 0.
    #[default]
    Order,
    /// Money returned to the customer. Its amount (written with or without a
    /// minus sign) lowers the value of the order with the same `order_id`,
    /// or else of the customer's latest purchase day on or before it.
    Refund,
}

impl TransactionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TransactionKind::Order => "order",
            TransactionKind::Refund => "refund",
        }
    }

    /// Reads `order` or `refund` (any case); empty means `order`.
    pub fn parse(s: &str) -> Option<TransactionKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" | "order" => Some(TransactionKind::Order),
            "refund" => Some(TransactionKind::Refund),
            _ => None,
        }
    }
}

/// One order or refund as the service stores it. A future commerce module
/// feeds these through [`crate::LtvService::ingest_transactions`].
#[derive(Debug, Clone, PartialEq)]
pub struct NewTransaction {
    pub customer_id: String,
    pub at: OffsetDateTime,
    /// At least 0 for an order; at most 0 for a refund.
    pub amount_micros: i64,
    pub currency: Currency,
    /// Makes two orders at the same time for the same amount distinct; a
    /// refund names the order it gives money back for.
    pub order_id: Option<String>,
    pub segment: Option<String>,
    pub platform: Option<String>,
    pub kind: TransactionKind,
}

impl NewTransaction {
    /// The idempotency key: the same order uploaded twice is stored once.
    /// Refunds carry a negative amount, so a refund never matches its order.
    pub fn dedup_key(&self) -> String {
        format!(
            "{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}",
            self.customer_id,
            kiki_store::schema::sqlite_timestamp(self.at),
            self.amount_micros,
            self.currency,
            self.order_id.as_deref().unwrap_or("")
        )
    }
}

/// Checks a row's time against the plausible span and its amount against
/// its kind; the amount to store (refunds negative).
fn check_time_and_amount(
    errors: &mut RowErrors,
    row: u64,
    at: Option<OffsetDateTime>,
    amount_micros: Option<i64>,
    kind: Option<TransactionKind>,
    window: &DateWindow,
) -> Option<i64> {
    if let Some(at) = at
        && !window.contains(at)
    {
        errors.push(
            row,
            "timestamp",
            format!(
                "{} is outside the plausible span {} to {} (ltv.earliest_transaction_date, ltv.max_future_days); check the date and its unit.",
                at.date(),
                window.earliest.date(),
                window.latest.date()
            ),
        );
    }
    let amount = amount_micros?;
    match kind? {
        TransactionKind::Order if amount < 0 => {
            errors.push(
                row,
                "amount",
                "An order amount must be at least 0; mark money given back with kind `refund`.",
            );
            None
        }
        TransactionKind::Order => Some(amount),
        TransactionKind::Refund => Some(amount.checked_abs().map_or(i64::MIN + 1, |a| -a)),
    }
}

/// A `kind` value, or an error naming the row.
fn kind_field(errors: &mut RowErrors, row: u64, value: Option<&str>) -> Option<TransactionKind> {
    let k = TransactionKind::parse(value.unwrap_or(""));
    if k.is_none() {
        errors.push(row, "kind", "Must be `order` (the default) or `refund`.");
    }
    k
}

/// What an upload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"received": 535, "inserted": 530, "duplicates": 5,
    "upload_id": "01938f2e-7c1a-7d1e-9a3b-4c5d6e7f8091"}))]
pub struct IngestReport {
    /// Rows in the upload.
    pub received: u64,
    /// Rows stored now.
    pub inserted: u64,
    /// Rows already stored by an earlier upload (same customer, time,
    /// amount, currency and order id), skipped.
    pub duplicates: u64,
    /// The upload's id: `DELETE /v1/ltv/uploads/{id}` removes the rows it
    /// stored. Absent when rows were ingested without an upload.
    pub upload_id: Option<uuid::Uuid>,
}

/// One transaction of a JSON upload. Every field is checked and every
/// problem reported by row and field (422); the types below are what passes.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"customer_id": "c-1042", "timestamp": "2024-03-01T12:30:00Z",
    "amount": "35.50", "order_id": "o-9001", "segment": "vip", "platform": "meta"}))]
pub struct TransactionRow {
    /// Required; 1 to 200 characters.
    #[schema(required = true, min_length = 1, max_length = 200, example = "c-1042")]
    pub customer_id: Option<String>,
    /// Required: RFC 3339, `YYYY-MM-DD`, `YYYYMMDD`, `YYYY-MM-DD HH:MM:SS`
    /// (UTC) or Unix seconds, between `ltv.earliest_transaction_date`
    /// (default 1990-01-01) and `ltv.max_future_days` (default 1) after now.
    #[schema(required = true, value_type = String, example = "2024-03-01T12:30:00Z")]
    pub timestamp: Option<serde_json::Value>,
    /// Required: a decimal in the major unit with at most six decimals,
    /// `"12.34"` or `12.34`; at least 0 for an order. A refund may be
    /// written with or without a minus sign.
    #[schema(required = true, value_type = String, pattern = r"^[-+]?[0-9]*(\.[0-9]{1,6})?$", example = "35.50")]
    pub amount: Option<serde_json::Value>,
    /// Optional; at most 200 characters. A refund names the order it is for.
    #[schema(max_length = 200)]
    pub order_id: Option<String>,
    /// Optional; at most 200 characters.
    #[schema(max_length = 200)]
    pub segment: Option<String>,
    /// The acquiring ad platform; optional, at most 200 characters.
    #[schema(max_length = 200)]
    pub platform: Option<String>,
    /// `order` (default) or `refund`.
    #[schema(value_type = Option<TransactionKind>)]
    pub kind: Option<String>,
}

/// Collects row errors up to a cap while counting them all.
#[derive(Debug, Default)]
pub struct RowErrors {
    pub rows: Vec<RowError>,
    pub total: usize,
}

impl RowErrors {
    pub fn push(&mut self, line: u64, field: &str, message: impl Into<String>) {
        self.total += 1;
        if self.rows.len() < MAX_LISTED_ROWS {
            self.rows.push(RowError {
                line,
                field: field.to_owned(),
                message: message.into(),
            });
        }
    }

    pub fn into_result<T>(self, what: &str, value: T) -> Result<T, LtvServiceError> {
        if self.total == 0 {
            return Ok(value);
        }
        let message = match self.rows.first() {
            Some(first) => format!(
                "The {what} has {} invalid value(s); nothing was stored. The first is in row {}, `{}`: {}",
                self.total, first.line, first.field, first.message
            ),
            None => format!("The {what} has {} invalid value(s).", self.total),
        };
        Err(LtvServiceError::BadRows {
            message,
            rows: self.rows,
            total: self.total,
        })
    }
}

fn text_field(
    errors: &mut RowErrors,
    row: u64,
    field: &str,
    value: Option<&str>,
) -> Option<String> {
    let v = value.map(str::trim).filter(|s| !s.is_empty())?;
    if v.chars().count() > MAX_TEXT_CHARS {
        errors.push(
            row,
            field,
            format!("Must be at most {MAX_TEXT_CHARS} characters."),
        );
        return None;
    }
    Some(v.to_owned())
}

/// Engine transactions from stored rows with their order ids: a refund
/// (negative amount) that names an order of the same customer is dated at
/// that order, so it lowers that order's purchase day; other refunds keep
/// their own date and lower the latest purchase day on or before it. The
/// result is sorted oldest first again.
pub fn apply_refund_references(rows: Vec<(Transaction, Option<String>)>) -> Vec<Transaction> {
    let mut orders: std::collections::HashMap<(&str, &str), OffsetDateTime> = Default::default();
    for (t, order) in &rows {
        if let Some(order) = order
            && t.amount_micros >= 0
        {
            orders
                .entry((t.customer_id.as_str(), order.as_str()))
                .and_modify(|at| *at = (*at).min(t.at))
                .or_insert(t.at);
        }
    }
    let dates: Vec<Option<OffsetDateTime>> = rows
        .iter()
        .map(|(t, order)| match order {
            Some(order) if t.amount_micros < 0 => orders
                .get(&(t.customer_id.as_str(), order.as_str()))
                .copied(),
            _ => None,
        })
        .collect();
    let mut out: Vec<Transaction> = rows
        .into_iter()
        .zip(dates)
        .map(|((mut t, _), at)| {
            if let Some(at) = at {
                t.at = at;
            }
            t
        })
        .collect();
    out.sort_by_key(|t| t.at);
    out
}

/// Validates JSON rows (numbered from 1); every problem is listed, nothing
/// is returned unless all rows are valid.
pub fn rows_from_json(
    rows: &[TransactionRow],
    currency: Currency,
    window: &DateWindow,
) -> Result<Vec<NewTransaction>, LtvServiceError> {
    let mut errors = RowErrors::default();
    let mut out = Vec::with_capacity(rows.len());
    if rows.is_empty() {
        errors.push(0, "transactions", "The upload holds no transactions.");
    }
    for (i, r) in rows.iter().enumerate() {
        let n = i as u64 + 1;
        let id = text_field(&mut errors, n, "customer_id", r.customer_id.as_deref());
        if id.is_none() && r.customer_id.as_deref().is_none_or(|s| s.trim().is_empty()) {
            errors.push(n, "customer_id", "The customer id is missing or empty.");
        }
        let at = match &r.timestamp {
            Some(serde_json::Value::String(s)) => {
                kiki_ltv::csv_import::parse_timestamp(s.trim(), kiki_ltv::TimestampFormat::Auto)
            }
            Some(serde_json::Value::Number(n)) => n
                .as_i64()
                .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok()),
            _ => None,
        };
        if at.is_none() {
            errors.push(
                n,
                "timestamp",
                "Must be a timestamp such as 2024-03-01T12:30:00Z, 2024-03-01 or Unix seconds.",
            );
        }
        let amount = match &r.amount {
            Some(serde_json::Value::String(s)) => Money::parse_decimal(s.trim(), currency).ok(),
            Some(serde_json::Value::Number(v)) => {
                Money::parse_decimal(&v.to_string(), currency).ok()
            }
            _ => None,
        };
        if amount.is_none() {
            errors.push(
                n,
                "amount",
                "Must be a decimal amount in the major unit with at most six decimals, e.g. \"12.34\".",
            );
        }
        let kind = kind_field(&mut errors, n, r.kind.as_deref());
        let amount =
            check_time_and_amount(&mut errors, n, at, amount.map(|m| m.micros), kind, window);
        let order_id = text_field(&mut errors, n, "order_id", r.order_id.as_deref());
        let segment = text_field(&mut errors, n, "segment", r.segment.as_deref());
        let platform = text_field(&mut errors, n, "platform", r.platform.as_deref());
        if let (Some(customer_id), Some(at), Some(amount_micros), Some(kind)) =
            (id, at, amount, kind)
        {
            out.push(NewTransaction {
                customer_id,
                at,
                amount_micros,
                currency,
                order_id,
                segment,
                platform,
                kind,
            });
        }
    }
    errors.into_result("upload", out)
}

/// Validates a CSV upload with the engine's importer (columns
/// `customer_id`, `timestamp`, `amount`, optional `segment`, `platform`)
/// plus optional `order_id` and `kind` columns read here. Errors carry file lines.
pub fn rows_from_csv(
    body: &[u8],
    currency: Currency,
    window: &DateWindow,
) -> Result<Vec<NewTransaction>, LtvServiceError> {
    let options = kiki_ltv::CsvOptions {
        max_errors: MAX_LISTED_ROWS,
        ..kiki_ltv::CsvOptions::default()
    };
    let parsed = match kiki_ltv::parse_transactions_csv(body, &options) {
        Ok(p) => p,
        Err(LtvError::Csv(e)) => {
            let mut errors = RowErrors::default();
            errors.total = e.total.saturating_sub(e.errors.len());
            for r in e.errors {
                errors.push(r.line, &r.field, r.message);
            }
            return errors.into_result("file", Vec::new());
        }
        Err(e) => return Err(e.into()),
    };
    // The importer keeps one transaction per data record, in file order, so
    // a second pass lines up the order ids (and checks text lengths).
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(body);
    let headers = rdr.headers().ok().cloned();
    let column = |name: &str| {
        headers
            .as_ref()
            .and_then(|h| h.iter().position(|c| c.eq_ignore_ascii_case(name)))
    };
    let (order_col, kind_col) = (column("order_id"), column("kind"));
    let mut errors = RowErrors::default();
    let mut out = Vec::with_capacity(parsed.len());
    if parsed.is_empty() {
        errors.push(1, "file", "The file holds no transactions.");
    }
    for (t, record) in parsed.into_iter().zip(rdr.records()) {
        let (line, order_id, kind) = match &record {
            Ok(r) => (
                r.position().map_or(0, csv::Position::line),
                order_col.and_then(|c| r.get(c)),
                kind_col.and_then(|c| r.get(c)),
            ),
            Err(_) => (0, None, None),
        };
        let order_id = text_field(&mut errors, line, "order_id", order_id);
        let kind = kind_field(&mut errors, line, kind);
        let amount = check_time_and_amount(
            &mut errors,
            line,
            Some(t.at),
            Some(t.amount_micros),
            kind,
            window,
        );
        for (field, value) in [
            ("customer_id", Some(t.customer_id.as_str())),
            ("segment", t.segment.as_deref()),
            ("platform", t.platform.as_deref()),
        ] {
            text_field(&mut errors, line, field, value);
        }
        if let (Some(amount_micros), Some(kind)) = (amount, kind) {
            out.push(NewTransaction {
                customer_id: t.customer_id,
                at: t.at,
                amount_micros,
                currency,
                order_id,
                segment: t.segment,
                platform: t.platform,
                kind,
            });
        }
    }
    errors.into_result("file", out)
}

/// The purchase model to fit, by its API name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ModelChoice {
    Bgnbd,
    Pareto,
    Mbgnbd,
    Bgbb,
}

impl ModelChoice {
    pub fn kind(self) -> ModelKind {
        match self {
            ModelChoice::Bgnbd => ModelKind::BgNbd,
            ModelChoice::Pareto => ModelKind::ParetoNbd,
            ModelChoice::Mbgnbd => ModelKind::ModifiedBgNbd,
            ModelChoice::Bgbb => ModelKind::BgBb,
        }
    }
}

/// `POST /v1/ltv/fits`. Every field is optional; unknown fields are refused.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"model": "bgnbd", "gamma_gamma": true, "unit": "weeks",
    "holdout_days": 90, "horizon_days": 365, "discount_rate": 0.1, "penalizer": 0.001,
    "currency": "USD"}))]
pub struct FitRequest {
    /// `bgnbd` (default), `pareto`, `mbgnbd` or `bgbb`.
    pub model: Option<ModelChoice>,
    /// Fit the Gamma-Gamma spend model too, for order values and CLV (default true).
    pub gamma_gamma: Option<bool>,
    /// `days` or `weeks` (default); for `bgbb`, the length of one opportunity.
    pub unit: Option<TimeUnit>,
    /// Hold out the last N days to score the model (not with `bgbb`; not
    /// with `calibration_end`).
    #[schema(minimum = 1, maximum = 3650)]
    pub holdout_days: Option<u32>,
    /// Or an explicit end of the calibration period (RFC 3339 or `YYYY-MM-DD`).
    #[schema(example = "1997-09-30")]
    pub calibration_end: Option<String>,
    /// End of observation (RFC 3339 or `YYYY-MM-DD`; default: the latest transaction).
    #[schema(example = "1998-06-30")]
    pub observation_end: Option<String>,
    /// Forecast horizon in days (default `ltv.horizon_days`).
    #[serde(alias = "horizon")]
    #[schema(minimum = 1, maximum = 3650)]
    pub horizon_days: Option<u32>,
    /// Annual discount rate, at least 0 and below 1 (default `ltv.discount_rate`).
    #[schema(minimum = 0, exclusive_maximum = 1)]
    pub discount_rate: Option<f64>,
    /// L2 penalizer (default 0).
    #[schema(minimum = 0, maximum = 100)]
    pub penalizer: Option<f64>,
    /// ISO 4217 currency of the transactions to fit on (default `ltv.currency`).
    #[schema(pattern = "^[A-Za-z]{3}$", example = "USD")]
    pub currency: Option<String>,
}

/// A validated fit request, as a job payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitSpec {
    pub kind: ModelKind,
    pub gamma_gamma: bool,
    pub unit: TimeUnit,
    pub holdout_days: Option<u32>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub calibration_end: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub observation_end: Option<OffsetDateTime>,
    pub horizon_days: u32,
    pub discount_rate: f64,
    pub penalizer: f64,
    pub currency: Currency,
}

fn parse_time(field: &str, s: &str) -> Result<OffsetDateTime, LtvServiceError> {
    OffsetDateTime::parse(s.trim(), &Rfc3339)
        .ok()
        .or_else(|| {
            kiki_ltv::csv_import::parse_timestamp(s.trim(), kiki_ltv::TimestampFormat::Date)
        })
        .ok_or_else(|| {
            LtvServiceError::invalid(
                field,
                "Must be an RFC 3339 time or a date such as 1997-09-30.",
            )
        })
}

impl FitRequest {
    /// Checks every field; defaults come from the `[ltv]` section.
    pub fn validate(&self, cfg: &crate::LtvConfig) -> Result<FitSpec, LtvServiceError> {
        let kind = self.model.unwrap_or(ModelChoice::Bgnbd).kind();
        if let Some(d) = self.holdout_days
            && !(1..=3650).contains(&d)
        {
            return Err(LtvServiceError::invalid(
                "holdout_days",
                "Must be between 1 and 3650 days.",
            ));
        }
        let calibration_end = self
            .calibration_end
            .as_deref()
            .map(|s| parse_time("calibration_end", s))
            .transpose()?;
        if self.holdout_days.is_some() && calibration_end.is_some() {
            return Err(LtvServiceError::invalid(
                "calibration_end",
                "Give either `holdout_days` or `calibration_end`, not both.",
            ));
        }
        if kind == ModelKind::BgBb && (self.holdout_days.is_some() || calibration_end.is_some()) {
            return Err(LtvServiceError::invalid(
                "holdout_days",
                "A holdout check is available for the continuous-time models (bgnbd, pareto, mbgnbd), not for bgbb.",
            ));
        }
        let horizon_days = self.horizon_days.unwrap_or(cfg.horizon_days);
        if !(1..=3650).contains(&horizon_days) {
            return Err(LtvServiceError::invalid(
                "horizon_days",
                "Must be between 1 and 3650 days.",
            ));
        }
        let discount_rate = self.discount_rate.unwrap_or(cfg.discount_rate);
        if !(discount_rate.is_finite() && (0.0..1.0).contains(&discount_rate)) {
            return Err(LtvServiceError::invalid(
                "discount_rate",
                "Must be an annual rate of at least 0 and below 1, e.g. 0.10.",
            ));
        }
        let penalizer = self.penalizer.unwrap_or(0.0);
        if !(penalizer.is_finite() && (0.0..=100.0).contains(&penalizer)) {
            return Err(LtvServiceError::invalid(
                "penalizer",
                "Must be between 0 and 100 (small values such as 0.001 to 0.1 are usual).",
            ));
        }
        let currency =
            Currency::parse(self.currency.as_deref().unwrap_or(&cfg.currency)).map_err(|_| {
                LtvServiceError::invalid("currency", "Must be a three-letter ISO code such as USD.")
            })?;
        Ok(FitSpec {
            kind,
            gamma_gamma: self.gamma_gamma.unwrap_or(true),
            unit: self.unit.unwrap_or(TimeUnit::Weeks),
            holdout_days: self.holdout_days,
            calibration_end,
            observation_end: self
                .observation_end
                .as_deref()
                .map(|s| parse_time("observation_end", s))
                .transpose()?,
            horizon_days,
            discount_rate,
            penalizer,
            currency,
        })
    }
}

/// Monthly-ish periods covering exactly `horizon_days`, discounted so that a
/// year of periods compounds to the annual rate.
pub fn predict_options(horizon_days: u32, annual_discount_rate: f64) -> PredictOptions {
    let periods = ((f64::from(horizon_days) / 30.0).round() as u32).max(1);
    let period_days = f64::from(horizon_days) / f64::from(periods);
    PredictOptions {
        periods,
        period_days,
        discount_rate: (1.0 + annual_discount_rate).powf(period_days / 365.0) - 1.0,
    }
}

/// Where a running fit is, for the job's progress.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub fraction: f64,
    pub message: String,
}

/// Everything a fit produces, ready to store.
#[derive(Debug, Clone)]
pub struct FitOutcome {
    pub fitted: FittedModel,
    pub gamma_gamma: Option<GammaGammaModel>,
    pub holdout: Option<HoldoutReport>,
    pub window: DataWindow,
    pub calibration_end: Option<OffsetDateTime>,
    pub summaries: Vec<CustomerSummary>,
    pub predictions: Vec<CustomerPrediction>,
}

/// The fit pipeline. `progress` is called often; it must be cheap.
pub fn compute_fit(
    transactions: &[Transaction],
    spec: &FitSpec,
    progress: &mut dyn FnMut(Progress),
) -> Result<FitOutcome, LtvServiceError> {
    let (Some(first), Some(last)) = (
        transactions.iter().map(|t| t.at).min(),
        transactions.iter().map(|t| t.at).max(),
    ) else {
        return Err(LtvError::EmptyData.into());
    };
    let observation_end = spec.observation_end.unwrap_or(last);
    if observation_end < first {
        return Err(LtvServiceError::invalid(
            "observation_end",
            "The observation end is before the first transaction.",
        ));
    }
    let calibration_end = match (spec.calibration_end, spec.holdout_days) {
        (Some(c), _) => Some(c),
        (None, Some(days)) => Some(observation_end - Duration::days(i64::from(days))),
        (None, None) => None,
    };
    progress(Progress {
        fraction: 0.05,
        message: "summarising transactions".into(),
    });
    let summaries = if spec.kind == ModelKind::BgBb {
        kiki_ltv::summarize_periods(transactions, observation_end, spec.unit)
    } else {
        kiki_ltv::summarize(transactions, observation_end, spec.unit)
    };
    let split: Option<Vec<CalibrationHoldout>> = match calibration_end {
        None => None,
        Some(c) => {
            if c <= first {
                return Err(LtvServiceError::invalid(
                    "calibration_end",
                    "The calibration period must end after the first transaction.",
                ));
            }
            Some(kiki_ltv::calibration_holdout_split(
                transactions,
                c,
                observation_end,
                spec.unit,
            )?)
        }
    };
    let fit_data: Vec<CustomerSummary> = match &split {
        Some(s) => s.iter().map(|c| c.calibration.clone()).collect(),
        None => summaries.clone(),
    };
    let options = FitOptions {
        time_unit: spec.unit,
        penalizer: spec.penalizer,
        ..FitOptions::default()
    };
    let name = spec.kind.name();
    let mut report = |share: (f64, f64), what: &str, p: FitProgress| {
        let done = if p.max_iterations > 0 {
            (p.evaluations as f64 / p.max_iterations as f64).min(1.0)
        } else {
            0.0
        };
        progress(Progress {
            fraction: share.0 + (share.1 - share.0) * done,
            message: format!("fitting {what}: {} evaluations", p.evaluations),
        });
    };
    let purchase_failed = |e: LtvError| model_failed(spec.kind, e);
    let mut fitted = kiki_ltv::fit(spec.kind, &fit_data, &options, &mut |p| {
        report((0.1, 0.6), name, p)
    })
    .map_err(purchase_failed)?;
    let window = DataWindow {
        start: first,
        end: calibration_end.unwrap_or(observation_end),
    };
    fitted.data_window = Some(window);
    let gamma_gamma = if spec.gamma_gamma {
        Some(
            GammaGamma::fit(&fit_data, &options, &mut |p| {
                report((0.6, 0.75), "Gamma-Gamma", p)
            })
            .map_err(|e| {
                if e.is_model_failure() {
                    LtvServiceError::ModelFailed {
                        message: format!(
                            "The Gamma-Gamma spend model cannot be used on this data: {e} Fit with `gamma_gamma`: false for purchase forecasts without order values, or fit again with more repeat purchases."
                        ),
                    }
                } else {
                    e.into()
                }
            })?,
        )
    } else {
        None
    };
    let holdout = match &split {
        Some(s) => {
            progress(Progress {
                fraction: 0.8,
                message: "scoring the holdout period".into(),
            });
            Some(kiki_ltv::holdout_report(&fitted, s, false).map_err(purchase_failed)?)
        }
        None => None,
    };
    progress(Progress {
        fraction: 0.85,
        message: format!("predicting {} customers", summaries.len()),
    });
    let predictions = kiki_ltv::predict_batch(
        &fitted,
        gamma_gamma.as_ref(),
        &summaries,
        &predict_options(spec.horizon_days, spec.discount_rate),
    )
    .map_err(purchase_failed)?;
    Ok(FitOutcome {
        fitted,
        gamma_gamma,
        holdout,
        window,
        calibration_end,
        summaries,
        predictions,
    })
}

/// A model failure (optimiser or numerical) as a 422 naming the model and
/// what to try; other engine errors pass through.
fn model_failed(kind: ModelKind, e: LtvError) -> LtvServiceError {
    if !e.is_model_failure() {
        return e.into();
    }
    let others: Vec<&str> = [
        (ModelKind::BgNbd, "`bgnbd`"),
        (ModelKind::ParetoNbd, "`pareto`"),
        (ModelKind::ModifiedBgNbd, "`mbgnbd`"),
    ]
    .into_iter()
    .filter(|(k, _)| *k != kind)
    .map(|(_, n)| n)
    .collect();
    LtvServiceError::ModelFailed {
        message: format!(
            "The {} model cannot be used on this data: {e} Try another model (`model`: {}), a small `penalizer` such as 0.01, or fit again when more transactions are stored.",
            kind.name(),
            others.join(" or ")
        ),
    }
}

/// A plain-language account of a fit, for its decision record.
pub fn explain_fit(outcome: &FitOutcome, spec: &FitSpec) -> String {
    let f = &outcome.fitted;
    let mut s = format!(
        "Fitted a {} model on {} customers ({} to {}, in {}) by maximum likelihood; log-likelihood {:.2} after {} iterations, {}.",
        f.kind.name(),
        f.n_customers,
        outcome.window.start.date(),
        outcome.window.end.date(),
        match spec.unit {
            TimeUnit::Days => "days",
            TimeUnit::Weeks => "weeks",
        },
        f.log_likelihood,
        f.iterations,
        if f.converged {
            "converged"
        } else {
            "NOT converged: read the parameters with care"
        }
    );
    if let Some(h) = &outcome.holdout {
        s.push_str(&format!(
            " On the held-out period it predicted {:.0} purchases against {:.0} actual (mean absolute error {:.3} per customer).",
            h.total_predicted, h.total_actual, h.mae
        ));
    }
    if outcome.gamma_gamma.is_some() {
        s.push_str(&format!(
            " CLV is the discounted value of expected orders over {} days at {:.1} % a year.",
            spec.horizon_days,
            spec.discount_rate * 100.0
        ));
    }
    s
}

/// The parameter map of a fitted model, with the spend model's under `gg_*`.
pub fn all_params(outcome: &FitOutcome) -> BTreeMap<String, f64> {
    let mut m = outcome.fitted.params.clone();
    if let Some(gg) = &outcome.gamma_gamma {
        m.insert("gg_p".into(), gg.params.p);
        m.insert("gg_q".into(), gg.params.q);
        m.insert("gg_gamma".into(), gg.params.gamma);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wide_window() -> DateWindow {
        crate::LtvConfig::default().date_window(time::macros::datetime!(2026-01-01 00:00 UTC))
    }

    fn check_options(horizon: u32, annual: f64, periods: u32, period_days: f64) {
        let o = predict_options(horizon, annual);
        assert_eq!(o.periods, periods);
        assert!((o.period_days - period_days).abs() < 1e-9);
        let yearly = (1.0 + o.discount_rate).powf(365.0 / o.period_days) - 1.0;
        assert!((yearly - annual).abs() < 1e-9, "{yearly}");
    }

    #[test]
    fn horizons_are_cut_into_monthly_periods_that_compound_to_the_annual_rate() {
        check_options(365, 0.10, 12, 365.0 / 12.0);
        check_options(30, 0.10, 1, 30.0);
        check_options(7, 0.0, 1, 7.0);
        check_options(730, 0.05, 24, 730.0 / 24.0);
    }

    #[test]
    fn json_rows_with_problems_are_listed_by_row_and_field() {
        let rows: Vec<TransactionRow> = serde_json::from_value(serde_json::json!([
            {"customer_id": "a", "timestamp": "2024-01-01", "amount": "10.00"},
            {"customer_id": "", "timestamp": "yesterday", "amount": 5},
            {"customer_id": "b", "timestamp": 1700000000, "amount": "1.2345678"}
        ]))
        .unwrap_or_default();
        let err = rows_from_json(&rows, Currency::USD, &wide_window()).err();
        let Some(LtvServiceError::BadRows { rows, total, .. }) = err else {
            panic!("expected bad rows, got {err:?}");
        };
        assert_eq!(total, 3);
        let found: Vec<(u64, &str)> = rows.iter().map(|r| (r.line, r.field.as_str())).collect();
        assert_eq!(
            found,
            vec![(2, "customer_id"), (2, "timestamp"), (3, "amount")]
        );
    }

    #[test]
    fn a_refund_naming_an_order_is_dated_at_that_order() {
        let at = |d: i64| OffsetDateTime::UNIX_EPOCH + Duration::days(d);
        let t = |id: &str, d: i64, amount: i64| Transaction {
            customer_id: id.into(),
            at: at(d),
            amount_micros: amount,
            segment: None,
            platform: None,
        };
        let rows = vec![
            (t("a", 1, 10), Some("o1".to_owned())),
            (t("a", 5, 20), Some("o2".to_owned())),
            (t("a", 9, -10), Some("o1".to_owned())),
            (t("b", 9, -3), Some("o1".to_owned())),
            (t("a", 10, -1), None),
        ];
        let out = apply_refund_references(rows);
        let seen: Vec<(&str, i64, i64)> = out
            .iter()
            .map(|t| {
                (
                    t.customer_id.as_str(),
                    (t.at - at(0)).whole_days(),
                    t.amount_micros,
                )
            })
            .collect();
        assert_eq!(
            seen,
            vec![
                ("a", 1, 10),
                ("a", 1, -10),
                ("a", 5, 20),
                ("b", 9, -3),
                ("a", 10, -1)
            ]
        );
    }

    #[test]
    fn uploads_refuse_implausible_dates_and_negative_orders_but_take_refunds() {
        let rows: Vec<TransactionRow> = serde_json::from_value(serde_json::json!([
            {"customer_id": "a", "timestamp": -99_999_999_999i64, "amount": "10.00"},
            {"customer_id": "a", "timestamp": "2026-03-01", "amount": "10.00"},
            {"customer_id": "a", "timestamp": "2024-01-01", "amount": "-5"},
            {"customer_id": "a", "timestamp": "2024-01-02", "amount": "5", "kind": "refund"},
            {"customer_id": "a", "timestamp": "2024-01-02", "amount": "-2", "kind": "REFUND"},
            {"customer_id": "a", "timestamp": "2024-01-02", "amount": "2", "kind": "gift"}
        ]))
        .unwrap_or_default();
        let err = rows_from_json(&rows, Currency::USD, &wide_window()).err();
        let Some(LtvServiceError::BadRows { rows: bad, .. }) = err else {
            panic!("expected bad rows, got {err:?}");
        };
        let found: Vec<(u64, &str)> = bad.iter().map(|r| (r.line, r.field.as_str())).collect();
        assert_eq!(
            found,
            vec![
                (1, "timestamp"),
                (2, "timestamp"),
                (3, "amount"),
                (6, "kind")
            ]
        );
        let ok = rows_from_json(&rows[3..5], Currency::USD, &wide_window()).unwrap_or_default();
        let amounts: Vec<(i64, TransactionKind)> =
            ok.iter().map(|t| (t.amount_micros, t.kind)).collect();
        assert_eq!(
            amounts,
            vec![
                (-5_000_000, TransactionKind::Refund),
                (-2_000_000, TransactionKind::Refund)
            ]
        );
    }

    #[test]
    fn the_dedup_key_distinguishes_order_ids_and_ignores_segments() {
        let t = NewTransaction {
            customer_id: "c".into(),
            at: OffsetDateTime::UNIX_EPOCH,
            amount_micros: 1,
            currency: Currency::USD,
            order_id: None,
            segment: None,
            platform: None,
            kind: TransactionKind::Order,
        };
        let with_order = NewTransaction {
            order_id: Some("o1".into()),
            ..t.clone()
        };
        let with_segment = NewTransaction {
            segment: Some("vip".into()),
            ..t.clone()
        };
        assert_ne!(t.dedup_key(), with_order.dedup_key());
        assert_eq!(t.dedup_key(), with_segment.dedup_key());
    }

    #[test]
    fn fit_requests_refuse_bad_fields_by_name() {
        let cfg = crate::LtvConfig::default();
        let field = |r: FitRequest| match r.validate(&cfg) {
            Err(LtvServiceError::Invalid { field, .. }) => field,
            other => panic!("expected an invalid field, got {other:?}"),
        };
        assert_eq!(
            field(FitRequest {
                discount_rate: Some(2.0),
                ..FitRequest::default()
            }),
            "discount_rate"
        );
        assert_eq!(
            field(FitRequest {
                model: Some(ModelChoice::Bgbb),
                holdout_days: Some(30),
                ..FitRequest::default()
            }),
            "holdout_days"
        );
        assert_eq!(
            field(FitRequest {
                calibration_end: Some("soon".into()),
                ..FitRequest::default()
            }),
            "calibration_end"
        );
        let ok = FitRequest::default().validate(&cfg);
        assert!(matches!(
            ok,
            Ok(FitSpec {
                kind: ModelKind::BgNbd,
                gamma_gamma: true,
                ..
            })
        ));
    }
}
