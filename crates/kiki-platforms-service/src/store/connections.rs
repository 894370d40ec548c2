//! `platform_connections` and `platform_oauth_states`. The token columns hold
//! field-encrypted values (`kiki_shield::Keyring`), never the tokens.

use kiki_core::OrgId;
use kiki_store::{Db, StoreError, Tx};
use sea_query::{Expr, ExprTrait, Order, Query};
use time::OffsetDateTime;
use uuid::Uuid;

use super::schema::{PlatformConnections as C, PlatformOauthStates as S};

/// The registered encrypted columns (key rotation re-encrypts them).
pub const ENCRYPTED_COLUMNS: &[kiki_shield::EncryptedColumn] = &[
    kiki_shield::EncryptedColumn {
        table: "platform_connections",
        id_column: "id",
        column: "access_token",
    },
    kiki_shield::EncryptedColumn {
        table: "platform_connections",
        id_column: "id",
        column: "refresh_token",
    },
];

/// A stored connection.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ConnectionRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub platform: String,
    pub mode: String,
    pub status: String,
    pub account_id: String,
    pub account_name: String,
    pub currency: String,
    pub time_zone: String,
    pub login_customer_id: Option<String>,
    /// Encrypted.
    pub access_token: Option<String>,
    /// Encrypted.
    pub refresh_token: Option<String>,
    pub token_expires_at: Option<OffsetDateTime>,
    pub scope: Option<String>,
    pub last_error: Option<String>,
    pub last_checked_at: Option<OffsetDateTime>,
    pub last_synced_day: Option<String>,
    pub version: i64,
    pub created_by: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

const COLUMNS: [C; 21] = [
    C::Id,
    C::OrgId,
    C::Platform,
    C::Mode,
    C::Status,
    C::AccountId,
    C::AccountName,
    C::Currency,
    C::TimeZone,
    C::LoginCustomerId,
    C::AccessToken,
    C::RefreshToken,
    C::TokenExpiresAt,
    C::Scope,
    C::LastError,
    C::LastCheckedAt,
    C::LastSyncedDay,
    C::Version,
    C::CreatedBy,
    C::CreatedAt,
    C::UpdatedAt,
];

pub(crate) async fn list(db: &Db, org: OrgId) -> Result<Vec<ConnectionRow>, StoreError> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(C::Table)
        .and_where(Expr::col(C::OrgId).eq(org.0))
        .order_by(C::Platform, Order::Asc)
        .to_owned();
    db.fetch_all(&stmt).await
}

pub(crate) async fn get(
    db: &Db,
    org: OrgId,
    platform: &str,
) -> Result<Option<ConnectionRow>, StoreError> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(C::Table)
        .and_where(Expr::col(C::OrgId).eq(org.0))
        .and_where(Expr::col(C::Platform).eq(platform))
        .to_owned();
    db.fetch_optional(&stmt).await
}

/// Organisations with a connected platform, and the platform (the sync sweep).
pub(crate) async fn connected(db: &Db) -> Result<Vec<(Uuid, String)>, StoreError> {
    let stmt = Query::select()
        .columns([C::OrgId, C::Platform])
        .from(C::Table)
        .and_where(Expr::col(C::Status).eq("connected"))
        .order_by(C::OrgId, Order::Asc)
        .order_by(C::Platform, Order::Asc)
        .to_owned();
    let rows: Vec<(Uuid, String)> = db.fetch_all(&stmt).await?;
    Ok(rows)
}

/// Organisations with a connected sandbox, and the platform (the
/// accelerated market's sweep).
pub(crate) async fn connected_sandboxes(db: &Db) -> Result<Vec<(Uuid, String)>, StoreError> {
    let stmt = Query::select()
        .columns([C::OrgId, C::Platform])
        .from(C::Table)
        .and_where(Expr::col(C::Status).eq("connected"))
        .and_where(Expr::col(C::Mode).eq("sandbox"))
        .order_by(C::OrgId, Order::Asc)
        .order_by(C::Platform, Order::Asc)
        .to_owned();
    let rows: Vec<(Uuid, String)> = db.fetch_all(&stmt).await?;
    Ok(rows)
}

