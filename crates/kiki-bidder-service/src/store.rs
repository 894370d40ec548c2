//! The bidder's tables (migration `0006_bidder.sql`, conversion counts in
//! `0016_conversions.sql`): line items, segment LTVs and members, hourly
//! statistics. Every tenant query filters by the
//! organisation; the snapshot load is the cross-tenant read, by design (the
//! bidder serves every organisation).

use kiki_bidder::{LineItem, LineItemId};
use kiki_core::{Currency, Money, OrgId};
use kiki_store::{Db, StoreError, Tx};
use sea_query::{Cond, Expr, ExprTrait, Func, Iden, OnConflict, Order, Query};
use serde::Serialize;
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::service::reporting::HourCounts;

#[derive(Debug, Clone, Copy, Iden)]
pub enum BidderLineItems {
    Table,
    Id,
    OrgId,
    CampaignId,
    Name,
    Status,
    FlightStart,
    FlightEnd,
    DailyBudgetMicros,
    Currency,
    Spec,
    DeliveryStatus,
    CreatedAt,
    UpdatedAt,
    /// Conversions credited to the line item in all (pCVR's input).
    Conversions,
}

#[derive(Debug, Clone, Copy, Iden)]
pub enum BidderSegmentValues {
    Table,
    OrgId,
    Segment,
    LtvMicros,
    Currency,
    UpdatedAt,
}

#[derive(Debug, Clone, Copy, Iden)]
pub enum BidderSegmentMembers {
    Table,
    OrgId,
    UserKey,
    Segment,
}

#[derive(Debug, Clone, Copy, Iden)]
pub enum BidderHourlyStats {
    Table,
    OrgId,
    LineItemId,
    Hour,
    Bids,
    Wins,
    SpendMicros,
    Impressions,
    Clicks,
    Conversions,
}

use BidderHourlyStats as H;
use BidderLineItems as L;

/// A stored line item with its bookkeeping.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LineItemRecord {
    #[serde(flatten)]
    pub item: LineItem,
    /// `active`, `paused` or `archived`.
    pub status: String,
    /// The last delivery status a decision was recorded for.
    pub delivery_status: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

#[derive(Debug, sqlx::FromRow)]
struct Row {
    spec: Json<LineItem>,
    status: String,
    delivery_status: String,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
}

