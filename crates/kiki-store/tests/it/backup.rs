//! Backup → wipe → restore: every table comes back with the same rows
//! (counts and checksums), on SQLite and PostgreSQL; a damaged artifact and
//! a database that is not empty are refused; retention keeps the newest.

use std::sync::Arc;

use kiki_core::TestClock;
use kiki_store::backup::{self, BackupConfig, BackupError};
use kiki_store::testing::fresh_db;
use kiki_store::{Backend, DbPool, EnqueueOptions, Jobs, JobsConfig};
use serde_json::json;
use time::macros::datetime;

#[tokio::test]
async fn a_backup_wiped_and_restored_gives_back_every_row() {
    let db = fresh_db().await;
    let now = datetime!(2026-12-07 03:00 UTC);
    let jobs =
        Jobs::new((*db).clone(), JobsConfig::default()).with_clock(Arc::new(TestClock::at(now)));
    for n in 0..25 {
        jobs.enqueue(
            None,
            "test.noop",
            json!({"n": n, "text": "naïve ✓"}),
            EnqueueOptions::default(),
        )
        .await
        .unwrap();
    }
    let live = backup::summarise(&db).await.unwrap();
    assert_eq!(live["jobs"].rows, 25);

    let dir = tempfile::tempdir().unwrap();
    let cfg = BackupConfig {
        dir: dir.path().display().to_string(),
        keep: 2,
        ..BackupConfig::default()
    };
    let (manifest_path, manifest) = backup::backup(&db, &db.config(), &cfg, now).await.unwrap();
    assert_eq!(
        manifest.tables, live,
        "the backup holds what the database held"
    );
    assert!(manifest.schema_version >= 17, "{manifest:?}");
    assert_eq!(manifest.backend, db.backend().as_str());
    assert!(manifest.bytes > 0 && manifest.sha256.len() == 64);

    // Restoring over live data is refused.
    let e = backup::restore(&manifest_path, &db.config(), &cfg)
        .await
        .unwrap_err();
    assert!(matches!(e, BackupError::Refused(_)), "{e}");

    // Wipe.
    match db.pool() {
        DbPool::Sqlite(_) => {
            db.close().await;
            let path = backup::sqlite_path(db.url()).unwrap();
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
        DbPool::Postgres(pool) => {
            sqlx::raw_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
                .execute(pool)
                .await
                .unwrap();
            db.close().await;
        }
    }

    let report = backup::restore(&manifest_path, &db.config(), &cfg)
        .await
        .unwrap();
    assert_eq!(report.tables, live.len());
    assert_eq!(report.rows, live.values().map(|t| t.rows).sum::<u64>());
    let restored = kiki_store::Db::connect(&db.config()).await.unwrap();
    assert_eq!(backup::summarise(&restored).await.unwrap(), live);
    let payloads: Vec<String> = match restored.pool() {
        DbPool::Sqlite(p) => sqlx::query_scalar("SELECT payload FROM jobs ORDER BY created_at")
            .fetch_all(p)
            .await
            .unwrap(),
        DbPool::Postgres(p) => {
            sqlx::query_scalar("SELECT payload::text FROM jobs ORDER BY created_at")
                .fetch_all(p)
                .await
                .unwrap()
        }
    };
    assert_eq!(payloads.len(), 25);
    assert!(
        payloads.iter().any(|p| p.contains("naïve ✓")),
        "{payloads:?}"
    );
    restored.close().await;

    // A damaged artifact is refused before anything is written.
    let artifact = dir.path().join(&manifest.file);
    let mut bytes = std::fs::read(&artifact).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xFF;
    std::fs::write(&artifact, bytes).unwrap();
    let e = backup::restore(&manifest_path, &db.config(), &cfg)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("does not match its manifest"), "{e}");
    if db.backend() == Backend::Sqlite {
        assert!(
            e.to_string().contains("SHA-256"),
            "refused for the checksum, not for the non-empty target: {e}"
        );
    }
    db.cleanup().await;
}

#[tokio::test]
async fn retention_keeps_the_newest_backups() {
    let db = fresh_db().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = BackupConfig {
        dir: dir.path().display().to_string(),
        keep: 2,
        ..BackupConfig::default()
    };
    let mut manifests = Vec::new();
    for day in 1..=3 {
        let at = datetime!(2026-12-01 03:00 UTC) + time::Duration::days(day);
        manifests.push(backup::backup(&db, &db.config(), &cfg, at).await.unwrap());
    }
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    let names = |i: usize| {
        let m = &manifests[i];
        [
            m.0.file_name().unwrap().to_string_lossy().into_owned(),
            m.1.file.clone(),
        ]
    };
    let mut expected: Vec<String> = names(1).into_iter().chain(names(2)).collect();
    expected.sort();
    assert_eq!(left, expected);
    // The newest one is what the backup-age metric reports after a restart.
    let newest = backup::newest_manifest(dir.path()).expect("a manifest");
    assert_eq!(newest.created_at, manifests[2].1.created_at);
    assert_eq!(newest.sha256, manifests[2].1.sha256);
    assert!(backup::newest_manifest(&dir.path().join("missing")).is_none());
    db.cleanup().await;
}
