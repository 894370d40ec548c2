//! Sign-in: the password check with throttling, the second factor and the
//! organisation the session is for, plus the lookups the rest of the crate
//! shares (users, organisations, memberships, scope resolution). An
//! organisation the caller cannot reach is "not found", never "forbidden",
//! so ids of other tenants leak nothing. Unknown accounts cost the same
//! argon2 work as wrong passwords and get the same answer. Sessions, tokens
//! and request authentication are in [`crate::service::sessions`].

use kiki_core::{OrgId, TenantScope, UserId};
use kiki_explain::NewDecision;
use kiki_shield::{Actor, AuditEvent};
use sea_query::{Expr, ExprTrait, Order, Query};
use serde_json::json;

use crate::domain::model::{OrgKind, Permission, Role};
use crate::domain::types::RequestMeta;
use crate::domain::types::StampRequest as _;
use crate::service::throttle::{FailureOutcome, ThrottleKind, address_key, user_key};
use crate::store::{
    IdRow, MembershipOrgRow, Memberships as M, OrgRow, Organisations as O, UserRow, Users as U,
};
use crate::{Identity, IdentityError, Result};

pub(crate) const BAD_CREDENTIALS: &str = "The credentials are not valid.";
pub(crate) const BAD_TOKEN: &str = "The access token is missing, expired or not valid.";

/// A sign-in attempt.
#[derive(Debug, Clone)]
pub struct LoginRequest {
    /// Email address or username.
    pub identifier: String,
    pub password: String,
    /// A TOTP code or a recovery code, when the account has MFA.
    pub otp: Option<String>,
    /// Organisation to sign in to (default: the user's first).
    pub org: Option<OrgId>,
}

/// The user, organisation and role a successful sign-in produced.
#[derive(Debug, Clone)]
pub(crate) struct SignedIn {
    pub user: UserRow,
    pub org: OrgId,
    pub role: Role,
    pub amr: Vec<String>,
}

/// The scope of a user in one organisation.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub scope: TenantScope,
    pub role: Role,
    pub require_mfa: bool,
}

pub(crate) fn user_columns() -> [U; 12] {
    [
        U::Id,
        U::Email,
        U::Username,
        U::DisplayName,
        U::PasswordHash,
        U::IsSuperadmin,
        U::Status,
        U::TotpSecret,
        U::TotpEnabledAt,
        U::TotpLastStep,
        U::LastLoginAt,
        U::CreatedAt,
    ]
}

pub(crate) fn org_columns() -> [O; 12] {
    [
        O::Id,
        O::ParentId,
        O::Kind,
        O::Name,
        O::OpenSignup,
        O::RequireMfa,
        O::ContributionMarginBps,
        O::ProfitBasis,
        O::ReportingCurrency,
        O::TimeZone,
        O::ArchivedAt,
        O::CreatedAt,
    ]
}

pub(crate) fn amr_string(amr: &[String]) -> String {
    amr.join(" ")
}

impl Identity {
    // ---- lookups ---------------------------------------------------------

    pub(crate) async fn user_by_identifier(&self, identifier: &str) -> Result<Option<UserRow>> {
        let ident = identifier.trim().to_lowercase();
        let stmt = Query::select()
            .columns(user_columns())
            .from(U::Table)
            .and_where(
                Expr::col(U::Email)
                    .eq(ident.clone())
                    .or(Expr::col(U::Username).eq(ident)),
            )
            .limit(1)
            .to_owned();
        Ok(self.db().fetch_optional(&stmt).await?)
    }

    pub(crate) async fn user_row(&self, id: UserId) -> Result<Option<UserRow>> {
        let stmt = Query::select()
            .columns(user_columns())
            .from(U::Table)
            .and_where(Expr::col(U::Id).eq(id.0))
            .to_owned();
        Ok(self.db().fetch_optional(&stmt).await?)
    }

    pub(crate) async fn org_row(&self, id: OrgId) -> Result<Option<OrgRow>> {
        let stmt = Query::select()
            .columns(org_columns())
            .from(O::Table)
            .and_where(Expr::col(O::Id).eq(id.0))
            .to_owned();
        Ok(self.db().fetch_optional(&stmt).await?)
    }

    /// Active memberships of a user in organisations that are not archived, oldest first.
    pub(crate) async fn memberships_of(&self, user: UserId) -> Result<Vec<MembershipOrgRow>> {
        let stmt = Query::select()
            .expr_as(Expr::col((M::Table, M::OrgId)), "org_id")
            .column((M::Table, M::Role))
            .column((O::Table, O::RequireMfa))
            .from(M::Table)
            .inner_join(
                O::Table,
                Expr::col((O::Table, O::Id)).equals((M::Table, M::OrgId)),
            )
            .and_where(Expr::col((M::Table, M::UserId)).eq(user.0))
            .and_where(Expr::col((M::Table, M::Status)).eq("active"))
            .and_where(Expr::col((O::Table, O::ArchivedAt)).is_null())
            .order_by((M::Table, M::CreatedAt), Order::Asc)
            .to_owned();
        Ok(self.db().fetch_all(&stmt).await?)
    }

