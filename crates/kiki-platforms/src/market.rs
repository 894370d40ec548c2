//! The sandbox market's economics: what one ad set buys on one platform on
//! one day. A model, stated so that its numbers can be argued with:
//!
//! - **Prices and rates** start from the twin's industry × platform priors
//!   (`kiki_twin::priors`: CPM, CTR, click-to-customer CVR, first-order
//!   value), so the sandbox and the twin's planning assumptions agree on
//!   average; each ad set draws its own persistent deviation (log-normal,
//!   σ 0.25) from its seed.
//! - **Calendar**: a day-of-week factor on CPM and CVR (weekends dearer and
//!   converting better on consumer platforms) and a yearly season peaking in
//!   late November (±15 % on CPM, ±10 % on CVR).
//! - **Learning phase**: for the first 7 days an ad set pays up to 30 % more
//!   per impression and converts up to 30 % less, fading linearly.
//! - **Audience and fatigue**: an audience of `audience_size` people; the
//!   day's reach follows `A·(1 − e^(−I/A))` and the frequency `I / reach`;
//!   CTR falls as `1 / (1 + 0.15·(f − 1))` above one impression per person,
//!   and CPM rises as the unreached audience shrinks (saturation).
//! - **Creatives**: each creative's quality multiplies CTR: approved copy
//!   1.0, copy waiting for review 0.9, and a variant effect per creative
//!   (log-normal, σ 0.2, from its seed); the ad set's CTR is their mean.
//! - **Pacing**: the daily budget is spent in full unless the audience runs
//!   out (a CPM above 5× the base stops buying).
//! - **Noise**: impressions per unit spend carry log-normal day noise
//!   (σ 0.15); clicks and conversions are Poisson draws; each conversion is
//!   a synthetic customer (`crate::customers`) whose first order is its value.
//!
//! Everything is deterministic per (market seed, ad set seed, day): the same
//! inputs give the same day, on any machine, in any order.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Poisson, StandardNormal};
use serde::{Deserialize, Serialize};
use time::{Date, Weekday};

use kiki_twin::{Industry, Platform, priors};

use crate::customers::{Customer, acquired};

/// A creative as the market sees it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CreativeQuality {
    /// A stable seed per creative (its id hashed).
    pub seed: u64,
    /// True when the policy review approved it; false: it waits for review.
    pub approved: bool,
}

/// One ad set on one day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdSetDay {
    pub platform: Platform,
    pub industry: Industry,
    /// A stable seed per ad set (its id hashed).
    pub seed: u64,
    pub day: Date,
    /// Days since the ad set started delivering (0 on its first day).
    pub days_live: u32,
    /// The day's budget, micros.
    pub daily_budget_micros: i64,
    /// People the targeting reaches on the platform.
    pub audience_size: u64,
    pub creatives: Vec<CreativeQuality>,
}

/// What the ad set bought that day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DayOutcome {
    pub spend_micros: i64,
    pub impressions: u64,
    pub reach: u64,
    pub clicks: u64,
    /// New customers (each one's first order is a conversion).
    pub conversions: u64,
    /// Their first orders, micros.
    pub conversion_value_micros: i64,
    /// Impressions per person reached.
    pub frequency: f64,
}

/// The sandbox market: a seed and nothing else (every number is a function
/// of it and the inputs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Market {
    pub seed: u64,
}

/// SplitMix64: one well-mixed 64-bit value from another.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A stable seed from text (FNV-1a, then mixed): ids become seeds.
pub fn seed_of(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    mix(h)
}

/// exp(σ·z) with z standard normal, from `rng`.
fn lognormal(rng: &mut StdRng, sigma: f64) -> f64 {
    let z: f64 = StandardNormal.sample(rng);
    (sigma * z - sigma * sigma / 2.0).exp()
}

fn poisson(rng: &mut StdRng, mean: f64) -> u64 {
    if !(mean.is_finite() && mean > 0.0) {
        return 0;
    }
    match Poisson::new(mean) {
        Ok(p) => p.sample(rng) as u64,
        Err(_) => 0,
    }
}

