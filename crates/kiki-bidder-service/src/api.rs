//! The bidder's REST API under `/v1/bidder` (role `api`): line-item CRUD,
//! live status, hourly statistics and segment LTVs, all scoped to the
//! caller's active organisation. Errors become the JSON envelope here.

use axum::Json;
use axum::http::StatusCode;
use kiki_bidder::lineitem::{
    BidStrategy, Budget, CampaignId, Creative, DealTargeting, Flight, FrequencyCap, MarginSettings,
    PacingMode, Priors, Targeting,
};
use kiki_bidder::{LineItem, LineItemId};
use kiki_core::{FieldError, Money};
use kiki_identity::perm::{BidderRead, BidderWrite};
use kiki_server::auth::{Meta, RequirePermission as Perm};
use kiki_server::error::ErrorEnvelope;
use kiki_server::extract::{Json as Body, Path, Query};
use kiki_server::versioning::{ApiVersion, VersionedApi};
use kiki_server::{ApiError, AppState, Service};
use serde::{Deserialize, Serialize};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::service::BidderService;
use crate::service::line_items::ChangedBy;
use crate::service::ltv_sync::LtvSyncReport;
use crate::service::reads::{StatsView, StatusView};
use crate::store::{LineItemRecord, SegmentMember, SegmentValue};

/// Every route of the bidder API, in both versions.
pub fn api() -> VersionedApi<AppState> {
    let v = ApiVersion::CURRENT;
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
    #[param(value_type = Option<LineItemState>, inline)]
    pub status: Option<String>,
    /// 1–200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page (a line item id).
    #[param(value_type = Option<String>, format = Uuid)]
    pub cursor: Option<String>,
}

/// A line item's state, as `GET /v1/bidder/line-items?status=` filters it.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)] // the values of `ListQuery::status` in the API document
pub enum LineItemState {
    Active,
    Paused,
    Archived,
}

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::validation(vec![FieldError::new(field, message.into())])
}

fn yes() -> bool {
    true
}

/// A line item definition as the API takes it: a `LineItem` without `id`
/// and `org_id` (the service sets them), `campaign_id` optional. The rules
/// the engine checks (`LineItem::validate` and a trial compile) answer 422
/// naming each field.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(example = json!(line_item_example()))]
pub struct LineItemBody {
    /// A new campaign id when absent.
    #[serde(default)]
    pub campaign_id: Option<CampaignId>,
    #[serde(default)]
    pub name: String,
    /// `false` pauses the line item. Default `true`.
    #[serde(default = "yes")]
    pub active: bool,
    pub flight: Flight,
    pub budget: Budget,
    #[serde(default)]
    pub pacing: PacingMode,
    #[serde(default)]
    pub bid_strategy: BidStrategy,
    /// Upper bound on the CPM whatever the strategy says; positive when set.
    #[serde(default)]
    #[schema(value_type = Option<kiki_core::PositiveMoney>)]
    pub max_cpm: Option<Money>,
    #[serde(default)]
    pub targeting: Targeting,
    #[schema(min_items = 1)]
    pub creatives: Vec<Creative>,
    /// LTV used when the user's segment is unknown; not negative.
    #[schema(value_type = kiki_core::NonNegativeMoney)]
    pub ltv_baseline: Money,
    #[serde(default)]
    pub margin: MarginSettings,
    #[serde(default)]
    pub frequency_cap: Option<FrequencyCap>,
    #[serde(default)]
    pub priors: Option<Priors>,
    #[serde(default)]
    pub deals: DealTargeting,
}

impl LineItemBody {
    /// The line item, with placeholder `id` and `org_id` the service replaces.
    fn into_line_item(self) -> LineItem {
        LineItem {
            id: LineItemId(Uuid::nil()),
            org_id: kiki_core::OrgId(Uuid::nil()),
            campaign_id: self
                .campaign_id
                .unwrap_or_else(|| CampaignId(Uuid::now_v7())),
            name: self.name,
            active: self.active,
            flight: self.flight,
            budget: self.budget,
            pacing: self.pacing,
            bid_strategy: self.bid_strategy,
            max_cpm: self.max_cpm,
            targeting: self.targeting,
            creatives: self.creatives,
            ltv_baseline: self.ltv_baseline,
            margin: self.margin,
            frequency_cap: self.frequency_cap,
            priors: self.priors,
            deals: self.deals,
        }
    }
}

