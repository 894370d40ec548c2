//! Times 100,000 bid requests (parse + decide + serialise) against 1,000 active
//! line items and prints p50/p90/p99/p99.9 from a log-linear histogram, per
//! request kind and overall, plus decide-only figures.
//!
//! `cargo run --release -p kiki-bidder --example latency`

use std::time::Instant;

use kiki_bidder::openrtb::parse_bid_request;
use kiki_bidder::sim::{workload_line_items, workload_requests};
use kiki_bidder::{Bidder, BidderConfig, RequestContext};

/// Buckets with 1 % relative width from 10 ns to ~10 ms.
struct Histogram {
    counts: Vec<u64>,
    total: u64,
}

const BASE_NS: f64 = 10.0;
const GROWTH: f64 = 1.01;

impl Histogram {
    fn new() -> Self {
        Histogram {
            counts: vec![0; 1400],
            total: 0,
        }
    }
    fn record(&mut self, ns: u64) {
        let i = ((ns.max(10) as f64 / BASE_NS).ln() / GROWTH.ln()) as usize;
        let i = i.min(self.counts.len() - 1);
        self.counts[i] += 1;
        self.total += 1;
    }
    fn quantile(&self, q: f64) -> f64 {
        let target = (q * self.total as f64).ceil() as u64;
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= target {
                return BASE_NS * GROWTH.powi(i as i32 + 1);
            }
        }
        f64::NAN
    }
    fn line(&self, name: &str) -> String {
        format!(
            "{name:<28} n={:>7}  p50={:>7.2} µs  p90={:>7.2} µs  p99={:>7.2} µs  p99.9={:>7.2} µs",
            self.total,
            self.quantile(0.50) / 1e3,
            self.quantile(0.90) / 1e3,
            self.quantile(0.99) / 1e3,
            self.quantile(0.999) / 1e3
        )
    }
}

fn main() {
    let t0 = 1_772_452_800_000;
    let b = Bidder::in_memory(BidderConfig::default(), 42).expect("default config is valid");
    let report = b.load_line_items(&workload_line_items(1_000, 1), t0);
    println!("active line items: {}", report.active);
    let requests = workload_requests();
    let mut per_kind: Vec<Histogram> = requests.iter().map(|_| Histogram::new()).collect();
    let mut all = Histogram::new();
    let mut decide_only = Histogram::new();
    let mut decide_kind: Vec<Histogram> = requests.iter().map(|_| Histogram::new()).collect();
    let mut bids = 0u64;
    let n = 100_000;
    let mut now = t0;
    // Warm up caches and the allocator.
    for (_, body) in &requests {
        for _ in 0..1_000 {
            b.handle_bid_request(body.as_bytes(), RequestContext::at(now));
        }
    }
    for i in 0..n {
        now += 1;
        if i % 4096 == 0 {
            b.maintain(now);
        }
        let k = i % requests.len();
        let body = requests[k].1.as_bytes();
        let start = Instant::now();
        let reply = b.handle_bid_request(body, RequestContext::at(now));
        let ns = start.elapsed().as_nanos() as u64;
        bids += u64::from(reply.status() == 200);
        per_kind[k].record(ns);
        all.record(ns);
        let req = parse_bid_request(body, 262_144).expect("workload requests are valid");
        let start = Instant::now();
        let d = b.decide(&req, RequestContext::at(now));
        let ns = start.elapsed().as_nanos() as u64;
        decide_only.record(ns);
        decide_kind[k].record(ns);
        std::hint::black_box(d.is_bid());
    }
    println!("parse + decide + serialise, {n} requests, {bids} answered with a bid:");
    for (h, (name, _)) in per_kind.iter().zip(&requests) {
        println!("  {}", h.line(name));
    }
    println!("  {}", all.line("all"));
    println!("decide only (request already parsed):");
    for (h, (name, _)) in decide_kind.iter().zip(&requests) {
        println!("  {}", h.line(name));
    }
    println!("  {}", decide_only.line("all"));
}
