//! Variant comparison, pure: the observed rates of creative variants side
//! by side, each with the counts it rests on and its 95 % Wilson interval
//! ([`crate::wilson`]), and which variant has the highest click-through
//! rate and whether its interval overlaps the others'. It describes what
//! was observed; it decides nothing (no significance test: the statistics
//! engine comes later).
//!
//! - CTR = clicks ÷ impressions; the interval rests on clicks of
//!   impressions.
//! - CVR = conversions ÷ clicks, the rate from the sums (conversions may be
//!   fractional under data-driven attribution). A binomial interval needs
//!   whole successes: it rests on the whole conversions, the sum rounded
//!   down ([`whole_conversions`]: 2.7 conversions count as 2), of clicks.
//!   With more conversions than clicks (a platform counting several
//!   conversions per click) there is no interval.

use crate::metrics::{CONVERSION_SCALE, Sums};
use crate::wilson::{Z95, wilson_interval};

/// An observed rate with the counts it rests on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ObservedRate {
    /// The rate from the sums; `None` without trials.
    pub rate: Option<f64>,
    /// The successes the interval counts (clicks; whole conversions).
    pub successes: u64,
    /// The trials (impressions; clicks).
    pub trials: u64,
    /// The 95 % Wilson interval `(low, high)` of `successes` in `trials`;
    /// `None` without trials or with more successes than trials.
    pub interval: Option<(f64, f64)>,
}

/// A non-negative count as `u64` (a negative stored sum counts as 0).
fn count(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// Conversions in millionths as whole conversions, rounded down (never
/// below 0): what a binomial interval can count.
pub fn whole_conversions(conversions_micros: i64) -> u64 {
    count(conversions_micros) / CONVERSION_SCALE as u64
}

/// The click-through rate of the sums: clicks of impressions.
pub fn ctr(s: &Sums) -> ObservedRate {
    let (k, n) = (count(s.clicks), count(s.impressions));
    ObservedRate {
        rate: s.ctr(),
        successes: k,
        trials: n,
        interval: wilson_interval(k, n, Z95),
    }
}

/// The conversion rate of the sums: conversions ÷ clicks, the interval on
/// whole conversions of clicks.
pub fn cvr(s: &Sums) -> ObservedRate {
    let (k, n) = (whole_conversions(s.conversions_micros), count(s.clicks));
    ObservedRate {
        rate: s.cvr(),
        successes: k,
        trials: n,
        interval: wilson_interval(k, n, Z95),
    }
}

/// True when two closed intervals share a point.
pub fn overlaps(a: (f64, f64), b: (f64, f64)) -> bool {
    a.0 <= b.1 && b.0 <= a.1
}

/// The variant with the highest observed rate among those with an
/// interval, and how its interval sits among the others'.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leader {
    /// Its position in the rates given.
    pub index: usize,
    /// The others with an interval (those compared with it).
    pub compared: Vec<usize>,
    /// Those of `compared` whose interval overlaps the leader's: the
    /// observations cannot tell them apart yet.
    pub overlapping: Vec<usize>,
}

impl Leader {
    /// True when at least one other was compared and no other's interval
    /// overlaps the leader's.
    pub fn separated(&self) -> bool {
        !self.compared.is_empty() && self.overlapping.is_empty()
    }
}

/// The highest rate among the rates with an interval (a tie goes to the
/// first given), with the others compared and those overlapping it;
/// `None` when no rate has an interval.
pub fn leader(rates: &[ObservedRate]) -> Option<Leader> {
    let with: Vec<(usize, f64, (f64, f64))> = rates
        .iter()
        .enumerate()
        .filter_map(|(i, r)| Some((i, r.rate?, r.interval?)))
        .collect();
    let mut best: Option<(usize, f64, (f64, f64))> = None;
    for x in &with {
        if best.is_none_or(|b| x.1 > b.1) {
            best = Some(*x);
        }
    }
    let (index, _, iv) = best?;
    let compared: Vec<usize> = with.iter().map(|x| x.0).filter(|i| *i != index).collect();
    let overlapping = with
        .iter()
        .filter(|x| x.0 != index && overlaps(iv, x.2))
        .map(|x| x.0)
        .collect();
    Some(Leader {
        index,
        compared,
        overlapping,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sums(impressions: i64, clicks: i64, conversions_micros: i64) -> Sums {
        Sums {
            impressions,
            clicks,
            conversions_micros,
            ..Sums::default()
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    #[test]
    fn ctr_rests_on_clicks_of_impressions() {
        // 10 of 100 (wilson.rs's hand-computed case, here to 1e-9):
        // centre 0.114797399..., half-width 0.059568262...
        let r = ctr(&sums(100, 10, 0));
        assert_eq!((r.successes, r.trials), (10, 100));
        assert_eq!(r.rate, Some(0.1));
        let (lo, hi) = r.interval.unwrap();
        assert!(close(lo, 0.055229137061), "{lo}");
        assert!(close(hi, 0.174365661505), "{hi}");
        // No impressions: no rate, no interval.
        let r = ctr(&sums(0, 0, 0));
        assert_eq!((r.rate, r.interval, r.trials), (None, None, 0));
    }

    #[test]
    fn cvr_counts_whole_conversions() {
        // 2.7 conversions of 10 clicks: the rate 0.27 from the sums, the
        // interval on 2 of 10: p̂ = 0.2, z²/n = 0.384146, 1 + z²/n =
        // 1.384146; centre = (0.2 + 0.192073) / 1.384146 = 0.283260...,
        // half = 1.959964 × √(0.016 + 0.009604) / 1.384146 = 0.226578...
        let r = cvr(&sums(1000, 10, 2_700_000));
        assert_eq!(r.rate, Some(0.27));
        assert_eq!((r.successes, r.trials), (2, 10));
        let (lo, hi) = r.interval.unwrap();
        assert!(close(lo, 0.056682151454), "{lo}");
        assert!(close(hi, 0.509837528463), "{hi}");
        assert_eq!(whole_conversions(999_999), 0);
        assert_eq!(whole_conversions(-5), 0);
        // More conversions than clicks: a rate, no interval.
        let r = cvr(&sums(100, 2, 3_000_000));
        assert_eq!(r.rate, Some(1.5));
        assert_eq!(r.interval, None);
    }

    #[test]
    fn the_leader_and_the_intervals_it_overlaps() {
        let a = ctr(&sums(1000, 10, 0)); // 1 %: (0.005441, 0.018309)
        let b = ctr(&sums(1000, 40, 0)); // 4 %: (0.029511, 0.054010)
        let c = ctr(&sums(1000, 30, 0)); // 3 %: (0.021094, 0.042503)
        let none = ctr(&sums(0, 0, 0));
        let l = leader(&[a, b, none, c]).unwrap();
        assert_eq!(l.index, 1);
        assert_eq!(l.compared, vec![0, 3]);
        // b's low 0.0295 is above a's high 0.0183, below c's high 0.0425.
        assert_eq!(l.overlapping, vec![3]);
        assert!(!l.separated());
        let l = leader(&[a, b]).unwrap();
        assert!(l.separated());
        // Alone: nothing compared, nothing separated.
        let l = leader(&[none, b]).unwrap();
        assert_eq!((l.index, l.compared.len()), (1, 0));
        assert!(!l.separated());
        assert_eq!(leader(&[none]), None);
        // A tie goes to the first.
        assert_eq!(leader(&[c, c]).unwrap().index, 0);
        assert!(overlaps((0.1, 0.2), (0.2, 0.3)));
        assert!(!overlaps((0.1, 0.2), (0.21, 0.3)));
    }
}
