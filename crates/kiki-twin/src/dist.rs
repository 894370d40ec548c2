//! Parameter distributions of the market model, in the form people can read
//! (a mean and a spread), and their samplers. A spread of zero is a point mass:
//! sampling returns the mean exactly, so a model with every spread at zero is
//! deterministic and matches the closed-form result to the last bit.

use rand::Rng;
use rand_distr::{Beta, Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::fields::Fields;

/// A log-normal distribution given by its mean and the standard deviation of
/// its logarithm (`sigma`); `sigma = 0` is a point mass at `mean`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LogNormalDist {
    /// The mean of the distribution (not of its logarithm).
    pub mean: f64,
    /// Standard deviation of `ln X`.
    pub sigma: f64,
}

impl LogNormalDist {
    /// A point mass.
    pub const fn fixed(mean: f64) -> Self {
        LogNormalDist { mean, sigma: 0.0 }
    }

    /// From a mean and a coefficient of variation (sd / mean).
    pub fn from_mean_cv(mean: f64, cv: f64) -> Self {
        LogNormalDist {
            mean,
            sigma: (1.0 + cv * cv).ln().sqrt(),
        }
    }

    /// Coefficient of variation implied by `sigma`.
    pub fn cv(&self) -> f64 {
        (self.sigma * self.sigma).exp_m1().sqrt()
    }

    /// `E[1 / X]`, which is what converts a mean CPM into expected impressions.
    pub fn mean_of_reciprocal(&self) -> f64 {
        (self.sigma * self.sigma).exp() / self.mean
    }

    pub(crate) fn validate(&self, path: &str, f: &mut Fields) {
        f.finite_positive(format!("{path}.mean"), self.mean);
        f.finite_in(format!("{path}.sigma"), self.sigma, 0.0, 5.0);
    }

    pub(crate) fn sampler(&self) -> LogNormalSampler {
        LogNormalSampler {
            mean: self.mean,
            mu: self.mean.ln() - 0.5 * self.sigma * self.sigma,
            sigma: self.sigma,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct LogNormalSampler {
    mean: f64,
    mu: f64,
    sigma: f64,
}

impl LogNormalSampler {
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        if self.sigma == 0.0 {
            self.mean
        } else {
            let z: f64 = StandardNormal.sample(rng);
            (self.mu + self.sigma * z).exp()
        }
    }
}

/// A Beta distribution for a rate in `[0, 1]`, given by mean and standard
/// deviation; `std_dev = 0` is a point mass at `mean`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BetaDist {
    pub mean: f64,
    pub std_dev: f64,
}

impl BetaDist {
    pub const fn fixed(mean: f64) -> Self {
        BetaDist { mean, std_dev: 0.0 }
    }

    /// `alpha + beta`, the prior-sample-size reading of the spread; infinite
    /// for a point mass.
    pub fn concentration(&self) -> f64 {
        if self.std_dev == 0.0 {
            f64::INFINITY
        } else {
            self.mean * (1.0 - self.mean) / (self.std_dev * self.std_dev) - 1.0
        }
    }

    /// Builds a Beta from a mean and a variance, shrinking the variance to
    /// what a Beta with that mean can have (at most `m(1-m)/2`, i.e. a
    /// concentration of at least 1).
    pub fn from_mean_var(mean: f64, var: f64) -> Self {
        let mean = mean.clamp(1e-9, 1.0 - 1e-9);
        let cap = mean * (1.0 - mean) / 2.0;
        BetaDist {
            mean,
            std_dev: var.clamp(0.0, cap).sqrt(),
        }
    }

    pub(crate) fn validate(&self, path: &str, f: &mut Fields) {
        f.finite_in(format!("{path}.mean"), self.mean, 0.0, 1.0);
        f.finite_non_negative(format!("{path}.std_dev"), self.std_dev);
        if self.mean.is_finite()
            && self.std_dev.is_finite()
            && self.std_dev > 0.0
            && self.std_dev * self.std_dev >= self.mean * (1.0 - self.mean)
        {
            f.push(
                format!("{path}.std_dev"),
                "The standard deviation is too large for a rate with this mean (it must be below sqrt(mean × (1 − mean))).",
            );
        }
    }

    pub(crate) fn sampler(&self) -> BetaSampler {
        let kappa = self.concentration();
        if self.std_dev == 0.0 || !kappa.is_finite() {
            return BetaSampler::Fixed(self.mean);
        }
        match Beta::new(self.mean * kappa, (1.0 - self.mean) * kappa) {
            Ok(b) => BetaSampler::Beta(b),
            // Only reachable for parameters validation rejects; a point mass is
            // the conservative reading.
            Err(_) => BetaSampler::Fixed(self.mean),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum BetaSampler {
    Fixed(f64),
    Beta(Beta<f64>),
}

impl BetaSampler {
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            BetaSampler::Fixed(m) => *m,
            BetaSampler::Beta(b) => b.sample(rng),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn sample_mean_sd(mut draw: impl FnMut() -> f64, n: usize) -> (f64, f64) {
        let xs: Vec<f64> = (0..n).map(|_| draw()).collect();
        let m = xs.iter().sum::<f64>() / n as f64;
        let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1) as f64;
        (m, v.sqrt())
    }

    #[test]
    fn log_normal_samples_have_the_stated_mean_and_cv() {
        let d = LogNormalDist::from_mean_cv(12.0, 0.3);
        let s = d.sampler();
        let mut rng = StdRng::seed_from_u64(7);
        let (m, sd) = sample_mean_sd(|| s.sample(&mut rng), 200_000);
        assert!((m - 12.0).abs() < 0.05, "{m}");
        assert!((sd / m - 0.3).abs() < 0.01, "{sd}");
        assert!((d.cv() - 0.3).abs() < 1e-12);
    }

    #[test]
    fn beta_samples_have_the_stated_mean_and_sd() {
        let d = BetaDist {
            mean: 0.02,
            std_dev: 0.005,
        };
        let s = d.sampler();
        let mut rng = StdRng::seed_from_u64(11);
        let (m, sd) = sample_mean_sd(|| s.sample(&mut rng), 200_000);
        assert!((m - 0.02).abs() < 1e-4, "{m}");
        assert!((sd - 0.005).abs() < 1e-4, "{sd}");
    }

    #[test]
    fn zero_spread_is_a_point_mass_at_exactly_the_mean() {
        let mut rng = StdRng::seed_from_u64(1);
        let ln = LogNormalDist::fixed(0.1 + 0.2);
        let b = BetaDist::fixed(0.1 + 0.2);
        for _ in 0..10 {
            assert_eq!(ln.sampler().sample(&mut rng), 0.1 + 0.2);
            assert_eq!(b.sampler().sample(&mut rng), 0.1 + 0.2);
        }
    }

    #[test]
    fn a_beta_with_too_much_spread_for_its_mean_is_a_field_error() {
        let mut f = Fields::default();
        BetaDist {
            mean: 0.01,
            std_dev: 0.2,
        }
        .validate("ctr", &mut f);
        assert_eq!(f.errors.len(), 1);
        assert_eq!(f.errors[0].field, "ctr.std_dev");
    }

    #[test]
    fn reciprocal_mean_of_a_log_normal_matches_sampling() {
        let d = LogNormalDist::from_mean_cv(10.0, 0.5);
        let s = d.sampler();
        let mut rng = StdRng::seed_from_u64(3);
        let (m, _) = sample_mean_sd(|| 1.0 / s.sample(&mut rng), 400_000);
        assert!((m / d.mean_of_reciprocal() - 1.0).abs() < 0.01);
    }
}
