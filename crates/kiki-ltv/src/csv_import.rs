//! CSV import of transactions and of ready-made RFM summaries, with every
//! bad value reported by line number and column name (up to a limit), so a
//! user can fix a file in one pass. Parsing reads from any `Read`; opening
//! files is the caller's business.

use std::fmt;
use std::io::Read;

use kiki_core::{Currency, Money};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

use crate::data::{CustomerSummary, Transaction};

/// How timestamps are written in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimestampFormat {
    /// `2024-03-01T12:30:00Z` or with an offset.
    Rfc3339,
    /// `2024-03-01`, taken as midnight UTC.
    Date,
    /// `20240301`, taken as midnight UTC (the CDNOW files).
    CompactDate,
    /// Seconds since 1970-01-01 UTC.
    UnixSeconds,
    /// Tries each of the above, and `2024-03-01 12:30:00` (UTC).
    Auto,
}

/// Column names of a transactions file. Segment and platform are optional:
/// used when the header has them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct TransactionColumns {
    pub customer_id: String,
    pub timestamp: String,
    /// Order value as a decimal in the major unit (`12.34`).
    pub amount: String,
    pub segment: String,
    pub platform: String,
}

impl Default for TransactionColumns {
    fn default() -> Self {
        TransactionColumns {
            customer_id: "customer_id".into(),
            timestamp: "timestamp".into(),
            amount: "amount".into(),
            segment: "segment".into(),
            platform: "platform".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct CsvOptions {
    pub delimiter: u8,
    pub columns: TransactionColumns,
    pub timestamp_format: TimestampFormat,
    /// Stop listing errors after this many (all are still counted).
    pub max_errors: usize,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: b',',
            columns: TransactionColumns::default(),
            timestamp_format: TimestampFormat::Auto,
            max_errors: 50,
        }
    }
}

/// One bad value: the 1-based line of the file, the column and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CsvRowError {
    pub line: u64,
    pub field: String,
    pub message: String,
}

/// The bad values of a file: the first `max_errors` and how many in all.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CsvErrors {
    pub errors: Vec<CsvRowError>,
    pub total: usize,
}

impl fmt::Display for CsvErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let noun = if self.total == 1 {
            "problem"
        } else {
            "problems"
        };
        write!(f, "The file has {} {noun}", self.total)?;
        if let Some(first) = self.errors.first() {
            write!(
                f,
                "; the first is on line {} in `{}`: {}",
                first.line, first.field, first.message
            )?;
        } else {
            f.write_str(".")?;
        }
        Ok(())
    }
}

pub(crate) struct Collector {
    pub(crate) errors: CsvErrors,
    pub(crate) max: usize,
}

impl Collector {
    pub(crate) fn push(&mut self, line: u64, field: &str, message: String) {
        if self.errors.errors.len() < self.max {
            self.errors.errors.push(CsvRowError {
                line,
                field: field.to_owned(),
                message,
            });
        }
        self.errors.total += 1;
    }

    fn finish<T>(self, value: T) -> Result<T, crate::error::LtvError> {
        if self.errors.total == 0 {
            Ok(value)
        } else {
            Err(crate::error::LtvError::Csv(self.errors))
        }
    }
}

pub(crate) fn reader<R: Read>(input: R, delimiter: u8) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(input)
}

pub(crate) fn find(headers: &csv::StringRecord, name: &str) -> Option<usize> {
    headers.iter().position(|h| h.eq_ignore_ascii_case(name))
}

/// Header names recognised for the customer, when the file does not use the
/// configured name (the default `customer_id`), in order of preference.
pub const CUSTOMER_NAMES: &[&str] = &[
    "customer_id",
    "customer",
    "customerid",
    "customer id",
    "client_id",
    "user_id",
    "userid",
    "email",
];
/// Header names recognised for the time of the order.
pub const TIMESTAMP_NAMES: &[&str] = &[
    "timestamp",
    "date",
    "order_date",
    "created_at",
    "datetime",
    "invoicedate",
    "invoice_date",
    "purchase_date",
    "time",
];
/// Header names recognised for the order value.
pub const AMOUNT_NAMES: &[&str] = &[
    "amount",
    "revenue",
    "total",
    "value",
    "order_value",
    "sales",
    "price",
];

