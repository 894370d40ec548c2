//! What can go wrong in the conversions service, and its public face
//! ([`DomainError`]); the HTTP edge converts it into the envelope.

use kiki_core::{DomainError, ErrorCode, FieldError, INTERNAL_MESSAGE};
use serde_json::json;
use uuid::Uuid;

/// The one sentence every click id that cannot be used for this
/// organisation gets — never issued, changed, or another organisation's —
/// so that the answer tells nothing about other organisations.
pub const UNKNOWN_CLICK: &str = "Not a click id KIKI issued for this organisation's ads.";

#[derive(Debug, thiserror::Error)]
pub enum ConversionsError {
    /// Request fields are invalid; each is named.
    #[error("{}", invalid_message(.0))]
    Invalid(Vec<FieldError>),
    /// The order id was recorded before with another value or click id.
    #[error(
        "The order {order_id} was recorded already with another value or click id; an order is counted once."
    )]
    OrderConflict {
        order_id: String,
        conversion_id: Uuid,
    },
    /// Missing or wrong credentials of the postback (the signature, or no
    /// credentials at all).
    #[error("{0}")]
    Unauthenticated(String),
    /// The credentials are valid but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// Too many conversions from browsers for the organisation.
    #[error("Too many conversions from this site at once; retry in {retry_after} s.")]
    RateLimited { retry_after: u64 },
    #[error(transparent)]
    Store(#[from] kiki_store::StoreError),
    #[error(transparent)]
    Shield(#[from] kiki_shield::ShieldError),
    #[error(transparent)]
    Explain(#[from] kiki_explain::ExplainError),
    /// A stored record cannot be read back.
    #[error("stored conversion data is unreadable: {0}")]
    Corrupt(String),
}

fn invalid_message(fields: &[FieldError]) -> String {
    match fields {
        [one] => format!("The field `{}` is invalid: {}", one.field, one.message),
        _ => format!("{} fields are invalid.", fields.len()),
    }
}

pub type Result<T> = std::result::Result<T, ConversionsError>;

impl ConversionsError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ConversionsError::Invalid(vec![FieldError::new(field, message)])
    }

    /// A click id that cannot be used for the organisation.
    pub fn unknown_click() -> Self {
        ConversionsError::field("click_id", UNKNOWN_CLICK)
    }
}

impl DomainError for ConversionsError {
    fn code(&self) -> ErrorCode {
        match self {
            ConversionsError::Invalid(_) => ErrorCode::ValidationFailed,
            ConversionsError::OrderConflict { .. } => ErrorCode::Conflict,
            ConversionsError::Unauthenticated(_) => ErrorCode::Unauthenticated,
            ConversionsError::Forbidden(_) => ErrorCode::Forbidden,
            ConversionsError::RateLimited { .. } => ErrorCode::RateLimited,
            ConversionsError::Store(e) => e.code(),
            ConversionsError::Shield(e) => e.code(),
            ConversionsError::Explain(e) => e.code(),
            ConversionsError::Corrupt(_) => ErrorCode::Internal,
        }
    }

    fn public_message(&self) -> String {
        match self {
            ConversionsError::Corrupt(_) => INTERNAL_MESSAGE.to_owned(),
            ConversionsError::Invalid(_)
            | ConversionsError::OrderConflict { .. }
            | ConversionsError::Unauthenticated(_)
            | ConversionsError::Forbidden(_)
            | ConversionsError::RateLimited { .. } => self.to_string(),
            ConversionsError::Store(e) => e.public_message(),
            ConversionsError::Shield(e) => e.public_message(),
            ConversionsError::Explain(e) => e.public_message(),
        }
    }

