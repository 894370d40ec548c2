//! Key rotation: re-encrypts every value of the encrypted columns that is not
//! under the key ring's current key, a batch of rows per transaction, in id
//! order. A value is rewritten only if it still holds what was read
//! (compare-and-set), so a concurrent write by the application is never lost,
//! and a rerun after an interruption skips what is already current.
//!
//! Table and column names come from code (each context lists its
//! [`EncryptedColumn`]s), never from users; they are still checked to be plain
//! identifiers before they reach a statement.

use std::collections::BTreeMap;

use kiki_store::Db;
use sea_query::{Alias, Expr, ExprTrait, Order, Query};
use serde::Serialize;
use uuid::Uuid;

use crate::error::ShieldError;
use crate::keyring::{Keyring, aad};

/// Rows read per query by [`key_usage`].
const USAGE_BATCH: u64 = 1000;
/// The [`key_usage`] bucket of values that are not in the encrypted format.
pub const UNRECOGNISED: &str = "unrecognised";

/// A column holding values written by [`Keyring::encrypt`] with
/// `aad(table, column, id)`, where `id_column` is the table's UUID key.
#[derive(Debug, Clone, Copy)]
pub struct EncryptedColumn {
    pub table: &'static str,
    pub id_column: &'static str,
    pub column: &'static str,
}

/// What a rotation did, per column.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RotationReport {
    pub columns: Vec<ColumnRotation>,
}

/// What a rotation did to one column (so far, when passed to `progress`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct ColumnRotation {
    pub table: String,
    pub column: String,
    /// Non-null values looked at.
    pub scanned: u64,
    /// Values re-encrypted under the current key.
    pub rotated: u64,
    /// Values that were already under the current key.
    pub already_current: u64,
    /// Values the application changed between the read and the write; left
    /// as the application wrote them (a rerun looks at them again).
    pub changed_meanwhile: u64,
}

fn check_ident(name: &str, what: &str) -> Result<(), ShieldError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(ShieldError::Invalid(format!(
            "The encrypted column's {what} `{name}` is not a plain lowercase identifier."
        )))
    }
}

fn check_column(c: &EncryptedColumn) -> Result<(), ShieldError> {
    check_ident(c.table, "table")?;
    check_ident(c.id_column, "id column")?;
    check_ident(c.column, "column")
}

#[derive(Debug, sqlx::FromRow)]
struct ValueRow {
    id: Uuid,
    value: Option<String>,
}

/// `SELECT id, value FROM table WHERE value IS NOT NULL AND id > after ORDER BY id LIMIT n`.
fn page_query(c: &EncryptedColumn, after: Option<Uuid>, limit: u64) -> sea_query::SelectStatement {
    let mut stmt = Query::select()
        .expr_as(Expr::col(Alias::new(c.id_column)), Alias::new("id"))
        .expr_as(Expr::col(Alias::new(c.column)), Alias::new("value"))
        .from(Alias::new(c.table))
        .and_where(Expr::col(Alias::new(c.column)).is_not_null())
        .order_by(Alias::new(c.id_column), Order::Asc)
        .limit(limit)
        .to_owned();
    if let Some(after) = after {
        stmt.and_where(Expr::col(Alias::new(c.id_column)).gt(after));
    }
    stmt
}

/// Re-encrypts every value of every column not under the current key, in
/// batches of `batch` rows (one transaction per batch, rows ordered by id),
/// calling `progress` after each batch.
/// Resumable by construction: a rerun skips values already under the current key.
pub async fn rotate(
    db: &Db,
    keyring: &Keyring,
    columns: &[EncryptedColumn],
    batch: u32,
    progress: &mut (dyn FnMut(&ColumnRotation) + Send),
) -> Result<RotationReport, ShieldError> {
    rotate_limited(db, keyring, columns, batch, None, progress).await
}

