//! The `/v1/notifications` routes (OpenAPI-annotated); service errors
//! become HTTP responses at the edge through their `DomainError` face.
//!
//! Permissions: the notifications are about campaigns, their approvals,
//! spend and results and the connections that feed them, which is what
//! `campaign.read` lets a member see (every role has it, viewers included),
//! so reading them needs `campaign.read`; marking read and dismissing change
//! only the notification's own state, not the campaign, so they need the
//! same permission. The thresholds are the organisation's settings:
//! reading them needs `org.read`, changing them `org.manage`.

use axum::Json;
use axum::http::StatusCode;
use kiki_core::{Page, PageRequest};
use kiki_identity::perm::{CampaignRead, OrgManage, OrgRead};
use kiki_server::auth::{Meta, RequirePermission as Perm};
use kiki_server::error::ErrorEnvelope;
use kiki_server::extract::{Json as Body, Path, Query};
use kiki_server::versioning::{ApiVersion, VersionedApi};
use kiki_server::{ApiError, AppState, Service};
use serde::Deserialize;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::domain::{Kind, MarkedRead, NotificationView, Settings, SettingsRequest, UnreadCount};
use crate::service::{NotificationFilter, NotificationsService};

/// Every route of the notifications API.
pub fn api() -> VersionedApi<AppState> {
    let v = ApiVersion::CURRENT;
    VersionedApi::new()
        .routes(v, routes!(list_notifications))
        .routes(v, routes!(unread_notifications))
        .routes(v, routes!(notification_settings, put_notification_settings))
        .routes(v, routes!(mark_all_notifications_read))
        .routes(v, routes!(get_notification))
        .routes(v, routes!(mark_notification_read))
        .routes(v, routes!(dismiss_notification))
}

/// Filters of the notification list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationQuery {
    /// `true`: only notifications not read and still holding (not
    /// resolved).
    #[param(example = true)]
    pub unread: Option<bool>,
    /// Only this kind.
    #[param(inline)]
    pub kind: Option<Kind>,
    /// Rows per page, 1 to 500 (default 50).
    #[serde(default, deserialize_with = "kiki_core::page::page_limit")]
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

/// The organisation's notifications, newest first (dismissed ones are not
/// listed; resolved ones are, with `resolved_at`).
#[utoipa::path(get, path = "/notifications", tag = "notifications", params(NotificationQuery),
    responses((status = 200, body = Page<NotificationView>, example = json!({
            "items": [{
                "id": "0193a0c4-5e1f-7c3a-9b2d-4f6e8a1c2b3d",
                "kind": "approval_waiting",
                "severity": "warning",
                "title": "The launch of “Spring range” waits for approval",
                "body": "Someone asked to launch “Spring range”. A member with the budget.approve permission approves or rejects it on the approvals page; nothing is spent until then.",
                "subject": {"type": "approval", "id": "0193a0c4-5e1f-7c3a-9b2d-000000000002"},
                "link": "/app/approvals",
                "occurrences": 1,
                "created_at": "2026-11-24T10:01:30Z",
                "updated_at": "2026-11-24T10:01:30Z",
                "read_at": null,
                "resolved_at": null
            }],
            "next_cursor": null
        })),
        (status = 403, description = "Lacks `campaign.read`", body = ErrorEnvelope),
        (status = 422, description = "The cursor is not one this API issued", body = ErrorEnvelope)))]
pub async fn list_notifications(
    Service(svc): Service<NotificationsService>,
    p: Perm<CampaignRead>,
    Query(q): Query<NotificationQuery>,
) -> Result<Json<Page<NotificationView>>, ApiError> {
    let filter = NotificationFilter {
        unread: q.unread.unwrap_or(false),
        kind: q.kind,
    };
    let page = PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    Ok(Json(svc.list(&p.0.scope, &filter, &page).await?))
}

/// How many notifications are unread and still hold (the dashboard's
/// badge).
#[utoipa::path(get, path = "/notifications/unread-count", tag = "notifications",
    responses((status = 200, body = UnreadCount, example = json!({"unread": 3})),
        (status = 403, description = "Lacks `campaign.read`", body = ErrorEnvelope)))]
pub async fn unread_notifications(
    Service(svc): Service<NotificationsService>,
    p: Perm<CampaignRead>,
) -> Result<Json<UnreadCount>, ApiError> {
    Ok(Json(svc.unread_count(&p.0.scope).await?))
}

