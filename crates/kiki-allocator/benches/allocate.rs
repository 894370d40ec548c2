//! Criterion benchmarks of the allocator over 10 platform lines (the issue's
//! target: under 10 ms): concave curves, a mix with S-shaped curves, and with
//! a CPA target; and one pass of the rebalancing rule. Results and commands:
//! bench/twin/RESULTS.md.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kiki_allocator::{
    AllocationRequest, EfficiencyTarget, Objective, PlatformActuals, PlatformCurveInput,
    RebalanceConfig, RebalanceInput, allocate, rebalance,
};
use kiki_core::{Currency, Money};
use kiki_twin::{Hill, Platform, ResponseCurve};

const PLATFORMS: [Platform; 11] = Platform::ALL;

/// Ten lines: the nine platforms plus a second Meta ad set.
fn request(shapes: &[f64; 10], target: Option<EfficiencyTarget>) -> AllocationRequest {
    let platforms = (0..10)
        .map(|i| PlatformCurveInput {
            platform: PLATFORMS[i % 9].as_str().into(),
            ad_set_id: (i == 9).then(|| "retargeting".to_string()),
            curve: ResponseCurve {
                max_conversions: 20.0 + 7.0 * i as f64,
                hill: Hill {
                    half_saturation: 150.0 + 60.0 * i as f64,
                    shape: shapes[i],
                },
            },
            value_per_conversion_micros: (60.0 + 15.0 * (i % 4) as f64) as i64 * 1_000_000,
            min_daily_budget_micros: 10_000_000,
            max_daily_budget_micros: Some(1_500_000_000),
        })
        .collect();
    AllocationRequest {
        currency: Currency::USD,
        total_budget_micros: 4_000_000_000,
        objective: Objective::NetProfit,
        platforms,
        target,
        contribution_margin: 1.0,
    }
}

fn benches(c: &mut Criterion) {
    let concave = request(
        &[0.6, 0.7, 0.8, 0.9, 1.0, 0.75, 0.85, 0.95, 1.0, 0.65],
        None,
    );
    let mixed = request(&[0.6, 2.0, 0.8, 2.5, 1.0, 0.75, 1.5, 0.95, 1.0, 0.65], None);
    let mut targeted = concave.clone();
    targeted.target = Some(EfficiencyTarget::MaxCpa {
        max_cpa: Money::from_micros(12_000_000, Currency::USD),
    });
    let mut mixed_targeted = mixed.clone();
    mixed_targeted.target = targeted.target;
    for (name, req) in [
        ("allocate 10 concave lines", &concave),
        ("allocate 10 lines, 3 S-shaped", &mixed),
        ("allocate 10 concave lines with a CPA target", &targeted),
        (
            "allocate 10 lines, 3 S-shaped, with a CPA target",
            &mixed_targeted,
        ),
    ] {
        c.bench_function(name, |b| b.iter(|| allocate(black_box(req))));
    }
    let input = RebalanceInput {
        currency: Currency::USD,
        platforms: PLATFORMS
            .iter()
            .enumerate()
            .map(|(i, p)| PlatformActuals {
                platform: p.as_str().into(),
                daily_budget_micros: 300_000_000,
                min_daily_budget_micros: 50_000_000,
                max_daily_budget_micros: Some(800_000_000),
                spend_micros: 2_000_000_000,
                conversions: 10.0 + i as f64,
                ltv_micros: 400_000_000,
            })
            .collect(),
        config: RebalanceConfig::default(),
    };
    c.bench_function("rebalance 9 platforms", |b| {
        b.iter(|| rebalance(black_box(&input)))
    });
}

criterion_group! {
    name = allocator;
    config = Criterion::default().sample_size(30);
    targets = benches
}
criterion_main!(allocator);
