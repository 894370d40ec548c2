//! The bidder's REST API under `/v1/bidder` (role `api`): line-item CRUD,
//! live status, hourly statistics and segment LTVs, all scoped to the
//! caller's active organisation. Errors become the JSON envelope here.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use kiki_bidder::engine::LineItemStatus;
use kiki_bidder::{LineItem, LineItemId};
use kiki_core::{ErrorCode, FieldError};
use kiki_identity::perm::{BidderRead, BidderWrite};
use kiki_server::auth::{Meta, RequirePermission as Perm};
use kiki_server::error::ErrorEnvelope;
use kiki_server::extract::{Json as Body, Path, Query, parse_json};
use kiki_server::versioning::{ApiVersion, VersionedApi};
use kiki_server::{ApiError, AppState, Service};
use kiki_shield::AuditEvent;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::line_items::{ChangedBy, LineItemError};
use crate::ltv_sync::{LtvSyncError, LtvSyncReport};
use crate::service::{BidderService, EVENT_SEGMENTS, publish};
use crate::store::{self, HourlyRow, LineItemRecord, SegmentMember, SegmentValue};

/// Every route of the bidder API, in both versions.
pub fn api() -> VersionedApi<AppState> {
    let v = ApiVersion::BOTH;
    VersionedApi::new()
        .routes(v, routes!(list_line_items, create_line_item))
        .routes(
            v,
            routes!(get_line_item, update_line_item, delete_line_item),
        )
        .routes(v, routes!(line_item_status))
        .routes(v, routes!(line_item_stats))
        .routes(v, routes!(get_segments, put_segments))
        .routes(v, routes!(sync_segments_from_ltv))
}

/// A page of line items.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LineItemPage {
    pub items: Vec<LineItemRecord>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `active`, `paused` or `archived` (default: active and paused).
    pub status: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<u32>,
    pub cursor: Option<String>,
}

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::validation(vec![FieldError::new(field, message.into())])
}

/// Reads a request body as a line item definition. `id` and `org_id` are
/// the service's to set (placeholders here); `campaign_id` is optional. A
/// field of the wrong type or shape is a 422 naming its path; the rules the
/// engine checks are the service's ([`BidderService::check_line_item`]).
fn line_item_body(bytes: &[u8]) -> Result<LineItem, ApiError> {
    let mut v: serde_json::Value = parse_json(bytes)?;
    let obj = v
        .as_object_mut()
        .ok_or_else(|| invalid("body", "The line item must be a JSON object."))?;
    obj.insert("id".into(), serde_json::json!(Uuid::nil()));
    obj.insert("org_id".into(), serde_json::json!(Uuid::nil()));
    if !obj.contains_key("campaign_id") {
        obj.insert("campaign_id".into(), serde_json::json!(Uuid::now_v7()));
    }
    let bytes = serde_json::to_vec(&v).map_err(ApiError::internal)?;
    parse_json(&bytes)
}

/// The envelope of a refused line-item change.
fn line_item_error(e: LineItemError) -> ApiError {
    match e {
        LineItemError::NotFound => ApiError::not_found("line item"),
        LineItemError::Invalid(fields) => ApiError::validation(fields),
        LineItemError::Store(e) => e.into(),
        LineItemError::Shield(e) => e.into(),
    }
}

fn changed_by<'a>(
    p: &'a kiki_identity::Principal,
    actor: &'a kiki_shield::Actor,
    meta: &'a kiki_identity::RequestMeta,
) -> ChangedBy<'a> {
    ChangedBy {
        scope: &p.scope,
        actor,
        meta: Some(meta),
    }
}

/// The organisation's line items, newest first.
#[utoipa::path(get, path = "/bidder/line-items", tag = "bidder", params(ListQuery),
    responses((status = 200, body = LineItemPage), (status = 403, body = ErrorEnvelope)))]
