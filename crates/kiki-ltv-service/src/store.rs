//! The SyncValue tables: every query here takes the organisation id and
//! filters by it, so one tenant never reads another's rows.

use kiki_core::{Currency, OrgId};
use kiki_ltv::{CustomerPrediction, CustomerSummary, Transaction};
use kiki_store::{Db, StoreError, Tx};
use sea_query::{Expr, ExprTrait, Func, NullOrdering, OnConflict, Order, Query};
use serde::Serialize;
use serde_json::Value;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::domain::NewTransaction;
use crate::schema::{LtvModels as M, LtvPredictions as P, LtvTransactions as T};

/// Rows per multi-row INSERT (well under SQLite's bound-parameter limit).
const INSERT_BATCH: usize = 500;

/// Inserts transactions with their idempotency keys (one per row),
/// skipping keys already stored; the number inserted.
pub async fn insert_transactions(
    tx: &mut Tx<'_>,
    org: OrgId,
    rows: &[NewTransaction],
    keys: &[String],
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let mut inserted = 0;
    let pairs: Vec<(&NewTransaction, &String)> = rows.iter().zip(keys).collect();
    for chunk in pairs.chunks(INSERT_BATCH) {
        let mut stmt = Query::insert()
            .into_table(T::Table)
            .columns([
                T::Id,
                T::OrgId,
                T::CustomerId,
                T::OccurredAt,
                T::AmountMicros,
                T::Currency,
                T::OrderId,
                T::Segment,
                T::Platform,
                T::DedupKey,
                T::CreatedAt,
            ])
            .on_conflict(
                OnConflict::columns([T::OrgId, T::DedupKey])
                    .do_nothing()
                    .to_owned(),
            )
            .to_owned();
        for (r, key) in chunk {
            stmt.values_panic([
                Uuid::now_v7().into(),
                org.0.into(),
                r.customer_id.as_str().into(),
                r.at.into(),
                r.amount_micros.into(),
                r.currency.to_string().into(),
                r.order_id.clone().into(),
                r.segment.clone().into(),
                r.platform.clone().into(),
                key.as_str().into(),
                now.into(),
            ]);
        }
        inserted += tx.execute(&stmt).await?;
    }
    Ok(inserted)
}

#[derive(Debug, sqlx::FromRow)]
struct TransactionRow {
    customer_id: String,
    occurred_at: OffsetDateTime,
    amount_micros: i64,
    segment: Option<String>,
    platform: Option<String>,
}

/// Transactions of the organisation in one currency (optionally of some
/// customers only), oldest first.
pub async fn load_transactions(
    db: &Db,
    org: OrgId,
    currency: Currency,
    customers: Option<&[String]>,
) -> Result<Vec<Transaction>, StoreError> {
    let mut stmt = Query::select()
        .columns([
            T::CustomerId,
            T::OccurredAt,
            T::AmountMicros,
            T::Segment,
            T::Platform,
        ])
        .from(T::Table)
        .and_where(Expr::col(T::OrgId).eq(org.0))
        .and_where(Expr::col(T::Currency).eq(currency.to_string()))
        .order_by(T::OccurredAt, Order::Asc)
        .order_by(T::Id, Order::Asc)
        .to_owned();
    if let Some(ids) = customers {
        stmt.and_where(Expr::col(T::CustomerId).is_in(ids.iter().map(String::as_str)));
    }
    let rows: Vec<TransactionRow> = db.fetch_all(&stmt).await?;
    Ok(rows
        .into_iter()
        .map(|r| Transaction {
            customer_id: r.customer_id,
            at: r.occurred_at,
            amount_micros: r.amount_micros,
            segment: r.segment,
            platform: r.platform,
        })
        .collect())
}

#[derive(Debug, sqlx::FromRow)]
struct CountRow {
    n: i64,
}

/// Distinct customers with transactions in the currency.
pub async fn count_customers(db: &Db, org: OrgId, currency: Currency) -> Result<u64, StoreError> {
    let stmt = Query::select()
        .expr_as(
            Func::count_distinct(Expr::col(T::CustomerId)),
            sea_query::Alias::new("n"),
        )
        .from(T::Table)
        .and_where(Expr::col(T::OrgId).eq(org.0))
        .and_where(Expr::col(T::Currency).eq(currency.to_string()))
        .to_owned();
    let row: CountRow = db.fetch_one(&stmt).await?;
    Ok(u64::try_from(row.n).unwrap_or(0))
}

