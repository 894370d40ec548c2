//! Integration tests of the bidder service: the OpenRTB protocol over HTTP,
//! the line-item API, roles, and the shared Redis budget. Every test runs on
//! SQLite, and on PostgreSQL with `KIKI_TEST_DATABASE_URL`.

mod api;
mod protocol;
mod roles;
mod shared;
mod support;
