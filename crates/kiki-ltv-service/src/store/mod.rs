//! The SyncValue tables: every query here takes the organisation id and
//! filters by it, so one tenant never reads another's rows. The table
//! identifiers are in `schema.rs`.

use kiki_core::{Currency, OrgId};
use kiki_ltv::{
    CustomerPrediction, CustomerSummary, Transaction, TransactionLog, TransactionLogBuilder,
};
use kiki_store::{Db, StoreError, Tx};
use sea_query::{Cond, Expr, ExprTrait, Func, NullOrdering, OnConflict, Order, Query};
use serde::Serialize;
use serde_json::Value;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::config::DateWindow;
use crate::domain::{TransactionKind, TransactionRef, apply_refund_references};
use schema::{LtvModels as M, LtvPredictions as P, LtvTransactions as T, LtvUploads as U};

mod schema;

/// Transactions per multi-row INSERT: 13 values a row, 26,000 bound
/// parameters, under SQLite's 32,766 and PostgreSQL's 65,535.
pub const TRANSACTION_BATCH: usize = 2000;
/// Predictions per multi-row INSERT (15 values a row: 30,000 parameters).
pub const PREDICTION_BATCH: usize = 2000;
/// Stored transactions a fit reads per query.
const LOAD_PAGE: u64 = 200_000;

/// A model whose predictions are still being written: no reader sees it.
pub const MODEL_FITTING: &str = "fitting";
/// A model stored whole; the ready model with the highest version is the
/// organisation's current one.
pub const MODEL_READY: &str = "ready";

