//! The line-item and segment API: CRUD, validation, tenancy, permissions.

use kiki_test_support::identity::{error_fields, json, member};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn line_items_are_created_listed_read_replaced_and_archived() {
    let app = app().await;
    let o = owner(&app).await;
    let c = o.caller(&app);
    let id = create(&c, &banner("spring")).await;
    let got = c.get_ok(&format!("/v1/bidder/line-items/{id}")).await;
    assert_eq!(got["name"], "spring");
    assert_eq!(got["status"], "active");
    assert_eq!(got["org_id"], o.org_id.to_string());
    let list = c.get_ok("/v1/bidder/line-items").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    let mut paused = banner("spring, paused");
    paused.active = false;
    let (status, body) = json(
        c.send(
            reqwest::Method::PUT,
            &format!("/v1/bidder/line-items/{id}"),
            Some(&body_of(&paused)),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "paused");
    assert_eq!(body["id"], id.to_string());

    assert_eq!(
        c.delete(&format!("/v1/bidder/line-items/{id}"))
            .await
            .status(),
        204
    );
    assert_eq!(
        c.delete(&format!("/v1/bidder/line-items/{id}"))
            .await
            .status(),
        404
    );
    let list = c.get_ok("/v1/bidder/line-items").await;
    assert!(list["items"].as_array().unwrap().is_empty());
    let archived = c.get_ok("/v1/bidder/line-items?status=archived").await;
    assert_eq!(archived["items"].as_array().unwrap().len(), 1);
    let audit = c.get_ok("/v1/audit?action=bidder.*").await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for a in [
        "bidder.line_item.created",
        "bidder.line_item.updated",
        "bidder.line_item.archived",
    ] {
        assert!(actions.contains(&a), "{a} not in {actions:?}");
    }
}

#[tokio::test]
async fn invalid_line_items_get_422_naming_each_field() {
    let app = app().await;
    let o = owner(&app).await;
    let c = o.caller(&app);
    let mut bad = banner("bad");
    bad.budget.daily = usd(0.0);
    bad.margin.bid_share = 1.5;
    let (status, body) = json(c.post("/v1/bidder/line-items", &body_of(&bad)).await).await;
    assert_eq!(status, 422, "{body}");
    let fields = error_fields(&body);
    assert!(fields.contains(&"budget.daily".to_owned()), "{fields:?}");
    // A field of the wrong type names its path.
    let mut v = body_of(&banner("typo"));
    v["budget"]["daily"]["micros"] = json!("a lot");
    let (status, body) = json(c.post("/v1/bidder/line-items", &v).await).await;
    assert_eq!(status, 422, "{body}");
    assert!(error_fields(&body)[0].starts_with("budget.daily"), "{body}");
    // A currency the FX table lacks is refused when compiling.
    let mut v = body_of(&banner("yen"));
    v["budget"]["daily"]["currency"] = json!("JPY");
    let (status, body) = json(c.post("/v1/bidder/line-items", &v).await).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), vec!["budget.daily".to_owned()]);
    let (status, _) = json(c.post("/v1/bidder/line-items", &json!([1, 2])).await).await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn other_organisations_line_items_are_404_and_viewers_cannot_write() {
    let app = app().await;
    let a = owner(&app).await;
    let b = owner(&app).await;
    let id = create(&a.caller(&app), &banner("mine")).await;
    let other = b.caller(&app);
    for path in [
        format!("/v1/bidder/line-items/{id}"),
        format!("/v1/bidder/line-items/{id}/status"),
        format!("/v1/bidder/line-items/{id}/stats"),
    ] {
        assert_eq!(other.get(&path).await.status(), 404, "{path}");
    }
    assert_eq!(
        other
            .delete(&format!("/v1/bidder/line-items/{id}"))
            .await
            .status(),
        404
    );
    let put = other
        .send(
            reqwest::Method::PUT,
            &format!("/v1/bidder/line-items/{id}"),
            Some(&body_of(&banner("stolen"))),
        )
        .await;
    assert_eq!(put.status(), 404);
    assert!(
        other.get_ok("/v1/bidder/line-items").await["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let viewer = member(&app, &a.caller(&app), "viewer", "viewer@shop.example").await;
    let v = viewer.caller(&app);
    assert_eq!(
        v.get(&format!("/v1/bidder/line-items/{id}")).await.status(),
        200
    );
    let (status, body) = json(
        v.post("/v1/bidder/line-items", &body_of(&banner("nope")))
            .await,
    )
    .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(
        v.delete(&format!("/v1/bidder/line-items/{id}"))
            .await
            .status(),
        403
    );
}

#[tokio::test]
async fn segment_ltvs_reach_the_bid_path() {
    let app = app().await;
    let o = owner(&app).await;
    let c = o.caller(&app);
    create_live(&c, &banner("valued")).await;
    let price = |body: &serde_json::Value| body["seatbid"][0]["bid"][0]["price"].as_f64().unwrap();
    // The fixture's user is unknown: the bid uses the 120.00 baseline.
    let (status, before) = json(bid(&app, fixture("banner_site_2_6.json")).await).await;
    assert_eq!(status, 200, "{before}");
    let request: serde_json::Value =
        serde_json::from_slice(&fixture("banner_site_2_6.json")).unwrap();
    let user = request["user"]["buyeruid"]
        .as_str()
        .or(request["user"]["id"].as_str())
        .expect("the fixture has a user")
        .to_owned();
    let seg = json!({
        "segments": [{ "segment": "whales", "ltv": { "micros": 60_000_000, "currency": "USD" } }],
        "members": [{ "user": user, "segment": "whales" }],
    });
    let (status, body) = json(
        c.send(reqwest::Method::PUT, "/v1/bidder/segments", Some(&seg))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let after = eventually(|| async {
        let (_, b) = json(bid(&app, fixture("banner_site_2_6.json")).await).await;
        (b.is_object() && price(&b) < price(&before)).then_some(b)
    })
    .await;
    assert!(price(&after) < price(&before));
    let bad =
        json!({ "segments": [{ "segment": "", "ltv": { "micros": -1, "currency": "EUR" } }] });
    let (status, body) = json(
        c.send(reqwest::Method::PUT, "/v1/bidder/segments", Some(&bad))
            .await,
    )
    .await;
    assert_eq!(status, 422);
    let fields = error_fields(&body);
    for f in [
        "segments[0].segment",
        "segments[0].ltv",
        "segments[0].ltv.currency",
    ] {
        assert!(fields.contains(&f.to_owned()), "{f} not in {fields:?}");
    }
    // A user listed twice (in one segment or two) is refused naming the
    // second entry (PostgreSQL would refuse the upsert itself), and the
    // stored segments stay as they were.
    let twice = json!({
        "segments": [
            { "segment": "whales", "ltv": { "micros": 60_000_000, "currency": "USD" } },
            { "segment": "minnows", "ltv": { "micros": 1_000_000, "currency": "USD" } },
        ],
        "members": [
            { "user": "buyer-1", "segment": "whales" },
            { "user": "buyer-1", "segment": "minnows" },
        ],
    });
    let (status, body) = json(
        c.send(reqwest::Method::PUT, "/v1/bidder/segments", Some(&twice))
            .await,
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), vec!["members[1].user".to_owned()]);
    let (_, kept) = json(
        c.send(reqwest::Method::GET, "/v1/bidder/segments", None)
            .await,
    )
    .await;
    assert_eq!(kept["segments"].as_array().map(Vec::len), Some(1), "{kept}");
}

#[tokio::test]
async fn the_service_pauses_resumes_and_archives_for_a_caller_outside_http() {
    use kiki_bidder::LineItemId;
    use kiki_bidder_service::{ChangedBy, LineItemError};
    let (app, _clock, svc) = app_with_handles(json!({})).await;
    let o = owner(&app).await;
    let c = o.caller(&app);
    let id = LineItemId(create(&c, &banner("spring")).await);
    let scope = kiki_core::TenantScope::single(kiki_core::OrgId(o.org_id));
    let actor = kiki_shield::Actor::System("campaigns".into());
    let by = ChangedBy {
        scope: &scope,
        actor: &actor,
        meta: None,
    };
    let rec = svc.set_line_item_active(by, id, false).await.unwrap();
    assert_eq!(rec.status, "paused");
    let rec = svc.set_line_item_active(by, id, true).await.unwrap();
    assert_eq!(rec.status, "active");
    // Another organisation's scope does not reach it.
    let elsewhere = kiki_core::TenantScope::single(kiki_core::OrgId::new());
    let stranger = ChangedBy {
        scope: &elsewhere,
        ..by
    };
    assert!(matches!(
        svc.set_line_item_active(stranger, id, false).await,
        Err(LineItemError::NotFound)
    ));
    svc.archive_line_item(by, id).await.unwrap();
    assert!(matches!(
        svc.set_line_item_active(by, id, true).await,
        Err(LineItemError::NotFound)
    ));
    let audit = c.get_ok("/v1/audit?action=bidder.*").await;
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for a in [
        "bidder.line_item.paused",
        "bidder.line_item.resumed",
        "bidder.line_item.archived",
    ] {
        assert!(actions.contains(&a), "{a} not in {actions:?}");
    }
}

/// Segment names and user keys are limited in characters, as the API
/// document's `maxLength` counts them (200 and 256), not in UTF-8 bytes; an
/// integral number is an integer (`device_types: [2.0]`).
#[tokio::test]
async fn lengths_count_characters_and_integral_numbers_are_integers() {
    let app = app().await;
    let o = owner(&app).await;
    let c = o.caller(&app);
    let name = "é".repeat(200);
    let user = "ü".repeat(256);
    let seg = json!({
        "segments": [{ "segment": name, "ltv": { "micros": 1_000_000, "currency": "USD" } }],
        "members": [{ "user": user, "segment": name }],
    });
    let (status, body) = json(
        c.send(reqwest::Method::PUT, "/v1/bidder/segments", Some(&seg))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let seg = json!({
        "segments": [{ "segment": "é".repeat(201), "ltv": { "micros": 1_000_000, "currency": "USD" } }],
    });
    let (status, body) = json(
        c.send(reqwest::Method::PUT, "/v1/bidder/segments", Some(&seg))
            .await,
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["segments[0].segment"]);

    let mut item = body_of(&base_item(
        "floats",
        kiki_bidder::lineitem::CreativeFormat::Native,
    ));
    item["targeting"]["device_types"] = json!([2.0]);
    item["frequency_cap"] = json!({"max_impressions": 3.0, "window_secs": 3_000_000_000u64});
    let (status, body) = json(c.post("/v1/bidder/line-items", &item).await).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["targeting"]["device_types"], json!([2]));
}
