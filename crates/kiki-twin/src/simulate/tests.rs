//! Engine tests: the closed form for degenerate models, reproducibility
//! across thread counts, stability of the confidence across seeds, the
//! direction of each scenario, the counterfactual and the margin.

use super::*;
use crate::dist::{BetaDist, LogNormalDist};
use crate::model::{Hill, ParameterSource, PlatformModel, Saturation, Seasonality};
use crate::plan::PlanAllocation;
use crate::platform::Platform;
use crate::priors::Industry;
use kiki_core::Currency;

/// A platform whose every distribution has zero variance.
fn degenerate(platform: Platform, cpm: f64, ctr: f64, cvr: f64) -> PlatformModel {
    PlatformModel {
        platform,
        ad_set_id: None,
        cpm: LogNormalDist::fixed(cpm),
        ctr: BetaDist::fixed(ctr),
        cvr: BetaDist::fixed(cvr),
        cpm_daily_sigma: 0.0,
        conversion_daily_sigma: 0.0,
        order_value: LogNormalDist::fixed(55.0),
        ltv: LogNormalDist::fixed(140.0),
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

fn plan(budgets: &[(Platform, i64)], days: u32) -> Plan {
    Plan {
        currency: Currency::USD,
        allocations: budgets
            .iter()
            .map(|(p, b)| PlanAllocation {
                platform: p.as_str().into(),
                ad_set_id: None,
                daily_budget: Money::from_micros(*b, Currency::USD),
            })
            .collect(),
        duration_days: days,
        start_date: None,
        target_roas: Some(1.5),
        max_cpa: Some(Money::from_micros(50_000_000, Currency::USD)),
        baseline_revenue: Some(Money::from_micros(30_000_000_000, Currency::USD)),
        baseline_ad_spend: Some(Money::from_micros(4_000_000_000, Currency::USD)),
        organic_revenue: Some(Money::from_micros(27_000_000_000, Currency::USD)),
        budget_cap: None,
    }
}

fn model(platforms: Vec<PlatformModel>) -> MarketModel {
    MarketModel {
        currency: Currency::USD,
        industry: Industry::General,
        platforms,
    }
}

fn opts(runs: u32, seed: u64) -> SimulationOptions {
    SimulationOptions {
        runs,
        seed,
        ..SimulationOptions::default()
    }
}

/// The closed form of the degenerate model, written independently of the
/// engine: adstock recursion, Hill ratio, funnel product, for the plan and
/// for no new spend. Returns incremental conversions, revenue and LTV, the
/// plan's daily ad-driven revenue (carry-over included) and the carry-over
/// revenue of no new spend.
fn closed_form(plan: &Plan, model: &MarketModel) -> (f64, f64, f64, Vec<f64>, f64) {
    let days = plan.duration_days as usize;
    let mut daily_revenue = vec![0.0; days];
    let (mut conversions, mut revenue, mut ltv) = (0.0, 0.0, 0.0);
    let mut carry_over = 0.0;
    for a in &plan.allocations {
        let m = model
            .find(Platform::parse(&a.platform).unwrap(), None)
            .unwrap();
        let x = a.daily_budget.micros as f64 / 1e6;
        let x_ref = m.saturation.reference_daily_spend.unwrap();
        let hill = Hill {
            half_saturation: m.saturation.half_saturation_ratio.mean * x_ref,
            shape: m.saturation.shape,
        };
        let mut adstock = m.carry_in_daily_spend;
        let mut adstock0 = m.carry_in_daily_spend;
        for (t, day_revenue) in daily_revenue.iter_mut().enumerate() {
            adstock = (1.0 - m.adstock) * x + m.adstock * adstock;
            adstock0 *= m.adstock;
            let effective = x_ref * hill.value(adstock) / hill.value(x_ref);
            let effective0 = x_ref * hill.value(adstock0) / hill.value(x_ref);
            let weekday = match plan.start_date {
                Some(d) => {
                    m.seasonality.weekday_multipliers
                        [(d.weekday().number_days_from_monday() as usize + t) % 7]
                }
                None => 1.0,
            };
            let rate = 1000.0 / m.cpm.mean * m.ctr.mean * m.cvr.mean * weekday;
            let (c, c0) = (effective * rate, effective0 * rate);
            conversions += c - c0;
            revenue += (c - c0) * m.order_value.mean;
            ltv += (c - c0) * m.ltv.mean;
            *day_revenue += c * m.order_value.mean;
            carry_over += c0 * m.order_value.mean;
        }
    }
    (conversions, revenue, ltv, daily_revenue, carry_over)
}

/// An amount in micros equals the closed form rounded to the micro.
fn assert_micros(got: i64, want_major: f64, what: &str) {
    let want = want_major * 1e6;
    assert!(
        (got as f64 - want).abs() <= 0.5 + 1e-12 * want.abs(),
        "{what}: {got} vs {want}"
    );
}

fn assert_close(got: f64, want: f64, what: &str) {
    assert!(
        (got - want).abs() <= 1e-9 * want.abs().max(1.0),
        "{what}: {got} vs {want}"
    );
}

#[test]
fn with_zero_variance_the_simulation_equals_the_closed_form() {
    let mut meta = degenerate(Platform::Meta, 12.0, 0.01, 0.04);
    meta.adstock = 0.4;
    meta.carry_in_daily_spend = 50.0;
    meta.seasonality.weekday_multipliers = [0.9, 0.9, 0.9, 1.0, 1.1, 1.2, 1.0];
    let mut google = degenerate(Platform::Google, 60.0, 0.05, 0.05);
    google.saturation.shape = 2.0;
    let m = model(vec![meta, google]);
    let mut p = plan(
        &[
            (Platform::Meta, 100_000_000),
            (Platform::Google, 250_000_000),
        ],
        21,
    );
    p.start_date = Some(time::macros::date!(2026 - 02 - 05));
    for basis in [ValueBasis::Revenue, ValueBasis::Ltv] {
        let o = SimulationOptions {
            value_basis: Some(basis),
            ..opts(500, 9)
        };
        let r = simulate(&p, &m, &o).unwrap();
        let (conversions, revenue, ltv, daily, carry_over) = closed_form(&p, &m);
        assert!(carry_over > 50.0, "meta carries spend in: {carry_over}");
        let spend = 350.0 * 21.0;
        let value = if basis == ValueBasis::Revenue {
            revenue
        } else {
            ltv
        };
        // Against no new spend: organic revenue and carry-over cancel.
        let uplift = value - spend;
        assert_close(r.expected_conversions, conversions, "conversions");
        assert_micros(
            r.expected_revenue.micros,
            daily.iter().sum::<f64>(),
            "revenue with carry-over",
        );
        assert_micros(
            r.counterfactual.incremental_revenue.micros,
            revenue,
            "incremental revenue",
        );
        assert_micros(
            r.counterfactual.carry_over_revenue.micros,
            carry_over,
            "carry-over",
        );
        assert_eq!(r.counterfactual.revenue_without_plan.micros, 27_000_000_000);
        assert_micros(r.expected_ltv.micros, ltv, "ltv");
        assert_micros(r.expected_uplift.micros, uplift, "uplift");
        assert_eq!(r.expected_spend.micros, 7_350_000_000);
        // Every run is the same run: quantiles collapse onto the mean.
        assert_eq!(r.uplift.p10.micros, r.uplift.p90.micros);
        assert_eq!(r.uplift.p50.micros, r.expected_uplift.micros);
        assert_eq!(r.confidence, if uplift > 0.0 { 1.0 } else { 0.0 });
        assert_eq!(r.confidence_std_error, 0.0);
        assert_close(r.roas.p50, value / spend, "roas");
        assert_micros(r.cpa.p50.unwrap().micros, spend / conversions, "cpa");
        assert_eq!(r.histogram.bins.len(), 1);
        assert_eq!(r.histogram.bins[0].count, 500);
        // The projection band is exact too.
        let mut cum = 0.0;
        for (t, band) in r.projection.iter().enumerate() {
            cum += daily[t];
            assert_eq!(band.revenue.p10.micros, band.revenue.p90.micros);
            assert_micros(band.revenue.p50.micros, cum, "band");
        }
        assert_eq!(
            r.projection[20].date,
            Some(time::macros::date!(2026 - 02 - 25))
        );
    }
}

#[test]
fn a_degenerate_plan_at_its_reference_spend_has_the_textbook_funnel() {
    // 100/day at CPM 10 → 10,000 impressions → 200 clicks → 10 customers a
    // day → 300 over 30 days at 55 each.
    let m = model(vec![degenerate(Platform::Sandbox, 10.0, 0.02, 0.05)]);
    let r = simulate(
        &plan(&[(Platform::Sandbox, 100_000_000)], 30),
        &m,
        &opts(10, 1),
    )
    .unwrap();
    assert_close(r.expected_conversions, 300.0, "conversions");
    assert_eq!(r.expected_revenue.micros, 16_500_000_000);
    assert_eq!(r.cpa.p50.map(|m| m.micros), Some(10_000_000));
    // 16,500 of revenue the plan adds − 3,000 of spend; organic revenue and
    // the stated baselines are in both arms and change nothing.
    assert_eq!(r.expected_uplift.micros, 13_500_000_000);
    assert_eq!(r.counterfactual.revenue_with_plan.micros, 43_500_000_000);
}

/// A platform that has been spending 5,000 a day and carries it into the
/// plan: the situation in which a tiny plan used to be credited with the
/// carry-over of past spend.
fn carrying_model() -> MarketModel {
    let mut meta = degenerate(Platform::Meta, 12.0, 0.01, 0.04);
    meta.adstock = 0.6;
    meta.carry_in_daily_spend = 5_000.0;
    meta.saturation.reference_daily_spend = Some(5_000.0);
    meta.cpm = LogNormalDist::from_mean_cv(12.0, 0.3);
    meta.conversion_daily_sigma = 0.3;
    model(vec![meta])
}

#[test]
fn a_zero_plan_has_exactly_zero_uplift_and_a_tiny_one_is_not_credited_with_carry_over() {
    let m = carrying_model();
    let zero = simulate(&plan(&[(Platform::Meta, 0)], 30), &m, &opts(2_000, 11)).unwrap();
    assert_eq!(zero.expected_uplift.micros, 0);
    assert_eq!(zero.expected_positive_uplift.micros, 0);
    assert_eq!(
        (
            zero.uplift.p10.micros,
            zero.uplift.p50.micros,
            zero.uplift.p90.micros
        ),
        (0, 0, 0)
    );
    assert_eq!(zero.confidence, 0.0);
    assert_eq!(zero.expected_conversions, 0.0);
    assert_eq!(zero.counterfactual.incremental_revenue.micros, 0);
    assert!(zero.projection.iter().all(|d| d.uplift.p90.micros == 0));
    // The carry-over is there, and in both arms.
    assert!(zero.counterfactual.carry_over_revenue.micros > 10_000_000_000);
    assert_eq!(
        zero.expected_revenue.micros,
        zero.counterfactual.carry_over_revenue.micros
    );

    // $0.0002 a day: what it adds is worth a fraction of a cent.
    let tiny = simulate(&plan(&[(Platform::Meta, 200)], 30), &m, &opts(2_000, 11)).unwrap();
    assert!(
        tiny.expected_uplift.micros.abs() < 10_000,
        "{}",
        tiny.expected_uplift.micros
    );
    assert!(tiny.counterfactual.carry_over_revenue.micros > 10_000_000_000);
}

#[test]
fn a_thirty_percent_margin_counts_thirty_percent_of_the_incremental_revenue_as_profit() {
    let m = uncertain_model();
    let p = uncertain_plan();
    let o = opts(3_000, 21);
    let full = simulate(&p, &m, &o).unwrap();
    assert_eq!(full.margin, Margin::not_configured());
    let thirty = simulate_with_margin(&p, &m, &o, &Margin::configured_bps(3000)).unwrap();
    // Same draws: the revenue the plan adds is the same in both runs.
    assert_eq!(
        thirty.counterfactual.incremental_revenue.micros,
        full.counterfactual.incremental_revenue.micros
    );
    let revenue_uplift = full.counterfactual.incremental_revenue.micros as f64;
    let spend = full.expected_spend.micros as f64;
    assert_eq!(spend, 12_000_000_000.0);
    let want = 0.3 * revenue_uplift - spend;
    assert!(
        (thirty.expected_uplift.micros as f64 - want).abs() <= 2.0,
        "{} vs {want}",
        thirty.expected_uplift.micros
    );
    // At 100 % the uplift is the revenue uplift minus spend.
    assert!((full.expected_uplift.micros as f64 - (revenue_uplift - spend)).abs() <= 2.0);
    assert_eq!(
        thirty.counterfactual.incremental_gross_profit.micros,
        (0.3 * revenue_uplift).round() as i64
    );
    assert!(thirty.confidence < full.confidence);
    assert_eq!(thirty.margin.describe(), "configured 30 %");
}

#[test]
fn a_plan_under_priors_says_so_per_platform() {
    let r = simulate(&uncertain_plan(), &uncertain_model(), &opts(200, 1)).unwrap();
    assert_eq!(r.confidence_basis, crate::ConfidenceBasis::PriorBased);
    assert_eq!(r.data_quality.len(), 3);
    let meta = &r.data_quality[0];
    assert_eq!(meta.platform, Platform::Meta);
    assert_eq!(meta.grade, crate::DataGrade::PriorsOnly);
    assert_eq!(meta.days, 0);
    assert_eq!(
        meta.note,
        "no performance history for Meta: planning assumptions, not measurements"
    );
}

/// A model with realistic uncertainty, via the prior table.
fn uncertain_model() -> MarketModel {
    crate::estimate::prior_model(
        Currency::USD,
        Industry::Ecommerce,
        &[Platform::Meta, Platform::Google, Platform::Tiktok],
    )
}

fn uncertain_plan() -> Plan {
    let mut p = plan(
        &[
            (Platform::Meta, 150_000_000),
            (Platform::Google, 150_000_000),
            (Platform::Tiktok, 100_000_000),
        ],
        30,
    );
    p.start_date = Some(time::macros::date!(2026 - 03 - 02));
    p
}

#[test]
fn results_for_a_seed_do_not_depend_on_the_thread_count() {
    let m = uncertain_model();
    let p = uncertain_plan();
    let o = opts(3_000, 77);
    let on = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| simulate(&p, &m, &o).unwrap())
    };
    let one = on(1);
    assert_eq!(one, on(2));
    assert_eq!(one, on(5));
    let other_seed = simulate(&p, &m, &opts(3_000, 78)).unwrap();
    assert_ne!(
        one.expected_uplift.micros,
        other_seed.expected_uplift.micros
    );
}

