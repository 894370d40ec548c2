//! Error tracking against a local fake of a Sentry-compatible ingest
//! endpoint: a handler's panic and a 5xx cause each arrive as one envelope
//! with the request id, route, release and environment, and without the
//! request body, the `Authorization` header or any configured secret.
//! (Tracking is process-wide, as the panic hook is: each test runs in its
//! own process under nextest.)

use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use kiki_server::{ApiError, AppState, Config, error_tracking};
use kiki_test_support::TestApp;
use secrecy::SecretString;
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET_KEY: &str = "the-master-secret-key-of-this-server-0042";

fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/test/boom/{id}",
            get(|| async { panic!("the ledger is inconsistent") as &'static str }),
        )
        .route(
            "/test/fail",
            post(|_body: String| async {
                Err::<(), _>(ApiError::internal(format!(
                    "the database refused: secret {SECRET_KEY}, sent Bearer tok-abc123xyz"
                )))
            }),
        )
}

async fn ingest() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/42/envelope/"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .mount(&server)
        .await;
    server
}

fn tracked_config(server: &MockServer) -> Config {
    let mut cfg = Config::default();
    cfg.security.secret_key = SecretString::from(SECRET_KEY);
    let addr = server.address();
    cfg.telemetry.sentry_dsn = Some(SecretString::from(format!("http://publickey@{addr}/42")));
    cfg
}

/// The event items of every envelope received, with the raw bodies.
async fn events(server: &MockServer) -> Vec<(Value, String)> {
    assert!(
        error_tracking::flush(Duration::from_secs(10)),
        "events were sent"
    );
    let mut out = Vec::new();
    for r in server.received_requests().await.unwrap() {
        let raw = String::from_utf8(r.body.clone()).unwrap();
        let event = raw
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|v| v.get("exception").is_some())
            .unwrap_or_else(|| panic!("no event in {raw}"));
        out.push((event, raw));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_a_handler_is_one_event_with_the_request_fields() {
    let server = ingest().await;
    let _guard = error_tracking::init(&tracked_config(&server))
        .unwrap()
        .expect("tracking is on");
    let app = TestApp::builder().routes(routes()).spawn().await;
    let resp = app
        .client
        .get(app.url("/test/boom/7"))
        .header("x-request-id", "req-panic-1")
        .header("authorization", "Bearer user-token-should-not-travel")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 500);

    let events = events(&server).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let (e, raw) = &events[0];
    assert_eq!(e["level"], "fatal");
    assert_eq!(e["exception"]["values"][0]["type"], "panic");
    assert!(
        e["exception"]["values"][0]["value"]
            .as_str()
            .unwrap()
            .contains("the ledger is inconsistent"),
        "{e}"
    );
    assert_eq!(e["tags"]["request_id"], "req-panic-1");
    assert_eq!(e["tags"]["route"], "/test/boom/{id}");
    assert_eq!(e["tags"]["http.method"], "GET");
    assert_eq!(e["release"], format!("kiki@{}", kiki_server::VERSION));
    assert_eq!(e["environment"], "development");
    assert!(!raw.contains("user-token-should-not-travel"), "{raw}");
    assert!(!raw.contains(SECRET_KEY), "{raw}");
    assert!(e.get("request").is_none(), "no request data: {e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cause_of_a_500_is_one_scrubbed_event_without_body_or_headers() {
    let server = ingest().await;
    let _guard = error_tracking::init(&tracked_config(&server))
        .unwrap()
        .expect("tracking is on");
    let app = TestApp::builder().routes(routes()).spawn().await;
    let resp = app
        .client
        .post(app.url("/test/fail"))
        .header("x-request-id", "req-fail-1")
        .header("authorization", "Bearer user-token-should-not-travel")
        .body("card=4111111111111111&password=body-secret-value")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 500);

    let events = events(&server).await;
    assert_eq!(events.len(), 1, "{events:?}");
    let (e, raw) = &events[0];
    // `error` is the protocol's default level, which the client leaves out.
    assert!(e.get("level").is_none_or(|l| l == "error"), "{e}");
    assert_eq!(e["tags"]["request_id"], "req-fail-1");
    assert_eq!(e["tags"]["route"], "/test/fail");
    assert_eq!(e["environment"], "development");
    let value = e["exception"]["values"][0]["value"].as_str().unwrap();
    assert!(value.contains("the database refused"), "{value}");
    assert!(value.contains("[redacted]"), "{value}");
    for leaked in [
        SECRET_KEY,
        "tok-abc123xyz",
        "user-token-should-not-travel",
        "body-secret-value",
        "4111111111111111",
    ] {
        assert!(!raw.contains(leaked), "`{leaked}` in {raw}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_sent_without_a_dsn() {
    let server = ingest().await;
    let mut cfg = tracked_config(&server);
    cfg.telemetry.sentry_dsn = None;
    assert!(error_tracking::init(&cfg).unwrap().is_none());
    let app = TestApp::builder().routes(routes()).spawn().await;
    let resp = app
        .client
        .post(app.url("/test/fail"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 500);
    assert!(
        !error_tracking::flush(Duration::from_secs(1)),
        "no client, nothing queued"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[test]
fn an_invalid_dsn_is_a_configuration_problem() {
    let mut cfg = Config::default();
    cfg.telemetry.sentry_dsn = Some(SecretString::from("not a dsn"));
    let err = cfg.validate().unwrap_err().to_string();
    assert!(err.contains("telemetry.sentry_dsn"), "{err}");
    assert!(!err.contains("not a dsn"), "the value is not echoed: {err}");
}
