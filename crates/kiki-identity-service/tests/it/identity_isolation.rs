//! Tenant isolation through the HTTP API: two agencies, A and B, each with a
//! client. An owner of A calls every tenant-scoped endpoint with B's ids and
//! every list endpoint with `X-Kiki-Org` set to B's organisations, and must
//! get 404 — never 403, which would confirm the id exists, and never B's
//! data — while B's records stay as they were. Inside one tenant, an agency
//! member reaches its clients, and a client member does not reach its agency.

use kiki_core::OrgId;
use kiki_test_support::TestApp;
use kiki_test_support::identity::{
    Caller, PASSWORD, Person, Tokens, admin, client_org, identity_app, invite_code, json, member,
    refresh, sign_in, uuid_of,
};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

/// What tenant B holds.
struct TenantB {
    admin: Person,
    agency: Uuid,
    client: Uuid,
    member: Person,
    invitation: Uuid,
    api_key: Uuid,
    decision: Uuid,
    job: Uuid,
}

/// Strings of B's that must never appear in an answer to A.
fn secrets_of(b: &TenantB) -> Vec<String> {
    vec![
        b.agency.to_string(),
        b.client.to_string(),
        b.member.user_id.to_string(),
        b.member.email.clone(),
        b.admin.email.clone(),
        "Agency B".into(),
        "Client of B".into(),
    ]
}

