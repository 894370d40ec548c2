//! SyncTwin: a digital twin of the ad market that tells, before a cent is spent,
//! how likely a campaign plan is to produce positive net profit uplift.
//!
//! The crate is a pure engine in four parts, each usable on its own:
//!
//! - [`estimate()`]: turns an organisation's daily performance history, industry
//!   priors and LTV estimates into a [`MarketModel`] (distributions for CPM, CTR,
//!   CVR, order value and LTV; Hill saturation; geometric adstock; weekday
//!   seasonality), each parameter tagged with the data window it came from.
//! - [`simulate()`]: runs seeded, parallel Monte Carlo trajectories of a [`Plan`]
//!   and of no new spend through a model, with the same draws, and aggregates
//!   the difference (net profit uplift = incremental revenue × contribution
//!   margin − the plan's spend) without storing per-day trajectories.
//! - [`evaluate()`] and [`decide()`]: risk level, violations, stress scenarios and the
//!   go/no-go gate with a plain-language reason and the fee split.
//! - [`mirror()`]: compares post-launch daily actuals with the projection band and
//!   recommends a rollback when they fall too far below it.
//!
//! No IO, no clock, no global state: time and data come in as arguments.

pub mod dist;
pub mod error;
pub mod estimate;
pub mod evaluate;
mod fields;
pub mod gate;
pub mod mirror;
pub mod model;
pub mod plan;
pub mod platform;
pub mod priors;
pub mod profit;
pub mod quality;
pub mod result;
pub mod simulate;
mod sketch;
mod stats;
pub mod stored;

pub use dist::{BetaDist, LogNormalDist};
pub use error::TwinError;
pub use estimate::{
    DailyPerformance, EstimationConfig, EstimationInput, LtvInput, estimate, prior_model,
    validate_estimation_input, validate_ltv_inputs,
};
pub use evaluate::{
    HardViolations, RiskConfig, RiskLevel, StressResult, TwinConfig, TwinReport, Violation,
    ViolationKind, evaluate,
};
pub use gate::{FeeSplit, GateConfig, GateDecision, GateInputs, StressConfidence, decide};
pub use mirror::{
    DailyActual, DayCheck, FindingKind, MirrorConfig, MirrorFinding, MirrorReport, mirror,
    validate_mirror_input,
};
pub use model::{
    DataWindow, Hill, MarketModel, ParameterSource, PlatformModel, ResponseCurve, Saturation,
    Seasonality, ValueBasis,
};
pub use plan::{Plan, PlanAllocation, ValidPlan};
pub use platform::Platform;
pub use priors::{Industry, PlatformPrior};
pub use profit::{Margin, MarginSource};
pub use quality::{ConfidenceBasis, DataGrade, LineDataQuality};
pub use result::{
    Band, Counterfactual, CpaQuantiles, DayBand, Histogram, HistogramBin, MoneyQuantiles,
    RatioQuantiles, SimulationResult,
};
pub use simulate::{
    Scenario, SimulationOptions, prefix_fields, simulate, simulate_valid, simulate_with_margin,
    validate_inputs,
};
