//! Bad input to the identity API is answered with the error envelope and a
//! 4xx — malformed JSON 400, fields of the wrong type 422 naming the field,
//! an unknown grant 400, a malformed organisation header or path id 400,
//! unusable credentials 401 — and never a 500; and the OpenAPI document
//! declares those answers (with the envelope) and an example body.

use kiki_test_support::TestApp;
use kiki_test_support::identity::{Caller, admin, code, error_fields, identity_app, json, member};
use reqwest::Method;
use serde_json::{Value, json};

/// Sends a raw body; checks the envelope and that it is not a server error.
async fn raw(
    app: &TestApp,
    caller: Option<&Caller<'_>>,
    method: Method,
    path: &str,
    content_type: &str,
    body: &str,
) -> (u16, Value) {
    let rb = match caller {
        Some(c) => c.request(method.clone(), path),
        None => app.client.request(method.clone(), app.url(path)),
    };
    let resp = rb
        .header("content-type", content_type)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let (status, v) = json(resp).await;
    assert!(status < 500, "{method} {path} {body}: {status} {v}");
    if status >= 400 {
        assert!(v["error"]["code"].is_string(), "{method} {path}: {v}");
        assert!(v["error"]["request_id"].is_string(), "{method} {path}: {v}");
    }
    (status, v)
}

#[tokio::test]
async fn malformed_json_is_a_400_envelope_on_every_kind_of_endpoint() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let owner = a.caller(&app);
    let json_ct = "application/json";
    for (caller, method, path) in [
        (None, Method::POST, "/v1/auth/token".to_owned()),
        (None, Method::POST, "/v1/auth/refresh".to_owned()),
        (None, Method::POST, "/v1/auth/register".to_owned()),
        (None, Method::POST, "/v1/auth/session".to_owned()),
        (None, Method::POST, "/v1/auth/password-reset".to_owned()),
        (Some(&owner), Method::POST, "/v1/organisations".to_owned()),
        (
            Some(&owner),
            Method::PATCH,
            format!("/v1/organisations/{}", a.org_id),
        ),
        (Some(&owner), Method::POST, "/v1/api-keys".to_owned()),
        (Some(&owner), Method::POST, "/v1/me/password".to_owned()),
    ] {
        let (status, body) = raw(&app, caller, method.clone(), &path, json_ct, "{\"name\": ").await;
        assert_eq!(status, 400, "{method} {path}: {body}");
        assert_eq!(code(&body), "invalid_json", "{method} {path}: {body}");
    }
}

#[tokio::test]
async fn a_field_of_the_wrong_type_is_a_422_naming_it() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let owner = a.caller(&app);
    let v = member(&app, &owner, "viewer", "viewer@example.com").await;
    let cases: Vec<(Method, String, Value, &str)> = vec![
        (
            Method::POST,
            "/v1/auth/register".into(),
            json!({"email": 5, "password": "x", "display_name": "y"}),
            "email",
        ),
        (
            Method::POST,
            "/v1/organisations".into(),
            json!({"name": 7}),
            "name",
        ),
        (
            Method::PATCH,
            format!("/v1/organisations/{}", a.org_id),
            json!({"require_mfa": "yes"}),
            "require_mfa",
        ),
        (
            Method::PATCH,
            format!("/v1/members/{}", v.user_id),
            json!({"role": "emperor"}),
            "role",
        ),
        (
            Method::POST,
            "/v1/api-keys".into(),
            json!({"name": "k", "permissions": "org.read"}),
            "permissions",
        ),
        (
            Method::POST,
            "/v1/invitations".into(),
            json!({"email": "x@example.com", "role": "viewer", "expires_in_days": -1}),
            "expires_in_days",
        ),
        (
            Method::POST,
            "/v1/invitations".into(),
            json!({"email": "not an address", "role": "viewer"}),
            "email",
        ),
    ];
    for (method, path, body, field) in cases {
        let (status, resp) = raw(
            &app,
            Some(&owner),
            method.clone(),
            &path,
            "application/json",
            &body.to_string(),
        )
        .await;
        assert_eq!(status, 422, "{method} {path} {body}: {resp}");
        assert_eq!(code(&resp), "validation_failed", "{resp}");
        assert_eq!(
            error_fields(&resp),
            [field],
            "{method} {path} {body}: {resp}"
        );
    }
    let (status, resp) = raw(
        &app,
        None,
        Method::POST,
        "/v1/auth/token",
        "application/x-www-form-urlencoded",
        "username=owner%40example.com&password=x",
    )
    .await;
    assert_eq!(status, 422, "{resp}");
    assert_eq!(error_fields(&resp), ["grant_type"], "{resp}");
    let (status, resp) = raw(
        &app,
        None,
        Method::POST,
        "/v1/auth/token",
        "application/x-www-form-urlencoded",
        "grant_type=magic",
    )
    .await;
    assert_eq!(status, 400, "{resp}");
    assert_eq!(
        resp["error"]["details"]["oauth_error"], "unsupported_grant_type",
        "{resp}"
    );
}

