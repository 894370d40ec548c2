//! Signed click ids: what the click tracker appends to the landing page
//! (`kiki_click=<id>`) so that a conversion reported later can be attributed
//! to the click without a database row written on the redirect path.
//!
//! The id is self-contained and tamper-proof: base64url (no padding) of
//!
//! ```text
//! version (1) | clicked at, unix s (8) | bid id (8) | line item (16)
//!   | organisation (16) | creative id length (1) | creative id (≤ 255)
//!   | tag (16)
//! ```
//!
//! where the tag is the first 16 bytes of HMAC-SHA256 over everything before
//! it (with a fixed label), under a key only the bidder holds. A changed
//! byte, another key, or a truncated id fails verification; the caller
//! decides how old an id may be (the attribution window).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use kiki_core::OrgId;
use sha2::Sha256;

use crate::lineitem::LineItemId;
use crate::notice::BidId;

/// The landing-page query parameter that carries the click id.
pub const CLICK_PARAM: &str = "kiki_click";
/// Bytes of the tag kept (of HMAC-SHA256's 32).
pub const CLICK_TAG_BYTES: usize = 16;
/// The longest creative id a click id carries.
pub const MAX_CREATIVE_BYTES: usize = 255;
/// A click id dated this far in the future is refused (clock skew).
pub const MAX_FUTURE_SKEW_S: i64 = 300;

const VERSION: u8 = 1;
const LABEL: &[u8] = b"kikiclk1";
/// Version, time, bid, line item, organisation, creative length.
const FIXED: usize = 1 + 8 + 8 + 16 + 16 + 1;
/// The longest id text: base64 of the longest payload and tag.
pub const MAX_CLICK_ID_LEN: usize = (FIXED + MAX_CREATIVE_BYTES + CLICK_TAG_BYTES).div_ceil(3) * 4;

/// What a click id says: which bid's click, on which line item and creative
/// of which organisation, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClickId {
    pub clicked_s: i64,
    pub bid: BidId,
    pub line_item: LineItemId,
    pub org: OrgId,
    pub creative: String,
}

kiki_core::string_enum! {
    /// Why a click id is not accepted.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum ClickIdRefusal {
        /// Not an id this bidder wrote: malformed, truncated or a tag that
        /// does not match.
        Forged = "forged",
        /// Older than the window the caller allows.
        Expired = "expired",
    }
}

/// The click-id key, keyed once. Never printed.
#[derive(Clone)]
pub struct ClickKey {
    mac: Hmac<Sha256>,
}

impl fmt::Debug for ClickKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClickKey(…)")
    }
}

impl ClickKey {
    /// A key from secret bytes (derive them from the server's secret with a
    /// label of their own).
    pub fn new(secret: &[u8]) -> ClickKey {
        // HMAC accepts keys of every length.
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
            .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()));
        ClickKey { mac }
    }

    fn tag(&self, payload: &[u8]) -> Hmac<Sha256> {
        let mut m = self.mac.clone();
        m.update(LABEL);
        m.update(payload);
        m
    }

    /// The id text of a click; `None` when the creative id is longer than
    /// [`MAX_CREATIVE_BYTES`] (no id is issued for it).
    pub fn issue(&self, c: &ClickId) -> Option<String> {
        let creative = c.creative.as_bytes();
        let len = u8::try_from(creative.len()).ok()?;
        let mut bytes = Vec::with_capacity(FIXED + creative.len() + CLICK_TAG_BYTES);
        bytes.push(VERSION);
        bytes.extend_from_slice(&c.clicked_s.to_be_bytes());
        bytes.extend_from_slice(&c.bid.0.to_be_bytes());
        bytes.extend_from_slice(c.line_item.0.as_bytes());
        bytes.extend_from_slice(c.org.0.as_bytes());
        bytes.push(len);
        bytes.extend_from_slice(creative);
        let tag = self.tag(&bytes).finalize().into_bytes();
        bytes.extend_from_slice(&tag[..CLICK_TAG_BYTES]);
        Some(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Reads an id this key issued (the tag compared in constant time) and
    /// checks its age: at most `window_s` before `now_s`, and not dated
    /// more than [`MAX_FUTURE_SKEW_S`] after it.
    pub fn verify(&self, text: &str, now_s: i64, window_s: i64) -> Result<ClickId, ClickIdRefusal> {
        let forged = ClickIdRefusal::Forged;
        if text.is_empty() || text.len() > MAX_CLICK_ID_LEN {
            return Err(forged);
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| forged)?;
        if bytes.len() < FIXED + CLICK_TAG_BYTES || bytes[0] != VERSION {
            return Err(forged);
        }
        let (payload, tag) = bytes.split_at(bytes.len() - CLICK_TAG_BYTES);
        self.tag(payload)
            .verify_truncated_left(tag)
            .map_err(|_| forged)?;
        let creative_len = usize::from(payload[FIXED - 1]);
        if payload.len() != FIXED + creative_len {
            return Err(forged);
        }
        let be8 = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&payload[at..at + 8]);
            b
        };
        let uuid = |at: usize| {
            let mut b = [0u8; 16];
            b.copy_from_slice(&payload[at..at + 16]);
            uuid::Uuid::from_bytes(b)
        };
        let creative = std::str::from_utf8(&payload[FIXED..])
            .map_err(|_| forged)?
            .to_owned();
        let clicked_s = i64::from_be_bytes(be8(1));
        if clicked_s > now_s.saturating_add(MAX_FUTURE_SKEW_S) {
            return Err(forged);
        }
        if now_s.saturating_sub(clicked_s) > window_s {
            return Err(ClickIdRefusal::Expired);
        }
        Ok(ClickId {
            clicked_s,
            bid: BidId(u64::from_be_bytes(be8(9))),
            line_item: LineItemId(uuid(17)),
            org: OrgId(uuid(33)),
            creative,
        })
    }
}

