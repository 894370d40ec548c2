//! The one table of error codes shared by every crate: stable `code` string →
//! HTTP status → human name, and [`DomainError`], the face every context's
//! error shows the HTTP edge. Crates keep their own `thiserror` enums and
//! implement `DomainError` next to them (code, public message, details); the
//! edge converts any `DomainError` into its envelope, and nothing else chooses
//! a status.

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
    Gone                => ("gone", 410, "The resource existed but is no longer available"),
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

/// The message a client reads for a failure that is the server's (a database
/// that is down, a bug, a corrupt row); the edge logs the cause with the
/// request id.
pub const INTERNAL_MESSAGE: &str =
    "An internal error occurred; the request id identifies it in the logs.";

/// An error of a bounded context as the HTTP edge answers it. Implemented by
/// every context's error enum next to its definition; the edge
/// (`kiki_server::ApiError`) turns any `DomainError` into the envelope
/// `{"error":{"code","message","request_id","details"}}` through one blanket
/// conversion.
///
/// `Display` stays the full cause for logs and the CLI; only
/// [`public_message`](DomainError::public_message) and
/// [`details`](DomainError::details) reach a client.
pub trait DomainError: std::error::Error + Send + Sync + 'static {
    /// The entry of the shared code table, and so the HTTP status.
    fn code(&self) -> ErrorCode;

    /// A sentence for the client. An internal failure answers
    /// [`INTERNAL_MESSAGE`]; no message ever carries SQL, a constraint or
    /// index name, a file path or an upstream server's text.
    fn public_message(&self) -> String;

    /// Extra structure for the envelope: always a JSON object, `{}` when there
    /// is nothing to add (a 422 lists its fields with [`field_details`]).
    fn details(&self) -> serde_json::Value {
        no_details()
    }

    /// Whether the cause is the server's rather than the caller's: the edge
    /// then logs the whole error (its `Display` and sources) and the client
    /// reads only [`INTERNAL_MESSAGE`]. By default, every `internal` code.
    fn is_internal(&self) -> bool {
        self.code() == ErrorCode::Internal
    }

    /// Seconds for a `Retry-After` header (429, 423, 503), when known.
    fn retry_after(&self) -> Option<u64> {
        None
    }
}

/// The empty `details` object.
pub fn no_details() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

/// The `details` of a 422: `{"fields": [{"field", "message"}, …]}`.
pub fn field_details(fields: &[FieldError]) -> serde_json::Value {
    serde_json::json!({ "fields": fields })
}

/// The message of a 422: the one invalid field and why, or how many are.
pub fn fields_message(fields: &[FieldError]) -> String {
    match fields {
        [one] => format!("The field `{}` is invalid: {}", one.field, one.message),
        many => format!("{} fields are invalid.", many.len()),
    }
}

/// Fragments that betray storage internals; no public message contains one.
const STORAGE_WORDS: &[&str] = &[
    "constraint",
    "unique",
    "_idx",
    "_key",
    "_pkey",
    "sqlite",
    "sqlx",
    "postgres",
    "sqlstate",
    "23505",
    "select ",
    "insert into",
    "on conflict",
];

