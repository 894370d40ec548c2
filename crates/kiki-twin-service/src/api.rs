//! The HTTP edge of the twin service: handlers with their OpenAPI
//! annotations. `TwinServiceError` becomes an HTTP error through its
//! `DomainError` face (`crate::error`).

use axum::Json as AxumJson;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kiki_core::{Page, PageRequest};
use kiki_identity::perm::{BudgetApprove, CampaignWrite, SimulationRead, SimulationWrite};
use kiki_server::auth::{Meta, RequirePermission as Perm};
use kiki_server::error::ErrorEnvelope;
use kiki_server::extract::{Json, Path, Query};
use kiki_server::versioning::{ApiVersion, VersionedApi};
use kiki_server::{ApiError, AppState, Service};
use serde::Deserialize;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::domain::*;
use crate::service::TwinService;

/// The versioned routes of the twin module.
pub fn api() -> VersionedApi<AppState> {
    let v = ApiVersion::CURRENT;
    VersionedApi::new()
        .routes(v, routes!(create_simulation, list_simulations))
        .routes(v, routes!(get_simulation))
        .routes(v, routes!(get_market_model))
        .routes(v, routes!(decide_simulation))
        .routes(v, routes!(simulation_mirror_reports))
        .routes(v, routes!(allocate))
        .routes(v, routes!(list_rebalancing))
        .routes(v, routes!(approve_shift))
        .routes(v, routes!(reject_shift))
        .routes(v, routes!(get_budgets, put_budgets))
        .routes(v, routes!(get_settings, put_settings))
        .routes(v, routes!(upload_performance))
}

/// Runs a plan through the twin and its gate. 200 with the stored
/// simulation when it fits the synchronous limit (`twin.max_sync_work`),
/// otherwise 202 with the pending simulation and its `twin.simulate` job.
#[utoipa::path(post, path = "/simulations", tag = "twin",
    request_body(content = SimulationRequestSchema, example = json!({
        "plan": {
            "currency": "USD",
            "allocations": [
                {"platform": "meta", "daily_budget": {"micros": 200_000_000, "currency": "USD"}},
                {"platform": "google", "daily_budget": {"micros": 100_000_000, "currency": "USD"}}
            ],
            "duration_days": 30,
            "start_date": "2026-03-02",
            "organic_revenue": {"micros": 45_000_000_000_i64, "currency": "USD"}
        },
        "options": {"runs": 10_000, "seed": 42}
    })),
    responses((status = 200, body = SimulationView, description = "Simulated and gated: net profit uplift against no new spend at the organisation's contribution margin, with the margin, the data-quality grades and the sources named"),
        (status = 202, body = SimulationView, description = "Queued; poll GET /simulations/{id}"),
        (status = 403, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope, description = "A field is invalid, e.g. `plan.organic_revenue_micros` left out while the organisation has no recorded performance history to take the baseline from")))]
pub async fn create_simulation(
    Service(svc): Service<TwinService>,
    Meta(meta): Meta,
    p: Perm<SimulationWrite>,
    Json(req): Json<SimulationRequest>,
) -> Result<Response, ApiError> {
    let (view, queued) = svc.create_simulation(&p.0, &meta, req).await?;
    let status = if queued {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((status, AxumJson(view)).into_response())
}

/// The active organisation's simulations, newest first (without reports).
#[utoipa::path(get, path = "/simulations", tag = "twin", params(PageRequest),
    responses((status = 200, body = Page<SimulationView>), (status = 403, body = ErrorEnvelope)))]
pub async fn list_simulations(
    Service(svc): Service<TwinService>,
    p: Perm<SimulationRead>,
    Query(page): Query<PageRequest>,
) -> Result<AxumJson<Page<SimulationView>>, ApiError> {
    Ok(AxumJson(svc.list_simulations(&p.0.scope, &page).await?))
}

/// One simulation with its report, gate decision and current approval.
#[utoipa::path(get, path = "/simulations/{id}", tag = "twin",
    params(("id" = Uuid, Path, description = "Simulation id")),
    responses((status = 200, body = SimulationView), (status = 404, body = ErrorEnvelope)))]
pub async fn get_simulation(
    Service(svc): Service<TwinService>,
    p: Perm<SimulationRead>,
    Path(id): Path<Uuid>,
) -> Result<AxumJson<SimulationView>, ApiError> {
    svc.get_simulation(&p.0.scope, id)
        .await?
        .map(AxumJson)
        .ok_or_else(|| ApiError::not_found("The simulation"))
}