/// Inserts transactions with their idempotency keys (one per row, in the
/// order given), skipping keys already stored; the number inserted.
pub async fn insert_transactions(
    tx: &mut Tx<'_>,
    org: OrgId,
    upload: Option<Uuid>,
    rows: &[(TransactionRef<'_>, String)],
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let mut inserted = 0;
    for chunk in rows.chunks(TRANSACTION_BATCH) {
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
                T::UploadId,
                T::Kind,
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
                r.customer_id.into(),
                r.at.into(),
                r.amount_micros.into(),
                r.currency.as_str().into(),
                r.order_id.into(),
                r.segment.into(),
                r.platform.into(),
                key.as_str().into(),
                now.into(),
                upload.into(),
                r.kind.as_str().into(),
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
    order_id: Option<String>,
    segment: Option<String>,
    platform: Option<String>,
    kind: String,
}

/// The rows a fit or a customer view may use: dated within the plausible
/// span, orders not negative, refunds not positive. Rows stored before these
/// rules were enforced at upload can break them; they are left out, never
/// read (a timestamp outside the span may not even decode).
fn usable(window: &DateWindow) -> sea_query::Condition {
    sea_query::Cond::all()
        .add(Expr::col(T::OccurredAt).gte(window.earliest))
        .add(Expr::col(T::OccurredAt).lte(window.latest))
        .add(
            sea_query::Cond::any()
                .add(
                    Expr::col(T::Kind)
                        .eq(TransactionKind::Order.as_str())
                        .and(Expr::col(T::AmountMicros).gte(0i64)),
                )
                .add(
                    Expr::col(T::Kind)
                        .eq(TransactionKind::Refund.as_str())
                        .and(Expr::col(T::AmountMicros).lte(0i64)),
                ),
        )
}

/// An upload whose rows are still being stored: none of them is read.
pub const UPLOAD_RECEIVING: &str = "receiving";
/// An upload stored whole.
pub const UPLOAD_COMPLETE: &str = "complete";

/// The rows readers see: those of no upload or of a complete one (an upload
/// still `receiving` is stored in several transactions and becomes visible
/// at once when it is marked complete).
fn visible(org: OrgId) -> sea_query::Condition {
    let receiving = Query::select()
        .column(U::Id)
        .from(U::Table)
        .and_where(Expr::col(U::OrgId).eq(org.0))
        .and_where(Expr::col(U::Status).eq(UPLOAD_RECEIVING))
        .to_owned();
    sea_query::Cond::any()
        .add(Expr::col(T::UploadId).is_null())
        .add(Expr::col(T::UploadId).not_in_subquery(receiving))
}

/// Transactions of one currency as the engine reads them, and how many
/// stored rows were left out as unusable.
#[derive(Debug, Clone, Default)]
pub struct LoadedTransactions {
    /// Oldest first; refunds carry negative amounts and are dated at the
    /// order they name when it is found.
    pub transactions: Vec<Transaction>,
    /// Orders among them (refunds not counted).
    pub orders: u64,
    pub refunds: u64,
    /// Stored rows outside the plausible dates or with an amount of the
    /// wrong sign for their kind.
    pub skipped: u64,
}

/// Transactions of the organisation in one currency (optionally of some
/// customers only), oldest first, without the unusable ones.
pub async fn load_transactions(
    db: &Db,
    org: OrgId,
    currency: Currency,
    customers: Option<&[String]>,
    window: &DateWindow,
) -> Result<LoadedTransactions, StoreError> {
    let mut base = Query::select()
        .from(T::Table)
        .and_where(Expr::col(T::OrgId).eq(org.0))
        .and_where(Expr::col(T::Currency).eq(currency.to_string()))
        .cond_where(visible(org))
        .to_owned();
    if let Some(ids) = customers {
        base.and_where(Expr::col(T::CustomerId).is_in(ids.iter().map(String::as_str)));
    }
    let stmt = base
        .clone()
        .columns([
            T::CustomerId,
            T::OccurredAt,
            T::AmountMicros,
            T::OrderId,
            T::Segment,
            T::Platform,
            T::Kind,
        ])
        .cond_where(usable(window))
        .order_by(T::OccurredAt, Order::Asc)
        .order_by(T::Id, Order::Asc)
        .to_owned();
    let rows: Vec<TransactionRow> = db.fetch_all(&stmt).await?;
    let count = base
        .expr_as(Func::count(Expr::col(T::Id)), sea_query::Alias::new("n"))
        .to_owned();
    let all: CountRow = db.fetch_one(&count).await?;
    let mut loaded = LoadedTransactions {
        skipped: u64::try_from(all.n)
            .unwrap_or(0)
            .saturating_sub(rows.len() as u64),
        ..LoadedTransactions::default()
    };
    let rows: Vec<(Transaction, Option<String>)> = rows
        .into_iter()
        .map(|r| {
            if r.kind == TransactionKind::Refund.as_str() {
                loaded.refunds += 1;
            } else {
                loaded.orders += 1;
            }
            r.into_transaction()
        })
        .collect();
    loaded.transactions = apply_refund_references(rows);
    Ok(loaded)
}

/// Reads an organisation's usable transactions of one currency into a
/// [`TransactionLog`] a page at a time: customers in id order, each
/// customer's rows in one page (oldest first, refunds naming an order dated
/// at it), so only a page of rows is held as `Transaction`s at once. Each
/// page is its own query, so on SQLite a writer is never held up by it.
pub struct LogReader<'d> {
    db: &'d Db,
    base: sea_query::SelectStatement,
    /// The last customer read whole.
    after: Option<String>,
    done: bool,
    builder: TransactionLogBuilder,
    orders: u64,
    refunds: u64,
    /// Stored rows of the currency, usable or not.
    stored: u64,
}

/// What a [`LogReader`] read.
#[derive(Debug)]
pub struct LoadedLog {
    pub log: TransactionLog,
    /// Stored rows left out as unusable.
    pub skipped: u64,
}

impl<'d> LogReader<'d> {
    pub async fn new(
        db: &'d Db,
        org: OrgId,
        currency: Currency,
        window: &DateWindow,
    ) -> Result<LogReader<'d>, StoreError> {
        let scoped = Query::select()
            .from(T::Table)
            .and_where(Expr::col(T::OrgId).eq(org.0))
            .and_where(Expr::col(T::Currency).eq(currency.to_string()))
            .cond_where(visible(org))
            .to_owned();
        let count = scoped
            .clone()
            .expr_as(Func::count(Expr::col(T::Id)), sea_query::Alias::new("n"))
            .to_owned();
        let all: CountRow = db.fetch_one(&count).await?;
        let base = scoped
            .clone()
            .columns([
                T::CustomerId,
                T::OccurredAt,
                T::AmountMicros,
                T::OrderId,
                T::Segment,
                T::Platform,
                T::Kind,
            ])
            .cond_where(usable(window))
            .to_owned();
        Ok(LogReader {
            db,
            base,
            after: None,
            done: false,
            builder: TransactionLogBuilder::new(),
            orders: 0,
            refunds: 0,
            stored: u64::try_from(all.n).unwrap_or(0),
        })
    }

    /// Stored rows of the currency (usable or not).
    pub fn stored(&self) -> u64 {
        self.stored
    }

    /// Rows read so far.
    pub fn read(&self) -> u64 {
        self.orders + self.refunds
    }

    /// Reads the next page; `false` once every row was read.
    pub async fn next_page(&mut self) -> Result<bool, StoreError> {
        if self.done {
            return Ok(false);
        }
        let mut stmt = self.base.clone();
        if let Some(after) = &self.after {
            stmt.and_where(Expr::col(T::CustomerId).gt(after.as_str()));
        }
        stmt.order_by(T::CustomerId, Order::Asc)
            .order_by(T::OccurredAt, Order::Asc)
            .order_by(T::Id, Order::Asc)
            .limit(LOAD_PAGE);
        let mut rows: Vec<TransactionRow> = self.db.fetch_all(&stmt).await?;
        if (rows.len() as u64) < LOAD_PAGE {
            self.done = true;
        } else if let Some(last) = rows.last().map(|r| r.customer_id.clone()) {
            // The last customer may go on in the next page: read them whole.
            rows.retain(|r| r.customer_id != last);
            if rows.is_empty() {
                let mut one = self.base.clone();
                one.and_where(Expr::col(T::CustomerId).eq(last.as_str()))
                    .order_by(T::OccurredAt, Order::Asc)
                    .order_by(T::Id, Order::Asc);
                rows = self.db.fetch_all(&one).await?;
            }
        }
        let Some(last) = rows.last().map(|r| r.customer_id.clone()) else {
            self.done = true;
            return Ok(false);
        };
        self.after = Some(last);
        let page = self.transactions(rows);
        for t in apply_refund_references(page) {
            self.builder.push(t);
        }
        Ok(!self.done)
    }

    fn transactions(&mut self, rows: Vec<TransactionRow>) -> Vec<(Transaction, Option<String>)> {
        rows.into_iter()
            .map(|r| {
                if r.kind == TransactionKind::Refund.as_str() {
                    self.refunds += 1;
                } else {
                    self.orders += 1;
                }
                r.into_transaction()
            })
            .collect()
    }

    /// The log of the rows read, with the counts.
    pub fn finish(self) -> LoadedLog {
        let read = self.orders + self.refunds;
        LoadedLog {
            log: self.builder.finish(),
            skipped: self.stored.saturating_sub(read),
        }
    }
}

impl TransactionRow {
    fn into_transaction(self) -> (Transaction, Option<String>) {
        let tx = Transaction {
            customer_id: self.customer_id,
            at: self.occurred_at,
            amount_micros: self.amount_micros,
            segment: self.segment,
            platform: self.platform,
        };
        (tx, self.order_id)
    }
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
        .cond_where(visible(org))
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
    /// Set when transactions the model rests on were deleted.
    pub stale_at: Option<OffsetDateTime>,
    /// Stored rows the fit left out as unusable.
    pub skipped_transactions: i64,
    /// [`MODEL_FITTING`] or [`MODEL_READY`].
    pub status: String,
}

const MODEL_COLUMNS: [M; 22] = [
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
    M::StaleAt,
    M::SkippedTransactions,
    M::Status,
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
            m.stale_at.into(),
            m.skipped_transactions.into(),
            m.status.as_str().into(),
        ])
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}

