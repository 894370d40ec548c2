//! `platform_market_clock`: the sandbox market's anchor in accelerated time,
//! one row (`market`) for the installation, so every process on the database
//! computes the same market time; and when the worker last swept it.

use kiki_platforms::MarketTime;
use kiki_store::{Db, StoreError};
use sea_query::{Expr, ExprTrait, OnConflict, Query};
use time::OffsetDateTime;

use super::schema::PlatformMarketClock as K;

/// The one row's key.
const ID: &str = "market";

#[derive(Debug, Clone, sqlx::FromRow)]
struct Row {
    seconds_per_day: i64,
    real_anchor_at: OffsetDateTime,
    market_anchor_at: OffsetDateTime,
    swept_at: Option<OffsetDateTime>,
    updated_at: OffsetDateTime,
}

/// The stored anchor and when a process last showed it was running the
/// market (its last sweep, or the anchor's last change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stored {
    pub time: MarketTime,
    pub last_seen: OffsetDateTime,
}

impl Row {
    fn time(&self) -> MarketTime {
        MarketTime {
            real_anchor: self.real_anchor_at,
            market_anchor: self.market_anchor_at,
            seconds_per_day: u32::try_from(Ord::max(self.seconds_per_day, 1)).unwrap_or(u32::MAX),
        }
    }
}

/// The stored anchor, if the market runs accelerated.
pub(crate) async fn get(db: &Db) -> Result<Option<Stored>, StoreError> {
    let stmt = Query::select()
        .columns([
            K::SecondsPerDay,
            K::RealAnchorAt,
            K::MarketAnchorAt,
            K::SweptAt,
            K::UpdatedAt,
        ])
        .from(K::Table)
        .and_where(Expr::col(K::Id).eq(ID))
        .to_owned();
    let row: Option<Row> = db.fetch_optional(&stmt).await?;
    Ok(row.map(|r| Stored {
        time: r.time(),
        last_seen: r
            .swept_at
            .map_or(r.updated_at, |s| Ord::max(s, r.updated_at)),
    }))
}

/// Stores `m` unless an anchor is already stored (another process was
/// first: its anchor wins).
pub(crate) async fn insert(db: &Db, m: &MarketTime, now: OffsetDateTime) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(K::Table)
        .columns([
            K::Id,
            K::SecondsPerDay,
            K::RealAnchorAt,
            K::MarketAnchorAt,
            K::UpdatedAt,
        ])
        .values_panic([
            ID.into(),
            i64::from(m.seconds_per_day).into(),
            m.real_anchor.into(),
            m.market_anchor.into(),
            now.into(),
        ])
        .on_conflict(OnConflict::column(K::Id).do_nothing().to_owned())
        .to_owned();
    db.execute(&stmt).await?;
    Ok(())
}

/// Replaces the anchor `old` with `new` (a new rate); nothing when another
/// process replaced it first.
pub(crate) async fn replace(
    db: &Db,
    old: &MarketTime,
    new: &MarketTime,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let stmt = Query::update()
        .table(K::Table)
        .values([
            (K::SecondsPerDay, i64::from(new.seconds_per_day).into()),
            (K::RealAnchorAt, new.real_anchor.into()),
            (K::MarketAnchorAt, new.market_anchor.into()),
            (K::UpdatedAt, now.into()),
        ])
        .and_where(Expr::col(K::Id).eq(ID))
        .and_where(Expr::col(K::SecondsPerDay).eq(i64::from(old.seconds_per_day)))
        .and_where(Expr::col(K::RealAnchorAt).eq(old.real_anchor))
        .to_owned();
    db.execute(&stmt).await?;
    Ok(())
}

/// Forgets the anchor: the market is on the calendar again.
pub(crate) async fn delete(db: &Db) -> Result<u64, StoreError> {
    let stmt = Query::delete()
        .from_table(K::Table)
        .and_where(Expr::col(K::Id).eq(ID))
        .to_owned();
    db.execute(&stmt).await
}

/// Records that the accelerated market was swept at `now` (it is running).
pub(crate) async fn touch(db: &Db, now: OffsetDateTime) -> Result<(), StoreError> {
    let stmt = Query::update()
        .table(K::Table)
        .values([(K::SweptAt, now.into())])
        .and_where(Expr::col(K::Id).eq(ID))
        .to_owned();
    db.execute(&stmt).await?;
    Ok(())
}
