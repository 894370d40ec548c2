//! What can go wrong in the analytics service, and its public face
//! ([`DomainError`]); the HTTP edge converts it into the envelope.

use kiki_core::{DomainError, ErrorCode, FieldError, INTERNAL_MESSAGE};

#[derive(Debug, thiserror::Error)]
pub enum AnalyticsError {
    /// Request fields are invalid; each is named.
    #[error("{}", invalid_message(.0))]
    Invalid(Vec<FieldError>),
    /// The caller may not do this (an export without `export`).
    #[error("{0}")]
    Forbidden(String),
    /// No such thing in the caller's organisation (an export).
    #[error("{0} was not found.")]
    NotFound(&'static str),
    /// Not possible yet (an export still being written).
    #[error("{0}")]
    Conflict(String),
    /// Existed, but is over (an export whose link expired).
    #[error("{0}")]
    Gone(String),
    /// An external source failed: the ECB's reference rates could not be
    /// fetched (`transient`: try again later) or were not what was
    /// expected.
    #[error("{message}")]
    Upstream { message: String, transient: bool },
    #[error(transparent)]
    Store(#[from] kiki_store::StoreError),
    #[error(transparent)]
    Shield(#[from] kiki_shield::ShieldError),
    #[error(transparent)]
    Explain(#[from] kiki_explain::ExplainError),
    /// Another context failed (reading the organisation, the platforms'
    /// metrics), or a stored value cannot be read back, or a file could
    /// not be written.
    #[error("{0}")]
    Internal(String),
}

fn invalid_message(fields: &[FieldError]) -> String {
    match fields {
        [one] => format!("The field `{}` is invalid: {}", one.field, one.message),
        _ => format!("{} fields are invalid.", fields.len()),
    }
}

pub type Result<T> = std::result::Result<T, AnalyticsError>;

impl AnalyticsError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        AnalyticsError::Invalid(vec![FieldError::new(field, message)])
    }
}

impl DomainError for AnalyticsError {
    fn code(&self) -> ErrorCode {
        match self {
            AnalyticsError::Invalid(_) => ErrorCode::ValidationFailed,
            AnalyticsError::Forbidden(_) => ErrorCode::Forbidden,
            AnalyticsError::NotFound(_) => ErrorCode::NotFound,
            AnalyticsError::Conflict(_) => ErrorCode::Conflict,
            AnalyticsError::Gone(_) => ErrorCode::Gone,
            AnalyticsError::Upstream {
                transient: true, ..
            } => ErrorCode::Unavailable,
            AnalyticsError::Upstream { .. } => ErrorCode::UpstreamFailed,
            AnalyticsError::Store(e) => e.code(),
            AnalyticsError::Shield(e) => e.code(),
            AnalyticsError::Explain(e) => e.code(),
            AnalyticsError::Internal(_) => ErrorCode::Internal,
        }
    }

    fn public_message(&self) -> String {
        match self {
            AnalyticsError::Invalid(_)
            | AnalyticsError::Forbidden(_)
            | AnalyticsError::NotFound(_)
            | AnalyticsError::Conflict(_)
            | AnalyticsError::Gone(_)
            | AnalyticsError::Upstream { .. } => self.to_string(),
            AnalyticsError::Store(e) => e.public_message(),
            AnalyticsError::Shield(e) => e.public_message(),
            AnalyticsError::Explain(e) => e.public_message(),
            AnalyticsError::Internal(_) => INTERNAL_MESSAGE.to_owned(),
        }
    }

    /// A 422 lists its fields.
    fn details(&self) -> serde_json::Value {
        match self {
            AnalyticsError::Invalid(fields) => kiki_core::field_details(fields),
            AnalyticsError::Store(e) => e.details(),
            AnalyticsError::Shield(e) => e.details(),
            AnalyticsError::Explain(e) => e.details(),
            AnalyticsError::Forbidden(_)
            | AnalyticsError::NotFound(_)
            | AnalyticsError::Conflict(_)
            | AnalyticsError::Gone(_)
            | AnalyticsError::Upstream { .. }
            | AnalyticsError::Internal(_) => kiki_core::no_details(),
        }
    }

    fn is_internal(&self) -> bool {
        match self {
            AnalyticsError::Store(e) => e.is_internal(),
            AnalyticsError::Shield(e) => e.is_internal(),
            AnalyticsError::Explain(e) => e.is_internal(),
            other => other.code() == ErrorCode::Internal,
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            AnalyticsError::Store(e) => e.retry_after(),
            AnalyticsError::Upstream {
                transient: true, ..
            } => Some(60),
            _ => None,
        }
    }
}

impl From<kiki_explain::RecordError> for AnalyticsError {
    fn from(e: kiki_explain::RecordError) -> Self {
        match e {
            kiki_explain::RecordError::Store(e) => AnalyticsError::Store(e),
            kiki_explain::RecordError::Audit(e) => AnalyticsError::Shield(e),
            kiki_explain::RecordError::Decision(e) => AnalyticsError::Explain(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_a_public_face() {
        let cases: Vec<(AnalyticsError, u16)> = vec![
            (
                AnalyticsError::field("until", "Must not be before the first day."),
                422,
            ),
            (
                AnalyticsError::Forbidden("This needs `export`.".into()),
                403,
            ),
            (
                AnalyticsError::Store(kiki_store::StoreError::UniqueViolation { constraint: None }),
                409,
            ),
            (
                AnalyticsError::Shield(kiki_shield::ShieldError::Csv("broken pipe".into())),
                500,
            ),
            (
                AnalyticsError::Explain(kiki_explain::ExplainError::Store(
                    kiki_store::StoreError::PoolTimeout,
                )),
                503,
            ),
            (AnalyticsError::NotFound("The export"), 404),
            (
                AnalyticsError::Conflict("The export is still being written.".into()),
                409,
            ),
            (
                AnalyticsError::Gone("The export's download link has expired.".into()),
                410,
            ),
            (AnalyticsError::Internal("the database said no".into()), 500),
            (
                AnalyticsError::Upstream {
                    message: "The ECB's server answered 503; try again later.".into(),
                    transient: true,
                },
                503,
            ),
            (
                AnalyticsError::Upstream {
                    message: "The file is not the ECB's reference rates.".into(),
                    transient: false,
                },
                502,
            ),
        ];
        for (e, status) in cases {
            // A match without a wildcard: a new variant must be listed above.
            match &e {
                AnalyticsError::Invalid(_)
                | AnalyticsError::Forbidden(_)
                | AnalyticsError::NotFound(_)
                | AnalyticsError::Conflict(_)
                | AnalyticsError::Gone(_)
                | AnalyticsError::Upstream { .. }
                | AnalyticsError::Store(_)
                | AnalyticsError::Shield(_)
                | AnalyticsError::Explain(_)
                | AnalyticsError::Internal(_) => {}
            }
            let problems = kiki_core::error::public_face_problems(&e, status);
            assert!(problems.is_empty(), "{e:?}: {problems:?}");
        }
        assert_eq!(
            AnalyticsError::Internal("secret cause".into()).public_message(),
            INTERNAL_MESSAGE
        );
    }
}
