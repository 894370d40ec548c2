//! The notifications tables (migration `0026_notifications.sql`) and every
//! query on them, crate-private. Every query names the organisation. The
//! table identifiers are in `schema.rs`.

mod schema;

use kiki_core::OrgId;
use kiki_store::{Db, StoreError, Tx};
use sea_query::{
    Expr, ExprTrait, Func, OnConflict, Order, Query, SelectStatement, UpdateStatement,
};
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use schema::{NotificationSettings as S, Notifications as N};

/// The position of a row in a (created_at desc, id desc) list.
pub(crate) type Key = (OffsetDateTime, Uuid);

/// A stored notification.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct NotificationRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub kind: String,
    pub severity: String,
    pub subject_type: String,
    pub subject_id: String,
    pub title: String,
    pub body: String,
    pub link: String,
    pub occurrences: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub read_at: Option<OffsetDateTime>,
    pub resolved_at: Option<OffsetDateTime>,
    pub dismissed_at: Option<OffsetDateTime>,
    pub emailed_at: Option<OffsetDateTime>,
}

const COLUMNS: [N; 16] = [
    N::Id,
    N::OrgId,
    N::Kind,
    N::Severity,
    N::SubjectType,
    N::SubjectId,
    N::Title,
    N::Body,
    N::Link,
    N::Occurrences,
    N::CreatedAt,
    N::UpdatedAt,
    N::ReadAt,
    N::ResolvedAt,
    N::DismissedAt,
    N::EmailedAt,
];

/// Open: neither resolved nor dismissed.
fn open(stmt: &mut SelectStatement) {
    stmt.and_where(Expr::col(N::ResolvedAt).is_null())
        .and_where(Expr::col(N::DismissedAt).is_null());
}

fn open_update(stmt: &mut UpdateStatement) {
    stmt.and_where(Expr::col(N::ResolvedAt).is_null())
        .and_where(Expr::col(N::DismissedAt).is_null());
}

/// The open notification of a kind about a subject.
pub(crate) async fn open_of(
    tx: &mut Tx<'_>,
    org: OrgId,
    kind: &str,
    subject_type: &str,
    subject_id: &str,
) -> Result<Option<NotificationRow>, StoreError> {
    let mut stmt = Query::select()
        .columns(COLUMNS)
        .from(N::Table)
        .and_where(Expr::col(N::OrgId).eq(org.0))
        .and_where(Expr::col(N::Kind).eq(kind))
        .and_where(Expr::col(N::SubjectType).eq(subject_type))
        .and_where(Expr::col(N::SubjectId).eq(subject_id))
        .to_owned();
    open(&mut stmt);
    tx.fetch_optional(&stmt).await
}

pub(crate) async fn insert(tx: &mut Tx<'_>, r: &NotificationRow) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(N::Table)
        .columns(COLUMNS)
        .values_panic([
            r.id.into(),
            r.org_id.into(),
            r.kind.clone().into(),
            r.severity.clone().into(),
            r.subject_type.clone().into(),
            r.subject_id.clone().into(),
            r.title.clone().into(),
            r.body.clone().into(),
            r.link.clone().into(),
            r.occurrences.into(),
            r.created_at.into(),
            r.updated_at.into(),
            r.read_at.into(),
            r.resolved_at.into(),
            r.dismissed_at.into(),
            r.emailed_at.into(),
        ])
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}

/// A repeat of an open notification: its text follows the latest figures
/// and its count grows.
pub(crate) async fn repeat(
    tx: &mut Tx<'_>,
    org: OrgId,
    id: Uuid,
    (severity, title, body, link): (&str, &str, &str, &str),
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let mut stmt = Query::update()
        .table(N::Table)
        .value(N::Severity, severity)
        .value(N::Title, title)
        .value(N::Body, body)
        .value(N::Link, link)
        .value(N::Occurrences, Expr::col(N::Occurrences).add(1))
        .value(N::UpdatedAt, now)
        .and_where(Expr::col(N::OrgId).eq(org.0))
        .and_where(Expr::col(N::Id).eq(id))
        .to_owned();
    open_update(&mut stmt);
    tx.execute(&stmt).await
}

/// Resolves the open notification of a kind about a subject; how many.
pub(crate) async fn resolve(
    tx: &mut Tx<'_>,
    org: OrgId,
    kind: &str,
    subject_type: &str,
    subject_id: &str,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let mut stmt = Query::update()
        .table(N::Table)
        .value(N::ResolvedAt, now)
        .value(N::UpdatedAt, now)
        .and_where(Expr::col(N::OrgId).eq(org.0))
        .and_where(Expr::col(N::Kind).eq(kind))
        .and_where(Expr::col(N::SubjectType).eq(subject_type))
        .and_where(Expr::col(N::SubjectId).eq(subject_id))
        .to_owned();
    open_update(&mut stmt);
    tx.execute(&stmt).await
}

/// Which notifications a list shows (never the dismissed ones).
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    /// Only unread ones that still hold (not read, not resolved).
    pub unread: bool,
    pub kind: Option<String>,
}

impl Filter {
    fn apply(&self, stmt: &mut SelectStatement, org: OrgId) {
        stmt.and_where(Expr::col(N::OrgId).eq(org.0))
            .and_where(Expr::col(N::DismissedAt).is_null());
        if self.unread {
            stmt.and_where(Expr::col(N::ReadAt).is_null())
                .and_where(Expr::col(N::ResolvedAt).is_null());
        }
        if let Some(k) = &self.kind {
            stmt.and_where(Expr::col(N::Kind).eq(k.as_str()));
        }
    }
}

