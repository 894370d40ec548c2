//! The allocation optimiser.
//!
//! Method: Lagrangian relaxation with per-platform best responses. For a
//! budget multiplier `λ` (and, with a CPA/ROAS target, a second multiplier
//! `μ`) each platform independently maximises `A·h(x) − b·x` over its bounds;
//! total spend is monotone in `λ`, so bisection on `λ` (in log space) finds the
//! multiplier that spends exactly the budget, and an outer bisection on `μ`
//! finds the smallest price of the target that meets it. At the solution every
//! platform strictly inside its bounds has the same marginal return (the KKT
//! conditions), which is what Robyn's SLSQP/augmented-Lagrangian reaches on
//! the same problem, without a general-purpose solver.
//!
//! The per-platform step is exact: on the decreasing branch of the Hill
//! derivative, `h'(x) = b/A` is solved by Newton's method in `ln x` (the log of
//! the derivative is concave there, so Newton from the right converges
//! monotonically), in closed form for shape 1. For S-shaped curves (`s > 1`)
//! the objective is not concave: the best response compares the stationary
//! point with the corners (zero or minimum spend, and the maximum), and the
//! total spend may jump as `λ` moves. Whatever budget such a jump leaves, and
//! any other non-convexity, is handled by a local search (pairwise transfers
//! with halving steps) started from the dual solution and from the
//! value-proportional split; the better of the two is returned.

use kiki_core::Currency;
use kiki_twin::Platform;
use serde::{Deserialize, Serialize};

use crate::error::AllocError;
use crate::request::{AllocationRequest, EfficiencyTarget, Line, Objective, Valid};

/// Which bound a platform sits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BoundHit {
    Min,
    Max,
}

/// A constraint that holds with equality at the optimum: relaxing it would
/// improve the objective.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BindingConstraint {
    TotalBudget,
    MinBudget {
        platform: Platform,
        ad_set_id: Option<String>,
    },
    MaxBudget {
        platform: Platform,
        ad_set_id: Option<String>,
    },
    EfficiencyTarget,
}

/// One platform's share of the allocation and its marginal returns there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlatformAllocation {
    pub platform: Platform,
    pub ad_set_id: Option<String>,
    pub daily_budget_micros: i64,
    /// Expected conversions per day at this budget.
    pub expected_conversions: f64,
    /// Expected value per day at this budget, micros.
    pub expected_value_micros: i64,
    /// Extra conversions per extra unit (major) of daily spend.
    pub marginal_conversions: f64,
    /// Extra value per extra unit of spend; `null` when unbounded (zero spend
    /// on a curve steeper than linear at the origin).
    pub marginal_roas: Option<f64>,
    /// `marginal_roas − 1`: profit on the next unit of spend.
    pub marginal_roi: Option<f64>,
    /// Cost of the next conversion, micros; `null` when no further
    /// conversion can be bought.
    pub marginal_cpa_micros: Option<i64>,
    pub at_bound: Option<BoundHit>,
}

/// Totals of the allocation, per day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ExpectedOutcome {
    pub spend_micros: i64,
    pub conversions: f64,
    pub value_micros: i64,
    /// Value minus spend.
    pub net_profit_micros: i64,
    pub cpa_micros: Option<i64>,
    pub roas: Option<f64>,
}

/// The optimiser's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AllocationResult {
    pub currency: Currency,
    pub objective: Objective,
    pub allocations: Vec<PlatformAllocation>,
    pub expected: ExpectedOutcome,
    pub binding_constraints: Vec<BindingConstraint>,
    /// Whether the CPA/ROAS target is met; `null` without a target. When it
    /// cannot be met the allocation is the most efficient one found.
    pub target_met: Option<bool>,
    /// The budget's Lagrange multiplier: objective gained per extra unit of
    /// daily budget (0 when the budget does not bind).
    pub budget_shadow_price: f64,
}

/// Objective and constraint weights: objective = Σ c_i·conv_i − d·Σx,
/// constraint G = Σ t_i·conv_i − r·Σx ≥ 0.
struct Weights {
    c: Vec<f64>,
    d: f64,
    t: Vec<f64>,
    r: f64,
}

