//! How much copy each platform takes, from the platforms' published ad
//! specifications, and the check of an ad's copy against them.
//!
//! Hard limits are the ones the platform's API refuses beyond (Google
//! responsive search ads: 3–15 headlines of at most 30 characters, 2–4
//! descriptions of at most 90, two display paths of at most 15 — Google Ads
//! API `ResponsiveSearchAdInfo` and Google Ads Help 7684791; an X post: 280
//! characters). Recommended limits are where the platform truncates what it
//! shows (Meta feed: ~125 characters of primary text, ~40 of headline —
//! Meta's ads guide); copy over a recommended limit is refused too, because
//! the part after the cut is never read, and the message says which kind of
//! limit it is. Characters are Unicode scalar values, as the platforms count.

use serde::{Deserialize, Serialize};

use crate::AdCopy;

/// Where an ad runs. `Kiki` is KIKI's own programmatic bidder (display
/// creatives carry their own markup, so only the names are checked).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    Meta,
    Google,
    Tiktok,
    Linkedin,
    Snapchat,
    Pinterest,
    X,
    Kiki,
}

impl Channel {
    /// Every channel, in a fixed order.
    pub const ALL: [Channel; 8] = [
        Channel::Meta,
        Channel::Google,
        Channel::Tiktok,
        Channel::Linkedin,
        Channel::Snapchat,
        Channel::Pinterest,
        Channel::X,
        Channel::Kiki,
    ];

    /// The name people know it by.
    pub fn display_name(self) -> &'static str {
        match self {
            Channel::Meta => "Meta",
            Channel::Google => "Google Ads",
            Channel::Tiktok => "TikTok",
            Channel::Linkedin => "LinkedIn",
            Channel::Snapchat => "Snapchat",
            Channel::Pinterest => "Pinterest",
            Channel::X => "X",
            Channel::Kiki => "KIKI programmatic",
        }
    }

    /// The copy limits of this channel, one per field it shows.
    pub fn limits(self) -> &'static [CopyLimit] {
        match self {
            Channel::Google => &GOOGLE_LIMITS,
            Channel::Meta => &META_LIMITS,
            Channel::Tiktok => &TIKTOK_LIMITS,
            Channel::Linkedin => &LINKEDIN_LIMITS,
            Channel::Snapchat => &SNAPCHAT_LIMITS,
            Channel::Pinterest => &PINTEREST_LIMITS,
            Channel::X => &X_LIMITS,
            Channel::Kiki => &KIKI_LIMITS,
        }
    }

    /// The limit of one field.
    pub fn limit(self, field: CopyField) -> CopyLimit {
        *self
            .limits()
            .iter()
            .find(|l| l.field == field)
            .expect("every channel lists every field")
    }
}

const fn l(field: CopyField, min: usize, max: usize, chars: usize, hard: bool) -> CopyLimit {
    CopyLimit {
        field,
        min_count: min,
        max_count: max,
        max_chars: chars,
        hard,
    }
}

use CopyField::{Description, Headline, Path, PrimaryText};

/// Google Ads API ResponsiveSearchAdInfo; Google Ads Help 7684791.
const GOOGLE_LIMITS: [CopyLimit; 4] = [
    l(Headline, 3, 15, 30, true),
    l(Description, 2, 4, 90, true),
    l(PrimaryText, 0, 0, 0, true),
    l(Path, 0, 2, 15, true),
];

/// Meta ads guide (feed): text shown before "…more".
const META_LIMITS: [CopyLimit; 4] = [
    l(Headline, 1, 5, 40, false),
    l(Description, 0, 5, 30, false),
    l(PrimaryText, 1, 1, 125, false),
    l(Path, 0, 0, 0, true),
];

/// TikTok ads: ad text 1–100 characters, no separate headline.
const TIKTOK_LIMITS: [CopyLimit; 4] = [
    l(Headline, 0, 0, 0, true),
    l(Description, 0, 0, 0, true),
    l(PrimaryText, 1, 1, 100, true),
    l(Path, 0, 0, 0, true),
];

/// LinkedIn single image ads: introductory text shown up to ~150,
// headline up to ~70 before truncation.
const LINKEDIN_LIMITS: [CopyLimit; 4] = [
    l(Headline, 1, 1, 70, false),
    l(Description, 0, 1, 100, false),
    l(PrimaryText, 1, 1, 150, false),
    l(Path, 0, 0, 0, true),
];

