//! Export jobs: a table report written as CSV, Excel or PDF by a worker
//! (`analytics.export`), its progress, and its file, downloadable until
//! the link expires (`analytics.export_ttl_hours`).
//!
//! The file is kept in the database (`analytics_exports.content`,
//! base64) — KIKI has no blob store yet. A queued export stores the
//! organisations its requester could read at that moment, and the job
//! reads exactly those.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use kiki_core::{JobId, TenantScope};
use kiki_identity::{Principal, RequestMeta};
use kiki_shield::AuditEvent;
use kiki_store::{EnqueueOptions, JobContext, JobStatus};
use serde_json::{Map, Value, json};
use time::Duration;
use uuid::Uuid;

use super::{AnalyticsService, Reach, ReportRequest};
use crate::domain::job::{ExportReport, ExportStatus, ExportView};
use crate::domain::{ExportFile, Format, day_text, write_file};
use crate::error::{AnalyticsError, Result};
use crate::store::exports::{self as store, ExportInsert, ExportRow};

/// The job kind that writes an export's file.
pub const EXPORT_KIND: &str = "analytics.export";

/// Bytes per chunk of a download.
const DOWNLOAD_CHUNK: usize = 64 * 1024;

/// What an export row's `query` column holds.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Stored {
    params: Map<String, Value>,
    reach: Reach,
}

/// The `query` column of an export row: the query with its days fixed,
/// and the organisations it may read.
pub(crate) fn stored_query(params: &Map<String, Value>, reach: &Reach) -> Result<String> {
    serde_json::to_string(&Stored {
        params: params.clone(),
        reach: reach.clone(),
    })
    .map_err(|e| AnalyticsError::Internal(format!("writing the export's query: {e}")))
}

fn media_type(format: Format) -> &'static str {
    match format {
        Format::Csv => "text/csv; charset=utf-8",
        Format::Xlsx => crate::domain::export::XLSX_MEDIA_TYPE,
        Format::Pdf => crate::domain::pdf::PDF_MEDIA_TYPE,
        Format::Json => "application/json",
    }
}

impl AnalyticsService {
    /// Queues an export of `report` (its query already parsed into `req`)
    /// and writes `analytics.export_requested` to the audit log, in one
    /// transaction with the job.
    pub async fn create_export(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        report: ExportReport,
        format: Format,
        mut params: Map<String, Value>,
        req: &ReportRequest,
    ) -> Result<ExportView> {
        self.check_export(p)?;
        if format == Format::Json {
            return Err(AnalyticsError::field(
                "format",
                "Must be `csv`, `xlsx` or `pdf`: a JSON answer needs no job.",
            ));
        }
        let reach = Reach::of(&p.scope);
        let resolved = self.resolve_in(&p.scope, &reach, req.filters()).await?;
        // The days are fixed now: "the last 30 days" are those of today.
        params.insert("since".into(), json!(day_text(resolved.period.since)));
        params.insert("until".into(), json!(day_text(resolved.period.until)));
        let org = p.scope.org_id();
        let now = self.clock.now();
        let id = Uuid::now_v7();
        let stored = Stored {
            params: params.clone(),
            reach,
        };
        let query = serde_json::to_string(&stored)
            .map_err(|e| AnalyticsError::Internal(format!("writing the export's query: {e}")))?;
        let mut change = self.record.begin().await?;
        let job = self
            .jobs
            .enqueue_tx(
                change.tx(),
                Some(org),
                EXPORT_KIND,
                json!({ "export_id": id }),
                EnqueueOptions::default(),
            )
            .await?;
        store::insert(
            change.tx(),
            org,
            &ExportInsert {
                id,
                job_id: job.0,
                report: report.as_str().into(),
                format: format.as_str().into(),
                query,
                requested_by: p.actor().id().unwrap_or_default(),
                created_at: now,
            },
        )
        .await?;
        change
            .audit(
                AuditEvent::new(Some(org), p.actor(), "analytics.export_requested")
                    .target("analytics_export", id.to_string())
                    .details(json!({
                        "report": report.as_str(),
                        "format": format.as_str(),
                        "since": day_text(resolved.period.since),
                        "until": day_text(resolved.period.until),
                    }))
                    .context(meta.ip, meta.user_agent.clone(), meta.request_id.clone()),
            )
            .await?;
        change.commit().await?;
        // Files past their time are dropped as new exports come in.
        if let Err(e) = store::drop_expired(&self.db, org, now).await {
            tracing::warn!(org.id = %org.0, error = %e, "dropping expired export files failed");
        }
        self.export(&p.scope, id).await
    }

