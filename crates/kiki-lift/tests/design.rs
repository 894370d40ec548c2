//! Design before spend on GeoLift's pre-test panel (40 cities × 90 days)
//! and on simulated panels with a known structure.

use std::sync::atomic::{AtomicUsize, Ordering};

use kiki_lift::{
    CsvColumns, DesignBounds, DesignSpec, LiftError, LongOptions, Panel, RunControl, Verdict,
    design_multi_cell, power_analysis, select_markets,
};

fn pretest() -> Panel {
    let text = std::fs::read_to_string(format!(
        "{}/tests/fixtures/geolift_pretest.csv",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    Panel::parse_long_csv(&text, &CsvColumns::default(), LongOptions::default())
        .unwrap()
        .0
}

/// GeoLift walkthrough's constraints (Chicago required, Honolulu never
/// treated), scaled down to run in a test: 10-day tests, 60 pre-period
/// days, 20 rolling-origin simulations.
fn walkthrough_like() -> DesignSpec {
    DesignSpec {
        treatment_sizes: vec![2, 3],
        durations: vec![10],
        effect_sizes: vec![0.05, 0.1, 0.2],
        simulations: 20,
        pre_periods: 60,
        candidates: 8,
        alpha: 0.1,
        alternative: Default::default(),
        fixed_effects: true,
        augmentation: Default::default(),
        required_units: vec!["chicago".into()],
        excluded_units: vec!["honolulu".into()],
        excluded_donors: vec![],
        max_volume_share: Some(0.2),
        budget: None,
        cost_per_incremental_unit: Some(7.5),
        bounds: DesignBounds::default(),
    }
}

#[test]
fn market_selection_respects_constraints_and_reports_power_and_placebo() {
    let panel = pretest();
    let spec = walkthrough_like();
    let mut seen = Vec::new();
    let mut cb = |f: f64| seen.push(f);
    let report = select_markets(&panel, &spec, &mut RunControl::new(Some(&mut cb), None)).unwrap();
    println!("{}", report.summary);
    for c in report.evaluated.iter().take(5) {
        println!(
            "{:?} l2 {:.3} {:?}",
            c.treated,
            c.screening_scaled_l2,
            c.durations[0]
                .effects
                .iter()
                .map(|e| (e.effect, e.power))
                .collect::<Vec<_>>()
        );
    }
    assert!(report.generated > report.evaluated.len());
    assert_eq!(report.evaluated.len(), 8);
    for c in &report.evaluated {
        assert!(c.treated.contains(&"chicago".to_string()));
        assert!(!c.treated.contains(&"honolulu".to_string()));
        assert!(c.volume_share <= 0.2);
        let d = &c.durations[0];
        assert_eq!(d.effects.len(), 4, "the placebo (0) is added");
        assert_eq!(d.effects[0].effect, 0.0);
        assert_eq!(d.placebo_false_positive_rate, d.effects[0].power);
        // Power grows with the effect on the same windows.
        for w in d.effects.windows(2) {
            assert!(w[1].power + 1e-12 >= w[0].power, "{:?}", d.effects);
        }
        // The estimate moves with the injected lift one for one (up to the
        // counterfactual's level).
        let slope = d.effects[3].mean_estimated_lift - d.effects[1].mean_estimated_lift;
        assert!((slope - 0.15).abs() < 0.03, "slope {slope}");
        if let Some(m) = d.mde {
            assert!(d.investment_at_mde.unwrap() > 0.0 && m > 0.0);
        }
    }
    // Accepted candidates come first and ranking is by MDE among them.
    let accepted: Vec<bool> = report
        .evaluated
        .iter()
        .map(|c| matches!(c.verdict, Verdict::Accepted))
        .collect();
    assert!(accepted.windows(2).all(|w| w[0] >= w[1]));
    assert!(seen.windows(2).all(|w| w[0] <= w[1]) && *seen.last().unwrap() == 1.0);
    assert_eq!(
        report.fits,
        (report.generated - report.screened_out) as u64 + 8 * 20 * 5
    );
}

#[test]
fn the_same_design_comes_out_on_one_thread_and_on_many() {
    let panel = pretest();
    let spec = walkthrough_like();
    let many = select_markets(&panel, &spec, &mut RunControl::none()).unwrap();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| select_markets(&panel, &spec, &mut RunControl::none()).unwrap());
    assert_eq!(many, one);
}

#[test]
fn a_design_that_cannot_reach_the_bounds_is_refused_with_reasons() {
    let panel = pretest();
    let mut spec = walkthrough_like();
    spec.effect_sizes = vec![0.002];
    spec.candidates = 3;
    let report = select_markets(&panel, &spec, &mut RunControl::none()).unwrap();
    match &report.verdict {
        Verdict::Refused { reasons } => {
            assert!(reasons.iter().any(|r| r.contains("power")), "{reasons:?}");
        }
        Verdict::Accepted => panic!("a 0.2 % lift cannot be detected here"),
    }
    assert!(report.summary.starts_with("No design is recommended"));
    // Chicago + Cincinnati: on these windows 3 of 20 placebo runs reject
    // (see the selection test), so a 10 % bound refuses it on that count.
    spec.effect_sizes = vec![0.05, 0.1, 0.2];
    spec.bounds.max_false_positive_rate = 0.1;
    let pair = ["chicago", "cincinnati"];
    let r = power_analysis(&panel, &pair, &spec, &mut RunControl::none()).unwrap();
    let d = &r.durations[0];
    assert!((d.placebo_false_positive_rate - 0.15).abs() < 1e-12);
    assert!(matches!(r.verdict, Verdict::Refused { .. }));
    assert!(
        d.refusals.iter().any(|x| x.contains("placebo")),
        "{:?}",
        d.refusals
    );
    // A budget below the spend needed at the MDE refuses on money.
    spec.bounds.max_false_positive_rate = 1.0;
    spec.budget = Some(1_000.0);
    let r = power_analysis(&panel, &pair, &spec, &mut RunControl::none()).unwrap();
    assert_eq!(r.durations[0].mde, Some(0.05));
    assert!(r.durations[0].refusals.iter().any(|x| x.contains("budget")));
    spec.budget = Some(1e9);
    let r = power_analysis(&panel, &pair, &spec, &mut RunControl::none()).unwrap();
    assert_eq!(r.verdict, Verdict::Accepted);
    assert_eq!(r.best_duration, Some(10));
}

#[test]
fn short_history_and_cancellation_are_reported() {
    let panel = pretest();
    let mut spec = walkthrough_like();
    spec.simulations = 40;
    assert!(matches!(
        select_markets(&panel, &spec, &mut RunControl::none()),
        Err(LiftError::InsufficientData(_))
    ));
    let mut ridge = walkthrough_like();
    ridge.augmentation = kiki_lift::Augmentation::Ridge { lambda: None };
    assert!(matches!(
        select_markets(&panel, &ridge, &mut RunControl::none()),
        Err(LiftError::Invalid(_))
    ));
    let spec = walkthrough_like();
    let calls = AtomicUsize::new(0);
    let cancel = || calls.fetch_add(1, Ordering::Relaxed) > 3;
    let err = select_markets(&panel, &spec, &mut RunControl::new(None, Some(&cancel))).unwrap_err();
    assert_eq!(err, LiftError::Cancelled);
}

#[test]
fn multi_cell_designs_use_disjoint_groups_and_exclude_each_other_as_donors() {
    let panel = pretest();
    let mut spec = walkthrough_like();
    spec.required_units.clear();
    spec.treatment_sizes = vec![2];
    spec.candidates = 12;
    let report = select_markets(&panel, &spec, &mut RunControl::none()).unwrap();
    let mc = design_multi_cell(&panel, &spec, &report, 2, &mut RunControl::none()).unwrap();
    assert_eq!(mc.cells.len(), 2);
    assert!(
        !mc.cells[0]
            .treated
            .iter()
            .any(|u| mc.cells[1].treated.contains(u))
    );
}
