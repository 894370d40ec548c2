//! The ad-platform tables (migrations `0014_platforms.sql`,
//! `0017_platforms_clock.sql` and `0022_breakdowns.sql`) and every query on
//! them, crate-private.
//! Every read and write of tenant rows names the organisation (the market
//! clock is the installation's, not a tenant's). The table identifiers are
//! in `schema.rs`.

pub(crate) mod breakdowns;
pub(crate) mod clock;
pub(crate) mod connections;
pub(crate) mod metrics;
pub(crate) mod objects;
pub(crate) mod sandbox;
mod schema;

/// Days are stored as `YYYY-MM-DD` text on both databases.
pub(crate) fn day_text(d: time::Date) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day]");
    d.format(&f).unwrap_or_default()
}

/// Reads a stored day.
pub(crate) fn parse_day(s: &str) -> Option<time::Date> {
    let f = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(s, &f).ok()
}
