//! Transactions as the service stores them, the rows of a JSON or CSV upload
//! and their validation (every problem listed by row and field), and how
//! refunds naming an order are dated.

use kiki_core::{Currency, Money};
use kiki_ltv::{LtvError, Transaction};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::config::DateWindow;
use crate::error::{LtvServiceError, RowError};

/// Longest customer id, order id, segment or platform accepted.
pub const MAX_TEXT_CHARS: usize = 200;
/// Bad rows listed in an error (all are counted).
pub const MAX_LISTED_ROWS: usize = 50;
/// Largest amount of one transaction, in micros (just under a trillion
/// major units): twelve digits before the decimal point.
pub const MAX_AMOUNT_MICROS: i64 = 999_999_999_999_999_999;
/// A JSON number amount must be below this many major units.
const MAX_AMOUNT_UNITS: f64 = 1e12;

/// An unsigned amount in the major unit as text: at most twelve significant
/// digits before the point, at most six after it.
const UNSIGNED_AMOUNT: &str = r"(0*[0-9]{1,12}(\.[0-9]{0,6})?|\.[0-9]{1,6})";
/// Zero written as text (`0`, `0.00`, `.0`).
const ZERO_AMOUNT: &str = r"(0+(\.0{0,6})?|\.0{1,6})";

/// An amount of any sign (a refund): text or a JSON number.
pub fn amount_schema() -> utoipa::openapi::schema::Schema {
    utoipa::openapi::schema::Schema::AnyOf(amount_any_of(
        &format!("^[+-]?{UNSIGNED_AMOUNT}$"),
        None,
    ))
}

/// An amount of at least zero (an order): text or a JSON number.
pub fn order_amount_schema() -> utoipa::openapi::schema::AnyOf {
    amount_any_of(
        &format!(r"^(\+?{UNSIGNED_AMOUNT}|-{ZERO_AMOUNT})$"),
        Some(0.0),
    )
}

fn amount_any_of(pattern: &str, minimum: Option<f64>) -> utoipa::openapi::schema::AnyOf {
    use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Type};
    let number = ObjectBuilder::new()
        .schema_type(Type::Number)
        .exclusive_maximum(Some(MAX_AMOUNT_UNITS));
    let number = match minimum {
        Some(m) => number.minimum(Some(m)),
        None => number.exclusive_minimum(Some(-MAX_AMOUNT_UNITS)),
    };
    AnyOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(pattern)),
        )
        .item(number)
        .description(Some(
            "A decimal in the major unit: text with at most six decimals (`\"12.34\"`), or a JSON number (rounded to the micro); under a trillion. At least 0 for an order; a refund may be written with or without a minus sign.",
        ))
        .build()
}

/// A transaction time: RFC 3339, a `YYYY-MM-DD` day or Unix seconds.
pub fn timestamp_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{AnyOfBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
    let any_of = AnyOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Date))),
        )
        .item(ObjectBuilder::new().schema_type(Type::Integer))
        .description(Some(
            "RFC 3339, `YYYY-MM-DD` or Unix seconds (also read: `YYYYMMDD` and `YYYY-MM-DD HH:MM:SS`, UTC), between `ltv.earliest_transaction_date` (default 1990-01-01) and `ltv.max_future_days` (default 1) after now.",
        ))
        .examples([serde_json::json!("2024-03-01T12:30:00Z")])
        .build();
    utoipa::openapi::schema::Schema::AnyOf(any_of)
}

kiki_core::string_enum! {
    /// Whether an uploaded row is a purchase or money given back.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
    #[serde(rename_all = "lowercase")]
    pub enum TransactionKind {
        /// A purchase; its amount is at least 0.
        #[default]
        Order = "order",
        /// Money returned to the customer. Its amount (written with or without a
        /// minus sign) lowers the value of the order with the same `order_id`,
        /// or else of the customer's latest purchase day on or before it.
        Refund = "refund",
    }
}

