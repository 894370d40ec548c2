//! SyncValue: the customer-lifetime-value engine. Pure computation — data
//! in, results out; no IO, no clock, no global state.
//!
//! The flow the service layer drives:
//! 1. [`parse_transactions_csv`] (or its own rows) → [`Transaction`]s;
//! 2. [`summarize`] → one [`CustomerSummary`] per customer (RFM in a
//!    [`TimeUnit`]);
//! 3. [`fit`] a purchase model ([`ModelKind`]) and [`GammaGamma::fit`] the
//!    spend model; both results serialize to JSON for storage;
//! 4. [`predict_batch`] → [`CustomerPrediction`]s (expected purchases,
//!    P(alive), churn risk, order value, CLV) and [`aggregate`] them per
//!    segment or acquisition platform;
//! 5. [`calibration_holdout_split`] + [`holdout_report`] to check a model.

pub mod csv_import;
pub mod csv_log;
pub mod data;
pub mod error;
pub mod fit;
pub mod holdout;
pub mod log;
pub mod models;
pub mod predict;
pub mod rows;
pub mod simulate;
pub mod special;

pub use csv_import::{
    CsvErrors, CsvOptions, CsvRowError, SummaryCsvOptions, TimestampFormat, TransactionColumns,
    parse_summary_csv, parse_transactions_csv,
};
pub use csv_log::{CsvTransaction, read_transaction_log, read_transaction_rows};
pub use data::{
    CalibrationHoldout, CustomerSummary, TimeUnit, Transaction, calibration_holdout_split,
    summarize, summarize_periods,
};
pub use error::{LtvError, RowList};
pub use fit::{FitOptions, FitProgress, FitStage, Optimizer};
pub use holdout::{FrequencyBucket, HoldoutCustomer, HoldoutReport, holdout_report};
pub use log::{TransactionLog, TransactionLogBuilder};
pub use models::{
    BgBbParams, BgNbdParams, DataWindow, FittedModel, GammaGamma, GammaGammaModel,
    GammaGammaParams, ModelKind, ModelParams, ParetoNbdParams, SpendRow, fit, fit_rows,
    total_log_likelihood,
};
pub use predict::{
    CustomerPrediction, GroupBy, PredictOptions, SegmentValue, aggregate, predict_batch,
    predict_customer,
};
pub use rows::RfmRow;
pub use simulate::SimulationOptions;
