//! Integration tests of kiki-store, one binary. Every test runs on the backend
//! `testing::fresh_db` picks: PostgreSQL when `KIKI_TEST_DATABASE_URL` is set,
//! SQLite otherwise. Tests that need both backends, or Redis, say so.

mod backup;
mod cache;
mod db;
mod events;
mod housekeeping;
mod jobs;
mod parity;
mod scheduler;
mod support;
