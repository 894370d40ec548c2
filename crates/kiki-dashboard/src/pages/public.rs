//! The pages for people without a session, linked from the sign-in page:
//!
//! - `/password-reset`: asks for a reset link. The answer is the same
//!   whether or not the address has an account (the identity service
//!   answers both alike), so the page never tells.
//! - `/password-reset/confirm?token=…` (and `/reset-password?token=…`, the
//!   address the reset mail links to): a new password with the mailed token.
//! - `/register?invitation=…` (the address the invitation mail links to;
//!   `?token=…` too): an account by invitation or invite code.
//!
//! Without a session there is no session CSRF token: each form carries a
//! random token that must equal the `kiki_form` cookie set with it (a
//! double submit, like the sign-in form), so another site cannot post them.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use kiki_identity::Registration;
use kiki_server::AppState;
use kiki_server::auth::Meta;
use serde::Deserialize;

use crate::error::PageError;
use crate::pages::read_form;
use crate::pages::settings::{Problems, problems_of};
use crate::session::{self, CookiePolicy, redirect};
use crate::views::{Layout, html};

/// The public forms' double-submit token.
pub const FORM_COOKIE: &str = "kiki_form";
const EXPIRED: &str =
    "The form expired or did not come from this site. It is ready again: submit it once more.";

#[derive(Template)]
#[template(path = "password_reset.html")]
pub struct ResetRequestPage {
    pub layout: Layout,
    pub form_token: String,
    pub email: String,
    pub problems: Problems,
    /// The request was taken: the answer that says the same for every address.
    pub sent: bool,
}

#[derive(Template)]
#[template(path = "password_reset_confirm.html")]
pub struct ResetConfirmPage {
    pub layout: Layout,
    pub form_token: String,
    pub token: String,
    pub problems: Problems,
}

#[derive(Template)]
#[template(path = "register.html")]
pub struct RegisterPage {
    pub layout: Layout,
    pub form_token: String,
    pub email: String,
    pub display_name: String,
    pub invitation: String,
    /// The invitation came with the link (a hidden field, not typed).
    pub from_link: bool,
    pub problems: Problems,
}

/// A rendered public form with a fresh double-submit token in its cookie.
fn with_token(
    app: &AppState,
    status: StatusCode,
    token: &str,
    rendered: askama::Result<String>,
) -> Response {
    let mut resp = html(status, rendered);
    resp.headers_mut().append(
        header::SET_COOKIE,
        CookiePolicy::of(app).set(FORM_COOKIE, token, "/", "Strict", 3600),
    );
    resp
}

