//! The no-new-spend baselines of launched plans, as other contexts read
//! them ([`TwinService::launch_baselines`]): for every launched simulation
//! (finished and approved, the mirror's rule) of the organisations asked
//! for, its currency, its platforms and, per calendar day of the plan, the
//! revenue the plan's platforms bring without new spend — that day's
//! carry-over of past spend (the difference of the projection's cumulative
//! median `carry_over_revenue`). The baseline spend of a plan day is zero:
//! the counterfactual is "doing nothing new".
//!
//! A carry-over is stated for a plan's platforms together, so two launched
//! plans of an organisation that share a platform cannot both stand on the
//! same day: the one that started later (then the one simulated later)
//! stands, and the other's day is left out and counted in its
//! `superseded_days`.

use std::collections::{BTreeMap, BTreeSet};

use kiki_core::{Currency, Money, OrgId, TenantScope};
use serde::Serialize;
use time::{Date, Duration};
use uuid::Uuid;

use super::TwinService;
use crate::domain::{day_text, parse_day};
use crate::error::{Result, TwinServiceError};
use crate::store;

/// One day of a launched plan's baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BaselineDay {
    /// The calendar day (the plan's start day + its day number − 1).
    pub date: Date,
    /// Revenue the plan's platforms bring that day without new spend: the
    /// median carry-over of past spend on that day alone.
    pub revenue: Money,
}

/// A launched plan's baseline over the days asked for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LaunchBaseline {
    pub simulation_id: Uuid,
    pub org_id: OrgId,
    pub currency: Currency,
    /// The plan's platforms (wire names, lower case), each once.
    pub platforms: Vec<String>,
    /// The plan's first and last calendar day.
    pub start_day: Date,
    pub last_day: Date,
    /// The plan's days inside the range asked for on which it stands,
    /// oldest first.
    pub days: Vec<BaselineDay>,
    /// Days inside the range on which a later launched plan on a shared
    /// platform stands instead.
    pub superseded_days: u32,
}

/// The launched plans' baselines, with the fee rate an uplift against them
/// carries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LaunchBaselines {
    /// Plans with a day in the range (all of them possibly superseded),
    /// oldest first.
    pub plans: Vec<LaunchBaseline>,
    /// KIKI's outcome fee in basis points of positive uplift
    /// (`twin.fee_rate_bps`, 2000 = 20 %).
    pub fee_rate_bps: u32,
}

/// A plan before overlaps are settled: every day of it in the range.
struct Candidate {
    base: LaunchBaseline,
    platforms: BTreeSet<String>,
    /// Ordering of who stands on a shared day: later start, then later row.
    rank: (Date, time::OffsetDateTime, Uuid),
}

impl TwinService {
    /// KIKI's outcome fee in basis points of positive net profit uplift.
    pub fn fee_rate_bps(&self) -> u32 {
        self.config.fee_rate_bps
    }

    /// The launched plans' no-new-spend baselines of `orgs` (each one the
    /// scope reaches) on the days `since..=until`. A simulation stored
    /// before projections had calendar days is placed from its start day;
    /// one without a readable report is skipped (and logged).
    pub async fn launch_baselines(
        &self,
        scope: &TenantScope,
        orgs: &[OrgId],
        since: Date,
        until: Date,
    ) -> Result<LaunchBaselines> {
        if let Some(o) = orgs.iter().find(|o| !scope.can_reach(**o)) {
            tracing::warn!(org_id = %o, "launch baselines asked for an organisation out of reach");
            return Err(TwinServiceError::NotFound("organisation"));
        }
        let rows = store::simulations::launched_of(&self.db, orgs, &day_text(until)).await?;
        let mut candidates = Vec::new();
        for row in rows {
            let Some(start) = row.start_day.as_deref().and_then(parse_day) else {
                continue;
            };
            let (plan, report) = match (row.plan(), row.report()) {
                (Ok(p), Ok(Some(r))) => (p, r),
                (Ok(_), Ok(None)) => continue,
                (Err(e), _) | (_, Err(e)) => {
                    tracing::warn!(simulation = %row.id, error = %e, "launch baseline skipped a simulation");
                    continue;
                }
            };
            let projection = &report.result.projection;
            if projection.is_empty() {
                continue;
            }
            let last_day = start + Duration::days(projection.len() as i64 - 1);
            if last_day < since {
                continue;
            }
            let mut days = Vec::new();
            let mut before = 0i64;
            for (i, band) in projection.iter().enumerate() {
                let cumulative = band.carry_over_revenue.micros;
                let date = start + Duration::days(i as i64);
                if date >= since && date <= until {
                    days.push(BaselineDay {
                        date,
                        revenue: Money::from_micros(
                            cumulative.saturating_sub(before),
                            plan.currency,
                        ),
                    });
                }
                before = cumulative;
            }
            if days.is_empty() {
                continue;
            }
            let platforms: BTreeSet<String> = plan
                .allocations
                .iter()
                .map(|a| a.platform.trim().to_ascii_lowercase())
                .collect();
            candidates.push(Candidate {
                base: LaunchBaseline {
                    simulation_id: row.id,
                    org_id: OrgId(row.org_id),
                    currency: plan.currency,
                    platforms: platforms.iter().cloned().collect(),
                    start_day: start,
                    last_day,
                    days,
                    superseded_days: 0,
                },
                platforms,
                rank: (start, row.created_at, row.id),
            });
        }
        Ok(LaunchBaselines {
            plans: settle_overlaps(candidates),
            fee_rate_bps: self.config.fee_rate_bps,
        })
    }
}

