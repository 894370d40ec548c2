//! The country and device roll-up (`analytics_daily_dims`,
//! `analytics_dims_coverage`, migration `0022_breakdowns.sql`): replaced
//! per platform and days by the ingest, summed per value and currency by
//! the breakdown. Every query names the organisations of the caller's
//! scope.

use kiki_core::OrgId;
use kiki_store::{Db, StoreError, Tx};
use sea_query::{Alias, Expr, ExprTrait, Func, Iden, Order, Query, SelectStatement, SimpleExpr};
use time::OffsetDateTime;

use super::Selection;

/// Identifiers of `analytics_daily_dims`.
#[derive(Debug, Clone, Copy, Iden)]
pub(crate) enum AnalyticsDailyDims {
    Table,
    OrgId,
    Dimension,
    Platform,
    ExternalId,
    Day,
    Value,
    CampaignId,
    Currency,
    SpendMicros,
    RevenueMicros,
    ConversionsMicros,
    Impressions,
    Clicks,
    UpdatedAt,
}

/// Identifiers of `analytics_dims_coverage`.
#[derive(Debug, Clone, Copy, Iden)]
pub(crate) enum AnalyticsDimsCoverage {
    Table,
    OrgId,
    Dimension,
    Platform,
    Day,
    Reported,
    Reason,
    UpdatedAt,
}

use AnalyticsDailyDims as D;
use AnalyticsDimsCoverage as C;

/// One campaign's numbers on one day for one value, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DimInsert {
    pub external_id: String,
    pub day: String,
    pub value: String,
    pub campaign_id: Option<String>,
    pub currency: String,
    pub spend_micros: i64,
    pub revenue_micros: i64,
    pub conversions_micros: i64,
    pub impressions: i64,
    pub clicks: i64,
}

/// Whether the platform reported the dimension on a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CoverageInsert {
    pub day: String,
    pub reported: bool,
    pub reason: Option<String>,
}

/// Replaces one platform's rows and coverage of a dimension for the days
/// `since..=until` of an organisation, in the caller's transaction.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn replace_days(
    tx: &mut Tx<'_>,
    org: OrgId,
    dimension: &str,
    platform: &str,
    since: &str,
    until: &str,
    rows: &[DimInsert],
    coverage: &[CoverageInsert],
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let del = Query::delete()
        .from_table(D::Table)
        .and_where(Expr::col(D::OrgId).eq(org.0))
        .and_where(Expr::col(D::Dimension).eq(dimension))
        .and_where(Expr::col(D::Platform).eq(platform))
        .and_where(Expr::col(D::Day).gte(since))
        .and_where(Expr::col(D::Day).lte(until))
        .to_owned();
    tx.execute(&del).await?;
    let del = Query::delete()
        .from_table(C::Table)
        .and_where(Expr::col(C::OrgId).eq(org.0))
        .and_where(Expr::col(C::Dimension).eq(dimension))
        .and_where(Expr::col(C::Platform).eq(platform))
        .and_where(Expr::col(C::Day).gte(since))
        .and_where(Expr::col(C::Day).lte(until))
        .to_owned();
    tx.execute(&del).await?;
    let mut n = 0;
    for chunk in rows.chunks(500) {
        let mut stmt = Query::insert()
            .into_table(D::Table)
            .columns([
                D::OrgId,
                D::Dimension,
                D::Platform,
                D::ExternalId,
                D::Day,
                D::Value,
                D::CampaignId,
                D::Currency,
                D::SpendMicros,
                D::RevenueMicros,
                D::ConversionsMicros,
                D::Impressions,
                D::Clicks,
                D::UpdatedAt,
            ])
            .to_owned();
        for r in chunk {
            stmt.values_panic([
                org.0.into(),
                dimension.into(),
                platform.into(),
                r.external_id.as_str().into(),
                r.day.as_str().into(),
                r.value.as_str().into(),
                r.campaign_id.clone().into(),
                r.currency.as_str().into(),
                r.spend_micros.into(),
                r.revenue_micros.into(),
                r.conversions_micros.into(),
                r.impressions.into(),
                r.clicks.into(),
                now.into(),
            ]);
        }
        n += tx.execute(&stmt).await?;
    }
    for chunk in coverage.chunks(500) {
        let mut stmt = Query::insert()
            .into_table(C::Table)
            .columns([
                C::OrgId,
                C::Dimension,
                C::Platform,
                C::Day,
                C::Reported,
                C::Reason,
                C::UpdatedAt,
            ])
            .to_owned();
        for c in chunk {
            stmt.values_panic([
                org.0.into(),
                dimension.into(),
                platform.into(),
                c.day.as_str().into(),
                c.reported.into(),
                c.reason.clone().into(),
                now.into(),
            ]);
        }
        tx.execute(&stmt).await?;
    }
    Ok(n)
}

