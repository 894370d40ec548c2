//! Integration tests of the notifications service: the real app with the
//! twin, campaigns, analytics and notifications modules on port 0 against a
//! fresh database (SQLite, or PostgreSQL with `KIKI_TEST_DATABASE_URL`),
//! with a test clock. Notifications are raised by the real chain: a service
//! publishes its event, the listener queues `notifications.evaluate`, a
//! worker runs it.

mod metrics;
mod reads;
mod sources;

use std::sync::Arc;
use std::time::Duration;

use kiki_analytics_service::domain::{DailyRow, Level};
use kiki_analytics_service::{AnalyticsModule, AnalyticsService};
use kiki_campaigns_service::CampaignsModule;
use kiki_core::{Currency, Money, OrgId, TenantScope, TestClock};
use kiki_notifications_service::NotificationsModule;
use kiki_test_support::TestApp;
use kiki_test_support::identity::{Caller, identity_app, json};
use kiki_twin_service::TwinModule;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

/// "Now" in every test.
pub const NOW: OffsetDateTime = datetime!(2026-11-24 10:01:30 UTC);

pub async fn spawn_with(notifications: Option<Value>) -> TestApp {
    let clock = TestClock::at(NOW);
    identity_app()
        .clock(Arc::new(clock))
        .configure(move |c| {
            // The gate at 50 %: industry priors alone give a modest plan a
            // chance of positive uplift around 65 %.
            c.set_section("twin", json!({"min_confidence": 0.5}));
            if let Some(n) = notifications {
                c.set_section("notifications", n);
            }
        })
        .module(Arc::new(TwinModule::new()))
        .module(Arc::new(CampaignsModule::new()))
        .module(Arc::new(AnalyticsModule::new()))
        .module(Arc::new(
            NotificationsModule::new()
                .with_campaigns_module()
                .with_analytics_module(),
        ))
        .spawn()
        .await
}

pub async fn spawn() -> TestApp {
    spawn_with(None).await
}

pub fn usd(units: i64) -> Value {
    json!({"micros": units * 1_000_000, "currency": "USD"})
}

/// A campaign that starts today with a $100 daily budget (and the total
/// budget given, if any).
pub fn campaign(name: &str, total: Option<i64>) -> Value {
    let mut v = json!({
        "name": name,
        "objective": "New customers for the spring range",
        "kind": "shopping",
        "landing_url": "https://shop.example/spring",
        "brand_name": "Lumière",
        "industry": "general",
        "currency": "USD",
        "daily_budget": usd(100),
        "schedule": {"start": "2026-11-24", "end": "2026-12-30", "time_zone": "UTC"},
        "asset_source": "generated",
        "ad_sets": [
            {"name": "Search", "channel": "google", "budget_share_bps": 7000, "bid_strategy": "lowest_cost",
             "targeting": {"countries": ["US"], "keywords": ["serum"]}},
            {"name": "Display", "channel": "kiki", "budget_share_bps": 3000, "bid_strategy": "value_based"}
        ]
    });
    if let Some(t) = total {
        v["total_budget"] = usd(t);
    }
    v
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

/// Waits (up to 15 s) until the caller's notification list (with `query`)
/// satisfies `done`; the last list.
pub async fn wait_for(c: &Caller<'_>, query: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let mut last = Vec::new();
    for _ in 0..150 {
        let (status, v) = get(c, &format!("/v1/notifications{query}")).await;
        assert_eq!(status, 200, "{v}");
        last = v["items"].as_array().cloned().unwrap_or_default();
        if done(&last) {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the notifications never matched: {last:?}");
}

/// The items of one kind.
pub fn of_kind<'a>(items: &'a [Value], kind: &str) -> Vec<&'a Value> {
    items.iter().filter(|n| n["kind"] == kind).collect()
}

pub fn analytics(app: &TestApp) -> Arc<AnalyticsService> {
    app.state
        .services
        .get::<AnalyticsService>()
        .expect("the analytics module is mounted")
}

/// Writes one day of a campaign's metrics on Google (campaign level) as the
/// ingest job would, publishing `analytics.rolled_up`.
pub async fn record_day(app: &TestApp, org: Uuid, campaign: &str, spend: i64, revenue: i64) {
    let usd = Currency::parse("USD").unwrap();
    let day = NOW.date();
    let row = DailyRow {
        level: Level::Campaign,
        platform: "google".into(),
        external_id: format!("g-{campaign}"),
        day,
        campaign_id: Some(campaign.to_owned()),
        ad_set_id: None,
        ad_id: None,
        spend: Money::from_micros(spend * 1_000_000, usd),
        revenue: Money::from_micros(revenue * 1_000_000, usd),
        conversions_micros: 3_000_000,
        impressions: 10_000,
        clicks: 200,
    };
    let period = kiki_analytics::Period::new(day, day).unwrap();
    analytics(app)
        .record_daily(&TenantScope::single(OrgId(org)), "google", period, &[row])
        .await
        .expect("the day is recorded");
}
