//! Invitations through the API: an email invitation (the link goes to the
//! in-app outbox) registered with, invite codes with their counts, revocation,
//! expiry on the application clock and single use, and a signed-in user
//! accepting an invitation to a second organisation.

use std::sync::Arc;

use kiki_core::TestClock;
use kiki_test_support::TestApp;
use kiki_test_support::identity::{
    Caller, INVITATION_MARKER, PASSWORD, Tokens, admin, error_fields, identity_app, invite_code,
    json, latest_mail, mailed_token, password_grant, register, sign_in, uuid_of,
};
use serde_json::json;
use time::Duration;
use time::macros::datetime;

fn clock() -> TestClock {
    TestClock::at(datetime!(2026-03-02 09:00:00 UTC))
}

async fn app_at(clock: &TestClock) -> TestApp {
    identity_app().clock(Arc::new(clock.clone())).spawn().await
}

#[tokio::test]
async fn an_email_invitation_is_mailed_and_registers_the_invited_address_once() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let owner = a.caller(&app);

    let (status, inv) = json(
        owner
            .post(
                "/v1/invitations",
                &json!({"email": "Jane@Example.com", "role": "analyst"}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 201, "{inv}");
    assert_eq!(inv["kind"], "email", "{inv}");
    assert_eq!(inv["email"], "jane@example.com", "{inv}");
    assert_eq!(inv["role"], "analyst", "{inv}");
    assert_eq!(inv["state"], "unused", "{inv}");
    let (subject, _) = latest_mail(&app, "jane@example.com")
        .await
        .expect("the invitation is in the outbox");
    assert!(subject.contains("Agency A"), "{subject}");
    let token = mailed_token(&app, "jane@example.com", INVITATION_MARKER).await;

    // The audit entry masks the address.
    let audit = owner.get_ok("/v1/audit?action=member.invited").await;
    let entry = &audit["items"][0];
    assert_eq!(entry["details"]["email"], "j***@example.com", "{audit}");
    assert!(!audit.to_string().contains("jane@example.com"), "{audit}");

    // Another address cannot use it, and that attempt does not use it up.
    let (status, body) = json(register(&app, "mallory@example.com", PASSWORD, &token).await).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["email"], "{body}");

    let (status, body) = json(register(&app, "jane@example.com", PASSWORD, &token).await).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["org_id"], a.org_id.to_string(), "{body}");
    let jane = sign_in(&app, "jane@example.com", PASSWORD).await;
    let me = Caller::new(&app, jane.access_token).get_ok("/v1/me").await;
    assert_eq!(me["role"], "analyst", "{me}");

    let (status, body) = json(register(&app, "jane2@example.com", PASSWORD, &token).await).await;
    assert_eq!(status, 422, "{body}");
    let list = owner.get_ok("/v1/invitations").await;
    let item = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == inv["id"])
        .unwrap_or_else(|| panic!("{list}"));
    assert_eq!(item["state"], "used", "{item}");
    assert_eq!(item["used_by"], me["user"]["id"], "{item}");
}

