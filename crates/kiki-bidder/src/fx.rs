//! Currency conversion for floors, bid prices and notice prices. Rates are
//! configuration (floats are natural there) but are turned into fixed-point
//! integers once, so every conversion is exact integer arithmetic with an
//! explicit rounding direction: floors round up, so that a converted floor is
//! never undercut.

use std::collections::{BTreeMap, HashMap};

use kiki_core::Currency;
use serde::{Deserialize, Serialize};

use crate::error::BidderError;

/// Fixed-point scale of the stored rates.
const RATE_SCALE: i128 = 1_000_000_000;

/// How a conversion rounds to whole micros.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rounding {
    Down,
    Up,
    Nearest,
}

/// The configured shape: the value of one unit of each currency in `base`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FxRates {
    pub base: Currency,
    /// Units of `base` per unit of the keyed currency, e.g. `EUR = 1.08` with base USD.
    #[serde(default)]
    pub rates: BTreeMap<Currency, f64>,
}

/// Exchange rates relative to one base currency, held as integers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "FxRates", into = "FxRates")]
pub struct FxTable {
    config: FxRates,
    nanos: HashMap<Currency, i128>,
}

impl Default for FxTable {
    fn default() -> Self {
        FxTable::new(FxRates {
            base: Currency::USD,
            rates: BTreeMap::new(),
        })
        .unwrap_or_else(|_| FxTable {
            config: FxRates {
                base: Currency::USD,
                rates: BTreeMap::new(),
            },
            nanos: HashMap::from([(Currency::USD, RATE_SCALE)]),
        })
    }
}

impl utoipa::PartialSchema for FxTable {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <FxRates as utoipa::PartialSchema>::schema()
    }
}
impl utoipa::ToSchema for FxTable {}

impl TryFrom<FxRates> for FxTable {
    type Error = BidderError;
    fn try_from(r: FxRates) -> Result<Self, Self::Error> {
        FxTable::new(r)
    }
}

impl From<FxTable> for FxRates {
    fn from(t: FxTable) -> Self {
        t.config
    }
}

impl FxTable {
    /// Builds the table; every rate must be a positive finite number.
    pub fn new(config: FxRates) -> Result<Self, BidderError> {
        let mut nanos = HashMap::with_capacity(config.rates.len() + 1);
        nanos.insert(config.base, RATE_SCALE);
        for (cur, rate) in &config.rates {
            if !(rate.is_finite() && *rate > 0.0 && *rate < 1e9) {
                return Err(BidderError::InvalidConfig(format!(
                    "fx rate for {cur} must be a positive number below 1e9, not {rate}"
                )));
            }
            let n = (rate * RATE_SCALE as f64).round() as i128;
            if n < 1 {
                return Err(BidderError::InvalidConfig(format!(
                    "fx rate for {cur} is too small to represent"
                )));
            }
            if *cur != config.base {
                nanos.insert(*cur, n);
            }
        }
        Ok(FxTable { config, nanos })
    }

    /// A table that knows only `base`.
    pub fn only(base: Currency) -> Self {
        FxTable {
            config: FxRates {
                base,
                rates: BTreeMap::new(),
            },
            nanos: HashMap::from([(base, RATE_SCALE)]),
        }
    }

    pub fn base(&self) -> Currency {
        self.config.base
    }

    /// True when amounts in `c` can be converted.
    pub fn knows(&self, c: Currency) -> bool {
        self.nanos.contains_key(&c)
    }

