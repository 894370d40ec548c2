//! The campaign's conversions: the list and the daily summary.

use kiki_bidder::LineItemId;
use kiki_bidder::notice::BidId;
use kiki_test_support::identity::{Caller, json};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn conversions_are_listed_and_summed_per_campaign_and_day() {
    let w = spawn().await;
    let o = owner(&w.app, "shop").await;
    let c = o.caller(&w.app);
    let li = live_line_item(&c, &tracked_banner("spring")).await;
    let campaign = campaign_of(&c, li).await;
    let click = w
        .bidder
        .issue_click_id(LineItemId(li), BidId(1), "spring-cr")
        .unwrap();
    let server = Caller::new(&w.app, api_key(&c, &["campaign.write"]).await);
    let c = Caller::new(&w.app, api_key(&c, &["campaign.read"]).await);
    // Reported a day later (API keys do not expire like the sign-in).
    w.clock.advance(time::Duration::days(1));
    for (order, amount, at) in [
        ("D-1", "10.50", "2026-03-02T12:10:00Z"),
        ("D-2", "4.50", "2026-03-02T18:00:00Z"),
        ("D-3", "100", "2026-03-03T08:00:00Z"),
    ] {
        let mut body = conversion(&click, order, amount);
        body["occurred_at"] = json!(at);
        let (status, v) = json(server.post("/v1/conversions", &body).await).await;
        assert_eq!(status, 201, "{v}");
    }
    let daily = c
        .get_ok(&format!(
            "/v1/conversions/daily?campaign_id={campaign}&since=2026-03-01&until=2026-03-03"
        ))
        .await;
    assert_eq!(
        daily,
        json!({
            "since": "2026-03-01", "until": "2026-03-03",
            "days": [
                {"day": "2026-03-02", "campaign_id": campaign, "conversions": 2,
                 "value": {"micros": 15_000_000, "currency": "EUR"}},
                {"day": "2026-03-03", "campaign_id": campaign, "conversions": 1,
                 "value": {"micros": 100_000_000, "currency": "EUR"}}
            ]
        })
    );
    // Default range: the 30 days to today.
    let recent = c.get_ok("/v1/conversions/daily").await;
    assert_eq!(recent["until"], "2026-03-03");
    assert_eq!(recent["days"].as_array().unwrap().len(), 2);
    // Another campaign has none.
    let none = c
        .get_ok(&format!(
            "/v1/conversions/daily?campaign_id={}",
            uuid::Uuid::now_v7()
        ))
        .await;
    assert_eq!(none["days"], json!([]));

    // The list: latest order first, by page, filtered by day.
    let page = c.get_ok("/v1/conversions?limit=2").await;
    let orders: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["order_id"].as_str().unwrap())
        .collect();
    assert_eq!(orders, ["D-3", "D-2"]);
    let next = c
        .get_ok(&format!(
            "/v1/conversions?limit=2&cursor={}",
            page["next_cursor"].as_str().unwrap()
        ))
        .await;
    assert_eq!(next["items"][0]["order_id"], "D-1");
    assert!(next["next_cursor"].is_null());
    let day = c
        .get_ok("/v1/conversions?since=2026-03-03&until=2026-03-03")
        .await;
    assert_eq!(day["items"].as_array().unwrap().len(), 1);

    // A range that ends before it starts holds nothing; any range is answered.
    let empty = c
        .get_ok("/v1/conversions?since=2026-03-03&until=2026-03-01")
        .await;
    assert_eq!(empty["items"], json!([]));
    let empty = c
        .get_ok("/v1/conversions/daily?since=2026-03-03&until=2026-03-01")
        .await;
    assert_eq!(empty["days"], json!([]));
    let all = c
        .get_ok("/v1/conversions/daily?since=0001-01-01&until=9999-12-31")
        .await;
    assert_eq!(all["days"].as_array().unwrap().len(), 2);
}
