//! The Google Ads API connector: [`GoogleAds`] implements
//! [`kiki_platforms::AdPlatform`] over the API's REST interface
//! (<https://developers.google.com/google-ads/api/rest/overview>) and
//! [`GoogleOAuth`] implements [`kiki_platforms::OAuthProvider`] over
//! Google's OAuth 2.0 endpoints. Every call goes through the shared
//! [`kiki_outbound::OutboundClient`]. docs/platforms.md, "Google Ads API
//! connector", describes how to connect an account and what maps to what.

mod client;
mod config;
mod error;
mod geo;
mod insights;
mod oauth;
mod platform;
mod quota;
mod rsa;

pub use client::GoogleAds;
pub use config::{ADWORDS_SCOPE, GoogleAdsConfig};
pub use geo::country_criterion_id;
pub use oauth::GoogleOAuth;
pub use quota::{Clock, system_clock};
