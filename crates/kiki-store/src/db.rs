//! The database handle: typed SQLite / PostgreSQL pools behind one `Db`, with
//! query helpers that render a sea-query statement for the pool's dialect, run
//! it inside a `db.query` tracing span, time it, and log it when slow.

use std::future::Future;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use sea_query::{PostgresQueryBuilder, QueryStatementWriter, SqliteQueryBuilder};
use sea_query_sqlx::SqlxValues;
use serde::{Deserialize, Serialize};
use sqlx::migrate::Migrator;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, FromRow, Postgres, Sqlite};
use tracing::Instrument;

use crate::config::DatabaseConfig;
use crate::error::StoreError;
use crate::health::{DependencyCheck, DependencyStatus};
use crate::schema::{KvMeta, adapt_values};

static SQLITE_MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATOR: Migrator = sqlx::migrate!("./migrations/postgres");

/// Longest statement text put on a span.
const SPAN_STATEMENT_CHARS: usize = 200;
/// Longest statement text put in a slow-query log line.
const SLOW_LOG_STATEMENT_CHARS: usize = 500;

/// Which database engine a `Db` talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The OpenTelemetry `db.system` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgresql",
        }
    }

    /// Which backend a URL points at, or `None` for an unknown scheme.
    pub fn from_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }
}

/// The typed pool inside a `Db`, for the rare code that needs the driver
/// directly (LISTEN/NOTIFY, schema introspection). Prefer the `Db` helpers.
#[derive(Debug, Clone)]
pub enum DbPool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// A snapshot of the pool, for `/health` and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PoolStats {
    /// Open connections (idle + in use).
    pub size: u32,
    /// Open connections not in use.
    pub idle: u32,
    /// Configured maximum.
    pub max: u32,
    /// Tasks currently waiting inside `acquire()`/`begin()` on this `Db`.
    pub waiting: u32,
}

/// Counters of the queries run through the helpers since the `Db` was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct QueryCounters {
    pub queries: u64,
    pub slow_queries: u64,
    pub errors: u64,
}

/// Shared, per-`Db` observation state. Clones of a `Db` share it.
#[derive(Debug)]
struct Observer {
    backend: Backend,
    slow_ms: AtomicU64,
    waiting: AtomicUsize,
    migrated: AtomicBool,
    max_connections: u32,
    queries: AtomicU64,
    slow_queries: AtomicU64,
    errors: AtomicU64,
}

impl Observer {
    fn new(backend: Backend, cfg: &DatabaseConfig) -> Self {
        Observer {
            backend,
            slow_ms: AtomicU64::new(cfg.slow_query_ms),
            waiting: AtomicUsize::new(0),
            migrated: AtomicBool::new(false),
            max_connections: cfg.max_connections,
            queries: AtomicU64::new(0),
            slow_queries: AtomicU64::new(0),
            errors: AtomicU64::new(0),
        }
    }

    /// Runs one statement inside its span, then records duration, metrics and the slow log.
    async fn observe<T>(
        &self,
        sql: &str,
        fut: impl Future<Output = Result<T, sqlx::Error>>,
    ) -> Result<T, StoreError> {
        let span = tracing::info_span!(
            "db.query",
            otel.kind = "client",
            db.system = self.backend.as_str(),
            db.statement = truncate(sql, SPAN_STATEMENT_CHARS),
            duration_ms = tracing::field::Empty,
        );
        let start = Instant::now();
        let result = fut.instrument(span.clone()).await;
        let elapsed = start.elapsed();
        let duration_ms = elapsed.as_secs_f64() * 1000.0;
        span.record("duration_ms", duration_ms);
        self.queries.fetch_add(1, Ordering::Relaxed);
        metrics::histogram!("kiki_db_query_duration_seconds", "db_system" => self.backend.as_str())
            .record(elapsed.as_secs_f64());
        if elapsed.as_millis() >= u128::from(self.slow_ms.load(Ordering::Relaxed)) {
            self.slow_queries.fetch_add(1, Ordering::Relaxed);
            let _entered = span.enter();
            tracing::warn!(
                target: "kiki_store::slow_query",
                duration_ms,
                statement = truncate(sql, SLOW_LOG_STATEMENT_CHARS),
                "slow query"
            );
        }
        if result.is_err() {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        result.map_err(StoreError::from)
    }
}

/// Counts a task as waiting for a connection until dropped (also on cancellation).
struct WaitGuard<'a>(&'a AtomicUsize);

