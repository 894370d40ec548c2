//! The phrase tables of the built-in template engine ([`generate`](mod@crate::generate)):
//! one table per tone (headline patterns by kind, primary-text bodies,
//! descriptions, image and video style), one per industry (benefit phrases,
//! who the customers are, the default call to action, where the scenes are
//! set) and one per audience segment (the phrase the copy addresses them
//! with, who appears in the images).
//!
//! Patterns name the brief's parts in braces: `{brand}`, `{product}`,
//! `{brand_product}` (the product with the brand in front unless it already
//! names it), `{message}` (the key message), `{cta}` and `{cta_lc}` (the call
//! to action, as written and starting in lower case), `{benefit}` and
//! `{Benefit}` (an industry benefit phrase, in lower case and capitalised),
//! `{segment}` (the segment's phrase, "for the whole family") and `{people}`
//! (the industry's customers, "teams"). A part of a body or description that
//! is exactly `{message}` is the key message as a sentence, the part a fit
//! shortens first.
//!
//! The tables are written to pass the policy review ([`crate::policy`]): no
//! guarantees, rankings, proofs, health outcomes or restricted goods, no
//! questions (so no phrase ever asks the reader about a personal attribute),
//! no capitals for emphasis and at most one exclamation mark in a piece.
//! Social proof invites the reader to look ("Read Lumen reviews") and never
//! quotes a number, a rating or a ranking it cannot source.

use crate::brief::Tone;
use crate::generate::Segment;

/// What a headline does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Says what the reader gets.
    Benefit,
    /// Names the product.
    Product,
    /// Asks for the click.
    Action,
    /// Points to what other customers say, without numbers or rankings.
    Proof,
}

impl Kind {
    pub(crate) const ALL: [Kind; 4] = [Kind::Benefit, Kind::Product, Kind::Action, Kind::Proof];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Benefit => "benefit",
            Kind::Product => "product",
            Kind::Action => "call-to-action",
            Kind::Proof => "social-proof",
        }
    }
}

