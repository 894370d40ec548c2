//! The events the ad-platforms service publishes: a connection made, broken
//! or removed, and daily metrics synced.

use kiki_store::Event;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// A platform connection was made, re-made or removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ConnectionChanged {
    /// The connection.
    pub connection_id: Uuid,
    /// The platform's wire name (`meta`, `google`, …).
    pub platform: String,
    /// `connected` or `disconnected`.
    pub status: String,
    /// `sandbox` or `live`.
    pub mode: String,
}

impl Event for ConnectionChanged {
    const KIND: &'static str = "platforms.connection_changed";
    const DESCRIPTION: &'static str =
        "An organisation connected an ad platform (sandbox or live), or disconnected it.";
}

/// A performance sync stored a platform's daily metrics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MetricsSynced {
    /// The platform's wire name.
    pub platform: String,
    /// First day read (`YYYY-MM-DD`).
    pub since: String,
    /// Last day read (today, partly).
    pub until: String,
    /// Metric rows written (campaign, ad set and ad levels).
    pub rows: i64,
}

impl Event for MetricsSynced {
    const KIND: &'static str = "platforms.metrics_synced";
    const DESCRIPTION: &'static str =
        "A performance sync stored an ad platform's daily metrics for a range of days.";
}
