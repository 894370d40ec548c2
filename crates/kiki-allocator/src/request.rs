//! What the allocator is asked: a total daily budget, one response curve per
//! platform with bounds, an objective and an optional efficiency target; and
//! its validation into field errors with JSON paths.

use kiki_core::{Currency, FieldError, Money};
use kiki_twin::Platform;
use kiki_twin::{PlatformModel, ResponseCurve, ValueBasis};
use serde::{Deserialize, Serialize};

use crate::error::AllocError;

/// What to maximise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum Objective {
    /// Expected gross profit (value × contribution margin) minus spend.
    /// May leave budget unspent when the next unit of spend returns less
    /// profit than it costs.
    #[default]
    NetProfit,
    /// Expected conversions (customers acquired).
    Conversions,
    /// Expected value (revenue or LTV, whichever the curves' values are).
    Revenue,
}

/// An efficiency target the whole allocation must meet.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EfficiencyTarget {
    /// Total spend ÷ total conversions must not exceed this; above 0, in
    /// the request's currency.
    MaxCpa {
        #[schema(value_type = kiki_core::PositiveMoney)]
        max_cpa: Money,
    },
    /// Total value ÷ total spend must be at least this.
    MinRoas {
        #[schema(exclusive_minimum = 0.0)]
        min_roas: f64,
    },
}

/// One platform: its expected response to daily spend, the value of a
/// conversion, and its bounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlatformCurveInput {
    #[schema(value_type = Platform)]
    pub platform: String,
    /// An ad set within the platform, so that several lines may share one
    /// platform (e.g. prospecting and retargeting).
    #[serde(default)]
    pub ad_set_id: Option<String>,
    /// Expected conversions per day against daily spend in major units.
    pub curve: ResponseCurve,
    /// Expected value of one conversion (LTV or first-order revenue), micros.
    pub value_per_conversion_micros: i64,
    #[serde(default)]
    pub min_daily_budget_micros: i64,
    #[serde(default)]
    pub max_daily_budget_micros: Option<i64>,
}

impl PlatformCurveInput {
    /// Builds a platform's input from a twin market model. `reference_daily_micros`
    /// stands in for the reference spend when the model has no history (use
    /// the current daily budget).
    pub fn from_model(
        model: &PlatformModel,
        basis: ValueBasis,
        reference_daily_micros: i64,
        min_daily_budget_micros: i64,
        max_daily_budget_micros: Option<i64>,
    ) -> Self {
        let value = model.expected_value_per_conversion(basis);
        PlatformCurveInput {
            platform: model.platform.as_str().into(),
            ad_set_id: model.ad_set_id.clone(),
            curve: model.response_curve(reference_daily_micros as f64 / 1e6),
            value_per_conversion_micros: (value * 1e6).round() as i64,
            min_daily_budget_micros,
            max_daily_budget_micros,
        }
    }
}

/// An allocation problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AllocationRequest {
    pub currency: Currency,
    /// Total daily budget across platforms, micros.
    #[schema(minimum = 1)]
    pub total_budget_micros: i64,
    #[serde(default)]
    pub objective: Objective,
    #[schema(min_items = 1)]
    pub platforms: Vec<PlatformCurveInput>,
    #[serde(default)]
    pub target: Option<EfficiencyTarget>,
    /// Share of value that is gross profit, 0 to 1 (default 1: revenue
    /// counted as profit). The `net_profit` objective maximises
    /// value × margin − spend; the other objectives and targets ignore it.
    #[serde(default = "full_margin")]
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub contribution_margin: f64,
}

fn full_margin() -> f64 {
    1.0
}

/// Most platforms in one request.
pub const MAX_PLATFORMS: usize = 64;

/// A validated platform, amounts in major units for the optimiser.
#[derive(Debug, Clone)]
pub(crate) struct Line {
    pub platform: Platform,
    pub ad_set_id: Option<String>,
    pub curve: ResponseCurve,
    pub value: f64,
    pub lo: f64,
    pub hi: f64,
}

/// A validated request.
#[derive(Debug, Clone)]
pub(crate) struct Valid {
    pub currency: Currency,
    pub objective: Objective,
    pub budget: f64,
    pub budget_micros: i64,
    pub lines: Vec<Line>,
    pub target: Option<EfficiencyTarget>,
    pub margin: f64,
}

impl AllocationRequest {
    /// Every problem with the request, each naming its JSON path
    /// (`platforms[2].curve.hill.shape`); empty when valid.
    pub fn validate(&self) -> Vec<FieldError> {
        match self.parse() {
            Ok(_) => Vec::new(),
            Err(e) => e,
        }
    }