/// One model of the organisation (stored whole).
pub async fn get_model(db: &Db, org: OrgId, id: Uuid) -> Result<Option<ModelRow>, StoreError> {
    let stmt = Query::select()
        .columns(MODEL_COLUMNS)
        .from(M::Table)
        .and_where(Expr::col(M::OrgId).eq(org.0))
        .and_where(Expr::col(M::Status).eq(MODEL_READY))
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
        .and_where(Expr::col(M::Status).eq(MODEL_READY))
        .to_owned();
    let rows: Vec<OrgRow> = db.fetch_all(&stmt).await?;
    Ok(rows.into_iter().map(|r| OrgId(r.org_id)).collect())
}

/// The organisation's current model: the latest stored whole.
pub async fn current_model(db: &Db, org: OrgId) -> Result<Option<ModelRow>, StoreError> {
    let stmt = Query::select()
        .columns(MODEL_COLUMNS)
        .from(M::Table)
        .and_where(Expr::col(M::OrgId).eq(org.0))
        .and_where(Expr::col(M::Status).eq(MODEL_READY))
        .order_by(M::Version, Order::Desc)
        .limit(1)
        .to_owned();
    db.fetch_optional(&stmt).await
}

/// Models stored whole, newest first, `limit` of them with a version below
/// `before`.
pub async fn list_models(
    db: &Db,
    org: OrgId,
    before: Option<i64>,
    fetch: u64,
) -> Result<Vec<ModelRow>, StoreError> {
    let mut stmt = Query::select()
        .columns(MODEL_COLUMNS)
        .from(M::Table)
        .and_where(Expr::col(M::OrgId).eq(org.0))
        .and_where(Expr::col(M::Status).eq(MODEL_READY))
        .order_by(M::Version, Order::Desc)
        .limit(fetch)
        .to_owned();
    if let Some(v) = before {
        stmt.and_where(Expr::col(M::Version).lt(v));
    }
    db.fetch_all(&stmt).await
}

