//! The contract: launching a campaign with two ad sets and three ads sends
//! exactly these requests, in this order, with these fields and headers.

use kiki_platforms::{
    AdPlatform, AdSetSpec, AdSpec, BidStrategy, CampaignSpec, CreativeSpec, DeliveryStatus,
    ObjectKind, Objective, Targeting,
};
use time::macros::date;

use crate::support::*;

fn creative(id: &str, theme: &str) -> CreativeSpec {
    CreativeSpec {
        kiki_id: id.into(),
        name: format!("{theme} copy"),
        headlines: vec![
            format!("{theme} Shoes Sale"),
            "Free Delivery Over 50 EUR".into(),
            "Order Today".into(),
        ],
        descriptions: vec![
            "Light, fast and made to last. Find your next pair today.".into(),
            "Returns within 30 days, no questions asked.".into(),
        ],
        primary_text: None,
        call_to_action: None,
        link_url: format!("https://shoes.example/{id}"),
        approved: true,
    }
}

fn ad_set(
    name: &str,
    budget: i64,
    bid: BidStrategy,
    countries: &[&str],
    keywords: &[&str],
) -> AdSetSpec {
    AdSetSpec {
        name: name.into(),
        status: DeliveryStatus::Active,
        daily_budget_micros: budget,
        bid,
        targeting: Targeting {
            countries: countries.iter().map(|c| c.to_string()).collect(),
            age_min: None,
            age_max: None,
            interests: keywords.iter().map(|k| k.to_string()).collect(),
        },
        audience_size: None,
        start: None,
        end: None,
    }
}

