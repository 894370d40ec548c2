//! Campaigns on their channels: KIKI programmatic ad sets as bidder line
//! items that follow the campaign (launch, pause, kill switch, budget,
//! completion), a launch the bidder refuses, the twin's platform budgets fed
//! from live campaigns, and the rebalancer's shifts applied to ad sets.

use std::sync::Arc;

use kiki_bidder_service::BidderModule;
use kiki_campaigns_service::CampaignsModule;
use kiki_core::TestClock;
use kiki_store::{EnqueueOptions, JobStatus};
use kiki_test_support::TestApp;
use kiki_test_support::identity::{Caller, admin, identity_app};
use kiki_twin_service::TwinModule;
use serde_json::{Value, json};

use crate::*;

/// The app with the bidder wired: programmatic ad sets become line items.
async fn spawn_with_bidder() -> TestApp {
    identity_app()
        .clock(Arc::new(TestClock::at(NOW)))
        .configure(|c| {
            c.set_section("twin", json!({"min_confidence": 0.5}));
            c.set_section(
                "bidder",
                json!({
                    "notice_base_url": "https://bid.kiki.example",
                    "exchanges": [{"name": "test-exchange", "key": "k-test-exchange-0123456789abcdef"}],
                }),
            );
        })
        .module(Arc::new(TwinModule::new()))
        .module(Arc::new(BidderModule::new()))
        .module(Arc::new(CampaignsModule::new().with_bidder_module()))
        .spawn()
        .await
}

/// Reads the campaign until `done` holds (the channel sync runs as a job);
/// the bound is a hang guard, not a timing assertion.
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

