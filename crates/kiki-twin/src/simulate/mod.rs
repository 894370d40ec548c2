//! The Monte Carlo engine. Each run draws one set of market parameters per
//! platform (parameter uncertainty), then walks the plan day by day: adstocked
//! spend → saturation → impressions → clicks → conversions, with daily noise,
//! weekday seasonality, and revenue and LTV per conversion.
//!
//! Every run simulates two arms with the same draws (common random numbers):
//! the plan, and no new spend (past spend's adstock decaying on its own). The
//! uplift is the difference, so carry-over of past spend and organic revenue
//! cancel and a plan is credited only with what it adds: net profit uplift =
//! incremental revenue × contribution margin − the plan's spend.
//!
//! Runs are seeded individually from `(seed, run index)` and aggregated with
//! order-independent operations (per-run scalars written to their own slot,
//! integer-count sketches merged), so a seed gives the same result whatever
//! the number of threads. Memory is bounded: a few scalars per run plus two
//! sketches per day, never per-day trajectories.

use kiki_core::{Currency, FieldError, Money};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use time::Duration;

use crate::dist::{BetaSampler, LogNormalSampler};
use crate::error::TwinError;
use crate::fields::Fields;
use crate::model::{MarketModel, ValueBasis};
use crate::plan::{Plan, ValidPlan};
use crate::profit::Margin;
use crate::quality;
use crate::result::{
    Band, Counterfactual, CpaQuantiles, DayBand, Histogram, HistogramBin, MoneyQuantiles,
    RatioQuantiles, SimulationResult,
};
use crate::sketch::Sketch;
use kiki_core::stats::quantile;

use crate::stats::run_seed;

/// Default number of Monte Carlo runs.
pub const DEFAULT_RUNS: u32 = 10_000;
/// Most runs one simulation accepts.
pub const MAX_RUNS: u32 = 1_000_000;
/// Runs handed to a worker at a time; only a scheduling grain, results do not
/// depend on it.
const CHUNK: usize = 256;
/// Relative accuracy of the day-by-day bands.
const BAND_ACCURACY: f64 = 0.005;
const MICROS: f64 = 1_000_000.0;

/// Multipliers applied to every platform's drawn parameters: the base case or
/// a stress scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Scenario {
    /// Not only spaces.
    #[schema(pattern = r"\S")]
    pub name: String,
    /// Multiplies CPM (1.5 = CPM +50 %); 0.000001 to 1,000,000 in a request
    /// (a stress test of the report multiplies it further).
    pub cpm_multiplier: f64,
    /// Multiplies CTR (capped so a rate stays ≤ 1); 0.000001 to 1,000,000.
    pub ctr_multiplier: f64,
    /// Multiplies CVR (0.7 = CVR −30 %; capped at 1); 0.000001 to 1,000,000.
    pub cvr_multiplier: f64,
    /// Multiplies the value of a customer: first-order revenue and LTV;
    /// 0.000001 to 1,000,000.
    pub value_multiplier: f64,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario::base()
    }
}

impl Scenario {
    pub fn base() -> Self {
        Scenario {
            name: "base".into(),
            cpm_multiplier: 1.0,
            ctr_multiplier: 1.0,
            cvr_multiplier: 1.0,
            value_multiplier: 1.0,
        }
    }
    /// CPM +50 %.
    pub fn cpm_up_50() -> Self {
        Scenario {
            name: "cpm_plus_50".into(),
            cpm_multiplier: 1.5,
            ..Scenario::base()
        }
    }
    /// CVR −30 %.
    pub fn cvr_down_30() -> Self {
        Scenario {
            name: "cvr_minus_30".into(),
            cvr_multiplier: 0.7,
            ..Scenario::base()
        }
    }
    /// LTV −20 %: every customer is worth a fifth less, first order included.
    pub fn ltv_down_20() -> Self {
        Scenario {
            name: "ltv_minus_20".into(),
            value_multiplier: 0.8,
            ..Scenario::base()
        }
    }

    pub(crate) fn validate(&self, path: &str, f: &mut Fields) {
        if self.name.trim().is_empty() {
            f.push(format!("{path}.name"), "The scenario needs a name.");
        }
        for (name, v) in [
            ("cpm_multiplier", self.cpm_multiplier),
            ("ctr_multiplier", self.ctr_multiplier),
            ("cvr_multiplier", self.cvr_multiplier),
            ("value_multiplier", self.value_multiplier),
        ] {
            f.finite_in(format!("{path}.{name}"), v, 1e-6, 1e6);
        }
    }
}

