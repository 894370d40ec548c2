//! The `/v1/conversions` routes (OpenAPI-annotated); service errors become
//! HTTP responses at the edge through their `DomainError` face.
//!
//! - `POST /conversions`: the server's postback, authenticated by an access
//!   token or API key with `campaign.write`, or by `X-Kiki-Signature`.
//! - `POST /conversions/collect`: the snippet's report (public; the site key
//!   in the body), JSON or `text/plain` (a browser's simple request).
//! - `GET /conversions/snippet.js`: the snippet (public).
//! - Reads (`campaign.read`): the list, the daily summary, the settings.
//! - Credentials (`apikey.manage`): the signing secret and the site.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kiki_core::{ErrorCode, Page, PageRequest};
use kiki_identity::perm::{ApiKeyManage, CampaignRead, PermissionMarker};
use kiki_server::auth::{Auth, Meta, RequirePermission as Perm};
use kiki_server::error::ErrorEnvelope;
use kiki_server::extract::{Json as Body, Query, parse_json};
use kiki_server::versioning::{ApiVersion, VersionedApi};
use kiki_server::{ApiError, AppState, Service};
use serde::Deserialize;
use serde_json::json;
use time::Date;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::domain::{
    ConversionRequest, ConversionSettings, ConversionView, DailySummary, NewSecret,
    SiteConversionAnswer, SiteConversionRequest, SiteRequest, SiteView,
};
use crate::service::{ConversionFilter, ConversionsService, Recorded, Reporter};

/// The signature header of a signed postback.
pub const SIGNATURE_HEADER: &str = "x-kiki-signature";

/// Every route of the conversions API.
pub fn api() -> VersionedApi<AppState> {
    let v = ApiVersion::CURRENT;
    VersionedApi::new()
        .routes(v, routes!(record_conversion, list_conversions))
        .routes(v, routes!(collect_conversion))
        .routes(v, routes!(get_snippet))
        .routes(v, routes!(daily_conversions))
        .routes(v, routes!(conversion_settings))
        .routes(v, routes!(rotate_secret))
        .routes(v, routes!(put_site))
}

/// The parts of the API document the annotations cannot state: the
/// signature's security scheme.
pub fn document() -> serde_json::Value {
    json!({"components": {"securitySchemes": {"conversion_signature": {
        "type": "apiKey", "in": "header", "name": "X-Kiki-Signature",
        "description": "A postback signed with the organisation's conversion secret (`POST /v1/conversions/secret`): `key=<key id>,t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.<body>\" under the secret>`, within `conversions.signature_tolerance_secs` of the server's clock."
    }}}})
}

fn is_media(headers: &HeaderMap, accepted: &[&str]) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|ct| {
            ct.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .is_some_and(|m| accepted.contains(&m.as_str()))
}

fn has_session_cookie(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .any(|(k, _)| k == kiki_server::auth::SESSION_COOKIE)
}

async fn body_bytes(state: &AppState, body: axum::body::Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, state.config.http.body_limit_bytes)
        .await
        .map_err(|_| kiki_server::error::envelope_for_status(StatusCode::PAYLOAD_TOO_LARGE))
}

/// The reporter of a postback: its bearer token, API key or session (with
/// `campaign.write`), else its signature over `body`.
async fn postback_reporter(
    state: &AppState,
    svc: &ConversionsService,
    parts: &mut Parts,
    body: &[u8],
) -> Result<Reporter, ApiError> {
    let headers = &parts.headers;
    let signature = headers.get(SIGNATURE_HEADER);
    if headers.get(header::AUTHORIZATION).is_none() && !has_session_cookie(headers) {
        let Some(sig) = signature else {
            return Err(ApiError::new(
                ErrorCode::Unauthenticated,
                "Send `Authorization: Bearer <API key or access token>` or sign the body with `X-Kiki-Signature`.",
            ));
        };
        let sig = sig.to_str().map_err(|_| {
            ApiError::new(
                ErrorCode::Unauthenticated,
                "The X-Kiki-Signature header is not valid text.",
            )
        })?;
        return Ok(svc.authenticate_signature(sig, body).await?);
    }
    let Auth(p) = Auth::from_request_parts(parts, state).await?;
    if p.mfa_outstanding {
        return Err(kiki_identity::IdentityError::MfaEnrolmentRequired.into());
    }
    let needed = kiki_identity::perm::CampaignWrite::PERMISSION;
    if !p.has(needed) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            format!(
                "This needs the permission `{}`, which your role in this organisation does not have.",
                needed.as_str()
            ),
        ));
    }
    Ok(Reporter::principal(&p))
}

