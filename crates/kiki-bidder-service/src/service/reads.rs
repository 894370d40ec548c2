//! The bidder's reads for a tenant: line items (a page, one, its live
//! status in this process, its hourly delivery) and segment values. Each
//! takes the scope the authentication layer issued and answers for its
//! active organisation only; another organisation's line item is "not found".

use kiki_bidder::LineItemId;
use kiki_bidder::engine::LineItemStatus;
use kiki_core::TenantScope;
use serde::Serialize;
use time::OffsetDateTime;
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

impl BidderService {
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
