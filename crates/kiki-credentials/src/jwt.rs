//! Access tokens: short-lived HS256 JSON Web Tokens (RFC 7519, signed per
//! RFC 7515 with HMAC-SHA-256) carrying who the caller is, for which
//! organisation, with which roles, and from which sign-in session.
//!
//! Keys live in a [`JwtKeyring`] by key id (`kid` header): the current key
//! signs, every key verifies, so a key is rotated by adding a new current key
//! and removing the old one after the longest access-token lifetime.
//!
//! Verification is strict: the header must say `alg: HS256` (anything else,
//! including `none`, is refused before any key is touched; RFC 8725 §3.1),
//! the `kid` must be known, the signature must match, `iss` and `aud` must be
//! this service's, and `exp` must be after the caller's `now` with no leeway.
//! The library's own expiry check reads the system clock, so it is switched
//! off and time is checked here against the time the caller passes in.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::error::CredentialError;

/// Fewest bytes of an HS256 key (RFC 7518 §3.2: a key of the same size as
/// the hash output or larger).
pub const MIN_KEY_BYTES: usize = 32;
/// How far in the future `iat` may lie before a token is refused: replicas'
/// clocks differ by a little; a token minted further ahead is not ours.
pub const MAX_IAT_SKEW_SECS: i64 = 60;
/// Longest token accepted, in bytes (a bound on work for garbage input).
const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The claims of a KIKI access token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// The user id.
    pub sub: Uuid,
    /// The organisation the token was issued for.
    pub org: Uuid,
    /// Membership role names in `org`.
    pub roles: Vec<String>,
    /// The refresh-token family (sign-in session) id; logout revokes it.
    pub sid: Uuid,
    /// Issued at, unix seconds.
    pub iat: i64,
    /// Expires at, unix seconds (the token is refused from this second on).
    pub exp: i64,
    pub jti: Uuid,
    /// Authentication methods (RFC 8176 names): `pwd`, `mfa`.
    #[serde(default)]
    pub amr: Vec<String>,
    /// Platform superadmin.
    #[serde(default)]
    pub sa: bool,
}

/// Why an access token was refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum JwtError {
    #[error("malformed token")]
    Malformed,
    #[error("unknown signing key")]
    UnknownKey,
    #[error("invalid signature")]
    InvalidSignature,
    #[error("token expired")]
    Expired,
    #[error("token not valid: {0}")]
    Invalid(String),
}

impl JwtError {
    /// Every refusal is "credentials are missing or invalid" at the edge.
    pub fn code(&self) -> kiki_core::ErrorCode {
        kiki_core::ErrorCode::Unauthenticated
    }
}

