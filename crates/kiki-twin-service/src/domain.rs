//! Request and response types of the twin API (the serialisable boundary).
//! Engine types (`Plan`, `SimulationOptions`, `TwinReport`, `GateDecision`,
//! `AllocationResult`, …) travel unchanged inside them.

use kiki_allocator::{AllocationResult, EfficiencyTarget, Objective};
use kiki_core::{Currency, FieldError, Money};
use kiki_twin::{
    FeeSplit, GateDecision, Industry, LtvInput, Margin, MirrorReport, Plan, Platform,
    ResponseCurve, RiskLevel, SimulationOptions, TwinReport, ValueBasis,
};
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

time::serde::format_description!(pub(crate) iso_date, Date, "[year]-[month]-[day]");

/// The ISO text of a day, as stored.
pub(crate) fn day_text(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Parses a stored ISO day.
pub(crate) fn parse_day(s: &str) -> Option<Date> {
    Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).ok()
}

/// `POST /v1/simulations`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct SimulationRequest {
    pub plan: Plan,
    /// Runs (default 10,000), seed (default 0), scenario, value basis.
    #[serde(default)]
    pub options: SimulationOptions,
    /// LTV estimates per platform; when absent the LTV service's (if it
    /// provides any), else the industry prior.
    #[serde(default)]
    pub ltv: Vec<LtvInput>,
}

kiki_server::request_schema!(pub SimulationRequestSchema for SimulationRequest, serde_json::json!({
    "allOf": [{"properties": {
        "options": {"properties": {"scenario": {"properties": {
            "cpm_multiplier": {"minimum": 1e-6, "maximum": 1e6},
            "ctr_multiplier": {"minimum": 1e-6, "maximum": 1e6},
            "cvr_multiplier": {"minimum": 1e-6, "maximum": 1e6},
            "value_multiplier": {"minimum": 1e-6, "maximum": 1e6}
        }}}}
    }}],
    "description": "A plan to simulate. The uplift is measured against no new spend; `plan.organic_revenue` (the baseline) is required when the organisation has no recorded performance history."
}));

kiki_core::string_enum! {
    /// Status of a simulation row.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum SimulationStatus {
        /// Queued as a `twin.simulate` job.
        Pending = "pending",
        Done = "done",
        Failed = "failed",
    }
}

/// Who holds the launch approval now: the gate, or a person overriding it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LaunchApproval {
    pub approved: bool,
    /// `engine` (the gate's verdict) or `user` (an override).
    pub decided_by_kind: String,
    /// The user or API key id of an override.
    pub decided_by: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub decided_at: Option<OffsetDateTime>,
}

/// The contribution margin a simulation counted profit at, with its source
/// in words.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MarginView {
    /// Share of incremental revenue that is gross profit, 0 to 1.
    pub contribution_margin: f64,
    pub source: kiki_twin::MarginSource,
    /// E.g. "configured 30 %" or "not configured: assuming 100 %, revenue =
    /// profit".
    #[schema(example = "configured 30 %")]
    pub description: String,
}

impl From<Margin> for MarginView {
    fn from(m: Margin) -> Self {
        MarginView {
            contribution_margin: m.contribution_margin,
            source: m.source,
            description: m.describe(),
        }
    }
}

/// A stored simulation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SimulationView {
    pub id: Uuid,
    pub org_id: Uuid,
    pub status: SimulationStatus,
    pub plan: Plan,
    pub options: SimulationOptions,
    /// The market model estimated for it (`twin_market_models`).
    pub model_id: Option<Uuid>,
    /// P(net profit uplift > 0).
    pub confidence: Option<f64>,
    pub risk_level: Option<RiskLevel>,
    /// The gate's verdict, inputs and reason.
    pub gate: Option<GateDecision>,
    /// The expected uplift and the client's share after KIKI's fee.
    pub fee: Option<FeeSplit>,
    /// The contribution margin the uplift and the fee were counted at.
    pub margin: Option<MarginView>,
    /// The current launch approval (the gate's, or an override).
    pub approval: Option<LaunchApproval>,
    /// The full evaluation; omitted in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<TwinReport>,
    /// Day 1 of the plan for the mirror: the plan's start date, or the day
    /// the launch was approved.
    #[serde(with = "iso_date::option")]
    #[schema(value_type = Option<String>, format = Date)]
    pub start_date: Option<Date>,
    pub job_id: Option<Uuid>,
    pub error: Option<String>,
    pub created_by: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

/// The override's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Approve,
    Reject,
}

/// `POST /v1/simulations/{id}/decision`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct DecisionRequest {
    pub decision: Verdict,
    /// Why; required: 1 to 2000 characters, not only spaces.
    #[serde(default)]
    #[schema(
        required = true,
        nullable = false,
        min_length = 1,
        max_length = 2000,
        pattern = r"\S"
    )]
    pub reason: Option<String>,
}

