//! The identity vocabulary: organisation kinds, membership roles, the
//! permission set and the one matrix that says which role holds which
//! permission. The matrix lives here, in code, and `docs/security.md` prints
//! the same table; a test walks every cell through the HTTP API.

use serde::{Deserialize, Serialize};

kiki_core::string_enum! {
    /// What an organisation is in the two-level tree.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum OrgKind {
        /// Runs client accounts; its members reach every client under it.
        Agency = "agency",
        /// An advertiser account: under an agency, or a standalone business.
        Client = "client",
    }
}

kiki_core::string_enum! {
    /// How an organisation counts profit, per its contract.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema, Default)]
    #[serde(rename_all = "snake_case")]
    pub enum ProfitBasis {
        /// Net profit uplift = incremental revenue × contribution margin −
        /// incremental ad spend (the product's definition).
        #[default]
        ContributionMargin = "contribution_margin",
        /// Revenue counted as profit (margin 100 %): a contract option.
        Revenue = "revenue",
    }
}

kiki_core::string_enum! {
    /// A membership role. Ordered from most to least powerful.
    #[derive(
        Debug,
        Clone,
        Copy,
        PartialEq,
        Eq,
        Hash,
        PartialOrd,
        Ord,
        Serialize,
        Deserialize,
        utoipa::ToSchema,
    )]
    #[serde(rename_all = "snake_case")]
    pub enum Role {
        Owner = "owner",
        Admin = "admin",
        Manager = "manager",
        Analyst = "analyst",
        Viewer = "viewer",
    }
}

impl Role {
    /// The stronger of two roles (an agency role and a direct client role).
    pub fn max(self, other: Role) -> Role {
        // `Owner` sorts first, so the stronger role is the smaller one.
        std::cmp::min(self, other)
    }

    /// Whether this role holds `p`.
    pub fn has(self, p: Permission) -> bool {
        permissions_of(self).contains(&p)
    }

    /// Owners and admins: the roles an organisation's MFA requirement covers,
    /// and the roles that may manage members.
    pub fn is_privileged(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }
}

macro_rules! permissions {
    ($( $variant:ident => ($id:literal, $doc:literal) ),+ $(,)?) => {
        /// A permission: what a role (or an API key) may do.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Permission { $( #[doc = $doc] $variant ),+ }

        impl Permission {
            pub const ALL: &'static [Permission] = &[ $( Permission::$variant ),+ ];
            /// The stable name (`campaign.write`), used in API keys and docs.
            pub const fn as_str(self) -> &'static str {
                match self { $( Permission::$variant => $id ),+ }
            }
            pub const fn describe(self) -> &'static str {
                match self { $( Permission::$variant => $doc ),+ }
            }
            pub fn parse(s: &str) -> Option<Permission> {
                match s { $( $id => Some(Permission::$variant), )+ _ => None }
            }
        }

        /// Marker types for `RequirePermission<P>`: one per permission.
        pub mod perm {
            /// A permission known at compile time.
            pub trait PermissionMarker: Send + Sync + 'static {
                const PERMISSION: super::Permission;
            }
            $(
                #[doc = $doc]
                #[derive(Debug, Clone, Copy)]
                pub struct $variant;
                impl PermissionMarker for $variant {
                    const PERMISSION: super::Permission = super::Permission::$variant;
                }
            )+
        }
    };
}

permissions! {
    OrgRead        => ("org.read", "See the organisation, its settings and (for agencies) its clients."),
    OrgManage      => ("org.manage", "Rename and configure the organisation, create and archive client organisations."),
    UserRead       => ("user.read", "List members and invitations."),
    UserManage     => ("user.manage", "Invite, change roles, deactivate and remove members; manage invite codes."),
    ApiKeyManage   => ("apikey.manage", "Create, list and revoke API keys."),
    CampaignRead   => ("campaign.read", "See campaigns, plans, creatives and their performance."),
    CampaignWrite  => ("campaign.write", "Create and change campaigns, plans, line items and creatives."),
    BudgetApprove  => ("budget.approve", "Approve launches, budget shifts and other gated decisions."),
    BillingRead    => ("billing.read", "See invoices, fees and the uplift they are computed from."),
    BillingManage  => ("billing.manage", "Change payment details and billing contracts."),
    AuditRead      => ("audit.read", "Read and export the audit log and verify its chain."),
    DecisionRead   => ("decision.read", "Read decision records of automated actions."),
    Export         => ("export", "Export reports and data as CSV/XLSX/PDF."),
    LtvRead        => ("ltv.read", "See customer lifetime value models, predictions and aggregates."),
    LtvWrite       => ("ltv.write", "Upload transactions and fit lifetime value models."),
    BidderRead     => ("bidder.read", "See bidder line items and delivery reports."),
    BidderWrite    => ("bidder.write", "Create and change bidder line items."),
    SimulationRead => ("simulation.read", "See simulations, allocations and rebalancing proposals."),
    SimulationWrite=> ("simulation.write", "Run simulations and allocations; apply rebalancing within bounds."),
}

