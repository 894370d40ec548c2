//! The post-launch mirror: compares daily actuals with the projection band the
//! simulation produced and recommends a rollback when cumulative revenue falls
//! more than 15 % (configurable) below the projected median. Each day also
//! states the net profit uplift so far in the simulation's terms: (actual
//! revenue − the projected carry-over of past spend) × contribution margin −
//! actual spend, next to the projected uplift band. Pure: the caller
//! supplies both sides and acts on the finding.

use kiki_core::{FieldError, Money};
use serde::{Deserialize, Serialize};

use crate::error::TwinError;
use crate::fields::Fields;
use crate::result::{Band, DayBand};

/// What the platforms reported for one day of the running plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DailyActual {
    /// 1-based day of the plan; actuals must cover days 1, 2, 3 … in order.
    pub day: u32,
    /// Ad-driven first-order revenue that day, micros.
    pub revenue_micros: i64,
    /// Ad spend that day, micros.
    pub spend_micros: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct MirrorConfig {
    /// Recommend a rollback when the deviation from the projected median is
    /// below minus this fraction (0.15 = 15 % below).
    pub rollback_deviation: f64,
    /// Days to observe before any recommendation.
    pub min_days: u32,
    /// The contribution margin the simulation counted profit at (its
    /// `result.margin`), 0 to 1.
    pub contribution_margin: f64,
}

impl Default for MirrorConfig {
    fn default() -> Self {
        MirrorConfig {
            rollback_deviation: 0.15,
            min_days: 1,
            contribution_margin: 1.0,
        }
    }
}

/// One day's comparison, on cumulative amounts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DayCheck {
    pub day: u32,
    pub actual_revenue: Money,
    /// The projected median.
    pub expected_revenue: Money,
    pub band: Band,
    /// `(actual − expected) / expected`; `null` when nothing was expected.
    pub deviation: Option<f64>,
    pub below_band: bool,
    pub above_band: bool,
    pub actual_spend: Money,
    pub planned_spend: Money,
    /// Net profit uplift so far: (actual revenue − the projected carry-over
    /// of past spend) × contribution margin − actual spend.
    pub actual_uplift: Money,
    /// The projected cumulative uplift band for the day.
    pub expected_uplift: Band,
}

/// What a finding recommends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    RollbackRecommended,
}

/// A recommendation with its evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MirrorFinding {
    /// What it recommends.
    pub kind: FindingKind,
    /// The plan day (1 = launch day) the finding is about.
    pub day: u32,
    /// Revenue from day 1 to `day`, as measured.
    pub actual_revenue: Money,
    /// The simulation's median cumulative revenue for `day`.
    pub expected_revenue: Money,
    /// The simulation's p10/p50/p90 cumulative revenue for `day`.
    pub band: Band,
    /// (actual − expected) / expected: −0.2 is 20 % below the median.
    pub deviation: f64,
    /// Consecutive days, ending on `day`, that breached the threshold.
    pub days_in_breach: u32,
    /// The finding in a sentence.
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MirrorReport {
    pub checks: Vec<DayCheck>,
    /// At most one finding: about the latest day, when it breaches.
    pub findings: Vec<MirrorFinding>,
    pub rollback_recommended: bool,
    pub latest_deviation: Option<f64>,
}

/// Field errors of a mirror input: actuals must be days 1, 2, 3 … within the
/// projection, amounts not negative.
pub fn validate_mirror_input(
    projection: &[DayBand],
    actuals: &[DailyActual],
    config: &MirrorConfig,
) -> Vec<FieldError> {
    let mut f = Fields::default();
    for (i, a) in actuals.iter().enumerate() {
        let path = format!("actuals[{i}]");
        let want = i as u32 + 1;
        if a.day != want {
            f.push(
                format!("{path}.day"),
                format!(
                    "Actuals must cover consecutive days from day 1; expected day {want} here."
                ),
            );
        } else if a.day as usize > projection.len() {
            f.push(
                format!("{path}.day"),
                format!("The projection covers {} days only.", projection.len()),
            );
        }
        f.non_negative_micros(format!("{path}.revenue_micros"), a.revenue_micros);
        f.non_negative_micros(format!("{path}.spend_micros"), a.spend_micros);
    }
    f.finite_in(
        "config.rollback_deviation",
        config.rollback_deviation,
        0.0,
        1.0,
    );
    f.finite_in(
        "config.contribution_margin",
        config.contribution_margin,
        0.0,
        1.0,
    );
    f.errors
}

