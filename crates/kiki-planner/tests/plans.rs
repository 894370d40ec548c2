//! Whole campaign plans from goals, forms, pages and model proposals: what
//! each value is, where it came from, and which guardrails fired.

use kiki_campaigns::model::BidStrategy;
use kiki_campaigns::{CampaignKind, OrgLimits, validate_campaign};
use kiki_core::{Currency, Money};
use kiki_creative::{Channel, Tone};
use kiki_planner::industry::Restricted;
use kiki_planner::{
    AssumptionOrigin, CampaignPlan, ChannelShare, Gender, GoalForm, GuardrailAction, LlmProposal,
    LtvFigure, PlanInputs, PlanRequest, plan, plan_with_proposal, read_page,
};
use proptest::prelude::*;
use serde_json::Value;
use time::macros::date;

const SERUM: &str = "Launch our new serum with $100k over 60 days, target ROI 3x, US women 25-44";

fn usd(major: i64) -> Money {
    Money::from_major(major, Currency::USD).unwrap()
}

fn cents(minor: i64) -> Money {
    Money::from_minor(minor, Currency::USD).unwrap()
}

fn inputs() -> PlanInputs {
    PlanInputs::new(Currency::USD, date!(2025 - 06 - 01))
}

fn goal(text: &str) -> PlanRequest {
    PlanRequest {
        goal: Some(text.to_owned()),
        ..PlanRequest::default()
    }
}

fn with_form(text: &str, form: GoalForm) -> PlanRequest {
    PlanRequest {
        goal: Some(text.to_owned()),
        form: Some(form),
        page: None,
    }
}

fn origin<'a>(p: &'a CampaignPlan, field: &str) -> &'a AssumptionOrigin {
    let found: Vec<_> = p.assumptions.iter().filter(|a| a.field == field).collect();
    assert_eq!(found.len(), 1, "one assumption for {field}");
    &found[0].origin
}

fn value<'a>(p: &'a CampaignPlan, field: &str) -> &'a str {
    &p.assumptions
        .iter()
        .find(|a| a.field == field)
        .unwrap_or_else(|| panic!("no assumption for {field}"))
        .value
}

fn limits() -> OrgLimits {
    OrgLimits {
        max_daily_budget: None,
        today: date!(2025 - 06 - 01),
    }
}

/// Every path an assumption names exists in the plan's JSON, and none is
/// named twice.
fn check_assumption_paths(p: &CampaignPlan) {
    let json = serde_json::to_value(p).unwrap();
    let mut seen = std::collections::HashSet::new();
    for a in &p.assumptions {
        assert!(seen.insert(a.field.clone()), "{} twice", a.field);
        let mut nodes: Vec<&Value> = vec![&json];
        for seg in a.field.split('.') {
            let (key, every) = match seg.strip_suffix("[*]") {
                Some(k) => (k, true),
                None => (seg, false),
            };
            nodes = nodes
                .into_iter()
                .map(|n| {
                    n.get(key)
                        .unwrap_or_else(|| panic!("{} has no {key}", a.field))
                })
                .flat_map(|n| {
                    if every {
                        n.as_array().unwrap().iter().collect::<Vec<_>>()
                    } else {
                        vec![n]
                    }
                })
                .collect();
        }
        assert!(!nodes.is_empty(), "{}", a.field);
    }
}

