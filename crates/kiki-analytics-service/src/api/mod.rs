//! The `/v1/analytics` routes (OpenAPI-annotated); service errors become
//! HTTP responses at the edge through their `DomainError` face.
//!
//! Every route reads with `campaign.read`, for the active organisation or,
//! with `scope=clients`, for it and every organisation it reaches (an
//! agency's clients). The tables (time series, breakdown, performers,
//! drill-down) also answer as CSV (`format=csv` or `Accept: text/csv`,
//! streamed), as an Excel workbook (`format=xlsx` or `Accept:` its media
//! type) or as a PDF report (`format=pdf` or `Accept: application/pdf`); an
//! export needs `export` as well and is written to the audit log. Exports
//! too large to wait for run as jobs (`exports`).

pub(crate) mod exports;
pub(crate) mod fx;
pub(crate) mod rows;
pub(crate) mod schedules;
pub(crate) mod variants;

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

use crate::domain::export::XLSX_MEDIA_TYPE;
use crate::domain::pdf::{Heading, PDF_MEDIA_TYPE};
use crate::domain::{
    Breakdown, CompareMode, Dimension, DrillDown, ExportFile, Filters, Format, Performers,
    RankLevel, Report, ScopeKind, Summary, TimeSeries, write_file,
};
use crate::error::AnalyticsError;
use crate::service::{AnalyticsService, Comparison, RankRequest, ReportRequest};

/// Every route of the analytics API.
pub fn api() -> VersionedApi<AppState> {
    let v = ApiVersion::CURRENT;
    VersionedApi::new()
        .routes(v, routes!(summary))
        .routes(v, routes!(timeseries))
        .routes(v, routes!(breakdown))
        .routes(v, routes!(performers))
        .routes(v, routes!(drilldown))
        .routes(v, routes!(variants::variants))
        .routes(v, routes!(rows::rows))
        .routes(v, routes!(exports::create_export, exports::list_exports))
        .routes(v, routes!(exports::get_export))
        .routes(v, routes!(exports::download_export))
        .routes(
            v,
            routes!(schedules::create_schedule, schedules::list_schedules),
        )
        .routes(
            v,
            routes!(
                schedules::get_schedule,
                schedules::put_schedule,
                schedules::delete_schedule
            ),
        )
        .routes(v, routes!(schedules::run_schedule))
        .routes(v, routes!(fx::put_fx_rates, fx::list_fx_rates))
        .routes(v, routes!(fx::import_fx_rates))
}

/// Rows a CSV chunk carries: the download is sent as it is written.
pub(crate) const CSV_ROWS_PER_CHUNK: usize = 500;