/// The landing page with `kiki_click=<id>` added to its query: the existing
/// query is kept byte for byte (a `kiki_click` already in it is replaced),
/// and the fragment stays after the query. `id` must be URL-safe as it is
/// (a click id is base64url).
pub fn with_click_param(landing: &str, id: &str) -> String {
    let (before_fragment, fragment) = match landing.find('#') {
        Some(i) => landing.split_at(i),
        None => (landing, ""),
    };
    let (base, query) = match before_fragment.find('?') {
        Some(i) => (&before_fragment[..i], Some(&before_fragment[i + 1..])),
        None => (before_fragment, None),
    };
    let mut out = String::with_capacity(landing.len() + CLICK_PARAM.len() + id.len() + 2);
    out.push_str(base);
    out.push('?');
    if let Some(q) = query {
        for pair in q.split('&').filter(|p| !p.is_empty()) {
            let name = pair.split('=').next().unwrap_or_default();
            if name == CLICK_PARAM {
                continue;
            }
            out.push_str(pair);
            out.push('&');
        }
    }
    out.push_str(CLICK_PARAM);
    out.push('=');
    out.push_str(id);
    out.push_str(fragment);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn click(creative: &str) -> ClickId {
        ClickId {
            clicked_s: 1_772_452_800,
            bid: BidId(0xabcd),
            line_item: LineItemId::from(uuid::Uuid::from_u128(7)),
            org: OrgId(uuid::Uuid::from_u128(9)),
            creative: creative.to_owned(),
        }
    }

    #[test]
    fn an_issued_id_reads_back_and_any_change_is_refused() {
        let key = ClickKey::new(b"a click key");
        let c = click("cr-1 ü");
        let id = key.issue(&c).unwrap();
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{id}"
        );
        assert_eq!(key.verify(&id, c.clicked_s + 10, 86_400), Ok(c.clone()));
        // Every single-character change is refused.
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        for i in 0..id.len() {
            let mut b = id.clone().into_bytes();
            b[i] = if b[i] == alphabet[0] {
                alphabet[1]
            } else {
                alphabet[0]
            };
            let changed = String::from_utf8(b).unwrap();
            assert_eq!(
                key.verify(&changed, c.clicked_s, 86_400),
                Err(ClickIdRefusal::Forged),
                "position {i}"
            );
        }
        // Truncated, empty, not base64, another key, too long.
        for bad in [&id[..id.len() - 4], "", "not base64!", &"A".repeat(2_000)] {
            assert_eq!(
                key.verify(bad, c.clicked_s, 86_400),
                Err(ClickIdRefusal::Forged)
            );
        }
        assert_eq!(
            ClickKey::new(b"another key").verify(&id, c.clicked_s, 86_400),
            Err(ClickIdRefusal::Forged)
        );
        assert!(id.len() <= MAX_CLICK_ID_LEN);
        assert_eq!(format!("{key:?}"), "ClickKey(…)");
    }

    #[test]
    fn an_id_expires_after_the_window_and_may_not_come_from_the_future() {
        let key = ClickKey::new(b"k");
        let c = click("cr");
        let id = key.issue(&c).unwrap();
        assert!(key.verify(&id, c.clicked_s + 100, 100).is_ok());
        assert_eq!(
            key.verify(&id, c.clicked_s + 101, 100),
            Err(ClickIdRefusal::Expired)
        );
        assert!(
            key.verify(&id, c.clicked_s - MAX_FUTURE_SKEW_S, 100)
                .is_ok()
        );
        assert_eq!(
            key.verify(&id, c.clicked_s - MAX_FUTURE_SKEW_S - 1, 100),
            Err(ClickIdRefusal::Forged)
        );
    }

    #[test]
    fn a_creative_id_too_long_gets_no_click_id() {
        let key = ClickKey::new(b"k");
        assert!(key.issue(&click(&"c".repeat(255))).is_some());
        assert!(key.issue(&click(&"c".repeat(256))).is_none());
    }

    #[test]
    fn the_click_param_keeps_the_query_and_the_fragment() {
        for (landing, want) in [
            (
                "https://shop.example/",
                "https://shop.example/?kiki_click=ID",
            ),
            (
                "https://shop.example/p?utm_source=kiki&q=a%20b",
                "https://shop.example/p?utm_source=kiki&q=a%20b&kiki_click=ID",
            ),
            (
                "https://shop.example/p?a=1#section-2",
                "https://shop.example/p?a=1&kiki_click=ID#section-2",
            ),
            (
                "https://shop.example/p#frag?not=query",
                "https://shop.example/p?kiki_click=ID#frag?not=query",
            ),
            (
                "https://shop.example/p?",
                "https://shop.example/p?kiki_click=ID",
            ),
            (
                "https://shop.example/p?kiki_click=OLD&b=2&kiki_click",
                "https://shop.example/p?b=2&kiki_click=ID",
            ),
            (
                "https://shop.example/p?kiki_clicks=1",
                "https://shop.example/p?kiki_clicks=1&kiki_click=ID",
            ),
        ] {
            assert_eq!(with_click_param(landing, "ID"), want, "{landing}");
        }
    }
}
