//! The `[twin]` configuration section: gate threshold and fee, the synchronous
//! size limit, estimation and rebalancing windows, rebalancing and mirror
//! thresholds. Organisations may override some of these in `twin_settings`.

use kiki_twin::Industry;
use serde::{Deserialize, Serialize};

/// `[twin]` in `kiki.toml` (`KIKI__TWIN__…` in the environment).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TwinServiceConfig {
    /// The gate approves when P(net profit uplift > 0) is at least this.
    pub min_confidence: f64,
    /// KIKI's outcome fee in basis points of positive uplift (2000 = 20 %).
    pub fee_rate_bps: u32,
    /// Materiality: the gate approves only an expected uplift of at least
    /// this share of the plan's spend, in basis points (100 = 1 %). 0: only
    /// the floor of one minor unit of the currency (one cent) applies.
    pub min_uplift_bps_of_spend: u32,
    /// Industry whose priors stand in for missing history, unless the
    /// organisation's settings name another.
    pub industry: Industry,
    /// Largest simulation run inside the request, as runs × plan lines × days;
    /// above it the simulation is queued as a `twin.simulate` job (202).
    pub max_sync_work: u64,
    /// Days of performance history read to estimate the market model.
    pub history_days: u32,
    /// Days of recent actuals the rebalancer computes LTV/CAC from.
    pub rebalance_window_days: u32,
    /// Shifts above this daily amount wait for approval, in micros of the
    /// organisation's reporting currency, unless the organisation's settings
    /// say otherwise.
    pub approval_threshold_micros: i64,
    /// LTV/CAC more than this fraction below the average triggers a shift.
    pub trigger_below_average: f64,
    /// Share of an under-performer's daily budget that moves.
    pub shift_fraction: f64,
    /// The mirror recommends a rollback below this deviation from the
    /// projected median (0.15 = 15 % below).
    pub rollback_deviation: f64,
    /// Most performance rows accepted in one `POST /v1/twin/performance`.
    pub max_performance_rows: usize,
}

impl Default for TwinServiceConfig {
    fn default() -> Self {
        TwinServiceConfig {
            min_confidence: 0.85,
            fee_rate_bps: 2000,
            min_uplift_bps_of_spend: 0,
            industry: Industry::General,
            max_sync_work: 10_000 * 6 * 90,
            history_days: 90,
            rebalance_window_days: 7,
            approval_threshold_micros: 100_000_000,
            trigger_below_average: 0.15,
            shift_fraction: 0.20,
            rollback_deviation: 0.15,
            max_performance_rows: 10_000,
        }
    }
}

impl kiki_server::ModuleSettings for TwinServiceConfig {
    fn problems(&self, _production: bool) -> Vec<String> {
        TwinServiceConfig::problems(self)
    }
}

impl TwinServiceConfig {
    /// Every problem, named by its key under `twin.`.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !(self.min_confidence.is_finite() && (0.0..=1.0).contains(&self.min_confidence)) {
            out.push("twin.min_confidence must be between 0 and 1".to_owned());
        }
        if self.fee_rate_bps > 10_000 {
            out.push("twin.fee_rate_bps must be at most 10000".to_owned());
        }
        if self.min_uplift_bps_of_spend > 1_000_000 {
            out.push("twin.min_uplift_bps_of_spend must be at most 1000000".to_owned());
        }
        if self.max_sync_work == 0 {
            out.push("twin.max_sync_work must be positive".to_owned());
        }
        if self.history_days == 0 || self.history_days > 3660 {
            out.push("twin.history_days must be between 1 and 3660".to_owned());
        }
        if self.rebalance_window_days == 0 || self.rebalance_window_days > 366 {
            out.push("twin.rebalance_window_days must be between 1 and 366".to_owned());
        }
        if self.approval_threshold_micros < 0 {
            out.push("twin.approval_threshold_micros must not be negative".to_owned());
        }
        if !(self.trigger_below_average.is_finite()
            && (0.0..1.0).contains(&self.trigger_below_average))
        {
            out.push("twin.trigger_below_average must be a fraction in [0, 1)".to_owned());
        }
        if !(self.shift_fraction.is_finite()
            && self.shift_fraction > 0.0
            && self.shift_fraction <= 1.0)
        {
            out.push("twin.shift_fraction must be a fraction in (0, 1]".to_owned());
        }
        if !(self.rollback_deviation.is_finite() && (0.0..=1.0).contains(&self.rollback_deviation))
        {
            out.push("twin.rollback_deviation must be between 0 and 1".to_owned());
        }
        if self.max_performance_rows == 0 {
            out.push("twin.max_performance_rows must be positive".to_owned());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_bad_values_are_named() {
        assert!(TwinServiceConfig::default().problems().is_empty());
        let bad = TwinServiceConfig {
            min_confidence: 1.5,
            shift_fraction: 0.0,
            history_days: 0,
            ..TwinServiceConfig::default()
        };
        let p = bad.problems();
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p[0].starts_with("twin.min_confidence"));
    }

    #[test]
    fn unknown_keys_are_refused() {
        let r: Result<TwinServiceConfig, _> =
            serde_json::from_value(serde_json::json!({"min_confidance": 0.9}));
        assert!(r.is_err());
        let ok: TwinServiceConfig =
            serde_json::from_value(serde_json::json!({"industry": "saas"})).unwrap();
        assert_eq!(ok.industry, Industry::Saas);
        assert_eq!(ok.min_confidence, 0.85);
    }
}
