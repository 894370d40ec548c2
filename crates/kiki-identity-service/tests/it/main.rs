//! Integration tests of the identity API: the real application on port 0
//! (`TestApp`, which always mounts the identity module) against a fresh
//! database (SQLite, or PostgreSQL when `KIKI_TEST_DATABASE_URL` is set;
//! Redis when `KIKI_TEST_REDIS_URL` is set).

mod identity_apikeys;
mod identity_audit;
mod identity_auth;
mod identity_contract;
mod identity_encryption;
mod identity_input;
mod identity_invites;
mod identity_isolation;
mod identity_members;
mod identity_mfa;
mod identity_orgs;
mod identity_passwords;
mod identity_permissions;
mod identity_sessions;
