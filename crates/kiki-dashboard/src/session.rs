//! The dashboard session: the identity context's cookie session
//! (`Identity::login_cookie`, the same `kiki_session` cookie
//! `POST /v1/auth/session` sets) plus its CSRF token, and the small tokens
//! of the sign-in forms.
//!
//! - `kiki_session`: the session token (HttpOnly, SameSite=Lax, `Secure`
//!   behind TLS or with an https public URL). Identity stores only its hash.
//! - `kiki_csrf`: the session's CSRF token (HttpOnly too: the page gets it
//!   from the server, inside each form). Identity stores its hash with the
//!   session; every form POST carries the token in a hidden `csrf` field,
//!   checked against that hash, so a token from another session or no token
//!   is refused.
//! - `kiki_signin`: before there is a session, the sign-in forms carry a
//!   random token that must equal this cookie (a double submit), so another
//!   site cannot sign a browser into an account of its choosing.
//! - `kiki_mfa`: between the password and the code, the email and password
//!   sealed with the platform key ring (AES-256-GCM) and five minutes to
//!   live, `Path=/sign-in`, so the code form does not ask for the password
//!   again and the page never contains it.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use kiki_core::OrgId;
use kiki_identity::{Identity, Me, Principal};
use kiki_server::AppState;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::error::PageError;

pub use kiki_server::auth::SESSION_COOKIE;
/// The session's CSRF token.
pub const CSRF_COOKIE: &str = "kiki_csrf";
/// The sign-in forms' double-submit token.
pub const SIGNIN_COOKIE: &str = "kiki_signin";
/// The sealed first factor between the password and the code.
pub const MFA_COOKIE: &str = "kiki_mfa";
/// How long the code form waits for its code.
pub const MFA_TTL_SECS: i64 = 300;
/// The key ring's associated data for the sealed first factor.
const MFA_AAD: &str = "dashboard.mfa_challenge";

