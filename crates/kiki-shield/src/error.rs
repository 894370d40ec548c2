//! The one error type of SyncShield, and its public face ([`DomainError`]).

use kiki_core::{DomainError, ErrorCode, INTERNAL_MESSAGE};
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

impl DomainError for ShieldError {
    fn code(&self) -> ErrorCode {
        match self {
            ShieldError::Store(e) => e.code(),
            ShieldError::Crypto(_) | ShieldError::Config(_) | ShieldError::Csv(_) => {
                ErrorCode::Internal
            }
            ShieldError::Invalid(_) => ErrorCode::ValidationFailed,
        }
    }

    fn public_message(&self) -> String {
        match self {
            ShieldError::Store(e) => e.public_message(),
            ShieldError::Crypto(_) | ShieldError::Config(_) | ShieldError::Csv(_) => {
                INTERNAL_MESSAGE.to_owned()
            }
            ShieldError::Invalid(message) => message.clone(),
        }
    }

    fn details(&self) -> serde_json::Value {
        match self {
            ShieldError::Store(e) => e.details(),
            _ => kiki_core::no_details(),
        }
    }

    fn is_internal(&self) -> bool {
        match self {
            ShieldError::Store(e) => e.is_internal(),
            other => other.code() == ErrorCode::Internal,
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
    use kiki_core::error::public_face_problems;

    /// One value of every variant with the status the edge answers; the
    /// match has no wildcard, so a new variant does not compile until it is
    /// listed here (each arm builds the next variant).
    fn every_variant() -> Vec<(ShieldError, u16)> {
        let mut all = Vec::new();
        let mut next = Some(ShieldError::Store(StoreError::UniqueViolation {
            constraint: Some("audit_log_chain_seq_idx".into()),
        }));
        while let Some(e) = next.take() {
            let (status, following) = match &e {
                ShieldError::Store(_) => (
                    409,
                    Some(ShieldError::Crypto(
                        "aes-gcm: tag mismatch for users.totp_secret".into(),
                    )),
                ),
                ShieldError::Crypto(_) => (
                    500,
                    Some(ShieldError::Config(
                        "Set `shield.keys` to a 32-byte key.".into(),
                    )),
                ),
                ShieldError::Config(_) => (
                    500,
                    Some(ShieldError::Csv("write to /tmp/export.csv failed".into())),
                ),
                ShieldError::Csv(_) => (
                    500,
                    Some(ShieldError::Invalid(
                        "The action filter must not be empty.".into(),
                    )),
                ),
                ShieldError::Invalid(_) => (422, None),
            };
            all.push((e, status));
            next = following;
        }
        all
    }

    #[test]
    fn every_variant_has_its_status_a_sentence_and_no_internal_text() {
        let all = every_variant();
        assert_eq!(all.len(), 5);
        for (e, status) in &all {
            let problems = public_face_problems(e, *status);
            assert!(problems.is_empty(), "{e:?}: {problems:?}");
        }
        // A store failure keeps the store's face.
        let busy = ShieldError::Store(StoreError::PoolTimeout);
        assert_eq!(busy.code(), ErrorCode::Unavailable);
        assert!(busy.is_internal());
        assert!(public_face_problems(&busy, 503).is_empty());
    }
}
