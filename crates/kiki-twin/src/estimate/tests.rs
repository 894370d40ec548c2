//! Estimation tests on synthetic histories whose true parameters are known.

use super::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Poisson};
use time::macros::date;

struct Truth {
    cpm: f64,
    ctr: f64,
    cvr: f64,
    aov: f64,
}

/// `days` days of a platform spending `spend(t)` with exact (noise-free)
/// funnel arithmetic, starting on a Monday.
fn history(
    platform: &str,
    days: u32,
    truth: &Truth,
    spend: impl Fn(u32) -> f64,
) -> Vec<DailyPerformance> {
    let start = date!(2026 - 01 - 05);
    (0..days)
        .map(|t| {
            let s = spend(t);
            let impressions = (s / truth.cpm * 1000.0).round();
            let clicks = (impressions * truth.ctr).round();
            let conversions = clicks * truth.cvr;
            DailyPerformance {
                platform: platform.into(),
                ad_set_id: None,
                date: start + time::Duration::days(i64::from(t)),
                spend_micros: (s * 1e6) as i64,
                impressions: impressions as u64,
                clicks: clicks as u64,
                conversions,
                revenue_micros: (conversions * truth.aov * 1e6) as i64,
            }
        })
        .collect()
}

fn input(history: Vec<DailyPerformance>) -> EstimationInput {
    EstimationInput {
        currency: Currency::USD,
        industry: Industry::Ecommerce,
        platforms: vec![],
        history,
        ltv: vec![],
        config: EstimationConfig::default(),
    }
}

const TRUTH: Truth = Truth {
    cpm: 20.0,
    ctr: 0.02,
    cvr: 0.05,
    aov: 60.0,
};

#[test]
fn without_history_the_model_is_the_industry_prior() {
    let mut i = input(vec![]);
    i.platforms = vec!["tiktok".into()];
    let m = estimate(&i).unwrap();
    let p = &m.platforms[0];
    let prior = priors::prior(Industry::Ecommerce, Platform::Tiktok);
    assert_eq!(p.platform, Platform::Tiktok);
    assert_eq!(p.source, ParameterSource::Prior);
    assert_eq!(p.window, None);
    assert_eq!(p.history_weight, 0.0);
    assert!((p.cpm.mean / prior.cpm - 1.0).abs() < 1e-9);
    assert!((p.ctr.mean / prior.ctr - 1.0).abs() < 1e-9);
    assert!((p.cvr.mean / prior.cvr - 1.0).abs() < 1e-9);
    assert!((p.order_value.mean / prior.order_value - 1.0).abs() < 1e-9);
    assert!((p.ltv.mean / prior.ltv - 1.0).abs() < 1e-9);
    assert!((p.cpm.cv() - priors::PRIOR_CV_CPM).abs() < 1e-9);
    assert_eq!(p.saturation.reference_daily_spend, None);
    assert_eq!(p.seasonality, Seasonality::FLAT);
    assert_eq!(
        prior_model(Currency::USD, Industry::Ecommerce, &[Platform::Tiktok]),
        m
    );
}

#[test]
fn a_long_history_dominates_the_prior_and_records_its_window() {
    let m = estimate(&input(history("meta", 120, &TRUTH, |_| 500.0))).unwrap();
    let p = &m.platforms[0];
    assert_eq!(p.source, ParameterSource::Blended);
    assert_eq!(
        p.window,
        Some(DataWindow {
            first_day: date!(2026 - 01 - 05),
            last_day: date!(2026 - 05 - 04),
            days: 120
        })
    );
    let close =
        |got: f64, want: f64, tol: f64| assert!((got / want - 1.0).abs() < tol, "{got} vs {want}");
    close(p.cpm.mean, TRUTH.cpm, 0.02);
    close(p.ctr.mean, TRUTH.ctr, 0.02);
    close(p.cvr.mean, TRUTH.cvr, 0.03);
    close(p.order_value.mean, TRUTH.aov, 0.02);
    assert!(p.history_weight > 0.95, "{}", p.history_weight);
    // The drift floor keeps some uncertainty however long the history.
    assert!(p.cvr.std_dev > 0.05 * p.cvr.mean * 0.9);
    assert_eq!(p.saturation.reference_daily_spend, Some(500.0));
    assert_eq!(p.carry_in_daily_spend, 500.0);
}

