//! The `/v1/ltv` routes (OpenAPI-annotated); service errors become HTTP
//! responses at the edge through their `DomainError` face. Reads need
//! `ltv.read`, writes `ltv.write`; deleting all transactions and erasing a
//! customer also need `org.manage`. Every handler works in the caller's
//! active organisation.

use axum::Json;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use kiki_core::{ErrorCode, FieldError, Money, Page, PageRequest};
use kiki_identity::perm::{LtvRead, LtvWrite, OrgManage};
use kiki_ltv::{GroupBy, HoldoutReport};
use kiki_server::auth::{Meta, RequirePermission as Perm};
use kiki_server::error::ErrorEnvelope;
use kiki_server::extract::{Json as Body, Path, Query};
use kiki_server::versioning::{ApiVersion, VersionedApi};
use kiki_server::{ApiError, AppState, Service};
use serde::{Deserialize, Serialize};
use utoipa_axum::routes;
use uuid::Uuid;

use crate::domain::{
    CsvUpload, FitRequest, FitRequestSchema, IngestReport, TransactionRow, read_csv_upload,
    rows_from_json,
};
use crate::error::LtvServiceError;
use crate::service::{
    AggregatesView, CustomerView, DeletionReport, FitPayload, LtvModelView, LtvService, NewUpload,
    NoProgress, PredictRequest, PredictRequestSchema, PredictResponse, PredictionRow, Requester,
    created_by,
};
use crate::store::SortBy;

/// The versioned routes; `max_upload_bytes` bounds the upload route's body.
pub fn api(max_upload_bytes: usize) -> VersionedApi<AppState> {
    let (schemas, paths, upload) = routes!(upload_transactions);
    let upload = (
        schemas,
        paths,
        upload.layer(DefaultBodyLimit::max(max_upload_bytes)),
    );
    VersionedApi::new()
        .routes(ApiVersion::CURRENT, upload)
        .routes(ApiVersion::CURRENT, routes!(create_fit))
        .routes(ApiVersion::CURRENT, routes!(list_models))
        .routes(ApiVersion::CURRENT, routes!(get_current_model))
        .routes(ApiVersion::CURRENT, routes!(get_model))
        .routes(ApiVersion::CURRENT, routes!(get_holdout))
        .routes(ApiVersion::CURRENT, routes!(predict))
        .routes(ApiVersion::CURRENT, routes!(list_customers))
        .routes(ApiVersion::CURRENT, routes!(get_customer))
        .routes(ApiVersion::CURRENT, routes!(get_aggregates))
        .routes(ApiVersion::CURRENT, routes!(delete_all_transactions))
        .routes(ApiVersion::CURRENT, routes!(delete_upload))
        .routes(ApiVersion::CURRENT, routes!(delete_customer_transactions))
        .routes(ApiVersion::CURRENT, routes!(erase_customer))
}

/// A JSON upload.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"currency": "USD", "transactions": [
    {"customer_id": "c-1042", "timestamp": "2024-03-01T12:30:00Z", "amount": "35.50",
     "order_id": "o-9001", "platform": "meta"},
    {"customer_id": "c-1042", "timestamp": "2024-03-04", "amount": "10.00",
     "order_id": "o-9001", "kind": "refund"}]}))]
pub struct UploadBody {
    /// At least one row; the body is bounded by `ltv.max_upload_bytes`.
    #[schema(min_items = 1)]
    pub transactions: Vec<TransactionRow>,
    /// ISO 4217 currency of the amounts (default `ltv.currency`).
    #[schema(pattern = "^[A-Za-z]{3}$", example = "USD")]
    pub currency: Option<String>,
}

