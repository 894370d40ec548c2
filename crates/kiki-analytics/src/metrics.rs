//! The additive sums of a set of daily rows and the metrics derived from
//! them. Every ratio is a ratio of sums over the whole selection (a week's
//! ROAS is the week's revenue over the week's spend, never the mean of its
//! days' ROAS); a metric whose denominator is zero is `None` (shown as
//! `null`), never 0 or infinity. Money stays in integer micros; a money
//! result is rounded half away from zero to the micro.

use serde::{Deserialize, Serialize};

/// Conversions are stored in millionths (platforms report fractional
/// conversions under data-driven attribution), so sums are exact integers.
pub const CONVERSION_SCALE: i64 = 1_000_000;

/// The additive numbers of one row or of many rows summed. Money is in
/// micros of one currency (the caller never sums two currencies).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sums {
    pub spend_micros: i64,
    /// The platforms' attributed conversion value.
    pub revenue_micros: i64,
    /// Conversions × 1,000,000.
    pub conversions_micros: i64,
    pub impressions: i64,
    pub clicks: i64,
}

impl Sums {
    /// Adds another row (saturating: sums of real spend are far from the
    /// limit, 9.2 × 10¹² currency units).
    pub fn add(&mut self, o: &Sums) {
        self.spend_micros = self.spend_micros.saturating_add(o.spend_micros);
        self.revenue_micros = self.revenue_micros.saturating_add(o.revenue_micros);
        self.conversions_micros = self.conversions_micros.saturating_add(o.conversions_micros);
        self.impressions = self.impressions.saturating_add(o.impressions);
        self.clicks = self.clicks.saturating_add(o.clicks);
    }

    /// The sum of many rows.
    pub fn total<'a>(rows: impl IntoIterator<Item = &'a Sums>) -> Sums {
        let mut s = Sums::default();
        rows.into_iter().for_each(|r| s.add(r));
        s
    }

    /// Conversions as a number (fractional when the platform attributes
    /// fractions).
    pub fn conversions(&self) -> f64 {
        self.conversions_micros as f64 / CONVERSION_SCALE as f64
    }

    /// Return on ad spend: revenue ÷ spend.
    pub fn roas(&self) -> Option<f64> {
        ratio(self.revenue_micros, self.spend_micros)
    }

    /// Cost per acquisition, in micros: spend ÷ conversions.
    pub fn cpa_micros(&self) -> Option<i64> {
        div_round(
            i128::from(self.spend_micros) * i128::from(CONVERSION_SCALE),
            i128::from(self.conversions_micros),
        )
    }

    /// Click-through rate: clicks ÷ impressions.
    pub fn ctr(&self) -> Option<f64> {
        ratio(self.clicks, self.impressions)
    }

    /// Cost per click, in micros: spend ÷ clicks.
    pub fn cpc_micros(&self) -> Option<i64> {
        div_round(i128::from(self.spend_micros), i128::from(self.clicks))
    }

    /// Cost per thousand impressions, in micros: spend × 1000 ÷ impressions.
    pub fn cpm_micros(&self) -> Option<i64> {
        div_round(
            i128::from(self.spend_micros) * 1000,
            i128::from(self.impressions),
        )
    }

    /// Conversion rate: conversions ÷ clicks.
    pub fn cvr(&self) -> Option<f64> {
        ratio(
            self.conversions_micros,
            self.clicks.saturating_mul(CONVERSION_SCALE),
        )
    }

    /// The value of `metric` for these sums, as a number for ordering and
    /// tables (money in micros).
    pub fn value(&self, metric: Metric) -> Option<f64> {
        match metric {
            Metric::Spend => Some(self.spend_micros as f64),
            Metric::Revenue => Some(self.revenue_micros as f64),
            Metric::Conversions => Some(self.conversions()),
            Metric::Impressions => Some(self.impressions as f64),
            Metric::Clicks => Some(self.clicks as f64),
            Metric::Roas => self.roas(),
            Metric::Cpa => self.cpa_micros().map(|v| v as f64),
            Metric::Ctr => self.ctr(),
            Metric::Cpc => self.cpc_micros().map(|v| v as f64),
            Metric::Cvr => self.cvr(),
        }
    }
}