/// Makes a fitted model (its predictions all written) one readers see; the
/// current model when its version is the highest.
pub async fn set_model_ready(tx: &mut Tx<'_>, org: OrgId, id: Uuid) -> Result<(), StoreError> {
    let stmt = Query::update()
        .table(M::Table)
        .value(M::Status, MODEL_READY)
        .and_where(Expr::col(M::OrgId).eq(org.0))
        .and_where(Expr::col(M::Id).eq(id))
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}

/// Ready models of the organisation other than `keep` (whose predictions a
/// refit removes).
pub async fn other_ready_models(db: &Db, org: OrgId, keep: Uuid) -> Result<Vec<Uuid>, StoreError> {
    let stmt = Query::select()
        .column(M::Id)
        .from(M::Table)
        .and_where(Expr::col(M::OrgId).eq(org.0))
        .and_where(Expr::col(M::Status).eq(MODEL_READY))
        .and_where(Expr::col(M::Id).ne(keep))
        .to_owned();
    let rows: Vec<IdRow> = db.fetch_all(&stmt).await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// Models still being written that were created before `before`: their fit
/// stopped (a crash, a timeout, a cancellation) without removing them.
pub async fn abandoned_models(
    db: &Db,
    org: OrgId,
    before: OffsetDateTime,
) -> Result<Vec<Uuid>, StoreError> {
    let stmt = Query::select()
        .column(M::Id)
        .from(M::Table)
        .and_where(Expr::col(M::OrgId).eq(org.0))
        .and_where(Expr::col(M::Status).eq(MODEL_FITTING))
        .and_where(Expr::col(M::CreatedAt).lt(before))
        .to_owned();
    let rows: Vec<IdRow> = db.fetch_all(&stmt).await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// Deletes up to `limit` predictions of one model; how many.
pub async fn delete_prediction_batch(
    tx: &mut Tx<'_>,
    org: OrgId,
    model_id: Uuid,
    limit: u64,
) -> Result<u64, StoreError> {
    let some = Query::select()
        .column(P::CustomerId)
        .from(P::Table)
        .and_where(Expr::col(P::ModelId).eq(model_id))
        .limit(limit)
        .to_owned();
    let stmt = Query::delete()
        .from_table(P::Table)
        .and_where(Expr::col(P::OrgId).eq(org.0))
        .and_where(Expr::col(P::ModelId).eq(model_id))
        .and_where(Expr::col(P::CustomerId).in_subquery(some))
        .to_owned();
    tx.execute(&stmt).await
}

/// Deletes a model row that is still being written (its predictions removed
/// first, in batches).
pub async fn delete_fitting_model(
    tx: &mut Tx<'_>,
    org: OrgId,
    id: Uuid,
) -> Result<u64, StoreError> {
    let stmt = Query::delete()
        .from_table(M::Table)
        .and_where(Expr::col(M::OrgId).eq(org.0))
        .and_where(Expr::col(M::Id).eq(id))
        .and_where(Expr::col(M::Status).eq(MODEL_FITTING))
        .to_owned();
    tx.execute(&stmt).await
}

/// Inserts predictions of one model in statements of [`PREDICTION_BATCH`]
/// rows.
pub async fn insert_predictions(
    tx: &mut Tx<'_>,
    org: OrgId,
    model_id: Uuid,
    currency: Currency,
    rows: &[(&CustomerSummary, &CustomerPrediction)],
) -> Result<(), StoreError> {
    let currency = currency.to_string();
    for chunk in rows.chunks(PREDICTION_BATCH) {
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

/// A stored per-customer summary and forecast (the API shows it as
/// [`crate::service::PredictionRow`], money as `Money`).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PredictionRecord {
    pub model_id: Uuid,
    pub customer_id: String,
    pub frequency: f64,
    pub recency: f64,
    pub age: f64,
    pub monetary_micros: i64,
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
) -> Result<Vec<PredictionRecord>, StoreError> {
    let stmt = select_predictions(org, model_id)
        .and_where(Expr::col(P::CustomerId).is_in(customers.iter().map(String::as_str)))
        .to_owned();
    db.fetch_all(&stmt).await
}

/// How the customer list is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortBy {
    /// CLV, highest first (customers without one last).
    Clv,
    /// Churn risk, highest first.
    ChurnRisk,
    CustomerId,
}

/// Where a page of predictions starts: the sort values of the last row of
/// the previous page (the customer id breaks ties).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct PredictionKey {
    pub clv_micros: Option<i64>,
    pub churn_risk: f64,
    pub customer_id: String,
}

/// Up to `fetch` predictions in `sort` order, after `key`.
pub async fn page_predictions(
    db: &Db,
    org: OrgId,
    model_id: Uuid,
    sort: SortBy,
    key: Option<PredictionKey>,
    fetch: u64,
) -> Result<Vec<PredictionRecord>, StoreError> {
    let mut stmt = select_predictions(org, model_id);
    match sort {
        SortBy::Clv => {
            stmt.order_by_with_nulls(P::ClvMicros, Order::Desc, NullOrdering::Last);
            if let Some(k) = &key {
                // CLV descending with no CLV last, then the customer id.
                let same_then_id = |clv: Expr| {
                    Cond::all()
                        .add(clv)
                        .add(Expr::col(P::CustomerId).gt(k.customer_id.as_str()))
                };
                let cond = match k.clv_micros {
                    Some(c) => Cond::any()
                        .add(Expr::col(P::ClvMicros).lt(c))
                        .add(same_then_id(Expr::col(P::ClvMicros).eq(c)))
                        .add(Expr::col(P::ClvMicros).is_null()),
                    None => Cond::any().add(same_then_id(Expr::col(P::ClvMicros).is_null())),
                };
                stmt.cond_where(cond);
            }
        }
        SortBy::ChurnRisk => {
            stmt.order_by(P::ChurnRisk, Order::Desc);
            if let Some(k) = &key {
                kiki_store::keyset::after(
                    &mut stmt,
                    &[(P::ChurnRisk, Order::Desc), (P::CustomerId, Order::Asc)],
                    vec![
                        sea_query::Value::from(k.churn_risk),
                        sea_query::Value::from(k.customer_id.as_str()),
                    ],
                );
            }
        }
        SortBy::CustomerId => {
            if let Some(k) = &key {
                kiki_store::keyset::after(
                    &mut stmt,
                    &[(P::CustomerId, Order::Asc)],
                    vec![k.customer_id.as_str()],
                );
            }
        }
    }
    stmt.order_by(P::CustomerId, Order::Asc).limit(fetch);
    db.fetch_all(&stmt).await
}

/// Every prediction of a model (for aggregates).
pub async fn all_predictions(
    db: &Db,
    org: OrgId,
    model_id: Uuid,
) -> Result<Vec<PredictionRecord>, StoreError> {
    db.fetch_all(&select_predictions(org, model_id)).await
}

/// Records an accepted upload.
pub async fn insert_upload(
    tx: &mut Tx<'_>,
    org: OrgId,
    upload: &UploadRow,
    status: &str,
) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(U::Table)
        .columns([
            U::Id,
            U::OrgId,
            U::Format,
            U::Currency,
            U::Received,
            U::Inserted,
            U::CreatedBy,
            U::CreatedAt,
            U::Status,
        ])
        .values_panic([
            upload.id.into(),
            org.0.into(),
            upload.format.as_str().into(),
            upload.currency.as_str().into(),
            upload.received.into(),
            upload.inserted.into(),
            upload.created_by.as_str().into(),
            upload.created_at.into(),
            status.into(),
        ])
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}

