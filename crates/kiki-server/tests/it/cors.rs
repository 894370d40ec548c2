//! CORS: listed origins are allowed, others get no CORS headers.

use kiki_test_support::TestApp;

#[tokio::test]
async fn an_allowed_origin_gets_cors_headers_and_others_do_not() {
    let app = TestApp::builder()
        .configure(|c| {
            c.http.cors.allowed_origins = vec!["https://app.example.com".into()];
            c.http.cors.allow_credentials = true;
        })
        .spawn()
        .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(reqwest::Method::OPTIONS, app.url("/v1/status"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .send()
    };
    let ok = preflight("https://app.example.com").await.unwrap();
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert_eq!(ok.headers()["access-control-allow-credentials"], "true");
    let denied = preflight("https://evil.example.net").await.unwrap();
    assert!(
        denied
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    let simple = app
        .client
        .get(app.url("/v1/status"))
        .header("origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(
        simple.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
}