    /// Client organisations under an agency (not archived).
    pub(crate) async fn children_of(&self, agency: OrgId) -> Result<Vec<OrgId>> {
        let stmt = Query::select()
            .column(O::Id)
            .from(O::Table)
            .and_where(Expr::col(O::ParentId).eq(agency.0))
            .and_where(Expr::col(O::ArchivedAt).is_null())
            .order_by(O::Id, Order::Asc)
            .to_owned();
        let rows: Vec<IdRow> = self.db().fetch_all(&stmt).await?;
        Ok(rows.into_iter().map(|r| OrgId(r.id)).collect())
    }

    /// The scope and role of `user` acting in `org`: a direct membership, or a
    /// membership of the agency that owns `org`. Anything else is "not found".
    pub(crate) async fn resolve(&self, user: UserId, org: OrgId) -> Result<Resolved> {
        let memberships = self.memberships_of(user).await?;
        let org_row = self
            .org_row(org)
            .await?
            .filter(|o| o.archived_at.is_none())
            .ok_or(IdentityError::NotFound("The organisation"))?;
        let direct = memberships.iter().find(|m| m.org_id == org.0);
        let via_agency = org_row
            .parent_id
            .and_then(|p| memberships.iter().find(|m| m.org_id == p));
        let role = match (direct, via_agency) {
            (Some(d), Some(a)) => parse_role(&d.role)?.max(parse_role(&a.role)?),
            (Some(d), None) => parse_role(&d.role)?,
            (None, Some(a)) => parse_role(&a.role)?,
            (None, None) => return Err(IdentityError::NotFound("The organisation")),
        };
        let require_mfa = org_row.require_mfa || via_agency.is_some_and(|a| a.require_mfa);
        let reachable = if OrgKind::parse(&org_row.kind) == Some(OrgKind::Agency) {
            let mut v = vec![org];
            v.extend(self.children_of(org).await?);
            v
        } else {
            vec![org]
        };
        Ok(Resolved {
            scope: TenantScope::new(org, reachable),
            role,
            require_mfa,
        })
    }

    // ---- sign-in ---------------------------------------------------------

    /// Checks identifier, password and second factor, with throttling and auditing.
    pub(crate) async fn sign_in(&self, meta: &RequestMeta, req: &LoginRequest) -> Result<SignedIn> {
        if req.identifier.trim().is_empty() {
            return Err(IdentityError::invalid(
                "username",
                "The username or email is required.",
            ));
        }
        if req.password.is_empty() {
            return Err(IdentityError::invalid(
                "password",
                "The password is required.",
            ));
        }
        let acct = self.identifier_key_of(&req.identifier);
        let mut keys = vec![acct.clone()];
        if let Some(ip) = meta.ip {
            keys.push(address_key(ip));
        }
        self.throttle_check(&keys).await?;

        let user = self.user_by_identifier(&req.identifier).await?;
        let Some(user) = user else {
            self.0.hashes.verify_dummy(&req.password).await?;
            self.fail_sign_in(meta, None, &req.identifier, &acct, "unknown_account")
                .await?;
            return Err(IdentityError::Unauthenticated(BAD_CREDENTIALS));
        };
        // The account's own counter: a lock reached through one identifier
        // (the email) holds for every other (the username).
        self.throttle_check(&[user_key(user.id)]).await?;
        let password_ok = self
            .0
            .hashes
            .verify(&req.password, &user.password_hash)
            .await?;
        let user_id = UserId(user.id);
        if !password_ok || user.status != "active" {
            let reason = if password_ok {
                "deactivated"
            } else {
                "wrong_password"
            };
            self.fail_sign_in(meta, Some(&user), &req.identifier, &acct, reason)
                .await?;
            return Err(IdentityError::Unauthenticated(BAD_CREDENTIALS));
        }
        let mut amr = vec!["pwd".to_owned()];
        if user.totp_enabled_at.is_some() {
            let Some(otp) = req.otp.as_deref().filter(|o| !o.trim().is_empty()) else {
                return Err(IdentityError::MfaRequired);
            };
            if !self.check_second_factor(&user, otp).await? {
                self.fail_sign_in(
                    meta,
                    Some(&user),
                    &req.identifier,
                    &acct,
                    "wrong_second_factor",
                )
                .await?;
                return Err(IdentityError::Unauthenticated(
                    "The second factor is not valid.",
                ));
            }
            amr.push("mfa".to_owned());
        }
        let memberships = self.memberships_of(user_id).await?;
        let org = match req.org {
            Some(o) => o,
            // An account without an active membership answers like a wrong password,
            // so the response never confirms that the password was right.
            None => memberships
                .first()
                .map(|m| OrgId(m.org_id))
                .ok_or(IdentityError::Unauthenticated(BAD_CREDENTIALS))?,
        };
        let resolved = self.resolve(user_id, org).await?;
        let mut cleared = vec![acct, user_key(user.id), self.identifier_key_of(&user.email)];
        if let Some(name) = &user.username {
            cleared.push(self.identifier_key_of(name));
        }
        self.throttle_clear(&cleared).await?;
        if self.0.hashes.hasher().needs_rehash(&user.password_hash)
            && let Ok(h) = self.0.hashes.hash(&req.password).await
        {
            let stmt = Query::update()
                .table(U::Table)
                .values([(U::PasswordHash, h.into())])
                .and_where(Expr::col(U::Id).eq(user.id))
                .to_owned();
            self.db().execute(&stmt).await?;
        }
        Ok(SignedIn {
            user,
            org,
            role: resolved.role,
            amr,
        })
    }

