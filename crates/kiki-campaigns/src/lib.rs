//! The campaign domain, free of IO: what a campaign is ([`model`]), the
//! moves between its statuses and who may make them ([`status`]), and the
//! checks every field passes before anything is stored ([`validate`]), and a
//! KIKI programmatic ad set as the bidder's line item ([`programmatic`]), and a
//! budget shift between platforms applied to ad sets ([`shift`]). The
//! campaigns service stores them, runs the launch gate through the twin,
//! asks for approvals and drives the platforms.

pub mod model;
pub mod platform_specs;
pub mod programmatic;
pub mod shift;
pub mod status;
pub mod validate;

pub use model::{AdSet, AssetSource, CampaignDraft, CampaignKind, Schedule};
pub use status::{Action, CampaignStatus, IllegalMove, next_status};
pub use validate::{OrgLimits, validate_campaign};
