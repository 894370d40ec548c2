//! Estimation: from an organisation's daily performance history, industry
//! priors and the LTV engine's estimates to a [`MarketModel`].
//!
//! Each rate is estimated where the data is (pooled over the window) and
//! shrunk towards its prior by precision weighting (the conjugate
//! normal–normal update): with a few days of history the prior dominates,
//! with months the history does. The uncertainty kept for simulation is the
//! uncertainty of the *period mean* — the standard error from day-to-day
//! variation plus a drift floor, because the next month is never exactly the
//! last — not the day-to-day spread, which the simulation draws separately.
//! Ad sets are shrunk towards their platform the same way.
//!
//! This module only estimates; it does not simulate.

mod saturation;

use std::collections::BTreeMap;

use kiki_core::{Currency, FieldError, Money};
use serde::{Deserialize, Serialize};
use time::Date;

use crate::dist::{BetaDist, LogNormalDist};
use crate::error::TwinError;
use crate::fields::Fields;
use crate::model::{
    DataWindow, MarketModel, ParameterSource, PlatformModel, Saturation, Seasonality, iso_date,
};
use crate::platform::Platform;
use crate::priors::{self, Industry};
use crate::stats::{normal_update, weighted_mean_var};

use saturation::SaturationPrior;

/// One day of one platform's (or ad set's) performance, as the ad platforms
/// report it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DailyPerformance {
    #[schema(value_type = Platform)]
    pub platform: String,
    #[serde(default)]
    pub ad_set_id: Option<String>,
    #[serde(with = "iso_date")]
    #[schema(value_type = String, format = Date)]
    pub date: Date,
    pub spend_micros: i64,
    pub impressions: u64,
    pub clicks: u64,
    /// Customers acquired; fractional when the platform's attribution splits
    /// credit.
    pub conversions: f64,
    /// First-order revenue attributed to the day's conversions, micros.
    pub revenue_micros: i64,
}

/// The LTV engine's estimate for one platform (and segment).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LtvInput {
    #[schema(value_type = Platform)]
    pub platform: String,
    #[serde(default)]
    pub segment: Option<String>,
    /// Share of the platform's new customers in this segment, 0 to 1; when
    /// absent, segments are weighted by `customers`.
    #[serde(default)]
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub share: Option<f64>,
    /// Mean customer LTV; above 0.
    #[schema(value_type = kiki_core::PositiveMoney)]
    pub mean: Money,
    /// Standard deviation of LTV across customers; at least 0.
    #[schema(value_type = kiki_core::NonNegativeMoney)]
    pub std_dev: Money,
    /// Customers the estimate is based on.
    pub customers: u64,
    /// The window of orders the LTV model was fitted on.
    #[serde(default)]
    pub window: Option<DataWindow>,
}

/// Tuning of the estimator. The defaults are documented in `docs/twin.md`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct EstimationConfig {
    /// How far (as a coefficient of variation) a rate may drift between the
    /// history and the plan's period; a floor on the uncertainty of every
    /// estimated mean.
    pub drift_cv: f64,
    /// Pseudo-days of prior weight for daily noise levels.
    pub prior_days: f64,
    /// Pseudo-days per weekday of prior weight for seasonality (towards flat).
    pub seasonality_prior_days: f64,
    /// Days of history (calendar span) before the saturation curve and
    /// adstock are fitted rather than taken from the prior.
    pub min_days_for_saturation: u32,
    /// Spend must vary at least this much (coefficient of variation of daily
    /// spend) for the saturation fit; with steady spend the curve is not
    /// identifiable.
    pub min_spend_cv_for_saturation: f64,
    /// The most recent days whose mean spend is the carry-in adstock.
    pub carry_in_days: u32,
    /// How much ad sets may differ from their platform (coefficient of
    /// variation added to the platform's uncertainty when it is their prior).
    pub ad_set_spread_cv: f64,
}

impl Default for EstimationConfig {
    fn default() -> Self {
        EstimationConfig {
            drift_cv: 0.10,
            prior_days: 14.0,
            seasonality_prior_days: 4.0,
            min_days_for_saturation: 28,
            min_spend_cv_for_saturation: 0.15,
            carry_in_days: 7,
            ad_set_spread_cv: 0.3,
        }
    }
}

