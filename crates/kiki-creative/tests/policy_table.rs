//! The review on a table of phrases with the verdict and the rule each must
//! get. Each phrase is the primary text of a Meta ad (and, where it matters,
//! a Google headline), under an organisation with no rules of its own unless
//! the row says so.

use kiki_creative::{AdCopy, Channel, PolicyRules, Rule, Verdict, review};

fn meta(text: &str) -> AdCopy {
    AdCopy {
        headlines: vec!["Shop the spring range".into()],
        primary_text: Some(text.into()),
        ..AdCopy::default()
    }
}

#[test]
fn a_table_of_phrases_gets_the_expected_verdicts_and_rules() {
    use Rule::*;
    use Verdict::*;
    let rows: &[(&str, Verdict, Option<Rule>)] = &[
        // Fine copy.
        (
            "Hydrating serum for dry skin, made in Lyon.",
            Approved,
            None,
        ),
        (
            "New colours every week. Free returns within 30 days.",
            Approved,
            None,
        ),
        ("Book a table for two this Friday.", Approved, None),
        ("Our manicure kit ships in two days.", Approved, None),
        ("Learn Spanish in ten minutes a day.", Approved, None),
        ("Save 20% on running shoes this weekend.", Approved, None),
        (
            "Plan your week with a calendar that syncs everywhere.",
            Approved,
            None,
        ),
        (
            "Rated #1 by 2,000 customers according to a 2026 survey.",
            Approved,
            None,
        ),
        (
            "Get out of the house: hiking boots for every trail.",
            Approved,
            None,
        ),
        (
            "Support local farmers with a weekly veg box.",
            Approved,
            None,
        ),
        // Unsubstantiated and medical claims.
        (
            "This cream cures eczema in a week.",
            Rejected,
            Some(HealthClaim),
        ),
        (
            "A miracle tea for your energy.",
            Rejected,
            Some(HealthClaim),
        ),
        (
            "Guaranteed results or your money back.",
            Rejected,
            Some(GuaranteeClaim),
        ),
        (
            "Risk-free trading for beginners.",
            Rejected,
            Some(GuaranteeClaim),
        ),
        (
            "100% effective against wrinkles.",
            Rejected,
            Some(GuaranteeClaim),
        ),
        (
            "Satisfaction guaranteed.",
            NeedsReview,
            Some(GuaranteeClaim),
        ),
        (
            "The #1 serum in France.",
            NeedsReview,
            Some(UnsourcedSuperlative),
        ),
        (
            "Clinically proven to smooth skin.",
            NeedsReview,
            Some(UnsourcedSuperlative),
        ),
        (
            "The best in the world at keeping coffee hot.",
            NeedsReview,
            Some(UnsourcedSuperlative),
        ),
        // Personal attributes.
        (
            "Are you depressed? Talk to someone today.",
            Rejected,
            Some(PersonalAttribute),
        ),
        (
            "Tired of being overweight? You deserve better.",
            Rejected,
            Some(PersonalAttribute),
        ),
        (
            "Your debt is holding you back.",
            Rejected,
            Some(PersonalAttribute),
        ),
        (
            "Meet other Christian singles like you.",
            Rejected,
            Some(PersonalAttribute),
        ),
        (
            "Is your diabetes under control?",
            Rejected,
            Some(PersonalAttribute),
        ),
        (
            "Pregnant? You'll love our maternity range.",
            Rejected,
            Some(PersonalAttribute),
        ),
        // Editorial: capitals and punctuation.
        (
            "FREE shipping on every order.",
            Rejected,
            Some(ExcessiveCapitals),
        ),
        (
            "BIG SALE TODAY ON EVERYTHING IN STORE",
            Rejected,
            Some(ExcessiveCapitals),
        ),
        ("Huge sale!!", Rejected, Some(ExcessivePunctuation)),
        ("Earn $$$ from home.", Rejected, Some(ExcessivePunctuation)),
        (
            "What?! Prices this low?",
            Rejected,
            Some(ExcessivePunctuation),
        ),
        ("New! Better! Faster!", Rejected, Some(ExcessivePunctuation)),
        ("Spring is here!", Approved, None),
        // Prohibited and restricted goods.
        (
            "Buy a fake ID online, shipped discreetly.",
            Rejected,
            Some(ProhibitedContent),
        ),
        (
            "Replica designer bags at a fraction of the price.",
            Rejected,
            Some(ProhibitedContent),
        ),
        (
            "Buy followers and grow overnight.",
            Rejected,
            Some(ProhibitedContent),
        ),
        (
            "Try our new craft beer selection.",
            NeedsReview,
            Some(RestrictedContent),
        ),
        (
            "Play poker with friends tonight.",
            NeedsReview,
            Some(RestrictedContent),
        ),
        (
            "Fast loans approved in minutes.",
            NeedsReview,
            Some(RestrictedContent),
        ),
        (
            "Start trading crypto today.",
            NeedsReview,
            Some(RestrictedContent),
        ),
        (
            "Vote for better parks on Sunday.",
            NeedsReview,
            Some(RestrictedContent),
        ),
        (
            "Our vitamin supplements ship monthly.",
            NeedsReview,
            Some(RestrictedContent),
        ),
        (
            "Find love on a dating app built for slow conversations.",
            NeedsReview,
            Some(RestrictedContent),
        ),
    ];
    assert!(rows.len() >= 40);
    let mut wrong = Vec::new();
    for (text, verdict, rule) in rows {
        let r = review(&meta(text), Channel::Meta, &PolicyRules::default());
        let rule_ok = match rule {
            Some(rule) => r.findings.iter().any(|f| f.rule == *rule),
            None => r.findings.is_empty(),
        };
        if r.verdict != *verdict || !rule_ok {
            wrong.push(format!(
                "{text:?}: expected {verdict:?}/{rule:?}, got {:?} {:?}",
                r.verdict, r.findings
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_finding_points_at_the_offending_span_of_its_field() {
    let copy = AdCopy {
        headlines: vec!["Serum".into(), "Cures acne fast".into()],
        descriptions: vec!["Gentle formula.".into()],
        ..AdCopy::default()
    };
    let r = review(&copy, Channel::Google, &PolicyRules::default());
    assert_eq!(r.verdict, Verdict::Rejected);
    let f = &r.findings[0];
    assert_eq!(
        (f.field.as_str(), f.start, f.end, f.text.as_str()),
        ("headlines[1]", 0, 5, "Cures")
    );
}

#[test]
fn a_google_headline_may_not_exclaim_but_a_description_may_once() {
    let copy = AdCopy {
        headlines: vec!["Spring sale!".into(), "Serum".into(), "Free returns".into()],
        descriptions: vec!["Free returns!".into(), "Made in Lyon.".into()],
        ..AdCopy::default()
    };
    let r = review(&copy, Channel::Google, &PolicyRules::default());
    let fields: Vec<&str> = r.findings.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, ["headlines[0]"]);
    assert_eq!(r.findings[0].rule, Rule::ExcessivePunctuation);
}

#[test]
fn the_organisations_own_rules_apply() {
    let rules = PolicyRules {
        prohibited_words: vec!["cheap".into()],
        required_disclaimers: vec!["T&Cs apply".into()],
        brand_keywords: vec!["Lumen".into(), "LUMEN LAB".into()],
        competitor_names: vec!["Glowco".into()],
        allowed_terms: vec!["SPF".into(), "NASA".into()],
    };
    let r = review(
        &meta("Cheap serum, better than Glowco."),
        Channel::Meta,
        &rules,
    );
    let got: Vec<Rule> = r.findings.iter().map(|f| f.rule).collect();
    assert_eq!(
        got,
        [
            Rule::ProhibitedWord,
            Rule::CompetitorName,
            Rule::MissingDisclaimer,
            Rule::BrandMissing
        ]
    );
    assert_eq!(r.verdict, Verdict::Rejected);

    // The brand's own capitals and allowed acronyms pass; the disclaimer is there.
    let r = review(
        &meta("LUMEN LAB serum with SPF 30, tested with NASA-grade sensors. T&Cs apply."),
        Channel::Meta,
        &rules,
    );
    assert_eq!(r.verdict, Verdict::Approved, "{:?}", r.findings);
}