impl From<Row> for LineItemRecord {
    fn from(r: Row) -> Self {
        LineItemRecord {
            item: r.spec.0,
            status: r.status,
            delivery_status: r.delivery_status,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

const ROW_COLS: [L; 5] = [
    L::Spec,
    L::Status,
    L::DeliveryStatus,
    L::CreatedAt,
    L::UpdatedAt,
];

fn status_of(li: &LineItem) -> &'static str {
    if li.active { "active" } else { "paused" }
}

fn spec_json(li: &LineItem) -> Result<serde_json::Value, StoreError> {
    serde_json::to_value(li).map_err(|e| StoreError::Database(sqlx::Error::Encode(Box::new(e))))
}

pub async fn insert_line_item(
    tx: &mut Tx<'_>,
    li: &LineItem,
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    let stmt = Query::insert()
        .into_table(L::Table)
        .columns([
            L::Id,
            L::OrgId,
            L::CampaignId,
            L::Name,
            L::Status,
            L::FlightStart,
            L::FlightEnd,
            L::DailyBudgetMicros,
            L::Currency,
            L::Spec,
            L::DeliveryStatus,
            L::CreatedAt,
            L::UpdatedAt,
        ])
        .values_panic([
            li.id.0.into(),
            li.org_id.0.into(),
            li.campaign_id.0.into(),
            li.name.as_str().into(),
            status_of(li).into(),
            li.flight.start.into(),
            li.flight.end.into(),
            li.budget.daily.micros.into(),
            li.budget.daily.currency.to_string().into(),
            spec_json(li)?.into(),
            "new".into(),
            now.into(),
            now.into(),
        ])
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(())
}

/// Replaces a line item of `org`; false when there is none (or it is archived).
pub async fn update_line_item(
    tx: &mut Tx<'_>,
    li: &LineItem,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let stmt = Query::update()
        .table(L::Table)
        .values([
            (L::CampaignId, li.campaign_id.0.into()),
            (L::Name, li.name.as_str().into()),
            (L::Status, status_of(li).into()),
            (L::FlightStart, li.flight.start.into()),
            (L::FlightEnd, li.flight.end.into()),
            (L::DailyBudgetMicros, li.budget.daily.micros.into()),
            (L::Currency, li.budget.daily.currency.to_string().into()),
            (L::Spec, spec_json(li)?.into()),
            (L::UpdatedAt, now.into()),
        ])
        .and_where(Expr::col(L::Id).eq(li.id.0))
        .and_where(Expr::col(L::OrgId).eq(li.org_id.0))
        .and_where(Expr::col(L::Status).ne("archived"))
        .to_owned();
    Ok(tx.execute(&stmt).await? == 1)
}

/// Archives a line item (it stops bidding; its statistics stay).
pub async fn archive_line_item(
    tx: &mut Tx<'_>,
    org: OrgId,
    id: LineItemId,
    now: OffsetDateTime,
) -> Result<bool, StoreError> {
    let stmt = Query::update()
        .table(L::Table)
        .values([(L::Status, "archived".into()), (L::UpdatedAt, now.into())])
        .and_where(Expr::col(L::Id).eq(id.0))
        .and_where(Expr::col(L::OrgId).eq(org.0))
        .and_where(Expr::col(L::Status).ne("archived"))
        .to_owned();
    Ok(tx.execute(&stmt).await? == 1)
}

pub async fn get_line_item(
    db: &Db,
    org: OrgId,
    id: LineItemId,
) -> Result<Option<LineItemRecord>, StoreError> {
    let stmt = Query::select()
        .columns(ROW_COLS)
        .from(L::Table)
        .and_where(Expr::col(L::Id).eq(id.0))
        .and_where(Expr::col(L::OrgId).eq(org.0))
        .to_owned();
    let row: Option<Row> = db.fetch_optional(&stmt).await?;
    Ok(row.map(LineItemRecord::from))
}

/// A page of an organisation's line items, newest first (ids are time-ordered).
pub async fn list_line_items(
    db: &Db,
    org: OrgId,
    status: Option<&str>,
    after: Option<Uuid>,
    limit: u32,
) -> Result<Vec<LineItemRecord>, StoreError> {
    let mut stmt = Query::select()
        .columns(ROW_COLS)
        .from(L::Table)
        .and_where(Expr::col(L::OrgId).eq(org.0))
        .order_by(L::Id, Order::Desc)
        .limit(u64::from(limit))
        .to_owned();
    match status {
        Some(s) => stmt.and_where(Expr::col(L::Status).eq(s)),
        None => stmt.and_where(Expr::col(L::Status).ne("archived")),
    };
    if let Some(a) = after {
        stmt.and_where(Expr::col(L::Id).lt(a));
    }
    let rows: Vec<Row> = db.fetch_all(&stmt).await?;
    Ok(rows.into_iter().map(LineItemRecord::from).collect())
}

#[derive(Debug, sqlx::FromRow)]
struct SpecRow {
    spec: Json<LineItem>,
    delivery_status: String,
    conversions: i64,
}

/// An active line item as the snapshot loads it.
#[derive(Debug)]
pub struct ActiveRow {
    pub item: LineItem,
    /// The last recorded delivery status.
    pub delivery_status: String,
    /// Conversions credited in all.
    pub conversions: u64,
}

/// Every active line item of every organisation whose flight has not ended
/// (the snapshot load), with its last recorded delivery status and its
/// credited conversions.
pub async fn load_active(db: &Db, now: OffsetDateTime) -> Result<Vec<ActiveRow>, StoreError> {
    let stmt = Query::select()
        .columns([L::Spec, L::DeliveryStatus, L::Conversions])
        .from(L::Table)
        .and_where(Expr::col(L::Status).eq("active"))
        .cond_where(
            Cond::any()
                .add(Expr::col(L::FlightEnd).is_null())
                .add(Expr::col(L::FlightEnd).gt(now)),
        )
        .to_owned();
    let rows: Vec<SpecRow> = db.fetch_all(&stmt).await?;
    Ok(rows
        .into_iter()
        .map(|r| ActiveRow {
            item: r.spec.0,
            delivery_status: r.delivery_status,
            conversions: u64::try_from(r.conversions).unwrap_or(0),
        })
        .collect())
}

/// Credits one conversion to a line item of `org`: its total (pCVR's input)
/// and the hour it occurred in. False when the organisation has no such
/// line item.
pub async fn add_conversion(
    tx: &mut Tx<'_>,
    org: OrgId,
    li: LineItemId,
    hour: OffsetDateTime,
) -> Result<bool, StoreError> {
    let stmt = Query::update()
        .table(L::Table)
        .value(L::Conversions, Expr::col(L::Conversions).add(1))
        .and_where(Expr::col(L::Id).eq(li.0))
        .and_where(Expr::col(L::OrgId).eq(org.0))
        .to_owned();
    if tx.execute(&stmt).await? != 1 {
        return Ok(false);
    }
    let stmt = Query::insert()
        .into_table(H::Table)
        .columns([
            H::OrgId,
            H::LineItemId,
            H::Hour,
            H::Bids,
            H::Wins,
            H::SpendMicros,
            H::Impressions,
            H::Clicks,
            H::Conversions,
        ])
        .values_panic([
            org.0.into(),
            li.0.into(),
            hour.into(),
            0i64.into(),
            0i64.into(),
            0i64.into(),
            0i64.into(),
            0i64.into(),
            1i64.into(),
        ])
        .on_conflict(
            OnConflict::columns([H::LineItemId, H::Hour])
                .values([(H::Conversions, Expr::col((H::Table, H::Conversions)).add(1))])
                .to_owned(),
        )
        .to_owned();
    tx.execute(&stmt).await?;
    Ok(true)
}

/// Moves a line item to a new delivery status unless it is there already;
/// true when this call made the change (so exactly one replica records it).
pub async fn set_delivery_status(
    tx: &mut Tx<'_>,
    id: LineItemId,
    status: &str,
) -> Result<bool, StoreError> {
    let stmt = Query::update()
        .table(L::Table)
        .values([(L::DeliveryStatus, status.into())])
        .and_where(Expr::col(L::Id).eq(id.0))
        .and_where(Expr::col(L::DeliveryStatus).ne(status))
        .to_owned();
    Ok(tx.execute(&stmt).await? == 1)
}

/// A segment with its predicted LTV (`BidderSegment` in the API document;
/// the LTV context has a `SegmentValue` of its own).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
#[schema(as = BidderSegment)]
pub struct SegmentValue {
    /// 1 to 200 characters, not only spaces; unique in the organisation.
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub segment: String,
    /// Not negative, in the bidder currency.
    #[schema(value_type = kiki_core::NonNegativeMoney)]
    pub ltv: Money,
}

/// A user placed in a segment.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct SegmentMember {
    /// `user.buyeruid` or `user.id` as the exchange sends it; in one
    /// segment only.
    #[schema(min_length = 1, max_length = 256)]
    pub user: String,
    /// One of the request's `segments`.
    pub segment: String,
}

/// Replaces an organisation's segments and members.
pub async fn replace_segments(
    tx: &mut Tx<'_>,
    org: OrgId,
    values: &[SegmentValue],
    members: &[SegmentMember],
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    use BidderSegmentMembers as M;
    use BidderSegmentValues as V;
    tx.execute(
        &Query::delete()
            .from_table(V::Table)
            .and_where(Expr::col(V::OrgId).eq(org.0))
            .to_owned(),
    )
    .await?;
    tx.execute(
        &Query::delete()
            .from_table(M::Table)
            .and_where(Expr::col(M::OrgId).eq(org.0))
            .to_owned(),
    )
    .await?;
    for chunk in values.chunks(500) {
        let mut stmt = Query::insert()
            .into_table(V::Table)
            .columns([
                V::OrgId,
                V::Segment,
                V::LtvMicros,
                V::Currency,
                V::UpdatedAt,
            ])
            .to_owned();
        for v in chunk {
            stmt.values_panic([
                org.0.into(),
                v.segment.as_str().into(),
                v.ltv.micros.into(),
                v.ltv.currency.to_string().into(),
                now.into(),
            ]);
        }
        tx.execute(&stmt).await?;
    }
    for chunk in members.chunks(500) {
        let mut stmt = Query::insert()
            .into_table(M::Table)
            .columns([M::OrgId, M::UserKey, M::Segment])
            .on_conflict(
                OnConflict::columns([M::OrgId, M::UserKey])
                    .update_column(M::Segment)
                    .to_owned(),
            )
            .to_owned();
        for m in chunk {
            stmt.values_panic([
                org.0.into(),
                m.user.as_str().into(),
                m.segment.as_str().into(),
            ]);
        }
        tx.execute(&stmt).await?;
    }
    Ok(())
}

/// Writes `values` over an organisation's segment LTVs: each named segment
/// is inserted or has its value replaced; segments not in `values` and every
/// member row stay as they are (the LTV sync, which must not undo hand-set
/// segments or the user→segment assignments).
pub async fn upsert_segment_values(
    tx: &mut Tx<'_>,
    org: OrgId,
    values: &[SegmentValue],
    now: OffsetDateTime,
) -> Result<(), StoreError> {
    use BidderSegmentValues as V;
    for chunk in values.chunks(500) {
        let mut stmt = Query::insert()
            .into_table(V::Table)
            .columns([
                V::OrgId,
                V::Segment,
                V::LtvMicros,
                V::Currency,
                V::UpdatedAt,
            ])
            .on_conflict(
                OnConflict::columns([V::OrgId, V::Segment])
                    .update_columns([V::LtvMicros, V::Currency, V::UpdatedAt])
                    .to_owned(),
            )
            .to_owned();
        for v in chunk {
            stmt.values_panic([
                org.0.into(),
                v.segment.as_str().into(),
                v.ltv.micros.into(),
                v.ltv.currency.to_string().into(),
                now.into(),
            ]);
        }
        tx.execute(&stmt).await?;
    }
    Ok(())
}

#[derive(Debug, sqlx::FromRow)]
struct SegRow {
    org_id: Uuid,
    segment: String,
    ltv_micros: i64,
    currency: String,
}

#[derive(Debug, sqlx::FromRow)]
struct MemberRow {
    org_id: Uuid,
    user_key: String,
    segment: String,
}

/// Every organisation's segments and members (the segment-table load).
pub async fn load_segments(
    db: &Db,
) -> Result<(Vec<(OrgId, String, Money)>, Vec<(OrgId, String, String)>), StoreError> {
    use BidderSegmentMembers as M;
    use BidderSegmentValues as V;
    let segs: Vec<SegRow> = db
        .fetch_all(
            &Query::select()
                .columns([V::OrgId, V::Segment, V::LtvMicros, V::Currency])
                .from(V::Table)
                .to_owned(),
        )
        .await?;
    let members: Vec<MemberRow> = db
        .fetch_all(
            &Query::select()
                .columns([M::OrgId, M::UserKey, M::Segment])
                .from(M::Table)
                .to_owned(),
        )
        .await?;
    let segs = segs
        .into_iter()
        .filter_map(|r| {
            let cur: Currency = r.currency.parse().ok()?;
            Some((
                OrgId(r.org_id),
                r.segment,
                Money::from_micros(r.ltv_micros, cur),
            ))
        })
        .collect();
    let members = members
        .into_iter()
        .map(|r| (OrgId(r.org_id), r.user_key, r.segment))
        .collect();
    Ok((segs, members))
}

/// An organisation's segments.
pub async fn list_segments(db: &Db, org: OrgId) -> Result<Vec<SegmentValue>, StoreError> {
    use BidderSegmentValues as V;
    let rows: Vec<SegRow> = db
        .fetch_all(
            &Query::select()
                .columns([V::OrgId, V::Segment, V::LtvMicros, V::Currency])
                .from(V::Table)
                .and_where(Expr::col(V::OrgId).eq(org.0))
                .order_by(V::Segment, Order::Asc)
                .to_owned(),
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let cur: Currency = r.currency.parse().ok()?;
            Some(SegmentValue {
                segment: r.segment,
                ltv: Money::from_micros(r.ltv_micros, cur),
            })
        })
        .collect())
}

