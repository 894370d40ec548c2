//! The `/v1/platforms` routes (OpenAPI-annotated); service errors become
//! HTTP responses at the edge through their `DomainError` face. Reads need
//! `campaign.read`; a sync on demand `campaign.write`; connecting and
//! disconnecting an ad account (which lets KIKI spend there) `org.manage`.
//! Every handler works in the caller's active organisation.

use axum::Json;
use axum::http::StatusCode;
use kiki_identity::perm::{CampaignRead, CampaignWrite, OrgManage};
use kiki_server::auth::{Meta, RequirePermission as Perm};
use kiki_server::error::ErrorEnvelope;
use kiki_server::extract::{Json as Body, Path, Query};
use kiki_server::versioning::{ApiVersion, VersionedApi};
use kiki_server::{ApiError, AppState, Service};
use kiki_twin::Platform;
use serde::Deserialize;
use time::Date;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::domain::{
    CompleteRequest, ConnectRequest, ConnectStarted, ConnectionView, DailyMetric, MetricLevel,
    SyncRunView,
};
use crate::error::PlatformsError;
use crate::service::PlatformsService;
use crate::service::sync::MAX_METRICS;

time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");

/// The versioned routes.
pub fn api() -> VersionedApi<AppState> {
    let v = ApiVersion::CURRENT;
    VersionedApi::new()
        .routes(v, routes!(list_connections, connect))
        .routes(v, routes!(get_connection, disconnect))
        .routes(v, routes!(complete_oauth))
        .routes(v, routes!(sync_now))
        .routes(v, routes!(list_sync_runs))
        .routes(v, routes!(list_metrics))
}

/// The platform of a connection path: a name that is no platform has no
/// connection either (404, as for any id that was never issued).
fn platform_param(name: &str) -> Result<Platform, PlatformsError> {
    Platform::parse(name).ok_or(PlatformsError::NotFound("The connection"))
}

/// The organisation's ad-platform connections (never their tokens), with
/// their health and what to do when one is not working.
#[utoipa::path(get, path = "/platforms/connections", tag = "platforms",
    responses((status = 200, body = Vec<ConnectionView>),
        (status = 403, description = "Lacks `campaign.read`", body = ErrorEnvelope)))]
pub async fn list_connections(
    Service(svc): Service<PlatformsService>,
    p: Perm<CampaignRead>,
) -> Result<Json<Vec<ConnectionView>>, ApiError> {
    Ok(Json(svc.connections(&p.0.scope).await?))
}

/// Connects an ad platform. `mode: sandbox` connects the built-in sandbox
/// market at once (no account anywhere); `mode: live` starts OAuth 2.0 with
/// PKCE and returns the platform's consent page: the page at `redirect_uri`
/// then completes the connection with `POST /v1/platforms/oauth/complete`.
#[utoipa::path(post, path = "/platforms/connections", tag = "platforms",
    request_body(content = ConnectRequest, examples(
        ("sandbox" = (summary = "The sandbox market for Meta", value = json!({
            "platform": "meta", "mode": "sandbox", "industry": "ecommerce", "currency": "USD"
        }))),
        ("live" = (summary = "A Google Ads account through a manager account", value = json!({
            "platform": "google", "mode": "live", "account_id": "1234567890",
            "login_customer_id": "9876543210", "redirect_uri": "https://app.example.com/platforms/callback"
        })))
    )),
    responses((status = 201, body = ConnectStarted, description = "Connected (sandbox) or started (live)"),
        (status = 403, description = "Lacks `org.manage`", body = ErrorEnvelope),
        (status = 409, description = "This server has no API credentials for the platform", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid (each is named)", body = ErrorEnvelope)))]
pub async fn connect(
    Service(svc): Service<PlatformsService>,
    Meta(meta): Meta,
    p: Perm<OrgManage>,
    Body(req): Body<ConnectRequest>,
) -> Result<(StatusCode, Json<ConnectStarted>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(svc.connect(&p.0, &meta, &req).await?),
    ))
}

/// One connection by platform.
#[utoipa::path(get, path = "/platforms/connections/{platform}", tag = "platforms",
    params(("platform" = Platform, Path, description = "The platform's wire name")),
    responses((status = 200, body = ConnectionView),
        (status = 403, description = "Lacks `campaign.read`", body = ErrorEnvelope),
        (status = 404, description = "Not connected (or no such platform)", body = ErrorEnvelope)))]
pub async fn get_connection(
    Service(svc): Service<PlatformsService>,
    p: Perm<CampaignRead>,
    Path(platform): Path<String>,
) -> Result<Json<ConnectionView>, ApiError> {
    let platform = platform_param(&platform)?;
    Ok(Json(svc.connection(&p.0.scope, platform).await?))
}

/// Disconnects a platform: the grant is revoked at the platform (where it
/// supports revocation) and the tokens are forgotten. Nothing runs there
/// until it is connected again.
#[utoipa::path(delete, path = "/platforms/connections/{platform}", tag = "platforms",
    params(("platform" = Platform, Path, description = "The platform's wire name")),
    responses((status = 200, body = ConnectionView, description = "Disconnected"),
        (status = 403, description = "Lacks `org.manage`", body = ErrorEnvelope),
        (status = 404, description = "Not connected (or no such platform)", body = ErrorEnvelope)))]
pub async fn disconnect(
    Service(svc): Service<PlatformsService>,
    Meta(meta): Meta,
    p: Perm<OrgManage>,
    Path(platform): Path<String>,
) -> Result<Json<ConnectionView>, ApiError> {
    let platform = platform_param(&platform)?;
    Ok(Json(svc.disconnect(&p.0, &meta, platform).await?))
}

