//! Unit tests of the notice module: price and URL parsing, bid ids and the
//! ledger's state machine.

use kiki_core::Currency;

use super::ledger::SHARDS;
use super::*;
use crate::error::BidderError;
use crate::freq::{mix64, unmix64};
use crate::lineitem::LineItemId;

#[test]
fn auction_prices_parse_exactly_to_micros() {
    let cases: &[(&str, i64)] = &[
        ("1.25", 1_250_000),
        ("0.000001", 1),
        ("0.0000005", 1),
        ("0.0000004", 0),
        ("2", 2_000_000),
        (".5", 500_000),
        ("5.", 5_000_000),
        ("1.5e1", 15_000_000),
        ("125E-2", 1_250_000),
        ("+3.1", 3_100_000),
        (" 7.000000 ", 7_000_000),
        ("0", 0),
        ("0.123456789012345678901234567890123", 123_457),
    ];
    for (s, want) in cases {
        assert_eq!(parse_cpm_micros(s), Ok(*want), "{s}");
    }
}

#[test]
fn bad_auction_prices_are_refused_with_a_reason() {
    assert_eq!(
        parse_cpm_micros("${AUCTION_PRICE}"),
        Err(BidderError::PriceMacroNotSubstituted)
    );
    for bad in [
        "", "-1", "abc", "1.2.3", "1e", "1e999", "NaN", "inf", "0x10", "1,5", "1e7", ".",
    ] {
        assert!(
            matches!(parse_cpm_micros(bad), Err(BidderError::InvalidPrice(_))),
            "{bad}: {:?}",
            parse_cpm_micros(bad)
        );
    }
}

#[test]
fn notice_urls_carry_the_bid_and_parse_back() {
    let li = LineItemId::new();
    let urls = NoticeUrls::build(
        "https://bid.example/",
        BidId(0xabc),
        "imp 1&x",
        li,
        Currency::EUR,
        true,
    );
    assert!(
        urls.nurl()
            .starts_with("https://bid.example/openrtb2/win?bid=0000000000000abc&imp=imp%201%26x")
    );
    assert!(urls.lurl().contains("&loss=${AUCTION_LOSS}"));
    assert!(urls.burl().contains("/openrtb2/billing?"));
    // The three share the query; only the loss URL adds the loss code.
    assert_eq!(
        urls.burl().split_once('?').unwrap().1,
        urls.nurl().split_once('?').unwrap().1
    );
    assert_eq!(
        urls.lurl().split_once('?').unwrap().1,
        format!(
            "{}&loss=${{AUCTION_LOSS}}",
            urls.nurl().split_once('?').unwrap().1
        )
    );
    let query = urls
        .nurl()
        .split_once('?')
        .unwrap()
        .1
        .replace("${AUCTION_PRICE}", "1.5");
    let p = NoticeParams::parse_query(&query).unwrap();
    assert_eq!(p.bid_id, "0000000000000abc");
    assert_eq!(p.imp_id.as_deref(), Some("imp 1&x"));
    assert_eq!(p.line_item, Some(li));
    assert_eq!(p.currency, Some(Currency::EUR));
    assert_eq!(p.price.as_deref(), Some("1.5"));
    assert!(p.test);
}

#[test]
fn malformed_notice_queries_are_refused() {
    assert!(NoticeParams::parse_query("price=1").is_err());
    assert!(NoticeParams::parse_query("bid=1&li=not-a-uuid").is_err());
    assert!(NoticeParams::parse_query("bid=1&cur=dollars").is_err());
    assert!(NoticeParams::parse_query("bid=%zz&price=%").is_ok());
}

/// A bid id may be 256 characters (the API document's `maxLength`), whatever
/// their UTF-8 length; the 257th is refused.
#[test]
fn a_bid_id_is_limited_in_characters() {
    let wide = "é".repeat(256);
    assert!(NoticeParams::parse_query(&format!("bid={wide}")).is_ok());
    let long = "é".repeat(257);
    assert!(NoticeParams::parse_query(&format!("bid={long}")).is_err());
}

