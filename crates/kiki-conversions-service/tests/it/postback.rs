//! The click id on the redirect, and the server's postback: API key,
//! signature, idempotency by order, and refused click ids.

use kiki_bidder::LineItemId;
use kiki_bidder::notice::BidId;
use kiki_test_support::identity::{Caller, code, error_fields, json};
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn a_click_redirect_carries_a_signed_click_id_and_keeps_the_landing_query_and_fragment() {
    let w = spawn().await;
    let o = owner(&w.app, "shop").await;
    let c = o.caller(&w.app);
    let li = live_line_item(&c, &tracked_banner("spring")).await;
    let path = bid_click_path(&w.app).await;
    let (status, location, counted) = follow(&w.app, &path).await;
    assert_eq!((status, counted.as_str()), (302, "counted"));
    let (before, fragment) = location.split_once('#').unwrap();
    assert_eq!(fragment, "reviews", "{location}");
    assert!(
        before.starts_with("https://www.shop.example/spring?utm_source=kiki&q=a%20b&kiki_click="),
        "{location}"
    );
    let id = click_param(&location).unwrap();
    // The id resolves to the organisation, the line item, its campaign and
    // the creative, at the click's time.
    let click = w.bidder.read_click(&id).await.unwrap().expect("a valid id");
    assert_eq!(click.org().0, o.org_id);
    assert_eq!(click.line_item(), LineItemId(li));
    assert_eq!(click.campaign(), campaign_of(&c, li).await);
    assert_eq!(click.creative(), "spring-cr");
    assert_eq!(click.clicked_at(), NOW);
    // A repeated click of the bid is not counted again but still carries an id.
    let (_, again, status) = follow(&w.app, &path).await;
    assert_eq!(status, "repeated");
    assert!(click_param(&again).is_some());
    // A click URL without the tracker's signature gets no click id.
    let unsigned = path.split("&t=").next().unwrap().to_owned()
        + "&url="
        + &url::form_urlencoded::byte_serialize(LANDING.as_bytes()).collect::<String>();
    let (status, location, tracker) = follow(&w.app, &unsigned).await;
    assert_eq!((status, tracker.as_str()), (302, "unsigned"), "{unsigned}");
    assert_eq!(location, LANDING);
    assert!(click_param(&location).is_none());
}

#[tokio::test]
async fn an_api_key_postback_is_counted_once_per_order_and_a_changed_repeat_is_a_conflict() {
    let w = spawn().await;
    let o = owner(&w.app, "shop").await;
    let c = o.caller(&w.app);
    let li = live_line_item(&c, &tracked_banner("spring")).await;
    let id = click(&w.app).await;
    let key = api_key(&c, &["campaign.write"]).await;
    let server = Caller::new(&w.app, key);

    let (status, first) = json(
        server
            .post("/v1/conversions", &conversion(&id, "A-1001", "49.99"))
            .await,
    )
    .await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(
        first["value"],
        json!({"micros": 49_990_000, "currency": "EUR"})
    );
    assert_eq!(first["line_item_id"], json!(li));
    assert_eq!(first["campaign_id"], json!(campaign_of(&c, li).await));
    assert_eq!(first["creative_id"], "spring-cr");
    assert_eq!(first["source"], "api");
    assert!(
        first["recorded_by"]
            .as_str()
            .unwrap()
            .starts_with("api_key:")
    );

    // The same order again, the value given in micros: the first answer, 200.
    let same = json!({"click_id": id, "order_id": " A-1001 ", "value": {"micros": 49_990_000, "currency": "EUR"}});
    let (status, again) = json(server.post("/v1/conversions", &same).await).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["id"], first["id"]);

    // Another value for the same order: 409 naming the order.
    let (status, conflict) = json(
        server
            .post("/v1/conversions", &conversion(&id, "A-1001", "59.99"))
            .await,
    )
    .await;
    assert_eq!(status, 409, "{conflict}");
    assert_eq!(conflict["error"]["details"]["field"], "order_id");
    assert_eq!(conflict["error"]["details"]["conversion_id"], first["id"]);

    // Counted once.
    let list = c.get_ok("/v1/conversions").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    // A key without `campaign.write` may not report.
    let reader = Caller::new(&w.app, api_key(&c, &["campaign.read"]).await);
    let (status, body) = json(
        reader
            .post("/v1/conversions", &conversion(&id, "A-1002", "1"))
            .await,
    )
    .await;
    assert_eq!((status, code(&body)), (403, "forbidden"));
}