    pub(crate) fn to_valid(&self) -> Result<Valid, AllocError> {
        self.parse().map_err(AllocError::Invalid)
    }

    fn parse(&self) -> Result<Valid, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut push = |field: String, message: &str| errors.push(FieldError::new(field, message));
        if self.total_budget_micros <= 0 {
            push(
                "total_budget_micros".into(),
                "The total budget must be greater than zero.",
            );
        }
        if self.platforms.is_empty() {
            push(
                "platforms".into(),
                "Give at least one platform to allocate to.",
            );
        } else if self.platforms.len() > MAX_PLATFORMS {
            push(
                "platforms".into(),
                "Too many lines in one request (at most 64).",
            );
        }
        let mut lines = Vec::with_capacity(self.platforms.len());
        let mut min_total: i64 = 0;
        for (i, p) in self.platforms.iter().enumerate() {
            let path = format!("platforms[{i}]");
            let platform = Platform::parse(&p.platform);
            if platform.is_none() {
                errors.push(FieldError::new(
                    format!("{path}.platform"),
                    Platform::unknown_message(&p.platform),
                ));
            }
            if let Some(id) = &p.ad_set_id
                && id.trim().is_empty()
            {
                errors.push(FieldError::new(
                    format!("{path}.ad_set_id"),
                    "The ad set id must not be empty.",
                ));
            }
            if self.platforms[..i]
                .iter()
                .any(|o| o.platform == p.platform && o.ad_set_id == p.ad_set_id)
            {
                errors.push(FieldError::new(
                    format!("{path}.platform"),
                    "The same platform and ad set appear twice; give each line once.",
                ));
            }
            errors.extend(p.curve.field_errors(&format!("{path}.curve")));
            if p.value_per_conversion_micros < 0 {
                errors.push(FieldError::new(
                    format!("{path}.value_per_conversion_micros"),
                    "The value of a conversion must not be negative.",
                ));
            }
            if p.min_daily_budget_micros < 0 {
                errors.push(FieldError::new(
                    format!("{path}.min_daily_budget_micros"),
                    "The minimum daily budget must not be negative.",
                ));
            } else {
                min_total = min_total.saturating_add(p.min_daily_budget_micros);
            }
            if let Some(max) = p.max_daily_budget_micros
                && max < p.min_daily_budget_micros
            {
                errors.push(FieldError::new(
                    format!("{path}.max_daily_budget_micros"),
                    "The maximum daily budget must not be below the minimum.",
                ));
            }
            if let Some(platform) = platform {
                let budget = self.total_budget_micros.max(0) as f64 / 1e6;
                let hi = p
                    .max_daily_budget_micros
                    .map_or(budget, |m| (m as f64 / 1e6).min(budget));
                lines.push(Line {
                    platform,
                    ad_set_id: p.ad_set_id.clone(),
                    curve: p.curve,
                    value: p.value_per_conversion_micros as f64 / 1e6,
                    lo: p.min_daily_budget_micros.max(0) as f64 / 1e6,
                    hi,
                });
            }
        }
        if self.total_budget_micros > 0 && min_total > self.total_budget_micros {
            errors.push(FieldError::new(
                "platforms",
                "The minimum daily budgets add up to more than the total budget.",
            ));
        }
        match self.target {
            Some(EfficiencyTarget::MaxCpa { max_cpa }) if max_cpa.currency != self.currency => {
                errors.push(FieldError::new(
                    "target.max_cpa.max_cpa.currency",
                    format!("Must be the request currency ({}).", self.currency),
                ))
            }
            Some(EfficiencyTarget::MaxCpa { max_cpa }) if max_cpa.micros <= 0 => {
                errors.push(FieldError::new(
                    "target.max_cpa.max_cpa",
                    "The target CPA must be greater than zero.",
                ))
            }
            Some(EfficiencyTarget::MinRoas { min_roas })
                if !(min_roas.is_finite() && min_roas > 0.0) =>
            {
                errors.push(FieldError::new(
                    "target.min_roas.min_roas",
                    "The target ROAS must be a finite number greater than zero.",
                ))
            }
            _ => {}
        }
        if !(self.contribution_margin.is_finite()
            && (0.0..=1.0).contains(&self.contribution_margin))
        {
            errors.push(FieldError::new(
                "contribution_margin",
                "The contribution margin must be between 0 and 1.",
            ));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Valid {
            currency: self.currency,
            objective: self.objective,
            budget: self.total_budget_micros as f64 / 1e6,
            budget_micros: self.total_budget_micros,
            lines,
            target: self.target,
            margin: self.contribution_margin,
        })
    }
}
