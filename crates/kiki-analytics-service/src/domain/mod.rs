//! The analytics service's request and answer shapes and their pure rules:
//! the dimensions and options a query names, the rows the roll-ups are fed
//! with, and the answers (every metric from sums, per currency).
//!
//! Mixed currencies are never summed: every answer is grouped by currency
//! (a summary has one entry per currency, a series one point per bucket and
//! currency, a table one row per object and currency); ranking by a money
//! metric across several currencies is refused until a `currency` is named.
//! `convert_to` converts them through the dated exchange-rate table first
//! (`fx`), so the answer has one currency group.

pub mod dimensions;
pub mod export;
pub mod fx;
pub mod job;
pub mod pdf;
pub mod rows;
pub mod schedule;
pub mod variants;

use kiki_analytics::{Change, Profit, Sums};
use kiki_core::{Currency, Money};
use serde::{Deserialize, Serialize};
use time::Date;
use utoipa::ToSchema;
use uuid::Uuid;

time::serde::format_description!(pub iso_date, Date, "[year]-[month]-[day]");

/// `YYYY-MM-DD`.
pub fn day_text(d: Date) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day]");
    d.format(&f).unwrap_or_default()
}

/// A stored `YYYY-MM-DD`.
pub fn parse_day(s: &str) -> Option<Date> {
    let f = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s, &f).ok()
}

kiki_core::string_enum! {
    /// The level of a daily row.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    #[schema(as = AnalyticsLevel)]
    pub enum Level {
        Campaign = "campaign",
        AdSet = "ad_set",
        Ad = "ad",
    }
}

kiki_core::string_enum! {
    /// What a breakdown groups by.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    #[schema(as = AnalyticsDimension)]
    pub enum Dimension {
        Platform = "platform",
        /// The organisation (an agency's clients side by side).
        Organisation = "organisation",
        Campaign = "campaign",
        AdSet = "ad_set",
        Ad = "ad",
        /// The creative variant: the ads showing one creative, summed.
        Variant = "variant",
        /// The country the ads were shown in (ISO 3166-1 alpha-2), where
        /// the platform reports it.
        Country = "country",
        /// The device they were shown on (`mobile`, `desktop`, `tablet`,
        /// `connected_tv`, `other`), where the platform reports it.
        Device = "device",
    }
}

impl Dimension {
    /// The level of object rows the dimension reads (platform and
    /// organisation read the campaign-level totals).
    pub fn level(self) -> Level {
        match self {
            Dimension::Platform
            | Dimension::Organisation
            | Dimension::Campaign
            | Dimension::Country
            | Dimension::Device => Level::Campaign,
            Dimension::AdSet => Level::AdSet,
            Dimension::Ad | Dimension::Variant => Level::Ad,
        }
    }
}

kiki_core::string_enum! {
    /// The objects performers are ranked among.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    #[schema(as = AnalyticsRankLevel)]
    pub enum RankLevel {
        Campaign = "campaign",
        AdSet = "ad_set",
        Ad = "ad",
    }
}

impl RankLevel {
    pub fn level(self) -> Level {
        match self {
            RankLevel::Campaign => Level::Campaign,
            RankLevel::AdSet => Level::AdSet,
            RankLevel::Ad => Level::Ad,
        }
    }
}

kiki_core::string_enum! {
    /// Which organisations a query covers.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    #[schema(as = AnalyticsScopeKind)]
    pub enum ScopeKind {
        /// The active organisation only (the default).
        Organisation = "organisation",
        /// The active organisation and every organisation it reaches: an
        /// agency and all its clients.
        Clients = "clients",
    }
}

kiki_core::string_enum! {
    /// The period a summary is compared with.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    #[schema(as = AnalyticsCompareMode)]
    pub enum CompareMode {
        /// The period of the same length just before (the default).
        Previous = "previous",
        /// `compare_since`..`compare_until`.
        Custom = "custom",
        /// No comparison.
        None = "none",
    }
}

