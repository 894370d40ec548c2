//! Budget pacing: spreads a line item's daily budget over the day, evenly or
//! along an hourly curve, with a throttle that adapts to the observed spend rate.
//!
//! Every control interval (default one minute) the controller compares global
//! spend with the plan and sets two things the bid path reads from atomics:
//!
//! * the participation probability `p` (the throttle): the spend wanted in the
//!   next interval divided by the spend observed at full participation, in the
//!   spirit of "Smart Pacing" (Xu, Lee, Li, Shan, Wang — KDD 2015), with the
//!   change per step bounded so one noisy interval cannot swing it;
//! * a spend ceiling for the interval: the plan's cumulative target at the end of
//!   the interval plus a small allowance. Spend can therefore never run ahead of
//!   the curve by more than the allowance and in-flight bids, which keeps the
//!   hourly spread close to the plan even when traffic bursts.
//!
//! The remaining budget is always spread over the remaining share of the curve,
//! so a shortfall early in the day is made up later and the day ends close to
//! the budget. The hard "never above the daily budget" guarantee is not here but
//! in `budget` (holds on a lease).

use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::error::BidderError;
use crate::lineitem::PacingMode;

pub const DAY_MS: i64 = 86_400_000;
pub const HOUR_MS: i64 = 3_600_000;

/// The UTC day number of a unix-millis instant.
pub fn day_of(now_ms: i64) -> u32 {
    now_ms.div_euclid(DAY_MS).clamp(0, i64::from(u32::MAX)) as u32
}

/// Milliseconds since the start of the UTC day.
pub fn ms_of_day(now_ms: i64) -> i64 {
    now_ms.rem_euclid(DAY_MS)
}

/// Controller settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct PacingConfig {
    /// How often the throttle and the ceiling are recomputed. Default 60 000 ms.
    pub control_interval_ms: i64,
    /// The throttle never drops below this, so spend can still be observed. Default 0.0005.
    pub min_throttle: f64,
    /// Throttle of a line item never controlled before. Default 1.0: the interval
    /// ceiling already stops a burst, and the first steps learn the real rate.
    pub initial_throttle: f64,
    /// Largest factor by which one step may raise or lower the throttle. Default 4.
    pub max_step: f64,
    /// How far (share of the daily budget) spend may run ahead of the plan. Default 0.002.
    pub ahead_allowance: f64,
}

impl Default for PacingConfig {
    fn default() -> Self {
        PacingConfig {
            control_interval_ms: 60_000,
            min_throttle: 0.0005,
            initial_throttle: 1.0,
            max_step: 4.0,
            ahead_allowance: 0.002,
        }
    }
}

impl PacingConfig {
    pub fn validate(&self) -> Result<(), BidderError> {
        let ok = self.control_interval_ms >= 100
            && self.min_throttle > 0.0
            && self.min_throttle <= self.initial_throttle
            && self.initial_throttle <= 1.0
            && self.max_step.is_finite()
            && self.max_step > 1.0
            && self.ahead_allowance.is_finite()
            && (0.0..=1.0).contains(&self.ahead_allowance);
        if ok {
            Ok(())
        } else {
            Err(BidderError::InvalidConfig(
                "pacing needs control_interval_ms >= 100, 0 < min_throttle <= initial_throttle <= 1, \
                 max_step > 1 and ahead_allowance in [0, 1]"
                    .into(),
            ))
        }
    }
}

/// The planned cumulative share of the daily budget over the day.
#[derive(Debug, Clone, PartialEq)]
pub struct PacingCurve {
    /// Cumulative share at each hour boundary; `cum[0] = 0`, `cum[24] = 1`.
    cum: [f64; 25],
    asap: bool,
}

impl PacingCurve {
    pub fn even() -> Self {
        Self::from_weights(&[1.0; 24]).unwrap_or(PacingCurve {
            cum: [1.0; 25],
            asap: true,
        })
    }

    /// Whole budget available at once.
    pub fn asap() -> Self {
        PacingCurve {
            cum: [1.0; 25],
            asap: true,
        }
    }

    /// From 24 hourly weights (non-negative, positive sum).
    pub fn from_weights(w: &[f64]) -> Option<Self> {
        if w.len() != 24 || w.iter().any(|x| !x.is_finite() || *x < 0.0) {
            return None;
        }
        let sum: f64 = w.iter().sum();
        if sum <= 0.0 {
            return None;
        }
        let mut cum = [0.0; 25];
        for h in 0..24 {
            cum[h + 1] = cum[h] + w[h] / sum;
        }
        cum[24] = 1.0;
        Some(PacingCurve { cum, asap: false })
    }

