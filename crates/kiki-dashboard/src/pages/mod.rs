//! The page handlers: each reads the session ([`Viewer`]), checks the
//! permission its page needs, calls the services in-process and renders
//! its template. What pages share lives here: reading the query string and
//! form bodies, and the signed-in frame (navigation, organisation
//! switcher).

pub mod account;
pub mod approvals;
pub mod audit;
pub mod campaigns;
pub mod customers;
pub mod notifications;
pub mod overview;
pub mod public;
pub mod settings;
pub mod sign_in;
pub mod variants;
pub mod wizard;

use kiki_identity::Permission;

use crate::error::PageError;
use crate::range::{Range, RangeQuery};
use crate::session::Viewer;
use crate::views::{Chrome, NavLink, OrgLink};

/// The report query of a page (`?range=…&org=…`), 400 naming the field.
pub fn range_query(raw: Option<&str>) -> Result<RangeQuery, PageError> {
    serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|e| PageError::BadRequest(format!("The address is not valid: {e}.")))
}

/// The viewer and the range of a report page. The organisation the query
/// names is loaded first, so that its time zone is the range's default
/// (else the deployment's, `fallback_tz`): returned as the third value.
pub async fn open_range(
    app: &kiki_server::AppState,
    headers: &axum::http::HeaderMap,
    raw: Option<&str>,
    fallback_tz: &str,
) -> Result<(Viewer, Range, String), PageError> {
    let q = range_query(raw)?;
    let org = q.org_id().map_err(PageError::BadRequest)?;
    let viewer = Viewer::load(&app.identity, headers, org.map(kiki_core::OrgId)).await?;
    let default_tz = viewer.time_zone(fallback_tz);
    let tz =
        q.tz.as_deref()
            .filter(|t| !t.trim().is_empty())
            .unwrap_or(&default_tz);
    let today = kiki_analytics::today_in(app.clock.now(), tz).ok_or_else(|| {
        PageError::BadRequest(format!("`tz`: `{tz}` is not in the time zone database."))
    })?;
    let range = q
        .resolve(today, &default_tz)
        .map_err(PageError::BadRequest)?;
    Ok((viewer, range, default_tz))
}

/// The sections of the navigation, each with the permission it needs: a
/// link is shown only to roles holding it, and its handler refuses others.
const SECTIONS: &[(&str, &str, &str, Permission)] = &[
    ("overview", "/app", "Overview", Permission::CampaignRead),
    (
        "campaigns",
        "/app/campaigns",
        "Campaigns",
        Permission::CampaignRead,
    ),
    (
        "approvals",
        "/app/approvals",
        "Approvals",
        Permission::CampaignRead,
    ),
    (
        "customers",
        "/app/customers",
        "Customers",
        Permission::LtvRead,
    ),
    // Shown when the viewer's unread count was read (the module is mounted).
    (
        "notifications",
        "/app/notifications",
        "Notifications",
        Permission::CampaignRead,
    ),
    (
        "settings",
        "/app/settings/members",
        "Settings",
        Permission::UserRead,
    ),
    ("audit", "/app/audit", "Audit log", Permission::AuditRead),
];

/// A form body: every field has a default, so a field left out reads as
/// empty and is answered by the handler's own checks (a missing CSRF token
/// is refused like a wrong one).
pub fn read_form<T: serde::de::DeserializeOwned + Default>(body: &[u8]) -> T {
    serde_urlencoded::from_bytes(body).unwrap_or_default()
}

/// The signed-in frame for `viewer` on `section`, with links that keep the
/// range and switch organisation in one click.
pub fn chrome(viewer: &Viewer, section: &str, range: &Range, default_tz: &str) -> Chrome {
    let me = &viewer.me;
    let active = viewer.principal.org_id().0;
    let nav = SECTIONS
        .iter()
        .filter(|(key, _, _, p)| {
            viewer.can(*p) && (*key != "notifications" || viewer.unread.is_some())
        })
        .map(|(key, path, label, _)| NavLink {
            href: format!("{path}?{}", range.query(default_tz)),
            label,
            current: *key == section,
            badge: (*key == "notifications")
                .then_some(viewer.unread)
                .flatten()
                .filter(|n| *n > 0),
        })
        .collect();
    let section_path = SECTIONS
        .iter()
        .find(|(k, ..)| *k == section)
        .map(|(_, p, ..)| *p)
        .unwrap_or("/app");
    let orgs = me
        .organisations
        .iter()
        .filter(|o| o.org.archived_at.is_none())
        .map(|o| OrgLink {
            href: format!("{section_path}?{}", range.with_org(o.org.id.0, default_tz)),
            name: o.org.name.clone(),
            kind: o.org.kind.as_str().to_owned(),
            role: o.role.as_str().to_owned(),
            current: o.org.id.0 == active,
        })
        .collect();
    Chrome {
        user: me
            .user
            .as_ref()
            .map(|u| {
                if u.display_name.trim().is_empty() {
                    u.email.clone()
                } else {
                    u.display_name.clone()
                }
            })
            .unwrap_or_default(),
        org_name: me.active_org.name.clone(),
        org_kind: me.active_org.kind.as_str().to_owned(),
        role: me.role.map(|r| r.as_str().to_owned()).unwrap_or_default(),
        orgs,
        nav,
        account_href: match range.org {
            Some(o) => format!("/app/account?org={o}"),
            None => "/app/account".to_owned(),
        },
        csrf: viewer.csrf.clone(),
    }
}
