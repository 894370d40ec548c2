//! Conformal permutation inference for synthetic control (Chernozhukov,
//! Wüthrich & Zhu 2021, "An exact and robust conformal inference method for
//! counterfactual and synthetic controls", JASA), with moving-block
//! (cyclic-shift) permutations, and the confidence interval by inverting the
//! same test.
//!
//! To test "the effect is τ in every test period": subtract τ from the
//! treated average in the test window, refit the synthetic control on all
//! periods (pre and test), and take the residuals. Under the null they are
//! exchangeable over time, so the test statistic on the test-window
//! residuals is compared with the same statistic on each of the `T` cyclic
//! shifts of the residual series (the identity included). The p-value is
//! the share of shifts whose statistic is at least the observed one:
//! deterministic, no seed, smallest value `1/T`.
//!
//! The interval is every τ the test does not reject at level α, found by
//! stepping out from the estimate until the test rejects and bisecting the
//! boundary. The p-value for "no effect" is the same test at τ = 0, and the
//! interval contains 0 exactly when that p-value is above α: the two never
//! disagree.

use serde::{Deserialize, Serialize};

use crate::control::RunControl;
use crate::error::{LiftError, Result};
use crate::panel::Panel;
use crate::synth::{DonorBasis, Resolved, SyntheticControlFit};

/// The alternative hypothesis, which sets the test statistic on the
/// test-window residuals `u`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Alternative {
    /// The average effect differs from the null in either direction
    /// (statistic `|Σ u|`). The default: it tests the quantity that is
    /// billed (the total incremental outcome), and its inversion gives one
    /// interval even when the effect ramps up over the test.
    #[default]
    TwoSided,
    /// The average effect is larger than the null (statistic `Σ u`).
    Greater,
    /// The average effect is smaller than the null (statistic `−Σ u`).
    Less,
    /// Some period's effect differs from the null (statistic `Σ |u|`,
    /// GeoLift's "Total"). Sensitive to any departure, but a constant-effect
    /// null is rejected whenever the effect varies over the test window, so
    /// the inverted interval can be empty or in pieces; prefer
    /// [`Alternative::TwoSided`] for intervals.
    AnyPeriod,
}

/// Options for [`conformal_inference`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ConformalOptions {
    /// Significance level; the interval has coverage `1 − alpha`.
    pub alpha: f64,
    /// The alternative hypothesis (sets the statistic and which interval
    /// bounds exist).
    #[serde(default)]
    pub alternative: Alternative,
    /// Whether to compute the interval (the p-value is always computed).
    #[serde(default = "default_true")]
    pub interval: bool,
}

fn default_true() -> bool {
    true
}

impl Default for ConformalOptions {
    fn default() -> Self {
        ConformalOptions {
            alpha: 0.1,
            alternative: Alternative::TwoSided,
            interval: true,
        }
    }
}

/// A confidence interval; a missing bound is unbounded on that side.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Interval {
    /// Lower bound, `None` for −∞.
    pub lower: Option<f64>,
    /// Upper bound, `None` for +∞.
    pub upper: Option<f64>,
}

impl Interval {
    /// Whether `x` lies inside (bounds included).
    pub fn contains(&self, x: f64) -> bool {
        self.lower.is_none_or(|l| l <= x) && self.upper.is_none_or(|u| x <= u)
    }
}

/// The result of the conformal test and its inversion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConformalInference {
    /// The options used.
    pub options: ConformalOptions,
    /// p-value of "no effect in any test period".
    pub p_value: f64,
    /// The statistic at τ = 0 on the test-window residuals.
    pub statistic: f64,
    /// Number of permutations (cyclic shifts), equal to the periods used.
    pub permutations: usize,
    /// Interval for the ATT (per treated unit per test period).
    pub att: Interval,
    /// The same interval in total incremental outcome.
    pub incremental: Interval,
    /// The same interval in relative lift.
    pub lift: Interval,
    /// Null hypotheses tested (each one a synthetic-control refit).
    pub evaluations: usize,
    /// Anything unusual about the inversion.
    pub warnings: Vec<String>,
}

