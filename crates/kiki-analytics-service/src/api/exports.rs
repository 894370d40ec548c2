//! `/v1/analytics/exports`: a table report queued as a job that writes a
//! CSV, Excel or PDF file, its status and progress, and the file's
//! download until its link expires (410 after). Every route needs
//! `campaign.read` and `export`, and sees the active organisation's
//! exports only.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kiki_identity::perm::CampaignRead;
use kiki_server::auth::{Meta, RequirePermission as Perm};
use kiki_server::error::ErrorEnvelope;
use kiki_server::extract::{Json as Body, Path};
use kiki_server::{ApiError, Service};
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{
    BreakdownQuery, DrillQuery, PerformersQuery, SeriesQuery, SummaryQuery, file_response,
};
use crate::domain::job::{CreateExport, ExportList, ExportReport, ExportView};
use crate::error::AnalyticsError;
use crate::service::{AnalyticsService, ReportRequest};

/// Reads an export's query object as its report route reads its query
/// string: the same names, values and checks; `limit` up to `max`.
/// Gives the request and the filters as a PDF prints them.
pub(crate) fn parse_report(
    report: ExportReport,
    params: &Map<String, Value>,
    max: u32,
) -> Result<(ReportRequest, Vec<(String, String)>), AnalyticsError> {
    fn read<T: serde::de::DeserializeOwned>(
        params: &Map<String, Value>,
    ) -> Result<T, AnalyticsError> {
        serde_json::from_value(Value::Object(params.clone())).map_err(|e| {
            AnalyticsError::field("query", format!("Not a query of this report: {e}."))
        })
    }
    Ok(match report {
        ExportReport::Timeseries => {
            let q: SeriesQuery = read(params)?;
            (q.request(), q.printed_all())
        }
        ExportReport::Breakdown => {
            let q: BreakdownQuery = read(params)?;
            (q.request(max)?, q.printed_all())
        }
        ExportReport::Performers => {
            let q: PerformersQuery = read(params)?;
            (q.request(max)?, q.printed_all())
        }
        ExportReport::Drilldown => {
            let q: DrillQuery = read(params)?;
            (q.request(max)?, q.printed())
        }
        ExportReport::Variants => {
            let q: super::variants::VariantsQuery = read(params)?;
            (q.request(), q.printed())
        }
        ExportReport::Summary => {
            let q: SummaryQuery = read(params)?;
            (q.request(), q.printed_all())
        }
    })
}

/// Queues a report as a file (CSV, Excel or PDF) written by a worker;
/// answers 202 with the export, whose `status` and `progress` show how far
/// it is. Tables may hold up to `analytics.export_max_rows` rows.
#[utoipa::path(post, path = "/analytics/exports", tag = "analytics",
    request_body = CreateExport,
    responses((status = 202, description = "Queued", body = ExportView),
        (status = 403, description = "Lacks `campaign.read` or `export`", body = ErrorEnvelope),
        (status = 422, description = "An unknown report or format, JSON as the format, or a query its report refuses (each field named)", body = ErrorEnvelope)))]
pub async fn create_export(
    Service(svc): Service<AnalyticsService>,
    Meta(meta): Meta,
    p: Perm<CampaignRead>,
    Body(body): Body<CreateExport>,
) -> Result<Response, ApiError> {
    svc.check_export(&p.0)?;
    let problems = body.query.problems(svc.config().export_max_rows);
    if !problems.is_empty() {
        return Err(AnalyticsError::Invalid(problems).into());
    }
    let params = body.query.params();
    let (req, _) = parse_report(body.report, &params, svc.config().export_max_rows)?;
    let v = svc
        .create_export(&p.0, &meta, body.report, body.format.into(), params, &req)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(v)).into_response())
}

/// The organisation's latest exports, newest first (at most 100).
#[utoipa::path(get, path = "/analytics/exports", tag = "analytics",
    responses((status = 200, body = ExportList),
        (status = 403, description = "Lacks `campaign.read` or `export`", body = ErrorEnvelope)))]
pub async fn list_exports(
    Service(svc): Service<AnalyticsService>,
    p: Perm<CampaignRead>,
) -> Result<Json<ExportList>, ApiError> {
    svc.check_export(&p.0)?;
    Ok(Json(ExportList {
        items: svc.exports(&p.0.scope).await?,
    }))
}

/// An export: its status, progress, and once written its file's name,
/// size, rows, expiry and download link.
#[utoipa::path(get, path = "/analytics/exports/{id}", tag = "analytics",
    params(("id" = Uuid, Path, description = "The export")),
    responses((status = 200, body = ExportView),
        (status = 403, description = "Lacks `campaign.read` or `export`", body = ErrorEnvelope),
        (status = 404, description = "No such export in this organisation", body = ErrorEnvelope)))]
pub async fn get_export(
    Service(svc): Service<AnalyticsService>,
    p: Perm<CampaignRead>,
    Path(id): Path<Uuid>,
) -> Result<Json<ExportView>, ApiError> {
    svc.check_export(&p.0)?;
    Ok(Json(svc.export(&p.0.scope, id).await?))
}

/// The export's file, streamed, while its link has not expired (written
/// to the audit log as `analytics.exported`).
#[utoipa::path(get, path = "/analytics/exports/{id}/download", tag = "analytics",
    params(("id" = Uuid, Path, description = "The export")),
    responses((status = 200, description = "The file",
            content((String = "text/csv"),
                (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                (String = "application/pdf"))),
        (status = 403, description = "Lacks `campaign.read` or `export`", body = ErrorEnvelope),
        (status = 404, description = "No such export in this organisation", body = ErrorEnvelope),
        (status = 409, description = "Not written yet (queued, running, failed or cancelled)", body = ErrorEnvelope),
        (status = 410, description = "The download link has expired", body = ErrorEnvelope)))]
pub async fn download_export(
    Service(svc): Service<AnalyticsService>,
    Meta(meta): Meta,
    p: Perm<CampaignRead>,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let file = svc.download_export(&p.0, &meta, id).await?;
    Ok(file_response(file))
}
