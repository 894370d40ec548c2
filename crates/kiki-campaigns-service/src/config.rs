//! The `[campaigns]` configuration section: the launch gate's simulation size,
//! the default approval threshold and four-eyes rule, and list limits.
//! Organisations override the threshold, four-eyes, the daily cap and their
//! ad-policy rules in `campaign_settings` (`PUT /v1/campaign-settings`).

use serde::{Deserialize, Serialize};

/// `[campaigns]` in `kiki.toml` (`KIKI__CAMPAIGNS__…` in the environment).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CampaignsConfig {
    /// Monte Carlo runs of the launch gate's simulation when a campaign is
    /// submitted.
    pub gate_runs: u32,
    /// A budget raise of more than this per day (micros of the campaign's
    /// currency) waits for approval, unless the organisation's settings say
    /// otherwise.
    pub approval_threshold_micros: i64,
    /// Whether the approver must be another person than the requester,
    /// unless the organisation's settings say otherwise.
    pub four_eyes: bool,
    /// Most creatives one `POST /v1/creatives/generate` writes.
    pub max_variants: u32,
}

impl Default for CampaignsConfig {
    fn default() -> Self {
        CampaignsConfig {
            gate_runs: 4_000,
            approval_threshold_micros: 100_000_000,
            four_eyes: false,
            max_variants: 20,
        }
    }
}

impl kiki_server::ModuleSettings for CampaignsConfig {
    fn problems(&self, _production: bool) -> Vec<String> {
        CampaignsConfig::problems(self)
    }
}

impl CampaignsConfig {
    /// Every problem, named by its key under `campaigns.` and its variable.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !(100..=200_000).contains(&self.gate_runs) {
            out.push(
                "campaigns.gate_runs (KIKI__CAMPAIGNS__GATE_RUNS) must be between 100 and 200000"
                    .to_owned(),
            );
        }
        if self.approval_threshold_micros < 0 {
            out.push(
                "campaigns.approval_threshold_micros (KIKI__CAMPAIGNS__APPROVAL_THRESHOLD_MICROS) must not be negative"
                    .to_owned(),
            );
        }
        if !(1..=20).contains(&self.max_variants) {
            out.push(
                "campaigns.max_variants (KIKI__CAMPAIGNS__MAX_VARIANTS) must be between 1 and 20"
                    .to_owned(),
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_bad_values_are_named() {
        assert!(CampaignsConfig::default().problems().is_empty());
        let bad = CampaignsConfig {
            gate_runs: 5,
            approval_threshold_micros: -1,
            max_variants: 0,
            ..CampaignsConfig::default()
        };
        let p = bad.problems();
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(p[0].starts_with("campaigns.gate_runs"));
        assert!(p[1].contains("KIKI__CAMPAIGNS__APPROVAL_THRESHOLD_MICROS"));
    }

    #[test]
    fn unknown_keys_are_refused() {
        let r: Result<CampaignsConfig, _> =
            serde_json::from_value(serde_json::json!({"gate_run": 10}));
        assert!(r.is_err());
        let ok: CampaignsConfig =
            serde_json::from_value(serde_json::json!({"four_eyes": true})).unwrap();
        assert!(ok.four_eyes);
        assert_eq!(ok.gate_runs, 4_000);
    }
}
