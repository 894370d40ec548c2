//! From a simulation to a judgement: risk level, violations of the plan's own
//! limits, and stress scenarios (CPM +50 %, CVR −30 %, LTV −20 % by default),
//! each with its own confidence. The gate in [`crate::gate`] reads this.

use kiki_core::{FieldError, Money};
use serde::{Deserialize, Serialize};

use crate::error::TwinError;
use crate::fields::Fields;
use crate::model::MarketModel;
use crate::plan::{Plan, ValidPlan};
use crate::profit::Margin;
use crate::result::{MoneyQuantiles, SimulationResult};
use crate::simulate::{
    Scenario, SimulationOptions, prefix_fields, simulate_valid, validate_inputs,
};

/// Thresholds of the risk levels. A level applies when confidence is strictly
/// above its threshold (and, for LOW, the median uplift above a size).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct RiskConfig {
    pub low_min_confidence: f64,
    /// LOW also needs the median uplift above this amount, micros.
    pub low_min_p50_uplift_micros: i64,
    pub medium_min_confidence: f64,
    pub high_min_confidence: f64,
}

impl Default for RiskConfig {
    fn default() -> Self {
        RiskConfig {
            low_min_confidence: 0.90,
            low_min_p50_uplift_micros: 10_000_000_000,
            medium_min_confidence: 0.85,
            high_min_confidence: 0.70,
        }
    }
}

kiki_core::string_enum! {
    /// How risky a plan is, from its confidence and median uplift.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum RiskLevel {
        Low = "LOW",
        Medium = "MEDIUM",
        High = "HIGH",
        Critical = "CRITICAL",
    }
}

impl RiskLevel {
    pub fn classify(confidence: f64, p50_uplift_micros: i64, cfg: &RiskConfig) -> RiskLevel {
        if confidence > cfg.low_min_confidence && p50_uplift_micros > cfg.low_min_p50_uplift_micros
        {
            RiskLevel::Low
        } else if confidence > cfg.medium_min_confidence {
            RiskLevel::Medium
        } else if confidence > cfg.high_min_confidence {
            RiskLevel::High
        } else {
            RiskLevel::Critical
        }
    }
}

/// What a plan can violate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ViolationKind {
    /// The mean net profit uplift is below zero.
    NegativeExpectedUplift,
    /// The median CPA is above the plan's max CPA.
    CpaOverMax,
    /// The plan's total budget is above its cap.
    BudgetOverCap,
    /// The median ROAS is below the plan's target.
    RoasBelowTarget,
    /// The plan spends nothing: it adds nothing over doing nothing new.
    NoNewSpend,
}

/// A violation and whether it blocks approval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Violation {
    pub kind: ViolationKind,
    /// A hard violation blocks the gate whatever the confidence.
    pub hard: bool,
    pub message: String,
}

/// Which violations are hard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct HardViolations {
    pub negative_expected_uplift: bool,
    pub cpa_over_max: bool,
    pub budget_over_cap: bool,
    pub roas_below_target: bool,
    pub no_new_spend: bool,
}

impl Default for HardViolations {
    fn default() -> Self {
        HardViolations {
            negative_expected_uplift: true,
            cpa_over_max: true,
            budget_over_cap: true,
            roas_below_target: false,
            no_new_spend: true,
        }
    }
}

impl HardViolations {
    fn is_hard(&self, kind: ViolationKind) -> bool {
        match kind {
            ViolationKind::NegativeExpectedUplift => self.negative_expected_uplift,
            ViolationKind::CpaOverMax => self.cpa_over_max,
            ViolationKind::BudgetOverCap => self.budget_over_cap,
            ViolationKind::RoasBelowTarget => self.roas_below_target,
            ViolationKind::NoNewSpend => self.no_new_spend,
        }
    }
}

