//! Per-customer predictions (expected purchases, P(alive), churn risk,
//! expected order value, discounted CLV) and their aggregates per segment or
//! acquisition platform — the figures the bidder, planner and allocator use.

use kiki_core::stats::quantile_i64;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::data::CustomerSummary;
use crate::error::{LtvError, RowList};
use crate::models::{FittedModel, GammaGammaModel, GammaGammaParams, ModelKind, ModelParams};
use crate::rows::{KeyMap, RfmRow, TimeKind, key, validate};

/// The CLV horizon: `periods` periods of `period_days` days, each
/// discounted by `discount_rate`.
///
/// CLV = Σ_{i=1..periods} spend × (E[Y(t_i)] − E[Y(t_{i−1})]) / (1 + d)^i
/// with t_i = i × period_days converted to the model's time unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct PredictOptions {
    pub periods: u32,
    pub period_days: f64,
    /// Per period: 0.01 is 1 % a month with 30-day periods.
    pub discount_rate: f64,
}

impl Default for PredictOptions {
    /// One year of monthly periods at 1 % a month.
    fn default() -> Self {
        PredictOptions {
            periods: 12,
            period_days: 30.0,
            discount_rate: 0.01,
        }
    }
}

/// What the engine expects of one customer over the horizon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CustomerPrediction {
    pub customer_id: String,
    pub segment: Option<String>,
    pub platform: Option<String>,
    /// Expected purchases over the whole horizon.
    pub expected_purchases: f64,
    /// P(still an active customer at the end of observation), in [0, 1].
    pub p_alive: f64,
    /// 1 − P(alive).
    pub churn_risk: f64,
    /// Expected value of one future order (Gamma-Gamma); absent without a
    /// spend model.
    pub expected_aov_micros: Option<i64>,
    /// Discounted value of the expected future orders over the horizon;
    /// absent without a spend model.
    pub clv_micros: Option<i64>,
}

struct Prepared {
    params: ModelParams,
    spend: Option<GammaGammaParams>,
    /// Horizon points t_1..t_H in model time units.
    points: Vec<f64>,
    /// 1 / (1 + d)^i for each point.
    discounts: Vec<f64>,
}

fn prepare(
    model: &FittedModel,
    spend: Option<&GammaGammaModel>,
    options: &PredictOptions,
) -> Result<Prepared, LtvError> {
    let params = model.model_params()?;
    if let Some(s) = spend {
        s.params.validate()?;
    }
    if options.periods == 0 || options.periods > 10_000 {
        return Err(LtvError::InvalidOption {
            name: "periods",
            message: format!(
                "the horizon must have between 1 and 10000 periods, not {}.",
                options.periods
            ),
        });
    }
    if !(options.period_days.is_finite() && options.period_days > 0.0) {
        return Err(LtvError::InvalidOption {
            name: "period_days",
            message: format!(
                "a period must last a positive number of days, not {}.",
                options.period_days
            ),
        });
    }
    if !(options.discount_rate.is_finite() && options.discount_rate > -1.0) {
        return Err(LtvError::InvalidOption {
            name: "discount_rate",
            message: format!(
                "the discount rate must be a finite number above −1, not {}.",
                options.discount_rate
            ),
        });
    }
    let step = options.period_days / model.time_unit.days();
    let points = (1..=options.periods).map(|i| f64::from(i) * step).collect();
    let discounts = (1..=options.periods)
        .map(|i| (1.0 + options.discount_rate).powi(-(i as i32)))
        .collect();
    Ok(Prepared {
        params,
        spend: spend.map(|s| s.params),
        points,
        discounts,
    })
}

/// (expected purchases over the horizon, discounted expected purchases),
/// both given alive at T.
fn horizon_terms(p: &Prepared, x: f64, age: f64) -> Result<(f64, f64), LtvError> {
    let mut previous = 0.0;
    let mut discounted = 0.0;
    for (t, d) in p.points.iter().zip(&p.discounts) {
        let k = p.params.expected_if_alive(x, age, *t)?;
        discounted += (k - previous) * d;
        previous = k;
    }
    Ok((previous, discounted))
}

