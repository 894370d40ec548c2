//! `/app/notifications`: the organisation's notifications centre (what
//! needs attention: approvals waiting, rollbacks recommended, failing
//! syncs, the kill switch, campaigns over budget or below the ROAS target),
//! newest first, filtered by unread and kind, paged by cursor; each marked
//! read or dismissed, or all marked read, by a form POST with the session's
//! CSRF token (no script needed). Also the unread count the header's
//! navigation shows and the overview's panel. Shown when the notifications
//! module is mounted; reading needs `campaign.read`, as in the API.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use kiki_analytics_service::AnalyticsService;
use kiki_core::{OrgId, PageRequest};
use kiki_identity::Permission;
use kiki_notifications_service::domain::{Kind, NotificationView, Severity};
use kiki_notifications_service::service::NotificationFilter;
use kiki_notifications_service::{NotificationsError, NotificationsService};
use kiki_server::auth::Meta;
use kiki_server::{AppState, Service};
use serde::Deserialize;
use std::sync::Arc;
use uuid::Uuid;

use crate::error::PageError;
use crate::pages::overview::open;
use crate::pages::{chrome, read_form};
use crate::session::{Viewer, redirect};
use crate::views::{Flash, Layout, html};

/// Notifications per page.
const ROWS: u32 = 25;

/// How many the overview's panel shows.
pub const PANEL_ROWS: u32 = 5;

impl From<NotificationsError> for PageError {
    fn from(e: NotificationsError) -> PageError {
        match e {
            NotificationsError::Invalid(fields) => PageError::BadRequest(
                fields
                    .iter()
                    .map(|f| format!("{}: {}", f.field, f.message))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            NotificationsError::NotFound => PageError::NotFound("The notification"),
            other => PageError::Internal(other.to_string()),
        }
    }
}

/// The service, when its module is mounted.
fn service(app: &AppState) -> Option<Arc<NotificationsService>> {
    app.services.get::<NotificationsService>()
}

/// The viewer's unread count: `None` when the module is not mounted or the
/// role cannot read notifications (the header then has no link).
pub(crate) async fn unread(app: &AppState, viewer: &Viewer) -> Option<i64> {
    let svc = service(app)?;
    if !viewer.can(Permission::CampaignRead) {
        return None;
    }
    match svc.unread_count(&viewer.principal.scope).await {
        Ok(c) => Some(c.unread),
        Err(e) => {
            tracing::warn!(error = %e, "dashboard: the unread notifications could not be counted");
            None
        }
    }
}

/// One notification as a row.
#[derive(Debug, Clone)]
pub struct NotificationRow {
    pub id: String,
    pub kind: &'static str,
    pub kind_label: &'static str,
    pub severity: &'static str,
    pub title: String,
    pub body: String,
    /// A dashboard page to act on it (`/app/…`, with the organisation), or
    /// an API resource shown as text.
    pub href: Option<String>,
    pub api_path: Option<String>,
    pub when: String,
    pub occurrences: i64,
    pub unread: bool,
    pub resolved: bool,
}

fn kind_label(k: Kind) -> &'static str {
    match k {
        Kind::ApprovalWaiting => "Approval waiting",
        Kind::RollbackRecommended => "Rollback recommended",
        Kind::SyncFailing => "Sync failing",
        Kind::KillSwitchEngaged => "Kill switch engaged",
        Kind::BudgetExceeded => "Budget exceeded",
        Kind::PoorRoas => "Below the ROAS target",
    }
}

