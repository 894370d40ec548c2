//! Maximum-likelihood fitting shared by every model: L-BFGS (argmin) over
//! log-parameters with a Nelder-Mead fallback, an optional L2 penalizer,
//! and standard errors from the observed information (the Hessian of the
//! negative log-likelihood at the optimum, delta method back to the natural
//! parameters).

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::ops::Range;

use argmin::core::{CostFunction, Executor, Gradient, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::neldermead::NelderMead;
use argmin::solver::quasinewton::LBFGS;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::TimeUnit;
use crate::error::LtvError;

/// How a fit is run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct FitOptions {
    /// The unit recency and T are counted in; stored with the model so
    /// predictions convert horizons correctly.
    pub time_unit: TimeUnit,
    /// L2 penalty λ·Σθ² added to the mean negative log-likelihood, with
    /// rate parameters measured on a time scale where the oldest customer
    /// has T = 10 (the convention of the `lifetimes` package). 0 = plain MLE.
    pub penalizer: f64,
    /// Cap on optimiser iterations per stage.
    pub max_iterations: u64,
    /// L-BFGS stops when the gradient norm of the mean objective, taken
    /// with respect to the log-parameters, falls below this.
    pub gradient_tolerance: f64,
    /// Starting values by parameter name; missing ones use the defaults.
    pub initial_params: Option<BTreeMap<String, f64>>,
    /// Compute standard errors from the Hessian (a few extra evaluations).
    pub std_errors: bool,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            time_unit: TimeUnit::Days,
            penalizer: 0.0,
            max_iterations: 1000,
            gradient_tolerance: 1e-9,
            initial_params: None,
            std_errors: true,
        }
    }
}

/// Where a running fit is, for progress bars and job status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FitStage {
    Lbfgs,
    NelderMead,
    StandardErrors,
}

/// One report of a running fit: sent after every objective evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FitProgress {
    pub stage: FitStage,
    /// Objective evaluations so far (each also computes the gradient).
    pub evaluations: u64,
    /// The best mean negative log-likelihood (plus penalty) seen so far.
    pub best_objective: f64,
    /// The iteration cap of the current stage, for a progress bar.
    pub max_iterations: u64,
}

/// The optimiser that produced the final estimate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Optimizer {
    Lbfgs,
    /// L-BFGS did not converge; Nelder-Mead was run and L-BFGS restarted
    /// from its result.
    NelderMeadThenLbfgs,
}

/// A weighted log-likelihood over collapsed rows.
pub(crate) trait Objective: Sync {
    fn dim(&self) -> usize;
    /// Whether [`Objective::log_likelihood`] fills in the gradient.
    fn analytic_gradient(&self) -> bool;
    fn total_weight(&self) -> f64;
    /// Σ w·ln L at natural parameters θ, and ∂/∂θ into `grad` when the
    /// objective has an analytic gradient. `None` when the value is not
    /// finite at θ.
    fn log_likelihood(&self, theta: &[f64], grad: Option<&mut [f64]>) -> Option<f64>;
}

/// Rows per parallel chunk: below a few chunks the threads cost more than
/// they save. Fixed chunks and an ordered sum keep results identical
/// whatever the thread count.
const CHUNK: usize = 16_384;

/// Sums `f` over `0..n` in fixed chunks, in parallel when large.
pub(crate) fn chunked_sum<const N: usize>(
    n: usize,
    f: impl Fn(Range<usize>) -> [f64; N] + Sync,
) -> [f64; N] {
    if n <= 2 * CHUNK {
        return f(0..n);
    }
    let starts: Vec<usize> = (0..n).step_by(CHUNK).collect();
    let parts: Vec<[f64; N]> = starts
        .par_iter()
        .map(|&s| f(s..(s + CHUNK).min(n)))
        .collect();
    let mut total = [0.0; N];
    for p in parts {
        for (t, v) in total.iter_mut().zip(p) {
            *t += v;
        }
    }
    total
}

/// What [`maximize`] found.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub theta: Vec<f64>,
    pub log_likelihood: f64,
    pub iterations: u64,
    pub evaluations: u64,
    pub converged: bool,
    pub optimizer: Optimizer,
    pub std_errors: Option<Vec<f64>>,
}