/// Which header column holds each value, and under what name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedColumn {
    pub index: usize,
    /// The header's own spelling.
    pub header: String,
}

/// Finds `configured` in the header; when it is the default name and absent,
/// the first of `known` that is present. A name the user gave is used as is.
fn resolve(
    headers: &csv::StringRecord,
    configured: &str,
    default: &str,
    known: &[&str],
) -> Option<ResolvedColumn> {
    let at = |i: usize| ResolvedColumn {
        index: i,
        header: headers.get(i).unwrap_or_default().to_owned(),
    };
    if let Some(i) = find(headers, configured) {
        return Some(at(i));
    }
    if !configured.eq_ignore_ascii_case(default) {
        return None;
    }
    known.iter().find_map(|n| find(headers, n)).map(at)
}

pub(crate) fn required(
    headers: &csv::StringRecord,
    configured: &str,
    default: &str,
    known: &[&str],
    out: &mut Collector,
) -> Option<ResolvedColumn> {
    let found = resolve(headers, configured, default, known);
    if found.is_none() {
        let present: Vec<&str> = headers.iter().collect();
        let hint = if configured.eq_ignore_ascii_case(default) && known.len() > 1 {
            format!(
                "name it `{default}` or one of {}, or say which column it is",
                known
                    .iter()
                    .skip(1)
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else if configured.eq_ignore_ascii_case(default) {
            format!("name it `{default}`")
        } else {
            "check the column name you gave".to_owned()
        };
        out.push(
            1,
            configured,
            format!(
                "The column `{configured}` is missing from the header (it has: {}); {hint}.",
                present.join(", ")
            ),
        );
    }
    found
}

/// Reads an order value: a decimal in the major unit with at most six
/// decimals, optionally signed, with a currency symbol (`$`, `€`, `£`, `¥`)
/// or a trailing ISO code, and thousands separated by commas (`1,029.33`).
/// Anything else is `None`: the caller reports it with [`AMOUNT_FORMAT`].
pub fn parse_amount(raw: &str) -> Option<i64> {
    let mut s = raw.trim();
    let negative = if let Some(rest) = s.strip_prefix('-') {
        s = rest.trim_start();
        true
    } else {
        false
    };
    for symbol in ["$", "€", "£", "¥"] {
        if let Some(rest) = s.strip_prefix(symbol) {
            s = rest.trim_start();
            break;
        }
    }
    if s.len() > 4 && s.as_bytes()[s.len() - 4] == b' ' {
        let code = &s[s.len() - 3..];
        if code.bytes().all(|b| b.is_ascii_uppercase()) {
            s = s[..s.len() - 4].trim_end();
        }
    }
    if s.starts_with('-') || s.starts_with('+') {
        return None;
    }
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s, None),
    };
    let digits: String = if int.contains(',') {
        let groups: Vec<&str> = int.split(',').collect();
        let first_ok = (1..=3).contains(&groups[0].len());
        let rest_ok = groups[1..].iter().all(|g| g.len() == 3);
        if !first_ok || !rest_ok {
            return None;
        }
        groups.concat()
    } else {
        int.to_owned()
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let normalised = match frac {
        Some(f) => format!("{digits}.{f}"),
        None => digits,
    };
    let micros = Money::parse_decimal(&normalised, Currency::USD)
        .ok()?
        .micros;
    Some(if negative { -micros } else { micros })
}

/// How an amount should be written, for error messages.
pub const AMOUNT_FORMAT: &str =
    "an amount such as 1029.33, 1,029.33, $1,029.33 or -12.50 (at most six decimals)";

/// Parses one timestamp in the given format.
pub fn parse_timestamp(s: &str, format: TimestampFormat) -> Option<OffsetDateTime> {
    let date = |d: Date| d.midnight().assume_utc();
    match format {
        TimestampFormat::Rfc3339 => OffsetDateTime::parse(s, &Rfc3339).ok(),
        TimestampFormat::Date => Date::parse(s, format_description!("[year]-[month]-[day]"))
            .ok()
            .map(date),
        TimestampFormat::CompactDate => Date::parse(s, format_description!("[year][month][day]"))
            .ok()
            .map(date),
        TimestampFormat::UnixSeconds => s
            .parse::<i64>()
            .ok()
            .and_then(|v| OffsetDateTime::from_unix_timestamp(v).ok()),
        TimestampFormat::Auto => [
            TimestampFormat::Rfc3339,
            TimestampFormat::Date,
            TimestampFormat::CompactDate,
        ]
        .into_iter()
        .find_map(|f| parse_timestamp(s, f))
        .or_else(|| {
            PrimitiveDateTime::parse(
                s,
                format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
            )
            .ok()
            .map(PrimitiveDateTime::assume_utc)
        })
        .or_else(|| parse_timestamp(s, TimestampFormat::UnixSeconds)),
    }
}

fn optional_text(record: &csv::StringRecord, col: Option<usize>) -> Option<String> {
    col.and_then(|i| record.get(i))
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Reads transactions. Every bad row is reported (line, column, reason);
/// nothing is returned unless the whole file is valid.
pub fn parse_transactions_csv<R: Read>(
    input: R,
    options: &CsvOptions,
) -> Result<Vec<Transaction>, crate::error::LtvError> {
    let mut out = Collector {
        errors: CsvErrors::default(),
        max: options.max_errors.max(1),
    };
    let mut rdr = reader(input, options.delimiter);
    let headers = match rdr.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            out.push(1, "header", format!("The header cannot be read: {e}."));
            return out.finish(Vec::new());
        }
    };
    let cols = &options.columns;
    let defaults = TransactionColumns::default();
    let id_col = required(
        &headers,
        &cols.customer_id,
        &defaults.customer_id,
        CUSTOMER_NAMES,
        &mut out,
    );
    let at_col = required(
        &headers,
        &cols.timestamp,
        &defaults.timestamp,
        TIMESTAMP_NAMES,
        &mut out,
    );
    let amount_col = required(
        &headers,
        &cols.amount,
        &defaults.amount,
        AMOUNT_NAMES,
        &mut out,
    );
    let (Some(id), Some(at), Some(amount)) = (id_col, at_col, amount_col) else {
        return out.finish(Vec::new());
    };
    let (id_col, at_col, amount_col) = (id.index, at.index, amount.index);
    let (id_name, at_name, amount_name) = (id.header, at.header, amount.header);
    let segment_col = find(&headers, &cols.segment);
    let platform_col = find(&headers, &cols.platform);
    let mut transactions = Vec::new();
    for record in rdr.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                out.push(line, "row", format!("The row cannot be read: {e}."));
                continue;
            }
        };
        let line = record.position().map_or(0, csv::Position::line);
        let get = |i: usize| record.get(i).unwrap_or("");
        let id = get(id_col);
        if id.is_empty() {
            out.push(line, &id_name, "The customer id is empty.".to_owned());
        }
        let at = parse_timestamp(get(at_col), options.timestamp_format);
        if at.is_none() {
            out.push(
                line,
                &at_name,
                format!(
                    "`{}` is not a timestamp in the expected format (2024-03-01, 2024-03-01T12:30:00Z, 2024-03-01 12:30:00, 20240301 or Unix seconds).",
                    get(at_col)
                ),
            );
        }
        let amount = parse_amount(get(amount_col));
        if amount.is_none() {
            out.push(
                line,
                &amount_name,
                format!("`{}` is not {AMOUNT_FORMAT}.", get(amount_col)),
            );
        }
        if let (Some(at), Some(amount_micros), false) = (at, amount, id.is_empty()) {
            transactions.push(Transaction {
                customer_id: id.to_owned(),
                at,
                amount_micros,
                segment: optional_text(&record, segment_col),
                platform: optional_text(&record, platform_col),
            });
        }
    }
    out.finish(transactions)
}

