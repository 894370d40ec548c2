//! Designs before spend run as `lift.design` jobs with progress: a power
//! analysis of the walkthrough's markets completes and is stored with its
//! report; a market the panel lacks is named before anything is queued.

use kiki_core::JobId;
use kiki_store::JobStatus;
use kiki_test_support::identity::{admin, uuid_of};
use serde_json::json;

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_power_design_runs_as_a_job_with_progress_and_is_stored() {
    let app = spawn().await;
    let owner = admin(&app, "designer@lift.test", "Design agency").await;
    let c = owner.caller(&app);
    let id = create(&c, &walkthrough()).await;
    let path = format!("/v1/experiments/lift/{id}/designs");
    // Before a panel exists there is nothing to design on.
    let (status, v) = post(&c, &path, &json!({})).await;
    assert_eq!(status, 409, "{v}");
    let (status, _) = upload_csv(&c, &id, GEOLIFT_TEST).await;
    assert_eq!(status, 200);

    let (status, v) = post(&c, &path, &json!({"treated": ["chicago", "atlantis"]})).await;
    assert_eq!(status, 422, "{v}");
    assert_eq!(fields(&v), ["treated[1]"], "{v}");

    let request = json!({
        "treated": ["chicago", "portland"],
        "durations": [15],
        "effect_sizes": [0.0, 0.1],
        "simulations": 4,
        "pre_periods": 60,
        "budget": {"micros": 50_000_000_000i64, "currency": "USD"},
        "cost_per_incremental_unit": {"micros": 20_000_000, "currency": "USD"}
    });
    let (status, accepted) = post(&c, &path, &request).await;
    assert_eq!(status, 202, "{accepted}");
    let job = app.wait_for_job(JobId(uuid_of(&accepted["job_id"]))).await;
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.last_error);
    assert_eq!(job.kind, "lift.design");
    assert_eq!(job.progress, 1.0);
    assert_eq!(job.progress_message.as_deref(), Some("done"));
    assert_eq!(
        job.result.as_ref().unwrap()["design_id"],
        accepted["design_id"]
    );

    let (status, list) = get(&c, &path).await;
    assert_eq!(status, 200, "{list}");
    let d = &list["items"][0];
    assert_eq!(d["id"], accepted["design_id"]);
    assert_eq!(d["status"], "completed", "{d}");
    assert_eq!(d["mode"], "power");
    let report = &d["report"];
    assert_eq!(
        report["treated"],
        json!(["chicago", "portland"]),
        "{report}"
    );
    let effects = report["durations"][0]["effects"]
        .as_array()
        .expect("effects");
    assert_eq!(effects.len(), 2, "{report}");
    assert!(report["verdict"]["status"].is_string(), "{report}");

    // The design is decision-recorded.
    let (_, decisions) = get(&c, "/v1/decisions").await;
    assert!(
        decisions["items"]
            .as_array()
            .expect("decisions")
            .iter()
            .any(|r| r["kind"] == "lift_design"),
        "{decisions}"
    );
    app.shutdown().await.unwrap();
}