impl TransactionKind {
    /// Reads an upload's `kind`: `order` or `refund` in any case; empty
    /// means `order`.
    pub fn read(s: &str) -> Option<TransactionKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "" => Some(TransactionKind::Order),
            kind => TransactionKind::parse(kind),
        }
    }
}

/// One order or refund as the service stores it. A future commerce module
/// feeds these through [`crate::LtvService::ingest_transactions`].
#[derive(Debug, Clone, PartialEq)]
pub struct NewTransaction {
    pub customer_id: String,
    pub at: OffsetDateTime,
    /// At least 0 for an order; at most 0 for a refund.
    pub amount_micros: i64,
    pub currency: Currency,
    /// Makes two orders at the same time for the same amount distinct; a
    /// refund names the order it gives money back for.
    pub order_id: Option<String>,
    pub segment: Option<String>,
    pub platform: Option<String>,
    pub kind: TransactionKind,
}

impl NewTransaction {
    /// The idempotency key: the same order uploaded twice is stored once.
    /// Refunds carry a negative amount, so a refund never matches its order.
    pub fn dedup_key(&self) -> String {
        self.as_ref().dedup_key()
    }
}

/// A transaction to store, borrowed: from an upload's bytes (a CSV file
/// read by the fast reader) or from a [`NewTransaction`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TransactionRef<'a> {
    pub customer_id: &'a str,
    pub at: OffsetDateTime,
    pub amount_micros: i64,
    pub currency: Currency,
    pub order_id: Option<&'a str>,
    pub segment: Option<&'a str>,
    pub platform: Option<&'a str>,
    pub kind: TransactionKind,
}

impl NewTransaction {
    pub fn as_ref(&self) -> TransactionRef<'_> {
        TransactionRef {
            customer_id: &self.customer_id,
            at: self.at,
            amount_micros: self.amount_micros,
            currency: self.currency,
            order_id: self.order_id.as_deref(),
            segment: self.segment.as_deref(),
            platform: self.platform.as_deref(),
            kind: self.kind,
        }
    }
}

impl TransactionRef<'_> {
    /// The idempotency key: the same order uploaded twice is stored once.
    /// Refunds carry a negative amount, so a refund never matches its order.
    pub fn dedup_key(&self) -> String {
        format!(
            "{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}",
            self.customer_id,
            kiki_store::schema::sqlite_timestamp(self.at),
            self.amount_micros,
            self.currency,
            self.order_id.unwrap_or("")
        )
    }
}

/// Checks a row's time against the plausible span and its amount against
/// its kind; the amount to store (refunds negative).
fn check_time_and_amount(
    errors: &mut RowErrors,
    row: u64,
    at: Option<OffsetDateTime>,
    amount_micros: Option<i64>,
    kind: Option<TransactionKind>,
    window: &DateWindow,
) -> Option<i64> {
    if let Some(at) = at
        && !window.contains(at)
    {
        errors.push(
            row,
            "timestamp",
            format!(
                "{} is outside the plausible span {} to {} (ltv.earliest_transaction_date, ltv.max_future_days); check the date and its unit.",
                at.date(),
                window.earliest.date(),
                window.latest.date()
            ),
        );
    }
    let amount = amount_micros?;
    match kind? {
        TransactionKind::Order if amount < 0 => {
            errors.push(
                row,
                "amount",
                "An order amount must be at least 0; mark money given back with kind `refund`.",
            );
            None
        }
        TransactionKind::Order => Some(amount),
        TransactionKind::Refund => Some(amount.checked_abs().map_or(i64::MIN + 1, |a| -a)),
    }
}

/// A JSON row's `kind`: exactly `order` or `refund` (absent or `null` is
/// `order`); a CSV file's column is read more freely ([`kind_field`]).
fn json_kind_field(
    errors: &mut RowErrors,
    row: u64,
    value: Option<&str>,
) -> Option<TransactionKind> {
    match value {
        None | Some("order") => Some(TransactionKind::Order),
        Some("refund") => Some(TransactionKind::Refund),
        Some(_) => {
            errors.push(row, "kind", "Must be `order` (the default) or `refund`.");
            None
        }
    }
}

