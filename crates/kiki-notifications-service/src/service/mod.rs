//! The notification use cases. Notifications are raised by the service
//! itself from other contexts' events (`evaluate.rs`, run by the
//! `notifications.evaluate` job the listener in `listen.rs` queues) and read
//! and handled by people: the list with its filters, one notification, mark
//! read, mark all read, dismiss, and the organisation's thresholds. Every
//! change a person makes commits with its audit entry.
//!
//! - `mod.rs`: the service, the reads and the people's actions.
//! - `raise.rs`: raise (create or update the one open notification of a
//!   kind and subject), resolve, and the mail to owners.
//! - `evaluate.rs`: what each event raises or resolves, and the budget and
//!   ROAS checks when metrics land.
//! - `listen.rs`: the event listener.

mod evaluate;
pub mod listen;
mod raise;

use std::sync::Arc;

use kiki_analytics_service::AnalyticsService;
use kiki_campaigns_service::CampaignsService;
use kiki_core::{Clock, OrgId, Page, PageRequest, TenantScope};
use kiki_explain::Recorder;
use kiki_identity::{Identity, Principal, RequestMeta};
use kiki_notify::Mail;
use kiki_platforms_service::PlatformsService;
use kiki_server::Platform;
use kiki_shield::{Actor, AuditEvent};
use kiki_store::{Db, Jobs};
use serde_json::json;
use sqlx::types::Json;
use uuid::Uuid;

use crate::config::NotificationsConfig;
use crate::domain::{
    Kind, MarkedRead, NotificationView, Settings, SettingsRequest, Severity, Subject, SubjectType,
    UnreadCount,
};
use crate::error::{NotificationsError, Result};
use crate::store::{self, Filter, Key, NotificationRow, SettingsRow};

pub use evaluate::EventOutcome;

/// The filters of the list.
#[derive(Debug, Clone, Default)]
pub struct NotificationFilter {
    /// Only notifications not read and still holding.
    pub unread: bool,
    pub kind: Option<Kind>,
}

/// The notifications service. Cheap to share behind an `Arc`.
pub struct NotificationsService {
    db: Db,
    record: Recorder,
    clock: Arc<dyn Clock>,
    pub(crate) jobs: Jobs,
    mail: Mail,
    identity: Identity,
    campaigns: Option<Arc<CampaignsService>>,
    analytics: Option<Arc<AnalyticsService>>,
    platforms: Option<Arc<PlatformsService>>,
    config: NotificationsConfig,
    /// The public address links in mails start with.
    public_url: String,
}

impl std::fmt::Debug for NotificationsService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NotificationsService")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// An audit event stamped with the request.
fn audit_event(org: OrgId, actor: Actor, action: &str, meta: &RequestMeta) -> AuditEvent {
    AuditEvent::new(Some(org), actor, action).context(
        meta.ip,
        meta.user_agent.clone(),
        meta.request_id.clone(),
    )
}

impl NotificationRow {
    fn view(self) -> Result<NotificationView> {
        let bad = |what: &str, v: &str| NotificationsError::Corrupt(format!("{what} `{v}`"));
        Ok(NotificationView {
            id: self.id,
            kind: Kind::parse(&self.kind).ok_or_else(|| bad("kind", &self.kind))?,
            severity: Severity::parse(&self.severity)
                .ok_or_else(|| bad("severity", &self.severity))?,
            subject: Subject {
                kind: SubjectType::parse(&self.subject_type)
                    .ok_or_else(|| bad("subject type", &self.subject_type))?,
                id: self.subject_id,
            },
            title: self.title,
            body: self.body,
            link: self.link,
            occurrences: self.occurrences,
            created_at: self.created_at,
            updated_at: self.updated_at,
            read_at: self.read_at,
            resolved_at: self.resolved_at,
        })
    }
}

impl NotificationsService {
    pub fn new(
        platform: &Platform,
        identity: Identity,
        config: NotificationsConfig,
        public_url: String,
    ) -> NotificationsService {
        NotificationsService {
            db: platform.db.clone(),
            record: platform.recorder(),
            clock: platform.clock.clone(),
            jobs: platform.jobs.clone(),
            mail: platform.mail.clone(),
            identity,
            campaigns: None,
            analytics: None,
            platforms: None,
            config,
            public_url,
        }
    }

    /// Check campaigns' budgets and ROAS when metrics land (both services
    /// are needed: the budget is the campaign's, the spend analytics').
    pub fn with_metrics(
        mut self,
        campaigns: Arc<CampaignsService>,
        analytics: Arc<AnalyticsService>,
    ) -> NotificationsService {
        self.campaigns = Some(campaigns);
        self.analytics = Some(analytics);
        self
    }

    /// Name campaigns in approval notifications without checking budgets.
    pub fn with_campaigns(mut self, campaigns: Arc<CampaignsService>) -> NotificationsService {
        self.campaigns = Some(campaigns);
        self
    }

    /// Check the ad platform connections' health on platform events.
    pub fn with_platforms(mut self, platforms: Arc<PlatformsService>) -> NotificationsService {
        self.platforms = Some(platforms);
        self
    }

    pub fn config(&self) -> &NotificationsConfig {
        &self.config
    }

