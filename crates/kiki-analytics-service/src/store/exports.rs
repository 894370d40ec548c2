//! Queries on `analytics_exports`: the export jobs' rows and their files.
//! Every read and write names the organisation.

use kiki_core::OrgId;
use kiki_store::{Db, StoreError};
use sea_query::{Expr, ExprTrait, Order, Query};
use time::OffsetDateTime;
use uuid::Uuid;

use super::schema::AnalyticsExports as X;

/// A new export row.
#[derive(Debug, Clone)]
pub(crate) struct ExportInsert {
    pub id: Uuid,
    pub job_id: Uuid,
    pub report: String,
    pub format: String,
    pub query: String,
    pub requested_by: String,
    pub created_at: OffsetDateTime,
}

/// An export row without its content.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ExportRow {
    pub id: Uuid,
    pub job_id: Uuid,
    pub report: String,
    pub format: String,
    pub query: String,
    pub file_name: Option<String>,
    pub size_bytes: Option<i64>,
    pub row_count: Option<i64>,
    pub created_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
    pub expires_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct ContentRow {
    content: Option<String>,
}

const COLUMNS: [X; 11] = [
    X::Id,
    X::JobId,
    X::Report,
    X::Format,
    X::Query,
    X::FileName,
    X::SizeBytes,
    X::RowCount,
    X::CreatedAt,
    X::FinishedAt,
    X::ExpiresAt,
];

pub(crate) async fn insert(
    tx: &mut kiki_store::Tx<'_>,
    org: OrgId,
    e: &ExportInsert,
) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(X::Table)
        .columns([
            X::Id,
            X::OrgId,
            X::JobId,
            X::Report,
            X::Format,
            X::Query,
            X::RequestedBy,
            X::CreatedAt,
        ])
        .values_panic([
            e.id.into(),
            org.0.into(),
            e.job_id.into(),
            e.report.as_str().into(),
            e.format.as_str().into(),
            e.query.as_str().into(),
            e.requested_by.as_str().into(),
            e.created_at.into(),
        ])
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}

pub(crate) async fn get(db: &Db, org: OrgId, id: Uuid) -> Result<Option<ExportRow>, StoreError> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(X::Table)
        .and_where(Expr::col(X::OrgId).eq(org.0))
        .and_where(Expr::col(X::Id).eq(id))
        .to_owned();
    db.fetch_optional(&stmt).await
}

/// The organisation's exports, newest first.
pub(crate) async fn list(db: &Db, org: OrgId, limit: u64) -> Result<Vec<ExportRow>, StoreError> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(X::Table)
        .and_where(Expr::col(X::OrgId).eq(org.0))
        .order_by(X::CreatedAt, Order::Desc)
        .order_by(X::Id, Order::Desc)
        .limit(limit)
        .to_owned();
    db.fetch_all(&stmt).await
}

/// The stored file (base64), while it has not been dropped.
pub(crate) async fn content(db: &Db, org: OrgId, id: Uuid) -> Result<Option<String>, StoreError> {
    let stmt = Query::select()
        .column(X::Content)
        .from(X::Table)
        .and_where(Expr::col(X::OrgId).eq(org.0))
        .and_where(Expr::col(X::Id).eq(id))
        .to_owned();
    Ok(db
        .fetch_optional::<ContentRow, _>(&stmt)
        .await?
        .and_then(|r| r.content))
}

/// Stores a finished file and when its link expires.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn finish(
    db: &Db,
    org: OrgId,
    id: Uuid,
    file_name: &str,
    media_type: &str,
    content_b64: String,
    size_bytes: i64,
    row_count: i64,
    finished_at: OffsetDateTime,
    expires_at: OffsetDateTime,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(X::Table)
        .values([
            (X::FileName, file_name.into()),
            (X::MediaType, media_type.into()),
            (X::Content, content_b64.into()),
            (X::SizeBytes, size_bytes.into()),
            (X::RowCount, row_count.into()),
            (X::FinishedAt, finished_at.into()),
            (X::ExpiresAt, expires_at.into()),
        ])
        .and_where(Expr::col(X::OrgId).eq(org.0))
        .and_where(Expr::col(X::Id).eq(id))
        .to_owned();
    db.execute(&stmt).await
}

/// Drops the files of the organisation's exports whose links have
/// expired (the rows stay, to answer 410).
pub(crate) async fn drop_expired(
    db: &Db,
    org: OrgId,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(X::Table)
        .value(X::Content, Option::<String>::None)
        .and_where(Expr::col(X::OrgId).eq(org.0))
        .and_where(Expr::col(X::ExpiresAt).lte(now))
        .and_where(Expr::col(X::Content).is_not_null())
        .to_owned();
    db.execute(&stmt).await
}

/// Deletes an export row (a scheduled report's copy whose mail did not go).
pub(crate) async fn delete(db: &Db, org: OrgId, id: Uuid) -> Result<u64, StoreError> {
    let stmt = Query::delete()
        .from_table(X::Table)
        .and_where(Expr::col(X::OrgId).eq(org.0))
        .and_where(Expr::col(X::Id).eq(id))
        .to_owned();
    db.execute(&stmt).await
}
