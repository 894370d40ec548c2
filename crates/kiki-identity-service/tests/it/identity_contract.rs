//! The identity API reads a request as its OpenAPI document states it: a
//! JSON number without a fractional part is an integer (`7.0` days), an email
//! address is one the mail port can deliver to (else a 422 naming `email`,
//! never a 400 from the mailer), a cursor it did not issue is a 422 naming
//! `cursor`, and an empty query parameter is one not given.

use kiki_test_support::identity::{admin, error_fields, identity_app, json};
use serde_json::json;

#[tokio::test]
async fn a_number_without_a_fraction_is_an_integer() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let owner = a.caller(&app);
    let (status, body) = json(
        owner
            .post(
                "/v1/invite-codes",
                &json!({"role": "viewer", "expires_in_days": 7.0}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = json(
        owner
            .post(
                "/v1/invite-codes",
                &json!({"role": "viewer", "expires_in_days": 7.5}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["expires_in_days"]);
}

#[tokio::test]
async fn an_address_the_mail_port_cannot_deliver_to_is_a_422_naming_email() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let owner = a.caller(&app);
    let long_label = format!("jane@{}.example", "d".repeat(64));
    for email in [
        long_label.as_str(),
        "ja\u{1}ne@example.com",
        "jane@-example.com",
        "ja ne@example.com",
    ] {
        let (status, body) = json(
            owner
                .post(
                    "/v1/invitations",
                    &json!({"email": email, "role": "viewer"}),
                )
                .await,
        )
        .await;
        assert_eq!(status, 422, "{email:?}: {body}");
        assert_eq!(error_fields(&body), ["email"], "{email:?}");
        let (status, body) = json(
            app.client
                .post(app.url("/v1/auth/password-reset"))
                .json(&json!({"email": email}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 422, "{email:?}: {body}");
    }
    let (status, body) = json(
        owner
            .post(
                "/v1/invitations",
                &json!({"email": "Jane.Doe+ads@Example.co.uk", "role": "viewer"}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn a_cursor_this_api_did_not_issue_is_a_422_naming_it() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let owner = a.caller(&app);
    for path in [
        "/v1/audit?cursor=2",
        "/v1/audit?cursor=!!",
        "/v1/outbox?cursor=dC",
        "/v1/decisions?cursor=2",
    ] {
        let (status, body) = json(owner.get(path).await).await;
        assert_eq!(status, 422, "{path}: {body}");
        assert_eq!(error_fields(&body), ["cursor"], "{path}");
    }
}

#[tokio::test]
async fn an_empty_query_parameter_is_one_not_given() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let owner = a.caller(&app);
    let (status, body) = json(
        owner
            .get("/v1/audit?to=&from=&format=&cursor=&limit=")
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["items"].is_array(), "{body}");
    let doc: serde_json::Value = app.get("/openapi.json").await.json().await.unwrap();
    let params = doc["paths"]["/v1/audit"]["get"]["parameters"]
        .as_array()
        .unwrap();
    assert!(
        params.iter().all(|p| p["allowEmptyValue"] == true),
        "{params:?}"
    );
}
