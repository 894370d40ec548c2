//! `/app/settings/members`: the organisation's members with their role,
//! status, two-factor state and last sign-in (`user.read`); with
//! `user.manage`, a role change, deactivation or reactivation, and removal
//! after a confirmation page. The identity service's own rules (nobody
//! removes or deactivates themselves, only owners touch the owner role, an
//! organisation keeps an active owner) come back as a sentence on the
//! member's row, with the role that was chosen still selected.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use kiki_core::{OrgId, UserId};
use kiki_identity::{Member, Permission, Role, Status};
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
use crate::views::{Choice, Layout, Link, html};

/// One member's row.
#[derive(Debug, Clone)]
pub struct MemberRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: &'static str,
    pub status: &'static str,
    pub active: bool,
    pub mfa: &'static str,
    pub last_login: String,
    pub joined: String,
    pub is_you: bool,
    /// Role change, status and removal are offered.
    pub can_act: bool,
    pub roles: Vec<Choice>,
    pub remove_href: String,
    /// Why the last action on this member was refused.
    pub error: Option<String>,
}

#[derive(Template)]
#[template(path = "settings_members.html")]
pub struct MembersPage {
    pub layout: Layout,
    pub tabs: Vec<Link>,
    pub org: Option<String>,
    pub csrf: String,
    pub rows: Vec<MemberRow>,
    pub can_manage: bool,
    /// Where the organisation is an agency's client: the agency's members
    /// reach it too, with their role there.
    pub agency_note: Option<String>,
}

#[derive(Template)]
#[template(path = "settings_member_remove.html")]
pub struct RemovePage {
    pub layout: Layout,
    pub tabs: Vec<Link>,
    pub org: Option<String>,
    pub csrf: String,
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: &'static str,
    pub back_href: String,
}

fn status_label(s: Status) -> &'static str {
    match s {
        Status::Active => "Active",
        Status::Deactivated => "Deactivated",
    }
}

fn display_name(m: &Member) -> String {
    if m.display_name.trim().is_empty() {
        m.email.clone()
    } else {
        m.display_name.clone()
    }
}

/// The row of `m`, with `chosen` as the selected role and `error` beside it.
fn row(
    viewer: &Viewer,
    org: Option<OrgId>,
    m: &Member,
    chosen: Option<&str>,
    error: Option<String>,
) -> MemberRow {
    let is_you = viewer.principal.user_id() == Some(m.user_id);
    let can_manage = viewer.can(Permission::UserManage);
    // Only an owner changes an owner; the service says so too.
    let owner_rule = m.role != Role::Owner || viewer.principal.role == Some(Role::Owner);
    MemberRow {
        id: m.user_id.0.to_string(),
        name: display_name(m),
        email: m.email.clone(),
        role: role_label(m.role),
        status: status_label(m.status),
        active: m.status == Status::Active,
        mfa: if m.mfa_enabled { "On" } else { "Off" },
        last_login: m.last_login_at.map(when).unwrap_or_else(|| "Never".into()),
        joined: when(m.joined_at),
        is_you,
        can_act: can_manage && !is_you && owner_rule,
        roles: role_choices(viewer, chosen.unwrap_or(m.role.as_str()), Some(m.role)),
        remove_href: href(
            &format!("/app/settings/members/{}/remove", m.user_id.0),
            org,
            &[],
        ),
        error,
    }
}

/// The sentence about an agency's members, when the active organisation
/// is a client under an agency.
fn agency_note(viewer: &Viewer) -> Option<String> {
    let parent = viewer.me.active_org.parent_id?;
    let name = viewer
        .me
        .organisations
        .iter()
        .find(|o| o.org.id == parent)
        .map(|o| o.org.name.clone())
        .unwrap_or_else(|| "the agency".to_owned());
    Some(format!(
        "Members of {name} also reach this organisation through the agency, with their role there; \
         they are listed in the agency's settings."
    ))
}

/// The members page, with `problem` on the row of `target`.
async fn render(
    app: &AppState,
    viewer: &Viewer,
    org: Option<OrgId>,
    status: StatusCode,
    done: &str,
    target: Option<(UserId, Option<&str>, Problems)>,
) -> Result<Response, PageError> {
    let members = app.identity.list_members(&viewer.principal.scope).await?;
    let mut layout = Layout::public("Members");
    layout.chrome = Some(frame(app, viewer, "settings", org));
    layout.flash = match done {
        "role" => info("The role is changed."),
        "deactivated" => info("The member is deactivated: their sessions here have ended."),
        "reactivated" => info("The member is active again."),
        "removed" => info("The member is removed from this organisation."),
        _ => None,
    };
    let rows = members
        .iter()
        .map(|m| match &target {
            Some((user, chosen, p)) if *user == m.user_id => {
                let text = [p.form.clone(), p.get("role").map(str::to_owned)]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ");
                row(
                    viewer,
                    org,
                    m,
                    *chosen,
                    Some(text).filter(|t| !t.is_empty()),
                )
            }
            _ => row(viewer, org, m, None, None),
        })
        .collect();
    let page = MembersPage {
        layout,
        tabs: tabs(viewer, "members", org),
        org: org.map(|o| o.0.to_string()),
        csrf: viewer.csrf.clone(),
        rows,
        can_manage: viewer.can(Permission::UserManage),
        agency_note: agency_note(viewer),
    };
    Ok(html(status, page.render()))
}