#[test]
fn bid_ids_are_unique_and_lead_back_to_their_open_bid() {
    for z in [0u64, 1, 42, u64::MAX, 0x0123_4567_89ab_cdef] {
        assert_eq!(unmix64(mix64(z)), z);
    }
    let l = NoticeLedger::new(NoticeConfig::default(), 0xfeed);
    let ids: Vec<BidId> = (0..10_000)
        .map(|k| l.issue(k, |id| bid(id, false)))
        .collect();
    let unique: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), 10_000);
    for (k, id) in ids.iter().enumerate() {
        let (shard, seq) = l.locate(id.0);
        assert_eq!(seq * SHARDS + shard as u64, k as u64);
    }
    let id = ids[7];
    assert_eq!(BidId::parse(&id.to_string()), Some(id));
    assert_eq!(BidId::key_of(&id.to_string()), id.0);
    assert_ne!(BidId::key_of("foreign-id"), BidId::key_of("foreign-id2"));
    // Another replica's ids (another seed) are not found here.
    let other = NoticeLedger::new(NoticeConfig::default(), 0xbeef);
    let foreign = other.issue(0, |id| bid(id, false));
    let mut n = notice(NoticeKind::Win, foreign.0, Some(1_000_000));
    n.line_item = Some(LineItemId::from(uuid::Uuid::from_u128(7)));
    assert_eq!(l.apply(n, 2_000).status, NoticeStatus::Unmatched);
}

#[test]
fn a_bid_nobody_answers_is_let_go_at_its_hold_timeout() {
    let l = NoticeLedger::new(NoticeConfig::default(), 0);
    for k in 0..1_000 {
        l.issue(k, |id| bid(id, false));
    }
    assert_eq!(l.len(), 1_000);
    let released = l.expire(1_000 + 60_000);
    // Every hold goes back, as one release for the line item and day.
    assert_eq!(
        released,
        vec![Effect::Release {
            line_item: LineItemId::from(uuid::Uuid::from_u128(7)),
            hold_day: 1,
            hold_micros: 1_000 * 3_000
        }]
    );
    assert_eq!(l.len(), 0, "and no id stays for the retention period");
}

fn bid(id: BidId, test: bool) -> IssuedBid {
    IssuedBid {
        bid_id: id,
        line_item: LineItemId::from(uuid::Uuid::from_u128(7)),
        hold_micros: 3_000,
        hold_day: 1,
        price_micros: 3_000_000,
        freq: None,
        issued_ms: 1_000,
        test,
    }
}

/// The key of the `label`-th bid a ledger with seed 0 issues (labels from 1).
fn key(label: u64) -> u64 {
    mix64(label - 1)
}

fn issued(ledger: &NoticeLedger, label: u64, test: bool) -> IssuedBid {
    let b = bid(BidId(key(label)), test);
    let id = ledger.issue(label - 1, |_| b);
    assert_eq!(id, b.bid_id, "bids are issued in label order");
    b
}

fn notice(kind: NoticeKind, key: u64, price: Option<i64>) -> Notice {
    Notice {
        kind,
        key,
        line_item: None,
        price_micros: price,
        test: false,
    }
}

