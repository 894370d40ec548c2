//! `GET /v1/jobs/{id}`: a real job (database housekeeping) runs in the
//! worker role and its status, progress and result are reported to a member
//! of the job's organisation — and to nobody else.

use std::time::Duration;

use kiki_core::OrgId;
use kiki_test_support::TestApp;
use serde_json::Value;

/// Signs in as the demo user; returns the access token and the active organisation.
async fn demo_token(app: &TestApp) -> (String, OrgId) {
    let resp = app
        .client
        .post(app.url("/v1/auth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", kiki_identity::bootstrap::DEMO_EMAIL),
            ("password", kiki_identity::bootstrap::DEMO_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let token = resp.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let me: Value = app
        .client
        .get(app.url("/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let org = me["active_org"]["id"].as_str().unwrap().parse().unwrap();
    (token, OrgId(org))
}

#[tokio::test]
async fn a_housekeeping_job_runs_and_its_status_is_reported() {
    let app = TestApp::spawn().await;
    let (token, org) = demo_token(&app).await;
    let id = app
        .state
        .jobs
        .enqueue(
            Some(org),
            kiki_store::HOUSEKEEPING_KIND,
            serde_json::json!({}),
            Default::default(),
        )
        .await
        .unwrap();
    let mut last = Value::Null;
    for _ in 0..200 {
        let resp = app
            .client
            .get(app.url(&format!("/v1/jobs/{id}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
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
async fn jobs_need_a_caller_and_other_tenants_jobs_are_not_found() {
    let app = TestApp::spawn().await;
    let (token, _) = demo_token(&app).await;
    let other = app
        .state
        .jobs
        .enqueue(
            Some(OrgId::new()),
            kiki_store::HOUSEKEEPING_KIND,
            serde_json::json!({}),
            Default::default(),
        )
        .await
        .unwrap();
    let anonymous = app.get(&format!("/v1/jobs/{other}")).await;
    assert_eq!(anonymous.status(), 401);
    for id in [other.0, uuid::Uuid::now_v7()] {
        let resp = app
            .client
            .get(app.url(&format!("/v1/jobs/{id}")))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 404);
    }
}