/// Completes a live connection with the `state` and `code` the platform
/// sent to the `redirect_uri`: exchanges the code (with the PKCE verifier),
/// verifies the account and stores the tokens encrypted. A `state` is used
/// once and expires (`platforms.oauth_state_ttl_secs`).
#[utoipa::path(post, path = "/platforms/oauth/complete", tag = "platforms",
    request_body = CompleteRequest,
    responses((status = 200, body = ConnectionView, description = "Connected"),
        (status = 403, description = "Lacks `org.manage`", body = ErrorEnvelope),
        (status = 404, description = "No connection is being made with this state (unknown, or already used)", body = ErrorEnvelope),
        (status = 409, description = "The state expired, or this server has no credentials for the platform", body = ErrorEnvelope),
        (status = 422, description = "The platform refused the code", body = ErrorEnvelope),
        (status = 503, description = "The platform failed for now", body = ErrorEnvelope)))]
pub async fn complete_oauth(
    Service(svc): Service<PlatformsService>,
    Meta(meta): Meta,
    p: Perm<OrgManage>,
    Body(req): Body<CompleteRequest>,
) -> Result<Json<ConnectionView>, ApiError> {
    Ok(Json(svc.complete_oauth(&p.0, &meta, &req).await?))
}

/// Runs the performance sync of one platform now (it also runs on the
/// `platforms.sync_all` schedule, hourly by default). A platform failure is
/// a run with `status: failed` and the platform's message; the next run
/// reads the same days again.
#[utoipa::path(post, path = "/platforms/connections/{platform}/sync", tag = "platforms",
    params(("platform" = Platform, Path, description = "The platform's wire name")),
    responses((status = 200, body = SyncRunView, description = "The run, whatever its outcome"),
        (status = 403, description = "Lacks `campaign.write`", body = ErrorEnvelope),
        (status = 404, description = "Never connected (or no such platform)", body = ErrorEnvelope),
        (status = 409, description = "Disconnected, or broken until connected again", body = ErrorEnvelope)))]
pub async fn sync_now(
    Service(svc): Service<PlatformsService>,
    p: Perm<CampaignWrite>,
    Path(platform): Path<String>,
) -> Result<Json<SyncRunView>, ApiError> {
    let platform = platform_param(&platform)?;
    Ok(Json(
        svc.sync_platform(&p.0.scope, platform, "manual").await?,
    ))
}

/// Bound of the run list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RunsQuery {
    /// Runs to return, 1 to 500 (default 50).
    #[serde(default, deserialize_with = "kiki_core::page::page_limit")]
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// The newest performance-sync runs first, with their outcome.
#[utoipa::path(get, path = "/platforms/sync-runs", tag = "platforms", params(RunsQuery),
    responses((status = 200, body = Vec<SyncRunView>),
        (status = 403, description = "Lacks `campaign.read`", body = ErrorEnvelope),
        (status = 422, description = "`limit` out of range", body = ErrorEnvelope)))]
pub async fn list_sync_runs(
    Service(svc): Service<PlatformsService>,
    p: Perm<CampaignRead>,
    Query(q): Query<RunsQuery>,
) -> Result<Json<Vec<SyncRunView>>, ApiError> {
    Ok(Json(
        svc.sync_runs(&p.0.scope, q.limit.unwrap_or(50)).await?,
    ))
}

/// Which metrics to read.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MetricsQuery {
    /// `campaign`, `ad_set` or `ad` (default `campaign`).
    pub level: Option<MetricLevel>,
    /// First day, `YYYY-MM-DD` (default: 30 days before `until`).
    #[serde(default, with = "iso_date::option")]
    #[param(value_type = Option<String>, format = Date)]
    pub since: Option<Date>,
    /// Last day (included), `YYYY-MM-DD` (default: today, UTC).
    #[serde(default, with = "iso_date::option")]
    #[param(value_type = Option<String>, format = Date)]
    pub until: Option<Date>,
    /// Only this KIKI campaign.
    pub campaign_id: Option<Uuid>,
    /// Rows to return, 1 to 5000 (default 1000).
    #[param(minimum = 1, maximum = 5000)]
    pub limit: Option<u32>,
}

/// Daily metrics as the platforms reported them, by day, platform and
/// object, with KIKI's ids where KIKI launched the object. A range whose
/// last day is before its first holds no day (an empty list).
#[utoipa::path(get, path = "/platforms/metrics", tag = "platforms", params(MetricsQuery),
    responses((status = 200, body = Vec<DailyMetric>),
        (status = 403, description = "Lacks `campaign.read`", body = ErrorEnvelope),
        (status = 422, description = "A parameter is invalid", body = ErrorEnvelope)))]
pub async fn list_metrics(
    Service(svc): Service<PlatformsService>,
    p: Perm<CampaignRead>,
    Query(q): Query<MetricsQuery>,
) -> Result<Json<Vec<DailyMetric>>, ApiError> {
    let limit = q.limit.unwrap_or(1000);
    if limit == 0 || u64::from(limit) > MAX_METRICS {
        return Err(PlatformsError::field("limit", format!("1 to {MAX_METRICS}.")).into());
    }
    Ok(Json(
        svc.metrics(
            &p.0.scope,
            q.level.unwrap_or(MetricLevel::Campaign),
            q.since,
            q.until,
            q.campaign_id,
            limit,
        )
        .await?,
    ))
}
