//! End-to-end behaviour of the engine: notices and spend, caps, budgets,
//! schedules, valuation, MarginGuardian, shading, currencies and snapshots.

use kiki_bidder::lineitem::*;
use kiki_bidder::margin::{MarginPolicy, RiskLevel};
use kiki_bidder::notice::{NoticeKind, NoticeStatus};
use kiki_bidder::valuation::{PerformanceTotals, SegmentData, SegmentTable};
use kiki_bidder::{BidReply, Bidder, BidderDeps, NoBidReason, RequestContext};
use kiki_core::OrgId;
use std::sync::Arc;
use time::macros::datetime;

use crate::support::*;

fn banner_req(id: &str, extra: &str) -> String {
    format!(
        r#"{{"id":"{id}","imp":[{{"id":"1","banner":{{"w":300,"h":250}},"bidfloor":0.1}}],"site":{{"domain":"news.example"}},"device":{{"devicetype":2,"geo":{{"country":"USA"}}}},"user":{{"id":"u1"}}{extra}}}"#
    )
}

fn only(item: LineItem) -> Bidder {
    bidder_with(&[item], config())
}

fn plain() -> LineItem {
    base_item("plain", CreativeFormat::Banner { w: 300, h: 250 })
}

fn bid(b: &Bidder, body: &str, now: i64) -> Result<kiki_bidder::Decision, NoBidReason> {
    match b.handle_bid_request(body.as_bytes(), RequestContext::at(now)) {
        BidReply::Bid { decision, .. } => Ok(*decision),
        BidReply::NoBid { reason, .. } => Err(reason),
        BidReply::Rejected { reason, .. } => panic!("rejected: {reason}"),
    }
}

fn notice_query(url: &str, price: &str) -> String {
    url.split_once('?')
        .unwrap()
        .1
        .replace("${AUCTION_PRICE}", price)
        .replace("${AUCTION_LOSS}", "102")
}

#[test]
fn a_win_notice_turns_the_hold_into_spend_once() {
    let item = plain();
    let id = item.id;
    let b = only(item);
    let d = bid(&b, &banner_req("r1", ""), NOW).unwrap();
    let chosen = &d.bids[0];
    let status = b.line_item_status(id, NOW).unwrap();
    assert_eq!(status.account.held.micros, chosen.hold_micros);
    let q = notice_query(chosen.urls.nurl(), "1.500000");
    let first = b.handle_notice(NoticeKind::Win, &q, NOW + 100).unwrap();
    assert_eq!(
        (first.status, first.spend_micros),
        (NoticeStatus::Applied, Some(1_500))
    );
    let again = b.handle_notice(NoticeKind::Win, &q, NOW + 200).unwrap();
    assert_eq!(again.status, NoticeStatus::Duplicate);
    let s = b.line_item_status(id, NOW).unwrap();
    assert_eq!((s.spent_today.micros, s.account.held.micros), (1_500, 0));
    assert_eq!(s.performance.impressions, 1);
}

#[test]
fn a_loss_notice_releases_the_hold_and_spends_nothing() {
    let item = plain();
    let id = item.id;
    let b = only(item);
    let d = bid(&b, &banner_req("r1", ""), NOW).unwrap();
    let q = notice_query(d.bids[0].urls.lurl(), "3.0");
    b.handle_notice(NoticeKind::Loss, &q, NOW + 50).unwrap();
    let s = b.line_item_status(id, NOW).unwrap();
    assert_eq!((s.spent_today.micros, s.account.held.micros), (0, 0));
}

