//! Identifiers of the analytics tables (migrations `0019_analytics.sql`,
//! `0020_analytics_exports.sql`).

use sea_query::Iden;

#[derive(Debug, Clone, Copy, Iden)]
pub enum AnalyticsDaily {
    Table,
    OrgId,
    Level,
    Platform,
    ExternalId,
    Day,
    CampaignId,
    AdSetId,
    AdId,
    Currency,
    SpendMicros,
    RevenueMicros,
    ConversionsMicros,
    Impressions,
    Clicks,
    UpdatedAt,
}

#[derive(Debug, Clone, Copy, Iden)]
pub enum AnalyticsDailyTotals {
    Table,
    OrgId,
    Day,
    Platform,
    Currency,
    SpendMicros,
    RevenueMicros,
    ConversionsMicros,
    Impressions,
    Clicks,
    Campaigns,
    UpdatedAt,
}

/// Identifiers of `analytics_campaign_spans` (migration
/// `0024_analytics_campaign_spans.sql`).
#[derive(Debug, Clone, Copy, Iden)]
pub enum AnalyticsCampaignSpans {
    Table,
    OrgId,
    Platform,
    ExternalId,
    Currency,
    CampaignId,
    FirstDay,
    LastDay,
}

/// Identifiers of `analytics_exports` (migration `0020_analytics_exports.sql`).
#[derive(Debug, Clone, Copy, Iden)]
pub enum AnalyticsExports {
    Table,
    Id,
    OrgId,
    JobId,
    Report,
    Format,
    Query,
    RequestedBy,
    FileName,
    MediaType,
    Content,
    SizeBytes,
    RowCount,
    CreatedAt,
    FinishedAt,
    ExpiresAt,
}

/// Identifiers of `analytics_schedules` (migration `0021_analytics_schedules.sql`).
#[derive(Debug, Clone, Copy, Iden)]
pub enum AnalyticsSchedules {
    Table,
    Id,
    OrgId,
    Name,
    Report,
    Format,
    Query,
    Recipients,
    Cadence,
    Hour,
    Weekday,
    DayOfMonth,
    TimeZone,
    RangeDays,
    Enabled,
    NextRunAt,
    LastRunAt,
    LastResult,
    CreatedBy,
    CreatedAt,
    UpdatedAt,
}

/// Identifiers of `analytics_fx_rates` (migration `0025_fx_rates.sql`).
#[derive(Debug, Clone, Copy, Iden)]
pub enum AnalyticsFxRates {
    Table,
    OrgId,
    Base,
    Quote,
    Day,
    RateNanos,
    Source,
    UpdatedAt,
}
