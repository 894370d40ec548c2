//! OpenRTB bid response types (§4.2). Serialised straight from borrowed data: the
//! request's ids and the snapshot's creatives are not copied. Prices are integer
//! micros inside the engine and become a JSON number only here.

use serde::{Deserialize, Serialize, Serializer};

/// Response header every answer carries.
pub const OPENRTB_VERSION_HEADER: (&str, &str) = ("x-openrtb-version", "2.6");

/// A CPM held as integer micros, written to JSON as a decimal number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct CpmMicros(pub i64);

impl Serialize for CpmMicros {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // micros / 1e6 is the double nearest the decimal value, and serde_json
        // prints the shortest string that round-trips, i.e. the decimal itself.
        s.serialize_f64(self.0 as f64 / 1_000_000.0)
    }
}

/// `BidResponse` (§4.2.1).
#[derive(Debug, Serialize)]
pub struct BidResponse<'a> {
    pub id: &'a str,
    pub seatbid: Vec<SeatBid<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bidid: Option<&'a str>,
    pub cur: &'a str,
}

/// `SeatBid` (§4.2.2): one seat, at most one bid per impression.
#[derive(Debug, Serialize)]
pub struct SeatBid<'a> {
    pub bid: Vec<Bid<'a>>,
    pub seat: &'a str,
}

/// `Bid` (§4.2.3): the per-bid fields, then the creative's.
#[derive(Debug, Serialize)]
pub struct Bid<'a> {
    pub id: &'a str,
    pub impid: &'a str,
    pub price: CpmMicros,
    pub nurl: &'a str,
    pub burl: &'a str,
    pub lurl: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dealid: Option<&'a str>,
    #[serde(flatten)]
    pub creative: CreativeFields<'a>,
}

/// The fields of a `Bid` that depend only on the creative and its line item,
/// in the order the response writes them.
#[derive(Debug, Serialize)]
pub struct CreativeFields<'a> {
    /// Borrowed from the snapshot, or owned when tracker macros were replaced.
    pub adm: std::borrow::Cow<'a, str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub adomain: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundle: Option<&'a str>,
    pub cid: &'a str,
    pub crid: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub cat: &'a [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub attr: &'a [u16],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub w: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub h: Option<u32>,
    /// 2.6 markup type: 1 banner, 2 video, 3 audio, 4 native.
    pub mtype: u8,
}

/// `"adm":…,"adomain":[…],…,"mtype":n`: the creative's fields as JSON members
/// without the braces, written once when the snapshot compiles.
pub fn creative_json(f: &CreativeFields<'_>) -> String {
    let obj = serde_json::to_string(f).unwrap_or_else(|_| "{}".into());
    obj.get(1..obj.len().saturating_sub(1))
        .unwrap_or_default()
        .to_owned()
}

/// Appends `s` as a JSON string literal, escaped exactly as serde_json
/// escapes (`\"`, `\\`, the short forms `\b \f \n \r \t`, `\u00XX` for other
/// control characters; everything else as is). Runs without anything to
/// escape, which is nearly all of them, are found eight bytes at a time and
/// copied whole.
pub fn write_json_str(out: &mut Vec<u8>, s: &str) {
    let b = s.as_bytes();
    out.reserve(b.len() + 2);
    out.push(b'"');
    let mut start = 0;
    loop {
        let (j, _) = super::reader::scan_string(b, start);
        out.extend_from_slice(&b[start..j]);
        let Some(&c) = b.get(j) else {
            break;
        };
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            c => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(c >> 4)]);
                out.push(HEX[usize::from(c & 0xf)]);
            }
        }
        start = j + 1;
    }
    out.push(b'"');
}

/// Appends a CPM as the JSON number [`CpmMicros`] serialises to.
pub fn write_cpm(out: &mut Vec<u8>, micros: i64) {
    let _ = serde_json::to_writer(&mut *out, &CpmMicros(micros));
}

/// A no-bid with a body, for exchanges that want `nbr` rather than a bare 204.
#[derive(Debug, Serialize)]
pub struct NoBidResponse<'a> {
    pub id: &'a str,
    pub nbr: u16,
}

/// An owned, parsed bid response: what an exchange sees. Used by the simulated
/// exchange and by tests that read answers back.
#[derive(Debug, Clone, Deserialize)]
pub struct ParsedBidResponse {
    pub id: String,
    #[serde(default)]
    pub seatbid: Vec<ParsedSeatBid>,
    #[serde(default)]
    pub cur: Option<String>,
    #[serde(default)]
    pub nbr: Option<u16>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ParsedSeatBid {
    #[serde(default)]
    pub bid: Vec<ParsedBid>,
    #[serde(default)]
    pub seat: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ParsedBid {
    pub id: String,
    pub impid: String,
    pub price: f64,
    #[serde(default)]
    pub adm: Option<String>,
    #[serde(default)]
    pub nurl: Option<String>,
    #[serde(default)]
    pub burl: Option<String>,
    #[serde(default)]
    pub lurl: Option<String>,
    #[serde(default)]
    pub adomain: Vec<String>,
    #[serde(default)]
    pub cid: Option<String>,
    #[serde(default)]
    pub crid: Option<String>,
    #[serde(default)]
    pub dealid: Option<String>,
    #[serde(default)]
    pub w: Option<u32>,
    #[serde(default)]
    pub h: Option<u32>,
    #[serde(default)]
    pub mtype: Option<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_exactly_as_serde_json_escapes_them() {
        let mut cases: Vec<String> = vec![
            String::new(),
            "plain ascii text longer than eight bytes".into(),
            "q\"b\\s/\u{8}\u{c}\n\r\t\u{0}\u{1f}\u{7f}é€😀\u{2028}".into(),
        ];
        // Every byte value below 0x80 at every offset of a 20-byte string.
        for c in 0u8..0x80 {
            for at in 0..20 {
                let mut v = vec![b'a'; 20];
                v[at] = c;
                cases.push(String::from_utf8(v).unwrap());
            }
        }
        for s in &cases {
            let mut ours = Vec::new();
            write_json_str(&mut ours, s);
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string(s).unwrap(),
                "{s:?}"
            );
        }
    }

    #[test]
    fn micros_are_written_as_their_exact_decimal() {
        let check = |micros: i64, want: &str| {
            assert_eq!(serde_json::to_string(&CpmMicros(micros)).unwrap(), want)
        };
        check(1_230_000, "1.23");
        check(1, "1e-6");
        check(2_500_000, "2.5");
        check(123_456_789, "123.456789");
        check(0, "0.0");
    }
}