/// A page of the organisation's notifications, newest first.
pub(crate) async fn list(
    db: &Db,
    org: OrgId,
    filter: &Filter,
    fetch: u64,
    key: Option<Key>,
) -> Result<Vec<NotificationRow>, StoreError> {
    let mut stmt = Query::select()
        .columns(COLUMNS)
        .from(N::Table)
        .order_by(N::CreatedAt, Order::Desc)
        .order_by(N::Id, Order::Desc)
        .limit(fetch)
        .to_owned();
    filter.apply(&mut stmt, org);
    if let Some((at, id)) = key {
        kiki_store::keyset::after(
            &mut stmt,
            &[(N::CreatedAt, Order::Desc), (N::Id, Order::Desc)],
            vec![sea_query::Value::from(at), sea_query::Value::from(id)],
        );
    }
    db.fetch_all(&stmt).await
}

#[derive(Debug, sqlx::FromRow)]
struct CountRow {
    n: i64,
}

/// How many notifications are unread and still hold.
pub(crate) async fn unread_count(db: &Db, org: OrgId) -> Result<i64, StoreError> {
    let mut stmt = Query::select()
        .expr_as(Expr::col(N::Id).count(), "n")
        .from(N::Table)
        .to_owned();
    Filter {
        unread: true,
        kind: None,
    }
    .apply(&mut stmt, org);
    let row: CountRow = db.fetch_one(&stmt).await?;
    Ok(row.n)
}

/// One notification of the organisation, unless dismissed.
pub(crate) async fn get(
    db: &Db,
    org: OrgId,
    id: Uuid,
) -> Result<Option<NotificationRow>, StoreError> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(N::Table)
        .and_where(Expr::col(N::OrgId).eq(org.0))
        .and_where(Expr::col(N::Id).eq(id))
        .and_where(Expr::col(N::DismissedAt).is_null())
        .to_owned();
    db.fetch_optional(&stmt).await
}

/// Marks one notification read (the first time only); how many rows
/// matched (0: not the organisation's, or dismissed).
pub(crate) async fn mark_read(
    tx: &mut Tx<'_>,
    org: OrgId,
    id: Uuid,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(N::Table)
        .value(
            N::ReadAt,
            Func::coalesce([Expr::col(N::ReadAt), Expr::val(now)]),
        )
        .and_where(Expr::col(N::OrgId).eq(org.0))
        .and_where(Expr::col(N::Id).eq(id))
        .and_where(Expr::col(N::DismissedAt).is_null())
        .to_owned();
    tx.execute(&stmt).await
}

/// Marks every unread notification of the organisation read; how many.
pub(crate) async fn mark_all_read(
    tx: &mut Tx<'_>,
    org: OrgId,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(N::Table)
        .value(N::ReadAt, now)
        .and_where(Expr::col(N::OrgId).eq(org.0))
        .and_where(Expr::col(N::ReadAt).is_null())
        .and_where(Expr::col(N::DismissedAt).is_null())
        .to_owned();
    tx.execute(&stmt).await
}

/// Dismisses a notification (hidden from lists; a repeat of its cause opens
/// a new one); how many rows matched.
pub(crate) async fn dismiss(
    tx: &mut Tx<'_>,
    org: OrgId,
    id: Uuid,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(N::Table)
        .value(N::DismissedAt, now)
        .and_where(Expr::col(N::OrgId).eq(org.0))
        .and_where(Expr::col(N::Id).eq(id))
        .and_where(Expr::col(N::DismissedAt).is_null())
        .to_owned();
    tx.execute(&stmt).await
}

/// Notes that a notification was mailed.
pub(crate) async fn set_emailed(
    db: &Db,
    org: OrgId,
    id: Uuid,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let stmt = Query::update()
        .table(N::Table)
        .value(N::EmailedAt, now)
        .and_where(Expr::col(N::OrgId).eq(org.0))
        .and_where(Expr::col(N::Id).eq(id))
        .to_owned();
    db.execute(&stmt).await
}

/// An organisation's stored thresholds.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct SettingsRow {
    pub roas_target: f64,
    pub budget_tolerance_pct: i64,
    pub kinds_off: Json<Vec<String>>,
}

pub(crate) async fn settings(db: &Db, org: OrgId) -> Result<Option<SettingsRow>, StoreError> {
    let stmt = Query::select()
        .columns([S::RoasTarget, S::BudgetTolerancePct, S::KindsOff])
        .from(S::Table)
        .and_where(Expr::col(S::OrgId).eq(org.0))
        .to_owned();
    db.fetch_optional(&stmt).await
}

pub(crate) async fn put_settings(
    tx: &mut Tx<'_>,
    org: OrgId,
    s: &SettingsRow,
    by: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(S::Table)
        .columns([
            S::OrgId,
            S::RoasTarget,
            S::BudgetTolerancePct,
            S::KindsOff,
            S::UpdatedBy,
            S::UpdatedAt,
        ])
        .values_panic([
            org.0.into(),
            s.roas_target.into(),
            s.budget_tolerance_pct.into(),
            serde_json::json!(s.kinds_off.0).into(),
            by.into(),
            now.into(),
        ])
        .on_conflict(
            OnConflict::column(S::OrgId)
                .update_columns([
                    S::RoasTarget,
                    S::BudgetTolerancePct,
                    S::KindsOff,
                    S::UpdatedBy,
                    S::UpdatedAt,
                ])
                .to_owned(),
        )
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}
