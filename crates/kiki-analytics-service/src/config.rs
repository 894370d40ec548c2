//! The `[analytics]` configuration section: the time zone a range defaults
//! to, the default range, the bounds of tables, and how long an export
//! job's file can be downloaded, how old an exchange rate may be and
//! where the ECB's reference rates are read.

use serde::{Deserialize, Serialize};

/// `[analytics]` in `kiki.toml` (or `KIKI__ANALYTICS__*`). Every key has a
/// default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalyticsConfig {
    /// The IANA time zone whose calendar day is "today" when a request names
    /// none (`tz`): the end of a default range.
    pub default_time_zone: String,
    /// Days in a range a request leaves open (1–366).
    pub default_range_days: u32,
    /// The most rows a breakdown, ranking or drill-down table returns
    /// (10–100000).
    pub max_rows: u32,
    /// Seconds an answer stays in the shared cache (0–86400; 0: no cache).
    /// New metrics of an organisation drop its answers at once; a changed
    /// margin shows after this time.
    pub cache_ttl_secs: u64,
    /// Hours a finished export job's download link works (1–720).
    pub export_ttl_hours: u32,
    /// The most rows a table of an export job holds (1000–1000000).
    pub export_max_rows: u32,
    /// Days a rate may be older than the day it converts (`convert_to`
    /// uses the latest rate on or before a day; 0–31).
    pub fx_max_age_days: u32,
    /// Where `POST /v1/analytics/fx-rates/import` reads the European
    /// Central Bank's euro reference rates (`eurofxref-hist-90d.xml` or
    /// `eurofxref-daily.xml`; an `http(s)` URL).
    pub fx_ecb_url: String,
    /// Seconds the listener gathers bidder flushes and conversions of an
    /// organisation before it queues one ingest of platform `kiki` for all
    /// the days they touched (0–3600; 0: one ingest per event).
    pub kiki_ingest_delay_secs: u64,
}

/// The ECB's reference rates of the last 90 days.
pub const ECB_90D_URL: &str = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist-90d.xml";

impl Default for AnalyticsConfig {
    fn default() -> Self {
        AnalyticsConfig {
            default_time_zone: "UTC".into(),
            default_range_days: 30,
            max_rows: 1_000,
            cache_ttl_secs: 60,
            export_ttl_hours: 24,
            export_max_rows: 100_000,
            fx_max_age_days: 7,
            fx_ecb_url: ECB_90D_URL.to_owned(),
            kiki_ingest_delay_secs: 30,
        }
    }
}

impl AnalyticsConfig {
    /// Every problem, naming its key and variable.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !kiki_analytics::known_time_zone(&self.default_time_zone) {
            out.push(format!(
                "analytics.default_time_zone `{}` is not in the time zone database (KIKI__ANALYTICS__DEFAULT_TIME_ZONE)",
                self.default_time_zone
            ));
        }
        let mut range = |key: &str, value: u32, lo: u32, hi: u32| {
            if !(lo..=hi).contains(&value) {
                out.push(format!(
                    "analytics.{key} must be from {lo} to {hi}, not {value} (KIKI__ANALYTICS__{})",
                    key.to_ascii_uppercase()
                ));
            }
        };
        range("default_range_days", self.default_range_days, 1, 366);
        range("max_rows", self.max_rows, 10, 100_000);
        range("export_ttl_hours", self.export_ttl_hours, 1, 720);
        range("export_max_rows", self.export_max_rows, 1_000, 1_000_000);
        range("fx_max_age_days", self.fx_max_age_days, 0, 31);
        if !(self.fx_ecb_url.starts_with("https://") || self.fx_ecb_url.starts_with("http://")) {
            out.push(format!(
                "analytics.fx_ecb_url must be an http(s) URL, not `{}` (KIKI__ANALYTICS__FX_ECB_URL)",
                self.fx_ecb_url
            ));
        }
        if self.kiki_ingest_delay_secs > 3_600 {
            out.push(format!(
                "analytics.kiki_ingest_delay_secs must be from 0 to 3600, not {} (KIKI__ANALYTICS__KIKI_INGEST_DELAY_SECS)",
                self.kiki_ingest_delay_secs
            ));
        }
        if self.cache_ttl_secs > 86_400 {
            out.push(format!(
                "analytics.cache_ttl_secs must be from 0 to 86400, not {} (KIKI__ANALYTICS__CACHE_TTL_SECS)",
                self.cache_ttl_secs
            ));
        }
        out
    }
}

impl kiki_server::ModuleSettings for AnalyticsConfig {
    fn problems(&self, _production: bool) -> Vec<String> {
        AnalyticsConfig::problems(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_name_their_key_and_variable() {
        assert!(AnalyticsConfig::default().problems().is_empty());
        let bad = AnalyticsConfig {
            default_time_zone: "Europe/Atlantis".into(),
            max_rows: 1,
            ..AnalyticsConfig::default()
        };
        let p = bad.problems();
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains("KIKI__ANALYTICS__DEFAULT_TIME_ZONE"), "{p:?}");
        assert!(p[1].contains("analytics.max_rows"), "{p:?}");
        let r: Result<AnalyticsConfig, _> =
            serde_json::from_value(serde_json::json!({"zone": "UTC"}));
        assert!(r.is_err(), "unknown keys are refused");
    }
}
