//! GeoLift's walkthrough (facebookincubator/GeoLift,
//! `vignettes/GeoLift_Walkthrough.md`) reproduced on its own data, and the
//! conformal inference run on it.

use kiki_lift::{
    Alternative, ConformalOptions, CsvColumns, LongOptions, Panel, RunControl,
    SyntheticControlSpec, analyze_geo, conformal_inference, fit_synthetic_control,
};

fn geolift_panel(file: &str) -> Panel {
    let text = std::fs::read_to_string(format!(
        "{}/tests/fixtures/{file}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let (panel, load) =
        Panel::parse_long_csv(&text, &CsvColumns::default(), LongOptions::default()).unwrap();
    assert_eq!(load.merged_rows, 0);
    panel
}

/// `GeoLift(locations = c("chicago", "portland"), treatment_start_time = 91,
/// treatment_end_time = 105)` with its defaults (no augmentation, fixed
/// effects); GeoLift's time index is 1-based.
fn walkthrough_spec() -> SyntheticControlSpec {
    SyntheticControlSpec {
        treated: vec!["chicago".into(), "portland".into()],
        treatment_start: 90,
        treatment_end: 105,
        pre_start: 0,
        fixed_effects: true,
        augmentation: Default::default(),
        excluded_donors: vec![],
    }
}

#[test]
fn the_panel_is_the_published_one() {
    let panel = geolift_panel("geolift_test.csv");
    assert_eq!((panel.n_units(), panel.n_periods()), (40, 105));
    let all: Vec<usize> = (0..40).collect();
    assert_eq!(panel.total(&all, 0, 105), 18_443_050.0);
    let pre = geolift_panel("geolift_pretest.csv");
    assert_eq!((pre.n_units(), pre.n_periods()), (40, 90));
    assert_eq!(pre.total(&all, 0, 90), 15_877_820.0);
}

#[test]
fn walkthrough_weights_att_lift_and_imbalance_match_geolift() {
    let panel = geolift_panel("geolift_test.csv");
    let fit = fit_synthetic_control(&panel, &walkthrough_spec()).unwrap();
    // The walkthrough's model weights, printed to 4 decimals.
    let published = [
        ("cincinnati", 0.2272),
        ("miami", 0.2028),
        ("baton rouge", 0.1335),
        ("minneapolis", 0.0900),
        ("dallas", 0.0739),
        ("nashville", 0.0685),
        ("honolulu", 0.0673),
        ("austin", 0.0465),
        ("san diego", 0.0451),
        ("reno", 0.0306),
        ("san antonio", 0.0054),
        ("new york", 0.0046),
        ("houston", 0.0046),
    ];
    assert_eq!(fit.weights.len(), 38);
    for (i, (unit, w)) in published.iter().enumerate() {
        assert_eq!(&fit.weights[i].unit, unit, "rank {i}");
        assert!(
            (fit.weights[i].weight - w).abs() < 0.5e-4,
            "{unit}: {} vs {w}",
            fit.weights[i].weight
        );
    }
    for other in &fit.weights[published.len()..] {
        assert!(
            other.weight.abs() < 0.5e-4,
            "{} = {}",
            other.unit,
            other.weight
        );
    }
    let sum: f64 = fit.weights.iter().map(|w| w.weight).sum();
    assert!((sum - 1.0).abs() < 1e-12);
    // Printed as 155.556, 4667, 5.4 %, 909.489 and 0.1636.
    assert!((fit.att - 155.556).abs() < 0.5e-3, "ATT {}", fit.att);
    assert_eq!(
        fit.incremental.round(),
        4667.0,
        "incremental {}",
        fit.incremental
    );
    assert!((fit.lift * 100.0 - 5.4).abs() < 0.05, "lift {}", fit.lift);
    assert!(
        (fit.diagnostics.l2_imbalance - 909.489).abs() < 0.5e-3,
        "L2 {}",
        fit.diagnostics.l2_imbalance
    );
    assert!(
        (fit.diagnostics.scaled_l2_imbalance - 0.1636).abs() < 0.5e-4,
        "scaled {}",
        fit.diagnostics.scaled_l2_imbalance
    );
    assert_eq!(fit.sufficiency.pre_periods, 90);
    assert_eq!(fit.sufficiency.test_periods, 15);
    assert_eq!(fit.sufficiency.donors, 38);
}

#[test]
fn pretest_weights_match_getweights_to_osqp_precision() {
    // `GetWeights(data = GeoLift_PreTest, locations = c("chicago",
    // "portland"), pretreatment_end_time = 90, fixed_effects = TRUE)` prints
    // its six largest weights to 8 decimals. augsynth solves the QP with
    // OSQP at eps 1e-8; this solver is exact, so the match is to ~1e-6.
    let pretest = geolift_panel("geolift_pretest.csv");
    let panel = geolift_panel("geolift_test.csv");
    // The pre-test file is the test file's first 90 days, so the weights
    // fitted on days 1–90 of the test file are GetWeights' weights.
    assert_eq!(pretest, panel.window(0, 90).unwrap());
    let full = fit_synthetic_control(&panel, &walkthrough_spec()).unwrap();
    let published = [
        ("cincinnati", 0.22717797),
        ("miami", 0.20276981),
        ("baton rouge", 0.13353743),
        ("minneapolis", 0.08997973),
        ("dallas", 0.07392298),
        ("nashville", 0.06853184),
    ];
    for (i, (unit, w)) in published.iter().enumerate() {
        assert_eq!(&full.weights[i].unit, unit);
        assert!(
            (full.weights[i].weight - w).abs() < 1e-6,
            "{unit}: {} vs {w}",
            full.weights[i].weight
        );
    }
}

#[test]
fn conformal_inference_on_the_walkthrough_is_deterministic_and_consistent() {
    let panel = geolift_panel("geolift_test.csv");
    let spec = walkthrough_spec();
    let a = analyze_geo(
        &panel,
        &spec,
        &ConformalOptions::default(),
        &mut RunControl::none(),
    )
    .unwrap();
    let b = analyze_geo(
        &panel,
        &spec,
        &ConformalOptions::default(),
        &mut RunControl::none(),
    )
    .unwrap();
    assert_eq!(a, b, "same input, same numbers");
    let inf = &a.inference;
    println!("{}", a.summary);
    println!("{inf:?}");
    assert_eq!(inf.permutations, 105);
    // The effect ramps up (about −30 a day for six days, then about +300):
    // refitting under "no effect" on all 105 days absorbs part of it, and
    // 12 of the 105 cyclic shifts have a test-window sum at least as large.
    assert!(
        (inf.p_value - 12.0 / 105.0).abs() < 1e-12,
        "p = {}",
        inf.p_value
    );
    let lo = inf.att.lower.unwrap();
    let hi = inf.att.upper.unwrap();
    assert!(lo < a.fit.att && a.fit.att < hi, "[{lo}, {hi}]");
    // Consistency: not significant at 10 %, so the 90 % interval holds 0.
    assert!(inf.p_value > 0.1 && inf.att.contains(0.0));
    assert!((inf.incremental.lower.unwrap() - lo * 15.0 * 2.0).abs() < 1e-6);
    assert!(inf.warnings.is_empty(), "{:?}", inf.warnings);
    assert!(a.summary.contains("chicago, portland"));
    assert!(a.summary.contains("not significant"));
}

#[test]
fn geolift_any_period_statistic_rejects_no_effect_but_gives_no_clean_interval() {
    // GeoLift's default statistic, Σ|u| ("Total"), finds the ramp: with
    // block permutations p = 5/105 (GeoLift's iid permutations print
    // 0.011–0.014). Inverting it for a constant effect does not give an
    // interval around the estimate, which is why it is not the default.
    let panel = geolift_panel("geolift_test.csv");
    let fit = fit_synthetic_control(&panel, &walkthrough_spec()).unwrap();
    let any = ConformalOptions {
        alternative: Alternative::AnyPeriod,
        ..Default::default()
    };
    let inf = conformal_inference(&panel, &fit, &any, &mut RunControl::none()).unwrap();
    assert!(
        (inf.p_value - 5.0 / 105.0).abs() < 1e-12,
        "p = {}",
        inf.p_value
    );
    assert!(!inf.att.contains(0.0), "consistent with p ≤ α");
    assert!(
        !inf.att.contains(fit.att),
        "the estimate itself is rejected"
    );
    assert!(!inf.warnings.is_empty());
}

#[test]
fn one_sided_intervals_have_one_bound() {
    let panel = geolift_panel("geolift_test.csv");
    let fit = fit_synthetic_control(&panel, &walkthrough_spec()).unwrap();
    let greater = ConformalOptions {
        alternative: Alternative::Greater,
        ..Default::default()
    };
    let inf = conformal_inference(&panel, &fit, &greater, &mut RunControl::none()).unwrap();
    assert!(inf.att.upper.is_none() && inf.att.lower.is_some());
    let less = ConformalOptions {
        alternative: Alternative::Less,
        ..Default::default()
    };
    let inf_less = conformal_inference(&panel, &fit, &less, &mut RunControl::none()).unwrap();
    assert!(inf_less.att.lower.is_none() && inf_less.att.upper.is_some());
    // A positive effect: "greater" is significant, "less" is not.
    assert!(
        inf.p_value <= 0.1 && inf_less.p_value > 0.5,
        "{} {}",
        inf.p_value,
        inf_less.p_value
    );
}

#[test]
fn analyses_round_trip_through_json() {
    let panel = geolift_panel("geolift_test.csv");
    let a = analyze_geo(
        &panel,
        &walkthrough_spec(),
        &ConformalOptions::default(),
        &mut RunControl::none(),
    )
    .unwrap();
    let json = serde_json::to_string(&a).unwrap();
    let back: kiki_lift::GeoAnalysis = serde_json::from_str(&json).unwrap();
    assert_eq!(back, a);
    // The spec is stored with the result, so the analysis can be re-run
    // from the stored JSON to the same numbers.
    let again = analyze_geo(
        &panel,
        &back.fit.spec,
        &back.inference.options,
        &mut RunControl::none(),
    )
    .unwrap();
    assert_eq!(again, a);
}

#[test]
fn multi_cell_cells_do_not_borrow_each_other_as_donors() {
    let panel = geolift_panel("geolift_test.csv");
    let spec = kiki_lift::MultiCellSpec {
        cells: vec![
            kiki_lift::CellSpec {
                name: "a".into(),
                treated: vec!["chicago".into(), "portland".into()],
            },
            kiki_lift::CellSpec {
                name: "b".into(),
                treated: vec!["cincinnati".into(), "miami".into()],
            },
        ],
        treatment_start: 90,
        treatment_end: 105,
        pre_start: 0,
        fixed_effects: true,
        augmentation: Default::default(),
        excluded_donors: vec![],
    };
    let cells = kiki_lift::analyze_multi_cell(
        &panel,
        &spec,
        &ConformalOptions::default(),
        &mut RunControl::none(),
    )
    .unwrap();
    assert_eq!(cells.len(), 2);
    let a = &cells[0].analysis.fit;
    assert_eq!(a.weights.len(), 36);
    assert!(
        !a.weights
            .iter()
            .any(|w| w.unit == "cincinnati" || w.unit == "miami")
    );
    // Cincinnati and Miami carried 43 % of the single-cell weight: without
    // them the fit is worse.
    let single = fit_synthetic_control(&panel, &walkthrough_spec()).unwrap();
    assert!(a.diagnostics.l2_imbalance > single.diagnostics.l2_imbalance);
    let mut overlapping = spec.clone();
    overlapping.cells[1].treated.push("chicago".into());
    assert!(
        kiki_lift::analyze_multi_cell(
            &panel,
            &overlapping,
            &ConformalOptions::default(),
            &mut RunControl::none()
        )
        .is_err()
    );
}

#[test]
fn ridge_augmentation_on_the_walkthrough() {
    let panel = geolift_panel("geolift_test.csv");
    let plain = fit_synthetic_control(&panel, &walkthrough_spec()).unwrap();
    let mut spec = walkthrough_spec();
    spec.augmentation = kiki_lift::Augmentation::Ridge { lambda: None };
    let ridge = analyze_geo(
        &panel,
        &spec,
        &ConformalOptions::default(),
        &mut RunControl::none(),
    )
    .unwrap();
    let report = ridge.fit.ridge.as_ref().unwrap();
    println!(
        "{}\nlambda {} bias {}",
        ridge.summary, report.lambda, report.bias_correction
    );
    assert!(report.cross_validated && report.lambda > 0.0);
    let sum: f64 = ridge.fit.weights.iter().map(|w| w.weight).sum();
    assert!((sum - 1.0).abs() < 1e-9);
    // The ridge correction can only reduce the pre-period imbalance.
    assert!(ridge.fit.diagnostics.l2_imbalance <= plain.diagnostics.l2_imbalance + 1e-9);
    // Its synthetic-control part is the plain fit.
    for w in &report.synth_weights {
        let p = plain.weights.iter().find(|x| x.unit == w.unit).unwrap();
        assert!((p.weight - w.weight).abs() < 1e-9);
    }
    // The ATT moves by exactly the reported bias correction.
    assert!((plain.att - ridge.fit.att - report.bias_correction).abs() < 1e-6);
    assert!(ridge.inference.att.contains(ridge.fit.att));
}