#[tokio::test]
async fn malformed_ids_headers_and_credentials_are_4xx() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let owner = a.caller(&app);

    let (status, body) = json(
        owner
            .request(Method::GET, "/v1/members")
            .header("x-kiki-org", "not-a-uuid")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(code(&body), "bad_request", "{body}");
    for (method, path) in [
        (Method::GET, "/v1/organisations/not-a-uuid"),
        (Method::DELETE, "/v1/api-keys/123"),
        (Method::POST, "/v1/members/xyz/deactivate"),
        (Method::GET, "/v1/decisions/%20"),
    ] {
        let (status, body) = json(owner.send(method.clone(), path, None).await).await;
        assert_eq!(status, 400, "{method} {path}: {body}");
    }
    for authz in [
        "Basic b3duZXI6cGFzc3dvcmQ=",
        "Bearer",
        "Bearer not-a-token",
        "Bearer kiki_abcdefgh_0123456789abcdefghijklmnopqrstuv",
        "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
    ] {
        let (status, body) = json(
            app.client
                .get(app.url("/v1/me"))
                .header("authorization", authz)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 401, "{authz}: {body}");
        assert_eq!(code(&body), "unauthenticated", "{authz}: {body}");
    }
    let (status, body) = json(
        app.client
            .get(app.url("/v1/me"))
            .header("cookie", "kiki_session=forged")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = raw(
        &app,
        Some(&owner),
        Method::GET,
        "/v1/audit?cursor=not-a-cursor",
        "application/json",
        "",
    )
    .await;
    assert!((400..500).contains(&status), "{body}");
    let (status, body) = raw(
        &app,
        None,
        Method::POST,
        "/v1/auth/token",
        "text/plain",
        "grant_type=password",
    )
    .await;
    assert!((400..500).contains(&status), "{body}");
}

#[tokio::test]
async fn the_openapi_document_declares_every_answer_of_the_sign_in_outbox_and_archive_routes() {
    let app = identity_app().spawn().await;
    let doc: Value = app.get("/openapi.json").await.json().await.unwrap();
    let cases: [(&str, &str, &[&str], bool); 10] = [
        (
            "/v1/auth/token",
            "post",
            &[
                "200", "400", "401", "404", "415", "422", "423", "429", "503",
            ],
            true,
        ),
        (
            "/v1/auth/session",
            "post",
            &[
                "200", "400", "401", "404", "415", "422", "423", "429", "503",
            ],
            true,
        ),
        (
            "/v1/auth/register",
            "post",
            &["201", "400", "409", "415", "422", "423", "429", "503"],
            true,
        ),
        (
            "/v1/auth/password-reset",
            "post",
            &["202", "400", "415", "422"],
            true,
        ),
        (
            "/v1/auth/password-reset/confirm",
            "post",
            &["204", "400", "404", "415", "422", "503"],
            true,
        ),
        (
            "/v1/me/password",
            "post",
            &["204", "400", "401", "403", "404", "415", "422", "503"],
            true,
        ),
        (
            "/v1/me/mfa/disable",
            "post",
            &["204", "400", "401", "403", "404", "415", "422", "503"],
            true,
        ),
        (
            "/v1/outbox",
            "get",
            &["200", "400", "401", "403", "404", "422"],
            false,
        ),
        (
            "/v1/organisations/{id}/archive",
            "post",
            &["200", "400", "401", "403", "404", "409"],
            false,
        ),
        (
            "/v1/organisations/{id}/unarchive",
            "post",
            &["200", "400", "401", "403", "404"],
            false,
        ),
    ];
    for (path, method, statuses, has_body) in cases {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not documented");
        let responses = op["responses"].as_object().expect("responses");
        // The route's own answers; the edge adds those every operation can get.
        let declared: Vec<&str> = responses.keys().map(String::as_str).collect();
        for s in statuses.iter() {
            assert!(
                declared.contains(s),
                "{method} {path} lacks {s}: {declared:?}"
            );
        }
        for (status, r) in responses {
            if status.starts_with('2') {
                continue;
            }
            let schema = r["content"]["application/json"]["schema"]["$ref"].as_str();
            assert_eq!(
                schema,
                Some("#/components/schemas/ErrorEnvelope"),
                "{method} {path} {status}: {r}"
            );
        }
        if has_body {
            let content = op["requestBody"]["content"].as_object().expect("body");
            assert!(
                content.values().all(|c| c["example"].is_object()),
                "{method} {path}: {content:?}"
            );
        }
    }
}
