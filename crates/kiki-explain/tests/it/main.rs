//! Integration tests of kiki-explain, one binary. Every test runs on the
//! backend `kiki_store::testing::fresh_db` picks: PostgreSQL when
//! `KIKI_TEST_DATABASE_URL` is set, SQLite otherwise.

mod change;
mod decisions;
