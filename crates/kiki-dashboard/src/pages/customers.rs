//! `/app/customers`: customers and their lifetime value, from the LTV
//! service (SyncValue) called in-process with the viewer's tenant scope.
//!
//! - Upload: a CSV file (at most [`MAX_FILE_BYTES`]) posted as
//!   `multipart/form-data` to `/app/customers/preview`, which reads its
//!   header and first rows, guesses which column is which and shows a
//!   preview with the mapping form. Nothing is kept on the server between
//!   the preview and the confirmation: the file travels back inside the
//!   preview's form (a hidden field, base64), to the same person's browser
//!   only, and `/app/customers/upload` reads it again with the chosen
//!   mapping, sends the rows to the service's upload (the JSON rows path:
//!   every row checked, any bad row refuses the whole file) and redirects
//!   with the counts stored and skipped as duplicates.
//! - Fit: `/app/customers/fit` fits inside the request when the
//!   organisation is small enough for the service's inline fit
//!   (`ltv.sync_max_customers`), else queues the `ltv.fit` job and the page
//!   shows the job's status.
//! - The page: the current (or a chosen earlier) model's kind, version,
//!   window, parameters, diagnostics and holdout comparison; customers
//!   sorted by CLV or churn risk, paged by the service's cursor; CLV per
//!   segment and per acquisition platform with server-drawn bars.
//! - `/app/customers/c/{id}`: one customer's purchases and forecast.
//!
//! Reading needs `ltv.read`; uploading and fitting `ltv.write`.

use std::fmt::Write as _;

use askama::Template;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use kiki_analytics_service::AnalyticsService;
use kiki_core::{Currency, DomainError, ErrorCode, JobId, OrgId, PageRequest};
use kiki_identity::Permission;
use kiki_ltv::GroupBy;
use kiki_ltv_service::domain::{FitRequest, ModelChoice, TransactionRow, rows_from_json};
use kiki_ltv_service::service::{
    AggregatesView, CustomerView, FitPayload, GroupValueView, NewUpload, NoProgress, PredictionRow,
    SortBy, created_by,
};
use kiki_ltv_service::{LtvModelView, LtvService, LtvServiceError};
use kiki_server::AppState;
use kiki_server::auth::Meta;
use serde::Deserialize;
use uuid::Uuid;

use crate::error::PageError;
use crate::kpi::percent;
use crate::pages::{chrome, read_form};
use crate::range::Range;
use crate::session::{Viewer, redirect};
use crate::views::{Flash, Layout, Link, html};

/// The largest CSV file the page takes: 1 MiB. Larger files go through the
/// API (`POST /v1/ltv/transactions`, up to `ltv.max_upload_bytes`).
pub const MAX_FILE_BYTES: usize = 1024 * 1024;
/// The body limit of the file form (the file and a few small fields).
pub const PREVIEW_BODY_BYTES: usize = MAX_FILE_BYTES + 64 * 1024;
/// The body limit of the confirmation (the file as base64, the mapping).
pub const CONFIRM_BODY_BYTES: usize = MAX_FILE_BYTES * 4 / 3 + 64 * 1024;
/// Rows the preview shows.
const PREVIEW_ROWS: usize = 10;
/// Customers per page.
const PAGE_ROWS: u32 = 50;
/// Earlier model versions listed.
const VERSIONS: u32 = 20;
/// Bad rows listed under a refused upload (the service lists up to 50).
const LISTED_ERRORS: usize = 50;

/// What a column of the file can be, with the header names guessed for it.
pub const TARGETS: &[(&str, &str, bool, &[&str])] = &[
    (
        "customer_id",
        "Customer id",
        true,
        &[
            "customer_id",
            "customer",
            "customerid",
            "client_id",
            "user_id",
            "userid",
            "email",
            "customer_email",
        ],
    ),
    (
        "timestamp",
        "Time of the order",
        true,
        &[
            "timestamp",
            "date",
            "order_date",
            "created_at",
            "datetime",
            "invoicedate",
            "invoice_date",
            "purchase_date",
            "time",
        ],
    ),
    (
        "amount",
        "Amount",
        true,
        &[
            "amount",
            "revenue",
            "total",
            "value",
            "order_value",
            "sales",
            "price",
        ],
    ),
    (
        "currency",
        "Currency",
        false,
        &["currency", "currency_code", "curr"],
    ),
    (
        "order_id",
        "Order id",
        false,
        &[
            "order_id",
            "order",
            "orderid",
            "order_number",
            "invoice",
            "invoiceno",
            "invoice_no",
            "transaction_id",
        ],
    ),
    (
        "segment",
        "Segment",
        false,
        &["segment", "customer_segment", "tier"],
    ),
    (
        "platform",
        "Acquisition platform",
        false,
        &["platform", "channel", "source", "utm_source"],
    ),
    (
        "kind",
        "Order or refund",
        false,
        &["kind", "type", "transaction_type"],
    ),
];

/// A header name as compared with the guesses: lower case, spaces and
/// dashes as underscores.
fn normalise(h: &str) -> String {
    h.trim()
        .to_lowercase()
        .chars()
        .map(|c| if c == ' ' || c == '-' { '_' } else { c })
        .collect()
}

/// The column guessed for each target (in [`TARGETS`] order): the first
/// header matching one of its names, each column used once.
pub fn guess_mapping(header: &[String]) -> Vec<Option<usize>> {
    let names: Vec<String> = header.iter().map(|h| normalise(h)).collect();
    let mut used = vec![false; names.len()];
    TARGETS
        .iter()
        .map(|(_, _, _, guesses)| {
            let found = guesses.iter().find_map(|g| {
                names
                    .iter()
                    .enumerate()
                    .find(|(i, n)| !used[*i] && n.as_str() == *g)
                    .map(|(i, _)| i)
            });
            if let Some(i) = found {
                used[i] = true;
            }
            found
        })
        .collect()
}

/// A file read for the preview: its header, first rows and row count.
#[derive(Debug)]
pub struct Sheet {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    /// Data rows in the file.
    pub total: usize,
}

/// Reads a CSV file: UTF-8, a header, at least one data row, every row
/// readable. The error says what is wrong and where.
pub fn read_sheet(bytes: &[u8], keep: usize) -> Result<Sheet, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        format!(
            "The file is not UTF-8 text (the first bad byte is at position {}). Save it as CSV (UTF-8) and try again.",
            e.valid_up_to()
        )
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| csv_error("header", &e))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    if header.iter().all(String::is_empty) {
        return Err("The file is empty: it needs a header line naming its columns, then one line per order.".into());
    }
    let mut rows = Vec::new();
    let mut total = 0;
    for record in rdr.records() {
        let record = record.map_err(|e| csv_error("row", &e))?;
        total += 1;
        if rows.len() < keep {
            rows.push(record.iter().map(str::to_owned).collect());
        }
    }
    if total == 0 {
        return Err("The file has a header but no rows: add one line per order.".into());
    }
    Ok(Sheet {
        header,
        rows,
        total,
    })
}

fn csv_error(what: &str, e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => format!(
            "Line {} of the file has {len} fields where the header has {expected_len}; every line needs the same columns.",
            pos.as_ref().map_or(0, csv::Position::line)
        ),
        _ => format!(
            "The file cannot be read as CSV ({what}{}): {e}.",
            e.position()
                .map(|p| format!(", line {}", p.line()))
                .unwrap_or_default()
        ),
    }
}

/// One field of a `multipart/form-data` body.
#[derive(Debug)]
pub struct Part<'a> {
    pub name: String,
    pub filename: Option<String>,
    pub data: &'a [u8],
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A `name="…"` parameter of a `Content-Disposition` line.
fn disposition_param(line: &str, key: &str) -> Option<String> {
    let lower = line.to_ascii_lowercase();
    let marker = format!("{key}=\"");
    let mut from = 0;
    while let Some(i) = lower[from..].find(&marker) {
        let at = from + i;
        // `name=` must not match the end of `filename=`.
        let before = lower[..at].chars().last();
        if matches!(before, Some(';') | Some(' ')) {
            let start = at + marker.len();
            let end = line[start..].find('"')? + start;
            return Some(line[start..end].to_owned());
        }
        from = at + marker.len();
    }
    None
}