/// Leaves one plan standing per organisation, day and platform: the one
/// that started later (then was simulated later); the others lose the day.
fn settle_overlaps(mut candidates: Vec<Candidate>) -> Vec<LaunchBaseline> {
    // Newest first: a plan keeps a day unless a newer one already took one
    // of its platforms on it.
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by(|a, b| candidates[*b].rank.cmp(&candidates[*a].rank));
    let mut taken: BTreeMap<(OrgId, Date), BTreeSet<String>> = BTreeMap::new();
    for i in order {
        let c = &mut candidates[i];
        let org = c.base.org_id;
        let before = c.base.days.len();
        c.base.days.retain(|d| {
            let used = taken.entry((org, d.date)).or_default();
            if used.is_disjoint(&c.platforms) {
                used.extend(c.platforms.iter().cloned());
                true
            } else {
                false
            }
        });
        c.base.superseded_days = u32::try_from(before - c.base.days.len()).unwrap_or(u32::MAX);
    }
    candidates.into_iter().map(|c| c.base).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u8) -> Date {
        Date::from_calendar_date(2026, time::Month::March, d).unwrap()
    }

    fn plan(n: u8, platforms: &[&str], first: u8, last: u8) -> Candidate {
        let usd = Currency::parse("USD").unwrap();
        let org = OrgId(Uuid::nil());
        Candidate {
            base: LaunchBaseline {
                simulation_id: Uuid::from_u128(u128::from(n)),
                org_id: org,
                currency: usd,
                platforms: platforms.iter().map(|p| p.to_string()).collect(),
                start_day: day(first),
                last_day: day(last),
                days: (first..=last)
                    .map(|d| BaselineDay {
                        date: day(d),
                        revenue: Money::from_micros(1_000_000, usd),
                    })
                    .collect(),
                superseded_days: 0,
            },
            platforms: platforms.iter().map(|p| p.to_string()).collect(),
            rank: (
                day(first),
                time::OffsetDateTime::UNIX_EPOCH,
                Uuid::from_u128(u128::from(n)),
            ),
        }
    }

    #[test]
    fn a_later_plan_on_a_shared_platform_takes_the_shared_days() {
        // Plan 1: meta + google, 1–10 March. Plan 2: meta, 6–12 March.
        // Plan 3: tiktok, 1–3 March (no shared platform: keeps its days).
        let out = settle_overlaps(vec![
            plan(1, &["google", "meta"], 1, 10),
            plan(2, &["meta"], 6, 12),
            plan(3, &["tiktok"], 1, 3),
        ]);
        let days = |i: usize| out[i].days.iter().map(|d| d.date).collect::<Vec<_>>();
        assert_eq!(days(0), (1..=5).map(day).collect::<Vec<_>>());
        assert_eq!(out[0].superseded_days, 5);
        assert_eq!(days(1), (6..=12).map(day).collect::<Vec<_>>());
        assert_eq!(out[1].superseded_days, 0);
        assert_eq!(days(2), (1..=3).map(day).collect::<Vec<_>>());
    }
}
