//! Identifiers of the tables in migrations `0010_campaigns.sql` and
//! `0012_campaign_channels.sql`.

use sea_query::Iden;

#[derive(Debug, Clone, Copy, Iden)]
pub enum Campaigns {
    Table,
    Id,
    OrgId,
    Name,
    Status,
    Currency,
    DailyBudgetMicros,
    TotalBudgetMicros,
    Draft,
    SimulationId,
    GateApproved,
    GateReason,
    KillSwitchId,
    Version,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(Debug, Clone, Copy, Iden)]
pub enum CampaignAdSets {
    Table,
    Id,
    OrgId,
    CampaignId,
    Position,
    Name,
    Channel,
    BudgetShareBps,
    DailyBudgetMicros,
    LineItemId,
    UpdatedAt,
    DeploymentStatus,
    ExternalId,
    LastSyncedAt,
    LastError,
    DeploymentNote,
}

#[derive(Debug, Clone, Copy, Iden)]
pub enum CampaignBudgetMoves {
    Table,
    ShiftId,
    OrgId,
    FromPlatform,
    ToPlatform,
    Currency,
    AmountMicros,
    AppliedMicros,
    Campaigns,
    Note,
    CreatedAt,
}

#[derive(Debug, Clone, Copy, Iden)]
pub enum CampaignLlmSettings {
    Table,
    OrgId,
    BaseUrl,
    Model,
    ApiKey,
    JsonMode,
    ImageModel,
    UpdatedBy,
    UpdatedAt,
}

#[derive(Debug, Clone, Copy, Iden)]
pub enum CampaignTransitions {
    Table,
    Id,
    OrgId,
    CampaignId,
    Action,
    FromStatus,
    ToStatus,
    Actor,
    Reason,
    Automated,
    CreatedAt,
}

#[derive(Debug, Clone, Copy, Iden)]
pub enum CampaignApprovals {
    Table,
    Id,
    OrgId,
    CampaignId,
    Kind,
    Status,
    RequestedBy,
    Reason,
    DailyBudgetMicros,
    TotalBudgetMicros,
    SimulationId,
    DecidedBy,
    DecidedAt,
    DecisionComment,
    CreatedAt,
    UpdatedAt,
}

#[derive(Debug, Clone, Copy, Iden)]
pub enum CampaignApprovalComments {
    Table,
    Id,
    OrgId,
    ApprovalId,
    Author,
    Body,
    CreatedAt,
}

#[derive(Debug, Clone, Copy, Iden)]
pub enum CampaignSettings {
    Table,
    OrgId,
    ApprovalThresholdMicros,
    MaxDailyBudgetMicros,
    Currency,
    FourEyes,
    Policy,
    UpdatedBy,
    UpdatedAt,
}

#[derive(Debug, Clone, Copy, Iden)]
pub enum CampaignKillSwitches {
    Table,
    Id,
    OrgId,
    Reason,
    Orgs,
    Paused,
    EngagedBy,
    EngagedAt,
    ReleasedBy,
    ReleasedAt,
    Resumed,
}

#[derive(Debug, Clone, Copy, Iden)]
pub enum Creatives {
    Table,
    Id,
    OrgId,
    CampaignId,
    Channel,
    Source,
    Variation,
    Copy,
    Image,
    Video,
    MediaUrl,
    Verdict,
    Review,
    Rating,
    Status,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}
