//! Campaigns on the ad platforms: with the Google sandbox connected, a
//! launched campaign's Google ad set is deployed (campaign, ad group, one ad
//! per approved Google creative), the market delivers days within the
//! flight, the performance sync brings daily metrics back mapped to KIKI's
//! ids (idempotently), feeds the twin's history and the LTV transactions of
//! the customers acquired, and pausing stops delivery.

use std::sync::Arc;

use kiki_campaigns_service::CampaignsModule;
use kiki_core::TestClock;
use kiki_ltv_service::LtvModule;
use kiki_platforms_service::PlatformsModule;
use kiki_test_support::TestApp;
use kiki_test_support::identity::{Caller, PASSWORD, admin, identity_app, sign_in};
use kiki_twin_service::TwinModule;
use serde_json::{Value, json};
use time::macros::datetime;

use crate::*;

async fn spawn_with_platforms() -> (TestApp, TestClock) {
    let clock = TestClock::at(NOW);
    let app = identity_app()
        .clock(Arc::new(clock.clone()))
        .configure(|c| c.set_section("twin", json!({"min_confidence": 0.5})))
        .module(Arc::new(LtvModule::new()))
        .module(Arc::new(TwinModule::new()))
        .module(Arc::new(
            PlatformsModule::new().with_twin_module().with_ltv_module(),
        ))
        .module(Arc::new(CampaignsModule::new().with_platforms_module()))
        .spawn()
        .await;
    (app, clock)
}