/// A stored model row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ModelRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub version: i64,
    pub kind: String,
    pub time_unit: String,
    pub currency: String,
    pub params: Json<Value>,
    pub fitted: Json<Value>,
    pub gamma_gamma: Option<Json<Value>>,
    pub holdout: Option<Json<Value>>,
    pub window_start: OffsetDateTime,
    pub window_end: OffsetDateTime,
    pub calibration_end: Option<OffsetDateTime>,
    pub customer_count: i64,
    pub horizon_days: i64,
    pub discount_rate: f64,
    pub job_id: Option<Uuid>,
    pub created_by: String,
    pub created_at: OffsetDateTime,
}

const MODEL_COLUMNS: [M; 19] = [
    M::Id,
    M::OrgId,
    M::Version,
    M::Kind,
    M::TimeUnit,
    M::Currency,
    M::Params,
    M::Fitted,
    M::GammaGamma,
    M::Holdout,
    M::WindowStart,
    M::WindowEnd,
    M::CalibrationEnd,
    M::CustomerCount,
    M::HorizonDays,
    M::DiscountRate,
    M::JobId,
    M::CreatedBy,
    M::CreatedAt,
];

/// The next version number of the organisation's models.
pub async fn next_version(tx: &mut Tx<'_>, org: OrgId) -> Result<i64, StoreError> {
    let stmt = Query::select()
        .expr_as(
            Func::coalesce([Expr::col(M::Version).max(), Expr::val(0i64)]),
            sea_query::Alias::new("n"),
        )
        .from(M::Table)
        .and_where(Expr::col(M::OrgId).eq(org.0))
        .to_owned();
    let row: CountRow = tx.fetch_one(&stmt).await?;
    Ok(row.n + 1)
}

pub async fn insert_model(tx: &mut Tx<'_>, m: &ModelRow) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(M::Table)
        .columns(MODEL_COLUMNS)
        .values_panic([
            m.id.into(),
            m.org_id.into(),
            m.version.into(),
            m.kind.as_str().into(),
            m.time_unit.as_str().into(),
            m.currency.as_str().into(),
            m.params.0.clone().into(),
            m.fitted.0.clone().into(),
            m.gamma_gamma.as_ref().map(|j| j.0.clone()).into(),
            m.holdout.as_ref().map(|j| j.0.clone()).into(),
            m.window_start.into(),
            m.window_end.into(),
            m.calibration_end.into(),
            m.customer_count.into(),
            m.horizon_days.into(),
            m.discount_rate.into(),
            m.job_id.into(),
            m.created_by.as_str().into(),
            m.created_at.into(),
        ])
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}

/// One model of the organisation.
pub async fn get_model(db: &Db, org: OrgId, id: Uuid) -> Result<Option<ModelRow>, StoreError> {
    let stmt = Query::select()
        .columns(MODEL_COLUMNS)
        .from(M::Table)
        .and_where(Expr::col(M::OrgId).eq(org.0))
        .and_where(Expr::col(M::Id).eq(id))
        .to_owned();
    db.fetch_optional(&stmt).await
}

#[derive(Debug, sqlx::FromRow)]
struct OrgRow {
    org_id: Uuid,
}

/// Every organisation with at least one fitted model (for system jobs that
/// act per organisation, such as the bidder's segment sync).
pub async fn orgs_with_models(db: &Db) -> Result<Vec<OrgId>, StoreError> {
    let stmt = Query::select()
        .distinct()
        .column(M::OrgId)
        .from(M::Table)
        .to_owned();
    let rows: Vec<OrgRow> = db.fetch_all(&stmt).await?;
    Ok(rows.into_iter().map(|r| OrgId(r.org_id)).collect())
}

/// The organisation's latest model.
pub async fn current_model(db: &Db, org: OrgId) -> Result<Option<ModelRow>, StoreError> {
    let stmt = Query::select()
        .columns(MODEL_COLUMNS)
        .from(M::Table)
        .and_where(Expr::col(M::OrgId).eq(org.0))
        .order_by(M::Version, Order::Desc)
        .limit(1)
        .to_owned();
    db.fetch_optional(&stmt).await
}

