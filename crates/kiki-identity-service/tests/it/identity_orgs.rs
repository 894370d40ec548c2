//! Organisations through the API: an agency creates, renames, configures,
//! archives and unarchives its client organisations; nobody archives the top
//! organisation they are signed in to; open sign-up lets people join a
//! client as viewers; only platform operators create top-level organisations.

use kiki_test_support::identity::{
    Caller, PASSWORD, admin, client_org, code, error_fields, identity_app, json, member,
    password_grant, sign_in, uuid_of,
};
use serde_json::{Value, json};

fn ids(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{list}"))
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn an_agency_creates_renames_configures_and_archives_its_clients() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let owner = a.caller(&app);

    let list = owner.get_ok("/v1/organisations").await;
    assert_eq!(ids(&list), [a.org_id.to_string()], "{list}");
    assert_eq!(list["items"][0]["kind"], "agency");

    let (status, c) = json(
        owner
            .post("/v1/organisations", &json!({"name": "Client One"}))
            .await,
    )
    .await;
    assert_eq!(status, 201, "{c}");
    assert_eq!(c["kind"], "client", "{c}");
    assert_eq!(c["parent_id"], a.org_id.to_string(), "{c}");
    let client = uuid_of(&c["id"]);
    let (status, body) = json(
        owner
            .post(
                "/v1/organisations",
                &json!({"name": "Agency Inside", "kind": "agency"}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 422, "agencies are not nested: {body}");
    assert_eq!(error_fields(&body), ["kind"], "{body}");
    let (status, body) = json(
        owner
            .post("/v1/organisations", &json!({"name": "  "}))
            .await,
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["name"], "{body}");
    // Clients cannot hold clients.
    let (status, body) = json(
        owner
            .in_org(client)
            .post("/v1/organisations", &json!({"name": "Grandchild"}))
            .await,
    )
    .await;
    assert_eq!(status, 422, "{body}");

    let list = owner.get_ok("/v1/organisations").await;
    assert_eq!(ids(&list), [a.org_id.to_string(), client.to_string()]);

    let path = format!("/v1/organisations/{client}");
    let (status, body) = json(
        owner
            .patch(&path, &json!({"name": "Client Uno", "open_signup": true}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "Client Uno", "{body}");
    assert_eq!(body["open_signup"], true, "{body}");
    let (status, body) = json(owner.patch(&path, &json!({})).await).await;
    assert_eq!(status, 422, "an empty change: {body}");

    // Open sign-up: anyone may join the client as a viewer; a closed organisation refuses.
    let (status, body) = json(
        app.post_json(
            "/v1/auth/register",
            &json!({"email": "walk-in@example.com", "password": PASSWORD,
                    "display_name": "Walk In", "org_id": client}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["org_id"], client.to_string(), "{body}");
    let walk_in = sign_in(&app, "walk-in@example.com", PASSWORD).await;
    let me = Caller::new(&app, walk_in.access_token)
        .get_ok("/v1/me")
        .await;
    assert_eq!(me["role"], "viewer", "{me}");
    assert_eq!(me["active_org"]["id"], client.to_string(), "{me}");
    let (status, body) = json(
        app.post_json(
            "/v1/auth/register",
            &json!({"email": "gate-crasher@example.com", "password": PASSWORD,
                    "display_name": "Gate Crasher", "org_id": a.org_id}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["org_id"], "{body}");

    // A change to the client is recorded in the client's own log.
    let updated = owner
        .in_org(client)
        .get_ok("/v1/audit?action=org.updated")
        .await;
    assert_eq!(updated["items"].as_array().unwrap().len(), 1, "{updated}");
    assert_eq!(
        updated["items"][0]["details"]["open_signup"], true,
        "{updated}"
    );

    // Archived: kept in the list, no longer reachable or changeable.
    let (status, body) = json(owner.post_empty(&format!("{path}/archive")).await).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["archived_at"].is_string(), "{body}");
    let (status, body) = json(owner.get(&path).await).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = json(owner.patch(&path, &json!({"name": "Back"})).await).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = json(owner.in_org(client).get("/v1/members").await).await;
    assert_eq!(status, 404, "{body}");
    let list = owner.get_ok("/v1/organisations").await;
    let archived = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] == client.to_string())
        .unwrap_or_else(|| panic!("{list}"));
    assert!(archived["archived_at"].is_string(), "{archived}");

    let audit = owner.get_ok("/v1/audit?action=org.*").await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["org.archived", "org.created"], "{audit}");
}

#[tokio::test]
async fn only_an_owner_archives_the_organisation_they_are_in() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let adm = member(&app, &a.caller(&app), "admin", "admin@example.com").await;
    let path = format!("/v1/organisations/{}/archive", a.org_id);
    let (status, body) = json(adm.caller(&app).post_empty(&path).await).await;
    assert_eq!(status, 403, "{body}");
    let org = a
        .caller(&app)
        .get_ok(&format!("/v1/organisations/{}", a.org_id))
        .await;
    assert!(org["archived_at"].is_null(), "{org}");
}

#[tokio::test]
async fn an_owner_cannot_archive_the_top_organisation_they_are_signed_in_to() {
    let app = identity_app().spawn().await;
    let operator = admin(&app, "operator@example.com", "Agency A").await;
    let owner = member(&app, &operator.caller(&app), "owner", "owner@example.com").await;
    let path = format!("/v1/organisations/{}/archive", operator.org_id);
    // Neither a plain owner nor a platform operator signed in to it.
    for who in [&owner, &operator] {
        let (status, body) = json(who.caller(&app).post_empty(&path).await).await;
        assert_eq!(status, 409, "{}: {body}", who.email);
        assert_eq!(code(&body), "conflict", "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("lock every member out")),
            "{body}"
        );
    }
    // Nothing changed: the organisation is live and everyone still signs in.
    let org = owner
        .caller(&app)
        .get_ok(&format!("/v1/organisations/{}", operator.org_id))
        .await;
    assert!(org["archived_at"].is_null(), "{org}");
    let (status, body) = json(password_grant(&app, "owner@example.com", PASSWORD, &[]).await).await;
    assert_eq!(status, 200, "{body}");
    let archived = owner
        .caller(&app)
        .get_ok("/v1/audit?action=org.archived")
        .await;
    assert!(
        archived["items"].as_array().unwrap().is_empty(),
        "{archived}"
    );
}

#[tokio::test]
async fn an_archived_client_comes_back_through_its_agency_admin_or_an_operator() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner-a@example.com", "Agency A").await;
    let agency_admin = member(&app, &a.caller(&app), "admin", "admin-a@example.com").await;
    let viewer = member(&app, &a.caller(&app), "viewer", "viewer-a@example.com").await;
    let b = admin(&app, "operator-b@example.com", "Agency B").await;
    let owner_b = member(&app, &b.caller(&app), "owner", "owner-b@example.com").await;
    let client = client_org(&a.caller(&app), "Client One").await;
    let archive = format!("/v1/organisations/{client}/archive");
    let unarchive = format!("/v1/organisations/{client}/unarchive");

    // An agency owner (or admin) still archives a client organisation.
    let admin_a = agency_admin.caller(&app);
    let (status, body) = json(admin_a.post_empty(&archive).await).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["archived_at"].is_string(), "{body}");
    let (status, _) = json(admin_a.get(&format!("/v1/organisations/{client}")).await).await;
    assert_eq!(status, 404);

    // A viewer of the agency may not bring it back; another agency does not see it.
    let (status, body) = json(viewer.caller(&app).post_empty(&unarchive).await).await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = json(owner_b.caller(&app).post_empty(&unarchive).await).await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = json(
        admin_a
            .post_empty(&format!(
                "/v1/organisations/{}/unarchive",
                uuid::Uuid::now_v7()
            ))
            .await,
    )
    .await;
    assert_eq!(status, 404, "{body}");

    // The agency's admin brings it back: reachable again, and audited.
    let (status, body) = json(admin_a.post_empty(&unarchive).await).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["archived_at"].is_null(), "{body}");
    let org = admin_a.get_ok(&format!("/v1/organisations/{client}")).await;
    assert!(org["archived_at"].is_null(), "{org}");
    let audit = a
        .caller(&app)
        .get_ok("/v1/audit?action=org.unarchived")
        .await;
    let entries = audit["items"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{audit}");
    assert_eq!(entries[0]["target_id"], client.to_string(), "{audit}");
    assert_eq!(
        entries[0]["actor_id"],
        agency_admin.user_id.to_string(),
        "{audit}"
    );

    // A platform operator signed in elsewhere may unarchive it too.
    let (status, _) = json(admin_a.post_empty(&archive).await).await;
    assert_eq!(status, 200);
    let (status, body) = json(b.caller(&app).post_empty(&unarchive).await).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["archived_at"].is_null(), "{body}");
}

