//! Trimmed Match for randomised paired geo experiments (Chen & Au 2022,
//! "Robust causal inference for incremental return on ad spend with
//! randomized paired geo experiments", Annals of Applied Statistics;
//! reference implementation google/trimmed_match).
//!
//! Each pair of geos gives `(Δresponse, Δspend)`, treated minus control.
//! For a candidate iROAS θ the pair residuals are `eᵢ = Δresponseᵢ − θ
//! Δspendᵢ`; the estimate solves "the trimmed mean of the residuals is
//! zero", trimming `⌈λn⌉` pairs from each tail, and among several roots
//! takes the one whose sorted residuals are most symmetric about zero. The
//! standard error is the winsorised-variance formula of the paper (eq. 8.2);
//! the trim rate, unless fixed, is the smallest candidate `k/n` whose
//! standard error is within `1 + 0.25/√n` of the smallest. The interval is
//! every θ whose studentised trimmed mean stays within the normal quantile
//! (eq. 5.6), found exactly: the order of the residuals only changes where
//! two pairs' residual lines cross, so between consecutive crossings the
//! condition is one quadratic inequality, solved in closed form.
//!
//! Spend is an `f64`: a statistical estimate, not a ledger amount.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal};

use crate::conformal::Interval;
use crate::error::{LiftError, Result};

/// Beyond this magnitude an iROAS bound counts as unbounded (as in the
/// reference implementation).
const IROAS_BOUND: f64 = 1e10;
/// An interval wider than this many standard errors is replaced by the
/// normal approximation with three times the quantile (the reference
/// implementation's rule for intervals the inequality leaves unbounded).
const EXTREME_WIDTH: f64 = 1e6;

/// One pair of geos: treated minus control.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeoPair {
    /// Treated geo's response minus the control geo's, over the test.
    pub delta_response: f64,
    /// Treated geo's spend minus the control geo's, over the test.
    pub delta_spend: f64,
}

impl GeoPair {
    /// A pair from the two geos' test-period totals.
    pub fn from_totals(
        treated_response: f64,
        control_response: f64,
        treated_spend: f64,
        control_spend: f64,
    ) -> Self {
        GeoPair {
            delta_response: treated_response - control_response,
            delta_spend: treated_spend - control_spend,
        }
    }
}

/// How much to trim.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TrimRate {
    /// Chosen from the data (the default).
    #[default]
    Auto,
    /// A fixed rate in `[0, max_trim_rate]`.
    Fixed {
        /// The share of pairs trimmed from each tail.
        rate: f64,
    },
}

/// A Trimmed Match analysis request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrimmedMatchInput {
    /// The geo pairs.
    pub pairs: Vec<GeoPair>,
    /// Trim rate.
    #[serde(default)]
    pub trim: TrimRate,
    /// Largest trim rate considered (default 0.25).
    #[serde(default = "default_max_trim")]
    pub max_trim_rate: f64,
    /// Two-sided interval level (default 0.9).
    #[serde(default = "default_confidence")]
    pub confidence: f64,
}

fn default_max_trim() -> f64 {
    0.25
}

fn default_confidence() -> f64 {
    0.9
}

/// The estimate at one candidate trim rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrimCandidate {
    /// Share of pairs trimmed from each tail.
    pub trim_rate: f64,
    /// iROAS at that rate.
    pub iroas: f64,
    /// Its standard error.
    pub std_error: f64,
}

/// A Trimmed Match result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrimmedMatchResult {
    /// The iROAS estimate.
    pub estimate: f64,
    /// Its standard error.
    pub std_error: f64,
    /// The trim rate used.
    pub trim_rate: f64,
    /// Pairs trimmed from each tail.
    pub trimmed_per_tail: usize,
    /// The interval level.
    pub confidence: f64,
    /// The normal quantile the interval uses.
    pub normal_quantile: f64,
    /// The interval (both bounds present).
    pub interval: Interval,
    /// Whether the interval is the normal-approximation fallback.
    pub interval_fallback: bool,
    /// Every candidate trim rate evaluated (one when the rate was fixed).
    pub candidates: Vec<TrimCandidate>,
    /// Number of pairs.
    pub pairs: usize,
    /// Data warnings (empty when none).
    pub warnings: Vec<String>,
    /// The result in one sentence.
    pub summary: String,
}

struct Pairs {
    y: Vec<f64>,
    x: Vec<f64>,
    /// Sorted crossing points θ where two residual lines meet.
    breaks: Vec<f64>,
}

