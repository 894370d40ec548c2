//! Key rotation against a real database, on a table made for the test.

use kiki_shield::rotate::{UNRECOGNISED, rotate_limited};
use kiki_shield::{EncryptedColumn, Keyring, ShieldError, aad, key_usage, rotate};
use kiki_store::Backend;
use kiki_store::sea_query::{Alias, Expr, ExprTrait, Query};
use kiki_store::testing::{TestDb, fresh_db};
use uuid::Uuid;

const COLUMN: EncryptedColumn = EncryptedColumn {
    table: "rotation_secrets",
    id_column: "id",
    column: "secret",
};

async fn create_table(db: &TestDb) {
    let sql = match db.backend() {
        Backend::Sqlite => {
            "CREATE TABLE rotation_secrets (id BLOB NOT NULL PRIMARY KEY, secret TEXT) STRICT"
        }
        Backend::Postgres => {
            "CREATE TABLE rotation_secrets (id UUID NOT NULL PRIMARY KEY, secret TEXT)"
        }
    };
    db.execute_raw(sql).await.unwrap();
}

fn old_ring() -> Keyring {
    Keyring::new("k0", vec![("k0".into(), [1u8; 32])], [9u8; 32]).unwrap()
}

fn new_ring() -> Keyring {
    Keyring::new(
        "k1",
        vec![("k0".into(), [1u8; 32]), ("k1".into(), [2u8; 32])],
        [9u8; 32],
    )
    .unwrap()
}

/// Inserts `n` rows encrypted under `ring` plus two rows with no value;
/// returns (id, plaintext) of the encrypted ones.
async fn seed(db: &TestDb, ring: &Keyring, n: usize) -> Vec<(Uuid, String)> {
    let mut rows = Vec::new();
    for i in 0..n {
        let id = Uuid::now_v7();
        let plain = format!("secret number {i}");
        let stored = ring.encrypt_str(&plain, &aad(COLUMN.table, COLUMN.column, id));
        insert(db, id, Some(stored)).await;
        rows.push((id, plain));
    }
    for _ in 0..2 {
        insert(db, Uuid::now_v7(), None).await;
    }
    rows
}

async fn insert(db: &TestDb, id: Uuid, value: Option<String>) {
    let stmt = Query::insert()
        .into_table(Alias::new("rotation_secrets"))
        .columns([Alias::new("id"), Alias::new("secret")])
        .values_panic([id.into(), value.into()])
        .to_owned();
    db.execute(&stmt).await.unwrap();
}

#[derive(Debug, kiki_store::sqlx::FromRow)]
struct Row {
    secret: Option<String>,
}

async fn stored(db: &TestDb, id: Uuid) -> String {
    let stmt = Query::select()
        .column(Alias::new("secret"))
        .from(Alias::new("rotation_secrets"))
        .and_where(Expr::col(Alias::new("id")).eq(id))
        .to_owned();
    let row: Row = db.fetch_one(&stmt).await.unwrap();
    row.secret.expect("a value")
}

fn usage(pairs: &[(&str, u64)]) -> std::collections::BTreeMap<String, u64> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

#[tokio::test]
async fn rotation_moves_every_value_to_the_current_key_and_keeps_the_plaintext() {
    let db = fresh_db().await;
    create_table(&db).await;
    let rows = seed(&db, &old_ring(), 25).await;
    assert_eq!(
        key_usage(&db, &[COLUMN]).await.unwrap(),
        usage(&[("k0", 25)])
    );

    let ring = new_ring();
    let mut calls = Vec::new();
    let report = rotate(&db, &ring, &[COLUMN], 10, &mut |c| calls.push(c.clone()))
        .await
        .unwrap();
    assert_eq!(report.columns.len(), 1);
    let c = &report.columns[0];
    assert_eq!(
        (c.table.as_str(), c.column.as_str()),
        ("rotation_secrets", "secret")
    );
    assert_eq!((c.scanned, c.rotated, c.already_current), (25, 25, 0));
    // One progress call per committed batch, with running totals.
    assert_eq!(
        calls.iter().map(|c| c.scanned).collect::<Vec<_>>(),
        [10, 20, 25]
    );

    assert_eq!(
        key_usage(&db, &[COLUMN]).await.unwrap(),
        usage(&[("k1", 25)])
    );
    for (id, plain) in &rows {
        let s = stored(&db, *id).await;
        assert_eq!(Keyring::kid_of(&s), Some("k1"));
        assert_eq!(
            ring.decrypt_str(&s, &aad(COLUMN.table, COLUMN.column, *id))
                .unwrap(),
            *plain
        );
    }
}

