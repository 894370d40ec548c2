//! Pure credential primitives for KIKI's identity layer: argon2id password
//! hashing and the password policy, RFC 6238 TOTP, opaque tokens and their
//! hashes, API keys, invite and recovery codes, and HS256 access tokens
//! signed with a rotating key ring.
//!
//! **Invariant:** no IO except the operating system's random source, and no
//! clock reads: every function that depends on time takes it as a parameter,
//! so callers decide which clock is the authority and tests set it.
//!
//! **Boundary:** this crate knows nothing about users, sessions or storage.
//! `kiki-identity` stores what it returns (hashes, never raw tokens) and calls
//! back into it to verify.

pub mod error;
pub mod jwt;
pub mod password;
pub mod tokens;
pub mod totp;

pub use error::CredentialError;
pub use jwt::{AccessClaims, JwtError, JwtKeyring};
pub use password::{
    Argon2Params, MAX_PASSWORD_CHARS, MIN_PASSWORD_CHARS, PasswordHasher, PolicyViolation,
    check_policy, is_common,
};
pub use tokens::{
    INVITE_CODE_PREFIX, NewApiKey, api_key_prefix, constant_time_eq, invite_code, is_invite_code,
    new_api_key, normalize_recovery_code, opaque_token, random_urlsafe, recovery_codes, token_hash,
};
pub use totp::{TOTP_STEP_SECS, TotpSecret};