#[test]
fn confidence_is_stable_within_one_point_across_twenty_seeds() {
    let m = uncertain_model();
    let p = uncertain_plan();
    let confidences: Vec<f64> = (0..20)
        .map(|seed| simulate(&p, &m, &opts(10_000, seed)).unwrap().confidence)
        .collect();
    let mean = confidences.iter().sum::<f64>() / 20.0;
    // The plan sits near the gate threshold, where stability matters.
    assert!((0.65..0.97).contains(&mean), "mean confidence {mean}");
    for c in &confidences {
        assert!(
            (c - mean).abs() <= 0.01,
            "{c} vs mean {mean}: {confidences:?}"
        );
    }
}

#[test]
fn each_stress_scenario_lowers_the_outcome_in_its_own_way() {
    let m = uncertain_model();
    let p = uncertain_plan();
    let base = simulate(&p, &m, &opts(4_000, 5)).unwrap();
    for (scenario, uses_revenue_drop) in [
        (Scenario::cpm_up_50(), true),
        (Scenario::cvr_down_30(), true),
        (Scenario::ltv_down_20(), true),
    ] {
        let s = simulate(
            &p,
            &m,
            &SimulationOptions {
                scenario: scenario.clone(),
                ..opts(4_000, 5)
            },
        )
        .unwrap();
        assert!(s.confidence <= base.confidence, "{}", scenario.name);
        assert_eq!(
            s.expected_revenue.micros < base.expected_revenue.micros,
            uses_revenue_drop
        );
        assert_eq!(s.expected_spend.micros, base.expected_spend.micros);
        assert_eq!(s.scenario, scenario);
    }
    // CPM +50 % buys a third fewer impressions: revenue × 2/3 exactly, run by run.
    let cpm = simulate(
        &p,
        &m,
        &SimulationOptions {
            scenario: Scenario::cpm_up_50(),
            ..opts(4_000, 5)
        },
    )
    .unwrap();
    let ratio = cpm.expected_revenue.micros as f64 / base.expected_revenue.micros as f64;
    assert!((ratio - 2.0 / 3.0).abs() < 1e-6, "{ratio}");
}

