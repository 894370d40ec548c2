//! The organisation's settings pages — members (`members`), invitations
//! and invite codes (`invitations`), API keys (`api_keys`) — and what they
//! share with the account and audit-log pages: opening a page in the
//! organisation of the address or form (`org`), the signed-in frame for a
//! page without a date range, the settings sub-navigation, and a form's
//! problems (the identity service's field errors by field, its other
//! refusals as one sentence for the form).
//!
//! Every page and action needs the permission its JSON API route needs
//! (`user.read` to list members and invitations, `user.manage` to change
//! them, `apikey.manage` for keys); the identity service, called
//! in-process, applies its own rules (owners, the last owner, grants no
//! wider than the caller's) and writes the audit entries.

pub mod api_keys;
pub mod invitations;
pub mod members;

use std::collections::BTreeMap;

use axum::http::{HeaderMap, StatusCode};
use kiki_analytics_service::domain::CompareMode;
use kiki_analytics_service::service::Comparison;
use kiki_core::OrgId;
use kiki_identity::{IdentityError, Permission};
use kiki_server::AppState;
use serde::Deserialize;
use uuid::Uuid;

use crate::error::PageError;
use crate::range::Range;
use crate::session::Viewer;
use crate::views::{Chrome, Flash, Link};

/// The `org` parameter of a page's address or form: `None` when empty,
/// "not found" when it is not an organisation id (like an organisation the
/// person does not reach).
pub fn org_param(raw: &str) -> Result<Option<OrgId>, PageError> {
    match raw.trim() {
        "" => Ok(None),
        s => Uuid::parse_str(s)
            .map(|u| Some(OrgId(u)))
            .map_err(|_| PageError::NotFound("The organisation")),
    }
}

/// The query string of a page as a struct (unknown parameters, such as a
/// kept date range, are ignored); 400 naming what cannot be read.
pub fn query<T: serde::de::DeserializeOwned + Default>(raw: Option<&str>) -> Result<T, PageError> {
    serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|e| PageError::BadRequest(format!("The address is not valid: {e}.")))
}

/// The parameters every page of this module reads from its address.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PageQuery {
    pub org: String,
    /// What the last action did (a key, never text).
    pub done: String,
}

/// The session on a page, acting in `org`, holding `permission`.
pub async fn open(
    app: &AppState,
    headers: &HeaderMap,
    org: Option<OrgId>,
    permission: Option<Permission>,
) -> Result<Viewer, PageError> {
    let viewer = Viewer::load(&app.identity, headers, org).await?;
    if let Some(p) = permission {
        viewer.require(p)?;
    }
    Ok(viewer)
}

/// The session of a form POST: its CSRF token first, then `permission`.
pub async fn open_form(
    app: &AppState,
    headers: &HeaderMap,
    org: &str,
    csrf: &str,
    permission: Option<Permission>,
) -> Result<Viewer, PageError> {
    let viewer = Viewer::load(&app.identity, headers, org_param(org)?).await?;
    viewer.check_csrf(csrf)?;
    if let Some(p) = permission {
        viewer.require(p)?;
    }
    Ok(viewer)
}

/// The signed-in frame of a page without a date range: the navigation
/// links open the report pages on their default range, in the same
/// organisation.
pub fn frame(app: &AppState, viewer: &Viewer, section: &str, org: Option<OrgId>) -> Chrome {
    let today = app.clock.now().date();
    let range = Range {
        preset: crate::range::DEFAULT_PRESET.to_owned(),
        since: today,
        until: today,
        compare: Comparison {
            mode: CompareMode::Previous,
            since: None,
            until: None,
        },
        tz: "UTC".to_owned(),
        org: org.map(|o| o.0),
    };
    crate::pages::chrome(viewer, section, &range, "UTC")
}

/// `path` in the organisation `org` (when one was chosen), with `extra`
/// parameters.
pub fn href(path: &str, org: Option<OrgId>, extra: &[(&str, &str)]) -> String {
    let mut p: Vec<(&str, String)> = Vec::new();
    if let Some(o) = org {
        p.push(("org", o.0.to_string()));
    }
    p.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    if p.is_empty() {
        path.to_owned()
    } else {
        format!(
            "{path}?{}",
            serde_urlencoded::to_string(&p).unwrap_or_default()
        )
    }
}

/// The settings pages' own links, each shown to roles holding what its
/// page needs.
pub fn tabs(viewer: &Viewer, current: &str, org: Option<OrgId>) -> Vec<Link> {
    [
        (
            "members",
            "/app/settings/members",
            "Members",
            Permission::UserRead,
        ),
        (
            "invitations",
            "/app/settings/invitations",
            "Invitations",
            Permission::UserRead,
        ),
        (
            "api-keys",
            "/app/settings/api-keys",
            "API keys",
            Permission::ApiKeyManage,
        ),
    ]
    .into_iter()
    .filter(|(.., p)| viewer.can(*p))
    .map(|(key, path, label, _)| Link {
        href: href(path, org, &[]),
        label: label.to_owned(),
        current: key == current,
    })
    .collect()
}

/// An information line at the top of a page.
pub fn info(text: &str) -> Option<Flash> {
    Some(Flash {
        kind: "info",
        text: text.to_owned(),
    })
}

