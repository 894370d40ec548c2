//! Migration parity: the SQLite and PostgreSQL folders must produce the same
//! schema — same migration files, tables, column names, nullability, type
//! classes (per the rules in `schema.rs`) and explicit index names. Generic
//! over every table, so later migrations are checked without editing this test.

use std::collections::{BTreeMap, BTreeSet};

use kiki_store::DbPool;
use kiki_store::testing::{fresh_postgres, fresh_sqlite};

use crate::support::postgres_or_note;

/// Column → (nullable, type class).
type Columns = BTreeMap<String, (bool, String)>;

#[derive(Debug, Default)]
struct Schema {
    tables: BTreeMap<String, Columns>,
    indexes: BTreeSet<String>,
}

/// The type class a PostgreSQL column type belongs to under the schema rules.
fn pg_class(data_type: &str) -> String {
    match data_type {
        "uuid" => "uuid",
        "timestamp with time zone" => "timestamp",
        "jsonb" => "json_or_text",
        "text" => "json_or_text",
        "bigint" => "integer",
        "boolean" => "integer",
        "double precision" => "real",
        other => return format!("not allowed by schema.rs: {other}"),
    }
    .to_owned()
}

/// The same for SQLite's declared types (STRICT tables).
fn sqlite_class(declared: &str) -> String {
    match declared.to_ascii_uppercase().as_str() {
        "BLOB" => "uuid",
        "TEXT" => "json_or_text",
        "INTEGER" => "integer",
        "REAL" => "real",
        other => return format!("not allowed by schema.rs: {other}"),
    }
    .to_owned()
}

