//! The exchange listener (`bidder.exchange_listen`): the OpenRTB endpoints on
//! the bidder's own port — bids, notices and trackers with the same handlers
//! as the API router, keep-alive across requests and after an early answer,
//! 404/405 for anything else, roles, a busy address, and shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use kiki_bidder_service::BidderModule;
use kiki_bidder_service::openrtb::listener::ExchangeAddress;
use kiki_test_support::TestApp;
use kiki_test_support::identity::json;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::*;

/// An app whose bidder also listens on its own port; that port's address.
async fn exchange_app(extra: Value, roles: &str) -> (TestApp, Option<SocketAddr>) {
    let mut section = json!({ "exchange_listen": "127.0.0.1:0" });
    if let (Some(o), Value::Object(e)) = (section.as_object_mut(), extra) {
        o.extend(e);
    }
    let app = app_with(section, roles).await;
    let addr = app.state.services.get::<ExchangeAddress>().map(|a| a.0);
    (app, addr)
}

fn at(addr: SocketAddr, path: &str) -> String {
    format!("http://{addr}{path}")
}

/// One HTTP/1.1 request written on `stream` and its answer read back:
/// (status, headers in lower case, body).
async fn exchange(stream: &mut TcpStream, request: &[u8]) -> (u16, String, Vec<u8>) {
    stream.write_all(request).await.unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the connection closed before an answer");
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..head_end].to_vec())
        .unwrap()
        .to_ascii_lowercase();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the connection closed inside an answer");
        buf.extend_from_slice(&chunk[..n]);
    }
    (status, head, buf[head_end..head_end + length].to_vec())
}

