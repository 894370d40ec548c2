//! Queries on `analytics_schedules`: scheduled reports. Every read and
//! write names the organisation, except [`due`], the scheduler's look over
//! all organisations for runs that are due (it returns each row's
//! organisation, and every later step names it).

use kiki_core::OrgId;
use kiki_store::{Db, StoreError};
use sea_query::{Expr, ExprTrait, Order, Query};
use time::OffsetDateTime;
use uuid::Uuid;

use super::schema::AnalyticsSchedules as S;

/// A schedule's row (also what is written).
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ScheduleRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub report: String,
    pub format: String,
    pub query: String,
    pub recipients: String,
    pub cadence: String,
    pub hour: i64,
    pub weekday: Option<i64>,
    pub day_of_month: Option<i64>,
    pub time_zone: String,
    pub range_days: Option<i64>,
    pub enabled: bool,
    pub next_run_at: Option<OffsetDateTime>,
    pub last_run_at: Option<OffsetDateTime>,
    pub last_result: Option<String>,
    pub created_by: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

const COLUMNS: [S; 20] = [
    S::Id,
    S::OrgId,
    S::Name,
    S::Report,
    S::Format,
    S::Query,
    S::Recipients,
    S::Cadence,
    S::Hour,
    S::Weekday,
    S::DayOfMonth,
    S::TimeZone,
    S::RangeDays,
    S::Enabled,
    S::NextRunAt,
    S::LastRunAt,
    S::LastResult,
    S::CreatedBy,
    S::CreatedAt,
    S::UpdatedAt,
];

pub(crate) async fn insert(tx: &mut kiki_store::Tx<'_>, r: &ScheduleRow) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(S::Table)
        .columns(COLUMNS)
        .values_panic([
            r.id.into(),
            r.org_id.into(),
            r.name.as_str().into(),
            r.report.as_str().into(),
            r.format.as_str().into(),
            r.query.as_str().into(),
            r.recipients.as_str().into(),
            r.cadence.as_str().into(),
            r.hour.into(),
            r.weekday.into(),
            r.day_of_month.into(),
            r.time_zone.as_str().into(),
            r.range_days.into(),
            r.enabled.into(),
            r.next_run_at.into(),
            r.last_run_at.into(),
            r.last_result.clone().into(),
            r.created_by.as_str().into(),
            r.created_at.into(),
            r.updated_at.into(),
        ])
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}

/// Replaces what an edit may change (everything but the id, organisation,
/// author, creation time and the last run).
pub(crate) async fn update(
    tx: &mut kiki_store::Tx<'_>,
    r: &ScheduleRow,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(S::Table)
        .values([
            (S::Name, r.name.as_str().into()),
            (S::Report, r.report.as_str().into()),
            (S::Format, r.format.as_str().into()),
            (S::Query, r.query.as_str().into()),
            (S::Recipients, r.recipients.as_str().into()),
            (S::Cadence, r.cadence.as_str().into()),
            (S::Hour, r.hour.into()),
            (S::Weekday, r.weekday.into()),
            (S::DayOfMonth, r.day_of_month.into()),
            (S::TimeZone, r.time_zone.as_str().into()),
            (S::RangeDays, r.range_days.into()),
            (S::Enabled, r.enabled.into()),
            (S::NextRunAt, r.next_run_at.into()),
            (S::UpdatedAt, r.updated_at.into()),
        ])
        .and_where(Expr::col(S::OrgId).eq(r.org_id))
        .and_where(Expr::col(S::Id).eq(r.id))
        .to_owned();
    tx.execute(&stmt).await
}

pub(crate) async fn get(db: &Db, org: OrgId, id: Uuid) -> Result<Option<ScheduleRow>, StoreError> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(S::Table)
        .and_where(Expr::col(S::OrgId).eq(org.0))
        .and_where(Expr::col(S::Id).eq(id))
        .to_owned();
    db.fetch_optional(&stmt).await
}

/// The organisation's schedules, oldest first (at most `limit`).
pub(crate) async fn list(db: &Db, org: OrgId, limit: u64) -> Result<Vec<ScheduleRow>, StoreError> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(S::Table)
        .and_where(Expr::col(S::OrgId).eq(org.0))
        .order_by(S::CreatedAt, Order::Asc)
        .order_by(S::Id, Order::Asc)
        .limit(limit)
        .to_owned();
    db.fetch_all(&stmt).await
}

pub(crate) async fn count(db: &Db, org: OrgId) -> Result<i64, StoreError> {
    #[derive(sqlx::FromRow)]
    struct N {
        n: i64,
    }
    let stmt = Query::select()
        .expr_as(Expr::col(S::Id).count(), "n")
        .from(S::Table)
        .and_where(Expr::col(S::OrgId).eq(org.0))
        .to_owned();
    Ok(db.fetch_optional::<N, _>(&stmt).await?.map_or(0, |r| r.n))
}

pub(crate) async fn delete(
    tx: &mut kiki_store::Tx<'_>,
    org: OrgId,
    id: Uuid,
) -> Result<u64, StoreError> {
    let stmt = Query::delete()
        .from_table(S::Table)
        .and_where(Expr::col(S::OrgId).eq(org.0))
        .and_where(Expr::col(S::Id).eq(id))
        .to_owned();
    tx.execute(&stmt).await
}

/// Enabled schedules whose run is due at `now`, earliest first, across
/// organisations (the scheduler's look).
pub(crate) async fn due(
    db: &Db,
    now: OffsetDateTime,
    limit: u64,
) -> Result<Vec<ScheduleRow>, StoreError> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(S::Table)
        .and_where(Expr::col(S::Enabled).eq(true))
        .and_where(Expr::col(S::NextRunAt).lte(now))
        .order_by(S::NextRunAt, Order::Asc)
        .order_by(S::Id, Order::Asc)
        .limit(limit)
        .to_owned();
    db.fetch_all(&stmt).await
}

/// Takes the run due at `was`: moves `next_run_at` to `next` only if it
/// still holds `was` (1 when this caller took it, 0 when another did).
pub(crate) async fn take_run(
    tx: &mut kiki_store::Tx<'_>,
    org: OrgId,
    id: Uuid,
    was: OffsetDateTime,
    next: Option<OffsetDateTime>,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(S::Table)
        .value(S::NextRunAt, next)
        .and_where(Expr::col(S::OrgId).eq(org.0))
        .and_where(Expr::col(S::Id).eq(id))
        .and_where(Expr::col(S::NextRunAt).eq(was))
        .to_owned();
    tx.execute(&stmt).await
}

/// Records a run's outcome.
pub(crate) async fn record_run(
    db: &Db,
    org: OrgId,
    id: Uuid,
    at: OffsetDateTime,
    result: &str,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(S::Table)
        .values([(S::LastRunAt, at.into()), (S::LastResult, result.into())])
        .and_where(Expr::col(S::OrgId).eq(org.0))
        .and_where(Expr::col(S::Id).eq(id))
        .to_owned();
    db.execute(&stmt).await
}