/// Most rows a table route answers with (`limit`); an export job takes
/// up to `analytics.export_max_rows`.
const SYNC_MAX_ROWS: u32 = 1000;

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
            /// Convert every amount into this currency (ISO 4217), each day
            /// at that day's rate from the exchange-rate table
            /// (`/v1/analytics/fx-rates`); the answer's `fx` says which. A
            /// day without a usable rate is a 422 naming `convert_to`.
            #[param(pattern = "^[A-Za-z]{3}$", example = "EUR")]
            pub convert_to: Option<String>,
            $($(#[$fmeta])* pub $field: $ty,)*
        }

        impl $name {
            /// The common filters as a PDF prints them.
            fn printed(&self) -> Vec<(String, String)> {
                let mut v = printed_filters(self.scope, self.platform, self.campaign_id, &self.currency, &self.tz);
                if let Some(c) = &self.convert_to {
                    v.push(("converted to".into(), c.to_uppercase()));
                }
                v
            }

            fn filters(&self) -> Filters {
                Filters {
                    since: self.since,
                    until: self.until,
                    tz: self.tz.clone(),
                    scope: self.scope,
                    platform: self.platform.map(|p| p.as_str().to_owned()),
                    campaign_id: self.campaign_id,
                    currency: self.currency.clone(),
                    convert_to: self.convert_to.clone(),
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
        /// `json` (default), `csv` (one row per currency and figure),
        /// `xlsx` (that table, the basis sentences and the margins, one
        /// sheet each) or `pdf` (the same tables).
        #[param(value_type = Option<Format>, inline)]
        format: Option<Format>,
    }
);

impl SummaryQuery {
    pub(crate) fn request(&self) -> ReportRequest {
        ReportRequest::Summary(self.filters(), self.comparison())
    }

    fn comparison(&self) -> Comparison {
        Comparison {
            mode: self.compare.unwrap_or(CompareMode::Previous),
            since: self.compare_since,
            until: self.compare_until,
        }
    }

    pub(crate) fn printed_all(&self) -> Vec<(String, String)> {
        let mut v = self.printed();
        let mode = self.compare.unwrap_or(CompareMode::Previous);
        let compared = match (mode, self.compare_since, self.compare_until) {
            (CompareMode::Custom, Some(s), Some(u)) => format!(
                "{} to {}",
                crate::domain::day_text(s),
                crate::domain::day_text(u)
            ),
            (m, _, _) => m.as_str().to_owned(),
        };
        v.push(("compared with".into(), compared));
        v
    }
}

analytics_query!(
    /// The time series' query.
    SeriesQuery {
        /// `day` (default), `week` (ISO, Monday first) or `month`.
        #[param(value_type = Option<Granularity>, inline)]
        granularity: Option<Granularity>,
        /// `json` (default), `csv`, `xlsx` or `pdf`.
        #[param(value_type = Option<Format>, inline)]
        format: Option<Format>,
    }
);

analytics_query!(
    /// The breakdown's query.
    BreakdownQuery {
        /// `platform` (default), `organisation`, `campaign`, `ad_set`, `ad`,
        /// `variant` (the ads showing one creative, summed), `country` or
        /// `device` (the last two where the platforms report them; the
        /// answer names those that do not).
        #[param(value_type = Option<Dimension>, inline)]
        by: Option<Dimension>,
        /// Rows, 1 to 1000 (default 100; at most `analytics.max_rows`).
        #[param(minimum = 1, maximum = 1000)]
        limit: Option<u32>,
        /// `json` (default), `csv`, `xlsx` or `pdf`.
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
        /// Minimum spend, a decimal amount in each row's own currency
        /// (`"49.99"`; default 0).
        #[param(pattern = r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,6})?$", example = "100.00")]
        min_spend: Option<String>,
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
        /// `json` (default), `csv`, `xlsx` or `pdf`.
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
    /// `json` (default), `csv` (the daily rows), `xlsx` (daily rows,
    /// totals and the next level, one sheet each) or `pdf` (the same
    /// tables and a revenue-vs-spend chart).
    #[param(value_type = Option<Format>, inline)]
    pub format: Option<Format>,
}

impl DrillQuery {
    fn printed(&self) -> Vec<(String, String)> {
        let mut v = printed_filters(
            self.scope,
            self.platform,
            self.campaign_id,
            &self.currency,
            &self.tz,
        );
        if let Some(a) = self.ad_set_id {
            v.push(("ad set".into(), a.to_string()));
        }
        v
    }

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

/// The filters a request named, as (name, value) for a PDF's heading.
fn printed_filters(
    scope: Option<ScopeKind>,
    platform: Option<Platform>,
    campaign_id: Option<Uuid>,
    currency: &Option<String>,
    tz: &Option<String>,
) -> Vec<(String, String)> {
    let mut v = vec![(
        "scope".to_owned(),
        scope.unwrap_or(ScopeKind::Organisation).as_str().to_owned(),
    )];
    if let Some(p) = platform {
        v.push(("platform".into(), p.as_str().to_owned()));
    }
    if let Some(c) = campaign_id {
        v.push(("campaign".into(), c.to_string()));
    }
    if let Some(c) = currency {
        v.push(("currency".into(), c.to_uppercase()));
    }
    if let Some(t) = tz {
        v.push(("time zone".into(), t.clone()));
    }
    v
}

/// A row limit from 1 to `max` (`default` when absent).
pub(crate) fn limit(v: Option<u32>, default: u32, max: u32) -> Result<usize, AnalyticsError> {
    match v {
        None => Ok(default.min(max) as usize),
        Some(n) if (1..=max).contains(&n) => Ok(n as usize),
        Some(_) => Err(AnalyticsError::field(
            "limit",
            format!("Must be from 1 to {max}."),
        )),
    }
}

impl SeriesQuery {
    pub(crate) fn request(&self) -> ReportRequest {
        ReportRequest::TimeSeries(self.filters(), self.granularity.unwrap_or(Granularity::Day))
    }

    pub(crate) fn printed_all(&self) -> Vec<(String, String)> {
        let mut v = self.printed();
        v.push((
            "granularity".into(),
            self.granularity.unwrap_or(Granularity::Day).as_str().into(),
        ));
        v
    }
}

impl BreakdownQuery {
    pub(crate) fn request(&self, max: u32) -> Result<ReportRequest, AnalyticsError> {
        Ok(ReportRequest::Breakdown(
            self.filters(),
            self.by.unwrap_or(Dimension::Platform),
            limit(self.limit, 100, max)?,
        ))
    }

    pub(crate) fn printed_all(&self) -> Vec<(String, String)> {
        let mut v = self.printed();
        v.push((
            "by".into(),
            self.by.unwrap_or(Dimension::Platform).as_str().into(),
        ));
        v
    }
}

/// A minimum spend given as a non-negative decimal amount (`"49.99"`), in
/// micros; applied in each row's own currency.
pub(crate) fn min_spend_micros(name: &str, v: Option<&str>) -> Result<i64, AnalyticsError> {
    let Some(text) = v else { return Ok(0) };
    let shaped = text
        .strip_prefix('-')
        .is_none()
        .then(|| kiki_core::Money::parse_decimal(text, kiki_core::Currency::USD).ok())
        .flatten()
        .filter(|m| m.micros >= 0 && !text.starts_with('+') && text.trim() == text);
    shaped.map(|m| m.micros).ok_or_else(|| {
        AnalyticsError::field(
            name,
            "A decimal amount of at least 0 with up to 6 decimals, such as 49.99.",
        )
    })
}

impl PerformersQuery {
    pub(crate) fn request(&self, max: u32) -> Result<ReportRequest, AnalyticsError> {
        let non_negative = |name: &str, v: Option<i64>| -> Result<i64, AnalyticsError> {
            match v {
                Some(n) if n < 0 => Err(AnalyticsError::field(name, "Must not be negative.")),
                v => Ok(v.unwrap_or(0)),
            }
        };
        let min_conversions = non_negative("min_conversions", self.min_conversions)?;
        if min_conversions > 1_000_000_000 {
            return Err(AnalyticsError::field(
                "min_conversions",
                "At most 1000000000.",
            ));
        }
        Ok(ReportRequest::Performers(
            self.filters(),
            RankRequest {
                level: self.level.unwrap_or(RankLevel::Campaign),
                metric: self.metric.unwrap_or(Metric::Roas),
                direction: self.direction.unwrap_or(Direction::Top),
                min: MinVolume {
                    spend_micros: min_spend_micros("min_spend", self.min_spend.as_deref())?,
                    impressions: non_negative("min_impressions", self.min_impressions)?,
                    clicks: non_negative("min_clicks", self.min_clicks)?,
                    conversions_micros: min_conversions * kiki_analytics::metrics::CONVERSION_SCALE,
                },
                limit: limit(self.limit, 10, max)?,
            },
        ))
    }

    pub(crate) fn printed_all(&self) -> Vec<(String, String)> {
        let mut v = self.printed();
        v.push((
            "level".into(),
            self.level.unwrap_or(RankLevel::Campaign).as_str().into(),
        ));
        v.push((
            "metric".into(),
            self.metric.unwrap_or(Metric::Roas).as_str().into(),
        ));
        v.push((
            "direction".into(),
            self.direction.unwrap_or(Direction::Top).as_str().into(),
        ));
        if let Some(m) = &self.min_spend {
            v.push(("min spend".into(), m.clone()));
        }
        for (name, value) in [
            ("min impressions", self.min_impressions),
            ("min clicks", self.min_clicks),
            ("min conversions", self.min_conversions),
        ] {
            if let Some(n) = value {
                v.push((name.into(), n.to_string()));
            }
        }
        v
    }
}

impl DrillQuery {
    pub(crate) fn request(&self, max: u32) -> Result<ReportRequest, AnalyticsError> {
        Ok(ReportRequest::DrillDown(
            self.filters(),
            self.ad_set_id,
            limit(self.limit, 100, max)?,
        ))
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
    } else if accept.starts_with(PDF_MEDIA_TYPE) {
        Format::Pdf
    } else {
        Format::Json
    }
}

/// The heading a PDF of a report prints.
pub(crate) async fn heading(
    svc: &AnalyticsService,
    scope: &kiki_core::TenantScope,
    report: &Report,
    filters: Vec<(String, String)>,
    tz: Option<String>,
) -> Result<Heading, AnalyticsError> {
    Ok(Heading {
        title: report.title(),
        organisation: svc.organisation_name(scope).await?,
        period: report.period().clone(),
        time_zone: Some(tz.unwrap_or_else(|| svc.config().default_time_zone.clone())),
        filters,
        generated_at: svc.now(),
    })
}

/// Answers a table report as JSON, or (checked and audited) as a file.
async fn answer(
    svc: &AnalyticsService,
    p: &Perm<CampaignRead>,
    meta: &kiki_identity::RequestMeta,
    format: Format,
    report: Report,
    filters: Vec<(String, String)>,
    tz: Option<String>,
) -> Result<Response, ApiError> {
    if format == Format::Json {
        return Ok(Json(report.json()).into_response());
    }
    // Checked before anything is written: a refused export costs nothing.
    svc.check_export(&p.0)?;
    let head = if format == Format::Pdf {
        heading(svc, &p.0.scope, &report, filters, tz).await?
    } else {
        Heading {
            title: report.title(),
            organisation: String::new(),
            period: report.period().clone(),
            time_zone: tz,
            filters,
            generated_at: svc.now(),
        }
    };
    let file = write_file(&report, format, &head, CSV_ROWS_PER_CHUNK)
        .map_err(AnalyticsError::Internal)?
        .ok_or_else(|| AnalyticsError::Internal("a file format without a writer".into()))?;
    svc.audit_export(
        &p.0,
        meta,
        report.name(),
        format,
        report.period(),
        file.rows,
    )
    .await?;
    Ok(file_response(file))
}

/// A file download: its media type, `attachment` with its name, the body
/// sent chunk by chunk.
pub(crate) fn file_response(file: ExportFile) -> Response {
    let stream = futures::stream::iter(
        file.chunks
            .into_iter()
            .map(|c| Ok::<Bytes, Infallible>(Bytes::from(c))),
    );
    let mut resp = Response::new(Body::from_stream(stream));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(file.media_type),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", file.file_name)) {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    resp
}

/// Spend, revenue, conversions, ROAS, CPA, CTR, CPC, CPM, CVR, gross profit
/// at each organisation's margin, profit after ad spend, active campaigns,
/// new customers and their predicted LTV, CAC, LTV/CAC, net profit uplift
/// against the baseline and its fee for a range, one entry per currency,
/// each with the comparison period's figures and the change; also as CSV,
/// an Excel workbook or a PDF.
#[utoipa::path(get, path = "/analytics/summary", tag = "analytics", params(SummaryQuery),
    responses((status = 200, description = "The summary (JSON), or as CSV, an Excel workbook or a PDF",
            content((Summary = "application/json"), (String = "text/csv"),
                (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                (String = "application/pdf"))),
        (status = 403, description = "Lacks `campaign.read`, or `export` for a file", body = ErrorEnvelope),
        (status = 422, description = "A range ends before it starts or is too long, an unknown time zone, a custom comparison without its days (each named); or `convert_to` with a day that has no usable rate (the currency and its first such day named)", body = ErrorEnvelope)))]
pub async fn summary(
    Service(svc): Service<AnalyticsService>,
    Meta(meta): Meta,
    p: Perm<CampaignRead>,
    headers: HeaderMap,
    Query(q): Query<SummaryQuery>,
) -> Result<Response, ApiError> {
    let format = negotiated(q.format, &headers);
    let v = svc
        .summary(&p.0.scope, &q.filters(), q.comparison())
        .await?;
    if format == Format::Json {
        return Ok(Json(v).into_response());
    }
    let printed = q.printed_all();
    answer(
        &svc,
        &p,
        &meta,
        format,
        Report::Summary(Box::new(v)),
        printed,
        q.tz,
    )
    .await
}

/// The figures per day, ISO week or month of the range, one point per
/// bucket and currency (a bucket without rows has zeros).
#[utoipa::path(get, path = "/analytics/timeseries", tag = "analytics", params(SeriesQuery),
    responses((status = 200, description = "The series (JSON), or as CSV, an Excel workbook or a PDF",
            content((TimeSeries = "application/json"), (String = "text/csv"),
                (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                (String = "application/pdf"))),
        (status = 403, description = "Lacks `campaign.read`, or `export` for a file", body = ErrorEnvelope),
        (status = 422, description = "A range ends before it starts or is too long, or an unknown time zone; or `convert_to` with a day that has no usable rate (the currency and its first such day named)", body = ErrorEnvelope)))]
pub async fn timeseries(
    Service(svc): Service<AnalyticsService>,
    Meta(meta): Meta,
    p: Perm<CampaignRead>,
    headers: HeaderMap,
    Query(q): Query<SeriesQuery>,
) -> Result<Response, ApiError> {
    let g = q.granularity.unwrap_or(Granularity::Day);
    let v = svc.timeseries(&p.0.scope, &q.filters(), g).await?;
    let format = negotiated(q.format, &headers);
    let printed = q.printed_all();
    answer(
        &svc,
        &p,
        &meta,
        format,
        Report::TimeSeries(v),
        printed,
        q.tz,
    )
    .await
}

/// The figures per platform, organisation, campaign, ad set, ad, country
/// or device, one row per group and currency, the largest spend first. By
/// country or device, `not_reported_by` lists the platforms that did not
/// report it on a day of the range (their numbers are in no row).
#[utoipa::path(get, path = "/analytics/breakdown", tag = "analytics", params(BreakdownQuery),
    responses((status = 200, description = "The rows (JSON), or as CSV, an Excel workbook or a PDF",
            content((Breakdown = "application/json"), (String = "text/csv"),
                (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                (String = "application/pdf"))),
        (status = 403, description = "Lacks `campaign.read`, or `export` for a file", body = ErrorEnvelope),
        (status = 422, description = "A range ends before it starts or is too long, or an unknown time zone; or `convert_to` with a day that has no usable rate (the currency and its first such day named) or with `by` country, device or variant", body = ErrorEnvelope)))]
pub async fn breakdown(
    Service(svc): Service<AnalyticsService>,
    Meta(meta): Meta,
    p: Perm<CampaignRead>,
    headers: HeaderMap,
    Query(q): Query<BreakdownQuery>,
) -> Result<Response, ApiError> {
    let ReportRequest::Breakdown(f, by, n) = q.request(SYNC_MAX_ROWS)? else {
        return Err(
            AnalyticsError::Internal("a breakdown query made another report".into()).into(),
        );
    };
    let v = svc.breakdown(&p.0.scope, &f, by, n).await?;
    let format = negotiated(q.format, &headers);
    let printed = q.printed_all();
    answer(&svc, &p, &meta, format, Report::Breakdown(v), printed, q.tz).await
}

/// The best (or worst) campaigns, ad sets or ads by a metric, among those
/// with at least the minimum volume and a defined metric.
#[utoipa::path(get, path = "/analytics/performers", tag = "analytics", params(PerformersQuery),
    responses((status = 200, description = "The ranking (JSON), or as CSV, an Excel workbook or a PDF",
            content((Performers = "application/json"), (String = "text/csv"),
                (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                (String = "application/pdf"))),
        (status = 403, description = "Lacks `campaign.read`, or `export` for a file", body = ErrorEnvelope),
        (status = 422, description = "A range ends before it starts or is too long, an unknown time zone, or an amount ranked across currencies without `currency`; or `convert_to` with a day that has no usable rate (the currency and its first such day named)", body = ErrorEnvelope)))]