/// Inserts or replaces the organisation's connection to `r.platform` (a
/// re-connect keeps the row's id, so the platform objects stay mapped).
pub(crate) async fn upsert(tx: &mut Tx<'_>, r: &ConnectionRow) -> Result<Uuid, StoreError> {
    let existing: Option<(Uuid, i64)> = tx
        .fetch_optional(
            &Query::select()
                .columns([C::Id, C::Version])
                .from(C::Table)
                .and_where(Expr::col(C::OrgId).eq(r.org_id))
                .and_where(Expr::col(C::Platform).eq(r.platform.as_str()))
                .to_owned(),
        )
        .await?;
    if let Some((id, version)) = existing {
        let stmt = Query::update()
            .table(C::Table)
            .values([
                (C::Mode, r.mode.as_str().into()),
                (C::Status, r.status.as_str().into()),
                (C::AccountId, r.account_id.as_str().into()),
                (C::AccountName, r.account_name.as_str().into()),
                (C::Currency, r.currency.as_str().into()),
                (C::TimeZone, r.time_zone.as_str().into()),
                (C::LoginCustomerId, r.login_customer_id.clone().into()),
                (C::AccessToken, r.access_token.clone().into()),
                (C::RefreshToken, r.refresh_token.clone().into()),
                (C::TokenExpiresAt, r.token_expires_at.into()),
                (C::Scope, r.scope.clone().into()),
                (C::LastError, r.last_error.clone().into()),
                (C::LastCheckedAt, r.last_checked_at.into()),
                (C::Version, (version + 1).into()),
                (C::UpdatedAt, r.updated_at.into()),
            ])
            .and_where(Expr::col(C::Id).eq(id))
            .and_where(Expr::col(C::OrgId).eq(r.org_id))
            .to_owned();
        tx.execute(&stmt).await?;
        return Ok(id);
    }
    let stmt = Query::insert()
        .into_table(C::Table)
        .columns(COLUMNS)
        .values_panic([
            r.id.into(),
            r.org_id.into(),
            r.platform.as_str().into(),
            r.mode.as_str().into(),
            r.status.as_str().into(),
            r.account_id.as_str().into(),
            r.account_name.as_str().into(),
            r.currency.as_str().into(),
            r.time_zone.as_str().into(),
            r.login_customer_id.clone().into(),
            r.access_token.clone().into(),
            r.refresh_token.clone().into(),
            r.token_expires_at.into(),
            r.scope.clone().into(),
            r.last_error.clone().into(),
            r.last_checked_at.into(),
            r.last_synced_day.clone().into(),
            r.version.into(),
            r.created_by.as_str().into(),
            r.created_at.into(),
            r.updated_at.into(),
        ])
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(r.id)
}

/// Health after a call: status, the error (or none), when it was checked.
pub(crate) async fn set_health(
    db: &Db,
    org: OrgId,
    id: Uuid,
    status: &str,
    error: Option<&str>,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let stmt = Query::update()
        .table(C::Table)
        .values([
            (C::Status, status.into()),
            (C::LastError, error.map(str::to_owned).into()),
            (C::LastCheckedAt, now.into()),
            (C::UpdatedAt, now.into()),
        ])
        .and_where(Expr::col(C::Id).eq(id))
        .and_where(Expr::col(C::OrgId).eq(org.0))
        .to_owned();
    db.execute(&stmt).await?;
    Ok(())
}

/// New tokens after a refresh (both encrypted).
pub(crate) async fn set_tokens(
    db: &Db,
    org: OrgId,
    id: Uuid,
    access: &str,
    refresh: Option<&str>,
    expires_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let stmt = Query::update()
        .table(C::Table)
        .values([
            (C::AccessToken, access.into()),
            (C::RefreshToken, refresh.map(str::to_owned).into()),
            (C::TokenExpiresAt, expires_at.into()),
            (C::Status, "connected".into()),
            (C::LastError, Option::<String>::None.into()),
            (C::LastCheckedAt, now.into()),
            (C::UpdatedAt, now.into()),
        ])
        .and_where(Expr::col(C::Id).eq(id))
        .and_where(Expr::col(C::OrgId).eq(org.0))
        .to_owned();
    db.execute(&stmt).await?;
    Ok(())
}

