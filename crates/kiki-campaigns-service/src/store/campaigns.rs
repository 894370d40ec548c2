//! `campaigns`, `campaign_ad_sets` and `campaign_transitions`.

use kiki_core::OrgId;
use kiki_store::{Db, StoreError, Tx};
use sea_query::{Expr, ExprTrait, Order, Query};
use serde_json::Value;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::schema::{CampaignAdSets as A, CampaignTransitions as T, Campaigns as C};
use super::{Key, after};

/// A stored campaign row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct CampaignRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub status: String,
    pub currency: String,
    pub draft: Json<Value>,
    pub simulation_id: Option<Uuid>,
    pub gate_approved: Option<bool>,
    pub gate_reason: Option<String>,
    pub kill_switch_id: Option<Uuid>,
    pub version: i64,
    pub created_by: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

const COLUMNS: [C; 14] = [
    C::Id,
    C::OrgId,
    C::Name,
    C::Status,
    C::Currency,
    C::Draft,
    C::SimulationId,
    C::GateApproved,
    C::GateReason,
    C::KillSwitchId,
    C::Version,
    C::CreatedBy,
    C::CreatedAt,
    C::UpdatedAt,
];

/// A stored ad set row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct AdSetRow {
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub position: i64,
    pub name: String,
    pub channel: String,
    pub budget_share_bps: i64,
    pub daily_budget_micros: i64,
    pub line_item_id: Option<Uuid>,
    pub deployment_status: String,
    pub external_id: Option<String>,
    pub last_synced_at: Option<OffsetDateTime>,
    pub last_error: Option<String>,
    pub deployment_note: Option<String>,
}

/// A stored status move.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct TransitionRow {
    pub id: Uuid,
    pub action: String,
    pub from_status: String,
    pub to_status: String,
    pub actor: String,
    pub reason: Option<String>,
    pub automated: bool,
    pub created_at: OffsetDateTime,
}

/// What a new or rewritten campaign stores.
pub(crate) struct CampaignWrite<'a> {
    pub id: Uuid,
    pub org: OrgId,
    pub name: &'a str,
    pub currency: &'a str,
    pub daily_budget_micros: i64,
    pub total_budget_micros: Option<i64>,
    pub draft: Value,
    pub now: OffsetDateTime,
}

pub(crate) async fn insert(
    tx: &mut Tx<'_>,
    c: CampaignWrite<'_>,
    status: &str,
    created_by: &str,
) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(C::Table)
        .columns([
            C::Id,
            C::OrgId,
            C::Name,
            C::Status,
            C::Currency,
            C::DailyBudgetMicros,
            C::TotalBudgetMicros,
            C::Draft,
            C::Version,
            C::CreatedBy,
            C::CreatedAt,
            C::UpdatedAt,
        ])
        .values_panic([
            c.id.into(),
            c.org.0.into(),
            c.name.into(),
            status.into(),
            c.currency.into(),
            c.daily_budget_micros.into(),
            c.total_budget_micros.into(),
            c.draft.into(),
            1i64.into(),
            created_by.into(),
            c.now.into(),
            c.now.into(),
        ])
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}

/// Rewrites a campaign's draft (and the columns taken from it) when its
/// status and version are still the ones read; false when it changed
/// meanwhile.
pub(crate) async fn rewrite(
    tx: &mut Tx<'_>,
    c: CampaignWrite<'_>,
    status: &str,
    version: i64,
) -> Result<bool, StoreError> {
    let stmt = Query::update()
        .table(C::Table)
        .value(C::Name, c.name)
        .value(C::Currency, c.currency)
        .value(C::DailyBudgetMicros, c.daily_budget_micros)
        .value(C::TotalBudgetMicros, c.total_budget_micros)
        .value(C::Draft, c.draft)
        .value(C::Version, version + 1)
        .value(C::UpdatedAt, c.now)
        .and_where(Expr::col(C::Id).eq(c.id))
        .and_where(Expr::col(C::OrgId).eq(c.org.0))
        .and_where(Expr::col(C::Status).eq(status))
        .and_where(Expr::col(C::Version).eq(version))
        .to_owned();
    Ok(tx.execute(&stmt).await? > 0)
}