#[tokio::test]
async fn invite_codes_are_counted_revoked_expired_and_used_once() {
    let clock = clock();
    let app = app_at(&clock).await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let owner = a.caller(&app);

    let (used, created) = invite_code(&owner, "viewer").await;
    assert!(used.starts_with("KIKI-"), "{used}");
    assert_eq!(used.chars().count(), 21, "KIKI- and 16 characters: {used}");
    assert_eq!(created["invitation"]["kind"], "code", "{created}");
    assert!(
        used.starts_with(
            created["invitation"]["hint"]
                .as_str()
                .unwrap()
                .trim_end_matches('…')
        ),
        "{created}"
    );
    let (revoked, revoked_body) = invite_code(&owner, "viewer").await;
    let (status, body) = json(
        owner
            .post(
                "/v1/invite-codes",
                &json!({"role": "manager", "expires_in_days": 1}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let short_code = body["code"].as_str().unwrap().to_owned();
    let (kept, _) = invite_code(&owner, "analyst").await;
    let (status, body) = json(
        owner
            .post(
                "/v1/invite-codes",
                &json!({"role": "viewer", "expires_in_days": 0}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["expires_in_days"], "{body}");

    let list = owner.get_ok("/v1/invitations").await;
    assert_eq!(
        list["counts"],
        json!({"unused": 4, "used": 0, "revoked": 0, "expired": 0}),
        "{list}"
    );
    assert!(
        !list.to_string().contains(&used),
        "a listing never shows a code"
    );

    // Single use.
    let (status, body) = json(register(&app, "first@example.com", PASSWORD, &used).await).await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = json(register(&app, "second@example.com", PASSWORD, &used).await).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["invitation"], "{body}");

    // Revoked.
    let id = uuid_of(&revoked_body["invitation"]["id"]);
    let (status, body) = json(
        owner
            .post_empty(&format!("/v1/invitations/{id}/revoke"))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "revoked", "{body}");
    let (status, body) = json(
        owner
            .post_empty(&format!("/v1/invitations/{id}/revoke"))
            .await,
    )
    .await;
    assert_eq!(status, 409, "revoking twice: {body}");
    let (status, body) = json(register(&app, "third@example.com", PASSWORD, &revoked).await).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["invitation"], "{body}");

    // The one-day code expires after a day (access tokens do sooner: sign in again).
    clock.advance(Duration::days(1) + Duration::seconds(1));
    let owner = Caller::new(&app, sign_in(&app, &a.email, PASSWORD).await.access_token);
    let (status, body) =
        json(register(&app, "fourth@example.com", PASSWORD, &short_code).await).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["invitation"], "{body}");

    let list = owner.get_ok("/v1/invitations").await;
    assert_eq!(
        list["counts"],
        json!({"unused": 1, "used": 1, "revoked": 1, "expired": 1}),
        "{list}"
    );

    // The default lifetime is seven days.
    clock.advance(Duration::days(6));
    let owner = Caller::new(&app, sign_in(&app, &a.email, PASSWORD).await.access_token);
    let list = owner.get_ok("/v1/invitations").await;
    assert_eq!(
        list["counts"],
        json!({"unused": 0, "used": 1, "revoked": 1, "expired": 2}),
        "{list}"
    );
    let (status, body) = json(register(&app, "fifth@example.com", PASSWORD, &kept).await).await;
    assert_eq!(status, 422, "{body}");
}

#[tokio::test]
async fn a_signed_in_user_accepts_an_invitation_to_a_second_organisation() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner-a@example.com", "Agency A").await;
    let b = admin(&app, "owner-b@example.com", "Agency B").await;
    let (code_, _) = invite_code(&a.caller(&app), "manager").await;

    let by_b = b.caller(&app);
    let (status, body) = json(
        by_b.post("/v1/invitations/accept", &json!({"invitation": code_}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["id"], a.org_id.to_string(), "{body}");
    let (status, body) = json(
        by_b.post("/v1/invitations/accept", &json!({"invitation": code_}))
            .await,
    )
    .await;
    assert_eq!(status, 422, "a code works once: {body}");

    let me = by_b.get_ok("/v1/me").await;
    let orgs = me["organisations"].as_array().unwrap();
    let in_a = orgs
        .iter()
        .find(|o| o["id"] == a.org_id.to_string())
        .unwrap_or_else(|| panic!("{me}"));
    assert_eq!(in_a["role"], "manager", "{me}");
    let me_a = by_b.in_org(a.org_id).get_ok("/v1/me").await;
    assert_eq!(me_a["role"], "manager", "{me_a}");
    // Signing in straight into the second organisation.
    let t = Tokens::from_response(
        password_grant(&app, &b.email, PASSWORD, &[("org", &a.org_id.to_string())]).await,
    )
    .await;
    let me = Caller::new(&app, t.access_token).get_ok("/v1/me").await;
    assert_eq!(me["active_org"]["id"], a.org_id.to_string(), "{me}");
}