fn when(t: time::OffsetDateTime) -> String {
    let f = time::macros::format_description!(
        "[day padding:none] [month repr:short] [year], [hour]:[minute] UTC"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(&f)
        .unwrap_or_default()
}

/// `?org=…` for links in the organisation the page shows.
fn org_query(org: Option<Uuid>) -> String {
    org.map(|o| format!("org={o}")).unwrap_or_default()
}

pub(crate) fn row(n: &NotificationView, org: Option<Uuid>) -> NotificationRow {
    let (href, api_path) = if n.link.starts_with("/app") {
        let q = org_query(org);
        let sep = if n.link.contains('?') { '&' } else { '?' };
        let href = if q.is_empty() {
            n.link.clone()
        } else {
            format!("{}{sep}{q}", n.link)
        };
        (Some(href), None)
    } else {
        (None, Some(n.link.clone()))
    };
    NotificationRow {
        id: n.id.to_string(),
        kind: n.kind.as_str(),
        kind_label: kind_label(n.kind),
        severity: match n.severity {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::High => "high",
        },
        title: n.title.clone(),
        body: n.body.clone(),
        href,
        api_path,
        when: when(n.updated_at),
        occurrences: n.occurrences,
        unread: n.is_unread(),
        resolved: n.resolved_at.is_some(),
    }
}

/// A filter choice (a link).
#[derive(Debug, Clone)]
pub struct FilterLink {
    pub href: String,
    pub label: &'static str,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "notifications.html")]
pub struct NotificationsPage {
    pub layout: Layout,
    pub org: Option<String>,
    pub csrf: String,
    pub rows: Vec<NotificationRow>,
    pub filters: Vec<FilterLink>,
    pub kinds: Vec<FilterLink>,
    pub next_href: Option<String>,
    pub unread_count: i64,
    /// Where a form sends the person back to (this page's query).
    pub back: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ListQuery {
    unread: Option<String>,
    kind: Option<String>,
    cursor: Option<String>,
    /// What the last action was (a key, never text).
    done: Option<String>,
}

/// `GET /app/notifications`.
pub async fn page(
    State(app): State<AppState>,
    Service(analytics): Service<AnalyticsService>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let svc = service(&app).ok_or(PageError::NotFound("This page"))?;
    let q: ListQuery = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| PageError::BadRequest(format!("The address is not valid: {e}.")))?;
    // `open` reads the organisation and the range (kept for the header's
    // links) and checks `campaign.read`.
    let (mut viewer, range) = open(&app, &analytics, &headers, raw.as_deref()).await?;
    let unread_only = matches!(q.unread.as_deref(), Some("1" | "true"));
    let kind = match q.kind.as_deref().filter(|k| !k.is_empty()) {
        None => None,
        Some(k) => Some(Kind::parse(k).ok_or_else(|| {
            PageError::BadRequest(format!("`kind`: `{k}` is not a kind of notification."))
        })?),
    };
    let scope = &viewer.principal.scope;
    let list = svc
        .list(
            scope,
            &NotificationFilter {
                unread: unread_only,
                kind,
            },
            &PageRequest {
                limit: Some(ROWS),
                cursor: q.cursor.clone().filter(|c| !c.is_empty()),
            },
        )
        .await?;
    let unread_count = svc.unread_count(scope).await?.unread;
    viewer.unread = Some(unread_count);
    let org = range.org;
    let link = |unread: bool, kind: Option<Kind>, cursor: Option<&str>| {
        let mut p: Vec<(&str, String)> = Vec::new();
        if let Some(o) = org {
            p.push(("org", o.to_string()));
        }
        if unread {
            p.push(("unread", "1".into()));
        }
        if let Some(k) = kind {
            p.push(("kind", k.as_str().into()));
        }
        if let Some(c) = cursor {
            p.push(("cursor", c.into()));
        }
        let qs = serde_urlencoded::to_string(&p).unwrap_or_default();
        if qs.is_empty() {
            "/app/notifications".to_owned()
        } else {
            format!("/app/notifications?{qs}")
        }
    };
    let filters = vec![
        FilterLink {
            href: link(false, kind, None),
            label: "All",
            current: !unread_only,
        },
        FilterLink {
            href: link(true, kind, None),
            label: "Unread",
            current: unread_only,
        },
    ];
    let mut kinds = vec![FilterLink {
        href: link(unread_only, None, None),
        label: "Every kind",
        current: kind.is_none(),
    }];
    kinds.extend(Kind::ALL.into_iter().map(|k| FilterLink {
        href: link(unread_only, Some(k), None),
        label: kind_label(k),
        current: kind == Some(k),
    }));
    let default_tz = viewer.time_zone(&analytics.config().default_time_zone);
    let mut layout = Layout::public("Notifications");
    layout.chrome = Some(chrome(&viewer, "notifications", &range, &default_tz));
    layout.flash = match q.done.as_deref() {
        Some("read") => Some("The notification is marked read."),
        Some("all_read") => Some("Every notification is marked read."),
        Some("dismissed") => Some("The notification is dismissed."),
        _ => None,
    }
    .map(|t| Flash {
        kind: "info",
        text: t.to_owned(),
    });
    let p = NotificationsPage {
        layout,
        org: org.map(|o| o.to_string()),
        csrf: viewer.csrf.clone(),
        rows: list.items.iter().map(|n| row(n, org)).collect(),
        filters,
        kinds,
        next_href: list
            .next_cursor
            .as_deref()
            .map(|c| link(unread_only, kind, Some(c))),
        unread_count,
        back: link(unread_only, kind, None),
    };
    Ok(html(StatusCode::OK, p.render()))
}

/// The form of every action.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ActionForm {
    csrf: String,
    org: String,
    /// The list to go back to (this site's `/app/notifications…` only).
    back: String,
}

async fn form_viewer(
    app: &AppState,
    headers: &HeaderMap,
    f: &ActionForm,
) -> Result<(Viewer, Arc<NotificationsService>), PageError> {
    let svc = service(app).ok_or(PageError::NotFound("This page"))?;
    let org = match f.org.trim() {
        "" => None,
        s => Some(OrgId(
            Uuid::parse_str(s).map_err(|_| PageError::NotFound("The organisation"))?,
        )),
    };
    let viewer = Viewer::load(&app.identity, headers, org).await?;
    viewer.check_csrf(&f.csrf)?;
    viewer.require(Permission::CampaignRead)?;
    Ok((viewer, svc))
}

/// Back to the list the form came from, with what was done.
fn back(f: &ActionForm, done: &str) -> Response {
    // Only this page's own address: never an open redirect.
    let base = if f.back.starts_with("/app/notifications") && !f.back.contains("//") {
        f.back.clone()
    } else {
        "/app/notifications".to_owned()
    };
    let sep = if base.contains('?') { '&' } else { '?' };
    redirect(&format!("{base}{sep}done={done}"))
}

fn notification_id(id: &str) -> Result<Uuid, PageError> {
    Uuid::parse_str(id).map_err(|_| PageError::NotFound("The notification"))
}

/// `POST /app/notifications/{id}/read`.
pub async fn mark_read(
    State(app): State<AppState>,
    Meta(meta): Meta,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let f: ActionForm = read_form(&body);
    let (viewer, svc) = form_viewer(&app, &headers, &f).await?;
    svc.mark_read(&viewer.principal, &meta, notification_id(&id)?)
        .await?;
    Ok(back(&f, "read"))
}

/// `POST /app/notifications/{id}/dismiss`.
pub async fn dismiss(
    State(app): State<AppState>,
    Meta(meta): Meta,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let f: ActionForm = read_form(&body);
    let (viewer, svc) = form_viewer(&app, &headers, &f).await?;
    svc.dismiss(&viewer.principal, &meta, notification_id(&id)?)
        .await?;
    Ok(back(&f, "dismissed"))
}

/// `POST /app/notifications/read-all`.
pub async fn mark_all_read(
    State(app): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let f: ActionForm = read_form(&body);
    let (viewer, svc) = form_viewer(&app, &headers, &f).await?;
    svc.mark_all_read(&viewer.principal, &meta).await?;
    Ok(back(&f, "all_read"))
}

/// The overview's panel: the newest unread notifications that still hold,
/// at most [`PANEL_ROWS`]. Empty when the module is not mounted or the role
/// cannot read them.
pub(crate) async fn panel(
    app: &AppState,
    viewer: &Viewer,
    org: Option<Uuid>,
) -> Vec<NotificationRow> {
    let Some(svc) = service(app) else {
        return Vec::new();
    };
    if !viewer.can(Permission::CampaignRead) {
        return Vec::new();
    }
    match svc
        .list(
            &viewer.principal.scope,
            &NotificationFilter {
                unread: true,
                kind: None,
            },
            &PageRequest {
                limit: Some(PANEL_ROWS),
                cursor: None,
            },
        )
        .await
    {
        Ok(page) => page.items.iter().map(|n| row(n, org)).collect(),
        Err(e) => {
            tracing::warn!(error = %e, "dashboard: the notifications panel could not be read");
            Vec::new()
        }
    }
}
