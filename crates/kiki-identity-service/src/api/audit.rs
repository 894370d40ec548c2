//! The audit log (list, CSV export, chain verification), decision records,
//! the permission matrix and the caller's own mail in the in-app outbox.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use kiki_core::{Page, PageRequest};
use kiki_explain::DecisionFilter;
use kiki_identity::perm::{AuditRead, DecisionRead};
use kiki_identity::{Permission, Role, permissions_of};
use kiki_server::auth::{Auth, RequirePermission as Perm};
use kiki_server::error::{ApiError, ErrorEnvelope};
use kiki_server::extract::{Path, Query};
use kiki_server::state::AppState;
use kiki_shield::AuditFilter;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

fn parse_time(field: &str, v: &Option<String>) -> Result<Option<OffsetDateTime>, ApiError> {
    match v.as_deref().filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => OffsetDateTime::parse(s, &Rfc3339).map(Some).map_err(|_| {
            ApiError::validation(vec![kiki_core::FieldError::new(
                field,
                "Must be an RFC 3339 time such as 2026-11-23T10:00:00Z.",
            )])
        }),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// User id, API key id or system job name.
    pub actor: Option<String>,
    /// Exact action, or a prefix ending in `*` (`auth.*`).
    pub action: Option<String>,
    pub target_kind: Option<String>,
    pub target_id: Option<String>,
    /// RFC 3339, inclusive.
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// RFC 3339, exclusive.
    #[param(format = DateTime)]
    pub to: Option<String>,
    /// Rows per page, 1 to 500 (default 50).
    #[serde(default, deserialize_with = "kiki_core::page::page_limit")]
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
    /// `json` (default) or `csv`.
    #[param(value_type = Option<AuditFormat>, inline)]
    pub format: Option<String>,
}

/// How `GET /v1/audit` answers.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)] // the values of `AuditQuery::format` in the API document
pub enum AuditFormat {
    Json,
    Csv,
}

/// Audit entries of the active organisation, newest first (JSON or CSV).
#[utoipa::path(get, path = "/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, description = "A page of entries (JSON), or with `format=csv` (or `Accept: text/csv`) every matching entry as CSV",
            content((serde_json::Value = "application/json"), (String = "text/csv"))),
        (status = 403, body = ErrorEnvelope)))]
pub async fn list_audit(
    State(app): State<AppState>,
    p: Perm<AuditRead>,
    headers: HeaderMap,
    Query(q): Query<AuditQuery>,
) -> Result<Response, ApiError> {
    let filter = AuditFilter {
        actor_id: q.actor.clone().filter(|s| !s.is_empty()),
        action: q.action.clone().filter(|s| !s.is_empty()),
        target_kind: q.target_kind.clone().filter(|s| !s.is_empty()),
        target_id: q.target_id.clone().filter(|s| !s.is_empty()),
        from: parse_time("from", &q.from)?,
        to: parse_time("to", &q.to)?,
    };
    let csv = q.format.as_deref() == Some("csv")
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.starts_with("text/csv"));
    match q.format.as_deref() {
        None | Some("json") | Some("csv") => {}
        Some(_) => {
            return Err(ApiError::validation(vec![kiki_core::FieldError::new(
                "format",
                "Must be `json` or `csv`.",
            )]));
        }
    }
    let page = PageRequest {
        limit: q.limit,
        cursor: q.cursor.clone(),
    };
    page.cursor().map_err(|f| ApiError::validation(vec![f]))?;
    if !csv {
        let page = app.audit.list(&p.0.scope, &filter, &page).await?;
        return Ok(Json(page).into_response());
    }
    // CSV: every matching entry, page by page (the export of a filtered range).
    let mut entries = Vec::new();
    let mut cursor = None;
    loop {
        let req = PageRequest {
            limit: Some(kiki_core::page::MAX_LIMIT),
            cursor,
        };
        let Page { items, next_cursor } = app.audit.list(&p.0.scope, &filter, &req).await?;
        entries.extend(items);
        match next_cursor {
            Some(c) if entries.len() < 100_000 => cursor = Some(c),
            _ => break,
        }
    }
    let mut buf = Vec::new();
    kiki_shield::write_csv(&mut buf, &entries)?;
    let mut resp = buf.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    resp.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"audit.csv\""),
    );
    Ok(resp)
}

/// Verifies the hash chain of the active organisation's audit log.
#[utoipa::path(get, path = "/audit/verify", tag = "audit",
    responses((status = 200, body = serde_json::Value, description = "The chain report"),
        (status = 403, body = ErrorEnvelope)))]
