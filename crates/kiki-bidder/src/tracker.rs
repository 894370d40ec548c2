//! Signed impression and click trackers. A creative's markup may carry the
//! macros `${KIKI_IMP_URL}` (the impression beacon) and `${KIKI_CLICK_URL}`
//! (the click tracker, to be followed by the percent-encoded landing page);
//! the bidder replaces them per bid with URLs that carry the bid id, the line
//! item, the creative, the issue time and an HMAC-SHA256 tag over those four,
//! so only a URL the bidder wrote can count an impression or a click.
//!
//! ```text
//! {base}/openrtb2/imp?bid={bid}&li={line item}&cr={creative}&t={issued, unix s}&sig={tag}
//! {base}/openrtb2/click?…same…&url=
//! ```
//!
//! The tag is the first 16 bytes of HMAC-SHA256 (RFC 4868's truncation),
//! written as 32 hex digits. Test bids get URLs without `t` and `sig`: they
//! still work, and are never counted.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::lineitem::LineItemId;
use crate::notice::BidId;

/// The impression beacon macro.
pub const IMP_MACRO: &str = "${KIKI_IMP_URL}";
/// The click tracker macro; the landing page follows it, percent-encoded.
pub const CLICK_MACRO: &str = "${KIKI_CLICK_URL}";
/// Bytes of the tag kept (of HMAC-SHA256's 32).
pub const TAG_BYTES: usize = 16;
/// A tracker issued this far in the future is refused (clock skew between replicas).
pub const MAX_FUTURE_SKEW_S: i64 = 300;

kiki_core::string_enum! {
    /// Which tracker.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum TrackerKind {
        Impression = "impression",
        Click = "click",
    }
}

impl TrackerKind {
    /// The macro a creative writes for this tracker.
    pub fn macro_text(self) -> &'static str {
        match self {
            TrackerKind::Impression => IMP_MACRO,
            TrackerKind::Click => CLICK_MACRO,
        }
    }

    /// The endpoint's last path segment.
    pub fn path(self) -> &'static str {
        match self {
            TrackerKind::Impression => "imp",
            TrackerKind::Click => "click",
        }
    }
}

/// The signing key, keyed once: signing a bid clones the keyed state (no key
/// schedule per bid). Never printed.
#[derive(Clone)]
pub struct TrackerKey {
    mac: Hmac<Sha256>,
}

impl fmt::Debug for TrackerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TrackerKey(…)")
    }
}

kiki_core::string_enum! {
    /// Why a tracker call does not count.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum TrackerRefusal {
        /// No `sig` (or no `t`): a hand-made URL or a test bid's.
        Unsigned = "unsigned",
        /// The tag does not match the parameters, or they are malformed.
        BadSignature = "bad_signature",
        /// Issued longer ago than the tracker's lifetime.
        Expired = "expired",
    }
}

/// The parameters of a tracker call, as the query carried them.
#[derive(Debug, Clone, Copy, Default)]
pub struct TrackerQuery<'a> {
    pub bid: Option<&'a str>,
    pub line_item: Option<LineItemId>,
    pub creative: Option<&'a str>,
    pub issued: Option<&'a str>,
    pub sig: Option<&'a str>,
}

impl TrackerKey {
    /// A key from secret bytes (any length; derive them from the server's
    /// secret with a fixed label).
    pub fn new(secret: &[u8]) -> TrackerKey {
        // HMAC accepts keys of every length.
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret)
            .unwrap_or_else(|_| <Hmac<Sha256> as KeyInit>::new(&Default::default()));
        TrackerKey { mac }
    }

    /// The tag over (bid id, line item, creative, issue time).
    pub fn sign(
        &self,
        bid: BidId,
        line_item: LineItemId,
        creative: &str,
        issued_s: i64,
    ) -> [u8; TAG_BYTES] {
        let mut m = self.mac.clone();
        m.update(&Self::message_head(bid, line_item, issued_s));
        m.update(creative.as_bytes());
        let full = m.finalize().into_bytes();
        let mut out = [0; TAG_BYTES];
        out.copy_from_slice(&full[..TAG_BYTES]);
        out
    }

    /// Fixed-size fields first, the creative id (variable) last: no two
    /// parameter sets give the same message.
    fn message_head(bid: BidId, line_item: LineItemId, issued_s: i64) -> [u8; 40] {
        let mut head = [0u8; 40];
        head[..8].copy_from_slice(b"kikitrk1");
        head[8..16].copy_from_slice(&bid.0.to_be_bytes());
        head[16..32].copy_from_slice(line_item.0.as_bytes());
        head[32..40].copy_from_slice(&issued_s.to_be_bytes());
        head
    }

    /// Checks a tracker call: the bid it counts for when the tag matches (in
    /// constant time) and the URL is younger than `lifetime_s`.
    pub fn verify(
        &self,
        q: &TrackerQuery<'_>,
        now_s: i64,
        lifetime_s: i64,
    ) -> Result<BidId, TrackerRefusal> {
        let (Some(sig), Some(issued)) = (q.sig, q.issued) else {
            return Err(TrackerRefusal::Unsigned);
        };
        let bad = TrackerRefusal::BadSignature;
        let bid = q.bid.and_then(BidId::parse).ok_or(bad)?;
        let line_item = q.line_item.ok_or(bad)?;
        let creative = q.creative.ok_or(bad)?;
        let issued_s: i64 = issued.parse().map_err(|_| bad)?;
        let tag = parse_hex_tag(sig).ok_or(bad)?;
        let mut m = self.mac.clone();
        m.update(&Self::message_head(bid, line_item, issued_s));
        m.update(creative.as_bytes());
        m.verify_truncated_left(&tag).map_err(|_| bad)?;
        if issued_s > now_s + MAX_FUTURE_SKEW_S {
            return Err(bad);
        }
        if now_s - issued_s > lifetime_s {
            return Err(TrackerRefusal::Expired);
        }
        Ok(bid)
    }
}

