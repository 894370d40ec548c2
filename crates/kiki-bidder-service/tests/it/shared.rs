//! Two bidder replicas on one Redis share one daily budget.

use std::sync::Arc;

use kiki_bidder::lineitem::PacingMode;
use kiki_bidder::{BidReply, Bidder, BidderConfig, BidderDeps, NoticeKind, RequestContext};
use kiki_bidder_service::SharedCounters;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_one_redis_spend_one_daily_budget_and_no_more() {
    let Some(url) = kiki_store::testing::require_redis("the shared-budget test") else {
        return;
    };
    let prefix = format!("kiki:test:{}:", uuid::Uuid::now_v7());
    let mut li = banner("shared");
    li.pacing = PacingMode::Asap;
    li.budget.daily = usd(5.0);
    let daily = li.budget.daily.micros;
    let mut replicas = Vec::new();
    for seed in [1u64, 2] {
        // The counters are flushed and refreshed by the simulation itself
        // (below), not by the background loop on wall-clock ticks: the
        // outcome then depends on the simulated time only, not on how fast
        // this machine runs the loop.
        let shared = SharedCounters::connect(&url, &prefix).await.unwrap();
        let mut deps = BidderDeps::in_memory(seed << 40);
        deps.ledger = shared.ledger();
        deps.frequency = shared.frequency();
        let cfg = BidderConfig {
            notice_base_url: "https://bid.kiki.example".into(),
            lease_fraction: 0.05,
            ..BidderConfig::default()
        };
        let b = Arc::new(Bidder::new(cfg, deps).unwrap());
        let report = b.load_line_items(std::slice::from_ref(&li), NOW_MS);
        assert!(report.rejected.is_empty(), "{:?}", report.rejected);
        replicas.push((b, shared));
    }
    let body = fixture("banner_site_2_6.json");
    let sim = {
        let replicas: Vec<(Arc<Bidder>, Arc<SharedCounters>)> = replicas.clone();
        // Blocking thread: `maintain` asks Redis for leases synchronously.
        let li_id = li.id;
        let rt = tokio::runtime::Handle::current();
        tokio::task::spawn_blocking(move || {
            let mut now = NOW_MS;
            let (mut bids, mut quiet, mut max_cost) = (0u64, 0u32, 0i64);
            for step in 0..200_000u64 {
                let b = &replicas[(step % 2) as usize].0;
                if step % 50 == 0 {
                    for (r, s) in &replicas {
                        // What the background loop does every 100 ms and every
                        // second: write the queued counts, read the shared spend.
                        rt.block_on(async {
                            s.flush().await.expect("flush to Redis");
                            s.refresh(now).await.expect("refresh from Redis");
                        });
                        r.maintain(now);
                        // No clicks ever come here: keep the rate estimates at the
                        // priors so the value-based price stays above the floor.
                        r.set_performance(li_id, Default::default());
                    }
                }
                now += 5;
                match b.handle_bid_request(&body, RequestContext::at(now)) {
                    BidReply::Bid { decision, .. } => {
                        quiet = 0;
                        bids += 1;
                        for c in &decision.bids {
                            max_cost = max_cost.max(c.hold_micros);
                            // Every other bid wins at its price, the others lose.
                            let (kind, url) = if step % 4 < 2 {
                                (NoticeKind::Win, c.urls.nurl())
                            } else {
                                (NoticeKind::Loss, c.urls.lurl())
                            };
                            let q = url.split_once('?').map(|x| x.1).unwrap_or("");
                            let price = format!("{}", c.response_price_micros as f64 / 1e6);
                            let q = q
                                .replace("${AUCTION_PRICE}", &price)
                                .replace("${AUCTION_LOSS}", "102");
                            b.handle_notice(kind, &q, now).unwrap();
                        }
                    }
                    _ => quiet += 1,
                }
                if quiet > 5_000 {
                    break;
                }
            }
            (bids, max_cost)
        })
        .await
        .unwrap()
    };
    let (bids, max_cost) = sim;
    assert!(bids > 100, "the replicas bid ({bids} bids)");
    for (_, s) in &replicas {
        s.final_flush().await;
    }
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let day = NOW_MS / 86_400_000;
    let spent: Option<i64> = redis::cmd("GET")
        .arg(format!("{prefix}budget:{}:{day}:spent", li.id.0))
        .query_async(&mut conn)
        .await
        .unwrap();
    let spent = spent.unwrap_or(0);
    let granted: Option<i64> = redis::cmd("GET")
        .arg(format!("{prefix}budget:{}:{day}:granted", li.id.0))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        spent <= daily + 2 * max_cost,
        "spent {spent} (granted {granted:?}) of a {daily} budget (one in-flight bid is {max_cost})"
    );
    assert!(
        spent >= daily * 95 / 100,
        "spent {spent} (granted {granted:?}) of a {daily} budget: the replicas should spend close to it"
    );
    let statuses: Vec<i64> = replicas
        .iter()
        .map(|(b, _)| {
            b.line_item_status(li.id, NOW_MS)
                .unwrap()
                .account
                .spent_day
                .micros
        })
        .collect();
    assert!(
        statuses.iter().all(|s| *s > 0),
        "both replicas spent: {statuses:?}"
    );
}

