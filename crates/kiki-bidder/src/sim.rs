//! A simulated exchange: sends a day of OpenRTB traffic to a [`Bidder`] in
//! accelerated time, runs each auction against a random competing bid, answers
//! with win, billing and loss notices after a random latency, and reports what it
//! billed by hour. Public so that the service's test support can reuse it; all
//! randomness is seeded, so a run is reproducible.
//!
//! The competing highest bid is log-normal, the usual model of clearing prices
//! in the auction literature (e.g. Cui et al. 2011, "Bid landscape forecasting
//! in online ad exchange marketplace"); first price clears at our bid, second
//! price at the higher of the competing bid and the floor.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

use kiki_core::{Currency, Money, OrgId};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, LogNormal};
use serde::Serialize;
use time::OffsetDateTime;

use crate::engine::{BidReply, Bidder, RequestContext};
use crate::lineitem::{
    BidStrategy, Budget, CampaignId, Creative, CreativeFormat, DealTargeting, Flight, FrequencyCap,
    InventoryKind, LineItem, LineItemId, MarginSettings, PacingMode, Priors, Targeting,
};
use crate::notice::NoticeKind;
use crate::openrtb::response::ParsedBidResponse;
use crate::pacing::{DAY_MS, HOUR_MS};
use crate::valuation::{BetaPrior, PerformanceTotals};

/// How the simulated day looks.
#[derive(Debug, Clone, PartialEq)]
pub struct SimConfig {
    pub seed: u64,
    /// Midnight UTC of the simulated day, unix millis.
    pub day_start_ms: i64,
    /// Bid requests over the whole day.
    pub requests: usize,
    /// Relative request volume per UTC hour.
    pub traffic_weights: [f64; 24],
    /// `at = 1` when true, else `at = 2`.
    pub first_price: bool,
    /// Median of the highest competing bid (CPM).
    pub competitor_median_cpm: f64,
    /// Spread (σ of the log) of the highest competing bid.
    pub competitor_sigma: f64,
    /// Floors drawn uniformly from this CPM range.
    pub floor_cpm: (f64, f64),
    /// Latency of win notices after the auction, ms.
    pub notice_latency_ms: (i64, i64),
    /// Share of losses that get a loss notice (the rest expire).
    pub loss_notice_share: f64,
    /// Share of wins that also get a billing notice.
    pub billing_share: f64,
    /// How often `Bidder::maintain` runs, in simulated ms.
    pub maintain_every_ms: i64,
    /// Distinct users in the traffic.
    pub users: usize,
    /// True click-through rate of a won impression; clicks are reported back with
    /// `Bidder::record_performance`, as the service's reporting does.
    pub true_ctr: f64,
    /// True conversion rate of a click.
    pub true_cvr: f64,
    /// Banner sizes offered, cycled.
    pub banner_sizes: Vec<(u32, u32)>,
    /// Countries (alpha-3), cycled.
    pub countries: Vec<String>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 7,
            day_start_ms: 1_772_409_600_000, // 2026-03-02 00:00 UTC, a Monday
            requests: 60_000,
            traffic_weights: DIURNAL,
            first_price: false,
            competitor_median_cpm: 2.0,
            competitor_sigma: 0.5,
            floor_cpm: (0.2, 1.0),
            notice_latency_ms: (20, 800),
            loss_notice_share: 0.5,
            billing_share: 0.9,
            maintain_every_ms: 1_000,
            users: 20_000,
            true_ctr: 0.002,
            true_cvr: 0.02,
            banner_sizes: vec![(300, 250)],
            countries: vec!["USA".into()],
        }
    }
}

/// A typical diurnal traffic curve: quiet at night, peaks in the evening.
pub const DIURNAL: [f64; 24] = [
    0.45, 0.35, 0.3, 0.3, 0.35, 0.5, 0.7, 0.9, 1.0, 1.05, 1.1, 1.15, 1.2, 1.15, 1.1, 1.1, 1.15,
    1.25, 1.4, 1.5, 1.45, 1.2, 0.9, 0.65,
];

