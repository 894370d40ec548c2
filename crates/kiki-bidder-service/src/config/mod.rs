//! The `[bidder]` configuration section: the engine's `BidderConfig` keys
//! (flat, as documented in docs/bidder.md) plus the service's own keys —
//! exchanges and their credentials, the exchange listener's address, shared
//! counters, background intervals and an optional segment table. Unknown keys
//! are refused with their name.

mod view;

use std::net::IpAddr;

use kiki_bidder::BidderConfig;
use kiki_core::Money;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;

/// The keys the service adds to the engine's.
const SERVICE_KEYS: [&str; 9] = [
    "exchanges",
    "exchange_listen",
    "trackers",
    "shared_counters",
    "reporting_flush_secs",
    "snapshot_refresh_secs",
    "click_allowed_hosts",
    "segments",
    "throttle_gauge_limit",
];

/// Engine keys whose values are maps with free keys (not checked for unknown keys).
const MAP_KEYS: [&str; 2] = ["margin_per_org", "rates"];

/// One exchange allowed to call the OpenRTB endpoints.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeConfig {
    /// A name for logs and metrics.
    pub name: String,
    /// The `x-kiki-exchange-key` header value this exchange sends.
    #[serde(default)]
    pub key: Option<SecretString>,
    /// Source addresses or CIDR blocks (`203.0.113.0/24`) accepted without a key.
    #[serde(default)]
    pub allowed_addrs: Vec<String>,
    /// The seat the exchange addresses us by; must equal `[bidder].seat` when set.
    #[serde(default)]
    pub seat: Option<String>,
}

/// A segment and its predicted LTV, from the configuration (tests, demos).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentConfig {
    pub org_id: uuid::Uuid,
    pub segment: String,
    pub ltv: Money,
    /// User keys (`user.buyeruid` or `user.id`) in this segment.
    #[serde(default)]
    pub users: Vec<String>,
}

/// The signed impression and click trackers (`[bidder.trackers]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrackerConfig {
    /// How long a click URL counts after its bid. Default 86 400 s (24 h).
    pub click_lifetime_secs: u64,
    /// How long an impression URL counts after its bid. Default 3 600 s.
    pub impression_lifetime_secs: u64,
    /// Most (tracker, bid) pairs this process remembers to refuse repeats;
    /// the oldest are forgotten first. Default 1 000 000 (about 40 MiB).
    pub seen_capacity: usize,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            click_lifetime_secs: 86_400,
            impression_lifetime_secs: 3_600,
            seen_capacity: 1_000_000,
        }
    }
}

/// Everything under `[bidder]`.
#[derive(Debug, Clone)]
pub struct BidderServiceConfig {
    /// The engine's settings (seat, currency, margin, pacing, notices, fx, …).
    pub engine: BidderConfig,
    pub exchanges: Vec<ExchangeConfig>,
    /// The bidder's own address for exchanges (`0.0.0.0:8081`): the OpenRTB
    /// endpoints on a listener of their own, outside the API router's stack
    /// (see docs/bidder.md). `None` (default): only on the API router.
    pub exchange_listen: Option<String>,
    /// Budget and frequency counters in Redis (`[redis].url`), shared by replicas.
    pub shared_counters: bool,
    /// How often the in-memory hourly statistics are written. Default 10 s.
    pub reporting_flush_secs: u64,
    /// Periodic reload of line items and segments, besides change events. Default 30 s.
    pub snapshot_refresh_secs: u64,
    /// Hosts the click tracker may redirect to besides the creatives' `adomain`.
    pub click_allowed_hosts: Vec<String>,
    /// Segments loaded at start-up in addition to the `bidder_segment_*` tables.
    pub segments: Vec<SegmentConfig>,
    /// Most line items with their own pacing-throttle gauge. Default 100.
    pub throttle_gauge_limit: usize,
    /// Lifetimes and memory of the signed trackers.
    pub trackers: TrackerConfig,
}

impl Default for BidderServiceConfig {
    fn default() -> Self {
        BidderServiceConfig {
            engine: BidderConfig::default(),
            exchanges: Vec::new(),
            exchange_listen: None,
            shared_counters: false,
            reporting_flush_secs: 10,
            snapshot_refresh_secs: 30,
            click_allowed_hosts: Vec::new(),
            segments: Vec::new(),
            throttle_gauge_limit: 100,
            trackers: TrackerConfig::default(),
        }
    }
}

impl<'de> Deserialize<'de> for BidderServiceConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        Self::from_value(v).map_err(serde::de::Error::custom)
    }
}

