//! Criterion benchmarks of the incrementality engine. Speed targets live
//! here, not in tests (docs/benchmarks.md records the figures):
//!
//! - one analysis of GeoLift's walkthrough panel (40 cities × 105 days):
//!   synthetic-control fit, conformal p-value and the interval by test
//!   inversion — target < 50 ms;
//! - market selection with power analysis over 40 markets × 365 days:
//!   candidate groups of 2–5 markets, the 100 best by pre-period fit, each
//!   with 200 rolling-origin simulated 15-day tests at 5 effect sizes
//!   (0, 5, 10, 15, 20 %) — 100,000 null refits plus 20,000 pre-period
//!   estimates — target < 60 s on the 2-core machine.
//!
//! No public 365-day panel with these properties exists, so the year is
//! built from GeoLift's pre-test panel: its first 84 days (12 whole weeks)
//! are repeated day by day (day `t` takes day `t mod 84`, so weekdays stay
//! aligned across the joins), times an annual cycle `1 + 0.1 sin(2πt/365)`
//! and a market-day factor `1 + 0.03 z` with `z` standard normal from the
//! engine's SplitMix64 seeded with 2021.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

use kiki_lift::{
    ConformalOptions, CsvColumns, DesignBounds, DesignSpec, LongOptions, Panel, RunControl,
    SplitMix64, SyntheticControlSpec, analyze_geo, select_markets,
};

fn fixture(name: &str) -> Panel {
    let text = std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture");
    Panel::parse_long_csv(&text, &CsvColumns::default(), LongOptions::default())
        .expect("fixture parses")
        .0
}

/// The 40 × 365 panel described in the module documentation.
pub fn year_panel() -> Panel {
    let pre = fixture("geolift_pretest.csv");
    let mut rng = SplitMix64::new(2021);
    let values: Vec<Vec<f64>> = (0..pre.n_units())
        .map(|u| {
            let s = pre.series(u);
            (0..365)
                .map(|t| {
                    let season = 1.0 + 0.1 * (2.0 * std::f64::consts::PI * t as f64 / 365.0).sin();
                    s[t % 84] * season * (1.0 + 0.03 * rng.normal())
                })
                .collect()
        })
        .collect();
    Panel::new(
        pre.units().to_vec(),
        (0..365).map(|t| format!("d{t:03}")).collect(),
        values,
    )
    .expect("valid panel")
}

fn year_design() -> DesignSpec {
    DesignSpec {
        treatment_sizes: vec![2, 3, 4, 5],
        durations: vec![15],
        effect_sizes: vec![0.0, 0.05, 0.10, 0.15, 0.20],
        simulations: 200,
        pre_periods: 365 - 15 - 199,
        candidates: 100,
        alpha: 0.1,
        alternative: Default::default(),
        fixed_effects: true,
        augmentation: Default::default(),
        required_units: vec![],
        excluded_units: vec![],
        excluded_donors: vec![],
        max_volume_share: None,
        budget: None,
        cost_per_incremental_unit: None,
        bounds: DesignBounds::default(),
    }
}

fn benches(c: &mut Criterion) {
    let panel = fixture("geolift_test.csv");
    let spec = SyntheticControlSpec {
        treated: vec!["chicago".into(), "portland".into()],
        treatment_start: 90,
        treatment_end: 105,
        pre_start: 0,
        fixed_effects: true,
        augmentation: Default::default(),
        excluded_donors: vec![],
    };
    c.bench_function(
        "geolift_walkthrough_analysis_with_conformal_interval",
        |b| {
            b.iter(|| {
                analyze_geo(
                    black_box(&panel),
                    black_box(&spec),
                    &ConformalOptions::default(),
                    &mut RunControl::none(),
                )
                .expect("analysis")
            })
        },
    );

    let year = year_panel();
    let design = year_design();
    let report = select_markets(&year, &design, &mut RunControl::none()).expect("design");
    println!(
        "market selection: {} groups generated, {} evaluated, {} fits; {}",
        report.generated,
        report.evaluated.len(),
        report.fits,
        report.summary
    );
    let mut group = c.benchmark_group("design");
    group.sample_size(10);
    group.warm_up_time(std::time::Duration::from_millis(1));
    group.measurement_time(std::time::Duration::from_secs(1));
    group.bench_function("market_selection_power_40x365_100x5x200", |b| {
        b.iter(|| {
            select_markets(
                black_box(&year),
                black_box(&design),
                &mut RunControl::none(),
            )
            .expect("design")
        })
    });
    group.finish();
}

criterion_group!(lift, benches);
criterion_main!(lift);
