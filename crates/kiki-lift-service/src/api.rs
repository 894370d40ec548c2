//! The `/v1/experiments/lift` routes (OpenAPI-annotated); service errors
//! become HTTP responses at the edge through their `DomainError` face.
//! Reads need `campaign.read`; changes `campaign.write`; registering a plan
//! (the commitment a bill rests on) `budget.approve`. Every handler works in
//! the caller's active organisation.

use axum::Json;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kiki_core::{ErrorCode, FieldError, Page, PageRequest};
use kiki_identity::perm::{BudgetApprove, CampaignRead, CampaignWrite};
use kiki_server::auth::{Meta, RequirePermission as Perm};
use kiki_server::error::ErrorEnvelope;
use kiki_server::extract::{Json as Body, Path, Query};
use kiki_server::versioning::{ApiVersion, VersionedApi};
use kiki_server::{ApiError, AppState, Service};
use serde::Deserialize;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::domain::panel::{
    CsvColumnNames, SOURCE_UPLOAD, UserRow, upload_from_csv, upload_from_rows, users_from_rows,
};
use crate::domain::{DesignRequest, KpiRow, PanelSummary};
use crate::error::LiftServiceError;
use crate::service::{
    AnalysisView, DesignAccepted, DesignView, ExperimentRequest, ExperimentView, LiftService,
    LiftStatus,
};

/// The versioned routes; `max_upload_bytes` bounds the panel upload's body.
pub fn api(max_upload_bytes: usize) -> VersionedApi<AppState> {
    let v = ApiVersion::CURRENT;
    let (schemas, paths, upload) = routes!(upload_panel, get_panel);
    let upload = (
        schemas,
        paths,
        upload.layer(DefaultBodyLimit::max(max_upload_bytes)),
    );
    VersionedApi::new()
        .routes(v, routes!(create_experiment, list_experiments))
        .routes(v, routes!(get_experiment, put_experiment))
        .routes(v, upload)
        .routes(v, routes!(register_experiment))
        .routes(v, routes!(start_experiment))
        .routes(v, routes!(create_analysis, list_analyses))
        .routes(v, routes!(create_design, list_designs))
}

/// Stores a draft lift experiment with its plan: the treated markets, the
/// pre-period and test window (calendar days), the estimator's options, α
/// and the alternative. Every field is checked (one 422 names each problem).
#[utoipa::path(post, path = "/experiments/lift", tag = "lift",
    request_body(content = ExperimentRequest, examples(
        ("synthetic_control" = (summary = "Synthetic control over two treated cities", value = json!({
            "name": "Meta prospecting",
            "plan": {
                "method": "synthetic_control", "kpi": "conversions", "treated": ["chicago", "portland"],
                "pre_start": "2021-01-01", "test_start": "2021-04-01", "test_end": "2021-04-15"
            }
        }))),
        ("tbr" = (summary = "Time-based regression of a treatment group on a control group", value = json!({
            "name": "Search heavy-up",
            "plan": {
                "method": "tbr", "kpi": "sales", "cost_kpi": "spend",
                "treated": ["chicago", "denver"], "control": ["portland", "dallas", "boston"],
                "pre_start": "2015-01-05", "test_start": "2015-02-16", "test_end": "2015-03-15",
                "alpha": 0.1, "alternative": "greater"
            }
        }))),
        ("trimmed_match" = (summary = "Trimmed Match over randomised pairs", value = json!({
            "name": "Paired geos",
            "plan": {
                "method": "trimmed_match", "kpi": "conversions", "cost_kpi": "spend",
                "pairs": [
                    {"treated": "chicago", "control": "detroit"},
                    {"treated": "portland", "control": "seattle"},
                    {"treated": "dallas", "control": "houston"}
                ],
                "pre_start": "2024-01-01", "test_start": "2024-02-01", "test_end": "2024-02-28",
                "alpha": 0.1
            }
        }))),
        ("holdout" = (summary = "An audience holdout of 10 % of users", value = json!({
            "name": "Retargeting holdout",
            "plan": {
                "method": "holdout", "kpi": "purchases",
                "salt": "retargeting-2026-05", "treatment_share": 0.9, "population": "would_have_bid",
                "pre_start": "2026-04-01", "test_start": "2026-05-01", "test_end": "2026-05-31"
            }
        })))
    )),
    responses((status = 201, body = ExperimentView, description = "Stored as a draft"),
        (status = 403, description = "Lacks `campaign.write`", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid (each is named)", body = ErrorEnvelope)))]
pub async fn create_experiment(
    Service(svc): Service<LiftService>,
    Meta(meta): Meta,
    p: Perm<CampaignWrite>,
    Body(req): Body<ExperimentRequest>,
) -> Result<(StatusCode, Json<ExperimentView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(svc.create(&p.0, &meta, req).await?),
    ))
}

