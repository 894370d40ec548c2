//! The fast transactions importer: a CSV file's bytes straight into a
//! [`TransactionLog`], without a [`crate::Transaction`] (or any allocation)
//! per row.
//!
//! The header is read by the `csv` crate, with the same column rules as
//! [`parse_transactions_csv`]. The rows are split on newlines into one chunk
//! per thread and parsed in parallel: customer ids are interned with a fast
//! hash, `YYYY-MM-DD` dates and plain decimal amounts are parsed from the
//! bytes, and any other spelling goes through the general parsers
//! ([`parse_timestamp`], [`parse_amount`]). Quoted fields (`"$1,029.33"`) are
//! read by a small quote-aware splitter. Customer ids are then interned in
//! parallel ([`TransactionLog`] numbers customers in the order they first
//! appear). Whatever this reader does not take — an invalid value, an
//! escaped quote or text after a closing quote, a field spanning lines, a
//! lone carriage return, bytes that are not UTF-8 — sends the whole file
//! through [`parse_transactions_csv`], so values and errors are exactly its
//! own (line, column, message).

use rayon::prelude::*;
use time::{Date, Month, OffsetDateTime};

use crate::csv_import::{
    AMOUNT_NAMES, CUSTOMER_NAMES, CsvErrors, CsvOptions, TIMESTAMP_NAMES, TimestampFormat,
    TransactionColumns, parse_amount, parse_timestamp, parse_transactions_csv,
};
use crate::error::LtvError;
use crate::log::{RawChunk, TransactionLog, When};

/// Below this many bytes of rows, one thread parses them all.
const PARALLEL_FROM: usize = 1 << 20;

/// Reads a transactions file (the whole file's bytes) into a log. The same
/// rows, values and errors as [`parse_transactions_csv`] followed by
/// [`TransactionLog::from_transactions`], in a fraction of the time and
/// memory.
pub fn read_transaction_log(
    input: &[u8],
    options: &CsvOptions,
) -> Result<TransactionLog, LtvError> {
    if let Some(log) = fast(input, options) {
        return Ok(log);
    }
    let transactions = parse_transactions_csv(input, options)?;
    Ok(TransactionLog::from_transactions(&transactions))
}

/// Which column holds what.
#[derive(Debug, Clone, Copy)]
struct Columns {
    id: usize,
    at: usize,
    amount: usize,
    segment: Option<usize>,
    platform: Option<usize>,
    /// One more than the highest index needed.
    width: usize,
}

fn columns(headers: &csv::StringRecord, cols: &TransactionColumns) -> Option<Columns> {
    let defaults = TransactionColumns::default();
    let mut errors = crate::csv_import::Collector {
        errors: CsvErrors::default(),
        max: 1,
    };
    let id = crate::csv_import::required(
        headers,
        &cols.customer_id,
        &defaults.customer_id,
        CUSTOMER_NAMES,
        &mut errors,
    )?;
    let at = crate::csv_import::required(
        headers,
        &cols.timestamp,
        &defaults.timestamp,
        TIMESTAMP_NAMES,
        &mut errors,
    )?;
    let amount = crate::csv_import::required(
        headers,
        &cols.amount,
        &defaults.amount,
        AMOUNT_NAMES,
        &mut errors,
    )?;
    let segment = crate::csv_import::find(headers, &cols.segment);
    let platform = crate::csv_import::find(headers, &cols.platform);
    let width = [
        Some(id.index),
        Some(at.index),
        Some(amount.index),
        segment,
        platform,
    ]
    .into_iter()
    .flatten()
    .max()
    .unwrap_or(0)
        + 1;
    Some(Columns {
        id: id.index,
        at: at.index,
        amount: amount.index,
        segment,
        platform,
        width,
    })
}

