//! The mail port's error type and its place in the shared error-code table.

use kiki_core::ErrorCode;
use kiki_store::StoreError;

/// Why a message could not be recorded or sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The mail settings cannot work (names the setting to fix).
    #[error("{0}")]
    Config(String),
    /// The SMTP server could not be reached or refused the message. The
    /// outbox row is kept with status `failed`.
    #[error("The mail could not be sent: {0}")]
    Send(String),
    /// The message itself is unusable (an address that is not one, an empty kind).
    #[error("{0}")]
    InvalidMessage(String),
    /// Recording or reading the outbox failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl MailError {
    /// The entry of the shared error-code table this error maps to at the HTTP edge.
    pub fn code(&self) -> ErrorCode {
        match self {
            MailError::Config(_) => ErrorCode::Internal,
            MailError::Send(_) => ErrorCode::UpstreamFailed,
            MailError::InvalidMessage(_) => ErrorCode::BadRequest,
            MailError::Store(e) => e.code(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_the_shared_code_table() {
        assert_eq!(
            MailError::Send("x".into()).code(),
            ErrorCode::UpstreamFailed
        );
        assert_eq!(MailError::Config("x".into()).code(), ErrorCode::Internal);
        assert_eq!(
            MailError::InvalidMessage("x".into()).code(),
            ErrorCode::BadRequest
        );
        assert_eq!(
            MailError::Store(StoreError::NotFound).code(),
            ErrorCode::NotFound
        );
    }
}
