//! The conversions tables (migration `0016_conversions.sql`) and every
//! query on them, crate-private. Every read and write of tenant rows names
//! the organisation, except the two credential look-ups (by signing key id,
//! by site key), which find the organisation a credential belongs to. The
//! table identifiers are in `schema.rs`.

mod schema;

use kiki_core::OrgId;
use kiki_store::{Db, StoreError, Tx};
use sea_query::{Alias, Cond, Expr, ExprTrait, Func, OnConflict, Order, Query, SelectStatement};
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use schema::{ConversionKeys as K, Conversions as C};

/// The registered encrypted columns (key rotation re-encrypts them; the
/// associated data is `conversion_keys.<column>:<org id>`).
pub const ENCRYPTED_COLUMNS: &[kiki_shield::EncryptedColumn] = &[
    kiki_shield::EncryptedColumn {
        table: KEYS_TABLE,
        id_column: "org_id",
        column: "secret",
    },
    kiki_shield::EncryptedColumn {
        table: KEYS_TABLE,
        id_column: "org_id",
        column: "previous_secret",
    },
];

/// The credentials table's name (the encryption's associated data).
pub const KEYS_TABLE: &str = "conversion_keys";

/// The position of a row in an (occurred_at desc, id desc) list.
pub(crate) type Key = (OffsetDateTime, Uuid);

/// A stored conversion.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ConversionRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub order_id: String,
    pub click_id: String,
    pub campaign_id: Uuid,
    pub line_item_id: Uuid,
    pub creative_id: String,
    pub bid_id: String,
    pub clicked_at: OffsetDateTime,
    pub value_micros: i64,
    pub currency: String,
    pub occurred_at: OffsetDateTime,
    pub occurred_day: String,
    pub customer_id: Option<String>,
    pub source: String,
    pub recorded_by: String,
    pub recorded_at: OffsetDateTime,
}

const C_COLUMNS: [C; 17] = [
    C::Id,
    C::OrgId,
    C::OrderId,
    C::ClickId,
    C::CampaignId,
    C::LineItemId,
    C::CreativeId,
    C::BidId,
    C::ClickedAt,
    C::ValueMicros,
    C::Currency,
    C::OccurredAt,
    C::OccurredDay,
    C::CustomerId,
    C::Source,
    C::RecordedBy,
    C::RecordedAt,
];

pub(crate) async fn insert_conversion(
    tx: &mut Tx<'_>,
    r: &ConversionRow,
) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(C::Table)
        .columns(C_COLUMNS)
        .values_panic([
            r.id.into(),
            r.org_id.into(),
            r.order_id.clone().into(),
            r.click_id.clone().into(),
            r.campaign_id.into(),
            r.line_item_id.into(),
            r.creative_id.clone().into(),
            r.bid_id.clone().into(),
            r.clicked_at.into(),
            r.value_micros.into(),
            r.currency.clone().into(),
            r.occurred_at.into(),
            r.occurred_day.clone().into(),
            r.customer_id.clone().into(),
            r.source.clone().into(),
            r.recorded_by.clone().into(),
            r.recorded_at.into(),
        ])
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}

/// Whether a unique violation is the (organisation, order id) index.
pub(crate) fn is_order_taken(e: &StoreError) -> bool {
    // PostgreSQL names the index, SQLite its columns; both hold `order_id`.
    e.is_unique_violation_on("order_id")
}

/// The organisation's conversion of an order.
pub(crate) async fn conversion_by_order(
    db: &Db,
    org: OrgId,
    order_id: &str,
) -> Result<Option<ConversionRow>, StoreError> {
    let stmt = Query::select()
        .columns(C_COLUMNS)
        .from(C::Table)
        .and_where(Expr::col(C::OrgId).eq(org.0))
        .and_where(Expr::col(C::OrderId).eq(order_id))
        .to_owned();
    db.fetch_optional(&stmt).await
}

/// Which conversions a list or summary covers: one campaign or all, and a
/// range of UTC days (`YYYY-MM-DD`, both included).
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    pub campaign: Option<Uuid>,
    pub since: Option<String>,
    pub until: Option<String>,
}

impl Filter {
    fn apply(&self, stmt: &mut SelectStatement, org: OrgId) {
        stmt.and_where(Expr::col(C::OrgId).eq(org.0));
        if let Some(c) = self.campaign {
            stmt.and_where(Expr::col(C::CampaignId).eq(c));
        }
        if let Some(s) = &self.since {
            stmt.and_where(Expr::col(C::OccurredDay).gte(s.as_str()));
        }
        if let Some(u) = &self.until {
            stmt.and_where(Expr::col(C::OccurredDay).lte(u.as_str()));
        }
    }
}

