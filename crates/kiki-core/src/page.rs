//! Cursor pagination: `?limit=50&cursor=…`. The cursor is opaque to clients
//! (base64url of the last row's sort key), so the order can change later
//! without breaking them.
//!
//! Keyset pagination, the one way lists page: a store fetches
//! [`PageRequest::fetch`] rows (one more than the page) in list order,
//! starting after the key [`PageRequest::after`] decodes from the cursor, and
//! [`Page::keyset`] keeps the page and makes the next cursor from the key of
//! its last row. Keys are any serde value (a tuple of the sort columns and a
//! unique tie-breaker), so a row inserted or deleted between two pages never
//! makes a page skip or repeat one. A cursor that does not decode to the
//! list's key is a [`FieldError`] naming `cursor`.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::FieldError;

/// What a cursor that this API did not issue (or issued for another list) gets.
pub const BAD_CURSOR: &str = "The cursor is not one this API issued.";

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 500;

/// Query parameters of a paginated list.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
#[into_params(parameter_in = Query)]
pub struct PageRequest {
    /// Rows per page, 1 to 500 (default 50); anything else is refused.
    #[serde(default, deserialize_with = "page_limit")]
    #[param(minimum = 1, maximum = 500)]
    #[schema(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    #[param(pattern = "^[A-Za-z0-9_-]*$")]
    #[schema(pattern = "^[A-Za-z0-9_-]*$")]
    pub cursor: Option<String>,
}

/// Reads `limit`, refusing values outside 1..=500 (a request asking for more
/// than a page holds is told so rather than silently given fewer).
pub fn page_limit<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    let v = Option::<u64>::deserialize(d)?;
    match v {
        None => Ok(None),
        Some(n) if (1..=u64::from(MAX_LIMIT)).contains(&n) => Ok(Some(n as u32)),
        Some(n) => Err(serde::de::Error::custom(format!(
            "limit must be between 1 and {MAX_LIMIT}, not {n}"
        ))),
    }
}

impl PageRequest {
    /// The limit clamped to 1..=500.
    pub fn limit(&self) -> u32 {
        self.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
    }

    pub fn cursor(&self) -> Result<Option<Cursor>, FieldError> {
        match &self.cursor {
            None => Ok(None),
            Some(s) if s.is_empty() => Ok(None),
            Some(s) => Cursor::decode(s)
                .map(Some)
                .ok_or_else(|| FieldError::new("cursor", BAD_CURSOR)),
        }
    }

    /// Rows a keyset query fetches: the page and one more, which tells
    /// whether a next page exists.
    pub fn fetch(&self) -> u64 {
        u64::from(self.limit()) + 1
    }

    /// The sort key of the last row of the previous page (`None` on the
    /// first page), decoded from the cursor [`Page::keyset`] issued.
    pub fn after<K: DeserializeOwned>(&self) -> Result<Option<K>, FieldError> {
        match self.cursor()? {
            None => Ok(None),
            Some(c) => serde_json::from_str(&c.0)
                .map(Some)
                .map_err(|_| FieldError::new("cursor", BAD_CURSOR)),
        }
    }
}

/// A decoded cursor: the sort key of the last row already returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(pub String);

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

impl Cursor {
    pub fn encode(&self) -> String {
        let bytes = self.0.as_bytes();
        let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
        for chunk in bytes.chunks(3) {
            let n = (u32::from(chunk[0]) << 16)
                | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
                | u32::from(*chunk.get(2).unwrap_or(&0));
            let chars = chunk.len() + 1;
            for i in 0..chars {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }

    pub fn decode(s: &str) -> Option<Cursor> {
        let mut bits: u32 = 0;
        let mut nbits = 0;
        let mut out = Vec::with_capacity(s.len() * 3 / 4);
        for c in s.bytes() {
            let v = ALPHABET.iter().position(|&a| a == c)? as u32;
            bits = (bits << 6) | v;
            nbits += 6;
            if nbits >= 8 {
                nbits -= 8;
                out.push((bits >> nbits) as u8);
                bits &= (1 << nbits) - 1;
            }
        }
        String::from_utf8(out).ok().map(Cursor)
    }
}

/// One page of results.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// The page of `rows`, fetched in list order with up to `limit + 1`
    /// rows ([`PageRequest::fetch`]): an extra row means a next page, whose
    /// cursor carries `key` of the last row kept.
    pub fn keyset<K: Serialize>(
        mut rows: Vec<T>,
        limit: u32,
        key: impl FnOnce(&T) -> K,
    ) -> Page<T> {
        let limit = limit as usize;
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|last| cursor_after(&key(last)))
        } else {
            None
        };
        Page {
            items: rows,
            next_cursor,
        }
    }
}

