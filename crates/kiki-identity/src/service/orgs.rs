//! Organisations, members and invitations.
//!
//! * An agency creates client organisations under itself; superadmins create
//!   agencies and standalone businesses. Organisations are renamed, given
//!   settings (open sign-up, MFA for owners/admins) and archived, never
//!   deleted (their history stays auditable).
//! * Members are in [`crate::service::members`], invitations in [`crate::service::invitations`].

use kiki_core::{OrgId, TenantScope, UserId};
use kiki_shield::AuditEvent;
use kiki_store::{StoreError, Tx};
use sea_query::{Expr, ExprTrait, Order, Query};
use serde_json::json;
use uuid::Uuid;

use crate::domain::model::{OrgKind, Permission, ProfitBasis, Role, Status};
use crate::domain::types::StampRequest as _;
use crate::domain::types::{Organisation, Principal, ReachableOrg, RequestMeta, User};
use crate::service::auth::org_columns;
use crate::store::{Memberships as M, OrgRow, Organisations as O};
use crate::{Identity, IdentityError, Result};

pub(crate) fn org_of(r: OrgRow) -> Organisation {
    Organisation {
        id: OrgId(r.id),
        parent_id: r.parent_id.map(OrgId),
        kind: OrgKind::parse(&r.kind).unwrap_or(OrgKind::Client),
        name: r.name,
        open_signup: r.open_signup,
        require_mfa: r.require_mfa,
        contribution_margin_bps: r
            .contribution_margin_bps
            .and_then(|b| u32::try_from(b).ok()),
        profit_basis: ProfitBasis::parse(&r.profit_basis).unwrap_or_default(),
        reporting_currency: kiki_core::Currency::parse_exact(&r.reporting_currency)
            .unwrap_or(kiki_core::Currency::USD),
        // A zone the time zone database no longer knows reads as unset.
        time_zone: r.time_zone.filter(|z| known_time_zone(z)),
        archived_at: r.archived_at,
        created_at: r.created_at,
    }
}

pub(crate) fn validate_name(field: &str, name: &str) -> Result<String> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 200 {
        return Err(IdentityError::invalid(
            field,
            "The name must be 1 to 200 characters.",
        ));
    }
    Ok(n.to_owned())
}

pub(crate) fn normalize_email(field: &str, email: &str) -> Result<String> {
    let e = email.trim().to_lowercase();
    let valid = e.chars().count() <= 254
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        // What the mail port can deliver to (invitations, password resets).
        && kiki_notify::is_mail_address(&e);
    if valid {
        Ok(e)
    } else {
        Err(IdentityError::invalid(
            field,
            "This is not an email address.",
        ))
    }
}

/// Changes to an organisation.
#[derive(Debug, Clone, Default)]
pub struct OrgUpdate {
    pub name: Option<String>,
    pub open_signup: Option<bool>,
    pub require_mfa: Option<bool>,
    /// `Some(None)` clears the margin (back to "not configured").
    pub contribution_margin_bps: Option<Option<i64>>,
    pub profit_basis: Option<ProfitBasis>,
    /// An ISO 4217 code; see [`Organisation::reporting_currency`].
    pub reporting_currency: Option<String>,
    /// An IANA zone; `Some(None)` clears it (back to the deployment's
    /// default). See [`Organisation::time_zone`].
    pub time_zone: Option<Option<String>>,
}

/// True when the time zone database built into the binary knows `zone`.
pub fn known_time_zone(zone: &str) -> bool {
    !zone.is_empty() && zone.len() <= 64 && jiff::tz::db().get(zone).is_ok()
}

/// The most a contribution margin can be, in basis points (100 %).
pub const MAX_MARGIN_BPS: i64 = 10_000;

/// `GET /v1/me`: the user, the active organisation and role, and where they can switch.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Me {
    pub user: Option<User>,
    /// `user`, or `api_key` for machine callers.
    pub caller: &'static str,
    pub active_org: Organisation,
    pub role: Option<Role>,
    pub permissions: Vec<String>,
    pub organisations: Vec<ReachableOrg>,
    /// The active organisation requires MFA of this role and this session has not used it.
    pub mfa_outstanding: bool,
}

