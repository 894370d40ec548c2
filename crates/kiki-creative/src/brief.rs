//! The creative brief: what the planner hands the copy generators (the
//! built-in template engine or an LLM) and what a person may edit before
//! variants are written.

use serde::{Deserialize, Serialize};

/// The voice the copy speaks in.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Tone {
    /// Warm and direct (the default).
    #[default]
    Friendly,
    /// Calm, confident, no exclamation marks.
    Premium,
    /// Light and witty.
    Playful,
    /// Time-bound offers, strong calls to action.
    Urgent,
    /// Plain and factual, for B2B and regulated industries.
    Professional,
}

impl Tone {
    /// Every tone, in a fixed order.
    pub const ALL: [Tone; 5] = [
        Tone::Friendly,
        Tone::Premium,
        Tone::Playful,
        Tone::Urgent,
        Tone::Professional,
    ];
}

/// What the ads must say, to whom, and how they should look.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreativeBrief {
    /// The advertiser's brand as it should appear in the copy.
    pub brand: String,
    /// The product or offer advertised.
    pub product: String,
    /// The one thing the ad must get across.
    pub key_message: String,
    /// Who the ads speak to, in words ("women 25-44 in the US").
    pub audience: String,
    #[serde(default)]
    pub tone: Tone,
    /// The twin's industry name (`ecommerce`, `saas`, …).
    pub industry: String,
    /// Where a click lands.
    pub landing_url: String,
    /// What the call to action asks (`Shop now`); a default by campaign type
    /// when absent.
    #[serde(default)]
    pub call_to_action: Option<String>,
    /// Guidance for images and video (colours, setting, what to avoid).
    #[serde(default)]
    pub visual_guidelines: Vec<String>,
}
