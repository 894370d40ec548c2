//! Random tokens and their storage form: opaque bearer tokens (refresh,
//! password reset, session, CSRF), invite codes, API keys and MFA recovery
//! codes, all drawn from the operating system's random source, and the
//! SHA-256 hash that is stored instead of the token.
//!
//! Tokens carry 256 bits (or, for recovery codes, about 50 bits behind a
//! use-once rule and sign-in throttling) of randomness, so an unsalted fast
//! hash is enough: there is no dictionary to try, and the hash lets the
//! server look a token up by equality without keeping it.
//!
//! # Panics
//!
//! Functions here that return a bare token panic if the operating system's
//! random source fails. On the supported platforms (Linux `getrandom(2)`,
//! macOS, Windows) it does not fail once the system has booted, and there is
//! no safe way to continue without randomness.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The 64 characters of the URL-safe base64 alphabet (RFC 4648 §5).
const URLSAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/// Lower-case letters and digits: API key prefixes (easy to read in logs).
const LOWER_ALNUM: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
/// Recovery codes: lower-case letters and digits without the look-alikes
/// 0/o, 1/l/i, so a code read from paper is typed correctly.
const RECOVERY_ALPHABET: &[u8; 31] = b"abcdefghjkmnpqrstuvwxyz23456789";

/// Characters in an [`opaque_token`]: 43 × 6 bits = 258 ≥ 256 bits.
pub const OPAQUE_TOKEN_CHARS: usize = 43;
/// The start of every invite code.
pub const INVITE_CODE_PREFIX: &str = "KIKI-";
/// Random characters after [`INVITE_CODE_PREFIX`] (96 bits).
pub const INVITE_CODE_RANDOM_CHARS: usize = 16;
/// The start of every API key.
pub const API_KEY_PREFIX: &str = "kiki_";
/// Characters of an API key's public prefix (`[a-z0-9]`).
pub const API_KEY_PREFIX_CHARS: usize = 8;
/// Characters of an API key's secret part (192 bits).
pub const API_KEY_SECRET_CHARS: usize = 32;
const API_KEY_LEN: usize = API_KEY_PREFIX.len() + API_KEY_PREFIX_CHARS + 1 + API_KEY_SECRET_CHARS;
/// Characters on each side of the dash of a recovery code.
const RECOVERY_HALF: usize = 5;

fn fill_random(buf: &mut [u8]) {
    if let Err(e) = getrandom::fill(buf) {
        // See the module docs: without randomness no credential can be made.
        panic!("the operating system's random source failed: {e}");
    }
}

/// `n` characters drawn uniformly from `alphabet` (at most 256 symbols) by
/// rejection sampling: a random byte is used only when it falls below the
/// largest multiple of the alphabet size, so no symbol is favoured.
fn random_from(alphabet: &[u8], n: usize) -> String {
    debug_assert!(!alphabet.is_empty() && alphabet.len() <= 256);
    let size = alphabet.len();
    let limit = 256 - (256 % size); // bytes in [limit, 256) would bias
    let mut out = String::with_capacity(n);
    let mut buf = [0u8; 64];
    while out.len() < n {
        fill_random(&mut buf);
        for &b in &buf {
            if usize::from(b) < limit {
                out.push(char::from(alphabet[usize::from(b) % size]));
                if out.len() == n {
                    break;
                }
            }
        }
    }
    out
}

/// `chars` characters from `[A-Za-z0-9_-]`, each uniform (6 bits of entropy).
pub fn random_urlsafe(chars: usize) -> String {
    random_from(URLSAFE, chars)
}

/// A 43-character URL-safe token carrying 256 bits: refresh, password reset,
/// session and CSRF tokens. Store [`token_hash`] of it, never the token.
pub fn opaque_token() -> String {
    random_urlsafe(OPAQUE_TOKEN_CHARS)
}

/// The lower-case hex SHA-256 of `token`: what is stored and looked up.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest.iter() {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A new invite code: `KIKI-` and 16 URL-safe characters (96 bits).
pub fn invite_code() -> String {
    let mut s = String::with_capacity(INVITE_CODE_PREFIX.len() + INVITE_CODE_RANDOM_CHARS);
    s.push_str(INVITE_CODE_PREFIX);
    s.push_str(&random_urlsafe(INVITE_CODE_RANDOM_CHARS));
    s
}

/// True when `s` has the shape of an invite code (so a form can tell an
/// invite code from an email invitation token before any lookup).
pub fn is_invite_code(s: &str) -> bool {
    s.strip_prefix(INVITE_CODE_PREFIX).is_some_and(|rest| {
        rest.len() == INVITE_CODE_RANDOM_CHARS && rest.bytes().all(|b| URLSAFE.contains(&b))
    })
}

