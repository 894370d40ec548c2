//! kiki-notify integration tests: the outbox on the test database (SQLite by
//! default, PostgreSQL with `KIKI_TEST_DATABASE_URL`) and the SMTP transport
//! against a small SMTP server on the loopback interface.

mod fake_smtp;
mod outbox;
mod smtp;
mod support;