#[tokio::test]
async fn a_signed_postback_is_recorded_and_a_wrong_or_stale_signature_is_refused() {
    let w = spawn().await;
    let o = owner(&w.app, "shop").await;
    let c = o.caller(&w.app);
    live_line_item(&c, &tracked_banner("spring")).await;
    let id = click(&w.app).await;
    let (status, created) = json(c.post_empty("/v1/conversions/secret").await).await;
    assert_eq!(status, 201, "{created}");
    let (key_id, secret) = (
        created["key_id"].as_str().unwrap().to_owned(),
        created["secret"].as_str().unwrap().to_owned(),
    );
    // Stored encrypted, never as sent.
    let stored = kiki_test_support::identity::sql_texts(
        &w.app,
        "SELECT secret FROM conversion_keys WHERE secret_id = $1",
        &[kiki_test_support::identity::SqlParam::Text(key_id.clone())],
    )
    .await;
    let stored = stored[0].clone().unwrap();
    assert!(
        stored.starts_with("v1:") && !stored.contains(&secret[5..]),
        "{stored}"
    );
    let settings = c.get_ok("/v1/conversions/settings").await;
    assert_eq!(settings["signing_secret"]["key_id"], json!(key_id));
    assert!(!settings.to_string().contains(&secret));

    let body = serde_json::to_vec(&conversion(&id, "B-1", "120")).unwrap();
    let t = NOW.unix_timestamp();
    let (status, recorded) =
        signed_post(&w.app, &signature(&key_id, &secret, t, &body), &body).await;
    assert_eq!(status, 201, "{recorded}");
    assert_eq!(recorded["source"], "signature");
    assert_eq!(
        recorded["recorded_by"],
        json!(format!("signature:{key_id}"))
    );

    let other = serde_json::to_vec(&conversion(&id, "B-2", "10")).unwrap();
    for (sig, why) in [
        (
            signature(&key_id, "csec_not-the-secret", t, &other),
            "another secret",
        ),
        (signature(&key_id, &secret, t, &body), "another body"),
        (
            signature("ckey_unknown", &secret, t, &other),
            "an unknown key",
        ),
        (signature(&key_id, &secret, t - 301, &other), "too old"),
        ("key=x".to_owned(), "malformed"),
    ] {
        let (status, refused) = signed_post(&w.app, &sig, &other).await;
        assert_eq!(status, 401, "{why}: {refused}");
    }
    // Neither a key nor a signature.
    let (status, _) = json(
        w.app
            .client
            .post(w.app.url("/v1/conversions"))
            .header("content-type", "application/json")
            .body(other.clone())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);

    // Rotation: the new secret signs at once; the old one for the grace period.
    let (_, rotated) = json(c.post_empty("/v1/conversions/secret").await).await;
    assert_eq!(rotated["previous_secret"]["key_id"], json!(key_id));
    let new_sig = signature(
        rotated["key_id"].as_str().unwrap(),
        rotated["secret"].as_str().unwrap(),
        t,
        &other,
    );
    assert_eq!(signed_post(&w.app, &new_sig, &other).await.0, 201);
    let third = serde_json::to_vec(&conversion(&id, "B-3", "10")).unwrap();
    assert_eq!(
        signed_post(&w.app, &signature(&key_id, &secret, t, &third), &third)
            .await
            .0,
        201,
        "the previous secret verifies during its grace period"
    );
    w.clock.advance(time::Duration::hours(25));
    let t = t + 25 * 3600;
    let fourth = serde_json::to_vec(&conversion(&id, "B-4", "10")).unwrap();
    assert_eq!(
        signed_post(&w.app, &signature(&key_id, &secret, t, &fourth), &fourth)
            .await
            .0,
        401,
        "and not after it"
    );
}

/// The 422 of a refused click id, without its request id.
async fn refusal(server: &Caller<'_>, body: &Value) -> Value {
    let (status, mut v) = json(server.post("/v1/conversions", body).await).await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(error_fields(&v), ["click_id"], "{v}");
    v["error"].as_object_mut().unwrap().remove("request_id");
    v
}

