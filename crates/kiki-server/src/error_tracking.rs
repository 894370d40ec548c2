//! Error tracking to a Sentry-compatible endpoint, off until
//! `telemetry.sentry_dsn` is set: panics (in a handler or anywhere else) and
//! the causes of 5xx responses become one event each, sent by the `sentry`
//! client over its reqwest transport (the workspace's reqwest) on a thread
//! of its own.
//!
//! An event carries the message (the cause), the request id, the route and
//! method when it happened inside a request, the release (`kiki@VERSION`)
//! and the environment. Nothing else: no request body, no headers (so no
//! `Authorization`), no user, no server name. Every message is scrubbed
//! before it leaves: the configuration's secret values, `Bearer` tokens and
//! passwords in URLs are replaced by `[redacted]`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use secrecy::ExposeSecret;
use sentry::protocol::{Event, Exception, Level};

use crate::config::Config;

static TRACKER: RwLock<Option<Arc<Tracker>>> = RwLock::new(None);

fn tracker() -> Option<Arc<Tracker>> {
    TRACKER.read().unwrap_or_else(|e| e.into_inner()).clone()
}

fn set_tracker(t: Option<Arc<Tracker>>) -> Option<Arc<Tracker>> {
    std::mem::replace(&mut *TRACKER.write().unwrap_or_else(|e| e.into_inner()), t)
}

/// The route of the request being served, for events raised while serving it.
#[derive(Debug, Clone)]
pub struct RouteInfo {
    pub method: String,
    pub route: String,
}

tokio::task_local! {
    static ROUTE: RouteInfo;
}

/// Runs `f` with `info` as the route events raised inside it report.
pub async fn with_route<F: Future>(info: RouteInfo, f: F) -> F::Output {
    ROUTE.scope(info, f).await
}

/// Builds the `sentry` reqwest transport over the workspace's reqwest client.
struct OverWorkspaceClient(reqwest::Client);

impl sentry::TransportFactory for OverWorkspaceClient {
    fn create_transport_with_options(
        &self,
        options: sentry::TransportOptions,
    ) -> Arc<dyn sentry::Transport> {
        Arc::new(
            sentry::transports::ReqwestHttpTransportOptions::from(options)
                .with_client(self.0.clone())
                .build(),
        )
    }
}

struct Tracker {
    client: Arc<sentry::Client>,
    scrubber: Scrubber,
}

/// Flushes pending events and stops sending when dropped (or on `shutdown`).
#[derive(Debug)]
pub struct ErrorTrackingGuard {
    _private: (),
}

impl ErrorTrackingGuard {
    pub fn shutdown(&self) {
        if let Some(t) = set_tracker(None) {
            t.client.close(Some(Duration::from_secs(2)));
        }
    }
}

impl Drop for ErrorTrackingGuard {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts error tracking when `telemetry.sentry_dsn` is set (`None`
/// otherwise: nothing is ever sent), and installs the panic hook that
/// reports panics (the previous hook still runs).
pub fn init(config: &Config) -> anyhow::Result<Option<ErrorTrackingGuard>> {
    let Some(dsn) = config
        .telemetry
        .sentry_dsn
        .as_ref()
        .map(|d| d.expose_secret().trim().to_owned())
        .filter(|d| !d.is_empty())
    else {
        return Ok(None);
    };
    let dsn: sentry::types::Dsn = dsn
        .parse()
        .map_err(|e| anyhow::anyhow!("telemetry.sentry_dsn is not a DSN: {e}"))?;
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_millis(config.outbound.connect_timeout_ms))
        .timeout(Duration::from_millis(config.outbound.request_timeout_ms))
        .user_agent(config.outbound.user_agent.clone())
        .build()?;
    let mut options = sentry::ClientOptions::new();
    options.dsn = Some(dsn);
    options.release = Some(Cow::Owned(format!("kiki@{}", crate::VERSION)));
    options.environment = Some(Cow::Borrowed(if config.is_production() {
        "production"
    } else {
        "development"
    }));
    options.send_default_pii = false;
    options.default_integrations = false;
    options.attach_stacktrace = false;
    options.server_name = None;
    options.transport = Some(Arc::new(OverWorkspaceClient(http)));
    options.shutdown_timeout = Duration::from_secs(2);
    let client = Arc::new(sentry::Client::from_config(options));
    set_tracker(Some(Arc::new(Tracker {
        client,
        scrubber: Scrubber::from_config(config),
    })));
    install_panic_hook();
    tracing::info!("error tracking on: panics and 5xx causes are reported");
    Ok(Some(ErrorTrackingGuard { _private: () }))
}

/// Reports the cause of a 5xx response (no-op when tracking is off).
pub fn capture_error(kind: &str, cause: &str) {
    capture(kind, cause, Level::Error);
}

/// Waits until every event captured so far was handed to the endpoint (at
/// most `timeout`); `false` when tracking is off or the time ran out.
pub fn flush(timeout: Duration) -> bool {
    tracker().is_some_and(|t| t.client.flush(Some(timeout)))
}

fn capture(kind: &str, message: &str, level: Level) {
    let Some(t) = tracker() else {
        return;
    };
    let message = t.scrubber.scrub(message);
    let mut tags = BTreeMap::new();
    if let Some(id) = kiki_outbound::context::current_request_id() {
        tags.insert("request_id".to_owned(), id);
    }
    if let Ok(info) = ROUTE.try_with(Clone::clone) {
        tags.insert("route".to_owned(), info.route);
        tags.insert("http.method".to_owned(), info.method);
    }
    let event = Event {
        level,
        logger: Some("kiki".into()),
        message: Some(message.clone()),
        exception: vec![Exception {
            ty: kind.to_owned(),
            value: Some(message),
            ..Default::default()
        }]
        .into(),
        tags,
        ..Default::default()
    };
    t.client.capture_event(event, None);
}

fn install_panic_hook() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let text = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            let message = match info.location() {
                Some(l) => format!("{text} at {}:{}", l.file(), l.line()),
                None => text,
            };
            capture("panic", &message, Level::Fatal);
            previous(info);
        }));
    });
}

