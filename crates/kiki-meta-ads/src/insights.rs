//! Daily insights: the query Meta's Insights API ("Ads Insights" reference)
//! is asked, and its rows as [`InsightRow`]s. Spend and values are decimal
//! strings in the account currency, parsed to micros exactly. Purchases are
//! one action type only, so nothing is counted twice: `omni_purchase` (every
//! channel, what Ads Manager shows) when Meta reports it, else `purchase`,
//! else the Pixel's `offsite_conversion.fb_pixel_purchase`; the purchase value
//! is the same type's entry in `action_values`.

use kiki_platforms::{InsightLevel, InsightRow, InsightsQuery, PlatformError};
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
}