/// How one tone writes.
pub(crate) struct ToneTable {
    pub(crate) name: &'static str,
    /// Headlines that name the brand, by [`Kind`] in the order of `Kind::ALL`.
    pub(crate) branded: [[&'static str; 5]; 4],
    /// Headlines without the brand (Google's and KIKI's further headlines).
    pub(crate) plain: [[&'static str; 3]; 4],
    /// Primary-text bodies, a sentence per part.
    pub(crate) bodies: [&'static [&'static str]; 5],
    /// Descriptions, a sentence per part.
    pub(crate) descriptions: [&'static [&'static str]; 5],
    /// Kinds of photograph, chosen by variation.
    pub(crate) shots: [&'static str; 3],
    /// Light, palette and feeling of images and video.
    pub(crate) mood: &'static str,
    /// Camera of the hook, product, benefit and call-to-action scenes.
    pub(crate) cameras: [&'static str; 4],
    /// The pace of the video's edit.
    pub(crate) pace: &'static str,
}

static FRIENDLY: ToneTable = ToneTable {
    name: "friendly",
    branded: [
        [
            "{brand}: {benefit}",
            "{Benefit} with {brand}",
            "Enjoy {benefit} with {brand}",
            "{Benefit}, by {brand}",
            "Find {benefit} at {brand}",
        ],
        [
            "Meet {product} by {brand}",
            "Say hello to {brand_product}",
            "{brand_product} {segment}",
            "Try {brand_product} today",
            "{brand_product}: {benefit}",
        ],
        [
            "{cta} at {brand}",
            "{cta}: {brand_product}",
            "Start with {brand} today",
            "{brand} is ready when you are",
            "Give {brand} a try",
        ],
        [
            "Read {brand} reviews",
            "See what {people} say about {brand}",
            "Hear from {brand} {people}",
            "Ask a friend about {brand}",
            "Get to know {brand}",
        ],
    ],
    plain: [
        ["{message}", "{Benefit}", "Hello, {benefit}"],
        [
            "Meet {product}",
            "{product} {segment}",
            "Say hi to {product}",
        ],
        ["{cta}", "{cta} today", "Take a look today"],
        [
            "Read the reviews",
            "See what {people} say",
            "Hear it from {people}",
        ],
    ],
    bodies: [
        &[
            "Meet {brand}.",
            "{message}",
            "{product} {segment}.",
            "{cta}.",
        ],
        &[
            "Good news from {brand}!",
            "{message}",
            "{Benefit} with {product}.",
            "{cta}.",
        ],
        &[
            "Say hello to {product}.",
            "{message}",
            "Made by {brand} {segment}.",
            "{cta}.",
        ],
        &[
            "Here is something nice from {brand}.",
            "{message}",
            "{cta} and see for yourself.",
        ],
        &[
            "{Benefit}, from {brand}.",
            "{message}",
            "See what {people} say.",
            "{cta}.",
        ],
    ],
    descriptions: [
        &["{message}", "{cta}."],
        &["{Benefit} with {product} from {brand}.", "{cta}."],
        &["{brand} makes {product} {segment}.", "{cta} today."],
        &["{product}: {benefit} {segment}.", "{cta}."],
        &["See what {people} say about {brand}.", "{message}"],
    ],
    shots: [
        "warm lifestyle photograph",
        "bright close-up photograph",
        "candid everyday photograph",
    ],
    mood: "warm and approachable, natural daylight, soft friendly colours",
    cameras: [
        "handheld medium shot",
        "slow push-in",
        "tracking shot at eye level",
        "static medium shot",
    ],
    pace: "relaxed pace",
};

static PREMIUM: ToneTable = ToneTable {
    name: "premium",
    branded: [
        [
            "{brand}. {Benefit}",
            "{Benefit}, by {brand}",
            "{Benefit}, the {brand} way",
            "{brand}: {benefit}, refined",
            "Discover {benefit} with {brand}",
        ],
        [
            "Introducing {brand_product}",
            "{brand_product}, thoughtfully made",
            "Discover {brand_product}",
            "{brand_product} {segment}",
            "Crafted by {brand}",
        ],
        [
            "{cta} at {brand}",
            "{cta}: {brand_product}",
            "Explore {brand}",
            "Experience {brand}",
            "Visit {brand}",
        ],
        [
            "Read {brand} reviews",
            "What {people} say about {brand}",
            "Hear from {brand} {people}",
            "Judge {brand} for yourself",
            "{brand}, in detail",
        ],
    ],
    plain: [
        ["{message}", "{Benefit}", "{Benefit}, refined"],
        [
            "Introducing {product}",
            "{product} {segment}",
            "Thoughtfully made",
        ],
        ["{cta}", "Explore at your leisure", "Discover more"],
        [
            "Read the reviews",
            "What {people} say",
            "Judge for yourself",
        ],
    ],
    bodies: [
        &["Introducing {product} by {brand}.", "{message}", "{cta}."],
        &[
            "{Benefit}, considered.",
            "{message}",
            "{product} by {brand}.",
            "{cta}.",
        ],
        &["{brand}.", "{message}", "Made {segment}.", "{cta}."],
        &["Crafted with care by {brand}.", "{message}", "{cta}."],
        &[
            "Discover {product}.",
            "{message}",
            "Read what {people} say about {brand}.",
            "{cta}.",
        ],
    ],
    descriptions: [
        &["{message}", "{cta}."],
        &["{product} by {brand}, {segment}.", "{cta}."],
        &[
            "{Benefit}, considered in every detail.",
            "{cta} at {brand}.",
        ],
        &["Discover {product} from {brand}.", "{message}"],
        &["Read what {people} say about {brand}.", "{cta}."],
    ],
    shots: [
        "refined studio photograph",
        "minimal still-life photograph",
        "elegant close-up photograph",
    ],
    mood: "calm and understated, soft directional light, muted palette, generous negative space",
    cameras: [
        "slow dolly-in",
        "macro close-up with shallow depth of field",
        "smooth orbit",
        "static close-up",
    ],
    pace: "unhurried, elegant pace",
};

static PLAYFUL: ToneTable = ToneTable {
    name: "playful",
    branded: [
        [
            "{brand}: hello, {benefit}",
            "{Benefit}, {brand} style",
            "Psst, {brand} has {benefit}",
            "{brand} says yes to {benefit}",
            "{Benefit} unlocked with {brand}",
        ],
        [
            "Meet your new go-to: {brand}",
            "{brand_product} has entered the chat",
            "Plot twist: {brand_product}",
            "Hello, {brand_product}",
            "Psst: {brand_product}",
        ],
        [
            "{cta} at {brand}!",
            "Go on, try {brand}",
            "{brand} is calling. {cta}",
            "Treat yourself to {brand}",
            "Hop over to {brand}",
        ],
        [
            "Peek at {brand} reviews",
            "Hear it from {brand} {people}",
            "Read the {brand} reviews",
            "Get the scoop on {brand}",
            "Judge {brand} for yourself",
        ],
    ],
    plain: [
        ["{message}", "{Benefit}, unlocked", "Hello, {benefit}"],
        [
            "Plot twist: {product}",
            "Say hi to {product}",
            "{product} {segment}",
        ],
        ["{cta}!", "Go on, take a peek", "Your move"],
        ["Get the scoop", "Peek at the reviews", "Ask around"],
    ],
    bodies: [
        &["Plot twist: {product} by {brand}.", "{message}", "{cta}!"],
        &[
            "Psst.",
            "{message}",
            "{brand} has {benefit} {segment}.",
            "{cta}.",
        ],
        &[
            "Hello, {benefit}!",
            "{message}",
            "{product} from {brand}.",
            "{cta}.",
        ],
        &[
            "Meet your new go-to: {product}.",
            "{message}",
            "Go on, {cta_lc}.",
        ],
        &[
            "{brand} has entered the chat.",
            "{message}",
            "Peek at what {people} say.",
            "{cta}.",
        ],
    ],
    descriptions: [
        &["{message}", "{cta}!"],
        &["{product} from {brand}: {benefit}, unlocked.", "{cta}."],
        &["Psst, {brand} made {product} {segment}.", "{cta}."],
        &["Plot twist: {benefit} can be fun.", "{cta} at {brand}."],
        &["Get the scoop on {product} from {people}.", "{message}"],
    ],
    shots: [
        "colourful playful photograph",
        "bold flat-lay photograph",
        "fun candid photograph",
    ],
    mood: "bright and cheerful, saturated colours, a touch of humour",
    cameras: [
        "quick whip pan",
        "snap zoom on the product",
        "bouncy handheld tracking shot",
        "static close-up",
    ],
    pace: "quick, playful cuts",
};

static URGENT: ToneTable = ToneTable {
    name: "urgent",
    branded: [
        [
            "{brand}: {benefit}, today",
            "{Benefit} now, with {brand}",
            "Get {benefit} today with {brand}",
            "Don't wait for {benefit}: {brand}",
            "{brand}. {Benefit}. Today",
        ],
        [
            "Get {brand_product} today",
            "{brand_product}, available now",
            "Try {brand_product} now",
            "{brand_product} is ready now",
            "Today's pick: {brand_product}",
        ],
        [
            "{cta} at {brand} today",
            "{cta} now: {brand}",
            "Don't wait, {brand} is ready",
            "Act today with {brand}",
            "Start now with {brand}",
        ],
        [
            "Read {brand} reviews today",
            "Hear from {brand} {people} now",
            "See {brand} reviews now",
            "Check {brand} reviews today",
            "Judge {brand} today",
        ],
    ],
    plain: [
        [
            "{message}",
            "{Benefit}, starting today",
            "Don't wait for {benefit}",
        ],
        [
            "Get {product} today",
            "{product}, available now",
            "{product} {segment}",
        ],
        ["{cta} today", "{cta} now", "Don't wait"],
        [
            "Read the reviews today",
            "See the reviews now",
            "Hear from {people} today",
        ],
    ],
    bodies: [
        &[
            "Don't wait.",
            "{message}",
            "{product} by {brand}, available now.",
            "{cta} today!",
        ],
        &[
            "Today is the day for {benefit}.",
            "{message}",
            "{cta} at {brand}.",
        ],
        &["{brand} is ready when you are.", "{message}", "{cta} now."],
        &[
            "Start today with {product}.",
            "{message}",
            "Made by {brand} {segment}.",
            "{cta}!",
        ],
        &[
            "Now is a good time to try {brand}.",
            "{message}",
            "{cta} today.",
        ],
    ],
    descriptions: [
        &["{message}", "{cta} today."],
        &["Get {product} from {brand} today.", "{cta} now."],
        &["{Benefit} starts today with {brand}.", "{cta}."],
        &[
            "Don't wait for {benefit}.",
            "{product} {segment}.",
            "{cta} now.",
        ],
        &["Read {brand} reviews today.", "{message}"],
    ],
    shots: [
        "high-energy photograph",
        "bold close-up photograph",
        "dynamic action photograph",
    ],
    mood: "energetic, high contrast, bold colours, a sense of momentum",
    cameras: [
        "fast push-in",
        "quick cuts around the product",
        "handheld tracking shot",
        "static close-up",
    ],
    pace: "fast cuts",
};

static PROFESSIONAL: ToneTable = ToneTable {
    name: "professional",
    branded: [
        [
            "{brand}: {benefit}",
            "{Benefit} with {brand}",
            "{brand} delivers {benefit}",
            "{Benefit} from {brand}",
            "{brand} for {benefit}",
        ],
        [
            "{brand_product}",
            "{brand_product} {segment}",
            "Introducing {brand_product}",
            "{brand_product}: an overview",
            "About {brand_product}",
        ],
        [
            "{cta} with {brand}",
            "{cta}: {brand}",
            "Talk to {brand}",
            "Get started with {brand}",
            "Learn how {brand} works",
        ],
        [
            "Read {brand} reviews",
            "What {people} say about {brand}",
            "{brand}: reviews from {people}",
            "See how {people} use {brand}",
            "Hear from {brand} {people}",
        ],
    ],
    plain: [
        ["{message}", "{Benefit}", "{Benefit}, without the fuss"],
        ["{product}", "{product} {segment}", "About {product}"],
        ["{cta}", "Get started", "Learn how it works"],
        [
            "Read the reviews",
            "What {people} say",
            "See how {people} use it",
        ],
    ],
    bodies: [
        &["{brand} offers {product} {segment}.", "{message}", "{cta}."],
        &[
            "{message}",
            "{Benefit} with {product} from {brand}.",
            "{cta}.",
        ],
        &[
            "{product} by {brand}.",
            "{message}",
            "See how {people} use it.",
            "{cta}.",
        ],
        &[
            "For {people} who value {benefit}: {brand}.",
            "{message}",
            "{cta}.",
        ],
        &[
            "{brand}: {benefit}.",
            "{message}",
            "{product} {segment}.",
            "{cta}.",
        ],
    ],
    descriptions: [
        &["{message}", "{cta}."],
        &["{product} by {brand} {segment}.", "{cta}."],
        &["{brand} delivers {benefit}.", "{message}"],
        &["See how {people} use {product}.", "{cta} with {brand}."],
        &["{Benefit} from {brand}.", "{cta}."],
    ],
    shots: [
        "clean professional photograph",
        "crisp editorial photograph",
        "modern workplace photograph",
    ],
    mood: "clear and trustworthy, even light, neutral palette with one brand colour",
    cameras: [
        "steady wide shot",
        "slow push-in",
        "smooth lateral pan",
        "static medium shot",
    ],
    pace: "measured pace",
};

/// The table of `tone`.
pub(crate) fn tone_table(tone: Tone) -> &'static ToneTable {
    match tone {
        Tone::Friendly => &FRIENDLY,
        Tone::Premium => &PREMIUM,
        Tone::Playful => &PLAYFUL,
        Tone::Urgent => &URGENT,
        Tone::Professional => &PROFESSIONAL,
    }
}

/// What one industry's ads talk about.
pub(crate) struct IndustryTable {
    /// The twin's name of the industry.
    pub(crate) name: &'static str,
    /// Benefit phrases: noun phrases in lower case, at most 23 characters,
    /// so that they always fit a Google headline on their own.
    pub(crate) benefits: [&'static str; 5],
    /// Who the customers are, plural.
    pub(crate) people: &'static str,
    /// The call to action when the brief has none.
    pub(crate) cta: &'static str,
    /// What the people in the images and video do ("using a smartphone").
    pub(crate) activity: &'static str,
}

/// Every industry the twin knows; `general` last, the fallback.
pub(crate) static INDUSTRIES: [IndustryTable; 8] = [
    IndustryTable {
        name: "ecommerce",
        benefits: [
            "thoughtful design",
            "everyday comfort",
            "easy ordering",
            "a little treat",
            "style that lasts",
        ],
        people: "shoppers",
        cta: "Shop now",
        activity: "with the product in everyday use",
    },
    IndustryTable {
        name: "saas",
        benefits: [
            "less busywork",
            "simpler workflows",
            "clearer reports",
            "quick setup",
            "a team in sync",
        ],
        people: "teams",
        cta: "Sign up",
        activity: "at a laptop showing a clean, simple interface",
    },
    IndustryTable {
        name: "mobile_apps",
        benefits: [
            "everything in one app",
            "a quick start",
            "less tapping",
            "fun on the go",
            "a tidy home screen",
        ],
        people: "users",
        cta: "Download the app",
        activity: "using the app on a smartphone",
    },
    IndustryTable {
        name: "professional_services",
        benefits: [
            "expert advice",
            "clear next steps",
            "a plan that fits",
            "honest answers",
            "work done right",
        ],
        people: "clients",
        cta: "Book a call",
        activity: "in a calm meeting with an advisor",
    },
    IndustryTable {
        name: "education",
        benefits: [
            "new skills",
            "learning at your pace",
            "clear lessons",
            "steady progress",
            "skills for what's next",
        ],
        people: "learners",
        cta: "Start learning",
        activity: "studying with a laptop and a notebook",
    },
    IndustryTable {
        name: "health",
        benefits: [
            "everyday wellbeing",
            "simple daily habits",
            "a calmer routine",
            "care that fits your day",
            "small healthy steps",
        ],
        people: "customers",
        cta: "Book now",
        activity: "in a calm, airy home",
    },
    IndustryTable {
        name: "finance",
        benefits: [
            "clearer finances",
            "simple budgeting",
            "a plan for your money",
            "money made simple",
            "fewer surprises",
        ],
        people: "customers",
        cta: "Learn more",
        activity: "reviewing simple charts on a laptop",
    },
    IndustryTable {
        name: "general",
        benefits: [
            "something new",
            "everyday ease",
            "thoughtful details",
            "a fresh take",
            "simple pleasures",
        ],
        people: "customers",
        cta: "Learn more",
        activity: "in a bright everyday setting",
    },
];

/// The table of the twin's industry `name` (case and surrounding spaces
/// ignored); `general` for a name the twin does not know.
pub(crate) fn industry_table(name: &str) -> &'static IndustryTable {
    let name = name.trim();
    INDUSTRIES
        .iter()
        .find(|i| i.name.eq_ignore_ascii_case(name))
        .unwrap_or(&INDUSTRIES[INDUSTRIES.len() - 1])
}

/// How the copy and the pictures address one segment.
pub(crate) struct SegmentTable {
    /// A phrase starting with "for", after the product.
    pub(crate) phrase: &'static str,
    /// Who appears in the images and video.
    pub(crate) people: &'static str,
}

/// The table of `segment`.
pub(crate) fn segment_table(segment: Segment) -> &'static SegmentTable {
    match segment {
        Segment::YoungAdults => &SegmentTable {
            phrase: "for life on the go",
            people: "young adults",
        },
        Segment::Parents => &SegmentTable {
            phrase: "for the whole family",
            people: "a parent with their family",
        },
        Segment::Professionals => &SegmentTable {
            phrase: "for busy professionals",
            people: "a professional",
        },
        Segment::Women => &SegmentTable {
            phrase: "for women",
            people: "a woman",
        },
        Segment::Men => &SegmentTable {
            phrase: "for men",
            people: "a man",
        },
        Segment::General => &SegmentTable {
            phrase: "for every day",
            people: "people",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn benefit_phrases_are_short_lower_case_noun_phrases() {
        for industry in &INDUSTRIES {
            for b in industry.benefits {
                assert!(b.chars().count() <= 23, "{b}");
                assert!(b.starts_with(|c: char| c.is_lowercase()), "{b}");
            }
        }
        assert_eq!(industry_table(" SaaS ").name, "saas");
        assert_eq!(industry_table("gaming").name, "general");
    }

    #[test]
    fn the_tables_ask_no_questions_and_shout_nothing() {
        for tone in Tone::ALL {
            let t = tone_table(tone);
            let mut all: Vec<&str> = t.branded.iter().flatten().copied().collect();
            all.extend(t.plain.iter().flatten());
            all.extend(t.bodies.iter().flat_map(|b| b.iter()));
            all.extend(t.descriptions.iter().flat_map(|b| b.iter()));
            for p in all {
                assert!(!p.contains('?'), "{p}");
                assert!(!p.contains("!!"), "{p}");
                let letters: Vec<&str> = p.split(|c: char| !c.is_alphabetic()).collect();
                assert!(
                    letters
                        .iter()
                        .all(|w| w.len() < 4 || w.chars().any(char::is_lowercase)),
                    "{p}"
                );
            }
            for body in t.bodies.iter().chain(t.descriptions.iter()) {
                let bangs: usize = body.iter().map(|p| p.matches('!').count()).sum();
                assert!(bangs <= 1, "{body:?}");
                let messages = body.iter().filter(|p| **p == "{message}").count();
                assert!(messages <= 1, "{body:?}");
            }
            for body in t.bodies {
                assert!(
                    body.contains(&"{message}"),
                    "every body carries the key message"
                );
            }
        }
        for tone in [Tone::Premium, Tone::Professional] {
            let t = tone_table(tone);
            let text = format!("{:?}{:?}{:?}", t.branded, t.bodies, t.descriptions);
            assert!(!text.contains('!'), "{} writes calmly", t.name);
        }
    }
}
