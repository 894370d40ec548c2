//! The events the bidder publishes. Every replica reloads its snapshot (and
//! the stored conversion counts) when one arrives, and on its timer when one
//! is missed. `bidder.delivery_flushed` tells readers of the hourly report
//! (analytics) which days of an organisation changed.

use kiki_store::Event;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A line item was created, changed, paused, resumed or archived.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct LineItemsChanged {
    /// The line item.
    pub line_item_id: Uuid,
    /// `created`, `updated`, `paused`, `resumed` or `archived`.
    pub change: String,
}

impl Event for LineItemsChanged {
    const KIND: &'static str = "bidder.line_items_changed";
    const DESCRIPTION: &'static str =
        "A line item of the organisation was created, changed, paused, resumed or archived.";
}

/// The organisation's segment values or members were replaced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SegmentsChanged {
    /// How many segments the organisation has now (replaced) or were written (synced).
    pub segments: usize,
    /// `ltv` when the values came from the LTV model's sync; absent when
    /// they were replaced through the API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl Event for SegmentsChanged {
    const KIND: &'static str = "bidder.segments_changed";
    const DESCRIPTION: &'static str =
        "Segment values were replaced through the API or synced from the current LTV model.";
}

/// Conversions reported for the organisation were credited to a line item:
/// its stored conversion count (pCVR's input) grew. Every replica reloads
/// the counts when one arrives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ConversionsCredited {
    /// The line item.
    pub line_item_id: Uuid,
    /// How many conversions were credited.
    pub conversions: u64,
}

impl Event for ConversionsCredited {
    const KIND: &'static str = "bidder.conversions_credited";
    const DESCRIPTION: &'static str =
        "Conversions attributed to a line item's clicks were credited to it; its pCVR follows.";
}

/// The reporting flush wrote the organisation's hourly delivery counts
/// (bids, wins, spend, impressions, clicks) for hours of these UTC days.
/// Published after the flush commits, once per organisation per flush.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = BidderDeliveryFlushed)]
pub struct DeliveryFlushed {
    /// The first UTC day touched (`YYYY-MM-DD`).
    pub since: String,
    /// The last UTC day touched (`YYYY-MM-DD`).
    pub until: String,
    /// How many of the organisation's line items had counts.
    pub line_items: usize,
}

impl Event for DeliveryFlushed {
    const KIND: &'static str = "bidder.delivery_flushed";
    const DESCRIPTION: &'static str = "The bidder wrote hourly delivery counts (spend, impressions, clicks) of the organisation's line items for a range of UTC days.";
}
