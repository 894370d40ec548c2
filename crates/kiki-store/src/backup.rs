//! Backups with a checksum manifest, and restores that verify them.
//!
//! - **SQLite**: `VACUUM INTO` writes a consistent copy of the live
//!   database (one read transaction; writers go on) into a new file; the
//!   copy is compacted and has no WAL of its own.
//! - **PostgreSQL**: `pg_dump --format=custom` under a snapshot exported from
//!   a repeatable-read transaction (`pg_export_snapshot()`), so the dump and
//!   the table summaries the manifest records see the same data.
//!
//! The manifest (`kiki-backup-<time>.json` beside the artifact) records the
//! artifact's size and SHA-256, the schema version, and per table its row
//! count and an order-independent checksum of its rows. A restore goes only
//! into an empty database, checks the artifact's SHA-256 first, and compares
//! every table's count and checksum afterwards. Retention keeps the newest
//! `backup.keep` backups in the directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, Row, TypeInfo, ValueRef};
use time::OffsetDateTime;

use crate::config::DatabaseConfig;
use crate::db::{Backend, Db, DbPool};

/// Where backups go and how many are kept (section `[backup]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BackupConfig {
    /// Directory of the backups and their manifests. Default `data/backups`.
    pub dir: String,
    /// Backups kept; older ones are deleted after a new one is written. Default 7.
    pub keep: u32,
    /// The `pg_dump` program (on PATH by default).
    pub pg_dump: String,
    /// The `pg_restore` program (on PATH by default).
    pub pg_restore: String,
}

impl Default for BackupConfig {
    fn default() -> Self {
        BackupConfig {
            dir: "data/backups".into(),
            keep: 7,
            pg_dump: "pg_dump".into(),
            pg_restore: "pg_restore".into(),
        }
    }
}

/// Why a backup or restore did not complete.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}")]
    Refused(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("The database reported an error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{tool} failed ({status}): {stderr}")]
    Tool {
        tool: String,
        status: String,
        stderr: String,
    },
    #[error("The restored database differs from the backup: {}", .0.join("; "))]
    Mismatch(Vec<String>),
    #[error("The manifest {path} cannot be read: {reason}")]
    Manifest { path: String, reason: String },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BackupError {
    let what = what.into();
    move |source| BackupError::Io { what, source }
}

/// One table's content in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableSummary {
    pub rows: u64,
    /// Order-independent checksum of the rows (the sum of a hash per row;
    /// comparable between a backup and its restore on the same backend).
    pub checksum: String,
}

/// What a backup holds; stored as JSON beside the artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Manifest format version (1).
    pub format: u32,
    pub kiki_version: String,
    /// `sqlite` or `postgres`.
    pub backend: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The artifact's file name, in the manifest's directory.
    pub file: String,
    pub bytes: u64,
    /// SHA-256 of the artifact, lower-case hex.
    pub sha256: String,
    /// The newest migration applied.
    pub schema_version: i64,
    pub tables: BTreeMap<String, TableSummary>,
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreReport {
    pub tables: usize,
    pub rows: u64,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_file(path: &Path) -> Result<(u64, String), BackupError> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(io(format!("opening {}", path.display())))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = f
            .read(&mut buf)
            .map_err(io(format!("reading {}", path.display())))?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        h.update(&buf[..n]);
    }
    Ok((bytes, hex(&h.finalize())))
}

/// A SQL identifier quoted for both dialects (names come from the catalogue).
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The file of a `sqlite://` URL.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && !path.starts_with(':')).then(|| PathBuf::from(path))
}