/// The cursor of the page that starts after the row whose sort key is `key`
/// ([`PageRequest::after`] reads it back).
pub fn cursor_after<K: Serialize>(key: &K) -> String {
    // A key is plain data (numbers, strings, ids, times): its JSON form
    // cannot fail.
    Cursor(serde_json::to_string(key).unwrap_or_default()).encode()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_for_every_length() {
        for s in ["", "a", "ab", "abc", "2026-01-01T00:00:00Z|0192f0c1-aaaa"] {
            let c = Cursor(s.to_owned());
            assert_eq!(Cursor::decode(&c.encode()), Some(c));
        }
        assert_eq!(Cursor::decode("!!"), None);
    }

    #[test]
    fn a_limit_outside_one_to_five_hundred_is_refused_not_clamped() {
        let read = |j: &str| serde_json::from_str::<PageRequest>(j);
        assert!(read(r#"{"limit": 0}"#).is_err());
        assert!(read(r#"{"limit": 501}"#).is_err());
        assert!(read(r#"{"limit": 2147483648}"#).is_err());
        assert_eq!(read(r#"{"limit": 500}"#).unwrap().limit(), 500);
        assert_eq!(read(r#"{}"#).unwrap().limit(), DEFAULT_LIMIT);
    }

    fn request(cursor: Option<String>, limit: u32) -> PageRequest {
        PageRequest {
            limit: Some(limit),
            cursor,
        }
    }

    #[test]
    fn keyset_pages_walk_a_list_once_and_end_without_a_cursor() {
        // Rows ordered by (time desc, id desc), two sharing a time.
        let rows: Vec<(i64, uuid::Uuid)> = {
            let mut v: Vec<(i64, uuid::Uuid)> = (0..7)
                .map(|i| (100 - i / 2, uuid::Uuid::now_v7()))
                .collect();
            v.sort_by(|a, b| b.cmp(a));
            v
        };
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = request(cursor.take(), 3);
            let after: Option<(i64, uuid::Uuid)> = page.after().expect("our cursor");
            let fetched: Vec<(i64, uuid::Uuid)> = rows
                .iter()
                .copied()
                .filter(|r| after.is_none_or(|a| *r < a))
                .take(page.fetch() as usize)
                .collect();
            let p = Page::keyset(fetched, page.limit(), |r| *r);
            assert!(p.items.len() <= 3);
            seen.extend(p.items);
            match p.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, rows);
    }

    #[test]
    fn a_last_page_that_is_exactly_full_has_no_cursor() {
        let p = Page::keyset(vec![1, 2, 3], 3, |r| *r);
        assert_eq!(p.next_cursor, None);
        let p = Page::keyset(vec![1, 2, 3, 4], 3, |r| *r);
        assert_eq!(p.items, vec![1, 2, 3]);
        assert!(p.next_cursor.is_some());
    }

    #[test]
    fn a_foreign_or_mistyped_cursor_is_a_field_error_naming_cursor() {
        let typed = request(Some(cursor_after(&(5_i64, "x"))), 10);
        let e = typed
            .after::<(i64, uuid::Uuid)>()
            .expect_err("wrong key type");
        assert_eq!(e.field, "cursor");
        for junk in ["!!", "bm90IGpzb24"] {
            let e = request(Some(junk.into()), 10)
                .after::<(i64, i64)>()
                .expect_err("not issued here");
            assert_eq!(e.field, "cursor");
            assert_eq!(e.message, BAD_CURSOR);
        }
        assert_eq!(request(Some(String::new()), 10).after::<i64>(), Ok(None));
        assert_eq!(request(None, 10).after::<i64>(), Ok(None));
    }

    #[test]
    fn keys_with_times_and_text_round_trip_exactly() {
        let key = (
            time::macros::datetime!(2026-03-01 10:00:00.123456 UTC),
            "customer|with|bars".to_owned(),
            Some(-3_i64),
            0.1_f64 + 0.2,
        );
        let back = request(Some(cursor_after(&key)), 10)
            .after::<(time::OffsetDateTime, String, Option<i64>, f64)>()
            .expect("decodes");
        assert_eq!(back, Some(key));
    }

    #[test]
    fn limit_is_clamped() {
        let p = |l| {
            PageRequest {
                limit: l,
                cursor: None,
            }
            .limit()
        };
        assert_eq!(p(None), 50);
        assert_eq!(p(Some(0)), 1);
        assert_eq!(p(Some(10_000)), 500);
    }
}