/// A JSON number amount in the major unit, under a trillion, rounded to
/// the micro.
fn number_amount(v: &serde_json::Number, currency: Currency) -> Option<Money> {
    let units = v.as_f64()?;
    if !units.is_finite() || units.abs() >= MAX_AMOUNT_UNITS {
        return None;
    }
    let micros = match v.as_i64() {
        Some(whole) => whole.checked_mul(kiki_core::money::MICROS_PER_UNIT)?,
        None => (units * kiki_core::money::MICROS_PER_UNIT as f64).round() as i64,
    };
    Some(Money::from_micros(micros, currency))
}

/// A `kind` value, or an error naming the row.
fn kind_field(errors: &mut RowErrors, row: u64, value: Option<&str>) -> Option<TransactionKind> {
    let k = TransactionKind::read(value.unwrap_or(""));
    if k.is_none() {
        errors.push(row, "kind", "Must be `order` (the default) or `refund`.");
    }
    k
}

/// What an upload did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"received": 535, "inserted": 530, "duplicates": 5,
    "upload_id": "01938f2e-7c1a-7d1e-9a3b-4c5d6e7f8091"}))]
pub struct IngestReport {
    /// Rows in the upload.
    pub received: u64,
    /// Rows stored now.
    pub inserted: u64,
    /// Rows already stored by an earlier upload (same customer, time,
    /// amount, currency and order id), skipped.
    pub duplicates: u64,
    /// The upload's id: `DELETE /v1/ltv/uploads/{id}` removes the rows it
    /// stored. Absent when rows were ingested without an upload.
    pub upload_id: Option<uuid::Uuid>,
}

/// One transaction of a JSON upload. Every field is checked and every
/// problem reported by row and field (422); the types below are what passes.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"customer_id": "c-1042", "timestamp": "2024-03-01T12:30:00Z",
    "amount": "35.50", "order_id": "o-9001", "segment": "vip", "platform": "meta"}))]
pub struct TransactionRow {
    /// Required; 1 to 200 characters, not only spaces.
    #[schema(
        required = true,
        nullable = false,
        min_length = 1,
        max_length = 200,
        pattern = r"\S",
        example = "c-1042"
    )]
    pub customer_id: Option<String>,
    /// Required: RFC 3339, `YYYY-MM-DD`, `YYYYMMDD`, `YYYY-MM-DD HH:MM:SS`
    /// (UTC) or Unix seconds, between `ltv.earliest_transaction_date`
    /// (default 1990-01-01) and `ltv.max_future_days` (default 1) after now.
    #[schema(required = true, schema_with = timestamp_schema)]
    pub timestamp: Option<serde_json::Value>,
    /// Required: a decimal in the major unit, `"12.34"` (at most six
    /// decimals) or `12.34` (rounded to the micro), under a trillion; at
    /// least 0 for an order. A refund may be written with or without a
    /// minus sign.
    #[schema(required = true, schema_with = amount_schema)]
    pub amount: Option<serde_json::Value>,
    /// Optional; at most 200 characters. A refund names the order it is for.
    #[schema(max_length = 200)]
    pub order_id: Option<String>,
    /// Optional; at most 200 characters.
    #[schema(max_length = 200)]
    pub segment: Option<String>,
    /// The acquiring ad platform; optional, at most 200 characters.
    #[schema(max_length = 200)]
    pub platform: Option<String>,
    /// `order` (default) or `refund`.
    #[schema(value_type = Option<TransactionKind>)]
    pub kind: Option<String>,
}

/// Collects row errors up to a cap while counting them all.
#[derive(Debug, Default)]
pub struct RowErrors {
    pub rows: Vec<RowError>,
    pub total: usize,
}

impl RowErrors {
    pub fn push(&mut self, line: u64, field: &str, message: impl Into<String>) {
        self.total += 1;
        if self.rows.len() < MAX_LISTED_ROWS {
            self.rows.push(RowError {
                line,
                field: field.to_owned(),
                message: message.into(),
            });
        }
    }

