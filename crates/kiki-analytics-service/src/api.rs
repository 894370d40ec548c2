//! The `/v1/analytics` routes (OpenAPI-annotated); service errors become
//! HTTP responses at the edge through their `DomainError` face.
//!
//! Every route reads with `campaign.read`, for the active organisation or,
//! with `scope=clients`, for it and every organisation it reaches (an
//! agency's clients). The tables (time series, breakdown, performers,
//! drill-down) also answer as CSV (`format=csv` or `Accept: text/csv`,
//! streamed) or as an Excel workbook (`format=xlsx` or `Accept:` its media
//! type); an export needs `export` as well and is written to the audit log.

use std::convert::Infallible;

use axum::Json;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use kiki_analytics::{Direction, Granularity, Metric, MinVolume};
use kiki_identity::perm::CampaignRead;
use kiki_server::auth::{Meta, RequirePermission as Perm};
use kiki_server::error::ErrorEnvelope;
use kiki_server::extract::Query;
use kiki_server::versioning::{ApiVersion, VersionedApi};
use kiki_server::{ApiError, AppState, Service};
use kiki_twin::Platform;
use serde::Deserialize;
use time::Date;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::domain::export::{Table, XLSX_MEDIA_TYPE, csv_chunks, xlsx};
use crate::domain::{
    Breakdown, CompareMode, Dimension, DrillDown, Filters, Format, Performers, PeriodView,
    RankLevel, ScopeKind, Summary, TimeSeries, day_text,
};
use crate::error::AnalyticsError;
use crate::service::{AnalyticsService, Comparison, RankRequest};

/// Every route of the analytics API.
pub fn api() -> VersionedApi<AppState> {
    let v = ApiVersion::CURRENT;
    VersionedApi::new()
        .routes(v, routes!(summary))
        .routes(v, routes!(timeseries))
        .routes(v, routes!(breakdown))
        .routes(v, routes!(performers))
        .routes(v, routes!(drilldown))
}

/// Rows a CSV chunk carries: the download is sent as it is written.
const CSV_ROWS_PER_CHUNK: usize = 500;

/// A query string: the filters every analytics route takes, then its own.
macro_rules! analytics_query {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Deserialize, utoipa::IntoParams)]
        #[into_params(parameter_in = Query)]
        pub struct $name {
            /// First day (`YYYY-MM-DD`, included); default
            /// `analytics.default_range_days` − 1 days before `until`.
            #[serde(default, with = "crate::domain::iso_date::option")]
            #[param(value_type = Option<String>, format = Date)]
            pub since: Option<Date>,
            /// Last day (included); default today in `tz`. Not before
            /// `since`; a range spans at most 3660 days.
            #[serde(default, with = "crate::domain::iso_date::option")]
            #[param(value_type = Option<String>, format = Date)]
            pub until: Option<Date>,
            /// The IANA time zone whose calendar decides "today" (default
            /// `analytics.default_time_zone`).
            #[param(max_length = 64, example = "Europe/Berlin")]
            pub tz: Option<String>,
            /// `organisation` (default) or `clients`: the active
            /// organisation and every organisation it reaches.
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
            $($(#[$fmeta])* pub $field: $ty,)*
        }

        impl $name {
            fn filters(&self) -> Filters {
                Filters {
                    since: self.since,
                    until: self.until,
                    tz: self.tz.clone(),
                    scope: self.scope,
                    platform: self.platform.map(|p| p.as_str().to_owned()),
                    campaign_id: self.campaign_id,
                    currency: self.currency.clone(),
                }
            }
        }
    };
}

analytics_query!(
    /// The summary's query.
    SummaryQuery {
        /// `previous` (default: the period of the same length just before),
        /// `custom` (`compare_since`..`compare_until`) or `none`.
        #[param(value_type = Option<CompareMode>, inline)]
        compare: Option<CompareMode>,
        /// First day of a custom comparison.
        #[serde(default, with = "crate::domain::iso_date::option")]
        #[param(value_type = Option<String>, format = Date)]
        compare_since: Option<Date>,
        /// Last day of a custom comparison.
        #[serde(default, with = "crate::domain::iso_date::option")]
        #[param(value_type = Option<String>, format = Date)]
        compare_until: Option<Date>,
    }
);

analytics_query!(
    /// The time series' query.
    SeriesQuery {
        /// `day` (default), `week` (ISO, Monday first) or `month`.
        #[param(value_type = Option<Granularity>, inline)]
        granularity: Option<Granularity>,
        /// `json` (default), `csv` or `xlsx`.
        #[param(value_type = Option<Format>, inline)]
        format: Option<Format>,
    }
);

