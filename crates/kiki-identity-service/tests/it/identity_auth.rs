//! Sign-in through the HTTP API: the OAuth2 password and refresh grants,
//! refresh-token rotation with reuse detection, logout, expiry on the
//! application clock, answers that do not reveal whether an account exists,
//! throttling and lockout by identifier and by account, what a failed
//! sign-in leaves in the audit log, registration rules and the stored
//! password hash. Password reset and change are in `identity_passwords`.

use std::sync::Arc;

use kiki_core::TestClock;
use kiki_identity::{Role, permissions_of};
use kiki_test_support::TestApp;
use kiki_test_support::identity::{
    Caller, PASSWORD, SqlParam, Tokens, admin, code, error_fields, identity_app, invite_code, json,
    password_grant, refresh, register, sign_in, sql_texts,
};
use serde_json::{Value, json};
use time::Duration;
use time::macros::datetime;

pub(crate) fn clock() -> TestClock {
    TestClock::at(datetime!(2026-03-02 09:00:00 UTC))
}

pub(crate) async fn app_at(clock: &TestClock) -> TestApp {
    identity_app().clock(Arc::new(clock.clone())).spawn().await
}

/// The session (refresh-token family) id inside an access token.
pub(crate) fn session_of(app: &TestApp, access_token: &str) -> uuid::Uuid {
    app.state
        .identity
        .jwt()
        .verify(access_token, app.state.clock.now().unix_timestamp())
        .expect("the access token verifies")
        .sid
}

pub(crate) async fn status_of(resp: reqwest::Response) -> u16 {
    resp.status().as_u16()
}

/// `POST /v1/auth/password-reset/confirm`.
pub(crate) async fn confirm(app: &TestApp, token: &str, new_password: &str) -> reqwest::Response {
    app.post_json(
        "/v1/auth/password-reset/confirm",
        &json!({"token": token, "new_password": new_password}),
    )
    .await
}

/// The envelope without its request id, to compare two error answers.
fn without_request_id(mut body: Value) -> Value {
    if let Some(e) = body.get_mut("error").and_then(Value::as_object_mut) {
        e.remove("request_id");
    }
    body
}

#[tokio::test]
async fn the_password_grant_as_a_form_returns_a_bearer_pair_that_opens_me() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner@example.com", "Agency A").await;

    let body = &a.tokens.body;
    assert_eq!(body["token_type"], "Bearer", "{body}");
    assert_eq!(body["expires_in"], 900, "{body}");
    let mut scope: Vec<&str> = body["scope"].as_str().unwrap().split(' ').collect();
    scope.sort_unstable();
    let mut owner: Vec<&str> = permissions_of(Role::Owner)
        .iter()
        .map(|p| p.as_str())
        .collect();
    owner.sort_unstable();
    assert_eq!(scope, owner, "an owner's token carries every permission");

    let me = a.caller(&app).get_ok("/v1/me").await;
    assert_eq!(me["user"]["email"], "owner@example.com", "{me}");
    assert_eq!(me["caller"], "user", "{me}");
    assert_eq!(me["role"], "owner", "{me}");
    assert_eq!(me["active_org"]["id"], a.org_id.to_string(), "{me}");
    assert_eq!(me["mfa_outstanding"], false, "{me}");
    let orgs = me["organisations"].as_array().unwrap();
    assert_eq!(orgs.len(), 1, "{me}");
    assert_eq!(orgs[0]["kind"], "agency");
    assert_eq!(orgs[0]["role"], "owner");
    assert_eq!(orgs[0]["via_agency"], false);

    // Without a token, /v1/me is a 401 envelope.
    let (status, body) = json(app.get("/v1/me").await).await;
    assert_eq!(status, 401);
    assert_eq!(code(&body), "unauthenticated");
}

