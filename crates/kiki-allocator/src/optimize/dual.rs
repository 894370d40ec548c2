//! The Lagrangian dual: objective and constraint weights, the exact
//! per-platform best response on a Hill curve, and the bisections on the
//! budget multiplier `λ` and the target multiplier `μ`.

use super::*;

/// Objective and constraint weights: objective = Σ c_i·conv_i − d·Σx,
/// constraint G = Σ t_i·conv_i − r·Σx ≥ 0.
pub(super) struct Weights {
    pub(super) c: Vec<f64>,
    pub(super) d: f64,
    pub(super) t: Vec<f64>,
    pub(super) r: f64,
}

impl Weights {
    pub(super) fn new(v: &Valid) -> Self {
        let (c, d) = match v.objective {
            Objective::NetProfit => (v.lines.iter().map(|l| l.value * v.margin).collect(), 1.0),
            Objective::Revenue => (v.lines.iter().map(|l| l.value).collect(), 0.0),
            Objective::Conversions => (vec![1.0; v.lines.len()], 0.0),
        };
        let (t, r) = match v.target {
            Some(EfficiencyTarget::MaxCpa { max_cpa }) => {
                (vec![max_cpa.micros as f64 / 1e6; v.lines.len()], 1.0)
            }
            Some(EfficiencyTarget::MinRoas { min_roas }) => {
                (v.lines.iter().map(|l| l.value).collect(), min_roas)
            }
            None => (vec![0.0; v.lines.len()], 0.0),
        };
        Weights { c, d, t, r }
    }

    pub(super) fn objective_of(&self, i: usize, l: &Line, x: f64) -> f64 {
        self.c[i] * l.curve.conversions(x) - self.d * x
    }

    pub(super) fn constraint_of(&self, i: usize, l: &Line, x: f64) -> f64 {
        self.t[i] * l.curve.conversions(x) - self.r * x
    }
}

/// `ln(1 + e^z)` without overflow.
pub(super) fn softplus(z: f64) -> f64 {
    z.max(0.0) + (-z.abs()).exp().ln_1p()
}

/// Solves `g(u) = tau` for `u = x/k` on the decreasing branch of
/// `g(u) = s·u^(s−1) / (1 + u^s)²` (the Hill derivative times `k`). `None`
/// when `tau` is above every value of the branch.
pub(super) fn solve_marginal(s: f64, tau: f64) -> Option<f64> {
    if tau.is_nan() || tau <= 0.0 || tau.is_infinite() {
        return None;
    }
    if s == 1.0 {
        return (tau < 1.0).then(|| 1.0 / tau.sqrt() - 1.0);
    }
    let target = tau.ln();
    let phi = |w: f64| s.ln() + (s - 1.0) * w - 2.0 * softplus(s * w);
    let w_min = if s > 1.0 {
        let w = ((s - 1.0) / (s + 1.0)).ln() / s;
        if phi(w) <= target {
            return None;
        }
        w
    } else {
        f64::NEG_INFINITY
    };
    // Start right of the root, where phi < target (phi ~ ln s − (s+1)w).
    let mut w =
        ((s.ln() - target) / (s + 1.0)).max(if w_min.is_finite() { w_min } else { -700.0 }) + 1.0;
    let mut guard = 0;
    while phi(w) >= target && guard < 200 {
        w += 1.0 + w.abs();
        guard += 1;
    }
    for _ in 0..100 {
        let h = 1.0 / (1.0 + (-s * w).exp());
        let slope = (s - 1.0) - 2.0 * s * h;
        if slope >= 0.0 {
            break;
        }
        let next = (w - (phi(w) - target) / slope).max(w_min);
        let done = (next - w).abs() <= 1e-14 * (1.0 + w.abs());
        w = next;
        if done {
            break;
        }
    }
    let u = w.exp();
    u.is_finite().then_some(u)
}

/// The platform's best response: argmax over `[lo, hi]` of `a·conv(x) − b·x`.
pub(super) fn best_response(l: &Line, a: f64, b: f64) -> f64 {
    let big_a = a * l.curve.max_conversions;
    if big_a <= 0.0 || l.hi <= l.lo {
        return l.lo;
    }
    if b <= 0.0 {
        return l.hi;
    }
    let hill = l.curve.hill;
    let k = hill.half_saturation;
    let interior = solve_marginal(hill.shape, b * k / big_a).map(|u| (k * u).clamp(l.lo, l.hi));
    if hill.shape <= 1.0 {
        // Concave: the clamped stationary point is optimal, or the lower
        // bound when even the first unit returns less than b.
        return interior.unwrap_or(l.lo);
    }
    let value = |x: f64| big_a * hill.value(x) - b * x;
    let mut best = l.lo;
    let mut best_value = value(l.lo);
    for x in [interior, Some(l.hi)].into_iter().flatten() {
        let v = value(x);
        if v > best_value {
            best = x;
            best_value = v;
        }
    }
    best
}

