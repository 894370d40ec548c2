//! Converting money between currencies through a dated exchange-rate table,
//! exactly: a rate is an integer of billionths (`1.0812` is 1 081 200 000),
//! an amount in micros is multiplied by the rate's exact fraction in `i128`
//! and rounded half to even to a micro, once per converted amount.
//!
//! The rate of a day is the latest one on or before it, at most
//! `max_age_days` old. A conversion uses the direct pair (from → to), else
//! its inverse (to → from, divided by), else a cross through EUR when both
//! legs have a usable rate on that day (each leg direct or inverse), in that
//! order of preference. [`Converter`] applies the rule and keeps what it
//! used per source currency ([`SourceUse`]), so an answer can say which
//! rates stand behind it ([`sentence`]).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use time::{Date, Duration};

/// Billionths in one unit of a rate.
pub const RATE_SCALE: i64 = 1_000_000_000;

/// The currency crosses go through (the ECB's reference rates are EUR → X).
pub const CROSS: &str = "EUR";

/// Units of the quote currency per unit of the base, in billionths (> 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Rate(i64);

/// Why a rate's text is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateError {
    /// Not a plain decimal (`0.9234`).
    Shape,
    /// More than nine decimal places.
    TooPrecise,
    /// Zero (or rounds to it).
    NotPositive,
    /// Above 999 999 999.999999999.
    TooLarge,
}

impl RateError {
    /// A sentence for people.
    pub fn sentence(self) -> &'static str {
        match self {
            RateError::Shape => {
                "Must be a decimal number written with digits and a dot, such as 0.9234."
            }
            RateError::TooPrecise => "Must have at most 9 decimal places.",
            RateError::NotPositive => "Must be greater than 0.",
            RateError::TooLarge => "Must be less than 1000000000.",
        }
    }
}

impl Rate {
    /// A rate of `nanos` billionths, if positive.
    pub fn from_nanos(nanos: i64) -> Option<Rate> {
        (nanos > 0).then_some(Rate(nanos))
    }

    pub fn nanos(self) -> i64 {
        self.0
    }

    /// Reads `"0.9234"`: digits, an optional dot and up to 9 decimals,
    /// greater than 0, below 10⁹.
    pub fn parse(text: &str) -> Result<Rate, RateError> {
        let (whole, frac) = match text.split_once('.') {
            Some((w, f)) => (w, f),
            None => (text, ""),
        };
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty()
            || !digits(whole)
            || !digits(frac)
            || (text.contains('.') && frac.is_empty())
        {
            return Err(RateError::Shape);
        }
        if frac.len() > 9 {
            return Err(RateError::TooPrecise);
        }
        let whole = whole.trim_start_matches('0');
        if whole.len() > 9 {
            return Err(RateError::TooLarge);
        }
        let w: i64 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| RateError::Shape)?
        };
        let mut f: i64 = if frac.is_empty() {
            0
        } else {
            frac.parse().map_err(|_| RateError::Shape)?
        };
        for _ in frac.len()..9 {
            f *= 10;
        }
        Rate::from_nanos(w * RATE_SCALE + f).ok_or(RateError::NotPositive)
    }

    /// The rate as a decimal without trailing zeros (`1.0812`, `2`).
    pub fn text(self) -> String {
        nanos_text(i128::from(self.0))
    }
}

/// Billionths as a decimal without trailing zeros.
fn nanos_text(n: i128) -> String {
    let scale = i128::from(RATE_SCALE);
    let (w, f) = (n / scale, (n % scale).abs());
    if f == 0 {
        return w.to_string();
    }
    let frac = format!("{f:09}");
    format!("{w}.{}", frac.trim_end_matches('0'))
}

/// Where a rate comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RateSource {
    /// Entered by the organisation.
    Manual,
    /// The European Central Bank's euro foreign exchange reference rates.
    Ecb,
}

impl RateSource {
    pub fn as_str(self) -> &'static str {
        match self {
            RateSource::Manual => "manual",
            RateSource::Ecb => "ecb",
        }
    }

    pub fn parse(s: &str) -> Option<RateSource> {
        match s {
            "manual" => Some(RateSource::Manual),
            "ecb" => Some(RateSource::Ecb),
            _ => None,
        }
    }
}

/// `num / den` rounded half to even (`den` > 0).
pub fn round_half_even(num: i128, den: i128) -> i128 {
    let q = num.div_euclid(den);
    let r = num.rem_euclid(den);
    match (2 * r).cmp(&den) {
        std::cmp::Ordering::Less => q,
        std::cmp::Ordering::Greater => q + 1,
        std::cmp::Ordering::Equal => {
            if q % 2 == 0 {
                q
            } else {
                q + 1
            }
        }
    }
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.abs()
}

