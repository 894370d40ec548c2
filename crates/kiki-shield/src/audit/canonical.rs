//! Canonical JSON and the entry hash. The bytes hashed must not depend on
//! how a backend stores JSON (PostgreSQL JSONB reorders keys and rewrites
//! numbers) or on serde_json's map order (another crate enables
//! `preserve_order`), so this module writes JSON itself: object keys sorted by
//! code point at every level, no whitespace, strings escaped minimally
//! (RFC 8259 §7), and numbers in one form per value — integers (and floats
//! holding an integer of at most 2^53 in magnitude) as digits, other floats in
//! Rust's shortest round-trip form. The idea follows RFC 8785 (JCS); it is
//! not byte-for-byte JCS.

use serde_json::{Number, Value};
use sha2::{Digest, Sha256};

use crate::keyring::hex;

/// The version tag hashed first, so the serialisation can change later
/// without old entries failing verification.
pub const HASH_FORMAT: &str = "v1";
/// `prev_hash` of the first entry of a chain.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The largest integer an IEEE double holds exactly (2^53).
const MAX_EXACT_F64: f64 = 9_007_199_254_740_992.0;

/// The canonical JSON text of `v`.
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v);
    out
}

fn write_value(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, k);
                out.push(':');
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

fn write_number(out: &mut String, n: &Number) {
    if let Some(i) = n.as_i64() {
        out.push_str(&i.to_string());
    } else if let Some(u) = n.as_u64() {
        out.push_str(&u.to_string());
    } else if let Some(f) = n.as_f64() {
        if f.fract() == 0.0 && f.abs() <= MAX_EXACT_F64 {
            // Exact: |f| ≤ 2^53 and integral, so the conversion loses nothing.
            out.push_str(&(f as i64).to_string());
        } else {
            out.push_str(&f.to_string());
        }
    } else {
        // Arbitrary-precision numbers are not enabled; keep serde_json's text.
        out.push_str(&n.to_string());
    }
}

pub(crate) fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The fields of an entry that its hash covers, in hashing order.
#[derive(Debug, Clone, Copy)]
pub struct HashInput<'a> {
    pub id: uuid::Uuid,
    pub chain: &'a str,
    pub seq: i64,
    /// Already in the fixed-width UTC microsecond form.
    pub occurred_at: &'a str,
    pub actor_kind: &'a str,
    pub actor_id: Option<&'a str>,
    pub action: &'a str,
    pub target_kind: Option<&'a str>,
    pub target_id: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub request_id: Option<&'a str>,
    pub details: &'a Value,
    pub prev_hash: &'a str,
}

fn write_opt(out: &mut String, s: Option<&str>) {
    match s {
        Some(s) => write_string(out, s),
        None => out.push_str("null"),
    }
}