/// PostgreSQL sums BIGINT as NUMERIC; cast back so both backends decode i64.
fn sum_of(col: D) -> SimpleExpr {
    Func::cast_as(Func::sum(Expr::col(col)), Alias::new("BIGINT")).into()
}

fn apply(sel: &Selection, dimension: &str, stmt: &mut SelectStatement) {
    stmt.and_where(Expr::col(D::OrgId).is_in(sel.orgs.iter().map(|o| o.0)))
        .and_where(Expr::col(D::Dimension).eq(dimension))
        .and_where(Expr::col(D::Day).gte(sel.since.as_str()))
        .and_where(Expr::col(D::Day).lte(sel.until.as_str()));
    if let Some(p) = &sel.platform {
        stmt.and_where(Expr::col(D::Platform).eq(p.as_str()));
    }
    if let Some(c) = &sel.currency {
        stmt.and_where(Expr::col(D::Currency).eq(c.as_str()));
    }
    if let Some(c) = &sel.campaign_id {
        stmt.and_where(Expr::col(D::CampaignId).eq(c.as_str()));
    }
}

/// One value's sums over the range in one currency.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ValueRow {
    pub value: String,
    pub currency: String,
    pub spend_micros: Option<i64>,
    pub revenue_micros: Option<i64>,
    pub conversions_micros: Option<i64>,
    pub impressions: Option<i64>,
    pub clicks: Option<i64>,
}

/// Sums per value and currency over the selection (every organisation and
/// platform selected together).
pub(crate) async fn values(
    db: &Db,
    sel: &Selection,
    dimension: &str,
) -> Result<Vec<ValueRow>, StoreError> {
    let mut stmt = Query::select()
        .columns([D::Value, D::Currency])
        .expr_as(sum_of(D::SpendMicros), Alias::new("spend_micros"))
        .expr_as(sum_of(D::RevenueMicros), Alias::new("revenue_micros"))
        .expr_as(
            sum_of(D::ConversionsMicros),
            Alias::new("conversions_micros"),
        )
        .expr_as(sum_of(D::Impressions), Alias::new("impressions"))
        .expr_as(sum_of(D::Clicks), Alias::new("clicks"))
        .from(D::Table)
        .group_by_col(D::Value)
        .group_by_col(D::Currency)
        .to_owned();
    apply(sel, dimension, &mut stmt);
    db.fetch_all(&stmt).await
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct PlatformRow {
    platform: String,
}

/// The platforms with a day in the selection on which they did not report
/// the dimension, by name.
pub(crate) async fn not_reported(
    db: &Db,
    sel: &Selection,
    dimension: &str,
) -> Result<Vec<String>, StoreError> {
    let mut stmt = Query::select()
        .distinct()
        .column(C::Platform)
        .from(C::Table)
        .and_where(Expr::col(C::OrgId).is_in(sel.orgs.iter().map(|o| o.0)))
        .and_where(Expr::col(C::Dimension).eq(dimension))
        .and_where(Expr::col(C::Day).gte(sel.since.as_str()))
        .and_where(Expr::col(C::Day).lte(sel.until.as_str()))
        .and_where(Expr::col(C::Reported).eq(false))
        .order_by(C::Platform, Order::Asc)
        .to_owned();
    if let Some(p) = &sel.platform {
        stmt.and_where(Expr::col(C::Platform).eq(p.as_str()));
    }
    let rows: Vec<PlatformRow> = db.fetch_all(&stmt).await?;
    Ok(rows.into_iter().map(|r| r.platform).collect())
}
