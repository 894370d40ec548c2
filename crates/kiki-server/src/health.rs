//! Health endpoints. `/livez`: the process is up. `/readyz`: 503 until the
//! migrations ran and every required dependency answers. `/healthz`: the full
//! report — each dependency probed in parallel with a short timeout, overall
//! `healthy`, `degraded` (a fallback is in use) or `unhealthy`.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use kiki_store::{DependencyCheck, DependencyStatus};
use serde::Serialize;
use time::OffsetDateTime;

use crate::state::AppState;

/// Something `/healthz` and `/readyz` probe.
pub trait HealthProbe: Send + Sync + 'static {
    fn name(&self) -> &str;
    /// A required dependency that is down makes the service unhealthy and not
    /// ready; an optional one only degrades it.
    fn required(&self) -> bool;
    fn check(&self) -> BoxFuture<'_, DependencyCheck>;
}

/// How long one probe may take before it counts as down.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Clone, Default)]
pub struct HealthRegistry {
    probes: Vec<Arc<dyn HealthProbe>>,
}

impl std::fmt::Debug for HealthRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.probes.iter().map(|p| p.name()))
            .finish()
    }
}

impl HealthRegistry {
    pub fn register(&mut self, probe: Arc<dyn HealthProbe>) {
        self.probes.push(probe);
    }

    /// Runs every probe at once; a probe over the timeout is reported down.
    pub async fn check_all(&self) -> Vec<(bool, DependencyCheck)> {
        let futs = self.probes.iter().map(|p| async move {
            let started = Instant::now();
            let check = match tokio::time::timeout(PROBE_TIMEOUT, p.check()).await {
                Ok(c) => c,
                Err(_) => DependencyCheck {
                    name: p.name().to_owned(),
                    status: DependencyStatus::Down,
                    response_time_ms: started.elapsed().as_secs_f64() * 1000.0,
                    error: Some(format!(
                        "No answer within {} ms.",
                        PROBE_TIMEOUT.as_millis()
                    )),
                },
            };
            (p.required(), check)
        });
        futures::future::join_all(futs).await
    }
}

/// The database: required.
pub struct DatabaseProbe(pub kiki_store::Db);

impl HealthProbe for DatabaseProbe {
    fn name(&self) -> &str {
        "database"
    }
    fn required(&self) -> bool {
        true
    }
    fn check(&self) -> BoxFuture<'_, DependencyCheck> {
        Box::pin(async move {
            let started = Instant::now();
            match self.0.ping().await {
                Ok(rtt) => DependencyCheck {
                    name: "database".into(),
                    status: DependencyStatus::Up,
                    response_time_ms: rtt.as_secs_f64() * 1000.0,
                    error: None,
                },
                Err(e) => DependencyCheck {
                    name: "database".into(),
                    status: DependencyStatus::Down,
                    response_time_ms: started.elapsed().as_secs_f64() * 1000.0,
                    error: Some(e.to_string()),
                },
            }
        })
    }
}

/// Redis behind the cache: optional (the in-process cache takes over).
pub struct CacheProbe(pub kiki_store::Cache);

impl HealthProbe for CacheProbe {
    fn name(&self) -> &str {
        "redis"
    }
    fn required(&self) -> bool {
        false
    }
    fn check(&self) -> BoxFuture<'_, DependencyCheck> {
        Box::pin(self.0.health())
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OverallStatus {
    Healthy,
    Degraded,
    Unhealthy,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HealthReport {
    pub service: String,
    pub status: OverallStatus,
    pub version: String,
    pub uptime_seconds: u64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub timestamp: OffsetDateTime,
    pub roles: String,
    pub dependencies: Vec<DependencyCheck>,
    pub metrics: HealthMetrics,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HealthMetrics {
    pub requests_total: u64,
    pub errors_total: u64,
    pub requests_in_flight: u64,
    pub db_pool_size: u32,
    pub db_pool_idle: u32,
    pub db_pool_waiting: u64,
}

pub(crate) fn overall(checks: &[(bool, DependencyCheck)]) -> OverallStatus {
    let required_down = checks
        .iter()
        .any(|(req, c)| *req && c.status == DependencyStatus::Down);
    let any_not_up = checks.iter().any(|(_, c)| c.status != DependencyStatus::Up);
    if required_down {
        OverallStatus::Unhealthy
    } else if any_not_up {
        OverallStatus::Degraded
    } else {
        OverallStatus::Healthy
    }
}

/// Liveness: answers as long as the process serves HTTP.
#[utoipa::path(get, path = "/livez", security(()), tag = "health", responses((status = 200, description = "The process is up")))]
pub async fn livez() -> Response {
    (
        StatusCode::OK,
        Json(serde_json::json!({ "status": "alive" })),
    )
        .into_response()
}

/// Readiness: 200 once migrations ran and required dependencies answer.
#[utoipa::path(get, path = "/readyz", security(()), tag = "health", responses(
    (status = 200, description = "Ready to serve"),
    (status = 503, description = "Not ready yet", body = crate::error::ErrorEnvelope)))]
