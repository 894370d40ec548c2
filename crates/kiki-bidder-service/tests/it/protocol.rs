//! The OpenRTB endpoints over HTTP: fixtures, limits, gzip, authentication,
//! notices, trackers, snapshot refresh, reporting and metrics.

use std::collections::BTreeMap;
use std::io::Write;

use kiki_test_support::identity::json;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::support::*;

#[derive(Debug, Deserialize)]
struct Expected {
    status: u16,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    cur: Option<String>,
    #[serde(default)]
    bids: Vec<ExpectedBid>,
}

#[derive(Debug, Deserialize)]
struct ExpectedBid {
    impid: String,
    crid: String,
    #[serde(default)]
    dealid: Option<String>,
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

async fn app_with_catalogue() -> kiki_test_support::TestApp {
    let app = app().await;
    let o = owner(&app).await;
    for li in catalogue() {
        create_live(&o.caller(&app), &li).await;
    }
    app
}

#[tokio::test]
async fn every_engine_fixture_gets_its_expected_answer_over_http() {
    let app = app_with_catalogue().await;
    let expected: BTreeMap<String, Expected> =
        serde_json::from_slice(&fixture("expected.json")).unwrap();
    assert!(expected.len() >= 30);
    for (name, want) in &expected {
        let r = bid(&app, fixture(name)).await;
        assert_eq!(
            r.headers()["x-openrtb-version"],
            "2.6",
            "{name}: version header"
        );
        let (status, body) = json(r).await;
        assert_eq!(status, want.status, "{name}: {body}");
        match status {
            200 => {
                let bids = body["seatbid"][0]["bid"].as_array().unwrap();
                assert_eq!(bids.len(), want.bids.len(), "{name}: {body}");
                for (got, w) in bids.iter().zip(&want.bids) {
                    assert_eq!(got["impid"], w.impid.as_str(), "{name}");
                    assert_eq!(got["crid"], w.crid.as_str(), "{name}");
                    if let Some(d) = &w.dealid {
                        assert_eq!(got["dealid"], d.as_str(), "{name}");
                    }
                }
                if let Some(c) = &want.cur {
                    assert_eq!(body["cur"], c.as_str(), "{name}");
                }
            }
            204 => assert_eq!(body, Value::Null, "{name}: a no-bid has an empty body"),
            _ => {
                let msg = body["error"]["message"].as_str().unwrap_or_default();
                if let Some(reason) = &want.reason {
                    assert!(msg.contains(reason.as_str()), "{name}: {msg}");
                }
            }
        }
    }
}

#[tokio::test]
async fn bodies_over_256_kib_get_413_also_once_inflated() {
    let app = app_with_catalogue().await;
    let big = vec![b' '; 256 * 1024 + 10];
    let r = bid(&app, big.clone()).await;
    assert_eq!(r.status(), 413);
    assert_eq!(r.headers()["x-openrtb-version"], "2.6");
    // Small on the wire, too large once inflated.
    let bomb = gzip(&big);
    assert!(bomb.len() < 4096);
    let r = app
        .client
        .post(app.url("/openrtb2/bid"))
        .header("x-kiki-exchange-key", KEY)
        .header("content-encoding", "gzip")
        .body(bomb)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
}

#[tokio::test]
async fn gzip_requests_are_inflated_and_answers_gzipped_when_asked() {
    let app = app_with_catalogue().await;
    // A client that leaves the answer compressed, to see what travels.
    let plain = reqwest::Client::builder().no_gzip().build().unwrap();
    let raw = plain
        .post(app.url("/openrtb2/bid"))
        .header("x-kiki-exchange-key", KEY)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .header("accept-encoding", "gzip")
        .body(gzip(&fixture("banner_site_2_6.json")))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 200);
    assert_eq!(raw.headers()["content-encoding"], "gzip");
    assert_eq!(raw.headers()["x-openrtb-version"], "2.6");
    let bytes = raw.bytes().await.unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
        .unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["seatbid"][0]["bid"][0]["crid"], "banner-cr");
    // Quality zero means "not gzip": a plain answer.
    let raw = plain
        .post(app.url("/openrtb2/bid"))
        .header("x-kiki-exchange-key", KEY)
        .header("accept-encoding", "gzip;q=0")
        .body(fixture("banner_site_2_6.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 200);
    assert!(raw.headers().get("content-encoding").is_none());
    let body: Value = raw.json().await.unwrap();
    assert_eq!(body["seatbid"][0]["bid"][0]["crid"], "banner-cr");
    let r = app
        .client
        .post(app.url("/openrtb2/bid"))
        .header("x-kiki-exchange-key", KEY)
        .header("content-encoding", "gzip")
        .body(b"not gzip at all".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn calls_without_a_valid_exchange_key_get_401_with_a_reason() {
    let app = app_with_catalogue().await;
    for (key, path) in [
        (None, "/openrtb2/bid"),
        (Some("wrong-key"), "/openrtb2/bid"),
        (None, "/openrtb2/win?bid=1&li=x&price=1"),
        (Some("wrong-key"), "/openrtb2/loss?bid=1"),
    ] {
        let mut rb = app
            .client
            .post(app.url(path))
            .body(fixture("banner_site_2_6.json"));
        if let Some(k) = key {
            rb = rb.header("x-kiki-exchange-key", k);
        }
        let r = rb.send().await.unwrap();
        assert_eq!(r.headers()["x-openrtb-version"], "2.6");
        let (status, body) = json(r).await;
        assert_eq!(status, 401, "{path}");
        assert_eq!(body["error"]["code"], "unauthenticated");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("x-kiki-exchange-key")
        );
    }
}

#[tokio::test]
async fn an_allow_listed_source_address_needs_no_key() {
    let app = app_with(
        json!({ "exchanges": [{ "name": "local", "allowed_addrs": ["127.0.0.0/8"] }] }),
        "all",
    )
    .await;
    let r = app
        .client
        .post(app.url("/openrtb2/bid"))
        .body(fixture("banner_site_2_6.json"))
        .send()
        .await
        .unwrap();
    // No line items yet: a well-formed no-bid, not a 401.
    assert_eq!(r.status(), 204);
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_exchange_address_is_the_forwarded_one() {
    // `http.trust_forwarded_for` reaches the bid route, which carries no
    // application state: the module copies it into the service.
    for (trust, want) in [(true, 204), (false, 401)] {
        let app = kiki_test_support::identity::identity_app()
            .clock(std::sync::Arc::new(kiki_core::TestClock::at(NOW)))
            .configure(move |c| {
                c.set_section(
                    "bidder",
                    section(json!({
                        "exchanges": [{ "name": "edge", "allowed_addrs": ["198.51.100.0/24"] }]
                    })),
                );
                c.http.trust_forwarded_for = trust;
            })
            .module(std::sync::Arc::new(kiki_bidder_service::BidderModule::new()))
            .spawn()
            .await;
        let r = app
            .client
            .post(app.url("/openrtb2/bid"))
            .header("x-forwarded-for", "203.0.113.9, 198.51.100.7")
            .body(fixture("banner_site_2_6.json"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), want, "trust_forwarded_for = {trust}");
    }
}

#[tokio::test]
async fn notices_are_idempotent_and_drive_the_spend_the_status_shows() {
    let app = app().await;
    let o = owner(&app).await;
    let c = o.caller(&app);
    let id = create_live(&c, &banner("solo")).await;
    let (status, body) = json(bid(&app, fixture("banner_site_2_6.json")).await).await;
    assert_eq!(status, 200, "{body}");
    let b = &body["seatbid"][0]["bid"][0];
    assert_eq!(b["crid"], "solo-cr");
    let win = notice_path(b["nurl"].as_str().unwrap(), "2.00");
    assert_eq!(notice(&app, &win).await, (200, "applied".into()));
    assert_eq!(notice(&app, &win).await, (200, "duplicate".into()));
    let loss = notice_path(b["lurl"].as_str().unwrap(), "");
    assert_eq!(notice(&app, &loss).await, (200, "conflicting".into()));
    let st = c
        .get_ok(&format!("/v1/bidder/line-items/{id}/status"))
        .await;
    // A 2.00 CPM clears at 2.00 / 1000 = 0.002 = 2000 micros, once.
    assert_eq!(st["live"]["spent_today"]["micros"], 2000, "{st}");
    assert_eq!(st["live"]["performance"]["impressions"], 1, "{st}");
    let (status, body) = json(
        app.client
            .get(app.url("/openrtb2/win?bid=1&price=${AUCTION_PRICE}"))
            .header("x-kiki-exchange-key", KEY)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        status, 400,
        "an unsubstituted price macro is refused: {body}"
    );
}

#[tokio::test]
async fn a_win_for_an_unknown_bid_is_flagged_unmatched_and_counted_once() {
    let app = app().await;
    let o = owner(&app).await;
    let c = o.caller(&app);
    let id = create_live(&c, &banner("solo")).await;
    let path = format!("/openrtb2/win?bid=999999&imp=1&li={id}&cur=USD&price=3.00");
    assert_eq!(notice(&app, &path).await, (200, "unmatched".into()));
    assert_eq!(notice(&app, &path).await, (200, "duplicate".into()));
    let st = c
        .get_ok(&format!("/v1/bidder/line-items/{id}/status"))
        .await;
    assert_eq!(st["live"]["spent_today"]["micros"], 3000, "{st}");
}

#[tokio::test]
async fn clicks_redirect_only_to_the_advertisers_landing_pages() {
    let app = app().await;
    let o = owner(&app).await;
    let id = create_live(&o.caller(&app), &banner("solo")).await;
    let click = |url: &str| {
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("li", &id.to_string())
            .append_pair("url", url)
            .finish();
        app.client
            .get(app.url(&format!("/openrtb2/click?{q}")))
            .send()
    };
    let r = click("https://www.shop.example/spring?utm=kiki")
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(
        r.headers()["location"],
        "https://www.shop.example/spring?utm=kiki"
    );
    for bad in [
        "https://evil.example/phish",
        "https://shop.example.evil.example/",
        "javascript:alert(1)",
        "//evil.example",
    ] {
        let r = click(bad).await.unwrap();
        assert_eq!(r.status(), 400, "{bad}");
        assert!(r.headers().get("location").is_none());
    }
}

#[tokio::test]
async fn a_new_line_item_bids_without_a_restart() {
    let app = app().await;
    let o = owner(&app).await;
    let (status, _) = json(bid(&app, fixture("banner_site_2_6.json")).await).await;
    assert_eq!(status, 204, "nothing to bid with yet");
    create(&o.caller(&app), &banner("fresh")).await;
    let body = eventually(|| async {
        let (status, body) = json(bid(&app, fixture("banner_site_2_6.json")).await).await;
        (status == 200).then_some(body)
    })
    .await;
    assert_eq!(body["seatbid"][0]["bid"][0]["crid"], "fresh-cr");
}

#[tokio::test]
async fn delivery_is_reported_per_hour_after_a_flush_and_a_decision_is_recorded() {
    let app = app().await;
    let o = owner(&app).await;
    let c = o.caller(&app);
    let id = create_live(&c, &tracked_banner("solo")).await;
    let body = eventually(|| async {
        let (status, body) = json(bid(&app, fixture("banner_site_2_6.json")).await).await;
        (status == 200).then_some(body)
    })
    .await;
    let b = &body["seatbid"][0]["bid"][0];
    let win = notice_path(b["nurl"].as_str().unwrap(), "1.50");
    assert_eq!(notice(&app, &win).await.0, 200);
    let (imp, _) = tracker_paths(b);
    assert_eq!(tracker(&app, &imp).await, (204, "counted".into()));
    let hours = eventually(|| async {
        let v = c
            .get_ok(&format!(
                "/v1/bidder/line-items/{id}/stats?from=2026-03-02T00:00:00Z&to=2026-03-03T00:00:00Z"
            ))
            .await;
        let h = v["hours"].as_array().cloned().unwrap_or_default();
        (h.len() == 1 && h[0]["impressions"] == 1).then_some(h)
    })
    .await;
    assert_eq!(hours[0]["bids"], 1);
    assert_eq!(hours[0]["wins"], 1);
    assert_eq!(hours[0]["spend"]["micros"], 1500);
    assert_eq!(hours[0]["hour"], "2026-03-02T12:00:00Z");
    // The first status check records that the line item is delivering.
    let decisions = eventually(|| async {
        let v = c.get_ok("/v1/decisions?engine=bidder.delivery").await;
        let items = v["items"].as_array().cloned().unwrap_or_default();
        (!items.is_empty()).then_some(items)
    })
    .await;
    assert_eq!(decisions[0]["kind"], "delivering");
    assert_eq!(decisions[0]["subject_id"], id.to_string());
}

#[tokio::test]
async fn bidder_metrics_are_exposed_at_metrics() {
    let app = app_with_catalogue().await;
    assert_eq!(
        bid(&app, fixture("banner_site_2_6.json")).await.status(),
        200
    );
    assert_eq!(bid(&app, fixture("coppa.json")).await.status(), 204);
    let text = app.get("/metrics").await.text().await.unwrap();
    for name in [
        "kiki_bidder_requests_total",
        "kiki_bidder_bids_total",
        "kiki_bidder_nobid_total{nbr=\"500\"}",
        // A histogram with buckets down to 10 µs, not a summary.
        "kiki_bidder_decision_seconds_bucket{le=\"0.00001\"}",
    ] {
        assert!(text.contains(name), "{name} missing from /metrics");
    }
}

#[tokio::test]
async fn a_clearing_price_above_the_bid_is_refused_counted_and_recorded() {
    let app = app().await;
    let o = owner(&app).await;
    let c = o.caller(&app);
    let id = create_live(&c, &banner("solo")).await;
    let (status, body) = json(bid(&app, fixture("banner_site_2_6.json")).await).await;
    assert_eq!(status, 200, "{body}");
    let b = &body["seatbid"][0]["bid"][0];
    let bid_id = b["id"].as_str().unwrap().to_owned();
    let price = b["price"].as_f64().unwrap();
    let bid_micros = (price * 1_000_000.0).round() as i64;
    let nurl = b["nurl"].as_str().unwrap().to_owned();

    // A 1,000,000 CPM win on this bid is impossible: refused, nothing booked.
    let r = app
        .client
        .get(app.url(&notice_path(&nurl, "1000000")))
        .header("x-kiki-exchange-key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-kiki-notice-status"], "refused");
    assert_eq!(r.headers()["x-openrtb-version"], "2.6");
    let (status, err) = json(r).await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["error"]["code"], "validation_failed");
    assert_eq!(
        kiki_test_support::identity::error_fields(&err),
        vec!["price".to_owned()]
    );
    let st = c
        .get_ok(&format!("/v1/bidder/line-items/{id}/status"))
        .await;
    assert_eq!(st["live"]["spent_today"]["micros"], 0, "{st}");
    assert_eq!(st["live"]["performance"]["impressions"], 0, "{st}");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.lines().any(
            |l| l.starts_with("kiki_bidder_notice_anomalies_total{reason=\"price_above_bid\"}")
        ),
        "anomaly counter missing from /metrics"
    );
    assert!(metrics.contains("status=\"refused\""));

    // The decision record is written by the background flush.
    let decision = eventually(|| async {
        let v = c.get_ok("/v1/decisions?engine=bidder.notices").await;
        v["items"].as_array().and_then(|i| i.first().cloned())
    })
    .await;
    assert_eq!(decision["kind"], "price_above_bid");
    assert_eq!(decision["subject_id"], bid_id.as_str());
    let inputs = &decision["inputs"];
    assert_eq!(inputs["bid_id"], bid_id.as_str());
    assert_eq!(inputs["line_item_id"], id.to_string());
    assert_eq!(inputs["bid_price"]["micros"], bid_micros);
    assert_eq!(inputs["clearing_price"]["micros"], 1_000_000_000_000_i64);
    assert_eq!(inputs["bid_price"]["currency"], inputs["currency"]);
    assert_eq!(decision["output"]["booked"]["micros"], 0);
    assert_eq!(inputs["reported_price"], "1000000");
    let why = decision["explanation"].as_str().unwrap();
    assert!(
        why.contains("above the bid price") && why.contains("no spend was booked"),
        "{why}"
    );

    // The bid kept its state: a win at exactly the bid price books that price.
    let at_bid = notice_path(&nurl, &b["price"].to_string());
    assert_eq!(notice(&app, &at_bid).await, (200, "applied".into()));
    let st = c
        .get_ok(&format!("/v1/bidder/line-items/{id}/status"))
        .await;
    assert_eq!(
        st["live"]["spent_today"]["micros"],
        (bid_micros + 500) / 1000,
        "{st}"
    );
}