async fn tenant_b(app: &TestApp) -> TenantB {
    let b = admin(app, "owner-b@example.com", "Agency B").await;
    let owner = b.caller(app);
    let client = client_org(&owner, "Client of B").await;
    let member = member(app, &owner, "viewer", "member-b@example.com").await;
    let (_, inv) = invite_code(&owner, "analyst").await;
    let (status, key) = json(
        owner
            .post(
                "/v1/api-keys",
                &json!({"name": "b key", "permissions": ["org.read"]}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 201, "{key}");
    // A decision record of B: a refresh token presented twice.
    let t = sign_in(app, &b.email, PASSWORD).await;
    Tokens::from_response(refresh(app, &t.refresh_token).await).await;
    assert_eq!(refresh(app, &t.refresh_token).await.status(), 401);
    let d = owner
        .get_ok("/v1/decisions?kind=token_family_revoked")
        .await;
    let job = app
        .state
        .jobs
        .enqueue(
            Some(OrgId(b.org_id)),
            kiki_store::HOUSEKEEPING_KIND,
            json!({}),
            Default::default(),
        )
        .await
        .expect("enqueue");
    TenantB {
        agency: b.org_id,
        client,
        invitation: uuid_of(&inv["invitation"]["id"]),
        api_key: uuid_of(&key["key"]["id"]),
        decision: uuid_of(&d["items"][0]["id"]),
        job: job.0,
        member,
        admin: b,
    }
}

/// Calls that name one of B's records.
fn calls_with_b_ids(b: &TenantB) -> Vec<(Method, String, Option<Value>)> {
    use Method as M;
    let mut v: Vec<(Method, String, Option<Value>)> = Vec::new();
    for org in [b.agency, b.client] {
        v.push((M::GET, format!("/v1/organisations/{org}"), None));
        v.push((
            M::PATCH,
            format!("/v1/organisations/{org}"),
            Some(json!({"name": "Taken over"})),
        ));
        v.push((M::POST, format!("/v1/organisations/{org}/archive"), None));
    }
    let u = b.member.user_id;
    v.extend([
        (
            M::PATCH,
            format!("/v1/members/{u}"),
            Some(json!({"role": "owner"})),
        ),
        (M::POST, format!("/v1/members/{u}/deactivate"), None),
        (M::POST, format!("/v1/members/{u}/reactivate"), None),
        (M::DELETE, format!("/v1/members/{u}"), None),
        (
            M::POST,
            format!("/v1/invitations/{}/revoke", b.invitation),
            None,
        ),
        (M::DELETE, format!("/v1/api-keys/{}", b.api_key), None),
        (M::GET, format!("/v1/decisions/{}", b.decision), None),
        (M::GET, format!("/v1/jobs/{}", b.job), None),
    ]);
    v
}

/// Every list (and the caller's own view) — called with `X-Kiki-Org` set to B's organisations.
const LISTS: [&str; 9] = [
    "/v1/me",
    "/v1/organisations",
    "/v1/members",
    "/v1/invitations",
    "/v1/api-keys",
    "/v1/audit",
    "/v1/audit/verify",
    "/v1/decisions",
    "/v1/outbox",
];

fn leaks(body: &Value, secrets: &[String]) -> Vec<String> {
    let text = body.to_string();
    secrets
        .iter()
        .filter(|s| text.contains(s.as_str()))
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_user_of_one_agency_gets_404_for_everything_of_another() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner-a@example.com", "Agency A").await;
    // The caller is an owner of A without platform rights: every permission, one tenant.
    let ua = member(&app, &a.caller(&app), "owner", "user-a@example.com").await;
    let b = tenant_b(&app).await;
    let secrets = secrets_of(&b);
    let caller = ua.caller(&app);

    let mut failures = Vec::new();
    for (method, path, body) in calls_with_b_ids(&b) {
        let (status, resp) = json(caller.send(method.clone(), &path, body.as_ref()).await).await;
        if status != 404 || !leaks(&resp, &secrets).is_empty() {
            failures.push(format!("{method} {path}: {status} {resp}"));
        }
    }
    for org in [b.agency, b.client] {
        let in_b = caller.in_org(org);
        for path in LISTS {
            let (status, resp) = json(in_b.get(path).await).await;
            if status != 404 || !leaks(&resp, &secrets).is_empty() {
                failures.push(format!("GET {path} as {org}: {status} {resp}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // B's records are untouched.
    let owner_b = b.admin.caller(&app);
    let org = owner_b
        .get_ok(&format!("/v1/organisations/{}", b.agency))
        .await;
    assert_eq!(org["name"], "Agency B", "{org}");
    let client = owner_b
        .get_ok(&format!("/v1/organisations/{}", b.client))
        .await;
    assert!(client["archived_at"].is_null(), "{client}");
    let members = owner_b.get_ok("/v1/members").await;
    let m = members["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user_id"] == b.member.user_id.to_string())
        .unwrap_or_else(|| panic!("B's member is still there: {members}"));
    assert_eq!(m["role"], "viewer", "{m}");
    assert_eq!(m["status"], "active", "{m}");
    assert_eq!(
        b.member.caller(&app).get("/v1/me").await.status(),
        200,
        "B's member's session survived"
    );
    let invitations = owner_b.get_ok("/v1/invitations").await;
    assert_eq!(invitations["counts"]["unused"], 1, "{invitations}");
    assert_eq!(invitations["counts"]["revoked"], 0, "{invitations}");
    let keys = owner_b.get_ok("/v1/api-keys").await;
    let key = keys["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == b.api_key.to_string())
        .unwrap_or_else(|| panic!("{keys}"));
    assert!(key["revoked_at"].is_null(), "{key}");
    assert_eq!(
        owner_b.get(&format!("/v1/jobs/{}", b.job)).await.status(),
        200,
        "B sees its own job"
    );
    assert_eq!(
        owner_b
            .get(&format!("/v1/decisions/{}", b.decision))
            .await
            .status(),
        200,
        "B sees its own decision"
    );
}

#[tokio::test]
async fn an_api_key_of_one_agency_cannot_switch_to_another() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner-a@example.com", "Agency A").await;
    let b = tenant_b(&app).await;
    let (status, created) = json(
        a.caller(&app)
            .post(
                "/v1/api-keys",
                &json!({"name": "a key", "permissions": ["org.read", "user.read"]}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let key = Caller::new(&app, created["token"].as_str().unwrap());
    assert_eq!(key.get("/v1/organisations").await.status(), 200);
    for org in [b.agency, b.client] {
        let (status, body) = json(key.in_org(org).get("/v1/members").await).await;
        assert_eq!(status, 404, "{body}");
    }
    let (status, body) = json(key.get(&format!("/v1/organisations/{}", b.agency)).await).await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn an_agency_member_reaches_its_clients_and_a_client_member_not_its_agency() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner-a@example.com", "Agency A").await;
    let owner = a.caller(&app);
    let client = client_org(&owner, "Client A1").await;
    let sibling = client_org(&owner, "Client A2").await;
    let analyst = member(&app, &owner, "analyst", "analyst-a@example.com").await;

    // An agency member switches to a client of the agency with the agency role.
    let in_client = analyst.caller(&app).in_org(client);
    let me = in_client.get_ok("/v1/me").await;
    assert_eq!(me["active_org"]["id"], client.to_string(), "{me}");
    assert_eq!(me["role"], "analyst", "{me}");
    let reach = me["organisations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == client.to_string())
        .unwrap_or_else(|| panic!("{me}"));
    assert_eq!(reach["via_agency"], true, "{reach}");
    assert_eq!(in_client.get("/v1/members").await.status(), 200);

    // The agency's job is visible to its members, with the agency as active org.
    let job = app
        .state
        .jobs
        .enqueue(
            Some(OrgId(a.org_id)),
            kiki_store::HOUSEKEEPING_KIND,
            json!({}),
            Default::default(),
        )
        .await
        .expect("enqueue");
    assert_eq!(
        analyst
            .caller(&app)
            .get(&format!("/v1/jobs/{}", job.0))
            .await
            .status(),
        200
    );

    // A member of the client only: no way up to the agency or across to a sibling.
    let client_user = member(
        &app,
        &owner.in_org(client),
        "admin",
        "client-admin@example.com",
    )
    .await;
    assert_eq!(client_user.org_id, client);
    let cu = client_user.caller(&app);
    let me = cu.get_ok("/v1/me").await;
    assert_eq!(me["active_org"]["id"], client.to_string(), "{me}");
    assert_eq!(me["organisations"].as_array().unwrap().len(), 1, "{me}");
    for org in [a.org_id, sibling] {
        let (status, body) = json(cu.in_org(org).get("/v1/members").await).await;
        assert_eq!(status, 404, "{body}");
        let (status, body) = json(cu.get(&format!("/v1/organisations/{org}")).await).await;
        assert_eq!(status, 404, "{body}");
        let (status, body) = json(cu.in_org(org).get("/v1/me").await).await;
        assert_eq!(status, 404, "{body}");
    }
    let (status, body) = json(
        cu.post_empty(&format!("/v1/members/{}/deactivate", a.user_id))
            .await,
    )
    .await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = json(cu.get(&format!("/v1/jobs/{}", job.0)).await).await;
    assert_eq!(
        status, 404,
        "a client member does not see the agency's job: {body}"
    );
}
