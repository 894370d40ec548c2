//! The line-item use cases: create, replace, pause or resume, archive. Each
//! takes the caller's tenant scope and actor, checks the line item as the
//! engine would compile it, writes the row and its audit entry in one
//! transaction, and publishes `bidder.line_items_changed` so every replica
//! reloads. The HTTP handlers and any other context (campaigns) call these.

use kiki_bidder::snapshot::{Registry, Snapshot};
use kiki_bidder::{LineItem, LineItemId};
use kiki_core::{DomainError, ErrorCode, FieldError, TenantScope};
use kiki_explain::RecordError;
use kiki_identity::RequestMeta;
use kiki_shield::{Actor, AuditEvent};
use kiki_store::StoreError;

use crate::events::LineItemsChanged;
use crate::service::BidderService;
use crate::store::{self, LineItemRecord};

/// Why a line-item change was not made.
#[derive(Debug, thiserror::Error)]
pub enum LineItemError {
    #[error("The line item was not found.")]
    NotFound,
    /// One entry per invalid field.
    #[error("{}", kiki_core::fields_message(.0))]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The change's record (audit entry) failed.
    #[error(transparent)]
    Record(#[from] RecordError),
}

impl DomainError for LineItemError {
    fn code(&self) -> ErrorCode {
        match self {
            LineItemError::NotFound => ErrorCode::NotFound,
            LineItemError::Invalid(_) => ErrorCode::ValidationFailed,
            LineItemError::Store(e) => e.code(),
            LineItemError::Record(e) => e.code(),
        }
    }

    fn public_message(&self) -> String {
        match self {
            LineItemError::NotFound | LineItemError::Invalid(_) => self.to_string(),
            LineItemError::Store(e) => e.public_message(),
            LineItemError::Record(e) => e.public_message(),
        }
    }

    fn details(&self) -> serde_json::Value {
        match self {
            LineItemError::NotFound => kiki_core::no_details(),
            LineItemError::Invalid(fields) => kiki_core::field_details(fields),
            LineItemError::Store(e) => e.details(),
            LineItemError::Record(e) => e.details(),
        }
    }

    fn is_internal(&self) -> bool {
        match self {
            LineItemError::NotFound | LineItemError::Invalid(_) => false,
            LineItemError::Store(e) => e.is_internal(),
            LineItemError::Record(e) => e.is_internal(),
        }
    }
}

/// Who changes a line item: the tenant scope the auth layer built, the actor
/// for the audit entry, and the request it came with (if any).
#[derive(Debug, Clone, Copy)]
pub struct ChangedBy<'a> {
    pub scope: &'a TenantScope,
    pub actor: &'a Actor,
    pub meta: Option<&'a RequestMeta>,
}

impl ChangedBy<'_> {
    fn audit(&self, action: &str, id: LineItemId, details: serde_json::Value) -> AuditEvent {
        let mut ev = self.audit_of(action, "bidder_line_item", details);
        ev.target_id = Some(id.to_string());
        ev
    }

    /// An audit entry of this change on `target_kind`, with the request's
    /// address, agent and id.
    pub(crate) fn audit_of(
        &self,
        action: &str,
        target_kind: &str,
        details: serde_json::Value,
    ) -> AuditEvent {
        let mut ev = AuditEvent::new(Some(self.scope.org_id()), self.actor.clone(), action);
        ev.target_kind = Some(target_kind.into());
        if let Some(m) = self.meta {
            ev.ip = m.ip;
            ev.user_agent = m.user_agent.clone();
            ev.request_id = m.request_id.clone();
        }
        ev.details = details;
        ev
    }
}

impl BidderService {
    /// Everything the engine would refuse when compiling the line item
    /// (`LineItem::validate`, then a trial compile: currencies the FX table
    /// lacks, …), as field errors.
    pub fn check_line_item(&self, li: &LineItem) -> Result<(), LineItemError> {
        li.validate().map_err(LineItemError::Invalid)?;
        let mut probe = li.clone();
        probe.active = true;
        probe.flight.end = None;
        let (_, report) = Snapshot::compile(
            &[probe],
            &self.cfg.engine,
            &Registry::default(),
            0,
            self.now_ms(),
        );
        match report.rejected.into_iter().next() {
            Some(r) => Err(LineItemError::Invalid(r.errors)),
            None => Ok(()),
        }
    }

    /// Creates a line item in the caller's organisation (a new id; `org_id`
    /// is the scope's); it starts bidding on every replica without a restart.
    pub async fn create_line_item(
        &self,
        by: ChangedBy<'_>,
        mut li: LineItem,
    ) -> Result<LineItemRecord, LineItemError> {
        let org = by.scope.org_id();
        li.id = LineItemId::new();
        li.org_id = org;
        self.check_line_item(&li)?;
        let now = self.clock.now();
        let mut tx = self.record.begin().await?;
        store::insert_line_item(&mut tx, &li, now).await?;
        tx.audit(by.audit(
            "bidder.line_item.created",
            li.id,
            serde_json::json!({ "name": li.name, "active": li.active }),
        ))
        .await?;
        tx.publish(Some(org), &changed(li.id, "created"));
        tx.commit().await?;
        store::get_line_item(&self.db, org, li.id)
            .await?
            .ok_or(LineItemError::NotFound)
    }

