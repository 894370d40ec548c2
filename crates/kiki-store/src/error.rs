//! The store's one error type, the mapping from driver errors to it, and its
//! public face ([`DomainError`]).
//!
//! `Display` keeps the whole cause (the constraint, the driver's text) for the
//! logs; a client reads only [`DomainError::public_message`]. A unique
//! violation a context can name (an email already registered) is mapped to
//! that context's own conflict at the query site
//! ([`StoreError::is_unique_violation_on`]); one that reaches the edge unmapped
//! is a 409 with a generic sentence, never the constraint.

use kiki_core::{DomainError, ErrorCode, FieldError, INTERNAL_MESSAGE};

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique index or primary key rejected the write.
    #[error("A record with the same unique value already exists{}.", fmt_constraint(.constraint))]
    UniqueViolation { constraint: Option<String> },
    /// A foreign key rejected the write (the referenced row is missing, or is still referenced).
    #[error("The record refers to a row that does not exist, or is still referred to.")]
    ForeignKeyViolation,
    /// A query that must return a row returned none.
    #[error("The requested record was not found.")]
    NotFound,
    /// No pooled connection became free within the acquire timeout.
    #[error("The database is busy: no connection became free in time.")]
    PoolTimeout,
    /// Any other database error.
    #[error("The database reported an error: {0}")]
    Database(#[source] sqlx::Error),
    /// Applying migrations failed.
    #[error("Applying database migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A Redis command failed.
    #[error("Redis reported an error: {0}")]
    Redis(#[from] redis::RedisError),
    /// A value could not be turned into or read from JSON.
    #[error("A value could not be encoded or decoded as JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The configuration cannot work (names the setting to fix).
    #[error("{0}")]
    Config(String),
    /// A cron expression in `jobs.schedules` could not be parsed.
    #[error(
        "The schedule for job kind `{kind}` has an invalid cron expression `{expr}`: {reason}."
    )]
    InvalidCron {
        kind: String,
        expr: String,
        reason: String,
    },
    /// A stored row holds a value the code cannot interpret.
    #[error("A stored value is invalid: {0}")]
    Corrupt(String),
    /// A caller passed an argument the store cannot use (names the argument).
    #[error("{0}")]
    InvalidArgument(String),
    /// A request field the store reads (a page cursor) is invalid: a 422
    /// naming the field.
    #[error("The field `{}` is invalid: {}", .0.field, .0.message)]
    InvalidField(FieldError),
    /// Filesystem work (creating the SQLite directory) failed.
    #[error("A file operation failed: {0}")]
    Io(#[from] std::io::Error),
}

fn fmt_constraint(c: &Option<String>) -> String {
    match c {
        Some(c) => format!(" (constraint `{c}`)"),
        None => String::new(),
    }
}

impl StoreError {
    /// Whether the database refused for now because another connection held
    /// the lock past the busy timeout (SQLite's `SQLITE_BUSY` and
    /// `SQLITE_LOCKED`, "database is locked"): the same statement can
    /// succeed a moment later. PostgreSQL waits on row locks instead and
    /// never answers this way.
    pub fn is_busy(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(e)) => {
                // Extended result codes keep the primary code in the low byte.
                let primary = e
                    .code()
                    .and_then(|c| c.parse::<i64>().ok())
                    .map(|c| c & 0xff);
                matches!(primary, Some(5 | 6)) || e.message().contains("database is locked")
            }
            _ => false,
        }
    }

    /// Whether this is a unique violation of an index over `column`.
    /// PostgreSQL names the constraint (`users_email_key`), SQLite the
    /// columns (`users.email`); both hold the column name between
    /// separators (`_` is one, so pick a column no other indexed column
    /// starts or ends with).
    pub fn is_unique_violation_on(&self, column: &str) -> bool {
        match self {
            StoreError::UniqueViolation {
                constraint: Some(c),
            } => names_column(c, column),
            _ => false,
        }
    }
}

/// `column` occurs in `constraint` with no letter or digit on either side.
fn names_column(constraint: &str, column: &str) -> bool {
    let is_word = |c: char| c.is_ascii_alphanumeric();
    constraint.match_indices(column).any(|(at, _)| {
        let before = constraint[..at].chars().next_back();
        let after = constraint[at + column.len()..].chars().next();
        !before.is_some_and(is_word) && !after.is_some_and(is_word)
    })
}