/// What a status move writes besides the status.
#[derive(Default)]
pub(crate) struct MoveExtras {
    /// The gate's simulation and verdict (a submission).
    pub gate: Option<(Uuid, Option<bool>, Option<String>)>,
    /// Sets (Some(Some)) or clears (Some(None)) the kill switch holding it.
    pub kill_switch: Option<Option<Uuid>>,
}

/// Moves a campaign from `from` at `version` to `to`; false when it changed
/// meanwhile.
pub(crate) async fn set_status(
    tx: &mut Tx<'_>,
    org: OrgId,
    id: Uuid,
    (from, version): (&str, i64),
    to: &str,
    extras: MoveExtras,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let mut stmt = Query::update()
        .table(C::Table)
        .value(C::Status, to)
        .value(C::Version, version + 1)
        .value(C::UpdatedAt, now)
        .and_where(Expr::col(C::Id).eq(id))
        .and_where(Expr::col(C::OrgId).eq(org.0))
        .and_where(Expr::col(C::Status).eq(from))
        .and_where(Expr::col(C::Version).eq(version))
        .to_owned();
    if let Some((sim, approved, reason)) = extras.gate {
        stmt.value(C::SimulationId, sim)
            .value(C::GateApproved, approved)
            .value(C::GateReason, reason);
    }
    if let Some(ks) = extras.kill_switch {
        stmt.value(C::KillSwitchId, ks);
    }
    Ok(tx.execute(&stmt).await? > 0)
}

/// Records the gate's verdict once a queued simulation finished.
pub(crate) async fn set_gate(
    db: &Db,
    org: OrgId,
    id: Uuid,
    simulation: Uuid,
    approved: bool,
    reason: &str,
) -> Result<(), StoreError> {
    let stmt = Query::update()
        .table(C::Table)
        .value(C::GateApproved, approved)
        .value(C::GateReason, reason)
        .and_where(Expr::col(C::Id).eq(id))
        .and_where(Expr::col(C::OrgId).eq(org.0))
        .and_where(Expr::col(C::SimulationId).eq(simulation))
        .to_owned();
    db.execute(&stmt).await?;
    Ok(())
}

/// A campaign of one organisation.
pub(crate) async fn get(db: &Db, org: OrgId, id: Uuid) -> Result<Option<CampaignRow>, StoreError> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(C::Table)
        .and_where(Expr::col(C::Id).eq(id))
        .and_where(Expr::col(C::OrgId).eq(org.0))
        .to_owned();
    db.fetch_optional(&stmt).await
}

/// Up to `fetch` campaigns of an organisation, newest first, after `key`,
/// optionally of one status.
pub(crate) async fn list(
    db: &Db,
    org: OrgId,
    status: Option<&str>,
    fetch: u64,
    key: Option<Key>,
) -> Result<Vec<CampaignRow>, StoreError> {
    let mut stmt = Query::select()
        .columns(COLUMNS)
        .from(C::Table)
        .and_where(Expr::col(C::OrgId).eq(org.0))
        .order_by(C::CreatedAt, Order::Desc)
        .order_by(C::Id, Order::Desc)
        .limit(fetch)
        .to_owned();
    if let Some(s) = status {
        stmt.and_where(Expr::col(C::Status).eq(s));
    }
    after(&mut stmt, C::CreatedAt, C::Id, key);
    db.fetch_all(&stmt).await
}

/// Every campaign of `orgs` in `status` (the kill switch's sweep), oldest
/// first.
pub(crate) async fn in_status(
    tx: &mut Tx<'_>,
    orgs: &[OrgId],
    status: &str,
) -> Result<Vec<CampaignRow>, StoreError> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(C::Table)
        .and_where(Expr::col(C::OrgId).is_in(orgs.iter().map(|o| o.0)))
        .and_where(Expr::col(C::Status).eq(status))
        .order_by(C::CreatedAt, Order::Asc)
        .order_by(C::Id, Order::Asc)
        .to_owned();
    tx.fetch_all(&stmt).await
}

