//! Money as an integer count of micros (one millionth of the currency's major
//! unit) with an ISO 4217 currency code. Arithmetic is checked: an overflow or a
//! currency mismatch is an error, never a silent wrap. Floats appear only when a
//! statistical engine asks for `as_major_f64`, never for stored amounts.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Micros per major unit (1 USD = 1,000,000 micros), the unit OpenRTB and the
/// Google Ads API also use.
pub const MICROS_PER_UNIT: i64 = 1_000_000;

/// An ISO 4217 alphabetic currency code, three upper-case ASCII letters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    pub const USD: Currency = Currency(*b"USD");
    pub const EUR: Currency = Currency(*b"EUR");
    pub const GBP: Currency = Currency(*b"GBP");

    /// Parses a three-letter code; lower case is accepted and normalised.
    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        let b = code.trim().as_bytes();
        if b.len() != 3 || !b.iter().all(u8::is_ascii_alphabetic) {
            return Err(MoneyError::InvalidCurrency(code.to_owned()));
        }
        Ok(Currency([
            b[0].to_ascii_uppercase(),
            b[1].to_ascii_uppercase(),
            b[2].to_ascii_uppercase(),
        ]))
    }

    /// Parses exactly three ASCII letters (either case), nothing around
    /// them: the form an API body or parameter must have.
    pub fn parse_exact(code: &str) -> Result<Self, MoneyError> {
        if code.len() != 3 {
            return Err(MoneyError::InvalidCurrency(code.to_owned()));
        }
        Currency::parse(code)
    }

    pub fn as_str(&self) -> &str {
        // The constructor admits only ASCII letters, so this cannot fail.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Digits after the decimal point when the currency is shown to people.
    pub fn minor_digits(&self) -> u32 {
        match self.as_str() {
            "JPY" | "KRW" | "VND" | "CLP" | "ISK" | "HUF" => 0,
            "BHD" | "KWD" | "OMR" | "JOD" | "TND" => 3,
            _ => 2,
        }
    }
}

impl TryFrom<String> for Currency {
    type Error = MoneyError;
    /// The JSON form: exactly three ASCII letters, as the schema says
    /// (`^[A-Za-z]{3}$`); unlike [`Currency::parse`] no surrounding space.
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Currency::parse_exact(&s)
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.as_str().to_owned()
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::parse(s)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Currency({})", self.as_str())
    }
}

/// What a currency code looks like in the API (`Currency::parse_exact`).
pub const CURRENCY_PATTERN: &str = "^[A-Za-z]{3}$";

impl utoipa::PartialSchema for Currency {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::Type::String)
            .description(Some(
                "ISO 4217 currency code: three letters (lower case is read as upper case)",
            ))
            .pattern(Some(CURRENCY_PATTERN))
            .examples(["USD"])
            .into()
    }
}
impl utoipa::ToSchema for Currency {}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("`{0}` is not a three-letter ISO 4217 currency code")]
    InvalidCurrency(String),
    #[error("cannot combine {0} with {1}")]
    CurrencyMismatch(Currency, Currency),
    #[error("amount out of range")]
    Overflow,
    #[error("`{0}` is not a decimal amount")]
    InvalidAmount(String),
}

/// An amount of money: integer micros plus currency.
///
/// The API's one money shape (docs/glossary.md, "Money"): serialised as
/// `{"micros": <int64>, "currency": "USD"}`. Read from a request, the object
/// may give `"amount": "49.99"` (a decimal string, see [`AMOUNT_PATTERN`])
/// instead of `micros`; exactly one of the two must be present.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Money {
    /// Amount in micros (1/1,000,000 of the major unit).
    pub micros: i64,
    pub currency: Currency,
}

/// The API document's name for a [`Money`] whose amount must be greater
/// than zero (budgets, bid prices, targets); the same JSON as `Money`.
pub struct PositiveMoney;

/// The API document's name for a [`Money`] whose amount must not be
/// negative; the same JSON as `Money`.
pub struct NonNegativeMoney;

