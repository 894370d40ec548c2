//! Experiments end to end: create, upload GeoLift's panel, register (plan
//! frozen with its hash), analyse as registered — GeoLift's published
//! figures through the API — re-run to the same hashes and numbers; and
//! what is refused: edits after registration, analyses of drafts, a
//! re-cut pre-period, bad fields, another organisation.

use kiki_lift_service::domain::{LiftPlan, analyze, content_hash, panel_from_csv};
use kiki_test_support::identity::admin;
use serde_json::json;

use super::*;

fn close(v: &Value, want: f64, tol: f64) -> bool {
    v.as_f64().is_some_and(|x| (x - want).abs() < tol)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn geolift_walkthrough_is_registered_analysed_and_reproduced_through_the_api() {
    let app = spawn().await;
    let owner = admin(&app, "owner@lift.test", "Lift agency").await;
    let c = owner.caller(&app);
    let id = create(&c, &walkthrough()).await;

    // A draft can be edited; it cannot be analysed.
    let mut edited = walkthrough();
    edited["description"] = json!("Meta prospecting");
    let (status, v) = put(&c, &format!("/v1/experiments/lift/{id}"), &edited).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["status"], "draft");
    assert_eq!(v["plan"]["alpha"], 0.1, "defaults are written out: {v}");
    let (status, v) = post_empty(&c, &format!("/v1/experiments/lift/{id}/analyses")).await;
    assert_eq!(status, 409, "{v}");
    // Registration needs the panel.
    let (status, v) = post_empty(&c, &format!("/v1/experiments/lift/{id}/register")).await;
    assert_eq!(status, 409, "{v}");

    let (status, panel) = upload_csv(&c, &id, GEOLIFT_TEST).await;
    assert_eq!(status, 200, "{panel}");
    assert_eq!(panel["markets"].as_array().map(Vec::len), Some(40));
    assert_eq!(panel["days"], 105);
    assert_eq!(panel["first_day"], "2021-01-01");
    assert_eq!(panel["last_day"], "2021-04-15");

    let (status, reg) = post_empty(&c, &format!("/v1/experiments/lift/{id}/register")).await;
    assert_eq!(status, 200, "{reg}");
    assert_eq!(reg["status"], "registered");
    let plan_hash = reg["plan_hash"].as_str().expect("a plan hash").to_owned();
    assert_eq!(plan_hash.len(), 64);
    assert!(reg["pre_period_hash"].is_string(), "{reg}");

    // Registered: the plan never changes, the pre-period is never re-cut.
    let mut moved = walkthrough();
    moved["plan"]["test_end"] = json!("2021-04-10");
    let (status, v) = put(&c, &format!("/v1/experiments/lift/{id}"), &moved).await;
    assert_eq!(status, 409, "{v}");
    let (status, v) = post_empty(&c, &format!("/v1/experiments/lift/{id}/register")).await;
    assert_eq!(status, 409, "{v}");
    let recut = GEOLIFT_TEST.replacen("chicago,2021-01-05,", "chicago,2021-01-05,1", 1);
    assert_ne!(recut, GEOLIFT_TEST, "the fixture has the row");
    let (status, v) = upload_csv(&c, &id, &recut).await;
    assert_eq!(status, 409, "{v}");
    let (status, same) = upload_csv(&c, &id, GEOLIFT_TEST).await;
    assert_eq!(status, 200, "{same}");
    assert_eq!(same["panel_hash"], panel["panel_hash"]);

    let (status, v) = post_empty(&c, &format!("/v1/experiments/lift/{id}/start")).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["status"], "running");

    let (status, a) = post_empty(&c, &format!("/v1/experiments/lift/{id}/analyses")).await;
    assert_eq!(status, 201, "{a}");
    let e = &a["estimate"];
    // GeoLift's walkthrough prints ATT 155.556, incremental 4,667, lift
    // 5.4 %, L2 imbalance 909.489, scaled 0.1636.
    assert!(close(&e["att"], 155.556, 0.5e-3), "{e}");
    assert_eq!(
        e["incremental"].as_f64().map(f64::round),
        Some(4667.0),
        "{e}"
    );
    assert!(close(&e["lift"], 0.054, 0.0005), "{e}");
    assert!(
        close(&e["diagnostics"]["l2_imbalance"], 909.489, 0.5e-3),
        "{e}"
    );
    assert!(
        close(&e["diagnostics"]["scaled_l2_imbalance"], 0.1636, 0.5e-4),
        "{e}"
    );
    let weights = e["weights"].as_array().expect("weights");
    for (i, (market, w)) in [
        ("cincinnati", 0.2272),
        ("miami", 0.2028),
        ("baton rouge", 0.1335),
    ]
    .iter()
    .enumerate()
    {
        assert_eq!(weights[i]["market"], *market, "{e}");
        assert!(close(&weights[i]["weight"], *w, 0.5e-4), "{e}");
    }
    assert_eq!(weights.len(), 13, "{e}");
    // The conformal test of the average, two-sided: 12 of 105 shifts, and
    // an interval that crosses zero (not significant at 10 %).
    assert!(close(&e["p_value"], 12.0 / 105.0, 1e-12), "{e}");
    assert_eq!(e["significant"], false);
    assert!(
        e["incremental_interval"]["lower"].as_f64().unwrap() < 0.0,
        "{e}"
    );
    assert!(
        close(&e["incremental_interval"]["lower"], -487.0, 1.0),
        "{e}"
    );
    assert!(
        close(&e["incremental_interval"]["upper"], 8482.0, 1.0),
        "{e}"
    );
    assert_eq!(e["diagnostics"]["pre_days"], 90);
    assert_eq!(e["diagnostics"]["test_days"], 15);
    assert_eq!(a["plan_hash"], plan_hash.as_str());
    assert_eq!(a["panel_hash"], panel["panel_hash"]);

    // Re-run: the same inputs give the same hashes and numbers.
    let (status, b) = post_empty(&c, &format!("/v1/experiments/lift/{id}/analyses")).await;
    assert_eq!(status, 201, "{b}");
    assert_ne!(a["id"], b["id"]);
    assert_eq!(a["inputs_hash"], b["inputs_hash"]);
    assert_eq!(a["result_hash"], b["result_hash"]);
    assert_eq!(a["estimate"], b["estimate"]);
    assert_eq!(a["result"], b["result"]);

    let (_, exp) = get(&c, &format!("/v1/experiments/lift/{id}")).await;
    assert_eq!(exp["status"], "analysed");

    // Anyone holding the registered plan and the data re-runs it offline
    // to the same hashes (what `kiki lift analyze` does).
    let plan: LiftPlan = serde_json::from_value(exp["plan"].clone()).unwrap();
    assert_eq!(content_hash(&plan), plan_hash);
    let (panel, _) =
        panel_from_csv(GEOLIFT_TEST.as_bytes(), &Default::default(), usize::MAX).unwrap();
    let (result, inputs) = analyze(&plan, &panel).unwrap();
    assert_eq!(content_hash(&inputs), a["inputs_hash"].as_str().unwrap());
    assert_eq!(
        content_hash(&serde_json::to_value(&result).unwrap()),
        a["result_hash"].as_str().unwrap()
    );
    assert_eq!(
        exp["plan_hash"],
        plan_hash.as_str(),
        "the hash never changes"
    );
    let (status, list) = get(&c, &format!("/v1/experiments/lift/{id}/analyses?limit=1")).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["items"][0]["id"], b["id"]);
    let cursor = list["next_cursor"].as_str().expect("a second page");
    let (_, page2) = get(
        &c,
        &format!("/v1/experiments/lift/{id}/analyses?limit=1&cursor={cursor}"),
    )
    .await;
    assert_eq!(page2["items"][0]["id"], a["id"]);
    assert!(page2["next_cursor"].is_null());

    // Registration and analyses are decision-recorded.
    let (_, decisions) = get(&c, "/v1/decisions").await;
    let kinds: Vec<&str> = decisions["items"]
        .as_array()
        .expect("decisions")
        .iter()
        .filter_map(|d| d["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"lift_plan_registered"), "{kinds:?}");
    assert_eq!(
        kinds.iter().filter(|k| **k == "lift_analysis").count(),
        2,
        "{kinds:?}"
    );
    app.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_fields_are_named_and_another_organisation_sees_nothing() {
    let app = spawn().await;
    let a = admin(&app, "a@lift.test", "Agency A").await;
    let b = admin(&app, "b@lift.test", "Agency B").await;
    let ca = a.caller(&app);
    let cb = b.caller(&app);

    let mut bad = walkthrough();
    bad["plan"]["alpha"] = json!(0.9);
    bad["plan"]["treated"] = json!(["chicago", "chicago"]);
    bad["plan"]["test_start"] = json!("2020-12-01");
    let (status, v) = post(&ca, "/v1/experiments/lift", &bad).await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(
        fields(&v),
        ["plan.treated[1]", "plan.test_start", "plan.alpha"],
        "{v}"
    );
    let mut unknown = walkthrough();
    unknown["plan"]["window"] = json!(3);
    let (status, v) = post(&ca, "/v1/experiments/lift", &unknown).await;
    assert_eq!(status, 422, "{v}");
    assert!(v.to_string().contains("window"), "{v}");

    let id = create(&ca, &walkthrough()).await;
    let (status, v) = upload_csv(
        &ca,
        &id,
        "location,date,Y\nchicago,2021-01-01,3\nportland,2021-01-32,4\ndallas,2021-01-01,lots\n",
    )
    .await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(fields(&v), ["date", "Y"], "{v}");
    assert_eq!(v["error"]["details"]["total"], 2);
    // A plan naming a market the panel lacks is refused at registration.
    let mut elsewhere = walkthrough();
    elsewhere["plan"]["treated"] = json!(["chicago", "atlantis"]);
    let other = create(&ca, &elsewhere).await;
    let (status, _) = upload_csv(&ca, &other, GEOLIFT_TEST).await;
    assert_eq!(status, 200);
    let (status, v) = post_empty(&ca, &format!("/v1/experiments/lift/{other}/register")).await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(fields(&v), ["plan.treated[1]"], "{v}");

    // B sees nothing of A's.
    let (status, _) = upload_csv(&ca, &id, GEOLIFT_TEST).await;
    assert_eq!(status, 200);
    for path in [
        format!("/v1/experiments/lift/{id}"),
        format!("/v1/experiments/lift/{id}/panel"),
        format!("/v1/experiments/lift/{id}/analyses"),
        format!("/v1/experiments/lift/{id}/designs"),
    ] {
        let (status, v) = get(&cb, &path).await;
        assert_eq!(status, 404, "{path}: {v}");
    }
    for path in [
        format!("/v1/experiments/lift/{id}/register"),
        format!("/v1/experiments/lift/{id}/analyses"),
    ] {
        let (status, v) = post_empty(&cb, &path).await;
        assert_eq!(status, 404, "{path}: {v}");
    }
    let (status, v) = upload_csv(&cb, &id, GEOLIFT_TEST).await;
    assert_eq!(status, 404, "{v}");
    let (status, v) = put(&cb, &format!("/v1/experiments/lift/{id}"), &walkthrough()).await;
    assert_eq!(status, 404, "{v}");
    let (_, list) = get(&cb, "/v1/experiments/lift").await;
    assert_eq!(list["items"], json!([]), "{list}");
    let (_, list) = get(&ca, "/v1/experiments/lift?status=draft").await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2), "{list}");
    app.shutdown().await.unwrap();
}
