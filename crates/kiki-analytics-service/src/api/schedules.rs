//! `/v1/analytics/schedules`: scheduled reports — a saved table report
//! mailed to members of the organisation daily, weekly or monthly — and
//! "send now". Every route needs `campaign.read` and `export`, and sees
//! the active organisation's schedules only.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kiki_identity::perm::CampaignRead;
use kiki_server::auth::{Meta, RequirePermission as Perm};
use kiki_server::error::ErrorEnvelope;
use kiki_server::extract::{Json as Body, Path};
use kiki_server::{ApiError, Service};
use uuid::Uuid;

use super::exports::parse_report;
use crate::domain::schedule::{RunQueued, ScheduleList, ScheduleRequest, ScheduleView};
use crate::service::AnalyticsService;

/// Saves a scheduled report. Each recipient must be an active member whose
/// role may read and export; each run sends every recipient their own copy
/// as their access reaches (docs/analytics.md, "Scheduled reports").
#[utoipa::path(post, path = "/analytics/schedules", tag = "analytics",
    request_body = ScheduleRequest,
    responses((status = 201, description = "Saved", body = ScheduleView),
        (status = 403, description = "Lacks `campaign.read` or `export`", body = ErrorEnvelope),
        (status = 409, description = "The organisation has the most schedules it may have (100)", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid: the name, the query (days included), a recipient who is not a member allowed to export, the hour, weekday, day of the month or time zone (each named)", body = ErrorEnvelope)))]
pub async fn create_schedule(
    Service(svc): Service<AnalyticsService>,
    Meta(meta): Meta,
    p: Perm<CampaignRead>,
    Body(body): Body<ScheduleRequest>,
) -> Result<Response, ApiError> {
    let v = svc
        .create_schedule(&p.0, &meta, &body, parse_report)
        .await?;
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// The organisation's scheduled reports, in the order they were made.
#[utoipa::path(get, path = "/analytics/schedules", tag = "analytics",
    responses((status = 200, body = ScheduleList),
        (status = 403, description = "Lacks `campaign.read` or `export`", body = ErrorEnvelope)))]
pub async fn list_schedules(
    Service(svc): Service<AnalyticsService>,
    p: Perm<CampaignRead>,
) -> Result<Json<ScheduleList>, ApiError> {
    svc.check_export(&p.0)?;
    Ok(Json(ScheduleList {
        items: svc.schedules(&p.0.scope).await?,
    }))
}

/// A scheduled report, its next run and its last run's outcome (who got
/// it, who was skipped and why).
#[utoipa::path(get, path = "/analytics/schedules/{id}", tag = "analytics",
    params(("id" = Uuid, Path, description = "The schedule")),
    responses((status = 200, body = ScheduleView),
        (status = 403, description = "Lacks `campaign.read` or `export`", body = ErrorEnvelope),
        (status = 404, description = "No such schedule in this organisation", body = ErrorEnvelope)))]
pub async fn get_schedule(
    Service(svc): Service<AnalyticsService>,
    p: Perm<CampaignRead>,
    Path(id): Path<Uuid>,
) -> Result<Json<ScheduleView>, ApiError> {
    svc.check_export(&p.0)?;
    Ok(Json(svc.schedule(&p.0.scope, id).await?))
}

/// Replaces a scheduled report's settings; its next run is computed again.
#[utoipa::path(put, path = "/analytics/schedules/{id}", tag = "analytics",
    params(("id" = Uuid, Path, description = "The schedule")),
    request_body = ScheduleRequest,
    responses((status = 200, body = ScheduleView),
        (status = 403, description = "Lacks `campaign.read` or `export`", body = ErrorEnvelope),
        (status = 404, description = "No such schedule in this organisation", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid (each named)", body = ErrorEnvelope)))]
pub async fn put_schedule(
    Service(svc): Service<AnalyticsService>,
    Meta(meta): Meta,
    p: Perm<CampaignRead>,
    Path(id): Path<Uuid>,
    Body(body): Body<ScheduleRequest>,
) -> Result<Json<ScheduleView>, ApiError> {
    Ok(Json(
        svc.update_schedule(&p.0, &meta, id, &body, parse_report)
            .await?,
    ))
}

/// Deletes a scheduled report; files already sent work until their links
/// expire.
#[utoipa::path(delete, path = "/analytics/schedules/{id}", tag = "analytics",
    params(("id" = Uuid, Path, description = "The schedule")),
    responses((status = 204, description = "Deleted"),
        (status = 403, description = "Lacks `campaign.read` or `export`", body = ErrorEnvelope),
        (status = 404, description = "No such schedule in this organisation", body = ErrorEnvelope)))]
pub async fn delete_schedule(
    Service(svc): Service<AnalyticsService>,
    Meta(meta): Meta,
    p: Perm<CampaignRead>,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    svc.delete_schedule(&p.0, &meta, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends the report now (a worker runs it), whatever its time and even
/// while it is disabled; its next run stays as it was.
#[utoipa::path(post, path = "/analytics/schedules/{id}/run", tag = "analytics",
    params(("id" = Uuid, Path, description = "The schedule")),
    responses((status = 202, description = "Queued", body = RunQueued),
        (status = 403, description = "Lacks `campaign.read` or `export`", body = ErrorEnvelope),
        (status = 404, description = "No such schedule in this organisation", body = ErrorEnvelope)))]
pub async fn run_schedule(
    Service(svc): Service<AnalyticsService>,
    Meta(meta): Meta,
    p: Perm<CampaignRead>,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let v = svc.run_schedule_now(&p.0, &meta, id).await?;
    Ok((StatusCode::ACCEPTED, Json(v)).into_response())
}