impl Weights {
    fn new(v: &Valid) -> Self {
        let (c, d) = match v.objective {
            Objective::NetProfit => (v.lines.iter().map(|l| l.value).collect(), 1.0),
            Objective::Revenue => (v.lines.iter().map(|l| l.value).collect(), 0.0),
            Objective::Conversions => (vec![1.0; v.lines.len()], 0.0),
        };
        let (t, r) = match v.target {
            Some(EfficiencyTarget::MaxCpa { max_cpa_micros }) => {
                (vec![max_cpa_micros as f64 / 1e6; v.lines.len()], 1.0)
            }
            Some(EfficiencyTarget::MinRoas { min_roas }) => {
                (v.lines.iter().map(|l| l.value).collect(), min_roas)
            }
            None => (vec![0.0; v.lines.len()], 0.0),
        };
        Weights { c, d, t, r }
    }

    fn objective_of(&self, i: usize, l: &Line, x: f64) -> f64 {
        self.c[i] * l.curve.conversions(x) - self.d * x
    }

    fn constraint_of(&self, i: usize, l: &Line, x: f64) -> f64 {
        self.t[i] * l.curve.conversions(x) - self.r * x
    }
}

/// `ln(1 + e^z)` without overflow.
fn softplus(z: f64) -> f64 {
    z.max(0.0) + (-z.abs()).exp().ln_1p()
}

