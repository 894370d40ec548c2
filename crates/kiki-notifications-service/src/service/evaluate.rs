//! What each event raises or resolves. The listener hands every event it
//! cares about to a `notifications.evaluate` job for the organisation, so
//! the work runs with the organisation's scope, is retried on a failure,
//! and is shared by the worker replicas.
//!
//! - `campaigns.approval_requested` raises "approval waiting" about the
//!   approval; `campaigns.approval_decided` resolves it.
//! - `twin.rollback_recommended` raises "rollback recommended" about the
//!   simulation.
//! - `campaigns.kill_switch_engaged` raises "kill switch engaged" in every
//!   organisation it covers; `campaigns.kill_switch_released` resolves it.
//! - `platforms.connection_changed` and `platforms.metrics_synced` resolve
//!   "sync failing" for the platform when it connected or synced, then (with
//!   the platforms service wired) check every connection: a broken one, or
//!   one whose latest sync failed, raises "sync failing".
//! - `analytics.rolled_up` (metrics landed) checks every campaign with
//!   rows in the days written: spend against its budget, ROAS against the
//!   organisation's target (with the campaigns and analytics services
//!   wired), and the connections as above.

use std::collections::BTreeSet;

use kiki_analytics::Granularity;
use kiki_analytics_service::domain::{Dimension, Filters};
use kiki_analytics_service::events::RolledUp;
use kiki_campaigns_service::domain::CampaignView;
use kiki_campaigns_service::events::{
    ApprovalDecided, ApprovalRequested, KillSwitchEngaged, KillSwitchReleased,
};
use kiki_core::{Money, TenantScope};
use kiki_platforms_service::domain::{ConnectionStatus, SyncStatus};
use kiki_platforms_service::events::{ConnectionChanged, MetricsSynced};
use kiki_store::Event;
use kiki_twin_service::events::RollbackRecommended;
use serde::de::DeserializeOwned;
use serde_json::Value;
use time::Date;
use uuid::Uuid;

use super::NotificationsService;
use super::raise::Raised;
use crate::domain::{
    BudgetCheck, Kind, Raise, RoasCheck, Settings, Severity, Subject, SubjectType,
};
use crate::error::{NotificationsError, Result};

/// The event kinds the listener hands to the evaluation job.
pub const KINDS: &[&str] = &[
    ApprovalRequested::KIND,
    ApprovalDecided::KIND,
    RollbackRecommended::KIND,
    KillSwitchEngaged::KIND,
    KillSwitchReleased::KIND,
    ConnectionChanged::KIND,
    MetricsSynced::KIND,
    RolledUp::KIND,
];

/// What evaluating one event did (the job's result).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct EventOutcome {
    pub raised: u32,
    pub repeated: u32,
    pub resolved: u32,
}

impl EventOutcome {
    fn count(&mut self, r: Raised) {
        match r {
            Raised::New(_) => self.raised += 1,
            Raised::Repeated(_) => self.repeated += 1,
            Raised::Off => {}
        }
    }
}

fn read<E: DeserializeOwned>(payload: &Value) -> Result<E> {
    serde_json::from_value(payload.clone())
        .map_err(|e| NotificationsError::Corrupt(format!("an event payload: {e}")))
}

fn upstream(e: impl std::fmt::Display) -> NotificationsError {
    NotificationsError::Upstream(e.to_string())
}

fn day(s: &str) -> Result<Date> {
    Date::parse(s, &time::format_description::well_known::Iso8601::DATE)
        .map_err(|_| NotificationsError::Upstream(format!("`{s}` is not a day")))
}

/// A platform's name as people read it (`Meta`), from its wire name.
fn platform_name(wire: &str) -> String {
    kiki_twin::Platform::parse(wire)
        .map(|p| p.display_name().to_owned())
        .unwrap_or_else(|| wire.to_owned())
}

fn quoted(name: &str) -> String {
    format!("“{name}”")
}