kiki_core::string_enum! {
    /// How a table answers.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    #[schema(as = AnalyticsFormat)]
    pub enum Format {
        Json = "json",
        /// Comma-separated values (also `Accept: text/csv`).
        Csv = "csv",
        /// An Excel workbook (also `Accept:` the .xlsx media type).
        Xlsx = "xlsx",
        /// A paginated PDF report with charts (also `Accept: application/pdf`).
        Pdf = "pdf",
    }
}

/// One object's numbers on one day, as a platform reported them: what the
/// roll-ups are fed with.
#[derive(Debug, Clone, PartialEq)]
pub struct DailyRow {
    pub level: Level,
    /// The platform's wire name (`meta`, `google`, …).
    pub platform: String,
    /// The platform's id of the object.
    pub external_id: String,
    /// The platform account's calendar day.
    pub day: Date,
    /// KIKI's ids when KIKI launched the object.
    pub campaign_id: Option<String>,
    pub ad_set_id: Option<String>,
    pub ad_id: Option<String>,
    pub spend: Money,
    /// The platform's attributed conversion value (same currency as spend).
    pub revenue: Money,
    /// Conversions × 1,000,000 (fractions under data-driven attribution).
    pub conversions_micros: i64,
    pub impressions: i64,
    pub clicks: i64,
}

impl DailyRow {
    pub fn sums(&self) -> Sums {
        Sums {
            spend_micros: self.spend.micros,
            revenue_micros: self.revenue.micros,
            conversions_micros: self.conversions_micros,
            impressions: self.impressions,
            clicks: self.clicks,
        }
    }
}

/// Conversions as platforms report them (a number, possibly fractional) in
/// millionths, rounded to the nearest.
pub fn conversions_micros(conversions: f64) -> i64 {
    if !conversions.is_finite() {
        return 0;
    }
    (conversions * kiki_analytics::metrics::CONVERSION_SCALE as f64).round() as i64
}

/// A date range as answered.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = AnalyticsPeriod)]
pub struct PeriodView {
    #[schema(value_type = String, format = Date)]
    #[serde(with = "iso_date")]
    pub since: Date,
    #[schema(value_type = String, format = Date)]
    #[serde(with = "iso_date")]
    pub until: Date,
    pub days: i64,
}

impl From<kiki_analytics::Period> for PeriodView {
    fn from(p: kiki_analytics::Period) -> Self {
        PeriodView {
            since: p.since,
            until: p.until,
            days: p.days(),
        }
    }
}

/// The sums and the metrics derived from them, in one currency. A metric
/// whose denominator is zero is `null`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MetricSet {
    #[schema(value_type = String, example = "USD")]
    pub currency: Currency,
    pub spend: Money,
    /// The platforms' attributed conversion value.
    pub revenue: Money,
    /// Possibly fractional (data-driven attribution).
    pub conversions: f64,
    pub impressions: i64,
    pub clicks: i64,
    /// Revenue ÷ spend.
    pub roas: Option<f64>,
    /// Spend ÷ conversions.
    pub cpa: Option<Money>,
    /// Clicks ÷ impressions.
    pub ctr: Option<f64>,
    /// Spend ÷ clicks.
    pub cpc: Option<Money>,
    /// Spend × 1000 ÷ impressions.
    pub cpm: Option<Money>,
    /// Conversions ÷ clicks.
    pub cvr: Option<f64>,
}

impl MetricSet {
    pub fn of(currency: Currency, s: &Sums) -> MetricSet {
        let money = |m: i64| Money::from_micros(m, currency);
        MetricSet {
            currency,
            spend: money(s.spend_micros),
            revenue: money(s.revenue_micros),
            conversions: s.conversions(),
            impressions: s.impressions,
            clicks: s.clicks,
            roas: s.roas(),
            cpa: s.cpa_micros().map(money),
            ctr: s.ctr(),
            cpc: s.cpc_micros().map(money),
            cpm: s.cpm_micros().map(money),
            cvr: s.cvr(),
        }
    }
}