fn recorded(r: Recorded) -> (StatusCode, Json<ConversionView>) {
    match r {
        Recorded::New(v) => (StatusCode::CREATED, Json(v)),
        Recorded::Repeat(v) => (StatusCode::OK, Json(v)),
    }
}

/// Records an order as a conversion of the ad click it names (the
/// `kiki_click` id the landing page received). Sent by the advertiser's
/// server, authenticated by an API key (or access token) with
/// `campaign.write`, or by `X-Kiki-Signature` over the body with the
/// organisation's conversion secret. An order id counts once: a repeat with
/// the same value and click id answers the first conversion (200); another
/// value or click id is a 409 naming `order_id`. A click id KIKI did not
/// issue for this organisation's ads — changed, unknown or another
/// organisation's — is a 422 naming `click_id`, as is one outside the
/// attribution window. The conversion is credited to the clicked line item
/// (its pCVR) and counts in the campaign's daily conversions.
#[utoipa::path(post, path = "/conversions", tag = "conversions",
    security(("bearer" = []), ("session_cookie" = []), ("conversion_signature" = [])),
    request_body(content = ConversionRequest, examples(
        ("amount" = (summary = "A value as a decimal amount", value = json!({
            "click_id": "AQAAAABppXVAAAAAAAAAq80BnFwS0Rt3uZpO3kY0h5MBAZxcEtEbd7maTt5GNIeTBnRyYWNrZWQtY3I3Xx0b4kSZ1xYv2Q3nKxFQ",
            "order_id": "A-1001", "value": {"amount": "49.99", "currency": "EUR"},
            "occurred_at": "2026-03-02T12:30:00Z", "customer_id": "c-42"
        }))),
        ("micros" = (summary = "A value in micros", value = json!({
            "click_id": "AQAAAABppXVAAAAAAAAAq80BnFwS0Rt3uZpO3kY0h5MBAZxcEtEbd7maTt5GNIeTBnRyYWNrZWQtY3I3Xx0b4kSZ1xYv2Q3nKxFQ",
            "order_id": "A-1002", "value": {"micros": 120000000, "currency": "USD"}
        })))
    )),
    responses(
        (status = 201, body = ConversionView, description = "Recorded and credited to the clicked line item"),
        (status = 200, body = ConversionView, description = "The order was recorded before with the same value and click: the first conversion, counted once"),
        (status = 401, body = ErrorEnvelope, description = "No credentials, or a signature that does not verify or is too old"),
        (status = 403, body = ErrorEnvelope, description = "Lacks `campaign.write`"),
        (status = 409, body = ErrorEnvelope, description = "The order was recorded with another value or click id (`details.field` is `order_id`)"),
        (status = 415, body = ErrorEnvelope, description = "The body is not sent as JSON"),
        (status = 422, body = ErrorEnvelope, description = "A field is invalid: an unknown, changed or foreign click id, one outside the attribution window, an order dated before its click (each named)")))]
pub async fn record_conversion(
    State(state): State<AppState>,
    Service(svc): Service<ConversionsService>,
    Meta(meta): Meta,
    req: Request,
) -> Result<(StatusCode, Json<ConversionView>), ApiError> {
    let (mut parts, body) = req.into_parts();
    let bytes = body_bytes(&state, body).await?;
    let reporter = postback_reporter(&state, &svc, &mut parts, &bytes).await?;
    if !is_media(&parts.headers, &["application/json"]) {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "Send the body as JSON with `Content-Type: application/json`.",
        ));
    }
    let req: ConversionRequest = parse_json(&bytes)?;
    Ok(recorded(svc.record(&reporter, &meta, &req).await?))
}

