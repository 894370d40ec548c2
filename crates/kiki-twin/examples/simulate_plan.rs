//! Simulates a 6-platform, 30-day plan (10,000 runs by default) plus the
//! three stress scenarios and prints the gate decision. Used to measure peak
//! memory, e.g. `/usr/bin/time -v target/release/examples/simulate_plan 42 10000`
//! (arguments: seed, runs, and optionally the contribution margin in basis
//! points; without it no margin is configured and revenue counts as profit).

use kiki_core::{Currency, Money};
use kiki_twin::{
    GateConfig, Industry, Margin, Plan, PlanAllocation, Platform, SimulationOptions, TwinConfig,
    decide, estimate::prior_model, evaluate,
};

fn main() {
    let platforms = [
        Platform::Meta,
        Platform::Google,
        Platform::Tiktok,
        Platform::Linkedin,
        Platform::Amazon,
        Platform::Microsoft,
    ];
    let model = prior_model(Currency::USD, Industry::Ecommerce, &platforms);
    let plan = Plan {
        currency: Currency::USD,
        allocations: platforms
            .iter()
            .map(|p| PlanAllocation {
                platform: p.as_str().into(),
                ad_set_id: None,
                daily_budget: Money::from_micros(200_000_000, Currency::USD),
            })
            .collect(),
        duration_days: 30,
        start_date: None,
        target_roas: Some(2.0),
        max_cpa: Some(Money::from_micros(80_000_000, Currency::USD)),
        baseline_revenue: Some(Money::from_micros(100_000_000_000, Currency::USD)),
        baseline_ad_spend: Some(Money::from_micros(20_000_000_000, Currency::USD)),
        organic_revenue: Some(Money::from_micros(90_000_000_000, Currency::USD)),
        budget_cap: None,
    };
    let arg = |i: usize| std::env::args().nth(i).and_then(|s| s.parse::<u64>().ok());
    let options = SimulationOptions {
        seed: arg(1).unwrap_or(42),
        runs: arg(2).map_or(10_000, |r| u32::try_from(r).unwrap_or(u32::MAX)),
        ..SimulationOptions::default()
    };
    let config = TwinConfig {
        margin: arg(3).map_or(Margin::not_configured(), |bps| {
            Margin::configured_bps(u32::try_from(bps).unwrap_or(10_000))
        }),
        ..TwinConfig::default()
    };
    let report = match evaluate(&plan, &model, &options, &config) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let r = &report.result;
    println!(
        "confidence {:.4} ± {:.4}; expected uplift {}; p10/p50/p90 {}/{}/{}; ROAS p50 {:.2}; CPA p50 {}",
        r.confidence,
        r.confidence_std_error,
        r.expected_uplift.text(),
        r.uplift.p10.text(),
        r.uplift.p50.text(),
        r.uplift.p90.text(),
        r.roas.p50,
        r.cpa
            .p50
            .map_or("none".to_owned(), |m| m.text().to_string())
    );
    for s in &report.stress {
        println!("stress {}: confidence {:.4}", s.scenario.name, s.confidence);
    }
    match decide(&report, &GateConfig::default()) {
        Ok(d) => println!("{}", d.reason),
        Err(e) => eprintln!("{e}"),
    }
}