    pub fn from_mode(mode: &PacingMode) -> Option<Self> {
        match mode {
            PacingMode::Even => Some(Self::even()),
            PacingMode::Asap => Some(Self::asap()),
            PacingMode::HourlyCurve { weights } => Self::from_weights(weights),
        }
    }

    /// Planned share of the daily budget spent by `ms` after midnight (linear within an hour).
    pub fn fraction_at(&self, ms: i64) -> f64 {
        if self.asap {
            return 1.0;
        }
        let ms = ms.clamp(0, DAY_MS);
        let h = (ms / HOUR_MS).min(23) as usize;
        let within = (ms - h as i64 * HOUR_MS) as f64 / HOUR_MS as f64;
        self.cum[h] + (self.cum[h + 1] - self.cum[h]) * within
    }

    /// Planned share of hour `h`.
    pub fn hour_share(&self, h: usize) -> f64 {
        if self.asap || h >= 24 {
            return if h == 0 { 1.0 } else { 0.0 };
        }
        self.cum[h + 1] - self.cum[h]
    }
}

#[derive(Debug)]
struct Controller {
    day: u32,
    last_tick_ms: i64,
    last_spent: i64,
    started: bool,
}

/// Live pacing state of one line item: atomics for the bid path, a mutex for the controller.
#[derive(Debug)]
pub struct PacingState {
    throttle_bits: AtomicU64,
    ceiling_day: AtomicU32,
    ceiling_micros: AtomicI64,
    /// Bids the ceiling stopped since the last step: the observed spend was then
    /// cut short and underestimates the full rate.
    ceiling_hits: AtomicU64,
    ctl: Mutex<Controller>,
}

/// What the controller saw and decided at one step (for logs and tests).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PacingStep {
    pub throttle: f64,
    pub ceiling_micros: i64,
    pub target_micros: i64,
    pub spent_micros: i64,
}

impl PacingState {
    pub fn new(cfg: &PacingConfig) -> Self {
        PacingState {
            throttle_bits: AtomicU64::new(cfg.initial_throttle.to_bits()),
            ceiling_day: AtomicU32::new(u32::MAX),
            ceiling_micros: AtomicI64::new(0),
            ceiling_hits: AtomicU64::new(0),
            ctl: Mutex::new(Controller {
                day: u32::MAX,
                last_tick_ms: 0,
                last_spent: 0,
                started: false,
            }),
        }
    }

    pub fn throttle(&self) -> f64 {
        f64::from_bits(self.throttle_bits.load(Ordering::Relaxed))
    }

    /// Bid path: may a line item spend `amount` more today, with `local_spent` so far?
    /// Before the first controller step of a day the ceiling comes from the plan.
    #[allow(clippy::too_many_arguments)] // reason: hot path; passing plain numbers avoids building a struct per candidate
    pub fn ceiling_allows(
        &self,
        cfg: &PacingConfig,
        curve: &PacingCurve,
        daily_budget: i64,
        day: u32,
        now_ms: i64,
        local_spent: i64,
        amount: i64,
    ) -> bool {
        let ceiling = if self.ceiling_day.load(Ordering::Acquire) == day {
            self.ceiling_micros.load(Ordering::Relaxed)
        } else {
            plan_ceiling(cfg, curve, daily_budget, ms_of_day(now_ms))
        };
        let ok = local_spent.saturating_add(amount) <= ceiling;
        if !ok {
            self.ceiling_hits.fetch_add(1, Ordering::Relaxed);
        }
        ok
    }

