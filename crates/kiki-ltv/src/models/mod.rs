//! The purchase models, one entry point to fit any of them, and the
//! serializable record of a fit that predictions are made from.

pub mod bgbb;
pub mod bgnbd;
pub mod gamma_gamma;
pub mod pareto;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::data::{CustomerSummary, TimeUnit};
use crate::error::LtvError;
use crate::fit::{FitOptions, FitProgress, Optimizer, maximize};
use crate::rows::{Collapsed, RfmRow, TimeKind, collapse, validate};

pub use bgbb::BgBbParams;
pub use bgnbd::BgNbdParams;
pub use gamma_gamma::{GammaGamma, GammaGammaModel, GammaGammaParams, SpendRow};
pub use pareto::ParetoNbdParams;

/// Which purchase/dropout model to fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// Beta-geometric/NBD: dropout can happen only right after a purchase.
    BgNbd,
    /// Pareto/NBD: dropout can happen at any moment.
    ParetoNbd,
    /// Modified BG/NBD: as BG/NBD, and also right after the first purchase.
    ModifiedBgNbd,
    /// Beta-geometric/beta-Bernoulli: discrete opportunities (events,
    /// yearly donations, weekly deliveries).
    BgBb,
}

impl ModelKind {
    pub const ALL: [ModelKind; 4] = [
        ModelKind::BgNbd,
        ModelKind::ParetoNbd,
        ModelKind::ModifiedBgNbd,
        ModelKind::BgBb,
    ];

    /// The name used in papers and messages.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::BgNbd => "BG/NBD",
            ModelKind::ParetoNbd => "Pareto/NBD",
            ModelKind::ModifiedBgNbd => "MBG/NBD",
            ModelKind::BgBb => "BG/BB",
        }
    }

    /// Parameter names in the order of the papers.
    pub fn param_names(self) -> [&'static str; 4] {
        match self {
            ModelKind::BgNbd | ModelKind::ModifiedBgNbd => ["r", "alpha", "a", "b"],
            ModelKind::ParetoNbd => ["r", "alpha", "s", "beta"],
            ModelKind::BgBb => ["alpha", "beta", "gamma", "delta"],
        }
    }

    fn time_kind(self) -> TimeKind {
        if self == ModelKind::BgBb {
            TimeKind::Discrete
        } else {
            TimeKind::Continuous
        }
    }
}

/// Typed parameters of a fitted purchase model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ModelParams {
    BgNbd(BgNbdParams),
    ModifiedBgNbd(BgNbdParams),
    ParetoNbd(ParetoNbdParams),
    BgBb(BgBbParams),
}

impl ModelParams {
    pub fn kind(&self) -> ModelKind {
        match self {
            ModelParams::BgNbd(_) => ModelKind::BgNbd,
            ModelParams::ModifiedBgNbd(_) => ModelKind::ModifiedBgNbd,
            ModelParams::ParetoNbd(_) => ModelKind::ParetoNbd,
            ModelParams::BgBb(_) => ModelKind::BgBb,
        }
    }

    /// Builds and validates parameters from values in [`ModelKind::param_names`] order.
    pub fn from_values(kind: ModelKind, v: [f64; 4]) -> Result<Self, LtvError> {
        let p = match kind {
            ModelKind::BgNbd | ModelKind::ModifiedBgNbd => {
                let p = BgNbdParams {
                    r: v[0],
                    alpha: v[1],
                    a: v[2],
                    b: v[3],
                };
                p.validate()?;
                if kind == ModelKind::BgNbd {
                    ModelParams::BgNbd(p)
                } else {
                    ModelParams::ModifiedBgNbd(p)
                }
            }
            ModelKind::ParetoNbd => {
                let p = ParetoNbdParams {
                    r: v[0],
                    alpha: v[1],
                    s: v[2],
                    beta: v[3],
                };
                p.validate()?;
                ModelParams::ParetoNbd(p)
            }
            ModelKind::BgBb => {
                let p = BgBbParams {
                    alpha: v[0],
                    beta: v[1],
                    gamma: v[2],
                    delta: v[3],
                };
                p.validate()?;
                ModelParams::BgBb(p)
            }
        };
        Ok(p)
    }

    /// Values in [`ModelKind::param_names`] order.
    pub fn values(&self) -> [f64; 4] {
        match *self {
            ModelParams::BgNbd(p) | ModelParams::ModifiedBgNbd(p) => [p.r, p.alpha, p.a, p.b],
            ModelParams::ParetoNbd(p) => [p.r, p.alpha, p.s, p.beta],
            ModelParams::BgBb(p) => [p.alpha, p.beta, p.gamma, p.delta],
        }
    }

    /// ln L for one customer.
    pub fn log_likelihood(&self, frequency: f64, recency: f64, age: f64) -> Result<f64, LtvError> {
        match self {
            ModelParams::BgNbd(p) => Ok(p.log_likelihood(frequency, recency, age, false)),
            ModelParams::ModifiedBgNbd(p) => Ok(p.log_likelihood(frequency, recency, age, true)),
            ModelParams::ParetoNbd(p) => p.log_likelihood(frequency, recency, age),
            ModelParams::BgBb(p) => Ok(p.log_likelihood(frequency, recency, age)),
        }
    }

