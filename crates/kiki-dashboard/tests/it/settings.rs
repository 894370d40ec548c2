//! The settings pages: members (role change, deactivation, removal after a
//! confirmation, the service's rules on the member's row), invitations
//! (by email, invite codes shown once, revocation) and API keys (the secret
//! shown once, revocation); roles without the permission (hidden and
//! refused), CSRF, field errors with the other inputs kept, and another
//! organisation's members, invitations and keys out of reach.

use kiki_test_support::identity::{
    INVITATION_MARKER, admin, invite_code, json, mailed_token, member,
};
use serde_json::json;

use crate::security::assert_no_inline_code;
use crate::*;

/// The role of `user` in the caller's organisation, through the API.
async fn role_of(c: &kiki_test_support::identity::Caller<'_>, user: Uuid) -> (String, String) {
    let (_, list) = json(c.get("/v1/members").await).await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user_id"] == user.to_string())
        .map(|m| {
            (
                m["role"].as_str().unwrap().to_owned(),
                m["status"].as_str().unwrap().to_owned(),
            )
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn an_owner_changes_a_role_deactivates_reactivates_and_removes_after_confirming() {
    let (app, _, _) = spawn().await;
    let boss = admin(&app, "owner@members.example", "Members Shop").await;
    let c = boss.caller(&app);
    let viewer = member(&app, &c, "viewer", "viewer@members.example").await;
    let mut b = Browser::new(&app);
    b.sign_in(&boss.email).await;

    let page = b.get("/app/settings/members").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_no_inline_code("/app/settings/members", &page.body);
    assert!(
        page.body.contains("aria-current=\"page\">Settings</a>"),
        "{}",
        page.body
    );
    assert!(page.body.contains(">Audit log</a>"));
    assert!(page.body.contains("href=\"/app/account\">Account</a>"));
    let t = text(&page.body);
    assert!(t.contains("Members (2)"), "{t}");
    assert!(t.contains("viewer@members.example"), "{t}");
    assert!(t.contains("owner@members.example"), "{t}");
    assert!(page.body.contains(&format!(
        "action=\"/app/settings/members/{}/role\"",
        viewer.user_id
    )));
    // No buttons on one's own row.
    assert!(
        !page
            .body
            .contains(&format!("/app/settings/members/{}/role", boss.user_id))
    );
    let csrf = page.input("csrf");

    let role = format!("/app/settings/members/{}/role", viewer.user_id);
    let done = b.post(&role, &[("csrf", &csrf), ("role", "analyst")]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), "/app/settings/members?done=role");
    assert_eq!(role_of(&c, viewer.user_id).await.0, "analyst");
    let after = b.get(done.location()).await;
    assert!(text(&after.body).contains("The role is changed."));

    let status = format!("/app/settings/members/{}/status", viewer.user_id);
    let off = b
        .post(&status, &[("csrf", &csrf), ("status", "deactivated")])
        .await;
    assert_eq!(off.status, 303, "{}", off.body);
    assert_eq!(role_of(&c, viewer.user_id).await.1, "deactivated");
    let listed = b.get("/app/settings/members").await;
    assert!(listed.body.contains("value=\"active\""), "{}", listed.body);
    let on = b
        .post(&status, &[("csrf", &csrf), ("status", "active")])
        .await;
    assert_eq!(on.status, 303);
    assert_eq!(role_of(&c, viewer.user_id).await.1, "active");
    let bad = b
        .post(&status, &[("csrf", &csrf), ("status", "gone")])
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);

    // Removal asks first; a post without the confirmation goes back to it.
    let remove = format!("/app/settings/members/{}/remove", viewer.user_id);
    let ask = b.get(&remove).await;
    assert_eq!(ask.status, 200, "{}", ask.body);
    assert_no_inline_code(&remove, &ask.body);
    assert!(
        text(&ask.body).contains("Remove Test viewer@members.example?"),
        "{}",
        text(&ask.body)
    );
    let unconfirmed = b.post(&remove, &[("csrf", &csrf)]).await;
    assert_eq!(unconfirmed.status, 303);
    assert_eq!(unconfirmed.location(), remove);
    assert_eq!(role_of(&c, viewer.user_id).await.1, "active");
    let gone = b
        .post(&remove, &[("csrf", &csrf), ("confirm", "yes")])
        .await;
    assert_eq!(gone.status, 303, "{}", gone.body);
    assert_eq!(gone.location(), "/app/settings/members?done=removed");
    assert_eq!(
        role_of(&c, viewer.user_id).await,
        (String::new(), String::new())
    );
    let t = text(&b.get(gone.location()).await.body);
    assert!(
        t.contains("Members (1)") && !t.contains("viewer@members.example"),
        "{t}"
    );
}

#[tokio::test]
async fn the_services_rules_are_shown_on_the_members_row_with_the_choice_kept() {
    let (app, _, _) = spawn().await;
    let boss = admin(&app, "rules@members.example", "Rules Shop").await;
    let c = boss.caller(&app);
    let helper = member(&app, &c, "admin", "admin@members.example").await;
    let mut b = Browser::new(&app);
    b.sign_in(&boss.email).await;
    let csrf = b.get("/app/settings/members").await.input("csrf");

    // The only owner cannot step down: the organisation keeps an owner.
    let own = format!("/app/settings/members/{}/role", boss.user_id);
    let refused = b.post(&own, &[("csrf", &csrf), ("role", "admin")]).await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    let row_start = refused
        .body
        .find(&format!("data-member=\"{}\"", boss.user_id))
        .unwrap();
    let row_end = row_start + refused.body[row_start..].find("</tr>").unwrap();
    let row = &refused.body[row_start..row_end];
    assert!(row.contains("at least one active owner"), "{row}");
    assert_eq!(role_of(&c, boss.user_id).await.0, "owner");
    // Nor deactivate themselves.
    let status = format!("/app/settings/members/{}/status", boss.user_id);
    let me = b
        .post(&status, &[("csrf", &csrf), ("status", "deactivated")])
        .await;
    assert_eq!(me.status, 409);
    assert!(
        me.body.contains("You cannot deactivate yourself."),
        "{}",
        me.body
    );

    // An admin may not touch the owner, nor hand out the owner role.
    let mut a = Browser::new(&app);
    a.sign_in(&helper.email).await;
    let page = a.get("/app/settings/members").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Only an owner changes an owner."));
    assert!(
        !page.body.contains("<option value=\"owner\""),
        "an admin is not offered the owner role"
    );
    let acsrf = page.input("csrf");
    let no = a.post(&own, &[("csrf", &acsrf), ("role", "viewer")]).await;
    assert_eq!(no.status, 403, "{}", no.body);
    assert!(
        no.body
            .contains("Only an owner grants or changes the owner role.")
    );
    // A role that is not one is named on the row, the choice kept.
    let other = member(&app, &c, "viewer", "plain@members.example").await;
    let path = format!("/app/settings/members/{}/role", other.user_id);
    let odd = a
        .post(&path, &[("csrf", &acsrf), ("role", "emperor")])
        .await;
    assert_eq!(odd.status, 422, "{}", odd.body);
    assert!(odd.body.contains("Choose a role from the list."));
    assert!(odd.body.contains(&format!(
        "aria-describedby=\"member-error-{}\"",
        other.user_id
    )));
}

#[tokio::test]
async fn roles_without_the_permission_see_no_link_and_are_refused() {
    let (app, _, _) = spawn().await;
    let boss = admin(&app, "perm@members.example", "Perm Shop").await;
    let c = boss.caller(&app);
    let viewer = member(&app, &c, "viewer", "v@members.example").await;
    let mut v = Browser::new(&app);
    v.sign_in(&viewer.email).await;
    let overview = v.get(&format!("/app?{RANGE}")).await;
    assert!(
        overview.body.contains(">Settings</a>"),
        "viewers may list members"
    );
    assert!(!overview.body.contains(">Audit log</a>"));

    let page = v.get("/app/settings/members").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(!page.body.contains("Change role"));
    assert!(
        !page.body.contains("API keys</a>"),
        "the key tab needs apikey.manage"
    );
    let csrf = page.input("csrf");
    let invitations = v.get("/app/settings/invitations").await;
    assert_eq!(invitations.status, 200);
    assert!(!invitations.body.contains("Send the invitation"));

    for path in ["/app/settings/api-keys", "/app/audit", "/app/audit.csv"] {
        let no = v.get(path).await;
        assert_eq!(no.status, 403, "{path}: {}", no.body);
    }
    let role = format!("/app/settings/members/{}/role", boss.user_id);
    let remove = format!("/app/settings/members/{}/remove", boss.user_id);
    let posts: [(&str, Vec<(&str, &str)>); 5] = [
        (role.as_str(), vec![("role", "viewer")]),
        (
            "/app/settings/invitations",
            vec![("email", "x@y.example"), ("role", "viewer")],
        ),
        ("/app/settings/invite-codes", vec![("role", "viewer")]),
        (
            "/app/settings/api-keys",
            vec![("name", "k"), ("permissions", "campaign.read")],
        ),
        (remove.as_str(), vec![("confirm", "yes")]),
    ];
    for (path, fields) in posts {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend(fields);
        let no = v.post(path, &form).await;
        assert_eq!(no.status, 403, "{path}: {}", no.body);
        assert!(no.body.contains("permission"), "{path}: {}", no.body);
    }
    let (_, keys) = json(c.get("/v1/api-keys").await).await;
    assert_eq!(keys["items"].as_array().unwrap().len(), 0);
    let (_, invs) = json(c.get("/v1/invitations").await).await;
    assert_eq!(
        invs["items"].as_array().unwrap().len(),
        1,
        "only the viewer's own code"
    );
    assert_eq!(role_of(&c, boss.user_id).await.0, "owner");
}

#[tokio::test]
async fn a_form_without_the_sessions_token_changes_nothing() {
    let (app, _, _) = spawn().await;
    let boss = admin(&app, "csrf@members.example", "Token Shop").await;
    let c = boss.caller(&app);
    let viewer = member(&app, &c, "viewer", "t@members.example").await;
    let mut b = Browser::new(&app);
    b.sign_in(&boss.email).await;
    let role = format!("/app/settings/members/{}/role", viewer.user_id);
    for token in [
        "",
        "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    ] {
        for (path, fields) in [
            (role.as_str(), vec![("role", "admin")]),
            (
                "/app/settings/invitations",
                vec![("email", "new@members.example"), ("role", "viewer")],
            ),
            ("/app/settings/invite-codes", vec![("role", "viewer")]),
            (
                "/app/settings/api-keys",
                vec![("name", "k"), ("permissions", "campaign.read")],
            ),
        ] {
            let mut form = fields.clone();
            if !token.is_empty() {
                form.push(("csrf", token));
            }
            let no = b.post(path, &form).await;
            assert_eq!(no.status, 403, "{path}: {}", no.body);
            assert!(no.body.contains("This form has expired"), "{}", no.body);
        }
    }
    assert_eq!(role_of(&c, viewer.user_id).await.0, "viewer");
    let (_, keys) = json(c.get("/v1/api-keys").await).await;
    assert!(keys["items"].as_array().unwrap().is_empty());
    let (_, invs) = json(c.get("/v1/invitations").await).await;
    assert_eq!(invs["counts"]["unused"], 0, "{invs}");
}

#[tokio::test]
async fn invitations_by_email_and_codes_are_made_listed_and_revoked() {
    let (app, _, _) = spawn().await;
    let boss = admin(&app, "inv@members.example", "Invite Shop").await;
    let mut b = Browser::new(&app);
    b.sign_in(&boss.email).await;
    let page = b.get("/app/settings/invitations").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_no_inline_code("/app/settings/invitations", &page.body);
    assert!(page.body.contains("No invitation is waiting."));
    let csrf = page.input("csrf");

    // Field errors, the other inputs kept.
    let bad = b
        .post(
            "/app/settings/invitations",
            &[
                ("csrf", &csrf),
                ("email", "not-an-address"),
                ("role", "manager"),
                ("expires_in_days", "5"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(
        bad.body.contains("id=\"invite-email-error\""),
        "{}",
        bad.body
    );
    assert!(bad.body.contains("value=\"not-an-address\""));
    assert!(bad.body.contains("<option value=\"manager\" selected>"));
    assert!(bad.body.contains("value=\"5\""));
    let days = b
        .post(
            "/app/settings/invitations",
            &[
                ("csrf", &csrf),
                ("email", "new@members.example"),
                ("role", "viewer"),
                ("expires_in_days", "999"),
            ],
        )
        .await;
    assert_eq!(days.status, 422);
    assert!(
        days.body
            .contains("id=\"invite-days-error\">Must be between 1 and 90."),
        "{}",
        days.body
    );
    let words = b
        .post(
            "/app/settings/invite-codes",
            &[
                ("csrf", &csrf),
                ("role", "viewer"),
                ("expires_in_days", "soon"),
            ],
        )
        .await;
    assert_eq!(words.status, 422);
    assert!(
        words.body.contains("id=\"code-days-error\""),
        "{}",
        words.body
    );

    let sent = b
        .post(
            "/app/settings/invitations",
            &[
                ("csrf", &csrf),
                ("email", "New@Members.example"),
                ("role", "analyst"),
                ("expires_in_days", ""),
            ],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    assert_eq!(sent.location(), "/app/settings/invitations?done=invited");
    // The mail's link lands on the registration page.
    let token = mailed_token(&app, "new@members.example", INVITATION_MARKER).await;
    let (_, mail) = kiki_test_support::identity::latest_mail(&app, "new@members.example")
        .await
        .unwrap();
    assert!(mail.contains("/register?invitation="), "{mail}");
    let landing = Browser::new(&app)
        .get(&format!("/register?invitation={token}"))
        .await;
    assert_eq!(landing.status, 200);
    assert!(
        landing
            .body
            .contains(&format!("name=\"invitation\" value=\"{token}\""))
    );

    let listed = b.get(sent.location()).await;
    let t = text(&listed.body);
    assert!(t.contains("The invitation is sent."), "{t}");
    assert!(t.contains("Pending invitations (1)"), "{t}");
    assert!(t.contains("new@members.example Email Analyst"), "{t}");

    let code = b
        .post(
            "/app/settings/invite-codes",
            &[("csrf", &csrf), ("role", "viewer")],
        )
        .await;
    assert_eq!(code.status, 201, "{}", code.body);
    let shown = code
        .body
        .split("data-invite-code><code>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    assert!(shown.starts_with("KIKI-") && shown.len() == 21, "{shown}");
    assert!(code.body.contains("shown this once"));
    let again = b.get("/app/settings/invitations").await;
    assert!(!again.body.contains(&shown), "the code is shown once");
    assert!(text(&again.body).contains("Pending invitations (2)"));

    let c = boss.caller(&app);
    let (_, list) = json(c.get("/v1/invitations").await).await;
    let id = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "email")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoke = format!("/app/settings/invitations/{id}/revoke");
    let done = b.post(&revoke, &[("csrf", &csrf)]).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), "/app/settings/invitations?done=revoked");
    let twice = b.post(&revoke, &[("csrf", &csrf)]).await;
    assert_eq!(twice.status, 409, "{}", twice.body);
    assert!(
        twice.body.contains("is revoked and cannot be revoked"),
        "{}",
        twice.body
    );
    let t = text(&b.get("/app/settings/invitations").await.body);
    assert!(
        t.contains("Pending invitations (1)") && t.contains("1 revoked"),
        "{t}"
    );
}

#[tokio::test]
async fn an_api_keys_secret_is_shown_once_and_a_revoked_key_stops_working() {
    let (app, _, clock) = spawn().await;
    let boss = admin(&app, "keys@members.example", "Key Shop").await;
    let mut b = Browser::new(&app);
    b.sign_in(&boss.email).await;
    let page = b.get("/app/settings/api-keys").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_no_inline_code("/app/settings/api-keys", &page.body);
    assert!(page.body.contains("No API key yet."));
    assert!(page.body.contains("aria-current=\"page\">API keys</a>"));
    let csrf = page.input("csrf");

    // Field errors with the other inputs kept.
    let unnamed = b
        .post(
            "/app/settings/api-keys",
            &[
                ("csrf", &csrf),
                ("name", " "),
                ("permissions", "export"),
                ("expires", "2026-04-01"),
            ],
        )
        .await;
    assert_eq!(unnamed.status, 422, "{}", unnamed.body);
    assert!(
        unnamed.body.contains("id=\"key-name-error\""),
        "{}",
        unnamed.body
    );
    assert!(unnamed.body.contains("value=\"export\" checked"));
    assert!(!unnamed.body.contains("value=\"campaign.read\" checked"));
    assert!(unnamed.body.contains("value=\"2026-04-01\""));
    let none = b
        .post(
            "/app/settings/api-keys",
            &[("csrf", &csrf), ("name", "Nightly")],
        )
        .await;
    assert_eq!(none.status, 422);
    assert!(
        none.body.contains("id=\"key-permissions-error\""),
        "{}",
        none.body
    );
    assert!(none.body.contains("value=\"Nightly\""));
    let past = b
        .post(
            "/app/settings/api-keys",
            &[
                ("csrf", &csrf),
                ("name", "Old"),
                ("permissions", "campaign.read"),
                ("expires", "2020-01-01"),
            ],
        )
        .await;
    assert_eq!(past.status, 422);
    assert!(
        past.body
            .contains("id=\"key-expires-error\">The expiry must be in the future."),
        "{}",
        past.body
    );
    let odd = b
        .post(
            "/app/settings/api-keys",
            &[
                ("csrf", &csrf),
                ("name", "Odd"),
                ("permissions", "campaign.read"),
                ("expires", "next week"),
            ],
        )
        .await;
    assert_eq!(odd.status, 422);
    assert!(odd.body.contains("id=\"key-expires-error\""));

    let made = b
        .post(
            "/app/settings/api-keys",
            &[
                ("csrf", &csrf),
                ("name", "Nightly export"),
                ("permissions", "campaign.read"),
                ("permissions", "export"),
            ],
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.body);
    assert_eq!(made.header("cache-control"), "no-store");
    let secret = made
        .body
        .split("data-api-key-secret><code>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    assert!(secret.starts_with("kiki_"), "{secret}");
    assert!(made.body.contains("shown this once and never again"));
    let t = text(&made.body);
    assert!(t.contains("Nightly export"), "{t}");
    assert!(t.contains("campaign.read, export"), "{t}");
    assert!(t.contains("Not used yet"), "{t}");

    // The key works; the list shows its prefix only.
    let (status, _) = json(
        kiki_test_support::identity::Caller::new(&app, secret.clone())
            .get("/v1/campaigns")
            .await,
    )
    .await;
    assert_eq!(status, 200);
    clock.advance(time::Duration::minutes(2));
    let list = b.get("/app/settings/api-keys").await;
    assert!(
        !list.body.contains(&secret),
        "the secret is never shown again"
    );
    let prefix: String = secret.split('_').take(2).collect::<Vec<_>>().join("_");
    assert!(list.body.contains(&format!("{prefix}_…")), "{}", list.body);
    assert!(
        !text(&list.body).contains("Not used yet"),
        "the last use is shown"
    );

    let (_, keys) = json(boss.caller(&app).get("/v1/api-keys").await).await;
    let id = keys["items"][0]["id"].as_str().unwrap().to_owned();
    let gone = b
        .post(
            &format!("/app/settings/api-keys/{id}/revoke"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(gone.status, 303, "{}", gone.body);
    assert_eq!(gone.location(), "/app/settings/api-keys?done=revoked");
    let (status, _) = json(
        kiki_test_support::identity::Caller::new(&app, secret.clone())
            .get("/v1/campaigns")
            .await,
    )
    .await;
    assert_eq!(status, 401);
    let after = b.get(gone.location()).await;
    assert!(
        text(&after.body).contains("Revoked"),
        "{}",
        text(&after.body)
    );
    assert!(
        !after
            .body
            .contains(&format!("/app/settings/api-keys/{id}/revoke"))
    );
}

#[tokio::test]
async fn another_organisations_members_invitations_and_keys_are_out_of_reach() {
    let (app, _, _) = spawn().await;
    let boss = admin(&app, "mine@members.example", "Mine Shop").await;
    let other = admin(&app, "theirs@members.example", "Their Shop").await;
    let oc = other.caller(&app);
    let their_member = member(&app, &oc, "viewer", "their.viewer@members.example").await;
    let (_, _) = invite_code(&oc, "viewer").await;
    let (status, key) = json(
        oc.post(
            "/v1/api-keys",
            &json!({"name": "Theirs", "permissions": ["campaign.read"]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{key}");
    let their_key = key["key"]["id"].as_str().unwrap().to_owned();
    let (_, invs) = json(oc.get("/v1/invitations").await).await;
    let their_inv = invs["items"][0]["id"].as_str().unwrap().to_owned();

    let mut b = Browser::new(&app);
    b.sign_in(&boss.email).await;
    let members = b.get("/app/settings/members").await;
    assert!(!members.body.contains("their.viewer@members.example"));
    let keys = b.get("/app/settings/api-keys").await;
    assert!(!keys.body.contains("Theirs"));
    let invitations = b.get("/app/settings/invitations").await;
    assert!(!invitations.body.contains(&their_inv));
    let csrf = keys.input("csrf");

    let user = their_member.user_id;
    for (path, form) in [
        (
            format!("/app/settings/members/{user}/role"),
            vec![("role", "admin")],
        ),
        (
            format!("/app/settings/members/{user}/status"),
            vec![("status", "deactivated")],
        ),
        (
            format!("/app/settings/members/{user}/remove"),
            vec![("confirm", "yes")],
        ),
        (
            format!("/app/settings/invitations/{their_inv}/revoke"),
            vec![],
        ),
        (format!("/app/settings/api-keys/{their_key}/revoke"), vec![]),
        ("/app/settings/api-keys/not-an-id/revoke".to_owned(), vec![]),
    ] {
        let mut f = vec![("csrf", csrf.as_str())];
        f.extend(form);
        let no = b.post(&path, &f).await;
        assert_eq!(no.status, 404, "{path}: {}", no.body);
    }
    assert_eq!(
        b.get(&format!("/app/settings/members/{user}/remove"))
            .await
            .status,
        404
    );
    // Nor by naming their organisation.
    let no = b
        .get(&format!("/app/settings/members?org={}", other.org_id))
        .await;
    assert_eq!(no.status, 404, "{}", no.body);
    let (_, theirs) = json(oc.get("/v1/api-keys").await).await;
    assert!(theirs["items"][0]["revoked_at"].is_null());
    assert_eq!(
        role_of(&oc, user).await,
        ("viewer".to_owned(), "active".to_owned())
    );
}

#[tokio::test]
async fn the_new_pages_ask_to_sign_in_first() {
    let (app, _, _) = spawn().await;
    let mut anon = Browser::new(&app);
    for path in [
        "/app/settings",
        "/app/settings/members",
        "/app/settings/invitations",
        "/app/settings/api-keys",
        "/app/account",
        "/app/audit",
        "/app/audit.csv",
    ] {
        let p = anon.get(path).await;
        assert_eq!(p.status, 303, "{path}");
        let expected = if path == "/app/settings" {
            "/app/settings/members"
        } else {
            "/sign-in"
        };
        assert_eq!(p.location(), expected, "{path}");
    }
    for path in [
        "/app/settings/api-keys",
        "/app/settings/invite-codes",
        "/app/account/password",
        "/app/account/mfa/enroll",
    ] {
        let p = anon.post(path, &[("csrf", "x")]).await;
        assert_eq!(p.status, 303, "{path}");
        assert_eq!(p.location(), "/sign-in", "{path}");
    }
}

#[tokio::test]
async fn a_clients_members_page_says_the_agencys_members_reach_it() {
    let (app, _, _) = spawn().await;
    let boss = admin(&app, "agency@members.example", "Agency Members").await;
    let client = kiki_test_support::identity::client_org(&boss.caller(&app), "Client Co").await;
    let mut b = Browser::new(&app);
    b.sign_in(&boss.email).await;
    let own = b.get("/app/settings/members").await;
    assert!(
        !own.body.contains("data-agency-note"),
        "an agency is nobody's client"
    );
    let page = b.get(&format!("/app/settings/members?org={client}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let t = text(&page.body);
    assert!(
        t.contains("Members of Agency Members also reach this organisation through the agency"),
        "{t}"
    );
    assert!(
        t.contains("Nobody is a member of this organisation directly."),
        "{t}"
    );
    // The sub-links and forms stay in the client organisation.
    assert!(
        page.body
            .contains(&format!("href=\"/app/settings/invitations?org={client}\"")),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!("href=\"/app/account?org={client}\""))
    );
}