/// `num ÷ den` as a number; `None` when `den` is zero.
fn ratio(num: i64, den: i64) -> Option<f64> {
    (den != 0).then(|| num as f64 / den as f64)
}

/// `num ÷ den` rounded half away from zero; `None` when `den` is zero or
/// the result does not fit an `i64`.
pub fn div_round(num: i128, den: i128) -> Option<i64> {
    if den == 0 {
        return None;
    }
    let (num, den) = if den < 0 { (-num, -den) } else { (num, den) };
    let q = num / den;
    let r = num % den;
    let q = if 2 * r.abs() >= den {
        q + num.signum()
    } else {
        q
    };
    i64::try_from(q).ok()
}

kiki_core::string_enum! {
    /// A metric performers are ranked by.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    #[schema(as = AnalyticsMetric)]
    pub enum Metric {
        Spend = "spend",
        Revenue = "revenue",
        Conversions = "conversions",
        Impressions = "impressions",
        Clicks = "clicks",
        Roas = "roas",
        Cpa = "cpa",
        Ctr = "ctr",
        Cpc = "cpc",
        Cvr = "cvr",
    }
}

impl Metric {
    /// True for the metrics where more is better; cost metrics (CPA, CPC)
    /// and spend are better lower.
    pub fn higher_is_better(self) -> bool {
        !matches!(self, Metric::Cpa | Metric::Cpc | Metric::Spend)
    }

    /// True for metrics in money: comparing them across currencies means
    /// nothing.
    pub fn is_money(self) -> bool {
        matches!(
            self,
            Metric::Spend | Metric::Revenue | Metric::Cpa | Metric::Cpc
        )
    }
}

/// Profit figures at the organisation's contribution margin (basis points,
/// 3000 = 30 %; `None` = not configured, and 100 % is assumed: revenue
/// counts as profit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profit {
    pub margin_bps: Option<u32>,
}

impl Profit {
    /// The share of revenue that is gross profit, in basis points.
    pub fn effective_bps(&self) -> i64 {
        i64::from(self.margin_bps.unwrap_or(10_000))
    }

    /// Gross profit: revenue × margin.
    pub fn gross_profit_micros(&self, s: &Sums) -> i64 {
        self.at_margin(s.revenue_micros)
    }

    /// Profit after ad spend: revenue × margin − spend.
    pub fn profit_after_ad_spend_micros(&self, s: &Sums) -> i64 {
        self.gross_profit_micros(s).saturating_sub(s.spend_micros)
    }

    /// Net profit uplift against a baseline: (revenue − baseline revenue) ×
    /// margin − (spend − baseline spend).
    pub fn net_profit_uplift_micros(&self, current: &Sums, baseline: &Sums) -> i64 {
        let revenue = current
            .revenue_micros
            .saturating_sub(baseline.revenue_micros);
        let spend = current.spend_micros.saturating_sub(baseline.spend_micros);
        self.at_margin(revenue).saturating_sub(spend)
    }

    fn at_margin(&self, micros: i64) -> i64 {
        div_round(
            i128::from(micros) * i128::from(self.effective_bps()),
            10_000,
        )
        .unwrap_or(if micros < 0 { i64::MIN } else { i64::MAX })
    }
}

/// Customer acquisition cost in micros: spend ÷ new customers.
pub fn cac_micros(spend_micros: i64, new_customers: i64) -> Option<i64> {
    div_round(i128::from(spend_micros), i128::from(new_customers))
}

/// LTV/CAC: the new customers' mean predicted lifetime value over what one
/// cost to acquire (= mean LTV × new customers ÷ spend). `None` without
/// spend or without new customers.
pub fn ltv_cac(mean_ltv_micros: i64, spend_micros: i64, new_customers: i64) -> Option<f64> {
    if spend_micros == 0 || new_customers == 0 {
        return None;
    }
    Some(mean_ltv_micros as f64 * new_customers as f64 / spend_micros as f64)
}

