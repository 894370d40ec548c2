//! Insights: every page is fetched by following `paging.next`, purchases are
//! counted once, and spend strings become micros exactly.

use kiki_platforms::{AdPlatform, InsightLevel, InsightsQuery};
use serde_json::{Value, json};
use time::macros::date;
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, ResponseTemplate};

use crate::support::*;

fn row(day: &str, ad: &str, spend: &str, actions: Value, values: Value) -> Value {
    json!({
        "campaign_id": "c1", "adset_id": "as1", "ad_id": ad,
        "date_start": day, "date_stop": day,
        "spend": spend, "impressions": "12000", "clicks": "321",
        "reach": "9000", "frequency": "1.333333",
        "actions": actions, "action_values": values
    })
}

#[tokio::test]
async fn two_pages_are_followed_and_purchases_counted_once() {
    let server = MockServer::start().await;
    // Meta's next link carries the cursor (and, when the token went in the
    // query, the token itself: it must not be sent back that way).
    let next = format!(
        "{}/v21.0/act_1001/insights?access_token=LEAKED&level=ad&limit=500&after=CURSOR2",
        server.uri()
    );
    Mock::given(method("GET"))
        .and(path("/v21.0/act_1001/insights"))
        .and(query_param_is_missing("after"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [
                row("2025-03-01", "ad1", "1234.56",
                    json!([{"action_type": "link_click", "value": "300"},
                           {"action_type": "purchase", "value": "5"},
                           {"action_type": "omni_purchase", "value": "6"},
                           {"action_type": "offsite_conversion.fb_pixel_purchase", "value": "5"}]),
                    json!([{"action_type": "purchase", "value": "400.10"},
                           {"action_type": "omni_purchase", "value": "480.30"},
                           {"action_type": "offsite_conversion.fb_pixel_purchase", "value": "400.10"}])),
                row("2025-03-01", "ad2", "0.29",
                    json!([{"action_type": "purchase", "value": "1"}]),
                    json!([{"action_type": "purchase", "value": "19.99"}])),
            ],
            "paging": {"cursors": {"before": "A", "after": "CURSOR2"}, "next": next}
        })))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v21.0/act_1001/insights"))
        .and(query_param("after", "CURSOR2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [
                row("2025-03-02", "ad1", "1000.01",
                    json!([{"action_type": "offsite_conversion.fb_pixel_purchase", "value": "2"}]),
                    json!([{"action_type": "offsite_conversion.fb_pixel_purchase", "value": "75.5"}])),
                row("2025-03-02", "ad2", "0", json!([]), json!([])),
            ],
            "paging": {"cursors": {"before": "B", "after": "C"}}
        })))
        .expect(1)
        .mount(&server)
        .await;

    let rows = meta(&server)
        .insights(
            &account(),
            &InsightsQuery {
                level: InsightLevel::Ad,
                since: date!(2025 - 03 - 01),
                until: date!(2025 - 03 - 02),
                campaign_ids: vec!["c1".into()],
            },
        )
        .await
        .unwrap();

    assert_eq!(rows.len(), 4);
    let r = &rows[0];
    assert_eq!(r.day, date!(2025 - 03 - 01));
    assert_eq!(
        (
            r.campaign_id.as_str(),
            r.ad_set_id.as_deref(),
            r.ad_id.as_deref()
        ),
        ("c1", Some("as1"), Some("ad1"))
    );
    assert_eq!(r.spend_micros, 1_234_560_000);
    assert_eq!(
        (r.impressions, r.clicks, r.reach),
        (12_000, 321, Some(9_000))
    );
    assert_eq!(r.frequency, Some(1.333333));
    // omni_purchase only: not 6 + 5 + 5.
    assert_eq!(r.conversions, 6.0);
    assert_eq!(r.conversion_value_micros, 480_300_000);
    // 0.29 as a float is 0.28999999999999998; parsed as a decimal it is exact.
    assert_eq!(rows[1].spend_micros, 290_000);
    assert_eq!(
        (rows[1].conversions, rows[1].conversion_value_micros),
        (1.0, 19_990_000)
    );
    assert_eq!(rows[2].spend_micros, 1_000_010_000);
    assert_eq!(
        (rows[2].conversions, rows[2].conversion_value_micros),
        (2.0, 75_500_000)
    );
    assert_eq!((rows[3].spend_micros, rows[3].conversions), (0, 0.0));

    let requests = seen(&server).await;
    assert_eq!(requests.len(), 2);
    assert_token_only_in_header(&requests);
    assert_eq!(
        requests[0].params,
        params(&[
            ("level", "ad"),
            ("time_increment", "1"),
            (
                "time_range",
                r#"{"since":"2025-03-01","until":"2025-03-02"}"#
            ),
            (
                "fields",
                "campaign_id,adset_id,ad_id,spend,impressions,clicks,reach,frequency,actions,action_values"
            ),
            (
                "filtering",
                r#"[{"field":"campaign.id","operator":"IN","value":["c1"]}]"#
            ),
            ("limit", "500"),
        ])
    );
    assert_eq!(
        requests[1].params,
        params(&[("level", "ad"), ("limit", "500"), ("after", "CURSOR2")])
    );
    assert!(!requests[1].raw.contains("LEAKED"));
}

#[tokio::test]
async fn a_next_link_to_another_host_is_not_followed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v21.0/act_1001/insights"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "data": [],
            "paging": {"next": "https://attacker.example/v21.0/act_1001/insights?after=X"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let e = meta(&server)
        .insights(
            &account(),
            &InsightsQuery {
                level: InsightLevel::Campaign,
                since: date!(2025 - 03 - 01),
                until: date!(2025 - 03 - 01),
                campaign_ids: vec![],
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "transient", "{e:?}");
}
