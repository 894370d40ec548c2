//! Country and device breakdowns. A hand-computed fixture fed through
//! `AnalyticsService::record_dimensions` (the port the ingest uses): rows per
//! value and currency with metrics from sums, the platforms that did not
//! report the dimension named, filters, replacement of re-fed days, the CSV,
//! another organisation seeing nothing. Then the real chain: a Google
//! sandbox campaign in three countries is synced, the ingest rolls its
//! breakdowns up, and the country and device rows add up to the campaign.

use std::sync::Arc;

use kiki_analytics::Period;
use kiki_analytics_service::AnalyticsModule;
use kiki_analytics_service::domain::Dimension;
use kiki_analytics_service::domain::dimensions::{DimensionCoverage, DimensionRow};
use kiki_ltv_service::LtvModule;
use kiki_platforms::{
    AdSetSpec, BidStrategy, CampaignSpec, CreativeSpec, DeliveryStatus, Objective, Targeting,
};
use kiki_platforms_service::{AdSetDeployment, PlatformsModule, PlatformsService};
use kiki_test_support::identity::{PASSWORD, identity_app, sign_in};
use kiki_twin::Platform;
use kiki_twin_service::TwinModule;
use serde_json::{Value, json};

use crate::*;

const P: &str = "since=2026-02-27&until=2026-03-01";

#[allow(clippy::too_many_arguments)]
fn dim_row(
    platform: &str,
    external: &str,
    campaign: Uuid,
    day: Date,
    value: &str,
    spend: Money,
    revenue: Money,
    conversions: f64,
    impressions: i64,
    clicks: i64,
) -> DimensionRow {
    DimensionRow {
        platform: platform.into(),
        external_id: external.into(),
        day,
        value: value.into(),
        campaign_id: Some(campaign.to_string()),
        spend,
        revenue,
        conversions_micros: (conversions * 1e6).round() as i64,
        impressions,
        clicks,
    }
}

fn covered(days: &[Date]) -> Vec<DimensionCoverage> {
    days.iter()
        .map(|d| DimensionCoverage {
            day: *d,
            reported: true,
            reason: None,
        })
        .collect()
}

fn period(since: Date, until: Date) -> Period {
    Period::new(since, until).unwrap()
}

/// Meta (USD): 27 Feb US $30 / $90 / 3 conv / 3,000 imp / 60 clicks and
/// DE $10 / 0 / 0 / 1,000 / 10; 28 Feb US $20 / $50 / 1.5 / 2,000 / 40.
/// Google (EUR): 28 Feb DE €5 / €25 / 1 / 500 / 5. TikTok did not report
/// countries on 28 Feb.
async fn feed_countries(svc: &AnalyticsService, org: Uuid, c1: Uuid, c2: Uuid) {
    let scope = TenantScope::single(OrgId(org));
    let (d27, d28) = (date!(2026 - 02 - 27), date!(2026 - 02 - 28));
    let meta = vec![
        dim_row(
            "meta",
            "m1",
            c1,
            d27,
            "US",
            usd(30.0),
            usd(90.0),
            3.0,
            3_000,
            60,
        ),
        dim_row(
            "meta",
            "m1",
            c1,
            d27,
            "DE",
            usd(10.0),
            usd(0.0),
            0.0,
            1_000,
            10,
        ),
        dim_row(
            "meta",
            "m1",
            c1,
            d28,
            "US",
            usd(20.0),
            usd(50.0),
            1.5,
            2_000,
            40,
        ),
    ];
    svc.record_dimensions(
        &scope,
        "meta",
        Dimension::Country,
        period(d27, d28),
        &meta,
        &covered(&[d27, d28]),
    )
    .await
    .unwrap();
    let google = vec![dim_row(
        "google",
        "g1",
        c2,
        d28,
        "DE",
        eur(5.0),
        eur(25.0),
        1.0,
        500,
        5,
    )];
    svc.record_dimensions(
        &scope,
        "google",
        Dimension::Country,
        period(d28, d28),
        &google,
        &covered(&[d28]),
    )
    .await
    .unwrap();
    svc.record_dimensions(
        &scope,
        "tiktok",
        Dimension::Country,
        period(d28, d28),
        &[],
        &[DimensionCoverage {
            day: d28,
            reported: false,
            reason: Some("KIKI's TikTok connector does not read a country breakdown.".into()),
        }],
    )
    .await
    .unwrap();
}

