//! Fitting the Hill saturation curve and geometric adstock to daily spend and
//! conversions by a penalised grid search, the grid weights giving an
//! approximate posterior (prior × likelihood on a grid) for the uncertainty of
//! the half-saturation point.
//!
//! The likelihood works on the square-root scale, which stabilises the
//! variance of count data (Anscombe 1948): `√y_t ≈ √(c · g_t)` with
//! `g_t = hill(adstock_t) · weekday_t`; for each grid point the scale `c` has
//! a closed-form least-squares value.

use crate::model::Hill;

/// What the fit starts from and how strongly.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SaturationPrior {
    pub ratio: f64,
    pub shape: f64,
    pub adstock: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SaturationFit {
    pub ratio: f64,
    /// Posterior standard deviation of `ln ratio`.
    pub ln_ratio_sd: f64,
    pub shape: f64,
    pub adstock: f64,
}

const TAU_LN_RATIO: f64 = 1.0986; // ln 3: the prior allows ÷× 3 at one sd
const TAU_SHAPE: f64 = 0.75;
const TAU_ADSTOCK: f64 = 0.2;
const SHAPES: [f64; 6] = [0.5, 0.75, 1.0, 1.5, 2.0, 3.0];
const ADSTOCKS: [f64; 9] = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8];
const RATIO_POINTS: usize = 41;
const LN_RATIO_LO: f64 = -1.6094; // ln 0.2
const LN_RATIO_HI: f64 = 3.912; // ln 50

/// Fits on a calendar of days (`spend`, `conversions`, `weekday multiplier`),
/// missing days given as zero spend and zero conversions. `x_ref` is the
/// reference daily spend the ratio is relative to.
pub(crate) fn fit(
    spend: &[f64],
    conversions: &[f64],
    weekday: &[f64],
    x_ref: f64,
    prior: SaturationPrior,
) -> SaturationFit {
    let n = spend.len();
    let sqrt_y: Vec<f64> = conversions.iter().map(|y| y.max(0.0).sqrt()).collect();
    let step = (LN_RATIO_HI - LN_RATIO_LO) / (RATIO_POINTS - 1) as f64;

    struct Point {
        ln_ratio: f64,
        shape: f64,
        adstock: f64,
        rss: f64,
        penalty: f64,
    }
    let mut points = Vec::with_capacity(ADSTOCKS.len() * SHAPES.len() * RATIO_POINTS);
    let mut adstocked = vec![0.0; n];
    let mut g = vec![0.0; n];
    for &theta in &ADSTOCKS {
        let mut a = spend.first().copied().unwrap_or(0.0);
        for (t, &x) in spend.iter().enumerate() {
            a = (1.0 - theta) * x + theta * a;
            adstocked[t] = a;
        }
        for &shape in &SHAPES {
            for r in 0..RATIO_POINTS {
                let ln_ratio = LN_RATIO_LO + step * r as f64;
                let hill = Hill {
                    half_saturation: ln_ratio.exp() * x_ref,
                    shape,
                };
                let (mut sgy, mut sg) = (0.0, 0.0);
                for t in 0..n {
                    g[t] = hill.value(adstocked[t]) * weekday[t];
                    sgy += g[t].sqrt() * sqrt_y[t];
                    sg += g[t];
                }
                let sqrt_c = if sg > 0.0 { sgy / sg } else { 0.0 };
                let rss: f64 = (0..n)
                    .map(|t| {
                        let e = sqrt_y[t] - sqrt_c * g[t].sqrt();
                        e * e
                    })
                    .sum();
                let penalty = ((ln_ratio - prior.ratio.ln()) / TAU_LN_RATIO).powi(2)
                    + ((shape - prior.shape) / TAU_SHAPE).powi(2)
                    + ((theta - prior.adstock) / TAU_ADSTOCK).powi(2);
                points.push(Point {
                    ln_ratio,
                    shape,
                    adstock: theta,
                    rss,
                    penalty,
                });
            }
        }
    }
    // Residual variance on the √ scale from the best fit, floored at the
    // Poisson value ¼ so a near-perfect fit cannot claim certainty.
    let min_rss = points.iter().map(|p| p.rss).fold(f64::INFINITY, f64::min);
    let dof = n.saturating_sub(4).max(1) as f64;
    let sigma2 = (min_rss / dof).max(0.25);
    let score = |p: &Point| -0.5 * (p.rss / sigma2 + p.penalty);
    let best_score = points.iter().map(score).fold(f64::NEG_INFINITY, f64::max);
    let (mut sw, mut swx, mut swxx) = (0.0, 0.0, 0.0);
    let mut best: Option<&Point> = None;
    for p in &points {
        let s = score(p);
        if best.is_none() && s == best_score {
            best = Some(p);
        }
        let w = (s - best_score).exp();
        sw += w;
        swx += w * p.ln_ratio;
        swxx += w * p.ln_ratio * p.ln_ratio;
    }
    let mean = swx / sw;
    let sd = (swxx / sw - mean * mean).max(0.0).sqrt();
    let Some(best) = best else {
        // Only when every score is NaN, which finite inputs cannot produce.
        return SaturationFit {
            ratio: prior.ratio,
            ln_ratio_sd: TAU_LN_RATIO,
            shape: prior.shape,
            adstock: prior.adstock,
        };
    };
    SaturationFit {
        ratio: best.ln_ratio.exp(),
        ln_ratio_sd: sd.max(step / 2.0),
        shape: best.shape,
        adstock: best.adstock,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Conversions generated exactly by a known curve are fitted back to it.
    #[test]
    fn a_noise_free_curve_is_recovered_on_the_grid() {
        let x_ref = 100.0;
        let truth = Hill {
            half_saturation: 2.0 * x_ref,
            shape: 1.0,
        };
        // Spend varies between 20 and 400 a day in a repeating pattern.
        let spend: Vec<f64> = (0..120)
            .map(|t| 20.0 + 380.0 * ((t * 37) % 19) as f64 / 18.0)
            .collect();
        let y: Vec<f64> = spend.iter().map(|&x| 300.0 * truth.value(x)).collect();
        let ones = vec![1.0; spend.len()];
        let f = fit(
            &spend,
            &y,
            &ones,
            x_ref,
            SaturationPrior {
                ratio: 3.0,
                shape: 1.0,
                adstock: 0.0,
            },
        );
        assert_eq!(f.adstock, 0.0);
        assert_eq!(f.shape, 1.0);
        assert!((f.ratio / 2.0 - 1.0).abs() < 0.1, "{f:?}");
    }

    #[test]
    fn constant_spend_leaves_the_prior_in_charge() {
        let spend = vec![100.0; 60];
        let y = vec![5.0; 60];
        let ones = vec![1.0; 60];
        let prior = SaturationPrior {
            ratio: 3.0,
            shape: 1.0,
            adstock: 0.3,
        };
        let f = fit(&spend, &y, &ones, 100.0, prior);
        assert!((f.ratio.ln() - 3.0_f64.ln()).abs() < 0.2, "{f:?}");
        assert_eq!(f.shape, 1.0);
        assert!((f.adstock - 0.3).abs() < 1e-9);
        assert!(
            f.ln_ratio_sd > 0.5,
            "the data says nothing, so the prior spread stays: {f:?}"
        );
    }
}