    pub fn into_result<T>(self, what: &str, value: T) -> Result<T, LtvServiceError> {
        if self.total == 0 {
            return Ok(value);
        }
        let message = match self.rows.first() {
            Some(first) => format!(
                "The {what} has {} invalid value(s); nothing was stored. The first is in row {}, `{}`: {}",
                self.total, first.line, first.field, first.message
            ),
            None => format!("The {what} has {} invalid value(s).", self.total),
        };
        Err(LtvServiceError::BadRows {
            message,
            rows: self.rows,
            total: self.total,
        })
    }
}

fn text_field(
    errors: &mut RowErrors,
    row: u64,
    field: &str,
    value: Option<&str>,
) -> Option<String> {
    text_ref(errors, row, field, value).map(str::to_owned)
}

/// A text value trimmed, `None` when empty or too long (reported).
fn text_ref<'a>(
    errors: &mut RowErrors,
    row: u64,
    field: &str,
    value: Option<&'a str>,
) -> Option<&'a str> {
    let v = value.map(str::trim).filter(|s| !s.is_empty())?;
    // A character is at least one byte: only long texts need counting.
    if v.len() > MAX_TEXT_CHARS && v.chars().count() > MAX_TEXT_CHARS {
        errors.push(
            row,
            field,
            format!("Must be at most {MAX_TEXT_CHARS} characters."),
        );
        return None;
    }
    Some(v)
}

/// Engine transactions from stored rows with their order ids: a refund
/// (negative amount) that names an order of the same customer is dated at
/// that order, so it lowers that order's purchase day; other refunds keep
/// their own date and lower the latest purchase day on or before it. The
/// result is sorted oldest first again.
pub fn apply_refund_references(rows: Vec<(Transaction, Option<String>)>) -> Vec<Transaction> {
    let mut orders: std::collections::HashMap<(&str, &str), OffsetDateTime> = Default::default();
    for (t, order) in &rows {
        if let Some(order) = order
            && t.amount_micros >= 0
        {
            orders
                .entry((t.customer_id.as_str(), order.as_str()))
                .and_modify(|at| *at = (*at).min(t.at))
                .or_insert(t.at);
        }
    }
    let dates: Vec<Option<OffsetDateTime>> = rows
        .iter()
        .map(|(t, order)| match order {
            Some(order) if t.amount_micros < 0 => orders
                .get(&(t.customer_id.as_str(), order.as_str()))
                .copied(),
            _ => None,
        })
        .collect();
    let mut out: Vec<Transaction> = rows
        .into_iter()
        .zip(dates)
        .map(|((mut t, _), at)| {
            if let Some(at) = at {
                t.at = at;
            }
            t
        })
        .collect();
    out.sort_by_key(|t| t.at);
    out
}

