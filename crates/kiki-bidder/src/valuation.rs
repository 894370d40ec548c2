//! What an impression is worth: pCTR and pCVR from observed performance with a
//! Beta prior (the posterior mean of a Beta-Binomial model), times the predicted
//! LTV of the user's segment, falling back to the line item's LTV baseline.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use arc_swap::ArcSwap;
use kiki_core::{Money, OrgId};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

/// A Beta(α, β) prior on a rate; its mean α / (α + β) is the rate a new line item starts from.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BetaPrior {
    #[schema(exclusive_minimum = 0.0)]
    pub alpha: f64,
    #[schema(exclusive_minimum = 0.0)]
    pub beta: f64,
}

impl BetaPrior {
    pub fn is_valid(&self) -> bool {
        self.alpha.is_finite() && self.beta.is_finite() && self.alpha > 0.0 && self.beta > 0.0
    }

    /// Posterior mean after `successes` in `trials`: (α + s) / (α + β + n).
    /// Successes are clamped to trials, since clicks and impressions may come
    /// from reports of different freshness.
    pub fn posterior_mean(&self, successes: u64, trials: u64) -> f64 {
        let n = trials as f64;
        let s = (successes.min(trials)) as f64;
        (self.alpha + s) / (self.alpha + self.beta + n)
    }
}

/// Observed delivery of one line item.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PerformanceTotals {
    pub impressions: u64,
    pub clicks: u64,
    pub conversions: u64,
}

/// Lock-free counters the bid path reads and notices and reports update.
///
/// They also keep pCTR × pCVR for the current counts under the priors of the
/// line item's latest compilation, recomputed whenever a count or the priors
/// change: the bid path prices every candidate and reads it without the two
/// divisions of the posterior means (notices are rarer than candidates by two
/// orders of magnitude).
#[derive(Debug)]
pub struct PerformanceCounters {
    impressions: AtomicU64,
    clicks: AtomicU64,
    conversions: AtomicU64,
    /// Held while recomputing, so the last recomputation reads the last counts.
    priors: Mutex<Option<(BetaPrior, BetaPrior)>>,
    p_conversion_bits: AtomicU64,
}

impl Default for PerformanceCounters {
    fn default() -> Self {
        PerformanceCounters {
            impressions: AtomicU64::new(0),
            clicks: AtomicU64::new(0),
            conversions: AtomicU64::new(0),
            priors: Mutex::new(None),
            // Until priors are set: NaN, which MarginGuardian refuses.
            p_conversion_bits: AtomicU64::new(f64::NAN.to_bits()),
        }
    }
}

impl PerformanceCounters {
    pub fn totals(&self) -> PerformanceTotals {
        PerformanceTotals {
            impressions: self.impressions.load(Ordering::Relaxed),
            clicks: self.clicks.load(Ordering::Relaxed),
            conversions: self.conversions.load(Ordering::Relaxed),
        }
    }

    pub fn add(&self, d: PerformanceTotals) {
        self.impressions.fetch_add(d.impressions, Ordering::Relaxed);
        self.clicks.fetch_add(d.clicks, Ordering::Relaxed);
        self.conversions.fetch_add(d.conversions, Ordering::Relaxed);
        self.refresh(&self.priors.lock());
    }

    pub fn set(&self, t: PerformanceTotals) {
        self.impressions.store(t.impressions, Ordering::Relaxed);
        self.clicks.store(t.clicks, Ordering::Relaxed);
        self.conversions.store(t.conversions, Ordering::Relaxed);
        self.refresh(&self.priors.lock());
    }

    /// Sets the conversion count alone: conversions are counted where they
    /// are reported (stored, then loaded into every replica), while
    /// impressions and clicks keep counting here.
    pub fn set_conversions(&self, conversions: u64) {
        self.conversions.store(conversions, Ordering::Relaxed);
        self.refresh(&self.priors.lock());
    }

    /// Sets the priors of the line item's latest compilation.
    pub fn set_priors(&self, ctr: BetaPrior, cvr: BetaPrior) {
        let mut priors = self.priors.lock();
        *priors = Some((ctr, cvr));
        self.refresh(&priors);
    }

