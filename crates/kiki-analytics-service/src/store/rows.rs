//! The daily rows themselves, read in keyset pages: one organisation's rows
//! of a level, ordered by the primary key (platform, object, day), each page
//! starting after the last key of the one before — so a page costs the same
//! at row 1 and at row 1,000,000, and a download of any size reads with flat
//! memory.

use kiki_core::OrgId;
use kiki_store::{Db, StoreError};
use sea_query::{Expr, ExprTrait, Order, Query};

use super::Selection;
use super::schema::AnalyticsDaily as D;

/// Where a page starts: after this (platform, object, day).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RowKey {
    pub platform: String,
    pub external_id: String,
    pub day: String,
}

/// One stored daily row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct StoredRow {
    pub platform: String,
    pub external_id: String,
    pub day: String,
    pub campaign_id: Option<String>,
    pub ad_set_id: Option<String>,
    pub ad_id: Option<String>,
    pub currency: String,
    pub spend_micros: i64,
    pub revenue_micros: i64,
    pub conversions_micros: i64,
    pub impressions: i64,
    pub clicks: i64,
}

/// Up to `limit` rows of one organisation and level after `after`, in key
/// order, with the selection's days and equalities.
pub(crate) async fn page(
    db: &Db,
    org: OrgId,
    sel: &Selection,
    level: &str,
    after: Option<&RowKey>,
    limit: u64,
) -> Result<Vec<StoredRow>, StoreError> {
    let mut stmt = Query::select()
        .columns([
            D::Platform,
            D::ExternalId,
            D::Day,
            D::CampaignId,
            D::AdSetId,
            D::AdId,
            D::Currency,
            D::SpendMicros,
            D::RevenueMicros,
            D::ConversionsMicros,
            D::Impressions,
            D::Clicks,
        ])
        .from(D::Table)
        .and_where(Expr::col(D::OrgId).eq(org.0))
        .and_where(Expr::col(D::Level).eq(level))
        .and_where(Expr::col(D::Day).gte(sel.since.as_str()))
        .and_where(Expr::col(D::Day).lte(sel.until.as_str()))
        .order_by(D::Platform, Order::Asc)
        .order_by(D::ExternalId, Order::Asc)
        .order_by(D::Day, Order::Asc)
        .limit(limit)
        .to_owned();
    if let Some(k) = after {
        // A row value comparison: both backends start the primary key's
        // range scan at the key instead of filtering from the first row.
        stmt.and_where(
            Expr::tuple([
                Expr::col(D::Platform),
                Expr::col(D::ExternalId),
                Expr::col(D::Day),
            ])
            .gt(Expr::tuple([
                Expr::val(k.platform.as_str()),
                Expr::val(k.external_id.as_str()),
                Expr::val(k.day.as_str()),
            ])),
        );
    }
    if let Some(p) = &sel.platform {
        stmt.and_where(Expr::col(D::Platform).eq(p.as_str()));
    }
    if let Some(c) = &sel.currency {
        stmt.and_where(Expr::col(D::Currency).eq(c.as_str()));
    }
    if let Some(c) = &sel.campaign_id {
        stmt.and_where(Expr::col(D::CampaignId).eq(c.as_str()));
    }
    db.fetch_all(&stmt).await
}

/// How many rows a selection holds (for the export's audit entry).
pub(crate) async fn count(
    db: &Db,
    orgs: &[OrgId],
    sel: &Selection,
    level: &str,
) -> Result<i64, StoreError> {
    let mut stmt = Query::select()
        .expr(Expr::col(sea_query::Asterisk).count())
        .from(D::Table)
        .and_where(Expr::col(D::OrgId).is_in(orgs.iter().map(|o| o.0)))
        .and_where(Expr::col(D::Level).eq(level))
        .and_where(Expr::col(D::Day).gte(sel.since.as_str()))
        .and_where(Expr::col(D::Day).lte(sel.until.as_str()))
        .to_owned();
    if let Some(p) = &sel.platform {
        stmt.and_where(Expr::col(D::Platform).eq(p.as_str()));
    }
    if let Some(c) = &sel.currency {
        stmt.and_where(Expr::col(D::Currency).eq(c.as_str()));
    }
    if let Some(c) = &sel.campaign_id {
        stmt.and_where(Expr::col(D::CampaignId).eq(c.as_str()));
    }
    let (n,): (i64,) = db.fetch_one(&stmt).await?;
    Ok(n)
}
