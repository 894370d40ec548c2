//! `platform_daily_metrics` and `platform_sync_runs`.

use kiki_core::OrgId;
use kiki_store::{Db, StoreError, Tx};
use sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use time::OffsetDateTime;
use uuid::Uuid;

use super::schema::{PlatformDailyMetrics as M, PlatformSyncRuns as R};

/// One object's numbers on one day, mapped to KIKI's ids where known.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub(crate) struct MetricRow {
    pub platform: String,
    pub level: String,
    pub external_id: String,
    pub day: String,
    pub campaign_id: Option<String>,
    pub ad_set_id: Option<String>,
    pub ad_id: Option<String>,
    pub currency: String,
    pub spend_micros: i64,
    pub impressions: i64,
    pub clicks: i64,
    pub conversions: f64,
    pub conversion_value_micros: i64,
    pub reach: Option<i64>,
    pub frequency: Option<f64>,
}

/// Upserts rows per (org, platform, level, external id, day); a re-synced
/// day replaces its numbers, so a retried sync never counts twice.
pub(crate) async fn upsert(
    tx: &mut Tx<'_>,
    org: OrgId,
    rows: &[MetricRow],
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let mut n = 0;
    for chunk in rows.chunks(300) {
        let mut stmt = Query::insert()
            .into_table(M::Table)
            .columns([
                M::OrgId,
                M::Platform,
                M::Level,
                M::ExternalId,
                M::Day,
                M::CampaignId,
                M::AdSetId,
                M::AdId,
                M::Currency,
                M::SpendMicros,
                M::Impressions,
                M::Clicks,
                M::Conversions,
                M::ConversionValueMicros,
                M::Reach,
                M::Frequency,
                M::SyncedAt,
            ])
            .on_conflict(
                OnConflict::columns([M::OrgId, M::Platform, M::Level, M::ExternalId, M::Day])
                    .update_columns([
                        M::CampaignId,
                        M::AdSetId,
                        M::AdId,
                        M::Currency,
                        M::SpendMicros,
                        M::Impressions,
                        M::Clicks,
                        M::Conversions,
                        M::ConversionValueMicros,
                        M::Reach,
                        M::Frequency,
                        M::SyncedAt,
                    ])
                    .to_owned(),
            )
            .to_owned();
        for r in chunk {
            stmt.values_panic([
                org.0.into(),
                r.platform.as_str().into(),
                r.level.as_str().into(),
                r.external_id.as_str().into(),
                r.day.as_str().into(),
                r.campaign_id.clone().into(),
                r.ad_set_id.clone().into(),
                r.ad_id.clone().into(),
                r.currency.as_str().into(),
                r.spend_micros.into(),
                r.impressions.into(),
                r.clicks.into(),
                r.conversions.into(),
                r.conversion_value_micros.into(),
                r.reach.into(),
                r.frequency.into(),
                now.into(),
            ]);
        }
        n += tx.execute(&stmt).await?;
    }
    Ok(n)
}

/// Rows of a level between two days (inclusive), optionally one campaign.
pub(crate) async fn list(
    db: &Db,
    org: OrgId,
    level: &str,
    since: &str,
    until: &str,
    campaign_id: Option<&str>,
    limit: u64,
) -> Result<Vec<MetricRow>, StoreError> {
    let mut stmt = Query::select()
        .columns([
            M::Platform,
            M::Level,
            M::ExternalId,
            M::Day,
            M::CampaignId,
            M::AdSetId,
            M::AdId,
            M::Currency,
            M::SpendMicros,
            M::Impressions,
            M::Clicks,
            M::Conversions,
            M::ConversionValueMicros,
            M::Reach,
            M::Frequency,
        ])
        .from(M::Table)
        .and_where(Expr::col(M::OrgId).eq(org.0))
        .and_where(Expr::col(M::Level).eq(level))
        .and_where(Expr::col(M::Day).gte(since))
        .and_where(Expr::col(M::Day).lte(until))
        .order_by(M::Day, Order::Asc)
        .order_by(M::Platform, Order::Asc)
        .order_by(M::ExternalId, Order::Asc)
        .limit(limit)
        .to_owned();
    if let Some(c) = campaign_id {
        stmt.and_where(Expr::col(M::CampaignId).eq(c));
    }
    db.fetch_all(&stmt).await
}

/// A sync run.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct RunRow {
    pub id: Uuid,
    pub platform: String,
    pub trigger: String,
    pub since: String,
    pub until: String,
    pub status: String,
    pub rows_upserted: i64,
    pub error: Option<String>,
    pub started_at: OffsetDateTime,
    pub finished_at: OffsetDateTime,
}

pub(crate) async fn insert_run(tx: &mut Tx<'_>, org: OrgId, r: &RunRow) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(R::Table)
        .columns([
            R::Id,
            R::OrgId,
            R::Platform,
            R::Trigger,
            R::Since,
            R::Until,
            R::Status,
            R::RowsUpserted,
            R::Error,
            R::StartedAt,
            R::FinishedAt,
        ])
        .values_panic([
            r.id.into(),
            org.0.into(),
            r.platform.as_str().into(),
            r.trigger.as_str().into(),
            r.since.as_str().into(),
            r.until.as_str().into(),
            r.status.as_str().into(),
            r.rows_upserted.into(),
            r.error.clone().into(),
            r.started_at.into(),
            r.finished_at.into(),
        ])
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}

/// The newest runs first.
pub(crate) async fn runs(db: &Db, org: OrgId, limit: u64) -> Result<Vec<RunRow>, StoreError> {
    let stmt = Query::select()
        .columns([
            R::Id,
            R::Platform,
            R::Trigger,
            R::Since,
            R::Until,
            R::Status,
            R::RowsUpserted,
            R::Error,
            R::StartedAt,
            R::FinishedAt,
        ])
        .from(R::Table)
        .and_where(Expr::col(R::OrgId).eq(org.0))
        .order_by(R::StartedAt, Order::Desc)
        .order_by(R::Id, Order::Desc)
        .limit(limit)
        .to_owned();
    db.fetch_all(&stmt).await
}
