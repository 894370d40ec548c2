//! The post-launch mirror job: for every approved simulation whose plan has
//! started, sum the actual revenue and spend of the plan's platforms per
//! plan day from `twin_daily_performance`, compare them with the projection
//! band (`kiki_twin::mirror`), store the report once per simulation and day,
//! and when actuals fall more than 15 % below the projected median, record
//! the rollback recommendation (decision record + audit entry) and emit
//! `twin.rollback_recommended`.

use std::collections::BTreeMap;

use kiki_core::{OrgId, PageRequest, TenantScope};
use kiki_explain::NewDecision;
use kiki_shield::Actor;
use kiki_twin::{DailyActual, MirrorConfig, Platform};
use sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::types::Json;
use time::{Date, Duration, OffsetDateTime};
use uuid::Uuid;

use crate::error::{Result, TwinServiceError};
use crate::events::RollbackRecommended;
use crate::schema::{TwinMirrorReports as MR, TwinSimulations as Sim};
use crate::service::{
    ENGINE, ENGINE_VERSION, SIM_COLUMNS, SimRow, TwinService, audit_event, json_of,
};
use crate::types::{MirrorReportView, SimulationStatus, day_text, parse_day};

/// The job kind of the mirror.
pub const MIRROR_KIND: &str = "twin.mirror";
/// Its default schedule: daily at 02:30 UTC.
pub const MIRROR_SCHEDULE: &str = "0 30 2 * * *";
const SYSTEM: &str = "twin.mirror";

/// What the mirror did for one simulation.
#[derive(Debug, Clone, Serialize)]
pub struct MirrorOutcome {
    pub simulation_id: Uuid,
    pub org_id: Uuid,
    pub days_observed: u32,
    pub rollback_recommended: bool,
    /// False when this simulation was already mirrored for the day.
    pub stored: bool,
}

#[derive(Debug, sqlx::FromRow)]
struct MirrorRow {
    id: Uuid,
    simulation_id: Uuid,
    period_key: String,
    days_observed: i64,
    rollback_recommended: bool,
    latest_deviation: Option<f64>,
    report: Json<Value>,
    created_at: OffsetDateTime,
}

