//! Unit tests of the domain: upload validation, refund references, dedup
//! keys, fit requests and the horizon arithmetic.

use kiki_core::Currency;
use kiki_ltv::{ModelKind, Transaction};
use time::{Duration, OffsetDateTime};

use super::*;
use crate::config::DateWindow;
use crate::error::LtvServiceError;

fn wide_window() -> DateWindow {
    crate::LtvConfig::default().date_window(time::macros::datetime!(2026-01-01 00:00 UTC))
}

fn check_options(horizon: u32, annual: f64, periods: u32, period_days: f64) {
    let o = predict_options(horizon, annual);
    assert_eq!(o.periods, periods);
    assert!((o.period_days - period_days).abs() < 1e-9);
    let yearly = (1.0 + o.discount_rate).powf(365.0 / o.period_days) - 1.0;
    assert!((yearly - annual).abs() < 1e-9, "{yearly}");
}

#[test]
fn horizons_are_cut_into_monthly_periods_that_compound_to_the_annual_rate() {
    check_options(365, 0.10, 12, 365.0 / 12.0);
    check_options(30, 0.10, 1, 30.0);
    check_options(7, 0.0, 1, 7.0);
    check_options(730, 0.05, 24, 730.0 / 24.0);
}

#[test]
fn json_rows_with_problems_are_listed_by_row_and_field() {
    let rows: Vec<TransactionRow> = serde_json::from_value(serde_json::json!([
        {"customer_id": "a", "timestamp": "2024-01-01", "amount": "10.00"},
        {"customer_id": "", "timestamp": "yesterday", "amount": 5},
        {"customer_id": "b", "timestamp": 1700000000, "amount": "1.2345678"}
    ]))
    .unwrap_or_default();
    let err = rows_from_json(&rows, Currency::USD, &wide_window()).err();
    let Some(LtvServiceError::BadRows { rows, total, .. }) = err else {
        panic!("expected bad rows, got {err:?}");
    };
    assert_eq!(total, 3);
    let found: Vec<(u64, &str)> = rows.iter().map(|r| (r.line, r.field.as_str())).collect();
    assert_eq!(
        found,
        vec![(2, "customer_id"), (2, "timestamp"), (3, "amount")]
    );
}

