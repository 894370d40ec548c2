//! Customer data as the models see it: raw transactions, the RFM summary
//! (frequency, recency, age T, mean repeat spend) built from them in a
//! chosen time unit, and the calibration/holdout split used to check a model.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::LtvError;
use crate::log::TransactionLog;

kiki_core::string_enum! {
    /// The unit in which recency, age and prediction horizons are counted.
    /// Transactions are first grouped by UTC calendar day, so a week is exactly
    /// seven days and recency in weeks is a multiple of 1/7.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum TimeUnit {
        Days = "days",
        Weeks = "weeks",
    }
}

impl TimeUnit {
    /// Length of one unit in days.
    pub fn days(self) -> f64 {
        match self {
            TimeUnit::Days => 1.0,
            TimeUnit::Weeks => 7.0,
        }
    }

    pub(crate) fn whole_days(self) -> i64 {
        match self {
            TimeUnit::Days => 1,
            TimeUnit::Weeks => 7,
        }
    }
}

/// One order of one customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Transaction {
    pub customer_id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Order value in micros of the account currency. A negative amount is
    /// a refund: it reduces the value of the customer's latest purchase day
    /// on or before it and is never a purchase itself (see [`summarize`]).
    pub amount_micros: i64,
    /// Customer segment, when the shop has one (e.g. "vip", "wholesale").
    pub segment: Option<String>,
    /// The ad platform that acquired the customer (e.g. "meta", "google").
    pub platform: Option<String>,
}

/// A customer's purchase history reduced to what the models use.
///
/// `frequency` is the number of *repeat* purchase periods (days with a
/// purchase after the first), `recency` the age at the last purchase and
/// `age` (T in the literature) the time from the first purchase to the end
/// of observation, both in the summary's [`TimeUnit`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CustomerSummary {
    pub customer_id: String,
    pub frequency: f64,
    pub recency: f64,
    /// T: time since the first purchase.
    pub age: f64,
    /// Mean value of the repeat purchases in micros; 0 without repeats.
    pub monetary_micros: i64,
    pub segment: Option<String>,
    pub platform: Option<String>,
}

impl CustomerSummary {
    /// A summary with no segment or platform, for callers that hold only
    /// the numbers (summary files, simulations).
    pub fn new(
        customer_id: impl Into<String>,
        frequency: f64,
        recency: f64,
        age: f64,
        monetary_micros: i64,
    ) -> Self {
        CustomerSummary {
            customer_id: customer_id.into(),
            frequency,
            recency,
            age,
            monetary_micros,
            segment: None,
            platform: None,
        }
    }
}

/// One customer's calibration summary and what they did in the holdout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CalibrationHoldout {
    pub calibration: CustomerSummary,
    /// Purchase days in the holdout period.
    pub holdout_frequency: f64,
    /// Mean value of the holdout purchases in micros; 0 without any.
    pub holdout_monetary_micros: i64,
    /// Length of the holdout period in the summary's time unit.
    pub holdout_duration: f64,
}

pub(crate) fn day_number(at: OffsetDateTime) -> i64 {
    i64::from(at.to_offset(time::UtcOffset::UTC).date().to_julian_day())
}