fn default_runs() -> u32 {
    DEFAULT_RUNS
}
fn default_bins() -> u32 {
    40
}

/// How to simulate: number of runs, seed, scenario and value basis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SimulationOptions {
    /// Monte Carlo runs, 1 to 1,000,000 (default 10,000).
    #[serde(default = "default_runs")]
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub runs: u32,
    #[serde(default)]
    pub seed: u64,
    #[serde(default)]
    pub scenario: Scenario,
    /// What an acquired customer is worth: `revenue` (first-order revenue)
    /// or `ltv`. Left out, the service values customers at the
    /// organisation's fitted LTV model when it has one, else at first-order
    /// revenue; the engine alone uses first-order revenue.
    #[serde(default)]
    pub value_basis: Option<ValueBasis>,
    /// Bars in the uplift histogram, 1 to 1000 (default 40).
    #[serde(default = "default_bins")]
    #[schema(minimum = 1, maximum = 1000)]
    pub histogram_bins: u32,
}

impl Default for SimulationOptions {
    fn default() -> Self {
        SimulationOptions {
            runs: DEFAULT_RUNS,
            seed: 0,
            scenario: Scenario::base(),
            value_basis: None,
            histogram_bins: default_bins(),
        }
    }
}

impl SimulationOptions {
    /// Field errors with paths relative to the options object.
    pub fn validate(&self) -> Vec<FieldError> {
        let mut f = Fields::default();
        if self.runs == 0 || self.runs > MAX_RUNS {
            f.push(
                "runs",
                format!("The number of runs must be between 1 and {MAX_RUNS}."),
            );
        }
        if self.histogram_bins == 0 || self.histogram_bins > 1000 {
            f.push(
                "histogram_bins",
                "The histogram must have between 1 and 1000 bars.",
            );
        }
        self.scenario.validate("scenario", &mut f);
        f.errors
    }
}

/// Prefixes every field path, e.g. `options.` + `runs`.
pub fn prefix_fields(prefix: &str, errors: Vec<FieldError>) -> Vec<FieldError> {
    errors
        .into_iter()
        .map(|e| FieldError::new(format!("{prefix}.{}", e.field), e.message))
        .collect()
}

/// One platform line of the plan, resolved against the model and prepared
/// for the hot loop.
struct Line {
    /// Daily budget, major units.
    budget: f64,
    /// `(adstock_t / x_ref)^s` per day with the plan: deterministic, so
    /// computed once.
    a: Vec<f64>,
    /// The same without new spend: the carry-in adstock decaying alone.
    a0: Vec<f64>,
    /// Weekday multiplier per day.
    dow: Vec<f64>,
    x_ref: f64,
    shape: f64,
    cpm: LogNormalSampler,
    ctr: BetaSampler,
    cvr: BetaSampler,
    order_value: LogNormalSampler,
    ltv: LogNormalSampler,
    ratio: LogNormalSampler,
    /// Combined daily log-noise sd on conversions.
    noise_sigma: f64,
}

struct Prepared {
    lines: Vec<Line>,
    days: usize,
    scenario: Scenario,
    basis: ValueBasis,
    /// Contribution margin: the share of incremental value that is profit.
    margin: f64,
    /// Total planned spend, major units (deterministic: platforms pace to
    /// their daily budgets).
    spend: f64,
    daily_spend: f64,
}

/// One run's totals. Conversions, revenue and LTV are incremental: the
/// plan's minus no new spend's, with the same draws.
#[derive(Debug, Clone, Copy, Default)]
struct RunOutcome {
    conversions: f64,
    revenue: f64,
    ltv: f64,
    uplift: f64,
    /// Ad-driven first-order revenue with the plan, carry-over included
    /// (what the platforms will report).
    plan_revenue: f64,
    /// Ad-driven first-order revenue without new spend (carry-over only).
    carry_over_revenue: f64,
}

/// Per-day sketches of cumulative revenue with the plan, cumulative
/// carry-over revenue (no new spend) and cumulative uplift.
#[derive(Clone)]
struct DaySketches {
    revenue: Vec<Sketch>,
    carry_over: Vec<Sketch>,
    uplift: Vec<Sketch>,
}