/// What the exchange saw.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SimReport {
    pub requests: u64,
    pub bid_responses: u64,
    pub bids: u64,
    pub wins: u64,
    pub rejected: u64,
    /// Billed to the bidder (clearing CPM / 1000 per win), micros.
    pub spend_micros: i64,
    pub spend_by_hour: [i64; 24],
    pub spend_by_line_item: BTreeMap<String, i64>,
    /// No-bids by `nbr`.
    pub no_bids: BTreeMap<u16, u64>,
    /// Highest bid CPM seen, micros.
    pub max_bid_micros: i64,
    pub win_rate: f64,
    pub clicks: u64,
    pub conversions: u64,
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Event {
    at_ms: i64,
    seq: u64,
    kind: u8,
    query: String,
}

fn kind_of(k: u8) -> NoticeKind {
    match k {
        0 => NoticeKind::Win,
        1 => NoticeKind::Billing,
        _ => NoticeKind::Loss,
    }
}

/// Formats a CPM in micros as the exchange substitutes it (`1.234567`).
pub fn format_cpm(micros: i64) -> String {
    format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

/// Runs one simulated day against `bidder`.
pub fn run_day(bidder: &Bidder, cfg: &SimConfig) -> SimReport {
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let competitor = LogNormal::new(
        cfg.competitor_median_cpm.max(1e-6).ln(),
        cfg.competitor_sigma.max(1e-6),
    )
    .unwrap_or_else(|_| LogNormal::new(0.0, 0.5).expect("constant parameters are valid"));
    let times = request_times(cfg, &mut rng);
    let mut events: BinaryHeap<Reverse<Event>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut r = SimReport::default();
    let mut next_maintain = cfg.day_start_ms;
    let mut body = String::with_capacity(768);
    for (i, &t) in times.iter().enumerate() {
        while next_maintain <= t {
            drain(bidder, &mut events, next_maintain);
            bidder.maintain(next_maintain);
            next_maintain += cfg.maintain_every_ms.max(1);
        }
        drain(bidder, &mut events, t);
        let floor_micros = {
            let (lo, hi) = cfg.floor_cpm;
            let f = if hi > lo {
                rng.random_range(lo..hi)
            } else {
                lo
            };
            (f * 1_000_000.0).round() as i64
        };
        let (w, h) = cfg.banner_sizes[i % cfg.banner_sizes.len().max(1)];
        let country = cfg
            .countries
            .get(i % cfg.countries.len().max(1))
            .map_or("USA", String::as_str);
        let user = rng.random_range(0..cfg.users.max(1));
        body.clear();
        use std::fmt::Write;
        let _ = write!(
            body,
            r#"{{"id":"sim-{i}","at":{at},"tmax":120,"cur":["USD"],"imp":[{{"id":"1","banner":{{"w":{w},"h":{h},"format":[{{"w":{w},"h":{h}}}]}},"bidfloor":{floor},"bidfloorcur":"USD"}}],"site":{{"id":"s{site}","domain":"site{site}.example","cat":["IAB12"],"page":"https://site{site}.example/a"}},"device":{{"devicetype":2,"os":"Windows","ua":"Mozilla/5.0","geo":{{"country":"{country}"}}}},"user":{{"id":"user-{user}"}},"regs":{{"coppa":0}}}}"#,
            at = if cfg.first_price { 1 } else { 2 },
            floor = format_cpm(floor_micros),
            site = i % 97,
        );
        r.requests += 1;
        let reply = bidder.handle_bid_request(body.as_bytes(), RequestContext::at(t));
        let resp: ParsedBidResponse = match reply {
            BidReply::Bid { body, .. } => match serde_json::from_slice(&body) {
                Ok(p) => p,
                Err(_) => {
                    r.rejected += 1;
                    continue;
                }
            },
            BidReply::NoBid { reason, .. } => {
                *r.no_bids.entry(reason.nbr()).or_default() += 1;
                continue;
            }
            BidReply::Rejected { .. } => {
                r.rejected += 1;
                continue;
            }
        };
        r.bid_responses += 1;
        for bid in resp.seatbid.iter().flat_map(|s| &s.bid) {
            r.bids += 1;
            let price = (bid.price * 1_000_000.0).round() as i64;
            r.max_bid_micros = r.max_bid_micros.max(price);
            let other = (competitor.sample(&mut rng) * 1_000_000.0).round() as i64;
            let (lo, hi) = cfg.notice_latency_ms;
            let latency = if hi > lo {
                rng.random_range(lo..hi)
            } else {
                lo
            };
            if price > other {
                let clearing = if cfg.first_price {
                    price
                } else {
                    other.max(floor_micros).min(price)
                };
                r.wins += 1;
                r.spend_micros += (clearing + 500) / 1000;
                let hour = ((t - cfg.day_start_ms).clamp(0, DAY_MS - 1) / HOUR_MS) as usize;
                r.spend_by_hour[hour] += (clearing + 500) / 1000;
                if let Some(nurl) = &bid.nurl {
                    let q = query_of(nurl, clearing);
                    if let Some(li) = line_item_of(&q) {
                        *r.spend_by_line_item.entry(li.clone()).or_default() +=
                            (clearing + 500) / 1000;
                        if rng.random_bool(cfg.true_ctr.clamp(0.0, 1.0)) {
                            let converted = rng.random_bool(cfg.true_cvr.clamp(0.0, 1.0));
                            r.clicks += 1;
                            r.conversions += u64::from(converted);
                            if let Ok(id) = li.parse() {
                                bidder.record_performance(
                                    id,
                                    PerformanceTotals {
                                        impressions: 0,
                                        clicks: 1,
                                        conversions: u64::from(converted),
                                    },
                                );
                            }
                        }
                    }
                    seq += 1;
                    events.push(Reverse(Event {
                        at_ms: t + latency,
                        seq,
                        kind: 0,
                        query: q,
                    }));
                }
                if rng.random_bool(cfg.billing_share.clamp(0.0, 1.0))
                    && let Some(burl) = &bid.burl
                {
                    seq += 1;
                    events.push(Reverse(Event {
                        at_ms: t + latency + 1_000,
                        seq,
                        kind: 1,
                        query: query_of(burl, clearing),
                    }));
                }
            } else if rng.random_bool(cfg.loss_notice_share.clamp(0.0, 1.0))
                && let Some(lurl) = &bid.lurl
            {
                seq += 1;
                events.push(Reverse(Event {
                    at_ms: t + latency,
                    seq,
                    kind: 2,
                    query: query_of(lurl, other).replace("${AUCTION_LOSS}", "102"),
                }));
            }
        }
    }
    // Keep the clock running past midnight so late notices arrive and silent
    // losses expire, as they would on a live exchange.
    let end = cfg.day_start_ms + DAY_MS + 120_000;
    while next_maintain <= end {
        drain(bidder, &mut events, next_maintain);
        bidder.maintain(next_maintain);
        next_maintain += cfg.maintain_every_ms.max(1);
    }
    drain(bidder, &mut events, i64::MAX);
    r.win_rate = if r.bids > 0 {
        r.wins as f64 / r.bids as f64
    } else {
        0.0
    };
    r
}

fn query_of(url: &str, price_micros: i64) -> String {
    url.split_once('?')
        .map_or("", |(_, q)| q)
        .replace("${AUCTION_PRICE}", &format_cpm(price_micros))
}

fn line_item_of(query: &str) -> Option<String> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix("li="))
        .map(str::to_owned)
}

