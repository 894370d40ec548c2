//! `campaign_budget_moves`: the rebalancer's shifts the campaigns applied.

use kiki_core::OrgId;
use kiki_store::{Db, StoreError, Tx};
use sea_query::{Expr, ExprTrait, Query};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use super::schema::{CampaignBudgetMoves as M, Campaigns as C};

/// What applying a shift stores.
pub(crate) struct NewMove<'a> {
    pub shift: Uuid,
    pub org: OrgId,
    pub from: &'a str,
    pub to: &'a str,
    pub currency: &'a str,
    pub amount_micros: i64,
    pub applied_micros: i64,
    pub campaigns: Value,
    pub note: &'a str,
    pub now: OffsetDateTime,
}

/// Records a shift as applied; false when it already was (the primary key).
pub(crate) async fn insert(tx: &mut Tx<'_>, m: NewMove<'_>) -> Result<bool, StoreError> {
    let stmt = Query::insert()
        .into_table(M::Table)
        .columns([
            M::ShiftId,
            M::OrgId,
            M::FromPlatform,
            M::ToPlatform,
            M::Currency,
            M::AmountMicros,
            M::AppliedMicros,
            M::Campaigns,
            M::Note,
            M::CreatedAt,
        ])
        .values_panic([
            m.shift.into(),
            m.org.0.into(),
            m.from.into(),
            m.to.into(),
            m.currency.into(),
            m.amount_micros.into(),
            m.applied_micros.into(),
            m.campaigns.into(),
            m.note.into(),
            m.now.into(),
        ])
        .on_conflict(
            sea_query::OnConflict::column(M::ShiftId)
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    Ok(tx.execute(&stmt).await? > 0)
}

/// The shifts of `org` already applied, among `ids`.
pub(crate) async fn applied(db: &Db, org: OrgId, ids: &[Uuid]) -> Result<Vec<Uuid>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let stmt = Query::select()
        .column(M::ShiftId)
        .from(M::Table)
        .and_where(Expr::col(M::OrgId).eq(org.0))
        .and_where(Expr::col(M::ShiftId).is_in(ids.iter().copied()))
        .to_owned();
    let rows: Vec<(Uuid,)> = db.fetch_all(&stmt).await?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

/// Organisations with a live campaign (the shift sweep's work list).
pub(crate) async fn orgs_with_live_campaigns(db: &Db) -> Result<Vec<OrgId>, StoreError> {
    let stmt = Query::select()
        .distinct()
        .column(C::OrgId)
        .from(C::Table)
        .and_where(Expr::col(C::Status).eq("active"))
        .to_owned();
    let rows: Vec<(Uuid,)> = db.fetch_all(&stmt).await?;
    Ok(rows.into_iter().map(|r| OrgId(r.0)).collect())
}
