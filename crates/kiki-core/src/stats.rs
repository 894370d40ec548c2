//! Order statistics every engine and service shares (pure, no IO): one
//! quantile definition, so a p50 means the same in the twin's simulations,
//! the LTV aggregates and every report.

/// The `q`-quantile (`q` clamped to 0..=1) of values sorted ascending,
/// interpolating linearly between order statistics (Hyndman & Fan 1996,
/// definition 7 — R's and NumPy's default). `None` when there are no values.
/// Infinite neighbours never make NaN: the infinite side is returned.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    type7(sorted.len(), q, |i| sorted[i])
}

/// [`quantile`] of integers (money in micros), rounded to the nearest.
pub fn quantile_i64(sorted: &[i64], q: f64) -> Option<i64> {
    type7(sorted.len(), q, |i| sorted[i] as f64).map(|v| v.round() as i64)
}

fn type7(n: usize, q: f64, at: impl Fn(usize) -> f64) -> Option<f64> {
    match n {
        0 => return None,
        1 => return Some(at(0)),
        _ => {}
    }
    let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    let (a, b) = (at(lo), at(hi));
    let frac = h - lo as f64;
    if a == b || a.is_infinite() || b.is_infinite() {
        // Avoid inf - inf and keep identical neighbours exact.
        return Some(if frac > 0.0 && b.is_infinite() { b } else { a });
    }
    Some(a + frac * (b - a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_like_r_type_7() {
        let xs = [1.0, 2.0, 3.0, 4.0, 10.0];
        for (q, want) in [(0.0, 1.0), (0.1, 1.4), (0.5, 3.0), (0.9, 7.6), (1.0, 10.0)] {
            let got = quantile(&xs, q).expect("values");
            assert!((got - want).abs() < 1e-12, "{q}: {got}");
        }
        let v = [0.0, 0.25, 0.5, 1.0];
        assert!((quantile(&v, 0.5).expect("values") - 0.375).abs() < 1e-12);
    }

    #[test]
    fn out_of_range_q_is_clamped_and_one_value_is_every_quantile() {
        let xs = [2.0, 4.0];
        assert_eq!(quantile(&xs, -1.0), Some(2.0));
        assert_eq!(quantile(&xs, 7.0), Some(4.0));
        assert_eq!(quantile(&[5.0], 0.3), Some(5.0));
    }

    #[test]
    fn no_values_have_no_quantile() {
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile_i64(&[], 0.5), None);
    }

    #[test]
    fn quantiles_with_infinite_tails_do_not_produce_nan() {
        let xs = [1.0, 2.0, f64::INFINITY, f64::INFINITY];
        assert_eq!(quantile(&xs, 0.9), Some(f64::INFINITY));
        assert_eq!(quantile(&xs, 0.0), Some(1.0));
        assert!(!quantile(&xs, 0.5).expect("values").is_nan());
    }

    #[test]
    fn integer_quantiles_round_to_the_nearest() {
        let v = [10, 20, 30, 40, 50];
        assert_eq!(quantile_i64(&v, 0.25), Some(20));
        assert_eq!(quantile_i64(&v, 0.5), Some(30));
        assert_eq!(quantile_i64(&[10, 20], 0.5), Some(15));
        assert_eq!(quantile_i64(&[10, 11], 0.5), Some(11));
    }
}
