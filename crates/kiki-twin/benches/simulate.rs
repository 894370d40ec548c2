//! Criterion benchmarks of the twin: one 10,000-run simulation of a
//! 6-platform, 30-day plan (the target: under 100 ms on 2 cores), the
//! full evaluation with three stress scenarios, and estimation from 90 days of
//! history on 6 platforms. Results and commands: bench/twin/RESULTS.md.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kiki_core::{Currency, Money};
use kiki_twin::{
    DailyPerformance, EstimationConfig, EstimationInput, Industry, MarketModel, Plan,
    PlanAllocation, Platform, SimulationOptions, TwinConfig, estimate, evaluate, simulate,
};
use time::macros::date;

const PLATFORMS: [Platform; 6] = [
    Platform::Meta,
    Platform::Google,
    Platform::Tiktok,
    Platform::Linkedin,
    Platform::Amazon,
    Platform::Microsoft,
];

/// 90 days of history per platform with a weekly rhythm in spend.
fn history() -> Vec<DailyPerformance> {
    let start = date!(2025 - 10 - 06);
    let mut rows = Vec::new();
    for (i, p) in PLATFORMS.iter().enumerate() {
        for t in 0..90_i64 {
            let spend = 100.0 + 20.0 * i as f64 + 30.0 * ((t * 3 + i as i64) % 7) as f64;
            let impressions = spend / (8.0 + 4.0 * i as f64) * 1000.0;
            let clicks = (impressions * 0.012).round();
            let conversions = (clicks * (0.03 + 0.002 * (t % 5) as f64)).round();
            rows.push(DailyPerformance {
                platform: p.as_str().into(),
                ad_set_id: None,
                date: start + time::Duration::days(t),
                spend_micros: (spend * 1e6) as i64,
                impressions: impressions as u64,
                clicks: clicks as u64,
                conversions,
                revenue_micros: (conversions * 75.0 * 1e6) as i64,
            });
        }
    }
    rows
}

fn estimation_input() -> EstimationInput {
    EstimationInput {
        currency: Currency::USD,
        industry: Industry::Ecommerce,
        platforms: vec![],
        history: history(),
        ltv: vec![],
        config: EstimationConfig::default(),
    }
}

fn model() -> MarketModel {
    match estimate(&estimation_input()) {
        Ok(m) => m,
        Err(e) => panic!("benchmark fixture failed to estimate: {e}"),
    }
}

fn plan() -> Plan {
    Plan {
        currency: Currency::USD,
        allocations: PLATFORMS
            .iter()
            .map(|p| PlanAllocation {
                platform: p.as_str().into(),
                ad_set_id: None,
                daily_budget: Money::from_micros(200_000_000, Currency::USD),
            })
            .collect(),
        duration_days: 30,
        start_date: Some(date!(2026 - 03 - 02)),
        target_roas: Some(2.0),
        max_cpa: Some(Money::from_micros(80_000_000, Currency::USD)),
        baseline_revenue: Some(Money::from_micros(100_000_000_000, Currency::USD)),
        baseline_ad_spend: Some(Money::from_micros(20_000_000_000, Currency::USD)),
        organic_revenue: Some(Money::from_micros(90_000_000_000, Currency::USD)),
        budget_cap: None,
    }
}

fn benches(c: &mut Criterion) {
    let model = model();
    let plan = plan();
    let options = SimulationOptions {
        runs: 10_000,
        seed: 1,
        ..SimulationOptions::default()
    };
    c.bench_function("simulate 10k runs x 6 platforms x 30 days", |b| {
        b.iter(|| simulate(black_box(&plan), black_box(&model), black_box(&options)))
    });
    let config = TwinConfig::default();
    c.bench_function("evaluate 10k runs + 3 stress scenarios", |b| {
        b.iter(|| evaluate(black_box(&plan), &model, &options, &config))
    });
    let input = estimation_input();
    c.bench_function("estimate 6 platforms x 90 days of history", |b| {
        b.iter(|| estimate(black_box(&input)))
    });
}

criterion_group! {
    name = twin;
    config = Criterion::default().sample_size(20);
    targets = benches
}
criterion_main!(twin);
