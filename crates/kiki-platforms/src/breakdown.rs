//! Insights broken down by a dimension the platforms report beside the
//! object: the **country** people saw the ads in and the **device** they saw
//! them on, per campaign and day. The port's shapes ([`BreakdownQuery`],
//! [`BreakdownRow`], [`BreakdownAnswer`]: a platform that cannot report a
//! dimension says so rather than failing), the closed set of devices every
//! platform's own values are mapped onto ([`Device`]), and the sandbox
//! market's model of how a day's delivery splits across countries and
//! devices ([`split_day`]).
//!
//! **The sandbox's split** (docs/platforms.md, "Countries and devices"). Each
//! ad set's day is split, then summed per campaign:
//!
//! - **Countries**: the ad set's targeted countries, each with an equal base
//!   share; without targeted countries, the stated default mix
//!   ([`DEFAULT_COUNTRY_MIX`]).
//! - **Devices**: the platform's stated device mix ([`device_mix`]).
//! - **Noise**: each base share is multiplied by a log-normal factor
//!   (σ 0.15) drawn from (market seed, ad set seed, day, dimension), so the
//!   split moves from day to day and is the same for the same seed.
//! - **Exact sums**: every metric is split by the largest-remainder method
//!   on integers (micros for money), so the parts add up to the ad set's day
//!   exactly; clicks in a value never exceed its impressions, conversions
//!   never its clicks, and the conversion value follows the conversions.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};
use time::Date;

use kiki_twin::Platform;

use crate::market::mix;

kiki_core::string_enum! {
    /// What insights are broken down by.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum BreakdownDimension {
        /// The country the ad was shown in: an ISO 3166-1 alpha-2 code.
        Country = "country",
        /// The device it was shown on: one of [`Device`].
        Device = "device",
    }
}

kiki_core::string_enum! {
    /// The devices every platform's own device values are mapped onto.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum Device {
        /// Phones (Meta's `mobile_app` and `mobile_web`; Google Ads `MOBILE`).
        Mobile = "mobile",
        Desktop = "desktop",
        Tablet = "tablet",
        /// Television sets and streaming devices (Google Ads `CONNECTED_TV`).
        ConnectedTv = "connected_tv",
        /// Anything the platform reports as another or an unknown device.
        Other = "other",
    }
}

/// Breakdown insights for an account between two days (inclusive), at
/// campaign level per day, optionally for some campaigns only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakdownQuery {
    pub dimension: BreakdownDimension,
    pub since: Date,
    pub until: Date,
    /// External campaign ids; empty: the whole account.
    pub campaign_ids: Vec<String>,
}

/// One campaign's numbers on one day for one value of the dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BreakdownRow {
    pub day: Date,
    pub campaign_id: String,
    /// An ISO 3166-1 alpha-2 code (upper case) or a [`Device`] wire name.
    pub value: String,
    pub spend_micros: i64,
    pub impressions: u64,
    pub clicks: u64,
    /// As in `InsightRow::conversions` (possibly fractional on Google Ads).
    pub conversions: f64,
    pub conversion_value_micros: i64,
}

/// A platform's answer to a breakdown query: its rows, or that it does not
/// report the dimension (not an error: the numbers exist, broken down
/// otherwise or not at all).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BreakdownAnswer {
    Reported { rows: Vec<BreakdownRow> },
    NotReported { reason: String },
}

/// Whether `s` is an ISO 3166-1 alpha-2 code's shape (two upper-case
/// letters).
pub fn is_country_code(s: &str) -> bool {
    s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase())
}

/// The country mix of an ad set that targets no country, in parts per
/// million (a model assumption, stated in docs/platforms.md: an
/// English-speaking, US-led market).
pub const DEFAULT_COUNTRY_MIX: &[(&str, u64)] = &[
    ("US", 600_000),
    ("GB", 150_000),
    ("CA", 100_000),
    ("AU", 80_000),
    ("DE", 70_000),
];