    /// The organisation's notifications (never the dismissed ones), newest
    /// first.
    pub async fn list(
        &self,
        scope: &TenantScope,
        filter: &NotificationFilter,
        page: &PageRequest,
    ) -> Result<Page<NotificationView>> {
        let key: Option<Key> = page
            .after()
            .map_err(|e| NotificationsError::Invalid(vec![e]))?;
        let f = Filter {
            unread: filter.unread,
            kind: filter.kind.map(|k| k.as_str().to_owned()),
        };
        let rows = store::list(&self.db, scope.org_id(), &f, page.fetch(), key).await?;
        let views = rows
            .into_iter()
            .map(NotificationRow::view)
            .collect::<Result<Vec<_>>>()?;
        Ok(Page::keyset(views, page.limit(), |v| (v.created_at, v.id)))
    }

    /// How many notifications are unread and still hold.
    pub async fn unread_count(&self, scope: &TenantScope) -> Result<UnreadCount> {
        Ok(UnreadCount {
            unread: store::unread_count(&self.db, scope.org_id()).await?,
        })
    }

    /// One notification of the organisation (a dismissed one, or another
    /// organisation's, is not found).
    pub async fn get(&self, scope: &TenantScope, id: Uuid) -> Result<NotificationView> {
        store::get(&self.db, scope.org_id(), id)
            .await?
            .ok_or(NotificationsError::NotFound)?
            .view()
    }

    /// Marks a notification read (again: no change) and answers it.
    pub async fn mark_read(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        id: Uuid,
    ) -> Result<NotificationView> {
        let org = p.scope.org_id();
        let mut change = self.record.begin().await?;
        if store::mark_read(change.tx(), org, id, self.clock.now()).await? == 0 {
            return Err(NotificationsError::NotFound);
        }
        change
            .audit(
                audit_event(org, p.actor(), "notifications.read", meta).target("notification", id),
            )
            .await?;
        change.commit().await?;
        self.get(&p.scope, id).await
    }

    /// Marks every unread notification of the organisation read.
    pub async fn mark_all_read(&self, p: &Principal, meta: &RequestMeta) -> Result<MarkedRead> {
        let org = p.scope.org_id();
        let mut change = self.record.begin().await?;
        let marked = store::mark_all_read(change.tx(), org, self.clock.now()).await?;
        change
            .audit(
                audit_event(org, p.actor(), "notifications.all_read", meta)
                    .details(json!({ "marked": marked })),
            )
            .await?;
        change.commit().await?;
        Ok(MarkedRead { marked })
    }

    /// Dismisses a notification: it leaves the lists, and the same cause
    /// raised again opens a new one.
    pub async fn dismiss(&self, p: &Principal, meta: &RequestMeta, id: Uuid) -> Result<()> {
        let org = p.scope.org_id();
        let mut change = self.record.begin().await?;
        if store::dismiss(change.tx(), org, id, self.clock.now()).await? == 0 {
            return Err(NotificationsError::NotFound);
        }
        change
            .audit(
                audit_event(org, p.actor(), "notifications.dismissed", meta)
                    .target("notification", id),
            )
            .await?;
        change.commit().await?;
        Ok(())
    }

    /// The organisation's thresholds, or the configured defaults.
    pub async fn settings(&self, scope: &TenantScope) -> Result<Settings> {
        let Some(row) = store::settings(&self.db, scope.org_id()).await? else {
            return Ok(Settings {
                roas_target: self.config.default_roas_target,
                budget_tolerance_pct: self.config.default_budget_tolerance_pct,
                enabled_kinds: Kind::ALL.to_vec(),
                defaults: true,
            });
        };
        let off: Vec<Kind> = row
            .kinds_off
            .0
            .iter()
            .filter_map(|k| Kind::parse(k))
            .collect();
        Ok(Settings {
            roas_target: row.roas_target,
            budget_tolerance_pct: u32::try_from(row.budget_tolerance_pct).map_err(|_| {
                NotificationsError::Corrupt(format!("tolerance {}", row.budget_tolerance_pct))
            })?,
            enabled_kinds: Kind::ALL.into_iter().filter(|k| !off.contains(k)).collect(),
            defaults: false,
        })
    }

    /// Replaces the organisation's thresholds.
    pub async fn put_settings(
        &self,
        p: &Principal,
        meta: &RequestMeta,
        req: &SettingsRequest,
    ) -> Result<Settings> {
        let problems = req.problems();
        if !problems.is_empty() {
            return Err(NotificationsError::Invalid(problems));
        }
        let org = p.scope.org_id();
        let kinds_off: Vec<String> = Kind::ALL
            .into_iter()
            .filter(|k| !req.enabled_kinds.contains(k))
            .map(|k| k.as_str().to_owned())
            .collect();
        let row = SettingsRow {
            roas_target: req.roas_target,
            budget_tolerance_pct: i64::from(req.budget_tolerance_pct),
            kinds_off: Json(kinds_off),
        };
        let actor = p.actor();
        let by = match actor.id() {
            Some(id) => format!("{}:{id}", actor.kind()),
            None => actor.kind().to_owned(),
        };
        let mut change = self.record.begin().await?;
        store::put_settings(change.tx(), org, &row, &by, self.clock.now()).await?;
        change
            .audit(
                audit_event(org, actor, "notifications.settings_changed", meta).details(json!({
                    "roas_target": req.roas_target,
                    "budget_tolerance_pct": req.budget_tolerance_pct,
                    "enabled_kinds": req.enabled_kinds,
                })),
            )
            .await?;
        change.commit().await?;
        self.settings(&p.scope).await
    }
}
