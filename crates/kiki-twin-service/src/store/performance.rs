//! `twin_daily_performance`: one row per organisation, platform, ad set and day.

use kiki_core::{Currency, OrgId};
use kiki_store::{Db, StoreError, Tx};
use kiki_twin::{DailyPerformance, Platform};
use sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use super::schema::TwinDailyPerformance as P;
use crate::domain::{PerformanceRow, day_text, parse_day};

#[derive(Debug, sqlx::FromRow)]
struct PerfRow {
    platform: String,
    ad_set_id: String,
    day: String,
    spend_micros: i64,
    impressions: i64,
    clicks: i64,
    conversions: f64,
    revenue_micros: i64,
}

/// Upserts validated rows per (org, platform, ad set, day); returns the
/// number of rows written.
pub(crate) async fn upsert(
    tx: &mut Tx<'_>,
    org: OrgId,
    rows: &[PerformanceRow],
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let mut n = 0;
    for chunk in rows.chunks(400) {
        let mut stmt = Query::insert()
            .into_table(P::Table)
            .columns([
                P::Id,
                P::OrgId,
                P::Platform,
                P::AdSetId,
                P::Day,
                P::Currency,
                P::SpendMicros,
                P::Impressions,
                P::Clicks,
                P::Conversions,
                P::RevenueMicros,
                P::UpdatedAt,
            ])
            .on_conflict(
                OnConflict::columns([P::OrgId, P::Platform, P::AdSetId, P::Day])
                    .update_columns([
                        P::Currency,
                        P::SpendMicros,
                        P::Impressions,
                        P::Clicks,
                        P::Conversions,
                        P::RevenueMicros,
                        P::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .to_owned();
        for r in chunk {
            stmt.values_panic([
                Uuid::now_v7().into(),
                org.0.into(),
                r.platform.as_str().into(),
                r.ad_set_id.clone().unwrap_or_default().into(),
                day_text(r.day).into(),
                r.currency.as_str().into(),
                r.spend.micros.into(),
                r.impressions.into(),
                r.clicks.into(),
                r.conversions.into(),
                r.revenue.micros.into(),
                now.into(),
            ]);
        }
        n += tx.execute(&stmt).await?;
    }
    Ok(n)
}

/// Performance rows of an organisation in `currency` with `from <= day < to`,
/// of the given platforms (all when `None`), oldest first.
pub(crate) async fn history(
    db: &Db,
    org: OrgId,
    currency: Currency,
    from: Date,
    to: Date,
    platforms: Option<&[Platform]>,
) -> Result<Vec<DailyPerformance>, StoreError> {
    let mut stmt = Query::select()
        .columns([
            P::Platform,
            P::AdSetId,
            P::Day,
            P::SpendMicros,
            P::Impressions,
            P::Clicks,
            P::Conversions,
            P::RevenueMicros,
        ])
        .from(P::Table)
        .and_where(Expr::col(P::OrgId).eq(org.0))
        .and_where(Expr::col(P::Currency).eq(currency.as_str()))
        .and_where(Expr::col(P::Day).gte(day_text(from)))
        .and_where(Expr::col(P::Day).lt(day_text(to)))
        .order_by(P::Day, Order::Asc)
        .to_owned();
    if let Some(ps) = platforms {
        stmt.and_where(Expr::col(P::Platform).is_in(ps.iter().map(|p| p.as_str())));
    }
    let rows: Vec<PerfRow> = db.fetch_all(&stmt).await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(DailyPerformance {
                platform: r.platform,
                ad_set_id: (!r.ad_set_id.is_empty()).then_some(r.ad_set_id),
                date: parse_day(&r.day)?,
                spend_micros: r.spend_micros,
                impressions: u64::try_from(r.impressions).unwrap_or(0),
                clicks: u64::try_from(r.clicks).unwrap_or(0),
                conversions: r.conversions,
                revenue_micros: r.revenue_micros,
            })
        })
        .collect())
}
