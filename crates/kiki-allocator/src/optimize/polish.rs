//! Local search from a starting allocation: pairwise budget transfers with
//! halving steps, for what the dual leaves on non-concave (S-shaped) curves.
//! Along a binding target a transfer is paired with a repair on one line:
//! less spend where the next unit costs more than the target allows, more
//! (within the budget) where it costs less.

use super::*;

/// Local search: moves spend between platforms (and in or out of the budget)
/// while the objective improves and the target stays met, halving the step
/// from `first_step` (at most a quarter of the budget; small to stay in the
/// start's basin).
pub(super) fn polish(
    v: &Valid,
    w: &Weights,
    mut x: Vec<f64>,
    keep_target: bool,
    first_step: f64,
    effort: Effort,
) -> Vec<f64> {
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
    let mut step = first_step.min(v.budget / 4.0);
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
                        // Spend after the move, for repairs that add.
                        let spent = total + if from.is_none() { d } else { 0.0 }
                            - if to.is_none() { d } else { 0.0 };
                        // A repair moves one line's spend: down where the
                        // next unit costs more than the target allows, up
                        // (within the budget) where it costs less. Rank the
                        // repairs by their linearised cost and refine only
                        // the two cheapest exactly.
                        let mut ranked: Vec<(f64, usize, f64)> = (0..n)
                            .flat_map(|k| [(k, -1.0), (k, 1.0)])
                            .filter_map(|(k, sign)| {
                                let (xk, _, _) = after(k);
                                let l = &v.lines[k];
                                let room = if sign < 0.0 {
                                    xk - l.lo
                                } else {
                                    (l.hi - xk).min(v.budget - spent)
                                };
                                let slope = sign * (w.t[k] * marg[k] - w.r);
                                let loss = sign * (w.d - w.c[k] * marg[k]);
                                (room > 0.0 && slope > 0.0 && slope.is_finite() && loss.is_finite())
                                    .then_some((deficit / slope * loss, k, sign))
                            })
                            .collect();
                        ranked.sort_by(|a, b| a.0.total_cmp(&b.0));
                        for &(estimate, k, sign) in ranked.iter().take(2) {
                            if estimate >= d_obj * 2.0 {
                                break;
                            }
                            let (xk, ok, ck) = after(k);
                            let l = &v.lines[k];
                            let room = if sign < 0.0 {
                                xk - l.lo
                            } else {
                                (l.hi - xk).min(v.budget - spent)
                            };
                            let slope = sign * (w.t[k] * l.curve.marginal_conversions(xk) - w.r);
                            if !(slope.is_finite() && slope > 0.0) {
                                continue;
                            }
                            // The smallest repair that restores the target:
                            // bracket from the linear estimate, then bisect.
                            let gained = |e: f64| w.constraint_of(k, l, xk + sign * e) - ck;
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
                            let e = sign * enough;
                            let (no, nc) =
                                (w.objective_of(k, l, xk + e), w.constraint_of(k, l, xk + e));
                            let gain = d_obj - (ok - no);
                            if gain > scale && (repair.is_none() || gain > net) {
                                net = gain;
                                repair = Some((k, e, (no, nc)));
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
                        x[k] += e;
                        total += e;
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

pub(super) fn better(a: f64, b: f64) -> bool {
    a > b + 1e-12 * (1.0 + b.abs())
}

/// How hard to polish: briefly when screening starting points (steps down
/// to 10⁻³ of the budget, a few passes per step, no paired moves along a
/// binding target), fully for the answer (down to 10⁻¹⁰, until no move
/// improves).
#[derive(Debug, Clone, Copy)]
pub(super) enum Effort {
    Screen,
    Finish,
}
