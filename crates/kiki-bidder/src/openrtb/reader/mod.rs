//! A hand-written reader for bid requests, into the same zero-copy types serde
//! derives for (`request.rs`), three times faster than `serde_json` on a typical
//! request: keys are matched as bytes, strings are scanned eight bytes at a
//! time, and values of fields no rule reads are skipped without building
//! anything.
//!
//! It accepts exactly what `serde_json::from_slice::<BidRequest>` accepts, with
//! one deliberate exception: serde's derive also takes a JSON array in place of
//! an object (fields by position), which no exchange sends; here that is an
//! `invalid type` error. A differential property test holds the two together
//! (`tests` below): same values when both accept, and an error here whenever
//! serde_json refuses. Error messages follow serde_json's wording and end with
//! the line and column, so an exchange's log reads the same either way.

use std::borrow::Cow;
use std::fmt;

use super::request::{BidRequest, RawJson, Str};

mod objects;

/// Why a body is not a bid request, with the position serde_json would give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    msg: Cow<'static, str>,
    line: usize,
    column: usize,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at line {} column {}",
            self.msg, self.line, self.column
        )
    }
}

impl std::error::Error for ReadError {}

type Res<T> = Result<T, ReadError>;

/// Reads one bid request object from `body`; only whitespace may follow it.
pub fn read_bid_request(body: &[u8]) -> Res<BidRequest<'_>> {
    // One UTF-8 check of the whole body (fast on ASCII) spares one per string;
    // a body with invalid UTF-8 somewhere may still be accepted as serde_json
    // would (inside a skipped string), so it is read with checks per string.
    let mut r = Reader {
        b: body,
        i: 0,
        text: std::str::from_utf8(body).ok(),
    };
    let req = r.bid_request()?;
    r.ws();
    if r.i < r.b.len() {
        r.i += 1;
        return Err(r.err("trailing characters"));
    }
    Ok(req)
}

/// A JSON number as serde_json classifies it.
#[derive(Debug, Clone, Copy)]
enum Num {
    U(u64),
    I(i64),
    F(f64),
}

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
    /// The body as text when it is valid UTF-8 throughout.
    text: Option<&'a str>,
}

/// The first byte at or after `i` that ends a run of plain string bytes: `"`,
/// `\` or a control character (below 0x20), or `b.len()`; and whether every
/// byte before it was ASCII (then the run needs no UTF-8 check). Eight bytes at
/// a time: the classic "has a zero byte" test on the word xor-ed with each
/// special byte.
#[inline]
pub(crate) fn scan_string(b: &[u8], mut i: usize) -> (usize, bool) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let mut seen: u64 = 0;
    while let Some(chunk) = b.get(i..i + 8) {
        let w = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        let q = w ^ (ONES * u64::from(b'"'));
        let s = w ^ (ONES * u64::from(b'\\'));
        // A byte is flagged when it is zero after the xor (quote, backslash) or
        // below 0x20; a borrow can only flag bytes above a truly flagged one, so
        // the lowest flag is exact.
        let hit = ((q.wrapping_sub(ONES) & !q)
            | (s.wrapping_sub(ONES) & !s)
            | (w.wrapping_sub(ONES * 0x20) & !w))
            & HIGH;
        if hit != 0 {
            let n = hit.trailing_zeros() / 8;
            // Only the bytes below the hit count towards "all ASCII".
            let below = if n == 0 {
                0
            } else {
                w & (u64::MAX >> (64 - 8 * n))
            };
            return (i + n as usize, (seen | below) & HIGH == 0);
        }
        seen |= w;
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            break;
        }
        seen |= u64::from(c);
        i += 1;
    }
    (i, seen & HIGH == 0)
}

fn hex4(b: &[u8]) -> Option<u16> {
    let mut n: u16 = 0;
    for &c in b.get(..4)? {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => return None,
        };
        n = (n << 4) | u16::from(d);
    }
    Some(n)
}

/// Sets `bit` in `seen`, or fails as serde's derive does on a repeated field.
fn once(seen: &mut u32, bit: u32, name: &'static str) -> Res<()> {
    if *seen & (1 << bit) != 0 {
        return Err(ReadError {
            msg: format!("duplicate field `{name}`").into(),
            line: 0,
            column: 0,
        });
    }
    *seen |= 1 << bit;
    Ok(())
}