    /// An export of the scope's organisation, with its job's progress.
    pub async fn export(&self, scope: &TenantScope, id: Uuid) -> Result<ExportView> {
        let row = store::get(&self.db, scope.org_id(), id)
            .await?
            .ok_or(AnalyticsError::NotFound("The export"))?;
        self.view(scope, row).await
    }

    /// The organisation's latest exports (at most 100), newest first.
    pub async fn exports(&self, scope: &TenantScope) -> Result<Vec<ExportView>> {
        let mut out = Vec::new();
        for row in store::list(&self.db, scope.org_id(), 100).await? {
            out.push(self.view(scope, row).await?);
        }
        Ok(out)
    }

    async fn view(&self, scope: &TenantScope, row: ExportRow) -> Result<ExportView> {
        let report = ExportReport::parse(&row.report).ok_or_else(|| {
            AnalyticsError::Internal(format!("export {} has report `{}`", row.id, row.report))
        })?;
        let format = Format::parse(&row.format).ok_or_else(|| {
            AnalyticsError::Internal(format!("export {} has format `{}`", row.id, row.format))
        })?;
        let stored: Stored = serde_json::from_str(&row.query)
            .map_err(|e| AnalyticsError::Internal(format!("export {}'s query: {e}", row.id)))?;
        let job = self.jobs.get_scoped(scope, JobId(row.job_id)).await?;
        let now = self.clock.now();
        let (status, progress, message, error) = match (&row.finished_at, &job) {
            (Some(_), _) => {
                let status = if row.expires_at.is_some_and(|e| e <= now) {
                    ExportStatus::Expired
                } else {
                    ExportStatus::Ready
                };
                (status, 1.0, Some("written".to_owned()), None)
            }
            (None, Some(j)) => {
                let status = match j.status {
                    JobStatus::Queued => ExportStatus::Queued,
                    // Succeeded without a file only for the moment between
                    // storing it and the job's own row being updated.
                    JobStatus::Running | JobStatus::Succeeded => ExportStatus::Running,
                    JobStatus::Failed => ExportStatus::Failed,
                    JobStatus::Cancelled => ExportStatus::Cancelled,
                };
                (
                    status,
                    j.progress,
                    j.progress_message.clone(),
                    if status == ExportStatus::Failed {
                        j.last_error.clone()
                    } else {
                        None
                    },
                )
            }
            (None, None) => (
                ExportStatus::Failed,
                0.0,
                None,
                Some("The export's job no longer exists; queue the export again.".to_owned()),
            ),
        };
        Ok(ExportView {
            id: row.id,
            report,
            format,
            status,
            progress,
            progress_message: message,
            error,
            query: Value::Object(stored.params),
            file_name: row.file_name,
            size_bytes: row.size_bytes,
            rows: row.row_count,
            created_at: row.created_at,
            finished_at: row.finished_at,
            expires_at: row.expires_at,
            download_url: (status == ExportStatus::Ready)
                .then(|| format!("/v1/analytics/exports/{}/download", row.id)),
        })
    }

    /// The finished file of an export, checked (`export`) and audited
    /// (`analytics.exported`). Not written yet: 409; link expired: 410.
    pub async fn download_export(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        id: Uuid,
    ) -> Result<ExportFile> {
        self.check_export(p)?;
        let org = p.scope.org_id();
        let view = self.export(&p.scope, id).await?;
        match view.status {
            ExportStatus::Ready => {}
            ExportStatus::Expired => {
                return Err(AnalyticsError::Gone(format!(
                    "The download link of this export expired at {}; queue the export again.",
                    view.expires_at
                        .and_then(|e| e
                            .format(&time::format_description::well_known::Rfc3339)
                            .ok())
                        .unwrap_or_default()
                )));
            }
            other => {
                return Err(AnalyticsError::Conflict(format!(
                    "The export is not ready to download: it is {}.",
                    other.as_str()
                )));
            }
        }
        let content = store::content(&self.db, org, id).await?.ok_or_else(|| {
            AnalyticsError::Gone(
                "The file of this export was removed; queue the export again.".into(),
            )
        })?;
        let bytes = B64
            .decode(content.as_bytes())
            .map_err(|e| AnalyticsError::Internal(format!("export {id}'s stored file: {e}")))?;
        let params = view.query.as_object().cloned().unwrap_or_default();
        let mut change = self.record.begin().await?;
        change
            .audit(
                AuditEvent::new(Some(org), p.actor(), "analytics.exported")
                    .target("report", view.report.as_str())
                    .details(json!({
                        "format": view.format.as_str(),
                        "since": params.get("since"),
                        "until": params.get("until"),
                        "rows": view.rows,
                        "export_id": id,
                    }))
                    .context(meta.ip, meta.user_agent.clone(), meta.request_id.clone()),
            )
            .await?;
        change.commit().await?;
        Ok(ExportFile {
            media_type: media_type(view.format),
            file_name: view
                .file_name
                .unwrap_or_else(|| format!("analytics-export-{id}")),
            chunks: bytes.chunks(DOWNLOAD_CHUNK).map(<[u8]>::to_vec).collect(),
            rows: view.rows.map_or(0, |r| usize::try_from(r).unwrap_or(0)),
        })
    }