    /// One controller step, if one is due. `global_spent` is today's spend across
    /// replicas; `local_spent` is this process's share (the ceiling applies to it).
    pub fn tick(
        &self,
        cfg: &PacingConfig,
        curve: &PacingCurve,
        daily_budget: i64,
        now_ms: i64,
        global_spent: i64,
        local_spent: i64,
    ) -> Option<PacingStep> {
        let day = day_of(now_ms);
        let mut c = self.ctl.lock();
        if c.day != day || !c.started {
            c.day = day;
            c.started = true;
            c.last_tick_ms = now_ms;
            c.last_spent = global_spent;
            self.ceiling_hits.store(0, Ordering::Relaxed);
            let ceiling = plan_ceiling(cfg, curve, daily_budget, ms_of_day(now_ms));
            self.publish(day, ceiling, local_spent, global_spent);
            return Some(PacingStep {
                throttle: self.throttle(),
                ceiling_micros: ceiling,
                target_micros: ceiling,
                spent_micros: global_spent,
            });
        }
        let elapsed = now_ms - c.last_tick_ms;
        if elapsed < cfg.control_interval_ms {
            return None;
        }
        let p_prev = self.throttle();
        let spent_last = (global_spent - c.last_spent).max(0) as f64;
        let t = ms_of_day(now_ms);
        let t_next = (t + cfg.control_interval_ms).min(DAY_MS);
        let target_next = replanned_target(curve, daily_budget, global_spent, t, t_next);
        let wanted = (target_next - global_spent as f64).max(0.0);
        // Spend per interval at full participation, estimated from the last interval.
        let full_rate = spent_last / p_prev.max(cfg.min_throttle) * cfg.control_interval_ms as f64
            / elapsed as f64;
        let mut p_target = if full_rate > 0.0 {
            wanted / full_rate
        } else if wanted > 0.0 {
            f64::INFINITY
        } else {
            p_prev
        };
        if self.ceiling_hits.swap(0, Ordering::Relaxed) > 0 {
            // Spend was censored by the ceiling: the true full rate is higher than seen.
            p_target = p_target.min(p_prev * CENSORED_BACKOFF);
        }
        let p = p_target
            .clamp(p_prev / cfg.max_step, p_prev * cfg.max_step)
            .clamp(cfg.min_throttle, 1.0);
        self.throttle_bits.store(p.to_bits(), Ordering::Relaxed);
        let allowance = daily_budget as f64 * cfg.ahead_allowance;
        let ceiling_global = ((target_next + allowance) as i64).min(daily_budget);
        self.publish(day, ceiling_global, local_spent, global_spent);
        c.last_tick_ms = now_ms;
        c.last_spent = global_spent;
        Some(PacingStep {
            throttle: p,
            ceiling_micros: ceiling_global,
            target_micros: target_next as i64,
            spent_micros: global_spent,
        })
    }

    fn publish(&self, day: u32, ceiling_global: i64, local_spent: i64, global_spent: i64) {
        // The ceiling is on local spend: what this process may still add is what the
        // whole line item may still add before the plan's next point.
        let local_ceiling = local_spent.saturating_add((ceiling_global - global_spent).max(0));
        self.ceiling_micros.store(local_ceiling, Ordering::Relaxed);
        self.ceiling_day.store(day, Ordering::Release);
    }
}

/// Where spend should stand at `t_next`: the plan, B × F(t_next), less the
/// part of any shortfall that is not yet due. A shortfall D = B × F(t) − S (supply
/// too thin at night, say) is recovered in proportion to the rest of the curve,
/// so the share still owed at `t_next` is D × (1 − F(t_next)) / (1 − F(t)):
/// the deficit is spread over the remaining hours instead of being caught up in
/// the first hour that has traffic. Spend ahead of the plan is not re-planned:
/// the target stays anchored to the plan, so the ceiling's allowance never
/// compounds from step to step.
fn replanned_target(
    curve: &PacingCurve,
    daily_budget: i64,
    global_spent: i64,
    t: i64,
    t_next: i64,
) -> f64 {
    let budget = daily_budget as f64;
    let f_now = curve.fraction_at(t);
    let f_next = curve.fraction_at(t_next);
    let plan_next = budget * f_next;
    let shortfall = (budget * f_now - global_spent as f64).max(0.0);
    let rest_now = 1.0 - f_now;
    if shortfall <= 0.0 || rest_now <= 1e-12 {
        return plan_next;
    }
    let still_owed = shortfall * ((1.0 - f_next) / rest_now).clamp(0.0, 1.0);
    plan_next - still_owed
}

/// Throttle factor applied after an interval in which the ceiling stopped bids.
const CENSORED_BACKOFF: f64 = 0.7;

