//! One change and its record: the transaction a use case writes in, the
//! audit entry (and, for automated actions, the decision record linked to
//! it) appended in that same transaction, and the events published once it
//! has committed. Every context writes its changes through a [`Recorder`]:
//!
//! ```ignore
//! let mut change = recorder.begin().await?;
//! store::insert_thing(&mut change, &thing).await?; // the change's own writes
//! let entry = change.audit(AuditEvent::new(Some(org), actor, "thing.paused")).await?;
//! change.decision(NewDecision { audit_entry_id: Some(entry.id), ..paused }).await?;
//! change.publish(Some(org), &ThingCreated { id });
//! change.commit().await?; // commits, then publishes
//! ```
//!
//! A [`Change`] dropped without `commit` rolls back, so `?` anywhere in the
//! use case leaves nothing behind: no row, no audit entry, no decision, no
//! event.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use kiki_core::{Clock, DomainError, ErrorCode, OrgId};
use kiki_shield::{AuditEntry, AuditEvent, AuditLog, ShieldError};
use kiki_store::{Db, DomainEvent, Event, EventBus, StoreError, Tx};
use serde_json::Value;

use crate::{Decision, Decisions, ExplainError, NewDecision};

/// What can fail while writing a change's record.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The database (the transaction itself).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The audit log refused or failed the entry.
    #[error(transparent)]
    Audit(#[from] ShieldError),
    /// The decision record was refused or failed.
    #[error(transparent)]
    Decision(#[from] ExplainError),
}

impl DomainError for RecordError {
    fn code(&self) -> ErrorCode {
        match self {
            RecordError::Store(e) => e.code(),
            RecordError::Audit(e) => e.code(),
            RecordError::Decision(e) => e.code(),
        }
    }

    fn public_message(&self) -> String {
        match self {
            RecordError::Store(e) => e.public_message(),
            RecordError::Audit(e) => e.public_message(),
            RecordError::Decision(e) => e.public_message(),
        }
    }

    fn details(&self) -> Value {
        match self {
            RecordError::Store(e) => e.details(),
            RecordError::Audit(e) => e.details(),
            RecordError::Decision(e) => e.details(),
        }
    }

    fn is_internal(&self) -> bool {
        match self {
            RecordError::Store(e) => e.is_internal(),
            RecordError::Audit(e) => e.is_internal(),
            RecordError::Decision(e) => e.is_internal(),
        }
    }
}

/// Opens changes: the database, the clock, the audit log, decision records
/// and (optionally) the event bus the change's events go to. Cheap to clone.
#[derive(Clone)]
pub struct Recorder {
    db: Db,
    clock: Arc<dyn Clock>,
    audit: AuditLog,
    decisions: Decisions,
    events: Option<EventBus>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("events", &self.events.is_some())
            .finish_non_exhaustive()
    }
}

impl Recorder {
    /// A recorder without an event bus: its changes publish nothing.
    pub fn new(db: Db, clock: Arc<dyn Clock>, audit: AuditLog, decisions: Decisions) -> Recorder {
        Recorder {
            db,
            clock,
            audit,
            decisions,
            events: None,
        }
    }

    /// Publishes the changes' events on `events` after they commit.
    pub fn with_events(mut self, events: EventBus) -> Recorder {
        self.events = Some(events);
        self
    }

    /// Opens the transaction of one change.
    pub async fn begin(&self) -> Result<Change<'_>, RecordError> {
        Ok(Change {
            recorder: self,
            tx: self.db.begin().await?,
            events: Vec::new(),
        })
    }
}

/// One change being written: its transaction (through `Deref`, so the
/// context's store functions take `&mut change`), its record, and the
/// events waiting for the commit.
pub struct Change<'r> {
    recorder: &'r Recorder,
    tx: Tx<'static>,
    events: Vec<(Option<OrgId>, &'static str, Value)>,
}

impl std::fmt::Debug for Change<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Change")
            .field("events", &self.events.len())
            .finish_non_exhaustive()
    }
}

impl Deref for Change<'_> {
    type Target = Tx<'static>;

    fn deref(&self) -> &Tx<'static> {
        &self.tx
    }
}

impl DerefMut for Change<'_> {
    fn deref_mut(&mut self) -> &mut Tx<'static> {
        &mut self.tx
    }
}

impl Change<'_> {
    /// The change's transaction.
    pub fn tx(&mut self) -> &mut Tx<'static> {
        &mut self.tx
    }

    /// Appends an audit entry in the change's transaction.
    pub async fn audit(&mut self, event: AuditEvent) -> Result<AuditEntry, RecordError> {
        Ok(self.recorder.audit.append(&mut self.tx, event).await?)
    }

    /// Records the decision of an automated action in the change's
    /// transaction; `audit_entry_id` names the entry of the action (the one
    /// [`Change::audit`] returned).
    pub async fn decision(&mut self, decision: NewDecision) -> Result<Decision, RecordError> {
        Ok(self
            .recorder
            .decisions
            .record(&mut self.tx, decision)
            .await?)
    }

    /// Queues an event, published once the change has committed (never
    /// when it rolls back).
    pub fn publish<E: Event>(&mut self, org: Option<OrgId>, payload: &E) {
        // A payload type is plain data: its JSON form cannot fail (see
        // `DomainEvent::of`).
        let payload = serde_json::to_value(payload).unwrap_or(Value::Null);
        self.events.push((org, E::KIND, payload));
    }

    /// Commits the change with its record, then publishes its events. A
    /// failure to publish is logged, not returned: the change has committed
    /// and its record is in the database (replicas also reload on a timer).
    pub async fn commit(self) -> Result<(), RecordError> {
        let Change {
            recorder,
            tx,
            events,
        } = self;
        tx.commit().await?;
        if events.is_empty() {
            return Ok(());
        }
        let Some(bus) = &recorder.events else {
            tracing::error!(
                events = events.len(),
                "a change queued events on a recorder without an event bus; they were not published"
            );
            return Ok(());
        };
        let now = recorder.clock.now();
        for (org, kind, payload) in events {
            if let Err(e) = bus.publish(DomainEvent::new(org, kind, payload, now)).await {
                tracing::warn!(event.kind = kind, error = %e, "publishing an event failed after its change committed");
            }
        }
        Ok(())
    }

    /// Rolls the change back explicitly (dropping it does the same, without
    /// waiting for the database).
    pub async fn rollback(self) -> Result<(), RecordError> {
        self.tx.rollback().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiki_core::error::public_face_problems;

    /// One value of every variant with the status the edge answers; the
    /// match has no wildcard, so a new variant must be listed.
    #[test]
    fn every_variant_has_its_status_a_sentence_and_no_internal_text() {
        let all = [
            RecordError::Store(StoreError::Corrupt("audit_log.details".into())),
            RecordError::Audit(ShieldError::Invalid(
                "An audit action must be 1 to 100 characters.".into(),
            )),
            RecordError::Decision(ExplainError::Store(StoreError::Corrupt("decisions".into()))),
        ];
        for e in &all {
            let status = match e {
                RecordError::Store(_) => 500,
                RecordError::Audit(_) => 422,
                RecordError::Decision(_) => 500,
            };
            let problems = public_face_problems(e, status);
            assert!(problems.is_empty(), "{e:?}: {problems:?}");
        }
    }
}
