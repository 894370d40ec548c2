//! `/app/settings/api-keys` (`apikey.manage`): the organisation's API keys
//! with their prefix, permissions, creation, last use and expiry; a new key
//! with a name, permissions (no wider than the creator's: the identity
//! service refuses the rest) and an optional expiry date; revocation. The
//! secret is shown once, on the answer to the create form (never stored,
//! never put in an address, never logged); the list shows only the prefix.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use kiki_core::OrgId;
use kiki_identity::{ApiKeyInfo, NewApiKeyRequest, Permission};
use kiki_server::AppState;
use kiki_server::auth::Meta;
use serde::Deserialize;
use uuid::Uuid;

use super::{
    PageQuery, Problems, frame, href, info, open, open_form, problems_of, query, tabs, when,
};
use crate::error::PageError;
use crate::pages::read_form;
use crate::session::{Viewer, redirect};
use crate::views::{Flash, Layout, Link, html};

/// One key of the list.
#[derive(Debug, Clone)]
pub struct KeyRow {
    pub id: String,
    pub name: String,
    /// `kiki_<prefix>_…`.
    pub prefix: String,
    pub permissions: String,
    pub created: String,
    pub last_used: String,
    pub expires: String,
    /// "Active", "Revoked 1 Mar 2026, 12:00 UTC" or "Expired".
    pub state: String,
    pub active: bool,
}

/// A key just created.
#[derive(Debug, Clone)]
pub struct CreatedKey {
    pub name: String,
    pub secret: String,
}

/// A permission offered as a checkbox.
#[derive(Debug, Clone)]
pub struct PermissionBox {
    pub name: &'static str,
    pub id: String,
    pub description: &'static str,
    pub checked: bool,
}

/// What the create form holds.
#[derive(Debug, Clone, Default)]
pub struct KeyInput {
    pub name: String,
    pub permissions: Vec<PermissionBox>,
    pub expires: String,
    pub problems: Problems,
}

#[derive(Template)]
#[template(path = "settings_api_keys.html")]
pub struct ApiKeysPage {
    pub layout: Layout,
    pub tabs: Vec<Link>,
    pub org: Option<String>,
    pub csrf: String,
    pub rows: Vec<KeyRow>,
    pub input: KeyInput,
    /// A key just created, with its secret: shown this once.
    pub created: Option<CreatedKey>,
    pub revoke_error: Option<String>,
}

fn row(k: &ApiKeyInfo, now: time::OffsetDateTime) -> KeyRow {
    let state = match (k.revoked_at, k.expires_at) {
        (Some(r), _) => format!("Revoked {}", when(r)),
        (None, Some(e)) if e <= now => "Expired".to_owned(),
        _ => "Active".to_owned(),
    };
    KeyRow {
        id: k.id.to_string(),
        name: k.name.clone(),
        prefix: format!("kiki_{}_…", k.prefix),
        permissions: k.permissions.join(", "),
        created: when(k.created_at),
        last_used: k
            .last_used_at
            .map(when)
            .unwrap_or_else(|| "Not used yet".into()),
        expires: k.expires_at.map(when).unwrap_or_else(|| "Never".into()),
        active: state == "Active",
        state,
    }
}

/// The viewer's own permissions as checkboxes, `checked` ticked.
fn boxes(viewer: &Viewer, checked: &[String]) -> Vec<PermissionBox> {
    Permission::ALL
        .iter()
        .filter(|p| viewer.principal.has(**p))
        .map(|p| PermissionBox {
            name: p.as_str(),
            id: format!("perm-{}", p.as_str().replace('.', "-")),
            description: p.describe(),
            checked: checked.iter().any(|c| c == p.as_str()),
        })
        .collect()
}

#[derive(Default)]
struct Answer {
    status: Option<StatusCode>,
    flash: Option<Flash>,
    input: Option<KeyInput>,
    created: Option<CreatedKey>,
    revoke_error: Option<String>,
}

async fn render(
    app: &AppState,
    viewer: &Viewer,
    org: Option<OrgId>,
    a: Answer,
) -> Result<Response, PageError> {
    let keys = app.identity.list_api_keys(&viewer.principal.scope).await?;
    let now = app.clock.now();
    let mut layout = Layout::public("API keys");
    layout.chrome = Some(frame(app, viewer, "settings", org));
    layout.flash = a.flash;
    let page = ApiKeysPage {
        layout,
        tabs: tabs(viewer, "api-keys", org),
        org: org.map(|o| o.0.to_string()),
        csrf: viewer.csrf.clone(),
        rows: keys.iter().map(|k| row(k, now)).collect(),
        input: a.input.unwrap_or_else(|| KeyInput {
            permissions: boxes(viewer, &["campaign.read".to_owned()]),
            ..KeyInput::default()
        }),
        created: a.created,
        revoke_error: a.revoke_error,
    };
    Ok(html(a.status.unwrap_or(StatusCode::OK), page.render()))
}

