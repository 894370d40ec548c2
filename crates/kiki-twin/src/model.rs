//! The market model: per platform (and per ad set where history exists) the
//! distributions the simulation draws from, the response to spend (Hill
//! saturation and geometric adstock) and weekday seasonality. Built by
//! [`crate::estimate()`], read by [`crate::simulate()`]; it can also be written by
//! hand (every field is documented and validated) for what-if analysis.

use kiki_core::{Currency, FieldError};
use serde::{Deserialize, Serialize};
use time::Date;

use crate::dist::{BetaDist, LogNormalDist};
use crate::fields::Fields;
use crate::platform::Platform;
use crate::priors::Industry;

time::serde::format_description!(pub(crate) iso_date, Date, "[year]-[month]-[day]");

/// Which value of an acquired customer counts as revenue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum ValueBasis {
    /// First-order revenue inside the plan's period: what the ledger will
    /// measure and bill. The default.
    #[default]
    Revenue,
    /// The customer's lifetime value from the LTV engine.
    Ltv,
}

/// The days of history a set of parameters was estimated from
/// (`HistoryWindow` in the API document; the LTV context has a `DataWindow`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = HistoryWindow)]
pub struct DataWindow {
    #[serde(with = "iso_date")]
    #[schema(value_type = String, format = Date)]
    pub first_day: Date,
    #[serde(with = "iso_date")]
    #[schema(value_type = String, format = Date)]
    pub last_day: Date,
    /// Days with data inside the window (gaps are not counted).
    pub days: u32,
}

/// Where a platform's parameters came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ParameterSource {
    /// Industry priors only: no usable history.
    Prior,
    /// History shrunk towards the priors (the usual case).
    Blended,
    /// Written by hand or supplied by the caller.
    Supplied,
}

/// A Hill saturation curve `x^s / (x^s + k^s)`: 0 at no spend, ½ at the
/// half-saturation spend `k`, approaching 1; concave for `s ≤ 1`, S-shaped
/// for `s > 1`. The curve used by Robyn, Meridian and PyMC-Marketing.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Hill {
    /// Daily spend (major units) at which the curve reaches one half; above 0.
    #[schema(exclusive_minimum = 0.0)]
    pub half_saturation: f64,
    /// Shape `s`, 0.1 to 10.
    #[schema(minimum = 0.1, maximum = 10.0)]
    pub shape: f64,
}

impl Hill {
    /// `h(x)`, computed as `1 / (1 + (k/x)^s)` so large ratios cannot overflow.
    pub fn value(&self, x: f64) -> f64 {
        if x <= 0.0 {
            0.0
        } else {
            1.0 / (1.0 + (self.half_saturation / x).powf(self.shape))
        }
    }

    /// `h'(x) = s · h · (1 − h) / x`; at zero the limit (infinite for `s < 1`).
    pub fn derivative(&self, x: f64) -> f64 {
        if x <= 0.0 {
            return if self.shape < 1.0 {
                f64::INFINITY
            } else if self.shape == 1.0 {
                1.0 / self.half_saturation
            } else {
                0.0
            };
        }
        let h = self.value(x);
        self.shape * h * (1.0 - h) / x
    }
}

/// Expected conversions per day as a function of daily spend:
/// `max_conversions · hill(x)`. The allocator optimises over these.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ResponseCurve {
    /// The saturation level: conversions per day at unlimited spend; at least 0.
    #[schema(minimum = 0.0)]
    pub max_conversions: f64,
    pub hill: Hill,
}

impl ResponseCurve {
    pub fn conversions(&self, daily_spend: f64) -> f64 {
        self.max_conversions * self.hill.value(daily_spend)
    }

    /// Extra conversions per extra unit of daily spend.
    pub fn marginal_conversions(&self, daily_spend: f64) -> f64 {
        self.max_conversions * self.hill.derivative(daily_spend)
    }

    pub(crate) fn validate(&self, path: &str, f: &mut Fields) {
        f.finite_non_negative(format!("{path}.max_conversions"), self.max_conversions);
        f.finite_positive(
            format!("{path}.hill.half_saturation"),
            self.hill.half_saturation,
        );
        f.finite_in(format!("{path}.hill.shape"), self.hill.shape, 0.1, 10.0);
    }

    /// Validates a curve supplied from outside (e.g. by the allocator's
    /// callers), naming fields under `path`.
    pub fn field_errors(&self, path: &str) -> Vec<FieldError> {
        let mut f = Fields::default();
        self.validate(path, &mut f);
        f.errors
    }
}