#[tokio::test]
async fn a_win_below_the_bid_price_books_exactly_that_price() {
    let app = app().await;
    let o = owner(&app).await;
    let c = o.caller(&app);
    let id = create_live(&c, &banner("solo")).await;
    let (_, body) = json(bid(&app, fixture("banner_site_2_6.json")).await).await;
    let b = &body["seatbid"][0]["bid"][0];
    assert!(b["price"].as_f64().unwrap() > 1.234);
    let win = notice_path(b["nurl"].as_str().unwrap(), "1.234");
    assert_eq!(notice(&app, &win).await, (200, "applied".into()));
    let st = c
        .get_ok(&format!("/v1/bidder/line-items/{id}/status"))
        .await;
    assert_eq!(st["live"]["spent_today"]["micros"], 1234, "{st}");
}

/// A tracker call without the exchange key, as a browser makes it; (status, tracker status).
async fn tracker(app: &kiki_test_support::TestApp, path: &str) -> (u16, String) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = client.get(app.url(path)).send().await.unwrap();
    let st = r
        .headers()
        .get("x-kiki-tracker-status")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    if r.status() == 302 {
        // A signed, fresh click (counted or repeated) carries a click id
        // for conversions; any other goes to the landing page as it is.
        let location = r.headers()["location"].to_str().unwrap();
        match st.as_str() {
            "counted" | "repeated" => {
                let id = location
                    .strip_prefix("https://www.shop.example/spring?kiki_click=")
                    .unwrap_or_else(|| panic!("{path} → {location}"));
                assert!(
                    id.len() > 60
                        && id
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                    "{location}"
                );
            }
            _ => assert_eq!(location, "https://www.shop.example/spring", "{path}"),
        }
    }
    (r.status().as_u16(), st)
}

