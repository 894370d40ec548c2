//! `/app/settings/invitations`: the organisation's pending invitations and
//! invite codes with the counts of used, revoked and expired ones
//! (`user.read`); with `user.manage`, an invitation by email with a role
//! (the identity service mails the single-use link, which lands on
//! `/register`), an invite code (shown once, on the answer to its form) and
//! revocation. Refusals of the service are shown next to the field they
//! name, the other inputs kept.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use kiki_core::OrgId;
use kiki_identity::{Invitation, InvitationState, Permission, Role};
use kiki_server::AppState;
use kiki_server::auth::Meta;
use serde::Deserialize;
use uuid::Uuid;

use super::{
    PageQuery, Problems, frame, href, info, open, open_form, problems_of, query, role_choices,
    role_label, tabs, when,
};
use crate::error::PageError;
use crate::pages::read_form;
use crate::session::{Viewer, redirect};
use crate::views::{Choice, Flash, Layout, Link, html};

/// One pending invitation or code.
#[derive(Debug, Clone)]
pub struct InvitationRow {
    pub id: String,
    /// "Email" or "Invite code".
    pub kind: &'static str,
    /// The masked address or the code's first characters.
    pub who: String,
    pub role: &'static str,
    pub expires: String,
    pub created: String,
}

/// What the invite form holds.
#[derive(Debug, Clone, Default)]
pub struct InviteInput {
    pub email: String,
    pub roles: Vec<Choice>,
    pub days: String,
    pub problems: Problems,
}

#[derive(Template)]
#[template(path = "settings_invitations.html")]
pub struct InvitationsPage {
    pub layout: Layout,
    pub tabs: Vec<Link>,
    pub org: Option<String>,
    pub csrf: String,
    pub rows: Vec<InvitationRow>,
    /// "3 used, 1 revoked, 2 expired".
    pub counts: String,
    pub can_manage: bool,
    pub invite: InviteInput,
    pub code: InviteInput,
    /// A code just created: the only time it is shown.
    pub created_code: Option<String>,
    /// Why revoking was refused.
    pub revoke_error: Option<String>,
}

fn row(i: &Invitation) -> InvitationRow {
    let code = i.kind == "code";
    InvitationRow {
        id: i.id.to_string(),
        kind: if code { "Invite code" } else { "Email" },
        who: if code {
            i.hint.clone()
        } else {
            i.email.clone().unwrap_or_else(|| i.hint.clone())
        },
        role: role_label(i.role),
        expires: when(i.expires_at),
        created: when(i.created_at),
    }
}

fn fresh_input(viewer: &Viewer) -> InviteInput {
    InviteInput {
        email: String::new(),
        roles: role_choices(viewer, Role::Viewer.as_str(), None),
        days: String::new(),
        problems: Problems::default(),
    }
}

/// How the page is answered.
#[derive(Default)]
struct Answer {
    status: Option<StatusCode>,
    flash: Option<Flash>,
    invite: Option<InviteInput>,
    code: Option<InviteInput>,
    created_code: Option<String>,
    revoke_error: Option<String>,
}

async fn render(
    app: &AppState,
    viewer: &Viewer,
    org: Option<OrgId>,
    a: Answer,
) -> Result<Response, PageError> {
    let (list, counts) = app
        .identity
        .list_invitations(&viewer.principal.scope)
        .await?;
    let mut layout = Layout::public("Invitations");
    layout.chrome = Some(frame(app, viewer, "settings", org));
    layout.flash = a.flash;
    let page = InvitationsPage {
        layout,
        tabs: tabs(viewer, "invitations", org),
        org: org.map(|o| o.0.to_string()),
        csrf: viewer.csrf.clone(),
        rows: list
            .iter()
            .filter(|i| i.state == InvitationState::Unused)
            .map(row)
            .collect(),
        counts: format!(
            "{} used, {} revoked, {} expired",
            counts.used, counts.revoked, counts.expired
        ),
        can_manage: viewer.can(Permission::UserManage),
        invite: a.invite.unwrap_or_else(|| fresh_input(viewer)),
        code: a.code.unwrap_or_else(|| fresh_input(viewer)),
        created_code: a.created_code,
        revoke_error: a.revoke_error,
    };
    Ok(html(a.status.unwrap_or(StatusCode::OK), page.render()))
}

