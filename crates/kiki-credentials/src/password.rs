//! Passwords: argon2id hashing (RFC 9106) to PHC strings, verification that
//! costs the same for unknown accounts, re-hash detection when the parameters
//! change, and the password policy (length, the common-password list, not the
//! email address).
//!
//! Parameters default to the OWASP Password Storage Cheat Sheet's minimum for
//! argon2id: 19 MiB of memory, 2 iterations, 1 lane. Each hash carries its own
//! parameters, so raising them later only needs [`PasswordHasher::needs_rehash`]
//! at the next successful sign-in.

use std::collections::HashSet;
use std::sync::LazyLock;

use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use argon2::{Algorithm, Argon2, Params, PasswordHash, Version};
use serde::{Deserialize, Serialize};

use crate::error::CredentialError;

/// Bytes of random salt per hash (RFC 9106 §3.1 recommends 16).
const SALT_BYTES: usize = 16;
/// Bytes of hash output (RFC 9106 §4 recommends a 256-bit tag).
const OUTPUT_BYTES: usize = 32;

/// Upper bounds for parameters read from a stored hash. A stored hash decides
/// how much work a verify does; these bounds keep a corrupt or planted row
/// from making one sign-in allocate gigabytes or run for minutes.
const MAX_STORED_MEMORY_KIB: u32 = 1024 * 1024;
const MAX_STORED_ITERATIONS: u32 = 64;
const MAX_STORED_PARALLELISM: u32 = 64;

/// argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Argon2Params {
    /// Memory per hash in KiB (`m`).
    pub memory_kib: u32,
    /// Passes over the memory (`t`).
    pub iterations: u32,
    /// Lanes (`p`).
    pub parallelism: u32,
}

