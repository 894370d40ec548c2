//! Test databases: a fresh, migrated database per test, on PostgreSQL when
//! `KIKI_TEST_DATABASE_URL` is set and on a temporary SQLite file otherwise,
//! so one test suite runs on both backends.
//!
//! These helpers panic with a clear message when the database cannot be set
//! up: they are for tests, where a panic is the failure report.

use std::ops::Deref;
use std::str::FromStr;
use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

use crate::config::{DatabaseConfig, redact_url};
use crate::db::Db;

/// The environment variable naming a PostgreSQL admin database for tests.
pub const TEST_DATABASE_URL_ENV: &str = "KIKI_TEST_DATABASE_URL";
/// The environment variable naming a Redis for tests.
pub const TEST_REDIS_URL_ENV: &str = "KIKI_TEST_REDIS_URL";

/// `KIKI_TEST_DATABASE_URL`, when set and not empty.
pub fn test_database_url() -> Option<String> {
    std::env::var(TEST_DATABASE_URL_ENV)
        .ok()
        .filter(|s| !s.trim().is_empty())
}

/// `KIKI_TEST_REDIS_URL`, when set and not empty.
pub fn test_redis_url() -> Option<String> {
    std::env::var(TEST_REDIS_URL_ENV)
        .ok()
        .filter(|s| !s.trim().is_empty())
}

/// True when running under CI (`CI=true`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// The Redis URL for a test that needs Redis, or `None` with a note on
/// stderr when it is not configured. Under `CI=true` a missing Redis fails
/// the test instead, so a CI pass never skips it silently.
pub fn require_redis(test: &str) -> Option<String> {
    match test_redis_url() {
        Some(u) => Some(u),
        None if in_ci() => panic!(
            "{test} needs Redis: set {TEST_REDIS_URL_ENV} (CI=true, so it may not be skipped)"
        ),
        None => {
            eprintln!("note: {test}: {TEST_REDIS_URL_ENV} is not set; the Redis part did not run");
            None
        }
    }
}

/// The PostgreSQL URL for a test that needs PostgreSQL itself (not just a
/// database), or `None` with a note; under `CI=true` a missing one fails.
pub fn require_postgres(test: &str) -> Option<String> {
    match test_database_url() {
        Some(u) => Some(u),
        None if in_ci() => panic!(
            "{test} needs PostgreSQL: set {TEST_DATABASE_URL_ENV} (CI=true, so it may not be skipped)"
        ),
        None => {
            eprintln!(
                "note: {test}: {TEST_DATABASE_URL_ENV} is not set; the PostgreSQL part did not run"
            );
            None
        }
    }
}

/// In CI, a configured but unreachable PostgreSQL fails the test loudly
/// instead of letting it pass on SQLite.
pub fn require_postgres_in_ci() {
    if !in_ci() {
        return;
    }
    let Some(url) = test_database_url() else {
        return;
    };
    if let Err(e) = tcp_reachable(&url) {
        panic!(
            "CI=true and {TEST_DATABASE_URL_ENV}={} is set, but PostgreSQL is unreachable: {e}. Start it (pg_ctlcluster … start) or unset the variable.",
            redact_url(&url)
        );
    }
}

fn tcp_reachable(url: &str) -> Result<(), String> {
    let opts = PgConnectOptions::from_str(url).map_err(|e| e.to_string())?;
    let addr = format!("{}:{}", opts.get_host(), opts.get_port());
    let addrs: Vec<_> = std::net::ToSocketAddrs::to_socket_addrs(&addr)
        .map_err(|e| format!("cannot resolve {addr}: {e}"))?
        .collect();
    for a in &addrs {
        if std::net::TcpStream::connect_timeout(a, Duration::from_secs(3)).is_ok() {
            return Ok(());
        }
    }
    Err(format!("nothing accepts connections at {addr}"))
}

/// Swaps the database name in a PostgreSQL URL, keeping credentials and parameters.
pub fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.find('?') {
        Some(i) => (&url[..i], &url[i..]),
        None => (url, ""),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    format!("{}/{}{}", &base[..path_start], database, query)
}

enum Kind {
    Sqlite { _dir: tempfile::TempDir },
    Postgres { admin_url: String, name: String },
}

/// A migrated database that exists for one test. Derefs to [`Db`].
pub struct TestDb {
    db: Db,
    url: String,
    kind: Kind,
    dropped: bool,
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDb")
            .field("url", &redact_url(&self.url))
            .finish()
    }
}

