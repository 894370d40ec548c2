//! Errors of the identity context. Each maps to one code of the shared table;
//! the HTTP edge turns them into the envelope. Credential failures are
//! deliberately vague ("the credentials are not valid") so a response never
//! tells whether an account exists.

use kiki_core::{ErrorCode, FieldError};
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
    #[error("{}", describe(.0))]
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

fn describe(fields: &[FieldError]) -> String {
    match fields {
        [one] => format!("The field `{}` is invalid: {}", one.field, one.message),
        many => format!("{} fields are invalid.", many.len()),
    }
}

impl IdentityError {
    pub fn invalid(field: &str, message: impl Into<String>) -> IdentityError {
        IdentityError::Invalid(vec![FieldError::new(field, message)])
    }

    pub fn code(&self) -> ErrorCode {
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

    /// Seconds for a `Retry-After` header.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            IdentityError::Throttled { retry_after_secs }
            | IdentityError::Locked { retry_after_secs }
            | IdentityError::Busy { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        }
    }

    /// The invalid fields of a 422, for the envelope's `details`.
    pub fn fields(&self) -> Option<&[FieldError]> {
        match self {
            IdentityError::Invalid(f) => Some(f),
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