#[test]
fn counts_another_replica_made_are_dropped_and_the_hold_released() {
    let l = NoticeLedger::new(NoticeConfig::default(), 0);
    let b = issued(&l, 1, false);
    let mut o = l.apply(notice(NoticeKind::Win, key(1), Some(2_000_000)), 2_000);
    assert_eq!(
        o.claims(),
        Claims {
            spend: true,
            impression: true
        }
    );
    // Nothing lost: unchanged.
    let kept = o.clone();
    o.counted_elsewhere(Claims::default());
    assert_eq!(o, kept);
    // Another replica counted both: the hold goes back, nothing is counted.
    o.counted_elsewhere(Claims {
        spend: true,
        impression: true,
    });
    assert_eq!(o.status, NoticeStatus::Duplicate);
    assert_eq!(o.spend_micros, None);
    assert_eq!(
        o.effects.as_slice(),
        &[Effect::Release {
            line_item: b.line_item,
            hold_day: 1,
            hold_micros: 3_000
        }]
    );
    assert_eq!(o.claims(), Claims::default());

    // Only the spend was counted elsewhere: the impression still counts here.
    let l = NoticeLedger::new(NoticeConfig::default(), 0);
    issued(&l, 1, false);
    let mut o = l.apply(notice(NoticeKind::Win, key(1), Some(2_000_000)), 2_000);
    o.counted_elsewhere(Claims {
        spend: true,
        impression: false,
    });
    assert_eq!(o.status, NoticeStatus::Applied);
    assert_eq!(
        o.claims(),
        Claims {
            spend: false,
            impression: true
        }
    );
    assert!(
        o.effects
            .iter()
            .any(|e| matches!(e, Effect::Release { .. }))
    );

    // An unmatched win whose spend another replica counted has nothing left.
    let l = NoticeLedger::new(NoticeConfig::default(), 0);
    let mut n = notice(NoticeKind::Win, key(9), Some(1_000_000));
    n.line_item = Some(b.line_item);
    let mut o = l.apply(n, 2_000);
    assert_eq!(o.status, NoticeStatus::Unmatched);
    o.counted_elsewhere(Claims {
        spend: true,
        impression: true,
    });
    assert_eq!((o.status, o.effects.len()), (NoticeStatus::Duplicate, 0));
}

#[test]
fn a_win_settles_the_hold_once_and_repeats_are_duplicates() {
    let l = NoticeLedger::new(NoticeConfig::default(), 0);
    let b = issued(&l, 1, false);
    let o = l.apply(notice(NoticeKind::Win, key(1), Some(2_000_000)), 2_000);
    assert_eq!(o.status, NoticeStatus::Applied);
    assert_eq!(o.spend_micros, Some(2_000));
    assert!(o.effects.contains(&Effect::Settle {
        line_item: b.line_item,
        hold_day: 1,
        hold_micros: 3_000,
        spend_micros: 2_000
    }));
    let again = l.apply(notice(NoticeKind::Win, key(1), Some(2_000_000)), 2_100);
    assert_eq!(
        (again.status, again.effects.len()),
        (NoticeStatus::Duplicate, 0)
    );
    let bill = l.apply(notice(NoticeKind::Billing, key(1), Some(2_000_000)), 2_200);
    assert!(
        bill.effects.is_empty(),
        "billing after a win settled on win adds nothing"
    );
    let loss = l.apply(notice(NoticeKind::Loss, key(1), None), 2_300);
    assert_eq!(loss.status, NoticeStatus::Conflicting);
}

#[test]
fn clearing_price_above_the_bid_is_refused() {
    // The bid is 3.00 CPM; the exchange reports 1,000,000.
    let l = NoticeLedger::new(NoticeConfig::default(), 0);
    let b = issued(&l, 1, false);
    let o = l.apply(
        notice(NoticeKind::Win, key(1), Some(1_000_000_000_000)),
        2_000,
    );
    assert_eq!(o.status, NoticeStatus::Refused);
    assert!(o.effects.is_empty(), "nothing is booked: {:?}", o.effects);
    assert_eq!(o.spend_micros, None);
    assert_eq!(
        o.anomaly,
        Some(NoticeAnomaly {
            reason: AnomalyReason::PriceAboveBid,
            bid_id: b.bid_id,
            line_item: b.line_item,
            bid_price_micros: 3_000_000,
            reported_price_micros: 1_000_000_000_000,
        })
    );
    // One micro above the bid is refused as well, a billing notice too.
    let o = l.apply(notice(NoticeKind::Billing, key(1), Some(3_000_001)), 2_001);
    assert_eq!(o.status, NoticeStatus::Refused);
    // The bid kept its state: a win at exactly the bid price settles it.
    let o = l.apply(notice(NoticeKind::Win, key(1), Some(3_000_000)), 2_002);
    assert_eq!(o.status, NoticeStatus::Applied);
    assert_eq!(o.spend_micros, Some(3_000));
    assert!(o.effects.contains(&Effect::Settle {
        line_item: b.line_item,
        hold_day: 1,
        hold_micros: 3_000,
        spend_micros: 3_000
    }));
    assert_eq!(o.anomaly, None);
}

