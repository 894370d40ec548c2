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
use serde::Serialize;
use serde_json::json;
use time::{Date, Duration};
use uuid::Uuid;

use super::{ENGINE, ENGINE_VERSION, TwinService, audit_event, json_of};
use crate::domain::{MirrorReportView, day_text, parse_day};
use crate::error::{Result, TwinServiceError};
use crate::events::RollbackRecommended;
use crate::store::{self, simulations::SimRow};

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

impl TwinService {
    /// Mirrors every launched simulation against the actuals of the days
    /// before `today`.
    pub async fn mirror_all(&self, today: Date) -> Result<Vec<MirrorOutcome>> {
        let rows = store::simulations::launched(&self.db).await?;
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
            // Profit in the simulation's own terms: the margin it was gated at.
            contribution_margin: report.result.margin.contribution_margin,
            ..MirrorConfig::default()
        };
        let m = kiki_twin::mirror(projection, &actuals, &cfg)
            .map_err(|e| TwinServiceError::Unprocessable(e.to_string()))?;
        let period_key = day_text(today);
        let now = self.now();
        let report_id = Uuid::now_v7();
        let stored = store::mirror::NewMirrorReport {
            id: report_id,
            org,
            simulation: row.id,
            period_key: &period_key,
            days_observed: days as i64,
            rollback_recommended: m.rollback_recommended,
            latest_deviation: m.latest_deviation,
            report: json_of(&m)?,
            now,
        };
        let mut outcome = MirrorOutcome {
            simulation_id: row.id,
            org_id: org.0,
            days_observed: days as u32,
            rollback_recommended: m.rollback_recommended,
            stored: false,
        };
        let mut tx = self.record.begin().await?;
        if !store::mirror::insert(&mut tx, stored).await? {
            tx.rollback().await?;
            return Ok(Some(outcome));
        }
        outcome.stored = true;
        let finding = m.findings.first().cloned();
        if let Some(f) = &finding {
            let entry = tx
                .audit(
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
            tx.decision(NewDecision {
                org_id: Some(org),
                engine: ENGINE.into(),
                engine_version: ENGINE_VERSION.into(),
                kind: "rollback_recommended".into(),
                subject_kind: "simulation".into(),
                subject_id: row.id.to_string(),
                inputs: {
                    // The engine's daily actuals count in micros; the record
                    // shows money.
                    let mut inputs = json!({
                        "mirror_report_id": report_id,
                        "days_observed": days,
                        "actuals": actuals,
                        "rollback_deviation": cfg.rollback_deviation,
                    });
                    kiki_core::money::legacy::upgrade_legacy_micros(&mut inputs, plan.currency);
                    inputs
                },
                output: json!({ "finding": f }),
                confidence: None,
                explanation: f.message.clone(),
                audit_entry_id: Some(entry.id),
            })
            .await?;
        }
        if let Some(f) = finding {
            tx.publish(
                Some(org),
                &RollbackRecommended {
                    simulation_id: row.id,
                    mirror_report_id: report_id,
                    evidence: f,
                },
            );
        }
        tx.commit().await?;
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
        let Some(sim) = self.get_simulation(scope, simulation).await? else {
            return Err(TwinServiceError::NotFound("simulation"));
        };
        let currency = sim.plan.currency;
        let rows = store::mirror::reports(&self.db, simulation, u64::from(page.limit())).await?;
        rows.into_iter()
            .map(|r| {
                Ok(MirrorReportView {
                    id: r.id,
                    simulation_id: r.simulation_id,
                    period_key: r.period_key,
                    days_observed: r.days_observed,
                    rollback_recommended: r.rollback_recommended,
                    latest_deviation: r.latest_deviation,
                    report: kiki_twin::stored::read(r.report.0, currency)?,
                    created_at: r.created_at,
                })
            })
            .collect()
    }
}