analytics_query!(
    /// The breakdown's query.
    BreakdownQuery {
        /// `platform` (default), `organisation`, `campaign`, `ad_set` or `ad`.
        #[param(value_type = Option<Dimension>, inline)]
        by: Option<Dimension>,
        /// Rows, 1 to 1000 (default 100; at most `analytics.max_rows`).
        #[param(minimum = 1, maximum = 1000)]
        limit: Option<u32>,
        /// `json` (default), `csv` or `xlsx`.
        #[param(value_type = Option<Format>, inline)]
        format: Option<Format>,
    }
);

analytics_query!(
    /// The ranking's query.
    PerformersQuery {
        /// What is ranked: `campaign` (default), `ad_set` or `ad`.
        #[param(value_type = Option<RankLevel>, inline)]
        level: Option<RankLevel>,
        /// The metric (default `roas`).
        #[param(value_type = Option<Metric>, inline)]
        metric: Option<Metric>,
        /// `top` (the best first, default) or `bottom` (the worst first);
        /// "best" follows the metric (a low CPA is good).
        #[param(value_type = Option<Direction>, inline)]
        direction: Option<Direction>,
        /// Minimum spend in micros of the row's currency (default 0).
        #[param(minimum = 0)]
        min_spend_micros: Option<i64>,
        /// Minimum impressions (default 0).
        #[param(minimum = 0)]
        min_impressions: Option<i64>,
        /// Minimum clicks (default 0).
        #[param(minimum = 0)]
        min_clicks: Option<i64>,
        /// Minimum conversions (default 0).
        #[param(minimum = 0, maximum = 1000000000)]
        min_conversions: Option<i64>,
        /// Rows, 1 to 1000 (default 10).
        #[param(minimum = 1, maximum = 1000)]
        limit: Option<u32>,
        /// `json` (default), `csv` or `xlsx`.
        #[param(value_type = Option<Format>, inline)]
        format: Option<Format>,
    }
);

/// The drill-down's query: the common filters; `campaign_id` and
/// `ad_set_id` choose the level.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DrillQuery {
    /// The KIKI campaign to drill into (without it: the organisation, with
    /// its campaigns as the next level).
    pub campaign_id: Option<Uuid>,
    /// One ad set of the campaign: its totals, its ads and its days.
    pub ad_set_id: Option<Uuid>,
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
    /// The IANA time zone whose calendar decides "today" (default
    /// `analytics.default_time_zone`).
    #[param(max_length = 64, example = "Europe/Berlin")]
    pub tz: Option<String>,
    /// `organisation` (default) or `clients`.
    #[param(value_type = Option<ScopeKind>, inline)]
    pub scope: Option<ScopeKind>,
    /// Only this platform.
    #[param(value_type = Option<Platform>)]
    pub platform: Option<Platform>,
    /// Only rows in this currency (ISO 4217).
    #[param(pattern = "^[A-Za-z]{3}$", example = "USD")]
    pub currency: Option<String>,
    /// Rows of the next level down, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// `json` (default), `csv` (the daily rows) or `xlsx` (daily rows,
    /// totals and the next level, one sheet each).
    #[param(value_type = Option<Format>, inline)]
    pub format: Option<Format>,
}

impl DrillQuery {
    fn filters(&self) -> Filters {
        Filters {
            since: self.since,
            until: self.until,
            tz: self.tz.clone(),
            scope: self.scope,
            platform: self.platform.map(|p| p.as_str().to_owned()),
            campaign_id: self.campaign_id,
            currency: self.currency.clone(),
        }
    }
}

fn limit(v: Option<u32>, default: u32) -> Result<usize, ApiError> {
    match v {
        None => Ok(default as usize),
        Some(n) if (1..=1000).contains(&n) => Ok(n as usize),
        Some(_) => Err(AnalyticsError::field("limit", "Must be from 1 to 1000.").into()),
    }
}

