//! `/app/account`: the signed-in person's own account, for every role
//! (the same as `/v1/me/password` and `/v1/me/mfa/*`, which need a session
//! and no permission): the password change (other sessions end, this one
//! stays), and two-factor authentication — enrolment (the QR code, an SVG
//! drawn by the server and put in the page as markup, which the CSP allows
//! as it is no script, and the secret as text for manual entry), the
//! confirmation with a first code, the recovery codes shown once, new
//! recovery codes, and turning it off with the password.
//!
//! Secrets and codes are only ever in the answer to a form POST (never in
//! an address) and every page is `no-store`. Password fields are never
//! filled back in.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use kiki_core::OrgId;
use kiki_server::AppState;
use kiki_server::auth::Meta;
use serde::Deserialize;

use crate::error::PageError;
use crate::pages::read_form;
use crate::pages::settings::{
    PageQuery, Problems, frame, href, info, open, open_form, problems_of, query,
};
use crate::session::{Viewer, redirect};
use crate::views::{Flash, Layout, html};

#[derive(Template)]
#[template(path = "account.html")]
pub struct AccountPage {
    pub layout: Layout,
    pub org: Option<String>,
    pub csrf: String,
    pub email: String,
    pub name: String,
    pub mfa_on: bool,
    /// The organisation requires MFA of this role and the session has not used it.
    pub mfa_required: bool,
    pub password: Problems,
    pub mfa: Problems,
}

#[derive(Template)]
#[template(path = "account_mfa.html")]
pub struct EnrolPage {
    pub layout: Layout,
    pub org: Option<String>,
    pub csrf: String,
    /// The QR code's SVG markup, drawn by the server; `None` when the code
    /// form is shown again after a wrong code.
    pub qr_svg: Option<String>,
    /// The secret in groups of four for manual entry.
    pub secret: Option<String>,
    pub problems: Problems,
}

#[derive(Template)]
#[template(path = "account_codes.html")]
pub struct CodesPage {
    pub layout: Layout,
    pub codes: Vec<String>,
    pub back_href: String,
}

fn base(app: &AppState, viewer: &Viewer, org: Option<OrgId>, title: &str) -> Layout {
    let mut layout = Layout::public(title);
    layout.chrome = Some(frame(app, viewer, "account", org));
    layout
}

fn account(
    app: &AppState,
    viewer: &Viewer,
    org: Option<OrgId>,
    status: StatusCode,
    flash: Option<Flash>,
    password: Problems,
    mfa: Problems,
) -> Response {
    let mut layout = base(app, viewer, org, "Your account");
    layout.flash = flash;
    let user = viewer.me.user.as_ref();
    let page = AccountPage {
        layout,
        org: org.map(|o| o.0.to_string()),
        csrf: viewer.csrf.clone(),
        email: user.map(|u| u.email.clone()).unwrap_or_default(),
        name: user.map(|u| u.display_name.clone()).unwrap_or_default(),
        mfa_on: user.is_some_and(|u| u.mfa_enabled),
        mfa_required: viewer.principal.mfa_outstanding,
        password,
        mfa,
    };
    html(status, page.render())
}