impl Pairs {
    fn new(pairs: &[GeoPair]) -> Self {
        let y: Vec<f64> = pairs.iter().map(|p| p.delta_response).collect();
        let x: Vec<f64> = pairs.iter().map(|p| p.delta_spend).collect();
        let n = y.len();
        let mut breaks = Vec::with_capacity(n * (n - 1) / 2);
        for i in 0..n {
            for j in 0..i {
                let dx = x[i] - x[j];
                if dx != 0.0 {
                    let b = (y[i] - y[j]) / dx;
                    if b.is_finite() {
                        breaks.push(b);
                    }
                }
            }
        }
        breaks.sort_by(f64::total_cmp);
        breaks.dedup();
        Pairs { y, x, breaks }
    }

    fn n(&self) -> usize {
        self.y.len()
    }

    /// The intervals between consecutive crossings, each with a point
    /// strictly inside it (the order of the residuals is fixed there).
    fn pieces(&self) -> Vec<(f64, f64, f64)> {
        let b = &self.breaks;
        if b.is_empty() {
            return vec![(f64::NEG_INFINITY, f64::INFINITY, 0.0)];
        }
        let mut out = Vec::with_capacity(b.len() + 1);
        out.push((f64::NEG_INFINITY, b[0], b[0] - 1.0 - b[0].abs()));
        for w in b.windows(2) {
            out.push((w[0], w[1], 0.5 * (w[0] + w[1])));
        }
        let last = b[b.len() - 1];
        out.push((last, f64::INFINITY, last + 1.0 + last.abs()));
        out
    }

    /// Pair indexes sorted by residual at θ (ties by spend, then response).
    fn order_at(&self, theta: f64, order: &mut [usize]) {
        let res = |i: usize| self.y[i] - theta * self.x[i];
        // Insertion sort: the previous piece's order is nearly right.
        for k in 1..order.len() {
            let mut j = k;
            while j > 0 {
                let (a, b) = (order[j - 1], order[j]);
                let before = res(a)
                    .total_cmp(&res(b))
                    .then(self.x[a].total_cmp(&self.x[b]))
                    .then(self.y[a].total_cmp(&self.y[b]));
                if before == std::cmp::Ordering::Greater {
                    order.swap(j - 1, j);
                    j -= 1;
                } else {
                    break;
                }
            }
        }
    }

    fn residuals(&self, theta: f64) -> Vec<f64> {
        self.y
            .iter()
            .zip(&self.x)
            .map(|(y, x)| y - theta * x)
            .collect()
    }

    /// All roots of "trimmed mean of residuals = 0" trimming `n1` per tail.
    fn roots(&self, n1: usize) -> Vec<f64> {
        let n = self.n();
        let mut order: Vec<usize> = (0..n).collect();
        let mut roots: Vec<f64> = Vec::new();
        for (lo, hi, mid) in self.pieces() {
            self.order_at(mid, &mut order);
            let (mut sy, mut sx) = (0.0, 0.0);
            for &i in &order[n1..n - n1] {
                sy += self.y[i];
                sx += self.x[i];
            }
            if sx == 0.0 {
                continue;
            }
            let r = sy / sx;
            if r >= lo
                && r <= hi
                && roots
                    .last()
                    .is_none_or(|l| (r - l).abs() > 1e-12 * r.abs().max(1e-300))
            {
                roots.push(r);
            }
        }
        roots
    }

    fn estimate(&self, n1: usize) -> Result<f64> {
        if n1 == 0 {
            let sx: f64 = self.x.iter().sum();
            if sx == 0.0 {
                return Err(LiftError::insufficient(
                    "The pairs' spend differences sum to zero, so no iROAS can be estimated.",
                ));
            }
            return Ok(self.y.iter().sum::<f64>() / sx);
        }
        let roots = self.roots(n1);
        if roots.is_empty() {
            return Err(LiftError::insufficient(
                "The untrimmed pairs' spend differences sum to zero at every trimming, so no iROAS can be estimated.",
            ));
        }
        // Several roots: the one with the most symmetric residuals.
        let mut best = (f64::INFINITY, roots[0]);
        for &r in &roots {
            let norm = trimmed_symmetric_norm(&self.residuals(r), n1);
            if norm < best.0 {
                best = (norm, r);
            }
        }
        Ok(best.1)
    }