    /// P(the customer is still active at the end of observation).
    pub fn p_alive(&self, frequency: f64, recency: f64, age: f64) -> Result<f64, LtvError> {
        match self {
            ModelParams::BgNbd(p) => Ok(p.p_alive(frequency, recency, age, false)),
            ModelParams::ModifiedBgNbd(p) => Ok(p.p_alive(frequency, recency, age, true)),
            ModelParams::ParetoNbd(p) => p.p_alive(frequency, recency, age),
            ModelParams::BgBb(p) => Ok(p.p_alive(frequency, recency, age)),
        }
    }

    /// Expected purchases in the next `t` time units for a customer who is
    /// alive at the end of observation. The conditional expectation is this
    /// times [`Self::p_alive`]; keeping them apart lets batch prediction
    /// compute each once per distinct (frequency, T) or (frequency, recency, T).
    pub fn expected_if_alive(&self, frequency: f64, age: f64, t: f64) -> Result<f64, LtvError> {
        match self {
            ModelParams::BgNbd(p) => p.expected_if_alive(frequency, age, t, false),
            ModelParams::ModifiedBgNbd(p) => p.expected_if_alive(frequency, age, t, true),
            ModelParams::ParetoNbd(p) => Ok(p.expected_if_alive(frequency, age, t)),
            ModelParams::BgBb(p) => p.expected_if_alive(frequency, age, t),
        }
    }

    /// E[purchases in the next t | frequency, recency, T].
    pub fn conditional_expected_purchases(
        &self,
        frequency: f64,
        recency: f64,
        age: f64,
        t: f64,
    ) -> Result<f64, LtvError> {
        Ok(self.p_alive(frequency, recency, age)? * self.expected_if_alive(frequency, age, t)?)
    }

    /// E[X(t)]: purchases in the first t time units of a new customer.
    pub fn expected_purchases_new_customer(&self, t: f64) -> Result<f64, LtvError> {
        match self {
            ModelParams::BgNbd(p) => p.expected_purchases(t, false),
            ModelParams::ModifiedBgNbd(p) => p.expected_purchases(t, true),
            ModelParams::ParetoNbd(p) => Ok(p.expected_purchases(t)),
            ModelParams::BgBb(p) => p.expected_purchases(t),
        }
    }

    /// P(X(t) = n) for a new customer; for BG/BB t must be a whole number
    /// of opportunities.
    pub fn probability_of_purchases(&self, t: f64, n: u32) -> Result<f64, LtvError> {
        if !(t.is_finite() && t >= 0.0) {
            return Err(LtvError::InvalidOption {
                name: "t",
                message: format!("the time span must be a finite number of at least 0, not {t}."),
            });
        }
        match self {
            ModelParams::BgNbd(p) => Ok(p.probability_of_purchases(t, n, false)),
            ModelParams::ModifiedBgNbd(p) => Ok(p.probability_of_purchases(t, n, true)),
            ModelParams::ParetoNbd(p) => p.probability_of_purchases(t, n),
            ModelParams::BgBb(p) => {
                if t.fract() != 0.0 || t > f64::from(u32::MAX) {
                    return Err(LtvError::InvalidOption {
                        name: "t",
                        message: format!(
                            "BG/BB counts whole opportunities, so t must be a whole number, not {t}."
                        ),
                    });
                }
                Ok(p.probability_of_purchases(t as u32, n))
            }
        }
    }
}

/// The observation window a model was fitted on, for the record.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DataWindow {
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub end: OffsetDateTime,
}

/// A fitted purchase model as stored and reloaded for prediction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FittedModel {
    pub kind: ModelKind,
    /// Parameter values by name (`r`, `alpha`, `a`, `b`, …).
    pub params: BTreeMap<String, f64>,
    /// Total log-likelihood of the data at the estimate (without penalty).
    pub log_likelihood: f64,
    /// Akaike information criterion, 2k − 2 ln L: lower is better when
    /// comparing models on the same data.
    pub aic: f64,
    pub iterations: u64,
    pub evaluations: u64,
    /// The gradient vanished at the estimate (to 1e-6 per parameter).
    pub converged: bool,
    pub optimizer: Optimizer,
    /// Standard errors by parameter name; absent when the Hessian is not
    /// positive definite (a flat or boundary optimum).
    pub std_errors: Option<BTreeMap<String, f64>>,
    pub penalizer: f64,
    /// Customers (total weight) the model was fitted on.
    pub n_customers: f64,
    /// Distinct (frequency, recency, T) patterns after collapsing.
    pub n_patterns: u64,
    pub time_unit: TimeUnit,
    /// Set by the caller when the data came from dated transactions.
    pub data_window: Option<DataWindow>,
    /// Version of this crate that made the fit.
    pub engine_version: String,
}

