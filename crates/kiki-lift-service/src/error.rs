//! What can go wrong in the lift service, and its public face
//! ([`DomainError`]); the HTTP edge converts it into the envelope.

use kiki_core::{DomainError, ErrorCode, FieldError, INTERNAL_MESSAGE};
use kiki_lift::LiftError;

#[derive(Debug, thiserror::Error)]
pub enum LiftServiceError {
    /// Request fields (or the stored plan against the stored panel) are
    /// invalid; each is named.
    #[error("{}", invalid_message(.0))]
    Invalid(Vec<FieldError>),
    /// Rows of an upload that cannot be used; nothing was stored.
    #[error("{total} row(s) of the upload cannot be used; nothing was stored.")]
    BadRows {
        errors: Vec<FieldError>,
        total: usize,
    },
    /// The experiment's state refuses the change (a registered plan is
    /// frozen; an analysis needs a registered experiment).
    #[error("{0}")]
    Conflict(String),
    #[error("{0} was not found.")]
    NotFound(&'static str),
    /// The engine refused the data.
    #[error(transparent)]
    Engine(#[from] LiftError),
    #[error(transparent)]
    Store(#[from] kiki_store::StoreError),
    #[error(transparent)]
    Shield(#[from] kiki_shield::ShieldError),
    #[error(transparent)]
    Explain(#[from] kiki_explain::ExplainError),
    /// A task failed in a way the caller cannot fix.
    #[error("{0}")]
    Internal(String),
    /// A stored record cannot be read back.
    #[error("stored lift data is unreadable: {0}")]
    Corrupt(String),
}

fn invalid_message(fields: &[FieldError]) -> String {
    match fields {
        [one] => format!("The field `{}` is invalid: {}", one.field, one.message),
        _ => format!("{} fields are invalid.", fields.len()),
    }
}

pub type Result<T> = std::result::Result<T, LiftServiceError>;

impl LiftServiceError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        LiftServiceError::Invalid(vec![FieldError::new(field, message)])
    }
}

impl DomainError for LiftServiceError {
    fn code(&self) -> ErrorCode {
        match self {
            LiftServiceError::Invalid(_) | LiftServiceError::BadRows { .. } => {
                ErrorCode::ValidationFailed
            }
            LiftServiceError::Engine(LiftError::Cancelled) => ErrorCode::Internal,
            LiftServiceError::Engine(_) => ErrorCode::ValidationFailed,
            LiftServiceError::Conflict(_) => ErrorCode::Conflict,
            LiftServiceError::NotFound(_) => ErrorCode::NotFound,
            LiftServiceError::Store(e) => e.code(),
            LiftServiceError::Shield(e) => e.code(),
            LiftServiceError::Explain(e) => e.code(),
            LiftServiceError::Internal(_) | LiftServiceError::Corrupt(_) => ErrorCode::Internal,
        }
    }

    fn public_message(&self) -> String {
        match self {
            LiftServiceError::Engine(LiftError::Cancelled)
            | LiftServiceError::Internal(_)
            | LiftServiceError::Corrupt(_) => INTERNAL_MESSAGE.to_owned(),
            LiftServiceError::Invalid(_)
            | LiftServiceError::BadRows { .. }
            | LiftServiceError::Conflict(_)
            | LiftServiceError::NotFound(_)
            | LiftServiceError::Engine(_) => self.to_string(),
            LiftServiceError::Store(e) => e.public_message(),
            LiftServiceError::Shield(e) => e.public_message(),
            LiftServiceError::Explain(e) => e.public_message(),
        }
    }

    /// A 422 lists its fields; an upload's also says how many rows are bad
    /// (`total`); the engine's refusals name the plan or design.
    fn details(&self) -> serde_json::Value {
        match self {
            LiftServiceError::Invalid(fields) => kiki_core::field_details(fields),
            LiftServiceError::BadRows { errors, total } => {
                serde_json::json!({ "fields": errors, "total": total })
            }
            LiftServiceError::Engine(LiftError::Cancelled) => kiki_core::no_details(),
            LiftServiceError::Engine(e) => {
                kiki_core::field_details(&[FieldError::new("plan", e.to_string())])
            }
            LiftServiceError::Store(e) => e.details(),
            LiftServiceError::Shield(e) => e.details(),
            LiftServiceError::Explain(e) => e.details(),
            LiftServiceError::Conflict(_)
            | LiftServiceError::NotFound(_)
            | LiftServiceError::Internal(_)
            | LiftServiceError::Corrupt(_) => kiki_core::no_details(),
        }
    }

    fn is_internal(&self) -> bool {
        match self {
            LiftServiceError::Store(e) => e.is_internal(),
            LiftServiceError::Shield(e) => e.is_internal(),
            LiftServiceError::Explain(e) => e.is_internal(),
            other => other.code() == ErrorCode::Internal,
        }
    }
}

impl From<kiki_explain::RecordError> for LiftServiceError {
    fn from(e: kiki_explain::RecordError) -> Self {
        match e {
            kiki_explain::RecordError::Store(e) => LiftServiceError::Store(e),
            kiki_explain::RecordError::Audit(e) => LiftServiceError::Shield(e),
            kiki_explain::RecordError::Decision(e) => LiftServiceError::Explain(e),
        }
    }
}

impl From<serde_json::Error> for LiftServiceError {
    fn from(e: serde_json::Error) -> Self {
        LiftServiceError::Corrupt(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiki_core::error::public_face_problems;
    use kiki_store::StoreError;

    /// One value of every variant with the status the edge answers; the
    /// match has no wildcard, so a new variant must be listed here.
    fn every_variant() -> Vec<(LiftServiceError, u16)> {
        let mut all = Vec::new();
        let mut next = Some(LiftServiceError::field("plan.alpha", "From 0.001 to 0.5."));
        while let Some(e) = next.take() {
            let (status, following) = match &e {
                LiftServiceError::Invalid(_) => (
                    422,
                    Some(LiftServiceError::BadRows {
                        errors: vec![FieldError::new("date", "Line 3: not a date.")],
                        total: 1,
                    }),
                ),
                LiftServiceError::BadRows { .. } => (
                    422,
                    Some(LiftServiceError::Conflict(
                        "The plan is registered and cannot change.".into(),
                    )),
                ),
                LiftServiceError::Conflict(_) => {
                    (409, Some(LiftServiceError::NotFound("The experiment")))
                }
                LiftServiceError::NotFound(_) => (
                    404,
                    Some(LiftServiceError::Engine(LiftError::InsufficientData(
                        "Too few donors.".into(),
                    ))),
                ),
                LiftServiceError::Engine(LiftError::Cancelled) => (
                    500,
                    Some(LiftServiceError::Store(StoreError::UniqueViolation {
                        constraint: Some("lift_experiments_pkey".into()),
                    })),
                ),
                LiftServiceError::Engine(_) => {
                    (422, Some(LiftServiceError::Engine(LiftError::Cancelled)))
                }
                LiftServiceError::Store(_) => (
                    409,
                    Some(LiftServiceError::Shield(kiki_shield::ShieldError::Csv(
                        "broken pipe".into(),
                    ))),
                ),
                LiftServiceError::Shield(_) => (
                    500,
                    Some(LiftServiceError::Explain(
                        kiki_explain::ExplainError::Store(StoreError::PoolTimeout),
                    )),
                ),
                LiftServiceError::Explain(_) => (
                    503,
                    Some(LiftServiceError::Internal("the task panicked".into())),
                ),
                LiftServiceError::Internal(_) => (
                    500,
                    Some(LiftServiceError::Corrupt("plan is not JSON".into())),
                ),
                LiftServiceError::Corrupt(_) => (500, None),
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
}
