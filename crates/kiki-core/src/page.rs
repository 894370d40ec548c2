//! Cursor pagination: `?limit=50&cursor=…`. The cursor is opaque to clients
//! (base64url of the last row's sort key), so the order can change later
//! without breaking them.

use serde::{Deserialize, Serialize};

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

    pub fn cursor(&self) -> Result<Option<Cursor>, crate::FieldError> {
        match &self.cursor {
            None => Ok(None),
            Some(s) if s.is_empty() => Ok(None),
            Some(s) => Cursor::decode(s).map(Some).ok_or_else(|| {
                crate::FieldError::new("cursor", "The cursor is not one this API issued.")
            }),
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