/// `POST /v1/rebalancing/{id}/approve|reject`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct ShiftDecisionRequest {
    /// Why; at most 2000 characters.
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub reason: Option<String>,
}

/// One day of performance for `POST /v1/twin/performance`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PerformanceRow {
    #[schema(value_type = Platform)]
    pub platform: String,
    /// Give either platform totals (no ad set) or ad-set rows for a day, not
    /// both: the estimator sums every row of a platform.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub ad_set_id: Option<String>,
    #[serde(with = "iso_date")]
    #[schema(value_type = String, format = Date)]
    pub day: Date,
    pub currency: Currency,
    /// In the row's `currency`; at least 0.
    #[schema(value_type = kiki_core::NonNegativeMoney)]
    pub spend: Money,
    #[schema(minimum = 0)]
    pub impressions: i64,
    /// At most `impressions`.
    #[schema(minimum = 0)]
    pub clicks: i64,
    /// Customers acquired (fractional under split attribution).
    #[schema(minimum = 0.0)]
    pub conversions: f64,
    /// First-order revenue attributed to the day's conversions, in the
    /// row's `currency`; at least 0.
    #[schema(value_type = kiki_core::NonNegativeMoney)]
    pub revenue: Money,
}

/// `POST /v1/twin/performance`.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct PerformanceUpload {
    /// At least one row, at most `twin.max_performance_rows`; a platform,
    /// ad set and day once each.
    #[schema(min_items = 1)]
    pub rows: Vec<PerformanceRow>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PerformanceUploaded {
    /// Rows inserted or replaced.
    pub upserted: u64,
}

/// The per-organisation overrides (`null` = the `[twin]` default).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"min_confidence": 0.8, "approval_threshold": {"amount": "250.00", "currency": "EUR"}, "industry": "ecommerce"}))]
pub struct SettingsOverrides {
    #[serde(default)]
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub min_confidence: Option<f64>,
    /// A rebalancing shift of more than this a day waits for approval. In
    /// any currency; shifts between budgets in another currency always
    /// wait for approval (there is no exchange rate to compare them).
    /// `null`: the `[twin]` default in the organisation's reporting
    /// currency.
    #[serde(default)]
    #[schema(value_type = Option<kiki_core::NonNegativeMoney>)]
    pub approval_threshold: Option<Money>,
    #[serde(default)]
    pub industry: Option<Industry>,
}

impl SettingsOverrides {
    pub fn validate(&self) -> Vec<FieldError> {
        let mut e = Vec::new();
        if let Some(c) = self.min_confidence
            && !(c.is_finite() && (0.0..=1.0).contains(&c))
        {
            e.push(FieldError::new(
                "min_confidence",
                "The minimum confidence must be between 0 and 1.",
            ));
        }
        if let Some(t) = self.approval_threshold
            && t.micros < 0
        {
            e.push(FieldError::new(
                "approval_threshold",
                "The approval threshold must not be negative.",
            ));
        }
        e
    }
}

/// The effective settings of the active organisation.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TwinSettingsView {
    pub min_confidence: f64,
    /// Rebalancing shifts above this a day wait for approval; shifts in
    /// another currency always do.
    pub approval_threshold: Money,
    pub industry: Industry,
    pub fee_rate_bps: u32,
    /// The contribution margin profit is counted at and its source (the
    /// organisation's settings: `PATCH /v1/organisations/{id}`).
    pub margin: Margin,
    /// What the organisation overrides.
    pub overrides: SettingsOverrides,
}

/// One platform's budget in `PUT /v1/twin/budgets`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BudgetLine {
    #[schema(value_type = Platform)]
    pub platform: String,
    /// Between the minimum and the maximum; in the request's currency.
    #[schema(value_type = kiki_core::NonNegativeMoney)]
    pub daily_budget: Money,
    /// None: 0.
    #[serde(default)]
    #[schema(value_type = Option<kiki_core::NonNegativeMoney>)]
    pub min_daily_budget: Option<Money>,
    /// Not below the minimum.
    #[serde(default)]
    #[schema(value_type = Option<kiki_core::NonNegativeMoney>)]
    pub max_daily_budget: Option<Money>,
}

impl BudgetLine {
    /// The daily budget, minimum (none: 0) and maximum, in micros.
    pub fn micros(&self) -> (i64, i64, Option<i64>) {
        (
            self.daily_budget.micros,
            self.min_daily_budget.map_or(0, |m| m.micros),
            self.max_daily_budget.map(|m| m.micros),
        )
    }
}

