//! The crate's one error type: what can go wrong when building a credential
//! primitive from configuration or stored data. Verification failures are not
//! errors here (they return `false`, `None` or a [`crate::JwtError`]).

use kiki_core::ErrorCode;

/// A parameter, key or secret cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// Password-hashing parameters are out of range, or hashing failed.
    #[error("{0}")]
    InvalidParams(String),
    /// A signing key is missing, too short, or unknown.
    #[error("{0}")]
    InvalidKey(String),
    /// A TOTP secret or token secret cannot be decoded or is too short.
    #[error("{0}")]
    InvalidSecret(String),
}

impl CredentialError {
    /// The entry of the shared error-code table this error maps to at the HTTP
    /// edge: every variant is a server-side configuration or data problem.
    pub fn code(&self) -> ErrorCode {
        match self {
            CredentialError::InvalidParams(_)
            | CredentialError::InvalidKey(_)
            | CredentialError::InvalidSecret(_) => ErrorCode::Internal,
        }
    }
}