/// Consumer platforms see weekend evenings; business and search platforms
/// see weekdays.
fn weekday_factors(platform: Platform, day: Weekday) -> (f64, f64) {
    let weekend = matches!(day, Weekday::Saturday | Weekday::Sunday);
    match platform {
        Platform::Linkedin | Platform::Microsoft => {
            if weekend {
                (0.85, 0.8)
            } else {
                (1.03, 1.05)
            }
        }
        _ => {
            if weekend {
                (1.08, 1.1)
            } else {
                (0.97, 0.96)
            }
        }
    }
}

/// (CPM, CVR) season factors: a cosine peaking on 25 November.
fn season(day: Date) -> (f64, f64) {
    let peak = 329.0;
    let d = f64::from(day.ordinal());
    let c = (2.0 * std::f64::consts::PI * (d - peak) / 365.25).cos();
    (1.0 + 0.15 * c, 1.0 + 0.10 * c)
}

impl Market {
    /// The ad set's persistent deviations from the priors: (CPM, CTR, CVR).
    fn ad_set_traits(&self, seed: u64) -> (f64, f64, f64) {
        let mut rng = StdRng::seed_from_u64(mix(self.seed ^ mix(seed)));
        (
            lognormal(&mut rng, 0.25),
            lognormal(&mut rng, 0.25),
            lognormal(&mut rng, 0.25),
        )
    }

    /// A creative's variant effect on CTR.
    pub fn creative_effect(&self, c: CreativeQuality) -> f64 {
        let mut rng = StdRng::seed_from_u64(mix(self.seed ^ mix(c.seed ^ 0xC0FFEE)));
        let review = if c.approved { 1.0 } else { 0.9 };
        review * lognormal(&mut rng, 0.2)
    }

    /// One ad set's day.
    pub fn day(&self, a: &AdSetDay) -> DayOutcome {
        self.day_with_customers(a).0
    }