    fn refresh(&self, priors: &Option<(BetaPrior, BetaPrior)>) {
        let p = priors.map_or(f64::NAN, |(ctr, cvr)| {
            RateEstimate::from_totals(&ctr, &cvr, self.totals()).p_conversion()
        });
        self.p_conversion_bits.store(p.to_bits(), Ordering::Relaxed);
    }

    /// pCTR × pCVR for the current counts (what `RateEstimate::from_totals`
    /// gives under the latest priors); NaN before any priors are set.
    #[inline]
    pub fn p_conversion(&self) -> f64 {
        f64::from_bits(self.p_conversion_bits.load(Ordering::Relaxed))
    }
}

/// pCTR and pCVR estimated for one line item.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RateEstimate {
    pub p_click: f64,
    pub p_convert_after_click: f64,
}

impl RateEstimate {
    pub fn from_totals(ctr: &BetaPrior, cvr: &BetaPrior, t: PerformanceTotals) -> Self {
        RateEstimate {
            p_click: ctr.posterior_mean(t.clicks, t.impressions),
            p_convert_after_click: cvr.posterior_mean(t.conversions, t.clicks),
        }
    }

    /// Expected conversions per impression, pCTR × pCVR.
    pub fn p_conversion(&self) -> f64 {
        self.p_click * self.p_convert_after_click
    }
}

/// Where a user's predicted LTV comes from. The bid path calls it at most once per
/// organisation per request, so an implementation must answer from memory.
pub trait SegmentLookup: Send + Sync + std::fmt::Debug + 'static {
    /// The predicted LTV (micros of the bidder currency) of the segment the user
    /// belongs to for this organisation, if known.
    fn ltv_micros(&self, org: OrgId, user_key: &str) -> Option<i64>;
}

/// Segment data of one organisation.
#[derive(Debug, Default, Clone)]
struct OrgSegments {
    users: HashMap<Box<str>, u32, foldhash::fast::FixedState>,
    segment_ids: HashMap<String, u32>,
    ltv: Vec<i64>,
}

/// An immutable set of segments, built off the bid path and swapped in whole.
#[derive(Debug, Default, Clone)]
pub struct SegmentData {
    orgs: HashMap<OrgId, OrgSegments>,
}

impl SegmentData {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets (or replaces) a segment's predicted LTV.
    pub fn set_segment_ltv(&mut self, org: OrgId, segment: &str, ltv: Money) {
        let o = self.orgs.entry(org).or_default();
        let next = o.ltv.len() as u32;
        let id = *o.segment_ids.entry(segment.to_owned()).or_insert(next);
        if id as usize == o.ltv.len() {
            o.ltv.push(ltv.micros);
        } else {
            o.ltv[id as usize] = ltv.micros;
        }
    }

    /// Places a user (by `user.buyeruid` or `user.id`) in a segment. Returns false
    /// when the segment has no LTV yet.
    pub fn assign_user(&mut self, org: OrgId, user_key: &str, segment: &str) -> bool {
        let Some(o) = self.orgs.get_mut(&org) else {
            return false;
        };
        let Some(&id) = o.segment_ids.get(segment) else {
            return false;
        };
        o.users.insert(user_key.into(), id);
        true
    }

    pub fn users(&self) -> usize {
        self.orgs.values().map(|o| o.users.len()).sum()
    }
}

/// The in-memory segment table: readers see one consistent version; writers
/// replace it atomically.
#[derive(Debug, Default)]
pub struct SegmentTable {
    data: ArcSwap<SegmentData>,
}

impl SegmentTable {
    pub fn new(data: SegmentData) -> Self {
        SegmentTable {
            data: ArcSwap::from_pointee(data),
        }
    }

    pub fn replace(&self, data: SegmentData) {
        self.data.store(std::sync::Arc::new(data));
    }
}