impl HashInput<'_> {
    /// The canonical serialisation: a JSON array of the fields, `"v1"` first.
    pub fn canonical(&self) -> String {
        let mut out = String::with_capacity(512);
        out.push('[');
        write_string(&mut out, HASH_FORMAT);
        out.push(',');
        write_string(&mut out, &self.id.hyphenated().to_string());
        out.push(',');
        write_string(&mut out, self.chain);
        out.push(',');
        out.push_str(&self.seq.to_string());
        out.push(',');
        write_string(&mut out, self.occurred_at);
        out.push(',');
        write_string(&mut out, self.actor_kind);
        out.push(',');
        write_opt(&mut out, self.actor_id);
        out.push(',');
        write_string(&mut out, self.action);
        out.push(',');
        write_opt(&mut out, self.target_kind);
        out.push(',');
        write_opt(&mut out, self.target_id);
        out.push(',');
        write_opt(&mut out, self.ip);
        out.push(',');
        write_opt(&mut out, self.user_agent);
        out.push(',');
        write_opt(&mut out, self.request_id);
        out.push(',');
        write_value(&mut out, self.details);
        out.push(',');
        write_string(&mut out, self.prev_hash);
        out.push(']');
        out
    }

    /// Lowercase hex SHA-256 of [`HashInput::canonical`].
    pub fn hash(&self) -> String {
        hex(&Sha256::digest(self.canonical().as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_are_sorted_recursively_and_whitespace_dropped() {
        let cases = [
            (
                json!({"b": 1, "a": {"d": [3, {"z": 1, "y": 2}], "c": null}}),
                r#"{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}"#,
            ),
            (json!({}), "{}"),
            (json!([]), "[]"),
            (json!(["x", true, false, null]), r#"["x",true,false,null]"#),
            (json!({"é": 1, "z": 2, "A": 3}), r#"{"A":3,"z":2,"é":1}"#),
        ];
        for (v, expected) in cases {
            assert_eq!(canonical_json(&v), expected);
        }
    }

    #[test]
    fn key_order_of_the_input_does_not_matter() {
        let a: Value = serde_json::from_str(r#"{"x":1,"y":{"p":1,"q":2}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"y":{"q":2,"p":1},"x":1}"#).unwrap();
        assert_eq!(canonical_json(&a), canonical_json(&b));
    }

    #[test]
    fn numbers_have_one_form_whatever_the_storage_wrote() {
        // PostgreSQL JSONB prints 1e15 as 1000000000000000 and keeps 100.0.
        let cases = [
            ("1e15", "1000000000000000"),
            ("1000000000000000", "1000000000000000"),
            ("100.0", "100"),
            ("100", "100"),
            ("-0.0", "0"),
            ("0.5", "0.5"),
            ("1e-7", "0.0000001"),
            ("0.0000001", "0.0000001"),
            ("-9223372036854775808", "-9223372036854775808"),
            ("18446744073709551615", "18446744073709551615"),
            ("1.5e300", &format!("{}", 1.5e300_f64)),
        ];
        for (text, expected) in cases {
            let v: Value = serde_json::from_str(text).unwrap();
            assert_eq!(canonical_json(&v), expected, "{text}");
        }
    }

    #[test]
    fn strings_are_escaped_minimally() {
        let v = json!("a\"b\\c\nd\u{1}e/é\u{7f}");
        assert_eq!(canonical_json(&v), "\"a\\\"b\\\\c\\nd\\u0001e/é\u{7f}\"");
        // And the output is JSON that reads back to the same value.
        let back: Value = serde_json::from_str(&canonical_json(&v)).unwrap();
        assert_eq!(back, v);
    }

    fn input(details: &Value) -> HashInput<'_> {
        HashInput {
            id: uuid::Uuid::from_u128(1),
            chain: "platform",
            seq: 1,
            occurred_at: "2026-01-01T00:00:00.000000Z",
            actor_kind: "system",
            actor_id: Some("cli"),
            action: "auth.login",
            target_kind: None,
            target_id: None,
            ip: None,
            user_agent: None,
            request_id: None,
            details,
            prev_hash: GENESIS_HASH,
        }
    }

    #[test]
    fn the_hash_is_sha256_of_the_canonical_array() {
        let details = json!({"b": 2, "a": 1});
        let i = input(&details);
        assert_eq!(
            i.canonical(),
            r#"["v1","00000000-0000-0000-0000-000000000001","platform",1,"2026-01-01T00:00:00.000000Z","system","cli","auth.login",null,null,null,null,null,{"a":1,"b":2},"0000000000000000000000000000000000000000000000000000000000000000"]"#
        );
        assert_eq!(i.hash(), hex(&Sha256::digest(i.canonical().as_bytes())));
        assert_eq!(i.hash().len(), 64);
    }

    #[test]
    fn every_field_changes_the_hash() {
        let details = json!({"a": 1});
        let other_details = json!({"a": 2});
        let base = input(&details);
        let h = base.hash();
        let variants = [
            HashInput {
                id: uuid::Uuid::from_u128(2),
                ..base
            },
            HashInput { chain: "x", ..base },
            HashInput { seq: 2, ..base },
            HashInput {
                occurred_at: "2026-01-01T00:00:00.000001Z",
                ..base
            },
            HashInput {
                actor_kind: "user",
                ..base
            },
            HashInput {
                actor_id: None,
                ..base
            },
            HashInput {
                action: "auth.logout",
                ..base
            },
            HashInput {
                target_kind: Some("user"),
                ..base
            },
            HashInput {
                target_id: Some("1"),
                ..base
            },
            HashInput {
                ip: Some("203.0.113.0"),
                ..base
            },
            HashInput {
                user_agent: Some("ua"),
                ..base
            },
            HashInput {
                request_id: Some("r"),
                ..base
            },
            HashInput {
                details: &other_details,
                ..base
            },
            HashInput {
                prev_hash: "1",
                ..base
            },
            // A null and an empty string are different values.
            HashInput {
                target_id: Some(""),
                ..base
            },
        ];
        for v in variants {
            assert_ne!(v.hash(), h, "{v:?}");
        }
    }
}
