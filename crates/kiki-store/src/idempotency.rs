//! Idempotency keys: the rows behind the `Idempotency-Key` request header
//! (IETF draft-ietf-httpapi-idempotency-key-header). The edge claims a key
//! for a caller before the handler runs, stores the answer afterwards, and
//! answers a retry with the stored answer. This module only keeps the rows;
//! what a caller and a request are is the edge's business.

use sea_query::{Expr, ExprTrait, OnConflict, Query};
use time::OffsetDateTime;

use crate::db::Db;
use crate::error::StoreError;
use crate::schema::IdempotencyKeys as K;

/// How long a key is remembered.
pub const IDEMPOTENCY_RETENTION: time::Duration = time::Duration::days(1);

/// A stored answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub status: u16,
    pub content_type: Option<String>,
    pub location: Option<String>,
    pub body: String,
}

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is new (or an abandoned claim was taken over): run the request.
    Claimed,
    /// The same request was answered before: send this again.
    Replay(StoredAnswer),
    /// The key was used with a different request.
    Mismatch,
    /// The first request with this key is still running.
    InProgress,
}

#[derive(sqlx::FromRow)]
struct Row {
    request_hash: String,
    status: Option<i64>,
    content_type: Option<String>,
    location: Option<String>,
    body: Option<String>,
    created_at: OffsetDateTime,
}

/// The `idempotency_keys` table.
#[derive(Debug, Clone)]
pub struct IdempotencyKeys {
    db: Db,
}

impl IdempotencyKeys {
    pub fn new(db: Db) -> Self {
        IdempotencyKeys { db }
    }

    /// Claims `key` for `owner` and the request `request_hash`. A claim that
    /// is still unanswered after `abandoned_after` (its process died) is
    /// taken over.
    pub async fn claim(
        &self,
        owner: &str,
        key: &str,
        request_hash: &str,
        now: OffsetDateTime,
        abandoned_after: time::Duration,
    ) -> Result<Claim, StoreError> {
        let insert = Query::insert()
            .into_table(K::Table)
            .columns([K::Owner, K::IdemKey, K::RequestHash, K::CreatedAt])
            .values_panic([owner.into(), key.into(), request_hash.into(), now.into()])
            .on_conflict(
                OnConflict::columns([K::Owner, K::IdemKey])
                    .do_nothing()
                    .to_owned(),
            )
            .to_owned();
        if self.db.execute(&insert).await? == 1 {
            return Ok(Claim::Claimed);
        }
        let select = Query::select()
            .columns([
                K::RequestHash,
                K::Status,
                K::ContentType,
                K::Location,
                K::Body,
                K::CreatedAt,
            ])
            .from(K::Table)
            .and_where(Expr::col(K::Owner).eq(owner))
            .and_where(Expr::col(K::IdemKey).eq(key))
            .to_owned();
        let Some(row) = self.db.fetch_optional::<Row, _>(&select).await? else {
            // Deleted between the two statements (housekeeping): claim again.
            return Box::pin(self.claim(owner, key, request_hash, now, abandoned_after)).await;
        };
        if row.request_hash != request_hash {
            return Ok(Claim::Mismatch);
        }
        match row.status {
            Some(status) => Ok(Claim::Replay(StoredAnswer {
                status: u16::try_from(status).unwrap_or(500),
                content_type: row.content_type,
                location: row.location,
                body: row.body.unwrap_or_default(),
            })),
            None if row.created_at + abandoned_after <= now => {
                // Take over only if nobody else did in between.
                let take = Query::update()
                    .table(K::Table)
                    .value(K::CreatedAt, now)
                    .and_where(Expr::col(K::Owner).eq(owner))
                    .and_where(Expr::col(K::IdemKey).eq(key))
                    .and_where(Expr::col(K::Status).is_null())
                    .and_where(Expr::col(K::CreatedAt).eq(row.created_at))
                    .to_owned();
                Ok(if self.db.execute(&take).await? == 1 {
                    Claim::Claimed
                } else {
                    Claim::InProgress
                })
            }
            None => Ok(Claim::InProgress),
        }
    }

    /// Stores the answer of a claimed key.
    pub async fn complete(
        &self,
        owner: &str,
        key: &str,
        answer: &StoredAnswer,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let stmt = Query::update()
            .table(K::Table)
            .value(K::Status, i64::from(answer.status))
            .value(K::ContentType, answer.content_type.clone())
            .value(K::Location, answer.location.clone())
            .value(K::Body, answer.body.clone())
            .value(K::CompletedAt, now)
            .and_where(Expr::col(K::Owner).eq(owner))
            .and_where(Expr::col(K::IdemKey).eq(key))
            .to_owned();
        self.db.execute(&stmt).await?;
        Ok(())
    }

    /// Forgets a claimed key whose request failed in a way a retry may fix
    /// (a server error, a rate limit), so the retry runs.
    pub async fn release(&self, owner: &str, key: &str) -> Result<(), StoreError> {
        let stmt = Query::delete()
            .from_table(K::Table)
            .and_where(Expr::col(K::Owner).eq(owner))
            .and_where(Expr::col(K::IdemKey).eq(key))
            .and_where(Expr::col(K::Status).is_null())
            .to_owned();
        self.db.execute(&stmt).await?;
        Ok(())
    }

    /// Deletes keys created before `cutoff` (housekeeping).
    pub async fn purge_before(&self, cutoff: OffsetDateTime) -> Result<u64, StoreError> {
        let stmt = Query::delete()
            .from_table(K::Table)
            .and_where(Expr::col(K::CreatedAt).lt(cutoff))
            .to_owned();
        self.db.execute(&stmt).await
    }
}
