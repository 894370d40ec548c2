//! Daily insights: the GAQL query for a level and the rows it answers.
//! The REST interface writes `int64` fields as JSON strings
//! (`"costMicros": "1230000"`, `"id": "123"`) and leaves out fields at
//! their zero value, so every number is read from a string or a number and
//! a missing one is zero. `metrics.conversions_value` is a double in the
//! account's currency; it becomes micros by decimal rounding of the number
//! as written (half away from zero), never by multiplying a float.
//!
//! Breakdowns: devices from `segments.device` on `campaign`; countries from
//! `geographic_view` (location of presence), whose
//! `geographic_view.country_criterion_id` is resolved to an ISO code by a
//! second query on `geo_target_constant` (`geo_target_constant.country_code`).

use kiki_platforms::{
    BreakdownDimension, BreakdownQuery, BreakdownRow, Device, InsightLevel, InsightRow,
    InsightsQuery, PlatformError, is_country_code,
};
use serde_json::Value;
use time::Date;
use time::macros::format_description;

use crate::client::{digits, invalid};

const DAY: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]");

/// `YYYY-MM-DD`.
pub(crate) fn day(d: Date) -> String {
    d.format(DAY).unwrap_or_default()
}

/// The GAQL for a query; campaign ids are checked to be ids first.
pub(crate) fn gaql(q: &InsightsQuery) -> Result<String, PlatformError> {
    if q.since > q.until {
        return Err(invalid(
            "until",
            format!("{} is before since ({})", day(q.until), day(q.since)),
        ));
    }
    let (ids, from) = match q.level {
        InsightLevel::Campaign => ("campaign.id", "campaign"),
        InsightLevel::AdSet => ("campaign.id, ad_group.id", "ad_group"),
        InsightLevel::Ad => ("campaign.id, ad_group.id, ad_group_ad.ad.id", "ad_group_ad"),
    };
    let mut s = format!(
        "SELECT {ids}, segments.date, metrics.cost_micros, metrics.impressions, metrics.clicks, \
         metrics.conversions, metrics.conversions_value FROM {from} \
         WHERE segments.date BETWEEN '{}' AND '{}'",
        day(q.since),
        day(q.until)
    );
    if !q.campaign_ids.is_empty() {
        let ids = q
            .campaign_ids
            .iter()
            .map(|id| digits("campaign_ids", id))
            .collect::<Result<Vec<_>, _>>()?;
        s.push_str(&format!(" AND campaign.id IN ({})", ids.join(", ")));
    }
    Ok(s)
}

fn bad(what: &str, v: &Value) -> PlatformError {
    PlatformError::Transient {
        message: format!("Google Ads answered {what} in an unexpected shape: {v}"),
    }
}

/// An `int64` as the REST interface writes it (a string), or a number;
/// missing is zero.
pub(crate) fn int64(v: Option<&Value>, what: &str) -> Result<i64, PlatformError> {
    match v {
        None | Some(Value::Null) => Ok(0),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map_err(|_| bad(what, v.unwrap_or(&Value::Null))),
        Some(n @ Value::Number(_)) => n.as_i64().ok_or_else(|| bad(what, n)),
        Some(other) => Err(bad(what, other)),
    }
}

