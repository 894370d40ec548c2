//! The edge middleware: request id and tracing span, metrics and the access
//! log (`edge`), the envelope for errors produced outside handlers
//! (`normalize_errors`), security headers, and the per-client-IP rate limit.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use kiki_core::ErrorCode;
use kiki_outbound::{RequestContext, with_context};
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::error::{ApiError, envelope_for_status};

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Counters the edge keeps for `/healthz` (Prometheus gets the same numbers).
#[derive(Debug, Default)]
pub struct EdgeCounters {
    pub requests_total: AtomicU64,
    pub errors_total: AtomicU64,
    pub in_flight: AtomicU64,
}

/// Accepts a client's request id only if it is short printable ASCII, so it
/// is safe to log and echo.
fn accept_request_id(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    (!s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic()))
        .then(|| s.to_owned())
}

struct HeaderExtractor<'a>(&'a HeaderMap);
impl opentelemetry::propagation::Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// Request id, span, context for outbound calls, metrics and the access log.
pub async fn edge(State(counters): State<Arc<EdgeCounters>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(accept_request_id)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    let traceparent = req
        .headers()
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .filter(|s| s.len() <= 128)
        .map(str::to_owned);
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());

    let span = tracing::info_span!(
        "http.request",
        otel.name = %format!("{method} {route}"),
        otel.kind = "server",
        request_id = %request_id,
        http.method = %method,
        http.route = %route,
        http.status_code = tracing::field::Empty,
        duration_ms = tracing::field::Empty,
    );
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(req.headers()));
    let _ = span.set_parent(parent);

    counters.in_flight.fetch_add(1, Ordering::Relaxed);
    metrics::gauge!("kiki_http_requests_in_flight").increment(1.0);
    let ctx = RequestContext {
        request_id: request_id.clone(),
        traceparent,
    };
    let route_info = crate::error_tracking::RouteInfo {
        method: method.to_string(),
        route: route.clone(),
    };
    let mut resp = with_context(
        ctx,
        crate::error_tracking::with_route(route_info, next.run(req).instrument(span.clone())),
    )
    .await;
    counters.in_flight.fetch_sub(1, Ordering::Relaxed);
    metrics::gauge!("kiki_http_requests_in_flight").decrement(1.0);

    let status = resp.status().as_u16();
    let elapsed = started.elapsed();
    let duration_ms = elapsed.as_secs_f64() * 1000.0;
    span.record("http.status_code", status);
    span.record("duration_ms", duration_ms);
    counters.requests_total.fetch_add(1, Ordering::Relaxed);
    if status >= 500 {
        counters.errors_total.fetch_add(1, Ordering::Relaxed);
    }
    let labels = [
        ("method", method.to_string()),
        ("route", route.clone()),
        ("status", status.to_string()),
    ];
    metrics::counter!("kiki_http_requests_total", &labels).increment(1);
    metrics::histogram!("kiki_http_request_duration_seconds", &labels)
        .record(elapsed.as_secs_f64());
    tracing::info!(
        parent: &span,
        http.method = %method,
        http.route = %route,
        http.status_code = status,
        duration_ms,
        "request finished"
    );
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        resp.headers_mut().insert(X_REQUEST_ID.clone(), v);
    }
    resp
}

/// Gives every error response without a JSON body (axum's 405, the timeout's
/// 408, the body limit's 413, …) the standard envelope, keeping its headers.
pub async fn normalize_errors(req: Request, next: Next) -> Response {
    normalize_response(next.run(req).await)
}