/// An exact conversion factor, `num / den` (both > 0, reduced).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Factor {
    num: i128,
    den: i128,
}

impl Factor {
    fn new(num: i128, den: i128) -> Factor {
        let g = gcd(num, den).max(1);
        Factor {
            num: num / g,
            den: den / g,
        }
    }

    /// Multiply by the rate.
    pub fn direct(r: Rate) -> Factor {
        Factor::new(i128::from(r.0), i128::from(RATE_SCALE))
    }

    /// Divide by the rate.
    pub fn inverse(r: Rate) -> Factor {
        Factor::new(i128::from(RATE_SCALE), i128::from(r.0))
    }

    /// This factor then `next`; `None` if it cannot be held exactly.
    pub fn then(self, next: Factor) -> Option<Factor> {
        // Cross-reduce first so the products stay small.
        let a = Factor::new(self.num, next.den);
        let b = Factor::new(next.num, self.den);
        Some(Factor::new(
            a.num.checked_mul(b.num)?,
            a.den.checked_mul(b.den)?,
        ))
    }

    /// `micros` × the factor, rounded half to even; `None` past `i64`.
    pub fn apply(self, micros: i64) -> Option<i64> {
        let n = i128::from(micros).checked_mul(self.num)?;
        i64::try_from(round_half_even(n, self.den)).ok()
    }

    /// The factor in billionths, rounded half to even (what is shown).
    pub fn nanos(self) -> i128 {
        self.num
            .checked_mul(i128::from(RATE_SCALE))
            .map_or(i128::MAX, |n| round_half_even(n, self.den))
    }
}

/// How an amount was converted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Leg {
    /// The stored pair's base and quote.
    pub base: String,
    pub quote: String,
    /// The stored rate's day (on or before the converted day).
    pub day: Date,
    pub rate: Rate,
    pub source: RateSource,
    /// True when the stored pair was divided by (its inverse used).
    pub inverted: bool,
}

/// The pair or cross a conversion used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub factor: Factor,
    /// One leg (direct or inverse), or two (a cross through EUR).
    pub legs: Vec<Leg>,
}

impl Route {
    /// `USD→EUR`, `USD→EUR (inverse of EUR→USD)`, `USD→EUR→GBP`.
    pub fn describe(&self, from: &str, to: &str) -> String {
        match self.legs.as_slice() {
            [l] if l.inverted => format!("{from}→{to} (inverse of {}→{})", l.base, l.quote),
            [_] => format!("{from}→{to}"),
            _ => format!("{from}→{CROSS}→{to}"),
        }
    }
}

/// The rates a conversion may use, by pair and day.
#[derive(Debug, Clone, Default)]
pub struct RateBook {
    pairs: BTreeMap<(String, String), BTreeMap<Date, (Rate, RateSource)>>,
}

impl RateBook {
    pub fn new() -> RateBook {
        RateBook::default()
    }

    /// Adds a rate (a later insert for the same pair and day replaces).
    pub fn insert(&mut self, base: &str, quote: &str, day: Date, rate: Rate, source: RateSource) {
        self.pairs
            .entry((base.to_owned(), quote.to_owned()))
            .or_default()
            .insert(day, (rate, source));
    }

    /// True when the book has any rate of the pair.
    pub fn has_pair(&self, base: &str, quote: &str) -> bool {
        self.pairs
            .contains_key(&(base.to_owned(), quote.to_owned()))
    }

    /// The latest rate of the pair on or before `day`, at most `max_age`
    /// days older.
    fn latest(
        &self,
        base: &str,
        quote: &str,
        day: Date,
        max_age: u32,
    ) -> Option<(Date, Rate, RateSource)> {
        let days = self.pairs.get(&(base.to_owned(), quote.to_owned()))?;
        let (d, (r, s)) = days.range(..=day).next_back()?;
        (day - *d <= Duration::days(i64::from(max_age))).then_some((*d, *r, *s))
    }