impl Default for Argon2Params {
    /// The OWASP Password Storage Cheat Sheet's minimum for argon2id:
    /// m = 19456 KiB (19 MiB), t = 2, p = 1.
    fn default() -> Self {
        Argon2Params {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl Argon2Params {
    /// RFC 9106 §4, second recommended option (for memory-constrained
    /// settings): m = 64 MiB, t = 3, p = 4.
    pub const RFC9106_SECOND: Argon2Params = Argon2Params {
        memory_kib: 64 * 1024,
        iterations: 3,
        parallelism: 4,
    };

    fn to_argon2(self) -> Result<Params, CredentialError> {
        Params::new(
            self.memory_kib,
            self.iterations,
            self.parallelism,
            Some(OUTPUT_BYTES),
        )
        .map_err(|e| {
            CredentialError::InvalidParams(format!(
                "The argon2id parameters m={} KiB, t={}, p={} are not usable: {e}. Memory must be at least 8 KiB per lane, iterations and lanes at least 1.",
                self.memory_kib, self.iterations, self.parallelism
            ))
        })
    }
}

/// Hashes and verifies passwords with argon2id. Cheap to clone.
#[derive(Clone)]
pub struct PasswordHasher {
    argon2: Argon2<'static>,
    params: Argon2Params,
    /// A hash of a random password made with `params`, verified against when
    /// the account does not exist so that the answer takes the same time.
    dummy_hash: String,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("algorithm", &"argon2id")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// A hasher with `params`; computes the dummy hash once (one hash's work).
    pub fn new(params: Argon2Params) -> Result<Self, CredentialError> {
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.to_argon2()?);
        let mut hasher = PasswordHasher {
            argon2,
            params,
            dummy_hash: String::new(),
        };
        let dummy_password = crate::tokens::opaque_token();
        hasher.dummy_hash = hasher.hash(&dummy_password)?;
        Ok(hasher)
    }

    /// The parameters new hashes are made with.
    pub fn params(&self) -> Argon2Params {
        self.params
    }

    /// A PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) with a fresh
    /// 16-byte salt from the operating system.
    pub fn hash(&self, password: &str) -> Result<String, CredentialError> {
        let mut salt = [0u8; SALT_BYTES];
        getrandom::fill(&mut salt).map_err(|e| {
            CredentialError::InvalidParams(format!(
                "The operating system's random source failed: {e}."
            ))
        })?;
        self.argon2
            .hash_password_with_salt(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| {
                CredentialError::InvalidParams(format!("Hashing the password failed: {e}."))
            })
    }

    /// True when `password` matches `phc`. False for a wrong password and for
    /// anything that is not a well-formed argon2 PHC string within the stored
    /// parameter bounds. The comparison of the tags is constant-time.
    pub fn verify(&self, password: &str, phc: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(phc) else {
            return false;
        };
        let Ok(params) = Params::try_from(&parsed) else {
            return false;
        };
        if params.m_cost() > MAX_STORED_MEMORY_KIB
            || params.t_cost() > MAX_STORED_ITERATIONS
            || params.p_cost() > MAX_STORED_PARALLELISM
        {
            return false;
        }
        self.argon2
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    }

    /// True when `phc` was not made with this hasher's algorithm, version and
    /// parameters (or cannot be read): the caller should store a fresh hash
    /// after the next successful verify.
    pub fn needs_rehash(&self, phc: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(phc) else {
            return true;
        };
        if parsed.algorithm.as_str() != argon2::ARGON2ID_IDENT.as_str()
            || parsed.version != Some(Version::V0x13.into())
            || parsed.salt.as_ref().is_none_or(|s| s.len() < SALT_BYTES)
            || parsed.hash.as_ref().is_none_or(|h| h.len() != OUTPUT_BYTES)
        {
            return true;
        }
        let Ok(params) = Params::try_from(&parsed) else {
            return true;
        };
        params.m_cost() != self.params.memory_kib
            || params.t_cost() != self.params.iterations
            || params.p_cost() != self.params.parallelism
    }

    /// Does the work of one [`PasswordHasher::verify`] against a hash made in
    /// [`PasswordHasher::new`], and throws the answer away. Call it when the
    /// account is unknown, so that "no such user" and "wrong password" take
    /// the same time and cannot be told apart by timing.
    pub fn verify_dummy(&self, password: &str) {
        let matched = self.verify(password, &self.dummy_hash);
        std::hint::black_box(matched);
    }
}

/// Fewest characters (Unicode scalar values) a password may have.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Most characters a password may have (bounds the hashing input).
pub const MAX_PASSWORD_CHARS: usize = 256;

/// Why a password is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyViolation {
    TooShort {
        min: usize,
    },
    TooLong {
        max: usize,
    },
    /// On the built-in list of the most common passwords.
    Common,
    /// The email address, or its local part.
    SameAsEmail,
}

impl PolicyViolation {
    /// The stable machine-readable reason.
    pub fn code(&self) -> &'static str {
        match self {
            PolicyViolation::TooShort { .. } => "too_short",
            PolicyViolation::TooLong { .. } => "too_long",
            PolicyViolation::Common => "common",
            PolicyViolation::SameAsEmail => "same_as_email",
        }
    }
}

impl std::fmt::Display for PolicyViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PolicyViolation::TooShort { min } => write!(f, "must be at least {min} characters"),
            PolicyViolation::TooLong { max } => write!(f, "must be at most {max} characters"),
            PolicyViolation::Common => {
                f.write_str("is one of the most commonly used passwords; choose another")
            }
            PolicyViolation::SameAsEmail => {
                f.write_str("must not be the same as the email address")
            }
        }
    }
}

impl std::error::Error for PolicyViolation {}

/// Checks a new password: length in Unicode scalar values (12 to 256), not
/// the email address or its local part (case-insensitive), not a common
/// password. Length is checked first so that the answer for a short common
/// password is "too short".
pub fn check_policy(password: &str, email: &str) -> Result<(), PolicyViolation> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(PolicyViolation::TooShort {
            min: MIN_PASSWORD_CHARS,
        });
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(PolicyViolation::TooLong {
            max: MAX_PASSWORD_CHARS,
        });
    }
    let email = email.trim().to_lowercase();
    if !email.is_empty() {
        let pw = password.to_lowercase();
        let local = email.rsplit_once('@').map_or(email.as_str(), |(l, _)| l);
        if pw == email || (!local.is_empty() && pw == local) {
            return Err(PolicyViolation::SameAsEmail);
        }
    }
    if is_common(password) {
        return Err(PolicyViolation::Common);
    }
    Ok(())
}

static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../data/common-passwords.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
});

