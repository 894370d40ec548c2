//! The event the analytics service publishes: days of an organisation's
//! roll-ups were written (what a cache of analytics answers is invalidated
//! by).

use kiki_store::Event;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Days of one platform's metrics were (re)written into the roll-ups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = AnalyticsRolledUp)]
pub struct RolledUp {
    /// The platform's wire name.
    pub platform: String,
    /// First day written (`YYYY-MM-DD`).
    pub since: String,
    /// Last day written.
    pub until: String,
    /// Daily rows written (campaign, ad set and ad levels).
    pub rows: i64,
}

impl Event for RolledUp {
    const KIND: &'static str = "analytics.rolled_up";
    const DESCRIPTION: &'static str =
        "The analytics roll-ups of an organisation's platform were rewritten for a range of days.";
}
