//! `/livez`, `/readyz`, `/healthz` and the degraded state when Redis is gone.

use kiki_test_support::TestApp;
use serde_json::Value;

#[tokio::test]
async fn a_fresh_app_is_live_ready_and_healthy() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/livez").await.status(), 200);
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    let resp = app.get("/healthz").await;
    assert_eq!(resp.status(), 200);
    let h: Value = resp.json().await.unwrap();
    assert_eq!(h["service"], "kiki");
    assert_eq!(h["status"], "healthy", "{h}");
    assert_eq!(h["version"], kiki_server::VERSION);
    assert!(h["uptime_seconds"].is_u64());
    assert!(h["timestamp"].as_str().unwrap().ends_with('Z'));
    let deps = h["dependencies"].as_array().unwrap();
    let db = deps.iter().find(|d| d["name"] == "database").unwrap();
    assert_eq!(db["status"], "up");
    assert!(db["response_time_ms"].as_f64().unwrap() >= 0.0);
    assert!(h["metrics"]["requests_total"].as_u64().unwrap() >= 2, "{h}");
}

#[tokio::test]
async fn health_is_degraded_but_serving_when_redis_is_unreachable() {
    // Port 1 on loopback: nothing listens there.
    let app = TestApp::builder()
        .configure(|c| c.redis.url = Some(secrecy::SecretString::from("redis://127.0.0.1:1/0")))
        .spawn()
        .await;
    let h: Value = app.get("/healthz").await.json().await.unwrap();
    assert_eq!(h["status"], "degraded", "{h}");
    let redis = h["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "redis")
        .unwrap()
        .clone();
    assert_ne!(redis["status"], "up");
    assert!(redis["error"].is_string());
    // Still serving and still ready: Redis is optional.
    assert_eq!(app.get("/v1/status").await.status(), 200);
    assert_eq!(app.get("/readyz").await.status(), 200);
    // The cache keeps working from memory.
    app.state.cache.set_json("k", &42u32, None).await;
    assert_eq!(app.state.cache.get_json::<u32>("k").await, Some(42));
}

#[tokio::test]
async fn health_is_healthy_with_a_working_redis() {
    if kiki_store::testing::require_redis("the Redis health test").is_none() {
        return;
    }
    let app = TestApp::builder().with_redis().spawn().await;
    let h: Value = app.get("/healthz").await.json().await.unwrap();
    assert_eq!(h["status"], "healthy", "{h}");
    assert!(
        h["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["name"] == "redis" && d["status"] == "up")
    );
}

#[tokio::test]
async fn metrics_expose_requests_latency_in_flight_pool_and_build_info() {
    let app = TestApp::spawn().await;
    for _ in 0..3 {
        app.get("/v1/status").await;
    }
    app.state.cache.get_json::<u32>("missing-key").await;
    let resp = app.get("/metrics").await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = resp.text().await.unwrap();
    for needle in [
        "kiki_http_requests_total{method=\"GET\",route=\"/v1/status\",status=\"200\"}",
        "kiki_http_request_duration_seconds_bucket{method=\"GET\",route=\"/v1/status\",status=\"200\",le=",
        "kiki_http_requests_in_flight",
        "kiki_db_pool_connections",
        "kiki_db_pool_idle",
        "kiki_db_pool_waiting",
        "kiki_build_info{version=",
        "kiki_cache_misses_total",
    ] {
        assert!(text.contains(needle), "missing {needle} in:\n{text}");
    }
}

#[tokio::test]
async fn readiness_is_503_until_the_migrations_ran() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/late.db", dir.path().display());
    let app = TestApp::builder()
        .database_url(url.clone())
        .configure(|c| {
            c.database.run_migrations = false;
            c.roles = "api".into();
        })
        .spawn()
        .await;
    let resp = app.get("/readyz").await;
    assert_eq!(resp.status(), 503);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable");
    assert_eq!(
        app.get("/livez").await.status(),
        200,
        "alive while not ready"
    );

    // An operator runs `kiki migrate`; readiness follows within a poll.
    let cfg = kiki_store::DatabaseConfig {
        url,
        ..Default::default()
    };
    let db = kiki_store::Db::connect(&cfg).await.unwrap();
    db.migrate().await.unwrap();
    let mut status = 503;
    for _ in 0..100 {
        status = app.get("/readyz").await.status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200);
}
