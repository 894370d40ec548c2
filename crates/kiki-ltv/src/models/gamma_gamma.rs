//! Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV: using
//! iso-value curves for customer base analysis", after Colombo & Jiang
//! 1999): each transaction value is Gamma(p, ν) with ν ~ Gamma(q, γ) across
//! customers, so a customer's mean spend is shrunk towards the population
//! mean by how many repeat purchases back it. It assumes spend does not
//! depend on purchase frequency; [`GammaGammaModel::frequency_spend_correlation`]
//! shows how far the data agree.

use serde::{Deserialize, Serialize};

use crate::data::CustomerSummary;
use crate::error::{LtvError, RowList};
use crate::fit::{FitOptions, FitProgress, Objective, Optimizer, chunked_sum, maximize};
use crate::models::bgnbd::check_positive;
use crate::rows::{KeyMap, key};
use crate::special::{digamma, ln_gamma};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GammaGammaParams {
    pub p: f64,
    pub q: f64,
    /// γ, in the currency's major unit (dollars, euros).
    pub gamma: f64,
}

impl GammaGammaParams {
    pub fn validate(&self) -> Result<(), LtvError> {
        check_positive("p", self.p)?;
        check_positive("q", self.q)?;
        check_positive("gamma", self.gamma)
    }

    /// ln f(m̄ | x) for a customer with x repeat purchases of mean value m̄.
    pub fn log_likelihood(&self, x: f64, mean_spend: f64) -> f64 {
        let Self { p, q, gamma } = *self;
        let px = p * x;
        ln_gamma(px + q) - ln_gamma(px) - ln_gamma(q)
            + q * gamma.ln()
            + (px - 1.0) * mean_spend.ln()
            + px * x.ln()
            - (px + q) * (gamma + x * mean_spend).ln()
    }

    /// Population mean spend per transaction, p·γ/(q − 1).
    pub fn mean_spend(&self) -> Result<f64, LtvError> {
        if self.q <= 1.0 {
            return Err(LtvError::UndefinedMeanSpend { q: self.q });
        }
        Ok(self.p * self.gamma / (self.q - 1.0))
    }

    /// E[spend per transaction | x, m̄]: a weighted mean of the population
    /// mean and the customer's own mean (FHL 2005 eq. 5).
    pub fn conditional_expected_spend(&self, x: f64, mean_spend: f64) -> Result<f64, LtvError> {
        if x <= 0.0 {
            return self.mean_spend();
        }
        let Self { p, q, gamma } = *self;
        let denom = p * x + q - 1.0;
        if denom <= 0.0 {
            return Err(LtvError::UndefinedMeanSpend { q });
        }
        Ok(p * (gamma + x * mean_spend) / denom)
    }
}

/// One (frequency, mean spend) pattern shared by `weight` customers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SpendRow {
    pub frequency: f64,
    /// Mean repeat-purchase value in the currency's major unit.
    pub mean_spend: f64,
    pub weight: f64,
}

/// A fitted Gamma-Gamma model, serializable for storage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GammaGammaModel {
    pub params: GammaGammaParams,
    pub log_likelihood: f64,
    pub iterations: u64,
    pub evaluations: u64,
    pub converged: bool,
    pub optimizer: Optimizer,
    pub std_errors: Option<GammaGammaParams>,
    /// Customers with repeat purchases the model was fitted on.
    pub n_customers: f64,
    /// Pearson correlation of frequency and mean spend across those
    /// customers; the model assumes it is near 0.
    pub frequency_spend_correlation: Option<f64>,
}

/// The spend likelihood over (frequency, mean spend) patterns sorted by
/// frequency: the log-gamma and digamma terms depend on x only and are
/// computed once per distinct frequency, ln m̄ once per row at set-up.
struct SpendObjective {
    x: Vec<f64>,
    m: Vec<f64>,
    ln_m: Vec<f64>,
    w: Vec<f64>,
    groups: Vec<f64>,
    group: Vec<u32>,
    total: f64,
}

