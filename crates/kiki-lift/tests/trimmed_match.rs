//! Trimmed Match against google/trimmed_match's `core/estimator_test.cc`:
//! the 4-pair vector (published to 3 decimals, checked there at 1e-3) and
//! the 32-pair vector (6 decimals, checked at 1e-6), untrimmed, at a fixed
//! trim and at the data-driven trim. The vectors and figures are in
//! `fixtures/trimmed_match_pairs.json`.

use kiki_lift::{GeoPair, TrimRate, TrimmedMatchInput, TrimmedMatchResult, trimmed_match};
use serde_json::Value;

fn fixture() -> Value {
    let text = std::fs::read_to_string(format!(
        "{}/tests/fixtures/trimmed_match_pairs.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn pairs(set: &Value) -> Vec<GeoPair> {
    let y = set["delta_response"].as_array().unwrap();
    let x = set["delta_cost"].as_array().unwrap();
    y.iter()
        .zip(x)
        .map(|(y, x)| GeoPair {
            delta_response: y.as_f64().unwrap(),
            delta_spend: x.as_f64().unwrap(),
        })
        .collect()
}

fn run(set: &Value, trim: TrimRate, max_trim_rate: f64) -> TrimmedMatchResult {
    trimmed_match(&TrimmedMatchInput {
        pairs: pairs(set),
        trim,
        max_trim_rate,
        confidence: 0.9,
    })
    .unwrap()
}

fn check(got: &TrimmedMatchResult, want: &Value, tol: f64) {
    let f = |k: &str| want[k].as_f64().unwrap();
    let close = |name: &str, g: f64, w: f64| {
        assert!(
            (g - w).abs() <= tol,
            "{name}: got {g}, published {w} (tolerance {tol})"
        );
    };
    close("estimate", got.estimate, f("estimate"));
    close("std_error", got.std_error, f("std_error"));
    close("trim_rate", got.trim_rate, f("trim_rate"));
    close("ci_low", got.interval.lower.unwrap(), f("ci_low"));
    close("ci_up", got.interval.upper.unwrap(), f("ci_up"));
}

#[test]
fn the_test_uses_the_ninety_percent_normal_quantile() {
    let fx = fixture();
    let r = run(&fx["four_pairs"], TrimRate::Fixed { rate: 0.0 }, 0.25);
    assert!((r.normal_quantile - fx["normal_quantile"].as_f64().unwrap()).abs() < 1e-8);
}

#[test]
fn four_pairs_untrimmed_and_trimmed() {
    let fx = fixture();
    let set = &fx["four_pairs"];
    let tol = set["tolerance"].as_f64().unwrap();
    let none = run(set, TrimRate::Fixed { rate: 0.0 }, 0.25);
    check(&none, &set["no_trim"], tol);
    let quarter = run(set, TrimRate::Fixed { rate: 0.25 }, 0.25);
    check(&quarter, &set["trim_0_25"], tol);
    assert!(!none.interval_fallback && !quarter.interval_fallback);
    assert_eq!(quarter.trimmed_per_tail, 1);
}

#[test]
fn thirty_two_pairs_untrimmed_fixed_and_data_driven() {
    let fx = fixture();
    let set = &fx["thirty_two_pairs"];
    let tol = set["tolerance"].as_f64().unwrap();
    let max = set["max_trim_rate"].as_f64().unwrap();
    check(
        &run(set, TrimRate::Fixed { rate: 0.0 }, max),
        &set["no_trim"],
        tol,
    );
    check(
        &run(set, TrimRate::Fixed { rate: 1.0 / 32.0 }, max),
        &set["trim_1_32"],
        tol,
    );
    let auto = run(set, TrimRate::Auto, max);
    check(&auto, &set["data_driven"], tol);
    let published = set["data_driven"]["candidates"].as_array().unwrap();
    assert_eq!(auto.candidates.len(), published.len());
    for (got, want) in auto.candidates.iter().zip(published) {
        let w: Vec<f64> = want
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert!((got.trim_rate - w[0]).abs() <= tol);
        assert!((got.iroas - w[1]).abs() <= tol, "{} vs {}", got.iroas, w[1]);
        assert!(
            (got.std_error - w[2]).abs() <= tol,
            "{} vs {}",
            got.std_error,
            w[2]
        );
    }
    assert!(auto.interval_fallback);
    assert!(!auto.warnings.is_empty());
}

#[test]
fn pair_order_does_not_matter() {
    let fx = fixture();
    let set = &fx["thirty_two_pairs"];
    let mut p = pairs(set);
    let a = run(set, TrimRate::Auto, 0.30);
    p.reverse();
    let b = trimmed_match(&TrimmedMatchInput {
        pairs: p,
        trim: TrimRate::Auto,
        max_trim_rate: 0.30,
        confidence: 0.9,
    })
    .unwrap();
    assert_eq!(a.estimate, b.estimate);
    assert_eq!(a.interval, b.interval);
}