/// Compares actuals with the projection.
pub fn mirror(
    projection: &[DayBand],
    actuals: &[DailyActual],
    config: &MirrorConfig,
) -> Result<MirrorReport, TwinError> {
    if projection.is_empty() {
        return Err(TwinError::EmptyProjection);
    }
    let errors = validate_mirror_input(projection, actuals, config);
    if !errors.is_empty() {
        return Err(TwinError::Invalid(errors));
    }
    let (mut revenue, mut spend) = (0i64, 0i64);
    let mut checks = Vec::with_capacity(actuals.len());
    for (a, p) in actuals.iter().zip(projection) {
        revenue = revenue.saturating_add(a.revenue_micros);
        spend = spend.saturating_add(a.spend_micros);
        let currency = p.spend.currency;
        let money = |micros| Money::from_micros(micros, currency);
        let expected = p.revenue.p50.micros;
        let deviation =
            (expected > 0).then(|| (revenue as f64 - expected as f64) / expected as f64);
        let incremental = revenue as f64 - p.carry_over_revenue.micros as f64;
        let actual_uplift = (incremental * config.contribution_margin - spend as f64)
            .round()
            .clamp(-9.2e18, 9.2e18) as i64;
        checks.push(DayCheck {
            day: a.day,
            actual_revenue: money(revenue),
            expected_revenue: p.revenue.p50,
            band: p.revenue,
            deviation,
            below_band: revenue < p.revenue.p10.micros,
            above_band: revenue > p.revenue.p90.micros,
            actual_spend: money(spend),
            planned_spend: p.spend,
            actual_uplift: money(actual_uplift),
            expected_uplift: p.uplift,
        });
    }
    let breach = |c: &DayCheck| {
        c.day >= config.min_days && c.deviation.is_some_and(|d| d < -config.rollback_deviation)
    };
    let mut findings = Vec::new();
    if let Some(last) = checks.last()
        && breach(last)
    {
        let deviation = last.deviation.unwrap_or(0.0);
        let days_in_breach = checks.iter().rev().take_while(|c| breach(c)).count() as u32;
        findings.push(MirrorFinding {
            kind: FindingKind::RollbackRecommended,
            day: last.day,
            actual_revenue: last.actual_revenue,
            expected_revenue: last.expected_revenue,
            band: last.band,
            deviation,
            days_in_breach,
            message: format!(
                "Rollback recommended: by day {} cumulative revenue is {:.1} % below the projection ({} against an expected {}, band {}–{}), beyond the {:.0} % limit{}. Net profit uplift so far {} against a projected {}.",
                last.day,
                -deviation * 100.0,
                last.actual_revenue.text(),
                last.expected_revenue.text(),
                last.band.p10.text(),
                last.band.p90.text(),
                config.rollback_deviation * 100.0,
                if days_in_breach > 1 {
                    format!(", for {days_in_breach} days running")
                } else {
                    String::new()
                },
                last.actual_uplift.text(),
                last.expected_uplift.p50.text(),
            ),
        });
    }
    Ok(MirrorReport {
        rollback_recommended: !findings.is_empty(),
        latest_deviation: checks.last().and_then(|c| c.deviation),
        checks,
        findings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiki_core::Currency;

    fn usd(micros: i64) -> Money {
        Money::from_micros(micros, Currency::USD)
    }

    fn projection(days: u32) -> Vec<DayBand> {
        (1..=days)
            .map(|d| {
                let m = i64::from(d) * 1_000_000_000;
                DayBand {
                    day: d,
                    date: None,
                    spend: usd(i64::from(d) * 300_000_000),
                    revenue: Band {
                        p10: usd(m * 8 / 10),
                        p50: usd(m),
                        p90: usd(m * 12 / 10),
                    },
                    carry_over_revenue: usd(i64::from(d) * 100_000_000),
                    uplift: Band {
                        p10: usd(0),
                        p50: usd(0),
                        p90: usd(0),
                    },
                }
            })
            .collect()
    }

    fn actuals(revenue_per_day: &[i64]) -> Vec<DailyActual> {
        revenue_per_day
            .iter()
            .enumerate()
            .map(|(i, &r)| DailyActual {
                day: i as u32 + 1,
                revenue_micros: r,
                spend_micros: 300_000_000,
            })
            .collect()
    }

    #[test]
    fn revenue_more_than_15_percent_below_projection_recommends_rollback_with_evidence() {
        // Day 1 on target, then 20 % below from day 2.
        let r = mirror(
            &projection(10),
            &actuals(&[1_000_000_000, 600_000_000, 800_000_000]),
            &MirrorConfig::default(),
        )
        .unwrap();
        assert!(r.rollback_recommended);
        let f = &r.findings[0];
        assert_eq!(f.kind, FindingKind::RollbackRecommended);
        assert_eq!(f.day, 3);
        assert_eq!(f.actual_revenue, usd(2_400_000_000));
        assert_eq!(f.expected_revenue, usd(3_000_000_000));
        assert_eq!(f.band.p10, usd(2_400_000_000));
        assert!((f.deviation + 0.2).abs() < 1e-12);
        assert_eq!(f.days_in_breach, 2);
        assert!(f.message.contains("20.0 % below"), "{}", f.message);
    }

    #[test]
    fn each_day_states_the_profit_so_far_at_the_margin_and_money_in_its_currency() {
        let cfg = MirrorConfig {
            contribution_margin: 0.5,
            ..MirrorConfig::default()
        };
        let r = mirror(
            &projection(10),
            &actuals(&[1_000_000_000, 600_000_000, 800_000_000]),
            &cfg,
        )
        .unwrap();
        // Day 3: (2,400 of revenue − 300 of carry-over) × 50 % − 900 of spend.
        assert_eq!(r.checks[2].actual_uplift, usd(150_000_000));
        assert_eq!(r.checks[1].actual_uplift, usd(100_000_000));
        let m = &r.findings[0].message;
        assert!(
            m.contains("($2,400.00 against an expected $3,000.00, band $2,400.00–$3,600.00)"),
            "{m}"
        );
        assert!(m.contains("Net profit uplift so far $150.00"), "{m}");
        assert!(!m.contains("micros"), "{m}");
    }

    #[test]
    fn deviation_of_exactly_15_percent_or_less_is_not_a_breach() {
        let check = |per_day: i64, want: bool| {
            let r = mirror(
                &projection(5),
                &actuals(&[per_day; 2]),
                &MirrorConfig::default(),
            )
            .unwrap();
            assert_eq!(r.rollback_recommended, want, "{per_day}");
        };
        check(850_000_000, false);
        check(849_000_000, true);
        check(1_500_000_000, false);
    }

    #[test]
    fn a_recovered_plan_is_not_rolled_back_for_an_early_dip() {
        let r = mirror(
            &projection(5),
            &actuals(&[500_000_000, 1_300_000_000, 1_300_000_000]),
            &MirrorConfig::default(),
        )
        .unwrap();
        assert_eq!(r.checks[0].deviation, Some(-0.5));
        assert!(!r.rollback_recommended);
        assert!((r.latest_deviation.unwrap() - 0.033_333).abs() < 1e-4);
    }

    #[test]
    fn min_days_holds_back_the_recommendation() {
        let cfg = MirrorConfig {
            min_days: 3,
            ..MirrorConfig::default()
        };
        let r = mirror(&projection(5), &actuals(&[0, 0]), &cfg).unwrap();
        assert!(!r.rollback_recommended);
        let r = mirror(&projection(5), &actuals(&[0, 0, 0]), &cfg).unwrap();
        assert!(r.rollback_recommended);
    }

    #[test]
    fn actuals_must_be_consecutive_days_inside_the_projection() {
        let mut a = actuals(&[1, 2, 3]);
        a[2].day = 4;
        let fields = |a: &[DailyActual]| -> Vec<String> {
            match mirror(&projection(3), a, &MirrorConfig::default()) {
                Err(TwinError::Invalid(e)) => e.into_iter().map(|e| e.field).collect(),
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(fields(&a), ["actuals[2].day"]);
        assert_eq!(fields(&actuals(&[1, 2, 3, 4])), ["actuals[3].day"]);
        assert_eq!(fields(&actuals(&[1, -2])), ["actuals[1].revenue_micros"]);
        assert_eq!(
            mirror(&[], &[], &MirrorConfig::default()),
            Err(TwinError::EmptyProjection)
        );
    }
}
