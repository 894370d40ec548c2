//! The twin's tables (migration `0007_twin.sql`) and every query the context
//! runs on them, crate-private: simulations, gate decisions and market models
//! (`simulations.rs`), daily performance (`performance.rs`), per-organisation
//! settings (`settings.rs`), budgets, rebalancing runs and shifts
//! (`rebalancing.rs`), mirror reports (`mirror.rs`). Every read and write of
//! tenant rows names the organisation. The table identifiers are in
//! `schema.rs`.

pub(crate) mod campaign_budgets;
pub(crate) mod mirror;
pub(crate) mod performance;
pub(crate) mod rebalancing;
mod schema;
pub(crate) mod settings;
pub(crate) mod simulations;

use time::OffsetDateTime;
use uuid::Uuid;

/// The position of a row in a (time desc, id desc) list: the last row of a
/// page, from which the next page starts (`kiki_core::page`).
pub(crate) type Key = (OffsetDateTime, Uuid);
