//! Integration tests of the platforms service: the real app with the LTV,
//! twin and platforms modules on port 0 against a fresh database (SQLite,
//! or PostgreSQL with `KIKI_TEST_DATABASE_URL`), with a test clock. The
//! campaigns' side (launch, deployment through the channel sync) is tested
//! in `kiki-campaigns-service`.

mod accelerated;
mod breakdowns;
mod market;
mod tiktok;

use std::sync::Arc;

use kiki_core::{OrgId, TenantScope, TestClock};
use kiki_ltv_service::LtvModule;
use kiki_platforms::{
    AdSetSpec, BidStrategy, CampaignSpec, CreativeSpec, DeliveryStatus, Objective, Targeting,
};
use kiki_platforms_service::{AdSetDeployment, PlatformsModule, PlatformsService};
use kiki_store::Db;
use kiki_test_support::TestApp;
use kiki_test_support::identity::{Caller, identity_app, json};
use kiki_twin::Platform;
use kiki_twin_service::TwinModule;
use sea_query::{Alias, Expr, ExprTrait, Query};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::{date, datetime};
use uuid::Uuid;

/// "Now" when every test starts.
pub const T0: OffsetDateTime = datetime!(2026-12-01 06:00 UTC);

/// The app with LTV, the twin and the platforms (wired to both), the
/// `[platforms]` section given, on a test clock at [`T0`].
pub async fn spawn(platforms: Value) -> (TestApp, TestClock) {
    let clock = TestClock::at(T0);
    let app = identity_app()
        .clock(Arc::new(clock.clone()))
        .configure(move |c| c.set_section("platforms", platforms))
        .module(Arc::new(LtvModule::new()))
        .module(Arc::new(TwinModule::new()))
        .module(Arc::new(
            PlatformsModule::new().with_twin_module().with_ltv_module(),
        ))
        .spawn()
        .await;
    (app, clock)
}

pub fn service(app: &TestApp) -> Arc<PlatformsService> {
    app.state
        .services
        .get::<PlatformsService>()
        .expect("the platforms module is mounted")
}

/// Deploys one ad set with one approved creative on the organisation's
/// Google connection, running from 1 December with $100 a day, the way the
/// campaigns' channel sync does; KIKI's ad set id.
pub async fn deploy_ad_set(app: &TestApp, org: Uuid) -> Uuid {
    let scope = TenantScope::single(OrgId(org));
    let d = deployment(CreativeSpec {
        kiki_id: Uuid::now_v7().to_string(),
        name: "Serum".into(),
        headlines: vec!["Light daily serum".into(), "Free returns".into()],
        descriptions: vec!["A light serum for winter.".into()],
        primary_text: None,
        call_to_action: Some("Shop now".into()),
        link_url: "https://shop.example.com/serum".into(),
        approved: true,
    });
    service(app)
        .deploy_ad_set(&scope, Platform::Google, &d)
        .await
        .expect("the ad set deploys");
    d.ad_set_id
}

/// One ad set running from 1 December with $100 a day and `creative`.
pub fn deployment(creative: CreativeSpec) -> AdSetDeployment {
    AdSetDeployment {
        campaign_id: Uuid::now_v7(),
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
                countries: vec!["US".into()],
                ..Targeting::default()
            },
            audience_size: None,
            start: Some(date!(2026 - 12 - 01)),
            end: None,
        },
        creatives: vec![creative],
    }
}

pub async fn post(c: &Caller<'_>, path: &str, body: &Value) -> (u16, Value) {
    json(c.post(path, body).await).await
}

pub async fn get(c: &Caller<'_>, path: &str) -> (u16, Value) {
    json(c.get(path).await).await
}

/// Connects the Google sandbox; the connection.
pub async fn connect_google_sandbox(c: &Caller<'_>) -> Value {
    let (status, v) = post(
        c,
        "/v1/platforms/connections",
        &json!({"platform": "google", "mode": "sandbox", "industry": "general"}),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    v["connection"].clone()
}

/// Runs the sync now; the run, which must have succeeded.
pub async fn sync(c: &Caller<'_>) -> Value {
    let (status, run) = post(c, "/v1/platforms/connections/google/sync", &json!({})).await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(run["status"], "succeeded", "{run}");
    run
}

/// The Google connection as the API shows it.
pub async fn connection(c: &Caller<'_>) -> Value {
    let (status, v) = get(c, "/v1/platforms/connections/google").await;
    assert_eq!(status, 200, "{v}");
    v
}

/// The synced days (`YYYY-MM-DD`) of one KIKI ad set, in order.
pub async fn ad_set_days(c: &Caller<'_>, ad_set: Uuid) -> Vec<Value> {
    let (status, rows) = get(
        c,
        "/v1/platforms/metrics?level=ad_set&since=2026-11-01&until=2027-12-31",
    )
    .await;
    assert_eq!(status, 200, "{rows}");
    rows.as_array()
        .unwrap()
        .iter()
        .filter(|r| r["ad_set_id"] == ad_set.to_string().as_str())
        .cloned()
        .collect()
}

pub fn day_names(days: &[Value]) -> Vec<String> {
    days.iter()
        .map(|d| d["day"].as_str().unwrap().to_owned())
        .collect()
}

/// Rows of a table of the organisation matching a condition.
pub async fn count_where(db: &Db, table: &str, org: Uuid, cond: Option<Expr>) -> i64 {
    let mut stmt = Query::select()
        .expr(Expr::col(sea_query::Asterisk).count())
        .from(Alias::new(table))
        .and_where(Expr::col(Alias::new("org_id")).eq(org))
        .to_owned();
    if let Some(c) = cond {
        stmt.and_where(c);
    }
    let row: (i64,) = db.fetch_one(&stmt).await.expect("counting rows");
    row.0
}