/// What an `amount` looks like: an optional `-`, a whole number of 1 to 12
/// digits without leading zeros, and up to six decimals (micros are the
/// smallest step). Twelve digits keep every
/// amount inside 64-bit micros; larger figures are given in `micros`.
pub const AMOUNT_PATTERN: &str = r"^-?(0|[1-9][0-9]{0,11})(\.[0-9]{1,6})?$";
/// [`AMOUNT_PATTERN`] without the sign: an amount of at least zero.
pub const NON_NEGATIVE_AMOUNT_PATTERN: &str = r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,6})?$";
/// [`NON_NEGATIVE_AMOUNT_PATTERN`] with at least one digit other than 0:
/// an amount above zero.
pub const POSITIVE_AMOUNT_PATTERN: &str = r"^([1-9][0-9]{0,11}(\.[0-9]{1,6})?|0\.([1-9][0-9]{0,5}|0[1-9][0-9]{0,4}|00[1-9][0-9]{0,3}|000[1-9][0-9]{0,2}|0000[1-9][0-9]?|00000[1-9]))$";

/// Whether `s` is a decimal amount as [`AMOUNT_PATTERN`] states it.
fn is_amount_text(s: &str) -> bool {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    (int == "0" || (1..=12).contains(&int.len()) && !int.starts_with('0'))
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| (1..=6).contains(&f.len()) && f.bytes().all(|b| b.is_ascii_digit()))
}

/// The micros of a decimal `amount` as a request gives it, or why not.
pub fn amount_to_micros(s: &str) -> Result<i64, String> {
    if !is_amount_text(s) {
        return Err(format!(
            "`{s}` is not a decimal amount: a number with up to 6 decimals and an optional leading `-`, like \"49.99\" (no leading zeros, at most 12 digits before the point; give larger amounts in `micros`)"
        ));
    }
    Money::parse_decimal(s, Currency::USD)
        .map(|m| m.micros)
        .map_err(|_| format!("`{s}` is not a decimal amount"))
}

const MONEY_FIELDS: &[&str] = &["micros", "amount", "currency"];

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_struct("Money", MONEY_FIELDS, MoneyVisitor)
    }
}

enum MoneyKey {
    Micros,
    Amount,
    Currency,
    Other,
}

impl<'de> Deserialize<'de> for MoneyKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = MoneyKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<MoneyKey, E> {
                Ok(match v {
                    "micros" => MoneyKey::Micros,
                    "amount" => MoneyKey::Amount,
                    "currency" => MoneyKey::Currency,
                    _ => MoneyKey::Other,
                })
            }
        }
        d.deserialize_identifier(V)
    }
}

/// Reads an `amount`: a decimal string, into micros.
struct AmountSeed;

impl<'de> serde::de::DeserializeSeed<'de> for AmountSeed {
    type Value = i64;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<i64, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = i64;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal amount as a string, like \"49.99\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<i64, E> {
                amount_to_micros(v).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

/// The second of `micros` and `amount`: refused where it stands, so the
/// error names it.
struct BothSeed;

impl<'de> serde::de::DeserializeSeed<'de> for BothSeed {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        serde::de::IgnoredAny::deserialize(d)?;
        Err(serde::de::Error::custom(
            "give the amount once: either `micros` (an integer) or `amount` (a decimal string), not both",
        ))
    }
}

struct MoneyVisitor;