/// The campaigns a kill switch holds paused.
pub(crate) async fn held_by(
    tx: &mut Tx<'_>,
    orgs: &[OrgId],
    kill_switch: Uuid,
) -> Result<Vec<CampaignRow>, StoreError> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(C::Table)
        .and_where(Expr::col(C::OrgId).is_in(orgs.iter().map(|o| o.0)))
        .and_where(Expr::col(C::KillSwitchId).eq(kill_switch))
        .order_by(C::CreatedAt, Order::Asc)
        .order_by(C::Id, Order::Asc)
        .to_owned();
    tx.fetch_all(&stmt).await
}

/// One ad set to store.
pub(crate) struct NewAdSet<'a> {
    pub id: Uuid,
    pub position: u32,
    pub name: &'a str,
    pub channel: &'a str,
    pub budget_share_bps: u32,
    pub daily_budget_micros: i64,
}

/// Replaces a campaign's ad sets with `sets`.
pub(crate) async fn replace_ad_sets(
    tx: &mut Tx<'_>,
    org: OrgId,
    campaign: Uuid,
    sets: &[NewAdSet<'_>],
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let del = Query::delete()
        .from_table(A::Table)
        .and_where(Expr::col(A::OrgId).eq(org.0))
        .and_where(Expr::col(A::CampaignId).eq(campaign))
        .to_owned();
    tx.execute(&del).await?;
    for s in sets {
        let stmt = Query::insert()
            .into_table(A::Table)
            .columns([
                A::Id,
                A::OrgId,
                A::CampaignId,
                A::Position,
                A::Name,
                A::Channel,
                A::BudgetShareBps,
                A::DailyBudgetMicros,
                A::UpdatedAt,
            ])
            .values_panic([
                s.id.into(),
                org.0.into(),
                campaign.into(),
                i64::from(s.position).into(),
                s.name.into(),
                s.channel.into(),
                i64::from(s.budget_share_bps).into(),
                s.daily_budget_micros.into(),
                now.into(),
            ])
            .to_owned();
        tx.execute(&stmt).await?;
    }
    Ok(())
}

/// Sets the daily budgets of a campaign's ad sets (a budget change).
pub(crate) async fn set_ad_set_budget(
    tx: &mut Tx<'_>,
    org: OrgId,
    ad_set: Uuid,
    daily_budget_micros: i64,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let stmt = Query::update()
        .table(A::Table)
        .value(A::DailyBudgetMicros, daily_budget_micros)
        .value(A::UpdatedAt, now)
        .and_where(Expr::col(A::Id).eq(ad_set))
        .and_where(Expr::col(A::OrgId).eq(org.0))
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}

/// Sets an ad set's share and daily budget (a budget shift).
pub(crate) async fn set_ad_set_share(
    tx: &mut Tx<'_>,
    org: OrgId,
    ad_set: Uuid,
    (share_bps, daily_budget_micros): (u32, i64),
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let stmt = Query::update()
        .table(A::Table)
        .value(A::BudgetShareBps, i64::from(share_bps))
        .value(A::DailyBudgetMicros, daily_budget_micros)
        .value(A::UpdatedAt, now)
        .and_where(Expr::col(A::Id).eq(ad_set))
        .and_where(Expr::col(A::OrgId).eq(org.0))
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}

/// Sets a campaign's budget columns and draft (a budget change) at `version`.
pub(crate) async fn set_budget(
    tx: &mut Tx<'_>,
    org: OrgId,
    id: Uuid,
    version: i64,
    (daily, total): (i64, Option<i64>),
    draft: Value,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let stmt = Query::update()
        .table(C::Table)
        .value(C::DailyBudgetMicros, daily)
        .value(C::TotalBudgetMicros, total)
        .value(C::Draft, draft)
        .value(C::Version, version + 1)
        .value(C::UpdatedAt, now)
        .and_where(Expr::col(C::Id).eq(id))
        .and_where(Expr::col(C::OrgId).eq(org.0))
        .and_where(Expr::col(C::Version).eq(version))
        .to_owned();
    Ok(tx.execute(&stmt).await? > 0)
}

/// The ad sets of a campaign, in order.
pub(crate) async fn ad_sets(
    db: &Db,
    org: OrgId,
    campaign: Uuid,
) -> Result<Vec<AdSetRow>, StoreError> {
    let stmt = ad_sets_query(org, &[campaign]);
    db.fetch_all(&stmt).await
}

/// The ad sets of several campaigns of `org`, by campaign then position.
pub(crate) async fn ad_sets_of(
    db: &Db,
    org: OrgId,
    campaigns: &[Uuid],
) -> Result<Vec<AdSetRow>, StoreError> {
    if campaigns.is_empty() {
        return Ok(Vec::new());
    }
    db.fetch_all(&ad_sets_query(org, campaigns)).await
}

/// The ad sets of campaigns of any of `orgs` (the kill switch's report).
pub(crate) async fn ad_sets_tx(
    tx: &mut Tx<'_>,
    orgs: &[OrgId],
    campaigns: &[Uuid],
) -> Result<Vec<AdSetRow>, StoreError> {
    if campaigns.is_empty() {
        return Ok(Vec::new());
    }
    let stmt = Query::select()
        .columns(AD_SET_COLUMNS)
        .from(A::Table)
        .and_where(Expr::col(A::OrgId).is_in(orgs.iter().map(|o| o.0)))
        .and_where(Expr::col(A::CampaignId).is_in(campaigns.iter().copied()))
        .order_by(A::CampaignId, Order::Asc)
        .order_by(A::Position, Order::Asc)
        .to_owned();
    tx.fetch_all(&stmt).await
}

const AD_SET_COLUMNS: [A; 13] = [
    A::Id,
    A::CampaignId,
    A::Position,
    A::Name,
    A::Channel,
    A::BudgetShareBps,
    A::DailyBudgetMicros,
    A::LineItemId,
    A::DeploymentStatus,
    A::ExternalId,
    A::LastSyncedAt,
    A::LastError,
    A::DeploymentNote,
];

/// An ad set's deployment after a sync.
pub(crate) struct Deployment<'a> {
    pub status: &'a str,
    pub external_id: Option<String>,
    pub error: Option<String>,
    pub note: Option<String>,
    pub now: OffsetDateTime,
}