pub async fn list_line_items(
    State(app): State<AppState>,
    p: Perm<BidderRead>,
    Query(q): Query<ListQuery>,
) -> Result<Json<LineItemPage>, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(invalid("limit", "Must be between 1 and 200."));
    }
    if let Some(s) = q.status.as_deref()
        && !matches!(s, "active" | "paused" | "archived")
    {
        return Err(invalid(
            "status",
            "Must be `active`, `paused` or `archived`.",
        ));
    }
    let after = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(
            Uuid::parse_str(c)
                .map_err(|_| invalid("cursor", "The cursor is not one this API issued."))?,
        ),
    };
    let items = store::list_line_items(
        &app.db,
        p.0.scope.org_id(),
        q.status.as_deref(),
        after,
        limit,
    )
    .await?;
    let next_cursor = (items.len() == limit as usize)
        .then(|| items.last().map(|r| r.item.id.to_string()))
        .flatten();
    Ok(Json(LineItemPage { items, next_cursor }))
}

/// Creates a line item; it starts bidding on every replica without a restart.
#[utoipa::path(post, path = "/bidder/line-items", tag = "bidder", request_body = serde_json::Value,
    responses((status = 201, body = LineItemRecord), (status = 403, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn create_line_item(
    Service(svc): Service<BidderService>,
    Meta(meta): Meta,
    p: Perm<BidderWrite>,
    body: Bytes,
) -> Result<(StatusCode, Json<LineItemRecord>), ApiError> {
    let li = line_item_body(&body)?;
    let actor = p.0.actor();
    let rec = svc
        .create_line_item(changed_by(&p.0, &actor, &meta), li)
        .await
        .map_err(line_item_error)?;
    Ok((StatusCode::CREATED, Json(rec)))
}

/// One line item.
#[utoipa::path(get, path = "/bidder/line-items/{id}", tag = "bidder",
    params(("id" = String, Path, description = "Line item id")),
    responses((status = 200, body = LineItemRecord), (status = 404, body = ErrorEnvelope)))]
pub async fn get_line_item(
    State(app): State<AppState>,
    p: Perm<BidderRead>,
    Path(id): Path<Uuid>,
) -> Result<Json<LineItemRecord>, ApiError> {
    store::get_line_item(&app.db, p.0.scope.org_id(), LineItemId(id))
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("line item"))
}

/// Replaces a line item (the whole definition, as on create).
#[utoipa::path(put, path = "/bidder/line-items/{id}", tag = "bidder",
    params(("id" = String, Path, description = "Line item id")), request_body = serde_json::Value,
    responses((status = 200, body = LineItemRecord), (status = 404, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn update_line_item(
    Service(svc): Service<BidderService>,
    Meta(meta): Meta,
    p: Perm<BidderWrite>,
    Path(id): Path<Uuid>,
    body: Bytes,
) -> Result<Json<LineItemRecord>, ApiError> {
    let li = line_item_body(&body)?;
    let actor = p.0.actor();
    svc.update_line_item(changed_by(&p.0, &actor, &meta), LineItemId(id), li)
        .await
        .map(Json)
        .map_err(line_item_error)
}

/// Archives a line item: it stops bidding; its statistics stay readable.
#[utoipa::path(delete, path = "/bidder/line-items/{id}", tag = "bidder",
    params(("id" = String, Path, description = "Line item id")),
    responses((status = 204, description = "Archived"), (status = 404, body = ErrorEnvelope)))]
pub async fn delete_line_item(
    Service(svc): Service<BidderService>,
    Meta(meta): Meta,
    p: Perm<BidderWrite>,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    let actor = p.0.actor();
    svc.archive_line_item(changed_by(&p.0, &actor, &meta), LineItemId(id))
        .await
        .map_err(line_item_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Live figures of a line item in this process.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatusView {
    /// False when the line item is not in this process's snapshot (paused,
    /// archived, flight over, or not loaded yet).
    pub loaded: bool,
    pub delivery_status: String,
    pub live: Option<LineItemStatus>,
}

/// Spend today and in total, holds, throttle, shading factor and rate
/// estimates of a line item.
#[utoipa::path(get, path = "/bidder/line-items/{id}/status", tag = "bidder",
    params(("id" = String, Path, description = "Line item id")),
    responses((status = 200, body = StatusView), (status = 404, body = ErrorEnvelope)))]
