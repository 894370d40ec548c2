//! `/v1/auth/*` (sign-in, refresh, sign-out, dashboard sessions,
//! registration, password reset) and `/v1/me/*` (profile, password, MFA).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kiki_core::{ErrorCode, OrgId};
use kiki_identity::LoginRequest;
use kiki_identity::Me;
use kiki_identity::Registration;
use kiki_identity::{MfaEnrolment, TokenResponse, User};
use kiki_server::auth::{Auth, Meta, SESSION_COOKIE};
use kiki_server::error::{ApiError, ErrorEnvelope};
use kiki_server::extract::{FormOrJson, Json as Body};
use kiki_server::state::AppState;
use serde::{Deserialize, Serialize};

/// RFC 6749 token request: the password grant (§4.3.2) or the refresh grant
/// (§6). The API document states it as [`TokenGrant`].
#[derive(Debug, Deserialize)]
pub struct TokenRequest {
    /// `password` or `refresh_token`.
    pub grant_type: String,
    /// Email or username (password grant).
    pub username: Option<String>,
    pub password: Option<String>,
    /// TOTP or recovery code when the account has MFA.
    pub otp: Option<String>,
    /// Organisation to sign in to (default: the first membership).
    pub org: Option<uuid::Uuid>,
    /// Refresh grant.
    pub refresh_token: Option<String>,
    /// Accepted and ignored (scopes come from the role).
    pub scope: Option<String>,
}

/// The token request as a form (RFC 6749 §4.3.2, §6): `grant_type` picks
/// the fields that are required. A form has no `null`: leave a field out.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(tag = "grant_type", rename_all = "snake_case")]
#[allow(dead_code)] // the shape of `TokenRequest` in the API document
pub enum TokenGrant {
    /// Sign in with a password.
    Password {
        /// Email or username.
        #[schema(min_length = 1)]
        username: String,
        #[schema(min_length = 1)]
        password: String,
        /// TOTP or recovery code when the account has MFA.
        #[schema(nullable = false)]
        otp: Option<String>,
        /// Organisation to sign in to (default: the first membership).
        #[schema(nullable = false)]
        org: Option<uuid::Uuid>,
        /// Accepted and ignored (scopes come from the role).
        #[schema(nullable = false)]
        scope: Option<String>,
    },
    /// Exchange a refresh token for a new pair.
    RefreshToken {
        /// Not only spaces.
        #[schema(min_length = 1, pattern = r"\S")]
        refresh_token: String,
        /// Accepted and ignored.
        #[schema(nullable = false)]
        scope: Option<String>,
    },
}

pub(crate) use kiki_identity::email_address_schema as email_address;

fn oauth_error(code: ErrorCode, message: &str, oauth: &str) -> ApiError {
    ApiError::new(code, message).with_details(serde_json::json!({ "oauth_error": oauth }))
}

fn required(field: &str, v: Option<String>) -> Result<String, ApiError> {
    v.filter(|s| !s.is_empty()).ok_or_else(|| {
        ApiError::validation(vec![kiki_core::FieldError::new(
            field,
            format!("`{field}` is required."),
        )])
    })
}

/// OAuth2 token endpoint: password and refresh_token grants. Password checks
/// run on a bounded pool (`auth.max_concurrent_hashes`); when every slot stays
/// busy for `auth.hash_wait_ms` the answer is 503 with `Retry-After`.
#[utoipa::path(post, path = "/auth/token", security(()), tag = "auth",
    request_body(content = TokenGrant, content_type = "application/x-www-form-urlencoded",
        example = json!({"grant_type": "password", "username": "owner@example.com", "password": "plum-orchard-lantern-42"})),
    responses((status = 200, body = TokenResponse),
        (status = 400, body = ErrorEnvelope, description = "An unsupported grant type, or a body that is not a form or JSON"),
        (status = 401, body = ErrorEnvelope, description = "The credentials (or refresh token) are not valid, or a second factor is required"),
        (status = 404, body = ErrorEnvelope, description = "`org` names an organisation the account does not reach"),
        (status = 415, body = ErrorEnvelope, description = "Neither a form nor JSON"),
        (status = 422, body = ErrorEnvelope, description = "A required field is missing"),
        (status = 423, body = ErrorEnvelope, description = "Sign-in to the account (or from the address) is locked; see Retry-After"),
        (status = 429, body = ErrorEnvelope, description = "Too many failures; wait for Retry-After"),
        (status = 503, body = ErrorEnvelope, description = "Every password-hashing slot is busy; see Retry-After")))]