impl<'de> serde::de::Visitor<'de> for MoneyVisitor {
    type Value = Money;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an amount of money: {\"micros\": 49990000, \"currency\": \"USD\"} or {\"amount\": \"49.99\", \"currency\": \"USD\"}")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Money, A::Error> {
        let mut micros: Option<i64> = None;
        let mut currency: Option<Currency> = None;
        while let Some(key) = map.next_key::<MoneyKey>()? {
            match key {
                MoneyKey::Micros | MoneyKey::Amount if micros.is_some() => {
                    map.next_value_seed(BothSeed)?;
                }
                MoneyKey::Micros => micros = Some(map.next_value::<i64>()?),
                MoneyKey::Amount => micros = Some(map.next_value_seed(AmountSeed)?),
                MoneyKey::Currency => {
                    if currency.is_some() {
                        return Err(serde::de::Error::duplicate_field("currency"));
                    }
                    currency = Some(map.next_value()?);
                }
                MoneyKey::Other => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        let micros = micros.ok_or_else(|| {
            serde::de::Error::custom(
                "give the amount as `micros` (an integer) or `amount` (a decimal string such as \"49.99\")",
            )
        })?;
        let currency = currency.ok_or_else(|| serde::de::Error::missing_field("currency"))?;
        Ok(Money { micros, currency })
    }
}

/// The schema of a money object; `min` is the least `micros` and `pattern`
/// the `amount` pattern of the constrained names.
fn money_schema(
    description: &str,
    min: Option<i64>,
    pattern: &str,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let mut micros = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
            utoipa::openapi::KnownFormat::Int64,
        )))
        .description(Some(
            "The amount in micros: millionths of the currency's major unit (49990000 is 49.99). Answers always give `micros`.",
        ));
    if let Some(min) = min {
        micros = micros.minimum(Some(min));
    }
    let amount = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .description(Some(
            "The amount as a decimal string (\"49.99\"), in requests instead of `micros`: up to 12 digits before the point and 6 after.",
        ))
        .examples(["49.99"]);
    let mut object = ObjectBuilder::new()
        .schema_type(Type::Object)
        .description(Some(description))
        .property("micros", micros)
        .property("amount", amount)
        .property(
            "currency",
            utoipa::openapi::Ref::from_schema_name("Currency"),
        )
        .required("currency")
        .examples([serde_json::json!({"micros": 49_990_000, "currency": "USD"})])
        .build();
    // Exactly one of `micros` and `amount`: an object with both matches
    // both branches and so fails `oneOf`, as the server refuses it.
    let mut ext = utoipa::openapi::extensions::Extensions::default();
    ext.insert(
        "oneOf".into(),
        serde_json::json!([{"required": ["micros"]}, {"required": ["amount"]}]),
    );
    object.extensions = Some(ext);
    object.into()
}

fn currency_schema(
    schemas: &mut Vec<(
        String,
        utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
    )>,
) {
    use utoipa::PartialSchema as _;
    schemas.push(("Currency".into(), Currency::schema()));
}

impl utoipa::PartialSchema for Money {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        money_schema(
            "An amount of money (see the glossary's \"Money\"): exact integer `micros` and an ISO 4217 `currency`. A request may give `amount` (a decimal string) instead of `micros`, never both.",
            None,
            AMOUNT_PATTERN,
        )
    }
}
impl utoipa::ToSchema for Money {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        currency_schema(schemas);
    }
}

impl utoipa::PartialSchema for PositiveMoney {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        money_schema(
            "A `Money` above zero: `micros` at least 1, or an `amount` with a digit other than 0.",
            Some(1),
            POSITIVE_AMOUNT_PATTERN,
        )
    }
}
impl utoipa::ToSchema for PositiveMoney {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        currency_schema(schemas);
    }
}

impl utoipa::PartialSchema for NonNegativeMoney {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        money_schema(
            "A `Money` of at least zero: `micros` at least 0, or an `amount` without a sign.",
            Some(0),
            NON_NEGATIVE_AMOUNT_PATTERN,
        )
    }
}
impl utoipa::ToSchema for NonNegativeMoney {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        currency_schema(schemas);
    }
}

impl Money {
    pub const fn from_micros(micros: i64, currency: Currency) -> Self {
        Money { micros, currency }
    }

    pub fn zero(currency: Currency) -> Self {
        Money {
            micros: 0,
            currency,
        }
    }

    /// Whole major units (e.g. dollars).
    pub fn from_major(units: i64, currency: Currency) -> Result<Self, MoneyError> {
        units
            .checked_mul(MICROS_PER_UNIT)
            .map(|micros| Money { micros, currency })
            .ok_or(MoneyError::Overflow)
    }

    /// Minor units as people count them (cents for USD, yen for JPY).
    pub fn from_minor(minor: i64, currency: Currency) -> Result<Self, MoneyError> {
        let per_minor = 10_i64.pow(6 - currency.minor_digits());
        minor
            .checked_mul(per_minor)
            .map(|micros| Money { micros, currency })
            .ok_or(MoneyError::Overflow)
    }

