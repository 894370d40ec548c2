//! Creatives: generated variants within the platform's limits, the policy
//! review with the organisation's rules, the safety hold and its release;
//! the read analytics labels creative variants with.

use kiki_test_support::identity::{admin, error_fields};
use serde_json::json;

use crate::*;

fn brief() -> serde_json::Value {
    json!({
        "brand": "Lumière",
        "product": "Vitamin C serum",
        "key_message": "Brighter skin in four weeks of daily use",
        "audience": "women 25-44 in the US",
        "tone": "premium",
        "industry": "ecommerce",
        "landing_url": "https://shop.example/serum",
        "visual_guidelines": ["soft morning light", "avoid clutter"]
    })
}

#[tokio::test]
async fn generated_variants_fit_the_platform_and_pass_the_review() {
    let (app, _clock) = spawn().await;
    let boss = admin(&app, "owner@create.test", "Create Org").await;
    let c = boss.caller(&app);
    let id = create(&c, &good_campaign("Serum")).await;
    let (status, v) = post(
        &c,
        "/v1/creatives/generate",
        &json!({"campaign_id": id, "brief": brief(), "channel": "google", "count": 4}),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let items = v.as_array().unwrap();
    assert_eq!(items.len(), 4);
    for (i, cr) in items.iter().enumerate() {
        assert_eq!(cr["variation"], i as u64 + 1);
        assert_eq!(cr["source"], "template");
        assert_eq!(cr["verdict"], "approved", "{cr}");
        assert_eq!(cr["review"]["limits"], json!([]));
        let heads = cr["copy"]["headlines"].as_array().unwrap();
        assert!((3..=15).contains(&heads.len()));
        assert!(
            heads
                .iter()
                .all(|h| h.as_str().unwrap().chars().count() <= 30)
        );
        assert!(cr["image"]["prompt"].is_string());
    }
    let (_, lib) = get(&c, &format!("/v1/creatives?campaign_id={id}")).await;
    assert_eq!(lib["items"].as_array().map(Vec::len), Some(4));
    let (status, e) = post(
        &c,
        "/v1/creatives/generate",
        &json!({"brief": brief(), "channel": "meta", "count": 50}),
    )
    .await;
    assert_eq!(status, 422, "{e}");
    assert_eq!(error_fields(&e), ["count"]);
}

#[tokio::test]
async fn a_rejected_creative_holds_its_campaign_until_it_is_fixed() {
    let (app, _clock) = spawn().await;
    let boss = admin(&app, "owner@hold.test", "Hold Org").await;
    let c = boss.caller(&app);
    let id = live(&c, "Held").await;
    let (status, cr) = post(
        &c,
        "/v1/creatives",
        &json!({"campaign_id": id, "channel": "meta", "copy": {
            "headlines": ["Lumière serum"],
            "descriptions": ["Daily care"],
            "primary_text": "Guaranteed results or your money back: cures acne!"
        }}),
    )
    .await;
    assert_eq!(status, 201, "{cr}");
    assert_eq!(cr["verdict"], "rejected", "{cr}");
    let rules: Vec<&str> = cr["review"]["policy"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"guarantee_claim"), "{rules:?}");
    let (_, v) = get(&c, &format!("/v1/campaigns/{id}")).await;
    assert_eq!(v["status"], "safety_hold");
    let (_, d) = get(
        &c,
        &format!("/v1/decisions?kind=campaign_hold&subject_id={id}"),
    )
    .await;
    assert_eq!(d["items"].as_array().map(Vec::len), Some(1), "{d}");

    // It cannot leave the hold while the creative is rejected.
    let (status, _) = act(&c, &id, "release").await;
    assert_eq!(status, 409);
    let cid = cr["id"].as_str().unwrap();
    let (status, fixed) = put(
        &c,
        &format!("/v1/creatives/{cid}"),
        &json!({"copy": {"headlines": ["Lumière serum"], "descriptions": ["Daily care"],
            "primary_text": "Meet the serum our customers reorder."}}),
    )
    .await;
    assert_eq!(status, 200, "{fixed}");
    assert_eq!(fixed["verdict"], "approved", "{fixed}");
    let (status, v) = act(&c, &id, "release").await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["status"], "draft");
}

