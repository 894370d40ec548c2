//! Export jobs' request and answer shapes: what `POST /v1/analytics/exports`
//! takes and what the export's status page shows.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use kiki_analytics::{Direction, Granularity, Metric};
use kiki_twin::Platform;
use time::Date;

use super::{Dimension, Format, RankLevel, ScopeKind};

kiki_core::string_enum! {
    /// The table report an export job writes.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    #[schema(as = AnalyticsExportReport)]
    pub enum ExportReport {
        Timeseries = "timeseries",
        Breakdown = "breakdown",
        Performers = "performers",
        Drilldown = "drilldown",
        /// A campaign's creative variants side by side.
        Variants = "variants",
        /// The summary: each figure this period, the comparison's and the
        /// change, per currency, with what the figures rest on.
        Summary = "summary",
    }
}

kiki_core::string_enum! {
    /// The file an export job writes.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    #[schema(as = AnalyticsExportFormat)]
    pub enum ExportFormat {
        Csv = "csv",
        Xlsx = "xlsx",
        Pdf = "pdf",
    }
}

impl From<ExportFormat> for Format {
    fn from(f: ExportFormat) -> Format {
        match f {
            ExportFormat::Csv => Format::Csv,
            ExportFormat::Xlsx => Format::Xlsx,
            ExportFormat::Pdf => Format::Pdf,
        }
    }
}

kiki_core::string_enum! {
    /// Where an export is.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    #[schema(as = AnalyticsExportStatus)]
    pub enum ExportStatus {
        /// Waiting for a worker.
        Queued = "queued",
        /// Being written (see `progress`).
        Running = "running",
        /// Written: `download_url` serves it until `expires_at`.
        Ready = "ready",
        /// The job gave up (`error` says why).
        Failed = "failed",
        Cancelled = "cancelled",
        /// Written, but the link's time is over: the download answers 410.
        Expired = "expired",
    }
}

/// `POST /v1/analytics/exports`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AnalyticsExportRequest, example = json!({
    "report": "timeseries",
    "format": "pdf",
    "query": {"since": "2026-01-01", "until": "2026-03-31", "granularity": "week", "currency": "USD"}
}))]
pub struct CreateExport {
    pub report: ExportReport,
    pub format: ExportFormat,
    /// The report route's query parameters (the ones that report reads;
    /// the others are ignored). `limit` may go up to
    /// `analytics.export_max_rows`. The days are fixed when the export is
    /// queued ("the last 30 days" means those of that moment).
    #[serde(default)]
    pub query: ExportQuery,
}

/// The query of an export: every report route's parameters, each optional.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AnalyticsExportQuery)]
pub struct ExportQuery {
    /// First day (`YYYY-MM-DD`, included).
    #[serde(
        default,
        with = "super::iso_date::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, format = Date)]
    pub since: Option<Date>,
    /// Last day (included); not before `since`.
    #[serde(
        default,
        with = "super::iso_date::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, format = Date)]
    pub until: Option<Date>,
    /// The IANA time zone of "today".
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 64, example = "Europe/Berlin")]
    pub tz: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<ScopeKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<Uuid>,
    /// ISO 4217.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[A-Za-z]{3}$", example = "USD")]
    pub currency: Option<String>,
    /// Time series, breakdown, performers: convert every amount into this
    /// currency (ISO 4217), each day at that day's rate.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[A-Za-z]{3}$", example = "EUR")]
    pub convert_to: Option<String>,
    /// Time series: `day`, `week` or `month`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub granularity: Option<Granularity>,
    /// Breakdown: what it groups by.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub by: Option<Dimension>,
    /// Breakdown, performers, drill-down: rows (up to `analytics.export_max_rows`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 100000)]
    pub limit: Option<u32>,
    /// Performers: what is ranked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<RankLevel>,
    /// Performers: the metric.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metric: Option<Metric>,
    /// Performers: `top` or `bottom`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// Performers: the minimum spend, a decimal amount in each row's own
    /// currency (`"49.99"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = r"^(0|[1-9][0-9]{0,11})(\.[0-9]{1,6})?$", example = "100.00")]
    pub min_spend: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub min_impressions: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0)]
    pub min_clicks: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 1000000000)]
    pub min_conversions: Option<i64>,
    /// Drill-down: one ad set of the campaign.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ad_set_id: Option<Uuid>,
    /// Summary: `previous` (default), `custom` or `none`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compare: Option<super::CompareMode>,
    /// Summary: first day of a custom comparison.
    #[serde(
        default,
        with = "super::iso_date::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, format = Date)]
    pub compare_since: Option<Date>,
    /// Summary: last day of a custom comparison.
    #[serde(
        default,
        with = "super::iso_date::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>, format = Date)]
    pub compare_until: Option<Date>,
}