/// One period's figures in one currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SummaryFigures {
    #[serde(flatten)]
    pub metrics: MetricSet,
    /// Revenue × each organisation's contribution margin (100 % where none
    /// is configured or the contract counts revenue as profit).
    pub gross_profit: Money,
    /// Gross profit − spend.
    pub profit_after_ad_spend: Money,
    /// Campaigns with spend in the period.
    pub active_campaigns: i64,
    /// Customers whose first-ever order falls in the period (LTV context,
    /// per organisation), first order in this currency; with a platform
    /// filter, those whose first order names that acquiring platform;
    /// `null` when the LTV context is not connected or a campaign filter is
    /// set (an order names no campaign).
    #[serde(default)]
    pub new_customers: Option<i64>,
    /// Those of them the organisation's current LTV model values (a
    /// predicted CLV in this currency).
    #[serde(default)]
    pub new_customers_valued: Option<i64>,
    /// Σ predicted CLV of the valued new customers ÷ their count; `null`
    /// when none is valued (no fitted model, or all first bought after the
    /// fit).
    #[serde(default)]
    pub mean_predicted_ltv: Option<Money>,
    /// Customer acquisition cost: spend ÷ new customers; `null` without new
    /// customers.
    #[serde(default)]
    pub cac: Option<Money>,
    /// Σ predicted CLV of the new customers ÷ spend (an unvalued customer
    /// adds nothing); `null` without spend or without a valued customer.
    #[serde(default)]
    pub ltv_to_cac: Option<f64>,
    /// Net profit uplift against the twin's no-new-spend baseline of the
    /// launched plans: Σ over the plan days and platforms they cover of
    /// (revenue − baseline revenue) × margin − spend. `null` when no day of
    /// the period is covered, the twin is not connected, or a platform or
    /// campaign filter is set.
    #[serde(default)]
    pub net_profit_uplift: Option<Money>,
    /// The outcome fee it would carry: the fee rate × each organisation's
    /// uplift when positive, zero otherwise; `null` with the uplift.
    #[serde(default)]
    pub fee: Option<Money>,
    /// The spend the uplift covers; `null` when the twin is not connected or
    /// a filter is set.
    #[serde(default)]
    pub uplift_coverage: Option<UpliftCoverage>,
    /// Where the new-customer and uplift figures come from, in words.
    #[serde(default)]
    pub basis: FigureBasis,
}

/// The spend an uplift is measured over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct UpliftCoverage {
    /// Spend on the plan days and platforms of launched plans.
    pub covered_spend: Money,
    /// All spend of the period.
    pub total_spend: Money,
    /// covered ÷ total; `null` without spend.
    pub share: Option<f64>,
    /// Launched plans with a day credited.
    #[schema(example = 3)]
    pub launched_plans: i64,
}

/// What the figures resting on other contexts rest on, as sentences.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = AnalyticsFigureBasis)]
pub struct FigureBasis {
    /// New customers, mean predicted LTV, CAC, LTV/CAC.
    #[schema(
        example = "42 new customers (first-ever order in the period, in USD); valued by the current LTV model (version 3, CLV over 365 days, in USD); 38 valued, 4 without a prediction (first order after the fit, or no CLV), who add no value to LTV/CAC and are not in the mean."
    )]
    pub customers: String,
    /// Net profit uplift, its coverage and the fee.
    #[schema(
        example = "Against the twin's no-new-spend baseline of 3 launched plans (carry-over of past spend, median); spend of $1,234.00 outside them is not credited; margin 35 % (the organisation's); fee 20 % of positive uplift per organisation."
    )]
    pub uplift: String,
    /// With `convert_to`: which rates the amounts were converted at;
    /// `null` otherwise.
    #[serde(default)]
    #[schema(
        example = "Converted to EUR from USD (90 days, ECB reference rates 2026-09-01 – 2026-11-30, USD→EUR (inverse of EUR→USD)), each day at that day's rate."
    )]
    pub fx: Option<String>,
}

