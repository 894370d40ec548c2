//! The one error envelope: `{"error":{"code","message","request_id","details"}}`.
//! Handlers return `ApiError`; every context's error converts into it here,
//! at the edge, through one blanket `From` over `kiki_core::DomainError`: the
//! context chooses the code (and so the status), the public message and the
//! details next to its enum; the edge logs what is internal and renders.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kiki_core::{DomainError, ErrorCode, FieldError, INTERNAL_MESSAGE};
use serde::Serialize;

/// An error on its way to becoming an HTTP response.
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Option<serde_json::Value>,
    /// Seconds for `Retry-After` (429, 503).
    pub retry_after: Option<u64>,
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code, e.g. `validation_failed`.
    pub code: String,
    /// A sentence for people.
    pub message: String,
    /// The id of the request, also in the `x-request-id` header and the logs.
    pub request_id: Option<String>,
    /// Extra structure, e.g. the list of invalid fields; `{}` when there is none.
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    pub fn with_details(mut self, details: serde_json::Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn not_found(what: &str) -> Self {
        ApiError::new(ErrorCode::NotFound, format!("{what} was not found."))
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::BadRequest, message)
    }

    /// 422 listing every invalid field.
    pub fn validation(fields: Vec<FieldError>) -> Self {
        ApiError::new(
            ErrorCode::ValidationFailed,
            kiki_core::fields_message(&fields),
        )
        .with_details(kiki_core::field_details(&fields))
    }

    /// A 500 whose cause is logged here and never shown to the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        let cause = cause.to_string();
        tracing::error!(error.cause = %cause, "internal error");
        crate::error_tracking::capture_error("internal", &cause);
        ApiError::new(ErrorCode::Internal, INTERNAL_MESSAGE)
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = ErrorEnvelope {
            error: ErrorBody {
                code: self.code.as_str().to_owned(),
                message: self.message,
                request_id: kiki_outbound::context::current_request_id(),
                details: match self.details {
                    Some(d @ serde_json::Value::Object(_)) => d,
                    Some(other) => serde_json::json!({ "value": other }),
                    None => serde_json::Value::Object(serde_json::Map::new()),
                },
            },
        };
        let mut resp = (status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

/// Every context error becomes the envelope here. An internal error (the
/// database down, a bug, a corrupt row) is logged with its cause (the error's
/// `Display`) inside the request's span, and the client reads only the
/// generic sentence; anything else is the caller's to fix and answers the
/// context's own sentence and details (its cause is logged at debug, for the
/// operator reproducing a report).
impl<E: DomainError> From<E> for ApiError {
    fn from(e: E) -> Self {
        let code = e.code();
        if e.is_internal() {
            tracing::error!(error.code = %code, error.cause = %e, "internal error");
        } else {
            tracing::debug!(error.code = %code, error.cause = %e, "request refused");
        }
        // The cause of every 5xx (an upstream's 502 or 503 too) goes to error tracking.
        if e.is_internal() || code.http_status() >= 500 {
            crate::error_tracking::capture_error(code.as_str(), &e.to_string());
        }
        let details = e.details();
        ApiError {
            code,
            message: e.public_message(),
            details: details
                .as_object()
                .is_some_and(|d| !d.is_empty())
                .then_some(details),
            retry_after: e.retry_after(),
        }
    }
}

/// The envelope for a status produced outside a handler (404 fallback, 405,
/// 408 timeout, 413 body limit, …): maps the status back to its code.
pub fn envelope_for_status(status: StatusCode) -> ApiError {
    let code = match status.as_u16() {
        400 => ErrorCode::BadRequest,
        401 => ErrorCode::Unauthenticated,
        403 => ErrorCode::Forbidden,
        404 => ErrorCode::NotFound,
        405 => ErrorCode::MethodNotAllowed,
        408 => ErrorCode::RequestTimeout,
        409 => ErrorCode::Conflict,
        413 => ErrorCode::PayloadTooLarge,
        415 => ErrorCode::UnsupportedMediaType,
        422 => ErrorCode::ValidationFailed,
        429 => ErrorCode::RateLimited,
        502 => ErrorCode::UpstreamFailed,
        503 => ErrorCode::Unavailable,
        _ if status.is_client_error() => ErrorCode::BadRequest,
        _ => ErrorCode::Internal,
    };
    let message = match code {
        ErrorCode::NotFound => "No route matches this path.".to_owned(),
        ErrorCode::MethodNotAllowed => "This method is not allowed on this path.".to_owned(),
        ErrorCode::RequestTimeout => "The request took longer than the server allows.".to_owned(),
        ErrorCode::PayloadTooLarge => {
            "The request body is larger than this endpoint accepts.".to_owned()
        }
        _ => format!("{}.", code.name()),
    };
    ApiError::new(code, message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiki_identity::IdentityError;
    use kiki_store::StoreError;
    use serde_json::{Value, json};

    /// Status, `Retry-After` and body of the response an error renders.
    async fn render(e: ApiError) -> (u16, Option<String>, Value) {
        let resp = e.into_response();
        let status = resp.status().as_u16();
        let retry = resp
            .headers()
            .get(header::RETRY_AFTER)
            .map(|v| v.to_str().unwrap().to_owned());
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, retry, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn a_domain_error_renders_the_envelope_with_object_details() {
        let invalid = IdentityError::invalid("email", "Not an email address.");
        let (status, retry, body) = render(invalid.into()).await;
        assert_eq!((status, retry), (422, None));
        assert_eq!(
            body,
            json!({"error": {
                "code": "validation_failed",
                "message": "The field `email` is invalid: Not an email address.",
                "request_id": null,
                "details": {"fields": [{"field": "email", "message": "Not an email address."}]}
            }})
        );

        // No details: still an object.
        let (status, _, body) = render(IdentityError::NotFound("The user").into()).await;
        assert_eq!(status, 404);
        assert_eq!(body["error"]["message"], "The user was not found.");
        assert_eq!(body["error"]["details"], json!({}));

        // A wait carries Retry-After.
        let locked = IdentityError::Locked {
            retry_after_secs: 900,
        };
        let (status, retry, body) = render(locked.into()).await;
        assert_eq!((status, retry.as_deref()), (423, Some("900")));
        assert_eq!(body["error"]["code"], "locked");
        assert!(body["error"]["details"].is_object());
    }

    #[tokio::test]
    async fn internal_causes_and_constraint_names_never_reach_the_client() {
        let unique = IdentityError::Store(StoreError::UniqueViolation {
            constraint: Some("users_email_key".into()),
        });
        let (status, _, body) = render(unique.into()).await;
        assert_eq!(status, 409);
        assert_eq!(body["error"]["code"], "conflict");
        let text = body.to_string();
        assert!(
            !text.contains("users_email_key") && !text.contains("constraint"),
            "{text}"
        );

        let database = StoreError::Corrupt("users.totp_secret is not base64".into());
        let (status, _, body) = render(database.into()).await;
        assert_eq!(status, 500);
        assert_eq!(body["error"]["message"], INTERNAL_MESSAGE);
        assert_eq!(body["error"]["details"], json!({}));

        // A busy pool keeps its 503 and says nothing more.
        let (status, _, body) = render(StoreError::PoolTimeout.into()).await;
        assert_eq!(status, 503);
        assert_eq!(body["error"]["code"], "unavailable");
        assert_eq!(body["error"]["message"], INTERNAL_MESSAGE);
    }
}
