//! The status machine of a campaign:
//!
//! ```text
//! draft ──submit──▶ pending_approval ──approve──▶ approved ──launch──▶ active ⇄ paused
//!   ▲                 │ reject ▼  withdraw ▲                              │        │
//!   └──── revise ── rejected        (back to draft)                   complete  complete
//!                                                                        ▼        ▼
//!                                                                    completed ──archive──▶ archived
//! any live status ──hold──▶ safety_hold ──release──▶ draft      active ──fail──▶ failed
//! ```
//!
//! Every move is an [`Action`]; [`next_status`] answers the status it leads
//! to or, for an illegal move, the actions that *are* allowed from where the
//! campaign stands (the API's 409 lists them). `safety_hold` is entered
//! when a creative fails the policy review and left only back to `draft`
//! (the campaign is reviewed and approved again); `failed` is a platform
//! error, left by retrying (back to `active`) or pausing.

use serde::{Deserialize, Serialize};

kiki_core::string_enum! {
    /// Where a campaign stands.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum CampaignStatus {
        Draft = "draft",
        PendingApproval = "pending_approval",
        Approved = "approved",
        Active = "active",
        Paused = "paused",
        Completed = "completed",
        Archived = "archived",
        Rejected = "rejected",
        SafetyHold = "safety_hold",
        Failed = "failed",
    }
}

impl CampaignStatus {
    /// Spending money on a platform (or about to, on the next sync).
    pub fn is_live(self) -> bool {
        matches!(self, CampaignStatus::Active)
    }
}

kiki_core::string_enum! {
    /// A move between statuses.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum Action {
        /// Ask for approval (runs the launch gate first).
        Submit = "submit",
        /// Take a submitted campaign back to draft.
        Withdraw = "withdraw",
        Approve = "approve",
        Reject = "reject",
        /// Back to draft after a rejection, to change and resubmit.
        Revise = "revise",
        /// Go live on the platforms.
        Launch = "launch",
        Pause = "pause",
        Resume = "resume",
        /// The schedule ended, or a person stopped it for good.
        Complete = "complete",
        Archive = "archive",
        /// A creative failed the policy review.
        Hold = "hold",
        /// The offending creative was fixed or removed: back to draft.
        Release = "release",
        /// A platform refused or failed.
        Fail = "fail",
        /// Try the platforms again after a failure.
        Retry = "retry",
    }
}

/// A move that is not allowed from where the campaign stands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, utoipa::ToSchema)]
#[error("A campaign that is {} cannot {}; allowed: {}.", .from.as_str(), .action.as_str(), allowed_list(.allowed))]
pub struct IllegalMove {
    pub from: CampaignStatus,
    pub action: Action,
    pub allowed: Vec<Action>,
}

fn allowed_list(a: &[Action]) -> String {
    if a.is_empty() {
        "nothing (archived is final)".to_owned()
    } else {
        a.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(", ")
    }
}

fn target(from: CampaignStatus, action: Action) -> Option<CampaignStatus> {
    use Action as A;
    use CampaignStatus as S;
    Some(match (from, action) {
        (S::Draft, A::Submit) => S::PendingApproval,
        (S::Draft, A::Archive) => S::Archived,
        (S::PendingApproval, A::Approve) => S::Approved,
        (S::PendingApproval, A::Reject) => S::Rejected,
        (S::PendingApproval, A::Withdraw) => S::Draft,
        (S::Approved, A::Launch) => S::Active,
        (S::Approved, A::Withdraw) => S::Draft,
        (S::Approved, A::Archive) => S::Archived,
        (S::Active, A::Pause) => S::Paused,
        (S::Active, A::Complete) => S::Completed,
        (S::Active, A::Fail) => S::Failed,
        (S::Paused, A::Resume) => S::Active,
        (S::Paused, A::Complete) => S::Completed,
        (S::Paused, A::Archive) => S::Archived,
        (S::Completed, A::Archive) => S::Archived,
        (S::Rejected, A::Revise) => S::Draft,
        (S::Rejected, A::Archive) => S::Archived,
        (S::SafetyHold, A::Release) => S::Draft,
        (S::SafetyHold, A::Archive) => S::Archived,
        (S::Failed, A::Retry) => S::Active,
        (S::Failed, A::Pause) => S::Paused,
        (S::Failed, A::Archive) => S::Archived,
        (
            S::Draft | S::PendingApproval | S::Approved | S::Active | S::Paused | S::Failed,
            A::Hold,
        ) => S::SafetyHold,
        _ => return None,
    })
}

/// The actions allowed from `from`, in [`Action::ALL`] order.
pub fn allowed(from: CampaignStatus) -> Vec<Action> {
    Action::ALL
        .into_iter()
        .filter(|a| target(from, *a).is_some())
        .collect()
}

/// The status `action` leads to from `from`, or why it cannot be taken.
pub fn next_status(from: CampaignStatus, action: Action) -> Result<CampaignStatus, IllegalMove> {
    target(from, action).ok_or_else(|| IllegalMove {
        from,
        action,
        allowed: allowed(from),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action as A;
    use CampaignStatus as S;

    #[test]
    fn the_happy_path_runs_from_draft_to_archived() {
        let mut s = S::Draft;
        for (a, expect) in [
            (A::Submit, S::PendingApproval),
            (A::Approve, S::Approved),
            (A::Launch, S::Active),
            (A::Pause, S::Paused),
            (A::Resume, S::Active),
            (A::Complete, S::Completed),
            (A::Archive, S::Archived),
        ] {
            s = next_status(s, a).unwrap();
            assert_eq!(s, expect, "{a:?}");
        }
        assert!(allowed(S::Archived).is_empty());
    }

    #[test]
    fn an_illegal_move_lists_what_is_allowed() {
        let e = next_status(S::Draft, A::Launch).unwrap_err();
        assert_eq!(e.allowed, [A::Submit, A::Archive, A::Hold]);
        assert_eq!(
            e.to_string(),
            "A campaign that is draft cannot launch; allowed: submit, archive, hold."
        );
        let e = next_status(S::Archived, A::Resume).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("allowed: nothing (archived is final).")
        );
    }

    #[test]
    fn a_safety_hold_is_left_only_back_to_draft_or_to_the_archive() {
        assert_eq!(allowed(S::SafetyHold), [A::Archive, A::Release]);
        assert_eq!(next_status(S::SafetyHold, A::Release), Ok(S::Draft));
        for from in [
            S::Draft,
            S::PendingApproval,
            S::Approved,
            S::Active,
            S::Paused,
            S::Failed,
        ] {
            assert_eq!(next_status(from, A::Hold), Ok(S::SafetyHold), "{from:?}");
        }
    }

    #[test]
    fn every_status_round_trips_its_name_and_only_active_spends() {
        for s in CampaignStatus::ALL {
            assert_eq!(CampaignStatus::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                serde_json::Value::String(s.as_str().into())
            );
            assert_eq!(s.is_live(), s == S::Active);
        }
        for a in Action::ALL {
            assert_eq!(
                serde_json::to_value(a).unwrap(),
                serde_json::Value::String(a.as_str().into())
            );
        }
        assert_eq!(CampaignStatus::parse("running"), None);
    }
}