impl EstimationConfig {
    fn validate(&self, f: &mut Fields) {
        f.finite_in("config.drift_cv", self.drift_cv, 0.0, 2.0);
        f.finite_in("config.prior_days", self.prior_days, 0.0, 10_000.0);
        f.finite_in(
            "config.seasonality_prior_days",
            self.seasonality_prior_days,
            0.0,
            10_000.0,
        );
        f.finite_in(
            "config.min_spend_cv_for_saturation",
            self.min_spend_cv_for_saturation,
            0.0,
            10.0,
        );
        f.finite_in("config.ad_set_spread_cv", self.ad_set_spread_cv, 0.0, 10.0);
        if self.min_days_for_saturation < 8 {
            f.push(
                "config.min_days_for_saturation",
                "At least 8 days are needed to fit a saturation curve.",
            );
        }
    }
}

/// Everything the estimator reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EstimationInput {
    pub currency: Currency,
    #[serde(default)]
    pub industry: Industry,
    /// Platforms to model even without history (priors only). Platforms
    /// present in `history` are always modelled.
    #[serde(default)]
    #[schema(value_type = Vec<Platform>)]
    pub platforms: Vec<String>,
    #[serde(default)]
    pub history: Vec<DailyPerformance>,
    #[serde(default)]
    pub ltv: Vec<LtvInput>,
    #[serde(default)]
    pub config: EstimationConfig,
}

/// Field errors of an estimation input, with paths such as
/// `history[12].clicks`.
pub fn validate_estimation_input(input: &EstimationInput) -> Vec<FieldError> {
    let mut f = Fields::default();
    if input.platforms.is_empty() && input.history.is_empty() {
        f.push(
            "platforms",
            "Name at least one platform to model, or give some history.",
        );
    }
    for (i, p) in input.platforms.iter().enumerate() {
        if Platform::parse(p).is_none() {
            f.push(format!("platforms[{i}]"), Platform::unknown_message(p));
        }
    }
    for (i, row) in input.history.iter().enumerate() {
        let path = format!("history[{i}]");
        if Platform::parse(&row.platform).is_none() {
            f.push(
                format!("{path}.platform"),
                Platform::unknown_message(&row.platform),
            );
        }
        if let Some(id) = &row.ad_set_id
            && id.trim().is_empty()
        {
            f.push(
                format!("{path}.ad_set_id"),
                "The ad set id must not be empty.",
            );
        }
        f.non_negative_micros(format!("{path}.spend_micros"), row.spend_micros);
        f.non_negative_micros(format!("{path}.revenue_micros"), row.revenue_micros);
        if row.clicks > row.impressions {
            f.push(
                format!("{path}.clicks"),
                "Clicks must not exceed impressions.",
            );
        }
        f.finite_non_negative(format!("{path}.conversions"), row.conversions);
    }
    f.errors
        .extend(validate_ltv_inputs(&input.ltv, input.currency));
    input.config.validate(&mut f);
    f.errors
}

/// Field errors of LTV inputs, with paths such as `ltv[2].share`: what a
/// simulation request is checked for before it is run or queued.
/// Amounts must be in `currency`, the plan's.
pub fn validate_ltv_inputs(ltv: &[LtvInput], currency: Currency) -> Vec<FieldError> {
    let mut f = Fields::default();
    for (i, l) in ltv.iter().enumerate() {
        let path = format!("ltv[{i}]");
        if Platform::parse(&l.platform).is_none() {
            f.push(
                format!("{path}.platform"),
                Platform::unknown_message(&l.platform),
            );
        }
        f.positive_money(&format!("{path}.mean"), &l.mean, currency, "The mean LTV");
        f.non_negative_money(&format!("{path}.std_dev"), &l.std_dev, currency);
        if let Some(s) = l.share {
            f.finite_in(format!("{path}.share"), s, 0.0, 1.0);
        }
    }
    f.errors
}

/// One calendar day of a platform or ad set, summed over its rows.
#[derive(Debug, Clone, Copy, Default)]
struct Day {
    spend: f64,
    impressions: f64,
    clicks: f64,
    conversions: f64,
    revenue: f64,
}

impl Day {
    fn active(&self) -> bool {
        self.spend > 0.0 || self.impressions > 0.0
    }
}

/// The prior an estimate is shrunk towards: the industry table for a
/// platform, the platform's estimate for an ad set.
#[derive(Debug, Clone, Copy)]
struct Prior {
    /// Normal prior on ln(mean CPM).
    cpm_ln: (f64, f64),
    ctr: (f64, f64),
    cvr: (f64, f64),
    order_value_ln: (f64, f64),
    ltv: LogNormalDist,
    cpm_daily_sigma: f64,
    conversion_daily_sigma: f64,
    seasonality: [f64; 7],
    saturation: SaturationPrior,
    ratio_sigma: f64,
}