/// A stored upload.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UploadRow {
    pub id: Uuid,
    pub format: String,
    pub currency: String,
    pub received: i64,
    pub inserted: i64,
    pub created_by: String,
    pub created_at: OffsetDateTime,
}

/// Sets the number of rows an upload stored (known after the insert) and
/// marks it complete: its rows become visible.
pub async fn complete_upload(
    tx: &mut Tx<'_>,
    org: OrgId,
    id: Uuid,
    inserted: i64,
) -> Result<(), StoreError> {
    let stmt = Query::update()
        .table(U::Table)
        .value(U::Inserted, inserted)
        .value(U::Status, UPLOAD_COMPLETE)
        .and_where(Expr::col(U::OrgId).eq(org.0))
        .and_where(Expr::col(U::Id).eq(id))
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}

/// One upload of the organisation.
pub async fn get_upload(
    tx: &mut Tx<'_>,
    org: OrgId,
    id: Uuid,
) -> Result<Option<UploadRow>, StoreError> {
    let stmt = Query::select()
        .columns([
            U::Id,
            U::Format,
            U::Currency,
            U::Received,
            U::Inserted,
            U::CreatedBy,
            U::CreatedAt,
        ])
        .from(U::Table)
        .and_where(Expr::col(U::OrgId).eq(org.0))
        .and_where(Expr::col(U::Id).eq(id))
        .and_where(Expr::col(U::Status).eq(UPLOAD_COMPLETE))
        .to_owned();
    tx.fetch_optional(&stmt).await
}

