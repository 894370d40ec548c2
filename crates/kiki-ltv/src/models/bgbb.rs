//! BG/BB (Fader, Hardie & Shang 2010, "Customer-base analysis in a
//! discrete-time noncontractual setting"): at each of n transaction
//! opportunities an active customer buys with probability p ~ Beta(α, β)
//! and, before it, drops out with probability θ ~ Beta(γ, δ).

use serde::{Deserialize, Serialize};

use crate::error::LtvError;
use crate::fit::{Objective, chunked_sum};
use crate::models::bgnbd::{away_from_one, check_positive};
use crate::rows::Collapsed;
use crate::special::{ln_beta, ln_gamma, log_sum_exp};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BgBbParams {
    pub alpha: f64,
    pub beta: f64,
    pub gamma: f64,
    pub delta: f64,
}

impl BgBbParams {
    pub fn validate(&self) -> Result<(), LtvError> {
        check_positive("alpha", self.alpha)?;
        check_positive("beta", self.beta)?;
        check_positive("gamma", self.gamma)?;
        check_positive("delta", self.delta)
    }

    /// ln of the "alive through all n opportunities" term of the likelihood.
    fn ln_alive_term(&self, x: f64, n: f64) -> f64 {
        let Self {
            alpha,
            beta,
            gamma,
            delta,
        } = *self;
        ln_beta(alpha + x, beta + n - x) - ln_beta(alpha, beta) + ln_beta(gamma, delta + n)
            - ln_beta(gamma, delta)
    }

    /// ln L(α, β, γ, δ | x, t_x, n), FHS (2010) eq. 5.
    pub fn log_likelihood(&self, x: f64, tx: f64, n: f64) -> f64 {
        let Self {
            alpha,
            beta,
            gamma,
            delta,
        } = *self;
        let mut terms = Vec::with_capacity((n - tx) as usize + 1);
        terms.push(self.ln_alive_term(x, n));
        let base = -ln_beta(alpha, beta) - ln_beta(gamma, delta);
        let mut i = 0.0;
        while i < n - tx {
            terms.push(
                base + ln_beta(alpha + x, beta + tx - x + i) + ln_beta(gamma + 1.0, delta + tx + i),
            );
            i += 1.0;
        }
        log_sum_exp(&terms)
    }

    /// P(alive at the end of opportunity n | x, t_x, n): the share of the
    /// likelihood from the "never dropped out" path.
    pub fn p_alive(&self, x: f64, tx: f64, n: f64) -> f64 {
        (self.ln_alive_term(x, n) - self.log_likelihood(x, tx, n))
            .exp()
            .min(1.0)
    }

    /// P(alive at opportunity n + m | x, t_x, n), FHS (2010) eq. 11 with
    /// n + m in place of n + 1.
    pub fn p_alive_in(&self, m: f64, x: f64, tx: f64, n: f64) -> f64 {
        let Self { gamma, delta, .. } = *self;
        let shift = ln_beta(gamma, delta + n + m) - ln_beta(gamma, delta + n);
        (self.ln_alive_term(x, n) + shift - self.log_likelihood(x, tx, n))
            .exp()
            .min(1.0)
    }

    /// Expected transactions in the next `m` opportunities given alive
    /// after opportunity n: E[p] · Σ_{k=1..m} E[(1 − θ)^k] under the
    /// posteriors Beta(α + x, β + n − x) and Beta(γ, δ + n). Times
    /// [`Self::p_alive`] this is FHS (2010) eq. 13.
    pub fn expected_if_alive(&self, x: f64, n: f64, m: f64) -> Result<f64, LtvError> {
        let Self {
            alpha, beta, delta, ..
        } = *self;
        if m <= 0.0 {
            return Ok(0.0);
        }
        let buy = (alpha + x) / (alpha + beta + n);
        away_from_one(self.gamma, |gamma| {
            let ratio = (ln_gamma(gamma + delta + n) - ln_gamma(delta + n)
                + ln_gamma(1.0 + delta + n + m)
                - ln_gamma(gamma + delta + n + m))
            .exp();
            Ok(buy * ((delta + n) - ratio) / (gamma - 1.0))
        })
    }

    /// E[X(n)]: transactions of a new customer in the first n opportunities.
    pub fn expected_purchases(&self, n: f64) -> Result<f64, LtvError> {
        let Self {
            alpha, beta, delta, ..
        } = *self;
        if n <= 0.0 {
            return Ok(0.0);
        }
        away_from_one(self.gamma, |gamma| {
            let ratio = (ln_gamma(gamma + delta) - ln_gamma(1.0 + delta)
                + ln_gamma(1.0 + delta + n)
                - ln_gamma(gamma + delta + n))
            .exp();
            Ok(alpha / (alpha + beta) * delta / (gamma - 1.0) * (1.0 - ratio))
        })
    }

