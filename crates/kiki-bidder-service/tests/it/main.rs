//! Integration tests of the bidder service: the OpenRTB protocol over HTTP
//! (the API router and the exchange listener),
//! the line-item API, roles, the shared Redis budget and the LTV hookup.
//! Every test runs on SQLite, and on PostgreSQL with `KIKI_TEST_DATABASE_URL`.

mod api;
mod listener;
mod ltv;
mod openapi;
mod protocol;
mod roles;
mod shared;
mod support;
