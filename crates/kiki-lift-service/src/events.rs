//! The events the lift service publishes: a plan registered, an analysis
//! stored, a design finished.

use kiki_store::Event;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::MethodName;

/// A lift experiment's plan was registered (frozen with its hash).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ExperimentRegistered {
    /// The experiment.
    pub experiment_id: Uuid,
    /// SHA-256 of the registered plan's canonical JSON.
    pub plan_hash: String,
    /// The treated markets.
    pub treated: Vec<String>,
    /// First test day.
    pub test_start: String,
    /// Last test day (included).
    pub test_end: String,
}

impl Event for ExperimentRegistered {
    const KIND: &'static str = "lift.experiment_registered";
    const DESCRIPTION: &'static str =
        "A lift experiment's plan was registered before its test: frozen with its content hash.";
}

/// A registered analysis ran and was stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AnalysisCompleted {
    /// The experiment.
    pub experiment_id: Uuid,
    /// The stored analysis.
    pub analysis_id: Uuid,
    /// SHA-256 of the analysis inputs (plan and panel).
    pub inputs_hash: String,
    /// SHA-256 of the result.
    pub result_hash: String,
    /// The plan's method.
    pub method: MethodName,
    /// The headline estimate: the incremental outcome (`synthetic_control`,
    /// `tbr`), the iROAS (`trimmed_match`) or the difference in conversion
    /// rate (`holdout`).
    pub estimate: f64,
    /// Relative lift over the counterfactual, where the method gives one.
    pub lift: Option<f64>,
    /// p-value of "no effect" (conformal; for `tbr`, one minus the
    /// probability of a positive effect), where the method gives one.
    pub p_value: Option<f64>,
}

impl Event for AnalysisCompleted {
    const KIND: &'static str = "lift.analysis_completed";
    const DESCRIPTION: &'static str = "A lift experiment was analysed as registered; the analysis is stored with its inputs' hash.";
}

/// A design job finished (market selection or power analysis).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DesignCompleted {
    /// The experiment.
    pub experiment_id: Uuid,
    /// The stored design.
    pub design_id: Uuid,
    /// `select_markets` or `power`.
    pub mode: String,
    /// Whether the engine recommends a design (or the group passes).
    pub accepted: bool,
}

impl Event for DesignCompleted {
    const KIND: &'static str = "lift.design_completed";
    const DESCRIPTION: &'static str =
        "A lift design (market selection or power analysis) finished and was stored.";
}