struct Key {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

/// HS256 keys by key id. Cheap to clone; `Debug` prints key ids only.
#[derive(Clone)]
pub struct JwtKeyring {
    current_kid: String,
    keys: Arc<HashMap<String, Key>>,
    issuer: String,
    audience: String,
    validation: Arc<Validation>,
}

impl std::fmt::Debug for JwtKeyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut kids: Vec<&str> = self.keys.keys().map(String::as_str).collect();
        kids.sort_unstable();
        f.debug_struct("JwtKeyring")
            .field("current_kid", &self.current_kid)
            .field("kids", &kids)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

/// The header fields looked at before any key is used.
#[derive(Deserialize)]
struct RawHeader {
    alg: Option<serde_json::Value>,
    kid: Option<serde_json::Value>,
}

impl JwtKeyring {
    /// A ring of HS256 keys by key id; each key has at least 32 bytes,
    /// key ids are non-empty and unique, and `current_kid` (which signs) is
    /// one of them. Every key verifies.
    pub fn new(
        current_kid: &str,
        keys: Vec<(String, Vec<u8>)>,
        issuer: &str,
        audience: &str,
    ) -> Result<Self, CredentialError> {
        // Select the pure-Rust crypto provider for this process unless one was
        // chosen already; without a choice, a build that also enables another
        // provider's feature would panic at the first sign.
        let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
        if issuer.is_empty() || audience.is_empty() {
            return Err(CredentialError::InvalidKey(
                "The access-token issuer and audience must not be empty.".to_owned(),
            ));
        }
        let mut map = HashMap::with_capacity(keys.len());
        for (kid, secret) in keys {
            let secret = Zeroizing::new(secret);
            if kid.is_empty() {
                return Err(CredentialError::InvalidKey(
                    "A signing key has an empty key id.".to_owned(),
                ));
            }
            if secret.len() < MIN_KEY_BYTES {
                return Err(CredentialError::InvalidKey(format!(
                    "The signing key `{kid}` has {} bytes; HS256 keys need at least {MIN_KEY_BYTES}.",
                    secret.len()
                )));
            }
            let key = Key {
                encoding: EncodingKey::from_secret(&secret),
                decoding: DecodingKey::from_secret(&secret),
            };
            if map.insert(kid.clone(), key).is_some() {
                return Err(CredentialError::InvalidKey(format!(
                    "The signing key id `{kid}` appears twice."
                )));
            }
        }
        if !map.contains_key(current_kid) {
            return Err(CredentialError::InvalidKey(format!(
                "The current signing key id `{current_kid}` is not among the configured keys."
            )));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        Ok(JwtKeyring {
            current_kid: current_kid.to_owned(),
            keys: Arc::new(map),
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            validation: Arc::new(validation),
        })
    }

    /// The key id new tokens are signed with.
    pub fn current_kid(&self) -> &str {
        &self.current_kid
    }

    /// The issuer tokens must carry.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The audience tokens must carry.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// Signs `claims` with the current key; header `{alg: HS256, typ: JWT, kid}`.
    /// The claims are signed as given: the caller sets `iss`/`aud` from
    /// [`JwtKeyring::issuer`]/[`JwtKeyring::audience`] and the times.
    pub fn sign(&self, claims: &AccessClaims) -> Result<String, CredentialError> {
        let key = self.keys.get(&self.current_kid).ok_or_else(|| {
            CredentialError::InvalidKey(format!(
                "The current signing key `{}` is missing.",
                self.current_kid
            ))
        })?;
        let mut header = Header::new(Algorithm::HS256);
        header.typ = Some("JWT".to_owned());
        header.kid = Some(self.current_kid.clone());
        jsonwebtoken::encode(&header, claims, &key.encoding).map_err(|e| {
            CredentialError::InvalidKey(format!("Signing the access token failed: {e}."))
        })
    }

    /// Verifies `token` at `now_unix` (see the module docs for every check)
    /// and returns its claims.
    pub fn verify(&self, token: &str, now_unix: i64) -> Result<AccessClaims, JwtError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(JwtError::Malformed);
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(_), Some(_), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Malformed);
        };
        let header_json = URL_SAFE_NO_PAD
            .decode(header_b64)
            .map_err(|_| JwtError::Malformed)?;
        let header: RawHeader =
            serde_json::from_slice(&header_json).map_err(|_| JwtError::Malformed)?;
        match header.alg {
            Some(serde_json::Value::String(ref alg)) if alg == "HS256" => {}
            Some(serde_json::Value::String(alg)) => {
                return Err(JwtError::Invalid(format!(
                    "algorithm `{alg}` is not accepted"
                )));
            }
            _ => return Err(JwtError::Invalid("the algorithm is missing".to_owned())),
        }
        let key = match header.kid {
            Some(serde_json::Value::String(kid)) => {
                self.keys.get(&kid).ok_or(JwtError::UnknownKey)?
            }
            _ => return Err(JwtError::UnknownKey),
        };
        let data = jsonwebtoken::decode::<AccessClaims>(token, &key.decoding, &self.validation)
            .map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature => JwtError::InvalidSignature,
                ErrorKind::InvalidIssuer => JwtError::Invalid("wrong issuer".to_owned()),
                ErrorKind::InvalidAudience => JwtError::Invalid("wrong audience".to_owned()),
                ErrorKind::MissingRequiredClaim(c) => {
                    JwtError::Invalid(format!("the `{c}` claim is missing"))
                }
                ErrorKind::InvalidAlgorithm => JwtError::Invalid("wrong algorithm".to_owned()),
                _ => JwtError::Malformed,
            })?;
        let claims = data.claims;
        // The library checked these against the validation; checked again here
        // so the rule does not depend on its configuration semantics.
        if claims.iss != self.issuer {
            return Err(JwtError::Invalid("wrong issuer".to_owned()));
        }
        if claims.aud != self.audience {
            return Err(JwtError::Invalid("wrong audience".to_owned()));
        }
        if claims.exp <= now_unix {
            return Err(JwtError::Expired);
        }
        if claims.iat > claims.exp {
            return Err(JwtError::Invalid("issued after it expires".to_owned()));
        }
        if claims.iat > now_unix.saturating_add(MAX_IAT_SKEW_SECS) {
            return Err(JwtError::Invalid("issued in the future".to_owned()));
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn key(byte: u8) -> Vec<u8> {
        vec![byte; 32]
    }

    fn ring(current: &str, kids: &[(&str, u8)]) -> JwtKeyring {
        JwtKeyring::new(
            current,
            kids.iter()
                .map(|(k, b)| ((*k).to_owned(), key(*b)))
                .collect(),
            "https://kiki.test",
            "kiki-api",
        )
        .expect("valid ring")
    }

    fn claims() -> AccessClaims {
        AccessClaims {
            iss: "https://kiki.test".to_owned(),
            aud: "kiki-api".to_owned(),
            sub: Uuid::now_v7(),
            org: Uuid::now_v7(),
            roles: vec!["owner".to_owned()],
            sid: Uuid::now_v7(),
            iat: NOW,
            exp: NOW + 900,
            jti: Uuid::now_v7(),
            amr: vec!["pwd".to_owned(), "mfa".to_owned()],
            sa: false,
        }
    }

    fn b64(v: &serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).expect("json"))
    }

    /// Replaces the header of `token` (keeping payload and signature).
    fn with_header(token: &str, header: serde_json::Value) -> String {
        let (_, rest) = token.split_once('.').expect("a JWT");
        format!("{}.{rest}", b64(&header))
    }

    #[test]
    fn a_signed_token_round_trips() {
        let r = ring("k1", &[("k1", 1)]);
        let c = claims();
        let token = r.sign(&c).expect("sign");
        assert_eq!(r.verify(&token, NOW).expect("valid"), c);
        let (header, _) = token.split_once('.').expect("a JWT");
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("b64")).expect("json");
        assert_eq!(
            header,
            serde_json::json!({"alg": "HS256", "typ": "JWT", "kid": "k1"})
        );
    }

    #[test]
    fn amr_and_sa_default_when_absent() {
        let r = ring("k1", &[("k1", 1)]);
        let c = claims();
        let mut v = serde_json::to_value(&c).expect("json");
        let obj = v.as_object_mut().expect("object");
        obj.remove("amr");
        obj.remove("sa");
        let header = Header {
            kid: Some("k1".to_owned()),
            ..Header::new(Algorithm::HS256)
        };
        let token =
            jsonwebtoken::encode(&header, &v, &EncodingKey::from_secret(&key(1))).expect("sign");
        let got = r.verify(&token, NOW).expect("valid");
        assert!(got.amr.is_empty() && !got.sa);
    }

    #[test]
    fn tokens_of_an_old_key_verify_until_it_is_removed() {
        let old = ring("k1", &[("k1", 1)]);
        let token = old.sign(&claims()).expect("sign");
        let rotated = ring("k2", &[("k1", 1), ("k2", 2)]);
        assert!(rotated.verify(&token, NOW).is_ok());
        let fresh = rotated.sign(&claims()).expect("sign");
        let kid = jsonwebtoken::decode_header(&fresh).expect("header").kid;
        assert_eq!(kid.as_deref(), Some("k2"));
        assert!(rotated.verify(&fresh, NOW).is_ok());
        assert_eq!(old.verify(&fresh, NOW), Err(JwtError::UnknownKey));
        let retired = ring("k2", &[("k2", 2)]);
        assert_eq!(retired.verify(&token, NOW), Err(JwtError::UnknownKey));
        assert!(retired.verify(&fresh, NOW).is_ok());
    }

    #[test]
    fn a_key_id_pointing_at_a_different_secret_fails_the_signature() {
        let a = ring("k1", &[("k1", 1)]);
        let b = ring("k1", &[("k1", 9)]);
        let token = a.sign(&claims()).expect("sign");
        assert_eq!(b.verify(&token, NOW), Err(JwtError::InvalidSignature));
    }

    #[test]
    fn a_tampered_payload_fails_the_signature() {
        let r = ring("k1", &[("k1", 1)]);
        let token = r.sign(&claims()).expect("sign");
        let parts: Vec<&str> = token.split('.').collect();
        let mut evil = claims();
        evil.sa = true;
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            b64(&serde_json::to_value(&evil).expect("json")),
            parts[2]
        );
        assert_eq!(r.verify(&forged, NOW), Err(JwtError::InvalidSignature));
        // Change the first character: all six of its bits are signature bits
        // (the last character of 32 bytes in base64url also carries padding bits).
        let first = if parts[2].starts_with('A') { 'B' } else { 'A' };
        let sig = format!("{first}{}", &parts[2][1..]);
        let bad_sig = format!("{}.{}.{sig}", parts[0], parts[1]);
        assert_eq!(r.verify(&bad_sig, NOW), Err(JwtError::InvalidSignature));
    }

    #[test]
    fn other_algorithms_and_none_are_invalid() {
        let r = ring("k1", &[("k1", 1)]);
        let token = r.sign(&claims()).expect("sign");
        let none = with_header(
            &token,
            serde_json::json!({"alg": "none", "typ": "JWT", "kid": "k1"}),
        );
        assert!(matches!(r.verify(&none, NOW), Err(JwtError::Invalid(_))));
        let (unsigned, _) = none.rsplit_once('.').expect("parts");
        assert!(matches!(
            r.verify(&format!("{unsigned}."), NOW),
            Err(JwtError::Invalid(_))
        ));
        // A genuine HS512 token under a known kid is refused for its algorithm.
        let header = Header {
            kid: Some("k1".to_owned()),
            ..Header::new(Algorithm::HS512)
        };
        let hs512 = jsonwebtoken::encode(&header, &claims(), &EncodingKey::from_secret(&key(1)))
            .expect("sign");
        assert!(matches!(r.verify(&hs512, NOW), Err(JwtError::Invalid(_))));
        let no_alg = with_header(&token, serde_json::json!({"typ": "JWT", "kid": "k1"}));
        assert!(matches!(r.verify(&no_alg, NOW), Err(JwtError::Invalid(_))));
        let rs256 = with_header(&token, serde_json::json!({"alg": "RS256", "kid": "k1"}));
        assert!(matches!(r.verify(&rs256, NOW), Err(JwtError::Invalid(_))));
    }

    #[test]
    fn a_token_expires_at_exactly_exp() {
        let r = ring("k1", &[("k1", 1)]);
        let c = claims();
        let token = r.sign(&c).expect("sign");
        assert!(r.verify(&token, c.exp - 1).is_ok());
        assert_eq!(r.verify(&token, c.exp), Err(JwtError::Expired));
        assert_eq!(r.verify(&token, c.exp + 1), Err(JwtError::Expired));
    }

    #[test]
    fn wrong_audience_or_issuer_is_invalid() {
        let r = ring("k1", &[("k1", 1)]);
        let mut c = claims();
        c.aud = "someone-else".to_owned();
        let token = r.sign(&c).expect("sign");
        assert_eq!(
            r.verify(&token, NOW),
            Err(JwtError::Invalid("wrong audience".to_owned()))
        );
        let mut c = claims();
        c.iss = "https://evil.test".to_owned();
        let token = r.sign(&c).expect("sign");
        assert_eq!(
            r.verify(&token, NOW),
            Err(JwtError::Invalid("wrong issuer".to_owned()))
        );
    }

    #[test]
    fn tokens_issued_in_the_future_are_invalid() {
        let r = ring("k1", &[("k1", 1)]);
        let mut c = claims();
        c.iat = NOW + MAX_IAT_SKEW_SECS + 1;
        c.exp = c.iat + 900;
        let token = r.sign(&c).expect("sign");
        assert!(matches!(r.verify(&token, NOW), Err(JwtError::Invalid(_))));
        assert!(r.verify(&token, NOW + 1).is_ok());
    }

    #[test]
    fn garbage_is_malformed_or_unknown() {
        let r = ring("k1", &[("k1", 1)]);
        let token = r.sign(&claims()).expect("sign");
        for bad in [
            "",
            "a",
            "a.b",
            "a.b.c.d",
            "!!!.b.c",
            &format!("{token}.x"),
            &"a".repeat(10_000),
        ] {
            assert_eq!(r.verify(bad, NOW), Err(JwtError::Malformed), "{bad:.40}");
        }
        let no_kid = with_header(&token, serde_json::json!({"alg": "HS256", "typ": "JWT"}));
        assert_eq!(r.verify(&no_kid, NOW), Err(JwtError::UnknownKey));
        let numeric_kid = with_header(&token, serde_json::json!({"alg": "HS256", "kid": 1}));
        assert_eq!(r.verify(&numeric_kid, NOW), Err(JwtError::UnknownKey));
    }

    #[test]
    fn a_correctly_signed_token_with_missing_claims_is_refused() {
        let r = ring("k1", &[("k1", 1)]);
        let header = Header {
            kid: Some("k1".to_owned()),
            ..Header::new(Algorithm::HS256)
        };
        let payload =
            serde_json::json!({"iss": "https://kiki.test", "aud": "kiki-api", "exp": NOW + 60});
        let token = jsonwebtoken::encode(&header, &payload, &EncodingKey::from_secret(&key(1)))
            .expect("sign");
        assert!(r.verify(&token, NOW).is_err());
    }

    #[test]
    fn rings_refuse_short_keys_and_a_missing_current_kid() {
        let short = JwtKeyring::new("k1", vec![("k1".to_owned(), vec![0; 31])], "i", "a");
        assert!(matches!(short, Err(CredentialError::InvalidKey(_))));
        let missing = JwtKeyring::new("k9", vec![("k1".to_owned(), key(1))], "i", "a");
        assert!(matches!(missing, Err(CredentialError::InvalidKey(_))));
        let dup = JwtKeyring::new(
            "k1",
            vec![("k1".to_owned(), key(1)), ("k1".to_owned(), key(2))],
            "i",
            "a",
        );
        assert!(dup.is_err());
        let empty_kid = JwtKeyring::new("", vec![(String::new(), key(1))], "i", "a");
        assert!(empty_kid.is_err());
    }

    #[test]
    fn debug_prints_key_ids_only() {
        let r = ring("k2", &[("k1", 0x41), ("k2", 0x42)]);
        let s = format!("{r:?}");
        assert!(s.contains("\"k1\"") && s.contains("\"k2\""), "{s}");
        assert!(!s.contains("AAAA") && !s.contains("65, 65"), "{s}");
    }
}
