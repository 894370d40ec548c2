//! Time-based regression (TBR) for matched-market tests (Kerman, Wang &
//! Vaver 2017, "Estimating ad effectiveness using geo experiments in a
//! time-based regression framework"; google/matched_markets).
//!
//! The treatment group's daily total is regressed on the control group's
//! over the pre-period by ordinary least squares. The counterfactual over the
//! test period is that line applied to the control group's test-period
//! totals; the incremental response is the observed minus the
//! counterfactual, summed. Its predictive distribution is a Student t on
//! `n − 2` degrees of freedom with variance `T σ² + T² x̄ᵀ V x̄`, where `T` is
//! the test length, `σ²` the residual variance, `V` the coefficients'
//! covariance and `x̄ = (1, mean control over the test)`. With a fixed
//! incremental spend (spend only in the treatment group, only during the
//! test), the iROAS is the incremental response over the spend and its
//! interval is the response interval divided by the spend.
//!
//! Spend is an `f64` here: this is a statistical engine, and the estimate
//! is a ratio whose uncertainty dwarfs any rounding; money is exact where it
//! is billed, not in the estimator.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

use crate::conformal::Interval;
use crate::error::{LiftError, Result};
use crate::geo::fmt_num;
use crate::panel::Panel;

/// One- or two-sided intervals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tails {
    /// A lower bound only (the upper is unbounded): "at least this much".
    #[default]
    One,
    /// Both bounds, `(1 − level) / 2` in each tail.
    Two,
}

/// The two groups' daily totals and the test's spend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TbrInput {
    /// Treatment group total per pre-period day.
    pub pre_treatment: Vec<f64>,
    /// Control group total per pre-period day.
    pub pre_control: Vec<f64>,
    /// Treatment group total per test day.
    pub test_treatment: Vec<f64>,
    /// Control group total per test day.
    pub test_control: Vec<f64>,
    /// Incremental spend over the test (treatment only), for the iROAS.
    #[serde(default)]
    pub incremental_spend: Option<f64>,
    /// Interval level, e.g. 0.9.
    pub level: f64,
    /// One- or two-sided.
    #[serde(default)]
    pub tails: Tails,
    /// Share of the unit-days behind the totals that were observed rather
    /// than filled in as zero ([`TbrInput::from_panel`] sets it).
    #[serde(default)]
    pub coverage: Option<f64>,
}

impl TbrInput {
    /// Sums the named units of `panel` into the two groups' daily totals
    /// over the pre-period `pre.0..pre.1` and the test `test.0..test.1`.
    pub fn from_panel<S: AsRef<str>>(
        panel: &Panel,
        treatment: &[S],
        control: &[S],
        pre: (usize, usize),
        test: (usize, usize),
    ) -> Result<Self> {
        let t = panel.unit_indexes(treatment)?;
        let c = panel.unit_indexes(control)?;
        if t.is_empty() || c.is_empty() {
            return Err(LiftError::invalid(
                "Both the treatment and the control group need at least one unit.",
            ));
        }
        if t.iter().any(|u| c.contains(u)) {
            return Err(LiftError::invalid(
                "A unit cannot be in both the treatment and the control group.",
            ));
        }
        let n = panel.n_periods();
        if !(pre.0 < pre.1 && pre.1 <= test.0 && test.0 < test.1 && test.1 <= n) {
            return Err(LiftError::invalid(format!(
                "The pre-period {}..{} must end before the test {}..{} starts, inside the panel's {n} periods.",
                pre.0, pre.1, test.0, test.1
            )));
        }
        let sum = |units: &[usize], range: (usize, usize)| -> Vec<f64> {
            (range.0..range.1)
                .map(|p| units.iter().map(|&u| panel.series(u)[p]).sum())
                .collect()
        };
        let all: Vec<usize> = t.iter().chain(&c).copied().collect();
        Ok(TbrInput {
            coverage: Some(panel.coverage(&all, pre.0, test.1)),
            pre_treatment: sum(&t, pre),
            pre_control: sum(&c, pre),
            test_treatment: sum(&t, test),
            test_control: sum(&c, test),
            incremental_spend: None,
            level: 0.9,
            tails: Tails::One,
        })
    }
}

/// The iROAS and its interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Iroas {
    /// The spend it divides by.
    pub incremental_spend: f64,
    /// Incremental response per unit of spend.
    pub estimate: f64,
    /// Distance from the estimate to the lower bound (matched_markets'
    /// "precision").
    pub precision: f64,
    /// The interval.
    pub interval: Interval,
}