    /// Counts a failure (against the identifier as typed, the account it
    /// names and the client address), audits it, and records a lockout when
    /// one starts. The audit entry names a known account by its user id and
    /// an unknown one by the keyed hash of what was typed, never the text
    /// itself (it may be a password typed into the wrong field).
    async fn fail_sign_in(
        &self,
        meta: &RequestMeta,
        user: Option<&UserRow>,
        identifier: &str,
        acct: &str,
        reason: &str,
    ) -> Result<()> {
        let org = match user {
            Some(u) => self
                .memberships_of(UserId(u.id))
                .await?
                .first()
                .map(|m| OrgId(m.org_id)),
            None => None,
        };
        let by_identifier = self.throttle_fail(acct, ThrottleKind::Account).await?;
        let outcome = match user {
            Some(u) => {
                self.throttle_fail(&user_key(u.id), ThrottleKind::Account)
                    .await?
            }
            None => by_identifier,
        };
        if let Some(ip) = meta.ip {
            self.throttle_fail(&address_key(ip), ThrottleKind::Address)
                .await?;
        }
        let identifier_hash = self.identifier_hash_of(identifier);
        let mut tx = self.0.record.begin().await?;
        let details = match user {
            Some(_) => json!({ "reason": reason }),
            None => json!({ "identifier_hash": identifier_hash, "reason": reason }),
        };
        let mut event = AuditEvent::new(org, Actor::Anonymous, "auth.login_failed")
            .details(details)
            .stamp(meta);
        if let Some(u) = user {
            event = event.target("user", u.id);
        }
        let entry = tx.audit(event).await?;
        if let FailureOutcome::LockedNow { failures, until } = outcome {
            let lock = AuditEvent::new(
                org,
                Actor::System("identity.throttle".into()),
                "auth.locked_out",
            )
            .details(json!({ "failures": failures, "locked_until": until.unix_timestamp() }))
            .stamp(meta);
            let lock = match user {
                Some(u) => lock.target("user", u.id),
                None => lock.target("account", &identifier_hash),
            };
            let lock_entry = tx.audit(lock).await?;
            let minutes = self.0.cfg.lockout_secs / 60;
            tx.decision(NewDecision {
                        org_id: org,
                        engine: "identity.throttle".into(),
                        engine_version: "1".into(),
                        kind: "account_locked".into(),
                        subject_kind: if user.is_some() { "user" } else { "account" }.into(),
                        subject_id: user
                            .map(|u| u.id.to_string())
                            .unwrap_or_else(|| identifier_hash.clone()),
                        inputs: json!({
                            "failures": failures,
                            "threshold": self.0.cfg.lockout_threshold,
                            "window_secs": self.0.cfg.lockout_secs,
                        }),
                        output: json!({ "locked_until": until.unix_timestamp() }),
                        confidence: Some(1.0),
                        explanation: format!(
                            "Sign-in to this account was locked for {minutes} minutes because {failures} attempts failed within {minutes} minutes (the limit is {}). It unlocks by itself; a successful password reset does not shorten it.",
                            self.0.cfg.lockout_threshold
                        ),
                        audit_entry_id: Some(lock_entry.id),
                    })
                .await?;
        }
        let _ = entry;
        tx.commit().await?;
        Ok(())
    }
}

pub(crate) fn parse_role(s: &str) -> Result<Role> {
    Role::parse(s)
        .ok_or_else(|| IdentityError::Credential(format!("unknown role `{s}` in the database")))
}

/// Permissions granted by a list of names; unknown names are a 422 on `field`.
pub fn parse_permissions(field: &str, names: &[String]) -> Result<Vec<Permission>> {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for (i, n) in names.iter().enumerate() {
        match Permission::parse(n) {
            Some(p) => {
                if !out.contains(&p) {
                    out.push(p);
                }
            }
            None => bad.push(kiki_core::FieldError::new(
                format!("{field}[{i}]"),
                format!("`{n}` is not a permission; see GET /v1/permissions."),
            )),
        }
    }
    if bad.is_empty() {
        Ok(out)
    } else {
        Err(IdentityError::Invalid(bad))
    }
}
