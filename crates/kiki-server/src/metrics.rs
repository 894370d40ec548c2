//! Prometheus metrics at `GET /metrics`: HTTP requests and latency by method,
//! route template and status, in-flight requests, database pool gauges, cache
//! hits and misses (counted by kiki-store), outbound calls, build info. One
//! process-wide recorder; the pool gauges are refreshed on every scrape.

use std::sync::OnceLock;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Latency buckets in seconds, from 10 µs (a bid decision) to 30 s (the
/// request timeout), for every histogram whose name ends in `_seconds`.
const LATENCY_BUCKETS: &[f64] = &[
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How often histogram samples are folded into buckets without a scrape.
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// The process-wide Prometheus recorder, installed on first use.
pub fn prometheus() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            // Another recorder may already be global (an embedding program's);
            // then this handle renders only what is recorded through it.
            let _ = metrics::set_global_recorder(recorder);
            metrics::gauge!("kiki_build_info", "version" => crate::VERSION).set(1.0);
            // Histograms keep raw samples until upkeep folds them into their
            // buckets. Scrapes run it too, but a process nobody scrapes would
            // otherwise hold every sample (the bidder records one per request).
            let upkeep = handle.clone();
            let _ = std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP_EVERY);
                        upkeep.run_upkeep();
                    }
                });
            handle
        })
        .clone()
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", security(()), tag = "health",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn get_metrics(State(app): State<AppState>) -> Response {
    let pool = app.db.pool_stats();
    metrics::gauge!("kiki_db_pool_connections").set(f64::from(pool.size));
    metrics::gauge!("kiki_db_pool_idle").set(f64::from(pool.idle));
    metrics::gauge!("kiki_db_pool_waiting").set(pool.waiting as f64);
    metrics::gauge!("kiki_db_pool_max").set(f64::from(pool.max));
    metrics::gauge!("kiki_uptime_seconds").set(app.started.elapsed().as_secs_f64());
    app.metrics.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        app.metrics.render(),
    )
        .into_response()
}
