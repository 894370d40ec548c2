//! The Meta Marketing API connector: [`MetaAds`] implements the ad-platform
//! port ([`kiki_platforms::AdPlatform`]) over the Graph API (campaigns, ad
//! sets, link-ad creatives, ads created in batch requests, statuses and
//! daily insights), and [`MetaOAuth`] implements
//! [`kiki_platforms::OAuthProvider`] with Facebook Login and long-lived
//! tokens. Every call goes through the shared
//! [`kiki_outbound::OutboundClient`]; Meta's error codes become
//! [`kiki_platforms::PlatformError`]s, and its usage headers a per-account
//! [`kiki_platforms::QuotaState`] the connector backs off on before Meta
//! throttles. Settings: [`MetaConfig`]. See docs/platforms.md, "Meta
//! Marketing API connector".

mod ads;
mod config;
mod error;
mod graph;
mod insights;
mod money;
mod oauth;
mod quota;

pub use ads::MetaAds;
pub use config::{DEFAULT_API_VERSION, MetaAccountSettings, MetaConfig};
pub use oauth::MetaOAuth;
