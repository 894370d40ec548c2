//! Accounts and passwords: registration (with an invitation or invite code,
//! or into an organisation that allows open sign-up), password changes, and
//! resets through a single-use, expiring token sent by the mail port.
//!
//! Passwords follow one policy (at least 12 characters, not one of the
//! 10,000 most common, not the email address) and are stored as argon2id
//! hashes. A reset request answers the same whether or not the address has
//! an account. Changing or resetting a password ends the other sessions.

use kiki_core::{OrgId, UserId};
use kiki_credentials::password::check_policy;
use kiki_credentials::tokens;
use kiki_notify::MailMessage;
use kiki_shield::{Actor, AuditEvent};
use kiki_store::{StoreError, Tx};
use sea_query::{Expr, ExprTrait, Query};
use serde_json::json;
use time::Duration;
use uuid::Uuid;

use crate::domain::model::{OrgKind, Role};
use crate::domain::types::StampRequest as _;
use crate::domain::types::{Principal, RequestMeta, User};
use crate::service::orgs::{normalize_email, validate_name};
use crate::store::{PasswordResets as PR, Users as U};
use crate::{Identity, IdentityError, Result};

/// A registration.
#[derive(Debug, Clone, Default)]
pub struct Registration {
    pub email: String,
    pub password: String,
    pub display_name: String,
    pub username: Option<String>,
    /// An email invitation token or an invite code (`KIKI-…`).
    pub invitation: Option<String>,
    /// Join this organisation (it must allow open sign-up) as a viewer.
    pub org_id: Option<OrgId>,
    /// With `auth.open_registration`: create a standalone organisation of this name and own it.
    pub org_name: Option<String>,
}

#[derive(sqlx::FromRow)]
struct ResetRow {
    id: Uuid,
    user_id: Uuid,
    expires_at: time::OffsetDateTime,
    used_at: Option<time::OffsetDateTime>,
}

fn policy_error(field: &str, e: kiki_credentials::password::PolicyViolation) -> IdentityError {
    IdentityError::invalid(field, format!("The password {e}."))
}

fn validate_username(u: &str) -> Result<String> {
    let u = u.trim().to_lowercase();
    let ok = (3..=64).contains(&u.len())
        && u.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        && !u.contains('@');
    if ok {
        Ok(u)
    } else {
        Err(IdentityError::invalid(
            "username",
            "3 to 64 characters: letters, digits, dot, dash or underscore.",
        ))
    }
}

