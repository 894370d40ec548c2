//! What can go wrong in the ad-platforms service, and its public face
//! ([`DomainError`]); the HTTP edge converts it into the envelope.

use kiki_core::{DomainError, ErrorCode, FieldError, INTERNAL_MESSAGE};
use kiki_platforms::PlatformError;

#[derive(Debug, thiserror::Error)]
pub enum PlatformsError {
    /// Request fields are invalid; each is named.
    #[error("{}", invalid_message(.0))]
    Invalid(Vec<FieldError>),
    /// The state refuses the action (no connection, a broken one, a used
    /// OAuth state).
    #[error("{0}")]
    Conflict(String),
    #[error("{0} was not found.")]
    NotFound(&'static str),
    /// The platform refused or failed; its message is kept.
    #[error("{}", platform_message(platform, source))]
    Platform {
        platform: &'static str,
        #[source]
        source: PlatformError,
    },
    /// This server has no credentials for the platform's real API.
    #[error("{0}")]
    NotConfigured(String),
    #[error(transparent)]
    Store(#[from] kiki_store::StoreError),
    #[error(transparent)]
    Shield(#[from] kiki_shield::ShieldError),
    #[error(transparent)]
    Explain(#[from] kiki_explain::ExplainError),
    /// A failure the caller cannot fix.
    #[error("{0}")]
    Internal(String),
}

fn platform_message(platform: &str, source: &PlatformError) -> String {
    let name = kiki_twin::Platform::parse(platform).map_or(platform, |p| p.display_name());
    let text = source.to_string();
    let text = text.trim_end_matches('.');
    format!("{name}: {text}.")
}

fn invalid_message(fields: &[FieldError]) -> String {
    match fields {
        [one] => format!("The field `{}` is invalid: {}", one.field, one.message),
        _ => format!("{} fields are invalid.", fields.len()),
    }
}

pub type Result<T> = std::result::Result<T, PlatformsError>;

impl From<kiki_explain::RecordError> for PlatformsError {
    fn from(e: kiki_explain::RecordError) -> Self {
        match e {
            kiki_explain::RecordError::Store(e) => PlatformsError::Store(e),
            kiki_explain::RecordError::Audit(e) => PlatformsError::Shield(e),
            kiki_explain::RecordError::Decision(e) => PlatformsError::Explain(e),
        }
    }
}

impl PlatformsError {
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        PlatformsError::Invalid(vec![FieldError::new(field, message)])
    }
}

impl DomainError for PlatformsError {
    fn code(&self) -> ErrorCode {
        match self {
            PlatformsError::Invalid(_) => ErrorCode::ValidationFailed,
            PlatformsError::Conflict(_) | PlatformsError::NotConfigured(_) => ErrorCode::Conflict,
            PlatformsError::NotFound(_) => ErrorCode::NotFound,
            PlatformsError::Platform { source, .. } => match source {
                PlatformError::InvalidRequest { .. } => ErrorCode::ValidationFailed,
                PlatformError::NotFound { .. } => ErrorCode::NotFound,
                PlatformError::RateLimited { .. } => ErrorCode::RateLimited,
                PlatformError::AuthExpired { .. }
                | PlatformError::Revoked { .. }
                | PlatformError::Permission { .. } => ErrorCode::Conflict,
                PlatformError::Transient { .. } => ErrorCode::Unavailable,
            },
            PlatformsError::Store(e) => e.code(),
            PlatformsError::Shield(e) => e.code(),
            PlatformsError::Explain(e) => e.code(),
            PlatformsError::Internal(_) => ErrorCode::Internal,
        }
    }

    fn public_message(&self) -> String {
        match self {
            PlatformsError::Internal(_) => INTERNAL_MESSAGE.to_owned(),
            PlatformsError::Invalid(_)
            | PlatformsError::Conflict(_)
            | PlatformsError::NotFound(_)
            | PlatformsError::Platform { .. }
            | PlatformsError::NotConfigured(_) => self.to_string(),
            PlatformsError::Store(e) => e.public_message(),
            PlatformsError::Shield(e) => e.public_message(),
            PlatformsError::Explain(e) => e.public_message(),
        }
    }

    /// A 422 lists its fields; a platform's refusal names its field and code.
    fn details(&self) -> serde_json::Value {
        match self {
            PlatformsError::Invalid(fields) => kiki_core::field_details(fields),
            PlatformsError::Platform { platform, source } => {
                let mut d =
                    serde_json::json!({ "platform": platform, "platform_error": source.code() });
                if let PlatformError::InvalidRequest { field: Some(f), .. } = source {
                    d["fields"] =
                        serde_json::json!([{ "field": f, "message": source.to_string() }]);
                }
                if let PlatformError::RateLimited {
                    retry_after_secs, ..
                } = source
                {
                    d["retry_after_secs"] = serde_json::json!(retry_after_secs);
                }
                d
            }
            PlatformsError::Store(e) => e.details(),
            PlatformsError::Shield(e) => e.details(),
            PlatformsError::Explain(e) => e.details(),
            PlatformsError::Conflict(_)
            | PlatformsError::NotFound(_)
            | PlatformsError::NotConfigured(_)
            | PlatformsError::Internal(_) => kiki_core::no_details(),
        }
    }

    fn is_internal(&self) -> bool {
        match self {
            PlatformsError::Store(e) => e.is_internal(),
            PlatformsError::Shield(e) => e.is_internal(),
            PlatformsError::Explain(e) => e.is_internal(),
            other => other.code() == ErrorCode::Internal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_a_public_face() {
        let cases: Vec<(PlatformsError, u16)> = vec![
            (PlatformsError::field("platform", "Unknown platform."), 422),
            (PlatformsError::Conflict("No connection.".into()), 409),
            (PlatformsError::NotFound("The connection"), 404),
            (
                PlatformsError::Platform {
                    platform: "meta",
                    source: PlatformError::RateLimited {
                        retry_after_secs: 60,
                        message: "slow down".into(),
                    },
                },
                429,
            ),
            (
                PlatformsError::Platform {
                    platform: "google",
                    source: PlatformError::Transient {
                        message: "500".into(),
                    },
                },
                503,
            ),
            (PlatformsError::NotConfigured("No Meta app.".into()), 409),
            (PlatformsError::Internal("boom".into()), 500),
        ];
        for (e, status) in cases {
            match &e {
                PlatformsError::Invalid(_)
                | PlatformsError::Conflict(_)
                | PlatformsError::NotFound(_)
                | PlatformsError::Platform { .. }
                | PlatformsError::NotConfigured(_)
                | PlatformsError::Store(_)
                | PlatformsError::Shield(_)
                | PlatformsError::Explain(_)
                | PlatformsError::Internal(_) => {}
            }
            let problems = kiki_core::error::public_face_problems(&e, status);
            assert!(problems.is_empty(), "{e:?}: {problems:?}");
        }
    }
}
