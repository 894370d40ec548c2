//! `twin_budgets`, `twin_rebalance_runs` and `twin_rebalancing_shifts`.

use kiki_allocator::BudgetShift;
use kiki_core::{Currency, OrgId};
use kiki_store::{Db, StoreError, Tx};
use kiki_twin::Platform;
use sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use time::OffsetDateTime;
use uuid::Uuid;

use super::Key;
use super::schema::{TwinBudgets as B, TwinRebalanceRuns as R, TwinRebalancingShifts as Sh};
use crate::domain::BudgetLine;

/// One platform's daily budget and bounds.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct BudgetRow {
    pub platform: String,
    pub currency: String,
    pub daily_budget_micros: i64,
    pub min_daily_budget_micros: i64,
    pub max_daily_budget_micros: Option<i64>,
}

/// A stored budget shift.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ShiftRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub period_key: String,
    pub currency: String,
    pub from_platform: String,
    pub to_platform: String,
    pub amount_micros: i64,
    pub from_budget_before_micros: i64,
    pub from_budget_after_micros: i64,
    pub to_budget_before_micros: i64,
    pub to_budget_after_micros: i64,
    pub from_efficiency: f64,
    pub to_efficiency: f64,
    pub average_efficiency: f64,
    pub portfolio_efficiency_before: f64,
    pub portfolio_efficiency_after: f64,
    pub explanation: String,
    pub status: String,
    pub decided_by: Option<String>,
    pub decision_reason: Option<String>,
    pub created_at: OffsetDateTime,
    pub decided_at: Option<OffsetDateTime>,
}

const BUDGET_COLUMNS: [B; 5] = [
    B::Platform,
    B::Currency,
    B::DailyBudgetMicros,
    B::MinDailyBudgetMicros,
    B::MaxDailyBudgetMicros,
];

const SHIFT_COLUMNS: [Sh; 22] = [
    Sh::Id,
    Sh::OrgId,
    Sh::PeriodKey,
    Sh::Currency,
    Sh::FromPlatform,
    Sh::ToPlatform,
    Sh::AmountMicros,
    Sh::FromBudgetBeforeMicros,
    Sh::FromBudgetAfterMicros,
    Sh::ToBudgetBeforeMicros,
    Sh::ToBudgetAfterMicros,
    Sh::FromEfficiency,
    Sh::ToEfficiency,
    Sh::AverageEfficiency,
    Sh::PortfolioEfficiencyBefore,
    Sh::PortfolioEfficiencyAfter,
    Sh::Explanation,
    Sh::Status,
    Sh::DecidedBy,
    Sh::DecisionReason,
    Sh::CreatedAt,
    Sh::DecidedAt,
];

/// An organisation's platform budgets, by platform.
pub(crate) async fn budgets(db: &Db, org: OrgId) -> Result<Vec<BudgetRow>, StoreError> {
    let stmt = Query::select()
        .columns(BUDGET_COLUMNS)
        .from(B::Table)
        .and_where(Expr::col(B::OrgId).eq(org.0))
        .order_by(B::Platform, Order::Asc)
        .to_owned();
    db.fetch_all(&stmt).await
}

/// Replaces every platform budget of an organisation.
pub(crate) async fn replace_budgets(
    tx: &mut Tx<'_>,
    org: OrgId,
    currency: Currency,
    lines: &[BudgetLine],
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let delete = Query::delete()
        .from_table(B::Table)
        .and_where(Expr::col(B::OrgId).eq(org.0))
        .to_owned();
    let mut insert = Query::insert()
        .into_table(B::Table)
        .columns([
            B::OrgId,
            B::Platform,
            B::Currency,
            B::DailyBudgetMicros,
            B::MinDailyBudgetMicros,
            B::MaxDailyBudgetMicros,
            B::UpdatedAt,
        ])
        .to_owned();
    for l in lines {
        insert.values_panic([
            org.0.into(),
            l.platform.as_str().into(),
            currency.as_str().into(),
            l.micros().0.into(),
            l.micros().1.into(),
            l.micros().2.into(),
            now.into(),
        ]);
    }
    tx.execute(&delete).await?;
    tx.execute(&insert).await?;
    Ok(())
}

/// Organisations with budgets set.
pub(crate) async fn orgs_with_budgets(db: &Db) -> Result<Vec<OrgId>, StoreError> {
    #[derive(sqlx::FromRow)]
    struct OrgRow {
        org_id: Uuid,
    }
    let stmt = Query::select()
        .column(B::OrgId)
        .distinct()
        .from(B::Table)
        .order_by(B::OrgId, Order::Asc)
        .to_owned();
    let rows: Vec<OrgRow> = db.fetch_all(&stmt).await?;
    Ok(rows.into_iter().map(|r| OrgId(r.org_id)).collect())
}

