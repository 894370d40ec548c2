//! The OpenAPI document and the offline docs page.

use kiki_test_support::TestApp;
use serde_json::Value;

#[tokio::test]
async fn the_openapi_document_is_3_1_and_lists_the_versioned_routes() {
    let app = TestApp::spawn().await;
    let doc: Value = app.get("/openapi.json").await.json().await.unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    for path in [
        "/v1/status",
        "/v2/status",
        "/v1/jobs/{id}",
        "/healthz",
        "/readyz",
        "/livez",
        "/metrics",
    ] {
        assert!(doc["paths"][path].is_object(), "missing {path}");
    }
    assert!(doc["components"]["schemas"]["ErrorEnvelope"].is_object());
    assert_eq!(doc["info"]["version"], kiki_server::VERSION);
}

#[tokio::test]
async fn the_docs_page_loads_only_first_party_assets() {
    let app = TestApp::spawn().await;
    let html = app.get("/docs").await.text().await.unwrap();
    assert!(html.contains("/docs/assets/docs.js"));
    let js_resp = app.get("/docs/assets/docs.js").await;
    assert_eq!(js_resp.status(), 200);
    assert!(
        js_resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let js = js_resp.text().await.unwrap();
    assert_eq!(app.get("/docs/assets/docs.css").await.status(), 200);
    for text in [&html, &js] {
        assert!(
            !text.contains("https://") && !text.contains("http://"),
            "an external URL would need the internet"
        );
    }
    assert!(js.contains("/openapi.json"));
}
