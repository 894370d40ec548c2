//! The LTV hookup end to end: the LTV module fits CDNOW transactions tagged
//! `vip`/`standard`, and the bidder's segment values follow the model's mean
//! CLV per segment, through the API and through the scheduled job, while
//! hand-set segments and the members stay.

use std::collections::BTreeMap;
use std::sync::Arc;

use kiki_bidder_service::BidderModule;
use kiki_ltv_service::LtvModule;
use kiki_store::EnqueueOptions;
use kiki_test_support::TestApp;
use kiki_test_support::identity::{Caller, identity_app, json};
use sea_query::{Alias, Expr, ExprTrait, Query};
use serde_json::{Value, json};

use crate::support::{eventually, owner, section};

const CDNOW_SAMPLE: &str = include_str!("../../../kiki-ltv/tests/fixtures/CDNOW_sample.txt");

async fn app() -> TestApp {
    identity_app()
        .configure(|c| c.set_section("bidder", section(json!({}))))
        .module(Arc::new(LtvModule::new()))
        .module(Arc::new(BidderModule::new().with_ltv_module()))
        .spawn()
        .await
}

/// CDNOW_sample.txt (master id, sample id, YYYYMMDD, CDs, dollars) as an
/// upload CSV for customers up to `max_id`; every third customer is `vip`.
fn cdnow_csv(max_id: u32) -> String {
    let mut out = String::from("customer_id,timestamp,amount,segment\n");
    for line in CDNOW_SAMPLE.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let id = f[1].trim_start_matches('0');
        let n: u32 = id.parse().expect("a numeric id");
        if n > max_id {
            continue;
        }
        let segment = if n.is_multiple_of(3) {
            "vip"
        } else {
            "standard"
        };
        out.push_str(&format!("{id},{},{},{segment}\n", f[2], f[4]));
    }
    out
}

/// Uploads the transactions and fits a BG/NBD + Gamma-Gamma model inline.
async fn fit(c: &Caller<'_>) {
    let resp = c
        .request(reqwest::Method::POST, "/v1/ltv/transactions")
        .header("content-type", "text/csv")
        .body(cdnow_csv(1200))
        .send()
        .await
        .expect("upload sent");
    let (status, body) = json(resp).await;
    assert_eq!(status, 200, "{body}");
    let (status, model) = json(
        c.post(
            "/v1/ltv/fits?wait=true",
            &json!({"model": "bgnbd", "gamma_gamma": true, "unit": "weeks"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{model}");
}

/// The LTV aggregates' mean CLV per named segment, in micros.
async fn ltv_means(c: &Caller<'_>) -> BTreeMap<String, i64> {
    let agg = c.get_ok("/v1/ltv/aggregates?by=segment").await;
    assert_eq!(agg["currency"], "USD", "{agg}");
    agg["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter_map(|g| {
            Some((
                g["key"].as_str()?.to_owned(),
                g["mean_clv"]["micros"].as_i64()?,
            ))
        })
        .collect()
}

/// The bidder's stored segment values, in micros.
async fn bidder_values(c: &Caller<'_>) -> BTreeMap<String, i64> {
    let segs = c.get_ok("/v1/bidder/segments").await;
    segs["segments"]
        .as_array()
        .expect("segments")
        .iter()
        .map(|s| {
            assert_eq!(s["ltv"]["currency"], "USD", "{s}");
            (
                s["segment"].as_str().expect("a name").to_owned(),
                s["ltv"]["micros"].as_i64().expect("micros"),
            )
        })
        .collect()
}

fn usd(micros: i64) -> Value {
    json!({ "micros": micros, "currency": "USD" })
}

#[tokio::test]
async fn the_sync_writes_each_segments_mean_clv_and_keeps_hand_set_segments_and_members() {
    let app = app().await;
    let person = owner(&app).await;
    let c = person.caller(&app);
    let hand = json!({
        "segments": [
            { "segment": "whales", "ltv": usd(60_000_000) },
            { "segment": "vip", "ltv": usd(1_000_000) },
        ],
        "members": [
            { "user": "u-whale", "segment": "whales" },
            { "user": "u-vip", "segment": "vip" },
        ],
    });
    let (status, body) = json(
        c.send(reqwest::Method::PUT, "/v1/bidder/segments", Some(&hand))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // Before any fit there is nothing to sync from.
    let (status, err) = json(c.post_empty("/v1/bidder/segments/sync-ltv").await).await;
    assert_eq!(status, 409, "{err}");
    assert_eq!(bidder_values(&c).await["vip"], 1_000_000);

    fit(&c).await;
    let means = ltv_means(&c).await;
    assert_eq!(
        means.keys().map(String::as_str).collect::<Vec<_>>(),
        vec!["standard", "vip"]
    );
    assert!(means.values().all(|m| *m > 0), "{means:?}");

    let (status, report) = json(c.post_empty("/v1/bidder/segments/sync-ltv").await).await;
    assert_eq!(status, 200, "{report}");
    let written: BTreeMap<String, i64> = report["written"]
        .as_array()
        .expect("written")
        .iter()
        .map(|s| {
            (
                s["segment"].as_str().unwrap_or_default().to_owned(),
                s["ltv"]["micros"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    assert_eq!(written, means);

    let mut expected = means.clone();
    expected.insert("whales".into(), 60_000_000);
    assert_eq!(bidder_values(&c).await, expected);

    // The members were not touched.
    let members = Query::select()
        .columns([Alias::new("user_key"), Alias::new("segment")])
        .from(Alias::new("bidder_segment_members"))
        .and_where(Expr::col(Alias::new("org_id")).eq(person.org_id))
        .to_owned();
    let mut mine: Vec<(String, String)> = app
        .state
        .db
        .fetch_all(&members)
        .await
        .expect("segment members load");
    mine.sort();
    assert_eq!(
        mine,
        vec![
            ("u-vip".to_owned(), "vip".to_owned()),
            ("u-whale".to_owned(), "whales".to_owned()),
        ]
    );

    let audit = c.get_ok("/v1/audit?action=bidder.segments.synced").await;
    let entries = audit["items"].as_array().expect("items");
    assert_eq!(entries.len(), 1, "{audit}");
    assert_eq!(entries[0]["details"]["source"], "ltv");
    assert_eq!(entries[0]["details"]["model_id"], report["model_id"]);
}

#[tokio::test]
async fn the_scheduled_job_syncs_every_organisation_with_a_model() {
    let app = app().await;
    let person = owner(&app).await;
    let c = person.caller(&app);
    fit(&c).await;
    let means = ltv_means(&c).await;
    assert!(bidder_values(&c).await.is_empty());
    app.state
        .jobs
        .enqueue(
            None,
            "bidder.ltv_sync",
            json!({}),
            EnqueueOptions::default(),
        )
        .await
        .expect("enqueued");
    let values = eventually(|| async {
        let v = bidder_values(&c).await;
        (!v.is_empty()).then_some(v)
    })
    .await;
    assert_eq!(values, means);
}