    /// One leg from → to on `day`: the direct pair, else its inverse.
    fn leg(&self, from: &str, to: &str, day: Date, max_age: u32) -> Option<(Factor, Leg)> {
        if let Some((d, rate, source)) = self.latest(from, to, day, max_age) {
            let leg = Leg {
                base: from.to_owned(),
                quote: to.to_owned(),
                day: d,
                rate,
                source,
                inverted: false,
            };
            return Some((Factor::direct(rate), leg));
        }
        let (d, rate, source) = self.latest(to, from, day, max_age)?;
        let leg = Leg {
            base: to.to_owned(),
            quote: from.to_owned(),
            day: d,
            rate,
            source,
            inverted: true,
        };
        Some((Factor::inverse(rate), leg))
    }

    /// How to convert `from` into `to` on `day`: direct, inverse, or a
    /// cross through EUR; `None` without usable rates (or a cross too
    /// precise to hold exactly).
    pub fn route(&self, from: &str, to: &str, day: Date, max_age: u32) -> Option<Route> {
        if let Some((factor, leg)) = self.leg(from, to, day, max_age) {
            return Some(Route {
                factor,
                legs: vec![leg],
            });
        }
        if from == CROSS || to == CROSS {
            return None;
        }
        let (f1, l1) = self.leg(from, CROSS, day, max_age)?;
        let (f2, l2) = self.leg(CROSS, to, day, max_age)?;
        Some(Route {
            factor: f1.then(f2)?,
            legs: vec![l1, l2],
        })
    }
}

/// What the conversions of one source currency used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceUse {
    /// The days whose amounts were converted.
    pub days: BTreeSet<Date>,
    /// The oldest and newest stored rate day used (of any leg).
    pub first_rate_day: Date,
    pub last_rate_day: Date,
    /// The lowest and highest factor used, in billionths of the target per
    /// unit of the source.
    pub min_rate_nanos: i128,
    pub max_rate_nanos: i128,
    /// The pairs or crosses used (`USD→EUR`, …).
    pub routes: BTreeSet<String>,
    pub sources: BTreeSet<RateSource>,
}

/// Why an amount could not be converted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConvertError {
    /// No usable rate on that day.
    NoRate { currency: String, day: Date },
    /// The converted amount does not fit (or a cross is not exact in i128).
    Overflow { currency: String, day: Date },
}

/// Converts amounts of a day into one target currency and records what it
/// used. Amounts already in the target are kept as they are.
#[derive(Debug, Clone)]
pub struct Converter {
    target: String,
    max_age: u32,
    book: RateBook,
    used: BTreeMap<String, SourceUse>,
    routes: BTreeMap<(String, Date), Option<Route>>,
}

impl Converter {
    pub fn new(target: &str, book: RateBook, max_age_days: u32) -> Converter {
        Converter {
            target: target.to_owned(),
            max_age: max_age_days,
            book,
            used: BTreeMap::new(),
            routes: BTreeMap::new(),
        }
    }

    pub fn target(&self) -> &str {
        &self.target
    }

    /// Days a rate may be older than the day it converts.
    pub fn max_age_days(&self) -> u32 {
        self.max_age
    }

    /// Converts each amount of `from` on `day` (half to even, each amount
    /// rounded once).
    pub fn convert<const N: usize>(
        &mut self,
        from: &str,
        day: Date,
        amounts: [i64; N],
    ) -> Result<[i64; N], ConvertError> {
        if from == self.target {
            return Ok(amounts);
        }
        let key = (from.to_owned(), day);
        let route = match self.routes.get(&key) {
            Some(r) => r.clone(),
            None => {
                let r = self.book.route(from, &self.target, day, self.max_age);
                self.routes.insert(key, r.clone());
                r
            }
        };
        let Some(route) = route else {
            return Err(ConvertError::NoRate {
                currency: from.to_owned(),
                day,
            });
        };
        let mut out = amounts;
        for a in out.iter_mut() {
            *a = route
                .factor
                .apply(*a)
                .ok_or_else(|| ConvertError::Overflow {
                    currency: from.to_owned(),
                    day,
                })?;
        }
        let nanos = route.factor.nanos();
        let first = route.legs.iter().map(|l| l.day).min().unwrap_or(day);
        let last = route.legs.iter().map(|l| l.day).max().unwrap_or(day);
        let described = route.describe(from, &self.target);
        let u = self
            .used
            .entry(from.to_owned())
            .or_insert_with(|| SourceUse {
                days: BTreeSet::new(),
                first_rate_day: first,
                last_rate_day: last,
                min_rate_nanos: nanos,
                max_rate_nanos: nanos,
                routes: BTreeSet::new(),
                sources: BTreeSet::new(),
            });
        u.days.insert(day);
        u.first_rate_day = u.first_rate_day.min(first);
        u.last_rate_day = u.last_rate_day.max(last);
        u.min_rate_nanos = u.min_rate_nanos.min(nanos);
        u.max_rate_nanos = u.max_rate_nanos.max(nanos);
        u.routes.insert(described);
        u.sources.extend(route.legs.iter().map(|l| l.source));
        Ok(out)
    }