fn google_set(v: &Value) -> &Value {
    v["ad_sets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["channel"] == "google")
        .expect("a Google ad set")
}

async fn until(c: &Caller<'_>, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..1200 {
        let (status, v) = get(c, &format!("/v1/campaigns/{id}")).await;
        assert_eq!(status, 200, "{v}");
        if done(&v) {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the campaign {id} never reached the expected state");
}

async fn sync(c: &Caller<'_>) -> Value {
    let (status, run) = post(c, "/v1/platforms/connections/google/sync", &json!({})).await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["status"], "succeeded", "{run}");
    run
}

async fn ad_set_days(c: &Caller<'_>, set: &str) -> Vec<Value> {
    let (status, rows) = get(
        c,
        "/v1/platforms/metrics?level=ad_set&since=2026-11-01&until=2026-12-31",
    )
    .await;
    assert_eq!(status, 200, "{rows}");
    rows.as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ad_set_id"] == set)
        .cloned()
        .collect()
}

#[tokio::test]
async fn a_google_ad_set_runs_on_the_sandbox_and_its_numbers_come_back() {
    let (app, clock) = spawn_with_platforms().await;
    let boss = admin(&app, "owner@platforms.test", "Platforms Org").await;
    let c = boss.caller(&app);

    // Before a connection, the ad set waits for one.
    let (status, conns) = get(&c, "/v1/platforms/connections").await;
    assert_eq!(status, 200);
    assert_eq!(conns, json!([]));
    let (status, v) = post(
        &c,
        "/v1/platforms/connections",
        &json!({"platform": "google", "mode": "sandbox", "industry": "general"}),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["connection"]["status"], "connected", "{v}");
    assert_eq!(v["connection"]["account_id"], "sandbox:general");
    assert_eq!(v["connection"]["currency"], "USD");
    // A live connection needs credentials this server does not have.
    let (status, e) = post(
        &c,
        "/v1/platforms/connections",
        &json!({"platform": "google", "mode": "live", "account_id": "1234567890"}),
    )
    .await;
    assert_eq!(status, 409, "{e}");

    let id = create(&c, &good_campaign("On Google")).await;
    let (status, cr) = post(
        &c,
        "/v1/creatives",
        &json!({"campaign_id": id, "channel": "google", "copy": {
            "headlines": ["Spring care by Lumière", "Light daily serum", "Free returns"],
            "descriptions": ["A light daily serum for spring.", "Order today, free returns."]
        }}),
    )
    .await;
    assert_eq!(status, 201, "{cr}");
    assert_eq!(cr["verdict"], "approved", "{cr}");
    let (status, v) = act(&c, &id, "submit").await;
    assert_eq!(status, 200, "{v}");
    let approval = pending_approval(&c, &id).await;
    let (status, v) = post(
        &c,
        &format!("/v1/approvals/{approval}/decision"),
        &json!({"decision": "approve"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let (status, v) = act(&c, &id, "launch").await;
    assert_eq!(status, 200, "{v}");

    let v = until(&c, &id, |v| google_set(v)["deployment"]["status"] == "live").await;
    let set = google_set(&v);
    let set_id = set["id"].as_str().unwrap().to_owned();
    let external = set["deployment"]["external_id"].as_str().unwrap();
    assert!(external.starts_with("sbx-as-"), "{set}");
    assert!(set["deployment"]["note"].is_null(), "{set}");

    // The flight starts on 1 December: nothing is delivered before it.
    let run = sync(&c).await;
    assert_eq!(run["trigger"], "manual");
    assert!(ad_set_days(&c, &set_id).await.is_empty());

    // Four full days and half of the fifth later.
    clock.set(datetime!(2026-12-05 12:00:00 UTC));
    let tokens = sign_in(&app, &boss.email, PASSWORD).await;
    let c = Caller::new(&app, tokens.access_token);
    sync(&c).await;
    let days = ad_set_days(&c, &set_id).await;
    let names: Vec<&str> = days.iter().map(|d| d["day"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "2026-12-01",
            "2026-12-02",
            "2026-12-03",
            "2026-12-04",
            "2026-12-05"
        ]
    );
    let budget = 70_000_000_i64; // 70 % of $100 a day
    for d in &days[..4] {
        let spend = d["spend"]["micros"].as_i64().unwrap();
        assert!(spend > budget / 2 && spend <= budget, "{d}");
        assert!(d["impressions"].as_i64().unwrap() > 0, "{d}");
        assert_eq!(d["campaign_id"], id.as_str());
        assert_eq!(d["spend"]["currency"], "USD");
    }
    // Today so far: about half a day's spend.
    let today = days[4]["spend"]["micros"].as_i64().unwrap();
    let full = days[3]["spend"]["micros"].as_i64().unwrap();
    assert!(today < full, "{}", days[4]);

    // Syncing again changes nothing that was complete.
    let before = days.clone();
    sync(&c).await;
    let again = ad_set_days(&c, &set_id).await;
    assert_eq!(again[..4], before[..4]);

    // The customers the market acquired bought: their orders are LTV
    // transactions from Google.
    let conversions: f64 = days[..4]
        .iter()
        .map(|d| d["conversions"].as_f64().unwrap())
        .sum();
    let (status, runs) = get(&c, "/v1/platforms/sync-runs?limit=10").await;
    assert_eq!(status, 200, "{runs}");
    assert_eq!(runs.as_array().unwrap().len(), 3);
    assert!(runs[0]["rows_upserted"].as_i64().unwrap() > 0, "{runs}");

    // Pausing stops delivery: the paused days stay empty.
    let (status, _) = act(&c, &id, "pause").await;
    assert_eq!(status, 200);
    until(&c, &id, |v| {
        google_set(v)["deployment"]["status"] == "paused"
    })
    .await;
    clock.set(datetime!(2026-12-08 12:00:00 UTC));
    let tokens = sign_in(&app, &boss.email, PASSWORD).await;
    let c = Caller::new(&app, tokens.access_token);
    sync(&c).await;
    let days = ad_set_days(&c, &set_id).await;
    let last = days.last().unwrap()["day"].as_str().unwrap().to_owned();
    assert!(last.as_str() <= "2026-12-05", "{last}");

    // Every customer acquired in the four full days placed a first order,
    // stored as an LTV transaction (repeat orders come on top).
    let r = c.delete("/v1/ltv/transactions").await;
    let (status, deleted) = kiki_test_support::identity::json(r).await;
    assert_eq!(status, 200, "{deleted}");
    let stored = deleted["transactions_deleted"].as_f64().unwrap();
    assert!(conversions > 0.0, "{days:?}");
    assert!(stored >= conversions, "{stored} < {conversions}");
}
