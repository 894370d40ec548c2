//! Meta's failures as the port's errors, and the quota back-off.

use kiki_platforms::{AdPlatform, DeliveryStatus, ObjectKind, PlatformError};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::support::*;

fn graph_error(error: Value) -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_json(json!({ "error": error }))
}

async fn pause_ad(meta: &kiki_meta_ads::MetaAds) -> Result<(), PlatformError> {
    meta.set_status(&account(), ObjectKind::Ad, "ad1", DeliveryStatus::Paused)
        .await
}

async fn answer_once(server: &MockServer, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path("/v21.0/ad1"))
        .respond_with(response)
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn pausing_sends_the_status() {
    let server = MockServer::start().await;
    answer_once(
        &server,
        ResponseTemplate::new(200).set_body_json(json!({"success": true})),
    )
    .await;
    pause_ad(&meta(&server)).await.unwrap();
    let requests = seen(&server).await;
    assert_token_only_in_header(&requests);
    assert_eq!(requests[0].params, params(&[("status", "PAUSED")]));
}

#[tokio::test]
async fn an_expired_token_is_auth_expired() {
    let server = MockServer::start().await;
    answer_once(
        &server,
        graph_error(json!({
            "message": "Error validating access token: Session has expired on Friday, 28-Feb-25.",
            "type": "OAuthException", "code": 190, "error_subcode": 463, "fbtrace_id": "T1"
        })),
    )
    .await;
    let e = pause_ad(&meta(&server)).await.unwrap_err();
    assert!(
        matches!(&e, PlatformError::AuthExpired { message } if message.contains("Session has expired") && message.contains("T1")),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_changed_password_is_revoked() {
    let server = MockServer::start().await;
    answer_once(
        &server,
        graph_error(json!({
            "message": "Error validating access token: The session has been invalidated because the user changed their password.",
            "type": "OAuthException", "code": 190, "error_subcode": 460
        })),
    )
    .await;
    let e = pause_ad(&meta(&server)).await.unwrap_err();
    assert_eq!(e.code(), "revoked", "{e:?}");
}

#[tokio::test]
async fn a_throttled_account_waits_as_long_as_meta_says_without_calling_again() {
    let server = MockServer::start().await;
    let usage = json!({"9876": [{
        "type": "ads_management", "call_count": 100, "total_cputime": 34,
        "total_time": 41, "estimated_time_to_regain_access": 5
    }]});
    answer_once(
        &server,
        graph_error(
            json!({"message": "User request limit reached", "type": "OAuthException",
                           "code": 17, "error_subcode": 2446079}),
        )
        .insert_header("x-business-use-case-usage", usage.to_string()),
    )
    .await;
    let meta = meta(&server);
    let e = pause_ad(&meta).await.unwrap_err();
    assert!(
        matches!(
            &e,
            PlatformError::RateLimited {
                retry_after_secs: 300,
                ..
            }
        ),
        "{e:?}"
    );
    let q = meta.quota(ACCOUNT).unwrap();
    assert_eq!(q.used_pct, 100.0);
    assert!((299..=300).contains(&q.wait_secs));
    assert!(q.should_back_off());
    // The next call is refused here: the fake expects exactly one request.
    let e = pause_ad(&meta).await.unwrap_err();
    assert!(
        matches!(&e, PlatformError::RateLimited { retry_after_secs, .. } if (299..=300).contains(retry_after_secs)),
        "{e:?}"
    );
    // Another account is not held.
    assert_eq!(meta.quota("2002"), None);
}

#[tokio::test]
async fn an_ad_account_rate_limit_uses_the_usage_headers() {
    let server = MockServer::start().await;
    let usage = json!({"9876": [{
        "type": "ads_management", "call_count": 96, "total_cputime": 20,
        "total_time": 20, "estimated_time_to_regain_access": 2
    }]});
    answer_once(
        &server,
        graph_error(
            json!({"message": "There have been too many calls to this ad-account.",
                           "type": "OAuthException", "code": 80004, "error_subcode": 2446079}),
        )
        .insert_header("x-business-use-case-usage", usage.to_string())
        .insert_header(
            "x-ad-account-usage",
            json!({"acc_id_util_pct": 99.5, "reset_time_duration": 90}).to_string(),
        ),
    )
    .await;
    let meta = meta(&server);
    let e = pause_ad(&meta).await.unwrap_err();
    assert!(
        matches!(
            &e,
            PlatformError::RateLimited {
                retry_after_secs: 120,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(meta.quota(ACCOUNT).unwrap().used_pct, 99.5);
    assert_eq!(pause_ad(&meta).await.unwrap_err().code(), "rate_limited");
}

#[tokio::test]
async fn a_success_near_the_limit_holds_the_next_call() {
    let server = MockServer::start().await;
    answer_once(
        &server,
        ResponseTemplate::new(200)
            .set_body_json(json!({"success": true}))
            .insert_header(
                "x-business-use-case-usage",
                json!({"9876": [{"type": "ads_management", "call_count": 93,
                    "total_cputime": 10, "total_time": 12,
                    "estimated_time_to_regain_access": 0}]})
                .to_string(),
            ),
    )
    .await;
    let meta = meta(&server);
    pause_ad(&meta).await.unwrap();
    let q = meta.quota(ACCOUNT).unwrap();
    assert_eq!(q.used_pct, 93.0);
    assert!(q.should_back_off());
    assert_eq!(pause_ad(&meta).await.unwrap_err().code(), "rate_limited");
}

#[tokio::test]
async fn an_invalid_parameter_names_the_field_meta_blamed() {
    let server = MockServer::start().await;
    answer_once(
        &server,
        graph_error(json!({
            "message": "Invalid parameter", "type": "OAuthException", "code": 100,
            "error_subcode": 1885272, "is_transient": false,
            "error_user_title": "Budget Too Low",
            "error_user_msg": "Your daily budget must be at least $1.00.",
            "error_data": {"blame_field_specs": [["daily_budget"]]},
            "fbtrace_id": "Bx9"
        })),
    )
    .await;
    let e = pause_ad(&meta(&server)).await.unwrap_err();
    assert_eq!(
        e,
        PlatformError::InvalidRequest {
            field: Some("daily_budget".into()),
            message: "Budget Too Low: Your daily budget must be at least $1.00. \
                      (Meta code 100/1885272) [fbtrace_id Bx9]"
                .into()
        }
    );
}

#[tokio::test]
async fn a_500_storm_is_transient_after_the_outbound_retries() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v21.0/ad1"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"error": {
            "message": "An unknown error has occurred.", "type": "OAuthException",
            "code": 1, "is_transient": true
        }})))
        .expect(3)
        .mount(&server)
        .await;
    let meta = kiki_meta_ads::MetaAds::new(outbound(3), config(&server));
    let e = pause_ad(&meta).await.unwrap_err();
    assert!(
        matches!(&e, PlatformError::Transient { message } if message.contains("unknown error")),
        "{e:?}"
    );
    assert!(e.is_retryable());
}