    /// What was used, per source currency.
    pub fn used(&self) -> &BTreeMap<String, SourceUse> {
        &self.used
    }
}

/// A rate in billionths as a decimal (`1.082954299`).
pub fn rate_text(nanos: i128) -> String {
    nanos_text(nanos)
}

/// The sentence an answer carries: `Converted to EUR from USD (90 days,
/// ECB reference rates 2026-09-01 – 2026-11-30) and GBP (…).`
pub fn sentence(target: &str, used: &BTreeMap<String, SourceUse>) -> String {
    if used.is_empty() {
        return format!("Every amount was already in {target}; nothing was converted.");
    }
    let parts: Vec<String> = used
        .iter()
        .map(|(c, u)| {
            let n = u.days.len();
            let sources = match (
                u.sources.contains(&RateSource::Manual),
                u.sources.contains(&RateSource::Ecb),
            ) {
                (true, true) => "manual and ECB reference rates",
                (false, true) => "ECB reference rates",
                _ => "manual rates",
            };
            let days = if u.first_rate_day == u.last_rate_day {
                u.first_rate_day.to_string()
            } else {
                format!("{} – {}", u.first_rate_day, u.last_rate_day)
            };
            let routes: Vec<&str> = u.routes.iter().map(String::as_str).collect();
            format!(
                "{c} ({n} day{}, {sources} {days}, {})",
                if n == 1 { "" } else { "s" },
                routes.join(", ")
            )
        })
        .collect();
    let list = match parts.as_slice() {
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
        [] => String::new(),
    };
    format!("Converted to {target} from {list}, each day at that day's rate.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn rate(s: &str) -> Rate {
        Rate::parse(s).unwrap()
    }

    #[test]
    fn rates_are_read_exactly_or_refused_with_a_reason() {
        let check = |text: &str, want: Result<i64, RateError>| {
            assert_eq!(Rate::parse(text).map(Rate::nanos), want, "{text}");
        };
        check("0.9234", Ok(923_400_000));
        check("1", Ok(1_000_000_000));
        check("1.081200000", Ok(1_081_200_000));
        check("0.000000001", Ok(1));
        check("157.12", Ok(157_120_000_000));
        check("999999999.999999999", Ok(999_999_999_999_999_999));
        check("0", Err(RateError::NotPositive));
        check("0.0000000001", Err(RateError::TooPrecise));
        check("1000000000", Err(RateError::TooLarge));
        check("-1", Err(RateError::Shape));
        check("1e3", Err(RateError::Shape));
        check(" 1", Err(RateError::Shape));
        check("1.", Err(RateError::Shape));
        check(".5", Err(RateError::Shape));
        check("", Err(RateError::Shape));
        assert_eq!(rate("1.0812").text(), "1.0812");
        assert_eq!(rate("2.000").text(), "2");
    }

    #[test]
    fn amounts_round_half_to_even_to_a_micro() {
        let check = |num: i128, den: i128, want: i128| {
            assert_eq!(round_half_even(num, den), want, "{num}/{den}")
        };
        check(5, 2, 2);
        check(7, 2, 4);
        check(-5, 2, -2);
        check(-7, 2, -4);
        check(11, 4, 3);
        check(9, 4, 2);
        check(10, 5, 2);
        // $0.000005 × 0.5 = 0.0000025 → 0.000002 (half to even); × 1.5 = 0.0000075 → 0.000008.
        assert_eq!(Factor::direct(rate("0.5")).apply(5), Some(2));
        assert_eq!(Factor::direct(rate("1.5")).apply(5), Some(8));
        // $100 at 0.9234 = €92.34 exactly.
        assert_eq!(
            Factor::direct(rate("0.9234")).apply(100_000_000),
            Some(92_340_000)
        );
        // €100 ÷ 1.0812 = $92.489826...
        assert_eq!(
            Factor::inverse(rate("1.0812")).apply(100_000_000),
            Some(92_489_826)
        );
        // Past i64 is refused, not wrapped.
        assert_eq!(Factor::direct(rate("1000")).apply(i64::MAX / 10), None);
    }

    #[test]
    fn the_direct_pair_wins_then_the_inverse_then_a_cross_through_eur() {
        let d = date!(2026 - 03 - 10);
        let mut book = RateBook::new();
        book.insert("EUR", "USD", d, rate("1.25"), RateSource::Ecb);
        book.insert("EUR", "GBP", d, rate("0.8"), RateSource::Ecb);
        // Inverse: USD → EUR divides by EUR → USD.
        let r = book.route("USD", "EUR", d, 7).unwrap();
        assert_eq!(r.describe("USD", "EUR"), "USD→EUR (inverse of EUR→USD)");
        assert_eq!(r.factor.apply(125_000_000), Some(100_000_000));
        // Cross: USD → EUR → GBP = ÷ 1.25 × 0.8 = × 0.64.
        let r = book.route("USD", "GBP", d, 7).unwrap();
        assert_eq!(r.describe("USD", "GBP"), "USD→EUR→GBP");
        assert_eq!(r.factor.apply(100_000_000), Some(64_000_000));
        assert_eq!(r.factor.nanos(), 640_000_000);
        // A direct pair is preferred over the cross.
        book.insert("USD", "GBP", d, rate("0.7"), RateSource::Manual);
        let r = book.route("USD", "GBP", d, 7).unwrap();
        assert_eq!(r.describe("USD", "GBP"), "USD→GBP");
        assert_eq!(r.factor.apply(100_000_000), Some(70_000_000));
        // No route to an unknown currency.
        assert!(book.route("JPY", "GBP", d, 7).is_none());
    }

    #[test]
    fn a_day_uses_the_latest_rate_on_or_before_it_within_the_maximum_age() {
        let mut book = RateBook::new();
        book.insert(
            "USD",
            "EUR",
            date!(2026 - 03 - 01),
            rate("0.9"),
            RateSource::Manual,
        );
        book.insert(
            "USD",
            "EUR",
            date!(2026 - 03 - 05),
            rate("0.8"),
            RateSource::Manual,
        );
        let factor = |d: Date| {
            book.route("USD", "EUR", d, 2)
                .map(|r| r.factor.apply(1_000_000).unwrap())
        };
        assert_eq!(
            factor(date!(2026 - 02 - 28)),
            None,
            "no rate before the first"
        );
        assert_eq!(factor(date!(2026 - 03 - 01)), Some(900_000));
        assert_eq!(factor(date!(2026 - 03 - 03)), Some(900_000), "two days old");
        assert_eq!(
            factor(date!(2026 - 03 - 04)),
            None,
            "three days old is too old"
        );
        assert_eq!(factor(date!(2026 - 03 - 05)), Some(800_000));
    }

    #[test]
    fn the_converter_records_what_it_used_and_says_so() {
        let mut book = RateBook::new();
        book.insert(
            "EUR",
            "USD",
            date!(2026 - 03 - 01),
            rate("1.25"),
            RateSource::Ecb,
        );
        book.insert(
            "EUR",
            "USD",
            date!(2026 - 03 - 02),
            rate("1.6"),
            RateSource::Ecb,
        );
        let mut c = Converter::new("EUR", book, 7);
        assert_eq!(c.convert("EUR", date!(2026 - 03 - 01), [5, 7]), Ok([5, 7]));
        assert_eq!(
            c.convert("USD", date!(2026 - 03 - 01), [10_000_000, 5_000_000]),
            Ok([8_000_000, 4_000_000])
        );
        assert_eq!(
            c.convert("USD", date!(2026 - 03 - 03), [16_000_000]),
            Ok([10_000_000])
        );
        assert_eq!(
            c.convert("GBP", date!(2026 - 03 - 03), [1]),
            Err(ConvertError::NoRate {
                currency: "GBP".into(),
                day: date!(2026 - 03 - 03)
            })
        );
        let u = &c.used()["USD"];
        assert_eq!(u.days.len(), 2);
        assert_eq!(
            (u.first_rate_day, u.last_rate_day),
            (date!(2026 - 03 - 01), date!(2026 - 03 - 02))
        );
        assert_eq!(
            (u.min_rate_nanos, u.max_rate_nanos),
            (625_000_000, 800_000_000)
        );
        assert_eq!(
            sentence("EUR", c.used()),
            "Converted to EUR from USD (2 days, ECB reference rates 2026-03-01 – 2026-03-02, USD→EUR (inverse of EUR→USD)), each day at that day's rate."
        );
        assert_eq!(
            sentence("EUR", &BTreeMap::new()),
            "Every amount was already in EUR; nothing was converted."
        );
    }
}