/// The fields of a `multipart/form-data` body (RFC 7578) as the file form
/// sends it; at most 16 fields.
pub fn multipart<'a>(content_type: &str, body: &'a [u8]) -> Result<Vec<Part<'a>>, String> {
    let bad = || "The form was not sent as a file upload; use the page's form.".to_owned();
    let (mime, params) = content_type.split_once(';').ok_or_else(bad)?;
    if !mime.trim().eq_ignore_ascii_case("multipart/form-data") {
        return Err(bad());
    }
    let boundary = params
        .split(';')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim().trim_matches('"').to_owned())
        .filter(|b| !b.is_empty() && b.len() <= 200)
        .ok_or_else(bad)?;
    let first = format!("--{boundary}");
    let between = format!("\r\n--{boundary}");
    let start = find(body, first.as_bytes()).ok_or_else(bad)?;
    let mut rest = &body[start + first.len()..];
    let mut parts = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        if parts.len() >= 16 {
            return Err(bad());
        }
        rest = rest.strip_prefix(b"\r\n").ok_or_else(bad)?;
        let head_end = find(rest, b"\r\n\r\n").ok_or_else(bad)?;
        let head = std::str::from_utf8(&rest[..head_end]).map_err(|_| bad())?;
        let content = &rest[head_end + 4..];
        let end = find(content, between.as_bytes()).ok_or_else(bad)?;
        let disposition = head
            .split("\r\n")
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))
            .ok_or_else(bad)?;
        parts.push(Part {
            name: disposition_param(disposition, "name").ok_or_else(bad)?,
            filename: disposition_param(disposition, "filename"),
            data: &content[..end],
        });
        rest = &content[end + between.len()..];
    }
}

/// The chosen mapping: a column index per target, in [`TARGETS`] order.
pub type Mapping = Vec<Option<usize>>;

/// A refused row: its number among the data rows, its line in the file,
/// the column and why.
#[derive(Debug, Clone, PartialEq)]
pub struct RowProblem {
    pub row: u64,
    pub line: u64,
    pub column: String,
    pub message: String,
}

/// The rows of a mapped file as the upload takes them, the currency of
/// the amounts, and each row's file line.
pub struct Mapped {
    pub rows: Vec<TransactionRow>,
    pub currency: Currency,
    pub lines: Vec<u64>,
}