impl DaySketches {
    fn new(days: usize) -> Self {
        DaySketches {
            revenue: vec![Sketch::new(BAND_ACCURACY); days],
            carry_over: vec![Sketch::new(BAND_ACCURACY); days],
            uplift: vec![Sketch::new(BAND_ACCURACY); days],
        }
    }
    fn merge(mut self, other: DaySketches) -> Self {
        for (a, b) in self.revenue.iter_mut().zip(&other.revenue) {
            a.merge(b);
        }
        for (a, b) in self.carry_over.iter_mut().zip(&other.carry_over) {
            a.merge(b);
        }
        for (a, b) in self.uplift.iter_mut().zip(&other.uplift) {
            a.merge(b);
        }
        self
    }
}

fn prepare(
    plan: &ValidPlan,
    model: &MarketModel,
    options: &SimulationOptions,
    margin: &Margin,
) -> Result<Prepared, TwinError> {
    let days = plan.duration_days as usize;
    let mut lines = Vec::with_capacity(plan.allocations.len());
    for alloc in &plan.allocations {
        let m = model
            .find(alloc.platform, alloc.ad_set_id.as_deref())
            .ok_or(TwinError::MissingPlatformModel(alloc.platform))?;
        let budget = alloc.daily_budget_micros as f64 / MICROS;
        let x_ref = match m.saturation.reference_daily_spend {
            Some(r) => r,
            None if budget > 0.0 => budget,
            None => 1.0,
        };
        let shape = m.saturation.shape;
        let theta = m.adstock;
        // Both arms through the same arithmetic, so a zero budget gives the
        // very same numbers as no new spend.
        let path = |daily: f64| -> Vec<f64> {
            let mut adstock = m.carry_in_daily_spend;
            (0..days)
                .map(|_| {
                    adstock = (1.0 - theta) * daily + theta * adstock;
                    (adstock / x_ref).powf(shape)
                })
                .collect()
        };
        let a = path(budget);
        let a0 = path(0.0);
        let dow = (0..days)
            .map(|t| match plan.start_weekday {
                Some(w) => {
                    let idx = (w.number_days_from_monday() as usize + t) % 7;
                    m.seasonality.weekday_multipliers[idx]
                }
                None => m.seasonality.mean(),
            })
            .collect();
        lines.push(Line {
            budget,
            a,
            a0,
            dow,
            x_ref,
            shape,
            cpm: m.cpm.sampler(),
            ctr: m.ctr.sampler(),
            cvr: m.cvr.sampler(),
            order_value: m.order_value.sampler(),
            ltv: m.ltv.sampler(),
            ratio: m.saturation.half_saturation_ratio.sampler(),
            noise_sigma: m.cpm_daily_sigma.hypot(m.conversion_daily_sigma),
        });
    }
    let daily_spend: f64 = lines.iter().map(|l| l.budget).sum();
    Ok(Prepared {
        lines,
        days,
        scenario: options.scenario.clone(),
        basis: options.value_basis.unwrap_or_default(),
        margin: margin.contribution_margin,
        spend: daily_spend * days as f64,
        daily_spend,
    })
}

/// Parameters of one platform drawn for one run.
struct Drawn {
    /// Conversions per unit of effective spend.
    per_spend: f64,
    /// `ratio^s` and `x_ref · (1 + ratio^s)`: with them the effective spend of
    /// day t is `k1 · a_t / (a_t + q)`.
    q: f64,
    k1: f64,
    order_value: f64,
    ltv: f64,
    noise_shift: f64,
}