fn k(value: &str, currency: &str, spend: i64) -> (String, String, i64) {
    (value.to_owned(), currency.to_owned(), spend)
}

fn keys(b: &Value) -> Vec<(String, String, i64)> {
    b["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["country"]
                    .as_str()
                    .or(r["device"].as_str())
                    .unwrap()
                    .to_owned(),
                r["currency"].as_str().unwrap().to_owned(),
                micros(&r["spend"]),
            )
        })
        .collect()
}

#[tokio::test]
async fn countries_are_summed_per_value_and_currency_and_silent_platforms_are_named() {
    let (app, svc) = spawn().await;
    let boss = owner(&app, "countries").await;
    let c = boss.caller(&app);
    let (c1, c2) = (Uuid::now_v7(), Uuid::now_v7());
    feed_countries(&svc, boss.org_id, c1, c2).await;

    let (status, b) = get(&c, &format!("/v1/analytics/breakdown?{P}&by=country")).await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(b["by"], "country");
    assert_eq!(
        keys(&b),
        vec![
            k("US", "USD", 50_000_000),
            k("DE", "USD", 10_000_000),
            k("DE", "EUR", 5_000_000),
        ]
    );
    assert_eq!(b["total_rows"], 3);
    assert_eq!(b["not_reported_by"], json!(["tiktok"]));
    // US: $50 spend, $140 revenue, 4.5 conversions, 5,000 impressions, 100
    // clicks → ROAS 2.8, CPA $11.111111, CTR 2 %, CPC $0.50, CPM $10, CVR 4.5 %.
    let us = &b["rows"][0];
    assert_eq!(micros(&us["revenue"]), 140_000_000);
    assert_eq!(us["conversions"], 4.5);
    assert_eq!(
        (us["impressions"].as_i64(), us["clicks"].as_i64()),
        (Some(5_000), Some(100))
    );
    assert_eq!(us["roas"], 2.8);
    assert_eq!(micros(&us["cpa"]), 11_111_111);
    assert_eq!(us["ctr"], 0.02);
    assert_eq!(micros(&us["cpc"]), 500_000);
    assert_eq!(micros(&us["cpm"]), 10_000_000);
    assert_eq!(us["cvr"], 0.045);
    // DE in dollars: no conversions, so no CPA; ROAS 0.
    let de = &b["rows"][1];
    assert!(de["cpa"].is_null(), "{de}");
    assert_eq!(de["roas"], 0.0);
    assert_eq!(b["rows"][2]["roas"], 5.0);

    // One platform: TikTok is not among the silent ones then.
    let (_, b) = get(
        &c,
        &format!("/v1/analytics/breakdown?{P}&by=country&platform=meta"),
    )
    .await;
    assert_eq!(
        keys(&b),
        vec![k("US", "USD", 50_000_000), k("DE", "USD", 10_000_000),]
    );
    assert_eq!(b["not_reported_by"], json!([]));
    // One campaign; one currency; one day.
    let (_, b) = get(
        &c,
        &format!("/v1/analytics/breakdown?{P}&by=country&campaign_id={c2}"),
    )
    .await;
    assert_eq!(keys(&b), vec![k("DE", "EUR", 5_000_000)]);
    let (_, b) = get(
        &c,
        &format!("/v1/analytics/breakdown?{P}&by=country&currency=USD&limit=1"),
    )
    .await;
    assert_eq!(keys(&b), vec![k("US", "USD", 50_000_000)]);
    assert_eq!(
        (b["total_rows"].as_i64(), b["truncated"].as_bool()),
        (Some(2), Some(true))
    );
    let (_, b) = get(
        &c,
        "/v1/analytics/breakdown?since=2026-02-27&until=2026-02-27&by=country",
    )
    .await;
    assert_eq!(
        keys(&b),
        vec![k("US", "USD", 30_000_000), k("DE", "USD", 10_000_000),]
    );
    assert_eq!(
        b["not_reported_by"],
        json!([]),
        "TikTok's silent day is the 28th"
    );
    // Nothing was fed by device.
    let (_, b) = get(&c, &format!("/v1/analytics/breakdown?{P}&by=device")).await;
    assert_eq!(
        (
            b["rows"].as_array().unwrap().len(),
            b["total_rows"].as_i64()
        ),
        (0, Some(0))
    );

    // The CSV: the country first, amounts exact.
    let resp = c
        .get(&format!(
            "/v1/analytics/breakdown?{P}&by=country&format=csv"
        ))
        .await;
    assert_eq!(resp.status(), 200);
    let body = resp.text().await.unwrap();
    let mut lines = body.lines();
    assert_eq!(
        lines.next(),
        Some(
            "country,currency,spend,revenue,conversions,impressions,clicks,roas,cpa,ctr,cpc,cpm,cvr"
        )
    );
    assert_eq!(
        lines.next(),
        Some("US,USD,50,140,4.5,5000,100,2.8,11.111111,0.02,0.5,10,0.045")
    );

    // Meta's 27 February fed again with one row: the day is replaced.
    let scope = TenantScope::single(OrgId(boss.org_id));
    let d27 = date!(2026 - 02 - 27);
    svc.record_dimensions(
        &scope,
        "meta",
        Dimension::Country,
        period(d27, d27),
        &[dim_row(
            "meta",
            "m1",
            c1,
            d27,
            "US",
            usd(1.0),
            usd(0.0),
            0.0,
            100,
            1,
        )],
        &covered(&[d27]),
    )
    .await
    .unwrap();
    let (_, b) = get(
        &c,
        &format!("/v1/analytics/breakdown?{P}&by=country&platform=meta"),
    )
    .await;
    assert_eq!(keys(&b), vec![k("US", "USD", 21_000_000)]);

    // A platform's row outside the days fed is refused, naming it.
    let e = svc
        .record_dimensions(
            &scope,
            "meta",
            Dimension::Country,
            period(d27, d27),
            &[dim_row(
                "meta",
                "m1",
                c1,
                date!(2026 - 02 - 28),
                "US",
                usd(1.0),
                usd(0.0),
                0.0,
                1,
                0,
            )],
            &[],
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("rows[0]"), "{e}");

    // Another organisation sees none of it.
    let other = owner(&app, "elsewhere").await;
    let (status, b) = get(
        &other.caller(&app),
        &format!("/v1/analytics/breakdown?{P}&by=country"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(b["rows"], json!([]));
    assert_eq!(b["not_reported_by"], json!([]));
}

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

/// One Google sandbox ad set in the US, Germany and France, $100 a day
/// from 1 December.
async fn deploy(app: &TestApp, org: Uuid) -> Uuid {
    let scope = TenantScope::single(OrgId(org));
    let campaign_id = Uuid::now_v7();
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
        ad_set_id: Uuid::now_v7(),
        ad_set: AdSetSpec {
            name: "Search".into(),
            status: DeliveryStatus::Active,
            daily_budget_micros: 100_000_000,
            bid: BidStrategy::HighestValue,
            targeting: Targeting {
                countries: vec!["US".into(), "DE".into(), "FR".into()],
                ..Targeting::default()
            },
            audience_size: None,
            start: Some(date!(2026 - 12 - 01)),
            end: None,
        },
        creatives: vec![CreativeSpec {
            kiki_id: Uuid::now_v7().to_string(),
            name: "Serum".into(),
            headlines: vec!["Light daily serum".into()],
            descriptions: vec!["A light serum for winter.".into()],
            primary_text: None,
            call_to_action: None,
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
    campaign_id
}

/// Sums of a breakdown's rows: spend, revenue, impressions, clicks,
/// conversions (millionths).
fn totals(b: &Value) -> (i64, i64, i64, i64, i64) {
    b["rows"]
        .as_array()
        .unwrap()
        .iter()
        .fold((0, 0, 0, 0, 0), |t, r| {
            (
                t.0 + micros(&r["spend"]),
                t.1 + micros(&r["revenue"]),
                t.2 + r["impressions"].as_i64().unwrap(),
                t.3 + r["clicks"].as_i64().unwrap(),
                t.4 + (r["conversions"].as_f64().unwrap() * 1e6).round() as i64,
            )
        })
}

#[tokio::test]
async fn a_synced_sandbox_campaign_breaks_down_into_countries_and_devices_that_add_up() {
    let clock = TestClock::at(datetime!(2026-12-01 06:00 UTC));
    let app = spawn_with_platforms(clock.clone()).await;
    let boss = owner(&app, "dims-feed").await;
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
    let campaign = deploy(&app, boss.org_id).await;
    clock.advance(time::Duration::days(6));
    let c = Caller::new(
        &app,
        sign_in(&app, &boss.email, PASSWORD).await.access_token,
    );
    let (status, run) = json(
        c.post("/v1/platforms/connections/google/sync", &json!({}))
            .await,
    )
    .await;
    assert_eq!(
        (status, run["status"].as_str()),
        (200, Some("succeeded")),
        "{run}"
    );

    let range = "since=2026-11-01&until=2026-12-07";
    // The campaign as the platforms service stored it, summed by hand.
    let (_, metrics) = get(&c, &format!("/v1/platforms/metrics?level=campaign&{range}")).await;
    let rows = metrics.as_array().unwrap();
    let campaign_spend: i64 = rows.iter().map(|r| micros(&r["spend"])).sum();
    let campaign_revenue: i64 = rows.iter().map(|r| micros(&r["conversion_value"])).sum();
    let campaign_impressions: i64 = rows
        .iter()
        .map(|r| r["impressions"].as_i64().unwrap())
        .sum();
    let campaign_clicks: i64 = rows.iter().map(|r| r["clicks"].as_i64().unwrap()).sum();
    assert!(campaign_spend > 0);

    let mut found = Vec::new();
    for by in ["country", "device"] {
        let path = format!("/v1/analytics/breakdown?{range}&by={by}&campaign_id={campaign}");
        let mut b = Value::Null;
        for _ in 0..200 {
            let (status, v) = get(&c, &path).await;
            if status == 200 && totals(&v).0 == campaign_spend {
                b = v;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(
            !b.is_null(),
            "{path} never added up to the campaign's spend"
        );
        let (spend, revenue, impressions, clicks, _) = totals(&b);
        assert_eq!(
            (spend, revenue, impressions, clicks),
            (
                campaign_spend,
                campaign_revenue,
                campaign_impressions,
                campaign_clicks
            ),
            "{by}: {b}"
        );
        assert_eq!(b["not_reported_by"], json!([]));
        let values: Vec<String> = b["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r[by].as_str().unwrap().to_owned())
            .collect();
        found.push(values);
    }
    let mut countries = found[0].clone();
    countries.sort();
    assert_eq!(countries, vec!["DE", "FR", "US"]);
    assert!(
        found[1]
            .iter()
            .all(|d| ["mobile", "desktop", "tablet", "connected_tv", "other"].contains(&d.as_str())),
        "{:?}",
        found[1]
    );
    assert!(found[1].contains(&"mobile".to_owned()) && found[1].contains(&"desktop".to_owned()));

    // Another organisation of the same server sees nothing by country.
    let other = owner(&app, "dims-other").await;
    let (_, b) = get(
        &other.caller(&app),
        &format!("/v1/analytics/breakdown?{range}&by=country"),
    )
    .await;
    assert_eq!(b["rows"], json!([]));
}
