//! The fit pipeline over the engine (summaries → fit → spend model → holdout
//! → predictions), its plain-language explanation, the stored parameter map
//! and the horizon arithmetic of predictions.

use std::borrow::Cow;
use std::collections::BTreeMap;

use kiki_ltv::{
    CalibrationHoldout, CustomerPrediction, CustomerSummary, DataWindow, FitOptions, FitProgress,
    FittedModel, GammaGamma, GammaGammaModel, HoldoutReport, LtvError, ModelKind, PredictOptions,
    Transaction, TransactionLog,
};
use time::{Duration, OffsetDateTime};

use super::FitSpec;
use crate::error::LtvServiceError;

/// Monthly-ish periods covering exactly `horizon_days`, discounted so that a
/// year of periods compounds to the annual rate.
pub fn predict_options(horizon_days: u32, annual_discount_rate: f64) -> PredictOptions {
    let periods = ((f64::from(horizon_days) / 30.0).round() as u32).max(1);
    let period_days = f64::from(horizon_days) / f64::from(periods);
    PredictOptions {
        periods,
        period_days,
        discount_rate: (1.0 + annual_discount_rate).powf(period_days / 365.0) - 1.0,
    }
}

/// Where a running fit is, for the job's progress.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub fraction: f64,
    pub message: String,
}

/// Everything a fit produces, ready to store.
#[derive(Debug, Clone)]
pub struct FitOutcome {
    pub fitted: FittedModel,
    pub gamma_gamma: Option<GammaGammaModel>,
    pub holdout: Option<HoldoutReport>,
    pub window: DataWindow,
    pub calibration_end: Option<OffsetDateTime>,
    pub summaries: Vec<CustomerSummary>,
    pub predictions: Vec<CustomerPrediction>,
}

/// The fit pipeline on transactions; see [`compute_fit_log`].
pub fn compute_fit(
    transactions: &[Transaction],
    spec: &FitSpec,
    progress: &mut dyn FnMut(Progress),
) -> Result<FitOutcome, LtvServiceError> {
    compute_fit_log(
        &TransactionLog::from_transactions(transactions),
        spec,
        progress,
    )
}

/// The fit pipeline on a transaction log (what the CLI reads a file into
/// and the job builds from stored rows). `progress` is called often; it
/// must be cheap.
pub fn compute_fit_log(
    log: &TransactionLog,
    spec: &FitSpec,
    progress: &mut dyn FnMut(Progress),
) -> Result<FitOutcome, LtvServiceError> {
    let (Some(first), Some(last)) = (log.first_at(), log.last_at()) else {
        return Err(LtvError::EmptyData.into());
    };
    let observation_end = spec.observation_end.unwrap_or(last);
    if observation_end < first {
        return Err(LtvServiceError::invalid(
            "observation_end",
            "The observation end is before the first transaction.",
        ));
    }
    let calibration_end = match (spec.calibration_end, spec.holdout_days) {
        (Some(c), _) => Some(c),
        (None, Some(days)) => Some(observation_end - Duration::days(i64::from(days))),
        (None, None) => None,
    };
    progress(Progress {
        fraction: 0.05,
        message: "summarising transactions".into(),
    });
    let summaries = if spec.kind == ModelKind::BgBb {
        log.summarize_periods(observation_end, spec.unit)
    } else {
        log.summarize(observation_end, spec.unit)
    };
    let split: Option<Vec<CalibrationHoldout>> = match calibration_end {
        None => None,
        Some(c) => {
            if c <= first {
                return Err(LtvServiceError::invalid(
                    "calibration_end",
                    "The calibration period must end after the first transaction.",
                ));
            }
            Some(log.calibration_holdout_split(c, observation_end, spec.unit)?)
        }
    };
    let fit_data: Cow<'_, [CustomerSummary]> = match &split {
        Some(s) => Cow::Owned(s.iter().map(|c| c.calibration.clone()).collect()),
        None => Cow::Borrowed(&summaries),
    };
    let options = FitOptions {
        time_unit: spec.unit,
        penalizer: spec.penalizer,
        ..FitOptions::default()
    };
    let name = spec.kind.name();
    let mut report = |share: (f64, f64), what: &str, p: FitProgress| {
        let done = if p.max_iterations > 0 {
            (p.evaluations as f64 / p.max_iterations as f64).min(1.0)
        } else {
            0.0
        };
        progress(Progress {
            fraction: share.0 + (share.1 - share.0) * done,
            message: format!("fitting {what}: {} evaluations", p.evaluations),
        });
    };
    let purchase_failed = |e: LtvError| model_failed(spec.kind, e);
    let mut fitted = kiki_ltv::fit(spec.kind, &fit_data, &options, &mut |p| {
        report((0.1, 0.6), name, p)
    })
    .map_err(purchase_failed)?;
    let window = DataWindow {
        start: first,
        end: calibration_end.unwrap_or(observation_end),
    };
    fitted.data_window = Some(window);
    let gamma_gamma = if spec.gamma_gamma {
        Some(
            GammaGamma::fit(&fit_data, &options, &mut |p| {
                report((0.6, 0.75), "Gamma-Gamma", p)
            })
            .map_err(|e| {
                // Anything about the data (no repeat buyers, no positive
                // spend, no convergence) names the spend model; only an
                // internal fault stays one.
                if e.error_code() != kiki_core::ErrorCode::Internal {
                    LtvServiceError::ModelFailed {
                        field: "gamma_gamma",
                        message: format!(
                            "The Gamma-Gamma spend model cannot be used on this data: {e} Fit with `gamma_gamma`: false for purchase forecasts without order values, or fit again with more repeat purchases."
                        ),
                    }
                } else {
                    e.into()
                }
            })?,
        )
    } else {
        None
    };
    let holdout = match &split {
        Some(s) => {
            progress(Progress {
                fraction: 0.8,
                message: "scoring the holdout period".into(),
            });
            Some(kiki_ltv::holdout_report(&fitted, s, false).map_err(purchase_failed)?)
        }
        None => None,
    };
    progress(Progress {
        fraction: 0.85,
        message: format!("predicting {} customers", summaries.len()),
    });
    let predictions = kiki_ltv::predict_batch(
        &fitted,
        gamma_gamma.as_ref(),
        &summaries,
        &predict_options(spec.horizon_days, spec.discount_rate),
    )
    .map_err(purchase_failed)?;
    Ok(FitOutcome {
        fitted,
        gamma_gamma,
        holdout,
        window,
        calibration_end,
        summaries,
        predictions,
    })
}

