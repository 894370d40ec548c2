//! The error type of decision records, and its public face ([`DomainError`]).

use kiki_core::{DomainError, ErrorCode, FieldError};
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
}

impl DomainError for ExplainError {
    fn code(&self) -> ErrorCode {
        match self {
            ExplainError::Store(e) => e.code(),
            ExplainError::Invalid { .. } => ErrorCode::ValidationFailed,
        }
    }

    fn public_message(&self) -> String {
        match self {
            ExplainError::Store(e) => e.public_message(),
            ExplainError::Invalid { field, message } => {
                kiki_core::fields_message(&[FieldError::new(*field, message.clone())])
            }
        }
    }

    fn details(&self) -> serde_json::Value {
        match self {
            ExplainError::Store(e) => e.details(),
            ExplainError::Invalid { field, message } => {
                kiki_core::field_details(&[FieldError::new(*field, message.clone())])
            }
        }
    }

    fn is_internal(&self) -> bool {
        match self {
            ExplainError::Store(e) => e.is_internal(),
            ExplainError::Invalid { .. } => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiki_core::error::public_face_problems;

    /// One value of every variant with the status the edge answers; the
    /// match has no wildcard, so a new variant does not compile until it is
    /// listed here.
    fn every_variant() -> Vec<(ExplainError, u16)> {
        let mut all = Vec::new();
        let mut next = Some(ExplainError::Store(StoreError::Corrupt(
            "decisions.inputs is not JSON".into(),
        )));
        while let Some(e) = next.take() {
            let (status, following) = match &e {
                ExplainError::Store(_) => (
                    500,
                    Some(ExplainError::invalid(
                        "confidence",
                        "Must be between 0 and 1.",
                    )),
                ),
                ExplainError::Invalid { .. } => (422, None),
            };
            all.push((e, status));
            next = following;
        }
        all
    }

    #[test]
    fn every_variant_has_its_status_a_sentence_and_no_internal_text() {
        let all = every_variant();
        assert_eq!(all.len(), 2);
        for (e, status) in &all {
            let problems = public_face_problems(e, *status);
            assert!(problems.is_empty(), "{e:?}: {problems:?}");
        }
        let invalid = ExplainError::invalid("engine", "Must not be empty.");
        assert_eq!(
            invalid.details(),
            serde_json::json!({"fields": [{"field": "engine", "message": "Must not be empty."}]})
        );
    }
}
