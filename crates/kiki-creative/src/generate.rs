//! SyncCreate's built-in template engine, and the fitting of a language
//! model's answer to the same shape.
//!
//! [`generate`] writes up to twenty variants of an ad for one channel from a
//! [`CreativeBrief`]: copy in the pieces and lengths the channel takes
//! ([`Channel::limits`]), an image prompt with the channel's placements and
//! a video prompt in the channel's format. The phrases come from tables (see
//! `templates.rs`) chosen by the brief's tone, the audience segment read from
//! its audience text ([`Segment::of`]) and its industry; the brief's brand,
//! product, key message and call to action fill them (the industry's call
//! to action when the brief has none). Variation `n` starts from its own
//! combination of templates and leads with a line no earlier variant of the
//! call leads with, so the same brief always gives the same variants and
//! the variants of one call differ (as long as the brief leaves room for
//! different lines: twenty variants of a 34-character Snapchat headline for
//! a 30-character brand cannot all differ).
//!
//! Per channel: Google gets a full responsive search ad (up to 15
//! headlines, 4 descriptions, two display paths from the product's words);
//! Meta, LinkedIn and X a headline, their primary text and (Meta, LinkedIn)
//! a description; TikTok its ad text, opening with the brand; Snapchat its
//! headline (the first variation gives it to the key message); Pinterest a
//! title and a description that carries the key message; KIKI's display
//! creatives three headlines, two descriptions and a body. Every variant
//! leads with a headline naming the brand where the brand fits.
//!
//! Everything is fitted, never cut inside a word: a pattern that does not fit
//! a field is passed over for the next one; the key message, when it is too
//! long, is shortened at a word boundary with [`shorten`], without a
//! dangling "for" or "and" at the end.
//!
//! The templates never add what the policy review ([`crate::review`])
//! refuses: each piece is reviewed under the default rules and kept only if
//! every rule that fires on it also fires on the brief's own words. What the
//! brief itself says is carried as written — a claim in the key message
//! stays in the copy, where the campaigns service's review finds it;
//! generation does not hide it.
//!
//! [`fit_answer`] takes a language model's copy ([`CopyAnswer`], whose JSON
//! Schema [`copy_answer_schema`] gives the prompt) and makes it fit the
//! channel the same way: shortened, trimmed to the platform's counts, topped
//! up from the templates, with the templates' image and video prompts.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::AdCopy;
use crate::brief::CreativeBrief;
use crate::limits::{Channel, CopyField, CopyLimit, shorten};
use crate::policy::{PolicyRules, Rule, review};
use crate::templates::{self, IndustryTable, Kind, SegmentTable, ToneTable};

/// The most variants one call writes or fits.
pub const MAX_VARIANTS: u32 = 20;

/// The most characters of text a video scene shows on screen, so that it can
/// be read in a scene of a few seconds.
pub const ON_SCREEN_MAX_CHARS: usize = 40;

/// What [`fit_answer`] writes in [`CreativeVariant::template`].
pub const FITTED_ANSWER: &str = "language model, fitted";

/// One variant of an ad for one channel: its copy and the prompts for its
/// image and video.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CreativeVariant {
    /// 1-based number of the variant in its batch; the template engine
    /// writes the same variant for the same number.
    pub variation: u32,
    /// Where the ad runs.
    pub channel: Channel,
    /// The copy, fitted to the channel's limits.
    pub copy: AdCopy,
    /// The prompt for the ad's image, with the sizes the channel takes.
    pub image: ImagePrompt,
    /// The prompt for the ad's video.
    pub video: VideoPrompt,
    /// Which templates wrote it: the tone, the lead headline's kind and
    /// pattern (with the industry phrase it used), then the primary-text
    /// body or the description (`friendly/benefit-1/phrase-2+body-3`,
    /// `premium/product-2+description-4`); or `language model, fitted`.
    pub template: String,
}

/// A prompt for an image generator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImagePrompt {
    /// What to draw: the product, the scene, the mood of the tone, the key
    /// message and the brief's visual guidelines.
    pub prompt: String,
    /// What not to draw: text and lettering artefacts, distorted hands and
    /// faces, competitors' logos, and what the guidelines say to avoid.
    pub negative_prompt: String,
    /// The sizes to render, one per placement the channel offers.
    pub placements: Vec<Placement>,
}

/// One size an image is rendered in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Placement {
    /// Where the platform shows it (`feed`, `stories`, `responsive_display`,
    /// or an IAB size name for KIKI's display banners).
    pub name: String,
    /// Width to height (`1:1`, `4:5`, `9:16`, `1.91:1`).
    pub aspect_ratio: String,
    /// Pixels.
    pub width: u32,
    /// Pixels.
    pub height: u32,
}

/// A prompt for a video generator or an editor: a sequence of scenes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VideoPrompt {
    /// Length of the whole video; the scenes' seconds add up to it.
    pub duration_seconds: u32,
    /// Width to height (`9:16`, `16:9`, `1:1`).
    pub aspect_ratio: String,
    /// Hook, product, benefit and call to action, in order.
    pub scenes: Vec<Scene>,
}

/// One scene of a video.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Scene {
    /// When it starts, in seconds from the start of the video.
    pub start_second: u32,
    /// How long it lasts.
    pub seconds: u32,
    /// What is shown.
    pub description: String,
    /// How the camera moves (`slow push-in`, `static close-up`, …).
    pub camera: String,
    /// Text laid over the scene, at most [`ON_SCREEN_MAX_CHARS`] characters.
    pub on_screen_text: Option<String>,
}

/// Who the ads speak to, as the template engine reads it from the brief's
/// audience text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Segment {
    /// Students, "young", "Gen Z", or an age range inside 16–34.
    YoungAdults,
    /// Parents, mothers, fathers, families.
    Parents,
    /// Professionals, business owners, founders, managers, teams, B2B.
    Professionals,
    /// Women, female audiences.
    Women,
    /// Men, male audiences.
    Men,
    /// Anyone else.
    General,
}