impl SpendObjective {
    fn new(mut patterns: Vec<(f64, f64, f64)>) -> Self {
        patterns.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
        let mut o = SpendObjective {
            x: Vec::with_capacity(patterns.len()),
            m: Vec::with_capacity(patterns.len()),
            ln_m: Vec::with_capacity(patterns.len()),
            w: Vec::with_capacity(patterns.len()),
            groups: Vec::new(),
            group: Vec::with_capacity(patterns.len()),
            total: 0.0,
        };
        for (x, m, w) in patterns {
            if o.groups.last() != Some(&x) {
                o.groups.push(x);
            }
            o.group.push((o.groups.len() - 1) as u32);
            o.x.push(x);
            o.m.push(m);
            o.ln_m.push(m.ln());
            o.w.push(w);
            o.total += w;
        }
        o
    }
}

impl Objective for SpendObjective {
    fn dim(&self) -> usize {
        3
    }
    fn analytic_gradient(&self) -> bool {
        true
    }
    fn total_weight(&self) -> f64 {
        self.total
    }
    fn log_likelihood(&self, theta: &[f64], grad: Option<&mut [f64]>) -> Option<f64> {
        let (p, q, gamma) = (theta[0], theta[1], theta[2]);
        let (ln_gamma_q, psi_q, ln_g) = (ln_gamma(q), digamma(q), gamma.ln());
        // Per frequency: (constant of ln f, ∂/∂p constant, ∂/∂q constant).
        let per_x: Vec<[f64; 3]> = self
            .groups
            .iter()
            .map(|&x| {
                let px = p * x;
                let psi_pxq = digamma(px + q);
                [
                    ln_gamma(px + q) - ln_gamma(px) - ln_gamma_q + q * ln_g + px * x.ln(),
                    x * (psi_pxq - digamma(px) + x.ln()),
                    psi_pxq - psi_q + ln_g,
                ]
            })
            .collect();
        let sums = chunked_sum::<4>(self.x.len(), |range| {
            let mut s = [0.0; 4];
            for i in range {
                let (x, w, ln_m) = (self.x[i], self.w[i], self.ln_m[i]);
                let k = &per_x[self.group[i] as usize];
                let px = p * x;
                let g_xm = gamma + x * self.m[i];
                let l_gxm = g_xm.ln();
                s[0] += w * (k[0] + (px - 1.0) * ln_m - (px + q) * l_gxm);
                s[1] += w * (k[1] + x * (ln_m - l_gxm));
                s[2] += w * (k[2] - l_gxm);
                s[3] += w * (q / gamma - (px + q) / g_xm);
            }
            s
        });
        if let Some(g) = grad {
            g.copy_from_slice(&sums[1..4]);
        }
        sums[0].is_finite().then_some(sums[0])
    }
}

/// Entry point for fitting the spend model.
#[derive(Debug)]
pub struct GammaGamma;

impl GammaGamma {
    /// Fits on the customers with at least one repeat purchase, using their
    /// mean repeat spend; the rest carry no spend information.
    pub fn fit(
        customers: &[CustomerSummary],
        options: &FitOptions,
        progress: &mut dyn FnMut(FitProgress),
    ) -> Result<GammaGammaModel, LtvError> {
        if customers.is_empty() {
            return Err(LtvError::EmptyData);
        }
        let bad = RowList::collect(
            customers
                .iter()
                .map(|c| !c.frequency.is_finite() || c.frequency < 0.0),
        );
        if !bad.is_empty() {
            return Err(LtvError::NonFinite {
                field: "frequency",
                rows: bad,
            });
        }
        let bad = RowList::collect(customers.iter().map(|c| c.frequency.fract() != 0.0));
        if !bad.is_empty() {
            return Err(LtvError::FractionalFrequency { rows: bad });
        }
        let bad = RowList::collect(
            customers
                .iter()
                .map(|c| c.frequency > 0.0 && c.monetary_micros <= 0),
        );
        if !bad.is_empty() {
            return Err(LtvError::NonPositiveSpend { rows: bad });
        }
        let rows: Vec<SpendRow> = customers
            .iter()
            .filter(|c| c.frequency > 0.0)
            .map(|c| SpendRow {
                frequency: c.frequency,
                mean_spend: c.monetary_micros as f64 / kiki_core::money::MICROS_PER_UNIT as f64,
                weight: 1.0,
            })
            .collect();
        Self::fit_rows(&rows, options, progress)
    }

