//! `twin_simulations`, `twin_gate_decisions` and `twin_market_models`.

use kiki_core::OrgId;
use kiki_store::{Db, StoreError, Tx};
use sea_query::{Expr, ExprTrait, Order, Query};
use serde_json::Value;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::Key;
use super::schema::{TwinGateDecisions as G, TwinMarketModels as M, TwinSimulations as Sim};
use crate::domain::SimulationStatus;

/// A stored simulation row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct SimRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub status: String,
    pub plan: Json<Value>,
    pub options: Json<Value>,
    pub model_id: Option<Uuid>,
    pub report: Option<Json<Value>>,
    pub gate: Option<Json<Value>>,
    pub confidence: Option<f64>,
    pub risk_level: Option<String>,
    pub approved: Option<bool>,
    pub approved_by: Option<String>,
    pub start_day: Option<String>,
    pub job_id: Option<Uuid>,
    pub error: Option<String>,
    pub created_by: Option<String>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub approved_at: Option<OffsetDateTime>,
}

const SIM_COLUMNS: [Sim; 19] = [
    Sim::Id,
    Sim::OrgId,
    Sim::Status,
    Sim::Plan,
    Sim::Options,
    Sim::ModelId,
    Sim::Report,
    Sim::Gate,
    Sim::Confidence,
    Sim::RiskLevel,
    Sim::Approved,
    Sim::ApprovedBy,
    Sim::StartDay,
    Sim::JobId,
    Sim::Error,
    Sim::CreatedBy,
    Sim::CreatedAt,
    Sim::UpdatedAt,
    Sim::ApprovedAt,
];

/// A stored market model row.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct MarketModelRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub currency: String,
    pub industry: String,
    pub first_day: Option<String>,
    pub last_day: Option<String>,
    pub history_days: i64,
    pub model: Json<Value>,
    pub created_at: OffsetDateTime,
}

/// A new pending simulation.
pub(crate) struct NewSimulation<'a> {
    pub id: Uuid,
    pub org: OrgId,
    pub plan: Value,
    pub options: Value,
    pub created_by: &'a str,
    pub now: OffsetDateTime,
}

/// Inserts a pending simulation.
pub(crate) async fn insert(tx: &mut Tx<'_>, s: NewSimulation<'_>) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(Sim::Table)
        .columns([
            Sim::Id,
            Sim::OrgId,
            Sim::Status,
            Sim::Plan,
            Sim::Options,
            Sim::CreatedBy,
            Sim::CreatedAt,
            Sim::UpdatedAt,
        ])
        .values_panic([
            s.id.into(),
            s.org.0.into(),
            SimulationStatus::Pending.as_str().into(),
            s.plan.into(),
            s.options.into(),
            s.created_by.into(),
            s.now.into(),
            s.now.into(),
        ])
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}

/// Links a queued simulation to its job.
pub(crate) async fn set_job(tx: &mut Tx<'_>, id: Uuid, job: Uuid) -> Result<(), StoreError> {
    let stmt = Query::update()
        .table(Sim::Table)
        .value(Sim::JobId, job)
        .and_where(Expr::col(Sim::Id).eq(id))
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}

/// A market model as estimated for a simulation.
pub(crate) struct NewMarketModel {
    pub id: Uuid,
    pub org: OrgId,
    pub currency: String,
    pub industry: String,
    pub first_day: Option<String>,
    pub last_day: Option<String>,
    pub history_days: i64,
    pub model: Value,
    pub now: OffsetDateTime,
}

/// Stores an estimated market model.
pub(crate) async fn insert_market_model(
    tx: &mut Tx<'_>,
    m: NewMarketModel,
) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(M::Table)
        .columns([
            M::Id,
            M::OrgId,
            M::Currency,
            M::Industry,
            M::FirstDay,
            M::LastDay,
            M::HistoryDays,
            M::Model,
            M::CreatedAt,
        ])
        .values_panic([
            m.id.into(),
            m.org.0.into(),
            m.currency.into(),
            m.industry.into(),
            m.first_day.into(),
            m.last_day.into(),
            m.history_days.into(),
            m.model.into(),
            m.now.into(),
        ])
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}