/// Names the first key of `given` that `known` (a serialised default) lacks.
fn unknown_key(prefix: &str, given: &Value, known: &Value) -> Option<String> {
    let (Value::Object(g), Value::Object(k)) = (given, known) else {
        return None;
    };
    for (key, value) in g {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match k.get(key) {
            None => return Some(path),
            Some(_) if MAP_KEYS.contains(&key.as_str()) => {}
            Some(kv) => {
                if let Some(bad) = unknown_key(&path, value, kv) {
                    return Some(bad);
                }
            }
        }
    }
    None
}

impl BidderServiceConfig {
    fn from_value(v: Value) -> Result<Self, String> {
        let mut map = match v {
            Value::Object(m) => m,
            Value::Null => serde_json::Map::new(),
            _ => return Err("the `bidder` section must be a table".into()),
        };
        let mut out = BidderServiceConfig::default();
        let take = |m: &mut serde_json::Map<String, Value>, k: &str| m.remove(k);
        fn parse<T: serde::de::DeserializeOwned>(key: &str, v: Value) -> Result<T, String> {
            serde_json::from_value(v).map_err(|e| format!("`{key}`: {e}"))
        }
        if let Some(v) = take(&mut map, "exchanges") {
            out.exchanges = parse("exchanges", v)?;
        }
        if let Some(v) = take(&mut map, "exchange_listen") {
            out.exchange_listen = parse("exchange_listen", v)?;
        }
        if let Some(v) = take(&mut map, "shared_counters") {
            out.shared_counters = parse("shared_counters", v)?;
        }
        if let Some(v) = take(&mut map, "reporting_flush_secs") {
            out.reporting_flush_secs = parse("reporting_flush_secs", v)?;
        }
        if let Some(v) = take(&mut map, "snapshot_refresh_secs") {
            out.snapshot_refresh_secs = parse("snapshot_refresh_secs", v)?;
        }
        if let Some(v) = take(&mut map, "click_allowed_hosts") {
            out.click_allowed_hosts = parse("click_allowed_hosts", v)?;
        }
        if let Some(v) = take(&mut map, "segments") {
            out.segments = parse("segments", v)?;
        }
        if let Some(v) = take(&mut map, "trackers") {
            out.trackers = parse("trackers", v)?;
        }
        if let Some(v) = take(&mut map, "throttle_gauge_limit") {
            out.throttle_gauge_limit = parse("throttle_gauge_limit", v)?;
        }
        let rest = Value::Object(map);
        let known = serde_json::to_value(BidderConfig::default()).unwrap_or(Value::Null);
        if let Some(bad) = unknown_key("", &rest, &known) {
            return Err(format!(
                "unknown key `{bad}`; the service keys are {} and the engine keys are listed in docs/bidder.md",
                SERVICE_KEYS.join(", ")
            ));
        }
        out.engine = serde_json::from_value(rest).map_err(|e| e.to_string())?;
        Ok(out)
    }

    /// Checks the settings; `production` refuses weak exchange keys. The
    /// message names the setting to fix.
    pub fn validate(&self, production: bool) -> Result<(), String> {
        self.engine.validate().map_err(|e| format!("bidder: {e}"))?;
        if let Some(addr) = &self.exchange_listen
            && addr.parse::<std::net::SocketAddr>().is_err()
        {
            return Err(format!(
                "bidder.exchange_listen `{addr}` is not an address and port such as 0.0.0.0:8081"
            ));
        }
        if self.reporting_flush_secs == 0 {
            return Err("bidder.reporting_flush_secs must be at least 1".into());
        }
        if self.snapshot_refresh_secs == 0 {
            return Err("bidder.snapshot_refresh_secs must be at least 1".into());
        }
        let t = &self.trackers;
        for (key, v) in [
            ("click_lifetime_secs", t.click_lifetime_secs),
            ("impression_lifetime_secs", t.impression_lifetime_secs),
        ] {
            if !(1..=30 * 86_400).contains(&v) {
                return Err(format!(
                    "bidder.trackers.{key} must be between 1 and 2592000 (30 days)"
                ));
            }
        }
        if t.seen_capacity == 0 {
            return Err("bidder.trackers.seen_capacity must be at least 1".into());
        }
        for (i, x) in self.exchanges.iter().enumerate() {
            let at = format!("bidder.exchanges[{i}]");
            if x.name.trim().is_empty() {
                return Err(format!("{at}.name must not be empty"));
            }
            if x.key.is_none() && x.allowed_addrs.is_empty() {
                return Err(format!(
                    "{at} ({}) needs a `key` or `allowed_addrs`",
                    x.name
                ));
            }
            if let Some(key) = &x.key {
                let k = key.expose_secret();
                if k.is_empty() {
                    return Err(format!("{at}.key must not be empty"));
                }
                if production && is_weak_key(k) {
                    return Err(format!(
                        "{at}.key ({}) is too short or a placeholder; set it to a random value of at least 32 characters",
                        x.name
                    ));
                }
            }
            for a in &x.allowed_addrs {
                Cidr::parse(a).ok_or_else(|| {
                    format!("{at}.allowed_addrs: `{a}` is not an IP address or CIDR block")
                })?;
            }
            if let Some(seat) = &x.seat
                && seat != &self.engine.seat
            {
                return Err(format!(
                    "{at}.seat `{seat}` differs from bidder.seat `{}`; the bidder answers with one seat",
                    self.engine.seat
                ));
            }
        }
        Ok(())
    }
}

