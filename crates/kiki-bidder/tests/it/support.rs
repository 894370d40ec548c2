//! Shared helpers: a bidder with a fixed catalogue of line items and a fixed clock.

use kiki_bidder::lineitem::*;
use kiki_bidder::{Bidder, BidderConfig};
use kiki_core::{Currency, Money};

/// Monday 2026-03-02 12:00 UTC.
pub const NOW: i64 = 1_772_452_800_000;

pub fn usd(major: f64) -> Money {
    Money::from_micros((major * 1_000_000.0).round() as i64, Currency::USD)
}

pub fn base_item(name: &str, format: CreativeFormat) -> LineItem {
    kiki_bidder::sim::fixture_line_item(name, format)
}

/// The fixture catalogue: one line item per kind of inventory.
pub fn catalogue() -> Vec<LineItem> {
    kiki_bidder::sim::fixture_catalogue()
}

pub fn config() -> BidderConfig {
    BidderConfig {
        notice_base_url: "https://bid.kiki.example".into(),
        fx: kiki_bidder::fx::FxTable::new(kiki_bidder::fx::FxRates {
            base: Currency::USD,
            rates: [(Currency::EUR, 1.08), (Currency::GBP, 1.27)]
                .into_iter()
                .collect(),
        })
        .unwrap(),
        ..BidderConfig::default()
    }
}

pub fn bidder_with(items: &[LineItem], cfg: BidderConfig) -> Bidder {
    let b = Bidder::in_memory(cfg, 1).unwrap();
    let report = b.load_line_items(items, NOW);
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    b
}

pub fn bidder() -> Bidder {
    bidder_with(&catalogue(), config())
}