/// The fit problem in log-parameter space: φ = ln θ, objective
/// f(φ) = −Σw·ln L / Σw + λ Σ (s_k θ_k)².
struct LogProblem<'a> {
    obj: &'a dyn Objective,
    penalizer: f64,
    penalty_scale: &'a [f64],
    weight: f64,
    evaluations: Cell<u64>,
    best: Cell<f64>,
    /// Evaluations in a row that did not improve the best value.
    stalled: Cell<u32>,
    stage: Cell<(FitStage, u64)>,
    cache: RefCell<Option<Evaluation>>,
    progress: RefCell<&'a mut dyn FnMut(FitProgress)>,
}

/// The last point evaluated: (φ, objective, gradient).
type Evaluation = (Vec<f64>, f64, Vec<f64>);

/// Log-parameters beyond this are treated as divergence (θ < 1e-17 or
/// θ > 2e17): the likelihood there is flat to machine precision.
const MAX_LOG_PARAM: f64 = 40.0;

impl LogProblem<'_> {
    fn value(&self, phi: &[f64]) -> Option<f64> {
        if phi
            .iter()
            .any(|p| !p.is_finite() || p.abs() > MAX_LOG_PARAM)
        {
            return None;
        }
        let theta: Vec<f64> = phi.iter().map(|p| p.exp()).collect();
        let ll = self.obj.log_likelihood(&theta, None)?;
        let f = -ll / self.weight + self.penalty(&theta);
        f.is_finite().then_some(f)
    }

    fn penalty(&self, theta: &[f64]) -> f64 {
        if self.penalizer == 0.0 {
            return 0.0;
        }
        self.penalizer
            * theta
                .iter()
                .zip(self.penalty_scale)
                .map(|(t, s)| (t * s) * (t * s))
                .sum::<f64>()
    }

    /// Objective and gradient with respect to φ, remembered for the last
    /// point because argmin asks for the cost and the gradient separately.
    fn value_and_gradient(&self, phi: &[f64]) -> Option<(f64, Vec<f64>)> {
        if let Some((p, f, g)) = self.cache.borrow().as_ref()
            && p.as_slice() == phi
        {
            return Some((*f, g.clone()));
        }
        let result = self.compute(phi)?;
        *self.cache.borrow_mut() = Some((phi.to_vec(), result.0, result.1.clone()));
        Some(result)
    }

    fn compute(&self, phi: &[f64]) -> Option<(f64, Vec<f64>)> {
        if phi
            .iter()
            .any(|p| !p.is_finite() || p.abs() > MAX_LOG_PARAM)
        {
            return None;
        }
        let n = phi.len();
        let theta: Vec<f64> = phi.iter().map(|p| p.exp()).collect();
        let (f, grad) = if self.obj.analytic_gradient() {
            let mut g = vec![0.0; n];
            let ll = self.obj.log_likelihood(&theta, Some(&mut g))?;
            let f = -ll / self.weight + self.penalty(&theta);
            let grad: Vec<f64> = (0..n)
                .map(|k| {
                    let pen = 2.0
                        * self.penalizer
                        * self.penalty_scale[k]
                        * self.penalty_scale[k]
                        * theta[k];
                    (-g[k] / self.weight + pen) * theta[k]
                })
                .collect();
            (f, grad)
        } else {
            // Central differences; the step balances truncation (h²) and
            // rounding (ε/h) error near 1e-10.
            let f = self.value(phi)?;
            let mut grad = vec![0.0; n];
            let mut probe = phi.to_vec();
            for k in 0..n {
                let h = 1e-5 * phi[k].abs().max(1.0);
                probe[k] = phi[k] + h;
                let up = self.value(&probe)?;
                probe[k] = phi[k] - h;
                let down = self.value(&probe)?;
                probe[k] = phi[k];
                grad[k] = (up - down) / (2.0 * h);
            }
            (f, grad)
        };
        if !f.is_finite() || grad.iter().any(|g| !g.is_finite()) {
            return None;
        }
        self.report(f);
        Some((f, grad))
    }

    fn report(&self, f: f64) {
        let evaluations = self.evaluations.get() + 1;
        self.evaluations.set(evaluations);
        let best = self.best.get();
        if f < best - 4.0 * f64::EPSILON * best.abs() {
            self.stalled.set(0);
        } else {
            self.stalled.set(self.stalled.get() + 1);
        }
        if f < best {
            self.best.set(f);
        }
        let (stage, max_iterations) = self.stage.get();
        (self.progress.borrow_mut())(FitProgress {
            stage,
            evaluations,
            best_objective: self.best.get(),
            max_iterations,
        });
    }
}