/// Column names of a summary file (one row per customer, already reduced
/// to frequency, recency and T, e.g. exported from another tool).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct SummaryCsvOptions {
    pub delimiter: u8,
    pub customer_id: String,
    pub frequency: String,
    pub recency: String,
    pub age: String,
    /// Mean repeat spend in the major unit; optional.
    pub monetary: String,
    pub segment: String,
    pub platform: String,
    pub max_errors: usize,
}

impl Default for SummaryCsvOptions {
    fn default() -> Self {
        SummaryCsvOptions {
            delimiter: b',',
            customer_id: "customer_id".into(),
            frequency: "frequency".into(),
            recency: "recency".into(),
            age: "T".into(),
            monetary: "monetary_value".into(),
            segment: "segment".into(),
            platform: "platform".into(),
            max_errors: 50,
        }
    }
}

/// Reads customer summaries. Numbers must be finite and not negative here;
/// the model rules (recency ≤ T and so on) are checked when fitting.
pub fn parse_summary_csv<R: Read>(
    input: R,
    options: &SummaryCsvOptions,
) -> Result<Vec<CustomerSummary>, crate::error::LtvError> {
    let mut out = Collector {
        errors: CsvErrors::default(),
        max: options.max_errors.max(1),
    };
    let mut rdr = reader(input, options.delimiter);
    let headers = match rdr.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            out.push(1, "header", format!("The header cannot be read: {e}."));
            return out.finish(Vec::new());
        }
    };
    let col = |name: &str, out: &mut Collector| {
        required(&headers, name, name, &[name], out).map(|c| c.index)
    };
    let f_col = col(&options.frequency, &mut out);
    let r_col = col(&options.recency, &mut out);
    let t_col = col(&options.age, &mut out);
    let (Some(f_col), Some(r_col), Some(t_col)) = (f_col, r_col, t_col) else {
        return out.finish(Vec::new());
    };
    let id_col = find(&headers, &options.customer_id);
    let m_col = find(&headers, &options.monetary);
    let segment_col = find(&headers, &options.segment);
    let platform_col = find(&headers, &options.platform);
    let mut rows = Vec::new();
    for (n, record) in rdr.records().enumerate() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, csv::Position::line);
                out.push(line, "row", format!("The row cannot be read: {e}."));
                continue;
            }
        };
        let line = record.position().map_or(0, csv::Position::line);
        let mut number = |col: usize, name: &str| -> Option<f64> {
            let raw = record.get(col).unwrap_or("");
            match raw.parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => Some(v),
                _ => {
                    out.push(
                        line,
                        name,
                        format!("`{raw}` is not a finite number of at least 0."),
                    );
                    None
                }
            }
        };
        let f = number(f_col, &options.frequency);
        let r = number(r_col, &options.recency);
        let t = number(t_col, &options.age);
        let m = match m_col {
            Some(col) => {
                let raw = record.get(col).unwrap_or("");
                match Money::parse_decimal(raw, Currency::USD) {
                    Ok(v) => Some(v.micros),
                    Err(_) => {
                        out.push(
                            line,
                            &options.monetary,
                            format!("`{raw}` is not a decimal amount with at most six decimals."),
                        );
                        None
                    }
                }
            }
            None => Some(0),
        };
        if let (Some(f), Some(r), Some(t), Some(m)) = (f, r, t, m) {
            let id = id_col
                .and_then(|i| record.get(i))
                .filter(|v| !v.is_empty())
                .map_or_else(|| (n + 1).to_string(), str::to_owned);
            rows.push(CustomerSummary {
                customer_id: id,
                frequency: f,
                recency: r,
                age: t,
                monetary_micros: m,
                segment: optional_text(&record, segment_col),
                platform: optional_text(&record, platform_col),
            });
        }
    }
    out.finish(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::LtvError;
    use time::macros::datetime;

    fn errors(result: Result<impl fmt::Debug, LtvError>) -> CsvErrors {
        match result {
            Err(LtvError::Csv(e)) => e,
            other => panic!("expected CSV errors, got {other:?}"),
        }
    }

    #[test]
    fn valid_transactions_are_read_with_optional_columns() {
        let csv = "customer_id,timestamp,amount,platform\n\
                   c1,2024-01-02T10:00:00Z,12.34,meta\n\
                   c2,2024-01-03,5,\n";
        let txs = parse_transactions_csv(csv.as_bytes(), &CsvOptions::default()).unwrap();
        assert_eq!(txs.len(), 2);
        assert_eq!(txs[0].amount_micros, 12_340_000);
        assert_eq!(txs[0].platform.as_deref(), Some("meta"));
        assert_eq!(txs[1].at, datetime!(2024-01-03 00:00 UTC));
        assert_eq!(txs[1].platform, None);
        assert_eq!(txs[1].segment, None);
    }

    #[test]
    fn every_bad_value_is_reported_with_its_line_and_column() {
        let csv = "customer_id,timestamp,amount\n\
                   c1,2024-01-02,1.00\n\
                   ,2024-01-02,1.00\n\
                   c3,yesterday,abc\n";
        let e = errors(parse_transactions_csv(
            csv.as_bytes(),
            &CsvOptions::default(),
        ));
        assert_eq!(e.total, 3);
        let found: Vec<(u64, &str)> = e
            .errors
            .iter()
            .map(|r| (r.line, r.field.as_str()))
            .collect();
        assert_eq!(
            found,
            vec![(3, "customer_id"), (4, "timestamp"), (4, "amount")]
        );
        assert!(
            e.to_string()
                .starts_with("The file has 3 problems; the first is on line 3"),
            "{e}"
        );
    }

    #[test]
    fn the_error_list_is_capped_but_all_errors_are_counted() {
        let mut csv = String::from("customer_id,timestamp,amount\n");
        for _ in 0..10 {
            csv.push_str("c,never,1\n");
        }
        let opts = CsvOptions {
            max_errors: 3,
            ..CsvOptions::default()
        };
        let e = errors(parse_transactions_csv(csv.as_bytes(), &opts));
        assert_eq!((e.errors.len(), e.total), (3, 10));
    }

    #[test]
    fn a_missing_column_is_named() {
        let e = errors(parse_transactions_csv(
            "customer_id,amount\nc,1\n".as_bytes(),
            &CsvOptions::default(),
        ));
        assert_eq!(e.errors[0].field, "timestamp");
        assert_eq!(e.errors[0].line, 1);
    }

    #[test]
    fn common_column_names_are_recognised_and_a_given_name_is_used_as_is() {
        let csv = "Email,order_date,Total\nann@shop.example,2024-01-02,\"$1,029.33\"\n";
        let txs = parse_transactions_csv(csv.as_bytes(), &CsvOptions::default()).unwrap();
        assert_eq!(txs[0].customer_id, "ann@shop.example");
        assert_eq!(txs[0].amount_micros, 1_029_330_000);
        // The preferred name wins when a file has several.
        let csv = "user_id,customer_id,created_at,amount,revenue\nu,c,2024-01-02,1,2\n";
        let txs = parse_transactions_csv(csv.as_bytes(), &CsvOptions::default()).unwrap();
        assert_eq!(
            (txs[0].customer_id.as_str(), txs[0].amount_micros),
            ("c", 1_000_000)
        );
        // A name the user gave is not second-guessed.
        let opts = CsvOptions {
            columns: TransactionColumns {
                amount: "net".into(),
                ..TransactionColumns::default()
            },
            ..CsvOptions::default()
        };
        let e = errors(parse_transactions_csv(
            "customer_id,date,amount\nc,2024-01-02,1\n".as_bytes(),
            &opts,
        ));
        assert_eq!(e.errors[0].field, "net");
        assert!(
            e.errors[0]
                .message
                .contains("it has: customer_id, date, amount"),
            "{e:?}"
        );
    }

    #[test]
    fn a_missing_column_names_what_the_file_has_and_what_would_do() {
        let e = errors(parse_transactions_csv(
            "client,when,amount\nc,2024-01-02,1\n".as_bytes(),
            &CsvOptions::default(),
        ));
        let fields: Vec<&str> = e.errors.iter().map(|r| r.field.as_str()).collect();
        assert_eq!(fields, ["customer_id", "timestamp"]);
        assert!(e.errors[1].message.contains("`order_date`"), "{e:?}");
        assert!(
            e.errors[1].message.contains("it has: client, when, amount"),
            "{e:?}"
        );
    }

    #[test]
    fn amounts_with_symbols_codes_and_thousands_are_read_and_others_refused() {
        for (s, micros) in [
            ("12", 12_000_000),
            ("12.5", 12_500_000),
            ("$12", 12_000_000),
            ("€ 1,029.33", 1_029_330_000),
            ("1,234,567.000001", 1_234_567_000_001),
            ("-$4.50", -4_500_000),
            ("19.99 EUR", 19_990_000),
            ("0.000001", 1),
        ] {
            assert_eq!(parse_amount(s), Some(micros), "{s}");
        }
        for s in [
            "",
            "abc",
            "12,5",
            "1,02.3",
            "$-3",
            "1.0000001",
            "--1",
            "12 usd",
            "1e3",
        ] {
            assert_eq!(parse_amount(s), None, "{s}");
        }
        let e = errors(parse_transactions_csv(
            "customer_id,timestamp,amount\nc,2024-01-02,\"12,5\"\n".as_bytes(),
            &CsvOptions::default(),
        ));
        assert!(e.errors[0].message.contains("1,029.33"), "{e:?}");
    }

    #[test]
    fn timestamps_are_read_in_every_supported_format() {
        let expect = datetime!(2024-03-01 00:00 UTC);
        for (s, f) in [
            ("2024-03-01T00:00:00Z", TimestampFormat::Rfc3339),
            ("2024-03-01", TimestampFormat::Date),
            ("20240301", TimestampFormat::CompactDate),
            ("1709251200", TimestampFormat::UnixSeconds),
            ("2024-03-01 00:00:00", TimestampFormat::Auto),
            ("20240301", TimestampFormat::Auto),
        ] {
            assert_eq!(parse_timestamp(s, f), Some(expect), "{s} as {f:?}");
        }
        assert_eq!(
            parse_timestamp("2024-03-01", TimestampFormat::CompactDate),
            None
        );
    }

    #[test]
    fn summaries_are_read_and_bad_numbers_named() {
        let ok = "ID,frequency,recency,T\n1,2,30.43,38.86\n2,0,0,38.86\n";
        let opts = SummaryCsvOptions {
            customer_id: "ID".into(),
            ..SummaryCsvOptions::default()
        };
        let rows = parse_summary_csv(ok.as_bytes(), &opts).unwrap();
        assert_eq!(rows[0], CustomerSummary::new("1", 2.0, 30.43, 38.86, 0));
        let bad = "frequency,recency,T\n1,-2,3\nNaN,1,2\n";
        let e = errors(parse_summary_csv(
            bad.as_bytes(),
            &SummaryCsvOptions::default(),
        ));
        let found: Vec<(u64, &str)> = e
            .errors
            .iter()
            .map(|r| (r.line, r.field.as_str()))
            .collect();
        assert_eq!(found, vec![(2, "recency"), (3, "frequency")]);
    }
}
