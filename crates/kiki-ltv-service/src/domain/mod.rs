//! The service's own types and pure rules: uploaded rows and their
//! validation, fit requests, the fit pipeline over the engine (summaries →
//! fit → spend model → holdout → predictions) and the horizon arithmetic.
//! Nothing here does IO; the service runs [`compute_fit`] on a blocking thread.
//!
//! - `rows.rs`: transactions as stored, uploaded rows (JSON and CSV) and their
//!   validation, refund references.
//! - `fit_request.rs`: the fit request and its validation into a [`FitSpec`].
//! - `fit.rs`: the fit pipeline, its explanation and the horizon arithmetic.

mod fit;
mod fit_request;
mod rows;
#[cfg(test)]
mod tests;

pub use fit::{
    FitOutcome, Progress, all_params, compute_fit, compute_fit_log, explain_fit, predict_options,
};
pub use fit_request::{FitRequest, FitRequestSchema, FitSpec, ModelChoice};
pub use rows::{
    CsvUpload, IngestReport, MAX_AMOUNT_MICROS, MAX_LISTED_ROWS, MAX_TEXT_CHARS, NewTransaction,
    RowErrors, TransactionKind, TransactionRef, TransactionRow, apply_refund_references,
    order_amount_schema, read_csv_upload, rows_from_csv, rows_from_json,
};