/// An id (string or number).
fn id(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A double (number or string); missing is zero.
fn double(v: Option<&Value>, what: &str) -> Result<f64, PlatformError> {
    match v {
        None | Some(Value::Null) => Ok(0.0),
        Some(Value::Number(n)) => n
            .as_f64()
            .ok_or_else(|| bad(what, v.unwrap_or(&Value::Null))),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map_err(|_| bad(what, v.unwrap_or(&Value::Null))),
        Some(other) => Err(bad(what, other)),
    }
}

/// A decimal number as written (`12.345678`, `1.5E-7`, `-3`) in micros,
/// rounded half away from zero at the sixth decimal.
pub(crate) fn decimal_micros(s: &str) -> Option<i64> {
    let s = s.trim();
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], s[i + 1..].parse::<i32>().ok()?),
        None => (s, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part
        .bytes()
        .chain(frac_part.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let all: String = format!("{int_part}{frac_part}");
    let all = all.trim_start_matches('0');
    // value = all × 10^(exp − frac digits); micros = value × 10^6.
    let shift = exp.checked_sub(frac_part.len() as i32)?.checked_add(6)?;
    let magnitude: i64 = if all.is_empty() {
        0
    } else if shift >= 0 {
        let base: i64 = all.parse().ok()?;
        base.checked_mul(10i64.checked_pow(shift as u32)?)?
    } else {
        let drop = (-shift) as usize;
        if drop > all.len() {
            // Below a micro; rounds to zero unless exactly at the half (the
            // dropped part's first digit is in the first dropped place).
            0
        } else {
            let (keep, dropped) = all.split_at(all.len() - drop);
            let kept: i64 = if keep.is_empty() {
                0
            } else {
                keep.parse().ok()?
            };
            if dropped.as_bytes()[0] >= b'5' {
                kept.checked_add(1)?
            } else {
                kept
            }
        }
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// A double field's micros, from its JSON text.
fn micros_of(v: Option<&Value>, what: &str) -> Result<i64, PlatformError> {
    match v {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(n)) => {
            decimal_micros(&n.to_string()).ok_or_else(|| bad(what, v.unwrap_or(&Value::Null)))
        }
        Some(Value::String(s)) => {
            decimal_micros(s).ok_or_else(|| bad(what, v.unwrap_or(&Value::Null)))
        }
        Some(other) => Err(bad(what, other)),
    }
}

/// One `GoogleAdsRow` as an [`InsightRow`].
pub(crate) fn row(level: InsightLevel, r: &Value) -> Result<InsightRow, PlatformError> {
    let date = r
        .pointer("/segments/date")
        .and_then(Value::as_str)
        .and_then(|s| Date::parse(s, DAY).ok())
        .ok_or_else(|| bad("a row without segments.date", r))?;
    let campaign_id =
        id(r.pointer("/campaign/id")).ok_or_else(|| bad("a row without campaign.id", r))?;
    let ad_group = id(r.pointer("/adGroup/id"));
    let (ad_set_id, ad_id) = match level {
        InsightLevel::Campaign => (None, None),
        InsightLevel::AdSet => (
            Some(ad_group.ok_or_else(|| bad("a row without ad_group.id", r))?),
            None,
        ),
        InsightLevel::Ad => {
            let ag = ad_group.ok_or_else(|| bad("a row without ad_group.id", r))?;
            let ad = id(r.pointer("/adGroupAd/ad/id"))
                .ok_or_else(|| bad("a row without ad_group_ad.ad.id", r))?;
            // The ad's KIKI id is Google's ad group ad key, `{ad group}~{ad}`.
            (Some(ag.clone()), Some(format!("{ag}~{ad}")))
        }
    };
    let m = r.get("metrics");
    let get = |k: &str| m.and_then(|m| m.get(k));
    let impressions = int64(get("impressions"), "metrics.impressions")?;
    let clicks = int64(get("clicks"), "metrics.clicks")?;
    Ok(InsightRow {
        day: date,
        campaign_id,
        ad_set_id,
        ad_id,
        spend_micros: int64(get("costMicros"), "metrics.cost_micros")?,
        impressions: u64::try_from(impressions).map_err(|_| bad("metrics.impressions", r))?,
        clicks: u64::try_from(clicks).map_err(|_| bad("metrics.clicks", r))?,
        conversions: double(get("conversions"), "metrics.conversions")?,
        conversion_value_micros: micros_of(get("conversionsValue"), "metrics.conversions_value")?,
        reach: None,
        frequency: None,
    })
}

/// The GAQL of a breakdown at campaign level per day: `segments.device`
/// on `campaign` for devices; `geographic_view` (one row per country, by
/// where people were: `LOCATION_OF_PRESENCE`, so a country is not counted
/// again as an area of interest) for countries.
pub(crate) fn breakdown_gaql(q: &BreakdownQuery) -> Result<String, PlatformError> {
    if q.since > q.until {
        return Err(invalid(
            "until",
            format!("{} is before since ({})", day(q.until), day(q.since)),
        ));
    }
    let metrics = "metrics.cost_micros, metrics.impressions, metrics.clicks, \
                   metrics.conversions, metrics.conversions_value";
    let mut s = match q.dimension {
        BreakdownDimension::Device => format!(
            "SELECT campaign.id, segments.date, segments.device, {metrics} FROM campaign \
             WHERE segments.date BETWEEN '{}' AND '{}'",
            day(q.since),
            day(q.until)
        ),
        BreakdownDimension::Country => format!(
            "SELECT campaign.id, segments.date, geographic_view.country_criterion_id, \
             geographic_view.location_type, {metrics} FROM geographic_view \
             WHERE segments.date BETWEEN '{}' AND '{}' \
             AND geographic_view.location_type = 'LOCATION_OF_PRESENCE'",
            day(q.since),
            day(q.until)
        ),
    };
    if !q.campaign_ids.is_empty() {
        let ids = q
            .campaign_ids
            .iter()
            .map(|id| digits("campaign_ids", id))
            .collect::<Result<Vec<_>, _>>()?;
        s.push_str(&format!(" AND campaign.id IN ({})", ids.join(", ")));
    }
    Ok(s)
}

/// The country criterion ids of geographic-view rows, each once, in order.
pub(crate) fn country_criteria(rows: &[Value]) -> Vec<String> {
    let mut ids: Vec<String> = rows
        .iter()
        .filter_map(|r| id(r.pointer("/geographicView/countryCriterionId")))
        .collect();
    ids.sort_by_key(|i| (i.len(), i.clone()));
    ids.dedup();
    ids
}

/// The GAQL resolving country criterion ids to ISO codes.
pub(crate) fn geo_gaql(ids: &[String]) -> Result<String, PlatformError> {
    let ids = ids
        .iter()
        .map(|i| digits("country_criterion_id", i))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(format!(
        "SELECT geo_target_constant.id, geo_target_constant.country_code \
         FROM geo_target_constant WHERE geo_target_constant.id IN ({})",
        ids.join(", ")
    ))
}

/// Criterion id → ISO code, from the rows of [`geo_gaql`].
pub(crate) fn country_codes(rows: &[Value]) -> std::collections::HashMap<String, String> {
    rows.iter()
        .filter_map(|r| {
            let id = id(r.pointer("/geoTargetConstant/id"))?;
            let code = r
                .pointer("/geoTargetConstant/countryCode")
                .and_then(Value::as_str)?
                .to_ascii_uppercase();
            is_country_code(&code).then_some((id, code))
        })
        .collect()
}

/// Google Ads' `segments.device` as a [`Device`]; `UNKNOWN`,
/// `UNSPECIFIED` and `OTHER` are other.
pub(crate) fn device_of(google: &str) -> Device {
    match google {
        "MOBILE" => Device::Mobile,
        "DESKTOP" => Device::Desktop,
        "TABLET" => Device::Tablet,
        "CONNECTED_TV" => Device::ConnectedTv,
        _ => Device::Other,
    }
}

/// The code rows of a country Google could not name carry (`ZZ`, which
/// ISO 3166-1 leaves to users and CLDR uses for "unknown region").
pub const UNKNOWN_COUNTRY: &str = "ZZ";

/// One breakdown row; `countries` resolves criterion ids.
pub(crate) fn breakdown_row(
    dimension: BreakdownDimension,
    r: &Value,
    countries: &std::collections::HashMap<String, String>,
) -> Result<BreakdownRow, PlatformError> {
    let base = row(InsightLevel::Campaign, r)?;
    let value = match dimension {
        BreakdownDimension::Device => device_of(
            r.pointer("/segments/device")
                .and_then(Value::as_str)
                .unwrap_or(""),
        )
        .as_str()
        .to_owned(),
        BreakdownDimension::Country => id(r.pointer("/geographicView/countryCriterionId"))
            .and_then(|i| countries.get(&i).cloned())
            .unwrap_or_else(|| UNKNOWN_COUNTRY.to_owned()),
    };
    Ok(BreakdownRow {
        day: base.day,
        campaign_id: base.campaign_id,
        value,
        spend_micros: base.spend_micros,
        impressions: base.impressions,
        clicks: base.clicks,
        conversions: base.conversions,
        conversion_value_micros: base.conversion_value_micros,
    })
}

/// Sums rows with the same day, campaign and value (devices Google reports
/// apart that are one [`Device`] here); sorted by them.
pub(crate) fn merge_breakdown(rows: Vec<BreakdownRow>) -> Vec<BreakdownRow> {
    let mut by: std::collections::BTreeMap<(Date, String, String), BreakdownRow> =
        std::collections::BTreeMap::new();
    for r in rows {
        by.entry((r.day, r.campaign_id.clone(), r.value.clone()))
            .and_modify(|t| {
                t.spend_micros += r.spend_micros;
                t.impressions += r.impressions;
                t.clicks += r.clicks;
                t.conversions += r.conversions;
                t.conversion_value_micros += r.conversion_value_micros;
            })
            .or_insert(r);
    }
    by.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::date;

    #[test]
    fn decimals_become_micros_without_float_error() {
        assert_eq!(decimal_micros("12.34"), Some(12_340_000));
        assert_eq!(decimal_micros("0.1"), Some(100_000));
        assert_eq!(decimal_micros("1234.5678901"), Some(1_234_567_890));
        assert_eq!(decimal_micros("0.0000005"), Some(1));
        assert_eq!(decimal_micros("0.0000004999"), Some(0));
        assert_eq!(decimal_micros("-2.5000005"), Some(-2_500_001));
        assert_eq!(decimal_micros("1.5E-7"), Some(0));
        assert_eq!(decimal_micros("5e-7"), Some(1));
        assert_eq!(decimal_micros("1e3"), Some(1_000_000_000));
        assert_eq!(decimal_micros("42"), Some(42_000_000));
        assert_eq!(decimal_micros("0"), Some(0));
        assert_eq!(decimal_micros("abc"), None);
        assert_eq!(decimal_micros("1e30"), None);
        // 0.1 + 0.2 as a double prints 0.30000000000000004: 300,000 micros.
        assert_eq!(decimal_micros(&json!(0.1 + 0.2).to_string()), Some(300_000));
    }

    #[test]
    fn the_query_names_the_level_days_and_campaigns() {
        let q = InsightsQuery {
            level: InsightLevel::Ad,
            since: date!(2025 - 03 - 01),
            until: date!(2025 - 03 - 07),
            campaign_ids: vec!["11".into(), "22".into()],
        };
        assert_eq!(
            gaql(&q).unwrap(),
            "SELECT campaign.id, ad_group.id, ad_group_ad.ad.id, segments.date, metrics.cost_micros, \
             metrics.impressions, metrics.clicks, metrics.conversions, metrics.conversions_value \
             FROM ad_group_ad WHERE segments.date BETWEEN '2025-03-01' AND '2025-03-07' \
             AND campaign.id IN (11, 22)"
        );
        let injected = InsightsQuery {
            campaign_ids: vec!["1) OR (1=1".into()],
            ..q.clone()
        };
        assert!(
            matches!(gaql(&injected), Err(PlatformError::InvalidRequest { field: Some(f), .. }) if f == "campaign_ids")
        );
        let backwards = InsightsQuery {
            since: date!(2025 - 03 - 08),
            ..q
        };
        assert!(gaql(&backwards).is_err());
    }

    #[test]
    fn rows_read_int64_strings_and_missing_zeros() {
        let r = json!({
            "campaign": {"resourceName": "customers/1/campaigns/11", "id": "11"},
            "adGroup": {"id": "21"},
            "segments": {"date": "2025-03-02"},
            "metrics": {"costMicros": "1230000", "impressions": "1000", "conversions": 1.5, "conversionsValue": 19.99}
        });
        let row = row(InsightLevel::AdSet, &r).unwrap();
        assert_eq!(row.day, date!(2025 - 03 - 02));
        assert_eq!(row.campaign_id, "11");
        assert_eq!(row.ad_set_id.as_deref(), Some("21"));
        assert_eq!(row.spend_micros, 1_230_000);
        assert_eq!(row.impressions, 1000);
        assert_eq!(row.clicks, 0);
        assert_eq!(row.conversions, 1.5);
        assert_eq!(row.conversion_value_micros, 19_990_000);
        assert!(
            super::row(InsightLevel::Ad, &r).is_err(),
            "an ad row needs the ad id"
        );
    }

    #[test]
    fn breakdown_queries_name_the_view_and_the_segment() {
        let q = BreakdownQuery {
            dimension: BreakdownDimension::Device,
            since: date!(2025 - 03 - 01),
            until: date!(2025 - 03 - 02),
            campaign_ids: vec!["11".into()],
        };
        assert_eq!(
            breakdown_gaql(&q).unwrap(),
            "SELECT campaign.id, segments.date, segments.device, metrics.cost_micros, \
             metrics.impressions, metrics.clicks, metrics.conversions, metrics.conversions_value \
             FROM campaign WHERE segments.date BETWEEN '2025-03-01' AND '2025-03-02' \
             AND campaign.id IN (11)"
        );
        let q = BreakdownQuery {
            dimension: BreakdownDimension::Country,
            campaign_ids: vec![],
            ..q
        };
        assert_eq!(
            breakdown_gaql(&q).unwrap(),
            "SELECT campaign.id, segments.date, geographic_view.country_criterion_id, \
             geographic_view.location_type, metrics.cost_micros, metrics.impressions, \
             metrics.clicks, metrics.conversions, metrics.conversions_value FROM geographic_view \
             WHERE segments.date BETWEEN '2025-03-01' AND '2025-03-02' \
             AND geographic_view.location_type = 'LOCATION_OF_PRESENCE'"
        );
        assert_eq!(
            geo_gaql(&["2276".into(), "2840".into()]).unwrap(),
            "SELECT geo_target_constant.id, geo_target_constant.country_code \
             FROM geo_target_constant WHERE geo_target_constant.id IN (2276, 2840)"
        );
        assert!(geo_gaql(&["1 OR 1=1".into()]).is_err());
        assert_eq!(device_of("CONNECTED_TV"), Device::ConnectedTv);
        assert_eq!(device_of("UNKNOWN"), Device::Other);
    }
}
