//! `/sign-in` (email and password), `/sign-in/mfa` (the code, when the
//! account has two-factor authentication: identity answers the password
//! with `MfaRequired`), `/sign-out`, and `/` (to the overview or the
//! sign-in page). Wrong credentials get one message whether or not the
//! account exists (identity answers both alike), so the page never tells.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kiki_identity::{IdentityError, LoginRequest};
use kiki_server::AppState;
use kiki_server::auth::Meta;
use serde::Deserialize;

use crate::error::PageError;
use crate::session::{
    self, CSRF_COOKIE, CookiePolicy, MFA_COOKIE, MFA_TTL_SECS, MfaChallenge, SESSION_COOKIE,
    SIGNIN_COOKIE, Viewer, redirect,
};
use crate::views::{Flash, Layout, MfaPage, SignInPage, html};

const BAD_CREDENTIALS: &str = "The email or password is not right. Check both and try again.";
const BAD_CODE: &str = "The code is not right, or it was used already. Enter the current code from your authenticator app, or a recovery code.";
const CHALLENGE_ENDED: &str =
    "The sign-in took too long or was started elsewhere. Enter your email and password again.";
const SIGNIN_PATH: &str = "/sign-in";

/// `GET /`: the overview when signed in, else the sign-in page.
pub async fn root(State(app): State<AppState>, headers: HeaderMap) -> Response {
    match Viewer::load(&app.identity, &headers, None).await {
        Ok(_) => redirect("/app"),
        Err(_) => redirect(SIGNIN_PATH),
    }
}

/// The sign-in form with a fresh double-submit token (set as its cookie).
fn sign_in_form(
    app: &AppState,
    status: StatusCode,
    email: &str,
    error: Option<&str>,
    flash: Option<Flash>,
) -> Response {
    let token = session::random_token();
    let mut layout = Layout::public("Sign in");
    layout.flash = flash;
    let page = SignInPage {
        layout,
        form_token: token.clone(),
        email: email.to_owned(),
        error: error.map(str::to_owned),
    };
    let mut resp = html(status, page.render());
    let policy = CookiePolicy::of(app);
    let h = resp.headers_mut();
    h.append(
        header::SET_COOKIE,
        policy.set(SIGNIN_COOKIE, &token, SIGNIN_PATH, "Strict", 3600),
    );
    // A new sign-in drops a half-finished one.
    h.append(header::SET_COOKIE, policy.clear(MFA_COOKIE, SIGNIN_PATH));
    resp
}

