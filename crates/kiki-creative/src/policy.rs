//! The ad-policy and brand-safety review. Every rule that fires on a
//! creative becomes a [`Finding`] naming the rule, the field and the exact
//! span, and why; the verdict is the worst severity found. The rules follow
//! what the platforms' published ad policies refuse or restrict (Google Ads
//! policies: editorial — capitalisation, punctuation —, unreliable claims,
//! restricted content; Meta Advertising Standards: personal attributes,
//! unrealistic outcomes, restricted goods), plus the organisation's own
//! prohibited words, required disclaimers and brand keywords.
//!
//! The word lists are a first line, not a lawyer: a match is a reason to look
//! (or to refuse), and a rule that should not apply to a brand is answered by
//! the organisation's `allowed_terms`.

use serde::{Deserialize, Serialize};

use crate::AdCopy;
use crate::limits::Channel;
use crate::text::{Span, find_term, sentences, words};

/// A rule of the review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Goods and services no platform accepts (illegal drugs, weapons, fake
    /// documents, counterfeits).
    ProhibitedContent,
    /// Allowed only with certification, targeting limits or disclosures
    /// (gambling, alcohol, financial services, health, politics, dating).
    RestrictedContent,
    /// Medical outcomes promised ("cures", "miracle").
    HealthClaim,
    /// Guarantees of results or of no risk.
    GuaranteeClaim,
    /// "#1", "best in the world", "clinically proven" without a source.
    UnsourcedSuperlative,
    /// Copy that asserts or implies the reader's personal attributes
    /// ("Are you depressed?").
    PersonalAttribute,
    /// Capitals for emphasis ("FREE").
    ExcessiveCapitals,
    /// Repeated or gimmicky punctuation ("!!", "$$$"), or an exclamation
    /// mark in a Google Ads headline.
    ExcessivePunctuation,
    /// A word the organisation does not allow in its ads.
    ProhibitedWord,
    /// A disclaimer the organisation requires is missing.
    MissingDisclaimer,
    /// The copy never names the brand.
    BrandMissing,
    /// A competitor's name in the copy.
    CompetitorName,
}

/// How bad a finding is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// A person must look before the creative runs.
    Review,
    /// The creative cannot run as written.
    Reject,
}

/// The outcome of a review.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[schema(as = PolicyVerdict)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Approved,
    NeedsReview,
    Rejected,
}

/// One rule that fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Finding {
    pub rule: Rule,
    pub severity: Severity,
    /// The field it is in (`headlines[2]`, `primary_text`), or `copy` for the
    /// whole ad.
    pub field: String,
    /// Byte offsets of the offending text in that field (0, 0 for the whole ad).
    pub start: usize,
    pub end: usize,
    /// The offending text itself.
    pub text: String,
    /// Why it fired, and what would fix it.
    pub reason: String,
}

/// The verdict and every finding, in the order of the fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PolicyReport {
    pub verdict: Verdict,
    pub findings: Vec<Finding>,
}

/// The organisation's own rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyRules {
    /// Words its ads must never contain.
    #[schema(max_items = 200, value_type = Vec<PolicyTerm>)]
    pub prohibited_words: Vec<String>,
    /// Texts every ad must contain somewhere (e.g. "18+", "T&Cs apply").
    #[schema(max_items = 200, value_type = Vec<PolicyTerm>)]
    pub required_disclaimers: Vec<String>,
    /// The brand's names; an ad naming none of them needs a look.
    #[schema(max_items = 200, value_type = Vec<PolicyTerm>)]
    pub brand_keywords: Vec<String>,
    /// Competitors' names; naming one needs a look (trademarks).
    #[schema(max_items = 200, value_type = Vec<PolicyTerm>)]
    pub competitor_names: Vec<String>,
    /// Terms that are fine for this brand although a rule would flag them
    /// (an all-capitals product name, an acronym, "CBD" for a licensed
    /// seller).
    #[schema(max_items = 200, value_type = Vec<PolicyTerm>)]
    pub allowed_terms: Vec<String>,
}

/// One word or text of the organisation's rules: 1 to 100 characters, not
/// only spaces.
#[derive(utoipa::ToSchema)]
#[schema(min_length = 1, max_length = 100, pattern = r"\S")]
#[allow(dead_code)] // the item schema of `PolicyRules`' lists in the API document
pub struct PolicyTerm(String);

