//! API keys through the API: created once with their token, usable as a
//! bearer credential with exactly their permissions, listed without the
//! token, revoked (then refused), never wider than their creator, and
//! expiring on the application clock.

use std::sync::Arc;

use kiki_core::{Clock, TestClock};
use kiki_test_support::TestApp;
use kiki_test_support::identity::{Caller, admin, code, error_fields, identity_app, json, member};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::macros::datetime;

async fn create_key(owner: &Caller<'_>, body: Value) -> (u16, Value) {
    json(owner.post("/v1/api-keys", &body).await).await
}

#[tokio::test]
async fn a_key_works_with_its_permissions_until_revoked() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let owner = a.caller(&app);

    let (status, created) = create_key(
        &owner,
        json!({"name": "ci", "permissions": ["org.read", "campaign.read"]}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("kiki_"), "{token}");
    let key = &created["key"];
    assert_eq!(key["name"], "ci");
    assert_eq!(key["org_id"], a.org_id.to_string());
    assert_eq!(key["permissions"], json!(["org.read", "campaign.read"]));
    assert!(key["revoked_at"].is_null());
    let prefix = key["prefix"].as_str().unwrap();
    assert!(token.contains(prefix), "{token} {prefix}");
    let id = key["id"].as_str().unwrap().to_owned();

    let machine = Caller::new(&app, token.clone());
    assert_eq!(machine.get("/v1/organisations").await.status(), 200);
    let (status, body) = json(machine.get("/v1/members").await).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(code(&body), "forbidden");
    let me = machine.get_ok("/v1/me").await;
    assert_eq!(me["caller"], "api_key", "{me}");
    assert!(me["user"].is_null(), "{me}");
    assert_eq!(
        me["permissions"],
        json!(["org.read", "campaign.read"]),
        "{me}"
    );
    let (status, body) = json(machine.post_empty("/v1/auth/logout").await).await;
    assert!(
        (400..500).contains(&status),
        "a key has no session to end: {status} {body}"
    );

    let list = owner.get_ok("/v1/api-keys").await;
    let listed = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == id.as_str())
        .unwrap_or_else(|| panic!("{list}"));
    assert!(
        listed["last_used_at"].is_string(),
        "use is recorded: {listed}"
    );
    assert!(
        !list.to_string().contains(&token),
        "the token is shown once"
    );

    let (status, revoked) = json(owner.delete(&format!("/v1/api-keys/{id}")).await).await;
    assert_eq!(status, 200, "{revoked}");
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    let (status, body) = json(machine.get("/v1/organisations").await).await;
    assert_eq!(status, 401, "{body}");
    let (status, again) = json(owner.delete(&format!("/v1/api-keys/{id}")).await).await;
    assert_eq!(status, 200, "revoking twice keeps the first time: {again}");
    assert_eq!(again["revoked_at"], revoked["revoked_at"]);

    let audit = owner.get_ok("/v1/audit?target_kind=api_key").await;
    let acts: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(acts, ["apikey.revoked", "apikey.created"], "{audit}");
    assert!(!audit.to_string().contains(&token));

    // A tampered token with a real prefix is refused.
    let forged = format!("{}x", &token[..token.len() - 1]);
    let forged = if forged == token {
        format!("{}y", &token[..token.len() - 1])
    } else {
        forged
    };
    assert_eq!(
        Caller::new(&app, forged)
            .get("/v1/organisations")
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn a_key_is_never_wider_than_its_creator() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let owner = a.caller(&app);
    let adm = member(&app, &owner, "admin", "admin@example.com").await;

    let (status, body) = create_key(
        &adm.caller(&app),
        json!({"name": "billing", "permissions": ["billing.manage"]}),
    )
    .await;
    assert_eq!(status, 403, "an admin does not hold billing.manage: {body}");
    let (status, body) = create_key(
        &adm.caller(&app),
        json!({"name": "reader", "permissions": ["campaign.read", "audit.read"]}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = create_key(
        &owner,
        json!({"name": "billing", "permissions": ["billing.manage"]}),
    )
    .await;
    assert_eq!(status, 201, "owners hold every permission: {body}");

    // A key with apikey.manage cannot mint a key with more than it has.
    let (_, k) = create_key(
        &owner,
        json!({"name": "minter", "permissions": ["apikey.manage"]}),
    )
    .await;
    let minter = Caller::new(&app, k["token"].as_str().unwrap());
    let (status, body) = create_key(
        &minter,
        json!({"name": "wider", "permissions": ["audit.read"]}),
    )
    .await;
    assert_eq!(status, 403, "{body}");
}

#[tokio::test]
async fn key_requests_are_validated() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let owner = a.caller(&app);

    let (status, body) = create_key(
        &owner,
        json!({"name": "x", "permissions": ["org.read", "org.fly"]}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["permissions[1]"], "{body}");
    let (status, body) = create_key(&owner, json!({"name": "x", "permissions": []})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["permissions"], "{body}");
    let (status, body) =
        create_key(&owner, json!({"name": " ", "permissions": ["org.read"]})).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["name"], "{body}");
    let (status, body) = create_key(
        &owner,
        json!({"name": "old", "permissions": ["org.read"], "expires_at": "2001-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["expires_at"], "{body}");
}

#[tokio::test]
async fn a_key_stops_working_when_it_expires() {
    let clock = TestClock::at(datetime!(2026-03-02 09:00:00 UTC));
    let app: TestApp = identity_app().clock(Arc::new(clock.clone())).spawn().await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let expires = (clock.now() + time::Duration::hours(1))
        .format(&Rfc3339)
        .unwrap();
    let (status, created) = create_key(
        &a.caller(&app),
        json!({"name": "short", "permissions": ["org.read"], "expires_at": expires}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let machine = Caller::new(&app, created["token"].as_str().unwrap());
    assert_eq!(machine.get("/v1/organisations").await.status(), 200);
    clock.advance(time::Duration::minutes(59));
    assert_eq!(machine.get("/v1/organisations").await.status(), 200);
    clock.advance(time::Duration::minutes(1));
    assert_eq!(machine.get("/v1/organisations").await.status(), 401);
}