impl Prior {
    fn industry(industry: Industry, platform: Platform) -> Self {
        let p = priors::prior(industry, platform);
        let ln_prior = |mean: f64, cv: f64| {
            let v = (1.0 + cv * cv).ln();
            (mean.ln() - v / 2.0, v)
        };
        Prior {
            cpm_ln: ln_prior(p.cpm, priors::PRIOR_CV_CPM),
            ctr: (p.ctr, (p.ctr * priors::PRIOR_CV_CTR).powi(2)),
            cvr: (p.cvr, (p.cvr * priors::PRIOR_CV_CVR).powi(2)),
            order_value_ln: ln_prior(p.order_value, priors::PRIOR_CV_ORDER_VALUE),
            ltv: LogNormalDist::from_mean_cv(p.ltv, priors::PRIOR_CV_LTV),
            cpm_daily_sigma: priors::PRIOR_DAILY_SIGMA_CPM,
            conversion_daily_sigma: priors::PRIOR_DAILY_SIGMA_CONVERSIONS,
            seasonality: [1.0; 7],
            saturation: SaturationPrior {
                ratio: priors::PRIOR_HALF_SATURATION_RATIO,
                shape: priors::PRIOR_SHAPE,
                adstock: p.adstock,
            },
            ratio_sigma: priors::PRIOR_RATIO_SIGMA,
        }
    }

    /// A platform's estimate as the prior of its ad sets, widened by the
    /// spread expected between ad sets.
    fn from_platform(m: &PlatformModel, spread_cv: f64) -> Self {
        let spread = (1.0 + spread_cv * spread_cv).ln();
        let ln_of = |d: LogNormalDist| {
            let v = d.sigma * d.sigma;
            (d.mean.ln() - v / 2.0, v + spread)
        };
        let rate_of = |d: BetaDist| (d.mean, d.std_dev * d.std_dev + (d.mean * spread_cv).powi(2));
        Prior {
            cpm_ln: ln_of(m.cpm),
            ctr: rate_of(m.ctr),
            cvr: rate_of(m.cvr),
            order_value_ln: ln_of(m.order_value),
            ltv: m.ltv,
            cpm_daily_sigma: m.cpm_daily_sigma,
            conversion_daily_sigma: m.conversion_daily_sigma,
            seasonality: m.seasonality.weekday_multipliers,
            saturation: SaturationPrior {
                ratio: m.saturation.half_saturation_ratio.mean,
                shape: m.saturation.shape,
                adstock: m.adstock,
            },
            ratio_sigma: m.saturation.half_saturation_ratio.sigma,
        }
    }
}

/// Estimates the market model. Fails only on invalid input.
pub fn estimate(input: &EstimationInput) -> Result<MarketModel, TwinError> {
    let errors = validate_estimation_input(input);
    if !errors.is_empty() {
        return Err(TwinError::Invalid(errors));
    }
    let cfg = &input.config;

    // Group history by (platform, ad set) → date → summed day. BTreeMaps keep
    // the output order stable.
    let mut by_platform: BTreeMap<Platform, BTreeMap<Date, Day>> = BTreeMap::new();
    let mut by_ad_set: BTreeMap<(Platform, String), BTreeMap<Date, Day>> = BTreeMap::new();
    for row in &input.history {
        let Some(platform) = Platform::parse(&row.platform) else {
            continue;
        };
        let add = |day: &mut Day| {
            day.spend += row.spend_micros as f64 / 1e6;
            day.impressions += row.impressions as f64;
            day.clicks += row.clicks as f64;
            day.conversions += row.conversions;
            day.revenue += row.revenue_micros as f64 / 1e6;
        };
        add(by_platform
            .entry(platform)
            .or_default()
            .entry(row.date)
            .or_default());
        if let Some(id) = &row.ad_set_id {
            add(by_ad_set
                .entry((platform, id.clone()))
                .or_default()
                .entry(row.date)
                .or_default());
        }
    }
    for p in &input.platforms {
        if let Some(platform) = Platform::parse(p) {
            by_platform.entry(platform).or_default();
        }
    }

    let mut platforms = Vec::new();
    for (platform, days) in &by_platform {
        let ltv = ltv_for(*platform, &input.ltv, cfg);
        let prior = Prior::industry(input.industry, *platform);
        let model = estimate_series(*platform, None, days, &prior, ltv, cfg);
        let ad_set_prior = Prior::from_platform(&model, cfg.ad_set_spread_cv);
        platforms.push(model);
        for ((p, id), days) in by_ad_set.range((*platform, String::new())..) {
            if p != platform {
                break;
            }
            platforms.push(estimate_series(
                *platform,
                Some(id.clone()),
                days,
                &ad_set_prior,
                None,
                cfg,
            ));
        }
    }
    Ok(MarketModel {
        currency: input.currency,
        industry: input.industry,
        platforms,
    })
}