#[tokio::test]
async fn a_create_answered_with_a_500_is_sent_once() {
    // Meta may have created the campaign before failing: sending it again
    // could leave two, so the error goes back to the caller after one try.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v21.0/act_1001"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "act_1001", "name": "Spring Shop", "currency": "USD",
            "timezone_name": "UTC", "account_status": 1
        })))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v21.0/act_1001/campaigns"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"error": {
            "message": "An unknown error has occurred.", "type": "OAuthException",
            "code": 1, "is_transient": true
        }})))
        .expect(1)
        .mount(&server)
        .await;
    let meta = kiki_meta_ads::MetaAds::new(outbound(3), config(&server));
    let spec = kiki_platforms::CampaignSpec {
        name: "Winter serum".into(),
        objective: kiki_platforms::Objective::Sales,
        status: DeliveryStatus::Paused,
        daily_budget_micros: None,
        start: None,
        end: None,
    };
    let e = meta.create_campaign(&account(), &spec).await.unwrap_err();
    assert_eq!(e.code(), "transient", "{e:?}");
}

#[tokio::test]
async fn an_unreachable_graph_is_transient() {
    let server = MockServer::start().await;
    let mut cfg = config(&server);
    // A port nothing listens on.
    cfg.graph_base_url = "http://127.0.0.1:9".into();
    let meta = kiki_meta_ads::MetaAds::new(outbound(1), cfg);
    let e = pause_ad(&meta).await.unwrap_err();
    assert_eq!(e.code(), "transient", "{e:?}");
}