fn parse_hex_tag(s: &str) -> Option<[u8; TAG_BYTES]> {
    let b = s.as_bytes();
    if b.len() != 2 * TAG_BYTES {
        return None;
    }
    let mut out = [0; TAG_BYTES];
    for (i, o) in out.iter_mut().enumerate() {
        let hi = (b[2 * i] as char).to_digit(16)?;
        let lo = (b[2 * i + 1] as char).to_digit(16)?;
        *o = (hi * 16 + lo) as u8;
    }
    Some(out)
}

/// One tracker macro in a creative's compiled bid JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackerSlot {
    /// Byte offset of the macro in the creative's `bid_json`.
    pub at: usize,
    pub kind: TrackerKind,
}

/// What a creative with tracker macros keeps to write its URLs per bid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CreativeTrackers {
    pub slots: Vec<TrackerSlot>,
    /// `{base}/openrtb2/imp?bid=` and `{base}/openrtb2/click?bid=`, raw.
    pub imp_head: String,
    pub click_head: String,
    /// The same, escaped for a JSON string.
    pub imp_head_json: String,
    pub click_head_json: String,
    /// `&li={line item}&cr={creative, percent-encoded}`: JSON-safe as it is.
    pub tail: String,
}

impl CreativeTrackers {
    /// Finds the macros in the creative's escaped markup (`bid_json` starts
    /// with `"adm":` and the markup's JSON string, `adm_json_len` bytes).
    pub fn compile(
        bid_json: &str,
        adm_json_len: usize,
        base: &str,
        line_item: LineItemId,
        crid: &str,
    ) -> Option<CreativeTrackers> {
        let adm = bid_json.get(..(6 + adm_json_len).min(bid_json.len()))?;
        let mut slots = Vec::new();
        for kind in [TrackerKind::Impression, TrackerKind::Click] {
            slots.extend(
                adm.match_indices(kind.macro_text())
                    .map(|(at, _)| TrackerSlot { at, kind }),
            );
        }
        if slots.is_empty() {
            return None;
        }
        slots.sort_by_key(|s| s.at);
        let base = base.trim_end_matches('/');
        let head = |kind: TrackerKind| format!("{base}/openrtb2/{}?bid=", kind.path());
        let json = |s: &str| {
            let mut v = Vec::with_capacity(s.len() + 2);
            crate::openrtb::response::write_json_str(&mut v, s);
            String::from_utf8_lossy(&v[1..v.len() - 1]).into_owned()
        };
        let mut tail = String::from("&li=");
        tail.push_str(
            line_item
                .0
                .hyphenated()
                .encode_lower(&mut uuid::Uuid::encode_buffer()),
        );
        tail.push_str("&cr=");
        crate::notice::percent_encode_into(crid, &mut tail);
        Some(CreativeTrackers {
            slots,
            imp_head_json: json(&head(TrackerKind::Impression)),
            click_head_json: json(&head(TrackerKind::Click)),
            imp_head: head(TrackerKind::Impression),
            click_head: head(TrackerKind::Click),
            tail,
        })
    }