/// Short keys and the usual placeholders are refused in production.
fn is_weak_key(k: &str) -> bool {
    let lower = k.to_ascii_lowercase();
    k.chars().count() < 32
        || [
            "changeme",
            "change-me",
            "secret",
            "example",
            "placeholder",
            "xxxx",
            "test",
        ]
        .iter()
        .any(|p| lower.contains(p))
}

/// An IP address block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// `10.0.0.0/8`, `2001:db8::/32` or a single address.
    pub fn parse(s: &str) -> Option<Cidr> {
        let s = s.trim();
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max)?,
            None => max,
        };
        Some(Cidr { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match (self.addr, ip) {
            (IpAddr::V4(_), IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => return false,
            },
            _ => ip,
        };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(i) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(i)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(i) & mask
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn engine_and_service_keys_share_the_section_and_unknown_keys_are_named() {
        let c: BidderServiceConfig = serde_json::from_value(json!({
            "seat": "kiki-x",
            "margin": { "min_ltv_micros": 1 },
            "shared_counters": true,
            "exchanges": [{ "name": "adx", "key": "k", "allowed_addrs": ["10.0.0.0/8"] }],
        }))
        .unwrap();
        assert_eq!(c.engine.seat, "kiki-x");
        assert_eq!(c.engine.margin.min_ltv_micros, 1);
        assert!(c.shared_counters);
        assert_eq!(c.exchanges.len(), 1);
        for (bad, name) in [
            (json!({ "seet": "x" }), "`seet`"),
            (json!({ "margin": { "minimum": 1 } }), "`margin.minimum`"),
            (json!({ "exchanges": [{ "name": "a", "kee": "x" }] }), "kee"),
        ] {
            let err = serde_json::from_value::<BidderServiceConfig>(bad)
                .unwrap_err()
                .to_string();
            assert!(err.contains(name), "{err}");
        }
    }

    #[test]
    fn the_exchange_listener_takes_an_address_and_port() {
        let with = |v: serde_json::Value| {
            serde_json::from_value::<BidderServiceConfig>(json!({ "exchange_listen": v }))
        };
        let c = with(json!("0.0.0.0:8081")).unwrap();
        assert_eq!(c.exchange_listen.as_deref(), Some("0.0.0.0:8081"));
        assert!(c.validate(true).is_ok());
        assert!(with(json!("[::]:8081")).unwrap().validate(false).is_ok());
        let err = with(json!("bid.example.com"))
            .unwrap()
            .validate(false)
            .unwrap_err();
        assert!(err.contains("bidder.exchange_listen"), "{err}");
        assert!(with(json!(8081)).is_err(), "a port alone is not an address");
        assert!(BidderServiceConfig::default().exchange_listen.is_none());
    }

    #[test]
    fn production_refuses_short_or_placeholder_exchange_keys() {
        let with_key = |k: &str| {
            serde_json::from_value::<BidderServiceConfig>(json!({
                "exchanges": [{ "name": "adx", "key": k }]
            }))
            .unwrap()
        };
        assert!(with_key("short").validate(false).is_ok());
        let err = with_key("short").validate(true).unwrap_err();
        assert!(err.contains("bidder.exchanges[0].key"), "{err}");
        assert!(
            with_key("changeme-changeme-changeme-changeme")
                .validate(true)
                .is_err()
        );
        assert!(
            with_key("Vf3kq9ZpR2wLx8NcT4bHy6MdJ1sQa7Ue")
                .validate(true)
                .is_ok()
        );
    }

    #[test]
    fn cidr_blocks_match_their_addresses_only() {
        let check = |cidr: &str, ip: &str, want: bool| {
            let c = Cidr::parse(cidr).unwrap();
            assert_eq!(c.contains(ip.parse().unwrap()), want, "{cidr} ∋ {ip}");
        };
        check("10.0.0.0/8", "10.200.1.1", true);
        check("10.0.0.0/8", "11.0.0.1", false);
        check("127.0.0.1", "127.0.0.1", true);
        check("127.0.0.1", "127.0.0.2", false);
        check("0.0.0.0/0", "8.8.8.8", true);
        check("2001:db8::/32", "2001:db8::1", true);
        check("2001:db8::/32", "2001:db9::1", false);
        check("127.0.0.1/32", "::ffff:127.0.0.1", true);
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("not-an-ip").is_none());
    }
}
