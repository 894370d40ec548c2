//! Countries as Google Ads geo target constants. Google targets locations
//! by criterion id (`geoTargetConstants/2840` is the United States), listed
//! in its published geotargets file
//! (<https://developers.google.com/google-ads/api/data/geotargets>). The
//! connector carries the country rows it needs for the common markets; a
//! country outside the table is refused naming the field rather than
//! guessed. Adding a country is adding a row from that file.

/// ISO 3166-1 alpha-2 code → the country's criterion id in Google's
/// geotargets file.
const COUNTRIES: &[(&str, u32)] = &[
    ("AE", 2784),
    ("AR", 2032),
    ("AT", 2040),
    ("AU", 2036),
    ("BE", 2056),
    ("BR", 2076),
    ("CA", 2124),
    ("CH", 2756),
    ("CL", 2152),
    ("CO", 2170),
    ("CZ", 2203),
    ("DE", 2276),
    ("DK", 2208),
    ("ES", 2724),
    ("FI", 2246),
    ("FR", 2250),
    ("GB", 2826),
    ("GR", 2300),
    ("HK", 2344),
    ("IE", 2372),
    ("IL", 2376),
    ("IN", 2356),
    ("IT", 2380),
    ("JP", 2392),
    ("KR", 2410),
    ("MX", 2484),
    ("NL", 2528),
    ("NO", 2578),
    ("NZ", 2554),
    ("PL", 2616),
    ("PT", 2620),
    ("SA", 2682),
    ("SE", 2752),
    ("SG", 2702),
    ("TR", 2792),
    ("US", 2840),
    ("ZA", 2710),
];

/// The criterion id of a country (`"us"` and `"US"` alike), when the table
/// has it.
pub fn country_criterion_id(code: &str) -> Option<u32> {
    let code = code.trim().to_ascii_uppercase();
    COUNTRIES
        .binary_search_by(|(c, _)| (*c).cmp(code.as_str()))
        .ok()
        .map(|i| COUNTRIES[i].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_knows_the_common_markets() {
        assert!(COUNTRIES.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(country_criterion_id("US"), Some(2840));
        assert_eq!(country_criterion_id("gb"), Some(2826));
        assert_eq!(country_criterion_id("DE"), Some(2276));
        assert_eq!(country_criterion_id("FR"), Some(2250));
        assert_eq!(country_criterion_id("CA"), Some(2124));
        assert_eq!(country_criterion_id("AU"), Some(2036));
        assert_eq!(country_criterion_id("XX"), None);
        assert_eq!(country_criterion_id("UK"), None, "the ISO code is GB");
    }
}
