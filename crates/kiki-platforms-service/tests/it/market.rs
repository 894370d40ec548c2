//! The loop on the market's own data: two sandbox platforms run the same
//! budget for 90 days, the sync brings back their numbers and the orders of
//! the customers they acquired, the LTV model is fitted on those orders, and
//! the rebalancer moves budget toward the platform whose customers are truly
//! worth more per dollar of acquisition — truth computed here from the
//! market's customer processes (`kiki_platforms::{acquired, repeat_orders}`)
//! and the acquisition cost the sync measured, not from the model.

use kiki_core::{OrgId, TenantScope};
use kiki_platforms::{CreativeSpec, acquired, repeat_orders};
use kiki_test_support::identity::{Caller, PASSWORD, admin, sign_in};
use kiki_twin::{Industry, Platform};
use kiki_twin_service::TwinService;
use reqwest::Method;
use serde_json::{Value, json};
use time::Duration;
use time::macros::{date, datetime};
use uuid::Uuid;

use crate::*;

/// The pair: intent-led search customers come back (3 repeats a year, a
/// quarter drop out after a purchase), short-video ones mostly do not
/// (`kiki_platforms::population`).
const PLATFORMS: [(Platform, &str); 2] = [
    (Platform::Google, "google"),
    (Platform::Snapchat, "snapchat"),
];
/// Each platform's daily budget: $1,000.
const DAILY_MICROS: i64 = 1_000_000_000;

/// A platform's customers' mean first-year value (first order and repeats
/// within 365 days) in dollars, over 4,000 customers of its population.
fn first_year_value(platform: Platform) -> f64 {
    let day = date!(2027 - 01 - 15);
    let customers = acquired(Industry::Ecommerce, platform, 0x5EED_CAFE, day, 4_000);
    let total: i64 = customers
        .iter()
        .map(|c| {
            let repeats: i64 = repeat_orders(Industry::Ecommerce, c, day + Duration::days(365))
                .iter()
                .map(|o| o.value_micros)
                .sum();
            c.first_order_micros + repeats
        })
        .sum();
    total as f64 / 1e6 / customers.len() as f64
}

fn creative() -> CreativeSpec {
    CreativeSpec {
        kiki_id: Uuid::now_v7().to_string(),
        name: "Serum".into(),
        headlines: vec!["Light daily serum".into(), "Free returns".into()],
        descriptions: vec!["A light serum for winter.".into()],
        primary_text: Some("Winter skin, sorted.".into()),
        call_to_action: Some("Shop now".into()),
        link_url: "https://shop.example.com/serum".into(),
        approved: true,
    }
}

