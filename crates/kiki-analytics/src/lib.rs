//! Analytics rules, pure: what the analytics service computes from the daily
//! sums it keeps. No IO, no clock (the service passes "now"), no async.
//!
//! - [`metrics`]: the additive sums of a row ([`Sums`]) and every derived
//!   metric computed from them at read time (never an average of ratios),
//!   `None` where the denominator is zero; profit at the organisation's margin.
//! - [`period`]: date ranges and their comparison period, and the change of a
//!   value between two periods.
//! - [`calendar`]: day, week and month buckets, and "today" in an IANA time
//!   zone.
//! - [`rank`]: top and bottom performers by a metric, with a minimum-volume
//!   rule.
//! - [`schedule`]: when a scheduled report is due (daily, weekly, monthly at
//!   a local hour) and the days it covers.
//! - [`fx`]: converting amounts through a dated exchange-rate table,
//!   exactly (billionths, `i128`, half to even), direct, inverse or across
//!   EUR, with what was used.
//! - [`wilson`]: observed rates of variants with Wilson score intervals.
//! - [`variants`]: creative variants side by side: CTR and CVR with the
//!   counts they rest on and their intervals, the highest CTR and whether
//!   its interval overlaps the others'.
//!
//! The formulas are listed in docs/analytics.md.

pub mod calendar;
pub mod fx;
pub mod metrics;
pub mod period;
pub mod rank;
pub mod schedule;
pub mod variants;
pub mod wilson;

pub use calendar::{Bucket, Granularity, buckets, known_time_zone, start_of_day_in, today_in};
pub use metrics::{
    BaselineDay, BaselineUplift, Metric, PlatformDay, Profit, Sums, baseline_uplift, cac_micros,
    div_round, fee_micros, ltv_cac, ltv_sum_to_spend, mean_micros, share,
};
pub use period::{Change, Period, PeriodError, change_micros, change_ratio};
pub use rank::{Direction, MinVolume, Ranked, Ranking, rank};
pub use schedule::{Cadence, Recurrence, RecurrenceError};
pub use variants::{Leader, ObservedRate, leader, overlaps, whole_conversions};
pub use wilson::{Z95, wilson_interval};