/// A model from industry priors alone (no history, no LTV estimates).
pub fn prior_model(currency: Currency, industry: Industry, platforms: &[Platform]) -> MarketModel {
    let cfg = EstimationConfig::default();
    MarketModel {
        currency,
        industry,
        platforms: platforms
            .iter()
            .map(|&p| {
                estimate_series(
                    p,
                    None,
                    &BTreeMap::new(),
                    &Prior::industry(industry, p),
                    None,
                    &cfg,
                )
            })
            .collect(),
    }
}

/// The platform's LTV distribution from the LTV engine's segments, and the
/// window they came from.
fn ltv_for(
    platform: Platform,
    inputs: &[LtvInput],
    cfg: &EstimationConfig,
) -> Option<(LogNormalDist, Option<DataWindow>)> {
    let segs: Vec<&LtvInput> = inputs
        .iter()
        .filter(|l| Platform::parse(&l.platform) == Some(platform))
        .collect();
    if segs.is_empty() {
        return None;
    }
    let weight = |l: &LtvInput| l.share.unwrap_or(l.customers.max(1) as f64);
    let total: f64 = segs.iter().map(|l| weight(l)).sum();
    let (mut mean, mut var) = (0.0, 0.0);
    for l in &segs {
        // All shares zero reads as "no information": weigh segments equally.
        let w = if total > 0.0 {
            weight(l) / total
        } else {
            1.0 / segs.len() as f64
        };
        let sd = l.std_dev.micros as f64 / 1e6;
        mean += w * l.mean.micros as f64 / 1e6;
        var += w * w * sd * sd / l.customers.max(1) as f64;
    }
    // The LTV model's own uncertainty is at least the drift floor.
    let var = var + (cfg.drift_cv * mean).powi(2);
    let window = segs.iter().find_map(|l| l.window);
    Some((
        LogNormalDist {
            mean,
            sigma: (1.0 + var / (mean * mean)).ln().sqrt(),
        },
        window,
    ))
}

