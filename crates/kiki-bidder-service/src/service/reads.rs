//! The bidder's reads for a tenant: line items (a page, one, its live
//! status in this process, its hourly delivery), the daily delivery of every
//! line item (what analytics rolls up as platform `kiki`) and segment
//! values. Each takes the scope the authentication layer issued and answers
//! for its active organisation only; another organisation's line item is
//! "not found".

use std::collections::{BTreeMap, HashMap};

use kiki_bidder::LineItemId;
use kiki_bidder::engine::LineItemStatus;
use kiki_core::{Currency, Money, TenantScope};
use serde::Serialize;
use time::{Date, Duration, OffsetDateTime, Time};
use uuid::Uuid;

use crate::service::BidderService;
use crate::service::line_items::LineItemError;
use crate::store::{self, HourlyRow, LineItemRecord, SegmentValue};

/// Live figures of a line item in this process.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatusView {
    /// False when the line item is not in this process's snapshot (paused,
    /// archived, flight over, or not loaded yet).
    pub loaded: bool,
    pub delivery_status: String,
    pub live: Option<LineItemStatus>,
}

/// Hourly delivery of a line item.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatsView {
    pub line_item_id: LineItemId,
    pub hours: Vec<HourlyRow>,
}

/// The most days one [`BidderService::daily_delivery`] read covers.
pub const DELIVERY_MAX_DAYS: i64 = 92;

/// Hourly rows read per query by [`BidderService::daily_delivery`].
const DELIVERY_PAGE: u64 = 10_000;

/// One line item's delivery on one UTC day: its hourly rows summed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyDelivery {
    pub line_item_id: Uuid,
    /// The line item's campaign.
    pub campaign_id: Uuid,
    /// The UTC day.
    pub day: Date,
    /// The line item's budget currency.
    pub budget_currency: Currency,
    /// What the wins cost, in the bidder currency (`bidder.engine.currency`,
    /// the currency the hourly report is kept in).
    pub spend: Money,
    pub impressions: i64,
    pub clicks: i64,
}

/// Why a daily delivery read was refused.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryReadError {
    /// The range is backwards or longer than [`DELIVERY_MAX_DAYS`].
    #[error("{0}")]
    Range(String),
    #[error(transparent)]
    Store(#[from] kiki_store::StoreError),
}

impl BidderService {
    /// Spend, impressions and clicks of each of the organisation's line
    /// items per UTC day from `since` to `until` (both included), with the
    /// line item's campaign and budget currency; only days with a stored
    /// hour have a row, ordered by day, then line item. Bounded: the range
    /// is at most [`DELIVERY_MAX_DAYS`] days, the hourly rows are read in
    /// keyset pages of 10,000, and the answer holds one row per line item
    /// and day (at most 24 hourly rows are summed into each).
    pub async fn daily_delivery(
        &self,
        scope: &TenantScope,
        since: Date,
        until: Date,
    ) -> Result<Vec<DailyDelivery>, DeliveryReadError> {
        if until < since {
            return Err(DeliveryReadError::Range(format!(
                "The range ends ({until}) before it starts ({since})."
            )));
        }
        if (until - since).whole_days() + 1 > DELIVERY_MAX_DAYS {
            return Err(DeliveryReadError::Range(format!(
                "The range {since}..{until} is longer than {DELIVERY_MAX_DAYS} days."
            )));
        }
        let org = scope.org_id();
        let from = since.with_time(Time::MIDNIGHT).assume_utc();
        let to = (until + Duration::days(1))
            .with_time(Time::MIDNIGHT)
            .assume_utc();
        let mut sums: BTreeMap<(Date, Uuid), (i64, i64, i64)> = BTreeMap::new();
        let mut after = None;
        loop {
            let page = store::delivery_hours(&self.db, org, from, to, after, DELIVERY_PAGE).await?;
            let full = page.len() as u64 == DELIVERY_PAGE;
            after = page.last().map(|h| (h.line_item_id, h.hour));
            for h in page {
                let day = h.hour.to_offset(time::UtcOffset::UTC).date();
                let s = sums.entry((day, h.line_item_id)).or_default();
                s.0 += h.spend_micros;
                s.1 += h.impressions;
                s.2 += h.clicks;
            }
            if !full {
                break;
            }
        }
        let mut ids: Vec<Uuid> = sums.keys().map(|(_, li)| *li).collect();
        ids.sort_unstable();
        ids.dedup();
        let items: HashMap<Uuid, (Uuid, Option<Currency>)> =
            store::line_item_campaigns(&self.db, org, &ids)
                .await?
                .into_iter()
                .map(|l| (l.id, (l.campaign_id, Currency::parse(&l.currency).ok())))
                .collect();
        let spend_currency = self.cfg.engine.currency;
        Ok(sums
            .into_iter()
            .filter_map(|((day, li), (spend, impressions, clicks))| {
                // Hourly rows are only written for stored line items; one
                // that is gone has no campaign to report under.
                let (campaign_id, currency) = items.get(&li)?;
                Some(DailyDelivery {
                    line_item_id: li,
                    campaign_id: *campaign_id,
                    day,
                    budget_currency: currency.unwrap_or(spend_currency),
                    spend: Money::from_micros(spend, spend_currency),
                    impressions,
                    clicks,
                })
            })
            .collect())
    }

    /// The organisation's line items, newest first, `limit` after `after`
    /// (keyset on the id), optionally of one status.
    pub async fn line_items(
        &self,
        scope: &TenantScope,
        status: Option<&str>,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<LineItemRecord>, LineItemError> {
        Ok(store::list_line_items(&self.db, scope.org_id(), status, after, limit).await?)
    }

    /// One line item of the organisation.
    pub async fn line_item(
        &self,
        scope: &TenantScope,
        id: LineItemId,
    ) -> Result<LineItemRecord, LineItemError> {
        store::get_line_item(&self.db, scope.org_id(), id)
            .await?
            .ok_or(LineItemError::NotFound)
    }

    /// Spend today and in total, holds, throttle, shading factor and rate
    /// estimates of a line item, as this process sees them.
    pub async fn line_item_status(
        &self,
        scope: &TenantScope,
        id: LineItemId,
    ) -> Result<StatusView, LineItemError> {
        let rec = self.line_item(scope, id).await?;
        let live = self.bidder.line_item_status(id, self.now_ms());
        Ok(StatusView {
            loaded: live.is_some(),
            delivery_status: self
                .item(id)
                .map_or(rec.delivery_status, |m| m.delivery_status),
            live,
        })
    }

    /// Bids, wins, spend, impressions and clicks per hour in `[from, to)`.
    pub async fn line_item_stats(
        &self,
        scope: &TenantScope,
        id: LineItemId,
        from: Option<OffsetDateTime>,
        to: Option<OffsetDateTime>,
    ) -> Result<StatsView, LineItemError> {
        self.line_item(scope, id).await?;
        let currency = self.cfg.engine.currency;
        let hours = store::hourly(&self.db, scope.org_id(), id, from, to)
            .await?
            .into_iter()
            .map(|h| h.in_currency(currency))
            .collect();
        Ok(StatsView {
            line_item_id: id,
            hours,
        })
    }

    /// The organisation's segment values.
    pub async fn segments(&self, scope: &TenantScope) -> Result<Vec<SegmentValue>, LineItemError> {
        Ok(store::list_segments(&self.db, scope.org_id()).await?)
    }
}
