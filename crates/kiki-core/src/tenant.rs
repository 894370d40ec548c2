//! The tenant scope: the organisation a request acts for and the organisations
//! it may reach. Tenant-scoped queries take a `&TenantScope`, and the only way
//! to get one outside tests is the auth extractor, so a handler cannot forget it.

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
    pub fn new(active: OrgId, mut reachable: Vec<OrgId>) -> Self {
        if !reachable.contains(&active) {
            reachable.push(active);
        }
        TenantScope { active, reachable }
    }

    /// A scope of exactly one organisation (jobs acting for one tenant, tests).
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