/// A freshly made API key. `token` is shown to the user once; `prefix`
/// identifies the key in lists and logs; only `hash` is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct NewApiKey {
    pub token: String,
    pub prefix: String,
    pub hash: String,
}

impl std::fmt::Debug for NewApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewApiKey")
            .field("token", &"***")
            .field("prefix", &self.prefix)
            .field("hash", &self.hash)
            .finish()
    }
}

/// `kiki_<8 chars [a-z0-9]>_<32 URL-safe chars>` with its prefix and hash.
pub fn new_api_key() -> NewApiKey {
    let prefix = random_from(LOWER_ALNUM, API_KEY_PREFIX_CHARS);
    let secret = random_urlsafe(API_KEY_SECRET_CHARS);
    let token = format!("{API_KEY_PREFIX}{prefix}_{secret}");
    let hash = token_hash(&token);
    NewApiKey {
        token,
        prefix,
        hash,
    }
}

/// The prefix of `token` when it has the exact API-key shape, else `None`
/// (the caller then treats the bearer as an access token).
pub fn api_key_prefix(token: &str) -> Option<&str> {
    let rest = token.strip_prefix(API_KEY_PREFIX)?;
    if token.len() != API_KEY_LEN {
        return None;
    }
    let (prefix, rest) = rest.split_at_checked(API_KEY_PREFIX_CHARS)?;
    let secret = rest.strip_prefix('_')?;
    let prefix_ok = prefix.bytes().all(|b| LOWER_ALNUM.contains(&b));
    let secret_ok =
        secret.len() == API_KEY_SECRET_CHARS && secret.bytes().all(|b| URLSAFE.contains(&b));
    (prefix_ok && secret_ok).then_some(prefix)
}

/// `n` MFA recovery codes of the form `xxxxx-xxxxx` (about 49.5 bits each),
/// lower-case, from an alphabet without 0/o/1/l/i.
pub fn recovery_codes(n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            let raw = random_from(RECOVERY_ALPHABET, 2 * RECOVERY_HALF);
            format!("{}-{}", &raw[..RECOVERY_HALF], &raw[RECOVERY_HALF..])
        })
        .collect()
}

/// The form a typed recovery code is hashed and compared in: whitespace
/// removed, lower-cased, and a code typed without its dash (`ABCDE FGHIJ`,
/// `abcdefghij`) put back in the `abcde-fghij` form.
pub fn normalize_recovery_code(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    if cleaned.len() == 2 * RECOVERY_HALF && cleaned.bytes().all(|b| b.is_ascii_alphanumeric()) {
        format!(
            "{}-{}",
            &cleaned[..RECOVERY_HALF],
            &cleaned[RECOVERY_HALF..]
        )
    } else {
        cleaned
    }
}