pub async fn token(
    State(app): State<AppState>,
    Meta(meta): Meta,
    FormOrJson(req): FormOrJson<TokenRequest>,
) -> Result<Response, ApiError> {
    let resp = match req.grant_type.as_str() {
        "password" => {
            let login = LoginRequest {
                identifier: required("username", req.username)?,
                password: required("password", req.password)?,
                otp: req.otp,
                org: req.org.map(OrgId),
            };
            app.identity.login_token(&meta, &login).await?
        }
        "refresh_token" => {
            let t = required("refresh_token", req.refresh_token)?;
            app.identity.refresh(&meta, &t).await?
        }
        other => {
            return Err(oauth_error(
                ErrorCode::BadRequest,
                &format!(
                    "The grant type `{other}` is not supported; use `password` or `refresh_token`."
                ),
                "unsupported_grant_type",
            ));
        }
    };
    Ok(no_store(Json(resp)))
}

/// Token responses must not be cached (RFC 6749 §5.1).
fn no_store(body: impl IntoResponse) -> Response {
    let mut r = body.into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RefreshRequest {
    /// Not only spaces.
    #[schema(min_length = 1, pattern = r"\S")]
    pub refresh_token: String,
}

/// Exchanges a refresh token for a new pair (the old one stops working).
#[utoipa::path(post, path = "/auth/refresh", security(()), tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenResponse),
        (status = 401, body = ErrorEnvelope, description = "The refresh token is not valid (expired, revoked or used)"),
        (status = 422, body = ErrorEnvelope, description = "`refresh_token` is empty")))]
pub async fn refresh(
    State(app): State<AppState>,
    Meta(meta): Meta,
    FormOrJson(req): FormOrJson<RefreshRequest>,
) -> Result<Response, ApiError> {
    Ok(no_store(Json(
        app.identity.refresh(&meta, &req.refresh_token).await?,
    )))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub struct LogoutRequest {
    /// Also accepted without an access token: revokes the session of this refresh token.
    pub refresh_token: Option<String>,
}

/// Ends the current session (access and refresh tokens stop working).
#[utoipa::path(post, path = "/auth/logout", tag = "auth", request_body(content = Option<LogoutRequest>),
    responses((status = 204), (status = 401, body = ErrorEnvelope)))]
pub async fn logout(
    State(app): State<AppState>,
    Meta(meta): Meta,
    auth: Result<Auth, ApiError>,
    headers: HeaderMap,
    body: String,
) -> Result<StatusCode, ApiError> {
    let req: LogoutRequest = if body.is_empty() {
        LogoutRequest::default()
    } else if headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
    {
        serde_urlencoded::from_str(&body).map_err(|e| ApiError::bad_request(e.to_string()))?
    } else {
        kiki_server::extract::parse_json(body.as_bytes())?
    };
    if let Some(t) = req.refresh_token.filter(|t| !t.is_empty()) {
        app.identity.logout_refresh_token(&meta, &t).await?;
        return Ok(StatusCode::NO_CONTENT);
    }
    let Auth(principal) = auth?;
    app.identity.logout(&meta, &principal).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LogoutAll {
    pub sessions_revoked: u64,
}

/// Ends every session of the signed-in user.
#[utoipa::path(post, path = "/auth/logout-all", tag = "auth",
    responses((status = 200, body = LogoutAll), (status = 401, body = ErrorEnvelope)))]