    /// Parses a decimal string such as `"12.34"` or `"-0.000001"` exactly.
    pub fn parse_decimal(s: &str, currency: Currency) -> Result<Self, MoneyError> {
        let bad = || MoneyError::InvalidAmount(s.to_owned());
        let t = s.trim();
        let (neg, digits) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t.strip_prefix('+').unwrap_or(t)),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if int.is_empty() && frac.is_empty()
            || !int.bytes().all(|b| b.is_ascii_digit())
            || !frac.bytes().all(|b| b.is_ascii_digit())
            || frac.len() > 6
        {
            return Err(bad());
        }
        let whole: i64 = if int.is_empty() {
            0
        } else {
            int.parse().map_err(|_| MoneyError::Overflow)?
        };
        let mut frac_micros: i64 = 0;
        for (i, b) in frac.bytes().enumerate() {
            frac_micros += i64::from(b - b'0') * 10_i64.pow(5 - i as u32);
        }
        let micros = whole
            .checked_mul(MICROS_PER_UNIT)
            .and_then(|m| m.checked_add(frac_micros))
            .ok_or(MoneyError::Overflow)?;
        Ok(Money {
            micros: if neg { -micros } else { micros },
            currency,
        })
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        self.micros
            .checked_add(other.micros)
            .map(|micros| Money { micros, ..self })
            .ok_or(MoneyError::Overflow)
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        self.micros
            .checked_sub(other.micros)
            .map(|micros| Money { micros, ..self })
            .ok_or(MoneyError::Overflow)
    }

    pub fn checked_mul(self, factor: i64) -> Result<Money, MoneyError> {
        self.micros
            .checked_mul(factor)
            .map(|micros| Money { micros, ..self })
            .ok_or(MoneyError::Overflow)
    }

    /// Multiplies by `num / den`, rounding half away from zero; used for
    /// percentages such as the 20 % fee (`mul_ratio(20, 100)`).
    pub fn mul_ratio(self, num: i64, den: i64) -> Result<Money, MoneyError> {
        if den == 0 {
            return Err(MoneyError::Overflow);
        }
        let p = i128::from(self.micros) * i128::from(num);
        let d = i128::from(den);
        let q = p / d;
        let r = p % d;
        let rounded = if 2 * r.abs() >= d.abs() {
            q + p.signum() * d.signum()
        } else {
            q
        };
        i64::try_from(rounded)
            .map(|micros| Money { micros, ..self })
            .map_err(|_| MoneyError::Overflow)
    }

    pub fn is_negative(&self) -> bool {
        self.micros < 0
    }

    /// The amount in major units as a float, for statistical engines only.
    pub fn as_major_f64(&self) -> f64 {
        self.micros as f64 / MICROS_PER_UNIT as f64
    }

    fn same_currency(&self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch(self.currency, other.currency))
        }
    }
}

impl fmt::Display for Money {
    /// `12.34 USD`: rounded half away from zero to the currency's minor digits.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.currency.minor_digits();
        let step = 10_i64.pow(6 - digits);
        let m = i128::from(self.micros);
        let s = i128::from(step);
        let minor = (m + m.signum() * s / 2) / s;
        let sign = if minor < 0 { "-" } else { "" };
        let minor = minor.abs();
        let unit = 10_i128.pow(digits);
        if digits == 0 {
            write!(f, "{sign}{} {}", minor, self.currency)
        } else {
            write!(
                f,
                "{sign}{}.{:0width$} {}",
                minor / unit,
                minor % unit,
                self.currency,
                width = digits as usize
            )
        }
    }
}

impl Money {
    /// The amount as people read it in sentences (verdicts, reasons,
    /// decision records): the currency's symbol where it has a common one,
    /// thousands grouped, rounded to the currency's minor digits —
    /// `$71,435.12`, `-€1,500.00`, `¥2`, `1,200.00 CHF`. Never micros.
    pub fn text(&self) -> MoneyText {
        MoneyText(*self)
    }
}

/// [`Money::text`]: the human form of an amount.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct MoneyText(Money);

