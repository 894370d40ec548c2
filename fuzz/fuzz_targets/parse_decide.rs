//! Fuzzes the whole bid path (parse, validate, decide, serialise) and the notice
//! path (query parsing, price parsing, the notice state machine) of kiki-bidder.
//! A first byte of 0–2 sends the rest as a win/billing/loss notice query.
//! Every other input is also read by both the hand-written request reader and
//! serde_json's derive, which must agree.
//!
//! cargo +nightly fuzz run parse_decide fuzz/corpus/parse_decide crates/kiki-bidder/tests/fixtures

#![no_main]

use std::sync::OnceLock;
use std::sync::atomic::{AtomicI64, Ordering};

use kiki_bidder::notice::NoticeKind;
use kiki_bidder::openrtb::{BidRequest, read_bid_request};
use kiki_bidder::sim::workload_line_items;
use kiki_bidder::{BidReply, Bidder, BidderConfig, RequestContext};
use libfuzzer_sys::fuzz_target;

const T0: i64 = 1_772_452_800_000;

static BIDDER: OnceLock<Bidder> = OnceLock::new();
static CLOCK: AtomicI64 = AtomicI64::new(T0);

fn bidder() -> &'static Bidder {
    BIDDER.get_or_init(|| {
        let b = Bidder::in_memory(BidderConfig::default(), 1).expect("default config is valid");
        let mut items = workload_line_items(200, 3);
        // Make some line items match the fixtures' 300×250 USA banners too.
        for li in items.iter_mut().take(20) {
            li.targeting.countries.clear();
        }
        b.load_line_items(&items, T0);
        b
    })
}

fuzz_target!(|data: &[u8]| {
    let b = bidder();
    let now = CLOCK.fetch_add(7, Ordering::Relaxed);
    if now % 4096 < 7 {
        b.maintain(now);
    }
    match data.first() {
        Some(k @ 0..=2) => {
            let kind = [NoticeKind::Win, NoticeKind::Billing, NoticeKind::Loss][*k as usize];
            if let Ok(q) = std::str::from_utf8(&data[1..]) {
                let _ = b.handle_notice(kind, q, now);
            }
        }
        _ => {
            reader_agrees_with_serde_json(data);
            bid(b, data, now);
        }
    }
});

/// The hand-written request reader accepts what serde_json's derive accepts and
/// gives the same value; the one allowed difference is an array read as a struct.
fn reader_agrees_with_serde_json(data: &[u8]) {
    let theirs = serde_json::from_slice::<BidRequest<'_>>(data);
    let ours = read_bid_request(data);
    match (&theirs, &ours) {
        (Ok(t), Ok(o)) => assert_eq!(format!("{t:?}"), format!("{o:?}")),
        (Err(e), Ok(_)) => panic!("the reader accepted what serde_json refuses: {e}"),
        (Ok(_), Err(e)) => assert!(
            e.to_string()
                .contains("invalid type: sequence, expected struct"),
            "the reader refused what serde_json accepts: {e}"
        ),
        (Err(_), Err(_)) => {}
    }
}

fn bid(b: &Bidder, data: &[u8], now: i64) {
    match b.handle_bid_request(data, RequestContext::at(now)) {
        BidReply::Bid { body, decision } => {
            assert!(serde_json_valid(&body));
            for bid in &decision.bids {
                assert!(bid.price_micros <= bid.verdict.cap_micros);
                assert!(bid.price_micros >= bid.floor_micros);
                // Feed the bid's own notice back, as an exchange would.
                let q = bid
                    .urls
                    .nurl()
                    .split_once('?')
                    .map_or("", |(_, q)| q)
                    .replace("${AUCTION_PRICE}", "1.25");
                let _ = b.handle_notice(NoticeKind::Win, &q, now);
            }
        }
        BidReply::NoBid { .. } => {}
        BidReply::Rejected { status, reason } => {
            assert!(status == 400 || status == 413);
            assert!(!reason.contains('\n'));
        }
    }
}

fn serde_json_valid(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body).is_ok_and(|v| v.is_object())
}
