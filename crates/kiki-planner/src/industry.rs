//! Which industry a goal is in, what the plan assumes for it when the goal
//! does not say, and which restricted categories it touches.
//!
//! The industries are the twin's (`kiki_twin::Industry`), so a planned
//! campaign is simulated with the same priors. The defaults below are
//! planning assumptions, not measurements: a target return on ad spend in
//! the range commonly quoted as break-even-plus for the industry, and a
//! 30-day first flight (long enough for the twin's mirror and the
//! rebalancer to learn, short enough to stop a bad plan).

use serde::{Deserialize, Serialize};

pub use kiki_twin::Industry;

/// Words that place a goal in an industry, most specific first.
const KEYWORDS: &[(Industry, &[&str])] = &[
    (
        Industry::MobileApps,
        &[
            "app",
            "apps",
            "install",
            "installs",
            "download",
            "downloads",
            "ios",
            "android",
            "game",
            "mobile game",
        ],
    ),
    (
        Industry::Saas,
        &[
            "saas",
            "software",
            "platform",
            "subscription software",
            "crm",
            "b2b",
            "api",
            "cloud",
            "tool",
            "plugin",
        ],
    ),
    (
        Industry::Finance,
        &[
            "loan",
            "loans",
            "credit",
            "mortgage",
            "insurance",
            "bank",
            "banking",
            "investing",
            "invest",
            "crypto",
            "fintech",
            "savings",
        ],
    ),
    (
        Industry::Health,
        &[
            "clinic",
            "dental",
            "dentist",
            "therapy",
            "supplement",
            "supplements",
            "vitamins",
            "pharmacy",
            "wellness",
            "fitness",
            "gym",
            "health",
        ],
    ),
    (
        Industry::Education,
        &[
            "course",
            "courses",
            "school",
            "university",
            "tutoring",
            "bootcamp",
            "training",
            "lessons",
            "academy",
            "learn",
        ],
    ),
    (
        Industry::ProfessionalServices,
        &[
            "agency",
            "consulting",
            "consultancy",
            "law",
            "lawyer",
            "accounting",
            "accountant",
            "architect",
            "services",
            "contractor",
            "plumber",
        ],
    ),
    (
        Industry::Ecommerce,
        &[
            "shop",
            "store",
            "serum",
            "skincare",
            "cosmetics",
            "makeup",
            "fashion",
            "shoes",
            "dress",
            "clothing",
            "apparel",
            "jewelry",
            "jewellery",
            "furniture",
            "candles",
            "coffee",
            "tea",
            "product",
            "products",
            "collection",
            "sale",
            "bags",
            "watches",
            "toys",
            "pet",
            "snacks",
        ],
    ),
];

/// The industry of `words` (lower-case tokens of the goal), with the word
/// that decided it; `None` when no word matches.
pub fn classify<'a>(words: impl Iterator<Item = &'a str> + Clone) -> Option<(Industry, &'a str)> {
    KEYWORDS.iter().find_map(|(industry, keys)| {
        words
            .clone()
            .find(|w| keys.contains(w))
            .map(|w| (*industry, w))
    })
}

/// What the plan assumes for an industry.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct IndustryProfile {
    #[schema(value_type = String)]
    pub industry: Industry,
    /// Revenue per unit of ad spend to aim for when the goal names none.
    pub target_roas: f64,
    /// Days of the first flight when the goal names none.
    pub duration_days: u32,
    /// Customer lifetime value in the major unit when the organisation has
    /// no fitted LTV model (the twin's industry prior).
    pub ltv_prior: f64,
}

impl IndustryProfile {
    pub fn of(industry: Industry) -> IndustryProfile {
        let target_roas = match industry {
            Industry::Ecommerce => 3.0,
            Industry::Saas => 3.0,
            Industry::MobileApps => 1.5,
            Industry::ProfessionalServices => 4.0,
            Industry::Education => 3.0,
            Industry::Health => 3.0,
            Industry::Finance => 4.0,
            Industry::General => 2.5,
        };
        IndustryProfile {
            industry,
            target_roas,
            duration_days: 30,
            ltv_prior: kiki_twin::priors::prior(industry, kiki_twin::Platform::Meta).ltv,
        }
    }
}

/// A category the platforms allow only with certification, targeting
/// limits or disclosures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Restricted {
    Finance,
    Health,
    Gambling,
    Alcohol,
    Politics,
    Dating,
}

impl Restricted {
    /// What advertising in the category requires.
    pub fn requirement(self) -> &'static str {
        match self {
            Restricted::Finance => {
                "financial-services verification on each platform, and the lender's or provider's disclosures (APR, fees, risk warnings)"
            }
            Restricted::Health => {
                "substantiation of every health claim; prescription drugs and online pharmacies need platform certification"
            }
            Restricted::Gambling => {
                "each platform's gambling certification and a licence in every targeted country; 18+ targeting"
            }
            Restricted::Alcohol => {
                "age-gated targeting (18+ or 21+ by country) and no appeal to minors"
            }
            Restricted::Politics => {
                "each platform's political-advertiser authorisation and a \"paid for by\" disclaimer"
            }
            Restricted::Dating => "the platform's approval for dating services and 18+ targeting",
        }
    }

    fn keywords(self) -> &'static [&'static str] {
        match self {
            Restricted::Finance => &[
                "loan",
                "loans",
                "credit",
                "mortgage",
                "insurance",
                "crypto",
                "bitcoin",
                "forex",
                "invest",
                "investing",
                "trading",
            ],
            Restricted::Health => &[
                "supplement",
                "supplements",
                "pharmacy",
                "prescription",
                "weight",
                "clinic",
                "therapy",
                "medical",
            ],
            Restricted::Gambling => &[
                "casino",
                "betting",
                "bet",
                "poker",
                "slots",
                "lottery",
                "sportsbook",
            ],
            Restricted::Alcohol => &[
                "beer", "wine", "vodka", "whisky", "whiskey", "gin", "rum", "spirits", "alcohol",
                "brewery",
            ],
            Restricted::Politics => &[
                "election",
                "campaign for",
                "candidate",
                "vote",
                "ballot",
                "political",
                "petition",
            ],
            Restricted::Dating => &["dating", "singles", "matchmaking"],
        }
    }

    pub const ALL: [Restricted; 6] = [
        Restricted::Finance,
        Restricted::Health,
        Restricted::Gambling,
        Restricted::Alcohol,
        Restricted::Politics,
        Restricted::Dating,
    ];
}

/// Every restricted category `words` touch, with the word that touched it.
pub fn restricted<'a>(words: impl Iterator<Item = &'a str> + Clone) -> Vec<(Restricted, &'a str)> {
    Restricted::ALL
        .into_iter()
        .filter_map(|r| {
            words
                .clone()
                .find(|w| r.keywords().contains(w))
                .map(|w| (r, w))
        })
        .collect()
}