pub async fn logout_all(
    State(app): State<AppState>,
    Meta(meta): Meta,
    Auth(p): Auth,
) -> Result<Json<LogoutAll>, ApiError> {
    let n = app.identity.logout_all(&meta, &p).await?;
    Ok(Json(LogoutAll {
        sessions_revoked: n,
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SessionRequest {
    pub username: String,
    pub password: String,
    pub otp: Option<String>,
    #[schema(value_type = Option<String>, format = Uuid)]
    pub org: Option<uuid::Uuid>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionResponse {
    /// Send back as `X-CSRF-Token` on every request that changes state.
    pub csrf_token: String,
    pub expires_in: u64,
}

/// Dashboard sign-in: sets the HttpOnly session cookie.
#[utoipa::path(post, path = "/auth/session", security(()), tag = "auth",
    request_body(content = SessionRequest,
        example = json!({"username": "owner@example.com", "password": "plum-orchard-lantern-42"})),
    responses((status = 200, body = SessionResponse),
        (status = 400, body = ErrorEnvelope, description = "A body that is not a form or JSON"),
        (status = 401, body = ErrorEnvelope, description = "The credentials are not valid, or a second factor is required"),
        (status = 404, body = ErrorEnvelope, description = "`org` names an organisation the account does not reach"),
        (status = 415, body = ErrorEnvelope, description = "Neither a form nor JSON"),
        (status = 422, body = ErrorEnvelope, description = "A required field is missing"),
        (status = 423, body = ErrorEnvelope, description = "Sign-in to the account (or from the address) is locked; see Retry-After"),
        (status = 429, body = ErrorEnvelope, description = "Too many failures; wait for Retry-After"),
        (status = 503, body = ErrorEnvelope, description = "Every password-hashing slot is busy; see Retry-After")))]
pub async fn session_login(
    State(app): State<AppState>,
    Meta(meta): Meta,
    FormOrJson(req): FormOrJson<SessionRequest>,
) -> Result<Response, ApiError> {
    let s = app
        .identity
        .login_cookie(
            &meta,
            &LoginRequest {
                identifier: req.username,
                password: req.password,
                otp: req.otp,
                org: req.org.map(OrgId),
            },
        )
        .await?;
    let secure = if app.config.http.behind_tls {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        s.cookie_token, s.max_age_secs
    );
    let mut resp = no_store(Json(SessionResponse {
        csrf_token: s.csrf_token,
        expires_in: s.max_age_secs,
    }));
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(resp)
}

/// Dashboard sign-out: ends the session and clears the cookie.
#[utoipa::path(delete, path = "/auth/session", tag = "auth",
    responses((status = 204), (status = 401, body = ErrorEnvelope)))]
pub async fn session_logout(
    State(app): State<AppState>,
    Meta(meta): Meta,
    Auth(p): Auth,
) -> Result<Response, ApiError> {
    app.identity.logout(&meta, &p).await?;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("kiki_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
    );
    Ok(resp)
}

/// A new account: `invitation`, `org_id` or `org_name` says where it goes
/// (at least one of them).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RegisterRequest {
    #[schema(schema_with = email_address)]
    pub email: String,
    /// 12 to 256 characters, not a common password, not the email address.
    #[schema(min_length = 12, max_length = 256)]
    pub password: String,
    /// 1 to 200 characters, not only spaces.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub display_name: String,
    /// 3 to 64 letters, digits, dots, dashes or underscores (read in lower
    /// case); empty means none.
    #[schema(pattern = r"^[ \t\r\n]*([A-Za-z0-9._-]{3,64}[ \t\r\n]*)?$")]
    pub username: Option<String>,
    /// An email invitation token or an invite code (`KIKI-…`).
    pub invitation: Option<String>,
    /// Join an organisation that allows open sign-up.
    #[schema(value_type = Option<String>, format = Uuid)]
    pub org_id: Option<uuid::Uuid>,
    /// With `auth.open_registration`: create and own a new organisation of
    /// this name (1 to 200 characters).
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub org_name: Option<String>,
}

kiki_server::request_schema!(pub RegisterSchema for RegisterRequest, serde_json::json!({
    "anyOf": [
        {"required": ["invitation"], "properties": {"invitation": {"type": "string"}}},
        {"required": ["org_id"], "properties": {"org_id": {"type": "string"}}},
        {"required": ["org_name"], "properties": {"org_name": {"type": "string"}}}
    ]
}));

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Registered {
    pub user: User,
    #[schema(value_type = String, format = Uuid)]
    pub org_id: OrgId,
}