const PROHIBITED: &[(&str, &str)] = &[
    ("cocaine", "illegal drugs"),
    ("heroin", "illegal drugs"),
    ("meth", "illegal drugs"),
    ("methamphetamine", "illegal drugs"),
    ("mdma", "illegal drugs"),
    ("fake id*", "fake documents"),
    ("fake passport*", "fake documents"),
    ("counterfeit*", "counterfeit goods"),
    ("replica designer", "counterfeit goods"),
    ("firearm*", "weapons"),
    ("ammunition", "weapons"),
    ("explosive*", "weapons"),
    ("hacking service*", "hacking services"),
    ("buy followers", "fake engagement"),
    ("spy app*", "spyware"),
];

const RESTRICTED: &[(&str, &str)] = &[
    (
        "casino*",
        "gambling: the platform's gambling certification and a licence in every targeted country",
    ),
    (
        "betting",
        "gambling: the platform's gambling certification and a licence in every targeted country",
    ),
    (
        "sportsbook*",
        "gambling: the platform's gambling certification and a licence in every targeted country",
    ),
    (
        "poker",
        "gambling: the platform's gambling certification and a licence in every targeted country",
    ),
    (
        "jackpot*",
        "gambling: the platform's gambling certification and a licence in every targeted country",
    ),
    (
        "beer*",
        "alcohol: age-gated targeting (18+ or 21+ by country) and no appeal to minors",
    ),
    (
        "wine*",
        "alcohol: age-gated targeting (18+ or 21+ by country) and no appeal to minors",
    ),
    (
        "vodka",
        "alcohol: age-gated targeting (18+ or 21+ by country) and no appeal to minors",
    ),
    (
        "whisk*",
        "alcohol: age-gated targeting (18+ or 21+ by country) and no appeal to minors",
    ),
    (
        "alcohol*",
        "alcohol: age-gated targeting (18+ or 21+ by country) and no appeal to minors",
    ),
    (
        "loan*",
        "financial services: the platform's financial-services verification and the lender's disclosures (APR, fees)",
    ),
    (
        "credit card*",
        "financial services: the platform's financial-services verification and the lender's disclosures (APR, fees)",
    ),
    (
        "crypto*",
        "financial services: crypto advertising needs the platform's written permission in most countries",
    ),
    (
        "bitcoin*",
        "financial services: crypto advertising needs the platform's written permission in most countries",
    ),
    (
        "forex",
        "financial services: the platform's financial-services verification and risk warnings",
    ),
    (
        "payday",
        "financial services: payday lending is refused by most platforms and regulated everywhere",
    ),
    (
        "supplement*",
        "health: claims need substantiation, and some countries restrict supplement ads",
    ),
    (
        "weight loss",
        "health: no before/after or unrealistic outcomes; 18+ targeting on Meta",
    ),
    (
        "prescription*",
        "health: prescription drugs need the platform's pharmacy certification",
    ),
    (
        "pharmacy",
        "health: online pharmacies need the platform's certification",
    ),
    (
        "election*",
        "political or issue ad: the platform's authorisation and a \"paid for by\" disclaimer",
    ),
    (
        "vote for",
        "political or issue ad: the platform's authorisation and a \"paid for by\" disclaimer",
    ),
    (
        "ballot*",
        "political or issue ad: the platform's authorisation and a \"paid for by\" disclaimer",
    ),
    (
        "dating",
        "dating: the platform's approval and 18+ targeting",
    ),
];

const HEALTH_CLAIMS: &[&str] = &[
    "cure",
    "cures",
    "cured",
    "miracle*",
    "heals",
    "prevents cancer",
    "reverses aging",
    "reverse aging",
    "detox your body",
];

const RESULT_GUARANTEES: &[&str] = &[
    "guaranteed results",
    "guaranteed income",
    "guaranteed returns",
    "guaranteed weight loss",
    "guaranteed profit*",
    "100% effective",
    "no risk",
    "risk-free",
    "risk free",
];

const SOFT_GUARANTEES: &[&str] = &["guaranteed", "guarantee"];

const SUPERLATIVES: &[&str] = &[
    "#1",
    "number one",
    "no. 1",
    "no.1",
    "best in the world",
    "world's best",
    "best ever",
    "clinically proven",
    "doctor recommended",
    "scientifically proven",
];

/// Text that names where a claim comes from.
const SOURCE_MARKERS: &[&str] = &[
    "according to",
    "source:",
    "(source",
    "based on",
    "survey",
    "study of",
    "*",
];

const YOU: &[&str] = &["you", "your", "you're", "youre", "yourself"];

