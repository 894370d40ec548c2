//! The `kiki` source: KIKI's own bidder and the conversions credited to its
//! line items reach the roll-ups as platform `kiki`. A line item's hourly
//! counts over two UTC days are flushed (`bidder.delivery_flushed`) and two
//! conversions are recorded (`conversions.recorded`); the listener queues
//! `analytics.ingest` for platform `kiki`, which reads
//! `BidderService::daily_delivery` and
//! `ConversionsService::daily_by_line_item`. The answers equal the numbers
//! below, summed by hand; a second flush replaces the days, a conversion
//! alone updates the revenue, and another organisation's delivery never
//! shows.

use std::sync::Arc;

use kiki_bidder::lineitem::CreativeFormat;
use kiki_bidder::notice::BidId;
use kiki_bidder::{LineItemId, sim};
use kiki_bidder_service::service::reporting::HourCounts;
use kiki_bidder_service::{BidderModule, BidderService};
use kiki_conversions_service::ConversionsModule;
use serde_json::{Value, json};

use crate::*;

/// Monday 2 March 2026, noon UTC.
const START: OffsetDateTime = datetime!(2026-03-02 12:00 UTC);
const RANGE: &str = "since=2026-03-02&until=2026-03-03";

async fn spawn_kiki(clock: Arc<TestClock>) -> TestApp {
    identity_app()
        .clock(clock)
        .configure(|c| {
            c.set_section(
                "bidder",
                json!({
                    "notice_base_url": "https://bid.kiki.example",
                    "exchanges": [{ "name": "test-exchange", "key": "test-exchange-key" }],
                    "reporting_flush_secs": 1,
                    "snapshot_refresh_secs": 30,
                }),
            );
            c.set_section("analytics", json!({ "kiki_ingest_delay_secs": 1 }));
        })
        .module(Arc::new(BidderModule::new()))
        .module(Arc::new(ConversionsModule::new()))
        .module(Arc::new(
            AnalyticsModule::new()
                .with_bidder_module()
                .with_conversions_module(),
        ))
        .spawn()
        .await
}

/// A line item created through the bidder API, once this process bids on
/// it: (line item, campaign).
async fn line_item(c: &Caller<'_>, name: &str) -> (Uuid, Uuid) {
    let li = sim::fixture_line_item(name, CreativeFormat::Banner { w: 300, h: 250 });
    let mut body = serde_json::to_value(&li).unwrap();
    let o = body.as_object_mut().unwrap();
    o.remove("id");
    o.remove("org_id");
    let (status, created) = json(c.post("/v1/bidder/line-items", &body).await).await;
    assert_eq!(status, 201, "{created}");
    let id = Uuid::parse_str(created["id"].as_str().unwrap()).unwrap();
    let campaign = Uuid::parse_str(created["campaign_id"].as_str().unwrap()).unwrap();
    for _ in 0..200 {
        let (_, v) = get(c, &format!("/v1/bidder/line-items/{id}/status")).await;
        if v["loaded"] == true {
            return (id, campaign);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the line item never loaded");
}

/// Counts an hour of delivery of `li` at `at` (UTC).
fn deliver(bidder: &BidderService, li: Uuid, at: OffsetDateTime, c: HourCounts) {
    bidder
        .reporting
        .add(LineItemId(li), kiki_bidder_service::service::ms(at), c);
}

fn counts(spend_micros: i64, impressions: i64, clicks: i64) -> HourCounts {
    HourCounts {
        bids: impressions * 2,
        wins: impressions,
        spend_micros,
        impressions,
        clicks,
    }
}

/// Polls `path` until `f` holds (the ingest runs as a job after the
/// listener's delay), for at most ~15 s.
async fn eventually(c: &Caller<'_>, path: &str, f: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..300 {
        let (status, v) = get(c, path).await;
        if status == 200 && f(&v) {
            return v;
        }
        last = v;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{path} never matched; last answer: {last}");
}

/// The `kiki` row of a platform breakdown in `currency`.
fn kiki_row<'a>(b: &'a Value, currency: &str) -> Option<&'a Value> {
    b["rows"]
        .as_array()?
        .iter()
        .find(|r| r["platform"] == "kiki" && r["spend"]["currency"] == currency)
}

fn spend_of(b: &Value, currency: &str) -> Option<i64> {
    kiki_row(b, currency).map(|r| micros(&r["spend"]))
}

