//! The kill switch: pause every live campaign, report per channel, resume
//! exactly those on release.

use kiki_test_support::identity::{admin, client_org};
use serde_json::json;

use crate::*;

#[tokio::test]
async fn the_kill_switch_pauses_every_live_campaign_and_its_release_restores_exactly_those() {
    let (app, _clock) = spawn().await;
    let boss = admin(&app, "owner@kill.test", "Kill Org").await;
    let c = boss.caller(&app);
    let a = live(&c, "A").await;
    let b = live(&c, "B").await;
    // Paused before the switch: stays paused after the release.
    let already = live(&c, "Already paused").await;
    act(&c, &already, "pause").await;
    let draft = create(&c, &good_campaign("Draft")).await;

    let (status, k) = post(
        &c,
        "/v1/kill-switch",
        &json!({"reason": "Checkout is down."}),
    )
    .await;
    assert_eq!(status, 200, "{k}");
    let mut paused: Vec<&str> = k["paused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    paused.sort();
    let mut expect = vec![a.as_str(), b.as_str()];
    expect.sort();
    assert_eq!(paused, expect);
    let channels: Vec<(&str, u64)> = k["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ch| {
            (
                ch["channel"].as_str().unwrap(),
                ch["ad_sets"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(channels, [("google", 2), ("kiki", 2)]);
    for id in [&a, &b] {
        let (_, v) = get(&c, &format!("/v1/campaigns/{id}")).await;
        assert_eq!(v["status"], "paused");
        assert_eq!(v["kill_switch_id"], k["id"]);
    }
    // While engaged: no second switch, no resume, no launch.
    let (status, _) = post(&c, "/v1/kill-switch", &json!({"reason": "again"})).await;
    assert_eq!(status, 409);
    let (status, e) = act(&c, &already, "resume").await;
    assert_eq!(status, 409, "{e}");
    let (_, state) = get(&c, "/v1/kill-switch").await;
    assert_eq!(state["engaged"], true);

    // The pauses are rule moves with decision records.
    let (_, d) = get(
        &c,
        &format!("/v1/decisions?kind=campaign_pause&subject_id={a}"),
    )
    .await;
    assert_eq!(d["items"].as_array().map(Vec::len), Some(1), "{d}");

    let (status, r) = post(&c, "/v1/kill-switch/release", &json!({"reason": "Fixed."})).await;
    assert_eq!(status, 200, "{r}");
    let mut resumed: Vec<&str> = r["resumed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    resumed.sort();
    assert_eq!(resumed, expect);
    for (id, status) in [
        (&a, "active"),
        (&b, "active"),
        (&already, "paused"),
        (&draft, "draft"),
    ] {
        let (_, v) = get(&c, &format!("/v1/campaigns/{id}")).await;
        assert_eq!(v["status"], status, "{id}");
        assert!(v.get("kill_switch_id").is_none(), "{v}");
    }
    let (status, _) = post(&c, "/v1/kill-switch/release", &json!({})).await;
    assert_eq!(status, 409);
    let (_, state) = get(&c, "/v1/kill-switch").await;
    assert_eq!(state["engaged"], false);
    assert!(state["current"]["released_at"].is_string());
}

#[tokio::test]
async fn an_agency_kill_switch_covers_its_clients() {
    let (app, _clock) = spawn().await;
    let boss = admin(&app, "owner@agency-kill.test", "Agency").await;
    let c = boss.caller(&app);
    let client = client_org(&c, "Client").await;
    let in_client = c.in_org(client);
    let theirs = live(&in_client, "Client campaign").await;
    let ours = live(&c, "Agency campaign").await;

    let (status, k) = post(
        &c,
        "/v1/kill-switch",
        &json!({"reason": "Pause everything.", "scope": "clients"}),
    )
    .await;
    assert_eq!(status, 200, "{k}");
    assert_eq!(k["paused"].as_array().map(Vec::len), Some(2), "{k}");
    let (_, v) = get(&in_client, &format!("/v1/campaigns/{theirs}")).await;
    assert_eq!(v["status"], "paused");
    let (status, r) = post(&c, "/v1/kill-switch/release", &json!({})).await;
    assert_eq!(status, 200, "{r}");
    let (_, v) = get(&in_client, &format!("/v1/campaigns/{theirs}")).await;
    assert_eq!(v["status"], "active");
    let (_, v) = get(&c, &format!("/v1/campaigns/{ours}")).await;
    assert_eq!(v["status"], "active");
}
