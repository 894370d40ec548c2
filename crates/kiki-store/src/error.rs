//! The store's one error type, and the mapping from driver errors to it.

use kiki_core::ErrorCode;

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
    /// The entry of the shared error-code table this error maps to at the HTTP edge.
    pub fn code(&self) -> ErrorCode {
        match self {
            StoreError::UniqueViolation { .. } | StoreError::ForeignKeyViolation => {
                ErrorCode::Conflict
            }
            StoreError::NotFound => ErrorCode::NotFound,
            StoreError::PoolTimeout => ErrorCode::Unavailable,
            StoreError::InvalidArgument(_) => ErrorCode::BadRequest,
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