/// A PostgreSQL URL without its password, and the password (for
/// `PGPASSWORD`, so it never shows in a process list).
fn split_password(url: &str) -> (String, Option<String>) {
    let Some(scheme_end) = url.find("://") else {
        return (url.to_owned(), None);
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let Some(at) = rest[..authority_end].rfind('@') else {
        return (url.to_owned(), None);
    };
    let userinfo = &rest[..at];
    let Some(colon) = userinfo.find(':') else {
        return (url.to_owned(), None);
    };
    let password = percent_decode(&userinfo[colon + 1..]);
    let without = format!(
        "{}{}{}",
        &url[..scheme_end + 3],
        &userinfo[..colon],
        &rest[at..]
    );
    (without, Some(password))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(h) = std::str::from_utf8(&b[i + 1..i + 3])
            && let Ok(v) = u8::from_str_radix(h, 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn run_tool(
    program: &str,
    args: Vec<String>,
    password: Option<String>,
) -> Result<(), BackupError> {
    let program = program.to_owned();
    let out = tokio::task::spawn_blocking(move || {
        let mut cmd = std::process::Command::new(&program);
        cmd.args(&args);
        if let Some(p) = password {
            cmd.env("PGPASSWORD", p);
        }
        cmd.output()
            .map_err(|e| BackupError::Io {
                what: format!(
                    "running {program} (set backup.pg_dump / backup.pg_restore to its path)"
                ),
                source: e,
            })
            .map(|o| (program, o))
    })
    .await
    .map_err(|e| BackupError::Refused(format!("The backup tool's task failed: {e}.")))??;
    let (program, o) = out;
    if o.status.success() {
        return Ok(());
    }
    Err(BackupError::Tool {
        tool: program,
        status: o.status.to_string(),
        stderr: String::from_utf8_lossy(&o.stderr).trim().to_owned(),
    })
}

/// Per-table row counts and checksums of a SQLite database: every row's
/// values (with their storage class) hashed with SHA-256, the first eight
/// bytes summed modulo 2⁶⁴.
async fn summarise_sqlite(
    conn: &mut sqlx::SqliteConnection,
) -> Result<BTreeMap<String, TableSummary>, BackupError> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut out = BTreeMap::new();
    for name in names {
        // The name comes from the catalogue, quoted.
        let sql = format!("SELECT * FROM {}", quote(&name));
        let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&mut *conn);
        let (mut count, mut sum) = (0u64, 0u64);
        while let Some(row) = rows.try_next().await? {
            let mut h = Sha256::new();
            for i in 0..row.columns().len() {
                let v = row.try_get_raw(i)?;
                if v.is_null() {
                    h.update([0u8]);
                    continue;
                }
                match v.type_info().name() {
                    "INTEGER" | "BOOLEAN" | "INT8" => {
                        h.update([1u8]);
                        h.update(row.try_get::<i64, _>(i)?.to_le_bytes());
                    }
                    "REAL" => {
                        h.update([2u8]);
                        h.update(row.try_get::<f64, _>(i)?.to_bits().to_le_bytes());
                    }
                    "BLOB" => {
                        let b: Vec<u8> = row.try_get(i)?;
                        h.update([3u8]);
                        h.update((b.len() as u64).to_le_bytes());
                        h.update(&b);
                    }
                    _ => {
                        let t: String = row.try_get(i)?;
                        h.update([4u8]);
                        h.update((t.len() as u64).to_le_bytes());
                        h.update(t.as_bytes());
                    }
                }
            }
            let d = h.finalize();
            let mut first = [0u8; 8];
            first.copy_from_slice(&d[..8]);
            sum = sum.wrapping_add(u64::from_le_bytes(first));
            count += 1;
        }
        out.insert(
            name,
            TableSummary {
                rows: count,
                checksum: format!("{sum:016x}"),
            },
        );
    }
    Ok(out)
}

/// Per-table row counts and checksums of a PostgreSQL database's `public`
/// schema, computed by the server: the sum of the first 60 bits of each
/// row's MD5 (of its text form).
async fn summarise_postgres(
    conn: &mut sqlx::PgConnection,
) -> Result<BTreeMap<String, TableSummary>, BackupError> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut out = BTreeMap::new();
    for name in names {
        let sql = format!(
            "SELECT count(*)::bigint, coalesce(sum(('x' || substr(md5(t::text), 1, 15))::bit(60)::bigint), 0)::text FROM {} t",
            quote(&name)
        );
        let (rows, checksum): (i64, String) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut *conn)
            .await?;
        out.insert(
            name,
            TableSummary {
                rows: rows.max(0) as u64,
                checksum,
            },
        );
    }
    Ok(out)
}

/// The newest migration applied (when `_sqlx_migrations` exists).
const SCHEMA_VERSION: &str = "SELECT coalesce(max(version), 0) FROM _sqlx_migrations";

