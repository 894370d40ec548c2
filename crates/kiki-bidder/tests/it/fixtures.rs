//! Every request under tests/fixtures/ against the fixture catalogue: the expected
//! status, `nbr`, bids or reason are in tests/fixtures/expected.json.

use std::collections::BTreeMap;
use std::path::PathBuf;

use kiki_bidder::engine::Decision;
use kiki_bidder::openrtb::{MAX_BODY_BYTES, ParsedBidResponse, parse_bid_request};
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
            assert_written_as_serialised(name, &fs_body(name), body.as_slice(), &decision);
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

/// The hand-written response is the document serde writes for
/// [`Decision::response`](kiki_bidder::engine::Decision::response).
fn assert_written_as_serialised(name: &str, req_body: &[u8], body: &[u8], decision: &Decision) {
    let req = parse_bid_request(req_body, MAX_BODY_BYTES).unwrap();
    let want = serde_json::to_value(decision.response(&req, "kiki").unwrap()).unwrap();
    let got: serde_json::Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{name}: the response is not JSON ({e})"));
    assert_eq!(got, want, "{name}");
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

#[test]
fn ids_that_need_escaping_are_written_as_serde_writes_them() {
    let b = bidder();
    let mut bids = 0;
    for entry in std::fs::read_dir(dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name == "expected.json" || !name.ends_with(".json") {
            continue;
        }
        let Ok(mut req) = serde_json::from_slice::<serde_json::Value>(&fs_body(&name)) else {
            continue;
        };
        if !req.is_object() || !req["imp"].is_array() {
            continue;
        }
        // Quotes, backslashes, control and non-ASCII characters in the ids the
        // response echoes.
        req["id"] = "r\"1\\\n\u{1}é\u{2028}😀".into();
        if let Some(imp) = req["imp"].get_mut(0) {
            imp["id"] = "i\"\t€".into();
        }
        let body = serde_json::to_vec(&req).unwrap();
        if let BidReply::Bid {
            body: out,
            decision,
        } = b.handle_bid_request(&body, RequestContext::at(NOW))
        {
            assert_written_as_serialised(&name, &body, &out, &decision);
            bids += 1;
        }
    }
    assert!(bids >= 5, "only {bids} fixtures bid");
}
