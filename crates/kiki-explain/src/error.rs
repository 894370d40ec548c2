//! The error type of decision records, and its place in the shared error-code table.

use kiki_core::ErrorCode;
use kiki_store::StoreError;

/// Everything that can go wrong recording or reading decisions.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    /// The database failed (or rejected a write).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A field of the decision (or of the query) is unusable.
    #[error("{message}")]
    Invalid {
        /// The field, e.g. `confidence`.
        field: &'static str,
        /// A sentence saying what is wrong.
        message: String,
    },
}

impl ExplainError {
    pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        ExplainError::Invalid {
            field,
            message: message.into(),
        }
    }

    /// The entry of the shared error-code table this error maps to at the HTTP edge.
    pub fn code(&self) -> ErrorCode {
        match self {
            ExplainError::Store(e) => e.code(),
            ExplainError::Invalid { .. } => ErrorCode::ValidationFailed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_the_shared_code_table() {
        assert_eq!(
            ExplainError::Store(StoreError::NotFound).code(),
            ErrorCode::NotFound
        );
        assert_eq!(
            ExplainError::invalid("engine", "x").code(),
            ErrorCode::ValidationFailed
        );
    }
}