/// A `303 See Other` to `to` (after a form POST, and to the sign-in page).
pub fn redirect(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// A cookie's value in the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// How cookies are marked for this deployment.
#[derive(Debug, Clone, Copy)]
pub struct CookiePolicy {
    /// Only over HTTPS: behind TLS, or the public URL is https.
    pub secure: bool,
}

impl CookiePolicy {
    pub fn of(state: &AppState) -> CookiePolicy {
        let cfg = &state.config;
        CookiePolicy {
            secure: cfg.http.behind_tls
                || cfg
                    .http
                    .public_url
                    .as_deref()
                    .is_some_and(|u| u.to_ascii_lowercase().starts_with("https://")),
        }
    }

    /// A `Set-Cookie` value; `max_age` 0 clears it.
    pub fn set(
        &self,
        name: &str,
        value: &str,
        path: &str,
        same_site: &str,
        max_age: u64,
    ) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        let v = format!(
            "{name}={value}; Path={path}; HttpOnly; SameSite={same_site}; Max-Age={max_age}{secure}"
        );
        // Names and values are ours (URL-safe tokens); a failure would be a bug.
        HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    pub fn clear(&self, name: &str, path: &str) -> HeaderValue {
        self.set(name, "", path, "Lax", 0)
    }
}

/// A random token for a form or a cookie: 244 random bits (two v4 UUIDs).
pub fn random_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// Whether two tokens are equal, in constant time.
pub fn same_token(a: &str, b: &str) -> bool {
    !a.is_empty() && a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The signed-in person on a page: the principal in the active
/// organisation, what `GET /v1/me` says about them, and the session's CSRF
/// token for the page's forms.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub principal: Principal,
    pub me: Me,
    pub csrf: String,
    /// Unread notifications in the organisation, for the header (set by
    /// the pages that show it; `None`: no link).
    pub unread: Option<i64>,
}

impl Viewer {
    /// The time zone the viewer's reports count days in: the active
    /// organisation's, else the deployment's default (`fallback`).
    pub fn time_zone(&self, fallback: &str) -> String {
        self.me
            .active_org
            .time_zone
            .clone()
            .unwrap_or_else(|| fallback.to_owned())
    }

    /// The session on this request, acting in `org` (default: the session's
    /// organisation). No session, an ended one, or one whose CSRF cookie is
    /// missing or not its own: sign in (again). An organisation the person
    /// does not reach: not found, like any other tenant's resource.
    pub async fn load(
        identity: &Identity,
        headers: &HeaderMap,
        org: Option<OrgId>,
    ) -> Result<Viewer, PageError> {
        let token = cookie(headers, SESSION_COOKIE).ok_or(PageError::SignIn)?;
        let principal = identity
            .authenticate_cookie(token, org)
            .await
            .map_err(|e| match e {
                kiki_identity::IdentityError::Forbidden(_) => {
                    PageError::NotFound("The organisation")
                }
                other => PageError::from(other),
            })?;
        let csrf = cookie(headers, CSRF_COOKIE)
            .filter(|c| Identity::csrf_matches(&principal, c))
            .ok_or(PageError::SignIn)?
            .to_owned();
        let me = identity.me(&principal).await?;
        Ok(Viewer {
            principal,
            me,
            csrf,
            unread: None,
        })
    }

    /// Refuses a form whose `csrf` field is not this session's token.
    pub fn check_csrf(&self, presented: &str) -> Result<(), PageError> {
        if Identity::csrf_matches(&self.principal, presented) {
            Ok(())
        } else {
            Err(PageError::Csrf)
        }
    }

    /// Refuses unless the role holds `p` in the active organisation (and
    /// the organisation's MFA rule is met).
    pub fn require(&self, p: kiki_identity::Permission) -> Result<(), PageError> {
        if self.principal.mfa_outstanding {
            return Err(kiki_identity::IdentityError::MfaEnrolmentRequired.into());
        }
        if self.principal.has(p) {
            Ok(())
        } else {
            Err(PageError::Forbidden(format!(
                "This needs the permission “{}” ({}), which your role in this organisation does not have.",
                p.as_str(),
                p.describe().trim_end_matches('.').to_lowercase()
            )))
        }
    }

    pub fn can(&self, p: kiki_identity::Permission) -> bool {
        !self.principal.mfa_outstanding && self.principal.has(p)
    }
}

/// What the code form needs from the password form.
#[derive(Debug, Serialize, Deserialize)]
pub struct MfaChallenge {
    pub email: String,
    pub password: String,
    /// Unix seconds after which the code form starts over.
    pub expires_at: i64,
}

impl MfaChallenge {
    /// Sealed for the `kiki_mfa` cookie (URL-safe base64 of the key ring's value).
    pub fn seal(&self, keyring: &kiki_shield::Keyring) -> String {
        let json = serde_json::to_string(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(keyring.encrypt_str(&json, MFA_AAD).as_bytes())
    }

    /// The challenge in the cookie, if it opens and has not expired at `now`.
    pub fn open(keyring: &kiki_shield::Keyring, sealed: &str, now: i64) -> Option<MfaChallenge> {
        let stored = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(sealed)
            .ok()?;
        let stored = String::from_utf8(stored).ok()?;
        let json = keyring.decrypt_str(&stored, MFA_AAD).ok()?;
        let c: MfaChallenge = serde_json::from_str(&json).ok()?;
        (c.expires_at > now).then_some(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_by_name_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; kiki_csrf=abc; kiki_session=xyz"),
        );
        assert_eq!(cookie(&h, CSRF_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("xyz"));
        assert_eq!(cookie(&h, MFA_COOKIE), None);
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("abc", "ab"));
        assert!(!same_token("", ""));
        assert_ne!(random_token(), random_token());
        assert_eq!(random_token().len(), 64);
    }

    #[test]
    fn cookies_are_http_only_and_secure_when_asked() {
        let v = CookiePolicy { secure: true }.set("n", "v", "/", "Lax", 60);
        assert_eq!(
            v.to_str().unwrap(),
            "n=v; Path=/; HttpOnly; SameSite=Lax; Max-Age=60; Secure"
        );
        let v = CookiePolicy { secure: false }.clear("n", "/sign-in");
        assert_eq!(
            v.to_str().unwrap(),
            "n=; Path=/sign-in; HttpOnly; SameSite=Lax; Max-Age=0"
        );
    }
}
