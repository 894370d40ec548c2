//! The `[bidder]` section in the configuration registry: its printed view
//! (`kiki config check`: the effective settings, exchange keys as `***`) and
//! its problems in the one convention every section follows.

use secrecy::ExposeSecret as _;
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Value, json};

use crate::config::BidderServiceConfig;

impl Serialize for BidderServiceConfig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let engine = serde_json::to_value(&self.engine).map_err(serde::ser::Error::custom)?;
        let exchanges: Vec<Value> = self
            .exchanges
            .iter()
            .map(|x| {
                json!({
                    "name": x.name,
                    "key": x.key.as_ref().map(|k| if k.expose_secret().is_empty() { "" } else { "***" }),
                    "allowed_addrs": x.allowed_addrs,
                    "seat": x.seat,
                })
            })
            .collect();
        let segments: Vec<Value> = self
            .segments
            .iter()
            .map(|g| {
                json!({
                    "org_id": g.org_id,
                    "segment": g.segment,
                    "ltv": g.ltv,
                    "users": g.users.len(),
                })
            })
            .collect();
        let mut map = s.serialize_map(None)?;
        if let Value::Object(fields) = engine {
            for (k, v) in fields {
                map.serialize_entry(&k, &v)?;
            }
        }
        map.serialize_entry("exchanges", &exchanges)?;
        map.serialize_entry("exchange_listen", &self.exchange_listen)?;
        map.serialize_entry("shared_counters", &self.shared_counters)?;
        map.serialize_entry("reporting_flush_secs", &self.reporting_flush_secs)?;
        map.serialize_entry("snapshot_refresh_secs", &self.snapshot_refresh_secs)?;
        map.serialize_entry("click_allowed_hosts", &self.click_allowed_hosts)?;
        map.serialize_entry("segments", &segments)?;
        map.serialize_entry("throttle_gauge_limit", &self.throttle_gauge_limit)?;
        map.serialize_entry("trackers", &self.trackers)?;
        map.end()
    }
}

impl kiki_server::ModuleSettings for BidderServiceConfig {
    fn problems(&self, production: bool) -> Vec<String> {
        match self.validate(production) {
            Ok(()) => Vec::new(),
            Err(e) => vec![e],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_printed_view_hides_exchange_keys() {
        let cfg: BidderServiceConfig = serde_json::from_value(json!({
            "exchanges": [{"name": "adx", "key": "exchange-secret-0123456789abcdef"}]
        }))
        .unwrap();
        let shown = serde_json::to_string(&cfg).unwrap();
        assert!(!shown.contains("exchange-secret"), "{shown}");
        assert!(shown.contains("\"key\":\"***\""), "{shown}");
        assert!(
            shown.contains("\"seat\""),
            "engine keys are shown too: {shown}"
        );
    }
}
