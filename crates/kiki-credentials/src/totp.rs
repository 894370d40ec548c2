//! Time-based one-time passwords (RFC 6238) with the parameters every
//! authenticator app supports: HMAC-SHA-1, 6 digits, 30-second steps; the
//! `otpauth://` enrolment URI (the Key URI format authenticator apps read)
//! and its QR code as SVG.
//!
//! Verification accepts the current step and one step either side (RFC 6238
//! §5.2 recommends at most one step of network delay) and returns the step
//! that matched, so the caller can store it and refuse the same or an older
//! step next time: a code is accepted once (RFC 6238 §5.2).

use totp_rs::{Algorithm, Builder};
use zeroize::Zeroizing;

use crate::error::CredentialError;
use crate::tokens::constant_time_eq;

/// Seconds per TOTP step.
pub const TOTP_STEP_SECS: u64 = 30;
/// Digits of a code.
pub const TOTP_DIGITS: u8 = 6;
/// Bytes of a generated secret (RFC 4226 §4 recommends 160 bits).
pub const TOTP_SECRET_BYTES: usize = 20;
/// Fewest secret bytes accepted (RFC 4226 §4: at least 128 bits).
pub const TOTP_MIN_SECRET_BYTES: usize = 16;
/// Most secret bytes accepted (a stored secret longer than this is corrupt).
pub const TOTP_MAX_SECRET_BYTES: usize = 128;

/// A TOTP shared secret; its bytes are wiped from memory when dropped.
#[derive(Clone)]
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(***)")
    }
}

impl PartialEq for TotpSecret {
    fn eq(&self, other: &Self) -> bool {
        constant_time_eq(&self.0, &other.0)
    }
}

impl Eq for TotpSecret {}

impl TotpSecret {
    /// 20 random bytes from the operating system.
    ///
    /// # Panics
    ///
    /// If the operating system's random source fails (see [`crate::tokens`]).
    pub fn generate() -> Self {
        let mut bytes = Zeroizing::new(vec![0u8; TOTP_SECRET_BYTES]);
        if let Err(e) = getrandom::fill(&mut bytes) {
            panic!("the operating system's random source failed: {e}");
        }
        TotpSecret(bytes)
    }

    /// A secret of 16 to 128 bytes.
    pub fn from_bytes(b: Vec<u8>) -> Result<Self, CredentialError> {
        let b = Zeroizing::new(b);
        if b.len() < TOTP_MIN_SECRET_BYTES {
            return Err(CredentialError::InvalidSecret(format!(
                "A TOTP secret needs at least {TOTP_MIN_SECRET_BYTES} bytes; this one has {}.",
                b.len()
            )));
        }
        if b.len() > TOTP_MAX_SECRET_BYTES {
            return Err(CredentialError::InvalidSecret(format!(
                "A TOTP secret may have at most {TOTP_MAX_SECRET_BYTES} bytes; this one has {}.",
                b.len()
            )));
        }
        Ok(TotpSecret(b))
    }

    /// Reads RFC 4648 base32 (the form in `otpauth://` URIs): letters in
    /// either case, no padding needed; spaces and trailing `=` are ignored.
    pub fn from_base32(s: &str) -> Result<Self, CredentialError> {
        let bytes = base32_decode(s).ok_or_else(|| {
            CredentialError::InvalidSecret(
                "The TOTP secret is not valid base32 (letters A-Z and digits 2-7).".to_owned(),
            )
        })?;
        TotpSecret::from_bytes(bytes)
    }