kiki_server::request_schema!(pub UploadBodySchema for UploadBody, serde_json::json!({
    "allOf": [{"properties": {"transactions": {"items": {
        "if": {"required": ["kind"], "properties": {"kind": {"const": "refund"}}},
        "else": {"properties": {"amount": crate::domain::order_amount_schema()}}
    }}}}]
}));

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// ISO currency of a CSV upload's amounts (default `ltv.currency`).
    #[param(pattern = "^[A-Za-z]{3}$")]
    pub currency: Option<String>,
    /// The CSV column that names the customer (default `customer_id`, else
    /// the first of `customer`, `customerid`, `customer id`, `client_id`,
    /// `user_id`, `userid`, `email` in the header).
    #[param(min_length = 1, max_length = 100, pattern = r"\S")]
    pub customer_col: Option<String>,
    /// The CSV column with the order's time (default `timestamp`, else `date`,
    /// `order_date`, `created_at`, `datetime`, `invoicedate`, `invoice_date`,
    /// `purchase_date`, `time`).
    #[param(min_length = 1, max_length = 100, pattern = r"\S")]
    pub date_col: Option<String>,
    /// The CSV column with the order's value (default `amount`, else
    /// `revenue`, `total`, `value`, `order_value`, `sales`, `price`).
    #[param(min_length = 1, max_length = 100, pattern = r"\S")]
    pub amount_col: Option<String>,
}

fn currency_of(svc: &LtvService, s: Option<&str>) -> Result<kiki_core::Currency, ApiError> {
    match s {
        None => Ok(svc.default_currency()?),
        Some(c) => kiki_core::Currency::parse_exact(c).map_err(|_| {
            ApiError::validation(vec![FieldError::new(
                "currency",
                "Must be a three-letter ISO code such as USD.",
            )])
        }),
    }
}

/// Uploads transactions as CSV (`text/csv`: columns `customer_id`,
/// `timestamp`, `amount`, optional `order_id`, `segment`, `platform`, `kind`)
/// or JSON (`{"transactions": [...]}`). All rows are checked first: any bad
/// row → 422 listing rows and fields (the first 50), nothing stored.
/// Timestamps must lie between `ltv.earliest_transaction_date` and
/// `ltv.max_future_days` after now; order amounts must be at least 0 (a row
/// with `kind` = `refund` gives money back). Re-sending a file adds
/// nothing: a row matching a stored one (customer, time, amount, currency,
/// order id) is skipped, while identical rows within one upload are kept as
/// separate orders. The answer carries the upload's id, for
/// `DELETE /v1/ltv/uploads/{id}`.
#[utoipa::path(post, path = "/ltv/transactions", tag = "ltv", params(UploadQuery),
    request_body(content(
        (UploadBodySchema = "application/json"),
        (String = "text/csv", example = "customer_id,timestamp,amount,order_id,kind\nc-1042,2024-03-01T12:30:00Z,35.50,o-9001,order\nc-1042,2024-03-04,10.00,o-9001,refund\n")),
        description = "JSON, or a CSV file as text/csv"),
    responses((status = 200, body = IngestReport),
        (status = 400, description = "The body or a query parameter cannot be read", body = ErrorEnvelope),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 403, description = "Lacks `ltv.write`", body = ErrorEnvelope),
        (status = 413, description = "Larger than `ltv.max_upload_bytes`", body = ErrorEnvelope),
        (status = 415, description = "Neither text/csv nor application/json", body = ErrorEnvelope),
        (status = 422, description = "Bad rows, listed by row (or file line) and field", body = ErrorEnvelope),
        (status = 429, description = "Rate limited", body = ErrorEnvelope)))]