/// Records an ad set's deployment (and, for KIKI programmatic, its line item).
pub(crate) async fn set_deployment(
    db: &Db,
    org: OrgId,
    ad_set: Uuid,
    line_item: Option<Uuid>,
    d: Deployment<'_>,
) -> Result<(), StoreError> {
    let mut stmt = Query::update();
    stmt.table(A::Table)
        .value(A::DeploymentStatus, d.status)
        .value(A::ExternalId, d.external_id)
        .value(A::LastSyncedAt, d.now)
        .value(A::LastError, d.error)
        .value(A::DeploymentNote, d.note)
        .and_where(Expr::col(A::Id).eq(ad_set))
        .and_where(Expr::col(A::OrgId).eq(org.0));
    if let Some(li) = line_item {
        stmt.value(A::LineItemId, li);
    }
    db.execute(&stmt.to_owned()).await?;
    Ok(())
}

/// Claims an ad set for a new line item: true when it had none (so two
/// syncs running at once never leave two line items for one ad set).
pub(crate) async fn claim_line_item(
    db: &Db,
    org: OrgId,
    ad_set: Uuid,
    previous: Option<Uuid>,
    line_item: Uuid,
) -> Result<bool, StoreError> {
    let prev = match previous {
        Some(p) => Expr::col(A::LineItemId).eq(p),
        None => Expr::col(A::LineItemId).is_null(),
    };
    let stmt = Query::update()
        .table(A::Table)
        .value(A::LineItemId, line_item)
        .and_where(Expr::col(A::Id).eq(ad_set))
        .and_where(Expr::col(A::OrgId).eq(org.0))
        .and_where(prev)
        .to_owned();
    Ok(db.execute(&stmt).await? > 0)
}