/// `GET /app/settings/invitations`.
pub async fn page(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let q: PageQuery = query(raw.as_deref())?;
    let org = super::org_param(&q.org)?;
    let viewer = open(&app, &headers, org, Some(Permission::UserRead)).await?;
    let flash = match q.done.as_str() {
        "invited" => info("The invitation is sent. It works once, until it expires."),
        "revoked" => info("The invitation is revoked: it no longer works."),
        _ => None,
    };
    render(
        &app,
        &viewer,
        org,
        Answer {
            flash,
            ..Answer::default()
        },
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct InviteForm {
    csrf: String,
    org: String,
    email: String,
    role: String,
    expires_in_days: String,
}

/// The form's role and expiry, or the problems with them.
fn role_and_days(f: &InviteForm) -> (Option<Role>, Option<u32>, Problems) {
    let mut p = Problems::default();
    let role = Role::parse(f.role.trim());
    if role.is_none() {
        p.fields
            .insert("role".into(), "Choose a role from the list.".into());
    }
    let days = match f.expires_in_days.trim() {
        "" => None,
        s => match s.parse::<u32>() {
            Ok(d) => Some(d),
            Err(_) => {
                p.fields.insert(
                    "expires_in_days".into(),
                    "Enter a whole number of days between 1 and 90, or leave it empty.".into(),
                );
                None
            }
        },
    };
    (role, days, p)
}

fn kept(viewer: &Viewer, f: &InviteForm, problems: Problems) -> InviteInput {
    InviteInput {
        email: f.email.trim().to_owned(),
        roles: role_choices(viewer, f.role.trim(), None),
        days: f.expires_in_days.trim().to_owned(),
        problems: problems.fold_unknown(&["email", "role", "expires_in_days"]),
    }
}

/// `POST /app/settings/invitations`: invite by email.
pub async fn invite(
    State(app): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let f: InviteForm = read_form(&body);
    let viewer = open_form(
        &app,
        &headers,
        &f.org,
        &f.csrf,
        Some(Permission::UserManage),
    )
    .await?;
    let org = super::org_param(&f.org)?;
    let (role, days, mut p) = role_and_days(&f);
    if f.email.trim().is_empty() {
        p.fields
            .insert("email".into(), "Enter the email address to invite.".into());
    }
    let (status, p) = match (role, p.is_empty()) {
        (Some(role), true) => match app
            .identity
            .invite_by_email(&meta, &viewer.principal, &f.email, role, days)
            .await
        {
            Ok(_) => {
                return Ok(redirect(&href(
                    "/app/settings/invitations",
                    org,
                    &[("done", "invited")],
                )));
            }
            Err(e) => problems_of(e)?,
        },
        _ => (StatusCode::UNPROCESSABLE_ENTITY, p),
    };
    let invite = kept(&viewer, &f, p);
    render(
        &app,
        &viewer,
        org,
        Answer {
            status: Some(status),
            invite: Some(invite),
            ..Answer::default()
        },
    )
    .await
}

/// `POST /app/settings/invite-codes`: a new code, shown on the answer.
pub async fn create_code(
    State(app): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let f: InviteForm = read_form(&body);
    let viewer = open_form(
        &app,
        &headers,
        &f.org,
        &f.csrf,
        Some(Permission::UserManage),
    )
    .await?;
    let org = super::org_param(&f.org)?;
    let (role, days, p) = role_and_days(&f);
    let (status, p) = match (role, p.is_empty()) {
        (Some(role), true) => match app
            .identity
            .create_invite_code(&meta, &viewer.principal, role, days)
            .await
        {
            Ok(created) => {
                return render(
                    &app,
                    &viewer,
                    org,
                    Answer {
                        status: Some(StatusCode::CREATED),
                        flash: info(
                            "The invite code is created. Copy it now: it is not shown again.",
                        ),
                        created_code: Some(created.code),
                        ..Answer::default()
                    },
                )
                .await;
            }
            Err(e) => problems_of(e)?,
        },
        _ => (StatusCode::UNPROCESSABLE_ENTITY, p),
    };
    let code = kept(&viewer, &f, p);
    render(
        &app,
        &viewer,
        org,
        Answer {
            status: Some(status),
            code: Some(code),
            ..Answer::default()
        },
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RevokeForm {
    csrf: String,
    org: String,
}

/// `POST /app/settings/invitations/{id}/revoke`.
pub async fn revoke(
    State(app): State<AppState>,
    Meta(meta): Meta,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let f: RevokeForm = read_form(&body);
    let viewer = open_form(
        &app,
        &headers,
        &f.org,
        &f.csrf,
        Some(Permission::UserManage),
    )
    .await?;
    let org = super::org_param(&f.org)?;
    let id = Uuid::parse_str(&id).map_err(|_| PageError::NotFound("The invitation"))?;
    match app
        .identity
        .revoke_invitation(&meta, &viewer.principal, id)
        .await
    {
        Ok(_) => Ok(redirect(&href(
            "/app/settings/invitations",
            org,
            &[("done", "revoked")],
        ))),
        Err(e) => {
            let (status, p) = problems_of(e)?;
            render(
                &app,
                &viewer,
                org,
                Answer {
                    status: Some(status),
                    revoke_error: p.fold_unknown(&[]).form,
                    ..Answer::default()
                },
            )
            .await
        }
    }
}
