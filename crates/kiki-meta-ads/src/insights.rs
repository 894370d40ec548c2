//! Daily insights: the query Meta's Insights API ("Ads Insights" reference)
//! is asked, and its rows as [`InsightRow`]s. Spend and values are decimal
//! strings in the account currency, parsed to micros exactly. Purchases are
//! one action type only, so nothing is counted twice: `omni_purchase` (every
//! channel, what Ads Manager shows) when Meta reports it, else `purchase`,
//! else the Pixel's `offsite_conversion.fb_pixel_purchase`; the purchase value
//! is the same type's entry in `action_values`.
//!
//! Breakdowns: the same query at campaign level with `breakdowns=country`
//! or `breakdowns=device_platform` (Meta's `mobile_app` and `mobile_web`
//! are both [`Device::Mobile`], `desktop` is desktop, anything else other).

use kiki_platforms::{
    BreakdownDimension, BreakdownQuery, BreakdownRow, Device, InsightLevel, InsightRow,
    InsightsQuery, PlatformError, is_country_code,
};
use serde_json::{Value, json};
use time::Date;
use time::macros::format_description;

use crate::graph::Params;
use crate::money::decimal_to_micros;

/// The action types that count as a purchase, most inclusive first.
const PURCHASE_TYPES: &[&str] = &[
    "omni_purchase",
    "purchase",
    "offsite_conversion.fb_pixel_purchase",
];

/// Rows a page asks for (Meta pages insights; fewer pages, fewer calls).
const PAGE_SIZE: &str = "500";

const METRICS: &str = "spend,impressions,clicks,reach,frequency,actions,action_values";

fn day(d: Date) -> String {
    d.format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_default()
}

/// The query string of the first page.
pub(crate) fn query_params(q: &InsightsQuery) -> Params {
    let (level, ids) = match q.level {
        InsightLevel::Campaign => ("campaign", "campaign_id"),
        InsightLevel::AdSet => ("adset", "campaign_id,adset_id"),
        InsightLevel::Ad => ("ad", "campaign_id,adset_id,ad_id"),
    };
    let mut p: Params = vec![
        ("level", level.into()),
        ("time_increment", "1".into()),
        (
            "time_range",
            json!({ "since": day(q.since), "until": day(q.until) }).to_string(),
        ),
        ("fields", format!("{ids},{METRICS}")),
    ];
    if !q.campaign_ids.is_empty() {
        p.push((
            "filtering",
            json!([{ "field": "campaign.id", "operator": "IN", "value": q.campaign_ids }])
                .to_string(),
        ));
    }
    p.push(("limit", PAGE_SIZE.into()));
    p
}

fn bad(what: &str) -> PlatformError {
    PlatformError::Transient {
        message: format!("Meta's insights answer is malformed: {what}"),
    }
}

fn text<'a>(row: &'a Value, key: &str) -> Option<&'a str> {
    row.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

fn count(row: &Value, key: &str) -> Result<Option<u64>, PlatformError> {
    match row.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| bad(key)),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(|| bad(key)),
        Some(_) => Err(bad(key)),
    }
}

/// The value of `action_type` in a list of `{action_type, value}`.
fn action<'a>(row: &'a Value, list: &str, action_type: &str) -> Option<&'a Value> {
    row.get(list)?
        .as_array()?
        .iter()
        .find(|a| a.get("action_type").and_then(Value::as_str) == Some(action_type))?
        .get("value")
}

fn decimal_str(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Purchases and their value: the first of [`PURCHASE_TYPES`] present.
fn purchases(row: &Value) -> Result<(f64, i64), PlatformError> {
    for t in PURCHASE_TYPES {
        if let Some(n) = action(row, "actions", t) {
            let n: f64 = decimal_str(n)
                .and_then(|s| s.trim().parse().ok())
                .filter(|n: &f64| n.is_finite())
                .ok_or_else(|| bad("actions"))?;
            let value = match action(row, "action_values", t) {
                Some(v) => decimal_str(v)
                    .and_then(|s| decimal_to_micros(&s))
                    .ok_or_else(|| bad("action_values"))?,
                None => 0,
            };
            return Ok((n, value));
        }
    }
    Ok((0.0, 0))
}

/// The rows of one page (`{"data": [...], "paging": {...}}`).
pub(crate) fn parse_page(
    page: &Value,
    level: InsightLevel,
) -> Result<Vec<InsightRow>, PlatformError> {
    let data = page
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("no data list"))?;
    data.iter().map(|row| parse_row(row, level)).collect()
}

