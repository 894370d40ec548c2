//! Platform routes of the foundation: the service status (which differs
//! between `/v1` and `/v2`, showing the versioning helper) and the status of
//! a background job.

use axum::Json;
use axum::extract::State;
use kiki_core::id::JobId;
use kiki_store::JobRecord;
use serde::Serialize;
use utoipa_axum::routes;

use crate::auth::Auth;
use crate::error::ApiError;
use crate::extract::Path;
use crate::state::AppState;
use crate::versioning::{ApiVersion, VersionedApi};

pub fn api() -> VersionedApi<AppState> {
    VersionedApi::new()
        .routes(&[ApiVersion::V1], routes!(get_status_v1))
        .routes(&[ApiVersion::V2], routes!(get_status_v2))
        .routes(ApiVersion::CURRENT, routes!(get_job))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatusV1 {
    pub status: &'static str,
    pub version: &'static str,
}

/// Service status (v1): up or not, and the version.
#[utoipa::path(get, path = "/status", security(()), tag = "platform", responses((status = 200, body = StatusV1)))]
pub async fn get_status_v1() -> Json<StatusV1> {
    Json(StatusV1 {
        status: "ok",
        version: crate::VERSION,
    })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatusV2 {
    pub status: &'static str,
    pub build: BuildInfo,
    /// Roles this process runs.
    pub roles: Vec<&'static str>,
    pub uptime_seconds: u64,
    pub api_versions: Vec<&'static str>,
    /// `sqlite` or `postgresql`.
    pub database: &'static str,
    /// `redis` or `in_process`.
    pub cache: &'static str,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BuildInfo {
    pub version: &'static str,
    /// The compiler that built this binary (`rustc --version`).
    pub rustc: &'static str,
    /// The oldest Rust release the source builds with (`rust-version`).
    pub minimum_rust: &'static str,
}

/// Service status (v2): a richer shape with build, roles and backends.
#[utoipa::path(get, path = "/status", security(()), tag = "platform", responses((status = 200, body = StatusV2)))]
pub async fn get_status_v2(State(app): State<AppState>) -> Json<StatusV2> {
    let r = app.roles;
    Json(StatusV2 {
        status: "ok",
        build: BuildInfo {
            version: crate::VERSION,
            rustc: env!("KIKI_RUSTC_VERSION"),
            minimum_rust: env!("CARGO_PKG_RUST_VERSION"),
        },
        roles: [("api", r.api), ("bidder", r.bidder), ("worker", r.worker)]
            .into_iter()
            .filter_map(|(n, on)| on.then_some(n))
            .collect(),
        uptime_seconds: app.started.elapsed().as_secs(),
        api_versions: ApiVersion::ALL.iter().map(|v| v.as_str()).collect(),
        database: app.db.backend().as_str(),
        cache: if app.cache.is_redis() {
            "redis"
        } else {
            "in_process"
        },
    })
}

/// The status, progress and result of a background job.
#[utoipa::path(get, path = "/jobs/{id}", tag = "platform",
    params(("id" = uuid::Uuid, Path, description = "Job id")),
    responses((status = 200, body = JobRecord), (status = 404, body = crate::error::ErrorEnvelope)))]
pub async fn get_job(
    State(app): State<AppState>,
    // The id's shape is checked before the caller: a malformed id is 400 for everyone.
    Path(id): Path<JobId>,
    Auth(p): Auth,
) -> Result<Json<JobRecord>, ApiError> {
    app.jobs
        .get_scoped(&p.scope, id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("The job"))
}
