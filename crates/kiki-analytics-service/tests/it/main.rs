//! Integration tests of the analytics service: the real app on port 0
//! against a fresh database (SQLite, or PostgreSQL with
//! `KIKI_TEST_DATABASE_URL`), with a test clock. The hand-computed fixture
//! is fed through `AnalyticsService::record_daily` (the port the ingest job
//! uses); `feed.rs` runs the real chain from a sandbox platform's sync.

mod agency;
mod dimensions;
mod exports;
mod feed;
mod fx;
mod jobs;
mod kiki;
mod outcomes;
mod pdf;
mod reads;
mod rows;
mod schedules;
mod variants;

use std::sync::Arc;

use kiki_analytics_service::domain::{DailyRow, Level};
use kiki_analytics_service::{AnalyticsModule, AnalyticsService};
use kiki_core::{Currency, Money, OrgId, TenantScope, TestClock};
use kiki_test_support::TestApp;
use kiki_test_support::identity::{Caller, Person, admin, identity_app, json};
use serde_json::Value;
use time::macros::{date, datetime};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

/// 23:30 UTC on Sunday 1 March 2026: already Monday 2 March in Auckland.
pub const NOW: OffsetDateTime = datetime!(2026-03-01 23:30 UTC);

pub async fn spawn() -> (TestApp, Arc<AnalyticsService>) {
    let app = identity_app()
        .clock(Arc::new(TestClock::at(NOW)))
        .module(Arc::new(AnalyticsModule::new()))
        .spawn()
        .await;
    let svc = service(&app);
    (app, svc)
}

pub fn service(app: &TestApp) -> Arc<AnalyticsService> {
    app.state
        .services
        .get::<AnalyticsService>()
        .expect("the analytics module is mounted")
}

pub async fn owner(app: &TestApp, name: &str) -> Person {
    admin(
        app,
        &format!("owner-{}@{name}.example", Uuid::now_v7()),
        name,
    )
    .await
}

pub async fn get(c: &Caller<'_>, path: &str) -> (u16, Value) {
    json(c.get(path).await).await
}

pub fn usd(units: f64) -> Money {
    Money::from_micros((units * 1e6).round() as i64, Currency::USD)
}

pub fn eur(units: f64) -> Money {
    Money::from_micros((units * 1e6).round() as i64, Currency::EUR)
}

/// The fixed ids of the fixture's objects.
pub struct Ids {
    pub c1: Uuid,
    pub s1: Uuid,
    pub c2: Uuid,
    pub s2: Uuid,
    pub c3: Uuid,
}

impl Default for Ids {
    fn default() -> Ids {
        Ids {
            c1: Uuid::now_v7(),
            s1: Uuid::now_v7(),
            c2: Uuid::now_v7(),
            s2: Uuid::now_v7(),
            c3: Uuid::now_v7(),
        }
    }
}

/// One row: spend, revenue, conversions, impressions, clicks.
#[allow(clippy::too_many_arguments)]
pub fn row(
    level: Level,
    platform: &str,
    external: &str,
    day: Date,
    ids: (Option<Uuid>, Option<Uuid>, Option<&str>),
    spend: Money,
    revenue: Money,
    conversions: f64,
    impressions: i64,
    clicks: i64,
) -> DailyRow {
    DailyRow {
        level,
        platform: platform.into(),
        external_id: external.into(),
        day,
        campaign_id: ids.0.map(|u| u.to_string()),
        ad_set_id: ids.1.map(|u| u.to_string()),
        ad_id: ids.2.map(str::to_owned),
        spend,
        revenue,
        conversions_micros: (conversions * 1e6).round() as i64,
        impressions,
        clicks,
    }
}

