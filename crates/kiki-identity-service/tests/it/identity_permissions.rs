//! The permission matrix through the HTTP API. For every role (a real member
//! made by invite code, registration and sign-in) and for API keys with a
//! chosen set of permissions, every endpoint guarded by a permission is called
//! and must answer 403 exactly when the caller lacks that permission. The
//! expectation is computed from `kiki_identity::permissions_of`, the one
//! matrix, never written by hand. Also: what `GET /v1/permissions` shows.

use std::collections::BTreeSet;

use kiki_identity::{Permission, Role, permissions_of};
use kiki_test_support::TestApp;
use kiki_test_support::identity::{
    Caller, PASSWORD, Person, Tokens, admin, client_org, code, identity_app, invite_code, json,
    member, refresh, sign_in, uuid_of,
};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

/// One call of an endpoint and the permission it needs.
#[derive(Debug)]
struct Endpoint {
    permission: Permission,
    method: Method,
    path: String,
    body: Option<Value>,
}

/// Records a caller's requests act on, made for that caller alone so that a
/// permitted call does its real work and a refused one leaves them untouched.
#[derive(Debug)]
struct Targets {
    client: Uuid,
    member: Uuid,
    invitation: Uuid,
    api_key: Uuid,
    decision: Uuid,
}

fn endpoint(permission: Permission, method: Method, path: String, body: Option<Value>) -> Endpoint {
    Endpoint {
        permission,
        method,
        path,
        body,
    }
}

/// Every endpoint guarded by a permission, for a caller in organisation `org`.
/// `with_client_archive` is false for API keys: a key is scoped to its one
/// organisation and cannot reach client organisations at all.
fn endpoints(org: Uuid, t: &Targets, tag: &str, with_client_archive: bool) -> Vec<Endpoint> {
    use Method as M;
    use Permission as P;
    let mut v = vec![
        endpoint(P::OrgRead, M::GET, "/v1/organisations".into(), None),
        endpoint(P::OrgRead, M::GET, format!("/v1/organisations/{org}"), None),
        endpoint(
            P::OrgManage,
            M::PATCH,
            format!("/v1/organisations/{org}"),
            Some(json!({"name": "Agency A"})),
        ),
        endpoint(
            P::OrgManage,
            M::POST,
            "/v1/organisations".into(),
            Some(json!({"name": format!("Client made by {tag}")})),
        ),
        endpoint(P::UserRead, M::GET, "/v1/members".into(), None),
        endpoint(P::UserRead, M::GET, "/v1/invitations".into(), None),
        endpoint(
            P::UserManage,
            M::POST,
            "/v1/invitations".into(),
            Some(json!({"email": format!("{tag}-invitee@example.com"), "role": "viewer"})),
        ),
        endpoint(
            P::UserManage,
            M::POST,
            "/v1/invite-codes".into(),
            Some(json!({"role": "viewer"})),
        ),
        endpoint(
            P::UserManage,
            M::POST,
            format!("/v1/invitations/{}/revoke", t.invitation),
            None,
        ),
        endpoint(
            P::UserManage,
            M::PATCH,
            format!("/v1/members/{}", t.member),
            Some(json!({"role": "analyst"})),
        ),
        endpoint(
            P::UserManage,
            M::POST,
            format!("/v1/members/{}/deactivate", t.member),
            None,
        ),
        endpoint(
            P::UserManage,
            M::POST,
            format!("/v1/members/{}/reactivate", t.member),
            None,
        ),
        endpoint(
            P::UserManage,
            M::DELETE,
            format!("/v1/members/{}", t.member),
            None,
        ),
        endpoint(P::ApiKeyManage, M::GET, "/v1/api-keys".into(), None),
        endpoint(
            P::ApiKeyManage,
            M::POST,
            "/v1/api-keys".into(),
            Some(json!({"name": format!("key of {tag}"), "permissions": ["apikey.manage"]})),
        ),
        endpoint(
            P::ApiKeyManage,
            M::DELETE,
            format!("/v1/api-keys/{}", t.api_key),
            None,
        ),
        endpoint(P::AuditRead, M::GET, "/v1/audit".into(), None),
        endpoint(P::AuditRead, M::GET, "/v1/audit/verify".into(), None),
        endpoint(P::DecisionRead, M::GET, "/v1/decisions".into(), None),
        endpoint(
            P::DecisionRead,
            M::GET,
            format!("/v1/decisions/{}", t.decision),
            None,
        ),
    ];
    if with_client_archive {
        v.push(endpoint(
            P::OrgManage,
            M::POST,
            format!("/v1/organisations/{}/archive", t.client),
            None,
        ));
    }
    v
}

/// The permissions that have an endpoint now; the table must walk each of them.
const WITH_ENDPOINTS: [Permission; 7] = [
    Permission::OrgRead,
    Permission::OrgManage,
    Permission::UserRead,
    Permission::UserManage,
    Permission::ApiKeyManage,
    Permission::AuditRead,
    Permission::DecisionRead,
];

