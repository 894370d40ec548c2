//! `GET /v1/jobs/{id}`: a real job (database housekeeping) runs in the
//! worker role and its status, progress and result are reported.

use std::time::Duration;

use kiki_test_support::TestApp;
use serde_json::Value;

#[tokio::test]
async fn a_housekeeping_job_runs_and_its_status_is_reported() {
    let app = TestApp::spawn().await;
    let id = app
        .state
        .jobs
        .enqueue(
            None,
            kiki_store::HOUSEKEEPING_KIND,
            serde_json::json!({}),
            Default::default(),
        )
        .await
        .unwrap();
    let mut last = Value::Null;
    for _ in 0..200 {
        let resp = app.get(&format!("/v1/jobs/{id}")).await;
        assert_eq!(resp.status(), 200);
        last = resp.json().await.unwrap();
        if last["status"] == "succeeded" || last["status"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(last["status"], "succeeded", "{last}");
    assert_eq!(last["kind"], kiki_store::HOUSEKEEPING_KIND);
    assert!(last["result"].is_object(), "{last}");
}

#[tokio::test]
async fn an_unknown_job_is_a_404() {
    let app = TestApp::spawn().await;
    let resp = app.get(&format!("/v1/jobs/{}", uuid::Uuid::now_v7())).await;
    assert_eq!(resp.status(), 404);
}