/// Writes a backup of `db` (connected with `cfg`) into `backup.dir` with its
/// manifest, then keeps the newest `backup.keep`; the manifest's path.
pub async fn backup(
    db: &Db,
    cfg: &DatabaseConfig,
    backup: &BackupConfig,
    now: OffsetDateTime,
) -> Result<(PathBuf, Manifest), BackupError> {
    let dir = PathBuf::from(&backup.dir);
    std::fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
    let stamp = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let (file, tables, version) = match db.pool() {
        DbPool::Sqlite(pool) => {
            let file = format!("kiki-backup-{stamp}.sqlite");
            let path = dir.join(&file);
            if path.exists() {
                return Err(BackupError::Refused(format!(
                    "{} exists already: a backup was written this second.",
                    path.display()
                )));
            }
            sqlx::query("VACUUM INTO ?")
                .bind(path.to_string_lossy().into_owned())
                .execute(pool)
                .await?;
            let opts = SqliteConnectOptions::new().filename(&path).read_only(true);
            let mut conn = sqlx::SqliteConnection::connect_with(&opts).await?;
            let tables = summarise_sqlite(&mut conn).await?;
            let version = if tables.contains_key("_sqlx_migrations") {
                sqlx::query_scalar::<_, i64>(SCHEMA_VERSION)
                    .fetch_one(&mut conn)
                    .await?
            } else {
                0
            };
            conn.close().await?;
            (file, tables, version)
        }
        DbPool::Postgres(pool) => {
            let file = format!("kiki-backup-{stamp}.pgdump");
            let path = dir.join(&file);
            let mut tx = pool.begin().await?;
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
            let snapshot: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
                .fetch_one(&mut *tx)
                .await?;
            let (url, password) = split_password(&cfg.url);
            run_tool(
                &backup.pg_dump,
                vec![
                    "--format=custom".into(),
                    format!("--snapshot={snapshot}"),
                    "--no-owner".into(),
                    format!("--file={}", path.display()),
                    format!("--dbname={url}"),
                ],
                password,
            )
            .await?;
            let tables = summarise_postgres(&mut tx).await?;
            let version = if tables.contains_key("_sqlx_migrations") {
                sqlx::query_scalar::<_, i64>(SCHEMA_VERSION)
                    .fetch_one(&mut *tx)
                    .await?
            } else {
                0
            };
            tx.rollback().await?;
            (file, tables, version)
        }
    };
    let (bytes, sha256) = sha256_file(&dir.join(&file))?;
    let manifest = Manifest {
        format: 1,
        kiki_version: env!("CARGO_PKG_VERSION").into(),
        backend: db.backend().as_str().into(),
        created_at: now,
        schema_version: version,
        file,
        bytes,
        sha256,
        tables,
    };
    let manifest_path = dir.join(format!("kiki-backup-{stamp}.json"));
    let text = serde_json::to_vec_pretty(&manifest).map_err(|e| BackupError::Manifest {
        path: manifest_path.display().to_string(),
        reason: e.to_string(),
    })?;
    std::fs::write(&manifest_path, text)
        .map_err(io(format!("writing {}", manifest_path.display())))?;
    prune(&dir, backup.keep)?;
    Ok((manifest_path, manifest))
}

/// Deletes all but the newest `keep` backups (manifest and artifact) in
/// `dir`; the manifests deleted. `keep` 0 keeps everything.
pub fn prune(dir: &Path, keep: u32) -> Result<Vec<PathBuf>, BackupError> {
    if keep == 0 {
        return Ok(Vec::new());
    }
    let mut manifests: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(format!("listing {}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("kiki-backup-") && n.ends_with(".json"))
        })
        .collect();
    // The names carry the time (UTC, fixed width): sorted by name is by age.
    manifests.sort();
    let excess = manifests.len().saturating_sub(keep as usize);
    let mut deleted = Vec::new();
    for m in manifests.into_iter().take(excess) {
        if let Ok(manifest) = read_manifest(&m) {
            let artifact = dir.join(&manifest.file);
            if artifact.exists() {
                std::fs::remove_file(&artifact)
                    .map_err(io(format!("deleting {}", artifact.display())))?;
            }
        }
        std::fs::remove_file(&m).map_err(io(format!("deleting {}", m.display())))?;
        deleted.push(m);
    }
    Ok(deleted)
}

