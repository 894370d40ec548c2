//! The lift tables (migration `0013_lift.sql`) and every query on them,
//! crate-private. Every read and write of tenant rows names the
//! organisation. The table identifiers are in `schema.rs`.

mod schema;

use kiki_core::OrgId;
use kiki_store::{Db, StoreError, Tx};
use sea_query::{Expr, ExprTrait, Order, Query, SelectStatement};
use serde_json::Value;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use schema::{LiftAnalyses as A, LiftDesigns as D, LiftExperiments as E, LiftPanels as P};

/// The position of a row in a (created_at desc, id desc) list.
pub(crate) type Key = (OffsetDateTime, Uuid);

fn after<C: sea_query::IntoColumnRef + Clone>(
    stmt: &mut SelectStatement,
    created_at: C,
    id: C,
    key: Option<Key>,
) {
    if let Some((at, id_value)) = key {
        kiki_store::keyset::after(
            stmt,
            &[(created_at, Order::Desc), (id, Order::Desc)],
            vec![sea_query::Value::from(at), sea_query::Value::from(id_value)],
        );
    }
}

/// A stored experiment.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ExperimentRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub status: String,
    pub plan: Json<Value>,
    pub plan_hash: Option<String>,
    pub pre_period_hash: Option<String>,
    pub version: i64,
    pub created_by: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub registered_by: Option<String>,
    pub registered_at: Option<OffsetDateTime>,
    pub started_at: Option<OffsetDateTime>,
    pub analysed_at: Option<OffsetDateTime>,
}

const E_COLUMNS: [E; 16] = [
    E::Id,
    E::OrgId,
    E::Name,
    E::Description,
    E::Status,
    E::Plan,
    E::PlanHash,
    E::PrePeriodHash,
    E::Version,
    E::CreatedBy,
    E::CreatedAt,
    E::UpdatedAt,
    E::RegisteredBy,
    E::RegisteredAt,
    E::StartedAt,
    E::AnalysedAt,
];

pub(crate) async fn insert_experiment(
    tx: &mut Tx<'_>,
    r: &ExperimentRow,
) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(E::Table)
        .columns([
            E::Id,
            E::OrgId,
            E::Name,
            E::Description,
            E::Status,
            E::Plan,
            E::Version,
            E::CreatedBy,
            E::CreatedAt,
            E::UpdatedAt,
        ])
        .values_panic([
            r.id.into(),
            r.org_id.into(),
            r.name.clone().into(),
            r.description.clone().into(),
            r.status.clone().into(),
            r.plan.0.clone().into(),
            r.version.into(),
            r.created_by.clone().into(),
            r.created_at.into(),
            r.updated_at.into(),
        ])
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}

pub(crate) async fn get_experiment(
    db: &Db,
    org: OrgId,
    id: Uuid,
) -> Result<Option<ExperimentRow>, StoreError> {
    let stmt = Query::select()
        .columns(E_COLUMNS)
        .from(E::Table)
        .and_where(Expr::col(E::Id).eq(id))
        .and_where(Expr::col(E::OrgId).eq(org.0))
        .to_owned();
    db.fetch_optional(&stmt).await
}

pub(crate) async fn list_experiments(
    db: &Db,
    org: OrgId,
    status: Option<&str>,
    fetch: u64,
    key: Option<Key>,
) -> Result<Vec<ExperimentRow>, StoreError> {
    let mut stmt = Query::select()
        .columns(E_COLUMNS)
        .from(E::Table)
        .and_where(Expr::col(E::OrgId).eq(org.0))
        .order_by(E::CreatedAt, Order::Desc)
        .order_by(E::Id, Order::Desc)
        .limit(fetch)
        .to_owned();
    if let Some(s) = status {
        stmt.and_where(Expr::col(E::Status).eq(s));
    }
    after(&mut stmt, E::CreatedAt, E::Id, key);
    db.fetch_all(&stmt).await
}

/// Rewrites a draft's name, description and plan when it is still the
/// draft at `version`; false when it changed meanwhile.
pub(crate) async fn rewrite_draft(
    tx: &mut Tx<'_>,
    org: OrgId,
    id: Uuid,
    version: i64,
    (name, description, plan): (&str, Option<&str>, Value),
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let stmt = Query::update()
        .table(E::Table)
        .value(E::Name, name)
        .value(E::Description, description)
        .value(E::Plan, plan)
        .value(E::Version, version + 1)
        .value(E::UpdatedAt, now)
        .and_where(Expr::col(E::Id).eq(id))
        .and_where(Expr::col(E::OrgId).eq(org.0))
        .and_where(Expr::col(E::Status).eq("draft"))
        .and_where(Expr::col(E::Version).eq(version))
        .to_owned();
    Ok(tx.execute(&stmt).await? > 0)
}

