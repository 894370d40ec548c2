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
    /// The advertiser's brand as it should appear in the copy (1 to 100
    /// characters).
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub brand: String,
    /// The product or offer advertised (1 to 200 characters).
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub product: String,
    /// The one thing the ad must get across (1 to 500 characters).
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    pub key_message: String,
    /// Who the ads speak to, in words ("women 25-44 in the US"; 1 to 500
    /// characters).
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    pub audience: String,
    #[serde(default)]
    pub tone: Tone,
    /// The twin's industry name (`ecommerce`, `saas`, …; 1 to 50 characters).
    #[schema(min_length = 1, max_length = 50, pattern = r"\S")]
    pub industry: String,
    /// Where a click lands (1 to 2,048 characters).
    #[schema(min_length = 1, max_length = 2048, pattern = r"\S")]
    pub landing_url: String,
    /// What the call to action asks (`Shop now`; 1 to 60 characters); a
    /// default by campaign type when absent.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 60, pattern = r"\S")]
    pub call_to_action: Option<String>,
    /// Guidance for images and video (colours, setting, what to avoid): at
    /// most 20, each up to 500 characters.
    #[serde(default)]
    #[schema(max_items = 20, value_type = Vec<GuidelineText>)]
    pub visual_guidelines: Vec<String>,
}

/// One visual guideline: up to 500 characters.
#[derive(utoipa::ToSchema)]
#[schema(max_length = 500)]
#[allow(dead_code)] // the item schema of `CreativeBrief::visual_guidelines` in the API document
pub struct GuidelineText(String);