fn to_micros(value: f64, what: &'static str) -> Result<i64, LtvError> {
    let micros = (value * kiki_core::money::MICROS_PER_UNIT as f64).round();
    if micros.is_finite() && micros.abs() < 9.0e18 {
        Ok(micros as i64)
    } else {
        Err(LtvError::Numerical { what })
    }
}

fn spend_checks(customers: &[CustomerSummary], spend: bool) -> Result<(), LtvError> {
    if spend {
        let bad = RowList::collect(
            customers
                .iter()
                .map(|c| c.frequency > 0.0 && c.monetary_micros <= 0),
        );
        if !bad.is_empty() {
            return Err(LtvError::NonPositiveSpend { rows: bad });
        }
    }
    Ok(())
}

fn time_kind(kind: ModelKind) -> TimeKind {
    if kind == ModelKind::BgBb {
        TimeKind::Discrete
    } else {
        TimeKind::Continuous
    }
}

fn finish(
    p: &Prepared,
    c: &CustomerSummary,
    p_alive: f64,
    (total, discounted): (f64, f64),
) -> Result<CustomerPrediction, LtvError> {
    let expected_purchases = p_alive * total;
    if !(expected_purchases.is_finite() && p_alive.is_finite()) {
        return Err(LtvError::Numerical {
            what: "expected number of purchases",
        });
    }
    let (aov, clv) = match &p.spend {
        Some(s) => {
            let mean = c.monetary_micros as f64 / kiki_core::money::MICROS_PER_UNIT as f64;
            let aov = s.conditional_expected_spend(c.frequency, mean)?;
            (
                Some(to_micros(aov, "expected order value")?),
                Some(to_micros(
                    aov * p_alive * discounted,
                    "customer lifetime value",
                )?),
            )
        }
        None => (None, None),
    };
    Ok(CustomerPrediction {
        customer_id: c.customer_id.clone(),
        segment: c.segment.clone(),
        platform: c.platform.clone(),
        expected_purchases,
        p_alive,
        churn_risk: 1.0 - p_alive,
        expected_aov_micros: aov,
        clv_micros: clv,
    })
}

/// Predicts one customer.
pub fn predict_customer(
    model: &FittedModel,
    spend: Option<&GammaGammaModel>,
    customer: &CustomerSummary,
    options: &PredictOptions,
) -> Result<CustomerPrediction, LtvError> {
    let p = prepare(model, spend, options)?;
    let one = std::slice::from_ref(customer);
    validate(&[RfmRow::from(customer)], time_kind(model.kind), false)?;
    spend_checks(one, spend.is_some())?;
    let p_alive = p
        .params
        .p_alive(customer.frequency, customer.recency, customer.age)?;
    let terms = horizon_terms(&p, customer.frequency, customer.age)?;
    finish(&p, customer, p_alive, terms)
}

/// Predicts many customers in parallel. P(alive) is computed once per
/// distinct (frequency, recency, T) and the horizon terms once per
/// distinct (frequency, T), so the cost grows with the number of patterns
/// rather than customers. Results are in input order.
pub fn predict_batch(
    model: &FittedModel,
    spend: Option<&GammaGammaModel>,
    customers: &[CustomerSummary],
    options: &PredictOptions,
) -> Result<Vec<CustomerPrediction>, LtvError> {
    let p = prepare(model, spend, options)?;
    if customers.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<RfmRow> = customers.iter().map(RfmRow::from).collect();
    validate(&rows, time_kind(model.kind), false)?;
    spend_checks(customers, spend.is_some())?;

    let (patterns, customer_pattern) = crate::rows::patterns(&rows);
    let mut pair_index: KeyMap<(u64, u64, u64), u32> = KeyMap::default();
    let mut pairs: Vec<(f64, f64)> = Vec::new();
    let pattern_pair: Vec<u32> = patterns
        .iter()
        .map(|r| {
            *pair_index
                .entry(key(r.frequency, 0.0, r.age))
                .or_insert_with(|| {
                    pairs.push((r.frequency, r.age));
                    (pairs.len() - 1) as u32
                })
        })
        .collect();

    let alive: Vec<f64> = patterns
        .par_iter()
        .map(|r| p.params.p_alive(r.frequency, r.recency, r.age))
        .collect::<Result<_, _>>()?;
    let terms: Vec<(f64, f64)> = pairs
        .par_iter()
        .map(|&(x, age)| horizon_terms(&p, x, age))
        .collect::<Result<_, _>>()?;

    customers
        .par_iter()
        .zip(customer_pattern.par_iter())
        .map(|(c, &k)| {
            let k = k as usize;
            finish(&p, c, alive[k], terms[pattern_pair[k] as usize])
        })
        .collect()
}

