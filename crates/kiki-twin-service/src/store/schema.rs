//! Identifiers of the tables in migration `0007_twin.sql`.

use sea_query::Iden;

#[derive(Debug, Clone, Copy, Iden)]
pub enum TwinDailyPerformance {
    Table,
    Id,
    OrgId,
    Platform,
    AdSetId,
    Day,
    Currency,
    SpendMicros,
    Impressions,
    Clicks,
    Conversions,
    RevenueMicros,
    UpdatedAt,
}

#[derive(Debug, Clone, Copy, Iden)]
pub enum TwinSettings {
    Table,
    OrgId,
    MinConfidence,
    ApprovalThresholdMicros,
    Currency,
    Industry,
    UpdatedBy,
    UpdatedAt,
}

#[derive(Debug, Clone, Copy, Iden)]
pub enum TwinMarketModels {
    Table,
    Id,
    OrgId,
    Currency,
    Industry,
    FirstDay,
    LastDay,
    HistoryDays,
    Model,
    CreatedAt,
}

#[derive(Debug, Clone, Copy, Iden)]
pub enum TwinSimulations {
    Table,
    Id,
    OrgId,
    Status,
    Plan,
    Options,
    ModelId,
    Report,
    Gate,
    Confidence,
    RiskLevel,
    Approved,
    ApprovedBy,
    StartDay,
    JobId,
    Error,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    ApprovedAt,
}

#[derive(Debug, Clone, Copy, Iden)]
pub enum TwinGateDecisions {
    Table,
    Id,
    OrgId,
    SimulationId,
    Approved,
    Reason,
    DecidedByKind,
    DecidedBy,
    Confidence,
    CreatedAt,
}

#[derive(Debug, Clone, Copy, Iden)]
pub enum TwinMirrorReports {
    Table,
    Id,
    OrgId,
    SimulationId,
    PeriodKey,
    DaysObserved,
    RollbackRecommended,
    LatestDeviation,
    Report,
    CreatedAt,
}

#[derive(Debug, Clone, Copy, Iden)]
pub enum TwinBudgets {
    Table,
    OrgId,
    Platform,
    Currency,
    DailyBudgetMicros,
    MinDailyBudgetMicros,
    MaxDailyBudgetMicros,
    UpdatedAt,
    /// `campaigns` or `manual` (migration 0012).
    Source,
}

#[derive(Debug, Clone, Copy, Iden)]
pub enum TwinRebalanceRuns {
    Table,
    OrgId,
    PeriodKey,
    Shifts,
    CreatedAt,
}

#[derive(Debug, Clone, Copy, Iden)]
pub enum TwinRebalancingShifts {
    Table,
    Id,
    OrgId,
    PeriodKey,
    Currency,
    FromPlatform,
    ToPlatform,
    AmountMicros,
    FromBudgetBeforeMicros,
    FromBudgetAfterMicros,
    ToBudgetBeforeMicros,
    ToBudgetAfterMicros,
    FromEfficiency,
    ToEfficiency,
    AverageEfficiency,
    PortfolioEfficiencyBefore,
    PortfolioEfficiencyAfter,
    Explanation,
    Status,
    DecidedBy,
    DecisionReason,
    CreatedAt,
    DecidedAt,
}
