//! Field encryption with a key ring: AES-256-GCM (NIST SP 800-38D) for values
//! stored in the database, keyed by a key id so keys can be rotated, and
//! HMAC-SHA256 blind indexes (RFC 2104) for equality lookups on encrypted
//! values. Pure: no IO, no clock.
//!
//! A stored value reads `v1:<kid>:<nonce>:<ciphertext+tag>` (base64url, no
//! padding). The nonce is 96 random bits per value. The associated data binds
//! the ciphertext to its place (`table.column:<row id>`, see [`aad`]), so a value
//! copied into another row or column does not decrypt.
//!
//! Missing keys are derived from `security.secret_key` with HKDF-SHA256
//! (RFC 5869): the field key `k0` with info `kiki field encryption v1`, the
//! blind-index key with info `kiki blind index v1`.

use std::collections::BTreeMap;
use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize, Serializer};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::ShieldError;

/// The format tag every stored value starts with.
const FORMAT: &str = "v1";
/// The key id derived from `security.secret_key` when no keys are configured.
pub const DERIVED_KID: &str = "k0";
const FIELD_INFO: &[u8] = b"kiki field encryption v1";
const INDEX_INFO: &[u8] = b"kiki blind index v1";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// The `encryption` section of the configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EncryptionConfig {
    /// Key id used for new writes. Required when `keys` is set.
    pub current_key: Option<String>,
    /// Key id → base64 (standard or url-safe) of 32 random bytes. Empty: one
    /// key "k0" derived from security.secret_key.
    #[serde(serialize_with = "redact_map")]
    pub keys: BTreeMap<String, SecretString>,
    /// base64 of 32 bytes for blind indexes; never rotated (changing it breaks
    /// lookups). Empty: derived from security.secret_key.
    #[serde(serialize_with = "redact_option")]
    pub index_key: Option<SecretString>,
}

fn redact_map<S: Serializer>(
    keys: &BTreeMap<String, SecretString>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut m = s.serialize_map(Some(keys.len()))?;
    for kid in keys.keys() {
        m.serialize_entry(kid, "***")?;
    }
    m.end()
}

fn redact_option<S: Serializer>(v: &Option<SecretString>, s: S) -> Result<S::Ok, S::Error> {
    match v {
        Some(_) => s.serialize_some("***"),
        None => s.serialize_none(),
    }
}

struct FieldKey {
    kid: String,
    cipher: Aes256Gcm,
}

struct Inner {
    current: usize,
    keys: Vec<FieldKey>,
    index_key: Zeroizing<[u8; 32]>,
    /// Keys added while running ([`Keyring::add_decryption_keys`]), for
    /// decryption only: new writes keep using the current key.
    added: std::sync::RwLock<Vec<Arc<FieldKey>>>,
}

/// The field-encryption keys and the blind-index key. Cheap to clone; key
/// material is zeroized when the last clone is dropped (the ciphers zeroize
/// their expanded keys, the raw key bytes are only held in `Zeroizing`).
#[derive(Clone)]
pub struct Keyring(Arc<Inner>);

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("current_kid", &self.current_kid())
            .field("kids", &self.kids())
            .finish_non_exhaustive()
    }
}

/// The associated data of an encrypted column value: `table.column:<uuid>`.
pub fn aad(table: &str, column: &str, row_id: uuid::Uuid) -> String {
    format!("{table}.{column}:{row_id}")
}

/// A key id is short, printable and cannot contain the `:` separator.
fn check_kid(kid: &str, setting: &str) -> Result<(), ShieldError> {
    let ok = !kid.is_empty()
        && kid.len() <= 32
        && kid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(ShieldError::Config(format!(
            "{setting} `{kid}` is not a valid key id: use 1 to 32 letters, digits, `_` or `-`."
        )))
    }
}

