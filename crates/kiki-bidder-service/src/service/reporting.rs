//! Hourly delivery counters (bids, wins, spend, impressions, clicks per line
//! item per UTC hour), summed in memory on the bid and notice paths in
//! maps sharded by thread and written in batches by the background task. The
//! bid path takes one uncontended shard lock per bid and never touches the
//! database; draining merges the shards, so each (line item, hour) is one row.

use std::collections::HashMap;

use kiki_bidder::LineItemId;
use parking_lot::Mutex;

const SHARDS: usize = 16;
const HOUR_MS: i64 = 3_600_000;

/// Counts of one line item in one hour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HourCounts {
    pub bids: i64,
    pub wins: i64,
    pub spend_micros: i64,
    pub impressions: i64,
    pub clicks: i64,
}

impl HourCounts {
    fn add(&mut self, o: HourCounts) {
        self.bids += o.bids;
        self.wins += o.wins;
        self.spend_micros += o.spend_micros;
        self.impressions += o.impressions;
        self.clicks += o.clicks;
    }

    pub fn is_zero(&self) -> bool {
        *self == HourCounts::default()
    }
}

/// One shard's counts. The keys are our own line item ids and hours, not
/// attacker-chosen, so a fast fixed hash serves (SipHash cost ~25 ns per bid).
type Shard = HashMap<(LineItemId, i64), HourCounts, foldhash::fast::FixedState>;

/// Counts waiting to be written, keyed by (line item, hour start in unix ms).
#[derive(Debug)]
pub struct Reporting {
    shards: Vec<Mutex<Shard>>,
}

impl Default for Reporting {
    fn default() -> Self {
        Reporting {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
        }
    }
}

/// The start of the UTC hour holding `now_ms`.
pub fn hour_of(now_ms: i64) -> i64 {
    now_ms.div_euclid(HOUR_MS) * HOUR_MS
}

impl Reporting {
    pub fn add(&self, li: LineItemId, now_ms: i64, c: HourCounts) {
        if c.is_zero() {
            return;
        }
        // By thread, not by line item: the cores then never wait on one lock
        // for a line item that wins everywhere. `drain` merges the shards.
        let shard = &self.shards[kiki_bidder::striped::stripe() % SHARDS];
        shard
            .lock()
            .entry((li, hour_of(now_ms)))
            .or_default()
            .add(c);
    }

    /// Takes everything counted so far.
    pub fn drain(&self) -> Vec<(LineItemId, i64, HourCounts)> {
        let mut all: HashMap<(LineItemId, i64), HourCounts> = HashMap::new();
        for s in &self.shards {
            let m = std::mem::take(&mut *s.lock());
            for (k, c) in m {
                all.entry(k).or_default().add(c);
            }
        }
        all.into_iter().map(|((li, h), c)| (li, h, c)).collect()
    }

    /// Puts counts back after a failed write, so nothing is lost.
    pub fn restore(&self, rows: Vec<(LineItemId, i64, HourCounts)>) {
        for (li, h, c) in rows {
            self.add(li, h, c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_sum_per_line_item_and_hour_and_drain_empties_them() {
        let r = Reporting::default();
        let (a, b) = (LineItemId::new(), LineItemId::new());
        let bid = HourCounts {
            bids: 1,
            ..HourCounts::default()
        };
        r.add(a, 10, bid);
        r.add(a, HOUR_MS - 1, bid);
        r.add(a, HOUR_MS, bid);
        r.add(
            b,
            5,
            HourCounts {
                wins: 1,
                spend_micros: 7,
                ..HourCounts::default()
            },
        );
        let mut rows = r.drain();
        rows.sort_by_key(|(li, h, _)| (*h, *li != a));
        assert_eq!(rows.len(), 3);
        let first_a = rows.iter().find(|(li, h, _)| *li == a && *h == 0).unwrap();
        assert_eq!(first_a.2.bids, 2);
        let b_row = rows.iter().find(|(li, _, _)| *li == b).unwrap();
        assert_eq!((b_row.2.wins, b_row.2.spend_micros), (1, 7));
        assert!(r.drain().is_empty());
    }
}