/// Filters of the experiment list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExperimentQuery {
    /// Only experiments in this status.
    pub status: Option<LiftStatus>,
    /// Rows per page, 1 to 500 (default 50).
    #[serde(default, deserialize_with = "kiki_core::page::page_limit")]
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

/// The active organisation's lift experiments, newest first.
#[utoipa::path(get, path = "/experiments/lift", tag = "lift", params(ExperimentQuery),
    responses((status = 200, body = Page<ExperimentView>),
        (status = 403, description = "Lacks `campaign.read`", body = ErrorEnvelope),
        (status = 422, description = "The cursor is not one this API issued", body = ErrorEnvelope)))]
pub async fn list_experiments(
    Service(svc): Service<LiftService>,
    p: Perm<CampaignRead>,
    Query(q): Query<ExperimentQuery>,
) -> Result<Json<Page<ExperimentView>>, ApiError> {
    let page = PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    Ok(Json(svc.list(&p.0.scope, q.status, &page).await?))
}

/// One experiment: its plan, status, hashes and latest KPI panel.
#[utoipa::path(get, path = "/experiments/lift/{id}", tag = "lift",
    params(("id" = Uuid, Path, description = "Experiment id")),
    responses((status = 200, body = ExperimentView), (status = 404, body = ErrorEnvelope)))]
pub async fn get_experiment(
    Service(svc): Service<LiftService>,
    p: Perm<CampaignRead>,
    Path(id): Path<Uuid>,
) -> Result<Json<ExperimentView>, ApiError> {
    Ok(Json(svc.get(&p.0.scope, id).await?))
}

/// Rewrites a draft's name, description and plan. A registered plan can
/// never change: 409.
#[utoipa::path(put, path = "/experiments/lift/{id}", tag = "lift",
    params(("id" = Uuid, Path, description = "Experiment id")), request_body = ExperimentRequest,
    responses((status = 200, body = ExperimentView), (status = 404, body = ErrorEnvelope),
        (status = 409, description = "The plan is registered", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid (each is named)", body = ErrorEnvelope)))]
pub async fn put_experiment(
    Service(svc): Service<LiftService>,
    Meta(meta): Meta,
    p: Perm<CampaignWrite>,
    Path(id): Path<Uuid>,
    Body(req): Body<ExperimentRequest>,
) -> Result<Json<ExperimentView>, ApiError> {
    Ok(Json(svc.update(&p.0, &meta, id, req).await?))
}

/// Column names of a CSV panel upload.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PanelQuery {
    /// The market (or holdout arm) column (default: the first of market,
    /// location, geo, unit, arm, region).
    #[param(min_length = 1, max_length = 100)]
    pub market_col: Option<String>,
    /// The day column, YYYY-MM-DD (default: date, day or period).
    #[param(min_length = 1, max_length = 100)]
    pub date_col: Option<String>,
    /// The outcome column (default: value, y, kpi, outcome or conversions).
    #[param(min_length = 1, max_length = 100)]
    pub value_col: Option<String>,
    /// The cost column read by `tbr` and `trimmed_match` plans with a
    /// `cost_kpi` (default: a column named cost or spend, if any).
    #[param(min_length = 1, max_length = 100)]
    pub cost_col: Option<String>,
}

/// A JSON panel upload: `rows` (a daily KPI per market) or, for a
/// `holdout` plan, `users`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"rows": [
    {"market": "chicago", "date": "2021-01-01", "value": 3300},
    {"market": "portland", "date": "2021-01-01", "value": 2100}
]}))]
pub struct PanelUpload {
    /// One row per market and day; every market needs every day. A `cost`
    /// on every row or on none.
    #[serde(default)]
    #[schema(min_items = 1)]
    pub rows: Option<Vec<KpiRow>>,
    /// A holdout's users, one row per user over the test.
    #[serde(default)]
    #[schema(min_items = 1)]
    pub users: Option<Vec<UserRow>>,
}