/// The format asked for: the `format` parameter, else the `Accept` header.
fn negotiated(format: Option<Format>, headers: &HeaderMap) -> Format {
    if let Some(f) = format {
        return f;
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if accept.starts_with("text/csv") {
        Format::Csv
    } else if accept.starts_with(XLSX_MEDIA_TYPE) {
        Format::Xlsx
    } else {
        Format::Json
    }
}

/// Answers a table report as JSON, or (checked and audited) as a file.
#[allow(clippy::too_many_arguments)]
async fn answer<T: serde::Serialize>(
    svc: &AnalyticsService,
    p: &Perm<CampaignRead>,
    meta: &kiki_identity::RequestMeta,
    format: Format,
    report: &str,
    period: &PeriodView,
    value: T,
    tables: impl FnOnce(&T) -> Vec<Table>,
) -> Result<Response, ApiError> {
    if format == Format::Json {
        return Ok(Json(value).into_response());
    }
    let tables = tables(&value);
    let rows = tables.first().map_or(0, |t| t.rows.len());
    svc.audit_export(&p.0, meta, report, format, period, rows)
        .await?;
    let stem = format!(
        "analytics-{report}-{}-{}",
        day_text(period.since),
        day_text(period.until)
    );
    let (media, body, ext) = match format {
        Format::Csv => {
            let chunks = tables
                .first()
                .map(|t| csv_chunks(t, CSV_ROWS_PER_CHUNK))
                .unwrap_or_default();
            let stream = futures::stream::iter(
                chunks
                    .into_iter()
                    .map(|c| Ok::<Bytes, Infallible>(Bytes::from(c))),
            );
            ("text/csv; charset=utf-8", Body::from_stream(stream), "csv")
        }
        _ => {
            let bytes = xlsx(&tables)
                .map_err(|e| AnalyticsError::Internal(format!("writing the workbook: {e}")))?;
            (XLSX_MEDIA_TYPE, Body::from(bytes), "xlsx")
        }
    };
    let mut resp = Response::new(body);
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{stem}.{ext}\"")) {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// Spend, revenue, conversions, ROAS, CPA, CTR, CPC, CPM, CVR, gross profit
/// at each organisation's margin, profit after ad spend and active
/// campaigns for a range, one entry per currency, each with the comparison
/// period's figures and the change.
#[utoipa::path(get, path = "/analytics/summary", tag = "analytics", params(SummaryQuery),
    responses((status = 200, body = Summary),
        (status = 403, description = "Lacks `campaign.read`", body = ErrorEnvelope),
        (status = 422, description = "A range ends before it starts or is too long, an unknown time zone, a custom comparison without its days (each named)", body = ErrorEnvelope)))]
pub async fn summary(
    Service(svc): Service<AnalyticsService>,
    p: Perm<CampaignRead>,
    Query(q): Query<SummaryQuery>,
) -> Result<Json<Summary>, ApiError> {
    let cmp = Comparison {
        mode: q.compare.unwrap_or(CompareMode::Previous),
        since: q.compare_since,
        until: q.compare_until,
    };
    Ok(Json(svc.summary(&p.0.scope, &q.filters(), cmp).await?))
}

/// The figures per day, ISO week or month of the range, one point per
/// bucket and currency (a bucket without rows has zeros).
#[utoipa::path(get, path = "/analytics/timeseries", tag = "analytics", params(SeriesQuery),
    responses((status = 200, description = "The series (JSON), or as CSV or an Excel workbook",
            content((TimeSeries = "application/json"), (String = "text/csv"),
                (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 403, description = "Lacks `campaign.read`, or `export` for a file", body = ErrorEnvelope),
        (status = 422, description = "A range ends before it starts or is too long, or an unknown time zone", body = ErrorEnvelope)))]
pub async fn timeseries(
    Service(svc): Service<AnalyticsService>,
    Meta(meta): Meta,
    p: Perm<CampaignRead>,
    headers: HeaderMap,
    Query(q): Query<SeriesQuery>,
) -> Result<Response, ApiError> {
    let g = q.granularity.unwrap_or(Granularity::Day);
    let v = svc.timeseries(&p.0.scope, &q.filters(), g).await?;
    let period = v.period.clone();
    let format = negotiated(q.format, &headers);
    answer(
        &svc,
        &p,
        &meta,
        format,
        "timeseries",
        &period,
        v,
        TimeSeries::tables,
    )
    .await
}

/// The figures per platform, organisation, campaign, ad set or ad, one row
/// per group and currency, the largest spend first.
#[utoipa::path(get, path = "/analytics/breakdown", tag = "analytics", params(BreakdownQuery),
    responses((status = 200, description = "The rows (JSON), or as CSV or an Excel workbook",
            content((Breakdown = "application/json"), (String = "text/csv"),
                (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 403, description = "Lacks `campaign.read`, or `export` for a file", body = ErrorEnvelope),
        (status = 422, description = "A range ends before it starts or is too long, or an unknown time zone", body = ErrorEnvelope)))]
