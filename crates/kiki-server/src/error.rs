//! The one error envelope: `{"error":{"code","message","request_id","details"}}`.
//! Handlers return `ApiError`; every crate's error enum converts into it here,
//! at the edge, through the code table in `kiki_core::ErrorCode`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kiki_core::{ErrorCode, FieldError};
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
        let message = match fields.as_slice() {
            [one] => format!("The field `{}` is invalid: {}", one.field, one.message),
            many => format!("{} fields are invalid.", many.len()),
        };
        ApiError::new(ErrorCode::ValidationFailed, message)
            .with_details(serde_json::json!({ "fields": fields }))
    }

    /// A 500 whose cause is logged here and never shown to the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error.cause = %cause, "internal error");
        ApiError::new(
            ErrorCode::Internal,
            "An internal error occurred; the request id identifies it in the logs.",
        )
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

impl From<kiki_store::StoreError> for ApiError {
    fn from(e: kiki_store::StoreError) -> Self {
        match e.code() {
            ErrorCode::Internal | ErrorCode::Unavailable => {
                let code = e.code();
                let mut err = ApiError::internal(&e);
                err.code = code;
                err
            }
            code => ApiError::new(code, e.to_string()),
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

impl From<kiki_identity::IdentityError> for ApiError {
    fn from(e: kiki_identity::IdentityError) -> Self {
        use kiki_identity::IdentityError as E;
        match e {
            E::Store(s) => s.into(),
            E::Invalid(fields) => ApiError::validation(fields),
            E::Shield(_) | E::Explain(_) | E::Credential(_) if e.code() == ErrorCode::Internal => {
                ApiError::internal(&e)
            }
            E::Mail(ref m) if e.code() == ErrorCode::Internal => ApiError::internal(m),
            other => {
                let mut err = ApiError::new(other.code(), other.to_string());
                err.retry_after = other.retry_after();
                err
            }
        }
    }
}

impl From<kiki_shield::ShieldError> for ApiError {
    fn from(e: kiki_shield::ShieldError) -> Self {
        match e {
            kiki_shield::ShieldError::Store(s) => s.into(),
            other if other.code() == ErrorCode::Internal => ApiError::internal(&other),
            other => ApiError::new(other.code(), other.to_string()),
        }
    }
}

impl From<kiki_explain::ExplainError> for ApiError {
    fn from(e: kiki_explain::ExplainError) -> Self {
        match e {
            kiki_explain::ExplainError::Store(s) => s.into(),
            kiki_explain::ExplainError::Invalid { field, message } => {
                ApiError::validation(vec![FieldError::new(field, message)])
            }
        }
    }
}