/// Records an order from the order-confirmation snippet (`GET
/// /v1/conversions/snippet.js`): the organisation's public site key in the
/// body, the click id the snippet kept from the landing page. The site key
/// records conversions of its own organisation's click ids only, from the
/// site's allowed origins (a browser's `Origin` elsewhere is a 403), at most
/// `conversions.site_rate_per_minute` a minute (429). Browsers send it as
/// `text/plain` (a simple request, no preflight); JSON is taken too. The
/// same rules as `POST /v1/conversions` hold: an order counts once, an
/// unknown click id is a 422 naming `click_id`.
#[utoipa::path(post, path = "/conversions/collect", tag = "conversions", security(()),
    request_body(content = SiteConversionRequest, content_type = "application/json"),
    responses(
        (status = 201, body = SiteConversionAnswer, description = "Recorded"),
        (status = 200, body = SiteConversionAnswer, description = "Recorded before: counted once"),
        (status = 403, body = ErrorEnvelope, description = "The page's origin is not one of the site's allowed origins"),
        (status = 409, body = ErrorEnvelope, description = "The order was recorded with another value or click id (`details.field` is `order_id`)"),
        (status = 415, body = ErrorEnvelope, description = "The body is neither JSON nor text"),
        (status = 422, body = ErrorEnvelope, description = "A field is invalid: an unknown site key, an unknown or foreign click id (each named)"),
        (status = 429, body = ErrorEnvelope, description = "Too many conversions from this site key; see `Retry-After`")))]
pub async fn collect_conversion(
    State(state): State<AppState>,
    Service(svc): Service<ConversionsService>,
    Meta(meta): Meta,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let origin = parts
        .headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut allow = None;
    let answer = async {
        if !is_media(&parts.headers, &["application/json", "text/plain"]) {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "Send the body as JSON, with `Content-Type: application/json` or `text/plain`.",
            ));
        }
        let bytes = body_bytes(&state, body).await?;
        let (site_key, req) = parse_json::<SiteConversionRequest>(&bytes)?.into_parts();
        let (reporter, allowed) = svc.authenticate_site(&site_key, origin.as_deref()).await?;
        allow = allowed;
        let (status, Json(v)) = recorded(svc.record(&reporter, &meta, &req).await?);
        Ok((
            status,
            Json(SiteConversionAnswer {
                id: v.id,
                order_id: v.order_id,
            }),
        ))
    }
    .await;
    let mut resp = match answer {
        Ok(ok) => ok.into_response(),
        Err(e) => e.into_response(),
    };
    if let Some(o) = allow.and_then(|o| HeaderValue::from_str(&o).ok()) {
        let h = resp.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, o);
        h.append(header::VARY, HeaderValue::from_static("origin"));
    }
    resp
}

/// The order-confirmation snippet: a small first-party script that keeps the
/// `kiki_click` id of an ad click (cookie and localStorage, for the
/// attribution window) and reports the order on the confirmation page with
/// the site key (`data-site-key`, `data-order-id`, `data-value`,
/// `data-currency`, or `kiki.conversion({...})`). No eval and no inline
/// code: it runs under a strict Content-Security-Policy (docs/conversions.md).
#[utoipa::path(get, path = "/conversions/snippet.js", tag = "conversions", security(()),
    responses((status = 200, description = "The script", content_type = "text/javascript", body = String,
        example = json!("(function () { \"use strict\"; /* … */ })();"))))]
pub async fn get_snippet(Service(svc): Service<ConversionsService>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=300"),
        ],
        svc.snippet().to_owned(),
    )
        .into_response()
}

/// Filters of the conversion list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConversionQuery {
    /// Only this campaign's conversions.
    pub campaign_id: Option<Uuid>,
    /// First UTC day the orders were placed (YYYY-MM-DD, included).
    #[serde(default, with = "crate::domain::iso_date::option")]
    #[param(value_type = Option<String>, format = Date)]
    pub since: Option<Date>,
    /// Last UTC day (included). A range that ends before it starts holds
    /// nothing.
    #[serde(default, with = "crate::domain::iso_date::option")]
    #[param(value_type = Option<String>, format = Date)]
    pub until: Option<Date>,
    /// Rows per page, 1 to 500 (default 50).
    #[serde(default, deserialize_with = "kiki_core::page::page_limit")]
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