/// Creates an account (with an invitation, an invite code, or into an open organisation).
#[utoipa::path(post, path = "/auth/register", security(()), tag = "auth",
    request_body(content = RegisterSchema,
        example = json!({"email": "jane@example.com", "password": "plum-orchard-lantern-42", "display_name": "Jane Doe", "invitation": "KIKI-AbCdEfGhIjKlMnOp"})),
    responses((status = 201, body = Registered),
        (status = 400, body = ErrorEnvelope, description = "The body is not valid JSON"),
        (status = 409, body = ErrorEnvelope, description = "An account with this email or username exists"),
        (status = 415, body = ErrorEnvelope, description = "The body is not JSON"),
        (status = 422, body = ErrorEnvelope, description = "A field is invalid (named in details)"),
        (status = 423, body = ErrorEnvelope, description = "The client address is locked after repeated failures; see Retry-After"),
        (status = 429, body = ErrorEnvelope, description = "The client address must wait; see Retry-After"),
        (status = 503, body = ErrorEnvelope, description = "Every password-hashing slot is busy; see Retry-After")))]
pub async fn register(
    State(app): State<AppState>,
    Meta(meta): Meta,
    Body(req): Body<RegisterRequest>,
) -> Result<(StatusCode, Json<Registered>), ApiError> {
    let (user, org_id) = app
        .identity
        .register(
            &meta,
            Registration {
                email: req.email,
                password: req.password,
                display_name: req.display_name,
                username: req.username,
                invitation: req.invitation,
                org_id: req.org_id.map(OrgId),
                org_name: req.org_name,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(Registered { user, org_id })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ResetRequest {
    #[schema(schema_with = email_address)]
    pub email: String,
}

/// Sends a password-reset link if the address has an account (the answer is
/// the same either way). The link goes only to that address: the in-app
/// outbox keeps the mail with the token masked and shows it to no one else.
#[utoipa::path(post, path = "/auth/password-reset", security(()), tag = "auth",
    request_body(content = ResetRequest, example = json!({"email": "owner@example.com"})),
    responses((status = 202, description = "Sent if the address has an account"),
        (status = 400, body = ErrorEnvelope, description = "The body is not valid JSON"),
        (status = 415, body = ErrorEnvelope, description = "The body is not JSON"),
        (status = 422, body = ErrorEnvelope, description = "`email` is not an email address")))]
pub async fn password_reset(
    State(app): State<AppState>,
    Meta(meta): Meta,
    Body(req): Body<ResetRequest>,
) -> Result<StatusCode, ApiError> {
    app.identity
        .request_password_reset(&meta, &req.email)
        .await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ResetConfirm {
    /// The token from the reset link.
    pub token: String,
    /// 12 to 256 characters, not a common password, not the email address.
    #[schema(min_length = 12, max_length = 256)]
    pub new_password: String,
}

/// Sets a new password with a reset token (single use); every session ends.
#[utoipa::path(post, path = "/auth/password-reset/confirm", security(()), tag = "auth",
    request_body(content = ResetConfirm,
        example = json!({"token": "the token from the reset link", "new_password": "a-brand-new-passphrase-7"})),
    responses((status = 204, description = "The password is set; every session ended"),
        (status = 400, body = ErrorEnvelope, description = "The body is not valid JSON"),
        (status = 404, body = ErrorEnvelope, description = "The account of the token no longer exists"),
        (status = 415, body = ErrorEnvelope, description = "The body is not JSON"),
        (status = 422, body = ErrorEnvelope, description = "The token is not valid (expired or used), or the password breaks the policy"),
        (status = 503, body = ErrorEnvelope, description = "Every password-hashing slot is busy; see Retry-After")))]
pub async fn password_reset_confirm(
    State(app): State<AppState>,
    Meta(meta): Meta,
    Body(req): Body<ResetConfirm>,
) -> Result<StatusCode, ApiError> {
    app.identity
        .confirm_password_reset(&meta, &req.token, &req.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller: user, active organisation, role, permissions and the organisations they can switch to.
#[utoipa::path(get, path = "/me", tag = "auth",
    responses((status = 200, body = Me), (status = 401, body = ErrorEnvelope)))]
