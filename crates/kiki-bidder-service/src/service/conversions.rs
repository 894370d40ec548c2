//! Click ids and conversions credited to line items.
//!
//! The click tracker appends a signed click id to the landing page
//! ([`BidderService::issue_click_id`]); a conversion reported later names it.
//! The conversions context reads it back through [`BidderService::read_click`]
//! — the bidder's own signature is the authority for which organisation,
//! line item and creative the click belongs to — and credits the
//! conversion through [`BidderService::credit_conversion`] in the
//! transaction that stores the conversion, so a conversion is credited
//! exactly when it is recorded. The credit grows the line item's stored
//! conversion count, which every replica loads into the engine (pCVR), and
//! the hour's report row.

use kiki_bidder::LineItemId;
use kiki_bidder::click_id::{ClickId, ClickIdRefusal};
use kiki_bidder::notice::BidId;
use kiki_core::OrgId;
use kiki_explain::Change;
use kiki_store::StoreError;
use time::OffsetDateTime;
use uuid::Uuid;

use super::BidderService;
use crate::events::ConversionsCredited;
use crate::store;

/// A click id this bidder issued, read back with what its line item says
/// now. Only the bidder builds one (from its own signature), so holding one
/// is proof of the click.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedClick {
    org: OrgId,
    line_item: LineItemId,
    campaign: Uuid,
    creative: String,
    bid: BidId,
    clicked_at: OffsetDateTime,
}

impl VerifiedClick {
    /// The organisation whose line item was clicked.
    pub fn org(&self) -> OrgId {
        self.org
    }

    pub fn line_item(&self) -> LineItemId {
        self.line_item
    }

    /// The line item's campaign.
    pub fn campaign(&self) -> Uuid {
        self.campaign
    }

    /// The creative (`crid`) that was clicked.
    pub fn creative(&self) -> &str {
        &self.creative
    }

    /// The bid whose ad was clicked, as 16 hex digits.
    pub fn bid(&self) -> String {
        self.bid.hex()
    }

    pub fn clicked_at(&self) -> OffsetDateTime {
        self.clicked_at
    }
}

impl BidderService {
    /// The click id for a signed click of `bid` on `creative` of a loaded
    /// line item, at this process's time; `None` when the line item is not
    /// loaded or the creative id is too long to carry.
    pub fn issue_click_id(&self, li: LineItemId, bid: BidId, creative: &str) -> Option<String> {
        let org = self.item(li)?.org;
        self.click_key.issue(&ClickId {
            clicked_s: self.now_ms().div_euclid(1000),
            bid,
            line_item: li,
            org,
            creative: creative.to_owned(),
        })
    }

    /// Reads a click id: `None` when this bidder did not issue it (a
    /// changed, truncated or foreign id, or one dated in the future) or its
    /// line item no longer exists. Age is the caller's rule (the
    /// attribution window), and so is whose click it may be: compare
    /// [`VerifiedClick::org`] with the caller's organisation first, so that
    /// another organisation's click reads like an unknown one.
    pub async fn read_click(&self, text: &str) -> Result<Option<VerifiedClick>, StoreError> {
        let now_s = self.now_ms().div_euclid(1000);
        let click = match self.click_key.verify(text, now_s, i64::MAX) {
            Ok(c) => c,
            Err(ClickIdRefusal::Forged | ClickIdRefusal::Expired) => return Ok(None),
        };
        let Some(rec) = store::get_line_item(&self.db, click.org, click.line_item).await? else {
            return Ok(None);
        };
        let Ok(clicked_at) = OffsetDateTime::from_unix_timestamp(click.clicked_s) else {
            return Ok(None);
        };
        Ok(Some(VerifiedClick {
            org: click.org,
            line_item: click.line_item,
            campaign: rec.item.campaign_id.0,
            creative: click.creative,
            bid: click.bid,
            clicked_at,
        }))
    }

    /// Credits one conversion of `click` that occurred at `occurred_at` to
    /// its line item, inside the caller's change: the line item's total
    /// (pCVR's input, which every replica loads on its next refresh, at once
    /// after the `bidder.conversions_credited` event) and the hour's row of
    /// the delivery report. Call it once per recorded conversion, in the
    /// transaction that records it.
    pub async fn credit_conversion(
        &self,
        change: &mut Change<'_>,
        click: &VerifiedClick,
        occurred_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let hour = crate::reporting::hour_of(super::ms(occurred_at));
        let hour = OffsetDateTime::from_unix_timestamp_nanos(i128::from(hour) * 1_000_000)
            .unwrap_or(occurred_at);
        if store::add_conversion(change, click.org, click.line_item, hour).await? {
            change.publish(
                Some(click.org),
                &ConversionsCredited {
                    line_item_id: click.line_item.0,
                    conversions: 1,
                },
            );
        }
        Ok(())
    }
}