#[tokio::test]
async fn forged_and_other_organisations_click_ids_are_refused_alike() {
    let w = spawn().await;
    let a = owner(&w.app, "shop-a").await;
    let b = owner(&w.app, "shop-b").await;
    let bc = b.caller(&w.app);
    let b_li = live_line_item(&bc, &tracked_banner("b-banner")).await;
    // B's click, with every property of a real one.
    let b_click = w
        .bidder
        .issue_click_id(LineItemId(b_li), BidId(42), "b-banner-cr")
        .unwrap();
    let server_a = Caller::new(
        &w.app,
        api_key(&a.caller(&w.app), &["campaign.write"]).await,
    );

    let mut forged = b_click.clone().into_bytes();
    let at = forged.len() / 2;
    forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    let never_issued =
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    let foreign = refusal(&server_a, &conversion(&b_click, "X-1", "10")).await;
    let changed = refusal(&server_a, &conversion(&forged, "X-1", "10")).await;
    let unknown = refusal(&server_a, &conversion(never_issued, "X-1", "10")).await;
    assert_eq!(
        foreign, unknown,
        "another organisation's click reads as unknown"
    );
    assert_eq!(changed, unknown);

    // B's own postback of the same click is recorded.
    let server_b = Caller::new(&w.app, api_key(&bc, &["campaign.write"]).await);
    let (status, _) = json(
        server_b
            .post("/v1/conversions", &conversion(&b_click, "X-1", "10"))
            .await,
    )
    .await;
    assert_eq!(status, 201);
    // And A still sees no conversion.
    let list = a.caller(&w.app).get_ok("/v1/conversions").await;
    assert_eq!(list["items"], json!([]));
}

#[tokio::test]
async fn a_click_outside_the_window_or_after_the_order_is_refused() {
    let w = spawn().await;
    let o = owner(&w.app, "shop").await;
    let c = o.caller(&w.app);
    live_line_item(&c, &tracked_banner("spring")).await;
    let id = click(&w.app).await;
    let server = Caller::new(&w.app, api_key(&c, &["campaign.write"]).await);

    let mut early = conversion(&id, "C-1", "10");
    early["occurred_at"] = json!("2026-03-02T11:00:00Z");
    let (status, body) = json(server.post("/v1/conversions", &early).await).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["occurred_at"]);

    // Reported late, placed within the window: attributed.
    w.clock.advance(time::Duration::days(40));
    let mut late_report = conversion(&id, "C-2", "10");
    late_report["occurred_at"] = json!("2026-03-20T09:00:00Z");
    let (status, body) = json(server.post("/v1/conversions", &late_report).await).await;
    assert_eq!(status, 201, "{body}");
    // Placed 40 days after the click: outside the 30-day window.
    let (status, body) = json(
        server
            .post("/v1/conversions", &conversion(&id, "C-3", "10"))
            .await,
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(error_fields(&body), ["click_id"]);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("30 days"),
        "{body}"
    );
}

#[tokio::test]
async fn conversions_move_the_bidders_pcvr_input_and_the_delivery_report() {
    let w = spawn().await;
    let o = owner(&w.app, "shop").await;
    let c = o.caller(&w.app);
    let li = live_line_item(&c, &tracked_banner("spring")).await;
    let status_path = format!("/v1/bidder/line-items/{li}/status");
    let ids = [click(&w.app).await, click(&w.app).await];
    let before = c.get_ok(&status_path).await;
    assert_eq!(before["live"]["performance"]["clicks"], 2, "{before}");
    assert_eq!(before["live"]["performance"]["conversions"], 0);
    let pcvr_before = before["live"]["rates"]["p_convert_after_click"]
        .as_f64()
        .unwrap();

    let server = Caller::new(&w.app, api_key(&c, &["campaign.write"]).await);
    for (i, id) in ids.iter().enumerate() {
        let (status, body) = json(
            server
                .post("/v1/conversions", &conversion(id, &format!("P-{i}"), "20"))
                .await,
        )
        .await;
        assert_eq!(status, 201, "{body}");
    }
    // A repeat changes nothing.
    json(
        server
            .post("/v1/conversions", &conversion(&ids[0], "P-0", "20"))
            .await,
    )
    .await;

    let after = eventually(|| async {
        let v = c.get_ok(&status_path).await;
        (v["live"]["performance"]["conversions"] == 2).then_some(v)
    })
    .await;
    let pcvr_after = after["live"]["rates"]["p_convert_after_click"]
        .as_f64()
        .unwrap();
    assert!(pcvr_after > pcvr_before, "{pcvr_before} → {pcvr_after}");
    // The engine holds the stored count, whatever the refresh: a reload
    // does not count a conversion twice.
    w.bidder.refresh().await.unwrap();
    let again = c.get_ok(&status_path).await;
    assert_eq!(again["live"]["performance"]["conversions"], 2);

    let stats = c
        .get_ok(&format!(
            "/v1/bidder/line-items/{li}/stats?from=2026-03-02T00:00:00Z&to=2026-03-03T00:00:00Z"
        ))
        .await;
    let conversions: i64 = stats["hours"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["conversions"].as_i64().unwrap())
        .sum();
    assert_eq!(conversions, 2, "{stats}");
}
