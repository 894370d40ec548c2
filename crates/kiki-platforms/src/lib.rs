//! Ad platforms. This crate holds the **sandbox market**, the built-in
//! default that behaves like an ad platform with no account anywhere: what an
//! ad set buys on a platform on a day ([`market`]) and the synthetic customers
//! it acquires, who keep buying ([`customers`]). Pure: no IO, no clock (days
//! are inputs); every number is a function of the market's seed and the
//! inputs. The port the real connectors share, the connectors, the sync and
//! the demo come with the rest of the ad-platforms work (docs/platforms.md).

pub mod customers;
pub mod market;

pub use customers::{Customer, Order, Population, acquired, population, repeat_orders};
pub use market::{AdSetDay, CreativeQuality, DayOutcome, Market, seed_of};
