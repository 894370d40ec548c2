//! What every test needs: a fake Google Ads REST interface that hands out
//! resource names and remembers the locations it created, a movable clock,
//! and a connector pointed at the fake.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use kiki_google_ads::{Clock, GoogleAds, GoogleAdsConfig};
use kiki_outbound::{OutboundClient, OutboundConfig};
use kiki_platforms::AccountRef;
use serde_json::{Value, json};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
pub use wiremock::MockServer;
use wiremock::matchers::method;
use wiremock::{Mock, Request, ResponseTemplate};

pub const CUSTOMER: &str = "1234567890";
pub const MANAGER: &str = "9876543210";
pub const TOKEN: &str = "ya29.test-access-token";
pub const DEV_TOKEN: &str = "dev-token-0123";

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

pub fn config(server: &MockServer) -> GoogleAdsConfig {
    GoogleAdsConfig {
        base_url: server.uri(),
        developer_token: DEV_TOKEN.into(),
        client_id: "kiki-client.apps.googleusercontent.com".into(),
        client_secret: "GOCSPX-test-secret".into(),
        oauth_authorize_url: format!("{}/o/oauth2/v2/auth", server.uri()),
        oauth_token_url: format!("{}/token", server.uri()),
        oauth_revoke_url: format!("{}/revoke", server.uri()),
        ..GoogleAdsConfig::default()
    }
}

/// A clock the test moves by seconds.
pub struct TestClock {
    pub offset: Arc<AtomicI64>,
    pub clock: Clock,
}

impl TestClock {
    pub fn at(start: OffsetDateTime) -> Self {
        let offset = Arc::new(AtomicI64::new(0));
        let o = offset.clone();
        TestClock {
            offset,
            clock: Arc::new(move || start + Duration::seconds(o.load(Ordering::SeqCst))),
        }
    }

    pub fn advance(&self, secs: i64) {
        self.offset.fetch_add(secs, Ordering::SeqCst);
    }
}

pub fn start() -> OffsetDateTime {
    datetime!(2025-03-10 09:00 UTC)
}

/// A connector for the fake with one attempt per call and a test clock.
pub fn connector(
    server: &MockServer,
    cfg: GoogleAdsConfig,
    attempts: u32,
) -> (GoogleAds, TestClock) {
    let clock = TestClock::at(start());
    let _ = server;
    (
        GoogleAds::with_clock(outbound(attempts), cfg, clock.clock.clone()),
        clock,
    )
}

pub fn account() -> AccountRef {
    AccountRef {
        account_id: CUSTOMER.into(),
        login_customer_id: Some(MANAGER.into()),
        access_token: TOKEN.into(),
    }
}

/// The fake's memory.
#[derive(Default)]
pub struct FakeState {
    next_id: AtomicU64,
    locations: Mutex<Vec<String>>,
    /// (criterion resource name, ad group id, keyword text)
    keywords: Mutex<Vec<(String, String, String)>>,
}

/// Answers like Google: search by query, mutates with fresh resource names.
pub async fn fake_google(server: &MockServer) -> Arc<FakeState> {
    let state = Arc::new(FakeState {
        next_id: AtomicU64::new(100),
        ..FakeState::default()
    });
    let s = state.clone();
    Mock::given(method("POST"))
        .respond_with(move |req: &Request| answer(&s, req))
        .mount(server)
        .await;
    state
}

