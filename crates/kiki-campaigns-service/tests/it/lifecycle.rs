//! Campaigns: validation, the draft, the status machine with every move
//! stored, the launch gate through the twin, tenancy.

use kiki_test_support::identity::{admin, error_fields};
use serde_json::json;

use crate::*;

#[tokio::test]
async fn a_goal_becomes_a_live_campaign_through_the_gate_and_an_approval() {
    let (app, _clock) = spawn().await;
    let boss = admin(&app, "owner@camp.test", "Camp Org").await;
    let c = boss.caller(&app);

    let (status, v) = post(&c, "/v1/campaigns", &good_campaign("Spring")).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["status"], "draft");
    assert_eq!(v["allowed_actions"], json!(["submit", "archive", "hold"]));
    assert_eq!(v["ad_sets"][0]["daily_budget"]["micros"], 70_000_000);
    assert_eq!(v["ad_sets"][1]["daily_budget"]["micros"], 30_000_000);
    assert_eq!(v["ad_sets"][1]["channel"], "kiki");
    let id = v["id"].as_str().unwrap().to_owned();

    // Launching a draft is illegal: 409 listing what is allowed.
    let (status, e) = act(&c, &id, "launch").await;
    assert_eq!(status, 409, "{e}");
    assert_eq!(
        e["error"]["details"]["allowed"],
        json!(["submit", "archive", "hold"])
    );

    // Submission runs the twin on the campaign's plan and asks for approval.
    let (status, v) = act(&c, &id, "submit").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["status"], "pending_approval");
    assert_eq!(v["gate"]["approved"], true, "{v}");
    let sim = v["gate"]["simulation_id"].as_str().unwrap().to_owned();
    let (status, s) = get(&c, &format!("/v1/simulations/{sim}")).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["plan"]["duration_days"], 30);
    assert_eq!(s["plan"]["allocations"][1]["platform"], "kiki");
    assert_eq!(
        s["plan"]["allocations"][0]["ad_set_id"],
        v["ad_sets"][0]["id"]
    );

    // Editing is for drafts only.
    let (status, e) = put(&c, &format!("/v1/campaigns/{id}"), &good_campaign("Other")).await;
    assert_eq!(status, 409, "{e}");

    let approval = pending_approval(&c, &id).await;
    let (status, a) = post(
        &c,
        &format!("/v1/approvals/{approval}/decision"),
        &json!({"decision": "approve", "comment": "Agreed."}),
    )
    .await;
    assert_eq!(status, 200, "{a}");
    assert_eq!(a["status"], "approved");
    assert_eq!(a["campaign_name"], "Spring");
    assert_eq!(a["gate"]["approved"], true);

    for (action, expect) in [
        ("launch", "active"),
        ("pause", "paused"),
        ("resume", "active"),
        ("complete", "completed"),
        ("archive", "archived"),
    ] {
        let (status, v) = act(&c, &id, action).await;
        assert_eq!(status, 200, "{action}: {v}");
        assert_eq!(v["status"], expect);
    }
    let (status, e) = act(&c, &id, "resume").await;
    assert_eq!(status, 409);
    assert_eq!(e["error"]["details"]["allowed"], json!([]));

    // Every move is stored with who and why.
    let (status, t) = get(&c, &format!("/v1/campaigns/{id}/transitions")).await;
    assert_eq!(status, 200, "{t}");
    let moves: Vec<(String, String)> = t
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["action"].as_str().unwrap().to_owned(),
                m["to"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        moves,
        [
            ("submit", "pending_approval"),
            ("approve", "approved"),
            ("launch", "active"),
            ("pause", "paused"),
            ("resume", "active"),
            ("complete", "completed"),
            ("archive", "archived"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    assert_eq!(t[3]["reason"], "test: pause");
    assert!(t[0]["actor"].as_str().unwrap().starts_with("user:"));

    // And audited.
    let (status, audit) = get(&c, "/v1/audit?action=campaigns.campaign.status_changed").await;
    assert_eq!(status, 200, "{audit}");
    assert_eq!(audit["items"].as_array().map(Vec::len), Some(7), "{audit}");
}

#[tokio::test]
async fn every_field_is_checked_and_named() {
    let (app, _clock) = spawn().await;
    let boss = admin(&app, "owner@fields.test", "Fields Org").await;
    let c = boss.caller(&app);
    let mut bad = good_campaign("x");
    bad["daily_budget"]["micros"] = json!(0);
    bad["schedule"]["end"] = json!("2026-11-30");
    bad["landing_url"] = json!("shop.example");
    bad["ad_sets"][0]["budget_share_bps"] = json!(5000);
    bad["ad_sets"][1]["targeting"] = json!({"countries": ["usa"], "age_min": 70});
    let (status, e) = post(&c, "/v1/campaigns", &bad).await;
    assert_eq!(status, 422, "{e}");
    let fields = error_fields(&e);
    for f in [
        "daily_budget",
        "schedule.end",
        "landing_url",
        "ad_sets",
        "ad_sets[1].targeting.countries[0]",
        "ad_sets[1].targeting.age_min",
    ] {
        assert!(
            fields.contains(&f.to_owned()),
            "{f} missing from {fields:?}"
        );
    }
    // A schedule in the past.
    let mut past = good_campaign("x");
    past["schedule"]["start"] = json!("2026-01-01");
    let (status, e) = post(&c, "/v1/campaigns", &past).await;
    assert_eq!(status, 422);
    assert!(
        error_fields(&e).contains(&"schedule.start".to_owned()),
        "{e}"
    );
    // An unknown field is a 422 naming it, never a 500.
    let mut extra = good_campaign("x");
    extra["budget"] = json!(5);
    let (status, _) = post(&c, "/v1/campaigns", &extra).await;
    assert!(status == 400 || status == 422, "{status}");

    // The organisation's daily cap.
    let (status, s) = put(
        &c,
        "/v1/campaign-settings",
        &json!({"approval_threshold": {"micros": 0, "currency": "USD"}, "max_daily_budget": {"amount": "50", "currency": "USD"}}),
    )
    .await;
    assert_eq!(status, 200, "{s}");
    let (status, e) = post(&c, "/v1/campaigns", &good_campaign("x")).await;
    assert_eq!(status, 422, "{e}");
    assert!(
        e["error"]["details"]["fields"][0]["message"]
            .as_str()
            .unwrap()
            .contains("$50.00"),
        "{e}"
    );
}

#[tokio::test]
async fn a_draft_can_be_rewritten_and_lists_filter_and_page() {
    let (app, _clock) = spawn().await;
    let boss = admin(&app, "owner@list.test", "List Org").await;
    let c = boss.caller(&app);
    let a = create(&c, &good_campaign("A")).await;
    let _b = create(&c, &good_campaign("B")).await;
    let mut changed = good_campaign("A2");
    changed["daily_budget"]["micros"] = json!(200_000_000);
    let (status, v) = put(&c, &format!("/v1/campaigns/{a}"), &changed).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["draft"]["name"], "A2");
    assert_eq!(v["version"], 2);
    assert_eq!(v["ad_sets"][0]["daily_budget"]["micros"], 140_000_000);

    act(&c, &a, "archive").await;
    let (_, page) = get(&c, "/v1/campaigns?limit=1").await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1));
    let cursor = page["next_cursor"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let (_, next) = get(&c, &format!("/v1/campaigns?limit=1&cursor={cursor}")).await;
    assert_eq!(next["items"].as_array().map(Vec::len), Some(1));
    assert_ne!(page["items"][0]["id"], next["items"][0]["id"]);
    let (_, archived) = get(&c, "/v1/campaigns?status=archived").await;
    assert_eq!(archived["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(archived["items"][0]["id"], a.as_str());
}

#[tokio::test]
async fn another_organisation_sees_nothing() {
    let (app, _clock) = spawn().await;
    let one = admin(&app, "one@tenancy.test", "One").await;
    let two = admin(&app, "two@tenancy.test", "Two").await;
    let c1 = one.caller(&app);
    let c2 = two.caller(&app);
    let id = create(&c1, &good_campaign("Mine")).await;
    let (status, _) = get(&c2, &format!("/v1/campaigns/{id}")).await;
    assert_eq!(status, 404);
    let (status, _) = act(&c2, &id, "submit").await;
    assert_eq!(status, 404);
    let (_, list) = get(&c2, "/v1/campaigns").await;
    assert_eq!(list["items"], json!([]));
}
