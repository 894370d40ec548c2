//! Storage and background plumbing for every KIKI crate: SQLite/PostgreSQL
//! pools behind one [`Db`], queries written once with sea-query, migrations in
//! two folders kept in lockstep, a cache (Redis or in memory), a durable job
//! queue with a cron scheduler, and a domain event bus.
//!
//! # Writing a query once
//!
//! Build the statement with sea-query and pass it to a [`Db`] (or [`Tx`])
//! helper; it is rendered for the pool's dialect, bound, timed, traced and
//! logged when slow:
//!
//! ```no_run
//! # async fn example(db: &kiki_store::Db, org: uuid::Uuid) -> Result<(), kiki_store::StoreError> {
//! use kiki_store::schema::Jobs;
//! use kiki_store::sea_query::{Expr, ExprTrait, Order, Query};
//!
//! #[derive(kiki_store::sqlx::FromRow)]
//! struct JobKind {
//!     kind: String,
//! }
//!
//! let stmt = Query::select()
//!     .column(Jobs::Kind)
//!     .from(Jobs::Table)
//!     .and_where(Expr::col(Jobs::OrgId).eq(org))
//!     .order_by(Jobs::CreatedAt, Order::Desc)
//!     .to_owned();
//! let rows: Vec<JobKind> = db.fetch_all(&stmt).await?;
//! # Ok(()) }
//! ```
//!
//! Row structs derive `sqlx::FromRow` and use the Rust types of the table in
//! [`schema`] (UUID, `OffsetDateTime`, `i64`, `f64`, `bool`, `String`,
//! `sqlx::types::Json<T>`), which decode identically on both backends. Never
//! build SQL text from input; the few fixed maintenance statements go through
//! [`Db::execute_raw`], which only takes `&'static str`.
//!
//! # Adding a migration
//!
//! Add `NNNN_<context>.sql` with the same number and name to **both**
//! `migrations/sqlite/` and `migrations/postgres/`, using the column types of
//! the table in [`schema`]. The parity test (`tests/it/parity.rs`) migrates a
//! fresh database of each kind and fails if tables, column names, nullability
//! or type classes differ. Migrations run at start-up (`database.run_migrations`).
//!
//! # Background work and events
//!
//! Anything slow or periodic is a job: implement [`JobHandler`], register it
//! on [`Jobs`], enqueue from anywhere, and add a cron entry to
//! `jobs.schedules` for periodic work ([`Scheduler`] enqueues each period
//! exactly once across replicas). Live notifications go through [`EventBus`].
//!
//! # Tests
//!
//! [`testing::fresh_db`] gives each test its own migrated database: PostgreSQL
//! when `KIKI_TEST_DATABASE_URL` is set, SQLite otherwise.

pub mod backup;
pub mod cache;
pub mod config;
pub mod db;
pub mod error;
pub mod events;
pub mod health;
pub mod idempotency;
pub mod jobs;
pub mod keyset;
pub mod scheduler;
pub mod schema;
pub mod testing;

pub use cache::Cache;
pub use config::{
    CacheConfig, DatabaseConfig, EventBackend, EventsConfig, JobsConfig, RedisConfig, redact_url,
};
pub use db::{AnyRow, Backend, Db, DbPool, PoolStats, QueryCounters, Tx};
pub use error::StoreError;
pub use events::{DomainEvent, Event, EventBus, EventSpec, catalogue_markdown};
pub use health::{DependencyCheck, DependencyStatus};
pub use idempotency::{Claim, IdempotencyKeys, StoredAnswer};
pub use jobs::{
    EnqueueOptions, HOUSEKEEPING_KIND, HousekeepingJob, HousekeepingReport, JobContext, JobError,
    JobHandler, JobRecord, JobStatus, Jobs,
};
pub use scheduler::{CronSchedule, ScheduledRun, Scheduler};

/// Re-exported so callers build statements with the same sea-query version.
pub use sea_query;
/// Re-exported for `#[derive(sqlx::FromRow)]` and `sqlx::types::Json` in row types.
pub use sqlx;
/// Re-exported for job and scheduler cancellation.
pub use tokio_util::sync::CancellationToken;