    /// Appends the URL of `kind` for one bid; `json` picks the escaped head.
    pub fn push_url(
        &self,
        out: &mut Vec<u8>,
        kind: TrackerKind,
        bid_hex: &[u8; 16],
        stamp: Option<(i64, [u8; TAG_BYTES])>,
        json: bool,
    ) {
        let head = match (kind, json) {
            (TrackerKind::Impression, false) => &self.imp_head,
            (TrackerKind::Impression, true) => &self.imp_head_json,
            (TrackerKind::Click, false) => &self.click_head,
            (TrackerKind::Click, true) => &self.click_head_json,
        };
        out.extend_from_slice(head.as_bytes());
        out.extend_from_slice(bid_hex);
        out.extend_from_slice(self.tail.as_bytes());
        if let Some((issued_s, tag)) = stamp {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"&t=");
            out.extend_from_slice(itoa::Buffer::new().format(issued_s).as_bytes());
            out.extend_from_slice(b"&sig=");
            for b in tag {
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 15)]);
            }
        }
        if kind == TrackerKind::Click {
            out.extend_from_slice(b"&url=");
        }
    }

    /// The markup with its macros replaced, unescaped (the serde reference
    /// path of the response).
    pub fn substitute(
        &self,
        markup: &str,
        bid_hex: &[u8; 16],
        stamp: Option<(i64, [u8; TAG_BYTES])>,
    ) -> String {
        let url = |kind| {
            let mut v = Vec::new();
            self.push_url(&mut v, kind, bid_hex, stamp, false);
            String::from_utf8_lossy(&v).into_owned()
        };
        markup
            .replace(IMP_MACRO, &url(TrackerKind::Impression))
            .replace(CLICK_MACRO, &url(TrackerKind::Click))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q<'a>(
        bid: &'a str,
        li: LineItemId,
        cr: &'a str,
        t: &'a str,
        sig: &'a str,
    ) -> TrackerQuery<'a> {
        TrackerQuery {
            bid: Some(bid),
            line_item: Some(li),
            creative: Some(cr),
            issued: Some(t),
            sig: Some(sig),
        }
    }

    #[test]
    fn a_signed_tracker_verifies_and_any_change_breaks_it() {
        let key = TrackerKey::new(b"a tracker key");
        let li = LineItemId::from(uuid::Uuid::from_u128(7));
        let bid = BidId(0xabc);
        let tag = key.sign(bid, li, "cr-1", 1_000);
        let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        let bid_hex = bid.hex();
        assert_eq!(
            key.verify(&q(&bid_hex, li, "cr-1", "1000", &hex), 1_010, 3_600),
            Ok(bid)
        );
        let other_li = LineItemId::from(uuid::Uuid::from_u128(8));
        for (b, l, c, t) in [
            ("0000000000000abd", li, "cr-1", "1000"),
            (bid_hex.as_str(), other_li, "cr-1", "1000"),
            (bid_hex.as_str(), li, "cr-2", "1000"),
            (bid_hex.as_str(), li, "cr-1", "1001"),
        ] {
            assert_eq!(
                key.verify(&q(b, l, c, t, &hex), 1_010, 3_600),
                Err(TrackerRefusal::BadSignature),
                "{b} {l} {c} {t}"
            );
        }
        // Another key's tag does not verify.
        let other = TrackerKey::new(b"another key");
        assert_eq!(
            other.verify(&q(&bid_hex, li, "cr-1", "1000", &hex), 1_010, 3_600),
            Err(TrackerRefusal::BadSignature)
        );
        assert_eq!(
            key.verify(&q(&bid_hex, li, "cr-1", "1000", &hex), 1_000 + 3_601, 3_600),
            Err(TrackerRefusal::Expired)
        );
        assert_eq!(
            key.verify(&q(&bid_hex, li, "cr-1", "1000", "zz"), 1_010, 3_600),
            Err(TrackerRefusal::BadSignature)
        );
        let unsigned = TrackerQuery {
            sig: None,
            ..q(&bid_hex, li, "cr-1", "1000", "")
        };
        assert_eq!(
            key.verify(&unsigned, 1_010, 3_600),
            Err(TrackerRefusal::Unsigned)
        );
        assert_eq!(format!("{key:?}"), "TrackerKey(…)");
    }

    #[test]
    fn macros_are_found_in_the_escaped_markup_and_written_per_bid() {
        let li = LineItemId::from(uuid::Uuid::from_u128(7));
        let markup =
            r#"<img src="${KIKI_IMP_URL}"><a href="${KIKI_CLICK_URL}https%3A%2F%2Fshop.example">"#;
        let mut adm = Vec::new();
        crate::openrtb::response::write_json_str(&mut adm, markup);
        let bid_json = format!(
            r#""adm":{},"crid":"${{KIKI_IMP_URL}}""#,
            String::from_utf8(adm.clone()).unwrap()
        );
        let t = CreativeTrackers::compile(&bid_json, adm.len(), "https://b.example/", li, "cr 1")
            .unwrap();
        // Only the markup's macros, not one in another field.
        assert_eq!(t.slots.len(), 2);
        assert_eq!(t.slots[0].kind, TrackerKind::Impression);
        assert_eq!(t.slots[1].kind, TrackerKind::Click);
        let bid = BidId(0xabc).hex_bytes();
        let s = t.substitute(markup, &bid, Some((1_000, [0xab; TAG_BYTES])));
        assert!(s.contains(&format!(
            "<img src=\"https://b.example/openrtb2/imp?bid=0000000000000abc&li={li}&cr=cr%201&t=1000&sig={}\">",
            "ab".repeat(TAG_BYTES)
        )), "{s}");
        assert!(s.contains("&url=https%3A%2F%2Fshop.example\">"), "{s}");
        let unsigned = t.substitute(markup, &bid, None);
        assert!(
            !unsigned.contains("sig=") && !unsigned.contains("&t="),
            "{unsigned}"
        );
        assert!(CreativeTrackers::compile(r#""adm":"plain""#, 7, "b", li, "c").is_none());
    }
}
