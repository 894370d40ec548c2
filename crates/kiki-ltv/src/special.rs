//! Special functions the models need: log-gamma with sign, digamma, log-space
//! sums, and the Gauss hypergeometric function ₂F₁ for real arguments.
//!
//! ₂F₁ is written here rather than taken from a library because its behaviour
//! near z = 1 decides whether Pareto/NBD fits converge. The method follows
//! Abramowitz & Stegun §15.3 (Pfaff 15.3.4 for z < 0, the 1 − z connection
//! formula 15.3.6 near z = 1) and Pearson, Olver & Porter (2017), "Numerical
//! methods for the computation of the confluent and Gaussian hypergeometric
//! functions", for when the plain power series is safe to use instead.

use std::f64::consts::PI;

/// ln Γ(x) for x > 0.
#[inline]
pub fn ln_gamma(x: f64) -> f64 {
    statrs::function::gamma::ln_gamma(x)
}

/// ψ(x), the derivative of ln Γ.
#[inline]
pub fn digamma(x: f64) -> f64 {
    statrs::function::gamma::digamma(x)
}

/// ln B(a, b) for a, b > 0.
#[inline]
pub fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// `(ln |Γ(x)|, sign Γ(x))` for any real x; the sign is 0 at the poles
/// (x = 0, −1, −2, …), where the log part is +∞.
pub fn ln_gamma_signed(x: f64) -> (f64, f64) {
    if x > 0.0 {
        return (ln_gamma(x), 1.0);
    }
    if x == x.floor() {
        return (f64::INFINITY, 0.0);
    }
    // Reflection: Γ(x) Γ(1 − x) = π / sin(πx), with 1 − x > 1.
    let s = (PI * x).sin();
    let ln_abs = PI.ln() - s.abs().ln() - ln_gamma(1.0 - x);
    (ln_abs, s.signum())
}

/// ln(e^a + e^b) without overflow.
#[inline]
pub fn log_add_exp(a: f64, b: f64) -> f64 {
    if a == f64::NEG_INFINITY {
        return b;
    }
    if b == f64::NEG_INFINITY {
        return a;
    }
    let (hi, lo) = if a >= b { (a, b) } else { (b, a) };
    hi + (lo - hi).exp().ln_1p()
}

/// ln(e^a − e^b) for a ≥ b; −∞ when they are equal.
#[inline]
pub fn log_sub_exp(a: f64, b: f64) -> f64 {
    if b == f64::NEG_INFINITY {
        return a;
    }
    a + (-(b - a).exp_m1()).ln()
}

/// ln Σ e^{v_i}; −∞ for an empty slice.
pub fn log_sum_exp(values: &[f64]) -> f64 {
    let m = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY || !m.is_finite() {
        return m;
    }
    m + values.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
}

/// Why ₂F₁ could not be evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hyp2f1Failure {
    /// z ≥ 1 outside the convergent case, or a non-finite argument.
    OutsideDomain,
    /// c is a pole (0, −1, −2, …) not cancelled by a terminating series.
    PoleInC,
    /// The series did not reach full precision within the term budget.
    NotConverged,
}

const SERIES_EPS: f64 = 1e-17;
/// Above this |z| the 1 − z connection formula is preferred unless the
/// power series has only positive terms and converges within the budget.
const SERIES_Z_MAX: f64 = 0.75;
/// Term budget for the positive power series near z = 1.
const LONG_SERIES_TERMS: usize = 50_000;
/// Width of the band around an integer c − a − b where the connection
/// formula cancels catastrophically and the value is interpolated instead.
const NEAR_INTEGER_STEP: f64 = 1e-3;

