//! Every rejection kind answers with the one JSON envelope.

use axum::Router;
use axum::routing::{get, post};
use kiki_server::AppState;
use kiki_server::extract::{Json, Valid};
use kiki_test_support::TestApp;
use serde_json::Value;

#[derive(Debug, serde::Deserialize, garde::Validate)]
struct NewThing {
    #[garde(length(min = 1, max = 10))]
    name: String,
    #[garde(range(min = 1, max = 100))]
    count: u32,
}

fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/test/things",
            post(|Valid(Json(t)): Valid<Json<NewThing>>| async move {
                format!("{} x{}", t.name, t.count)
            }),
        )
        .route(
            "/test/panic",
            get(|| async { panic!("secret internal detail") as &'static str }),
        )
}

async fn envelope(resp: reqwest::Response) -> (u16, Value, Option<String>) {
    let status = resp.status().as_u16();
    let rid = resp
        .headers()
        .get("x-request-id")
        .map(|v| v.to_str().unwrap().to_owned());
    assert!(
        resp.headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "error responses are JSON"
    );
    let body: Value = resp.json().await.unwrap();
    assert!(body["error"]["code"].is_string(), "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    assert_eq!(
        body["error"]["request_id"].as_str(),
        rid.as_deref(),
        "request id in body matches header"
    );
    (status, body, rid)
}

#[tokio::test]
async fn malformed_json_is_a_400_naming_the_problem() {
    let app = TestApp::builder().routes(routes()).spawn().await;
    let resp = app
        .client
        .post(app.url("/test/things"))
        .header("content-type", "application/json")
        .body("{\"name\": \"a\",")
        .send()
        .await
        .unwrap();
    let (status, body, _) = envelope(resp).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "invalid_json");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("line 1"),
        "{body}"
    );
}

#[tokio::test]
async fn a_field_of_the_wrong_type_is_a_422_naming_the_field() {
    let app = TestApp::builder().routes(routes()).spawn().await;
    let resp = app
        .post_json(
            "/test/things",
            &serde_json::json!({"name": "a", "count": "many"}),
        )
        .await;
    let (status, body, _) = envelope(resp).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["details"]["fields"][0]["field"], "count");
}

#[tokio::test]
async fn failed_validation_is_a_422_listing_each_field() {
    let app = TestApp::builder().routes(routes()).spawn().await;
    let resp = app
        .post_json(
            "/test/things",
            &serde_json::json!({"name": "", "count": 500}),
        )
        .await;
    let (status, body, _) = envelope(resp).await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["code"], "validation_failed");
    let mut fields: Vec<String> = body["error"]["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap().to_owned())
        .collect();
    fields.sort();
    assert_eq!(fields, ["count", "name"]);
}

#[tokio::test]
async fn a_valid_body_passes_through() {
    let app = TestApp::builder().routes(routes()).spawn().await;
    let resp = app
        .post_json(
            "/test/things",
            &serde_json::json!({"name": "ok", "count": 3}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "ok x3");
}

#[tokio::test]
async fn a_body_without_json_content_type_is_a_415() {
    let app = TestApp::builder().routes(routes()).spawn().await;
    let resp = app
        .client
        .post(app.url("/test/things"))
        .body("{}")
        .send()
        .await
        .unwrap();
    let (status, body, _) = envelope(resp).await;
    assert_eq!(status, 415);
    assert_eq!(body["error"]["code"], "unsupported_media_type");
}

#[tokio::test]
async fn unknown_routes_are_a_json_404() {
    let app = TestApp::spawn().await;
    let (status, body, _) = envelope(app.get("/v1/no-such-thing").await).await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test]
async fn a_wrong_method_is_a_json_405_with_allow() {
    let app = TestApp::spawn().await;
    let resp = app
        .client
        .delete(app.url("/v1/status"))
        .send()
        .await
        .unwrap();
    assert!(resp.headers().get("allow").is_some());
    let (status, body, _) = envelope(resp).await;
    assert_eq!(status, 405);
    assert_eq!(body["error"]["code"], "method_not_allowed");
}

#[tokio::test]
async fn a_panicking_handler_is_a_500_without_internals() {
    let app = TestApp::builder().routes(routes()).spawn().await;
    let (status, body, _) = envelope(app.get("/test/panic").await).await;
    assert_eq!(status, 500);
    assert_eq!(body["error"]["code"], "internal");
    assert!(!body.to_string().contains("secret internal detail"));
    // The server keeps serving after a panic.
    assert_eq!(app.get("/livez").await.status(), 200);
}

#[tokio::test]
async fn a_malformed_path_id_is_a_400_not_a_404() {
    let app = TestApp::spawn().await;
    let (status, body, _) = envelope(app.get("/v1/jobs/not-a-uuid").await).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "bad_request");
}

#[tokio::test]
async fn the_request_id_is_echoed_or_generated() {
    let app = TestApp::spawn().await;
    let resp = app
        .client
        .get(app.url("/v1/status"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "abc-123");
    let resp = app.get("/v1/status").await;
    let generated = resp.headers()["x-request-id"].to_str().unwrap();
    let id = uuid::Uuid::parse_str(generated).unwrap();
    assert_eq!(id.get_version_num(), 7, "generated ids are UUIDv7");
    // An unsafe id (spaces, too long) is replaced, not echoed.
    let resp = app
        .client
        .get(app.url("/v1/status"))
        .header("x-request-id", "a b")
        .send()
        .await
        .unwrap();
    assert_ne!(resp.headers()["x-request-id"], "a b");
}

#[tokio::test]
async fn an_empty_query_parameter_is_read_as_not_given_and_a_bad_one_is_a_400() {
    #[derive(serde::Deserialize)]
    struct Q {
        format: Option<String>,
        limit: Option<u32>,
    }
    let app = kiki_test_support::TestApp::builder()
        .routes(axum::Router::new().route(
            "/test/query",
            axum::routing::get(
                |kiki_server::extract::Query(q): kiki_server::extract::Query<Q>| async move {
                    format!("{:?}/{:?}", q.format, q.limit)
                },
            ),
        ))
        .spawn()
        .await;
    let text = |p: &'static str| {
        let app = &app;
        async move {
            let r = app.get(p).await;
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    assert_eq!(
        text("/test/query?format=&limit=").await,
        (200, "None/None".into())
    );
    assert_eq!(
        text("/test/query?format=csv&limit=5").await,
        (200, "Some(\"csv\")/Some(5)".into())
    );
    assert_eq!(text("/test/query?limit=many").await.0, 400);
    app.shutdown().await.unwrap();
}