/// Snapchat single image/video ads: headline 34 characters.
const SNAPCHAT_LIMITS: [CopyLimit; 4] = [
    l(Headline, 1, 1, 34, true),
    l(Description, 0, 0, 0, true),
    l(PrimaryText, 0, 0, 0, true),
    l(Path, 0, 0, 0, true),
];

/// Pinterest: title up to 100 (first ~40 shown), description 500.
const PINTEREST_LIMITS: [CopyLimit; 4] = [
    l(Headline, 1, 1, 100, true),
    l(Description, 0, 1, 500, true),
    l(PrimaryText, 0, 0, 0, true),
    l(Path, 0, 0, 0, true),
];

/// X: post text 280; website card headline ~70.
const X_LIMITS: [CopyLimit; 4] = [
    l(Headline, 0, 1, 70, false),
    l(Description, 0, 0, 0, true),
    l(PrimaryText, 1, 1, 280, true),
    l(Path, 0, 0, 0, true),
];

/// The bidder's creatives carry their markup; their names and
// alt text stay short.
const KIKI_LIMITS: [CopyLimit; 4] = [
    l(Headline, 0, 5, 90, false),
    l(Description, 0, 5, 150, false),
    l(PrimaryText, 0, 1, 500, false),
    l(Path, 0, 0, 0, true),
];

/// A kind of copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CopyField {
    Headline,
    Description,
    PrimaryText,
    Path,
}

impl CopyField {
    fn plural(self) -> &'static str {
        match self {
            CopyField::Headline => "headlines",
            CopyField::Description => "descriptions",
            CopyField::PrimaryText => "primary_text",
            CopyField::Path => "paths",
        }
    }
}

/// How many pieces of a field a channel takes and how long each may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CopyLimit {
    pub field: CopyField,
    pub min_count: usize,
    /// 0: the channel does not show this field.
    pub max_count: usize,
    pub max_chars: usize,
    /// True when the platform refuses longer copy; false when it cuts what it
    /// shows (the limit is where the cut falls).
    pub hard: bool,
}

/// One way an ad's copy does not fit a channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LimitProblem {
    /// The field, as in a request body (`headlines[3]`, `descriptions`).
    pub field: String,
    pub message: String,
}

/// Every way `copy` does not fit `channel`: too few or too many pieces, a
/// piece too long (naming the limit and whether the platform refuses or
/// truncates), an empty piece, or a field the channel does not show.
pub fn check_limits(channel: Channel, copy: &AdCopy) -> Vec<LimitProblem> {
    let mut out = Vec::new();
    let primary: Vec<String> = copy.primary_text.iter().cloned().collect();
    for (field, pieces) in [
        (CopyField::Headline, &copy.headlines),
        (CopyField::Description, &copy.descriptions),
        (CopyField::PrimaryText, &primary),
        (CopyField::Path, &copy.paths),
    ] {
        let limit = channel.limit(field);
        let name = field.plural();
        let n = pieces.len();
        if limit.max_count == 0 {
            if n > 0 {
                out.push(LimitProblem {
                    field: name.to_owned(),
                    message: format!("{} does not show {name}.", channel.display_name()),
                });
            }
            continue;
        }
        if n < limit.min_count || n > limit.max_count {
            let range = if limit.min_count == limit.max_count {
                format!("exactly {}", limit.min_count)
            } else {
                format!("{} to {}", limit.min_count, limit.max_count)
            };
            out.push(LimitProblem {
                field: name.to_owned(),
                message: format!(
                    "{} takes {range} {name}; this ad has {n}.",
                    channel.display_name()
                ),
            });
        }
        for (i, piece) in pieces.iter().enumerate() {
            let at = if field == CopyField::PrimaryText {
                name.to_owned()
            } else {
                format!("{name}[{i}]")
            };
            let chars = piece.chars().count();
            if piece.trim().is_empty() {
                out.push(LimitProblem {
                    field: at,
                    message: "Empty.".to_owned(),
                });
            } else if chars > limit.max_chars {
                let kind = if limit.hard {
                    "refuses longer text"
                } else {
                    "cuts the rest off"
                };
                out.push(LimitProblem {
                    field: at,
                    message: format!(
                        "{chars} characters; {} allows {} here ({kind}).",
                        channel.display_name(),
                        limit.max_chars
                    ),
                });
            }
        }
    }
    out
}

