//! Synthetic control with unit fixed effects — GeoLift's default estimator
//! (Abadie, Diamond & Hainmueller 2010; the de-meaned variant of Doudchenko &
//! Imbens 2016 and Ferman & Pinto 2021, as implemented by `augsynth` with
//! `fixedeff = TRUE`), with optional ridge augmentation (Ben-Michael, Feller &
//! Rothstein 2021, "The augmented synthetic control method").
//!
//! The treated units are averaged into one series. With fixed effects, every
//! unit's mean over the fitting periods is removed first; the donor weights
//! (≥ 0, summing to 1) minimise the squared distance between the treated
//! average and the weighted donors over the fitting periods; the
//! counterfactual is the treated pre-period mean plus the weighted donor
//! deviations. L2 imbalance is the root of that squared distance; the scaled
//! L2 imbalance divides it by the same quantity for equal donor weights.

use serde::{Deserialize, Serialize};

use crate::error::{LiftError, Result};
use crate::linalg::{cholesky_regularised, cholesky_solve, dot, largest_eigenvalue};
use crate::panel::Panel;
use crate::qp::simplex_least_squares;

/// Outcome-model augmentation of the synthetic control.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Augmentation {
    /// Plain synthetic control (GeoLift's default).
    #[default]
    None,
    /// Ridge-augmented synthetic control: the synthetic-control weights plus
    /// a ridge regression correction of the remaining pre-period imbalance
    /// (weights may turn negative; they still sum to one). `lambda` is the
    /// ridge penalty; `None` chooses it by leave-one-period-out
    /// cross-validation over 21 values from the largest eigenvalue of the
    /// centred donor Gram matrix down to 1e-8 of it, taking the largest
    /// penalty within one standard error of the best (as `augsynth` does).
    Ridge {
        /// The ridge penalty, or `None` to cross-validate it.
        lambda: Option<f64>,
    },
}

/// What to estimate: which units were treated, when, against which donors.
///
/// Periods are 0-based indexes into the panel; `treatment_end` is exclusive
/// (GeoLift's `treatment_start_time = 91, treatment_end_time = 105` on its
/// 1-based time index is `treatment_start: 90, treatment_end: 105`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyntheticControlSpec {
    /// The treated units (their outcomes are averaged).
    pub treated: Vec<String>,
    /// First treated period.
    pub treatment_start: usize,
    /// One past the last treated period.
    pub treatment_end: usize,
    /// First period of the pre-period (default 0: all history).
    #[serde(default)]
    pub pre_start: usize,
    /// Remove each unit's pre-period mean before matching (default true).
    #[serde(default = "default_true")]
    pub fixed_effects: bool,
    /// Outcome-model augmentation (default none).
    #[serde(default)]
    pub augmentation: Augmentation,
    /// Units kept out of the donor pool (other test cells, markets with
    /// spill-over, markets with their own campaigns).
    #[serde(default)]
    pub excluded_donors: Vec<String>,
}

fn default_true() -> bool {
    true
}

/// One donor's weight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DonorWeight {
    /// The donor unit.
    pub unit: String,
    /// Its weight in the synthetic control.
    pub weight: f64,
}

/// Observed and counterfactual treated-average outcome in one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodEstimate {
    /// The period label.
    pub period: String,
    /// Whether the period is in the test (treatment) window.
    pub treated: bool,
    /// The treated units' average outcome.
    pub observed: f64,
    /// The synthetic control's outcome (what the treated average would have
    /// been without the treatment).
    pub counterfactual: f64,
    /// `observed − counterfactual`: the effect per treated unit in the test
    /// window, the fit residual before it.
    pub effect: f64,
}

/// How well the synthetic control tracks the treated units before the test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitDiagnostics {
    /// Root of the summed squared pre-period gap (augsynth's L2 imbalance),
    /// on the de-meaned series when fixed effects are on.
    pub l2_imbalance: f64,
    /// L2 imbalance divided by that of equal donor weights: 0 is a perfect
    /// match, 1 no better than the plain donor average.
    pub scaled_l2_imbalance: f64,
    /// Root mean squared pre-period gap, in outcome units per treated unit.
    pub pre_rmse: f64,
    /// Share of the treated average's pre-period variance the synthetic
    /// control explains.
    pub pre_r_squared: f64,
    /// Mean absolute pre-period gap relative to the mean treated outcome.
    pub pre_mape: f64,
    /// Donors with a weight above 0.001.
    pub donors_used: usize,
    /// The largest donor weight.
    pub max_weight: f64,
    /// `1 / Σ w²`: how many equally weighted donors the weights are worth.
    pub effective_donors: f64,
}

