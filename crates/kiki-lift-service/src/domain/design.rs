//! Designs before spend: market selection (which markets to treat, for how
//! long) or the power of a group chosen by hand, on the experiment's KPI
//! panel, with the placebo false-positive rate and the refusal reasons of
//! `kiki_lift::design`. Amounts are [`Money`]; the engine gets them as
//! floats in the major unit.

use kiki_core::{FieldError, Money};
use kiki_lift::{DesignBounds, DesignSpec, LiftError, Panel, RunControl};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::plan::{Alternative, MarketName};

kiki_core::string_enum! {
    /// What a design answers.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum DesignMode {
        /// Which markets to treat and for how long (`treated` absent).
        SelectMarkets = "select_markets",
        /// Power, MDE and placebo rate of the `treated` group.
        Power = "power",
    }
}

/// A number of treated markets in a candidate group.
#[derive(Debug, Clone, ToSchema)]
#[schema(minimum = 1, maximum = 50)]
pub struct GroupSize(pub u32);

/// A test length in days.
#[derive(Debug, Clone, ToSchema)]
#[schema(minimum = 1, maximum = 366)]
pub struct TestDays(pub u32);

/// A relative lift to simulate (0.1 = +10 %).
#[derive(Debug, Clone, ToSchema)]
#[schema(minimum = -0.9, maximum = 5.0)]
pub struct SimulatedEffect(pub f64);

/// A design request. Defaults give a quick market selection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "treatment_sizes": [2], "durations": [15], "effect_sizes": [0.0, 0.05, 0.1, 0.2],
    "simulations": 10, "pre_periods": 60, "candidates": 3
}))]
pub struct DesignRequest {
    /// A group chosen by hand: its power analysis. Absent: market selection.
    #[serde(default)]
    #[schema(value_type = Option<Vec<MarketName>>, min_items = 1, max_items = 100)]
    pub treated: Option<Vec<String>>,
    /// Numbers of treated markets to consider (market selection).
    #[serde(default = "default_sizes")]
    #[schema(value_type = Vec<GroupSize>, min_items = 1, max_items = 10)]
    pub treatment_sizes: Vec<u32>,
    /// Test lengths to consider, in days.
    #[serde(default = "default_durations")]
    #[schema(value_type = Vec<TestDays>, min_items = 1, max_items = 10)]
    pub durations: Vec<u32>,
    /// Relative lifts to simulate (0, the placebo, is always run).
    #[serde(default = "default_effects")]
    #[schema(value_type = Vec<SimulatedEffect>, min_items = 1, max_items = 20)]
    pub effect_sizes: Vec<f64>,
    /// Simulated tests per candidate, duration and effect.
    #[serde(default = "default_simulations")]
    #[schema(minimum = 1, maximum = 1000)]
    pub simulations: u32,
    /// Days before each simulated test the synthetic control fits on.
    #[serde(default = "default_pre_periods")]
    #[schema(minimum = 2, maximum = 3650)]
    pub pre_periods: u32,
    /// Shortlisted candidates that get the power run.
    #[serde(default = "default_candidates")]
    #[schema(minimum = 1, maximum = 50)]
    pub candidates: u32,
    #[serde(default = "default_alpha")]
    #[schema(minimum = 0.001, maximum = 0.5)]
    pub alpha: f64,
    #[serde(default)]
    pub alternative: Alternative,
    #[serde(default = "yes")]
    pub fixed_effects: bool,
    /// Markets in every treatment group.
    #[serde(default)]
    #[schema(value_type = Vec<MarketName>, max_items = 100)]
    pub required_markets: Vec<String>,
    /// Markets never treated (they stay donors).
    #[serde(default)]
    #[schema(value_type = Vec<MarketName>, max_items = 500)]
    pub excluded_markets: Vec<String>,
    /// Markets never used as donors.
    #[serde(default)]
    #[schema(value_type = Vec<MarketName>, max_items = 500)]
    pub excluded_donors: Vec<String>,
    /// Largest share of the total outcome the treated markets may hold.
    #[serde(default)]
    #[schema(exclusive_minimum = 0.0, maximum = 1.0)]
    pub max_volume_share: Option<f64>,
    /// The test's budget.
    #[serde(default)]
    #[schema(value_type = Option<kiki_core::money::PositiveMoney>)]
    pub budget: Option<Money>,
    /// Cost of one incremental unit of the KPI (turns an MDE into spend);
    /// in the budget's currency.
    #[serde(default)]
    #[schema(value_type = Option<kiki_core::money::PositiveMoney>)]
    pub cost_per_incremental_unit: Option<Money>,
    /// Smallest acceptable power at the MDE.
    #[serde(default = "default_min_power")]
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub min_power: f64,
    /// Largest acceptable placebo false-positive rate.
    #[serde(default = "default_max_fpr")]
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub max_false_positive_rate: f64,
}