#[test]
fn the_serum_goal_becomes_a_whole_plan() {
    let p = plan(&goal(SERUM), &inputs());
    let d = &p.draft;
    assert_eq!(d.total_budget, Some(usd(100_000)));
    // 100 000 ÷ 60 = 1 666.666…, rounded down to the cent.
    assert_eq!(d.daily_budget, cents(166_666));
    assert_eq!(d.daily_budget.to_string(), "1666.66 USD");
    assert_eq!(p.duration_days, 60);
    assert_eq!(d.target_roi, Some(3.0));
    assert_eq!(d.currency, Currency::USD);
    assert_eq!(d.industry, "ecommerce");
    assert_eq!(d.kind, CampaignKind::Shopping);
    assert_eq!(d.schedule.start, date!(2025 - 06 - 02));
    assert_eq!(d.schedule.end, Some(date!(2025 - 07 - 31)));
    assert_eq!(d.schedule.time_zone, "UTC");
    assert_eq!(d.name, "Serum — Jun 2025");
    assert_eq!(d.objective, SERUM);
    assert_eq!(d.landing_url, "");
    assert_eq!(p.missing, ["brand_name", "landing_url"]);

    // 120 USD (the e-commerce prior) × 100 % ÷ 3 = 40 USD.
    assert_eq!(p.ltv.value, usd(120));
    assert!(p.ltv.source.contains("industry prior"), "{}", p.ltv.source);
    assert_eq!(p.margin_bps, 10_000);
    assert!(
        p.margin_source.contains("assumed 100 %"),
        "{}",
        p.margin_source
    );
    let cpa = p.max_cpa.as_ref().unwrap();
    assert_eq!(cpa.value, usd(40));
    assert_eq!(d.max_cpa, Some(usd(40)));
    assert!(
        cpa.source.contains("120.00 USD")
            && cpa.source.contains("100 %")
            && cpa.source.contains("3×")
            && cpa.source.ends_with("= 40.00 USD"),
        "{}",
        cpa.source
    );

    assert!(!d.ad_sets.is_empty());
    assert_eq!(
        d.ad_sets.iter().map(|a| a.budget_share_bps).sum::<u32>(),
        10_000
    );
    for a in &d.ad_sets {
        assert_eq!(a.targeting.countries, ["US"]);
        assert_eq!(a.targeting.genders, ["female"]);
        assert_eq!(
            (a.targeting.age_min, a.targeting.age_max),
            (Some(25), Some(44))
        );
        assert_eq!(a.bid_strategy, BidStrategy::CostCap);
        assert_eq!(a.bid_cap, Some(usd(40)));
        let expect_keywords: &[&str] = if a.channel == Channel::Google {
            &["serum"]
        } else {
            &[]
        };
        assert_eq!(a.targeting.keywords, expect_keywords);
    }
    assert_eq!(p.brief.product, "serum");
    assert_eq!(p.brief.audience, "women aged 25–44 in US");
    assert_eq!(p.brief.tone, Tone::Friendly);
    assert_eq!(p.brief.call_to_action.as_deref(), Some("Shop now"));
    assert_eq!(p.brief.industry, "ecommerce");
    assert!(!p.brief.visual_guidelines.is_empty());

    // Where the values came from.
    assert_eq!(
        origin(&p, "draft.total_budget"),
        &AssumptionOrigin::Extracted {
            text: "$100k".to_owned(),
            start: 26,
            end: 31
        }
    );
    assert!(matches!(
        origin(&p, "draft.daily_budget"),
        AssumptionOrigin::Inferred { from } if from.contains("rounded down")
    ));
    assert!(matches!(
        origin(&p, "duration_days"),
        AssumptionOrigin::Extracted { text, .. } if text == "60 days"
    ));
    assert!(matches!(
        origin(&p, "draft.industry"),
        AssumptionOrigin::Inferred { from } if from.contains("\"serum\"")
    ));
    assert!(matches!(
        origin(&p, "ltv"),
        AssumptionOrigin::Defaulted { rule } if rule.contains("industry prior")
    ));
    assert!(matches!(
        origin(&p, "channel_mix"),
        AssumptionOrigin::Defaulted { .. }
    ));
    assert_eq!(value(&p, "draft.daily_budget"), "1666.66 USD");
    assert!(p.guardrails.is_empty(), "{:?}", p.guardrails);
    assert!(p.restricted.is_empty());
    check_assumption_paths(&p);
}

#[test]
fn the_form_overrides_the_goal_text() {
    let form = GoalForm {
        total_budget: Some(usd(50_000)),
        target_roi: Some(4.0),
        countries: vec!["ca".to_owned()],
        age_min: Some(30),
        genders: vec![Gender::Male, Gender::Female],
        brand: Some("Lumière".to_owned()),
        landing_url: Some("https://shop.lumiere.example/serum".to_owned()),
        tone: Some(Tone::Premium),
        ..GoalForm::default()
    };
    let p = plan(&with_form(SERUM, form), &inputs());
    let d = &p.draft;
    assert_eq!(d.total_budget, Some(usd(50_000)));
    assert_eq!(d.daily_budget, cents(83_333)); // 50 000 ÷ 60, to the cent
    assert_eq!(p.duration_days, 60); // from the text
    assert_eq!(d.target_roi, Some(4.0));
    assert_eq!(d.max_cpa, Some(usd(30))); // 120 ÷ 4
    assert_eq!(d.brand_name, "Lumière");
    assert_eq!(d.landing_url, "https://shop.lumiere.example/serum");
    let t = &d.ad_sets[0].targeting;
    assert_eq!(t.countries, ["CA"]);
    assert_eq!((t.age_min, t.age_max), (Some(30), None));
    assert!(t.genders.is_empty(), "both genders is everyone");
    assert_eq!(p.brief.tone, Tone::Premium);
    assert_eq!(origin(&p, "draft.total_budget"), &AssumptionOrigin::Given);
    assert_eq!(origin(&p, "draft.target_roi"), &AssumptionOrigin::Given);
    assert!(matches!(
        origin(&p, "duration_days"),
        AssumptionOrigin::Extracted { .. }
    ));
    assert_eq!(p.brief.product, "serum");
    assert!(p.missing.is_empty());
    assert!(validate_campaign(d, &limits()).is_empty());
    check_assumption_paths(&p);
}

