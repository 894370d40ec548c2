//! `platform_daily_breakdowns` and `platform_breakdown_coverage`: campaign
//! days broken down by country or device, and whether each platform
//! reported the dimension on each synced day.

use kiki_core::OrgId;
use kiki_store::{Db, StoreError, Tx};
use sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use time::OffsetDateTime;

use super::schema::{PlatformBreakdownCoverage as C, PlatformDailyBreakdowns as B};

/// One campaign's numbers on one day for one value of a dimension.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub(crate) struct BreakdownRecord {
    pub platform: String,
    pub dimension: String,
    pub external_id: String,
    pub day: String,
    pub value: String,
    pub campaign_id: Option<String>,
    pub currency: String,
    pub spend_micros: i64,
    pub impressions: i64,
    pub clicks: i64,
    pub conversions: f64,
    pub conversion_value_micros: i64,
}

/// Whether a platform reported a dimension on a day.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub(crate) struct CoverageRow {
    pub platform: String,
    pub day: String,
    pub reported: bool,
    pub reason: Option<String>,
}

/// Replaces one platform's rows of a dimension for the days
/// `since..=until` with `rows`, and records for each of `days` whether the
/// platform reported the dimension, in the caller's transaction: a re-synced
/// day's values are replaced, never added to, and a value that vanished is
/// gone.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn replace(
    tx: &mut Tx<'_>,
    org: OrgId,
    platform: &str,
    dimension: &str,
    days: &[String],
    rows: &[BreakdownRecord],
    reason: Option<&str>,
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let (Some(since), Some(until)) = (days.iter().min(), days.iter().max()) else {
        return Ok(0);
    };
    let del = Query::delete()
        .from_table(B::Table)
        .and_where(Expr::col(B::OrgId).eq(org.0))
        .and_where(Expr::col(B::Platform).eq(platform))
        .and_where(Expr::col(B::Dimension).eq(dimension))
        .and_where(Expr::col(B::Day).gte(since.as_str()))
        .and_where(Expr::col(B::Day).lte(until.as_str()))
        .to_owned();
    tx.execute(&del).await?;
    let mut n = 0;
    for chunk in rows.chunks(300) {
        let mut stmt = Query::insert()
            .into_table(B::Table)
            .columns([
                B::OrgId,
                B::Platform,
                B::Dimension,
                B::ExternalId,
                B::Day,
                B::Value,
                B::CampaignId,
                B::Currency,
                B::SpendMicros,
                B::Impressions,
                B::Clicks,
                B::Conversions,
                B::ConversionValueMicros,
                B::SyncedAt,
            ])
            .to_owned();
        for r in chunk {
            stmt.values_panic([
                org.0.into(),
                r.platform.as_str().into(),
                r.dimension.as_str().into(),
                r.external_id.as_str().into(),
                r.day.as_str().into(),
                r.value.as_str().into(),
                r.campaign_id.clone().into(),
                r.currency.as_str().into(),
                r.spend_micros.into(),
                r.impressions.into(),
                r.clicks.into(),
                r.conversions.into(),
                r.conversion_value_micros.into(),
                now.into(),
            ]);
        }
        n += tx.execute(&stmt).await?;
    }
    for chunk in days.chunks(300) {
        let mut stmt = Query::insert()
            .into_table(C::Table)
            .columns([
                C::OrgId,
                C::Platform,
                C::Dimension,
                C::Day,
                C::Reported,
                C::Reason,
                C::SyncedAt,
            ])
            .on_conflict(
                OnConflict::columns([C::OrgId, C::Platform, C::Dimension, C::Day])
                    .update_columns([C::Reported, C::Reason, C::SyncedAt])
                    .to_owned(),
            )
            .to_owned();
        for d in chunk {
            stmt.values_panic([
                org.0.into(),
                platform.into(),
                dimension.into(),
                d.as_str().into(),
                reason.is_none().into(),
                reason.map(str::to_owned).into(),
                now.into(),
            ]);
        }
        tx.execute(&stmt).await?;
    }
    Ok(n)
}

/// An organisation's rows of a dimension between two days (inclusive), by
/// day, platform, campaign and value.
pub(crate) async fn list(
    db: &Db,
    org: OrgId,
    dimension: &str,
    since: &str,
    until: &str,
    limit: u64,
) -> Result<Vec<BreakdownRecord>, StoreError> {
    let stmt = Query::select()
        .columns([
            B::Platform,
            B::Dimension,
            B::ExternalId,
            B::Day,
            B::Value,
            B::CampaignId,
            B::Currency,
            B::SpendMicros,
            B::Impressions,
            B::Clicks,
            B::Conversions,
            B::ConversionValueMicros,
        ])
        .from(B::Table)
        .and_where(Expr::col(B::OrgId).eq(org.0))
        .and_where(Expr::col(B::Dimension).eq(dimension))
        .and_where(Expr::col(B::Day).gte(since))
        .and_where(Expr::col(B::Day).lte(until))
        .order_by(B::Day, Order::Asc)
        .order_by(B::Platform, Order::Asc)
        .order_by(B::ExternalId, Order::Asc)
        .order_by(B::Value, Order::Asc)
        .limit(limit)
        .to_owned();
    db.fetch_all(&stmt).await
}

/// Whether each platform reported a dimension on each day between two days.
pub(crate) async fn coverage(
    db: &Db,
    org: OrgId,
    dimension: &str,
    since: &str,
    until: &str,
) -> Result<Vec<CoverageRow>, StoreError> {
    let stmt = Query::select()
        .columns([C::Platform, C::Day, C::Reported, C::Reason])
        .from(C::Table)
        .and_where(Expr::col(C::OrgId).eq(org.0))
        .and_where(Expr::col(C::Dimension).eq(dimension))
        .and_where(Expr::col(C::Day).gte(since))
        .and_where(Expr::col(C::Day).lte(until))
        .order_by(C::Day, Order::Asc)
        .order_by(C::Platform, Order::Asc)
        .to_owned();
    db.fetch_all(&stmt).await
}