/// True when `password`, lower-cased, is on the built-in list of the 10,000
/// most common passwords (see `data/README.md` for its source), is such a
/// password padded with digits or symbols (`password1234`, `!!monkey2024`),
/// or is a sequential or repeated run (`qwertyuiopas`, `abcdefghijkl`,
/// `111111111111`) — the "dictionary words, repetitive or sequential
/// characters" NIST SP 800-63B §5.1.1.2 asks verifiers to refuse.
pub fn is_common(password: &str) -> bool {
    let pw = password.to_lowercase();
    if COMMON_PASSWORDS.contains(pw.as_str()) {
        return true;
    }
    let padding = |c: char| c.is_ascii_digit() || c.is_ascii_punctuation() || c == ' ';
    let core = pw.trim_matches(padding);
    if core.len() >= 4 && core.len() < pw.len() && COMMON_PASSWORDS.contains(core) {
        return true;
    }
    is_run(&pw)
}

/// Keyboard rows and columns, the alphabet and the digits, in order.
const RUNS: &[&str] = &[
    "qwertyuiopasdfghjklzxcvbnm",
    "azertyuiopqsdfghjklmwxcvbn",
    "qwertzuiopasdfghjklyxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    "abcdefghijklmnopqrstuvwxyz",
    "12345678901234567890",
];