pub async fn line_item_status(
    State(app): State<AppState>,
    Service(svc): Service<BidderService>,
    p: Perm<BidderRead>,
    Path(id): Path<Uuid>,
) -> Result<Json<StatusView>, ApiError> {
    let id = LineItemId(id);
    let rec = store::get_line_item(&app.db, p.0.scope.org_id(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("line item"))?;
    let live = svc.bidder.line_item_status(id, svc.now_ms());
    Ok(Json(StatusView {
        loaded: live.is_some(),
        delivery_status: svc
            .item(id)
            .map_or(rec.delivery_status, |m| m.delivery_status),
        live,
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// RFC 3339, inclusive.
    pub from: Option<String>,
    /// RFC 3339, exclusive.
    pub to: Option<String>,
}

/// Hourly delivery of a line item.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatsView {
    pub line_item_id: LineItemId,
    pub hours: Vec<HourlyRow>,
}

fn parse_time(field: &str, v: &Option<String>) -> Result<Option<OffsetDateTime>, ApiError> {
    match v.as_deref().filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => OffsetDateTime::parse(s, &Rfc3339).map(Some).map_err(|_| {
            invalid(
                field,
                "Must be an RFC 3339 time such as 2026-11-23T10:00:00Z.",
            )
        }),
    }
}

/// Bids, wins, spend, impressions and clicks per hour (written every
/// `reporting_flush_secs`, so the current hour lags by up to that).
#[utoipa::path(get, path = "/bidder/line-items/{id}/stats", tag = "bidder",
    params(("id" = String, Path, description = "Line item id"), StatsQuery),
    responses((status = 200, body = StatsView), (status = 404, body = ErrorEnvelope)))]
pub async fn line_item_stats(
    State(app): State<AppState>,
    p: Perm<BidderRead>,
    Path(id): Path<Uuid>,
    Query(q): Query<StatsQuery>,
) -> Result<Json<StatsView>, ApiError> {
    let org = p.0.scope.org_id();
    let id = LineItemId(id);
    let from = parse_time("from", &q.from)?;
    let to = parse_time("to", &q.to)?;
    if store::get_line_item(&app.db, org, id).await?.is_none() {
        return Err(ApiError::not_found("line item"));
    }
    let hours = store::hourly(&app.db, org, id, from, to).await?;
    Ok(Json(StatsView {
        line_item_id: id,
        hours,
    }))
}

/// An organisation's segments and (on PUT) their members.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Segments {
    pub segments: Vec<SegmentValue>,
    #[serde(default)]
    pub members: Vec<SegmentMember>,
}

/// The organisation's segment LTVs.
#[utoipa::path(get, path = "/bidder/segments", tag = "bidder",
    responses((status = 200, body = Segments), (status = 403, body = ErrorEnvelope)))]
pub async fn get_segments(
    State(app): State<AppState>,
    p: Perm<BidderRead>,
) -> Result<Json<Segments>, ApiError> {
    let segments = store::list_segments(&app.db, p.0.scope.org_id()).await?;
    Ok(Json(Segments {
        segments,
        members: Vec::new(),
    }))
}

/// Most segments and members one PUT may carry.
const MAX_SEGMENTS: usize = 10_000;
const MAX_MEMBERS: usize = 200_000;