impl SummaryFigures {
    /// The figures of sums per organisation, each at its own margin.
    pub fn of(currency: Currency, per_org: &[(Profit, Sums)], active_campaigns: i64) -> Self {
        let total = Sums::total(per_org.iter().map(|(_, s)| s));
        let gross: i64 = per_org
            .iter()
            .map(|(p, s)| p.gross_profit_micros(s))
            .fold(0i64, i64::saturating_add);
        SummaryFigures {
            metrics: MetricSet::of(currency, &total),
            gross_profit: Money::from_micros(gross, currency),
            profit_after_ad_spend: Money::from_micros(
                gross.saturating_sub(total.spend_micros),
                currency,
            ),
            active_campaigns,
            new_customers: None,
            new_customers_valued: None,
            mean_predicted_ltv: None,
            cac: None,
            ltv_to_cac: None,
            net_profit_uplift: None,
            fee: None,
            uplift_coverage: None,
            basis: FigureBasis::default(),
        }
    }
}

/// How an amount moved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AmountChange {
    /// This period's minus the comparison's.
    pub absolute: Money,
    /// Relative to the comparison's (0.25 = +25 %); `null` when that was 0.
    pub relative: Option<f64>,
}

/// How a number or ratio moved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct NumberChange {
    /// `null` when either value is.
    pub absolute: Option<f64>,
    /// `null` when the comparison's value is 0 or `null`.
    pub relative: Option<f64>,
}

fn amount(c: Change<i64>, currency: Currency) -> AmountChange {
    AmountChange {
        absolute: Money::from_micros(c.absolute.unwrap_or(0), currency),
        relative: c.relative,
    }
}

fn amount_opt(cur: Option<Money>, prev: Option<Money>) -> Option<AmountChange> {
    let (c, p) = (cur?, prev?);
    Some(amount(
        kiki_analytics::change_micros(c.micros, p.micros),
        c.currency,
    ))
}

fn number(c: Change<f64>) -> NumberChange {
    NumberChange {
        absolute: c.absolute,
        relative: c.relative,
    }
}

/// Each figure's change from the comparison period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SummaryChange {
    pub spend: AmountChange,
    pub revenue: AmountChange,
    pub conversions: NumberChange,
    pub impressions: NumberChange,
    pub clicks: NumberChange,
    pub roas: NumberChange,
    /// `null` when either period has no CPA.
    pub cpa: Option<AmountChange>,
    pub ctr: NumberChange,
    pub cpc: Option<AmountChange>,
    pub cpm: Option<AmountChange>,
    pub cvr: NumberChange,
    pub gross_profit: AmountChange,
    pub profit_after_ad_spend: AmountChange,
    pub active_campaigns: NumberChange,
    #[serde(default = "no_change")]
    pub new_customers: NumberChange,
    /// `null` when either period has no mean.
    #[serde(default)]
    pub mean_predicted_ltv: Option<AmountChange>,
    #[serde(default)]
    pub cac: Option<AmountChange>,
    #[serde(default = "no_change")]
    pub ltv_to_cac: NumberChange,
    /// `null` when either period has no uplift.
    #[serde(default)]
    pub net_profit_uplift: Option<AmountChange>,
    #[serde(default)]
    pub fee: Option<AmountChange>,
}

fn no_change() -> NumberChange {
    NumberChange {
        absolute: None,
        relative: None,
    }
}