/// Reads a manifest.
pub fn read_manifest(path: &Path) -> Result<Manifest, BackupError> {
    let text = std::fs::read(path).map_err(io(format!("reading {}", path.display())))?;
    let m: Manifest = serde_json::from_slice(&text).map_err(|e| BackupError::Manifest {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    if m.format != 1 {
        return Err(BackupError::Manifest {
            path: path.display().to_string(),
            reason: format!("format {} is not one this KIKI reads (1)", m.format),
        });
    }
    if m.file.contains(['/', '\\']) {
        return Err(BackupError::Manifest {
            path: path.display().to_string(),
            reason: "the artifact must be a file name in the manifest's directory".into(),
        });
    }
    Ok(m)
}

fn compare(
    expected: &BTreeMap<String, TableSummary>,
    found: &BTreeMap<String, TableSummary>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, e) in expected {
        match found.get(name) {
            None => problems.push(format!("table {name} is missing")),
            Some(f) if f.rows != e.rows => problems.push(format!(
                "table {name} has {} rows, the backup {}",
                f.rows, e.rows
            )),
            Some(f) if f.checksum != e.checksum => {
                problems.push(format!("table {name}'s rows differ from the backup's"))
            }
            Some(_) => {}
        }
    }
    for name in found.keys().filter(|n| !expected.contains_key(*n)) {
        problems.push(format!("table {name} is not in the backup"));
    }
    problems
}

/// Restores the backup of `manifest_path` into the empty database `target`,
/// then checks every table against the manifest.
pub async fn restore(
    manifest_path: &Path,
    target: &DatabaseConfig,
    backup: &BackupConfig,
) -> Result<RestoreReport, BackupError> {
    let manifest = read_manifest(manifest_path)?;
    let dir = manifest_path.parent().unwrap_or(Path::new("."));
    let artifact = dir.join(&manifest.file);
    let (bytes, sha256) = sha256_file(&artifact)?;
    if bytes != manifest.bytes || sha256 != manifest.sha256 {
        return Err(BackupError::Refused(format!(
            "{} does not match its manifest (SHA-256 {sha256}, the manifest says {}): it was changed or damaged.",
            artifact.display(),
            manifest.sha256
        )));
    }
    let backend = Backend::from_url(&target.url).ok_or_else(|| {
        BackupError::Refused(format!(
            "The database URL `{}` is not supported.",
            target.redacted_url()
        ))
    })?;
    if backend.as_str() != manifest.backend {
        return Err(BackupError::Refused(format!(
            "The backup is of a {} database; it restores into {} only.",
            manifest.backend, manifest.backend
        )));
    }
    let found = match backend {
        Backend::Sqlite => {
            let path = sqlite_path(&target.url).ok_or_else(|| {
                BackupError::Refused(
                    "Restore into a SQLite file, not an in-memory database.".into(),
                )
            })?;
            if std::fs::metadata(&path).is_ok_and(|m| m.len() > 0) {
                return Err(BackupError::Refused(format!(
                    "{} exists: a restore goes into an empty database only (move it away first).",
                    path.display()
                )));
            }
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .map_err(io(format!("creating {}", parent.display())))?;
            }
            let partial = path.with_extension("restoring");
            std::fs::copy(&artifact, &partial)
                .map_err(io(format!("copying into {}", partial.display())))?;
            std::fs::rename(&partial, &path)
                .map_err(io(format!("moving into {}", path.display())))?;
            let opts = SqliteConnectOptions::new().filename(&path).read_only(true);
            let mut conn = sqlx::SqliteConnection::connect_with(&opts).await?;
            let found = summarise_sqlite(&mut conn).await?;
            conn.close().await?;
            found
        }
        Backend::Postgres => {
            let opts = PgConnectOptions::from_str(&target.url)?;
            let mut conn = sqlx::PgConnection::connect_with(&opts).await?;
            let existing: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
            )
            .fetch_one(&mut conn)
            .await?;
            if existing > 0 {
                return Err(BackupError::Refused(format!(
                    "The target database {} has {existing} tables: a restore goes into an empty database only.",
                    target.redacted_url()
                )));
            }
            let (url, password) = split_password(&target.url);
            run_tool(
                &backup.pg_restore,
                vec![
                    "--no-owner".into(),
                    "--no-privileges".into(),
                    "--exit-on-error".into(),
                    format!("--dbname={url}"),
                    artifact.display().to_string(),
                ],
                password,
            )
            .await?;
            let found = summarise_postgres(&mut conn).await?;
            conn.close().await?;
            found
        }
    };
    let problems = compare(&manifest.tables, &found);
    if !problems.is_empty() {
        return Err(BackupError::Mismatch(problems));
    }
    Ok(RestoreReport {
        tables: found.len(),
        rows: found.values().map(|t| t.rows).sum(),
    })
}

/// The current database's table summaries (to compare with a manifest).
pub async fn summarise(db: &Db) -> Result<BTreeMap<String, TableSummary>, BackupError> {
    match db.pool() {
        DbPool::Sqlite(pool) => {
            let mut conn = pool.acquire().await?;
            summarise_sqlite(&mut conn).await
        }
        DbPool::Postgres(pool) => {
            let mut conn = pool.acquire().await?;
            summarise_postgres(&mut conn).await
        }
    }
}