impl Identity {
    pub(crate) fn user_of(r: crate::store::UserRow) -> User {
        User {
            id: UserId(r.id),
            email: r.email,
            username: r.username,
            display_name: r.display_name,
            is_superadmin: r.is_superadmin,
            status: Status::parse(&r.status).unwrap_or(Status::Deactivated),
            mfa_enabled: r.totp_enabled_at.is_some(),
            last_login_at: r.last_login_at,
            created_at: r.created_at,
        }
    }

    pub async fn me(&self, principal: &Principal) -> Result<Me> {
        let active = self
            .org_row(principal.org_id())
            .await?
            .ok_or(IdentityError::NotFound("The organisation"))?;
        let (user, organisations) = match principal.user_id() {
            Some(u) => (
                self.user_row(u).await?.map(Identity::user_of),
                self.reachable_orgs(u).await?,
            ),
            None => (None, Vec::new()),
        };
        Ok(Me {
            user,
            caller: if principal.user_id().is_some() {
                "user"
            } else {
                "api_key"
            },
            active_org: org_of(active),
            role: principal.role,
            permissions: principal
                .permissions
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect(),
            organisations,
            mfa_outstanding: principal.mfa_outstanding,
        })
    }

    /// Every organisation a user can act in: direct memberships and the clients of their agencies.
    pub async fn reachable_orgs(&self, user: UserId) -> Result<Vec<ReachableOrg>> {
        let memberships = self.memberships_of(user).await?;
        let mut out: Vec<ReachableOrg> = Vec::new();
        for m in &memberships {
            let Some(row) = self.org_row(OrgId(m.org_id)).await? else {
                continue;
            };
            let role = Role::parse(&m.role).unwrap_or(Role::Viewer);
            let is_agency = row.kind == "agency";
            push_reachable(&mut out, org_of(row), role, false);
            if is_agency {
                let stmt = Query::select()
                    .columns(org_columns())
                    .from(O::Table)
                    .and_where(Expr::col(O::ParentId).eq(m.org_id))
                    .and_where(Expr::col(O::ArchivedAt).is_null())
                    .order_by(O::Name, Order::Asc)
                    .to_owned();
                let children: Vec<OrgRow> = self.db().fetch_all(&stmt).await?;
                for c in children {
                    push_reachable(&mut out, org_of(c), role, true);
                }
            }
        }
        Ok(out)
    }

    /// An organisation the scope reaches.
    pub async fn organisation(&self, scope: &TenantScope, id: OrgId) -> Result<Organisation> {
        if !scope.can_reach(id) {
            return Err(IdentityError::NotFound("The organisation"));
        }
        self.org_row(id)
            .await?
            .map(org_of)
            .ok_or(IdentityError::NotFound("The organisation"))
    }

    /// The active organisation and (for an agency) its clients, archived ones included.
    pub async fn list_organisations(&self, scope: &TenantScope) -> Result<Vec<Organisation>> {
        let stmt = Query::select()
            .columns(org_columns())
            .from(O::Table)
            .and_where(
                Expr::col(O::Id)
                    .eq(scope.org_id().0)
                    .or(Expr::col(O::ParentId).eq(scope.org_id().0)),
            )
            .order_by(O::CreatedAt, Order::Asc)
            .to_owned();
        let rows: Vec<OrgRow> = self.db().fetch_all(&stmt).await?;
        Ok(rows.into_iter().map(org_of).collect())
    }