#[tokio::test]
async fn the_password_grant_also_accepts_json() {
    let app = identity_app().spawn().await;
    admin(&app, "owner@example.com", "Agency A").await;
    let resp = app
        .post_json(
            "/v1/auth/token",
            &json!({"grant_type": "password", "username": "OWNER@example.com", "password": PASSWORD}),
        )
        .await;
    let t = Tokens::from_response(resp).await;
    assert_eq!(
        Caller::new(&app, t.access_token)
            .get("/v1/me")
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn refreshing_rotates_the_refresh_token_through_both_endpoints() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner@example.com", "Agency A").await;

    let t1 = Tokens::from_response(
        app.client
            .post(app.url("/v1/auth/token"))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", a.tokens.refresh_token.as_str()),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_ne!(t1.refresh_token, a.tokens.refresh_token);
    assert_eq!(t1.body["token_type"], "Bearer");
    let t2 = Tokens::from_response(refresh(&app, &t1.refresh_token).await).await;
    assert_ne!(t2.refresh_token, t1.refresh_token);
    assert_eq!(
        session_of(&app, &t2.access_token),
        session_of(&app, &a.tokens.access_token),
        "a refresh stays in the same session"
    );
    for t in [&t1, &t2] {
        let me = Caller::new(&app, t.access_token.clone())
            .get_ok("/v1/me")
            .await;
        assert_eq!(me["user"]["email"], "owner@example.com");
    }
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_revokes_the_whole_family() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let sid = session_of(&app, &a.tokens.access_token);
    let t1 = Tokens::from_response(refresh(&app, &a.tokens.refresh_token).await).await;
    let t2 = Tokens::from_response(refresh(&app, &t1.refresh_token).await).await;

    // The first token was rotated: presenting it again means it leaked.
    let (status, body) = json(refresh(&app, &a.tokens.refresh_token).await).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(code(&body), "unauthenticated");
    // The newest pair of that session no longer works either.
    assert_eq!(status_of(refresh(&app, &t2.refresh_token).await).await, 401);
    let newest = Caller::new(&app, t2.access_token.clone());
    assert_eq!(newest.get("/v1/me").await.status(), 401);

    // The owner signs in again and finds the audit entry and the decision record.
    let again = sign_in(&app, "owner@example.com", PASSWORD).await;
    let me = Caller::new(&app, again.access_token);
    let audit = me
        .get_ok("/v1/audit?action=auth.token_family_revoked")
        .await;
    let items = audit["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{audit}");
    assert_eq!(items[0]["target_kind"], "session");
    assert_eq!(items[0]["target_id"], sid.to_string());
    let decisions = me.get_ok("/v1/decisions?kind=token_family_revoked").await;
    let d = decisions["items"].as_array().unwrap();
    assert_eq!(d.len(), 1, "{decisions}");
    assert_eq!(d[0]["subject_kind"], "session");
    assert_eq!(d[0]["subject_id"], sid.to_string());
    assert!(
        !d[0]["explanation"].as_str().unwrap_or_default().is_empty(),
        "{decisions}"
    );
    let one = me
        .get_ok(&format!("/v1/decisions/{}", d[0]["id"].as_str().unwrap()))
        .await;
    assert_eq!(one["kind"], "token_family_revoked", "{one}");
}

#[tokio::test]
async fn logout_ends_the_access_and_refresh_token_of_that_session_only() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let other = sign_in(&app, "owner@example.com", PASSWORD).await;

    let resp = a.caller(&app).post_empty("/v1/auth/logout").await;
    assert_eq!(resp.status(), 204);
    assert_eq!(a.caller(&app).get("/v1/me").await.status(), 401);
    assert_eq!(
        status_of(refresh(&app, &a.tokens.refresh_token).await).await,
        401
    );

    // A client without its access token can end a session with the refresh token alone.
    let third = sign_in(&app, "owner@example.com", PASSWORD).await;
    let resp = app
        .post_json(
            "/v1/auth/logout",
            &json!({"refresh_token": third.refresh_token}),
        )
        .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(
        Caller::new(&app, third.access_token)
            .get("/v1/me")
            .await
            .status(),
        401
    );
    assert_eq!(
        status_of(refresh(&app, &third.refresh_token).await).await,
        401
    );

    let other = Caller::new(&app, other.access_token);
    assert_eq!(other.get("/v1/me").await.status(), 200);
    let audit = other.get_ok("/v1/audit?action=auth.logout").await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 2, "{audit}");
}