const PARENT_WORDS: &[&str] = &[
    "parent",
    "parents",
    "parenting",
    "mom",
    "moms",
    "mum",
    "mums",
    "mother",
    "mothers",
    "dad",
    "dads",
    "father",
    "fathers",
    "family",
    "families",
];
const PROFESSIONAL_WORDS: &[&str] = &[
    "professional",
    "professionals",
    "b2b",
    "business",
    "businesses",
    "manager",
    "managers",
    "founder",
    "founders",
    "owner",
    "owners",
    "executive",
    "executives",
    "marketer",
    "marketers",
    "developer",
    "developers",
    "engineer",
    "engineers",
    "freelancer",
    "freelancers",
    "entrepreneur",
    "entrepreneurs",
    "ceo",
    "ceos",
    "cfo",
    "cto",
    "cmo",
    "hr",
    "smb",
    "smbs",
    "team",
    "teams",
    "startup",
    "startups",
    "agency",
    "agencies",
];
const YOUNG_WORDS: &[&str] = &[
    "student",
    "students",
    "young",
    "genz",
    "college",
    "university",
    "graduate",
    "graduates",
    "grads",
    "twenties",
    "20s",
];
const WOMEN_WORDS: &[&str] = &["women", "woman", "female", "females", "ladies", "lady"];
const MEN_WORDS: &[&str] = &["men", "man", "male", "males", "guys", "gentlemen"];

impl Segment {
    /// Every segment, in the order [`Segment::of`] tries them.
    pub const ALL: [Segment; 6] = [
        Segment::Parents,
        Segment::Professionals,
        Segment::YoungAdults,
        Segment::Women,
        Segment::Men,
        Segment::General,
    ];

    /// The segment of an audience written in words. The words are compared
    /// whole, ignoring case, and the first rule that matches wins:
    /// parents (`parents`, `moms`, `mums`, `dads`, `families`, …), then
    /// professionals (`professionals`, `business owners`, `founders`,
    /// `managers`, `teams`, `B2B`, …), then young adults (`students`,
    /// `young`, `Gen Z`, `college`, or an age range such as `18-24` or
    /// `18 to 30` that starts at 16 or later and ends at 34 or earlier),
    /// then women (`women`, `female`, `ladies`), then men (`men`, `male`,
    /// `guys`); anything else is general. So "young women 18-24" are young
    /// adults, "women 25-44" are women, "mums who run a shop" are parents.
    pub fn of(audience: &str) -> Segment {
        let lower = audience.to_lowercase();
        let tokens: Vec<&str> = lower
            .split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '–'))
            .filter(|t| !t.is_empty())
            .collect();
        let words: Vec<&str> = tokens
            .iter()
            .flat_map(|t| t.split(['-', '–']))
            .filter(|w| !w.is_empty())
            .collect();
        let any = |list: &[&str]| words.iter().any(|w| list.contains(w));
        let gen_z = words.windows(2).any(|w| w == ["gen", "z"]);
        let young_range = |a: &str, b: &str| match (a.parse::<u32>(), b.parse::<u32>()) {
            (Ok(a), Ok(b)) => a >= 16 && b <= 34 && a < b,
            _ => false,
        };
        let ranged = tokens.iter().any(|t| {
            let parts: Vec<&str> = t.split(['-', '–']).collect();
            parts.len() == 2 && young_range(parts[0], parts[1])
        }) || tokens
            .windows(3)
            .any(|w| w[1] == "to" && young_range(w[0], w[2]));
        if any(PARENT_WORDS) {
            Segment::Parents
        } else if any(PROFESSIONAL_WORDS) {
            Segment::Professionals
        } else if any(YOUNG_WORDS) || gen_z || ranged {
            Segment::YoungAdults
        } else if any(WOMEN_WORDS) {
            Segment::Women
        } else if any(MEN_WORDS) {
            Segment::Men
        } else {
            Segment::General
        }
    }

    /// The segment's name (`young_adults`).
    pub fn as_str(self) -> &'static str {
        match self {
            Segment::YoungAdults => "young_adults",
            Segment::Parents => "parents",
            Segment::Professionals => "professionals",
            Segment::Women => "women",
            Segment::Men => "men",
            Segment::General => "general",
        }
    }
}

/// `count` variants (clamped to 1..=[`MAX_VARIANTS`]) of an ad for `channel`
/// from `brief`, numbered from 1. Deterministic: the same brief, channel and
/// count give the same variants, and variation `n` is the same in every
/// batch of at least `n`.
pub fn generate(brief: &CreativeBrief, channel: Channel, count: u32) -> Vec<CreativeVariant> {
    let engine = Engine::new(brief, channel);
    let mut used = Used::default();
    (1..=count.clamp(1, MAX_VARIANTS))
        .map(|variation| engine.variant(variation, &mut used))
        .collect()
}

/// A language model's answer to "write copy for this brief": one [`AdCopy`]
/// per variant. Its JSON Schema is [`copy_answer_schema`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CopyAnswer {
    /// The variants, 1 to [`MAX_VARIANTS`], each with at least one headline.
    pub variants: Vec<AdCopy>,
}

impl CopyAnswer {
    /// What makes the answer unusable: no variants, more than
    /// [`MAX_VARIANTS`], or a variant without a headline. Lengths and counts
    /// per channel are not checked here; [`fit_answer`] fits them.
    pub fn validate(&self) -> Vec<kiki_core::FieldError> {
        let mut out = Vec::new();
        if self.variants.is_empty() {
            out.push(kiki_core::FieldError::new(
                "variants",
                "The answer has no variants; at least one is needed.",
            ));
        }
        if self.variants.len() > MAX_VARIANTS as usize {
            out.push(kiki_core::FieldError::new(
                "variants",
                format!(
                    "The answer has {} variants; at most {MAX_VARIANTS} are used.",
                    self.variants.len()
                ),
            ));
        }
        for (i, v) in self.variants.iter().enumerate() {
            if v.headlines.iter().all(|h| h.trim().is_empty()) {
                out.push(kiki_core::FieldError::new(
                    format!("variants[{i}].headlines"),
                    "Each variant needs at least one headline that is not empty.",
                ));
            }
        }
        out
    }
}

/// The JSON Schema (2020-12) of [`CopyAnswer`], for the prompt that asks a
/// language model for copy.
pub fn copy_answer_schema() -> serde_json::Value {
    let texts = |what: &str, min: usize| {
        serde_json::json!({
            "type": "array",
            "description": what,
            "minItems": min,
            "items": {"type": "string", "minLength": 1}
        })
    };
    serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "CopyAnswer",
        "description": "Ad copy variants for one channel. Say only what the brief supports: no guarantees, rankings or health outcomes, no capitals for emphasis, at most one exclamation mark per piece.",
        "type": "object",
        "additionalProperties": false,
        "required": ["variants"],
        "properties": {
            "variants": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_VARIANTS,
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["headlines"],
                    "properties": {
                        "headlines": texts("Short lines (Google headlines, the Meta headline, …).", 1),
                        "descriptions": texts("Longer lines under the headlines.", 0),
                        "primary_text": {
                            "type": ["string", "null"],
                            "description": "The body above the media (Meta primary text, TikTok ad text, X post text)."
                        },
                        "paths": texts("Display URL paths (Google): lower case, no spaces.", 0)
                    }
                }
            }
        }
    })
}

