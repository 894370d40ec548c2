//! What a simulation returns: the probability of positive net profit uplift,
//! quantiles, a histogram and the day-by-day projection band. Money is
//! [`Money`] (integer micros with the plan's currency); ratios and
//! probabilities are plain numbers, never NaN.

use kiki_core::{Currency, Money};
use serde::{Deserialize, Serialize};
use time::Date;

use crate::model::{ValueBasis, iso_date};
use crate::profit::Margin;
use crate::quality::{ConfidenceBasis, LineDataQuality};
use crate::simulate::Scenario;

/// p10 / p50 / p90 of an amount of money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MoneyQuantiles {
    pub p10: Money,
    pub p50: Money,
    pub p90: Money,
}

/// p10 / p50 / p90 of a ratio such as ROAS.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RatioQuantiles {
    pub p10: f64,
    pub p50: f64,
    pub p90: f64,
}

/// p10 / p50 / p90 of the cost per acquired customer. A quantile is
/// `null` when at least that share of runs acquired no customer at all (the
/// CPA is then unbounded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CpaQuantiles {
    pub p10: Option<Money>,
    pub p50: Option<Money>,
    pub p90: Option<Money>,
}

/// A p10 / p50 / p90 band of a cumulative amount on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Band {
    /// 10th percentile (nine runs in ten end above it).
    pub p10: Money,
    /// Median.
    pub p50: Money,
    /// 90th percentile.
    pub p90: Money,
}

/// The projection for one day of the plan: cumulative amounts from day 1 to
/// this day. The mirror compares actuals with these bands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DayBand {
    /// 1-based day of the plan.
    pub day: u32,
    /// The calendar day, when the plan gave a start date.
    #[serde(default, with = "iso_date::option")]
    #[schema(value_type = Option<String>, format = Date)]
    pub date: Option<Date>,
    /// Cumulative planned ad spend.
    pub spend: Money,
    /// Cumulative ad-driven first-order revenue with the plan, carry-over of
    /// past spend included: what the platforms will report.
    pub revenue: Band,
    /// Median cumulative revenue past spend brings without the plan (the
    /// carry-over inside `revenue`).
    pub carry_over_revenue: Money,
    /// Cumulative net profit uplift against no new spend.
    pub uplift: Band,
}

/// One bar of the uplift histogram: runs with `lower ≤ uplift < upper` (the
/// last bar includes its upper edge).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HistogramBin {
    pub lower: Money,
    pub upper: Money,
    pub count: u32,
}

/// Equal-width histogram of net profit uplift across runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Histogram {
    pub bins: Vec<HistogramBin>,
}

/// The plan against the counterfactual (no new spend), means across runs.
/// Both arms are simulated with the same draws, so carry-over of past spend
/// and organic revenue are in both and cancel in the uplift.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Counterfactual {
    /// Revenue of the period without new spend: the baseline (the plan's
    /// `organic_revenue`, from recorded history or given).
    pub revenue_without_plan: Money,
    /// The baseline plus the plan's incremental revenue.
    pub revenue_with_plan: Money,
    /// Ad-driven first-order revenue the plan adds.
    pub incremental_revenue: Money,
    /// The value the plan adds on the chosen basis (revenue or LTV).
    pub incremental_value: Money,
    /// Incremental value × contribution margin.
    pub incremental_gross_profit: Money,
    /// The plan's spend: all of it is new.
    pub incremental_spend: Money,
    /// Ad-driven revenue past spend still brings without the plan (adstock
    /// carry-over); in both arms, so never credited to the plan.
    pub carry_over_revenue: Money,
}

/// The outcome of one Monte Carlo simulation of a plan under one scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SimulationResult {
    pub currency: Currency,
    pub runs: u32,
    pub seed: u64,
    pub scenario: Scenario,
    pub value_basis: ValueBasis,
    /// P(net profit uplift > 0): the share of runs with positive uplift,
    /// uplift being outcome(plan) − outcome(no new spend) with the same draws.
    pub confidence: f64,
    /// Monte Carlo standard error of `confidence`, `sqrt(c(1−c)/runs)`.
    pub confidence_std_error: f64,
    /// Mean net profit uplift across runs: incremental gross profit −
    /// incremental ad spend.
    pub expected_uplift: Money,
    /// Mean of `max(uplift, 0)`: the base of the expected outcome fee.
    pub expected_positive_uplift: Money,
    pub uplift: MoneyQuantiles,
    /// Incremental value (on the chosen basis) per unit of the plan's spend;
    /// 0 for a plan that spends nothing.
    pub roas: RatioQuantiles,
    /// The plan's spend per incremental customer.
    pub cpa: CpaQuantiles,
    pub expected_spend: Money,
    /// Mean ad-driven first-order revenue with the plan, carry-over of past
    /// spend included (the incremental part is in `counterfactual`).
    pub expected_revenue: Money,
    /// Mean lifetime value of the incremental customers.
    pub expected_ltv: Money,
    /// Mean incremental customers.
    pub expected_conversions: f64,
    /// P(CPA > the plan's max CPA); `null` when the plan sets none.
    pub probability_cpa_over_max: Option<f64>,
    /// P(ROAS < the plan's target); `null` when the plan sets none.
    pub probability_roas_below_target: Option<f64>,
    pub histogram: Histogram,
    /// Day-by-day cumulative bands, one entry per day of the plan.
    pub projection: Vec<DayBand>,
    /// The plan against no new spend, means across runs.
    pub counterfactual: Counterfactual,
    /// The contribution margin profit was counted at, and its source.
    #[serde(default)]
    pub margin: Margin,
    /// What the confidence rests on: `prior_based` as soon as one platform
    /// has no performance history.
    #[serde(default)]
    pub confidence_basis: ConfidenceBasis,
    /// Per plan line: priors only, thin or measured, with the days of
    /// history, in words.
    #[serde(default)]
    pub data_quality: Vec<LineDataQuality>,
}
