//! Breakdowns: devices from `segments.device` on `campaign`; countries from
//! `geographic_view` (location of presence), the country criterion ids
//! resolved to ISO codes by a query on `geo_target_constant`.

use kiki_platforms::{AdPlatform, BreakdownAnswer, BreakdownDimension, BreakdownQuery};
use serde_json::{Value, json};
use time::macros::date;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::support::*;

fn query(dimension: BreakdownDimension) -> BreakdownQuery {
    BreakdownQuery {
        dimension,
        since: date!(2025 - 03 - 01),
        until: date!(2025 - 03 - 01),
        campaign_ids: vec![],
    }
}

async fn bodies(server: &MockServer) -> Vec<(String, String)> {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let b: Value = serde_json::from_slice(&r.body).unwrap();
            (
                r.url.path().to_owned(),
                b["query"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn devices_come_from_segments_device() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v23/customers/{CUSTOMER}/googleAds:searchStream")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{ "results": [
            { "campaign": { "id": "11" }, "segments": { "date": "2025-03-01", "device": "MOBILE" },
              "metrics": { "costMicros": "7000000", "impressions": "700", "clicks": "21",
                           "conversions": 1.5, "conversionsValue": 45.5 } },
            { "campaign": { "id": "11" }, "segments": { "date": "2025-03-01", "device": "DESKTOP" },
              "metrics": { "costMicros": "3000000", "impressions": "300", "clicks": "9" } },
            { "campaign": { "id": "11" }, "segments": { "date": "2025-03-01", "device": "CONNECTED_TV" },
              "metrics": { "costMicros": "500000", "impressions": "50" } },
            { "campaign": { "id": "11" }, "segments": { "date": "2025-03-01", "device": "OTHER" },
              "metrics": { "costMicros": "100000", "impressions": "10" } },
            { "campaign": { "id": "11" }, "segments": { "date": "2025-03-01", "device": "UNKNOWN" },
              "metrics": { "costMicros": "20000", "impressions": "2" } }
        ]}])))
        .expect(1)
        .mount(&server)
        .await;
    let (google, _) = connector(&server, config(&server), 1);
    let answer = google
        .fetch_breakdown_insights(&account(), &query(BreakdownDimension::Device))
        .await
        .unwrap();
    let BreakdownAnswer::Reported { rows } = answer else {
        panic!("Google Ads reports devices: {answer:?}");
    };
    let got: Vec<(&str, i64, u64, u64, f64, i64)> = rows
        .iter()
        .map(|r| {
            (
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
            ("connected_tv", 500_000, 50, 0, 0.0, 0),
            ("desktop", 3_000_000, 300, 9, 0.0, 0),
            ("mobile", 7_000_000, 700, 21, 1.5, 45_500_000),
            // OTHER and UNKNOWN are both other.
            ("other", 120_000, 12, 0, 0.0, 0),
        ]
    );
    let seen = bodies(&server).await;
    assert_eq!(seen.len(), 1);
    assert!(seen[0].1.contains("segments.device"), "{}", seen[0].1);
    assert!(seen[0].1.contains("FROM campaign "), "{}", seen[0].1);
}

#[tokio::test]
async fn countries_are_resolved_through_geo_target_constants() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v23/customers/{CUSTOMER}/googleAds:searchStream")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([{ "results": [
            { "campaign": { "id": "11" }, "segments": { "date": "2025-03-01" },
              "geographicView": { "resourceName": "customers/1234567890/geographicViews/2840~LOCATION_OF_PRESENCE",
                                  "countryCriterionId": "2840", "locationType": "LOCATION_OF_PRESENCE" },
              "metrics": { "costMicros": "8000000", "impressions": "800", "clicks": "30",
                           "conversions": 2, "conversionsValue": 120 } },
            { "campaign": { "id": "11" }, "segments": { "date": "2025-03-01" },
              "geographicView": { "countryCriterionId": "2276", "locationType": "LOCATION_OF_PRESENCE" },
              "metrics": { "costMicros": "1500000", "impressions": "150", "clicks": "4" } },
            { "campaign": { "id": "11" }, "segments": { "date": "2025-03-01" },
              "geographicView": { "countryCriterionId": "9999999", "locationType": "LOCATION_OF_PRESENCE" },
              "metrics": { "costMicros": "10000", "impressions": "1" } }
        ]}])))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v23/customers/{CUSTOMER}/googleAds:search")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "results": [
            { "geoTargetConstant": { "resourceName": "geoTargetConstants/2276", "id": "2276", "countryCode": "DE" } },
            { "geoTargetConstant": { "resourceName": "geoTargetConstants/2840", "id": "2840", "countryCode": "US" } }
        ]})))
        .expect(1)
        .mount(&server)
        .await;
    let (google, _) = connector(&server, config(&server), 1);
    let answer = google
        .fetch_breakdown_insights(&account(), &query(BreakdownDimension::Country))
        .await
        .unwrap();
    let BreakdownAnswer::Reported { rows } = answer else {
        panic!("Google Ads reports countries: {answer:?}");
    };
    let got: Vec<(&str, &str, i64, u64, f64, i64)> = rows
        .iter()
        .map(|r| {
            (
                r.campaign_id.as_str(),
                r.value.as_str(),
                r.spend_micros,
                r.clicks,
                r.conversions,
                r.conversion_value_micros,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("11", "DE", 1_500_000, 4, 0.0, 0),
            ("11", "US", 8_000_000, 30, 2.0, 120_000_000),
            // A criterion Google's constants do not name: unknown.
            ("11", "ZZ", 10_000, 0, 0.0, 0),
        ]
    );
    let seen = bodies(&server).await;
    assert_eq!(seen.len(), 2);
    assert!(seen[0].0.ends_with("googleAds:searchStream"));
    assert!(
        seen[0].1.contains("FROM geographic_view")
            && seen[0]
                .1
                .contains("geographic_view.location_type = 'LOCATION_OF_PRESENCE'"),
        "{}",
        seen[0].1
    );
    assert!(seen[1].0.ends_with("googleAds:search"));
    assert_eq!(
        seen[1].1,
        "SELECT geo_target_constant.id, geo_target_constant.country_code \
         FROM geo_target_constant WHERE geo_target_constant.id IN (2276, 2840, 9999999)"
    );
}
