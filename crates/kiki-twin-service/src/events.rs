//! The events the twin publishes: budget shifts the rebalancer applied or
//! proposed (and shifts a person approved), and the mirror's rollback
//! recommendation. The dashboard's live updates subscribe to them.

use kiki_store::Event;
use kiki_twin::{MirrorFinding, Platform};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// One budget shift between two platforms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ShiftEvent {
    /// The shift (listed by `GET /v1/twin/rebalancing`).
    pub shift_id: Uuid,
    /// `applied`, `pending_approval` (rebalancer) or `approved` (a person).
    pub status: String,
    /// The platform the budget leaves.
    pub from: Platform,
    /// The platform the budget goes to.
    pub to: Platform,
    /// The amount moved (or proposed) per day.
    pub amount: kiki_core::Money,
    /// Why, in a sentence.
    pub explanation: String,
}

/// The rebalancer ran for a period and shifted (or proposed) budget, or a
/// person approved a proposed shift.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Rebalanced {
    /// The start of the rebalancing period (RFC 3339); absent when a person
    /// approved a shift.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    /// The shifts, in the order they were decided.
    pub shifts: Vec<ShiftEvent>,
}

impl Event for Rebalanced {
    const KIND: &'static str = "twin.rebalanced";
    const DESCRIPTION: &'static str = "The rebalancer shifted or proposed budget between platforms for a period, or a person approved a proposed shift.";
}

/// The mirror found live results below the simulation's band and recommends
/// rolling back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RollbackRecommended {
    /// The simulation whose plan is live.
    pub simulation_id: Uuid,
    /// The mirror report that holds the day-by-day checks.
    pub mirror_report_id: Uuid,
    /// The finding: what fell short, by how much, over which days.
    pub evidence: MirrorFinding,
}

impl Event for RollbackRecommended {
    const KIND: &'static str = "twin.rollback_recommended";
    const DESCRIPTION: &'static str = "The post-launch mirror found actual results more than the tolerance below the simulated band and recommends a rollback.";
}