pub async fn breakdown(
    Service(svc): Service<AnalyticsService>,
    Meta(meta): Meta,
    p: Perm<CampaignRead>,
    headers: HeaderMap,
    Query(q): Query<BreakdownQuery>,
) -> Result<Response, ApiError> {
    let by = q.by.unwrap_or(Dimension::Platform);
    let v = svc
        .breakdown(&p.0.scope, &q.filters(), by, limit(q.limit, 100)?)
        .await?;
    let period = v.period.clone();
    let format = negotiated(q.format, &headers);
    answer(
        &svc,
        &p,
        &meta,
        format,
        "breakdown",
        &period,
        v,
        Breakdown::tables,
    )
    .await
}

/// The best (or worst) campaigns, ad sets or ads by a metric, among those
/// with at least the minimum volume and a defined metric.
#[utoipa::path(get, path = "/analytics/performers", tag = "analytics", params(PerformersQuery),
    responses((status = 200, description = "The ranking (JSON), or as CSV or an Excel workbook",
            content((Performers = "application/json"), (String = "text/csv"),
                (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 403, description = "Lacks `campaign.read`, or `export` for a file", body = ErrorEnvelope),
        (status = 422, description = "A range ends before it starts or is too long, an unknown time zone, or an amount ranked across currencies without `currency`", body = ErrorEnvelope)))]
pub async fn performers(
    Service(svc): Service<AnalyticsService>,
    Meta(meta): Meta,
    p: Perm<CampaignRead>,
    headers: HeaderMap,
    Query(q): Query<PerformersQuery>,
) -> Result<Response, ApiError> {
    let non_negative = |name: &str, v: Option<i64>| -> Result<i64, ApiError> {
        match v {
            Some(n) if n < 0 => Err(AnalyticsError::field(name, "Must not be negative.").into()),
            v => Ok(v.unwrap_or(0)),
        }
    };
    let min_conversions = non_negative("min_conversions", q.min_conversions)?;
    if min_conversions > 1_000_000_000 {
        return Err(AnalyticsError::field("min_conversions", "At most 1000000000.").into());
    }
    let r = RankRequest {
        level: q.level.unwrap_or(RankLevel::Campaign),
        metric: q.metric.unwrap_or(Metric::Roas),
        direction: q.direction.unwrap_or(Direction::Top),
        min: MinVolume {
            spend_micros: non_negative("min_spend_micros", q.min_spend_micros)?,
            impressions: non_negative("min_impressions", q.min_impressions)?,
            clicks: non_negative("min_clicks", q.min_clicks)?,
            conversions_micros: min_conversions * kiki_analytics::metrics::CONVERSION_SCALE,
        },
        limit: limit(q.limit, 10)?,
    };
    let v = svc.performers(&p.0.scope, &q.filters(), r).await?;
    let period = v.period.clone();
    let format = negotiated(q.format, &headers);
    answer(
        &svc,
        &p,
        &meta,
        format,
        "performers",
        &period,
        v,
        Performers::tables,
    )
    .await
}

/// The organisation (or, with `campaign_id`, a campaign; with `ad_set_id`,
/// an ad set): its totals, the next level down (campaigns, ad sets, or ads)
/// and its daily rows.
#[utoipa::path(get, path = "/analytics/drilldown", tag = "analytics", params(DrillQuery),
    responses((status = 200, description = "The drill-down (JSON), or its daily rows as CSV, or an Excel workbook",
            content((DrillDown = "application/json"), (String = "text/csv"),
                (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 403, description = "Lacks `campaign.read`, or `export` for a file", body = ErrorEnvelope),
        (status = 422, description = "A range ends before it starts or is too long, or an unknown time zone", body = ErrorEnvelope)))]
pub async fn drilldown(
    Service(svc): Service<AnalyticsService>,
    Meta(meta): Meta,
    p: Perm<CampaignRead>,
    headers: HeaderMap,
    Query(q): Query<DrillQuery>,
) -> Result<Response, ApiError> {
    let v = svc
        .drilldown(&p.0.scope, &q.filters(), q.ad_set_id, limit(q.limit, 100)?)
        .await?;
    let period = v.period.clone();
    let format = negotiated(q.format, &headers);
    answer(
        &svc,
        &p,
        &meta,
        format,
        "drilldown",
        &period,
        v,
        DrillDown::tables,
    )
    .await
}
