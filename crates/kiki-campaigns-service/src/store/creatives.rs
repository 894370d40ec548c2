//! `creatives`.

use kiki_core::OrgId;
use kiki_store::{Db, StoreError, Tx};
use sea_query::{Expr, ExprTrait, Order, Query};
use serde_json::Value;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::schema::Creatives as R;
use super::{Key, after};

#[derive(Debug, sqlx::FromRow)]
pub(crate) struct CreativeRow {
    pub id: Uuid,
    pub org_id: Uuid,
    pub campaign_id: Option<Uuid>,
    pub channel: String,
    pub source: String,
    pub variation: i64,
    pub copy: Json<Value>,
    pub image: Option<Json<Value>>,
    pub video: Option<Json<Value>>,
    pub media_url: Option<String>,
    pub review: Json<Value>,
    pub rating: Option<i64>,
    pub created_by: String,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

const COLUMNS: [R; 15] = [
    R::Id,
    R::OrgId,
    R::CampaignId,
    R::Channel,
    R::Source,
    R::Variation,
    R::Copy,
    R::Image,
    R::Video,
    R::MediaUrl,
    R::Review,
    R::Rating,
    R::CreatedBy,
    R::CreatedAt,
    R::UpdatedAt,
];

pub(crate) struct NewCreative<'a> {
    pub id: Uuid,
    pub org: OrgId,
    pub campaign: Option<Uuid>,
    pub channel: &'a str,
    pub source: &'a str,
    pub variation: u32,
    pub copy: Value,
    pub image: Option<Value>,
    pub video: Option<Value>,
    pub media_url: Option<&'a str>,
    pub verdict: &'a str,
    pub review: Value,
    pub by: &'a str,
    pub now: OffsetDateTime,
}

pub(crate) async fn insert(tx: &mut Tx<'_>, c: NewCreative<'_>) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(R::Table)
        .columns([
            R::Id,
            R::OrgId,
            R::CampaignId,
            R::Channel,
            R::Source,
            R::Variation,
            R::Copy,
            R::Image,
            R::Video,
            R::MediaUrl,
            R::Verdict,
            R::Review,
            R::Status,
            R::CreatedBy,
            R::CreatedAt,
            R::UpdatedAt,
        ])
        .values_panic([
            c.id.into(),
            c.org.0.into(),
            c.campaign.into(),
            c.channel.into(),
            c.source.into(),
            i64::from(c.variation).into(),
            c.copy.into(),
            c.image.into(),
            c.video.into(),
            c.media_url.map(str::to_owned).into(),
            c.verdict.into(),
            c.review.into(),
            "active".into(),
            c.by.into(),
            c.now.into(),
            c.now.into(),
        ])
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}

/// New copy (and its review) on an active creative.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn rewrite(
    tx: &mut Tx<'_>,
    org: OrgId,
    id: Uuid,
    copy: Value,
    media_url: Option<&str>,
    verdict: &str,
    review: Value,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let stmt = Query::update()
        .table(R::Table)
        .value(R::Copy, copy)
        .value(R::MediaUrl, media_url.map(str::to_owned))
        .value(R::Verdict, verdict)
        .value(R::Review, review)
        .value(R::UpdatedAt, now)
        .and_where(Expr::col(R::Id).eq(id))
        .and_where(Expr::col(R::OrgId).eq(org.0))
        .and_where(Expr::col(R::Status).eq("active"))
        .to_owned();
    Ok(tx.execute(&stmt).await? > 0)
}

/// Sets an active creative's media address.
pub(crate) async fn set_media(
    tx: &mut Tx<'_>,
    org: OrgId,
    id: Uuid,
    media_url: &str,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let stmt = Query::update()
        .table(R::Table)
        .value(R::MediaUrl, media_url)
        .value(R::UpdatedAt, now)
        .and_where(Expr::col(R::Id).eq(id))
        .and_where(Expr::col(R::OrgId).eq(org.0))
        .and_where(Expr::col(R::Status).eq("active"))
        .to_owned();
    Ok(tx.execute(&stmt).await? > 0)
}

pub(crate) async fn set_rating(
    db: &Db,
    org: OrgId,
    id: Uuid,
    stars: u8,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let stmt = Query::update()
        .table(R::Table)
        .value(R::Rating, i64::from(stars))
        .value(R::UpdatedAt, now)
        .and_where(Expr::col(R::Id).eq(id))
        .and_where(Expr::col(R::OrgId).eq(org.0))
        .and_where(Expr::col(R::Status).eq("active"))
        .to_owned();
    Ok(db.execute(&stmt).await? > 0)
}

