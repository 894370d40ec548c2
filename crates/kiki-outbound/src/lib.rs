//! One HTTP client for every external API KIKI calls (ad platforms, LLMs,
//! stores, webhooks, Vault): connect and request timeouts, retry with
//! exponential backoff and full jitter on connect errors, 429 and 5xx (honouring
//! `Retry-After`; a POST or PATCH only where the server did not act on it, unless
//! marked [`Idempotent`]), propagation of the caller's request id and W3C `traceparent`,
//! and per-host metrics. Context crates take an [`OutboundClient`] and never
//! build their own `reqwest::Client`.

pub mod context;
mod retry;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use context::{RequestContext, current_context, with_context};
pub use reqwest_middleware::{ClientWithMiddleware, Error, RequestBuilder};
pub use retry::{Idempotent, RetryPolicy};

/// Settings shared by every outbound call (section `[outbound]` of the config).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct OutboundConfig {
    /// Time allowed to open a connection, in milliseconds.
    pub connect_timeout_ms: u64,
    /// Time allowed for a whole attempt (connect, send, read), in milliseconds.
    pub request_timeout_ms: u64,
    /// Attempts in total, including the first (3 = the first try plus two retries).
    pub max_attempts: u32,
    /// First backoff delay; doubles each retry, with full jitter.
    pub backoff_base_ms: u64,
    /// Upper bound for one wait, including a server's `Retry-After`.
    pub backoff_max_ms: u64,
    /// `User-Agent` sent on every call.
    pub user_agent: String,
}

impl Default for OutboundConfig {
    fn default() -> Self {
        OutboundConfig {
            connect_timeout_ms: 5_000,
            request_timeout_ms: 30_000,
            max_attempts: 3,
            backoff_base_ms: 200,
            backoff_max_ms: 30_000,
            user_agent: concat!("kiki/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// The shared outbound client. Cheap to clone.
#[derive(Clone, Debug)]
pub struct OutboundClient {
    inner: ClientWithMiddleware,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("the HTTP client could not be built: {0}")]
    Client(#[from] reqwest::Error),
}

impl OutboundClient {
    pub fn new(cfg: &OutboundConfig) -> Result<Self, BuildError> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_millis(cfg.connect_timeout_ms))
            .timeout(Duration::from_millis(cfg.request_timeout_ms))
            .user_agent(cfg.user_agent.clone())
            .build()?;
        let inner = reqwest_middleware::ClientBuilder::new(client)
            .with(context::PropagateContext)
            .with(retry::RetryMiddleware::new(RetryPolicy::from_config(cfg)))
            .with(retry::HostMetrics)
            .build();
        Ok(OutboundClient { inner })
    }

    /// The middleware-wrapped client: `client.get(url).send().await`.
    pub fn http(&self) -> &ClientWithMiddleware {
        &self.inner
    }

    pub fn get(&self, url: &str) -> RequestBuilder {
        self.inner.get(url)
    }

    pub fn post(&self, url: &str) -> RequestBuilder {
        self.inner.post(url)
    }
}