/// `GET /app/settings/members`.
pub async fn page(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let q: PageQuery = query(raw.as_deref())?;
    let org = super::org_param(&q.org)?;
    let viewer = open(&app, &headers, org, Some(Permission::UserRead)).await?;
    render(&app, &viewer, org, StatusCode::OK, &q.done, None).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MemberForm {
    csrf: String,
    org: String,
    role: String,
    status: String,
    confirm: String,
}

fn member_id(raw: &str) -> Result<UserId, PageError> {
    Uuid::parse_str(raw)
        .map(UserId)
        .map_err(|_| PageError::NotFound("The member"))
}

/// The answer to a member action: back to the list with `done`, or the
/// list with the refusal on the member's row.
async fn answer(
    app: &AppState,
    viewer: &Viewer,
    org: Option<OrgId>,
    user: UserId,
    chosen: Option<&str>,
    result: Result<&str, kiki_identity::IdentityError>,
) -> Result<Response, PageError> {
    match result {
        Ok(done) => Ok(redirect(&href(
            "/app/settings/members",
            org,
            &[("done", done)],
        ))),
        Err(e) => {
            let (status, p) = problems_of(e)?;
            render(app, viewer, org, status, "", Some((user, chosen, p))).await
        }
    }
}

/// `POST /app/settings/members/{user}/role`.
pub async fn change_role(
    State(app): State<AppState>,
    Meta(meta): Meta,
    Path(user): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let f: MemberForm = read_form(&body);
    let viewer = open_form(
        &app,
        &headers,
        &f.org,
        &f.csrf,
        Some(Permission::UserManage),
    )
    .await?;
    let org = super::org_param(&f.org)?;
    let user = member_id(&user)?;
    let result = match Role::parse(f.role.trim()) {
        Some(role) => app
            .identity
            .change_role(&meta, &viewer.principal, user, role)
            .await
            .map(|_| "role"),
        None => Err(kiki_identity::IdentityError::invalid(
            "role",
            "Choose a role from the list.",
        )),
    };
    answer(&app, &viewer, org, user, Some(f.role.trim()), result).await
}

/// `POST /app/settings/members/{user}/status`: `status` is `deactivated`
/// or `active`.
pub async fn set_status(
    State(app): State<AppState>,
    Meta(meta): Meta,
    Path(user): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let f: MemberForm = read_form(&body);
    let viewer = open_form(
        &app,
        &headers,
        &f.org,
        &f.csrf,
        Some(Permission::UserManage),
    )
    .await?;
    let org = super::org_param(&f.org)?;
    let user = member_id(&user)?;
    let (status, done) = match f.status.as_str() {
        "deactivated" => (Status::Deactivated, "deactivated"),
        "active" => (Status::Active, "reactivated"),
        _ => {
            return Err(PageError::BadRequest(
                "`status` must be deactivated or active.".into(),
            ));
        }
    };
    let result = app
        .identity
        .set_member_status(&meta, &viewer.principal, user, status)
        .await
        .map(|_| done);
    answer(&app, &viewer, org, user, None, result).await
}

/// `GET /app/settings/members/{user}/remove`: the confirmation step.
pub async fn confirm_remove(
    State(app): State<AppState>,
    Path(user): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let q: PageQuery = query(raw.as_deref())?;
    let org = super::org_param(&q.org)?;
    let viewer = open(&app, &headers, org, Some(Permission::UserManage)).await?;
    let user = member_id(&user)?;
    let members = app.identity.list_members(&viewer.principal.scope).await?;
    let m = members
        .iter()
        .find(|m| m.user_id == user)
        .ok_or(PageError::NotFound("The member"))?;
    let mut layout = Layout::public("Remove a member");
    layout.chrome = Some(frame(&app, &viewer, "settings", org));
    let page = RemovePage {
        layout,
        tabs: tabs(&viewer, "members", org),
        org: org.map(|o| o.0.to_string()),
        csrf: viewer.csrf.clone(),
        id: user.0.to_string(),
        name: display_name(m),
        email: m.email.clone(),
        role: role_label(m.role),
        back_href: href("/app/settings/members", org, &[]),
    };
    Ok(html(StatusCode::OK, page.render()))
}

/// `POST /app/settings/members/{user}/remove`, with `confirm=yes` from the
/// confirmation page (anything else goes back to it).
pub async fn remove(
    State(app): State<AppState>,
    Meta(meta): Meta,
    Path(user): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let f: MemberForm = read_form(&body);
    let viewer = open_form(
        &app,
        &headers,
        &f.org,
        &f.csrf,
        Some(Permission::UserManage),
    )
    .await?;
    let org = super::org_param(&f.org)?;
    let user = member_id(&user)?;
    if f.confirm != "yes" {
        return Ok(redirect(&href(
            &format!("/app/settings/members/{}/remove", user.0),
            org,
            &[],
        )));
    }
    let result = app
        .identity
        .remove_member(&meta, &viewer.principal, user)
        .await
        .map(|_| "removed");
    answer(&app, &viewer, org, user, None, result).await
}