async fn live_clicks(c: &kiki_test_support::identity::Caller<'_>, id: uuid::Uuid) -> i64 {
    let st = c
        .get_ok(&format!("/v1/bidder/line-items/{id}/status"))
        .await;
    st["live"]["performance"]["clicks"].as_i64().unwrap()
}

#[tokio::test]
async fn a_signed_click_counts_once_and_a_replayed_one_does_not() {
    let app = app().await;
    let o = owner(&app).await;
    let c = o.caller(&app);
    let id = create_live(&c, &tracked_banner("tracked")).await;
    let (status, body) = json(bid(&app, fixture("banner_site_2_6.json")).await).await;
    assert_eq!(status, 200, "{body}");
    let (_, click) = tracker_paths(&body["seatbid"][0]["bid"][0]);
    assert!(click.contains("&sig=") && click.contains("&t="), "{click}");
    assert_eq!(tracker(&app, &click).await, (302, "counted".into()));
    assert_eq!(live_clicks(&c, id).await, 1);
    assert_eq!(tracker(&app, &click).await, (302, "repeated".into()));
    assert_eq!(
        live_clicks(&c, id).await,
        1,
        "a replayed click is not counted"
    );
}

#[tokio::test]
async fn tampered_unsigned_and_expired_clicks_redirect_but_do_not_count() {
    let (app, clock, svc) = app_with_handles(json!({})).await;
    let o = owner(&app).await;
    let c = o.caller(&app);
    let id = create_live(&c, &tracked_banner("tracked")).await;
    let (_, body) = json(bid(&app, fixture("banner_site_2_6.json")).await).await;
    let (_, click) = tracker_paths(&body["seatbid"][0]["bid"][0]);

    // Another creative id, another issue time, a flipped tag digit.
    let sig = click.split("&sig=").nth(1).unwrap()[..32].to_owned();
    let flipped = format!(
        "{}{}",
        if sig.starts_with('0') { '1' } else { '0' },
        &sig[1..]
    );
    let t = click
        .split("&t=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap();
    for tampered in [
        click.replace("&cr=tracked-cr", "&cr=other-cr"),
        click.replace(
            &format!("&t={t}"),
            &format!("&t={}", t.parse::<i64>().unwrap() + 1),
        ),
        click.replace(&sig, &flipped),
    ] {
        assert_ne!(tampered, click);
        assert_eq!(
            tracker(&app, &tampered).await,
            (302, "bad_signature".into()),
            "{tampered}"
        );
    }
    // The old hand-made form: only the line item and the landing page.
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("li", &id.to_string())
        .append_pair("url", "https://www.shop.example/spring")
        .finish();
    assert_eq!(
        tracker(&app, &format!("/openrtb2/click?{q}")).await,
        (302, "unsigned".into())
    );
    assert_eq!(live_clicks(&c, id).await, 0);

    // A day and a second later the first bid's click has expired.
    clock.advance(time::Duration::seconds(86_401));
    assert_eq!(tracker(&app, &click).await, (302, "expired".into()));
    // (The caller's access token has expired too: read the engine directly.)
    let live = svc
        .bidder
        .line_item_status(kiki_bidder::LineItemId(id), svc.now_ms())
        .unwrap();
    assert_eq!(live.performance.clicks, 0);
}

#[tokio::test]
async fn a_signed_impression_counts_once_and_an_unsigned_one_never() {
    let (app, _clock, svc) = app_with_handles(json!({})).await;
    let o = owner(&app).await;
    let c = o.caller(&app);
    let id = create_live(&c, &tracked_banner("tracked")).await;
    let (_, body) = json(bid(&app, fixture("banner_site_2_6.json")).await).await;
    let (imp, _) = tracker_paths(&body["seatbid"][0]["bid"][0]);
    assert_eq!(tracker(&app, &imp).await, (204, "counted".into()));
    assert_eq!(tracker(&app, &imp).await, (204, "repeated".into()));
    assert_eq!(
        tracker(&app, &format!("/openrtb2/imp?li={id}")).await,
        (204, "unsigned".into())
    );
    svc.flush_reporting().await.unwrap();
    let v = c
        .get_ok(&format!(
            "/v1/bidder/line-items/{id}/stats?from=2026-03-02T00:00:00Z&to=2026-03-03T00:00:00Z"
        ))
        .await;
    assert_eq!(v["hours"][0]["impressions"], 1, "{v}");
}