#[test]
fn a_refund_naming_an_order_is_dated_at_that_order() {
    let at = |d: i64| OffsetDateTime::UNIX_EPOCH + Duration::days(d);
    let t = |id: &str, d: i64, amount: i64| Transaction {
        customer_id: id.into(),
        at: at(d),
        amount_micros: amount,
        segment: None,
        platform: None,
    };
    let rows = vec![
        (t("a", 1, 10), Some("o1".to_owned())),
        (t("a", 5, 20), Some("o2".to_owned())),
        (t("a", 9, -10), Some("o1".to_owned())),
        (t("b", 9, -3), Some("o1".to_owned())),
        (t("a", 10, -1), None),
    ];
    let out = apply_refund_references(rows);
    let seen: Vec<(&str, i64, i64)> = out
        .iter()
        .map(|t| {
            (
                t.customer_id.as_str(),
                (t.at - at(0)).whole_days(),
                t.amount_micros,
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("a", 1, 10),
            ("a", 1, -10),
            ("a", 5, 20),
            ("b", 9, -3),
            ("a", 10, -1)
        ]
    );
}

#[test]
fn uploads_refuse_implausible_dates_and_negative_orders_but_take_refunds() {
    let rows: Vec<TransactionRow> = serde_json::from_value(serde_json::json!([
        {"customer_id": "a", "timestamp": -99_999_999_999i64, "amount": "10.00"},
        {"customer_id": "a", "timestamp": "2026-03-01", "amount": "10.00"},
        {"customer_id": "a", "timestamp": "2024-01-01", "amount": "-5"},
        {"customer_id": "a", "timestamp": "2024-01-02", "amount": "5", "kind": "refund"},
        {"customer_id": "a", "timestamp": "2024-01-02", "amount": "-2", "kind": "refund"},
        {"customer_id": "a", "timestamp": "2024-01-02", "amount": "2", "kind": "gift"}
    ]))
    .unwrap_or_default();
    let err = rows_from_json(&rows, Currency::USD, &wide_window()).err();
    let Some(LtvServiceError::BadRows { rows: bad, .. }) = err else {
        panic!("expected bad rows, got {err:?}");
    };
    let found: Vec<(u64, &str)> = bad.iter().map(|r| (r.line, r.field.as_str())).collect();
    assert_eq!(
        found,
        vec![
            (1, "timestamp"),
            (2, "timestamp"),
            (3, "amount"),
            (6, "kind")
        ]
    );
    let ok = rows_from_json(&rows[3..5], Currency::USD, &wide_window()).unwrap_or_default();
    let amounts: Vec<(i64, TransactionKind)> =
        ok.iter().map(|t| (t.amount_micros, t.kind)).collect();
    assert_eq!(
        amounts,
        vec![
            (-5_000_000, TransactionKind::Refund),
            (-2_000_000, TransactionKind::Refund)
        ]
    );
}

#[test]
fn the_dedup_key_distinguishes_order_ids_and_ignores_segments() {
    let t = NewTransaction {
        customer_id: "c".into(),
        at: OffsetDateTime::UNIX_EPOCH,
        amount_micros: 1,
        currency: Currency::USD,
        order_id: None,
        segment: None,
        platform: None,
        kind: TransactionKind::Order,
    };
    let with_order = NewTransaction {
        order_id: Some("o1".into()),
        ..t.clone()
    };
    let with_segment = NewTransaction {
        segment: Some("vip".into()),
        ..t.clone()
    };
    assert_ne!(t.dedup_key(), with_order.dedup_key());
    assert_eq!(t.dedup_key(), with_segment.dedup_key());
}

#[test]
fn fit_requests_refuse_bad_fields_by_name() {
    let cfg = crate::LtvConfig::default();
    let field = |r: FitRequest| match r.validate(&cfg) {
        Err(LtvServiceError::Invalid { field, .. }) => field,
        other => panic!("expected an invalid field, got {other:?}"),
    };
    assert_eq!(
        field(FitRequest {
            discount_rate: Some(2.0),
            ..FitRequest::default()
        }),
        "discount_rate"
    );
    assert_eq!(
        field(FitRequest {
            model: Some(ModelChoice::Bgbb),
            holdout_days: Some(30),
            ..FitRequest::default()
        }),
        "holdout_days"
    );
    assert_eq!(
        field(FitRequest {
            calibration_end: Some("soon".into()),
            ..FitRequest::default()
        }),
        "calibration_end"
    );
    let ok = FitRequest::default().validate(&cfg);
    assert!(matches!(
        ok,
        Ok(FitSpec {
            kind: ModelKind::BgNbd,
            gamma_gamma: true,
            ..
        })
    ));
}

/// A JSON row is read as the API document states it: `kind` is exactly
/// `order` or `refund` (a CSV column is read in any case), an amount given as
/// a JSON number is rounded to the micro and must be under a trillion, and
/// Unix seconds beyond any date are outside the plausible span.
#[test]
fn json_rows_are_read_as_the_document_states_them() {
    let row = |v: serde_json::Value| -> Vec<TransactionRow> {
        serde_json::from_value(serde_json::json!([v])).unwrap()
    };
    let fields = |v: serde_json::Value| -> Vec<String> {
        match rows_from_json(&row(v), Currency::USD, &wide_window()) {
            Ok(_) => Vec::new(),
            Err(LtvServiceError::BadRows { rows, .. }) => rows
                .into_iter()
                .map(|r| format!("{}: {}", r.field, r.message))
                .collect(),
            Err(e) => panic!("{e:?}"),
        }
    };
    for kind in ["REFUND", "Order", " refund", ""] {
        let bad = fields(serde_json::json!(
            {"customer_id": "a", "timestamp": "2024-01-02", "amount": "2", "kind": kind}));
        assert!(
            bad.iter().any(|f| f.starts_with("kind:")),
            "{kind:?}: {bad:?}"
        );
    }
    let ok = rows_from_json(
        &row(serde_json::json!({"customer_id": "a", "timestamp": 1_704_153_600, "amount": 12.3456789})),
        Currency::USD,
        &wide_window(),
    )
    .unwrap();
    assert_eq!(ok[0].amount_micros, 12_345_679, "rounded to the micro");
    for amount in [serde_json::json!(1e12), serde_json::json!("1000000000000")] {
        let bad = fields(serde_json::json!(
            {"customer_id": "a", "timestamp": "2024-01-02", "amount": amount}));
        assert!(
            bad.iter().any(|f| f.starts_with("amount:")),
            "{amount}: {bad:?}"
        );
    }
    for secs in [
        serde_json::json!(-99_999_999_999_999_999i64),
        serde_json::json!(1.5e300),
    ] {
        let bad = fields(serde_json::json!({"customer_id": "a", "timestamp": secs, "amount": "1"}));
        assert!(
            bad.iter().any(|f| f.contains("outside the plausible span")),
            "{secs}: {bad:?}"
        );
    }
}