const ATTRIBUTES: &[&str] = &[
    "depress*",
    "anxiety",
    "anxious",
    "diabet*",
    "overweight",
    "obese",
    "fat",
    "bald*",
    "gay",
    "lesbian",
    "bisexual",
    "transgender",
    "christian*",
    "muslim*",
    "jewish",
    "hindu*",
    "buddhist*",
    "pregnan*",
    "divorce*",
    "bankrupt*",
    "debt*",
    "disabilit*",
    "disabled",
    "hiv",
    "cancer",
    "criminal record",
    "credit score",
    "ethnicity",
    "race",
    "sexual orientation",
    "religion",
    "illness",
    "addict*",
];

/// Reviews `copy` for `channel` under the organisation's `rules`.
pub fn review(copy: &AdCopy, channel: Channel, rules: &PolicyRules) -> PolicyReport {
    let mut findings = Vec::new();
    let fields = copy.fields();
    let whole: String = fields
        .iter()
        .map(|(_, t)| *t)
        .collect::<Vec<_>>()
        .join("\n");
    let sourced = SOURCE_MARKERS
        .iter()
        .any(|m| whole.to_ascii_lowercase().contains(m));
    let allowed = |text: &str| {
        rules
            .allowed_terms
            .iter()
            .any(|a| !a.trim().is_empty() && text.eq_ignore_ascii_case(a.trim()))
    };
    for (field, text) in &fields {
        let mut fire = |rule, severity, span: Span, reason: String| {
            let found = &text[span.0..span.1];
            if allowed(found) {
                return;
            }
            findings.push(Finding {
                rule,
                severity,
                field: field.clone(),
                start: span.0,
                end: span.1,
                text: found.to_owned(),
                reason,
            });
        };
        for (term, what) in PROHIBITED {
            for span in find_term(text, term) {
                fire(
                    Rule::ProhibitedContent,
                    Severity::Reject,
                    span,
                    format!("{what} cannot be advertised on any platform."),
                );
            }
        }
        for (term, needs) in RESTRICTED {
            for span in find_term(text, term) {
                fire(
                    Rule::RestrictedContent,
                    Severity::Review,
                    span,
                    format!("Restricted content; it needs {needs}."),
                );
            }
        }
        for term in HEALTH_CLAIMS {
            for span in find_term(text, term) {
                fire(
                    Rule::HealthClaim,
                    Severity::Reject,
                    span,
                    "A medical outcome is promised; say what the product does, not what it cures."
                        .to_owned(),
                );
            }
        }
        let mut hard_guarantee = Vec::new();
        for term in RESULT_GUARANTEES {
            for span in find_term(text, term) {
                hard_guarantee.push(span);
                fire(
                    Rule::GuaranteeClaim,
                    Severity::Reject,
                    span,
                    "Results or safety are guaranteed; platforms refuse promises of outcomes."
                        .to_owned(),
                );
            }
        }
        for term in SOFT_GUARANTEES {
            for span in find_term(text, term) {
                if hard_guarantee
                    .iter()
                    .any(|h| h.0 <= span.0 && span.1 <= h.1)
                {
                    continue;
                }
                fire(
                    Rule::GuaranteeClaim,
                    Severity::Review,
                    span,
                    "A guarantee needs its terms (what is guaranteed, for how long, how to claim) on the landing page."
                        .to_owned(),
                );
            }
        }
        if !sourced {
            for term in SUPERLATIVES {
                for span in find_term(text, term) {
                    fire(
                        Rule::UnsourcedSuperlative,
                        Severity::Review,
                        span,
                        "A ranking or proof claim without its source; add where it comes from (\"according to …\") or drop it."
                            .to_owned(),
                    );
                }
            }
        }
        for (s0, s1) in sentences(text) {
            let sentence = &text[s0..s1];
            // Addressed to the reader, or asked of them ("Pregnant?").
            let addressed = YOU.iter().any(|y| !find_term(sentence, y).is_empty())
                || sentence.trim_end().ends_with('?');
            if !addressed {
                continue;
            }
            for term in ATTRIBUTES {
                for (a, b) in find_term(sentence, term) {
                    fire(
                        Rule::PersonalAttribute,
                        Severity::Reject,
                        (s0 + a, s0 + b),
                        "The copy asserts or implies the reader's personal attributes (health, beliefs, finances, identity); speak about the product instead."
                            .to_owned(),
                    );
                }
            }
        }
        let letters = text.chars().filter(|c| c.is_alphabetic()).count();
        let upper = text.chars().filter(|c| c.is_uppercase()).count();
        let shouting = letters >= 12 && upper * 2 > letters;
        if shouting {
            fire(
                Rule::ExcessiveCapitals,
                Severity::Reject,
                (0, text.len()),
                "Mostly capitals; platforms refuse capitals used for emphasis.".to_owned(),
            );
        } else {
            for (a, b) in words(text) {
                let w = &text[a..b];
                let caps = w.chars().filter(|c| c.is_alphabetic()).count() >= 4
                    && w.chars().all(|c| !c.is_alphabetic() || c.is_uppercase());
                // A word of the brand's own name, written as the brand
                // writes it, or an allowed term.
                let brand = rules
                    .brand_keywords
                    .iter()
                    .any(|k| k.split_whitespace().any(|part| part == w))
                    || rules.allowed_terms.iter().any(|t| {
                        t.split_whitespace()
                            .any(|part| part.eq_ignore_ascii_case(w))
                    });
                if caps && !brand {
                    fire(
                        Rule::ExcessiveCapitals,
                        Severity::Reject,
                        (a, b),
                        format!(
                            "\"{w}\" in capitals for emphasis; write it in normal case, or add it to the allowed terms if it is a name or an acronym."
                        ),
                    );
                }
            }
        }
        let bytes = text.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let c = bytes[i];
            if matches!(c, b'!' | b'?' | b'$' | b'*' | b'@' | b'#' | b'%' | b'&') {
                let mut j = i + 1;
                while j < bytes.len()
                    && matches!(
                        bytes[j],
                        b'!' | b'?' | b'$' | b'*' | b'@' | b'#' | b'%' | b'&'
                    )
                {
                    j += 1;
                }
                if j - i >= 2 {
                    fire(
                        Rule::ExcessivePunctuation,
                        Severity::Reject,
                        (i, j),
                        "Repeated punctuation or symbols; platforms refuse gimmicky punctuation."
                            .to_owned(),
                    );
                }
                i = j;
            } else {
                i += 1;
            }
        }
        let exclamations: Vec<usize> = text.match_indices('!').map(|(i, _)| i).collect();
        if channel == Channel::Google && field.starts_with("headlines") {
            if let Some(&i) = exclamations.first() {
                fire(
                    Rule::ExcessivePunctuation,
                    Severity::Reject,
                    (i, i + 1),
                    "Google Ads does not allow an exclamation mark in a headline.".to_owned(),
                );
            }
        } else if exclamations.len() > 1 && exclamations.windows(2).all(|w| w[1] > w[0] + 1) {
            fire(
                Rule::ExcessivePunctuation,
                Severity::Reject,
                (exclamations[1], exclamations[1] + 1),
                "More than one exclamation mark in one piece of copy.".to_owned(),
            );
        }
        for word in &rules.prohibited_words {
            if word.trim().is_empty() {
                continue;
            }
            for span in find_term(text, word.trim()) {
                fire(
                    Rule::ProhibitedWord,
                    Severity::Reject,
                    span,
                    "The organisation does not allow this word in its ads.".to_owned(),
                );
            }
        }
        for name in &rules.competitor_names {
            if name.trim().is_empty() {
                continue;
            }
            for span in find_term(text, name.trim()) {
                fire(
                    Rule::CompetitorName,
                    Severity::Review,
                    span,
                    "A competitor is named; check the trademark rules of each platform before it runs."
                        .to_owned(),
                );
            }
        }
    }
    let lower = whole.to_lowercase();
    for d in &rules.required_disclaimers {
        if !d.trim().is_empty() && !lower.contains(&d.trim().to_lowercase()) {
            findings.push(Finding {
                rule: Rule::MissingDisclaimer,
                severity: Severity::Reject,
                field: "copy".to_owned(),
                start: 0,
                end: 0,
                text: d.trim().to_owned(),
                reason: format!("The organisation requires \"{}\" in every ad.", d.trim()),
            });
        }
    }
    let brands: Vec<&str> = rules
        .brand_keywords
        .iter()
        .map(|b| b.trim())
        .filter(|b| !b.is_empty())
        .collect();
    if !brands.is_empty() && !brands.iter().any(|b| !find_term(&whole, b).is_empty()) {
        findings.push(Finding {
            rule: Rule::BrandMissing,
            severity: Severity::Review,
            field: "copy".to_owned(),
            start: 0,
            end: 0,
            text: String::new(),
            reason: format!("The ad never names the brand ({}).", brands.join(", ")),
        });
    }
    let verdict = match findings.iter().map(|f| f.severity).max() {
        Some(Severity::Reject) => Verdict::Rejected,
        Some(Severity::Review) => Verdict::NeedsReview,
        None => Verdict::Approved,
    };
    PolicyReport { verdict, findings }
}