    /// RFC 4648 base32, upper case, without padding.
    pub fn to_base32(&self) -> String {
        base32_encode(&self.0)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn base32_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    let mut buffer: u64 = 0;
    let mut bits = 0u32;
    for &b in data {
        buffer = (buffer << 8) | u64::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((buffer >> bits) & 31) as usize]));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(BASE32[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let trimmed = s.trim().trim_end_matches('=');
    let mut out = Vec::with_capacity(trimmed.len() * 5 / 8);
    let mut buffer: u64 = 0;
    let mut bits = 0u32;
    for c in trimmed.bytes() {
        if c == b' ' {
            continue;
        }
        let v = match c.to_ascii_uppercase() {
            u @ b'A'..=b'Z' => u - b'A',
            d @ b'2'..=b'7' => d - b'2' + 26,
            _ => return None,
        };
        buffer = (buffer << 5) | u64::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// The `otpauth://totp/Issuer:account?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`
/// URI an authenticator app enrols from; issuer and account are
/// percent-encoded (RFC 3986 unreserved characters stay as they are).
pub fn otpauth_uri(secret: &TotpSecret, issuer: &str, account: &str) -> String {
    let issuer = percent_encode(issuer);
    format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={TOTP_DIGITS}&period={TOTP_STEP_SECS}",
        account = percent_encode(account),
        secret = secret.to_base32(),
    )
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX_UPPER[usize::from(b >> 4)]));
            out.push(char::from(HEX_UPPER[usize::from(b & 0x0f)]));
        }
    }
    out
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// The code of `digits` digits for the step containing `unix_secs`. The
/// secret was checked on construction and `digits` is 6 or 8 here, so the
/// non-checking builder cannot produce a generator that panics.
pub(crate) fn code_with_digits(secret: &TotpSecret, unix_secs: u64, digits: u8) -> String {
    let totp = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(digits)
        .with_skew(0)
        .with_step_duration(TOTP_STEP_SECS)
        .with_secret(secret.as_bytes().to_vec())
        .build_noncompliant();
    totp.generate(unix_secs).to_string()
}

/// The 6-digit code for the step containing `unix_secs`.
pub fn code_at(secret: &TotpSecret, unix_secs: u64) -> String {
    code_with_digits(secret, unix_secs, TOTP_DIGITS)
}

/// Checks `code` (6 digits; spaces around or inside are ignored) against the
/// step of `unix_secs` and one step either side. Returns the matched step
/// number (`unix_secs / 30` ± 1). A step at or before `last_used_step` is
/// refused, so a code cannot be replayed.
pub fn verify(
    secret: &TotpSecret,
    code: &str,
    unix_secs: u64,
    last_used_step: Option<u64>,
) -> Option<u64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != usize::from(TOTP_DIGITS) || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now_step = unix_secs / TOTP_STEP_SECS;
    let mut matched = None;
    // Every candidate is computed and compared, so the time taken does not
    // say which step (if any) matched.
    for step in now_step.saturating_sub(1)..=now_step.saturating_add(1) {
        let Some(at) = step.checked_mul(TOTP_STEP_SECS) else {
            continue;
        };
        let expected = code_at(secret, at);
        let fresh = last_used_step.is_none_or(|last| step > last);
        if constant_time_eq(expected.as_bytes(), code.as_bytes()) && fresh && matched.is_none() {
            matched = Some(step);
        }
    }
    matched
}