impl SummaryChange {
    pub fn between(cur: &SummaryFigures, prev: &SummaryFigures) -> SummaryChange {
        let (c, p) = (&cur.metrics, &prev.metrics);
        let cy = c.currency;
        let m = |a: Money, b: Money| amount(kiki_analytics::change_micros(a.micros, b.micros), cy);
        let n = |a: f64, b: f64| number(kiki_analytics::change_ratio(Some(a), Some(b)));
        let r = |a: Option<f64>, b: Option<f64>| number(kiki_analytics::change_ratio(a, b));
        SummaryChange {
            spend: m(c.spend, p.spend),
            revenue: m(c.revenue, p.revenue),
            conversions: n(c.conversions, p.conversions),
            impressions: n(c.impressions as f64, p.impressions as f64),
            clicks: n(c.clicks as f64, p.clicks as f64),
            roas: r(c.roas, p.roas),
            cpa: amount_opt(c.cpa, p.cpa),
            ctr: r(c.ctr, p.ctr),
            cpc: amount_opt(c.cpc, p.cpc),
            cpm: amount_opt(c.cpm, p.cpm),
            cvr: r(c.cvr, p.cvr),
            gross_profit: m(cur.gross_profit, prev.gross_profit),
            profit_after_ad_spend: m(cur.profit_after_ad_spend, prev.profit_after_ad_spend),
            active_campaigns: n(cur.active_campaigns as f64, prev.active_campaigns as f64),
            new_customers: r(
                cur.new_customers.map(|v| v as f64),
                prev.new_customers.map(|v| v as f64),
            ),
            mean_predicted_ltv: amount_opt(cur.mean_predicted_ltv, prev.mean_predicted_ltv),
            cac: amount_opt(cur.cac, prev.cac),
            ltv_to_cac: r(cur.ltv_to_cac, prev.ltv_to_cac),
            net_profit_uplift: amount_opt(cur.net_profit_uplift, prev.net_profit_uplift),
            fee: amount_opt(cur.fee, prev.fee),
        }
    }
}

/// A summary in one currency: this period, the comparison, the change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CurrencySummary {
    #[schema(value_type = String, example = "USD")]
    pub currency: Currency,
    pub current: SummaryFigures,
    /// `null` without a comparison period.
    pub previous: Option<SummaryFigures>,
    pub change: Option<SummaryChange>,
}

/// The margin an organisation's profit figures use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = AnalyticsMargin)]
pub struct MarginView {
    pub organisation_id: Uuid,
    /// Basis points of revenue counted as gross profit (3000 = 30 %).
    pub margin_bps: u32,
    /// True when the organisation has no margin configured and 100 % is
    /// assumed, or its contract counts revenue as profit.
    pub assumed: bool,
}

/// `GET /v1/analytics/summary`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = AnalyticsSummary)]
pub struct Summary {
    pub period: PeriodView,
    /// `null` with `compare=none`.
    pub comparison: Option<PeriodView>,
    pub scope: ScopeKind,
    /// The organisations summed.
    pub organisations: Vec<Uuid>,
    /// The IANA zone whose today ended a default range.
    pub time_zone: String,
    /// One entry per currency the rows are in, by currency code; empty
    /// without rows.
    pub currencies: Vec<CurrencySummary>,
    pub margins: Vec<MarginView>,
    /// With `convert_to`: the target currency and the rates each
    /// currency was converted at; `null` otherwise.
    #[serde(default)]
    pub fx: Option<fx::FxView>,
}

/// One bucket of a time series in one currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SeriesPoint {
    /// The bucket's label: the day, the ISO week's Monday, the month's 1st.
    #[schema(value_type = String, format = Date)]
    #[serde(with = "iso_date")]
    pub start: Date,
    /// The range's days inside the bucket (the ends may be partial).
    #[schema(value_type = String, format = Date)]
    #[serde(with = "iso_date")]
    pub first_day: Date,
    #[schema(value_type = String, format = Date)]
    #[serde(with = "iso_date")]
    pub last_day: Date,
    #[serde(flatten)]
    pub metrics: MetricSet,
}

/// `GET /v1/analytics/timeseries`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TimeSeries {
    pub period: PeriodView,
    pub granularity: kiki_analytics::Granularity,
    pub time_zone: String,
    /// Every bucket of the range for each currency the rows are in (a
    /// bucket without rows has zeros), by bucket then currency.
    pub points: Vec<SeriesPoint>,
    /// With `convert_to`: the target currency and the rates each
    /// currency was converted at; `null` otherwise.
    #[serde(default)]
    pub fx: Option<fx::FxView>,
}

