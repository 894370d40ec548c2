//! Each kind raised from its real event: approvals, the kill switch, the
//! twin's rollback recommendation; resolution and de-duplication.

use std::sync::Arc;

use kiki_core::OrgId;
use kiki_store::DomainEvent;
use kiki_test_support::identity::{admin, identity_app};
use serde_json::json;

use crate::*;

#[tokio::test]
async fn a_campaign_submitted_for_approval_raises_approval_waiting_and_its_decision_resolves_it() {
    let app = spawn().await;
    let boss = admin(&app, "owner@approve.test", "Approve Org").await;
    let c = boss.caller(&app);
    let id = create(&c, &campaign("Spring range", None)).await;
    let (status, v) = post(
        &c,
        &format!("/v1/campaigns/{id}/actions"),
        &json!({"action": "submit", "reason": "ready"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let items = wait_for(&c, "", |i| !of_kind(i, "approval_waiting").is_empty()).await;
    let n = of_kind(&items, "approval_waiting")[0].clone();
    assert_eq!(n["severity"], "warning");
    assert_eq!(
        n["title"],
        "The launch of “Spring range” waits for approval"
    );
    assert!(
        n["body"].as_str().unwrap().contains("budget.approve"),
        "{n}"
    );
    assert_eq!(n["subject"]["type"], "approval");
    assert_eq!(n["link"], "/app/approvals");
    assert!(n["read_at"].is_null() && n["resolved_at"].is_null(), "{n}");
    let (_, unread) = get(&c, "/v1/notifications/unread-count").await;
    assert_eq!(unread["unread"], 1);

    // The decision resolves it.
    let (_, approvals) = get(
        &c,
        &format!("/v1/approvals?status=pending&campaign_id={id}"),
    )
    .await;
    let approval = approvals["items"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(n["subject"]["id"], approval.as_str());
    let (status, v) = post(
        &c,
        &format!("/v1/approvals/{approval}/decision"),
        &json!({"decision": "approve"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let items = wait_for(&c, "", |i| {
        of_kind(i, "approval_waiting")
            .first()
            .is_some_and(|n| !n["resolved_at"].is_null())
    })
    .await;
    assert_eq!(of_kind(&items, "approval_waiting").len(), 1);
    let (_, unread) = get(&c, "/v1/notifications/unread-count").await;
    assert_eq!(unread["unread"], 0, "a resolved notification is not unread");
    let (_, open) = get(&c, "/v1/notifications?unread=true").await;
    assert_eq!(open["items"], json!([]));
}

#[tokio::test]
async fn the_kill_switch_raises_a_high_notification_and_its_release_resolves_it() {
    let app = spawn().await;
    let boss = admin(&app, "owner@kill.test", "Kill Org").await;
    let c = boss.caller(&app);
    let (status, k) = post(
        &c,
        "/v1/kill-switch",
        &json!({"reason": "Checkout is down."}),
    )
    .await;
    assert_eq!(status, 200, "{k}");
    let items = wait_for(&c, "?kind=kill_switch_engaged", |i| !i.is_empty()).await;
    assert_eq!(items[0]["severity"], "high");
    assert_eq!(items[0]["subject"]["id"], k["id"]);
    assert!(
        items[0]["body"]
            .as_str()
            .unwrap()
            .contains("Checkout is down."),
        "{}",
        items[0]
    );
    let (status, v) = post(&c, "/v1/kill-switch/release", &json!({"reason": "Fixed."})).await;
    assert_eq!(status, 200, "{v}");
    wait_for(&c, "?kind=kill_switch_engaged", |i| {
        i.len() == 1 && !i[0]["resolved_at"].is_null()
    })
    .await;
}

fn rollback_event(org: Uuid, simulation: Uuid, actual: i64) -> DomainEvent {
    let usd = |u: i64| json!({"micros": u * 1_000_000, "currency": "USD"});
    DomainEvent::new(
        Some(OrgId(org)),
        "twin.rollback_recommended",
        json!({
            "simulation_id": simulation,
            "mirror_report_id": Uuid::now_v7(),
            "evidence": {
                "kind": "rollback_recommended",
                "day": 5,
                "actual_revenue": usd(actual),
                "expected_revenue": usd(1000),
                "band": {"p10": usd(850), "p50": usd(1000), "p90": usd(1150)},
                "deviation": (actual - 1000) as f64 / 1000.0,
                "days_in_breach": 2,
                "message": "Revenue is below the simulated band."
            }
        }),
        NOW,
    )
}

#[tokio::test]
async fn a_rollback_recommendation_is_raised_once_per_simulation_and_a_repeat_updates_it() {
    let app = spawn().await;
    let boss = admin(&app, "owner@rollback.test", "Rollback Org").await;
    let c = boss.caller(&app);
    let sim = Uuid::now_v7();
    app.state
        .events
        .publish(rollback_event(boss.org_id, sim, 700))
        .await
        .unwrap();
    let items = wait_for(&c, "", |i| !i.is_empty()).await;
    let n = &items[0];
    assert_eq!(n["kind"], "rollback_recommended");
    assert_eq!(n["severity"], "high");
    assert_eq!(n["link"], format!("/v1/simulations/{sim}"));
    let body = n["body"].as_str().unwrap();
    assert!(
        body.contains("$700.00") && body.contains("$1,000.00") && body.contains("-30.0 %"),
        "{body}"
    );
    // Read it, then the same finding again a day later: one notification,
    // updated, two occurrences, still read.
    let id = n["id"].as_str().unwrap().to_owned();
    let (status, _) = post(&c, &format!("/v1/notifications/{id}/read"), &json!({})).await;
    assert_eq!(status, 200);
    app.state
        .events
        .publish(rollback_event(boss.org_id, sim, 600))
        .await
        .unwrap();
    let items = wait_for(&c, "", |i| i.len() == 1 && i[0]["occurrences"] == 2).await;
    assert_eq!(items[0]["id"], id.as_str());
    assert!(items[0]["body"].as_str().unwrap().contains("$600.00"));
    assert!(!items[0]["read_at"].is_null());
    // Another simulation is another subject.
    app.state
        .events
        .publish(rollback_event(boss.org_id, Uuid::now_v7(), 500))
        .await
        .unwrap();
    wait_for(&c, "", |i| i.len() == 2).await;
}

#[tokio::test]
async fn a_high_notification_is_mailed_to_the_owners_when_configured() {
    let app = spawn_with(Some(json!({"email_high_severity": true}))).await;
    let boss = admin(&app, "owner@mail.test", "Mail Org").await;
    let c = boss.caller(&app);
    app.state
        .events
        .publish(rollback_event(boss.org_id, Uuid::now_v7(), 700))
        .await
        .unwrap();
    wait_for(&c, "", |i| !i.is_empty()).await;
    let mut mail = None;
    for _ in 0..50 {
        mail = kiki_test_support::identity::latest_mail(&app, "owner@mail.test").await;
        if mail.as_ref().is_some_and(|(s, _)| s.contains("rollback")) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (subject, text) = mail.expect("a mail to the owner");
    assert_eq!(subject, "KIKI: A rollback is recommended");
    assert!(text.contains("$700.00"), "{text}");
    assert!(text.contains("/v1/simulations/"), "{text}");
}

#[tokio::test]
async fn nothing_is_mailed_by_default() {
    let app = spawn().await;
    let boss = admin(&app, "owner@quiet.test", "Quiet Org").await;
    let c = boss.caller(&app);
    app.state
        .events
        .publish(rollback_event(boss.org_id, Uuid::now_v7(), 700))
        .await
        .unwrap();
    wait_for(&c, "", |i| !i.is_empty()).await;
    let mail = kiki_test_support::identity::latest_mail(&app, "owner@quiet.test").await;
    assert!(
        mail.is_none_or(|(s, _)| !s.contains("rollback")),
        "no notification mail without notifications.email_high_severity"
    );
}

#[tokio::test]
async fn a_broken_connection_raises_sync_failing_and_connecting_it_again_resolves_it() {
    use kiki_test_support::identity::{SqlParam, sql_execute};
    let app = identity_app()
        .clock(Arc::new(kiki_core::TestClock::at(NOW)))
        .module(Arc::new(kiki_platforms_service::PlatformsModule::new()))
        .module(Arc::new(
            kiki_notifications_service::NotificationsModule::new().with_platforms_module(),
        ))
        .spawn()
        .await;
    let boss = admin(&app, "owner@sync.test", "Sync Org").await;
    let c = boss.caller(&app);
    let connect = |platform: &'static str| {
        let c = c.clone();
        async move {
            let (status, v) = post(
                &c,
                "/v1/platforms/connections",
                &json!({"platform": platform, "mode": "sandbox", "industry": "general"}),
            )
            .await;
            assert!(status == 201 || status == 200, "{status} {v}");
        }
    };
    connect("google").await;
    let (status, run) = post(&c, "/v1/platforms/connections/google/sync", &json!({})).await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["status"], "succeeded", "{run}");

    // The platform revokes access: the connection is broken.
    sql_execute(
        &app,
        "UPDATE platform_connections SET status = 'broken', last_error = $1 WHERE org_id = $2 AND platform = 'google'",
        &[
            SqlParam::Text("The access token was revoked.".into()),
            SqlParam::Uuid(boss.org_id),
        ],
    )
    .await;
    // The next platform event of the organisation checks every connection.
    connect("meta").await;
    let items = wait_for(&c, "?kind=sync_failing", |i| !i.is_empty()).await;
    let n = &items[0];
    assert_eq!(n["severity"], "high");
    assert_eq!(n["subject"], json!({"type": "connection", "id": "google"}));
    assert_eq!(n["link"], "/v1/platforms/connections/google");
    let body = n["body"].as_str().unwrap();
    assert!(body.contains("The access token was revoked."), "{body}");
    assert!(
        n["title"]
            .as_str()
            .unwrap()
            .ends_with("needs to be connected again"),
        "{n}"
    );

    // Connected again: resolved.
    connect("google").await;
    wait_for(&c, "?kind=sync_failing", |i| {
        i.len() == 1 && !i[0]["resolved_at"].is_null()
    })
    .await;
}
