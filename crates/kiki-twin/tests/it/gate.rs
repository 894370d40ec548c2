//! The gate: approval rule, hard violations, configurable threshold, fee split.

use kiki_core::Money;
use kiki_twin::{GateConfig, Platform, RiskLevel, TwinConfig, ViolationKind, decide, evaluate};

use super::{certain, model, options, plan};

#[test]
fn a_certainly_profitable_plan_is_approved_with_the_fee_split_in_micros() {
    // CVR 5 %: 10 customers a day × 50 = 500 revenue a day for 100 spend.
    // Uplift against no new spend = 15,000 of revenue − 3,000 of spend.
    let m = model(vec![certain(Platform::Meta, 0.05)]);
    let report = evaluate(
        &plan(Platform::Meta),
        &m,
        &options(1_000),
        &TwinConfig::default(),
    )
    .unwrap();
    assert_eq!(report.result.confidence, 1.0);
    assert_eq!(report.result.expected_uplift.micros, 12_000_000_000);
    assert_eq!(report.risk_level, RiskLevel::Low);
    let d = decide(&report, &GateConfig::default()).unwrap();
    assert!(d.approved);
    assert!(
        d.reason
            .starts_with("Approved: the plan has a 100.0 % chance"),
        "{}",
        d.reason
    );
    assert_eq!(d.fee.fee_on_expected_uplift.micros, 2_400_000_000);
    assert_eq!(d.fee.client_share_of_expected_uplift.micros, 9_600_000_000);
    assert_eq!(d.fee.expected_fee.micros, 2_400_000_000);
    assert_eq!(d.fee.client_expected_share.micros, 9_600_000_000);
    assert!(
        d.reason.contains("the client keeps an expected $9,600.00"),
        "{}",
        d.reason
    );
    assert_eq!(d.inputs.stress_confidence.len(), 3);
    assert_eq!(d.inputs.min_confidence, 0.85);
    assert!(
        d.reason
            .contains("No contribution margin configured: assuming 100 %, revenue = profit."),
        "{}",
        d.reason
    );
    assert!(!d.reason.contains("micros"), "{}", d.reason);
}

#[test]
fn a_zero_plan_adds_exactly_nothing_and_is_rejected() {
    let mut meta = certain(Platform::Meta, 0.05);
    // Past spend still carries into the period.
    meta.adstock = 0.5;
    meta.carry_in_daily_spend = 100.0;
    let m = model(vec![meta]);
    let mut p = plan(Platform::Meta);
    p.allocations[0].daily_budget = Money::from_micros(0, p.currency);
    let report = evaluate(&p, &m, &options(500), &TwinConfig::default()).unwrap();
    assert_eq!(report.result.expected_uplift.micros, 0);
    assert_eq!(report.result.uplift.p90.micros, 0);
    assert_eq!(report.result.confidence, 0.0);
    assert!(report.result.counterfactual.carry_over_revenue.micros > 0);
    assert!(report.stress.iter().all(|s| s.expected_uplift.micros == 0));
    assert_eq!(report.violations[0].kind, ViolationKind::NoNewSpend);
    let d = decide(&report, &GateConfig::default()).unwrap();
    assert!(!d.approved);
    assert!(
        d.reason
            .contains("the plan spends nothing, so it adds nothing"),
        "{}",
        d.reason
    );
    assert!(
        d.reason.contains("Expected net profit uplift $0.00"),
        "{}",
        d.reason
    );
    assert_eq!(d.fee.expected_fee.micros, 0);
}

