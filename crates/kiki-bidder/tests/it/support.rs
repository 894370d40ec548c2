//! Shared helpers: a bidder with a fixed catalogue of line items and a fixed clock.

use kiki_bidder::lineitem::*;
use kiki_bidder::{Bidder, BidderConfig};
use kiki_core::{Currency, Money, OrgId};
use time::macros::datetime;

/// Monday 2026-03-02 12:00 UTC.
pub const NOW: i64 = 1_772_452_800_000;

pub fn usd(major: f64) -> Money {
    Money::from_micros((major * 1_000_000.0).round() as i64, Currency::USD)
}

pub fn base_item(name: &str, format: CreativeFormat) -> LineItem {
    LineItem {
        id: LineItemId::new(),
        org_id: OrgId::new(),
        campaign_id: CampaignId::new(),
        name: name.into(),
        active: true,
        flight: Flight {
            start: datetime!(2026-01-01 00:00 UTC),
            end: None,
        },
        budget: Budget {
            daily: usd(500.0),
            total: None,
        },
        pacing: PacingMode::Even,
        bid_strategy: BidStrategy::ValueBased,
        max_cpm: None,
        targeting: Targeting::default(),
        creatives: vec![Creative {
            id: format!("{name}-cr"),
            format,
            markup: format!("<markup of {name}>"),
            adomain: vec!["shop.example".into()],
            categories: vec!["IAB22-1".into()],
            attributes: vec![],
            bundle: None,
        }],
        ltv_baseline: usd(120.0),
        margin: MarginSettings::default(),
        frequency_cap: None,
        priors: None,
        deals: DealTargeting::default(),
    }
}

/// The fixture catalogue: one line item per kind of inventory.
pub fn catalogue() -> Vec<LineItem> {
    let mut banner = base_item("banner", CreativeFormat::Banner { w: 300, h: 250 });
    // Attribute 3 (expandable, user-initiated) lets a fixture exercise `battr`.
    banner.creatives[0].attributes = vec![3];
    banner.creatives.push(Creative {
        id: "banner-728".into(),
        format: CreativeFormat::Banner { w: 728, h: 90 },
        markup: "<leaderboard>".into(),
        adomain: vec!["shop.example".into()],
        categories: vec!["IAB22-1".into()],
        attributes: vec![],
        bundle: None,
    });
    banner.targeting.countries = vec!["USA".into(), "CAN".into()];
    let video = base_item(
        "video",
        CreativeFormat::Video {
            mimes: vec!["video/mp4".into()],
            duration_secs: 30,
        },
    );
    let native = base_item("native", CreativeFormat::Native);
    let audio = base_item(
        "audio",
        CreativeFormat::Audio {
            mimes: vec!["audio/mp4".into()],
            duration_secs: 15,
        },
    );
    let mut deal = base_item("deal", CreativeFormat::Banner { w: 320, h: 480 });
    deal.targeting.inventory = InventoryKind::AppOnly;
    deal.targeting.os = vec!["Android".into()];
    deal.deals = DealTargeting {
        ids: vec!["deal-1".into()],
        only: true,
    };
    let mut capped = base_item("capped", CreativeFormat::Banner { w: 320, h: 50 });
    capped.frequency_cap = Some(FrequencyCap {
        max_impressions: 1,
        window_secs: 3600,
    });
    vec![banner, video, native, audio, deal, capped]
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