/// One row of a breakdown or ranking: the group's key and its figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct GroupRow {
    /// The platform's wire name (all but the organisation breakdown).
    pub platform: Option<String>,
    /// The organisation (all but the platform breakdown: agency roll-ups
    /// tell clients apart).
    pub organisation_id: Option<Uuid>,
    /// The platform's id of the object (campaign, ad set, ad rows).
    pub external_id: Option<String>,
    /// KIKI's ids, when KIKI launched the object.
    pub campaign_id: Option<String>,
    pub ad_set_id: Option<String>,
    pub ad_id: Option<String>,
    /// The creative variant (`by=variant` rows only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creative: Option<variants::CreativeLabel>,
    /// A `country` breakdown row's country (ISO 3166-1 alpha-2; `ZZ`
    /// unknown).
    #[schema(example = "US")]
    pub country: Option<String>,
    /// A `device` breakdown row's device (`mobile`, `desktop`, `tablet`,
    /// `connected_tv`, `other`).
    #[schema(example = "mobile")]
    pub device: Option<String>,
    #[serde(flatten)]
    pub metrics: MetricSet,
}

/// `GET /v1/analytics/breakdown`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Breakdown {
    pub period: PeriodView,
    pub by: Dimension,
    /// Largest spend first (then by key), at most `limit`.
    pub rows: Vec<GroupRow>,
    /// Rows before the limit.
    pub total_rows: usize,
    pub truncated: bool,
    /// `country` and `device`: the platforms (wire names) with days in the
    /// range that did not report the dimension, whose numbers are in no row
    /// ("not reported by: …"); empty otherwise.
    pub not_reported_by: Vec<String>,
    /// With `convert_to`: the target currency and the rates each
    /// currency was converted at; `null` otherwise.
    #[serde(default)]
    pub fx: Option<fx::FxView>,
}

/// One ranked row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RankedRow {
    /// 1 for the first.
    pub rank: usize,
    /// The metric's value (money metrics in micros of the row's currency).
    pub value: f64,
    #[serde(flatten)]
    pub row: GroupRow,
}

/// `GET /v1/analytics/performers`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Performers {
    pub period: PeriodView,
    pub level: RankLevel,
    pub metric: kiki_analytics::Metric,
    pub direction: kiki_analytics::Direction,
    pub rows: Vec<RankedRow>,
    /// Rows with enough volume and a defined metric.
    pub eligible: usize,
    /// Rows left out below the minimum volume.
    pub below_minimum: usize,
    /// Rows left out because the metric is undefined (zero denominator).
    pub undefined: usize,
    /// With `convert_to`: the target currency and the rates each
    /// currency was converted at; `null` otherwise.
    #[serde(default)]
    pub fx: Option<fx::FxView>,
}

/// One day of a drilled-into object, in one currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DayPoint {
    #[schema(value_type = String, format = Date)]
    #[serde(with = "iso_date")]
    pub day: Date,
    #[serde(flatten)]
    pub metrics: MetricSet,
}

kiki_core::string_enum! {
    /// The level a drill-down stands on.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum DrillLevel {
        /// No campaign named: the organisation (or the agency's roll-up),
        /// with its campaigns below.
        Organisation = "organisation",
        Campaign = "campaign",
        AdSet = "ad_set",
        /// One ad (the dashboard's last step): its totals and days.
        Ad = "ad",
    }
}

