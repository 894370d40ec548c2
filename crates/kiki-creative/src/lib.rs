//! SyncCreate's rules and template engine, free of IO: how long each piece
//! of ad copy may be on each platform ([`limits`]), the ad-policy and
//! brand-safety review every creative passes before a campaign may use it
//! ([`policy`]), and the built-in template engine ([`generate`](mod@generate)) that writes
//! variants of an ad from a [`CreativeBrief`] — copy fitted to the channel,
//! an image prompt with the channel's placements and a video prompt — and
//! fits a language model's answer ([`CopyAnswer`]) to the same shape. The
//! campaigns context stores the variants and the verdicts; generation is
//! deterministic (variation `n` of a brief is always the same) and carries
//! the brief's own claims for the review to judge.

pub mod brief;
pub mod generate;
pub mod limits;
pub mod policy;
mod templates;
mod text;

pub use brief::{CreativeBrief, Tone};
pub use generate::{
    CopyAnswer, CreativeVariant, FITTED_ANSWER, ImagePrompt, MAX_VARIANTS, ON_SCREEN_MAX_CHARS,
    Placement, Scene, Segment, VideoPrompt, copy_answer_schema, fit_answer, generate,
};
pub use limits::{Channel, CopyField, CopyLimit, LimitProblem, check_limits, shorten};
pub use policy::{Finding, PolicyReport, PolicyRules, Rule, Severity, Verdict, review};

/// The copy of one ad: what the platform shows as text.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(default, deny_unknown_fields)]
pub struct AdCopy {
    /// Short lines (Google RSA headlines, Meta headline, …).
    pub headlines: Vec<String>,
    /// Longer lines under the headlines.
    pub descriptions: Vec<String>,
    /// The body above the media (Meta primary text, LinkedIn introductory
    /// text, TikTok ad text, X post text).
    pub primary_text: Option<String>,
    /// Display URL paths (Google RSA `path1`, `path2`).
    pub paths: Vec<String>,
}

impl AdCopy {
    /// Every piece of text with the field it sits in (`headlines[0]`, …).
    pub fn fields(&self) -> Vec<(String, &str)> {
        let mut out = Vec::new();
        for (i, h) in self.headlines.iter().enumerate() {
            out.push((format!("headlines[{i}]"), h.as_str()));
        }
        for (i, d) in self.descriptions.iter().enumerate() {
            out.push((format!("descriptions[{i}]"), d.as_str()));
        }
        if let Some(p) = &self.primary_text {
            out.push(("primary_text".to_owned(), p.as_str()));
        }
        for (i, p) in self.paths.iter().enumerate() {
            out.push((format!("paths[{i}]"), p.as_str()));
        }
        out
    }
}