impl TwinService {
    /// Mirrors every launched simulation against the actuals of the days
    /// before `today`.
    pub async fn mirror_all(&self, today: Date) -> Result<Vec<MirrorOutcome>> {
        let stmt = Query::select()
            .columns(SIM_COLUMNS)
            .from(Sim::Table)
            .and_where(Expr::col(Sim::Status).eq(SimulationStatus::Done.as_str()))
            .and_where(Expr::col(Sim::Approved).eq(true))
            .order_by(Sim::CreatedAt, Order::Asc)
            .to_owned();
        let rows: Vec<SimRow> = self.db.fetch_all(&stmt).await?;
        let mut out = Vec::new();
        for row in rows {
            let id = row.id;
            match self.mirror_one(row, today).await {
                Ok(Some(o)) => out.push(o),
                Ok(None) => {}
                Err(e @ TwinServiceError::Internal(_))
                | Err(e @ TwinServiceError::Unprocessable(_)) => {
                    // One unreadable simulation must not stop the others.
                    tracing::warn!(simulation = %id, error = %e, "mirror skipped a simulation");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    async fn mirror_one(&self, row: SimRow, today: Date) -> Result<Option<MirrorOutcome>> {
        let Some(start) = row.start_day.as_deref().and_then(parse_day) else {
            return Ok(None);
        };
        let plan = row.plan()?;
        let Some(report) = row.report()? else {
            return Ok(None);
        };
        let elapsed = (today - start).whole_days();
        if elapsed <= 0 {
            return Ok(None);
        }
        let projection = &report.result.projection;
        let days = (elapsed as usize).min(projection.len());
        if days == 0 {
            return Ok(None);
        }
        let org = OrgId(row.org_id);
        let platforms: Vec<Platform> = plan
            .allocations
            .iter()
            .filter_map(|a| Platform::parse(&a.platform))
            .collect();
        let end = start + Duration::days(days as i64);
        let history = self
            .history(org, plan.currency, start, end, Some(&platforms))
            .await?;
        if history.is_empty() {
            return Ok(None);
        }
        let mut per_day: BTreeMap<Date, (i64, i64)> = BTreeMap::new();
        for h in &history {
            let e = per_day.entry(h.date).or_default();
            e.0 = e.0.saturating_add(h.revenue_micros);
            e.1 = e.1.saturating_add(h.spend_micros);
        }
        let actuals: Vec<DailyActual> = (0..days)
            .map(|i| {
                let d = start + Duration::days(i as i64);
                let (revenue, spend) = per_day.get(&d).copied().unwrap_or_default();
                DailyActual {
                    day: i as u32 + 1,
                    revenue_micros: revenue,
                    spend_micros: spend,
                }
            })
            .collect();
        let cfg = MirrorConfig {
            rollback_deviation: self.config.rollback_deviation,
            ..MirrorConfig::default()
        };
        let m = kiki_twin::mirror(projection, &actuals, &cfg)
            .map_err(|e| TwinServiceError::Unprocessable(e.to_string()))?;
        let period_key = day_text(today);
        let now = self.now();
        let report_id = Uuid::now_v7();
        let insert = Query::insert()
            .into_table(MR::Table)
            .columns([
                MR::Id,
                MR::OrgId,
                MR::SimulationId,
                MR::PeriodKey,
                MR::DaysObserved,
                MR::RollbackRecommended,
                MR::LatestDeviation,
                MR::Report,
                MR::CreatedAt,
            ])
            .values_panic([
                report_id.into(),
                org.0.into(),
                row.id.into(),
                period_key.as_str().into(),
                (days as i64).into(),
                m.rollback_recommended.into(),
                m.latest_deviation.into(),
                json_of(&m)?.into(),
                now.into(),
            ])
            .on_conflict(
                OnConflict::columns([MR::SimulationId, MR::PeriodKey])
                    .do_nothing()
                    .to_owned(),
            )
            .to_owned();
        let mut outcome = MirrorOutcome {
            simulation_id: row.id,
            org_id: org.0,
            days_observed: days as u32,
            rollback_recommended: m.rollback_recommended,
            stored: false,
        };
        let mut tx = self.db.begin().await?;
        if tx.execute(&insert).await? == 0 {
            tx.rollback().await?;
            return Ok(Some(outcome));
        }
        outcome.stored = true;
        let finding = m.findings.first().cloned();
        if let Some(f) = &finding {
            let entry = self
                .audit
                .append(
                    &mut tx,
                    audit_event(
                        org,
                        Actor::System(SYSTEM.into()),
                        "twin.rollback_recommended",
                        None,
                    )
                    .target("simulation", row.id)
                    .details(json!({ "mirror_report_id": report_id, "finding": f })),
                )
                .await?;
            self.decisions
                .record(
                    &mut tx,
                    NewDecision {
                        org_id: Some(org),
                        engine: ENGINE.into(),
                        engine_version: ENGINE_VERSION.into(),
                        kind: "rollback_recommended".into(),
                        subject_kind: "simulation".into(),
                        subject_id: row.id.to_string(),
                        inputs: json!({
                            "mirror_report_id": report_id,
                            "days_observed": days,
                            "actuals": actuals,
                            "rollback_deviation": cfg.rollback_deviation,
                        }),
                        output: json!({ "finding": f }),
                        confidence: None,
                        explanation: f.message.clone(),
                        audit_entry_id: Some(entry.id),
                    },
                )
                .await?;
        }
        tx.commit().await?;
        if let Some(f) = finding {
            self.publish(
                org,
                &RollbackRecommended {
                    simulation_id: row.id,
                    mirror_report_id: report_id,
                    evidence: f,
                },
            )
            .await;
        }
        Ok(Some(outcome))
    }

    /// Mirror reports of one simulation (of an organisation the scope
    /// reaches), newest first.
    pub async fn mirror_reports(
        &self,
        scope: &TenantScope,
        simulation: Uuid,
        page: &PageRequest,
    ) -> Result<Vec<MirrorReportView>> {
        if self.get_simulation(scope, simulation).await?.is_none() {
            return Err(TwinServiceError::NotFound("simulation"));
        }
        let stmt = Query::select()
            .columns([
                MR::Id,
                MR::SimulationId,
                MR::PeriodKey,
                MR::DaysObserved,
                MR::RollbackRecommended,
                MR::LatestDeviation,
                MR::Report,
                MR::CreatedAt,
            ])
            .from(MR::Table)
            .and_where(Expr::col(MR::SimulationId).eq(simulation))
            .order_by(MR::PeriodKey, Order::Desc)
            .limit(u64::from(page.limit()))
            .to_owned();
        let rows: Vec<MirrorRow> = self.db.fetch_all(&stmt).await?;
        rows.into_iter()
            .map(|r| {
                Ok(MirrorReportView {
                    id: r.id,
                    simulation_id: r.simulation_id,
                    period_key: r.period_key,
                    days_observed: r.days_observed,
                    rollback_recommended: r.rollback_recommended,
                    latest_deviation: r.latest_deviation,
                    report: serde_json::from_value(r.report.0)?,
                    created_at: r.created_at,
                })
            })
            .collect()
    }
}