/// Configuration of the evaluation: risk thresholds, stress scenarios, which
/// violations are hard, the margin profit is counted at and where the value
/// of a customer came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct TwinConfig {
    pub risk: RiskConfig,
    /// Applied on top of the options' scenario, each simulated with the same
    /// seed (common random numbers, so differences are the stress, not noise).
    pub stress: Vec<Scenario>,
    pub hard: HardViolations,
    /// Runs per stress scenario; `None` uses the options' runs.
    pub stress_runs: Option<u32>,
    /// The contribution margin incremental value is turned into profit at
    /// (default: not configured, 100 %).
    pub margin: Margin,
    /// Where the value of a customer came from, in words (e.g. "LTV model 3,
    /// fitted 2026-03-01, mean CLV $29.10"), for the report and the reason.
    pub value_source: Option<String>,
    /// Where the baseline revenue came from, in words.
    pub baseline_source: Option<String>,
}

impl Default for TwinConfig {
    fn default() -> Self {
        TwinConfig {
            risk: RiskConfig::default(),
            stress: vec![
                Scenario::cpm_up_50(),
                Scenario::cvr_down_30(),
                Scenario::ltv_down_20(),
            ],
            hard: HardViolations::default(),
            stress_runs: None,
            margin: Margin::not_configured(),
            value_source: None,
            baseline_source: None,
        }
    }
}

impl TwinConfig {
    /// Field errors with paths relative to the config object.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut f = Fields::default();
        f.finite_in(
            "risk.low_min_confidence",
            self.risk.low_min_confidence,
            0.0,
            1.0,
        );
        f.finite_in(
            "risk.medium_min_confidence",
            self.risk.medium_min_confidence,
            0.0,
            1.0,
        );
        f.finite_in(
            "risk.high_min_confidence",
            self.risk.high_min_confidence,
            0.0,
            1.0,
        );
        for (i, s) in self.stress.iter().enumerate() {
            s.validate(&format!("stress[{i}]"), &mut f);
        }
        if let Some(r) = self.stress_runs
            && (r == 0 || r > crate::simulate::MAX_RUNS)
        {
            f.push(
                "stress_runs",
                "The number of stress runs must be between 1 and 1000000.",
            );
        }
        f.errors.extend(self.margin.validate("margin"));
        f.errors
    }
}

/// The outcome under one stress scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StressResult {
    pub scenario: Scenario,
    pub confidence: f64,
    pub expected_uplift: Money,
    pub uplift: MoneyQuantiles,
    pub risk_level: RiskLevel,
}

/// The full evaluation of a plan: the base simulation, its risk level,
/// violations and stress results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TwinReport {
    pub result: SimulationResult,
    pub risk_level: RiskLevel,
    pub violations: Vec<Violation>,
    pub stress: Vec<StressResult>,
    /// The plan's total budget (daily budgets × days).
    pub total_budget: Money,
    /// Where the value of a customer came from, in words.
    #[serde(default)]
    pub value_source: Option<String>,
    /// Where the baseline revenue came from, in words.
    #[serde(default)]
    pub baseline_source: Option<String>,
}

impl TwinReport {
    pub fn hard_violations(&self) -> impl Iterator<Item = &Violation> {
        self.violations.iter().filter(|v| v.hard)
    }
}

/// Simulates the plan, its stress scenarios, and judges the result.
pub fn evaluate(
    plan: &Plan,
    model: &MarketModel,
    options: &SimulationOptions,
    config: &TwinConfig,
) -> Result<TwinReport, TwinError> {
    let config_errors = config.validate();
    if !config_errors.is_empty() {
        return Err(TwinError::Invalid(prefix_fields("config", config_errors)));
    }
    let valid = validate_inputs(plan, model, options)?;
    let result = simulate_valid(&valid, model, options, &config.margin)?;
    let mut stress = Vec::with_capacity(config.stress.len());
    for s in &config.stress {
        let base = &options.scenario;
        let stressed = SimulationOptions {
            runs: config.stress_runs.unwrap_or(options.runs),
            scenario: Scenario {
                name: s.name.clone(),
                cpm_multiplier: base.cpm_multiplier * s.cpm_multiplier,
                ctr_multiplier: base.ctr_multiplier * s.ctr_multiplier,
                cvr_multiplier: base.cvr_multiplier * s.cvr_multiplier,
                value_multiplier: base.value_multiplier * s.value_multiplier,
            },
            ..options.clone()
        };
        let r = simulate_valid(&valid, model, &stressed, &config.margin)?;
        stress.push(StressResult {
            risk_level: RiskLevel::classify(r.confidence, r.uplift.p50.micros, &config.risk),
            scenario: r.scenario,
            confidence: r.confidence,
            expected_uplift: r.expected_uplift,
            uplift: r.uplift,
        });
    }
    let violations = violations(&valid, &result, config);
    Ok(TwinReport {
        risk_level: RiskLevel::classify(result.confidence, result.uplift.p50.micros, &config.risk),
        violations,
        stress,
        total_budget: valid.total_budget(),
        value_source: config.value_source.clone(),
        baseline_source: config.baseline_source.clone(),
        result,
    })
}