/// The fast path; `None` when the file needs the general reader.
fn fast(input: &[u8], options: &CsvOptions) -> Option<TransactionLog> {
    let text = std::str::from_utf8(input).ok()?;
    // A carriage return ends a record in CSV; only as part of CRLF here.
    if memchr::memchr_iter(b'\r', input).any(|i| input.get(i + 1) != Some(&b'\n')) {
        return None;
    }
    let mut rdr = crate::csv_import::reader(input, options.delimiter);
    let headers = rdr.headers().ok()?.clone();
    let body_start = usize::try_from(rdr.position().byte()).ok()?;
    drop(rdr);
    let cols = columns(&headers, &options.columns)?;
    let body = text.get(body_start..)?;
    let parts = chunks(body, rayon::current_num_threads().max(1));
    let parsed: Option<Vec<RawChunk<'_>>> = parts
        .par_iter()
        .map(|chunk| parse_chunk(chunk, &cols, options))
        .collect();
    Some(TransactionLog::from_raw_chunks(parsed?))
}

/// Splits `body` into about `n` pieces at line ends.
fn chunks(body: &str, n: usize) -> Vec<&str> {
    if n <= 1 || body.len() < PARALLEL_FROM {
        return vec![body];
    }
    let bytes = body.as_bytes();
    let mut out = Vec::with_capacity(n);
    let mut start = 0;
    for k in 1..n {
        let target = (body.len() * k / n).max(start);
        let Some(nl) = memchr::memchr(b'\n', &bytes[target..]) else {
            break;
        };
        let end = target + nl + 1;
        out.push(&body[start..end]);
        start = end;
    }
    out.push(&body[start..]);
    out
}

fn parse_chunk<'a>(chunk: &'a str, cols: &Columns, options: &CsvOptions) -> Option<RawChunk<'a>> {
    // About 25 bytes a line in a typical export.
    let lines = chunk.len() / 24;
    let mut b = RawChunk {
        rows: Vec::with_capacity(lines),
        ids: Vec::with_capacity(lines),
        ..RawChunk::default()
    };
    each_row(chunk, cols, options, cols.width, |_, row, _, _| {
        b.push(row.id, row.when, row.amount, row.segment, row.platform);
    })?;
    Some(b)
}

/// The values of one line the engine reads.
struct LineValues<'a> {
    id: &'a str,
    when: When,
    amount: i64,
    segment: Option<&'a str>,
    platform: Option<&'a str>,
}

/// Calls `f` with each non-empty line's index in the chunk, its values,
/// its first `width` fields (trimmed on use) and whether it ends in CRLF;
/// `None` as soon as a line needs the general reader.
fn each_row<'a>(
    chunk: &'a str,
    cols: &Columns,
    options: &CsvOptions,
    width: usize,
    mut f: impl FnMut(usize, LineValues<'a>, &[&'a str], bool),
) -> Option<()> {
    let mut fields: Vec<&'a str> = Vec::with_capacity(width);
    let delimiter = options.delimiter;
    for (i, line) in chunk.split('\n').enumerate() {
        let (line, crlf) = match line.strip_suffix('\r') {
            Some(l) => (l, true),
            None => (line, false),
        };
        if line.is_empty() {
            continue;
        }
        if line.as_bytes().contains(&b'"') {
            // A quoted field open at the end of the line, an escaped quote
            // or text after a closing quote: the general reader.
            if quote_open_at_end(line.as_bytes(), delimiter)
                || !split_quoted(line, delimiter, width, &mut fields)
            {
                return None;
            }
        } else {
            split_plain(line, delimiter, width, &mut fields);
        }
        let get = |i: usize| fields.get(i).map_or("", |s| s.trim());
        let id = get(cols.id);
        if id.is_empty() {
            return None;
        }
        let when = when(get(cols.at), options.timestamp_format)?;
        let amount = amount(get(cols.amount))?;
        let label = |c: Option<usize>| c.map(get).filter(|v| !v.is_empty());
        let values = LineValues {
            id,
            when,
            amount,
            segment: label(cols.segment),
            platform: label(cols.platform),
        };
        f(i, values, &fields, crlf);
    }
    Some(())
}

