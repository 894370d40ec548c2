//! Small dense linear algebra on row-major `f64` slices: Cholesky
//! factorisation and solves for the symmetric positive (semi)definite
//! systems the estimators build (Gram matrices of at most a few hundred
//! donors). Nothing here allocates more than the factor.

/// The lower Cholesky factor of the `n × n` matrix `a` (row-major), with
/// `ridge` added to the diagonal; `None` when the matrix is not positive
/// definite even with that ridge.
pub(crate) fn cholesky(a: &[f64], n: usize, ridge: f64) -> Option<Vec<f64>> {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[i * n + j];
            if i == j {
                s += ridge;
            }
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    Some(l)
}

/// Solves `L Lᵀ x = b` in place, given the lower factor `l`.
pub(crate) fn cholesky_solve(l: &[f64], n: usize, b: &mut [f64]) {
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i * n + k] * b[k];
        }
        b[i] = s / l[i * n + i];
    }
    for i in (0..n).rev() {
        let mut s = b[i];
        for k in i + 1..n {
            s -= l[k * n + i] * b[k];
        }
        b[i] = s / l[i * n + i];
    }
}

/// Factorises a symmetric positive semidefinite matrix, adding the smallest
/// ridge (relative to its largest diagonal entry, from 1e-13 up) that makes
/// it positive definite. Returns the factor and the ridge used.
pub(crate) fn cholesky_regularised(a: &[f64], n: usize) -> Option<(Vec<f64>, f64)> {
    if n == 0 {
        return Some((Vec::new(), 0.0));
    }
    let scale = (0..n)
        .map(|i| a[i * n + i].abs())
        .fold(0.0f64, f64::max)
        .max(1e-300);
    if let Some(l) = cholesky(a, n, 0.0) {
        // Accept an exact factor only when it is well away from singular.
        let min_pivot = (0..n).map(|i| l[i * n + i]).fold(f64::INFINITY, f64::min);
        if min_pivot * min_pivot > scale * 1e-13 {
            return Some((l, 0.0));
        }
    }
    let mut ridge = scale * 1e-13;
    for _ in 0..12 {
        if let Some(l) = cholesky(a, n, ridge) {
            return Some((l, ridge));
        }
        ridge *= 100.0;
    }
    None
}

/// `y = A x` for the `rows × cols` row-major `a`.
pub(crate) fn mat_vec(a: &[f64], rows: usize, cols: usize, x: &[f64], y: &mut [f64]) {
    for (r, out) in y.iter_mut().enumerate().take(rows) {
        *out = dot(&a[r * cols..(r + 1) * cols], x);
    }
}

/// The dot product of two equally long slices.
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    // Four accumulators let the compiler vectorise; the order is fixed, so
    // the result does not depend on the machine's thread count.
    let mut acc = [0.0f64; 4];
    let chunks = a.len() / 4;
    for c in 0..chunks {
        let i = c * 4;
        acc[0] += a[i] * b[i];
        acc[1] += a[i + 1] * b[i + 1];
        acc[2] += a[i + 2] * b[i + 2];
        acc[3] += a[i + 3] * b[i + 3];
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for i in chunks * 4..a.len() {
        s += a[i] * b[i];
    }
    s
}

/// The largest eigenvalue of a symmetric positive semidefinite matrix, by
/// power iteration from a fixed, uneven start vector (deterministic; not the
/// all-ones vector, which is orthogonal to everything a centred Gram matrix
/// has to offer).
pub(crate) fn largest_eigenvalue(a: &[f64], n: usize) -> f64 {
    if n == 0 {
        return 0.0;
    }
    let mut v: Vec<f64> = (0..n)
        .map(|i| 1.0 + ((i * 7919) % 13) as f64 / 13.0)
        .collect();
    let mut w = vec![0.0; n];
    let mut lambda = 0.0;
    for _ in 0..500 {
        mat_vec(a, n, n, &v, &mut w);
        let norm = dot(&w, &w).sqrt();
        if norm == 0.0 {
            return 0.0;
        }
        let next = dot(&v, &w);
        for i in 0..n {
            v[i] = w[i] / norm;
        }
        if (next - lambda).abs() <= 1e-12 * next.abs() {
            return next;
        }
        lambda = next;
    }
    lambda
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_a_known_system() {
        // A = [[4, 2], [2, 3]], b = [2, 1] → x = [0.5, 0]
        let a = [4.0, 2.0, 2.0, 3.0];
        let l = cholesky(&a, 2, 0.0).unwrap();
        let mut b = [2.0, 1.0];
        cholesky_solve(&l, 2, &mut b);
        assert!((b[0] - 0.5).abs() < 1e-15 && b[1].abs() < 1e-15);
        assert!(cholesky(&[1.0, 2.0, 2.0, 1.0], 2, 0.0).is_none());
    }

    #[test]
    fn singular_matrices_get_a_tiny_ridge() {
        let a = [1.0, 1.0, 1.0, 1.0];
        let (_, ridge) = cholesky_regularised(&a, 2).unwrap();
        assert!(ridge > 0.0 && ridge < 1e-9);
    }

    #[test]
    fn power_iteration_finds_the_top_eigenvalue() {
        let a = [2.0, 1.0, 1.0, 2.0];
        assert!((largest_eigenvalue(&a, 2) - 3.0).abs() < 1e-9);
        // Top eigenvector (1, -1) is orthogonal to the all-ones vector.
        let centred = [1.0, -1.0, -1.0, 1.0];
        assert!((largest_eigenvalue(&centred, 2) - 2.0).abs() < 1e-9);
    }
}
