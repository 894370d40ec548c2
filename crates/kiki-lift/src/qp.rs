//! Least squares on the probability simplex — the synthetic-control weight
//! problem:
//!
//! ```text
//! minimise ½ wᵀ G w − cᵀ w   subject to   w ≥ 0,  Σ w = 1
//! ```
//!
//! with `G = X₀ X₀ᵀ` (the donors' Gram matrix over the fitting periods) and
//! `c = X₀ x₁`. Solved exactly by a primal active-set method (Nocedal &
//! Wright, *Numerical Optimization*, §16.5): start at the best single donor
//! (a vertex) or at a previous solution, solve the equality-constrained
//! problem on the free donors in closed form, step back to feasibility when a
//! weight would turn negative, and free the donor with the most negative
//! multiplier until none is left. Finite termination; the answer is the
//! optimum to rounding, not to an iterative solver's tolerance.

use crate::error::{LiftError, Result};
use crate::linalg::{cholesky_regularised, cholesky_solve};

/// Solves the simplex least-squares problem for the `n × n` Gram matrix
/// `gram` and linear term `c`. `warm`, when given and feasible, is the
/// starting point (a neighbouring problem's solution).
pub(crate) fn simplex_least_squares(
    gram: &[f64],
    c: &[f64],
    n: usize,
    warm: Option<&[f64]>,
) -> Result<Vec<f64>> {
    if n == 0 {
        return Err(LiftError::insufficient("There are no donors to weight."));
    }
    if n == 1 {
        return Ok(vec![1.0]);
    }
    let diag_scale = (0..n)
        .map(|i| gram[i * n + i].abs())
        .fold(0.0f64, f64::max)
        .max(f64::MIN_POSITIVE);
    let tol = 1e-11 * diag_scale.max(c.iter().fold(0.0f64, |m, v| m.max(v.abs())));

    let mut w = vec![0.0; n];
    let mut free = vec![false; n];
    match warm.filter(|w0| {
        w0.len() == n && w0.iter().all(|v| *v >= 0.0) && (w0.iter().sum::<f64>() - 1.0).abs() < 1e-9
    }) {
        Some(w0) => {
            let s: f64 = w0.iter().sum();
            for i in 0..n {
                w[i] = w0[i] / s;
                free[i] = w[i] > 0.0;
            }
        }
        None => {
            // The best single donor: minimises ½ G_jj − c_j.
            let j = (0..n)
                .min_by(|&a, &b| {
                    let fa = 0.5 * gram[a * n + a] - c[a];
                    let fb = 0.5 * gram[b * n + b] - c[b];
                    fa.total_cmp(&fb)
                })
                .unwrap_or(0);
            w[j] = 1.0;
            free[j] = true;
        }
    }

    let max_iter = 50 * n + 100;
    let mut idx: Vec<usize> = Vec::with_capacity(n);
    let mut sub = Vec::with_capacity(n * n);
    let mut u = Vec::with_capacity(n);
    let mut v = Vec::with_capacity(n);
    for _ in 0..max_iter {
        idx.clear();
        idx.extend((0..n).filter(|&i| free[i]));
        let m = idx.len();
        if m == 0 {
            return Err(LiftError::Numerical(
                "the simplex solver lost every donor".into(),
            ));
        }
        // Equality-constrained minimiser on the free set:
        // z = G⁻¹(c + μ1), μ chosen so that Σz = 1.
        sub.clear();
        for &a in &idx {
            for &b in &idx {
                sub.push(gram[a * n + b]);
            }
        }
        let (l, _) = cholesky_regularised(&sub, m).ok_or_else(|| {
            LiftError::Numerical("the donors' Gram matrix could not be factorised".into())
        })?;
        u.clear();
        u.extend(idx.iter().map(|&a| c[a]));
        v.clear();
        v.resize(m, 1.0);
        cholesky_solve(&l, m, &mut u);
        cholesky_solve(&l, m, &mut v);
        let su: f64 = u.iter().sum();
        let sv: f64 = v.iter().sum();
        if sv.abs() < f64::MIN_POSITIVE || !sv.is_finite() {
            return Err(LiftError::Numerical(
                "the simplex solver met a degenerate system".into(),
            ));
        }
        let mu = (1.0 - su) / sv;
        let z: Vec<f64> = (0..m).map(|k| u[k] + mu * v[k]).collect();

        if z.iter().any(|&zk| zk < 0.0) {
            // Step from w towards z until the first weight reaches zero.
            let mut alpha = 1.0f64;
            for (k, &a) in idx.iter().enumerate() {
                let p = z[k] - w[a];
                if p < 0.0 {
                    let step = w[a] / -p;
                    if step < alpha {
                        alpha = step;
                    }
                }
            }
            for (k, &a) in idx.iter().enumerate() {
                w[a] += alpha * (z[k] - w[a]);
            }
            // Drop the donors that reached zero (at least the blocking one).
            let mut dropped = false;
            for (k, &a) in idx.iter().enumerate() {
                let p = z[k] - w[a];
                if w[a] <= 1e-15 || (p < 0.0 && w[a] <= 1e-12) {
                    w[a] = 0.0;
                    free[a] = false;
                    dropped = true;
                }
            }
            if !dropped {
                // Rounding kept the blocking weight above zero: drop it.
                let blocking = idx
                    .iter()
                    .enumerate()
                    .filter(|(k, a)| z[*k] < w[**a])
                    .min_by(|(ka, a), (kb, b)| {
                        let ra = w[**a] / (w[**a] - z[*ka]);
                        let rb = w[**b] / (w[**b] - z[*kb]);
                        ra.total_cmp(&rb)
                    })
                    .map(|(_, a)| *a);
                if let Some(a) = blocking {
                    w[a] = 0.0;
                    free[a] = false;
                }
            }
            renormalise(&mut w);
            continue;
        }

        for (k, &a) in idx.iter().enumerate() {
            w[a] = z[k];
        }
        // Multipliers of the bounds at zero: λ_i = (G w − c)_i − μ.
        let mut best: Option<(usize, f64)> = None;
        for i in 0..n {
            if free[i] {
                continue;
            }
            let gi = crate::linalg::dot(&gram[i * n..(i + 1) * n], &w) - c[i];
            let lambda = gi - mu;
            if lambda < -tol && best.is_none_or(|(_, b)| lambda < b) {
                best = Some((i, lambda));
            }
        }
        match best {
            Some((i, _)) => free[i] = true,
            None => return Ok(w),
        }
    }
    Err(LiftError::Numerical(
        "the simplex solver did not settle within its iteration limit".into(),
    ))
}

