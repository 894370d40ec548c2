//! What the twin service can fail with, and its public face
//! ([`DomainError`]) that the HTTP edge answers with; job handlers turn them
//! into retryable or permanent job errors.

use kiki_core::{DomainError, ErrorCode, FieldError, INTERNAL_MESSAGE};
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

impl DomainError for TwinServiceError {
    fn code(&self) -> ErrorCode {
        match self {
            TwinServiceError::Invalid(_) | TwinServiceError::Unprocessable(_) => {
                ErrorCode::ValidationFailed
            }
            TwinServiceError::NotFound(_) => ErrorCode::NotFound,
            TwinServiceError::Conflict(_) => ErrorCode::Conflict,
            TwinServiceError::Store(e) => e.code(),
            TwinServiceError::Shield(e) => e.code(),
            TwinServiceError::Explain(e) => e.code(),
            TwinServiceError::Internal(_) => ErrorCode::Internal,
        }
    }

    fn public_message(&self) -> String {
        match self {
            TwinServiceError::Invalid(fields) => kiki_core::fields_message(fields),
            TwinServiceError::Unprocessable(_)
            | TwinServiceError::NotFound(_)
            | TwinServiceError::Conflict(_) => self.to_string(),
            TwinServiceError::Store(e) => e.public_message(),
            TwinServiceError::Shield(e) => e.public_message(),
            TwinServiceError::Explain(e) => e.public_message(),
            TwinServiceError::Internal(_) => INTERNAL_MESSAGE.to_owned(),
        }
    }

    fn details(&self) -> serde_json::Value {
        match self {
            TwinServiceError::Invalid(fields) => kiki_core::field_details(fields),
            TwinServiceError::Store(e) => e.details(),
            TwinServiceError::Shield(e) => e.details(),
            TwinServiceError::Explain(e) => e.details(),
            TwinServiceError::Unprocessable(_)
            | TwinServiceError::NotFound(_)
            | TwinServiceError::Conflict(_)
            | TwinServiceError::Internal(_) => kiki_core::no_details(),
        }
    }

    fn is_internal(&self) -> bool {
        match self {
            TwinServiceError::Store(e) => e.is_internal(),
            TwinServiceError::Shield(e) => e.is_internal(),
            TwinServiceError::Explain(e) => e.is_internal(),
            TwinServiceError::Internal(_) => true,
            _ => false,
        }
    }
}

pub type Result<T, E = TwinServiceError> = std::result::Result<T, E>;

impl From<kiki_explain::RecordError> for TwinServiceError {
    fn from(e: kiki_explain::RecordError) -> Self {
        match e {
            kiki_explain::RecordError::Store(e) => TwinServiceError::Store(e),
            kiki_explain::RecordError::Audit(e) => TwinServiceError::Shield(e),
            kiki_explain::RecordError::Decision(e) => TwinServiceError::Explain(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiki_core::error::public_face_problems;

    /// One value of every variant with the status the edge answers. Each arm
    /// names its status and builds the next variant; the match has no
    /// wildcard, so a new variant does not compile until it is listed here.
    fn every_variant() -> Vec<(TwinServiceError, u16)> {
        let mut all = Vec::new();
        let mut next = Some(TwinServiceError::field(
            "plan.duration_days",
            "Must be between 1 and 90.",
        ));
        while let Some(e) = next.take() {
            let (status, following) = match &e {
                TwinServiceError::Invalid(_) => (
                    422,
                    Some(TwinServiceError::Unprocessable(
                        "The market model has no history for this platform.".into(),
                    )),
                ),
                TwinServiceError::Unprocessable(_) => {
                    (422, Some(TwinServiceError::NotFound("simulation")))
                }
                TwinServiceError::NotFound(_) => (
                    404,
                    Some(TwinServiceError::Conflict(
                        "The simulation was decided already.".into(),
                    )),
                ),
                TwinServiceError::Conflict(_) => (
                    409,
                    Some(TwinServiceError::Store(StoreError::UniqueViolation {
                        constraint: Some("twin_mirror_reports_simulation_id_period_key_idx".into()),
                    })),
                ),
                TwinServiceError::Store(_) => (
                    409,
                    Some(TwinServiceError::Shield(ShieldError::Invalid(
                        "The audit filter is invalid.".into(),
                    ))),
                ),
                TwinServiceError::Shield(_) => (
                    422,
                    Some(TwinServiceError::Explain(ExplainError::Store(
                        StoreError::Corrupt("decisions.output is not JSON".into()),
                    ))),
                ),
                TwinServiceError::Explain(_) => (
                    500,
                    Some(TwinServiceError::Internal(
                        "encoding json: key must be a string".into(),
                    )),
                ),
                TwinServiceError::Internal(_) => (500, None),
            };
            all.push((e, status));
            next = following;
        }
        all
    }

    #[test]
    fn every_variant_has_its_status_a_sentence_and_no_internal_text() {
        let all = every_variant();
        assert_eq!(all.len(), 8);
        for (e, status) in &all {
            let problems = public_face_problems(e, *status);
            assert!(problems.is_empty(), "{e:?}: {problems:?}");
        }
        let (invalid, _) = every_variant().remove(0);
        assert_eq!(
            invalid.public_message(),
            "The field `plan.duration_days` is invalid: Must be between 1 and 90."
        );
        assert_eq!(
            invalid.details(),
            serde_json::json!({"fields": [{"field": "plan.duration_days", "message": "Must be between 1 and 90."}]})
        );
    }
}