#[test]
fn quantiles_are_ordered_and_the_histogram_counts_every_run() {
    let r = simulate(&uncertain_plan(), &uncertain_model(), &opts(2_000, 3)).unwrap();
    assert!(
        r.uplift.p10.micros <= r.uplift.p50.micros && r.uplift.p50.micros <= r.uplift.p90.micros
    );
    assert!(r.roas.p10 <= r.roas.p50 && r.roas.p50 <= r.roas.p90);
    let (c10, c90) = (r.cpa.p10.unwrap().micros, r.cpa.p90.unwrap().micros);
    assert!(c10 <= c90);
    assert_eq!(r.histogram.bins.iter().map(|b| b.count).sum::<u32>(), 2_000);
    assert_eq!(r.histogram.bins.len(), 40);
    assert!(r.confidence_std_error > 0.0 && r.confidence_std_error < 0.012);
    let p = r.probability_cpa_over_max.unwrap();
    assert!((0.0..=1.0).contains(&p));
    assert_eq!(r.projection.len(), 30);
    // Cumulative bands grow day by day and bracket their median.
    for w in r.projection.windows(2) {
        assert!(w[1].revenue.p50.micros >= w[0].revenue.p50.micros);
        assert!(w[1].spend.micros > w[0].spend.micros);
    }
    for b in &r.projection {
        assert!(
            b.revenue.p10.micros <= b.revenue.p50.micros
                && b.revenue.p50.micros <= b.revenue.p90.micros
        );
        assert!(
            b.uplift.p10.micros <= b.uplift.p50.micros
                && b.uplift.p50.micros <= b.uplift.p90.micros
        );
    }
    // The last day's uplift band agrees with the run-level quantiles within the
    // sketch's 0.5 % accuracy plus interpolation.
    let last = r.projection[29].uplift;
    let tol = |x: i64| (x.abs() as f64 * 0.01) as i64 + 1_000_000;
    assert!((last.p50.micros - r.uplift.p50.micros).abs() <= tol(r.uplift.p50.micros));
}