impl DomainError for StoreError {
    fn code(&self) -> ErrorCode {
        match self {
            StoreError::UniqueViolation { .. } | StoreError::ForeignKeyViolation => {
                ErrorCode::Conflict
            }
            StoreError::NotFound => ErrorCode::NotFound,
            StoreError::PoolTimeout => ErrorCode::Unavailable,
            StoreError::InvalidArgument(_) => ErrorCode::BadRequest,
            StoreError::InvalidField(_) => ErrorCode::ValidationFailed,
            StoreError::Database(_)
            | StoreError::Migrate(_)
            | StoreError::Redis(_)
            | StoreError::Json(_)
            | StoreError::Config(_)
            | StoreError::InvalidCron { .. }
            | StoreError::Corrupt(_)
            | StoreError::Io(_) => ErrorCode::Internal,
        }
    }

    fn public_message(&self) -> String {
        match self {
            StoreError::UniqueViolation { .. } => {
                "This conflicts with a record that already exists.".to_owned()
            }
            StoreError::ForeignKeyViolation
            | StoreError::NotFound
            | StoreError::InvalidArgument(_)
            | StoreError::InvalidField(_) => self.to_string(),
            StoreError::PoolTimeout
            | StoreError::Database(_)
            | StoreError::Migrate(_)
            | StoreError::Redis(_)
            | StoreError::Json(_)
            | StoreError::Config(_)
            | StoreError::InvalidCron { .. }
            | StoreError::Corrupt(_)
            | StoreError::Io(_) => INTERNAL_MESSAGE.to_owned(),
        }
    }

    fn details(&self) -> serde_json::Value {
        match self {
            StoreError::InvalidField(f) => kiki_core::field_details(std::slice::from_ref(f)),
            _ => kiki_core::no_details(),
        }
    }

    /// A busy pool (503) is the server's too: logged, never described.
    fn is_internal(&self) -> bool {
        matches!(self.code(), ErrorCode::Internal | ErrorCode::Unavailable)
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::PoolTimedOut => StoreError::PoolTimeout,
            sqlx::Error::Database(ref db) => match db.kind() {
                sqlx::error::ErrorKind::UniqueViolation => StoreError::UniqueViolation {
                    constraint: db
                        .constraint()
                        .map(str::to_owned)
                        .or_else(|| sqlite_constraint_from_message(db.message())),
                },
                sqlx::error::ErrorKind::ForeignKeyViolation => StoreError::ForeignKeyViolation,
                _ => StoreError::Database(e),
            },
            other => StoreError::Database(other),
        }
    }
}