/// Models newest first, `limit` of them with a version below `before`.
pub async fn list_models(
    db: &Db,
    org: OrgId,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<ModelRow>, StoreError> {
    let mut stmt = Query::select()
        .columns(MODEL_COLUMNS)
        .from(M::Table)
        .and_where(Expr::col(M::OrgId).eq(org.0))
        .order_by(M::Version, Order::Desc)
        .limit(u64::from(limit))
        .to_owned();
    if let Some(v) = before {
        stmt.and_where(Expr::col(M::Version).lt(v));
    }
    db.fetch_all(&stmt).await
}

/// Drops the organisation's stored predictions (before a refit stores its own).
pub async fn delete_predictions(tx: &mut Tx<'_>, org: OrgId) -> Result<u64, StoreError> {
    let stmt = Query::delete()
        .from_table(P::Table)
        .and_where(Expr::col(P::OrgId).eq(org.0))
        .to_owned();
    tx.execute(&stmt).await
}

pub async fn insert_predictions(
    tx: &mut Tx<'_>,
    org: OrgId,
    model_id: Uuid,
    currency: Currency,
    summaries: &[CustomerSummary],
    predictions: &[CustomerPrediction],
) -> Result<(), StoreError> {
    let currency = currency.to_string();
    let pairs: Vec<(&CustomerSummary, &CustomerPrediction)> =
        summaries.iter().zip(predictions).collect();
    for chunk in pairs.chunks(INSERT_BATCH) {
        let mut stmt = Query::insert()
            .into_table(P::Table)
            .columns([
                P::ModelId,
                P::OrgId,
                P::CustomerId,
                P::Frequency,
                P::Recency,
                P::Age,
                P::MonetaryMicros,
                P::ExpectedPurchases,
                P::PAlive,
                P::ChurnRisk,
                P::ExpectedAovMicros,
                P::ClvMicros,
                P::Currency,
                P::Segment,
                P::Platform,
            ])
            .to_owned();
        for (s, p) in chunk {
            stmt.values_panic([
                model_id.into(),
                org.0.into(),
                p.customer_id.as_str().into(),
                s.frequency.into(),
                s.recency.into(),
                s.age.into(),
                s.monetary_micros.into(),
                p.expected_purchases.into(),
                p.p_alive.into(),
                p.churn_risk.into(),
                p.expected_aov_micros.into(),
                p.clv_micros.into(),
                currency.as_str().into(),
                p.segment.clone().into(),
                p.platform.clone().into(),
            ]);
        }
        tx.execute(&stmt).await?;
    }
    Ok(())
}

/// A stored per-customer summary and forecast.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct PredictionRow {
    pub model_id: Uuid,
    pub customer_id: String,
    /// Repeat purchase days in the observation window.
    pub frequency: f64,
    /// Age at the last purchase, in the model's time unit.
    pub recency: f64,
    /// Age at the end of observation (T), in the model's time unit.
    pub age: f64,
    /// Mean value of the repeat purchase days, micros.
    pub monetary_micros: i64,
    /// Expected purchases over the model's horizon.
    pub expected_purchases: f64,
    pub p_alive: f64,
    pub churn_risk: f64,
    pub expected_aov_micros: Option<i64>,
    pub clv_micros: Option<i64>,
    pub currency: String,
    pub segment: Option<String>,
    pub platform: Option<String>,
}

const PREDICTION_COLUMNS: [P; 14] = [
    P::ModelId,
    P::CustomerId,
    P::Frequency,
    P::Recency,
    P::Age,
    P::MonetaryMicros,
    P::ExpectedPurchases,
    P::PAlive,
    P::ChurnRisk,
    P::ExpectedAovMicros,
    P::ClvMicros,
    P::Currency,
    P::Segment,
    P::Platform,
];

fn select_predictions(org: OrgId, model_id: Uuid) -> sea_query::SelectStatement {
    Query::select()
        .columns(PREDICTION_COLUMNS)
        .from(P::Table)
        .and_where(Expr::col(P::OrgId).eq(org.0))
        .and_where(Expr::col(P::ModelId).eq(model_id))
        .to_owned()
}

/// Predictions of some customers under a model.
pub async fn predictions_of(
    db: &Db,
    org: OrgId,
    model_id: Uuid,
    customers: &[String],
) -> Result<Vec<PredictionRow>, StoreError> {
    let stmt = select_predictions(org, model_id)
        .and_where(Expr::col(P::CustomerId).is_in(customers.iter().map(String::as_str)))
        .to_owned();
    db.fetch_all(&stmt).await
}

/// How the customer list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    Clv,
    ChurnRisk,
    CustomerId,
}

/// A page of predictions, `offset` rows in.
pub async fn page_predictions(
    db: &Db,
    org: OrgId,
    model_id: Uuid,
    sort: SortBy,
    offset: u64,
    limit: u32,
) -> Result<Vec<PredictionRow>, StoreError> {
    let mut stmt = select_predictions(org, model_id);
    match sort {
        SortBy::Clv => {
            stmt.order_by_with_nulls(P::ClvMicros, Order::Desc, NullOrdering::Last);
        }
        SortBy::ChurnRisk => {
            stmt.order_by(P::ChurnRisk, Order::Desc);
        }
        SortBy::CustomerId => {}
    }
    stmt.order_by(P::CustomerId, Order::Asc)
        .offset(offset)
        .limit(u64::from(limit));
    db.fetch_all(&stmt).await
}

/// Every prediction of a model (for aggregates).
pub async fn all_predictions(
    db: &Db,
    org: OrgId,
    model_id: Uuid,
) -> Result<Vec<PredictionRow>, StoreError> {
    db.fetch_all(&select_predictions(org, model_id)).await
}