impl SegmentLookup for SegmentTable {
    fn ltv_micros(&self, org: OrgId, user_key: &str) -> Option<i64> {
        let data = self.data.load();
        let o = data.orgs.get(&org)?;
        let id = *o.users.get(user_key)?;
        o.ltv.get(id as usize).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiki_core::Currency;

    #[test]
    fn the_kept_p_conversion_follows_every_count_and_prior_change() {
        let c = PerformanceCounters::default();
        assert!(
            c.p_conversion().is_nan(),
            "no priors yet: nothing to bid on"
        );
        let ctr = BetaPrior {
            alpha: 1.0,
            beta: 99.0,
        };
        let cvr = BetaPrior {
            alpha: 2.0,
            beta: 48.0,
        };
        let expect = |c: &PerformanceCounters, ctr: &BetaPrior, cvr: &BetaPrior| {
            RateEstimate::from_totals(ctr, cvr, c.totals()).p_conversion()
        };
        c.set_priors(ctr, cvr);
        assert_eq!(c.p_conversion(), expect(&c, &ctr, &cvr));
        c.add(PerformanceTotals {
            impressions: 1_000,
            clicks: 30,
            conversions: 4,
        });
        assert_eq!(c.p_conversion(), expect(&c, &ctr, &cvr));
        assert_ne!(c.p_conversion(), ctr.alpha / (ctr.alpha + ctr.beta) * 0.04);
        c.set(PerformanceTotals {
            impressions: 10,
            clicks: 0,
            conversions: 0,
        });
        assert_eq!(c.p_conversion(), expect(&c, &ctr, &cvr));
        c.set_conversions(0);
        c.add(PerformanceTotals {
            impressions: 0,
            clicks: 10,
            conversions: 0,
        });
        let before = c.p_conversion();
        c.set_conversions(3);
        assert_eq!(c.totals().clicks, 10, "only the conversions are set");
        assert_eq!(c.totals().conversions, 3);
        assert_eq!(c.p_conversion(), expect(&c, &ctr, &cvr));
        assert!(c.p_conversion() > before, "conversions raise pCVR");
        let ctr2 = BetaPrior {
            alpha: 5.0,
            beta: 95.0,
        };
        c.set_priors(ctr2, cvr);
        assert_eq!(c.p_conversion(), expect(&c, &ctr2, &cvr));
        // Concurrent notices: the last recomputation sees the last counts.
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..1_000 {
                        c.add(PerformanceTotals {
                            impressions: 1,
                            clicks: 1,
                            conversions: 0,
                        });
                    }
                });
            }
        });
        assert_eq!(c.totals().impressions, 4_010);
        assert_eq!(c.p_conversion(), expect(&c, &ctr2, &cvr));
    }

    #[test]
    fn a_new_line_item_starts_from_the_prior_mean_and_learns_from_data() {
        let prior = BetaPrior {
            alpha: 2.0,
            beta: 998.0,
        };
        assert_eq!(prior.posterior_mean(0, 0), 0.002);
        let learned = prior.posterior_mean(48, 9000);
        assert!((learned - 50.0 / 10_000.0).abs() < 1e-12);
        assert_eq!(
            prior.posterior_mean(10, 5),
            prior.posterior_mean(5, 5),
            "successes clamp to trials"
        );
    }

    #[test]
    fn the_conversion_probability_is_ctr_times_cvr() {
        let e = RateEstimate::from_totals(
            &BetaPrior {
                alpha: 1.0,
                beta: 499.0,
            },
            &BetaPrior {
                alpha: 1.0,
                beta: 49.0,
            },
            PerformanceTotals::default(),
        );
        assert!((e.p_conversion() - 0.002 * 0.02).abs() < 1e-15);
    }

    #[test]
    fn segment_lookup_is_per_organisation_and_swaps_atomically() {
        let (a, b) = (OrgId::new(), OrgId::new());
        let mut d = SegmentData::new();
        d.set_segment_ltv(a, "vip", Money::from_micros(300_000_000, Currency::USD));
        assert!(d.assign_user(a, "u1", "vip"));
        assert!(!d.assign_user(a, "u2", "unknown segment"));
        let t = SegmentTable::new(d.clone());
        assert_eq!(t.ltv_micros(a, "u1"), Some(300_000_000));
        assert_eq!(t.ltv_micros(b, "u1"), None);
        d.set_segment_ltv(a, "vip", Money::from_micros(250_000_000, Currency::USD));
        t.replace(d);
        assert_eq!(t.ltv_micros(a, "u1"), Some(250_000_000));
    }
}