fn bid_request(body: &[u8], key: &str) -> Vec<u8> {
    let mut r = format!(
        "POST /openrtb2/bid HTTP/1.1\r\nhost: exchange\r\ncontent-type: application/json\r\nx-kiki-exchange-key: {key}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

#[tokio::test]
async fn bids_and_notices_are_served_on_the_exchange_listener() {
    let (app, addr) = exchange_app(json!({}), "all").await;
    let addr = addr.expect("the bidder role binds its listener");
    assert_ne!(addr, app.addr);
    let o = owner(&app).await;
    create_live(&o.caller(&app), &banner("on-its-own-port")).await;

    let r = app
        .client
        .post(at(addr, "/openrtb2/bid"))
        .header("x-kiki-exchange-key", KEY)
        .header("content-type", "application/json")
        .body(fixture("banner_site_2_6.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-openrtb-version"], "2.6");
    // Outside the edge stack: no request id, no access-log span.
    assert!(r.headers().get("x-request-id").is_none());
    let (status, body) = json(r).await;
    assert_eq!(status, 200, "{body}");
    let won = &body["seatbid"][0]["bid"][0];
    assert_eq!(won["crid"], "on-its-own-port-cr");

    // The win notice on the same port books the bid.
    let path = notice_path(won["nurl"].as_str().unwrap(), "1.10");
    let r = app
        .client
        .get(at(addr, &path))
        .header("x-kiki-exchange-key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-kiki-notice-status"], "applied");

    // Without the key: 401 with the envelope and the reason.
    let r = app
        .client
        .post(at(addr, "/openrtb2/bid"))
        .body(fixture("banner_site_2_6.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-openrtb-version"], "2.6");
    let (status, body) = json(r).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthenticated");

    // Only the OpenRTB paths, each with its methods.
    let r = app
        .client
        .get(at(addr, "/openrtb2/bid"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["allow"], "POST");
    let (status, body) = json(r).await;
    assert_eq!(status, 405);
    assert_eq!(body["error"]["code"], "method_not_allowed");
    for path in ["/v1/bidder/line-items", "/livez", "/openapi.json"] {
        let (status, body) = json(app.client.get(at(addr, path)).send().await.unwrap()).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["error"]["code"], "not_found", "{path}");
    }
    // The API router still serves the same endpoints, under the edge stack.
    let r = bid(&app, fixture("banner_site_2_6.json")).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("x-request-id"));
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_allow_listed_source_address_is_read_from_the_connection() {
    let (app, addr) = exchange_app(
        json!({ "exchanges": [{ "name": "local", "allowed_addrs": ["127.0.0.0/8"] }] }),
        "bidder",
    )
    .await;
    let r = app
        .client
        .post(at(addr.unwrap(), "/openrtb2/bid"))
        .body(fixture("banner_site_2_6.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204, "no line items: a no-bid, not a 401");
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn one_connection_carries_request_after_request() {
    let (app, addr) = exchange_app(json!({}), "bidder").await;
    let mut stream = TcpStream::connect(addr.unwrap()).await.unwrap();
    let body = fixture("banner_site_2_6.json");
    for round in 0..3 {
        let (status, head, _) = exchange(&mut stream, &bid_request(&body, KEY)).await;
        assert_eq!(status, 204, "round {round}: {head}");
        assert!(!head.contains("connection: close"), "round {round}: {head}");
    }
    // A tracker call (GET, no body) on the same connection.
    let li = uuid::Uuid::now_v7();
    let (status, head, _) = exchange(
        &mut stream,
        format!("GET /openrtb2/imp?li={li} HTTP/1.1\r\nhost: exchange\r\n\r\n").as_bytes(),
    )
    .await;
    assert_eq!(status, 204, "{head}");
    assert!(head.contains("x-kiki-tracker-status: unsigned"), "{head}");
    assert!(!head.contains("connection: close"), "{head}");
    let (status, _, _) = exchange(&mut stream, &bid_request(&body, KEY)).await;
    assert_eq!(status, 204);
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_pooled_connection_survives_a_401_sent_before_the_body_was_read() {
    let (app, addr) = exchange_app(json!({}), "bidder").await;
    let addr = addr.unwrap();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    let big = vec![b' '; 200 * 1024];
    for round in 0..20 {
        let rejected = client
            .post(at(addr, "/openrtb2/bid"))
            .header("x-kiki-exchange-key", "wrong-key")
            .body(big.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("round {round}: the rejected request failed: {e}"));
        assert_eq!(rejected.status(), 401);
        assert_eq!(
            rejected.headers().get("connection").map(|v| v.as_bytes()),
            Some(&b"close"[..]),
            "round {round}: an unread body closes the connection, and says so"
        );
        let next = client
            .post(at(addr, "/openrtb2/bid"))
            .header("x-kiki-exchange-key", KEY)
            .body(fixture("banner_site_2_6.json"))
            .send()
            .await
            .unwrap_or_else(|e| panic!("round {round}: the next request failed: {e}"));
        assert_eq!(next.status(), 204);
        // A body read to its end keeps the connection.
        assert!(next.headers().get("connection").is_none());
    }
    // Over 256 KiB: 413 before the end of the body, and the same close.
    let too_big = client
        .post(at(addr, "/openrtb2/bid"))
        .header("x-kiki-exchange-key", KEY)
        .body(vec![b' '; 600 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(too_big.status(), 413);
    assert_eq!(too_big.headers()["connection"], "close");
    let after = client
        .post(at(addr, "/openrtb2/bid"))
        .header("x-kiki-exchange-key", KEY)
        .body(fixture("banner_site_2_6.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 204);
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn shutdown_closes_idle_connections_and_refuses_new_ones() {
    let (app, addr) = exchange_app(json!({}), "bidder").await;
    let addr = addr.unwrap();
    let mut idle = TcpStream::connect(addr).await.unwrap();
    let (status, _, _) = exchange(
        &mut idle,
        &bid_request(&fixture("banner_site_2_6.json"), KEY),
    )
    .await;
    assert_eq!(status, 204);
    app.shutdown().await.unwrap();
    // The kept-alive connection was closed by the server ...
    let mut rest = Vec::new();
    let n = idle.read_to_end(&mut rest).await.unwrap_or(0);
    assert_eq!(n, 0, "no answer to nothing: {rest:?}");
    // ... and nothing listens on the port any more.
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn only_the_bidder_role_opens_the_listener() {
    let (app, addr) = exchange_app(json!({}), "api,worker").await;
    assert_eq!(addr, None);
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_busy_exchange_address_stops_start_up_naming_the_setting() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = busy.local_addr().unwrap().to_string();
    let db = kiki_store::testing::fresh_db().await;
    let mut config = kiki_server::Config::default();
    config.database.url = db.url().to_owned();
    config.set_section("bidder", section(json!({ "exchange_listen": taken })));
    let err = kiki_server::Application::build_with(
        config,
        kiki_server::BuildOptions {
            listener: Some(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()),
            modules: vec![Arc::new(BidderModule::new())],
            ..Default::default()
        },
    )
    .await
    .expect_err("start-up fails");
    let text = format!("{err:#}");
    assert!(text.contains("bidder.exchange_listen"), "{text}");
    assert!(text.contains(&taken), "{text}");
    drop(busy);
    db.cleanup().await;
}
