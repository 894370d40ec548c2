//! Members of an organisation: list, change role, deactivate or reactivate,
//! remove. Nobody may remove or deactivate themselves or leave an
//! organisation without an active owner; only owners grant or take away the
//! owner role. Ending a membership ends the member's sessions there.

use kiki_core::{OrgId, TenantScope, UserId};
use kiki_shield::AuditEvent;
use kiki_store::Tx;
use sea_query::{Expr, ExprTrait, Order, Query};
use serde_json::json;
use uuid::Uuid;

use crate::domain::model::{Role, Status};
use crate::domain::types::StampRequest as _;
use crate::domain::types::{Member, Principal, RequestMeta};
use crate::store::{CountRow, MemberRow, Memberships as M, Users as U};
use crate::{Identity, IdentityError, Result};

impl Identity {
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
        let mut tx = self.0.record.begin().await?;
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
        tx.audit(
            AuditEvent::new(Some(org), principal.actor(), "member.role_changed")
                .target("user", user.0)
                .details(json!({ "from": target.role.as_str(), "to": role.as_str() }))
                .stamp(meta),
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
        let mut tx = self.0.record.begin().await?;
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
        tx.audit(
            AuditEvent::new(Some(org), principal.actor(), action)
                .target("user", user.0)
                .stamp(meta),
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
        use crate::store::{AuthSessions as S, IdRow};
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
        let mut tx = self.0.record.begin().await?;
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
        tx.audit(
            AuditEvent::new(Some(org), principal.actor(), "member.removed")
                .target("user", user.0)
                .details(json!({ "role": target.role.as_str() }))
                .stamp(meta),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// What one person may read and do in one organisation, for work done on
/// their behalf without a request of theirs (a scheduled report sent to
/// them): their active membership there — direct or through the agency that
/// owns it —, the organisations it reaches and their role's permissions.
#[derive(Debug, Clone)]
pub struct MemberAccess {
    pub user_id: UserId,
    pub email: String,
    pub display_name: String,
    pub scope: TenantScope,
    pub role: Role,
    pub permissions: Vec<crate::Permission>,
}

impl MemberAccess {
    pub fn has(&self, p: crate::Permission) -> bool {
        self.permissions.contains(&p)
    }
}

impl Identity {
    /// The access of the active account with this email (case-insensitive)
    /// in `org`; `None` when there is no such account, it is not active, or
    /// it has no active membership reaching `org`.
    pub async fn member_access_by_email(
        &self,
        email: &str,
        org: OrgId,
    ) -> Result<Option<MemberAccess>> {
        let email = email.trim().to_lowercase();
        let stmt = Query::select()
            .column(U::Id)
            .from(U::Table)
            .and_where(Expr::col(U::Email).eq(email))
            .limit(1)
            .to_owned();
        let row: Option<crate::store::IdRow> = self.db().fetch_optional(&stmt).await?;
        match row {
            Some(r) => self.member_access(UserId(r.id), org).await,
            None => Ok(None),
        }
    }

    /// The access of an active account in `org` (see [`MemberAccess`]);
    /// `None` when the account is not active or reaches no `org`.
    pub async fn member_access(&self, user: UserId, org: OrgId) -> Result<Option<MemberAccess>> {
        let Some(row) = self.user_row(user).await?.filter(|u| u.status == "active") else {
            return Ok(None);
        };
        let resolved = match self.resolve(user, org).await {
            Ok(r) => r,
            Err(IdentityError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        Ok(Some(MemberAccess {
            user_id: user,
            email: row.email,
            display_name: row.display_name,
            scope: resolved.scope,
            role: resolved.role,
            permissions: crate::domain::model::permissions_of(resolved.role).to_vec(),
        }))
    }
}