/// Replaces secret values in text: the configuration's secrets, `Bearer`
/// tokens and the password of any URL.
#[derive(Debug, Default)]
pub struct Scrubber {
    secrets: Vec<String>,
}

const REDACTED: &str = "[redacted]";
/// Shorter values are too likely to appear as ordinary words.
const MIN_SECRET_LEN: usize = 6;

impl Scrubber {
    /// Every secret value of `config` (the platform's secrets and, in the
    /// module sections, values under keys that name a key, secret, token,
    /// password or URL).
    pub fn from_config(config: &Config) -> Scrubber {
        let mut secrets: Vec<String> = vec![
            config.security.secret_key.expose_secret().to_owned(),
            config.vault.auth.token.expose_secret().to_owned(),
        ];
        if config.database.url.contains('@') {
            secrets.push(config.database.url.clone());
        }
        if let Some(u) = &config.redis.url {
            secrets.push(u.expose_secret().to_owned());
        }
        if let Some(u) = &config.mail.smtp_url {
            secrets.push(u.expose_secret().to_owned());
        }
        if let Some(d) = &config.telemetry.sentry_dsn {
            secrets.push(d.expose_secret().to_owned());
        }
        secrets.extend(
            config
                .auth
                .jwt_keys
                .values()
                .map(|k| k.expose_secret().to_owned()),
        );
        secrets.extend(
            config
                .encryption
                .keys
                .values()
                .map(|k| k.expose_secret().to_owned()),
        );
        if let Some(k) = &config.encryption.index_key {
            secrets.push(k.expose_secret().to_owned());
        }
        for section in config.sections.values() {
            collect_section_secrets(section, false, &mut secrets);
        }
        let mut s = Scrubber {
            secrets: Vec::new(),
        };
        for v in secrets {
            s.add(v);
        }
        s
    }

    /// Adds a value to replace wherever it appears.
    pub fn add(&mut self, value: String) {
        if value.len() >= MIN_SECRET_LEN && !self.secrets.contains(&value) {
            self.secrets.push(value);
            // Longest first, so a secret containing another is replaced whole.
            self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        }
    }

    pub fn scrub(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), REDACTED);
            }
        }
        redact_bearer(&redact_url_passwords(&out))
    }
}

fn collect_section_secrets(v: &serde_json::Value, sensitive: bool, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) if sensitive => out.push(s.clone()),
        serde_json::Value::Array(a) => {
            for x in a {
                collect_section_secrets(x, sensitive, out);
            }
        }
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                let k = k.to_ascii_lowercase();
                let hit = ["key", "secret", "token", "password", "url"]
                    .iter()
                    .any(|w| k.contains(w));
                collect_section_secrets(x, sensitive || hit, out);
            }
        }
        _ => {}
    }
}

/// `scheme://user:password@host` → `scheme://user:[redacted]@host`.
fn redact_url_passwords(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || c == '/' || c == '"' || c == '\'')
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                out.push_str(&authority[..=colon]);
                out.push_str(REDACTED);
                out.push_str(&authority[at..]);
            }
            _ => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// `Bearer <token>` → `Bearer [redacted]` (any case).
fn redact_bearer(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut search = 0;
    while let Some(i) = lower[search..].find("bearer ") {
        let start = search + i + "bearer ".len();
        let end = text[start..]
            .find(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == ',')
            .map_or(text.len(), |e| start + e);
        out.push_str(&text[last..start]);
        if end > start {
            out.push_str(REDACTED);
        }
        last = end;
        search = end.max(start);
    }
    out.push_str(&text[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_bearer_tokens_and_url_passwords_are_scrubbed() {
        let mut s = Scrubber::default();
        s.add("s3cr3t-value-1234".into());
        s.add("abc".into()); // too short to be replaced
        let out = s.scrub(
            "failed with s3cr3t-value-1234; Authorization: Bearer eyJhbGciOi.x.y, \
             postgres://kiki:hunter22@db:5432/kiki abc",
        );
        assert!(!out.contains("s3cr3t-value-1234"), "{out}");
        assert!(!out.contains("eyJhbGciOi"), "{out}");
        assert!(!out.contains("hunter22"), "{out}");
        assert!(
            out.contains("postgres://kiki:[redacted]@db:5432/kiki"),
            "{out}"
        );
        assert!(out.contains("Bearer [redacted]"), "{out}");
        assert!(out.ends_with(" abc"), "{out}");
    }

    #[test]
    fn module_section_secrets_are_collected_by_key_name() {
        let mut cfg = Config::default();
        cfg.set_section(
            "campaigns",
            serde_json::json!({"llm": {"api_key": "sk-live-abcdef", "model": "gpt-4o-mini"}}),
        );
        let s = Scrubber::from_config(&cfg);
        let out = s.scrub("upstream said sk-live-abcdef for gpt-4o-mini");
        assert_eq!(out, "upstream said [redacted] for gpt-4o-mini");
    }
}