/// A platform's device mix in the sandbox, in parts per million (model
/// assumptions, stated in docs/platforms.md): feed and video platforms are
/// mostly phones, search and business platforms see more desktops.
pub fn device_mix(platform: Platform) -> [(Device, u64); 5] {
    use Device::*;
    let [m, d, t, tv, o] = match platform {
        Platform::Meta => [800_000, 120_000, 60_000, 0, 20_000],
        Platform::Google => [600_000, 300_000, 60_000, 30_000, 10_000],
        Platform::Tiktok | Platform::Snapchat => [960_000, 20_000, 20_000, 0, 0],
        Platform::Linkedin => [550_000, 420_000, 30_000, 0, 0],
        Platform::Pinterest => [850_000, 110_000, 40_000, 0, 0],
        Platform::Microsoft => [350_000, 600_000, 50_000, 0, 0],
        Platform::Amazon => [650_000, 270_000, 50_000, 30_000, 0],
        Platform::X => [900_000, 90_000, 10_000, 0, 0],
        Platform::Sandbox | Platform::Kiki => [600_000, 300_000, 70_000, 20_000, 10_000],
    };
    [
        (Mobile, m),
        (Desktop, d),
        (Tablet, t),
        (ConnectedTv, tv),
        (Other, o),
    ]
}

/// Splits `total` into parts proportional to `weights` by the largest
/// remainder method: each part is its floor share, and the units left go
/// one each to the largest fractional remainders (ties to the earlier
/// part). With `caps`, a part never exceeds its cap (a unit skips a capped
/// part for the next remainder); the caps must sum to at least `total`.
/// The parts sum to `total` exactly. Zero weights take nothing unless every
/// weight is zero, when the total goes to the first part.
pub fn largest_remainder(total: i64, weights: &[u64], caps: Option<&[i64]>) -> Vec<i64> {
    let n = weights.len();
    if n == 0 {
        return Vec::new();
    }
    let sum: u128 = weights.iter().map(|w| u128::from(*w)).sum();
    let mut parts = vec![0i64; n];
    if total == 0 {
        return parts;
    }
    if sum == 0 {
        parts[0] = total;
        return parts;
    }
    let negative = total < 0;
    let t = u128::from(total.unsigned_abs());
    let mut rems: Vec<(u128, usize)> = Vec::with_capacity(n);
    let mut given: u128 = 0;
    for (i, w) in weights.iter().enumerate() {
        let exact = t * u128::from(*w);
        let mut floor = exact / sum;
        if let Some(c) = caps {
            floor = floor.min(u128::try_from(c[i].max(0)).unwrap_or(0));
        }
        parts[i] = i64::try_from(floor).unwrap_or(i64::MAX);
        given += floor;
        rems.push((exact % sum, i));
    }
    // Largest remainder first; ties to the earlier part.
    rems.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut left = t - given;
    while left > 0 {
        let before = left;
        for (_, i) in &rems {
            if left == 0 {
                break;
            }
            if caps.is_some_and(|c| parts[*i] >= c[*i]) {
                continue;
            }
            parts[*i] += 1;
            left -= 1;
        }
        if left == before {
            // Caps too small for the total: the rest goes to the first part
            // so the sum still holds.
            parts[0] += i64::try_from(left).unwrap_or(i64::MAX);
            break;
        }
    }
    if negative {
        for p in &mut parts {
            *p = -*p;
        }
    }
    parts
}

/// One ad set's day as the market delivered it, to be split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayTotals {
    pub spend_micros: i64,
    pub impressions: u64,
    pub clicks: u64,
    /// Whole conversions (the sandbox's are customers).
    pub conversions: u64,
    pub conversion_value_micros: i64,
}

/// One value's share of a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayPart {
    pub value: String,
    pub totals: DayTotals,
}

/// The base shares of a dimension for an ad set: its targeted countries
/// (equal shares; codes upper-cased, repeats dropped) or the default mix;
/// the platform's device mix.
pub fn base_mix(
    dimension: BreakdownDimension,
    platform: Platform,
    countries: &[String],
) -> Vec<(String, u64)> {
    match dimension {
        BreakdownDimension::Country => {
            let mut codes: Vec<String> = countries
                .iter()
                .map(|c| c.trim().to_ascii_uppercase())
                .filter(|c| is_country_code(c))
                .collect();
            codes.sort();
            codes.dedup();
            if codes.is_empty() {
                DEFAULT_COUNTRY_MIX
                    .iter()
                    .map(|(c, w)| ((*c).to_owned(), *w))
                    .collect()
            } else {
                codes.into_iter().map(|c| (c, 1_000_000)).collect()
            }
        }
        BreakdownDimension::Device => device_mix(platform)
            .into_iter()
            .filter(|(_, w)| *w > 0)
            .map(|(d, w)| (d.as_str().to_owned(), w))
            .collect(),
    }
}

