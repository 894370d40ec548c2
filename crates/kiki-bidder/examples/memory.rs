//! Measures resident memory (RSS from /proc/self/statm, Linux) for 1,000
//! compiled line items, 1,000,000 frequency-cap users, 1,000,000 segment users
//! and 100,000 open bids in the notice ledger.
//!
//! `cargo run --release -p kiki-bidder --example memory`

use kiki_bidder::freq::{FreqKey, FrequencyStore, InMemoryFrequency, user_hash};
use kiki_bidder::sim::{workload_line_items, workload_requests};
use kiki_bidder::valuation::SegmentData;
use kiki_bidder::{Bidder, BidderConfig, RequestContext};
use kiki_core::{Currency, Money, OrgId};

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

fn main() {
    let t0 = 1_772_452_800_000i64;

    let items = workload_line_items(1_000, 1);
    let before = rss_bytes();
    let b = Bidder::in_memory(BidderConfig::default(), 1).expect("default config is valid");
    b.load_line_items(&items, t0);
    let after = rss_bytes();
    println!(
        "1,000 compiled line items (snapshot + runtimes): {:.2} MiB",
        mib(after - before)
    );

    let f = InMemoryFrequency::default();
    let before = rss_bytes();
    for u in 0..1_000_000u64 {
        f.record(FreqKey::new(user_hash(&format!("user-{u}")), 7), 3600, t0);
    }
    let after = rss_bytes();
    println!(
        "1,000,000 frequency-cap users (one capped line item each): {:.2} MiB ({:.1} bytes each), {} windows",
        mib(after - before),
        (after - before) as f64 / 1e6,
        f.len()
    );

    let org = OrgId::new();
    let before = rss_bytes();
    let mut seg = SegmentData::new();
    seg.set_segment_ltv(org, "s", Money::from_micros(100_000_000, Currency::USD));
    for u in 0..1_000_000u64 {
        seg.assign_user(org, &format!("kiki-{u:012}"), "s");
    }
    let after = rss_bytes();
    println!(
        "1,000,000 segment users (20-byte ids): {:.2} MiB",
        mib(after - before)
    );

    let (_, body) = &workload_requests()[0];
    let before = rss_bytes();
    let mut placed = 0;
    for i in 0..100_000 {
        let r = b.handle_bid_request(body.as_bytes(), RequestContext::at(t0 + i));
        placed += usize::from(r.status() == 200);
    }
    let after = rss_bytes();
    println!(
        "{placed} open bids in the notice ledger ({} remembered): {:.2} MiB",
        b.open_bids(),
        mib(after - before)
    );
    // Kept alive to here so that the allocator cannot hand their memory to the next step.
    std::hint::black_box((&f, &seg));
}