/// The Gauss hypergeometric function ₂F₁(a, b; c; z) for real a, b, c and
/// real z < 1 (and z = 1 when c − a − b > 0, by Gauss's theorem).
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> Result<f64, Hyp2f1Failure> {
    if !(a.is_finite() && b.is_finite() && c.is_finite() && z.is_finite()) {
        return Err(Hyp2f1Failure::OutsideDomain);
    }
    if z == 0.0 || a == 0.0 || b == 0.0 {
        return Ok(1.0);
    }
    let terminating = is_non_positive_integer(a) || is_non_positive_integer(b);
    if is_non_positive_integer(c) {
        // A pole unless the series stops before reaching it: (a)_n or (b)_n
        // vanishes at a smaller n than (c)_n does.
        let stop = [a, b]
            .into_iter()
            .filter(|v| is_non_positive_integer(*v))
            .map(|v| -v)
            .fold(f64::INFINITY, f64::min);
        if stop > -c || !stop.is_finite() {
            return Err(Hyp2f1Failure::PoleInC);
        }
        return series(a, b, c, z, usize::MAX).ok_or(Hyp2f1Failure::NotConverged);
    }
    if z == 1.0 {
        let d = c - a - b;
        if d <= 0.0 {
            return Err(Hyp2f1Failure::OutsideDomain);
        }
        return Ok(gamma_ratio(&[c, d], &[c - a, c - b]));
    }
    if z > 1.0 {
        return Err(Hyp2f1Failure::OutsideDomain);
    }
    if terminating {
        return series(a, b, c, z, usize::MAX).ok_or(Hyp2f1Failure::NotConverged);
    }
    if z < 0.0 {
        // Pfaff: F(a, b; c; z) = (1 − z)^(−a) F(a, c − b; c; z / (z − 1)).
        let w = z / (z - 1.0);
        let inner = hyp2f1_unit(a, c - b, c, w)?;
        return Ok((-a * (-z).ln_1p()).exp() * inner);
    }
    hyp2f1_unit(a, b, c, z)
}

fn is_non_positive_integer(v: f64) -> bool {
    v <= 0.0 && v == v.floor()
}

/// ₂F₁ for 0 < z < 1.
fn hyp2f1_unit(a: f64, b: f64, c: f64, z: f64) -> Result<f64, Hyp2f1Failure> {
    if z <= SERIES_Z_MAX
        && let Some(v) = series(a, b, c, z, 100_000)
    {
        return Ok(v);
    }
    let positive = a > 0.0 && b > 0.0 && c > 0.0;
    if positive && series_terms_needed(a, b, c, z) <= LONG_SERIES_TERMS as f64 {
        // Every term is positive, so the series loses no precision however
        // close z is to 1; it only costs more terms. Connection formulas
        // with large parameters cancel catastrophically, so prefer it.
        if let Some(v) = series(a, b, c, z, LONG_SERIES_TERMS) {
            return Ok(v);
        }
    }
    one_minus_z(a, b, c, z)
}

/// Roughly how many terms the power series needs: up to the largest term
/// (where the term ratio falls to 1), then until z^n is below 1e-17.
fn series_terms_needed(a: f64, b: f64, c: f64, z: f64) -> f64 {
    // The ratio is 1 where (1 − z)n² + (c + 1 − (a + b)z)n + (c − abz) = 0.
    let qa = 1.0 - z;
    let qb = c + 1.0 - (a + b) * z;
    let qc = c - a * b * z;
    let peak = if qc < 0.0 {
        (-qb + (qb * qb - 4.0 * qa * qc).sqrt()) / (2.0 * qa)
    } else {
        0.0
    };
    peak + 39.0 / -z.ln()
}