/// `answer`'s variants (at most [`MAX_VARIANTS`]) fitted to `channel`: each
/// piece shortened at a word boundary to the channel's limit (a piece whose
/// first word alone is too long is dropped; a Google headline loses its
/// exclamation marks, which Google refuses), each field trimmed to the
/// channel's maximum count and topped up from the templates when it has
/// fewer than the channel's minimum; a channel's primary text the answer
/// lacks is its first headline and description. Image and video prompts are
/// the templates' for the same variation; `template` is
/// [`FITTED_ANSWER`]. The answer's claims are kept as written: the
/// service's review judges them.
pub fn fit_answer(
    brief: &CreativeBrief,
    channel: Channel,
    answer: &CopyAnswer,
) -> Vec<CreativeVariant> {
    let engine = Engine::new(brief, channel);
    let mut used = Used::default();
    answer
        .variants
        .iter()
        .take(MAX_VARIANTS as usize)
        .zip(1..)
        .map(|(given, variation)| {
            let written = engine.variant(variation, &mut used);
            CreativeVariant {
                variation,
                channel,
                copy: fit_copy(channel, given, &written.copy),
                image: written.image,
                video: written.video,
                template: FITTED_ANSWER.to_owned(),
            }
        })
        .collect()
}

fn fit_copy(channel: Channel, given: &AdCopy, written: &AdCopy) -> AdCopy {
    let given_headlines: Vec<String> = given
        .headlines
        .iter()
        .map(|h| headline_for(channel, h))
        .collect();
    let headlines = fit_list(
        &given_headlines,
        channel.limit(CopyField::Headline),
        &written.headlines,
    );
    let descriptions = fit_list(
        &given.descriptions,
        channel.limit(CopyField::Description),
        &written.descriptions,
    );
    let primary = channel.limit(CopyField::PrimaryText);
    let primary_text = if primary.max_count == 0 {
        None
    } else {
        let own = given
            .primary_text
            .as_deref()
            .filter(|p| !p.trim().is_empty())
            .map(str::to_owned)
            .or_else(|| {
                let parts: Vec<String> = given
                    .headlines
                    .iter()
                    .take(1)
                    .chain(given.descriptions.iter().take(1))
                    .map(|t| sentence(t.trim()))
                    .filter(|t| !t.is_empty())
                    .collect();
                (!parts.is_empty()).then(|| parts.join(" "))
            });
        own.and_then(|p| fit(&p, primary.max_chars))
            .or_else(|| written.primary_text.clone())
    };
    let path = channel.limit(CopyField::Path);
    let mut paths: Vec<String> = given
        .paths
        .iter()
        .filter_map(|p| path_of(p, path.max_chars))
        .collect();
    paths.dedup();
    paths.truncate(path.max_count);
    if paths.is_empty() {
        paths = written.paths.clone();
    }
    AdCopy {
        headlines,
        descriptions,
        primary_text,
        paths,
    }
}

fn fit_list(given: &[String], limit: CopyLimit, written: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if limit.max_count == 0 {
        return out;
    }
    for g in given {
        if out.len() == limit.max_count {
            break;
        }
        if let Some(t) = fit(g, limit.max_chars)
            && !contains_ci(&out, &t)
        {
            out.push(t);
        }
    }
    for w in written {
        if out.len() >= limit.min_count {
            break;
        }
        if !contains_ci(&out, w) {
            out.push(w.clone());
        }
    }
    out
}

/// The image sizes of each channel, from the platforms' published ad
/// specifications: Meta's ads guide (feed 1:1 and 4:5, Stories and Reels
/// 9:16), Google's responsive display ads (1.91:1 and 1:1), TikTok's in-feed
/// ads (9:16), LinkedIn's single image ads (1.91:1 and 1:1), Snapchat's
/// single image ads (9:16), Pinterest's standard pins (2:3), X's image ads
/// (1.91:1 and 1:1), and for KIKI's OpenRTB bidder the IAB display sizes it
/// bids on (medium rectangle, leaderboard, mobile banner, wide skyscraper).
fn placements(channel: Channel) -> Vec<Placement> {
    let sizes: &[(&str, &str, u32, u32)] = match channel {
        Channel::Meta => &[
            ("feed", "1:1", 1080, 1080),
            ("feed", "4:5", 1080, 1350),
            ("stories", "9:16", 1080, 1920),
        ],
        Channel::Google => &[
            ("responsive_display", "1.91:1", 1200, 628),
            ("responsive_display", "1:1", 1200, 1200),
        ],
        Channel::Tiktok => &[("in_feed", "9:16", 1080, 1920)],
        Channel::Linkedin => &[("feed", "1.91:1", 1200, 627), ("feed", "1:1", 1200, 1200)],
        Channel::Snapchat => &[("full_screen", "9:16", 1080, 1920)],
        Channel::Pinterest => &[("standard_pin", "2:3", 1000, 1500)],
        Channel::X => &[
            ("timeline", "1.91:1", 1200, 628),
            ("timeline", "1:1", 1200, 1200),
        ],
        Channel::Kiki => &[
            ("medium_rectangle", "6:5", 300, 250),
            ("leaderboard", "364:45", 728, 90),
            ("mobile_banner", "32:5", 320, 50),
            ("wide_skyscraper", "4:15", 160, 600),
        ],
    };
    sizes
        .iter()
        .map(|&(name, ratio, width, height)| Placement {
            name: name.to_owned(),
            aspect_ratio: ratio.to_owned(),
            width,
            height,
        })
        .collect()
}

/// Length and shape of a channel's video: 15 seconds everywhere, vertical
/// where the platform is full-screen (TikTok, Snapchat, Meta Stories and
/// Reels), 16:9 for Google (YouTube), X and KIKI, square for LinkedIn's feed
/// and 2:3 for Pinterest.
fn video_format(channel: Channel) -> (u32, &'static str) {
    match channel {
        Channel::Meta | Channel::Tiktok | Channel::Snapchat => (15, "9:16"),
        Channel::Google | Channel::X | Channel::Kiki => (15, "16:9"),
        Channel::Linkedin => (15, "1:1"),
        Channel::Pinterest => (15, "2:3"),
    }
}

/// Seconds of the hook, product, benefit and call-to-action scenes of a
/// video of `duration` seconds (6, 15 or 30): a fifth each for the hook and
/// the call to action, the rest shared by the middle scenes.
fn scene_seconds(duration: u32) -> [u32; 4] {
    let hook = (duration / 5).max(1);
    let cta = (duration / 5).max(1);
    let product = duration.saturating_sub(hook + cta) / 2;
    let benefit = duration.saturating_sub(hook + cta + product);
    [hook, product, benefit, cta]
}