impl NotificationsService {
    /// Raises and resolves what one event of the organisation calls for.
    pub async fn evaluate(
        &self,
        scope: &TenantScope,
        kind: &str,
        payload: &Value,
    ) -> Result<EventOutcome> {
        let settings = self.settings(scope).await?;
        let mut out = EventOutcome::default();
        match kind {
            ApprovalRequested::KIND => {
                let e: ApprovalRequested = read(payload)?;
                let name = self.campaign_name(scope, e.campaign_id).await?;
                let (title, what) = if e.kind == "budget_increase" {
                    (
                        format!("A budget raise of {name} waits for approval"),
                        "raise the budget of",
                    )
                } else {
                    (format!("The launch of {name} waits for approval"), "launch")
                };
                let r = Raise {
                    kind: Kind::ApprovalWaiting,
                    severity: Severity::Warning,
                    subject: Subject::new(SubjectType::Approval, e.approval_id),
                    title,
                    body: format!(
                        "Someone asked to {what} {name}. A member with the budget.approve permission approves or rejects it on the approvals page; nothing is spent until then."
                    ),
                    link: "/app/approvals".into(),
                };
                out.count(self.raise(scope, &settings, r).await?);
            }
            ApprovalDecided::KIND => {
                let e: ApprovalDecided = read(payload)?;
                let subject = Subject::new(SubjectType::Approval, e.approval_id);
                if self.resolve(scope, Kind::ApprovalWaiting, &subject).await? {
                    out.resolved += 1;
                }
            }
            RollbackRecommended::KIND => {
                let e: RollbackRecommended = read(payload)?;
                let f = &e.evidence;
                let r = Raise {
                    kind: Kind::RollbackRecommended,
                    severity: Severity::High,
                    subject: Subject::new(SubjectType::Simulation, e.simulation_id),
                    title: "A rollback is recommended".into(),
                    body: format!(
                        "{} Actual revenue from launch to plan day {} is {} against the simulation's median of {} ({:+.1} %), {} day(s) in a row below the band.",
                        f.message,
                        f.day,
                        f.actual_revenue.text(),
                        f.expected_revenue.text(),
                        f.deviation * 100.0,
                        f.days_in_breach
                    ),
                    link: format!("/v1/simulations/{}", e.simulation_id),
                };
                out.count(self.raise(scope, &settings, r).await?);
            }
            KillSwitchEngaged::KIND => {
                let e: KillSwitchEngaged = read(payload)?;
                let r = Raise {
                    kind: Kind::KillSwitchEngaged,
                    severity: Severity::High,
                    subject: Subject::new(SubjectType::KillSwitch, e.kill_switch_id),
                    title: "The kill switch is engaged".into(),
                    body: format!(
                        "Every live campaign was paused ({} in all, across the {} organisation(s) the switch covers). The reason given: {}. Releasing the switch resumes exactly the campaigns it paused.",
                        e.paused.len(),
                        e.orgs.len(),
                        e.reason
                    ),
                    link: "/v1/kill-switch".into(),
                };
                out.count(self.raise(scope, &settings, r).await?);
            }
            KillSwitchReleased::KIND => {
                let e: KillSwitchReleased = read(payload)?;
                let subject = Subject::new(SubjectType::KillSwitch, e.kill_switch_id);
                if self
                    .resolve(scope, Kind::KillSwitchEngaged, &subject)
                    .await?
                {
                    out.resolved += 1;
                }
            }
            ConnectionChanged::KIND => {
                let e: ConnectionChanged = read(payload)?;
                // Connected again, or removed on purpose: nothing to repair.
                let subject = Subject::new(SubjectType::Connection, &e.platform);
                if self.resolve(scope, Kind::SyncFailing, &subject).await? {
                    out.resolved += 1;
                }
                self.check_connections(scope, &settings, &mut out).await?;
            }
            MetricsSynced::KIND => {
                let e: MetricsSynced = read(payload)?;
                let subject = Subject::new(SubjectType::Connection, &e.platform);
                if self.resolve(scope, Kind::SyncFailing, &subject).await? {
                    out.resolved += 1;
                }
                self.check_connections(scope, &settings, &mut out).await?;
            }
            RolledUp::KIND => {
                let e: RolledUp = read(payload)?;
                let (since, until) = (day(&e.since)?, day(&e.until)?);
                self.check_campaigns(scope, &settings, since, until, &mut out)
                    .await?;
                self.check_connections(scope, &settings, &mut out).await?;
            }
            other => {
                return Err(NotificationsError::Corrupt(format!(
                    "no notification follows from `{other}`"
                )));
            }
        }
        Ok(out)
    }