/// Diminishing returns of spend, relative to a reference daily spend at which
/// the funnel rates (CPM, CTR, CVR) hold.
///
/// Effective spend is `e(x) = x_ref · h(x) / h(x_ref)` with `k = ratio · x_ref`:
/// at the reference the funnel behaves as measured, above it each extra unit
/// buys less, below it more.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Saturation {
    /// The daily spend (major units) the rates were measured at; `None` when
    /// there is no history, in which case the plan's own daily budget is used
    /// (industry rates are read as what an advertiser sees at its own scale).
    pub reference_daily_spend: Option<f64>,
    /// Half-saturation spend as a multiple of the reference, with its
    /// uncertainty (drawn once per run).
    pub half_saturation_ratio: LogNormalDist,
    /// Hill shape `s`.
    pub shape: f64,
}

/// Weekday multipliers on conversions, Monday first, averaging 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Seasonality {
    pub weekday_multipliers: [f64; 7],
}

impl Seasonality {
    pub const FLAT: Seasonality = Seasonality {
        weekday_multipliers: [1.0; 7],
    };

    pub fn mean(&self) -> f64 {
        self.weekday_multipliers.iter().sum::<f64>() / 7.0
    }
}

/// The largest day-to-day log spread a model takes (a standard deviation of
/// 3 on the log scale: days twenty times above or below the typical one).
/// Estimates from histories noisier than that are capped at it.
pub const MAX_DAILY_SIGMA: f64 = 3.0;

/// Everything the simulation needs about one platform (or one ad set).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PlatformModel {
    pub platform: Platform,
    /// The ad set this model describes; `None` for the platform as a whole.
    #[serde(default)]
    pub ad_set_id: Option<String>,
    /// Effective CPM for the period (spend ÷ impressions × 1000, major units),
    /// uncertain: one draw per run.
    pub cpm: LogNormalDist,
    /// Click-through rate for the period, one draw per run.
    pub ctr: BetaDist,
    /// Click-to-customer conversion rate for the period, one draw per run.
    pub cvr: BetaDist,
    /// Day-to-day log-scale noise of impressions bought per unit of spend.
    pub cpm_daily_sigma: f64,
    /// Day-to-day log-scale noise of conversions per impression.
    pub conversion_daily_sigma: f64,
    /// Mean first-order value of a customer (major units), one draw per run.
    pub order_value: LogNormalDist,
    /// Mean customer lifetime value (major units), one draw per run.
    pub ltv: LogNormalDist,
    pub saturation: Saturation,
    /// Geometric adstock decay `θ ∈ [0, 1)`: the share of yesterday's
    /// (normalised) adstock that carries into today.
    pub adstock: f64,
    /// Normalised adstock at the plan's start: the platform's recent daily
    /// spend when it was already running, 0 for a new platform.
    pub carry_in_daily_spend: f64,
    pub seasonality: Seasonality,
    pub source: ParameterSource,
    /// The performance history the funnel parameters came from.
    pub window: Option<DataWindow>,
    /// The LTV engine's data window, when it said.
    #[serde(default)]
    pub ltv_window: Option<DataWindow>,
    /// How much the history moved the CVR away from its prior (0 = prior only,
    /// 1 = history only); a one-number summary of how thin the data was.
    pub history_weight: f64,
}

impl PlatformModel {
    /// Expected value of one acquired customer on the chosen basis.
    pub fn expected_value_per_conversion(&self, basis: ValueBasis) -> f64 {
        match basis {
            ValueBasis::Revenue => self.order_value.mean,
            ValueBasis::Ltv => self.ltv.mean,
        }
    }

    /// The expected daily response curve (conversions per day against daily
    /// spend, steady state, weekday-averaged), for the allocator. When the
    /// model has no reference spend, `reference_if_unknown` stands in (e.g.
    /// the current daily budget).
    pub fn response_curve(&self, reference_if_unknown: f64) -> ResponseCurve {
        let x_ref = self
            .saturation
            .reference_daily_spend
            .unwrap_or(reference_if_unknown)
            .max(f64::MIN_POSITIVE);
        let ratio = self.saturation.half_saturation_ratio.mean;
        let hill = Hill {
            half_saturation: ratio * x_ref,
            shape: self.saturation.shape,
        };
        let per_unit_spend = 1000.0
            * self.cpm.mean_of_reciprocal()
            * self.ctr.mean
            * self.cvr.mean
            * self.seasonality.mean();
        // conv(x) = rate · x_ref · h(x) / h(x_ref), so the saturation level is
        // rate · x_ref / h(x_ref).
        ResponseCurve {
            max_conversions: per_unit_spend * x_ref / hill.value(x_ref),
            hill,
        }
    }