/// What is wrong with how `err` would be answered, given the HTTP status it
/// must have; empty when nothing is. The variant tests of every context call
/// it for one value of each variant: the status is the intended one, the
/// message is a sentence (non-empty, not starting in lower case, ending with a
/// full stop, `?` or `!`) without storage words, `details` is an object, and an
/// internal error shows only [`INTERNAL_MESSAGE`] and `{}`.
pub fn public_face_problems(err: &dyn DomainError, expected_status: u16) -> Vec<String> {
    let mut problems = Vec::new();
    let status = err.code().http_status();
    if status != expected_status {
        problems.push(format!(
            "answers {status} ({}), expected {expected_status}",
            err.code()
        ));
    }
    let message = err.public_message();
    let trimmed = message.trim();
    if trimmed.is_empty() {
        problems.push("the public message is empty".to_owned());
    } else {
        if trimmed.chars().next().is_some_and(char::is_lowercase) {
            problems.push(format!(
                "the public message starts in lower case: {message:?}"
            ));
        }
        if !trimmed.ends_with(['.', '?', '!']) {
            problems.push(format!("the public message is not a sentence: {message:?}"));
        }
    }
    let lower = message.to_lowercase();
    for word in STORAGE_WORDS {
        if lower.contains(word) {
            problems.push(format!(
                "the public message names storage ({word}): {message:?}"
            ));
        }
    }
    let details = err.details();
    if !details.is_object() {
        problems.push(format!("details is not a JSON object: {details}"));
    }
    if err.is_internal() {
        if message != INTERNAL_MESSAGE {
            problems.push(format!("an internal error shows its cause: {message:?}"));
        }
        if details != no_details() {
            problems.push(format!("an internal error shows details: {details}"));
        }
        if !(500..600).contains(&status) {
            problems.push(format!("an internal error answers {status}"));
        }
    }
    problems
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

    #[derive(Debug, thiserror::Error)]
    enum Sample {
        #[error("The name is taken.")]
        Taken,
        #[error("disk full at /var/lib/kiki")]
        Disk,
        #[error("{}", fields_message(.0))]
        Invalid(Vec<FieldError>),
    }

    impl DomainError for Sample {
        fn code(&self) -> ErrorCode {
            match self {
                Sample::Taken => ErrorCode::Conflict,
                Sample::Disk => ErrorCode::Internal,
                Sample::Invalid(_) => ErrorCode::ValidationFailed,
            }
        }
        fn public_message(&self) -> String {
            match self {
                Sample::Disk => INTERNAL_MESSAGE.to_owned(),
                other => other.to_string(),
            }
        }
        fn details(&self) -> serde_json::Value {
            match self {
                Sample::Invalid(f) => field_details(f),
                _ => no_details(),
            }
        }
    }

    #[test]
    fn defaults_and_helpers_shape_the_public_face() {
        assert!(Sample::Disk.is_internal());
        assert!(!Sample::Taken.is_internal());
        assert_eq!(Sample::Taken.retry_after(), None);
        assert_eq!(Sample::Taken.details(), serde_json::json!({}));
        let one = Sample::Invalid(vec![FieldError::new("name", "Must not be empty.")]);
        assert_eq!(
            one.public_message(),
            "The field `name` is invalid: Must not be empty."
        );
        assert_eq!(
            one.details(),
            serde_json::json!({"fields": [{"field": "name", "message": "Must not be empty."}]})
        );
        let two = Sample::Invalid(vec![FieldError::new("a", "x."), FieldError::new("b", "y.")]);
        assert_eq!(two.public_message(), "2 fields are invalid.");
        for (e, status) in [(Sample::Taken, 409), (Sample::Disk, 500), (one, 422)] {
            assert_eq!(
                public_face_problems(&e, status),
                Vec::<String>::new(),
                "{e:?}"
            );
        }
    }

    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct Leaky(&'static str, ErrorCode);

    impl DomainError for Leaky {
        fn code(&self) -> ErrorCode {
            self.1
        }
        fn public_message(&self) -> String {
            self.0.to_owned()
        }
    }

    #[test]
    fn the_check_finds_leaks_and_wrong_statuses() {
        let unique = Leaky(
            "UNIQUE constraint failed: users.email.",
            ErrorCode::Conflict,
        );
        assert!(!public_face_problems(&unique, 409).is_empty());
        let internal = Leaky("disk full.", ErrorCode::Internal);
        assert!(!public_face_problems(&internal, 500).is_empty());
        let fine = Leaky("The name is taken.", ErrorCode::Conflict);
        assert_eq!(public_face_problems(&fine, 409), Vec::<String>::new());
        assert!(!public_face_problems(&fine, 422).is_empty());
        assert!(!public_face_problems(&Leaky("no capital.", ErrorCode::Conflict), 409).is_empty());
        assert!(!public_face_problems(&Leaky("No full stop", ErrorCode::Conflict), 409).is_empty());
    }
}
