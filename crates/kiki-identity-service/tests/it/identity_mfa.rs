//! Two-factor authentication through the API: TOTP enrolment (RFC 6238
//! codes computed from the application clock), sign-in with a code, replay
//! refusal, single-use recovery codes, regeneration, disabling, and the
//! organisation rule that owners and admins must use MFA.

use std::sync::Arc;

use kiki_core::{Clock, TestClock};
use kiki_credentials::totp::{self, TotpSecret};
use kiki_test_support::TestApp;
use kiki_test_support::identity::{
    Caller, PASSWORD, Person, Tokens, admin, code, error_fields, identity_app, json, member,
    password_grant, sign_in,
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

fn now_secs(clock: &TestClock) -> u64 {
    u64::try_from(clock.now().unix_timestamp()).expect("after 1970")
}

/// The code an authenticator app shows now.
fn code_now(secret: &str, clock: &TestClock) -> String {
    let s = TotpSecret::from_base32(secret).expect("the secret is base32");
    totp::code_at(&s, now_secs(clock))
}

/// Six digits that match none of the steps a server accepts now (previous, current, next).
fn wrong_code(secret: &str, clock: &TestClock) -> String {
    let s = TotpSecret::from_base32(secret).expect("the secret is base32");
    let t = now_secs(clock);
    let accepted = [t - 30, t, t + 30].map(|x| totp::code_at(&s, x));
    (0..1000)
        .map(|i| format!("{:06}", 123_456 + i))
        .find(|c| !accepted.contains(c))
        .expect("a code outside the window")
}

/// Starts enrolment; the enrolment body.
async fn enroll(me: &Caller<'_>) -> Value {
    let (status, body) = json(me.post_empty("/v1/me/mfa/enroll").await).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Enrols and confirms; the secret and the recovery codes.
async fn enable_mfa(me: &Caller<'_>, clock: &TestClock) -> (String, Vec<String>) {
    let enrol = enroll(me).await;
    let secret = enrol["secret"].as_str().unwrap().to_owned();
    let (status, body) = json(
        me.post(
            "/v1/me/mfa/confirm",
            &json!({"code": code_now(&secret, clock)}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let codes = body["recovery_codes"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    (secret, codes)
}

async fn grant_with_otp(app: &TestApp, who: &Person, otp: &str) -> (u16, Value) {
    json(password_grant(app, &who.email, PASSWORD, &[("otp", otp)]).await).await
}

#[tokio::test]
async fn mfa_is_enrolled_with_a_qr_code_and_then_required_at_sign_in() {
    let clock = clock();
    let app = app_at(&clock).await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let me = a.caller(&app);

    let enrol = enroll(&me).await;
    let secret = enrol["secret"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 26, "{enrol}");
    let uri = enrol["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(uri.contains(&format!("secret={secret}")), "{uri}");
    let svg = enrol["qr_svg"].as_str().unwrap().trim();
    assert!(svg.contains("<svg"), "{svg}");
    assert!(svg.ends_with("</svg>"), "{svg}");

    // Until confirmed, sign-in does not ask for a code.
    sign_in(&app, &a.email, PASSWORD).await;

    let (status, body) = json(
        me.post(
            "/v1/me/mfa/confirm",
            &json!({"code": wrong_code(&secret, &clock)}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["code"], "{body}");

    let confirm_code = code_now(&secret, &clock);
    let (status, body) = json(
        me.post("/v1/me/mfa/confirm", &json!({"code": confirm_code}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let recovery: Vec<&str> = body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(recovery.len(), 10, "{body}");
    let mut distinct = recovery.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 10, "{body}");

    // Now the password alone is not enough.
    let (status, body) = json(password_grant(&app, &a.email, PASSWORD, &[]).await).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(code(&body), "mfa_required", "{body}");
    // The step used to confirm cannot sign in.
    let (status, body) = grant_with_otp(&app, &a, &confirm_code).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(code(&body), "unauthenticated", "{body}");

    clock.advance(Duration::seconds(30));
    let otp = code_now(&secret, &clock);
    let (status, body) = grant_with_otp(&app, &a, &otp).await;
    assert_eq!(status, 200, "{body}");
    let t = Tokens::from_body(body);
    let me2 = Caller::new(&app, t.access_token).get_ok("/v1/me").await;
    assert_eq!(me2["user"]["mfa_enabled"], true, "{me2}");
    // The same code again is a replay.
    let (status, body) = grant_with_otp(&app, &a, &otp).await;
    assert_eq!(status, 401, "{body}");
}

#[tokio::test]
async fn a_recovery_code_works_once_and_regenerating_replaces_them_all() {
    let clock = clock();
    let app = app_at(&clock).await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let me = a.caller(&app);
    let (_, recovery) = enable_mfa(&me, &clock).await;

    let (status, body) = grant_with_otp(&app, &a, &recovery[0]).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = grant_with_otp(&app, &a, &recovery[0]).await;
    assert_eq!(status, 401, "a recovery code works once: {body}");
    // Typed with capitals and spaces, a code still works.
    let (status, body) =
        grant_with_otp(&app, &a, &format!(" {} ", recovery[1].to_uppercase())).await;
    assert_eq!(status, 200, "{body}");

    let (status, body) = json(me.post_empty("/v1/me/mfa/recovery-codes").await).await;
    assert_eq!(status, 200, "{body}");
    let fresh: Vec<String> = body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(fresh.len(), 10, "{body}");
    assert!(fresh.iter().all(|c| !recovery.contains(c)), "{body}");
    let (status, _) = grant_with_otp(&app, &a, &recovery[2]).await;
    assert_eq!(status, 401, "old codes stop working");
    let (status, body) = grant_with_otp(&app, &a, &fresh[0]).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn disabling_mfa_needs_the_password_and_then_the_password_is_enough() {
    let clock = clock();
    let app = app_at(&clock).await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let me = a.caller(&app);
    enable_mfa(&me, &clock).await;

    let (status, body) = json(
        me.post(
            "/v1/me/mfa/disable",
            &json!({"password": "not-my-password-9"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["password"], "{body}");
    let (status, _) = json(password_grant(&app, &a.email, PASSWORD, &[]).await).await;
    assert_eq!(status, 401, "still on");

    let resp = me
        .post("/v1/me/mfa/disable", &json!({"password": PASSWORD}))
        .await;
    assert_eq!(resp.status(), 204);
    let t = sign_in(&app, &a.email, PASSWORD).await;
    let caller = Caller::new(&app, t.access_token);
    let me2 = caller.get_ok("/v1/me").await;
    assert_eq!(me2["user"]["mfa_enabled"], false, "{me2}");
    let (status, body) = json(caller.post_empty("/v1/me/mfa/recovery-codes").await).await;
    assert_eq!(status, 409, "no recovery codes without MFA: {body}");

    let audit = caller.get_ok("/v1/audit?action=mfa.*&limit=50").await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in ["mfa.enrolment_started", "mfa.enabled", "mfa.disabled"] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
}

#[tokio::test]
async fn an_organisation_requiring_mfa_blocks_owners_without_it_but_not_viewers() {
    let clock = clock();
    let app = app_at(&clock).await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let owner = a.caller(&app);
    let viewer = member(&app, &owner, "viewer", "viewer@example.com").await;
    let require = json!({"require_mfa": true});
    let org_path = format!("/v1/organisations/{}", a.org_id);

    // Requiring MFA from a session without it would lock the owner out.
    let (status, body) = json(owner.patch(&org_path, &require).await).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("two-factor"),
        "{body}"
    );
    assert_eq!(
        owner.get("/v1/members").await.status(),
        200,
        "nothing changed"
    );

    // With MFA enrolled and used for the session, the owner may require it.
    let (secret, _) = enable_mfa(&owner, &clock).await;
    clock.advance(Duration::seconds(30));
    let (status, body) = grant_with_otp(&app, &a, &code_now(&secret, &clock)).await;
    assert_eq!(status, 200, "{body}");
    let with_mfa = Caller::new(&app, Tokens::from_body(body).access_token);
    let (status, body) = json(with_mfa.patch(&org_path, &require).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["require_mfa"], true, "{body}");

    // The owner's earlier session, signed in without the second factor, is blocked.
    let (status, body) = json(owner.get("/v1/members").await).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(code(&body), "forbidden");
    let me = owner.get_ok("/v1/me").await;
    assert_eq!(me["mfa_outstanding"], true, "{me}");
    assert_eq!(
        viewer.caller(&app).get("/v1/members").await.status(),
        200,
        "the rule is for owners and admins"
    );
    assert_eq!(with_mfa.get("/v1/members").await.status(), 200);
    let me = with_mfa.get_ok("/v1/me").await;
    assert_eq!(me["mfa_outstanding"], false, "{me}");
}