    /// Fits on (frequency, mean spend, weight) rows directly.
    pub fn fit_rows(
        rows: &[SpendRow],
        options: &FitOptions,
        progress: &mut dyn FnMut(FitProgress),
    ) -> Result<GammaGammaModel, LtvError> {
        if rows.is_empty() {
            return Err(LtvError::NoRepeatBuyers);
        }
        let bad = RowList::collect(
            rows.iter()
                .map(|r| !(r.frequency.is_finite() && r.frequency > 0.0)),
        );
        if !bad.is_empty() {
            return Err(LtvError::Negative {
                field: "frequency",
                rows: bad,
            });
        }
        let bad = RowList::collect(
            rows.iter()
                .map(|r| !(r.mean_spend.is_finite() && r.mean_spend > 0.0)),
        );
        if !bad.is_empty() {
            return Err(LtvError::NonPositiveSpend { rows: bad });
        }
        let bad = RowList::collect(
            rows.iter()
                .map(|r| !(r.weight.is_finite() && r.weight > 0.0)),
        );
        if !bad.is_empty() {
            return Err(LtvError::InvalidWeight { rows: bad });
        }
        let mut index: KeyMap<(u64, u64, u64), usize> = KeyMap::default();
        let mut patterns: Vec<(f64, f64, f64)> = Vec::new();
        for r in rows {
            let slot = *index
                .entry(key(r.frequency, r.mean_spend, 0.0))
                .or_insert_with(|| {
                    patterns.push((r.frequency, r.mean_spend, 0.0));
                    patterns.len() - 1
                });
            patterns[slot].2 += r.weight;
        }
        let obj = SpendObjective::new(patterns);
        let mean_spend = rows.iter().map(|r| r.weight * r.mean_spend).sum::<f64>() / obj.total;
        let defaults = [1.0, 2.0, mean_spend];
        let start = start_values(&["p", "q", "gamma"], &defaults, options)?;
        let out = maximize(&obj, "Gamma-Gamma", &start, &[1.0; 3], options, progress)?;
        let params = GammaGammaParams {
            p: out.theta[0],
            q: out.theta[1],
            gamma: out.theta[2],
        };
        params.validate()?;
        Ok(GammaGammaModel {
            params,
            log_likelihood: out.log_likelihood,
            iterations: out.iterations,
            evaluations: out.evaluations,
            converged: out.converged,
            optimizer: out.optimizer,
            std_errors: out.std_errors.map(|se| GammaGammaParams {
                p: se[0],
                q: se[1],
                gamma: se[2],
            }),
            n_customers: obj.total,
            frequency_spend_correlation: weighted_correlation(rows),
        })
    }
}

/// Starting values: the caller's where given, the defaults otherwise.
pub(crate) fn start_values(
    names: &[&str],
    defaults: &[f64],
    options: &FitOptions,
) -> Result<Vec<f64>, LtvError> {
    let mut start = defaults.to_vec();
    if let Some(init) = &options.initial_params {
        for (k, v) in init {
            let Some(pos) = names.iter().position(|n| n == k) else {
                return Err(LtvError::InvalidOption {
                    name: "initial_params",
                    message: format!(
                        "`{k}` is not a parameter of this model (expected one of {}).",
                        names.join(", ")
                    ),
                });
            };
            start[pos] = *v;
        }
    }
    Ok(start)
}

