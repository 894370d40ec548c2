//! The `[conversions]` configuration section: the attribution window, the
//! signed postback's clock tolerance, the grace of a rotated secret and the
//! browser path's rate limit.

use serde::{Deserialize, Serialize};

/// `[conversions]` in `kiki.toml` (or `KIKI__CONVERSIONS__*`). Every key has
/// a default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConversionsConfig {
    /// Days after a click in which a conversion is attributed to it (1–90).
    /// The snippet keeps the click id this long, too.
    pub attribution_window_days: u32,
    /// How far the time in an `X-Kiki-Signature` header may be from the
    /// server's, in seconds (30–3600): a captured request cannot be replayed
    /// later.
    pub signature_tolerance_secs: u64,
    /// Hours a rotated signing secret keeps verifying, so senders can switch
    /// (0–168).
    pub previous_secret_grace_hours: u32,
    /// Conversions one organisation's site key may record per minute from
    /// browsers (1–100000), shared by replicas through Redis when configured.
    pub site_rate_per_minute: u32,
    /// How many of them may come at once (1–100000).
    pub site_burst: u32,
}

impl Default for ConversionsConfig {
    fn default() -> Self {
        ConversionsConfig {
            attribution_window_days: 30,
            signature_tolerance_secs: 300,
            previous_secret_grace_hours: 24,
            site_rate_per_minute: 120,
            site_burst: 60,
        }
    }
}

impl ConversionsConfig {
    /// Every problem, naming its key and variable.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut range = |key: &str, value: u64, lo: u64, hi: u64| {
            if !(lo..=hi).contains(&value) {
                out.push(format!(
                    "conversions.{key} must be from {lo} to {hi}, not {value} (KIKI__CONVERSIONS__{})",
                    key.to_ascii_uppercase()
                ));
            }
        };
        range(
            "attribution_window_days",
            self.attribution_window_days.into(),
            1,
            90,
        );
        range(
            "signature_tolerance_secs",
            self.signature_tolerance_secs,
            30,
            3600,
        );
        range(
            "previous_secret_grace_hours",
            self.previous_secret_grace_hours.into(),
            0,
            168,
        );
        range(
            "site_rate_per_minute",
            self.site_rate_per_minute.into(),
            1,
            100_000,
        );
        range("site_burst", self.site_burst.into(), 1, 100_000);
        out
    }

    /// The attribution window in seconds.
    pub fn window_secs(&self) -> i64 {
        i64::from(self.attribution_window_days) * 86_400
    }
}

impl kiki_server::ModuleSettings for ConversionsConfig {
    fn problems(&self, _production: bool) -> Vec<String> {
        ConversionsConfig::problems(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_values_name_their_key_and_variable() {
        assert!(ConversionsConfig::default().problems().is_empty());
        let bad = ConversionsConfig {
            attribution_window_days: 0,
            site_burst: 0,
            ..ConversionsConfig::default()
        };
        let p = bad.problems();
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(
            p[0].contains("conversions.attribution_window_days"),
            "{p:?}"
        );
        assert!(
            p[0].contains("KIKI__CONVERSIONS__ATTRIBUTION_WINDOW_DAYS"),
            "{p:?}"
        );
        let r: Result<ConversionsConfig, _> =
            serde_json::from_value(serde_json::json!({"window": 3}));
        assert!(r.is_err(), "unknown keys are refused");
    }
}