use Permission as P;

const VIEWER: &[Permission] = &[
    P::OrgRead,
    P::UserRead,
    P::CampaignRead,
    P::DecisionRead,
    P::LtvRead,
    P::BidderRead,
    P::SimulationRead,
];
const ANALYST: &[Permission] = &[
    P::OrgRead,
    P::UserRead,
    P::CampaignRead,
    P::DecisionRead,
    P::LtvRead,
    P::BidderRead,
    P::SimulationRead,
    P::BillingRead,
    P::Export,
];
const MANAGER: &[Permission] = &[
    P::OrgRead,
    P::UserRead,
    P::CampaignRead,
    P::DecisionRead,
    P::LtvRead,
    P::BidderRead,
    P::SimulationRead,
    P::BillingRead,
    P::Export,
    P::CampaignWrite,
    P::BudgetApprove,
    P::LtvWrite,
    P::BidderWrite,
    P::SimulationWrite,
];
const ADMIN: &[Permission] = &[
    P::OrgRead,
    P::UserRead,
    P::CampaignRead,
    P::DecisionRead,
    P::LtvRead,
    P::BidderRead,
    P::SimulationRead,
    P::BillingRead,
    P::Export,
    P::CampaignWrite,
    P::BudgetApprove,
    P::LtvWrite,
    P::BidderWrite,
    P::SimulationWrite,
    P::OrgManage,
    P::UserManage,
    P::ApiKeyManage,
    P::AuditRead,
];

/// The permission matrix: what each role holds. Owners hold everything.
pub fn permissions_of(role: Role) -> &'static [Permission] {
    match role {
        Role::Owner => Permission::ALL,
        Role::Admin => ADMIN,
        Role::Manager => MANAGER,
        Role::Analyst => ANALYST,
        Role::Viewer => VIEWER,
    }
}

/// The permission matrix as the Markdown table printed in `docs/security.md`.
pub fn matrix_markdown() -> String {
    let mut out = String::from("| permission | what it allows |");
    for r in Role::ALL {
        out.push_str(&format!(" {} |", r.as_str()));
    }
    out.push_str("\n|---|---|");
    for _ in Role::ALL {
        out.push_str("---|");
    }
    out.push('\n');
    for p in Permission::ALL {
        out.push_str(&format!("| `{}` | {} |", p.as_str(), p.describe()));
        for r in Role::ALL {
            out.push_str(if r.has(*p) { " ✓ |" } else { "  |" });
        }
        out.push('\n');
    }
    out
}

kiki_core::string_enum! {
    /// Membership and account status.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum Status {
        Active = "active",
        Deactivated = "deactivated",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_nested_from_viewer_to_owner() {
        for w in Role::ALL.windows(2) {
            let (stronger, weaker) = (w[0], w[1]);
            for p in permissions_of(weaker) {
                assert!(
                    stronger.has(*p),
                    "{stronger:?} lacks {p:?} that {weaker:?} has"
                );
            }
            assert!(permissions_of(stronger).len() > permissions_of(weaker).len());
        }
    }

    #[test]
    fn only_owners_manage_billing_and_only_admins_up_read_the_audit_log() {
        assert!(Role::Owner.has(P::BillingManage));
        assert!(!Role::Admin.has(P::BillingManage));
        assert!(Role::Admin.has(P::AuditRead));
        assert!(!Role::Manager.has(P::AuditRead));
        assert!(Role::Analyst.has(P::Export));
        assert!(!Role::Viewer.has(P::Export));
    }

    #[test]
    fn the_documented_matrix_is_the_one_in_code() {
        let doc = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../docs/security.md"
        ))
        .expect("docs/security.md exists");
        assert!(
            doc.contains(&matrix_markdown()),
            "docs/security.md must contain this table:\n{}",
            matrix_markdown()
        );
    }

    #[test]
    fn names_round_trip() {
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(*p));
        }
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::Viewer.max(Role::Admin), Role::Admin);
    }
}

#[cfg(test)]
mod string_names {
    use super::*;

    /// The strings stored in columns are the names serde writes and reads.
    #[test]
    fn stored_names_are_the_serde_names() {
        assert!(
            kiki_core::serde_name_problems::<OrgKind>().is_empty(),
            "{:?}",
            kiki_core::serde_name_problems::<OrgKind>()
        );
        assert!(
            kiki_core::serde_name_problems::<Role>().is_empty(),
            "{:?}",
            kiki_core::serde_name_problems::<Role>()
        );
        assert!(
            kiki_core::serde_name_problems::<Status>().is_empty(),
            "{:?}",
            kiki_core::serde_name_problems::<Status>()
        );
    }
}