#[tokio::test]
async fn logout_all_ends_every_session_of_the_user() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let s2 = sign_in(&app, "owner@example.com", PASSWORD).await;
    let s3 = sign_in(&app, "owner@example.com", PASSWORD).await;

    let (status, body) = json(
        Caller::new(&app, s3.access_token.clone())
            .post_empty("/v1/auth/logout-all")
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["sessions_revoked"], 3, "{body}");
    for t in [&a.tokens, &s2, &s3] {
        assert_eq!(
            Caller::new(&app, t.access_token.clone())
                .get("/v1/me")
                .await
                .status(),
            401
        );
        assert_eq!(status_of(refresh(&app, &t.refresh_token).await).await, 401);
    }
    let fresh = sign_in(&app, "owner@example.com", PASSWORD).await;
    let audit = Caller::new(&app, fresh.access_token)
        .get_ok("/v1/audit?action=auth.logout_all")
        .await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 1, "{audit}");
}

#[tokio::test]
async fn an_access_token_expires_after_15_minutes_of_application_time() {
    let clock = clock();
    let app = app_at(&clock).await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let me = a.caller(&app);

    clock.advance(Duration::seconds(899));
    assert_eq!(me.get("/v1/me").await.status(), 200);
    clock.advance(Duration::seconds(1));
    let (status, body) = json(me.get("/v1/me").await).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(code(&body), "unauthenticated");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("expired"),
        "{body}"
    );

    // The refresh token still gives a new access token…
    let t1 = Tokens::from_response(refresh(&app, &a.tokens.refresh_token).await).await;
    assert_eq!(
        Caller::new(&app, t1.access_token)
            .get("/v1/me")
            .await
            .status(),
        200
    );
    // …until the 30 days of the refresh token have passed.
    clock.advance(Duration::days(30));
    assert_eq!(status_of(refresh(&app, &t1.refresh_token).await).await, 401);
}

#[tokio::test]
async fn an_unknown_user_and_a_wrong_password_get_the_same_answer() {
    let app = identity_app().spawn().await;
    admin(&app, "owner@example.com", "Agency A").await;

    let known = password_grant(&app, "owner@example.com", "wrong-password-1234", &[]).await;
    let unknown = password_grant(&app, "nobody@example.com", "wrong-password-1234", &[]).await;
    let header = |r: &reqwest::Response, h: &str| {
        r.headers()
            .get(h)
            .map(|v| v.to_str().unwrap_or_default().to_owned())
    };
    assert_eq!(
        header(&known, "content-type"),
        header(&unknown, "content-type")
    );
    assert_eq!(
        header(&known, "www-authenticate"),
        header(&unknown, "www-authenticate")
    );
    let (ks, kb) = json(known).await;
    let (us, ub) = json(unknown).await;
    assert_eq!(ks, 401, "{kb}");
    assert_eq!(us, ks);
    assert_eq!(code(&kb), "unauthenticated");
    assert_eq!(without_request_id(kb), without_request_id(ub));
}

/// Fails sign-in for `username` until it is locked (423), moving the clock past
/// every `Retry-After` of a 429; the statuses seen and their `Retry-After`.
async fn fail_until_locked(
    app: &TestApp,
    clock: &TestClock,
    username: &str,
) -> Vec<(u16, Option<i64>)> {
    let mut seen = Vec::new();
    for _ in 0..40 {
        let resp = password_grant(app, username, "not-the-password-1", &[]).await;
        let retry = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|s| s.parse::<i64>().ok());
        let (status, body) = json(resp).await;
        seen.push((status, retry));
        match status {
            401 => assert_eq!(code(&body), "unauthenticated", "{body}"),
            429 => {
                assert_eq!(code(&body), "rate_limited", "{body}");
                let secs = retry.unwrap_or_else(|| panic!("a 429 without Retry-After: {body}"));
                assert!(secs >= 1, "{seen:?}");
                clock.advance(Duration::seconds(secs));
            }
            423 => {
                assert_eq!(code(&body), "locked", "{body}");
                return seen;
            }
            other => panic!("unexpected {other}: {body} after {seen:?}"),
        }
    }
    panic!("never locked: {seen:?}");
}