fn default_sizes() -> Vec<u32> {
    vec![2]
}
fn default_durations() -> Vec<u32> {
    vec![15]
}
fn default_effects() -> Vec<f64> {
    vec![0.0, 0.05, 0.1, 0.15, 0.2]
}
fn default_simulations() -> u32 {
    20
}
fn default_pre_periods() -> u32 {
    60
}
fn default_candidates() -> u32 {
    5
}
fn default_alpha() -> f64 {
    0.1
}
fn default_min_power() -> f64 {
    0.8
}
fn default_max_fpr() -> f64 {
    0.15
}
fn yes() -> bool {
    true
}

fn names_in(panel: &Panel, names: &[String], field: &str, errors: &mut Vec<FieldError>) {
    let mut seen: Vec<&str> = Vec::new();
    for (i, n) in names.iter().enumerate() {
        let n = n.as_str();
        if seen.contains(&n) {
            errors.push(FieldError::new(
                format!("{field}[{i}]"),
                format!("The market `{n}` is listed twice."),
            ));
        } else if panel.unit_index(n).is_none() {
            errors.push(FieldError::new(
                format!("{field}[{i}]"),
                format!("The KPI panel has no market `{n}`."),
            ));
        }
        seen.push(n);
    }
}

impl DesignRequest {
    pub fn mode(&self) -> DesignMode {
        if self.treated.is_some() {
            DesignMode::Power
        } else {
            DesignMode::SelectMarkets
        }
    }

