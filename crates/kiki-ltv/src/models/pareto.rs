//! Pareto/NBD (Schmittlein, Morrison & Colombo 1987) in the form of Fader &
//! Hardie, "A note on deriving the Pareto/NBD model and related
//! expressions" (2005): λ ~ Gamma(r, α) purchase rates and μ ~ Gamma(s, β)
//! exponential lifetimes. The likelihood needs ₂F₁; its A₀ term is a
//! difference of two ₂F₁ values, taken in log space.

use serde::{Deserialize, Serialize};

use crate::error::LtvError;
use crate::fit::{Objective, chunked_sum};
use crate::models::bgnbd::check_positive;
use crate::rows::Collapsed;
use crate::special::{hyp2f1, ln_beta, ln_gamma, log_add_exp, log_sub_exp};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ParetoNbdParams {
    pub r: f64,
    pub alpha: f64,
    pub s: f64,
    pub beta: f64,
}

fn numerical(_: crate::special::Hyp2f1Failure) -> LtvError {
    LtvError::Numerical {
        what: "Pareto/NBD hypergeometric term",
    }
}

/// ln ₂F₁(a, b; a + 1; z) for 0 ≤ z < 1 via Euler's transformation
/// (1 − z)^{1−b} ₂F₁(1, a + 1 − b; a + 1; z), whose series has positive,
/// decreasing terms bounded by 1/(1 − z) however large a is.
fn ln_hyp2f1_c_is_a_plus_one(a: f64, b: f64, z: f64) -> Result<f64, LtvError> {
    let f = hyp2f1(1.0, a + 1.0 - b, a + 1.0, z).map_err(numerical)?;
    if f.is_nan() || f <= 0.0 {
        return Err(numerical(crate::special::Hyp2f1Failure::NotConverged));
    }
    Ok((1.0 - b) * (-z).ln_1p() + f.ln())
}

impl ParetoNbdParams {
    pub fn validate(&self) -> Result<(), LtvError> {
        check_positive("r", self.r)?;
        check_positive("alpha", self.alpha)?;
        check_positive("s", self.s)?;
        check_positive("beta", self.beta)
    }

    /// ln A₀ of Fader & Hardie (2005) eq. 19; −∞ when t_x = T.
    fn ln_a0(&self, x: f64, tx: f64, t: f64) -> Result<f64, LtvError> {
        let Self { r, alpha, s, beta } = *self;
        let (big, small, second) = if alpha >= beta {
            (alpha, beta, s + 1.0)
        } else {
            (beta, alpha, r + x)
        };
        let rsx = r + s + x;
        let diff = big - small;
        let term =
            |age: f64| -> Result<f64, LtvError> {
                Ok(ln_hyp2f1_c_is_a_plus_one(rsx, second, diff / (big + age))?
                    - rsx * (big + age).ln())
            };
        let early = term(tx)?;
        let late = term(t)?;
        if late >= early {
            // Equal ages, or rounding when they are within an ulp.
            return Ok(f64::NEG_INFINITY);
        }
        Ok(log_sub_exp(early, late))
    }

    /// ln L(r, α, s, β | x, t_x, T) for one customer.
    pub fn log_likelihood(&self, x: f64, tx: f64, t: f64) -> Result<f64, LtvError> {
        let Self { r, alpha, s, beta } = *self;
        let rsx = r + s + x;
        let lead = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln() + s * beta.ln();
        let alive = -(r + x) * (alpha + t).ln() - s * (beta + t).ln();
        let dead = s.ln() - rsx.ln() + self.ln_a0(x, tx, t)?;
        Ok(lead + log_add_exp(alive, dead))
    }

    /// P(alive at T | x, t_x, T), FH (2005) eq. 18.
    pub fn p_alive(&self, x: f64, tx: f64, t: f64) -> Result<f64, LtvError> {
        let Self { r, alpha, s, beta } = *self;
        let ln_odds = s.ln() - (r + s + x).ln()
            + (r + x) * (alpha + t).ln()
            + s * (beta + t).ln()
            + self.ln_a0(x, tx, t)?;
        Ok(if ln_odds > 0.0 {
            let e = (-ln_odds).exp();
            e / (1.0 + e)
        } else {
            1.0 / (1.0 + ln_odds.exp())
        })
    }

    /// Expected purchases in (T, T + t] given alive at T: the posterior
    /// mean rate times the expected remaining lifetime within t.
    pub fn expected_if_alive(&self, x: f64, t_age: f64, horizon: f64) -> f64 {
        let Self { r, alpha, s, beta } = *self;
        if horizon <= 0.0 {
            return 0.0;
        }
        let span = (beta + t_age + horizon).ln() - (beta + t_age).ln();
        (r + x) * (beta + t_age) / (alpha + t_age) * expm1_ratio(s - 1.0, span)
    }

    /// E[X(t)] for a new customer.
    pub fn expected_purchases(&self, t: f64) -> f64 {
        let Self { r, alpha, s, beta } = *self;
        if t <= 0.0 {
            return 0.0;
        }
        r * beta / alpha * expm1_ratio(s - 1.0, (beta + t).ln() - beta.ln())
    }