/// Solves `g(u) = tau` for `u = x/k` on the decreasing branch of
/// `g(u) = s·u^(s−1) / (1 + u^s)²` (the Hill derivative times `k`). `None`
/// when `tau` is above every value of the branch.
fn solve_marginal(s: f64, tau: f64) -> Option<f64> {
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
fn best_response(l: &Line, a: f64, b: f64) -> f64 {
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

struct Dual {
    x: Vec<f64>,
    lambda: f64,
    target_met: Option<bool>,
}

fn respond(v: &Valid, w: &Weights, mu: f64, lambda: f64) -> Vec<f64> {
    v.lines
        .iter()
        .enumerate()
        .map(|(i, l)| best_response(l, w.c[i] + mu * w.t[i], w.d + mu * w.r + lambda))
        .collect()
}

/// For a fixed target price `mu`, the allocation that spends at most the
/// budget, and its budget multiplier.
fn solve_budget(v: &Valid, w: &Weights, mu: f64) -> (Vec<f64>, f64) {
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

fn constraint(v: &Valid, w: &Weights, x: &[f64]) -> f64 {
    v.lines
        .iter()
        .enumerate()
        .map(|(i, l)| w.constraint_of(i, l, x[i]))
        .sum()
}

fn objective(v: &Valid, w: &Weights, x: &[f64]) -> f64 {
    v.lines
        .iter()
        .enumerate()
        .map(|(i, l)| w.objective_of(i, l, x[i]))
        .sum()
}

fn tolerance(v: &Valid) -> f64 {
    1e-9 * v.budget.max(1.0)
}

/// The dual solution: budget multiplier by bisection, target multiplier by
/// an outer bisection when the target binds.
fn solve_dual(v: &Valid, w: &Weights) -> Dual {
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

/// Local search: moves spend between platforms (and in or out of the budget)
/// while the objective improves and the target stays met, halving the step.
fn polish(v: &Valid, w: &Weights, mut x: Vec<f64>, keep_target: bool, effort: Effort) -> Vec<f64> {
    let (min_step, max_passes, repairs) = match effort {
        Effort::Screen => (1e-3, 6, false),
        Effort::Finish => (1e-10, 100, true),
    };
    let n = x.len();
    let tol = tolerance(v);
    let mut obj: Vec<f64> = (0..n)
        .map(|i| w.objective_of(i, &v.lines[i], x[i]))
        .collect();
    let mut con: Vec<f64> = (0..n)
        .map(|i| w.constraint_of(i, &v.lines[i], x[i]))
        .collect();
    let mut total: f64 = x.iter().sum();
    let mut g: f64 = con.iter().sum();
    // Marginal conversions per line, for ranking repair cuts.
    let mut marg: Vec<f64> = (0..n)
        .map(|i| v.lines[i].curve.marginal_conversions(x[i]))
        .collect();
    let scale = 1e-12 * (1.0 + obj.iter().sum::<f64>().abs());
    let mut step = v.budget / 4.0;
    while step > v.budget * min_step {
        for _pass in 0..max_passes {
            let mut improved = false;
            // Try every (from, to) pair; `None` is "outside the budget".
            for from in (0..n).map(Some).chain([None]) {
                for to in (0..n).map(Some).chain([None]) {
                    if from == to {
                        continue;
                    }
                    let mut d = step;
                    if let Some(i) = from {
                        d = d.min(x[i] - v.lines[i].lo);
                    }
                    match to {
                        Some(j) => d = d.min(v.lines[j].hi - x[j]),
                        None if w.d == 0.0 => continue,
                        None => {}
                    }
                    if from.is_none() {
                        d = d.min(v.budget - total);
                    }
                    if d <= 0.0 {
                        continue;
                    }
                    let moved = |k: usize, nx: f64| {
                        (
                            w.objective_of(k, &v.lines[k], nx),
                            w.constraint_of(k, &v.lines[k], nx),
                        )
                    };
                    let (mut d_obj, mut d_con) = (0.0, 0.0);
                    let from_new = from.map(|i| {
                        let m = moved(i, x[i] - d);
                        d_obj += m.0 - obj[i];
                        d_con += m.1 - con[i];
                        m
                    });
                    let to_new = to.map(|j| {
                        let m = moved(j, x[j] + d);
                        d_obj += m.0 - obj[j];
                        d_con += m.1 - con[j];
                        m
                    });
                    if d_obj <= scale {
                        continue;
                    }
                    // A move that breaks the target may still be worth it
                    // together with a cut elsewhere that restores it: at the
                    // target's boundary the improving direction needs both.
                    let mut repair: Option<(usize, f64, (f64, f64))> = None;
                    let mut net = f64::NEG_INFINITY;
                    if keep_target && g + d_con < -tol {
                        if !repairs {
                            continue;
                        }
                        let deficit = -(g + d_con);
                        let after = |k: usize| {
                            let mut xk = x[k];
                            if from == Some(k) {
                                xk -= d;
                            }
                            if to == Some(k) {
                                xk += d;
                            }
                            let (o, c) = match (from, to) {
                                (Some(i), _) if i == k => from_new.unwrap_or((obj[k], con[k])),
                                (_, Some(j)) if j == k => to_new.unwrap_or((obj[k], con[k])),
                                _ => (obj[k], con[k]),
                            };
                            (xk, o, c)
                        };
                        // Rank the cuts by their linearised cost and
                        // refine only the two cheapest exactly.
                        let mut ranked: Vec<(f64, usize)> = (0..n)
                            .filter_map(|k| {
                                let (xk, _, _) = after(k);
                                let l = &v.lines[k];
                                let slope = w.r - w.t[k] * marg[k];
                                let loss = w.c[k] * marg[k] - w.d;
                                (xk > l.lo && slope > 0.0 && slope.is_finite() && loss.is_finite())
                                    .then_some((deficit / slope * loss, k))
                            })
                            .collect();
                        ranked.sort_by(|a, b| a.0.total_cmp(&b.0));
                        for &(estimate, k) in ranked.iter().take(2) {
                            if estimate >= d_obj * 2.0 {
                                break;
                            }
                            let (xk, ok, ck) = after(k);
                            let l = &v.lines[k];
                            let room = xk - l.lo;
                            let slope = w.r - w.t[k] * l.curve.marginal_conversions(xk);
                            if !(slope.is_finite() && slope > 0.0) {
                                continue;
                            }
                            // The smallest cut that restores the target:
                            // bracket from the linear estimate, then bisect.
                            let gained = |e: f64| w.constraint_of(k, l, xk - e) - ck;
                            let (mut short, mut enough) =
                                (0.0, (deficit / slope).clamp(room * 1e-12, room));
                            for _ in 0..64 {
                                if gained(enough) >= deficit || enough >= room {
                                    break;
                                }
                                short = enough;
                                enough = (enough * 2.0).min(room);
                            }
                            if gained(enough) < deficit {
                                continue;
                            }
                            for _ in 0..16 {
                                let mid = 0.5 * (short + enough);
                                if gained(mid) >= deficit {
                                    enough = mid;
                                } else {
                                    short = mid;
                                }
                            }
                            let (no, nc) = (
                                w.objective_of(k, l, xk - enough),
                                w.constraint_of(k, l, xk - enough),
                            );
                            let gain = d_obj - (ok - no);
                            if gain > scale && (repair.is_none() || gain > net) {
                                net = gain;
                                repair = Some((k, enough, (no, nc)));
                            }
                        }
                        if repair.is_none() {
                            continue;
                        }
                    }
                    if let (Some(i), Some(m)) = (from, from_new) {
                        x[i] -= d;
                        (obj[i], con[i]) = m;
                        marg[i] = v.lines[i].curve.marginal_conversions(x[i]);
                    } else {
                        total += d;
                    }
                    if let (Some(j), Some(m)) = (to, to_new) {
                        x[j] += d;
                        (obj[j], con[j]) = m;
                        marg[j] = v.lines[j].curve.marginal_conversions(x[j]);
                    } else {
                        total -= d;
                    }
                    g += d_con;
                    if let Some((k, e, (no, nc))) = repair {
                        x[k] -= e;
                        total -= e;
                        g += nc - con[k];
                        (obj[k], con[k]) = (no, nc);
                        marg[k] = v.lines[k].curve.marginal_conversions(x[k]);
                    }
                    improved = true;
                }
            }
            if !improved {
                break;
            }
        }
        step /= 2.0;
    }
    x
}

fn better(a: f64, b: f64) -> bool {
    a > b + 1e-12 * (1.0 + b.abs())
}

/// How hard to polish: briefly when screening starting points (steps down
/// to 10⁻³ of the budget, a few passes per step, no paired moves along a
/// binding target), fully for the answer (down to 10⁻¹⁰, until no move
/// improves).
#[derive(Debug, Clone, Copy)]
enum Effort {
    Screen,
    Finish,
}

/// S-shaped platforms enumerated exhaustively up to this many (2^n
/// sub-problems); beyond it, single switches are searched greedily.
const MAX_ENUMERATED: usize = 4;

/// The problem with S-shaped platform `i` either held at its minimum (off)
/// or kept on the concave part of its curve, past the inflection point (on).
fn restricted(v: &Valid, s_shaped: &[usize], on: &[bool]) -> Option<Valid> {
    let mut r = v.clone();
    for (&i, &is_on) in s_shaped.iter().zip(on) {
        let l = &mut r.lines[i];
        if is_on {
            let s = l.curve.hill.shape;
            let inflection = l.curve.hill.half_saturation * ((s - 1.0) / (s + 1.0)).powf(1.0 / s);
            l.lo = l.lo.max(inflection);
            if l.lo > l.hi {
                return None;
            }
        } else {
            l.hi = l.lo;
        }
    }
    let lo_total: f64 = r.lines.iter().map(|l| l.lo).sum();
    (lo_total <= r.budget).then_some(r)
}

/// Solves the problem in major units.
///
/// On concave curves the dual solution is exact and is the answer. With
/// S-shaped curves the problem is not concave, and a platform whose first
/// units are nearly worthless may still belong in the optimum (for example
/// to buy the cheap conversions that let a CPA target admit more spend
/// elsewhere). Starting points are then gathered — the dual solution, the
/// proportional split, the dual solution of each sub-problem where every
/// S-shaped platform is either off (at its minimum) or on (on the concave
/// part of its curve, where the dual method is exact again), and each
/// corner with as much as possible on one platform (below their inflection
/// points the curves are convex, so corners matter) — each is polished
/// coarsely, and the best is polished to the end.
fn solve(v: &Valid) -> (Vec<f64>, f64, Option<bool>) {
    let w = Weights::new(v);
    let dual = solve_dual(v, &w);
    let s_shaped: Vec<usize> = (0..v.lines.len())
        .filter(|&i| v.lines[i].curve.hill.shape > 1.0 && v.lines[i].hi > v.lines[i].lo)
        .collect();
    if s_shaped.is_empty() {
        return (dual.x, dual.lambda, dual.target_met);
    }
    let tol = tolerance(v);
    let feasible = |x: &[f64]| v.target.is_none() || constraint(v, &w, x) >= -tol;
    let mut starts: Vec<(Vec<f64>, f64)> = Vec::new();
    if feasible(&dual.x) {
        starts.push((dual.x.clone(), dual.lambda));
    }
    let split = proportional(v);
    if feasible(&split) {
        starts.push((split, dual.lambda));
    }
    let sub = |on: &[bool]| -> Option<(f64, Vec<f64>, f64)> {
        let r = restricted(v, &s_shaped, on)?;
        let d = solve_dual(&r, &Weights::new(&r));
        (d.target_met != Some(false) && feasible(&d.x))
            .then(|| (objective(v, &w, &d.x), d.x, d.lambda))
    };
    let m = s_shaped.len();
    if m <= MAX_ENUMERATED {
        for mask in 0..(1u32 << m) {
            let on: Vec<bool> = (0..m).map(|b| mask & (1 << b) != 0).collect();
            if let Some((_, x, lambda)) = sub(&on) {
                starts.push((x, lambda));
            }
        }
    } else {
        // Greedy: from all on and from all off, switch one platform at a
        // time while that improves.
        for start in [true, false] {
            let mut on = vec![start; m];
            let mut current = sub(&on);
            for _round in 0..m {
                let mut improved = false;
                for b in 0..m {
                    on[b] = !on[b];
                    let trial = sub(&on);
                    let wins = match (&trial, &current) {
                        (Some(t), Some(c)) => better(t.0, c.0),
                        (Some(_), None) => true,
                        _ => false,
                    };
                    if wins {
                        current = trial;
                        improved = true;
                    } else {
                        on[b] = !on[b];
                    }
                }
                if !improved {
                    break;
                }
            }
            if let Some((_, x, lambda)) = current {
                starts.push((x, lambda));
            }
        }
    }
    for &i in &s_shaped {
        if let Some(x) = concentrated(v, &w, i) {
            starts.push((x, dual.lambda));
        }
    }
    // Sub-problems often agree; polish each distinct start once.
    let same = |a: &[f64], b: &[f64]| {
        a.iter()
            .zip(b)
            .all(|(p, q)| (p - q).abs() <= 1e-9 * v.budget)
    };
    let mut distinct: Vec<(Vec<f64>, f64)> = Vec::with_capacity(starts.len());
    for s in starts {
        if !distinct.iter().any(|d| same(&d.0, &s.0)) {
            distinct.push(s);
        }
    }
    let starts = distinct;
    let keep_target = v.target.is_some();
    let mut best: Option<(f64, Vec<f64>, f64)> = None;
    for (x, lambda) in starts {
        let x = polish(v, &w, x, keep_target, Effort::Screen);
        let value = objective(v, &w, &x);
        if best.as_ref().is_none_or(|b| better(value, b.0)) {
            best = Some((value, x, lambda));
        }
    }
    match best {
        Some((_, x, lambda)) => (
            polish(v, &w, x, keep_target, Effort::Finish),
            lambda,
            v.target.map(|_| true),
        ),
        // No allocation meets the target: the dual's most efficient one.
        None => (dual.x, dual.lambda, dual.target_met),
    }
}

/// Everything on platform `i` (the others at their minimum), cut back until
/// the target holds; `None` when no such allocation meets it.
fn concentrated(v: &Valid, w: &Weights, i: usize) -> Option<Vec<f64>> {
    let mut x: Vec<f64> = v.lines.iter().map(|l| l.lo).collect();
    let others: f64 = x.iter().sum::<f64>() - x[i];
    let top = v.lines[i].hi.min(v.budget - others);
    let lo = v.lines[i].lo;
    if top <= lo {
        return None;
    }
    let feasible = |xi: f64, x: &mut Vec<f64>| {
        x[i] = xi;
        v.target.is_none() || constraint(v, w, x) >= -tolerance(v)
    };
    // The target along one platform need not be monotone: scan down from the
    // top for the first feasible level, then bisect up towards the next.
    const STEPS: usize = 64;
    let level = |k: usize| lo + (top - lo) * k as f64 / STEPS as f64;
    let k = (1..=STEPS).rev().find(|&k| feasible(level(k), &mut x))?;
    if k < STEPS {
        let (mut good, mut bad) = (level(k), level(k + 1));
        for _ in 0..50 {
            let mid = 0.5 * (good + bad);
            if feasible(mid, &mut x) {
                good = mid;
            } else {
                bad = mid;
            }
        }
        x[i] = good;
    } else {
        x[i] = top;
    }
    Some(x)
}

/// The published design's rule: budget in proportion to the value of a
/// conversion (LTV), within bounds; equal shares when every value is zero.
fn proportional(v: &Valid) -> Vec<f64> {
    let n = v.lines.len();
    let mut fixed: Vec<Option<f64>> = vec![None; n];
    for _ in 0..=2 * n {
        let free: Vec<usize> = (0..n).filter(|&i| fixed[i].is_none()).collect();
        if free.is_empty() {
            break;
        }
        let remaining = v.budget - fixed.iter().flatten().sum::<f64>();
        let weight: f64 = free.iter().map(|&i| v.lines[i].value).sum();
        let share = |i: usize| {
            if weight > 0.0 {
                remaining * v.lines[i].value / weight
            } else {
                remaining / free.len() as f64
            }
        };
        let lows: Vec<usize> = free
            .iter()
            .copied()
            .filter(|&i| share(i) < v.lines[i].lo)
            .collect();
        let highs: Vec<usize> = free
            .iter()
            .copied()
            .filter(|&i| share(i) > v.lines[i].hi)
            .collect();
        if !lows.is_empty() {
            lows.iter().for_each(|&i| fixed[i] = Some(v.lines[i].lo));
        } else if !highs.is_empty() {
            highs.iter().for_each(|&i| fixed[i] = Some(v.lines[i].hi));
        } else {
            free.iter().for_each(|&i| fixed[i] = Some(share(i)));
            break;
        }
    }
    fixed.into_iter().map(|x| x.unwrap_or(0.0)).collect()
}

/// Rounds to micros inside the bounds without exceeding the budget.
fn to_micros(v: &Valid, x: &[f64]) -> Vec<i64> {
    let lo: Vec<i64> = v
        .lines
        .iter()
        .map(|l| (l.lo * 1e6).round() as i64)
        .collect();
    let hi: Vec<i64> = v
        .lines
        .iter()
        .map(|l| (l.hi * 1e6).round() as i64)
        .collect();
    let mut m: Vec<i64> = x
        .iter()
        .enumerate()
        .map(|(i, &xi)| ((xi * 1e6).round() as i64).clamp(lo[i], hi[i]))
        .collect();
    let mut excess = m.iter().sum::<i64>() - v.budget_micros;
    while excess > 0 {
        // Take from the platform with the most room above its minimum.
        let Some(i) = (0..m.len()).max_by_key(|&i| m[i] - lo[i]) else {
            break;
        };
        let take = excess.min(m[i] - lo[i]);
        if take <= 0 {
            break;
        }
        m[i] -= take;
        excess -= take;
    }
    m
}

fn micros(x: f64, what: &'static str) -> Result<i64, AllocError> {
    let m = (x * 1e6).round();
    if m.is_finite() && m.abs() < 9.2e18 {
        Ok(m as i64)
    } else {
        Err(AllocError::OutOfRange { what })
    }
}

/// Allocates the budget. See the module documentation for the method.
pub fn allocate(request: &AllocationRequest) -> Result<AllocationResult, AllocError> {
    let v = request.to_valid()?;
    let (x, lambda, target_met) = solve(&v);
    let budgets = to_micros(&v, &x);
    build(&v, request, &budgets, lambda, target_met)
}

/// The LTV-proportional split of the published design (budget × LTV_i / Σ LTV,
/// within bounds), in micros; the baseline the optimiser must never lose to.
pub fn ltv_proportional_split(request: &AllocationRequest) -> Result<Vec<i64>, AllocError> {
    let v = request.to_valid()?;
    Ok(to_micros(&v, &proportional(&v)))
}

/// The objective value of an allocation in micros (for comparisons): net
/// profit, conversions or value per day, as the request's objective says.
pub fn objective_of(
    request: &AllocationRequest,
    budgets_micros: &[i64],
) -> Result<f64, AllocError> {
    let v = request.to_valid()?;
    let w = Weights::new(&v);
    let x: Vec<f64> = budgets_micros.iter().map(|&m| m as f64 / 1e6).collect();
    Ok(objective(&v, &w, &x))
}

fn build(
    v: &Valid,
    request: &AllocationRequest,
    budgets: &[i64],
    lambda: f64,
    target_met: Option<bool>,
) -> Result<AllocationResult, AllocError> {
    let mut allocations = Vec::with_capacity(budgets.len());
    let mut binding = Vec::new();
    let (mut conv_total, mut value_total) = (0.0, 0.0);
    for (i, l) in v.lines.iter().enumerate() {
        let input = &request.platforms[i];
        let m = budgets[i];
        let x = m as f64 / 1e6;
        let conv = l.curve.conversions(x);
        let marginal = l.curve.marginal_conversions(x);
        conv_total += conv;
        value_total += conv * l.value;
        let at_bound = if m == input.min_daily_budget_micros {
            Some(BoundHit::Min)
        } else if Some(m) == input.max_daily_budget_micros {
            Some(BoundHit::Max)
        } else {
            None
        };
        match at_bound {
            Some(BoundHit::Min) if input.min_daily_budget_micros > 0 => {
                binding.push(BindingConstraint::MinBudget {
                    platform: l.platform,
                    ad_set_id: l.ad_set_id.clone(),
                })
            }
            Some(BoundHit::Max) => binding.push(BindingConstraint::MaxBudget {
                platform: l.platform,
                ad_set_id: l.ad_set_id.clone(),
            }),
            _ => {}
        }
        let marginal_roas = (marginal * l.value)
            .is_finite()
            .then_some(marginal * l.value);
        allocations.push(PlatformAllocation {
            platform: l.platform,
            ad_set_id: l.ad_set_id.clone(),
            daily_budget_micros: m,
            expected_conversions: conv,
            expected_value_micros: micros(conv * l.value, "value")?,
            marginal_conversions: if marginal.is_finite() {
                marginal
            } else {
                f64::MAX
            },
            marginal_roas,
            marginal_roi: marginal_roas.map(|r| r - 1.0),
            marginal_cpa_micros: if marginal > 0.0 {
                Some(micros(1.0 / marginal, "marginal CPA")?)
            } else {
                None
            },
            at_bound,
        });
    }
    let spend: i64 = budgets.iter().sum();
    let n = budgets.len() as i64;
    if spend >= v.budget_micros - n {
        binding.insert(0, BindingConstraint::TotalBudget);
    }
    if target_met == Some(true) {
        let w = Weights::new(v);
        let x: Vec<f64> = budgets.iter().map(|&m| m as f64 / 1e6).collect();
        if constraint(v, &w, &x).abs() <= 1e-6 * v.budget.max(1.0) {
            binding.push(BindingConstraint::EfficiencyTarget);
        }
    }
    let spend_major = spend as f64 / 1e6;
    let budget_shadow_price =
        if lambda.is_finite() && binding.contains(&BindingConstraint::TotalBudget) {
            lambda
        } else {
            0.0
        };
    Ok(AllocationResult {
        currency: v.currency,
        objective: v.objective,
        allocations,
        expected: ExpectedOutcome {
            spend_micros: spend,
            conversions: conv_total,
            value_micros: micros(value_total, "value")?,
            net_profit_micros: micros(value_total - spend_major, "net profit")?,
            cpa_micros: if conv_total > 0.0 {
                Some(micros(spend_major / conv_total, "CPA")?)
            } else {
                None
            },
            roas: (spend > 0).then(|| value_total / spend_major),
        },
        binding_constraints: binding,
        target_met,
        budget_shadow_price,
    })
}

#[cfg(test)]
mod tests;
