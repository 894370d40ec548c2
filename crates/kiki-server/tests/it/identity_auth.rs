//! Sign-in through the HTTP API: the OAuth2 password and refresh grants,
//! refresh-token rotation with reuse detection, logout, expiry on the
//! application clock, answers that do not reveal whether an account exists,
//! throttling and lockout, password reset and change, registration rules
//! and the stored password hash.

use std::sync::Arc;

use kiki_core::TestClock;
use kiki_identity::{Role, permissions_of};
use kiki_test_support::TestApp;
use kiki_test_support::identity::{
    Caller, PASSWORD, RESET_MARKER, SqlParam, Tokens, admin, code, error_fields, identity_app,
    invite_code, json, latest_mail, mailed_token, password_grant, refresh, register, sign_in,
    sql_texts,
};
use serde_json::{Value, json};
use time::Duration;
use time::macros::datetime;

fn clock() -> TestClock {
    TestClock::at(datetime!(2026-03-02 09:00:00 UTC))
}

async fn app_at(clock: &TestClock) -> TestApp {
    identity_app().clock(Arc::new(clock.clone())).spawn().await
}

/// The session (refresh-token family) id inside an access token.
fn session_of(app: &TestApp, access_token: &str) -> uuid::Uuid {
    app.state
        .identity
        .jwt()
        .verify(access_token, app.state.clock.now().unix_timestamp())
        .expect("the access token verifies")
        .sid
}

async fn status_of(resp: reqwest::Response) -> u16 {
    resp.status().as_u16()
}

/// `POST /v1/auth/password-reset/confirm`.
async fn confirm(app: &TestApp, token: &str, new_password: &str) -> reqwest::Response {
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
async fn a_password_reset_works_once_ends_every_session_and_expires() {
    let clock = clock();
    let app = app_at(&clock).await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let other = sign_in(&app, "owner@example.com", PASSWORD).await;

    let known = app
        .post_json(
            "/v1/auth/password-reset",
            &json!({"email": "owner@example.com"}),
        )
        .await;
    let unknown = app
        .post_json(
            "/v1/auth/password-reset",
            &json!({"email": "nobody@example.com"}),
        )
        .await;
    let (ks, kb) = json(known).await;
    let (us, ub) = json(unknown).await;
    assert_eq!((ks, us), (202, 202), "{kb} {ub}");
    assert_eq!(
        kb, ub,
        "the answer does not tell whether the account exists"
    );
    assert!(latest_mail(&app, "nobody@example.com").await.is_none());

    let token = mailed_token(&app, "owner@example.com", RESET_MARKER).await;
    let new_password = "a-brand-new-passphrase-7";
    // A password the policy refuses does not use the token up.
    let (status, body) = json(confirm(&app, &token, "short").await).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["new_password"], "{body}");
    let resp = confirm(&app, &token, new_password).await;
    assert_eq!(resp.status(), 204);
    let (status, body) = json(confirm(&app, &token, "another-passphrase-99").await).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["token"], "{body}");

    // Every session ended; the old password no longer works, the new one does.
    for t in [&a.tokens, &other] {
        assert_eq!(
            Caller::new(&app, t.access_token.clone())
                .get("/v1/me")
                .await
                .status(),
            401
        );
        assert_eq!(status_of(refresh(&app, &t.refresh_token).await).await, 401);
    }
    assert_eq!(
        status_of(password_grant(&app, "owner@example.com", PASSWORD, &[]).await).await,
        401
    );
    sign_in(&app, "owner@example.com", new_password).await;

    // A reset token is good for 30 minutes.
    clock.advance(Duration::minutes(1));
    let resp = app
        .post_json(
            "/v1/auth/password-reset",
            &json!({"email": "owner@example.com"}),
        )
        .await;
    assert_eq!(resp.status(), 202);
    let late = mailed_token(&app, "owner@example.com", RESET_MARKER).await;
    assert_ne!(late, token);
    clock.advance(Duration::minutes(31));
    let (status, body) = json(confirm(&app, &late, "yet-another-passphrase-5").await).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["token"], "{body}");
}

#[tokio::test]
async fn changing_the_password_keeps_this_session_and_ends_the_others() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let other = sign_in(&app, "owner@example.com", PASSWORD).await;
    let me = a.caller(&app);
    let new_password = "a-brand-new-passphrase-7";

    let (status, body) = json(
        me.post(
            "/v1/me/password",
            &json!({"current_password": "not-my-password-9", "new_password": new_password}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["current_password"], "{body}");

    let resp = me
        .post(
            "/v1/me/password",
            &json!({"current_password": PASSWORD, "new_password": new_password}),
        )
        .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(me.get("/v1/me").await.status(), 200);
    assert_eq!(
        Caller::new(&app, other.access_token)
            .get("/v1/me")
            .await
            .status(),
        401
    );
    assert_eq!(
        status_of(password_grant(&app, "owner@example.com", PASSWORD, &[]).await).await,
        401
    );
    sign_in(&app, "owner@example.com", new_password).await;
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
