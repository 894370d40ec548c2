//! The one table of error codes shared by every crate: stable `code` string →
//! HTTP status → human name. Crates keep their own `thiserror` enums and map
//! each variant to one of these at the HTTP edge; nothing else chooses a status.

use serde::Serialize;

macro_rules! error_codes {
    ($( $variant:ident => ($code:literal, $status:literal, $name:literal) ),+ $(,)?) => {
        /// A stable, documented error code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ErrorCode { $( $variant ),+ }

        impl ErrorCode {
            /// Every code, in table order (used by the docs and the tests).
            pub const ALL: &'static [ErrorCode] = &[ $( ErrorCode::$variant ),+ ];

            /// The machine-readable code clients match on.
            pub const fn as_str(self) -> &'static str {
                match self { $( ErrorCode::$variant => $code ),+ }
            }
            /// The HTTP status the edge answers with.
            pub const fn http_status(self) -> u16 {
                match self { $( ErrorCode::$variant => $status ),+ }
            }
            /// A short human name for documentation.
            pub const fn name(self) -> &'static str {
                match self { $( ErrorCode::$variant => $name ),+ }
            }
        }
    };
}

error_codes! {
    BadRequest          => ("bad_request", 400, "The request is malformed"),
    InvalidJson         => ("invalid_json", 400, "The body is not valid JSON for this endpoint"),
    Unauthenticated     => ("unauthenticated", 401, "Credentials are missing or invalid"),
    MfaRequired         => ("mfa_required", 401, "A second factor is required"),
    Forbidden           => ("forbidden", 403, "The caller may not do this"),
    NotFound            => ("not_found", 404, "No such resource"),
    UnknownApiVersion   => ("unknown_api_version", 404, "The API version does not exist"),
    MethodNotAllowed    => ("method_not_allowed", 405, "The method is not allowed on this route"),
    RequestTimeout      => ("request_timeout", 408, "The request took too long"),
    Conflict            => ("conflict", 409, "The request conflicts with the current state"),
    IdempotencyInProgress => ("idempotency_in_progress", 409, "A request with this Idempotency-Key is still running"),
    PayloadTooLarge     => ("payload_too_large", 413, "The body exceeds the size limit"),
    UnsupportedMediaType=> ("unsupported_media_type", 415, "The content type is not accepted"),
    ValidationFailed    => ("validation_failed", 422, "One or more fields are invalid"),
    IdempotencyKeyReused => ("idempotency_key_reused", 422, "The Idempotency-Key was used with a different request"),
    Locked              => ("locked", 423, "The account is temporarily locked"),
    RateLimited         => ("rate_limited", 429, "Too many requests"),
    Internal            => ("internal", 500, "An internal error occurred"),
    UpstreamFailed      => ("upstream_failed", 502, "An external service failed"),
    Unavailable         => ("unavailable", 503, "The service is not ready"),
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One invalid field in a request: the JSON path and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// Dotted path to the field, e.g. `plan.allocations[0].daily_budget`.
    pub field: String,
    /// A full sentence saying what is wrong.
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_statuses_are_errors() {
        let mut seen = HashSet::new();
        for c in ErrorCode::ALL {
            assert!(seen.insert(c.as_str()), "duplicate code {}", c.as_str());
            assert!((400..600).contains(&c.http_status()), "{c}");
            assert!(
                c.as_str()
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch == '_')
            );
        }
    }
}
