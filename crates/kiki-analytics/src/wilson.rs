//! Observed rates with Wilson score intervals, for comparing variants (a
//! creative's click-through rate, an ad's conversion rate) before the
//! statistics engine decides anything: the interval stays inside 0..1 and
//! behaves at small counts, where the normal approximation does not.
//!
//! For `k` successes in `n` trials, p̂ = k/n and z the normal quantile:
//! centre = (p̂ + z²/2n) / (1 + z²/n),
//! half-width = z·√(p̂(1−p̂)/n + z²/4n²) / (1 + z²/n).

/// The two-sided 95 % normal quantile.
pub const Z95: f64 = 1.959_963_984_540_054;

/// The Wilson score interval `(low, high)`; `None` without trials or with
/// more successes than trials.
pub fn wilson_interval(successes: u64, trials: u64, z: f64) -> Option<(f64, f64)> {
    if trials == 0 || successes > trials {
        return None;
    }
    let n = trials as f64;
    let p = successes as f64 / n;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn intervals_match_hand_computed_values() {
        // 10 of 100 at 95 %: p̂ = 0.1, z² = 3.841459, 1 + z²/n = 1.03841459,
        // centre = (0.1 + 0.01920729) / 1.03841459 = 0.1147974,
        // half = 1.959964 × √(0.0009 + 0.00009603647) / 1.03841459 = 0.0595683.
        let (lo, hi) = wilson_interval(10, 100, Z95).unwrap();
        assert!(close(lo, 0.0552291), "{lo}");
        assert!(close(hi, 0.1743657), "{hi}");
        // No successes: the interval starts at 0 and still has width.
        let (lo, hi) = wilson_interval(0, 20, Z95).unwrap();
        assert_eq!(lo, 0.0);
        assert!(close(hi, 0.1611252), "{hi}");
        // All successes: symmetric to the above.
        let (lo, hi) = wilson_interval(20, 20, Z95).unwrap();
        assert!(close(lo, 1.0 - 0.1611252), "{lo}");
        assert_eq!(hi, 1.0);
        assert_eq!(wilson_interval(0, 0, Z95), None);
        assert_eq!(wilson_interval(3, 2, Z95), None);
    }
}