pub async fn performers(
    Service(svc): Service<AnalyticsService>,
    Meta(meta): Meta,
    p: Perm<CampaignRead>,
    headers: HeaderMap,
    Query(q): Query<PerformersQuery>,
) -> Result<Response, ApiError> {
    let ReportRequest::Performers(f, r) = q.request(SYNC_MAX_ROWS)? else {
        return Err(AnalyticsError::Internal("a ranking query made another report".into()).into());
    };
    let v = svc.performers(&p.0.scope, &f, r).await?;
    let format = negotiated(q.format, &headers);
    let printed = q.printed_all();
    answer(
        &svc,
        &p,
        &meta,
        format,
        Report::Performers(v),
        printed,
        q.tz,
    )
    .await
}

/// The organisation (or, with `campaign_id`, a campaign; with `ad_set_id`,
/// an ad set): its totals, the next level down (campaigns, ad sets, or ads)
/// and its daily rows.
#[utoipa::path(get, path = "/analytics/drilldown", tag = "analytics", params(DrillQuery),
    responses((status = 200, description = "The drill-down (JSON), or its daily rows as CSV, an Excel workbook or a PDF",
            content((DrillDown = "application/json"), (String = "text/csv"),
                (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                (String = "application/pdf"))),
        (status = 403, description = "Lacks `campaign.read`, or `export` for a file", body = ErrorEnvelope),
        (status = 422, description = "A range ends before it starts or is too long, or an unknown time zone", body = ErrorEnvelope)))]
pub async fn drilldown(
    Service(svc): Service<AnalyticsService>,
    Meta(meta): Meta,
    p: Perm<CampaignRead>,
    headers: HeaderMap,
    Query(q): Query<DrillQuery>,
) -> Result<Response, ApiError> {
    let ReportRequest::DrillDown(f, ad_set, n) = q.request(SYNC_MAX_ROWS)? else {
        return Err(
            AnalyticsError::Internal("a drill-down query made another report".into()).into(),
        );
    };
    let v = svc.drilldown(&p.0.scope, &f, ad_set, n).await?;
    let format = negotiated(q.format, &headers);
    let printed = q.printed();
    answer(&svc, &p, &meta, format, Report::DrillDown(v), printed, q.tz).await
}
