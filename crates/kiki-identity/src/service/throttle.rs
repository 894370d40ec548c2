//! Sign-in throttling, shared by replicas through the `login_throttle` table.
//!
//! Up to three counters per attempt: the identifier as typed (a keyed hash,
//! so unknown and known accounts are throttled alike and the table holds
//! neither addresses nor whatever was typed), the account it names (by user
//! id, so a lock reached through the email also holds for the username, and
//! the other way round), and the client address. After
//! `throttle_free_attempts` failures in a window each further attempt must
//! wait a doubling delay (1 s, 2 s, 4 s … capped at 60 s); at
//! `lockout_threshold` failures the identifier or account is locked for
//! `lockout_secs`; an address is locked at `ip_lockout_threshold`. A success
//! clears the account's counters (its user id, email and username). The
//! window is `lockout_secs` long.

use sea_query::{Expr, ExprTrait, OnConflict, Query};
use time::{Duration, OffsetDateTime};

use crate::store::{LoginThrottle as T, ThrottleRow};
use crate::{Identity, IdentityError, Result};

/// Which counter a key belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ThrottleKind {
    Account,
    Address,
}

/// What a failure led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureOutcome {
    Counted,
    /// This failure crossed the lockout threshold.
    LockedNow {
        failures: i64,
        until: OffsetDateTime,
    },
}

/// The keyed hash standing for an identifier as typed (trimmed, lower-cased):
/// 64 hex characters that cannot be turned back into what was typed without
/// the key (a password typed into the username field stays unreadable).
pub(crate) fn identifier_hash(key: &str, identifier: &str) -> String {
    kiki_credentials::tokens::token_hash(&format!("{key}\0{}", identifier.trim().to_lowercase()))
}

/// The counter of an identifier as typed.
pub(crate) fn account_key(key: &str, identifier: &str) -> String {
    format!("acct:{}", identifier_hash(key, identifier))
}

/// The counter of an account, whichever identifier named it.
pub(crate) fn user_key(user: uuid::Uuid) -> String {
    format!("user:{user}")
}

pub(crate) fn address_key(ip: std::net::IpAddr) -> String {
    format!("ip:{ip}")
}

fn secs_until(now: OffsetDateTime, t: OffsetDateTime) -> u64 {
    let s = (t - now).as_seconds_f64().ceil();
    if s < 1.0 { 1 } else { s as u64 }
}

impl Identity {
    /// [`account_key`] with this server's identifier key.
    pub(crate) fn identifier_key_of(&self, identifier: &str) -> String {
        account_key(&self.0.identifier_key, identifier)
    }

    /// [`identifier_hash`] with this server's identifier key.
    pub(crate) fn identifier_hash_of(&self, identifier: &str) -> String {
        identifier_hash(&self.0.identifier_key, identifier)
    }

    async fn throttle_row(&self, key: &str) -> Result<Option<ThrottleRow>> {
        let stmt = Query::select()
            .columns([
                T::Failures,
                T::WindowStartedAt,
                T::NextAllowedAt,
                T::LockedUntil,
            ])
            .from(T::Table)
            .and_where(Expr::col(T::Key).eq(key))
            .to_owned();
        Ok(self.db().fetch_optional::<ThrottleRow, _>(&stmt).await?)
    }

    /// Refuses an attempt that must wait or is locked.
    pub(crate) async fn throttle_check(&self, keys: &[String]) -> Result<()> {
        let now = self.now();
        for key in keys {
            let Some(row) = self.throttle_row(key).await? else {
                continue;
            };
            if let Some(until) = row.locked_until
                && until > now
            {
                return Err(IdentityError::Locked {
                    retry_after_secs: secs_until(now, until),
                });
            }
            if let Some(next) = row.next_allowed_at
                && next > now
            {
                return Err(IdentityError::Throttled {
                    retry_after_secs: secs_until(now, next),
                });
            }
        }
        Ok(())
    }

    /// Counts a failure against `key`.
    pub(crate) async fn throttle_fail(
        &self,
        key: &str,
        kind: ThrottleKind,
    ) -> Result<FailureOutcome> {
        let now = self.now();
        let cfg = &self.0.cfg;
        let window = Duration::seconds(i64::try_from(cfg.lockout_secs).unwrap_or(i64::MAX / 2));
        let mut tx = self.db().begin().await?;
        let insert = Query::insert()
            .into_table(T::Table)
            .columns([T::Key, T::Failures, T::WindowStartedAt, T::UpdatedAt])
            .values_panic([key.into(), 0i64.into(), now.into(), now.into()])
            .on_conflict(OnConflict::column(T::Key).do_nothing().to_owned())
            .to_owned();
        tx.execute(&insert).await?;
        let select = Query::select()
            .columns([
                T::Failures,
                T::WindowStartedAt,
                T::NextAllowedAt,
                T::LockedUntil,
            ])
            .from(T::Table)
            .and_where(Expr::col(T::Key).eq(key))
            .to_owned();
        let row: ThrottleRow = tx.fetch_one(&select).await?;
        let (failures, window_started_at) = if row.window_started_at + window < now {
            (1, now)
        } else {
            (row.failures + 1, row.window_started_at)
        };
        let (threshold, free) = match kind {
            ThrottleKind::Account => (
                i64::from(cfg.lockout_threshold),
                i64::from(cfg.throttle_free_attempts),
            ),
            ThrottleKind::Address => (i64::from(cfg.ip_lockout_threshold), i64::MAX),
        };
        let mut locked_until = row.locked_until.filter(|u| *u > now);
        let mut outcome = FailureOutcome::Counted;
        if failures >= threshold && locked_until.is_none() {
            let until = now + window;
            locked_until = Some(until);
            outcome = FailureOutcome::LockedNow { failures, until };
        }
        let next_allowed = if failures >= free {
            let exp = u32::try_from(Ord::min(failures - free, 6)).unwrap_or(6);
            Some(now + Duration::seconds(Ord::min(2i64.pow(exp), 60)))
        } else {
            None
        };
        let update = Query::update()
            .table(T::Table)
            .values([
                (T::Failures, failures.into()),
                (T::WindowStartedAt, window_started_at.into()),
                (T::NextAllowedAt, next_allowed.into()),
                (T::LockedUntil, locked_until.into()),
                (T::UpdatedAt, now.into()),
            ])
            .and_where(Expr::col(T::Key).eq(key))
            .to_owned();
        tx.execute(&update).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Clears the counters of `keys` after a success.
    pub(crate) async fn throttle_clear(&self, keys: &[String]) -> Result<()> {
        let stmt = Query::delete()
            .from_table(T::Table)
            .and_where(Expr::col(T::Key).is_in(keys.iter().cloned()))
            .to_owned();
        self.db().execute(&stmt).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifier_keys_are_keyed_and_ignore_case_and_spaces() {
        let a = account_key("key-one", " Owner@Example.com ");
        assert_eq!(a, account_key("key-one", "owner@example.com"));
        assert_ne!(a, account_key("key-two", "owner@example.com"));
        // Without the key the plain SHA-256 of the identifier does not match.
        assert_ne!(
            a,
            format!(
                "acct:{}",
                kiki_credentials::tokens::token_hash("owner@example.com")
            )
        );
        assert!(!a.contains("owner"));
        let u = uuid::Uuid::now_v7();
        assert_eq!(user_key(u), format!("user:{u}"));
    }
}