    /// P(X(t) = n) for a new customer: Fader & Hardie (2006), "Deriving an
    /// expression for P(X(t) = x) under the Pareto/NBD model".
    pub fn probability_of_purchases(&self, t: f64, n: u32) -> Result<f64, LtvError> {
        let Self { r, alpha, s, beta } = *self;
        let x = f64::from(n);
        let ln_t = if t > 0.0 { t.ln() } else { f64::NEG_INFINITY };
        let alive_through = ln_gamma(r + x) - ln_gamma(r) - ln_gamma(x + 1.0)
            + r * (alpha.ln() - (alpha + t).ln())
            + if n == 0 {
                0.0
            } else {
                x * (ln_t - (alpha + t).ln())
            }
            + s * (beta.ln() - (beta + t).ln());
        let (big, small, second) = if alpha >= beta {
            (alpha, beta, s + 1.0)
        } else {
            (beta, alpha, r + x)
        };
        let diff = big - small;
        let c = r + s + x + 1.0;
        let f = |a: f64, z: f64| hyp2f1(a, second, c, z).map_err(numerical);
        let b1 = f(r + s, diff / big)? * (-(r + s) * big.ln()).exp();
        let mut b2 = 0.0;
        for j in 0..=n {
            let jf = f64::from(j);
            let ln_coef = ln_gamma(r + s + jf) - ln_gamma(r + s) - ln_gamma(jf + 1.0)
                + if j == 0 { 0.0 } else { jf * ln_t }
                - (r + s + jf) * (big + t).ln();
            b2 += ln_coef.exp() * f(r + s + jf, diff / (big + t))?;
        }
        let lead = (r * alpha.ln() + s * beta.ln() + ln_beta(r + x, s + 1.0) - ln_beta(r, s)).exp();
        let p = alive_through.exp() + lead * (b1 - b2);
        Ok(p.clamp(0.0, 1.0))
    }
}

/// (1 − e^{−k·L}) / k, with its limit L at k = 0, without cancellation.
fn expm1_ratio(k: f64, span: f64) -> f64 {
    if k == 0.0 {
        span
    } else {
        -(-k * span).exp_m1() / k
    }
}

/// The Pareto/NBD likelihood over collapsed rows; its gradient is taken
/// numerically because ₂F₁ has no cheap parameter derivatives.
pub(crate) struct ParetoObjective {
    pub rows: Collapsed,
}

impl Objective for ParetoObjective {
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
        let p = ParetoNbdParams {
            r: theta[0],
            alpha: theta[1],
            s: theta[2],
            beta: theta[3],
        };
        let rows = &self.rows;
        let [sum, failures] = chunked_sum::<2>(rows.len(), |range| {
            let mut acc = [0.0; 2];
            for i in range {
                match p.log_likelihood(rows.x[i], rows.tx[i], rows.t[i]) {
                    Ok(v) => acc[0] += rows.w[i] * v,
                    Err(_) => acc[1] += 1.0,
                }
            }
            acc
        });
        (failures == 0.0 && sum.is_finite()).then_some(sum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CDNOW: ParetoNbdParams = ParetoNbdParams {
        r: 0.553,
        alpha: 10.578,
        s: 0.606,
        beta: 11.669,
    };

    #[test]
    fn conditional_expectation_matches_the_btyd_walkthrough() {
        let e =
            CDNOW.expected_if_alive(26.0, 31.0, 52.0) * CDNOW.p_alive(26.0, 30.86, 31.0).unwrap();
        assert!((e - 25.46).abs() < 5e-3, "{e}");
    }

    #[test]
    fn likelihood_is_finite_for_both_orders_of_alpha_and_beta_and_for_large_x() {
        for p in [
            CDNOW,
            ParetoNbdParams {
                alpha: 20.0,
                beta: 2.0,
                ..CDNOW
            },
            ParetoNbdParams {
                alpha: 0.5,
                beta: 300.0,
                ..CDNOW
            },
        ] {
            for (x, tx, t) in [
                (0.0, 0.0, 30.0),
                (3.0, 10.0, 30.0),
                (300.0, 29.0, 30.0),
                (2.0, 30.0, 30.0),
            ] {
                let ll = p.log_likelihood(x, tx, t).unwrap();
                assert!(ll.is_finite(), "{p:?} {x} {tx} {t}: {ll}");
                let pa = p.p_alive(x, tx, t).unwrap();
                assert!((0.0..=1.0).contains(&pa));
            }
        }
    }

    #[test]
    fn likelihood_integrates_the_two_lifetime_cases_consistently() {
        // With t_x = T the customer is surely alive until T, so the
        // likelihood is the "alive" term alone and P(alive) is 1.
        let ll = CDNOW.log_likelihood(2.0, 30.0, 30.0).unwrap();
        let q = CDNOW;
        let alive = ln_gamma(q.r + 2.0) - ln_gamma(q.r) + q.r * q.alpha.ln() + q.s * q.beta.ln()
            - (q.r + 2.0) * (q.alpha + 30.0).ln()
            - q.s * (q.beta + 30.0).ln();
        assert!((ll - alive).abs() < 1e-12);
        assert_eq!(CDNOW.p_alive(2.0, 30.0, 30.0).unwrap(), 1.0);
    }

    #[test]
    fn purchase_distribution_sums_to_one_and_its_mean_is_the_expectation() {
        for p in [
            CDNOW,
            ParetoNbdParams {
                alpha: 20.0,
                beta: 4.0,
                ..CDNOW
            },
        ] {
            let t = 39.0;
            let probs: Vec<f64> = (0..150)
                .map(|n| p.probability_of_purchases(t, n).unwrap())
                .collect();
            let total: f64 = probs.iter().sum();
            let mean: f64 = probs.iter().enumerate().map(|(n, q)| n as f64 * q).sum();
            assert!((total - 1.0).abs() < 1e-6, "{p:?}: {total}");
            let expect = p.expected_purchases(t);
            assert!((mean - expect).abs() < 1e-3 * expect, "{mean} vs {expect}");
        }
    }
}
