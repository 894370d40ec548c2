//! Dashboard cookie sessions: the HttpOnly, SameSite=Lax session cookie
//! (Secure behind TLS), reads with the cookie alone, state changes only with
//! the session's CSRF token, and sign-out clearing the cookie.

use std::sync::Arc;

use kiki_core::{Clock, TestClock};
use kiki_credentials::totp::{self, TotpSecret};
use kiki_test_support::TestApp;
use kiki_test_support::identity::{
    PASSWORD, admin, code, fast_auth, identity_app, json, password_grant,
};
use reqwest::Method;
use serde_json::{Value, json};
use time::macros::datetime;

/// The dashboard session: the `kiki_session=…` pair, the CSRF token and the raw Set-Cookie.
struct Dashboard {
    cookie: String,
    csrf: String,
    set_cookie: String,
}

async fn session_login(app: &TestApp, username: &str, password: &str) -> Dashboard {
    let resp = app
        .post_json(
            "/v1/auth/session",
            &json!({"username": username, "password": password}),
        )
        .await;
    let set_cookie = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let (status, body) = json(resp).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["expires_in"].as_u64().unwrap_or_default() > 0,
        "{body}"
    );
    let cookie = set_cookie
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    Dashboard {
        cookie,
        csrf: body["csrf_token"].as_str().unwrap().to_owned(),
        set_cookie,
    }
}

fn with_cookie(
    app: &TestApp,
    d: &Dashboard,
    method: Method,
    path: &str,
    csrf: Option<&str>,
) -> reqwest::RequestBuilder {
    let mut rb = app
        .client
        .request(method, app.url(path))
        .header("cookie", &d.cookie);
    if let Some(c) = csrf {
        rb = rb.header("x-csrf-token", c);
    }
    rb
}

async fn send(rb: reqwest::RequestBuilder, body: Option<Value>) -> (u16, Value) {
    let rb = match body {
        Some(b) => rb.json(&b),
        None => rb,
    };
    json(rb.send().await.unwrap()).await
}