/// Replaces the organisation's segment LTVs and members; the bid path uses
/// them after the next snapshot refresh (immediately on this replica's event).
#[utoipa::path(put, path = "/bidder/segments", tag = "bidder", request_body = Segments,
    responses((status = 200, body = Segments), (status = 403, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn put_segments(
    State(app): State<AppState>,
    Service(svc): Service<BidderService>,
    Meta(meta): Meta,
    p: Perm<BidderWrite>,
    Body(req): Body<Segments>,
) -> Result<Json<Segments>, ApiError> {
    let mut errs = Vec::new();
    if req.segments.len() > MAX_SEGMENTS {
        errs.push(FieldError::new(
            "segments",
            format!("At most {MAX_SEGMENTS} segments."),
        ));
    }
    if req.members.len() > MAX_MEMBERS {
        errs.push(FieldError::new(
            "members",
            format!("At most {MAX_MEMBERS} members."),
        ));
    }
    let cur = svc.cfg.engine.currency;
    let mut names = std::collections::HashSet::new();
    for (i, s) in req.segments.iter().enumerate() {
        if s.segment.trim().is_empty() || s.segment.len() > 200 {
            errs.push(FieldError::new(
                format!("segments[{i}].segment"),
                "A segment name of 1 to 200 characters.",
            ));
        }
        if !names.insert(s.segment.as_str()) {
            errs.push(FieldError::new(
                format!("segments[{i}].segment"),
                "Listed twice.",
            ));
        }
        if s.ltv.micros < 0 {
            errs.push(FieldError::new(
                format!("segments[{i}].ltv"),
                "Must not be negative.",
            ));
        }
        if s.ltv.currency != cur {
            errs.push(FieldError::new(
                format!("segments[{i}].ltv.currency"),
                format!("Must be the bidder currency {cur}."),
            ));
        }
    }
    for (i, m) in req.members.iter().enumerate() {
        if m.user.is_empty() || m.user.len() > 256 {
            errs.push(FieldError::new(
                format!("members[{i}].user"),
                "A user key of 1 to 256 characters.",
            ));
        }
        if !names.contains(m.segment.as_str()) {
            errs.push(FieldError::new(
                format!("members[{i}].segment"),
                "Not one of `segments`.",
            ));
        }
        if errs.len() > 50 {
            break;
        }
    }
    if !errs.is_empty() {
        return Err(ApiError::validation(errs));
    }
    let org = p.0.scope.org_id();
    let now = app.clock.now();
    let mut tx = app.db.begin().await?;
    store::replace_segments(&mut tx, org, &req.segments, &req.members, now).await?;
    let mut ev = AuditEvent::new(Some(org), p.0.actor(), "bidder.segments.replaced");
    ev.target_kind = Some("bidder_segments".into());
    ev.ip = meta.ip;
    ev.user_agent = meta.user_agent.clone();
    ev.request_id = meta.request_id.clone();
    ev.details = serde_json::json!({
        "segments": req.segments.len(), "members": req.members.len()
    });
    app.identity.audit().append(&mut tx, ev).await?;
    tx.commit().await?;
    publish(
        &app.events,
        org,
        EVENT_SEGMENTS,
        serde_json::json!({ "segments": req.segments.len() }),
        now,
    )
    .await;
    Ok(Json(req))
}

/// The envelope of a failed LTV sync.
fn sync_error(e: LtvSyncError) -> ApiError {
    match e {
        LtvSyncError::NotLinked => ApiError::new(ErrorCode::Unavailable, e.to_string()),
        LtvSyncError::NoModel => ApiError::new(ErrorCode::Conflict, e.to_string()),
        LtvSyncError::Ltv(e) => e.into(),
        LtvSyncError::Store(e) => e.into(),
        LtvSyncError::Shield(e) => e.into(),
    }
}

/// Copies the current LTV model's mean CLV per segment into the segment
/// values now (the `bidder.ltv_sync` job does it every ten minutes). Only
/// the model's segments are written; other segments and the members stay.
#[utoipa::path(post, path = "/bidder/segments/sync-ltv", tag = "bidder",
    responses((status = 200, body = LtvSyncReport), (status = 403, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope, description = "No LTV model fitted yet"),
        (status = 503, body = ErrorEnvelope, description = "The LTV service does not run here")))]
pub async fn sync_segments_from_ltv(
    Service(svc): Service<BidderService>,
    Meta(meta): Meta,
    p: Perm<BidderWrite>,
) -> Result<Json<LtvSyncReport>, ApiError> {
    svc.sync_segments_from_ltv_by(p.0.scope.org_id(), p.0.actor(), Some(&meta))
        .await
        .map(Json)
        .map_err(sync_error)
}