#[test]
fn the_ltv_basis_values_customers_at_their_lifetime_value() {
    let m = uncertain_model();
    let p = uncertain_plan();
    let rev = simulate(&p, &m, &opts(2_000, 8)).unwrap();
    let ltv = simulate(
        &p,
        &m,
        &SimulationOptions {
            value_basis: Some(ValueBasis::Ltv),
            ..opts(2_000, 8)
        },
    )
    .unwrap();
    // Same draws, different value: revenue and LTV totals agree, uplift differs.
    assert_eq!(rev.expected_ltv.micros, ltv.expected_ltv.micros);
    assert!(ltv.expected_uplift.micros > rev.expected_uplift.micros);
    assert!(ltv.roas.p50 > rev.roas.p50);
}

#[test]
fn invalid_inputs_name_their_fields_and_missing_models_are_errors() {
    let m = uncertain_model();
    let mut o = opts(0, 1);
    o.scenario.cvr_multiplier = f64::NAN;
    let mut p = uncertain_plan();
    p.duration_days = 0;
    match simulate(&p, &m, &o) {
        Err(TwinError::Invalid(e)) => {
            let fields: Vec<&str> = e.iter().map(|e| e.field.as_str()).collect();
            assert_eq!(
                fields,
                [
                    "duration_days",
                    "options.runs",
                    "options.scenario.cvr_multiplier"
                ]
            );
        }
        other => panic!("{other:?}"),
    }
    let mut bad_model = m.clone();
    bad_model.platforms[0].ctr.mean = f64::NAN;
    match simulate(&uncertain_plan(), &bad_model, &opts(10, 1)) {
        Err(TwinError::Invalid(e)) => assert_eq!(e[0].field, "model.platforms[0].ctr.mean"),
        other => panic!("{other:?}"),
    }
    let p = plan(&[(Platform::Pinterest, 1_000_000)], 3);
    assert_eq!(
        simulate(&p, &m, &opts(10, 1)),
        Err(TwinError::MissingPlatformModel(Platform::Pinterest))
    );
    let mut eur = p.clone();
    eur.currency = Currency::EUR;
    // An amount in another currency than the plan's is a field error.
    match simulate(&eur, &m, &opts(10, 1)) {
        Err(TwinError::Invalid(e)) => {
            assert_eq!(e[0].field, "allocations[0].daily_budget.currency")
        }
        other => panic!("{other:?}"),
    }
    for a in &mut eur.allocations {
        a.daily_budget.currency = Currency::EUR;
    }
    for m in [
        &mut eur.baseline_revenue,
        &mut eur.baseline_ad_spend,
        &mut eur.organic_revenue,
        &mut eur.max_cpa,
        &mut eur.budget_cap,
    ]
    .into_iter()
    .flatten()
    {
        m.currency = Currency::EUR;
    }
    assert!(matches!(
        simulate(&eur, &m, &opts(10, 1)),
        Err(TwinError::CurrencyMismatch { .. })
    ));
}

#[test]
fn a_result_serialises_without_nan_and_round_trips() {
    let r = simulate(&uncertain_plan(), &uncertain_model(), &opts(500, 2)).unwrap();
    let json = serde_json::to_string(&r).unwrap();
    assert!(
        !json.contains("NaN") && !json.contains("null,\"p50"),
        "{json}"
    );
    let back: SimulationResult = serde_json::from_str(&json).unwrap();
    // serde_json parses floats to within one ulp; amounts are integers.
    assert_eq!(back.projection, r.projection);
    assert_eq!(back.histogram, r.histogram);
    assert_eq!(back.uplift, r.uplift);
    assert!((back.confidence_std_error - r.confidence_std_error).abs() < 1e-15);
}