pub async fn upload_transactions(
    Service(svc): Service<LtvService>,
    p: Perm<LtvWrite>,
    Query(q): Query<UploadQuery>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<IngestReport>, ApiError> {
    let body = body.map_err(|rej| {
        if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                ErrorCode::PayloadTooLarge,
                format!(
                    "The upload is larger than {} bytes (ltv.max_upload_bytes); split it into several uploads.",
                    svc.config().max_upload_bytes
                ),
            )
        } else {
            ApiError::bad_request(format!("The body could not be read: {}", rej.body_text()))
        }
    })?;
    let mime = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let window = svc.date_window();
    // The column parameters are checked whatever the body (a JSON upload
    // does not use them).
    let mut named = Vec::new();
    for (param, value) in [
        ("customer_col", &q.customer_col),
        ("date_col", &q.date_col),
        ("amount_col", &q.amount_col),
    ] {
        match value.as_deref() {
            None | Some("") => named.push(None),
            Some(v) if v.trim().is_empty() || v.chars().count() > 100 => {
                return Err(ApiError::validation(vec![FieldError::new(
                    param,
                    "1 to 100 characters, not only spaces: the name of a column of the file.",
                )]));
            }
            Some(v) => named.push(Some((param, v.trim().to_owned()))),
        }
    }
    let (rows, format) = match mime.as_str() {
        "text/csv" | "application/csv" => {
            let currency = currency_of(&svc, q.currency.as_deref())?;
            let header: Vec<String> = csv::ReaderBuilder::new()
                .has_headers(true)
                .flexible(true)
                .trim(csv::Trim::All)
                .from_reader(&body[..])
                .headers()
                .map(|h| h.iter().map(str::to_owned).collect())
                .unwrap_or_default();
            let mut columns = kiki_ltv::TransactionColumns::default();
            let slots = [
                &mut columns.customer_id,
                &mut columns.timestamp,
                &mut columns.amount,
            ];
            for (given, slot) in named.into_iter().zip(slots) {
                if let Some((param, name)) = given {
                    if !header.iter().any(|h| h.eq_ignore_ascii_case(&name)) {
                        return Err(ApiError::validation(vec![FieldError::new(
                            param,
                            format!(
                                "The file has no column `{name}`; its header has: {}.",
                                header.join(", ")
                            ),
                        )]));
                    }
                    *slot = name;
                }
            }
            let rows = read_csv_upload(&body, currency, &window, &columns)?;
            let upload = NewUpload {
                format: "csv",
                created_by: created_by(&p.0.actor()),
            };
            let report = match &rows {
                CsvUpload::Borrowed(rows) => {
                    svc.ingest_rows(&p.0.scope, rows, Some(upload)).await?
                }
                CsvUpload::Owned(rows) => {
                    svc.ingest_transactions(&p.0.scope, rows, Some(upload))
                        .await?
                }
            };
            return Ok(Json(report));
        }
        "application/json" => {
            let req: UploadBody = kiki_server::extract::parse_json(&body)?;
            // A `currency` parameter is checked even when the body names one.
            let query_currency = q
                .currency
                .as_deref()
                .map(|c| currency_of(&svc, Some(c)))
                .transpose()?;
            let currency = match req.currency.as_deref() {
                Some(c) => currency_of(&svc, Some(c))?,
                None => match query_currency {
                    Some(c) => c,
                    None => currency_of(&svc, None)?,
                },
            };
            (
                rows_from_json(&req.transactions, currency, &window)?,
                "json",
            )
        }
        _ => {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "Send transactions as `text/csv` or as `application/json`.",
            ));
        }
    };
    let upload = NewUpload {
        format,
        created_by: created_by(&p.0.actor()),
    };
    Ok(Json(
        svc.ingest_transactions(&p.0.scope, &rows, Some(upload))
            .await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FitQuery {
    /// Fit inside the request (201 with the model) when the organisation has
    /// at most `ltv.sync_max_customers` customers; otherwise, and by default,
    /// queue a job (202).
    pub wait: Option<bool>,
}

/// A queued fit.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FitAccepted {
    pub job_id: Uuid,
    /// Poll this for status, progress and the model id.
    pub location: String,
}

/// Fits a new model version on the organisation's transactions, as a
/// background job (`ltv.fit`, 202 + `Location: /v1/jobs/{id}`) or inline
/// with `?wait=true` for small data (201 + the model). Every fit is audited
/// (`ltv.model.fitted`) and leaves a decision record.
#[utoipa::path(post, path = "/ltv/fits", tag = "ltv", params(FitQuery), request_body = FitRequestSchema,
    responses((status = 202, description = "Queued as a job", body = FitAccepted),
        (status = 201, description = "Fitted inside the request (`wait=true`)", body = LtvModelView),
        (status = 400, description = "The body is not JSON, or a query parameter cannot be read", body = ErrorEnvelope),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 403, description = "Lacks `ltv.write`", body = ErrorEnvelope),
        (status = 413, description = "The body is too large", body = ErrorEnvelope),
        (status = 415, description = "The body is not application/json", body = ErrorEnvelope),
        (status = 422, description = "A field is invalid, the data cannot be fitted, or the model cannot be used on it (the message names the model and what to try)", body = ErrorEnvelope),
        (status = 429, description = "Rate limited", body = ErrorEnvelope)))]