/// Estimates one platform or ad set from its calendar of days.
fn estimate_series(
    platform: Platform,
    ad_set_id: Option<String>,
    days: &BTreeMap<Date, Day>,
    prior: &Prior,
    ltv: Option<(LogNormalDist, Option<DataWindow>)>,
    cfg: &EstimationConfig,
) -> PlatformModel {
    let active: Vec<(Date, Day)> = days
        .iter()
        .filter(|(_, d)| d.active())
        .map(|(date, d)| (*date, *d))
        .collect();
    let n = active.len() as f64;
    let drift_ln = (1.0 + cfg.drift_cv * cfg.drift_cv).ln();
    let total = active.iter().fold(Day::default(), |acc, (_, d)| Day {
        spend: acc.spend + d.spend,
        impressions: acc.impressions + d.impressions,
        clicks: acc.clicks + d.clicks,
        conversions: acc.conversions + d.conversions,
        revenue: acc.revenue + d.revenue,
    });
    // Shrinks a day-to-day variance estimate towards its prior value, capped
    // at the largest spread a model takes (a history with CPMs swinging by
    // orders of magnitude from day to day would otherwise exceed it).
    let shrink_var = |observed: Option<f64>, prior_sd: f64| match observed {
        Some(v) if n > 1.0 => ((n * v + cfg.prior_days * prior_sd * prior_sd)
            / (n + cfg.prior_days))
            .sqrt()
            .min(crate::model::MAX_DAILY_SIGMA),
        _ => prior_sd,
    };

    // CPM: pooled effective CPM, day-to-day log spread weighted by spend.
    let cpm_days = || {
        active
            .iter()
            .filter(|(_, d)| d.spend > 0.0 && d.impressions > 0.0)
            .map(|(_, d)| ((d.spend / d.impressions * 1000.0).ln(), d.spend))
    };
    let cpm_daily = weighted_mean_var(cpm_days()).map(|(_, v)| v);
    let cpm_daily_sigma = shrink_var(cpm_daily, prior.cpm_daily_sigma);
    let cpm = if total.spend > 0.0 && total.impressions > 0.0 {
        let m_hat = (total.spend / total.impressions * 1000.0).ln();
        let d = cpm_days().count().max(1) as f64;
        let se2 = cpm_daily_sigma * cpm_daily_sigma / d;
        let (m, v, _) = normal_update(prior.cpm_ln.0, prior.cpm_ln.1, m_hat, se2);
        ln_dist(m, v + drift_ln)
    } else {
        ln_dist(prior.cpm_ln.0, prior.cpm_ln.1)
    };

    let rate = |num: fn(&Day) -> f64, den: fn(&Day) -> f64, prior: (f64, f64)| {
        let (k, t) = (num(&total), den(&total));
        if t <= 0.0 {
            return (BetaDist::from_mean_var(prior.0, prior.1), 0.0);
        }
        let p_hat = (k / t).clamp(0.0, 1.0);
        let daily = weighted_mean_var(
            active
                .iter()
                .filter(|(_, d)| den(d) > 0.0)
                .map(|(_, d)| ((num(d) / den(d)).min(1.0), den(d))),
        );
        let d = active.iter().filter(|(_, d)| den(d) > 0.0).count().max(1) as f64;
        let between = daily.map(|(_, v)| v / d).unwrap_or(0.0);
        let sampling = p_hat * (1.0 - p_hat) / t;
        let se2 = between.max(sampling);
        let (m, v, w) = normal_update(prior.0, prior.1, p_hat, se2.max(1e-18));
        (
            BetaDist::from_mean_var(m, v + (cfg.drift_cv * m).powi(2)),
            w,
        )
    };
    let (ctr, _) = rate(|d| d.clicks, |d| d.impressions, prior.ctr);
    let (cvr, history_weight) = rate(|d| d.conversions, |d| d.clicks, prior.cvr);

    // First-order value; days without revenue are treated as "not tracked",
    // not as worthless customers.
    let aov_days = || {
        active
            .iter()
            .filter(|(_, d)| d.conversions > 0.0 && d.revenue > 0.0)
            .map(|(_, d)| ((d.revenue / d.conversions).ln(), d.conversions))
    };
    let order_value = match weighted_mean_var(aov_days()) {
        Some((_, daily_var)) => {
            let (conv, rev) = active
                .iter()
                .filter(|(_, d)| d.conversions > 0.0 && d.revenue > 0.0)
                .fold((0.0, 0.0), |(c, r), (_, d)| {
                    (c + d.conversions, r + d.revenue)
                });
            let d = aov_days().count() as f64;
            let se2 = daily_var / d;
            let (m, v, _) = normal_update(
                prior.order_value_ln.0,
                prior.order_value_ln.1,
                (rev / conv).ln(),
                se2.max(1e-12),
            );
            ln_dist(m, v + drift_ln)
        }
        None => ln_dist(prior.order_value_ln.0, prior.order_value_ln.1),
    };

    // Weekday seasonality of conversions per unit spend, shrunk to the prior.
    let seasonality = seasonality(&active, prior, cfg);

    // Daily conversion noise around impressions × pooled rate × weekday.
    let conv_per_impression = if total.impressions > 0.0 {
        total.conversions / total.impressions
    } else {
        0.0
    };
    let conv_noise =
        if conv_per_impression > 0.0 {
            weighted_mean_var(active.iter().filter(|(_, d)| d.impressions > 0.0).map(
                |(date, d)| {
                    let w = seasonality[date.weekday().number_days_from_monday() as usize];
                    let expected = d.impressions * conv_per_impression * w;
                    (((d.conversions + 0.5) / (expected + 0.5)).ln(), 1.0)
                },
            ))
            .map(|(_, v)| v)
        } else {
            None
        };
    let conversion_daily_sigma = shrink_var(conv_noise, prior.conversion_daily_sigma);

    // Saturation and adstock over the full calendar (gaps are days off).
    let calendar = calendar(days);
    let x_ref = if n > 0.0 { Some(total.spend / n) } else { None };
    let spend_cv = weighted_mean_var(active.iter().map(|(_, d)| (d.spend, 1.0)))
        .map(|(m, v)| if m > 0.0 { v.sqrt() / m } else { 0.0 })
        .unwrap_or(0.0);
    let (ratio, shape, adstock) = match x_ref {
        Some(x_ref)
            if calendar.len() >= cfg.min_days_for_saturation as usize
                && spend_cv >= cfg.min_spend_cv_for_saturation
                && total.conversions > 0.0 =>
        {
            let spend: Vec<f64> = calendar.iter().map(|(_, d)| d.spend).collect();
            let conv: Vec<f64> = calendar.iter().map(|(_, d)| d.conversions).collect();
            let wd: Vec<f64> = calendar
                .iter()
                .map(|(date, _)| seasonality[date.weekday().number_days_from_monday() as usize])
                .collect();
            let fit = saturation::fit(&spend, &conv, &wd, x_ref, prior.saturation);
            (
                LogNormalDist {
                    mean: fit.ratio * (fit.ln_ratio_sd * fit.ln_ratio_sd / 2.0).exp(),
                    sigma: fit.ln_ratio_sd,
                },
                fit.shape,
                fit.adstock,
            )
        }
        _ => (
            LogNormalDist {
                mean: prior.saturation.ratio,
                sigma: prior.ratio_sigma,
            },
            prior.saturation.shape,
            prior.saturation.adstock,
        ),
    };
    let carry_in_daily_spend = if calendar.is_empty() {
        0.0
    } else {
        let k = (cfg.carry_in_days.max(1) as usize).min(calendar.len());
        calendar[calendar.len() - k..]
            .iter()
            .map(|(_, d)| d.spend)
            .sum::<f64>()
            / k as f64
    };

    let window = match (active.first(), active.last()) {
        (Some((first, _)), Some((last, _))) => Some(DataWindow {
            first_day: *first,
            last_day: *last,
            days: active.len() as u32,
        }),
        _ => None,
    };
    let (ltv, ltv_window) = match ltv {
        Some((d, w)) => (d, w),
        None => (prior.ltv, None),
    };

    PlatformModel {
        platform,
        ad_set_id,
        cpm,
        ctr,
        cvr,
        cpm_daily_sigma,
        conversion_daily_sigma,
        order_value,
        ltv,
        saturation: Saturation {
            reference_daily_spend: x_ref,
            half_saturation_ratio: ratio,
            shape,
        },
        adstock,
        carry_in_daily_spend,
        seasonality: Seasonality {
            weekday_multipliers: seasonality,
        },
        source: if window.is_some() {
            ParameterSource::Blended
        } else {
            ParameterSource::Prior
        },
        window,
        ltv_window,
        history_weight,
    }
}