pub async fn readyz(State(app): State<AppState>) -> Response {
    let checks = app.health.check_all().await;
    let migrated = app.schema_ready.load(Ordering::Acquire);
    let required_ok = checks
        .iter()
        .all(|(req, c)| !*req || c.status != DependencyStatus::Down);
    let deps: Vec<&DependencyCheck> = checks.iter().map(|(_, c)| c).collect();
    if migrated && required_ok && app.ready.load(Ordering::Acquire) {
        (
            StatusCode::OK,
            Json(serde_json::json!({ "status": "ready", "dependencies": deps })),
        )
            .into_response()
    } else {
        let reason = if !migrated {
            "The database migrations have not run yet."
        } else {
            "A required dependency is not answering."
        };
        crate::error::ApiError::new(kiki_core::ErrorCode::Unavailable, reason)
            .with_details(serde_json::json!({ "migrated": migrated, "dependencies": deps }))
            .into_response()
    }
}

/// The full health report.
#[utoipa::path(get, path = "/healthz", security(()), tag = "health", responses(
    (status = 200, description = "Healthy or degraded", body = HealthReport),
    (status = 503, description = "Unhealthy", body = HealthReport)))]
pub async fn healthz(State(app): State<AppState>) -> Response {
    let checks = app.health.check_all().await;
    let status = overall(&checks);
    let pool = app.db.pool_stats();
    let report = HealthReport {
        service: "kiki".into(),
        version: crate::VERSION.into(),
        uptime_seconds: app.started.elapsed().as_secs(),
        timestamp: app.clock.now(),
        roles: app.roles.to_string(),
        metrics: HealthMetrics {
            requests_total: app.counters.requests_total.load(Ordering::Relaxed),
            errors_total: app.counters.errors_total.load(Ordering::Relaxed),
            requests_in_flight: app.counters.in_flight.load(Ordering::Relaxed),
            db_pool_size: pool.size,
            db_pool_idle: pool.idle,
            db_pool_waiting: pool.waiting as u64,
        },
        dependencies: checks.into_iter().map(|(_, c)| c).collect(),
        status,
    };
    let code = if matches!(report.status, OverallStatus::Unhealthy) {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (code, Json(report)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(status: DependencyStatus) -> DependencyCheck {
        DependencyCheck {
            name: "x".into(),
            status,
            response_time_ms: 1.0,
            error: None,
        }
    }

    #[test]
    fn overall_status_follows_required_and_optional_dependencies() {
        use DependencyStatus::*;
        let check = |deps: &[(bool, DependencyStatus)]| {
            let v: Vec<_> = deps.iter().map(|(r, s)| (*r, c(*s))).collect();
            serde_json::to_value(overall(&v)).unwrap()
        };
        assert_eq!(check(&[(true, Up), (false, Up)]), "healthy");
        assert_eq!(check(&[(true, Up), (false, Degraded)]), "degraded");
        assert_eq!(check(&[(true, Up), (false, Down)]), "degraded");
        assert_eq!(check(&[(true, Down), (false, Up)]), "unhealthy");
        assert_eq!(check(&[]), "healthy");
    }
}
