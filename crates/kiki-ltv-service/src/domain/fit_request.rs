//! The fit request (`POST /v1/ltv/fits`) and its validation into a
//! [`FitSpec`], the job payload, with defaults from the `[ltv]` section.

use kiki_core::Currency;
use kiki_ltv::{ModelKind, TimeUnit};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::LtvServiceError;

/// The purchase model to fit, by its API name. The names a fitted model is
/// shown with (`bg_nbd`, `pareto_nbd`, `modified_bg_nbd`, `bg_bb`) are
/// accepted too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ModelChoice {
    #[serde(alias = "bg_nbd")]
    Bgnbd,
    #[serde(alias = "pareto_nbd")]
    Pareto,
    #[serde(alias = "modified_bg_nbd")]
    Mbgnbd,
    #[serde(alias = "bg_bb")]
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
    #[schema(schema_with = day_or_time, example = "1997-09-30")]
    pub calibration_end: Option<String>,
    /// End of observation (RFC 3339 or `YYYY-MM-DD`; default: the latest transaction).
    #[schema(schema_with = day_or_time, example = "1998-06-30")]
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

/// An RFC 3339 time or a `YYYY-MM-DD` day, or `null`.
fn day_or_time() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{AnyOfBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
    let string = |f| {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(f)))
    };
    utoipa::openapi::schema::Schema::AnyOf(
        AnyOfBuilder::new()
            .item(string(KnownFormat::DateTime))
            .item(string(KnownFormat::Date))
            .item(ObjectBuilder::new().schema_type(Type::Null))
            .build(),
    )
}

kiki_server::request_schema!(pub FitRequestSchema for FitRequest, serde_json::json!({
    "allOf": [
        {"not": {
            "required": ["holdout_days", "calibration_end"],
            "properties": {"holdout_days": {"type": "integer"}, "calibration_end": {"type": "string"}}
        }},
        {
            "if": {"required": ["model"], "properties": {"model": {"const": "bgbb"}}},
            "then": {"properties": {"holdout_days": {"type": "null"}, "calibration_end": {"type": "null"}}}
        }
    ],
    "description": "`POST /v1/ltv/fits`. Every field is optional; unknown fields are refused. `holdout_days` and `calibration_end` exclude each other, and `bgbb` takes neither."
}));

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
        let currency = match self.currency.as_deref() {
            Some(c) => Currency::parse_exact(c),
            None => Currency::parse(&cfg.currency),
        }
        .map_err(|_| {
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