/// Adds a batch of hourly counts (upsert-add, one statement per chunk).
pub async fn add_hourly(
    tx: &mut Tx<'_>,
    rows: &[(OrgId, LineItemId, OffsetDateTime, HourCounts)],
) -> Result<(), StoreError> {
    let excluded =
        |c: H| Expr::col((H::Table, c)).add(Expr::col((sea_query::Alias::new("excluded"), c)));
    for chunk in rows.chunks(200) {
        let mut stmt = Query::insert()
            .into_table(H::Table)
            .columns([
                H::OrgId,
                H::LineItemId,
                H::Hour,
                H::Bids,
                H::Wins,
                H::SpendMicros,
                H::Impressions,
                H::Clicks,
            ])
            .on_conflict(
                OnConflict::columns([H::LineItemId, H::Hour])
                    .values([
                        (H::Bids, excluded(H::Bids)),
                        (H::Wins, excluded(H::Wins)),
                        (H::SpendMicros, excluded(H::SpendMicros)),
                        (H::Impressions, excluded(H::Impressions)),
                        (H::Clicks, excluded(H::Clicks)),
                    ])
                    .to_owned(),
            )
            .to_owned();
        for (org, li, hour, c) in chunk {
            stmt.values_panic([
                org.0.into(),
                li.0.into(),
                (*hour).into(),
                c.bids.into(),
                c.wins.into(),
                c.spend_micros.into(),
                c.impressions.into(),
                c.clicks.into(),
            ]);
        }
        tx.execute(&stmt).await?;
    }
    Ok(())
}