/// `GET /app/settings/api-keys`.
pub async fn page(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let q: PageQuery = query(raw.as_deref())?;
    let org = super::org_param(&q.org)?;
    let viewer = open(&app, &headers, org, Some(Permission::ApiKeyManage)).await?;
    let flash = match q.done.as_str() {
        "revoked" => info("The key is revoked: requests with it are refused from now on."),
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

/// The create form: `permissions` repeats, one per ticked box.
#[derive(Debug, Default)]
struct CreateForm {
    csrf: String,
    org: String,
    name: String,
    permissions: Vec<String>,
    expires: String,
}

fn create_form(body: &[u8]) -> CreateForm {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    let mut f = CreateForm::default();
    for (k, v) in pairs {
        match k.as_str() {
            "csrf" => f.csrf = v,
            "org" => f.org = v,
            "name" => f.name = v,
            "permissions" => f.permissions.push(v),
            "expires" => f.expires = v,
            _ => {}
        }
    }
    f
}

/// `POST /app/settings/api-keys`: the answer shows the secret once.
pub async fn create(
    State(app): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let f = create_form(&body);
    let viewer = open_form(
        &app,
        &headers,
        &f.org,
        &f.csrf,
        Some(Permission::ApiKeyManage),
    )
    .await?;
    let org = super::org_param(&f.org)?;
    let expires_at = match f.expires.trim() {
        "" => Ok(None),
        s => crate::range::parse_date("expires", s)
            .map(|d| Some(d.midnight().assume_utc()))
            .map_err(|_| {
                Problems::field(
                    "expires",
                    "Enter the expiry as a date (YYYY-MM-DD), or leave it empty.",
                )
            }),
    };
    let outcome = match expires_at {
        Err(p) => Err((StatusCode::UNPROCESSABLE_ENTITY, p)),
        Ok(expires_at) => match app
            .identity
            .create_api_key(
                &meta,
                &viewer.principal,
                NewApiKeyRequest {
                    name: f.name.clone(),
                    permissions: f.permissions.clone(),
                    expires_at,
                },
            )
            .await
        {
            Ok(created) => Ok(created),
            Err(e) => {
                let (status, mut p) = problems_of(e)?;
                // The service names the expiry `expires_at`; the form `expires`.
                if let Some(m) = p.fields.remove("expires_at") {
                    p.fields.insert("expires".into(), m);
                }
                // `permissions[2]`: a name the boxes never offer.
                let named: Vec<String> = p
                    .fields
                    .keys()
                    .filter(|k| k.starts_with("permissions["))
                    .cloned()
                    .collect();
                for k in named {
                    if let Some(m) = p.fields.remove(&k) {
                        p.fields.insert("permissions".into(), m);
                    }
                }
                Err((status, p))
            }
        },
    };
    match outcome {
        Ok(created) => {
            render(
                &app,
                &viewer,
                org,
                Answer {
                    status: Some(StatusCode::CREATED),
                    created: Some(CreatedKey {
                        name: created.key.name.clone(),
                        secret: created.token,
                    }),
                    ..Answer::default()
                },
            )
            .await
        }
        Err((status, p)) => {
            let input = KeyInput {
                name: f.name.trim().to_owned(),
                permissions: boxes(&viewer, &f.permissions),
                expires: f.expires.trim().to_owned(),
                problems: p.fold_unknown(&["name", "permissions", "expires"]),
            };
            render(
                &app,
                &viewer,
                org,
                Answer {
                    status: Some(status),
                    input: Some(input),
                    ..Answer::default()
                },
            )
            .await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RevokeForm {
    csrf: String,
    org: String,
}

/// `POST /app/settings/api-keys/{id}/revoke`.
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
        Some(Permission::ApiKeyManage),
    )
    .await?;
    let org = super::org_param(&f.org)?;
    let id = Uuid::parse_str(&id).map_err(|_| PageError::NotFound("The API key"))?;
    match app
        .identity
        .revoke_api_key(&meta, &viewer.principal, id)
        .await
    {
        Ok(_) => Ok(redirect(&href(
            "/app/settings/api-keys",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_create_form_reads_every_ticked_permission() {
        let f = create_form(
            b"csrf=t&name=CI&permissions=campaign.read&permissions=export&expires=2026-04-01",
        );
        assert_eq!(f.csrf, "t");
        assert_eq!(f.name, "CI");
        assert_eq!(f.permissions, vec!["campaign.read", "export"]);
        assert_eq!(f.expires, "2026-04-01");
        assert!(create_form(b"\xff\xfe").permissions.is_empty());
    }
}
