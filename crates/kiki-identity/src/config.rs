//! Identity settings: token lifetimes, signing keys, password hashing cost
//! and concurrency, sign-in throttling, invitation and reset lifetimes, and first-run
//! bootstrap. Embedded in the server configuration as `[auth]` and
//! `[bootstrap]`; every value has a working default.

use std::collections::BTreeMap;

use kiki_credentials::password::Argon2Params;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

/// The development signing secret used when `security.secret_key` is empty.
/// Production refuses to start without a real one (see the server's config check).
pub const DEVELOPMENT_SECRET: &str = "kiki-development-only-secret-not-for-production-use";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Access-token (JWT) lifetime in seconds. Default 900 (15 min).
    pub access_token_ttl_secs: u64,
    /// Refresh-token lifetime in days; each use rotates it. Default 30.
    pub refresh_token_ttl_days: u64,
    /// Dashboard cookie-session lifetime in hours. Default 12.
    pub session_ttl_hours: u64,
    /// JWT signing keys, key id → secret of at least 32 characters. Empty (default):
    /// one key `k0` derived from `security.secret_key`.
    #[serde(serialize_with = "serialize_secret_map")]
    pub jwt_keys: BTreeMap<String, SecretString>,
    /// Key id that signs new tokens; every key in `jwt_keys` still verifies. Required when `jwt_keys` is set.
    pub jwt_current_key: Option<String>,
    /// `iss` and `aud` of access tokens. Default `kiki`.
    pub jwt_issuer: String,
    /// argon2id cost. Default the OWASP minimum: 19456 KiB, 2 iterations, 1 lane.
    pub argon2: Argon2Params,
    /// Most password hashes and verifications running at once (each takes one
    /// core for tens of milliseconds on a blocking thread). 0 (default): the
    /// number of cores.
    pub max_concurrent_hashes: u32,
    /// Milliseconds a request waits for a free hashing slot before it is
    /// answered 503 with `Retry-After`. Default 2000.
    pub hash_wait_ms: u64,
    /// Failures per identifier or account before each further attempt must wait (doubling delay). Default 3.
    pub throttle_free_attempts: u32,
    /// Failures per identifier or account that lock sign-in to the account for `lockout_secs`. Default 10.
    pub lockout_threshold: u32,
    /// Lockout length in seconds. Default 900.
    pub lockout_secs: u64,
    /// Failures per client address within `lockout_secs` that lock that address. Default 50.
    pub ip_lockout_threshold: u32,
    /// Email invitations and invite codes expire after this many days unless set per code. Default 7.
    pub invitation_ttl_days: u64,
    /// Password-reset tokens expire after this many minutes. Default 30.
    pub password_reset_ttl_mins: u64,
    /// Name shown in authenticator apps. Default `KIKI`.
    pub mfa_issuer: String,
    /// Anyone may register a standalone organisation without an invitation. Default false.
    pub open_registration: bool,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            access_token_ttl_secs: 900,
            refresh_token_ttl_days: 30,
            session_ttl_hours: 12,
            jwt_keys: BTreeMap::new(),
            jwt_current_key: None,
            jwt_issuer: "kiki".into(),
            argon2: Argon2Params::default(),
            max_concurrent_hashes: 0,
            hash_wait_ms: 2000,
            throttle_free_attempts: 3,
            lockout_threshold: 10,
            lockout_secs: 900,
            ip_lockout_threshold: 50,
            invitation_ttl_days: 7,
            password_reset_ttl_mins: 30,
            mfa_issuer: "KIKI".into(),
            open_registration: false,
        }
    }
}

impl AuthConfig {
    /// `max_concurrent_hashes`, with 0 read as the number of cores (at least 1).
    pub fn hash_concurrency(&self) -> usize {
        match self.max_concurrent_hashes {
            0 => std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
            n => usize::try_from(n).unwrap_or(usize::MAX),
        }
    }
}

/// First-run creation of an administrator when no user exists.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BootstrapConfig {
    /// `KIKI__BOOTSTRAP__ADMIN_EMAIL`: create this superadmin at start-up if there are no users.
    pub admin_email: Option<String>,
    /// `KIKI__BOOTSTRAP__ADMIN_PASSWORD`: their password (must pass the password policy).
    #[serde(serialize_with = "serialize_opt_secret")]
    pub admin_password: Option<SecretString>,
    /// Name of the organisation created for them. Default `Default organisation`.
    pub admin_org: Option<String>,
    /// Create the demo agency, its two clients and a demo user when the database has no users
    /// (development only). Default true.
    pub demo: Option<bool>,
}

fn serialize_secret_map<S: serde::Serializer>(
    v: &BTreeMap<String, SecretString>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(v.len()))?;
    for k in v.keys() {
        m.serialize_entry(k, "***")?;
    }
    m.end()
}

fn serialize_opt_secret<S: serde::Serializer>(
    v: &Option<SecretString>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match v {
        Some(_) => s.serialize_str("***"),
        None => s.serialize_none(),
    }
}
