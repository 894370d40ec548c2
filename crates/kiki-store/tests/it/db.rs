//! The `Db` helpers: type round trips, error mapping, transactions, pool
//! statistics and the slow-query log.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use kiki_store::sea_query::{Expr, ExprTrait, Iden, Order, Query};
use kiki_store::sqlx::types::Json;
use kiki_store::testing::fresh_db;
use kiki_store::{Backend, DatabaseConfig, Db, StoreError};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

use crate::support::{capture_logs, eventually};

#[derive(Debug, Clone, Copy, Iden)]
enum ItTypes {
    Table,
    Id,
    At,
    N,
    Flag,
    Maybe,
    Doc,
    Score,
}

#[derive(Debug, Clone, Copy, Iden)]
enum ItParent {
    Table,
    Id,
}

#[derive(Debug, Clone, Copy, Iden)]
enum ItChild {
    Table,
    Id,
    ParentId,
}

async fn create_test_tables(db: &Db) {
    let statements: &[&'static str] = match db.backend() {
        Backend::Sqlite => &[
            "CREATE TABLE it_types (id BLOB NOT NULL PRIMARY KEY, at TEXT NOT NULL, n INTEGER NOT NULL, flag INTEGER NOT NULL, maybe TEXT, doc TEXT NOT NULL, score REAL NOT NULL) STRICT",
            "CREATE TABLE it_parent (id BLOB NOT NULL PRIMARY KEY) STRICT",
            "CREATE TABLE it_child (id BLOB NOT NULL PRIMARY KEY, parent_id BLOB NOT NULL REFERENCES it_parent (id)) STRICT",
        ],
        Backend::Postgres => &[
            "CREATE TABLE it_types (id UUID NOT NULL PRIMARY KEY, at TIMESTAMPTZ NOT NULL, n BIGINT NOT NULL, flag BOOLEAN NOT NULL, maybe TEXT, doc JSONB NOT NULL, score DOUBLE PRECISION NOT NULL)",
            "CREATE TABLE it_parent (id UUID NOT NULL PRIMARY KEY)",
            "CREATE TABLE it_child (id UUID NOT NULL PRIMARY KEY, parent_id UUID NOT NULL REFERENCES it_parent (id))",
        ],
    };
    for s in statements {
        db.execute_raw(s).await.unwrap();
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Doc {
    name: String,
    tags: Vec<String>,
}

#[derive(Debug, PartialEq, kiki_store::sqlx::FromRow)]
struct TypesRow {
    id: Uuid,
    at: OffsetDateTime,
    n: i64,
    flag: bool,
    maybe: Option<String>,
    doc: Json<Doc>,
    score: f64,
}

fn insert_types(row: &TypesRow) -> kiki_store::sea_query::InsertStatement {
    Query::insert()
        .into_table(ItTypes::Table)
        .columns([
            ItTypes::Id,
            ItTypes::At,
            ItTypes::N,
            ItTypes::Flag,
            ItTypes::Maybe,
            ItTypes::Doc,
            ItTypes::Score,
        ])
        .values_panic([
            row.id.into(),
            row.at.into(),
            row.n.into(),
            row.flag.into(),
            row.maybe.clone().into(),
            serde_json::to_value(&row.doc.0).unwrap().into(),
            row.score.into(),
        ])
        .to_owned()
}

fn select_types() -> kiki_store::sea_query::SelectStatement {
    Query::select()
        .columns([
            ItTypes::Id,
            ItTypes::At,
            ItTypes::N,
            ItTypes::Flag,
            ItTypes::Maybe,
            ItTypes::Doc,
            ItTypes::Score,
        ])
        .from(ItTypes::Table)
        .to_owned()
}

#[tokio::test]
async fn uuid_timestamp_integer_bool_option_and_json_round_trip_unchanged() {
    let db = fresh_db().await;
    create_test_tables(&db).await;
    let rows = [
        TypesRow {
            id: Uuid::now_v7(),
            at: datetime!(2026-03-04 05:06:07.123456 UTC),
            n: i64::MAX,
            flag: true,
            maybe: Some("ünïcode ✓".into()),
            doc: Json(Doc {
                name: "a".into(),
                tags: vec!["x".into(), "y".into()],
            }),
            score: 0.25,
        },
        TypesRow {
            id: Uuid::now_v7(),
            at: datetime!(1999-12-31 23:59:59 UTC),
            n: -42,
            flag: false,
            maybe: None,
            doc: Json(Doc {
                name: String::new(),
                tags: vec![],
            }),
            score: -1.5e-9,
        },
    ];
    for r in &rows {
        assert_eq!(db.execute(&insert_types(r)).await.unwrap(), 1);
    }
    for r in &rows {
        let got: TypesRow = db
            .fetch_one(
                &select_types()
                    .and_where(Expr::col(ItTypes::Id).eq(r.id))
                    .to_owned(),
            )
            .await
            .unwrap();
        assert_eq!(&got, r);
    }
    db.cleanup().await;
}

#[tokio::test]
async fn timestamps_are_stored_at_microsecond_precision_and_sort_in_time_order() {
    let db = fresh_db().await;
    create_test_tables(&db).await;
    let base = datetime!(2026-01-01 00:00:00 UTC);
    // Fractions of different lengths and a non-UTC offset: text order would get these wrong.
    let times = [
        base + Duration::from_millis(500),
        base,
        base + Duration::from_millis(120),
        base + Duration::from_nanos(100_001_999),
        datetime!(2026-01-01 02:00:00.05 +03:00),
        base + Duration::from_secs(1),
    ];
    for (i, t) in times.iter().enumerate() {
        let row = TypesRow {
            id: Uuid::now_v7(),
            at: *t,
            n: i as i64,
            flag: false,
            maybe: None,
            doc: Json(Doc {
                name: String::new(),
                tags: vec![],
            }),
            score: 0.0,
        };
        db.execute(&insert_types(&row)).await.unwrap();
    }
    let got: Vec<TypesRow> = db
        .fetch_all(&select_types().order_by(ItTypes::At, Order::Asc).to_owned())
        .await
        .unwrap();
    let mut expected: Vec<OffsetDateTime> = times
        .iter()
        .map(|t| kiki_store::schema::truncate_to_micros(*t))
        .collect();
    expected.sort();
    assert_eq!(got.iter().map(|r| r.at).collect::<Vec<_>>(), expected);
    let after = db
        .fetch_all::<TypesRow, _>(
            &select_types()
                .and_where(Expr::col(ItTypes::At).gt(base + Duration::from_millis(110)))
                .to_owned(),
        )
        .await
        .unwrap();
    assert_eq!(after.len(), 3, "0.12 s, 0.5 s and 1 s are after 0.11 s");
    db.cleanup().await;
}

#[tokio::test]
async fn a_duplicate_key_is_a_unique_violation_naming_the_constraint() {
    let db = fresh_db().await;
    create_test_tables(&db).await;
    let id = Uuid::now_v7();
    let insert = Query::insert()
        .into_table(ItParent::Table)
        .columns([ItParent::Id])
        .values_panic([id.into()])
        .to_owned();
    db.execute(&insert).await.unwrap();
    match db.execute(&insert).await {
        Err(StoreError::UniqueViolation { constraint }) => {
            let c = constraint.expect("the constraint is named");
            assert!(c.contains("it_parent"), "{c}");
        }
        other => panic!("expected a unique violation, got {other:?}"),
    }
    db.cleanup().await;
}

#[tokio::test]
async fn a_missing_parent_is_a_foreign_key_violation() {
    let db = fresh_db().await;
    create_test_tables(&db).await;
    let insert = Query::insert()
        .into_table(ItChild::Table)
        .columns([ItChild::Id, ItChild::ParentId])
        .values_panic([Uuid::now_v7().into(), Uuid::now_v7().into()])
        .to_owned();
    assert!(matches!(
        db.execute(&insert).await,
        Err(StoreError::ForeignKeyViolation)
    ));
    db.cleanup().await;
}

#[tokio::test]
async fn fetch_one_without_a_row_is_not_found_and_fetch_optional_is_none() {
    let db = fresh_db().await;
    create_test_tables(&db).await;
    let q = select_types()
        .and_where(Expr::col(ItTypes::Id).eq(Uuid::now_v7()))
        .to_owned();
    assert!(matches!(
        db.fetch_one::<TypesRow, _>(&q).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(db.fetch_optional::<TypesRow, _>(&q).await.unwrap(), None);
    db.cleanup().await;
}

async fn parent_count(db: &Db) -> i64 {
    #[derive(kiki_store::sqlx::FromRow)]
    struct Count {
        n: i64,
    }
    let q = Query::select()
        .expr_as(Expr::col(ItParent::Id).count(), "n")
        .from(ItParent::Table)
        .to_owned();
    db.fetch_one::<Count, _>(&q).await.unwrap().n
}

fn insert_parent() -> kiki_store::sea_query::InsertStatement {
    Query::insert()
        .into_table(ItParent::Table)
        .columns([ItParent::Id])
        .values_panic([Uuid::now_v7().into()])
        .to_owned()
}

#[tokio::test]
async fn a_transaction_commits_on_commit_and_rolls_back_on_rollback_or_drop() {
    let db = fresh_db().await;
    create_test_tables(&db).await;
    let mut tx = db.begin().await.unwrap();
    tx.execute(&insert_parent()).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(parent_count(&db).await, 0);

    {
        let mut tx = db.begin().await.unwrap();
        tx.execute(&insert_parent()).await.unwrap();
    }
    assert_eq!(
        parent_count(&db).await,
        0,
        "a dropped transaction rolls back"
    );

    let mut tx = db.begin().await.unwrap();
    tx.execute(&insert_parent()).await.unwrap();
    tx.execute(&insert_parent()).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(parent_count(&db).await, 2);
    db.cleanup().await;
}

#[tokio::test]
async fn the_transaction_helper_commits_on_ok_and_rolls_back_on_err() {
    let db = fresh_db().await;
    create_test_tables(&db).await;
    let runs = Arc::new(AtomicUsize::new(0));
    let r = runs.clone();
    let out: Result<&str, StoreError> = db
        .transaction(move |tx| {
            Box::pin(async move {
                tx.execute(&insert_parent()).await?;
                r.fetch_add(1, Ordering::SeqCst);
                Ok("done")
            })
        })
        .await;
    assert_eq!(out.unwrap(), "done");
    assert_eq!(parent_count(&db).await, 1);

    #[derive(Debug)]
    enum AppError {
        Store(StoreError),
        Rule(&'static str),
    }
    impl From<StoreError> for AppError {
        fn from(e: StoreError) -> Self {
            AppError::Store(e)
        }
    }
    let out: Result<(), AppError> = db
        .transaction(|tx| {
            Box::pin(async move {
                tx.execute(&insert_parent()).await?;
                Err(AppError::Rule("the second write is refused"))
            })
        })
        .await;
    match out {
        Err(AppError::Rule(msg)) => assert_eq!(msg, "the second write is refused"),
        Err(AppError::Store(e)) => panic!("unexpected store error: {e}"),
        Ok(()) => panic!("the closure failed, so the transaction must fail"),
    }
    assert_eq!(
        parent_count(&db).await,
        1,
        "the failed transaction left nothing"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    db.cleanup().await;
}

#[tokio::test]
async fn ping_answers_and_the_database_reports_up_and_migrated() {
    let db = fresh_db().await;
    db.ping().await.unwrap();
    let health = db.health().await;
    assert_eq!(health.name, "database");
    assert_eq!(health.status, kiki_store::DependencyStatus::Up);
    assert!(db.is_migrated());
    db.cleanup().await;
}

async fn single_connection_db(url: &str, acquire_timeout_secs: u64) -> Db {
    Db::connect(&DatabaseConfig {
        url: url.to_owned(),
        max_connections: 1,
        min_connections: 0,
        acquire_timeout_secs,
        run_migrations: false,
        ..DatabaseConfig::default()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn pool_stats_count_tasks_waiting_for_a_connection() {
    let test_db = fresh_db().await;
    let db = single_connection_db(test_db.url(), 60).await;
    let tx = db.begin().await.unwrap();
    let stats = db.pool_stats();
    assert_eq!(
        (stats.size, stats.idle, stats.max, stats.waiting),
        (1, 0, 1, 0)
    );
    let d = db.clone();
    let waiter = tokio::spawn(async move { d.ping().await.map(|_| ()) });
    eventually("a task to be waiting for a connection", || async {
        db.pool_stats().waiting == 1
    })
    .await;
    tx.rollback().await.unwrap();
    waiter.await.unwrap().unwrap();
    assert_eq!(db.pool_stats().waiting, 0);
    db.close().await;
    test_db.cleanup().await;
}

#[tokio::test]
async fn an_exhausted_pool_times_out_with_pool_timeout() {
    let test_db = fresh_db().await;
    let db = single_connection_db(test_db.url(), 1).await;
    let tx = db.begin().await.unwrap();
    assert!(matches!(db.ping().await, Err(StoreError::PoolTimeout)));
    drop(tx);
    db.ping().await.unwrap();
    db.close().await;
    test_db.cleanup().await;
}

#[tokio::test]
async fn a_query_at_or_over_the_threshold_is_logged_as_slow_and_others_are_not() {
    let db = fresh_db().await;
    let (logs, _guard) = capture_logs();
    db.set_slow_query_threshold(Duration::from_secs(3600));
    db.ping().await.unwrap();
    assert!(
        !logs.contents().contains("slow query"),
        "{}",
        logs.contents()
    );
    let before = db.query_counters().slow_queries;

    db.set_slow_query_threshold(Duration::ZERO);
    db.ping().await.unwrap();
    let out = logs.contents();
    assert!(out.contains("kiki_store::slow_query"), "{out}");
    assert!(out.contains("slow query"), "{out}");
    assert!(out.contains("statement=\"SELECT 1\""), "{out}");
    assert!(out.contains("duration_ms="), "{out}");
    assert!(
        out.contains("db.query"),
        "the warning is inside the db.query span: {out}"
    );
    assert_eq!(db.query_counters().slow_queries, before + 1);
    db.cleanup().await;
}

#[tokio::test]
async fn a_sqlite_file_is_created_with_its_directory_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/deeper/kiki.db");
    let db = Db::connect(&DatabaseConfig {
        url: format!("sqlite://{}", path.display()),
        ..DatabaseConfig::default()
    })
    .await
    .unwrap();
    assert!(path.exists());
    assert!(db.is_migrated());
    #[derive(kiki_store::sqlx::FromRow)]
    struct Mode {
        journal_mode: String,
    }
    let kiki_store::DbPool::Sqlite(pool) = db.pool() else {
        panic!("expected SQLite");
    };
    let mode: Mode = kiki_store::sqlx::query_as("PRAGMA journal_mode")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(mode.journal_mode, "wal");
    let fk: (i64,) = kiki_store::sqlx::query_as("PRAGMA foreign_keys")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(fk.0, 1);
    db.close().await;
}

#[tokio::test]
async fn an_unknown_url_scheme_is_a_configuration_error_naming_the_setting() {
    let err = Db::connect(&DatabaseConfig {
        url: "mysql://root:hunter2@h/db".into(),
        ..DatabaseConfig::default()
    })
    .await
    .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("database.url"), "{msg}");
    assert!(!msg.contains("hunter2"), "the password is redacted: {msg}");
}

#[tokio::test]
async fn instance_metadata_is_inserted_then_replaced() {
    let db = fresh_db().await;
    assert_eq!(db.get_meta("instance_id").await.unwrap(), None);
    db.set_meta("instance_id", "first").await.unwrap();
    db.set_meta("instance_id", "second").await.unwrap();
    db.set_meta("other", "x").await.unwrap();
    assert_eq!(
        db.get_meta("instance_id").await.unwrap().as_deref(),
        Some("second")
    );
    assert_eq!(db.get_meta("other").await.unwrap().as_deref(), Some("x"));
    db.cleanup().await;
}

#[tokio::test]
async fn pending_migrations_lists_versions_until_migrate_runs() {
    let test_db = fresh_db().await;
    assert_eq!(
        test_db.pending_migrations().await.unwrap(),
        Vec::<i64>::new()
    );
    // A second database on the same server/dir, opened without migrating.
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&DatabaseConfig {
        url: format!("sqlite://{}", dir.path().join("unmigrated.db").display()),
        run_migrations: false,
        ..DatabaseConfig::default()
    })
    .await
    .unwrap();
    assert!(!db.is_migrated());
    let pending = db.pending_migrations().await.unwrap();
    assert!(pending.contains(&1), "{pending:?}");
    assert!(!db.is_migrated());
    db.migrate().await.unwrap();
    assert_eq!(db.pending_migrations().await.unwrap(), Vec::<i64>::new());
    assert!(db.is_migrated());
    db.close().await;
    test_db.cleanup().await;
}

#[tokio::test]
async fn a_write_that_waits_out_the_sqlite_lock_is_busy_and_other_errors_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&DatabaseConfig {
        url: format!("sqlite://{}", dir.path().join("busy.db").display()),
        sqlite_busy_timeout_ms: 50,
        ..DatabaseConfig::default()
    })
    .await
    .unwrap();
    create_test_tables(&db).await;
    // One connection holds the write lock (BEGIN IMMEDIATE) ...
    let held = db.begin().await.unwrap();
    // ... so a second writer gives up after the busy timeout.
    let err = match db.begin().await {
        Err(e) => e,
        Ok(_) => panic!("a second writer got the lock"),
    };
    assert!(err.is_busy(), "{err:?}");
    drop(held);
    let free = db.begin().await.expect("the lock is free again");
    drop(free);
    assert!(!StoreError::NotFound.is_busy());
    assert!(!StoreError::PoolTimeout.is_busy());
    db.close().await;
}
