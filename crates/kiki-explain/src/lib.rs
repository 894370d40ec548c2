//! ExplainabilityBroker: the decision record every automated action leaves —
//! which engine (and version) decided what about which subject, from which
//! inputs, how sure it was, and a sentence saying why — and the tenant-scoped
//! queries that read them back. A record is written in the same transaction
//! as the action it explains, and can point at the audit entry of that action;
//! [`Recorder`] writes a change, its audit entry and its decision record in
//! one transaction and publishes the change's events after it commits.

pub mod change;
pub mod decisions;
pub mod error;
pub mod schema;

pub use change::{Change, RecordError, Recorder};
pub use decisions::{Decision, DecisionFilter, Decisions, NewDecision};
pub use error::ExplainError;