#[tokio::test]
async fn repeated_failures_are_throttled_then_locked_and_the_lock_ends_by_itself() {
    let clock = clock();
    let app = app_at(&clock).await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let cfg = app.state.identity.config().clone();

    let seen = fail_until_locked(&app, &clock, "owner@example.com").await;
    let free = cfg.throttle_free_attempts as usize;
    assert!(
        seen[..free].iter().all(|(s, _)| *s == 401),
        "the first {free} failures are free: {seen:?}"
    );
    assert_eq!(
        seen[free].0, 429,
        "after {free} failures the next immediate attempt must wait: {seen:?}"
    );
    let failures = seen.iter().filter(|(s, _)| *s == 401).count();
    assert_eq!(
        failures, cfg.lockout_threshold as usize,
        "locked at the threshold: {seen:?}"
    );
    let delays: Vec<i64> = seen
        .iter()
        .filter(|(s, _)| *s == 429)
        .filter_map(|(_, r)| *r)
        .collect();
    assert!(
        delays.windows(2).all(|w| w[1] >= w[0]),
        "delays grow: {delays:?}"
    );
    let lock_secs = seen
        .last()
        .and_then(|(_, r)| *r)
        .expect("423 carries Retry-After");
    assert!(
        lock_secs > 0 && lock_secs <= cfg.lockout_secs as i64,
        "{seen:?}"
    );

    // While locked, even the right password is refused.
    let (status, _) = json(password_grant(&app, "owner@example.com", PASSWORD, &[]).await).await;
    assert_eq!(status, 423);

    // The lockout left a decision record and an audit entry (read with the token from before).
    let me = a.caller(&app);
    let decisions = me.get_ok("/v1/decisions?kind=account_locked").await;
    let d = decisions["items"].as_array().unwrap();
    assert_eq!(d.len(), 1, "{decisions}");
    assert_eq!(d[0]["subject_kind"], "user");
    assert_eq!(d[0]["subject_id"], a.user_id.to_string());
    let locked = me.get_ok("/v1/audit?action=auth.locked_out").await;
    assert_eq!(locked["items"].as_array().unwrap().len(), 1, "{locked}");
    let failed = me
        .get_ok("/v1/audit?action=auth.login_failed&limit=100")
        .await;
    assert!(
        failed["items"].as_array().unwrap().len() >= failures,
        "{failed}"
    );

    // After the lockout the right password works again.
    clock.advance(Duration::seconds(lock_secs));
    let (status, body) = json(password_grant(&app, "owner@example.com", PASSWORD, &[]).await).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn unknown_accounts_are_throttled_and_locked_exactly_like_real_ones() {
    let clock = clock();
    let app = app_at(&clock).await;
    admin(&app, "owner@example.com", "Agency A").await;
    let known = fail_until_locked(&app, &clock, "owner@example.com").await;
    let unknown = fail_until_locked(&app, &clock, "nobody@example.com").await;
    assert_eq!(known, unknown);
}

#[tokio::test]
async fn a_lock_reached_through_the_email_also_holds_for_the_username() {
    let clock = clock();
    let app = app_at(&clock).await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let (invitation, _) = invite_code(&a.caller(&app), "viewer").await;
    let (status, body) = json(
        app.post_json(
            "/v1/auth/register",
            &json!({
                "email": "jane@example.com",
                "username": "jane",
                "password": PASSWORD,
                "display_name": "Jane",
                "invitation": invitation,
            }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    sign_in(&app, "jane", PASSWORD).await;

    let seen = fail_until_locked(&app, &clock, "jane@example.com").await;
    let lock_secs = seen
        .last()
        .and_then(|(_, r)| *r)
        .expect("423 carries Retry-After");
    // The username names the same account: locked too, even with the right password.
    let resp = password_grant(&app, "JANE", PASSWORD, &[]).await;
    assert!(resp.headers().contains_key("retry-after"));
    let (status, body) = json(resp).await;
    assert_eq!(status, 423, "{body}");
    assert_eq!(code(&body), "locked", "{body}");

    // Once the lockout ends the username signs in, and the success clears the
    // counters of every identifier of the account.
    clock.advance(Duration::seconds(lock_secs));
    sign_in(&app, "jane", PASSWORD).await;
    let (status, body) =
        json(password_grant(&app, "jane@example.com", "not-the-password-1", &[]).await).await;
    assert_eq!(status, 401, "a fresh, free failure: {body}");
}

#[tokio::test]
async fn a_failed_sign_in_never_stores_what_was_typed_as_the_identifier() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    // A password typed into the username field, twice, then a known account.
    let typed = "Correct-Horse-Typed-In-The-Wrong-Field";
    for _ in 0..2 {
        let (status, _) = json(password_grant(&app, typed, "whatever-password-1", &[]).await).await;
        assert_eq!(status, 401);
    }
    let (status, _) =
        json(password_grant(&app, "owner@example.com", "wrong-password-1234", &[]).await).await;
    assert_eq!(status, 401);

    let details = sql_texts(
        &app,
        "SELECT CAST(details AS TEXT) FROM audit_log WHERE action = $1 ORDER BY seq",
        &[SqlParam::Text("auth.login_failed".into())],
    )
    .await;
    assert_eq!(details.len(), 3, "{details:?}");
    let details: Vec<Value> = details
        .iter()
        .map(|d| serde_json::from_str(d.as_deref().unwrap_or("null")).expect("JSON details"))
        .collect();
    let plain_sha = kiki_credentials::tokens::token_hash(&typed.to_lowercase());
    for d in &details {
        let text = d.to_string().to_lowercase();
        assert!(!text.contains(&typed.to_lowercase()), "{d}");
        assert!(!text.contains("owner@example.com"), "{d}");
        assert!(
            !text.contains(&plain_sha),
            "an unkeyed hash can be reversed: {d}"
        );
    }
    // The unknown identifier is a keyed hash (the same both times, so attempts correlate).
    let h1 = details[0]["identifier_hash"].as_str().expect("hash");
    assert_eq!(h1.len(), 64, "{h1}");
    assert_eq!(details[1]["identifier_hash"], details[0]["identifier_hash"]);
    // The known account is named by its user id only.
    assert!(
        details[2].get("identifier_hash").is_none(),
        "{}",
        details[2]
    );
    let targets = sql_texts(
        &app,
        "SELECT target_id FROM audit_log WHERE action = $1 ORDER BY seq",
        &[SqlParam::Text("auth.login_failed".into())],
    )
    .await;
    assert_eq!(targets[2].as_deref(), Some(a.user_id.to_string().as_str()));
    // Nor does the throttle table hold an unkeyed hash of it.
    let keys = sql_texts(&app, "SELECT key FROM login_throttle", &[]).await;
    assert!(
        keys.iter()
            .all(|k| !k.as_deref().unwrap_or_default().contains(&plain_sha)),
        "{keys:?}"
    );
}

#[tokio::test]
async fn registration_needs_an_invitation_and_a_password_the_policy_accepts() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner@example.com", "Agency A").await;

    let (status, body) = json(
        app.post_json(
            "/v1/auth/register",
            &json!({"email": "new@example.com", "password": PASSWORD, "display_name": "New"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["invitation"], "{body}");

    let (code_, _) = invite_code(&a.caller(&app), "viewer").await;
    let email = "long.name.person@example.com";
    for bad in [
        "short-pw",
        "qwerty123456",
        email,
        "LONG.NAME.PERSON@EXAMPLE.COM",
    ] {
        let (status, body) = json(register(&app, email, bad, &code_).await).await;
        assert_eq!(status, 422, "{bad}: {body}");
        assert_eq!(error_fields(&body), ["password"], "{bad}: {body}");
    }

    // The refused attempts did not use the code; a username works for sign-in too.
    let (status, body) = json(
        app.post_json(
            "/v1/auth/register",
            &json!({
                "email": email,
                "password": PASSWORD,
                "display_name": "Long Name",
                "username": "lname",
                "invitation": code_,
            }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["org_id"], a.org_id.to_string(), "{body}");
    assert_eq!(body["user"]["email"], email, "{body}");
    let t = sign_in(&app, "lname", PASSWORD).await;
    let me = Caller::new(&app, t.access_token).get_ok("/v1/me").await;
    assert_eq!(me["role"], "viewer", "{me}");
    assert_eq!(me["user"]["mfa_enabled"], false, "{me}");
}

#[tokio::test]
async fn a_long_but_common_password_is_refused_at_registration() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let (code_, _) = invite_code(&a.caller(&app), "viewer").await;
    let (status, body) =
        json(register(&app, "new@example.com", "password1234", &code_).await).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["password"], "{body}");
}

#[tokio::test]
async fn missing_grant_fields_are_422_and_an_unknown_grant_is_an_oauth_400() {
    let app = identity_app().spawn().await;
    admin(&app, "owner@example.com", "Agency A").await;
    let post = |form: Vec<(&'static str, &'static str)>| {
        app.client
            .post(app.url("/v1/auth/token"))
            .form(&form)
            .send()
    };

    let (status, body) = json(
        post(vec![
            ("grant_type", "password"),
            ("username", "owner@example.com"),
        ])
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["password"], "{body}");

    let (status, body) = json(
        post(vec![("grant_type", "password"), ("password", PASSWORD)])
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["username"], "{body}");

    let (status, body) = json(post(vec![("grant_type", "refresh_token")]).await.unwrap()).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["refresh_token"], "{body}");

    let (status, body) = json(
        post(vec![
            ("grant_type", "client_credentials"),
            ("client_id", "x"),
        ])
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(
        body["error"]["details"]["oauth_error"], "unsupported_grant_type",
        "{body}"
    );
}

#[tokio::test]
async fn a_stored_password_hash_uses_the_default_argon2id_parameters() {
    let app = TestApp::builder()
        .configure(|c| {
            c.bootstrap.demo = Some(false);
            c.auth.argon2 = Default::default();
        })
        .spawn()
        .await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let hashes = sql_texts(
        &app,
        "SELECT password_hash FROM users WHERE email = $1",
        &[SqlParam::Text(a.email.clone())],
    )
    .await;
    let [Some(hash)] = hashes.as_slice() else {
        panic!("one hash expected: {hashes:?}");
    };
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "the OWASP minimum parameters: {hash}"
    );
    assert!(!hash.contains(PASSWORD));
}

#[tokio::test]
async fn the_demo_account_exists_in_development_unless_turned_off() {
    let app = TestApp::builder()
        .configure(|c| {
            c.auth.argon2.memory_kib = 1024;
            c.auth.argon2.iterations = 1;
            c.auth.argon2.parallelism = 1;
        })
        .spawn()
        .await;
    let t = sign_in(
        &app,
        kiki_identity::bootstrap::DEMO_EMAIL,
        kiki_identity::bootstrap::DEMO_PASSWORD,
    )
    .await;
    let me = Caller::new(&app, t.access_token).get_ok("/v1/me").await;
    assert_eq!(me["active_org"]["kind"], "agency", "{me}");
    let orgs = me["organisations"].as_array().unwrap();
    assert_eq!(orgs.len(), 3, "the agency and its two clients: {me}");
    assert_eq!(
        orgs.iter().filter(|o| o["via_agency"] == true).count(),
        2,
        "{me}"
    );

    let empty = identity_app().spawn().await;
    assert_eq!(
        status_of(
            password_grant(
                &empty,
                kiki_identity::bootstrap::DEMO_EMAIL,
                kiki_identity::bootstrap::DEMO_PASSWORD,
                &[],
            )
            .await
        )
        .await,
        401
    );
}
