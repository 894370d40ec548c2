//! What can go wrong in the notifications service, and its public face
//! ([`DomainError`]); the HTTP edge converts it into the envelope.

use kiki_core::{DomainError, ErrorCode, FieldError, INTERNAL_MESSAGE};

#[derive(Debug, thiserror::Error)]
pub enum NotificationsError {
    /// Request fields are invalid; each is named.
    #[error("{}", invalid_message(.0))]
    Invalid(Vec<FieldError>),
    /// No such notification in the organisation (another organisation's
    /// reads the same).
    #[error("The notification does not exist.")]
    NotFound,
    #[error(transparent)]
    Store(#[from] kiki_store::StoreError),
    #[error(transparent)]
    Shield(#[from] kiki_shield::ShieldError),
    #[error(transparent)]
    Explain(#[from] kiki_explain::ExplainError),
    /// Another context's service failed while an event was evaluated (the
    /// job retries).
    #[error("evaluating an event: {0}")]
    Upstream(String),
    /// A stored record cannot be read back.
    #[error("stored notification data is unreadable: {0}")]
    Corrupt(String),
}

fn invalid_message(fields: &[FieldError]) -> String {
    match fields {
        [one] => format!("The field `{}` is invalid: {}", one.field, one.message),
        _ => format!("{} fields are invalid.", fields.len()),
    }
}

pub type Result<T> = std::result::Result<T, NotificationsError>;

impl NotificationsError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        NotificationsError::Invalid(vec![FieldError::new(field, message)])
    }
}

impl DomainError for NotificationsError {
    fn code(&self) -> ErrorCode {
        match self {
            NotificationsError::Invalid(_) => ErrorCode::ValidationFailed,
            NotificationsError::NotFound => ErrorCode::NotFound,
            NotificationsError::Store(e) => e.code(),
            NotificationsError::Shield(e) => e.code(),
            NotificationsError::Explain(e) => e.code(),
            NotificationsError::Upstream(_) | NotificationsError::Corrupt(_) => ErrorCode::Internal,
        }
    }

    fn public_message(&self) -> String {
        match self {
            NotificationsError::Upstream(_) | NotificationsError::Corrupt(_) => {
                INTERNAL_MESSAGE.to_owned()
            }
            NotificationsError::Invalid(_) | NotificationsError::NotFound => self.to_string(),
            NotificationsError::Store(e) => e.public_message(),
            NotificationsError::Shield(e) => e.public_message(),
            NotificationsError::Explain(e) => e.public_message(),
        }
    }

    fn details(&self) -> serde_json::Value {
        match self {
            NotificationsError::Invalid(fields) => kiki_core::field_details(fields),
            NotificationsError::Store(e) => e.details(),
            NotificationsError::Shield(e) => e.details(),
            NotificationsError::Explain(e) => e.details(),
            NotificationsError::NotFound
            | NotificationsError::Upstream(_)
            | NotificationsError::Corrupt(_) => kiki_core::no_details(),
        }
    }

    fn is_internal(&self) -> bool {
        match self {
            NotificationsError::Store(e) => e.is_internal(),
            NotificationsError::Shield(e) => e.is_internal(),
            NotificationsError::Explain(e) => e.is_internal(),
            other => other.code() == ErrorCode::Internal,
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            NotificationsError::Store(e) => e.retry_after(),
            _ => None,
        }
    }
}

impl From<kiki_explain::RecordError> for NotificationsError {
    fn from(e: kiki_explain::RecordError) -> Self {
        match e {
            kiki_explain::RecordError::Store(e) => NotificationsError::Store(e),
            kiki_explain::RecordError::Audit(e) => NotificationsError::Shield(e),
            kiki_explain::RecordError::Decision(e) => NotificationsError::Explain(e),
        }
    }
}

impl From<serde_json::Error> for NotificationsError {
    fn from(e: serde_json::Error) -> Self {
        NotificationsError::Corrupt(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiki_core::error::public_face_problems;
    use kiki_store::StoreError;

    /// One value of every variant with the status the edge answers; the
    /// match has no wildcard, so a new variant must be listed here.
    fn every_variant() -> Vec<(NotificationsError, u16)> {
        let mut all = Vec::new();
        let mut next = Some(NotificationsError::field("roas_target", "Must be above 0."));
        while let Some(e) = next.take() {
            let (status, following) = match &e {
                NotificationsError::Invalid(_) => (422, Some(NotificationsError::NotFound)),
                NotificationsError::NotFound => (
                    404,
                    Some(NotificationsError::Store(StoreError::UniqueViolation {
                        constraint: Some("notifications_open_subject_idx".into()),
                    })),
                ),
                NotificationsError::Store(_) => (
                    409,
                    Some(NotificationsError::Shield(kiki_shield::ShieldError::Csv(
                        "broken pipe".into(),
                    ))),
                ),
                NotificationsError::Shield(_) => (
                    500,
                    Some(NotificationsError::Explain(
                        kiki_explain::ExplainError::Store(StoreError::PoolTimeout),
                    )),
                ),
                NotificationsError::Explain(_) => (
                    503,
                    Some(NotificationsError::Upstream(
                        "campaign lookup failed".into(),
                    )),
                ),
                NotificationsError::Upstream(_) => {
                    (500, Some(NotificationsError::Corrupt("kind `x`".into())))
                }
                NotificationsError::Corrupt(_) => (500, None),
            };
            all.push((e, status));
            next = following;
        }
        all
    }

    #[test]
    fn every_variant_has_its_status_a_sentence_and_no_internal_text() {
        let all = every_variant();
        assert_eq!(all.len(), 7);
        for (e, status) in &all {
            let problems = public_face_problems(e, *status);
            assert!(problems.is_empty(), "{e:?}: {problems:?}");
        }
    }
}