fn mfa_form(status: StatusCode, form_token: &str, error: Option<&str>) -> Response {
    let page = MfaPage {
        layout: Layout::public("Two-factor authentication"),
        form_token: form_token.to_owned(),
        error: error.map(str::to_owned),
    };
    html(status, page.render())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SignInQuery {
    flash: Option<String>,
}

/// `GET /sign-in`.
pub async fn sign_in_page(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if Viewer::load(&app.identity, &headers, None).await.is_ok() {
        return redirect("/app");
    }
    let q: SignInQuery =
        serde_urlencoded::from_str(query.as_deref().unwrap_or("")).unwrap_or_default();
    // Only known messages: the query never puts text on the page.
    let flash = match q.flash.as_deref() {
        Some("signed_out") => Some(Flash {
            kind: "info",
            text: "You are signed out.".into(),
        }),
        Some("registered") => Some(Flash {
            kind: "info",
            text: "Your account is created: sign in with your email and password.".into(),
        }),
        Some("password_reset") => Some(Flash {
            kind: "info",
            text: "Your password is set: sign in with it.".into(),
        }),
        _ => None,
    };
    sign_in_form(&app, StatusCode::OK, "", None, flash)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SignInForm {
    csrf: String,
    email: String,
    password: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CodeForm {
    csrf: String,
    code: String,
}

fn form<T: serde::de::DeserializeOwned + Default>(body: &Bytes) -> T {
    // Every field has a default: a field left out reads as empty and is
    // answered by the form's own checks.
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

/// The form's token equals the cookie set with the form.
fn double_submit_ok(headers: &HeaderMap, presented: &str) -> bool {
    session::cookie(headers, SIGNIN_COOKIE).is_some_and(|c| session::same_token(c, presented))
}

/// The session cookies, and a redirect to the overview.
fn signed_in(app: &AppState, s: &kiki_identity::CookieSession) -> Response {
    let policy = CookiePolicy::of(app);
    let mut resp = redirect("/app");
    let h = resp.headers_mut();
    h.append(
        header::SET_COOKIE,
        policy.set(SESSION_COOKIE, &s.cookie_token, "/", "Lax", s.max_age_secs),
    );
    h.append(
        header::SET_COOKIE,
        policy.set(CSRF_COOKIE, &s.csrf_token, "/", "Lax", s.max_age_secs),
    );
    h.append(header::SET_COOKIE, policy.clear(SIGNIN_COOKIE, SIGNIN_PATH));
    h.append(header::SET_COOKIE, policy.clear(MFA_COOKIE, SIGNIN_PATH));
    resp
}

/// Throttling and the like: identity's own sentence, with its status.
fn refusal(e: &IdentityError) -> Option<(StatusCode, String)> {
    let status = match e {
        IdentityError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
        IdentityError::Locked { .. } => StatusCode::LOCKED,
        IdentityError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
        IdentityError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => return None,
    };
    Some((status, e.to_string()))
}

/// `POST /sign-in`.
pub async fn sign_in(
    State(app): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f: SignInForm = form(&body);
    if !double_submit_ok(&headers, &f.csrf) {
        return sign_in_form(
            &app,
            StatusCode::FORBIDDEN,
            &f.email,
            Some("The form expired. Enter your email and password again."),
            None,
        );
    }
    let req = LoginRequest {
        identifier: f.email.trim().to_owned(),
        password: f.password.clone(),
        otp: None,
        org: None,
    };
    match app.identity.login_cookie(&meta, &req).await {
        Ok(s) => signed_in(&app, &s),
        Err(IdentityError::MfaRequired) => {
            let now = app.clock.now().unix_timestamp();
            let challenge = MfaChallenge {
                email: req.identifier,
                password: f.password,
                expires_at: now + MFA_TTL_SECS,
            };
            let mut resp = mfa_form(StatusCode::OK, &f.csrf, None);
            resp.headers_mut().append(
                header::SET_COOKIE,
                CookiePolicy::of(&app).set(
                    MFA_COOKIE,
                    &challenge.seal(&app.keyring),
                    SIGNIN_PATH,
                    "Strict",
                    MFA_TTL_SECS.unsigned_abs(),
                ),
            );
            resp
        }
        Err(IdentityError::Unauthenticated(_)) => sign_in_form(
            &app,
            StatusCode::UNAUTHORIZED,
            &f.email,
            Some(BAD_CREDENTIALS),
            None,
        ),
        Err(e) => match refusal(&e) {
            Some((status, msg)) => sign_in_form(&app, status, &f.email, Some(&msg), None),
            None => PageError::from(e).into_response(),
        },
    }
}

/// `POST /sign-in/mfa`.
pub async fn sign_in_mfa(
    State(app): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f: CodeForm = form(&body);
    if !double_submit_ok(&headers, &f.csrf) {
        return sign_in_form(&app, StatusCode::FORBIDDEN, "", Some(CHALLENGE_ENDED), None);
    }
    let now = app.clock.now().unix_timestamp();
    let Some(challenge) = session::cookie(&headers, MFA_COOKIE)
        .and_then(|c| MfaChallenge::open(&app.keyring, c, now))
    else {
        return sign_in_form(
            &app,
            StatusCode::BAD_REQUEST,
            "",
            Some(CHALLENGE_ENDED),
            None,
        );
    };
    if f.code.trim().is_empty() {
        return mfa_form(
            StatusCode::UNPROCESSABLE_ENTITY,
            &f.csrf,
            Some("Enter the code."),
        );
    }
    let req = LoginRequest {
        identifier: challenge.email.clone(),
        password: challenge.password,
        otp: Some(f.code.trim().to_owned()),
        org: None,
    };
    match app.identity.login_cookie(&meta, &req).await {
        Ok(s) => signed_in(&app, &s),
        Err(IdentityError::Unauthenticated(m)) if m.contains("second factor") => {
            mfa_form(StatusCode::UNAUTHORIZED, &f.csrf, Some(BAD_CODE))
        }
        // The password stopped working meanwhile (changed, account locked).
        Err(IdentityError::Unauthenticated(_)) | Err(IdentityError::MfaRequired) => sign_in_form(
            &app,
            StatusCode::UNAUTHORIZED,
            &challenge.email,
            Some(BAD_CREDENTIALS),
            None,
        ),
        Err(e) => match refusal(&e) {
            Some((status, msg)) => mfa_form(status, &f.csrf, Some(&msg)),
            None => PageError::from(e).into_response(),
        },
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CsrfForm {
    csrf: String,
}

/// `POST /sign-out`: ends the session (with the form's CSRF token) and
/// clears the cookies.
pub async fn sign_out(
    State(app): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let viewer = Viewer::load(&app.identity, &headers, None).await?;
    let f: CsrfForm = form(&body);
    viewer.check_csrf(&f.csrf)?;
    app.identity.logout(&meta, &viewer.principal).await?;
    let policy = CookiePolicy::of(&app);
    let mut resp = redirect("/sign-in?flash=signed_out");
    let h = resp.headers_mut();
    h.append(header::SET_COOKIE, policy.clear(SESSION_COOKIE, "/"));
    h.append(header::SET_COOKIE, policy.clear(CSRF_COOKIE, "/"));
    Ok(resp)
}
