//! `sandbox_objects` and `sandbox_days`: the sandbox market's own state, as
//! a platform would hold it on its side.

use kiki_core::OrgId;
use kiki_store::{Db, StoreError};
use sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use time::OffsetDateTime;

use super::schema::{SandboxDays as D, SandboxObjects as O};

/// One object in the sandbox.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct SandboxObject {
    pub id: String,
    pub kind: String,
    pub parent_id: Option<String>,
    pub status: String,
    pub spec: String,
    pub first_live_day: Option<String>,
}

const COLUMNS: [O; 6] = [
    O::Id,
    O::Kind,
    O::ParentId,
    O::Status,
    O::Spec,
    O::FirstLiveDay,
];

pub(crate) async fn insert(
    db: &Db,
    org: OrgId,
    platform: &str,
    o: &SandboxObject,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(O::Table)
        .columns([
            O::OrgId,
            O::Platform,
            O::Id,
            O::Kind,
            O::ParentId,
            O::Status,
            O::Spec,
            O::FirstLiveDay,
            O::CreatedAt,
            O::UpdatedAt,
        ])
        .values_panic([
            org.0.into(),
            platform.into(),
            o.id.as_str().into(),
            o.kind.as_str().into(),
            o.parent_id.clone().into(),
            o.status.as_str().into(),
            o.spec.as_str().into(),
            o.first_live_day.clone().into(),
            now.into(),
            now.into(),
        ])
        .to_owned();
    db.execute(&stmt).await?;
    Ok(())
}

pub(crate) async fn get(
    db: &Db,
    org: OrgId,
    platform: &str,
    id: &str,
) -> Result<Option<SandboxObject>, StoreError> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(O::Table)
        .and_where(Expr::col(O::OrgId).eq(org.0))
        .and_where(Expr::col(O::Platform).eq(platform))
        .and_where(Expr::col(O::Id).eq(id))
        .to_owned();
    db.fetch_optional(&stmt).await
}

/// Objects of a kind, optionally under one parent.
pub(crate) async fn of_kind(
    db: &Db,
    org: OrgId,
    platform: &str,
    kind: &str,
    parent: Option<&str>,
) -> Result<Vec<SandboxObject>, StoreError> {
    let mut stmt = Query::select()
        .columns(COLUMNS)
        .from(O::Table)
        .and_where(Expr::col(O::OrgId).eq(org.0))
        .and_where(Expr::col(O::Platform).eq(platform))
        .and_where(Expr::col(O::Kind).eq(kind))
        .order_by(O::Id, Order::Asc)
        .to_owned();
    if let Some(p) = parent {
        stmt.and_where(Expr::col(O::ParentId).eq(p));
    }
    db.fetch_all(&stmt).await
}

/// Updates an object's status and spec (and its first live day when set).
pub(crate) async fn update(
    db: &Db,
    org: OrgId,
    platform: &str,
    o: &SandboxObject,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(O::Table)
        .values([
            (O::Status, o.status.as_str().into()),
            (O::Spec, o.spec.as_str().into()),
            (O::FirstLiveDay, o.first_live_day.clone().into()),
            (O::UpdatedAt, now.into()),
        ])
        .and_where(Expr::col(O::OrgId).eq(org.0))
        .and_where(Expr::col(O::Platform).eq(platform))
        .and_where(Expr::col(O::Id).eq(o.id.as_str()))
        .to_owned();
    db.execute(&stmt).await
}

/// One delivered day of an ad set.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub(crate) struct DayRow {
    pub ad_set_id: String,
    pub day: String,
    pub spend_micros: i64,
    pub impressions: i64,
    pub reach: i64,
    pub clicks: i64,
    pub conversions: i64,
    pub conversion_value_micros: i64,
    pub frequency: f64,
}

/// Records delivered days; a day already delivered keeps its numbers.
pub(crate) async fn insert_days(
    db: &Db,
    org: OrgId,
    platform: &str,
    rows: &[DayRow],
) -> Result<u64, StoreError> {
    let mut n = 0;
    for chunk in rows.chunks(300) {
        let mut stmt = Query::insert()
            .into_table(D::Table)
            .columns([
                D::OrgId,
                D::Platform,
                D::AdSetId,
                D::Day,
                D::SpendMicros,
                D::Impressions,
                D::Reach,
                D::Clicks,
                D::Conversions,
                D::ConversionValueMicros,
                D::Frequency,
            ])
            .on_conflict(
                OnConflict::columns([D::OrgId, D::Platform, D::AdSetId, D::Day])
                    .do_nothing()
                    .to_owned(),
            )
            .to_owned();
        for r in chunk {
            stmt.values_panic([
                org.0.into(),
                platform.into(),
                r.ad_set_id.as_str().into(),
                r.day.as_str().into(),
                r.spend_micros.into(),
                r.impressions.into(),
                r.reach.into(),
                r.clicks.into(),
                r.conversions.into(),
                r.conversion_value_micros.into(),
                r.frequency.into(),
            ]);
        }
        n += db.execute(&stmt).await?;
    }
    Ok(n)
}

/// Delivered days of some ad sets between two days (inclusive).
pub(crate) async fn days(
    db: &Db,
    org: OrgId,
    platform: &str,
    ad_sets: &[String],
    since: &str,
    until: &str,
) -> Result<Vec<DayRow>, StoreError> {
    if ad_sets.is_empty() {
        return Ok(Vec::new());
    }
    let stmt = Query::select()
        .columns([
            D::AdSetId,
            D::Day,
            D::SpendMicros,
            D::Impressions,
            D::Reach,
            D::Clicks,
            D::Conversions,
            D::ConversionValueMicros,
            D::Frequency,
        ])
        .from(D::Table)
        .and_where(Expr::col(D::OrgId).eq(org.0))
        .and_where(Expr::col(D::Platform).eq(platform))
        .and_where(Expr::col(D::AdSetId).is_in(ad_sets.iter().map(String::as_str)))
        .and_where(Expr::col(D::Day).gte(since))
        .and_where(Expr::col(D::Day).lte(until))
        .order_by(D::Day, Order::Asc)
        .order_by(D::AdSetId, Order::Asc)
        .to_owned();
    db.fetch_all(&stmt).await
}

/// The last delivered day of an ad set.
pub(crate) async fn last_day(
    db: &Db,
    org: OrgId,
    platform: &str,
    ad_set: &str,
) -> Result<Option<String>, StoreError> {
    let stmt = Query::select()
        .expr(Expr::col(D::Day).max())
        .from(D::Table)
        .and_where(Expr::col(D::OrgId).eq(org.0))
        .and_where(Expr::col(D::Platform).eq(platform))
        .and_where(Expr::col(D::AdSetId).eq(ad_set))
        .to_owned();
    let row: Option<(Option<String>,)> = db.fetch_optional(&stmt).await?;
    Ok(row.and_then(|r| r.0))
}
