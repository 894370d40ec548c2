//! The hand-written request reader against serde_json's derive on the same
//! types: generated requests (every field, right and wrong types, nulls,
//! duplicates, unknown fields of any shape, escapes, surrogate pairs, odd
//! whitespace), the same bodies mutated byte by byte, and every fixture.
//!
//! The rule: when serde_json accepts, the reader gives the same value; when
//! serde_json refuses, the reader refuses. The one allowed difference is an
//! array where an object belongs, which serde's derive reads by position and
//! the reader refuses as `invalid type: sequence, expected struct …`.

use std::path::PathBuf;

use kiki_bidder::openrtb::{BidRequest, read_bid_request};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// A JSON tree that can hold duplicate keys and keeps key order.
#[derive(Debug, Clone)]
enum J {
    Null,
    Bool(bool),
    /// The number's text, written as is.
    Num(&'static str),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

/// What a field holds, for the schema-guided generator.
#[derive(Clone, Copy)]
enum Kind {
    Str,
    Int,
    U32,
    F64,
    Strs,
    Ints,
    Obj(&'static str),
    Objs(&'static str),
    Any,
}

fn schema(name: &str) -> &'static [(&'static str, Kind)] {
    use Kind::*;
    match name {
        "BidRequest" => &[
            ("id", Str),
            ("imp", Objs("Imp")),
            ("site", Obj("Site")),
            ("app", Obj("App")),
            ("device", Obj("Device")),
            ("user", Obj("User")),
            ("test", Int),
            ("at", Int),
            ("tmax", Int),
            ("wseat", Strs),
            ("bseat", Strs),
            ("cur", Strs),
            ("bcat", Strs),
            ("badv", Strs),
            ("bapp", Strs),
            ("regs", Obj("Regs")),
            ("ext", Any),
            ("source", Any),
        ],
        "Imp" => &[
            ("id", Str),
            ("banner", Obj("Banner")),
            ("video", Obj("Video")),
            ("audio", Obj("Audio")),
            ("native", Obj("Native")),
            ("pmp", Obj("Pmp")),
            ("bidfloor", F64),
            ("bidfloorcur", Str),
            ("ext", Any),
            ("tagid", Str),
        ],
        "Banner" => &[
            ("format", Objs("Format")),
            ("w", U32),
            ("h", U32),
            ("battr", Ints),
            ("btype", Ints),
            ("mimes", Strs),
            ("pos", Int),
        ],
        "Format" => &[("w", U32), ("h", U32)],
        "Video" => &[
            ("mimes", Strs),
            ("minduration", Int),
            ("maxduration", Int),
            ("protocols", Ints),
            ("w", U32),
            ("h", U32),
            ("battr", Ints),
            ("plcmt", Int),
            ("placement", Int),
        ],
        "Audio" => &[
            ("mimes", Strs),
            ("minduration", Int),
            ("maxduration", Int),
            ("battr", Ints),
        ],
        "Native" => &[("request", Str), ("ver", Str), ("battr", Ints)],
        "Pmp" => &[("private_auction", Int), ("deals", Objs("Deal"))],
        "Deal" => &[
            ("id", Str),
            ("bidfloor", F64),
            ("bidfloorcur", Str),
            ("at", Int),
            ("wseat", Strs),
            ("wadomain", Strs),
        ],
        "Site" => &[
            ("domain", Str),
            ("cat", Strs),
            ("sectioncat", Strs),
            ("pagecat", Strs),
            ("page", Str),
            ("publisher", Any),
        ],
        "App" => &[
            ("bundle", Str),
            ("domain", Str),
            ("cat", Strs),
            ("sectioncat", Strs),
            ("pagecat", Strs),
        ],
        "Geo" => &[("country", Str), ("city", Str)],
        "Device" => &[
            ("geo", Obj("Geo")),
            ("devicetype", Int),
            ("os", Str),
            ("ua", Str),
        ],
        "User" => &[
            ("id", Str),
            ("buyeruid", Str),
            ("geo", Obj("Geo")),
            ("consent", Str),
            ("ext", Any),
        ],
        "Regs" => &[
            ("coppa", Int),
            ("gdpr", Int),
            ("us_privacy", Str),
            ("gpp", Str),
            ("ext", Any),
        ],
        _ => &[],
    }
}

/// Number texts at the edges serde_json classifies: u64, i64, `-0`, overflow
/// into floats, exponents.
const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "2",
    "300",
    "-5",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551616",
    "123456789012345678901234",
    "0.45",
    "1.5",
    "-0.0",
    "1e2",
    "1E+2",
    "2.5e-3",
    "1e400",
    "0e400",
];

const CHARS: &[char] = &[
    'a', 'Z', '0', ' ', '"', '\\', '/', '\n', '\t', '\u{1}', '\u{1f}', 'é', '€', '中', '😀',
    '\u{7f}',
];

fn string(rng: &mut StdRng) -> String {
    let n = rng.random_range(0..8);
    (0..n)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())])
        .collect()
}

