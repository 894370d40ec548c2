//! A campaign's fields are checked all at once, each problem naming its path.

use kiki_campaigns::model::{
    AdSet, AssetSource, BidStrategy, CampaignDraft, CampaignKind, Schedule, Targeting,
};
use kiki_campaigns::{OrgLimits, validate_campaign};
use kiki_core::{Currency, Money};
use kiki_creative::Channel;
use time::macros::date;

fn usd(major: i64) -> Money {
    Money::from_major(major, Currency::USD).unwrap()
}

fn serum() -> CampaignDraft {
    CampaignDraft {
        name: "Serum launch".into(),
        objective: "Sell the new serum to US women 25-44 at 3x ROI.".into(),
        kind: CampaignKind::Shopping,
        landing_url: "https://shop.example/serum".into(),
        brand_name: "Lumen".into(),
        industry: "ecommerce".into(),
        currency: Currency::USD,
        daily_budget: usd(1_000),
        total_budget: Some(usd(60_000)),
        schedule: Schedule {
            start: date!(2026 - 12 - 10),
            end: Some(date!(2027 - 02 - 07)),
            time_zone: "America/New_York".into(),
        },
        target_roi: Some(3.0),
        max_cpa: Some(usd(40)),
        asset_source: AssetSource::Generated,
        ad_sets: vec![
            AdSet {
                name: "Meta, US women".into(),
                channel: Channel::Meta,
                targeting: Targeting {
                    countries: vec!["US".into()],
                    age_min: Some(25),
                    age_max: Some(44),
                    genders: vec!["female".into()],
                    ..Targeting::default()
                },
                budget_share_bps: 6_000,
                bid_strategy: BidStrategy::LowestCost,
                bid_cap: None,
            },
            AdSet {
                name: "Google search".into(),
                channel: Channel::Google,
                targeting: Targeting::default(),
                budget_share_bps: 4_000,
                bid_strategy: BidStrategy::CostCap,
                bid_cap: Some(usd(35)),
            },
        ],
    }
}

fn limits() -> OrgLimits {
    OrgLimits {
        max_daily_budget: Some(usd(5_000)),
        today: date!(2026 - 12 - 06),
    }
}

#[test]
fn a_sound_campaign_passes() {
    assert_eq!(validate_campaign(&serum(), &limits()), []);
}

#[test]
fn every_problem_is_named_by_its_path() {
    let mut c = serum();
    c.name = " ".into();
    c.landing_url = "shop.example/serum".into();
    c.industry = "retail".into();
    c.daily_budget = usd(9_000);
    c.total_budget = Some(Money::from_major(100, Currency::EUR).unwrap());
    c.schedule.start = date!(2026 - 12 - 01);
    c.schedule.end = Some(date!(2026 - 11 - 30));
    c.schedule.time_zone = "EST5".into();
    c.target_roi = Some(f64::NAN);
    c.ad_sets[0].budget_share_bps = 5_000;
    c.ad_sets[0].targeting.countries.push("usa".into());
    c.ad_sets[0].targeting.age_min = Some(50);
    c.ad_sets[1].bid_cap = None;
    c.ad_sets[1].targeting.genders.push("other".into());
    let fields: Vec<String> = validate_campaign(&c, &limits())
        .into_iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(
        fields,
        [
            "name",
            "landing_url",
            "industry",
            "daily_budget",
            "total_budget.currency",
            "target_roi",
            "schedule.start",
            "schedule.end",
            "schedule.time_zone",
            "ad_sets[0].targeting.countries[1]",
            "ad_sets[0].targeting.age_min",
            "ad_sets[1].bid_cap",
            "ad_sets[1].targeting.genders[0]",
            "ad_sets",
        ]
    );
}

#[test]
fn the_draft_reads_from_json_and_refuses_unknown_fields() {
    let json = serde_json::to_value(serum()).unwrap();
    let back: CampaignDraft = serde_json::from_value(json.clone()).unwrap();
    assert_eq!(back, serum());
    let mut extra = json;
    extra["budget"] = serde_json::json!(1);
    assert!(serde_json::from_value::<CampaignDraft>(extra).is_err());
}