pub(super) struct Dual {
    pub(super) x: Vec<f64>,
    pub(super) lambda: f64,
    pub(super) target_met: Option<bool>,
}

pub(super) fn respond(v: &Valid, w: &Weights, mu: f64, lambda: f64) -> Vec<f64> {
    v.lines
        .iter()
        .enumerate()
        .map(|(i, l)| best_response(l, w.c[i] + mu * w.t[i], w.d + mu * w.r + lambda))
        .collect()
}

/// For a fixed target price `mu`, the allocation that spends at most the
/// budget, and its budget multiplier.
pub(super) fn solve_budget(v: &Valid, w: &Weights, mu: f64) -> (Vec<f64>, f64) {
    let sum = |x: &[f64]| x.iter().sum::<f64>();
    let lo_total: f64 = v.lines.iter().map(|l| l.lo).sum();
    if lo_total >= v.budget * (1.0 - 1e-12) {
        return (v.lines.iter().map(|l| l.lo).collect(), f64::INFINITY);
    }
    let fits = |x: &[f64]| sum(x) <= v.budget * (1.0 + 1e-12);
    let x0 = respond(v, w, mu, 0.0);
    if fits(&x0) {
        return (x0, 0.0);
    }
    // Bracket λ: `lo` overspends, `hi` fits.
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    let mut x_hi = respond(v, w, mu, hi);
    while !fits(&x_hi) && hi < 1e300 {
        lo = hi;
        hi *= 16.0;
        x_hi = respond(v, w, mu, hi);
    }
    if lo == 0.0 {
        lo = hi;
        loop {
            lo /= 16.0;
            if lo < 1e-300 || !fits(&respond(v, w, mu, lo)) {
                break;
            }
            hi = lo;
        }
        x_hi = respond(v, w, mu, hi);
    }
    for _ in 0..200 {
        if hi / lo < 1.0 + 1e-13 {
            break;
        }
        let mid = (lo * hi).sqrt();
        let x = respond(v, w, mu, mid);
        if fits(&x) {
            hi = mid;
            x_hi = x;
        } else {
            lo = mid;
        }
    }
    (x_hi, hi)
}

pub(super) fn constraint(v: &Valid, w: &Weights, x: &[f64]) -> f64 {
    v.lines
        .iter()
        .enumerate()
        .map(|(i, l)| w.constraint_of(i, l, x[i]))
        .sum()
}

pub(super) fn objective(v: &Valid, w: &Weights, x: &[f64]) -> f64 {
    v.lines
        .iter()
        .enumerate()
        .map(|(i, l)| w.objective_of(i, l, x[i]))
        .sum()
}

pub(super) fn tolerance(v: &Valid) -> f64 {
    1e-9 * v.budget.max(1.0)
}

/// The dual solution: budget multiplier by bisection, target multiplier by
/// an outer bisection when the target binds.
pub(super) fn solve_dual(v: &Valid, w: &Weights) -> Dual {
    let (x, lambda) = solve_budget(v, w, 0.0);
    if v.target.is_none() {
        return Dual {
            x,
            lambda,
            target_met: None,
        };
    }
    let tol = tolerance(v);
    if constraint(v, w, &x) >= -tol {
        return Dual {
            x,
            lambda,
            target_met: Some(true),
        };
    }
    let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
    let mut best = solve_budget(v, w, hi);
    while constraint(v, w, &best.0) < -tol {
        if hi > 1e12 {
            // Even an allocation priced almost only by the target misses it:
            // return that most efficient allocation.
            return Dual {
                x: best.0,
                lambda: best.1,
                target_met: Some(false),
            };
        }
        lo = hi;
        hi *= 16.0;
        best = solve_budget(v, w, hi);
    }
    for _ in 0..200 {
        if hi - lo <= 1e-10 * hi {
            break;
        }
        let mid = if lo == 0.0 {
            hi / 16.0
        } else {
            (lo * hi).sqrt()
        };
        let mid = if lo == 0.0 && mid < 1e-12 {
            (lo + hi) / 2.0
        } else {
            mid
        };
        let trial = solve_budget(v, w, mid);
        if constraint(v, w, &trial.0) >= -tol {
            hi = mid;
            best = trial;
        } else {
            lo = mid;
        }
    }
    Dual {
        x: best.0,
        lambda: best.1,
        target_met: Some(true),
    }
}
