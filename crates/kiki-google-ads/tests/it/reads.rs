//! Reading: search pages by `nextPageToken`; searchStream batches; int64
//! fields as strings; conversion value to micros.

use kiki_platforms::{AdPlatform, InsightLevel, InsightsQuery};
use serde_json::{Value, json};
use time::macros::date;
use wiremock::matchers::{method, path};
use wiremock::{Mock, Request, ResponseTemplate};

use crate::support::*;

#[tokio::test]
async fn search_follows_next_page_tokens_and_counts_one_operation() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v23/customers/{CUSTOMER}/googleAds:search")))
        .respond_with(|req: &Request| {
            let body: Value = serde_json::from_slice(&req.body).unwrap();
            match body.get("pageToken").and_then(Value::as_str) {
                None => ResponseTemplate::new(200).set_body_json(json!({ "results": [], "nextPageToken": "page-2" })),
                Some("page-2") => ResponseTemplate::new(200).set_body_json(json!({
                    "results": [{ "customer": { "descriptiveName": "Acme", "currencyCode": "USD", "timeZone": "America/New_York" } }],
                    "nextPageToken": "page-3"
                })),
                Some(_) => ResponseTemplate::new(200).set_body_json(json!({ "results": [] })),
            }
        })
        .expect(3)
        .mount(&server)
        .await;
    let (google, _) = connector(&server, config(&server), 1);
    let info = google.verify(&account()).await.unwrap();
    assert_eq!(info.name, "Acme");
    assert_eq!(info.currency, "USD");
    let bodies: Vec<Value> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(bodies[1]["pageToken"], "page-2");
    assert_eq!(bodies[2]["pageToken"], "page-3");
    assert!(
        bodies
            .iter()
            .all(|b| b["query"].as_str().unwrap().ends_with("FROM customer"))
    );
    // One query, one operation (Google's rate sheet), however many pages.
    let q = google.quota(CUSTOMER).unwrap();
    assert!((q.used_pct - 100.0 / 15_000.0).abs() < 1e-9, "{q:?}");
}

#[tokio::test]
async fn search_stream_batches_are_all_read_with_int64_strings() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v23/customers/{CUSTOMER}/googleAds:searchStream")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([
            { "results": [
                { "campaign": { "resourceName": "customers/1234567890/campaigns/11", "id": "11" },
                  "adGroup": { "id": "21" }, "adGroupAd": { "ad": { "id": "31" } },
                  "segments": { "date": "2025-03-01" },
                  "metrics": { "costMicros": "1230000", "impressions": "1000", "clicks": "40",
                               "conversions": 2.5, "conversionsValue": 123.456789 } },
                { "campaign": { "id": "11" }, "adGroup": { "id": "21" }, "adGroupAd": { "ad": { "id": "31" } },
                  "segments": { "date": "2025-03-02" },
                  "metrics": { "costMicros": "9007199254740993", "impressions": "7" } }
              ], "fieldMask": "campaign.id,adGroup.id,adGroupAd.ad.id,segments.date,metrics.costMicros" },
            { "results": [
                { "campaign": { "id": "12" }, "adGroup": { "id": "22" }, "adGroupAd": { "ad": { "id": "32" } },
                  "segments": { "date": "2025-03-01" },
                  "metrics": { "costMicros": "500000", "impressions": "10", "clicks": "1",
                               "conversions": 0.3333333, "conversionsValue": 0.1 } }
              ], "requestId": "r-1" }
        ])))
        .expect(1)
        .mount(&server)
        .await;
    let (google, _) = connector(&server, config(&server), 1);
    let rows = google
        .insights(
            &account(),
            &InsightsQuery {
                level: InsightLevel::Ad,
                since: date!(2025 - 03 - 01),
                until: date!(2025 - 03 - 02),
                campaign_ids: vec!["11".into(), "12".into()],
            },
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].day, date!(2025 - 03 - 01));
    assert_eq!(
        (
            rows[0].campaign_id.as_str(),
            rows[0].ad_set_id.as_deref(),
            rows[0].ad_id.as_deref()
        ),
        ("11", Some("21"), Some("21~31"))
    );
    assert_eq!(rows[0].spend_micros, 1_230_000);
    assert_eq!((rows[0].impressions, rows[0].clicks), (1000, 40));
    assert_eq!(rows[0].conversions, 2.5);
    assert_eq!(rows[0].conversion_value_micros, 123_456_789);
    assert_eq!(rows[0].reach, None);
    // Beyond 2^53: read from the string, exactly.
    assert_eq!(rows[1].spend_micros, 9_007_199_254_740_993);
    assert_eq!(
        (
            rows[1].clicks,
            rows[1].conversions,
            rows[1].conversion_value_micros
        ),
        (0, 0.0, 0)
    );
    assert_eq!(rows[2].campaign_id, "12");
    assert_eq!(rows[2].conversion_value_micros, 100_000);
    let req = &server.received_requests().await.unwrap()[0];
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(
        body["query"],
        "SELECT campaign.id, ad_group.id, ad_group_ad.ad.id, segments.date, metrics.cost_micros, \
         metrics.impressions, metrics.clicks, metrics.conversions, metrics.conversions_value \
         FROM ad_group_ad WHERE segments.date BETWEEN '2025-03-01' AND '2025-03-02' AND campaign.id IN (11, 12)"
    );
}

#[tokio::test]
async fn campaign_level_insights_query_the_campaign_resource() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/v23/customers/{CUSTOMER}/googleAds:searchStream"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    let (google, _) = connector(&server, config(&server), 1);
    let q = InsightsQuery {
        level: InsightLevel::Campaign,
        since: date!(2025 - 03 - 01),
        until: date!(2025 - 03 - 01),
        campaign_ids: vec![],
    };
    assert!(google.insights(&account(), &q).await.unwrap().is_empty());
    let body: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    let query = body["query"].as_str().unwrap();
    assert!(
        query.starts_with("SELECT campaign.id, segments.date,"),
        "{query}"
    );
    assert!(
        query.ends_with("FROM campaign WHERE segments.date BETWEEN '2025-03-01' AND '2025-03-01'"),
        "{query}"
    );
}