/// Uploads the experiment's daily KPI panel as CSV (`text/csv`, one row per
/// market and day: e.g. `location,date,Y`) or JSON (`{"rows": [...]}`).
/// Every row is checked first (a 422 lists bad rows by file line or index
/// and field, nothing stored); every market needs every day. Each upload is
/// kept (analyses name theirs). Once the plan is registered, an upload must
/// keep the registered pre-period's data exactly (409 otherwise): it only
/// adds the test window's days.
#[utoipa::path(post, path = "/experiments/lift/{id}/panel", tag = "lift",
    params(("id" = Uuid, Path, description = "Experiment id"), PanelQuery),
    request_body(content(
        (PanelUpload = "application/json"),
        (String = "text/csv", example = "location,date,Y\nchicago,2021-01-01,3300\nportland,2021-01-01,2100\n")),
        description = "JSON, or a CSV file as text/csv"),
    responses((status = 200, body = PanelSummary),
        (status = 400, description = "The body cannot be read", body = ErrorEnvelope),
        (status = 403, description = "Lacks `campaign.write`", body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 409, description = "The upload changes the registered pre-period", body = ErrorEnvelope),
        (status = 413, description = "Larger than `lift.max_upload_bytes`", body = ErrorEnvelope),
        (status = 415, description = "Neither text/csv nor application/json", body = ErrorEnvelope),
        (status = 422, description = "Bad rows, listed by line (or index) and field", body = ErrorEnvelope)))]
pub async fn upload_panel(
    Service(svc): Service<LiftService>,
    Meta(meta): Meta,
    p: Perm<CampaignWrite>,
    Path(id): Path<Uuid>,
    Query(q): Query<PanelQuery>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<PanelSummary>, ApiError> {
    let body = body.map_err(|rej| {
        if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!(
                    "The upload is larger than {} bytes (lift.max_upload_bytes).",
                    svc.config().max_upload_bytes
                ),
            )
        } else {
            ApiError::bad_request(format!("The body could not be read: {}", rej.body_text()))
        }
    })?;
    // The experiment first: another organisation's id is 404 whatever the body.
    svc.get(&p.0.scope, id).await?;
    let mime = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let mut columns = CsvColumnNames::default();
    let mut cost_col = None;
    for (param, value, slot) in [
        ("market_col", &q.market_col, &mut columns.market),
        ("date_col", &q.date_col, &mut columns.date),
        ("value_col", &q.value_col, &mut columns.value),
        ("cost_col", &q.cost_col, &mut cost_col),
    ] {
        match value.as_deref() {
            None | Some("") => {}
            Some(v) if v.trim().is_empty() || v.chars().count() > 100 => {
                return Err(ApiError::validation(vec![FieldError::new(
                    param,
                    "1 to 100 characters, not only spaces: the name of a column of the file.",
                )]));
            }
            Some(v) => *slot = Some(v.trim().to_owned()),
        }
    }
    let cells = svc.config().max_panel_cells;
    let built = match mime.as_str() {
        "text/csv" | "application/csv" => {
            upload_from_csv(&body, &columns, cost_col.as_deref(), cells)
        }
        "application/json" => {
            let req: PanelUpload = kiki_server::extract::parse_json(&body)?;
            match (req.rows, req.users) {
                (Some(rows), None) => upload_from_rows(&rows, cells),
                (None, Some(users)) => {
                    let users = users_from_rows(&users, cells).map_err(|bad| {
                        LiftServiceError::BadRows {
                            errors: bad.errors,
                            total: bad.total,
                        }
                    })?;
                    return Ok(Json(
                        svc.store_users(
                            &p.0.scope,
                            p.0.actor(),
                            Some(&meta),
                            id,
                            users,
                            SOURCE_UPLOAD,
                        )
                        .await?,
                    ));
                }
                _ => {
                    return Err(ApiError::validation(vec![FieldError::new(
                        "rows",
                        "Send either `rows` (a daily KPI per market) or `users` (a holdout's users).",
                    )]));
                }
            }
        }
        _ => {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "Send the panel as `text/csv` or as `application/json`.",
            ));
        }
    }
    .map_err(|bad| LiftServiceError::BadRows {
        errors: bad.errors,
        total: bad.total,
    })?;
    Ok(Json(
        svc.store_panel(
            &p.0.scope,
            p.0.actor(),
            Some(&meta),
            id,
            built,
            SOURCE_UPLOAD,
        )
        .await?,
    ))
}