#[test]
fn a_page_alone_gives_product_brand_landing_page_and_message() {
    let html = r#"<html lang="en"><head><title>Radiance Serum – Lumière</title>
        <meta name="description" content="A lightweight vitamin C serum for brighter skin.">
        <meta property="og:site_name" content="Lumière Skincare">
        <script type="application/ld+json">{"@type":"Product","name":"Radiance Serum","brand":{"name":"Lumière"},
        "offers":{"price":"49.00","priceCurrency":"USD"}}</script></head>
        <body><h1>Radiance Serum</h1></body></html>"#;
    let page = read_page("https://shop.lumiere.example/products/radiance-serum", html);
    let req = PlanRequest {
        page: Some(page),
        ..PlanRequest::default()
    };
    let p = plan(&req, &inputs());
    let d = &p.draft;
    assert_eq!(p.brief.product, "Radiance Serum");
    assert_eq!(d.brand_name, "Lumière");
    assert_eq!(
        d.landing_url,
        "https://shop.lumiere.example/products/radiance-serum"
    );
    assert_eq!(d.industry, "ecommerce");
    assert_eq!(d.kind, CampaignKind::Shopping);
    assert_eq!(
        p.brief.key_message,
        "A lightweight vitamin C serum for brighter skin."
    );
    assert_eq!(d.name, "Radiance Serum — Jun 2025");
    assert!(d.objective.starts_with("Sell Radiance Serum to everyone"));
    assert_eq!(p.duration_days, 30);
    for field in [
        "brief.product",
        "draft.brand_name",
        "draft.landing_url",
        "draft.industry",
        "draft.kind",
        "brief.key_message",
    ] {
        assert!(
            matches!(origin(&p, field), AssumptionOrigin::FromPage { .. }),
            "{field}: {:?}",
            origin(&p, field)
        );
    }
    // No budget is invented: the person must set one.
    assert_eq!(d.daily_budget, Money::zero(Currency::USD));
    assert_eq!(d.total_budget, None);
    assert_eq!(p.missing, ["daily_budget"]);
    let problems: Vec<String> = validate_campaign(d, &limits())
        .into_iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(problems, ["daily_budget"]);
    check_assumption_paths(&p);
}

#[test]
fn the_organisations_ltv_and_margin_set_the_ceiling() {
    let mut i = inputs();
    i.ltv = Some(LtvFigure {
        value: usd(300),
        source: "BG/NBD fit of 2 400 customers, 12-month horizon".to_owned(),
    });
    i.margin_bps = Some(4_000);
    let p = plan(&goal(SERUM), &i);
    // 300 × 40 % ÷ 3 = 40
    assert_eq!(p.ltv.value, usd(300));
    assert_eq!(p.margin_bps, 4_000);
    assert!(p.margin_source.contains("40 %"), "{}", p.margin_source);
    let cpa = p.max_cpa.as_ref().unwrap();
    assert_eq!(cpa.value, usd(40));
    assert!(
        cpa.source.contains("300.00 USD")
            && cpa.source.contains("BG/NBD")
            && cpa.source.contains("40 %"),
        "{}",
        cpa.source
    );
    assert!(matches!(
        origin(&p, "ltv"),
        AssumptionOrigin::Inferred { .. }
    ));

    // A margin of 25 % with a 2.5× target: 300 × 0.25 ÷ 2.5 = 30.
    i.margin_bps = Some(2_500);
    let form = GoalForm {
        target_roi: Some(2.5),
        ..GoalForm::default()
    };
    let p = plan(&with_form(SERUM, form), &i);
    assert_eq!(p.draft.max_cpa, Some(usd(30)));

    // An LTV in another currency is not used.
    i.ltv = Some(LtvFigure {
        value: Money::from_major(300, Currency::EUR).unwrap(),
        source: "EUR model".to_owned(),
    });
    let p = plan(&goal(SERUM), &i);
    assert_eq!(p.ltv.value, usd(120));
    assert!(
        p.guardrails
            .iter()
            .any(|g| g.field == "ltv" && g.action == GuardrailAction::Refused)
    );
}

