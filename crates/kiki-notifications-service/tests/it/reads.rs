//! The API: tenant isolation, permissions, pagination, read / all read /
//! dismiss, the settings and their validation.

use kiki_core::OrgId;
use kiki_store::DomainEvent;
use kiki_test_support::identity::{admin, code, error_fields, member};
use serde_json::json;

use crate::*;

/// Raises `n` rollback notifications (one simulation each) in `org`.
async fn raise(app: &TestApp, c: &Caller<'_>, org: Uuid, n: usize) {
    for _ in 0..n {
        let sim = Uuid::now_v7();
        let usd = |u: i64| json!({"micros": u * 1_000_000, "currency": "USD"});
        app.state
            .events
            .publish(DomainEvent::new(
                Some(OrgId(org)),
                "twin.rollback_recommended",
                json!({
                    "simulation_id": sim,
                    "mirror_report_id": Uuid::now_v7(),
                    "evidence": {
                        "kind": "rollback_recommended", "day": 3,
                        "actual_revenue": usd(500), "expected_revenue": usd(1000),
                        "band": {"p10": usd(850), "p50": usd(1000), "p90": usd(1150)},
                        "deviation": -0.5, "days_in_breach": 1,
                        "message": "Revenue is below the simulated band."
                    }
                }),
                NOW,
            ))
            .await
            .unwrap();
    }
    wait_for(c, "?limit=500", |i| i.len() >= n).await;
}

#[tokio::test]
async fn another_organisations_notification_is_not_found() {
    let app = spawn().await;
    let a = admin(&app, "owner@a.test", "A Org").await;
    let b = admin(&app, "owner@b.test", "B Org").await;
    let (ca, cb) = (a.caller(&app), b.caller(&app));
    raise(&app, &ca, a.org_id, 1).await;
    let (_, list) = get(&ca, "/v1/notifications").await;
    let id = list["items"][0]["id"].as_str().unwrap().to_owned();
    let (_, theirs) = get(&cb, "/v1/notifications").await;
    assert_eq!(theirs["items"], json!([]));
    for (status, body) in [
        get(&cb, &format!("/v1/notifications/{id}")).await,
        post(&cb, &format!("/v1/notifications/{id}/read"), &json!({})).await,
        post(&cb, &format!("/v1/notifications/{id}/dismiss"), &json!({})).await,
    ] {
        assert_eq!(status, 404, "{body}");
        assert_eq!(code(&body), "not_found");
    }
    let (_, marked) = post(&cb, "/v1/notifications/read-all", &json!({})).await;
    assert_eq!(marked["marked"], 0);
    let (_, still) = get(&ca, &format!("/v1/notifications/{id}")).await;
    assert!(still["read_at"].is_null(), "{still}");
}

#[tokio::test]
async fn a_viewer_reads_notifications_but_cannot_change_the_thresholds() {
    let app = spawn().await;
    let boss = admin(&app, "owner@perm.test", "Perm Org").await;
    let c = boss.caller(&app);
    let viewer = member(&app, &c, "viewer", "viewer@perm.test").await;
    let v = viewer.caller(&app);
    raise(&app, &c, boss.org_id, 1).await;
    let (status, list) = get(&v, "/v1/notifications").await;
    assert_eq!(status, 200, "{list}");
    let id = list["items"][0]["id"].as_str().unwrap().to_owned();
    let (status, _) = post(&v, &format!("/v1/notifications/{id}/read"), &json!({})).await;
    assert_eq!(status, 200);
    let (status, s) = get(&v, "/v1/notifications/settings").await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["defaults"], true);
    assert_eq!(s["roas_target"], 1.0);
    assert_eq!(s["budget_tolerance_pct"], 0);
    assert_eq!(s["enabled_kinds"].as_array().unwrap().len(), 6);
    let (status, body) = put(
        &v,
        "/v1/notifications/settings",
        &json!({"roas_target": 2.0, "budget_tolerance_pct": 5, "enabled_kinds": []}),
    )
    .await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = get(&app_anonymous(&app), "/v1/notifications").await;
    assert_eq!(status, 401);
}

fn app_anonymous(app: &TestApp) -> Caller<'_> {
    Caller::new(app, "not-a-token")
}

#[tokio::test]
async fn the_list_pages_by_cursor_and_filters_unread_and_kind() {
    let app = spawn().await;
    let boss = admin(&app, "owner@pages.test", "Pages Org").await;
    let c = boss.caller(&app);
    raise(&app, &c, boss.org_id, 5).await;
    let mut seen = Vec::new();
    let mut path = "/v1/notifications?limit=2".to_owned();
    loop {
        let (status, page) = get(&c, &path).await;
        assert_eq!(status, 200, "{page}");
        for n in page["items"].as_array().unwrap() {
            seen.push(n["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => path = format!("/v1/notifications?limit=2&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(seen, sorted, "newest first (ids are time-ordered)");

    // Read one, dismiss one: 3 unread, 4 listed.
    let (status, read) = post(
        &c,
        &format!("/v1/notifications/{}/read", seen[0]),
        &json!({}),
    )
    .await;
    assert_eq!(status, 200, "{read}");
    assert!(!read["read_at"].is_null());
    let resp = c
        .post(
            &format!("/v1/notifications/{}/dismiss", seen[1]),
            &json!({}),
        )
        .await;
    assert_eq!(resp.status(), 204);
    let (status, _) = get(&c, &format!("/v1/notifications/{}", seen[1])).await;
    assert_eq!(status, 404, "a dismissed notification is gone");
    let (_, unread) = get(&c, "/v1/notifications?unread=true").await;
    assert_eq!(unread["items"].as_array().unwrap().len(), 3);
    let (_, all) = get(&c, "/v1/notifications?kind=rollback_recommended").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 4);
    let (_, none) = get(&c, "/v1/notifications?kind=poor_roas").await;
    assert_eq!(none["items"], json!([]));
    let (status, bad) = get(&c, "/v1/notifications?kind=loud").await;
    assert_eq!(status, 400, "{bad}");
    assert!(
        bad["error"]["message"].as_str().unwrap().contains("`loud`"),
        "{bad}"
    );
    let (status, bad) = get(&c, "/v1/notifications?cursor=abc").await;
    assert_eq!(status, 422, "{bad}");
    assert_eq!(error_fields(&bad), ["cursor"]);

    let (_, marked) = post(&c, "/v1/notifications/read-all", &json!({})).await;
    assert_eq!(marked["marked"], 3);
    let (_, count) = get(&c, "/v1/notifications/unread-count").await;
    assert_eq!(count["unread"], 0);
}

#[tokio::test]
async fn bad_thresholds_are_refused_naming_each_field() {
    let app = spawn().await;
    let boss = admin(&app, "owner@bad.test", "Bad Org").await;
    let c = boss.caller(&app);
    let (status, body) = put(
        &c,
        "/v1/notifications/settings",
        &json!({"roas_target": 0, "budget_tolerance_pct": 150,
                "enabled_kinds": ["poor_roas", "poor_roas"]}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        error_fields(&body),
        ["roas_target", "budget_tolerance_pct", "enabled_kinds[1]"]
    );
    let (status, body) = put(
        &c,
        "/v1/notifications/settings",
        &json!({"roas_target": 2, "budget_tolerance_pct": 5, "enabled_kinds": ["loud"]}),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = get(&c, "/v1/notifications/not-an-id").await;
    assert!(status == 400 || status == 422, "{status} {body}");
}
