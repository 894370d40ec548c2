//! Integration tests of the conversions service: the real app with the
//! bidder and conversions modules on port 0 against a fresh database
//! (SQLite, or PostgreSQL with `KIKI_TEST_DATABASE_URL`), with a test clock.
//! Clicks come from the bidder's own click tracker (a bid, its signed click
//! URL, the redirect), conversions through the API as the advertiser's
//! server and the snippet send them.

mod postback;
mod reads;
mod site;
mod support;