/// How much data went into an estimate, and what that means for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataSufficiency {
    /// Periods used to fit the weights.
    pub pre_periods: usize,
    /// Periods in the test window.
    pub test_periods: usize,
    /// Treated units.
    pub treated_units: usize,
    /// Units in the donor pool.
    pub donors: usize,
    /// Share of the unit-periods used (treated and donors, pre-period and
    /// test) that were observed rather than filled in as zero.
    pub coverage: f64,
    /// The smallest p-value the permutation inference can reach,
    /// `1 / (pre + test periods)`.
    pub smallest_p_value: f64,
    /// Sentences about what is thin (empty when nothing is).
    pub warnings: Vec<String>,
}

/// The ridge part of an augmented fit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RidgeReport {
    /// The penalty used.
    pub lambda: f64,
    /// Whether it was chosen by cross-validation.
    pub cross_validated: bool,
    /// The plain synthetic-control weights the ridge corrects.
    pub synth_weights: Vec<DonorWeight>,
    /// The bias correction: mean over the test window of the augmented minus
    /// the plain counterfactual, per treated unit and period.
    pub bias_correction: f64,
}

/// A fitted synthetic control and its point estimates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyntheticControlFit {
    /// The spec this fit answers.
    pub spec: SyntheticControlSpec,
    /// Donor weights, largest first (zero weights included).
    pub weights: Vec<DonorWeight>,
    /// Every period from `pre_start` to `treatment_end`.
    pub periods: Vec<PeriodEstimate>,
    /// Average effect per treated unit per test period (GeoLift's ATT).
    pub att: f64,
    /// Total incremental outcome over the test window and all treated units.
    pub incremental: f64,
    /// Relative lift: test-window effect over the counterfactual.
    pub lift: f64,
    /// Observed outcome of all treated units over the test window.
    pub observed_total: f64,
    /// Counterfactual outcome of all treated units over the test window.
    pub counterfactual_total: f64,
    /// Pre-period fit.
    pub diagnostics: FitDiagnostics,
    /// Data behind the estimate.
    pub sufficiency: DataSufficiency,
    /// The ridge augmentation, when used.
    pub ridge: Option<RidgeReport>,
}

/// Validated indexes of a spec against a panel.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub treated: Vec<usize>,
    pub donors: Vec<usize>,
    pub pre_start: usize,
    pub start: usize,
    pub end: usize,
}

impl Resolved {
    pub(crate) fn new(panel: &Panel, spec: &SyntheticControlSpec) -> Result<Self> {
        if spec.treated.is_empty() {
            return Err(LiftError::invalid("Name at least one treated unit."));
        }
        let treated = panel.unit_indexes(&spec.treated)?;
        let excluded = panel.unit_indexes(&spec.excluded_donors)?;
        let mut seen = treated.clone();
        seen.sort_unstable();
        seen.dedup();
        if seen.len() != treated.len() {
            return Err(LiftError::invalid("A treated unit is named twice."));
        }
        if !(spec.pre_start < spec.treatment_start
            && spec.treatment_start < spec.treatment_end
            && spec.treatment_end <= panel.n_periods())
        {
            return Err(LiftError::invalid(format!(
                "The periods must satisfy pre_start < treatment_start < treatment_end ≤ {} (got {}, {}, {}).",
                panel.n_periods(),
                spec.pre_start,
                spec.treatment_start,
                spec.treatment_end
            )));
        }
        let donors: Vec<usize> = (0..panel.n_units())
            .filter(|u| !treated.contains(u) && !excluded.contains(u))
            .collect();
        if donors.is_empty() {
            return Err(LiftError::insufficient(
                "No donor units are left once the treated and excluded units are removed.",
            ));
        }
        if spec.treatment_start - spec.pre_start < 2 {
            return Err(LiftError::insufficient(
                "The synthetic control needs at least two pre-period observations.",
            ));
        }
        Ok(Resolved {
            treated,
            donors,
            pre_start: spec.pre_start,
            start: spec.treatment_start,
            end: spec.treatment_end,
        })
    }