    /// “Name”, or "a campaign" without the campaigns service or the row.
    async fn campaign_name(&self, scope: &TenantScope, id: Uuid) -> Result<String> {
        let Some(campaigns) = &self.campaigns else {
            return Ok("a campaign".into());
        };
        Ok(campaigns
            .get(scope, id)
            .await
            .map_err(upstream)?
            .map(|c| quoted(&c.draft.name))
            .unwrap_or_else(|| "a campaign".into()))
    }

    /// Every connection of the organisation: a broken one, or one whose
    /// latest sync failed, raises "sync failing"; one whose latest sync
    /// succeeded resolves it.
    async fn check_connections(
        &self,
        scope: &TenantScope,
        settings: &Settings,
        out: &mut EventOutcome,
    ) -> Result<()> {
        let Some(platforms) = &self.platforms else {
            return Ok(());
        };
        let connections = platforms.connections(scope).await.map_err(upstream)?;
        if connections.is_empty() {
            return Ok(());
        }
        let runs = platforms.sync_runs(scope, 100).await.map_err(upstream)?;
        for c in connections {
            let wire = c.platform.as_str();
            let name = platform_name(wire);
            let subject = Subject::new(SubjectType::Connection, wire);
            let link = format!("/v1/platforms/connections/{wire}");
            match c.status {
                ConnectionStatus::Broken => {
                    let why = c
                        .last_error
                        .as_deref()
                        .map(|e| format!(" The platform said: {e}."))
                        .unwrap_or_default();
                    let r = Raise {
                        kind: Kind::SyncFailing,
                        severity: Severity::High,
                        subject,
                        title: format!("{name} needs to be connected again"),
                        body: format!(
                            "The connection to {name} (account {}) no longer works, so its metrics stop syncing and budget and ROAS checks use the last synced days.{why} Someone with campaign.write connects it again.",
                            quoted(&c.account_name)
                        ),
                        link,
                    };
                    out.count(self.raise(scope, settings, r).await?);
                }
                ConnectionStatus::Connected => {
                    // Runs are newest first: the platform's latest one.
                    let Some(run) = runs.iter().find(|r| r.platform == c.platform) else {
                        continue;
                    };
                    match run.status {
                        SyncStatus::Failed => {
                            let r = Raise {
                                kind: Kind::SyncFailing,
                                severity: Severity::Warning,
                                subject,
                                title: format!("The {name} sync is failing"),
                                body: format!(
                                    "The latest performance sync of {name} (days {} to {}) failed: {}. KIKI tries again on the next scheduled sync; until one works, budget and ROAS checks use the last synced days.",
                                    run.since,
                                    run.until,
                                    run.error.as_deref().unwrap_or("no reason was given")
                                ),
                                link,
                            };
                            out.count(self.raise(scope, settings, r).await?);
                        }
                        SyncStatus::Succeeded => {
                            if self.resolve(scope, Kind::SyncFailing, &subject).await? {
                                out.resolved += 1;
                            }
                        }
                        SyncStatus::BackedOff => {}
                    }
                }
                ConnectionStatus::Disconnected => {}
            }
        }
        Ok(())
    }

    /// Every campaign with metrics in `since..=until`: its spend against its
    /// budget and its ROAS against the organisation's target.
    async fn check_campaigns(
        &self,
        scope: &TenantScope,
        settings: &Settings,
        since: Date,
        until: Date,
        out: &mut EventOutcome,
    ) -> Result<()> {
        let (Some(campaigns), Some(analytics)) = (&self.campaigns, &self.analytics) else {
            return Ok(());
        };
        let filters = Filters {
            since: Some(since),
            until: Some(until),
            ..Filters::default()
        };
        let rows = analytics
            .breakdown(scope, &filters, Dimension::Campaign, 10_000)
            .await
            .map_err(upstream)?
            .rows;
        let ids: BTreeSet<Uuid> = rows
            .iter()
            .filter_map(|r| r.campaign_id.as_deref())
            .filter_map(|s| Uuid::parse_str(s).ok())
            .collect();
        for id in ids {
            let Some(c) = campaigns.get(scope, id).await.map_err(upstream)? else {
                continue;
            };
            let currency = c.draft.currency;
            let zero = Money::from_micros(0, currency);
            let (mut spend, mut revenue) = (zero, zero);
            for r in rows.iter().filter(|r| {
                r.campaign_id.as_deref() == Some(&*id.to_string()) && r.metrics.currency == currency
            }) {
                spend.micros = spend.micros.saturating_add(r.metrics.spend.micros);
                revenue.micros = revenue.micros.saturating_add(r.metrics.revenue.micros);
            }
            let roas = RoasCheck {
                spend,
                revenue,
                since,
                until,
            };
            self.check_roas(scope, settings, &c, &roas, out).await?;
            let budget = self.budget_check(scope, &c, since, until).await?;
            self.check_budget(scope, settings, &c, budget, out).await?;
        }
        Ok(())
    }