/// A TBR analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TbrResult {
    /// Intercept of the pre-period regression.
    pub intercept: f64,
    /// Slope on the control group's total.
    pub slope: f64,
    /// Residual standard deviation.
    pub sigma: f64,
    /// Degrees of freedom, `n − 2`.
    pub df: f64,
    /// Pre-period R².
    pub r_squared: f64,
    /// Pre-period days.
    pub pre_periods: usize,
    /// Test days.
    pub test_periods: usize,
    /// The treatment group's counterfactual per test day.
    pub counterfactual: Vec<f64>,
    /// Observed treatment total over the test.
    pub observed_total: f64,
    /// Incremental response over the test (observed − counterfactual).
    pub incremental_response: f64,
    /// Scale of the t distribution of the incremental response.
    pub scale: f64,
    /// Interval for the incremental response.
    pub response_interval: Interval,
    /// Probability the incremental response is above zero.
    pub probability_positive: f64,
    /// Incremental over counterfactual response.
    pub relative_lift: f64,
    /// Interval for the relative lift.
    pub relative_lift_interval: Interval,
    /// iROAS, when an incremental spend was given.
    pub iroas: Option<Iroas>,
    /// Share of the unit-days behind the totals that were observed, when
    /// known.
    pub coverage: Option<f64>,
    /// Data warnings (empty when none).
    pub warnings: Vec<String>,
    /// The result in one sentence.
    pub summary: String,
}

