//! Integration tests of the HTTP edge: the real application on port 0 against
//! a fresh database (SQLite, or PostgreSQL when `KIKI_TEST_DATABASE_URL` is
//! set; Redis when `KIKI_TEST_REDIS_URL` is set).

mod cors;
mod error_tracking;
mod errors;
mod health;
mod idempotency;
mod jobs;
mod limits;
mod modules;
mod observability;
mod openapi;
mod shutdown;
mod unique_conflicts;
mod vault;
mod versioning;