/// One hour of a line item's delivery as stored: spend in micros of the
/// bidder currency.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HourlyRecord {
    pub hour: OffsetDateTime,
    pub bids: i64,
    pub wins: i64,
    pub spend_micros: i64,
    pub impressions: i64,
    pub clicks: i64,
    pub conversions: i64,
}

impl HourlyRecord {
    /// The API's row, spend in `currency` (the bidder currency).
    pub fn in_currency(self, currency: kiki_core::Currency) -> HourlyRow {
        HourlyRow {
            hour: self.hour,
            bids: self.bids,
            wins: self.wins,
            spend: Money::from_micros(self.spend_micros, currency),
            impressions: self.impressions,
            clicks: self.clicks,
            conversions: self.conversions,
        }
    }
}

/// One hour of a line item's delivery; spend in the bidder currency.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HourlyRow {
    #[serde(with = "time::serde::rfc3339")]
    pub hour: OffsetDateTime,
    pub bids: i64,
    pub wins: i64,
    pub spend: Money,
    pub impressions: i64,
    pub clicks: i64,
    /// Conversions reported in this hour and attributed to the line item's
    /// clicks (`POST /v1/conversions`).
    pub conversions: i64,
}

/// An organisation's line item's hours in `[from, to)`, oldest first.
pub async fn hourly(
    db: &Db,
    org: OrgId,
    li: LineItemId,
    from: Option<OffsetDateTime>,
    to: Option<OffsetDateTime>,
) -> Result<Vec<HourlyRecord>, StoreError> {
    let mut stmt = Query::select()
        .columns([
            H::Hour,
            H::Bids,
            H::Wins,
            H::SpendMicros,
            H::Impressions,
            H::Clicks,
            H::Conversions,
        ])
        .from(H::Table)
        .and_where(Expr::col(H::OrgId).eq(org.0))
        .and_where(Expr::col(H::LineItemId).eq(li.0))
        .order_by(H::Hour, Order::Asc)
        .limit(24 * 400)
        .to_owned();
    if let Some(f) = from {
        stmt.and_where(Expr::col(H::Hour).gte(f));
    }
    if let Some(t) = to {
        stmt.and_where(Expr::col(H::Hour).lt(t));
    }
    db.fetch_all(&stmt).await
}