/// One data row of a transactions file as [`read_transaction_rows`] reads
/// it: the values the engine reads, parsed, and the text of the extra
/// columns asked for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CsvTransaction<'a, const N: usize> {
    /// The row's line as the `csv` crate (and so [`parse_transactions_csv`])
    /// numbers it: 1 + the line ends before the end of the previous record
    /// (its line end, or the CR of a CRLF). The first row of a plain file is
    /// line 2; in a CRLF file a row has the number of the line before it.
    pub line: u64,
    pub customer_id: &'a str,
    pub at: OffsetDateTime,
    pub amount_micros: i64,
    pub segment: Option<&'a str>,
    pub platform: Option<&'a str>,
    /// The extra columns' fields, trimmed, in the order asked (`None` when
    /// the file has no such column or the row ends before it).
    pub extra: [Option<&'a str>; N],
}

/// Reads a transactions file's rows as borrowed values, with the fields of
/// `extra` columns (found by name, in any case) beside them: the rows
/// [`parse_transactions_csv`] reads, with their file lines, in file order,
/// parsed in parallel without an allocation per row. `None` when the file
/// needs the general reader — a bad value, an escaped quote, a field
/// spanning lines, a lone carriage return, bytes that are not UTF-8, a
/// missing column: [`parse_transactions_csv`] then gives the same rows or
/// the errors (line, column, message) to report.
pub fn read_transaction_rows<'a, const N: usize>(
    input: &'a [u8],
    options: &CsvOptions,
    extra: [&str; N],
) -> Option<Vec<CsvTransaction<'a, N>>> {
    let text = std::str::from_utf8(input).ok()?;
    if memchr::memchr_iter(b'\r', input).any(|i| input.get(i + 1) != Some(&b'\n')) {
        return None;
    }
    let mut rdr = crate::csv_import::reader(input, options.delimiter);
    let headers = rdr.headers().ok()?.clone();
    let body_start = usize::try_from(rdr.position().byte()).ok()?;
    drop(rdr);
    let cols = columns(&headers, &options.columns)?;
    let extra_cols = extra.map(|name| crate::csv_import::find(&headers, name));
    let width = extra_cols
        .iter()
        .flatten()
        .map(|i| i + 1)
        .fold(cols.width, usize::max);
    let body = text.get(body_start..)?;
    // The header's lines come first.
    let header_lines = memchr::memchr_iter(b'\n', &input[..body_start]).count() as u64;
    let parts = chunks(body, rayon::current_num_threads().max(1));
    let mut first_lines = Vec::with_capacity(parts.len());
    let mut line = header_lines + 1;
    for p in &parts {
        first_lines.push(line);
        line += memchr::memchr_iter(b'\n', p.as_bytes()).count() as u64;
    }
    let parsed: Option<Vec<(Vec<CsvTransaction<'a, N>>, Vec<bool>)>> = parts
        .par_iter()
        .zip(first_lines.par_iter())
        .map(|(chunk, &first)| {
            let mut out = Vec::with_capacity(chunk.len() / 24);
            let mut crlf = Vec::with_capacity(chunk.len() / 24);
            each_row(chunk, &cols, options, width, |i, v, fields, ends_crlf| {
                crlf.push(ends_crlf);
                let at = match v.when {
                    When::Day(d) => Date::from_julian_day(d)
                        .map_or(OffsetDateTime::UNIX_EPOCH, |d| d.midnight().assume_utc()),
                    When::At(at) => at,
                };
                out.push(CsvTransaction {
                    line: first + i as u64,
                    customer_id: v.id,
                    at,
                    amount_micros: v.amount,
                    segment: v.segment,
                    platform: v.platform,
                    extra: extra_cols.map(|c| c.and_then(|c| fields.get(c)).map(|s| s.trim())),
                });
            })?;
            Some((out, crlf))
        })
        .collect();
    let parsed = parsed?;
    let mut rows = Vec::with_capacity(parsed.iter().map(|p| p.0.len()).sum());
    // `line` holds the physical line so far; the csv crate's number of a row
    // follows from the row before it (see `CsvTransaction::line`).
    let (mut prev_line, mut prev_crlf) = (header_lines, false);
    for (part, crlf) in parsed {
        for (mut r, ends_crlf) in part.into_iter().zip(crlf) {
            let physical = r.line;
            r.line = prev_line + u64::from(!prev_crlf);
            (prev_line, prev_crlf) = (physical, ends_crlf);
            rows.push(r);
        }
    }
    Some(rows)
}

