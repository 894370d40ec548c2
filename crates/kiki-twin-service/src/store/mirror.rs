//! `twin_mirror_reports`: one report per simulation and day.

use kiki_core::OrgId;
use kiki_store::{Db, StoreError, Tx};
use sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use serde_json::Value;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::schema::TwinMirrorReports as MR;

/// A stored mirror report.
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct MirrorRow {
    pub id: Uuid,
    pub simulation_id: Uuid,
    pub period_key: String,
    pub days_observed: i64,
    pub rollback_recommended: bool,
    pub latest_deviation: Option<f64>,
    pub report: Json<Value>,
    pub created_at: OffsetDateTime,
}

/// A new mirror report.
pub(crate) struct NewMirrorReport<'a> {
    pub id: Uuid,
    pub org: OrgId,
    pub simulation: Uuid,
    pub period_key: &'a str,
    pub days_observed: i64,
    pub rollback_recommended: bool,
    pub latest_deviation: Option<f64>,
    pub report: Value,
    pub now: OffsetDateTime,
}

/// Stores a report; false when the simulation already has one for the day.
pub(crate) async fn insert(tx: &mut Tx<'_>, r: NewMirrorReport<'_>) -> Result<bool, StoreError> {
    let stmt = Query::insert()
        .into_table(MR::Table)
        .columns([
            MR::Id,
            MR::OrgId,
            MR::SimulationId,
            MR::PeriodKey,
            MR::DaysObserved,
            MR::RollbackRecommended,
            MR::LatestDeviation,
            MR::Report,
            MR::CreatedAt,
        ])
        .values_panic([
            r.id.into(),
            r.org.0.into(),
            r.simulation.into(),
            r.period_key.into(),
            r.days_observed.into(),
            r.rollback_recommended.into(),
            r.latest_deviation.into(),
            r.report.into(),
            r.now.into(),
        ])
        .on_conflict(
            OnConflict::columns([MR::SimulationId, MR::PeriodKey])
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    Ok(tx.execute(&stmt).await? > 0)
}

/// Up to `limit` reports of one simulation, newest first.
pub(crate) async fn reports(
    db: &Db,
    simulation: Uuid,
    limit: u64,
) -> Result<Vec<MirrorRow>, StoreError> {
    let stmt = Query::select()
        .columns([
            MR::Id,
            MR::SimulationId,
            MR::PeriodKey,
            MR::DaysObserved,
            MR::RollbackRecommended,
            MR::LatestDeviation,
            MR::Report,
            MR::CreatedAt,
        ])
        .from(MR::Table)
        .and_where(Expr::col(MR::SimulationId).eq(simulation))
        .order_by(MR::PeriodKey, Order::Desc)
        .limit(limit)
        .to_owned();
    db.fetch_all(&stmt).await
}
