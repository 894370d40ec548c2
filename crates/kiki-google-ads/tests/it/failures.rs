//! Failures as typed errors: partial failures and invalid arguments name
//! the field path, expired tokens, permission, unknown objects, 5xx storms,
//! and copy Google would refuse, refused before any call.

use kiki_platforms::{
    AdPlatform, AdSetSpec, BidStrategy, CampaignSpec, CreativeSpec, DeliveryStatus, Objective,
    PlatformError, Targeting,
};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::support::*;

fn google_failure(
    http: u16,
    status: &str,
    code: serde_json::Value,
    fields: serde_json::Value,
) -> ResponseTemplate {
    ResponseTemplate::new(http).set_body_json(json!({ "error": {
        "code": http, "message": "The request failed.", "status": status,
        "details": [{
            "@type": "type.googleapis.com/google.ads.googleads.v23.errors.GoogleAdsFailure",
            "errors": [{ "errorCode": code, "message": "Detail from Google.", "location": { "fieldPathElements": fields } }],
            "requestId": "req-1"
        }]
    }}))
}

fn ad_set() -> AdSetSpec {
    AdSetSpec {
        name: "Road".into(),
        status: DeliveryStatus::Active,
        daily_budget_micros: 10_000_000,
        bid: BidStrategy::HighestValue,
        targeting: Targeting::default(),
        audience_size: None,
        start: None,
        end: None,
    }
}

#[tokio::test]
async fn a_partial_failure_names_the_field_path() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v23/customers/{CUSTOMER}/adGroups:mutate")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "results": [{}],
            "partialFailureError": {
                "code": 3,
                "message": "Multiple errors in 'details'. First error: Too long., at operations[0].create.name",
                "details": [{
                    "@type": "type.googleapis.com/google.ads.googleads.v23.errors.GoogleAdsFailure",
                    "errors": [{
                        "errorCode": { "stringLengthError": "TOO_LONG" },
                        "message": "Too long.",
                        "location": { "fieldPathElements": [
                            { "fieldName": "operations", "index": 0 }, { "fieldName": "create" }, { "fieldName": "name" }
                        ]}
                    }]
                }]
            }
        })))
        .expect(1)
        .mount(&server)
        .await;
    let (google, _) = connector(&server, config(&server), 1);
    let e = google
        .create_ad_set(&account(), "101", &ad_set())
        .await
        .unwrap_err();
    assert_eq!(
        e,
        PlatformError::InvalidRequest {
            field: Some("operations[0].create.name".into()),
            message: "Too long. (stringLengthError: TOO_LONG)".into()
        }
    );
    let body: serde_json::Value =
        serde_json::from_slice(&server.received_requests().await.unwrap()[0].body).unwrap();
    assert_eq!(body["partialFailure"], true);
}