fn answer(state: &FakeState, req: &Request) -> ResponseTemplate {
    let path = req.url.path().to_owned();
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    if path.ends_with("googleAds:search") {
        let q = body["query"].as_str().unwrap_or_default();
        let results = if q.contains("FROM customer") {
            json!([{ "customer": {
                "resourceName": format!("customers/{CUSTOMER}"),
                "descriptiveName": "Acme Shoes", "currencyCode": "EUR", "timeZone": "Europe/Berlin"
            }}])
        } else if q.contains("FROM campaign_criterion") {
            let l = state.locations.lock().unwrap();
            Value::Array(
                l.iter()
                    .map(|g| json!({ "campaignCriterion": { "location": { "geoTargetConstant": g } } }))
                    .collect(),
            )
        } else if q.contains("FROM ad_group_criterion") {
            let group = q
                .split("ad_group.id = ")
                .nth(1)
                .and_then(|r| r.split_whitespace().next())
                .unwrap_or_default();
            let k = state.keywords.lock().unwrap();
            Value::Array(
                k.iter()
                    .filter(|(_, g, _)| g == group)
                    .map(|(r, _, t)| json!({ "adGroupCriterion": { "resourceName": r, "keyword": { "text": t } } }))
                    .collect(),
            )
        } else {
            json!([])
        };
        return ResponseTemplate::new(200).set_body_json(json!({ "results": results }));
    }
    let Some(resources) = path
        .rsplit('/')
        .next()
        .and_then(|s| s.strip_suffix(":mutate"))
    else {
        return ResponseTemplate::new(404);
    };
    let results: Vec<Value> = body["operations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|op| {
            if let Some(r) = op.get("update").and_then(|u| u.get("resourceName")) {
                return json!({ "resourceName": r });
            }
            if let Some(r) = op.get("remove") {
                state
                    .keywords
                    .lock()
                    .unwrap()
                    .retain(|(k, _, _)| Some(k.as_str()) != r.as_str());
                return json!({ "resourceName": r });
            }
            let create = &op["create"];
            if let Some(g) = create
                .pointer("/location/geoTargetConstant")
                .and_then(Value::as_str)
            {
                state.locations.lock().unwrap().push(g.to_owned());
            }
            let n = state.next_id.fetch_add(1, Ordering::SeqCst);
            let group = create["adGroup"]
                .as_str()
                .unwrap_or_default()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned();
            if let Some(t) = create.pointer("/keyword/text").and_then(Value::as_str) {
                let r = format!("customers/{CUSTOMER}/adGroupCriteria/{group}~{n}");
                state
                    .keywords
                    .lock()
                    .unwrap()
                    .push((r.clone(), group, t.to_owned()));
                return json!({ "resourceName": r });
            }
            let name = if resources == "adGroupAds" {
                let group = create["adGroup"]
                    .as_str()
                    .unwrap_or_default()
                    .rsplit('/')
                    .next()
                    .unwrap_or_default();
                format!("customers/{CUSTOMER}/adGroupAds/{group}~{n}")
            } else {
                format!("customers/{CUSTOMER}/{resources}/{n}")
            };
            json!({ "resourceName": name })
        })
        .collect();
    ResponseTemplate::new(200).set_body_json(json!({ "results": results }))
}

/// A compact, order-preserving account of one request: the method, the path
/// after the customer, and the body's key fields.
pub fn summary(req: &Request) -> String {
    let path = req.url.path();
    let tail = path
        .split(&format!("/customers/{CUSTOMER}/"))
        .nth(1)
        .unwrap_or(path);
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    if tail.starts_with("googleAds:search") {
        return format!(
            "{} {path} {}",
            req.method,
            body["query"].as_str().unwrap_or_default()
        );
    }
    let ops: Vec<String> = body["operations"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|op| {
            let (kind, v) = op
                .as_object()
                .and_then(|o| o.iter().find(|(k, _)| *k != "updateMask"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .unwrap_or_default();
            let mask = op
                .get("updateMask")
                .and_then(Value::as_str)
                .map(|m| format!(" mask={m}"))
                .unwrap_or_default();
            format!("{kind}{}{mask}", compact(&v))
        })
        .collect();
    format!(
        "{} {path} pf={} [{}]",
        req.method,
        body["partialFailure"],
        ops.join("; ")
    )
}

/// Key fields of an operation's object, sorted, nested objects flattened.
fn compact(v: &Value) -> String {
    fn walk(prefix: &str, v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(o) => {
                for (k, v) in o {
                    let p = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    if v.as_object().is_some_and(|o| o.is_empty()) {
                        out.push(format!("{p}={{}}"));
                    } else {
                        walk(&p, v, out);
                    }
                }
            }
            Value::Array(a) => {
                let items: Vec<String> = a
                    .iter()
                    .map(|i| match i {
                        Value::Object(o) if o.len() == 1 => {
                            o.values().next().map(plain).unwrap_or_default()
                        }
                        other => plain(other),
                    })
                    .collect();
                out.push(format!("{prefix}=[{}]", items.join("|")));
            }
            other => out.push(format!("{prefix}={}", plain(other))),
        }
    }
    fn plain(v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    }
    if let Value::String(s) = v {
        return format!(" {s}");
    }
    let mut out = Vec::new();
    walk("", v, &mut out);
    out.sort();
    format!(" {{{}}}", out.join(", "))
}