pub async fn verify_audit(
    State(app): State<AppState>,
    p: Perm<AuditRead>,
) -> Result<Response, ApiError> {
    let report = app.audit.verify_for(&p.0.scope).await?;
    Ok(Json(report).into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DecisionQuery {
    /// e.g. `identity.throttle`, `bidder.margin_guardian`.
    pub engine: Option<String>,
    pub kind: Option<String>,
    pub subject_kind: Option<String>,
    pub subject_id: Option<String>,
    #[param(format = DateTime)]
    pub from: Option<String>,
    #[param(format = DateTime)]
    pub to: Option<String>,
    /// Rows per page, 1 to 500 (default 50).
    #[serde(default, deserialize_with = "kiki_core::page::page_limit")]
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

/// Decision records of automated actions in the active organisation, newest first.
#[utoipa::path(get, path = "/decisions", tag = "decisions", params(DecisionQuery),
    responses((status = 200, body = serde_json::Value, description = "A page of decisions"),
        (status = 403, body = ErrorEnvelope)))]
pub async fn list_decisions(
    State(app): State<AppState>,
    p: Perm<DecisionRead>,
    Query(q): Query<DecisionQuery>,
) -> Result<Response, ApiError> {
    let filter = DecisionFilter {
        engine: q.engine.filter(|s| !s.is_empty()),
        kind: q.kind.filter(|s| !s.is_empty()),
        subject_kind: q.subject_kind.filter(|s| !s.is_empty()),
        subject_id: q.subject_id.filter(|s| !s.is_empty()),
        from: parse_time("from", &q.from)?,
        to: parse_time("to", &q.to)?,
    };
    let page = PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    page.cursor().map_err(|f| ApiError::validation(vec![f]))?;
    let page = app.decisions.list(&p.0.scope, &filter, &page).await?;
    Ok(Json(page).into_response())
}

/// One decision record.
#[utoipa::path(get, path = "/decisions/{id}", tag = "decisions",
    params(("id" = uuid::Uuid, Path, description = "Decision id")),
    responses((status = 200, body = serde_json::Value), (status = 404, body = ErrorEnvelope)))]
pub async fn get_decision(
    State(app): State<AppState>,
    p: Perm<DecisionRead>,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    match app.decisions.get(&p.0.scope, id).await? {
        Some(d) => Ok(Json(d).into_response()),
        None => Err(ApiError::not_found("The decision")),
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PermissionInfo {
    pub name: &'static str,
    pub description: &'static str,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PermissionMatrix {
    pub permissions: Vec<PermissionInfo>,
    /// Role name → the permissions it holds.
    pub roles: BTreeMap<&'static str, Vec<&'static str>>,
}

/// The permission matrix: every permission and which roles hold it.
#[utoipa::path(get, path = "/permissions", tag = "auth",
    responses((status = 200, body = PermissionMatrix), (status = 401, body = ErrorEnvelope)))]
pub async fn permissions(_auth: Auth) -> Json<PermissionMatrix> {
    Json(PermissionMatrix {
        permissions: Permission::ALL
            .iter()
            .map(|p| PermissionInfo {
                name: p.as_str(),
                description: p.describe(),
            })
            .collect(),
        roles: Role::ALL
            .iter()
            .map(|r| {
                (
                    r.as_str(),
                    permissions_of(*r).iter().map(|p| p.as_str()).collect(),
                )
            })
            .collect(),
    })
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    /// Every stored mail instead of the caller's own: platform operators, in development only.
    pub all: Option<bool>,
    /// Rows per page, 1 to 500 (default 50).
    #[serde(default, deserialize_with = "kiki_core::page::page_limit")]
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

/// A page of stored mail (secrets in bodies are masked).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OutboxPage {
    pub items: Vec<kiki_notify::OutboxMail>,
    pub next_cursor: Option<String>,
}

/// The caller's own mail in the in-app outbox (sent to their address), newest
/// first. Reset and invitation tokens in stored bodies are masked. With
/// `all=true`, every mail: for a platform operator on a development server.
#[utoipa::path(get, path = "/outbox", tag = "auth", params(OutboxQuery),
    responses((status = 200, body = OutboxPage, description = "A page of mail"),
        (status = 400, body = ErrorEnvelope, description = "A cursor this API did not issue, or a malformed X-Kiki-Org"),
        (status = 401, body = ErrorEnvelope, description = "Not signed in"),
        (status = 403, body = ErrorEnvelope, description = "An API key, or `all` without platform rights or outside development"),
        (status = 404, body = ErrorEnvelope, description = "X-Kiki-Org names an organisation the caller does not reach"),
        (status = 422, body = ErrorEnvelope, description = "A query parameter is invalid")))]
pub async fn outbox(
    State(app): State<AppState>,
    Auth(p): Auth,
    Query(q): Query<OutboxQuery>,
) -> Result<Response, ApiError> {
    let page = PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    page.cursor().map_err(|f| ApiError::validation(vec![f]))?;
    let development = app.config.env == kiki_server::config::Environment::Development;
    let page = if q.all == Some(true) {
        app.identity.all_mail(&p, development, &page).await?
    } else {
        app.identity.my_mail(&p, &page).await?
    };
    Ok(Json(OutboxPage {
        items: page.items,
        next_cursor: page.next_cursor,
    })
    .into_response())
}