/// A page of the organisation's conversions, latest order first.
pub(crate) async fn list_conversions(
    db: &Db,
    org: OrgId,
    filter: &Filter,
    fetch: u64,
    key: Option<Key>,
) -> Result<Vec<ConversionRow>, StoreError> {
    let mut stmt = Query::select()
        .columns(C_COLUMNS)
        .from(C::Table)
        .order_by(C::OccurredAt, Order::Desc)
        .order_by(C::Id, Order::Desc)
        .limit(fetch)
        .to_owned();
    filter.apply(&mut stmt, org);
    if let Some((at, id)) = key {
        kiki_store::keyset::after(
            &mut stmt,
            &[(C::OccurredAt, Order::Desc), (C::Id, Order::Desc)],
            vec![sea_query::Value::from(at), sea_query::Value::from(id)],
        );
    }
    db.fetch_all(&stmt).await
}

/// One (day, campaign, currency) group of conversions.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct DailyRow {
    pub occurred_day: String,
    pub campaign_id: Uuid,
    pub currency: String,
    pub conversions: i64,
    pub value_micros: Option<i64>,
}

/// Conversions and their value per day, campaign and currency, oldest day
/// first.
pub(crate) async fn daily(
    db: &Db,
    org: OrgId,
    filter: &Filter,
) -> Result<Vec<DailyRow>, StoreError> {
    let mut stmt = Query::select()
        .columns([C::OccurredDay, C::CampaignId, C::Currency])
        .expr_as(Func::count(Expr::col(C::Id)), Alias::new("conversions"))
        // PostgreSQL sums BIGINT as NUMERIC; cast back so both backends decode i64.
        .expr_as(
            Func::cast_as(Func::sum(Expr::col(C::ValueMicros)), Alias::new("BIGINT")),
            Alias::new("value_micros"),
        )
        .from(C::Table)
        .group_by_col(C::OccurredDay)
        .group_by_col(C::CampaignId)
        .group_by_col(C::Currency)
        .order_by(C::OccurredDay, Order::Asc)
        .order_by(C::CampaignId, Order::Asc)
        .order_by(C::Currency, Order::Asc)
        .to_owned();
    filter.apply(&mut stmt, org);
    db.fetch_all(&stmt).await
}

/// One (day, campaign, line item, currency) group of conversions.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct LineItemDayRow {
    pub occurred_day: String,
    pub campaign_id: Uuid,
    pub line_item_id: Uuid,
    pub currency: String,
    pub conversions: i64,
    pub value_micros: Option<i64>,
}

/// Conversions and their value per day, campaign, line item and currency,
/// oldest day first.
pub(crate) async fn daily_by_line_item(
    db: &Db,
    org: OrgId,
    filter: &Filter,
) -> Result<Vec<LineItemDayRow>, StoreError> {
    let mut stmt = Query::select()
        .columns([C::OccurredDay, C::CampaignId, C::LineItemId, C::Currency])
        .expr_as(Func::count(Expr::col(C::Id)), Alias::new("conversions"))
        // PostgreSQL sums BIGINT as NUMERIC; cast back so both backends decode i64.
        .expr_as(
            Func::cast_as(Func::sum(Expr::col(C::ValueMicros)), Alias::new("BIGINT")),
            Alias::new("value_micros"),
        )
        .from(C::Table)
        .group_by_col(C::OccurredDay)
        .group_by_col(C::CampaignId)
        .group_by_col(C::LineItemId)
        .group_by_col(C::Currency)
        .order_by(C::OccurredDay, Order::Asc)
        .order_by(C::CampaignId, Order::Asc)
        .order_by(C::LineItemId, Order::Asc)
        .order_by(C::Currency, Order::Asc)
        .to_owned();
    filter.apply(&mut stmt, org);
    db.fetch_all(&stmt).await
}

/// An organisation's conversion credentials (secrets encrypted).
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct KeysRow {
    pub org_id: Uuid,
    pub secret_id: Option<String>,
    pub secret: Option<String>,
    pub secret_created_at: Option<OffsetDateTime>,
    pub previous_secret_id: Option<String>,
    pub previous_secret: Option<String>,
    pub previous_expires_at: Option<OffsetDateTime>,
    pub site_key: Option<String>,
    pub allowed_origins: Json<Vec<String>>,
    pub site_key_created_at: Option<OffsetDateTime>,
}