/// Equality whose running time does not depend on where the inputs differ
/// (it does depend on their lengths, which are public for tokens).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    #[test]
    fn opaque_tokens_are_43_urlsafe_chars_and_unique() {
        let tokens: HashSet<String> = (0..1000).map(|_| opaque_token()).collect();
        assert_eq!(tokens.len(), 1000);
        assert!(
            tokens
                .iter()
                .all(|t| t.len() == 43 && t.bytes().all(|b| URLSAFE.contains(&b)))
        );
    }

    #[test]
    fn token_hash_is_lowercase_hex_sha256() {
        // FIPS 180-2 / RFC 6234 test vector "abc".
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            token_hash(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn every_urlsafe_symbol_is_drawn_roughly_equally() {
        // 64,000 draws, 1,000 expected per symbol; the standard deviation is
        // about 31, so [800, 1200] is over six sigmas wide. A biased sampler
        // (e.g. one that never draws `_`) fails.
        let s = random_urlsafe(64_000);
        let mut counts = [0u32; 256];
        for b in s.bytes() {
            counts[usize::from(b)] += 1;
        }
        for &c in URLSAFE {
            let n = counts[usize::from(c)];
            assert!(
                (800..=1200).contains(&n),
                "{} drawn {n} times",
                char::from(c)
            );
        }
    }

    #[test]
    fn rejection_sampling_covers_alphabets_that_do_not_divide_256() {
        let s = random_from(RECOVERY_ALPHABET, 31_000);
        let seen: HashSet<u8> = s.bytes().collect();
        assert_eq!(seen.len(), 31);
        let mut counts = [0u32; 256];
        for b in s.bytes() {
            counts[usize::from(b)] += 1;
        }
        for &c in RECOVERY_ALPHABET {
            let n = counts[usize::from(c)];
            assert!(
                (800..=1200).contains(&n),
                "{} drawn {n} times",
                char::from(c)
            );
        }
    }

    #[test]
    fn invite_codes_have_the_prefix_and_are_recognised() {
        let code = invite_code();
        assert!(code.starts_with("KIKI-") && code.len() == 21, "{code}");
        assert!(is_invite_code(&code));
        for bad in [
            "",
            "KIKI-",
            "KIKI-abc",
            "kiki-AAAAAAAAAAAAAAAA",
            "KIKI-AAAAAAAAAAAAAAA!",
            "KIKI-AAAAAAAAAAAAAAAAA",
        ] {
            assert!(!is_invite_code(bad), "{bad}");
        }
        assert!(is_invite_code("KIKI-AAAAAAAAAAAAAAAA"));
    }

    #[test]
    fn api_keys_have_the_documented_shape() {
        let key = new_api_key();
        assert_eq!(key.token.len(), 46);
        assert!(key.token.starts_with("kiki_"));
        assert_eq!(key.prefix.len(), 8);
        assert_eq!(&key.token[5..13], key.prefix);
        assert_eq!(key.hash, token_hash(&key.token));
        assert_eq!(api_key_prefix(&key.token), Some(key.prefix.as_str()));
        assert!(!format!("{key:?}").contains(&key.token));
    }

    #[test]
    fn api_key_prefix_refuses_other_shapes() {
        let good = "kiki_abcd1234_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef";
        assert_eq!(api_key_prefix(good), Some("abcd1234"));
        let cases = [
            "",
            "kiki_",
            "Bearer kiki_abcd1234_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef",
            "kiki_ABCD1234_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef",
            "kiki_abcd1234-ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef",
            "kiki_abcd1234_ABCDEFGHIJKLMNOPQRSTUVWXYZabcde",
            "kiki_abcd1234_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefg",
            "kiki_abcd1234_ABCDEFGHIJKLMNOPQRSTUVWXYZabcde!",
            "kiki_abcé234_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef",
            "eyJhbGciOiJIUzI1NiJ9.e30.sig",
        ];
        for c in cases {
            assert_eq!(api_key_prefix(c), None, "{c}");
        }
    }

    #[test]
    fn recovery_codes_normalise_to_themselves() {
        for code in recovery_codes(10) {
            assert_eq!(normalize_recovery_code(&code), code);
            assert_eq!(
                normalize_recovery_code(&format!("  {}  ", code.to_uppercase())),
                code
            );
            assert_eq!(normalize_recovery_code(&code.replace('-', "")), code);
            assert_eq!(normalize_recovery_code(&code.replace('-', " ")), code);
        }
        assert_eq!(normalize_recovery_code("ABCDE - FGHIJ"), "abcde-fghij");
        assert_eq!(normalize_recovery_code("abc"), "abc");
        assert!(recovery_codes(0).is_empty());
    }

    #[test]
    fn constant_time_eq_compares_contents_and_lengths() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(constant_time_eq(b"", b""));
    }

    proptest! {
        #[test]
        fn random_urlsafe_has_the_length_and_alphabet(n in 0usize..300) {
            let s = random_urlsafe(n);
            prop_assert_eq!(s.len(), n);
            prop_assert!(s.bytes().all(|b| URLSAFE.contains(&b)));
        }

        #[test]
        fn recovery_codes_have_the_shape(n in 0usize..20) {
            let codes = recovery_codes(n);
            prop_assert_eq!(codes.len(), n);
            for c in &codes {
                let (a, b) = c.split_once('-').expect("a dash");
                prop_assert_eq!(a.len(), 5);
                prop_assert_eq!(b.len(), 5);
                prop_assert!(a.bytes().chain(b.bytes()).all(|x| RECOVERY_ALPHABET.contains(&x)));
                prop_assert!(!c.contains(['0', 'o', '1', 'l', 'i']));
            }
        }

        #[test]
        fn api_key_prefix_round_trips(prefix in "[a-z0-9]{8}", secret in "[A-Za-z0-9_-]{32}") {
            let token = format!("kiki_{prefix}_{secret}");
            prop_assert_eq!(api_key_prefix(&token), Some(prefix.as_str()));
        }

        #[test]
        fn api_key_prefix_never_panics(s in "\\PC{0,60}") {
            let _ = api_key_prefix(&s);
            let _ = is_invite_code(&s);
            let _ = normalize_recovery_code(&s);
        }
    }
}
