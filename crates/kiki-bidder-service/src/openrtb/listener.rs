//! The exchange listener: the bidder's own HTTP/1.1 server for exchanges
//! (`bidder.exchange_listen`), the one place in the product where a request
//! does not go through the edge stack.
//!
//! It serves the OpenRTB paths only — `POST /openrtb2/bid`, the win, billing
//! and loss notices, the impression and click trackers — with the same
//! handlers as the API router's routes, and nothing else (404, or 405 with
//! `Allow`). What the edge stack does for other routes it does in the form
//! the bid path can afford:
//!
//! - **Connections:** one hyper HTTP/1.1 connection per accepted socket
//!   (`TCP_NODELAY`), keep-alive on; a connection that sends no complete
//!   request head within `http.request_timeout_secs` is closed (this also
//!   bounds how long an idle keep-alive connection stays open).
//! - **Keep-alive after an early answer:** the answer to a request whose body
//!   was not read to its end (a 401 before the body, a 413) says
//!   `Connection: close`, exactly as on the API router
//!   (`kiki_server::keepalive`).
//! - **Bodies:** the bid handler bounds the body and its gzip inflation by
//!   `max_body_bytes` (413) and gzips its answer when asked; the other
//!   handlers never read a body. No compression layer, no body-limit layer.
//! - **Errors:** a panicking handler answers 500 with the envelope, and an
//!   error status without a JSON body gets one (`guarded`); every answer
//!   carries `x-openrtb-version`.
//! - **Metrics and log:** the engine counts requests, bids and no-bids, the
//!   notice and tracker handlers count their outcomes; the listener adds open
//!   and accepted connections and answers of 400 or above by status
//!   (`kiki_bidder_exchange_*`). There is no access-log line per request (at
//!   tens of thousands of bids a second it would cost more than the bid): a
//!   5xx is logged as an error, a 4xx at debug level.
//! - **Shutdown:** when the process's cancel token fires, the listener stops
//!   accepting at once, lets requests in flight finish, closes idle
//!   connections, and gives up after `http.shutdown_grace_secs`.
//!
//! No request id, span, rate limit, CORS or timeout layer runs here: an
//! exchange is authenticated (key or source address) before its body is
//! read, and the bid path never waits on anything but that body.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use kiki_bidder::NoticeKind;
use kiki_core::ErrorCode;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{bid, click, error, impression, notice};
use crate::service::BidderService;

/// The address the exchange listener is bound to (the port is known once
/// bound, `…:0` in tests); provided as a service when the listener runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExchangeAddress(pub SocketAddr);

/// How the listener treats its connections.
#[derive(Debug, Clone, Copy)]
pub struct ListenerSettings {
    /// A connection that sends no complete request head in this time is
    /// closed (idle keep-alive connections included).
    pub header_timeout: Duration,
    /// How long shutdown waits for requests in flight.
    pub shutdown_grace: Duration,
}

/// The bidder's own listener, bound and not yet serving.
#[derive(Debug)]
pub struct ExchangeListener {
    listener: TcpListener,
    svc: Arc<BidderService>,
    settings: ListenerSettings,
}

impl ExchangeListener {
    /// Binds `addr` (`bidder.exchange_listen`); the error names the setting.
    pub async fn bind(
        addr: &str,
        svc: Arc<BidderService>,
        settings: ListenerSettings,
    ) -> anyhow::Result<ExchangeListener> {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("binding bidder.exchange_listen {addr}"))?;
        Ok(ExchangeListener {
            listener,
            svc,
            settings,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> anyhow::Result<SocketAddr> {
        Ok(self.listener.local_addr()?)
    }

    /// Serves until `cancel` fires, then drains (see the module notes).
    pub fn spawn(self, cancel: CancellationToken) -> JoinHandle<()> {
        tokio::spawn(self.run(cancel))
    }

    async fn run(self, cancel: CancellationToken) {
        let ExchangeListener {
            listener,
            svc,
            settings,
        } = self;
        let mut http = hyper::server::conn::http1::Builder::new();
        http.keep_alive(true)
            .timer(TokioTimer::new())
            .header_read_timeout(settings.header_timeout);
        let graceful = GracefulShutdown::new();
        loop {
            let accepted = tokio::select! {
                biased;
                _ = cancel.cancelled() => break,
                a = listener.accept() => a,
            };
            let (stream, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %e, "exchange listener: accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            metrics::counter!("kiki_bidder_exchange_connections_total").increment(1);
            // One handle per connection: every request of the connection
            // clones this `Arc`, whose count no other connection writes.
            let conn = Arc::new(Connection {
                svc: svc.clone(),
                peer,
            });
            let service = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                serve(conn.clone(), req)
            });
            let served = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
            tokio::spawn(async move {
                let open = metrics::gauge!("kiki_bidder_exchange_connections_open");
                open.increment(1.0);
                if let Err(e) = served.await {
                    tracing::debug!(error = %e, %peer, "exchange connection ended with an error");
                }
                open.decrement(1.0);
            });
        }
        drop(listener);
        tracing::info!("exchange listener: no new connections; draining");
        if tokio::time::timeout(settings.shutdown_grace, graceful.shutdown())
            .await
            .is_err()
        {
            tracing::warn!(
                grace_secs = settings.shutdown_grace.as_secs(),
                "exchange listener: grace period over; closing the remaining connections"
            );
        }
    }
}

/// What every request of one connection shares.
struct Connection {
    svc: Arc<BidderService>,
    peer: SocketAddr,
}

/// An OpenRTB path and the methods it takes.
#[derive(Debug, Clone, Copy)]
enum Route {
    Bid,
    Notice(NoticeKind),
    Impression,
    Click,
}

impl Route {
    fn of(path: &str) -> Option<Route> {
        Some(match path {
            "/openrtb2/bid" => Route::Bid,
            "/openrtb2/win" => Route::Notice(NoticeKind::Win),
            "/openrtb2/billing" => Route::Notice(NoticeKind::Billing),
            "/openrtb2/loss" => Route::Notice(NoticeKind::Loss),
            "/openrtb2/imp" => Route::Impression,
            "/openrtb2/click" => Route::Click,
            _ => return None,
        })
    }