fn drain(bidder: &Bidder, events: &mut BinaryHeap<Reverse<Event>>, until: i64) {
    while events.peek().is_some_and(|Reverse(e)| e.at_ms <= until) {
        if let Some(Reverse(e)) = events.pop() {
            // A notice the bidder refuses is an exchange bug in real life; here it cannot
            // happen, and the report's spend is the exchange's own count anyway.
            let _ = bidder.handle_notice(kind_of(e.kind), &e.query, e.at_ms);
        }
    }
}

/// Request times spread over the day following the traffic weights, sorted.
fn request_times(cfg: &SimConfig, rng: &mut StdRng) -> Vec<i64> {
    let sum: f64 = cfg
        .traffic_weights
        .iter()
        .filter(|w| w.is_finite() && **w > 0.0)
        .sum();
    let mut times = Vec::with_capacity(cfg.requests);
    if sum <= 0.0 {
        return times;
    }
    for (h, w) in cfg.traffic_weights.iter().enumerate() {
        let w = if w.is_finite() && *w > 0.0 { *w } else { 0.0 };
        let n = (cfg.requests as f64 * w / sum).round() as usize;
        for _ in 0..n {
            times.push(cfg.day_start_ms + h as i64 * HOUR_MS + rng.random_range(0..HOUR_MS));
        }
    }
    times.sort_unstable();
    times
}

