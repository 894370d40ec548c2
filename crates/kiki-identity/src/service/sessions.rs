//! Sessions and tokens: a signed-in session (a refresh-token family or a
//! dashboard cookie), access tokens, refresh with rotation and reuse
//! detection (the family is revoked, with an audit entry and a decision
//! record), sign-out, and the resolution of a request's credentials (access
//! token, API key or cookie) into a [`crate::Principal`].

use kiki_core::{OrgId, UserId};
use kiki_credentials::jwt::{AccessClaims, JwtError};
use kiki_credentials::tokens;
use kiki_explain::NewDecision;
use kiki_shield::{Actor, AuditEvent};
use kiki_store::Tx;
use sea_query::{Expr, ExprTrait, Query};
use serde_json::json;
use time::Duration;
use uuid::Uuid;

use crate::domain::model::{Role, permissions_of};
use crate::domain::types::StampRequest as _;
use crate::domain::types::{
    AuthMethod, Caller, CookieSession, Principal, RequestMeta, TokenResponse,
};
use crate::store::{
    AuthSessions as S, IdRow, RefreshRow, RefreshTokens as R, SessionRow, UserRow, Users as U,
};
use crate::{Identity, IdentityError, Result};

use crate::service::auth::{BAD_TOKEN, LoginRequest, SignedIn, amr_string};

impl Identity {
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
        let mut tx = self.0.record.begin().await?;
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
        let mut tx = self.0.record.begin().await?;
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
        tx: &mut kiki_explain::Change<'_>,
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
        tx.audit(
            AuditEvent::new(Some(s.org), Actor::User(UserId(s.user.id)), "auth.login")
                .target("session", session)
                .details(json!({ "method": kind, "amr": s.amr }))
                .stamp(meta),
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
        let mut tx = self.0.record.begin().await?;
        let revoked = self
            .revoke_sessions_tx(&mut tx, &[session.id], "refresh_token_reuse")
            .await?;
        let org = Some(OrgId(session.org_id));
        let entry = tx
            .audit(
                AuditEvent::new(
                    org,
                    Actor::System("identity.tokens".into()),
                    "auth.token_family_revoked",
                )
                .target("session", session.id)
                .details(json!({ "reason": "refresh_token_reuse", "user_id": session.user_id }))
                .stamp(meta),
            )
            .await?;
        tx.decision(NewDecision {
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
                })
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
        let mut tx = self.0.record.begin().await?;
        self.revoke_sessions_tx(&mut tx, &[session_id], "logout")
            .await?;
        tx.audit(
            AuditEvent::new(
                Some(principal.org_id()),
                Actor::User(user_id),
                "auth.logout",
            )
            .target("session", session_id)
            .stamp(meta),
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
        let mut tx = self.0.record.begin().await?;
        self.revoke_sessions_tx(&mut tx, &[session.id], "logout")
            .await?;
        tx.audit(
            AuditEvent::new(
                Some(OrgId(session.org_id)),
                Actor::User(UserId(session.user_id)),
                "auth.logout",
            )
            .target("session", session.id)
            .stamp(meta),
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
        let mut tx = self.0.record.begin().await?;
        let n = self
            .revoke_user_sessions_tx(&mut tx, user, None, "logout_all")
            .await?;
        tx.audit(
            AuditEvent::new(
                Some(principal.org_id()),
                Actor::User(user),
                "auth.logout_all",
            )
            .target("user", user.0)
            .details(json!({ "sessions_revoked": n }))
            .stamp(meta),
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
