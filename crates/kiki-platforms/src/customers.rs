//! Synthetic customers: every conversion in the sandbox is a new customer of
//! the platform that acquired them, and they keep buying. Each platform draws
//! from its own population (different purchase rates, lifetimes and order
//! values), so the LTV model, the per-platform LTV, the twin and the
//! rebalancer have something true to find.
//!
//! The processes are the ones the LTV engine fits (Fader, Hardie & Lee 2005,
//! "Counting your customers the easy way"; Fader, Hardie & Lee 2005, "RFM
//! and CLV"): while alive, a customer buys as a Poisson process with rate
//! λ ~ Gamma(r, α); after each purchase they drop out with probability
//! p ~ Beta(a, b) (BG/NBD). Order values are Gamma with shape 6 around the
//! customer's own mean, which is Gamma with shape 4 around the population's
//! (a Gamma-Gamma spend model). Every draw comes from the customer's seed.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Beta, Distribution, Exp, Gamma};
use serde::{Deserialize, Serialize};
use time::{Date, Duration};

use kiki_twin::{Industry, Platform, priors};

use crate::market::mix;

/// A platform's customer population relative to the industry's typical
/// customer: repeat purchases a year while alive, the chance of dropping out
/// after a purchase, and an order-value multiplier.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Population {
    pub repeats_per_year: f64,
    pub dropout: f64,
    pub value_factor: f64,
}

/// The populations: intent-led platforms (search, marketplaces) bring
/// customers who come back; feed and short-video platforms bring cheaper,
/// less loyal ones; professional networks bring few, valuable ones.
pub fn population(platform: Platform) -> Population {
    let p = |repeats_per_year, dropout, value_factor| Population {
        repeats_per_year,
        dropout,
        value_factor,
    };
    match platform {
        Platform::Google | Platform::Microsoft => p(3.0, 0.25, 1.1),
        Platform::Amazon => p(4.0, 0.2, 0.9),
        Platform::Meta => p(2.0, 0.35, 1.0),
        Platform::Tiktok | Platform::Snapchat => p(1.2, 0.5, 0.75),
        Platform::Linkedin => p(1.5, 0.2, 1.6),
        Platform::Pinterest | Platform::X => p(1.5, 0.4, 0.9),
        Platform::Kiki | Platform::Sandbox => p(1.8, 0.35, 0.95),
    }
}

/// One synthetic customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Customer {
    /// Stable: the acquiring ad set's seed, the day and the number.
    pub id: String,
    pub platform: Platform,
    pub acquired: Date,
    /// The first order (the conversion), micros.
    pub first_order_micros: i64,
}

/// One order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Order {
    pub day: Date,
    pub value_micros: i64,
}

/// The customer's own parameters, from its seed.
struct Traits {
    rate_per_day: f64,
    dropout: f64,
    mean_value: f64,
}

fn traits(industry: Industry, platform: Platform, seed: u64) -> Traits {
    let pop = population(platform);
    let prior = priors::prior(industry, platform);
    let mut rng = StdRng::seed_from_u64(mix(seed ^ 0x5EED_C057));
    // λ ~ Gamma(r = 0.8, mean = repeats a year / 365).
    let r = 0.8;
    let rate_mean = pop.repeats_per_year / 365.0;
    let rate_per_day = Gamma::new(r, rate_mean / r).map_or(rate_mean, |g| g.sample(&mut rng));
    // p ~ Beta with the population's mean and a + b = 5.
    let (a, b) = (pop.dropout * 5.0, (1.0 - pop.dropout) * 5.0);
    let dropout = Beta::new(a, b).map_or(pop.dropout, |d| d.sample(&mut rng));
    let mean = prior.order_value * pop.value_factor;
    let mean_value = Gamma::new(4.0, mean / 4.0).map_or(mean, |g| g.sample(&mut rng));
    Traits {
        rate_per_day,
        dropout,
        mean_value,
    }
}

fn order_value(rng: &mut StdRng, mean: f64) -> i64 {
    let v = Gamma::new(6.0, mean / 6.0).map_or(mean, |g| g.sample(rng));
    (v * 1e6).round().max(1.0) as i64
}

/// The `n` customers an ad set (by seed) acquired on `day`.
pub fn acquired(
    industry: Industry,
    platform: Platform,
    ad_set_seed: u64,
    day: Date,
    n: u64,
) -> Vec<Customer> {
    (0..n)
        .map(|k| {
            let id = format!("sbx-{:016x}-{}-{k}", ad_set_seed, day.to_julian_day());
            let seed = crate::market::seed_of(&id);
            let t = traits(industry, platform, seed);
            let mut rng = StdRng::seed_from_u64(mix(seed ^ 0xF1257));
            Customer {
                first_order_micros: order_value(&mut rng, t.mean_value),
                id,
                platform,
                acquired: day,
            }
        })
        .collect()
}