impl Prepared {
    fn run(&self, seed: u64, index: u64, sketches: &mut DaySketches) -> RunOutcome {
        let mut rng = StdRng::seed_from_u64(run_seed(seed, index));
        let sc = &self.scenario;
        let drawn: Vec<Drawn> = self
            .lines
            .iter()
            .map(|l| {
                let cpm = l.cpm.sample(&mut rng) * sc.cpm_multiplier;
                let ctr = (l.ctr.sample(&mut rng) * sc.ctr_multiplier).min(1.0);
                let cvr = (l.cvr.sample(&mut rng) * sc.cvr_multiplier).min(1.0);
                let order_value = l.order_value.sample(&mut rng) * sc.value_multiplier;
                let ltv = l.ltv.sample(&mut rng) * sc.value_multiplier;
                let ratio = l.ratio.sample(&mut rng);
                let q = ratio.powf(l.shape);
                Drawn {
                    per_spend: 1000.0 / cpm * ctr * cvr,
                    q,
                    k1: l.x_ref * (1.0 + q),
                    order_value,
                    ltv,
                    noise_shift: -0.5 * l.noise_sigma * l.noise_sigma,
                }
            })
            .collect();

        let mut out = RunOutcome::default();
        for t in 0..self.days {
            for (l, d) in self.lines.iter().zip(&drawn) {
                // One noise draw for both arms: the day is the same day.
                let noise = if l.noise_sigma > 0.0 {
                    let z: f64 = StandardNormal.sample(&mut rng);
                    (l.noise_sigma * z + d.noise_shift).exp()
                } else {
                    1.0
                };
                let per_effective = d.per_spend * l.dow[t] * noise;
                let (at, a0) = (l.a[t], l.a0[t]);
                let with_plan = d.k1 * at / (at + d.q) * per_effective;
                let without = d.k1 * a0 / (a0 + d.q) * per_effective;
                let incremental = with_plan - without;
                out.conversions += incremental;
                out.revenue += incremental * d.order_value;
                out.ltv += incremental * d.ltv;
                out.plan_revenue += with_plan * d.order_value;
                out.carry_over_revenue += without * d.order_value;
            }
            let value = self.value(out.revenue, out.ltv);
            let uplift = self.uplift(value, self.daily_spend * (t + 1) as f64);
            sketches.revenue[t].add(out.plan_revenue);
            sketches.carry_over[t].add(out.carry_over_revenue);
            sketches.uplift[t].add(uplift);
        }
        out.uplift = self.uplift(self.value(out.revenue, out.ltv), self.spend);
        out
    }

    fn value(&self, revenue: f64, ltv: f64) -> f64 {
        match self.basis {
            ValueBasis::Revenue => revenue,
            ValueBasis::Ltv => ltv,
        }
    }

    /// Net profit uplift = incremental value × contribution margin − the
    /// plan's spend. Organic revenue and the carry-over of past spend are in
    /// both arms and cancel before this point.
    fn uplift(&self, incremental_value: f64, spend: f64) -> f64 {
        self.margin * incremental_value - spend
    }

    /// Value per unit of spend; 0 when the plan spends nothing.
    fn per_spend(&self, value: f64) -> f64 {
        if self.spend > 0.0 {
            value / self.spend
        } else {
            0.0
        }
    }
}

pub(crate) fn to_micros(x: f64, what: &'static str) -> Result<i64, TwinError> {
    let m = (x * MICROS).round();
    // i64::MAX as f64 rounds up to 2^63, so compare strictly below it.
    if m.is_finite() && m > -9.2e18 && m < 9.2e18 {
        Ok(m as i64)
    } else {
        Err(TwinError::OutOfRange { what })
    }
}

/// Validates the plan, the model and the options together. Plan fields keep
/// their own paths; option and model fields are prefixed `options.` and
/// `model.`.
pub fn validate_inputs(
    plan: &Plan,
    model: &MarketModel,
    options: &SimulationOptions,
) -> Result<ValidPlan, TwinError> {
    let mut errors = plan.validate();
    errors.extend(prefix_fields("options", options.validate()));
    errors.extend(prefix_fields("model", model.validate()));
    if !errors.is_empty() {
        return Err(TwinError::Invalid(errors));
    }
    if plan.currency != model.currency {
        return Err(TwinError::CurrencyMismatch {
            plan: plan.currency.to_string(),
            model: model.currency.to_string(),
        });
    }
    plan.to_valid()
}

/// Simulates `plan` through `model` with `options`, counting revenue as
/// profit (no margin configured: the result says it assumes 100 %).
pub fn simulate(
    plan: &Plan,
    model: &MarketModel,
    options: &SimulationOptions,
) -> Result<SimulationResult, TwinError> {
    simulate_with_margin(plan, model, options, &Margin::not_configured())
}

/// Simulates `plan` with profit counted at `margin`.
pub fn simulate_with_margin(
    plan: &Plan,
    model: &MarketModel,
    options: &SimulationOptions,
    margin: &Margin,
) -> Result<SimulationResult, TwinError> {
    let valid = validate_inputs(plan, model, options)?;
    let errors = margin.validate("margin");
    if !errors.is_empty() {
        return Err(TwinError::Invalid(errors));
    }
    simulate_valid(&valid, model, options, margin)
}

