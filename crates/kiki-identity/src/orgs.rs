//! Organisations, members and invitations.
//!
//! * An agency creates client organisations under itself; superadmins create
//!   agencies and standalone businesses. Organisations are renamed, given
//!   settings (open sign-up, MFA for owners/admins) and archived, never
//!   deleted (their history stays auditable).
//! * Members: list, change role, deactivate, remove. Nobody may remove or
//!   deactivate themselves or leave an organisation without an active owner;
//!   only owners grant or take away the owner role.
//! * Invitations by email (a link with a single-use token, sent through the
//!   mail port) or invite codes (`KIKI-` + 16 characters) with expiry,
//!   single use, revocation and counts. Only token hashes are stored.

use kiki_core::{OrgId, TenantScope, UserId};
use kiki_credentials::tokens;
use kiki_notify::MailMessage;
use kiki_shield::AuditEvent;
use kiki_store::Tx;
use sea_query::{Expr, ExprTrait, Order, Query};
use serde_json::json;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::auth::org_columns;
use crate::model::{OrgKind, Role, Status};
use crate::rows::{
    CountRow, InvitationRow, Invitations as I, MemberRow, Memberships as M, OrgRow,
    Organisations as O, Users as U,
};
use crate::types::{
    CreatedInviteCode, Invitation, InvitationCounts, InvitationState, Member, Organisation,
    Principal, ReachableOrg, RequestMeta, User,
};
use crate::{Identity, IdentityError, Result};

pub(crate) fn org_of(r: OrgRow) -> Organisation {
    Organisation {
        id: OrgId(r.id),
        parent_id: r.parent_id.map(OrgId),
        kind: OrgKind::parse(&r.kind).unwrap_or(OrgKind::Client),
        name: r.name,
        open_signup: r.open_signup,
        require_mfa: r.require_mfa,
        archived_at: r.archived_at,
        created_at: r.created_at,
    }
}

fn invitation_of(r: InvitationRow, now: OffsetDateTime) -> Invitation {
    let state = match r.status.as_str() {
        "used" => InvitationState::Used,
        "revoked" => InvitationState::Revoked,
        _ if r.expires_at <= now => InvitationState::Expired,
        _ => InvitationState::Unused,
    };
    Invitation {
        id: r.id,
        org_id: OrgId(r.org_id),
        kind: r.kind,
        email: r.email,
        role: Role::parse(&r.role).unwrap_or(Role::Viewer),
        hint: r.hint,
        state,
        expires_at: r.expires_at,
        created_by: r.created_by,
        used_by: r.used_by,
        used_at: r.used_at,
        created_at: r.created_at,
    }
}