/// What a status move writes besides the status.
#[derive(Default)]
pub(crate) struct MoveExtras<'a> {
    /// Registration: plan hash, pre-period hash, who.
    pub registered: Option<(&'a str, Option<&'a str>, &'a str)>,
    pub started: bool,
    pub analysed: bool,
}

/// Moves an experiment from `from` at `version` to `to`; false when it
/// changed meanwhile.
pub(crate) async fn set_status(
    tx: &mut Tx<'_>,
    org: OrgId,
    id: Uuid,
    (from, version): (&str, i64),
    to: &str,
    extras: MoveExtras<'_>,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let mut stmt = Query::update()
        .table(E::Table)
        .value(E::Status, to)
        .value(E::Version, version + 1)
        .value(E::UpdatedAt, now)
        .and_where(Expr::col(E::Id).eq(id))
        .and_where(Expr::col(E::OrgId).eq(org.0))
        .and_where(Expr::col(E::Status).eq(from))
        .and_where(Expr::col(E::Version).eq(version))
        .to_owned();
    if let Some((plan_hash, pre_hash, by)) = extras.registered {
        stmt.value(E::PlanHash, plan_hash)
            .value(E::PrePeriodHash, pre_hash.map(str::to_owned))
            .value(E::RegisteredBy, by)
            .value(E::RegisteredAt, now);
    }
    if extras.started {
        stmt.value(E::StartedAt, now);
    }
    if extras.analysed {
        stmt.value(E::AnalysedAt, now);
    }
    Ok(tx.execute(&stmt).await? > 0)
}

/// A stored KPI panel.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct PanelRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub experiment_id: Uuid,
    pub source: String,
    pub units: i64,
    pub periods: i64,
    pub first_period: String,
    pub last_period: String,
    pub data: Json<Value>,
    pub panel_hash: String,
    pub created_by: String,
    pub created_at: OffsetDateTime,
}

const P_COLUMNS: [P; 12] = [
    P::Id,
    P::OrgId,
    P::ExperimentId,
    P::Source,
    P::Units,
    P::Periods,
    P::FirstPeriod,
    P::LastPeriod,
    P::Data,
    P::PanelHash,
    P::CreatedBy,
    P::CreatedAt,
];

pub(crate) async fn insert_panel(tx: &mut Tx<'_>, r: &PanelRow) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(P::Table)
        .columns(P_COLUMNS)
        .values_panic([
            r.id.into(),
            r.org_id.into(),
            r.experiment_id.into(),
            r.source.clone().into(),
            r.units.into(),
            r.periods.into(),
            r.first_period.clone().into(),
            r.last_period.clone().into(),
            r.data.0.clone().into(),
            r.panel_hash.clone().into(),
            r.created_by.clone().into(),
            r.created_at.into(),
        ])
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}

/// The experiment's latest panel.
pub(crate) async fn latest_panel(
    db: &Db,
    org: OrgId,
    experiment: Uuid,
) -> Result<Option<PanelRow>, StoreError> {
    let stmt = Query::select()
        .columns(P_COLUMNS)
        .from(P::Table)
        .and_where(Expr::col(P::OrgId).eq(org.0))
        .and_where(Expr::col(P::ExperimentId).eq(experiment))
        .order_by(P::CreatedAt, Order::Desc)
        .order_by(P::Id, Order::Desc)
        .limit(1)
        .to_owned();
    db.fetch_optional(&stmt).await
}

/// One panel of the experiment.
pub(crate) async fn get_panel(
    db: &Db,
    org: OrgId,
    experiment: Uuid,
    id: Uuid,
) -> Result<Option<PanelRow>, StoreError> {
    let stmt = Query::select()
        .columns(P_COLUMNS)
        .from(P::Table)
        .and_where(Expr::col(P::OrgId).eq(org.0))
        .and_where(Expr::col(P::ExperimentId).eq(experiment))
        .and_where(Expr::col(P::Id).eq(id))
        .to_owned();
    db.fetch_optional(&stmt).await
}

/// A stored analysis.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct AnalysisRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub experiment_id: Uuid,
    pub panel_id: Uuid,
    pub plan_hash: String,
    pub panel_hash: String,
    pub inputs_hash: String,
    pub result_hash: String,
    pub engine_version: String,
    pub result: Json<Value>,
    pub created_by: String,
    pub created_at: OffsetDateTime,
}

const A_COLUMNS: [A; 12] = [
    A::Id,
    A::OrgId,
    A::ExperimentId,
    A::PanelId,
    A::PlanHash,
    A::PanelHash,
    A::InputsHash,
    A::ResultHash,
    A::EngineVersion,
    A::Result,
    A::CreatedBy,
    A::CreatedAt,
];