/// The last day a sync covered.
pub(crate) async fn set_synced_day(
    tx: &mut Tx<'_>,
    org: OrgId,
    id: Uuid,
    day: &str,
) -> Result<(), StoreError> {
    let stmt = Query::update()
        .table(C::Table)
        .values([(C::LastSyncedDay, day.into())])
        .and_where(Expr::col(C::Id).eq(id))
        .and_where(Expr::col(C::OrgId).eq(org.0))
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}

/// Marks the connection disconnected and forgets its tokens.
pub(crate) async fn disconnect(
    tx: &mut Tx<'_>,
    org: OrgId,
    id: Uuid,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(C::Table)
        .values([
            (C::Status, "disconnected".into()),
            (C::AccessToken, Option::<String>::None.into()),
            (C::RefreshToken, Option::<String>::None.into()),
            (C::TokenExpiresAt, Option::<OffsetDateTime>::None.into()),
            (C::UpdatedAt, now.into()),
        ])
        .and_where(Expr::col(C::Id).eq(id))
        .and_where(Expr::col(C::OrgId).eq(org.0))
        .to_owned();
    tx.execute(&stmt).await
}

/// A connection being made.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct StateRow {
    pub state_hash: String,
    pub org_id: Uuid,
    pub platform: String,
    /// Encrypted.
    pub code_verifier: String,
    pub redirect_uri: String,
    pub account_id: String,
    pub login_customer_id: Option<String>,
    pub created_by: String,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

pub(crate) async fn insert_state(tx: &mut Tx<'_>, r: &StateRow) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(S::Table)
        .columns([
            S::StateHash,
            S::OrgId,
            S::Platform,
            S::CodeVerifier,
            S::RedirectUri,
            S::AccountId,
            S::LoginCustomerId,
            S::CreatedBy,
            S::CreatedAt,
            S::ExpiresAt,
        ])
        .values_panic([
            r.state_hash.as_str().into(),
            r.org_id.into(),
            r.platform.as_str().into(),
            r.code_verifier.as_str().into(),
            r.redirect_uri.as_str().into(),
            r.account_id.as_str().into(),
            r.login_customer_id.clone().into(),
            r.created_by.as_str().into(),
            r.created_at.into(),
            r.expires_at.into(),
        ])
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}

/// Takes a state (deletes it: a state is used once) of the organisation.
pub(crate) async fn take_state(
    tx: &mut Tx<'_>,
    org: OrgId,
    state_hash: &str,
) -> Result<Option<StateRow>, StoreError> {
    let row: Option<StateRow> = tx
        .fetch_optional(
            &Query::select()
                .columns([
                    S::StateHash,
                    S::OrgId,
                    S::Platform,
                    S::CodeVerifier,
                    S::RedirectUri,
                    S::AccountId,
                    S::LoginCustomerId,
                    S::CreatedBy,
                    S::CreatedAt,
                    S::ExpiresAt,
                ])
                .from(S::Table)
                .and_where(Expr::col(S::StateHash).eq(state_hash))
                .and_where(Expr::col(S::OrgId).eq(org.0))
                .to_owned(),
        )
        .await?;
    if row.is_some() {
        tx.execute(
            &Query::delete()
                .from_table(S::Table)
                .and_where(Expr::col(S::StateHash).eq(state_hash))
                .and_where(Expr::col(S::OrgId).eq(org.0))
                .to_owned(),
        )
        .await?;
    }
    Ok(row)
}

/// Forgets the organisation's expired states.
pub(crate) async fn purge_states(
    tx: &mut Tx<'_>,
    org: OrgId,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    tx.execute(
        &Query::delete()
            .from_table(S::Table)
            .and_where(Expr::col(S::OrgId).eq(org.0))
            .and_where(Expr::col(S::ExpiresAt).lt(now))
            .to_owned(),
    )
    .await
}