#[tokio::test]
async fn only_platform_operators_create_top_level_organisations() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "operator@example.com", "Agency A").await;
    let plain_owner = member(&app, &a.caller(&app), "owner", "owner@example.com").await;

    let (status, body) = json(
        plain_owner
            .caller(&app)
            .post(
                "/v1/organisations",
                &json!({"name": "Rogue Agency", "kind": "agency", "top_level": true}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 403, "{body}");

    let operator = a.caller(&app);
    let (status, agency) = json(
        operator
            .post(
                "/v1/organisations",
                &json!({"name": "Agency Two", "kind": "agency", "top_level": true}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 201, "{agency}");
    assert_eq!(agency["kind"], "agency", "{agency}");
    assert!(agency["parent_id"].is_null(), "{agency}");
    let (status, standalone) = json(
        operator
            .post(
                "/v1/organisations",
                &json!({"name": "Corner Shop", "top_level": true}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 201, "{standalone}");
    assert_eq!(standalone["kind"], "client", "{standalone}");
    assert!(standalone["parent_id"].is_null(), "{standalone}");

    // The operator owns what they created and can switch to it.
    let me = operator.get_ok("/v1/me").await;
    for created in [&agency, &standalone] {
        let reach = me["organisations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["id"] == created["id"])
            .unwrap_or_else(|| panic!("{me}"));
        assert_eq!(reach["role"], "owner", "{reach}");
        assert_eq!(reach["via_agency"], false, "{reach}");
    }
    let in_new = operator.in_org(uuid_of(&agency["id"]));
    let members = in_new.get_ok("/v1/members").await;
    assert_eq!(members["items"].as_array().unwrap().len(), 1, "{members}");
    // The plain owner of agency A does not reach them.
    let (status, body) = json(
        plain_owner
            .caller(&app)
            .in_org(uuid_of(&agency["id"]))
            .get("/v1/me")
            .await,
    )
    .await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn the_contribution_margin_and_profit_basis_are_settings_of_the_organisation() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner@example.com", "Shop A").await;
    let owner = a.caller(&app);
    let path = format!("/v1/organisations/{}", a.org_id);

    // Not configured until someone says so.
    let org = owner.get_ok(&path).await;
    assert_eq!(org["contribution_margin_bps"], Value::Null, "{org}");
    assert_eq!(org["profit_basis"], "contribution_margin", "{org}");

    let (status, body) = json(
        owner
            .patch(&path, &json!({"contribution_margin_bps": 3000}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["contribution_margin_bps"], 3000, "{body}");
    assert_eq!(owner.get_ok(&path).await["contribution_margin_bps"], 3000);

    for bad in [json!(10_001), json!(-1), json!(12.5), json!("30 %")] {
        let (status, body) = json(
            owner
                .patch(&path, &json!({"contribution_margin_bps": bad}))
                .await,
        )
        .await;
        assert_eq!(status, 422, "{bad}: {body}");
        assert_eq!(error_fields(&body), ["contribution_margin_bps"], "{body}");
    }
    assert_eq!(owner.get_ok(&path).await["contribution_margin_bps"], 3000);

    // An admin configures the organisation but not its contract.
    let admin_member = member(&app, &owner, "admin", "admin@example.com").await;
    let admin_caller = admin_member.caller(&app);
    let (status, body) = json(
        admin_caller
            .patch(&path, &json!({"profit_basis": "revenue"}))
            .await,
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        owner.get_ok(&path).await["profit_basis"],
        "contribution_margin"
    );
    let (status, body) = json(
        admin_caller
            .patch(&path, &json!({"contribution_margin_bps": 2500}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");

    let (status, body) = json(
        owner
            .patch(
                &path,
                &json!({"profit_basis": "revenue", "contribution_margin_bps": null}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["profit_basis"], "revenue", "{body}");
    assert_eq!(body["contribution_margin_bps"], Value::Null, "{body}");

    let audit = owner.get_ok("/v1/audit?action=org.updated").await;
    let changes: Vec<&Value> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["details"])
        .collect();
    // Newest first: the contract change, the admin's margin, the owner's.
    assert_eq!(changes.len(), 3, "{audit}");
    assert_eq!(
        changes[0]["profit_basis"],
        json!({"from": "contribution_margin", "to": "revenue"}),
        "{audit}"
    );
    assert_eq!(
        changes[0]["contribution_margin_bps"],
        json!({"from": 2500, "to": null})
    );
    assert_eq!(
        changes[1]["contribution_margin_bps"],
        json!({"from": 3000, "to": 2500})
    );
    assert_eq!(
        changes[2]["contribution_margin_bps"],
        json!({"from": null, "to": 3000})
    );
}

#[tokio::test]
async fn the_reporting_currency_is_a_setting_of_the_organisation() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner@example.com", "Shop A").await;
    let owner = a.caller(&app);
    let path = format!("/v1/organisations/{}", a.org_id);

    // Every organisation starts in USD.
    assert_eq!(owner.get_ok(&path).await["reporting_currency"], "USD");

    let (status, body) = json(
        owner
            .patch(&path, &json!({"reporting_currency": "eur"}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["reporting_currency"], "EUR", "{body}");
    assert_eq!(owner.get_ok(&path).await["reporting_currency"], "EUR");

    for bad in [json!("EURO"), json!("E1R"), json!(""), json!(978)] {
        let (status, body) = json(
            owner
                .patch(&path, &json!({"reporting_currency": bad}))
                .await,
        )
        .await;
        assert_eq!(status, 422, "{bad}: {body}");
        assert_eq!(error_fields(&body), ["reporting_currency"], "{body}");
    }
    assert_eq!(owner.get_ok(&path).await["reporting_currency"], "EUR");

    let audit = owner.get_ok("/v1/audit?action=org.updated").await;
    assert_eq!(
        audit["items"][0]["details"]["reporting_currency"],
        json!({"from": "USD", "to": "EUR"}),
        "{audit}"
    );
}