fn kiki_set(v: &Value) -> &Value {
    v["ad_sets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["channel"] == "kiki")
        .expect("a KIKI ad set")
}

fn deployment(v: &Value) -> &str {
    kiki_set(v)["deployment"]["status"]
        .as_str()
        .unwrap_or_default()
}

async fn line_item(c: &Caller<'_>, id: &str) -> Value {
    let (status, li) = get(c, &format!("/v1/bidder/line-items/{id}")).await;
    assert_eq!(status, 200, "{li}");
    li
}

/// A clean creative for the campaign (the policy review approves it).
async fn approved_creative(c: &Caller<'_>, campaign: &str) {
    let (status, cr) = post(
        c,
        "/v1/creatives",
        &json!({"campaign_id": campaign, "channel": "kiki", "copy": {
            "headlines": ["Spring care by Lumière"],
            "descriptions": ["Light daily serum."]
        }}),
    )
    .await;
    assert_eq!(status, 201, "{cr}");
    assert_eq!(cr["verdict"], "approved", "{cr}");
}

/// Creates, submits, approves and launches `body`; its id.
async fn launch(c: &Caller<'_>, body: &Value, creative: bool) -> String {
    let id = create(c, body).await;
    if creative {
        approved_creative(c, &id).await;
    }
    let (status, v) = act(c, &id, "submit").await;
    assert_eq!(status, 200, "{v}");
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
    id
}

#[tokio::test]
async fn a_programmatic_ad_set_runs_as_a_line_item_that_follows_its_campaign() {
    let app = spawn_with_bidder().await;
    let boss = admin(&app, "owner@channels.test", "Channels Org").await;
    let c = boss.caller(&app);
    let id = launch(&c, &good_campaign("Programmatic"), true).await;

    let v = until(&c, &id, |v| deployment(v) == "live").await;
    assert_eq!(v["brand_safety"]["status"], "approved", "{v}");
    assert_eq!(v["brand_safety"]["approved"], 1);
    // No fitted model: the industry prior for `general` (100 USD), said so.
    assert_eq!(v["ltv_baseline"]["value"]["micros"], 100_000_000, "{v}");
    assert!(
        v["ltv_baseline"]["source"]
            .as_str()
            .unwrap()
            .contains("industry prior"),
        "{v}"
    );
    let set = kiki_set(&v);
    let li_id = set["line_item_id"]
        .as_str()
        .expect("a line item")
        .to_owned();
    assert_eq!(set["deployment"]["external_id"], li_id.as_str());
    // The Google ad set waits for its platform to be connected.
    let google = &v["ad_sets"][0];
    assert_eq!(google["deployment"]["status"], "not_connected", "{google}");
    assert!(
        google["deployment"]["note"]
            .as_str()
            .unwrap()
            .contains("not connected")
    );

    let li = line_item(&c, &li_id).await;
    assert_eq!(li["status"], "active", "{li}");
    assert_eq!(li["campaign_id"], id.as_str());
    // 30 % of $100 a day; Paris time: 1 December starts 23:00 UTC the day before.
    assert_eq!(li["budget"]["daily"]["micros"], 30_000_000);
    assert_eq!(li["flight"]["start"], "2026-11-30T23:00:00Z");
    assert_eq!(li["flight"]["end"], "2026-12-30T23:00:00Z");
    assert_eq!(li["frequency_cap"]["max_impressions"], 3);
    let markup = li["creatives"][0]["markup"].as_str().unwrap();
    assert!(markup.contains("Spring care by Lumière"), "{markup}");
    assert!(markup.contains("${KIKI_CLICK_URL}https%3A%2F%2Fshop.example%2Fspring"));
    assert_eq!(li["creatives"][0]["adomain"][0], "shop.example");

    // Pausing the campaign pauses the line item; resuming resumes it.
    let (status, _) = act(&c, &id, "pause").await;
    assert_eq!(status, 200);
    until(&c, &id, |v| deployment(v) == "paused").await;
    assert_eq!(line_item(&c, &li_id).await["status"], "paused");
    act(&c, &id, "resume").await;
    until(&c, &id, |v| deployment(v) == "live").await;
    assert_eq!(line_item(&c, &li_id).await["status"], "active");

    // A budget change (below the approval threshold) reaches the line item.
    let (status, b) = post(
        &c,
        &format!("/v1/campaigns/{id}/budget"),
        &json!({"daily_budget": {"micros": 150_000_000, "currency": "USD"}, "reason": "More stock"}),
    )
    .await;
    assert!(status == 200, "{b}");
    for _ in 0..1200 {
        if line_item(&c, &li_id).await["budget"]["daily"]["micros"] == 45_000_000 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        line_item(&c, &li_id).await["budget"]["daily"]["micros"],
        45_000_000
    );

    // The kill switch pauses it on the bidder; its release restores it.
    let (status, k) = post(&c, "/v1/kill-switch", &json!({"reason": "Checkout down"})).await;
    assert_eq!(status, 200, "{k}");
    until(&c, &id, |v| deployment(v) == "paused").await;
    assert_eq!(line_item(&c, &li_id).await["status"], "paused");
    let (status, _) = post(&c, "/v1/kill-switch/release", &json!({})).await;
    assert_eq!(status, 200);
    until(&c, &id, |v| deployment(v) == "live").await;
    assert_eq!(line_item(&c, &li_id).await["status"], "active");

    // Completing the campaign archives the line item.
    let (status, v) = act(&c, &id, "complete").await;
    assert_eq!(status, 200, "{v}");
    until(&c, &id, |v| deployment(v) == "archived").await;
    assert_eq!(line_item(&c, &li_id).await["status"], "archived");
    // Line-item changes are audited as the campaigns' system actor.
    let (_, a) = get(&c, "/v1/audit?action=bidder.line_item.created").await;
    assert_eq!(a["items"].as_array().map(Vec::len), Some(1), "{a}");
}

#[tokio::test]
async fn a_launch_the_bidder_cannot_run_fails_with_the_reason_and_retries_after_the_fix() {
    let app = spawn_with_bidder().await;
    let boss = admin(&app, "owner@refused.test", "Refused Org").await;
    let c = boss.caller(&app);
    // No approved creative: nothing to show on the exchange.
    let id = launch(&c, &good_campaign("No creative"), false).await;
    let v = until(&c, &id, |v| v["status"] == "failed").await;
    assert_eq!(v["brand_safety"]["status"], "no_creatives", "{v}");
    let set = kiki_set(&v);
    assert_eq!(set["deployment"]["status"], "failed", "{set}");
    assert!(
        set["deployment"]["last_error"]
            .as_str()
            .unwrap()
            .contains("at least one creative"),
        "{set}"
    );
    let (_, d) = get(&c, "/v1/decisions?kind=campaign_fail").await;
    assert_eq!(d["items"].as_array().map(Vec::len), Some(1), "{d}");

    approved_creative(&c, &id).await;
    let (status, v) = act(&c, &id, "retry").await;
    assert_eq!(status, 200, "{v}");
    let v = until(&c, &id, |v| deployment(v) == "live").await;
    assert_eq!(v["status"], "active");
    assert!(
        kiki_set(&v)["deployment"].get("last_error").is_none(),
        "{v}"
    );
}

/// Waits until the twin's budgets are `want` (they are fed at the end of the
/// channel sync); the bound is a hang guard.
async fn until_budgets(c: &Caller<'_>, want: &[(&str, i64)]) {
    let want: Vec<(String, i64)> = want.iter().map(|(p, m)| ((*p).to_owned(), *m)).collect();
    for _ in 0..1200 {
        if twin_budgets(c).await == want {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(twin_budgets(c).await, want);
}

async fn twin_budgets(c: &Caller<'_>) -> Vec<(String, i64)> {
    let (_, b) = get(c, "/v1/twin/budgets").await;
    let mut out: Vec<(String, i64)> = b["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["platform"].as_str().unwrap().to_owned(),
                p["daily_budget"]["micros"].as_i64().unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn the_twin_budgets_come_from_live_campaigns_and_the_rebalancer_moves_ad_set_budgets() {
    let app = spawn_with_bidder().await;
    let boss = admin(&app, "owner@shift.test", "Shift Org").await;
    let c = boss.caller(&app);
    let id = launch(&c, &good_campaign("Shifted"), true).await;
    until(&c, &id, |v| deployment(v) == "live").await;
    until_budgets(&c, &[("google", 70_000_000), ("kiki", 30_000_000)]).await;
    // The fed budget is changed on the campaign, not beside it.
    let (status, e) = put(
        &c,
        "/v1/twin/budgets",
        &json!({"currency": "USD", "platforms": [
            {"platform": "google", "daily_budget": {"micros": 90_000_000, "currency": "USD"}},
            {"platform": "kiki", "daily_budget": {"micros": 30_000_000, "currency": "USD"}}
        ]}),
    )
    .await;
    assert_eq!(status, 409, "{e}");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("google"),
        "{e}"
    );

    // A week where KIKI programmatic costs three times Google per customer.
    let mut rows = Vec::new();
    for d in 0..7 {
        let day = (NOW.date() - time::Duration::days(7 - d)).to_string();
        for (platform, conversions) in [("google", 15.0), ("kiki", 5.0)] {
            rows.push(json!({
                "platform": platform, "day": day, "currency": "USD",
                "spend": {"micros": 300_000_000i64, "currency": "USD"}, "impressions": 30_000, "clicks": 400,
                "conversions": conversions, "revenue": {"micros": 0, "currency": "USD"}
            }));
        }
    }
    let (status, body) = post(&c, "/v1/twin/performance", &json!({"rows": rows})).await;
    assert_eq!(status, 200, "{body}");
    let job = app
        .state
        .jobs
        .enqueue(
            None,
            "twin.rebalance",
            json!({"scheduled_for": "2026-11-24T10:05:00Z"}),
            EnqueueOptions::default(),
        )
        .await
        .unwrap();
    let done = app.wait_for_job(job).await;
    assert_eq!(done.status, JobStatus::Succeeded, "{done:?}");
    let (_, shifts) = get(&c, "/v1/rebalancing?status=applied").await;
    let shift = &shifts["items"][0];
    assert_eq!(
        (shift["from"].as_str(), shift["to"].as_str()),
        (Some("kiki"), Some("google")),
        "{shifts}"
    );
    let moved = shift["amount"]["micros"].as_i64().unwrap();
    assert!(moved > 0);

    let job = app
        .state
        .jobs
        .enqueue(
            None,
            "campaigns.apply_shifts",
            json!({}),
            EnqueueOptions::default(),
        )
        .await
        .unwrap();
    let done = app.wait_for_job(job).await;
    assert_eq!(done.status, JobStatus::Succeeded, "{done:?}");
    assert_eq!(
        done.result.as_ref().unwrap()[0]["applied_micros"],
        moved,
        "{done:?}"
    );
    let v = until(&c, &id, |v| {
        v["ad_sets"][1]["daily_budget"]["micros"] == 30_000_000 - moved
    })
    .await;
    assert_eq!(v["draft"]["daily_budget"]["micros"], 100_000_000, "{v}");
    let google = v["ad_sets"][0]["daily_budget"]["micros"].as_i64().unwrap();
    assert_eq!(google, 70_000_000 + moved);
    let shares: Vec<i64> = v["ad_sets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["budget_share_bps"].as_i64().unwrap())
        .collect();
    assert_eq!(shares.iter().sum::<i64>(), 10_000);
    assert_eq!(v["draft"]["ad_sets"][1]["budget_share_bps"], shares[1]);
    // The line item and the twin follow.
    let li = kiki_set(&v)["line_item_id"].as_str().unwrap().to_owned();
    for _ in 0..1200 {
        if line_item(&c, &li).await["budget"]["daily"]["micros"] == 30_000_000 - moved {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        line_item(&c, &li).await["budget"]["daily"]["micros"],
        30_000_000 - moved
    );
    until_budgets(
        &c,
        &[("google", 70_000_000 + moved), ("kiki", 30_000_000 - moved)],
    )
    .await;
    let (_, d) = get(&c, "/v1/decisions?kind=budget_shift_applied").await;
    assert_eq!(d["items"].as_array().map(Vec::len), Some(1), "{d}");
    // Applying again changes nothing.
    let job = app
        .state
        .jobs
        .enqueue(
            None,
            "campaigns.apply_shifts",
            json!({}),
            EnqueueOptions::default(),
        )
        .await
        .unwrap();
    let done = app.wait_for_job(job).await;
    assert_eq!(done.result, Some(json!([])), "{done:?}");
}

#[tokio::test]
async fn the_allocators_mix_becomes_the_ad_sets_shares() {
    let app = spawn_with_bidder().await;
    let boss = admin(&app, "owner@mix.test", "Mix Org").await;
    let c = boss.caller(&app);
    // Four weeks where Google brings three times the customers per dollar.
    let mut rows = Vec::new();
    for d in 0..28 {
        let day = (NOW.date() - time::Duration::days(28 - d)).to_string();
        for (platform, spend, conversions) in [("google", 50 + d, 6.0), ("kiki", 40 + d, 1.5)] {
            rows.push(json!({
                "platform": platform, "day": day, "currency": "USD",
                "spend": {"micros": spend * 1_000_000i64, "currency": "USD"}, "impressions": 20_000, "clicks": 300,
                "conversions": conversions + (d as f64) * 0.05, "revenue": {"micros": 0, "currency": "USD"}
            }));
        }
    }
    let (status, body) = post(&c, "/v1/twin/performance", &json!({"rows": rows})).await;
    assert_eq!(status, 200, "{body}");
    let mut body = good_campaign("Mixed");
    body["ad_sets"][0]["budget_share_bps"] = json!(5000);
    body["ad_sets"][1]["budget_share_bps"] = json!(5000);
    let id = create(&c, &body).await;
    let (status, v) = post(
        &c,
        &format!("/v1/campaigns/{id}/mix"),
        &json!({"reason": "Use last month's results"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let google = v["ad_sets"][0]["budget_share_bps"].as_i64().unwrap();
    let kiki = v["ad_sets"][1]["budget_share_bps"].as_i64().unwrap();
    assert_eq!(google + kiki, 10_000);
    assert!(google > 5_000, "Google is the better buy: {v}");
    assert_eq!(v["draft"]["ad_sets"][0]["budget_share_bps"], google);
    assert_eq!(v["draft"]["daily_budget"]["micros"], 100_000_000);
    let (_, d) = get(&c, "/v1/decisions?kind=campaign_mix").await;
    let items = d["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{d}");
    assert!(
        items[0]["explanation"]
            .as_str()
            .unwrap()
            .contains("Search 50.0 %"),
        "{d}"
    );
    // A submitted campaign's mix waits until it is decided.
    act(&c, &id, "submit").await;
    let (status, e) = post(&c, &format!("/v1/campaigns/{id}/mix"), &json!({})).await;
    assert_eq!(status, 409, "{e}");
}
