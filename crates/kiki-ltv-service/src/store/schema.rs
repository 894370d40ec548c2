//! Identifiers of the SyncValue tables (migrations `0005_ltv.sql`,
//! `0009_ltv_uploads.sql` and `0015_ltv_fitting.sql`).

use sea_query::Iden;

/// `ltv_transactions`: uploaded orders.
#[derive(Debug, Clone, Copy, Iden)]
pub enum LtvTransactions {
    Table,
    Id,
    OrgId,
    CustomerId,
    OccurredAt,
    AmountMicros,
    Currency,
    OrderId,
    Segment,
    Platform,
    DedupKey,
    CreatedAt,
    UploadId,
    Kind,
}

/// `ltv_uploads`: one row per accepted upload.
#[derive(Debug, Clone, Copy, Iden)]
pub enum LtvUploads {
    Table,
    Id,
    OrgId,
    Format,
    Currency,
    Received,
    Inserted,
    CreatedBy,
    CreatedAt,
    Status,
}

/// `ltv_models`: fitted models, versioned per organisation.
#[derive(Debug, Clone, Copy, Iden)]
pub enum LtvModels {
    Table,
    Id,
    OrgId,
    Version,
    Kind,
    TimeUnit,
    Currency,
    Params,
    Fitted,
    GammaGamma,
    Holdout,
    WindowStart,
    WindowEnd,
    CalibrationEnd,
    CustomerCount,
    HorizonDays,
    DiscountRate,
    JobId,
    CreatedBy,
    CreatedAt,
    StaleAt,
    SkippedTransactions,
    /// `fitting` while its predictions are being written, then `ready`.
    Status,
}

/// `ltv_predictions`: per-customer summary and forecast of the current model.
#[derive(Debug, Clone, Copy, Iden)]
pub enum LtvPredictions {
    Table,
    ModelId,
    OrgId,
    CustomerId,
    Frequency,
    Recency,
    Age,
    MonetaryMicros,
    ExpectedPurchases,
    PAlive,
    ChurnRisk,
    ExpectedAovMicros,
    ClvMicros,
    Currency,
    Segment,
    Platform,
}