fn line_item_example() -> serde_json::Value {
    json!({
        "name": "Spring sale, US desktop",
        "active": true,
        "flight": { "start": "2026-03-01T00:00:00Z", "end": "2026-04-01T00:00:00Z" },
        "budget": { "daily": { "micros": 50_000_000, "currency": "USD" } },
        "pacing": { "mode": "even" },
        "bid_strategy": { "kind": "value_based" },
        "max_cpm": { "micros": 5_000_000, "currency": "USD" },
        "targeting": { "countries": ["USA"], "device_types": [2] },
        "creatives": [{
            "id": "spring-300x250",
            "format": { "type": "banner", "w": 300, "h": 250 },
            "markup": "<a href=\"${KIKI_CLICK_URL}https%3A%2F%2Fshop.example%2Fspring\"><img src=\"https://cdn.shop.example/spring.png\"></a><img src=\"${KIKI_IMP_URL}\" width=\"1\" height=\"1\">",
            "adomain": ["shop.example"],
            "categories": ["IAB22"]
        }],
        "ltv_baseline": { "micros": 120_000_000, "currency": "USD" },
        "margin": { "bid_share": 0.5 },
        "frequency_cap": { "max_impressions": 3, "window_secs": 86_400 }
    })
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
    responses((status = 200, body = LineItemPage),
        (status = 400, body = ErrorEnvelope, description = "A query parameter is not of its type"),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope, description = "`limit`, `status` or `cursor` is out of range"),
        (status = 429, body = ErrorEnvelope)))]
pub async fn list_line_items(
    Service(svc): Service<BidderService>,
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
    let items = svc
        .line_items(&p.0.scope, q.status.as_deref(), after, limit)
        .await?;
    let next_cursor = (items.len() == limit as usize)
        .then(|| items.last().map(|r| r.item.id.to_string()))
        .flatten();
    Ok(Json(LineItemPage { items, next_cursor }))
}

/// Creates a line item; it starts bidding on every replica without a restart.
#[utoipa::path(post, path = "/bidder/line-items", tag = "bidder", request_body = LineItemBody,
    responses((status = 201, body = LineItemRecord),
        (status = 400, body = ErrorEnvelope, description = "The body is not JSON"),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 413, body = ErrorEnvelope), (status = 415, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope, description = "A field is invalid; each is named"),
        (status = 429, body = ErrorEnvelope)))]
pub async fn create_line_item(
    Service(svc): Service<BidderService>,
    Meta(meta): Meta,
    p: Perm<BidderWrite>,
    Body(body): Body<LineItemBody>,
) -> Result<(StatusCode, Json<LineItemRecord>), ApiError> {
    let li = body.into_line_item();
    let actor = p.0.actor();
    let rec = svc
        .create_line_item(changed_by(&p.0, &actor, &meta), li)
        .await?;
    Ok((StatusCode::CREATED, Json(rec)))
}

/// One line item.
#[utoipa::path(get, path = "/bidder/line-items/{id}", tag = "bidder",
    params(("id" = Uuid, Path, description = "Line item id")),
    responses((status = 200, body = LineItemRecord),
        (status = 400, body = ErrorEnvelope, description = "The id is not a UUID"),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn get_line_item(
    Service(svc): Service<BidderService>,
    p: Perm<BidderRead>,
    Path(id): Path<Uuid>,
) -> Result<Json<LineItemRecord>, ApiError> {
    Ok(Json(svc.line_item(&p.0.scope, LineItemId(id)).await?))
}

/// Replaces a line item (the whole definition, as on create).
#[utoipa::path(put, path = "/bidder/line-items/{id}", tag = "bidder",
    params(("id" = Uuid, Path, description = "Line item id")), request_body = LineItemBody,
    responses((status = 200, body = LineItemRecord),
        (status = 400, body = ErrorEnvelope, description = "The id is not a UUID, or the body is not JSON"),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope, description = "No such line item, or it is archived"),
        (status = 413, body = ErrorEnvelope), (status = 415, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope, description = "A field is invalid; each is named"),
        (status = 429, body = ErrorEnvelope)))]
pub async fn update_line_item(
    Service(svc): Service<BidderService>,
    Meta(meta): Meta,
    p: Perm<BidderWrite>,
    Path(id): Path<Uuid>,
    Body(body): Body<LineItemBody>,
) -> Result<Json<LineItemRecord>, ApiError> {
    let li = body.into_line_item();
    let actor = p.0.actor();
    svc.update_line_item(changed_by(&p.0, &actor, &meta), LineItemId(id), li)
        .await
        .map(Json)
        .map_err(ApiError::from)
}

/// Archives a line item: it stops bidding; its statistics stay readable.
#[utoipa::path(delete, path = "/bidder/line-items/{id}", tag = "bidder",
    params(("id" = Uuid, Path, description = "Line item id")),
    responses((status = 204, description = "Archived"),
        (status = 400, body = ErrorEnvelope, description = "The id is not a UUID"),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope, description = "No such line item, or already archived"),
        (status = 429, body = ErrorEnvelope)))]
