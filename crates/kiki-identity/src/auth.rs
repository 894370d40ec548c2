//! Sign-in and request authentication.
//!
//! * Password grant (RFC 6749 §4.3): identifier (email or username) +
//!   password (+ `otp` when MFA is enrolled) → a session (a refresh-token
//!   family), a short-lived JWT access token and an opaque refresh token.
//! * Refresh: the presented token is rotated (marked `rotated`, a child
//!   issued). Presenting a rotated token again means it leaked: the whole
//!   family is revoked, with an audit entry and a decision record.
//! * Dashboard sessions: the same check, answered with an opaque cookie token
//!   and a CSRF token (both stored hashed).
//! * Every request's credentials (access token, API key or cookie) resolve to
//!   a [`Principal`] whose [`TenantScope`] is the active organisation (the
//!   token's, or the `X-Kiki-Org` one if the caller reaches it) plus the
//!   organisations it reaches. An organisation the caller cannot reach is
//!   "not found", never "forbidden", so ids of other tenants leak nothing.
//!
//! Unknown accounts cost the same argon2 work as wrong passwords and get the
//! same answer.

use kiki_core::{OrgId, TenantScope, UserId};
use kiki_credentials::jwt::{AccessClaims, JwtError};
use kiki_credentials::tokens;
use kiki_explain::NewDecision;
use kiki_shield::{Actor, AuditEvent};
use kiki_store::Tx;
use sea_query::{Expr, ExprTrait, Order, Query};
use serde_json::json;
use time::Duration;
use uuid::Uuid;

use crate::model::{OrgKind, Permission, Role, permissions_of};
use crate::rows::{
    AuthSessions as S, IdRow, MembershipOrgRow, Memberships as M, OrgRow, Organisations as O,
    RefreshRow, RefreshTokens as R, SessionRow, UserRow, Users as U,
};
use crate::throttle::{FailureOutcome, ThrottleKind, account_key, address_key};
use crate::types::{AuthMethod, Caller, CookieSession, Principal, RequestMeta, TokenResponse};
use crate::{Identity, IdentityError, Result};

const BAD_CREDENTIALS: &str = "The credentials are not valid.";
const BAD_TOKEN: &str = "The access token is missing, expired or not valid.";

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

pub(crate) fn org_columns() -> [O; 8] {
    [
        O::Id,
        O::ParentId,
        O::Kind,
        O::Name,
        O::OpenSignup,
        O::RequireMfa,
        O::ArchivedAt,
        O::CreatedAt,
    ]
}