/// The live (`active`) campaigns' ad sets of `org` with the campaign's
/// currency: what the twin's platform budgets are the sum of.
pub(crate) async fn live_ad_sets(
    db: &Db,
    org: OrgId,
) -> Result<Vec<(AdSetRow, String)>, StoreError> {
    let campaigns = Query::select()
        .columns([C::Id, C::Currency])
        .from(C::Table)
        .and_where(Expr::col(C::OrgId).eq(org.0))
        .and_where(Expr::col(C::Status).eq("active"))
        .to_owned();
    let rows: Vec<(Uuid, String)> = db.fetch_all(&campaigns).await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.0).collect();
    let sets: Vec<AdSetRow> = db.fetch_all(&ad_sets_query(org, &ids)).await?;
    Ok(sets
        .into_iter()
        .filter_map(|s| {
            let cur = rows.iter().find(|r| r.0 == s.campaign_id)?.1.clone();
            Some((s, cur))
        })
        .collect())
}

fn ad_sets_query(org: OrgId, campaigns: &[Uuid]) -> sea_query::SelectStatement {
    Query::select()
        .columns(AD_SET_COLUMNS)
        .from(A::Table)
        .and_where(Expr::col(A::OrgId).eq(org.0))
        .and_where(Expr::col(A::CampaignId).is_in(campaigns.iter().copied()))
        .order_by(A::CampaignId, Order::Asc)
        .order_by(A::Position, Order::Asc)
        .to_owned()
}

/// One status move to append.
pub(crate) struct NewTransition<'a> {
    pub org: OrgId,
    pub campaign: Uuid,
    pub action: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub actor: &'a str,
    pub reason: Option<&'a str>,
    pub automated: bool,
    pub now: OffsetDateTime,
}

pub(crate) async fn insert_transition(
    tx: &mut Tx<'_>,
    t: NewTransition<'_>,
) -> Result<Uuid, StoreError> {
    let id = Uuid::now_v7();
    let stmt = Query::insert()
        .into_table(T::Table)
        .columns([
            T::Id,
            T::OrgId,
            T::CampaignId,
            T::Action,
            T::FromStatus,
            T::ToStatus,
            T::Actor,
            T::Reason,
            T::Automated,
            T::CreatedAt,
        ])
        .values_panic([
            id.into(),
            t.org.0.into(),
            t.campaign.into(),
            t.action.into(),
            t.from.into(),
            t.to.into(),
            t.actor.into(),
            t.reason.map(str::to_owned).into(),
            t.automated.into(),
            t.now.into(),
        ])
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(id)
}

/// The last `limit` status moves of a campaign, oldest first.
pub(crate) async fn transitions(
    db: &Db,
    org: OrgId,
    campaign: Uuid,
    limit: u64,
) -> Result<Vec<TransitionRow>, StoreError> {
    let stmt = Query::select()
        .columns([
            T::Id,
            T::Action,
            T::FromStatus,
            T::ToStatus,
            T::Actor,
            T::Reason,
            T::Automated,
            T::CreatedAt,
        ])
        .from(T::Table)
        .and_where(Expr::col(T::OrgId).eq(org.0))
        .and_where(Expr::col(T::CampaignId).eq(campaign))
        .order_by(T::CreatedAt, Order::Desc)
        .order_by(T::Id, Order::Desc)
        .limit(limit)
        .to_owned();
    let mut rows: Vec<TransitionRow> = db.fetch_all(&stmt).await?;
    rows.reverse();
    Ok(rows)
}