/// Validates JSON rows (numbered from 1); every problem is listed, nothing
/// is returned unless all rows are valid.
pub fn rows_from_json(
    rows: &[TransactionRow],
    currency: Currency,
    window: &DateWindow,
) -> Result<Vec<NewTransaction>, LtvServiceError> {
    let mut errors = RowErrors::default();
    let mut out = Vec::with_capacity(rows.len());
    if rows.is_empty() {
        errors.push(0, "transactions", "The upload holds no transactions.");
    }
    for (i, r) in rows.iter().enumerate() {
        let n = i as u64 + 1;
        let id = text_field(&mut errors, n, "customer_id", r.customer_id.as_deref());
        if id.is_none() && r.customer_id.as_deref().is_none_or(|s| s.trim().is_empty()) {
            errors.push(n, "customer_id", "The customer id is missing or empty.");
        }
        let at = match &r.timestamp {
            Some(serde_json::Value::String(s)) => {
                kiki_ltv::csv_import::parse_timestamp(s.trim(), kiki_ltv::TimestampFormat::Auto)
            }
            Some(serde_json::Value::Number(n)) => {
                // Whole Unix seconds; beyond any representable date they are
                // clamped to it: outside the plausible span like any other
                // far-off time.
                let whole = n.as_i64().or_else(|| {
                    n.as_f64()
                        .filter(|f| f.is_finite() && f.fract() == 0.0)
                        .map(|f| if f < 0.0 { i64::MIN } else { i64::MAX })
                });
                whole.and_then(|secs| {
                    let secs = secs.clamp(
                        time::PrimitiveDateTime::MIN.assume_utc().unix_timestamp(),
                        time::PrimitiveDateTime::MAX.assume_utc().unix_timestamp(),
                    );
                    OffsetDateTime::from_unix_timestamp(secs).ok()
                })
            }
            _ => None,
        };
        if at.is_none() {
            errors.push(
                n,
                "timestamp",
                "Must be a timestamp such as 2024-03-01T12:30:00Z, 2024-03-01 or Unix seconds.",
            );
        }
        let amount = match &r.amount {
            Some(serde_json::Value::String(s)) => Money::parse_decimal(s.trim(), currency).ok(),
            Some(serde_json::Value::Number(v)) => number_amount(v, currency),
            _ => None,
        }
        .filter(|m| m.micros.abs() <= MAX_AMOUNT_MICROS);
        if amount.is_none() {
            errors.push(
                n,
                "amount",
                "Must be a decimal amount in the major unit with at most six decimals, under a trillion, e.g. \"12.34\".",
            );
        }
        let kind = json_kind_field(&mut errors, n, r.kind.as_deref());
        let amount =
            check_time_and_amount(&mut errors, n, at, amount.map(|m| m.micros), kind, window);
        let order_id = text_field(&mut errors, n, "order_id", r.order_id.as_deref());
        let segment = text_field(&mut errors, n, "segment", r.segment.as_deref());
        let platform = text_field(&mut errors, n, "platform", r.platform.as_deref());
        if let (Some(customer_id), Some(at), Some(amount_micros), Some(kind)) =
            (id, at, amount, kind)
        {
            out.push(NewTransaction {
                customer_id,
                at,
                amount_micros,
                currency,
                order_id,
                segment,
                platform,
                kind,
            });
        }
    }
    errors.into_result("upload", out)
}

/// Validates a CSV upload with the engine's importer (columns
/// `customer_id`, `timestamp`, `amount`, optional `segment`, `platform`)
/// plus optional `order_id` and `kind` columns read here. Errors carry file lines.
pub fn rows_from_csv(
    body: &[u8],
    currency: Currency,
    window: &DateWindow,
    columns: &kiki_ltv::TransactionColumns,
) -> Result<Vec<NewTransaction>, LtvServiceError> {
    let options = kiki_ltv::CsvOptions {
        max_errors: MAX_LISTED_ROWS,
        columns: columns.clone(),
        ..kiki_ltv::CsvOptions::default()
    };
    let parsed = match kiki_ltv::parse_transactions_csv(body, &options) {
        Ok(p) => p,
        Err(LtvError::Csv(e)) => {
            let mut errors = RowErrors::default();
            errors.total = e.total.saturating_sub(e.errors.len());
            for r in e.errors {
                errors.push(r.line, &r.field, r.message);
            }
            return errors.into_result("file", Vec::new());
        }
        Err(e) => return Err(e.into()),
    };
    // The importer keeps one transaction per data record, in file order, so
    // a second pass lines up the order ids (and checks text lengths).
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(body);
    let headers = rdr.headers().ok().cloned();
    let column = |name: &str| {
        headers
            .as_ref()
            .and_then(|h| h.iter().position(|c| c.eq_ignore_ascii_case(name)))
    };
    let (order_col, kind_col) = (column("order_id"), column("kind"));
    let mut errors = RowErrors::default();
    let mut out = Vec::with_capacity(parsed.len());
    if parsed.is_empty() {
        errors.push(1, "file", "The file holds no transactions.");
    }
    for (t, record) in parsed.into_iter().zip(rdr.records()) {
        let (line, order_id, kind) = match &record {
            Ok(r) => (
                r.position().map_or(0, csv::Position::line),
                order_col.and_then(|c| r.get(c)),
                kind_col.and_then(|c| r.get(c)),
            ),
            Err(_) => (0, None, None),
        };
        let order_id = text_field(&mut errors, line, "order_id", order_id);
        let kind = kind_field(&mut errors, line, kind);
        let amount = check_time_and_amount(
            &mut errors,
            line,
            Some(t.at),
            Some(t.amount_micros),
            kind,
            window,
        );
        for (field, value) in [
            ("customer_id", Some(t.customer_id.as_str())),
            ("segment", t.segment.as_deref()),
            ("platform", t.platform.as_deref()),
        ] {
            text_field(&mut errors, line, field, value);
        }
        if let (Some(amount_micros), Some(kind)) = (amount, kind) {
            out.push(NewTransaction {
                customer_id: t.customer_id,
                at: t.at,
                amount_micros,
                currency,
                order_id,
                segment: t.segment,
                platform: t.platform,
                kind,
            });
        }
    }
    errors.into_result("file", out)
}