/// Splits a line without quotes; fields after the `width` needed are not
/// split.
fn split_plain<'a>(line: &'a str, delimiter: u8, width: usize, out: &mut Vec<&'a str>) {
    out.clear();
    let bytes = line.as_bytes();
    let mut start = 0;
    while out.len() < width {
        match memchr::memchr(delimiter, &bytes[start..]) {
            Some(i) => {
                out.push(&line[start..start + i]);
                start += i + 1;
            }
            None => {
                out.push(&line[start..]);
                return;
            }
        }
    }
}

/// Whether a CSV reader would still be inside a quoted field at the end of
/// this line (the record goes on to the next line). A quote opens a field
/// only at its start; inside one, a doubled quote is a quote.
fn quote_open_at_end(line: &[u8], delimiter: u8) -> bool {
    #[derive(PartialEq)]
    enum S {
        Start,
        Field,
        Quoted,
        QuoteInQuoted,
    }
    let mut s = S::Start;
    for &c in line {
        s = match s {
            S::Start if c == b'"' => S::Quoted,
            S::Start | S::Field if c == delimiter => S::Start,
            S::Start | S::Field => S::Field,
            S::Quoted if c == b'"' => S::QuoteInQuoted,
            S::Quoted => S::Quoted,
            S::QuoteInQuoted if c == b'"' => S::Quoted,
            S::QuoteInQuoted if c == delimiter => S::Start,
            S::QuoteInQuoted => S::Field,
        };
    }
    s == S::Quoted
}

/// Splits a line (with no quoted field left open) whose needed quoted
/// fields are whole (`"…"` between delimiters) and hold no escaped quote.
/// `false`: the line needs the general reader.
fn split_quoted<'a>(line: &'a str, delimiter: u8, width: usize, out: &mut Vec<&'a str>) -> bool {
    out.clear();
    let bytes = line.as_bytes();
    let mut start = 0;
    loop {
        if bytes.get(start) == Some(&b'"') {
            let Some(close) = memchr::memchr(b'"', &bytes[start + 1..]) else {
                return false;
            };
            let close = start + 1 + close;
            match bytes.get(close + 1) {
                None => {
                    out.push(&line[start + 1..close]);
                    return true;
                }
                Some(&d) if d == delimiter => {
                    out.push(&line[start + 1..close]);
                    start = close + 2;
                }
                // An escaped quote, or text after the closing quote.
                Some(_) => return false,
            }
        } else {
            match memchr::memchr(delimiter, &bytes[start..]) {
                Some(i) => {
                    out.push(&line[start..start + i]);
                    start += i + 1;
                }
                None => {
                    out.push(&line[start..]);
                    return true;
                }
            }
        }
        if out.len() >= width {
            return true;
        }
    }
}