/// Uploads of the organisation still `receiving` that were created before
/// `before`: their request stopped (a crash, a cut connection) without
/// removing what it had stored.
pub async fn abandoned_uploads(
    db: &Db,
    org: OrgId,
    before: OffsetDateTime,
) -> Result<Vec<Uuid>, StoreError> {
    let stmt = Query::select()
        .column(U::Id)
        .from(U::Table)
        .and_where(Expr::col(U::OrgId).eq(org.0))
        .and_where(Expr::col(U::Status).eq(UPLOAD_RECEIVING))
        .and_where(Expr::col(U::CreatedAt).lt(before))
        .to_owned();
    let rows: Vec<IdRow> = db.fetch_all(&stmt).await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// Deletes up to `limit` transactions of one upload; how many.
pub async fn delete_upload_batch(
    tx: &mut Tx<'_>,
    org: OrgId,
    upload: Uuid,
    limit: u64,
) -> Result<u64, StoreError> {
    let some = Query::select()
        .column(T::Id)
        .from(T::Table)
        .and_where(Expr::col(T::OrgId).eq(org.0))
        .and_where(Expr::col(T::UploadId).eq(upload))
        .limit(limit)
        .to_owned();
    let stmt = Query::delete()
        .from_table(T::Table)
        .and_where(Expr::col(T::OrgId).eq(org.0))
        .and_where(Expr::col(T::Id).in_subquery(some))
        .to_owned();
    tx.execute(&stmt).await
}

/// Which transactions a deletion removes.
#[derive(Debug, Clone, Copy)]
pub enum Deletion<'a> {
    Upload(Uuid),
    Customer(&'a str),
    All,
}

/// Deletes the organisation's transactions that `what` names; how many.
pub async fn delete_transactions(
    tx: &mut Tx<'_>,
    org: OrgId,
    what: Deletion<'_>,
) -> Result<u64, StoreError> {
    let mut stmt = Query::delete()
        .from_table(T::Table)
        .and_where(Expr::col(T::OrgId).eq(org.0))
        .to_owned();
    match what {
        Deletion::Upload(id) => {
            stmt.and_where(Expr::col(T::UploadId).eq(id));
        }
        Deletion::Customer(c) => {
            stmt.and_where(Expr::col(T::CustomerId).eq(c));
        }
        Deletion::All => {}
    }
    tx.execute(&stmt).await
}

/// Deletes the organisation's upload records (one, or all of them).
pub async fn delete_uploads(
    tx: &mut Tx<'_>,
    org: OrgId,
    id: Option<Uuid>,
) -> Result<u64, StoreError> {
    let mut stmt = Query::delete()
        .from_table(U::Table)
        .and_where(Expr::col(U::OrgId).eq(org.0))
        .to_owned();
    if let Some(id) = id {
        stmt.and_where(Expr::col(U::Id).eq(id));
    }
    tx.execute(&stmt).await
}

/// Deletes stored predictions of customers who have no transaction left
/// (of any model of the organisation); how many.
pub async fn delete_orphan_predictions(tx: &mut Tx<'_>, org: OrgId) -> Result<u64, StoreError> {
    let remaining = Query::select()
        .column(T::CustomerId)
        .from(T::Table)
        .and_where(Expr::col(T::OrgId).eq(org.0))
        .to_owned();
    let stmt = Query::delete()
        .from_table(P::Table)
        .and_where(Expr::col(P::OrgId).eq(org.0))
        .and_where(Expr::col(P::CustomerId).not_in_subquery(remaining))
        .to_owned();
    tx.execute(&stmt).await
}

/// Deletes every stored prediction of one customer; how many.
pub async fn delete_customer_predictions(
    tx: &mut Tx<'_>,
    org: OrgId,
    customer: &str,
) -> Result<u64, StoreError> {
    let stmt = Query::delete()
        .from_table(P::Table)
        .and_where(Expr::col(P::OrgId).eq(org.0))
        .and_where(Expr::col(P::CustomerId).eq(customer))
        .to_owned();
    tx.execute(&stmt).await
}

/// Marks the organisation's current model stale (if not already); the
/// model's id when one was marked now.
pub async fn mark_current_model_stale(
    tx: &mut Tx<'_>,
    org: OrgId,
    now: OffsetDateTime,
) -> Result<Option<Uuid>, StoreError> {
    let current = Query::select()
        .column(M::Id)
        .from(M::Table)
        .and_where(Expr::col(M::OrgId).eq(org.0))
        .and_where(Expr::col(M::Status).eq(MODEL_READY))
        .order_by(M::Version, Order::Desc)
        .limit(1)
        .to_owned();
    let Some(row): Option<IdRow> = tx.fetch_optional(&current).await? else {
        return Ok(None);
    };
    let stmt = Query::update()
        .table(M::Table)
        .value(M::StaleAt, now)
        .and_where(Expr::col(M::OrgId).eq(org.0))
        .and_where(Expr::col(M::Id).eq(row.id))
        .and_where(Expr::col(M::StaleAt).is_null())
        .to_owned();
    Ok((tx.execute(&stmt).await? > 0).then_some(row.id))
}

#[derive(Debug, sqlx::FromRow)]
struct IdRow {
    id: Uuid,
}

/// New customers of one currency in a span, as [`new_customers`] counts
/// them.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct NewCustomersRow {
    /// The currency of the customer's first order.
    pub currency: String,
    pub customers: i64,
    /// Those with a CLV under the model asked for (in the same currency).
    pub predicted: i64,
    /// Their CLVs summed, micros (`None` when none has one).
    pub clv_micros: Option<i64>,
}