    /// What the `analytics.export` job runs: reads the report for the
    /// stored reach, writes the file, stores it with its expiry. Running
    /// it again after it finished changes nothing.
    pub(crate) async fn run_export(
        &self,
        ctx: &JobContext,
        scope: &TenantScope,
        id: Uuid,
        parse: impl Fn(
            ExportReport,
            &Map<String, Value>,
            u32,
        ) -> Result<(ReportRequest, Vec<(String, String)>)>,
    ) -> Result<Value> {
        self.write_export(Some(ctx), scope, id, parse).await
    }

    /// Reads a queued export's report and stores its file (the body of
    /// the export job, and of a scheduled report's run for each
    /// recipient); progress goes to `ctx` when there is one.
    pub(crate) async fn write_export(
        &self,
        ctx: Option<&JobContext>,
        scope: &TenantScope,
        id: Uuid,
        parse: impl Fn(
            ExportReport,
            &Map<String, Value>,
            u32,
        ) -> Result<(ReportRequest, Vec<(String, String)>)>,
    ) -> Result<Value> {
        let progress = async |fraction: f64, message: &str| {
            if let Some(ctx) = ctx {
                ctx.progress(fraction, message).await;
            }
        };
        let org = scope.org_id();
        let row = store::get(&self.db, org, id)
            .await?
            .ok_or(AnalyticsError::NotFound("The export"))?;
        if row.finished_at.is_some() {
            return Ok(json!({ "export_id": id, "already_written": true }));
        }
        let report = ExportReport::parse(&row.report).ok_or_else(|| {
            AnalyticsError::Internal(format!("export {id} has report `{}`", row.report))
        })?;
        let format = Format::parse(&row.format).ok_or_else(|| {
            AnalyticsError::Internal(format!("export {id} has format `{}`", row.format))
        })?;
        let stored: Stored = serde_json::from_str(&row.query)
            .map_err(|e| AnalyticsError::Internal(format!("export {id}'s query: {e}")))?;
        let cap = self.config.export_max_rows;
        let (req, printed) = parse(report, &stored.params, cap)?;
        progress(0.1, "reading the report").await;
        let answer = self
            .report_in(scope, &stored.reach, &req, cap as usize)
            .await?;
        progress(0.5, "writing the file").await;
        let heading = crate::domain::pdf::Heading {
            title: answer.title(),
            organisation: self.organisation_name(scope).await?,
            period: answer.period().clone(),
            time_zone: Some(
                req.filters()
                    .tz
                    .clone()
                    .unwrap_or_else(|| self.config.default_time_zone.clone()),
            ),
            filters: printed,
            generated_at: self.clock.now(),
        };
        let file = write_file(&answer, format, &heading, crate::api::CSV_ROWS_PER_CHUNK)
            .map_err(AnalyticsError::Internal)?
            .ok_or_else(|| AnalyticsError::Internal("an export without a file format".into()))?;
        let bytes: Vec<u8> = file.chunks.concat();
        let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        let rows = i64::try_from(file.rows).unwrap_or(i64::MAX);
        progress(0.9, "storing the file").await;
        let now = self.clock.now();
        let expires = now + Duration::hours(i64::from(self.config.export_ttl_hours));
        store::finish(
            &self.db,
            org,
            id,
            &file.file_name,
            file.media_type,
            B64.encode(&bytes),
            size,
            rows,
            now,
            expires,
        )
        .await?;
        progress(1.0, "written").await;
        Ok(json!({ "export_id": id, "rows": rows, "size_bytes": size }))
    }
}