    /// The treated units' average over the analysis window.
    pub(crate) fn treated_average(&self, panel: &Panel) -> Vec<f64> {
        average_series(panel, &self.treated, self.pre_start, self.end)
    }

    /// The donors' series over the analysis window.
    pub(crate) fn donor_rows<'a>(&self, panel: &'a Panel) -> Vec<&'a [f64]> {
        self.donors
            .iter()
            .map(|&d| &panel.series(d)[self.pre_start..self.end])
            .collect()
    }
}

pub(crate) fn average_series(panel: &Panel, units: &[usize], start: usize, end: usize) -> Vec<f64> {
    let k = units.len() as f64;
    (start..end)
        .map(|t| units.iter().map(|&u| panel.series(u)[t]).sum::<f64>() / k)
        .collect()
}

/// Donor series prepared for repeated fits against different targets: the
/// de-meaned matrix, the Gram matrix over the fitting periods and, for
/// ridge augmentation, the factor of the centred Gram matrix plus λI.
#[derive(Debug, Clone)]
pub(crate) struct DonorBasis {
    pub n0: usize,
    pub t_len: usize,
    pub fit_len: usize,
    pub fixed_effects: bool,
    /// `n0 × t_len`, de-meaned by the fitting-period means when fixed
    /// effects are on.
    pub x0: Vec<f64>,
    /// `n0 × n0` over periods `0..fit_len`.
    pub gram: Vec<f64>,
    /// Per period, the plain average of the (de-meaned) donors.
    pub donor_mean: Vec<f64>,
    ridge: Option<RidgeFactor>,
}

#[derive(Debug, Clone)]
struct RidgeFactor {
    lambda: f64,
    factor: Vec<f64>,
}

/// The result of one fit on a [`DonorBasis`].
#[derive(Debug, Clone)]
pub(crate) struct CoreFit {
    /// Final weights (augmented when ridge is on).
    pub weights: Vec<f64>,
    /// Plain synthetic-control weights.
    pub synth_weights: Vec<f64>,
    /// Counterfactual over `0..t_len`, on the target's scale.
    pub counterfactual: Vec<f64>,
    pub l2: f64,
    pub scaled_l2: f64,
}

impl DonorBasis {
    /// Prepares `rows` (one slice of length `t_len` per donor), fitting on
    /// periods `0..fit_len`.
    pub(crate) fn new(rows: &[&[f64]], fit_len: usize, fixed_effects: bool) -> Self {
        let n0 = rows.len();
        let t_len = rows.first().map_or(0, |r| r.len());
        let mut x0 = Vec::with_capacity(n0 * t_len);
        for r in rows {
            let m = if fixed_effects {
                r[..fit_len].iter().sum::<f64>() / fit_len as f64
            } else {
                0.0
            };
            x0.extend(r.iter().map(|v| v - m));
        }
        let mut gram = vec![0.0; n0 * n0];
        for i in 0..n0 {
            let ri = &x0[i * t_len..i * t_len + fit_len];
            for j in 0..=i {
                let rj = &x0[j * t_len..j * t_len + fit_len];
                let g = dot(ri, rj);
                gram[i * n0 + j] = g;
                gram[j * n0 + i] = g;
            }
        }
        let donor_mean = (0..t_len)
            .map(|t| (0..n0).map(|i| x0[i * t_len + t]).sum::<f64>() / n0 as f64)
            .collect();
        DonorBasis {
            n0,
            t_len,
            fit_len,
            fixed_effects,
            x0,
            gram,
            donor_mean,
            ridge: None,
        }
    }

    fn row(&self, i: usize) -> &[f64] {
        &self.x0[i * self.t_len..(i + 1) * self.t_len]
    }