/// `PUT /v1/twin/budgets`: replaces the organisation's platform budgets.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct BudgetsRequest {
    pub currency: Currency,
    /// Each platform once.
    #[schema(min_items = 1)]
    pub platforms: Vec<BudgetLine>,
}

/// The organisation's current budgets.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BudgetsView {
    pub currency: Option<Currency>,
    pub platforms: Vec<BudgetLine>,
}

/// A stored rebalancing shift.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ShiftView {
    pub id: Uuid,
    pub org_id: Uuid,
    /// The rebalancing period (the scheduled run's start, RFC 3339).
    pub period_key: String,
    pub currency: Currency,
    pub from: Platform,
    pub to: Platform,
    pub amount: Money,
    pub from_budget_before: Money,
    pub from_budget_after: Money,
    pub to_budget_before: Money,
    pub to_budget_after: Money,
    pub from_efficiency: f64,
    pub to_efficiency: f64,
    pub average_efficiency: f64,
    pub portfolio_efficiency_before: f64,
    pub portfolio_efficiency_after: f64,
    pub explanation: String,
    /// `applied`, `pending_approval`, `approved` or `rejected`.
    pub status: String,
    pub decided_by: Option<String>,
    pub decision_reason: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub decided_at: Option<OffsetDateTime>,
}

/// One line of `POST /v1/allocations`: give a response curve, or leave it
/// out to have it fitted from the organisation's history (industry priors
/// when thin).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct AllocationLine {
    #[schema(value_type = Platform)]
    pub platform: String,
    /// Not only spaces; a platform and ad set once each.
    #[serde(default)]
    #[schema(pattern = r"\S")]
    pub ad_set_id: Option<String>,
    #[serde(default)]
    pub curve: Option<ResponseCurve>,
    /// Value of one conversion; from the model when absent (required with
    /// `curve`).
    #[serde(default)]
    #[schema(value_type = Option<kiki_core::NonNegativeMoney>)]
    pub value_per_conversion: Option<Money>,
    /// None: 0.
    #[serde(default)]
    #[schema(value_type = Option<kiki_core::NonNegativeMoney>)]
    pub min_daily_budget: Option<Money>,
    /// Not below the minimum.
    #[serde(default)]
    #[schema(value_type = Option<kiki_core::NonNegativeMoney>)]
    pub max_daily_budget: Option<Money>,
    /// The daily spend the fitted curve's rates hold at when there is no
    /// history; default: an equal share of the total budget.
    #[serde(default)]
    #[schema(value_type = Option<kiki_core::PositiveMoney>)]
    pub reference_daily_budget: Option<Money>,
}

/// `POST /v1/allocations`: a what-if allocation (not stored).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct AllocationApiRequest {
    pub currency: Currency,
    /// Total daily budget; above 0, at least the lines' minimums.
    #[schema(value_type = kiki_core::PositiveMoney)]
    pub total_budget: Money,
    #[serde(default)]
    pub objective: Objective,
    #[serde(default)]
    pub target: Option<EfficiencyTarget>,
    /// Basis of fitted values (first-order revenue or LTV).
    #[serde(default)]
    pub value_basis: ValueBasis,
    /// 1 to 64 lines.
    #[schema(min_items = 1, max_items = 64)]
    pub platforms: Vec<AllocationLine>,
}

kiki_server::request_schema!(pub AllocationRequestSchema for AllocationApiRequest, serde_json::json!({
    "allOf": [{"properties": {
        // A target is one of its variants: an object with exactly one key.
        "target": {"maxProperties": 1},
        "platforms": {"items": {
        "if": {"required": ["curve"], "properties": {"curve": {"type": "object"}}},
        "then": {"required": ["value_per_conversion"],
                 "properties": {"value_per_conversion": {"type": "object"}}}
        }}
    }}]
}));

/// The allocation and where its curves came from.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AllocationResponse {
    #[serde(flatten)]
    pub result: AllocationResult,
    /// Per line: `supplied` (curve in the request) or `fitted`.
    pub curve_sources: Vec<String>,
    /// The contribution margin `net_profit` counts value at (the
    /// organisation's), and its source.
    pub margin: Margin,
}

/// A stored mirror report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MirrorReportView {
    pub id: Uuid,
    pub simulation_id: Uuid,
    pub period_key: String,
    pub days_observed: i64,
    pub rollback_recommended: bool,
    pub latest_deviation: Option<f64>,
    pub report: MirrorReport,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
}

#[cfg(test)]
mod string_names {
    use super::*;

    /// The strings stored in columns are the names serde writes and reads.
    #[test]
    fn stored_names_are_the_serde_names() {
        assert!(
            kiki_core::serde_name_problems::<SimulationStatus>().is_empty(),
            "{:?}",
            kiki_core::serde_name_problems::<SimulationStatus>()
        );
    }
}