/// Reads the whole file with `mapping`. Currency: the mapped column's
/// value, the same on every row; without the column, `currency`.
pub fn map_rows(
    bytes: &[u8],
    mapping: &Mapping,
    currency: Currency,
) -> Result<Mapped, Vec<RowProblem>> {
    let sheet_err = |m: String| {
        vec![RowProblem {
            row: 0,
            line: 0,
            column: "file".into(),
            message: m,
        }]
    };
    let text =
        std::str::from_utf8(bytes).map_err(|_| sheet_err("The file is not UTF-8 text.".into()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let header: Vec<String> = rdr
        .headers()
        .map_err(|e| sheet_err(csv_error("header", &e)))?
        .iter()
        .map(|h| h.trim().to_owned())
        .collect();
    let col = |key: &str| {
        TARGETS
            .iter()
            .position(|(k, ..)| *k == key)
            .and_then(|i| mapping.get(i).copied().flatten())
    };
    let mut problems = Vec::new();
    for (key, label, required, _) in TARGETS {
        match col(key) {
            None if *required => problems.push(RowProblem {
                row: 0,
                line: 1,
                column: (*label).to_owned(),
                message: format!("Choose the column that holds the {}.", label.to_lowercase()),
            }),
            Some(i) if i >= header.len() => problems.push(RowProblem {
                row: 0,
                line: 1,
                column: (*label).to_owned(),
                message: "The chosen column is not in the file.".into(),
            }),
            _ => {}
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let name = |i: Option<usize>| i.and_then(|i| header.get(i)).cloned().unwrap_or_default();
    let (c_id, c_at, c_amount, c_cur, c_order, c_seg, c_plat, c_kind) = (
        col("customer_id"),
        col("timestamp"),
        col("amount"),
        col("currency"),
        col("order_id"),
        col("segment"),
        col("platform"),
        col("kind"),
    );
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    let mut file_currency: Option<(Currency, u64)> = None;
    for (n, record) in rdr.records().enumerate() {
        let row = n as u64 + 1;
        let record = record.map_err(|e| sheet_err(csv_error("row", &e)))?;
        let line = record.position().map_or(row + 1, csv::Position::line);
        let cell = |c: Option<usize>| c.and_then(|c| record.get(c)).map(|s| s.trim().to_owned());
        let opt = |c: Option<usize>| cell(c).filter(|s| !s.is_empty());
        if let Some(code) = cell(c_cur) {
            match Currency::parse_exact(&code.to_ascii_uppercase()) {
                Err(_) => problems.push(RowProblem {
                    row,
                    line,
                    column: name(c_cur),
                    message: format!("`{code}` is not a three-letter ISO currency code."),
                }),
                Ok(c) => match file_currency {
                    None => file_currency = Some((c, row)),
                    Some((first, first_row)) if first != c => problems.push(RowProblem {
                        row,
                        line,
                        column: name(c_cur),
                        message: format!(
                            "{c} where row {first_row} has {first}: one upload holds one currency; split the file by currency."
                        ),
                    }),
                    Some(_) => {}
                },
            }
        }
        rows.push(TransactionRow {
            customer_id: cell(c_id),
            timestamp: cell(c_at).map(serde_json::Value::String),
            amount: cell(c_amount).map(serde_json::Value::String),
            order_id: opt(c_order),
            segment: opt(c_seg),
            platform: opt(c_plat),
            kind: opt(c_kind).map(|k| k.to_ascii_lowercase()),
        });
        lines.push(line);
    }
    if !problems.is_empty() {
        problems.truncate(LISTED_ERRORS);
        return Err(problems);
    }
    Ok(Mapped {
        rows,
        currency: file_currency.map_or(currency, |(c, _)| c),
        lines,
    })
}

/// The service's refusal of rows, with file lines and the file's column
/// names instead of the API's field names.
fn row_problems(
    e: &LtvServiceError,
    lines: &[u64],
    header: &[String],
    mapping: &Mapping,
) -> Option<(Vec<RowProblem>, usize)> {
    let LtvServiceError::BadRows { rows, total, .. } = e else {
        return None;
    };
    let column = |field: &str| {
        TARGETS
            .iter()
            .position(|(k, ..)| *k == field)
            .and_then(|i| mapping.get(i).copied().flatten())
            .and_then(|c| header.get(c))
            .map(|h| format!("{h} ({field})"))
            .unwrap_or_else(|| field.to_owned())
    };
    let list = rows
        .iter()
        .map(|r| RowProblem {
            row: r.line,
            line: lines
                .get((r.line as usize).wrapping_sub(1))
                .copied()
                .unwrap_or(0),
            column: column(&r.field),
            message: r.message.clone(),
        })
        .collect();
    Some((list, *total))
}

/// An LTV service error as a page refusal.
fn ltv(e: LtvServiceError) -> PageError {
    match e {
        LtvServiceError::NotFound(what) => PageError::NotFound(what),
        LtvServiceError::NoModel => PageError::Conflict(e.public_message()),
        e => match e.code() {
            ErrorCode::Internal | ErrorCode::Unavailable => PageError::Internal(e.to_string()),
            _ => PageError::BadRequest(e.public_message()),
        },
    }
}

/// The LTV service, when the module is mounted.
fn service(app: &AppState) -> Result<std::sync::Arc<LtvService>, PageError> {
    app.services
        .get::<LtvService>()
        .ok_or(PageError::NotFound("Customers and lifetime value"))
}

/// The session and range of a customers page; needs `ltv.read`.
async fn open(
    app: &AppState,
    headers: &HeaderMap,
    raw: Option<&str>,
) -> Result<(Viewer, Range, String), PageError> {
    let analytics = app
        .services
        .get::<AnalyticsService>()
        .ok_or(PageError::NotFound("This page"))?;
    let (mut viewer, range, default_tz) =
        super::open_range(app, headers, raw, &analytics.config().default_time_zone).await?;
    viewer.require(Permission::LtvRead)?;
    viewer.unread = super::notifications::unread(app, &viewer).await;
    Ok((viewer, range, default_tz))
}

fn org_of(field: &str) -> Result<Option<OrgId>, PageError> {
    match field.trim() {
        "" => Ok(None),
        s => Uuid::parse_str(s)
            .map(|u| Some(OrgId(u)))
            .map_err(|_| PageError::NotFound("The organisation")),
    }
}

/// A form POST: the session in the form's organisation, its CSRF token and
/// `ltv.write`.
async fn form_viewer(
    app: &AppState,
    headers: &HeaderMap,
    org: &str,
    csrf: &str,
) -> Result<(Viewer, Option<OrgId>), PageError> {
    let org = org_of(org)?;
    let viewer = Viewer::load(&app.identity, headers, org).await?;
    viewer.check_csrf(csrf)?;
    viewer.require(Permission::LtvWrite)?;
    Ok((viewer, org))
}

/// `/app/customers` with `params`, in `org`.
fn page_href(org: Option<Uuid>, params: &[(&str, String)]) -> String {
    let mut p: Vec<(&str, String)> = Vec::new();
    if let Some(o) = org {
        p.push(("org", o.to_string()));
    }
    p.extend(params.iter().cloned());
    let q = serde_urlencoded::to_string(&p).unwrap_or_default();
    if q.is_empty() {
        "/app/customers".to_owned()
    } else {
        format!("/app/customers?{q}")
    }
}

fn when(t: time::OffsetDateTime) -> String {
    let f = time::macros::format_description!(
        "[day padding:none] [month repr:short] [year], [hour]:[minute] UTC"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(&f)
        .unwrap_or_default()
}

fn day(t: time::OffsetDateTime) -> String {
    crate::pages::overview::day(t.to_offset(time::UtcOffset::UTC).date())
}

/// A number with one to four decimals, by its size.
fn num(x: f64) -> String {
    if !x.is_finite() {
        "—".into()
    } else if x.abs() >= 1000.0 {
        format!("{x:.1}")
    } else if x.abs() >= 1.0 {
        format!("{x:.3}")
    } else {
        format!("{x:.4}")
    }
}

/// A figure on the page: what it is, its value, where it comes from.
#[derive(Debug, Clone)]
pub struct Fact {
    pub label: String,
    pub value: String,
    pub source: String,
}

fn fact(label: &str, value: String, source: &str) -> Fact {
    Fact {
        label: label.to_owned(),
        value,
        source: source.to_owned(),
    }
}

/// A parameter with its standard error.
#[derive(Debug, Clone)]
pub struct ParamRow {
    pub name: String,
    pub value: String,
    pub std_error: String,
}

/// One calibration-frequency bucket of the holdout check.
#[derive(Debug, Clone)]
pub struct BucketRow {
    pub frequency: String,
    pub customers: String,
    pub predicted: String,
    pub actual: String,
}

#[derive(Debug, Clone)]
pub struct HoldoutView {
    pub facts: Vec<Fact>,
    pub buckets: Vec<BucketRow>,
}

/// The Gamma-Gamma spend model.
#[derive(Debug, Clone)]
pub struct SpendView {
    pub params: Vec<ParamRow>,
    pub facts: Vec<Fact>,
}

/// A model as the page shows it.
#[derive(Debug, Clone)]
pub struct ModelView {
    pub id: String,
    pub version: i64,
    pub kind: String,
    pub current: bool,
    pub summary: Vec<Fact>,
    pub params: Vec<ParamRow>,
    pub diagnostics: Vec<Fact>,
    pub spend: Option<SpendView>,
    pub holdout: Option<HoldoutView>,
    pub stale: Option<String>,
}

fn model_view(m: &LtvModelView, current: bool) -> ModelView {
    let f = &m.model;
    let unit = f.time_unit.as_str();
    let window = f
        .data_window
        .as_ref()
        .map(|w| format!("{} – {}", day(w.start), day(w.end)))
        .unwrap_or_else(|| "—".into());
    let mut summary = vec![
        fact(
            "Model",
            format!("{} (version {})", f.kind.name(), m.version),
            "The purchase model fitted; versions count up per organisation, the highest is the current one.",
        ),
        fact(
            "Fitted",
            format!("{} by {}", when(m.created_at), m.created_by),
            "When the fit finished and who asked for it.",
        ),
        fact(
            "Data window",
            window,
            "First and last stored transaction the fit read.",
        ),
        fact(
            "Calibration end",
            m.calibration_end
                .map(day)
                .unwrap_or_else(|| "— (no holdout: every transaction was used to fit)".into()),
            "Transactions after this were held out to check the forecast.",
        ),
        fact(
            "Customers",
            m.customer_count.to_string(),
            "Customers with a stored forecast under this model.",
        ),
        fact(
            "Time unit",
            unit.to_owned(),
            "The unit of frequency, recency and age (T) in the model.",
        ),
        fact(
            "Horizon",
            format!("{} days", m.horizon_days),
            "The span of the stored expected purchases and CLVs.",
        ),
        fact(
            "Discount rate",
            format!("{} a year", percent(m.discount_rate)),
            "Applied to future orders in the CLV.",
        ),
        fact(
            "Currency",
            m.currency.clone(),
            "The currency of the transactions fitted and of every amount below.",
        ),
    ];
    if m.skipped_transactions > 0 {
        summary.push(fact(
            "Left out",
            format!("{} transactions", m.skipped_transactions),
            "Stored rows the fit could not use (dated outside the plausible span, or an amount of the wrong sign).",
        ));
    }
    let params = f
        .params
        .iter()
        .map(|(k, v)| ParamRow {
            name: k.clone(),
            value: num(*v),
            std_error: f
                .std_errors
                .as_ref()
                .and_then(|s| s.get(k))
                .map(|e| num(*e))
                .unwrap_or_else(|| "—".into()),
        })
        .collect();
    let diagnostics = vec![
        fact(
            "Log-likelihood",
            format!("{:.2}", f.log_likelihood),
            "Of the fitted data at the estimate, without the penalty; higher is better.",
        ),
        fact(
            "AIC",
            format!("{:.2}", f.aic),
            "Akaike information criterion, 2k − 2 ln L: lower is better between models on the same data.",
        ),
        fact(
            "Converged",
            if f.converged {
                "yes".into()
            } else {
                "no".into()
            },
            "Whether the gradient vanished at the estimate (to 1e-6 per parameter).",
        ),
        fact(
            "Iterations",
            format!("{} ({} evaluations)", f.iterations, f.evaluations),
            "Steps of the optimiser and likelihood evaluations.",
        ),
        fact(
            "Optimiser",
            match serde_json::to_value(f.optimizer)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
            {
                Some(s) => s.replace('_', " "),
                None => "—".into(),
            },
            "L-BFGS, or Nelder-Mead then L-BFGS when L-BFGS alone did not converge.",
        ),
        fact(
            "Penalizer",
            num(f.penalizer),
            "The L2 penalty of the fit (0: none).",
        ),
        fact(
            "Customers fitted",
            format!("{:.0}", f.n_customers),
            "Customers (total weight) the purchase model was fitted on.",
        ),
        fact(
            "Distinct patterns",
            f.n_patterns.to_string(),
            "Different (frequency, recency, T) triples after collapsing equal customers.",
        ),
        fact(
            "Engine",
            f.engine_version.clone(),
            "Version of the LTV engine that made the fit.",
        ),
    ];
    let spend = m.gamma_gamma.as_ref().map(|g| {
        let se = |pick: fn(&kiki_ltv::GammaGammaParams) -> f64| {
            g.std_errors.as_ref().map(|s| num(pick(s))).unwrap_or_else(|| "—".into())
        };
        let params = vec![
            ParamRow { name: "p".into(), value: num(g.params.p), std_error: se(|s| s.p) },
            ParamRow { name: "q".into(), value: num(g.params.q), std_error: se(|s| s.q) },
            ParamRow {
                name: format!("γ ({})", m.currency),
                value: num(g.params.gamma),
                std_error: se(|s| s.gamma),
            },
        ];
        let facts = vec![
            fact("Log-likelihood", format!("{:.2}", g.log_likelihood), "Of the repeat customers' mean order values at the estimate."),
            fact("Converged", if g.converged { "yes".into() } else { "no".into() }, "Whether the spend model's optimiser converged."),
            fact("Customers fitted", format!("{:.0}", g.n_customers), "Customers with repeat purchases (the spend model needs them)."),
            fact(
                "Frequency–spend correlation",
                g.frequency_spend_correlation.map(num).unwrap_or_else(|| "—".into()),
                "Pearson correlation of purchase frequency and mean order value; the Gamma-Gamma model assumes it is near 0.",
            ),
        ];
        SpendView { params, facts }
    });
    let holdout = m.holdout.as_ref().map(|h| HoldoutView {
        facts: vec![
            fact("Customers checked", h.n_customers.to_string(), "Customers seen in the calibration period, whose holdout purchases were predicted."),
            fact("Predicted purchases", format!("{:.1}", h.total_predicted), "Sum over those customers of the purchases the model expected in the holdout period."),
            fact("Actual purchases", format!("{:.1}", h.total_actual), "Repeat purchases those customers made in the holdout period."),
            fact(
                "Aggregate error",
                h.aggregate_error.map(|e| format!("{}{}", if e > 0.0 { "+" } else { "" }, percent(e))).unwrap_or_else(|| "— (nobody bought in the holdout)".into()),
                "(predicted − actual) / actual over all customers: above 0 the model expected more than happened.",
            ),
            fact("MAE", format!("{:.3} purchases", h.mae), "Mean absolute error of each customer's predicted purchase count."),
            fact("RMSE", format!("{:.3} purchases", h.rmse), "Root mean squared error of each customer's predicted purchase count."),
        ],
        buckets: h
            .by_frequency
            .iter()
            .enumerate()
            .map(|(i, b)| BucketRow {
                frequency: if i + 1 == h.by_frequency.len() && b.frequency >= 7 {
                    format!("{} or more", b.frequency)
                } else {
                    b.frequency.to_string()
                },
                customers: b.customers.to_string(),
                predicted: format!("{:.2}", b.mean_predicted),
                actual: format!("{:.2}", b.mean_actual),
            })
            .collect(),
    });
    ModelView {
        id: m.id.to_string(),
        version: m.version,
        kind: f.kind.name().to_owned(),
        current,
        summary,
        params,
        diagnostics,
        spend,
        holdout,
        stale: m.stale_at.map(|t| {
            format!(
                "Transactions this model rests on were deleted on {}: fit again to match the data now stored.",
                when(t)
            )
        }),
    }
}

/// One customer in the table.
#[derive(Debug, Clone)]
pub struct CustomerRow {
    pub id: String,
    pub href: String,
    pub segment: String,
    pub platform: String,
    pub frequency: String,
    pub monetary: String,
    pub expected: String,
    pub p_alive: String,
    pub churn: String,
    pub clv: String,
}

fn customer_row(r: &PredictionRow, org: Option<Uuid>) -> CustomerRow {
    let mut href = format!("/app/customers/c/{}", urlencode(&r.customer_id));
    if let Some(o) = org {
        let _ = write!(href, "?org={o}");
    }
    CustomerRow {
        id: r.customer_id.clone(),
        href,
        segment: r.segment.clone().unwrap_or_else(|| "—".into()),
        platform: r.platform.clone().unwrap_or_else(|| "—".into()),
        frequency: format!("{:.0}", r.frequency),
        monetary: r.monetary.text().to_string(),
        expected: format!("{:.2}", r.expected_purchases),
        p_alive: percent(r.p_alive),
        churn: percent(r.churn_risk),
        clv: r
            .clv
            .map(|m| m.text().to_string())
            .unwrap_or_else(|| "—".into()),
    }
}

/// A path segment, percent-encoded.
fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// One segment's or platform's CLV figures.
#[derive(Debug, Clone)]
pub struct GroupRow {
    pub key: String,
    pub count: String,
    pub valued: String,
    pub mean_clv: String,
    pub median_clv: String,
    pub total_clv: String,
    pub mean_p_alive: String,
}

/// A table of groups with its bar chart.
#[derive(Debug, Clone)]
pub struct GroupTable {
    /// `Segment` or `Acquisition platform`.
    pub title: String,
    pub rows: Vec<GroupRow>,
    pub svg: String,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Horizontal bars of each group's total CLV, drawn on the server; its
/// `<title>` and `<desc>` say what it shows in words.
pub fn bars_svg(id: &str, title: &str, groups: &[GroupValueView]) -> String {
    const W: f64 = 640.0;
    const LABEL: f64 = 170.0;
    const VALUE: f64 = 110.0;
    const ROW: f64 = 26.0;
    let max = groups
        .iter()
        .map(|g| g.total_clv.micros)
        .max()
        .unwrap_or(0)
        .max(1);
    let h = ROW * groups.len().max(1) as f64 + 8.0;
    let desc = groups
        .iter()
        .map(|g| format!("{}: {}", key_text(&g.key), g.total_clv.text()))
        .collect::<Vec<_>>()
        .join("; ");
    let mut out = format!(
        "<svg class=\"chart-svg bars\" viewBox=\"0 0 {W} {h}\" role=\"img\" aria-labelledby=\"t-{id} d-{id}\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title id=\"t-{id}\">{}</title><desc id=\"d-{id}\">{}</desc>",
        esc(title),
        esc(&format!("Total CLV per group. {desc}."))
    );
    for (i, g) in groups.iter().enumerate() {
        let y = 4.0 + ROW * i as f64;
        let share = (g.total_clv.micros.max(0) as f64) / (max as f64);
        let width = ((W - LABEL - VALUE) * share).max(1.0);
        let label: String = key_text(&g.key).chars().take(24).collect();
        let _ = write!(
            out,
            "<text class=\"tick\" x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{label}</text>\
             <rect class=\"bar\" x=\"{LABEL}\" y=\"{y}\" width=\"{width:.1}\" height=\"{bh}\"/>\
             <text class=\"tick\" x=\"{vx:.1}\" y=\"{ty}\">{value}</text>",
            lx = LABEL - 8.0,
            ty = y + 15.0,
            label = esc(&label),
            bh = ROW - 8.0,
            vx = LABEL + width + 6.0,
            value = esc(&g.total_clv.text().to_string()),
        );
    }
    out.push_str("</svg>");
    out
}

fn key_text(k: &Option<String>) -> String {
    k.clone().unwrap_or_else(|| "(none)".into())
}

fn group_table(id: &str, title: &str, a: &AggregatesView) -> GroupTable {
    GroupTable {
        title: title.to_owned(),
        rows: a
            .groups
            .iter()
            .map(|g| GroupRow {
                key: key_text(&g.key),
                count: g.count.to_string(),
                valued: g.valued.to_string(),
                mean_clv: g.mean_clv.text().to_string(),
                median_clv: g.p50_clv.text().to_string(),
                total_clv: g.total_clv.text().to_string(),
                mean_p_alive: percent(g.mean_p_alive),
            })
            .collect(),
        svg: bars_svg(
            id,
            &format!("Total CLV per {}", title.to_lowercase()),
            &a.groups,
        ),
    }
}

/// A fit job's state.
#[derive(Debug, Clone)]
pub struct JobView {
    pub id: String,
    pub status: String,
    pub progress: String,
    pub message: Option<String>,
    pub error: Option<String>,
    pub finished: bool,
    pub href: String,
}

/// A model version in the list.
#[derive(Debug, Clone)]
pub struct VersionRow {
    pub version: i64,
    pub kind: String,
    pub fitted: String,
    pub customers: i64,
    pub holdout: String,
    pub href: String,
    pub shown: bool,
}

/// What the upload just did (from the redirect's query).
#[derive(Debug, Clone)]
pub struct UploadDone {
    pub received: u64,
    pub inserted: u64,
    pub duplicates: u64,
}

/// A choice of a `<select>`.
#[derive(Debug, Clone)]
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "customers.html")]
pub struct CustomersPage {
    pub layout: Layout,
    pub org: Option<String>,
    pub csrf: String,
    pub can_write: bool,
    pub limit_text: String,
    pub default_currency: String,
    pub uploaded: Option<UploadDone>,
    pub job: Option<JobView>,
    pub no_transactions: bool,
    pub model: Option<ModelView>,
    pub versions: Vec<VersionRow>,
    pub fit_models: Vec<Opt>,
    pub fit_holdout: String,
    pub fit_error: Option<String>,
    pub sort_links: Vec<Link>,
    pub sort_text: String,
    pub customers: Vec<CustomerRow>,
    pub next_href: Option<String>,
    pub first_href: Option<String>,
    pub has_clv: bool,
    /// Per segment, then per acquisition platform.
    pub groups: Vec<GroupTable>,
    pub agg_note: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CustomersQuery {
    sort: Option<String>,
    cursor: Option<String>,
    model: Option<String>,
    job: Option<String>,
    done: Option<String>,
    received: Option<u64>,
    inserted: Option<u64>,
    duplicates: Option<u64>,
}

/// What the fit form asked for (kept when it is shown again).
#[derive(Debug, Clone, Default)]
struct FitInput {
    model: String,
    holdout_days: String,
    error: Option<String>,
}

/// `GET /app/customers`.
pub async fn page(
    State(app): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let svc = service(&app)?;
    let (viewer, range, tz) = open(&app, &headers, raw.as_deref()).await?;
    let q: CustomersQuery = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| PageError::BadRequest(format!("The address is not valid: {e}.")))?;
    let p = build(&app, &svc, &viewer, &range, &tz, &q, FitInput::default()).await?;
    Ok(html(StatusCode::OK, p.render()))
}

async fn build(
    app: &AppState,
    svc: &LtvService,
    viewer: &Viewer,
    range: &Range,
    tz: &str,
    q: &CustomersQuery,
    fit: FitInput,
) -> Result<CustomersPage, PageError> {
    let scope = &viewer.principal.scope;
    let org = range.org;
    let sort = match q.sort.as_deref().unwrap_or("clv") {
        "clv" => SortBy::Clv,
        "churn_risk" => SortBy::ChurnRisk,
        other => {
            return Err(PageError::BadRequest(format!(
                "`sort`: `{other}` is not an order; use `clv` or `churn_risk`."
            )));
        }
    };
    let sort_key = if sort == SortBy::Clv {
        "clv"
    } else {
        "churn_risk"
    };
    let current = svc.current_model(scope).await.map_err(ltv)?;
    let shown = match q.model.as_deref().filter(|m| !m.is_empty()) {
        None => current.clone(),
        Some(id) => {
            let id = Uuid::parse_str(id).map_err(|_| PageError::NotFound("The model"))?;
            Some(svc.model(scope, id).await.map_err(ltv)?)
        }
    };
    let versions = svc
        .models(
            scope,
            &PageRequest {
                limit: Some(VERSIONS),
                cursor: None,
            },
        )
        .await
        .map_err(ltv)?;
    let default_currency = svc.default_currency().map_err(ltv)?;
    let no_transactions = current.is_none()
        && svc
            .customer_count(scope, default_currency)
            .await
            .map_err(ltv)?
            == 0;
    let page = svc
        .customers(
            scope,
            sort,
            &PageRequest {
                limit: Some(PAGE_ROWS),
                cursor: q.cursor.clone().filter(|c| !c.is_empty()),
            },
        )
        .await
        .map_err(ltv)?;
    let (groups, agg_note) = if current.is_some() {
        let (s, p) = futures::try_join!(
            svc.aggregates(scope, GroupBy::Segment),
            svc.aggregates(scope, GroupBy::Platform)
        )
        .map_err(ltv)?;
        let view = |a: Option<kiki_ltv_service::Aggregates>| {
            a.map(AggregatesView::try_from).transpose().map_err(ltv)
        };
        let (s, p) = (view(s)?, view(p)?);
        let note = s
            .as_ref()
            .map(|a| {
                format!(
                    "From the stored forecasts of model version {}: CLV is the discounted value of the purchases expected over {} days, in {}.",
                    a.model_version, a.horizon_days, a.currency
                )
            })
            .unwrap_or_default();
        (
            [
                s.map(|a| group_table("seg", "Segment", &a)),
                p.map(|a| group_table("plat", "Acquisition platform", &a)),
            ]
            .into_iter()
            .flatten()
            .collect(),
            note,
        )
    } else {
        (Vec::new(), String::new())
    };
    let job = match q.job.as_deref().filter(|j| !j.is_empty()) {
        None => None,
        Some(j) => {
            let id = Uuid::parse_str(j).map_err(|_| PageError::NotFound("The fit job"))?;
            let rec = app
                .jobs
                .get_scoped(scope, JobId(id))
                .await
                .map_err(|e| PageError::Internal(e.to_string()))?
                .filter(|r| r.kind == kiki_ltv_service::FIT_JOB_KIND)
                .ok_or(PageError::NotFound("The fit job"))?;
            Some(JobView {
                id: rec.id.0.to_string(),
                status: rec.status.as_str().to_owned(),
                progress: percent(rec.progress),
                message: rec.progress_message.clone(),
                error: rec.last_error.clone(),
                finished: rec.status.is_finished(),
                href: page_href(org, &[("job", rec.id.0.to_string())]),
            })
        }
    };
    let uploaded = match (q.done.as_deref(), q.received, q.inserted, q.duplicates) {
        (Some("uploaded"), Some(r), Some(i), Some(d)) => Some(UploadDone {
            received: r,
            inserted: i,
            duplicates: d,
        }),
        _ => None,
    };
    let mut layout = Layout::public("Customers and LTV");
    layout.chrome = Some(chrome(viewer, "customers", range, tz));
    layout.flash = match (&fit.error, q.done.as_deref()) {
        (Some(e), _) => Some(Flash {
            kind: "error",
            text: format!("No model was fitted: {e}"),
        }),
        (None, Some("fitted")) => Some(Flash {
            kind: "info",
            text: "A new model is fitted; its figures are below.".into(),
        }),
        _ => None,
    };
    let current_id = current.as_ref().map(|m| m.id);
    let shown_id = shown.as_ref().map(|m| m.id);
    let sort_links = [
        ("clv", "CLV, highest first"),
        (
            "churn_risk",
            "Churn risk, highest first (lowest P(alive) first)",
        ),
    ]
    .iter()
    .map(|(k, label)| Link {
        href: page_href(org, &[("sort", (*k).to_owned())]),
        label: (*label).to_owned(),
        current: *k == sort_key,
    })
    .collect();
    let has_clv = page.items.iter().any(|r| r.clv.is_some());
    let fit_models = [
        ("bgnbd", "BG/NBD"),
        ("pareto", "Pareto/NBD"),
        ("mbgnbd", "MBG/NBD"),
        ("bgbb", "BG/BB (discrete opportunities)"),
    ]
    .iter()
    .map(|(v, l)| Opt {
        value: (*v).to_owned(),
        label: (*l).to_owned(),
        selected: if fit.model.is_empty() {
            *v == "bgnbd"
        } else {
            fit.model == *v
        },
    })
    .collect();
    Ok(CustomersPage {
        layout,
        org: org.map(|o| o.to_string()),
        csrf: viewer.csrf.clone(),
        can_write: viewer.can(Permission::LtvWrite),
        limit_text: "1 MiB".into(),
        default_currency: default_currency.to_string(),
        uploaded,
        job,
        no_transactions,
        model: shown
            .as_ref()
            .map(|m| model_view(m, Some(m.id) == current_id)),
        versions: versions
            .items
            .iter()
            .map(|m| VersionRow {
                version: m.version,
                kind: m.model.kind.name().to_owned(),
                fitted: when(m.created_at),
                customers: m.customer_count,
                holdout: m
                    .holdout
                    .as_ref()
                    .and_then(|h| h.aggregate_error)
                    .map(|e| format!("{}{}", if e > 0.0 { "+" } else { "" }, percent(e)))
                    .unwrap_or_else(|| "—".into()),
                href: if Some(m.id) == current_id {
                    page_href(org, &[])
                } else {
                    page_href(org, &[("model", m.id.to_string())])
                },
                shown: Some(m.id) == shown_id,
            })
            .collect(),
        fit_models,
        fit_holdout: fit.holdout_days,
        fit_error: fit.error,
        sort_links,
        sort_text: if sort == SortBy::Clv {
            "by CLV, highest first".into()
        } else {
            "by churn risk, highest first".into()
        },
        customers: page.items.iter().map(|r| customer_row(r, org)).collect(),
        next_href: page
            .next_cursor
            .map(|c| page_href(org, &[("sort", sort_key.to_owned()), ("cursor", c)])),
        first_href: q
            .cursor
            .as_deref()
            .filter(|c| !c.is_empty())
            .map(|_| page_href(org, &[("sort", sort_key.to_owned())])),
        has_clv,
        groups,
        agg_note,
    })
}

/// One column of the preview with the targets it may be mapped to.
#[derive(Debug, Clone)]
pub struct MapField {
    pub key: &'static str,
    pub label: &'static str,
    pub required: bool,
    pub options: Vec<Opt>,
}

#[derive(Template)]
#[template(path = "customers_preview.html")]
pub struct PreviewPage {
    pub layout: Layout,
    pub org: Option<String>,
    pub csrf: String,
    pub file_name: String,
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub total: usize,
    pub fields: Vec<MapField>,
    pub currency: String,
    /// The file, base64, for the confirmation.
    pub data: String,
    pub problems: Vec<RowProblem>,
    /// Problems in all (more may exist than are listed).
    pub problem_total: usize,
    pub back_href: String,
}

#[derive(Template)]
#[template(path = "customers_upload.html")]
pub struct UploadErrorPage {
    pub layout: Layout,
    pub org: Option<String>,
    pub csrf: String,
    pub limit_text: String,
    pub message: String,
    pub back_href: String,
}

fn upload_error(
    viewer: &Viewer,
    range: &Range,
    tz: &str,
    status: StatusCode,
    message: String,
) -> Response {
    let mut layout = Layout::public("Upload transactions");
    layout.chrome = Some(chrome(viewer, "customers", range, tz));
    layout.flash = Some(Flash {
        kind: "error",
        text: "Nothing was stored: see the message below.".into(),
    });
    let p = UploadErrorPage {
        layout,
        org: range.org.map(|o| o.to_string()),
        csrf: viewer.csrf.clone(),
        limit_text: "1 MiB".into(),
        message,
        back_href: page_href(range.org, &[]),
    };
    html(status, p.render())
}

/// The range of a form POST's page (the default range in `org`).
async fn form_range(
    app: &AppState,
    headers: &HeaderMap,
    org: Option<OrgId>,
) -> Result<(Viewer, Range, String), PageError> {
    let raw = org.map(|o| format!("org={}", o.0)).unwrap_or_default();
    open(app, headers, Some(raw.as_str())).await
}

#[allow(clippy::too_many_arguments)]
fn preview_page(
    viewer: &Viewer,
    range: &Range,
    tz: &str,
    file_name: String,
    sheet: &Sheet,
    mapping: &Mapping,
    currency: String,
    bytes: &[u8],
    problems: Vec<RowProblem>,
    problem_total: usize,
) -> PreviewPage {
    let mut layout = Layout::public("Check the upload");
    layout.chrome = Some(chrome(viewer, "customers", range, tz));
    if !problems.is_empty() {
        layout.flash = Some(Flash {
            kind: "error",
            text: "Nothing was stored: fix the rows or the mapping listed below.".into(),
        });
    }
    let fields = TARGETS
        .iter()
        .zip(mapping)
        .map(|((key, label, required, _), chosen)| {
            let mut options = vec![Opt {
                value: String::new(),
                label: if *required {
                    "— choose a column —".into()
                } else {
                    "— none —".into()
                },
                selected: chosen.is_none(),
            }];
            options.extend(sheet.header.iter().enumerate().map(|(i, h)| Opt {
                value: i.to_string(),
                label: if h.is_empty() {
                    format!("column {}", i + 1)
                } else {
                    h.clone()
                },
                selected: *chosen == Some(i),
            }));
            MapField {
                key,
                label,
                required: *required,
                options,
            }
        })
        .collect();
    PreviewPage {
        layout,
        org: range.org.map(|o| o.to_string()),
        csrf: viewer.csrf.clone(),
        file_name,
        header: sheet.header.clone(),
        rows: sheet.rows.clone(),
        total: sheet.total,
        fields,
        currency,
        data: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
        problems,
        problem_total,
        back_href: page_href(range.org, &[]),
    }
}

fn too_large(rej: &BytesRejection) -> bool {
    rej.status() == StatusCode::PAYLOAD_TOO_LARGE
}

/// `POST /app/customers/preview`: the file's first rows and the mapping form.
pub async fn preview(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    service(&app)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = match body {
        Ok(b) => Some(b),
        Err(rej) if too_large(&rej) => None,
        Err(rej) => {
            return Err(PageError::BadRequest(format!(
                "The form could not be read: {}",
                rej.body_text()
            )));
        }
    };
    // The fields are read before the session so the CSRF token and the
    // organisation come from the form; an oversized body has neither, so
    // it is answered in the session's own organisation after its checks.
    let parts = match &body {
        Some(b) => multipart(&content_type, b).map_err(PageError::BadRequest)?,
        None => Vec::new(),
    };
    let field = |name: &str| {
        parts
            .iter()
            .find(|p| p.name == name)
            .map(|p| String::from_utf8_lossy(p.data).into_owned())
            .unwrap_or_default()
    };
    let org = org_of(&field("org"))?;
    let viewer = Viewer::load(&app.identity, &headers, org).await?;
    let (viewer, range, tz) = {
        if body.is_some() {
            viewer.check_csrf(&field("csrf"))?;
        }
        viewer.require(Permission::LtvWrite)?;
        form_range(&app, &headers, org).await?
    };
    if body.is_none() {
        return Ok(upload_error(
            &viewer,
            &range,
            &tz,
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "The file is larger than 1 MiB, the limit of this page ({MAX_FILE_BYTES} bytes). Split it into smaller files, or send it through the API (POST /v1/ltv/transactions)."
            ),
        ));
    }
    let file = parts.iter().find(|p| p.name == "file");
    let Some(file) = file.filter(|f| !f.data.is_empty()) else {
        return Ok(upload_error(
            &viewer,
            &range,
            &tz,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Choose a CSV file first.".into(),
        ));
    };
    if file.data.len() > MAX_FILE_BYTES {
        return Ok(upload_error(
            &viewer,
            &range,
            &tz,
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "The file is larger than 1 MiB, the limit of this page ({MAX_FILE_BYTES} bytes). Split it into smaller files, or send it through the API (POST /v1/ltv/transactions)."
            ),
        ));
    }
    let sheet = match read_sheet(file.data, PREVIEW_ROWS) {
        Ok(s) => s,
        Err(m) => {
            return Ok(upload_error(
                &viewer,
                &range,
                &tz,
                StatusCode::UNPROCESSABLE_ENTITY,
                m,
            ));
        }
    };
    let mapping = guess_mapping(&sheet.header);
    let svc = service(&app)?;
    let currency = svc.default_currency().map_err(ltv)?.to_string();
    let name: String = file
        .filename
        .clone()
        .unwrap_or_else(|| "the file".into())
        .chars()
        .take(200)
        .collect();
    let p = preview_page(
        &viewer,
        &range,
        &tz,
        name,
        &sheet,
        &mapping,
        currency,
        file.data,
        Vec::new(),
        0,
    );
    Ok(html(StatusCode::OK, p.render()))
}

/// The confirmation form: the file (base64), its name, the mapping and the
/// currency.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ConfirmForm {
    csrf: String,
    org: String,
    data: String,
    file_name: String,
    currency: String,
    col_customer_id: String,
    col_timestamp: String,
    col_amount: String,
    col_currency: String,
    col_order_id: String,
    col_segment: String,
    col_platform: String,
    col_kind: String,
}

impl ConfirmForm {
    fn mapping(&self) -> Result<Mapping, PageError> {
        [
            &self.col_customer_id,
            &self.col_timestamp,
            &self.col_amount,
            &self.col_currency,
            &self.col_order_id,
            &self.col_segment,
            &self.col_platform,
            &self.col_kind,
        ]
        .iter()
        .map(|v| match v.trim() {
            "" => Ok(None),
            s => s.parse::<usize>().map(Some).map_err(|_| {
                PageError::BadRequest("A column choice is not one of the file's columns.".into())
            }),
        })
        .collect()
    }
}

/// `POST /app/customers/upload`: the mapped rows to the LTV service.
pub async fn upload(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, PageError> {
    let svc = service(&app)?;
    let body = match body {
        Ok(b) => b,
        Err(rej) if too_large(&rej) => {
            let viewer = Viewer::load(&app.identity, &headers, None).await?;
            viewer.require(Permission::LtvWrite)?;
            let (viewer, range, tz) = form_range(&app, &headers, None).await?;
            return Ok(upload_error(
                &viewer,
                &range,
                &tz,
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "The file is larger than 1 MiB, the limit of this page ({MAX_FILE_BYTES} bytes)."
                ),
            ));
        }
        Err(rej) => {
            return Err(PageError::BadRequest(format!(
                "The form could not be read: {}",
                rej.body_text()
            )));
        }
    };
    let f: ConfirmForm = read_form(&body);
    let (_, org) = form_viewer(&app, &headers, &f.org, &f.csrf).await?;
    let (viewer, range, tz) = form_range(&app, &headers, org).await?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(f.data.trim())
        .map_err(|_| {
            PageError::BadRequest(
                "The file did not come back from the preview intact; upload it again.".into(),
            )
        })?;
    if bytes.len() > MAX_FILE_BYTES {
        return Ok(upload_error(
            &viewer,
            &range,
            &tz,
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "The file is larger than 1 MiB, the limit of this page ({MAX_FILE_BYTES} bytes)."
            ),
        ));
    }
    let sheet = match read_sheet(&bytes, PREVIEW_ROWS) {
        Ok(s) => s,
        Err(m) => {
            return Ok(upload_error(
                &viewer,
                &range,
                &tz,
                StatusCode::UNPROCESSABLE_ENTITY,
                m,
            ));
        }
    };
    let mapping = f.mapping()?;
    if mapping.len() != TARGETS.len() {
        return Err(PageError::BadRequest(
            "The mapping form is incomplete.".into(),
        ));
    }
    let currency_text = f.currency.trim().to_ascii_uppercase();
    let file_name: String = f.file_name.chars().take(200).collect();
    let again = |problems: Vec<RowProblem>, total: usize| {
        let p = preview_page(
            &viewer,
            &range,
            &tz,
            file_name.clone(),
            &sheet,
            &mapping,
            currency_text.clone(),
            &bytes,
            problems,
            total,
        );
        html(StatusCode::UNPROCESSABLE_ENTITY, p.render())
    };
    let currency = match Currency::parse_exact(&currency_text) {
        Ok(c) => c,
        Err(_) => {
            return Ok(again(
                vec![RowProblem {
                    row: 0,
                    line: 0,
                    column: "Currency".into(),
                    message: "The currency must be a three-letter ISO code such as USD.".into(),
                }],
                1,
            ));
        }
    };
    let mapped = match map_rows(&bytes, &mapping, currency) {
        Ok(m) => m,
        Err(problems) => {
            let n = problems.len();
            return Ok(again(problems, n));
        }
    };
    let scope = &viewer.principal.scope;
    let stored = match rows_from_json(&mapped.rows, mapped.currency, &svc.date_window()) {
        Ok(rows) => {
            svc.ingest_transactions(
                scope,
                &rows,
                Some(NewUpload {
                    format: "csv",
                    created_by: created_by(&viewer.principal.actor()),
                }),
            )
            .await
        }
        Err(e) => Err(e),
    };
    match stored {
        Ok(report) => Ok(redirect(&page_href(
            org.map(|o| o.0),
            &[
                ("done", "uploaded".to_owned()),
                ("received", report.received.to_string()),
                ("inserted", report.inserted.to_string()),
                ("duplicates", report.duplicates.to_string()),
            ],
        ))),
        Err(e) => match row_problems(&e, &mapped.lines, &sheet.header, &mapping) {
            Some((problems, total)) => Ok(again(problems, total)),
            None => Err(ltv(e)),
        },
    }
}