/// The market model a simulation ran against: the distributions estimated
/// from the organisation's history (or priors), LTV per platform, and the
/// data window.
#[utoipa::path(get, path = "/twin/models/{id}", tag = "twin",
    params(("id" = Uuid, Path, description = "Market model id (a simulation's `model_id`)")),
    responses((status = 200, body = crate::service::MarketModelView), (status = 404, body = ErrorEnvelope)))]
pub async fn get_market_model(
    Service(svc): Service<TwinService>,
    p: Perm<SimulationRead>,
    Path(id): Path<Uuid>,
) -> Result<AxumJson<crate::service::MarketModelView>, ApiError> {
    svc.market_model(&p.0.scope, id)
        .await?
        .map(AxumJson)
        .ok_or_else(|| ApiError::not_found("The market model"))
}

/// A person approves or rejects the launch, overriding the gate; `reason`
/// is required.
#[utoipa::path(post, path = "/simulations/{id}/decision", tag = "twin",
    params(("id" = Uuid, Path, description = "Simulation id")), request_body = DecisionRequest,
    responses((status = 200, body = SimulationView), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn decide_simulation(
    Service(svc): Service<TwinService>,
    Meta(meta): Meta,
    p: Perm<BudgetApprove>,
    Path(id): Path<Uuid>,
    Json(req): Json<DecisionRequest>,
) -> Result<AxumJson<SimulationView>, ApiError> {
    Ok(AxumJson(svc.override_decision(&p.0, &meta, id, req).await?))
}

/// How many mirror reports to return.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MirrorQuery {
    /// Reports to return, newest first: 1 to 500 (default 50). A plan runs
    /// at most 366 days, one report a day, so one answer holds them all.
    #[serde(default, deserialize_with = "kiki_core::page::page_limit")]
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// The mirror's reports for a launched simulation, newest first.
#[utoipa::path(get, path = "/simulations/{id}/mirror", tag = "twin",
    params(("id" = Uuid, Path, description = "Simulation id"), MirrorQuery),
    responses((status = 200, body = Vec<MirrorReportView>), (status = 404, body = ErrorEnvelope)))]
pub async fn simulation_mirror_reports(
    Service(svc): Service<TwinService>,
    p: Perm<SimulationRead>,
    Path(id): Path<Uuid>,
    Query(q): Query<MirrorQuery>,
) -> Result<AxumJson<Vec<MirrorReportView>>, ApiError> {
    let page = PageRequest {
        limit: q.limit,
        cursor: None,
    };
    Ok(AxumJson(svc.mirror_reports(&p.0.scope, id, &page).await?))
}

/// A what-if split of a daily budget across platforms by marginal return
/// (not stored). Curves are given or fitted from the organisation's history.
#[utoipa::path(post, path = "/allocations", tag = "twin", request_body = AllocationRequestSchema,
    responses((status = 200, body = AllocationResponse), (status = 403, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn allocate(
    Service(svc): Service<TwinService>,
    p: Perm<SimulationWrite>,
    Json(req): Json<AllocationApiRequest>,
) -> Result<AxumJson<AllocationResponse>, ApiError> {
    Ok(AxumJson(svc.allocate(&p.0.scope, req).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ShiftQuery {
    /// `applied`, `pending_approval`, `approved` or `rejected`.
    #[param(value_type = Option<ShiftStatus>, inline)]
    pub status: Option<String>,
    /// Rows per page, 1 to 500 (default 50).
    #[serde(default, deserialize_with = "kiki_core::page::page_limit")]
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

/// A shift's state, as `GET /v1/rebalancing?status=` filters it.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // the values of `ShiftQuery::status` in the API document
pub enum ShiftStatus {
    Applied,
    PendingApproval,
    Approved,
    Rejected,
}

/// The rebalancer's budget shifts, newest first.
#[utoipa::path(get, path = "/rebalancing", tag = "twin", params(ShiftQuery),
    responses((status = 200, body = Page<ShiftView>), (status = 403, body = ErrorEnvelope)))]
pub async fn list_rebalancing(
    Service(svc): Service<TwinService>,
    p: Perm<SimulationRead>,
    Query(q): Query<ShiftQuery>,
) -> Result<AxumJson<Page<ShiftView>>, ApiError> {
    let page = PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    let status = q.status.as_deref().filter(|s| !s.is_empty());
    Ok(AxumJson(svc.list_shifts(&p.0.scope, status, &page).await?))
}

/// The optional JSON body of an approval: empty means no reason.
fn optional_body(body: &[u8]) -> Result<ShiftDecisionRequest, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        Ok(ShiftDecisionRequest::default())
    } else {
        // `null` is the documented "no body" too.
        kiki_server::extract::parse_json::<Option<ShiftDecisionRequest>>(body)
            .map(Option::unwrap_or_default)
    }
}

/// Approves a shift waiting for approval and applies it within bounds.
#[utoipa::path(post, path = "/rebalancing/{id}/approve", tag = "twin",
    params(("id" = Uuid, Path, description = "Shift id")), request_body = Option<ShiftDecisionRequest>,
    responses((status = 200, body = ShiftView), (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope)))]
