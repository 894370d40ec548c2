//! Auth: who may do what, for which organisation.
//!
//! Organisations form a two-level tree (an agency owns client organisations;
//! a standalone business is a client without a parent). People are `users`
//! with a role per organisation (`memberships`); an agency membership reaches
//! every client under the agency with the same role. The permission matrix in
//! [`domain::model`] is the single source of truth for what a role may do.
//!
//! [`Identity`] is the service the HTTP edge calls: sign-in (OAuth2 password
//! grant with rotating refresh tokens, dashboard cookie sessions), MFA, API
//! keys, throttling, invitations, members and organisations, password changes
//! and resets, and the resolution of a request's credentials into a
//! [`Principal`] carrying its [`kiki_core::TenantScope`]. Every security-
//! relevant action writes an audit entry (kiki-shield) in the same transaction;
//! lockouts and token-family revocations also write decision records
//! (kiki-explain). Secrets are stored hashed (passwords argon2id, tokens
//! SHA-256) or encrypted (TOTP secrets, AES-256-GCM). Password hashing runs
//! on blocking threads behind a bound ([`service::hashing::HashPool`]).
//!
//! Layout: `config.rs` (the `[auth]` and `[bootstrap]` sections), `error.rs`
//! ([`IdentityError`]), [`domain`] (the permission model and the types the
//! edge sees), [`service`] ([`Identity`] and its use cases, one file per
//! area), `store.rs` (table identifiers and row types; crate-private).

pub mod config;
pub mod domain;
pub mod error;
pub mod service;
mod store;

pub use config::{AuthConfig, BootstrapConfig, DEVELOPMENT_SECRET};
pub use domain::model::{
    self, OrgKind, Permission, ProfitBasis, Role, Status, perm, permissions_of,
};
pub use domain::types::*;
pub use error::{IdentityError, Result};
pub use service::apikeys::NewApiKeyRequest;
pub use service::auth::LoginRequest;
pub use service::bootstrap;
pub use service::members::MemberAccess;
pub use service::orgs::{Me, OrgUpdate};
pub use service::passwords::Registration;
pub use service::{Identity, IdentityParts, build_jwt_keyring};
pub use store::ENCRYPTED_COLUMNS;