/// Customers of the organisation whose first order (the earliest usable,
/// visible order of the customer ever stored; a tie broken by row id) was
/// placed in `since..until` (`until` excluded), per currency of that order
/// (only those whose first order names `platform` as its acquiring platform,
/// in any case, when one is given), with the CLVs of those among them the model's stored predictions value
/// in the same currency. `NOT EXISTS` an earlier order of the customer:
/// answered by the `(org_id, customer_id)` index per candidate, the
/// candidates by `(org_id, occurred_at)`.
pub async fn new_customers(
    db: &Db,
    org: OrgId,
    model: Option<Uuid>,
    since: OffsetDateTime,
    until: OffsetDateTime,
    platform: Option<&str>,
    window: &DateWindow,
) -> Result<Vec<NewCustomersRow>, StoreError> {
    use sea_query::{Alias, JoinType};
    let t = Alias::new("t");
    let e = Alias::new("e");
    let p = Alias::new("p");
    let order = |a: &Alias| {
        Cond::all()
            .add(Expr::col((a.clone(), T::OrgId)).eq(org.0))
            .add(Expr::col((a.clone(), T::Kind)).eq(TransactionKind::Order.as_str()))
            .add(Expr::col((a.clone(), T::AmountMicros)).gte(0i64))
            .add(Expr::col((a.clone(), T::OccurredAt)).gte(window.earliest))
            .add(Expr::col((a.clone(), T::OccurredAt)).lte(window.latest))
    };
    let earlier = Query::select()
        .expr(Expr::val(1i64))
        .from_as(T::Table, e.clone())
        .cond_where(order(&e))
        .cond_where(visible(org))
        .and_where(Expr::col((e.clone(), T::CustomerId)).equals((t.clone(), T::CustomerId)))
        .cond_where(
            Cond::any()
                .add(
                    Expr::col((e.clone(), T::OccurredAt)).lt(Expr::col((t.clone(), T::OccurredAt))),
                )
                .add(
                    Expr::col((e.clone(), T::OccurredAt))
                        .eq(Expr::col((t.clone(), T::OccurredAt)))
                        .and(Expr::col((e.clone(), T::Id)).lt(Expr::col((t.clone(), T::Id)))),
                ),
        )
        .to_owned();
    let on = Cond::all()
        .add(Expr::col((p.clone(), P::ModelId)).eq(model.unwrap_or(Uuid::nil())))
        .add(Expr::col((p.clone(), P::OrgId)).eq(org.0))
        .add(Expr::col((p.clone(), P::CustomerId)).equals((t.clone(), T::CustomerId)))
        .add(Expr::col((p.clone(), P::Currency)).equals((t.clone(), T::Currency)));
    let mut stmt = Query::select()
        .expr_as(Expr::col((t.clone(), T::Currency)), Alias::new("currency"))
        .expr_as(
            Func::count(Expr::col((t.clone(), T::Id))),
            Alias::new("customers"),
        )
        .expr_as(
            Func::count(Expr::col((p.clone(), P::ClvMicros))),
            Alias::new("predicted"),
        )
        .expr_as(
            Func::cast_as(
                Func::sum(Expr::col((p.clone(), P::ClvMicros))),
                Alias::new("BIGINT"),
            ),
            Alias::new("clv_micros"),
        )
        .from_as(T::Table, t.clone())
        .join_as(JoinType::LeftJoin, P::Table, p.clone(), on)
        .cond_where(order(&t))
        .cond_where(visible(org))
        .and_where(Expr::col((t.clone(), T::OccurredAt)).gte(since))
        .and_where(Expr::col((t.clone(), T::OccurredAt)).lt(until))
        .and_where(Expr::not_exists(earlier))
        .group_by_col((t.clone(), T::Currency))
        .order_by((t.clone(), T::Currency), Order::Asc)
        .to_owned();
    if let Some(platform) = platform {
        // The first order's acquiring platform, as uploaded (any case).
        stmt.and_where(
            Func::lower(Expr::col((t.clone(), T::Platform))).eq(platform.to_ascii_lowercase()),
        );
    }
    db.fetch_all(&stmt).await
}