/// The mean of an amount over a count, in micros, rounded half away from
/// zero: the mean predicted LTV of the valued new customers. `None` at a
/// count of 0.
pub fn mean_micros(sum_micros: i64, count: i64) -> Option<i64> {
    div_round(i128::from(sum_micros), i128::from(count))
}

/// LTV/CAC from sums: the new customers' predicted lifetime value summed
/// over the spend that acquired them (= mean LTV × valued customers ÷
/// spend; a customer without a prediction adds no value). `None` without
/// spend.
pub fn ltv_sum_to_spend(ltv_sum_micros: i64, spend_micros: i64) -> Option<f64> {
    ratio(ltv_sum_micros, spend_micros)
}

/// The outcome fee on a net profit uplift: `fee_rate_bps` of it when it is
/// positive (2000 = 20 %), rounded half away from zero to the micro; zero
/// otherwise (a loss carries no fee and is not billed back).
pub fn fee_micros(uplift_micros: i64, fee_rate_bps: u32) -> i64 {
    if uplift_micros <= 0 {
        return 0;
    }
    div_round(i128::from(uplift_micros) * i128::from(fee_rate_bps), 10_000).unwrap_or(i64::MAX)
}

/// A part over a whole (covered spend over all spend); `None` at a whole of
/// 0.
pub fn share(part: i64, whole: i64) -> Option<f64> {
    ratio(part, whole)
}

/// One platform's sums on one day (of one organisation, in one currency).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlatformDay<'a> {
    pub day: time::Date,
    /// The platform's wire name, lower case.
    pub platform: &'a str,
    pub sums: Sums,
}

/// One day of a launched plan's no-new-spend baseline: the plan's
/// platforms and the revenue they bring that day without new spend (the
/// carry-over of past spend); the baseline spend is zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BaselineDay<'a> {
    pub day: time::Date,
    pub platforms: &'a [String],
    pub baseline_revenue_micros: i64,
}

/// Net profit uplift over the days launched plans cover.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BaselineUplift {
    /// (covered revenue − baseline revenue) × margin − covered spend.
    pub uplift_micros: i64,
    /// Spend and revenue of the rows a plan day covers.
    pub covered_spend_micros: i64,
    pub covered_revenue_micros: i64,
    /// The baselines' revenue of the plan days credited.
    pub baseline_revenue_micros: i64,
    /// Spend of every row, covered or not.
    pub total_spend_micros: i64,
    /// Plan days credited (a plan day without a row of its platforms — not
    /// synced yet, or nothing reported — is not).
    pub days_credited: usize,
}