/// Meta: campaign C1 (ad set S1, ads A1 and A2); 25 Feb (the previous
/// period), 27 Feb, 28 Feb (no spend), 1 Mar, 2 Mar (today in Auckland).
pub fn meta_rows(ids: &Ids, scale: f64) -> Vec<DailyRow> {
    let c = (Some(ids.c1), None, None);
    let s = (Some(ids.c1), Some(ids.s1), None);
    let a1 = (Some(ids.c1), Some(ids.s1), Some("s1:a1"));
    let a2 = (Some(ids.c1), Some(ids.s1), Some("s1:a2"));
    let m = |x: f64| usd(x * scale);
    let mut out = Vec::new();
    // (day, spend, revenue, conversions, impressions, clicks)
    let campaign_days = [
        (date!(2026 - 02 - 25), 50.0, 100.0, 2.0, 5_000, 100),
        (date!(2026 - 02 - 27), 100.0, 300.0, 3.0, 10_000, 200),
        (date!(2026 - 02 - 28), 0.0, 0.0, 0.0, 0, 0),
        (date!(2026 - 03 - 01), 200.0, 500.0, 4.5, 20_000, 300),
        (date!(2026 - 03 - 02), 70.0, 70.0, 1.0, 1_000, 10),
    ];
    for (d, sp, rv, cv, im, cl) in campaign_days {
        out.push(row(
            Level::Campaign,
            "meta",
            "m-c1",
            d,
            c,
            m(sp),
            m(rv),
            cv,
            im,
            cl,
        ));
        out.push(row(
            Level::AdSet,
            "meta",
            "m-s1",
            d,
            s,
            m(sp),
            m(rv),
            cv,
            im,
            cl,
        ));
    }
    let ad_days = [
        (
            date!(2026 - 02 - 27),
            a1,
            "m-a1",
            60.0,
            200.0,
            2.0,
            6_000,
            120,
        ),
        (
            date!(2026 - 02 - 27),
            a2,
            "m-a2",
            40.0,
            100.0,
            1.0,
            4_000,
            80,
        ),
        (date!(2026 - 02 - 28), a1, "m-a1", 0.0, 0.0, 0.0, 0, 0),
        (
            date!(2026 - 03 - 01),
            a1,
            "m-a1",
            150.0,
            300.0,
            3.0,
            15_000,
            200,
        ),
        (
            date!(2026 - 03 - 01),
            a2,
            "m-a2",
            50.0,
            200.0,
            1.5,
            5_000,
            100,
        ),
    ];
    for (d, ids, ext, sp, rv, cv, im, cl) in ad_days {
        out.push(row(
            Level::Ad,
            "meta",
            ext,
            d,
            ids,
            m(sp),
            m(rv),
            cv,
            im,
            cl,
        ));
    }
    out
}

/// Google: campaign C2 (ad set S2, ad A3) on 27 Feb and 1 Mar.
pub fn google_rows(ids: &Ids) -> Vec<DailyRow> {
    let c = (Some(ids.c2), None, None);
    let s = (Some(ids.c2), Some(ids.s2), None);
    let a = (Some(ids.c2), Some(ids.s2), Some("s2:a3"));
    let mut out = Vec::new();
    for (d, sp, rv, cv, im, cl) in [
        (date!(2026 - 02 - 27), 50.0, 50.0, 1.0, 5_000, 50),
        (date!(2026 - 03 - 01), 50.0, 150.0, 0.5, 5_000, 50),
    ] {
        out.push(row(
            Level::Campaign,
            "google",
            "g-c2",
            d,
            c,
            usd(sp),
            usd(rv),
            cv,
            im,
            cl,
        ));
        out.push(row(
            Level::AdSet,
            "google",
            "g-s2",
            d,
            s,
            usd(sp),
            usd(rv),
            cv,
            im,
            cl,
        ));
        out.push(row(
            Level::Ad,
            "google",
            "g-a3",
            d,
            a,
            usd(sp),
            usd(rv),
            cv,
            im,
            cl,
        ));
    }
    out
}

/// TikTok in euros: campaign C3 on 27 Feb.
pub fn tiktok_rows(ids: &Ids) -> Vec<DailyRow> {
    let c = (Some(ids.c3), None, None);
    vec![row(
        Level::Campaign,
        "tiktok",
        "t-c3",
        date!(2026 - 02 - 27),
        c,
        eur(10.0),
        eur(30.0),
        1.0,
        1_000,
        10,
    )]
}

/// The whole fixture for an organisation, fed platform by platform over
/// 20 February to 2 March.
pub async fn feed(svc: &AnalyticsService, org: Uuid, ids: &Ids) {
    let scope = TenantScope::single(OrgId(org));
    let period = kiki_analytics::Period::new(date!(2026 - 02 - 20), date!(2026 - 03 - 02)).unwrap();
    for (platform, rows) in [
        ("meta", meta_rows(ids, 1.0)),
        ("google", google_rows(ids)),
        ("tiktok", tiktok_rows(ids)),
    ] {
        svc.record_daily(&scope, platform, period, &rows)
            .await
            .expect("the rows are recorded");
    }
}

/// The entry of a currency in a summary.
pub fn in_currency<'a>(summary: &'a Value, currency: &str) -> &'a Value {
    summary["currencies"]
        .as_array()
        .expect("currencies")
        .iter()
        .find(|c| c["currency"] == currency)
        .unwrap_or_else(|| panic!("no {currency} in {summary}"))
}

pub fn micros(v: &Value) -> i64 {
    v["micros"]
        .as_i64()
        .unwrap_or_else(|| panic!("no micros in {v}"))
}
