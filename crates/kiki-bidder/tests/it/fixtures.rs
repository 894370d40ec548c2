//! Every request under tests/fixtures/ against the fixture catalogue: the expected
//! status, `nbr`, bids or reason are in tests/fixtures/expected.json.

use std::collections::BTreeMap;
use std::path::PathBuf;

use kiki_bidder::openrtb::ParsedBidResponse;
use kiki_bidder::{BidReply, RequestContext};
use serde::Deserialize;

use crate::support::{NOW, bidder};

#[derive(Debug, Deserialize)]
struct Expected {
    status: u16,
    #[serde(default)]
    nbr: Option<u16>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    cur: Option<String>,
    #[serde(default)]
    bids: Vec<ExpectedBid>,
}

#[derive(Debug, Deserialize)]
struct ExpectedBid {
    impid: String,
    crid: String,
    mtype: u8,
    #[serde(default)]
    dealid: Option<String>,
    #[serde(default)]
    min_price: Option<f64>,
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn check(name: &str, body: &[u8], want: &Expected) {
    let b = bidder();
    let reply = b.handle_bid_request(body, RequestContext::at(NOW));
    assert_eq!(reply.status(), want.status, "{name}: {reply:?}");
    match reply {
        BidReply::Rejected { reason, .. } => {
            let part = want.reason.as_deref().unwrap_or("<no reason expected>");
            assert!(
                reason.contains(part),
                "{name}: reason `{reason}` lacks `{part}`"
            );
            assert!(!reason.contains('\n'));
        }
        BidReply::NoBid { reason, body } => {
            assert_eq!(Some(reason.nbr()), want.nbr, "{name}: {reason}");
            assert!(body.is_none(), "204 has no body");
        }
        BidReply::Bid { body, decision } => {
            let resp: ParsedBidResponse = serde_json::from_slice(&body).unwrap();
            let req: serde_json::Value = serde_json::from_slice(&fs_body(name)).unwrap();
            assert_eq!(
                resp.id,
                req["id"].as_str().unwrap(),
                "{name}: the id is echoed"
            );
            assert_eq!(
                resp.cur.as_deref(),
                Some(want.cur.as_deref().unwrap_or("USD")),
                "{name}"
            );
            let bids: Vec<_> = resp.seatbid.iter().flat_map(|s| &s.bid).collect();
            assert_eq!(resp.seatbid.len(), 1, "{name}: one seat");
            assert_eq!(resp.seatbid[0].seat.as_deref(), Some("kiki"));
            assert_eq!(bids.len(), want.bids.len(), "{name}: {bids:?}");
            for (got, exp) in bids.iter().zip(&want.bids) {
                assert_eq!(got.impid, exp.impid, "{name}");
                assert_eq!(got.crid.as_deref(), Some(exp.crid.as_str()), "{name}");
                assert_eq!(got.mtype, Some(exp.mtype), "{name}");
                assert_eq!(got.dealid, exp.dealid, "{name}");
                assert!(got.price > 0.0, "{name}");
                if let Some(min) = exp.min_price {
                    assert!(got.price >= min, "{name}: price {} below {min}", got.price);
                }
                assert!(
                    got.adm.as_deref().is_some_and(|a| !a.is_empty()),
                    "{name}: adm"
                );
                assert!(got.cid.is_some() && !got.adomain.is_empty(), "{name}");
                let nurl = got.nurl.as_deref().unwrap();
                assert!(
                    nurl.starts_with("https://bid.kiki.example/openrtb2/win?bid="),
                    "{name}: {nurl}"
                );
                assert!(
                    nurl.contains(&got.id) && nurl.contains("${AUCTION_PRICE}"),
                    "{name}"
                );
                assert!(got.burl.as_deref().unwrap().contains("/openrtb2/billing?"));
                assert!(got.lurl.as_deref().unwrap().contains("${AUCTION_LOSS}"));
            }
            for chosen in &decision.bids {
                assert!(
                    chosen.price_micros <= chosen.verdict.cap_micros,
                    "{name}: above the cap"
                );
                assert!(
                    chosen.price_micros >= chosen.floor_micros,
                    "{name}: below the floor"
                );
                assert!(!chosen.verdict.explanation().is_empty());
            }
        }
    }
}

fn fs_body(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(name)).unwrap()
}

#[test]
fn every_fixture_gives_its_expected_bid_no_bid_or_reason() {
    let expected: BTreeMap<String, Expected> =
        serde_json::from_slice(&fs_body("expected.json")).unwrap();
    let mut seen = 0;
    for entry in std::fs::read_dir(dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name == "expected.json" || !name.ends_with(".json") {
            continue;
        }
        let want = expected
            .get(&name)
            .unwrap_or_else(|| panic!("{name} has no entry in expected.json"));
        check(&name, &fs_body(&name), want);
        seen += 1;
    }
    assert_eq!(
        seen,
        expected.len(),
        "expected.json names a fixture that does not exist"
    );
    assert!(seen >= 30);
}