fn invitation_columns() -> [I; 12] {
    [
        I::Id,
        I::OrgId,
        I::Kind,
        I::Email,
        I::Role,
        I::Hint,
        I::Status,
        I::ExpiresAt,
        I::CreatedBy,
        I::UsedBy,
        I::UsedAt,
        I::CreatedAt,
    ]
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
    let valid = e.len() <= 254
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !e.chars().any(char::is_whitespace);
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
}

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
    pub(crate) fn user_of(r: crate::rows::UserRow) -> User {
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
        let mut tx = self.db().begin().await?;
        self.insert_org(&mut tx, id, parent, kind, &name).await?;
        if top_level && let Some(u) = principal.user_id() {
            self.insert_membership(&mut tx, id, u, Role::Owner).await?;
        }
        let audit_org = parent.unwrap_or(id);
        self.0
            .audit
            .append(
                &mut tx,
                AuditEvent::new(Some(audit_org), principal.actor(), "org.created")
                    .target("organisation", id.0)
                    .details(json!({ "name": name, "kind": kind.as_str(), "parent_id": parent.map(|p| p.0) }))
                    .context(meta.ip, meta.user_agent.clone(), meta.request_id.clone()),
            )
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
        tx.execute(&stmt).await?;
        Ok(())
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
            changed.insert("require_mfa".into(), json!(v));
            values.push((O::RequireMfa, v.into()));
        }
        if values.is_empty() {
            return Err(IdentityError::invalid(
                "name",
                "Send at least one of `name`, `open_signup`, `require_mfa`.",
            ));
        }
        values.push((O::UpdatedAt, self.now().into()));
        let stmt = Query::update()
            .table(O::Table)
            .values(values)
            .and_where(Expr::col(O::Id).eq(id.0))
            .to_owned();
        let mut tx = self.db().begin().await?;
        tx.execute(&stmt).await?;
        self.0
            .audit
            .append(
                &mut tx,
                AuditEvent::new(Some(id), principal.actor(), "org.updated")
                    .target("organisation", id.0)
                    .details(serde_json::Value::Object(changed))
                    .context(meta.ip, meta.user_agent.clone(), meta.request_id.clone()),
            )
            .await?;
        tx.commit().await?;
        self.organisation(&principal.scope, id).await
    }

    /// Archives a client organisation of the caller's agency (or the active organisation itself when
    /// the caller is its owner). Archived organisations are unreachable but kept.
    pub async fn archive_organisation(
        &self,
        meta: &RequestMeta,
        principal: &Principal,
        id: OrgId,
    ) -> Result<Organisation> {
        let org = self.organisation(&principal.scope, id).await?;
        if org.archived_at.is_some() {
            return Ok(org);
        }
        if id == principal.org_id() && principal.role != Some(Role::Owner) {
            return Err(IdentityError::Forbidden(
                "Only an owner archives the organisation they are in.".into(),
            ));
        }
        let now = self.now();
        let stmt = Query::update()
            .table(O::Table)
            .values([(O::ArchivedAt, now.into()), (O::UpdatedAt, now.into())])
            .and_where(Expr::col(O::Id).eq(id.0))
            .to_owned();
        let mut tx = self.db().begin().await?;
        tx.execute(&stmt).await?;
        self.0
            .audit
            .append(
                &mut tx,
                AuditEvent::new(Some(principal.org_id()), principal.actor(), "org.archived")
                    .target("organisation", id.0)
                    .context(meta.ip, meta.user_agent.clone(), meta.request_id.clone()),
            )
            .await?;
        tx.commit().await?;
        self.org_row(id)
            .await?
            .map(org_of)
            .ok_or(IdentityError::NotFound("The organisation"))
    }

    // ---- members ---------------------------------------------------------

    pub async fn list_members(&self, scope: &TenantScope) -> Result<Vec<Member>> {
        let stmt = Query::select()
            .column((M::Table, M::UserId))
            .column((U::Table, U::Email))
            .column((U::Table, U::DisplayName))
            .column((M::Table, M::Role))
            .column((M::Table, M::Status))
            .column((U::Table, U::TotpEnabledAt))
            .column((U::Table, U::LastLoginAt))
            .column((M::Table, M::CreatedAt))
            .from(M::Table)
            .inner_join(
                U::Table,
                Expr::col((U::Table, U::Id)).equals((M::Table, M::UserId)),
            )
            .and_where(Expr::col((M::Table, M::OrgId)).eq(scope.org_id().0))
            .order_by((M::Table, M::CreatedAt), Order::Asc)
            .to_owned();
        let rows: Vec<MemberRow> = self.db().fetch_all(&stmt).await?;
        Ok(rows
            .into_iter()
            .map(|r| Member {
                user_id: UserId(r.user_id),
                email: r.email,
                display_name: r.display_name,
                role: Role::parse(&r.role).unwrap_or(Role::Viewer),
                status: Status::parse(&r.status).unwrap_or(Status::Deactivated),
                mfa_enabled: r.totp_enabled_at.is_some(),
                last_login_at: r.last_login_at,
                joined_at: r.created_at,
            })
            .collect())
    }

    async fn member(&self, scope: &TenantScope, user: UserId) -> Result<Member> {
        self.list_members(scope)
            .await?
            .into_iter()
            .find(|m| m.user_id == user)
            .ok_or(IdentityError::NotFound("The member"))
    }

    async fn active_owner_count(&self, tx: &mut Tx<'_>, org: OrgId) -> Result<i64> {
        let stmt = Query::select()
            .expr_as(Expr::col(M::Id).count(), "n")
            .from(M::Table)
            .and_where(Expr::col(M::OrgId).eq(org.0))
            .and_where(Expr::col(M::Role).eq("owner"))
            .and_where(Expr::col(M::Status).eq("active"))
            .to_owned();
        let row: CountRow = tx.fetch_one(&stmt).await?;
        Ok(row.n)
    }

    fn check_owner_rules(
        principal: &Principal,
        target: &Member,
        new_role: Option<Role>,
    ) -> Result<()> {
        let caller_is_owner = principal.role == Some(Role::Owner);
        if (target.role == Role::Owner || new_role == Some(Role::Owner)) && !caller_is_owner {
            return Err(IdentityError::Forbidden(
                "Only an owner grants or changes the owner role.".into(),
            ));
        }
        Ok(())
    }

    /// Changes a member's role in the active organisation.
    pub async fn change_role(
        &self,
        meta: &RequestMeta,
        principal: &Principal,
        user: UserId,
        role: Role,
    ) -> Result<Member> {
        let org = principal.org_id();
        let target = self.member(&principal.scope, user).await?;
        Self::check_owner_rules(principal, &target, Some(role))?;
        if target.role == role {
            return Ok(target);
        }
        let mut tx = self.db().begin().await?;
        let stmt = Query::update()
            .table(M::Table)
            .values([
                (M::Role, role.as_str().into()),
                (M::UpdatedAt, self.now().into()),
            ])
            .and_where(Expr::col(M::OrgId).eq(org.0))
            .and_where(Expr::col(M::UserId).eq(user.0))
            .to_owned();
        tx.execute(&stmt).await?;
        if self.active_owner_count(&mut tx, org).await? == 0 {
            tx.rollback().await?;
            return Err(IdentityError::Conflict(
                "The organisation must keep at least one active owner.".into(),
            ));
        }
        self.0
            .audit
            .append(
                &mut tx,
                AuditEvent::new(Some(org), principal.actor(), "member.role_changed")
                    .target("user", user.0)
                    .details(json!({ "from": target.role.as_str(), "to": role.as_str() }))
                    .context(meta.ip, meta.user_agent.clone(), meta.request_id.clone()),
            )
            .await?;
        tx.commit().await?;
        self.member(&principal.scope, user).await
    }

    /// Deactivates (or reactivates) a membership; deactivation ends the member's sessions.
    pub async fn set_member_status(
        &self,
        meta: &RequestMeta,
        principal: &Principal,
        user: UserId,
        status: Status,
    ) -> Result<Member> {
        let org = principal.org_id();
        if principal.user_id() == Some(user) {
            return Err(IdentityError::Conflict(
                "You cannot deactivate yourself.".into(),
            ));
        }
        let target = self.member(&principal.scope, user).await?;
        Self::check_owner_rules(principal, &target, None)?;
        let mut tx = self.db().begin().await?;
        let stmt = Query::update()
            .table(M::Table)
            .values([
                (M::Status, status.as_str().into()),
                (M::UpdatedAt, self.now().into()),
            ])
            .and_where(Expr::col(M::OrgId).eq(org.0))
            .and_where(Expr::col(M::UserId).eq(user.0))
            .to_owned();
        tx.execute(&stmt).await?;
        if self.active_owner_count(&mut tx, org).await? == 0 {
            tx.rollback().await?;
            return Err(IdentityError::Conflict(
                "The organisation must keep at least one active owner.".into(),
            ));
        }
        if status == Status::Deactivated {
            self.revoke_user_sessions_in_org(&mut tx, user, org).await?;
        }
        let action = if status == Status::Deactivated {
            "member.deactivated"
        } else {
            "member.reactivated"
        };
        self.0
            .audit
            .append(
                &mut tx,
                AuditEvent::new(Some(org), principal.actor(), action)
                    .target("user", user.0)
                    .context(meta.ip, meta.user_agent.clone(), meta.request_id.clone()),
            )
            .await?;
        tx.commit().await?;
        self.member(&principal.scope, user).await
    }

    async fn revoke_user_sessions_in_org(
        &self,
        tx: &mut Tx<'_>,
        user: UserId,
        org: OrgId,
    ) -> Result<()> {
        use crate::rows::{AuthSessions as S, IdRow};
        let stmt = Query::select()
            .column(S::Id)
            .from(S::Table)
            .and_where(Expr::col(S::UserId).eq(user.0))
            .and_where(Expr::col(S::OrgId).eq(org.0))
            .and_where(Expr::col(S::RevokedAt).is_null())
            .to_owned();
        let ids: Vec<IdRow> = tx.fetch_all(&stmt).await?;
        let ids: Vec<Uuid> = ids.into_iter().map(|r| r.id).collect();
        self.revoke_sessions_tx(tx, &ids, "membership_ended")
            .await?;
        Ok(())
    }

    /// Removes a member from the active organisation.
    pub async fn remove_member(
        &self,
        meta: &RequestMeta,
        principal: &Principal,
        user: UserId,
    ) -> Result<()> {
        let org = principal.org_id();
        if principal.user_id() == Some(user) {
            return Err(IdentityError::Conflict(
                "You cannot remove yourself; ask another admin or owner.".into(),
            ));
        }
        let target = self.member(&principal.scope, user).await?;
        Self::check_owner_rules(principal, &target, None)?;
        let mut tx = self.db().begin().await?;
        let stmt = Query::delete()
            .from_table(M::Table)
            .and_where(Expr::col(M::OrgId).eq(org.0))
            .and_where(Expr::col(M::UserId).eq(user.0))
            .to_owned();
        tx.execute(&stmt).await?;
        if self.active_owner_count(&mut tx, org).await? == 0 {
            tx.rollback().await?;
            return Err(IdentityError::Conflict(
                "The organisation must keep at least one active owner.".into(),
            ));
        }
        self.revoke_user_sessions_in_org(&mut tx, user, org).await?;
        self.0
            .audit
            .append(
                &mut tx,
                AuditEvent::new(Some(org), principal.actor(), "member.removed")
                    .target("user", user.0)
                    .details(json!({ "role": target.role.as_str() }))
                    .context(meta.ip, meta.user_agent.clone(), meta.request_id.clone()),
            )
            .await?;
        tx.commit().await?;
        Ok(())
    }

    // ---- invitations -----------------------------------------------------

    fn check_grantable(principal: &Principal, role: Role) -> Result<()> {
        if role == Role::Owner && principal.role != Some(Role::Owner) {
            return Err(IdentityError::Forbidden(
                "Only an owner invites owners.".into(),
            ));
        }
        Ok(())
    }

    fn invitation_ttl(&self, days: Option<u32>) -> Result<Duration> {
        let d = match days {
            Some(0) => {
                return Err(IdentityError::invalid(
                    "expires_in_days",
                    "Must be between 1 and 90.",
                ));
            }
            Some(d) if d > 90 => {
                return Err(IdentityError::invalid(
                    "expires_in_days",
                    "Must be between 1 and 90.",
                ));
            }
            Some(d) => i64::from(d),
            None => i64::try_from(self.0.cfg.invitation_ttl_days).unwrap_or(7),
        };
        Ok(Duration::days(d))
    }

    #[allow(clippy::too_many_arguments)]
    async fn insert_invitation(
        &self,
        tx: &mut Tx<'_>,
        org: OrgId,
        kind: &str,
        email: Option<&str>,
        role: Role,
        token: &str,
        hint: &str,
        ttl: Duration,
        created_by: Option<UserId>,
    ) -> Result<Uuid> {
        let id = Uuid::now_v7();
        let now = self.now();
        let stmt = Query::insert()
            .into_table(I::Table)
            .columns([
                I::Id,
                I::OrgId,
                I::Kind,
                I::Email,
                I::Role,
                I::TokenHash,
                I::Hint,
                I::Status,
                I::ExpiresAt,
                I::CreatedBy,
                I::CreatedAt,
            ])
            .values_panic([
                id.into(),
                org.0.into(),
                kind.into(),
                email.map(str::to_owned).into(),
                role.as_str().into(),
                tokens::token_hash(token).into(),
                hint.into(),
                "unused".into(),
                (now + ttl).into(),
                created_by.map(|u| u.0).into(),
                now.into(),
            ])
            .to_owned();
        tx.execute(&stmt).await?;
        Ok(id)
    }

    async fn invitation(&self, scope: &TenantScope, id: Uuid) -> Result<Invitation> {
        let stmt = Query::select()
            .columns(invitation_columns())
            .from(I::Table)
            .and_where(Expr::col(I::Id).eq(id))
            .and_where(Expr::col(I::OrgId).eq(scope.org_id().0))
            .to_owned();
        let row: Option<InvitationRow> = self.db().fetch_optional(&stmt).await?;
        row.map(|r| invitation_of(r, self.now()))
            .ok_or(IdentityError::NotFound("The invitation"))
    }

    /// Invites a person by email: a single-use link is mailed to them.
    pub async fn invite_by_email(
        &self,
        meta: &RequestMeta,
        principal: &Principal,
        email: &str,
        role: Role,
        expires_in_days: Option<u32>,
    ) -> Result<Invitation> {
        let email = normalize_email("email", email)?;
        Self::check_grantable(principal, role)?;
        let ttl = self.invitation_ttl(expires_in_days)?;
        let org = principal.org_id();
        let org_row = self
            .org_row(org)
            .await?
            .ok_or(IdentityError::NotFound("The organisation"))?;
        let token = tokens::opaque_token();
        let mut tx = self.db().begin().await?;
        let id = self
            .insert_invitation(
                &mut tx,
                org,
                "email",
                Some(&email),
                role,
                &token,
                &kiki_shield::mask_email(&email),
                ttl,
                principal.user_id(),
            )
            .await?;
        self.0
            .audit
            .append(
                &mut tx,
                AuditEvent::new(Some(org), principal.actor(), "member.invited")
                    .target("invitation", id)
                    .details(json!({ "email": email, "role": role.as_str() }))
                    .context(meta.ip, meta.user_agent.clone(), meta.request_id.clone()),
            )
            .await?;
        tx.commit().await?;
        let link = format!("{}/register?invitation={token}", self.0.public_url);
        self.0
            .mail
            .send(MailMessage {
                to: email.clone(),
                subject: format!("You are invited to {} on KIKI", org_row.name),
                text: format!(
                    "You have been invited to join {} on KIKI as {}.\n\nAccept the invitation: {link}\n\nOr register with the API: POST /v1/auth/register with \"invitation\": \"{token}\".\nThe invitation expires in {} days and works once.\n",
                    org_row.name,
                    role.as_str(),
                    ttl.whole_days()
                ),
                html: None,
                org_id: Some(org),
                kind: "invitation".into(),
            })
            .await?;
        self.invitation(&principal.scope, id).await
    }

    /// Creates an invite code (shown once).
    pub async fn create_invite_code(
        &self,
        meta: &RequestMeta,
        principal: &Principal,
        role: Role,
        expires_in_days: Option<u32>,
    ) -> Result<CreatedInviteCode> {
        Self::check_grantable(principal, role)?;
        let ttl = self.invitation_ttl(expires_in_days)?;
        let org = principal.org_id();
        let code = tokens::invite_code();
        let hint = format!("{}…", &code[..9]);
        let mut tx = self.db().begin().await?;
        let id = self
            .insert_invitation(
                &mut tx,
                org,
                "code",
                None,
                role,
                &code,
                &hint,
                ttl,
                principal.user_id(),
            )
            .await?;
        self.0
            .audit
            .append(
                &mut tx,
                AuditEvent::new(Some(org), principal.actor(), "invite_code.created")
                    .target("invitation", id)
                    .details(json!({ "role": role.as_str(), "hint": hint }))
                    .context(meta.ip, meta.user_agent.clone(), meta.request_id.clone()),
            )
            .await?;
        tx.commit().await?;
        Ok(CreatedInviteCode {
            code,
            invitation: self.invitation(&principal.scope, id).await?,
        })
    }

    /// Invitations of the active organisation with their counts by state.
    pub async fn list_invitations(
        &self,
        scope: &TenantScope,
    ) -> Result<(Vec<Invitation>, InvitationCounts)> {
        let stmt = Query::select()
            .columns(invitation_columns())
            .from(I::Table)
            .and_where(Expr::col(I::OrgId).eq(scope.org_id().0))
            .order_by(I::Id, Order::Desc)
            .to_owned();
        let rows: Vec<InvitationRow> = self.db().fetch_all(&stmt).await?;
        let now = self.now();
        let list: Vec<Invitation> = rows.into_iter().map(|r| invitation_of(r, now)).collect();
        let mut counts = InvitationCounts::default();
        for i in &list {
            match i.state {
                InvitationState::Unused => counts.unused += 1,
                InvitationState::Used => counts.used += 1,
                InvitationState::Revoked => counts.revoked += 1,
                InvitationState::Expired => counts.expired += 1,
            }
        }
        Ok((list, counts))
    }

    pub async fn revoke_invitation(
        &self,
        meta: &RequestMeta,
        principal: &Principal,
        id: Uuid,
    ) -> Result<Invitation> {
        let org = principal.org_id();
        let current = self.invitation(&principal.scope, id).await?;
        if current.state != InvitationState::Unused {
            return Err(IdentityError::Conflict(format!(
                "The invitation is {} and cannot be revoked.",
                serde_json::to_value(current.state)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            )));
        }
        let now = self.now();
        let mut tx = self.db().begin().await?;
        let stmt = Query::update()
            .table(I::Table)
            .values([(I::Status, "revoked".into()), (I::RevokedAt, now.into())])
            .and_where(Expr::col(I::Id).eq(id))
            .and_where(Expr::col(I::OrgId).eq(org.0))
            .and_where(Expr::col(I::Status).eq("unused"))
            .to_owned();
        tx.execute(&stmt).await?;
        self.0
            .audit
            .append(
                &mut tx,
                AuditEvent::new(Some(org), principal.actor(), "invitation.revoked")
                    .target("invitation", id)
                    .context(meta.ip, meta.user_agent.clone(), meta.request_id.clone()),
            )
            .await?;
        tx.commit().await?;
        self.invitation(&principal.scope, id).await
    }

    /// Finds a usable invitation by its token or code (for registration/acceptance).
    pub(crate) async fn usable_invitation(&self, token: &str) -> Result<InvitationRow> {
        let stmt = Query::select()
            .columns(invitation_columns())
            .from(I::Table)
            .and_where(Expr::col(I::TokenHash).eq(tokens::token_hash(token.trim())))
            .to_owned();
        let row: Option<InvitationRow> = self.db().fetch_optional(&stmt).await?;
        match row {
            Some(r) if r.status == "unused" && r.expires_at > self.now() => Ok(r),
            _ => Err(IdentityError::invalid(
                "invitation",
                "The invitation or invite code is not valid: it may have expired, been used or been revoked.",
            )),
        }
    }

    /// Marks an invitation used inside a transaction; false if someone used it first.
    pub(crate) async fn consume_invitation(
        &self,
        tx: &mut Tx<'_>,
        id: Uuid,
        user: UserId,
    ) -> Result<bool> {
        let now = self.now();
        let stmt = Query::update()
            .table(I::Table)
            .values([
                (I::Status, "used".into()),
                (I::UsedBy, user.0.into()),
                (I::UsedAt, now.into()),
            ])
            .and_where(Expr::col(I::Id).eq(id))
            .and_where(Expr::col(I::Status).eq("unused"))
            .and_where(Expr::col(I::ExpiresAt).gt(now))
            .to_owned();
        Ok(tx.execute(&stmt).await? == 1)
    }

    /// A signed-in user accepts an invitation to another organisation.
    pub async fn accept_invitation(
        &self,
        meta: &RequestMeta,
        principal: &Principal,
        token: &str,
    ) -> Result<Organisation> {
        let user = principal.user_id().ok_or_else(|| {
            IdentityError::Forbidden("API keys cannot accept invitations.".into())
        })?;
        let inv = self.usable_invitation(token).await?;
        let user_row = self
            .user_row(user)
            .await?
            .ok_or(IdentityError::NotFound("The user"))?;
        if inv.kind == "email" && inv.email.as_deref() != Some(user_row.email.as_str()) {
            return Err(IdentityError::invalid(
                "invitation",
                "This invitation was sent to another email address.",
            ));
        }
        let org = OrgId(inv.org_id);
        if self
            .memberships_of(user)
            .await?
            .iter()
            .any(|m| m.org_id == org.0)
        {
            return Err(IdentityError::Conflict(
                "You are already a member of this organisation.".into(),
            ));
        }
        let role = Role::parse(&inv.role).unwrap_or(Role::Viewer);
        let mut tx = self.db().begin().await?;
        if !self.consume_invitation(&mut tx, inv.id, user).await? {
            tx.rollback().await?;
            return Err(IdentityError::invalid(
                "invitation",
                "The invitation was used a moment ago.",
            ));
        }
        self.insert_membership(&mut tx, org, user, role).await?;
        self.0
            .audit
            .append(
                &mut tx,
                AuditEvent::new(Some(org), principal.actor(), "member.joined")
                    .target("user", user.0)
                    .details(json!({ "role": role.as_str(), "invitation_id": inv.id }))
                    .context(meta.ip, meta.user_agent.clone(), meta.request_id.clone()),
            )
            .await?;
        tx.commit().await?;
        self.org_row(org)
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