fn scalar(rng: &mut StdRng) -> J {
    match rng.random_range(0..5) {
        0 => J::Null,
        1 => J::Bool(rng.random()),
        2 => J::Num(NUMBERS[rng.random_range(0..NUMBERS.len())]),
        _ => J::Str(string(rng)),
    }
}

/// Any JSON value, nested up to `depth`.
fn any(rng: &mut StdRng, depth: u32) -> J {
    if depth == 0 || rng.random_range(0..3) > 0 {
        return scalar(rng);
    }
    let n = rng.random_range(0..4);
    if rng.random() {
        J::Arr((0..n).map(|_| any(rng, depth - 1)).collect())
    } else {
        J::Obj((0..n).map(|_| (string(rng), any(rng, depth - 1))).collect())
    }
}

/// A value for a field: mostly of its kind, sometimes null, sometimes anything.
fn value(rng: &mut StdRng, kind: Kind, depth: u32) -> J {
    match rng.random_range(0..40) {
        0 => return J::Null,
        1 => return any(rng, 2),
        _ => {}
    }
    let small = ["0", "1", "2", "5", "300", "250", "-1"];
    match kind {
        Kind::Str => J::Str(if rng.random() {
            "abc".into()
        } else {
            string(rng)
        }),
        Kind::Int | Kind::U32 => J::Num(if rng.random_range(0..12) > 0 {
            small[rng.random_range(0..small.len())]
        } else {
            NUMBERS[rng.random_range(0..NUMBERS.len())]
        }),
        Kind::F64 => J::Num(if rng.random_range(0..12) > 0 {
            ["0", "0.45", "1", "2.5", "1e2", "-0.0"][rng.random_range(0..6)]
        } else {
            NUMBERS[rng.random_range(0..NUMBERS.len())]
        }),
        Kind::Strs => J::Arr(
            (0..rng.random_range(0..4))
                .map(|_| {
                    if rng.random_range(0..15) == 0 {
                        scalar(rng)
                    } else {
                        J::Str(string(rng))
                    }
                })
                .collect(),
        ),
        Kind::Ints => J::Arr(
            (0..rng.random_range(0..4))
                .map(|_| J::Num(small[rng.random_range(0..small.len())]))
                .collect(),
        ),
        Kind::Obj(name) => object(rng, name, depth + 1),
        Kind::Objs(name) => J::Arr(
            (0..rng.random_range(0..3))
                .map(|_| object(rng, name, depth + 1))
                .collect(),
        ),
        Kind::Any => any(rng, 3),
    }
}

fn object(rng: &mut StdRng, name: &str, depth: u32) -> J {
    let fields = schema(name);
    let mut out = Vec::new();
    for &(key, kind) in fields {
        if rng.random_range(0..3) == 0 || depth > 4 {
            continue;
        }
        out.push((key.to_string(), value(rng, kind, depth)));
        if rng.random_range(0..80) == 0 {
            // A repeated key: serde's derive refuses known ones.
            out.push((key.to_string(), value(rng, kind, depth)));
        }
    }
    for _ in 0..rng.random_range(0..3) {
        let at = rng.random_range(0..=out.len());
        out.insert(at, (string(rng), any(rng, 3)));
    }
    J::Obj(out)
}

