//! SyncShield: the tamper-evident audit log, field encryption with a key
//! ring and blind indexes, PII masking, and key rotation.
//!
//! - [`audit`]: every security-relevant action appends an entry to its
//!   organisation's hash chain, in the same transaction as the action;
//!   [`AuditLog::verify`] finds any later edit, deletion or reordering.
//! - [`keyring`]: AES-256-GCM for columns that hold secrets (TOTP seeds, API
//!   tokens of ad platforms), bound to their row; HMAC blind indexes for
//!   lookups by a value that is stored encrypted.
//! - [`mask`]: what the audit log is allowed to keep of emails, IPs and credentials.
//! - [`rotate`]: re-encrypts columns under the current key, resumably.

pub mod audit;
pub mod error;
pub mod keyring;
pub mod mask;
pub mod rotate;
pub mod schema;

pub use audit::{
    Actor, AuditEntry, AuditEvent, AuditFilter, AuditLog, BrokenLink, ChainReport, write_csv,
};
pub use error::ShieldError;
pub use keyring::{EncryptionConfig, Keyring, aad};
pub use mask::{mask_details, mask_email, mask_ip};
pub use rotate::{
    ColumnRotation, EncryptedColumn, RotationReport, key_usage, rotate, rotate_limited,
};