fn diverged() -> argmin::core::Error {
    argmin::core::Error::msg("the likelihood is not finite at this point")
}

struct LbfgsProblem<'p, 'a>(&'p LogProblem<'a>);

/// A More-Thuente line search that meets only rounding noise near the
/// optimum can spend dozens of evaluations without progress; after this
/// many the search is ended and the best point kept.
const MAX_STALLED_EVALUATIONS: u32 = 12;

impl LbfgsProblem<'_, '_> {
    fn eval(&self, p: &[f64]) -> Result<(f64, Vec<f64>), argmin::core::Error> {
        let out = self.0.value_and_gradient(p).ok_or_else(diverged)?;
        if self.0.stalled.get() > MAX_STALLED_EVALUATIONS {
            return Err(argmin::core::Error::msg(
                "no progress beyond rounding noise",
            ));
        }
        Ok(out)
    }
}

impl CostFunction for LbfgsProblem<'_, '_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, p: &Vec<f64>) -> Result<f64, argmin::core::Error> {
        self.eval(p).map(|(f, _)| f)
    }
}

impl Gradient for LbfgsProblem<'_, '_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, p: &Vec<f64>) -> Result<Vec<f64>, argmin::core::Error> {
        self.eval(p).map(|(_, g)| g)
    }
}

struct SimplexProblem<'p, 'a>(&'p LogProblem<'a>);

impl CostFunction for SimplexProblem<'_, '_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, p: &Vec<f64>) -> Result<f64, argmin::core::Error> {
        // Nelder-Mead only compares values, so a diverged vertex is simply
        // the worst one.
        let f = self.0.value(p).unwrap_or(f64::INFINITY);
        if f.is_finite() {
            self.0.report(f);
        }
        Ok(f)
    }
}

struct StageResult {
    phi: Vec<f64>,
    iterations: u64,
}

fn run_lbfgs(
    problem: &LogProblem<'_>,
    start: Vec<f64>,
    options: &FitOptions,
) -> Result<StageResult, String> {
    problem.stage.set((FitStage::Lbfgs, options.max_iterations));
    problem.stalled.set(0);
    // Stop once an iteration changes the objective by no more than a few
    // units in the last place: past that point the line search only churns
    // on rounding noise (on a million customers the gradient cannot reach
    // 1e-9 for that reason).
    let f0 = problem
        .value_and_gradient(&start)
        .map_or(1.0, |(f, _)| f.abs().max(1.0));
    let linesearch = MoreThuenteLineSearch::new();
    let solver = LBFGS::new(linesearch, 10)
        .with_tolerance_grad(options.gradient_tolerance)
        .and_then(|s| s.with_tolerance_cost(4.0 * f64::EPSILON * f0))
        .map_err(|e| e.to_string())?;
    let result = Executor::new(LbfgsProblem(problem), solver)
        .configure(|state| state.param(start.clone()).max_iters(options.max_iterations))
        .timer(false)
        .run();
    match result {
        Ok(mut res) => {
            let iterations = res.state.get_iter();
            let phi = res.state.take_best_param().unwrap_or(start);
            Ok(StageResult { phi, iterations })
        }
        Err(e) => Err(e.to_string()),
    }
}

fn run_nelder_mead(
    problem: &LogProblem<'_>,
    start: &[f64],
    options: &FitOptions,
) -> Result<StageResult, String> {
    let n = start.len();
    let max_iterations = options.max_iterations.saturating_mul(n as u64 + 1);
    problem.stage.set((FitStage::NelderMead, max_iterations));
    let mut simplex = vec![start.to_vec()];
    for k in 0..n {
        let mut v = start.to_vec();
        v[k] += 0.5;
        simplex.push(v);
    }
    let solver = NelderMead::new(simplex)
        .with_sd_tolerance(1e-12)
        .map_err(|e| e.to_string())?;
    let mut res = Executor::new(SimplexProblem(problem), solver)
        .configure(|state| state.max_iters(max_iterations))
        .timer(false)
        .run()
        .map_err(|e| e.to_string())?;
    let iterations = res.state.get_iter();
    let phi = res
        .state
        .take_best_param()
        .ok_or_else(|| "Nelder-Mead returned no point".to_owned())?;
    Ok(StageResult { phi, iterations })
}