/// The organisation's conversions, latest order first.
#[utoipa::path(get, path = "/conversions", tag = "conversions", params(ConversionQuery),
    responses((status = 200, body = Page<ConversionView>),
        (status = 403, description = "Lacks `campaign.read`", body = ErrorEnvelope),
        (status = 422, description = "The cursor is not one this API issued", body = ErrorEnvelope)))]
pub async fn list_conversions(
    Service(svc): Service<ConversionsService>,
    p: Perm<CampaignRead>,
    Query(q): Query<ConversionQuery>,
) -> Result<Json<Page<ConversionView>>, ApiError> {
    let filter = ConversionFilter {
        campaign_id: q.campaign_id,
        since: q.since,
        until: q.until,
    };
    let page = PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    Ok(Json(svc.list(&p.0.scope, &filter, &page).await?))
}

/// Filters of the daily summary.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DailyQuery {
    /// Only this campaign.
    pub campaign_id: Option<Uuid>,
    /// First UTC day (YYYY-MM-DD, included); default 29 days before `until`.
    #[serde(default, with = "crate::domain::iso_date::option")]
    #[param(value_type = Option<String>, format = Date)]
    pub since: Option<Date>,
    /// Last UTC day (included); default today. A range that ends before it
    /// starts holds nothing.
    #[serde(default, with = "crate::domain::iso_date::option")]
    #[param(value_type = Option<String>, format = Date)]
    pub until: Option<Date>,
}

/// Conversions and their value per UTC day and campaign (one row per
/// currency): the campaign metrics of the conversion tracking.
#[utoipa::path(get, path = "/conversions/daily", tag = "conversions", params(DailyQuery),
    responses((status = 200, body = DailySummary),
        (status = 403, description = "Lacks `campaign.read`", body = ErrorEnvelope)))]
pub async fn daily_conversions(
    Service(svc): Service<ConversionsService>,
    p: Perm<CampaignRead>,
    Query(q): Query<DailyQuery>,
) -> Result<Json<DailySummary>, ApiError> {
    let filter = ConversionFilter {
        campaign_id: q.campaign_id,
        since: q.since,
        until: q.until,
    };
    Ok(Json(svc.daily(&p.0.scope, &filter).await?))
}

/// The organisation's conversion credentials without any secret: the
/// signing secret's key id, the site key and its origins, the attribution
/// window and where the snippet is.
#[utoipa::path(get, path = "/conversions/settings", tag = "conversions",
    responses((status = 200, body = ConversionSettings),
        (status = 403, description = "Lacks `campaign.read`", body = ErrorEnvelope)))]
pub async fn conversion_settings(
    Service(svc): Service<ConversionsService>,
    p: Perm<CampaignRead>,
) -> Result<Json<ConversionSettings>, ApiError> {
    Ok(Json(svc.settings(&p.0.scope).await?))
}

/// Creates the organisation's conversion signing secret, or rotates it. The
/// secret is in this answer only (KIKI keeps it encrypted); the one it
/// replaces keeps verifying for `conversions.previous_secret_grace_hours`.
#[utoipa::path(post, path = "/conversions/secret", tag = "conversions",
    responses((status = 201, body = NewSecret, description = "The new secret, shown once"),
        (status = 403, description = "Lacks `apikey.manage`", body = ErrorEnvelope)))]
pub async fn rotate_secret(
    Service(svc): Service<ConversionsService>,
    Meta(meta): Meta,
    p: Perm<ApiKeyManage>,
) -> Result<(StatusCode, Json<NewSecret>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(svc.rotate_secret(&p.0, &meta).await?),
    ))
}

/// Sets the origins the snippet reports from, and issues the public site key
/// the first time (or anew with `rotate_key`; the old one stops at once).
#[utoipa::path(put, path = "/conversions/site", tag = "conversions", request_body = SiteRequest,
    responses((status = 200, body = SiteView),
        (status = 403, description = "Lacks `apikey.manage`", body = ErrorEnvelope),
        (status = 422, description = "An origin is not one, or is listed twice (each named)", body = ErrorEnvelope)))]
pub async fn put_site(
    Service(svc): Service<ConversionsService>,
    Meta(meta): Meta,
    p: Perm<ApiKeyManage>,
    Body(req): Body<SiteRequest>,
) -> Result<Json<SiteView>, ApiError> {
    Ok(Json(svc.put_site(&p.0, &meta, &req).await?))
}
