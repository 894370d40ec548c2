//! Property tests: no input panics; no price leaves the band [floor, guardian
//! cap]; pacing never overspends a day of random traffic with random win rates.

use kiki_bidder::lineitem::*;
use kiki_bidder::sim::{SimConfig, banner_line_item, run_day};
use kiki_bidder::valuation::{PerformanceTotals, SegmentData, SegmentTable};
use kiki_bidder::{BidReply, Bidder, BidderDeps, RequestContext};
use proptest::prelude::*;
use serde_json::Value;
use std::sync::Arc;

use crate::support::*;

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        "[ -~]{0,12}".prop_map(Value::from),
        Just(Value::from("USD")),
        Just(Value::from("${AUCTION_PRICE}")),
    ];
    let key = prop_oneof![
        "[a-z]{1,8}",
        prop::sample::select(vec![
            "id",
            "imp",
            "banner",
            "video",
            "audio",
            "native",
            "format",
            "w",
            "h",
            "mimes",
            "bidfloor",
            "bidfloorcur",
            "pmp",
            "deals",
            "site",
            "app",
            "device",
            "geo",
            "country",
            "user",
            "regs",
            "gdpr",
            "coppa",
            "ext",
            "consent",
            "cur",
            "at",
            "tmax",
            "test",
            "bcat",
            "badv",
            "wseat",
        ])
        .prop_map(str::to_owned),
    ];
    leaf.prop_recursive(5, 96, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn reply_is_well_formed(r: &BidReply) {
    match r {
        BidReply::Bid { body, .. } => {
            assert!(serde_json::from_slice::<Value>(body).is_ok());
        }
        BidReply::NoBid { .. } => {}
        BidReply::Rejected { status, reason } => {
            assert!(*status == 400 || *status == 413);
            assert!(!reason.contains('\n'));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let b = bidder();
        reply_is_well_formed(&b.handle_bid_request(&bytes, RequestContext::at(NOW)));
    }

    #[test]
    fn arbitrary_json_never_panics(v in json()) {
        let b = bidder();
        let body = serde_json::to_vec(&v).unwrap();
        reply_is_well_formed(&b.handle_bid_request(&body, RequestContext::at(NOW)));
    }

    #[test]
    fn request_shaped_json_with_random_values_never_panics(
        imp in json(), site in json(), device in json(), user in json(), regs in json(), at in json(),
    ) {
        let b = bidder();
        let mut req = serde_json::json!({"id": "p", "imp": [imp], "site": site, "device": device, "user": user, "regs": regs, "at": at});
        let body = serde_json::to_vec(&req).unwrap();
        reply_is_well_formed(&b.handle_bid_request(&body, RequestContext::at(NOW)));
        // And with a valid banner impression next to the random one.
        req["imp"].as_array_mut().unwrap().push(serde_json::json!({"id": "b", "banner": {"w": 300, "h": 250}}));
        let body = serde_json::to_vec(&req).unwrap();
        reply_is_well_formed(&b.handle_bid_request(&body, RequestContext::at(NOW)));
    }
}

#[derive(Debug, Clone)]
struct PriceCase {
    ltv: f64,
    segment_ltv: Option<f64>,
    share: f64,
    strategy: u8,
    amount: f64,
    max_cpm: Option<f64>,
    floor: f64,
    floor_cur: &'static str,
    first_price: bool,
    perf: (u64, u64, u64),
    safety: f64,
}

fn price_case() -> impl Strategy<Value = PriceCase> {
    (
        (
            0.0f64..500.0,
            prop::option::of(0.0f64..2000.0),
            0.01f64..=1.0,
            0u8..3,
            0.01f64..200.0,
        ),
        (
            prop::option::of(0.01f64..50.0),
            0.0f64..8.0,
            prop::sample::select(vec!["USD", "EUR", "GBP"]),
            any::<bool>(),
        ),
        ((0u64..200_000), (0u64..2_000), (0u64..200)),
        0.05f64..=1.0,
    )
        .prop_map(
            |(
                (ltv, segment_ltv, share, strategy, amount),
                (max_cpm, floor, floor_cur, first_price),
                perf,
                safety,
            )| {
                PriceCase {
                    ltv,
                    segment_ltv,
                    share,
                    strategy,
                    amount,
                    max_cpm,
                    floor,
                    floor_cur,
                    first_price,
                    perf,
                    safety,
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn a_price_never_exceeds_the_guardian_cap_nor_goes_below_the_floor(c in price_case()) {
        let mut li = base_item("p", CreativeFormat::Banner { w: 300, h: 250 });
        li.ltv_baseline = usd(c.ltv);
        li.margin.bid_share = c.share;
        li.bid_strategy = match c.strategy {
            0 => BidStrategy::ValueBased,
            1 => BidStrategy::TargetCpa { cpa: usd(c.amount) },
            _ => BidStrategy::FixedCpm { cpm: usd(c.amount) },
        };
        li.max_cpm = c.max_cpm.map(usd);
        let mut cfg = config();
        cfg.margin.safety_margin = c.safety;
        let mut data = SegmentData::new();
        if let Some(s) = c.segment_ltv {
            data.set_segment_ltv(li.org_id, "seg", usd(s));
            data.assign_user(li.org_id, "u1", "seg");
        }
        let mut deps = BidderDeps::in_memory(5);
        deps.segments = Arc::new(SegmentTable::new(data));
        let b = Bidder::new(cfg, deps).unwrap();
        let id = li.id;
        b.load_line_items(&[li], NOW);
        let (imps, clicks, convs) = c.perf;
        b.set_performance(id, PerformanceTotals { impressions: imps, clicks, conversions: convs });
        let body = format!(
            r#"{{"id":"r","at":{},"imp":[{{"id":"1","banner":{{"w":300,"h":250}},"bidfloor":{},"bidfloorcur":"{}"}}],"user":{{"id":"u1"}}}}"#,
            if c.first_price { 1 } else { 2 }, c.floor, c.floor_cur
        );
        if let BidReply::Bid { decision, body } = b.handle_bid_request(body.as_bytes(), RequestContext::at(NOW)) {
            let bid = &decision.bids[0];
            prop_assert!(bid.price_micros <= bid.verdict.cap_micros, "{bid:?}");
            prop_assert!(bid.price_micros <= bid.verdict.price_micros);
            prop_assert!(bid.price_micros >= bid.floor_micros, "{bid:?}");
            prop_assert!(bid.floor_micros >= (c.floor * 1e6).floor() as i64 || c.floor_cur != "USD");
            prop_assert!(!bid.verdict.is_refused());
            let parsed: Value = serde_json::from_slice(&body).unwrap();
            let price = parsed["seatbid"][0]["bid"][0]["price"].as_f64().unwrap();
            prop_assert!((price * 1e6 - bid.response_price_micros as f64).abs() < 0.5);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn pacing_never_overspends_a_day_of_random_traffic_with_random_win_rates(
        seed in any::<u64>(),
        requests in 2_000usize..8_000,
        daily in 0.5f64..30.0,
        median in 0.3f64..6.0,
        first_price in any::<bool>(),
        loss_share in 0.0f64..1.0,
        max_latency in 1i64..55_000,
        weights in prop::collection::vec(0.05f64..3.0, 24),
        curve in any::<bool>(),
    ) {
        let pacing = if curve { PacingMode::HourlyCurve { weights: weights.clone() } } else { PacingMode::Even };
        let item = banner_line_item(usd(daily), pacing);
        let id = item.id;
        let b = Bidder::in_memory(config(), seed).unwrap();
        let sim = SimConfig {
            seed,
            requests,
            traffic_weights: weights.clone().try_into().unwrap(),
            first_price,
            competitor_median_cpm: median,
            loss_notice_share: loss_share,
            notice_latency_ms: (0, max_latency),
            ..SimConfig::default()
        };
        b.load_line_items(&[item], sim.day_start_ms);
        let r = run_day(&b, &sim);
        let budget = (daily * 1e6).round() as i64;
        let one_bid = (r.max_bid_micros + 500) / 1000;
        let status = b.line_item_status(id, sim.day_start_ms).unwrap();
        prop_assert_eq!(status.spent_total.micros, r.spend_micros);
        prop_assert!(r.spend_micros <= budget + one_bid, "spent {} of {budget}", r.spend_micros);
    }
}