/// A time as the pages write it: "1 Mar 2026, 12:00 UTC".
pub fn when(t: time::OffsetDateTime) -> String {
    let f = time::macros::format_description!(
        "[day padding:none] [month repr:short] [year], [hour]:[minute] UTC"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(&f)
        .unwrap_or_default()
}

/// What was wrong with a form: a sentence per field (shown next to it) and
/// one for the form as a whole (a rule of the service, such as "the
/// organisation must keep an owner").
#[derive(Debug, Clone, Default)]
pub struct Problems {
    pub fields: BTreeMap<String, String>,
    pub form: Option<String>,
}

impl Problems {
    pub fn field(field: &str, message: impl Into<String>) -> Problems {
        let mut p = Problems::default();
        p.fields.insert(field.to_owned(), message.into());
        p
    }

    pub fn form(message: impl Into<String>) -> Problems {
        Problems {
            fields: BTreeMap::new(),
            form: Some(message.into()),
        }
    }

    /// The sentence for `field`, if any.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }

    pub fn has(&self, field: &str) -> bool {
        self.fields.contains_key(field)
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.form.is_none()
    }

    /// Field errors whose field the form does not show, read as sentences
    /// for the form.
    pub fn fold_unknown(mut self, shown: &[&str]) -> Problems {
        let unknown: Vec<String> = self
            .fields
            .keys()
            .filter(|k| !shown.contains(&k.as_str()))
            .cloned()
            .collect();
        for k in unknown {
            if let Some(m) = self.fields.remove(&k) {
                self.form = Some(match self.form.take() {
                    Some(f) => format!("{f} {m}"),
                    None => m,
                });
            }
        }
        self
    }
}

/// How a refusal of the identity service is answered on a form's page: a
/// field error or a rule of the service becomes a message on the page (with
/// its status); anything else is an error page.
pub fn problems_of(e: IdentityError) -> Result<(StatusCode, Problems), PageError> {
    Ok(match e {
        IdentityError::Invalid(fields) => {
            let mut p = Problems::default();
            for f in fields {
                p.fields
                    .entry(f.field)
                    .and_modify(|m| {
                        m.push(' ');
                        m.push_str(&f.message);
                    })
                    .or_insert(f.message);
            }
            (StatusCode::UNPROCESSABLE_ENTITY, p)
        }
        IdentityError::Conflict(m) => (StatusCode::CONFLICT, Problems::form(m)),
        // A rule about what this person may grant (owners): the page stays,
        // with the sentence.
        IdentityError::Forbidden(m) => (StatusCode::FORBIDDEN, Problems::form(m)),
        e @ (IdentityError::Throttled { .. } | IdentityError::Locked { .. }) => {
            (StatusCode::TOO_MANY_REQUESTS, Problems::form(e.to_string()))
        }
        e @ IdentityError::Busy { .. } => (
            StatusCode::SERVICE_UNAVAILABLE,
            Problems::form(e.to_string()),
        ),
        other => return Err(PageError::from(other)),
    })
}

/// The roles `viewer` may hand out: an owner every role, others every role
/// but owner (the identity service refuses the rest).
pub fn grantable_roles(viewer: &Viewer) -> Vec<kiki_identity::Role> {
    kiki_identity::Role::ALL
        .iter()
        .copied()
        .filter(|r| {
            *r != kiki_identity::Role::Owner
                || viewer.principal.role == Some(kiki_identity::Role::Owner)
        })
        .collect()
}

/// A role written for people ("Admin").
pub fn role_label(r: kiki_identity::Role) -> &'static str {
    use kiki_identity::Role;
    match r {
        Role::Owner => "Owner",
        Role::Admin => "Admin",
        Role::Manager => "Manager",
        Role::Analyst => "Analyst",
        Role::Viewer => "Viewer",
    }
}

/// A choice of a role `<select>`.
pub fn role_choices(
    viewer: &Viewer,
    selected: &str,
    keep: Option<kiki_identity::Role>,
) -> Vec<crate::views::Choice> {
    let mut roles = grantable_roles(viewer);
    if let Some(k) = keep
        && !roles.contains(&k)
    {
        roles.insert(0, k);
    }
    roles
        .into_iter()
        .map(|r| crate::views::Choice {
            value: r.as_str().to_owned(),
            label: role_label(r).to_owned(),
            selected: r.as_str() == selected,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_field_errors_land_on_their_fields_and_rules_on_the_form() {
        let (status, p) = problems_of(IdentityError::Invalid(vec![
            kiki_core::FieldError::new("email", "Not an address."),
            kiki_core::FieldError::new("email", "Too long."),
            kiki_core::FieldError::new("role", "Unknown."),
        ]))
        .unwrap();
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(p.get("email"), Some("Not an address. Too long."));
        let p = p.fold_unknown(&["email"]);
        assert_eq!(p.form.as_deref(), Some("Unknown."));
        assert!(!p.has("role"));
        let (status, p) = problems_of(IdentityError::Conflict("Keep an owner.".into())).unwrap();
        assert_eq!(status, StatusCode::CONFLICT);
        assert_eq!(p.form.as_deref(), Some("Keep an owner."));
        assert!(problems_of(IdentityError::NotFound("The member")).is_err());
    }

    #[test]
    fn links_keep_the_organisation() {
        let org = OrgId(Uuid::from_u128(1));
        assert_eq!(href("/app/audit", None, &[]), "/app/audit");
        assert_eq!(
            href("/app/audit", Some(org), &[("done", "x")]),
            "/app/audit?org=00000000-0000-0000-0000-000000000001&done=x"
        );
        assert!(org_param("nope").is_err());
        assert_eq!(org_param(" ").unwrap(), None);
    }
}