    /// The Gram matrix of the donors centred across donors period by period
    /// (`H G H` with `H = I − 11ᵀ/n₀`).
    fn centred_gram(&self) -> Vec<f64> {
        centre_gram(&self.gram, self.n0)
    }

    /// Turns on ridge augmentation with penalty `lambda`.
    pub(crate) fn set_ridge(&mut self, lambda: f64) -> Result<()> {
        let n = self.n0;
        let mut a = self.centred_gram();
        for i in 0..n {
            a[i * n + i] += lambda;
        }
        let (factor, _) = cholesky_regularised(&a, n).ok_or_else(|| {
            LiftError::Numerical("the ridge system could not be factorised".into())
        })?;
        self.ridge = Some(RidgeFactor { lambda, factor });
        Ok(())
    }

    /// The ridge penalty in use.
    pub(crate) fn ridge_lambda(&self) -> Option<f64> {
        self.ridge.as_ref().map(|r| r.lambda)
    }

    /// The target's mean over the fitting periods (0 without fixed effects).
    pub(crate) fn target_mean(&self, target: &[f64]) -> f64 {
        if self.fixed_effects {
            target[..self.fit_len].iter().sum::<f64>() / self.fit_len as f64
        } else {
            0.0
        }
    }

    /// `X₀ x₁` over the fitting periods for the de-meaned target.
    pub(crate) fn linear_term(&self, x1: &[f64]) -> Vec<f64> {
        (0..self.n0)
            .map(|i| dot(&self.row(i)[..self.fit_len], &x1[..self.fit_len]))
            .collect()
    }

    /// Fits the weights for `target` (length `t_len`, raw scale).
    pub(crate) fn fit(&self, target: &[f64], warm: Option<&[f64]>) -> Result<CoreFit> {
        let m1 = self.target_mean(target);
        let x1: Vec<f64> = target.iter().map(|v| v - m1).collect();
        let c = self.linear_term(&x1);
        self.fit_with(&x1, m1, &c, warm)
    }

    /// Fits with a precomputed de-meaned target `x1`, its mean `m1` and
    /// linear term `c`.
    pub(crate) fn fit_with(
        &self,
        x1: &[f64],
        m1: f64,
        c: &[f64],
        warm: Option<&[f64]>,
    ) -> Result<CoreFit> {
        let synth = simplex_least_squares(&self.gram, c, self.n0, warm)?;
        let weights = match &self.ridge {
            None => synth.clone(),
            Some(r) => {
                let mut w = self.ridge_correction(x1, &synth, &r.factor);
                for (wi, si) in w.iter_mut().zip(&synth) {
                    *wi += si;
                }
                w
            }
        };
        let mut counterfactual = vec![m1; self.t_len];
        for (i, &w) in weights.iter().enumerate() {
            if w != 0.0 {
                for (cf, x) in counterfactual.iter_mut().zip(self.row(i)) {
                    *cf += w * x;
                }
            }
        }
        let mut l2 = 0.0;
        let mut unif = 0.0;
        for t in 0..self.fit_len {
            let gap = x1[t] - (counterfactual[t] - m1);
            l2 += gap * gap;
            let ugap = x1[t] - self.donor_mean[t];
            unif += ugap * ugap;
        }
        let l2 = l2.sqrt();
        let unif = unif.sqrt();
        let scaled_l2 = if unif > 0.0 { l2 / unif } else { 0.0 };
        Ok(CoreFit {
            weights,
            synth_weights: synth,
            counterfactual,
            l2,
            scaled_l2,
        })
    }

    /// `(H G H + λI)⁻¹ H X₀ r` with `r` the pre-period gap left by `synth`.
    fn ridge_correction(&self, x1: &[f64], synth: &[f64], factor: &[f64]) -> Vec<f64> {
        let n = self.n0;
        let mut r = x1[..self.fit_len].to_vec();
        for (i, &w) in synth.iter().enumerate() {
            if w != 0.0 {
                for (rt, x) in r.iter_mut().zip(&self.row(i)[..self.fit_len]) {
                    *rt -= w * x;
                }
            }
        }
        let mut b: Vec<f64> = (0..n)
            .map(|i| dot(&self.row(i)[..self.fit_len], &r))
            .collect();
        let mean = b.iter().sum::<f64>() / n as f64;
        for v in &mut b {
            *v -= mean;
        }
        cholesky_solve(factor, n, &mut b);
        b
    }