    /// Standard error at trim `n1` and estimate `theta` (eq. 8.2).
    fn std_error(&self, n1: usize, theta: f64) -> f64 {
        let n = self.n();
        let res = self.residuals(theta);
        let mut idx: Vec<usize> = (0..n).collect();
        idx.sort_by(|&a, &b| {
            res[a]
                .total_cmp(&res[b])
                .then(self.x[a].total_cmp(&self.x[b]))
                .then(self.y[a].total_cmp(&self.y[b]))
        });
        let n2 = n - 1 - n1;
        let mut ss = n1 as f64 * (res[idx[n1]].powi(2) + res[idx[n2]].powi(2));
        let mut body_spend = 0.0;
        for &i in &idx[n1..=n2] {
            ss += res[i] * res[i];
            body_spend += self.x[i];
        }
        let nf = n as f64;
        let mean_spend = body_spend / nf;
        let variance = ss / (mean_spend * mean_spend * nf);
        (variance / nf).sqrt()
    }

    /// The hull of {θ : |studentised trimmed mean| ≤ q}, clipped to
    /// ±[`IROAS_BOUND`]; `None` when empty.
    fn interval(&self, n1: usize, q: f64) -> Option<(f64, f64)> {
        let n = self.n();
        let nf = n as f64;
        let m = (n - 2 * n1) as f64;
        let h = q * q * m / (m - 1.0);
        let n2 = n - 1 - n1;
        let w = n1 as f64;
        let mut order: Vec<usize> = (0..n).collect();
        let mut low = f64::INFINITY;
        let mut up = f64::NEG_INFINITY;
        for (lo, hi, mid) in self.pieces() {
            let lo = lo.max(-IROAS_BOUND);
            let hi = hi.min(IROAS_BOUND);
            if lo > hi {
                continue;
            }
            self.order_at(mid, &mut order);
            let (mut x1, mut y1, mut x2, mut y2, mut z) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for &i in &order[n1..=n2] {
                let (x, y) = (self.x[i], self.y[i]);
                x1 += x;
                y1 += y;
                x2 += x * x;
                y2 += y * y;
                z += x * y;
            }
            let (l, r) = (order[n1], order[n2]);
            let (xl, yl, xr, yr) = (self.x[l], self.y[l], self.x[r], self.y[r]);
            x2 += w * (xl * xl + xr * xr);
            y2 += w * (yl * yl + yr * yr);
            z += w * (xl * yl + xr * yr);
            let x1w = x1 + w * (xl + xr);
            let y1w = y1 + w * (yl + yr);
            // h · (winsorised sum of squares) − (trimmed sum)² ≥ 0, i.e.
            // a θ² − 2 b θ + c ≥ 0.
            let a = h * (x2 - x1w * x1w / nf) - x1 * x1;
            let b = h * (z - x1w * y1w / nf) - x1 * y1;
            let c = h * (y2 - y1w * y1w / nf) - y1 * y1;
            if let Some((s, e)) = quadratic_nonnegative_hull(a, b, c, lo, hi) {
                low = low.min(s);
                up = up.max(e);
            }
        }
        (low <= up).then_some((low, up))
    }
}

/// Mean of `|e₍ᵢ₎ + e₍ₙ₋₁₋ᵢ₎|` over the untrimmed order statistics.
fn trimmed_symmetric_norm(res: &[f64], n1: usize) -> f64 {
    let mut s = res.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    let sum: f64 = (n1..n - n1).map(|i| (s[i] + s[n - 1 - i]).abs()).sum();
    sum / (n - 2 * n1) as f64
}

