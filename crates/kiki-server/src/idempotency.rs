//! `Idempotency-Key` on creating requests (IETF
//! draft-ietf-httpapi-idempotency-key-header). A client that lost the answer
//! to a `POST` (a timeout, a dropped connection, a server restart) sends it
//! again with the same key and gets the first answer, with
//! `Idempotent-Replayed: true`, instead of creating a second line item,
//! simulation or upload.
//!
//! The layer wraps every `POST` of the API, so a new creating route honours
//! the header without doing anything. A key belongs to the authenticated
//! caller and the active organisation: another caller's identical key is a
//! different key. The same key with another request (method, path, query or
//! body) is refused with 422; a retry while the first request still runs
//! gets 409. Answers are kept for a day, except server errors, timeouts and
//! rate limits, after which the key is released so the retry runs.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kiki_core::ErrorCode;
use kiki_identity::{Caller, Principal};
use kiki_store::{Claim, IdempotencyKeys, StoredAnswer};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::state::AppState;

/// The request header.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Set on an answer that is a stored one.
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

/// Longest accepted key (a UUID is 36 characters).
const MAX_KEY_LEN: usize = 255;

/// Who owns a key: the caller (person or API key) in its active organisation.
fn owner_of(p: &Principal) -> String {
    let org = p.scope.org_id().0;
    match &p.caller {
        Caller::User { user_id, .. } => format!("user:{}@{org}", user_id.0),
        Caller::ApiKey { key_id, .. } => format!("key:{key_id}@{org}"),
    }
}

fn request_hash(req: &axum::http::request::Parts, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(req.method.as_str().as_bytes());
    h.update([0]);
    h.update(req.uri.path().as_bytes());
    h.update([0]);
    h.update(req.uri.query().unwrap_or("").as_bytes());
    h.update([0]);
    h.update(body);
    h.finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
}

/// Answers worth keeping: a retry of a request that timed out, was rate
/// limited or met a server error should run again.
fn keep(status: StatusCode) -> bool {
    !(status.is_server_error()
        || status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS)
}

/// The layer (on the API router).
pub async fn idempotency(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST {
        return next.run(req).await;
    }
    let Some(raw) = req.headers().get(IDEMPOTENCY_KEY) else {
        return next.run(req).await;
    };
    let key = match raw.to_str() {
        Ok(k)
            if !k.is_empty()
                && k.len() <= MAX_KEY_LEN
                && k.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            k.to_owned()
        }
        _ => {
            return ApiError::bad_request(format!(
                "The Idempotency-Key header must be 1 to {MAX_KEY_LEN} visible ASCII characters, such as a UUID."
            ))
            .into_response();
        }
    };
    let (parts, body) = req.into_parts();
    // Without valid credentials there is no owner; the route answers the
    // authentication error itself.
    let principal = match crate::auth::authenticate(&state.identity, &parts).await {
        Ok(p) => p,
        Err(_) => return next.run(Request::from_parts(parts, body)).await,
    };
    let limit = state
        .config
        .http
        .body_limit_bytes
        .max(state.config.http.upload_body_limit_bytes);
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!(
                    "A request with an Idempotency-Key may have a body of at most {limit} bytes (http.upload_body_limit_bytes)."
                ),
            )
            .into_response();
        }
    };
    let owner = owner_of(&principal);
    let hash = request_hash(&parts, &bytes);
    let keys = IdempotencyKeys::new(state.db.clone());
    let now = state.clock.now();
    // A claim left unanswered for twice the request timeout belonged to a
    // process that died; the retry takes it over.
    let abandoned_after =
        time::Duration::seconds(2 * state.config.http.request_timeout_secs.max(1) as i64);
    match keys.claim(&owner, &key, &hash, now, abandoned_after).await {
        Err(e) => return ApiError::from(e).into_response(),
        Ok(Claim::Replay(answer)) => return replay(answer),
        Ok(Claim::Mismatch) => {
            return ApiError::new(
                ErrorCode::IdempotencyKeyReused,
                "This Idempotency-Key was already used with a different request; use a new key for a new request.",
            )
            .into_response();
        }
        Ok(Claim::InProgress) => {
            let mut e = ApiError::new(
                ErrorCode::IdempotencyInProgress,
                "The first request with this Idempotency-Key is still being processed; retry shortly.",
            );
            e.retry_after = Some(1);
            return e.into_response();
        }
        Ok(Claim::Claimed) => {}
    }
    let resp = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    let status = resp.status();
    if !keep(status) {
        if let Err(e) = keys.release(&owner, &key).await {
            tracing::warn!(error = %e, "could not release an idempotency key");
        }
        return resp;
    }
    let (mut rparts, rbody) = resp.into_parts();
    let rbytes = match axum::body::to_bytes(rbody, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "could not read an answer to store it for its idempotency key");
            let _ = keys.release(&owner, &key).await;
            return ApiError::internal(e).into_response();
        }
    };
    let header_text = |name: header::HeaderName| {
        rparts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    match String::from_utf8(rbytes.to_vec()) {
        Ok(text) => {
            let answer = StoredAnswer {
                status: status.as_u16(),
                content_type: header_text(header::CONTENT_TYPE),
                location: header_text(header::LOCATION),
                body: text,
            };
            if let Err(e) = keys
                .complete(&owner, &key, &answer, state.clock.now())
                .await
            {
                tracing::warn!(error = %e, "could not store the answer of an idempotency key");
                let _ = keys.release(&owner, &key).await;
            }
        }
        Err(_) => {
            // Only text answers are kept; a binary one is not replayable.
            let _ = keys.release(&owner, &key).await;
        }
    }
    rparts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(rparts, Body::from(rbytes))
}

fn replay(answer: StoredAnswer) -> Response {
    let mut resp = Response::new(Body::from(answer.body));
    *resp.status_mut() = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let h = resp.headers_mut();
    if let Some(ct) = answer
        .content_type
        .and_then(|v| HeaderValue::from_str(&v).ok())
    {
        h.insert(header::CONTENT_TYPE, ct);
    }
    if let Some(loc) = answer.location.and_then(|v| HeaderValue::from_str(&v).ok()) {
        h.insert(header::LOCATION, loc);
    }
    h.insert(IDEMPOTENT_REPLAYED, HeaderValue::from_static("true"));
    resp
}