impl<'a> WaitGuard<'a> {
    fn new(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        WaitGuard(counter)
    }
}

impl Drop for WaitGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

fn truncate(s: &str, max_chars: usize) -> &str {
    match s.char_indices().nth(max_chars) {
        Some((idx, _)) => &s[..idx],
        None => s,
    }
}

/// A statement rendered for one dialect, with its bound values.
pub(crate) struct Rendered {
    sql: Arc<str>,
    values: SqlxValues,
}

pub(crate) fn render<S: QueryStatementWriter>(backend: Backend, stmt: &S) -> Rendered {
    let (sql, values) = match backend {
        Backend::Sqlite => stmt.build(SqliteQueryBuilder),
        Backend::Postgres => stmt.build(PostgresQueryBuilder),
    };
    Rendered {
        sql: Arc::from(sql),
        values: SqlxValues(adapt_values(backend, values)),
    }
}

/// A borrowed connection of either backend; the one place that calls sqlx.
enum Conn<'a> {
    Sqlite(&'a mut SqliteConnection),
    Postgres(&'a mut PgConnection),
}

/// Rows that decode on both backends.
pub trait AnyRow:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}
impl<T> AnyRow for T where
    T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}

impl Conn<'_> {
    async fn execute(self, q: Rendered) -> Result<u64, sqlx::Error> {
        let sql = AssertSqlSafe(q.sql);
        match self {
            Conn::Sqlite(c) => sqlx::query_with::<Sqlite, _>(sql, q.values)
                .execute(c)
                .await
                .map(|r| r.rows_affected()),
            Conn::Postgres(c) => sqlx::query_with::<Postgres, _>(sql, q.values)
                .execute(c)
                .await
                .map(|r| r.rows_affected()),
        }
    }

    async fn execute_raw(self, sql: &'static str) -> Result<u64, sqlx::Error> {
        match self {
            Conn::Sqlite(c) => sqlx::query::<Sqlite>(sql)
                .execute(c)
                .await
                .map(|r| r.rows_affected()),
            Conn::Postgres(c) => sqlx::query::<Postgres>(sql)
                .execute(c)
                .await
                .map(|r| r.rows_affected()),
        }
    }

    async fn fetch_all<T: AnyRow>(self, q: Rendered) -> Result<Vec<T>, sqlx::Error> {
        let sql = AssertSqlSafe(q.sql);
        match self {
            Conn::Sqlite(c) => {
                sqlx::query_as_with::<Sqlite, T, _>(sql, q.values)
                    .fetch_all(c)
                    .await
            }
            Conn::Postgres(c) => {
                sqlx::query_as_with::<Postgres, T, _>(sql, q.values)
                    .fetch_all(c)
                    .await
            }
        }
    }

    async fn fetch_optional<T: AnyRow>(self, q: Rendered) -> Result<Option<T>, sqlx::Error> {
        let sql = AssertSqlSafe(q.sql);
        match self {
            Conn::Sqlite(c) => {
                sqlx::query_as_with::<Sqlite, T, _>(sql, q.values)
                    .fetch_optional(c)
                    .await
            }
            Conn::Postgres(c) => {
                sqlx::query_as_with::<Postgres, T, _>(sql, q.values)
                    .fetch_optional(c)
                    .await
            }
        }
    }
}

enum PooledConn {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

impl PooledConn {
    fn conn(&mut self) -> Conn<'_> {
        match self {
            PooledConn::Sqlite(c) => Conn::Sqlite(&mut *c),
            PooledConn::Postgres(c) => Conn::Postgres(&mut *c),
        }
    }
}

/// The database: a typed pool plus the observation state. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: DbPool,
    obs: Arc<Observer>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("backend", &self.obs.backend)
            .field("pool", &self.pool_stats())
            .finish()
    }
}

