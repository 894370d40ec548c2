//! The launched plans' no-new-spend baselines analytics reads: per plan day,
//! the day's carry-over (the difference of the projection's cumulative
//! median), only for approved simulations, only for organisations the scope
//! reaches.

use kiki_core::{OrgId, TenantScope};
use kiki_test_support::identity::admin;
use serde_json::{Value, json};
use time::macros::date;

use crate::{get, post, service, spawn};

fn plan(platform: &str, start: &str) -> Value {
    json!({
        "plan": {
            "currency": "USD",
            "allocations": [{"platform": platform, "daily_budget": {"micros": 100_000_000, "currency": "USD"}}],
            "duration_days": 5,
            "start_date": start,
            "organic_revenue": {"micros": 0, "currency": "USD"}
        },
        "options": {"runs": 300, "seed": 5}
    })
}

#[tokio::test]
async fn a_launched_plan_s_baseline_is_its_daily_carry_over() {
    let (app, _clock) = spawn().await;
    let boss = admin(&app, "baseline@twin.test", "Baseline Org").await;
    let other = admin(&app, "other@twin.test", "Other Org").await;
    let c = boss.caller(&app);
    // Meta history before the plan, so past spend carries over.
    let rows: Vec<Value> = (0..28)
        .map(|i| {
            let day = date!(2026 - 10 - 01) + time::Duration::days(i);
            json!({
                "platform": "meta", "day": day.to_string(), "currency": "USD",
                "spend": {"micros": 100_000_000, "currency": "USD"}, "impressions": 10_000,
                "clicks": 150, "conversions": 5.0,
                "revenue": {"micros": 250_000_000, "currency": "USD"}
            })
        })
        .collect();
    let (status, body) = post(&c, "/v1/twin/performance", &json!({"rows": rows})).await;
    assert_eq!(status, 200, "{body}");
    let (_, launched) = post(&c, "/v1/simulations", &plan("meta", "2026-11-01")).await;
    let (_, rejected) = post(&c, "/v1/simulations", &plan("google", "2026-11-01")).await;
    for (sim, decision) in [(&launched, "approve"), (&rejected, "reject")] {
        let id = sim["id"].as_str().unwrap();
        let (status, body) = post(
            &c,
            &format!("/v1/simulations/{id}/decision"),
            &json!({"decision": decision, "reason": "For the baseline test."}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
    }
    let (_, sim) = get(
        &c,
        &format!("/v1/simulations/{}", launched["id"].as_str().unwrap()),
    )
    .await;
    let cum: Vec<i64> = sim["report"]["result"]["projection"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["carry_over_revenue"]["micros"].as_i64().unwrap())
        .collect();
    assert_eq!(cum.len(), 5);
    assert!(cum[0] > 0, "past spend carries over: {cum:?}");

    let svc = service(&app);
    let scope = TenantScope::single(OrgId(boss.org_id));
    // 2–3 November: the plan's days 2 and 3.
    let b = svc
        .launch_baselines(
            &scope,
            &[OrgId(boss.org_id)],
            date!(2026 - 11 - 02),
            date!(2026 - 11 - 03),
        )
        .await
        .unwrap();
    assert_eq!(b.fee_rate_bps, 2000);
    assert_eq!(b.plans.len(), 1, "only the approved plan: {b:?}");
    let p = &b.plans[0];
    assert_eq!(
        p.simulation_id.to_string(),
        launched["id"].as_str().unwrap()
    );
    assert_eq!(p.platforms, vec!["meta".to_owned()]);
    assert_eq!(
        (p.start_day, p.last_day),
        (date!(2026 - 11 - 01), date!(2026 - 11 - 05))
    );
    let days: Vec<_> = p.days.iter().map(|d| (d.date, d.revenue.micros)).collect();
    assert_eq!(
        days,
        vec![
            (date!(2026 - 11 - 02), cum[1] - cum[0]),
            (date!(2026 - 11 - 03), cum[2] - cum[1]),
        ]
    );
    // A range the plan does not reach: nothing.
    let none = svc
        .launch_baselines(
            &scope,
            &[OrgId(boss.org_id)],
            date!(2026 - 11 - 06),
            date!(2026 - 11 - 30),
        )
        .await
        .unwrap();
    assert!(none.plans.is_empty());
    // Another organisation is out of this scope's reach.
    assert!(
        svc.launch_baselines(
            &scope,
            &[OrgId(other.org_id)],
            date!(2026 - 11 - 01),
            date!(2026 - 11 - 05)
        )
        .await
        .is_err()
    );
    app.shutdown().await.unwrap();
}