/// The experiment's latest KPI panel (markets, days, hash; not its values).
#[utoipa::path(get, path = "/experiments/lift/{id}/panel", tag = "lift",
    params(("id" = Uuid, Path, description = "Experiment id")),
    responses((status = 200, body = PanelSummary),
        (status = 404, description = "No such experiment, or no panel uploaded", body = ErrorEnvelope)))]
pub async fn get_panel(
    Service(svc): Service<LiftService>,
    p: Perm<CampaignRead>,
    Path(id): Path<Uuid>,
) -> Result<Json<PanelSummary>, ApiError> {
    Ok(Json(svc.panel(&p.0.scope, id).await?))
}

/// Registers the plan before the test starts: checks it against the latest
/// KPI panel (every named market present, every pre-period day present),
/// freezes it with its SHA-256 and the pre-period's, records the decision.
/// From then on the plan never changes and the analysis reads only the
/// registered windows.
#[utoipa::path(post, path = "/experiments/lift/{id}/register", tag = "lift",
    params(("id" = Uuid, Path, description = "Experiment id")),
    responses((status = 200, body = ExperimentView),
        (status = 403, description = "Lacks `budget.approve`", body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 409, description = "Not a draft, or no panel uploaded", body = ErrorEnvelope),
        (status = 422, description = "The plan does not fit the panel (fields named)", body = ErrorEnvelope)))]
pub async fn register_experiment(
    Service(svc): Service<LiftService>,
    Meta(meta): Meta,
    p: Perm<BudgetApprove>,
    Path(id): Path<Uuid>,
) -> Result<Json<ExperimentView>, ApiError> {
    Ok(Json(svc.register(&p.0, &meta, id).await?))
}

/// Marks a registered experiment as running: its test is live.
#[utoipa::path(post, path = "/experiments/lift/{id}/start", tag = "lift",
    params(("id" = Uuid, Path, description = "Experiment id")),
    responses((status = 200, body = ExperimentView),
        (status = 403, description = "Lacks `campaign.write`", body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 409, description = "Not registered", body = ErrorEnvelope)))]
pub async fn start_experiment(
    Service(svc): Service<LiftService>,
    Meta(meta): Meta,
    p: Perm<CampaignWrite>,
    Path(id): Path<Uuid>,
) -> Result<Json<ExperimentView>, ApiError> {
    Ok(Json(svc.start(&p.0, &meta, id).await?))
}