#[test]
fn test_requests_bid_but_never_spend() {
    let item = plain();
    let id = item.id;
    let b = only(item);
    let d = bid(&b, &banner_req("r1", r#","test":1"#), NOW).unwrap();
    assert!(d.test && d.bids[0].urls.nurl().contains("&test=1"));
    let q = notice_query(d.bids[0].urls.nurl(), "2.0");
    let o = b.handle_notice(NoticeKind::Win, &q, NOW + 10).unwrap();
    assert_eq!(o.status, NoticeStatus::Test);
    assert_eq!(b.line_item_status(id, NOW).unwrap().spent_today.micros, 0);
}

#[test]
fn a_win_for_an_unknown_bid_is_flagged_and_counted_once() {
    let item = plain();
    let id = item.id;
    let b = only(item);
    let q = format!("bid=ffffffffffffffff&imp=1&li={id}&cur=USD&price=2.5");
    let o = b.handle_notice(NoticeKind::Win, &q, NOW).unwrap();
    assert_eq!(o.status, NoticeStatus::Unmatched);
    assert_eq!(
        b.handle_notice(NoticeKind::Win, &q, NOW + 1)
            .unwrap()
            .status,
        NoticeStatus::Duplicate
    );
    assert_eq!(
        b.line_item_status(id, NOW).unwrap().spent_today.micros,
        2_500
    );
}

#[test]
fn a_notice_without_a_substituted_price_is_refused() {
    let b = only(plain());
    let d = bid(&b, &banner_req("r1", ""), NOW).unwrap();
    let q = d.bids[0].urls.nurl().split_once('?').unwrap().1.to_owned();
    let err = b.handle_notice(NoticeKind::Win, &q, NOW).unwrap_err();
    assert_eq!(err.http_status(), 400);
    assert!(err.to_string().contains("AUCTION_PRICE"));
}

#[test]
fn a_frequency_cap_stops_bids_once_the_user_has_seen_enough() {
    let mut item = plain();
    item.frequency_cap = Some(FrequencyCap {
        max_impressions: 2,
        window_secs: 3600,
    });
    let b = only(item);
    for i in 0..2 {
        let d = bid(&b, &banner_req(&format!("r{i}"), ""), NOW + i).unwrap();
        let q = notice_query(d.bids[0].urls.nurl(), "1.0");
        b.handle_notice(NoticeKind::Win, &q, NOW + i).unwrap();
    }
    assert_eq!(
        bid(&b, &banner_req("r3", ""), NOW + 10).unwrap_err(),
        NoBidReason::FrequencyCapped
    );
    assert_eq!(NoBidReason::FrequencyCapped.nbr(), 9);
    // Another user is not capped, and the first is free again after the window.
    assert!(bid(&b, &banner_req("r4", "").replace("u1", "u2"), NOW + 10).is_ok());
    assert!(bid(&b, &banner_req("r5", ""), NOW + 3_600_000).is_ok());
}

#[test]
fn a_us_privacy_opt_out_means_no_user_level_data() {
    let mut item = plain();
    item.frequency_cap = Some(FrequencyCap {
        max_impressions: 5,
        window_secs: 60,
    });
    let b = only(item);
    let r = bid(
        &b,
        &banner_req("r1", r#","regs":{"us_privacy":"1YYN"}"#),
        NOW,
    );
    assert_eq!(r.unwrap_err(), NoBidReason::UnmatchedUser);
}

#[test]
fn gdpr_without_consent_is_refused_outright_when_contextual_bids_are_off() {
    let mut cfg = config();
    cfg.privacy.contextual_without_consent = false;
    let b = bidder_with(&[plain()], cfg);
    let r = bid(&b, &banner_req("r1", r#","regs":{"gdpr":1}"#), NOW);
    assert_eq!(r.unwrap_err(), NoBidReason::NoConsent);
    let consented = banner_req("r2", r#","regs":{"gdpr":1}"#).replace(
        r#""user":{"id":"u1"}"#,
        r#""user":{"id":"u1","consent":"CPabc"}"#,
    );
    assert!(bid(&b, &consented, NOW).is_ok());
}

#[test]
fn the_daily_budget_is_never_exceeded_by_holds() {
    let mut item = plain();
    item.budget.daily = usd(0.01); // 10 000 micros: four bids of ~2 400 micros each
    let id = item.id;
    let b = only(item);
    let mut placed = 0;
    let mut last = None;
    for i in 0..10 {
        match bid(&b, &banner_req(&format!("r{i}"), ""), NOW) {
            Ok(d) => {
                placed += 1;
                last = Some(d.bids[0].hold_micros);
            }
            Err(r) => assert!(
                matches!(r, NoBidReason::BudgetExhausted | NoBidReason::Paced),
                "{r}"
            ),
        }
    }
    let s = b.line_item_status(id, NOW).unwrap();
    assert!(placed >= 1 && s.account.held.micros <= 10_000, "{s:?}");
    assert!(
        s.account.held.micros + last.unwrap() > 10_000,
        "stopped only when the next bid would not fit"
    );
}

#[test]
fn the_total_budget_caps_every_day_together() {
    let mut item = plain();
    item.pacing = PacingMode::Asap;
    item.budget.total = Some(usd(0.005));
    let b = only(item);
    let mut reasons = vec![];
    for i in 0..5 {
        if let Err(r) = bid(&b, &banner_req(&format!("r{i}"), ""), NOW) {
            reasons.push(r);
        }
    }
    assert!(
        reasons.contains(&NoBidReason::BudgetExhausted),
        "{reasons:?}"
    );
}

#[test]
fn flight_dates_and_dayparts_are_enforced() {
    let mut future = plain();
    future.flight.start = datetime!(2026-04-01 00:00 UTC);
    assert_eq!(
        bid(&only(future), &banner_req("r", ""), NOW).unwrap_err(),
        NoBidReason::NotScheduled
    );

    let mut ended = plain();
    ended.flight.end = Some(datetime!(2026-02-01 00:00 UTC));
    let b = Bidder::in_memory(config(), 1).unwrap();
    let report = b.load_line_items(&[ended], NOW);
    assert_eq!((report.active, report.skipped), (0, 1));
    assert_eq!(
        bid(&b, &banner_req("r", ""), NOW).unwrap_err(),
        NoBidReason::NoActiveLineItems
    );

    // NOW is Monday 12:00 UTC.
    let check = |days: Vec<Weekday>, start: u8, end: u8, offset: i16, bids: bool| {
        let mut li = plain();
        li.targeting.dayparts = vec![Daypart {
            days,
            start_hour: start,
            end_hour: end,
        }];
        li.targeting.daypart_utc_offset_minutes = offset;
        let r = bid(&only(li), &banner_req("r", ""), NOW);
        assert_eq!(r.is_ok(), bids, "{r:?}");
    };
    check(vec![Weekday::Mon], 12, 13, 0, true);
    check(vec![Weekday::Mon], 9, 12, 0, false);
    check(vec![Weekday::Tue], 0, 24, 0, false);
    check(vec![Weekday::Mon], 14, 15, 120, true);
}

#[test]
fn os_category_domain_and_inventory_targeting_filter_line_items() {
    type Setter = fn(&mut LineItem);
    let cases: &[(Setter, bool)] = &[
        (|l| l.targeting.os = vec!["ios".into()], false),
        (|l| l.targeting.os = vec!["WINDOWS".into()], true),
        (
            |l| l.targeting.categories.allow = vec!["IAB12".into()],
            true,
        ),
        (
            |l| l.targeting.categories.allow = vec!["IAB3".into()],
            false,
        ),
        (
            |l| l.targeting.categories.block = vec!["IAB12".into()],
            false,
        ),
        (
            |l| l.targeting.domains.allow = vec!["www.news.example".into()],
            true,
        ),
        (
            |l| l.targeting.domains.block = vec!["news.example".into()],
            false,
        ),
        (|l| l.targeting.inventory = InventoryKind::AppOnly, false),
        (|l| l.targeting.device_types = vec![4, 5], false),
        (|l| l.targeting.device_types = vec![2], true),
    ];
    let body = r#"{"id":"r","imp":[{"id":"1","banner":{"w":300,"h":250}}],"site":{"domain":"news.example","cat":["IAB12-3"]},"device":{"devicetype":2,"os":"Windows","geo":{"country":"USA"}}}"#;
    for (i, (set, bids)) in cases.iter().enumerate() {
        let mut li = plain();
        set(&mut li);
        let r = bid(&only(li), body, NOW);
        assert_eq!(r.is_ok(), *bids, "case {i}: {r:?}");
    }
}

fn with_segments(item: LineItem, ltv: f64) -> (Bidder, LineItemId) {
    let mut data = SegmentData::new();
    data.set_segment_ltv(item.org_id, "vip", usd(ltv));
    assert!(data.assign_user(item.org_id, "u1", "vip"));
    let mut deps = BidderDeps::in_memory(9);
    deps.segments = Arc::new(SegmentTable::new(data));
    let b = Bidder::new(config(), deps).unwrap();
    let id = item.id;
    b.load_line_items(&[item], NOW);
    (b, id)
}

#[test]
fn the_users_segment_ltv_drives_the_bid_and_a_low_ltv_is_refused() {
    let base = bid(&only(plain()), &banner_req("r", ""), NOW).unwrap().bids[0].price_micros;
    let (b, _) = with_segments(plain(), 140.0);
    let d = bid(&b, &banner_req("r", ""), NOW).unwrap();
    assert_eq!(
        d.bids[0].price_micros,
        base * 140 / 120,
        "the bid scales with the segment's LTV"
    );
    assert_eq!(d.bids[0].verdict.ltv_micros, 140_000_000);
    // At LTV 240 the absolute CPA cap (100) binds: 4.80 is cut to 95 % of 4.00.
    let (b, _) = with_segments(plain(), 240.0);
    let d = bid(&b, &banner_req("r", ""), NOW).unwrap();
    assert_eq!(
        (d.bids[0].verdict.risk, d.bids[0].price_micros),
        (RiskLevel::Capped, 3_800_000)
    );
    let (b, _) = with_segments(plain(), 40.0);
    assert_eq!(
        bid(&b, &banner_req("r", ""), NOW).unwrap_err(),
        NoBidReason::MarginRefused
    );
    // Without consent the segment is not looked up: the baseline applies.
    let (b, _) = with_segments(plain(), 40.0);
    assert!(bid(&b, &banner_req("r", r#","regs":{"gdpr":1}"#), NOW).is_ok());
}

#[test]
fn value_is_ctr_times_cvr_times_ltv_times_the_bid_share() {
    // Default priors: pCTR 1/500, pCVR 1/50; LTV 120; share 0.5 → CPM 2.40.
    let d = bid(&only(plain()), &banner_req("r", ""), NOW).unwrap();
    assert_eq!(d.bids[0].price_micros, 2_400_000);
    assert_eq!(d.bids[0].verdict.risk, RiskLevel::Moderate);
    // Observed performance moves the estimate.
    let item = plain();
    let id = item.id;
    let b = only(item);
    assert!(b.set_performance(
        id,
        PerformanceTotals {
            impressions: 9_500,
            clicks: 39,
            conversions: 1
        }
    ));
    let d = bid(&b, &banner_req("r", ""), NOW).unwrap();
    let s = b.line_item_status(id, NOW).unwrap();
    assert!((s.rates.p_click - 40.0 / 10_000.0).abs() < 1e-12);
    assert!((s.rates.p_convert_after_click - 2.0 / 89.0).abs() < 1e-12);
    let want = (40.0 / 10_000.0) * (2.0 / 89.0) * 120e6 * 1000.0 * 0.5;
    assert!((d.bids[0].price_micros as f64 - want).abs() <= 1.0);
}

#[test]
fn a_price_above_the_guardian_cap_is_cut_to_95_percent_of_it() {
    let mut item = plain();
    item.bid_strategy = BidStrategy::FixedCpm { cpm: usd(10.0) };
    let d = bid(&only(item), &banner_req("r", ""), NOW).unwrap();
    let v = d.bids[0].verdict;
    // cap = 84 × 0.002 × 0.02 × 1000 = 3.36
    assert_eq!(
        (v.risk, v.cap_micros, d.bids[0].price_micros),
        (RiskLevel::Capped, 3_360_000, 3_192_000)
    );
    assert!(d.explanations()[0].starts_with("Capped"));
}

#[test]
fn an_organisation_can_have_its_own_guardian_thresholds() {
    let item = plain();
    let mut cfg = config();
    cfg.margin_per_org.insert(
        item.org_id,
        MarginPolicy {
            min_ltv_micros: 200_000_000,
            ..MarginPolicy::default()
        },
    );
    let b = bidder_with(&[item], cfg.clone());
    assert_eq!(
        bid(&b, &banner_req("r", ""), NOW).unwrap_err(),
        NoBidReason::MarginRefused
    );
    let other = bidder_with(&[plain()], cfg);
    assert!(
        bid(&other, &banner_req("r", ""), NOW).is_ok(),
        "other organisations keep the default"
    );
}

#[test]
fn first_price_bids_are_shaded_but_never_below_the_floor() {
    let b = only(plain());
    let d = bid(&b, &banner_req("r", r#","at":1"#), NOW).unwrap();
    assert_eq!(d.bids[0].shading_factor, Some(0.85));
    assert_eq!(d.bids[0].price_micros, 2_040_000);
    let high_floor =
        banner_req("r2", r#","at":1"#).replace(r#""bidfloor":0.1"#, r#""bidfloor":2.3"#);
    let d = bid(&b, &high_floor, NOW).unwrap();
    assert_eq!(d.bids[0].price_micros, 2_300_000);
    let second = bid(&b, &banner_req("r3", ""), NOW).unwrap();
    assert_eq!(second.bids[0].shading_factor, None);
}

#[test]
fn a_response_in_another_currency_converts_the_price_and_the_notice_back() {
    let item = plain();
    let id = item.id;
    let b = only(item);
    let d = bid(&b, &banner_req("r", r#","cur":["EUR"]"#), NOW).unwrap();
    assert_eq!(d.currency.as_str(), "EUR");
    assert_eq!(
        d.bids[0].response_price_micros, 2_222_222,
        "2.40 USD at 1.08"
    );
    let q = notice_query(d.bids[0].urls.nurl(), "1.0");
    assert!(q.contains("cur=EUR"));
    b.handle_notice(NoticeKind::Win, &q, NOW).unwrap();
    assert_eq!(
        b.line_item_status(id, NOW).unwrap().spent_today.micros,
        1_080
    );
}

#[test]
fn deal_only_line_items_skip_the_open_auction() {
    let mut item = plain();
    item.deals = DealTargeting {
        ids: vec!["d-9".into()],
        only: true,
    };
    let b = only(item);
    assert_eq!(
        bid(&b, &banner_req("r", ""), NOW).unwrap_err(),
        NoBidReason::NoMatchingLineItem
    );
    let with_deal = r#"{"id":"r","imp":[{"id":"1","banner":{"w":300,"h":250},"pmp":{"deals":[{"id":"d-9","bidfloor":2.0}]}}]}"#;
    let d = bid(&b, with_deal, NOW).unwrap();
    assert_eq!(
        (d.bids[0].deal_index, d.bids[0].floor_micros),
        (Some(0), 2_000_000)
    );
}

#[test]
fn a_new_snapshot_replaces_the_old_one_atomically_and_keeps_runtime_state() {
    let item = plain();
    let id = item.id;
    let b = only(item.clone());
    let d = bid(&b, &banner_req("r", ""), NOW).unwrap();
    let v1 = b.snapshot().version;
    let mut paused = item.clone();
    paused.active = false;
    let report = b.load_line_items(&[paused], NOW);
    assert_eq!((report.version, report.skipped), (v1 + 1, 1));
    assert_eq!(
        bid(&b, &banner_req("r2", ""), NOW).unwrap_err(),
        NoBidReason::NoActiveLineItems
    );
    // The win for a bid placed before the swap still settles against the same runtime.
    b.handle_notice(
        NoticeKind::Win,
        &notice_query(d.bids[0].urls.nurl(), "1.0"),
        NOW,
    )
    .unwrap();
    b.load_line_items(&[item], NOW);
    assert_eq!(
        b.line_item_status(id, NOW).unwrap().spent_today.micros,
        1_000
    );
}

#[test]
fn invalid_line_items_are_reported_and_left_out() {
    let mut bad = plain();
    bad.creatives.clear();
    let b = Bidder::in_memory(config(), 1).unwrap();
    let r = b.load_line_items(&[bad.clone(), plain()], NOW);
    assert_eq!(r.active, 1);
    assert_eq!(r.rejected.len(), 1);
    assert_eq!(r.rejected[0].id, bad.id);
    assert_eq!(r.rejected[0].errors[0].field, "creatives");
}

#[test]
fn the_no_bid_body_option_answers_200_with_the_nbr() {
    let mut cfg = config();
    cfg.no_bid_body = true;
    let b = bidder_with(&[plain()], cfg);
    let reply = b.handle_bid_request(
        banner_req("r", r#","regs":{"coppa":1}"#).as_bytes(),
        RequestContext::at(NOW),
    );
    assert_eq!(reply.status(), 200);
    assert_eq!(reply.body(), br#"{"id":"r","nbr":500}"#);
}

#[test]
fn no_bids_are_counted_by_reason_and_nbr() {
    let b = only(plain());
    for i in 0..3 {
        bid(
            &b,
            &banner_req(&format!("c{i}"), r#","regs":{"coppa":1}"#),
            NOW,
        )
        .unwrap_err();
    }
    b.handle_bid_request(b"{", RequestContext::at(NOW));
    bid(&b, &banner_req("ok", ""), NOW).unwrap();
    let s = b.stats();
    assert_eq!((s.requests, s.bid_responses, s.bids), (5, 1, 1));
    let count = |nbr: u16| {
        s.no_bids
            .iter()
            .find(|n| n.nbr == nbr)
            .map_or(0, |n| n.count)
    };
    assert_eq!((count(500), count(2)), (3, 1));
}

#[test]
fn elapsed_time_counts_against_tmax() {
    let b = only(plain());
    let ctx = RequestContext {
        now_ms: NOW + 80,
        received_at_ms: NOW,
    };
    let r = b.handle_bid_request(banner_req("r", r#","tmax":120"#).as_bytes(), ctx);
    assert!(matches!(
        r,
        BidReply::NoBid {
            reason: NoBidReason::InsufficientAuctionTime,
            ..
        }
    ));
    let ctx = RequestContext {
        now_ms: NOW + 10,
        received_at_ms: NOW,
    };
    assert_eq!(
        b.handle_bid_request(banner_req("r", r#","tmax":120"#).as_bytes(), ctx)
            .status(),
        200
    );
}

#[test]
fn holds_without_notices_expire_in_maintenance() {
    let item = plain();
    let id = item.id;
    let b = only(item);
    bid(&b, &banner_req("r", ""), NOW).unwrap();
    assert!(b.line_item_status(id, NOW).unwrap().account.held.micros > 0);
    let report = b.maintain(NOW + 61_000);
    assert_eq!(report.expired_holds, 1);
    assert_eq!(b.line_item_status(id, NOW).unwrap().account.held.micros, 0);
}

#[test]
fn segment_lookups_are_per_organisation() {
    let a = plain();
    let mut data = SegmentData::new();
    data.set_segment_ltv(OrgId::new(), "vip", usd(900.0));
    let mut deps = BidderDeps::in_memory(9);
    deps.segments = Arc::new(SegmentTable::new(data));
    let b = Bidder::new(config(), deps).unwrap();
    b.load_line_items(&[a], NOW);
    let d = bid(&b, &banner_req("r", ""), NOW).unwrap();
    assert_eq!(
        d.bids[0].verdict.ltv_micros, 120_000_000,
        "another organisation's segment is not used"
    );
}

#[test]
fn tracker_macros_become_signed_urls_in_the_hand_written_answer() {
    use kiki_bidder::tracker::{TrackerKey, TrackerQuery};
    let mut item = plain();
    item.creatives[0].markup =
        r#"<img src="${KIKI_IMP_URL}"><a href="${KIKI_CLICK_URL}https%3A%2F%2Fshop.example%2F">"ad"</a>"#
            .into();
    let id = item.id;
    let mut deps = BidderDeps::in_memory(1);
    deps.tracker_key = Some(TrackerKey::new(b"tracker test key"));
    let b = Bidder::new(config(), deps).unwrap();
    assert!(b.load_line_items(&[item], NOW).rejected.is_empty());
    let req = banner_req("r1", "");
    let BidReply::Bid { body, decision } =
        b.handle_bid_request(req.as_bytes(), RequestContext::at(NOW))
    else {
        panic!("no bid");
    };
    // The hand-written answer is the document serde writes for the decision.
    let parsed = kiki_bidder::openrtb::parse_bid_request(req.as_bytes(), 262_144).unwrap();
    let want = serde_json::to_value(decision.response(&parsed, "kiki").unwrap()).unwrap();
    let got: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(got, want);
    let adm = got["seatbid"][0]["bid"][0]["adm"].as_str().unwrap();
    assert!(!adm.contains("${KIKI_"), "{adm}");
    let bid_id = decision.bids[0].bid_id;
    let imp = adm
        .split_once("src=\"")
        .unwrap()
        .1
        .split_once('"')
        .unwrap()
        .0;
    assert!(
        imp.starts_with(&format!(
            "https://bid.kiki.example/openrtb2/imp?bid={bid_id}&li={id}&cr=plain-cr&t={}&sig=",
            NOW / 1000
        )),
        "{imp}"
    );
    let click = adm.split_once("href=\"").unwrap().1;
    assert!(click.contains("/openrtb2/click?bid="), "{click}");
    assert!(
        click.contains("&url=https%3A%2F%2Fshop.example%2F\""),
        "{click}"
    );
    // The URL verifies with the key that signed it.
    let q: Vec<(String, String)> = url_pairs(imp);
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let query = TrackerQuery {
        bid: get("bid"),
        line_item: get("li").and_then(|s| s.parse().ok()),
        creative: get("cr"),
        issued: get("t"),
        sig: get("sig"),
    };
    let key = TrackerKey::new(b"tracker test key");
    assert_eq!(key.verify(&query, NOW / 1000 + 5, 3_600), Ok(bid_id));
    // A test bid's trackers are unsigned.
    let BidReply::Bid { body, .. } = b.handle_bid_request(
        banner_req("r2", r#","test":1"#).as_bytes(),
        RequestContext::at(NOW),
    ) else {
        panic!("no test bid");
    };
    let text = String::from_utf8(body).unwrap();
    assert!(
        text.contains("/openrtb2/imp?bid=") && !text.contains("sig="),
        "{text}"
    );
}

fn url_pairs(url: &str) -> Vec<(String, String)> {
    url.split_once('?')
        .unwrap()
        .1
        .split('&')
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}