const NEGATIVE: &str = "text, letters, captions, watermarks, garbled or misspelled lettering, \
distorted hands, extra or missing fingers, distorted or asymmetric faces, deformed bodies, \
blurry, low resolution, competitor logos, other brands' logos and trademarks";

/// Words that end a shortened line badly.
const DANGLING: &[&str] = &[
    "a", "an", "the", "and", "or", "but", "for", "with", "to", "of", "in", "on", "at", "by",
    "from", "your", "our", "my", "its", "their", "that", "all", "every", "very", "as", "than",
    "into", "about", "when", "who", "which", "while", "where", "if", "so", "just", "&", "+",
];

/// `text` trimmed and, when longer than `max` characters, shortened at a
/// word boundary with [`shorten`] and without a dangling connecting word at
/// the end. `None` when nothing is left or the first word alone is longer
/// than `max` (it could only be cut inside the word).
pub(crate) fn fit(text: &str, max: usize) -> Option<String> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if text.chars().count() <= max {
        return Some(text.to_owned());
    }
    let first = text.split_whitespace().next()?;
    if first.chars().count() > max {
        return None;
    }
    let mut s = shorten(text, max);
    loop {
        let trimmed = s
            .trim_end_matches(|c: char| {
                c.is_whitespace() || matches!(c, ',' | ';' | ':' | '-' | '–' | '—' | '/' | '(')
            })
            .to_owned();
        let last = trimmed.rsplit(char::is_whitespace).next().unwrap_or("");
        let words = trimmed.split_whitespace().count();
        if words > 1 && DANGLING.contains(&last.to_lowercase().as_str()) {
            s = trimmed[..trimmed.len() - last.len()].to_owned();
            continue;
        }
        s = trimmed;
        break;
    }
    (!s.is_empty()).then_some(s)
}

/// `s` with its first letter in upper case, unless the second character is
/// already upper case (`iPhone`, `eBay`).
fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_lowercase() && !chars.clone().next().is_some_and(char::is_uppercase) => {
            c.to_uppercase().chain(chars).collect()
        }
        _ => s.to_owned(),
    }
}

/// `s` with its first letter in lower case, unless it is an acronym's.
fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_uppercase() && !chars.clone().next().is_some_and(char::is_uppercase) => {
            c.to_lowercase().chain(chars).collect()
        }
        _ => s.to_owned(),
    }
}

/// `text` as `channel` may show it in a headline: Google refuses an
/// exclamation mark there, so a closing one is dropped and any other
/// becomes a full stop (a platform rule, like a length, not a claim).
fn headline_for(channel: Channel, text: &str) -> String {
    if channel == Channel::Google && text.contains('!') {
        text.trim_end_matches('!').replace('!', ".")
    } else {
        text.to_owned()
    }
}

/// `s` ending as a sentence.
fn sentence(s: &str) -> String {
    if s.is_empty() || s.ends_with(['.', '!', '?']) {
        s.to_owned()
    } else {
        format!("{s}.")
    }
}

fn contains_ci(list: &[String], text: &str) -> bool {
    list.iter().any(|t| t.to_lowercase() == text.to_lowercase())
}

/// A display path from `text`: its words in lower case joined by `-`, as
/// many as fit in `max` characters; `None` when no word fits.
fn path_of(text: &str, max: usize) -> Option<String> {
    let mut out = String::new();
    for w in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let w = w.to_lowercase();
        let len = out.chars().count();
        let wl = w.chars().count();
        if len == 0 && wl <= max {
            out = w;
        } else if len > 0 && len + 1 + wl <= max {
            out.push('-');
            out.push_str(&w);
        } else if len > 0 {
            break;
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Up to `count` display paths from the product's words (stop words left
/// out), each at most `max` characters, lower case, words joined by `-`.
fn product_paths(product: &str, count: usize, max: usize) -> Vec<String> {
    const STOP: &[&str] = &[
        "a", "an", "the", "and", "or", "for", "with", "of", "to", "by",
    ];
    let words: Vec<String> = product
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| !STOP.contains(&w.as_str()) && w.chars().count() <= max)
        .collect();
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    for w in words {
        if current.is_empty() {
            current = w;
        } else if current.chars().count() + 1 + w.chars().count() <= max {
            current.push('-');
            current.push_str(&w);
        } else {
            out.push(std::mem::replace(&mut current, w));
            if out.len() == count {
                return out;
            }
        }
    }
    if !current.is_empty() && out.len() < count {
        out.push(current);
    }
    out
}

/// The clauses of the visual guidelines, split into what to show and what
/// to avoid. A clause (text between `,`, `;`, `.` or a line end) that says
/// "avoid …", "no …", "without …", "never …", "don't show …", "do not use
/// …", "exclude …" gives what follows to the avoid list (and what precedes
/// to the show list); any other clause is something to show.
fn read_guidelines(guidelines: &[String]) -> (Vec<String>, Vec<String>) {
    const MARKERS: &[&str] = &[
        "avoid",
        "avoiding",
        "no",
        "without",
        "never",
        "exclude",
        "don't show",
        "do not show",
        "don't use",
        "do not use",
        "don't include",
        "do not include",
        "don't",
        "do not",
    ];
    const LEAD_INS: &[&str] = &[
        "showing ",
        "show ",
        "using ",
        "use ",
        "including ",
        "include ",
        "any ",
    ];
    let mut show = Vec::new();
    let mut avoid = Vec::new();
    for clause in guidelines
        .iter()
        .flat_map(|g| g.split([',', ';', '.', '\n']))
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        let lower = clause.to_ascii_lowercase();
        let mut found = None;
        for (i, _) in lower.char_indices() {
            let starts_word = i == 0 || !lower[..i].ends_with(|c: char| c.is_alphanumeric());
            if !starts_word {
                continue;
            }
            let hit = MARKERS.iter().find(|m| {
                lower[i..].starts_with(*m)
                    && lower[i + m.len()..]
                        .chars()
                        .next()
                        .is_some_and(char::is_whitespace)
            });
            if let Some(m) = hit {
                let rest = lower[i + m.len()..].trim_start();
                let quantity =
                    *m == "no" && (rest.starts_with("more than") || rest.starts_with("less than"));
                if !quantity {
                    found = Some((i, i + m.len()));
                    break;
                }
            }
        }
        match found {
            Some((start, end)) => {
                let before = clause[..start]
                    .trim()
                    .trim_end_matches(" and")
                    .trim_end_matches(" but")
                    .trim();
                if !before.is_empty() && !before.eq_ignore_ascii_case("and") {
                    show.push(before.to_owned());
                }
                let mut what = clause[end..].trim();
                for lead in LEAD_INS {
                    if what
                        .get(..lead.len())
                        .is_some_and(|w| w.eq_ignore_ascii_case(lead))
                    {
                        what = what[lead.len()..].trim();
                    }
                }
                if !what.is_empty() {
                    avoid.push(what.to_owned());
                }
            }
            None => show.push(clause.to_owned()),
        }
    }
    (show, avoid)
}