/// One character repeated, or a stretch of one of [`RUNS`] (either direction).
fn is_run(pw: &str) -> bool {
    let mut chars = pw.chars();
    if let Some(first) = chars.next()
        && chars.all(|c| c == first)
    {
        return true;
    }
    RUNS.iter().any(|run| {
        let reversed: String = run.chars().rev().collect();
        run.contains(pw) || reversed.contains(pw)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_common_passwords_and_runs_are_common() {
        for p in [
            "password1234",
            "Password1234!",
            "!!monkey2024",
            "qwertyuiopas",
            "abcdefghijkl",
            "lkjhgfdsapoi",
            "111111111111",
            "123456789012",
        ] {
            assert!(is_common(p), "{p}");
        }
        for p in ["correct horse battery", "tQ8#vLr2!mZp", "qwerty-lamp-orbit"] {
            assert!(!is_common(p), "{p}");
        }
    }

    /// Cheap parameters so the unit tests run quickly; the default parameters
    /// are covered by one test below and by the benchmark.
    fn fast() -> PasswordHasher {
        PasswordHasher::new(Argon2Params {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        })
        .expect("valid test params")
    }

    #[test]
    fn the_default_params_are_the_owasp_minimum() {
        assert_eq!(
            Argon2Params::default(),
            Argon2Params {
                memory_kib: 19456,
                iterations: 2,
                parallelism: 1
            }
        );
    }

    #[test]
    fn a_hash_verifies_its_password_and_nothing_else() {
        let h = fast();
        let phc = h.hash("correct horse battery").expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
        assert!(h.verify("correct horse battery", &phc));
        assert!(!h.verify("correct horse batterY", &phc));
        assert!(!h.verify("", &phc));
    }

    #[test]
    fn two_hashes_of_one_password_differ_by_salt() {
        let h = fast();
        let a = h.hash("same password here").expect("hash");
        let b = h.hash("same password here").expect("hash");
        assert_ne!(a, b);
        assert!(h.verify("same password here", &a) && h.verify("same password here", &b));
    }

    #[test]
    fn default_params_hash_and_verify() {
        let h = PasswordHasher::new(Argon2Params::default()).expect("default params");
        let phc = h.hash("a long enough password").expect("hash");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(h.verify("a long enough password", &phc));
        assert!(!h.needs_rehash(&phc));
    }

    #[test]
    fn malformed_hashes_never_verify() {
        let h = fast();
        let good = h.hash("password password").expect("hash");
        let cases = [
            "",
            "not a hash",
            "$argon2id$",
            "$argon2id$v=19$m=64,t=1,p=1$",
            "$bcrypt$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNo",
            &good[..good.len() - 4],
            // A planted hash asking for 64 GiB of memory is refused unread.
            "$argon2id$v=19$m=67108864,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE",
        ];
        for phc in cases {
            assert!(!h.verify("password password", phc), "{phc:?}");
        }
    }

    #[test]
    fn hashes_made_with_other_params_need_a_rehash() {
        let old = fast();
        let phc = old.hash("rotate me please").expect("hash");
        assert!(!old.needs_rehash(&phc));
        let newer = PasswordHasher::new(Argon2Params {
            memory_kib: 128,
            iterations: 1,
            parallelism: 1,
        })
        .expect("params");
        assert!(newer.needs_rehash(&phc));
        // The new hasher still verifies the old hash with the old parameters.
        assert!(newer.verify("rotate me please", &phc));
        assert!(newer.needs_rehash("garbage"));
    }

    #[test]
    fn argon2i_hashes_need_a_rehash_to_argon2id() {
        let h = fast();
        let phc = h.hash("some password ok").expect("hash");
        let as_argon2i = phc.replacen("$argon2id$", "$argon2i$", 1);
        assert!(h.needs_rehash(&as_argon2i));
    }

    #[test]
    fn unusable_params_are_refused_with_a_sentence() {
        for (m, t, p) in [(4, 1, 1), (64, 0, 1), (64, 1, 0), (16, 1, 4)] {
            let err = PasswordHasher::new(Argon2Params {
                memory_kib: m,
                iterations: t,
                parallelism: p,
            })
            .expect_err("must refuse");
            assert!(matches!(err, CredentialError::InvalidParams(_)), "{err:?}");
        }
    }

    #[test]
    fn verify_dummy_runs_against_a_hash_of_the_same_params() {
        let h = fast();
        assert!(!h.needs_rehash(&h.dummy_hash));
        h.verify_dummy("whatever was typed");
    }

    #[test]
    fn debug_shows_no_hash() {
        let h = fast();
        let s = format!("{h:?}");
        assert!(s.contains("argon2id") && !s.contains('$'), "{s}");
    }

    fn check(password: &str, email: &str, expected: Result<(), PolicyViolation>) {
        assert_eq!(
            check_policy(password, email),
            expected,
            "{password:?} / {email:?}"
        );
    }

    #[test]
    fn the_policy_checks_length_email_and_the_common_list() {
        use PolicyViolation::*;
        check("short", "a@b.c", Err(TooShort { min: 12 }));
        check("elevenchars", "a@b.c", Err(TooShort { min: 12 }));
        check("twelve chars", "a@b.c", Ok(()));
        // Counted as Unicode scalar values, not bytes: 11 × "é" is 22 bytes.
        check(&"é".repeat(11), "a@b.c", Err(TooShort { min: 12 }));
        check(&"éà".repeat(6), "a@b.c", Ok(()));
        check(&"xy".repeat(128), "a@b.c", Ok(()));
        check(&"x".repeat(257), "a@b.c", Err(TooLong { max: 256 }));
        check(
            "Alice.Smith@Example.com",
            "alice.smith@example.com",
            Err(SameAsEmail),
        );
        check(
            "ALICE.SMITH.1234",
            "alice.smith.1234@example.com",
            Err(SameAsEmail),
        );
        check("alice.smith.12345", "alice.smith.1234@example.com", Ok(()));
        check("123qweasdzxc", "a@b.c", Err(Common));
        check("1QAZ2WSX3EDC", "a@b.c", Err(Common));
        check("password", "a@b.c", Err(TooShort { min: 12 }));
        check("no email given here", "", Ok(()));
    }

    #[test]
    fn violations_have_codes_and_sentences() {
        use PolicyViolation::*;
        let cases = [
            (
                TooShort { min: 12 },
                "too_short",
                "must be at least 12 characters",
            ),
            (
                TooLong { max: 256 },
                "too_long",
                "must be at most 256 characters",
            ),
            (
                Common,
                "common",
                "is one of the most commonly used passwords; choose another",
            ),
            (
                SameAsEmail,
                "same_as_email",
                "must not be the same as the email address",
            ),
        ];
        for (v, code, text) in cases {
            assert_eq!(v.code(), code);
            assert_eq!(v.to_string(), text);
        }
    }

    #[test]
    fn the_common_list_has_ten_thousand_lowercase_entries() {
        assert_eq!(COMMON_PASSWORDS.len(), 10_000);
        assert!(COMMON_PASSWORDS.iter().all(|p| *p == p.to_lowercase()));
        assert!(is_common("123456") && is_common("PASSWORD") && is_common("qwertyuiop"));
        assert!(!is_common("a truly unusual passphrase"));
    }
}