/// The purchase days in order with the value of each, into `out`: the
/// orders of a day summed, less the refunds (negative amounts) that fall on
/// it. A refund reduces the latest purchase day on or before its own day,
/// down to zero at most; a day its refunds bring to zero is no purchase any
/// more. A refund before any purchase has nothing to reduce and is ignored.
/// `days` holds (day, amount) pairs in any order; it is sorted.
pub(crate) fn daily_totals(days: &mut [(i64, i64)], out: &mut Vec<(i64, i64)>) {
    out.clear();
    // Amounts of a day are summed, so their order within the day is moot.
    days.sort_unstable_by_key(|(d, _)| *d);
    for &(d, amount) in days.iter().filter(|(_, a)| *a >= 0) {
        match out.last_mut() {
            Some((last, total)) if *last == d => *total = total.saturating_add(amount),
            _ => out.push((d, amount)),
        }
    }
    if days.iter().all(|(_, a)| *a >= 0) {
        return;
    }
    let mut reduced = vec![false; out.len()];
    for &(d, refund) in days.iter().filter(|(_, a)| *a < 0) {
        let at = out.partition_point(|(day, _)| *day <= d);
        if let Some(i) = at.checked_sub(1) {
            let total = &mut out[i].1;
            *total = total.saturating_add(refund).max(0);
            reduced[i] = true;
        }
    }
    let mut i = 0;
    out.retain(|(_, total)| {
        let keep = !(reduced[i] && *total == 0);
        i += 1;
        keep
    });
}

pub(crate) fn mean_micros(values: impl Iterator<Item = i64>) -> i64 {
    let (sum, n) = values.fold((0i128, 0i128), |(s, n), v| (s + i128::from(v), n + 1));
    if n == 0 {
        return 0;
    }
    // Round half away from zero, in integers.
    let q = (2 * sum + n.signum() * sum.signum() * n) / (2 * n);
    i64::try_from(q).unwrap_or(if q > 0 { i64::MAX } else { i64::MIN })
}

pub(crate) fn summary_from_days(
    customer_id: &str,
    segment: Option<&str>,
    platform: Option<&str>,
    totals: &[(i64, i64)],
    end_day: i64,
    unit: TimeUnit,
) -> CustomerSummary {
    let first = totals.first().map_or(end_day, |(d, _)| *d);
    let last = totals.last().map_or(end_day, |(d, _)| *d);
    let per = unit.days();
    CustomerSummary {
        customer_id: customer_id.to_owned(),
        frequency: (totals.len().saturating_sub(1)) as f64,
        recency: (last - first) as f64 / per,
        age: (end_day - first) as f64 / per,
        monetary_micros: mean_micros(totals.iter().skip(1).map(|(_, a)| *a)),
        segment: segment.map(str::to_owned),
        platform: platform.map(str::to_owned),
    }
}

/// Builds the RFM summary of every customer with a transaction on or before
/// `observation_end` (transactions after it are ignored), in the order
/// customers first appear. Purchases on the same UTC day count as one
/// purchase whose value is their sum, as in Fader, Hardie & Lee (2005) and
/// the `lifetimes` package. Refunds (negative amounts) lower the value of the
/// latest purchase day on or before them; a day refunded in full stops
/// counting as a purchase, and a customer left without purchases is left
/// out. The same as [`TransactionLog::summarize`] on a log of the
/// transactions.
pub fn summarize(
    transactions: &[Transaction],
    observation_end: OffsetDateTime,
    unit: TimeUnit,
) -> Vec<CustomerSummary> {
    TransactionLog::from_transactions(transactions).summarize(observation_end, unit)
}

/// The discrete-time summary BG/BB needs: time is cut into whole periods of
/// `period` from each customer's first purchase. `frequency` counts the
/// periods after the first with at least one purchase, `recency` is the
/// index of the last such period and `age` the number of complete periods
/// observed (the opportunities n).
pub fn summarize_periods(
    transactions: &[Transaction],
    observation_end: OffsetDateTime,
    period: TimeUnit,
) -> Vec<CustomerSummary> {
    TransactionLog::from_transactions(transactions).summarize_periods(observation_end, period)
}