#[tokio::test]
async fn a_frequency_count_recorded_by_one_replica_reaches_the_other() {
    let Some(url) = kiki_store::testing::require_redis("the shared-frequency test") else {
        return;
    };
    use kiki_bidder::FrequencyStore;
    use kiki_bidder::freq::FreqKey;
    let prefix = format!("kiki:test:{}:", uuid::Uuid::now_v7());
    let a = SharedCounters::connect(&url, &prefix).await.unwrap();
    let b = SharedCounters::connect(&url, &prefix).await.unwrap();
    let (fa, fb) = (a.frequency(), b.frequency());
    let key = FreqKey(0x5eed);
    fa.record(key, 3600, NOW_MS);
    fa.record(key, 3600, NOW_MS + 1);
    assert_eq!(
        fa.count(key, 3600, NOW_MS + 2),
        2,
        "the local mirror counts at once"
    );
    assert_eq!(
        fb.count(key, 3600, NOW_MS + 2),
        0,
        "the other replica has not synced yet"
    );
    a.flush().await.unwrap();
    b.refresh(NOW_MS + 3).await.unwrap();
    assert_eq!(fb.count(key, 3600, NOW_MS + 4), 2);
    // The window still closes on time on the other replica.
    assert_eq!(fb.count(key, 3600, NOW_MS + 3_601_000), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_that_stops_gives_its_budget_lease_back() {
    let Some(url) = kiki_store::testing::require_redis("the lease-return test") else {
        return;
    };
    let app = kiki_test_support::identity::identity_app()
        .with_redis()
        .clock(Arc::new(kiki_core::TestClock::at(NOW)))
        .configure(|c| {
            c.set_section(
                "bidder",
                section(serde_json::json!({ "shared_counters": true })),
            )
        })
        .module(Arc::new(kiki_bidder_service::BidderModule::new()))
        .spawn()
        .await;
    let o = owner(&app).await;
    let id = create_live(&o.caller(&app), &banner("leased")).await;
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!(
        "{}budget:{id}:{}:granted",
        kiki_bidder_service::REDIS_PREFIX,
        NOW_MS / 86_400_000
    );
    let granted = eventually(|| {
        let mut conn = conn.clone();
        let key = key.clone();
        async move {
            let g: Option<i64> = redis::cmd("GET")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .unwrap();
            g.filter(|g| *g > 0)
        }
    })
    .await;
    // 2 % of the 500.00 daily budget is leased by the maintenance loop.
    assert_eq!(granted, 10_000_000);
    app.shutdown().await.unwrap();
    let after: Option<i64> = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        after,
        Some(0),
        "the unused lease went back to the shared budget"
    );
}

/// One replica of a deployment: the bidder module with shared counters in
/// Redis, on `database` when given (the second replica uses the first one's).
async fn replica(database: Option<String>) -> kiki_test_support::TestApp {
    let mut b = kiki_test_support::identity::identity_app()
        .with_redis()
        .clock(Arc::new(kiki_core::TestClock::at(NOW)))
        .configure(|c| {
            c.set_section(
                "bidder",
                section(serde_json::json!({ "shared_counters": true })),
            )
        })
        .module(Arc::new(kiki_bidder_service::BidderModule::new()));
    if let Some(url) = database {
        b = b.database_url(url);
    }
    b.spawn().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notice_is_taken_once_whichever_replica_it_reaches() {
    let Some(url) = kiki_store::testing::require_redis("the cross-replica notice test") else {
        return;
    };
    let a = replica(None).await;
    let o = owner(&a).await;
    let id = create_live(&o.caller(&a), &banner("replicated")).await;
    // The second replica starts on the same database and loads the line item.
    let b = replica(Some(a.state.config.database.url.clone())).await;
    wait_loaded(&o.caller(&b), id).await;

    // A bid once the maintenance loop has leased budget from Redis.
    let body = eventually(|| async {
        let (status, body) =
            kiki_test_support::identity::json(bid(&a, fixture("banner_site_2_6.json")).await).await;
        (status == 200).then_some(body)
    })
    .await;
    let nurl = body["seatbid"][0]["bid"][0]["nurl"].as_str().unwrap();
    // At most the bid's price (a higher clearing price is refused).
    let win = notice_path(nurl, "2.00");
    // The exchange's load balancer sends the win to the replica that did not
    // bid, then retries it on both.
    assert_eq!(notice(&b, &win).await, (200, "unmatched".into()));
    assert_eq!(notice(&a, &win).await, (200, "duplicate".into()));
    assert_eq!(notice(&b, &win).await, (200, "duplicate".into()));
    // Billing notices on both replicas add no second spend (wins trigger spend).
    let burl = body["seatbid"][0]["bid"][0]["burl"].as_str().unwrap();
    let bill = notice_path(burl, "2.00");
    assert_eq!(notice(&a, &bill).await.0, 200);
    assert_eq!(notice(&b, &bill).await.0, 200);

    // The spend reached the shared budget once: 2.00 CPM = 2000 micros.
    let client = redis::Client::open(url.as_str()).unwrap();
    let conn = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!(
        "{}budget:{id}:{}:spent",
        kiki_bidder_service::REDIS_PREFIX,
        NOW_MS / 86_400_000
    );
    let spent = eventually(|| {
        let (mut conn, key) = (conn.clone(), key.clone());
        async move {
            let s: Option<i64> = redis::cmd("GET")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .unwrap();
            s.filter(|s| *s > 0)
        }
    })
    .await;
    // Give a second, wrongly counted copy time to arrive before checking.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let again: Option<i64> = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut conn.clone())
        .await
        .unwrap();
    assert_eq!((spent, again), (2000, Some(2000)));
    b.shutdown().await.unwrap();
    a.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_click_counts_once_across_replicas() {
    if kiki_store::testing::require_redis("the cross-replica tracker test").is_none() {
        return;
    }
    let a = replica(None).await;
    let o = owner(&a).await;
    let id = create_live(&o.caller(&a), &tracked_banner("replicated")).await;
    let b = replica(Some(a.state.config.database.url.clone())).await;
    wait_loaded(&o.caller(&b), id).await;
    let body = eventually(|| async {
        let (status, body) =
            kiki_test_support::identity::json(bid(&a, fixture("banner_site_2_6.json")).await).await;
        (status == 200).then_some(body)
    })
    .await;
    let (_, click) = tracker_paths(&body["seatbid"][0]["bid"][0]);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let status_of = |app: &kiki_test_support::TestApp| {
        let r = client.get(app.url(&click)).send();
        async move {
            let r = r.await.unwrap();
            assert_eq!(r.status(), 302);
            r.headers()["x-kiki-tracker-status"]
                .to_str()
                .unwrap()
                .to_owned()
        }
    };
    assert_eq!(status_of(&a).await, "counted");
    assert_eq!(
        status_of(&b).await,
        "repeated",
        "the other replica saw it in Redis"
    );
    b.shutdown().await.unwrap();
    a.shutdown().await.unwrap();
}
