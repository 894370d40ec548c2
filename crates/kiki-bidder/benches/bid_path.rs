//! The bid path with 1,000 active line items: parse alone (and serde_json's
//! derive on the same types, the reference), decide alone, and
//! parse + decide + serialise, for representative requests. Time advances 1 ms
//! per iteration and maintenance runs every 4,096 iterations, as in service.
//! The tracker groups measure the signed impression and click URLs: one tag
//! alone, and the whole path when every creative carries both macros.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kiki_bidder::notice::BidId;
use kiki_bidder::openrtb::{BidRequest, parse_bid_request};
use kiki_bidder::sim::{workload_line_items, workload_requests};
use kiki_bidder::tracker::TrackerKey;
use kiki_bidder::{Bidder, BidderConfig, BidderDeps, LineItemId, RequestContext};

const T0: i64 = 1_772_452_800_000;

fn bidder() -> Bidder {
    let b = Bidder::in_memory(BidderConfig::default(), 42).expect("default config is valid");
    let r = b.load_line_items(&workload_line_items(1_000, 1), T0);
    assert_eq!(r.active, 1_000);
    b
}

/// The same bidder, every creative's markup carrying both tracker macros.
fn tracked_bidder() -> Bidder {
    let mut deps = BidderDeps::in_memory(42);
    deps.tracker_key = Some(TrackerKey::new(b"bench tracker key"));
    let b = Bidder::new(BidderConfig::default(), deps).expect("default config is valid");
    let mut items = workload_line_items(1_000, 1);
    for li in &mut items {
        for c in &mut li.creatives {
            c.markup = format!(
                "<a href=\"${{KIKI_CLICK_URL}}https%3A%2F%2Fshop.example%2F\"><img src=\"${{KIKI_IMP_URL}}\">{}</a>",
                c.markup
            );
        }
    }
    assert_eq!(b.load_line_items(&items, T0).active, 1_000);
    b
}

fn bench(c: &mut Criterion) {
    let key = TrackerKey::new(b"bench tracker key");
    let li = LineItemId::new();
    let mut g = c.benchmark_group("tracker");
    g.bench_function("sign", |bench| {
        let mut n = 0u64;
        bench.iter(|| {
            n += 1;
            black_box(key.sign(BidId(n), li, black_box("creative-17"), 1_772_452_800))
        })
    });
    g.finish();

    let b = bidder();
    let requests = workload_requests();
    let mut now = T0;
    let mut n: u64 = 0;
    let mut tick = |b: &Bidder| {
        now += 1;
        n += 1;
        if n.is_multiple_of(4096) {
            b.maintain(now);
        }
        now
    };

    let mut g = c.benchmark_group("parse");
    for (name, body) in &requests {
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_function(*name, |bench| {
            bench.iter(|| black_box(parse_bid_request(black_box(body.as_bytes()), 262_144).is_ok()))
        });
    }
    g.finish();

    // The reference the reader replaced: serde_json's derive on the same types.
    let mut g = c.benchmark_group("parse_serde_json");
    for (name, body) in &requests {
        g.throughput(Throughput::Bytes(body.len() as u64));
        g.bench_function(*name, |bench| {
            bench.iter(|| {
                black_box(
                    serde_json::from_slice::<BidRequest<'_>>(black_box(body.as_bytes())).is_ok(),
                )
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("decide_1000_line_items");
    for (name, body) in &requests {
        let req = parse_bid_request(body.as_bytes(), 262_144).expect("workload requests are valid");
        g.bench_function(*name, |bench| {
            bench.iter(|| {
                let t = tick(&b);
                black_box(b.decide(black_box(&req), RequestContext::at(t)).is_bid())
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("parse_decide_serialise_1000_line_items");
    for (name, body) in &requests {
        g.bench_function(*name, |bench| {
            bench.iter(|| {
                let t = tick(&b);
                black_box(
                    b.handle_bid_request(black_box(body.as_bytes()), RequestContext::at(t))
                        .status(),
                )
            })
        });
    }
    g.finish();

    let tracked = tracked_bidder();
    let mut g = c.benchmark_group("parse_decide_serialise_1000_line_items_with_trackers");
    for (name, body) in &requests {
        g.bench_function(*name, |bench| {
            bench.iter(|| {
                let t = tick(&tracked);
                black_box(
                    tracked
                        .handle_bid_request(black_box(body.as_bytes()), RequestContext::at(t))
                        .status(),
                )
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