#[tokio::test]
async fn launch_a_campaign_with_two_ad_sets_and_three_ads() {
    let server = MockServer::start().await;
    fake_google(&server).await;
    let (google, _clock) = connector(&server, config(&server), 1);
    let acct = account();

    let info = google.verify(&acct).await.unwrap();
    assert_eq!(
        (
            info.name.as_str(),
            info.currency.as_str(),
            info.time_zone.as_str()
        ),
        ("Acme Shoes", "EUR", "Europe/Berlin")
    );

    let campaign = google
        .create_campaign(
            &acct,
            &CampaignSpec {
                name: "Spring running".into(),
                objective: Objective::Sales,
                status: DeliveryStatus::Paused,
                daily_budget_micros: None,
                start: Some(date!(2025 - 03 - 12)),
                end: Some(date!(2025 - 04 - 30)),
            },
        )
        .await
        .unwrap();
    let mut road = ad_set(
        "Road",
        40_000_000,
        BidStrategy::HighestValue,
        &["US", "GB"],
        &["running shoes", "road running shoes"],
    );
    road.targeting.age_min = Some(25);
    road.targeting.age_max = Some(44);
    let road = google.create_ad_set(&acct, &campaign, &road).await.unwrap();
    let trail = google
        .create_ad_set(
            &acct,
            &campaign,
            &ad_set(
                "Trail",
                25_000_000,
                BidStrategy::CostCap { micros: 12_500_000 },
                &["US"],
                &["trail shoes"],
            ),
        )
        .await
        .unwrap();

    let mut keys = Vec::new();
    for (id, theme) in [("c1", "Road"), ("c2", "Marathon"), ("c3", "Trail")] {
        keys.push(
            google
                .upload_creative(&acct, &creative(id, theme))
                .await
                .unwrap(),
        );
    }
    assert_eq!(keys, ["rsa:c1", "rsa:c2", "rsa:c3"]);
    let mut ads = Vec::new();
    for (group, key) in [(&road, &keys[0]), (&road, &keys[1]), (&trail, &keys[2])] {
        let spec = AdSpec {
            name: format!("ad {key}"),
            status: DeliveryStatus::Active,
            creative_external_id: key.clone(),
        };
        ads.push(google.create_ad(&acct, group, &spec).await.unwrap());
    }
    // Budget 100, campaign 101, Road 102 (its six criteria 103–108, two
    // locations 109–110), Trail 111 (its keyword 112), the ads 113–115.
    assert_eq!(campaign, "101");
    assert_eq!((road.as_str(), trail.as_str()), ("102", "111"));
    assert_eq!(ads, ["102~113", "102~114", "111~115"]);

    let requests = server.received_requests().await.unwrap();
    for r in &requests {
        assert_eq!(
            r.headers.get("authorization").unwrap(),
            &format!("Bearer {TOKEN}")
        );
        assert_eq!(r.headers.get("developer-token").unwrap(), DEV_TOKEN);
        assert_eq!(r.headers.get("login-customer-id").unwrap(), MANAGER);
    }
    let got: Vec<String> = requests.iter().map(summary).collect();
    let want: Vec<&str> = vec![
        "POST /v23/customers/1234567890/googleAds:search SELECT customer.descriptive_name, customer.currency_code, customer.time_zone FROM customer",
        "POST /v23/customers/1234567890/campaignBudgets:mutate pf=true [create {amountMicros=0, deliveryMethod=STANDARD, explicitlyShared=false, name=Spring running — KIKI budget 1741597200000000000}]",
        "POST /v23/customers/1234567890/campaigns:mutate pf=true [create {advertisingChannelType=SEARCH, campaignBudget=customers/1234567890/campaignBudgets/100, containsEuPoliticalAdvertising=DOES_NOT_CONTAIN_EU_POLITICAL_ADVERTISING, endDateTime=2025-04-30 23:59:59, maximizeConversionValue={}, name=Spring running, networkSettings.targetContentNetwork=false, networkSettings.targetGoogleSearch=true, networkSettings.targetPartnerSearchNetwork=false, networkSettings.targetSearchNetwork=true, startDateTime=2025-03-12 00:00:00, status=PAUSED}]",
        "POST /v23/customers/1234567890/adGroups:mutate pf=true [create {campaign=customers/1234567890/campaigns/101, name=Road, status=ENABLED, type=SEARCH_STANDARD}]",
        "POST /v23/customers/1234567890/adGroupCriteria:mutate pf=true [create {adGroup=customers/1234567890/adGroups/102, keyword.matchType=BROAD, keyword.text=running shoes, status=ENABLED}; create {adGroup=customers/1234567890/adGroups/102, keyword.matchType=BROAD, keyword.text=road running shoes, status=ENABLED}; create {adGroup=customers/1234567890/adGroups/102, ageRange.type=AGE_RANGE_18_24, negative=true}; create {adGroup=customers/1234567890/adGroups/102, ageRange.type=AGE_RANGE_45_54, negative=true}; create {adGroup=customers/1234567890/adGroups/102, ageRange.type=AGE_RANGE_55_64, negative=true}; create {adGroup=customers/1234567890/adGroups/102, ageRange.type=AGE_RANGE_65_UP, negative=true}]",
        "POST /v23/customers/1234567890/googleAds:search SELECT campaign_criterion.location.geo_target_constant FROM campaign_criterion WHERE campaign.id = 101 AND campaign_criterion.type = LOCATION AND campaign_criterion.negative = FALSE",
        "POST /v23/customers/1234567890/campaignCriteria:mutate pf=true [create {campaign=customers/1234567890/campaigns/101, location.geoTargetConstant=geoTargetConstants/2840}; create {campaign=customers/1234567890/campaigns/101, location.geoTargetConstant=geoTargetConstants/2826}]",
        "POST /v23/customers/1234567890/campaignBudgets:mutate pf=true [update {amountMicros=40000000, resourceName=customers/1234567890/campaignBudgets/100} mask=amountMicros]",
        "POST /v23/customers/1234567890/adGroups:mutate pf=true [create {campaign=customers/1234567890/campaigns/101, name=Trail, status=ENABLED, targetCpaMicros=12500000, type=SEARCH_STANDARD}]",
        "POST /v23/customers/1234567890/campaigns:mutate pf=true [update {maximizeConversions.targetCpaMicros=12500000, resourceName=customers/1234567890/campaigns/101} mask=maximizeConversions.targetCpaMicros]",
        "POST /v23/customers/1234567890/adGroupCriteria:mutate pf=true [create {adGroup=customers/1234567890/adGroups/111, keyword.matchType=BROAD, keyword.text=trail shoes, status=ENABLED}]",
        "POST /v23/customers/1234567890/googleAds:search SELECT campaign_criterion.location.geo_target_constant FROM campaign_criterion WHERE campaign.id = 101 AND campaign_criterion.type = LOCATION AND campaign_criterion.negative = FALSE",
        "POST /v23/customers/1234567890/campaignBudgets:mutate pf=true [update {amountMicros=65000000, resourceName=customers/1234567890/campaignBudgets/100} mask=amountMicros]",
        "POST /v23/customers/1234567890/adGroupAds:mutate pf=true [create {ad.finalUrls=[https://shoes.example/c1], ad.responsiveSearchAd.descriptions=[Light, fast and made to last. Find your next pair today.|Returns within 30 days, no questions asked.], ad.responsiveSearchAd.headlines=[Road Shoes Sale|Free Delivery Over 50 EUR|Order Today], adGroup=customers/1234567890/adGroups/102, status=ENABLED}]",
        "POST /v23/customers/1234567890/adGroupAds:mutate pf=true [create {ad.finalUrls=[https://shoes.example/c2], ad.responsiveSearchAd.descriptions=[Light, fast and made to last. Find your next pair today.|Returns within 30 days, no questions asked.], ad.responsiveSearchAd.headlines=[Marathon Shoes Sale|Free Delivery Over 50 EUR|Order Today], adGroup=customers/1234567890/adGroups/102, status=ENABLED}]",
        "POST /v23/customers/1234567890/adGroupAds:mutate pf=true [create {ad.finalUrls=[https://shoes.example/c3], ad.responsiveSearchAd.descriptions=[Light, fast and made to last. Find your next pair today.|Returns within 30 days, no questions asked.], ad.responsiveSearchAd.headlines=[Trail Shoes Sale|Free Delivery Over 50 EUR|Order Today], adGroup=customers/1234567890/adGroups/111, status=ENABLED}]",
    ];
    assert_eq!(got, want, "\n{}", got.join("\n"));

    // Afterwards: Road's budget from 40 to 30 moves the campaign's (the sum)
    // from 65 to 55; its keywords change by one; an ad pauses; Trail goes.
    let before = requests.len();
    let mut road_now = ad_set(
        "Road",
        30_000_000,
        BidStrategy::HighestValue,
        &["US", "GB"],
        &["running shoes", "race day shoes"],
    );
    road_now.targeting.age_min = Some(25);
    road_now.targeting.age_max = Some(44);
    google.update_ad_set(&acct, &road, &road_now).await.unwrap();
    google
        .set_status(&acct, ObjectKind::Ad, &ads[1], DeliveryStatus::Paused)
        .await
        .unwrap();
    google
        .set_status(&acct, ObjectKind::AdSet, &trail, DeliveryStatus::Archived)
        .await
        .unwrap();
    let requests = server.received_requests().await.unwrap();
    let got: Vec<String> = requests[before..].iter().map(summary).collect();
    let want: Vec<&str> = vec![
        "POST /v23/customers/1234567890/adGroups:mutate pf=true [update {name=Road, resourceName=customers/1234567890/adGroups/102, status=ENABLED} mask=name,status,targetCpaMicros,targetRoas]",
        "POST /v23/customers/1234567890/googleAds:search SELECT ad_group_criterion.resource_name, ad_group_criterion.keyword.text FROM ad_group_criterion WHERE ad_group.id = 102 AND ad_group_criterion.type = KEYWORD AND ad_group_criterion.status != REMOVED AND ad_group_criterion.negative = FALSE",
        "POST /v23/customers/1234567890/adGroupCriteria:mutate pf=true [create {adGroup=customers/1234567890/adGroups/102, keyword.matchType=BROAD, keyword.text=race day shoes, status=ENABLED}; remove customers/1234567890/adGroupCriteria/102~104]",
        "POST /v23/customers/1234567890/googleAds:search SELECT campaign_criterion.location.geo_target_constant FROM campaign_criterion WHERE campaign.id = 101 AND campaign_criterion.type = LOCATION AND campaign_criterion.negative = FALSE",
        "POST /v23/customers/1234567890/campaignBudgets:mutate pf=true [update {amountMicros=55000000, resourceName=customers/1234567890/campaignBudgets/100} mask=amountMicros]",
        "POST /v23/customers/1234567890/adGroupAds:mutate pf=true [update {resourceName=customers/1234567890/adGroupAds/102~114, status=PAUSED} mask=status]",
        "POST /v23/customers/1234567890/adGroups:mutate pf=true [remove customers/1234567890/adGroups/111]",
    ];
    assert_eq!(got, want, "\n{}", got.join("\n"));
}
