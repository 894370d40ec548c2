//! KIKI's incrementality engine: what the ads caused, measured. Pure
//! computation — data in, results out; no IO, no async, no clock, no global
//! state. The inference is exact (permutation or closed form) and
//! deterministic; the only randomness is the seeded simulation helpers.
//! Every request and result is a serde type, so a service can store both and
//! anyone can re-run the stored request to the same numbers. docs/lift.md
//! explains the methods, their assumptions and which design to use when.
//!
//! - [`panel`]: the unit × period KPI panel, from long rows or CSV text.
//! - [`synth`]: synthetic control with unit fixed effects (GeoLift's
//!   default), optional ridge augmentation.
//! - [`conformal`]: block-permutation conformal p-values and the interval by
//!   inverting the same test.
//! - [`geo`]: a geo test end to end, and multi-cell tests.
//! - [`tbr`]: time-based regression for matched markets.
//! - [`trimmed_match`](mod@trimmed_match): Trimmed Match for randomised paired geos.
//! - [`holdout`]: audience holdouts with salted hashing and ghost bids.
//! - [`design`]: market selection, power, MDE, placebo false-positive rate
//!   and refusal before spend.
//! - [`simulate`]: the fixed seeded generator and simulated panels.
//! - [`control`]: progress reports and cancellation for long runs.

pub mod conformal;
pub mod control;
pub mod design;
pub mod error;
pub mod geo;
pub mod holdout;
pub(crate) mod linalg;
pub mod panel;
pub(crate) mod qp;
pub mod simulate;
pub mod synth;
pub mod tbr;
pub mod trimmed_match;

pub use conformal::{
    Alternative, ConformalInference, ConformalOptions, Interval, conformal_inference,
};
pub use control::RunControl;
pub use design::{
    CandidateEvaluation, DesignBounds, DesignReport, DesignSpec, DurationResult, EffectPower,
    MultiCellDesign, Verdict, design_multi_cell, power_analysis, select_markets,
};
pub use error::{LiftError, Result};
pub use geo::{
    CellAnalysis, CellSpec, GeoAnalysis, MultiCellSpec, analyze_geo, analyze_multi_cell,
};
pub use holdout::{
    Arm, ArmSummary, Difference, HoldoutDesign, HoldoutInput, HoldoutRecord, HoldoutResult,
    Population, analyze_holdout, assign_arm, holdout_bucket,
};
pub use panel::{CsvColumns, LongOptions, MissingCells, Panel, PanelData, PanelLoad};
pub use simulate::{PanelSimulation, SplitMix64};
pub use synth::{
    Augmentation, DataSufficiency, DonorWeight, FitDiagnostics, PeriodEstimate, RidgeReport,
    SyntheticControlFit, SyntheticControlSpec, fit_synthetic_control,
};
pub use tbr::{Iroas, Tails, TbrInput, TbrResult, time_based_regression};
pub use trimmed_match::{
    GeoPair, TrimCandidate, TrimRate, TrimmedMatchInput, TrimmedMatchResult, trimmed_match,
};