fn parse_row(row: &Value, level: InsightLevel) -> Result<InsightRow, PlatformError> {
    let day = text(row, "date_start")
        .and_then(|d| Date::parse(d, format_description!("[year]-[month]-[day]")).ok())
        .ok_or_else(|| bad("date_start"))?;
    let campaign_id = text(row, "campaign_id")
        .ok_or_else(|| bad("campaign_id"))?
        .to_owned();
    let ad_set_id = text(row, "adset_id").map(str::to_owned);
    let ad_id = text(row, "ad_id").map(str::to_owned);
    match level {
        InsightLevel::AdSet if ad_set_id.is_none() => return Err(bad("adset_id")),
        InsightLevel::Ad if ad_id.is_none() => return Err(bad("ad_id")),
        _ => {}
    }
    let spend_micros = match row.get("spend") {
        None | Some(Value::Null) => 0,
        Some(v) => decimal_str(v)
            .and_then(|s| decimal_to_micros(&s))
            .ok_or_else(|| bad("spend"))?,
    };
    let frequency = match row.get("frequency") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            decimal_str(v)
                .and_then(|s| s.trim().parse::<f64>().ok())
                .filter(|f| f.is_finite())
                .ok_or_else(|| bad("frequency"))?,
        ),
    };
    let (conversions, conversion_value_micros) = purchases(row)?;
    Ok(InsightRow {
        day,
        campaign_id,
        ad_set_id,
        ad_id,
        spend_micros,
        impressions: count(row, "impressions")?.unwrap_or(0),
        clicks: count(row, "clicks")?.unwrap_or(0),
        conversions,
        conversion_value_micros,
        reach: count(row, "reach")?,
        frequency,
    })
}

/// The breakdown Meta is asked for: `country` (ISO 3166-1 alpha-2, as Meta
/// writes it) or `device_platform` (`mobile_app`, `mobile_web`,
/// `desktop`), at campaign level per day.
fn breakdown_name(d: BreakdownDimension) -> &'static str {
    match d {
        BreakdownDimension::Country => "country",
        BreakdownDimension::Device => "device_platform",
    }
}

/// The query string of a breakdown's first page.
pub(crate) fn breakdown_params(q: &BreakdownQuery) -> Params {
    let mut p: Params = vec![
        ("level", "campaign".into()),
        ("time_increment", "1".into()),
        (
            "time_range",
            json!({ "since": day(q.since), "until": day(q.until) }).to_string(),
        ),
        ("breakdowns", breakdown_name(q.dimension).into()),
        (
            "fields",
            "campaign_id,spend,impressions,clicks,actions,action_values".into(),
        ),
    ];
    if !q.campaign_ids.is_empty() {
        p.push((
            "filtering",
            json!([{ "field": "campaign.id", "operator": "IN", "value": q.campaign_ids }])
                .to_string(),
        ));
    }
    p.push(("limit", PAGE_SIZE.into()));
    p
}

/// Meta's device platform as a [`Device`]: both mobile surfaces are mobile.
pub(crate) fn device_of(meta: &str) -> Device {
    match meta {
        "mobile_app" | "mobile_web" => Device::Mobile,
        "desktop" => Device::Desktop,
        _ => Device::Other,
    }
}

/// A breakdown row's value: the country code (`ZZ`, the code for an
/// unknown country, when Meta writes `unknown` or nothing a code), or the
/// device.
fn breakdown_value(row: &Value, d: BreakdownDimension) -> String {
    match d {
        BreakdownDimension::Country => text(row, "country")
            .map(str::to_ascii_uppercase)
            .filter(|c| is_country_code(c))
            .unwrap_or_else(|| UNKNOWN_COUNTRY.to_owned()),
        BreakdownDimension::Device => device_of(text(row, "device_platform").unwrap_or(""))
            .as_str()
            .to_owned(),
    }
}

/// The code rows of an unknown country carry (ISO 3166-1 leaves `ZZ` to
/// users; CLDR uses it for "unknown region").
pub const UNKNOWN_COUNTRY: &str = "ZZ";

/// The rows of one breakdown page, before rows that map to the same value
/// (`mobile_app` and `mobile_web`) are summed by [`merge_breakdown`].
pub(crate) fn parse_breakdown_page(
    page: &Value,
    d: BreakdownDimension,
) -> Result<Vec<BreakdownRow>, PlatformError> {
    let data = page
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("no data list"))?;
    data.iter()
        .map(|row| {
            let r = parse_row(row, InsightLevel::Campaign)?;
            Ok(BreakdownRow {
                day: r.day,
                campaign_id: r.campaign_id,
                value: breakdown_value(row, d),
                spend_micros: r.spend_micros,
                impressions: r.impressions,
                clicks: r.clicks,
                conversions: r.conversions,
                conversion_value_micros: r.conversion_value_micros,
            })
        })
        .collect()
}