pub async fn create_fit(
    Service(svc): Service<LtvService>,
    Meta(meta): Meta,
    p: Perm<LtvWrite>,
    Query(q): Query<FitQuery>,
    Body(req): Body<FitRequest>,
) -> Result<Response, ApiError> {
    let spec = req.validate(svc.config())?;
    let scope = &p.0.scope;
    let actor = p.0.actor();
    let payload = FitPayload {
        spec,
        created_by: created_by(&actor),
        actor,
        request_id: meta.request_id.clone(),
    };
    if q.wait == Some(true)
        && svc.customer_count(scope, payload.spec.currency).await?
            <= svc.config().sync_max_customers
    {
        let model = svc.run_fit(scope, &payload, None, &NoProgress).await?;
        let mut resp = (StatusCode::CREATED, Json(&model)).into_response();
        if let Ok(v) = HeaderValue::from_str(&format!("/v1/ltv/models/{}", model.id)) {
            resp.headers_mut().insert(header::LOCATION, v);
        }
        return Ok(resp);
    }
    let job = svc.enqueue_fit(scope, &payload).await?;
    let location = format!("/v1/jobs/{}", job.0);
    let mut resp = (
        StatusCode::ACCEPTED,
        Json(FitAccepted {
            job_id: job.0,
            location: location.clone(),
        }),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    Ok(resp)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Rows per page, 1 to 500 (default 50); outside that a 422 naming the
    /// cap, never a shorter page.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

/// A page's `limit`: 1 to [`kiki_core::page::MAX_LIMIT`], else a 422 naming
/// the cap (a request for more than a page holds is told so, not cut).
fn page_limit(limit: Option<i64>) -> Result<Option<u32>, ApiError> {
    let max = kiki_core::page::MAX_LIMIT;
    match limit {
        None => Ok(None),
        Some(n) if (1..=i64::from(max)).contains(&n) => Ok(u32::try_from(n).ok()),
        Some(n) => Err(ApiError::validation(vec![FieldError::new(
            "limit",
            format!(
                "Must be between 1 and {max} (the most one page holds), not {n}; follow `next_cursor` for more, or ask for every customer as CSV (`Accept: text/csv`)."
            ),
        )])),
    }
}

/// The organisation's models, newest version first.
#[utoipa::path(get, path = "/ltv/models", tag = "ltv", params(PageQuery),
    responses((status = 200, body = Page<LtvModelView>),
        (status = 400, description = "A query or path parameter cannot be read", body = ErrorEnvelope),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 403, description = "Lacks `ltv.read`", body = ErrorEnvelope),
        (status = 422, description = "The cursor is not one this API issued, or `limit` is outside 1 to 500 (the message names the cap)", body = ErrorEnvelope),
        (status = 429, description = "Rate limited", body = ErrorEnvelope)))]
pub async fn list_models(
    Service(svc): Service<LtvService>,
    p: Perm<LtvRead>,
    Query(q): Query<PageQuery>,
) -> Result<Json<Page<LtvModelView>>, ApiError> {
    let page = PageRequest {
        limit: page_limit(q.limit)?,
        cursor: q.cursor,
    };
    Ok(Json(svc.models(&p.0.scope, &page).await?))
}

/// The current (latest) model; 409 before the first fit.
#[utoipa::path(get, path = "/ltv/models/current", tag = "ltv",
    responses((status = 200, body = LtvModelView),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 403, description = "Lacks `ltv.read`", body = ErrorEnvelope),
        (status = 409, description = "No model has been fitted yet", body = ErrorEnvelope),
        (status = 429, description = "Rate limited", body = ErrorEnvelope)))]
pub async fn get_current_model(
    Service(svc): Service<LtvService>,
    p: Perm<LtvRead>,
) -> Result<Json<LtvModelView>, ApiError> {
    svc.current_model(&p.0.scope)
        .await?
        .map(Json)
        .ok_or_else(|| LtvServiceError::NoModel.into())
}

/// One model: parameters, diagnostics, data window, holdout report.
#[utoipa::path(get, path = "/ltv/models/{id}", tag = "ltv",
    params(("id" = Uuid, Path, description = "Model id")),
    responses((status = 200, body = LtvModelView),
        (status = 400, description = "The id is not a UUID", body = ErrorEnvelope),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 403, description = "Lacks `ltv.read`", body = ErrorEnvelope),
        (status = 404, description = "No such model in this organisation", body = ErrorEnvelope),
        (status = 429, description = "Rate limited", body = ErrorEnvelope)))]
