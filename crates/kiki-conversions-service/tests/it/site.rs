//! The browser path: the snippet, the site key, origins and the rate.

use kiki_bidder::LineItemId;
use kiki_bidder::notice::BidId;
use kiki_test_support::TestApp;
use kiki_test_support::identity::{error_fields, json};
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn the_snippet_is_served_as_javascript_without_dynamic_code() {
    let w = spawn_with(json!({"attribution_window_days": 45})).await;
    let r = w.app.get("/v1/conversions/snippet.js").await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    // Loadable from any shop's page: no resource policy keeps it same-origin,
    // and browsers run it only as the script it says it is.
    assert!(r.headers().get("cross-origin-resource-policy").is_none());
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    let script = r.text().await.unwrap();
    assert!(script.contains("kiki_click") && script.contains("data-site-key"));
    assert!(
        script.contains("var WINDOW_DAYS = 45;"),
        "the configured window"
    );
    for banned in ["eval(", "new Function", "document.write", "innerHTML"] {
        assert!(!script.contains(banned), "{banned}");
    }
}

/// The snippet's report: (status, body, `Access-Control-Allow-Origin`).
async fn collect(
    app: &TestApp,
    body: &Value,
    origin: Option<&str>,
    content_type: &str,
) -> (u16, Value, Option<String>) {
    let mut rb = app
        .client
        .post(app.url("/v1/conversions/collect"))
        .header("content-type", content_type)
        .body(body.to_string());
    if let Some(o) = origin {
        rb = rb.header("origin", o);
    }
    let r = rb.send().await.unwrap();
    let allow = r
        .headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_owned());
    let (status, v) = json(r).await;
    (status, v, allow)
}

#[tokio::test]
async fn the_site_key_records_its_organisations_clicks_from_its_origins_only() {
    let w = spawn().await;
    let o = owner(&w.app, "shop").await;
    let c = o.caller(&w.app);
    live_line_item(&c, &tracked_banner("spring")).await;
    let id = click(&w.app).await;
    let (status, site) = json(
        c.send(
            reqwest::Method::PUT,
            "/v1/conversions/site",
            Some(
                &json!({"allowed_origins": ["https://Shop.example/", "https://www.shop.example"]}),
            ),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{site}");
    assert_eq!(
        site["allowed_origins"],
        json!(["https://shop.example", "https://www.shop.example"])
    );
    let site_key = site["site_key"].as_str().unwrap().to_owned();

    let mut body = conversion(&id, "S-1", "49.99");
    body["site_key"] = json!(site_key);
    // As the snippet sends it: text/plain from an allowed origin.
    let (status, v, allow) = collect(
        &w.app,
        &body,
        Some("https://www.shop.example"),
        "text/plain;charset=UTF-8",
    )
    .await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(allow.as_deref(), Some("https://www.shop.example"));
    assert_eq!(v["order_id"], "S-1");
    assert_eq!(
        v.as_object().unwrap().len(),
        2,
        "nothing of the organisation: {v}"
    );
    // Again: counted once.
    let (status, again, _) = collect(&w.app, &body, None, "application/json").await;
    assert_eq!((status, &again["id"]), (200, &v["id"]));
    let listed = c.get_ok("/v1/conversions").await;
    assert_eq!(listed["items"][0]["source"], "site");
    assert_eq!(listed["items"][0]["recorded_by"], "site");

    // Another page's origin.
    body["order_id"] = json!("S-2");
    let (status, _, allow) =
        collect(&w.app, &body, Some("https://evil.example"), "text/plain").await;
    assert_eq!((status, allow), (403, None));
    // An unknown site key.
    let mut unknown = body.clone();
    unknown["site_key"] = json!("site_AAAAAAAAAAAAAAAAAAAAAAAA");
    let (status, v, _) = collect(&w.app, &unknown, None, "text/plain").await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(error_fields(&v), ["site_key"]);
    // Another organisation's click id through this site key.
    let other = owner(&w.app, "other").await;
    let other_li = live_line_item(&other.caller(&w.app), &tracked_banner("other")).await;
    let foreign = w
        .bidder
        .issue_click_id(LineItemId(other_li), BidId(7), "other-cr")
        .unwrap();
    let mut stolen = body.clone();
    stolen["click_id"] = json!(foreign);
    let (status, v, _) = collect(&w.app, &stolen, None, "text/plain").await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(error_fields(&v), ["click_id"]);
    // Any other media type.
    let (status, _, _) = collect(&w.app, &body, None, "application/x-www-form-urlencoded").await;
    assert_eq!(status, 415);

    // A new site key: the old one stops.
    let (_, rotated) = json(
        c.send(
            reqwest::Method::PUT,
            "/v1/conversions/site",
            Some(&json!({"allowed_origins": ["https://shop.example"], "rotate_key": true})),
        )
        .await,
    )
    .await;
    assert_ne!(rotated["site_key"], json!(site_key));
    let (status, _, _) = collect(&w.app, &body, None, "text/plain").await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn a_site_key_is_rate_limited_per_organisation() {
    let w = spawn_with(json!({"site_rate_per_minute": 1, "site_burst": 2})).await;
    let o = owner(&w.app, "shop").await;
    let c = o.caller(&w.app);
    live_line_item(&c, &tracked_banner("spring")).await;
    let id = click(&w.app).await;
    let (_, site) = json(
        c.send(
            reqwest::Method::PUT,
            "/v1/conversions/site",
            Some(&json!({"allowed_origins": ["https://shop.example"]})),
        )
        .await,
    )
    .await;
    let report = |n: u32| {
        let mut b = conversion(&id, &format!("R-{n}"), "5");
        b["site_key"] = site["site_key"].clone();
        b
    };
    assert_eq!(collect(&w.app, &report(1), None, "text/plain").await.0, 201);
    assert_eq!(collect(&w.app, &report(2), None, "text/plain").await.0, 201);
    let r = w
        .app
        .client
        .post(w.app.url("/v1/conversions/collect"))
        .header("content-type", "text/plain")
        .body(report(3).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(r.headers().get("retry-after").is_some());
    // The test clock moves a minute: one more fits.
    w.clock.advance(time::Duration::seconds(60));
    assert_eq!(collect(&w.app, &report(4), None, "text/plain").await.0, 201);
}
