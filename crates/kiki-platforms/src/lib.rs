//! Ad platforms. This crate holds the **sandbox market**, the built-in
//! default that behaves like an ad platform with no account anywhere: what an
//! ad set buys on a platform on a day ([`market`]) and the synthetic customers
//! it acquires, who keep buying ([`customers`]), on the calendar or in
//! accelerated time ([`market_time`]). Pure: no IO, no clock (days
//! are inputs); every number is a function of the market's seed and the
//! inputs. It also holds the **port** ([`port`]): the [`AdPlatform`] and
//! [`OAuthProvider`] traits and the platform-neutral shapes every connector
//! (the sandbox, Meta, Google Ads) speaks (docs/platforms.md), with insights
//! broken down by country and device and the sandbox's model of that split
//! ([`breakdown`]).

pub mod breakdown;
pub mod customers;
pub mod market;
pub mod market_time;
pub mod port;

pub use breakdown::{
    BreakdownAnswer, BreakdownDimension, BreakdownQuery, BreakdownRow, Device, is_country_code,
};
pub use customers::{Customer, Order, Population, acquired, population, repeat_orders};
pub use market::{AdSetDay, CreativeQuality, DayOutcome, Market, seed_of};
pub use market_time::MarketTime;
pub use port::{
    AccountInfo, AccountRef, AdPlatform, AdSetSpec, AdSpec, BidStrategy, CampaignSpec,
    CreativeSpec, DeliveryStatus, InsightLevel, InsightRow, InsightsQuery, OAuthProvider,
    ObjectKind, Objective, PlatformError, QuotaState, Targeting, TokenSet, is_pkce_verifier,
    pkce_challenge,
};
