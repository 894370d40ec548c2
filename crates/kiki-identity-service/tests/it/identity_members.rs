//! Members of an organisation through the API: role changes and the owner
//! rules (only owners grant or change the owner role; an organisation always
//! keeps an active owner), removing and deactivating members (never
//! yourself), and deactivation ending the member's sessions.

use kiki_test_support::identity::{
    Caller, PASSWORD, admin, client_org, code, identity_app, json, member, password_grant, refresh,
    sign_in,
};
use serde_json::{Value, json};
use uuid::Uuid;

fn find_member(list: &Value, user: Uuid) -> Option<&Value> {
    list["items"]
        .as_array()
        .and_then(|a| a.iter().find(|m| m["user_id"] == user.to_string()))
}

async fn role_change(caller: &Caller<'_>, user: Uuid, role: &str) -> (u16, Value) {
    json(
        caller
            .patch(&format!("/v1/members/{user}"), &json!({"role": role}))
            .await,
    )
    .await
}

#[tokio::test]
async fn admins_change_roles_below_owner_and_only_owners_touch_the_owner_role() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let owner = a.caller(&app);
    let adm = member(&app, &owner, "admin", "admin@example.com").await;
    let viewer = member(&app, &owner, "viewer", "viewer@example.com").await;
    let by_admin = adm.caller(&app);

    let (status, body) = role_change(&by_admin, viewer.user_id, "analyst").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["role"], "analyst", "{body}");
    let me = viewer.caller(&app).get_ok("/v1/me").await;
    assert_eq!(me["role"], "analyst", "the new role applies at once: {me}");

    let (status, body) = role_change(&by_admin, viewer.user_id, "owner").await;
    assert_eq!(status, 403, "an admin cannot make owners: {body}");
    let (status, body) = role_change(&by_admin, a.user_id, "viewer").await;
    assert_eq!(status, 403, "an admin cannot demote an owner: {body}");
    let (status, body) = json(
        by_admin
            .post("/v1/invite-codes", &json!({"role": "owner"}))
            .await,
    )
    .await;
    assert_eq!(status, 403, "an admin cannot invite owners: {body}");

    // An owner makes a second owner, and that owner can step down again.
    let (status, body) = role_change(&owner, viewer.user_id, "owner").await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = role_change(&owner, viewer.user_id, "viewer").await;
    assert_eq!(status, 200, "{body}");

    // The only owner cannot leave the organisation without one.
    let (status, body) = role_change(&owner, a.user_id, "admin").await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(code(&body), "conflict");
    let list = owner.get_ok("/v1/members").await;
    assert_eq!(find_member(&list, a.user_id).unwrap()["role"], "owner");

    let audit = owner
        .get_ok(&format!(
            "/v1/audit?action=member.role_changed&target_kind=user&target_id={}",
            viewer.user_id
        ))
        .await;
    let items = audit["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{audit}");
    // Newest first: viewer → analyst → owner → viewer.
    assert_eq!(items[0]["details"]["to"], "viewer", "{audit}");
    assert_eq!(items[2]["details"]["from"], "viewer", "{audit}");
    assert_eq!(items[2]["actor_id"], adm.user_id.to_string(), "{audit}");
}

#[tokio::test]
async fn nobody_removes_or_deactivates_themselves_or_the_last_owner() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let owner = a.caller(&app);
    let adm = member(&app, &owner, "admin", "admin@example.com").await;
    let by_admin = adm.caller(&app);

    for (method, path) in [
        ("DELETE", format!("/v1/members/{}", adm.user_id)),
        ("POST", format!("/v1/members/{}/deactivate", adm.user_id)),
    ] {
        let resp = if method == "DELETE" {
            by_admin.delete(&path).await
        } else {
            by_admin.post_empty(&path).await
        };
        let (status, body) = json(resp).await;
        assert_eq!(status, 409, "{method} {path}: {body}");
    }
    let (status, body) = json(owner.delete(&format!("/v1/members/{}", a.user_id)).await).await;
    assert_eq!(status, 409, "the owner removing themselves: {body}");
    let (status, body) = json(by_admin.delete(&format!("/v1/members/{}", a.user_id)).await).await;
    assert_eq!(status, 403, "an admin removing an owner: {body}");

    // The last owner of a client, removed by an owner of its agency: the client would have none.
    let client = client_org(&owner, "Client A1").await;
    let in_client = owner.in_org(client);
    let client_owner = member(&app, &in_client, "owner", "client-owner@example.com").await;
    let (status, body) = json(
        in_client
            .delete(&format!("/v1/members/{}", client_owner.user_id))
            .await,
    )
    .await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = json(
        in_client
            .post_empty(&format!("/v1/members/{}/deactivate", client_owner.user_id))
            .await,
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(client_owner.caller(&app).get("/v1/me").await.status(), 200);
}

#[tokio::test]
async fn deactivating_a_member_ends_their_sessions_until_reactivated() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let owner = a.caller(&app);
    let m = member(&app, &owner, "manager", "manager@example.com").await;
    let second = sign_in(&app, &m.email, PASSWORD).await;

    let (status, body) = json(
        owner
            .post_empty(&format!("/v1/members/{}/deactivate", m.user_id))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "deactivated", "{body}");
    for t in [&m.tokens, &second] {
        assert_eq!(
            Caller::new(&app, t.access_token.clone())
                .get("/v1/me")
                .await
                .status(),
            401
        );
        assert_eq!(refresh(&app, &t.refresh_token).await.status(), 401);
    }
    let (status, body) = json(password_grant(&app, &m.email, PASSWORD, &[]).await).await;
    assert_ne!(status, 200, "a deactivated member cannot sign in: {body}");
    let list = owner.get_ok("/v1/members").await;
    assert_eq!(
        find_member(&list, m.user_id).unwrap()["status"],
        "deactivated"
    );

    let (status, body) = json(
        owner
            .post_empty(&format!("/v1/members/{}/reactivate", m.user_id))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "active", "{body}");
    let t = sign_in(&app, &m.email, PASSWORD).await;
    let me = Caller::new(&app, t.access_token).get_ok("/v1/me").await;
    assert_eq!(me["role"], "manager", "{me}");

    let audit = owner
        .get_ok(&format!("/v1/audit?target_id={}&limit=50", m.user_id))
        .await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in ["member.deactivated", "member.reactivated"] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
}

#[tokio::test]
async fn a_removed_member_loses_access_and_leaves_the_list() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let owner = a.caller(&app);
    let v = member(&app, &owner, "viewer", "viewer@example.com").await;

    let resp = owner.delete(&format!("/v1/members/{}", v.user_id)).await;
    assert_eq!(resp.status(), 204);
    assert_eq!(v.caller(&app).get("/v1/me").await.status(), 401);
    let list = owner.get_ok("/v1/members").await;
    assert!(find_member(&list, v.user_id).is_none(), "{list}");
    let (status, _) = json(owner.delete(&format!("/v1/members/{}", v.user_id)).await).await;
    assert_eq!(status, 404, "removing twice");

    let audit = owner.get_ok("/v1/audit?action=member.removed").await;
    let items = audit["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{audit}");
    assert_eq!(items[0]["target_id"], v.user_id.to_string());
    assert_eq!(items[0]["actor_id"], a.user_id.to_string());
}
