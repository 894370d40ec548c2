//! [`Identity`], the identity service, and its use cases, one file per area:
//! sign-in and tokens (`auth.rs`, `sessions.rs`), passwords (`passwords.rs`),
//! MFA (`mfa.rs`), invitations (`invitations.rs`), members (`members.rs`),
//! organisations (`orgs.rs`), API keys (`apikeys.rs`), bootstrap and the demo
//! (`bootstrap.rs`), throttling and lockout (`throttle.rs`), the bounded
//! password-hashing pool (`hashing.rs`) and the outbox as a person sees it
//! (`mailbox.rs`).

pub mod apikeys;
pub mod auth;
pub mod bootstrap;
pub mod hashing;
pub mod invitations;
pub mod mailbox;
pub mod members;
pub mod mfa;
pub mod orgs;
pub mod passwords;
pub mod sessions;
pub(crate) mod throttle;

use std::sync::Arc;

use kiki_core::Clock;
use kiki_credentials::jwt::JwtKeyring;
use kiki_credentials::password::PasswordHasher;
use kiki_explain::{Decisions, Recorder};
use kiki_notify::Mail;
use kiki_shield::{AuditLog, Keyring};
use kiki_store::Db;
use secrecy::ExposeSecret;

use crate::config::{AuthConfig, DEVELOPMENT_SECRET};
use crate::error::{IdentityError, Result};

/// The identity service: cheap to clone.
#[derive(Clone)]
pub struct Identity(Arc<Inner>);

pub(crate) struct Inner {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub cfg: AuthConfig,
    pub hashes: hashing::HashPool,
    /// Key of the keyed hashes that stand for identifiers no account has
    /// (in throttle keys, audit entries and decision records).
    pub identifier_key: String,
    pub jwt: JwtKeyring,
    pub keyring: Keyring,
    /// Writes each change with its audit entry (and decision record).
    pub record: Recorder,
    /// For entries with nothing else to write (`append_now`).
    pub audit: AuditLog,
    pub mail: Mail,
    /// Base URL for links in mail (password reset, invitations).
    pub public_url: String,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("jwt_current_key", &self.0.jwt.current_kid())
            .field("encryption_current_key", &self.0.keyring.current_kid())
            .finish_non_exhaustive()
    }
}

/// What the identity service is built from.
#[derive(Debug)]
pub struct IdentityParts {
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub config: AuthConfig,
    /// `security.secret_key` (or [`DEVELOPMENT_SECRET`] in development when empty).
    pub master_secret: secrecy::SecretString,
    /// The platform's key ring (TOTP secrets are encrypted with it).
    pub keyring: Keyring,
    /// The platform's audit log and decision records: identity writes to the
    /// same chains as every other context.
    pub audit: AuditLog,
    pub decisions: Decisions,
    pub mail: Mail,
    pub public_url: String,
}

impl Identity {
    pub fn new(parts: IdentityParts) -> Result<Identity> {
        let cfg = parts.config;
        let hasher = PasswordHasher::new(cfg.argon2)?;
        let hashes = hashing::HashPool::new(
            hasher,
            cfg.hash_concurrency(),
            std::time::Duration::from_millis(cfg.hash_wait_ms),
        );
        let jwt = build_jwt_keyring(&cfg, parts.master_secret.expose_secret())?;
        let identifier_key = identifier_key(parts.master_secret.expose_secret());
        let record = Recorder::new(
            parts.db.clone(),
            parts.clock.clone(),
            parts.audit.clone(),
            parts.decisions,
        );
        Ok(Identity(Arc::new(Inner {
            db: parts.db,
            clock: parts.clock,
            cfg,
            hashes,
            identifier_key,
            jwt,
            keyring: parts.keyring,
            record,
            audit: parts.audit,
            mail: parts.mail,
            public_url: parts.public_url.trim_end_matches('/').to_owned(),
        })))
    }

    pub fn config(&self) -> &AuthConfig {
        &self.0.cfg
    }
    pub fn jwt(&self) -> &JwtKeyring {
        &self.0.jwt
    }
    pub fn hasher(&self) -> &PasswordHasher {
        self.0.hashes.hasher()
    }
    /// The bounded pool every password hash and verification runs on.
    pub fn hash_pool(&self) -> &hashing::HashPool {
        &self.0.hashes
    }
    pub(crate) fn now(&self) -> time::OffsetDateTime {
        kiki_store::schema::truncate_to_micros(self.0.clock.now())
    }
    pub(crate) fn db(&self) -> &Db {
        &self.0.db
    }
}

/// The key of identifier hashes, derived from the master secret (domain-
/// separated from the signing and encryption keys derived from it).
fn identifier_key(master_secret: &str) -> String {
    let secret = if master_secret.is_empty() {
        DEVELOPMENT_SECRET
    } else {
        master_secret
    };
    kiki_credentials::tokens::token_hash(&format!("kiki login identifier v1\0{secret}"))
}

/// The JWT key ring from `auth.jwt_keys`, or one key derived from the master secret.
pub fn build_jwt_keyring(cfg: &AuthConfig, master_secret: &str) -> Result<JwtKeyring> {
    let issuer = cfg.jwt_issuer.as_str();
    if cfg.jwt_keys.is_empty() {
        let secret = if master_secret.is_empty() {
            DEVELOPMENT_SECRET
        } else {
            master_secret
        };
        // Domain-separated from the field-encryption keys derived from the same secret.
        let key = kiki_credentials::tokens::token_hash(&format!("kiki jwt signing v1\0{secret}"));
        return Ok(JwtKeyring::new(
            "k0",
            vec![("k0".to_owned(), key.into_bytes())],
            issuer,
            issuer,
        )?);
    }
    let current = cfg.jwt_current_key.clone().ok_or_else(|| {
        IdentityError::Credential(
            "auth.jwt_current_key must name one of auth.jwt_keys (KIKI__AUTH__JWT_CURRENT_KEY)"
                .into(),
        )
    })?;
    let keys = cfg
        .jwt_keys
        .iter()
        .map(|(k, v)| (k.clone(), v.expose_secret().as_bytes().to_vec()))
        .collect();
    Ok(JwtKeyring::new(&current, keys, issuer, issuer)?)
}