pub async fn get_model(
    Service(svc): Service<LtvService>,
    p: Perm<LtvRead>,
    Path(id): Path<Uuid>,
) -> Result<Json<LtvModelView>, ApiError> {
    Ok(Json(svc.model(&p.0.scope, id).await?))
}

/// The holdout report of a model: MAE, RMSE, aggregate error and predicted
/// vs actual purchases per calibration-frequency bucket.
#[utoipa::path(get, path = "/ltv/models/{id}/holdout", tag = "ltv",
    params(("id" = Uuid, Path, description = "Model id")),
    responses((status = 200, body = HoldoutReport),
        (status = 400, description = "The id is not a UUID", body = ErrorEnvelope),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 403, description = "Lacks `ltv.read`", body = ErrorEnvelope),
        (status = 404, description = "No such model, or it was fitted without a holdout period", body = ErrorEnvelope),
        (status = 429, description = "Rate limited", body = ErrorEnvelope)))]
pub async fn get_holdout(
    Service(svc): Service<LtvService>,
    p: Perm<LtvRead>,
    Path(id): Path<Uuid>,
) -> Result<Json<HoldoutReport>, ApiError> {
    svc.model(&p.0.scope, id)
        .await?
        .holdout
        .map(Json)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                "This model was fitted without a holdout period; fit with `holdout_days` or `calibration_end` to get one.",
            )
        })
}

/// Scores customers (their stored predictions under the current model) or
/// ad-hoc RFM rows `{frequency, recency, T, monetary?}` under the current or
/// given model. 409 before the first fit; 422 naming bad rows.
#[utoipa::path(post, path = "/ltv/predict", tag = "ltv", request_body = PredictRequestSchema,
    responses((status = 200, body = PredictResponse),
        (status = 400, description = "The body is not JSON, or a query parameter cannot be read", body = ErrorEnvelope),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 403, description = "Lacks `ltv.read`", body = ErrorEnvelope),
        (status = 404, description = "`model_id` is not a model of this organisation", body = ErrorEnvelope),
        (status = 409, description = "No model has been fitted yet", body = ErrorEnvelope),
        (status = 413, description = "The body is too large", body = ErrorEnvelope),
        (status = 415, description = "The body is not application/json", body = ErrorEnvelope),
        (status = 422, description = "Bad fields or rows, named in `details.fields`", body = ErrorEnvelope),
        (status = 429, description = "Rate limited", body = ErrorEnvelope)))]