#[tokio::test]
async fn an_interrupted_rotation_resumes_where_it_stopped() {
    let db = fresh_db().await;
    create_table(&db).await;
    let rows = seed(&db, &old_ring(), 25).await;
    let ring = new_ring();

    let first = rotate_limited(&db, &ring, &[COLUMN], 10, Some(1), &mut |_| {})
        .await
        .unwrap();
    assert_eq!(first.columns[0].rotated, 10);
    assert_eq!(
        key_usage(&db, &[COLUMN]).await.unwrap(),
        usage(&[("k0", 15), ("k1", 10)])
    );
    // The first ten rows by id are the ones done.
    let mut by_id = rows.clone();
    by_id.sort_by_key(|(id, _)| *id);
    for (id, _) in &by_id[..10] {
        assert!(ring.is_current(&stored(&db, *id).await));
    }

    let rest = rotate(&db, &ring, &[COLUMN], 10, &mut |_| {})
        .await
        .unwrap();
    let c = &rest.columns[0];
    assert_eq!((c.scanned, c.rotated, c.already_current), (25, 15, 10));

    let again = rotate(&db, &ring, &[COLUMN], 10, &mut |_| {})
        .await
        .unwrap();
    let c = &again.columns[0];
    assert_eq!((c.scanned, c.rotated, c.already_current), (25, 0, 25));

    for (id, plain) in &rows {
        let s = stored(&db, *id).await;
        assert_eq!(
            ring.decrypt_str(&s, &aad(COLUMN.table, COLUMN.column, *id))
                .unwrap(),
            *plain
        );
    }
}

#[tokio::test]
async fn a_value_moved_to_another_row_stops_rotation_and_names_the_row() {
    let db = fresh_db().await;
    create_table(&db).await;
    let rows = seed(&db, &old_ring(), 3).await;
    // Copy row 0's ciphertext into a new row: it is bound to row 0.
    let moved = Uuid::now_v7();
    insert(&db, moved, Some(stored(&db, rows[0].0).await)).await;
    let err = rotate(&db, &new_ring(), &[COLUMN], 100, &mut |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, ShieldError::Crypto(_)), "{err:?}");
    assert!(err.to_string().contains(&moved.to_string()), "{err}");
    assert!(err.to_string().contains("rotation_secrets.secret"), "{err}");
    // The failing batch rolled back: nothing moved to k1.
    assert_eq!(
        key_usage(&db, &[COLUMN]).await.unwrap(),
        usage(&[("k0", 4)])
    );
}

#[tokio::test]
async fn key_usage_counts_values_that_are_not_encrypted() {
    let db = fresh_db().await;
    create_table(&db).await;
    seed(&db, &old_ring(), 2).await;
    insert(&db, Uuid::now_v7(), Some("plain text".into())).await;
    assert_eq!(
        key_usage(&db, &[COLUMN]).await.unwrap(),
        usage(&[("k0", 2), (UNRECOGNISED, 1)])
    );
}

#[tokio::test]
async fn bad_arguments_are_rejected_before_touching_the_database() {
    let db = fresh_db().await;
    let err = rotate(&db, &new_ring(), &[COLUMN], 0, &mut |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, ShieldError::Invalid(_)), "{err:?}");
    let bad = EncryptedColumn {
        table: "users; DROP TABLE users",
        id_column: "id",
        column: "x",
    };
    let err = key_usage(&db, &[bad]).await.unwrap_err();
    assert!(matches!(err, ShieldError::Invalid(_)), "{err:?}");
}
