//! The daily operations quota and Google's waits: operations counted per
//! account and UTC day; RESOURCE_EXHAUSTED's retry delay honoured without
//! calling Google again until it passes.

use kiki_platforms::{
    AdPlatform, AdSetSpec, BidStrategy, DeliveryStatus, PlatformError, Targeting,
};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::support::*;

#[tokio::test]
async fn resource_exhausted_waits_the_retry_delay_without_calling_google() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v23/customers/{CUSTOMER}/googleAds:search")))
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({ "error": {
            "code": 429, "message": "Resource has been exhausted (e.g. check quota).", "status": "RESOURCE_EXHAUSTED",
            "details": [{
                "@type": "type.googleapis.com/google.ads.googleads.v23.errors.GoogleAdsFailure",
                "errors": [{
                    "errorCode": { "quotaError": "RESOURCE_TEMPORARILY_EXHAUSTED" },
                    "message": "Too many requests. Retry in 30 seconds.",
                    "details": { "quotaErrorDetails": { "rateScope": "ACCOUNT", "rateName": "Requests per account", "retryDelay": "30s" } }
                }]
            }]
        }})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    fake_google(&server).await;
    let (google, clock) = connector(&server, config(&server), 1);
    match google.verify(&account()).await.unwrap_err() {
        PlatformError::RateLimited {
            retry_after_secs,
            message,
        } => {
            assert_eq!(retry_after_secs, 30);
            assert!(
                message.contains("RESOURCE_TEMPORARILY_EXHAUSTED"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    let q = google.quota(CUSTOMER).unwrap();
    assert_eq!(q.wait_secs, 30);
    assert!(q.should_back_off());
    clock.advance(10);
    match google.verify(&account()).await.unwrap_err() {
        PlatformError::RateLimited {
            retry_after_secs, ..
        } => assert_eq!(retry_after_secs, 20),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "the wait is kept without calling Google"
    );
    // Another account is not held up.
    let mut other = account();
    other.account_id = "1111111111".into();
    assert_eq!(google.quota("1111111111").unwrap().wait_secs, 0);
    let _ = other;
    clock.advance(20);
    assert_eq!(google.quota(CUSTOMER).unwrap().wait_secs, 0);
    google.verify(&account()).await.unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn operations_are_counted_per_utc_day_and_the_last_tenth_is_kept_in_reserve() {
    let server = MockServer::start().await;
    fake_google(&server).await;
    let mut cfg = config(&server);
    cfg.daily_operations_limit = 10;
    let (google, clock) = connector(&server, cfg, 1);
    let acct = account();
    // One search: 1 operation.
    google.verify(&acct).await.unwrap();
    assert!((google.quota(CUSTOMER).unwrap().used_pct - 10.0).abs() < 1e-9);
    // An ad group (1) with three keywords (3): 4 more.
    let spec = AdSetSpec {
        name: "Road".into(),
        status: DeliveryStatus::Active,
        daily_budget_micros: 0,
        bid: BidStrategy::HighestValue,
        targeting: Targeting {
            interests: vec!["a".into(), "b".into(), "c".into()],
            ..Targeting::default()
        },
        audience_size: None,
        start: None,
        end: None,
    };
    google.create_ad_set(&acct, "101", &spec).await.unwrap();
    assert!((google.quota(CUSTOMER).unwrap().used_pct - 50.0).abs() < 1e-9);
    google.create_ad_set(&acct, "101", &spec).await.unwrap();
    let q = google.quota(CUSTOMER).unwrap();
    assert!((q.used_pct - 90.0).abs() < 1e-9, "{q:?}");
    assert!(q.should_back_off());
    let sent = server.received_requests().await.unwrap().len();
    match google.verify(&acct).await.unwrap_err() {
        // 09:00 UTC: 15 hours to the next UTC day.
        PlatformError::RateLimited {
            retry_after_secs, ..
        } => assert_eq!(retry_after_secs, 15 * 3600),
        other => panic!("{other:?}"),
    }
    assert_eq!(server.received_requests().await.unwrap().len(), sent);
    clock.advance(15 * 3600);
    assert_eq!(google.quota(CUSTOMER).unwrap().used_pct, 0.0);
    google.verify(&acct).await.unwrap();
    assert!((google.quota(CUSTOMER).unwrap().used_pct - 10.0).abs() < 1e-9);
}
