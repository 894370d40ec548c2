//! The audit log and decision records through the API: sign-in and
//! membership actions are recorded with masked personal data, filtered,
//! paginated and exported as CSV; the hash chain verifies, and rows edited or
//! deleted directly in the database are found at their sequence number.

use kiki_test_support::TestApp;
use kiki_test_support::identity::{
    Caller, PASSWORD, Person, SqlParam, admin, error_fields, identity_app, invite_code, json,
    member, password_grant, sign_in, sql_execute, sql_texts,
};
use serde_json::{Value, json};

fn items(page: &Value) -> &Vec<Value> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items in {page}"))
}

fn actions(page: &Value) -> Vec<&str> {
    items(page)
        .iter()
        .map(|e| e["action"].as_str().unwrap_or_default())
        .collect()
}

/// Sign-ins, a failure, a logout, an invitation, a role change, a removal and an API key.
async fn busy_org(app: &TestApp) -> (Person, Person) {
    let a = admin(app, "owner@example.com", "Agency A").await;
    let owner = a.caller(app);
    let (status, _) = json(password_grant(app, &a.email, "not-the-password-1", &[]).await).await;
    assert_eq!(status, 401);
    let s = sign_in(app, &a.email, PASSWORD).await;
    assert_eq!(
        Caller::new(app, s.access_token)
            .post_empty("/v1/auth/logout")
            .await
            .status(),
        204
    );
    let (status, body) = json(
        owner
            .post(
                "/v1/invitations",
                &json!({"email": "john@example.com", "role": "viewer"}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let m = member(app, &owner, "viewer", "mary@example.com").await;
    let (status, body) = json(
        owner
            .patch(
                &format!("/v1/members/{}", m.user_id),
                &json!({"role": "analyst"}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let gone = member(app, &owner, "viewer", "gone@example.com").await;
    assert_eq!(
        owner
            .delete(&format!("/v1/members/{}", gone.user_id))
            .await
            .status(),
        204
    );
    let (status, body) = json(
        owner
            .post(
                "/v1/api-keys",
                &json!({"name": "ci", "permissions": ["org.read"]}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    (a, m)
}

#[tokio::test]
async fn auth_and_membership_actions_are_recorded_with_masked_personal_data() {
    let app = identity_app().spawn().await;
    let (a, mary) = busy_org(&app).await;
    let owner = a.caller(&app);

    let all = owner.get_ok("/v1/audit?limit=200").await;
    let acts = actions(&all);
    for want in [
        "auth.login",
        "auth.login_failed",
        "auth.logout",
        "member.invited",
        "invite_code.created",
        "user.registered",
        "member.role_changed",
        "member.removed",
        "apikey.created",
    ] {
        assert!(acts.contains(&want), "{want} in {acts:?}");
    }
    // Newest first, one chain: seq strictly decreasing.
    let seqs: Vec<i64> = items(&all)
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] > w[1]), "{seqs:?}");

    let text = all.to_string();
    for raw in [
        "john@example.com",
        "mary@example.com",
        "127.0.0.1",
        PASSWORD,
    ] {
        assert!(
            !text.contains(raw),
            "`{raw}` appears unmasked in the audit log"
        );
    }
    let invited = items(&all)
        .iter()
        .find(|e| e["action"] == "member.invited")
        .unwrap();
    assert_eq!(invited["details"]["email"], "j***@example.com", "{invited}");
    let login = items(&all)
        .iter()
        .find(|e| e["action"] == "auth.login")
        .unwrap();
    assert_eq!(login["ip"], "127.0.0.0", "{login}");

    // Filters.
    let auth = owner.get_ok("/v1/audit?action=auth.*&limit=200").await;
    assert!(!items(&auth).is_empty());
    assert!(
        actions(&auth).iter().all(|a| a.starts_with("auth.")),
        "{auth}"
    );
    let exact = owner.get_ok("/v1/audit?action=auth.logout").await;
    assert_eq!(actions(&exact), ["auth.logout"], "{exact}");
    let by_actor = owner
        .get_ok(&format!("/v1/audit?actor={}&limit=200", a.user_id))
        .await;
    assert!(!items(&by_actor).is_empty());
    assert!(
        items(&by_actor)
            .iter()
            .all(|e| e["actor_id"] == a.user_id.to_string()),
        "{by_actor}"
    );
    let about_mary = owner
        .get_ok(&format!(
            "/v1/audit?target_kind=user&target_id={}&limit=200",
            mary.user_id
        ))
        .await;
    let mary_actions = actions(&about_mary);
    assert!(
        mary_actions.contains(&"member.role_changed"),
        "{about_mary}"
    );
    assert!(
        items(&about_mary)
            .iter()
            .all(|e| e["target_id"] == mary.user_id.to_string()),
        "{about_mary}"
    );
    let before = owner.get_ok("/v1/audit?to=2000-01-01T00:00:00Z").await;
    assert!(items(&before).is_empty(), "{before}");
    let since = owner
        .get_ok("/v1/audit?from=2000-01-01T00:00:00Z&limit=200")
        .await;
    assert_eq!(items(&since).len(), items(&all).len());
    let (status, body) = json(owner.get("/v1/audit?from=yesterday").await).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["from"], "{body}");
}

#[tokio::test]
async fn the_audit_log_pages_with_a_cursor_and_exports_csv() {
    let app = identity_app().spawn().await;
    let (a, _) = busy_org(&app).await;
    let owner = a.caller(&app);
    let all = owner.get_ok("/v1/audit?limit=200").await;
    let all_ids: Vec<&str> = items(&all)
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert!(all_ids.len() > 5, "{all}");

    let mut paged: Vec<String> = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let mut query = vec![("limit", "2".to_owned())];
        if let Some(c) = &cursor {
            query.push(("cursor", c.clone()));
        }
        let (status, page) = json(
            owner
                .request(reqwest::Method::GET, "/v1/audit")
                .query(&query)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{page}");
        assert!(items(&page).len() <= 2, "{page}");
        paged.extend(
            items(&page)
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(paged, all_ids, "pages add up to the whole log, in order");

    for csv_request in [
        owner.request(reqwest::Method::GET, "/v1/audit?format=csv"),
        owner
            .request(reqwest::Method::GET, "/v1/audit")
            .header("accept", "text/csv"),
    ] {
        let resp = csv_request.send().await.unwrap();
        assert_eq!(resp.status(), 200);
        let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.starts_with("text/csv"), "{ct}");
        let body = resp.text().await.unwrap();
        let mut reader = csv::Reader::from_reader(body.as_bytes());
        let header: Vec<String> = reader
            .headers()
            .unwrap()
            .iter()
            .map(str::to_owned)
            .collect();
        for col in [
            "id",
            "seq",
            "occurred_at",
            "actor_id",
            "action",
            "details",
            "hash",
        ] {
            assert!(header.iter().any(|h| h == col), "{col} in {header:?}");
        }
        let id_col = header.iter().position(|h| h == "id").unwrap();
        let rows: Vec<String> = reader
            .records()
            .map(|r| r.unwrap()[id_col].to_owned())
            .collect();
        assert_eq!(rows, all_ids, "the export holds every entry");
        assert!(!body.contains("john@example.com"), "masked in the export");
    }
    let (status, body) = json(owner.get("/v1/audit?format=xml").await).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["format"], "{body}");
}

async fn verify(owner: &Caller<'_>) -> Value {
    owner.get_ok("/v1/audit/verify").await
}

#[tokio::test]
async fn the_chain_verifies_and_edited_or_deleted_rows_are_found_at_their_seq() {
    let app = identity_app().spawn().await;
    let (a, _) = busy_org(&app).await;
    let owner = a.caller(&app);
    let org = SqlParam::Uuid(a.org_id);

    let report = verify(&owner).await;
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["org_id"], a.org_id.to_string(), "{report}");
    assert!(report["first_broken"].is_null(), "{report}");
    let total = items(&owner.get_ok("/v1/audit?limit=200").await).len();
    assert_eq!(report["entries_checked"], total, "{report}");

    // Change what an entry says.
    let original = sql_texts(
        &app,
        "SELECT action FROM audit_log WHERE org_id = $1 AND seq = $2",
        &[org.clone(), SqlParam::Int(3)],
    )
    .await;
    let [Some(original)] = original.as_slice() else {
        panic!("entry 3 exists: {original:?}");
    };
    let n = sql_execute(
        &app,
        "UPDATE audit_log SET action = $1 WHERE org_id = $2 AND seq = $3",
        &[
            SqlParam::Text("auth.nothing_happened".into()),
            org.clone(),
            SqlParam::Int(3),
        ],
    )
    .await;
    assert_eq!(n, 1);
    let report = verify(&owner).await;
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(report["first_broken"]["seq"], 3, "{report}");
    assert_eq!(
        report["first_broken"]["reason"], "hash_mismatch",
        "{report}"
    );

    // Putting it back makes the chain whole again: verification reads content, not flags.
    sql_execute(
        &app,
        "UPDATE audit_log SET action = $1 WHERE org_id = $2 AND seq = $3",
        &[
            SqlParam::Text(original.clone()),
            org.clone(),
            SqlParam::Int(3),
        ],
    )
    .await;
    assert_eq!(verify(&owner).await["ok"], true);

    // Change who it was about.
    sql_execute(
        &app,
        "UPDATE audit_log SET target_id = $1 WHERE org_id = $2 AND seq = $3",
        &[
            SqlParam::Text(uuid::Uuid::now_v7().to_string()),
            org.clone(),
            SqlParam::Int(5),
        ],
    )
    .await;
    let report = verify(&owner).await;
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(report["first_broken"]["seq"], 5, "{report}");

    // Remove an earlier entry: the break is reported there, before the edited one.
    let n = sql_execute(
        &app,
        "DELETE FROM audit_log WHERE org_id = $1 AND seq = $2",
        &[org.clone(), SqlParam::Int(2)],
    )
    .await;
    assert_eq!(n, 1);
    let report = verify(&owner).await;
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(report["first_broken"]["seq"], 2, "{report}");
    assert_eq!(report["first_broken"]["reason"], "sequence_gap", "{report}");
}

#[tokio::test]
async fn deleting_the_newest_audit_entry_is_found_too() {
    let app = identity_app().spawn().await;
    let (a, _) = busy_org(&app).await;
    let owner = a.caller(&app);
    let newest = owner.get_ok("/v1/audit?limit=1").await;
    let seq = items(&newest)[0]["seq"].as_i64().unwrap();

    let n = sql_execute(
        &app,
        "DELETE FROM audit_log WHERE org_id = $1 AND seq = $2",
        &[SqlParam::Uuid(a.org_id), SqlParam::Int(seq)],
    )
    .await;
    assert_eq!(n, 1);
    let report = verify(&owner).await;
    assert_eq!(report["ok"], false, "{report}");
    assert_eq!(report["first_broken"]["seq"], seq, "{report}");
    assert_eq!(
        report["first_broken"]["reason"], "head_mismatch",
        "{report}"
    );
}

#[tokio::test]
async fn decision_records_are_filtered_and_read_one_by_one() {
    let app = identity_app().spawn().await;
    let a = admin(&app, "owner@example.com", "Agency A").await;
    let owner = a.caller(&app);
    // A refresh token presented twice, twice over: two decision records.
    for _ in 0..2 {
        let t = sign_in(&app, &a.email, PASSWORD).await;
        let first = kiki_test_support::identity::refresh(&app, &t.refresh_token).await;
        assert_eq!(first.status(), 200);
        assert_eq!(
            kiki_test_support::identity::refresh(&app, &t.refresh_token)
                .await
                .status(),
            401
        );
    }
    let (code_, _) = invite_code(&owner, "viewer").await;
    assert!(code_.starts_with("KIKI-"));

    let all = owner.get_ok("/v1/decisions").await;
    assert_eq!(items(&all).len(), 2, "{all}");
    let d = &items(&all)[0];
    assert_eq!(d["engine"], "identity.tokens", "{d}");
    assert_eq!(d["org_id"], a.org_id.to_string(), "{d}");
    assert!(d["audit_entry_id"].is_string(), "{d}");
    let by_engine = owner.get_ok("/v1/decisions?engine=identity.tokens").await;
    assert_eq!(items(&by_engine).len(), 2);
    let other_engine = owner.get_ok("/v1/decisions?engine=identity.throttle").await;
    assert!(items(&other_engine).is_empty(), "{other_engine}");
    let subject = d["subject_id"].as_str().unwrap();
    let by_subject = owner
        .get_ok(&format!(
            "/v1/decisions?subject_kind=session&subject_id={subject}"
        ))
        .await;
    assert_eq!(items(&by_subject).len(), 1, "{by_subject}");
    let one = owner
        .get_ok(&format!("/v1/decisions/{}", d["id"].as_str().unwrap()))
        .await;
    assert_eq!(one["id"], d["id"]);
    assert_eq!(one["inputs"], d["inputs"]);
    let (status, body) = json(
        owner
            .get(&format!("/v1/decisions/{}", uuid::Uuid::now_v7()))
            .await,
    )
    .await;
    assert_eq!(status, 404, "{body}");

    // The decision points at its audit entry.
    let audit = owner
        .get_ok("/v1/audit?action=auth.token_family_revoked")
        .await;
    let ids: Vec<&Value> = items(&audit).iter().map(|e| &e["id"]).collect();
    assert!(ids.contains(&&d["audit_entry_id"]), "{audit}");
}
