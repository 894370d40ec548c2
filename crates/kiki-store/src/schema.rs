//! Column-type rules every KIKI table follows on both backends, and the
//! identifiers of the foundation tables.
//!
//! One Rust type, one column type per backend, chosen so that sqlx encodes and
//! decodes the same Rust value on SQLite and PostgreSQL and so that
//! sea-query values bound through [`crate::Db`] round-trip unchanged:
//!
//! | Rust type                        | PostgreSQL          | SQLite    | notes |
//! |----------------------------------|---------------------|-----------|-------|
//! | `uuid::Uuid` (ids, typed ids' `.0`) | `UUID`           | `BLOB`    | 16 raw bytes on SQLite (what sqlx encodes and decodes) |
//! | `time::OffsetDateTime` (UTC)     | `TIMESTAMPTZ`       | `TEXT`    | fixed-width `YYYY-MM-DDTHH:MM:SS.ffffffZ`, see below |
//! | `i64` (counts, money micros)     | `BIGINT`            | `INTEGER` | decode as `i64` everywhere; never `INTEGER`/`i32` on PG |
//! | `f64` (scores, rates)            | `DOUBLE PRECISION`  | `REAL`    | statistics only; money is integer micros |
//! | `bool`                           | `BOOLEAN`           | `INTEGER` | 0/1 on SQLite |
//! | `String`, enums as text          | `TEXT`              | `TEXT`    | enums stored by their snake_case name |
//! | JSON (`sqlx::types::Json<T>`)    | `JSONB`             | `TEXT`    | bind `serde_json::Value`; decode `Json<T>` |
//! | `Option<T>`                      | nullable column     | nullable column | `NOT NULL` otherwise, identically in both folders |
//!
//! **Timestamps.** Values are truncated to whole microseconds (PostgreSQL's
//! precision) and, on SQLite, written as fixed-width UTC text by the query
//! helpers, so that `ORDER BY` and `<`/`>` on the text agree with time order.
//! Consequences: always bind timestamps from Rust (never `CURRENT_TIMESTAMP` or
//! SQL defaults, whose SQLite format differs), and go through the
//! [`crate::Db`]/[`crate::Tx`] helpers, which apply the rule; code using a raw
//! pool must call [`sqlite_timestamp`] itself.
//!
//! **Names.** Tables are plural snake_case (`jobs`), columns snake_case,
//! foreign keys `<thing>_id`, tenant-owned tables carry `org_id`. Index names
//! are `<table>_<columns>_idx` and must be identical in both folders.

use sea_query::{Iden, Value, Values};
use time::{
    OffsetDateTime, UtcOffset, format_description::BorrowedFormatItem, macros::format_description,
};

use crate::db::Backend;

const SQLITE_TS: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

/// A timestamp in the storage precision: UTC, whole microseconds.
pub fn truncate_to_micros(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(UtcOffset::UTC);
    let micros = t.nanosecond() / 1000 * 1000;
    t.replace_nanosecond(micros).unwrap_or(t)
}

/// The SQLite text form of a timestamp (fixed width, UTC, microseconds).
pub fn sqlite_timestamp(t: OffsetDateTime) -> String {
    let t = truncate_to_micros(t);
    // The fixed format only fails for years outside 0..=9999, which time's
    // default range excludes; RFC 3339 is the documented fallback.
    t.format(SQLITE_TS).unwrap_or_else(|_| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    })
}

/// Applies the storage rules to the values of a rendered statement.
pub(crate) fn adapt_values(backend: Backend, values: Values) -> Values {
    Values(
        values
            .0
            .into_iter()
            .map(|v| match v {
                Value::TimeDateTimeWithTimeZone(Some(t)) => match backend {
                    Backend::Sqlite => Value::String(Some(sqlite_timestamp(t))),
                    Backend::Postgres => {
                        Value::TimeDateTimeWithTimeZone(Some(truncate_to_micros(t)))
                    }
                },
                Value::TimeDateTimeWithTimeZone(None) if backend == Backend::Sqlite => {
                    Value::String(None)
                }
                other => other,
            })
            .collect(),
    )
}

/// `jobs`: the one queue of background work.
#[derive(Debug, Clone, Copy, Iden)]
pub enum Jobs {
    Table,
    Id,
    OrgId,
    Kind,
    Payload,
    Status,
    Attempts,
    MaxAttempts,
    TimeoutSecs,
    Progress,
    ProgressMessage,
    Result,
    LastError,
    RunAt,
    LockedBy,
    LockedUntil,
    CreatedAt,
    UpdatedAt,
    FinishedAt,
}

/// `scheduler_leases`: one row per (job kind, period); the primary key elects the instance that enqueues.
#[derive(Debug, Clone, Copy, Iden)]
pub enum SchedulerLeases {
    Table,
    Kind,
    PeriodStart,
    InstanceId,
    JobId,
    CreatedAt,
}

/// `kv_meta`: small instance-wide facts (instance id, first start, ...).
#[derive(Debug, Clone, Copy, Iden)]
pub enum KvMeta {
    Table,
    Key,
    Value,
    UpdatedAt,
}

/// `idempotency_keys`: the `Idempotency-Key` claims and stored answers.
#[derive(Debug, Clone, Copy, Iden)]
pub enum IdempotencyKeys {
    Table,
    Owner,
    IdemKey,
    RequestHash,
    Status,
    ContentType,
    Location,
    Body,
    CreatedAt,
    CompletedAt,
}

/// `event_bodies`: bodies of domain events too large for a PostgreSQL NOTIFY payload.
#[derive(Debug, Clone, Copy, Iden)]
pub enum EventBodies {
    Table,
    Id,
    Body,
    CreatedAt,
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn sqlite_timestamps_are_fixed_width_so_text_order_is_time_order() {
        let times = [
            datetime!(2026-01-01 00:00:00 UTC),
            datetime!(2026-01-01 00:00:00.1 UTC),
            datetime!(2026-01-01 00:00:00.12 UTC),
            datetime!(2026-01-01 00:00:00.5 UTC),
            datetime!(2026-01-01 00:00:01 UTC),
            datetime!(2026-01-01 02:00:00 +03:00),
        ];
        let mut by_time = times.to_vec();
        by_time.sort();
        let mut by_text = times.to_vec();
        by_text.sort_by_key(|t| sqlite_timestamp(*t));
        assert_eq!(by_time, by_text);
        assert_eq!(sqlite_timestamp(times[1]), "2026-01-01T00:00:00.100000Z");
        assert!(times.iter().all(|t| sqlite_timestamp(*t).len() == 27));
    }

    #[test]
    fn timestamps_are_truncated_to_microseconds_in_utc() {
        let t = datetime!(2026-03-04 05:06:07.123456789 +02:00);
        assert_eq!(
            truncate_to_micros(t),
            datetime!(2026-03-04 03:06:07.123456 UTC)
        );
    }

    #[test]
    fn only_timestamp_values_are_rewritten_for_sqlite() {
        let t = datetime!(2026-01-01 00:00:00 UTC);
        let vals = Values(vec![
            Value::TimeDateTimeWithTimeZone(Some(t)),
            Value::BigInt(Some(3)),
            Value::TimeDateTimeWithTimeZone(None),
        ]);
        let out = adapt_values(Backend::Sqlite, vals.clone());
        assert_eq!(
            out.0,
            vec![
                Value::String(Some("2026-01-01T00:00:00.000000Z".into())),
                Value::BigInt(Some(3)),
                Value::String(None)
            ]
        );
        assert_eq!(adapt_values(Backend::Postgres, vals.clone()), vals);
    }
}
