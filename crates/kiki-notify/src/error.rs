//! The mail port's error type and its public face ([`DomainError`]).

use kiki_core::{DomainError, ErrorCode, INTERNAL_MESSAGE};
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

impl DomainError for MailError {
    fn code(&self) -> ErrorCode {
        match self {
            MailError::Config(_) => ErrorCode::Internal,
            MailError::Send(_) => ErrorCode::UpstreamFailed,
            MailError::InvalidMessage(_) => ErrorCode::BadRequest,
            MailError::Store(e) => e.code(),
        }
    }

    /// A failed send answers a fixed sentence: the SMTP server's reply (its
    /// host, its diagnostics) is in the outbox row and the transport's log,
    /// not in the answer.
    fn public_message(&self) -> String {
        match self {
            MailError::Config(_) => INTERNAL_MESSAGE.to_owned(),
            MailError::Send(_) => {
                "The mail could not be sent: the mail server did not accept it. Try again later."
                    .to_owned()
            }
            MailError::InvalidMessage(message) => message.clone(),
            MailError::Store(e) => e.public_message(),
        }
    }

    fn details(&self) -> serde_json::Value {
        match self {
            MailError::Store(e) => e.details(),
            _ => kiki_core::no_details(),
        }
    }

    fn is_internal(&self) -> bool {
        match self {
            MailError::Config(_) => true,
            MailError::Send(_) | MailError::InvalidMessage(_) => false,
            MailError::Store(e) => e.is_internal(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiki_core::error::public_face_problems;

    /// One value of every variant with the status the edge answers; the
    /// match has no wildcard, so a new variant does not compile until it is
    /// listed here.
    fn every_variant() -> Vec<(MailError, u16)> {
        let mut all = Vec::new();
        let mut next = Some(MailError::Config(
            "Set `mail.smtp.host` (KIKI__MAIL__SMTP__HOST).".into(),
        ));
        while let Some(e) = next.take() {
            let (status, following) = match &e {
                MailError::Config(_) => (
                    500,
                    Some(MailError::Send(
                        "permanent error (550): relay.internal.example refused".into(),
                    )),
                ),
                MailError::Send(_) => (
                    502,
                    Some(MailError::InvalidMessage(
                        "The address `x` is not an email address.".into(),
                    )),
                ),
                MailError::InvalidMessage(_) => {
                    (400, Some(MailError::Store(StoreError::ForeignKeyViolation)))
                }
                MailError::Store(_) => (409, None),
            };
            all.push((e, status));
            next = following;
        }
        all
    }

    #[test]
    fn every_variant_has_its_status_a_sentence_and_no_internal_text() {
        let all = every_variant();
        assert_eq!(all.len(), 4);
        for (e, status) in &all {
            let problems = public_face_problems(e, *status);
            assert!(problems.is_empty(), "{e:?}: {problems:?}");
        }
        let send = MailError::Send("relay.internal.example refused".into());
        assert!(!send.public_message().contains("relay"));
    }
}