pub async fn me(State(app): State<AppState>, Auth(p): Auth) -> Result<Json<Me>, ApiError> {
    Ok(Json(app.identity.me(&p).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ChangePassword {
    pub current_password: String,
    pub new_password: String,
}

/// Changes the caller's password; their other sessions end.
#[utoipa::path(post, path = "/me/password", tag = "auth",
    request_body(content = ChangePassword,
        example = json!({"current_password": "plum-orchard-lantern-42", "new_password": "a-brand-new-passphrase-7"})),
    responses((status = 204, description = "Changed; the caller's other sessions ended"),
        (status = 400, body = ErrorEnvelope, description = "The body is not valid JSON, or a malformed X-Kiki-Org"),
        (status = 401, body = ErrorEnvelope, description = "Not signed in"),
        (status = 403, body = ErrorEnvelope, description = "An API key (it has no password), or a cookie session without its CSRF token"),
        (status = 404, body = ErrorEnvelope, description = "X-Kiki-Org names an organisation the caller does not reach"),
        (status = 415, body = ErrorEnvelope, description = "The body is not JSON"),
        (status = 422, body = ErrorEnvelope, description = "The current password is wrong, or the new one breaks the policy"),
        (status = 503, body = ErrorEnvelope, description = "Every password-hashing slot is busy; see Retry-After")))]
pub async fn change_password(
    State(app): State<AppState>,
    Meta(meta): Meta,
    Auth(p): Auth,
    Body(req): Body<ChangePassword>,
) -> Result<StatusCode, ApiError> {
    app.identity
        .change_password(&meta, &p, &req.current_password, &req.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Starts TOTP enrolment: the secret, an otpauth URI and its QR code (SVG).
#[utoipa::path(post, path = "/me/mfa/enroll", tag = "auth",
    responses((status = 200, body = MfaEnrolment), (status = 409, body = ErrorEnvelope)))]
pub async fn mfa_enroll(
    State(app): State<AppState>,
    Meta(meta): Meta,
    Auth(p): Auth,
) -> Result<Response, ApiError> {
    Ok(no_store(Json(app.identity.mfa_enroll(&meta, &p).await?)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct MfaCode {
    pub code: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RecoveryCodes {
    /// Ten single-use codes, shown once.
    pub recovery_codes: Vec<String>,
}

/// Confirms enrolment with a first code; MFA is on and recovery codes are returned.
#[utoipa::path(post, path = "/me/mfa/confirm", tag = "auth", request_body = MfaCode,
    responses((status = 200, body = RecoveryCodes), (status = 422, body = ErrorEnvelope)))]
pub async fn mfa_confirm(
    State(app): State<AppState>,
    Meta(meta): Meta,
    Auth(p): Auth,
    Body(req): Body<MfaCode>,
) -> Result<Response, ApiError> {
    let codes = app.identity.mfa_confirm(&meta, &p, &req.code).await?;
    Ok(no_store(Json(RecoveryCodes {
        recovery_codes: codes,
    })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PasswordConfirm {
    pub password: String,
}

/// Turns MFA off (needs the password).
#[utoipa::path(post, path = "/me/mfa/disable", tag = "auth",
    request_body(content = PasswordConfirm, example = json!({"password": "plum-orchard-lantern-42"})),
    responses((status = 204, description = "MFA is off"),
        (status = 400, body = ErrorEnvelope, description = "The body is not valid JSON, or a malformed X-Kiki-Org"),
        (status = 401, body = ErrorEnvelope, description = "Not signed in"),
        (status = 403, body = ErrorEnvelope, description = "An API key (it has no MFA), or a cookie session without its CSRF token"),
        (status = 404, body = ErrorEnvelope, description = "X-Kiki-Org names an organisation the caller does not reach"),
        (status = 415, body = ErrorEnvelope, description = "The body is not JSON"),
        (status = 422, body = ErrorEnvelope, description = "The password is not correct"),
        (status = 503, body = ErrorEnvelope, description = "Every password-hashing slot is busy; see Retry-After")))]
pub async fn mfa_disable(
    State(app): State<AppState>,
    Meta(meta): Meta,
    Auth(p): Auth,
    Body(req): Body<PasswordConfirm>,
) -> Result<StatusCode, ApiError> {
    app.identity.mfa_disable(&meta, &p, &req.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces the recovery codes.
#[utoipa::path(post, path = "/me/mfa/recovery-codes", tag = "auth",
    responses((status = 200, body = RecoveryCodes), (status = 409, body = ErrorEnvelope)))]
pub async fn mfa_recovery_codes(
    State(app): State<AppState>,
    Meta(meta): Meta,
    Auth(p): Auth,
) -> Result<Response, ApiError> {
    let codes = app
        .identity
        .mfa_regenerate_recovery_codes(&meta, &p)
        .await?;
    Ok(no_store(Json(RecoveryCodes {
        recovery_codes: codes,
    })))
}