/// The work of [`normalize_errors`] on a finished response, for servers that
/// map responses without an async middleware (the bidder's exchange listener).
pub fn normalize_response<B>(resp: axum::http::Response<B>) -> Response
where
    B: axum::body::HttpBody<Data = axum::body::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    let resp = resp.map(axum::body::Body::new);
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    // The dashboard's error pages are HTML for people; they keep their body.
    let is_html = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"));
    if is_json || is_html {
        return resp;
    }
    let (parts, _) = resp.into_parts();
    let mut fresh = envelope_for_status(status).into_response();
    *fresh.status_mut() = status;
    for name in [header::ALLOW, header::RETRY_AFTER, header::WWW_AUTHENTICATE] {
        if let Some(v) = parts.headers.get(&name) {
            fresh.headers_mut().insert(name, v.clone());
        }
    }
    fresh
}

/// Security headers on every response; a strict CSP on HTML pages (unless
/// the route set its own, as the dashboard does).
pub async fn security_headers(
    State(behind_tls): State<bool>,
    req: Request,
    next: Next,
) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // A route that states its own policy (the dashboard's stricter one) keeps it.
    h.entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("strict-origin-when-cross-origin"));
    let is_html = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"));
    let csp = if is_html {
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
         font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    } else {
        "default-src 'none'; frame-ancestors 'none'"
    };
    h.entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(csp));
    if is_html {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    if behind_tls {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    resp
}

/// A token bucket per client address (GCRA). With Redis configured the
/// bucket lives in Redis, so every replica counts one client against the
/// same limit; without it (or while Redis is unreachable) each process keeps
/// its own (the `governor` crate).
#[derive(Debug)]
pub struct RateLimit {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    shared: Option<kiki_store::Cache>,
    interval: std::time::Duration,
    burst: u32,
    trust_forwarded_for: bool,
    checks: AtomicU64,
}

impl RateLimit {
    pub fn new(per_second: u32, burst: u32, trust_forwarded_for: bool) -> Self {
        let per_second = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        RateLimit {
            limiter: RateLimiter::keyed(Quota::per_second(per_second).allow_burst(burst)),
            shared: None,
            interval: std::time::Duration::from_secs(1) / per_second.get(),
            burst: burst.get(),
            trust_forwarded_for,
            checks: AtomicU64::new(0),
        }
    }

    /// Counts in Redis through `cache` when it is backed by Redis.
    pub fn shared_through(mut self, cache: &kiki_store::Cache) -> Self {
        if cache.is_redis() {
            self.shared = Some(cache.clone());
        }
        self
    }

    /// `Ok` or the wait until the client's next request fits.
    async fn check(&self, ip: IpAddr) -> Result<(), std::time::Duration> {
        if let Some(cache) = &self.shared
            && let Some(verdict) = cache
                .rate_check(
                    &format!("{}/{}:{ip}", self.interval.as_micros(), self.burst),
                    self.interval,
                    self.burst,
                )
                .await
        {
            return verdict;
        }
        // Forget idle clients now and then so the map stays small.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(&ip)
            .map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()))
    }

    /// The address a request is counted against.
    pub fn client_ip(&self, req: &Request) -> Option<IpAddr> {
        if self.trust_forwarded_for
            && let Some(ip) = req
                .headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|s| s.trim().parse().ok())
        {
            return Some(ip);
        }
        req.extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
    }
}

pub async fn rate_limit(State(rl): State<Arc<RateLimit>>, req: Request, next: Next) -> Response {
    if let Some(ip) = rl.client_ip(&req)
        && let Err(wait) = rl.check(ip).await
    {
        let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        metrics::counter!("kiki_http_rate_limited_total").increment(1);
        let mut err = ApiError::new(
            ErrorCode::RateLimited,
            "Too many requests from this address; retry after the time in Retry-After.",
        );
        err.retry_after = Some(secs.max(1));
        return err.into_response();
    }
    next.run(req).await
}

/// 500 envelope for a panicking handler; the panic message is logged, not sent.
pub fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let detail = err
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| err.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    // Error tracking reported the panic from its hook, with the location.
    tracing::error!(error.cause = %format!("handler panicked: {detail}"), "internal error");
    ApiError::new(ErrorCode::Internal, kiki_core::INTERNAL_MESSAGE).into_response()
}