/// The power series Σ (a)_n (b)_n / ((c)_n n!) zⁿ, stopped once the terms
/// are decreasing and the remaining tail is below the precision of the sum.
fn series(a: f64, b: f64, c: f64, z: f64, max_terms: usize) -> Option<f64> {
    let mut sum = 1.0_f64;
    let mut term = 1.0_f64;
    let mut n = 0.0_f64;
    let mut count = 0usize;
    loop {
        let ratio = (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z;
        term *= ratio;
        sum += term;
        n += 1.0;
        count += 1;
        if term == 0.0 {
            return Some(sum);
        }
        if !sum.is_finite() {
            return None;
        }
        let next = ((a + n) * (b + n) / ((c + n) * (n + 1.0)) * z).abs();
        if next < 1.0 {
            // The ratio of later terms tends to z from above or below; bound
            // the tail by a geometric series with the larger of the two.
            let rho = next.max(z.abs());
            let tail = term.abs() * rho / (1.0 - rho);
            if tail <= SERIES_EPS * sum.abs() {
                return Some(sum);
            }
        }
        if count >= max_terms {
            return None;
        }
    }
}

/// Γ(p₁)…Γ(pₙ) / (Γ(q₁)…Γ(qₘ)) computed in log space; zero when a
/// denominator argument is a pole.
fn gamma_ratio(num: &[f64], den: &[f64]) -> f64 {
    let (ln, sign) = ln_gamma_ratio(num, den);
    if sign == 0.0 { 0.0 } else { sign * ln.exp() }
}

fn ln_gamma_ratio(num: &[f64], den: &[f64]) -> (f64, f64) {
    let mut ln = 0.0;
    let mut sign = 1.0;
    for &p in num {
        let (l, s) = ln_gamma_signed(p);
        ln += l;
        sign *= s;
    }
    for &q in den {
        let (l, s) = ln_gamma_signed(q);
        if s == 0.0 {
            return (f64::NEG_INFINITY, 0.0);
        }
        ln -= l;
        sign *= s;
    }
    (ln, sign)
}

/// A&S 15.3.6: the connection between z and 1 − z. When c − a − b is within
/// [`NEAR_INTEGER_STEP`] of an integer the two terms cancel; F is an entire
/// function of a (unlike c, where it has poles), so it is then interpolated
/// in a from four values with c − a − b moved clear of the integer.
fn one_minus_z(a: f64, b: f64, c: f64, z: f64) -> Result<f64, Hyp2f1Failure> {
    let d = c - a - b;
    let m = d.round();
    if (d - m).abs() < NEAR_INTEGER_STEP / 2.0 {
        let u = (d - m) / NEAR_INTEGER_STEP;
        let nodes = [-2.0, -1.0, 1.0, 2.0];
        let mut value = 0.0;
        for (k, &node) in nodes.iter().enumerate() {
            let shifted_a = a + (d - m - node * NEAR_INTEGER_STEP);
            let f = one_minus_z_regular(shifted_a, b, c, z)?;
            let weight: f64 = nodes
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != k)
                .map(|(_, &other)| (u - other) / (node - other))
                .product();
            value += weight * f;
        }
        return Ok(value);
    }
    one_minus_z_regular(a, b, c, z)
}

