//! Integration tests of the twin service: the real app with the twin module
//! on port 0 against a fresh database (SQLite, or PostgreSQL with
//! `KIKI_TEST_DATABASE_URL`), a test clock so that no schedule fires on its
//! own, and the jobs run through their handlers or the job queue.

mod baselines;
mod jobs;
mod ltv;
mod profit;
mod simulations;

use std::sync::Arc;
use std::time::Duration;

use kiki_core::TestClock;
use kiki_test_support::TestApp;
use kiki_test_support::identity::{Caller, identity_app, json};
use kiki_twin_service::{TwinModule, TwinService};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

/// "Now" in every test: 10:01:30 UTC, between two five-minute periods, so
/// the scheduler (which only fires periods after its start) stays quiet.
pub const NOW: OffsetDateTime = datetime!(2026-11-24 10:01:30 UTC);

pub async fn spawn_with(twin: Option<Value>) -> (TestApp, TestClock) {
    let clock = TestClock::at(NOW);
    let app = identity_app()
        .clock(Arc::new(clock.clone()))
        .configure(move |c| {
            if let Some(t) = twin {
                c.set_section("twin", t);
            }
        })
        .module(Arc::new(TwinModule::new()))
        .spawn()
        .await;
    (app, clock)
}

pub async fn spawn() -> (TestApp, TestClock) {
    spawn_with(None).await
}

pub fn service(app: &TestApp) -> Arc<TwinService> {
    app.state
        .services
        .get::<TwinService>()
        .expect("the twin module provides its service")
}

/// A simulation request: two platforms, 30 days.
pub fn request(seed: u64, runs: u32) -> Value {
    json!({
        "plan": {
            "currency": "USD",
            "allocations": [
                {"platform": "meta", "daily_budget": {"micros": 200_000_000, "currency": "USD"}},
                {"platform": "google", "daily_budget": {"micros": 100_000_000, "currency": "USD"}}
            ],
            "duration_days": 30,
            "organic_revenue": {"micros": 0, "currency": "USD"}
        },
        "options": {"runs": runs, "seed": seed}
    })
}

/// POSTs and returns (status, body).
pub async fn post(c: &Caller<'_>, path: &str, body: &Value) -> (u16, Value) {
    json(c.post(path, body).await).await
}

pub async fn get(c: &Caller<'_>, path: &str) -> (u16, Value) {
    json(c.get(path).await).await
}

pub async fn put(c: &Caller<'_>, path: &str, body: &Value) -> (u16, Value) {
    json(c.send(reqwest::Method::PUT, path, Some(body)).await).await
}

/// Polls until `done` says the body is final (at most ~20 s, then fails).
pub async fn poll(c: &Caller<'_>, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..400 {
        let (status, body) = get(c, path).await;
        assert_eq!(status, 200, "{body}");
        if done(&body) {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{path} did not reach its final state");
}