    /// One ad set's day and the customers it acquired (each conversion is a
    /// customer; the day's conversion value is their first orders).
    pub fn day_with_customers(&self, a: &AdSetDay) -> (DayOutcome, Vec<Customer>) {
        if a.daily_budget_micros <= 0 || a.creatives.is_empty() || a.audience_size == 0 {
            return (DayOutcome::default(), Vec::new());
        }
        let prior = priors::prior(a.industry, a.platform);
        let (t_cpm, t_ctr, t_cvr) = self.ad_set_traits(a.seed);
        let day_seed = mix(self.seed ^ mix(a.seed) ^ mix(a.day.to_julian_day() as u64));
        let mut rng = StdRng::seed_from_u64(day_seed);
        let (w_cpm, w_cvr) = weekday_factors(a.platform, a.day.weekday());
        let (s_cpm, s_cvr) = season(a.day);
        let learning = if a.days_live < 7 {
            0.3 * f64::from(7 - a.days_live) / 7.0
        } else {
            0.0
        };
        let base_cpm =
            prior.cpm * t_cpm * w_cpm * s_cpm * (1.0 + learning) * lognormal(&mut rng, 0.15);
        let budget = a.daily_budget_micros as f64 / 1e6;
        let audience = a.audience_size as f64;
        // Saturation: each further impression costs more as the unreached
        // audience shrinks; buy in steps until the budget or the price cap.
        let mut spend = 0.0;
        let mut impressions = 0.0;
        let steps = 50;
        let step = budget / f64::from(steps);
        for _ in 0..steps {
            let unreached = (-impressions / audience).exp();
            let cpm = base_cpm / unreached.max(1e-9);
            if cpm > base_cpm * 5.0 {
                break;
            }
            spend += step;
            impressions += step / cpm * 1000.0;
        }
        let reach = audience * (1.0 - (-impressions / audience).exp());
        let frequency = if reach > 0.0 {
            impressions / reach
        } else {
            0.0
        };
        let fatigue = 1.0 / (1.0 + 0.15 * (frequency - 1.0).max(0.0));
        let quality = a
            .creatives
            .iter()
            .map(|c| self.creative_effect(*c))
            .sum::<f64>()
            / a.creatives.len() as f64;
        let ctr = (prior.ctr * t_ctr * quality * fatigue).min(0.5);
        let cvr = (prior.cvr * t_cvr * w_cvr * s_cvr * (1.0 - learning)).min(0.9);
        let impressions = impressions.round() as u64;
        let clicks = poisson(&mut rng, impressions as f64 * ctr).min(impressions);
        let conversions = poisson(&mut rng, clicks as f64 * cvr).min(clicks);
        let customers = acquired(a.industry, a.platform, a.seed, a.day, conversions);
        let outcome = DayOutcome {
            spend_micros: ((spend * 1e6).round() as i64).min(a.daily_budget_micros),
            impressions,
            reach: reach.round() as u64,
            clicks,
            conversions,
            conversion_value_micros: customers.iter().map(|c| c.first_order_micros).sum(),
            frequency,
        };
        (outcome, customers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn ad_set(budget: i64) -> AdSetDay {
        AdSetDay {
            platform: Platform::Meta,
            industry: Industry::Ecommerce,
            seed: seed_of("ad set 1"),
            day: date!(2027 - 03 - 10),
            days_live: 20,
            daily_budget_micros: budget,
            audience_size: 2_000_000,
            creatives: vec![CreativeQuality {
                seed: seed_of("creative 1"),
                approved: true,
            }],
        }
    }

    #[test]
    fn a_day_is_the_same_for_the_same_inputs_and_differs_by_seed() {
        let m = Market { seed: 42 };
        let a = ad_set(100_000_000);
        assert_eq!(m.day(&a), m.day(&a));
        assert_ne!(m.day(&a), Market { seed: 43 }.day(&a));
        let mut next = a.clone();
        next.day = date!(2027 - 03 - 11);
        assert_ne!(m.day(&a), m.day(&next));
    }

    #[test]
    fn spend_never_exceeds_the_budget_and_prices_follow_the_prior() {
        let m = Market { seed: 1 };
        let mut cpms = Vec::new();
        for s in 0..200u64 {
            let mut a = ad_set(100_000_000);
            a.seed = mix(s);
            let d = m.day(&a);
            assert!(d.spend_micros <= 100_000_000);
            assert_eq!(
                d.spend_micros, 100_000_000,
                "a large audience takes the whole budget"
            );
            cpms.push(d.spend_micros as f64 / 1e6 / d.impressions as f64 * 1000.0);
        }
        cpms.sort_by(f64::total_cmp);
        let median = cpms[100];
        let prior = priors::prior(Industry::Ecommerce, Platform::Meta).cpm;
        assert!(
            (median / prior - 1.0).abs() < 0.15,
            "median CPM {median:.2} against the prior {prior:.2}"
        );
    }

    #[test]
    fn a_small_audience_saturates_and_tires() {
        let m = Market { seed: 5 };
        let big = m.day(&ad_set(2_000_000_000));
        let mut a = ad_set(2_000_000_000);
        a.audience_size = 20_000;
        let small = m.day(&a);
        assert!(small.spend_micros < big.spend_micros, "{small:?}");
        assert!(small.frequency > big.frequency);
        let ctr = |d: &DayOutcome| d.clicks as f64 / d.impressions as f64;
        assert!(ctr(&small) < ctr(&big), "{small:?} {big:?}");
    }

    #[test]
    fn the_learning_phase_costs_more_and_converts_less() {
        let m = Market { seed: 9 };
        let (mut early, mut late) = ((0.0, 0u64), (0.0, 0u64));
        for s in 0..300u64 {
            let mut a = ad_set(200_000_000);
            a.seed = mix(s + 1_000);
            a.days_live = 0;
            let d = m.day(&a);
            early.0 += d.impressions as f64;
            early.1 += d.conversions;
            a.days_live = 30;
            let d = m.day(&a);
            late.0 += d.impressions as f64;
            late.1 += d.conversions;
        }
        assert!(early.0 < late.0 / 1.2, "{early:?} {late:?}");
        assert!(early.1 < late.1, "{early:?} {late:?}");
    }

    #[test]
    fn creatives_waiting_for_review_click_less() {
        let m = Market { seed: 3 };
        let c = CreativeQuality {
            seed: 77,
            approved: true,
        };
        let waiting = CreativeQuality {
            approved: false,
            ..c
        };
        assert!((m.creative_effect(waiting) / m.creative_effect(c) - 0.9).abs() < 1e-12);
        assert_eq!(
            m.day(&AdSetDay {
                creatives: vec![],
                ..ad_set(1)
            }),
            DayOutcome::default()
        );
    }
}
