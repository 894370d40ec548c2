//! Holdout evaluation: a model fitted on the calibration period predicts
//! each customer's purchases in the holdout period, and the report compares
//! them with what the customers actually did.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::CalibrationHoldout;
use crate::error::LtvError;
use crate::models::FittedModel;
use crate::rows::{RfmRow, TimeKind, validate};

/// Predicted and actual holdout purchases of one customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HoldoutCustomer {
    pub customer_id: String,
    pub predicted: f64,
    pub actual: f64,
}

/// Mean predicted and actual holdout purchases of the customers with a
/// given calibration frequency: the usual "conditional expectations" check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FrequencyBucket {
    /// Calibration frequency; the last bucket holds this many or more.
    pub frequency: u32,
    pub customers: u64,
    pub mean_predicted: f64,
    pub mean_actual: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct HoldoutReport {
    pub n_customers: u64,
    /// Mean absolute error of per-customer purchase counts.
    pub mae: f64,
    /// Root mean squared error of per-customer purchase counts.
    pub rmse: f64,
    pub total_predicted: f64,
    pub total_actual: f64,
    /// (total predicted − total actual) / total actual; absent when no
    /// customer bought in the holdout.
    pub aggregate_error: Option<f64>,
    pub by_frequency: Vec<FrequencyBucket>,
    pub per_customer: Option<Vec<HoldoutCustomer>>,
}

/// Calibration frequencies from this value up share one bucket.
const LAST_BUCKET: u32 = 7;

/// Scores `model` on the holdout period of `data`.
pub fn holdout_report(
    model: &FittedModel,
    data: &[CalibrationHoldout],
    include_per_customer: bool,
) -> Result<HoldoutReport, LtvError> {
    let params = model.model_params()?;
    let rows: Vec<RfmRow> = data.iter().map(|d| RfmRow::from(&d.calibration)).collect();
    let kind = if model.kind == crate::models::ModelKind::BgBb {
        TimeKind::Discrete
    } else {
        TimeKind::Continuous
    };
    validate(&rows, kind, false)?;
    let bad = crate::error::RowList::collect(
        data.iter()
            .map(|d| !(d.holdout_frequency.is_finite() && d.holdout_frequency >= 0.0)),
    );
    if !bad.is_empty() {
        return Err(LtvError::Negative {
            field: "holdout_frequency",
            rows: bad,
        });
    }
    let predicted: Vec<f64> = data
        .par_iter()
        .map(|d| {
            let c = &d.calibration;
            params.conditional_expected_purchases(c.frequency, c.recency, c.age, d.holdout_duration)
        })
        .collect::<Result<_, _>>()?;
    let n = data.len() as f64;
    let (mut abs, mut sq, mut total_p, mut total_a) = (0.0, 0.0, 0.0, 0.0);
    let mut buckets: Vec<(u64, f64, f64)> = vec![(0, 0.0, 0.0); LAST_BUCKET as usize + 1];
    for (d, p) in data.iter().zip(&predicted) {
        let a = d.holdout_frequency;
        abs += (p - a).abs();
        sq += (p - a) * (p - a);
        total_p += p;
        total_a += a;
        let b = &mut buckets[(d.calibration.frequency as u32).min(LAST_BUCKET) as usize];
        b.0 += 1;
        b.1 += p;
        b.2 += a;
    }
    let by_frequency = buckets
        .into_iter()
        .enumerate()
        .filter(|(_, b)| b.0 > 0)
        .map(|(f, (count, p, a))| FrequencyBucket {
            frequency: f as u32,
            customers: count,
            mean_predicted: p / count as f64,
            mean_actual: a / count as f64,
        })
        .collect();
    Ok(HoldoutReport {
        n_customers: data.len() as u64,
        mae: if n > 0.0 { abs / n } else { 0.0 },
        rmse: if n > 0.0 { (sq / n).sqrt() } else { 0.0 },
        total_predicted: total_p,
        total_actual: total_a,
        aggregate_error: (total_a > 0.0).then(|| (total_p - total_a) / total_a),
        by_frequency,
        per_customer: include_per_customer.then(|| {
            data.iter()
                .zip(&predicted)
                .map(|(d, p)| HoldoutCustomer {
                    customer_id: d.calibration.customer_id.clone(),
                    predicted: *p,
                    actual: d.holdout_frequency,
                })
                .collect()
        }),
    })
}