    /// Chooses the ridge penalty by leave-one-period-out cross-validation
    /// with the one-standard-error rule (Ben-Michael, Feller & Rothstein
    /// 2021; augsynth's defaults: 21 penalties from the largest eigenvalue of
    /// the centred Gram matrix down to 1e-8 of it).
    pub(crate) fn cross_validate_ridge(&self, target: &[f64]) -> Result<f64> {
        let n = self.n0;
        let m1 = self.target_mean(target);
        let x1: Vec<f64> = target.iter().map(|v| v - m1).collect();
        let c_full = self.linear_term(&x1);
        let lambda_max = largest_eigenvalue(&self.centred_gram(), n);
        if lambda_max <= 0.0 {
            return Err(LiftError::insufficient(
                "The donors do not vary, so there is nothing for a ridge correction to use.",
            ));
        }
        let scaler = 1e-8f64.powf(1.0 / 20.0);
        let lambdas: Vec<f64> = (0..=20).map(|k| lambda_max * scaler.powi(k)).collect();
        let folds = self.fit_len;
        let mut errors = vec![vec![0.0; lambdas.len()]; folds];
        let mut warm: Option<Vec<f64>> = None;
        for (i, fold_errors) in errors.iter_mut().enumerate() {
            // Gram matrix and linear term without period i.
            let xi: Vec<f64> = (0..n).map(|d| self.row(d)[i]).collect();
            let mut g = self.gram.clone();
            for a in 0..n {
                for b in 0..n {
                    g[a * n + b] -= xi[a] * xi[b];
                }
            }
            let c: Vec<f64> = (0..n).map(|a| c_full[a] - xi[a] * x1[i]).collect();
            let syn = simplex_least_squares(&g, &c, n, warm.as_deref())?;
            let mut b = vec![0.0; n];
            for (d, bd) in b.iter_mut().enumerate() {
                let row = &self.row(d)[..self.fit_len];
                let mut s = 0.0;
                for t in 0..self.fit_len {
                    if t == i {
                        continue;
                    }
                    let fitted: f64 = (0..n).map(|e| syn[e] * self.row(e)[t]).sum();
                    s += row[t] * (x1[t] - fitted);
                }
                *bd = s;
            }
            let mean = b.iter().sum::<f64>() / n as f64;
            for v in &mut b {
                *v -= mean;
            }
            let gc = centre_gram(&g, n);
            let held_fit: f64 = (0..n).map(|e| syn[e] * xi[e]).sum();
            for (j, &lambda) in lambdas.iter().enumerate() {
                let mut a = gc.clone();
                for k in 0..n {
                    a[k * n + k] += lambda;
                }
                let (f, _) = cholesky_regularised(&a, n).ok_or_else(|| {
                    LiftError::Numerical("the ridge system could not be factorised".into())
                })?;
                let mut wr = b.clone();
                cholesky_solve(&f, n, &mut wr);
                let pred = held_fit + dot(&wr, &xi);
                let e = x1[i] - pred;
                fold_errors[j] = e * e;
            }
            warm = Some(syn);
        }
        let k = folds as f64;
        let mut mean_err = vec![0.0; lambdas.len()];
        let mut se_err = vec![0.0; lambdas.len()];
        for j in 0..lambdas.len() {
            let m = errors.iter().map(|e| e[j]).sum::<f64>() / k;
            let var = errors.iter().map(|e| (e[j] - m).powi(2)).sum::<f64>() / (k - 1.0).max(1.0);
            mean_err[j] = m;
            se_err[j] = var.sqrt() / k.sqrt();
        }
        let best = (0..lambdas.len())
            .min_by(|&a, &b| mean_err[a].total_cmp(&mean_err[b]))
            .unwrap_or(0);
        let bound = mean_err[best] + se_err[best];
        Ok((0..lambdas.len())
            .filter(|&j| mean_err[j] <= bound)
            .map(|j| lambdas[j])
            .fold(lambdas[best], f64::max))
    }
}

