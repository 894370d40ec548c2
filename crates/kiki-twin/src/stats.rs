//! Small numeric helpers shared by estimation and simulation.

/// SplitMix64 finaliser (Steele, Lea & Flood 2014, "Fast splittable
/// pseudorandom number generators"): turns (seed, run index) into
/// well-mixed, independent-looking 64-bit seeds for per-run generators.
pub(crate) fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The seed of run `index` of a simulation seeded with `seed`. It depends on
/// nothing else, which is what makes results independent of thread count.
pub(crate) fn run_seed(seed: u64, index: u64) -> u64 {
    splitmix64(splitmix64(seed) ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03))
}

/// Weighted mean and (biased, weights-normalised) variance of `(value, weight)`
/// pairs. Returns `None` when the total weight is zero.
pub(crate) fn weighted_mean_var(
    pairs: impl Iterator<Item = (f64, f64)> + Clone,
) -> Option<(f64, f64)> {
    let (sw, swx) = pairs
        .clone()
        .fold((0.0, 0.0), |(sw, swx), (x, w)| (sw + w, swx + w * x));
    if sw <= 0.0 {
        return None;
    }
    let mean = swx / sw;
    let var = pairs.fold(0.0, |acc, (x, w)| acc + w * (x - mean) * (x - mean)) / sw;
    Some((mean, var))
}

/// Precision-weighted combination of a normal prior and a normal likelihood
/// (the conjugate normal–normal update): returns the posterior mean and
/// variance and the weight the data received.
pub(crate) fn normal_update(
    prior_mean: f64,
    prior_var: f64,
    data_mean: f64,
    data_var: f64,
) -> (f64, f64, f64) {
    if !data_var.is_finite() || prior_var <= 0.0 {
        return (prior_mean, prior_var.max(0.0), 0.0);
    }
    if data_var <= 0.0 {
        return (data_mean, 0.0, 1.0);
    }
    let pp = 1.0 / prior_var;
    let pd = 1.0 / data_var;
    let var = 1.0 / (pp + pd);
    let w = pd * var;
    (prior_mean * (1.0 - w) + data_mean * w, var, w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_update_weights_by_precision() {
        let (m, v, w) = normal_update(0.0, 1.0, 10.0, 1.0);
        assert!((m - 5.0).abs() < 1e-12 && (v - 0.5).abs() < 1e-12 && (w - 0.5).abs() < 1e-12);
        let (m, _, w) = normal_update(0.0, 1.0, 10.0, 0.01);
        assert!(w > 0.99 && m > 9.9);
    }

    #[test]
    fn run_seeds_differ_between_runs_and_between_seeds() {
        let mut seen = std::collections::HashSet::new();
        for seed in 0..20 {
            for i in 0..500 {
                assert!(seen.insert(run_seed(seed, i)));
            }
        }
    }

    #[test]
    fn weighted_variance_of_equal_weights_is_the_population_variance() {
        let (m, v) = weighted_mean_var([(1.0, 1.0), (3.0, 1.0)].into_iter()).unwrap();
        assert_eq!((m, v), (2.0, 1.0));
        assert!(weighted_mean_var([(1.0, 0.0)].into_iter()).is_none());
    }
}
