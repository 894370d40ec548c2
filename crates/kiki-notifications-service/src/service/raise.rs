//! Raising and resolving. At most one notification of a kind is open per
//! subject in an organisation (a unique index holds it): a raise updates the
//! open one (latest figures, one more occurrence) or creates it; a resolve
//! closes it. A new notification commits with an audit entry by the system;
//! a new high-severity one is mailed to the organisation's active owners
//! when `notifications.email_high_severity` is on.

use kiki_core::TenantScope;
use kiki_identity::{Role, Status};
use kiki_notify::MailMessage;
use kiki_shield::{Actor, AuditEvent};
use serde_json::json;
use uuid::Uuid;

use super::NotificationsService;
use crate::domain::{Kind, Raise, Settings, Severity, Subject};
use crate::error::Result;
use crate::store::{self, NotificationRow};

/// What a raise did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raised {
    New(Uuid),
    Repeated(Uuid),
    /// The organisation turned the kind off.
    Off,
}

/// The system actor of automated notifications.
fn system() -> Actor {
    Actor::System("notifications".into())
}

impl NotificationsService {
    /// Creates the open notification of `r.kind` about `r.subject`, or
    /// updates it when one is open.
    pub(crate) async fn raise(
        &self,
        scope: &TenantScope,
        settings: &Settings,
        r: Raise,
    ) -> Result<Raised> {
        if !settings.enabled(r.kind) {
            return Ok(Raised::Off);
        }
        let org = scope.org_id();
        let now = self.clock.now();
        // Two raises at once: the second insert meets the unique index and
        // updates the row the first one wrote.
        for _ in 0..2 {
            let mut change = self.record.begin().await?;
            let open = store::open_of(
                change.tx(),
                org,
                r.kind.as_str(),
                r.subject.kind.as_str(),
                &r.subject.id,
            )
            .await?;
            if let Some(row) = open {
                store::repeat(
                    change.tx(),
                    org,
                    row.id,
                    (r.severity.as_str(), &r.title, &r.body, &r.link),
                    now,
                )
                .await?;
                change.commit().await?;
                return Ok(Raised::Repeated(row.id));
            }
            let row = NotificationRow {
                id: Uuid::now_v7(),
                org_id: org.0,
                kind: r.kind.as_str().into(),
                severity: r.severity.as_str().into(),
                subject_type: r.subject.kind.as_str().into(),
                subject_id: r.subject.id.clone(),
                title: r.title.clone(),
                body: r.body.clone(),
                link: r.link.clone(),
                occurrences: 1,
                created_at: now,
                updated_at: now,
                read_at: None,
                resolved_at: None,
                dismissed_at: None,
                emailed_at: None,
            };
            match store::insert(change.tx(), &row).await {
                Ok(()) => {}
                // PostgreSQL names the index, SQLite its columns.
                Err(e) if e.is_unique_violation_on("subject") => continue,
                Err(e) => return Err(e.into()),
            }
            change
                .audit(
                    AuditEvent::new(Some(org), system(), "notifications.raised")
                        .target("notification", row.id)
                        .details(json!({
                            "kind": r.kind,
                            "severity": r.severity,
                            "subject": r.subject,
                        })),
                )
                .await?;
            change.commit().await?;
            if r.severity == Severity::High && self.config.email_high_severity {
                self.mail_owners(scope, &row).await;
            }
            return Ok(Raised::New(row.id));
        }
        Err(crate::error::NotificationsError::Corrupt(
            "an open notification taken and gone".into(),
        ))
    }

    /// Resolves the open notification of `kind` about `subject`, if any;
    /// whether there was one.
    pub(crate) async fn resolve(
        &self,
        scope: &TenantScope,
        kind: Kind,
        subject: &Subject,
    ) -> Result<bool> {
        let org = scope.org_id();
        let mut change = self.record.begin().await?;
        let n = store::resolve(
            change.tx(),
            org,
            kind.as_str(),
            subject.kind.as_str(),
            &subject.id,
            self.clock.now(),
        )
        .await?;
        if n > 0 {
            change
                .audit(
                    AuditEvent::new(Some(org), system(), "notifications.resolved")
                        .details(json!({ "kind": kind, "subject": subject })),
                )
                .await?;
        }
        change.commit().await?;
        Ok(n > 0)
    }

    /// Mails a new notification to the organisation's active owners. A
    /// failure is logged: the notification stands in the app either way,
    /// and the outbox keeps what could not be sent.
    async fn mail_owners(&self, scope: &TenantScope, row: &NotificationRow) {
        let members = match self.identity.list_members(scope).await {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, org.id = %row.org_id, "notifications: the owners could not be read");
                return;
            }
        };
        let mut sent = 0;
        for m in members
            .iter()
            .filter(|m| m.role == Role::Owner && m.status == Status::Active)
        {
            let msg = MailMessage {
                to: m.email.clone(),
                subject: format!("KIKI: {}", row.title),
                text: format!(
                    "{}\n\n{}\n\nOpen it: {}{}\n\nYou receive this because you own the organisation in KIKI and high-severity notifications are mailed to owners.\n",
                    row.title, row.body, self.public_url, row.link
                ),
                html: None,
                org_id: Some(scope.org_id()),
                kind: "notification".into(),
                secrets: Vec::new(),
            };
            match self.mail.send(msg).await {
                Ok(_) => sent += 1,
                Err(e) => {
                    tracing::warn!(error = %e, org.id = %row.org_id, "notifications: a mail to an owner failed");
                }
            }
        }
        if sent > 0
            && let Err(e) =
                store::set_emailed(&self.db, scope.org_id(), row.id, self.clock.now()).await
        {
            tracing::warn!(error = %e, "notifications: the mail time could not be stored");
        }
    }
}
