//! `/v1` and `/v2`, deprecation headers, unknown versions.

use kiki_server::config::DeprecationConfig;
use kiki_test_support::TestApp;
use serde_json::Value;

#[tokio::test]
async fn status_differs_between_v1_and_v2() {
    let app = TestApp::spawn().await;
    let v1: Value = app.get("/v1/status").await.json().await.unwrap();
    assert_eq!(
        v1,
        serde_json::json!({"status": "ok", "version": kiki_server::VERSION})
    );
    let v2: Value = app.get("/v2/status").await.json().await.unwrap();
    assert_eq!(v2["status"], "ok");
    assert_eq!(v2["api_versions"], serde_json::json!(["v1", "v2"]));
    assert_eq!(v2["roles"], serde_json::json!(["api", "bidder", "worker"]));
    let expected = if std::env::var("KIKI_TEST_DATABASE_URL").is_ok() {
        "postgresql"
    } else {
        "sqlite"
    };
    assert_eq!(v2["database"], expected);
    // The compiler that built the binary, not the minimum supported version.
    let rustc = v2["build"]["rustc"].as_str().unwrap();
    assert!(rustc.starts_with("rustc "), "{rustc}");
    assert_eq!(v2["build"]["minimum_rust"], env!("CARGO_PKG_RUST_VERSION"));
}

#[tokio::test]
async fn only_routes_that_differ_are_published_under_v2() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.get("/v2/jobs/00000000-0000-0000-0000-000000000000")
            .await
            .status(),
        404
    );
    let doc: Value = app.get("/openapi.json").await.json().await.unwrap();
    let v2: Vec<&String> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|p| p.starts_with("/v2/"))
        .collect();
    assert_eq!(v2, vec!["/v2/status"]);
}

#[tokio::test]
async fn an_undeprecated_version_has_no_deprecation_headers() {
    let app = TestApp::spawn().await;
    let resp = app.get("/v1/status").await;
    assert!(resp.headers().get("deprecation").is_none());
    assert!(resp.headers().get("sunset").is_none());
}

#[tokio::test]
async fn a_deprecated_version_announces_deprecation_sunset_and_successor() {
    let app = TestApp::builder()
        .configure(|c| {
            c.api.deprecated.insert(
                "v1".into(),
                DeprecationConfig {
                    since: Some("2026-01-01T00:00:00Z".into()),
                    sunset: Some("2027-06-30T00:00:00Z".into()),
                },
            );
        })
        .spawn()
        .await;
    let resp = app.get("/v1/status").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["deprecation"], "@1767225600");
    assert_eq!(resp.headers()["sunset"], "Wed, 30 Jun 2027 00:00:00 GMT");
    assert_eq!(
        resp.headers()["link"],
        "</v2/status>; rel=\"successor-version\""
    );
    let v2 = app.get("/v2/status").await;
    assert!(v2.headers().get("deprecation").is_none());
    // A route the successor does not change has no successor link.
    let job = app
        .get("/v1/jobs/00000000-0000-0000-0000-000000000000")
        .await;
    assert_eq!(job.headers()["deprecation"], "@1767225600");
    assert!(job.headers().get("link").is_none());
}

#[tokio::test]
async fn an_unknown_version_is_a_404_listing_the_supported_ones() {
    let app = TestApp::spawn().await;
    let resp = app.get("/v9/status").await;
    assert_eq!(resp.status(), 404);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unknown_api_version");
    assert_eq!(
        body["error"]["details"]["supported_versions"],
        serde_json::json!(["v1", "v2"])
    );
}
