//! The campaign page's "Variants" section: two creatives of a live
//! campaign side by side (labelled from the campaigns' creatives), with
//! counts, CTR and CVR with their 95 % Wilson intervals and the interval
//! bars; the comparison's sentence; the empty state of a campaign without
//! figures.
//!
//! Fixture on Google (ad set "Search"): creative A ("Glow daily") on 27
//! Feb: $30 spend, $90 revenue, 1.5 conversions, 2,000 impressions, 40
//! clicks; creative B ("Made in Lyon") on 27 Feb: $20, $100, 2, 1,000, 30,
//! and on 1 Mar (no click): $5, $0, 0, 1,000, 0.

use kiki_analytics_service::domain::Level;
use kiki_test_support::identity::{Caller, admin, json};
use serde_json::{Value, json};

use crate::campaigns::{campaign, create, id_of, live};
use crate::security::assert_no_inline_code;
use crate::*;

async fn creative(c: &Caller<'_>, campaign: Uuid, headline: &str) -> Uuid {
    let (status, cr) = json(
        c.post(
            "/v1/creatives",
            &json!({"campaign_id": campaign, "channel": "google", "copy": {
                "headlines": [headline, "Lumière serum", "Made for you"],
                "descriptions": ["Light, daily, made in Lyon.", "Reordered by our customers."],
                "paths": []}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{cr}");
    Uuid::parse_str(cr["id"].as_str().unwrap()).unwrap()
}

async fn feed(svc: &AnalyticsService, org: Uuid, v: &Value, a: Uuid, b: Uuid) {
    let id = v["id"].as_str().unwrap().to_owned();
    let set = v["ad_sets"][0]["id"].as_str().unwrap().to_owned();
    let ad = |ext: &str,
              creative: Uuid,
              day: Date,
              spend: i64,
              revenue: i64,
              conv: i64,
              imp: i64,
              clicks: i64| DailyRow {
        level: Level::Ad,
        platform: "google".into(),
        external_id: ext.into(),
        day,
        campaign_id: Some(id.clone()),
        ad_set_id: Some(set.clone()),
        // KIKI's id of the ad it places for a creative in an ad set.
        ad_id: Some(format!("{set}:{creative}")),
        spend: usd(spend),
        revenue: usd(revenue),
        conversions_micros: conv,
        impressions: imp,
        clicks,
    };
    let (d1, d3) = (date!(2026 - 02 - 27), date!(2026 - 03 - 01));
    let rows = vec![
        ad("g-a", a, d1, 30, 90, 1_500_000, 2_000, 40),
        ad("g-b", b, d1, 20, 100, 2_000_000, 1_000, 30),
        ad("g-b", b, d3, 5, 0, 0, 1_000, 0),
    ];
    let period = kiki_analytics::Period::new(date!(2026 - 02 - 20), date!(2026 - 03 - 01)).unwrap();
    svc.record_daily(&TenantScope::single(OrgId(org)), "google", period, &rows)
        .await
        .expect("the rows are recorded");
}

#[tokio::test]
async fn the_campaign_page_compares_its_variants_with_intervals() {
    let (app, svc, _) = spawn().await;
    let boss = admin(&app, "variants@shop.example", "Variant Shop").await;
    let c = boss.caller(&app);
    let v = live(&c, "Spring variants").await;
    let id = id_of(&v);
    let a = creative(&c, id, "Glow daily").await;
    let b = creative(&c, id, "Made in Lyon").await;
    feed(&svc, boss.org_id, &v, a, b).await;

    let mut br = Browser::new(&app);
    br.sign_in(&boss.email).await;
    let page = br.get(&format!("/app/campaigns/{id}?{RANGE}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_no_inline_code("/app/campaigns/{id} variants", &page.body);
    let start = page.body.find("id=\"variants\"").expect("the section");
    let section = &page.body[start..];
    let section = &section[..section.find("</section>").unwrap()];
    let t = text(section);
    // A first (CTR 40 / 2,000 = 2.00 %), then B (30 / 2,000 = 1.50 %); the
    // 95 % Wilson intervals hand-computed: A 1.4722 %–2.7119 %, B 1.0527
    // %–2.1332 %; CVR A 1.5 / 40 (1 counted): 0.4427 %–12.8814 %, B 2 / 30:
    // 1.8477 %–21.3235 %.
    assert!(
        t.contains(
            "Own creative: “Glow daily” highest CTR google 2,000 40 1.50 $30.00 $90.00 2.00 % 1.47 %–2.71 %"
        ),
        "{t}"
    );
    assert!(t.contains("40 of 2,000 impressions"), "{t}");
    assert!(t.contains("3.75 % 0.44 %–12.88 %"), "{t}");
    assert!(t.contains("1 of 40 clicks (whole conversions)"), "{t}");
    assert!(t.contains("$20.00 3.00×"), "{t}");
    assert!(
        t.contains(
            "Own creative: “Made in Lyon” google 2,000 30 2 $25.00 $100.00 1.50 % 1.05 %–2.13 %"
        ),
        "{t}"
    );
    assert!(t.contains("6.67 % 1.85 %–21.32 %"), "{t}");
    assert!(t.contains("$12.50 4.00×"), "{t}");
    assert!(
        section.find("Glow daily") < section.find("Made in Lyon"),
        "the highest CTR first"
    );
    // The sentence: observations only.
    assert!(
        t.contains("has the highest observed CTR (2.00 %), but its 95 % interval overlaps that of Own creative: “Made in Lyon”: not yet distinguishable."),
        "{t}"
    );
    assert!(t.contains("not a significance test"));
    // One interval bar per rate with an interval.
    assert_eq!(section.matches("<svg class=\"interval\"").count(), 4);
    assert!(section.contains(
        "aria-label=\"Click-through rate: observed 2.00 %, 95 % interval 1.47 % to 2.71 %\""
    ));

    // A campaign without figures says so.
    let draft = create(&c, &campaign("No figures", "Later", "google", 50)).await;
    let page = br
        .get(&format!("/app/campaigns/{}?{RANGE}", id_of(&draft)))
        .await;
    assert_eq!(page.status, 200);
    assert!(
        text(&page.body)
            .contains("Variants No ad of this campaign shows a known creative in this period."),
        "{}",
        page.body
    );
}
