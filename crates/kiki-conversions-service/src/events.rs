//! The events the conversions service publishes: a conversion recorded.

use kiki_core::Money;
use kiki_store::Event;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::Source;

/// An order was recorded as a conversion of a click on one of the
/// organisation's ads (once per order: a repeat publishes nothing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ConversionRecorded {
    /// The conversion.
    pub conversion_id: Uuid,
    /// The advertiser's order id.
    pub order_id: String,
    /// The campaign of the clicked line item.
    pub campaign_id: Uuid,
    /// The clicked line item.
    pub line_item_id: Uuid,
    /// The clicked creative.
    pub creative_id: String,
    /// The order's value.
    pub value: Money,
    /// When the order was placed.
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    /// How it was reported.
    pub source: Source,
}

impl Event for ConversionRecorded {
    const KIND: &'static str = "conversions.recorded";
    const DESCRIPTION: &'static str = "An order was recorded as a conversion of a click on the organisation's ads and credited to the clicked line item.";
}