impl Deref for TestDb {
    type Target = Db;
    fn deref(&self) -> &Db {
        &self.db
    }
}

impl TestDb {
    /// The URL of this database (to build a second `Db` on it, or a server config).
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// A `DatabaseConfig` pointing at this database (migrations already applied).
    pub fn config(&self) -> DatabaseConfig {
        test_config(&self.url)
    }

    /// Closes the pool and drops the PostgreSQL database (the SQLite file goes with its temp dir).
    pub async fn cleanup(mut self) {
        self.db.close().await;
        if let Kind::Postgres { admin_url, name } = &self.kind
            && let Err(e) = drop_database(admin_url, name).await
        {
            tracing::warn!(error = %e, database = %name, "dropping a test database failed");
        }
        self.dropped = true;
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if self.dropped {
            return;
        }
        if let Kind::Postgres { admin_url, name } = &self.kind {
            // Drop runs inside the test's runtime, which cannot be blocked on;
            // a helper thread with its own runtime does the work and is joined,
            // so the database is gone when the test returns.
            let admin_url = admin_url.clone();
            let name = name.clone();
            let handle = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(rt) = rt
                    && let Err(e) = rt.block_on(drop_database(&admin_url, &name))
                {
                    eprintln!("note: dropping test database {name} failed: {e}");
                }
            });
            let _ = handle.join();
        }
    }
}

fn test_config(url: &str) -> DatabaseConfig {
    DatabaseConfig {
        url: url.to_owned(),
        // Tests run in parallel against one server: keep each database small.
        max_connections: 5,
        min_connections: 0,
        acquire_timeout_secs: 30,
        run_migrations: true,
        ..DatabaseConfig::default()
    }
}

async fn drop_database(admin_url: &str, name: &str) -> Result<(), sqlx::Error> {
    let mut admin = PgConnection::connect(admin_url).await?;
    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
        .execute(&mut admin)
        .await?;
    admin.close().await
}

/// A fresh migrated database: PostgreSQL `kiki_test_<uuid>` when
/// `KIKI_TEST_DATABASE_URL` is set, else a SQLite file in a temp dir. Under
/// `CI=true` the variable must be set (CI's SQLite pass runs with
/// `CI=false`), so a PostgreSQL pass never falls back to SQLite quietly.
pub async fn fresh_db() -> TestDb {
    require_postgres_in_ci();
    match test_database_url() {
        Some(admin) => fresh_postgres(&admin).await,
        None if in_ci() => panic!(
            "CI=true but {TEST_DATABASE_URL_ENV} is not set: this pass runs on PostgreSQL and may not fall back to SQLite"
        ),
        None => fresh_sqlite().await,
    }
}

/// A fresh migrated SQLite database, whatever the environment says.
pub async fn fresh_sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("cannot create a temp dir: {e}"));
    let url = format!("sqlite://{}", dir.path().join("kiki-test.db").display());
    let db = Db::connect(&test_config(&url))
        .await
        .unwrap_or_else(|e| panic!("cannot open test SQLite database {url}: {e}"));
    TestDb {
        db,
        url,
        kind: Kind::Sqlite { _dir: dir },
        dropped: false,
    }
}

/// A fresh migrated PostgreSQL database created through `admin_url`.
pub async fn fresh_postgres(admin_url: &str) -> TestDb {
    let name = format!("kiki_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(admin_url).await.unwrap_or_else(|e| {
        panic!(
            "cannot connect to {TEST_DATABASE_URL_ENV}={}: {e}",
            redact_url(admin_url)
        )
    });
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
    let _ = admin.close().await;
    let url = with_database(admin_url, &name);
    let db = Db::connect(&test_config(&url))
        .await
        .unwrap_or_else(|e| panic!("cannot open test database {}: {e}", redact_url(&url)));
    TestDb {
        db,
        url,
        kind: Kind::Postgres {
            admin_url: admin_url.to_owned(),
            name,
        },
        dropped: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_is_swapped_and_the_rest_kept() {
        let cases = [
            (
                "postgres://postgres@127.0.0.1:5432/postgres",
                "postgres://postgres@127.0.0.1:5432/x",
            ),
            (
                "postgres://u:p@h/admin?sslmode=disable",
                "postgres://u:p@h/x?sslmode=disable",
            ),
            ("postgres://u@h:5432", "postgres://u@h:5432/x"),
            (
                "postgres://u@h:5432/?application_name=t",
                "postgres://u@h:5432/x?application_name=t",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(with_database(input, "x"), expected, "{input}");
        }
    }
}
