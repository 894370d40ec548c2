//! What the twin service can fail with. The edge maps each variant to HTTP in
//! `api.rs`; job handlers turn them into retryable or permanent job errors.

use kiki_core::FieldError;
use kiki_explain::ExplainError;
use kiki_shield::ShieldError;
use kiki_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum TwinServiceError {
    /// Input failed validation; each entry names a JSON path.
    #[error("The input is invalid ({} fields).", .0.len())]
    Invalid(Vec<FieldError>),
    /// The input is well-formed but the engine cannot work with it.
    #[error("{0}")]
    Unprocessable(String),
    /// No such resource in the caller's organisations.
    #[error("The {0} was not found.")]
    NotFound(&'static str),
    /// The resource is not in a state that allows this.
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Shield(#[from] ShieldError),
    #[error(transparent)]
    Explain(#[from] ExplainError),
    /// A bug or a corrupt row; logged, never shown.
    #[error("{0}")]
    Internal(String),
}

impl TwinServiceError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        TwinServiceError::Invalid(vec![FieldError::new(field, message)])
    }

    pub(crate) fn from_twin(prefix: &str, e: kiki_twin::TwinError) -> Self {
        match e {
            kiki_twin::TwinError::Invalid(fields) => {
                TwinServiceError::Invalid(prefixed(prefix, fields))
            }
            other => TwinServiceError::Unprocessable(other.to_string()),
        }
    }

    pub(crate) fn from_alloc(prefix: &str, e: kiki_allocator::AllocError) -> Self {
        match e {
            kiki_allocator::AllocError::Invalid(fields) => {
                TwinServiceError::Invalid(prefixed(prefix, fields))
            }
            other => TwinServiceError::Unprocessable(other.to_string()),
        }
    }
}

/// Field paths under `prefix` (`plan.` + `duration_days`); unchanged when empty.
pub(crate) fn prefixed(prefix: &str, fields: Vec<FieldError>) -> Vec<FieldError> {
    if prefix.is_empty() {
        fields
    } else {
        kiki_twin::prefix_fields(prefix, fields)
    }
}

pub type Result<T, E = TwinServiceError> = std::result::Result<T, E>;