/// [`rotate`] that stops after `max_batches` committed batches in total (all
/// columns together); `None` runs to the end. For `kiki keys rotate
/// --max-batches` (spreading the work over maintenance windows) and for
/// showing that an interrupted rotation resumes.
pub async fn rotate_limited(
    db: &Db,
    keyring: &Keyring,
    columns: &[EncryptedColumn],
    batch: u32,
    max_batches: Option<u64>,
    progress: &mut (dyn FnMut(&ColumnRotation) + Send),
) -> Result<RotationReport, ShieldError> {
    if batch == 0 {
        return Err(ShieldError::Invalid(
            "The rotation batch size must be at least 1.".to_owned(),
        ));
    }
    for c in columns {
        check_column(c)?;
    }
    let mut report = RotationReport::default();
    let mut batches_done = 0u64;
    for c in columns {
        let mut stats = ColumnRotation {
            table: c.table.to_owned(),
            column: c.column.to_owned(),
            ..ColumnRotation::default()
        };
        let mut after: Option<Uuid> = None;
        loop {
            if max_batches.is_some_and(|m| batches_done >= m) {
                report.columns.push(stats);
                return Ok(report);
            }
            let mut tx = db.begin().await?;
            let rows: Vec<ValueRow> = tx
                .fetch_all(&page_query(c, after, u64::from(batch)))
                .await?;
            let Some(last) = rows.last() else {
                tx.rollback().await?;
                break;
            };
            after = Some(last.id);
            let full = rows.len() == batch as usize;
            for row in rows {
                let Some(stored) = row.value else { continue };
                stats.scanned += 1;
                if keyring.is_current(&stored) {
                    stats.already_current += 1;
                    continue;
                }
                let where_ = aad(c.table, c.column, row.id);
                let plaintext =
                    zeroize::Zeroizing::new(keyring.decrypt(&stored, &where_).map_err(|e| {
                        ShieldError::Crypto(format!(
                            "{}.{} of row {}: {e}",
                            c.table, c.column, row.id
                        ))
                    })?);
                let fresh = keyring.try_encrypt(&plaintext, &where_)?;
                let update = Query::update()
                    .table(Alias::new(c.table))
                    .value(Alias::new(c.column), fresh)
                    .and_where(Expr::col(Alias::new(c.id_column)).eq(row.id))
                    .and_where(Expr::col(Alias::new(c.column)).eq(stored))
                    .to_owned();
                if tx.execute(&update).await? == 1 {
                    stats.rotated += 1;
                } else {
                    stats.changed_meanwhile += 1;
                }
            }
            tx.commit().await?;
            batches_done += 1;
            progress(&stats);
            tracing::info!(
                table = c.table,
                column = c.column,
                scanned = stats.scanned,
                rotated = stats.rotated,
                "key rotation batch committed"
            );
            if !full {
                break;
            }
        }
        report.columns.push(stats);
    }
    Ok(report)
}

/// Counts values per key id (for `kiki keys status` and tests); values that
/// are not in the encrypted format count under [`UNRECOGNISED`].
pub async fn key_usage(
    db: &Db,
    columns: &[EncryptedColumn],
) -> Result<BTreeMap<String, u64>, ShieldError> {
    let mut usage = BTreeMap::new();
    for c in columns {
        check_column(c)?;
        let mut after = None;
        loop {
            let rows: Vec<ValueRow> = db.fetch_all(&page_query(c, after, USAGE_BATCH)).await?;
            let Some(last) = rows.last() else { break };
            after = Some(last.id);
            let full = rows.len() as u64 == USAGE_BATCH;
            for v in rows.iter().filter_map(|r| r.value.as_deref()) {
                let kid = Keyring::kid_of(v).unwrap_or(UNRECOGNISED);
                *usage.entry(kid.to_owned()).or_insert(0) += 1;
            }
            if !full {
                break;
            }
        }
    }
    Ok(usage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_identifiers_are_accepted() {
        for ok in ["users", "totp_secret", "a1"] {
            assert!(check_ident(ok, "table").is_ok(), "{ok}");
        }
        for bad in ["", "Users", "users; drop", "a\"b", "1a", "a.b"] {
            assert!(check_ident(bad, "table").is_err(), "{bad}");
        }
    }
}
