//! Queries on `analytics_fx_rates`: the organisation's dated exchange rates
//! (upserted in batches, listed a page at a time in key order, and read
//! for a conversion's days).

use kiki_core::OrgId;
use kiki_store::{Db, StoreError, Tx};
use sea_query::{Expr, ExprTrait, OnConflict, Order, Query};
use time::OffsetDateTime;

use super::schema::AnalyticsFxRates as F;

/// One rate as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub(crate) struct FxRow {
    pub base: String,
    pub quote: String,
    pub day: String,
    pub rate_nanos: i64,
    pub source: String,
}

/// Writes the rates (a rate of the same pair and day is replaced), in the
/// caller's transaction.
pub(crate) async fn upsert(
    tx: &mut Tx<'_>,
    org: OrgId,
    rows: &[FxRow],
    now: OffsetDateTime,
) -> Result<u64, StoreError> {
    let mut n = 0;
    for chunk in rows.chunks(500) {
        let mut stmt = Query::insert()
            .into_table(F::Table)
            .columns([
                F::OrgId,
                F::Base,
                F::Quote,
                F::Day,
                F::RateNanos,
                F::Source,
                F::UpdatedAt,
            ])
            .on_conflict(
                OnConflict::columns([F::OrgId, F::Base, F::Quote, F::Day])
                    .update_columns([F::RateNanos, F::Source, F::UpdatedAt])
                    .to_owned(),
            )
            .to_owned();
        for r in chunk {
            stmt.values_panic([
                org.0.into(),
                r.base.as_str().into(),
                r.quote.as_str().into(),
                r.day.as_str().into(),
                r.rate_nanos.into(),
                r.source.as_str().into(),
                now.into(),
            ]);
        }
        n += tx.execute(&stmt).await?;
    }
    Ok(n)
}

/// What a page of rates selects.
#[derive(Debug, Clone, Default)]
pub(crate) struct FxFilter {
    pub base: Option<String>,
    pub quote: Option<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    /// After this (base, quote, day).
    pub after: Option<(String, String, String)>,
}

/// Up to `limit` rates of the organisation in key order (base, quote, day).
pub(crate) async fn page(
    db: &Db,
    org: OrgId,
    f: &FxFilter,
    limit: u64,
) -> Result<Vec<FxRow>, StoreError> {
    let mut stmt = Query::select()
        .columns([F::Base, F::Quote, F::Day, F::RateNanos, F::Source])
        .from(F::Table)
        .and_where(Expr::col(F::OrgId).eq(org.0))
        .order_by(F::Base, Order::Asc)
        .order_by(F::Quote, Order::Asc)
        .order_by(F::Day, Order::Asc)
        .limit(limit)
        .to_owned();
    if let Some(b) = &f.base {
        stmt.and_where(Expr::col(F::Base).eq(b.as_str()));
    }
    if let Some(q) = &f.quote {
        stmt.and_where(Expr::col(F::Quote).eq(q.as_str()));
    }
    if let Some(s) = &f.since {
        stmt.and_where(Expr::col(F::Day).gte(s.as_str()));
    }
    if let Some(u) = &f.until {
        stmt.and_where(Expr::col(F::Day).lte(u.as_str()));
    }
    if let Some((b, q, d)) = &f.after {
        stmt.and_where(
            Expr::tuple([Expr::col(F::Base), Expr::col(F::Quote), Expr::col(F::Day)]).gt(
                Expr::tuple([
                    Expr::val(b.as_str()),
                    Expr::val(q.as_str()),
                    Expr::val(d.as_str()),
                ]),
            ),
        );
    }
    db.fetch_all(&stmt).await
}

/// Every rate of the organisation from `since` to `until` whose pair
/// involves one of `currencies` (a conversion's days, its look-back
/// included).
pub(crate) async fn window(
    db: &Db,
    org: OrgId,
    since: &str,
    until: &str,
    currencies: &[String],
) -> Result<Vec<FxRow>, StoreError> {
    let stmt = Query::select()
        .columns([F::Base, F::Quote, F::Day, F::RateNanos, F::Source])
        .from(F::Table)
        .and_where(Expr::col(F::OrgId).eq(org.0))
        .and_where(Expr::col(F::Day).gte(since))
        .and_where(Expr::col(F::Day).lte(until))
        .and_where(
            Expr::col(F::Base)
                .is_in(currencies.iter().map(String::as_str))
                .or(Expr::col(F::Quote).is_in(currencies.iter().map(String::as_str))),
        )
        .to_owned();
    db.fetch_all(&stmt).await
}

/// One object's sums on one day (what a converted breakdown or ranking
/// reads: each day converted at its own rate).
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct ObjectDayRow {
    pub org_id: uuid::Uuid,
    pub platform: String,
    pub external_id: String,
    pub campaign_id: Option<String>,
    pub ad_set_id: Option<String>,
    pub ad_id: Option<String>,
    pub day: String,
    pub currency: String,
    pub spend_micros: Option<i64>,
    pub revenue_micros: Option<i64>,
    pub conversions_micros: Option<i64>,
    pub impressions: Option<i64>,
    pub clicks: Option<i64>,
}

/// Sums per object of a level, day and currency over the range.
pub(crate) async fn objects_by_day(
    db: &Db,
    sel: &super::Selection,
    level: &str,
) -> Result<Vec<ObjectDayRow>, StoreError> {
    use super::schema::AnalyticsDaily as D;
    let mut stmt = Query::select()
        .columns([
            D::OrgId,
            D::Platform,
            D::ExternalId,
            D::CampaignId,
            D::AdSetId,
            D::AdId,
            D::Day,
            D::Currency,
        ])
        .from(D::Table)
        .group_by_col(D::OrgId)
        .group_by_col(D::Platform)
        .group_by_col(D::ExternalId)
        .group_by_col(D::CampaignId)
        .group_by_col(D::AdSetId)
        .group_by_col(D::AdId)
        .group_by_col(D::Day)
        .group_by_col(D::Currency)
        .to_owned();
    super::sums(&mut stmt, super::sum_columns());
    sel.apply_daily(&mut stmt, level);
    db.fetch_all(&stmt).await
}
