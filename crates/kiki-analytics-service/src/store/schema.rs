//! Identifiers of the tables in migration `0019_analytics.sql`.

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
