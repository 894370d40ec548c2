//! `campaign_approvals` and `campaign_approval_comments`.

use kiki_core::OrgId;
use kiki_store::{Db, StoreError, Tx};
use sea_query::{Expr, ExprTrait, Order, Query};
use time::OffsetDateTime;
use uuid::Uuid;

use super::schema::{CampaignApprovalComments as K, CampaignApprovals as P};
use super::{Key, after};

/// A stored approval row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ApprovalRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub campaign_id: Uuid,
    pub kind: String,
    pub status: String,
    pub requested_by: String,
    pub reason: Option<String>,
    pub daily_budget_micros: Option<i64>,
    pub total_budget_micros: Option<i64>,
    pub simulation_id: Option<Uuid>,
    pub decided_by: Option<String>,
    pub decided_at: Option<OffsetDateTime>,
    pub decision_comment: Option<String>,
    pub created_at: OffsetDateTime,
}

const COLUMNS: [P; 14] = [
    P::Id,
    P::OrgId,
    P::CampaignId,
    P::Kind,
    P::Status,
    P::RequestedBy,
    P::Reason,
    P::DailyBudgetMicros,
    P::TotalBudgetMicros,
    P::SimulationId,
    P::DecidedBy,
    P::DecidedAt,
    P::DecisionComment,
    P::CreatedAt,
];

/// A stored comment row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct CommentRow {
    pub id: Uuid,
    pub approval_id: Uuid,
    pub author: String,
    pub body: String,
    pub created_at: OffsetDateTime,
}

/// A new pending approval.
pub(crate) struct NewApproval<'a> {
    pub id: Uuid,
    pub org: OrgId,
    pub campaign: Uuid,
    pub kind: &'a str,
    pub requested_by: &'a str,
    pub reason: Option<&'a str>,
    pub daily_budget_micros: Option<i64>,
    pub total_budget_micros: Option<i64>,
    pub simulation: Option<Uuid>,
    pub now: OffsetDateTime,
}

pub(crate) async fn insert(tx: &mut Tx<'_>, a: NewApproval<'_>) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(P::Table)
        .columns([
            P::Id,
            P::OrgId,
            P::CampaignId,
            P::Kind,
            P::Status,
            P::RequestedBy,
            P::Reason,
            P::DailyBudgetMicros,
            P::TotalBudgetMicros,
            P::SimulationId,
            P::CreatedAt,
            P::UpdatedAt,
        ])
        .values_panic([
            a.id.into(),
            a.org.0.into(),
            a.campaign.into(),
            a.kind.into(),
            "pending".into(),
            a.requested_by.into(),
            a.reason.map(str::to_owned).into(),
            a.daily_budget_micros.into(),
            a.total_budget_micros.into(),
            a.simulation.into(),
            a.now.into(),
            a.now.into(),
        ])
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}

/// Decides a pending approval; false when it is no longer pending.
pub(crate) async fn decide(
    tx: &mut Tx<'_>,
    org: OrgId,
    id: Uuid,
    status: &str,
    by: &str,
    comment: Option<&str>,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let stmt = Query::update()
        .table(P::Table)
        .value(P::Status, status)
        .value(P::DecidedBy, by)
        .value(P::DecidedAt, now)
        .value(P::DecisionComment, comment.map(str::to_owned))
        .value(P::UpdatedAt, now)
        .and_where(Expr::col(P::Id).eq(id))
        .and_where(Expr::col(P::OrgId).eq(org.0))
        .and_where(Expr::col(P::Status).eq("pending"))
        .to_owned();
    Ok(tx.execute(&stmt).await? > 0)
}

