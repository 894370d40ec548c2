//! Loaders for the files under tests/fixtures (copies of the CDNOW data
//! distributed with the `lifetimes` package, and the ₂F₁ reference values).

use kiki_ltv::{CustomerSummary, RfmRow, SummaryCsvOptions, Transaction, parse_summary_csv};
use time::{Date, macros::format_description};

pub const CDNOW_SUMMARY: &str = include_str!("../fixtures/cdnow_customers_summary.csv");
pub const CDNOW_WITH_SPEND: &str =
    include_str!("../fixtures/cdnow_customers_summary_with_transactions.csv");
pub const CDNOW_SAMPLE: &str = include_str!("../fixtures/CDNOW_sample.txt");
pub const DONATIONS: &str = include_str!("../fixtures/donations.csv");
pub const HYP2F1: &str = include_str!("../fixtures/hyp2f1_reference.csv");

/// The 2,357-customer CDNOW summary in weeks.
pub fn cdnow() -> Vec<CustomerSummary> {
    let opts = SummaryCsvOptions {
        customer_id: "ID".into(),
        ..SummaryCsvOptions::default()
    };
    parse_summary_csv(CDNOW_SUMMARY.as_bytes(), &opts).expect("the CDNOW summary parses")
}

/// The CDNOW summary with mean repeat spend (`zbar`, dollars).
pub fn cdnow_with_spend() -> Vec<CustomerSummary> {
    let opts = SummaryCsvOptions {
        customer_id: "ID".into(),
        frequency: "x".into(),
        recency: "t_x".into(),
        age: "T".into(),
        monetary: "zbar".into(),
        ..SummaryCsvOptions::default()
    };
    parse_summary_csv(CDNOW_WITH_SPEND.as_bytes(), &opts).expect("the CDNOW spend summary parses")
}

/// The donations data set: (frequency, recency, periods, weight) patterns.
pub fn donations() -> Vec<RfmRow> {
    DONATIONS
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Vec<f64> = l
                .split(',')
                .map(|x| x.trim().parse().expect("a number"))
                .collect();
            RfmRow {
                frequency: v[0],
                recency: v[1],
                age: v[2],
                weight: v[3],
            }
        })
        .collect()
}

/// CDNOW_sample.txt: master id, sample id, YYYYMMDD, number of CDs, dollars.
pub fn cdnow_transactions() -> Vec<Transaction> {
    CDNOW_SAMPLE
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let date =
                Date::parse(f[2], format_description!("[year][month][day]")).expect("a date");
            let dollars =
                kiki_core::Money::parse_decimal(f[4], kiki_core::Currency::USD).expect("an amount");
            Transaction {
                customer_id: f[1].trim_start_matches('0').to_owned(),
                at: date.midnight().assume_utc(),
                amount_micros: dollars.micros,
                segment: None,
                platform: None,
            }
        })
        .collect()
}