#[test]
fn the_reason_names_the_margin_and_the_platforms_without_history() {
    let m = kiki_twin::prior_model(
        kiki_core::Currency::USD,
        kiki_twin::Industry::Ecommerce,
        &[Platform::Meta],
    );
    let p = plan(Platform::Meta);
    let cfg = TwinConfig {
        margin: kiki_twin::Margin::configured_bps(3000),
        value_source: Some("LTV model 3, fitted 2026-03-01, mean CLV $29.10".into()),
        ..TwinConfig::default()
    };
    let report = evaluate(&p, &m, &options(500), &cfg).unwrap();
    assert_eq!(
        report.result.confidence_basis,
        kiki_twin::ConfidenceBasis::PriorBased
    );
    let d = decide(&report, &GateConfig::default()).unwrap();
    for words in [
        "(prior-based)",
        "Profit at the configured 30 % contribution margin.",
        "No performance history for Meta: planning assumptions, not measurements",
        "Customer value: LTV model 3, fitted 2026-03-01, mean CLV $29.10.",
    ] {
        assert!(d.reason.contains(words), "{words}: {}", d.reason);
    }
    assert_eq!(
        d.inputs.confidence_basis,
        kiki_twin::ConfidenceBasis::PriorBased
    );
    assert_eq!(d.inputs.margin.contribution_margin, 0.3);
    assert_eq!(
        d.inputs.data_quality.len(),
        report.result.data_quality.len()
    );
}

#[test]
fn a_certainly_unprofitable_plan_is_rejected_and_pays_no_fee() {
    // CVR 0.5 %: 1 customer a day → 50 revenue for 100 spend.
    let m = model(vec![certain(Platform::Meta, 0.005)]);
    let report = evaluate(
        &plan(Platform::Meta),
        &m,
        &options(500),
        &TwinConfig::default(),
    )
    .unwrap();
    assert_eq!(report.result.confidence, 0.0);
    assert_eq!(report.risk_level, RiskLevel::Critical);
    assert_eq!(
        report.violations[0].kind,
        ViolationKind::NegativeExpectedUplift
    );
    assert!(report.violations[0].hard);
    let d = decide(&report, &GateConfig::default()).unwrap();
    assert!(!d.approved);
    assert!(d.reason.starts_with("Rejected: the chance of positive net profit uplift is 0.0 %, below the 85.0 % threshold; the expected net profit uplift is negative"), "{}", d.reason);
    assert_eq!(
        d.fee.fee_on_expected_uplift,
        Money::zero(kiki_core::Currency::USD)
    );
    assert_eq!(d.fee.expected_fee.micros, 0);
    assert_eq!(d.fee.client_expected_share, d.fee.expected_uplift);
}

#[test]
fn a_confident_plan_with_a_hard_violation_is_rejected() {
    let m = model(vec![certain(Platform::Meta, 0.05)]);
    let mut p = plan(Platform::Meta);
    p.budget_cap = Some(Money::from_micros(2_000_000_000, p.currency));
    p.max_cpa = Some(Money::from_micros(5_000_000, p.currency));
    let report = evaluate(&p, &m, &options(200), &TwinConfig::default()).unwrap();
    assert_eq!(report.result.confidence, 1.0);
    let kinds: Vec<ViolationKind> = report.violations.iter().map(|v| v.kind).collect();
    assert_eq!(
        kinds,
        [ViolationKind::CpaOverMax, ViolationKind::BudgetOverCap]
    );
    let d = decide(&report, &GateConfig::default()).unwrap();
    assert!(!d.approved);
    assert_eq!(d.inputs.hard_violations.len(), 2);
    assert!(
        d.reason.contains("above its cap of $2,000.00"),
        "{}",
        d.reason
    );
    assert!(
        d.reason
            .contains("the median cost per customer, $10.00, is above the maximum of $5.00"),
        "{}",
        d.reason
    );
}

#[test]
fn a_soft_violation_does_not_block_approval_unless_configured_hard() {
    let m = model(vec![certain(Platform::Meta, 0.05)]);
    let mut p = plan(Platform::Meta);
    p.target_roas = Some(6.0); // ROAS is 5.
    let report = evaluate(&p, &m, &options(100), &TwinConfig::default()).unwrap();
    assert_eq!(report.violations.len(), 1);
    assert!(!report.violations[0].hard);
    assert!(decide(&report, &GateConfig::default()).unwrap().approved);
    let mut cfg = TwinConfig::default();
    cfg.hard.roas_below_target = true;
    let report = evaluate(&p, &m, &options(100), &cfg).unwrap();
    assert!(!decide(&report, &GateConfig::default()).unwrap().approved);
}