    fn allows(self, m: &Method) -> bool {
        match self {
            Route::Bid => m == Method::POST,
            Route::Notice(_) => m == Method::GET || m == Method::POST,
            Route::Impression | Route::Click => m == Method::GET,
        }
    }

    fn allow_header(self) -> &'static str {
        match self {
            Route::Bid => "POST",
            Route::Notice(_) => "GET,POST",
            Route::Impression | Route::Click => "GET",
        }
    }
}

async fn serve(
    conn: Arc<Connection>,
    req: hyper::Request<Incoming>,
) -> Result<Response, Infallible> {
    let (req, watch) = kiki_server::keepalive::watch_body(req);
    let req = req.map(Body::new);
    let mut resp = guarded(dispatch(&conn, req)).await;
    watch.finish(&mut resp);
    let status = resp.status();
    if status.as_u16() >= 400 {
        note_error(status);
    }
    Ok(resp)
}

async fn dispatch(conn: &Connection, req: axum::extract::Request) -> Response {
    let Some(route) = Route::of(req.uri().path()) else {
        return error(
            ErrorCode::NotFound,
            "The exchange listener serves /openrtb2/bid, /openrtb2/win, /openrtb2/billing, /openrtb2/loss, /openrtb2/imp and /openrtb2/click only.",
        );
    };
    if !route.allows(req.method()) {
        let mut r = error(
            ErrorCode::MethodNotAllowed,
            format!("Use {} on this path.", route.allow_header()),
        );
        r.headers_mut().insert(
            header::ALLOW,
            HeaderValue::from_static(route.allow_header()),
        );
        return r;
    }
    let svc = &conn.svc;
    let peer = Some(conn.peer);
    match route {
        Route::Bid => bid(svc, req, peer).await,
        Route::Notice(kind) => notice(svc, kind, req, peer).await,
        Route::Impression => impression(svc, req).await,
        Route::Click => click(svc, req).await,
    }
}

/// What the edge stack's panic catcher and error normaliser do, around one
/// handler's future and without a layer: a panic is logged and answered 500,
/// an error status without a JSON body gets the envelope.
async fn guarded<F>(handler: F) -> Response
where
    F: std::future::Future<Output = Response>,
{
    use futures::FutureExt as _;
    match std::panic::AssertUnwindSafe(handler).catch_unwind().await {
        Ok(resp) => kiki_server::middleware::normalize_response(resp),
        Err(panic) => {
            let mut r = kiki_server::middleware::panic_response(panic);
            r.headers_mut().insert(
                super::VERSION_HEADER,
                HeaderValue::from_static(kiki_bidder::OPENRTB_VERSION_HEADER.1),
            );
            r
        }
    }
}

/// Counts (and for a 5xx, logs) an answer of 400 or above.
fn note_error(status: StatusCode) {
    let label = match status.as_u16() {
        400 => "400",
        401 => "401",
        404 => "404",
        405 => "405",
        413 => "413",
        415 => "415",
        422 => "422",
        500 => "500",
        s if s >= 500 => "5xx",
        _ => "4xx",
    };
    metrics::counter!("kiki_bidder_exchange_errors_total", "status" => label).increment(1);
    if status.is_server_error() {
        tracing::error!(status = status.as_u16(), "exchange listener: server error");
    } else {
        tracing::debug!(status = status.as_u16(), "exchange listener: client error");
    }
}
