//! Scheduled reports: a saved table report (report, format, query) mailed
//! to members of the organisation daily, weekly or monthly at a local
//! hour.
//!
//! - The `analytics.schedules` sweep (every minute) takes each due run —
//!   moving the schedule's `next_run_at` on from the value it read, so two
//!   workers never take the same run — and queues an `analytics.report`
//!   job for it in the same transaction. Runs missed while no worker ran
//!   are not sent late in a burst: the next run is the first one after now.
//! - The `analytics.report` job fixes the run's days, then for **each
//!   recipient** checks again that they are an active member whose role may
//!   read and export, and writes their own copy of the report **as their
//!   access reaches** (an agency member gets the clients they can see with
//!   `scope=clients`; a client's member only their organisation). The copy
//!   is an export row (`/v1/analytics/exports/{id}`), and the mail carries
//!   its download link, which asks the recipient to sign in and expires
//!   with `analytics.export_ttl_hours`. Whoever is no longer allowed is
//!   skipped with the reason, recorded in the run's outcome.

use kiki_analytics::{Cadence, Recurrence};
use kiki_core::{FieldError, OrgId, TenantScope};
use kiki_identity::{MemberAccess, Permission, Principal, RequestMeta};
use kiki_notify::{MailMessage, is_mail_address};
use kiki_shield::{Actor, AuditEvent};
use kiki_store::{EnqueueOptions, JobContext};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{AnalyticsService, Reach, ReportRequest};
use crate::domain::day_text;
use crate::domain::job::{ExportFormat, ExportReport};
use crate::domain::schedule::{
    MAX_NAME_CHARS, MAX_RECIPIENTS, MAX_SCHEDULES, RunQueued, RunResult, ScheduleRequest,
    ScheduleView, SentReport, SkippedRecipient,
};
use crate::error::{AnalyticsError, Result};
use crate::store::exports::{self as export_store, ExportInsert};
use crate::store::schedules::{self as store, ScheduleRow};

/// The sweep that queues due runs.
pub const SWEEP_KIND: &str = "analytics.schedules";
/// Every minute, at second 0.
pub const SWEEP_SCHEDULE: &str = "0 * * * * *";
/// The job that sends one run.
pub const SEND_KIND: &str = "analytics.report";
/// Due runs the sweep takes at once (the rest at the next minute).
const SWEEP_BATCH: u64 = 200;

/// The payload of a [`SEND_KIND`] job.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SendPayload {
    pub schedule_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub run_at: OffsetDateTime,
}

/// The report parser the job and the checks use (the export's).
type Parse =
    fn(ExportReport, &Map<String, Value>, u32) -> Result<(ReportRequest, Vec<(String, String)>)>;

fn recurrence_of(row: &ScheduleRow) -> Result<Recurrence> {
    let cadence = Cadence::parse(&row.cadence).ok_or_else(|| {
        AnalyticsError::Internal(format!("schedule {} has cadence `{}`", row.id, row.cadence))
    })?;
    let small = |v: Option<i64>| v.and_then(|n| u8::try_from(n).ok());
    Recurrence::new(
        cadence,
        u8::try_from(row.hour).unwrap_or(u8::MAX),
        small(row.weekday),
        small(row.day_of_month),
        &row.time_zone,
    )
    .map_err(|e| AnalyticsError::Internal(format!("schedule {}: {}", row.id, e.message)))
}

