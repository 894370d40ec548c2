//! Objects KIKI did not create in this process: what a call needs (the
//! account's currency and zone, the campaign's objective and budget) is read
//! from Meta once, and updates send only what Meta lets change.

use kiki_platforms::{
    AdPlatform, AdSetSpec, BidStrategy, CampaignSpec, DeliveryStatus, Objective, Targeting,
};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::support::*;

async fn answer(server: &MockServer, verb: &str, at: &str, body: serde_json::Value) {
    Mock::given(method(verb))
        .and(path(at))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(server)
        .await;
}

fn spec(budget_micros: i64, status: DeliveryStatus) -> AdSetSpec {
    AdSetSpec {
        name: "Tokyo commuters".into(),
        status,
        daily_budget_micros: budget_micros,
        bid: BidStrategy::CostCap {
            micros: 1_500_000_000,
        },
        targeting: Targeting {
            countries: vec!["JP".into()],
            age_min: Some(18),
            age_max: None,
            interests: vec![],
        },
        audience_size: Some(2_000_000),
        start: None,
        end: None,
    }
}

#[tokio::test]
async fn a_yen_ad_set_under_a_campaign_budget_is_created_and_updated() {
    let server = MockServer::start().await;
    answer(
        &server,
        "GET",
        "/v21.0/act_1001",
        json!({"name": "Tokyo", "currency": "JPY", "timezone_name": "Asia/Tokyo", "account_status": 1}),
    )
    .await;
    answer(
        &server,
        "GET",
        "/v21.0/c9",
        json!({"id": "c9", "objective": "OUTCOME_TRAFFIC", "daily_budget": "500000"}),
    )
    .await;
    answer(
        &server,
        "POST",
        "/v21.0/act_1001/adsets",
        json!({"id": "as9"}),
    )
    .await;
    answer(&server, "POST", "/v21.0/as9", json!({"success": true})).await;
    answer(&server, "POST", "/v21.0/c9", json!({"success": true})).await;

    let meta = meta(&server);
    let acc = account();
    let id = meta
        .create_ad_set(&acc, "c9", &spec(5_000_000_000, DeliveryStatus::Active))
        .await
        .unwrap();
    assert_eq!(id, "as9");
    meta.update_ad_set(&acc, "as9", &spec(7_000_000_000, DeliveryStatus::Paused))
        .await
        .unwrap();
    meta.update_campaign(
        &acc,
        "c9",
        &CampaignSpec {
            name: "Commute".into(),
            objective: Objective::Traffic,
            status: DeliveryStatus::Active,
            daily_budget_micros: Some(8_000_000_000),
            start: None,
            end: None,
        },
    )
    .await
    .unwrap();

    let requests = seen(&server).await;
    assert_token_only_in_header(&requests);
    let targeting = r#"{"geo_locations":{"countries":["JP"]},"age_min":18}"#;
    let expected = [
        (
            "GET",
            "/v21.0/act_1001",
            params(&[("fields", "name,currency,timezone_name,account_status")]),
        ),
        (
            "GET",
            "/v21.0/c9",
            params(&[("fields", "objective,daily_budget,lifetime_budget")]),
        ),
        (
            "POST",
            "/v21.0/act_1001/adsets",
            // The campaign carries the budget: none on the ad set. ¥1,500 is
            // 1500 in Meta's units for the yen.
            params(&[
                ("campaign_id", "c9"),
                ("name", "Tokyo commuters"),
                ("billing_event", "IMPRESSIONS"),
                ("optimization_goal", "LINK_CLICKS"),
                ("bid_strategy", "COST_CAP"),
                ("bid_amount", "1500"),
                ("targeting", targeting),
                ("status", "ACTIVE"),
            ]),
        ),
        (
            "POST",
            "/v21.0/as9",
            params(&[
                ("name", "Tokyo commuters"),
                ("bid_strategy", "COST_CAP"),
                ("bid_amount", "1500"),
                ("targeting", targeting),
                ("status", "PAUSED"),
            ]),
        ),
        (
            "POST",
            "/v21.0/c9",
            params(&[
                ("name", "Commute"),
                ("status", "ACTIVE"),
                ("daily_budget", "8000"),
            ]),
        ),
    ];
    assert_eq!(requests.len(), expected.len(), "{requests:#?}");
    for (i, (got, (verb, at, want))) in requests.iter().zip(&expected).enumerate() {
        assert_eq!(
            (got.method.as_str(), got.path.as_str()),
            (*verb, *at),
            "request {i}"
        );
        assert_eq!(&got.params, want, "request {i}: {verb} {at}");
    }
}

#[tokio::test]
async fn interests_and_roas_outside_sales_are_refused_before_calling() {
    let server = MockServer::start().await;
    answer(
        &server,
        "GET",
        "/v21.0/act_1001",
        json!({"name": "Shop", "currency": "USD", "timezone_name": "UTC", "account_status": 1}),
    )
    .await;
    answer(
        &server,
        "GET",
        "/v21.0/c5",
        json!({"id": "c5", "objective": "OUTCOME_LEADS"}),
    )
    .await;
    let meta = meta(&server);
    let mut s = spec(10_000_000, DeliveryStatus::Paused);
    s.targeting.interests = vec!["running".into()];
    let e = meta.create_ad_set(&account(), "c5", &s).await.unwrap_err();
    assert!(
        matches!(&e, kiki_platforms::PlatformError::InvalidRequest { field: Some(f), .. } if f == "targeting.interests"),
        "{e:?}"
    );
    let mut s = spec(10_000_000, DeliveryStatus::Paused);
    s.bid = BidStrategy::TargetRoas { bps: 30_000 };
    let e = meta.create_ad_set(&account(), "c5", &s).await.unwrap_err();
    assert!(
        matches!(&e, kiki_platforms::PlatformError::InvalidRequest { field: Some(f), .. } if f == "bid"),
        "{e:?}"
    );
    // Only the two reads; no ad set was sent.
    assert_eq!(seen(&server).await.len(), 2);
}

#[tokio::test]
async fn a_disabled_account_fails_verification() {
    let server = MockServer::start().await;
    answer(
        &server,
        "GET",
        "/v21.0/act_1001",
        json!({"name": "Shop", "currency": "USD", "timezone_name": "UTC", "account_status": 2}),
    )
    .await;
    let e = meta(&server).verify(&account()).await.unwrap_err();
    assert_eq!(e.code(), "permission", "{e:?}");
}
