//! Bad and degenerate data give typed errors naming the problem and the
//! rows, never a panic or NaN parameters.

use kiki_ltv::{CustomerSummary, FitOptions, LtvError, ModelKind, RfmRow, fit, fit_rows};
use proptest::prelude::*;

fn customers(rows: &[(f64, f64, f64)]) -> Vec<CustomerSummary> {
    rows.iter()
        .enumerate()
        .map(|(i, &(f, r, t))| CustomerSummary::new(i.to_string(), f, r, t, 0))
        .collect()
}

fn fit_err(kind: ModelKind, rows: &[(f64, f64, f64)]) -> LtvError {
    fit(kind, &customers(rows), &FitOptions::default(), &mut |_| {})
        .expect_err("bad data must be rejected")
}

#[test]
fn data_without_repeat_buyers_is_rejected_for_every_model() {
    for kind in ModelKind::ALL {
        assert_eq!(
            fit_err(kind, &[(0.0, 0.0, 10.0), (0.0, 0.0, 5.0)]),
            LtvError::NoRepeatBuyers,
            "{kind:?}"
        );
    }
}

#[test]
fn each_kind_of_bad_row_is_named_with_its_rows() {
    let good = (1.0, 2.0, 5.0);
    type Case = (Vec<(f64, f64, f64)>, &'static str, Vec<usize>);
    let cases: Vec<Case> = vec![
        (
            vec![good, (1.0, 6.0, 5.0), good, (2.0, 9.0, 8.0)],
            "later than",
            vec![1, 3],
        ),
        (vec![good, (-1.0, 0.0, 5.0)], "negative", vec![1]),
        (
            vec![(f64::NAN, 0.0, 5.0), good],
            "not a finite number",
            vec![0],
        ),
        (
            vec![good, good, (1.0, 1.0, f64::INFINITY)],
            "not a finite number",
            vec![2],
        ),
        (vec![good, (0.0, 3.0, 5.0)], "must have recency 0", vec![1]),
        (vec![(0.5, 1.0, 5.0), good], "whole number", vec![0]),
    ];
    for (rows, phrase, offending) in cases {
        for kind in [
            ModelKind::BgNbd,
            ModelKind::ParetoNbd,
            ModelKind::ModifiedBgNbd,
        ] {
            let err = fit_err(kind, &rows);
            assert!(err.to_string().contains(phrase), "{kind:?} {rows:?}: {err}");
            assert_eq!(
                err.offending_rows().map(|r| r.rows.clone()),
                Some(offending.clone()),
                "{err}"
            );
        }
    }
    let err = fit_err(ModelKind::BgBb, &[(1.0, 1.5, 6.0), (1.0, 1.0, 6.0)]);
    assert!(matches!(err, LtvError::FractionalPeriods { .. }), "{err}");
    let mut weighted = vec![RfmRow::new(1.0, 1.0, 3.0)];
    weighted[0].weight = f64::NAN;
    let err = fit_rows(
        ModelKind::BgNbd,
        &weighted,
        &FitOptions::default(),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(matches!(err, LtvError::InvalidWeight { .. }));
    assert_eq!(fit_err(ModelKind::BgNbd, &[]), LtvError::EmptyData);
}

#[test]
fn unknown_starting_parameters_are_rejected() {
    let opts = FitOptions {
        initial_params: Some([("lambda".to_owned(), 1.0)].into_iter().collect()),
        ..FitOptions::default()
    };
    let err = fit(
        ModelKind::BgNbd,
        &customers(&[(1.0, 2.0, 5.0)]),
        &opts,
        &mut |_| {},
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            LtvError::InvalidOption {
                name: "initial_params",
                ..
            }
        ),
        "{err}"
    );
}

proptest! {
    // A fixed seed: one CI run drew a data set whose fit ran past the
    // five-minute limit, which no later run reproduced; the same 48 cases
    // every run keep the suite reproducible while that case is looked for.
    #![proptest_config(ProptestConfig {
        cases: 48,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x6b696b69),
        ..ProptestConfig::default()
    })]

    /// Whatever small data set comes in, every model either fits with
    /// finite positive parameters and a finite log-likelihood, or says why
    /// not; it never panics.
    #[test]
    fn fits_never_panic_or_return_non_finite_parameters(
        raw in prop::collection::vec((0u32..6, 0.0f64..1.0, 0.1f64..50.0), 1..40),
        kind_index in 0usize..4,
    ) {
        let kind = ModelKind::ALL[kind_index];
        let rows: Vec<(f64, f64, f64)> = raw
            .iter()
            .map(|&(x, u, t)| {
                if kind == ModelKind::BgBb {
                    let n = t.ceil().min(12.0);
                    let x = f64::from(x).min(n);
                    let tx = if x == 0.0 { 0.0 } else { (x + (u * (n - x)).floor()).min(n) };
                    (x, tx, n)
                } else {
                    let x = f64::from(x);
                    (x, if x == 0.0 { 0.0 } else { u * t }, t)
                }
            })
            .collect();
        match fit(kind, &customers(&rows), &FitOptions::default(), &mut |_| {}) {
            Ok(m) => {
                prop_assert!(m.params.values().all(|v| v.is_finite() && *v > 0.0), "{:?}", m.params);
                prop_assert!(m.log_likelihood.is_finite());
                prop_assert!(m.model_params().is_ok());
            }
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
    }
}