    /// The engine's spec, checked against `panel`; every problem named.
    pub fn spec(&self, panel: &Panel) -> Result<DesignSpec, Vec<FieldError>> {
        let mut e = Vec::new();
        let bad = |e: &mut Vec<FieldError>, f: &str, m: &str| e.push(FieldError::new(f, m));
        if self.treatment_sizes.is_empty()
            || self.treatment_sizes.len() > 10
            || self.treatment_sizes.iter().any(|s| *s == 0 || *s > 50)
        {
            bad(
                &mut e,
                "treatment_sizes",
                "1 to 10 group sizes, each 1 to 50 markets.",
            );
        }
        if self.durations.is_empty()
            || self.durations.len() > 10
            || self.durations.iter().any(|d| *d == 0 || *d > 366)
        {
            bad(
                &mut e,
                "durations",
                "1 to 10 test lengths, each 1 to 366 days.",
            );
        }
        if self.effect_sizes.is_empty()
            || self.effect_sizes.len() > 20
            || self
                .effect_sizes
                .iter()
                .any(|x| !x.is_finite() || !(-0.9..=5.0).contains(x))
        {
            bad(
                &mut e,
                "effect_sizes",
                "1 to 20 relative lifts, each from -0.9 to 5.",
            );
        }
        if !(1..=1000).contains(&self.simulations) {
            bad(&mut e, "simulations", "From 1 to 1000.");
        }
        if !(2..=3650).contains(&self.pre_periods) {
            bad(&mut e, "pre_periods", "From 2 to 3650 days.");
        }
        if !(1..=50).contains(&self.candidates) {
            bad(&mut e, "candidates", "From 1 to 50.");
        }
        if !(self.alpha.is_finite() && (0.001..=0.5).contains(&self.alpha)) {
            bad(&mut e, "alpha", "A significance level from 0.001 to 0.5.");
        }
        for (f, v) in [
            ("min_power", self.min_power),
            ("max_false_positive_rate", self.max_false_positive_rate),
        ] {
            if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
                bad(&mut e, f, "A share from 0 to 1.");
            }
        }
        if let Some(s) = self.max_volume_share
            && !(s.is_finite() && s > 0.0 && s <= 1.0)
        {
            bad(&mut e, "max_volume_share", "A share above 0, at most 1.");
        }
        for (f, m) in [
            ("budget", self.budget),
            ("cost_per_incremental_unit", self.cost_per_incremental_unit),
        ] {
            if m.is_some_and(|m| m.micros <= 0) {
                bad(&mut e, &format!("{f}.micros"), "Greater than zero.");
            }
        }
        if let (Some(b), Some(c)) = (self.budget, self.cost_per_incremental_unit)
            && b.currency != c.currency
        {
            bad(
                &mut e,
                "cost_per_incremental_unit.currency",
                "Must be the budget's currency.",
            );
        }
        if let Some(t) = &self.treated {
            if t.is_empty() || t.len() > 100 {
                bad(&mut e, "treated", "Name 1 to 100 treated markets.");
            }
            names_in(panel, t, "treated", &mut e);
        }
        names_in(panel, &self.required_markets, "required_markets", &mut e);
        names_in(panel, &self.excluded_markets, "excluded_markets", &mut e);
        names_in(panel, &self.excluded_donors, "excluded_donors", &mut e);
        let longest = self.durations.iter().copied().max().unwrap_or(0) as usize;
        if e.is_empty() && self.pre_periods as usize + longest > panel.n_periods() {
            bad(
                &mut e,
                "pre_periods",
                &format!(
                    "The KPI panel has {} days; pre_periods plus the longest duration ({longest}) must fit in it.",
                    panel.n_periods()
                ),
            );
        }
        if !e.is_empty() {
            return Err(e);
        }
        let major = |m: Option<Money>| m.map(|m| m.micros as f64 / 1e6);
        Ok(DesignSpec {
            treatment_sizes: self.treatment_sizes.iter().map(|s| *s as usize).collect(),
            durations: self.durations.iter().map(|d| *d as usize).collect(),
            effect_sizes: self.effect_sizes.clone(),
            simulations: self.simulations as usize,
            pre_periods: self.pre_periods as usize,
            candidates: self.candidates as usize,
            alpha: self.alpha,
            alternative: self.alternative.engine(),
            fixed_effects: self.fixed_effects,
            augmentation: Default::default(),
            required_units: self.required_markets.clone(),
            excluded_units: self.excluded_markets.clone(),
            excluded_donors: self.excluded_donors.clone(),
            max_volume_share: self.max_volume_share,
            budget: major(self.budget),
            cost_per_incremental_unit: major(self.cost_per_incremental_unit),
            bounds: DesignBounds {
                min_power: self.min_power,
                max_false_positive_rate: self.max_false_positive_rate,
            },
        })
    }
}

/// Runs a design: `progress` gets the fraction done (never decreasing),
/// `cancel` is asked between simulated tests. The report is the engine's
/// `DesignReport` (market selection) or `CandidateEvaluation` (power) as
/// JSON.
pub fn run_design(
    panel: &Panel,
    request: &DesignRequest,
    spec: &DesignSpec,
    progress: &mut dyn FnMut(f64),
    cancel: &(dyn Fn() -> bool + Sync),
) -> Result<Value, LiftError> {
    let mut control = RunControl::new(Some(progress), Some(cancel));
    let report = match &request.treated {
        Some(t) => serde_json::to_value(kiki_lift::power_analysis(panel, t, spec, &mut control)?),
        None => serde_json::to_value(kiki_lift::select_markets(panel, spec, &mut control)?),
    };
    report.map_err(|e| LiftError::Numerical(format!("the report cannot be written as JSON: {e}")))
}