impl FittedModel {
    /// The typed parameters; fails when a stored record lacks one or holds
    /// an invalid value.
    pub fn model_params(&self) -> Result<ModelParams, LtvError> {
        let names = self.kind.param_names();
        let mut v = [0.0; 4];
        for (slot, name) in v.iter_mut().zip(names) {
            *slot = *self.params.get(name).ok_or(LtvError::MissingParameter {
                kind: self.kind.name(),
                name,
            })?;
        }
        ModelParams::from_values(self.kind, v)
    }
}

/// Fits `kind` to customer summaries.
pub fn fit(
    kind: ModelKind,
    customers: &[CustomerSummary],
    options: &FitOptions,
    progress: &mut dyn FnMut(FitProgress),
) -> Result<FittedModel, LtvError> {
    let rows: Vec<RfmRow> = customers.iter().map(RfmRow::from).collect();
    fit_rows(kind, &rows, options, progress)
}

/// Fits `kind` to (frequency, recency, T, weight) rows, e.g. data already
/// aggregated into patterns. Identical rows are collapsed first.
pub fn fit_rows(
    kind: ModelKind,
    rows: &[RfmRow],
    options: &FitOptions,
    progress: &mut dyn FnMut(FitProgress),
) -> Result<FittedModel, LtvError> {
    validate(rows, kind.time_kind(), true)?;
    if rows.iter().all(|r| r.frequency == 0.0) {
        return Err(LtvError::NoRepeatBuyers);
    }
    let collapsed = collapse(rows);
    let n_patterns = collapsed.len() as u64;
    let names = kind.param_names();
    let max_age = collapsed.t.iter().copied().fold(0.0, f64::max);
    // Rates are per time unit, so their natural size follows the data's
    // span: start and penalise them on the scale where the oldest customer
    // has T = 10, as `lifetimes` does.
    let time_scale = if max_age > 0.0 { max_age / 10.0 } else { 1.0 };
    let e01 = 0.1f64.exp();
    let (defaults, penalty_scale) = match kind {
        ModelKind::BgNbd | ModelKind::ModifiedBgNbd => (
            [e01, e01 * time_scale, e01, e01],
            [1.0, 1.0 / time_scale, 1.0, 1.0],
        ),
        ModelKind::ParetoNbd => (
            [e01, e01 * time_scale, e01, e01 * time_scale],
            [1.0, 1.0 / time_scale, 1.0, 1.0 / time_scale],
        ),
        ModelKind::BgBb => ([e01; 4], [1.0; 4]),
    };
    let start = gamma_gamma::start_values(&names, &defaults, options)?;
    let objective = objective_for(kind, collapsed);
    let out = maximize(
        objective.as_ref(),
        kind.name(),
        &start,
        &penalty_scale,
        options,
        progress,
    )?;
    let values = [out.theta[0], out.theta[1], out.theta[2], out.theta[3]];
    ModelParams::from_values(kind, values).map_err(|e| LtvError::FitFailed {
        kind: kind.name(),
        reason: format!("the estimate is not usable: {e}"),
    })?;
    let to_map = |v: &[f64]| -> BTreeMap<String, f64> {
        names
            .iter()
            .zip(v)
            .map(|(n, v)| ((*n).to_owned(), *v))
            .collect()
    };
    Ok(FittedModel {
        kind,
        params: to_map(&out.theta),
        log_likelihood: out.log_likelihood,
        aic: 2.0 * 4.0 - 2.0 * out.log_likelihood,
        iterations: out.iterations,
        evaluations: out.evaluations,
        converged: out.converged,
        optimizer: out.optimizer,
        std_errors: out.std_errors.as_deref().map(to_map),
        penalizer: options.penalizer,
        n_customers: rows.iter().map(|r| r.weight).sum(),
        n_patterns,
        time_unit: options.time_unit,
        data_window: None,
        engine_version: env!("CARGO_PKG_VERSION").to_owned(),
    })
}

/// The total log-likelihood of `rows` under `params`, computed as fits do
/// (validated, collapsed into patterns, summed with weights); useful to
/// compare candidate parameters or models on the same data.
pub fn total_log_likelihood(params: &ModelParams, rows: &[RfmRow]) -> Result<f64, LtvError> {
    let kind = params.kind();
    validate(rows, kind.time_kind(), true)?;
    let objective = objective_for(kind, collapse(rows));
    objective
        .log_likelihood(&params.values(), None)
        .ok_or(LtvError::Numerical {
            what: "log-likelihood",
        })
}

fn objective_for(kind: ModelKind, rows: Collapsed) -> Box<dyn crate::fit::Objective> {
    match kind {
        ModelKind::BgNbd => Box::new(bgnbd::BgNbdObjective {
            rows,
            modified: false,
        }),
        ModelKind::ModifiedBgNbd => Box::new(bgnbd::BgNbdObjective {
            rows,
            modified: true,
        }),
        ModelKind::ParetoNbd => Box::new(pareto::ParetoObjective { rows }),
        ModelKind::BgBb => Box::new(bgbb::BgBbObjective { rows }),
    }
}