/// The smallest and largest θ in `[lo, hi]` with `aθ² − 2bθ + c ≥ 0`.
fn quadratic_nonnegative_hull(a: f64, b: f64, c: f64, lo: f64, hi: f64) -> Option<(f64, f64)> {
    let f = |t: f64| a * t * t - 2.0 * b * t + c;
    let roots = {
        let mut r: Vec<f64> = Vec::with_capacity(2);
        let scale = a.abs().max(b.abs()).max(c.abs());
        if scale == 0.0 {
            // f ≡ 0: everything satisfies it.
        } else if a.abs() <= 1e-300 {
            if b != 0.0 {
                r.push(c / (2.0 * b));
            }
        } else {
            let disc = b * b - a * c;
            let disc = if (b * b - a * c).abs() <= 32.0 * f64::EPSILON * (b * b).max((a * c).abs())
            {
                0.0
            } else {
                disc
            };
            if disc >= 0.0 {
                // Stable pair of roots of a t² − 2 b t + c.
                let sq = disc.sqrt();
                let qq = b + if b >= 0.0 { sq } else { -sq };
                if qq != 0.0 {
                    r.push(qq / a);
                    r.push(c / qq);
                } else {
                    r.push(0.0);
                }
            }
        }
        r.retain(|t| t.is_finite() && *t >= lo && *t <= hi);
        r.sort_by(f64::total_cmp);
        r
    };
    let start = if f(lo) >= 0.0 {
        Some(lo)
    } else {
        roots.first().copied()
    };
    let end = if f(hi) >= 0.0 {
        Some(hi)
    } else {
        roots.last().copied()
    };
    match (start, end) {
        (Some(s), Some(e)) if s <= e => Some((s, e)),
        _ => None,
    }
}