fn centre_gram(g: &[f64], n: usize) -> Vec<f64> {
    let row_mean: Vec<f64> = (0..n)
        .map(|i| g[i * n..(i + 1) * n].iter().sum::<f64>() / n as f64)
        .collect();
    let total = row_mean.iter().sum::<f64>() / n as f64;
    let mut out = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            out[i * n + j] = g[i * n + j] - row_mean[i] - row_mean[j] + total;
        }
    }
    out
}

/// Fits a synthetic control: donor weights, per-period counterfactual, the
/// average effect on the treated (ATT), incremental outcome, lift and the
/// pre-period fit diagnostics.
pub fn fit_synthetic_control(
    panel: &Panel,
    spec: &SyntheticControlSpec,
) -> Result<SyntheticControlFit> {
    let resolved = Resolved::new(panel, spec)?;
    let target = resolved.treated_average(panel);
    let rows = resolved.donor_rows(panel);
    let fit_len = resolved.start - resolved.pre_start;
    let mut basis = DonorBasis::new(&rows, fit_len, spec.fixed_effects);
    let mut cross_validated = false;
    if let Augmentation::Ridge { lambda } = spec.augmentation {
        let lambda = match lambda {
            Some(l) if l.is_finite() && l > 0.0 => l,
            Some(l) => {
                return Err(LiftError::invalid(format!(
                    "The ridge penalty must be a positive number (got {l})."
                )));
            }
            None => {
                cross_validated = true;
                basis.cross_validate_ridge(&target)?
            }
        };
        basis.set_ridge(lambda)?;
    }
    let core = basis.fit(&target, None)?;
    Ok(assemble(
        panel,
        spec,
        &resolved,
        &basis,
        &target,
        &core,
        cross_validated,
    ))
}

pub(crate) fn assemble(
    panel: &Panel,
    spec: &SyntheticControlSpec,
    r: &Resolved,
    basis: &DonorBasis,
    target: &[f64],
    core: &CoreFit,
    cross_validated: bool,
) -> SyntheticControlFit {
    let fit_len = r.start - r.pre_start;
    let test_len = r.end - r.start;
    let k = r.treated.len() as f64;
    let periods: Vec<PeriodEstimate> = (0..target.len())
        .map(|t| PeriodEstimate {
            period: panel.periods()[r.pre_start + t].clone(),
            treated: t >= fit_len,
            observed: target[t],
            counterfactual: core.counterfactual[t],
            effect: target[t] - core.counterfactual[t],
        })
        .collect();
    let post = &periods[fit_len..];
    let obs_post: f64 = post.iter().map(|p| p.observed).sum();
    let cf_post: f64 = post.iter().map(|p| p.counterfactual).sum();
    let att = (obs_post - cf_post) / test_len as f64;
    let lift = if cf_post != 0.0 {
        (obs_post - cf_post) / cf_post.abs()
    } else {
        0.0
    };
    let diagnostics = diagnostics(&periods[..fit_len], core);
    let weights = named_weights(panel, &r.donors, &core.weights);
    let ridge = basis.ridge_lambda().map(|lambda| {
        // The plain counterfactual, to report the ridge's bias correction.
        let m1 = basis.target_mean(target);
        let plain_post: f64 = (fit_len..target.len())
            .map(|t| {
                m1 + core
                    .synth_weights
                    .iter()
                    .enumerate()
                    .map(|(i, w)| w * basis.x0[i * basis.t_len + t])
                    .sum::<f64>()
            })
            .sum();
        RidgeReport {
            lambda,
            cross_validated,
            synth_weights: named_weights(panel, &r.donors, &core.synth_weights),
            bias_correction: (cf_post - plain_post) / test_len as f64,
        }
    });
    let used: Vec<usize> = r.treated.iter().chain(&r.donors).copied().collect();
    let coverage = panel.coverage(&used, r.pre_start, r.end);
    let sufficiency = sufficiency(
        fit_len,
        test_len,
        r.treated.len(),
        r.donors.len(),
        coverage,
        &diagnostics,
    );
    SyntheticControlFit {
        spec: spec.clone(),
        weights,
        att,
        incremental: att * test_len as f64 * k,
        lift,
        observed_total: obs_post * k,
        counterfactual_total: cf_post * k,
        periods,
        diagnostics,
        sufficiency,
        ridge,
    }
}