    /// Creates an organisation. Under the caller's active agency (`kind` client) for
    /// agency members with `org.manage`; a top-level agency or standalone client only for superadmins
    /// (who become its owner).
    pub async fn create_organisation(
        &self,
        meta: &RequestMeta,
        principal: &Principal,
        name: &str,
        kind: OrgKind,
        top_level: bool,
    ) -> Result<Organisation> {
        let name = validate_name("name", name)?;
        let parent = if top_level {
            if !principal.superadmin {
                return Err(IdentityError::Forbidden(
                    "Only platform operators create agencies and standalone organisations.".into(),
                ));
            }
            None
        } else {
            let active = self
                .org_row(principal.org_id())
                .await?
                .ok_or(IdentityError::NotFound("The organisation"))?;
            if active.kind != "agency" {
                return Err(IdentityError::invalid(
                    "parent",
                    "Client organisations are created under an agency; switch to the agency first.",
                ));
            }
            if kind != OrgKind::Client {
                return Err(IdentityError::invalid(
                    "kind",
                    "Only client organisations can be created under an agency.",
                ));
            }
            Some(OrgId(active.id))
        };
        let id = OrgId::new();
        let mut tx = self.0.record.begin().await?;
        self.insert_org(&mut tx, id, parent, kind, &name).await?;
        if top_level && let Some(u) = principal.user_id() {
            self.insert_membership(&mut tx, id, u, Role::Owner).await?;
        }
        let audit_org = parent.unwrap_or(id);
        tx.audit(AuditEvent::new(Some(audit_org), principal.actor(), "org.created")
                    .target("organisation", id.0)
                    .details(json!({ "name": name, "kind": kind.as_str(), "parent_id": parent.map(|p| p.0) }))
                    .stamp(meta))
            .await?;
        tx.commit().await?;
        self.org_row(id)
            .await?
            .map(org_of)
            .ok_or(IdentityError::NotFound("The organisation"))
    }

    pub(crate) async fn insert_org(
        &self,
        tx: &mut Tx<'_>,
        id: OrgId,
        parent: Option<OrgId>,
        kind: OrgKind,
        name: &str,
    ) -> Result<()> {
        let now = self.now();
        let stmt = Query::insert()
            .into_table(O::Table)
            .columns([
                O::Id,
                O::ParentId,
                O::Kind,
                O::Name,
                O::OpenSignup,
                O::RequireMfa,
                O::CreatedAt,
                O::UpdatedAt,
            ])
            .values_panic([
                id.0.into(),
                parent.map(|p| p.0).into(),
                kind.as_str().into(),
                name.into(),
                false.into(),
                false.into(),
                now.into(),
                now.into(),
            ])
            .to_owned();
        tx.execute(&stmt).await?;
        Ok(())
    }

