//! Retry with exponential backoff and full jitter (the "Full Jitter" scheme of
//! the AWS Architecture Blog's "Exponential Backoff And Jitter"), honouring a
//! server's `Retry-After` (RFC 9110 §10.2.3, seconds or HTTP date), and per-host
//! request metrics.

use std::time::{Duration, Instant, SystemTime};

use rand::RngExt;
use reqwest::{Request, Response, StatusCode};
use reqwest_middleware::{Middleware, Next};

use crate::OutboundConfig;

/// When and how long to wait between attempts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base: Duration,
    pub max: Duration,
}

impl RetryPolicy {
    pub fn from_config(cfg: &OutboundConfig) -> Self {
        RetryPolicy {
            max_attempts: cfg.max_attempts.max(1),
            base: Duration::from_millis(cfg.backoff_base_ms),
            max: Duration::from_millis(cfg.backoff_max_ms),
        }
    }

    /// The ceiling for the wait after failed attempt `attempt` (1-based):
    /// base × 2^(attempt−1), capped.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.max)
    }
}

/// A status worth retrying: 408, 429 and 5xx except 501 (not implemented).
pub(crate) fn retryable_status(s: StatusCode) -> bool {
    s == StatusCode::REQUEST_TIMEOUT
        || s == StatusCode::TOO_MANY_REQUESTS
        || (s.is_server_error() && s != StatusCode::NOT_IMPLEMENTED)
}

/// A status that says the server did not act on the request, so even a
/// request that is not idempotent may be sent again: 408 (it stopped
/// waiting for the request), 429 (refused by its rate limit) and 503 (it
/// could not take requests).
pub(crate) fn not_acted_on(s: StatusCode) -> bool {
    s == StatusCode::REQUEST_TIMEOUT
        || s == StatusCode::TOO_MANY_REQUESTS
        || s == StatusCode::SERVICE_UNAVAILABLE
}

/// Marks a request whose repetition does no harm though its method is not
/// idempotent (a read sent as POST, such as a query API; a text
/// generation): it is retried like a GET. Set with
/// [`crate::Idempotent::mark`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Idempotent;

impl Idempotent {
    /// The request builder with the mark.
    pub fn mark(builder: crate::RequestBuilder) -> crate::RequestBuilder {
        builder.with_extension(Idempotent)
    }
}

/// Parses `Retry-After` as delta-seconds or an HTTP date.
pub(crate) fn retry_after(resp: &Response, now: SystemTime) -> Option<Duration> {
    let v = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

pub(crate) struct RetryMiddleware {
    policy: RetryPolicy,
}

impl RetryMiddleware {
    pub(crate) fn new(policy: RetryPolicy) -> Self {
        RetryMiddleware { policy }
    }
}

#[async_trait::async_trait]
impl Middleware for RetryMiddleware {
    async fn handle(
        &self,
        req: Request,
        ext: &mut http::Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        // RFC 9110 §9.2.2: a request with an idempotent method may be sent
        // again after any failure. Another (POST, PATCH) may have been acted
        // on before a 500, 502 or 504 or a timeout (a campaign created on an
        // ad platform that then failed to answer), so it is sent again only
        // when the server said it did not act, or the connection was never
        // made — unless the caller marked it [`Idempotent`].
        let replayable = req.method().is_idempotent() || ext.get::<Idempotent>().is_some();
        let mut attempt = 1;
        loop {
            // A streaming body cannot be replayed: such a request gets one attempt.
            let Some(this_try) = req.try_clone() else {
                return next.run(req, ext).await;
            };
            let outcome = next.clone().run(this_try, ext).await;
            let wait = match &outcome {
                Ok(resp)
                    if retryable_status(resp.status())
                        && (replayable || not_acted_on(resp.status())) =>
                {
                    retry_after(resp, SystemTime::now()).map(|d| d.min(self.policy.max))
                }
                Ok(_) => return outcome,
                Err(reqwest_middleware::Error::Reqwest(e))
                    if e.is_connect() || (e.is_timeout() && replayable) =>
                {
                    None
                }
                Err(_) => return outcome,
            };
            if attempt >= self.policy.max_attempts {
                return outcome;
            }
            let wait = wait.unwrap_or_else(|| {
                let ceiling = self.policy.ceiling(attempt).as_millis() as u64;
                Duration::from_millis(rand::rng().random_range(0..=ceiling))
            });
            // Host and path only: a query string may carry credentials (an
            // OAuth token exchange by GET), and logs must never hold them.
            tracing::debug!(
                http.host = req.url().host_str().unwrap_or(""),
                http.path = req.url().path(),
                attempt,
                wait_ms = wait.as_millis() as u64,
                "retrying outbound call"
            );
            metrics::counter!("kiki_outbound_retries_total",
                "host" => req.url().host_str().unwrap_or("").to_owned())
            .increment(1);
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

/// Counts every attempt and its latency by host and status class.
pub(crate) struct HostMetrics;

#[async_trait::async_trait]
impl Middleware for HostMetrics {
    async fn handle(
        &self,
        req: Request,
        ext: &mut http::Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let host = req.url().host_str().unwrap_or("").to_owned();
        let method = req.method().to_string();
        let started = Instant::now();
        let span = tracing::info_span!("http.client", http.method = %method, server.address = %host,
            http.status_code = tracing::field::Empty);
        let outcome = {
            let _enter = span.enter();
            next.run(req, ext).await
        };
        let status = match &outcome {
            Ok(r) => {
                span.record("http.status_code", r.status().as_u16());
                r.status().as_u16().to_string()
            }
            Err(_) => "error".to_owned(),
        };
        metrics::counter!("kiki_outbound_requests_total", "host" => host.clone(), "status" => status)
            .increment(1);
        metrics::histogram!("kiki_outbound_request_duration_seconds", "host" => host)
            .record(started.elapsed().as_secs_f64());
        outcome
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_ceiling_doubles_and_is_capped() {
        let p = RetryPolicy {
            max_attempts: 5,
            base: Duration::from_millis(100),
            max: Duration::from_millis(350),
        };
        assert_eq!(p.ceiling(1), Duration::from_millis(100));
        assert_eq!(p.ceiling(2), Duration::from_millis(200));
        assert_eq!(p.ceiling(3), Duration::from_millis(350));
        assert_eq!(p.ceiling(40), Duration::from_millis(350));
    }

    #[test]
    fn only_transient_statuses_are_retried() {
        for (s, want) in [
            (429, true),
            (500, true),
            (503, true),
            (408, true),
            (501, false),
            (404, false),
            (400, false),
            (200, false),
        ] {
            assert_eq!(
                retryable_status(StatusCode::from_u16(s).unwrap()),
                want,
                "{s}"
            );
        }
    }
}
