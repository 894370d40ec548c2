//! Notice URLs: building the `nurl`/`burl`/`lurl` of a bid, decoding the
//! query the exchange calls back with, and parsing the substituted
//! `${AUCTION_PRICE}` macro into micros.

use std::borrow::Cow;

use kiki_core::Currency;

use super::{BidId, NoticeKind};
use crate::error::BidderError;
use crate::lineitem::LineItemId;

/// The three notice URLs of one bid, kept in one string (one allocation per
/// bid instead of four).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeUrls {
    text: String,
    /// Where `nurl` ends and `burl` begins, and where `burl` ends.
    win_end: usize,
    billing_end: usize,
}

impl NoticeUrls {
    /// Builds the URLs under `base` (e.g. `https://bid.example.com`). The bid id,
    /// impression id, line item and currency are written literally (not every
    /// exchange substitutes every macro); the price and loss code are macros.
    pub fn build(
        base: &str,
        bid: BidId,
        imp_id: &str,
        line_item: LineItemId,
        cur: Currency,
        test: bool,
    ) -> NoticeUrls {
        let base = base.trim_end_matches('/');
        let mut text = String::with_capacity(3 * (base.len() + 150) + 3 * imp_id.len());
        let push = |text: &mut String, kind: NoticeKind| {
            text.push_str(base);
            text.push_str("/openrtb2/");
            text.push_str(kind.path());
        };
        push(&mut text, NoticeKind::Win);
        let query_start = text.len();
        text.push_str("?bid=");
        bid.push_hex(&mut text);
        text.push_str("&imp=");
        percent_encode_into(imp_id, &mut text);
        text.push_str("&li=");
        text.push_str(
            line_item
                .0
                .hyphenated()
                .encode_lower(&mut uuid::Uuid::encode_buffer()),
        );
        text.push_str("&cur=");
        text.push_str(cur.as_str());
        if test {
            text.push_str("&test=1");
        }
        text.push_str("&price=${AUCTION_PRICE}");
        let win_end = text.len();
        push(&mut text, NoticeKind::Billing);
        text.extend_from_within(query_start..win_end);
        let billing_end = text.len();
        push(&mut text, NoticeKind::Loss);
        text.extend_from_within(query_start..win_end);
        text.push_str("&loss=${AUCTION_LOSS}");
        NoticeUrls {
            text,
            win_end,
            billing_end,
        }
    }

    /// The win notice URL (`nurl`).
    pub fn nurl(&self) -> &str {
        &self.text[..self.win_end]
    }

    /// The billing notice URL (`burl`).
    pub fn burl(&self) -> &str {
        &self.text[self.win_end..self.billing_end]
    }

    /// The loss notice URL (`lurl`).
    pub fn lurl(&self) -> &str {
        &self.text[self.billing_end..]
    }
}

pub(crate) fn percent_encode_into(s: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 15) as usize] as char);
        }
    }
}

fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.bytes().any(|b| b == b'%' || b == b'+') {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' if i + 2 < b.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                    }
                    _ => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// The query string of a notice URL, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeParams<'a> {
    pub bid_id: Cow<'a, str>,
    pub imp_id: Option<Cow<'a, str>>,
    pub line_item: Option<LineItemId>,
    pub currency: Option<Currency>,
    /// `${AUCTION_PRICE}` as substituted: a CPM in `currency`.
    pub price: Option<Cow<'a, str>>,
    /// `${AUCTION_LOSS}` as substituted.
    pub loss_code: Option<i64>,
    pub test: bool,
}

impl<'a> NoticeParams<'a> {
    /// Parses `bid=…&imp=…&li=…&cur=…&price=…[&loss=…][&test=1]` (a leading `?` is allowed).
    pub fn parse_query(query: &'a str) -> Result<NoticeParams<'a>, BidderError> {
        let q = query.strip_prefix('?').unwrap_or(query);
        let mut p = NoticeParams {
            bid_id: Cow::Borrowed(""),
            imp_id: None,
            line_item: None,
            currency: None,
            price: None,
            loss_code: None,
            test: false,
        };
        for pair in q.split('&').filter(|s| !s.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = percent_decode(v);
            match k {
                "bid" => p.bid_id = v,
                "imp" => p.imp_id = Some(v),
                "li" => {
                    p.line_item = Some(v.parse().map_err(|_| {
                        BidderError::InvalidNotice(format!(
                            "the line item `{}` is not a UUID",
                            clip(&v)
                        ))
                    })?)
                }
                "cur" => {
                    p.currency = Some(Currency::parse(&v).map_err(|_| {
                        BidderError::InvalidNotice(format!(
                            "the currency `{}` is not a currency code",
                            clip(&v)
                        ))
                    })?)
                }
                "price" => p.price = Some(v),
                "loss" => p.loss_code = v.trim().parse().ok(),
                "test" => p.test = v == "1",
                _ => {}
            }
        }
        if p.bid_id.is_empty() {
            return Err(BidderError::InvalidNotice(
                "the `bid` parameter is missing".into(),
            ));
        }
        if p.bid_id.chars().count() > 256 {
            return Err(BidderError::InvalidNotice(
                "the `bid` parameter is longer than 256 characters".into(),
            ));
        }
        Ok(p)
    }
}

fn clip(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(40).collect()
}

/// The largest CPM accepted from a notice: one million units. Anything above is a
/// corrupted or hostile value, not a price.
pub const MAX_NOTICE_CPM_MICROS: i64 = 1_000_000 * 1_000_000;

/// Parses a substituted `${AUCTION_PRICE}` (a decimal CPM such as `1.25`, `0.5e1`)
/// into micros, exactly, rounding half up beyond the sixth decimal.
pub fn parse_cpm_micros(s: &str) -> Result<i64, BidderError> {
    let t = s.trim();
    if t.contains("${") || t.contains("AUCTION_PRICE") {
        return Err(BidderError::PriceMacroNotSubstituted);
    }
    let bad = || BidderError::InvalidPrice(clip(t));
    let t = t.strip_prefix('+').unwrap_or(t);
    let (num, exp) = match t.find(['e', 'E']) {
        Some(i) => {
            let e: i32 = t[i + 1..].parse().map_err(|_| bad())?;
            (&t[..i], e)
        }
        None => (t, 0),
    };
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    // Significant digits beyond 30 cannot change a micro of a plausible price.
    let mut mant: u128 = 0;
    let mut scale: i64 = 0;
    let mut used = 0;
    for b in int.bytes().chain(frac.bytes()) {
        if used < 30 {
            mant = mant * 10 + u128::from(b - b'0');
            if mant > 0 {
                used += 1;
            }
        } else {
            scale += 1;
        }
    }
    scale -= frac.len() as i64;
    let shift = scale + i64::from(exp) + 6;
    let micros: u128 = if mant == 0 {
        0
    } else if shift >= 0 {
        if shift > 30 {
            return Err(bad());
        }
        mant.checked_mul(10u128.pow(shift as u32)).ok_or_else(bad)?
    } else if shift < -38 {
        0
    } else {
        let d = 10u128.pow((-shift) as u32);
        (mant + d / 2) / d
    };
    if micros > MAX_NOTICE_CPM_MICROS as u128 {
        return Err(bad());
    }
    Ok(micros as i64)
}
