//! Building the RFM summary from raw CDNOW transactions reproduces the
//! summary files distributed with `lifetimes`.

use std::collections::HashMap;

use kiki_ltv::{TimeUnit, calibration_holdout_split, summarize};
use time::macros::datetime;

use crate::fixtures::{cdnow, cdnow_transactions, cdnow_with_spend};

#[test]
fn summary_of_cdnow_sample_reproduces_the_published_summary() {
    // Calibration: the 39 weeks to 30 September 1997.
    let ours = summarize(
        &cdnow_transactions(),
        datetime!(1997-09-30 00:00 UTC),
        TimeUnit::Weeks,
    );
    let published = cdnow();
    assert_eq!(ours.len(), published.len());
    let by_id: HashMap<&str, _> = ours.iter().map(|c| (c.customer_id.as_str(), c)).collect();
    let spend: HashMap<String, i64> = cdnow_with_spend()
        .into_iter()
        .map(|c| (c.customer_id, c.monetary_micros))
        .collect();
    for p in &published {
        let o = by_id[p.customer_id.as_str()];
        assert_eq!(o.frequency, p.frequency, "customer {}", p.customer_id);
        // The file rounds weeks to two decimals.
        assert!(
            (o.recency - p.recency).abs() <= 0.005 + 1e-9,
            "customer {}: {} vs {}",
            p.customer_id,
            o.recency,
            p.recency
        );
        assert!(
            (o.age - p.age).abs() <= 0.005 + 1e-9,
            "customer {}: {} vs {}",
            p.customer_id,
            o.age,
            p.age
        );
        let zbar = spend[&p.customer_id];
        assert!(
            (o.monetary_micros - zbar).abs() <= 5_000,
            "customer {}: {} vs {zbar}",
            p.customer_id,
            o.monetary_micros
        );
    }
}

#[test]
fn holdout_split_of_cdnow_keeps_every_calibration_customer() {
    let rows = calibration_holdout_split(
        &cdnow_transactions(),
        datetime!(1997-09-30 00:00 UTC),
        datetime!(1998-06-30 00:00 UTC),
        TimeUnit::Weeks,
    )
    .unwrap();
    assert_eq!(rows.len(), 2357);
    assert!((rows[0].holdout_duration - 273.0 / 7.0).abs() < 1e-12);
    // Customer 1 bought on 1997-12-12 in the holdout.
    let first = rows
        .iter()
        .find(|r| r.calibration.customer_id == "1")
        .unwrap();
    assert_eq!(first.holdout_frequency, 1.0);
    let total: f64 = rows.iter().map(|r| r.holdout_frequency).sum();
    assert!(total > 0.0);
}

/// A hand-made order file: same-day orders (identical ones too), orders on
/// and after the observation end. Every summary value is pinned, and the
/// fast reader agrees with the general one.
#[test]
fn summary_of_a_small_order_file_is_pinned_value_by_value() {
    let csv = "customer_id,date,amount\n\
               a,2024-01-01,10.00\n\
               a,2024-01-01,5.00\n\
               a,2024-01-04,20.00\n\
               a,2024-01-04,1.50\n\
               b,2024-01-05,7.25\n\
               b,2024-01-05,7.25\n\
               a,2024-01-10,8.00\n\
               e,2024-01-02,1.00\n\
               e,2024-01-03,2.00\n\
               e,2024-01-03,2.00\n\
               c,2024-01-15,3.00\n\
               c,2024-01-15,4.00\n\
               e,2024-01-15,0.50\n\
               d,2024-01-16,9.00\n\
               a,2024-01-20,100.00\n";
    let options = kiki_ltv::CsvOptions::default();
    let log = kiki_ltv::read_transaction_log(csv.as_bytes(), &options).unwrap();
    let general = kiki_ltv::parse_transactions_csv(csv.as_bytes(), &options).unwrap();
    assert_eq!((log.len(), log.customers()), (15, 5));
    assert_eq!(log.first_at(), Some(datetime!(2024-01-01 00:00 UTC)));
    assert_eq!(log.last_at(), Some(datetime!(2024-01-20 00:00 UTC)));
    let rows = |s: Vec<kiki_ltv::CustomerSummary>| -> Vec<(String, f64, f64, f64, i64)> {
        s.into_iter()
            .map(|c| {
                (
                    c.customer_id,
                    c.frequency,
                    c.recency,
                    c.age,
                    c.monetary_micros,
                )
            })
            .collect()
    };
    let row = |id: &str, f: f64, r: f64, t: f64, m: i64| (id.to_owned(), f, r, t, m);

    // Observed to 2024-01-15: a's order of the 20th and d (only after the
    // end) are left out; c's orders on the end day count (T = 0). The first
    // purchase day is not in the mean spend; same-day orders are one
    // purchase of their sum.
    let end = datetime!(2024-01-15 00:00 UTC);
    let expected = vec![
        row("a", 2.0, 9.0, 14.0, 14_750_000),
        row("b", 0.0, 0.0, 10.0, 0),
        row("e", 2.0, 13.0, 13.0, 2_250_000),
        row("c", 0.0, 0.0, 0.0, 0),
    ];
    assert_eq!(rows(log.summarize(end, TimeUnit::Days)), expected);
    assert_eq!(rows(summarize(&general, end, TimeUnit::Days)), expected);
    let weeks = rows(log.summarize(end, TimeUnit::Weeks));
    assert_eq!(weeks[0], row("a", 2.0, 9.0 / 7.0, 2.0, 14_750_000));

    // Observed to the latest order (the default of a fit): a has three
    // repeat days, mean (21.50 + 8.00 + 100.00) / 3 rounded to the micro.
    let end = datetime!(2024-01-20 00:00 UTC);
    let expected = vec![
        row("a", 3.0, 19.0, 19.0, 43_166_667),
        row("b", 0.0, 0.0, 15.0, 0),
        row("e", 2.0, 13.0, 18.0, 2_250_000),
        row("c", 0.0, 0.0, 5.0, 0),
        row("d", 0.0, 0.0, 4.0, 0),
    ];
    assert_eq!(rows(log.summarize(end, TimeUnit::Days)), expected);
    assert_eq!(rows(summarize(&general, end, TimeUnit::Days)), expected);
}