    pub(crate) async fn insert_membership(
        &self,
        tx: &mut Tx<'_>,
        org: OrgId,
        user: UserId,
        role: Role,
    ) -> Result<()> {
        let now = self.now();
        let stmt = Query::insert()
            .into_table(M::Table)
            .columns([
                M::Id,
                M::OrgId,
                M::UserId,
                M::Role,
                M::Status,
                M::CreatedAt,
                M::UpdatedAt,
            ])
            .values_panic([
                Uuid::now_v7().into(),
                org.0.into(),
                user.0.into(),
                role.as_str().into(),
                "active".into(),
                now.into(),
                now.into(),
            ])
            .to_owned();
        match tx.execute(&stmt).await {
            Ok(_) => Ok(()),
            // One membership per person and organisation (a second accept
            // racing the first).
            Err(StoreError::UniqueViolation { .. }) => Err(IdentityError::Conflict(
                "This person is already a member of this organisation.".into(),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Renames or reconfigures an organisation the scope reaches.
    pub async fn update_organisation(
        &self,
        meta: &RequestMeta,
        principal: &Principal,
        id: OrgId,
        upd: OrgUpdate,
    ) -> Result<Organisation> {
        let current = self.organisation(&principal.scope, id).await?;
        if current.archived_at.is_some() {
            return Err(IdentityError::Conflict(
                "The organisation is archived.".into(),
            ));
        }
        let mut values = Vec::new();
        let mut changed = serde_json::Map::new();
        if let Some(n) = &upd.name {
            let n = validate_name("name", n)?;
            changed.insert("name".into(), json!({ "from": current.name, "to": n }));
            values.push((O::Name, n.into()));
        }
        if let Some(v) = upd.open_signup {
            changed.insert("open_signup".into(), json!(v));
            values.push((O::OpenSignup, v.into()));
        }
        if let Some(v) = upd.require_mfa {
            // Requiring a second factor from a session that has none would
            // shut the caller out of the organisation with their next request.
            if v && !current.require_mfa
                && principal.user_id().is_some()
                && !principal.amr.iter().any(|m| m == "mfa")
            {
                return Err(IdentityError::Conflict(
                    "Turn on two-factor sign-in for your own account and sign in with it before requiring it for the organisation.".into(),
                ));
            }
            changed.insert("require_mfa".into(), json!(v));
            values.push((O::RequireMfa, v.into()));
        }
        if let Some(margin) = upd.contribution_margin_bps {
            if let Some(bps) = margin
                && !(0..=MAX_MARGIN_BPS).contains(&bps)
            {
                return Err(IdentityError::invalid(
                    "contribution_margin_bps",
                    "The contribution margin must be between 0 and 10000 basis points (0 % to 100 %).",
                ));
            }
            changed.insert(
                "contribution_margin_bps".into(),
                json!({ "from": current.contribution_margin_bps, "to": margin }),
            );
            values.push((O::ContributionMarginBps, margin.into()));
        }
        if let Some(basis) = upd.profit_basis {
            // The profit basis is part of the contract: billing's call.
            if !principal.has(Permission::BillingManage) {
                return Err(IdentityError::Forbidden(
                    "Changing the profit basis needs the `billing.manage` permission.".into(),
                ));
            }
            changed.insert(
                "profit_basis".into(),
                json!({ "from": current.profit_basis.as_str(), "to": basis.as_str() }),
            );
            values.push((O::ProfitBasis, basis.as_str().into()));
        }
        if let Some(code) = &upd.reporting_currency {
            let currency = kiki_core::Currency::parse_exact(code).map_err(|_| {
                IdentityError::invalid(
                    "reporting_currency",
                    "The reporting currency must be an ISO 4217 code of three letters, such as USD or EUR.",
                )
            })?;
            changed.insert(
                "reporting_currency".into(),
                json!({ "from": current.reporting_currency, "to": currency }),
            );
            values.push((O::ReportingCurrency, currency.as_str().into()));
        }
        if let Some(zone) = &upd.time_zone {
            let zone = match zone.as_deref().map(str::trim) {
                None => None,
                Some(z) if known_time_zone(z) => Some(z.to_owned()),
                Some(_) => {
                    return Err(IdentityError::invalid(
                        "time_zone",
                        "The time zone must be an IANA zone name such as Europe/Berlin or America/New_York, or null for the default.",
                    ));
                }
            };
            changed.insert(
                "time_zone".into(),
                json!({ "from": current.time_zone, "to": zone }),
            );
            values.push((O::TimeZone, zone.into()));
        }
        if values.is_empty() {
            return Err(IdentityError::invalid(
                "name",
                "Send at least one of `name`, `open_signup`, `require_mfa`, `contribution_margin_bps`, `profit_basis`, `reporting_currency`, `time_zone`.",
            ));
        }
        values.push((O::UpdatedAt, self.now().into()));
        let stmt = Query::update()
            .table(O::Table)
            .values(values)
            .and_where(Expr::col(O::Id).eq(id.0))
            .to_owned();
        let mut tx = self.0.record.begin().await?;
        tx.execute(&stmt).await?;
        tx.audit(
            AuditEvent::new(Some(id), principal.actor(), "org.updated")
                .target("organisation", id.0)
                .details(serde_json::Value::Object(changed))
                .stamp(meta),
        )
        .await?;
        tx.commit().await?;
        self.organisation(&principal.scope, id).await
    }

    /// Archives a client organisation of the caller's agency (or the active
    /// organisation itself when the caller is its owner and it has a parent
    /// that can bring it back). The organisation at the top of the caller's
    /// tree that they are signed in to is refused (409): archiving it would
    /// lock every member out, the caller included. A platform superadmin may
    /// archive any other organisation. Archived organisations are
    /// unreachable but kept, and can be unarchived.
    pub async fn archive_organisation(
        &self,
        meta: &RequestMeta,
        principal: &Principal,
        id: OrgId,
    ) -> Result<Organisation> {
        let org = match self.organisation(&principal.scope, id).await {
            Ok(o) => o,
            Err(IdentityError::NotFound(_)) if principal.superadmin => self
                .org_row(id)
                .await?
                .map(org_of)
                .ok_or(IdentityError::NotFound("The organisation"))?,
            Err(e) => return Err(e),
        };
        if org.archived_at.is_some() {
            return Ok(org);
        }
        if id == principal.org_id() && principal.role != Some(Role::Owner) {
            return Err(IdentityError::Forbidden(
                "Only an owner archives the organisation they are in.".into(),
            ));
        }
        if id == principal.org_id() && org.parent_id.is_none() {
            return Err(IdentityError::Conflict(
                "This is the top organisation of your account and you are signed in to it: archiving it would lock every member out, you included. Archive client organisations instead, or ask a platform operator."
                    .into(),
            ));
        }
        let audit_org = org.parent_id.unwrap_or(id);
        self.set_archived(meta, principal, id, audit_org, true)
            .await
    }

    /// Brings an archived organisation back: for an owner or admin of its
    /// parent agency (signed in to the agency), or a platform superadmin.
    /// Anyone else gets "not found" (or "forbidden" inside the agency).
    pub async fn unarchive_organisation(
        &self,
        meta: &RequestMeta,
        principal: &Principal,
        id: OrgId,
    ) -> Result<Organisation> {
        if principal.mfa_outstanding {
            return Err(IdentityError::MfaEnrolmentRequired);
        }
        let org = self
            .org_row(id)
            .await?
            .map(org_of)
            .ok_or(IdentityError::NotFound("The organisation"))?;
        let parent_admin = org.parent_id == Some(principal.org_id())
            && principal.user_id().is_some()
            && matches!(principal.role, Some(Role::Owner | Role::Admin));
        if !(principal.superadmin || parent_admin) {
            if org.parent_id == Some(principal.org_id()) {
                return Err(IdentityError::Forbidden(
                    "Only an owner or admin of the agency unarchives its client organisations."
                        .into(),
                ));
            }
            return Err(IdentityError::NotFound("The organisation"));
        }
        if org.archived_at.is_none() {
            return Ok(org);
        }
        let audit_org = org.parent_id.unwrap_or(id);
        self.set_archived(meta, principal, id, audit_org, false)
            .await
    }

    /// Sets or clears `archived_at` with its audit entry, in one transaction.
    async fn set_archived(
        &self,
        meta: &RequestMeta,
        principal: &Principal,
        id: OrgId,
        audit_org: OrgId,
        archived: bool,
    ) -> Result<Organisation> {
        let now = self.now();
        let stmt = Query::update()
            .table(O::Table)
            .values([
                (O::ArchivedAt, archived.then_some(now).into()),
                (O::UpdatedAt, now.into()),
            ])
            .and_where(Expr::col(O::Id).eq(id.0))
            .to_owned();
        let action = if archived {
            "org.archived"
        } else {
            "org.unarchived"
        };
        let mut tx = self.0.record.begin().await?;
        tx.execute(&stmt).await?;
        tx.audit(
            AuditEvent::new(Some(audit_org), principal.actor(), action)
                .target("organisation", id.0)
                .stamp(meta),
        )
        .await?;
        tx.commit().await?;
        self.org_row(id)
            .await?
            .map(org_of)
            .ok_or(IdentityError::NotFound("The organisation"))
    }
}

fn push_reachable(out: &mut Vec<ReachableOrg>, org: Organisation, role: Role, via_agency: bool) {
    if let Some(existing) = out.iter_mut().find(|r| r.org.id == org.id) {
        let stronger = existing.role.max(role);
        if stronger != existing.role {
            existing.role = stronger;
            existing.via_agency = via_agency;
        }
        return;
    }
    out.push(ReachableOrg {
        org,
        role,
        via_agency,
    });
}
