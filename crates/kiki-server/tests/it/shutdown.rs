//! Graceful shutdown: in-flight requests finish, new connections are refused.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use kiki_test_support::TestApp;

#[tokio::test]
async fn a_slow_request_started_before_shutdown_completes_and_new_connections_are_refused() {
    let app = TestApp::builder()
        .routes(Router::new().route(
            "/test/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_millis(800)).await;
                "finished"
            }),
        ))
        .spawn()
        .await;
    let url = app.url("/test/slow");
    let client = app.client.clone();
    let in_flight = tokio::spawn(async move { client.get(url).send().await });
    // Let the slow request reach the handler before shutting down.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let addr = app.addr;
    let mut app = app;
    app.begin_shutdown();
    tokio::time::sleep(Duration::from_millis(100)).await;

    let refused = tokio::net::TcpStream::connect(addr).await;
    assert!(
        refused.is_err(),
        "a new connection after shutdown must be refused"
    );

    let resp = in_flight
        .await
        .unwrap()
        .expect("the in-flight request completes");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "finished");
    app.shutdown().await.expect("the server exits cleanly");
}
