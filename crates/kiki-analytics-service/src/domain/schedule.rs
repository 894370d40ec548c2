//! Scheduled reports' request and answer shapes: what
//! `POST /v1/analytics/schedules` takes and what a schedule shows,
//! including its last run's outcome.

use kiki_analytics::Cadence;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use super::job::{ExportFormat, ExportQuery, ExportReport};

/// Most recipients of one schedule.
pub const MAX_RECIPIENTS: usize = 20;
/// Most schedules of one organisation.
pub const MAX_SCHEDULES: i64 = 100;
/// Longest name, in characters.
pub const MAX_NAME_CHARS: usize = 120;

/// `POST /v1/analytics/schedules` and `PUT /v1/analytics/schedules/{id}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AnalyticsScheduleRequest, example = json!({
    "name": "Weekly platforms",
    "report": "breakdown",
    "format": "xlsx",
    "query": {"by": "platform"},
    "recipients": ["owner@shop.example"],
    "cadence": "weekly",
    "hour": 8,
    "weekday": 1,
    "time_zone": "Europe/Berlin"
}))]
pub struct ScheduleRequest {
    /// 1–120 characters, not only spaces.
    #[schema(min_length = 1, max_length = 120)]
    pub name: String,
    pub report: ExportReport,
    pub format: ExportFormat,
    /// The report's query as for an export, **without** `since` and
    /// `until`: each run fixes its days (`range_days`, or the previous
    /// period of the cadence).
    #[serde(default)]
    pub query: ExportQuery,
    /// Email addresses of members of this organisation whose role may
    /// export (`campaign.read` and `export`); 1–20. Each receives the
    /// report as their own role and reach let them read it.
    #[schema(schema_with = recipients_schema)]
    pub recipients: Vec<String>,
    pub cadence: Cadence,
    /// The local hour of the run, 0–23.
    #[schema(minimum = 0, maximum = 23)]
    pub hour: u8,
    /// Weekly only: 1 (Monday) to 7 (Sunday).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 7)]
    pub weekday: Option<u8>,
    /// Monthly only: 1–28.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 28)]
    pub day_of_month: Option<u8>,
    /// The IANA zone of `hour` and of the days; default
    /// `analytics.default_time_zone`.
    #[serde(default)]
    #[schema(max_length = 64, example = "Europe/Berlin")]
    pub time_zone: Option<String>,
    /// The report covers the `range_days` complete days before the run's
    /// day (1–366); without it, the previous day, ISO week or calendar
    /// month (by cadence).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 366)]
    pub range_days: Option<u16>,
    /// Default true; a disabled schedule keeps its settings and never runs
    /// on its own.
    #[serde(default = "yes")]
    pub enabled: bool,
}

/// 1–20 email addresses, as the identity API states an address.
fn recipients_schema() -> utoipa::openapi::schema::Array {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(kiki_identity::email_address_schema())
        .min_items(Some(1))
        .max_items(Some(MAX_RECIPIENTS))
        .description(Some(
            "Email addresses of members of this organisation whose role may export (`campaign.read` and `export`); 1–20. Each receives the report as their own role and reach let them read it.",
        ))
        .examples([serde_json::json!(["owner@shop.example"])])
        .build()
}

fn yes() -> bool {
    true
}

/// One recipient who got the report.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = AnalyticsScheduleSent)]
pub struct SentReport {
    pub recipient: String,
    /// The recipient's copy of the file (`/v1/analytics/exports/{id}`).
    pub export_id: Uuid,
    /// The mail's outbox id.
    pub mail_id: Uuid,
}

/// One recipient who did not get the report, and why.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = AnalyticsScheduleSkipped)]
pub struct SkippedRecipient {
    pub recipient: String,
    pub reason: String,
}

/// What a run did.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = AnalyticsScheduleRun)]
pub struct RunResult {
    /// The run's time (the due time, or when "send now" was asked).
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub run_at: OffsetDateTime,
    /// The days the report covered (`YYYY-MM-DD`).
    pub since: String,
    pub until: String,
    pub sent: Vec<SentReport>,
    pub skipped: Vec<SkippedRecipient>,
}

/// A scheduled report.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = AnalyticsSchedule, example = json!({
    "id": "01939e7a-1c2b-7d3e-8f40-5a6b7c8d9e0f",
    "name": "Weekly platforms",
    "report": "breakdown",
    "format": "xlsx",
    "query": {"by": "platform"},
    "recipients": ["owner@shop.example"],
    "cadence": "weekly",
    "hour": 8,
    "weekday": 1,
    "day_of_month": null,
    "time_zone": "Europe/Berlin",
    "range_days": null,
    "enabled": true,
    "next_run_at": "2026-04-06T06:00:00Z",
    "last_run": null,
    "created_at": "2026-04-01T09:00:00Z",
    "updated_at": "2026-04-01T09:00:00Z"
}))]
pub struct ScheduleView {
    pub id: Uuid,
    pub name: String,
    pub report: ExportReport,
    pub format: ExportFormat,
    #[schema(value_type = Object)]
    pub query: serde_json::Value,
    pub recipients: Vec<String>,
    pub cadence: Cadence,
    pub hour: u8,
    pub weekday: Option<u8>,
    pub day_of_month: Option<u8>,
    pub time_zone: String,
    pub range_days: Option<u16>,
    pub enabled: bool,
    /// When it next runs; null while disabled.
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_run_at: Option<OffsetDateTime>,
    /// The last run's outcome; null before the first.
    pub last_run: Option<RunResult>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

/// `GET /v1/analytics/schedules`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = AnalyticsScheduleList)]
pub struct ScheduleList {
    /// In the order they were made, at most 100.
    pub items: Vec<ScheduleView>,
}

/// `POST /v1/analytics/schedules/{id}/run`: the run queued.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(as = AnalyticsScheduleRunQueued)]
pub struct RunQueued {
    pub schedule_id: Uuid,
    /// The `analytics.report` job that sends it (`/v1/jobs/{id}`).
    pub job_id: Uuid,
}
