//! Body limit (413), request timeout (408), rate limit (429 + Retry-After),
//! compression and security headers.

use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use kiki_server::AppState;
use kiki_test_support::TestApp;
use serde_json::Value;

fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/test/echo",
            post(
                |kiki_server::extract::Json(v): kiki_server::extract::Json<Value>| async move {
                    axum::Json(v)
                },
            ),
        )
        .route(
            "/test/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "done"
            }),
        )
}

#[tokio::test]
async fn a_body_over_the_limit_is_a_413_envelope() {
    let app = TestApp::builder()
        .routes(routes())
        .configure(|c| c.http.body_limit_bytes = 1024)
        .spawn()
        .await;
    let big = format!("{{\"x\":\"{}\"}}", "a".repeat(4096));
    let resp = app
        .client
        .post(app.url("/test/echo"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "payload_too_large");
    let small = app
        .post_json("/test/echo", &serde_json::json!({"x": 1}))
        .await;
    assert_eq!(small.status(), 200);
}

#[tokio::test]
async fn a_request_over_the_timeout_is_a_408_envelope() {
    let app = TestApp::builder()
        .routes(routes())
        .configure(|c| c.http.request_timeout_secs = 1)
        .spawn()
        .await;
    let resp = app.get("/test/slow").await;
    assert_eq!(resp.status(), 408);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "request_timeout");
    assert!(body["error"]["request_id"].is_string());
}

#[tokio::test]
async fn too_many_requests_from_one_address_get_429_with_retry_after() {
    let app = TestApp::builder()
        .configure(|c| {
            c.http.rate_limit.per_second = 1;
            c.http.rate_limit.burst = 3;
        })
        .spawn()
        .await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(app.get("/v1/status").await);
    }
    let codes: Vec<u16> = statuses.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(&codes[..3], &[200, 200, 200], "{codes:?}");
    let limited = statuses.pop().unwrap();
    assert_eq!(limited.status(), 429);
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    let body: Value = limited.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
}

#[tokio::test]
async fn responses_carry_security_headers_and_html_gets_a_strict_csp() {
    let app = TestApp::spawn().await;
    let api = app.get("/v1/status").await;
    assert_eq!(api.headers()["x-content-type-options"], "nosniff");
    assert!(api.headers().get("referrer-policy").is_some());
    assert!(
        api.headers().get("strict-transport-security").is_none(),
        "no HSTS without TLS"
    );
    let html = app.get("/docs").await;
    let csp = html.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    assert_eq!(html.headers()["x-frame-options"], "DENY");

    let tls = TestApp::builder()
        .configure(|c| c.http.behind_tls = true)
        .spawn()
        .await;
    assert!(
        tls.get("/v1/status")
            .await
            .headers()
            .get("strict-transport-security")
            .is_some()
    );
}

#[tokio::test]
async fn responses_are_compressed_when_the_client_asks() {
    let app = TestApp::spawn().await;
    // A client that does not decompress, so the encoding stays visible.
    let raw = reqwest::Client::builder().no_gzip().build().unwrap();
    let resp = raw
        .get(app.url("/openapi.json"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-encoding"], "gzip");
}
