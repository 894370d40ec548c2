//! Reading what people type into the pages' forms: an amount of money in a
//! given currency (`250`, `1,250.50`, `$12.5`), checked before anything is
//! asked of a service, with a sentence that says what is wrong; and an
//! amount written back into a field. Pure.

use kiki_core::{Currency, Money};

/// The amount typed into a field, in `currency`, more than zero, with no
/// more decimals than the currency has (two for the dollar, none for the
/// yen). Thousands separators, spaces and the currency's symbol or code
/// are allowed around the digits; amounts stay exact (integer micros).
pub fn positive_amount(input: &str, currency: Currency) -> Result<Money, String> {
    let code = currency.as_str();
    let digits = currency.minor_digits();
    let mut t = input.trim().to_owned();
    for affix in [code, "$", "€", "£", "¥"] {
        t = t
            .trim_start_matches(affix)
            .trim_end_matches(affix)
            .to_owned();
    }
    let t: String = t
        .chars()
        .filter(|c| *c != ',' && !c.is_whitespace())
        .collect();
    let example = if digits == 0 {
        "250".to_owned()
    } else {
        format!("250.{}", "0".repeat(digits as usize))
    };
    if t.is_empty() {
        return Err(format!("Enter an amount in {code}, for example {example}."));
    }
    let frac = t.split_once('.').map_or(0, |(_, f)| f.len());
    if t.starts_with('-') || t.starts_with('+') {
        return Err(format!(
            "Enter the amount in {code} without a sign, for example {example}."
        ));
    }
    let money = Money::parse_decimal(&t, currency).map_err(|_| {
        format!(
            "“{}” is not an amount. Enter digits in {code}, for example {example}.",
            input.trim()
        )
    })?;
    if frac > digits as usize {
        return Err(match digits {
            0 => format!("{code} has no decimals: enter a whole amount, for example {example}."),
            d => format!("{code} has {d} decimals at most, for example {example}."),
        });
    }
    if money.micros <= 0 {
        return Err(format!(
            "The amount must be more than {}.",
            Money::zero(currency).text()
        ));
    }
    Ok(money)
}

/// An amount as a form field shows it: digits, a point and the currency's
/// decimals, no symbol or separators (`80.50`, `1500` for the yen), exact.
pub fn plain_amount(m: Money) -> String {
    let digits = m.currency.minor_digits();
    let step = 10_i64.pow(6 - digits);
    // Rounded half away from zero to the currency's smallest unit.
    let minor =
        (i128::from(m.micros) + i128::from(m.micros.signum() * step / 2)) / i128::from(step);
    let scale = i128::from(10_i64.pow(digits));
    let sign = if minor < 0 { "-" } else { "" };
    let (whole, frac) = (minor.abs() / scale, minor.abs() % scale);
    if digits == 0 {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{frac:0width$}", width = digits as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd(s: &str) -> Result<i64, String> {
        positive_amount(s, Currency::USD).map(|m| m.micros)
    }

    #[test]
    fn amounts_are_read_as_people_write_them() {
        assert_eq!(usd("250"), Ok(250_000_000));
        assert_eq!(usd(" 1,250.50 "), Ok(1_250_500_000));
        assert_eq!(usd("$12.5"), Ok(12_500_000));
        assert_eq!(usd("12.05 USD"), Ok(12_050_000));
        assert_eq!(
            positive_amount("1500", Currency::parse("JPY").unwrap())
                .unwrap()
                .micros,
            1_500_000_000
        );
    }

    #[test]
    fn a_field_shows_an_amount_exactly() {
        assert_eq!(
            plain_amount(Money::from_micros(80_500_000, Currency::USD)),
            "80.50"
        );
        assert_eq!(
            plain_amount(Money::from_micros(100_000_000, Currency::USD)),
            "100.00"
        );
        assert_eq!(
            plain_amount(Money::from_micros(1_005_000, Currency::USD)),
            "1.01"
        );
        assert_eq!(
            plain_amount(Money::from_micros(
                1_500_000_000,
                Currency::parse("JPY").unwrap()
            )),
            "1500"
        );
        assert_eq!(
            plain_amount(Money::from_micros(-2_000_000, Currency::EUR)),
            "-2.00"
        );
    }

    #[test]
    fn anything_else_is_refused_with_a_sentence() {
        assert_eq!(
            usd(""),
            Err("Enter an amount in USD, for example 250.00.".into())
        );
        assert!(usd("abc").unwrap_err().contains("“abc” is not an amount"));
        assert!(usd("12.345").unwrap_err().contains("2 decimals at most"));
        assert!(usd("-5").unwrap_err().contains("without a sign"));
        assert_eq!(usd("0"), Err("The amount must be more than $0.00.".into()));
        assert!(usd("0.00").is_err());
        assert!(usd("99999999999999999").is_err());
        let jpy = Currency::parse("JPY").unwrap();
        assert!(
            positive_amount("10.5", jpy)
                .unwrap_err()
                .contains("no decimals")
        );
    }
}