/// The largest absolute gradient component at which a fit counts as
/// converged: scipy's BFGS in `lifetimes` stops at 1e-7; L-BFGS here
/// aims lower and accepts this when the line search can improve no more.
const CONVERGED_GRADIENT: f64 = 1e-6;

/// Maximises the weighted log-likelihood. `start` and the result are
/// natural parameters; `penalty_scale` rescales each parameter inside the
/// penalty (time-rate parameters are put on the T_max = 10 scale).
pub(crate) fn maximize(
    obj: &dyn Objective,
    kind: &'static str,
    start: &[f64],
    penalty_scale: &[f64],
    options: &FitOptions,
    progress: &mut dyn FnMut(FitProgress),
) -> Result<Outcome, LtvError> {
    if !(options.penalizer.is_finite() && options.penalizer >= 0.0) {
        return Err(LtvError::InvalidOption {
            name: "penalizer",
            message: format!(
                "it must be a finite number of at least 0, not {}.",
                options.penalizer
            ),
        });
    }
    if !(options.gradient_tolerance.is_finite() && options.gradient_tolerance > 0.0)
        || options.max_iterations == 0
    {
        return Err(LtvError::InvalidOption {
            name: "gradient_tolerance",
            message: "the tolerance must be positive and at least one iteration allowed."
                .to_owned(),
        });
    }
    if start.len() != obj.dim() || penalty_scale.len() != obj.dim() {
        return Err(LtvError::InvalidOption {
            name: "initial_params",
            message: format!(
                "the model has {} parameters, but {} starting values were given.",
                obj.dim(),
                start.len()
            ),
        });
    }
    if let Some(bad) = start.iter().find(|v| !(v.is_finite() && **v > 0.0)) {
        return Err(LtvError::InvalidOption {
            name: "initial_params",
            message: format!("starting values must be positive and finite, not {bad}."),
        });
    }
    let problem = LogProblem {
        obj,
        penalizer: options.penalizer,
        penalty_scale,
        weight: obj.total_weight(),
        evaluations: Cell::new(0),
        best: Cell::new(f64::INFINITY),
        stalled: Cell::new(0),
        stage: Cell::new((FitStage::Lbfgs, options.max_iterations)),
        cache: RefCell::new(None),
        progress: RefCell::new(progress),
    };
    let phi0: Vec<f64> = start.iter().map(|v| v.ln()).collect();
    if problem.value_and_gradient(&phi0).is_none() {
        return Err(LtvError::FitFailed {
            kind,
            reason:
                "the likelihood is not finite at the starting values; give other initial_params."
                    .to_owned(),
        });
    }

    let first = run_lbfgs(&problem, phi0.clone(), options);
    let mut iterations = 0;
    let mut best = phi0.clone();
    if let Ok(stage) = &first {
        iterations += stage.iterations;
        best = stage.phi.clone();
    }
    let mut optimizer = Optimizer::Lbfgs;
    let mut grad_ok = gradient_small(&problem, &best);
    if !grad_ok {
        // L-BFGS stalled or diverged: a derivative-free search is slower
        // but does not need the curvature model that misled it, and a
        // second L-BFGS run from its result sharpens the estimate.
        optimizer = Optimizer::NelderMeadThenLbfgs;
        let from = if problem.value(&best).is_some() {
            best.clone()
        } else {
            phi0.clone()
        };
        let nm = run_nelder_mead(&problem, &from, options)
            .map_err(|reason| LtvError::FitFailed { kind, reason })?;
        iterations += nm.iterations;
        let mut candidate = nm.phi;
        if let Ok(polish) = run_lbfgs(&problem, candidate.clone(), options) {
            iterations += polish.iterations;
            if problem.value(&polish.phi) <= problem.value(&candidate) {
                candidate = polish.phi;
            }
        }
        if better(&problem, &candidate, &best) {
            best = candidate;
        }
        grad_ok = gradient_small(&problem, &best);
    }

    let theta: Vec<f64> = best.iter().map(|p| p.exp()).collect();
    let log_likelihood = obj
        .log_likelihood(&theta, None)
        .filter(|v| v.is_finite())
        .ok_or_else(|| LtvError::FitFailed {
            kind,
            reason: "the optimiser ended where the likelihood is not finite.".to_owned(),
        })?;
    let std_errors = if options.std_errors {
        problem.stage.set((FitStage::StandardErrors, 0));
        standard_errors(&problem, &best)
    } else {
        None
    };
    Ok(Outcome {
        theta,
        log_likelihood,
        iterations,
        evaluations: problem.evaluations.get(),
        converged: grad_ok,
        optimizer,
        std_errors,
    })
}

