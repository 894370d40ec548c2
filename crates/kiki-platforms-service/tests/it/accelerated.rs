//! The sandbox market in accelerated time (`platforms.sandbox_seconds_per_day`)
//! and on the calendar: with N seconds a day, moving the clock k×N seconds
//! delivers k new simulated days, a sync stores them (and the worker's sweep
//! does without being asked), the connection shows the market's date, and
//! the twin and LTV take what they accept; without the setting, nothing
//! changes.

use kiki_test_support::identity::{PASSWORD, admin, sign_in};
use sea_query::{Alias, Expr, ExprTrait};
use serde_json::json;
use time::Duration;

use crate::*;

/// Seconds per simulated day in these tests: the sweep then runs every 2 s.
const N: i64 = 8;

#[tokio::test]
async fn accelerated_time_delivers_a_simulated_day_every_n_seconds_and_the_sync_stores_it() {
    let (app, clock) = spawn(json!({"sandbox_seconds_per_day": N})).await;
    let boss = admin(&app, "owner@accelerated.test", "Accelerated Org").await;
    let c = boss.caller(&app);

    let conn = connect_google_sandbox(&c).await;
    assert_eq!(conn["market_date"], "2026-12-01", "{conn}");
    assert_eq!(conn["market_seconds_per_day"], N, "{conn}");
    assert_eq!(conn["market_time"], "2026-12-01T06:00:00Z", "{conn}");
    let set = deploy_ad_set(&app, boss.org_id).await;

    // The first day so far: a quarter of it has passed at 06:00.
    let run = sync(&c).await;
    assert_eq!(run["until"], "2026-12-01", "{run}");
    assert_eq!(day_names(&ad_set_days(&c, set).await), ["2026-12-01"]);

    // 3 × N real seconds later the market is three days on.
    clock.advance(Duration::seconds(3 * N));
    let run = sync(&c).await;
    assert_eq!(run["until"], "2026-12-04", "{run}");
    let days = ad_set_days(&c, set).await;
    assert_eq!(
        day_names(&days),
        ["2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04"]
    );
    for d in &days[..3] {
        let spend = d["spend"]["micros"].as_i64().unwrap();
        assert!(spend > 50_000_000 && spend <= 100_000_000, "{d}");
    }
    // Today so far: a quarter of the day's delivery.
    let today = days[3]["spend"]["micros"].as_i64().unwrap();
    assert!(
        today < days[2]["spend"]["micros"].as_i64().unwrap(),
        "{}",
        days[3]
    );
    let conn = connection(&c).await;
    assert_eq!(conn["market_date"], "2026-12-04", "{conn}");
    assert_eq!(conn["last_synced_day"], "2026-12-04", "{conn}");

    // Nobody asks: the worker's sweep brings the next days while someone
    // watches.
    clock.advance(Duration::seconds(2 * N));
    let mut synced = None;
    for _ in 0..1200 {
        let conn = connection(&c).await;
        if conn["last_synced_day"] == "2026-12-06" {
            synced = Some(conn);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let conn = synced.expect("the sweep synced the sandbox within a minute");
    assert_eq!(conn["market_date"], "2026-12-06", "{conn}");
    let days = ad_set_days(&c, set).await;
    assert_eq!(days.len(), 6, "{days:?}");
    assert_eq!(days[4]["day"], "2026-12-05");
    assert!(days[4]["spend"]["micros"].as_i64().unwrap() > 50_000_000);
    let (status, runs) = get(&c, "/v1/platforms/sync-runs?limit=50").await;
    assert_eq!(status, 200, "{runs}");
    assert!(
        runs.as_array()
            .unwrap()
            .iter()
            .any(|r| r["trigger"] == "accelerated" && r["status"] == "succeeded"),
        "{runs}"
    );

    // The twin keeps the simulated days (dated ahead of the calendar)...
    let db = &app.state.db;
    let ahead = Expr::col(Alias::new("day")).gt("2026-12-01");
    assert!(count_where(db, "twin_daily_performance", boss.org_id, Some(ahead)).await >= 4);
    // ...and the LTV model only orders it accepts: none dated more than
    // `ltv.max_future_days` (1) after the calendar's now.
    let latest = clock_now(&app) + Duration::days(1);
    let future = Expr::col(Alias::new("occurred_at")).gt(latest);
    assert_eq!(
        count_where(db, "ltv_transactions", boss.org_id, Some(future)).await,
        0
    );
}

fn clock_now(app: &kiki_test_support::TestApp) -> time::OffsetDateTime {
    app.state.clock.now()
}

#[tokio::test]
async fn without_the_setting_the_market_runs_on_the_calendar() {
    let (app, clock) = spawn(json!({})).await;
    let boss = admin(&app, "owner@calendar.test", "Calendar Org").await;
    let c = boss.caller(&app);
    let conn = connect_google_sandbox(&c).await;
    assert_eq!(conn["market_date"], "2026-12-01", "{conn}");
    assert_eq!(
        conn["market_seconds_per_day"],
        serde_json::Value::Null,
        "{conn}"
    );
    let set = deploy_ad_set(&app, boss.org_id).await;

    // Seconds are seconds: the same day.
    clock.advance(Duration::seconds(3 * N));
    let run = sync(&c).await;
    assert_eq!(run["until"], "2026-12-01", "{run}");
    assert_eq!(day_names(&ad_set_days(&c, set).await), ["2026-12-01"]);

    // Days are days (a new access token: the first one expired meanwhile).
    clock.advance(Duration::days(2));
    let tokens = sign_in(&app, &boss.email, PASSWORD).await;
    let c = Caller::new(&app, tokens.access_token);
    let run = sync(&c).await;
    assert_eq!(run["until"], "2026-12-03", "{run}");
    assert_eq!(
        day_names(&ad_set_days(&c, set).await),
        ["2026-12-01", "2026-12-02", "2026-12-03"]
    );
    let (_, runs) = get(&c, "/v1/platforms/sync-runs?limit=50").await;
    assert!(
        runs.as_array()
            .unwrap()
            .iter()
            .all(|r| r["trigger"] == "manual"),
        "{runs}"
    );
    let conn = connection(&c).await;
    assert_eq!(conn["market_date"], "2026-12-03", "{conn}");
}

#[tokio::test]
async fn a_second_process_on_the_same_database_reads_the_same_market_time() {
    let (app, clock) = spawn(json!({"sandbox_seconds_per_day": N})).await;
    let boss = admin(&app, "owner@replicas.test", "Replica Org").await;
    connect_google_sandbox(&boss.caller(&app)).await;
    // A replica started 2 × N seconds later on the same database.
    clock.advance(Duration::seconds(2 * N));
    let replica = kiki_test_support::TestApp::builder()
        .configure(kiki_test_support::identity::fast_auth)
        .clock(std::sync::Arc::new(clock.clone()))
        .database_url(app.state.config.database.url.clone())
        .configure(|c| {
            c.roles = "api".into();
            c.set_section("platforms", json!({"sandbox_seconds_per_day": N}));
        })
        .module(std::sync::Arc::new(
            kiki_platforms_service::PlatformsModule::new(),
        ))
        .spawn()
        .await;
    let tokens = sign_in(&replica, &boss.email, PASSWORD).await;
    let c = Caller::new(&replica, tokens.access_token);
    // Its own start would say 1 December; the installation's anchor says 3.
    assert_eq!(connection(&c).await["market_date"], "2026-12-03");
    assert_eq!(
        connection(&boss.caller(&app)).await["market_date"],
        "2026-12-03"
    );
}