pub async fn approve_shift(
    Service(svc): Service<TwinService>,
    Meta(meta): Meta,
    p: Perm<BudgetApprove>,
    Path(id): Path<Uuid>,
    body: Bytes,
) -> Result<AxumJson<ShiftView>, ApiError> {
    Ok(AxumJson(
        svc.decide_shift(&p.0, &meta, id, true, optional_body(&body)?)
            .await?,
    ))
}

/// Rejects a shift waiting for approval; budgets stay as they are.
#[utoipa::path(post, path = "/rebalancing/{id}/reject", tag = "twin",
    params(("id" = Uuid, Path, description = "Shift id")), request_body = Option<ShiftDecisionRequest>,
    responses((status = 200, body = ShiftView), (status = 404, body = ErrorEnvelope),
        (status = 409, body = ErrorEnvelope)))]
pub async fn reject_shift(
    Service(svc): Service<TwinService>,
    Meta(meta): Meta,
    p: Perm<BudgetApprove>,
    Path(id): Path<Uuid>,
    body: Bytes,
) -> Result<AxumJson<ShiftView>, ApiError> {
    Ok(AxumJson(
        svc.decide_shift(&p.0, &meta, id, false, optional_body(&body)?)
            .await?,
    ))
}

/// The active organisation's platform daily budgets and bounds.
#[utoipa::path(get, path = "/twin/budgets", tag = "twin",
    responses((status = 200, body = BudgetsView), (status = 403, body = ErrorEnvelope)))]
pub async fn get_budgets(
    Service(svc): Service<TwinService>,
    p: Perm<SimulationRead>,
) -> Result<AxumJson<BudgetsView>, ApiError> {
    Ok(AxumJson(svc.budgets(&p.0.scope).await?))
}

/// Replaces the platform daily budgets and bounds the rebalancer works on.
#[utoipa::path(put, path = "/twin/budgets", tag = "twin", request_body = BudgetsRequest,
    responses((status = 200, body = BudgetsView), (status = 403, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn put_budgets(
    Service(svc): Service<TwinService>,
    Meta(meta): Meta,
    p: Perm<CampaignWrite>,
    Json(req): Json<BudgetsRequest>,
) -> Result<AxumJson<BudgetsView>, ApiError> {
    Ok(AxumJson(svc.put_budgets(&p.0, &meta, req).await?))
}

/// The effective twin settings of the active organisation.
#[utoipa::path(get, path = "/twin/settings", tag = "twin",
    responses((status = 200, body = TwinSettingsView), (status = 403, body = ErrorEnvelope)))]
pub async fn get_settings(
    Service(svc): Service<TwinService>,
    p: Perm<SimulationRead>,
) -> Result<AxumJson<TwinSettingsView>, ApiError> {
    Ok(AxumJson(svc.settings(&p.0.scope).await?))
}

/// Replaces the organisation's overrides of the gate threshold, the
/// rebalancing approval threshold and the industry (`null` = default).
#[utoipa::path(put, path = "/twin/settings", tag = "twin", request_body = SettingsOverrides,
    responses((status = 200, body = TwinSettingsView), (status = 403, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn put_settings(
    Service(svc): Service<TwinService>,
    Meta(meta): Meta,
    p: Perm<BudgetApprove>,
    Json(req): Json<SettingsOverrides>,
) -> Result<AxumJson<TwinSettingsView>, ApiError> {
    Ok(AxumJson(svc.put_settings(&p.0, &meta, req).await?))
}

/// Upserts daily performance rows per (platform, ad set, day): the history
/// the twin estimates from and the actuals the mirror and rebalancer read.
#[utoipa::path(post, path = "/twin/performance", tag = "twin", request_body = PerformanceUpload,
    responses((status = 200, body = PerformanceUploaded), (status = 403, body = ErrorEnvelope),
        (status = 422, body = ErrorEnvelope)))]
pub async fn upload_performance(
    Service(svc): Service<TwinService>,
    Meta(meta): Meta,
    p: Perm<CampaignWrite>,
    Json(req): Json<PerformanceUpload>,
) -> Result<AxumJson<PerformanceUploaded>, ApiError> {
    Ok(AxumJson(
        svc.upload_performance(&p.0, &meta, &req.rows).await?,
    ))
}
