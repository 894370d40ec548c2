//! The summary's figures that rest on other contexts: new customers and
//! their predicted LTV (read from `kiki_ltv_service::LtvService`), CAC and
//! LTV/CAC, and the net profit uplift against the twin's no-new-spend
//! baseline of launched plans with the fee it would carry (baselines read
//! from `kiki_twin_service::TwinService`). Neither context's tables are
//! read here; without a context wired, its figures are `null` and the basis
//! says so.
//!
//! Uplift is matched by platform and day, not by KIKI campaign id: the twin
//! simulates a plan against the platform-level history of the plan's
//! platforms, and the carry-over it states is what past spend on those
//! platforms (of any campaign) still brings — revenue the platforms report
//! on campaigns other than the launched one. Set against the launched
//! campaign's own rows it would be subtracted from revenue it was never in;
//! set against every row of the plan's platforms on the plan's days it is
//! the same comparison the twin's mirror makes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use kiki_analytics::fx::Converter;
use kiki_analytics::{BaselineDay, Period, PlatformDay, Profit, Sums};
use kiki_core::{Currency, Money, OrgId, TenantScope};
use kiki_ltv_service::LtvService;
use kiki_twin_service::{LaunchBaseline, TwinService};
use time::{Date, Duration};

use super::fx::Missing;
use super::{AnalyticsService, Resolved, row_sums, stored_currency};
use crate::domain::{
    CurrencySummary, FigureBasis, SummaryChange, SummaryFigures, UpliftCoverage, day_text,
    parse_day,
};
use crate::error::{AnalyticsError, Result};
use crate::store::Grain;

/// One platform's sums on one day: (day, platform, sums).
type RowDay = (Date, String, Sums);

/// New customers of one currency, summed over the organisations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Customers {
    count: i64,
    valued: i64,
    ltv_micros: i64,
}

/// The uplift of one currency, summed over the organisations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Uplift {
    uplift_micros: i64,
    fee_micros: i64,
    covered_spend_micros: i64,
    plans: i64,
}

/// What the new-customer figures of a period rest on.
enum CustomerSource {
    NotConnected,
    Filtered,
    Counted {
        per_currency: BTreeMap<String, Customers>,
        /// One sentence on the models (which, or none).
        models: String,
        /// The acquiring platform the count is limited to.
        platform: Option<String>,
        /// Under `convert_to`: the day whose rates the predicted CLV was
        /// converted at (the period's last).
        converted_on: Option<Date>,
    },
}

/// What the uplift of a period rests on.
enum UpliftSource {
    NotConnected,
    Filtered,
    Measured {
        per_currency: BTreeMap<String, Uplift>,
        fee_rate_bps: u32,
        /// The margins of the organisations with a plan day credited.
        margins: BTreeSet<Option<u32>>,
        /// Under `convert_to`: rows and baselines converted at each day's rate.
        converted: bool,
    },
}

/// A period's figures from the other contexts.
struct Outcomes {
    customers: CustomerSource,
    uplift: UpliftSource,
}

impl AnalyticsService {
    /// New customers and their predicted LTV from the LTV module.
    pub fn with_ltv(mut self, ltv: Arc<LtvService>) -> AnalyticsService {
        self.ltv = Some(ltv);
        self
    }

    /// Launched plans' baselines and the fee rate from the twin module.
    pub fn with_twin(mut self, twin: Arc<TwinService>) -> AnalyticsService {
        self.twin = Some(twin);
        self
    }