/// A timestamp: `YYYY-MM-DD` (or `YYYYMMDD`) from the bytes, anything else
/// through [`parse_timestamp`].
fn when(s: &str, format: TimestampFormat) -> Option<When> {
    let b = s.as_bytes();
    let digits = |r: &[u8]| {
        r.iter().try_fold(0u32, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let ymd = match (format, b.len()) {
        (TimestampFormat::Date | TimestampFormat::Auto, 10) if b[4] == b'-' && b[7] == b'-' => {
            Some((digits(&b[..4]), digits(&b[5..7]), digits(&b[8..])))
        }
        (TimestampFormat::CompactDate | TimestampFormat::Auto, 8) => {
            Some((digits(&b[..4]), digits(&b[4..6]), digits(&b[6..])))
        }
        _ => None,
    };
    if let Some((Some(y), Some(m), Some(d))) = ymd {
        let date = Month::try_from(m as u8)
            .ok()
            .and_then(|m| Date::from_calendar_date(y as i32, m, d as u8).ok());
        if let Some(date) = date {
            return Some(When::Day(date.to_julian_day()));
        }
    }
    parse_timestamp(s, format).map(When::At)
}

/// An amount: plain `123` or `123.45` (at most twelve digits before the
/// point and six after it, optionally negative) from the bytes, anything
/// else through [`parse_amount`].
fn amount(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let (negative, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        _ => (false, b),
    };
    let (int, frac) = match memchr::memchr(b'.', digits) {
        Some(i) => (&digits[..i], Some(&digits[i + 1..])),
        None => (digits, None),
    };
    let plain = (1..=12).contains(&int.len())
        && int.iter().all(u8::is_ascii_digit)
        && frac.is_none_or(|f| (1..=6).contains(&f.len()) && f.iter().all(u8::is_ascii_digit));
    if !plain {
        return parse_amount(s);
    }
    let mut micros = int
        .iter()
        .fold(0i64, |acc, c| acc * 10 + i64::from(c - b'0'))
        * 1_000_000;
    if let Some(f) = frac {
        let mut scale = 100_000;
        for c in f {
            micros += i64::from(c - b'0') * scale;
            scale /= 10;
        }
    }
    Some(if negative { -micros } else { micros })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TimeUnit;
    use crate::csv_import::parse_transactions_csv;
    use time::macros::datetime;

    /// The fast log and the general reader's transactions give the same
    /// summaries.
    fn same_as_general(csv: &str, options: &CsvOptions) -> TransactionLog {
        let fast_log = fast(csv.as_bytes(), options).expect("the fast path takes it");
        let general = TransactionLog::from_transactions(
            &parse_transactions_csv(csv.as_bytes(), options).unwrap(),
        );
        assert_eq!(
            (fast_log.first_at(), fast_log.last_at(), fast_log.len()),
            (general.first_at(), general.last_at(), general.len())
        );
        let end = datetime!(2030-01-01 00:00 UTC);
        assert_eq!(
            fast_log.summarize(end, TimeUnit::Days),
            general.summarize(end, TimeUnit::Days)
        );
        fast_log
    }

    #[test]
    fn plain_quoted_and_odd_lines_read_as_the_general_reader_reads_them() {
        let csv = "\u{feff}customer_id,timestamp,amount,platform,note\r\n\
                   c1,2024-01-02,12.34,meta,x\r\n\
                   \r\n\
                   \"c2\",\"2024-01-03\",\"$1,029.33\",,\"a, b\"\r\n\
                   c3 , 2024-01-03T10:00:00+02:00 , -4.5 ,google\r\n\
                   c4,20240105,7,\"tiktok\"\r\n\
                   c1,2024-01-09 08:00:00,\"19.99 EUR\",meta\r\n\
                   c5,1709251200,0.000001\n";
        let log = same_as_general(csv, &CsvOptions::default());
        assert_eq!((log.customers(), log.len()), (5, 6));
    }

    #[test]
    fn a_large_file_is_read_in_parallel_chunks_with_the_same_result() {
        let mut csv = String::from("email,order_date,total,segment\n");
        for i in 0..120_000u32 {
            let seg = if i % 7 == 0 { "vip" } else { "" };
            csv.push_str(&format!(
                "u{}@shop.example,2024-{:02}-{:02},{}.{:02},{seg}\n",
                i % 40_000,
                1 + i % 12,
                1 + i % 28,
                i % 500,
                i % 100
            ));
        }
        assert!(chunks(&csv, 2).len() == 2);
        let log = same_as_general(&csv, &CsvOptions::default());
        assert_eq!(log.customers(), 40_000);
    }

    #[test]
    fn rows_with_extra_columns_are_the_general_readers_rows_with_their_lines() {
        let mut csv = String::from("\u{feff}Email,Order_Date,Total,Kind,platform\r\n");
        for i in 0..60_000u32 {
            let kind = if i % 9 == 0 { "refund" } else { "" };
            let amount = if i % 5 == 0 {
                format!("\"${},{:03}.5\"", i % 3, i % 1000)
            } else {
                format!("{}.{:02}", i % 500, i % 100)
            };
            let end = if i % 3 == 0 { "\r\n" } else { "\n" };
            csv.push_str(&format!(
                "u{}@shop.example,2024-{:02}-{:02},{amount},{kind},meta{end}",
                i % 20_000,
                1 + i % 12,
                1 + i % 28,
            ));
            if i % 1000 == 0 {
                csv.push_str(if i % 2000 == 0 { "\n" } else { "\r\n\n" });
            }
        }
        let options = CsvOptions::default();
        let rows = read_transaction_rows(csv.as_bytes(), &options, ["kind", "order_id"])
            .expect("the fast path takes it");
        let general = parse_transactions_csv(csv.as_bytes(), &options).unwrap();
        assert_eq!(rows.len(), general.len());
        let mut rdr = crate::csv_import::reader(csv.as_bytes(), b',');
        rdr.headers().unwrap();
        let lines: Vec<u64> = rdr
            .records()
            .map(|r| r.unwrap().position().unwrap().line())
            .collect();
        for ((r, t), line) in rows.iter().zip(&general).zip(lines) {
            assert_eq!(
                (r.customer_id, r.at, r.amount_micros, r.platform, r.line),
                (
                    t.customer_id.as_str(),
                    t.at,
                    t.amount_micros,
                    t.platform.as_deref(),
                    line
                )
            );
            assert_eq!(r.extra[1], None, "no order_id column");
            assert!(matches!(r.extra[0], Some("" | "refund")));
        }
        assert!(
            read_transaction_rows(
                b"customer_id,timestamp,amount\nc1,2024-02-30,1\n",
                &options,
                []
            )
            .is_none()
        );
    }

    #[test]
    fn anything_unusual_goes_through_the_general_reader_and_its_errors() {
        for csv in [
            // A quoted field spanning two lines.
            "customer_id,timestamp,amount\n\"c\n1\",2024-01-02,1\n",
            // A lone carriage return ends a record.
            "customer_id,timestamp,amount\nc1,2024-01-02,1\rc2,2024-01-03,2\n",
            // An escaped quote.
            "customer_id,timestamp,amount\n\"c\"\"1\",2024-01-02,1\n",
            // Bad values.
            "customer_id,timestamp,amount\nc1,2024-02-30,1\n",
            "customer_id,timestamp,amount\nc1,2024-01-02,1.0000001\n",
            "customer_id,timestamp,amount\n,2024-01-02,1\n",
        ] {
            assert!(
                fast(csv.as_bytes(), &CsvOptions::default()).is_none(),
                "{csv:?}"
            );
            assert_eq!(
                read_transaction_log(csv.as_bytes(), &CsvOptions::default()).map(|l| l.len()),
                parse_transactions_csv(csv.as_bytes(), &CsvOptions::default())
                    .map(|t| TransactionLog::from_transactions(&t).len()),
                "{csv:?}"
            );
        }
    }

    #[test]
    fn fast_amounts_and_dates_equal_the_general_parsers() {
        for s in [
            "0",
            "12",
            "12.5",
            "007.25",
            "999999999999.999999",
            "-3.10",
            "-0",
            "1.",
            ".5",
            "1234567890123",
            "$4",
            "1,000",
        ] {
            assert_eq!(amount(s), parse_amount(s), "{s}");
        }
        for s in [
            "2024-02-29",
            "2023-02-29",
            "2024-13-01",
            "0000-01-01",
            "9999-12-31",
            "20240229",
            "2024-1-01",
            "2024-01-01T00:00:00Z",
        ] {
            for f in [
                TimestampFormat::Auto,
                TimestampFormat::Date,
                TimestampFormat::CompactDate,
            ] {
                let ours = when(s, f).map(|w| match w {
                    When::Day(d) => Date::from_julian_day(d).unwrap().midnight().assume_utc(),
                    When::At(at) => at,
                });
                assert_eq!(ours, parse_timestamp(s, f), "{s} as {f:?}");
            }
        }
    }
}