#[test]
fn with_the_billing_trigger_spend_waits_for_the_billing_notice() {
    let l = NoticeLedger::new(
        NoticeConfig {
            spend_trigger: SpendTrigger::Billing,
            ..NoticeConfig::default()
        },
        0,
    );
    issued(&l, 1, false);
    let win = l.apply(notice(NoticeKind::Win, key(1), Some(2_000_000)), 2_000);
    assert!(
        win.effects
            .iter()
            .all(|e| !matches!(e, Effect::Settle { .. }))
    );
    assert!(
        win.effects
            .iter()
            .any(|e| matches!(e, Effect::CountImpression { .. }))
    );
    let bill = l.apply(notice(NoticeKind::Billing, key(1), None), 3_000);
    assert_eq!(
        bill.spend_micros,
        Some(2_000),
        "billing without a price uses the win price"
    );
    // A won bid never billed is released after the billing timeout.
    issued(&l, 2, false);
    l.apply(notice(NoticeKind::Win, key(2), Some(1_000_000)), 2_000);
    assert!(l.expire(1_000 + 60_000).is_empty());
    let released = l.expire(1_000 + 60_000 + 600_000);
    assert!(matches!(
        released[..],
        [Effect::Release {
            hold_micros: 3_000,
            ..
        }]
    ));
}

#[test]
fn a_loss_releases_the_hold_and_an_expired_hold_is_released_once() {
    let l = NoticeLedger::new(NoticeConfig::default(), 0);
    issued(&l, 1, false);
    let o = l.apply(notice(NoticeKind::Loss, key(1), None), 1_500);
    assert!(matches!(
        o.effects[..],
        [Effect::Release {
            hold_micros: 3_000,
            ..
        }]
    ));
    issued(&l, 2, false);
    let expired = l.expire(61_000);
    assert_eq!(expired.len(), 1, "only bid 2 was still holding");
    assert!(l.expire(62_000).is_empty());
    // The bid was let go at its timeout; the URL's line item and price count.
    let mut n = notice(NoticeKind::Win, key(2), Some(1_000_000));
    n.line_item = Some(LineItemId::from(uuid::Uuid::from_u128(7)));
    let late = l.apply(n, 70_000);
    assert_eq!(late.status, NoticeStatus::Late);
    let again = l.apply(n, 70_001);
    assert_eq!(
        (again.status, again.effects.len()),
        (NoticeStatus::Duplicate, 0)
    );
    assert!(late.effects.iter().any(|e| matches!(
        e,
        Effect::SpendUnheld {
            spend_micros: 1_000,
            ..
        }
    )));
}

#[test]
fn a_win_for_an_unknown_bid_is_flagged_counted_once_and_remembered() {
    let l = NoticeLedger::new(NoticeConfig::default(), 0);
    let li = LineItemId::new();
    let n = Notice {
        kind: NoticeKind::Win,
        key: 99,
        line_item: Some(li),
        price_micros: Some(4_000_000),
        test: false,
    };
    let o = l.apply(n, 1_000);
    assert_eq!(o.status, NoticeStatus::Unmatched);
    assert!(o.effects.contains(&Effect::SpendUnheld {
        line_item: li,
        spend_micros: 4_000
    }));
    let again = l.apply(n, 1_001);
    assert_eq!(
        (again.status, again.effects.len()),
        (NoticeStatus::Duplicate, 0)
    );
    assert_eq!(l.len(), 1);
    l.expire(1_000 + 3_600_000);
    assert_eq!(l.len(), 0, "forgotten after the retention period");
}

#[test]
fn test_bids_are_recorded_but_never_spend() {
    let l = NoticeLedger::new(NoticeConfig::default(), 0);
    issued(&l, 1, true);
    let o = l.apply(notice(NoticeKind::Win, key(1), Some(2_000_000)), 2_000);
    assert_eq!((o.status, o.effects.len()), (NoticeStatus::Test, 0));
    assert!(l.expire(100_000).is_empty());
}
