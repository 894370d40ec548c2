//! Goals in words, read into values that each say where they came from.

use kiki_core::{Currency, Money};
use kiki_planner::goal::Origin;
use kiki_planner::industry::Restricted;
use kiki_planner::{CampaignType, Gender, Industry, read_goal};

fn usd(major: i64) -> Money {
    Money::from_major(major, Currency::USD).unwrap()
}

fn text_of(o: &Origin) -> &str {
    match o {
        Origin::Extracted { text, .. } => text,
        Origin::Inferred { from } => from,
    }
}

#[test]
fn the_serum_launch_reads_budget_duration_roi_audience_product_and_industry() {
    let text = "Launch our new serum with $100k over 60 days, target ROI 3x, US women 25-44";
    let g = read_goal(text, Currency::EUR);
    let budget = g.total_budget.unwrap();
    assert_eq!(budget.value, usd(100_000));
    assert_eq!(text_of(&budget.origin), "$100k");
    let d = g.duration_days.unwrap();
    assert_eq!((d.value, text_of(&d.origin)), (60, "60 days"));
    let roi = g.target_roi.unwrap();
    assert_eq!(roi.value, 3.0);
    assert_eq!(text_of(&roi.origin), "3x");
    let ages = g.age_range.unwrap();
    assert_eq!((ages.value, text_of(&ages.origin)), ((25, 44), "25-44"));
    assert_eq!(
        g.genders.iter().map(|r| r.value).collect::<Vec<_>>(),
        [Gender::Female]
    );
    assert_eq!(
        g.countries
            .iter()
            .map(|r| r.value.as_str())
            .collect::<Vec<_>>(),
        ["US"]
    );
    assert_eq!(g.product.unwrap().value, "serum");
    assert_eq!(g.industry.unwrap().value, Industry::Ecommerce);
    assert_eq!(g.campaign_type.value, CampaignType::Sales);
    assert!(g.daily_budget.is_none());
    assert!(g.restricted.is_empty());
    // Every extracted span is the text at its offsets.
    if let Origin::Extracted {
        text: t,
        start,
        end,
    } = &budget.origin
    {
        assert_eq!(&text[*start..*end], t);
    }
}

#[test]
fn amounts_currencies_durations_and_returns_in_other_words() {
    let g = read_goal(
        "Promote the spring collection, €50,000 for 8 weeks, ROAS of 400%",
        Currency::USD,
    );
    assert_eq!(
        g.total_budget.unwrap().value,
        Money::from_major(50_000, Currency::EUR).unwrap()
    );
    assert_eq!(g.duration_days.unwrap().value, 56);
    assert_eq!(g.target_roi.unwrap().value, 4.0);
    assert_eq!(g.product.unwrap().value, "spring collection");

    let g = read_goal(
        "Spend 2.5m GBP across three months in the UK and Ireland",
        Currency::USD,
    );
    assert_eq!(
        g.total_budget.unwrap().value,
        Money::from_major(2_500_000, Currency::GBP).unwrap()
    );
    assert_eq!(g.duration_days.unwrap().value, 90);
    let c: Vec<&str> = g.countries.iter().map(|r| r.value.as_str()).collect();
    assert_eq!(c, ["GB", "IE"]);

    let g = read_goal(
        "$500 a day on Meta for our candles, 4x return",
        Currency::USD,
    );
    let daily = g.daily_budget.unwrap();
    assert_eq!(
        (daily.value, text_of(&daily.origin)),
        (usd(500), "$500 a day")
    );
    assert!(g.total_budget.is_none());
    assert_eq!(g.target_roi.unwrap().value, 4.0);

    // A bare amount in budget words is in the organisation's currency.
    let g = read_goal("Budget 20000, a 30-day test", Currency::EUR);
    assert_eq!(
        g.total_budget.unwrap().value,
        Money::from_major(20_000, Currency::EUR).unwrap()
    );
    assert_eq!(g.duration_days.unwrap().value, 30);
}

#[test]
fn audiences_campaign_types_and_restricted_categories() {
    let g = read_goal(
        "Get demo sign-ups from B2B buyers in Germany and France aged 30 to 55",
        Currency::EUR,
    );
    assert_eq!(g.campaign_type.value, CampaignType::Leads);
    assert_eq!(g.age_range.unwrap().value, (30, 55));
    let c: Vec<&str> = g.countries.iter().map(|r| r.value.as_str()).collect();
    assert_eq!(c, ["DE", "FR"]);
    assert_eq!(g.industry.unwrap().value, Industry::Saas);

    let g = read_goal(
        "Drive installs of our puzzle game on iOS, men and women 18+",
        Currency::USD,
    );
    assert_eq!(g.campaign_type.value, CampaignType::AppInstalls);
    assert_eq!(g.age_range.unwrap().value, (18, 65));
    assert_eq!(g.genders.len(), 2);
    assert_eq!(g.industry.unwrap().value, Industry::MobileApps);

    let g = read_goal(
        "Launch our craft beer and online casino nights",
        Currency::USD,
    );
    let r: Vec<Restricted> = g.restricted.iter().map(|r| r.value).collect();
    assert_eq!(r, [Restricted::Gambling, Restricted::Alcohol]);

    // "us" the pronoun is not the United States; a ten-day window is not an age.
    let g = read_goal("Help us sell more coffee in 10 days", Currency::USD);
    assert!(g.countries.is_empty());
    assert!(g.age_range.is_none());
    assert_eq!(g.duration_days.unwrap().value, 10);
}

#[test]
fn a_goal_with_nothing_to_read_is_empty_not_made_up() {
    let g = read_goal("Make it great", Currency::USD);
    assert!(g.total_budget.is_none() && g.daily_budget.is_none());
    assert!(g.duration_days.is_none() && g.target_roi.is_none() && g.age_range.is_none());
    assert!(g.genders.is_empty() && g.countries.is_empty() && g.product.is_none());
    assert!(g.industry.is_none());
    assert_eq!(g.campaign_type.value, CampaignType::Sales);
    assert!(matches!(g.campaign_type.origin, Origin::Inferred { .. }));
}
