//! What can go wrong in the SyncValue service. Mapped to HTTP only in
//! [`crate::api`].

use kiki_ltv::{CsvRowError, LtvError};

/// One bad upload row: 1-based row (JSON) or file line (CSV), field, reason.
pub type RowError = CsvRowError;

#[derive(Debug, thiserror::Error)]
pub enum LtvServiceError {
    /// Rows of an upload that cannot be stored; nothing was stored.
    #[error("{message}")]
    BadRows {
        message: String,
        rows: Vec<RowError>,
        total: usize,
    },
    /// A request field is invalid.
    #[error("The field `{field}` is invalid: {message}")]
    Invalid { field: String, message: String },
    /// The engine refused the data or could not fit it.
    #[error(transparent)]
    Engine(#[from] LtvError),
    /// The chosen model cannot be fitted or evaluated on this data; the
    /// message names the model and what to try instead.
    #[error("{message}")]
    ModelFailed { message: String },
    /// No model has been fitted for the organisation yet.
    #[error(
        "No lifetime value model has been fitted for this organisation yet; upload transactions and POST /v1/ltv/fits first."
    )]
    NoModel,
    #[error("{0} was not found.")]
    NotFound(&'static str),
    #[error(transparent)]
    Store(#[from] kiki_store::StoreError),
    #[error(transparent)]
    Shield(#[from] kiki_shield::ShieldError),
    #[error(transparent)]
    Explain(#[from] kiki_explain::ExplainError),
    /// A task failed in a way the caller cannot fix.
    #[error("{0}")]
    Internal(String),
    /// A stored record cannot be read back (a bug or a manual edit).
    #[error("stored ltv data is unreadable: {0}")]
    Corrupt(String),
}

impl LtvServiceError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        LtvServiceError::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}