/// Analyses the experiment as registered: synthetic control with conformal
/// inference on the latest panel, over the registered pre-period and test
/// window only. Stored with the hash of its inputs (plan and panel days)
/// and of its result: re-running on the same data gives the same hashes and
/// numbers. A draft is refused (409).
#[utoipa::path(post, path = "/experiments/lift/{id}/analyses", tag = "lift",
    params(("id" = Uuid, Path, description = "Experiment id")),
    responses((status = 201, body = AnalysisView),
        (status = 403, description = "Lacks `campaign.write`", body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 409, description = "A draft, or no panel", body = ErrorEnvelope),
        (status = 422, description = "The panel does not cover the registered days, or the engine refuses the data", body = ErrorEnvelope)))]
pub async fn create_analysis(
    Service(svc): Service<LiftService>,
    Meta(meta): Meta,
    p: Perm<CampaignWrite>,
    Path(id): Path<Uuid>,
) -> Result<(StatusCode, Json<AnalysisView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(svc.analyse(&p.0, &meta, id).await?),
    ))
}

/// Pages of a per-experiment list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Rows per page, 1 to 500 (default 50).
    #[serde(default, deserialize_with = "kiki_core::page::page_limit")]
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

/// The experiment's stored analyses, newest first.
#[utoipa::path(get, path = "/experiments/lift/{id}/analyses", tag = "lift",
    params(("id" = Uuid, Path, description = "Experiment id"), PageQuery),
    responses((status = 200, body = Page<AnalysisView>), (status = 404, body = ErrorEnvelope),
        (status = 422, description = "The cursor is not one this API issued", body = ErrorEnvelope)))]
pub async fn list_analyses(
    Service(svc): Service<LiftService>,
    p: Perm<CampaignRead>,
    Path(id): Path<Uuid>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<AnalysisView>>, ApiError> {
    let page = PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    Ok(Json(svc.analyses(&p.0.scope, id, &page).await?))
}

/// Designs before spend on the experiment's latest KPI panel, as a job
/// (`lift.design`, 202 + `Location: /v1/jobs/{id}` with progress): market
/// selection (which markets, how long, the MDE, the placebo false-positive
/// rate, refusal with reasons), or the power of the `treated` group.
#[utoipa::path(post, path = "/experiments/lift/{id}/designs", tag = "lift",
    params(("id" = Uuid, Path, description = "Experiment id")), request_body = DesignRequest,
    responses((status = 202, body = DesignAccepted, description = "Queued as a job"),
        (status = 403, description = "Lacks `campaign.write`", body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope),
        (status = 409, description = "No panel uploaded", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid or names a market the panel lacks", body = ErrorEnvelope)))]
pub async fn create_design(
    Service(svc): Service<LiftService>,
    Meta(meta): Meta,
    p: Perm<CampaignWrite>,
    Path(id): Path<Uuid>,
    Body(req): Body<DesignRequest>,
) -> Result<Response, ApiError> {
    let accepted = svc.request_design(&p.0, &meta, id, req).await?;
    let location = accepted.location.clone();
    let mut resp = (StatusCode::ACCEPTED, Json(accepted)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

/// The experiment's designs, newest first, with their reports once done.
#[utoipa::path(get, path = "/experiments/lift/{id}/designs", tag = "lift",
    params(("id" = Uuid, Path, description = "Experiment id"), PageQuery),
    responses((status = 200, body = Page<DesignView>), (status = 404, body = ErrorEnvelope),
        (status = 422, description = "The cursor is not one this API issued", body = ErrorEnvelope)))]
pub async fn list_designs(
    Service(svc): Service<LiftService>,
    p: Perm<CampaignRead>,
    Path(id): Path<Uuid>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<DesignView>>, ApiError> {
    let page = PageRequest {
        limit: q.limit,
        cursor: q.cursor,
    };
    Ok(Json(svc.designs(&p.0.scope, id, &page).await?))
}