/// A banner line item for simulations and tests: 300×250, value-based, LTV 120,
/// with priors worth some history (pCTR 0.2 % over 10 000 impressions, pCVR 2 %
/// over 1 000 clicks), so one day of sparse conversions does not swing its value.
///
/// Its ids are fixed, not fresh: the pacing throttle's draws hash the line
/// item's id, so a fresh id per run would make a seeded simulated day differ
/// from run to run.
pub fn banner_line_item(daily: Money, pacing: PacingMode) -> LineItem {
    LineItem {
        id: LineItemId(uuid::Uuid::from_u128(
            0x5100_0000_0000_7000_8000_0000_0000_0001,
        )),
        org_id: OrgId(uuid::Uuid::from_u128(
            0x5100_0000_0000_7000_8000_0000_0000_0002,
        )),
        campaign_id: CampaignId(uuid::Uuid::from_u128(
            0x5100_0000_0000_7000_8000_0000_0000_0003,
        )),
        name: "simulated banner".into(),
        active: true,
        flight: Flight {
            start: OffsetDateTime::UNIX_EPOCH,
            end: None,
        },
        budget: Budget { daily, total: None },
        pacing,
        bid_strategy: BidStrategy::ValueBased,
        max_cpm: None,
        targeting: Targeting::default(),
        creatives: vec![Creative {
            id: "sim-300x250".into(),
            format: CreativeFormat::Banner { w: 300, h: 250 },
            markup: "<a href=\"https://shop.example\"><img src=\"https://cdn.example/ad.png\"></a>"
                .into(),
            adomain: vec!["shop.example".into()],
            categories: vec!["IAB22".into()],
            attributes: vec![],
            bundle: None,
        }],
        ltv_baseline: Money::from_micros(120_000_000, Currency::USD),
        margin: MarginSettings::default(),
        frequency_cap: None,
        priors: Some(Priors {
            ctr: BetaPrior {
                alpha: 20.0,
                beta: 9_980.0,
            },
            cvr: BetaPrior {
                alpha: 20.0,
                beta: 980.0,
            },
        }),
        deals: DealTargeting::default(),
    }
}

/// Banner sizes of the IAB fixed-size ad units, used by the workload.
const SIZES: [(u32, u32); 10] = [
    (300, 250),
    (728, 90),
    (160, 600),
    (320, 50),
    (300, 600),
    (970, 250),
    (320, 100),
    (468, 60),
    (336, 280),
    (250, 250),
];

const COUNTRIES: [&str; 12] = [
    "USA", "CAN", "GBR", "DEU", "FRA", "ESP", "ITA", "NLD", "AUS", "JPN", "BRA", "MEX",
];