/// A model failure (optimiser or numerical) as a 422 naming the model and
/// what to try; other engine errors pass through.
fn model_failed(kind: ModelKind, e: LtvError) -> LtvServiceError {
    if !e.is_model_failure() {
        return e.into();
    }
    let others: Vec<&str> = [
        (ModelKind::BgNbd, "`bgnbd`"),
        (ModelKind::ParetoNbd, "`pareto`"),
        (ModelKind::ModifiedBgNbd, "`mbgnbd`"),
    ]
    .into_iter()
    .filter(|(k, _)| *k != kind)
    .map(|(_, n)| n)
    .collect();
    LtvServiceError::ModelFailed {
        field: "model",
        message: format!(
            "The {} model cannot be used on this data: {e} Try another model (`model`: {}), a small `penalizer` such as 0.01, or fit again when more transactions are stored.",
            kind.name(),
            others.join(" or ")
        ),
    }
}

/// A plain-language account of a fit, for its decision record.
pub fn explain_fit(outcome: &FitOutcome, spec: &FitSpec) -> String {
    let f = &outcome.fitted;
    let mut s = format!(
        "Fitted a {} model on {} customers ({} to {}, in {}) by maximum likelihood; log-likelihood {:.2} after {} iterations, {}.",
        f.kind.name(),
        f.n_customers,
        outcome.window.start.date(),
        outcome.window.end.date(),
        spec.unit.as_str(),
        f.log_likelihood,
        f.iterations,
        if f.converged {
            "converged"
        } else {
            "NOT converged: read the parameters with care"
        }
    );
    if let Some(h) = &outcome.holdout {
        s.push_str(&format!(
            " On the held-out period it predicted {:.0} purchases against {:.0} actual (mean absolute error {:.3} per customer).",
            h.total_predicted, h.total_actual, h.mae
        ));
    }
    if outcome.gamma_gamma.is_some() {
        s.push_str(&format!(
            " CLV is the discounted value of expected orders over {} days at {:.1} % a year.",
            spec.horizon_days,
            spec.discount_rate * 100.0
        ));
    }
    s
}

/// The parameter map of a fitted model, with the spend model's under `gg_*`.
pub fn all_params(outcome: &FitOutcome) -> BTreeMap<String, f64> {
    let mut m = outcome.fitted.params.clone();
    if let Some(gg) = &outcome.gamma_gamma {
        m.insert("gg_p".into(), gg.params.p);
        m.insert("gg_q".into(), gg.params.q);
        m.insert("gg_gamma".into(), gg.params.gamma);
    }
    m
}
