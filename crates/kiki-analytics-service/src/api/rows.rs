//! `GET /v1/analytics/rows`: the stored daily rows of a level, a page at a
//! time as JSON (with a cursor), or every row of the selection as one CSV
//! download streamed page by page (needs `export`; audited with the number
//! of rows before the first byte is sent).

use axum::Json;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use kiki_identity::perm::CampaignRead;
use kiki_server::auth::{Meta, RequirePermission as Perm};
use kiki_server::error::ErrorEnvelope;
use kiki_server::extract::Query;
use kiki_server::{ApiError, Service};
use kiki_twin::Platform;
use serde::Deserialize;
use time::Date;
use uuid::Uuid;

use super::{SYNC_MAX_ROWS, limit, negotiated};
use crate::domain::rows::RowsPage;
use crate::domain::{Filters, Format, Level, ScopeKind, day_text};
use crate::error::AnalyticsError;
use crate::service::AnalyticsService;

/// The rows report's query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RowsQuery {
    /// `campaign` (default), `ad_set` or `ad`.
    #[param(value_type = Option<Level>, inline)]
    pub level: Option<Level>,
    /// First day (`YYYY-MM-DD`, included); default
    /// `analytics.default_range_days` − 1 days before `until`.
    #[serde(default, with = "crate::domain::iso_date::option")]
    #[param(value_type = Option<String>, format = Date)]
    pub since: Option<Date>,
    /// Last day (included); default today in `tz`. Not before `since`; a
    /// range spans at most 3660 days.
    #[serde(default, with = "crate::domain::iso_date::option")]
    #[param(value_type = Option<String>, format = Date)]
    pub until: Option<Date>,
    /// The IANA time zone whose calendar decides "today".
    #[param(max_length = 64, example = "Europe/Berlin")]
    pub tz: Option<String>,
    /// `organisation` (default) or `clients`.
    #[param(value_type = Option<ScopeKind>, inline)]
    pub scope: Option<ScopeKind>,
    /// Only this platform.
    #[param(value_type = Option<Platform>)]
    pub platform: Option<Platform>,
    /// Only this KIKI campaign.
    pub campaign_id: Option<Uuid>,
    /// Only rows in this currency (ISO 4217).
    #[param(pattern = "^[A-Za-z]{3}$", example = "USD")]
    pub currency: Option<String>,
    /// Rows of a JSON page, 1 to 1000 (default 100); a CSV holds every row.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the page before (JSON only).
    #[param(max_length = 2048)]
    pub cursor: Option<String>,
    /// `json` (default) or `csv` (every row, streamed).
    #[param(value_type = Option<RowsFormat>, inline)]
    pub format: Option<RowsFormat>,
}

/// How the rows report answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RowsFormat {
    Json,
    Csv,
}

impl RowsQuery {
    fn filters(&self) -> Filters {
        Filters {
            since: self.since,
            until: self.until,
            tz: self.tz.clone(),
            scope: self.scope,
            platform: self.platform.map(|p| p.as_str().to_owned()),
            campaign_id: self.campaign_id,
            currency: self.currency.clone(),
            convert_to: None,
        }
    }
}

/// The daily rows as the platforms reported them, one object of the level
/// on one day each: a page as JSON (organisation, then platform, object and
/// day; `next_cursor` leads on), or every row of the selection as a CSV file
/// streamed as it is read.
#[utoipa::path(get, path = "/analytics/rows", tag = "analytics", params(RowsQuery),
    responses((status = 200, description = "A page of rows (JSON), or every row as CSV",
            content((RowsPage = "application/json"), (String = "text/csv"))),
        (status = 403, description = "Lacks `campaign.read`, or `export` for the CSV", body = ErrorEnvelope),
        (status = 422, description = "A range ends before it starts or is too long, an unknown time zone, or a cursor that is not one (each named)", body = ErrorEnvelope)))]
pub async fn rows(
    Service(svc): Service<AnalyticsService>,
    Meta(meta): Meta,
    p: Perm<CampaignRead>,
    headers: HeaderMap,
    Query(q): Query<RowsQuery>,
) -> Result<Response, ApiError> {
    let level = q.level.unwrap_or(Level::Campaign);
    let format = q.format.map(|f| match f {
        RowsFormat::Json => Format::Json,
        RowsFormat::Csv => Format::Csv,
    });
    match negotiated(format, &headers) {
        // An `Accept` of a workbook or a PDF only: the rows are JSON pages
        // (or one CSV), so JSON is the answer.
        Format::Json | Format::Xlsx | Format::Pdf => {
            let n = limit(q.limit, 100, SYNC_MAX_ROWS.min(svc.config().max_rows))?;
            let page = svc
                .rows(&p.0.scope, &q.filters(), level, q.cursor.as_deref(), n)
                .await?;
            Ok(Json(page).into_response())
        }
        Format::Csv => {
            if q.cursor.is_some() {
                return Err(AnalyticsError::field(
                    "cursor",
                    "A CSV holds every row of the selection; leave out the cursor.",
                )
                .into());
            }
            svc.check_export(&p.0)?;
            let resolved = svc.resolve(&p.0.scope, &q.filters()).await?;
            let n = svc.rows_count(&resolved, level).await?;
            let period: crate::domain::PeriodView = resolved.period.into();
            svc.audit_export(
                &p.0,
                &meta,
                "rows",
                Format::Csv,
                &period,
                usize::try_from(n).unwrap_or(usize::MAX),
            )
            .await?;
            let name = format!(
                "kiki-rows-{}-{}-{}.csv",
                level.as_str(),
                day_text(period.since),
                day_text(period.until)
            );
            let body = svc.rows_csv(resolved, level).map(|chunk| match chunk {
                Ok(b) => Ok::<_, std::io::Error>(b),
                Err(e) => {
                    // The answer has begun: the download ends short, and
                    // the cause is logged.
                    tracing::error!(error = %e, "analytics: a rows download stopped");
                    Err(std::io::Error::other("the download stopped"))
                }
            });
            let mut resp = Response::new(Body::from_stream(body));
            resp.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
                resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
            }
            resp.headers_mut()
                .insert("x-total-rows", HeaderValue::from(n.max(0) as u64));
            Ok(resp)
        }
    }
}