/// Simulates an already validated plan (the model, options and margin must
/// have been validated too, e.g. by [`validate_inputs`]).
pub fn simulate_valid(
    plan: &ValidPlan,
    model: &MarketModel,
    options: &SimulationOptions,
    margin: &Margin,
) -> Result<SimulationResult, TwinError> {
    let prep = prepare(plan, model, options, margin)?;
    let n = options.runs as usize;
    let seed = options.seed;
    let mut outcomes = vec![RunOutcome::default(); n];
    let sketches = outcomes
        .par_chunks_mut(CHUNK)
        .enumerate()
        .fold(
            || DaySketches::new(prep.days),
            |mut acc, (c, chunk)| {
                for (j, slot) in chunk.iter_mut().enumerate() {
                    *slot = prep.run(seed, (c * CHUNK + j) as u64, &mut acc);
                }
                acc
            },
        )
        .reduce(|| DaySketches::new(prep.days), DaySketches::merge);

    let data_quality = quality::assess(plan, model);
    let mut result = aggregate(plan, options, &prep, &outcomes, &sketches)?;
    result.confidence_basis = quality::confidence_basis(&data_quality);
    result.data_quality = data_quality;
    result.margin = *margin;
    Ok(result)
}

fn aggregate(
    plan: &ValidPlan,
    options: &SimulationOptions,
    prep: &Prepared,
    outcomes: &[RunOutcome],
    sketches: &DaySketches,
) -> Result<SimulationResult, TwinError> {
    let n = outcomes.len() as f64;
    let mean = |f: fn(&RunOutcome) -> f64| outcomes.iter().map(f).sum::<f64>() / n;

    let positive = outcomes.iter().filter(|o| o.uplift > 0.0).count() as f64;
    let confidence = positive / n;

    let mut uplift: Vec<f64> = outcomes.iter().map(|o| o.uplift).collect();
    uplift.sort_by(f64::total_cmp);
    let cur = plan.currency;
    let money = |x: f64, what| to_micros(x, what).map(|m| Money::from_micros(m, cur));
    let money_q = |xs: &[f64], what| -> Result<MoneyQuantiles, TwinError> {
        Ok(MoneyQuantiles {
            p10: money(quantile(xs, 0.1).unwrap_or(0.0), what)?,
            p50: money(quantile(xs, 0.5).unwrap_or(0.0), what)?,
            p90: money(quantile(xs, 0.9).unwrap_or(0.0), what)?,
        })
    };

    let value = |o: &RunOutcome| prep.value(o.revenue, o.ltv);
    let mut roas: Vec<f64> = outcomes.iter().map(|o| prep.per_spend(value(o))).collect();
    roas.sort_by(f64::total_cmp);
    let ratio_q = |xs: &[f64]| RatioQuantiles {
        p10: quantile(xs, 0.1).unwrap_or(0.0),
        p50: quantile(xs, 0.5).unwrap_or(0.0),
        p90: quantile(xs, 0.9).unwrap_or(0.0),
    };
    let cpa_of = |o: &RunOutcome| {
        if o.conversions > 0.0 {
            prep.spend / o.conversions
        } else {
            f64::INFINITY
        }
    };
    let mut cpa: Vec<f64> = outcomes.iter().map(cpa_of).collect();
    cpa.sort_by(f64::total_cmp);
    let cpa_q = |q| {
        let v = quantile(&cpa, q).unwrap_or(f64::INFINITY);
        if v.is_finite() {
            money(v, "CPA").map(Some)
        } else {
            Ok(None)
        }
    };

    let probability_cpa_over_max = plan.max_cpa_micros.map(|max| {
        let max = max as f64 / MICROS;
        outcomes.iter().filter(|o| cpa_of(o) > max).count() as f64 / n
    });
    let probability_roas_below_target = plan.target_roas.map(|t| {
        outcomes
            .iter()
            .filter(|o| prep.per_spend(value(o)) < t)
            .count() as f64
            / n
    });

    let histogram = histogram(&uplift, options.histogram_bins as usize, cur)?;

    let mut projection = Vec::with_capacity(prep.days);
    for t in 0..prep.days {
        let band = |s: &Sketch, what| -> Result<Band, TwinError> {
            let q = |p| s.quantile(p).unwrap_or(0.0);
            Ok(Band {
                p10: money(q(0.1), what)?,
                p50: money(q(0.5), what)?,
                p90: money(q(0.9), what)?,
            })
        };
        projection.push(DayBand {
            day: (t + 1) as u32,
            date: plan
                .start_date
                .and_then(|d| d.checked_add(Duration::days(t as i64))),
            spend: money(prep.daily_spend * (t + 1) as f64, "spend")?,
            revenue: band(&sketches.revenue[t], "revenue")?,
            carry_over_revenue: money(
                sketches.carry_over[t].quantile(0.5).unwrap_or(0.0),
                "revenue",
            )?,
            uplift: band(&sketches.uplift[t], "uplift")?,
        });
    }

    let baseline = plan.organic_revenue_micros;
    let incremental_revenue = to_micros(mean(|o| o.revenue), "revenue")?;
    let mean_value = outcomes.iter().map(value).sum::<f64>() / n;
    let incremental_value = to_micros(mean_value, "value")?;
    let at = |micros| Money::from_micros(micros, cur);
    let counterfactual = Counterfactual {
        revenue_without_plan: at(baseline),
        revenue_with_plan: at(baseline.saturating_add(incremental_revenue)),
        incremental_revenue: at(incremental_revenue),
        incremental_value: at(incremental_value),
        incremental_gross_profit: money(prep.margin * mean_value, "gross profit")?,
        incremental_spend: money(prep.spend, "spend")?,
        carry_over_revenue: money(mean(|o| o.carry_over_revenue), "revenue")?,
    };

    Ok(SimulationResult {
        currency: plan.currency,
        runs: options.runs,
        seed: options.seed,
        scenario: options.scenario.clone(),
        value_basis: options.value_basis.unwrap_or_default(),
        confidence,
        confidence_std_error: (confidence * (1.0 - confidence) / n).sqrt(),
        expected_uplift: money(mean(|o| o.uplift), "uplift")?,
        expected_positive_uplift: money(mean(|o| o.uplift.max(0.0)), "uplift")?,
        uplift: money_q(&uplift, "uplift")?,
        roas: ratio_q(&roas),
        cpa: CpaQuantiles {
            p10: cpa_q(0.1)?,
            p50: cpa_q(0.5)?,
            p90: cpa_q(0.9)?,
        },
        expected_spend: money(prep.spend, "spend")?,
        expected_revenue: money(mean(|o| o.plan_revenue), "revenue")?,
        expected_ltv: money(mean(|o| o.ltv), "LTV")?,
        expected_conversions: finite(mean(|o| o.conversions), "conversions")?,
        probability_cpa_over_max,
        probability_roas_below_target,
        histogram,
        projection,
        counterfactual,
        margin: Margin::not_configured(),
        confidence_basis: Default::default(),
        data_quality: Vec::new(),
    })
}

