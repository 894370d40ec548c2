//! The events the campaigns service publishes: every status move, approval
//! requests and decisions, and the kill switch. The dashboard's live updates
//! and the notifications subscribe to them.

use kiki_campaigns::{Action, CampaignStatus};
use kiki_store::Event;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A campaign moved from one status to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct StatusChanged {
    /// The campaign.
    pub campaign_id: Uuid,
    /// Its status before the move.
    pub from: CampaignStatus,
    /// Its status after the move.
    pub to: CampaignStatus,
    /// The move.
    pub action: Action,
    /// Who moved it (`user:<id>`, `api_key:<id>`, `engine`).
    pub actor: String,
    /// Why, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// True when a rule moved it (the policy review, the kill switch).
    pub automated: bool,
}

impl Event for StatusChanged {
    const KIND: &'static str = "campaigns.status_changed";
    const DESCRIPTION: &'static str = "A campaign moved between statuses (a person's action, an approval, the policy review or the kill switch).";
}

/// Someone asked for an approval: a launch, or a budget raise above the
/// organisation's threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ApprovalRequested {
    /// The approval (`GET /v1/approvals/{id}`).
    pub approval_id: Uuid,
    /// The campaign it is for.
    pub campaign_id: Uuid,
    /// `launch` or `budget_increase`.
    pub kind: String,
    /// Who asked.
    pub requested_by: String,
}

impl Event for ApprovalRequested {
    const KIND: &'static str = "campaigns.approval_requested";
    const DESCRIPTION: &'static str =
        "A launch or a budget raise waits for a member with budget.approve.";
}

/// An approval was granted or refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ApprovalDecided {
    /// The approval.
    pub approval_id: Uuid,
    /// The campaign it is for.
    pub campaign_id: Uuid,
    /// `launch` or `budget_increase`.
    pub kind: String,
    /// True when granted.
    pub approved: bool,
    /// Who decided.
    pub decided_by: String,
}

impl Event for ApprovalDecided {
    const KIND: &'static str = "campaigns.approval_decided";
    const DESCRIPTION: &'static str = "A launch or a budget raise was approved or rejected.";
}

/// The kill switch paused every live campaign of one organisation, or of
/// every client of an agency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KillSwitchEngaged {
    /// The kill switch (`GET /v1/kill-switch`).
    pub kill_switch_id: Uuid,
    /// The organisations it covers.
    pub orgs: Vec<Uuid>,
    /// The campaigns it paused.
    pub paused: Vec<Uuid>,
    /// Why.
    pub reason: String,
}

impl Event for KillSwitchEngaged {
    const KIND: &'static str = "campaigns.kill_switch_engaged";
    const DESCRIPTION: &'static str =
        "The kill switch paused every live campaign of an organisation or of an agency's clients.";
}

/// A kill switch was released: the campaigns it paused run again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KillSwitchReleased {
    /// The kill switch.
    pub kill_switch_id: Uuid,
    /// The campaigns resumed (those it paused that were still paused).
    pub resumed: Vec<Uuid>,
}

impl Event for KillSwitchReleased {
    const KIND: &'static str = "campaigns.kill_switch_released";
    const DESCRIPTION: &'static str =
        "A kill switch was released and the campaigns it paused were resumed.";
}
