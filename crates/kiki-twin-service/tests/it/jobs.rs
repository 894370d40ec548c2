//! The mirror and rebalancer jobs: rollback recommendations only when
//! actuals fall more than 15 % below the projection, budget shifts from the
//! under-performer to the best platform within bounds, idempotent per
//! period, big shifts waiting for approval.

use std::time::Duration;

use kiki_store::{DomainEvent, EnqueueOptions, JobStatus};
use kiki_test_support::TestApp;
use kiki_test_support::identity::{Caller, admin, error_fields};
use serde_json::{Value, json};
use time::macros::datetime;
use tokio::sync::broadcast::Receiver;

use crate::{NOW, get, post, put, service, spawn};

/// Waits for the next event of `kind` (fails after 10 s).
async fn next_event(rx: &mut Receiver<DomainEvent>, kind: &str) -> DomainEvent {
    let wait = async {
        loop {
            match rx.recv().await {
                Ok(e) if e.kind == kind => return e,
                Ok(_) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(e) => panic!("event bus closed: {e}"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .unwrap_or_else(|_| panic!("no {kind} event"))
}

/// A 30-day plan on one platform that started ten days before today.
fn started_plan(platform: &str) -> Value {
    json!({
        "plan": {
            "currency": "USD",
            "allocations": [{"platform": platform, "daily_budget": {"micros": 300_000_000, "currency": "USD"}}],
            "duration_days": 30,
            "start_date": "2026-11-14",
            "organic_revenue": {"micros": 0, "currency": "USD"}
        },
        "options": {"runs": 2000, "seed": 9}
    })
}

/// Daily revenue that makes cumulative actuals equal `share` × the
/// projected median on each of the first `days` days.
fn actual_rows(sim: &Value, platform: &str, days: usize, share: f64) -> Vec<Value> {
    let projection = sim["report"]["result"]["projection"].as_array().unwrap();
    let mut prev = 0i64;
    (0..days)
        .map(|i| {
            let cum =
                (projection[i]["revenue"]["p50"]["micros"].as_i64().unwrap() as f64 * share) as i64;
            let revenue = cum - prev;
            prev = cum;
            let day = datetime!(2026-11-14 0:00 UTC).date() + time::Duration::days(i as i64);
            json!({
                "platform": platform, "day": day.to_string(), "currency": "USD",
                "spend": {"micros": 300_000_000, "currency": "USD"}, "impressions": 25_000, "clicks": 300,
                "conversions": 9.0, "revenue": {"micros": revenue, "currency": "USD"}
            })
        })
        .collect()
}

async fn approve(c: &Caller<'_>, sim: &Value) {
    let id = sim["id"].as_str().unwrap();
    let (status, body) = post(
        c,
        &format!("/v1/simulations/{id}/decision"),
        &json!({"decision": "approve", "reason": "Launch for the mirror test."}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn the_mirror_recommends_a_rollback_only_when_actuals_fall_more_than_15_percent_below() {
    let (app, _clock) = spawn().await;
    let boss = admin(&app, "mirror@jobs.test", "Mirror Org").await;
    let c = boss.caller(&app);
    let (_, poor) = post(&c, "/v1/simulations", &started_plan("meta")).await;
    let (_, fine) = post(&c, "/v1/simulations", &started_plan("google")).await;
    let mut rows = actual_rows(&poor, "meta", 10, 0.6);
    rows.extend(actual_rows(&fine, "google", 10, 1.0));
    let (status, body) = post(&c, "/v1/twin/performance", &json!({"rows": rows})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["upserted"], 20);
    approve(&c, &poor).await;
    approve(&c, &fine).await;

    let mut rx = app.state.events.subscribe();
    let svc = service(&app);
    let out = svc.mirror_all(NOW.date()).await.unwrap();
    assert_eq!(out.len(), 2, "{out:?}");
    let by_id = |s: &Value| {
        out.iter()
            .find(|o| o.simulation_id.to_string() == s["id"].as_str().unwrap())
            .unwrap()
            .clone()
    };
    assert!(by_id(&poor).rollback_recommended);
    assert_eq!(by_id(&poor).days_observed, 10);
    assert!(!by_id(&fine).rollback_recommended);

    let e = next_event(&mut rx, "twin.rollback_recommended").await;
    assert_eq!(e.payload["simulation_id"], poor["id"]);
    let dev = e.payload["evidence"]["deviation"].as_f64().unwrap();
    assert!((dev + 0.4).abs() < 0.01, "{dev}");

    let (_, decisions) = get(&c, "/v1/decisions?kind=rollback_recommended").await;
    let items = decisions["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{decisions}");
    assert_eq!(items[0]["subject_id"], poor["id"]);
    let (_, audit) = get(&c, "/v1/audit?action=twin.rollback_recommended").await;
    assert_eq!(audit["items"].as_array().map(Vec::len), Some(1));

    let (_, reports) = get(
        &c,
        &format!("/v1/simulations/{}/mirror", fine["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(reports[0]["rollback_recommended"], false);
    assert!(reports[0]["latest_deviation"].as_f64().unwrap().abs() < 0.01);

    // The same day again (a retried job) stores and raises nothing new.
    let again = svc.mirror_all(NOW.date()).await.unwrap();
    assert!(again.iter().all(|o| !o.stored));
    let (_, decisions) = get(&c, "/v1/decisions?kind=rollback_recommended").await;
    assert_eq!(decisions["items"].as_array().map(Vec::len), Some(1));
    app.shutdown().await.unwrap();
}

/// Seven days of actuals: meta CAC 16, google 20, tiktok 40 (USD).
fn week_of_actuals() -> Vec<Value> {
    let mut rows = Vec::new();
    for d in 0..7 {
        let day = (NOW.date() - time::Duration::days(7 - d)).to_string();
        for (platform, spend, conv) in [
            ("meta", 300, 18.75),
            ("google", 300, 15.0),
            ("tiktok", 400, 10.0),
        ] {
            rows.push(json!({
                "platform": platform, "day": day, "currency": "USD",
                "spend": {"micros": spend * 1_000_000i64, "currency": "USD"}, "impressions": 30_000, "clicks": 400,
                "conversions": conv, "revenue": {"micros": 0, "currency": "USD"}
            }));
        }
    }
    rows
}

async fn budgets(c: &Caller<'_>) -> Vec<(String, i64)> {
    let (_, b) = get(c, "/v1/twin/budgets").await;
    b["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["platform"].as_str().unwrap().to_owned(),
                p["daily_budget"]["micros"].as_i64().unwrap(),
            )
        })
        .collect()
}

async fn wait_job(app: &TestApp, id: kiki_core::JobId) -> Value {
    let job = app.wait_for_job(id).await;
    assert_eq!(job.status, JobStatus::Succeeded, "{job:?}");
    job.result.unwrap_or(Value::Null)
}

#[tokio::test]
async fn the_rebalancer_moves_20_percent_from_the_laggard_once_per_period_and_holds_big_shifts() {
    let (app, _clock) = spawn().await;
    let boss = admin(&app, "rebal@jobs.test", "Rebalance Org").await;
    let c = boss.caller(&app);
    let (status, body) = put(&c, "/v1/twin/budgets", &json!({"currency": "USD", "platforms": [
        {"platform": "meta", "daily_budget": {"micros": 300_000_000, "currency": "USD"}, "min_daily_budget": {"micros": 50_000_000, "currency": "USD"}, "max_daily_budget": {"micros": 1_000_000_000, "currency": "USD"}},
        {"platform": "google", "daily_budget": {"micros": 300_000_000, "currency": "USD"}},
        {"platform": "tiktok", "daily_budget": {"micros": 400_000_000, "currency": "USD"}, "min_daily_budget": {"micros": 100_000_000, "currency": "USD"}}
    ]})).await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = post(
        &c,
        "/v1/twin/performance",
        &json!({"rows": week_of_actuals()}),
    )
    .await;
    assert_eq!(status, 200);

    let mut rx = app.state.events.subscribe();
    let svc = service(&app);
    let period = datetime!(2026-11-24 10:05 UTC);
    let org = kiki_core::OrgId(boss.org_id);
    let first = svc
        .rebalance_org(&kiki_core::TenantScope::single(org), period)
        .await
        .unwrap();
    assert!(first.ran);
    assert_eq!((first.applied, first.pending_approval), (1, 0));
    let mut b = budgets(&c).await;
    b.sort();
    assert_eq!(
        b,
        [
            ("google".into(), 300_000_000),
            ("meta".into(), 380_000_000),
            ("tiktok".into(), 320_000_000)
        ]
    );
    let e = next_event(&mut rx, "twin.rebalanced").await;
    assert_eq!(e.payload["shifts"][0]["from"], "tiktok");
    assert_eq!(e.payload["shifts"][0]["to"], "meta");
    assert_eq!(e.payload["shifts"][0]["amount"]["micros"], 80_000_000);

    // A retry of the same period, through the job queue, changes nothing.
    let job = app
        .state
        .jobs
        .enqueue(
            None,
            "twin.rebalance",
            json!({"scheduled_for": "2026-11-24T10:05:00Z"}),
            EnqueueOptions::default(),
        )
        .await
        .unwrap();
    let result = wait_job(&app, job).await;
    assert_eq!(result["organisations"][0]["ran"], false, "{result}");
    let mut again = budgets(&c).await;
    again.sort();
    assert_eq!(again, b);

    let (_, shifts) = get(&c, "/v1/rebalancing").await;
    let items = shifts["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let s = &items[0];
    assert_eq!(s["status"], "applied");
    assert_eq!(
        (
            s["from_budget_before"]["micros"].as_i64(),
            s["from_budget_after"]["micros"].as_i64()
        ),
        (Some(400_000_000), Some(320_000_000))
    );
    assert!((s["from_efficiency"].as_f64().unwrap() - 2.5).abs() < 1e-9);
    assert!((s["to_efficiency"].as_f64().unwrap() - 6.25).abs() < 1e-9);
    assert!(s["explanation"].as_str().unwrap().contains("TikTok"), "{s}");
    let (_, d) = get(&c, "/v1/decisions?kind=budget_shift").await;
    assert_eq!(d["items"].as_array().map(Vec::len), Some(1));
    let (_, a) = get(&c, "/v1/audit?action=twin.rebalanced").await;
    assert_eq!(a["items"].as_array().map(Vec::len), Some(1));

    // Above the organisation's approval threshold the next shift waits.
    let (status, body) = put(
        &c,
        "/v1/twin/settings",
        &json!({"approval_threshold": {"amount": "50", "currency": "USD"}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["approval_threshold"],
        json!({"micros": 50_000_000, "currency": "USD"}),
        "{body}"
    );
    let second = svc
        .rebalance_org(
            &kiki_core::TenantScope::single(org),
            datetime!(2026-11-24 10:10 UTC),
        )
        .await
        .unwrap();
    assert_eq!((second.applied, second.pending_approval), (0, 1));
    let mut held = budgets(&c).await;
    held.sort();
    assert_eq!(held, b, "a pending shift does not move money");
    let (_, pending) = get(&c, "/v1/rebalancing?status=pending_approval").await;
    let p = &pending["items"][0];
    assert_eq!(p["amount"]["micros"], 64_000_000);
    let id = p["id"].as_str().unwrap();

    let (status, err) = get(&c, "/v1/rebalancing?status=maybe").await;
    assert_eq!(status, 422);
    assert_eq!(error_fields(&err), ["status"]);

    let (status, approved) = post(
        &c,
        &format!("/v1/rebalancing/{id}/approve"),
        &json!({"reason": "Agreed."}),
    )
    .await;
    assert_eq!(status, 200, "{approved}");
    assert_eq!(approved["status"], "approved");
    let mut after = budgets(&c).await;
    after.sort();
    assert_eq!(
        after,
        [
            ("google".into(), 300_000_000),
            ("meta".into(), 444_000_000),
            ("tiktok".into(), 256_000_000)
        ]
    );
    let (status, _) = post(&c, &format!("/v1/rebalancing/{id}/approve"), &json!({})).await;
    assert_eq!(status, 409, "a shift is approved once");

    // The old shape of the threshold is refused, naming it.
    let (status, err) = put(
        &c,
        "/v1/twin/settings",
        &json!({"approval_threshold_micros": 50_000_000}),
    )
    .await;
    assert_eq!(status, 422, "{err}");
    assert!(
        err.to_string().contains("approval_threshold_micros"),
        "{err}"
    );

    // A threshold in another currency than the budgets cannot be compared
    // without an exchange rate: however high, every shift waits.
    let (status, body) = put(
        &c,
        "/v1/twin/settings",
        &json!({"approval_threshold": {"amount": "1000000", "currency": "EUR"}}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let third = svc
        .rebalance_org(
            &kiki_core::TenantScope::single(org),
            datetime!(2026-11-24 10:15 UTC),
        )
        .await
        .unwrap();
    assert_eq!((third.applied, third.pending_approval), (0, 1));
    let mut held = budgets(&c).await;
    held.sort();
    assert_eq!(held, after, "a pending shift does not move money");
    let (_, pending) = get(&c, "/v1/rebalancing?status=pending_approval").await;
    let text = pending["items"][0]["explanation"].as_str().unwrap();
    assert!(
        text.ends_with("The approval threshold of €1,000,000.00 is in EUR, the budgets are in USD, and there is no exchange rate to compare them, so the shift needs approval before it is applied."),
        "{text}"
    );
    assert!(!text.contains("above $0.00"), "{text}");
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn budgets_and_performance_rows_are_validated_field_by_field() {
    let (app, _clock) = spawn().await;
    let boss = admin(&app, "valid@jobs.test", "Valid Org").await;
    let c = boss.caller(&app);
    let (status, err) = put(&c, "/v1/twin/budgets", &json!({"currency": "USD", "platforms": [
        {"platform": "myspace", "daily_budget": {"micros": 1, "currency": "USD"}},
        {"platform": "meta", "daily_budget": {"micros": -5, "currency": "USD"}},
        {"platform": "google", "daily_budget": {"micros": 10, "currency": "USD"}, "min_daily_budget": {"micros": 20, "currency": "USD"}, "max_daily_budget": {"micros": 5, "currency": "USD"}}
    ]})).await;
    assert_eq!(status, 422, "{err}");
    let fields = error_fields(&err);
    for f in [
        "platforms[0].platform",
        "platforms[1].daily_budget",
        "platforms[2].max_daily_budget",
    ] {
        assert!(fields.iter().any(|x| x == f), "{f} in {fields:?}");
    }
    let row = json!({"platform": "meta", "day": "2026-11-20", "currency": "USD", "spend": {"micros": 1, "currency": "USD"}, "impressions": 10, "clicks": 20, "conversions": 1.0, "revenue": {"micros": 0, "currency": "USD"}});
    let (status, err) = post(
        &c,
        "/v1/twin/performance",
        &json!({"rows": [row.clone(), row]}),
    )
    .await;
    assert_eq!(status, 422);
    let fields = error_fields(&err);
    assert!(fields.contains(&"rows[0].clicks".to_owned()), "{fields:?}");
    assert!(fields.contains(&"rows[1]".to_owned()), "{fields:?}");
    let (status, err) = post(
        &c,
        "/v1/twin/performance",
        &json!({"rows": [{"platform": "meta", "day": "2026-13-40"}]}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(error_fields(&err), ["rows[0].day"]);
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_shift_is_cut_so_the_best_platform_stays_within_its_maximum() {
    let (app, _clock) = spawn().await;
    let boss = admin(&app, "bounds@jobs.test", "Bounds Org").await;
    let c = boss.caller(&app);
    let (status, body) = put(&c, "/v1/twin/budgets", &json!({"currency": "USD", "platforms": [
        {"platform": "meta", "daily_budget": {"micros": 300_000_000, "currency": "USD"}, "max_daily_budget": {"micros": 330_000_000, "currency": "USD"}},
        {"platform": "google", "daily_budget": {"micros": 300_000_000, "currency": "USD"}},
        {"platform": "tiktok", "daily_budget": {"micros": 400_000_000, "currency": "USD"}}
    ]})).await;
    assert_eq!(status, 200, "{body}");
    post(
        &c,
        "/v1/twin/performance",
        &json!({"rows": week_of_actuals()}),
    )
    .await;
    let out = service(&app)
        .rebalance_org(
            &kiki_core::TenantScope::single(kiki_core::OrgId(boss.org_id)),
            datetime!(2026-11-24 10:05 UTC),
        )
        .await
        .unwrap();
    assert_eq!(out.applied, 1);
    let mut b = budgets(&c).await;
    b.sort();
    assert_eq!(
        b,
        [
            ("google".into(), 300_000_000),
            ("meta".into(), 330_000_000),
            ("tiktok".into(), 370_000_000)
        ]
    );
    let (_, shifts) = get(&c, "/v1/rebalancing?status=applied").await;
    assert_eq!(shifts["items"][0]["amount"]["micros"], 30_000_000);
    app.shutdown().await.unwrap();
}