#[test]
fn the_daily_cap_lowers_the_daily_budget() {
    let mut i = inputs();
    i.max_daily_budget = Some(usd(1_000));
    let p = plan(&goal(SERUM), &i);
    assert_eq!(p.draft.daily_budget, usd(1_000));
    assert_eq!(p.draft.total_budget, Some(usd(100_000)));
    let g = p
        .guardrails
        .iter()
        .find(|g| g.field == "draft.daily_budget")
        .unwrap();
    assert_eq!(g.action, GuardrailAction::Changed);
    assert!(
        g.reason.contains("1666.66 USD") && g.reason.contains("1000.00 USD"),
        "{}",
        g.reason
    );
    assert!(g.reason.contains("60000.00 USD"), "{}", g.reason);
    let limits = OrgLimits {
        max_daily_budget: Some(usd(1_000)),
        ..limits()
    };
    let problems = validate_campaign(&p.draft, &limits);
    assert!(problems.iter().all(|e| e.field != "daily_budget"));

    // A daily budget alone: the total follows the capped daily budget.
    let p = plan(&goal("Sell our candles, $2,000 a day for 30 days"), &i);
    assert_eq!(p.draft.daily_budget, usd(1_000));
    assert_eq!(p.draft.total_budget, Some(usd(30_000)));
}

#[test]
fn long_flights_bad_returns_odd_ages_and_foreign_money_are_handled() {
    let form = GoalForm {
        duration_days: Some(500),
        target_roi: Some(500.0),
        age_min: Some(10),
        age_max: Some(80),
        total_budget: Some(Money::from_major(9_000, Currency::EUR).unwrap()),
        ..GoalForm::default()
    };
    let p = plan(&with_form(SERUM, form), &inputs());
    assert_eq!(p.duration_days, 366);
    // The form's return is refused; the goal's 3× is next.
    assert_eq!(p.draft.target_roi, Some(3.0));
    let t = &p.draft.ad_sets[0].targeting;
    assert_eq!((t.age_min, t.age_max), (Some(13), Some(65)));
    // The euro amount is refused; the goal's dollars are next.
    assert_eq!(p.draft.total_budget, Some(usd(100_000)));
    let action = |field: &str| {
        p.guardrails
            .iter()
            .filter(|g| g.field == field)
            .map(|g| g.action)
            .collect::<Vec<_>>()
    };
    assert_eq!(action("duration_days"), [GuardrailAction::Changed]);
    assert_eq!(action("draft.target_roi"), [GuardrailAction::Refused]);
    assert_eq!(action("draft.total_budget"), [GuardrailAction::Refused]);
    assert_eq!(
        action("draft.ad_sets[*].targeting.age_min"),
        [GuardrailAction::Changed]
    );
    assert_eq!(
        action("draft.ad_sets[*].targeting.age_max"),
        [GuardrailAction::Changed]
    );

    // With no return anywhere, the industry's default.
    let p = plan(&goal("Sell our candles with $9,000"), &inputs());
    assert_eq!(p.draft.target_roi, Some(3.0));
    assert!(matches!(
        origin(&p, "draft.target_roi"),
        AssumptionOrigin::Defaulted { .. }
    ));
}

#[test]
fn refused_claims_leave_the_key_message() {
    let form = GoalForm {
        key_message: Some("Glowing skin in two weeks, guaranteed results, risk-free.".to_owned()),
        ..GoalForm::default()
    };
    let p = plan(&with_form(SERUM, form), &inputs());
    assert_eq!(p.brief.key_message, "Glowing skin in two weeks.");
    let g: Vec<_> = p
        .guardrails
        .iter()
        .filter(|g| g.field == "brief.key_message")
        .collect();
    assert_eq!(g.len(), 1);
    assert_eq!(g[0].action, GuardrailAction::Changed);
    assert!(
        g[0].reason.contains("guarantee_claim")
            && g[0].reason.contains("\"guaranteed results\"")
            && g[0].reason.contains("\"risk-free\""),
        "{}",
        g[0].reason
    );
    assert_eq!(origin(&p, "brief.key_message"), &AssumptionOrigin::Given);

    // A message that is nothing but claims gives way to the product.
    let form = GoalForm {
        key_message: Some("Guaranteed results!".to_owned()),
        ..GoalForm::default()
    };
    let p = plan(&with_form(SERUM, form), &inputs());
    assert_eq!(p.brief.key_message, "serum");
}