/// Decodes base64 (standard or url-safe, padded or not) of exactly 32 bytes.
fn decode_key(b64: &str) -> Option<Zeroizing<[u8; 32]>> {
    let b64 = b64.trim();
    let bytes = Zeroizing::new(
        [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
            .iter()
            .find_map(|engine| engine.decode(b64).ok())?,
    );
    let mut key = Zeroizing::new([0u8; 32]);
    if bytes.len() != key.len() {
        return None;
    }
    key.copy_from_slice(&bytes);
    Some(key)
}

fn derive(master_secret: &str, info: &[u8]) -> Result<Zeroizing<[u8; 32]>, ShieldError> {
    if master_secret.is_empty() {
        return Err(ShieldError::Config(
            "security.secret_key is empty, so no encryption key can be derived from it: set security.secret_key or encryption.keys and encryption.index_key.".to_owned(),
        ));
    }
    let hk = hkdf::Hkdf::<Sha256>::new(None, master_secret.as_bytes());
    let mut okm = Zeroizing::new([0u8; 32]);
    hk.expand(info, okm.as_mut_slice())
        .map_err(|e| ShieldError::Config(format!("deriving a key failed: {e}")))?;
    Ok(okm)
}

fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Lowercase hexadecimal.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    s
}

/// The parts of a stored value, borrowed from it.
struct Parsed<'a> {
    kid: &'a str,
    nonce: &'a str,
    body: &'a str,
}

fn parse(stored: &str) -> Option<Parsed<'_>> {
    let mut parts = stored.split(':');
    let (format, kid, nonce, body) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if format != FORMAT || parts.next().is_some() || kid.is_empty() {
        return None;
    }
    Some(Parsed { kid, nonce, body })
}

impl Keyring {
    /// A key ring from raw keys. `current_kid` must be one of `keys`; key ids
    /// are 1 to 32 of `[A-Za-z0-9_-]` and unique.
    pub fn new(
        current_kid: &str,
        keys: Vec<(String, [u8; 32])>,
        index_key: [u8; 32],
    ) -> Result<Keyring, ShieldError> {
        let keys = keys
            .into_iter()
            .map(|(kid, key)| (kid, Zeroizing::new(key)))
            .collect();
        Self::build(
            current_kid,
            keys,
            Zeroizing::new(index_key),
            "the current key id",
        )
    }

    fn build(
        current_kid: &str,
        keys: Vec<(String, Zeroizing<[u8; 32]>)>,
        index_key: Zeroizing<[u8; 32]>,
        current_setting: &str,
    ) -> Result<Keyring, ShieldError> {
        let mut built: Vec<FieldKey> = Vec::with_capacity(keys.len());
        for (kid, key) in keys {
            check_kid(&kid, "the key id")?;
            if built.iter().any(|k| k.kid == kid) {
                return Err(ShieldError::Config(format!(
                    "the key id `{kid}` appears twice in the key ring."
                )));
            }
            let cipher = Aes256Gcm::new_from_slice(key.as_slice())
                .map_err(|e| ShieldError::Config(format!("key `{kid}` is unusable: {e}")))?;
            built.push(FieldKey { kid, cipher });
        }
        let current = built
            .iter()
            .position(|k| k.kid == current_kid)
            .ok_or_else(|| {
                ShieldError::Config(format!(
                    "{current_setting} `{current_kid}` is not in encryption.keys."
                ))
            })?;
        Ok(Keyring(Arc::new(Inner {
            current,
            keys: built,
            index_key,
            added: std::sync::RwLock::new(Vec::new()),
        })))
    }

