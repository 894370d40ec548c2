//! Estimation feeding simulation, stress scenarios and the mirror.

use kiki_core::{Currency, Money};
use kiki_twin::{
    DailyActual, DailyPerformance, EstimationConfig, EstimationInput, Industry, MarketModel,
    MirrorConfig, Plan, PlanAllocation, Platform, TwinConfig, estimate, evaluate, mirror,
};
use time::macros::date;

use super::options;

/// A model estimated from 60 days of Meta and Google history.
pub fn uncertain_model() -> MarketModel {
    let start = date!(2026 - 01 - 05);
    let mut history = Vec::new();
    for t in 0..60_i64 {
        for (platform, spend, cpm, ctr, cvr) in [
            ("meta", 150.0, 11.0, 0.012, 0.03),
            ("google", 200.0, 70.0, 0.04, 0.045),
        ] {
            // A weekly wobble so the history is not perfectly flat.
            let wobble = 1.0 + 0.1 * ((t % 7) as f64 - 3.0) / 3.0;
            let impressions = (spend / cpm * 1000.0_f64).round();
            let clicks = (impressions * ctr).round();
            let conversions = (clicks * cvr * wobble).round();
            history.push(DailyPerformance {
                platform: platform.into(),
                ad_set_id: None,
                date: start + time::Duration::days(t),
                spend_micros: (spend * 1e6) as i64,
                impressions: impressions as u64,
                clicks: clicks as u64,
                conversions,
                revenue_micros: (conversions * 70.0 * 1e6) as i64,
            });
        }
    }
    estimate(&EstimationInput {
        currency: Currency::USD,
        industry: Industry::Ecommerce,
        platforms: vec![],
        history,
        ltv: vec![],
        config: EstimationConfig::default(),
    })
    .unwrap()
}

pub fn uncertain_plan() -> Plan {
    Plan {
        currency: Currency::USD,
        allocations: vec![
            PlanAllocation {
                platform: "meta".into(),
                ad_set_id: None,
                daily_budget: Money::from_micros(180_000_000, Currency::USD),
            },
            PlanAllocation {
                platform: "google".into(),
                ad_set_id: None,
                daily_budget: Money::from_micros(220_000_000, Currency::USD),
            },
        ],
        duration_days: 30,
        start_date: Some(date!(2026 - 03 - 09)),
        target_roas: Some(1.2),
        max_cpa: Some(Money::from_micros(80_000_000, Currency::USD)),
        baseline_revenue: Some(Money::from_micros(40_000_000_000, Currency::USD)),
        baseline_ad_spend: Some(Money::from_micros(10_500_000_000, Currency::USD)),
        organic_revenue: Some(Money::from_micros(21_000_000_000, Currency::USD)),
        budget_cap: Some(Money::from_micros(15_000_000_000, Currency::USD)),
    }
}

#[test]
fn an_estimated_model_drives_a_full_evaluation_with_three_stress_scenarios() {
    let report = evaluate(
        &uncertain_plan(),
        &uncertain_model(),
        &options(5_000),
        &TwinConfig::default(),
    )
    .unwrap();
    let names: Vec<&str> = report
        .stress
        .iter()
        .map(|s| s.scenario.name.as_str())
        .collect();
    assert_eq!(names, ["cpm_plus_50", "cvr_minus_30", "ltv_minus_20"]);
    for s in &report.stress {
        assert!(
            s.confidence < report.result.confidence,
            "{}",
            s.scenario.name
        );
        assert!(s.expected_uplift.micros < report.result.expected_uplift.micros);
    }
    assert_eq!(report.total_budget.micros, 12_000_000_000);
    assert_eq!(report.result.projection.len(), 30);
    assert_eq!(
        report.result.projection[0].date,
        Some(date!(2026 - 03 - 09))
    );
}

#[test]
fn stress_runs_can_be_fewer_than_base_runs() {
    let cfg = TwinConfig {
        stress_runs: Some(300),
        ..TwinConfig::default()
    };
    let report = evaluate(&uncertain_plan(), &uncertain_model(), &options(1_000), &cfg).unwrap();
    assert_eq!(report.result.runs, 1_000);
    // Confidence of 300 runs is a multiple of 1/300.
    for s in &report.stress {
        let k = s.confidence * 300.0;
        assert!((k - k.round()).abs() < 1e-9);
    }
}

#[test]
fn the_mirror_reads_the_projection_band_of_a_simulation() {
    let report = evaluate(
        &uncertain_plan(),
        &uncertain_model(),
        &options(2_000),
        &TwinConfig::default(),
    )
    .unwrap();
    let band = &report.result.projection;
    // Actuals exactly on the projected median each day: no finding.
    let on_track: Vec<DailyActual> = band
        .iter()
        .take(10)
        .scan(0, |prev, b| {
            let day_revenue = b.revenue.p50.micros - *prev;
            *prev = b.revenue.p50.micros;
            Some(DailyActual {
                day: b.day,
                revenue_micros: day_revenue,
                spend_micros: 400_000_000,
            })
        })
        .collect();
    let r = mirror(band, &on_track, &MirrorConfig::default()).unwrap();
    assert!(!r.rollback_recommended);
    assert!(r.latest_deviation.unwrap().abs() < 1e-9);
    // 25 % below the median every day: rollback, with the evidence.
    let low: Vec<DailyActual> = on_track
        .iter()
        .map(|a| DailyActual {
            revenue_micros: a.revenue_micros * 3 / 4,
            ..*a
        })
        .collect();
    let r = mirror(band, &low, &MirrorConfig::default()).unwrap();
    assert!(r.rollback_recommended);
    let f = &r.findings[0];
    assert_eq!(f.day, 10);
    assert_eq!(f.expected_revenue.micros, band[9].revenue.p50.micros);
    assert_eq!(f.band, band[9].revenue);
    assert!((f.deviation + 0.25).abs() < 0.001, "{}", f.deviation);
    assert_eq!(f.days_in_breach, 10);
}

#[test]
fn the_plan_platform_without_a_model_is_reported() {
    let mut p = uncertain_plan();
    p.allocations.push(PlanAllocation {
        platform: "snapchat".into(),
        ad_set_id: None,
        daily_budget: Money::from_micros(1_000_000, Currency::USD),
    });
    let err = evaluate(
        &p,
        &uncertain_model(),
        &options(100),
        &TwinConfig::default(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        kiki_twin::TwinError::MissingPlatformModel(Platform::Snapchat)
    );
    assert!(err.to_string().contains("Snapchat"));
}
