//! Integration tests of the campaigns service: the real app with the twin
//! and campaigns modules on port 0 against a fresh database (SQLite, or
//! PostgreSQL with `KIKI_TEST_DATABASE_URL`), with a test clock.

mod approvals;
mod channels;
mod creatives;
mod kill_switch;
mod lifecycle;
mod plan;
mod platforms;

use std::sync::Arc;

use kiki_campaigns_service::CampaignsModule;
use kiki_core::TestClock;
use kiki_test_support::TestApp;
use kiki_test_support::identity::{Caller, identity_app, json};
use kiki_twin_service::TwinModule;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

/// "Now" in every test.
pub const NOW: OffsetDateTime = datetime!(2026-11-24 10:01:30 UTC);

pub async fn spawn_with(campaigns: Option<Value>) -> (TestApp, TestClock) {
    let clock = TestClock::at(NOW);
    let app = identity_app()
        .clock(Arc::new(clock.clone()))
        .configure(move |c| {
            // The gate at 50 %: industry priors alone (no history) give a
            // modest plan a chance of positive uplift around 65 %.
            c.set_section("twin", json!({"min_confidence": 0.5}));
            if let Some(t) = campaigns {
                c.set_section("campaigns", t);
            }
        })
        .module(Arc::new(TwinModule::new()))
        .module(Arc::new(CampaignsModule::new()))
        .spawn()
        .await;
    (app, clock)
}

pub async fn spawn() -> (TestApp, TestClock) {
    spawn_with(None).await
}

/// A campaign the twin's gate approves at the tests' 50 % threshold: a
/// modest Google budget for a general business (industry priors: CPA about
/// 40 against an LTV of 100; P(uplift > 0) about 65 %).
pub fn good_campaign(name: &str) -> Value {
    json!({
        "name": name,
        "objective": "New customers for the spring range",
        "kind": "shopping",
        "landing_url": "https://shop.example/spring",
        "brand_name": "Lumière",
        "industry": "general",
        "currency": "USD",
        "daily_budget": {"micros": 100_000_000, "currency": "USD"},
        "schedule": {"start": "2026-12-01", "end": "2026-12-30", "time_zone": "Europe/Paris"},
        "asset_source": "generated",
        "ad_sets": [
            {"name": "Search", "channel": "google", "budget_share_bps": 7000, "bid_strategy": "lowest_cost",
             "targeting": {"countries": ["US"], "keywords": ["serum"]}},
            {"name": "Display", "channel": "kiki", "budget_share_bps": 3000, "bid_strategy": "value_based"}
        ]
    })
}

/// A campaign the gate refuses: LinkedIn reach for a general business
/// (priors: CPA about 230 against an LTV of 100).
pub fn bad_campaign(name: &str) -> Value {
    json!({
        "name": name,
        "objective": "Awareness",
        "kind": "leads",
        "landing_url": "https://shop.example/b2b",
        "brand_name": "Lumière",
        "industry": "general",
        "currency": "USD",
        "daily_budget": {"micros": 2_000_000_000, "currency": "USD"},
        "schedule": {"start": "2026-12-01", "end": "2026-12-30", "time_zone": "UTC"},
        "asset_source": "user_provided",
        "ad_sets": [
            {"name": "B2B", "channel": "linkedin", "budget_share_bps": 10000, "bid_strategy": "lowest_cost"}
        ]
    })
}

pub async fn post(c: &Caller<'_>, path: &str, body: &Value) -> (u16, Value) {
    json(c.post(path, body).await).await
}

pub async fn get(c: &Caller<'_>, path: &str) -> (u16, Value) {
    json(c.get(path).await).await
}

pub async fn put(c: &Caller<'_>, path: &str, body: &Value) -> (u16, Value) {
    json(c.send(reqwest::Method::PUT, path, Some(body)).await).await
}

/// Creates a campaign; its id.
pub async fn create(c: &Caller<'_>, body: &Value) -> String {
    let (status, v) = post(c, "/v1/campaigns", body).await;
    assert_eq!(status, 201, "{v}");
    v["id"].as_str().expect("an id").to_owned()
}

/// Moves a campaign; (status, body).
pub async fn act(c: &Caller<'_>, id: &str, action: &str) -> (u16, Value) {
    post(
        c,
        &format!("/v1/campaigns/{id}/actions"),
        &json!({"action": action, "reason": format!("test: {action}")}),
    )
    .await
}

/// The pending approval of a campaign; its id.
pub async fn pending_approval(c: &Caller<'_>, campaign: &str) -> String {
    let (status, v) = get(
        c,
        &format!("/v1/approvals?status=pending&campaign_id={campaign}"),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let items = v["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{v}");
    items[0]["id"].as_str().expect("an id").to_owned()
}

/// Submits, approves and launches a good campaign; its id.
pub async fn live(c: &Caller<'_>, name: &str) -> String {
    let id = create(c, &good_campaign(name)).await;
    let (status, v) = act(c, &id, "submit").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["gate"]["approved"], true, "{v}");
    let approval = pending_approval(c, &id).await;
    let (status, v) = post(
        c,
        &format!("/v1/approvals/{approval}/decision"),
        &json!({"decision": "approve"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = act(c, &id, "launch").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["status"], "active");
    id
}