#[test]
fn a_gambling_goal_is_flagged_and_kept_to_adults() {
    let i = PlanInputs::new(Currency::GBP, date!(2025 - 06 - 01));
    let p = plan(
        &goal("Promote our online casino in the UK with £20k over 30 days, 16-40"),
        &i,
    );
    assert_eq!(
        p.restricted.iter().map(|r| r.category).collect::<Vec<_>>(),
        [Restricted::Gambling]
    );
    assert!(p.restricted[0].requirement.contains("18+"));
    let flagged = p
        .guardrails
        .iter()
        .find(|g| g.field == "restricted")
        .unwrap();
    assert_eq!(flagged.action, GuardrailAction::Flagged);
    assert!(flagged.reason.contains("\"casino\""), "{}", flagged.reason);
    assert_eq!(p.draft.ad_sets[0].targeting.age_min, Some(18));
    assert_eq!(p.draft.ad_sets[0].targeting.countries, ["GB"]);
    assert_eq!(
        p.draft.total_budget,
        Some(Money::from_major(20_000, Currency::GBP).unwrap())
    );
}

#[test]
fn the_allocators_mix_and_the_chosen_channels_shape_the_ad_sets() {
    let mut i = inputs();
    let share = |channel, share_bps| ChannelShare {
        channel,
        share_bps,
        source: "allocator what-if, 2025-05-31".to_owned(),
    };
    i.channel_mix = Some(vec![
        share(Channel::Meta, 5_000),
        share(Channel::Google, 3_000),
        share(Channel::Kiki, 2_000),
    ]);
    let p = plan(&goal(SERUM), &i);
    let got: Vec<(Channel, u32)> = p
        .channel_mix
        .iter()
        .map(|s| (s.channel, s.share_bps))
        .collect();
    assert_eq!(
        got,
        [
            (Channel::Meta, 5_000),
            (Channel::Google, 3_000),
            (Channel::Kiki, 2_000)
        ]
    );
    let kiki = p
        .draft
        .ad_sets
        .iter()
        .find(|a| a.channel == Channel::Kiki)
        .unwrap();
    assert_eq!(kiki.bid_strategy, BidStrategy::ValueBased);
    assert_eq!(kiki.bid_cap, None);

    // The person chose two channels: the allocator's weights among them, and
    // an even share for one it did not weigh.
    let form = GoalForm {
        channels: vec![Channel::Google, Channel::Meta],
        ..GoalForm::default()
    };
    let p = plan(&with_form(SERUM, form), &i);
    let got: Vec<(Channel, u32)> = p
        .channel_mix
        .iter()
        .map(|s| (s.channel, s.share_bps))
        .collect();
    assert_eq!(got, [(Channel::Google, 3_750), (Channel::Meta, 6_250)]);
    assert!(matches!(
        origin(&p, "channel_mix"),
        AssumptionOrigin::Inferred { from } if from.contains("allocator")
    ));

    // A channel the allocator did not weigh gets an even share (10 000 / 3)
    // before the shares are scaled to the whole budget.
    let form = GoalForm {
        channels: vec![Channel::Google, Channel::Meta, Channel::Tiktok],
        ..GoalForm::default()
    };
    let p = plan(&with_form(SERUM, form), &i);
    let got: Vec<(Channel, u32)> = p
        .channel_mix
        .iter()
        .map(|s| (s.channel, s.share_bps))
        .collect();
    // 3000 : 5000 : 3333 of 11 333, rounded down, remainders to the largest.
    assert_eq!(
        got,
        [
            (Channel::Google, 2_647),
            (Channel::Meta, 4_412),
            (Channel::Tiktok, 2_941)
        ]
    );
    assert!(p.channel_mix[2].source.contains("even share"));

    // A configured margin out of range is refused and 100 % assumed.
    let mut i = inputs();
    i.margin_bps = Some(20_000);
    let p = plan(&goal(SERUM), &i);
    assert_eq!(p.margin_bps, 10_000);
    assert!(p.margin_source.contains("assumed 100 %"));
    assert!(
        p.guardrails
            .iter()
            .any(|g| g.field == "margin_bps" && g.action == GuardrailAction::Refused)
    );

    // Without a CPA ceiling (here it rounds to nothing) the platforms bid
    // lowest cost.
    let mut i = inputs();
    i.ltv = Some(LtvFigure {
        value: Money::from_micros(1, Currency::USD),
        source: "a model with almost no value".to_owned(),
    });
    i.margin_bps = Some(1);
    let p = plan(&goal(SERUM), &i);
    assert_eq!(p.max_cpa, None);
    assert_eq!(p.draft.max_cpa, None);
    assert!(
        p.draft
            .ad_sets
            .iter()
            .all(|a| a.bid_strategy == BidStrategy::LowestCost && a.bid_cap.is_none())
    );
}

