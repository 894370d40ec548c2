//! Identifiers of the tables in migrations `0014_platforms.sql`,
//! `0017_platforms_clock.sql` and `0022_breakdowns.sql`.

use sea_query::Iden;

#[derive(Debug, Clone, Copy, Iden)]
pub enum PlatformConnections {
    Table,
    Id,
    OrgId,
    Platform,
    Mode,
    Status,
    AccountId,
    AccountName,
    Currency,
    TimeZone,
    LoginCustomerId,
    AccessToken,
    RefreshToken,
    TokenExpiresAt,
    Scope,
    LastError,
    LastCheckedAt,
    LastSyncedDay,
    Version,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

#[derive(Debug, Clone, Copy, Iden)]
pub enum PlatformOauthStates {
    Table,
    StateHash,
    OrgId,
    Platform,
    CodeVerifier,
    RedirectUri,
    AccountId,
    LoginCustomerId,
    CreatedBy,
    CreatedAt,
    ExpiresAt,
}

#[derive(Debug, Clone, Copy, Iden)]
pub enum PlatformObjects {
    Table,
    OrgId,
    Platform,
    Kind,
    KikiId,
    ExternalId,
    CampaignId,
    AdSetId,
    Status,
    CreatedAt,
    UpdatedAt,
}

#[derive(Debug, Clone, Copy, Iden)]
pub enum PlatformDailyMetrics {
    Table,
    OrgId,
    Platform,
    Level,
    ExternalId,
    Day,
    CampaignId,
    AdSetId,
    AdId,
    Currency,
    SpendMicros,
    Impressions,
    Clicks,
    Conversions,
    ConversionValueMicros,
    Reach,
    Frequency,
    SyncedAt,
}

#[derive(Debug, Clone, Copy, Iden)]
pub enum PlatformSyncRuns {
    Table,
    Id,
    OrgId,
    Platform,
    Trigger,
    Since,
    Until,
    Status,
    RowsUpserted,
    Error,
    StartedAt,
    FinishedAt,
}

#[derive(Debug, Clone, Copy, Iden)]
pub enum SandboxObjects {
    Table,
    OrgId,
    Platform,
    Id,
    Kind,
    ParentId,
    Status,
    Spec,
    FirstLiveDay,
    CreatedAt,
    UpdatedAt,
}

#[derive(Debug, Clone, Copy, Iden)]
pub enum SandboxDays {
    Table,
    OrgId,
    Platform,
    AdSetId,
    Day,
    SpendMicros,
    Impressions,
    Reach,
    Clicks,
    Conversions,
    ConversionValueMicros,
    Frequency,
}

/// Migration `0017_platforms_clock.sql`.
#[derive(Debug, Clone, Copy, Iden)]
pub enum PlatformMarketClock {
    Table,
    Id,
    SecondsPerDay,
    RealAnchorAt,
    MarketAnchorAt,
    SweptAt,
    UpdatedAt,
}

/// Migration `0022_breakdowns.sql`.
#[derive(Debug, Clone, Copy, Iden)]
pub enum PlatformDailyBreakdowns {
    Table,
    OrgId,
    Platform,
    Dimension,
    ExternalId,
    Day,
    Value,
    CampaignId,
    Currency,
    SpendMicros,
    Impressions,
    Clicks,
    Conversions,
    ConversionValueMicros,
    SyncedAt,
}

/// Migration `0022_breakdowns.sql`.
#[derive(Debug, Clone, Copy, Iden)]
pub enum PlatformBreakdownCoverage {
    Table,
    OrgId,
    Platform,
    Dimension,
    Day,
    Reported,
    Reason,
    SyncedAt,
}