/// The fit form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FitForm {
    csrf: String,
    org: String,
    model: String,
    holdout_days: String,
}

/// `POST /app/customers/fit`: fits now when the organisation is small
/// enough (`ltv.sync_max_customers`), else queues the fit job.
pub async fn fit(
    State(app): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    let svc = service(&app)?;
    let f: FitForm = read_form(&body);
    let (viewer, org) = form_viewer(&app, &headers, &f.org, &f.csrf).await?;
    let model = match f.model.trim() {
        "" | "bgnbd" => ModelChoice::Bgnbd,
        "pareto" => ModelChoice::Pareto,
        "mbgnbd" => ModelChoice::Mbgnbd,
        "bgbb" => ModelChoice::Bgbb,
        _ => {
            return Err(PageError::BadRequest(
                "`model` must be bgnbd, pareto, mbgnbd or bgbb.".into(),
            ));
        }
    };
    let input = FitInput {
        model: f.model.trim().chars().take(16).collect(),
        holdout_days: f.holdout_days.trim().chars().take(8).collect(),
        error: None,
    };
    let outcome = async {
        let holdout_days = match input.holdout_days.as_str() {
            "" => None,
            s => Some(s.parse::<u32>().ok().filter(|d| (1..=3650).contains(d)).ok_or_else(|| {
                LtvServiceError::invalid("holdout_days", "Days to hold out must be a whole number from 1 to 3650, or empty for none.")
            })?),
        };
        let spec = FitRequest {
            model: Some(model),
            holdout_days,
            ..FitRequest::default()
        }
        .validate(svc.config())?;
        let scope = &viewer.principal.scope;
        let actor = viewer.principal.actor();
        let payload = FitPayload {
            created_by: created_by(&actor),
            spec,
            actor,
            request_id: meta.request_id.clone(),
        };
        if svc.customer_count(scope, payload.spec.currency).await? <= svc.config().sync_max_customers {
            svc.run_fit(scope, &payload, None, &NoProgress).await?;
            Ok::<Option<JobId>, LtvServiceError>(None)
        } else {
            Ok(Some(svc.enqueue_fit(scope, &payload).await?))
        }
    }
    .await;
    let o = org.map(|o| o.0);
    match outcome {
        Ok(None) => Ok(redirect(&page_href(o, &[("done", "fitted".to_owned())]))),
        Ok(Some(job)) => Ok(redirect(&page_href(o, &[("job", job.0.to_string())]))),
        Err(e) if !matches!(e.code(), ErrorCode::Internal | ErrorCode::Unavailable) => {
            let (viewer, range, tz) = form_range(&app, &headers, org).await?;
            let p = build(
                &app,
                &svc,
                &viewer,
                &range,
                &tz,
                &CustomersQuery::default(),
                FitInput {
                    error: Some(e.public_message()),
                    ..input
                },
            )
            .await?;
            Ok(html(StatusCode::UNPROCESSABLE_ENTITY, p.render()))
        }
        Err(e) => Err(ltv(e)),
    }
}