fn plan_ceiling(cfg: &PacingConfig, curve: &PacingCurve, daily_budget: i64, t: i64) -> i64 {
    let t_next = (t + cfg.control_interval_ms).min(DAY_MS);
    let planned = daily_budget as f64 * (curve.fraction_at(t_next) + cfg.ahead_allowance);
    (planned as i64).min(daily_budget)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_even_curve_plans_a_twenty_fourth_per_hour_and_is_linear_within_it() {
        let c = PacingCurve::even();
        assert!((c.fraction_at(HOUR_MS) - 1.0 / 24.0).abs() < 1e-12);
        assert!((c.fraction_at(HOUR_MS / 2) - 1.0 / 48.0).abs() < 1e-12);
        assert_eq!(c.fraction_at(DAY_MS), 1.0);
        assert_eq!(c.fraction_at(0), 0.0);
    }

    #[test]
    fn an_hourly_curve_follows_its_weights() {
        let mut w = [0.0; 24];
        w[9] = 3.0;
        w[10] = 1.0;
        let c = PacingCurve::from_weights(&w).unwrap();
        assert_eq!(c.fraction_at(9 * HOUR_MS), 0.0);
        assert!((c.fraction_at(10 * HOUR_MS) - 0.75).abs() < 1e-12);
        assert!((c.hour_share(10) - 0.25).abs() < 1e-12);
        assert!(PacingCurve::from_weights(&[0.0; 24]).is_none());
        assert!(PacingCurve::from_weights(&[1.0; 23]).is_none());
    }

    #[test]
    fn the_throttle_falls_when_spend_runs_ahead_and_rises_when_behind() {
        let cfg = PacingConfig {
            initial_throttle: 0.5,
            ..PacingConfig::default()
        };
        let curve = PacingCurve::even();
        let budget = 1_440_000_000; // 1 000 000 micros per minute planned
        let s = PacingState::new(&cfg);
        let t0 = 10 * HOUR_MS;
        let planned_t0 = (budget as f64 * curve.fraction_at(t0)) as i64;
        s.tick(&cfg, &curve, budget, t0, planned_t0, planned_t0)
            .unwrap();
        // Spent 4 minutes' worth in one minute at p = 0.5: full rate is 8× the plan.
        let spent = planned_t0 + 4_000_000;
        let step = s
            .tick(&cfg, &curve, budget, t0 + 60_000, spent, spent)
            .unwrap();
        assert!(step.throttle < 0.5, "{step:?}");
        // Still ahead of the plan a minute later: the throttle holds.
        let hold = s
            .tick(&cfg, &curve, budget, t0 + 120_000, spent, spent)
            .unwrap();
        assert_eq!(hold.throttle, step.throttle);
        // Nothing spent for ten minutes, now behind the plan: the throttle climbs again.
        let step2 = s
            .tick(&cfg, &curve, budget, t0 + 720_000, spent, spent)
            .unwrap();
        assert!(step2.throttle > step.throttle, "{step2:?}");
        assert!(
            s.tick(&cfg, &curve, budget, t0 + 721_000, spent, spent)
                .is_none(),
            "not due yet"
        );
    }

    #[test]
    fn a_shortfall_is_spread_over_the_rest_of_the_day_and_a_lead_is_not_replanned() {
        let even = PacingCurve::even();
        let budget = 24_000_000;
        let six = 6 * 3_600_000;
        let seven = 7 * 3_600_000;
        // On plan: the target is the plan.
        let on_plan = replanned_target(&even, budget, 6_000_000, six, seven);
        assert!((on_plan - 7_000_000.0).abs() < 1e-6);
        // 1.8 M short at 06:00 (a quarter of the day gone): an eighteenth of the
        // rest of the day passes by 07:00, so 0.1 M of the shortfall is due.
        let short = replanned_target(&even, budget, 4_200_000, six, seven);
        assert!(
            (short - (7_000_000.0 - 1_700_000.0)).abs() < 1e-3,
            "{short}"
        );
        // Ahead of the plan: the plan, not spend plus a share.
        let ahead = replanned_target(&even, budget, 6_500_000, six, seven);
        assert!((ahead - 7_000_000.0).abs() < 1e-6);
        // At the end of the day the target is the budget.
        let end = replanned_target(&even, budget, 20_000_000, DAY_MS, DAY_MS);
        assert!((end - 24_000_000.0).abs() < 1e-6);
    }

    #[test]
    fn the_ceiling_keeps_spend_within_the_plan_plus_the_allowance() {
        let cfg = PacingConfig::default();
        let curve = PacingCurve::even();
        let budget = 2_400_000_000;
        let s = PacingState::new(&cfg);
        let now = 12 * HOUR_MS;
        s.tick(&cfg, &curve, budget, now, 0, 0);
        let ceiling =
            (budget as f64 * (curve.fraction_at(now + 60_000) + cfg.ahead_allowance)) as i64;
        let day = day_of(now);
        assert!(s.ceiling_allows(&cfg, &curve, budget, day, now, ceiling - 10, 10));
        assert!(!s.ceiling_allows(&cfg, &curve, budget, day, now, ceiling - 10, 11));
    }

    #[test]
    fn asap_plans_the_whole_budget_at_once() {
        let c = PacingCurve::asap();
        assert_eq!(c.fraction_at(0), 1.0);
        let cfg = PacingConfig::default();
        let s = PacingState::new(&cfg);
        assert!(s.ceiling_allows(&cfg, &c, 1000, 0, 0, 0, 1000));
        assert!(!s.ceiling_allows(&cfg, &c, 1000, 0, 0, 0, 1001));
    }
}