    /// Replaces a line item's whole definition. A line item of another
    /// organisation, or an archived one, is not found (checked before the
    /// definition, so validation reveals nothing about it).
    pub async fn update_line_item(
        &self,
        by: ChangedBy<'_>,
        id: LineItemId,
        mut li: LineItem,
    ) -> Result<LineItemRecord, LineItemError> {
        let org = by.scope.org_id();
        if store::get_line_item(&self.db, org, id).await?.is_none() {
            return Err(LineItemError::NotFound);
        }
        li.id = id;
        li.org_id = org;
        self.check_line_item(&li)?;
        self.write_update(by, li, "bidder.line_item.updated", "updated")
            .await
    }

    /// Pauses (`active: false`) or resumes a line item, keeping the rest of
    /// its definition.
    pub async fn set_line_item_active(
        &self,
        by: ChangedBy<'_>,
        id: LineItemId,
        active: bool,
    ) -> Result<LineItemRecord, LineItemError> {
        let rec = store::get_line_item(&self.db, by.scope.org_id(), id)
            .await?
            .filter(|r| r.status != "archived")
            .ok_or(LineItemError::NotFound)?;
        let mut li = rec.item;
        li.active = active;
        let (action, change) = if active {
            ("bidder.line_item.resumed", "resumed")
        } else {
            ("bidder.line_item.paused", "paused")
        };
        self.write_update(by, li, action, change).await
    }

    async fn write_update(
        &self,
        by: ChangedBy<'_>,
        li: LineItem,
        action: &str,
        change: &str,
    ) -> Result<LineItemRecord, LineItemError> {
        let now = self.clock.now();
        let mut tx = self.record.begin().await?;
        if !store::update_line_item(&mut tx, &li, now).await? {
            return Err(LineItemError::NotFound);
        }
        tx.audit(by.audit(
            action,
            li.id,
            serde_json::json!({ "name": li.name, "active": li.active }),
        ))
        .await?;
        tx.publish(Some(by.scope.org_id()), &changed(li.id, change));
        tx.commit().await?;
        store::get_line_item(&self.db, by.scope.org_id(), li.id)
            .await?
            .ok_or(LineItemError::NotFound)
    }

    /// Archives a line item: it stops bidding; its statistics stay readable.
    pub async fn archive_line_item(
        &self,
        by: ChangedBy<'_>,
        id: LineItemId,
    ) -> Result<(), LineItemError> {
        let now = self.clock.now();
        let mut tx = self.record.begin().await?;
        if !store::archive_line_item(&mut tx, by.scope.org_id(), id, now).await? {
            return Err(LineItemError::NotFound);
        }
        tx.audit(by.audit("bidder.line_item.archived", id, serde_json::json!({})))
            .await?;
        tx.publish(Some(by.scope.org_id()), &changed(id, "archived"));
        tx.commit().await?;
        Ok(())
    }
}

/// The event every replica reloads on.
fn changed(id: LineItemId, change: &str) -> LineItemsChanged {
    LineItemsChanged {
        line_item_id: id.0,
        change: change.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiki_core::error::public_face_problems;

    /// One value of every variant with the status the edge answers. Each arm
    /// names its status and builds the next variant; the match has no
    /// wildcard, so a new variant does not compile until it is listed here.
    fn every_variant() -> Vec<(LineItemError, u16)> {
        let mut all = Vec::new();
        let mut next = Some(LineItemError::NotFound);
        while let Some(e) = next.take() {
            let (status, following) = match &e {
                LineItemError::NotFound => (
                    404,
                    Some(LineItemError::Invalid(vec![
                        FieldError::new("max_cpm.micros", "Must be positive."),
                        FieldError::new("creatives", "At least one creative."),
                    ])),
                ),
                LineItemError::Invalid(_) => (
                    422,
                    Some(LineItemError::Store(StoreError::Database(
                        kiki_store::sqlx::Error::Protocol(
                            "UPDATE bidder_line_items SET spec = $1".into(),
                        ),
                    ))),
                ),
                LineItemError::Store(_) => (
                    500,
                    Some(LineItemError::Record(RecordError::Audit(
                        kiki_shield::ShieldError::Store(StoreError::UniqueViolation {
                            constraint: Some("audit_log.chain, audit_log.seq".into()),
                        }),
                    ))),
                ),
                LineItemError::Record(_) => (409, None),
            };
            all.push((e, status));
            next = following;
        }
        all
    }

    #[test]
    fn every_variant_has_its_status_a_sentence_and_no_internal_text() {
        let all = every_variant();
        assert_eq!(all.len(), 4);
        for (e, status) in &all {
            let problems = public_face_problems(e, *status);
            assert!(problems.is_empty(), "{e:?}: {problems:?}");
        }
        let (invalid, _) = every_variant().remove(1);
        assert_eq!(invalid.public_message(), "2 fields are invalid.");
        assert_eq!(invalid.details()["fields"][1]["field"], "creatives");
    }
}
