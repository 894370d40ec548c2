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
