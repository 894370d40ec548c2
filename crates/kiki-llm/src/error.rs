//! Why a call to the language model gave nothing usable, and how the HTTP
//! edge answers each case ([`DomainError`]). The variants follow what a
//! caller does next: fix the settings, wait and retry, or show the person
//! that the generator failed. No message carries the provider key.

use std::time::Duration;

use kiki_core::{DomainError, ErrorCode, INTERNAL_MESSAGE};

/// A failed call to the language model.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LlmError {
    /// The settings cannot work, or the feature asked for is not set up
    /// (no image model). Names the setting to fix.
    #[error("The language model is not configured: {0}")]
    NotConfigured(String),
    /// No answer within `llm.timeout` (or the provider gave up: 408).
    #[error("The language model did not answer in time.")]
    Timeout,
    /// The provider still refused after the outbound client's retries (429).
    #[error("{}", rate_limited_message(.retry_after))]
    RateLimited { retry_after: Option<Duration> },
    /// The provider refused the key (401 or 403).
    #[error("The language model provider refused the API key (llm.api_key).")]
    Unauthorized,
    /// The provider refused the request itself (another 4xx): an unknown
    /// model, a prompt too long, a policy refusal. `message` is the
    /// provider's own reason.
    #[error("The language model provider refused the request ({status}): {message}")]
    Rejected { status: u16, message: String },
    /// The provider failed (5xx) or could not be reached.
    #[error("{}", unavailable_message(.status, .message))]
    Unavailable {
        status: Option<u16>,
        message: String,
    },
    /// The answer was not the JSON asked for, even after the repair round.
    #[error("The language model's answer was unusable: {}", .problems.join(" "))]
    InvalidAnswer { problems: Vec<String> },
    /// The response body is not the shape the API documents.
    #[error("The language model provider's response could not be read: {0}")]
    Decode(String),
}

fn rate_limited_message(retry_after: &Option<Duration>) -> String {
    match retry_after {
        Some(d) => format!(
            "The language model provider is rate limiting requests; retry in {} seconds.",
            d.as_secs()
        ),
        None => "The language model provider is rate limiting requests; retry later.".to_owned(),
    }
}

fn unavailable_message(status: &Option<u16>, message: &str) -> String {
    match status {
        Some(s) => format!("The language model provider failed ({s}): {message}"),
        None => format!("The language model provider could not be reached: {message}"),
    }
}

impl DomainError for LlmError {
    fn code(&self) -> ErrorCode {
        match self {
            LlmError::NotConfigured(_) => ErrorCode::Unavailable,
            LlmError::RateLimited { .. } => ErrorCode::Unavailable,
            LlmError::Unauthorized => ErrorCode::Internal,
            LlmError::Timeout
            | LlmError::Rejected { .. }
            | LlmError::Unavailable { .. }
            | LlmError::InvalidAnswer { .. }
            | LlmError::Decode(_) => ErrorCode::UpstreamFailed,
        }
    }

    /// Fixed sentences: the provider's own text (its reasons, its host) is
    /// in `Display`, for the log, not for the client.
    fn public_message(&self) -> String {
        match self {
            LlmError::NotConfigured(_) => {
                "The text and image generator is not set up on this server.".to_owned()
            }
            LlmError::Timeout => {
                "The language model did not answer in time. Try again later.".to_owned()
            }
            LlmError::RateLimited { .. } => {
                "The language model is busy. Try again later.".to_owned()
            }
            LlmError::Unauthorized => INTERNAL_MESSAGE.to_owned(),
            LlmError::Rejected { .. } => {
                "The language model provider refused the request.".to_owned()
            }
            LlmError::Unavailable { .. } => {
                "The language model provider is unavailable. Try again later.".to_owned()
            }
            LlmError::InvalidAnswer { .. } => {
                "The language model's answer was unusable. Try again.".to_owned()
            }
            LlmError::Decode(_) => {
                "The language model provider answered in an unexpected form.".to_owned()
            }
        }
    }

    /// A key the provider refuses is the operator's to fix: the edge logs it
    /// and the client reads the internal-error sentence.
    fn is_internal(&self) -> bool {
        matches!(self, LlmError::Unauthorized)
    }

    fn retry_after(&self) -> Option<u64> {
        match self {
            LlmError::RateLimited {
                retry_after: Some(d),
            } => Some(d.as_secs().max(1)),
            _ => None,
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
    fn every_variant() -> Vec<(LlmError, u16)> {
        let all = vec![
            LlmError::NotConfigured("llm.image_model is not set.".into()),
            LlmError::Timeout,
            LlmError::RateLimited {
                retry_after: Some(Duration::from_secs(7)),
            },
            LlmError::Unauthorized,
            LlmError::Rejected {
                status: 400,
                message: "The model `gpt-9` does not exist.".into(),
            },
            LlmError::Unavailable {
                status: Some(502),
                message: "upstream llm-gw.internal.example refused".into(),
            },
            LlmError::InvalidAnswer {
                problems: vec!["`headline`: must not be empty.".into()],
            },
            LlmError::Decode("missing field `choices`".into()),
        ];
        all.into_iter()
            .map(|e| {
                let status = match &e {
                    LlmError::NotConfigured(_) | LlmError::RateLimited { .. } => 503,
                    LlmError::Unauthorized => 500,
                    LlmError::Timeout
                    | LlmError::Rejected { .. }
                    | LlmError::Unavailable { .. }
                    | LlmError::InvalidAnswer { .. }
                    | LlmError::Decode(_) => 502,
                };
                (e, status)
            })
            .collect()
    }

    #[test]
    fn every_variant_has_its_status_a_sentence_and_no_provider_text() {
        for (e, status) in every_variant() {
            let problems = public_face_problems(&e, status);
            assert!(problems.is_empty(), "{e:?}: {problems:?}");
            let public = e.public_message();
            for leak in ["gpt-9", "llm-gw", "headline", "choices"] {
                assert!(!public.contains(leak), "{e:?}: {public}");
            }
            let shown = e.to_string();
            assert!(shown.starts_with(char::is_uppercase), "{e:?}: {shown}");
        }
    }

    #[test]
    fn a_rate_limit_tells_when_to_retry() {
        let e = LlmError::RateLimited {
            retry_after: Some(Duration::from_secs(7)),
        };
        assert_eq!(e.retry_after(), Some(7));
        assert!(e.to_string().contains("retry in 7 seconds"), "{e}");
        assert_eq!(
            LlmError::RateLimited { retry_after: None }.retry_after(),
            None
        );
    }
}