#[test]
fn shrinkage_towards_the_prior_weakens_as_history_grows() {
    let prior_cvr = priors::prior(Industry::Ecommerce, Platform::Meta).cvr;
    let mut last_gap = f64::INFINITY;
    let mut last_weight = 0.0;
    for days in [2, 5, 14, 60] {
        // Noisy daily conversions so the day count matters.
        let mut rng = StdRng::seed_from_u64(days as u64);
        let mut h = history("meta", days, &TRUTH, |_| 500.0);
        for row in &mut h {
            let lambda = row.clicks as f64 * TRUTH.cvr;
            row.conversions = Poisson::new(lambda).unwrap().sample(&mut rng);
            row.revenue_micros = (row.conversions * TRUTH.aov * 1e6) as i64;
        }
        let p = estimate(&input(h)).unwrap().platforms.remove(0);
        let gap = (p.cvr.mean - TRUTH.cvr).abs();
        assert!(
            p.history_weight > last_weight,
            "{days}: {}",
            p.history_weight
        );
        assert!(gap < last_gap + 1e-3, "{days}: {gap}");
        // Always between the prior and the data.
        assert!(
            p.cvr.mean > prior_cvr.min(TRUTH.cvr) * 0.9
                && p.cvr.mean < prior_cvr.max(TRUTH.cvr) * 1.1
        );
        last_gap = gap;
        last_weight = p.history_weight;
    }
}

#[test]
fn weekday_seasonality_is_recovered_from_history() {
    // Weekends convert twice as well per unit spend.
    let mut h = history("google", 84, &TRUTH, |_| 300.0);
    for row in &mut h {
        if matches!(
            row.date.weekday(),
            time::Weekday::Saturday | time::Weekday::Sunday
        ) {
            row.conversions *= 2.0;
            row.revenue_micros *= 2;
        }
    }
    let p = estimate(&input(h)).unwrap().platforms.remove(0);
    let w = p.seasonality.weekday_multipliers;
    // Truth normalised: weekdays 7/9, weekend days 14/9; shrinkage pulls a
    // little towards 1 (12 observations per weekday against 4 prior days).
    let weekday = 7.0 / 9.0;
    let weekend = 14.0 / 9.0;
    for (i, &m) in w.iter().enumerate() {
        let want = if i >= 5 { weekend } else { weekday };
        assert!((m - want).abs() < 0.15, "{i}: {m} vs {want}");
    }
    assert!((w.iter().sum::<f64>() / 7.0 - 1.0).abs() < 1e-12);
    assert!(w[5] / w[0] > 1.6);
}

#[test]
fn a_saturation_curve_is_fitted_when_spend_varies() {
    let truth = crate::model::Hill {
        half_saturation: 600.0,
        shape: 1.0,
    };
    // Spend between 100 and 900 a day; conversions follow the Hill curve.
    let spend = |t: u32| 100.0 + 800.0 * f64::from((t * 7) % 11) / 10.0;
    let mut h = history("tiktok", 90, &TRUTH, spend);
    for (t, row) in h.iter_mut().enumerate() {
        let x = spend(t as u32);
        row.conversions = 400.0 * truth.value(x);
    }
    let p = estimate(&input(h)).unwrap().platforms.remove(0);
    let x_ref = p.saturation.reference_daily_spend.unwrap();
    let k = p.saturation.half_saturation_ratio.mean * x_ref;
    assert!((k / 600.0 - 1.0).abs() < 0.25, "k = {k}");
    assert_eq!(p.saturation.shape, 1.0);
    assert!(p.adstock <= 0.1, "{}", p.adstock);
}

#[test]
fn ad_sets_get_their_own_model_shrunk_towards_their_platform() {
    let mut h = history("meta", 60, &TRUTH, |_| 400.0);
    let better = Truth { cvr: 0.10, ..TRUTH };
    let mut ad_set = history("meta", 10, &better, |_| 100.0);
    for row in &mut ad_set {
        row.ad_set_id = Some("retargeting".into());
    }
    h.extend(ad_set);
    let m = estimate(&input(h)).unwrap();
    assert_eq!(m.platforms.len(), 2);
    let platform = m.find(Platform::Meta, None).unwrap();
    let set = m.find(Platform::Meta, Some("retargeting")).unwrap();
    assert_eq!(set.ad_set_id.as_deref(), Some("retargeting"));
    assert!(
        set.cvr.mean > platform.cvr.mean && set.cvr.mean < 0.10,
        "{}",
        set.cvr.mean
    );
    // Unknown ad sets fall back to the platform.
    assert_eq!(m.find(Platform::Meta, Some("other")).unwrap(), platform);
}

