//! A bounded, seeded mutation loop over the fixtures: truncations, bit flips,
//! inserted and duplicated slices, swapped tokens. It runs on stable in every
//! test run; the cargo-fuzz target in fuzz/ explores the same path unbounded.

use kiki_bidder::{BidReply, RequestContext};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::support::{NOW, bidder};

const TOKENS: &[&[u8]] = &[
    b"null",
    b"[]",
    b"{}",
    b"\"\"",
    b"-1",
    b"1e309",
    b"0.0000001",
    b"\"\\u0000\"",
    b"\"\\ud800\"",
    b"true",
    b"[[[[[[[[",
    b"}}}}",
    b"\"imp\"",
    b"\"banner\"",
    b"99999999999999999999",
];

fn mutate(rng: &mut StdRng, input: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..rng.random_range(1..4) {
        if v.is_empty() {
            v.extend_from_slice(TOKENS[rng.random_range(0..TOKENS.len())]);
            continue;
        }
        let at = rng.random_range(0..v.len());
        match rng.random_range(0..6) {
            0 => v.truncate(at),
            1 => v[at] ^= 1 << rng.random_range(0..8),
            2 => {
                let t = TOKENS[rng.random_range(0..TOKENS.len())];
                v.splice(at..at, t.iter().copied());
            }
            3 => {
                let end = (at + rng.random_range(1..32)).min(v.len());
                let slice = v[at..end].to_vec();
                v.splice(at..at, slice);
            }
            4 => {
                let end = (at + rng.random_range(1..16)).min(v.len());
                v.drain(at..end);
            }
            _ => v[at] = rng.random(),
        }
    }
    v
}

#[test]
fn mutated_fixtures_never_panic_and_always_get_a_well_formed_answer() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    let b = bidder();
    let mut rng = StdRng::seed_from_u64(2026);
    let mut statuses = [0usize; 4];
    for i in 0..20_000 {
        let input = mutate(&mut rng, &seeds[i % seeds.len()]);
        let reply = b.handle_bid_request(&input, RequestContext::at(NOW));
        match &reply {
            BidReply::Bid { body, .. } => {
                assert!(serde_json::from_slice::<serde_json::Value>(body).is_ok());
                statuses[0] += 1;
            }
            BidReply::NoBid { .. } => statuses[1] += 1,
            BidReply::Rejected { status, reason } => {
                assert_eq!(*status, 400, "{reason}");
                assert!(!reason.contains('\n'));
                statuses[2] += 1;
            }
        }
        b.maintain(NOW + i as i64);
    }
    // The loop must reach past the parser, not only produce 400s.
    assert!(
        statuses[0] > 100 && statuses[1] > 100 && statuses[2] > 100,
        "{statuses:?}"
    );
}