#[tokio::test]
async fn the_bidders_delivery_and_its_conversions_reach_the_roll_ups_as_platform_kiki() {
    let clock = Arc::new(TestClock::at(START));
    let app = spawn_kiki(clock.clone()).await;
    let bidder = app
        .state
        .services
        .get::<BidderService>()
        .expect("the bidder module");
    let boss = owner(&app, "kiki").await;
    let c = boss.caller(&app);
    let (li, campaign) = line_item(&c, "spring").await;
    let click = bidder
        .issue_click_id(LineItemId(li), BidId(1), "spring-cr")
        .expect("a click id");
    // API keys outlive the sign-in across the day the clock moves.
    let server = Caller::new(&app, admin_key(&c, "campaign.write").await);
    let c = Caller::new(&app, admin_key(&c, "campaign.read").await);

    // Delivery over two UTC days:
    //   2 Mar 10:00  $3.25, 1,200 impressions, 5 clicks
    //   2 Mar 15:00  $1.75,   800 impressions, 3 clicks
    //   3 Mar 08:00  $2.00, 1,000 impressions, 2 clicks
    // in all $7.00, 3,000 impressions, 10 clicks.
    deliver(
        &bidder,
        li,
        datetime!(2026-03-02 10:00 UTC),
        counts(3_250_000, 1_200, 5),
    );
    deliver(
        &bidder,
        li,
        datetime!(2026-03-02 15:00 UTC),
        counts(1_750_000, 800, 3),
    );
    deliver(
        &bidder,
        li,
        datetime!(2026-03-03 08:00 UTC),
        counts(2_000_000, 1_000, 2),
    );
    bidder
        .flush_reporting()
        .await
        .expect("the hours are written");

    // Two orders, one on each day: $40.00 and $25.00.
    clock.advance(time::Duration::days(1));
    for (order, amount, at) in [
        ("K-1", "40.00", "2026-03-02T13:00:00Z"),
        ("K-2", "25.00", "2026-03-03T08:30:00Z"),
    ] {
        let body = json!({
            "click_id": click, "order_id": order, "occurred_at": at,
            "value": {"amount": amount, "currency": "USD"},
        });
        let (status, v) = json(server.post("/v1/conversions", &body).await).await;
        assert_eq!(status, 201, "{v}");
    }

    let breakdown = format!("/v1/analytics/breakdown?by=platform&{RANGE}");
    let b = eventually(&c, &breakdown, |b| {
        kiki_row(b, "USD").is_some_and(|r| micros(&r["revenue"]) == 65_000_000)
    })
    .await;
    let r = kiki_row(&b, "USD").unwrap();
    assert_eq!(micros(&r["spend"]), 7_000_000, "{b}");
    assert_eq!(r["impressions"], 3_000);
    assert_eq!(r["clicks"], 10);
    assert_eq!(r["conversions"], 2.0);
    assert_eq!(micros(&r["revenue"]), 65_000_000);

    let (status, s) = get(
        &c,
        &format!("/v1/analytics/summary?{RANGE}&compare=none&platform=kiki"),
    )
    .await;
    assert_eq!(status, 200, "{s}");
    let cur = &in_currency(&s, "USD")["current"];
    assert_eq!(micros(&cur["spend"]), 7_000_000, "{s}");
    assert_eq!(micros(&cur["revenue"]), 65_000_000);
    assert_eq!(cur["conversions"], 2.0);
    assert_eq!(cur["impressions"], 3_000);
    assert_eq!(cur["clicks"], 10);

    // The campaign's drill-down: the line item is its ad set, day by day.
    let (status, d) = get(
        &c,
        &format!("/v1/analytics/drilldown?{RANGE}&campaign_id={campaign}"),
    )
    .await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["children"][0]["ad_set_id"], li.to_string(), "{d}");
    assert_eq!(micros(&d["children"][0]["spend"]), 7_000_000);
    let daily: Vec<(String, i64, i64, i64)> = d["daily"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["day"].as_str().unwrap().to_owned(),
                micros(&p["spend"]),
                micros(&p["revenue"]),
                p["clicks"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        daily,
        [
            ("2026-03-02".to_owned(), 5_000_000, 40_000_000, 8),
            ("2026-03-03".to_owned(), 2_000_000, 25_000_000, 2),
        ]
    );

    // A second flush of 3 Mar 08:00 (+$0.50, 100 impressions, 1 click):
    // the day is replaced with the new sums, never added twice.
    deliver(
        &bidder,
        li,
        datetime!(2026-03-03 08:00 UTC),
        counts(500_000, 100, 1),
    );
    bidder
        .flush_reporting()
        .await
        .expect("the hours are written");
    let b = eventually(&c, &breakdown, |b| spend_of(b, "USD") == Some(7_500_000)).await;
    let r = kiki_row(&b, "USD").unwrap();
    assert_eq!(r["impressions"], 3_100, "{b}");
    assert_eq!(r["clicks"], 11);
    assert_eq!(micros(&r["revenue"]), 65_000_000);

    // A conversion alone, in euros: its own row in its own currency; the
    // dollar figures stay as they are.
    let body = json!({
        "click_id": click, "order_id": "K-3", "occurred_at": "2026-03-03T10:00:00Z",
        "value": {"amount": "9.50", "currency": "EUR"},
    });
    let (status, v) = json(server.post("/v1/conversions", &body).await).await;
    assert_eq!(status, 201, "{v}");
    let b = eventually(&c, &breakdown, |b| kiki_row(b, "EUR").is_some()).await;
    let eur = kiki_row(&b, "EUR").unwrap();
    assert_eq!(micros(&eur["revenue"]), 9_500_000, "{b}");
    assert_eq!(eur["conversions"], 1.0);
    assert_eq!(micros(&eur["spend"]), 0);
    let usd = kiki_row(&b, "USD").unwrap();
    assert_eq!(micros(&usd["spend"]), 7_500_000);
    assert_eq!(micros(&usd["revenue"]), 65_000_000);

    // Another organisation's line item delivers $99 on 3 Mar: its own
    // analytics show it, this organisation's never do.
    let other = owner(&app, "other").await;
    let oc = other.caller(&app);
    let (oli, _) = line_item(&oc, "autumn").await;
    deliver(
        &bidder,
        oli,
        datetime!(2026-03-03 09:00 UTC),
        counts(99_000_000, 5_000, 40),
    );
    bidder
        .flush_reporting()
        .await
        .expect("the hours are written");
    let ob = eventually(&oc, &breakdown, |b| spend_of(b, "USD") == Some(99_000_000)).await;
    assert_eq!(kiki_row(&ob, "USD").unwrap()["clicks"], 40, "{ob}");
    assert!(kiki_row(&ob, "EUR").is_none(), "{ob}");
    let (_, b) = get(&c, &breakdown).await;
    assert_eq!(spend_of(&b, "USD"), Some(7_500_000), "{b}");
    assert_eq!(kiki_row(&b, "USD").unwrap()["clicks"], 11);
}