/// `GET /app/account`.
pub async fn page(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let q: PageQuery = query(raw.as_deref())?;
    let org = crate::pages::settings::org_param(&q.org)?;
    let viewer = open(&app, &headers, org, None).await?;
    let flash = match q.done.as_str() {
        "password" => info("Your password is changed. Your other sessions have ended."),
        "mfa_off" => info("Two-factor authentication is off."),
        _ => None,
    };
    Ok(account(
        &app,
        &viewer,
        org,
        StatusCode::OK,
        flash,
        Problems::default(),
        Problems::default(),
    ))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AccountForm {
    csrf: String,
    org: String,
    current_password: String,
    new_password: String,
    new_password_again: String,
    password: String,
    code: String,
}

/// `POST /app/account/password`.
pub async fn change_password(
    State(app): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let f: AccountForm = read_form(&body);
    let viewer = open_form(&app, &headers, &f.org, &f.csrf, None).await?;
    let org = crate::pages::settings::org_param(&f.org)?;
    let mut p = Problems::default();
    if f.current_password.is_empty() {
        p.fields.insert(
            "current_password".into(),
            "Enter your current password.".into(),
        );
    }
    if f.new_password.is_empty() {
        p.fields
            .insert("new_password".into(), "Enter a new password.".into());
    } else if f.new_password != f.new_password_again {
        p.fields.insert(
            "new_password_again".into(),
            "The two new passwords differ: type the same one twice.".into(),
        );
    }
    let (status, p) = if p.is_empty() {
        match app
            .identity
            .change_password(
                &meta,
                &viewer.principal,
                &f.current_password,
                &f.new_password,
            )
            .await
        {
            Ok(()) => {
                return Ok(redirect(&href(
                    "/app/account",
                    org,
                    &[("done", "password")],
                )));
            }
            Err(e) => problems_of(e)?,
        }
    } else {
        (StatusCode::UNPROCESSABLE_ENTITY, p)
    };
    let p = p.fold_unknown(&["current_password", "new_password", "new_password_again"]);
    Ok(account(
        &app,
        &viewer,
        org,
        status,
        None,
        p,
        Problems::default(),
    ))
}

/// The secret as people copy it: groups of four.
fn grouped(secret: &str) -> String {
    secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The server's QR code with its text alternative.
fn labelled_svg(svg: &str) -> String {
    match svg.strip_prefix("<svg") {
        Some(rest) => format!(
            "<svg class=\"qr\" role=\"img\" aria-label=\"QR code of your two-factor key, for an authenticator app\"{rest}"
        ),
        None => String::new(),
    }
}

fn enrol_page(
    app: &AppState,
    viewer: &Viewer,
    org: Option<OrgId>,
    status: StatusCode,
    enrolment: Option<kiki_identity::MfaEnrolment>,
    problems: Problems,
) -> Response {
    let page = EnrolPage {
        layout: base(app, viewer, org, "Set up two-factor authentication"),
        org: org.map(|o| o.0.to_string()),
        csrf: viewer.csrf.clone(),
        qr_svg: enrolment.as_ref().map(|e| labelled_svg(&e.qr_svg)),
        secret: enrolment.as_ref().map(|e| grouped(&e.secret)),
        problems,
    };
    html(status, page.render())
}

fn codes_page(
    app: &AppState,
    viewer: &Viewer,
    org: Option<OrgId>,
    status: StatusCode,
    text: &str,
    codes: Vec<String>,
) -> Response {
    let mut layout = base(app, viewer, org, "Your recovery codes");
    layout.flash = info(text);
    let page = CodesPage {
        layout,
        codes,
        back_href: href("/app/account", org, &[]),
    };
    html(status, page.render())
}

/// `POST /app/account/mfa/enroll`: a new secret, its QR code and the code form.
pub async fn enrol(
    State(app): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let f: AccountForm = read_form(&body);
    let viewer = open_form(&app, &headers, &f.org, &f.csrf, None).await?;
    let org = crate::pages::settings::org_param(&f.org)?;
    match app.identity.mfa_enroll(&meta, &viewer.principal).await {
        Ok(e) => Ok(enrol_page(
            &app,
            &viewer,
            org,
            StatusCode::OK,
            Some(e),
            Problems::default(),
        )),
        Err(e) => {
            let (status, p) = problems_of(e)?;
            Ok(account(
                &app,
                &viewer,
                org,
                status,
                None,
                Problems::default(),
                p.fold_unknown(&[]),
            ))
        }
    }
}

/// `POST /app/account/mfa/confirm`: the first code turns MFA on; the
/// answer shows the recovery codes once.
pub async fn confirm(
    State(app): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let f: AccountForm = read_form(&body);
    let viewer = open_form(&app, &headers, &f.org, &f.csrf, None).await?;
    let org = crate::pages::settings::org_param(&f.org)?;
    if f.code.trim().is_empty() {
        return Ok(enrol_page(
            &app,
            &viewer,
            org,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Problems::field("code", "Enter the six-digit code your app shows."),
        ));
    }
    match app
        .identity
        .mfa_confirm(&meta, &viewer.principal, &f.code)
        .await
    {
        Ok(codes) => Ok(codes_page(
            &app,
            &viewer,
            org,
            StatusCode::OK,
            "Two-factor authentication is on. Sign-ins now ask for a code.",
            codes,
        )),
        Err(e) => {
            let (status, p) = problems_of(e)?;
            if p.has("code") {
                return Ok(enrol_page(&app, &viewer, org, status, None, p));
            }
            // Already on, or no enrolment started: the account page says so
            // (in the page's words rather than the API's).
            let mut p = p.fold_unknown(&[]);
            if p.form
                .as_deref()
                .is_some_and(|m| m.starts_with("Start enrolment first"))
            {
                p.form = Some(
                    "Set-up has not started: choose “Set up two-factor authentication” first."
                        .to_owned(),
                );
            }
            Ok(account(
                &app,
                &viewer,
                org,
                status,
                None,
                Problems::default(),
                p,
            ))
        }
    }
}

/// `POST /app/account/mfa/recovery-codes`: new codes, the old ones stop working.
pub async fn recovery_codes(
    State(app): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let f: AccountForm = read_form(&body);
    let viewer = open_form(&app, &headers, &f.org, &f.csrf, None).await?;
    let org = crate::pages::settings::org_param(&f.org)?;
    match app
        .identity
        .mfa_regenerate_recovery_codes(&meta, &viewer.principal)
        .await
    {
        Ok(codes) => Ok(codes_page(
            &app,
            &viewer,
            org,
            StatusCode::OK,
            "New recovery codes: the earlier ones no longer work.",
            codes,
        )),
        Err(e) => {
            let (status, p) = problems_of(e)?;
            Ok(account(
                &app,
                &viewer,
                org,
                status,
                None,
                Problems::default(),
                p.fold_unknown(&[]),
            ))
        }
    }
}

/// `POST /app/account/mfa/disable`, with the password.
pub async fn disable(
    State(app): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let f: AccountForm = read_form(&body);
    let viewer = open_form(&app, &headers, &f.org, &f.csrf, None).await?;
    let org = crate::pages::settings::org_param(&f.org)?;
    let (status, p) = if f.password.is_empty() {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Problems::field(
                "password",
                "Enter your password to turn two-factor authentication off.",
            ),
        )
    } else {
        match app
            .identity
            .mfa_disable(&meta, &viewer.principal, &f.password)
            .await
        {
            Ok(()) => return Ok(redirect(&href("/app/account", org, &[("done", "mfa_off")]))),
            Err(e) => problems_of(e)?,
        }
    };
    Ok(account(
        &app,
        &viewer,
        org,
        status,
        None,
        Problems::default(),
        p.fold_unknown(&["password"]),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_reads_in_groups_and_the_qr_code_has_a_text_alternative() {
        assert_eq!(grouped("ABCDEFGHIJ"), "ABCD EFGH IJ");
        let svg =
            labelled_svg("<svg xmlns=\"http://www.w3.org/2000/svg\"><path d=\"M0 0\"/></svg>");
        assert!(svg.starts_with("<svg class=\"qr\" role=\"img\" aria-label=\"QR code"));
        assert!(svg.ends_with("</svg>"));
        assert_eq!(labelled_svg("<?xml?>"), "");
    }
}