/// Pieces of copy already given to earlier variants of the batch.
#[derive(Default)]
struct Used {
    leads: BTreeSet<String>,
    primaries: BTreeSet<String>,
}

/// The lead headline of a variant and the template that wrote it.
struct Lead {
    text: String,
    /// `friendly/benefit-1/phrase-2`: tone, kind, pattern and benefit phrase.
    label: String,
}

/// The brief read for the templates.
struct Engine {
    channel: Channel,
    tone: &'static ToneTable,
    industry: &'static IndustryTable,
    segment: &'static SegmentTable,
    brand: String,
    product: String,
    brand_product: String,
    message_line: String,
    message_sentence: String,
    cta: String,
    cta_lc: String,
    show: Vec<String>,
    avoid: Vec<String>,
    /// The rules the brief's own words set off as headlines, and as any
    /// other text: a template may carry them, never add another.
    own_headlines: Vec<Rule>,
    own_text: Vec<Rule>,
    /// Pieces already reviewed, by field: a batch offers the same lines to
    /// many variants.
    reviewed: RefCell<BTreeMap<(bool, String), bool>>,
}

/// The combination of templates variation `c + 1` starts from: the lead
/// headline's kind and pattern, the body (or description) and the benefit
/// phrase. The first twenty variations have different kind-pattern pairs.
fn combination(c: usize) -> (usize, usize, usize, usize) {
    let kind = c % 4;
    let pattern = (c / 4) % 5;
    let body = c % 5;
    let phrase = (c + c / 20) % 5;
    (kind, pattern, body, phrase)
}

impl Engine {
    fn new(brief: &CreativeBrief, channel: Channel) -> Engine {
        let industry = templates::industry_table(&brief.industry);
        let mut brand = brief.brand.trim().to_owned();
        let mut product = brief.product.trim().to_owned();
        if brand.is_empty() {
            brand.clone_from(&product);
        }
        if product.is_empty() {
            product.clone_from(&brand);
        }
        let brand_product =
            if brand.is_empty() || product.to_lowercase().contains(&brand.to_lowercase()) {
                product.clone()
            } else {
                format!("{brand} {product}")
            };
        let message = brief.key_message.trim().trim_end_matches('.').trim();
        let message_line = if message.is_empty() {
            capitalize(industry.benefits[0])
        } else {
            capitalize(message)
        };
        let message_sentence = sentence(&message_line);
        let cta_given = brief
            .call_to_action
            .as_deref()
            .map(|c| c.trim().trim_end_matches(['.', '!']).trim())
            .filter(|c| !c.is_empty())
            .unwrap_or(industry.cta);
        let cta = capitalize(cta_given);
        let cta_lc = lower_first(&cta);
        let (show, avoid) = read_guidelines(&brief.visual_guidelines);
        let own: Vec<String> = [
            brief.brand.as_str(),
            brief.product.as_str(),
            brief.key_message.as_str(),
            cta_given,
        ]
        .iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect();
        let rules_of = |copy: AdCopy| -> Vec<Rule> {
            review(&copy, channel, &PolicyRules::default())
                .findings
                .iter()
                .map(|f| f.rule)
                .collect()
        };
        let own_headlines = rules_of(AdCopy {
            headlines: own.iter().map(|o| headline_for(channel, o)).collect(),
            ..AdCopy::default()
        });
        let own_text = rules_of(AdCopy {
            descriptions: own,
            ..AdCopy::default()
        });
        Engine {
            channel,
            tone: templates::tone_table(brief.tone),
            industry,
            segment: templates::segment_table(Segment::of(&brief.audience)),
            brand,
            product,
            brand_product,
            message_line,
            message_sentence,
            cta,
            cta_lc,
            show,
            avoid,
            own_headlines,
            own_text,
            reviewed: RefCell::new(BTreeMap::new()),
        }
    }