/// One platform's budget, read inside a transaction.
pub(crate) async fn budget(
    tx: &mut Tx<'_>,
    org: OrgId,
    platform: Platform,
) -> Result<Option<BudgetRow>, StoreError> {
    let stmt = Query::select()
        .columns(BUDGET_COLUMNS)
        .from(B::Table)
        .and_where(Expr::col(B::OrgId).eq(org.0))
        .and_where(Expr::col(B::Platform).eq(platform.as_str()))
        .to_owned();
    tx.fetch_optional(&stmt).await
}

/// Sets one platform's daily budget.
pub(crate) async fn set_daily_budget(
    tx: &mut Tx<'_>,
    org: OrgId,
    platform: Platform,
    micros: i64,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let stmt = Query::update()
        .table(B::Table)
        .value(B::DailyBudgetMicros, micros)
        .value(B::UpdatedAt, now)
        .and_where(Expr::col(B::OrgId).eq(org.0))
        .and_where(Expr::col(B::Platform).eq(platform.as_str()))
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}

/// Claims the rebalancing of one organisation for one period; false when
/// the period was already claimed (a retry, or another replica).
pub(crate) async fn claim_run(
    tx: &mut Tx<'_>,
    org: OrgId,
    period_key: &str,
    shifts: i64,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let stmt = Query::insert()
        .into_table(R::Table)
        .columns([R::OrgId, R::PeriodKey, R::Shifts, R::CreatedAt])
        .values_panic([org.0.into(), period_key.into(), shifts.into(), now.into()])
        .on_conflict(
            OnConflict::columns([R::OrgId, R::PeriodKey])
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    Ok(tx.execute(&stmt).await? > 0)
}

/// Stores a shift the rebalancer made (`applied` or `pending_approval`).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_shift(
    tx: &mut Tx<'_>,
    id: Uuid,
    org: OrgId,
    period_key: &str,
    currency: Currency,
    s: &BudgetShift,
    status: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(Sh::Table)
        .columns(SHIFT_COLUMNS)
        .values_panic([
            id.into(),
            org.0.into(),
            period_key.into(),
            currency.as_str().into(),
            s.from.as_str().into(),
            s.to.as_str().into(),
            s.amount_micros.into(),
            s.from_budget_before_micros.into(),
            s.from_budget_after_micros.into(),
            s.to_budget_before_micros.into(),
            s.to_budget_after_micros.into(),
            s.from_efficiency.into(),
            s.to_efficiency.into(),
            s.average_efficiency.into(),
            s.portfolio_efficiency_before.into(),
            s.portfolio_efficiency_after.into(),
            s.explanation.as_str().into(),
            status.into(),
            Option::<String>::None.into(),
            Option::<String>::None.into(),
            now.into(),
            Option::<OffsetDateTime>::None.into(),
        ])
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}

/// Up to `fetch` shifts of an organisation, newest first, optionally of one
/// status, after `key`.
pub(crate) async fn shifts(
    db: &Db,
    org: OrgId,
    status: Option<&str>,
    fetch: u64,
    key: Option<Key>,
) -> Result<Vec<ShiftRow>, StoreError> {
    let mut stmt = Query::select()
        .columns(SHIFT_COLUMNS)
        .from(Sh::Table)
        .and_where(Expr::col(Sh::OrgId).eq(org.0))
        .order_by(Sh::CreatedAt, Order::Desc)
        .order_by(Sh::Id, Order::Desc)
        .limit(fetch)
        .to_owned();
    if let Some(s) = status {
        stmt.and_where(Expr::col(Sh::Status).eq(s));
    }
    if let Some((at, id)) = key {
        kiki_store::keyset::after(
            &mut stmt,
            &[(Sh::CreatedAt, Order::Desc), (Sh::Id, Order::Desc)],
            vec![sea_query::Value::from(at), sea_query::Value::from(id)],
        );
    }
    db.fetch_all(&stmt).await
}

/// A shift of one organisation.
pub(crate) async fn shift(db: &Db, org: OrgId, id: Uuid) -> Result<Option<ShiftRow>, StoreError> {
    let stmt = Query::select()
        .columns(SHIFT_COLUMNS)
        .from(Sh::Table)
        .and_where(Expr::col(Sh::Id).eq(id))
        .and_where(Expr::col(Sh::OrgId).eq(org.0))
        .to_owned();
    db.fetch_optional(&stmt).await
}

/// Decides a shift pending approval; false when it is no longer pending.
pub(crate) async fn decide_shift(
    tx: &mut Tx<'_>,
    id: Uuid,
    status: &str,
    by: &str,
    reason: Option<String>,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let stmt = Query::update()
        .table(Sh::Table)
        .value(Sh::Status, status)
        .value(Sh::DecidedBy, by)
        .value(Sh::DecisionReason, reason)
        .value(Sh::DecidedAt, now)
        .and_where(Expr::col(Sh::Id).eq(id))
        .and_where(Expr::col(Sh::Status).eq("pending_approval"))
        .to_owned();
    Ok(tx.execute(&stmt).await? > 0)
}