/// The customer's repeat orders after the first, up to and including
/// `until`: the same list every time it is asked (a longer horizon extends
/// it, never changes its start).
pub fn repeat_orders(industry: Industry, c: &Customer, until: Date) -> Vec<Order> {
    let seed = crate::market::seed_of(&c.id);
    let t = traits(industry, c.platform, seed);
    let mut rng = StdRng::seed_from_u64(mix(seed ^ 0x0DE25));
    let mut out = Vec::new();
    let Ok(gap) = Exp::new(t.rate_per_day.max(1e-9)) else {
        return out;
    };
    let Ok(drop) = rand_distr::Bernoulli::new(t.dropout.clamp(0.0, 1.0)) else {
        return out;
    };
    // Alive after the first purchase unless the coin says otherwise.
    if drop.sample(&mut rng) {
        return out;
    }
    let mut at = 0.0f64;
    loop {
        at += gap.sample(&mut rng);
        // A customer who buys rarely enough draws a gap of millions of
        // days: stop at a century, before the day would overflow a date.
        if at > 36_500.0 {
            break;
        }
        let day = c.acquired + Duration::days(at.ceil() as i64);
        if day > until {
            break;
        }
        out.push(Order {
            day,
            value_micros: order_value(&mut rng, t.mean_value),
        });
        if drop.sample(&mut rng) {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    /// λ ~ Gamma(0.8) is now and then tiny; such a customer's next purchase
    /// lies millions of days ahead, past the last representable date. The
    /// orders stop at a century instead of overflowing the date.
    #[test]
    fn a_customer_who_almost_never_buys_does_not_overflow_the_calendar() {
        let day = date!(2026 - 09 - 08);
        let mut orders = 0;
        for seed in 0..40 {
            for c in acquired(Industry::Ecommerce, Platform::Tiktok, seed, day, 2_000) {
                for o in repeat_orders(Industry::Ecommerce, &c, date!(9999 - 12 - 31)) {
                    assert!(o.day <= day + Duration::days(36_501), "{o:?}");
                    orders += 1;
                }
            }
        }
        assert!(orders > 0);
    }

    #[test]
    fn customers_and_their_orders_are_the_same_every_time() {
        let a = acquired(
            Industry::Ecommerce,
            Platform::Meta,
            7,
            date!(2027 - 01 - 05),
            3,
        );
        assert_eq!(
            a,
            acquired(
                Industry::Ecommerce,
                Platform::Meta,
                7,
                date!(2027 - 01 - 05),
                3
            )
        );
        assert_eq!(a.len(), 3);
        assert_ne!(a[0].id, a[1].id);
        let short = repeat_orders(Industry::Ecommerce, &a[0], date!(2027 - 06 - 30));
        let long = repeat_orders(Industry::Ecommerce, &a[0], date!(2028 - 12 - 31));
        assert_eq!(
            &long[..short.len()],
            &short[..],
            "a longer horizon extends the list"
        );
        assert!(long.iter().all(|o| o.day > a[0].acquired));
    }

    /// Mean first-year value (first order + repeats) over many customers.
    fn year_value(platform: Platform) -> f64 {
        let day = date!(2027 - 01 - 01);
        let customers = acquired(Industry::Ecommerce, platform, 99, day, 4_000);
        let total: i64 = customers
            .iter()
            .map(|c| {
                c.first_order_micros
                    + repeat_orders(Industry::Ecommerce, c, day + Duration::days(365))
                        .iter()
                        .map(|o| o.value_micros)
                        .sum::<i64>()
            })
            .sum();
        total as f64 / 1e6 / customers.len() as f64
    }

    #[test]
    fn platforms_bring_customers_of_different_worth() {
        let google = year_value(Platform::Google);
        let meta = year_value(Platform::Meta);
        let tiktok = year_value(Platform::Tiktok);
        assert!(google > meta * 1.2, "google {google:.1} meta {meta:.1}");
        assert!(meta > tiktok * 1.2, "meta {meta:.1} tiktok {tiktok:.1}");
        // First order about the prior's 80; a year's value a few orders more.
        let first: f64 = acquired(
            Industry::Ecommerce,
            Platform::Meta,
            5,
            date!(2027 - 01 - 01),
            4_000,
        )
        .iter()
        .map(|c| c.first_order_micros as f64 / 1e6)
        .sum::<f64>()
            / 4_000.0;
        assert!((first / 80.0 - 1.0).abs() < 0.1, "first order {first:.1}");
    }
}