fn token_ok(headers: &HeaderMap, presented: &str) -> bool {
    session::cookie(headers, FORM_COOKIE).is_some_and(|c| session::same_token(c, presented))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PublicForm {
    csrf: String,
    email: String,
    token: String,
    invitation: String,
    display_name: String,
    password: String,
    new_password: String,
    new_password_again: String,
    password_again: String,
}

fn reset_request(
    app: &AppState,
    status: StatusCode,
    email: &str,
    problems: Problems,
    sent: bool,
) -> Response {
    let token = session::random_token();
    let page = ResetRequestPage {
        layout: Layout::public("Reset your password"),
        form_token: token.clone(),
        email: email.to_owned(),
        problems,
        sent,
    };
    with_token(app, status, &token, page.render())
}

/// `GET /password-reset`.
pub async fn reset_page(State(app): State<AppState>) -> Response {
    reset_request(&app, StatusCode::OK, "", Problems::default(), false)
}

/// `POST /password-reset`: the same answer for every well-formed address.
pub async fn request_reset(
    State(app): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let f: PublicForm = read_form(&body);
    let email = f.email.trim();
    if !token_ok(&headers, &f.csrf) {
        return Ok(reset_request(
            &app,
            StatusCode::FORBIDDEN,
            email,
            Problems::form(EXPIRED),
            false,
        ));
    }
    if email.is_empty() {
        let p = Problems::field("email", "Enter the email address of your account.");
        return Ok(reset_request(
            &app,
            StatusCode::UNPROCESSABLE_ENTITY,
            email,
            p,
            false,
        ));
    }
    match app.identity.request_password_reset(&meta, email).await {
        Ok(()) => Ok(reset_request(
            &app,
            StatusCode::OK,
            "",
            Problems::default(),
            true,
        )),
        Err(e) => {
            let (status, p) = problems_of(e)?;
            Ok(reset_request(
                &app,
                status,
                email,
                p.fold_unknown(&["email"]),
                false,
            ))
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TokenQuery {
    token: String,
    invitation: String,
}

fn token_query(raw: Option<&str>) -> TokenQuery {
    serde_urlencoded::from_str(raw.unwrap_or("")).unwrap_or_default()
}

fn reset_confirm(app: &AppState, status: StatusCode, token: &str, problems: Problems) -> Response {
    let form_token = session::random_token();
    let page = ResetConfirmPage {
        layout: Layout::public("Choose a new password"),
        form_token: form_token.clone(),
        token: token.to_owned(),
        problems,
    };
    with_token(app, status, &form_token, page.render())
}

/// `GET /password-reset/confirm?token=…` and `GET /reset-password?token=…`.
pub async fn confirm_page(State(app): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let q = token_query(raw.as_deref());
    let problems = if q.token.trim().is_empty() {
        Problems::form(
            "This page needs the link from the reset mail. Ask for a new link if it is lost.",
        )
    } else {
        Problems::default()
    };
    reset_confirm(&app, StatusCode::OK, q.token.trim(), problems)
}

/// `POST /password-reset/confirm`.
pub async fn confirm_reset(
    State(app): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let f: PublicForm = read_form(&body);
    let token = f.token.trim();
    if !token_ok(&headers, &f.csrf) {
        return Ok(reset_confirm(
            &app,
            StatusCode::FORBIDDEN,
            token,
            Problems::form(EXPIRED),
        ));
    }
    let mut p = Problems::default();
    if f.new_password.is_empty() {
        p.fields
            .insert("new_password".into(), "Enter a new password.".into());
    } else if f.new_password != f.new_password_again {
        p.fields.insert(
            "new_password_again".into(),
            "The two passwords differ: type the same one twice.".into(),
        );
    }
    if token.is_empty() {
        p.form = Some(
            "This page needs the link from the reset mail. Ask for a new link if it is lost."
                .into(),
        );
    }
    if !p.is_empty() {
        return Ok(reset_confirm(
            &app,
            StatusCode::UNPROCESSABLE_ENTITY,
            token,
            p,
        ));
    }
    match app
        .identity
        .confirm_password_reset(&meta, token, &f.new_password)
        .await
    {
        Ok(()) => Ok(redirect("/sign-in?flash=password_reset")),
        // The account of the token is gone: the same as a used link.
        Err(kiki_identity::IdentityError::NotFound(_)) => Ok(reset_confirm(
            &app,
            StatusCode::UNPROCESSABLE_ENTITY,
            token,
            Problems::form("The reset link is not valid: it may have expired or been used."),
        )),
        Err(e) => {
            let (status, p) = problems_of(e)?;
            Ok(reset_confirm(
                &app,
                status,
                token,
                p.fold_unknown(&["new_password"]),
            ))
        }
    }
}

fn register_form(
    app: &AppState,
    status: StatusCode,
    f: &PublicForm,
    from_link: bool,
    problems: Problems,
) -> Response {
    // A link whose invitation is refused shows it as a field to correct.
    let from_link = from_link && !problems.has("invitation");
    let form_token = session::random_token();
    let page = RegisterPage {
        layout: Layout::public("Create your account"),
        form_token: form_token.clone(),
        email: f.email.trim().to_owned(),
        display_name: f.display_name.trim().to_owned(),
        invitation: f.invitation.trim().to_owned(),
        from_link,
        problems,
    };
    with_token(app, status, &form_token, page.render())
}

/// `GET /register?invitation=…` (the invitation mail's link) or `?token=…`.
pub async fn register_page(State(app): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let q = token_query(raw.as_deref());
    let invitation = if q.invitation.trim().is_empty() {
        q.token
    } else {
        q.invitation
    };
    let f = PublicForm {
        invitation: invitation.trim().to_owned(),
        ..PublicForm::default()
    };
    let from_link = !f.invitation.is_empty();
    register_form(&app, StatusCode::OK, &f, from_link, Problems::default())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LinkFlag {
    from_link: String,
}

/// `POST /register`: the account, then the sign-in page.
pub async fn register(
    State(app): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let f: PublicForm = read_form(&body);
    let from_link =
        read_form::<LinkFlag>(&body).from_link == "yes" && !f.invitation.trim().is_empty();
    if !token_ok(&headers, &f.csrf) {
        return Ok(register_form(
            &app,
            StatusCode::FORBIDDEN,
            &f,
            from_link,
            Problems::form(EXPIRED),
        ));
    }
    let mut p = Problems::default();
    if f.invitation.trim().is_empty() {
        p.fields.insert(
            "invitation".into(),
            "Enter the invite code, or open the link from your invitation mail.".into(),
        );
    }
    if !f.password.is_empty() && f.password != f.password_again {
        p.fields.insert(
            "password_again".into(),
            "The two passwords differ: type the same one twice.".into(),
        );
    }
    if !p.is_empty() {
        return Ok(register_form(
            &app,
            StatusCode::UNPROCESSABLE_ENTITY,
            &f,
            from_link,
            p,
        ));
    }
    let reg = Registration {
        email: f.email.clone(),
        password: f.password.clone(),
        display_name: f.display_name.clone(),
        username: None,
        invitation: Some(f.invitation.trim().to_owned()),
        org_id: None,
        org_name: None,
    };
    match app.identity.register(&meta, reg).await {
        Ok(_) => Ok(redirect("/sign-in?flash=registered")),
        // An address with an account already: said without naming the API.
        Err(kiki_identity::IdentityError::Conflict(m)) if m.contains("email address") => {
            Ok(register_form(
                &app,
                StatusCode::CONFLICT,
                &f,
                from_link,
                Problems::field(
                    "email",
                    "This address cannot register again. If you already have an account, sign in with it; whoever invited you can invite that account.",
                ),
            ))
        }
        Err(e) => {
            let (status, p) = problems_of(e)?;
            let p = p.fold_unknown(&["email", "display_name", "password", "invitation"]);
            Ok(register_form(&app, status, &f, from_link, p))
        }
    }
}