pub async fn delete_line_item(
    Service(svc): Service<BidderService>,
    Meta(meta): Meta,
    p: Perm<BidderWrite>,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    let actor = p.0.actor();
    svc.archive_line_item(changed_by(&p.0, &actor, &meta), LineItemId(id))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Spend today and in total, holds, throttle, shading factor and rate
/// estimates of a line item.
#[utoipa::path(get, path = "/bidder/line-items/{id}/status", tag = "bidder",
    params(("id" = Uuid, Path, description = "Line item id")),
    responses((status = 200, body = StatusView),
        (status = 400, body = ErrorEnvelope, description = "The id is not a UUID"),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn line_item_status(
    Service(svc): Service<BidderService>,
    p: Perm<BidderRead>,
    Path(id): Path<Uuid>,
) -> Result<Json<StatusView>, ApiError> {
    Ok(Json(
        svc.line_item_status(&p.0.scope, LineItemId(id)).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// RFC 3339, inclusive.
    #[param(format = DateTime)]
    pub from: Option<String>,
    /// RFC 3339, exclusive.
    #[param(format = DateTime)]
    pub to: Option<String>,
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
    params(("id" = Uuid, Path, description = "Line item id"), StatsQuery),
    responses((status = 200, body = StatsView),
        (status = 400, body = ErrorEnvelope, description = "The id is not a UUID"),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope, description = "`from` or `to` is not an RFC 3339 time"),
        (status = 429, body = ErrorEnvelope)))]
pub async fn line_item_stats(
    Service(svc): Service<BidderService>,
    p: Perm<BidderRead>,
    Path(id): Path<Uuid>,
    Query(q): Query<StatsQuery>,
) -> Result<Json<StatsView>, ApiError> {
    let from = parse_time("from", &q.from)?;
    let to = parse_time("to", &q.to)?;
    Ok(Json(
        svc.line_item_stats(&p.0.scope, LineItemId(id), from, to)
            .await?,
    ))
}

/// An organisation's segments and (on PUT) their members.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Segments {
    pub segments: Vec<SegmentValue>,
    #[serde(default)]
    pub members: Vec<SegmentMember>,
}

/// The body of `PUT /bidder/segments`: every segment of the organisation
/// with its LTV (in the bidder currency), and the users in them. Replaces
/// what was there.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({
    "segments": [
        { "segment": "loyal", "ltv": { "micros": 180_000_000, "currency": "USD" } },
        { "segment": "new", "ltv": { "micros": 60_000_000, "currency": "USD" } }
    ],
    "members": [{ "user": "buyer-7f3a", "segment": "loyal" }]
}))]
pub struct SegmentsReplace {
    /// Names unique, 1 to 200 characters; LTV not negative.
    #[schema(max_items = 10_000)]
    pub segments: Vec<SegmentValue>,
    /// Each user key 1 to 256 characters, in one of `segments`.
    #[serde(default)]
    #[schema(max_items = 200_000)]
    pub members: Vec<SegmentMember>,
}

/// The organisation's segment LTVs.
#[utoipa::path(get, path = "/bidder/segments", tag = "bidder",
    responses((status = 200, body = Segments, description = "The segments; `members` is always empty here"),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 429, body = ErrorEnvelope)))]
pub async fn get_segments(
    Service(svc): Service<BidderService>,
    p: Perm<BidderRead>,
) -> Result<Json<Segments>, ApiError> {
    let segments = svc.segments(&p.0.scope).await?;
    Ok(Json(Segments {
        segments,
        members: Vec::new(),
    }))
}

/// Replaces the organisation's segment LTVs and members; the bid path uses
/// them after the next snapshot refresh (immediately on this replica's event).
#[utoipa::path(put, path = "/bidder/segments", tag = "bidder", request_body = SegmentsReplace,
    responses((status = 200, body = Segments, description = "What was stored"),
        (status = 400, body = ErrorEnvelope, description = "The body is not JSON"),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 413, body = ErrorEnvelope), (status = 415, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope, description = "A segment or member is invalid; each is named"),
        (status = 429, body = ErrorEnvelope)))]
pub async fn put_segments(
    Service(svc): Service<BidderService>,
    Meta(meta): Meta,
    p: Perm<BidderWrite>,
    Body(req): Body<SegmentsReplace>,
) -> Result<Json<Segments>, ApiError> {
    let req = Segments {
        segments: req.segments,
        members: req.members,
    };
    let actor = p.0.actor();
    svc.replace_segments(changed_by(&p.0, &actor, &meta), &req.segments, &req.members)
        .await?;
    Ok(Json(req))
}

/// Copies the current LTV model's mean CLV per segment into the segment
/// values now (the `bidder.ltv_sync` job does it every ten minutes). Only
/// the model's segments are written; other segments and the members stay.
#[utoipa::path(post, path = "/bidder/segments/sync-ltv", tag = "bidder",
    responses((status = 200, body = LtvSyncReport),
        (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 429, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope, description = "No LTV model fitted yet"),
        (status = 503, body = ErrorEnvelope, description = "The LTV service does not run here")))]
pub async fn sync_segments_from_ltv(
    Service(svc): Service<BidderService>,
    Meta(meta): Meta,
    p: Perm<BidderWrite>,
) -> Result<Json<LtvSyncReport>, ApiError> {
    svc.sync_segments_from_ltv_by(&p.0.scope, p.0.actor(), Some(&meta))
        .await
        .map(Json)
        .map_err(ApiError::from)
}
