//! Password reset and change through the HTTP API: who may read the reset
//! mail, a reset token working once and expiring, and which sessions a
//! reset or a change ends.

use kiki_test_support::identity::{
    Caller, PASSWORD, RESET_MARKER, admin, error_fields, identity_app, json, latest_mail,
    mailed_token, member, password_grant, refresh, sign_in, sql_texts,
};
use serde_json::json;
use time::Duration;

use crate::identity_auth::{app_at, clock, confirm, status_of};

#[tokio::test]
async fn an_organisation_admin_cannot_read_a_members_reset_mail() {
    let app = identity_app().spawn().await;
    let operator = admin(&app, "operator@example.com", "Agency A").await;
    let org_admin = member(&app, &operator.caller(&app), "admin", "admin@example.com").await;
    let org_owner = member(&app, &operator.caller(&app), "owner", "owner@example.com").await;
    let victim = member(&app, &operator.caller(&app), "viewer", "mary@example.com").await;

    // Anyone may ask for a reset of Mary's password…
    let resp = app
        .post_json(
            "/v1/auth/password-reset",
            &json!({"email": "mary@example.com"}),
        )
        .await;
    assert_eq!(resp.status(), 202);
    let token = mailed_token(&app, "mary@example.com", RESET_MARKER).await;

    // …but neither an admin nor an owner of her organisation sees the mail.
    for who in [&org_admin, &org_owner] {
        let page = who.caller(&app).get_ok("/v1/outbox").await;
        let text = page.to_string();
        assert!(!text.contains("mary@example.com"), "{}: {page}", who.email);
        assert!(!text.contains(&token), "{}: {page}", who.email);
    }
    // Mary sees her own mail, with the token masked.
    let mine = victim.caller(&app).get_ok("/v1/outbox").await;
    let items = mine["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{mine}");
    assert_eq!(items[0]["to"], "mary@example.com");
    assert_eq!(items[0]["kind"], "password_reset");
    let body = items[0]["text"].as_str().expect("text");
    assert!(!body.contains(&token), "{body}");
    assert!(body.contains("…[masked]"), "{body}");

    // No stored body holds the token, whatever the listing.
    let bodies = sql_texts(
        &app,
        "SELECT body_text FROM mail_outbox UNION ALL SELECT body_html FROM mail_outbox",
        &[],
    )
    .await;
    assert!(!bodies.is_empty());
    assert!(
        bodies
            .iter()
            .all(|b| !b.as_deref().unwrap_or_default().contains(&token)),
        "{bodies:?}"
    );
    // The masked mail does not open the account; the real link still works once.
    let (status, body) = json(confirm(&app, body, "a-brand-new-passphrase-7").await).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        confirm(&app, &token, "a-brand-new-passphrase-7")
            .await
            .status(),
        204
    );

    // A platform operator sees every mail in development, masked; nobody else may ask.
    let all = operator.caller(&app).get_ok("/v1/outbox?all=true").await;
    assert!(all.to_string().contains("mary@example.com"), "{all}");
    assert!(!all.to_string().contains(&token), "{all}");
    let (status, body) = json(org_owner.caller(&app).get("/v1/outbox?all=true").await).await;
    assert_eq!(status, 403, "{body}");
    // The operator's own listing is their own mail only.
    let own = operator.caller(&app).get_ok("/v1/outbox").await;
    assert!(own["items"].as_array().unwrap().is_empty(), "{own}");
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