#[tokio::test]
async fn a_refused_campaign_names_the_field_and_leaves_no_budget_behind() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/v23/customers/{CUSTOMER}/campaignBudgets:mutate"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({ "results": [{ "resourceName": "customers/1234567890/campaignBudgets/5" }] }),
        ))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v23/customers/{CUSTOMER}/campaigns:mutate")))
        .respond_with(google_failure(
            400,
            "INVALID_ARGUMENT",
            json!({ "campaignError": "DUPLICATE_CAMPAIGN_NAME" }),
            json!([{ "fieldName": "operations", "index": 0 }, { "fieldName": "create" }, { "fieldName": "name" }]),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let (google, _) = connector(&server, config(&server), 1);
    let spec = CampaignSpec {
        name: "Spring".into(),
        objective: Objective::Leads,
        status: DeliveryStatus::Active,
        daily_budget_micros: Some(20_000_000),
        start: None,
        end: None,
    };
    match google.create_campaign(&account(), &spec).await.unwrap_err() {
        PlatformError::InvalidRequest { field, message } => {
            assert_eq!(field.as_deref(), Some("operations[0].create.name"));
            assert!(message.contains("DUPLICATE_CAMPAIGN_NAME"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    let last = server.received_requests().await.unwrap().pop().unwrap();
    let body: serde_json::Value = serde_json::from_slice(&last.body).unwrap();
    assert_eq!(
        body["operations"][0]["remove"],
        "customers/1234567890/campaignBudgets/5"
    );
}

#[tokio::test]
async fn unauthenticated_is_an_expired_token_and_permission_denied_is_permission() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v23/customers/{CUSTOMER}/googleAds:search")))
        .respond_with(google_failure(
            401,
            "UNAUTHENTICATED",
            json!({ "authenticationError": "OAUTH_TOKEN_EXPIRED" }),
            json!([]),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v23/customers/5555555555/googleAds:search"))
        .respond_with(google_failure(
            403,
            "PERMISSION_DENIED",
            json!({ "authorizationError": "USER_PERMISSION_DENIED" }),
            json!([]),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/v23/customers/{CUSTOMER}/campaigns:mutate")))
        .respond_with(google_failure(
            404,
            "NOT_FOUND",
            json!({ "mutateError": "RESOURCE_NOT_FOUND" }),
            json!([]),
        ))
        .mount(&server)
        .await;
    let (google, _) = connector(&server, config(&server), 3);
    match google.verify(&account()).await.unwrap_err() {
        PlatformError::AuthExpired { message } => {
            assert!(message.contains("OAUTH_TOKEN_EXPIRED"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    let mut other = account();
    other.account_id = "5555555555".into();
    match google.verify(&other).await.unwrap_err() {
        PlatformError::Permission { message } => {
            assert!(message.contains("USER_PERMISSION_DENIED"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    let e = google
        .set_status(
            &account(),
            kiki_platforms::ObjectKind::Campaign,
            "42",
            DeliveryStatus::Paused,
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "not_found");
    // 4xx are answers, not accidents: one attempt each.
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_storm_of_500s_is_transient_after_the_retries() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(google_failure(
            500,
            "INTERNAL",
            json!({ "internalError": "INTERNAL_ERROR" }),
            json!([]),
        ))
        .expect(3)
        .mount(&server)
        .await;
    let (google, _) = connector(&server, config(&server), 3);
    let e = google.verify(&account()).await.unwrap_err();
    assert!(matches!(e, PlatformError::Transient { .. }), "{e:?}");
    assert!(e.is_retryable());
}

#[tokio::test]
async fn copy_and_ids_google_would_refuse_are_refused_before_any_call() {
    let server = MockServer::start().await;
    let (google, _) = connector(&server, config(&server), 1);
    let long = CreativeSpec {
        kiki_id: "c9".into(),
        name: "too long".into(),
        headlines: vec![
            "Fine".into(),
            "This headline is far too long for Google".into(),
            "Also fine".into(),
        ],
        descriptions: vec!["One".into(), "Two".into()],
        primary_text: None,
        call_to_action: None,
        link_url: "https://shoes.example".into(),
        approved: true,
    };
    match google.upload_creative(&account(), &long).await.unwrap_err() {
        PlatformError::InvalidRequest { field, .. } => {
            assert_eq!(field.as_deref(), Some("headlines[1]"))
        }
        other => panic!("{other:?}"),
    }
    let mut bad_country = ad_set();
    bad_country.targeting.countries = vec!["US".into(), "Atlantis".into()];
    match google
        .create_ad_set(&account(), "101", &bad_country)
        .await
        .unwrap_err()
    {
        PlatformError::InvalidRequest { field, .. } => {
            assert_eq!(field.as_deref(), Some("targeting.countries[1]"))
        }
        other => panic!("{other:?}"),
    }
    let mut dashed = account();
    dashed.account_id = "123-456-7890".into();
    match google.verify(&dashed).await.unwrap_err() {
        PlatformError::InvalidRequest { field, .. } => {
            assert_eq!(field.as_deref(), Some("account_id"))
        }
        other => panic!("{other:?}"),
    }
    let ad = kiki_platforms::AdSpec {
        name: "a".into(),
        status: DeliveryStatus::Active,
        creative_external_id: "rsa:never-uploaded".into(),
    };
    match google.create_ad(&account(), "102", &ad).await.unwrap_err() {
        PlatformError::InvalidRequest { field, .. } => {
            assert_eq!(field.as_deref(), Some("creative_external_id"))
        }
        other => panic!("{other:?}"),
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}