fn violations(plan: &ValidPlan, r: &SimulationResult, config: &TwinConfig) -> Vec<Violation> {
    let money = |micros: i64| Money::from_micros(micros, plan.currency).text().to_string();
    let mut out = Vec::new();
    let mut push = |kind, message: String| {
        out.push(Violation {
            kind,
            hard: config.hard.is_hard(kind),
            message,
        })
    };
    if plan.total_budget_micros == 0 {
        push(
            ViolationKind::NoNewSpend,
            "The plan spends nothing, so it adds nothing over doing nothing new.".into(),
        );
    }
    if r.expected_uplift.micros < 0 {
        push(
            ViolationKind::NegativeExpectedUplift,
            format!(
                "The expected net profit uplift is negative ({}): on average the plan costs more than it brings in.",
                r.expected_uplift.text()
            ),
        );
    }
    if let Some(max) = plan.max_cpa_micros {
        let share = r.probability_cpa_over_max.unwrap_or(0.0) * 100.0;
        match r.cpa.p50.map(|m| m.micros) {
            Some(p50) if p50 > max => push(
                ViolationKind::CpaOverMax,
                format!(
                    "The median cost per customer, {}, is above the maximum of {} ({share:.0} % of runs exceed it).",
                    money(p50),
                    money(max)
                ),
            ),
            None => push(
                ViolationKind::CpaOverMax,
                format!(
                    "At least half of the runs acquire no customer, so the cost per customer is above the maximum of {}.",
                    money(max)
                ),
            ),
            Some(_) => {}
        }
    }
    if let Some(cap) = plan.budget_cap_micros
        && plan.total_budget_micros > cap
    {
        push(
            ViolationKind::BudgetOverCap,
            format!(
                "The plan spends {} in total, above its cap of {}.",
                money(plan.total_budget_micros),
                money(cap)
            ),
        );
    }
    if let Some(target) = plan.target_roas
        && r.roas.p50 < target
    {
        push(
            ViolationKind::RoasBelowTarget,
            format!(
                "The median return on ad spend, {:.2}, is below the target of {target:.2}.",
                r.roas.p50
            ),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn risk_levels_follow_the_published_thresholds() {
        let cfg = RiskConfig::default();
        let big = 20_000_000_000;
        let check = |c: f64, p50: i64, want: RiskLevel| {
            assert_eq!(RiskLevel::classify(c, p50, &cfg), want, "{c} {p50}");
        };
        check(0.95, big, RiskLevel::Low);
        check(0.95, 1_000_000, RiskLevel::Medium);
        check(0.90, big, RiskLevel::Medium);
        check(0.86, big, RiskLevel::Medium);
        check(0.85, big, RiskLevel::High);
        check(0.71, 0, RiskLevel::High);
        check(0.70, big, RiskLevel::Critical);
        check(0.0, -big, RiskLevel::Critical);
    }

    #[test]
    fn risk_levels_serialise_in_capitals() {
        assert_eq!(
            serde_json::to_string(&RiskLevel::Critical).unwrap(),
            "\"CRITICAL\""
        );
    }

    #[test]
    fn an_invalid_stress_scenario_is_named_in_the_config_errors() {
        let mut cfg = TwinConfig::default();
        cfg.stress[1].cvr_multiplier = f64::NAN;
        let fields: Vec<String> = cfg.validate().into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["stress[1].cvr_multiplier"]);
    }
}

#[cfg(test)]
mod string_names {
    use super::*;

    /// The strings stored in columns are the names serde writes and reads.
    #[test]
    fn risk_names_are_the_serde_names() {
        assert!(
            kiki_core::serde_name_problems::<RiskLevel>().is_empty(),
            "{:?}",
            kiki_core::serde_name_problems::<RiskLevel>()
        );
    }
}