/// `n` varied line items for benchmarks and load tests: banner sizes, video and
/// native, country and device targeting, OS and category lists, frequency caps
/// and dayparts spread across them, large budgets so they keep bidding.
pub fn workload_line_items(n: usize, seed: u64) -> Vec<LineItem> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..n)
        .map(|i| {
            let mut li = banner_line_item(
                Money::from_micros(1_000_000_000_000, Currency::USD),
                PacingMode::Asap,
            );
            li.id = LineItemId(uuid::Uuid::from_u128(
                (u128::from(seed) << 64) | (i as u128 + 1),
            ));
            li.name = format!("workload {i}");
            let kind = rng.random_range(0..10);
            li.creatives[0] = Creative {
                id: format!("cr-{i}"),
                format: match kind {
                    0 => CreativeFormat::Video {
                        mimes: vec!["video/mp4".into()],
                        duration_secs: 15 + 15 * rng.random_range(0..3),
                    },
                    1 => CreativeFormat::Native,
                    _ => {
                        let (w, h) = SIZES[rng.random_range(0..SIZES.len())];
                        CreativeFormat::Banner { w, h }
                    }
                },
                markup: format!("<div class=\"ad\" data-li=\"{i}\"><a href=\"https://shop{i}.example\">Buy</a></div>"),
                adomain: vec![format!("shop{}.example", i % 200)],
                categories: vec![format!("IAB{}-{}", 1 + i % 26, 1 + i % 5)],
                attributes: if i % 7 == 0 { vec![6] } else { vec![] },
                bundle: None,
            };
            let countries = rng.random_range(0..4);
            li.targeting.countries = (0..countries)
                .map(|_| COUNTRIES[rng.random_range(0..COUNTRIES.len())].to_owned())
                .collect();
            if rng.random_bool(0.3) {
                li.targeting.device_types = vec![rng.random_range(1..=8)];
            }
            if rng.random_bool(0.2) {
                li.targeting.os = vec![["iOS", "Android", "Windows"][rng.random_range(0..3)].into()];
            }
            if rng.random_bool(0.2) {
                li.targeting.categories.block = vec![format!("IAB{}", 1 + rng.random_range(0..26))];
            }
            if rng.random_bool(0.2) {
                li.frequency_cap = Some(crate::lineitem::FrequencyCap {
                    max_impressions: 5,
                    window_secs: 3600,
                });
            }
            li.ltv_baseline = Money::from_micros(rng.random_range(60_000_000..300_000_000), Currency::USD);
            li
        })
        .collect()
}