impl Db {
    /// Opens the pool described by `cfg` (and migrates when `cfg.run_migrations`).
    ///
    /// SQLite: creates the parent directory and the file, and sets WAL,
    /// `foreign_keys=ON`, `busy_timeout` and `synchronous=NORMAL` on every
    /// connection. PostgreSQL: connects to the URL.
    pub async fn connect(cfg: &DatabaseConfig) -> Result<Db, StoreError> {
        let backend = Backend::from_url(&cfg.url).ok_or_else(|| {
            StoreError::Config(format!(
                "The database URL `{}` is not supported: set database.url to sqlite://<path> or postgres://<host>/<db>.",
                cfg.redacted_url()
            ))
        })?;
        let acquire = Duration::from_secs(cfg.acquire_timeout_secs);
        let lifetime = Duration::from_secs(cfg.max_lifetime_secs);
        let max = cfg.max_connections.max(1);
        let min = cfg.min_connections.min(max);
        let pool = match backend {
            Backend::Sqlite => {
                let opts = SqliteConnectOptions::from_str(&cfg.url)
                    .map_err(StoreError::from)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_millis(cfg.sqlite_busy_timeout_ms))
                    .synchronous(SqliteSynchronous::Normal);
                create_parent_dir(opts.get_filename())?;
                let pool = SqlitePoolOptions::new()
                    .max_connections(max)
                    .min_connections(min)
                    .acquire_timeout(acquire)
                    .max_lifetime(lifetime)
                    .connect_with(opts)
                    .await?;
                DbPool::Sqlite(pool)
            }
            Backend::Postgres => {
                let opts = PgConnectOptions::from_str(&cfg.url)?;
                let pool = PgPoolOptions::new()
                    .max_connections(max)
                    .min_connections(min)
                    .acquire_timeout(acquire)
                    .max_lifetime(lifetime)
                    .connect_with(opts)
                    .await?;
                DbPool::Postgres(pool)
            }
        };
        let db = Db {
            pool,
            obs: Arc::new(Observer::new(backend, cfg)),
        };
        tracing::info!(db.system = backend.as_str(), db.url = %cfg.redacted_url(), "database connected");
        if cfg.run_migrations {
            db.migrate().await?;
        }
        Ok(db)
    }

    pub fn backend(&self) -> Backend {
        self.obs.backend
    }

    /// The typed pool, for code the helpers cannot express.
    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    /// The migrations this backend runs (`migrations/sqlite` or `migrations/postgres`).
    pub fn migrator(&self) -> &'static Migrator {
        match self.obs.backend {
            Backend::Sqlite => &SQLITE_MIGRATOR,
            Backend::Postgres => &POSTGRES_MIGRATOR,
        }
    }

    /// Applies pending migrations from this backend's folder. Safe to run from
    /// several replicas at once (sqlx takes an advisory lock on PostgreSQL).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        match &self.pool {
            DbPool::Sqlite(p) => SQLITE_MIGRATOR.run(p).await?,
            DbPool::Postgres(p) => POSTGRES_MIGRATOR.run(p).await?,
        }
        self.obs.migrated.store(true, Ordering::Release);
        Ok(())
    }

    /// Versions of this build's migrations not yet applied to the database
    /// (for readiness when another process runs `kiki migrate`). An empty
    /// answer also marks this `Db` migrated.
    pub async fn pending_migrations(&self) -> Result<Vec<i64>, StoreError> {
        use sqlx::migrate::Migrate;
        // sqlx's default bookkeeping table, which `migrate!` uses.
        const TABLE: &str = "_sqlx_migrations";
        let applied = match &self.pool {
            DbPool::Sqlite(p) => {
                let mut c = p.acquire().await?;
                c.ensure_migrations_table(TABLE).await?;
                c.list_applied_migrations(TABLE).await?
            }
            DbPool::Postgres(p) => {
                let mut c = p.acquire().await?;
                c.ensure_migrations_table(TABLE).await?;
                c.list_applied_migrations(TABLE).await?
            }
        };
        let applied: std::collections::HashSet<i64> = applied.iter().map(|m| m.version).collect();
        let pending: Vec<i64> = self
            .migrator()
            .iter()
            .filter(|m| !m.migration_type.is_down_migration())
            .map(|m| m.version)
            .filter(|v| !applied.contains(v))
            .collect();
        if pending.is_empty() {
            self.obs.migrated.store(true, Ordering::Release);
        }
        Ok(pending)
    }

    /// True once `migrate()` has succeeded on this `Db` (or a clone of it).
    pub fn is_migrated(&self) -> bool {
        self.obs.migrated.load(Ordering::Acquire)
    }

    /// Runs `SELECT 1` and returns the round trip (including waiting for a connection).
    pub async fn ping(&self) -> Result<Duration, StoreError> {
        let start = Instant::now();
        self.execute_raw("SELECT 1").await?;
        Ok(start.elapsed())
    }

    /// The database as a readiness dependency: `up` when `SELECT 1` answers, `down` otherwise.
    pub async fn health(&self) -> DependencyCheck {
        let start = Instant::now();
        match self.ping().await {
            Ok(rtt) => DependencyCheck::new("database", DependencyStatus::Up, rtt),
            Err(e) => DependencyCheck::new("database", DependencyStatus::Down, start.elapsed())
                .with_error(e.to_string()),
        }
    }

    pub fn pool_stats(&self) -> PoolStats {
        let (size, idle) = match &self.pool {
            DbPool::Sqlite(p) => (p.size(), p.num_idle()),
            DbPool::Postgres(p) => (p.size(), p.num_idle()),
        };
        PoolStats {
            size,
            idle: u32::try_from(idle).unwrap_or(u32::MAX),
            max: self.obs.max_connections,
            waiting: u32::try_from(self.obs.waiting.load(Ordering::Relaxed)).unwrap_or(u32::MAX),
        }
    }

    pub fn query_counters(&self) -> QueryCounters {
        QueryCounters {
            queries: self.obs.queries.load(Ordering::Relaxed),
            slow_queries: self.obs.slow_queries.load(Ordering::Relaxed),
            errors: self.obs.errors.load(Ordering::Relaxed),
        }
    }

    /// Changes the slow-query threshold for this `Db` and its clones.
    pub fn set_slow_query_threshold(&self, threshold: Duration) {
        let ms = u64::try_from(threshold.as_millis()).unwrap_or(u64::MAX);
        self.obs.slow_ms.store(ms, Ordering::Relaxed);
    }

    pub fn slow_query_threshold(&self) -> Duration {
        Duration::from_millis(self.obs.slow_ms.load(Ordering::Relaxed))
    }

    /// Closes every connection; later calls fail.
    pub async fn close(&self) {
        match &self.pool {
            DbPool::Sqlite(p) => p.close().await,
            DbPool::Postgres(p) => p.close().await,
        }
    }

    /// The SQL this statement becomes on this backend (for logs, tests and `EXPLAIN`).
    pub fn sql_of<S: QueryStatementWriter>(&self, stmt: &S) -> String {
        render(self.obs.backend, stmt).sql.to_string()
    }

    async fn acquire(&self) -> Result<PooledConn, StoreError> {
        let _waiting = WaitGuard::new(&self.obs.waiting);
        Ok(match &self.pool {
            DbPool::Sqlite(p) => PooledConn::Sqlite(p.acquire().await?),
            DbPool::Postgres(p) => PooledConn::Postgres(p.acquire().await?),
        })
    }

    /// Runs an INSERT/UPDATE/DELETE and returns the number of rows affected.
    pub fn execute<S: QueryStatementWriter>(
        &self,
        stmt: &S,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send + '_ {
        let q = render(self.obs.backend, stmt);
        async move {
            let mut c = self.acquire().await?;
            let sql = q.sql.clone();
            self.obs.observe(&sql, c.conn().execute(q)).await
        }
    }

    /// Runs a fixed SQL text (maintenance statements sea-query cannot express,
    /// e.g. `PRAGMA optimize`). Only `'static` text, so user input cannot reach it.
    pub async fn execute_raw(&self, sql: &'static str) -> Result<u64, StoreError> {
        let mut c = self.acquire().await?;
        self.obs.observe(sql, c.conn().execute_raw(sql)).await
    }

    /// Runs a SELECT (or a statement with RETURNING) and decodes every row.
    pub fn fetch_all<T: AnyRow, S: QueryStatementWriter>(
        &self,
        stmt: &S,
    ) -> impl Future<Output = Result<Vec<T>, StoreError>> + Send + '_ {
        let q = render(self.obs.backend, stmt);
        async move {
            let mut c = self.acquire().await?;
            let sql = q.sql.clone();
            self.obs.observe(&sql, c.conn().fetch_all(q)).await
        }
    }

    /// Like `fetch_all`, for at most one row.
    pub fn fetch_optional<T: AnyRow, S: QueryStatementWriter>(
        &self,
        stmt: &S,
    ) -> impl Future<Output = Result<Option<T>, StoreError>> + Send + '_ {
        let q = render(self.obs.backend, stmt);
        async move {
            let mut c = self.acquire().await?;
            let sql = q.sql.clone();
            self.obs.observe(&sql, c.conn().fetch_optional(q)).await
        }
    }

    /// Exactly one row; none is `StoreError::NotFound`.
    pub fn fetch_one<T: AnyRow, S: QueryStatementWriter>(
        &self,
        stmt: &S,
    ) -> impl Future<Output = Result<T, StoreError>> + Send + '_ {
        let fut = self.fetch_optional(stmt);
        async move { fut.await?.ok_or(StoreError::NotFound) }
    }

    /// A value from `kv_meta` (instance-wide facts such as the instance id).
    pub async fn get_meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        // Scoped here: ExprTrait's `max`/`min` would shadow the integer ones elsewhere.
        use sea_query::ExprTrait;
        #[derive(sqlx::FromRow)]
        struct Row {
            value: String,
        }
        let stmt = sea_query::Query::select()
            .column(KvMeta::Value)
            .from(KvMeta::Table)
            .and_where(sea_query::Expr::col(KvMeta::Key).eq(key))
            .to_owned();
        Ok(self.fetch_optional::<Row, _>(&stmt).await?.map(|r| r.value))
    }

    /// Inserts or replaces a `kv_meta` value.
    pub async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        let stmt = sea_query::Query::insert()
            .into_table(KvMeta::Table)
            .columns([KvMeta::Key, KvMeta::Value, KvMeta::UpdatedAt])
            .values_panic([
                key.into(),
                value.into(),
                time::OffsetDateTime::now_utc().into(),
            ])
            .on_conflict(
                sea_query::OnConflict::column(KvMeta::Key)
                    .update_columns([KvMeta::Value, KvMeta::UpdatedAt])
                    .to_owned(),
            )
            .to_owned();
        self.execute(&stmt).await?;
        Ok(())
    }

    /// Starts a transaction. On SQLite it is `BEGIN IMMEDIATE`, which takes the
    /// write lock up front so two writers queue on `busy_timeout` instead of
    /// failing when a read lock would have to be upgraded.
    pub async fn begin(&self) -> Result<Tx<'static>, StoreError> {
        let _waiting = WaitGuard::new(&self.obs.waiting);
        let inner = match &self.pool {
            DbPool::Sqlite(p) => TxInner::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            DbPool::Postgres(p) => TxInner::Postgres(p.begin().await?),
        };
        Ok(Tx {
            inner,
            obs: self.obs.clone(),
        })
    }

    /// Runs `f` in one transaction: commits when it returns `Ok`, rolls back on `Err`
    /// (and when the future is dropped).
    ///
    /// The closure must own what it uses (move values in), because the
    /// transaction it borrows can live as long as any caller lifetime:
    ///
    /// ```no_run
    /// # async fn example(db: &kiki_store::Db) -> Result<(), kiki_store::StoreError> {
    /// use kiki_store::schema::KvMeta;
    /// use kiki_store::sea_query::Query;
    ///
    /// let insert = Query::insert()
    ///     .into_table(KvMeta::Table)
    ///     .columns([KvMeta::Key, KvMeta::Value, KvMeta::UpdatedAt])
    ///     .values_panic(["k".into(), "v".into(), time::OffsetDateTime::now_utc().into()])
    ///     .to_owned();
    /// let written = db
    ///     .transaction(move |tx| {
    ///         Box::pin(async move {
    ///             let n = tx.execute(&insert).await?;
    ///             Ok::<_, kiki_store::StoreError>(n)
    ///         })
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn transaction<F, R, E>(&self, f: F) -> Result<R, E>
    where
        F: for<'t> FnOnce(&'t mut Tx<'static>) -> BoxFuture<'t, Result<R, E>>,
        E: From<StoreError>,
    {
        let mut tx = self.begin().await?;
        match f(&mut tx).await {
            Ok(r) => {
                tx.commit().await?;
                Ok(r)
            }
            Err(e) => {
                if let Err(rb) = tx.rollback().await {
                    tracing::warn!(error = %rb, "rolling back a failed transaction failed");
                }
                Err(e)
            }
        }
    }
}

