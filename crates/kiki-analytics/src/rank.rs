//! Top and bottom performers: rows ordered by a metric, best first (top) or
//! worst first (bottom), where "best" follows the metric (a high ROAS, a low
//! CPA). Rows below the minimum volume are left out — a campaign with one
//! click and one conversion has a conversion rate of 100 % and says nothing —
//! and so are rows whose metric is undefined (a zero denominator). Ties are
//! broken by the row's key, so the order is stable.

use serde::{Deserialize, Serialize};

use crate::metrics::{Metric, Sums};

kiki_core::string_enum! {
    /// Which end of the ranking.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    #[schema(as = AnalyticsDirection)]
    pub enum Direction {
        /// The best first.
        Top = "top",
        /// The worst first.
        Bottom = "bottom",
    }
}

/// The volume a row needs to be ranked: every threshold must be met.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinVolume {
    pub spend_micros: i64,
    pub impressions: i64,
    pub clicks: i64,
    /// Conversions × 1,000,000.
    pub conversions_micros: i64,
}

impl MinVolume {
    pub fn admits(&self, s: &Sums) -> bool {
        s.spend_micros >= self.spend_micros
            && s.impressions >= self.impressions
            && s.clicks >= self.clicks
            && s.conversions_micros >= self.conversions_micros
    }
}

/// One ranked row.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked<K> {
    pub key: K,
    pub sums: Sums,
    /// The metric's value (money in micros).
    pub value: f64,
}

/// The outcome of a ranking.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranking<K> {
    /// At most `limit` rows, in order.
    pub rows: Vec<Ranked<K>>,
    /// Rows that met the minimum volume and had a value.
    pub eligible: usize,
    /// Rows left out for too little volume.
    pub below_minimum: usize,
    /// Rows left out because the metric is undefined for them.
    pub undefined: usize,
}

/// Ranks `rows` by `metric`.
pub fn rank<K: Ord>(
    rows: Vec<(K, Sums)>,
    metric: Metric,
    direction: Direction,
    min: &MinVolume,
    limit: usize,
) -> Ranking<K> {
    let mut below_minimum = 0;
    let mut undefined = 0;
    let mut kept: Vec<Ranked<K>> = Vec::with_capacity(rows.len());
    for (key, sums) in rows {
        if !min.admits(&sums) {
            below_minimum += 1;
            continue;
        }
        match sums.value(metric) {
            Some(value) if value.is_finite() => kept.push(Ranked { key, sums, value }),
            _ => undefined += 1,
        }
    }
    let best_first = metric.higher_is_better() == (direction == Direction::Top);
    kept.sort_by(|a, b| {
        let by_value = if best_first {
            b.value.total_cmp(&a.value)
        } else {
            a.value.total_cmp(&b.value)
        };
        by_value.then_with(|| a.key.cmp(&b.key))
    });
    let eligible = kept.len();
    kept.truncate(limit);
    Ranking {
        rows: kept,
        eligible,
        below_minimum,
        undefined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(spend: i64, revenue: i64, conv: i64, clicks: i64) -> Sums {
        Sums {
            spend_micros: spend,
            revenue_micros: revenue,
            conversions_micros: conv * 1_000_000,
            impressions: clicks * 50,
            clicks,
        }
    }

    fn rows() -> Vec<(&'static str, Sums)> {
        vec![
            ("a", s(100, 400, 4, 100)), // ROAS 4, CPA 25
            ("b", s(100, 200, 2, 100)), // ROAS 2, CPA 50
            ("c", s(100, 300, 1, 100)), // ROAS 3, CPA 100
            ("d", s(1, 50, 1, 1)),      // ROAS 50 on one click: below the minimum
            ("e", s(0, 0, 0, 100)),     // no spend: ROAS undefined
            ("f", s(100, 200, 5, 100)), // ROAS 2 (tie with b), CPA 20
        ]
    }

    #[test]
    fn top_and_bottom_follow_the_metric_with_a_minimum_volume() {
        let min = MinVolume {
            clicks: 10,
            ..MinVolume::default()
        };
        let top = rank(rows(), Metric::Roas, Direction::Top, &min, 3);
        let keys: Vec<_> = top.rows.iter().map(|r| r.key).collect();
        assert_eq!(keys, ["a", "c", "b"]);
        assert_eq!(top.rows[0].value, 4.0);
        assert_eq!(top.eligible, 4);
        assert_eq!(top.below_minimum, 1);
        assert_eq!(top.undefined, 1);
        let bottom = rank(rows(), Metric::Roas, Direction::Bottom, &min, 2);
        let keys: Vec<_> = bottom.rows.iter().map(|r| r.key).collect();
        assert_eq!(keys, ["b", "f"], "ties in key order");
        // For CPA the best is the lowest: f (20), a (25), b (50), c (100).
        let cpa = rank(rows(), Metric::Cpa, Direction::Top, &min, 10);
        let keys: Vec<_> = cpa.rows.iter().map(|r| r.key).collect();
        assert_eq!(keys, ["f", "a", "b", "c"]);
        assert_eq!(cpa.undefined, 1, "e has no conversions");
        // Without a minimum the single-click row wins.
        let any = rank(
            rows(),
            Metric::Roas,
            Direction::Top,
            &MinVolume::default(),
            1,
        );
        assert_eq!(any.rows[0].key, "d");
    }
}