impl Identity {
    /// Inserts a user row (the email must be normalised, the password
    /// already checked and hashed with [`crate::service::hashing::HashPool::hash`],
    /// outside the transaction).
    pub(crate) async fn insert_user(
        &self,
        tx: &mut Tx<'_>,
        email: &str,
        username: Option<&str>,
        display_name: &str,
        password_hash: String,
        superadmin: bool,
    ) -> Result<UserId> {
        let id = UserId::new();
        let hash = password_hash;
        let now = self.now();
        let stmt = Query::insert()
            .into_table(U::Table)
            .columns([
                U::Id,
                U::Email,
                U::Username,
                U::DisplayName,
                U::PasswordHash,
                U::IsSuperadmin,
                U::Status,
                U::PasswordChangedAt,
                U::CreatedAt,
                U::UpdatedAt,
            ])
            .values_panic([
                id.0.into(),
                email.into(),
                username.map(str::to_owned).into(),
                display_name.into(),
                hash.into(),
                superadmin.into(),
                "active".into(),
                now.into(),
                now.into(),
                now.into(),
            ])
            .to_owned();
        // Both `email` and `username` are unique: the conflict names which
        // one is taken, never the index.
        match tx.execute(&stmt).await {
            Ok(_) => Ok(id),
            Err(e) if e.is_unique_violation_on("username") => Err(IdentityError::Conflict(
                "An account with this username already exists; choose another username.".into(),
            )),
            Err(StoreError::UniqueViolation { .. }) => Err(IdentityError::Conflict(
                "An account with this email address already exists; sign in and accept the invitation with POST /v1/invitations/accept.".into(),
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Creates an account. Requires a valid invitation, an organisation with open
    /// sign-up, or (with `auth.open_registration`) an organisation name.
    pub async fn register(&self, meta: &RequestMeta, reg: Registration) -> Result<(User, OrgId)> {
        let mut errors = Vec::new();
        let email = normalize_email("email", &reg.email)
            .map_err(|e| errors.extend(e.fields().unwrap_or_default().to_vec()))
            .ok();
        let display = validate_name("display_name", &reg.display_name)
            .map_err(|e| errors.extend(e.fields().unwrap_or_default().to_vec()))
            .ok();
        let username = match reg.username.as_deref().filter(|u| !u.trim().is_empty()) {
            Some(u) => validate_username(u)
                .map_err(|e| errors.extend(e.fields().unwrap_or_default().to_vec()))
                .ok(),
            None => None,
        };
        if let Some(e) = &email
            && let Err(v) = check_policy(&reg.password, e)
        {
            errors.extend(
                policy_error("password", v)
                    .fields()
                    .unwrap_or_default()
                    .to_vec(),
            );
        }
        if reg.invitation.is_none() && reg.org_id.is_none() && reg.org_name.is_none() {
            errors.push(kiki_core::FieldError::new(
                "invitation",
                "Registration needs an invitation or invite code (or `org_id` of an organisation with open sign-up).",
            ));
        }
        if !errors.is_empty() {
            return Err(IdentityError::Invalid(errors));
        }
        let (email, display) = (email.unwrap_or_default(), display.unwrap_or_default());

        // Where the new account goes, and with which role.
        enum Target {
            Invitation(Box<crate::store::InvitationRow>),
            Open(OrgId),
            NewOrg(String),
        }
        let target = if let Some(t) = reg.invitation.as_deref() {
            let inv = self.usable_invitation(t).await?;
            if inv.kind == "email" && inv.email.as_deref() != Some(email.as_str()) {
                return Err(IdentityError::invalid(
                    "email",
                    "This invitation was sent to another email address.",
                ));
            }
            Target::Invitation(Box::new(inv))
        } else if let Some(org) = reg.org_id {
            let row = self.org_row(org).await?;
            match row {
                Some(o) if o.open_signup && o.archived_at.is_none() => Target::Open(org),
                // Same answer for a missing organisation and a closed one.
                _ => {
                    return Err(IdentityError::invalid(
                        "org_id",
                        "This organisation does not accept registrations without an invitation.",
                    ));
                }
            }
        } else if self.0.cfg.open_registration {
            let name = validate_name("org_name", reg.org_name.as_deref().unwrap_or_default())?;
            Target::NewOrg(name)
        } else {
            return Err(IdentityError::invalid(
                "invitation",
                "Registration is by invitation only on this server.",
            ));
        };

        if let Some(ip) = meta.ip {
            self.throttle_check(&[crate::service::throttle::address_key(ip)])
                .await?;
        }
        let password_hash = self.0.hashes.hash(&reg.password).await?;
        let mut tx = self.0.record.begin().await?;
        let user = match self
            .insert_user(
                &mut tx,
                &email,
                username.as_deref(),
                &display,
                password_hash,
                false,
            )
            .await
        {
            Ok(u) => u,
            Err(e @ IdentityError::Conflict(_)) => {
                tx.rollback().await?;
                // Probing which addresses have accounts costs the prober: each
                // conflict counts against the client address like a failed sign-in.
                if let Some(ip) = meta.ip {
                    self.throttle_fail(
                        &crate::service::throttle::address_key(ip),
                        crate::service::throttle::ThrottleKind::Address,
                    )
                    .await?;
                }
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        let (org, role, via) = match target {
            Target::Invitation(inv) => {
                if !self.consume_invitation(&mut tx, inv.id, user).await? {
                    tx.rollback().await?;
                    return Err(IdentityError::invalid(
                        "invitation",
                        "The invitation was used a moment ago.",
                    ));
                }
                (
                    OrgId(inv.org_id),
                    Role::parse(&inv.role).unwrap_or(Role::Viewer),
                    json!({ "invitation_id": inv.id, "kind": inv.kind }),
                )
            }
            Target::Open(org) => (org, Role::Viewer, json!({ "open_signup": true })),
            Target::NewOrg(name) => {
                let org = OrgId::new();
                self.insert_org(&mut tx, org, None, OrgKind::Client, &name)
                    .await?;
                (org, Role::Owner, json!({ "created_org": name }))
            }
        };
        self.insert_membership(&mut tx, org, user, role).await?;
        tx.audit(
            AuditEvent::new(Some(org), Actor::User(user), "user.registered")
                .target("user", user.0)
                .details(json!({ "email": email, "role": role.as_str(), "via": via }))
                .stamp(meta),
        )
        .await?;
        tx.commit().await?;
        let row = self
            .user_row(user)
            .await?
            .ok_or(IdentityError::NotFound("The user"))?;
        Ok((Identity::user_of(row), org))
    }

    /// Stores a new password hash (made outside the transaction).
    async fn set_password_tx(&self, tx: &mut Tx<'_>, user: UserId, hash: String) -> Result<()> {
        let now = self.now();
        let stmt = Query::update()
            .table(U::Table)
            .values([
                (U::PasswordHash, hash.into()),
                (U::PasswordChangedAt, now.into()),
                (U::UpdatedAt, now.into()),
            ])
            .and_where(Expr::col(U::Id).eq(user.0))
            .to_owned();
        tx.execute(&stmt).await?;
        Ok(())
    }

    /// Changes the caller's password; other sessions end.
    pub async fn change_password(
        &self,
        meta: &RequestMeta,
        principal: &Principal,
        current: &str,
        new: &str,
    ) -> Result<()> {
        let user = principal
            .user_id()
            .ok_or_else(|| IdentityError::Forbidden("API keys have no password.".into()))?;
        let row = self
            .user_row(user)
            .await?
            .ok_or(IdentityError::NotFound("The user"))?;
        if !self.0.hashes.verify(current, &row.password_hash).await? {
            return Err(IdentityError::invalid(
                "current_password",
                "The current password is not correct.",
            ));
        }
        check_policy(new, &row.email).map_err(|v| policy_error("new_password", v))?;
        if new == current {
            return Err(IdentityError::invalid(
                "new_password",
                "The new password must differ from the current one.",
            ));
        }
        let keep = match principal.caller {
            crate::Caller::User { session_id, .. } => Some(session_id),
            crate::Caller::ApiKey { .. } => None,
        };
        let hash = self.0.hashes.hash(new).await?;
        let mut tx = self.0.record.begin().await?;
        self.set_password_tx(&mut tx, user, hash).await?;
        let ended = self
            .revoke_user_sessions_tx(&mut tx, user, keep, "password_changed")
            .await?;
        tx.audit(
            AuditEvent::new(
                Some(principal.org_id()),
                Actor::User(user),
                "auth.password_changed",
            )
            .target("user", user.0)
            .details(json!({ "other_sessions_ended": ended }))
            .stamp(meta),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sends a reset link if the address has an account; answers the same either way.
    pub async fn request_password_reset(&self, meta: &RequestMeta, email: &str) -> Result<()> {
        let Ok(email) = normalize_email("email", email) else {
            return Err(IdentityError::invalid(
                "email",
                "This is not an email address.",
            ));
        };
        let Some(user) = self
            .user_by_identifier(&email)
            .await?
            .filter(|u| u.status == "active" && u.email == email)
        else {
            self.0
                .audit
                .append_now(
                    AuditEvent::new(None, Actor::Anonymous, "auth.password_reset_requested")
                        .details(json!({ "email": email, "account": false }))
                        .stamp(meta),
                )
                .await?;
            return Ok(());
        };
        let token = tokens::opaque_token();
        let now = self.now();
        let ttl =
            Duration::minutes(i64::try_from(self.0.cfg.password_reset_ttl_mins).unwrap_or(30));
        let org = self
            .memberships_of(UserId(user.id))
            .await?
            .first()
            .map(|m| OrgId(m.org_id));
        let mut tx = self.0.record.begin().await?;
        let stmt = Query::insert()
            .into_table(PR::Table)
            .columns([
                PR::Id,
                PR::UserId,
                PR::TokenHash,
                PR::ExpiresAt,
                PR::CreatedAt,
            ])
            .values_panic([
                Uuid::now_v7().into(),
                user.id.into(),
                tokens::token_hash(&token).into(),
                (now + ttl).into(),
                now.into(),
            ])
            .to_owned();
        tx.execute(&stmt).await?;
        tx.audit(
            AuditEvent::new(org, Actor::Anonymous, "auth.password_reset_requested")
                .target("user", user.id)
                .details(json!({ "email": email, "account": true }))
                .stamp(meta),
        )
        .await?;
        tx.commit().await?;
        let link = format!("{}/reset-password?token={token}", self.0.public_url);
        self.0
            .mail
            .send(MailMessage {
                to: email,
                subject: "Reset your KIKI password".into(),
                text: format!(
                    "Someone (hopefully you) asked to reset the password of this KIKI account.\n\nReset it here: {link}\n\nOr with the API: POST /v1/auth/password-reset/confirm with \"token\": \"{token}\".\nThe link works once and expires in {} minutes. If you did not ask, ignore this message.\n",
                    ttl.whole_minutes()
                ),
                html: None,
                org_id: org,
                kind: "password_reset".into(),
                secrets: vec![token],
            })
            .await?;
        Ok(())
    }

    /// Sets a new password with a reset token; every session of the account ends.
    pub async fn confirm_password_reset(
        &self,
        meta: &RequestMeta,
        token: &str,
        new_password: &str,
    ) -> Result<()> {
        let stmt = Query::select()
            .columns([PR::Id, PR::UserId, PR::ExpiresAt, PR::UsedAt])
            .from(PR::Table)
            .and_where(Expr::col(PR::TokenHash).eq(tokens::token_hash(token.trim())))
            .to_owned();
        let row: Option<ResetRow> = self.db().fetch_optional(&stmt).await?;
        let now = self.now();
        let row = row
            .filter(|r| r.used_at.is_none() && r.expires_at > now)
            .ok_or_else(|| {
                IdentityError::invalid(
                    "token",
                    "The reset link is not valid: it may have expired or been used.",
                )
            })?;
        let user = self
            .user_row(UserId(row.user_id))
            .await?
            .ok_or(IdentityError::NotFound("The user"))?;
        check_policy(new_password, &user.email).map_err(|v| policy_error("new_password", v))?;
        let org = self
            .memberships_of(UserId(user.id))
            .await?
            .first()
            .map(|m| OrgId(m.org_id));
        let hash = self.0.hashes.hash(new_password).await?;
        let mut tx = self.0.record.begin().await?;
        let used = Query::update()
            .table(PR::Table)
            .values([(PR::UsedAt, now.into())])
            .and_where(Expr::col(PR::Id).eq(row.id))
            .and_where(Expr::col(PR::UsedAt).is_null())
            .to_owned();
        if tx.execute(&used).await? != 1 {
            tx.rollback().await?;
            return Err(IdentityError::invalid(
                "token",
                "The reset link is not valid: it may have expired or been used.",
            ));
        }
        self.set_password_tx(&mut tx, UserId(user.id), hash).await?;
        let ended = self
            .revoke_user_sessions_tx(&mut tx, UserId(user.id), None, "password_reset")
            .await?;
        tx.audit(
            AuditEvent::new(org, Actor::User(UserId(user.id)), "auth.password_reset")
                .target("user", user.id)
                .details(json!({ "sessions_ended": ended }))
                .stamp(meta),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