/// A CSV upload's rows: borrowed from the body when the fast reader took
/// the file, owned when it went through the general reader.
#[derive(Debug)]
pub enum CsvUpload<'a> {
    Borrowed(Vec<TransactionRef<'a>>),
    Owned(Vec<NewTransaction>),
}

impl CsvUpload<'_> {
    pub fn len(&self) -> usize {
        match self {
            CsvUpload::Borrowed(v) => v.len(),
            CsvUpload::Owned(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Reads and validates a CSV upload. The engine's fast reader
/// ([`kiki_ltv::read_transaction_rows`], the one `kiki ltv fit` uses, in
/// parallel and without an allocation per row) takes every file it can;
/// the rest (a bad value, an escaped quote, a field over several lines …)
/// goes through [`rows_from_csv`], so the rows, the column rules and the
/// errors (file line, column, message) are the same either way.
pub fn read_csv_upload<'a>(
    body: &'a [u8],
    currency: Currency,
    window: &DateWindow,
    columns: &kiki_ltv::TransactionColumns,
) -> Result<CsvUpload<'a>, LtvServiceError> {
    let options = kiki_ltv::CsvOptions {
        max_errors: MAX_LISTED_ROWS,
        columns: columns.clone(),
        ..kiki_ltv::CsvOptions::default()
    };
    let Some(rows) = kiki_ltv::read_transaction_rows(body, &options, ["order_id", "kind"]) else {
        return rows_from_csv(body, currency, window, columns).map(CsvUpload::Owned);
    };
    let mut errors = RowErrors::default();
    if rows.is_empty() {
        errors.push(1, "file", "The file holds no transactions.");
    }
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let line = r.line;
        let [order_id, kind] = r.extra;
        let order_id = text_ref(&mut errors, line, "order_id", order_id);
        let kind = kind_field(&mut errors, line, kind);
        let amount = check_time_and_amount(
            &mut errors,
            line,
            Some(r.at),
            Some(r.amount_micros),
            kind,
            window,
        );
        let customer_id = text_ref(&mut errors, line, "customer_id", Some(r.customer_id));
        let segment = text_ref(&mut errors, line, "segment", r.segment);
        let platform = text_ref(&mut errors, line, "platform", r.platform);
        if let (Some(customer_id), Some(amount_micros), Some(kind)) = (customer_id, amount, kind) {
            out.push(TransactionRef {
                customer_id,
                at: r.at,
                amount_micros,
                currency,
                order_id,
                segment,
                platform,
                kind,
            });
        }
    }
    errors.into_result("file", CsvUpload::Borrowed(out))
}

#[cfg(test)]
mod string_names {
    use super::*;

    /// The strings stored in columns are the names serde writes and reads.
    #[test]
    fn stored_names_are_the_serde_names() {
        assert!(
            kiki_core::serde_name_problems::<TransactionKind>().is_empty(),
            "{:?}",
            kiki_core::serde_name_problems::<TransactionKind>()
        );
    }
}