/// Sums rows with the same day, campaign and value; sorted by them.
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
    use time::macros::date;

    #[test]
    fn the_query_asks_for_days_at_the_level() {
        let q = InsightsQuery {
            level: InsightLevel::AdSet,
            since: date!(2025 - 03 - 01),
            until: date!(2025 - 03 - 07),
            campaign_ids: vec!["120".into(), "121".into()],
        };
        let p = query_params(&q);
        assert_eq!(
            p,
            vec![
                ("level", "adset".to_owned()),
                ("time_increment", "1".to_owned()),
                (
                    "time_range",
                    r#"{"since":"2025-03-01","until":"2025-03-07"}"#.to_owned()
                ),
                (
                    "fields",
                    "campaign_id,adset_id,spend,impressions,clicks,reach,frequency,actions,action_values"
                        .to_owned()
                ),
                (
                    "filtering",
                    r#"[{"field":"campaign.id","operator":"IN","value":["120","121"]}]"#.to_owned()
                ),
                ("limit", "500".to_owned()),
            ]
        );
    }

    #[test]
    fn purchases_are_counted_once() {
        let row = json!({
            "actions": [
                {"action_type": "link_click", "value": "40"},
                {"action_type": "offsite_conversion.fb_pixel_purchase", "value": "3"},
                {"action_type": "purchase", "value": "3"},
                {"action_type": "omni_purchase", "value": "4"}
            ],
            "action_values": [
                {"action_type": "offsite_conversion.fb_pixel_purchase", "value": "150.00"},
                {"action_type": "purchase", "value": "150.00"},
                {"action_type": "omni_purchase", "value": "199.99"}
            ]
        });
        assert_eq!(purchases(&row).unwrap(), (4.0, 199_990_000));
        let pixel_only = json!({
            "actions": [{"action_type": "offsite_conversion.fb_pixel_purchase", "value": "2"}],
            "action_values": [{"action_type": "offsite_conversion.fb_pixel_purchase", "value": "80.5"}]
        });
        assert_eq!(purchases(&pixel_only).unwrap(), (2.0, 80_500_000));
        assert_eq!(purchases(&json!({})).unwrap(), (0.0, 0));
    }

    #[test]
    fn a_malformed_row_is_refused_not_guessed() {
        let row = json!({"date_start": "2025-03-01", "campaign_id": "1", "spend": "abc"});
        assert!(parse_row(&row, InsightLevel::Campaign).is_err());
        let row = json!({"date_start": "2025-03-01", "campaign_id": "1"});
        assert!(parse_row(&row, InsightLevel::Ad).is_err());
        let r = parse_row(&row, InsightLevel::Campaign).unwrap();
        assert_eq!((r.spend_micros, r.impressions, r.reach), (0, 0, None));
    }

    #[test]
    fn breakdowns_ask_for_country_or_device_platform_and_merge_mobile() {
        let q = BreakdownQuery {
            dimension: BreakdownDimension::Device,
            since: date!(2025 - 03 - 01),
            until: date!(2025 - 03 - 01),
            campaign_ids: vec![],
        };
        let p = breakdown_params(&q);
        assert!(p.contains(&("breakdowns", "device_platform".to_owned())));
        assert!(p.contains(&("level", "campaign".to_owned())));
        let page = json!({"data": [
            {"date_start": "2025-03-01", "campaign_id": "1", "device_platform": "mobile_app", "spend": "10.50", "impressions": "100", "clicks": "7"},
            {"date_start": "2025-03-01", "campaign_id": "1", "device_platform": "mobile_web", "spend": "0.25", "impressions": "20", "clicks": "1"},
            {"date_start": "2025-03-01", "campaign_id": "1", "device_platform": "desktop", "spend": "3", "impressions": "30", "clicks": "2"},
            {"date_start": "2025-03-01", "campaign_id": "1", "device_platform": "smart_fridge", "spend": "1", "impressions": "1"}
        ]});
        let rows =
            merge_breakdown(parse_breakdown_page(&page, BreakdownDimension::Device).unwrap());
        let got: Vec<(&str, i64, u64, u64)> = rows
            .iter()
            .map(|r| (r.value.as_str(), r.spend_micros, r.impressions, r.clicks))
            .collect();
        assert_eq!(
            got,
            vec![
                ("desktop", 3_000_000, 30, 2),
                ("mobile", 10_750_000, 120, 8),
                ("other", 1_000_000, 1, 0),
            ]
        );
        let page = json!({"data": [
            {"date_start": "2025-03-01", "campaign_id": "1", "country": "de", "spend": "1"},
            {"date_start": "2025-03-01", "campaign_id": "1", "country": "unknown", "spend": "2"}
        ]});
        let rows = parse_breakdown_page(&page, BreakdownDimension::Country).unwrap();
        assert_eq!(rows[0].value, "DE");
        assert_eq!(rows[1].value, UNKNOWN_COUNTRY);
    }
}