#[derive(Debug, sqlx::FromRow)]
struct TotalsRow {
    line_item_id: Uuid,
    impressions: Option<i64>,
    clicks: Option<i64>,
}

/// Lifetime impressions and clicks per line item (restores the engine's
/// rate estimates at start-up).
pub async fn performance_totals(db: &Db) -> Result<Vec<(LineItemId, i64, i64)>, StoreError> {
    let stmt = Query::select()
        .column(H::LineItemId)
        // PostgreSQL sums BIGINT as NUMERIC; cast back so both backends decode i64.
        .expr_as(
            Func::cast_as(
                Func::sum(Expr::col(H::Impressions)),
                sea_query::Alias::new("BIGINT"),
            ),
            sea_query::Alias::new("impressions"),
        )
        .expr_as(
            Func::cast_as(
                Func::sum(Expr::col(H::Clicks)),
                sea_query::Alias::new("BIGINT"),
            ),
            sea_query::Alias::new("clicks"),
        )
        .from(H::Table)
        .group_by_col(H::LineItemId)
        .to_owned();
    let rows: Vec<TotalsRow> = db.fetch_all(&stmt).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                LineItemId(r.line_item_id),
                r.impressions.unwrap_or(0),
                r.clicks.unwrap_or(0),
            )
        })
        .collect())
}