fn named_weights(panel: &Panel, donors: &[usize], w: &[f64]) -> Vec<DonorWeight> {
    let mut out: Vec<DonorWeight> = donors
        .iter()
        .zip(w)
        .map(|(&d, &weight)| DonorWeight {
            unit: panel.units()[d].clone(),
            weight,
        })
        .collect();
    out.sort_by(|a, b| {
        b.weight
            .total_cmp(&a.weight)
            .then_with(|| a.unit.cmp(&b.unit))
    });
    out
}

fn diagnostics(pre: &[PeriodEstimate], core: &CoreFit) -> FitDiagnostics {
    let n = pre.len() as f64;
    let sse: f64 = pre.iter().map(|p| p.effect * p.effect).sum();
    let mean_obs = pre.iter().map(|p| p.observed).sum::<f64>() / n;
    let sst: f64 = pre.iter().map(|p| (p.observed - mean_obs).powi(2)).sum();
    let mae = pre.iter().map(|p| p.effect.abs()).sum::<f64>() / n;
    let sum_sq: f64 = core.weights.iter().map(|w| w * w).sum();
    FitDiagnostics {
        l2_imbalance: core.l2,
        scaled_l2_imbalance: core.scaled_l2,
        pre_rmse: (sse / n).sqrt(),
        pre_r_squared: if sst > 0.0 { 1.0 - sse / sst } else { 0.0 },
        pre_mape: if mean_obs != 0.0 {
            mae / mean_obs.abs()
        } else {
            0.0
        },
        donors_used: core.weights.iter().filter(|w| w.abs() > 1e-3).count(),
        max_weight: core.weights.iter().fold(0.0f64, |m, w| m.max(*w)),
        effective_donors: if sum_sq > 0.0 { 1.0 / sum_sq } else { 0.0 },
    }
}