fn items(v: &Value) -> Vec<Value> {
    v.as_array()
        .or_else(|| v["items"].as_array())
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn the_rebalancer_moves_budget_toward_the_platform_whose_customers_are_worth_more() {
    let (app, clock) = spawn(json!({})).await;
    let boss = admin(&app, "owner@market.test", "Market Org").await;
    let c = boss.caller(&app);
    let scope = TenantScope::single(OrgId(boss.org_id));

    for (platform, name) in PLATFORMS {
        let (status, v) = post(
            &c,
            "/v1/platforms/connections",
            &json!({"platform": name, "mode": "sandbox", "industry": "ecommerce"}),
        )
        .await;
        assert_eq!(status, 201, "{v}");
        let mut d = deployment(creative());
        d.ad_set.daily_budget_micros = DAILY_MICROS;
        service(&app)
            .deploy_ad_set(&scope, platform, &d)
            .await
            .expect("the ad set deploys");
    }
    let lines: Vec<Value> = PLATFORMS
        .iter()
        .map(|(_, name)| json!({"platform": name, "daily_budget": {"amount": "1000", "currency": "USD"}}))
        .collect();
    let resp = c
        .send(
            Method::PUT,
            "/v1/twin/budgets",
            Some(&json!({"currency": "USD", "platforms": lines})),
        )
        .await;
    let (status, v) = json(resp).await;
    assert_eq!(status, 200, "{v}");

    // 90 days of market, then one sync per platform.
    clock.set(datetime!(2027-03-01 06:00 UTC));
    let tokens = sign_in(&app, &boss.email, PASSWORD).await;
    let c = Caller::new(&app, tokens.access_token);
    for (_, name) in PLATFORMS {
        let (status, run) = post(
            &c,
            &format!("/v1/platforms/connections/{name}/sync"),
            &json!({}),
        )
        .await;
        assert_eq!(status, 200, "{run}");
        assert_eq!(run["status"], "succeeded", "{run}");
    }

    // What each platform's customers cost: the measured spend over the
    // customers acquired (conversions), over the whole 90 days.
    let (status, rows) = get(
        &c,
        "/v1/platforms/metrics?level=ad_set&since=2026-12-01&until=2027-02-28",
    )
    .await;
    assert_eq!(status, 200, "{rows}");
    let mut truth = Vec::new();
    for (platform, name) in PLATFORMS {
        let (mut spend, mut conversions) = (0i64, 0f64);
        for r in items(&rows).iter().filter(|r| r["platform"] == name) {
            spend += r["spend"]["micros"].as_i64().expect("spend micros");
            conversions += r["conversions"].as_f64().expect("conversions");
        }
        assert!(conversions > 500.0, "{name}: {conversions} conversions");
        let cac = spend as f64 / 1e6 / conversions;
        let value = first_year_value(platform);
        truth.push((name, value / cac, value, cac));
    }
    let (better, worse) = if truth[0].1 > truth[1].1 {
        (truth[0], truth[1])
    } else {
        (truth[1], truth[0])
    };
    // A clear difference, or the test would say nothing.
    assert!(
        better.1 > worse.1 * 1.3,
        "first-year value per acquisition dollar too close to tell: {truth:?}"
    );

    let (status, model) = post(
        &c,
        "/v1/ltv/fits?wait=true",
        &json!({"model": "mbgnbd", "gamma_gamma": true, "currency": "USD"}),
    )
    .await;
    assert_eq!(status, 201, "{model}");

    // The rebalancer values each platform's customers by the fitted model,
    // per acquisition platform (not the industry prior).
    let ltv = app
        .state
        .services
        .get::<kiki_ltv_service::LtvService>()
        .expect("the LTV module is mounted")
        .platform_ltv(&scope, "USD")
        .await
        .expect("LTV per platform");
    let mean = |name: &str| {
        let row = ltv.iter().find(|r| r.platform == name);
        let row = row.unwrap_or_else(|| panic!("no LTV for {name}: {ltv:?}"));
        assert!(row.customers > 500, "{row:?}");
        row.mean_micros
    };
    assert!(mean(better.0) > mean(worse.0), "{ltv:?}\ntruth {truth:?}");

    let twin = app
        .state
        .services
        .get::<TwinService>()
        .expect("the twin module is mounted");
    // A period of its own (the scheduled five-minute runs take theirs).
    let period = datetime!(2027-03-01 06:00:07 UTC);
    let budgets_before = c.get_ok("/v1/twin/budgets").await;
    let out = twin
        .rebalance_org(&scope, period)
        .await
        .expect("the rebalancer runs");
    assert!(out.ran, "{out:?}");
    let shifts: Vec<Value> = items(&c.get_ok("/v1/rebalancing").await)
        .into_iter()
        .filter(|s| s["period_key"] == "2027-03-01T06:00:07Z")
        .collect();
    assert!(!shifts.is_empty(), "no shift; truth {truth:?}, LTV {ltv:?}");
    for s in &shifts {
        assert_eq!(s["from"], worse.0, "{s}\ntruth {truth:?}");
        assert_eq!(s["to"], better.0, "{s}\ntruth {truth:?}");
        assert!(
            s["to_efficiency"].as_f64().unwrap() > s["from_efficiency"].as_f64().unwrap(),
            "{s}"
        );
    }
    // Applied now, or (above the approval threshold) once approved.
    for s in shifts.iter().filter(|s| s["status"] == "pending_approval") {
        let id = s["id"].as_str().unwrap();
        let (status, v) = post(&c, &format!("/v1/rebalancing/{id}/approve"), &json!({})).await;
        assert_eq!(status, 200, "{v}");
    }
    let budgets = c.get_ok("/v1/twin/budgets").await;
    let budget = |b: &Value, name: &str| {
        b["platforms"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["platform"] == name)
            .map(|l| l["daily_budget"]["micros"].as_i64().unwrap())
            .unwrap()
    };
    assert!(
        budget(&budgets, better.0) > budget(&budgets_before, better.0),
        "{budgets_before} → {budgets}"
    );
    assert!(
        budget(&budgets, worse.0) < budget(&budgets_before, worse.0),
        "{budgets_before} → {budgets}"
    );
}