    /// P(X(n) = x) for a new customer, FHS (2010) eq. 7.
    pub fn probability_of_purchases(&self, n: u32, x: u32) -> f64 {
        if x > n {
            return 0.0;
        }
        let Self {
            alpha,
            beta,
            gamma,
            delta,
        } = *self;
        let (nf, xf) = (f64::from(n), f64::from(x));
        let ln_choose =
            |k: f64, j: f64| ln_gamma(k + 1.0) - ln_gamma(j + 1.0) - ln_gamma(k - j + 1.0);
        let mut terms = vec![ln_choose(nf, xf) + self.ln_alive_term(xf, nf)];
        for i in x..n {
            let i = f64::from(i);
            terms.push(
                ln_choose(i, xf) + ln_beta(alpha + xf, beta + i - xf) - ln_beta(alpha, beta)
                    + ln_beta(gamma + 1.0, delta + i)
                    - ln_beta(gamma, delta),
            );
        }
        log_sum_exp(&terms).exp()
    }
}

/// The BG/BB likelihood over collapsed rows; numerical gradient, since the
/// data are small once collapsed (at most n² patterns per n).
pub(crate) struct BgBbObjective {
    pub rows: Collapsed,
}

impl Objective for BgBbObjective {
    fn dim(&self) -> usize {
        4
    }
    fn analytic_gradient(&self) -> bool {
        false
    }
    fn total_weight(&self) -> f64 {
        self.rows.total_weight
    }
    fn log_likelihood(&self, theta: &[f64], _grad: Option<&mut [f64]>) -> Option<f64> {
        let p = BgBbParams {
            alpha: theta[0],
            beta: theta[1],
            gamma: theta[2],
            delta: theta[3],
        };
        let rows = &self.rows;
        let [sum] = chunked_sum::<1>(rows.len(), |range| {
            let mut s = 0.0;
            for i in range {
                s += rows.w[i] * p.log_likelihood(rows.x[i], rows.tx[i], rows.t[i]);
            }
            [s]
        });
        sum.is_finite().then_some(sum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DONATIONS: BgBbParams = BgBbParams {
        alpha: 1.204,
        beta: 0.750,
        gamma: 0.657,
        delta: 2.783,
    };

    #[test]
    fn likelihood_sums_to_one_over_every_possible_history() {
        // For n opportunities the histories (x, t_x) partition all outcomes;
        // the likelihood of a pattern is per sequence, so weight by the
        // number of sequences C(t_x − 1, x − 1).
        let n = 6.0;
        let mut total = 0.0;
        total += DONATIONS.log_likelihood(0.0, 0.0, n).exp();
        for tx in 1..=6 {
            for x in 1..=tx {
                let ways = (ln_gamma(f64::from(tx))
                    - ln_gamma(f64::from(x))
                    - ln_gamma(f64::from(tx - x) + 1.0))
                .exp();
                total += ways
                    * DONATIONS
                        .log_likelihood(f64::from(x), f64::from(tx), n)
                        .exp();
            }
        }
        assert!((total - 1.0).abs() < 1e-12, "{total}");
    }

    #[test]
    fn p_alive_matches_the_published_donation_values() {
        for ((x, tx), expect) in [((0.0, 0.0), 0.11), ((2.0, 4.0), 0.59), ((6.0, 6.0), 0.93)] {
            let p = DONATIONS.p_alive_in(1.0, x, tx, 6.0);
            assert!((p - expect).abs() < 0.005, "({x}, {tx}): {p}");
        }
    }

    #[test]
    fn conditional_expectation_equals_the_paper_formula() {
        // FHS (2010) eq. 13 written out directly.
        let (x, tx, n, m) = (2.0, 4.0, 6.0, 5.0);
        let BgBbParams {
            alpha,
            beta,
            gamma,
            delta,
        } = DONATIONS;
        let ll = DONATIONS.log_likelihood(x, tx, n);
        let direct = (ln_beta(alpha + x + 1.0, beta + n - x) - ln_beta(alpha, beta) - ll).exp()
            * delta
            / (gamma - 1.0)
            * (ln_gamma(gamma + delta) - ln_gamma(1.0 + delta)).exp()
            * ((ln_gamma(1.0 + delta + n) - ln_gamma(gamma + delta + n)).exp()
                - (ln_gamma(1.0 + delta + n + m) - ln_gamma(gamma + delta + n + m)).exp());
        let ours = DONATIONS.p_alive(x, tx, n) * DONATIONS.expected_if_alive(x, n, m).unwrap();
        assert!((ours - direct).abs() < 1e-12, "{ours} vs {direct}");
    }

    #[test]
    fn purchase_distribution_sums_to_one_and_its_mean_is_the_expectation() {
        let n = 10;
        let probs: Vec<f64> = (0..=n)
            .map(|x| DONATIONS.probability_of_purchases(n, x))
            .collect();
        let total: f64 = probs.iter().sum();
        let mean: f64 = probs.iter().enumerate().map(|(x, p)| x as f64 * p).sum();
        assert!((total - 1.0).abs() < 1e-12);
        let expect = DONATIONS.expected_purchases(f64::from(n)).unwrap();
        assert!((mean - expect).abs() < 1e-10, "{mean} vs {expect}");
    }
}