fn finite(x: f64, what: &'static str) -> Result<f64, TwinError> {
    if x.is_finite() {
        Ok(x)
    } else {
        Err(TwinError::OutOfRange { what })
    }
}

fn histogram(sorted: &[f64], bins: usize, currency: Currency) -> Result<Histogram, TwinError> {
    let money = |x: f64| to_micros(x, "uplift").map(|m| Money::from_micros(m, currency));
    let (lo, hi) = (sorted[0], sorted[sorted.len() - 1]);
    if lo == hi || bins == 1 {
        let len = u32::try_from(sorted.len()).unwrap_or(u32::MAX);
        return Ok(Histogram {
            bins: vec![HistogramBin {
                lower: money(lo)?,
                upper: money(hi)?,
                count: len,
            }],
        });
    }
    let width = (hi - lo) / bins as f64;
    let mut counts = vec![0u32; bins];
    for &x in sorted {
        let i = (((x - lo) / width) as usize).min(bins - 1);
        counts[i] += 1;
    }
    counts
        .into_iter()
        .enumerate()
        .map(|(i, count)| {
            let lower = lo + width * i as f64;
            let upper = if i + 1 == bins {
                hi
            } else {
                lo + width * (i + 1) as f64
            };
            Ok(HistogramBin {
                lower: money(lower)?,
                upper: money(upper)?,
                count,
            })
        })
        .collect::<Result<Vec<_>, _>>()
        .map(|bins| Histogram { bins })
}

#[cfg(test)]
mod tests;
