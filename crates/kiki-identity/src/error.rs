//! Errors of the identity context and their public face ([`DomainError`]);
//! the HTTP edge turns them into the envelope. Credential failures are
//! deliberately vague ("the credentials are not valid") so a response never
//! tells whether an account exists.

use kiki_core::{DomainError, ErrorCode, FieldError, INTERNAL_MESSAGE};
use kiki_explain::ExplainError;
use kiki_notify::MailError;
use kiki_shield::ShieldError;
use kiki_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Missing, wrong or expired credentials. Never says which.
    #[error("{0}")]
    Unauthenticated(&'static str),
    /// The password was right; a second factor is needed (`otp`).
    #[error(
        "A second factor is required: send the code from your authenticator app (or a recovery code) as `otp`."
    )]
    MfaRequired,
    /// The organisation requires MFA for this role and the user has not enrolled.
    #[error(
        "This organisation requires two-factor authentication for owners and admins; enrol at /v1/me/mfa first."
    )]
    MfaEnrolmentRequired,
    #[error("{0}")]
    Forbidden(String),
    /// The resource does not exist for this caller (also used for other tenants' resources).
    #[error("{0} was not found.")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("{}", kiki_core::fields_message(.0))]
    Invalid(Vec<FieldError>),
    /// Too many failed attempts: wait `retry_after_secs`.
    #[error("Too many failed sign-in attempts; try again in {retry_after_secs} s.")]
    Throttled { retry_after_secs: u64 },
    /// Temporarily locked after repeated failures.
    #[error(
        "Sign-in is temporarily locked after repeated failures; try again in {retry_after_secs} s."
    )]
    Locked { retry_after_secs: u64 },
    /// Every password-hashing slot stayed busy for `auth.hash_wait_ms`.
    #[error("The server is busy checking other passwords; try again in {retry_after_secs} s.")]
    Busy { retry_after_secs: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Shield(#[from] ShieldError),
    #[error(transparent)]
    Explain(#[from] ExplainError),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error("credential processing failed: {0}")]
    Credential(String),
}

impl IdentityError {
    pub fn invalid(field: &str, message: impl Into<String>) -> IdentityError {
        IdentityError::Invalid(vec![FieldError::new(field, message)])
    }

    /// The invalid fields of a 422, for the envelope's `details`.
    pub fn fields(&self) -> Option<&[FieldError]> {
        match self {
            IdentityError::Invalid(f) => Some(f),
            _ => None,
        }
    }
}

impl DomainError for IdentityError {
    fn code(&self) -> ErrorCode {
        match self {
            IdentityError::Unauthenticated(_) => ErrorCode::Unauthenticated,
            IdentityError::MfaRequired => ErrorCode::MfaRequired,
            IdentityError::MfaEnrolmentRequired => ErrorCode::Forbidden,
            IdentityError::Forbidden(_) => ErrorCode::Forbidden,
            IdentityError::NotFound(_) => ErrorCode::NotFound,
            IdentityError::Conflict(_) => ErrorCode::Conflict,
            IdentityError::Invalid(_) => ErrorCode::ValidationFailed,
            IdentityError::Throttled { .. } => ErrorCode::RateLimited,
            IdentityError::Locked { .. } => ErrorCode::Locked,
            IdentityError::Busy { .. } => ErrorCode::Unavailable,
            IdentityError::Store(e) => e.code(),
            IdentityError::Shield(e) => e.code(),
            IdentityError::Explain(e) => e.code(),
            IdentityError::Mail(e) => e.code(),
            IdentityError::Credential(_) => ErrorCode::Internal,
        }
    }

    fn public_message(&self) -> String {
        match self {
            IdentityError::Store(e) => e.public_message(),
            IdentityError::Shield(e) => e.public_message(),
            IdentityError::Explain(e) => e.public_message(),
            IdentityError::Mail(e) => e.public_message(),
            IdentityError::Credential(_) => INTERNAL_MESSAGE.to_owned(),
            IdentityError::Unauthenticated(_)
            | IdentityError::MfaRequired
            | IdentityError::MfaEnrolmentRequired
            | IdentityError::Forbidden(_)
            | IdentityError::NotFound(_)
            | IdentityError::Conflict(_)
            | IdentityError::Invalid(_)
            | IdentityError::Throttled { .. }
            | IdentityError::Locked { .. }
            | IdentityError::Busy { .. } => self.to_string(),
        }
    }

    fn details(&self) -> serde_json::Value {
        match self {
            IdentityError::Invalid(fields) => kiki_core::field_details(fields),
            IdentityError::Store(e) => e.details(),
            IdentityError::Shield(e) => e.details(),
            IdentityError::Explain(e) => e.details(),
            IdentityError::Mail(e) => e.details(),
            _ => kiki_core::no_details(),
        }
    }

    fn is_internal(&self) -> bool {
        match self {
            IdentityError::Store(e) => e.is_internal(),
            IdentityError::Shield(e) => e.is_internal(),
            IdentityError::Explain(e) => e.is_internal(),
            IdentityError::Mail(e) => e.is_internal(),
            IdentityError::Credential(_) => true,
            _ => false,
        }
    }

    /// Seconds for a `Retry-After` header.
    fn retry_after(&self) -> Option<u64> {
        match self {
            IdentityError::Throttled { retry_after_secs }
            | IdentityError::Locked { retry_after_secs }
            | IdentityError::Busy { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        }
    }
}

impl From<kiki_credentials::CredentialError> for IdentityError {
    fn from(e: kiki_credentials::CredentialError) -> Self {
        IdentityError::Credential(e.to_string())
    }
}

pub type Result<T, E = IdentityError> = std::result::Result<T, E>;

impl From<kiki_explain::RecordError> for IdentityError {
    fn from(e: kiki_explain::RecordError) -> Self {
        match e {
            kiki_explain::RecordError::Store(e) => IdentityError::Store(e),
            kiki_explain::RecordError::Audit(e) => IdentityError::Shield(e),
            kiki_explain::RecordError::Decision(e) => IdentityError::Explain(e),
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
    fn every_variant() -> Vec<(IdentityError, u16)> {
        let mut all = Vec::new();
        let mut next = Some(IdentityError::Unauthenticated(
            "The credentials are not valid.",
        ));
        while let Some(e) = next.take() {
            let (status, following) = match &e {
                IdentityError::Unauthenticated(_) => (401, Some(IdentityError::MfaRequired)),
                IdentityError::MfaRequired => (401, Some(IdentityError::MfaEnrolmentRequired)),
                IdentityError::MfaEnrolmentRequired => (
                    403,
                    Some(IdentityError::Forbidden(
                        "Your role may not manage members.".into(),
                    )),
                ),
                IdentityError::Forbidden(_) => (403, Some(IdentityError::NotFound("The user"))),
                IdentityError::NotFound(_) => (
                    404,
                    Some(IdentityError::Conflict(
                        "An account with this email address already exists.".into(),
                    )),
                ),
                IdentityError::Conflict(_) => (
                    409,
                    Some(IdentityError::invalid("email", "Not an email address.")),
                ),
                IdentityError::Invalid(_) => (
                    422,
                    Some(IdentityError::Throttled {
                        retry_after_secs: 30,
                    }),
                ),
                IdentityError::Throttled { .. } => (
                    429,
                    Some(IdentityError::Locked {
                        retry_after_secs: 900,
                    }),
                ),
                IdentityError::Locked { .. } => (
                    423,
                    Some(IdentityError::Busy {
                        retry_after_secs: 1,
                    }),
                ),
                IdentityError::Busy { .. } => (
                    503,
                    Some(IdentityError::Store(StoreError::UniqueViolation {
                        constraint: Some("memberships_org_id_user_id_idx".into()),
                    })),
                ),
                IdentityError::Store(_) => (
                    409,
                    Some(IdentityError::Shield(ShieldError::Crypto(
                        "tag mismatch in users.totp_secret".into(),
                    ))),
                ),
                IdentityError::Shield(_) => (
                    500,
                    Some(IdentityError::Explain(ExplainError::Store(
                        StoreError::PoolTimeout,
                    ))),
                ),
                IdentityError::Explain(_) => (
                    503,
                    Some(IdentityError::Mail(MailError::Send(
                        "554 relay.internal.example: no".into(),
                    ))),
                ),
                IdentityError::Mail(_) => (
                    502,
                    Some(IdentityError::Credential(
                        "argon2: invalid PHC string".into(),
                    )),
                ),
                IdentityError::Credential(_) => (500, None),
            };
            all.push((e, status));
            next = following;
        }
        all
    }

    #[test]
    fn every_variant_has_its_status_a_sentence_and_no_internal_text() {
        let all = every_variant();
        assert_eq!(all.len(), 15);
        for (e, status) in &all {
            let problems = public_face_problems(e, *status);
            assert!(problems.is_empty(), "{e:?}: {problems:?}");
        }
    }

    #[test]
    fn waits_carry_retry_after_and_a_422_lists_its_fields() {
        for (e, _) in every_variant() {
            let expected = match &e {
                IdentityError::Throttled { retry_after_secs }
                | IdentityError::Locked { retry_after_secs }
                | IdentityError::Busy { retry_after_secs } => Some(*retry_after_secs),
                _ => None,
            };
            assert_eq!(e.retry_after(), expected, "{e:?}");
        }
        let e = IdentityError::invalid("email", "Not an email address.");
        assert_eq!(
            e.details(),
            serde_json::json!({"fields": [{"field": "email", "message": "Not an email address."}]})
        );
        assert_eq!(
            e.public_message(),
            "The field `email` is invalid: Not an email address."
        );
    }
}