impl<'a> Reader<'a> {
    // ---- errors -------------------------------------------------------------

    fn err(&self, msg: impl Into<Cow<'static, str>>) -> ReadError {
        let upto = &self.b[..self.i.min(self.b.len())];
        let line = 1 + upto.iter().filter(|&&c| c == b'\n').count();
        let column = upto.len() - upto.iter().rposition(|&c| c == b'\n').map_or(0, |p| p + 1);
        ReadError {
            msg: msg.into(),
            line,
            column,
        }
    }

    /// Gives a positionless error (from [`once`]) the current position.
    fn at(&self, e: ReadError) -> ReadError {
        if e.line == 0 { self.err(e.msg) } else { e }
    }

    /// `invalid type: <what is here>, expected <expected>`, naming the value as
    /// serde does (`string "300"`, ``integer `5` ``, `map`, …).
    fn invalid_type(&mut self, expected: &str) -> ReadError {
        let found: Cow<'static, str> = match self.b.get(self.i) {
            None => return self.err("EOF while parsing a value"),
            Some(b'"') => match self.string_bytes().and_then(|s| self.utf8(s)) {
                Ok(s) => format!("string {s:?}").into(),
                Err(e) => return e,
            },
            Some(b'{') => {
                self.i += 1;
                "map".into()
            }
            Some(b'[') => {
                self.i += 1;
                "sequence".into()
            }
            Some(b't') => "boolean `true`".into(),
            Some(b'f') => "boolean `false`".into(),
            Some(b'n') => "null".into(),
            Some(b'-' | b'0'..=b'9') => match self.number() {
                Ok(Num::F(v)) => format!("floating point `{v:?}`").into(),
                Ok(Num::U(v)) => format!("integer `{v}`").into(),
                Ok(Num::I(v)) => format!("integer `{v}`").into(),
                Err(e) => return e,
            },
            Some(_) => {
                self.i += 1;
                return self.err("expected value");
            }
        };
        self.err(format!("invalid type: {found}, expected {expected}"))
    }

    // ---- lexing -------------------------------------------------------------

    #[inline]
    fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            if !matches!(c, b' ' | b'\n' | b'\r' | b'\t') {
                break;
            }
            self.i += 1;
        }
    }

    #[inline]
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    fn literal(&mut self, word: &'static [u8]) -> Res<()> {
        for &c in word {
            match self.b.get(self.i) {
                None => return Err(self.err("EOF while parsing a value")),
                Some(&x) if x == c => self.i += 1,
                Some(_) => {
                    self.i += 1;
                    return Err(self.err("expected ident"));
                }
            }
        }
        Ok(())
    }

    /// True (and consumed) when the next value is `null`.
    #[inline]
    fn null(&mut self) -> Res<bool> {
        if self.peek() == Some(b'n') {
            self.literal(b"null")?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Checks an escape after its backslash; appends its text to `out` if given.
    fn escape(&mut self, out: Option<&mut Vec<u8>>) -> Res<()> {
        let Some(&c) = self.b.get(self.i) else {
            return Err(self.err("EOF while parsing a string"));
        };
        self.i += 1;
        let byte = match c {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => return self.unicode_escape(out),
            _ => return Err(self.err("invalid escape")),
        };
        if let Some(out) = out {
            out.push(byte);
        }
        Ok(())
    }

    fn hex_escape(&mut self) -> Res<u16> {
        if self.b.len() < self.i + 4 {
            self.i = self.b.len();
            return Err(self.err("EOF while parsing a string"));
        }
        let n = hex4(&self.b[self.i..]);
        self.i += 4;
        n.ok_or_else(|| self.err("invalid escape"))
    }

    /// `\uXXXX`, with surrogate pairs; lone surrogates are refused when decoding
    /// (a skipped string only needs four hex digits, as in serde_json).
    fn unicode_escape(&mut self, out: Option<&mut Vec<u8>>) -> Res<()> {
        let n = self.hex_escape()?;
        let Some(out) = out else {
            return Ok(());
        };
        let code = match n {
            0xDC00..=0xDFFF => return Err(self.err("lone leading surrogate in hex escape")),
            0xD800..=0xDBFF => {
                if self.b.get(self.i) != Some(&b'\\') || self.b.get(self.i + 1) != Some(&b'u') {
                    if self.i >= self.b.len() {
                        return Err(self.err("EOF while parsing a string"));
                    }
                    self.i += 1;
                    if self.i >= self.b.len() {
                        return Err(self.err("EOF while parsing a string"));
                    }
                    return Err(self.err("unexpected end of hex escape"));
                }
                self.i += 2;
                let n2 = self.hex_escape()?;
                if !(0xDC00..=0xDFFF).contains(&n2) {
                    return Err(self.err("lone leading surrogate in hex escape"));
                }
                (((u32::from(n) - 0xD800) << 10) | (u32::from(n2) - 0xDC00)) + 0x1_0000
            }
            _ => u32::from(n),
        };
        let ch = char::from_u32(code).ok_or_else(|| self.err("invalid escape"))?;
        let mut buf = [0; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
        Ok(())
    }

    /// The raw bytes of a string whose opening quote is at `self.i`, escapes
    /// decoded (owned) or not present (borrowed), and whether they are all
    /// ASCII; not yet checked as UTF-8 otherwise.
    #[inline]
    fn string_bytes(&mut self) -> Res<(Cow<'a, [u8]>, bool, usize)> {
        self.i += 1;
        let b = self.b;
        let mut start = self.i;
        let mut owned: Option<Vec<u8>> = None;
        loop {
            let (j, ascii) = scan_string(b, self.i);
            match b.get(j) {
                Some(b'"') if owned.is_none() => {
                    self.i = j + 1;
                    return Ok((Cow::Borrowed(&b[start..j]), ascii, start));
                }
                Some(b'"') => {
                    self.i = j + 1;
                    let mut v = owned.unwrap_or_default();
                    v.extend_from_slice(&b[start..j]);
                    return Ok((Cow::Owned(v), false, start));
                }
                Some(b'\\') => {
                    let v = owned.get_or_insert_with(|| Vec::with_capacity(j - start + 16));
                    v.extend_from_slice(&b[start..j]);
                    self.i = j + 1;
                    self.escape(Some(v))?;
                    start = self.i;
                }
                None => {
                    self.i = j;
                    return Err(self.err("EOF while parsing a string"));
                }
                Some(_) => {
                    self.i = j + 1;
                    return Err(self
                        .err("control character (\\u0000-\\u001F) found while parsing a string"));
                }
            }
        }
    }

    #[inline]
    fn utf8(&self, (bytes, _ascii, start): (Cow<'a, [u8]>, bool, usize)) -> Res<Cow<'a, str>> {
        match bytes {
            Cow::Borrowed(s) => {
                // Delimited by ASCII quotes, so on character boundaries.
                if let Some(t) = self.text.and_then(|t| t.get(start..start + s.len())) {
                    return Ok(Cow::Borrowed(t));
                }
                std::str::from_utf8(s)
                    .map(Cow::Borrowed)
                    .map_err(|_| self.err("invalid unicode code point"))
            }
            Cow::Owned(v) => String::from_utf8(v)
                .map(Cow::Owned)
                .map_err(|_| self.err("invalid unicode code point")),
        }
    }

    /// A string value (not null).
    #[inline]
    fn string(&mut self) -> Res<Cow<'a, str>> {
        if self.peek() != Some(b'"') {
            return Err(self.invalid_type("a string"));
        }
        let bytes = self.string_bytes()?;
        self.utf8(bytes)
    }

    #[inline]
    fn opt_string(&mut self) -> Res<Option<Cow<'a, str>>> {
        if self.null()? {
            return Ok(None);
        }
        self.string().map(Some)
    }

    fn skip_string(&mut self) -> Res<()> {
        self.i += 1;
        loop {
            let (j, _) = scan_string(self.b, self.i);
            self.i = j + 1;
            match self.b.get(j) {
                None => {
                    self.i = j;
                    return Err(self.err("EOF while parsing a string"));
                }
                Some(b'"') => return Ok(()),
                Some(b'\\') => self.escape(None)?,
                Some(_) => {
                    return Err(self
                        .err("control character (\\u0000-\\u001F) found while parsing a string"));
                }
            }
        }
    }

    /// Consumes the digits of a number (JSON grammar); returns whether it had a
    /// fraction or an exponent.
    fn number_text(&mut self) -> Res<bool> {
        let b = self.b;
        if b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match b.get(self.i) {
            Some(b'0') => {
                self.i += 1;
                if matches!(b.get(self.i), Some(b'0'..=b'9')) {
                    return Err(self.err("invalid number"));
                }
            }
            Some(b'1'..=b'9') => {
                while matches!(b.get(self.i), Some(b'0'..=b'9')) {
                    self.i += 1;
                }
            }
            None => return Err(self.err("EOF while parsing a value")),
            Some(_) => {
                self.i += 1;
                return Err(self.err("invalid number"));
            }
        }
        let mut float = false;
        if b.get(self.i) == Some(&b'.') {
            float = true;
            self.i += 1;
            let digits = self.i;
            while matches!(b.get(self.i), Some(b'0'..=b'9')) {
                self.i += 1;
            }
            if self.i == digits {
                return Err(self.err("invalid number"));
            }
        }
        if matches!(b.get(self.i), Some(b'e' | b'E')) {
            float = true;
            self.i += 1;
            if matches!(b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            let digits = self.i;
            while matches!(b.get(self.i), Some(b'0'..=b'9')) {
                self.i += 1;
            }
            if self.i == digits {
                return Err(self.err("invalid number"));
            }
        }
        Ok(float)
    }

    /// A number, classified as serde_json does: non-negative integers that fit
    /// are `u64`, negative ones that fit `i64` (but `-0` is a float), anything
    /// else a float; a float that overflows is an error.
    #[inline]
    fn number(&mut self) -> Res<Num> {
        let start = self.i;
        let negative = self.b.get(start) == Some(&b'-');
        // The usual case, a short integer, without going through text.
        let digits_at = start + usize::from(negative);
        let mut j = digits_at;
        let mut v: u64 = 0;
        while let Some(&c) = self.b.get(j) {
            if !c.is_ascii_digit() || j - digits_at == 19 {
                break;
            }
            v = v * 10 + u64::from(c - b'0');
            j += 1;
        }
        let plain = j > digits_at
            && !matches!(self.b.get(j), Some(b'0'..=b'9' | b'.' | b'e' | b'E'))
            && (self.b[digits_at] != b'0' || j == digits_at + 1);
        if plain {
            self.i = j;
            if !negative {
                return Ok(Num::U(v));
            }
            let neg = (v as i64).wrapping_neg();
            return Ok(if neg < 0 {
                Num::I(neg)
            } else {
                Num::F(-(v as f64))
            });
        }
        let float = self.number_text()?;
        // The text is ASCII digits, sign, point and exponent: valid UTF-8.
        let text = std::str::from_utf8(&self.b[start..self.i]).unwrap_or("");
        if !float {
            if let Some(digits) = text.strip_prefix('-') {
                if let Ok(m) = digits.parse::<u64>() {
                    let neg = (m as i64).wrapping_neg();
                    if neg < 0 {
                        return Ok(Num::I(neg));
                    }
                }
            } else if let Ok(u) = text.parse::<u64>() {
                return Ok(Num::U(u));
            }
        }
        let f: f64 = text.parse().map_err(|_| self.err("invalid number"))?;
        if f.is_infinite() {
            return Err(self.err("number out of range"));
        }
        Ok(Num::F(f))
    }

    #[inline]
    fn is_number_start(&mut self) -> bool {
        matches!(self.peek(), Some(b'-' | b'0'..=b'9'))
    }

    #[inline]
    fn i64(&mut self) -> Res<i64> {
        if !self.is_number_start() {
            return Err(self.invalid_type("i64"));
        }
        match self.number()? {
            Num::I(v) => Ok(v),
            Num::U(v) => i64::try_from(v)
                .map_err(|_| self.err(format!("invalid value: integer `{v}`, expected i64"))),
            Num::F(v) => Err(self.err(format!("invalid type: floating point `{v}`, expected i64"))),
        }
    }

    #[inline]
    fn opt_i64(&mut self) -> Res<Option<i64>> {
        if self.null()? {
            return Ok(None);
        }
        self.i64().map(Some)
    }

    /// `null_as_default` for an integer: null is 0.
    #[inline]
    fn i64_or_zero(&mut self) -> Res<i64> {
        Ok(self.opt_i64()?.unwrap_or(0))
    }

    #[inline]
    fn opt_u32(&mut self) -> Res<Option<u32>> {
        if self.null()? {
            return Ok(None);
        }
        if !self.is_number_start() {
            return Err(self.invalid_type("u32"));
        }
        match self.number()? {
            Num::U(v) => u32::try_from(v)
                .map(Some)
                .map_err(|_| self.err(format!("invalid value: integer `{v}`, expected u32"))),
            Num::I(v) => Err(self.err(format!("invalid value: integer `{v}`, expected u32"))),
            Num::F(v) => Err(self.err(format!("invalid type: floating point `{v}`, expected u32"))),
        }
    }

    /// `null_as_default` for a float: null is 0.0; integers are taken as floats.
    #[inline]
    fn f64_or_zero(&mut self) -> Res<f64> {
        if self.null()? {
            return Ok(0.0);
        }
        if !self.is_number_start() {
            return Err(self.invalid_type("f64"));
        }
        Ok(match self.number()? {
            Num::U(v) => v as f64,
            Num::I(v) => v as f64,
            Num::F(v) => v,
        })
    }

    /// Skips one value of any shape, checking its syntax, without recursion
    /// (serde_json skips unknown fields the same way, to any depth).
    fn skip(&mut self) -> Res<()> {
        // One entry per open container: true for an object, false for an array.
        let mut stack: smallvec::SmallVec<[bool; 16]> = smallvec::SmallVec::new();
        loop {
            match self.peek() {
                None => return Err(self.err("EOF while parsing a value")),
                Some(b'n') => self.literal(b"null")?,
                Some(b't') => self.literal(b"true")?,
                Some(b'f') => self.literal(b"false")?,
                Some(b'-' | b'0'..=b'9') => {
                    self.number_text()?;
                }
                Some(b'"') => self.skip_string()?,
                Some(b'[') => {
                    self.i += 1;
                    if self.peek() == Some(b']') {
                        self.i += 1;
                    } else {
                        stack.push(false);
                        continue;
                    }
                }
                Some(b'{') => {
                    self.i += 1;
                    match self.peek() {
                        Some(b'}') => self.i += 1,
                        _ => {
                            self.skip_key()?;
                            stack.push(true);
                            continue;
                        }
                    }
                }
                Some(_) => {
                    self.i += 1;
                    return Err(self.err("expected value"));
                }
            }
            // A value is complete: close containers or move to their next element.
            loop {
                let Some(&is_object) = stack.last() else {
                    return Ok(());
                };
                match (self.peek(), is_object) {
                    (None, false) => return Err(self.err("EOF while parsing a list")),
                    (None, true) => return Err(self.err("EOF while parsing an object")),
                    (Some(b','), false) => {
                        self.i += 1;
                        if self.peek() == Some(b']') {
                            self.i += 1;
                            return Err(self.err("trailing comma"));
                        }
                        break;
                    }
                    (Some(b','), true) => {
                        self.i += 1;
                        if self.peek() == Some(b'}') {
                            self.i += 1;
                            return Err(self.err("trailing comma"));
                        }
                        self.skip_key()?;
                        break;
                    }
                    (Some(b']'), false) | (Some(b'}'), true) => {
                        self.i += 1;
                        stack.pop();
                    }
                    (Some(_), false) => {
                        self.i += 1;
                        return Err(self.err("expected `,` or `]`"));
                    }
                    (Some(_), true) => {
                        self.i += 1;
                        return Err(self.err("expected `,` or `}`"));
                    }
                }
            }
        }
    }

    /// Skips `"key":` inside an object being skipped. Like serde_json, an
    /// ignored object's keys are only scanned (escapes checked), not decoded
    /// or checked as UTF-8.
    fn skip_key(&mut self) -> Res<()> {
        match self.peek() {
            Some(b'"') => self.skip_string()?,
            None => return Err(self.err("EOF while parsing an object")),
            Some(_) => {
                self.i += 1;
                return Err(self.err("key must be a string"));
            }
        }
        self.colon()
    }

    fn colon(&mut self) -> Res<()> {
        match self.peek() {
            Some(b':') => {
                self.i += 1;
                Ok(())
            }
            None => Err(self.err("EOF while parsing an object")),
            Some(_) => {
                self.i += 1;
                Err(self.err("expected `:`"))
            }
        }
    }

    /// The raw text of any value (an `ext`), borrowed; null is `None`.
    fn raw(&mut self) -> Res<Option<RawJson<'a>>> {
        if self.null()? {
            return Ok(None);
        }
        let start = self.i;
        self.skip()?;
        if let Some(t) = self.text.and_then(|t| t.get(start..self.i)) {
            return Ok(Some(RawJson(t)));
        }
        std::str::from_utf8(&self.b[start..self.i])
            .map(|s| Some(RawJson(s)))
            .map_err(|_| self.err("invalid unicode code point"))
    }

    // ---- containers ---------------------------------------------------------

    /// Reads an object, calling `field` with each key; `field` reads the value
    /// of a key it knows and answers `false` for others, whose value is skipped.
    fn object(
        &mut self,
        what: &str,
        mut field: impl FnMut(&mut Self, &[u8]) -> Res<bool>,
    ) -> Res<()> {
        if self.peek() != Some(b'{') {
            return Err(self.invalid_type(what));
        }
        self.i += 1;
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        loop {
            let key = match self.peek() {
                Some(b'"') => {
                    let (k, ascii, _) = self.string_bytes()?;
                    // Keys are decoded and checked as serde_json does.
                    if self.text.is_none() && !ascii && std::str::from_utf8(&k).is_err() {
                        return Err(self.err("invalid unicode code point"));
                    }
                    k
                }
                None => return Err(self.err("EOF while parsing an object")),
                Some(_) => {
                    self.i += 1;
                    return Err(self.err("key must be a string"));
                }
            };
            self.colon()?;
            let known = field(self, &key).map_err(|e| self.at(e))?;
            if !known {
                self.skip()?;
            }
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    match self.peek() {
                        Some(b'}') => {
                            self.i += 1;
                            return Err(self.err("trailing comma"));
                        }
                        _ => continue,
                    }
                }
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                None => return Err(self.err("EOF while parsing an object")),
                Some(_) => {
                    self.i += 1;
                    return Err(self.err("expected `,` or `}`"));
                }
            }
        }
    }

    /// An array (not null) of items read by `item`.
    fn array<T>(&mut self, mut item: impl FnMut(&mut Self) -> Res<T>) -> Res<Vec<T>> {
        if self.peek() != Some(b'[') {
            return Err(self.invalid_type("a sequence"));
        }
        self.i += 1;
        let mut out = Vec::new();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(out);
        }
        loop {
            out.push(item(self)?);
            match self.peek() {
                Some(b',') => {
                    self.i += 1;
                    if self.peek() == Some(b']') {
                        self.i += 1;
                        return Err(self.err("trailing comma"));
                    }
                }
                Some(b']') => {
                    self.i += 1;
                    return Ok(out);
                }
                None => return Err(self.err("EOF while parsing a list")),
                Some(_) => {
                    self.i += 1;
                    return Err(self.err("expected `,` or `]`"));
                }
            }
        }
    }

    /// `null_as_default` for an array: null is empty.
    #[inline]
    fn array_or_empty<T>(&mut self, item: impl FnMut(&mut Self) -> Res<T>) -> Res<Vec<T>> {
        if self.null()? {
            return Ok(Vec::new());
        }
        self.array(item)
    }

    #[inline]
    fn strs(&mut self) -> Res<Vec<Str<'a>>> {
        self.array_or_empty(|r| r.string().map(Str))
    }

    fn opt_strs(&mut self) -> Res<Option<Vec<Str<'a>>>> {
        if self.null()? {
            return Ok(None);
        }
        self.array(|r| r.string().map(Str)).map(Some)
    }

    #[inline]
    fn ints(&mut self) -> Res<Vec<i64>> {
        self.array_or_empty(Self::i64)
    }

    /// An optional nested object: null is `None`.
    #[inline]
    fn opt<T>(&mut self, read: impl FnOnce(&mut Self) -> Res<T>) -> Res<Option<T>> {
        if self.null()? {
            return Ok(None);
        }
        read(self).map(Some)
    }
}
