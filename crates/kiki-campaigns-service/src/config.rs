//! The `[campaigns]` configuration section: the launch gate's simulation size,
//! the default approval threshold and four-eyes rule, and list limits.
//! Organisations override the threshold, four-eyes, the daily cap and their
//! ad-policy rules in `campaign_settings` (`PUT /v1/campaign-settings`).

use serde::{Deserialize, Serialize};

/// `[campaigns]` in `kiki.toml` (`KIKI__CAMPAIGNS__…` in the environment).
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// Seconds a landing page may take to answer `POST /v1/campaigns/plan`.
    pub page_timeout_secs: u64,
    /// Most bytes of a landing page read (the rest is ignored).
    pub page_max_bytes: usize,
    /// Landing pages on loopback, private, link-local or unspecified
    /// addresses may be read (a development setting: off, the planner cannot
    /// be pointed at the server's own network).
    pub allow_private_pages: bool,
    /// At most this many impressions per user per day on a KIKI programmatic
    /// line item (0: no cap).
    pub programmatic_daily_frequency_cap: u32,
    /// The language model the planner asks (`[campaigns.llm]`); none: the
    /// rule planner answers. An organisation may set its own
    /// (`PUT /v1/campaign-settings/llm`), which wins.
    pub llm: Option<LlmSection>,
}

/// `[campaigns.llm]`: any OpenAI-compatible chat-completions API (OpenAI,
/// vLLM, Ollama, LiteLLM).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LlmSection {
    /// The API root, such as `https://api.openai.com/v1` or
    /// `http://localhost:11434/v1`.
    pub base_url: String,
    pub model: String,
    /// Sent as a bearer token; printed as `***`.
    #[serde(
        default,
        serialize_with = "serialize_key",
        skip_serializing_if = "Option::is_none"
    )]
    pub api_key: Option<secrecy::SecretString>,
    /// Seconds per attempt.
    #[serde(default = "thirty")]
    pub timeout_secs: u64,
    /// Ask for `response_format: json_object` (off for servers without it).
    #[serde(default = "yes")]
    pub json_mode: bool,
    /// The images endpoint's model (`POST /v1/creatives/{id}/image`); none:
    /// the image prompts stay on the creatives for the advertiser's own tools.
    #[serde(default)]
    pub image_model: Option<String>,
}

fn thirty() -> u64 {
    30
}

fn yes() -> bool {
    true
}

/// The key as `***` when set.
fn serialize_key<S: serde::Serializer>(
    v: &Option<secrecy::SecretString>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(k) => kiki_server::config::serialize_secret(k, s),
        None => s.serialize_none(),
    }
}

impl LlmSection {
    /// The client's configuration.
    pub fn client_config(&self) -> kiki_llm::LlmConfig {
        let mut c = kiki_llm::LlmConfig::new(self.base_url.clone(), self.model.clone());
        c.api_key = self.api_key.clone();
        c.timeout = std::time::Duration::from_secs(self.timeout_secs);
        c.json_mode = self.json_mode;
        c.image_model = self.image_model.clone();
        c
    }
}

impl Default for CampaignsConfig {
    fn default() -> Self {
        CampaignsConfig {
            gate_runs: 4_000,
            approval_threshold_micros: 100_000_000,
            four_eyes: false,
            max_variants: 20,
            page_timeout_secs: 10,
            page_max_bytes: 1_048_576,
            allow_private_pages: false,
            programmatic_daily_frequency_cap: 3,
            llm: None,
        }
    }
}

impl kiki_server::ModuleSettings for CampaignsConfig {
    fn problems(&self, production: bool) -> Vec<String> {
        let mut out = CampaignsConfig::problems(self);
        if production && self.allow_private_pages {
            out.push(
                "campaigns.allow_private_pages (KIKI__CAMPAIGNS__ALLOW_PRIVATE_PAGES) is a development setting: in production the planner must not read pages on the server's own network"
                    .to_owned(),
            );
        }
        out
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
        if self.programmatic_daily_frequency_cap > 1_000 {
            out.push(
                "campaigns.programmatic_daily_frequency_cap (KIKI__CAMPAIGNS__PROGRAMMATIC_DAILY_FREQUENCY_CAP) must be at most 1000"
                    .to_owned(),
            );
        }
        if !(1..=20).contains(&self.max_variants) {
            out.push(
                "campaigns.max_variants (KIKI__CAMPAIGNS__MAX_VARIANTS) must be between 1 and 20"
                    .to_owned(),
            );
        }
        if !(1..=120).contains(&self.page_timeout_secs) {
            out.push(
                "campaigns.page_timeout_secs (KIKI__CAMPAIGNS__PAGE_TIMEOUT_SECS) must be between 1 and 120"
                    .to_owned(),
            );
        }
        if !(1_024..=16_777_216).contains(&self.page_max_bytes) {
            out.push(
                "campaigns.page_max_bytes (KIKI__CAMPAIGNS__PAGE_MAX_BYTES) must be between 1024 and 16777216"
                    .to_owned(),
            );
        }
        if let Some(llm) = &self.llm {
            for p in llm.client_config().problems() {
                out.push(format!("campaigns.llm (KIKI__CAMPAIGNS__LLM__…): {p}"));
            }
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
    fn the_llm_key_prints_as_stars_and_a_bad_llm_section_is_named() {
        let cfg: CampaignsConfig = serde_json::from_value(serde_json::json!({
            "llm": {"base_url": "http://localhost:11434/v1", "model": "llama3", "api_key": "sk-live-123456"}
        }))
        .unwrap();
        assert!(cfg.problems().is_empty(), "{:?}", cfg.problems());
        let shown = serde_json::to_string(&cfg).unwrap();
        assert!(!shown.contains("sk-live"), "{shown}");
        assert!(shown.contains("***"), "{shown}");
        let bad: CampaignsConfig = serde_json::from_value(serde_json::json!({
            "llm": {"base_url": "ftp://x", "model": ""}
        }))
        .unwrap();
        assert!(
            bad.problems()
                .iter()
                .all(|p| p.starts_with("campaigns.llm"))
        );
        assert!(!bad.problems().is_empty());
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
