//! ₂F₁ against reference values computed with mpmath (see
//! tests/fixtures/hyp2f1_reference.py).

use kiki_ltv::special::hyp2f1;

use crate::fixtures::HYP2F1;

#[test]
fn hyp2f1_matches_mpmath_reference_values_to_1e_9() {
    let mut worst = (0.0f64, String::new());
    let mut count = 0;
    for line in HYP2F1.lines().skip(1) {
        let v: Vec<f64> = line
            .split(',')
            .map(|x| x.parse().expect("a number"))
            .collect();
        let (a, b, c, z, expect) = (v[0], v[1], v[2], v[3], v[4]);
        let got =
            hyp2f1(a, b, c, z).unwrap_or_else(|e| panic!("F({a}, {b}; {c}; {z}) failed: {e:?}"));
        let err = (got - expect).abs() / expect.abs().max(1e-300);
        if err > worst.0 {
            worst = (
                err,
                format!("F({a}, {b}; {c}; {z}) = {got}, reference {expect}"),
            );
        }
        count += 1;
    }
    assert!(count > 300, "the fixture has {count} rows");
    assert!(
        worst.0 < 1e-9,
        "largest relative error {:e}: {}",
        worst.0,
        worst.1
    );
}