/// SQLite names no constraint, only the columns: "UNIQUE constraint failed: jobs.id, jobs.kind".
fn sqlite_constraint_from_message(msg: &str) -> Option<String> {
    msg.split_once("constraint failed: ")
        .map(|(_, cols)| cols.trim().to_owned())
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiki_core::error::public_face_problems;

    /// One value of every variant with the status the edge answers. Each arm
    /// names its status and builds the next variant; the match has no
    /// wildcard, so a new variant does not compile until it is listed here.
    fn every_variant() -> Vec<(StoreError, u16)> {
        let mut all = Vec::new();
        let mut next = Some(StoreError::UniqueViolation {
            constraint: Some("users_email_key".into()),
        });
        while let Some(e) = next.take() {
            let (status, following) = match &e {
                StoreError::UniqueViolation { .. } => (409, Some(StoreError::ForeignKeyViolation)),
                StoreError::ForeignKeyViolation => (409, Some(StoreError::NotFound)),
                StoreError::NotFound => (404, Some(StoreError::PoolTimeout)),
                StoreError::PoolTimeout => (
                    503,
                    Some(StoreError::Database(sqlx::Error::Protocol(
                        "SELECT secret FROM users WHERE email = $1".into(),
                    ))),
                ),
                StoreError::Database(_) => (
                    500,
                    Some(StoreError::Migrate(
                        sqlx::migrate::MigrateError::VersionMissing(7),
                    )),
                ),
                StoreError::Migrate(_) => (
                    500,
                    Some(StoreError::Redis(redis::RedisError::from(
                        std::io::Error::other("redis://10.0.0.5:6379 refused"),
                    ))),
                ),
                StoreError::Redis(_) => (
                    500,
                    Some(StoreError::Json(
                        serde_json::from_str::<u8>("not json").unwrap_err(),
                    )),
                ),
                StoreError::Json(_) => {
                    (500, Some(StoreError::Config("Set `database.url`.".into())))
                }
                StoreError::Config(_) => (
                    500,
                    Some(StoreError::InvalidCron {
                        kind: "ltv.fit".into(),
                        expr: "* *".into(),
                        reason: "too few fields".into(),
                    }),
                ),
                StoreError::InvalidCron { .. } => (
                    500,
                    Some(StoreError::Corrupt("jobs.payload is not JSON".into())),
                ),
                StoreError::Corrupt(_) => (
                    500,
                    Some(StoreError::InvalidArgument(
                        "The page limit must be between 1 and 500.".into(),
                    )),
                ),
                StoreError::InvalidArgument(_) => (
                    400,
                    Some(StoreError::InvalidField(FieldError::new(
                        "cursor",
                        "The cursor is not one this API issued.",
                    ))),
                ),
                StoreError::InvalidField(_) => (
                    422,
                    Some(StoreError::Io(std::io::Error::other(
                        "/var/lib/kiki/kiki.db: permission denied",
                    ))),
                ),
                StoreError::Io(_) => (500, None),
            };
            all.push((e, status));
            next = following;
        }
        all
    }

    #[test]
    fn every_variant_has_its_status_a_sentence_and_no_storage_text() {
        let all = every_variant();
        assert_eq!(all.len(), 14);
        for (e, status) in &all {
            let problems = public_face_problems(e, *status);
            assert!(problems.is_empty(), "{e:?}: {problems:?}");
        }
    }

    #[test]
    fn a_unique_violation_names_its_column_only_to_the_query_site() {
        let sqlite = StoreError::UniqueViolation {
            constraint: Some("users.email".into()),
        };
        let postgres = StoreError::UniqueViolation {
            constraint: Some("users_email_key".into()),
        };
        let pair = StoreError::UniqueViolation {
            constraint: Some("memberships.org_id, memberships.user_id".into()),
        };
        assert!(sqlite.is_unique_violation_on("email"));
        assert!(postgres.is_unique_violation_on("email"));
        assert!(!postgres.is_unique_violation_on("mail"));
        assert!(!sqlite.is_unique_violation_on("username"));
        assert!(pair.is_unique_violation_on("user_id"));
        assert!(!pair.is_unique_violation_on("role"));
        assert!(!StoreError::UniqueViolation { constraint: None }.is_unique_violation_on("email"));
        assert!(!StoreError::NotFound.is_unique_violation_on("email"));
        for e in [sqlite, postgres, pair] {
            let m = e.public_message();
            assert!(!m.contains("users") && !m.contains("memberships"), "{m}");
        }
    }

    #[test]
    fn sqlite_unique_messages_yield_the_column_list_as_constraint() {
        assert_eq!(
            sqlite_constraint_from_message("UNIQUE constraint failed: kv_meta.key").as_deref(),
            Some("kv_meta.key")
        );
        assert_eq!(sqlite_constraint_from_message("something else"), None);
    }

    #[test]
    fn errors_map_to_the_shared_code_table() {
        assert_eq!(StoreError::NotFound.code(), ErrorCode::NotFound);
        assert_eq!(StoreError::PoolTimeout.code(), ErrorCode::Unavailable);
        assert_eq!(
            StoreError::UniqueViolation { constraint: None }.code(),
            ErrorCode::Conflict
        );
        assert_eq!(
            StoreError::from(sqlx::Error::RowNotFound).code(),
            ErrorCode::NotFound
        );
        assert!(matches!(
            StoreError::from(sqlx::Error::PoolTimedOut),
            StoreError::PoolTimeout
        ));
    }

    #[test]
    fn messages_are_sentences() {
        let msg = StoreError::UniqueViolation {
            constraint: Some("users_email_key".into()),
        }
        .to_string();
        assert_eq!(
            msg,
            "A record with the same unique value already exists (constraint `users_email_key`)."
        );
    }
}
