//! Two-factor authentication with TOTP (RFC 6238).
//!
//! Enrolment stores a new secret, encrypted (AES-256-GCM, bound to the user's
//! row), as pending; a first valid code confirms it, switches MFA on and
//! returns ten single-use recovery codes (stored as keyed hashes). At sign-in
//! a code is accepted for the current 30 s step or one either side, and never
//! twice (the last used step is stored). A recovery code works once instead.

use kiki_core::UserId;
use kiki_credentials::{tokens, totp};
use kiki_shield::{Actor, AuditEvent, aad};
use sea_query::{Expr, ExprTrait, Query};
use serde_json::json;
use uuid::Uuid;

use crate::domain::types::StampRequest as _;
use crate::domain::types::{MfaEnrolment, Principal, RequestMeta};
use crate::store::{IdRow, RecoveryCodes as RC, UserRow, Users as U};
use crate::{Identity, IdentityError, Result};

const RECOVERY_CODES: usize = 10;
const RECOVERY_PURPOSE: &str = "mfa.recovery_code";

impl Identity {
    fn totp_secret_of(&self, user: &UserRow) -> Result<Option<totp::TotpSecret>> {
        let Some(stored) = &user.totp_secret else {
            return Ok(None);
        };
        let b32 = self
            .0
            .keyring
            .decrypt_str(stored, &aad("users", "totp_secret", user.id))?;
        Ok(Some(totp::TotpSecret::from_base32(&b32)?))
    }

    /// Starts (or restarts) enrolment: a new pending secret.
    pub async fn mfa_enroll(
        &self,
        meta: &RequestMeta,
        principal: &Principal,
    ) -> Result<MfaEnrolment> {
        let user_id = principal
            .user_id()
            .ok_or_else(|| IdentityError::Forbidden("API keys cannot enrol in MFA.".into()))?;
        let user = self
            .user_row(user_id)
            .await?
            .ok_or(IdentityError::NotFound("The user"))?;
        if user.totp_enabled_at.is_some() {
            return Err(IdentityError::Conflict(
                "Two-factor authentication is already on; disable it first to enrol a new device."
                    .into(),
            ));
        }
        let secret = totp::TotpSecret::generate();
        let b32 = secret.to_base32();
        let stored = self
            .0
            .keyring
            .encrypt_str(&b32, &aad("users", "totp_secret", user.id));
        let now = self.now();
        let mut tx = self.0.record.begin().await?;
        let stmt = Query::update()
            .table(U::Table)
            .values([(U::TotpSecret, stored.into()), (U::UpdatedAt, now.into())])
            .and_where(Expr::col(U::Id).eq(user.id))
            .to_owned();
        tx.execute(&stmt).await?;
        tx.audit(
            AuditEvent::new(
                Some(principal.org_id()),
                Actor::User(user_id),
                "mfa.enrolment_started",
            )
            .target("user", user.id)
            .stamp(meta),
        )
        .await?;
        tx.commit().await?;
        let uri = totp::otpauth_uri(&secret, &self.0.cfg.mfa_issuer, &user.email);
        Ok(MfaEnrolment {
            secret: b32,
            qr_svg: totp::qr_svg(&uri),
            otpauth_uri: uri,
        })
    }

    /// Confirms enrolment with a first code; returns the recovery codes (shown once).
    pub async fn mfa_confirm(
        &self,
        meta: &RequestMeta,
        principal: &Principal,
        code: &str,
    ) -> Result<Vec<String>> {
        let user_id = principal
            .user_id()
            .ok_or_else(|| IdentityError::Forbidden("API keys cannot enrol in MFA.".into()))?;
        let user = self
            .user_row(user_id)
            .await?
            .ok_or(IdentityError::NotFound("The user"))?;
        if user.totp_enabled_at.is_some() {
            return Err(IdentityError::Conflict(
                "Two-factor authentication is already on.".into(),
            ));
        }
        let secret = self.totp_secret_of(&user)?.ok_or_else(|| {
            IdentityError::Conflict("Start enrolment first (POST /v1/me/mfa/enroll).".into())
        })?;
        let now = self.now();
        let step = totp::verify(
            &secret,
            code.trim(),
            Ord::max(now.unix_timestamp(), 0) as u64,
            None,
        )
        .ok_or_else(|| {
            IdentityError::invalid(
                "code",
                "The code does not match; check the device's clock and try the next code.",
            )
        })?;
        let codes = tokens::recovery_codes(RECOVERY_CODES);
        let mut tx = self.0.record.begin().await?;
        let stmt = Query::update()
            .table(U::Table)
            .values([
                (U::TotpEnabledAt, now.into()),
                (
                    U::TotpLastStep,
                    i64::try_from(step).unwrap_or(i64::MAX).into(),
                ),
                (U::UpdatedAt, now.into()),
            ])
            .and_where(Expr::col(U::Id).eq(user.id))
            .to_owned();
        tx.execute(&stmt).await?;
        self.replace_recovery_codes(&mut tx, user_id, &codes)
            .await?;
        tx.audit(
            AuditEvent::new(
                Some(principal.org_id()),
                Actor::User(user_id),
                "mfa.enabled",
            )
            .target("user", user.id)
            .stamp(meta),
        )
        .await?;
        tx.commit().await?;
        Ok(codes)
    }