pub(crate) async fn insert_analysis(tx: &mut Tx<'_>, r: &AnalysisRow) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(A::Table)
        .columns(A_COLUMNS)
        .values_panic([
            r.id.into(),
            r.org_id.into(),
            r.experiment_id.into(),
            r.panel_id.into(),
            r.plan_hash.clone().into(),
            r.panel_hash.clone().into(),
            r.inputs_hash.clone().into(),
            r.result_hash.clone().into(),
            r.engine_version.clone().into(),
            r.result.0.clone().into(),
            r.created_by.clone().into(),
            r.created_at.into(),
        ])
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}

pub(crate) async fn list_analyses(
    db: &Db,
    org: OrgId,
    experiment: Uuid,
    fetch: u64,
    key: Option<Key>,
) -> Result<Vec<AnalysisRow>, StoreError> {
    let mut stmt = Query::select()
        .columns(A_COLUMNS)
        .from(A::Table)
        .and_where(Expr::col(A::OrgId).eq(org.0))
        .and_where(Expr::col(A::ExperimentId).eq(experiment))
        .order_by(A::CreatedAt, Order::Desc)
        .order_by(A::Id, Order::Desc)
        .limit(fetch)
        .to_owned();
    after(&mut stmt, A::CreatedAt, A::Id, key);
    db.fetch_all(&stmt).await
}

/// A stored design.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct DesignRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub experiment_id: Uuid,
    pub panel_id: Uuid,
    pub request: Json<Value>,
    pub status: String,
    pub report: Option<Json<Value>>,
    pub error: Option<String>,
    pub job_id: Option<Uuid>,
    pub created_by: String,
    pub created_at: OffsetDateTime,
    pub completed_at: Option<OffsetDateTime>,
}

const D_COLUMNS: [D; 12] = [
    D::Id,
    D::OrgId,
    D::ExperimentId,
    D::PanelId,
    D::Request,
    D::Status,
    D::Report,
    D::Error,
    D::JobId,
    D::CreatedBy,
    D::CreatedAt,
    D::CompletedAt,
];

pub(crate) async fn insert_design(tx: &mut Tx<'_>, r: &DesignRow) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(D::Table)
        .columns([
            D::Id,
            D::OrgId,
            D::ExperimentId,
            D::PanelId,
            D::Request,
            D::Status,
            D::JobId,
            D::CreatedBy,
            D::CreatedAt,
        ])
        .values_panic([
            r.id.into(),
            r.org_id.into(),
            r.experiment_id.into(),
            r.panel_id.into(),
            r.request.0.clone().into(),
            r.status.clone().into(),
            r.job_id.into(),
            r.created_by.clone().into(),
            r.created_at.into(),
        ])
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}

pub(crate) async fn get_design(
    db: &Db,
    org: OrgId,
    id: Uuid,
) -> Result<Option<DesignRow>, StoreError> {
    let stmt = Query::select()
        .columns(D_COLUMNS)
        .from(D::Table)
        .and_where(Expr::col(D::OrgId).eq(org.0))
        .and_where(Expr::col(D::Id).eq(id))
        .to_owned();
    db.fetch_optional(&stmt).await
}

pub(crate) async fn list_designs(
    db: &Db,
    org: OrgId,
    experiment: Uuid,
    fetch: u64,
    key: Option<Key>,
) -> Result<Vec<DesignRow>, StoreError> {
    let mut stmt = Query::select()
        .columns(D_COLUMNS)
        .from(D::Table)
        .and_where(Expr::col(D::OrgId).eq(org.0))
        .and_where(Expr::col(D::ExperimentId).eq(experiment))
        .order_by(D::CreatedAt, Order::Desc)
        .order_by(D::Id, Order::Desc)
        .limit(fetch)
        .to_owned();
    after(&mut stmt, D::CreatedAt, D::Id, key);
    db.fetch_all(&stmt).await
}

/// Finishes a queued design with its report or its error; false when it
/// was finished already.
pub(crate) async fn finish_design(
    tx: &mut Tx<'_>,
    org: OrgId,
    id: Uuid,
    outcome: Result<Value, String>,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let mut stmt = Query::update()
        .table(D::Table)
        .value(D::CompletedAt, now)
        .and_where(Expr::col(D::OrgId).eq(org.0))
        .and_where(Expr::col(D::Id).eq(id))
        .and_where(Expr::col(D::Status).eq("queued"))
        .to_owned();
    match outcome {
        Ok(report) => stmt.value(D::Status, "completed").value(D::Report, report),
        Err(e) => stmt.value(D::Status, "failed").value(D::Error, e),
    };
    Ok(tx.execute(&stmt).await? > 0)
}