fn sufficiency(
    pre: usize,
    test: usize,
    treated: usize,
    donors: usize,
    coverage: f64,
    diag: &FitDiagnostics,
) -> DataSufficiency {
    let mut warnings = Vec::new();
    if coverage < 0.99 {
        warnings.push(format!(
            "{:.1}% of the unit-days used were missing from the data and counted as zero.",
            (1.0 - coverage) * 100.0
        ));
    }
    if pre < 4 * test {
        warnings.push(format!(
            "The pre-period ({pre} periods) is shorter than four times the test window ({test}); the weights rest on little history."
        ));
    }
    if pre < 25 {
        warnings.push(format!(
            "Only {pre} pre-period observations fit the weights; GeoLift recommends at least 4–5 times the test length and 25 or more."
        ));
    }
    if donors < 5 {
        warnings.push(format!(
            "Only {donors} donor units: the synthetic control has little to choose from."
        ));
    }
    let total = pre + test;
    if (total as f64) * 0.1 < 1.0 {
        warnings.push(format!(
            "With {total} periods the permutation p-value cannot go below {:.3}.",
            1.0 / total as f64
        ));
    }
    if diag.scaled_l2_imbalance > 0.5 {
        warnings.push(format!(
            "The pre-period fit is poor (scaled L2 imbalance {:.2}): the donors do not track the treated units well.",
            diag.scaled_l2_imbalance
        ));
    }
    DataSufficiency {
        pre_periods: pre,
        test_periods: test,
        treated_units: treated,
        donors,
        coverage,
        smallest_p_value: 1.0 / total as f64,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy_panel() -> Panel {
        // Treated = 0.6 a + 0.4 b + 10 (a level shift fixed effects absorb),
        // plus an effect of +5 in the last three periods.
        let a = [10.0, 12.0, 9.0, 14.0, 11.0, 13.0, 10.0, 12.0, 15.0, 11.0];
        let b = [20.0, 18.0, 22.0, 19.0, 21.0, 17.0, 23.0, 20.0, 18.0, 22.0];
        let c = [5.0, 7.0, 6.0, 5.0, 8.0, 6.0, 7.0, 5.0, 6.0, 9.0];
        let treated: Vec<f64> = (0..10)
            .map(|t| 0.6 * a[t] + 0.4 * b[t] + 10.0 + if t >= 7 { 5.0 } else { 0.0 })
            .collect();
        Panel::new(
            vec!["a".into(), "b".into(), "c".into(), "t".into()],
            (1..=10).map(|t| t.to_string()).collect(),
            vec![a.to_vec(), b.to_vec(), c.to_vec(), treated],
        )
        .unwrap()
    }

    fn spec() -> SyntheticControlSpec {
        SyntheticControlSpec {
            treated: vec!["t".into()],
            treatment_start: 7,
            treatment_end: 10,
            pre_start: 0,
            fixed_effects: true,
            augmentation: Augmentation::None,
            excluded_donors: vec![],
        }
    }

    #[test]
    fn fixed_effects_recover_a_level_shifted_combination() {
        let fit = fit_synthetic_control(&toy_panel(), &spec()).unwrap();
        let w = |u: &str| fit.weights.iter().find(|d| d.unit == u).unwrap().weight;
        assert!((w("a") - 0.6).abs() < 1e-9, "{:?}", fit.weights);
        assert!((w("b") - 0.4).abs() < 1e-9);
        assert!(w("c").abs() < 1e-9);
        assert!((fit.att - 5.0).abs() < 1e-9, "att {}", fit.att);
        assert!((fit.incremental - 15.0).abs() < 1e-9);
        assert!(fit.diagnostics.l2_imbalance < 1e-9);
        assert!(fit.diagnostics.scaled_l2_imbalance < 1e-9);
    }

    #[test]
    fn without_fixed_effects_the_level_shift_is_not_absorbed() {
        let mut s = spec();
        s.fixed_effects = false;
        let fit = fit_synthetic_control(&toy_panel(), &s).unwrap();
        assert!(fit.diagnostics.l2_imbalance > 1.0);
    }

    #[test]
    fn ridge_weights_sum_to_one_and_shrink_the_imbalance() {
        // Treated outside the donors' hull: ridge can reach it, SC cannot.
        let mut p = toy_panel();
        let rows: Vec<Vec<f64>> = (0..4).map(|u| p.series(u).to_vec()).collect();
        let mut t = rows[3].clone();
        for (i, v) in t.iter_mut().enumerate() {
            *v += 1.5 * (rows[0][i] - rows[2][i]);
        }
        p = Panel::new(
            p.units().to_vec(),
            p.periods().to_vec(),
            vec![rows[0].clone(), rows[1].clone(), rows[2].clone(), t],
        )
        .unwrap();
        let plain = fit_synthetic_control(&p, &spec()).unwrap();
        let mut s = spec();
        s.augmentation = Augmentation::Ridge { lambda: Some(1.0) };
        let ridge = fit_synthetic_control(&p, &s).unwrap();
        let sum: f64 = ridge.weights.iter().map(|w| w.weight).sum();
        assert!((sum - 1.0).abs() < 1e-9);
        assert!(ridge.diagnostics.l2_imbalance < plain.diagnostics.l2_imbalance);
        assert!(ridge.ridge.is_some());
        s.augmentation = Augmentation::Ridge { lambda: None };
        let cv = fit_synthetic_control(&p, &s).unwrap();
        assert!(cv.ridge.as_ref().unwrap().cross_validated);
        assert!(cv.ridge.unwrap().lambda > 0.0);
    }

    #[test]
    fn bad_specs_are_refused_with_reasons() {
        let p = toy_panel();
        let mut s = spec();
        s.treated = vec!["nowhere".into()];
        assert!(matches!(
            fit_synthetic_control(&p, &s),
            Err(LiftError::UnknownUnit(_))
        ));
        let mut s = spec();
        s.treatment_end = 11;
        assert!(fit_synthetic_control(&p, &s).is_err());
        let mut s = spec();
        s.excluded_donors = vec!["a".into(), "b".into(), "c".into()];
        assert!(matches!(
            fit_synthetic_control(&p, &s),
            Err(LiftError::InsufficientData(_))
        ));
    }
}