    /// From configuration; derives missing keys from `master_secret` with
    /// HKDF-SHA256 (RFC 5869), info "kiki field encryption v1" (kid "k0") and
    /// "kiki blind index v1".
    ///
    /// When `encryption.keys` is set but does not define `k0`, the derived `k0`
    /// stays in the ring for decryption only, so values written before keys
    /// were configured can still be read and rotated to the new current key.
    pub fn from_config(
        cfg: &EncryptionConfig,
        master_secret: &str,
    ) -> Result<Keyring, ShieldError> {
        let mut keys: Vec<(String, Zeroizing<[u8; 32]>)> = Vec::with_capacity(cfg.keys.len() + 1);
        for (kid, secret) in &cfg.keys {
            check_kid(kid, "encryption.keys has a key id")?;
            let key = decode_key(secret.expose_secret()).ok_or_else(|| {
                ShieldError::Config(format!(
                    "encryption.keys.{kid} is not base64 of 32 bytes (generate one with `openssl rand -base64 32`)."
                ))
            })?;
            keys.push((kid.clone(), key));
        }
        let current = match (&cfg.current_key, cfg.keys.is_empty()) {
            (Some(kid), _) => kid.clone(),
            (None, true) => DERIVED_KID.to_owned(),
            (None, false) => {
                return Err(ShieldError::Config(
                    "encryption.current_key is required when encryption.keys is set: name the key new values are written with.".to_owned(),
                ));
            }
        };
        if !cfg.keys.contains_key(DERIVED_KID) && !master_secret.is_empty() {
            keys.push((DERIVED_KID.to_owned(), derive(master_secret, FIELD_INFO)?));
        } else if keys.is_empty() {
            // No keys configured and nothing to derive from: say which setting to fix.
            derive(master_secret, FIELD_INFO)?;
        }
        let index_key = match &cfg.index_key {
            Some(secret) => decode_key(secret.expose_secret()).ok_or_else(|| {
                ShieldError::Config(
                    "encryption.index_key is not base64 of 32 bytes (generate one with `openssl rand -base64 32`).".to_owned(),
                )
            })?,
            None => derive(master_secret, INDEX_INFO)?,
        };
        if !keys.iter().any(|(kid, _)| *kid == current) {
            check_kid(&current, "encryption.current_key")?;
        }
        Self::build(&current, keys, index_key, "encryption.current_key")
    }

    /// The key id new values are written with.
    pub fn current_kid(&self) -> &str {
        &self.0.keys[self.0.current].kid
    }

    /// Every key id in the ring, sorted.
    pub fn kids(&self) -> Vec<String> {
        let mut kids: Vec<String> = self.0.keys.iter().map(|k| k.kid.clone()).collect();
        kids.extend(self.added().iter().map(|k| k.kid.clone()));
        kids.sort();
        kids
    }

    fn added(&self) -> std::sync::RwLockReadGuard<'_, Vec<Arc<FieldKey>>> {
        self.0.added.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds the keys of `cfg.keys` this ring does not have yet, for
    /// decryption only, to this ring and every clone of it: during a
    /// rotation, values another replica already writes with a new key can be
    /// read here before this process restarts onto it. Key ids already in the
    /// ring are left as they are (changing a key's bytes would make its values
    /// unreadable). Returns the key ids added.
    pub fn add_decryption_keys(&self, cfg: &EncryptionConfig) -> Result<Vec<String>, ShieldError> {
        let known = self.kids();
        let mut fresh = Vec::new();
        for (kid, secret) in &cfg.keys {
            if known.iter().any(|k| k == kid) {
                continue;
            }
            check_kid(kid, "encryption.keys has a key id")?;
            let key = decode_key(secret.expose_secret()).ok_or_else(|| {
                ShieldError::Config(format!("encryption.keys.{kid} is not base64 of 32 bytes."))
            })?;
            let cipher = Aes256Gcm::new_from_slice(key.as_slice())
                .map_err(|e| ShieldError::Config(format!("key `{kid}` is unusable: {e}")))?;
            fresh.push(Arc::new(FieldKey {
                kid: kid.clone(),
                cipher,
            }));
        }
        let kids: Vec<String> = fresh.iter().map(|k| k.kid.clone()).collect();
        if !fresh.is_empty() {
            self.0
                .added
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .extend(fresh);
        }
        Ok(kids)
    }

    /// "v1:<kid>:<nonce base64url no pad>:<ciphertext+tag base64url no pad>",
    /// 96-bit random nonce, `aad` bound as associated data (use
    /// `aad(table, column, row_id)`), so a ciphertext copied to another row fails.
    ///
    /// # Panics
    /// Only when the operating system's random source fails, which leaves no
    /// safe way to pick a nonce; [`Keyring::try_encrypt`] returns that as an error.
    pub fn encrypt(&self, plaintext: &[u8], aad: &str) -> String {
        match self.try_encrypt(plaintext, aad) {
            Ok(s) => s,
            Err(e) => panic!("field encryption is impossible: {e}"),
        }
    }