/// Runs a time-based regression.
pub fn time_based_regression(input: &TbrInput) -> Result<TbrResult> {
    let n = input.pre_treatment.len();
    if input.pre_control.len() != n || input.test_control.len() != input.test_treatment.len() {
        return Err(LiftError::invalid(
            "The treatment and control series must have the same length in each period.",
        ));
    }
    if n < 3 {
        return Err(LiftError::insufficient(
            "TBR needs at least three pre-period days (one degree of freedom for the residuals).",
        ));
    }
    let t_len = input.test_treatment.len();
    if t_len == 0 {
        return Err(LiftError::insufficient("The test period is empty."));
    }
    if !(input.level > 0.0 && input.level < 1.0) {
        return Err(LiftError::invalid(format!(
            "The level must lie strictly between 0 and 1 (got {}).",
            input.level
        )));
    }
    let all = input
        .pre_treatment
        .iter()
        .chain(&input.pre_control)
        .chain(&input.test_treatment)
        .chain(&input.test_control);
    if all.into_iter().any(|v| !v.is_finite()) {
        return Err(LiftError::invalid(
            "A series holds a value that is not a finite number.",
        ));
    }
    let nf = n as f64;
    let x = &input.pre_control;
    let y = &input.pre_treatment;
    let mx = x.iter().sum::<f64>() / nf;
    let my = y.iter().sum::<f64>() / nf;
    let sxx: f64 = x.iter().map(|v| (v - mx).powi(2)).sum();
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let syy: f64 = y.iter().map(|v| (v - my).powi(2)).sum();
    if sxx <= 0.0 {
        return Err(LiftError::insufficient(
            "The control group's pre-period total does not vary, so no regression can be fitted.",
        ));
    }
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let rss: f64 = x
        .iter()
        .zip(y)
        .map(|(a, b)| (b - intercept - slope * a).powi(2))
        .sum();
    let df = nf - 2.0;
    let sigma2 = rss / df;
    let r_squared = if syy > 0.0 { 1.0 - rss / syy } else { 0.0 };

    let counterfactual: Vec<f64> = input
        .test_control
        .iter()
        .map(|c| intercept + slope * c)
        .collect();
    let observed_total: f64 = input.test_treatment.iter().sum();
    let incremental: f64 = observed_total - counterfactual.iter().sum::<f64>();
    // Var(Σ effect) = T σ² + T² x̄ᵀ V x̄, V = σ² (XᵀX)⁻¹; in centred form
    // x̄ᵀ (XᵀX)⁻¹ x̄ = 1/n + (x̄ − mean x)² / Sxx.
    let tf = t_len as f64;
    let xbar = input.test_control.iter().sum::<f64>() / tf;
    let param = sigma2 * (1.0 / nf + (xbar - mx).powi(2) / sxx);
    let variance = tf * sigma2 + tf * tf * param;
    let scale = variance.sqrt();
    let dist = StudentsT::new(0.0, 1.0, df).map_err(|e| {
        LiftError::Numerical(format!("Student t with {df} degrees of freedom: {e}"))
    })?;
    let tail = match input.tails {
        Tails::One => 1.0 - input.level,
        Tails::Two => (1.0 - input.level) / 2.0,
    };
    let q = -dist.inverse_cdf(tail);
    let lower = incremental - q * scale;
    let upper = match input.tails {
        Tails::One => None,
        Tails::Two => Some(incremental + q * scale),
    };
    let response_interval = Interval {
        lower: Some(lower),
        upper,
    };
    let probability_positive = if scale > 0.0 {
        dist.cdf(incremental / scale)
    } else if incremental > 0.0 {
        1.0
    } else {
        0.0
    };
    let lift_of = |d: f64| d / (observed_total - d);
    let relative_lift = lift_of(incremental);
    let relative_lift_interval = Interval {
        lower: Some(lift_of(lower)),
        upper: upper.map(lift_of),
    };
    let iroas = match input.incremental_spend {
        None => None,
        Some(s) if s.is_finite() && s > 0.0 => Some(Iroas {
            incremental_spend: s,
            estimate: incremental / s,
            precision: q * scale / s,
            interval: Interval {
                lower: Some(lower / s),
                upper: upper.map(|u| u / s),
            },
        }),
        Some(s) => {
            return Err(LiftError::invalid(format!(
                "The incremental spend must be a positive number (got {s})."
            )));
        }
    };
    let mut warnings = Vec::new();
    if n < 3 * t_len {
        warnings.push(format!(
            "The pre-period ({n} days) is shorter than three times the test ({t_len} days)."
        ));
    }
    if let Some(c) = input.coverage.filter(|c| *c < 0.99) {
        warnings.push(format!(
            "{:.1}% of the unit-days behind the group totals were missing and counted as zero.",
            (1.0 - c) * 100.0
        ));
    }
    if r_squared < 0.8 {
        warnings.push(format!(
            "The control group explains only {:.0}% of the treatment group's pre-period variation.",
            r_squared * 100.0
        ));
    }
    let pct = (input.level * 100.0).round();
    let summary = match &iroas {
        Some(i) => format!(
            "Incremental response {} over {t_len} days ({:+.1}% lift) for a spend of {}: iROAS {:.3}, {pct}% {} [{}, {}]; probability of a positive effect {:.3}.",
            fmt_num(incremental, 0),
            relative_lift * 100.0,
            fmt_num(i.incremental_spend, 0),
            i.estimate,
            if input.tails == Tails::One {
                "one-sided interval"
            } else {
                "interval"
            },
            fmt_num(i.interval.lower.unwrap_or(f64::NEG_INFINITY), 3),
            i.interval.upper.map_or("+∞".into(), |u| fmt_num(u, 3)),
            probability_positive
        ),
        None => format!(
            "Incremental response {} over {t_len} days ({:+.1}% lift), {pct}% interval [{}, {}]; probability of a positive effect {:.3}.",
            fmt_num(incremental, 0),
            relative_lift * 100.0,
            fmt_num(lower, 0),
            upper.map_or("+∞".into(), |u| fmt_num(u, 0)),
            probability_positive
        ),
    };
    Ok(TbrResult {
        intercept,
        slope,
        sigma: sigma2.sqrt(),
        df,
        r_squared,
        pre_periods: n,
        test_periods: t_len,
        counterfactual,
        observed_total,
        incremental_response: incremental,
        scale,
        response_interval,
        probability_positive,
        relative_lift,
        relative_lift_interval,
        iroas,
        coverage: input.coverage,
        warnings,
        summary,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exact_line_with_a_known_lift() {
        // Treatment = 2 + 3 × control exactly, then +10 a day in the test.
        let pre_control: Vec<f64> = (0..10).map(|t| 10.0 + t as f64).collect();
        let pre_treatment: Vec<f64> = pre_control.iter().map(|c| 2.0 + 3.0 * c).collect();
        let test_control = vec![12.0, 15.0, 11.0];
        let test_treatment: Vec<f64> = test_control.iter().map(|c| 12.0 + 3.0 * c).collect();
        let r = time_based_regression(&TbrInput {
            pre_treatment,
            pre_control,
            test_treatment,
            test_control,
            incremental_spend: Some(15.0),
            level: 0.9,
            tails: Tails::Two,
            coverage: None,
        })
        .unwrap();
        assert!((r.slope - 3.0).abs() < 1e-12 && (r.intercept - 2.0).abs() < 1e-9);
        assert!((r.incremental_response - 30.0).abs() < 1e-9);
        assert!(r.scale < 1e-6, "no residual noise");
        assert!((r.iroas.unwrap().estimate - 2.0).abs() < 1e-9);
        assert_eq!(r.probability_positive, 1.0);
    }

    #[test]
    fn short_or_flat_pre_periods_are_refused() {
        let input = TbrInput {
            pre_treatment: vec![1.0, 2.0],
            pre_control: vec![1.0, 2.0],
            test_treatment: vec![1.0],
            test_control: vec![1.0],
            incremental_spend: None,
            level: 0.9,
            tails: Tails::One,
            coverage: None,
        };
        assert!(matches!(
            time_based_regression(&input),
            Err(LiftError::InsufficientData(_))
        ));
        let flat = TbrInput {
            pre_treatment: vec![1.0, 2.0, 3.0],
            pre_control: vec![5.0; 3],
            ..input
        };
        assert!(time_based_regression(&flat).is_err());
    }
}