    /// Fills the new-customer, LTV, CAC, uplift and fee figures of every
    /// currency of a summary (adding a currency that only new customers
    /// are in), and their change. With a converter every amount is in its
    /// target currency: the roll-up's rows and the plans' baselines at each
    /// day's rate, the predicted CLV at the rate of the period's last day.
    pub(super) async fn add_outcomes(
        &self,
        scope: &TenantScope,
        q: &Resolved,
        comparison: Option<Period>,
        margins: &BTreeMap<OrgId, Profit>,
        fx: &mut Option<Converter>,
        out: &mut Vec<CurrencySummary>,
    ) -> Result<()> {
        let current = self.outcomes(scope, q, q.period, margins, fx).await?;
        let previous = match comparison {
            Some(p) => Some(self.outcomes(scope, q, p, margins, fx).await?),
            None => None,
        };
        let mut extra: BTreeSet<String> = BTreeSet::new();
        for o in std::iter::once(&current).chain(previous.as_ref()) {
            if let CustomerSource::Counted { per_currency, .. } = &o.customers {
                extra.extend(per_currency.keys().cloned());
            }
        }
        for c in extra {
            if out.iter().any(|s| s.currency.as_str() == c) {
                continue;
            }
            let currency = stored_currency(&c)?;
            let zero = SummaryFigures::of(currency, &[], 0);
            out.push(CurrencySummary {
                currency,
                current: zero.clone(),
                previous: previous.as_ref().map(|_| zero),
                change: None,
            });
        }
        out.sort_by(|a, b| a.currency.as_str().cmp(b.currency.as_str()));
        for s in out.iter_mut() {
            apply(&mut s.current, &current);
            if let (Some(p), Some(o)) = (s.previous.as_mut(), previous.as_ref()) {
                apply(p, o);
            }
            s.change = s
                .previous
                .as_ref()
                .map(|p| SummaryChange::between(&s.current, p));
        }
        Ok(())
    }

    async fn outcomes(
        &self,
        scope: &TenantScope,
        q: &Resolved,
        period: Period,
        margins: &BTreeMap<OrgId, Profit>,
        fx: &mut Option<Converter>,
    ) -> Result<Outcomes> {
        let filtered = q.sel.platform.is_some() || q.sel.campaign_id.is_some();
        // A first order names its acquiring platform, never a campaign.
        let customers = match (&self.ltv, q.sel.campaign_id.is_some()) {
            (None, _) => CustomerSource::NotConnected,
            (Some(_), true) => CustomerSource::Filtered,
            (Some(ltv), false) => self.customers(ltv, scope, q, period, fx).await?,
        };
        let uplift = match (&self.twin, filtered) {
            (None, _) => UpliftSource::NotConnected,
            (Some(_), true) => UpliftSource::Filtered,
            (Some(twin), false) => self.uplift(twin, scope, q, period, margins, fx).await?,
        };
        Ok(Outcomes { customers, uplift })
    }

    async fn customers(
        &self,
        ltv: &LtvService,
        scope: &TenantScope,
        q: &Resolved,
        period: Period,
        fx: &mut Option<Converter>,
    ) -> Result<CustomerSource> {
        let bound = |d: Date| {
            kiki_analytics::start_of_day_in(d, &q.time_zone).ok_or_else(|| {
                AnalyticsError::Internal(format!("the start of {} in {}", d, q.time_zone))
            })
        };
        let since = bound(period.since)?;
        let until = bound(period.until + Duration::days(1))?;
        let got = ltv
            .new_customers(scope, &q.orgs, since, until, q.sel.platform.as_deref())
            .await
            .map_err(|e| AnalyticsError::Internal(format!("reading new customers: {e}")))?;
        let mut per_currency: BTreeMap<String, Customers> = BTreeMap::new();
        let mut without_model = 0usize;
        let mut models = Vec::new();
        let mut missing = Missing::default();
        for org in &got {
            match &org.model {
                Some(m) => models.push(m.clone()),
                None => without_model += 1,
            }
            for c in &org.currencies {
                if q.sel
                    .currency
                    .as_deref()
                    .is_some_and(|x| x != c.currency.as_str())
                {
                    continue;
                }
                // A prediction is a forward-looking amount, not a day's
                // flow: it is converted at the period's last day's rate.
                let (key, ltv_micros) = match fx.as_mut() {
                    None => (c.currency.as_str().to_owned(), c.predicted_ltv.micros),
                    Some(conv) => {
                        match conv.convert(
                            c.currency.as_str(),
                            period.until,
                            [c.predicted_ltv.micros],
                        ) {
                            Ok([m]) => (conv.target().to_owned(), m),
                            Err(e) => {
                                missing.add(e);
                                continue;
                            }
                        }
                    }
                };
                let e = per_currency.entry(key).or_default();
                e.count = e.count.saturating_add(c.customers);
                e.valued = e.valued.saturating_add(c.predicted);
                e.ltv_micros = e.ltv_micros.saturating_add(ltv_micros);
            }
        }
        if let Some(conv) = fx.as_ref() {
            missing.check(conv)?;
        }
        let models = match (got.len(), models.as_slice()) {
            (1, [m]) => format!(
                "valued by the current LTV model (version {}, CLV over {} days, in {})",
                m.version, m.horizon_days, m.currency
            ),
            (1, _) => "no fitted model: predicted LTV unknown".to_owned(),
            (n, _) if without_model == n => {
                "no fitted model in any organisation: predicted LTV unknown".to_owned()
            }
            (n, _) if without_model > 0 => format!(
                "valued by each organisation's current LTV model; no fitted model in {without_model} of the {n} organisations"
            ),
            _ => "valued by each organisation's current LTV model".to_owned(),
        };
        Ok(CustomerSource::Counted {
            per_currency,
            models,
            platform: q.sel.platform.clone(),
            converted_on: fx.as_ref().map(|_| period.until),
        })
    }