/// Runs Trimmed Match: estimate, standard error, trim rate and interval.
pub fn trimmed_match(input: &TrimmedMatchInput) -> Result<TrimmedMatchResult> {
    let n = input.pairs.len();
    if n < 3 {
        return Err(LiftError::insufficient(
            "Trimmed Match needs at least three geo pairs.",
        ));
    }
    if input
        .pairs
        .iter()
        .any(|p| !p.delta_response.is_finite() || !p.delta_spend.is_finite())
    {
        return Err(LiftError::invalid(
            "A pair holds a value that is not a finite number.",
        ));
    }
    if !(input.confidence > 0.0 && input.confidence < 1.0) {
        return Err(LiftError::invalid(format!(
            "The confidence must lie strictly between 0 and 1 (got {}).",
            input.confidence
        )));
    }
    if !(0.0..0.5).contains(&input.max_trim_rate) {
        return Err(LiftError::invalid(format!(
            "The largest trim rate must lie in [0, 0.5) (got {}).",
            input.max_trim_rate
        )));
    }
    let pairs = Pairs::new(&input.pairs);
    let trims_for = |rate: f64| (rate * n as f64 - 1e-9).ceil().max(0.0) as usize;
    // At least two pairs must stay untrimmed for the studentised statistic.
    let computable = |n1: usize| n >= 2 * n1 + 2;
    let mut candidates = Vec::new();
    let chosen = match input.trim {
        TrimRate::Fixed { rate } => {
            if !(rate >= 0.0 && rate <= input.max_trim_rate) {
                return Err(LiftError::invalid(format!(
                    "The trim rate must lie in [0, {}] (got {rate}).",
                    input.max_trim_rate
                )));
            }
            let n1 = trims_for(rate);
            if !computable(n1) {
                return Err(LiftError::insufficient(format!(
                    "Trimming {n1} of {n} pairs from each tail leaves fewer than two."
                )));
            }
            let iroas = pairs.estimate(n1)?;
            let c = TrimCandidate {
                trim_rate: rate,
                iroas,
                std_error: pairs.std_error(n1, iroas),
            };
            candidates.push(c);
            c
        }
        TrimRate::Auto => {
            let most = (input.max_trim_rate * n as f64).ceil() as usize;
            for k in 0..=most {
                let rate = k as f64 / n as f64;
                if rate > input.max_trim_rate || !computable(k) {
                    break;
                }
                let iroas = pairs.estimate(k)?;
                candidates.push(TrimCandidate {
                    trim_rate: rate,
                    iroas,
                    std_error: pairs.std_error(k, iroas),
                });
            }
            let min_se = candidates
                .iter()
                .map(|c| c.std_error)
                .fold(f64::INFINITY, f64::min);
            let bound = (1.0 + 0.25 / (n as f64).sqrt()) * min_se;
            *candidates
                .iter()
                .find(|c| c.std_error <= bound)
                .unwrap_or(&candidates[0])
        }
    };
    let n1 = trims_for(chosen.trim_rate);
    let normal =
        Normal::new(0.0, 1.0).map_err(|e| LiftError::Numerical(format!("standard normal: {e}")))?;
    let q = normal.inverse_cdf(0.5 + 0.5 * input.confidence);
    let (mut low, mut up) = pairs
        .interval(n1, q)
        .unwrap_or((f64::NEG_INFINITY, f64::INFINITY));
    let mut fallback = false;
    let bounded = up - low <= EXTREME_WIDTH * chosen.std_error;
    if !bounded {
        let width = 3.0 * q * chosen.std_error;
        low = chosen.iroas - width;
        up = chosen.iroas + width;
        fallback = true;
    }
    let mut warnings = Vec::new();
    if n < 10 {
        warnings.push(format!(
            "Only {n} pairs: the standard error and interval rest on asymptotics that need more."
        ));
    }
    if fallback {
        warnings.push(
            "The studentised interval was unbounded; it was replaced by the estimate ± 3 × quantile × standard error."
                .into(),
        );
    }
    let summary = format!(
        "iROAS {:.4} (standard error {:.4}), {:.0}% interval [{:.4}, {:.4}], from {n} geo pairs trimming {n1} from each tail (rate {:.3}).",
        chosen.iroas,
        chosen.std_error,
        input.confidence * 100.0,
        low,
        up,
        chosen.trim_rate
    );
    Ok(TrimmedMatchResult {
        estimate: chosen.iroas,
        std_error: chosen.std_error,
        trim_rate: chosen.trim_rate,
        trimmed_per_tail: n1,
        confidence: input.confidence,
        normal_quantile: q,
        interval: Interval {
            lower: Some(low),
            upper: Some(up),
        },
        interval_fallback: fallback,
        candidates,
        pairs: n,
        warnings,
        summary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(y: &[f64], x: &[f64]) -> Vec<GeoPair> {
        y.iter()
            .zip(x)
            .map(|(&delta_response, &delta_spend)| GeoPair {
                delta_response,
                delta_spend,
            })
            .collect()
    }

    #[test]
    fn untrimmed_is_the_ratio_of_sums_and_trimming_drops_the_tails() {
        // estimator_test.cc's CalculateIroasNoTrim / WithTrim cases.
        let p = Pairs::new(&pairs(&[1.0, 10.0, 3.0, 8.0], &[1.0, 5.0, 2.0, 5.0]));
        assert!((p.estimate(0).unwrap() - 22.0 / 13.0).abs() < 1e-12);
        // Trimming one pair per tail leaves pairs 3 and 4 (by residual).
        assert!((p.estimate(1).unwrap() - 11.0 / 7.0).abs() < 1e-12);
        // Standard-error formulas of CalculateStandardError{No,With}Trim.
        let se0 = p.std_error(0, 0.0);
        assert!((se0 - (1.0f64 + 100.0 + 9.0 + 64.0).sqrt() / 13.0).abs() < 1e-12);
        let se1 = p.std_error(1, 1.0);
        let want = ((3.0f64 - 2.0).powi(2) * 2.0 + (8.0f64 - 5.0).powi(2) * 2.0).sqrt() / 7.0;
        assert!((se1 - want).abs() < 1e-12, "{se1} vs {want}");
    }

    #[test]
    fn quadratic_hull_covers_the_cases() {
        // (t − 1)(t − 3) ≥ 0 ⇔ t² − 4t + 3: a = 1, b = 2, c = 3.
        assert_eq!(
            quadratic_nonnegative_hull(1.0, 2.0, 3.0, 0.0, 2.0),
            Some((0.0, 1.0))
        );
        assert_eq!(
            quadratic_nonnegative_hull(1.0, 2.0, 3.0, 2.0, 4.0),
            Some((3.0, 4.0))
        );
        assert_eq!(quadratic_nonnegative_hull(1.0, 2.0, 3.0, 1.5, 2.5), None);
        // −(t − 1)(t − 3) ≥ 0 on [0, 4] is [1, 3].
        assert_eq!(
            quadratic_nonnegative_hull(-1.0, -2.0, -3.0, 0.0, 4.0),
            Some((1.0, 3.0))
        );
    }

    #[test]
    fn bad_inputs_are_refused() {
        let two = TrimmedMatchInput {
            pairs: pairs(&[1.0, 2.0], &[1.0, 2.0]),
            trim: TrimRate::Auto,
            max_trim_rate: 0.25,
            confidence: 0.9,
        };
        assert!(trimmed_match(&two).is_err());
        let zero_spend = TrimmedMatchInput {
            pairs: pairs(&[1.0, 2.0, 3.0], &[1.0, -1.0, 0.0]),
            trim: TrimRate::Fixed { rate: 0.0 },
            ..two
        };
        assert!(matches!(
            trimmed_match(&zero_spend),
            Err(LiftError::InsufficientData(_))
        ));
    }
}