    pub(crate) fn validate(&self, path: &str, f: &mut Fields) {
        self.cpm.validate(&format!("{path}.cpm"), f);
        self.ctr.validate(&format!("{path}.ctr"), f);
        self.cvr.validate(&format!("{path}.cvr"), f);
        f.finite_in(
            format!("{path}.cpm_daily_sigma"),
            self.cpm_daily_sigma,
            0.0,
            MAX_DAILY_SIGMA,
        );
        f.finite_in(
            format!("{path}.conversion_daily_sigma"),
            self.conversion_daily_sigma,
            0.0,
            MAX_DAILY_SIGMA,
        );
        self.order_value.validate(&format!("{path}.order_value"), f);
        self.ltv.validate(&format!("{path}.ltv"), f);
        if let Some(r) = self.saturation.reference_daily_spend {
            f.finite_positive(format!("{path}.saturation.reference_daily_spend"), r);
        }
        self.saturation
            .half_saturation_ratio
            .validate(&format!("{path}.saturation.half_saturation_ratio"), f);
        f.finite_in(
            format!("{path}.saturation.shape"),
            self.saturation.shape,
            0.1,
            10.0,
        );
        f.finite_in(format!("{path}.adstock"), self.adstock, 0.0, 0.99);
        f.finite_non_negative(
            format!("{path}.carry_in_daily_spend"),
            self.carry_in_daily_spend,
        );
        for (i, m) in self.seasonality.weekday_multipliers.iter().enumerate() {
            f.finite_in(
                format!("{path}.seasonality.weekday_multipliers[{i}]"),
                *m,
                0.0,
                10.0,
            );
        }
        f.finite_in(
            format!("{path}.history_weight"),
            self.history_weight,
            0.0,
            1.0,
        );
    }
}

/// The market model of one organisation, in one currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MarketModel {
    pub currency: Currency,
    pub industry: Industry,
    pub platforms: Vec<PlatformModel>,
}

impl MarketModel {
    /// The model for an ad set when there is one, else for its platform.
    pub fn find(&self, platform: Platform, ad_set_id: Option<&str>) -> Option<&PlatformModel> {
        let platform_level = || {
            self.platforms
                .iter()
                .find(|m| m.platform == platform && m.ad_set_id.is_none())
        };
        match ad_set_id {
            Some(id) => self
                .platforms
                .iter()
                .find(|m| m.platform == platform && m.ad_set_id.as_deref() == Some(id))
                .or_else(platform_level),
            None => platform_level(),
        }
    }

    /// Field errors for a model supplied from outside, with paths such as
    /// `platforms[1].ctr.std_dev`.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut f = Fields::default();
        for (i, m) in self.platforms.iter().enumerate() {
            m.validate(&format!("platforms[{i}]"), &mut f);
            if self.platforms[..i]
                .iter()
                .any(|o| o.platform == m.platform && o.ad_set_id == m.ad_set_id)
            {
                f.push(
                    format!("platforms[{i}]"),
                    "The same platform and ad set appear twice in the model.",
                );
            }
        }
        f.errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hill_is_one_half_at_the_half_saturation_spend_and_monotone() {
        for shape in [0.5, 1.0, 2.5] {
            let h = Hill {
                half_saturation: 200.0,
                shape,
            };
            assert!((h.value(200.0) - 0.5).abs() < 1e-15);
            assert_eq!(h.value(0.0), 0.0);
            let mut last = 0.0;
            for x in [1.0, 10.0, 100.0, 1e3, 1e6, 1e300] {
                let v = h.value(x);
                assert!(v > last && v <= 1.0, "{shape} {x} {v}");
                last = v;
            }
        }
    }

    #[test]
    fn hill_derivative_matches_a_central_difference() {
        for shape in [0.6, 1.0, 3.0] {
            let h = Hill {
                half_saturation: 150.0,
                shape,
            };
            for x in [5.0, 80.0, 150.0, 900.0] {
                let eps = x * 1e-6;
                let num = (h.value(x + eps) - h.value(x - eps)) / (2.0 * eps);
                assert!(
                    (num - h.derivative(x)).abs() < 1e-7 * num.abs().max(1e-12),
                    "{shape} {x}"
                );
            }
        }
    }

    #[test]
    fn hill_derivative_at_zero_is_the_limit_for_each_shape() {
        let at0 = |shape| {
            Hill {
                half_saturation: 4.0,
                shape,
            }
            .derivative(0.0)
        };
        assert_eq!(at0(0.5), f64::INFINITY);
        assert_eq!(at0(1.0), 0.25);
        assert_eq!(at0(2.0), 0.0);
    }
}