fn better(problem: &LogProblem<'_>, a: &[f64], b: &[f64]) -> bool {
    match (problem.value(a), problem.value(b)) {
        (Some(x), Some(y)) => x < y,
        (Some(_), None) => true,
        _ => false,
    }
}

fn gradient_small(problem: &LogProblem<'_>, phi: &[f64]) -> bool {
    problem
        .value_and_gradient(phi)
        .is_some_and(|(_, g)| g.iter().all(|v| v.abs() <= CONVERGED_GRADIENT))
}

/// Standard errors of θ: the inverse Hessian of the total negative
/// log-likelihood in φ = ln θ, mapped back by the delta method
/// (SE(θ) = θ·SE(φ)). `None` when the Hessian is not positive definite,
/// which means the optimum is flat or a boundary in some direction.
#[allow(clippy::needless_range_loop)] // reason: matrix code reads clearer with explicit (i, j) indexes
fn standard_errors(problem: &LogProblem<'_>, phi: &[f64]) -> Option<Vec<f64>> {
    let n = phi.len();
    let mut h = vec![vec![0.0; n]; n];
    if problem.obj.analytic_gradient() {
        let mut probe = phi.to_vec();
        for j in 0..n {
            let step = 1e-5 * phi[j].abs().max(1.0);
            probe[j] = phi[j] + step;
            let (_, up) = problem.compute(&probe)?;
            probe[j] = phi[j] - step;
            let (_, down) = problem.compute(&probe)?;
            probe[j] = phi[j];
            for i in 0..n {
                h[i][j] = (up[i] - down[i]) / (2.0 * step);
            }
        }
    } else {
        let f0 = problem.value(phi)?;
        let steps: Vec<f64> = phi.iter().map(|p| 1e-4 * p.abs().max(1.0)).collect();
        let at = |di: usize, si: f64, dj: usize, sj: f64| -> Option<f64> {
            let mut p = phi.to_vec();
            p[di] += si;
            p[dj] += sj;
            problem.value(&p)
        };
        for i in 0..n {
            let hi = steps[i];
            h[i][i] = (at(i, hi, i, 0.0)? - 2.0 * f0 + at(i, -hi, i, 0.0)?) / (hi * hi);
            for j in 0..i {
                let hj = steps[j];
                let v = (at(i, hi, j, hj)? - at(i, hi, j, -hj)? - at(i, -hi, j, hj)?
                    + at(i, -hi, j, -hj)?)
                    / (4.0 * hi * hj);
                h[i][j] = v;
                h[j][i] = v;
            }
        }
    }
    // Symmetrise and scale from the mean objective to the total.
    for i in 0..n {
        for j in 0..i {
            let v = 0.5 * (h[i][j] + h[j][i]);
            h[i][j] = v;
            h[j][i] = v;
        }
    }
    for row in h.iter_mut() {
        for v in row.iter_mut() {
            *v *= problem.weight;
        }
    }
    let inv = invert_spd(&h)?;
    let se: Vec<f64> = (0..n).map(|k| phi[k].exp() * inv[k][k].sqrt()).collect();
    se.iter().all(|v| v.is_finite()).then_some(se)
}

