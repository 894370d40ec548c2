//! End-to-end tests of the public API as the service layer uses it:
//! estimate → evaluate → decide → mirror.

mod gate;
mod openapi;
mod pipeline;

use kiki_core::{Currency, Money};
use kiki_twin::{
    BetaDist, Industry, LogNormalDist, MarketModel, ParameterSource, Plan, PlanAllocation,
    Platform, PlatformModel, Saturation, Seasonality, SimulationOptions,
};

/// A platform with no uncertainty: every run is the closed-form run.
pub fn certain(platform: Platform, cvr: f64) -> PlatformModel {
    PlatformModel {
        platform,
        ad_set_id: None,
        cpm: LogNormalDist::fixed(10.0),
        ctr: BetaDist::fixed(0.02),
        cvr: BetaDist::fixed(cvr),
        cpm_daily_sigma: 0.0,
        conversion_daily_sigma: 0.0,
        order_value: LogNormalDist::fixed(50.0),
        ltv: LogNormalDist::fixed(120.0),
        saturation: Saturation {
            reference_daily_spend: Some(100.0),
            half_saturation_ratio: LogNormalDist::fixed(3.0),
            shape: 1.0,
        },
        adstock: 0.0,
        carry_in_daily_spend: 0.0,
        seasonality: Seasonality::FLAT,
        source: ParameterSource::Supplied,
        window: None,
        ltv_window: None,
        history_weight: 0.0,
    }
}

pub fn model(platforms: Vec<PlatformModel>) -> MarketModel {
    MarketModel {
        currency: Currency::USD,
        industry: Industry::General,
        platforms,
    }
}

/// 100 a day on one platform for 30 days, with a baseline of 3,000 spend and
/// revenue equal to organic + 3,000.
pub fn plan(platform: Platform) -> Plan {
    Plan {
        currency: Currency::USD,
        allocations: vec![PlanAllocation {
            platform: platform.as_str().into(),
            ad_set_id: None,
            daily_budget: Money::from_micros(100_000_000, Currency::USD),
        }],
        duration_days: 30,
        start_date: None,
        target_roas: None,
        max_cpa: None,
        baseline_revenue: Some(Money::from_micros(13_000_000_000, Currency::USD)),
        baseline_ad_spend: Some(Money::from_micros(3_000_000_000, Currency::USD)),
        organic_revenue: Some(Money::from_micros(10_000_000_000, Currency::USD)),
        budget_cap: None,
    }
}

pub fn options(runs: u32) -> SimulationOptions {
    SimulationOptions {
        runs,
        seed: 2026,
        ..SimulationOptions::default()
    }
}
