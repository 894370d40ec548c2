//! Identifiers of the tables in migration `0016_conversions.sql`.

use sea_query::Iden;

#[derive(Debug, Clone, Copy, Iden)]
pub enum Conversions {
    Table,
    Id,
    OrgId,
    OrderId,
    ClickId,
    CampaignId,
    LineItemId,
    CreativeId,
    BidId,
    ClickedAt,
    ValueMicros,
    Currency,
    OccurredAt,
    OccurredDay,
    CustomerId,
    Source,
    RecordedBy,
    RecordedAt,
}

#[derive(Debug, Clone, Copy, Iden)]
pub enum ConversionKeys {
    Table,
    OrgId,
    SecretId,
    Secret,
    SecretCreatedAt,
    PreviousSecretId,
    PreviousSecret,
    PreviousExpiresAt,
    SiteKey,
    AllowedOrigins,
    SiteKeyCreatedAt,
    UpdatedBy,
    UpdatedAt,
}