    /// Converts `micros` of `from` into micros of `to`.
    pub fn convert(
        &self,
        micros: i64,
        from: Currency,
        to: Currency,
        rounding: Rounding,
    ) -> Result<i64, BidderError> {
        if from == to {
            return Ok(micros);
        }
        let missing = || BidderError::MissingFxRate { from, to };
        let rf = *self.nanos.get(&from).ok_or_else(missing)?;
        let rt = *self.nanos.get(&to).ok_or_else(missing)?;
        let num = i128::from(micros) * rf;
        let q = num.div_euclid(rt);
        let r = num.rem_euclid(rt);
        let out = match rounding {
            Rounding::Down => q,
            Rounding::Up => q + i128::from(r > 0),
            Rounding::Nearest => q + i128::from(2 * r >= rt),
        };
        Ok(out.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
    }
}

/// Turns a CPM given as a JSON number (e.g. `bidfloor`) into micros, rounding up
/// but forgiving the last-bit error of decimals such as 0.1 (which is
/// 0.1000000000000000055… as a double and must stay 100 000 micros).
pub fn cpm_to_micros_ceil(cpm: f64) -> Result<i64, BidderError> {
    if !cpm.is_finite() || cpm < 0.0 {
        return Err(BidderError::NotFinite("floor price"));
    }
    let scaled = cpm * 1_000_000.0;
    if scaled >= i64::MAX as f64 {
        return Ok(i64::MAX);
    }
    let nearest = scaled.round();
    let micros = if (scaled - nearest).abs() <= 1e-9 * nearest.max(1.0) {
        nearest
    } else {
        scaled.ceil()
    };
    Ok(micros as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> FxTable {
        FxTable::new(FxRates {
            base: Currency::USD,
            rates: BTreeMap::from([
                (Currency::EUR, 1.08),
                (Currency::parse("JPY").unwrap(), 0.0067),
            ]),
        })
        .unwrap()
    }

    #[test]
    fn conversions_go_through_the_base_with_the_asked_rounding() {
        let t = table();
        let jpy = Currency::parse("JPY").unwrap();
        let check =
            |m: i64, from, to, r, want: i64| assert_eq!(t.convert(m, from, to, r).unwrap(), want);
        check(
            1_000_000,
            Currency::EUR,
            Currency::USD,
            Rounding::Nearest,
            1_080_000,
        );
        check(
            1_080_000,
            Currency::USD,
            Currency::EUR,
            Rounding::Nearest,
            1_000_000,
        );
        check(
            1_000_000,
            Currency::USD,
            Currency::EUR,
            Rounding::Down,
            925_925,
        );
        check(
            1_000_000,
            Currency::USD,
            Currency::EUR,
            Rounding::Up,
            925_926,
        );
        check(100_000_000, jpy, Currency::EUR, Rounding::Nearest, 620_370);
        check(5, Currency::USD, Currency::USD, Rounding::Up, 5);
    }

    #[test]
    fn an_unknown_currency_is_a_typed_error() {
        let gbp = Currency::GBP;
        assert_eq!(
            table().convert(1, gbp, Currency::USD, Rounding::Up),
            Err(BidderError::MissingFxRate {
                from: gbp,
                to: Currency::USD
            })
        );
    }

    #[test]
    fn bad_rates_are_refused() {
        for rate in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            let r = FxRates {
                base: Currency::USD,
                rates: BTreeMap::from([(Currency::EUR, rate)]),
            };
            assert!(FxTable::new(r).is_err(), "{rate}");
        }
    }

    #[test]
    fn floors_round_up_but_decimal_representation_error_is_forgiven() {
        let cases = [
            (0.1, 100_000),
            (1.23, 1_230_000),
            (0.0000015, 2),
            (2.0, 2_000_000),
            (0.0, 0),
        ];
        for (cpm, want) in cases {
            assert_eq!(cpm_to_micros_ceil(cpm).unwrap(), want, "{cpm}");
        }
        assert_eq!(cpm_to_micros_ceil(1e300).unwrap(), i64::MAX);
        assert!(cpm_to_micros_ceil(-1.0).is_err());
    }

    #[test]
    fn the_table_round_trips_through_its_config_shape() {
        let json = serde_json::to_string(&table()).unwrap();
        let back: FxTable = serde_json::from_str(&json).unwrap();
        assert_eq!(back, table());
        let bad: Result<FxTable, _> = serde_json::from_str(r#"{"base":"USD","rates":{"EUR":-2}}"#);
        assert!(bad.is_err());
    }
}
