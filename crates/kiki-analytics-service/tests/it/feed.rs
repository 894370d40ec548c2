//! The real feed: a Google sandbox connection with one deployed ad set is
//! synced; the sync's `platforms.metrics_synced` event queues
//! `analytics.ingest`, which reads the synced days through the platforms
//! service and rolls them up. The analytics answers then equal the
//! platforms' own daily metrics summed, and a second sync of the same days
//! changes nothing.

use std::sync::Arc;

use kiki_analytics_service::AnalyticsModule;
use kiki_ltv_service::LtvModule;
use kiki_platforms::{
    AdSetSpec, BidStrategy, CampaignSpec, CreativeSpec, DeliveryStatus, Objective, Targeting,
};
use kiki_platforms_service::{AdSetDeployment, PlatformsModule, PlatformsService};
use kiki_test_support::identity::{PASSWORD, identity_app, sign_in};
use kiki_twin::Platform;
use kiki_twin_service::TwinModule;
use serde_json::{Value, json};
use time::macros::datetime;

use crate::*;

async fn spawn_with_platforms(clock: TestClock) -> TestApp {
    identity_app()
        .clock(Arc::new(clock))
        .module(Arc::new(LtvModule::new()))
        .module(Arc::new(TwinModule::new()))
        .module(Arc::new(
            PlatformsModule::new().with_twin_module().with_ltv_module(),
        ))
        .module(Arc::new(AnalyticsModule::new().with_platforms_module()))
        .spawn()
        .await
}

async fn deploy(app: &TestApp, org: Uuid) -> (Uuid, Uuid) {
    let scope = TenantScope::single(OrgId(org));
    let (campaign_id, ad_set_id) = (Uuid::now_v7(), Uuid::now_v7());
    let d = AdSetDeployment {
        campaign_id,
        campaign: CampaignSpec {
            name: "Winter serum".into(),
            objective: Objective::Sales,
            status: DeliveryStatus::Active,
            daily_budget_micros: None,
            start: Some(date!(2026 - 12 - 01)),
            end: None,
        },
        ad_set_id,
        ad_set: AdSetSpec {
            name: "Search".into(),
            status: DeliveryStatus::Active,
            daily_budget_micros: 100_000_000,
            bid: BidStrategy::HighestValue,
            targeting: Targeting {
                countries: vec!["US".into()],
                ..Targeting::default()
            },
            audience_size: None,
            start: Some(date!(2026 - 12 - 01)),
            end: None,
        },
        creatives: vec![CreativeSpec {
            kiki_id: Uuid::now_v7().to_string(),
            name: "Serum".into(),
            headlines: vec!["Light daily serum".into(), "Free returns".into()],
            descriptions: vec!["A light serum for winter.".into()],
            primary_text: None,
            call_to_action: Some("Shop now".into()),
            link_url: "https://shop.example.com/serum".into(),
            approved: true,
        }],
    };
    app.state
        .services
        .get::<PlatformsService>()
        .expect("the platforms module")
        .deploy_ad_set(&scope, Platform::Google, &d)
        .await
        .expect("the ad set deploys");
    (campaign_id, ad_set_id)
}

/// Polls until `f` holds (the ingest runs as a job), for at most ~10 s.
async fn eventually(c: &Caller<'_>, path: &str, f: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..200 {
        let (status, v) = get(c, path).await;
        if status == 200 && f(&v) {
            return v;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{path} never matched");
}

#[tokio::test]
async fn a_platform_sync_feeds_the_roll_ups_through_its_event() {
    let clock = TestClock::at(datetime!(2026-12-01 06:00 UTC));
    let app = spawn_with_platforms(clock.clone()).await;
    let boss = owner(&app, "feed").await;
    let c = boss.caller(&app);
    let (status, conn) = json(
        c.post(
            "/v1/platforms/connections",
            &json!({"platform": "google", "mode": "sandbox", "industry": "general"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{conn}");
    let (campaign, ad_set) = deploy(&app, boss.org_id).await;
    clock.advance(time::Duration::days(6));
    // Six days on, the first access token has expired.
    let c = Caller::new(
        &app,
        sign_in(&app, &boss.email, PASSWORD).await.access_token,
    );
    let (status, run) = json(
        c.post("/v1/platforms/connections/google/sync", &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["status"], "succeeded", "{run}");

    // What the platforms service stored for the ad set, summed by hand.
    let range = "since=2026-11-01&until=2026-12-07";
    let (_, metrics) = get(&c, &format!("/v1/platforms/metrics?level=ad_set&{range}")).await;
    let rows = metrics.as_array().expect("metric rows");
    assert!(
        rows.len() >= 5,
        "the sandbox delivered on several days: {metrics}"
    );
    let spend: i64 = rows.iter().map(|r| micros(&r["spend"])).sum();
    let revenue: i64 = rows.iter().map(|r| micros(&r["conversion_value"])).sum();
    let clicks: i64 = rows.iter().map(|r| r["clicks"].as_i64().unwrap()).sum();
    assert!(spend > 0);

    let drill = format!("/v1/analytics/drilldown?{range}&campaign_id={campaign}");
    // An earlier sync's ingest (the connection's first) may land first:
    // wait for the one of this sync.
    let d = eventually(&c, &drill, |v| {
        v["children"][0]["spend"]["micros"].as_i64() == Some(spend)
    })
    .await;
    let child = &d["children"][0];
    assert_eq!(child["ad_set_id"], ad_set.to_string(), "{d}");
    assert_eq!(micros(&child["spend"]), spend);
    assert_eq!(micros(&child["revenue"]), revenue);
    assert_eq!(child["clicks"], clicks);
    assert_eq!(d["daily"].as_array().unwrap().len(), rows.len());
    let (_, b) = get(&c, &format!("/v1/analytics/breakdown?{range}")).await;
    assert_eq!(b["rows"][0]["platform"], "google");
    assert_eq!(
        micros(&b["rows"][0]["spend"]),
        spend,
        "the campaign level agrees"
    );

    // The same days synced again: replaced, not added.
    let (status, run) = json(
        c.post("/v1/platforms/connections/google/sync", &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{run}");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let d = eventually(&c, &drill, |v| !v["totals"].as_array().unwrap().is_empty()).await;
    assert_eq!(micros(&d["children"][0]["spend"]), spend);
}