    async fn replace_recovery_codes(
        &self,
        tx: &mut kiki_store::Tx<'_>,
        user: UserId,
        codes: &[String],
    ) -> Result<()> {
        let del = Query::delete()
            .from_table(RC::Table)
            .and_where(Expr::col(RC::UserId).eq(user.0))
            .to_owned();
        tx.execute(&del).await?;
        let now = self.now();
        for c in codes {
            let hash = self
                .0
                .keyring
                .blind_index(RECOVERY_PURPOSE, &tokens::normalize_recovery_code(c));
            let ins = Query::insert()
                .into_table(RC::Table)
                .columns([RC::Id, RC::UserId, RC::CodeHash, RC::CreatedAt])
                .values_panic([
                    Uuid::now_v7().into(),
                    user.0.into(),
                    hash.into(),
                    now.into(),
                ])
                .to_owned();
            tx.execute(&ins).await?;
        }
        Ok(())
    }

    /// Turns MFA off after checking the password (and removes the recovery codes).
    pub async fn mfa_disable(
        &self,
        meta: &RequestMeta,
        principal: &Principal,
        password: &str,
    ) -> Result<()> {
        let user_id = principal
            .user_id()
            .ok_or_else(|| IdentityError::Forbidden("API keys have no MFA.".into()))?;
        let user = self
            .user_row(user_id)
            .await?
            .ok_or(IdentityError::NotFound("The user"))?;
        if !self.0.hashes.verify(password, &user.password_hash).await? {
            return Err(IdentityError::invalid(
                "password",
                "The password is not correct.",
            ));
        }
        let now = self.now();
        let mut tx = self.0.record.begin().await?;
        let stmt = Query::update()
            .table(U::Table)
            .values([
                (U::TotpSecret, Option::<String>::None.into()),
                (
                    U::TotpEnabledAt,
                    Option::<time::OffsetDateTime>::None.into(),
                ),
                (U::TotpLastStep, Option::<i64>::None.into()),
                (U::UpdatedAt, now.into()),
            ])
            .and_where(Expr::col(U::Id).eq(user.id))
            .to_owned();
        tx.execute(&stmt).await?;
        self.replace_recovery_codes(&mut tx, user_id, &[]).await?;
        tx.audit(
            AuditEvent::new(
                Some(principal.org_id()),
                Actor::User(user_id),
                "mfa.disabled",
            )
            .target("user", user.id)
            .stamp(meta),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// New recovery codes (the old ones stop working).
    pub async fn mfa_regenerate_recovery_codes(
        &self,
        meta: &RequestMeta,
        principal: &Principal,
    ) -> Result<Vec<String>> {
        let user_id = principal
            .user_id()
            .ok_or_else(|| IdentityError::Forbidden("API keys have no MFA.".into()))?;
        let user = self
            .user_row(user_id)
            .await?
            .ok_or(IdentityError::NotFound("The user"))?;
        if user.totp_enabled_at.is_none() {
            return Err(IdentityError::Conflict(
                "Two-factor authentication is not on.".into(),
            ));
        }
        let codes = tokens::recovery_codes(RECOVERY_CODES);
        let mut tx = self.0.record.begin().await?;
        self.replace_recovery_codes(&mut tx, user_id, &codes)
            .await?;
        tx.audit(
            AuditEvent::new(
                Some(principal.org_id()),
                Actor::User(user_id),
                "mfa.recovery_codes_regenerated",
            )
            .target("user", user.id)
            .stamp(meta),
        )
        .await?;
        tx.commit().await?;
        Ok(codes)
    }

    /// A TOTP code (not replayed) or an unused recovery code; consumes what it uses.
    pub(crate) async fn check_second_factor(&self, user: &UserRow, otp: &str) -> Result<bool> {
        let otp = otp.trim();
        if otp.len() == 6 && otp.bytes().all(|b| b.is_ascii_digit()) {
            let Some(secret) = self.totp_secret_of(user)? else {
                return Ok(false);
            };
            let now = Ord::max(self.now().unix_timestamp(), 0) as u64;
            let last = user.totp_last_step.and_then(|s| u64::try_from(s).ok());
            let Some(step) = totp::verify(&secret, otp, now, last) else {
                return Ok(false);
            };
            // Record the step only if no concurrent sign-in used it first.
            let step = i64::try_from(step).unwrap_or(i64::MAX);
            let mut stmt = Query::update()
                .table(U::Table)
                .values([(U::TotpLastStep, step.into())])
                .and_where(Expr::col(U::Id).eq(user.id))
                .to_owned();
            stmt.and_where(
                Expr::col(U::TotpLastStep)
                    .is_null()
                    .or(Expr::col(U::TotpLastStep).lt(step)),
            );
            return Ok(self.db().execute(&stmt).await? == 1);
        }
        let hash = self
            .0
            .keyring
            .blind_index(RECOVERY_PURPOSE, &tokens::normalize_recovery_code(otp));
        let find = Query::select()
            .column(RC::Id)
            .from(RC::Table)
            .and_where(Expr::col(RC::UserId).eq(user.id))
            .and_where(Expr::col(RC::CodeHash).eq(hash))
            .and_where(Expr::col(RC::UsedAt).is_null())
            .to_owned();
        let Some(row): Option<IdRow> = self.db().fetch_optional(&find).await? else {
            return Ok(false);
        };
        let used = Query::update()
            .table(RC::Table)
            .values([(RC::UsedAt, self.now().into())])
            .and_where(Expr::col(RC::Id).eq(row.id))
            .and_where(Expr::col(RC::UsedAt).is_null())
            .to_owned();
        let mut tx = self.0.record.begin().await?;
        let ok = tx.execute(&used).await? == 1;
        if ok {
            let org = self
                .memberships_of(UserId(user.id))
                .await?
                .first()
                .map(|m| kiki_core::OrgId(m.org_id));
            tx.audit(
                AuditEvent::new(org, Actor::User(UserId(user.id)), "mfa.recovery_code_used")
                    .target("user", user.id)
                    .details(json!({})),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(ok)
    }
}
