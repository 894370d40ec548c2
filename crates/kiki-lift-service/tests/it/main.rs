//! Integration tests of the lift service: the real app with the lift module
//! on port 0 against a fresh database (SQLite, or PostgreSQL with
//! `KIKI_TEST_DATABASE_URL`), with a test clock. GeoLift's walkthrough data
//! (`kiki-lift`'s fixture) goes through the API: upload, register, analyse,
//! re-run.

mod designs;
mod experiments;
mod methods;

use std::sync::Arc;

use kiki_core::TestClock;
use kiki_lift_service::LiftModule;
use kiki_test_support::TestApp;
use kiki_test_support::identity::{Caller, identity_app, json};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

/// "Now" in every test.
pub const NOW: OffsetDateTime = datetime!(2026-11-24 10:01:30 UTC);

/// GeoLift's `GeoLift_Test`: 40 cities × 105 days (2021-01-01 … 2021-04-15).
pub const GEOLIFT_TEST: &str = include_str!("../../../kiki-lift/tests/fixtures/geolift_test.csv");

pub async fn spawn() -> TestApp {
    identity_app()
        .clock(Arc::new(TestClock::at(NOW)))
        .module(Arc::new(LiftModule::new()))
        .spawn()
        .await
}

/// The walkthrough's test: Chicago and Portland, days 91–105.
pub fn walkthrough() -> Value {
    json!({
        "name": "GeoLift walkthrough",
        "plan": {
            "kpi": "conversions",
            "treated": ["chicago", "portland"],
            "pre_start": "2021-01-01",
            "test_start": "2021-04-01",
            "test_end": "2021-04-15"
        }
    })
}

pub async fn post(c: &Caller<'_>, path: &str, body: &Value) -> (u16, Value) {
    json(c.post(path, body).await).await
}

pub async fn post_empty(c: &Caller<'_>, path: &str) -> (u16, Value) {
    json(c.post_empty(path).await).await
}

pub async fn get(c: &Caller<'_>, path: &str) -> (u16, Value) {
    json(c.get(path).await).await
}

pub async fn put(c: &Caller<'_>, path: &str, body: &Value) -> (u16, Value) {
    json(c.send(reqwest::Method::PUT, path, Some(body)).await).await
}

/// Uploads CSV text as the experiment's panel.
pub async fn upload_csv(c: &Caller<'_>, id: &str, csv: &str) -> (u16, Value) {
    let resp = c
        .request(
            reqwest::Method::POST,
            &format!("/v1/experiments/lift/{id}/panel"),
        )
        .header("content-type", "text/csv")
        .body(csv.to_owned())
        .send()
        .await
        .expect("upload sent");
    json(resp).await
}

/// Creates an experiment; its id.
pub async fn create(c: &Caller<'_>, body: &Value) -> String {
    let (status, v) = post(c, "/v1/experiments/lift", body).await;
    assert_eq!(status, 201, "{v}");
    v["id"].as_str().expect("an id").to_owned()
}

/// The fields a 422 names.
pub fn fields(v: &Value) -> Vec<String> {
    v["error"]["details"]["fields"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
