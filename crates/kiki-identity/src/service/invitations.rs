//! Invitations by email (a link with a single-use token, sent through the
//! mail port) and invite codes (`KIKI-` + 16 characters) with expiry, single
//! use, revocation and counts; acceptance by existing accounts. Only token
//! hashes are stored.

use kiki_core::{OrgId, TenantScope, UserId};
use kiki_credentials::tokens;
use kiki_notify::MailMessage;
use kiki_shield::AuditEvent;
use kiki_store::Tx;
use sea_query::{Expr, ExprTrait, Order, Query};
use serde_json::json;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::domain::model::Role;
use crate::domain::types::StampRequest as _;
use crate::domain::types::{
    CreatedInviteCode, Invitation, InvitationCounts, InvitationState, Organisation, Principal,
    RequestMeta,
};
use crate::service::orgs::{normalize_email, org_of};
use crate::store::{InvitationRow, Invitations as I};
use crate::{Identity, IdentityError, Result};

pub(crate) fn invitation_of(r: InvitationRow, now: OffsetDateTime) -> Invitation {
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

pub(crate) fn invitation_columns() -> [I; 12] {
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

impl Identity {
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
        let mut tx = self.0.record.begin().await?;
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
        tx.audit(
            AuditEvent::new(Some(org), principal.actor(), "member.invited")
                .target("invitation", id)
                .details(json!({ "email": email, "role": role.as_str() }))
                .stamp(meta),
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
                secrets: vec![token],
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
        let mut tx = self.0.record.begin().await?;
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
        tx.audit(
            AuditEvent::new(Some(org), principal.actor(), "invite_code.created")
                .target("invitation", id)
                .details(json!({ "role": role.as_str(), "hint": hint }))
                .stamp(meta),
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
        let mut tx = self.0.record.begin().await?;
        let stmt = Query::update()
            .table(I::Table)
            .values([(I::Status, "revoked".into()), (I::RevokedAt, now.into())])
            .and_where(Expr::col(I::Id).eq(id))
            .and_where(Expr::col(I::OrgId).eq(org.0))
            .and_where(Expr::col(I::Status).eq("unused"))
            .to_owned();
        tx.execute(&stmt).await?;
        tx.audit(
            AuditEvent::new(Some(org), principal.actor(), "invitation.revoked")
                .target("invitation", id)
                .stamp(meta),
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
        let mut tx = self.0.record.begin().await?;
        if !self.consume_invitation(&mut tx, inv.id, user).await? {
            tx.rollback().await?;
            return Err(IdentityError::invalid(
                "invitation",
                "The invitation was used a moment ago.",
            ));
        }
        self.insert_membership(&mut tx, org, user, role).await?;
        tx.audit(
            AuditEvent::new(Some(org), principal.actor(), "member.joined")
                .target("user", user.0)
                .details(json!({ "role": role.as_str(), "invitation_id": inv.id }))
                .stamp(meta),
        )
        .await?;
        tx.commit().await?;
        self.org_row(org)
            .await?
            .map(org_of)
            .ok_or(IdentityError::NotFound("The organisation"))
    }
}