#[tokio::test]
async fn the_organisations_own_rules_and_the_limits_are_applied() {
    let (app, _clock) = spawn().await;
    let boss = admin(&app, "owner@rules.test", "Rules Org").await;
    let c = boss.caller(&app);
    let (status, _) = put(
        &c,
        "/v1/campaign-settings",
        &json!({"approval_threshold": {"micros": 0, "currency": "USD"}, "policy": {"prohibited_words": ["cheap"], "brand_keywords": ["Lumière"]}}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, r) = post(
        &c,
        "/v1/creatives/review",
        &json!({"channel": "google", "copy": {"headlines": ["Cheap serum from Lumière", "Two", "Three"], "descriptions": ["A", "B"]}}),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["verdict"], "rejected", "{r}");
    assert!(
        r["policy"]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "prohibited_word" && f["text"] == "Cheap"),
        "{r}"
    );
    let long = "A headline that is far too long for search ads";
    let (_, r) = post(
        &c,
        "/v1/creatives/review",
        &json!({"channel": "google", "copy": {"headlines": [long, "Lumière", "Three"], "descriptions": ["A", "B"]}}),
    )
    .await;
    assert_eq!(r["verdict"], "rejected", "{r}");
    assert_eq!(r["limits"][0]["field"], "headlines[0]", "{r}");

    // Rating and removal.
    let (_, cr) = post(
        &c,
        "/v1/creatives",
        &json!({"channel": "meta", "copy": {"headlines": ["Lumière"], "primary_text": "Light daily care."}}),
    )
    .await;
    let cid = cr["id"].as_str().unwrap();
    let (status, rated) = post(
        &c,
        &format!("/v1/creatives/{cid}/rating"),
        &json!({"stars": 4}),
    )
    .await;
    assert_eq!(status, 200, "{rated}");
    assert_eq!(rated["rating"], 4);
    let (status, _) = post(
        &c,
        &format!("/v1/creatives/{cid}/rating"),
        &json!({"stars": 9}),
    )
    .await;
    assert_eq!(status, 422);
    let status = c
        .delete(&format!("/v1/creatives/{cid}"))
        .await
        .status()
        .as_u16();
    assert_eq!(status, 204);
    let (status, _) = get(&c, &format!("/v1/creatives/{cid}")).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn creatives_by_ids_reads_the_scopes_organisations_removed_ones_too() {
    let (app, _clock) = spawn().await;
    let a = admin(&app, "owner@labels-a.test", "Labels A").await;
    let b = admin(&app, "owner@labels-b.test", "Labels B").await;
    let mut ids = Vec::new();
    for (who, name) in [(&a, "A"), (&b, "B")] {
        let c = who.caller(&app);
        let id = create(&c, &good_campaign(name)).await;
        let (status, v) = post(
            &c,
            "/v1/creatives/generate",
            &json!({"campaign_id": id, "brief": brief(), "channel": "google", "count": 2}),
        )
        .await;
        assert_eq!(status, 201, "{v}");
        for cr in v.as_array().unwrap() {
            ids.push(uuid::Uuid::parse_str(cr["id"].as_str().unwrap()).unwrap());
        }
    }
    // A removes its second creative: its figures remain, so does its label.
    let removed = ids[1];
    let resp = a
        .caller(&app)
        .delete(&format!("/v1/creatives/{removed}"))
        .await;
    assert!(resp.status().is_success(), "{}", resp.status());

    let svc = app
        .state
        .services
        .get::<kiki_campaigns_service::CampaignsService>()
        .expect("the campaigns module is mounted");
    let scope = kiki_core::TenantScope::single(kiki_core::OrgId(a.org_id));
    let mut found = svc.creatives_by_ids(&scope, &ids).await.unwrap();
    found.sort_by_key(|v| v.variation);
    // A's two (the removed one too), never B's.
    let got: Vec<(uuid::Uuid, u32)> = found.iter().map(|v| (v.id, v.variation)).collect();
    assert_eq!(got, vec![(ids[0], 1), (removed, 2)]);
    assert!(found.iter().all(|v| v.org_id == a.org_id));
    assert!(!found[1].copy.headlines.is_empty());
    assert!(svc.creatives_by_ids(&scope, &[]).await.unwrap().is_empty());
}
