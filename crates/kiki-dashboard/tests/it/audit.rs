//! The audit-log page: the organisation's entries with their detail,
//! filters (action prefix, actor, target, days) with field errors, the
//! audit log's cursor across pages, the chain verification, the CSV export,
//! roles without `audit.read` (hidden and refused), and another
//! organisation's entries never shown.

use kiki_core::OrgId;
use kiki_shield::{Actor, AuditEvent};
use kiki_test_support::identity::{admin, json, member};
use serde_json::json;

use crate::security::assert_no_inline_code;
use crate::*;

async fn append(app: &kiki_test_support::TestApp, org: Uuid, action: &str, n: usize) {
    for i in 0..n {
        app.state
            .audit
            .append_now(
                AuditEvent::new(Some(OrgId(org)), Actor::System("test".into()), action)
                    .target("thing", i)
                    .details(json!({ "n": i })),
            )
            .await
            .expect("the entry is written");
    }
}

#[tokio::test]
async fn an_owner_reads_filters_and_pages_the_log_and_verifies_its_chain() {
    let (app, _, clock) = spawn().await;
    let boss = admin(&app, "audit@log.example", "Audit Shop").await;
    let c = boss.caller(&app);
    let viewer = member(&app, &c, "viewer", "seen@log.example").await;
    let (status, _) = json(
        c.post(
            "/v1/api-keys",
            &json!({"name": "Robot", "permissions": ["campaign.read"]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201);
    let mut b = Browser::new(&app);
    b.sign_in(&boss.email).await;

    let page = b.get("/app/audit").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_no_inline_code("/app/audit", &page.body);
    assert!(page.body.contains("aria-current=\"page\">Audit log</a>"));
    let t = text(&page.body);
    assert!(t.contains("apikey.created · You"), "{t}");
    assert!(t.contains("user.registered"), "{t}");
    assert!(t.contains("Not verified on this view"), "{t}");
    // Names stand for ids: the member's, the key's.
    assert!(
        t.contains("Test seen@log.example (seen@log.example)"),
        "{t}"
    );
    assert!(t.contains("api_key API key “Robot”"), "{t}");
    // Each entry's detail, without script.
    assert!(page.body.contains("<details>"));
    assert!(
        page.body.contains("<pre class=\"details\">"),
        "the facts are shown"
    );
    assert!(page.body.contains("campaign.read"), "{}", page.body);

    // Filters: an action prefix, the actor, the target.
    let members = b.get("/app/audit?action=member.*").await;
    let t = text(&members.body);
    assert!(!t.contains("apikey.created"), "{t}");
    let by_viewer = b.get(&format!("/app/audit?actor={}", viewer.user_id)).await;
    assert_eq!(by_viewer.status, 200);
    let t = text(&by_viewer.body);
    assert!(
        t.contains("user.registered") && !t.contains("apikey.created"),
        "{t}"
    );
    assert!(
        by_viewer
            .body
            .contains(&format!("<option value=\"{}\" selected>", viewer.user_id))
    );
    let targeted = b
        .get(&format!(
            "/app/audit?target_kind=user&target_id={}",
            viewer.user_id
        ))
        .await;
    assert!(text(&targeted.body).contains("user.registered"));

    // Days: the last day counts whole; others are empty; bad dates named.
    let today = b.get("/app/audit?from=2026-03-01&to=2026-03-01").await;
    assert!(text(&today.body).contains("apikey.created"));
    let before = b.get("/app/audit?to=2026-02-28").await;
    assert!(text(&before.body).contains("No entry matches these filters."));
    let bad = b
        .get("/app/audit?from=yesterday&to=2026-03-01&action=member.*")
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.body.contains("id=\"f-from-error\""), "{}", bad.body);
    assert!(
        bad.body.contains("value=\"member.*\""),
        "the other filters stay"
    );
    let reversed = b.get("/app/audit?from=2026-03-02&to=2026-03-01").await;
    assert_eq!(reversed.status, 400);
    assert!(reversed.body.contains("id=\"f-to-error\""));
    let cursor = b.get("/app/audit?cursor=not-ours!").await;
    assert_eq!(cursor.status, 400, "{}", cursor.body);

    // Pages of 50 through the log's cursor.
    clock.advance(time::Duration::hours(1));
    append(&app, boss.org_id, "test.bulk", 60).await;
    let first = b.get("/app/audit?action=test.*").await;
    assert_eq!(first.body.matches("data-audit-seq=").count(), 50);
    let next = first
        .body
        .split("href=\"")
        .filter_map(|s| s.split('"').next())
        .find(|h| h.contains("cursor="))
        .expect("a link to older entries")
        .replace("&#38;", "&");
    assert!(next.contains("action=test.*"), "{next}");
    let second = b.get(&next).await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(second.body.matches("data-audit-seq=").count(), 10);
    assert!(second.body.contains(">Newest entries</a>"));
    assert!(!second.body.contains("rel=\"next\""));

    let verified = b.get("/app/audit?verify=1").await;
    assert!(
        verified.body.contains("data-chain=\"ok\""),
        "{}",
        verified.body
    );
    assert!(text(&verified.body).contains("The chain is intact"));
}

#[tokio::test]
async fn the_log_exports_as_csv_with_the_filters_and_the_permission() {
    let (app, _, _) = spawn().await;
    let boss = admin(&app, "csv@log.example", "CSV Shop").await;
    let c = boss.caller(&app);
    let manager = member(&app, &c, "manager", "manager@log.example").await;
    let admin_member = member(&app, &c, "admin", "admin@log.example").await;
    append(&app, boss.org_id, "test.export", 3).await;
    let mut b = Browser::new(&app);
    b.sign_in(&boss.email).await;
    let page = b.get("/app/audit?action=test.*").await;
    assert!(
        page.body.contains("href=\"/app/audit.csv?action=test.*\""),
        "{}",
        page.body
    );
    let csv = b.get("/app/audit.csv?action=test.*").await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert_eq!(csv.header("content-type"), "text/csv; charset=utf-8");
    assert!(
        csv.header("content-disposition")
            .starts_with("attachment; filename=\"audit-")
    );
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines.len(), 4, "{}", csv.body);
    assert!(lines[0].starts_with("id,org_id,seq,occurred_at"));
    assert!(lines[1..].iter().all(|l| l.contains("test.export")));
    let bad = b.get("/app/audit.csv?from=soon").await;
    assert_eq!(bad.status, 400);

    // An admin reads it; a manager does not see the link and is refused.
    let mut a = Browser::new(&app);
    a.sign_in(&admin_member.email).await;
    assert_eq!(a.get("/app/audit.csv").await.status, 200);
    let mut m = Browser::new(&app);
    m.sign_in(&manager.email).await;
    let overview = m.get(&format!("/app?{RANGE}")).await;
    assert!(
        !overview.body.contains("/app/audit"),
        "hidden from the navigation"
    );
    for path in ["/app/audit", "/app/audit.csv", "/app/audit?verify=1"] {
        let no = m.get(path).await;
        assert_eq!(no.status, 403, "{path}");
        assert!(no.body.contains("audit.read"), "{}", no.body);
    }
}

#[tokio::test]
async fn another_organisations_entries_are_never_shown() {
    let (app, _, _) = spawn().await;
    let boss = admin(&app, "mine@log.example", "Mine Log").await;
    let other = admin(&app, "theirs@log.example", "Their Log").await;
    append(&app, other.org_id, "other.secret_thing", 2).await;
    let mut b = Browser::new(&app);
    b.sign_in(&boss.email).await;
    let page = b.get("/app/audit").await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("other.secret_thing"));
    let csv = b.get("/app/audit.csv").await;
    assert!(!csv.body.contains("other.secret_thing"));
    assert!(!csv.body.contains(&other.org_id.to_string()));
    let named = b.get(&format!("/app/audit?org={}", other.org_id)).await;
    assert_eq!(named.status, 404);
    let named_csv = b.get(&format!("/app/audit.csv?org={}", other.org_id)).await;
    assert_eq!(named_csv.status, 404);
}