/// A complete SVG document (starting `<svg`, without an XML declaration, so
/// it can be served as `image/svg+xml` or inlined in HTML) of `data` as a QR
/// code with error correction level M. Data too long for any QR code (over
/// 2,331 bytes at level M) yields an SVG that says so instead of a code.
pub fn qr_svg(data: &str) -> String {
    use qrcode::render::svg;
    use qrcode::{EcLevel, QrCode};

    match QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M) {
        Ok(code) => {
            let doc = code
                .render::<svg::Color<'_>>()
                .min_dimensions(200, 200)
                .quiet_zone(true)
                .build();
            match doc.find("<svg") {
                Some(i) => doc[i..].to_owned(),
                None => doc,
            }
        }
        Err(_) => concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="320" height="40" viewBox="0 0 320 40">"#,
            r#"<text x="8" y="24" font-family="sans-serif" font-size="14">Too much data for a QR code.</text>"#,
            "</svg>"
        )
        .to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B: the SHA-1 seed is the ASCII string "12345678901234567890".
    fn rfc_secret() -> TotpSecret {
        TotpSecret::from_bytes(b"12345678901234567890".to_vec()).expect("20 bytes")
    }

    #[test]
    fn rfc6238_appendix_b_sha1_vectors() {
        let cases = [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        let s = rfc_secret();
        for (t, eight) in cases {
            assert_eq!(code_with_digits(&s, t, 8), eight, "T = {t}");
            // The 6-digit code is the value mod 10^6: the last six digits.
            assert_eq!(code_at(&s, t), eight[2..], "T = {t}");
        }
    }

    #[test]
    fn codes_within_one_step_verify_and_return_their_step() {
        let s = rfc_secret();
        let now = 1_234_567_890; // step 41152263
        let step = now / 30;
        assert_eq!(verify(&s, &code_at(&s, now), now, None), Some(step));
        assert_eq!(
            verify(&s, &code_at(&s, now - 30), now, None),
            Some(step - 1)
        );
        assert_eq!(
            verify(&s, &code_at(&s, now + 30), now, None),
            Some(step + 1)
        );
        assert_eq!(verify(&s, &code_at(&s, now - 60), now, None), None);
        assert_eq!(verify(&s, &code_at(&s, now + 60), now, None), None);
    }

    #[test]
    fn a_used_step_and_older_steps_are_refused() {
        let s = rfc_secret();
        let now = 1_234_567_890;
        let step = now / 30;
        let code = code_at(&s, now);
        assert_eq!(verify(&s, &code, now, Some(step)), None);
        assert_eq!(verify(&s, &code, now, Some(step + 1)), None);
        assert_eq!(verify(&s, &code, now, Some(step - 1)), Some(step));
        let previous = code_at(&s, now - 30);
        assert_eq!(verify(&s, &previous, now, Some(step - 1)), None);
    }

    #[test]
    fn malformed_codes_are_refused() {
        let s = rfc_secret();
        let now = 1_234_567_890;
        let code = code_at(&s, now);
        assert_eq!(
            verify(&s, &format!(" {} {} ", &code[..3], &code[3..]), now, None),
            Some(now / 30)
        );
        for bad in ["", "12345", "1234567", "abcdef", "+12345", "１２３４５６"] {
            assert_eq!(verify(&s, bad, now, None), None, "{bad:?}");
        }
    }

    #[test]
    fn verify_near_the_epoch_does_not_underflow() {
        let s = rfc_secret();
        assert_eq!(verify(&s, &code_at(&s, 0), 5, None), Some(0));
        assert_eq!(verify(&s, &code_at(&s, 30), 5, None), Some(1));
        let _ = verify(&s, "123456", u64::MAX, None);
    }

    #[test]
    fn base32_round_trips_and_is_case_insensitive() {
        let s = rfc_secret();
        assert_eq!(s.to_base32(), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        let back = TotpSecret::from_base32("gezdgnbvgy3tqojqgezdgnbvgy3tqojq").expect("valid");
        assert_eq!(back, s);
        let spaced =
            TotpSecret::from_base32("GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ").expect("valid");
        assert_eq!(spaced, s);
        for n in 16..=40 {
            let bytes: Vec<u8> = (0..n).map(|i| (i * 37 + 11) as u8).collect();
            let secret = TotpSecret::from_bytes(bytes.clone()).expect("long enough");
            let again = TotpSecret::from_base32(&secret.to_base32()).expect("round trip");
            assert_eq!(again.as_bytes(), &bytes[..]);
            assert!(!secret.to_base32().contains('='));
        }
    }

    #[test]
    fn short_or_invalid_secrets_are_refused() {
        assert!(matches!(
            TotpSecret::from_bytes(vec![1; 15]),
            Err(CredentialError::InvalidSecret(_))
        ));
        assert!(TotpSecret::from_bytes(vec![1; 129]).is_err());
        assert!(
            TotpSecret::from_base32("GEZDGNBVGY3TQOJQ").is_err(),
            "10 bytes"
        );
        assert!(
            TotpSecret::from_base32("GEZDGNBVGY3TQOJ1GEZDGNBVGY3TQOJQ").is_err(),
            "1 is not base32"
        );
        assert!(TotpSecret::from_base32("").is_err());
    }

    #[test]
    fn generated_secrets_are_20_random_bytes() {
        let a = TotpSecret::generate();
        let b = TotpSecret::generate();
        assert_eq!(a.as_bytes().len(), 20);
        assert_ne!(a, b);
        assert_eq!(format!("{a:?}"), "TotpSecret(***)");
    }

    #[test]
    fn the_otpauth_uri_has_every_parameter_percent_encoded() {
        let s = rfc_secret();
        let uri = otpauth_uri(&s, "KIKI Ads", "alice+test@example.com");
        assert_eq!(
            uri,
            "otpauth://totp/KIKI%20Ads:alice%2Btest%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=KIKI%20Ads&algorithm=SHA1&digits=6&period=30"
        );
        let colon = otpauth_uri(&s, "a:b", "c:d");
        assert!(colon.starts_with("otpauth://totp/a%3Ab:c%3Ad?"), "{colon}");
    }

    #[test]
    fn qr_svg_is_a_complete_svg_document() {
        let svg = qr_svg(&otpauth_uri(&rfc_secret(), "KIKI", "alice@example.com"));
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        assert!(svg.ends_with("</svg>"));
        assert!(svg.contains("<path"));
        let too_long = qr_svg(&"x".repeat(5000));
        assert!(too_long.starts_with("<svg") && too_long.contains("Too much data"));
    }
}