/// One stored hour of a line item, as the daily delivery read sums it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryHour {
    pub line_item_id: Uuid,
    pub hour: OffsetDateTime,
    pub spend_micros: i64,
    pub impressions: i64,
    pub clicks: i64,
}

/// A page of an organisation's hourly rows in `[from, to)`, ordered by line
/// item then hour, `limit` after the key `after` (keyset).
pub async fn delivery_hours(
    db: &Db,
    org: OrgId,
    from: OffsetDateTime,
    to: OffsetDateTime,
    after: Option<(Uuid, OffsetDateTime)>,
    limit: u64,
) -> Result<Vec<DeliveryHour>, StoreError> {
    let mut stmt = Query::select()
        .columns([
            H::LineItemId,
            H::Hour,
            H::SpendMicros,
            H::Impressions,
            H::Clicks,
        ])
        .from(H::Table)
        .and_where(Expr::col(H::OrgId).eq(org.0))
        .and_where(Expr::col(H::Hour).gte(from))
        .and_where(Expr::col(H::Hour).lt(to))
        .order_by(H::LineItemId, Order::Asc)
        .order_by(H::Hour, Order::Asc)
        .limit(limit)
        .to_owned();
    if let Some((li, hour)) = after {
        kiki_store::keyset::after(
            &mut stmt,
            &[(H::LineItemId, Order::Asc), (H::Hour, Order::Asc)],
            vec![sea_query::Value::from(li), sea_query::Value::from(hour)],
        );
    }
    db.fetch_all(&stmt).await
}

/// A line item's campaign and budget currency.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LineItemCampaign {
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub currency: String,
}

/// The campaign and currency of the organisation's line items among `ids`
/// (archived ones included: their delivery stays reported).
pub async fn line_item_campaigns(
    db: &Db,
    org: OrgId,
    ids: &[Uuid],
) -> Result<Vec<LineItemCampaign>, StoreError> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let stmt = Query::select()
            .columns([L::Id, L::CampaignId, L::Currency])
            .from(L::Table)
            .and_where(Expr::col(L::OrgId).eq(org.0))
            .and_where(Expr::col(L::Id).is_in(chunk.iter().copied()))
            .to_owned();
        out.extend(db.fetch_all::<LineItemCampaign, _>(&stmt).await?);
    }
    Ok(out)
}
