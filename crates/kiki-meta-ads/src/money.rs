//! Money between KIKI (integer micros) and Meta. Meta takes budgets and bid
//! amounts as integers in the account currency's "offset" unit: 100 per major
//! unit for most currencies (cents), 1 for the currencies Meta lists as
//! zero-decimal (JPY, KRW, …), per Meta's published table of supported
//! currencies (Marketing API, "Currency codes"). That table differs from
//! ISO 4217 minor units in places (Meta counts HUF, TWD, IDR, COP in whole
//! units, and the three-decimal dinars in hundredths), so it is kept here.
//! Insights report spend and values as decimal strings in the major unit,
//! parsed exactly, never through a float.

use kiki_core::money::MICROS_PER_UNIT;

/// Currencies Meta counts in whole units (offset 1).
const OFFSET_ONE: &[&str] = &[
    "CLP", "COP", "CRC", "HUF", "ISK", "IDR", "JPY", "KRW", "PYG", "TWD", "VND",
];

/// Meta's offset for `currency`: how many of Meta's units make one major unit.
pub(crate) fn offset(currency: &str) -> i64 {
    if OFFSET_ONE
        .iter()
        .any(|c| c.eq_ignore_ascii_case(currency.trim()))
    {
        1
    } else {
        100
    }
}

/// Micros as Meta's integer units of `currency`, rounded down (a budget or
/// cap never grows in the conversion).
pub(crate) fn micros_to_meta_units(micros: i64, currency: &str) -> i64 {
    let per_unit = MICROS_PER_UNIT / offset(currency);
    micros.div_euclid(per_unit)
}

/// Meta's integer units of `currency` as micros; `None` on overflow.
#[cfg(test)]
pub(crate) fn meta_units_to_micros(units: i64, currency: &str) -> Option<i64> {
    units.checked_mul(MICROS_PER_UNIT / offset(currency))
}

/// A decimal string in the major unit (`"12.34"`, `"-0.5"`, `"7"`) as
/// micros, exactly; digits past the sixth decimal round half away from zero.
/// `None` when it is not a decimal number or overflows.
pub(crate) fn decimal_to_micros(s: &str) -> Option<i64> {
    let t = s.trim();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let whole: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut micros = whole.checked_mul(MICROS_PER_UNIT)?;
    let fb = frac.as_bytes();
    let mut scale = MICROS_PER_UNIT / 10;
    for &b in fb.iter().take(6) {
        micros = micros.checked_add(i64::from(b - b'0') * scale)?;
        scale /= 10;
    }
    if fb.len() > 6 && fb[6] >= b'5' {
        micros = micros.checked_add(1)?;
    }
    Some(if neg { -micros } else { micros })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dollars_go_to_meta_in_cents() {
        assert_eq!(micros_to_meta_units(50_000_000, "USD"), 5_000);
        assert_eq!(micros_to_meta_units(12_345_678, "USD"), 1_234);
        assert_eq!(micros_to_meta_units(9_999, "USD"), 0);
        assert_eq!(meta_units_to_micros(1_234, "usd"), Some(12_340_000));
        assert_eq!(micros_to_meta_units(20_000_000, "EUR"), 2_000);
    }

    #[test]
    fn yen_and_won_go_to_meta_in_whole_units() {
        assert_eq!(micros_to_meta_units(5_000_000_000, "JPY"), 5_000);
        assert_eq!(micros_to_meta_units(1_500_900_000, "JPY"), 1_500);
        assert_eq!(meta_units_to_micros(5_000, "JPY"), Some(5_000_000_000));
        assert_eq!(micros_to_meta_units(10_000_000_000, "KRW"), 10_000);
        // Meta's table, not ISO 4217: the forint in whole units, the
        // Bahraini dinar in hundredths.
        assert_eq!(offset("HUF"), 1);
        assert_eq!(offset("BHD"), 100);
    }

    #[test]
    fn decimal_strings_become_micros_exactly() {
        assert_eq!(decimal_to_micros("12.34"), Some(12_340_000));
        assert_eq!(decimal_to_micros("0.1"), Some(100_000));
        assert_eq!(decimal_to_micros("1234"), Some(1_234_000_000));
        assert_eq!(decimal_to_micros("0.0000015"), Some(2));
        assert_eq!(decimal_to_micros("0.0000014"), Some(1));
        assert_eq!(decimal_to_micros("-3.5"), Some(-3_500_000));
        // 0.1 + 0.2 in floats is 0.30000000000000004; here it is parsed once.
        assert_eq!(decimal_to_micros("0.3"), Some(300_000));
        assert_eq!(decimal_to_micros(""), None);
        assert_eq!(decimal_to_micros("1e3"), None);
        assert_eq!(decimal_to_micros("99999999999999999999"), None);
    }
}