#[test]
fn a_plan_with_a_landing_page_and_budget_passes_the_campaign_checks() {
    for text in [
        SERUM,
        "Get demo sign-ups for our CRM platform from B2B buyers in Germany, €20,000 over 8 weeks",
        "Drive installs of our puzzle game on iOS, $300 a day, men and women 18+",
        "Promote our spring collection with $5,000",
    ] {
        let currency = if text.contains('€') {
            Currency::EUR
        } else {
            Currency::USD
        };
        let form = GoalForm {
            landing_url: Some("https://brand.example/spring".to_owned()),
            brand: Some("Brand".to_owned()),
            ..GoalForm::default()
        };
        let p = plan(
            &with_form(text, form),
            &PlanInputs::new(currency, date!(2025 - 06 - 01)),
        );
        let problems = validate_campaign(&p.draft, &limits());
        assert!(problems.is_empty(), "{text}: {problems:?}");
        assert!(p.missing.is_empty(), "{text}: {:?}", p.missing);
        check_assumption_paths(&p);
    }
}

#[test]
fn kinds_and_tones_follow_the_industry() {
    let p = plan(
        &goal("Get demo sign-ups for our CRM platform, €20,000 over 8 weeks"),
        &PlanInputs::new(Currency::EUR, date!(2025 - 06 - 01)),
    );
    assert_eq!(p.draft.kind, CampaignKind::Leads);
    assert_eq!(p.draft.industry, "saas");
    assert_eq!(p.brief.tone, Tone::Professional);
    assert_eq!(p.brief.call_to_action.as_deref(), Some("Sign up"));
    assert_eq!(p.duration_days, 56);
    assert!(p.channel_mix.iter().any(|s| s.channel == Channel::Linkedin));
}

#[test]
fn a_model_proposal_ranks_between_the_form_and_the_goal_text() {
    let form = GoalForm {
        countries: vec!["CA".to_owned()],
        landing_url: Some("https://shop.lumiere.example/serum".to_owned()),
        ..GoalForm::default()
    };
    let proposal = LlmProposal {
        product: Some("Radiance Serum".to_owned()),
        brand: Some("Lumière".to_owned()),
        total_budget_major: Some(80_000.5),
        target_roi: Some(4.0),
        countries: vec!["gb".to_owned()],
        age_min: Some(5), // refused: the goal's 25–44 stands
        tone: Some("premium".to_owned()),
        channels: vec!["meta".to_owned(), "google".to_owned()],
        ..LlmProposal::default()
    };
    let p = plan_with_proposal(&with_form(SERUM, form), &proposal, "gpt-test", &inputs());
    let d = &p.draft;
    assert_eq!(d.ad_sets[0].targeting.countries, ["CA"]); // the form wins
    assert_eq!(d.target_roi, Some(4.0)); // the model wins over the text's 3x
    assert_eq!(
        d.total_budget,
        Some(Money::from_micros(80_000_500_000, Currency::USD))
    );
    assert_eq!(p.duration_days, 60); // only the text says
    assert_eq!(
        (
            d.ad_sets[0].targeting.age_min,
            d.ad_sets[0].targeting.age_max
        ),
        (Some(25), Some(44))
    );
    assert_eq!(p.brief.product, "Radiance Serum");
    assert_eq!(p.brief.tone, Tone::Premium);
    assert_eq!(d.brand_name, "Lumière");
    assert_eq!(
        d.ad_sets.iter().map(|a| a.channel).collect::<Vec<_>>(),
        [Channel::Meta, Channel::Google]
    );
    let model = AssumptionOrigin::Inferred {
        from: "language model gpt-test".to_owned(),
    };
    assert_eq!(origin(&p, "draft.target_roi"), &model);
    assert_eq!(origin(&p, "draft.total_budget"), &model);
    assert_eq!(origin(&p, "brief.tone"), &model);
    assert_eq!(
        origin(&p, "draft.ad_sets[*].targeting.countries"),
        &AssumptionOrigin::Given
    );
    assert!(
        p.guardrails
            .iter()
            .any(|g| g.field == "proposal.age_min" && g.action == GuardrailAction::Refused)
    );
    assert!(validate_campaign(d, &limits()).is_empty());
    check_assumption_paths(&p);

    // The same guardrails run on the model's values.
    let mut i = inputs();
    i.max_daily_budget = Some(usd(500));
    let proposal = LlmProposal {
        daily_budget_major: Some(2_000.0),
        key_message: Some("The #1 serum, clinically proven".to_owned()),
        ..LlmProposal::default()
    };
    let p = plan_with_proposal(&goal(SERUM), &proposal, "gpt-test", &i);
    assert_eq!(p.draft.daily_budget, usd(500));
    assert!(!p.brief.key_message.contains("#1"));
    assert!(!p.brief.key_message.contains("clinically proven"));
}