impl ExportQuery {
    /// The bounds of fields whatever the report (a report ignores the
    /// fields it does not read, but no field may be out of range).
    pub fn problems(&self, max_rows: u32) -> Vec<kiki_core::FieldError> {
        let mut out = Vec::new();
        if let Err(crate::error::AnalyticsError::Invalid(errors)) =
            crate::api::min_spend_micros("query.min_spend", self.min_spend.as_deref())
        {
            out.extend(errors);
        }
        for (name, v) in [
            ("query.min_impressions", self.min_impressions),
            ("query.min_clicks", self.min_clicks),
            ("query.min_conversions", self.min_conversions),
        ] {
            if v.is_some_and(|n| n < 0) {
                out.push(kiki_core::FieldError::new(name, "Must not be negative."));
            }
        }
        if self.min_conversions.is_some_and(|n| n > 1_000_000_000) {
            out.push(kiki_core::FieldError::new(
                "query.min_conversions",
                "At most 1000000000.",
            ));
        }
        if self.limit.is_some_and(|n| n == 0 || n > max_rows) {
            out.push(kiki_core::FieldError::new(
                "query.limit",
                format!("Must be from 1 to {max_rows}."),
            ));
        }
        if self.tz.as_ref().is_some_and(|t| t.chars().count() > 64) {
            out.push(kiki_core::FieldError::new(
                "query.tz",
                "At most 64 characters.",
            ));
        }
        out
    }

    /// The query as the object a report route's parameters are read from.
    pub fn params(&self) -> serde_json::Map<String, serde_json::Value> {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        }
    }
}

/// An export job and, once written, its file.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = AnalyticsExport, example = json!({
    "id": "01939e7a-1c2b-7d3e-8f40-5a6b7c8d9e0f",
    "report": "timeseries",
    "format": "pdf",
    "status": "ready",
    "progress": 1.0,
    "progress_message": "written",
    "error": null,
    "query": {"since": "2026-01-01", "until": "2026-03-31", "granularity": "week", "currency": "USD"},
    "file_name": "analytics-timeseries-2026-01-01-2026-03-31.pdf",
    "size_bytes": 48211,
    "rows": 13,
    "created_at": "2026-04-01T09:00:00Z",
    "finished_at": "2026-04-01T09:00:04Z",
    "expires_at": "2026-04-02T09:00:04Z",
    "download_url": "/v1/analytics/exports/01939e7a-1c2b-7d3e-8f40-5a6b7c8d9e0f/download"
}))]
pub struct ExportView {
    pub id: Uuid,
    pub report: ExportReport,
    #[schema(value_type = String, example = "pdf")]
    pub format: Format,
    pub status: ExportStatus,
    /// 0 to 1, as the job last reported.
    pub progress: f64,
    pub progress_message: Option<String>,
    /// Why the job failed.
    pub error: Option<String>,
    /// The query as queued (its days resolved).
    #[schema(value_type = Object)]
    pub query: serde_json::Value,
    pub file_name: Option<String>,
    pub size_bytes: Option<i64>,
    /// Rows of the report's first table.
    pub rows: Option<i64>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<OffsetDateTime>,
    /// When the download link stops working (`analytics.export_ttl_hours`
    /// after the file was written).
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<OffsetDateTime>,
    /// Where the file downloads (with the same credentials), while ready.
    pub download_url: Option<String>,
}

/// `GET /v1/analytics/exports`: the organisation's latest exports.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = AnalyticsExportList)]
pub struct ExportList {
    /// Newest first, at most 100.
    pub items: Vec<ExportView>,
}