    /// [`Keyring::encrypt`] that reports a failing random source (or a
    /// plaintext over AES-GCM's 64 GiB limit) instead of panicking.
    pub fn try_encrypt(&self, plaintext: &[u8], aad: &str) -> Result<String, ShieldError> {
        let key = &self.0.keys[self.0.current];
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|e| {
            ShieldError::Crypto(format!("the operating system's random source failed: {e}"))
        })?;
        let body = key
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| ShieldError::Crypto("the value is too long to encrypt".to_owned()))?;
        Ok(format!(
            "{FORMAT}:{}:{}:{}",
            key.kid,
            b64url(&nonce),
            b64url(&body)
        ))
    }

    /// Decrypts a value written by [`Keyring::encrypt`] with the same `aad`.
    pub fn decrypt(&self, stored: &str, aad: &str) -> Result<Vec<u8>, ShieldError> {
        let p = parse(stored).ok_or_else(|| {
            ShieldError::Crypto(
                "the stored value is not an encrypted value of format v1".to_owned(),
            )
        })?;
        let added;
        let key: &FieldKey = match self.0.keys.iter().find(|k| k.kid == p.kid) {
            Some(k) => k,
            None => {
                added = self
                    .added()
                    .iter()
                    .find(|k| k.kid == p.kid)
                    .cloned()
                    .ok_or_else(|| {
                        ShieldError::Crypto(format!(
                            "the value is encrypted with key `{}`, which is not in the key ring (add it to encryption.keys)",
                            p.kid
                        ))
                    })?;
                &added
            }
        };
        let nonce: [u8; NONCE_LEN] = URL_SAFE_NO_PAD
            .decode(p.nonce)
            .ok()
            .and_then(|n| n.try_into().ok())
            .ok_or_else(|| {
                ShieldError::Crypto("the stored value has a malformed nonce".to_owned())
            })?;
        let body = URL_SAFE_NO_PAD
            .decode(p.body)
            .ok()
            .filter(|b| b.len() >= TAG_LEN)
            .ok_or_else(|| {
                ShieldError::Crypto("the stored value has a malformed ciphertext".to_owned())
            })?;
        key.cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: &body,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| {
                ShieldError::Crypto(format!(
                    "the value does not authenticate under key `{}` for `{aad}` (tampered, or copied from another row)",
                    p.kid
                ))
            })
    }

    /// [`Keyring::encrypt`] for text.
    pub fn encrypt_str(&self, plaintext: &str, aad: &str) -> String {
        self.encrypt(plaintext.as_bytes(), aad)
    }

    /// [`Keyring::decrypt`] for text; a plaintext that is not UTF-8 is an error.
    pub fn decrypt_str(&self, stored: &str, aad: &str) -> Result<String, ShieldError> {
        let bytes = self.decrypt(stored, aad)?;
        String::from_utf8(bytes)
            .map_err(|_| ShieldError::Crypto("the decrypted value is not UTF-8 text".to_owned()))
    }

    /// The key id of a stored value (None if not our format).
    pub fn kid_of(stored: &str) -> Option<&str> {
        parse(stored).map(|p| p.kid)
    }

    /// True when `stored` is encrypted under the current key.
    pub fn is_current(&self, stored: &str) -> bool {
        Self::kid_of(stored) == Some(self.current_kid())
    }

    /// Lowercase hex HMAC-SHA256(index_key, purpose || 0x00 || value):
    /// equality lookup without plaintext. The caller normalises the value
    /// (e.g. trimmed lowercase email).
    pub fn blind_index(&self, purpose: &str, value: &str) -> String {
        // HMAC accepts keys of any length, so this constructor cannot fail for 32 bytes.
        let mut mac =
            match <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(self.0.index_key.as_slice()) {
                Ok(m) => m,
                Err(_) => unreachable!("HMAC takes keys of any length"),
            };
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        hex(&mac.finalize().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring() -> Keyring {
        Keyring::new(
            "k1",
            vec![("k0".into(), [1u8; 32]), ("k1".into(), [2u8; 32])],
            [3u8; 32],
        )
        .unwrap()
    }

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn values_round_trip_under_the_current_key() {
        let k = ring();
        let a = aad("users", "totp_secret", uuid::Uuid::nil());
        let stored = k.encrypt_str("JBSWY3DPEHPK3PXP", &a);
        assert!(stored.starts_with("v1:k1:"), "{stored}");
        assert_eq!(Keyring::kid_of(&stored), Some("k1"));
        assert!(k.is_current(&stored));
        assert_eq!(k.decrypt_str(&stored, &a).unwrap(), "JBSWY3DPEHPK3PXP");
        assert_eq!(k.decrypt(&k.encrypt(b"", &a), &a).unwrap(), b"");
    }

    #[test]
    fn two_encryptions_of_one_value_differ() {
        let k = ring();
        assert_ne!(k.encrypt(b"same", "x"), k.encrypt(b"same", "x"));
    }

    #[test]
    fn a_value_copied_to_another_row_or_column_does_not_decrypt() {
        let k = ring();
        let row1 = uuid::Uuid::from_u128(1);
        let row2 = uuid::Uuid::from_u128(2);
        let stored = k.encrypt_str("secret", &aad("users", "totp_secret", row1));
        for other in [
            aad("users", "totp_secret", row2),
            aad("users", "email", row1),
            aad("orgs", "totp_secret", row1),
        ] {
            let err = k.decrypt(&stored, &other).unwrap_err();
            assert!(matches!(err, ShieldError::Crypto(_)), "{err:?}");
        }
    }

    #[test]
    fn tampered_or_foreign_values_are_errors_not_panics() {
        let k = ring();
        let stored = k.encrypt_str("secret", "a");
        let mut flipped = stored.clone().into_bytes();
        let last = flipped.len() - 1;
        flipped[last] = if flipped[last] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap();
        let cases = [
            flipped.as_str(),
            "",
            "plaintext",
            "v1:k1",
            "v1:k1:abc:def",
            "v1:k9:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA",
            "v2:k1:AAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAA",
            "v1:k1:AAAAAAAAAAAAAAAA:AAAA",
            "v1:k1:!!!:???",
            "v1:k1:a:b:c",
        ];
        for c in cases {
            assert!(k.decrypt(c, "a").is_err(), "{c}");
        }
        assert_eq!(Keyring::kid_of("plaintext"), None);
        assert_eq!(Keyring::kid_of("v2:k1:a:b"), None);
    }

    #[test]
    fn an_old_key_still_decrypts_after_the_current_key_changes() {
        let old = Keyring::new("k0", vec![("k0".into(), [1u8; 32])], [3u8; 32]).unwrap();
        let stored = old.encrypt_str("v", "a");
        let k = ring();
        assert!(!k.is_current(&stored));
        assert_eq!(k.decrypt_str(&stored, "a").unwrap(), "v");
    }

    #[test]
    fn blind_indexes_are_deterministic_keyed_and_separated_by_purpose() {
        let k = ring();
        let a = k.blind_index("email", "john@example.com");
        assert_eq!(a.len(), 64);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_eq!(a, k.blind_index("email", "john@example.com"));
        assert_ne!(a, k.blind_index("username", "john@example.com"));
        assert_ne!(a, k.blind_index("email", "jane@example.com"));
        // The separator keeps ("ab", "c") and ("a", "bc") apart.
        assert_ne!(k.blind_index("ab", "c"), k.blind_index("a", "bc"));
        let other = Keyring::new("k1", vec![("k1".into(), [2u8; 32])], [4u8; 32]).unwrap();
        assert_ne!(a, other.blind_index("email", "john@example.com"));
    }

    #[test]
    fn blind_index_is_hmac_sha256_of_purpose_nul_value() {
        // Known answer computed independently: HMAC-SHA256(key = 32 × 0x03,
        // message = "email" 0x00 "john@example.com"), RFC 2104.
        assert_eq!(
            ring().blind_index("email", "john@example.com"),
            "ac3f213213546cc1d7d292465887588a15f26d35cd076f326341f43c448d8117"
        );
    }

    #[test]
    fn aad_names_table_column_and_row() {
        let id = uuid::Uuid::from_u128(0x0192f0c1_aaaa_7000_8000_000000000001);
        assert_eq!(
            aad("users", "totp_secret", id),
            "users.totp_secret:0192f0c1-aaaa-7000-8000-000000000001"
        );
    }

    #[test]
    fn empty_configuration_derives_k0_and_the_index_key_from_the_secret() {
        let cfg = EncryptionConfig::default();
        let a = Keyring::from_config(&cfg, "a-long-master-secret").unwrap();
        let b = Keyring::from_config(&cfg, "a-long-master-secret").unwrap();
        let c = Keyring::from_config(&cfg, "another-master-secret").unwrap();
        assert_eq!(a.current_kid(), "k0");
        assert_eq!(a.kids(), vec!["k0"]);
        let stored = a.encrypt_str("v", "x");
        assert_eq!(b.decrypt_str(&stored, "x").unwrap(), "v");
        assert!(c.decrypt_str(&stored, "x").is_err());
        assert_eq!(a.blind_index("p", "v"), b.blind_index("p", "v"));
        assert_ne!(a.blind_index("p", "v"), c.blind_index("p", "v"));
    }

    #[test]
    fn derived_keys_follow_rfc_5869_hkdf_sha256() {
        let cfg = EncryptionConfig::default();
        let k = Keyring::from_config(&cfg, "s").unwrap();
        let mut expected = [0u8; 32];
        hkdf::Hkdf::<Sha256>::new(None, b"s")
            .expand(b"kiki field encryption v1", &mut expected)
            .unwrap();
        let explicit = Keyring::new("k0", vec![("k0".into(), expected)], [0u8; 32]).unwrap();
        let stored = explicit.encrypt_str("v", "x");
        assert_eq!(k.decrypt_str(&stored, "x").unwrap(), "v");
        // The two derived keys are distinct.
        let mut index = [0u8; 32];
        hkdf::Hkdf::<Sha256>::new(None, b"s")
            .expand(b"kiki blind index v1", &mut index)
            .unwrap();
        assert_ne!(index, expected);
        let with_index = Keyring::new("k0", vec![("k0".into(), expected)], index).unwrap();
        assert_eq!(with_index.blind_index("p", "v"), k.blind_index("p", "v"));
    }

    #[test]
    fn configured_keys_accept_standard_and_url_safe_base64_and_keep_derived_k0() {
        let std_b64 = STANDARD.encode([0xfbu8; 32]);
        let url_b64 = URL_SAFE_NO_PAD.encode([0xfbu8; 32]);
        assert_ne!(std_b64.trim_end_matches('='), url_b64);
        let cfg = EncryptionConfig {
            current_key: Some("k2".into()),
            keys: BTreeMap::from([
                ("k1".into(), secret(&std_b64)),
                ("k2".into(), secret(&url_b64)),
            ]),
            index_key: Some(secret(&STANDARD.encode([7u8; 32]))),
        };
        let k = Keyring::from_config(&cfg, "master").unwrap();
        assert_eq!(k.current_kid(), "k2");
        assert_eq!(k.kids(), vec!["k0", "k1", "k2"]);
        // Values written under the derived default key stay readable.
        let before = Keyring::from_config(&EncryptionConfig::default(), "master").unwrap();
        let stored = before.encrypt_str("v", "x");
        assert_eq!(k.decrypt_str(&stored, "x").unwrap(), "v");
        // The configured index key is used, not the derived one.
        assert_ne!(k.blind_index("p", "v"), before.blind_index("p", "v"));
    }

    #[test]
    fn configuration_errors_name_the_setting() {
        let good = STANDARD.encode([1u8; 32]);
        let cases: Vec<(EncryptionConfig, &str, &str)> = vec![
            (
                EncryptionConfig {
                    current_key: Some("k1".into()),
                    keys: BTreeMap::from([
                        ("k1".into(), secret(&good)),
                        ("k2".into(), secret("c2hvcnQ=")),
                    ]),
                    index_key: None,
                },
                "master",
                "encryption.keys.k2 is not base64 of 32 bytes",
            ),
            (
                EncryptionConfig {
                    current_key: Some("k9".into()),
                    keys: BTreeMap::from([("k1".into(), secret(&good))]),
                    index_key: None,
                },
                "master",
                "encryption.current_key `k9` is not in encryption.keys",
            ),
            (
                EncryptionConfig {
                    current_key: None,
                    keys: BTreeMap::from([("k1".into(), secret(&good))]),
                    index_key: None,
                },
                "master",
                "encryption.current_key is required",
            ),
            (
                EncryptionConfig {
                    current_key: Some("k9".into()),
                    ..EncryptionConfig::default()
                },
                "master",
                "encryption.current_key `k9` is not in encryption.keys",
            ),
            (
                EncryptionConfig {
                    index_key: Some(secret("not base64!")),
                    ..EncryptionConfig::default()
                },
                "master",
                "encryption.index_key is not base64 of 32 bytes",
            ),
            (
                EncryptionConfig::default(),
                "",
                "security.secret_key is empty",
            ),
            (
                EncryptionConfig {
                    current_key: Some("a:b".into()),
                    keys: BTreeMap::from([("a:b".into(), secret(&good))]),
                    index_key: None,
                },
                "master",
                "is not a valid key id",
            ),
        ];
        for (cfg, master, expected) in cases {
            let err = Keyring::from_config(&cfg, master).unwrap_err();
            assert!(matches!(err, ShieldError::Config(_)), "{err:?}");
            assert!(err.to_string().contains(expected), "{err} ≠ {expected}");
        }
    }

    #[test]
    fn explicit_keys_need_no_master_secret() {
        let cfg = EncryptionConfig {
            current_key: Some("k1".into()),
            keys: BTreeMap::from([("k1".into(), secret(&STANDARD.encode([1u8; 32])))]),
            index_key: Some(secret(&STANDARD.encode([2u8; 32]))),
        };
        let k = Keyring::from_config(&cfg, "").unwrap();
        assert_eq!(k.kids(), vec!["k1"]);
    }

    #[test]
    fn new_rejects_a_missing_current_key_and_duplicate_ids() {
        assert!(Keyring::new("k2", vec![("k1".into(), [1u8; 32])], [0u8; 32]).is_err());
        assert!(
            Keyring::new(
                "k1",
                vec![("k1".into(), [1u8; 32]), ("k1".into(), [2u8; 32])],
                [0u8; 32]
            )
            .is_err()
        );
    }

    #[test]
    fn secrets_are_never_printed() {
        let cfg = EncryptionConfig {
            current_key: Some("k1".into()),
            keys: BTreeMap::from([("k1".into(), secret("c2VjcmV0LWtleS1tYXRlcmlhbA=="))]),
            index_key: Some(secret("aW5kZXgta2V5")),
        };
        let json = serde_json::to_string(&cfg).unwrap();
        assert_eq!(
            json,
            r#"{"current_key":"k1","keys":{"k1":"***"},"index_key":"***"}"#
        );
        let debug = format!("{cfg:?} {:?}", ring());
        assert!(!debug.contains("c2VjcmV0"), "{debug}");
        assert!(!debug.contains("aW5kZXg"), "{debug}");
        assert!(format!("{:?}", ring()).contains("k1"));
    }

    #[test]
    fn configuration_deserialises_and_rejects_unknown_fields() {
        let cfg: EncryptionConfig =
            serde_json::from_str(r#"{"current_key":"k1","keys":{"k1":"abc"}}"#).unwrap();
        assert_eq!(cfg.current_key.as_deref(), Some("k1"));
        assert_eq!(cfg.keys["k1"].expose_secret(), "abc");
        assert!(serde_json::from_str::<EncryptionConfig>(r#"{"curent_key":"k1"}"#).is_err());
    }

    #[test]
    fn keys_added_while_running_decrypt_but_do_not_encrypt() {
        let old = EncryptionConfig {
            current_key: Some("k1".into()),
            keys: BTreeMap::from([("k1".to_owned(), secret(&STANDARD.encode([1u8; 32])))]),
            index_key: None,
        };
        let mut new = old.clone();
        new.keys
            .insert("k2".into(), secret(&STANDARD.encode([9u8; 32])));
        new.current_key = Some("k2".into());
        let running = Keyring::from_config(&old, "master").unwrap();
        let rotated = Keyring::from_config(&new, "master").unwrap();
        let written = rotated.encrypt_str("hello", "t.c:1");
        assert!(
            running.decrypt_str(&written, "t.c:1").is_err(),
            "k2 unknown before"
        );
        let clone = running.clone();
        assert_eq!(
            running.add_decryption_keys(&new).unwrap(),
            vec!["k2".to_owned()]
        );
        assert_eq!(
            clone.decrypt_str(&written, "t.c:1").unwrap(),
            "hello",
            "every clone sees it"
        );
        assert_eq!(running.current_kid(), "k1", "writes keep the current key");
        assert!(running.kids().contains(&"k2".to_owned()));
        assert!(
            running.add_decryption_keys(&new).unwrap().is_empty(),
            "added once"
        );
    }
}