#[tokio::test]
async fn a_session_cookie_is_httponly_and_lax_and_reads_work_with_it_alone() {
    let app = identity_app().spawn().await;
    admin(&app, "owner@example.com", "Agency A").await;
    let d = session_login(&app, "owner@example.com", PASSWORD).await;

    assert!(d.cookie.starts_with("kiki_session="), "{}", d.set_cookie);
    assert!(
        d.cookie.len() > "kiki_session=".len() + 20,
        "{}",
        d.set_cookie
    );
    let attrs: Vec<String> = d
        .set_cookie
        .split(';')
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    for want in ["httponly", "samesite=lax", "path=/"] {
        assert!(
            attrs.iter().any(|a| a == want),
            "{want} in {}",
            d.set_cookie
        );
    }
    assert!(
        !attrs.iter().any(|a| a == "secure"),
        "no Secure over plain HTTP: {}",
        d.set_cookie
    );

    let (status, me) = send(with_cookie(&app, &d, Method::GET, "/v1/me", None), None).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["user"]["email"], "owner@example.com", "{me}");
    let (status, _) = send(
        with_cookie(&app, &d, Method::GET, "/v1/members", None),
        None,
    )
    .await;
    assert_eq!(status, 200);

    // A wrong password gets no cookie.
    let resp = app
        .post_json(
            "/v1/auth/session",
            &json!({"username": "owner@example.com", "password": "not-the-password-1"}),
        )
        .await;
    assert!(resp.headers().get("set-cookie").is_none());
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn state_changes_with_a_cookie_need_the_csrf_token() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let d = session_login(&app, "owner@example.com", PASSWORD).await;
    let org_path = format!("/v1/organisations/{}", a.org_id);

    let changes: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::POST,
            "/v1/invite-codes".into(),
            Some(json!({"role": "viewer"})),
        ),
        (
            Method::PATCH,
            org_path.clone(),
            Some(json!({"name": "Renamed"})),
        ),
        (
            Method::POST,
            "/v1/api-keys".into(),
            Some(json!({"name": "k", "permissions": ["org.read"]})),
        ),
        (Method::POST, "/v1/auth/logout-all".into(), None),
        (Method::DELETE, "/v1/auth/session".into(), None),
    ];
    for (method, path, body) in &changes {
        for csrf in [None, Some("not-the-token"), Some("")] {
            let (status, resp) = send(
                with_cookie(&app, &d, method.clone(), path, csrf),
                body.clone(),
            )
            .await;
            assert_eq!(status, 403, "{method} {path} with {csrf:?}: {resp}");
            assert_eq!(code(&resp), "forbidden", "{resp}");
        }
    }
    let org = a.caller(&app).get_ok(&org_path).await;
    assert_eq!(org["name"], "Agency A", "nothing changed: {org}");

    // With the token, the same requests work.
    let (status, body) = send(
        with_cookie(&app, &d, Method::PATCH, &org_path, Some(&d.csrf)),
        Some(json!({"name": "Renamed"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "Renamed", "{body}");
    let (status, body) = send(
        with_cookie(&app, &d, Method::POST, "/v1/invite-codes", Some(&d.csrf)),
        Some(json!({"role": "viewer"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");

    // Another session's token does not fit this one.
    let other = session_login(&app, "owner@example.com", PASSWORD).await;
    let (status, body) = send(
        with_cookie(
            &app,
            &d,
            Method::POST,
            "/v1/invite-codes",
            Some(&other.csrf),
        ),
        Some(json!({"role": "viewer"})),
    )
    .await;
    assert_eq!(status, 403, "{body}");

    // Bearer tokens need no CSRF token (they are not sent by browsers on their own).
    let (status, body) = json(
        a.caller(&app)
            .post("/v1/invite-codes", &json!({"role": "viewer"}))
            .await,
    )
    .await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn signing_out_of_the_dashboard_ends_the_session_and_clears_the_cookie() {
    let app = identity_app().spawn().await;
    admin(&app, "owner@example.com", "Agency A").await;
    let d = session_login(&app, "owner@example.com", PASSWORD).await;

    let resp = with_cookie(&app, &d, Method::DELETE, "/v1/auth/session", Some(&d.csrf))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let cleared = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(cleared.starts_with("kiki_session=;"), "{cleared}");
    assert!(
        cleared.contains("max-age=0") || cleared.contains("expires=thu, 01 jan 1970"),
        "{cleared}"
    );

    let (status, body) = send(with_cookie(&app, &d, Method::GET, "/v1/me", None), None).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(code(&body), "unauthenticated", "{body}");
}

#[tokio::test]
async fn the_session_cookie_is_secure_behind_tls_and_mfa_applies_to_it() {
    let clock = TestClock::at(datetime!(2026-03-02 09:00:00 UTC));
    let app = TestApp::builder()
        .configure(|c| {
            fast_auth(c);
            c.http.behind_tls = true;
        })
        .clock(Arc::new(clock.clone()))
        .spawn()
        .await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let d = session_login(&app, "owner@example.com", PASSWORD).await;
    assert!(
        d.set_cookie
            .split(';')
            .any(|a| a.trim().eq_ignore_ascii_case("secure")),
        "{}",
        d.set_cookie
    );

    // An account with MFA needs the code for a dashboard session too.
    let me = a.caller(&app);
    let (status, enrol) = json(me.post_empty("/v1/me/mfa/enroll").await).await;
    assert_eq!(status, 200, "{enrol}");
    let secret = TotpSecret::from_base32(enrol["secret"].as_str().unwrap()).unwrap();
    let now = u64::try_from(clock.now().unix_timestamp()).unwrap();
    let (status, body) = json(
        me.post(
            "/v1/me/mfa/confirm",
            &json!({"code": totp::code_at(&secret, now)}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = json(
        app.post_json(
            "/v1/auth/session",
            &json!({"username": "owner@example.com", "password": PASSWORD}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(code(&body), "mfa_required", "{body}");
    let (status, _) = json(password_grant(&app, "owner@example.com", PASSWORD, &[]).await).await;
    assert_eq!(status, 401);
}