/// How predictions are grouped by [`aggregate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    All,
    Segment,
    Platform,
}

/// CLV figures of one group of customers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SegmentValue {
    /// The segment or platform; `None` for customers without one (and for
    /// the single group of [`GroupBy::All`]).
    pub key: Option<String>,
    pub count: u64,
    /// Customers with a CLV (all of them when a spend model was given).
    pub valued: u64,
    pub total_clv_micros: i64,
    pub mean_clv_micros: i64,
    pub p25_clv_micros: i64,
    pub p50_clv_micros: i64,
    pub p75_clv_micros: i64,
    pub expected_purchases: f64,
    pub mean_p_alive: f64,
}

/// Totals and quartiles of CLV per group, sorted by key (`None` first).
pub fn aggregate(predictions: &[CustomerPrediction], by: GroupBy) -> Vec<SegmentValue> {
    let mut groups: std::collections::BTreeMap<Option<&str>, Vec<&CustomerPrediction>> =
        Default::default();
    for p in predictions {
        let k = match by {
            GroupBy::All => None,
            GroupBy::Segment => p.segment.as_deref(),
            GroupBy::Platform => p.platform.as_deref(),
        };
        groups.entry(k).or_default().push(p);
    }
    groups
        .into_iter()
        .map(|(k, members)| {
            let mut values: Vec<i64> = members.iter().filter_map(|p| p.clv_micros).collect();
            values.sort_unstable();
            let total: i128 = values.iter().map(|v| i128::from(*v)).sum();
            let clamp =
                |v: i128| i64::try_from(v).unwrap_or(if v > 0 { i64::MAX } else { i64::MIN });
            let n = members.len() as f64;
            SegmentValue {
                key: k.map(str::to_owned),
                count: members.len() as u64,
                valued: values.len() as u64,
                total_clv_micros: clamp(total),
                mean_clv_micros: if values.is_empty() {
                    0
                } else {
                    clamp(total / values.len() as i128)
                },
                p25_clv_micros: quantile_i64(&values, 0.25).unwrap_or(0),
                p50_clv_micros: quantile_i64(&values, 0.5).unwrap_or(0),
                p75_clv_micros: quantile_i64(&values, 0.75).unwrap_or(0),
                expected_purchases: members.iter().map(|p| p.expected_purchases).sum(),
                mean_p_alive: members.iter().map(|p| p.p_alive).sum::<f64>() / n,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prediction(segment: Option<&str>, clv: Option<i64>) -> CustomerPrediction {
        CustomerPrediction {
            customer_id: "c".into(),
            segment: segment.map(str::to_owned),
            platform: Some("meta".into()),
            expected_purchases: 1.0,
            p_alive: 0.5,
            churn_risk: 0.5,
            expected_aov_micros: clv,
            clv_micros: clv,
        }
    }

    #[test]
    fn aggregates_group_by_segment_with_missing_segments_apart() {
        let preds = vec![
            prediction(Some("vip"), Some(100)),
            prediction(Some("vip"), Some(300)),
            prediction(None, Some(7)),
            prediction(Some("new"), None),
        ];
        let by_segment = aggregate(&preds, GroupBy::Segment);
        let keys: Vec<Option<&str>> = by_segment.iter().map(|s| s.key.as_deref()).collect();
        assert_eq!(keys, vec![None, Some("new"), Some("vip")]);
        let vip = &by_segment[2];
        assert_eq!(
            (
                vip.count,
                vip.total_clv_micros,
                vip.mean_clv_micros,
                vip.p50_clv_micros
            ),
            (2, 400, 200, 200)
        );
        assert_eq!(by_segment[1].valued, 0);
        let all = aggregate(&preds, GroupBy::All);
        assert_eq!(
            (all.len(), all[0].count, all[0].total_clv_micros),
            (1, 4, 407)
        );
        assert_eq!(
            aggregate(&preds, GroupBy::Platform)[0].key.as_deref(),
            Some("meta")
        );
    }
}
