//! The solve driver: enumerates on/off patterns of S-shaped platforms,
//! compares the dual-plus-polish result with concentrated,
//! value-proportional and lattice starts, and keeps the best.

use super::*;

/// S-shaped platforms enumerated exhaustively up to this many (2^n
/// sub-problems); beyond it, single switches are searched greedily.
pub(super) const MAX_ENUMERATED: usize = 4;

/// Lattice points (of distinct patterns) polished as starting points.
pub(super) const LATTICE_STARTS: usize = 4;

/// The problem with S-shaped platform `i` either held at its minimum (off)
/// or kept on the concave part of its curve, past the inflection point (on).
pub(super) fn restricted(v: &Valid, s_shaped: &[usize], on: &[bool]) -> Option<Valid> {
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
/// coarsely. None of these need lie in the basin of the optimum when it
/// keeps a platform below its inflection point, or when a binding target
/// makes a platform worth buying only in a block; so the best lattice
/// points of distinct patterns (module `lattice`) are
/// polished too, each with steps of the lattice's size so that it stays in
/// its basin. The best of all is polished to the end.
pub(super) fn solve(v: &Valid) -> (Vec<f64>, f64, Option<bool>) {
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
    let mut screen = |x: Vec<f64>, lambda: f64, first_step: f64| {
        let x = polish(v, &w, x, keep_target, first_step, Effort::Screen);
        let value = objective(v, &w, &x);
        if best.as_ref().is_none_or(|b| better(value, b.0)) {
            best = Some((value, x, lambda));
        }
    };
    for (x, lambda) in starts {
        screen(x, lambda, v.budget / 4.0);
    }
    // The best lattice points, polished locally so that each stays in its
    // basin.
    if let Some(lattice) = Lattice::new(v, &w) {
        for x in lattice_starts(v, &lattice, LATTICE_STARTS) {
            screen(x, dual.lambda, 2.0 * lattice.step);
        }
    }
    match best {
        Some((_, x, lambda)) => (
            polish(v, &w, x, keep_target, 4e-3 * v.budget, Effort::Finish),
            lambda,
            v.target.map(|_| true),
        ),
        // No allocation meets the target: the dual's most efficient one.
        None => (dual.x, dual.lambda, dual.target_met),
    }
}

/// Everything on platform `i` (the others at their minimum), cut back until
/// the target holds; `None` when no such allocation meets it.
pub(super) fn concentrated(v: &Valid, w: &Weights, i: usize) -> Option<Vec<f64>> {
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
pub(super) fn proportional(v: &Valid) -> Vec<f64> {
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
