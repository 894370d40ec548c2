//! Shared helpers: an app with the bidder and conversions modules at a fixed
//! time, a line item whose banner links through the click tracker, a bid
//! and its click, conversions signed or sent with a key.

use std::sync::Arc;

use hmac::{Hmac, KeyInit, Mac};
use kiki_bidder::LineItem;
use kiki_bidder::lineitem::CreativeFormat;
use kiki_bidder_service::{BidderModule, BidderService};
use kiki_conversions_service::ConversionsModule;
use kiki_core::TestClock;
use kiki_test_support::TestApp;
use kiki_test_support::identity::{Caller, Person, admin, identity_app, json};
use serde_json::{Value, json};
use sha2::Sha256;
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

/// Monday 2026-03-02 12:00 UTC.
pub const NOW: OffsetDateTime = datetime!(2026-03-02 12:00 UTC);
pub const EXCHANGE_KEY: &str = "test-exchange-key";
/// The landing page the test banner links to: a query and a fragment.
pub const LANDING: &str = "https://www.shop.example/spring?utm_source=kiki&q=a%20b#reviews";

/// The app and the handles a test holds.
pub struct World {
    pub app: TestApp,
    pub clock: Arc<TestClock>,
    pub bidder: Arc<BidderService>,
}

/// An app with `conversions` settings `extra` merged into its section.
pub async fn spawn_with(extra: Value) -> World {
    let clock = Arc::new(TestClock::at(NOW));
    let app = identity_app()
        .clock(clock.clone())
        .configure(move |c| {
            c.set_section(
                "bidder",
                json!({
                    "notice_base_url": "https://bid.kiki.example",
                    "exchanges": [{ "name": "test-exchange", "key": EXCHANGE_KEY }],
                    "reporting_flush_secs": 1,
                    "snapshot_refresh_secs": 30,
                }),
            );
            c.set_section("conversions", extra);
        })
        .module(Arc::new(BidderModule::new()))
        .module(Arc::new(ConversionsModule::new()))
        .spawn()
        .await;
    let bidder = app
        .state
        .services
        .get::<BidderService>()
        .expect("the bidder module is initialised");
    World { app, clock, bidder }
}

pub async fn spawn() -> World {
    spawn_with(json!({})).await
}

/// A new organisation's owner.
pub async fn owner(app: &TestApp, name: &str) -> Person {
    admin(
        app,
        &format!("owner-{}@{name}.example", Uuid::now_v7()),
        name,
    )
    .await
}

/// A banner whose link goes through the click tracker to [`LANDING`].
pub fn tracked_banner(name: &str) -> LineItem {
    let mut li =
        kiki_bidder::sim::fixture_line_item(name, CreativeFormat::Banner { w: 300, h: 250 });
    let landing = url::form_urlencoded::byte_serialize(LANDING.as_bytes()).collect::<String>();
    li.creatives[0].markup =
        format!("<a href=\"${{KIKI_CLICK_URL}}{landing}\"><img src=\"${{KIKI_IMP_URL}}\"></a>");
    li
}

/// Creates the line item through the bidder API and waits until it bids.
pub async fn live_line_item(c: &Caller<'_>, li: &LineItem) -> Uuid {
    let mut body = serde_json::to_value(li).unwrap();
    let o = body.as_object_mut().unwrap();
    o.remove("id");
    o.remove("org_id");
    let (status, created) = json(c.post("/v1/bidder/line-items", &body).await).await;
    assert_eq!(status, 201, "{created}");
    let id = Uuid::parse_str(created["id"].as_str().unwrap()).unwrap();
    eventually(|| async {
        let v = c
            .get_ok(&format!("/v1/bidder/line-items/{id}/status"))
            .await;
        (v["loaded"] == true).then_some(())
    })
    .await;
    id
}

/// The line item's campaign.
pub async fn campaign_of(c: &Caller<'_>, li: Uuid) -> Uuid {
    let v = c.get_ok(&format!("/v1/bidder/line-items/{li}")).await;
    Uuid::parse_str(v["campaign_id"].as_str().unwrap()).unwrap()
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

/// The click tracker URL (path and query) of a bid on the fixture request.
pub async fn bid_click_path(app: &TestApp) -> String {
    let body = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../kiki-bidder/tests/fixtures/banner_site_2_6.json"),
    )
    .unwrap();
    let (status, answer) = json(
        app.client
            .post(app.url("/openrtb2/bid"))
            .header("content-type", "application/json")
            .header("x-kiki-exchange-key", EXCHANGE_KEY)
            .body(body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let adm = answer["seatbid"][0]["bid"][0]["adm"].as_str().unwrap();
    let href = adm
        .split_once("href=\"")
        .unwrap()
        .1
        .split_once('"')
        .unwrap()
        .0;
    href.strip_prefix("https://bid.kiki.example")
        .unwrap_or_else(|| panic!("not a tracker URL: {href}"))
        .to_owned()
}

/// Follows a click tracker path: (status, `Location`, tracker status).
pub async fn follow(app: &TestApp, path: &str) -> (u16, String, String) {
    let r = app.client.get(app.url(path)).send().await.unwrap();
    let header = |name: &str| {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    (
        r.status().as_u16(),
        header("location"),
        header("x-kiki-tracker-status"),
    )
}

/// The `kiki_click` value of a landing URL.
pub fn click_param(location: &str) -> Option<String> {
    let url = url::Url::parse(location).unwrap();
    url.query_pairs()
        .find(|(k, _)| k == "kiki_click")
        .map(|(_, v)| v.into_owned())
}

/// A bid on the organisation's live line item and a click on it: the click id.
pub async fn click(app: &TestApp) -> String {
    let path = bid_click_path(app).await;
    let (status, location, _) = follow(app, &path).await;
    assert_eq!(status, 302);
    click_param(&location).unwrap_or_else(|| panic!("no click id in {location}"))
}

/// A conversion body.
pub fn conversion(click_id: &str, order: &str, amount: &str) -> Value {
    json!({
        "click_id": click_id,
        "order_id": order,
        "value": {"amount": amount, "currency": "EUR"},
    })
}

/// An API key of the caller's organisation with `permissions`.
pub async fn api_key(c: &Caller<'_>, permissions: &[&str]) -> String {
    let (status, created) = json(
        c.post(
            "/v1/api-keys",
            &json!({"name": "shop server", "permissions": permissions}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{created}");
    created["token"].as_str().unwrap().to_owned()
}

/// `X-Kiki-Signature` for `body` at unix time `t`.
pub fn signature(key_id: &str, secret: &str, t: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    let hex: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("key={key_id},t={t},v1={hex}")
}

/// A signed postback: (status, body).
pub async fn signed_post(app: &TestApp, signature: &str, body: &[u8]) -> (u16, Value) {
    json(
        app.client
            .post(app.url("/v1/conversions"))
            .header("content-type", "application/json")
            .header("x-kiki-signature", signature)
            .body(body.to_vec())
            .send()
            .await
            .unwrap(),
    )
    .await
}
