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

#[derive(Debug, Clone, sqlx::FromRow)]
struct CountRow {
    n: i64,
}

/// How many objects of `kind` the organisation's sandbox account on
/// `platform` holds: the next one's number, less one.
pub(crate) async fn count_of_kind(
    db: &Db,
    org: OrgId,
    platform: &str,
    kind: &str,
) -> Result<i64, StoreError> {
    let stmt = Query::select()
        .expr_as(Expr::col(O::Id).count(), "n")
        .from(O::Table)
        .and_where(Expr::col(O::OrgId).eq(org.0))
        .and_where(Expr::col(O::Platform).eq(platform))
        .and_where(Expr::col(O::Kind).eq(kind))
        .to_owned();
    let row: CountRow = db.fetch_one(&stmt).await?;
    Ok(row.n)
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

/// Rows per statement of an insert of days (11 values each: within
/// SQLite's and PostgreSQL's limits on bound values).
const DAY_ROWS_PER_STATEMENT: usize = 1_000;
/// Ids per `IN` list.
const IDS_PER_QUERY: usize = 500;

/// Every object of the account, by id: one read for a whole pass.
pub(crate) async fn all(
    db: &Db,
    org: OrgId,
    platform: &str,
) -> Result<Vec<SandboxObject>, StoreError> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(O::Table)
        .and_where(Expr::col(O::OrgId).eq(org.0))
        .and_where(Expr::col(O::Platform).eq(platform))
        .order_by(O::Id, Order::Asc)
        .to_owned();
    db.fetch_all(&stmt).await
}

/// Objects of a kind under any of some parents.
pub(crate) async fn children(
    db: &Db,
    org: OrgId,
    platform: &str,
    kind: &str,
    parents: &[String],
) -> Result<Vec<SandboxObject>, StoreError> {
    let mut out = Vec::new();
    for chunk in parents.chunks(IDS_PER_QUERY) {
        let stmt = Query::select()
            .columns(COLUMNS)
            .from(O::Table)
            .and_where(Expr::col(O::OrgId).eq(org.0))
            .and_where(Expr::col(O::Platform).eq(platform))
            .and_where(Expr::col(O::Kind).eq(kind))
            .and_where(Expr::col(O::ParentId).is_in(chunk.iter().map(String::as_str)))
            .order_by(O::Id, Order::Asc)
            .to_owned();
        out.extend(db.fetch_all::<SandboxObject, _>(&stmt).await?);
    }
    Ok(out)
}

/// Objects by id.
pub(crate) async fn by_ids(
    db: &Db,
    org: OrgId,
    platform: &str,
    ids: &[String],
) -> Result<Vec<SandboxObject>, StoreError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(IDS_PER_QUERY) {
        let stmt = Query::select()
            .columns(COLUMNS)
            .from(O::Table)
            .and_where(Expr::col(O::OrgId).eq(org.0))
            .and_where(Expr::col(O::Platform).eq(platform))
            .and_where(Expr::col(O::Id).is_in(chunk.iter().map(String::as_str)))
            .order_by(O::Id, Order::Asc)
            .to_owned();
        out.extend(db.fetch_all::<SandboxObject, _>(&stmt).await?);
    }
    Ok(out)
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

/// Records delivered days in one transaction; a day already delivered keeps
/// its numbers.
pub(crate) async fn insert_days(
    db: &Db,
    org: OrgId,
    platform: &str,
    rows: &[DayRow],
) -> Result<u64, StoreError> {
    if rows.is_empty() {
        return Ok(0);
    }
    let mut tx = db.begin().await?;
    let mut n = 0;
    for chunk in rows.chunks(DAY_ROWS_PER_STATEMENT) {
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
        n += tx.execute(&stmt).await?;
    }
    tx.commit().await?;
    Ok(n)
}

/// The account's delivered days between two days (inclusive), by day and
/// ad set; `converting`: only days with a conversion.
pub(crate) async fn days(
    db: &Db,
    org: OrgId,
    platform: &str,
    since: &str,
    until: &str,
    converting: bool,
) -> Result<Vec<DayRow>, StoreError> {
    let mut stmt = Query::select()
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
        .and_where(Expr::col(D::Day).gte(since))
        .and_where(Expr::col(D::Day).lte(until))
        .order_by(D::Day, Order::Asc)
        .order_by(D::AdSetId, Order::Asc)
        .to_owned();
    if converting {
        stmt.and_where(Expr::col(D::Conversions).gt(0));
    }
    db.fetch_all(&stmt).await
}

/// The last delivered day of each ad set of the account that has one, or
/// of the ad sets named.
pub(crate) async fn last_days(
    db: &Db,
    org: OrgId,
    platform: &str,
    ad_sets: Option<&[String]>,
) -> Result<Vec<(String, String)>, StoreError> {
    let base = Query::select()
        .column(D::AdSetId)
        .expr(Expr::col(D::Day).max())
        .from(D::Table)
        .and_where(Expr::col(D::OrgId).eq(org.0))
        .and_where(Expr::col(D::Platform).eq(platform))
        .group_by_col(D::AdSetId)
        .to_owned();
    let rows: Vec<(String, Option<String>)> = match ad_sets {
        None => db.fetch_all(&base).await?,
        Some(ids) => {
            let mut out = Vec::new();
            for chunk in ids.chunks(IDS_PER_QUERY) {
                let mut stmt = base.clone();
                stmt.and_where(Expr::col(D::AdSetId).is_in(chunk.iter().map(String::as_str)));
                out.extend(db.fetch_all::<(String, Option<String>), _>(&stmt).await?);
            }
            out
        }
    };
    Ok(rows
        .into_iter()
        .filter_map(|(id, day)| day.map(|d| (id, d)))
        .collect())
}