/// A log-normal distribution for a quantity whose log-mean is normal with
/// mean `m` and variance `v`.
fn ln_dist(m: f64, v: f64) -> LogNormalDist {
    LogNormalDist {
        mean: (m + v / 2.0).exp(),
        sigma: v.max(0.0).sqrt(),
    }
}

/// Weekday multipliers (Monday first) of conversions per unit spend, each
/// shrunk towards the prior's multiplier and normalised to average 1.
fn seasonality(active: &[(Date, Day)], prior: &Prior, cfg: &EstimationConfig) -> [f64; 7] {
    let mut spend = [0.0; 7];
    let mut conv = [0.0; 7];
    let mut count = [0.0; 7];
    for (date, d) in active {
        let w = date.weekday().number_days_from_monday() as usize;
        spend[w] += d.spend;
        conv[w] += d.conversions;
        count[w] += 1.0;
    }
    let (ts, tc): (f64, f64) = (spend.iter().sum(), conv.iter().sum());
    if ts <= 0.0 || tc <= 0.0 {
        return prior.seasonality;
    }
    let overall = tc / ts;
    let mut m = [0.0; 7];
    for w in 0..7 {
        let raw = if spend[w] > 0.0 {
            conv[w] / spend[w] / overall
        } else {
            prior.seasonality[w]
        };
        let k = cfg.seasonality_prior_days;
        m[w] = if count[w] + k > 0.0 {
            (count[w] * raw + k * prior.seasonality[w]) / (count[w] + k)
        } else {
            prior.seasonality[w]
        };
    }
    let mean = m.iter().sum::<f64>() / 7.0;
    if mean > 0.0 {
        m.iter_mut().for_each(|x| *x /= mean);
        m
    } else {
        prior.seasonality
    }
}

/// Every date from the first to the last, with missing days as zeros.
fn calendar(days: &BTreeMap<Date, Day>) -> Vec<(Date, Day)> {
    let (Some((&first, _)), Some((&last, _))) = (days.first_key_value(), days.last_key_value())
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut d = first;
    while d <= last {
        out.push((d, days.get(&d).copied().unwrap_or_default()));
        match d.next_day() {
            Some(next) => d = next,
            None => break,
        }
    }
    out
}

#[cfg(test)]
mod tests;