fn weighted_correlation(rows: &[SpendRow]) -> Option<f64> {
    let w: f64 = rows.iter().map(|r| r.weight).sum();
    let mx = rows.iter().map(|r| r.weight * r.frequency).sum::<f64>() / w;
    let my = rows.iter().map(|r| r.weight * r.mean_spend).sum::<f64>() / w;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for r in rows {
        let (dx, dy) = (r.frequency - mx, r.mean_spend - my);
        sxy += r.weight * dx * dy;
        sxx += r.weight * dx * dx;
        syy += r.weight * dy * dy;
    }
    let c = sxy / (sxx * syy).sqrt();
    c.is_finite().then_some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditional_spend_shrinks_towards_the_population_mean() {
        let p = GammaGammaParams {
            p: 6.25,
            q: 3.74,
            gamma: 15.44,
        };
        let pop = p.mean_spend().unwrap();
        assert!((pop - 35.22).abs() < 0.01, "{pop}");
        let one = p.conditional_expected_spend(1.0, 100.0).unwrap();
        let many = p.conditional_expected_spend(50.0, 100.0).unwrap();
        assert!(pop < one && one < many && many < 100.0);
    }

    #[test]
    fn q_at_most_one_has_no_population_mean() {
        let p = GammaGammaParams {
            p: 2.0,
            q: 0.9,
            gamma: 10.0,
        };
        assert!(matches!(
            p.mean_spend(),
            Err(LtvError::UndefinedMeanSpend { .. })
        ));
        assert!(p.conditional_expected_spend(3.0, 20.0).is_ok());
    }

    #[test]
    fn analytic_gradient_matches_finite_differences() {
        let obj = SpendObjective::new(vec![
            (3.0, 40.5, 1.0),
            (1.0, 12.0, 2.0),
            (8.0, 22.0, 1.0),
            (1.0, 30.0, 1.0),
        ]);
        let direct: f64 = [
            (3.0, 40.5, 1.0),
            (1.0, 12.0, 2.0),
            (8.0, 22.0, 1.0),
            (1.0, 30.0, 1.0),
        ]
        .iter()
        .map(|&(x, m, w)| {
            w * GammaGammaParams {
                p: 3.0,
                q: 2.5,
                gamma: 12.0,
            }
            .log_likelihood(x, m)
        })
        .sum();
        assert!((obj.log_likelihood(&[3.0, 2.5, 12.0], None).unwrap() - direct).abs() < 1e-10);
        let theta = [3.0, 2.5, 12.0];
        let mut g = [0.0; 3];
        obj.log_likelihood(&theta, Some(&mut g)).unwrap();
        for k in 0..3 {
            let h = 1e-6;
            let (mut up, mut down) = (theta, theta);
            up[k] += h;
            down[k] -= h;
            let fd = (obj.log_likelihood(&up, None).unwrap()
                - obj.log_likelihood(&down, None).unwrap())
                / (2.0 * h);
            assert!(
                (g[k] - fd).abs() < 1e-5 * fd.abs().max(1.0),
                "k={k}: {} vs {fd}",
                g[k]
            );
        }
    }

    #[test]
    fn customers_with_repeats_but_no_spend_are_named() {
        let customers = vec![
            CustomerSummary::new("a", 2.0, 3.0, 5.0, 10_000_000),
            CustomerSummary::new("b", 1.0, 3.0, 5.0, 0),
            CustomerSummary::new("c", 0.0, 0.0, 5.0, 0),
        ];
        let err = GammaGamma::fit(&customers, &FitOptions::default(), &mut |_| {}).unwrap_err();
        assert!(
            matches!(&err, LtvError::NonPositiveSpend { rows } if rows.rows == vec![1]),
            "{err:?}"
        );
        let none = vec![CustomerSummary::new("c", 0.0, 0.0, 5.0, 0)];
        assert_eq!(
            GammaGamma::fit(&none, &FitOptions::default(), &mut |_| {}).unwrap_err(),
            LtvError::NoRepeatBuyers
        );
    }
}