fn amr_string(amr: &[String]) -> String {
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
        let acct = account_key(&req.identifier);
        let mut keys = vec![acct.clone()];
        if let Some(ip) = meta.ip {
            keys.push(address_key(ip));
        }
        self.throttle_check(&keys).await?;

        let user = self.user_by_identifier(&req.identifier).await?;
        let Some(user) = user else {
            self.0.hasher.verify_dummy(&req.password);
            self.fail_sign_in(meta, None, &req.identifier, &acct, "unknown_account")
                .await?;
            return Err(IdentityError::Unauthenticated(BAD_CREDENTIALS));
        };
        let password_ok = self.0.hasher.verify(&req.password, &user.password_hash);
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
        self.throttle_clear(&acct).await?;
        if self.0.hasher.needs_rehash(&user.password_hash)
            && let Ok(h) = self.0.hasher.hash(&req.password)
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

    /// Counts a failure, audits it, and records a lockout when one starts.
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
        let outcome = self.throttle_fail(acct, ThrottleKind::Account).await?;
        if let Some(ip) = meta.ip {
            self.throttle_fail(&address_key(ip), ThrottleKind::Address)
                .await?;
        }
        let mut tx = self.db().begin().await?;
        let mut event = AuditEvent::new(org, Actor::Anonymous, "auth.login_failed")
            .details(json!({ "identifier": identifier.trim(), "reason": reason }))
            .context(meta.ip, meta.user_agent.clone(), meta.request_id.clone());
        if let Some(u) = user {
            event = event.target("user", u.id);
        }
        let entry = self.0.audit.append(&mut tx, event).await?;
        if let FailureOutcome::LockedNow { failures, until } = outcome {
            let lock = AuditEvent::new(
                org,
                Actor::System("identity.throttle".into()),
                "auth.locked_out",
            )
            .details(json!({ "failures": failures, "locked_until": until.unix_timestamp() }))
            .context(meta.ip, meta.user_agent.clone(), meta.request_id.clone());
            let lock = match user {
                Some(u) => lock.target("user", u.id),
                None => lock.target("account", acct),
            };
            let lock_entry = self.0.audit.append(&mut tx, lock).await?;
            let minutes = self.0.cfg.lockout_secs / 60;
            self.0
                .decisions
                .record(
                    &mut tx,
                    NewDecision {
                        org_id: org,
                        engine: "identity.throttle".into(),
                        engine_version: "1".into(),
                        kind: "account_locked".into(),
                        subject_kind: if user.is_some() { "user" } else { "account" }.into(),
                        subject_id: user.map(|u| u.id.to_string()).unwrap_or_else(|| acct.to_owned()),
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
                    },
                )
                .await?;
        }
        let _ = entry;
        tx.commit().await?;
        Ok(())
    }

    // ---- sessions and tokens --------------------------------------------

    #[allow(clippy::too_many_arguments)] // reason: one row's worth of columns, all distinct
    async fn insert_session(
        &self,
        tx: &mut Tx<'_>,
        s: &SignedIn,
        kind: &str,
        token_hash: Option<String>,
        csrf_hash: Option<String>,
        ttl: Duration,
        meta: &RequestMeta,
    ) -> Result<Uuid> {
        let id = Uuid::now_v7();
        let now = self.now();
        let stmt = Query::insert()
            .into_table(S::Table)
            .columns([
                S::Id,
                S::UserId,
                S::OrgId,
                S::Kind,
                S::Amr,
                S::TokenHash,
                S::CsrfHash,
                S::Ip,
                S::UserAgent,
                S::CreatedAt,
                S::LastSeenAt,
                S::ExpiresAt,
            ])
            .values_panic([
                id.into(),
                s.user.id.into(),
                s.org.0.into(),
                kind.into(),
                amr_string(&s.amr).into(),
                token_hash.into(),
                csrf_hash.into(),
                meta.ip.map(kiki_shield::mask_ip).into(),
                meta.user_agent.clone().into(),
                now.into(),
                now.into(),
                (now + ttl).into(),
            ])
            .to_owned();
        tx.execute(&stmt).await?;
        Ok(id)
    }

    async fn insert_refresh(&self, tx: &mut Tx<'_>, session: Uuid) -> Result<String> {
        let token = tokens::opaque_token();
        let now = self.now();
        let ttl = Duration::days(i64::try_from(self.0.cfg.refresh_token_ttl_days).unwrap_or(30));
        let stmt = Query::insert()
            .into_table(R::Table)
            .columns([
                R::Id,
                R::SessionId,
                R::TokenHash,
                R::Status,
                R::CreatedAt,
                R::ExpiresAt,
            ])
            .values_panic([
                Uuid::now_v7().into(),
                session.into(),
                tokens::token_hash(&token).into(),
                "active".into(),
                now.into(),
                (now + ttl).into(),
            ])
            .to_owned();
        tx.execute(&stmt).await?;
        Ok(token)
    }

    fn access_token(
        &self,
        user: &UserRow,
        org: OrgId,
        role: Role,
        session: Uuid,
        amr: &[String],
    ) -> Result<(String, u64)> {
        let now = self.now().unix_timestamp();
        let ttl = self.0.cfg.access_token_ttl_secs;
        let claims = AccessClaims {
            iss: self.0.cfg.jwt_issuer.clone(),
            aud: self.0.cfg.jwt_issuer.clone(),
            sub: user.id,
            org: org.0,
            roles: vec![role.as_str().to_owned()],
            sid: session,
            iat: now,
            exp: now + i64::try_from(ttl).unwrap_or(900),
            jti: Uuid::now_v7(),
            amr: amr.to_vec(),
            sa: user.is_superadmin,
        };
        Ok((self.0.jwt.sign(&claims)?, ttl))
    }

    fn scope_string(role: Role) -> String {
        permissions_of(role)
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// OAuth2 password grant: a new session with an access and a refresh token.
    pub async fn login_token(
        &self,
        meta: &RequestMeta,
        req: &LoginRequest,
    ) -> Result<TokenResponse> {
        let s = self.sign_in(meta, req).await?;
        let ttl = Duration::days(i64::try_from(self.0.cfg.refresh_token_ttl_days).unwrap_or(30));
        let mut tx = self.db().begin().await?;
        let session = self
            .insert_session(&mut tx, &s, "token", None, None, ttl, meta)
            .await?;
        let refresh = self.insert_refresh(&mut tx, session).await?;
        self.audit_login(&mut tx, &s, session, "token", meta)
            .await?;
        tx.commit().await?;
        let (access, expires_in) = self.access_token(&s.user, s.org, s.role, session, &s.amr)?;
        Ok(TokenResponse {
            access_token: access,
            token_type: "Bearer",
            expires_in,
            refresh_token: refresh,
            scope: Self::scope_string(s.role),
        })
    }

    /// Dashboard sign-in: a cookie session with a CSRF token.
    pub async fn login_cookie(
        &self,
        meta: &RequestMeta,
        req: &LoginRequest,
    ) -> Result<CookieSession> {
        let s = self.sign_in(meta, req).await?;
        let hours = self.0.cfg.session_ttl_hours;
        let ttl = Duration::hours(i64::try_from(hours).unwrap_or(12));
        let cookie = tokens::opaque_token();
        let csrf = tokens::opaque_token();
        let mut tx = self.db().begin().await?;
        let session = self
            .insert_session(
                &mut tx,
                &s,
                "cookie",
                Some(tokens::token_hash(&cookie)),
                Some(tokens::token_hash(&csrf)),
                ttl,
                meta,
            )
            .await?;
        self.audit_login(&mut tx, &s, session, "cookie", meta)
            .await?;
        tx.commit().await?;
        Ok(CookieSession {
            session_id: session,
            cookie_token: cookie,
            csrf_token: csrf,
            max_age_secs: hours * 3600,
        })
    }

    async fn audit_login(
        &self,
        tx: &mut Tx<'_>,
        s: &SignedIn,
        session: Uuid,
        kind: &str,
        meta: &RequestMeta,
    ) -> Result<()> {
        let now = self.now();
        let stmt = Query::update()
            .table(U::Table)
            .values([(U::LastLoginAt, now.into())])
            .and_where(Expr::col(U::Id).eq(s.user.id))
            .to_owned();
        tx.execute(&stmt).await?;
        self.0
            .audit
            .append(
                tx,
                AuditEvent::new(Some(s.org), Actor::User(UserId(s.user.id)), "auth.login")
                    .target("session", session)
                    .details(json!({ "method": kind, "amr": s.amr }))
                    .context(meta.ip, meta.user_agent.clone(), meta.request_id.clone()),
            )
            .await?;
        Ok(())
    }

    async fn session_row(&self, id: Uuid) -> Result<Option<SessionRow>> {
        let stmt = Query::select()
            .columns([
                S::Id,
                S::UserId,
                S::OrgId,
                S::Amr,
                S::CsrfHash,
                S::ExpiresAt,
                S::RevokedAt,
            ])
            .from(S::Table)
            .and_where(Expr::col(S::Id).eq(id))
            .to_owned();
        Ok(self.db().fetch_optional(&stmt).await?)
    }

    /// Exchanges a refresh token for a new pair; detects reuse of a rotated token.
    pub async fn refresh(&self, meta: &RequestMeta, refresh_token: &str) -> Result<TokenResponse> {
        if refresh_token.trim().is_empty() {
            return Err(IdentityError::invalid(
                "refresh_token",
                "The refresh token is required.",
            ));
        }
        let now = self.now();
        let hash = tokens::token_hash(refresh_token.trim());
        let stmt = Query::select()
            .columns([R::Id, R::SessionId, R::Status, R::ExpiresAt])
            .from(R::Table)
            .and_where(Expr::col(R::TokenHash).eq(hash))
            .to_owned();
        let row: Option<RefreshRow> = self.db().fetch_optional(&stmt).await?;
        let Some(row) = row else {
            return Err(IdentityError::Unauthenticated(
                "The refresh token is not valid.",
            ));
        };
        let session =
            self.session_row(row.session_id)
                .await?
                .ok_or(IdentityError::Unauthenticated(
                    "The refresh token is not valid.",
                ))?;
        if row.status == "rotated" {
            if session.revoked_at.is_none() {
                self.revoke_family_for_reuse(meta, &session).await?;
            }
            return Err(IdentityError::Unauthenticated(
                "The refresh token is not valid.",
            ));
        }
        if row.status != "active"
            || row.expires_at <= now
            || session.revoked_at.is_some()
            || session.expires_at <= now
        {
            return Err(IdentityError::Unauthenticated(
                "The refresh token is not valid.",
            ));
        }
        let user = self
            .user_row(UserId(session.user_id))
            .await?
            .filter(|u| u.status == "active")
            .ok_or(IdentityError::Unauthenticated(
                "The refresh token is not valid.",
            ))?;
        let resolved = self.resolve(UserId(user.id), OrgId(session.org_id)).await?;
        let mut tx = self.db().begin().await?;
        let rotate = Query::update()
            .table(R::Table)
            .values([(R::Status, "rotated".into()), (R::UsedAt, now.into())])
            .and_where(Expr::col(R::Id).eq(row.id))
            .and_where(Expr::col(R::Status).eq("active"))
            .to_owned();
        if tx.execute(&rotate).await? != 1 {
            // Another request rotated it first: this is a second use.
            tx.rollback().await?;
            self.revoke_family_for_reuse(meta, &session).await?;
            return Err(IdentityError::Unauthenticated(
                "The refresh token is not valid.",
            ));
        }
        let next = self.insert_refresh(&mut tx, session.id).await?;
        let seen = Query::update()
            .table(S::Table)
            .values([(S::LastSeenAt, now.into())])
            .and_where(Expr::col(S::Id).eq(session.id))
            .to_owned();
        tx.execute(&seen).await?;
        tx.commit().await?;
        let amr: Vec<String> = session
            .amr
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let (access, expires_in) = self.access_token(
            &user,
            OrgId(session.org_id),
            resolved.role,
            session.id,
            &amr,
        )?;
        Ok(TokenResponse {
            access_token: access,
            token_type: "Bearer",
            expires_in,
            refresh_token: next,
            scope: Self::scope_string(resolved.role),
        })
    }

    async fn revoke_family_for_reuse(
        &self,
        meta: &RequestMeta,
        session: &SessionRow,
    ) -> Result<()> {
        let mut tx = self.db().begin().await?;
        let revoked = self
            .revoke_sessions_tx(&mut tx, &[session.id], "refresh_token_reuse")
            .await?;
        let org = Some(OrgId(session.org_id));
        let entry = self
            .0
            .audit
            .append(
                &mut tx,
                AuditEvent::new(
                    org,
                    Actor::System("identity.tokens".into()),
                    "auth.token_family_revoked",
                )
                .target("session", session.id)
                .details(json!({ "reason": "refresh_token_reuse", "user_id": session.user_id }))
                .context(meta.ip, meta.user_agent.clone(), meta.request_id.clone()),
            )
            .await?;
        self.0
            .decisions
            .record(
                &mut tx,
                NewDecision {
                    org_id: org,
                    engine: "identity.tokens".into(),
                    engine_version: "1".into(),
                    kind: "token_family_revoked".into(),
                    subject_kind: "session".into(),
                    subject_id: session.id.to_string(),
                    inputs: json!({ "presented": "rotated_refresh_token", "user_id": session.user_id }),
                    output: json!({ "revoked_sessions": revoked }),
                    confidence: Some(1.0),
                    explanation: "A refresh token that had already been exchanged was presented again. Only one party can hold a valid refresh token, so one copy was stolen or leaked: every token of this sign-in was revoked and the user must sign in again.".into(),
                    audit_entry_id: Some(entry.id),
                },
            )
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Marks sessions revoked (and their refresh tokens); returns how many were active.
    pub(crate) async fn revoke_sessions_tx(
        &self,
        tx: &mut Tx<'_>,
        ids: &[Uuid],
        reason: &str,
    ) -> Result<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let now = self.now();
        let stmt = Query::update()
            .table(S::Table)
            .values([
                (S::RevokedAt, now.into()),
                (S::RevokedReason, reason.into()),
            ])
            .and_where(Expr::col(S::Id).is_in(ids.iter().copied()))
            .and_where(Expr::col(S::RevokedAt).is_null())
            .to_owned();
        let n = tx.execute(&stmt).await?;
        let tokens = Query::update()
            .table(R::Table)
            .values([(R::Status, "revoked".into())])
            .and_where(Expr::col(R::SessionId).is_in(ids.iter().copied()))
            .and_where(Expr::col(R::Status).eq("active"))
            .to_owned();
        tx.execute(&tokens).await?;
        Ok(n)
    }

    /// Ends the caller's session (its refresh tokens and access tokens stop working).
    pub async fn logout(&self, meta: &RequestMeta, principal: &Principal) -> Result<()> {
        let Caller::User {
            user_id,
            session_id,
        } = principal.caller
        else {
            return Err(IdentityError::invalid(
                "authorization",
                "API keys have no session; revoke the key instead.",
            ));
        };
        let mut tx = self.db().begin().await?;
        self.revoke_sessions_tx(&mut tx, &[session_id], "logout")
            .await?;
        self.0
            .audit
            .append(
                &mut tx,
                AuditEvent::new(
                    Some(principal.org_id()),
                    Actor::User(user_id),
                    "auth.logout",
                )
                .target("session", session_id)
                .context(meta.ip, meta.user_agent.clone(), meta.request_id.clone()),
            )
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Revokes a session by its refresh token (RFC 7009 style; unknown tokens are ignored).
    pub async fn logout_refresh_token(
        &self,
        meta: &RequestMeta,
        refresh_token: &str,
    ) -> Result<()> {
        let hash = tokens::token_hash(refresh_token.trim());
        let stmt = Query::select()
            .columns([R::Id, R::SessionId, R::Status, R::ExpiresAt])
            .from(R::Table)
            .and_where(Expr::col(R::TokenHash).eq(hash))
            .to_owned();
        let row: Option<RefreshRow> = self.db().fetch_optional(&stmt).await?;
        let Some(row) = row else { return Ok(()) };
        let Some(session) = self.session_row(row.session_id).await? else {
            return Ok(());
        };
        let mut tx = self.db().begin().await?;
        self.revoke_sessions_tx(&mut tx, &[session.id], "logout")
            .await?;
        self.0
            .audit
            .append(
                &mut tx,
                AuditEvent::new(
                    Some(OrgId(session.org_id)),
                    Actor::User(UserId(session.user_id)),
                    "auth.logout",
                )
                .target("session", session.id)
                .context(meta.ip, meta.user_agent.clone(), meta.request_id.clone()),
            )
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends every session of the user.
    pub async fn logout_all(&self, meta: &RequestMeta, principal: &Principal) -> Result<u64> {
        let Some(user) = principal.user_id() else {
            return Err(IdentityError::invalid(
                "authorization",
                "API keys have no session; revoke the key instead.",
            ));
        };
        let mut tx = self.db().begin().await?;
        let n = self
            .revoke_user_sessions_tx(&mut tx, user, None, "logout_all")
            .await?;
        self.0
            .audit
            .append(
                &mut tx,
                AuditEvent::new(
                    Some(principal.org_id()),
                    Actor::User(user),
                    "auth.logout_all",
                )
                .target("user", user.0)
                .details(json!({ "sessions_revoked": n }))
                .context(meta.ip, meta.user_agent.clone(), meta.request_id.clone()),
            )
            .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Revokes every active session of a user, except `keep`.
    pub(crate) async fn revoke_user_sessions_tx(
        &self,
        tx: &mut Tx<'_>,
        user: UserId,
        keep: Option<Uuid>,
        reason: &str,
    ) -> Result<u64> {
        let mut stmt = Query::select()
            .column(S::Id)
            .from(S::Table)
            .and_where(Expr::col(S::UserId).eq(user.0))
            .and_where(Expr::col(S::RevokedAt).is_null())
            .to_owned();
        if let Some(k) = keep {
            stmt.and_where(Expr::col(S::Id).ne(k));
        }
        let ids: Vec<IdRow> = tx.fetch_all(&stmt).await?;
        let ids: Vec<Uuid> = ids.into_iter().map(|r| r.id).collect();
        self.revoke_sessions_tx(tx, &ids, reason).await
    }

    // ---- request authentication -----------------------------------------

    /// Resolves `Authorization: Bearer …` (an access token or an API key).
    pub async fn authenticate_bearer(
        &self,
        token: &str,
        requested_org: Option<OrgId>,
    ) -> Result<Principal> {
        if tokens::api_key_prefix(token).is_some() {
            return self.authenticate_api_key(token, requested_org).await;
        }
        let now = self.now().unix_timestamp();
        let claims = self.0.jwt.verify(token, now).map_err(|e| match e {
            JwtError::Expired => {
                IdentityError::Unauthenticated("The access token has expired; refresh it.")
            }
            _ => IdentityError::Unauthenticated(BAD_TOKEN),
        })?;
        let session = self
            .session_row(claims.sid)
            .await?
            .filter(|s| s.user_id == claims.sub && s.revoked_at.is_none())
            .ok_or(IdentityError::Unauthenticated(BAD_TOKEN))?;
        self.principal_for_session(&session, claims.amr, AuthMethod::AccessToken, requested_org)
            .await
    }

    /// Resolves a dashboard session cookie.
    pub async fn authenticate_cookie(
        &self,
        cookie_token: &str,
        requested_org: Option<OrgId>,
    ) -> Result<Principal> {
        let stmt = Query::select()
            .columns([
                S::Id,
                S::UserId,
                S::OrgId,
                S::Amr,
                S::CsrfHash,
                S::ExpiresAt,
                S::RevokedAt,
            ])
            .from(S::Table)
            .and_where(Expr::col(S::TokenHash).eq(tokens::token_hash(cookie_token)))
            .and_where(Expr::col(S::Kind).eq("cookie"))
            .to_owned();
        let session: SessionRow = self
            .db()
            .fetch_optional(&stmt)
            .await?
            .filter(|s: &SessionRow| s.revoked_at.is_none() && s.expires_at > self.now())
            .ok_or(IdentityError::Unauthenticated(
                "The session has ended; sign in again.",
            ))?;
        let amr = session
            .amr
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        self.principal_for_session(&session, amr, AuthMethod::Cookie, requested_org)
            .await
    }

    async fn principal_for_session(
        &self,
        session: &SessionRow,
        amr: Vec<String>,
        method: AuthMethod,
        requested_org: Option<OrgId>,
    ) -> Result<Principal> {
        let user_id = UserId(session.user_id);
        let user = self
            .user_row(user_id)
            .await?
            .filter(|u| u.status == "active")
            .ok_or(IdentityError::Unauthenticated(BAD_TOKEN))?;
        let org = requested_org.unwrap_or(OrgId(session.org_id));
        let resolved = self.resolve(user_id, org).await?;
        let mfa_outstanding = resolved.require_mfa
            && resolved.role.is_privileged()
            && !amr.iter().any(|a| a == "mfa");
        Ok(Principal {
            caller: Caller::User {
                user_id,
                session_id: session.id,
            },
            method,
            scope: resolved.scope,
            role: Some(resolved.role),
            permissions: permissions_of(resolved.role).to_vec(),
            superadmin: user.is_superadmin,
            amr,
            mfa_outstanding,
            csrf_hash: session.csrf_hash.clone(),
        })
    }

    /// Whether a CSRF token matches the session's.
    pub fn csrf_matches(principal: &Principal, presented: &str) -> bool {
        match &principal.csrf_hash {
            Some(h) => {
                tokens::constant_time_eq(tokens::token_hash(presented).as_bytes(), h.as_bytes())
            }
            None => false,
        }
    }
}

fn parse_role(s: &str) -> Result<Role> {
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
