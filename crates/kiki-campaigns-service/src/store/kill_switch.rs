//! `campaign_kill_switches`.

use kiki_core::OrgId;
use kiki_store::{Db, StoreError, Tx};
use sea_query::{Expr, ExprTrait, Order, Query};
use serde_json::Value;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::schema::CampaignKillSwitches as K;

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct KillSwitchRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub reason: String,
    pub orgs: Json<Value>,
    pub paused: Json<Value>,
    pub engaged_by: String,
    pub engaged_at: OffsetDateTime,
    pub released_by: Option<String>,
    pub released_at: Option<OffsetDateTime>,
    pub resumed: Option<Json<Value>>,
}

const COLUMNS: [K; 10] = [
    K::Id,
    K::OrgId,
    K::Reason,
    K::Orgs,
    K::Paused,
    K::EngagedBy,
    K::EngagedAt,
    K::ReleasedBy,
    K::ReleasedAt,
    K::Resumed,
];

pub(crate) struct NewKillSwitch<'a> {
    pub id: Uuid,
    pub org: OrgId,
    pub reason: &'a str,
    pub orgs: Value,
    pub paused: Value,
    pub by: &'a str,
    pub now: OffsetDateTime,
}

pub(crate) async fn insert(tx: &mut Tx<'_>, k: NewKillSwitch<'_>) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(K::Table)
        .columns([
            K::Id,
            K::OrgId,
            K::Reason,
            K::Orgs,
            K::Paused,
            K::EngagedBy,
            K::EngagedAt,
        ])
        .values_panic([
            k.id.into(),
            k.org.0.into(),
            k.reason.into(),
            k.orgs.into(),
            k.paused.into(),
            k.by.into(),
            k.now.into(),
        ])
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}

/// Marks an engaged switch released; false when it was released already.
pub(crate) async fn release(
    tx: &mut Tx<'_>,
    org: OrgId,
    id: Uuid,
    by: &str,
    resumed: Value,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let stmt = Query::update()
        .table(K::Table)
        .value(K::ReleasedBy, by)
        .value(K::ReleasedAt, now)
        .value(K::Resumed, resumed)
        .and_where(Expr::col(K::Id).eq(id))
        .and_where(Expr::col(K::OrgId).eq(org.0))
        .and_where(Expr::col(K::ReleasedAt).is_null())
        .to_owned();
    Ok(tx.execute(&stmt).await? > 0)
}

/// The organisation's newest kill switch (engaged or released).
pub(crate) async fn latest(db: &Db, org: OrgId) -> Result<Option<KillSwitchRow>, StoreError> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(K::Table)
        .and_where(Expr::col(K::OrgId).eq(org.0))
        .order_by(K::EngagedAt, Order::Desc)
        .order_by(K::Id, Order::Desc)
        .limit(1)
        .to_owned();
    db.fetch_optional(&stmt).await
}

/// The organisation's engaged kill switch, inside a change.
pub(crate) async fn engaged(
    tx: &mut Tx<'_>,
    org: OrgId,
) -> Result<Option<KillSwitchRow>, StoreError> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(K::Table)
        .and_where(Expr::col(K::OrgId).eq(org.0))
        .and_where(Expr::col(K::ReleasedAt).is_null())
        .order_by(K::EngagedAt, Order::Desc)
        .limit(1)
        .to_owned();
    tx.fetch_optional(&stmt).await
}
