//! What every test needs: an outbound client that retries little and fast,
//! settings pointing at the fake Graph API, an account, and the requests the
//! fake received, decoded.

use std::collections::BTreeMap;

use kiki_meta_ads::{MetaAds, MetaConfig};
use kiki_outbound::{OutboundClient, OutboundConfig};
use kiki_platforms::AccountRef;
use serde_json::Value;
pub use wiremock::MockServer;

/// The user token the tests use; it must only ever travel in the header.
pub const TOKEN: &str = "EAAtest-user-token-7f3a9c";
pub const APP_SECRET: &str = "test-app-secret-51d2";
pub const ACCOUNT: &str = "1001";

/// An outbound client making `max_attempts` attempts with waits of at most 20 ms.
pub fn outbound(max_attempts: u32) -> OutboundClient {
    OutboundClient::new(&OutboundConfig {
        max_attempts,
        backoff_base_ms: 1,
        backoff_max_ms: 20,
        ..OutboundConfig::default()
    })
    .expect("outbound client")
}

/// Settings for the fake at `server`: app secret, Page and Pixel set.
pub fn config(server: &MockServer) -> MetaConfig {
    serde_json::from_value(serde_json::json!({
        "graph_base_url": server.uri(),
        "api_version": "v21.0",
        "app_id": "4242",
        "app_secret": APP_SECRET,
        "page_id": "PAGE1",
        "pixel_id": "PX1",
    }))
    .expect("valid settings")
}

pub fn meta(server: &MockServer) -> MetaAds {
    MetaAds::new(outbound(1), config(server))
}

pub fn account() -> AccountRef {
    AccountRef {
        account_id: ACCOUNT.to_owned(),
        login_customer_id: None,
        access_token: TOKEN.to_owned(),
    }
}

/// HMAC-SHA256 of the token keyed by the app secret, computed here
/// independently of the crate.
pub fn expected_proof() -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(APP_SECRET.as_bytes()).unwrap();
    mac.update(TOKEN.as_bytes());
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A parameter's value: JSON when it is a JSON object or list, else text.
pub fn param_value(v: &str) -> Value {
    if v.starts_with('{') || v.starts_with('[') {
        serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_owned()))
    } else {
        Value::String(v.to_owned())
    }
}

/// One request as the fake saw it: method, path, and the query and form
/// parameters together.
#[derive(Debug, Clone, PartialEq)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub params: BTreeMap<String, Value>,
    pub authorization: Option<String>,
    pub raw: String,
}

pub async fn seen(server: &MockServer) -> Vec<Seen> {
    server
        .received_requests()
        .await
        .expect("recording is on")
        .iter()
        .map(|r| {
            let mut params = BTreeMap::new();
            for (k, v) in r.url.query_pairs() {
                params.insert(k.into_owned(), param_value(&v));
            }
            let body = String::from_utf8_lossy(&r.body).into_owned();
            if r.headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
            {
                let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap();
                for (k, v) in pairs {
                    params.insert(k, param_value(&v));
                }
            }
            Seen {
                method: r.method.to_string(),
                path: r.url.path().to_owned(),
                params,
                authorization: r
                    .headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
                raw: format!("{} {}", r.url, body),
            }
        })
        .collect()
}

/// Every request carried the token in the header only, with the proof.
pub fn assert_token_only_in_header(requests: &[Seen]) {
    let proof = expected_proof();
    for r in requests {
        assert_eq!(
            r.authorization.as_deref(),
            Some(format!("Bearer {TOKEN}").as_str()),
            "{} {}",
            r.method,
            r.path
        );
        assert!(!r.raw.contains(TOKEN), "the token leaked into {}", r.raw);
        assert_eq!(
            r.params.get("appsecret_proof"),
            Some(&Value::String(proof.clone())),
            "{} {}",
            r.method,
            r.path
        );
    }
}

/// `pairs` as the parameter map a request is compared with.
pub fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), param_value(v)))
        .chain(std::iter::once((
            "appsecret_proof".to_owned(),
            Value::String(expected_proof()),
        )))
        .collect()
}