#[derive(Template)]
#[template(path = "customers_customer.html")]
pub struct CustomerPage {
    pub layout: Layout,
    pub id: String,
    pub facts: Vec<Fact>,
    pub forecast: Vec<Fact>,
    pub back_href: String,
}

/// `GET /app/customers/c/{id}`: one customer's purchases and forecast.
pub async fn customer(
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, PageError> {
    let svc = service(&app)?;
    let (viewer, range, tz) = open(&app, &headers, raw.as_deref()).await?;
    let c: CustomerView =
        svc.customer(&viewer.principal.scope, &id)
            .await
            .map_err(|e| match e {
                LtvServiceError::NotFound(_) => PageError::NotFound("The customer"),
                e => ltv(e),
            })?;
    let facts = vec![
        fact(
            "Orders",
            c.transactions.to_string(),
            "Stored orders of this customer (refunds not counted).",
        ),
        fact("Refunds", c.refunds.to_string(), "Stored refunds."),
        fact(
            "Spent",
            c.total_spent.text().to_string(),
            "Orders less refunds.",
        ),
        fact(
            "First purchase",
            c.first_purchase.map(day).unwrap_or_else(|| "—".into()),
            "The earliest stored order.",
        ),
        fact(
            "Last purchase",
            c.last_purchase.map(day).unwrap_or_else(|| "—".into()),
            "The latest stored order.",
        ),
    ];
    let forecast = c
        .prediction
        .as_ref()
        .map(|p| {
            vec![
                fact(
                    "Repeat purchases",
                    format!("{:.0}", p.frequency),
                    "Repeat purchase days in the fitted window (frequency).",
                ),
                fact(
                    "Mean repeat order",
                    p.monetary.text().to_string(),
                    "Mean value of the repeat purchase days.",
                ),
                fact(
                    "Expected purchases",
                    format!("{:.2}", p.expected_purchases),
                    "Purchases the current model expects over its horizon.",
                ),
                fact(
                    "P(alive)",
                    percent(p.p_alive),
                    "The model's probability that the customer still buys.",
                ),
                fact("Churn risk", percent(p.churn_risk), "1 − P(alive)."),
                fact(
                    "Expected order value",
                    p.expected_aov
                        .map(|m| m.text().to_string())
                        .unwrap_or_else(|| "—".into()),
                    "The spend model's expected value of the next order.",
                ),
                fact(
                    "CLV",
                    p.clv
                        .map(|m| m.text().to_string())
                        .unwrap_or_else(|| "—".into()),
                    "Discounted value of the expected purchases over the horizon.",
                ),
            ]
        })
        .unwrap_or_default();
    let mut layout = Layout::public("Customer");
    layout.chrome = Some(chrome(&viewer, "customers", &range, &tz));
    let p = CustomerPage {
        layout,
        id: c.customer_id,
        facts,
        forecast,
        back_href: page_href(range.org, &[]),
    };
    Ok(html(StatusCode::OK, p.render()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn columns_are_guessed_from_common_header_names() {
        let m = guess_mapping(&strings(&[
            "Order ID",
            "Email",
            "Order Date",
            "Total",
            "Currency",
            "Channel",
        ]));
        // customer, time, amount, currency, order, segment, platform, kind
        assert_eq!(
            m,
            vec![
                Some(1),
                Some(2),
                Some(3),
                Some(4),
                Some(0),
                None,
                Some(5),
                None
            ]
        );
    }

    #[test]
    fn a_file_is_read_with_its_first_rows_and_count() {
        let s = read_sheet(
            b"customer_id,date,amount\nc1,2025-01-01,10\nc2,2025-01-02,20\n",
            1,
        )
        .unwrap();
        assert_eq!(s.header, strings(&["customer_id", "date", "amount"]));
        assert_eq!(s.rows.len(), 1);
        assert_eq!(s.total, 2);
        let e = read_sheet(b"a,b\n1,2,3\n", 5).unwrap_err();
        assert!(
            e.contains("Line 2 of the file has 3 fields where the header has 2"),
            "{e}"
        );
        assert!(read_sheet(b"a,b\n", 5).unwrap_err().contains("no rows"));
        assert!(
            read_sheet(&[0xff, 0xfe, 0x00], 5)
                .unwrap_err()
                .contains("not UTF-8")
        );
    }

    #[test]
    fn one_currency_per_upload() {
        let csv = b"id,at,amount,cur\nc1,2025-01-01,1,USD\nc2,2025-01-02,2,EUR\n";
        let mapping = vec![Some(0), Some(1), Some(2), Some(3), None, None, None, None];
        let e = map_rows(csv, &mapping, Currency::USD).err().unwrap();
        assert_eq!(e[0].row, 2);
        assert_eq!(e[0].line, 3);
        assert!(e[0].message.contains("one upload holds one currency"));
        let ok = map_rows(
            b"id,at,amount,cur\nc1,2025-01-01,1,eur\n",
            &mapping,
            Currency::USD,
        )
        .unwrap();
        assert_eq!(ok.currency.as_str(), "EUR");
        assert_eq!(ok.lines, vec![2]);
    }

    #[test]
    fn a_required_column_must_be_chosen() {
        let mapping = vec![Some(0), None, Some(2), None, None, None, None, None];
        let e = map_rows(b"id,at,amount\nc1,2025-01-01,1\n", &mapping, Currency::USD)
            .err()
            .unwrap();
        assert_eq!(e.len(), 1);
        assert!(e[0].message.contains("time of the order"), "{:?}", e);
    }

    #[test]
    fn multipart_fields_are_read() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\ntok\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"o.csv\"\r\nContent-Type: text/csv\r\n\r\na,b\r\n1,2\r\n\r\n--XyZ--\r\n";
        let parts = multipart("multipart/form-data; boundary=XyZ", body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "csrf");
        assert_eq!(parts[0].data, b"tok");
        assert_eq!(parts[1].name, "file");
        assert_eq!(parts[1].filename.as_deref(), Some("o.csv"));
        assert_eq!(parts[1].data, b"a,b\r\n1,2\r\n");
        assert!(multipart("application/x-www-form-urlencoded", body).is_err());
        assert!(multipart("multipart/form-data; boundary=XyZ", b"--XyZ\r\nbroken").is_err());
    }

    #[test]
    fn bars_are_scaled_to_the_largest_total_and_escaped() {
        let money = |u: i64| kiki_core::Money::from_micros(u * 1_000_000, Currency::USD);
        let g = |k: Option<&str>, t: i64| GroupValueView {
            key: k.map(str::to_owned),
            count: 1,
            valued: 1,
            total_clv: money(t),
            mean_clv: money(t),
            p25_clv: money(t),
            p50_clv: money(t),
            p75_clv: money(t),
            expected_purchases: 1.0,
            mean_p_alive: 0.5,
            p25_p_alive: 0.5,
            p50_p_alive: 0.5,
            p75_p_alive: 0.5,
        };
        let svg = bars_svg("x", "T", &[g(Some("<vip>"), 300), g(None, 150)]);
        assert!(svg.contains("width=\"360.0\""), "{svg}");
        assert!(svg.contains("width=\"180.0\""), "{svg}");
        assert!(svg.contains("&lt;vip&gt;") && !svg.contains("<vip>"));
        assert!(svg.contains("(none)"));
    }
}
