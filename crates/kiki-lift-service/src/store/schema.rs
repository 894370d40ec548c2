//! Identifiers of the tables in migration `0013_lift.sql`.

use sea_query::Iden;

#[derive(Debug, Clone, Copy, Iden)]
pub enum LiftExperiments {
    Table,
    Id,
    OrgId,
    Name,
    Description,
    Status,
    Plan,
    PlanHash,
    PrePeriodHash,
    Version,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
    RegisteredBy,
    RegisteredAt,
    StartedAt,
    AnalysedAt,
}

#[derive(Debug, Clone, Copy, Iden)]
pub enum LiftPanels {
    Table,
    Id,
    OrgId,
    ExperimentId,
    Source,
    Units,
    Periods,
    FirstPeriod,
    LastPeriod,
    Data,
    PanelHash,
    CreatedBy,
    CreatedAt,
}

#[derive(Debug, Clone, Copy, Iden)]
pub enum LiftAnalyses {
    Table,
    Id,
    OrgId,
    ExperimentId,
    PanelId,
    PlanHash,
    PanelHash,
    InputsHash,
    ResultHash,
    EngineVersion,
    Result,
    CreatedBy,
    CreatedAt,
}

#[derive(Debug, Clone, Copy, Iden)]
pub enum LiftDesigns {
    Table,
    Id,
    OrgId,
    ExperimentId,
    PanelId,
    Request,
    Status,
    Report,
    Error,
    JobId,
    CreatedBy,
    CreatedAt,
    CompletedAt,
}