pub async fn predict(
    Service(svc): Service<LtvService>,
    p: Perm<LtvRead>,
    Body(req): Body<PredictRequest>,
) -> Result<Json<PredictResponse>, ApiError> {
    Ok(Json(svc.predict(&p.0.scope, &req).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CustomersQuery {
    /// `clv` (highest first; the default of a page), `churn_risk` (highest
    /// first) or `customer_id` (the default of a CSV export).
    #[param(value_type = Option<CustomerSort>, inline)]
    pub sort: Option<String>,
    /// Rows per page, 1 to 500 (default 50); outside that a 422 naming the
    /// cap, never a shorter page.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
    /// `json` (default: a page) or `csv` (every customer, streamed, as
    /// `Accept: text/csv` also asks).
    #[param(value_type = Option<ExportFormat>, inline)]
    pub format: Option<String>,
}

/// How `GET /v1/ltv/customers` answers.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // the values of `CustomersQuery::format` in the API document
pub enum ExportFormat {
    Json,
    Csv,
}

/// The CSV header of the customer export.
const CUSTOMER_CSV_HEADER: &[&str] = &[
    "customer_id",
    "segment",
    "platform",
    "frequency",
    "recency",
    "age",
    "monetary",
    "expected_purchases",
    "p_alive",
    "churn_risk",
    "expected_aov",
    "clv",
    "currency",
];

/// An amount as a decimal in its currency's major unit, rounded to the
/// currency's minor unit (`12.34`).
fn decimal(money: Money) -> String {
    let (micros, digits) = (money.micros, money.currency.minor_digits());
    let step = 10_i64.pow(6 - digits);
    let minor = (i128::from(micros) + i128::from(micros.signum()) * i128::from(step) / 2)
        / i128::from(step);
    let sign = if minor < 0 { "-" } else { "" };
    let minor = minor.abs();
    if digits == 0 {
        return format!("{sign}{minor}");
    }
    let unit = 10_i128.pow(digits);
    format!(
        "{sign}{}.{:0width$}",
        minor / unit,
        minor % unit,
        width = digits as usize
    )
}

/// CSV lines for `rows` (with the header when `header`).
fn customer_csv(rows: &[PredictionRow], header: bool) -> Result<Bytes, ApiError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| ApiError::from(LtvServiceError::Internal(format!("csv: {e}")));
    if header {
        w.write_record(CUSTOMER_CSV_HEADER).map_err(fail)?;
    }
    for r in rows {
        let money = |m: Option<Money>| m.map(decimal).unwrap_or_default();
        w.write_record([
            r.customer_id.clone(),
            r.segment.clone().unwrap_or_default(),
            r.platform.clone().unwrap_or_default(),
            r.frequency.to_string(),
            r.recency.to_string(),
            r.age.to_string(),
            decimal(r.monetary),
            r.expected_purchases.to_string(),
            r.p_alive.to_string(),
            r.churn_risk.to_string(),
            money(r.expected_aov),
            money(r.clv),
            r.monetary.currency.to_string(),
        ])
        .map_err(fail)?;
    }
    let buf = w
        .into_inner()
        .map_err(|e| ApiError::from(LtvServiceError::Internal(format!("csv: {e}"))))?;
    Ok(Bytes::from(buf))
}

/// The orders of `GET /v1/ltv/customers`.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // the values of `CustomersQuery::sort` in the API document
pub enum CustomerSort {
    Clv,
    ChurnRisk,
    CustomerId,
}

/// Customers of the current model with their forecasts, paged; with
/// `format=csv` (or `Accept: text/csv`) every customer, streamed as CSV page
/// by page in customer id order or the requested `sort` (money as decimals
/// in the model's currency, with a `currency` column).
#[utoipa::path(get, path = "/ltv/customers", tag = "ltv", params(CustomersQuery),
    responses((status = 200, description = "A page (JSON), or every customer as CSV",
            content((Page<PredictionRow> = "application/json"), (String = "text/csv"))),
        (status = 400, description = "A query or path parameter cannot be read", body = ErrorEnvelope),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 403, description = "Lacks `ltv.read`", body = ErrorEnvelope),
        (status = 422, description = "`sort`, `format` or `cursor` is invalid, a new model replaced the cursor's, or `limit` is outside 1 to 500 (the message names the cap)", body = ErrorEnvelope),
        (status = 429, description = "Rate limited", body = ErrorEnvelope)))]
pub async fn list_customers(
    Service(svc): Service<LtvService>,
    p: Perm<LtvRead>,
    headers: HeaderMap,
    Query(q): Query<CustomersQuery>,
) -> Result<Response, ApiError> {
    let csv = match q.format.as_deref() {
        None | Some("") => headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.starts_with("text/csv")),
        Some("json") => false,
        Some("csv") => true,
        Some(_) => {
            return Err(ApiError::validation(vec![FieldError::new(
                "format",
                "Must be `json` or `csv`.",
            )]));
        }
    };
    let sort = match q.sort.as_deref() {
        // A whole export walks the primary key unless an order is asked for.
        None if csv => SortBy::CustomerId,
        None | Some("clv") => SortBy::Clv,
        Some("churn_risk") => SortBy::ChurnRisk,
        Some("customer_id") => SortBy::CustomerId,
        Some(_) => {
            return Err(ApiError::validation(vec![FieldError::new(
                "sort",
                "Must be `clv`, `churn_risk` or `customer_id`.",
            )]));
        }
    };
    let page = PageRequest {
        limit: page_limit(q.limit)?,
        cursor: q.cursor,
    };
    if !csv {
        return Ok(Json(svc.customers(&p.0.scope, sort, &page).await?).into_response());
    }
    // The first page is read before answering, so a bad cursor is still a
    // 422; the rest streams, 500 customers a step.
    let scope = p.0.scope.clone();
    let first_req = PageRequest {
        limit: Some(kiki_core::page::MAX_LIMIT),
        cursor: page.cursor,
    };
    let first = svc.customers(&scope, sort, &first_req).await?;
    let head = customer_csv(&first.items, true)?;
    let rest = futures::stream::unfold(first.next_cursor, move |cursor| {
        let svc = svc.clone();
        let scope = scope.clone();
        async move {
            let cursor = cursor?;
            let req = PageRequest {
                limit: Some(kiki_core::page::MAX_LIMIT),
                cursor: Some(cursor),
            };
            match svc.customers(&scope, sort, &req).await {
                Ok(p) => match customer_csv(&p.items, false) {
                    Ok(bytes) => Some((Ok(bytes), p.next_cursor)),
                    Err(_) => Some((Err(std::io::Error::other("csv")), None)),
                },
                Err(e) => {
                    tracing::warn!(error = %e, "customer export stopped");
                    Some((Err(std::io::Error::other("the export stopped")), None))
                }
            }
        }
    });
    let body = futures::stream::once(async move { Ok::<Bytes, std::io::Error>(head) })
        .chain(rest)
        .fuse();
    let mut resp = axum::body::Body::from_stream(body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    resp.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"customers.csv\""),
    );
    Ok(resp)
}