#[test]
fn the_threshold_is_configurable_and_confidence_exactly_at_it_passes() {
    let m = crate::pipeline::uncertain_model();
    let p = crate::pipeline::uncertain_plan();
    // At a 65 % margin the plan sits between the extremes.
    let cfg = TwinConfig {
        margin: kiki_twin::Margin::configured_bps(6500),
        ..TwinConfig::default()
    };
    let report = evaluate(&p, &m, &options(2_000), &cfg).unwrap();
    let c = report.result.confidence;
    assert!(c > 0.2 && c < 0.99, "{c}");
    assert_eq!(report.hard_violations().count(), 0);
    let at = GateConfig {
        min_confidence: c,
        ..GateConfig::default()
    };
    assert!(decide(&report, &at).unwrap().approved);
    let above = GateConfig {
        min_confidence: (c + 0.001).min(1.0),
        ..GateConfig::default()
    };
    assert!(!decide(&report, &above).unwrap().approved);
}

#[test]
fn the_fee_rate_follows_the_contract() {
    let m = model(vec![certain(Platform::Meta, 0.05)]);
    let report = evaluate(
        &plan(Platform::Meta),
        &m,
        &options(100),
        &TwinConfig::default(),
    )
    .unwrap();
    let d = decide(
        &report,
        &GateConfig {
            fee_rate_bps: 1500,
            ..GateConfig::default()
        },
    )
    .unwrap();
    assert_eq!(d.fee.fee_on_expected_uplift.micros, 1_800_000_000);
    assert!(d.reason.contains("After the 15.0 % fee"), "{}", d.reason);
    let bad = GateConfig {
        min_confidence: f64::NAN,
        ..GateConfig::default()
    };
    assert!(decide(&report, &bad).is_err());
}

#[test]
fn a_plan_too_small_to_matter_is_not_approved_however_sure() {
    // 50 micros a day for 30 days: certainly profitable, by less than a cent.
    let m = model(vec![certain(Platform::Meta, 0.05)]);
    let mut p = plan(Platform::Meta);
    p.allocations[0].daily_budget = Money::from_micros(50, p.currency);
    let report = evaluate(&p, &m, &options(200), &TwinConfig::default()).unwrap();
    assert_eq!(report.result.confidence, 1.0);
    assert_eq!(report.hard_violations().count(), 0);
    let uplift = report.result.expected_uplift.micros;
    assert!(uplift > 0 && uplift < 10_000, "{uplift}");
    let d = decide(&report, &GateConfig::default()).unwrap();
    assert!(!d.approved, "{}", d.reason);
    assert!(
        d.reason.starts_with(
            "Rejected: the expected net profit uplift is less than $0.01, the smallest amount of the currency, so the plan is too small to be worth running."
        ),
        "{}",
        d.reason
    );
    assert_eq!(
        d.inputs.min_expected_uplift,
        Some(Money::from_micros(10_000, p.currency))
    );
}

#[test]
fn a_configured_minimum_share_of_spend_makes_an_uplift_material() {
    // 3,000 of spend brings 12,000 of uplift: 400 % of the spend.
    let m = model(vec![certain(Platform::Meta, 0.05)]);
    let report = evaluate(
        &plan(Platform::Meta),
        &m,
        &options(200),
        &TwinConfig::default(),
    )
    .unwrap();
    let at = |bps| GateConfig {
        min_uplift_bps_of_spend: bps,
        ..GateConfig::default()
    };
    let d = decide(&report, &at(40_000)).unwrap();
    assert!(d.approved, "{}", d.reason);
    assert_eq!(d.inputs.min_expected_uplift.unwrap().micros, 12_000_000_000);
    let d = decide(&report, &at(50_000)).unwrap();
    assert!(!d.approved);
    assert!(
        d.reason.starts_with(
            "Rejected: the expected net profit uplift of $12,000.00 is less than $15,000.00, the minimum of 500.0 % of the plan's spend of $3,000.00."
        ),
        "{}",
        d.reason
    );
    assert!(decide(&report, &at(1_000_001)).is_err());
}
