//! The notifications centre: the header's unread count, the overview's
//! panel, the page with its filters, mark read / all read / dismiss by form
//! POST with the session's CSRF token, another organisation's notification
//! not found, the page absent without the module.

use std::sync::Arc;
use std::time::Duration;

use kiki_analytics_service::AnalyticsModule;
use kiki_campaigns_service::CampaignsModule;
use kiki_core::TestClock;
use kiki_dashboard::DashboardModule;
use kiki_notifications_service::NotificationsModule;
use kiki_test_support::TestApp;
use kiki_test_support::identity::{Caller, admin, identity_app, json};
use kiki_twin_service::TwinModule;
use serde_json::Value;

use crate::campaigns::submitted;
use crate::security::assert_no_inline_code;
use crate::*;

async fn spawn_with_notifications() -> TestApp {
    identity_app()
        .clock(Arc::new(TestClock::at(NOW)))
        .configure(|c| c.set_section("twin", serde_json::json!({"min_confidence": 0.5})))
        .module(Arc::new(TwinModule::new()))
        .module(Arc::new(CampaignsModule::new()))
        .module(Arc::new(AnalyticsModule::new().with_campaigns_module()))
        .module(Arc::new(NotificationsModule::new().with_campaigns_module()))
        .module(Arc::new(DashboardModule::new()))
        .spawn()
        .await
}

/// Waits until the caller's organisation has `n` notifications; them.
async fn notifications(c: &Caller<'_>, n: usize) -> Vec<Value> {
    for _ in 0..150 {
        let (status, v) = json(c.get("/v1/notifications").await).await;
        assert_eq!(status, 200, "{v}");
        let items = v["items"].as_array().cloned().unwrap_or_default();
        if items.len() >= n {
            return items;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{n} notifications never arrived");
}

#[tokio::test]
async fn the_header_counts_unread_notifications_and_the_page_marks_and_dismisses_them() {
    let app = spawn_with_notifications().await;
    let boss = admin(&app, "bell@shop.example", "Bell Shop").await;
    let c = boss.caller(&app);
    submitted(&c, "Spring range").await;
    submitted(&c, "Autumn range").await;
    let items = notifications(&c, 2).await;
    let first = items[0]["id"].as_str().unwrap().to_owned();
    let second = items[1]["id"].as_str().unwrap().to_owned();

    let mut b = Browser::new(&app);
    b.sign_in(&boss.email).await;
    // The overview: the count in the header and the panel.
    let overview = b.get(&format!("/app?{RANGE}")).await;
    assert_eq!(overview.status, 200, "{}", overview.body);
    let t = text(&overview.body);
    assert!(t.contains("Notifications 2 unread"), "{t}");
    assert!(
        t.contains("The launch of “Spring range” waits for approval"),
        "{t}"
    );
    assert!(overview.body.contains("href=\"/app/notifications\""));

    // The page.
    let page = b.get("/app/notifications").await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_no_inline_code("/app/notifications", &page.body);
    let t = text(&page.body);
    assert!(t.contains("2 unread"), "{t}");
    assert!(t.contains("Approval waiting"), "{t}");
    assert!(page.body.contains("aria-current=\"page\">Notifications"));
    let csrf = page.input("csrf");

    // Mark one read: back to the list with a note; one unread left.
    let done = b
        .post(
            &format!("/app/notifications/{first}/read"),
            &[("csrf", &csrf), ("back", "/app/notifications")],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), "/app/notifications?done=read");
    let page = b.get(done.location()).await;
    let t = text(&page.body);
    assert!(t.contains("The notification is marked read."), "{t}");
    assert!(t.contains("1 unread"), "{t}");
    // The unread filter lists the other one only.
    let unread = b.get("/app/notifications?unread=1").await;
    assert!(unread.body.contains(&second));
    assert!(!unread.body.contains(&first));

    // Dismiss the read one: gone from the page and from the API.
    let done = b
        .post(
            &format!("/app/notifications/{first}/dismiss"),
            &[("csrf", &csrf), ("back", "https://evil.example/")],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(
        done.location(),
        "/app/notifications?done=dismissed",
        "only this page is a place to go back to"
    );
    let (status, _) = json(c.get(&format!("/v1/notifications/{first}")).await).await;
    assert_eq!(status, 404);

    // Mark all read.
    let done = b
        .post("/app/notifications/read-all", &[("csrf", &csrf)])
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let page = b.get("/app/notifications").await;
    assert!(text(&page.body).contains("0 unread"), "{}", page.body);
    let overview = b.get(&format!("/app?{RANGE}")).await;
    assert!(
        !overview.body.contains("class=\"badge\""),
        "no badge with nothing unread"
    );
    assert!(text(&overview.body).contains("Nothing needs your attention."));
}

#[tokio::test]
async fn forms_need_the_csrf_token_and_another_organisations_notification_is_not_found() {
    let app = spawn_with_notifications().await;
    let boss = admin(&app, "mine@shop.example", "Mine Shop").await;
    let other = admin(&app, "theirs@shop.example", "Their Shop").await;
    let c = boss.caller(&app);
    submitted(&c, "Private").await;
    let items = notifications(&c, 1).await;
    let id = items[0]["id"].as_str().unwrap().to_owned();

    let mut b = Browser::new(&app);
    b.sign_in(&boss.email).await;
    let refused = b
        .post(
            &format!("/app/notifications/{id}/read"),
            &[("csrf", "forged")],
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);

    let mut o = Browser::new(&app);
    o.sign_in(&other.email).await;
    let page = o.get("/app/notifications").await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains(&id));
    let csrf = page.input("csrf");
    for action in ["read", "dismiss"] {
        let r = o
            .post(
                &format!("/app/notifications/{id}/{action}"),
                &[("csrf", &csrf)],
            )
            .await;
        assert_eq!(r.status, 404, "{action}: {}", r.body);
    }
    let bad = o.get("/app/notifications?kind=loud").await;
    assert_eq!(bad.status, 400, "{}", bad.body);
    let (_, still) = json(c.get(&format!("/v1/notifications/{id}")).await).await;
    assert!(still["read_at"].is_null(), "{still}");
}

#[tokio::test]
async fn without_the_module_there_is_no_link_and_no_page() {
    let (app, _, _) = spawn().await;
    let boss = admin(&app, "plain@shop.example", "Plain Shop").await;
    let mut b = Browser::new(&app);
    b.sign_in(&boss.email).await;
    let overview = b.get(&format!("/app?{RANGE}")).await;
    assert_eq!(overview.status, 200);
    assert!(!overview.body.contains("/app/notifications"));
    let page = b.get("/app/notifications").await;
    assert_eq!(page.status, 404, "{}", page.body);
}