const K_COLUMNS: [K; 10] = [
    K::OrgId,
    K::SecretId,
    K::Secret,
    K::SecretCreatedAt,
    K::PreviousSecretId,
    K::PreviousSecret,
    K::PreviousExpiresAt,
    K::SiteKey,
    K::AllowedOrigins,
    K::SiteKeyCreatedAt,
];

pub(crate) async fn keys_of(db: &Db, org: OrgId) -> Result<Option<KeysRow>, StoreError> {
    let stmt = Query::select()
        .columns(K_COLUMNS)
        .from(K::Table)
        .and_where(Expr::col(K::OrgId).eq(org.0))
        .to_owned();
    db.fetch_optional(&stmt).await
}

/// The credentials whose current or previous signing key is `key_id`.
pub(crate) async fn keys_by_secret_id(
    db: &Db,
    key_id: &str,
) -> Result<Option<KeysRow>, StoreError> {
    let stmt = Query::select()
        .columns(K_COLUMNS)
        .from(K::Table)
        .cond_where(
            Cond::any()
                .add(Expr::col(K::SecretId).eq(key_id))
                .add(Expr::col(K::PreviousSecretId).eq(key_id)),
        )
        .to_owned();
    db.fetch_optional(&stmt).await
}

/// The credentials whose site key is `site_key`.
pub(crate) async fn keys_by_site_key(
    db: &Db,
    site_key: &str,
) -> Result<Option<KeysRow>, StoreError> {
    let stmt = Query::select()
        .columns(K_COLUMNS)
        .from(K::Table)
        .and_where(Expr::col(K::SiteKey).eq(site_key))
        .to_owned();
    db.fetch_optional(&stmt).await
}

/// A new signing secret (encrypted) and the one it replaces.
pub(crate) struct SecretWrite<'a> {
    pub secret_id: &'a str,
    pub secret: &'a str,
    pub previous: Option<(&'a str, &'a str, OffsetDateTime)>,
}

/// Writes the organisation's signing secret, creating its row if needed.
pub(crate) async fn put_secret(
    tx: &mut Tx<'_>,
    org: OrgId,
    w: &SecretWrite<'_>,
    by: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let (prev_id, prev, prev_until) = match w.previous {
        Some((id, s, until)) => (Some(id), Some(s), Some(until)),
        None => (None, None, None),
    };
    let stmt = Query::insert()
        .into_table(K::Table)
        .columns([
            K::OrgId,
            K::SecretId,
            K::Secret,
            K::SecretCreatedAt,
            K::PreviousSecretId,
            K::PreviousSecret,
            K::PreviousExpiresAt,
            K::AllowedOrigins,
            K::UpdatedBy,
            K::UpdatedAt,
        ])
        .values_panic([
            org.0.into(),
            w.secret_id.into(),
            w.secret.into(),
            now.into(),
            prev_id.into(),
            prev.into(),
            prev_until.into(),
            serde_json::json!([]).into(),
            by.into(),
            now.into(),
        ])
        .on_conflict(
            OnConflict::column(K::OrgId)
                .update_columns([
                    K::SecretId,
                    K::Secret,
                    K::SecretCreatedAt,
                    K::PreviousSecretId,
                    K::PreviousSecret,
                    K::PreviousExpiresAt,
                    K::UpdatedBy,
                    K::UpdatedAt,
                ])
                .to_owned(),
        )
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}

/// Writes the organisation's site key and origins, creating its row if
/// needed.
pub(crate) async fn put_site(
    tx: &mut Tx<'_>,
    org: OrgId,
    (site_key, created_at): (&str, OffsetDateTime),
    origins: &[String],
    by: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(K::Table)
        .columns([
            K::OrgId,
            K::SiteKey,
            K::SiteKeyCreatedAt,
            K::AllowedOrigins,
            K::UpdatedBy,
            K::UpdatedAt,
        ])
        .values_panic([
            org.0.into(),
            site_key.into(),
            created_at.into(),
            serde_json::json!(origins).into(),
            by.into(),
            now.into(),
        ])
        .on_conflict(
            OnConflict::column(K::OrgId)
                .update_columns([
                    K::SiteKey,
                    K::SiteKeyCreatedAt,
                    K::AllowedOrigins,
                    K::UpdatedBy,
                    K::UpdatedAt,
                ])
                .to_owned(),
        )
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}
