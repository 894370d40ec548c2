//! Budget exceeded and poor ROAS, evaluated when metrics land
//! (`analytics.rolled_up`), against the organisation's thresholds.

use kiki_test_support::identity::admin;
use serde_json::json;

use crate::*;

#[tokio::test]
async fn spend_over_the_daily_budget_raises_budget_exceeded_until_the_tolerance_covers_it() {
    let app = spawn().await;
    let boss = admin(&app, "owner@budget.test", "Budget Org").await;
    let c = boss.caller(&app);
    let id = create(&c, &campaign("Spring range", None)).await;
    record_day(&app, boss.org_id, &id, 130, 520).await;
    let items = wait_for(&c, "?kind=budget_exceeded", |i| !i.is_empty()).await;
    let n = &items[0];
    assert_eq!(n["severity"], "high");
    assert_eq!(n["subject"], json!({"type": "campaign", "id": id}));
    assert_eq!(n["link"], format!("/app/campaigns/{id}"));
    assert_eq!(n["title"], "“Spring range” is over its daily budget");
    assert_eq!(
        n["body"],
        "“Spring range” spent $130.00 on 2026-11-24 against a daily budget of $100.00 (30.0 % over; the tolerance is 0 %, the default)."
    );
    // ROAS 4.0 is above the default target of 1.0: no poor ROAS.
    let (_, all) = get(&c, "/v1/notifications").await;
    assert!(of_kind(all["items"].as_array().unwrap(), "poor_roas").is_empty());

    // A tolerance of 40 %: the same day is within it, and resolves it.
    let (status, s) = put(
        &c,
        "/v1/notifications/settings",
        &json!({"roas_target": 1.0, "budget_tolerance_pct": 40, "enabled_kinds": [
            "approval_waiting", "rollback_recommended", "sync_failing",
            "kill_switch_engaged", "budget_exceeded", "poor_roas"]}),
    )
    .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["defaults"], false);
    record_day(&app, boss.org_id, &id, 130, 520).await;
    wait_for(&c, "?kind=budget_exceeded", |i| {
        i.len() == 1 && !i[0]["resolved_at"].is_null()
    })
    .await;
}

#[tokio::test]
async fn spend_over_the_total_budget_is_checked_from_the_schedule_start() {
    let app = spawn().await;
    let boss = admin(&app, "owner@total.test", "Total Org").await;
    let c = boss.caller(&app);
    let id = create(&c, &campaign("Winter", Some(120))).await;
    // $110 in a day: within the $100 daily budget's campaign's $120 total?
    // No daily check with a total budget; $110 ≤ $120.
    record_day(&app, boss.org_id, &id, 110, 500).await;
    // $125 over the total.
    record_day(&app, boss.org_id, &id, 125, 500).await;
    let items = wait_for(&c, "?kind=budget_exceeded", |i| !i.is_empty()).await;
    assert_eq!(items[0]["title"], "“Winter” is over its total budget");
    let body = items[0]["body"].as_str().unwrap();
    assert!(
        body.contains(
            "has spent $125.00 from its start to 2026-11-24 against a total budget of $120.00"
        ),
        "{body}"
    );
}

#[tokio::test]
async fn roas_below_the_target_raises_poor_roas_and_a_recovery_resolves_it() {
    let app = spawn().await;
    let boss = admin(&app, "owner@roas.test", "Roas Org").await;
    let c = boss.caller(&app);
    let id = create(&c, &campaign("Autumn", None)).await;
    let (status, _) = put(
        &c,
        "/v1/notifications/settings",
        &json!({"roas_target": 2.5, "budget_tolerance_pct": 0, "enabled_kinds": ["poor_roas"]}),
    )
    .await;
    assert_eq!(status, 200);
    // $80 spent (within budget), $120 revenue: ROAS 1.5 < 2.5.
    record_day(&app, boss.org_id, &id, 80, 120).await;
    let items = wait_for(&c, "?kind=poor_roas", |i| !i.is_empty()).await;
    assert_eq!(items[0]["severity"], "warning");
    let body = items[0]["body"].as_str().unwrap();
    assert!(
        body.contains("brought in $120.00 of revenue for $80.00 of spend from 2026-11-24 to 2026-11-24: a ROAS of 1.50, below the organisation's target of 2.50."),
        "{body}"
    );
    // Recovered: $80 → $400 revenue (ROAS 5).
    record_day(&app, boss.org_id, &id, 80, 400).await;
    wait_for(&c, "?kind=poor_roas", |i| {
        i.len() == 1 && !i[0]["resolved_at"].is_null()
    })
    .await;
}

#[tokio::test]
async fn a_kind_turned_off_is_not_raised() {
    let app = spawn().await;
    let boss = admin(&app, "owner@off.test", "Off Org").await;
    let c = boss.caller(&app);
    let id = create(&c, &campaign("Quiet", None)).await;
    let (status, _) = put(
        &c,
        "/v1/notifications/settings",
        &json!({"roas_target": 1.0, "budget_tolerance_pct": 0, "enabled_kinds": ["poor_roas"]}),
    )
    .await;
    assert_eq!(status, 200);
    // Over budget (off) and ROAS 0.5 (on).
    record_day(&app, boss.org_id, &id, 200, 100).await;
    let items = wait_for(&c, "", |i| !of_kind(i, "poor_roas").is_empty()).await;
    assert!(of_kind(&items, "budget_exceeded").is_empty(), "{items:?}");
}