/// Withdraws every pending approval of a campaign (of `kind`, or of any
/// kind); returns how many.
pub(crate) async fn withdraw_pending(
    tx: &mut Tx<'_>,
    org: OrgId,
    campaign: Uuid,
    kind: Option<&str>,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let mut stmt = Query::update()
        .table(P::Table)
        .value(P::Status, "withdrawn")
        .value(P::UpdatedAt, now)
        .and_where(Expr::col(P::OrgId).eq(org.0))
        .and_where(Expr::col(P::CampaignId).eq(campaign))
        .and_where(Expr::col(P::Status).eq("pending"))
        .to_owned();
    if let Some(k) = kind {
        stmt.and_where(Expr::col(P::Kind).eq(k));
    }
    tx.execute(&stmt).await
}

pub(crate) async fn get(db: &Db, org: OrgId, id: Uuid) -> Result<Option<ApprovalRow>, StoreError> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(P::Table)
        .and_where(Expr::col(P::Id).eq(id))
        .and_where(Expr::col(P::OrgId).eq(org.0))
        .to_owned();
    db.fetch_optional(&stmt).await
}

/// Up to `fetch` approvals of an organisation, newest first, optionally of
/// one status and one campaign.
pub(crate) async fn list(
    db: &Db,
    org: OrgId,
    status: Option<&str>,
    campaign: Option<Uuid>,
    fetch: u64,
    key: Option<Key>,
) -> Result<Vec<ApprovalRow>, StoreError> {
    let mut stmt = Query::select()
        .columns(COLUMNS)
        .from(P::Table)
        .and_where(Expr::col(P::OrgId).eq(org.0))
        .order_by(P::CreatedAt, Order::Desc)
        .order_by(P::Id, Order::Desc)
        .limit(fetch)
        .to_owned();
    if let Some(s) = status {
        stmt.and_where(Expr::col(P::Status).eq(s));
    }
    if let Some(c) = campaign {
        stmt.and_where(Expr::col(P::CampaignId).eq(c));
    }
    after(&mut stmt, P::CreatedAt, P::Id, key);
    db.fetch_all(&stmt).await
}

pub(crate) async fn insert_comment(
    tx: &mut Tx<'_>,
    org: OrgId,
    approval: Uuid,
    author: &str,
    body: &str,
    now: OffsetDateTime,
) -> Result<Uuid, StoreError> {
    let id = Uuid::now_v7();
    let stmt = Query::insert()
        .into_table(K::Table)
        .columns([
            K::Id,
            K::OrgId,
            K::ApprovalId,
            K::Author,
            K::Body,
            K::CreatedAt,
        ])
        .values_panic([
            id.into(),
            org.0.into(),
            approval.into(),
            author.into(),
            body.into(),
            now.into(),
        ])
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(id)
}

/// The comments of some approvals of `org`, oldest first (at most 200 each
/// is the API's promise; the caller bounds the approvals).
pub(crate) async fn comments(
    db: &Db,
    org: OrgId,
    approvals: &[Uuid],
) -> Result<Vec<CommentRow>, StoreError> {
    if approvals.is_empty() {
        return Ok(Vec::new());
    }
    let stmt = Query::select()
        .columns([K::Id, K::ApprovalId, K::Author, K::Body, K::CreatedAt])
        .from(K::Table)
        .and_where(Expr::col(K::OrgId).eq(org.0))
        .and_where(Expr::col(K::ApprovalId).is_in(approvals.iter().copied()))
        .order_by(K::CreatedAt, Order::Asc)
        .order_by(K::Id, Order::Asc)
        .to_owned();
    db.fetch_all(&stmt).await
}

/// How many comments an approval has.
pub(crate) async fn comment_count(
    tx: &mut Tx<'_>,
    org: OrgId,
    approval: Uuid,
) -> Result<i64, StoreError> {
    #[derive(sqlx::FromRow)]
    struct N {
        n: i64,
    }
    let stmt = Query::select()
        .expr_as(
            sea_query::Func::count(Expr::col(K::Id)),
            sea_query::Alias::new("n"),
        )
        .from(K::Table)
        .and_where(Expr::col(K::OrgId).eq(org.0))
        .and_where(Expr::col(K::ApprovalId).eq(approval))
        .to_owned();
    let n: N = tx.fetch_one(&stmt).await?;
    Ok(n.n)
}