/// `text` cut to at most `max_chars` characters at a word boundary, without
/// trailing punctuation or spaces; a single word longer than the limit is
/// cut inside the word. Text that fits is returned unchanged.
pub fn shorten(text: &str, max_chars: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let cut: String = text.chars().take(max_chars).collect();
    let next_is_space = text.chars().nth(max_chars).is_some_and(char::is_whitespace);
    let kept = if next_is_space {
        cut.as_str()
    } else {
        match cut.rfind(char::is_whitespace) {
            Some(i) if i > 0 => &cut[..i],
            _ => cut.as_str(),
        }
    };
    kept.trim_end_matches(|c: char| c.is_whitespace() || matches!(c, ',' | ';' | ':' | '-' | '–'))
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rsa(headlines: &[&str], descriptions: &[&str]) -> AdCopy {
        AdCopy {
            headlines: headlines.iter().map(|s| s.to_string()).collect(),
            descriptions: descriptions.iter().map(|s| s.to_string()).collect(),
            ..AdCopy::default()
        }
    }

    #[test]
    fn a_responsive_search_ad_needs_3_to_15_headlines_of_30_and_2_to_4_descriptions_of_90() {
        let ok = rsa(
            &[
                "Serum for dry skin",
                "Free shipping over $50",
                "Dermatologist tested",
            ],
            &[
                "Hydrates for 24 hours.",
                "Made with hyaluronic acid and no fragrance.",
            ],
        );
        assert!(check_limits(Channel::Google, &ok).is_empty());
        let long = "A headline that runs well past thirty characters";
        let bad = rsa(&["One", long], &["Only one description."]);
        let problems = check_limits(Channel::Google, &bad);
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["headlines", "headlines[1]", "descriptions"]);
        assert_eq!(
            problems[1].message,
            "48 characters; Google Ads allows 30 here (refuses longer text)."
        );
        assert_eq!(
            problems[0].message,
            "Google Ads takes 3 to 15 headlines; this ad has 2."
        );
        let mut paths = ok.clone();
        paths.paths = vec!["serum".into(), "dry-skin-care-routine".into(), "x".into()];
        let problems = check_limits(Channel::Google, &paths);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems.iter().any(|p| p.field == "paths[1]"));
    }

    #[test]
    fn meta_limits_are_where_the_feed_cuts_text_and_fields_a_channel_lacks_are_named() {
        let copy = AdCopy {
            headlines: vec!["Glow in 7 days".into()],
            primary_text: Some("x ".repeat(70)),
            paths: vec!["serum".into()],
            ..AdCopy::default()
        };
        let problems = check_limits(Channel::Meta, &copy);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(problems[0].field, "primary_text");
        assert!(problems[0].message.contains("cuts the rest off"));
        assert_eq!(problems[1].message, "Meta does not show paths.");
        // TikTok counts characters, not bytes.
        let copy = AdCopy {
            primary_text: Some("é".repeat(100)),
            ..AdCopy::default()
        };
        assert!(check_limits(Channel::Tiktok, &copy).is_empty());
    }

    #[test]
    fn every_channel_lists_every_field() {
        for c in Channel::ALL {
            for f in [
                CopyField::Headline,
                CopyField::Description,
                CopyField::PrimaryText,
                CopyField::Path,
            ] {
                let l = c.limit(f);
                assert!(l.min_count <= l.max_count, "{c:?} {f:?}");
                assert_eq!(l.max_count == 0, l.max_chars == 0, "{c:?} {f:?}");
            }
        }
    }

    #[test]
    fn shortening_cuts_at_a_word_boundary_without_trailing_punctuation() {
        assert_eq!(
            shorten("Hydrating serum for dry skin", 30),
            "Hydrating serum for dry skin"
        );
        assert_eq!(
            shorten("Hydrating serum for very dry, sensitive skin", 30),
            "Hydrating serum for very dry"
        );
        assert_eq!(shorten("Save big - today only", 11), "Save big");
        assert_eq!(shorten("Supercalifragilistic", 5), "Super");
        assert_eq!(shorten("Café crème brûlée au lait", 12), "Café crème");
        for n in 0..40 {
            assert!(
                shorten("Hydrating serum for very dry, sensitive skin", n)
                    .chars()
                    .count()
                    <= n
            );
        }
    }
}