    /// `pattern` with the brief filled in, capitalised unless it starts with
    /// the brand (written as the brand writes it).
    fn render(&self, pattern: &str, phrase: usize) -> String {
        let benefit = self.industry.benefits[phrase % self.industry.benefits.len()];
        let mut out = String::new();
        let mut rest = pattern;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let close = after.find('}').unwrap_or(after.len());
            match &after[..close] {
                "brand" => out.push_str(&self.brand),
                "product" => out.push_str(&self.product),
                "brand_product" => out.push_str(&self.brand_product),
                "message" => out.push_str(&self.message_line),
                "cta" => out.push_str(&self.cta),
                "cta_lc" => out.push_str(&self.cta_lc),
                "benefit" => out.push_str(benefit),
                "Benefit" => out.push_str(&capitalize(benefit)),
                "segment" => out.push_str(self.segment.phrase),
                "people" => out.push_str(self.industry.people),
                other => out.push_str(other),
            }
            rest = after.get(close + 1..).unwrap_or("");
        }
        out.push_str(rest);
        if !self.brand.is_empty() && out.starts_with(&self.brand) {
            out
        } else {
            capitalize(&out)
        }
    }

    /// True when the review finds nothing in `text` (as `field`) that the
    /// brief's own words do not already set off.
    fn clean(&self, field: CopyField, text: &str) -> bool {
        let key = (field == CopyField::Headline, text.to_owned());
        if let Some(&known) = self.reviewed.borrow().get(&key) {
            return known;
        }
        let clean = self.review_piece(field, text);
        self.reviewed.borrow_mut().insert(key, clean);
        clean
    }

    fn review_piece(&self, field: CopyField, text: &str) -> bool {
        let mut copy = AdCopy::default();
        match field {
            CopyField::Headline => copy.headlines.push(text.to_owned()),
            CopyField::Description => copy.descriptions.push(text.to_owned()),
            CopyField::PrimaryText => copy.primary_text = Some(text.to_owned()),
            CopyField::Path => copy.paths.push(text.to_owned()),
        }
        let own = if field == CopyField::Headline {
            &self.own_headlines
        } else {
            &self.own_text
        };
        review(&copy, self.channel, &PolicyRules::default())
            .findings
            .iter()
            .all(|f| own.contains(&f.rule))
    }

    fn fits(&self, text: &str, max: usize) -> bool {
        !text.trim().is_empty() && text.chars().count() <= max
    }

    /// True when the headline is all the channel shows (Snapchat).
    fn headline_only(&self) -> bool {
        self.channel.limit(CopyField::PrimaryText).max_count == 0
            && self.channel.limit(CopyField::Description).max_count == 0
    }

    /// The first headline of variation `c + 1`: a pattern naming the brand,
    /// starting from the variation's combination and passing over those that
    /// do not fit, that the review would flag, or that an earlier variant
    /// already leads with; when every line naming the brand is taken or too
    /// long, a plain headline. Where the headline is all the ad shows, the
    /// first variation gives it to the brand and the key message.
    fn lead(&self, c: usize, max: usize, used: &BTreeSet<String>) -> Lead {
        let (kind0, n0, _, b0) = combination(c);
        if c == 0 && self.headline_only() {
            let text = headline_for(
                self.channel,
                &format!("{}: {}", self.brand, self.message_line),
            );
            if let Some(text) = fit(&text, max) {
                // The brand and at least two words of the message.
                let said = text
                    .get(self.brand.len() + 1..)
                    .map_or(0, |m| m.split_whitespace().count());
                if said >= 2
                    && text.starts_with(&self.brand)
                    && self.clean(CopyField::Headline, &text)
                {
                    return Lead {
                        text,
                        label: format!("{}/brand-message", self.tone.name),
                    };
                }
            }
        }
        let tone = self.tone.name;
        let mut candidates: Vec<(String, String)> = Vec::new();
        for bo in 0..5 {
            for ko in 0..4 {
                for j in 0..5 {
                    let k = (kind0 + ko) % 4;
                    let n = (n0 + j) % 5;
                    let b = (b0 + bo) % 5;
                    let pattern = self.tone.branded[k][n];
                    let uses_phrase = pattern.to_lowercase().contains("{benefit}");
                    if bo > 0 && !uses_phrase {
                        continue;
                    }
                    let kind = Kind::ALL[k].name();
                    let label = if uses_phrase {
                        format!("{tone}/{kind}-{}/phrase-{}", n + 1, b + 1)
                    } else {
                        format!("{tone}/{kind}-{}", n + 1)
                    };
                    candidates.push((self.render(pattern, b), label));
                }
            }
        }
        // When the brand leaves little room (a long brand in Snapchat's 34
        // characters), shorter lines: the brand before a plain headline or
        // after a benefit, the brand alone, then plain headlines.
        let mut plain: Vec<(String, String)> = Vec::new();
        for r in 0..3 {
            for ko in 0..4 {
                let k = (kind0 + ko) % 4;
                let n = (n0 + r) % 3;
                let label = format!("{tone}/{}-plain-{}", Kind::ALL[k].name(), n + 1);
                plain.push((self.render(self.tone.plain[k][n], b0 + r), label));
            }
        }
        for i in 0..5 {
            let b = (b0 + i) % 5;
            let label = format!("{tone}/phrase-{}", b + 1);
            plain.push((capitalize(self.industry.benefits[b]), label));
        }
        for (text, label) in &plain {
            candidates.push((format!("{}: {text}", self.brand), format!("{label}+brand")));
        }
        for i in 0..5 {
            let b = (b0 + i) % 5;
            let text = format!("{}. {}", capitalize(self.industry.benefits[b]), self.brand);
            candidates.push((text, format!("{tone}/phrase-{}+brand", b + 1)));
        }
        candidates.push((self.brand.clone(), format!("{tone}/brand")));
        candidates.extend(plain);
        let mut reusable: Option<Lead> = None;
        for (text, label) in candidates {
            let text = headline_for(self.channel, &text);
            let repeated = used.contains(&text.to_lowercase());
            if !self.fits(&text, max)
                || (repeated && reusable.is_some())
                || !self.clean(CopyField::Headline, &text)
            {
                continue;
            }
            let lead = Lead { text, label };
            if !repeated {
                return lead;
            }
            reusable = Some(lead);
        }
        reusable.unwrap_or_else(|| Lead {
            text: capitalize(self.industry.benefits[b0]),
            label: format!("{tone}/phrase-{}", b0 + 1),
        })
    }

    /// `target` headlines led by `lead`: the key message, then the tone's
    /// other patterns by kind, the industry's benefit phrases and the
    /// brief's own words, each once, each fitting.
    fn headlines(&self, c: usize, lead: &Lead, limit: CopyLimit, target: usize) -> Vec<String> {
        let max = limit.max_chars;
        let (kind0, n0, _, b0) = combination(c);
        let mut out = vec![lead.text.clone()];
        let mut candidates: Vec<String> = Vec::new();
        candidates.extend(fit(&headline_for(self.channel, &self.message_line), max));
        for r in 0..5 {
            for ko in 1..=4 {
                let k = (kind0 + ko) % 4;
                if r < 3 {
                    candidates.push(self.render(self.tone.plain[k][(n0 + r) % 3], b0 + r));
                }
                candidates.push(self.render(self.tone.branded[k][(n0 + r + 1) % 5], b0 + r + 1));
            }
        }
        let benefits: Vec<String> = (0..5)
            .map(|i| capitalize(self.industry.benefits[(b0 + i) % 5]))
            .collect();
        candidates.extend(benefits.iter().cloned());
        for own in [&self.brand, &self.brand_product, &self.product, &self.cta] {
            candidates.extend(fit(&headline_for(self.channel, own), max));
        }
        for cand in candidates {
            if out.len() >= target {
                break;
            }
            let cand = headline_for(self.channel, &cand);
            if self.fits(&cand, max)
                && !contains_ci(&out, &cand)
                && self.clean(CopyField::Headline, &cand)
            {
                out.push(cand);
            }
        }
        // The benefit phrases are the templates' own words, always short
        // enough and never flagged.
        for b in benefits {
            if out.len() >= limit.min_count {
                break;
            }
            if !contains_ci(&out, &b) {
                out.push(b);
            }
        }
        out
    }

    /// `parts` (one sentence each) filled in and fitted into `max`
    /// characters. The first part comes first, then the key message, then
    /// the call to action (the bare call to action when its sentence is too
    /// long; room for it is kept while the key message is placed), then the
    /// rest as far as they fit. A key message longer than its room is
    /// shortened at a word boundary. `opener` replaces the first part (or
    /// goes before the key message when that comes first); when it already
    /// asks for the click, the call to action is not repeated. With `calm`,
    /// the template's exclamation marks (the opener's too, a template's
    /// headline) become full stops.
    fn fit_parts(
        &self,
        parts: &[&str],
        phrase: usize,
        max: usize,
        opener: Option<&str>,
        calm: bool,
    ) -> Option<String> {
        #[derive(PartialEq)]
        enum Role {
            Lead,
            Message,
            Cta,
            Extra,
        }
        let asks = opener.is_some_and(|o| o.to_lowercase().contains(&self.cta.to_lowercase()));
        let mut rendered: Vec<(String, Role)> = Vec::new();
        if let Some(o) = opener {
            let o = if calm {
                o.replace('!', ".")
            } else {
                o.to_owned()
            };
            rendered.push((sentence(&o), Role::Lead));
        }
        for (i, p) in parts.iter().enumerate() {
            if *p == "{message}" {
                rendered.push((self.message_sentence.clone(), Role::Message));
                continue;
            }
            if i == 0 && opener.is_some() {
                continue;
            }
            let role = if p.contains("{cta") {
                if asks {
                    continue;
                }
                Role::Cta
            } else if i == 0 {
                Role::Lead
            } else {
                Role::Extra
            };
            let pattern = if calm {
                p.replace('!', ".")
            } else {
                (*p).to_owned()
            };
            rendered.push((self.render(&pattern, phrase), role));
        }
        let rank = |r: &Role| match r {
            Role::Lead => 0,
            Role::Message => 1,
            Role::Cta => 2,
            Role::Extra => 3,
        };
        let bare_cta = sentence(&self.cta);
        let mut reserve = if rendered.iter().any(|(_, r)| *r == Role::Cta) {
            bare_cta.chars().count() + 1
        } else {
            0
        };
        let mut order: Vec<usize> = (0..rendered.len()).collect();
        order.sort_by_key(|&i| (rank(&rendered[i].1), i));
        let mut chosen: Vec<(usize, String)> = Vec::new();
        let mut used = 0;
        for i in order {
            let sep = usize::from(!chosen.is_empty());
            let (text, role) = &rendered[i];
            let room = max.saturating_sub(used + sep);
            let piece = match role {
                Role::Message => {
                    let room = room.saturating_sub(reserve);
                    if text.chars().count() <= room {
                        Some(text.clone())
                    } else if room >= 16 {
                        fit(&self.message_line, room - 1).map(|short| sentence(&short))
                    } else {
                        None
                    }
                }
                Role::Cta => {
                    reserve = 0;
                    if text.chars().count() <= room {
                        Some(text.clone())
                    } else {
                        (bare_cta.chars().count() <= room).then(|| bare_cta.clone())
                    }
                }
                Role::Lead | Role::Extra => (text.chars().count() <= room).then(|| text.clone()),
            };
            if let Some(piece) = piece {
                used += sep + piece.chars().count();
                chosen.push((i, piece));
            }
        }
        if chosen.is_empty() {
            return None;
        }
        chosen.sort_by_key(|(i, _)| *i);
        Some(
            chosen
                .into_iter()
                .map(|(_, t)| t)
                .collect::<Vec<_>>()
                .join(" "),
        )
    }

    /// [`Engine::fit_parts`], kept only when the review finds nothing the
    /// brief does not carry itself; a second try turns the template's
    /// exclamation marks into full stops (the brief's own may be one too
    /// many).
    fn compose(
        &self,
        parts: &[&str],
        phrase: usize,
        max: usize,
        opener: Option<&str>,
        field: CopyField,
    ) -> Option<String> {
        let bangs =
            parts.iter().any(|p| p.contains('!')) || opener.is_some_and(|o| o.contains('!'));
        for calm in [false, true] {
            let text = self.fit_parts(parts, phrase, max, opener, calm)?;
            if self.clean(field, &text) {
                return Some(text);
            }
            if !bangs {
                break;
            }
        }
        None
    }

    /// `wanted` descriptions: the tone's descriptions from the variation's
    /// own, or, where the channel takes only a short line (Meta's 30
    /// characters), short headline patterns. Returns the index of the
    /// description pattern that came first, if one did.
    fn descriptions(
        &self,
        c: usize,
        limit: CopyLimit,
        wanted: usize,
        taken: &[String],
    ) -> (Vec<String>, Option<usize>) {
        let max = limit.max_chars;
        let (_, n0, d0, b0) = combination(c);
        // Where there is no primary text and one headline (Pinterest), the
        // description carries the key message.
        let carry = self.channel.limit(CopyField::PrimaryText).max_count == 0
            && target(self.channel, CopyField::Headline) <= 1;
        let mut out: Vec<String> = Vec::new();
        let mut first = None;
        let keep = |out: &mut Vec<String>, text: &str, field_ok: bool| {
            if field_ok && !contains_ci(out, text) && !contains_ci(taken, text) {
                out.push(text.to_owned());
                true
            } else {
                false
            }
        };
        if max >= 60 {
            for j in 0..5 {
                if out.len() >= wanted {
                    break;
                }
                let d = (d0 + j) % 5;
                let mut parts = self.tone.descriptions[d].to_vec();
                if carry && out.is_empty() && !parts.contains(&"{message}") {
                    parts.insert(1.min(parts.len()), "{message}");
                }
                if let Some(text) = self.compose(&parts, b0 + j, max, None, CopyField::Description)
                    && keep(&mut out, &text, true)
                    && first.is_none()
                {
                    first = Some(d);
                }
            }
            let mut fallbacks: Vec<String> = Vec::new();
            fallbacks.extend(fit(&self.message_sentence, max));
            for i in 0..5 {
                fallbacks.push(self.render("{Benefit} {segment}.", b0 + i));
            }
            for f in fallbacks {
                if out.len() >= wanted {
                    break;
                }
                let ok = self.fits(&f, max) && self.clean(CopyField::Description, &f);
                keep(&mut out, &f, ok);
            }
        } else {
            // Calls to action, pointers to reviews, benefits and the
            // product, starting at a kind of the variation's own.
            let mut candidates: Vec<String> = Vec::new();
            let kinds = [2, 3, 0, 1];
            for r in 0..3 {
                for i in 0..4 {
                    let k = kinds[(i + c) % 4];
                    candidates.push(self.render(self.tone.plain[k][(n0 + r) % 3], b0 + r));
                }
            }
            for i in 0..5 {
                candidates.push(capitalize(self.industry.benefits[(b0 + i) % 5]));
            }
            for cand in candidates {
                if out.len() >= wanted {
                    break;
                }
                let ok = self.fits(&cand, max) && self.clean(CopyField::Description, &cand);
                keep(&mut out, &cand, ok);
            }
        }
        for i in 0..5 {
            if out.len() >= limit.min_count {
                break;
            }
            let b = capitalize(self.industry.benefits[(b0 + i) % 5]);
            keep(&mut out, &b, self.fits(&b, max));
        }
        (out, first)
    }

    /// The primary text: the variation's body, or the next one when it
    /// would repeat an earlier variant's. Returns the body's index.
    fn primary(
        &self,
        c: usize,
        max: usize,
        opener: Option<&str>,
        used: &BTreeSet<String>,
    ) -> (String, Option<usize>) {
        let (_, _, m0, b0) = combination(c);
        let mut reusable = None;
        for j in 0..5 {
            for bo in 0..5 {
                let m = (m0 + j) % 5;
                let body = self.tone.bodies[m];
                if bo > 0 && !body.iter().any(|p| p.to_lowercase().contains("{benefit}")) {
                    continue;
                }
                if let Some(text) = self.compose(body, b0 + bo, max, opener, CopyField::PrimaryText)
                {
                    if !used.contains(&text.to_lowercase()) {
                        return (text, Some(m));
                    }
                    if reusable.is_none() {
                        reusable = Some((text, Some(m)));
                    }
                }
            }
        }
        reusable.unwrap_or_else(|| {
            (
                fit(&self.message_sentence, max).unwrap_or_else(|| self.message_line.clone()),
                None,
            )
        })
    }

    fn image(&self, c: usize) -> ImagePrompt {
        let shot = capitalize(self.tone.shots[c % self.tone.shots.len()]);
        let mut prompt = format!(
            "{shot} of {product} by {brand}. Scene: {who} {activity}. Mood: {mood}. \
             It conveys: {message}",
            product = self.product,
            brand = self.brand,
            who = self.segment.people,
            activity = self.industry.activity,
            mood = self.tone.mood,
            message = self.message_sentence,
        );
        if !self.show.is_empty() {
            prompt.push_str(&format!(" Visual guidelines: {}.", self.show.join("; ")));
        }
        prompt.push_str(" Leave clear space for the ad's copy.");
        let mut negative = NEGATIVE.to_owned();
        for a in &self.avoid {
            negative.push_str(", ");
            negative.push_str(a);
        }
        ImagePrompt {
            prompt,
            negative_prompt: negative,
            placements: placements(self.channel),
        }
    }

    fn video(&self, lead: &str) -> VideoPrompt {
        let (duration, aspect) = video_format(self.channel);
        let seconds = scene_seconds(duration);
        let who = format!("{} {}", self.segment.people, self.industry.activity);
        let descriptions = [
            format!("Hook: {who}; {}.", self.tone.pace),
            format!(
                "{} by {} in clear view; {}.",
                self.product, self.brand, self.tone.mood
            ),
            format!(
                "The key message in use: {}; {who}.",
                self.message_line.trim_end_matches(['.', '!', '?'])
            ),
            format!(
                "End card: the {} logo, {} and the call to action.",
                self.brand, self.product
            ),
        ];
        let texts = [
            fit(lead, ON_SCREEN_MAX_CHARS),
            None,
            fit(&self.message_line, ON_SCREEN_MAX_CHARS),
            fit(&self.cta, ON_SCREEN_MAX_CHARS),
        ];
        let mut start = 0;
        let scenes = descriptions
            .into_iter()
            .zip(texts)
            .enumerate()
            .map(|(i, (description, on_screen_text))| {
                let scene = Scene {
                    start_second: start,
                    seconds: seconds[i],
                    description,
                    camera: self.tone.cameras[i].to_owned(),
                    on_screen_text,
                };
                start += seconds[i];
                scene
            })
            .collect();
        VideoPrompt {
            duration_seconds: duration,
            aspect_ratio: aspect.to_owned(),
            scenes,
        }
    }

    fn variant(&self, variation: u32, used: &mut Used) -> CreativeVariant {
        let c = variation.saturating_sub(1) as usize;
        let channel = self.channel;
        let hl = channel.limit(CopyField::Headline);
        let dl = channel.limit(CopyField::Description);
        let pl = channel.limit(CopyField::PrimaryText);
        let path = channel.limit(CopyField::Path);
        let target_h = target(channel, CopyField::Headline);
        // A channel without headlines opens its primary text with the lead.
        let lead_max = if hl.max_count > 0 {
            hl.max_chars
        } else {
            ON_SCREEN_MAX_CHARS
        };
        let lead = self.lead(c, lead_max, &used.leads);
        used.leads.insert(lead.text.to_lowercase());
        let headlines = if target_h > 0 {
            self.headlines(c, &lead, hl, target_h)
        } else {
            Vec::new()
        };
        let (descriptions, description) = if dl.max_count > 0 {
            self.descriptions(c, dl, target(channel, CopyField::Description), &headlines)
        } else {
            (Vec::new(), None)
        };
        let (primary_text, body) = if pl.max_count > 0 {
            let opener = (target_h == 0).then_some(lead.text.as_str());
            let (text, body) = self.primary(c, pl.max_chars, opener, &used.primaries);
            used.primaries.insert(text.to_lowercase());
            (Some(text), body)
        } else {
            (None, None)
        };
        let paths = if path.max_count > 0 {
            product_paths(
                &self.product,
                target(channel, CopyField::Path),
                path.max_chars,
            )
        } else {
            Vec::new()
        };
        let mut template = lead.label.clone();
        if let Some(m) = body {
            template.push_str(&format!("+body-{}", m + 1));
        } else if let Some(d) = description {
            template.push_str(&format!("+description-{}", d + 1));
        }
        CreativeVariant {
            variation,
            channel,
            copy: AdCopy {
                headlines,
                descriptions,
                primary_text,
                paths,
            },
            image: self.image(c),
            video: self.video(&lead.text),
            template,
        }
    }
}

/// How many pieces of `field` the templates write for `channel`: Google's
/// full set of 15 headlines and 4 descriptions, 3 headlines and 2
/// descriptions for KIKI's display creatives, two display paths, otherwise
/// one; always within the channel's limits.
fn target(channel: Channel, field: CopyField) -> usize {
    let limit = channel.limit(field);
    let wanted = match (channel, field) {
        (Channel::Google, CopyField::Headline) => 15,
        (Channel::Google, CopyField::Description) => 4,
        (Channel::Kiki, CopyField::Headline) => 3,
        (Channel::Kiki, CopyField::Description) => 2,
        (_, CopyField::Path) => 2,
        _ => 1,
    };
    wanted.clamp(limit.min_count, limit.max_count)
}

#[cfg(test)]
mod tests;
