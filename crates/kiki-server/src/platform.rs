//! The platform handle: the shared infrastructure every bounded context is
//! built on, created once at start-up and handed to each module's `init`
//! (`ModuleContext::platform`) and to every handler (the state dereferences
//! to it). A context reaches the database, clock, job queue, event bus,
//! cache, outbound HTTP client, audit log, decision records, field-encryption
//! key ring and mail port through this one value, never through another
//! context's service.

use std::sync::Arc;

use kiki_core::Clock;
use kiki_explain::{Decisions, Recorder};
use kiki_notify::Mail;
use kiki_outbound::OutboundClient;
use kiki_shield::{AuditLog, Keyring};
use kiki_store::{Cache, Db, EventBus, Jobs};

/// Shared infrastructure; cheap to clone (every part is a handle).
#[derive(Clone)]
pub struct Platform {
    /// The database pool (SQLite or PostgreSQL).
    pub db: Db,
    /// The clock every timestamp comes from (a test clock in tests).
    pub clock: Arc<dyn Clock>,
    /// The shared cache (Redis when configured, else in-process).
    pub cache: Cache,
    /// Events between contexts and replicas.
    pub events: EventBus,
    /// The job queue (enqueue from anywhere; workers run under the `worker` role).
    pub jobs: Jobs,
    /// The one HTTP client for external APIs.
    pub outbound: OutboundClient,
    /// The hash-chained audit log; changes append through [`Platform::recorder`].
    pub audit: AuditLog,
    /// Decision records for automated actions (written through the recorder's
    /// `Change::decision`).
    pub decisions: Decisions,
    /// Field encryption (AES-256-GCM key ring with blind indexes).
    pub keyring: Keyring,
    /// The mail port (outbox, SMTP when configured).
    pub mail: Mail,
}

impl Platform {
    /// Writes changes with their audit entry and decision record in one
    /// transaction, and publishes their events after the commit.
    pub fn recorder(&self) -> Recorder {
        Recorder::new(
            self.db.clone(),
            self.clock.clone(),
            self.audit.clone(),
            self.decisions.clone(),
        )
        .with_events(self.events.clone())
    }
}

impl std::fmt::Debug for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Platform")
            .field("encryption_current_key", &self.keyring.current_kid())
            .finish_non_exhaustive()
    }
}