/// Representative requests (name, body): a site banner, an app banner with a
/// deal, a video, a three-impression page and one that matches nothing.
pub fn workload_requests() -> Vec<(&'static str, String)> {
    let site = r#""site":{"id":"s1","domain":"news.example","cat":["IAB12","IAB12-2"],"page":"https://news.example/politics/today","publisher":{"id":"p1","name":"News"}}"#;
    let device = r#""device":{"ua":"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36","ip":"203.0.113.7","devicetype":2,"os":"Windows","language":"en","geo":{"country":"USA","region":"CA","city":"San Francisco","utcoffset":-480}}"#;
    let user = r#""user":{"id":"u-5f1c2a","buyeruid":"kiki-5f1c2a","consent":"CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA"}"#;
    let common = format!(
        r#"{site},{device},{user},"at":1,"tmax":120,"cur":["USD"],"bcat":["IAB25","IAB26","IAB7-39","IAB8-18"],"badv":["competitor.example"],"regs":{{"gdpr":1,"coppa":0}},"source":{{"tid":"0f6b2c8e"}}"#
    );
    let banner = format!(
        r#"{{"id":"req-banner","imp":[{{"id":"1","tagid":"top","banner":{{"w":300,"h":250,"format":[{{"w":300,"h":250}},{{"w":336,"h":280}}],"battr":[1,3],"pos":1}},"bidfloor":0.45,"bidfloorcur":"USD","secure":1}}],{common}}}"#
    );
    let video = format!(
        r#"{{"id":"req-video","imp":[{{"id":"1","video":{{"mimes":["video/mp4","video/webm"],"minduration":5,"maxduration":30,"protocols":[2,3,5,6],"w":640,"h":360,"plcmt":1}},"bidfloor":2.0}}],{common}}}"#
    );
    let multi = format!(
        r#"{{"id":"req-multi","imp":[{{"id":"1","banner":{{"w":728,"h":90}},"bidfloor":0.3}},{{"id":"2","banner":{{"w":160,"h":600}},"bidfloor":0.3}},{{"id":"3","native":{{"request":"{{\"ver\":\"1.2\",\"assets\":[{{\"id\":1,\"required\":1,\"title\":{{\"len\":90}}}}]}}","ver":"1.2"}},"bidfloor":0.5}}],{common}}}"#
    );
    let app = r#"{"id":"req-app","imp":[{"id":"1","banner":{"w":320,"h":50},"bidfloor":0.2,"pmp":{"private_auction":0,"deals":[{"id":"deal-7","bidfloor":1.5}]}}],"app":{"id":"a1","bundle":"com.example.game","cat":["IAB9-30"],"publisher":{"id":"p2"}},"device":{"ua":"Mozilla/5.0 (Linux; Android 14)","devicetype":4,"os":"Android","ifa":"6d92078a-8246-4ba4-ae5b-76104861e7dc","geo":{"country":"GBR"}},"user":{"id":"u-77"},"at":2,"tmax":100}"#.to_owned();
    let nomatch =
        format!(r#"{{"id":"req-nomatch","imp":[{{"id":"1","banner":{{"w":1,"h":1}}}}],{common}}}"#);
    vec![
        ("banner", banner),
        ("video", video),
        ("multi_imp", multi),
        ("app_deal", app),
        ("no_match", nomatch),
    ]
}

/// A line item of the fixture catalogue: one creative of `format`, even
/// pacing, value-based bidding, 500 USD a day, an LTV baseline of 120 USD.
pub fn fixture_line_item(name: &str, format: CreativeFormat) -> LineItem {
    LineItem {
        id: LineItemId::new(),
        org_id: OrgId::new(),
        campaign_id: CampaignId::new(),
        name: name.into(),
        active: true,
        flight: Flight {
            start: time::macros::datetime!(2026-01-01 00:00 UTC),
            end: None,
        },
        budget: Budget {
            daily: fixture_usd(500.0),
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
        ltv_baseline: fixture_usd(120.0),
        margin: MarginSettings::default(),
        frequency_cap: None,
        priors: None,
        deals: DealTargeting::default(),
    }
}

/// The catalogue the protocol fixtures (`tests/fixtures/*.json` and their
/// `expected.json`) are written against: one line item per kind of
/// inventory. Shared by the engine's tests and the service's HTTP tests.
pub fn fixture_catalogue() -> Vec<LineItem> {
    let mut banner = fixture_line_item("banner", CreativeFormat::Banner { w: 300, h: 250 });
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
    let video = fixture_line_item(
        "video",
        CreativeFormat::Video {
            mimes: vec!["video/mp4".into()],
            duration_secs: 30,
        },
    );
    let native = fixture_line_item("native", CreativeFormat::Native);
    let audio = fixture_line_item(
        "audio",
        CreativeFormat::Audio {
            mimes: vec!["audio/mp4".into()],
            duration_secs: 15,
        },
    );
    let mut deal = fixture_line_item("deal", CreativeFormat::Banner { w: 320, h: 480 });
    deal.targeting.inventory = InventoryKind::AppOnly;
    deal.targeting.os = vec!["Android".into()];
    deal.deals = DealTargeting {
        ids: vec!["deal-1".into()],
        only: true,
    };
    let mut capped = fixture_line_item("capped", CreativeFormat::Banner { w: 320, h: 50 });
    capped.frequency_cap = Some(FrequencyCap {
        max_impressions: 1,
        window_secs: 3600,
    });
    vec![banner, video, native, audio, deal, capped]
}

fn fixture_usd(major: f64) -> Money {
    Money::from_micros((major * 1_000_000.0).round() as i64, Currency::USD)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BidderConfig, RequestContext};

    #[test]
    fn the_workload_is_valid_and_its_requests_reach_the_decision() {
        let items = workload_line_items(300, 1);
        assert!(items.iter().all(|li| li.validate().is_ok()));
        let b = Bidder::in_memory(BidderConfig::default(), 1).unwrap();
        assert_eq!(b.load_line_items(&items, 0).active, 300);
        let t = 1_772_452_800_000;
        let statuses: Vec<(&str, u16)> = workload_requests()
            .into_iter()
            .map(|(name, body)| {
                (
                    name,
                    b.handle_bid_request(body.as_bytes(), RequestContext::at(t))
                        .status(),
                )
            })
            .collect();
        assert_eq!(
            statuses,
            vec![
                ("banner", 200),
                ("video", 200),
                ("multi_imp", 200),
                ("app_deal", 200),
                ("no_match", 204)
            ]
        );
    }

    #[test]
    fn prices_are_formatted_as_the_exchange_substitutes_them() {
        assert_eq!(format_cpm(1_234_567), "1.234567");
        assert_eq!(format_cpm(5), "0.000005");
    }
}