fn one_minus_z_regular(a: f64, b: f64, c: f64, z: f64) -> Result<f64, Hyp2f1Failure> {
    let d = c - a - b;
    let w = 1.0 - z;
    let f1 = series(a, b, 1.0 - d, w, 100_000).ok_or(Hyp2f1Failure::NotConverged)?;
    let f2 = series(c - a, c - b, 1.0 + d, w, 100_000).ok_or(Hyp2f1Failure::NotConverged)?;
    let (l1, s1) = ln_gamma_ratio(&[c, d], &[c - a, c - b]);
    let (l2, s2) = ln_gamma_ratio(&[c, -d], &[a, b]);
    let t1 = if s1 == 0.0 { 0.0 } else { s1 * l1.exp() * f1 };
    let t2 = if s2 == 0.0 {
        0.0
    } else {
        s2 * (l2 + d * w.ln()).exp() * f2
    };
    let v = t1 + t2;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(Hyp2f1Failure::NotConverged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-300)
    }

    #[test]
    fn signed_log_gamma_matches_known_values_on_both_sides_of_zero() {
        let cases = [
            (0.5, PI.sqrt().ln(), 1.0),
            (-0.5, (2.0 * PI.sqrt()).ln(), -1.0),
            (-1.5, (4.0 / 3.0 * PI.sqrt()).ln(), 1.0),
            (5.0, 24f64.ln(), 1.0),
        ];
        for (x, ln, sign) in cases {
            let (l, s) = ln_gamma_signed(x);
            assert!(close(l, ln, 1e-12), "x = {x}: {l} vs {ln}");
            assert_eq!(s, sign, "x = {x}");
        }
        assert_eq!(ln_gamma_signed(-3.0).1, 0.0);
    }

    #[test]
    fn log_space_sums_do_not_overflow() {
        assert!(close(
            log_add_exp(1000.0, 1000.0),
            1000.0 + 2f64.ln(),
            1e-15
        ));
        assert!(close(
            log_sub_exp(1000.0, 999.0),
            1000.0 + (1.0 - (-1f64).exp()).ln(),
            1e-14
        ));
        assert_eq!(log_sub_exp(3.0, 3.0), f64::NEG_INFINITY);
        assert!(close(
            log_sum_exp(&[-1000.0, -1000.0, -1000.0]),
            -1000.0 + 3f64.ln(),
            1e-15
        ));
        assert_eq!(log_add_exp(f64::NEG_INFINITY, 2.0), 2.0);
    }

    #[test]
    fn hyp2f1_reduces_to_elementary_functions() {
        // ln(1 + z) = z F(1, 1; 2; −z); arcsin(z)/z = F(½, ½; 3/2; z²);
        // (1 − z)^(−a) = F(a, b; b; z).
        for z in [-5.0, -0.9, -0.3, 0.2, 0.6, 0.8, 0.95, 0.999] {
            let v = hyp2f1(1.0, 1.0, 2.0, z).unwrap();
            assert!(close(v, (-z).ln_1p() / -z, 1e-12), "ln z={z}: {v}");
            let v = hyp2f1(0.7, 2.3, 2.3, z).unwrap();
            assert!(close(v, (1.0 - z).powf(-0.7), 1e-12), "power z={z}: {v}");
        }
        for z in [0.1, 0.5, 0.9, 0.99] {
            let v = hyp2f1(0.5, 0.5, 1.5, z * z).unwrap();
            assert!(close(v, z.asin() / z, 1e-12), "asin z={z}: {v}");
        }
    }

    #[test]
    fn hyp2f1_terminates_for_polynomial_cases_and_rejects_poles() {
        // F(−2, b; c; z) = 1 − 2bz/c + b(b+1)z²/(c(c+1)).
        let (b, c, z) = (1.5, 2.5, -3.0);
        let expect = 1.0 - 2.0 * b * z / c + b * (b + 1.0) * z * z / (c * (c + 1.0));
        assert!(close(hyp2f1(-2.0, b, c, z).unwrap(), expect, 1e-14));
        assert_eq!(hyp2f1(1.0, 1.0, -2.0, 0.5), Err(Hyp2f1Failure::PoleInC));
        assert_eq!(
            hyp2f1(1.0, 1.0, 2.0, 1.5),
            Err(Hyp2f1Failure::OutsideDomain)
        );
        assert_eq!(
            hyp2f1(f64::NAN, 1.0, 2.0, 0.5),
            Err(Hyp2f1Failure::OutsideDomain)
        );
    }

    #[test]
    fn hyp2f1_at_one_is_gauss_sum() {
        let (a, b, c) = (0.3, 0.4, 2.0);
        let expect = gamma_ratio(&[c, c - a - b], &[c - a, c - b]);
        assert!(close(hyp2f1(a, b, c, 1.0).unwrap(), expect, 1e-13));
    }

    #[test]
    fn hyp2f1_is_continuous_across_integer_c_minus_a_minus_b() {
        // The connection formula is singular at integer c − a − b; the
        // interpolated values must join the regular ones smoothly.
        let (a, b, z) = (0.6, 1.2, 0.9);
        let mut previous: Option<f64> = None;
        for k in -40..=40 {
            let c = a + b + 1.0 + f64::from(k) * 2e-5;
            let v = hyp2f1(a, b, c, z).unwrap();
            if let Some(p) = previous {
                assert!((v - p).abs() < 1e-4 * p.abs(), "jump at c = {c}: {p} → {v}");
            }
            previous = Some(v);
        }
    }
}