/// `GET /v1/analytics/drilldown`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DrillDown {
    pub period: PeriodView,
    /// `organisation` without a campaign, `campaign`, or `ad_set` when an
    /// ad set is named.
    pub level: DrillLevel,
    pub campaign_id: Option<String>,
    pub ad_set_id: Option<String>,
    /// The object's totals, one per currency (platform rows of the same
    /// KIKI object summed).
    pub totals: Vec<MetricSet>,
    /// The next level down (the organisation's campaigns, the campaign's ad
    /// sets, the ad set's ads), largest spend first, at most `limit`.
    pub children: Vec<GroupRow>,
    pub children_truncated: bool,
    /// Every day of the range with rows, per currency.
    pub daily: Vec<DayPoint>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_figures_use_each_organisations_margin() {
        let usd = Currency::parse("USD").unwrap();
        let a = Sums {
            spend_micros: 50_000_000,
            revenue_micros: 200_000_000,
            ..Sums::default()
        };
        let b = Sums {
            spend_micros: 10_000_000,
            revenue_micros: 100_000_000,
            ..Sums::default()
        };
        let f = SummaryFigures::of(
            usd,
            &[
                (
                    Profit {
                        margin_bps: Some(2500),
                    },
                    a,
                ),
                (Profit { margin_bps: None }, b),
            ],
            3,
        );
        // $200 × 25 % + $100 × 100 % = $150; minus $60 spend = $90.
        assert_eq!(f.gross_profit.micros, 150_000_000);
        assert_eq!(f.profit_after_ad_spend.micros, 90_000_000);
        assert_eq!(f.metrics.roas, Some(5.0));
        assert_eq!(f.active_campaigns, 3);
    }

    #[test]
    fn conversions_are_kept_in_millionths() {
        assert_eq!(conversions_micros(2.5), 2_500_000);
        assert_eq!(conversions_micros(0.3333333), 333_333);
        assert_eq!(conversions_micros(f64::NAN), 0);
    }
}

/// The filters every analytics query takes (the query string's common
/// part), before they are checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters {
    /// First day (included); default `default_range_days` before `until`.
    pub since: Option<Date>,
    /// Last day (included); default today in `tz`.
    pub until: Option<Date>,
    /// The IANA time zone of "today"; default `analytics.default_time_zone`.
    pub tz: Option<String>,
    pub scope: Option<ScopeKind>,
    /// Only this platform (wire name).
    pub platform: Option<String>,
    /// Only this KIKI campaign.
    pub campaign_id: Option<Uuid>,
    /// Only rows in this currency.
    pub currency: Option<String>,
    /// Convert every amount into this currency (ISO 4217), each day at its
    /// rate (`fx`).
    pub convert_to: Option<String>,
}

/// A table report's answer, as files are written from it.
#[derive(Debug, Clone)]
pub enum Report {
    TimeSeries(TimeSeries),
    Breakdown(Breakdown),
    Performers(Performers),
    DrillDown(DrillDown),
    Variants(variants::Variants),
    Summary(Box<Summary>),
}