    /// A 422 lists its fields; a 409 names the order and the conversion
    /// that holds it.
    fn details(&self) -> serde_json::Value {
        match self {
            ConversionsError::Invalid(fields) => kiki_core::field_details(fields),
            ConversionsError::OrderConflict {
                order_id,
                conversion_id,
            } => json!({
                "field": "order_id",
                "order_id": order_id,
                "conversion_id": conversion_id,
            }),
            ConversionsError::Store(e) => e.details(),
            ConversionsError::Shield(e) => e.details(),
            ConversionsError::Explain(e) => e.details(),
            ConversionsError::Unauthenticated(_)
            | ConversionsError::Forbidden(_)
            | ConversionsError::RateLimited { .. }
            | ConversionsError::Corrupt(_) => kiki_core::no_details(),
        }
    }

    fn is_internal(&self) -> bool {
        match self {
            ConversionsError::Store(e) => e.is_internal(),
            ConversionsError::Shield(e) => e.is_internal(),
            ConversionsError::Explain(e) => e.is_internal(),
            other => other.code() == ErrorCode::Internal,
        }
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            ConversionsError::RateLimited { retry_after } => Some(*retry_after),
            ConversionsError::Store(e) => e.retry_after(),
            _ => None,
        }
    }
}

impl From<kiki_explain::RecordError> for ConversionsError {
    fn from(e: kiki_explain::RecordError) -> Self {
        match e {
            kiki_explain::RecordError::Store(e) => ConversionsError::Store(e),
            kiki_explain::RecordError::Audit(e) => ConversionsError::Shield(e),
            kiki_explain::RecordError::Decision(e) => ConversionsError::Explain(e),
        }
    }
}

impl From<serde_json::Error> for ConversionsError {
    fn from(e: serde_json::Error) -> Self {
        ConversionsError::Corrupt(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiki_core::error::public_face_problems;
    use kiki_store::StoreError;

    /// One value of every variant with the status the edge answers; the
    /// match has no wildcard, so a new variant must be listed here.
    fn every_variant() -> Vec<(ConversionsError, u16)> {
        let mut all = Vec::new();
        let mut next = Some(ConversionsError::unknown_click());
        while let Some(e) = next.take() {
            let (status, following) = match &e {
                ConversionsError::Invalid(_) => (
                    422,
                    Some(ConversionsError::OrderConflict {
                        order_id: "A-1001".into(),
                        conversion_id: Uuid::nil(),
                    }),
                ),
                ConversionsError::OrderConflict { .. } => (
                    409,
                    Some(ConversionsError::Unauthenticated(
                        "The X-Kiki-Signature header does not verify.".into(),
                    )),
                ),
                ConversionsError::Unauthenticated(_) => (
                    401,
                    Some(ConversionsError::Forbidden(
                        "This site key does not accept conversions from https://evil.example."
                            .into(),
                    )),
                ),
                ConversionsError::Forbidden(_) => {
                    (403, Some(ConversionsError::RateLimited { retry_after: 2 }))
                }
                ConversionsError::RateLimited { .. } => (
                    429,
                    Some(ConversionsError::Store(StoreError::UniqueViolation {
                        constraint: Some("conversions_org_id_order_id_idx".into()),
                    })),
                ),
                ConversionsError::Store(_) => (
                    409,
                    Some(ConversionsError::Shield(kiki_shield::ShieldError::Csv(
                        "broken pipe".into(),
                    ))),
                ),
                ConversionsError::Shield(_) => (
                    500,
                    Some(ConversionsError::Explain(
                        kiki_explain::ExplainError::Store(StoreError::PoolTimeout),
                    )),
                ),
                ConversionsError::Explain(_) => (
                    503,
                    Some(ConversionsError::Corrupt("value is not a number".into())),
                ),
                ConversionsError::Corrupt(_) => (500, None),
            };
            all.push((e, status));
            next = following;
        }
        all
    }

    #[test]
    fn every_variant_has_its_status_a_sentence_and_no_internal_text() {
        let all = every_variant();
        assert_eq!(all.len(), 9);
        for (e, status) in &all {
            let problems = public_face_problems(e, *status);
            assert!(problems.is_empty(), "{e:?}: {problems:?}");
        }
        let (e, _) = &all[8 - 7];
        assert_eq!(e.details()["field"], "order_id");
    }
}
