//! Simulations: gate, storage, decision record and audit entry, seeds,
//! field errors, overrides, queued simulations, tenant isolation.

use kiki_test_support::identity::{admin, error_fields, member};
use serde_json::{Value, json};

use crate::{get, poll, post, request, spawn, spawn_with};

#[tokio::test]
async fn a_simulation_returns_confidence_risk_and_the_gate_and_is_stored_with_its_records() {
    let (app, _clock) = spawn().await;
    let boss = admin(&app, "owner@sim.test", "Sim Org").await;
    let c = boss.caller(&app);

    let (status, body) = post(&c, "/v1/simulations", &request(42, 2000)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "done");
    let confidence = body["confidence"].as_f64().expect("a confidence");
    assert!((0.0..=1.0).contains(&confidence));
    assert!(body["risk_level"].is_string());
    let approved = body["gate"]["approved"].as_bool().expect("a gate verdict");
    assert_eq!(
        approved,
        confidence >= 0.85
            && body["gate"]["inputs"]["hard_violations"]
                .as_array()
                .is_some_and(Vec::is_empty)
    );
    assert_eq!(body["approval"]["decided_by_kind"], "engine");
    assert_eq!(body["fee"]["fee_rate_bps"], 2000);
    assert!(
        body["fee"]["client_expected_share"].is_object(),
        "{}",
        body["fee"]
    );
    assert!(
        body["report"]["result"]["projection"]
            .as_array()
            .is_some_and(|p| p.len() == 30)
    );
    assert!(body["model_id"].is_string());

    let id = body["id"].as_str().expect("an id").to_owned();
    let (status, stored) = get(&c, &format!("/v1/simulations/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(stored["confidence"], body["confidence"]);
    assert_eq!(stored["gate"], body["gate"]);

    let (_, list) = get(&c, "/v1/simulations").await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    assert!(
        list["items"][0].get("report").is_none(),
        "lists omit the report"
    );

    let (status, decisions) = get(
        &c,
        &format!("/v1/decisions?kind=launch_gate&subject_id={id}"),
    )
    .await;
    assert_eq!(status, 200, "{decisions}");
    let d = &decisions["items"][0];
    assert_eq!(d["engine"], "kiki-twin");
    assert_eq!(d["confidence"], body["confidence"]);
    assert_eq!(d["explanation"], body["gate"]["reason"]);
    assert_eq!(d["output"]["approved"], approved);

    let (status, audit) = get(&c, "/v1/audit?action=twin.simulation.gated").await;
    assert_eq!(status, 200, "{audit}");
    assert_eq!(audit["items"][0]["target_id"], id.as_str());
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_same_seed_gives_the_same_result() {
    let (app, _clock) = spawn().await;
    let boss = admin(&app, "seed@sim.test", "Seed Org").await;
    let c = boss.caller(&app);
    let (_, a) = post(&c, "/v1/simulations", &request(7, 1000)).await;
    let (_, b) = post(&c, "/v1/simulations", &request(7, 1000)).await;
    assert_ne!(a["id"], b["id"]);
    assert_eq!(a["confidence"], b["confidence"]);
    assert_eq!(a["report"]["result"], b["report"]["result"]);
    assert_eq!(a["gate"]["reason"], b["gate"]["reason"]);
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn invalid_plans_are_refused_with_422_naming_each_field() {
    let (app, _clock) = spawn().await;
    let boss = admin(&app, "bad@sim.test", "Bad Org").await;
    let c = boss.caller(&app);
    type Edit = fn(&mut Value);
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "negative budget",
            |r| r["plan"]["allocations"][1]["daily_budget"]["micros"] = json!(-1),
            "plan.allocations[1].daily_budget",
        ),
        (
            "empty allocation",
            |r| r["plan"]["allocations"] = json!([]),
            "plan.allocations",
        ),
        (
            "unknown platform",
            |r| r["plan"]["allocations"][0]["platform"] = json!("myspace"),
            "plan.allocations[0].platform",
        ),
        (
            "duration 0",
            |r| r["plan"]["duration_days"] = json!(0),
            "plan.duration_days",
        ),
        (
            "NaN as a string",
            |r| r["plan"]["target_roas"] = json!("NaN"),
            "plan.target_roas",
        ),
        (
            "null duration",
            |r| r["plan"]["duration_days"] = Value::Null,
            "plan.duration_days",
        ),
        (
            "huge budget",
            |r| r["plan"]["allocations"][0]["daily_budget"]["micros"] = json!(1e30),
            "plan.allocations[0].daily_budget.micros",
        ),
        (
            "both micros and a decimal amount",
            |r| r["plan"]["allocations"][0]["daily_budget"]["amount"] = json!("200.00"),
            "plan.allocations[0].daily_budget.micros",
        ),
        (
            "neither micros nor a decimal amount",
            |r| r["plan"]["allocations"][0]["daily_budget"] = json!({"currency": "USD"}),
            "plan.allocations[0].daily_budget",
        ),
        (
            "a decimal amount finer than a micro",
            |r| {
                r["plan"]["allocations"][0]["daily_budget"] =
                    json!({"amount": "1.0000001", "currency": "USD"})
            },
            "plan.allocations[0].daily_budget.amount",
        ),
        (
            "a budget in another currency than the plan's",
            |r| r["plan"]["allocations"][0]["daily_budget"]["currency"] = json!("EUR"),
            "plan.allocations[0].daily_budget.currency",
        ),
        (
            "huge duration",
            |r| r["plan"]["duration_days"] = json!(99_999_999_999u64),
            "plan.duration_days",
        ),
        (
            "overflowing total",
            |r| r["plan"]["allocations"][0]["daily_budget"]["micros"] = json!(i64::MAX / 2),
            "plan.duration_days",
        ),
        (
            "zero runs",
            |r| r["options"]["runs"] = json!(0),
            "options.runs",
        ),
        (
            "negative ROAS target",
            |r| r["plan"]["target_roas"] = json!(-2.0),
            "plan.target_roas",
        ),
    ];
    for (name, edit, field) in cases {
        let mut r = request(1, 100);
        edit(&mut r);
        let (status, body) = post(&c, "/v1/simulations", &r).await;
        assert_eq!(status, 422, "{name}: {body}");
        assert!(
            error_fields(&body).iter().any(|f| f == field),
            "{name}: {body}"
        );
    }
    // A number JSON cannot hold is malformed JSON: 400, never 500.
    let resp = c
        .request(reqwest::Method::POST, "/v1/simulations")
        .header("content-type", "application/json")
        .body(r#"{"plan": {"currency": "USD", "allocations": [], "duration_days": 30, "target_roas": 1e999, "baseline_revenue": {"micros": 0, "currency": "USD"}, "baseline_ad_spend": {"micros": 0, "currency": "USD"}}}"#)
        .send()
        .await
        .unwrap();
    assert!(
        matches!(resp.status().as_u16(), 400 | 422),
        "{}",
        resp.status()
    );
    let (_, list) = get(&c, "/v1/simulations").await;
    assert_eq!(
        list["items"].as_array().map(Vec::len),
        Some(0),
        "nothing stored"
    );
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_override_needs_budget_approval_and_a_reason_and_is_recorded() {
    let (app, _clock) = spawn().await;
    let boss = admin(&app, "boss@sim.test", "Override Org").await;
    let c = boss.caller(&app);
    let viewer = member(&app, &c, "viewer", "viewer@sim.test").await;
    let v = viewer.caller(&app);
    let (_, sim) = post(&c, "/v1/simulations", &request(3, 500)).await;
    let id = sim["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/simulations/{id}/decision");

    let (status, _) = post(
        &v,
        &path,
        &json!({"decision": "approve", "reason": "why not"}),
    )
    .await;
    assert_eq!(status, 403, "a viewer cannot override");
    let (status, body) = post(&v, "/v1/simulations", &request(3, 100)).await;
    assert_eq!(status, 403, "a viewer cannot simulate: {body}");
    let (status, body) = get(&v, &format!("/v1/simulations/{id}")).await;
    assert_eq!(status, 200, "a viewer can read: {body}");

    for body in [
        json!({"decision": "reject"}),
        json!({"decision": "reject", "reason": "  "}),
    ] {
        let (status, err) = post(&c, &path, &body).await;
        assert_eq!(status, 422, "{err}");
        assert_eq!(error_fields(&err), ["reason"]);
    }
    let (status, err) = post(&c, &path, &json!({"decision": "maybe", "reason": "x"})).await;
    assert_eq!(status, 422);
    assert_eq!(error_fields(&err), ["decision"]);

    let engine = sim["gate"]["approved"].as_bool().unwrap();
    let verdict = if engine { "reject" } else { "approve" };
    let (status, after) = post(
        &c,
        &path,
        &json!({"decision": verdict, "reason": "The client accepts the risk."}),
    )
    .await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(after["approval"]["approved"], !engine);
    assert_eq!(after["approval"]["decided_by_kind"], "user");
    assert_eq!(
        after["gate"], sim["gate"],
        "the gate's own verdict stays on record"
    );

    let (_, decisions) = get(
        &c,
        &format!("/v1/decisions?kind=launch_gate_override&subject_id={id}"),
    )
    .await;
    let d = &decisions["items"][0];
    assert_eq!(d["output"]["approved"], !engine);
    assert!(
        d["explanation"]
            .as_str()
            .unwrap()
            .contains("The client accepts the risk.")
    );
    let (_, audit) = get(&c, "/v1/audit?action=twin.simulation.overridden").await;
    assert_eq!(audit["items"][0]["target_id"], id.as_str());
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_plan_above_the_synchronous_limit_is_queued_and_finishes_as_a_job() {
    let (app, _clock) = spawn_with(Some(json!({"max_sync_work": 1000}))).await;
    let boss = admin(&app, "big@sim.test", "Big Org").await;
    let c = boss.caller(&app);
    let (status, body) = post(&c, "/v1/simulations", &request(11, 200)).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["status"], "pending");
    assert!(body["job_id"].is_string());
    let id = body["id"].as_str().unwrap().to_owned();
    let done = poll(&c, &format!("/v1/simulations/{id}"), |b| {
        b["status"] != "pending"
    })
    .await;
    assert_eq!(done["status"], "done", "{done}");
    assert!(done["confidence"].is_number());
    assert!(done["gate"]["reason"].is_string());

    // The same plan run synchronously (limit lifted) gives the same numbers.
    let (app2, _clock2) = spawn().await;
    let boss2 = admin(&app2, "big2@sim.test", "Big Org 2").await;
    let (_, sync) = post(&boss2.caller(&app2), "/v1/simulations", &request(11, 200)).await;
    assert_eq!(sync["confidence"], done["confidence"]);

    let (_, decisions) = get(
        &c,
        &format!("/v1/decisions?kind=launch_gate&subject_id={id}"),
    )
    .await;
    assert_eq!(decisions["items"].as_array().map(Vec::len), Some(1));
    app.shutdown().await.unwrap();
    app2.shutdown().await.unwrap();
}

#[tokio::test]
async fn another_organisations_simulation_is_not_found() {
    let (app, _clock) = spawn().await;
    let a = admin(&app, "a@iso.test", "Org A").await;
    let b = admin(&app, "b@iso.test", "Org B").await;
    let (_, sim) = post(&a.caller(&app), "/v1/simulations", &request(5, 300)).await;
    let id = sim["id"].as_str().unwrap();
    let bc = b.caller(&app);
    let (status, _) = get(&bc, &format!("/v1/simulations/{id}")).await;
    assert_eq!(status, 404);
    let (status, _) = post(
        &bc,
        &format!("/v1/simulations/{id}/decision"),
        &json!({"decision": "approve", "reason": "mine now"}),
    )
    .await;
    assert_eq!(status, 404);
    let (_, list) = get(&bc, "/v1/simulations").await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(0));
    let (status, _) = get(&bc, "/v1/simulations/not-a-uuid").await;
    assert_eq!(status, 400);
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_allocation_uses_given_curves_or_fits_them_from_priors() {
    let (app, _clock) = spawn().await;
    let boss = admin(&app, "alloc@sim.test", "Alloc Org").await;
    let c = boss.caller(&app);
    let body = json!({
        "currency": "USD",
        // A decimal amount reads exactly as its micros.
        "total_budget": {"amount": "1000.00", "currency": "USD"},
        "objective": "conversions",
        "platforms": [
            {"platform": "meta", "curve": {"max_conversions": 50.0, "hill": {"half_saturation": 500.0, "shape": 1.0}}, "value_per_conversion": {"micros": 80_000_000, "currency": "USD"}},
            {"platform": "google"}
        ]
    });
    let (status, r) = post(&c, "/v1/allocations", &body).await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["curve_sources"], json!(["supplied", "fitted"]));
    let total: i64 = r["allocations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["daily_budget"]["micros"].as_i64().unwrap())
        .sum();
    assert!(total <= 1_000_000_000 && total > 900_000_000, "{r}");
    // Answers give micros, never the decimal amount.
    assert!(
        r["allocations"][0]["daily_budget"].get("amount").is_none(),
        "{r}"
    );
    assert_eq!(r["allocations"][0]["daily_budget"]["currency"], "USD");
    assert!(
        r["allocations"][0]["marginal_roi"].is_number()
            || r["allocations"][0]["marginal_roi"].is_null()
    );
    assert!(r["binding_constraints"].is_array());

    let mut bad = body.clone();
    bad["platforms"][1]["platform"] = json!("friendster");
    bad["platforms"][0]["curve"]["hill"]["shape"] = json!(50.0);
    let (status, err) = post(&c, "/v1/allocations", &bad).await;
    assert_eq!(status, 422, "{err}");
    assert!(
        error_fields(&err).contains(&"platforms[1].platform".to_owned()),
        "{err}"
    );
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_openapi_document_lists_the_twin_routes() {
    let (app, _clock) = spawn().await;
    let resp = app.get("/openapi.json").await;
    assert_eq!(resp.status(), 200);
    let doc: Value = resp.json().await.unwrap();
    let paths = doc["paths"].as_object().expect("paths");
    for p in [
        "/v1/simulations",
        "/v1/simulations/{id}",
        "/v1/simulations/{id}/decision",
        "/v1/allocations",
        "/v1/rebalancing",
        "/v1/rebalancing/{id}/approve",
        "/v1/twin/budgets",
        "/v1/twin/settings",
        "/v1/twin/performance",
    ] {
        assert!(
            paths.contains_key(p),
            "{p} missing from {:?}",
            paths.keys().collect::<Vec<_>>()
        );
    }
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    assert!(schemas.contains_key("SimulationView"));
    assert!(
        schemas.contains_key("Plan"),
        "engine types are documented too"
    );
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_malformed_settings_body_is_refused_and_changes_nothing() {
    let (app, _clock) = spawn().await;
    let boss = admin(&app, "strict@sim.test", "Strict Org").await;
    let c = boss.caller(&app);
    let (status, body) =
        crate::put(&c, "/v1/twin/settings", &json!({"min_confidence": 0.95})).await;
    assert_eq!(status, 200, "{body}");
    for raw in ["[] garbage", "[]", "{} garbage", "null"] {
        let resp = c
            .request(reqwest::Method::PUT, "/v1/twin/settings")
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        assert!(status == 400 || status == 422, "{raw}: {status}");
    }
    let (_, settings) = get(&c, "/v1/twin/settings").await;
    assert_eq!(settings["min_confidence"], json!(0.95), "{settings}");
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn simulation_pages_list_each_once_even_when_they_share_a_time() {
    // The test clock stands still: every simulation has the same created_at,
    // so only the id orders them.
    let (app, _clock) = spawn().await;
    let boss = admin(&app, "pages@sim.test", "Pages Org").await;
    let c = boss.caller(&app);
    let mut created = Vec::new();
    for seed in 0..5 {
        let (status, body) = post(&c, "/v1/simulations", &request(seed, 100)).await;
        assert_eq!(status, 200, "{body}");
        created.push(body["id"].as_str().expect("id").to_owned());
    }
    created.sort();
    created.reverse();
    let mut seen = Vec::new();
    let mut path = "/v1/simulations?limit=2".to_owned();
    loop {
        let (status, page) = get(&c, &path).await;
        assert_eq!(status, 200, "{page}");
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= 2);
        seen.extend(
            items
                .iter()
                .filter_map(|i| i["id"].as_str().map(str::to_owned)),
        );
        match page["next_cursor"].as_str() {
            Some(next) => path = format!("/v1/simulations?limit=2&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(seen, created, "newest (highest id) first, each once");
    for path in [
        "/v1/simulations?cursor=bm90IGEga2V5",
        "/v1/rebalancing?cursor=bm90IGEga2V5",
    ] {
        let (status, err) = get(&c, path).await;
        assert_eq!(
            (status, error_fields(&err)),
            (422, vec!["cursor".to_owned()]),
            "{path}"
        );
    }
    app.shutdown().await.unwrap();
}

/// The LTV figures of a request are checked before it is run or queued: a
/// queued simulation with a share of -1 used to be accepted (202) and fail
/// in its job. Numbers without a fraction are integers, and a currency is
/// three letters with nothing around them, as the API document states.
#[tokio::test]
async fn a_request_is_checked_as_its_schema_states_before_it_is_queued() {
    let (app, _clock) = spawn_with(Some(json!({"max_sync_work": 1000}))).await;
    let boss = admin(&app, "queue@sim.test", "Queue Org").await;
    let c = boss.caller(&app);
    let mut body = request(3, 200);
    body["ltv"] = json!([
        {"platform": "meta", "share": -1.0, "mean": {"micros": 90_000_000, "currency": "USD"}, "std_dev": {"micros": 0, "currency": "USD"}, "customers": 10},
        {"platform": "google", "mean": {"micros": 0, "currency": "USD"}, "std_dev": {"micros": -1, "currency": "USD"}, "customers": 10}
    ]);
    let (status, err) = post(&c, "/v1/simulations", &body).await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(
        error_fields(&err),
        ["ltv[0].share", "ltv[1].mean", "ltv[1].std_dev"]
    );

    let mut body = request(3, 200);
    body["plan"]["currency"] = json!(" usd");
    let (status, err) = post(&c, "/v1/simulations", &body).await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(error_fields(&err), ["plan.currency"]);

    let mut body = request(3, 200);
    body["plan"]["duration_days"] = json!(30.0);
    body["options"]["runs"] = json!(200.0);
    let (status, created) = post(&c, "/v1/simulations", &body).await;
    assert_eq!(status, 202, "{created}");
    assert_eq!(created["plan"]["duration_days"], 30);
}

/// A mirror answer holds at most `limit` reports; it takes no cursor (a plan
/// has at most 366 of them), so the document lists `limit` only.
#[tokio::test]
async fn the_mirror_reports_take_a_limit_and_no_cursor() {
    let (app, _clock) = spawn().await;
    let boss = admin(&app, "mirror@sim.test", "Mirror Org").await;
    let c = boss.caller(&app);
    let (status, sim) = post(&c, "/v1/simulations", &request(5, 200)).await;
    assert_eq!(status, 200, "{sim}");
    let id = sim["id"].as_str().unwrap();
    let (status, reports) = get(&c, &format!("/v1/simulations/{id}/mirror?limit=5")).await;
    assert_eq!(status, 200, "{reports}");
    assert!(reports.as_array().is_some_and(Vec::is_empty), "{reports}");
    let (status, err) = get(&c, &format!("/v1/simulations/{id}/mirror?limit=0")).await;
    assert_eq!(status, 400, "{err}");
    let doc: Value = app.get("/openapi.json").await.json().await.unwrap();
    let names: Vec<&str> = doc["paths"]["/v1/simulations/{id}/mirror"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(names, ["id", "limit"]);
}
