//! The one error type of SyncShield, and its place in the shared error-code table.

use kiki_core::ErrorCode;
use kiki_store::StoreError;

/// Everything that can go wrong in the audit log, the key ring or key rotation.
#[derive(Debug, thiserror::Error)]
pub enum ShieldError {
    /// The database failed (or rejected a write).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A value could not be encrypted or decrypted: wrong key, wrong row, tampered, or not ours.
    #[error("{0}")]
    Crypto(String),
    /// The encryption settings cannot work (the message names the setting to fix).
    #[error("{0}")]
    Config(String),
    /// Writing the CSV export failed.
    #[error("Writing the CSV export failed: {0}")]
    Csv(String),
    /// A caller passed something unusable (the message names it).
    #[error("{0}")]
    Invalid(String),
}

impl ShieldError {
    /// The entry of the shared error-code table this error maps to at the HTTP edge.
    pub fn code(&self) -> ErrorCode {
        match self {
            ShieldError::Store(e) => e.code(),
            ShieldError::Crypto(_) | ShieldError::Config(_) | ShieldError::Csv(_) => {
                ErrorCode::Internal
            }
            ShieldError::Invalid(_) => ErrorCode::ValidationFailed,
        }
    }
}

impl From<csv::Error> for ShieldError {
    fn from(e: csv::Error) -> Self {
        ShieldError::Csv(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_the_shared_code_table() {
        let cases = [
            (
                ShieldError::Store(StoreError::NotFound),
                ErrorCode::NotFound,
            ),
            (
                ShieldError::Store(StoreError::UniqueViolation { constraint: None }),
                ErrorCode::Conflict,
            ),
            (ShieldError::Crypto("x".into()), ErrorCode::Internal),
            (ShieldError::Config("x".into()), ErrorCode::Internal),
            (ShieldError::Csv("x".into()), ErrorCode::Internal),
            (
                ShieldError::Invalid("x".into()),
                ErrorCode::ValidationFailed,
            ),
        ];
        for (err, code) in cases {
            assert_eq!(err.code(), code, "{err:?}");
        }
    }
}
