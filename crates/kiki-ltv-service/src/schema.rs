//! Identifiers of the SyncValue tables (migration `0005_ltv.sql`).

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