/// Splits one ad set's day across the values of a dimension: the base mix
/// with the day's noise (deterministic per market seed, ad set seed, day and
/// dimension), every metric by the largest remainder so the parts sum to
/// `day` exactly. Values that receive nothing at all are left out.
pub fn split_day(
    market_seed: u64,
    ad_set_seed: u64,
    day: Date,
    dimension: BreakdownDimension,
    base: &[(String, u64)],
    totals: DayTotals,
) -> Vec<DayPart> {
    if base.is_empty() {
        return Vec::new();
    }
    let dim_salt: u64 = match dimension {
        BreakdownDimension::Country => 0xC0_0A7E,
        BreakdownDimension::Device => 0xDE_71CE,
    };
    let seed = mix(market_seed ^ mix(ad_set_seed) ^ mix(day.to_julian_day() as u64) ^ dim_salt);
    let mut rng = StdRng::seed_from_u64(seed);
    let sigma = 0.15_f64;
    let weights: Vec<u64> = base
        .iter()
        .map(|(_, w)| {
            let z: f64 = StandardNormal.sample(&mut rng);
            let f = (sigma * z - sigma * sigma / 2.0).exp();
            (*w as f64 * f).round().max(0.0) as u64
        })
        .collect();
    let to_i = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let impressions = largest_remainder(to_i(totals.impressions), &weights, None);
    let clicks = largest_remainder(to_i(totals.clicks), &weights, Some(impressions.as_slice()));
    let conversions =
        largest_remainder(to_i(totals.conversions), &weights, Some(clicks.as_slice()));
    let spend = largest_remainder(totals.spend_micros, &weights, None);
    // The value follows the conversions that carry it.
    let value_weights: Vec<u64> = if totals.conversions > 0 {
        conversions.iter().map(|c| (*c).max(0) as u64).collect()
    } else {
        weights.clone()
    };
    let value = largest_remainder(totals.conversion_value_micros, &value_weights, None);
    base.iter()
        .enumerate()
        .filter(|(i, _)| {
            spend[*i] != 0 || impressions[*i] != 0 || clicks[*i] != 0 || value[*i] != 0
        })
        .map(|(i, (v, _))| DayPart {
            value: v.clone(),
            totals: DayTotals {
                spend_micros: spend[i],
                impressions: impressions[i].max(0) as u64,
                clicks: clicks[i].max(0) as u64,
                conversions: conversions[i].max(0) as u64,
                conversion_value_micros: value[i],
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn the_largest_remainder_is_exact_and_pinned() {
        // 10 by 1:1:1 → 3.33 each; the one unit left goes to the first.
        assert_eq!(largest_remainder(10, &[1, 1, 1], None), vec![4, 3, 3]);
        // 100 by 5:3:2 → 50, 30, 20 exactly.
        assert_eq!(largest_remainder(100, &[5, 3, 2], None), vec![50, 30, 20]);
        // 7 by 60:25:15 → 4.2, 1.75, 1.05: floors 4, 1, 1, the unit to 1.75.
        assert_eq!(largest_remainder(7, &[60, 25, 15], None), vec![4, 2, 1]);
        // Caps: 5 clicks over impressions [1, 0, 9] by equal weights: the
        // floors 1, 1, 1 are capped to 1, 0, 1; the 3 left skip the capped.
        assert_eq!(
            largest_remainder(5, &[1, 1, 1], Some(&[1, 0, 9][..])),
            vec![1, 0, 4]
        );
        assert_eq!(largest_remainder(-10, &[1, 1, 1], None), vec![-4, -3, -3]);
        assert_eq!(largest_remainder(9, &[0, 0], None), vec![9, 0]);
        assert!(largest_remainder(9, &[], None).is_empty());
        let big = largest_remainder(123_456_789_012, &[333_333, 333_333, 333_334], None);
        assert_eq!(big.iter().sum::<i64>(), 123_456_789_012);
    }

    fn day() -> DayTotals {
        DayTotals {
            spend_micros: 123_456_789,
            impressions: 45_678,
            clicks: 913,
            conversions: 17,
            conversion_value_micros: 1_234_567_891,
        }
    }

    fn sum(parts: &[DayPart]) -> DayTotals {
        parts.iter().fold(
            DayTotals {
                spend_micros: 0,
                impressions: 0,
                clicks: 0,
                conversions: 0,
                conversion_value_micros: 0,
            },
            |mut a, p| {
                a.spend_micros += p.totals.spend_micros;
                a.impressions += p.totals.impressions;
                a.clicks += p.totals.clicks;
                a.conversions += p.totals.conversions;
                a.conversion_value_micros += p.totals.conversion_value_micros;
                a
            },
        )
    }

    #[test]
    fn splits_sum_exactly_and_are_deterministic_per_seed() {
        let d = date!(2027 - 03 - 10);
        for dim in BreakdownDimension::ALL {
            let base = base_mix(dim, Platform::Meta, &["us".into(), "DE".into()]);
            let a = split_day(42, 7, d, dim, &base, day());
            assert_eq!(sum(&a), day(), "{dim:?}");
            assert_eq!(a, split_day(42, 7, d, dim, &base, day()));
            assert_ne!(a, split_day(43, 7, d, dim, &base, day()));
            assert_ne!(
                a,
                split_day(42, 7, date!(2027 - 03 - 11), dim, &base, day())
            );
            for p in &a {
                assert!(p.totals.clicks <= p.totals.impressions);
                assert!(p.totals.conversions <= p.totals.clicks);
                if p.totals.conversions == 0 {
                    assert_eq!(p.totals.conversion_value_micros, 0);
                }
            }
        }
    }

    #[test]
    fn countries_come_from_the_targeting_else_the_default_mix() {
        let targeted = base_mix(
            BreakdownDimension::Country,
            Platform::Google,
            &["de".into(), "FR".into(), "DE".into(), "bad".into()],
        );
        assert_eq!(
            targeted,
            vec![("DE".to_owned(), 1_000_000), ("FR".to_owned(), 1_000_000)]
        );
        let default = base_mix(BreakdownDimension::Country, Platform::Google, &[]);
        assert_eq!(default.len(), 5);
        assert_eq!(default.iter().map(|(_, w)| w).sum::<u64>(), 1_000_000);
        let parts = split_day(
            1,
            2,
            date!(2027 - 01 - 05),
            BreakdownDimension::Country,
            &targeted,
            day(),
        );
        let values: Vec<&str> = parts.iter().map(|p| p.value.as_str()).collect();
        assert_eq!(values, vec!["DE", "FR"]);
    }

    #[test]
    fn every_device_mix_is_a_whole() {
        for p in Platform::ALL {
            let total: u64 = device_mix(p).iter().map(|(_, w)| w).sum();
            assert_eq!(total, 1_000_000, "{p:?}");
        }
        let meta = base_mix(BreakdownDimension::Device, Platform::Meta, &[]);
        // Meta's mix has no connected TV share.
        assert!(meta.iter().all(|(v, _)| v != "connected_tv"));
    }

    #[test]
    fn the_noise_moves_shares_around_the_base() {
        // Over many days the mean share of US in the default mix stays near
        // its base of 60 % (the noise has mean 1).
        let base = base_mix(BreakdownDimension::Country, Platform::Meta, &[]);
        let mut us = 0i64;
        let mut all = 0i64;
        let mut d = date!(2027 - 01 - 01);
        for _ in 0..365 {
            let parts = split_day(9, 11, d, BreakdownDimension::Country, &base, day());
            us += parts
                .iter()
                .find(|p| p.value == "US")
                .map_or(0, |p| p.totals.impressions as i64);
            all += day().impressions as i64;
            d = d.next_day().unwrap();
        }
        let share = us as f64 / all as f64;
        assert!((share - 0.6).abs() < 0.03, "{share}");
    }
}