/// The kind string of [`BackupJob`].
pub const BACKUP_KIND: &str = "db.backup";

/// `db.backup`: [`backup`] as a job, for a schedule in `jobs.schedules`
/// (none by default). Its result is the manifest's path and summary.
#[derive(Debug, Clone)]
pub struct BackupJob {
    db: Db,
    database: DatabaseConfig,
    config: BackupConfig,
}

impl BackupJob {
    pub fn new(db: Db, database: DatabaseConfig, config: BackupConfig) -> BackupJob {
        BackupJob {
            db,
            database,
            config,
        }
    }

    /// Exports the newest backup already in `backup.dir` (if any) as
    /// `kiki_backup_last_success_timestamp_seconds` and
    /// `kiki_backup_size_bytes`, so that a restarted worker does not forget
    /// the age of the last backup the alert watches.
    pub fn export_newest(&self) {
        if let Some(m) = newest_manifest(Path::new(&self.config.dir)) {
            record_success(&m);
        }
    }
}

/// The newest readable manifest in `dir` (by the time in its name).
pub fn newest_manifest(dir: &Path) -> Option<Manifest> {
    let mut manifests: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("kiki-backup-") && n.ends_with(".json"))
        })
        .collect();
    manifests.sort();
    manifests.iter().rev().find_map(|p| read_manifest(p).ok())
}

fn record_success(m: &Manifest) {
    metrics::gauge!("kiki_backup_last_success_timestamp_seconds")
        .set(m.created_at.unix_timestamp() as f64);
    metrics::gauge!("kiki_backup_size_bytes").set(m.bytes as f64);
}

impl crate::JobHandler for BackupJob {
    fn kind(&self) -> &'static str {
        BACKUP_KIND
    }

    fn run<'a>(
        &'a self,
        ctx: crate::JobContext,
    ) -> futures::future::BoxFuture<'a, Result<serde_json::Value, crate::JobError>> {
        Box::pin(async move {
            ctx.progress(0.0, "writing the backup").await;
            let (path, m) = backup(&self.db, &self.database, &self.config, ctx.now())
                .await
                .map_err(|e| {
                    metrics::counter!("kiki_backups_total", "outcome" => "failed").increment(1);
                    crate::JobError::failed(e.to_string())
                })?;
            metrics::counter!("kiki_backups_total", "outcome" => "written").increment(1);
            record_success(&m);
            tracing::info!(manifest = %path.display(), bytes = m.bytes, tables = m.tables.len(), "backup written");
            Ok(serde_json::json!({
                "manifest": path.display().to_string(),
                "file": m.file,
                "bytes": m.bytes,
                "sha256": m.sha256,
                "tables": m.tables.len(),
                "rows": m.tables.values().map(|t| t.rows).sum::<u64>(),
            }))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_leaves_the_url_for_the_environment() {
        let (url, pw) = split_password("postgres://kiki:s%40cret@db:5432/kiki?sslmode=require");
        assert_eq!(url, "postgres://kiki@db:5432/kiki?sslmode=require");
        assert_eq!(pw.as_deref(), Some("s@cret"));
        let (url, pw) = split_password("postgres://postgres@127.0.0.1:5432/postgres");
        assert_eq!(url, "postgres://postgres@127.0.0.1:5432/postgres");
        assert_eq!(pw, None);
    }

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(
            sqlite_path("sqlite://data/kiki.db"),
            Some("data/kiki.db".into())
        );
        assert_eq!(
            sqlite_path("sqlite:/tmp/x.db?mode=rwc"),
            Some("/tmp/x.db".into())
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
    }

    #[test]
    fn a_comparison_names_every_difference() {
        let t = |rows, c: &str| TableSummary {
            rows,
            checksum: c.into(),
        };
        let expected = BTreeMap::from([
            ("a".to_owned(), t(2, "1")),
            ("b".to_owned(), t(1, "2")),
            ("c".to_owned(), t(1, "3")),
        ]);
        let found = BTreeMap::from([
            ("a".to_owned(), t(3, "1")),
            ("b".to_owned(), t(1, "9")),
            ("d".to_owned(), t(0, "0")),
        ]);
        assert_eq!(
            compare(&expected, &found),
            [
                "table a has 3 rows, the backup 2",
                "table b's rows differ from the backup's",
                "table c is missing",
                "table d is not in the backup"
            ]
        );
    }
}