impl Report {
    /// The route's name (`timeseries`, …): the audit target and file name.
    pub fn name(&self) -> &'static str {
        match self {
            Report::TimeSeries(_) => "timeseries",
            Report::Breakdown(_) => "breakdown",
            Report::Performers(_) => "performers",
            Report::DrillDown(_) => "drilldown",
            Report::Variants(_) => "variants",
            Report::Summary(_) => "summary",
        }
    }

    /// The report's title in a PDF.
    pub fn title(&self) -> String {
        match self {
            Report::TimeSeries(_) => "Time series".into(),
            Report::Breakdown(b) => format!("Breakdown by {}", b.by.as_str().replace('_', " ")),
            Report::Performers(p) => format!(
                "{} performers by {}",
                match p.direction {
                    kiki_analytics::Direction::Top => "Top",
                    kiki_analytics::Direction::Bottom => "Bottom",
                },
                p.metric.as_str()
            ),
            Report::DrillDown(d) => match d.level {
                DrillLevel::Organisation => "Drill-down: organisation".into(),
                DrillLevel::Campaign => "Drill-down: campaign".into(),
                DrillLevel::AdSet => "Drill-down: ad set".into(),
                DrillLevel::Ad => "Drill-down: ad".into(),
            },
            Report::Variants(_) => "Creative variants".into(),
            Report::Summary(_) => "Summary".into(),
        }
    }

    pub fn period(&self) -> &PeriodView {
        match self {
            Report::TimeSeries(v) => &v.period,
            Report::Breakdown(v) => &v.period,
            Report::Performers(v) => &v.period,
            Report::DrillDown(v) => &v.period,
            Report::Variants(v) => &v.period,
            Report::Summary(v) => &v.period,
        }
    }

    pub fn tables(&self) -> Vec<export::Table> {
        match self {
            Report::TimeSeries(v) => v.tables(),
            Report::Breakdown(v) => v.tables(),
            Report::Performers(v) => v.tables(),
            Report::DrillDown(v) => v.tables(),
            Report::Variants(v) => v.tables(),
            Report::Summary(v) => v.tables(),
        }
    }

    /// The charts a PDF draws: revenue vs spend for series and drill-down,
    /// bars for breakdowns (spend and revenue) and rankings (the metric).
    pub fn charts(&self) -> Vec<pdf::Chart> {
        match self {
            Report::TimeSeries(v) => v.charts().into_iter().map(pdf::Chart::Line).collect(),
            Report::DrillDown(v) => v.charts().into_iter().map(pdf::Chart::Line).collect(),
            Report::Breakdown(v) => v.bar_charts().into_iter().map(pdf::Chart::Bars).collect(),
            Report::Performers(v) => v.bar_charts().into_iter().map(pdf::Chart::Bars).collect(),
            Report::Variants(_) | Report::Summary(_) => Vec::new(),
        }
    }

    /// The answer as JSON.
    pub fn json(&self) -> serde_json::Value {
        let v = match self {
            Report::TimeSeries(v) => serde_json::to_value(v),
            Report::Breakdown(v) => serde_json::to_value(v),
            Report::Performers(v) => serde_json::to_value(v),
            Report::DrillDown(v) => serde_json::to_value(v),
            Report::Variants(v) => serde_json::to_value(v),
            Report::Summary(v) => serde_json::to_value(v),
        };
        v.unwrap_or(serde_json::Value::Null)
    }
}

/// A file written from a report.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportFile {
    pub media_type: &'static str,
    /// `analytics-<report>-<since>-<until>.<ext>`.
    pub file_name: String,
    /// The CSV in chunks of rows (sent as written), or the whole file.
    pub chunks: Vec<Vec<u8>>,
    /// Rows of the first table.
    pub rows: usize,
}

/// Writes a report as CSV, Excel or PDF (`heading` is what the PDF prints
/// besides the answer); `None` for JSON.
pub fn write_file(
    report: &Report,
    format: Format,
    heading: &pdf::Heading,
    csv_rows_per_chunk: usize,
) -> Result<Option<ExportFile>, String> {
    let tables = report.tables();
    let rows = tables.first().map_or(0, |t| t.rows.len());
    let period = report.period();
    let stem = format!(
        "analytics-{}-{}-{}",
        report.name(),
        day_text(period.since),
        day_text(period.until)
    );
    let (media_type, chunks, ext) = match format {
        Format::Json => return Ok(None),
        Format::Csv => (
            "text/csv; charset=utf-8",
            tables
                .first()
                .map(|t| export::csv_chunks(t, csv_rows_per_chunk))
                .unwrap_or_default(),
            "csv",
        ),
        Format::Xlsx => (
            export::XLSX_MEDIA_TYPE,
            vec![export::xlsx(&tables).map_err(|e| format!("writing the workbook: {e}"))?],
            "xlsx",
        ),
        Format::Pdf => (
            pdf::PDF_MEDIA_TYPE,
            vec![
                pdf::pdf(heading, &report.charts(), &tables)
                    .map_err(|e| format!("writing the PDF: {e}"))?,
            ],
            "pdf",
        ),
    };
    Ok(Some(ExportFile {
        media_type,
        file_name: format!("{stem}.{ext}"),
        chunks,
        rows,
    }))
}
