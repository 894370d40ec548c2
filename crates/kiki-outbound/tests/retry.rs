//! The outbound client against a local fake server: retries, Retry-After,
//! context propagation and the limits of what is retried.

use std::time::{Duration, Instant};

use kiki_outbound::{Idempotent, OutboundClient, OutboundConfig, RequestContext, with_context};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn fast_config() -> OutboundConfig {
    OutboundConfig {
        backoff_base_ms: 10,
        backoff_max_ms: 2_000,
        ..OutboundConfig::default()
    }
}

#[tokio::test]
async fn a_call_that_fails_twice_then_succeeds_returns_the_success() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/flaky"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/flaky"))
        .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
        .expect(1)
        .mount(&server)
        .await;
    let client = OutboundClient::new(&fast_config()).unwrap();
    let resp = client
        .get(&format!("{}/flaky", server.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "ok");
}

#[tokio::test]
async fn retries_stop_after_the_configured_attempts() {
    let server = MockServer::start().await;
    Mock::given(path("/down"))
        .respond_with(ResponseTemplate::new(500))
        .expect(3)
        .mount(&server)
        .await;
    let client = OutboundClient::new(&fast_config()).unwrap();
    let resp = client
        .get(&format!("{}/down", server.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 500);
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let server = MockServer::start().await;
    Mock::given(path("/missing"))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&server)
        .await;
    let client = OutboundClient::new(&fast_config()).unwrap();
    let resp = client
        .get(&format!("{}/missing", server.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
}

#[tokio::test]
async fn retry_after_is_honoured_on_429() {
    let server = MockServer::start().await;
    Mock::given(path("/limited"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/limited"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let client = OutboundClient::new(&fast_config()).unwrap();
    let started = Instant::now();
    let resp = client
        .get(&format!("{}/limited", server.uri()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // The jittered backoff alone would wait at most 10 ms; the server asked for 1 s.
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "waited {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_post_body_is_replayed_when_the_server_did_not_act_on_it() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/orders"))
        .and(wiremock::matchers::body_string("{\"n\":1}"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/orders"))
        .and(wiremock::matchers::body_string("{\"n\":1}"))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    let client = OutboundClient::new(&fast_config()).unwrap();
    let resp = client
        .post(&format!("{}/orders", server.uri()))
        .body("{\"n\":1}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
}

#[tokio::test]
async fn a_post_that_may_have_been_acted_on_is_sent_once_unless_marked_idempotent() {
    let server = MockServer::start().await;
    // A create the server may have performed before failing: one attempt.
    Mock::given(method("POST"))
        .and(path("/campaigns"))
        .respond_with(ResponseTemplate::new(500))
        .expect(1)
        .mount(&server)
        .await;
    // A query sent as POST, marked: retried like a GET.
    Mock::given(method("POST"))
        .and(path("/search"))
        .respond_with(ResponseTemplate::new(502))
        .expect(3)
        .mount(&server)
        .await;
    let client = OutboundClient::new(&fast_config()).unwrap();
    let resp = client
        .post(&format!("{}/campaigns", server.uri()))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 500);
    let resp = Idempotent::mark(client.post(&format!("{}/search", server.uri())).body("{}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 502);
}

#[tokio::test]
async fn connection_refused_is_retried_and_then_reported() {
    // Bind and drop a listener so the port is closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = OutboundClient::new(&fast_config()).unwrap();
    let err = client
        .get(&format!("http://127.0.0.1:{port}/x"))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err}");
}

#[tokio::test]
async fn the_request_id_and_traceparent_of_the_served_request_are_propagated() {
    let server = MockServer::start().await;
    let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    Mock::given(path("/echo"))
        .and(header("x-request-id", "req-123"))
        .and(header("traceparent", tp))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let client = OutboundClient::new(&fast_config()).unwrap();
    let ctx = RequestContext {
        request_id: "req-123".into(),
        traceparent: Some(tp.into()),
    };
    let status = with_context(ctx, async {
        client
            .get(&format!("{}/echo", server.uri()))
            .send()
            .await
            .unwrap()
            .status()
    })
    .await;
    assert_eq!(status, 200);
}