/// Tests nulls "effect = τ" for one treated group.
pub(crate) struct NullTester {
    basis: DonorBasis,
    target: Vec<f64>,
    t0: usize,
    alternative: Alternative,
    /// De-meaned target and linear term at τ = 0.
    x1: Vec<f64>,
    m1: f64,
    c: Vec<f64>,
    /// `Σ_{t ≥ t0} X₀[i, t]`: how the linear term moves with τ.
    d: Vec<f64>,
    residuals: Vec<f64>,
}

impl NullTester {
    /// `rows`: donor series over the analysis window; `target`: the treated
    /// average over it; `t0`: the first test period within it.
    pub(crate) fn new(
        rows: &[&[f64]],
        target: Vec<f64>,
        t0: usize,
        fixed_effects: bool,
        ridge: Option<f64>,
        alternative: Alternative,
    ) -> Result<Self> {
        let t_len = target.len();
        let mut basis = DonorBasis::new(rows, t_len, fixed_effects);
        if let Some(lambda) = ridge {
            basis.set_ridge(lambda)?;
        }
        let m1 = basis.target_mean(&target);
        let x1: Vec<f64> = target.iter().map(|v| v - m1).collect();
        let c = basis.linear_term(&x1);
        let d = (0..basis.n0)
            .map(|i| basis.x0[i * t_len + t0..(i + 1) * t_len].iter().sum())
            .collect();
        Ok(NullTester {
            basis,
            target,
            t0,
            alternative,
            x1,
            m1,
            c,
            d,
            residuals: vec![0.0; t_len],
        })
    }

    pub(crate) fn periods(&self) -> usize {
        self.target.len()
    }

    /// The p-value and statistic of "effect = τ"; `warm` carries the
    /// weights from one call to the next.
    pub(crate) fn test(&mut self, tau: f64, warm: &mut Option<Vec<f64>>) -> Result<(f64, f64)> {
        let t_len = self.target.len();
        let post = (t_len - self.t0) as f64;
        let shift = if self.basis.fixed_effects {
            tau * post / t_len as f64
        } else {
            0.0
        };
        let m1 = self.m1 - shift;
        let x1: Vec<f64> = (0..t_len)
            .map(|t| {
                let adj = if t >= self.t0 { tau } else { 0.0 };
                self.x1[t] + self.m1 - adj - m1
            })
            .collect();
        let c: Vec<f64> = self
            .c
            .iter()
            .zip(&self.d)
            .map(|(c, d)| c - tau * d)
            .collect();
        let fit = self.basis.fit_with(&x1, m1, &c, warm.as_deref())?;
        for t in 0..t_len {
            let adj = if t >= self.t0 { tau } else { 0.0 };
            self.residuals[t] = self.target[t] - adj - fit.counterfactual[t];
        }
        *warm = Some(fit.synth_weights);
        Ok(block_permutation_p_value(
            &self.residuals,
            self.t0,
            self.alternative,
        ))
    }
}

/// The share of cyclic shifts of `residuals` whose statistic over the last
/// `len − t0` positions is at least the unshifted one, and that statistic.
pub(crate) fn block_permutation_p_value(
    residuals: &[f64],
    t0: usize,
    alternative: Alternative,
) -> (f64, f64) {
    let t_len = residuals.len();
    let post = t_len - t0;
    let stat = |j: usize| -> f64 {
        let mut s = 0.0;
        for k in 0..post {
            let u = residuals[(t0 + k + j) % t_len];
            s += match alternative {
                Alternative::TwoSided | Alternative::Greater => u,
                Alternative::Less => -u,
                Alternative::AnyPeriod => u.abs(),
            };
        }
        if alternative == Alternative::TwoSided {
            s.abs()
        } else {
            s
        }
    };
    let observed = stat(0);
    let scale: f64 = residuals
        .iter()
        .map(|u| u.abs())
        .sum::<f64>()
        .max(f64::MIN_POSITIVE);
    let tol = 1e-12 * scale;
    let hits = (0..t_len).filter(|&j| stat(j) >= observed - tol).count();
    (hits as f64 / t_len as f64, observed)
}

