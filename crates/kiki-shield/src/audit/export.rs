//! CSV export of audit entries (RFC 4180), safe to open in a spreadsheet:
//! a cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return
//! gets a leading `'` so it is shown as text, not run as a formula (the
//! OWASP "CSV injection" guidance).

use std::borrow::Cow;

use kiki_store::schema::sqlite_timestamp;

use super::{AuditEntry, canonical_json};
use crate::error::ShieldError;

/// The header row, in column order.
pub const CSV_HEADER: [&str; 15] = [
    "id",
    "org_id",
    "seq",
    "occurred_at",
    "actor_kind",
    "actor_id",
    "action",
    "target_kind",
    "target_id",
    "ip",
    "user_agent",
    "request_id",
    "details",
    "prev_hash",
    "hash",
];

/// A cell as written: neutralised when a spreadsheet would read it as a formula.
fn safe_cell(s: &str) -> Cow<'_, str> {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{s}")),
        _ => Cow::Borrowed(s),
    }
}

/// CSV of entries (header row; RFC 4180; formula-injection safe: a cell
/// starting with = + - @ gets a leading ').
pub fn write_csv<W: std::io::Write>(w: W, entries: &[AuditEntry]) -> Result<(), ShieldError> {
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(w);
    out.write_record(CSV_HEADER)?;
    for e in entries {
        let cells: [String; 15] = [
            e.id.to_string(),
            e.org_id.map(|o| o.to_string()).unwrap_or_default(),
            e.seq.to_string(),
            sqlite_timestamp(e.occurred_at),
            e.actor_kind.clone(),
            e.actor_id.clone().unwrap_or_default(),
            e.action.clone(),
            e.target_kind.clone().unwrap_or_default(),
            e.target_id.clone().unwrap_or_default(),
            e.ip.clone().unwrap_or_default(),
            e.user_agent.clone().unwrap_or_default(),
            e.request_id.clone().unwrap_or_default(),
            canonical_json(&e.details),
            e.prev_hash.clone(),
            e.hash.clone(),
        ];
        out.write_record(cells.iter().map(|c| safe_cell(c).into_owned()))?;
    }
    out.flush()
        .map_err(|e| ShieldError::Csv(format!("flushing the output failed: {e}")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    fn entry(action: &str, user_agent: Option<&str>, details: serde_json::Value) -> AuditEntry {
        AuditEntry {
            id: uuid::Uuid::from_u128(7),
            org_id: None,
            seq: 3,
            occurred_at: datetime!(2026-01-02 03:04:05.123456 UTC),
            actor_kind: "user".into(),
            actor_id: Some("u1".into()),
            action: action.into(),
            target_kind: None,
            target_id: None,
            ip: Some("203.0.113.0".into()),
            user_agent: user_agent.map(str::to_owned),
            request_id: None,
            details,
            prev_hash: "p".into(),
            hash: "h".into(),
        }
    }

    #[test]
    fn formula_cells_are_neutralised() {
        let cases = [
            ("=1+1", "'=1+1"),
            ("+1", "'+1"),
            ("-1", "'-1"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("plain", "plain"),
            ("a=b", "a=b"),
            ("", ""),
        ];
        for (input, expected) in cases {
            assert_eq!(safe_cell(input), expected, "{input}");
        }
    }

    #[test]
    fn the_export_is_rfc_4180_with_a_header_and_quoted_fields() {
        let entries = [entry(
            "auth.login",
            Some("=HYPERLINK(\"x\")"),
            json!({"b": "two, \"quoted\"", "a": 1}),
        )];
        let mut buf = Vec::new();
        write_csv(&mut buf, &entries).unwrap();
        let text = String::from_utf8(buf).unwrap();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], CSV_HEADER.join(","));
        assert_eq!(
            lines[1],
            "00000000-0000-0000-0000-000000000007,,3,2026-01-02T03:04:05.123456Z,user,u1,auth.login,,,203.0.113.0,\"'=HYPERLINK(\"\"x\"\")\",,\"{\"\"a\"\":1,\"\"b\"\":\"\"two, \\\"\"quoted\\\"\"\"\"}\",p,h"
        );
        assert_eq!(lines[2], "");
        // Reading it back gives the cells.
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let rec = r.records().next().unwrap().unwrap();
        assert_eq!(&rec[10], "'=HYPERLINK(\"x\")");
        assert_eq!(&rec[12], r#"{"a":1,"b":"two, \"quoted\""}"#);
    }

    #[test]
    fn an_empty_export_has_only_the_header() {
        let mut buf = Vec::new();
        write_csv(&mut buf, &[]).unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            format!("{}\r\n", CSV_HEADER.join(","))
        );
    }
}