/// The net profit uplift of the rows of one organisation in one currency
/// against its launched plans' baselines: on each plan day with rows of
/// the plan's platforms, (their revenue − the day's baseline revenue) ×
/// margin − their spend (the baseline spend is zero: "doing nothing new").
/// A row no plan day covers is not credited: its spend counts only in
/// `total_spend_micros`. Plan days are expected not to overlap on a
/// platform (the twin settles that); a row is counted once regardless.
pub fn baseline_uplift(
    rows: &[PlatformDay<'_>],
    plans: &[BaselineDay<'_>],
    profit: Profit,
) -> BaselineUplift {
    let mut out = BaselineUplift::default();
    let mut covered = vec![false; rows.len()];
    let mut current = Sums::default();
    let mut baseline = Sums::default();
    for p in plans {
        let mut any = false;
        for (i, r) in rows.iter().enumerate() {
            if r.day == p.day && p.platforms.iter().any(|x| x == r.platform) {
                any = true;
                if !covered[i] {
                    covered[i] = true;
                    current.add(&r.sums);
                }
            }
        }
        if any {
            out.days_credited += 1;
            baseline.revenue_micros = baseline
                .revenue_micros
                .saturating_add(p.baseline_revenue_micros);
        }
    }
    out.total_spend_micros = rows
        .iter()
        .map(|r| r.sums.spend_micros)
        .fold(0i64, i64::saturating_add);
    out.covered_spend_micros = current.spend_micros;
    out.covered_revenue_micros = current.revenue_micros;
    out.baseline_revenue_micros = baseline.revenue_micros;
    out.uplift_micros = profit.net_profit_uplift_micros(&current, &baseline);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(spend: i64, revenue: i64, conv_micros: i64, imps: i64, clicks: i64) -> Sums {
        Sums {
            spend_micros: spend,
            revenue_micros: revenue,
            conversions_micros: conv_micros,
            impressions: imps,
            clicks,
        }
    }

    #[test]
    fn ratios_are_ratios_of_sums_not_means_of_ratios() {
        // Day 1: $100 spend, $300 revenue (ROAS 3). Day 2: $300 spend, $300
        // revenue (ROAS 1). The mean of the ROAS would be 2; the period's
        // is 600 / 400 = 1.5.
        let a = day(100_000_000, 300_000_000, 3_000_000, 10_000, 200);
        let b = day(300_000_000, 300_000_000, 2_500_000, 30_000, 400);
        let s = Sums::total([&a, &b]);
        assert_eq!(s.roas(), Some(1.5));
        // CPA = $400 / 5.5 conversions = $72.727272… → 72,727,273 micros.
        assert_eq!(s.cpa_micros(), Some(72_727_273));
        // CTR = 600 / 40,000 = 0.015; CPC = $400 / 600 = 666,667 micros.
        assert_eq!(s.ctr(), Some(0.015));
        assert_eq!(s.cpc_micros(), Some(666_667));
        // CVR = 5.5 / 600.
        assert_eq!(s.cvr(), Some(5.5 / 600.0));
        // CPM = $400 × 1000 / 40,000 = $10.
        assert_eq!(s.cpm_micros(), Some(10_000_000));
        assert_eq!(s.conversions(), 5.5);
    }

    #[test]
    fn zero_denominators_give_none() {
        let zero_spend = day(0, 50_000_000, 1_000_000, 0, 0);
        assert_eq!(zero_spend.roas(), None);
        assert_eq!(zero_spend.ctr(), None);
        assert_eq!(zero_spend.cpc_micros(), None);
        assert_eq!(zero_spend.cvr(), None);
        assert_eq!(zero_spend.cpm_micros(), None);
        assert_eq!(zero_spend.cpa_micros(), Some(0), "no spend, one conversion");
        let no_conversions = day(10_000_000, 0, 0, 100, 10);
        assert_eq!(no_conversions.cpa_micros(), None);
        assert_eq!(no_conversions.roas(), Some(0.0));
        assert_eq!(Sums::default().value(Metric::Roas), None);
        assert_eq!(cac_micros(10, 0), None);
        assert_eq!(ltv_cac(1, 0, 3), None);
        assert_eq!(ltv_cac(1, 3, 0), None);
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(div_round(5, 2), Some(3));
        assert_eq!(div_round(-5, 2), Some(-3));
        assert_eq!(div_round(4, 3), Some(1));
        assert_eq!(div_round(-4, 3), Some(-1));
        assert_eq!(div_round(7, -2), Some(-4));
        assert_eq!(div_round(1, 0), None);
        assert_eq!(div_round(i128::MAX, 1), None);
    }

    #[test]
    fn profit_uses_the_margin_or_assumes_all_revenue_is_profit() {
        let s = day(40_000_000, 150_000_000, 0, 0, 0);
        let at30 = Profit {
            margin_bps: Some(3000),
        };
        // $150 × 30 % = $45; minus $40 of ads = $5.
        assert_eq!(at30.gross_profit_micros(&s), 45_000_000);
        assert_eq!(at30.profit_after_ad_spend_micros(&s), 5_000_000);
        let unset = Profit { margin_bps: None };
        assert_eq!(unset.gross_profit_micros(&s), 150_000_000);
        // Baseline $100 revenue on $10 spend: ($150 − $100) × 30 % − ($40 − $10) = −$15.
        let base = day(10_000_000, 100_000_000, 0, 0, 0);
        assert_eq!(at30.net_profit_uplift_micros(&s, &base), -15_000_000);
    }

    #[test]
    fn ltv_over_cac() {
        // 4 new customers for $200: CAC $50; mean LTV $120 → 2.4.
        assert_eq!(cac_micros(200_000_000, 4), Some(50_000_000));
        assert_eq!(ltv_cac(120_000_000, 200_000_000, 4), Some(2.4));
    }

    #[test]
    fn metric_names_and_directions() {
        assert_eq!(Metric::parse("roas"), Some(Metric::Roas));
        assert!(Metric::Roas.higher_is_better());
        assert!(!Metric::Cpa.higher_is_better());
        assert!(Metric::Cpc.is_money() && !Metric::Ctr.is_money());
        for m in Metric::ALL {
            assert_eq!(
                serde_json::to_value(m).unwrap(),
                serde_json::json!(m.as_str())
            );
        }
    }

    #[test]
    fn mean_fee_and_ltv_over_spend() {
        // $900 of CLV over 6 valued customers: $150 each.
        assert_eq!(mean_micros(900_000_000, 6), Some(150_000_000));
        assert_eq!(mean_micros(1, 0), None);
        // $900 of CLV for $600 of spend: 1.5; no spend: undefined.
        assert_eq!(ltv_sum_to_spend(900_000_000, 600_000_000), Some(1.5));
        assert_eq!(ltv_sum_to_spend(900_000_000, 0), None);
        // 20 % of $123.45 = $24.69; a loss or nothing carries no fee.
        assert_eq!(fee_micros(123_450_000, 2000), 24_690_000);
        assert_eq!(fee_micros(-50_000_000, 2000), 0);
        assert_eq!(fee_micros(0, 2000), 0);
        // Half a micro rounds away from zero: 20 % of 3 micros = 0.6 → 1.
        assert_eq!(fee_micros(3, 2000), 1);
        assert_eq!(share(250, 1000), Some(0.25));
        assert_eq!(share(0, 0), None);
    }

    #[test]
    fn uplift_counts_only_the_plan_days_and_platforms() {
        let d = |n: u8| time::Date::from_calendar_date(2026, time::Month::March, n).unwrap();
        let sums = |spend: i64, revenue: i64| Sums {
            spend_micros: spend * 1_000_000,
            revenue_micros: revenue * 1_000_000,
            ..Sums::default()
        };
        let rows = [
            // Covered: meta on 2 and 3 March.
            PlatformDay {
                day: d(2),
                platform: "meta",
                sums: sums(100, 500),
            },
            PlatformDay {
                day: d(3),
                platform: "meta",
                sums: sums(100, 300),
            },
            // Not covered: google is not in the plan; 1 March is before it.
            PlatformDay {
                day: d(2),
                platform: "google",
                sums: sums(40, 90),
            },
            PlatformDay {
                day: d(1),
                platform: "meta",
                sums: sums(60, 200),
            },
        ];
        let platforms = vec!["meta".to_owned()];
        let plans = [
            BaselineDay {
                day: d(2),
                platforms: &platforms,
                baseline_revenue_micros: 150_000_000,
            },
            BaselineDay {
                day: d(3),
                platforms: &platforms,
                baseline_revenue_micros: 100_000_000,
            },
            // Not synced yet: no row, not credited (its baseline not subtracted).
            BaselineDay {
                day: d(4),
                platforms: &platforms,
                baseline_revenue_micros: 80_000_000,
            },
        ];
        let m30 = Profit {
            margin_bps: Some(3000),
        };
        let u = baseline_uplift(&rows, &plans, m30);
        // ($800 − $250) × 30 % − $200 = −$35.
        assert_eq!(u.uplift_micros, -35_000_000);
        assert_eq!(u.covered_spend_micros, 200_000_000);
        assert_eq!(u.covered_revenue_micros, 800_000_000);
        assert_eq!(u.baseline_revenue_micros, 250_000_000);
        assert_eq!(u.total_spend_micros, 300_000_000);
        assert_eq!(u.days_credited, 2);
        // At 100 % (no margin configured): $550 − $200 = $350.
        let all = baseline_uplift(&rows, &plans, Profit { margin_bps: None });
        assert_eq!(all.uplift_micros, 350_000_000);
        // Without a plan nothing is credited.
        let none = baseline_uplift(&rows, &[], m30);
        assert_eq!((none.uplift_micros, none.covered_spend_micros), (0, 0));
        assert_eq!(none.total_spend_micros, 300_000_000);
    }
}