/// Conformal p-value and test-inversion interval for a fitted synthetic
/// control.
pub fn conformal_inference(
    panel: &Panel,
    fit: &SyntheticControlFit,
    options: &ConformalOptions,
    control: &mut RunControl<'_>,
) -> Result<ConformalInference> {
    if !(options.alpha > 0.0 && options.alpha < 1.0) {
        return Err(LiftError::invalid(format!(
            "alpha must lie strictly between 0 and 1 (got {}).",
            options.alpha
        )));
    }
    let r = Resolved::new(panel, &fit.spec)?;
    let target = r.treated_average(panel);
    let rows = r.donor_rows(panel);
    let t0 = r.start - r.pre_start;
    let mut tester = NullTester::new(
        &rows,
        target.clone(),
        t0,
        fit.spec.fixed_effects,
        fit.ridge.as_ref().map(|x| x.lambda),
        options.alternative,
    )?;
    let mut warnings = Vec::new();
    let mut evaluations = 0usize;
    let mut warm0 = None;
    let (p_value, statistic) = tester.test(0.0, &mut warm0)?;
    evaluations += 1;
    let t_len = tester.periods();
    if (t_len as f64) * options.alpha < 1.0 {
        warnings.push(format!(
            "With {t_len} periods no p-value can go below {:.3}, so nothing is significant at α = {}.",
            1.0 / t_len as f64,
            options.alpha
        ));
    }
    let test_len = (r.end - r.start) as f64;
    let k = r.treated.len() as f64;
    let observed_post: f64 = target[t0..].iter().sum();
    let mut att = Interval::default();
    if options.interval {
        let est = fit.att;
        let post_sd = (fit.periods[t0..]
            .iter()
            .map(|p| p.effect * p.effect)
            .sum::<f64>()
            / test_len)
            .sqrt();
        let scale = [post_sd, fit.diagnostics.pre_rmse, est.abs() * 0.01, 1e-9]
            .into_iter()
            .find(|s| *s > 0.0 && s.is_finite())
            .unwrap_or(1.0);
        let alpha = options.alpha;
        let accepts = |tester: &mut NullTester, tau: f64, warm: &mut Option<Vec<f64>>| {
            tester.test(tau, warm).map(|(p, _)| p > alpha)
        };
        // Seed: the estimate, or the accepted grid point nearest to it.
        let mut warm = None;
        let mut seed = None;
        if accepts(&mut tester, est, &mut warm)? {
            seed = Some(est);
        }
        evaluations += 1;
        if seed.is_none() {
            warnings.push(
                "The test rejects the point estimate itself (the effect is far from constant over the test window); the interval is the accepted set nearest to it."
                    .into(),
            );
            'grid: for step in 1..=32 {
                for s in [-1.0, 1.0] {
                    let tau = est + s * step as f64 * scale / 4.0;
                    evaluations += 1;
                    if accepts(&mut tester, tau, &mut warm)? {
                        seed = Some(tau);
                        break 'grid;
                    }
                }
            }
        }
        match seed {
            None => {
                warnings.push(
                    "No effect size near the estimate is accepted by the test; the interval is the estimate alone."
                        .into(),
                );
                att = Interval {
                    lower: Some(est),
                    upper: Some(est),
                };
            }
            Some(seed) => {
                let seed_warm = warm.clone();
                let mut bound = |dir: f64, control: &RunControl<'_>| -> Result<Option<f64>> {
                    let mut warm = seed_warm.clone();
                    let mut accepted = seed;
                    let mut h = scale / 4.0;
                    for step in 0..400 {
                        control.check()?;
                        let mut next = accepted + dir * h;
                        // Zero is always tested on the way past it.
                        if (accepted < 0.0 && next > 0.0) || (accepted > 0.0 && next < 0.0) {
                            next = 0.0;
                        }
                        evaluations += 1;
                        if accepts(&mut tester, next, &mut warm)? {
                            accepted = next;
                            if step >= 16 {
                                h *= 2.0;
                            }
                            continue;
                        }
                        // Bisect between `accepted` and the rejected `next`.
                        let mut rejected = next;
                        let mut warm_b = warm.clone();
                        while (rejected - accepted).abs() > 1e-7 * scale {
                            let mid = 0.5 * (accepted + rejected);
                            evaluations += 1;
                            if accepts(&mut tester, mid, &mut warm_b)? {
                                accepted = mid;
                            } else {
                                rejected = mid;
                            }
                        }
                        return Ok(Some(accepted));
                    }
                    Ok(None)
                };
                let lower = match options.alternative {
                    Alternative::Less => None,
                    _ => bound(-1.0, control)?,
                };
                let upper = match options.alternative {
                    Alternative::Greater => None,
                    _ => bound(1.0, control)?,
                };
                att = Interval { lower, upper };
                // Consistency with the p-value when the accepted set is not
                // one piece: zero is inside exactly when p(0) > α.
                if p_value > alpha && !att.contains(0.0) {
                    if att.lower.is_some_and(|l| l > 0.0) {
                        att.lower = Some(0.0);
                    } else if att.upper.is_some_and(|u| u < 0.0) {
                        att.upper = Some(0.0);
                    }
                    warnings.push(
                        "The accepted effects do not form one interval; it was widened to include zero, which the test does not reject."
                            .into(),
                    );
                }
            }
        }
    }
    let incremental = Interval {
        lower: att.lower.map(|a| a * test_len * k),
        upper: att.upper.map(|a| a * test_len * k),
    };
    let lift_of = |a: f64| {
        let cf = observed_post - a * test_len;
        if cf != 0.0 {
            a * test_len / cf.abs()
        } else {
            0.0
        }
    };
    let lift = Interval {
        lower: att.lower.map(lift_of),
        upper: att.upper.map(lift_of),
    };
    Ok(ConformalInference {
        options: *options,
        p_value,
        statistic,
        permutations: t_len,
        att,
        incremental,
        lift,
        evaluations,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identity_shift_counts_and_large_test_residuals_are_rare() {
        // Ten periods, last two are the test window with big residuals.
        let r = [0.1, -0.2, 0.15, -0.1, 0.05, -0.05, 0.2, -0.15, 3.0, 2.5];
        let (p, stat) = block_permutation_p_value(&r, 8, Alternative::AnyPeriod);
        assert!((stat - 5.5).abs() < 1e-12);
        // The nearest rivals are the shifts covering (−0.15, 3.0) = 3.15 and
        // (2.5, 0.1) = 2.6: only the identity reaches 5.5, so p = 1/10.
        assert!((p - 0.1).abs() < 1e-12, "p = {p}");
        let (p_less, _) = block_permutation_p_value(&r, 8, Alternative::Less);
        assert!((p_less - 1.0).abs() < 1e-12, "every shift has a larger −Σu");
        let (p_greater, _) = block_permutation_p_value(&r, 8, Alternative::Greater);
        assert!((p_greater - 0.1).abs() < 1e-12);
        let (p_two, stat_two) = block_permutation_p_value(&r, 8, Alternative::TwoSided);
        assert!((stat_two - 5.5).abs() < 1e-12 && (p_two - 0.1).abs() < 1e-12);
        // A mixed-sign test window: |Σu| is small although Σ|u| is not.
        let mixed = [0.1, -0.2, 0.15, -0.1, 0.05, -0.05, 0.2, -0.15, 3.0, -2.9];
        let (p_mean, _) = block_permutation_p_value(&mixed, 8, Alternative::TwoSided);
        let (p_any, _) = block_permutation_p_value(&mixed, 8, Alternative::AnyPeriod);
        assert!(
            p_mean >= 0.4 && (p_any - 0.1).abs() < 1e-12,
            "{p_mean} {p_any}"
        );
    }
}