async fn sqlite_schema() -> Schema {
    let db = fresh_sqlite().await;
    let DbPool::Sqlite(pool) = db.pool() else {
        unreachable!("fresh_sqlite gives SQLite")
    };
    let tables: Vec<(String,)> = kiki_store::sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut schema = Schema::default();
    for (table,) in tables {
        let cols: Vec<(String, String, i64)> =
            kiki_store::sqlx::query_as("SELECT name, type, \"notnull\" FROM pragma_table_info(?)")
                .bind(&table)
                .fetch_all(pool)
                .await
                .unwrap();
        let timestamps = timestamp_columns_by_convention(&cols);
        let columns = cols
            .into_iter()
            .map(|(name, ty, notnull)| {
                let class = if timestamps.contains(&name) {
                    "timestamp".to_owned()
                } else {
                    sqlite_class(&ty)
                };
                (name, (notnull == 0, class))
            })
            .collect();
        schema.tables.insert(table, columns);
    }
    let idx: Vec<(String,)> = kiki_store::sqlx::query_as(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex_%'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    schema.indexes = idx.into_iter().map(|(n,)| n).collect();
    db.cleanup().await;
    schema
}

/// SQLite stores timestamps as TEXT, so the declared type cannot tell them
/// from strings; the naming rule can: `*_at`, `*_until`, `*_start`, `*_end`
/// and `hour` are timestamps (dates are `*_day`, kept as TEXT on both sides).
fn named_like_a_timestamp(name: &str) -> bool {
    ["_at", "_until", "_start", "_end"]
        .iter()
        .any(|suffix| name.ends_with(suffix))
        || name == "hour"
}

fn timestamp_columns_by_convention(cols: &[(String, String, i64)]) -> BTreeSet<String> {
    cols.iter()
        .filter(|(name, ty, _)| ty.eq_ignore_ascii_case("TEXT") && named_like_a_timestamp(name))
        .map(|(name, _, _)| name.clone())
        .collect()
}

async fn postgres_schema(admin: &str) -> Schema {
    let db = fresh_postgres(admin).await;
    let DbPool::Postgres(pool) = db.pool() else {
        unreachable!("fresh_postgres gives PostgreSQL")
    };
    let cols: Vec<(String, String, String, String)> = kiki_store::sqlx::query_as(
        "SELECT table_name::text, column_name::text, is_nullable::text, data_type::text \
         FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations' \
         ORDER BY table_name, ordinal_position",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut schema = Schema::default();
    for (table, column, nullable, data_type) in cols {
        let mut class = pg_class(&data_type);
        // The timestamp naming rule holds on both sides, or it would hide a mismatch.
        if class == "json_or_text" && named_like_a_timestamp(&column) {
            class = format!("text column named like a timestamp: {data_type}");
        }
        schema
            .tables
            .entry(table)
            .or_default()
            .insert(column, (nullable == "YES", class));
    }
    let idx: Vec<(String,)> = kiki_store::sqlx::query_as(
        "SELECT i.indexname::text FROM pg_indexes i \
         WHERE i.schemaname = current_schema() AND i.tablename <> '_sqlx_migrations' \
         AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    schema.indexes = idx.into_iter().map(|(n,)| n).collect();
    db.cleanup().await;
    schema
}

fn migration_files(folder: &str) -> BTreeSet<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(folder);
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn both_migration_folders_hold_the_same_file_names() {
    let sqlite = migration_files("sqlite");
    let postgres = migration_files("postgres");
    assert!(!sqlite.is_empty());
    assert_eq!(
        sqlite, postgres,
        "add every migration to both migrations/sqlite and migrations/postgres with the same name"
    );
}

#[tokio::test]
async fn sqlite_and_postgres_migrations_produce_the_same_tables_columns_and_indexes() {
    let sqlite = sqlite_schema().await;
    assert!(
        sqlite.tables.contains_key("jobs"),
        "{:?}",
        sqlite.tables.keys()
    );
    for (table, cols) in &sqlite.tables {
        for (col, (_, class)) in cols {
            assert!(
                !class.starts_with("not allowed"),
                "sqlite {table}.{col}: {class}"
            );
        }
    }
    let Some(admin) = postgres_or_note("the migration parity test") else {
        return;
    };
    let postgres = postgres_schema(&admin).await;
    let mut problems = Vec::new();
    let all_tables: BTreeSet<_> = sqlite.tables.keys().chain(postgres.tables.keys()).collect();
    for table in all_tables {
        let (Some(s), Some(p)) = (sqlite.tables.get(table), postgres.tables.get(table)) else {
            problems.push(format!(
                "table `{table}` exists only in {}",
                if sqlite.tables.contains_key(table) {
                    "sqlite"
                } else {
                    "postgres"
                }
            ));
            continue;
        };
        let all_cols: BTreeSet<_> = s.keys().chain(p.keys()).collect();
        for col in all_cols {
            match (s.get(col), p.get(col)) {
                (Some((sn, sc)), Some((pn, pc))) => {
                    if sn != pn {
                        problems.push(format!(
                            "`{table}.{col}` is {} in sqlite but {} in postgres (declare NOT NULL explicitly on SQLite primary keys)",
                            if *sn { "nullable" } else { "NOT NULL" },
                            if *pn { "nullable" } else { "NOT NULL" }
                        ));
                    }
                    if sc != pc {
                        problems.push(format!(
                            "`{table}.{col}` has type class `{sc}` in sqlite but `{pc}` in postgres"
                        ));
                    }
                }
                (Some(_), None) => problems.push(format!("`{table}.{col}` exists only in sqlite")),
                (None, Some(_)) => {
                    problems.push(format!("`{table}.{col}` exists only in postgres"))
                }
                (None, None) => {}
            }
        }
    }
    for only in sqlite.indexes.symmetric_difference(&postgres.indexes) {
        problems.push(format!(
            "index `{only}` exists only in {}",
            if sqlite.indexes.contains(only) {
                "sqlite"
            } else {
                "postgres"
            }
        ));
    }
    assert!(
        problems.is_empty(),
        "the migration folders disagree:\n  {}",
        problems.join("\n  ")
    );
}
