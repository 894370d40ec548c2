//! SyncFlow, KIKI's bidder: OpenRTB 2.5/2.6 parsing and a pure bid decision
//! engine — valuation by predicted LTV, MarginGuardian caps, first-price
//! shading, floors and FX, pacing, frequency caps, win/billing/loss notices —
//! plus a simulated exchange to test it against.
//!
//! No IO, no async, no clock: time is an argument. Shared counters (budget,
//! frequency) sit behind small synchronous traits with in-memory
//! implementations here; see docs/bidder.md for the design of shared ones.

pub mod budget;
pub mod click_id;
pub mod config;
pub mod engine;
pub mod error;
pub mod freq;
pub mod fx;
pub mod lineitem;
pub mod margin;
pub mod notice;
mod open_queue;
pub mod openrtb;
pub mod pacing;
pub mod shading;
pub mod sim;
pub mod snapshot;
pub mod striped;
pub mod tracker;
pub mod valuation;

pub use budget::{BudgetLedger, InMemoryLedger};
pub use config::{BidderConfig, PrivacyPolicy};
pub use engine::{BidReply, Bidder, BidderDeps, ChosenBid, Decision, RequestContext};
pub use error::BidderError;
pub use freq::{FrequencyStore, InMemoryFrequency};
pub use lineitem::{CampaignId, LineItem, LineItemId};
pub use margin::{GuardianVerdict, MarginPolicy, RiskLevel};
pub use notice::{
    AnomalyReason, Claims, Notice, NoticeAnomaly, NoticeKind, NoticeOutcome, NoticeStatus,
};
pub use openrtb::{NoBidReason, OPENRTB_VERSION_HEADER};
pub use snapshot::{CompileReport, Snapshot};
pub use valuation::{SegmentData, SegmentLookup, SegmentTable};