impl MoneyText {
    fn symbol(c: Currency) -> Option<&'static str> {
        Some(match c.as_str() {
            "USD" => "$",
            "EUR" => "€",
            "GBP" => "£",
            "JPY" => "¥",
            "INR" => "₹",
            "KRW" => "₩",
            "AUD" => "A$",
            "CAD" => "CA$",
            "NZD" => "NZ$",
            "BRL" => "R$",
            "MXN" => "MX$",
            _ => return None,
        })
    }
}

impl fmt::Display for MoneyText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let money = self.0;
        let digits = money.currency.minor_digits();
        let step = i128::from(10_i64.pow(6 - digits));
        let m = i128::from(money.micros);
        let minor = (m + m.signum() * step / 2) / step;
        let sign = if minor < 0 { "-" } else { "" };
        let minor = minor.abs();
        let unit = 10_i128.pow(digits);
        let whole = (minor / unit).to_string();
        let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        let number = if digits == 0 {
            grouped
        } else {
            format!(
                "{grouped}.{:0width$}",
                minor % unit,
                width = digits as usize
            )
        };
        match MoneyText::symbol(money.currency) {
            Some(symbol) => write!(f, "{sign}{symbol}{number}"),
            None => write!(f, "{sign}{number} {}", money.currency),
        }
    }
}

impl fmt::Debug for MoneyText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MoneyText({self})")
    }
}

impl fmt::Debug for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Money({} micros {})", self.micros, self.currency)
    }
}

/// Reading money stored before the API's one money shape: figures were
/// then `<name>_micros` integers next to (or under) a `currency`; they are
/// now `<name>` [`Money`] objects. [`upgrade_legacy_micros`] rewrites the old
/// shape into the new one so a stored row of either age reads back.
pub mod legacy {
    use serde_json::{Map, Value};

    use super::Currency;

    /// Rewrites every `"<name>_micros": <integer or null>` member (at any
    /// depth) into `"<name>": {"micros": <integer>, "currency": <code>}`
    /// (`null` stays `null`), unless `<name>` is already present. The
    /// currency is the nearest `currency` member of the same or an enclosing
    /// object, else `fallback`. A value in the new shape is left as it is.
    pub fn upgrade_legacy_micros(value: &mut Value, fallback: Currency) {
        walk(value, Some(fallback.as_str()));
    }

    /// As [`upgrade_legacy_micros`] where the record itself names the
    /// currency (a `currency` member of the same or an enclosing object);
    /// a figure with no currency in sight is left as it was stored rather
    /// than given a guessed one. For readers that do not know the
    /// organisation's currency, such as the decision log.
    pub fn upgrade_legacy_micros_where_named(value: &mut Value) {
        walk(value, None);
    }