fn renormalise(w: &mut [f64]) {
    let s: f64 = w.iter().sum();
    if s > 0.0 {
        for x in w.iter_mut() {
            *x /= s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gram_of(x: &[Vec<f64>]) -> Vec<f64> {
        let n = x.len();
        let mut g = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..n {
                g[i * n + j] = x[i].iter().zip(&x[j]).map(|(a, b)| a * b).sum();
            }
        }
        g
    }

    fn objective(g: &[f64], c: &[f64], w: &[f64]) -> f64 {
        let n = w.len();
        let mut f = 0.0;
        for i in 0..n {
            for j in 0..n {
                f += 0.5 * w[i] * g[i * n + j] * w[j];
            }
            f -= c[i] * w[i];
        }
        f
    }

    #[test]
    fn a_target_inside_the_hull_is_matched_exactly() {
        // Donors: three points in R^4; target = 0.2 a + 0.5 b + 0.3 c.
        let x = vec![
            vec![1.0, 0.0, 2.0, -1.0],
            vec![0.0, 1.0, -1.0, 3.0],
            vec![2.0, 2.0, 0.5, 0.0],
        ];
        let target: Vec<f64> = (0..4)
            .map(|t| 0.2 * x[0][t] + 0.5 * x[1][t] + 0.3 * x[2][t])
            .collect();
        let g = gram_of(&x);
        let c: Vec<f64> = x
            .iter()
            .map(|r| r.iter().zip(&target).map(|(a, b)| a * b).sum())
            .collect();
        let w = simplex_least_squares(&g, &c, 3, None).unwrap();
        for (got, want) in w.iter().zip([0.2, 0.5, 0.3]) {
            assert!((got - want).abs() < 1e-12, "{w:?}");
        }
    }

    #[test]
    fn a_target_outside_the_hull_lands_on_a_face_and_beats_every_vertex() {
        let x = vec![
            vec![1.0, 0.0, 0.0],
            vec![0.0, 1.0, 0.0],
            vec![0.0, 0.0, 1.0],
            vec![1.0, 1.0, 1.0],
        ];
        // Projection of (1, 1, -1) onto the simplex spanned by the rows: the
        // closest point is the midpoint of the first two donors.
        let target = [1.0, 1.0, -1.0];
        let g = gram_of(&x);
        let c: Vec<f64> = x
            .iter()
            .map(|r| r.iter().zip(&target).map(|(a, b)| a * b).sum())
            .collect();
        let w = simplex_least_squares(&g, &c, 4, None).unwrap();
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(w.iter().all(|v| *v >= 0.0));
        assert!(
            (w[0] - 0.5).abs() < 1e-12 && (w[1] - 0.5).abs() < 1e-12,
            "{w:?}"
        );
        let best = objective(&g, &c, &w);
        for j in 0..4 {
            let mut e = vec![0.0; 4];
            e[j] = 1.0;
            assert!(best <= objective(&g, &c, &e) + 1e-12);
        }
        // A warm start from another feasible point reaches the same answer.
        let w2 = simplex_least_squares(&g, &c, 4, Some(&[0.25, 0.25, 0.25, 0.25])).unwrap();
        for (a, b) in w.iter().zip(&w2) {
            assert!((a - b).abs() < 1e-12);
        }
    }

    #[test]
    fn more_donors_than_periods_still_solves() {
        // Five donors in two dimensions: the Gram matrix is singular.
        let x = vec![
            vec![0.0, 0.0],
            vec![1.0, 0.0],
            vec![0.0, 1.0],
            vec![1.0, 1.0],
            vec![0.5, 0.5],
        ];
        let target = [0.3, 0.6];
        let g = gram_of(&x);
        let c: Vec<f64> = x
            .iter()
            .map(|r| r.iter().zip(&target).map(|(a, b)| a * b).sum())
            .collect();
        let w = simplex_least_squares(&g, &c, 5, None).unwrap();
        let fit: Vec<f64> = (0..2)
            .map(|t| (0..5).map(|i| w[i] * x[i][t]).sum())
            .collect();
        assert!(
            (fit[0] - 0.3).abs() < 1e-9 && (fit[1] - 0.6).abs() < 1e-9,
            "{w:?}"
        );
    }
}
