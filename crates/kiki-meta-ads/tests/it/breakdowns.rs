//! Breakdowns: `breakdowns=country` and `breakdowns=device_platform` at
//! campaign level per day, every page followed, Meta's device values mapped
//! onto KIKI's devices (both mobile surfaces summed), purchases counted once.

use kiki_platforms::{AdPlatform, BreakdownAnswer, BreakdownDimension, BreakdownQuery};
use serde_json::{Value, json};
use time::macros::date;
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, ResponseTemplate};

use crate::support::*;

fn row(day: &str, key: &str, value: &str, spend: &str, impressions: &str, clicks: &str) -> Value {
    json!({
        "campaign_id": "c1", "date_start": day, "date_stop": day, key: value,
        "spend": spend, "impressions": impressions, "clicks": clicks,
        "actions": [{"action_type": "omni_purchase", "value": "2"},
                    {"action_type": "purchase", "value": "2"}],
        "action_values": [{"action_type": "omni_purchase", "value": "80.10"},
                          {"action_type": "purchase", "value": "80.10"}]
    })
}

fn query(dimension: BreakdownDimension) -> BreakdownQuery {
    BreakdownQuery {
        dimension,
        since: date!(2025 - 03 - 01),
        until: date!(2025 - 03 - 02),
        campaign_ids: vec!["c1".into()],
    }
}

#[tokio::test]
async fn device_platform_rows_map_to_devices_and_mobile_is_summed() {
    let server = MockServer::start().await;
    let next = format!(
        "{}/v21.0/act_1001/insights?level=campaign&limit=500&after=NEXT",
        server.uri()
    );
    Mock::given(method("GET"))
        .and(path("/v21.0/act_1001/insights"))
        .and(query_param("breakdowns", "device_platform"))
        .and(query_param_is_missing("after"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [
                row("2025-03-01", "device_platform", "mobile_app", "100.25", "9000", "300"),
                row("2025-03-01", "device_platform", "desktop", "20.00", "1000", "40"),
            ],
            "paging": {"next": next}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v21.0/act_1001/insights"))
        .and(query_param("after", "NEXT"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [
                row("2025-03-01", "device_platform", "mobile_web", "5.50", "500", "10"),
                row("2025-03-02", "device_platform", "desktop", "1.01", "10", "1"),
            ]
        })))
        .expect(1)
        .mount(&server)
        .await;

    let answer = meta(&server)
        .fetch_breakdown_insights(&account(), &query(BreakdownDimension::Device))
        .await
        .unwrap();
    let BreakdownAnswer::Reported { rows } = answer else {
        panic!("Meta reports devices: {answer:?}");
    };
    let got: Vec<(String, &str, i64, u64, u64, f64, i64)> = rows
        .iter()
        .map(|r| {
            (
                r.day.to_string(),
                r.value.as_str(),
                r.spend_micros,
                r.impressions,
                r.clicks,
                r.conversions,
                r.conversion_value_micros,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "2025-03-01".into(),
                "desktop",
                20_000_000,
                1_000,
                40,
                2.0,
                80_100_000
            ),
            // mobile_app + mobile_web: 100.25 + 5.50; 2 + 2 purchases.
            (
                "2025-03-01".into(),
                "mobile",
                105_750_000,
                9_500,
                310,
                4.0,
                160_200_000
            ),
            (
                "2025-03-02".into(),
                "desktop",
                1_010_000,
                10,
                1,
                2.0,
                80_100_000
            ),
        ]
    );

    let requests = seen(&server).await;
    assert_eq!(requests.len(), 2);
    assert_token_only_in_header(&requests);
    assert_eq!(
        requests[0].params,
        params(&[
            ("level", "campaign"),
            ("time_increment", "1"),
            (
                "time_range",
                r#"{"since":"2025-03-01","until":"2025-03-02"}"#
            ),
            ("breakdowns", "device_platform"),
            (
                "fields",
                "campaign_id,spend,impressions,clicks,actions,action_values"
            ),
            (
                "filtering",
                r#"[{"field":"campaign.id","operator":"IN","value":["c1"]}]"#
            ),
            ("limit", "500"),
        ])
    );
}

#[tokio::test]
async fn country_rows_carry_iso_codes() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v21.0/act_1001/insights"))
        .and(query_param("breakdowns", "country"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [
                row("2025-03-01", "country", "US", "12.34", "1000", "20"),
                row("2025-03-01", "country", "DE", "0.66", "100", "3"),
            ]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let answer = meta(&server)
        .fetch_breakdown_insights(&account(), &query(BreakdownDimension::Country))
        .await
        .unwrap();
    let BreakdownAnswer::Reported { rows } = answer else {
        panic!("Meta reports countries: {answer:?}");
    };
    let got: Vec<(&str, &str, i64)> = rows
        .iter()
        .map(|r| (r.campaign_id.as_str(), r.value.as_str(), r.spend_micros))
        .collect();
    assert_eq!(got, vec![("c1", "DE", 660_000), ("c1", "US", 12_340_000)]);
    let requests = seen(&server).await;
    assert_eq!(
        requests[0].params.get("breakdowns"),
        Some(&Value::String("country".into()))
    );
}