/// What a finished evaluation writes on its simulation row.
pub(crate) struct Finished<'a> {
    pub model_id: Uuid,
    pub report: Value,
    pub gate: Value,
    pub confidence: f64,
    pub risk_level: &'a str,
    pub approved: bool,
    pub start_day: String,
    pub now: OffsetDateTime,
}

/// Marks a pending simulation done with the gate's verdict; false when the
/// row is no longer pending (nothing written).
pub(crate) async fn finish(
    tx: &mut Tx<'_>,
    org: OrgId,
    id: Uuid,
    f: Finished<'_>,
) -> Result<bool, StoreError> {
    let stmt = Query::update()
        .table(Sim::Table)
        .value(Sim::Status, SimulationStatus::Done.as_str())
        .value(Sim::ModelId, f.model_id)
        .value(Sim::Report, f.report)
        .value(Sim::Gate, f.gate)
        .value(Sim::Confidence, f.confidence)
        .value(Sim::RiskLevel, f.risk_level)
        .value(Sim::Approved, f.approved)
        .value(Sim::ApprovedBy, "engine")
        .value(Sim::ApprovedAt, f.now)
        .value(Sim::StartDay, f.start_day)
        .value(Sim::UpdatedAt, f.now)
        .and_where(Expr::col(Sim::Id).eq(id))
        .and_where(Expr::col(Sim::OrgId).eq(org.0))
        .and_where(Expr::col(Sim::Status).eq(SimulationStatus::Pending.as_str()))
        .to_owned();
    Ok(tx.execute(&stmt).await? > 0)
}

/// Marks a pending simulation failed.
pub(crate) async fn fail(
    db: &Db,
    org: OrgId,
    id: Uuid,
    error: &str,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let stmt = Query::update()
        .table(Sim::Table)
        .value(Sim::Status, SimulationStatus::Failed.as_str())
        .value(Sim::Error, error)
        .value(Sim::UpdatedAt, now)
        .and_where(Expr::col(Sim::Id).eq(id))
        .and_where(Expr::col(Sim::OrgId).eq(org.0))
        .and_where(Expr::col(Sim::Status).eq(SimulationStatus::Pending.as_str()))
        .to_owned();
    db.execute(&stmt).await?;
    Ok(())
}

/// Records a person's approval or rejection on the simulation row;
/// `start_day` is set when given.
pub(crate) async fn set_approval(
    tx: &mut Tx<'_>,
    org: OrgId,
    id: Uuid,
    approved: bool,
    by: &str,
    start_day: Option<String>,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let mut stmt = Query::update()
        .table(Sim::Table)
        .value(Sim::Approved, approved)
        .value(Sim::ApprovedBy, by)
        .value(Sim::ApprovedAt, now)
        .value(Sim::UpdatedAt, now)
        .and_where(Expr::col(Sim::Id).eq(id))
        .and_where(Expr::col(Sim::OrgId).eq(org.0))
        .to_owned();
    if let Some(day) = start_day {
        stmt.value(Sim::StartDay, day);
    }
    tx.execute(&stmt).await?;
    Ok(())
}

/// One row of `twin_gate_decisions`: a verdict of the gate or of a person.
pub(crate) struct GateDecisionRow<'a> {
    pub org: OrgId,
    pub simulation: Uuid,
    pub approved: bool,
    pub reason: &'a str,
    /// `engine` or `user`.
    pub kind: &'a str,
    pub by: Option<String>,
    pub confidence: Option<f64>,
    pub now: OffsetDateTime,
}

/// Appends a gate decision.
pub(crate) async fn insert_gate_decision(
    tx: &mut Tx<'_>,
    d: GateDecisionRow<'_>,
) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(G::Table)
        .columns([
            G::Id,
            G::OrgId,
            G::SimulationId,
            G::Approved,
            G::Reason,
            G::DecidedByKind,
            G::DecidedBy,
            G::Confidence,
            G::CreatedAt,
        ])
        .values_panic([
            Uuid::now_v7().into(),
            d.org.0.into(),
            d.simulation.into(),
            d.approved.into(),
            d.reason.into(),
            d.kind.into(),
            d.by.into(),
            d.confidence.into(),
            d.now.into(),
        ])
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}