fn create_parent_dir(file: &Path) -> Result<(), StoreError> {
    let name = file.to_string_lossy();
    if name.is_empty() || name == ":memory:" {
        return Ok(());
    }
    if let Some(parent) = file.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent)?;
    }
    Ok(())
}

enum TxInner<'c> {
    Sqlite(sqlx::Transaction<'c, Sqlite>),
    Postgres(sqlx::Transaction<'c, Postgres>),
}

/// An open transaction with the same helpers as [`Db`]. Dropped without
/// `commit()` it rolls back.
pub struct Tx<'c> {
    inner: TxInner<'c>,
    obs: Arc<Observer>,
}

impl std::fmt::Debug for Tx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tx")
            .field("backend", &self.obs.backend)
            .finish()
    }
}

impl<'c> Tx<'c> {
    pub fn backend(&self) -> Backend {
        self.obs.backend
    }

    fn conn(&mut self) -> Conn<'_> {
        match &mut self.inner {
            TxInner::Sqlite(t) => Conn::Sqlite(&mut *t),
            TxInner::Postgres(t) => Conn::Postgres(&mut *t),
        }
    }

    pub fn execute<'a, S: QueryStatementWriter>(
        &'a mut self,
        stmt: &S,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send + 'a
    where
        'c: 'a,
    {
        let q = render(self.obs.backend, stmt);
        async move {
            let obs = self.obs.clone();
            let sql = q.sql.clone();
            obs.observe(&sql, self.conn().execute(q)).await
        }
    }

    pub async fn execute_raw(&mut self, sql: &'static str) -> Result<u64, StoreError> {
        let obs = self.obs.clone();
        obs.observe(sql, self.conn().execute_raw(sql)).await
    }

    pub fn fetch_all<'a, T: AnyRow, S: QueryStatementWriter>(
        &'a mut self,
        stmt: &S,
    ) -> impl Future<Output = Result<Vec<T>, StoreError>> + Send + 'a
    where
        'c: 'a,
    {
        let q = render(self.obs.backend, stmt);
        async move {
            let obs = self.obs.clone();
            let sql = q.sql.clone();
            obs.observe(&sql, self.conn().fetch_all(q)).await
        }
    }

    pub fn fetch_optional<'a, T: AnyRow, S: QueryStatementWriter>(
        &'a mut self,
        stmt: &S,
    ) -> impl Future<Output = Result<Option<T>, StoreError>> + Send + 'a
    where
        'c: 'a,
    {
        let q = render(self.obs.backend, stmt);
        async move {
            let obs = self.obs.clone();
            let sql = q.sql.clone();
            obs.observe(&sql, self.conn().fetch_optional(q)).await
        }
    }

    pub fn fetch_one<'a, T: AnyRow, S: QueryStatementWriter>(
        &'a mut self,
        stmt: &S,
    ) -> impl Future<Output = Result<T, StoreError>> + Send + 'a
    where
        'c: 'a,
    {
        let fut = self.fetch_optional(stmt);
        async move { fut.await?.ok_or(StoreError::NotFound) }
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        match self.inner {
            TxInner::Sqlite(t) => t.commit().await?,
            TxInner::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<(), StoreError> {
        match self.inner {
            TxInner::Sqlite(t) => t.rollback().await?,
            TxInner::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_respects_character_boundaries() {
        assert_eq!(truncate("héllo", 2), "hé");
        assert_eq!(truncate("abc", 10), "abc");
        assert_eq!(truncate("", 3), "");
    }

    #[test]
    fn backend_is_chosen_by_url_scheme() {
        let cases = [
            ("sqlite://data/kiki.db", Some(Backend::Sqlite)),
            ("sqlite::memory:", Some(Backend::Sqlite)),
            ("postgres://u@h/db", Some(Backend::Postgres)),
            ("postgresql://u@h/db", Some(Backend::Postgres)),
            ("mysql://u@h/db", None),
        ];
        for (url, expected) in cases {
            assert_eq!(Backend::from_url(url), expected, "{url}");
        }
    }

    #[test]
    fn one_statement_renders_per_dialect() {
        use crate::schema::KvMeta;
        use sea_query::{Expr, ExprTrait, Query};
        let stmt = Query::select()
            .column(KvMeta::Value)
            .from(KvMeta::Table)
            .and_where(Expr::col(KvMeta::Key).eq("instance_id"))
            .to_owned();
        assert_eq!(
            render(Backend::Sqlite, &stmt).sql.as_ref(),
            r#"SELECT "value" FROM "kv_meta" WHERE "key" = ?"#
        );
        assert_eq!(
            render(Backend::Postgres, &stmt).sql.as_ref(),
            r#"SELECT "value" FROM "kv_meta" WHERE "key" = $1"#
        );
    }
}