fn ws(rng: &mut StdRng, out: &mut String) {
    if rng.random_range(0..6) == 0 {
        for _ in 0..rng.random_range(1..3) {
            out.push([' ', '\n', '\t', '\r'][rng.random_range(0..4)]);
        }
    }
}

/// Writes a string literal, escaping what must be and, at random, what may be
/// (`\uXXXX`, surrogate pairs above the BMP, the short escapes).
fn write_str(rng: &mut StdRng, s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' if rng.random() => out.push_str("\\n"),
            '\t' if rng.random() => out.push_str("\\t"),
            '/' if rng.random() => out.push_str("\\/"),
            c if (c as u32) < 0x20 || rng.random_range(0..6) == 0 => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{:04x}", u));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write(rng: &mut StdRng, j: &J, out: &mut String) {
    ws(rng, out);
    match j {
        J::Null => out.push_str("null"),
        J::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        J::Num(n) => out.push_str(n),
        J::Str(s) => write_str(rng, s, out),
        J::Arr(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(rng, v, out);
            }
            ws(rng, out);
            out.push(']');
        }
        J::Obj(fields) => {
            out.push('{');
            for (i, (k, v)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                ws(rng, out);
                write_str(rng, k, out);
                ws(rng, out);
                out.push(':');
                write(rng, v, out);
            }
            ws(rng, out);
            out.push('}');
        }
    }
    ws(rng, out);
}

/// Checks the rule on one body; returns whether serde_json accepted it.
fn agree(body: &[u8]) -> bool {
    let theirs = serde_json::from_slice::<BidRequest<'_>>(body);
    let ours = read_bid_request(body);
    match (&theirs, &ours) {
        (Ok(t), Ok(o)) => {
            assert_eq!(
                format!("{t:?}"),
                format!("{o:?}"),
                "different values for {}",
                String::from_utf8_lossy(body)
            );
            true
        }
        (Err(_), Err(_)) => false,
        (Err(t), Ok(_)) => panic!(
            "the reader accepted what serde_json refuses ({t}): {}",
            String::from_utf8_lossy(body)
        ),
        (Ok(_), Err(o)) => {
            assert!(
                o.to_string()
                    .contains("invalid type: sequence, expected struct"),
                "the reader refused what serde_json accepts ({o}): {}",
                String::from_utf8_lossy(body)
            );
            true
        }
    }
}

fn generated(seed: u64) -> String {
    let mut rng = StdRng::seed_from_u64(seed);
    let tree = object(&mut rng, "BidRequest", 0);
    let mut out = String::new();
    write(&mut rng, &tree, &mut out);
    out
}

#[test]
fn generated_requests_read_as_serde_json_reads_them() {
    let mut accepted = 0;
    for seed in 0..20_000 {
        if agree(generated(seed).as_bytes()) {
            accepted += 1;
        }
    }
    // The generator must exercise the accepting path, not only errors.
    assert!(accepted > 2_000, "only {accepted} of 20,000 were valid");
}

#[test]
fn mutated_requests_read_as_serde_json_reads_them() {
    let mut rng = StdRng::seed_from_u64(7);
    for seed in 0..4_000 {
        let mut body = generated(seed).into_bytes();
        for _ in 0..rng.random_range(1..4) {
            let n = body.len();
            match rng.random_range(0..5) {
                0 if n > 0 => body.truncate(rng.random_range(0..n)),
                1 if n > 0 => {
                    body.remove(rng.random_range(0..n));
                }
                2 => {
                    let b = b"{}[]\",:\\0-.eEnul \x00\xff\xc3"[rng.random_range(0..19)];
                    body.insert(rng.random_range(0..=n), b);
                }
                3 if n > 0 => {
                    let i = rng.random_range(0..n);
                    body[i] ^= 1 << rng.random_range(0..8);
                }
                _ => body.extend_from_slice(b" x"),
            }
        }
        agree(&body);
    }
}

