//! The service-level types and pure rules of lift experiments, shared by the
//! service, the API and the offline `kiki lift` commands:
//!
//! - `plan.rs`: the registered plan ([`LiftPlan`]), its checks, and how it
//!   becomes the engine's specification over a panel.
//! - `panel.rs`: KPI rows (CSV or JSON) into a daily panel, with every bad
//!   row named.
//! - `analysis.rs`: running the registered analysis and the view of its
//!   result.
//! - `design.rs`: design requests (market selection or power) and running
//!   them.
//! - [`content_hash`]: the SHA-256 of a value's canonical JSON, the one
//!   hash of plans, panels, inputs and results.

pub mod analysis;
pub mod design;
pub mod panel;
pub mod plan;

pub use analysis::{
    AnalysisInputs, AnalysisSummary, MethodResult, TbrSummary, TrimmedMatchSummary, analyze,
    analyze_plan,
};
pub use design::{DesignMode, DesignRequest, run_design};
pub use panel::{KpiRow, PanelSummary, panel_from_csv, panel_from_rows};
pub use plan::{
    Alternative, LiftMethod, LiftPlan, MarketPair, MethodName, PlanDocument, ResolvedPlan, TbrPlan,
    TrimmedMatchPlan,
};

use serde::Serialize;
use sha2::{Digest, Sha256};

/// The engine version stored with analyses and decision records.
pub const ENGINE_VERSION: &str = concat!("kiki-lift ", env!("CARGO_PKG_VERSION"));

/// SHA-256 (lowercase hex) of `value`'s canonical JSON: objects with their
/// keys sorted (serde_json's map is ordered by key), no whitespace, numbers
/// in their shortest round-trip form. Two values that serialise to the same
/// JSON document, whatever the order their fields were written in, have the
/// same hash; anyone can recompute it from the stored JSON.
pub fn content_hash<T: Serialize>(value: &T) -> String {
    // Through `Value` so that map keys are sorted whatever `T`'s field order.
    let canonical = serde_json::to_value(value)
        .and_then(|v| serde_json::to_vec(&v))
        .unwrap_or_default();
    let digest = Sha256::digest(&canonical);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_ignores_key_order_and_sees_every_value() {
        let a: serde_json::Value = serde_json::from_str(r#"{"b": 1, "a": [1.5, "x"]}"#).unwrap();
        let b: serde_json::Value = serde_json::from_str(r#"{"a": [1.5, "x"], "b": 1}"#).unwrap();
        assert_eq!(content_hash(&a), content_hash(&b));
        let c: serde_json::Value = serde_json::from_str(r#"{"a": [1.5, "x"], "b": 2}"#).unwrap();
        assert_ne!(content_hash(&a), content_hash(&c));
        assert_eq!(content_hash(&a).len(), 64);
    }
}