#[tokio::test]
async fn the_bidders_daily_delivery_is_per_line_item_and_utc_day_and_bounded() {
    let clock = Arc::new(TestClock::at(START));
    let app = spawn_kiki(clock).await;
    let bidder = app
        .state
        .services
        .get::<BidderService>()
        .expect("the bidder module");
    let boss = owner(&app, "delivery").await;
    let c = boss.caller(&app);
    let (li, campaign) = line_item(&c, "winter").await;
    deliver(
        &bidder,
        li,
        datetime!(2026-03-01 23:00 UTC),
        counts(1_000_000, 10, 1),
    );
    deliver(
        &bidder,
        li,
        datetime!(2026-03-02 00:00 UTC),
        counts(2_000_000, 20, 2),
    );
    deliver(
        &bidder,
        li,
        datetime!(2026-03-02 11:00 UTC),
        counts(3_000_000, 30, 3),
    );
    bidder
        .flush_reporting()
        .await
        .expect("the hours are written");
    let scope = TenantScope::single(OrgId(boss.org_id));
    let days = bidder
        .daily_delivery(&scope, date!(2026 - 03 - 01), date!(2026 - 03 - 02))
        .await
        .expect("the delivery reads");
    let got: Vec<_> = days
        .iter()
        .map(|d| {
            (
                d.day,
                d.line_item_id,
                d.campaign_id,
                d.spend.micros,
                d.impressions,
                d.clicks,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (date!(2026 - 03 - 01), li, campaign, 1_000_000, 10, 1),
            (date!(2026 - 03 - 02), li, campaign, 5_000_000, 50, 5),
        ]
    );
    assert!(days.iter().all(|d| d.spend.currency == Currency::USD));
    // One day only.
    let one = bidder
        .daily_delivery(&scope, date!(2026 - 03 - 02), date!(2026 - 03 - 02))
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    // Another organisation sees none of it.
    let stranger = TenantScope::single(OrgId(Uuid::now_v7()));
    assert!(
        bidder
            .daily_delivery(&stranger, date!(2026 - 03 - 01), date!(2026 - 03 - 02))
            .await
            .unwrap()
            .is_empty()
    );
    // Bounded: backwards or longer than 92 days (here 93) is refused.
    for (since, until) in [
        (date!(2026 - 03 - 02), date!(2026 - 03 - 01)),
        (date!(2025 - 11 - 30), date!(2026 - 03 - 02)),
    ] {
        assert!(bidder.daily_delivery(&scope, since, until).await.is_err());
    }
}

/// An API key of the caller's organisation with one permission.
async fn admin_key(c: &Caller<'_>, permission: &str) -> String {
    let (status, created) = json(
        c.post(
            "/v1/api-keys",
            &json!({"name": format!("key {permission}"), "permissions": [permission]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{created}");
    created["token"].as_str().unwrap().to_owned()
}