/// A simulation by id, of one organisation (or of any, for the jobs that
/// already hold its organisation).
pub(crate) async fn get(
    db: &Db,
    org: Option<OrgId>,
    id: Uuid,
) -> Result<Option<SimRow>, StoreError> {
    let mut stmt = Query::select()
        .columns(SIM_COLUMNS)
        .from(Sim::Table)
        .and_where(Expr::col(Sim::Id).eq(id))
        .to_owned();
    if let Some(o) = org {
        stmt.and_where(Expr::col(Sim::OrgId).eq(o.0));
    }
    db.fetch_optional(&stmt).await
}

/// Up to `fetch` simulations of an organisation, newest first, after `key`.
pub(crate) async fn list(
    db: &Db,
    org: OrgId,
    fetch: u64,
    key: Option<Key>,
) -> Result<Vec<SimRow>, StoreError> {
    let mut stmt = Query::select()
        .columns(SIM_COLUMNS)
        .from(Sim::Table)
        .and_where(Expr::col(Sim::OrgId).eq(org.0))
        .order_by(Sim::CreatedAt, Order::Desc)
        .order_by(Sim::Id, Order::Desc)
        .limit(fetch)
        .to_owned();
    if let Some((at, id)) = key {
        kiki_store::keyset::after(
            &mut stmt,
            &[(Sim::CreatedAt, Order::Desc), (Sim::Id, Order::Desc)],
            vec![sea_query::Value::from(at), sea_query::Value::from(id)],
        );
    }
    db.fetch_all(&stmt).await
}

/// Every finished, approved simulation (of every organisation), oldest
/// first: what the mirror watches.
pub(crate) async fn launched(db: &Db) -> Result<Vec<SimRow>, StoreError> {
    let stmt = Query::select()
        .columns(SIM_COLUMNS)
        .from(Sim::Table)
        .and_where(Expr::col(Sim::Status).eq(SimulationStatus::Done.as_str()))
        .and_where(Expr::col(Sim::Approved).eq(true))
        .order_by(Sim::CreatedAt, Order::Asc)
        .to_owned();
    db.fetch_all(&stmt).await
}

/// The finished, approved simulations of some organisations whose plan
/// starts on or before `until` (`YYYY-MM-DD`), oldest first: the launched
/// plans a baseline is read from (the mirror's rule for "launched").
pub(crate) async fn launched_of(
    db: &Db,
    orgs: &[OrgId],
    until: &str,
) -> Result<Vec<SimRow>, StoreError> {
    if orgs.is_empty() {
        return Ok(Vec::new());
    }
    let stmt = Query::select()
        .columns(SIM_COLUMNS)
        .from(Sim::Table)
        .and_where(Expr::col(Sim::OrgId).is_in(orgs.iter().map(|o| o.0)))
        .and_where(Expr::col(Sim::Status).eq(SimulationStatus::Done.as_str()))
        .and_where(Expr::col(Sim::Approved).eq(true))
        .and_where(Expr::col(Sim::StartDay).is_not_null())
        .and_where(Expr::col(Sim::StartDay).lte(until))
        .order_by(Sim::CreatedAt, Order::Asc)
        .order_by(Sim::Id, Order::Asc)
        .to_owned();
    db.fetch_all(&stmt).await
}

/// A stored market model of one organisation.
pub(crate) async fn market_model(
    db: &Db,
    org: OrgId,
    id: Uuid,
) -> Result<Option<MarketModelRow>, StoreError> {
    let stmt = Query::select()
        .columns([
            M::Id,
            M::OrgId,
            M::Currency,
            M::Industry,
            M::FirstDay,
            M::LastDay,
            M::HistoryDays,
            M::Model,
            M::CreatedAt,
        ])
        .from(M::Table)
        .and_where(Expr::col(M::Id).eq(id))
        .and_where(Expr::col(M::OrgId).eq(org.0))
        .to_owned();
    db.fetch_optional(&stmt).await
}