    async fn uplift(
        &self,
        twin: &TwinService,
        scope: &TenantScope,
        q: &Resolved,
        period: Period,
        margins: &BTreeMap<OrgId, Profit>,
        fx: &mut Option<Converter>,
    ) -> Result<UpliftSource> {
        let baselines = twin
            .launch_baselines(scope, &q.orgs, period.since, period.until)
            .await
            .map_err(|e| AnalyticsError::Internal(format!("reading launch baselines: {e}")))?;
        if baselines.plans.is_empty() {
            // Nothing to measure: no need to read the rows (the basis
            // states the period's spend as not credited).
            return Ok(UpliftSource::Measured {
                per_currency: BTreeMap::new(),
                fee_rate_bps: baselines.fee_rate_bps,
                margins: BTreeSet::new(),
                converted: fx.is_some(),
            });
        }
        let mut sel = q.sel.clone();
        sel.since = day_text(period.since);
        sel.until = day_text(period.until);
        // Rows per organisation and currency (the target's when
        // converting): (day, platform, sums).
        let mut rows: BTreeMap<(OrgId, String), Vec<RowDay>> = BTreeMap::new();
        for r in self.day_rows(&sel, fx, Grain::FULL).await? {
            let day = parse_day(&r.day)
                .ok_or_else(|| AnalyticsError::Internal(format!("a stored day `{}`", r.day)))?;
            rows.entry((OrgId(r.org_id), r.currency.clone()))
                .or_default()
                .push((
                    day,
                    r.platform.to_ascii_lowercase(),
                    row_sums(
                        r.spend_micros,
                        r.revenue_micros,
                        r.conversions_micros,
                        r.impressions,
                        r.clicks,
                    ),
                ));
        }
        // Each plan's days, their baseline revenue in the rows' currency.
        let mut missing = Missing::default();
        let plans: Vec<(&LaunchBaseline, String, Vec<BaselineDay<'_>>)> = baselines
            .plans
            .iter()
            .map(|b| {
                let (currency, days) = plan_days(b, fx, &mut missing);
                (b, currency, days)
            })
            .collect();
        if let Some(conv) = fx.as_ref() {
            missing.check(conv)?;
        }
        let mut per_currency: BTreeMap<String, Uplift> = BTreeMap::new();
        let mut used_margins = BTreeSet::new();
        for ((org, currency), org_rows) in &rows {
            let profit = margins
                .get(org)
                .copied()
                .unwrap_or(Profit { margin_bps: None });
            let days: Vec<PlatformDay<'_>> = org_rows
                .iter()
                .map(|(day, platform, sums)| PlatformDay {
                    day: *day,
                    platform: platform.as_str(),
                    sums: *sums,
                })
                .collect();
            let plans: Vec<&[BaselineDay<'_>]> = plans
                .iter()
                .filter(|(b, c, _)| b.org_id == *org && c == currency)
                .map(|(_, _, d)| d.as_slice())
                .collect();
            let all: Vec<BaselineDay<'_>> = plans.iter().flat_map(|d| d.iter().cloned()).collect();
            let u = kiki_analytics::baseline_uplift(&days, &all, profit);
            let credited = plans
                .iter()
                .filter(|d| kiki_analytics::baseline_uplift(&days, d, profit).days_credited > 0)
                .count();
            if credited > 0 {
                used_margins.insert(profit.margin_bps);
            }
            let e = per_currency.entry(currency.clone()).or_default();
            e.uplift_micros = e.uplift_micros.saturating_add(u.uplift_micros);
            e.fee_micros = e.fee_micros.saturating_add(kiki_analytics::fee_micros(
                u.uplift_micros,
                baselines.fee_rate_bps,
            ));
            e.covered_spend_micros = e
                .covered_spend_micros
                .saturating_add(u.covered_spend_micros);
            e.plans += credited as i64;
        }
        Ok(UpliftSource::Measured {
            per_currency,
            fee_rate_bps: baselines.fee_rate_bps,
            margins: used_margins,
            converted: fx.is_some(),
        })
    }
}

/// A launched plan's days as the engine reads them, with the currency
/// they are in: the plan's own, or the converter's target with each day's
/// baseline revenue converted at that day's rate (a day without a rate is
/// left out and noted in `missing`, which fails the read).
fn plan_days<'a>(
    b: &'a LaunchBaseline,
    fx: &mut Option<Converter>,
    missing: &mut Missing,
) -> (String, Vec<BaselineDay<'a>>) {
    let mut days = Vec::with_capacity(b.days.len());
    for d in &b.days {
        let revenue = match fx.as_mut() {
            None => d.revenue.micros,
            Some(conv) => match conv.convert(b.currency.as_str(), d.date, [d.revenue.micros]) {
                Ok([m]) => m,
                Err(e) => {
                    missing.add(e);
                    continue;
                }
            },
        };
        days.push(BaselineDay {
            day: d.date,
            platforms: &b.platforms,
            baseline_revenue_micros: revenue,
        });
    }
    let currency = fx
        .as_ref()
        .map_or_else(|| b.currency.as_str().to_owned(), |c| c.target().to_owned());
    (currency, days)
}

/// Percent of basis points as people write it: `35 %`, `32.5 %`.
fn percent(bps: u32) -> String {
    let whole = bps / 100;
    let rest = bps % 100;
    if rest == 0 {
        format!("{whole} %")
    } else if rest.is_multiple_of(10) {
        format!("{whole}.{} %", rest / 10)
    } else {
        format!("{whole}.{rest:02} %")
    }
}

/// Sets a period's figures of one currency from its outcomes.
fn apply(f: &mut SummaryFigures, o: &Outcomes) {
    let currency = f.metrics.currency;
    let money = |m: i64| Money::from_micros(m, currency);
    let spend = f.metrics.spend.micros;
    f.basis = FigureBasis {
        customers: customers_basis(currency, &o.customers),
        uplift: uplift_basis(currency, spend, &o.uplift),
        fx: f.basis.fx.take(),
    };
    match &o.customers {
        CustomerSource::Counted { per_currency, .. } => {
            let c = per_currency
                .get(currency.as_str())
                .copied()
                .unwrap_or_default();
            f.new_customers = Some(c.count);
            f.new_customers_valued = Some(c.valued);
            f.mean_predicted_ltv = kiki_analytics::mean_micros(c.ltv_micros, c.valued).map(money);
            f.cac = kiki_analytics::cac_micros(spend, c.count).map(money);
            f.ltv_to_cac = if c.valued > 0 {
                kiki_analytics::ltv_sum_to_spend(c.ltv_micros, spend)
            } else {
                None
            };
        }
        CustomerSource::NotConnected | CustomerSource::Filtered => {
            f.new_customers = None;
            f.new_customers_valued = None;
            f.mean_predicted_ltv = None;
            f.cac = None;
            f.ltv_to_cac = None;
        }
    }
    match &o.uplift {
        UpliftSource::Measured { per_currency, .. } => {
            let u = per_currency
                .get(currency.as_str())
                .copied()
                .unwrap_or_default();
            let measured = u.plans > 0;
            f.net_profit_uplift = measured.then(|| money(u.uplift_micros));
            f.fee = measured.then(|| money(u.fee_micros));
            f.uplift_coverage = Some(UpliftCoverage {
                covered_spend: money(u.covered_spend_micros),
                total_spend: money(spend),
                share: kiki_analytics::share(u.covered_spend_micros, spend),
                launched_plans: u.plans,
            });
        }
        UpliftSource::NotConnected | UpliftSource::Filtered => {
            f.net_profit_uplift = None;
            f.fee = None;
            f.uplift_coverage = None;
        }
    }
}

fn customers_basis(currency: Currency, s: &CustomerSource) -> String {
    match s {
        CustomerSource::NotConnected => {
            "The LTV context is not connected to analytics: no new-customer figures.".to_owned()
        }
        CustomerSource::Filtered => "New customers are counted per organisation and acquiring platform, not per campaign (an order names no campaign): not shown with a campaign filter.".to_owned(),
        CustomerSource::Counted {
            per_currency,
            models,
            platform,
            converted_on,
        } => {
            let c = per_currency
                .get(currency.as_str())
                .copied()
                .unwrap_or_default();
            let unvalued = c.count - c.valued;
            let through = platform.as_ref().map_or(String::new(), |p| {
                format!(", acquired through {p}: the acquiring platform their first order names")
            });
            let mut s = format!(
                "{} new customers (first-ever order in the period, in {currency}{through}); {}",
                c.count, models
            );
            if c.count > 0 {
                s.push_str(&format!(
                    "; {} valued, {unvalued} without a prediction (first order after the fit, or no CLV), who add no value to LTV/CAC and are not in the mean",
                    c.valued
                ));
            }
            if let Some(day) = converted_on {
                s.push_str(&format!(
                    "; predicted CLV converted to {currency} at the rates of {} (the period's last day)",
                    day_text(*day)
                ));
            }
            s.push('.');
            s
        }
    }
}

/// `spend` is the period's spend in the currency (every row's, the same
/// rows the uplift reads).
fn uplift_basis(currency: Currency, spend: i64, s: &UpliftSource) -> String {
    match s {
        UpliftSource::NotConnected => {
            "The twin is not connected to analytics: no baseline, no uplift or fee.".to_owned()
        }
        UpliftSource::Filtered => "The twin states a launched plan's baseline for its platforms together: no uplift with a platform or campaign filter.".to_owned(),
        UpliftSource::Measured {
            per_currency,
            fee_rate_bps,
            margins,
            converted,
        } => {
            let u = per_currency
                .get(currency.as_str())
                .copied()
                .unwrap_or_default();
            let outside =
                Money::from_micros(spend.saturating_sub(u.covered_spend_micros), currency);
            if u.plans == 0 {
                return format!(
                    "No launched campaign's plan covers a day of the period in {currency}: nothing is measured against the twin's baseline; spend of {} is not credited.",
                    outside.text()
                );
            }
            let margin = match margins.iter().collect::<Vec<_>>().as_slice() {
                [Some(bps)] => format!("margin {} (the organisation's)", percent(*bps)),
                [None] => "margin assumed 100 % (no contribution margin configured, or the contract counts revenue as profit)".to_owned(),
                _ => "each organisation's margin".to_owned(),
            };
            let converted = if *converted {
                format!("; revenue, spend and baselines converted to {currency} at each day's rate")
            } else {
                String::new()
            };
            format!(
                "Against the twin's no-new-spend baseline of {} launched plan{} (carry-over of past spend, median); spend of {} outside them is not credited; {margin}; fee {} of positive uplift per organisation{converted}.",
                u.plans,
                if u.plans == 1 { "" } else { "s" },
                outside.text(),
                percent(*fee_rate_bps)
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::percent;

    #[test]
    fn percents_are_written_as_people_read_them() {
        assert_eq!(percent(3500), "35 %");
        assert_eq!(percent(3250), "32.5 %");
        assert_eq!(percent(2001), "20.01 %");
        assert_eq!(percent(10_000), "100 %");
    }
}
