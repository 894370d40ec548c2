//! The tenant scope: the organisation a request acts for and the organisations
//! it may reach. Tenant-scoped use cases and queries take a `&TenantScope`.
//!
//! A scope is issued by an authority, never built from input: the
//! authentication layer (`kiki-identity`, for a signed-in caller or an API
//! key) and the job runner (`kiki-store`'s `JobContext`, for a job enqueued
//! for one organisation or a platform sweep acting for each in turn). The
//! constructors exist only with this crate's `authority` feature, which those
//! two crates enable (and tests, as dev-dependencies); a test in this crate
//! fails if a constructor is called anywhere else in the workspace.

use serde::Serialize;

crate::typed_id!(
    /// An organisation: an agency, or a client account (possibly under an agency).
    OrgId
);

/// Which organisation a request acts for, and which it may reach. Not
/// deserializable: a scope is built after authentication, never read from
/// a request, a job payload or a stored row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantScope {
    active: OrgId,
    reachable: Vec<OrgId>,
}

impl TenantScope {
    /// Built by the identity layer after authenticating the caller. `reachable`
    /// always contains `active`.
    #[cfg(feature = "authority")]
    pub fn new(active: OrgId, mut reachable: Vec<OrgId>) -> Self {
        if !reachable.contains(&active) {
            reachable.push(active);
        }
        TenantScope { active, reachable }
    }

    /// A scope of exactly one organisation (an API key, a job acting for one
    /// tenant).
    #[cfg(feature = "authority")]
    pub fn single(org: OrgId) -> Self {
        TenantScope {
            active: org,
            reachable: vec![org],
        }
    }

    /// The organisation writes go to and reads default to.
    pub fn org_id(&self) -> OrgId {
        self.active
    }

    pub fn reachable(&self) -> &[OrgId] {
        &self.reachable
    }

    pub fn can_reach(&self, org: OrgId) -> bool {
        self.reachable.contains(&org)
    }
}