fn view_of(row: ScheduleRow) -> Result<ScheduleView> {
    let bad =
        |what: &str| AnalyticsError::Internal(format!("schedule {} has a bad {what}", row.id));
    Ok(ScheduleView {
        id: row.id,
        name: row.name.clone(),
        report: ExportReport::parse(&row.report).ok_or_else(|| bad("report"))?,
        format: ExportFormat::parse(&row.format).ok_or_else(|| bad("format"))?,
        query: serde_json::from_str(&row.query).map_err(|_| bad("query"))?,
        recipients: serde_json::from_str(&row.recipients).map_err(|_| bad("recipient list"))?,
        cadence: Cadence::parse(&row.cadence).ok_or_else(|| bad("cadence"))?,
        hour: u8::try_from(row.hour).map_err(|_| bad("hour"))?,
        weekday: row.weekday.and_then(|n| u8::try_from(n).ok()),
        day_of_month: row.day_of_month.and_then(|n| u8::try_from(n).ok()),
        time_zone: row.time_zone.clone(),
        range_days: row.range_days.and_then(|n| u16::try_from(n).ok()),
        enabled: row.enabled,
        next_run_at: row.next_run_at,
        last_run: match &row.last_result {
            Some(text) => Some(serde_json::from_str(text).map_err(|_| bad("last run"))?),
            None => None,
        },
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

/// Why `access` may not receive reports, if it may not.
fn refusal(access: &MemberAccess) -> Option<&'static str> {
    if !access.has(Permission::CampaignRead) || !access.has(Permission::Export) {
        Some("their role in this organisation may not read and export reports")
    } else {
        None
    }
}

impl AnalyticsService {
    /// Checks a schedule as asked and builds its row (new, or replacing
    /// `existing`). Every problem is named by its field.
    async fn checked_row(
        &self,
        p: &Principal,
        req: &ScheduleRequest,
        existing: Option<&ScheduleRow>,
        parse: Parse,
    ) -> Result<ScheduleRow> {
        let org = p.scope.org_id();
        let mut problems: Vec<FieldError> = Vec::new();
        let name = req.name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            problems.push(FieldError::new(
                "name",
                format!("Must be 1 to {MAX_NAME_CHARS} characters."),
            ));
        }
        problems.extend(req.query.problems(self.config.export_max_rows));
        if req.query.since.is_some() || req.query.until.is_some() {
            problems.push(FieldError::new(
                if req.query.since.is_some() { "query.since" } else { "query.until" },
                "A schedule's days are fixed at each run: leave `since` and `until` out and set `range_days`, or let the cadence choose the previous day, week or month.",
            ));
        }
        if req.query.compare_since.is_some() || req.query.compare_until.is_some() {
            problems.push(FieldError::new(
                if req.query.compare_since.is_some() { "query.compare_since" } else { "query.compare_until" },
                "A schedule compares each run with the period just before it (`compare` `previous`) or with nothing (`none`): fixed comparison days would not move with the runs.",
            ));
        }
        if req.range_days.is_some_and(|n| n == 0 || n > 366) {
            problems.push(FieldError::new("range_days", "Must be from 1 to 366."));
        }
        let time_zone = req
            .time_zone
            .clone()
            .unwrap_or_else(|| self.config.default_time_zone.clone());
        let recurrence = match Recurrence::new(
            req.cadence,
            req.hour,
            req.weekday,
            req.day_of_month,
            &time_zone,
        ) {
            Ok(r) => Some(r),
            Err(e) => {
                problems.push(FieldError::new(e.field, e.message));
                None
            }
        };
        if req.recipients.is_empty() || req.recipients.len() > MAX_RECIPIENTS {
            problems.push(FieldError::new(
                "recipients",
                format!("Name 1 to {MAX_RECIPIENTS} recipients."),
            ));
        }
        let mut recipients: Vec<String> = Vec::new();
        for (i, raw) in req.recipients.iter().enumerate().take(MAX_RECIPIENTS) {
            let field = format!("recipients[{i}]");
            let email = raw.trim().to_lowercase();
            if !is_mail_address(&email) {
                problems.push(FieldError::new(field, "Not an email address."));
                continue;
            }
            if recipients.contains(&email) {
                problems.push(FieldError::new(field, "Listed twice."));
                continue;
            }
            match self.identity.member_access_by_email(&email, org).await {
                Ok(Some(access)) => {
                    if let Some(why) = refusal(&access) {
                        problems.push(FieldError::new(field, format!("`{email}`: {why}.")));
                        continue;
                    }
                }
                Ok(None) => {
                    problems.push(FieldError::new(
                        field,
                        format!("`{email}` is not an active member of this organisation; reports go to members only."),
                    ));
                    continue;
                }
                Err(e) => {
                    return Err(AnalyticsError::Internal(format!(
                        "reading a recipient: {e}"
                    )));
                }
            }
            recipients.push(email);
        }
        let params = req.query.params();
        if problems.is_empty() {
            // The query must read as its report's; the days are any.
            if let Err(AnalyticsError::Invalid(errors)) =
                parse(req.report, &params, self.config.export_max_rows)
            {
                problems.extend(errors);
            }
        }
        if !problems.is_empty() {
            return Err(AnalyticsError::Invalid(problems));
        }
        let Some(recurrence) = recurrence else {
            return Err(AnalyticsError::Internal(
                "a schedule checked without its recurrence".into(),
            ));
        };
        let now = self.clock.now();
        let next_run_at = if req.enabled {
            recurrence.next_after(now)
        } else {
            None
        };
        Ok(ScheduleRow {
            id: existing.map_or_else(Uuid::now_v7, |e| e.id),
            org_id: org.0,
            name: name.to_owned(),
            report: req.report.as_str().to_owned(),
            format: req.format.as_str().to_owned(),
            query: json_text(&Value::Object(params))?,
            recipients: json_text(&recipients)?,
            cadence: req.cadence.as_str().to_owned(),
            hour: i64::from(req.hour),
            weekday: req.weekday.map(i64::from),
            day_of_month: req.day_of_month.map(i64::from),
            time_zone,
            range_days: req.range_days.map(i64::from),
            enabled: req.enabled,
            next_run_at,
            last_run_at: existing.and_then(|e| e.last_run_at),
            last_result: existing.and_then(|e| e.last_result.clone()),
            created_by: existing.map_or_else(
                || p.actor().id().unwrap_or_default(),
                |e| e.created_by.clone(),
            ),
            created_at: existing.map_or(now, |e| e.created_at),
            updated_at: now,
        })
    }

    /// Saves a new schedule (audited `analytics.schedule_created`).
    pub async fn create_schedule(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        req: &ScheduleRequest,
        parse: Parse,
    ) -> Result<ScheduleView> {
        self.check_export(p)?;
        let org = p.scope.org_id();
        if store::count(&self.db, org).await? >= MAX_SCHEDULES {
            return Err(AnalyticsError::Conflict(format!(
                "This organisation has {MAX_SCHEDULES} schedules, the most it may have; delete one first."
            )));
        }
        let row = self.checked_row(p, req, None, parse).await?;
        let mut change = self.record.begin().await?;
        store::insert(change.tx(), &row).await?;
        change
            .audit(self.schedule_event(p, meta, "analytics.schedule_created", &row))
            .await?;
        change.commit().await?;
        view_of(row)
    }

    /// Replaces a schedule's settings (audited `analytics.schedule_updated`);
    /// its next run is computed again from now.
    pub async fn update_schedule(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        id: Uuid,
        req: &ScheduleRequest,
        parse: Parse,
    ) -> Result<ScheduleView> {
        self.check_export(p)?;
        let existing = store::get(&self.db, p.scope.org_id(), id)
            .await?
            .ok_or(AnalyticsError::NotFound("The schedule"))?;
        let row = self.checked_row(p, req, Some(&existing), parse).await?;
        let mut change = self.record.begin().await?;
        if store::update(change.tx(), &row).await? == 0 {
            return Err(AnalyticsError::NotFound("The schedule"));
        }
        change
            .audit(self.schedule_event(p, meta, "analytics.schedule_updated", &row))
            .await?;
        change.commit().await?;
        view_of(row)
    }

    /// Deletes a schedule (audited `analytics.schedule_deleted`); files
    /// already sent stay until their links expire.
    pub async fn delete_schedule(&self, p: &Principal, meta: &RequestMeta, id: Uuid) -> Result<()> {
        self.check_export(p)?;
        let org = p.scope.org_id();
        let row = store::get(&self.db, org, id)
            .await?
            .ok_or(AnalyticsError::NotFound("The schedule"))?;
        let mut change = self.record.begin().await?;
        if store::delete(change.tx(), org, id).await? == 0 {
            return Err(AnalyticsError::NotFound("The schedule"));
        }
        change
            .audit(self.schedule_event(p, meta, "analytics.schedule_deleted", &row))
            .await?;
        change.commit().await?;
        Ok(())
    }

    fn schedule_event(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        action: &str,
        row: &ScheduleRow,
    ) -> AuditEvent {
        AuditEvent::new(Some(p.scope.org_id()), p.actor(), action)
            .target("analytics_schedule", row.id.to_string())
            .details(json!({
                "name": row.name,
                "report": row.report,
                "format": row.format,
                "cadence": row.cadence,
                "recipients": serde_json::from_str::<Value>(&row.recipients).unwrap_or(Value::Null),
                "enabled": row.enabled,
            }))
            .context(meta.ip, meta.user_agent.clone(), meta.request_id.clone())
    }

    pub async fn schedule(&self, scope: &TenantScope, id: Uuid) -> Result<ScheduleView> {
        let row = store::get(&self.db, scope.org_id(), id)
            .await?
            .ok_or(AnalyticsError::NotFound("The schedule"))?;
        view_of(row)
    }

    /// The organisation's schedules in the order they were made.
    pub async fn schedules(&self, scope: &TenantScope) -> Result<Vec<ScheduleView>> {
        store::list(&self.db, scope.org_id(), MAX_SCHEDULES as u64)
            .await?
            .into_iter()
            .map(view_of)
            .collect()
    }

    /// Queues a run now, whatever the schedule's time (and even while it
    /// is disabled); its next run stays as it was.
    pub async fn run_schedule_now(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        id: Uuid,
    ) -> Result<RunQueued> {
        self.check_export(p)?;
        let org = p.scope.org_id();
        let row = store::get(&self.db, org, id)
            .await?
            .ok_or(AnalyticsError::NotFound("The schedule"))?;
        let mut change = self.record.begin().await?;
        let job = self
            .jobs
            .enqueue_tx(
                change.tx(),
                Some(org),
                SEND_KIND,
                json!(SendPayload {
                    schedule_id: id,
                    run_at: self.clock.now()
                }),
                EnqueueOptions::default(),
            )
            .await?;
        change
            .audit(self.schedule_event(p, meta, "analytics.schedule_run_requested", &row))
            .await?;
        change.commit().await?;
        Ok(RunQueued {
            schedule_id: id,
            job_id: job.0,
        })
    }

    /// The sweep: takes every due run and queues its job. Gives how many
    /// runs it queued.
    pub async fn queue_due_reports(&self) -> Result<usize> {
        let now = self.clock.now();
        let mut queued = 0;
        for row in store::due(&self.db, now, SWEEP_BATCH).await? {
            let Some(was) = row.next_run_at else { continue };
            let org = OrgId(row.org_id);
            let next = match recurrence_of(&row) {
                Ok(r) => r.next_after(now),
                Err(e) => {
                    // A row no recurrence reads stops (with a warning)
                    // instead of being taken every minute.
                    tracing::warn!(schedule.id = %row.id, error = %e, "a schedule cannot run and is stopped");
                    None
                }
            };
            let mut tx = self.db.begin().await?;
            if store::take_run(&mut tx, org, row.id, was, next).await? == 0 {
                continue; // another worker took it
            }
            if next.is_some() || recurrence_of(&row).is_ok() {
                self.jobs
                    .enqueue_tx(
                        &mut tx,
                        Some(org),
                        SEND_KIND,
                        json!(SendPayload {
                            schedule_id: row.id,
                            run_at: was
                        }),
                        EnqueueOptions::default(),
                    )
                    .await?;
                queued += 1;
            }
            tx.commit().await?;
        }
        Ok(queued)
    }

    /// Sends one run of a schedule (the `analytics.report` job). A
    /// schedule deleted since is nothing to do.
    pub(crate) async fn send_report(
        &self,
        ctx: &JobContext,
        scope: &TenantScope,
        p: &SendPayload,
        parse: Parse,
    ) -> Result<Value> {
        let org = scope.org_id();
        let Some(row) = store::get(&self.db, org, p.schedule_id).await? else {
            return Ok(json!({ "schedule_id": p.schedule_id, "deleted": true }));
        };
        let recurrence = recurrence_of(&row)?;
        let range = row.range_days.and_then(|n| u16::try_from(n).ok());
        let period = recurrence.report_period(p.run_at, range).ok_or_else(|| {
            AnalyticsError::Internal(format!("schedule {}: no days before {}", row.id, p.run_at))
        })?;
        let view = view_of(row.clone())?;
        let mut params = match &view.query {
            Value::Object(m) => m.clone(),
            _ => Map::new(),
        };
        params.insert("since".into(), json!(day_text(period.since)));
        params.insert("until".into(), json!(day_text(period.until)));
        params.insert("tz".into(), json!(row.time_zone));
        let (req, _) = parse(view.report, &params, self.config.export_max_rows)?;
        let organisation = self.organisation_name(scope).await?;
        let mut sent = Vec::new();
        let mut skipped = Vec::new();
        for (i, email) in view.recipients.iter().enumerate() {
            ctx.progress(
                i as f64 / view.recipients.len().max(1) as f64,
                &format!("recipient {} of {}", i + 1, view.recipients.len()),
            )
            .await;
            let access = self
                .identity
                .member_access_by_email(email, org)
                .await
                .map_err(|e| AnalyticsError::Internal(format!("reading a recipient: {e}")))?;
            let access = match access {
                None => {
                    skipped.push(SkippedRecipient {
                        recipient: email.clone(),
                        reason: "no longer an active member of this organisation".into(),
                    });
                    continue;
                }
                Some(a) => a,
            };
            if let Some(why) = refusal(&access) {
                skipped.push(SkippedRecipient {
                    recipient: email.clone(),
                    reason: why.into(),
                });
                continue;
            }
            // One file per recipient and run: a retried job finds it.
            let export_id = copy_id(row.id, p.run_at, access.user_id.0);
            let reach = Reach::of(&access.scope);
            // The same checks as an export the recipient asked for.
            self.resolve_in(&access.scope, &reach, req.filters())
                .await?;
            if export_store::get(&self.db, org, export_id).await?.is_none() {
                let mut tx = self.db.begin().await?;
                export_store::insert(
                    &mut tx,
                    org,
                    &ExportInsert {
                        id: export_id,
                        job_id: ctx.id.0,
                        report: view.report.as_str().into(),
                        format: view.format.as_str().into(),
                        query: super::exports::stored_query(&params, &reach)?,
                        requested_by: access.user_id.0.to_string(),
                        created_at: self.clock.now(),
                    },
                )
                .await?;
                tx.commit().await?;
            }
            self.write_export(None, scope, export_id, parse).await?;
            let export = self.export(scope, export_id).await?;
            let link = format!(
                "{}/v1/analytics/exports/{export_id}/download",
                self.public_url
            );
            let expires = export
                .expires_at
                .and_then(|e| {
                    e.format(&time::format_description::well_known::Rfc3339)
                        .ok()
                })
                .unwrap_or_default();
            let reach_note = if access.scope.reachable().len() > 1
                && params.get("scope").and_then(Value::as_str) == Some("clients")
            {
                format!(
                    "It covers {organisation} and the {} client organisations your access reaches.",
                    access.scope.reachable().len() - 1
                )
            } else {
                format!("It covers {organisation}.")
            };
            let text = format!(
                "Hello {name},\n\n\
                 your scheduled report \"{title}\" is ready: {report} for {since} to {until} \
                 ({tz}), {rows} rows, as {format}.\n{reach_note}\n\n\
                 Download it (sign in to KIKI as {email}; the link works until {expires}):\n{link}\n\n\
                 You receive this report because you are on the list of the schedule \"{title}\" \
                 of {organisation}, sent {cadence}. A member who may export reports can change or \
                 delete the schedule (/v1/analytics/schedules/{id}).\n",
                name = access.display_name,
                title = row.name,
                report = export.report.as_str(),
                since = day_text(period.since),
                until = day_text(period.until),
                tz = row.time_zone,
                rows = export.rows.unwrap_or(0),
                format = view.format.as_str().to_uppercase(),
                cadence = row.cadence,
                id = row.id,
            );
            let receipt = match self
                .mail
                .send(MailMessage {
                    to: access.email.clone(),
                    subject: format!(
                        "{}: {} to {}",
                        row.name,
                        day_text(period.since),
                        day_text(period.until)
                    ),
                    text,
                    html: None,
                    org_id: Some(org),
                    kind: "analytics_report".into(),
                    secrets: Vec::new(),
                })
                .await
            {
                Ok(r) => r,
                Err(e) => {
                    // The mail did not go: drop this copy so a retry
                    // writes and sends it again.
                    if let Err(d) = export_store::delete(&self.db, org, export_id).await {
                        tracing::warn!(export.id = %export_id, error = %d, "dropping an unsent report copy failed");
                    }
                    return Err(AnalyticsError::Internal(format!(
                        "sending the report to a recipient: {e}"
                    )));
                }
            };
            sent.push(SentReport {
                recipient: email.clone(),
                export_id,
                mail_id: receipt.id,
            });
        }
        let result = RunResult {
            run_at: p.run_at,
            since: day_text(period.since),
            until: day_text(period.until),
            sent,
            skipped,
        };
        let text = serde_json::to_string(&result)
            .map_err(|e| AnalyticsError::Internal(format!("writing a run's outcome: {e}")))?;
        store::record_run(&self.db, org, row.id, self.clock.now(), &text).await?;
        let mut change = self.record.begin().await?;
        change
            .audit(
                AuditEvent::new(
                    Some(org),
                    Actor::System(SEND_KIND.into()),
                    "analytics.report_sent",
                )
                .target("analytics_schedule", row.id.to_string())
                .details(json!({
                    "since": result.since,
                    "until": result.until,
                    "sent": result.sent.iter().map(|s| &s.recipient).collect::<Vec<_>>(),
                    "skipped": result.skipped,
                })),
            )
            .await?;
        change.commit().await?;
        ctx.progress(1.0, "sent").await;
        serde_json::to_value(&result)
            .map_err(|e| AnalyticsError::Internal(format!("writing a run's outcome: {e}")))
    }
}

/// The id of a recipient's copy of a run: the same schedule, run and
/// recipient give the same id (a UUIDv8 from SHA-256 of the three), so a
/// retried job finds the copy it already wrote.
fn copy_id(schedule: Uuid, run_at: OffsetDateTime, user: Uuid) -> Uuid {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(schedule.as_bytes());
    h.update(run_at.unix_timestamp_nanos().to_be_bytes());
    h.update(user.as_bytes());
    let digest = h.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// JSON text of a value for a column.
fn json_text<T: serde::Serialize + ?Sized>(v: &T) -> Result<String> {
    serde_json::to_string(v)
        .map_err(|e| AnalyticsError::Internal(format!("writing a schedule: {e}")))
}