/// Removes a creative (kept for the record, no longer listed or used).
pub(crate) async fn remove(
    tx: &mut Tx<'_>,
    org: OrgId,
    id: Uuid,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let stmt = Query::update()
        .table(R::Table)
        .value(R::Status, "removed")
        .value(R::UpdatedAt, now)
        .and_where(Expr::col(R::Id).eq(id))
        .and_where(Expr::col(R::OrgId).eq(org.0))
        .and_where(Expr::col(R::Status).eq("active"))
        .to_owned();
    Ok(tx.execute(&stmt).await? > 0)
}

/// An active creative of one organisation.
pub(crate) async fn get(db: &Db, org: OrgId, id: Uuid) -> Result<Option<CreativeRow>, StoreError> {
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(R::Table)
        .and_where(Expr::col(R::Id).eq(id))
        .and_where(Expr::col(R::OrgId).eq(org.0))
        .and_where(Expr::col(R::Status).eq("active"))
        .to_owned();
    db.fetch_optional(&stmt).await
}

/// The creatives with these ids among the organisations given (removed
/// ones included: their ads' figures remain), at most 1000 ids.
pub(crate) async fn by_ids(
    db: &Db,
    orgs: &[OrgId],
    ids: &[Uuid],
) -> Result<Vec<CreativeRow>, StoreError> {
    if orgs.is_empty() || ids.is_empty() {
        return Ok(Vec::new());
    }
    let stmt = Query::select()
        .columns(COLUMNS)
        .from(R::Table)
        .and_where(Expr::col(R::OrgId).is_in(orgs.iter().map(|o| o.0)))
        .and_where(Expr::col(R::Id).is_in(ids.iter().take(1000).copied()))
        .order_by(R::Id, Order::Asc)
        .to_owned();
    db.fetch_all(&stmt).await
}

/// Up to `fetch` active creatives, newest first, optionally of one campaign.
pub(crate) async fn list(
    db: &Db,
    org: OrgId,
    campaign: Option<Uuid>,
    fetch: u64,
    key: Option<Key>,
) -> Result<Vec<CreativeRow>, StoreError> {
    let mut stmt = Query::select()
        .columns(COLUMNS)
        .from(R::Table)
        .and_where(Expr::col(R::OrgId).eq(org.0))
        .and_where(Expr::col(R::Status).eq("active"))
        .order_by(R::CreatedAt, Order::Desc)
        .order_by(R::Id, Order::Desc)
        .limit(fetch)
        .to_owned();
    if let Some(c) = campaign {
        stmt.and_where(Expr::col(R::CampaignId).eq(c));
    }
    after(&mut stmt, R::CreatedAt, R::Id, key);
    db.fetch_all(&stmt).await
}

/// How many active creatives of a campaign the review rejected.
pub(crate) async fn rejected_count(
    tx: &mut Tx<'_>,
    org: OrgId,
    campaign: Uuid,
) -> Result<i64, StoreError> {
    #[derive(sqlx::FromRow)]
    struct N {
        n: i64,
    }
    let stmt = Query::select()
        .expr_as(
            sea_query::Func::count(Expr::col(R::Id)),
            sea_query::Alias::new("n"),
        )
        .from(R::Table)
        .and_where(Expr::col(R::OrgId).eq(org.0))
        .and_where(Expr::col(R::CampaignId).eq(campaign))
        .and_where(Expr::col(R::Status).eq("active"))
        .and_where(Expr::col(R::Verdict).eq("rejected"))
        .to_owned();
    let n: N = tx.fetch_one(&stmt).await?;
    Ok(n.n)
}

/// Per campaign of `campaigns`: how many active creatives have each verdict.
pub(crate) async fn verdict_counts(
    db: &Db,
    org: OrgId,
    campaigns: &[Uuid],
) -> Result<Vec<(Uuid, String, i64)>, StoreError> {
    if campaigns.is_empty() {
        return Ok(Vec::new());
    }
    let stmt = Query::select()
        .column(R::CampaignId)
        .column(R::Verdict)
        .expr(sea_query::Func::count(Expr::col(R::Id)))
        .from(R::Table)
        .and_where(Expr::col(R::OrgId).eq(org.0))
        .and_where(Expr::col(R::CampaignId).is_in(campaigns.iter().copied()))
        .and_where(Expr::col(R::Status).eq("active"))
        .group_by_col(R::CampaignId)
        .group_by_col(R::Verdict)
        .to_owned();
    db.fetch_all(&stmt).await
}