/// A customer's purchases and current forecast.
#[utoipa::path(get, path = "/ltv/customers/{customer_id}", tag = "ltv",
    params(("customer_id" = String, Path, description = "The shop's customer id")),
    responses((status = 200, body = CustomerView),
        (status = 400, description = "A query or path parameter cannot be read", body = ErrorEnvelope),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 403, description = "Lacks `ltv.read`", body = ErrorEnvelope),
        (status = 404, description = "The customer has no stored transactions or prediction", body = ErrorEnvelope),
        (status = 429, description = "Rate limited", body = ErrorEnvelope)))]
pub async fn get_customer(
    Service(svc): Service<LtvService>,
    p: Perm<LtvRead>,
    Path(customer_id): Path<String>,
) -> Result<Json<CustomerView>, ApiError> {
    Ok(Json(svc.customer(&p.0.scope, &customer_id).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AggregatesQuery {
    /// `segment` (default), `platform` or `all`.
    #[param(value_type = Option<AggregateBy>, inline)]
    pub by: Option<String>,
}

/// The groups of `GET /v1/ltv/aggregates`.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(dead_code)] // the values of `AggregatesQuery::by` in the API document
pub enum AggregateBy {
    Segment,
    Platform,
    All,
}

/// CLV totals and p25/p50/p75 (and P(alive) quartiles) per segment or
/// acquisition platform, from the current model's stored predictions.
#[utoipa::path(get, path = "/ltv/aggregates", tag = "ltv", params(AggregatesQuery),
    responses((status = 200, body = AggregatesView),
        (status = 400, description = "A query or path parameter cannot be read", body = ErrorEnvelope),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 403, description = "Lacks `ltv.read`", body = ErrorEnvelope),
        (status = 409, description = "No model has been fitted yet", body = ErrorEnvelope),
        (status = 422, description = "`by` is invalid", body = ErrorEnvelope),
        (status = 429, description = "Rate limited", body = ErrorEnvelope)))]
pub async fn get_aggregates(
    Service(svc): Service<LtvService>,
    p: Perm<LtvRead>,
    Query(q): Query<AggregatesQuery>,
) -> Result<Json<AggregatesView>, ApiError> {
    let by = match q.by.as_deref() {
        None | Some("segment") => GroupBy::Segment,
        Some("platform") => GroupBy::Platform,
        Some("all") => GroupBy::All,
        Some(_) => {
            return Err(ApiError::validation(vec![FieldError::new(
                "by",
                "Must be `segment`, `platform` or `all`.",
            )]));
        }
    };
    let aggregates = svc
        .aggregates(&p.0.scope, by)
        .await?
        .ok_or(LtvServiceError::NoModel)?;
    Ok(Json(AggregatesView::try_from(aggregates)?))
}

fn requester(p: &kiki_identity::Principal, meta: &kiki_identity::RequestMeta) -> Requester {
    Requester {
        actor: p.actor(),
        request_id: meta.request_id.clone(),
    }
}