#[test]
fn ltv_segments_are_combined_by_share_with_their_window() {
    let mut i = input(history("google", 30, &TRUTH, |_| 200.0));
    let window = DataWindow {
        first_day: date!(2025 - 01 - 01),
        last_day: date!(2025 - 12 - 31),
        days: 365,
    };
    let seg = |segment: &str, share, mean| LtvInput {
        platform: "google".into(),
        segment: Some(segment.into()),
        share: Some(share),
        mean: Money::from_micros(mean, Currency::USD),
        std_dev: Money::from_micros(100_000_000, Currency::USD),
        customers: 10_000,
        window: Some(window),
    };
    i.ltv = vec![seg("new", 0.75, 200_000_000), seg("vip", 0.25, 600_000_000)];
    let p = estimate(&i).unwrap().platforms.remove(0);
    assert!((p.ltv.mean - 300.0).abs() < 1e-9);
    assert!((p.ltv.cv() - 0.1).abs() < 0.01, "{}", p.ltv.cv());
    assert_eq!(p.ltv_window, Some(window));
}

#[test]
fn invalid_history_rows_are_reported_by_path() {
    let mut h = history("meta", 3, &TRUTH, |_| 100.0);
    h[0].platform = "orkut".into();
    h[1].clicks = h[1].impressions + 1;
    h[2].conversions = f64::NAN;
    h[2].spend_micros = -1;
    let mut i = input(h);
    i.ltv = vec![LtvInput {
        platform: "meta".into(),
        segment: None,
        share: Some(1.5),
        mean: Money::from_micros(0, Currency::USD),
        std_dev: Money::from_micros(0, Currency::USD),
        customers: 1,
        window: None,
    }];
    i.config.drift_cv = f64::NAN;
    let fields: Vec<String> = validate_estimation_input(&i)
        .into_iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(
        fields,
        [
            "history[0].platform",
            "history[1].clicks",
            "history[2].spend_micros",
            "history[2].conversions",
            "ltv[0].mean",
            "ltv[0].share",
            "config.drift_cv",
        ]
    );
    assert!(matches!(estimate(&i), Err(TwinError::Invalid(_))));
}

#[test]
fn an_estimated_model_passes_its_own_validation() {
    let m = estimate(&input(history("amazon", 45, &TRUTH, |t| {
        50.0 + f64::from(t % 5) * 40.0
    })))
    .unwrap();
    assert!(m.validate().is_empty(), "{:?}", m.validate());
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 32, ..proptest::prelude::ProptestConfig::default() })]

    /// Whatever valid history comes in — zeros, gaps, tiny or huge numbers,
    /// conversions without clicks — the model is finite and passes its own
    /// validation.
    #[test]
    fn any_valid_history_gives_a_valid_model(
        rows in proptest::collection::vec(
            (0u8..3, 0i64..400, 0i64..5_000_000_000, 0u64..2_000_000, 0.0..1.0_f64, 0.0..500.0_f64, 0i64..50_000_000_000),
            0..80,
        ),
        shares in proptest::collection::vec(proptest::option::of(0.0..=1.0_f64), 0..3),
    ) {
        let names = ["meta", "google", "tiktok"];
        let history: Vec<DailyPerformance> = rows
            .iter()
            .map(|&(p, day, spend, impressions, ctr, conversions, revenue)| DailyPerformance {
                platform: names[p as usize].into(),
                ad_set_id: (day % 3 == 0).then(|| "a".to_string()),
                date: date!(2025 - 01 - 01) + time::Duration::days(day),
                spend_micros: spend,
                impressions,
                clicks: (impressions as f64 * ctr) as u64,
                conversions,
                revenue_micros: revenue,
            })
            .collect();
        let ltv = shares
            .iter()
            .map(|&share| LtvInput {
                platform: "meta".into(),
                segment: None,
                share,
                mean: Money::from_micros(150_000_000, Currency::USD),
                std_dev: Money::from_micros(90_000_000, Currency::USD),
                customers: 0,
                window: None,
            })
            .collect();
        let mut i = input(history);
        i.platforms = vec!["meta".into()];
        i.ltv = ltv;
        let m = estimate(&i).unwrap();
        proptest::prop_assert!(m.validate().is_empty(), "{:?}", m.validate());
    }
}