#[test]
fn every_fixture_reads_as_serde_json_reads_it() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("fixtures") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            agree(&std::fs::read(&path).expect("fixture"));
            n += 1;
        }
    }
    assert!(n > 20);
}

#[test]
fn edge_cases_agree() {
    let cases: &[&str] = &[
        r#"{"id":"a\ud83d\ude00b","imp":[]}"#,
        r#"{"id":"\ud83d","imp":[]}"#,
        r#"{"id":"\ude00","imp":[]}"#,
        r#"{"id":"\ud83dx","imp":[]}"#,
        r#"{"x":"\ud83d","id":"a"}"#,
        r#"{"\u0069d":"escaped key"}"#,
        r#"{"id":"a","id":"b"}"#,
        r#"{"x":1,"x":2}"#,
        r#"{"at":null}"#,
        r#"{"tmax":1.0}"#,
        r#"{"tmax":-0}"#,
        r#"{"imp":[{"banner":{"w":-0}}]}"#,
        r#"{"imp":[{"bidfloor":1e400}]}"#,
        r#"{"imp":[{"bidfloor":0e400}]}"#,
        r#"{"imp":[{"bidfloor":-1e-400}]}"#,
        r#"{"ext":{"a":[1,{"b":null}],"c":"\u00e9"}}"#,
        r#"{"ext":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}"#,
        r#"{"x":01}"#,
        r#"{"x":1.}"#,
        r#"{"x":.5}"#,
        r#"{"x":-}"#,
        r#"{"x":[1,]}"#,
        r#"{"x":{"a":1,}}"#,
        r#"{"id":"a",}"#,
        r#"{"x":tru}"#,
        r#"{"x":"tab	inside"}"#,
        r#"{"x":"\q"}"#,
        r#"{"id":"a"} x"#,
        " \n{\"id\" : \"a\" } \t",
        r#"{"imp":[{"banner":[]}]}"#,
        r#"{"imp":[]} "#,
        r#"{"cur":["USD",null]}"#,
        r#"{"cur":null,"bcat":null,"test":null}"#,
        "{\"x\":\"\u{7f}\u{80}\"}",
        "",
        "   ",
        "null",
        "42",
        "[]",
    ];
    for c in cases {
        agree(c.as_bytes());
    }
    // Invalid UTF-8 inside a skipped string is not checked by serde_json either,
    // but inside a string that is kept, or a key, it is refused.
    agree(b"{\"x\":\"\xff\"}");
    agree(b"{\"id\":\"\xff\"}");
    agree(b"{\"\xff\":1}");
    agree(b"{\"ext\":\"\xff\"}");
    // Keys of an object that is skipped are not decoded either (found by the
    // fuzzer); keys of a known object, and anything inside a kept `ext`, are.
    agree(b"{\"id\":\"a\",\"rews\":{\"\xcb\xcbgdpr\":1}}");
    agree(b"{\"rews\":[{\"\xff\":{\"\xfe\":[]}}]}");
    agree(b"{\"regs\":{\"ext\":{\"\xff\":1}}}");
    agree(b"{\"regs\":{\"\xff\":1}}");
}

#[test]
fn errors_name_the_position_like_serde_json() {
    let e = read_bid_request(b"{\"id\":\"a\",\n \"imp\": [{\"banner\":{\"w\":\"300\"}}]}")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("invalid type: string \"300\", expected u32"),
        "{e}"
    );
    assert!(e.contains("at line 2 column"), "{e}");
    let e = read_bid_request(b"{\"id\":\"a\"").unwrap_err().to_string();
    assert!(e.starts_with("EOF while parsing an object"), "{e}");
    let e = read_bid_request(b"{\"id\":\"a\",\"id\":\"b\"}")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("duplicate field `id`"), "{e}");
}