/// One notification.
#[utoipa::path(get, path = "/notifications/{id}", tag = "notifications",
    params(("id" = Uuid, Path, description = "Notification id")),
    responses((status = 200, body = NotificationView),
        (status = 403, description = "Lacks `campaign.read`", body = ErrorEnvelope),
        (status = 404, description = "No such notification in the organisation (or dismissed)", body = ErrorEnvelope)))]
pub async fn get_notification(
    Service(svc): Service<NotificationsService>,
    p: Perm<CampaignRead>,
    Path(id): Path<Uuid>,
) -> Result<Json<NotificationView>, ApiError> {
    Ok(Json(svc.get(&p.0.scope, id).await?))
}

/// Marks a notification read (once read, it stays read: a repeat changes
/// nothing) and answers it.
#[utoipa::path(post, path = "/notifications/{id}/read", tag = "notifications",
    params(("id" = Uuid, Path, description = "Notification id")),
    responses((status = 200, body = NotificationView),
        (status = 403, description = "Lacks `campaign.read`", body = ErrorEnvelope),
        (status = 404, description = "No such notification in the organisation (or dismissed)", body = ErrorEnvelope)))]
pub async fn mark_notification_read(
    Service(svc): Service<NotificationsService>,
    Meta(meta): Meta,
    p: Perm<CampaignRead>,
    Path(id): Path<Uuid>,
) -> Result<Json<NotificationView>, ApiError> {
    Ok(Json(svc.mark_read(&p.0, &meta, id).await?))
}

/// Marks every unread notification of the organisation read.
#[utoipa::path(post, path = "/notifications/read-all", tag = "notifications",
    responses((status = 200, body = MarkedRead, example = json!({"marked": 4})),
        (status = 403, description = "Lacks `campaign.read`", body = ErrorEnvelope)))]
pub async fn mark_all_notifications_read(
    Service(svc): Service<NotificationsService>,
    Meta(meta): Meta,
    p: Perm<CampaignRead>,
) -> Result<Json<MarkedRead>, ApiError> {
    Ok(Json(svc.mark_all_read(&p.0, &meta).await?))
}

/// Dismisses a notification: it leaves the list, and its cause, raised
/// again, opens a new one.
#[utoipa::path(post, path = "/notifications/{id}/dismiss", tag = "notifications",
    params(("id" = Uuid, Path, description = "Notification id")),
    responses((status = 204, description = "Dismissed"),
        (status = 403, description = "Lacks `campaign.read`", body = ErrorEnvelope),
        (status = 404, description = "No such notification in the organisation (or dismissed already)", body = ErrorEnvelope)))]
pub async fn dismiss_notification(
    Service(svc): Service<NotificationsService>,
    Meta(meta): Meta,
    p: Perm<CampaignRead>,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    svc.dismiss(&p.0, &meta, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The organisation's thresholds: the ROAS target, the budget tolerance
/// and the kinds raised (`defaults: true` while it has not set its own).
#[utoipa::path(get, path = "/notifications/settings", tag = "notifications",
    responses((status = 200, body = Settings),
        (status = 403, description = "Lacks `org.read`", body = ErrorEnvelope)))]
pub async fn notification_settings(
    Service(svc): Service<NotificationsService>,
    p: Perm<OrgRead>,
) -> Result<Json<Settings>, ApiError> {
    Ok(Json(svc.settings(&p.0.scope).await?))
}

/// Replaces the organisation's thresholds. They apply from the next
/// evaluation (the next metrics to land).
#[utoipa::path(put, path = "/notifications/settings", tag = "notifications",
    request_body = SettingsRequest,
    responses((status = 200, body = Settings),
        (status = 403, description = "Lacks `org.manage`", body = ErrorEnvelope),
        (status = 422, description = "A threshold is out of range or a kind is listed twice (each named)", body = ErrorEnvelope)))]
pub async fn put_notification_settings(
    Service(svc): Service<NotificationsService>,
    Meta(meta): Meta,
    p: Perm<OrgManage>,
    Body(req): Body<SettingsRequest>,
) -> Result<Json<Settings>, ApiError> {
    Ok(Json(svc.put_settings(&p.0, &meta, &req).await?))
}