    async fn check_roas(
        &self,
        scope: &TenantScope,
        settings: &Settings,
        c: &CampaignView,
        roas: &RoasCheck,
        out: &mut EventOutcome,
    ) -> Result<()> {
        let subject = Subject::new(SubjectType::Campaign, c.id);
        match roas.below(settings.roas_target) {
            Some(value) => {
                let (title, body) = roas.texts(&quoted(&c.draft.name), value, settings);
                let r = Raise {
                    kind: Kind::PoorRoas,
                    severity: Severity::Warning,
                    subject,
                    title,
                    body,
                    link: format!("/app/campaigns/{}", c.id),
                };
                out.count(self.raise(scope, settings, r).await?);
            }
            None if roas.roas().is_some() => {
                let resolved = self.resolve(scope, Kind::PoorRoas, &subject).await?;
                out.resolved += u32::from(resolved);
            }
            None => {}
        }
        Ok(())
    }

    /// The campaign's budget check for the days written: the total budget
    /// against spend from the schedule's start to `until` when it has one,
    /// else the daily budget against the day of the range with the most
    /// spend. Spend in another currency than the campaign's is not counted.
    async fn budget_check(
        &self,
        scope: &TenantScope,
        c: &CampaignView,
        since: Date,
        until: Date,
    ) -> Result<Option<BudgetCheck>> {
        let Some(analytics) = &self.analytics else {
            return Ok(None);
        };
        let d = &c.draft;
        let base = Filters {
            campaign_id: Some(c.id),
            currency: Some(d.currency.as_str().to_owned()),
            ..Filters::default()
        };
        if let Some(total) = d.total_budget {
            let start = d.schedule.start.min(until);
            let f = Filters {
                since: Some(start),
                until: Some(until),
                ..base
            };
            let rows = analytics
                .breakdown(scope, &f, Dimension::Campaign, 10_000)
                .await
                .map_err(upstream)?
                .rows;
            let spend = rows
                .iter()
                .fold(0_i64, |a, r| a.saturating_add(r.metrics.spend.micros));
            return Ok(Some(BudgetCheck::Total {
                spend: Money::from_micros(spend, d.currency),
                budget: total,
                until,
            }));
        }
        let f = Filters {
            since: Some(since),
            until: Some(until),
            ..base
        };
        let series = analytics
            .timeseries(scope, &f, Granularity::Day)
            .await
            .map_err(upstream)?;
        Ok(series
            .points
            .iter()
            .filter(|p| p.metrics.currency == d.currency)
            .max_by_key(|p| (p.metrics.spend.micros, p.start))
            .map(|p| BudgetCheck::Daily {
                spend: p.metrics.spend,
                budget: d.daily_budget,
                day: p.start,
            }))
    }

    async fn check_budget(
        &self,
        scope: &TenantScope,
        settings: &Settings,
        c: &CampaignView,
        check: Option<BudgetCheck>,
        out: &mut EventOutcome,
    ) -> Result<()> {
        let Some(check) = check else {
            return Ok(());
        };
        let subject = Subject::new(SubjectType::Campaign, c.id);
        match check.overrun(settings.budget_tolerance_pct) {
            Some(over) => {
                let (title, body) = check.texts(&quoted(&c.draft.name), over, settings);
                let r = Raise {
                    kind: Kind::BudgetExceeded,
                    severity: Severity::High,
                    subject,
                    title,
                    body,
                    link: format!("/app/campaigns/{}", c.id),
                };
                out.count(self.raise(scope, settings, r).await?);
            }
            None => {
                if self.resolve(scope, Kind::BudgetExceeded, &subject).await? {
                    out.resolved += 1;
                }
            }
        }
        Ok(())
    }
}
