//! A mergeable quantile sketch with relative-error guarantees (DDSketch:
//! Masson, Rim & Lee 2019, "DDSketch: a fast and fully-mergeable quantile
//! sketch with relative-error guarantees", VLDB). The simulation keeps one per
//! day and metric instead of storing every run's trajectory.
//!
//! Buckets hold integer counts, so merging is exact and order-independent:
//! the projection band is the same whichever thread simulated which runs.

/// Values with `|x|` below this are counted as zero.
const MIN_MAGNITUDE: f64 = 1e-9;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sketch {
    ln_gamma: f64,
    positive: Store,
    negative: Store,
    zero: u64,
    count: u64,
    min: f64,
    max: f64,
}

#[derive(Debug, Clone, PartialEq, Default)]
struct Store {
    offset: i32,
    counts: Vec<u64>,
}

impl Store {
    fn add(&mut self, index: i32, n: u64) {
        if self.counts.is_empty() {
            self.offset = index;
            self.counts.push(0);
        } else if index < self.offset {
            let grow = (self.offset - index) as usize;
            self.counts.splice(0..0, std::iter::repeat_n(0, grow));
            self.offset = index;
        } else if index >= self.offset + self.counts.len() as i32 {
            let len = (index - self.offset + 1) as usize;
            self.counts.resize(len, 0);
        }
        self.counts[(index - self.offset) as usize] += n;
    }

    fn merge(&mut self, other: &Store) {
        for (i, &c) in other.counts.iter().enumerate() {
            if c > 0 {
                self.add(other.offset + i as i32, c);
            }
        }
    }
}

impl Sketch {
    /// A sketch whose quantiles are within `relative_accuracy` (e.g. 0.005 =
    /// ±0.5 %) of the true value.
    pub fn new(relative_accuracy: f64) -> Self {
        let gamma = (1.0 + relative_accuracy) / (1.0 - relative_accuracy);
        Sketch {
            ln_gamma: gamma.ln(),
            positive: Store::default(),
            negative: Store::default(),
            zero: 0,
            count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }

    fn index(&self, magnitude: f64) -> i32 {
        (magnitude.ln() / self.ln_gamma).ceil() as i32
    }

    fn value_of(&self, index: i32) -> f64 {
        // The bucket (γ^(i-1), γ^i] is represented by 2γ^i / (γ + 1), which is
        // within the relative accuracy of every value in it.
        let gamma = self.ln_gamma.exp();
        2.0 * (f64::from(index) * self.ln_gamma).exp() / (gamma + 1.0)
    }

    /// Adds one value; non-finite values are ignored (the simulation never
    /// produces them, and a sketch must not be poisoned by one).
    pub fn add(&mut self, x: f64) {
        if !x.is_finite() {
            return;
        }
        self.count += 1;
        self.min = self.min.min(x);
        self.max = self.max.max(x);
        if x > MIN_MAGNITUDE {
            let i = self.index(x);
            self.positive.add(i, 1);
        } else if x < -MIN_MAGNITUDE {
            let i = self.index(-x);
            self.negative.add(i, 1);
        } else {
            self.zero += 1;
        }
    }

    pub fn merge(&mut self, other: &Sketch) {
        self.positive.merge(&other.positive);
        self.negative.merge(&other.negative);
        self.zero += other.zero;
        self.count += other.count;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// The `q`-quantile (nearest rank on `q · (n − 1)`), clamped to the exact
    /// minimum and maximum; exact when every value was the same. `None` when
    /// the sketch is empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        if self.min == self.max {
            return Some(self.min);
        }
        let rank = (q.clamp(0.0, 1.0) * (self.count - 1) as f64).round() as u64;
        if rank == 0 {
            return Some(self.min);
        }
        if rank == self.count - 1 {
            return Some(self.max);
        }
        let mut seen = 0u64;
        // Most negative first: the negative store from its largest magnitude.
        for (i, &c) in self.negative.counts.iter().enumerate().rev() {
            seen += c;
            if seen > rank {
                let v = -self.value_of(self.negative.offset + i as i32);
                return Some(v.clamp(self.min, self.max));
            }
        }
        seen += self.zero;
        if seen > rank {
            return Some(0.0_f64.clamp(self.min, self.max));
        }
        for (i, &c) in self.positive.counts.iter().enumerate() {
            seen += c;
            if seen > rank {
                let v = self.value_of(self.positive.offset + i as i32);
                return Some(v.clamp(self.min, self.max));
            }
        }
        Some(self.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiki_core::stats::quantile;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use rand_distr::{Distribution, Normal};

    #[test]
    fn quantiles_are_within_the_relative_accuracy_of_the_exact_ones() {
        let mut rng = StdRng::seed_from_u64(5);
        let normal = Normal::new(300.0, 900.0).unwrap();
        let mut xs: Vec<f64> = (0..20_001).map(|_| normal.sample(&mut rng)).collect();
        let mut s = Sketch::new(0.005);
        xs.iter().for_each(|&x| s.add(x));
        xs.sort_by(f64::total_cmp);
        for q in [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99] {
            let exact = xs[(q * 20_000.0_f64).round() as usize];
            let got = s.quantile(q).unwrap();
            assert!(
                (got - exact).abs() <= 0.0051 * exact.abs() + 1e-9,
                "q={q} exact={exact} got={got}"
            );
            // Close to the interpolated quantile too.
            assert!((got - quantile(&xs, q).expect("values")).abs() < 0.01 * exact.abs() + 1.0);
        }
    }

    #[test]
    fn merging_in_any_order_gives_the_same_sketch() {
        let parts: Vec<Vec<f64>> = (0..5)
            .map(|k| {
                (0..100)
                    .map(|i| (i as f64 - 40.0) * (k as f64 + 1.5))
                    .collect()
            })
            .collect();
        let build = |order: &[usize]| {
            let mut all = Sketch::new(0.005);
            for &k in order {
                let mut s = Sketch::new(0.005);
                parts[k].iter().for_each(|&x| s.add(x));
                all.merge(&s);
            }
            all
        };
        let a = build(&[0, 1, 2, 3, 4]);
        let b = build(&[4, 2, 0, 3, 1]);
        assert_eq!(a, b);
        for q in [0.1, 0.5, 0.9] {
            assert_eq!(a.quantile(q), b.quantile(q));
        }
    }

    #[test]
    fn a_sketch_of_identical_values_returns_that_value_exactly() {
        let mut s = Sketch::new(0.005);
        for _ in 0..10 {
            s.add(1234.5678);
        }
        assert_eq!(s.quantile(0.1), Some(1234.5678));
        assert_eq!(Sketch::new(0.01).quantile(0.5), None);
    }
}