#[test]
fn proposals_are_checked_field_by_field() {
    let good = LlmProposal {
        product: Some("Radiance Serum".to_owned()),
        total_budget_major: Some(1_666.67),
        daily_budget_major: Some(55.5),
        duration_days: Some(30),
        target_roi: Some(3.0),
        countries: vec!["US".to_owned(), "gb".to_owned()],
        age_min: Some(25),
        age_max: Some(44),
        genders: vec!["female".to_owned()],
        industry: Some("ecommerce".to_owned()),
        kind: Some("shopping".to_owned()),
        tone: Some("friendly".to_owned()),
        channels: vec!["meta".to_owned(), "kiki".to_owned()],
        ..LlmProposal::default()
    };
    assert!(good.validate().is_empty(), "{:?}", good.validate());
    assert!(LlmProposal::default().validate().is_empty());

    let bad = LlmProposal {
        product: Some("  ".to_owned()),
        total_budget_major: Some(-5.0),
        daily_budget_major: Some(f64::NAN),
        duration_days: Some(0),
        target_roi: Some(500.0),
        countries: vec!["US".to_owned(), "USA".to_owned()],
        age_min: Some(10),
        age_max: Some(44),
        genders: vec!["women".to_owned()],
        industry: Some("retail".to_owned()),
        kind: Some("sales".to_owned()),
        tone: Some("loud".to_owned()),
        channels: vec!["myspace".to_owned()],
        ..LlmProposal::default()
    };
    let mut fields: Vec<String> = bad.validate().into_iter().map(|e| e.field).collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "age_min",
            "channels[0]",
            "countries[1]",
            "daily_budget_major",
            "duration_days",
            "genders[0]",
            "industry",
            "kind",
            "product",
            "target_roi",
            "tone",
            "total_budget_major",
        ]
    );
    let infinite = LlmProposal {
        total_budget_major: Some(f64::INFINITY),
        ..LlmProposal::default()
    };
    assert_eq!(infinite.validate().len(), 1);
    let reversed = LlmProposal {
        age_min: Some(50),
        age_max: Some(30),
        ..LlmProposal::default()
    };
    assert_eq!(reversed.validate()[0].field, "age_min");

    // Unknown fields are refused when the answer is read.
    let err = serde_json::from_str::<LlmProposal>(r#"{"product":"x","budget":5}"#);
    assert!(err.is_err());
    let ok: LlmProposal =
        serde_json::from_str(r#"{"product":"x","total_budget_major":100,"industry":null}"#)
            .unwrap();
    assert_eq!(ok.total_budget_major, Some(100.0));
}

#[test]
fn the_proposal_schema_names_every_field_and_no_other() {
    let schema = LlmProposal::json_schema();
    assert_eq!(schema["type"], "object");
    assert_eq!(schema["additionalProperties"], false);
    let props = schema["properties"].as_object().unwrap();
    let wire = serde_json::to_value(LlmProposal::default()).unwrap();
    let mut expected: Vec<&String> = wire.as_object().unwrap().keys().collect();
    let mut got: Vec<&String> = props.keys().collect();
    expected.sort();
    got.sort();
    assert_eq!(got, expected);
    let names = |v: &Value| -> Vec<Value> { v.as_array().unwrap().clone() };
    let industries = names(&props["industry"]["enum"]);
    assert!(industries.contains(&Value::from("ecommerce")));
    assert!(industries.contains(&Value::Null));
    assert_eq!(industries.len(), 9);
    let kinds = names(&props["kind"]["enum"]);
    assert!(kinds.contains(&Value::from("app_installs")));
    let channels = names(&props["channels"]["items"]["enum"]);
    assert!(channels.contains(&Value::from("meta")) && channels.contains(&Value::from("kiki")));
    assert_eq!(channels.len(), 8);
    assert_eq!(
        names(&props["genders"]["items"]["enum"]),
        [Value::from("female"), Value::from("male")]
    );
    let tones = names(&props["tone"]["enum"]);
    assert!(tones.contains(&Value::from("professional")));
    assert_eq!(props["duration_days"]["maximum"], 366);
    assert_eq!(props["age_min"]["minimum"], 13);
    // Every enum value the schema offers is one the checks accept.
    for t in tones.iter().filter(|t| !t.is_null()) {
        let p = LlmProposal {
            tone: Some(t.as_str().unwrap().to_owned()),
            ..LlmProposal::default()
        };
        assert!(p.validate().is_empty(), "{t}");
    }
    for k in kinds.iter().filter(|k| !k.is_null()) {
        let p = LlmProposal {
            kind: Some(k.as_str().unwrap().to_owned()),
            ..LlmProposal::default()
        };
        assert!(p.validate().is_empty(), "{k}");
    }
}

#[test]
fn forms_and_requests_refuse_unknown_fields() {
    assert!(serde_json::from_str::<GoalForm>(r#"{"produkt":"x"}"#).is_err());
    let form: GoalForm = serde_json::from_str(
        r#"{"product":"serum","total_budget":{"micros":5000000,"currency":"USD"},"genders":["female"],"industry":"health","kind":"leads","tone":"urgent","channels":["tiktok"]}"#,
    )
    .unwrap();
    assert_eq!(form.genders, [Gender::Female]);
    assert_eq!(form.channels, [Channel::Tiktok]);
    assert!(serde_json::from_str::<PlanRequest>(r#"{"goal":"x","extra":1}"#).is_err());
}

#[test]
fn the_same_request_gives_the_same_plan() {
    let a = plan(&goal(SERUM), &inputs());
    let b = plan(&goal(SERUM), &inputs());
    assert_eq!(a, b);
    let json = serde_json::to_value(&a).unwrap();
    assert_eq!(json["assumptions"][0]["origin"]["kind"], "inferred");
    let back: CampaignPlan = serde_json::from_value(json).unwrap();
    assert_eq!(back, a);
}

fn channel(i: u8) -> Channel {
    Channel::ALL[usize::from(i) % Channel::ALL.len()]
}

proptest! {
    #[test]
    fn shares_sum_to_the_whole_budget_for_any_mix(
        mix in proptest::collection::vec((0u8..8, 0u32..=20_000), 0..12),
        chosen in proptest::collection::vec(0u8..8, 0..4),
    ) {
        let mut i = inputs();
        i.channel_mix = Some(
            mix.iter()
                .map(|&(c, s)| ChannelShare { channel: channel(c), share_bps: s, source: "test".to_owned() })
                .collect(),
        );
        let form = GoalForm {
            landing_url: Some("https://brand.example/".to_owned()),
            brand: Some("Brand".to_owned()),
            channels: chosen.iter().map(|&c| channel(c)).collect(),
            ..GoalForm::default()
        };
        let p = plan(&with_form(SERUM, form), &i);
        let shares: Vec<u32> = p.draft.ad_sets.iter().map(|a| a.budget_share_bps).collect();
        prop_assert!(!shares.is_empty());
        prop_assert_eq!(shares.iter().sum::<u32>(), 10_000);
        prop_assert!(shares.iter().all(|&s| s >= 1));
        let mut channels: Vec<Channel> = p.draft.ad_sets.iter().map(|a| a.channel).collect();
        prop_assert_eq!(
            &channels,
            &p.channel_mix.iter().map(|s| s.channel).collect::<Vec<_>>()
        );
        channels.sort();
        channels.dedup();
        prop_assert_eq!(channels.len(), shares.len());
        prop_assert!(validate_campaign(&p.draft, &limits()).is_empty());
    }

    #[test]
    fn any_goal_text_plans_with_unique_assumptions(text in "\\PC{0,120}") {
        let p = plan(&goal(&text), &inputs());
        let mut fields: Vec<&str> = p.assumptions.iter().map(|a| a.field.as_str()).collect();
        let n = fields.len();
        fields.sort_unstable();
        fields.dedup();
        prop_assert_eq!(fields.len(), n);
        prop_assert_eq!(p.draft.ad_sets.iter().map(|a| a.budget_share_bps).sum::<u32>(), 10_000);
    }
}