    fn walk(value: &mut Value, currency: Option<&str>) {
        match value {
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, currency)),
            Value::Object(map) => {
                let here = map
                    .get("currency")
                    .and_then(Value::as_str)
                    .filter(|c| Currency::parse_exact(c).is_ok())
                    .map(str::to_owned)
                    .or_else(|| currency.map(str::to_owned));
                if let Some(c) = &here {
                    upgrade_members(map, c);
                }
                map.values_mut().for_each(|v| walk(v, here.as_deref()));
            }
            _ => {}
        }
    }

    fn upgrade_members(map: &mut Map<String, Value>, currency: &str) {
        let old: Vec<String> = map
            .iter()
            .filter(|(k, v)| {
                k.len() > "_micros".len() && k.ends_with("_micros") && (v.is_i64() || v.is_null())
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in old {
            let name = key.trim_end_matches("_micros").to_owned();
            if map.contains_key(&name) {
                continue;
            }
            if let Some(v) = map.remove(&key) {
                let money = if v.is_null() {
                    Value::Null
                } else {
                    serde_json::json!({"micros": v, "currency": currency})
                };
                map.insert(name, money);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(m: i64) -> Money {
        Money::from_micros(m, Currency::USD)
    }

    #[test]
    fn decimal_strings_parse_exactly() {
        let check = |s: &str, micros: i64| {
            assert_eq!(
                Money::parse_decimal(s, Currency::USD).unwrap().micros,
                micros,
                "{s}"
            )
        };
        check("12.34", 12_340_000);
        check("-0.000001", -1);
        check("0.5", 500_000);
        check("+7", 7_000_000);
        check(".25", 250_000);
        for bad in ["", "-", "1.2.3", "1,00", "0.0000001", "abc", "1e3"] {
            assert!(Money::parse_decimal(bad, Currency::USD).is_err(), "{bad}");
        }
    }

    #[test]
    fn display_rounds_to_the_currency_minor_unit() {
        assert_eq!(usd(12_345_000).to_string(), "12.35 USD");
        assert_eq!(usd(-12_344_999).to_string(), "-12.34 USD");
        assert_eq!(
            Money::from_micros(1_500_000, Currency::parse("jpy").unwrap()).to_string(),
            "2 JPY"
        );
        assert_eq!(usd(0).to_string(), "0.00 USD");
    }

    #[test]
    fn text_reads_as_people_write_amounts() {
        assert_eq!(usd(200_000_000).text().to_string(), "$200.00");
        assert_eq!(usd(71_435_123_456).text().to_string(), "$71,435.12");
        assert_eq!(usd(-1_500_000_000).text().to_string(), "-$1,500.00");
        assert_eq!(usd(200).text().to_string(), "$0.00");
        assert_eq!(usd(999_995_000).text().to_string(), "$1,000.00");
        assert_eq!(
            Money::from_micros(1_234_567_000_000, Currency::EUR)
                .text()
                .to_string(),
            "€1,234,567.00"
        );
        assert_eq!(
            Money::from_micros(1_500_000, Currency::parse("jpy").unwrap())
                .text()
                .to_string(),
            "¥2"
        );
        assert_eq!(
            Money::from_micros(1_200_000_000, Currency::parse("chf").unwrap())
                .text()
                .to_string(),
            "1,200.00 CHF"
        );
    }

    #[test]
    fn arithmetic_refuses_mixed_currencies_and_overflow() {
        let eur = Money::from_micros(1, Currency::EUR);
        assert_eq!(
            usd(1).checked_add(eur),
            Err(MoneyError::CurrencyMismatch(Currency::USD, Currency::EUR))
        );
        assert_eq!(usd(i64::MAX).checked_add(usd(1)), Err(MoneyError::Overflow));
        assert_eq!(usd(5).checked_sub(usd(7)).unwrap().micros, -2);
    }

    #[test]
    fn ratio_rounds_half_away_from_zero() {
        assert_eq!(usd(1_000_003).mul_ratio(20, 100).unwrap().micros, 200_001);
        assert_eq!(usd(5).mul_ratio(1, 2).unwrap().micros, 3);
        assert_eq!(usd(-5).mul_ratio(1, 2).unwrap().micros, -3);
        assert!(usd(1).mul_ratio(1, 0).is_err());
    }

    #[test]
    fn money_serialises_with_its_currency_code() {
        let json = serde_json::to_string(&usd(42)).unwrap();
        assert_eq!(json, r#"{"micros":42,"currency":"USD"}"#);
        let bad: Result<Money, _> = serde_json::from_str(r#"{"micros":1,"currency":"US"}"#);
        assert!(bad.is_err());
    }

    #[test]
    fn money_reads_micros_or_a_decimal_amount_but_not_both_or_neither() {
        let read = |json: &str| serde_json::from_str::<Money>(json);
        assert_eq!(
            read(r#"{"amount":"49.99","currency":"USD"}"#).unwrap(),
            usd(49_990_000)
        );
        assert_eq!(
            read(r#"{"currency":"usd","amount":"-0.000001"}"#).unwrap(),
            usd(-1)
        );
        assert_eq!(read(r#"{"micros":7,"currency":"USD"}"#).unwrap(), usd(7));
        for bad in [
            r#"{"micros":1,"amount":"1","currency":"USD"}"#,
            r#"{"amount":"1","micros":1,"currency":"USD"}"#,
            r#"{"currency":"USD"}"#,
            r#"{"amount":"1.2345678","currency":"USD"}"#,
            r#"{"amount":"01","currency":"USD"}"#,
            r#"{"amount":".5","currency":"USD"}"#,
            r#"{"amount":"+5","currency":"USD"}"#,
            r#"{"amount":" 5","currency":"USD"}"#,
            r#"{"amount":"1234567890123","currency":"USD"}"#,
            r#"{"amount":5,"currency":"USD"}"#,
            r#"{"amount":"5"}"#,
        ] {
            assert!(read(bad).is_err(), "{bad}");
        }
        let both = read(r#"{"micros":1,"amount":"1","currency":"USD"}"#).unwrap_err();
        assert!(both.to_string().contains("not both"), "{both}");
        // The largest amount still fits in micros.
        assert_eq!(
            read(r#"{"amount":"999999999999.999999","currency":"USD"}"#)
                .unwrap()
                .micros,
            999_999_999_999_999_999
        );
        // Answers carry micros, never amount.
        let json =
            serde_json::to_string(&read(r#"{"amount":"2","currency":"EUR"}"#).unwrap()).unwrap();
        assert_eq!(json, r#"{"micros":2000000,"currency":"EUR"}"#);
    }

    #[test]
    fn amount_patterns_agree_with_the_reader() {
        // The schema's patterns, checked by hand against the reader: what
        // the pattern admits, the reader admits, and the positive pattern
        // admits exactly the amounts above zero.
        let positive =
            |s: &str| is_amount_text(s) && !s.starts_with('-') && amount_to_micros(s).unwrap() > 0;
        for s in [
            "0",
            "0.0",
            "1",
            "0.000001",
            "10.5",
            "999999999999.999999",
            "0.100000",
        ] {
            assert!(is_amount_text(s), "{s}");
        }
        for s in [
            "00",
            "-",
            "1.",
            ".1",
            "1e3",
            "0.0000001",
            "1,000",
            "",
            "--1",
        ] {
            assert!(!is_amount_text(s), "{s}");
        }
        assert!(positive("0.000001") && positive("7") && !positive("0.000000") && !positive("0"));
    }

    #[test]
    fn old_micros_fields_are_upgraded_to_money_objects() {
        let mut old = serde_json::json!({
            "currency": "EUR",
            "spend_micros": 5,
            "cap_micros": null,
            "band": {"p10_micros": 1},
            "rows": [{"currency": "GBP", "revenue_micros": 2}],
            "micros": 9,
            "kept": {"micros": 3, "currency": "EUR"},
            "kept_micros": 4
        });
        legacy::upgrade_legacy_micros(&mut old, Currency::USD);
        assert_eq!(
            old,
            serde_json::json!({
                "currency": "EUR",
                "spend": {"micros": 5, "currency": "EUR"},
                "cap": null,
                "band": {"p10": {"micros": 1, "currency": "EUR"}},
                "rows": [{"currency": "GBP", "revenue": {"micros": 2, "currency": "GBP"}}],
                "micros": 9,
                "kept": {"micros": 3, "currency": "EUR"},
                "kept_micros": 4
            })
        );
        let mut bare = serde_json::json!({"threshold_micros": 1});
        legacy::upgrade_legacy_micros(&mut bare, Currency::USD);
        assert_eq!(bare["threshold"]["currency"], "USD");
    }

    #[test]
    fn only_figures_with_a_named_currency_are_upgraded_where_none_is_known() {
        let mut record = serde_json::json!({
            "inputs": {"currency": "EUR", "bid_price_micros": 5, "nested": {"cap_micros": 7}},
            "unknown_micros": 3,
            "list": [{"currency": "GBP", "ltv_micros": 2}, {"ltv_micros": 1}]
        });
        legacy::upgrade_legacy_micros_where_named(&mut record);
        assert_eq!(
            record,
            serde_json::json!({
                "inputs": {
                    "currency": "EUR",
                    "bid_price": {"micros": 5, "currency": "EUR"},
                    "nested": {"cap": {"micros": 7, "currency": "EUR"}}
                },
                "unknown_micros": 3,
                "list": [
                    {"currency": "GBP", "ltv": {"micros": 2, "currency": "GBP"}},
                    {"ltv_micros": 1}
                ]
            })
        );
    }
}