/// Deletes the transactions one upload stored (its id is in the upload's
/// answer). Predictions of customers left without transactions are removed
/// and the current model is marked stale (`stale_at`): refit to match the
/// remaining data. Audited as `ltv.upload.deleted`.
#[utoipa::path(delete, path = "/ltv/uploads/{id}", tag = "ltv",
    params(("id" = Uuid, Path, description = "The upload id from the upload's answer")),
    responses((status = 200, body = DeletionReport),
        (status = 400, description = "The id is not a UUID", body = ErrorEnvelope),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 403, description = "Lacks `ltv.write`", body = ErrorEnvelope),
        (status = 404, description = "No such upload in this organisation", body = ErrorEnvelope),
        (status = 429, description = "Rate limited", body = ErrorEnvelope)))]
pub async fn delete_upload(
    Service(svc): Service<LtvService>,
    Meta(meta): Meta,
    p: Perm<LtvWrite>,
    Path(id): Path<Uuid>,
) -> Result<Json<DeletionReport>, ApiError> {
    let by = requester(&p.0, &meta);
    Ok(Json(svc.delete_upload(&p.0.scope, id, &by).await?))
}

/// Deletes every transaction of one customer and their stored predictions;
/// the current model is marked stale. Audited as
/// `ltv.customer.transactions_deleted` (naming the customer by a digest).
#[utoipa::path(delete, path = "/ltv/customers/{customer_id}/transactions", tag = "ltv",
    params(("customer_id" = String, Path, description = "The shop's customer id")),
    responses((status = 200, body = DeletionReport),
        (status = 400, description = "The path cannot be read", body = ErrorEnvelope),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 403, description = "Lacks `ltv.write`", body = ErrorEnvelope),
        (status = 404, description = "The customer has no transactions or predictions", body = ErrorEnvelope),
        (status = 429, description = "Rate limited", body = ErrorEnvelope)))]
pub async fn delete_customer_transactions(
    Service(svc): Service<LtvService>,
    Meta(meta): Meta,
    p: Perm<LtvWrite>,
    Path(customer_id): Path<String>,
) -> Result<Json<DeletionReport>, ApiError> {
    let by = requester(&p.0, &meta);
    Ok(Json(
        svc.delete_customer_transactions(&p.0.scope, &customer_id, &by)
            .await?,
    ))
}

/// Deletes all of the organisation's transactions, upload records and
/// stored predictions; the models stay (parameters only) and the current
/// one is marked stale. Needs `ltv.write` and `org.manage`. Audited as
/// `ltv.transactions.deleted`.
#[utoipa::path(delete, path = "/ltv/transactions", tag = "ltv",
    responses((status = 200, body = DeletionReport),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 403, description = "Lacks `ltv.write` or `org.manage`", body = ErrorEnvelope),
        (status = 429, description = "Rate limited", body = ErrorEnvelope)))]
pub async fn delete_all_transactions(
    Service(svc): Service<LtvService>,
    Meta(meta): Meta,
    p: Perm<LtvWrite>,
    _manage: Perm<OrgManage>,
) -> Result<Json<DeletionReport>, ApiError> {
    let by = requester(&p.0, &meta);
    Ok(Json(svc.delete_all_transactions(&p.0.scope, &by).await?))
}

/// Erases a customer from the LTV context (data-protection erasure): their
/// transactions and every stored prediction of them, at once; the current
/// model is marked stale. Replaying it succeeds with zero counts. Needs
/// `ltv.write` and `org.manage`. Audited as `ltv.customer.erased`, naming
/// the customer by a digest only.
#[utoipa::path(post, path = "/ltv/customers/{customer_id}/erase", tag = "ltv",
    params(("customer_id" = String, Path, description = "The shop's customer id")),
    responses((status = 200, body = DeletionReport),
        (status = 400, description = "The path cannot be read", body = ErrorEnvelope),
        (status = 401, description = "Not signed in", body = ErrorEnvelope),
        (status = 403, description = "Lacks `ltv.write` or `org.manage`", body = ErrorEnvelope),
        (status = 429, description = "Rate limited", body = ErrorEnvelope)))]
pub async fn erase_customer(
    Service(svc): Service<LtvService>,
    Meta(meta): Meta,
    p: Perm<LtvWrite>,
    _manage: Perm<OrgManage>,
    Path(customer_id): Path<String>,
) -> Result<Json<DeletionReport>, ApiError> {
    let by = requester(&p.0, &meta);
    Ok(Json(
        svc.erase_customer(&p.0.scope, &customer_id, &by).await?,
    ))
}