/// Splits transactions at `calibration_end`: customers whose first purchase
/// is on or before it get a calibration summary (observed up to
/// `calibration_end`) and the count of purchase days in
/// (`calibration_end`, `observation_end`].
pub fn calibration_holdout_split(
    transactions: &[Transaction],
    calibration_end: OffsetDateTime,
    observation_end: OffsetDateTime,
    unit: TimeUnit,
) -> Result<Vec<CalibrationHoldout>, LtvError> {
    TransactionLog::from_transactions(transactions).calibration_holdout_split(
        calibration_end,
        observation_end,
        unit,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn tx(id: &str, at: OffsetDateTime, amount: i64) -> Transaction {
        Transaction {
            customer_id: id.to_owned(),
            at,
            amount_micros: amount,
            segment: None,
            platform: None,
        }
    }

    #[test]
    fn refunds_lower_the_value_of_their_purchase_day_and_a_full_refund_removes_it() {
        let day = |d: u8| datetime!(2024-01-01 00:00 UTC) + time::Duration::days(i64::from(d));
        let txs = [
            tx("a", day(0), 10_000_000),
            tx("a", day(5), 30_000_000),
            // Two days after the order of day 5: lowers that day to 20.
            tx("a", day(7), -10_000_000),
            tx("a", day(9), 8_000_000),
            tx("a", day(9), -8_000_000),
            // More than the day's value: the day counts zero, not negative.
            tx("b", day(0), 5_000_000),
            tx("b", day(3), 4_000_000),
            tx("b", day(3), -9_000_000),
            // A refund before any purchase has nothing to lower.
            tx("c", day(0), -1_000_000),
            tx("d", day(1), -2_000_000),
            tx("d", day(2), 6_000_000),
        ];
        let s = summarize(&txs, day(10), TimeUnit::Days);
        let by_id: Vec<(&str, f64, f64, f64, i64)> = s
            .iter()
            .map(|c| {
                let id = c.customer_id.as_str();
                (id, c.frequency, c.recency, c.age, c.monetary_micros)
            })
            .collect();
        assert_eq!(
            by_id,
            vec![
                ("a", 1.0, 5.0, 10.0, 20_000_000),
                ("b", 0.0, 0.0, 10.0, 0),
                ("d", 0.0, 0.0, 8.0, 0),
            ]
        );
    }

    #[test]
    fn same_day_purchases_merge_and_monetary_is_the_mean_of_repeat_days() {
        let txs = vec![
            tx("a", datetime!(2024-01-01 09:00 UTC), 10_000_000),
            tx("a", datetime!(2024-01-01 17:00 UTC), 5_000_000),
            tx("a", datetime!(2024-01-08 10:00 UTC), 20_000_000),
            tx("a", datetime!(2024-01-15 10:00 UTC), 30_000_000),
            tx("a", datetime!(2024-01-15 11:00 UTC), 1_000_000),
            tx("a", datetime!(2024-03-01 10:00 UTC), 99_000_000),
        ];
        let s = summarize(&txs, datetime!(2024-01-29 00:00 UTC), TimeUnit::Weeks);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].frequency, 2.0);
        assert_eq!(s[0].recency, 2.0);
        assert_eq!(s[0].age, 4.0);
        assert_eq!(s[0].monetary_micros, 25_500_000);
    }

    #[test]
    fn days_are_utc_calendar_days_whatever_the_offset() {
        // 23:30 at UTC−2 is 01:30 the next day in UTC.
        let txs = vec![
            tx("a", datetime!(2024-01-01 12:00 UTC), 1),
            tx("a", datetime!(2024-01-01 23:30 -2), 1),
        ];
        let s = summarize(&txs, datetime!(2024-01-10 00:00 UTC), TimeUnit::Days);
        assert_eq!((s[0].frequency, s[0].recency, s[0].age), (1.0, 1.0, 9.0));
    }

    #[test]
    fn acquisition_segment_and_platform_come_from_the_earliest_order_that_has_them() {
        let mut late = tx("a", datetime!(2024-01-05 00:00 UTC), 1);
        late.platform = Some("google".into());
        let mut early = tx("a", datetime!(2024-01-02 00:00 UTC), 1);
        early.platform = Some("meta".into());
        early.segment = Some("vip".into());
        let s = summarize(
            &[late, early],
            datetime!(2024-02-01 00:00 UTC),
            TimeUnit::Days,
        );
        assert_eq!(s[0].platform.as_deref(), Some("meta"));
        assert_eq!(s[0].segment.as_deref(), Some("vip"));
    }

    #[test]
    fn customers_first_seen_after_the_end_are_left_out() {
        let txs = vec![
            tx("b", datetime!(2024-05-01 00:00 UTC), 1),
            tx("a", datetime!(2024-01-01 00:00 UTC), 1),
        ];
        let s = summarize(&txs, datetime!(2024-02-01 00:00 UTC), TimeUnit::Days);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].customer_id, "a");
    }

    #[test]
    fn holdout_split_counts_purchase_days_after_the_calibration_end() {
        let txs = vec![
            tx("a", datetime!(2024-01-01 00:00 UTC), 1_000_000),
            tx("a", datetime!(2024-01-05 00:00 UTC), 2_000_000),
            tx("a", datetime!(2024-01-12 00:00 UTC), 4_000_000),
            tx("a", datetime!(2024-01-12 08:00 UTC), 4_000_000),
            tx("a", datetime!(2024-01-20 00:00 UTC), 2_000_000),
            tx("late", datetime!(2024-01-15 00:00 UTC), 1_000_000),
        ];
        let rows = calibration_holdout_split(
            &txs,
            datetime!(2024-01-10 00:00 UTC),
            datetime!(2024-01-31 00:00 UTC),
            TimeUnit::Days,
        )
        .unwrap();
        assert_eq!(
            rows.len(),
            1,
            "a customer first seen in the holdout is not in calibration"
        );
        let r = &rows[0];
        assert_eq!(
            (
                r.calibration.frequency,
                r.calibration.recency,
                r.calibration.age
            ),
            (1.0, 4.0, 9.0)
        );
        assert_eq!(r.holdout_frequency, 2.0);
        assert_eq!(r.holdout_monetary_micros, 5_000_000);
        assert_eq!(r.holdout_duration, 21.0);
        let bad = calibration_holdout_split(
            &txs,
            datetime!(2024-01-31 00:00 UTC),
            datetime!(2024-01-31 00:00 UTC),
            TimeUnit::Days,
        );
        assert!(matches!(
            bad,
            Err(LtvError::InvalidOption {
                name: "calibration_end",
                ..
            })
        ));
    }

    #[test]
    fn period_summary_counts_whole_periods_for_bg_bb() {
        let txs = vec![
            tx("a", datetime!(2024-01-01 00:00 UTC), 1),
            tx("a", datetime!(2024-01-03 00:00 UTC), 1),
            tx("a", datetime!(2024-01-09 00:00 UTC), 1),
            tx("a", datetime!(2024-01-10 00:00 UTC), 1),
            tx("a", datetime!(2024-01-23 00:00 UTC), 1),
        ];
        let s = summarize_periods(&txs, datetime!(2024-02-01 00:00 UTC), TimeUnit::Weeks);
        // Days 0, 2 | 8, 9 | 22 → periods 0, 1, 3; 31 days → 4 whole weeks.
        assert_eq!((s[0].frequency, s[0].recency, s[0].age), (2.0, 3.0, 4.0));
    }

    #[test]
    fn mean_micros_rounds_half_away_from_zero() {
        assert_eq!(mean_micros([1, 2].into_iter()), 2);
        assert_eq!(mean_micros([-1, -2].into_iter()), -2);
        assert_eq!(mean_micros(std::iter::empty()), 0);
    }
}

#[cfg(test)]
mod string_names {
    use super::*;

    /// The strings stored in columns are the names serde writes and reads.
    #[test]
    fn unit_names_are_the_serde_names() {
        assert!(
            kiki_core::serde_name_problems::<TimeUnit>().is_empty(),
            "{:?}",
            kiki_core::serde_name_problems::<TimeUnit>()
        );
    }
}
