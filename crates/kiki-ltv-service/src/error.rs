//! What can go wrong in the SyncValue service, and its public face
//! ([`DomainError`]); the HTTP edge converts it into the envelope.

use kiki_core::{DomainError, ErrorCode, FieldError, INTERNAL_MESSAGE};
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
    ModelFailed {
        /// The request field that chose the model (`model`, or
        /// `gamma_gamma` for the spend model).
        field: &'static str,
        message: String,
    },
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

impl DomainError for LtvServiceError {
    fn code(&self) -> ErrorCode {
        match self {
            LtvServiceError::BadRows { .. }
            | LtvServiceError::Invalid { .. }
            | LtvServiceError::ModelFailed { .. } => ErrorCode::ValidationFailed,
            LtvServiceError::Engine(e) => e.error_code(),
            LtvServiceError::NoModel => ErrorCode::Conflict,
            LtvServiceError::NotFound(_) => ErrorCode::NotFound,
            LtvServiceError::Store(e) => e.code(),
            LtvServiceError::Shield(e) => e.code(),
            LtvServiceError::Explain(e) => e.code(),
            LtvServiceError::Internal(_) | LtvServiceError::Corrupt(_) => ErrorCode::Internal,
        }
    }

    fn public_message(&self) -> String {
        match self {
            LtvServiceError::BadRows { message, .. }
            | LtvServiceError::ModelFailed { message, .. } => message.clone(),
            LtvServiceError::Engine(e) if e.error_code() == ErrorCode::Internal => {
                INTERNAL_MESSAGE.to_owned()
            }
            LtvServiceError::Invalid { .. }
            | LtvServiceError::Engine(_)
            | LtvServiceError::NoModel
            | LtvServiceError::NotFound(_) => self.to_string(),
            LtvServiceError::Store(e) => e.public_message(),
            LtvServiceError::Shield(e) => e.public_message(),
            LtvServiceError::Explain(e) => e.public_message(),
            LtvServiceError::Internal(_) | LtvServiceError::Corrupt(_) => {
                INTERNAL_MESSAGE.to_owned()
            }
        }
    }

    /// A 422 lists its fields; an upload's also lists the bad rows (`rows`:
    /// line, field, message) and how many there are in all (`total`).
    fn details(&self) -> serde_json::Value {
        match self {
            LtvServiceError::BadRows { rows, total, .. } => {
                let fields: Vec<FieldError> = rows
                    .iter()
                    .map(|r| FieldError::new(&r.field, format!("Row {}: {}", r.line, r.message)))
                    .collect();
                serde_json::json!({ "fields": fields, "rows": rows, "total": total })
            }
            LtvServiceError::Invalid { field, message } => {
                kiki_core::field_details(&[FieldError::new(field, message)])
            }
            LtvServiceError::ModelFailed { field, message } => {
                kiki_core::field_details(&[FieldError::new(*field, message)])
            }
            LtvServiceError::Store(e) => e.details(),
            LtvServiceError::Shield(e) => e.details(),
            LtvServiceError::Explain(e) => e.details(),
            LtvServiceError::Engine(_)
            | LtvServiceError::NoModel
            | LtvServiceError::NotFound(_)
            | LtvServiceError::Internal(_)
            | LtvServiceError::Corrupt(_) => kiki_core::no_details(),
        }
    }

    fn is_internal(&self) -> bool {
        match self {
            LtvServiceError::Store(e) => e.is_internal(),
            LtvServiceError::Shield(e) => e.is_internal(),
            LtvServiceError::Explain(e) => e.is_internal(),
            other => other.code() == ErrorCode::Internal,
        }
    }
}

impl From<kiki_explain::RecordError> for LtvServiceError {
    fn from(e: kiki_explain::RecordError) -> Self {
        match e {
            kiki_explain::RecordError::Store(e) => LtvServiceError::Store(e),
            kiki_explain::RecordError::Audit(e) => LtvServiceError::Shield(e),
            kiki_explain::RecordError::Decision(e) => LtvServiceError::Explain(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiki_core::error::public_face_problems;
    use kiki_store::StoreError;

    /// One value of every variant with the status the edge answers. Each arm
    /// names its status and builds the next variant; the match has no
    /// wildcard, so a new variant does not compile until it is listed here.
    fn every_variant() -> Vec<(LtvServiceError, u16)> {
        let mut all = Vec::new();
        let mut next = Some(LtvServiceError::BadRows {
            message: "2 rows cannot be stored; nothing was stored.".into(),
            rows: vec![RowError {
                line: 3,
                field: "amount".into(),
                message: "Not a number.".into(),
            }],
            total: 2,
        });
        while let Some(e) = next.take() {
            let (status, following) = match &e {
                LtvServiceError::BadRows { .. } => (
                    422,
                    Some(LtvServiceError::invalid("penalizer", "Must be at least 0.")),
                ),
                LtvServiceError::Invalid { .. } => {
                    (422, Some(LtvServiceError::Engine(LtvError::EmptyData)))
                }
                LtvServiceError::Engine(_) => (
                    422,
                    Some(LtvServiceError::ModelFailed {
                        field: "model",
                        message: "The BG/NBD fit did not converge; try a penalizer of 0.01.".into(),
                    }),
                ),
                LtvServiceError::ModelFailed { .. } => (422, Some(LtvServiceError::NoModel)),
                LtvServiceError::NoModel => (409, Some(LtvServiceError::NotFound("The customer"))),
                LtvServiceError::NotFound(_) => (
                    404,
                    Some(LtvServiceError::Store(StoreError::UniqueViolation {
                        constraint: Some("ltv_models_org_id_version_idx".into()),
                    })),
                ),
                LtvServiceError::Store(_) => (
                    409,
                    Some(LtvServiceError::Shield(kiki_shield::ShieldError::Csv(
                        "broken pipe".into(),
                    ))),
                ),
                LtvServiceError::Shield(_) => (
                    500,
                    Some(LtvServiceError::Explain(kiki_explain::ExplainError::Store(
                        StoreError::PoolTimeout,
                    ))),
                ),
                LtvServiceError::Explain(_) => (
                    503,
                    Some(LtvServiceError::Internal(
                        "the fit task panicked at src/service.rs:42".into(),
                    )),
                ),
                LtvServiceError::Internal(_) => (
                    500,
                    Some(LtvServiceError::Corrupt(
                        "ltv_models.params is not JSON".into(),
                    )),
                ),
                LtvServiceError::Corrupt(_) => (500, None),
            };
            all.push((e, status));
            next = following;
        }
        all
    }

    #[test]
    fn every_variant_has_its_status_a_sentence_and_no_internal_text() {
        let all = every_variant();
        assert_eq!(all.len(), 11);
        for (e, status) in &all {
            let problems = public_face_problems(e, *status);
            assert!(problems.is_empty(), "{e:?}: {problems:?}");
        }
    }

    #[test]
    fn rejected_rows_and_models_are_listed_in_details() {
        let (bad_rows, _) = every_variant().remove(0);
        assert_eq!(
            bad_rows.details(),
            serde_json::json!({
                "fields": [{"field": "amount", "message": "Row 3: Not a number."}],
                "rows": [{"line": 3, "field": "amount", "message": "Not a number."}],
                "total": 2
            })
        );
        let model = LtvServiceError::ModelFailed {
            field: "model",
            message: "Try another model.".into(),
        };
        assert_eq!(
            model.details(),
            serde_json::json!({"fields": [{"field": "model", "message": "Try another model."}]})
        );
    }
}
