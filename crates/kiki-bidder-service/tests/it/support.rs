//! Shared helpers: an app with the bidder module at a fixed time, the engine's
//! fixture catalogue created through the API, and exchange requests.

use std::path::PathBuf;
use std::sync::Arc;

use kiki_bidder::lineitem::*;
use kiki_bidder_service::BidderModule;
use kiki_core::{Currency, Money, TestClock};
use kiki_test_support::TestApp;
use kiki_test_support::identity::{Caller, Person, admin, identity_app, json};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

/// Monday 2026-03-02 12:00 UTC (the engine fixtures' time).
pub const NOW: OffsetDateTime = datetime!(2026-03-02 12:00 UTC);
pub const NOW_MS: i64 = 1_772_452_800_000;
pub const KEY: &str = "test-exchange-key";

pub fn usd(major: f64) -> Money {
    Money::from_micros((major * 1_000_000.0).round() as i64, Currency::USD)
}

/// The `[bidder]` section tests use; `extra` keys are merged in.
pub fn section(extra: Value) -> Value {
    let mut s = json!({
        "notice_base_url": "https://bid.kiki.example",
        "fx": { "base": "USD", "rates": { "EUR": 1.08, "GBP": 1.27 } },
        "exchanges": [{ "name": "test-exchange", "key": KEY }],
        "reporting_flush_secs": 1,
        "snapshot_refresh_secs": 30,
    });
    if let (Some(o), Value::Object(e)) = (s.as_object_mut(), extra) {
        o.extend(e);
    }
    s
}

pub async fn app_with(extra: Value, roles: &str) -> TestApp {
    let roles = roles.to_owned();
    identity_app()
        .clock(Arc::new(TestClock::at(NOW)))
        .configure(move |c| {
            c.set_section("bidder", section(extra));
            c.roles = roles;
        })
        .module(Arc::new(BidderModule::new()))
        .spawn()
        .await
}

pub async fn app() -> TestApp {
    app_with(json!({}), "all").await
}

pub async fn owner(app: &TestApp) -> Person {
    admin(
        app,
        &format!("owner-{}@shop.example", Uuid::now_v7()),
        "Shop",
    )
    .await
}

pub fn base_item(name: &str, format: CreativeFormat) -> LineItem {
    kiki_bidder::sim::fixture_line_item(name, format)
}

/// The engine's fixture catalogue (`kiki_bidder::sim::fixture_catalogue`).
pub fn catalogue() -> Vec<LineItem> {
    kiki_bidder::sim::fixture_catalogue()
}

/// A line item as the API takes it (no id, no organisation).
pub fn body_of(li: &LineItem) -> Value {
    let mut v = serde_json::to_value(li).unwrap();
    let o = v.as_object_mut().unwrap();
    o.remove("id");
    o.remove("org_id");
    v
}

/// Creates a line item through the API; its id.
pub async fn create(caller: &Caller<'_>, li: &LineItem) -> Uuid {
    let (status, body) = json(caller.post("/v1/bidder/line-items", &body_of(li)).await).await;
    assert_eq!(status, 201, "POST /v1/bidder/line-items: {body}");
    Uuid::parse_str(body["id"].as_str().unwrap()).unwrap()
}

pub fn fixture(name: &str) -> Vec<u8> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../kiki-bidder/tests/fixtures");
    std::fs::read(dir.join(name)).unwrap()
}

/// `POST /openrtb2/bid` with the exchange key.
pub async fn bid(app: &TestApp, body: Vec<u8>) -> reqwest::Response {
    app.client
        .post(app.url("/openrtb2/bid"))
        .header("content-type", "application/json")
        .header("x-kiki-exchange-key", KEY)
        .body(body)
        .send()
        .await
        .unwrap()
}

/// A notice URL from a bid (`nurl`/`lurl`) with the price macro filled in.
pub fn notice_path(url: &str, price: &str) -> String {
    let path = url
        .strip_prefix("https://bid.kiki.example")
        .unwrap_or(url)
        .to_owned();
    path.replace("${AUCTION_PRICE}", price)
        .replace("${AUCTION_LOSS}", "102")
}

/// Sends a notice with the exchange key; (status, notice-status header).
pub async fn notice(app: &TestApp, path: &str) -> (u16, String) {
    let r = app
        .client
        .get(app.url(path))
        .header("x-kiki-exchange-key", KEY)
        .send()
        .await
        .unwrap();
    let st = r
        .headers()
        .get("x-kiki-notice-status")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (r.status().as_u16(), st)
}

/// Polls `f` until it returns Some, for at most ~10 s (background loops).
pub async fn eventually<T, F, Fut>(mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..200 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the condition did not become true");
}

/// Waits until this process's snapshot has the line item.
pub async fn wait_loaded(caller: &Caller<'_>, id: Uuid) {
    eventually(|| async {
        let v = caller
            .get_ok(&format!("/v1/bidder/line-items/{id}/status"))
            .await;
        (v["loaded"] == true).then_some(())
    })
    .await;
}

/// Creates a line item and waits until it bids.
pub async fn create_live(caller: &Caller<'_>, li: &LineItem) -> Uuid {
    let id = create(caller, li).await;
    wait_loaded(caller, id).await;
    id
}

pub fn banner(name: &str) -> LineItem {
    base_item(name, CreativeFormat::Banner { w: 300, h: 250 })
}

/// A banner whose markup carries the impression and click tracker macros.
pub fn tracked_banner(name: &str) -> LineItem {
    let mut li = banner(name);
    li.creatives[0].markup = "<a href=\"${KIKI_CLICK_URL}https%3A%2F%2Fwww.shop.example%2Fspring\"><img src=\"${KIKI_IMP_URL}\"></a>".into();
    li
}

/// The impression and click tracker paths written into a bid's `adm`.
pub fn tracker_paths(bid: &Value) -> (String, String) {
    let adm = bid["adm"].as_str().unwrap();
    let strip = |u: &str| {
        u.strip_prefix("https://bid.kiki.example")
            .unwrap_or_else(|| panic!("not a tracker URL: {u}"))
            .to_owned()
    };
    let click = adm
        .split_once("href=\"")
        .unwrap()
        .1
        .split_once('"')
        .unwrap()
        .0;
    let imp = adm
        .split_once("src=\"")
        .unwrap()
        .1
        .split_once('"')
        .unwrap()
        .0;
    (strip(imp), strip(click))
}

/// An app with the bidder module whose clock and service the test holds.
pub async fn app_with_handles(
    extra: Value,
) -> (
    TestApp,
    Arc<TestClock>,
    Arc<kiki_bidder_service::BidderService>,
) {
    let clock = Arc::new(TestClock::at(NOW));
    let app = identity_app()
        .clock(clock.clone())
        .configure(move |c| {
            c.set_section("bidder", section(extra));
        })
        .module(Arc::new(BidderModule::new()))
        .spawn()
        .await;
    let svc = app
        .state
        .services
        .get::<kiki_bidder_service::BidderService>()
        .expect("the module is initialised");
    (app, clock, svc)
}
