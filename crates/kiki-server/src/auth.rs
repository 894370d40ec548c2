//! Authentication at the edge: the extractors every tenant-scoped handler
//! takes. [`Auth`] resolves the caller (access token, API key or dashboard
//! cookie, plus `X-Kiki-Org` to switch to a reachable client organisation)
//! into a [`Principal`] whose `scope` is the only way to query tenant data.
//! [`RequirePermission<P>`] additionally enforces one permission of the
//! matrix. Cookie-authenticated requests that change state must carry the
//! session's CSRF token in `X-CSRF-Token`.

use std::marker::PhantomData;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use kiki_core::{ErrorCode, OrgId};
use kiki_identity::perm::PermissionMarker;
use kiki_identity::{Identity, Principal, RequestMeta};

use crate::error::ApiError;
use crate::state::AppState;

/// Name of the dashboard session cookie.
pub const SESSION_COOKIE: &str = "kiki_session";
/// Header carrying the CSRF token of a cookie session.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Header selecting the active organisation.
pub const ORG_HEADER: &str = "x-kiki-org";

/// Any authenticated caller.
#[derive(Debug, Clone)]
pub struct Auth(pub Principal);

/// An authenticated caller holding permission `P` in the active organisation.
#[derive(Debug, Clone)]
pub struct RequirePermission<P: PermissionMarker>(pub Principal, PhantomData<P>);

impl<P: PermissionMarker> RequirePermission<P> {
    pub fn principal(&self) -> &Principal {
        &self.0
    }
}

/// Where the request comes from (for the audit log and throttling).
#[derive(Debug, Clone)]
pub struct Meta(pub RequestMeta);

fn unauthenticated(message: &str) -> ApiError {
    ApiError::new(ErrorCode::Unauthenticated, message)
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

fn requested_org(headers: &HeaderMap) -> Result<Option<OrgId>, ApiError> {
    match headers.get(ORG_HEADER) {
        None => Ok(None),
        Some(v) => v
            .to_str()
            .ok()
            .and_then(|s| uuid::Uuid::parse_str(s.trim()).ok())
            .map(|u| Some(OrgId(u)))
            .ok_or_else(|| {
                ApiError::bad_request("The X-Kiki-Org header must be an organisation id (a UUID).")
            }),
    }
}

/// Resolves the credentials of a request (used by the extractors and the dashboard).
pub async fn authenticate(identity: &Identity, parts: &Parts) -> Result<Principal, ApiError> {
    let org = requested_org(&parts.headers)?;
    if let Some(authz) = parts.headers.get(header::AUTHORIZATION) {
        let value = authz
            .to_str()
            .map_err(|_| unauthenticated("The Authorization header is not valid."))?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                unauthenticated("Use `Authorization: Bearer <access token or API key>`.")
            })?;
        return Ok(identity.authenticate_bearer(token, org).await?);
    }
    if let Some(cookie) = cookie_value(&parts.headers, SESSION_COOKIE) {
        let principal = identity.authenticate_cookie(cookie, org).await?;
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let presented = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !Identity::csrf_matches(&principal, presented) {
                return Err(ApiError::new(
                    ErrorCode::Forbidden,
                    "This request changes state and must carry the session's CSRF token in X-CSRF-Token.",
                ));
            }
        }
        return Ok(principal);
    }
    Err(unauthenticated(
        "Sign in first: send `Authorization: Bearer <token>` (POST /v1/auth/token) or an API key.",
    ))
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(p) = parts.extensions.get::<Principal>() {
            return Ok(Auth(p.clone()));
        }
        let p = authenticate(&state.identity, parts).await?;
        parts.extensions.insert(p.clone());
        Ok(Auth(p))
    }
}

impl<P: PermissionMarker> FromRequestParts<AppState> for RequirePermission<P> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Auth(p) = Auth::from_request_parts(parts, state).await?;
        if p.mfa_outstanding {
            return Err(kiki_identity::IdentityError::MfaEnrolmentRequired.into());
        }
        if !p.has(P::PERMISSION) {
            return Err(ApiError::new(
                ErrorCode::Forbidden,
                format!(
                    "This needs the permission `{}`, which your role in this organisation does not have.",
                    P::PERMISSION.as_str()
                ),
            ));
        }
        Ok(RequirePermission(p, PhantomData))
    }
}

/// The client address: the connection's, or the last `X-Forwarded-For` hop behind a trusted proxy.
pub fn client_ip(parts: &Parts, trust_forwarded_for: bool) -> Option<IpAddr> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    client_ip_of(parts, trust_forwarded_for, peer)
}

/// [`client_ip`] with the connection's peer address given (a server outside
/// the router, such as the bidder's exchange listener, has it from its
/// connection, not from the request's extensions).
pub fn client_ip_of(
    parts: &Parts,
    trust_forwarded_for: bool,
    peer: Option<IpAddr>,
) -> Option<IpAddr> {
    if trust_forwarded_for
        && let Some(ip) = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|s| s.trim().parse().ok())
    {
        return Some(ip);
    }
    peer
}

impl FromRequestParts<AppState> for Meta {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(Meta(RequestMeta {
            ip: client_ip(parts, state.config.http.trust_forwarded_for),
            user_agent: parts
                .headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|s| s.chars().take(256).collect()),
            request_id: kiki_outbound::context::current_request_id(),
        }))
    }
}