/// Fresh targets in the admin's organisation.
async fn targets(app: &TestApp, owner: &Caller<'_>, tag: &str, decision: Uuid) -> Targets {
    let client = client_org(owner, &format!("Client to archive for {tag}")).await;
    let target = member(app, owner, "viewer", &format!("{tag}-target@example.com")).await;
    let (_, inv) = invite_code(owner, "viewer").await;
    let (status, key) = json(
        owner
            .post(
                "/v1/api-keys",
                &json!({"name": format!("target of {tag}"), "permissions": ["org.read"]}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 201, "{key}");
    Targets {
        client,
        member: target.user_id,
        invitation: uuid_of(&inv["invitation"]["id"]),
        api_key: uuid_of(&key["key"]["id"]),
        decision,
    }
}

/// A decision record in the owner's organisation: a refresh token presented twice.
async fn a_decision(app: &TestApp, owner: &Person) -> Uuid {
    let t = sign_in(app, &owner.email, PASSWORD).await;
    let _rotated = Tokens::from_response(refresh(app, &t.refresh_token).await).await;
    assert_eq!(refresh(app, &t.refresh_token).await.status(), 401);
    let d = owner
        .caller(app)
        .get_ok("/v1/decisions?kind=token_family_revoked")
        .await;
    uuid_of(&d["items"][0]["id"])
}

/// Calls every endpoint as `caller` and checks 403 exactly where `holds` is false.
async fn check_matrix(
    caller: &Caller<'_>,
    who: &str,
    list: &[Endpoint],
    holds: impl Fn(Permission) -> bool,
) -> Vec<String> {
    let mut failures = Vec::new();
    for e in list {
        let resp = caller
            .send(e.method.clone(), &e.path, e.body.as_ref())
            .await;
        let (status, body) = json(resp).await;
        let allowed = holds(e.permission);
        let ok = if allowed {
            (200..300).contains(&status)
        } else {
            status == 403 && code(&body) == "forbidden"
        };
        if !ok {
            failures.push(format!(
                "{who} {} {} (needs {}, {}): {status} {body}",
                e.method,
                e.path,
                e.permission.as_str(),
                if allowed { "held" } else { "not held" }
            ));
        }
    }
    failures
}

#[tokio::test]
async fn every_role_gets_403_exactly_for_the_permissions_it_lacks() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let owner = a.caller(&app);
    let decision = a_decision(&app, &a).await;

    let mut failures = Vec::new();
    for role in Role::ALL {
        let name = role.as_str();
        let person = member(&app, &owner, name, &format!("{name}-member@example.com")).await;
        let me = person.caller(&app).get_ok("/v1/me").await;
        assert_eq!(me["role"], name, "{me}");
        let t = targets(&app, &owner, name, decision).await;
        let list = endpoints(a.org_id, &t, name, true);
        let covered: BTreeSet<&str> = list.iter().map(|e| e.permission.as_str()).collect();
        let expected: BTreeSet<&str> = WITH_ENDPOINTS.iter().map(|p| p.as_str()).collect();
        assert_eq!(
            covered, expected,
            "the table walks every permission with an endpoint"
        );
        failures.extend(check_matrix(&person.caller(&app), name, &list, |p| role.has(p)).await);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn an_api_key_holds_only_the_permissions_it_was_given() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let owner = a.caller(&app);
    let decision = a_decision(&app, &a).await;

    let sets: [&[Permission]; 2] = [
        &[
            Permission::OrgRead,
            Permission::UserRead,
            Permission::DecisionRead,
        ],
        &[
            Permission::OrgManage,
            Permission::UserManage,
            Permission::ApiKeyManage,
            Permission::AuditRead,
        ],
    ];
    let mut failures = Vec::new();
    for (i, set) in sets.iter().enumerate() {
        let names: Vec<&str> = set.iter().map(|p| p.as_str()).collect();
        let (status, created) = json(
            owner
                .post(
                    "/v1/api-keys",
                    &json!({"name": format!("matrix key {i}"), "permissions": names}),
                )
                .await,
        )
        .await;
        assert_eq!(status, 201, "{created}");
        let token = created["token"].as_str().unwrap();
        let key = Caller::new(&app, token);
        let tag = format!("key{i}");
        let t = targets(&app, &owner, &tag, decision).await;
        let list = endpoints(a.org_id, &t, &tag, false);
        failures.extend(check_matrix(&key, &tag, &list, |p| set.contains(&p)).await);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn the_permission_list_and_role_table_match_the_matrix() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let body = a.caller(&app).get_ok("/v1/permissions").await;

    let listed: Vec<&str> = body["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert!(
                !p["description"].as_str().unwrap_or_default().is_empty(),
                "{p}"
            );
            p["name"].as_str().unwrap()
        })
        .collect();
    let all: Vec<&str> = Permission::ALL.iter().map(|p| p.as_str()).collect();
    assert_eq!(
        listed.iter().collect::<BTreeSet<_>>(),
        all.iter().collect::<BTreeSet<_>>()
    );
    for role in Role::ALL {
        let shown: BTreeSet<&str> = body["roles"][role.as_str()]
            .as_array()
            .unwrap_or_else(|| panic!("no roles.{} in {body}", role.as_str()))
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        let matrix: BTreeSet<&str> = permissions_of(role).iter().map(|p| p.as_str()).collect();
        assert_eq!(shown, matrix, "{}", role.as_str());
    }
    assert_eq!(app.get("/v1/permissions").await.status(), 401);
}
