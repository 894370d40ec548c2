//! What a simulation counts as profit and against what: the organisation's
//! contribution margin, the counterfactual of no new spend (a zero plan adds
//! exactly nothing), the baseline from recorded history or required, and
//! the words that say when figures rest on industry priors.

use kiki_test_support::identity::{admin, error_fields, json};
use serde_json::{Value, json};

use crate::{get, post, request, spawn};

fn reason(sim: &Value) -> &str {
    sim["gate"]["reason"].as_str().expect("a gate reason")
}

#[tokio::test]
async fn a_zero_plan_adds_exactly_nothing_and_is_rejected() {
    let (app, _clock) = spawn().await;
    let boss = admin(&app, "zero@profit.test", "Zero Org").await;
    let c = boss.caller(&app);
    let mut body = request(5, 500);
    for line in body["plan"]["allocations"].as_array_mut().unwrap() {
        line["daily_budget"]["micros"] = json!(0);
    }
    let (status, sim) = post(&c, "/v1/simulations", &body).await;
    assert_eq!(status, 200, "{sim}");
    let result = &sim["report"]["result"];
    assert_eq!(result["expected_uplift"]["micros"], 0, "{result}");
    assert_eq!(
        result["uplift"],
        json!({"p10": {"micros": 0, "currency": "USD"}, "p50": {"micros": 0, "currency": "USD"}, "p90": {"micros": 0, "currency": "USD"}})
    );
    assert_eq!(sim["confidence"], 0.0);
    assert_eq!(sim["gate"]["approved"], false);
    assert!(
        reason(&sim).contains("the plan spends nothing, so it adds nothing"),
        "{}",
        reason(&sim)
    );
    assert_eq!(sim["fee"]["expected_fee"]["micros"], 0);
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_plan_under_priors_says_so_in_the_verdict_the_record_and_the_grades() {
    let (app, _clock) = spawn().await;
    let boss = admin(&app, "priors@profit.test", "Priors Org").await;
    let c = boss.caller(&app);
    let (status, sim) = post(&c, "/v1/simulations", &request(11, 500)).await;
    assert_eq!(status, 200, "{sim}");
    let result = &sim["report"]["result"];
    assert_eq!(result["confidence_basis"], "prior_based", "{result}");
    let grades = result["data_quality"].as_array().expect("grades");
    assert_eq!(grades.len(), 2, "{result}");
    assert_eq!(grades[0]["platform"], "meta");
    assert_eq!(grades[0]["grade"], "priors_only");
    assert_eq!(grades[0]["days"], 0);
    assert_eq!(
        grades[0]["note"],
        "no performance history for Meta: planning assumptions, not measurements"
    );
    let words =
        "No performance history for Meta and Google: planning assumptions, not measurements";
    assert!(reason(&sim).contains(words), "{}", reason(&sim));
    assert!(reason(&sim).contains("(prior-based)"), "{}", reason(&sim));
    assert!(!reason(&sim).contains("micros"), "{}", reason(&sim));
    assert!(
        reason(&sim)
            .contains("No contribution margin configured: assuming 100 %, revenue = profit."),
        "{}",
        reason(&sim)
    );
    assert_eq!(sim["gate"]["inputs"]["confidence_basis"], "prior_based");
    assert_eq!(
        sim["margin"]["description"],
        "not configured: assuming 100 %, revenue = profit"
    );

    let id = sim["id"].as_str().unwrap();
    let (_, decisions) = get(
        &c,
        &format!("/v1/decisions?kind=launch_gate&subject_id={id}"),
    )
    .await;
    let d = &decisions["items"][0];
    assert!(d["explanation"].as_str().unwrap().contains(words), "{d}");
    assert_eq!(
        d["inputs"]["margin"],
        "not configured: assuming 100 %, revenue = profit"
    );
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_organisations_margin_counts_profit_and_is_named() {
    let (app, _clock) = spawn().await;
    let boss = admin(&app, "margin@profit.test", "Margin Org").await;
    let c = boss.caller(&app);
    let (_, full) = post(&c, "/v1/simulations", &request(21, 1000)).await;

    let (status, org) = json(
        c.patch(
            &format!("/v1/organisations/{}", boss.org_id),
            &json!({"contribution_margin_bps": 3000}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{org}");
    let (status, thirty) = post(&c, "/v1/simulations", &request(21, 1000)).await;
    assert_eq!(status, 200, "{thirty}");
    let r = &thirty["report"]["result"];
    assert_eq!(
        r["margin"],
        json!({"contribution_margin": 0.3, "source": "configured"})
    );
    assert_eq!(
        thirty["margin"],
        json!({"contribution_margin": 0.3, "source": "configured", "description": "configured 30 %"})
    );
    assert!(
        reason(&thirty).contains("Profit at the configured 30 % contribution margin."),
        "{}",
        reason(&thirty)
    );
    // Same seed and market: 30 % of the same revenue uplift, minus the spend.
    let revenue = full["report"]["result"]["counterfactual"]["incremental_revenue"]["micros"]
        .as_i64()
        .unwrap();
    assert_eq!(
        r["counterfactual"]["incremental_revenue"]["micros"].as_i64(),
        Some(revenue)
    );
    let spend = r["expected_spend"]["micros"].as_i64().unwrap();
    let want = 0.3 * revenue as f64 - spend as f64;
    let got = r["expected_uplift"]["micros"].as_i64().unwrap() as f64;
    assert!((got - want).abs() <= 2.0, "{got} vs {want}");

    let (_, settings) = get(&c, "/v1/twin/settings").await;
    assert_eq!(settings["margin"]["contribution_margin"], 0.3, "{settings}");

    // The revenue contract counts revenue as profit again, and says so.
    let (status, _) = json(
        c.patch(
            &format!("/v1/organisations/{}", boss.org_id),
            &json!({"profit_basis": "revenue"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    let (_, revenue_basis) = post(&c, "/v1/simulations", &request(21, 1000)).await;
    assert_eq!(
        revenue_basis["report"]["result"]["expected_uplift"]["micros"],
        full["report"]["result"]["expected_uplift"]["micros"]
    );
    assert!(
        reason(&revenue_basis).contains("as the contract provides"),
        "{}",
        reason(&revenue_basis)
    );
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_baseline_comes_from_recorded_history_else_it_is_required() {
    let (app, _clock) = spawn().await;
    let boss = admin(&app, "baseline@profit.test", "Baseline Org").await;
    let c = boss.caller(&app);
    let mut body = request(3, 300);
    body["plan"]
        .as_object_mut()
        .unwrap()
        .remove("organic_revenue");

    let (status, err) = post(&c, "/v1/simulations", &body).await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(error_fields(&err), ["plan.organic_revenue"], "{err}");

    // Ten recorded days of 500 a day on Meta.
    let rows: Vec<Value> = (1..=10)
        .map(|d| {
            json!({
                "platform": "meta", "day": format!("2026-11-{d:02}"), "currency": "USD",
                "spend": {"micros": 150_000_000, "currency": "USD"}, "impressions": 12_000, "clicks": 150,
                "conversions": 5.0, "revenue": {"micros": 500_000_000, "currency": "USD"}
            })
        })
        .collect();
    let (status, up) = post(&c, "/v1/twin/performance", &json!({"rows": rows})).await;
    assert_eq!(status, 200, "{up}");

    let (status, sim) = post(&c, "/v1/simulations", &body).await;
    assert_eq!(status, 200, "{sim}");
    // 500 a day × 30 days.
    assert_eq!(sim["plan"]["organic_revenue"]["micros"], 15_000_000_000_i64);
    let r = &sim["report"];
    assert_eq!(
        r["result"]["counterfactual"]["revenue_without_plan"]["micros"],
        15_000_000_000_i64
    );
    assert_eq!(
        r["baseline_source"],
        "baseline revenue from the recorded history: $500.00 a day over 10 recorded days"
    );
    let grades = r["result"]["data_quality"].as_array().unwrap();
    assert_eq!(grades[0]["grade"], "thin", "{grades:?}");
    assert_eq!(grades[0]["days"], 10);
    assert_eq!(grades[1]["grade"], "priors_only");
    assert!(
        reason(&sim).contains("thin history for Meta (10 days)"),
        "{}",
        reason(&sim)
    );
    app.shutdown().await.unwrap();
}