/// Inverse of a symmetric positive-definite matrix by Cholesky; `None`
/// when it is not positive definite.
#[allow(clippy::needless_range_loop)] // reason: matrix code reads clearer with explicit (i, j) indexes
pub(crate) fn invert_spd(a: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let n = a.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let d = a[i][i] - s;
                if !(d > 0.0 && d.is_finite()) {
                    return None;
                }
                l[i][j] = d.sqrt();
            } else {
                l[i][j] = (a[i][j] - s) / l[j][j];
            }
        }
    }
    // Solve L Lᵀ X = I column by column.
    let mut inv = vec![vec![0.0; n]; n];
    for col in 0..n {
        let mut y = vec![0.0; n];
        for i in 0..n {
            let rhs = if i == col { 1.0 } else { 0.0 };
            y[i] = (rhs - (0..i).map(|k| l[i][k] * y[k]).sum::<f64>()) / l[i][i];
        }
        for i in (0..n).rev() {
            let x_i = (y[i] - (i + 1..n).map(|k| l[k][i] * inv[k][col]).sum::<f64>()) / l[i][i];
            inv[i][col] = x_i;
        }
    }
    Some(inv)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Gaussian log-likelihood in disguise: ln L = −Σ (θ_k − c_k)² / 2
    /// per unit weight, maximised at θ = c.
    struct Bowl {
        centre: Vec<f64>,
        analytic: bool,
    }

    impl Objective for Bowl {
        fn dim(&self) -> usize {
            self.centre.len()
        }
        fn analytic_gradient(&self) -> bool {
            self.analytic
        }
        fn total_weight(&self) -> f64 {
            100.0
        }
        fn log_likelihood(&self, theta: &[f64], grad: Option<&mut [f64]>) -> Option<f64> {
            let ll = -theta
                .iter()
                .zip(&self.centre)
                .map(|(t, c)| 50.0 * (t - c) * (t - c))
                .sum::<f64>();
            if let Some(g) = grad {
                for (k, (t, c)) in theta.iter().zip(&self.centre).enumerate() {
                    g[k] = -100.0 * (t - c);
                }
            }
            Some(ll)
        }
    }

    #[test]
    fn lbfgs_finds_the_maximum_and_the_standard_errors_of_a_known_bowl() {
        for analytic in [true, false] {
            let bowl = Bowl {
                centre: vec![0.5, 3.0, 20.0],
                analytic,
            };
            let mut calls = 0;
            let out = maximize(
                &bowl,
                "test",
                &[1.0, 1.0, 1.0],
                &[1.0; 3],
                &FitOptions::default(),
                &mut |_| calls += 1,
            )
            .unwrap();
            for (t, c) in out.theta.iter().zip(&bowl.centre) {
                assert!(
                    (t - c).abs() < 1e-6 * c,
                    "{t} vs {c} (analytic = {analytic})"
                );
            }
            assert!(out.converged);
            assert!(calls > 0, "progress must be reported");
            // Total information is 100 per parameter, so SE = 0.1.
            let se = out.std_errors.unwrap();
            for s in se {
                assert!((s - 0.1).abs() < 1e-3, "se {s} (analytic = {analytic})");
            }
        }
    }

    #[test]
    fn penalizer_pulls_estimates_towards_zero() {
        let bowl = Bowl {
            centre: vec![2.0],
            analytic: true,
        };
        let opts = FitOptions {
            penalizer: 1.0,
            ..FitOptions::default()
        };
        let out = maximize(&bowl, "test", &[1.0], &[1.0], &opts, &mut |_| {}).unwrap();
        // Minimise (θ−2)²/2 + θ² → θ = 2/3.
        assert!((out.theta[0] - 2.0 / 3.0).abs() < 1e-6, "{}", out.theta[0]);
    }

    #[test]
    fn invalid_options_are_rejected_before_fitting() {
        let bowl = Bowl {
            centre: vec![2.0],
            analytic: true,
        };
        let opts = FitOptions {
            penalizer: -1.0,
            ..FitOptions::default()
        };
        let err = maximize(&bowl, "test", &[1.0], &[1.0], &opts, &mut |_| {}).unwrap_err();
        assert!(matches!(
            err,
            LtvError::InvalidOption {
                name: "penalizer",
                ..
            }
        ));
        let err = maximize(
            &bowl,
            "test",
            &[-1.0],
            &[1.0],
            &FitOptions::default(),
            &mut |_| {},
        )
        .unwrap_err();
        assert!(matches!(
            err,
            LtvError::InvalidOption {
                name: "initial_params",
                ..
            }
        ));
    }

    #[test]
    fn cholesky_inverse_matches_a_hand_inverse_and_rejects_indefinite_matrices() {
        let a = vec![vec![4.0, 2.0], vec![2.0, 3.0]];
        let inv = invert_spd(&a).unwrap();
        let expect = [[0.375, -0.25], [-0.25, 0.5]];
        for i in 0..2 {
            for j in 0..2 {
                assert!((inv[i][j] - expect[i][j]).abs() < 1e-12);
            }
        }
        assert!(invert_spd(&[vec![1.0, 2.0], vec![2.0, 1.0]]).is_none());
    }
}
