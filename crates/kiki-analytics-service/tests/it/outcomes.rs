//! The summary's figures from other contexts: new customers and their
//! predicted LTV (LTV module), CAC, LTV/CAC, and the net profit uplift
//! against the twin's no-new-spend baseline of a launched plan with the fee
//! it carries — for an agency with a model and a positive uplift, a client
//! without a model and with a negative one, and the roll-up of both.
//!
//! The fixture (`main.rs`) over 27 Feb – 1 Mar in USD: Meta spends $300 for
//! $800 of revenue (27 Feb $100 → $300, 28 Feb nothing, 1 Mar $200 →
//! $500), Google $100 for $200. A launched plan on Meta starts 27 Feb, so
//! Meta's rows are measured against its carry-over and Google's $100 is not
//! credited. Each day's carry-over is read back from the stored simulation.

use std::sync::Arc;

use kiki_analytics_service::AnalyticsModule;
use kiki_core::{Currency, OrgId, TenantScope, TestClock};
use kiki_ltv_service::domain::TransactionKind;
use kiki_ltv_service::{LtvModule, LtvService, NewTransaction};
use kiki_test_support::TestApp;
use kiki_test_support::identity::{Caller, client_org, error_fields, identity_app, json};
use kiki_twin_service::TwinModule;
use serde_json::{Value, json};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::*;

const P: &str = "since=2026-02-27&until=2026-03-01&currency=USD&tz=UTC";

async fn spawn_all() -> (TestApp, Arc<AnalyticsService>) {
    let app = identity_app()
        .clock(Arc::new(TestClock::at(NOW)))
        .module(Arc::new(LtvModule::new()))
        .module(Arc::new(TwinModule::new()))
        .module(Arc::new(
            AnalyticsModule::new().with_ltv_module().with_twin_module(),
        ))
        .spawn()
        .await;
    let svc = service(&app);
    (app, svc)
}

fn order(customer: &str, at: OffsetDateTime, dollars: i64) -> NewTransaction {
    NewTransaction {
        customer_id: customer.to_owned(),
        at,
        amount_micros: dollars * 1_000_000,
        currency: Currency::USD,
        order_id: None,
        segment: None,
        platform: None,
        kind: TransactionKind::Order,
    }
}

/// The first 300 customers of the CDNOW sample (the public CDNOW data set
/// the LTV engine is checked against), moved forward so that its last day,
/// 30 June 1998, is 15 February 2026: what the model is fitted on, with the
/// fixture's own customers.
fn history() -> Vec<NewTransaction> {
    const CDNOW: &str = include_str!("../../../kiki-ltv/tests/fixtures/CDNOW_sample.txt");
    let shift = time::macros::date!(2026 - 02 - 15) - time::macros::date!(1998 - 06 - 30);
    let mut out = Vec::new();
    for line in CDNOW.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let id: u32 = f[1].parse().expect("a numeric id");
        if id > 300 {
            continue;
        }
        let d = f[2];
        let day = time::Date::from_calendar_date(
            d[0..4].parse().unwrap(),
            time::Month::try_from(d[4..6].parse::<u8>().unwrap()).unwrap(),
            d[6..8].parse().unwrap(),
        )
        .unwrap();
        let at = day.with_hms(12, 0, 0).unwrap().assume_utc() + shift;
        let micros = (f[4].parse::<f64>().unwrap() * 1e6).round() as i64;
        let mut o = order(&format!("cd{id}"), at, 0);
        o.amount_micros = micros;
        out.push(o);
    }
    out
}

async fn fit(app: &TestApp, c: &Caller<'_>, org: Uuid) {
    let ltv = app.state.services.get::<LtvService>().expect("ltv");
    let scope = TenantScope::single(OrgId(org));
    let mut rows = history();
    rows.extend([
        // Before the range: bought in January, again on 27 Feb: not new.
        order("old-o", datetime!(2026-01-05 10:00 UTC), 30),
        order("old-o", datetime!(2026-02-27 12:00 UTC), 30),
        // New in the range (twice for new-a).
        // new-a's first order names Meta as the acquiring platform (as
        // uploaded, any case), new-b's Google.
        NewTransaction {
            platform: Some("Meta".into()),
            ..order("new-a", datetime!(2026-02-27 09:00 UTC), 40)
        },
        order("new-a", datetime!(2026-02-28 10:00 UTC), 25),
        NewTransaction {
            platform: Some("google".into()),
            ..order("new-b", datetime!(2026-03-01 20:00 UTC), 60)
        },
        // New in the comparison period (24–26 Feb), not in the range.
        order("prev-d", datetime!(2026-02-25 12:00 UTC), 50),
    ]);
    ltv.ingest_transactions(&scope, &rows, None)
        .await
        .expect("stored");
    let (status, model) = json(c.post("/v1/ltv/fits?wait=true", &json!({})).await).await;
    assert_eq!(status, 201, "{model}");
    // First bought after the fit: new, without a prediction.
    ltv.ingest_transactions(
        &scope,
        &[order("late-e", datetime!(2026-02-28 15:00 UTC), 35)],
        None,
    )
    .await
    .expect("stored");
}

/// Meta history before the plan (so past spend carries over), a 10-day
/// plan on Meta from 27 Feb, approved: the simulation as stored.
async fn launch(c: &Caller<'_>) -> Value {
    let rows: Vec<Value> = (0..28)
        .map(|i| {
            let day = datetime!(2026-01-30 0:00 UTC).date() + Duration::days(i);
            json!({
                "platform": "meta", "day": day.to_string(), "currency": "USD",
                "spend": {"micros": 100_000_000, "currency": "USD"}, "impressions": 10_000,
                "clicks": 150, "conversions": 5.0,
                "revenue": {"micros": 250_000_000, "currency": "USD"}
            })
        })
        .collect();
    let (status, body) = json(c.post("/v1/twin/performance", &json!({"rows": rows})).await).await;
    assert_eq!(status, 200, "{body}");
    let (status, sim) = json(
        c.post(
            "/v1/simulations",
            &json!({
                "plan": {
                    "currency": "USD",
                    "allocations": [{"platform": "meta", "daily_budget": {"micros": 100_000_000, "currency": "USD"}}],
                    "duration_days": 10,
                    "start_date": "2026-02-27",
                    "organic_revenue": {"micros": 0, "currency": "USD"}
                },
                "options": {"runs": 400, "seed": 11}
            }),
        )
        .await,
    )
    .await;
    assert!(status == 200 || status == 201, "{sim}");
    let id = sim["id"].as_str().expect("id");
    let (status, sim) = json(
        c.post(
            &format!("/v1/simulations/{id}/decision"),
            &json!({"decision": "approve", "reason": "Launched for the summary test."}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{sim}");
    sim
}

/// The carry-over of the plan's first three days (27 Feb – 1 Mar), summed:
/// the cumulative median on day 3.
fn carry_over_3_days(sim: &Value) -> i64 {
    let projection = sim["report"]["result"]["projection"]
        .as_array()
        .expect("projection");
    assert_eq!(projection[0]["date"], "2026-02-27");
    micros(&projection[2]["carry_over_revenue"])
}

async fn set_margin(c: &Caller<'_>, org: Uuid, bps: u32) {
    let (status, body) = json(
        c.patch(
            &format!("/v1/organisations/{org}"),
            &json!({"contribution_margin_bps": bps}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

fn opt_micros(v: &Value) -> Option<i64> {
    v.get("micros").and_then(Value::as_i64)
}

#[tokio::test]
async fn new_customers_ltv_cac_uplift_and_fee_from_the_ltv_and_twin_contexts() {
    let (app, svc) = spawn_all().await;
    let boss = owner(&app, "outcomes").await;
    let agency = boss.caller(&app);
    let client = client_org(&agency, "Client Two").await;
    let theirs = agency.in_org(client);
    let ids = Ids::default();
    feed(&svc, boss.org_id, &ids).await;
    feed(&svc, client, &Ids::default()).await;
    // The agency counts no margin (100 % assumed), the client 10 %.
    set_margin(&theirs, client, 1000).await;
    fit(&app, &agency, boss.org_id).await;
    let own_sim = launch(&agency).await;
    let their_sim = launch(&theirs).await;

    // The predictions the model stored for the new customers.
    let (status, pred) = json(
        agency
            .post(
                "/v1/ltv/predict",
                &json!({"customer_ids": ["new-a", "new-b", "late-e", "prev-d"]}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 200, "{pred}");
    assert_eq!(pred["missing"], json!(["late-e"]));
    let clv = |id: &str| {
        pred["customers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["customer_id"] == id)
            .and_then(|c| opt_micros(&c["clv"]))
            .unwrap_or_else(|| panic!("no CLV of {id} in {pred}"))
    };
    let (a, b, d) = (clv("new-a"), clv("new-b"), clv("prev-d"));

    // The agency: 3 new customers (new-a, new-b, late-e), 2 valued.
    let (status, s) = get(&agency, &format!("/v1/analytics/summary?{P}")).await;
    assert_eq!(status, 200, "{s}");
    let usd = in_currency(&s, "USD");
    let cur = &usd["current"];
    assert_eq!(cur["new_customers"], 3, "{cur}");
    assert_eq!(cur["new_customers_valued"], 2);
    assert_eq!(
        micros(&cur["mean_predicted_ltv"]),
        kiki_analytics::mean_micros(a + b, 2).unwrap()
    );
    // $400 of spend ÷ 3 = $133.333333.
    assert_eq!(micros(&cur["cac"]), 133_333_333);
    assert_eq!(cur["ltv_to_cac"].as_f64(), Some((a + b) as f64 / 400e6));
    let basis = cur["basis"]["customers"].as_str().unwrap();
    assert!(basis.contains("version 1"), "{basis}");
    assert!(basis.contains("1 without a prediction"), "{basis}");

    // Uplift: Meta's $800 − the carry-over, at 100 %, − $300; Google's $100
    // is not credited.
    let carry = carry_over_3_days(&own_sim);
    assert!(carry > 0, "past spend carries over: {carry}");
    let own_uplift = 800_000_000 - carry - 300_000_000;
    assert!(own_uplift > 0, "{own_uplift}");
    assert_eq!(micros(&cur["net_profit_uplift"]), own_uplift);
    // 20 % of it.
    assert_eq!(
        micros(&cur["fee"]),
        kiki_analytics::fee_micros(own_uplift, 2000)
    );
    let cov = &cur["uplift_coverage"];
    assert_eq!(micros(&cov["covered_spend"]), 300_000_000);
    assert_eq!(micros(&cov["total_spend"]), 400_000_000);
    assert_eq!(cov["share"], 0.75);
    assert_eq!(cov["launched_plans"], 1);
    let basis = cur["basis"]["uplift"].as_str().unwrap();
    assert!(
        basis.contains("1 launched plan ") && basis.contains("spend of $100.00 outside them"),
        "{basis}"
    );
    assert!(basis.contains("margin assumed 100 %"), "{basis}");

    // The comparison period (24–26 Feb): prev-d is new; no plan day, so no
    // uplift, and the change of the uplift is null.
    let prev = &usd["previous"];
    assert_eq!(prev["new_customers"], 1, "{prev}");
    assert_eq!(micros(&prev["mean_predicted_ltv"]), d);
    // $50 of Meta spend on 25 Feb for one new customer.
    assert_eq!(micros(&prev["cac"]), 50_000_000);
    assert!(prev["net_profit_uplift"].is_null());
    assert!(prev["fee"].is_null());
    assert_eq!(micros(&prev["uplift_coverage"]["covered_spend"]), 0);
    assert_eq!(usd["change"]["new_customers"]["absolute"], 2.0);
    assert_eq!(usd["change"]["new_customers"]["relative"], 2.0);
    assert!(usd["change"]["net_profit_uplift"].is_null());

    // The client: no model, a negative uplift at 10 %, no fee.
    let (_, t) = get(&theirs, &format!("/v1/analytics/summary?{P}")).await;
    let tc = &in_currency(&t, "USD")["current"];
    assert_eq!(tc["new_customers"], 0, "{tc}");
    assert!(tc["mean_predicted_ltv"].is_null());
    assert!(tc["cac"].is_null(), "no new customer");
    assert!(tc["ltv_to_cac"].is_null());
    assert!(
        tc["basis"]["customers"]
            .as_str()
            .unwrap()
            .contains("no fitted model"),
        "{tc}"
    );
    let their_carry = carry_over_3_days(&their_sim);
    // ($800 − carry-over) × 10 % − $300, rounded to the micro.
    let their_uplift =
        kiki_analytics::div_round(i128::from(800_000_000 - their_carry) * 1000, 10_000).unwrap()
            - 300_000_000;
    assert!(their_uplift < 0);
    assert_eq!(micros(&tc["net_profit_uplift"]), their_uplift);
    assert_eq!(micros(&tc["fee"]), 0);
    assert!(
        tc["basis"]["uplift"]
            .as_str()
            .unwrap()
            .contains("margin 10 % (the organisation's)"),
        "{tc}"
    );

    // The roll-up: the sum of both; the fee is each organisation's, so the
    // client's loss does not reduce the agency's fee.
    let (status, all) = get(&agency, &format!("/v1/analytics/summary?{P}&scope=clients")).await;
    assert_eq!(status, 200, "{all}");
    let ac = &in_currency(&all, "USD")["current"];
    assert_eq!(ac["new_customers"], 3);
    assert_eq!(ac["new_customers_valued"], 2);
    // Both organisations' $800 of spend ÷ 3.
    assert_eq!(micros(&ac["cac"]), 266_666_667);
    assert_eq!(micros(&ac["net_profit_uplift"]), own_uplift + their_uplift);
    assert_eq!(micros(&ac["fee"]), micros(&cur["fee"]));
    assert_eq!(micros(&ac["uplift_coverage"]["covered_spend"]), 600_000_000);
    assert_eq!(micros(&ac["uplift_coverage"]["total_spend"]), 800_000_000);
    assert_eq!(ac["uplift_coverage"]["launched_plans"], 2);
    assert!(
        ac["basis"]["uplift"]
            .as_str()
            .unwrap()
            .contains("each organisation's margin"),
        "{ac}"
    );

    // Converted to EUR at 2 on every day (exact, so each figure is twice
    // the dollar one): the roll-up's rows and the plan's baseline at each
    // day's rate, the predicted CLV at the period's last day's.
    let rates: Vec<Value> = (0..6)
        .map(|i| {
            let day = datetime!(2026-02-24 0:00 UTC).date() + Duration::days(i);
            json!({"day": day.to_string(), "base": "USD", "quote": "EUR", "rate": "2"})
        })
        .collect();
    let (status, body) = json(
        agency
            .send(
                reqwest::Method::PUT,
                "/v1/analytics/fx-rates",
                Some(&json!({ "rates": rates })),
            )
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (status, x) = get(
        &agency,
        &format!("/v1/analytics/summary?{P}&convert_to=EUR"),
    )
    .await;
    assert_eq!(status, 200, "{x}");
    let eur = in_currency(&x, "EUR");
    let xc = &eur["current"];
    assert_eq!(xc["new_customers"], 3, "{xc}");
    assert_eq!(xc["new_customers_valued"], 2);
    assert_eq!(
        micros(&xc["mean_predicted_ltv"]),
        kiki_analytics::mean_micros(2 * (a + b), 2).unwrap()
    );
    assert_eq!(micros(&xc["cac"]), 266_666_667);
    assert_eq!(micros(&xc["net_profit_uplift"]), 2 * own_uplift);
    assert_eq!(
        micros(&xc["fee"]),
        kiki_analytics::fee_micros(2 * own_uplift, 2000)
    );
    assert_eq!(micros(&xc["uplift_coverage"]["covered_spend"]), 600_000_000);
    assert_eq!(
        micros(&eur["previous"]["mean_predicted_ltv"]),
        2 * d,
        "{eur}"
    );
    let basis = &xc["basis"];
    assert!(
        basis["customers"]
            .as_str()
            .unwrap()
            .contains("converted to EUR at the rates of 2026-03-01"),
        "{basis}"
    );
    assert!(
        basis["uplift"]
            .as_str()
            .unwrap()
            .contains("converted to EUR at each day's rate"),
        "{basis}"
    );
    assert!(basis["fx"].as_str().unwrap().contains("USD"), "{basis}");
    // Without a rate for the target, the read fails naming convert_to.
    let (status, e) = get(
        &agency,
        &format!("/v1/analytics/summary?{P}&convert_to=GBP"),
    )
    .await;
    assert_eq!(status, 422, "{e}");
    assert_eq!(error_fields(&e), ["convert_to"]);

    // A platform filter: new customers are those whose first order names
    // it; the baseline covers a plan's platforms together, so no uplift.
    let (_, f) = get(&agency, &format!("/v1/analytics/summary?{P}&platform=meta")).await;
    let fc = &in_currency(&f, "USD")["current"];
    assert_eq!(fc["new_customers"], 1, "new-a only: {fc}");
    assert_eq!(fc["new_customers_valued"], 1);
    assert_eq!(opt_micros(&fc["mean_predicted_ltv"]), Some(a));
    assert!(fc["net_profit_uplift"].is_null());
    assert!(fc["basis"]["uplift"].as_str().unwrap().contains("platform"));
    assert!(
        fc["basis"]["customers"]
            .as_str()
            .unwrap()
            .contains("acquired through meta"),
        "{fc}"
    );
    let (_, f) = get(
        &agency,
        &format!("/v1/analytics/summary?{P}&platform=google"),
    )
    .await;
    assert_eq!(
        in_currency(&f, "USD")["current"]["new_customers"],
        1,
        "new-b only"
    );
    // A campaign filter: an order names no campaign.
    let (_, f) = get(
        &agency,
        &format!("/v1/analytics/summary?{P}&campaign_id={}", ids.c1),
    )
    .await;
    let fc = &in_currency(&f, "USD")["current"];
    assert!(fc["new_customers"].is_null(), "{fc}");
    assert!(
        fc["basis"]["customers"]
            .as_str()
            .unwrap()
            .contains("campaign")
    );
    app.shutdown().await.unwrap();
}

#[tokio::test]
async fn without_the_ltv_and_twin_modules_the_figures_are_null_and_say_so() {
    let (app, svc) = spawn().await;
    let boss = owner(&app, "unwired").await;
    let c = boss.caller(&app);
    feed(&svc, boss.org_id, &Ids::default()).await;
    let (status, s) = get(&c, &format!("/v1/analytics/summary?{P}")).await;
    assert_eq!(status, 200, "{s}");
    let cur = &in_currency(&s, "USD")["current"];
    for k in [
        "new_customers",
        "mean_predicted_ltv",
        "cac",
        "ltv_to_cac",
        "net_profit_uplift",
        "fee",
        "uplift_coverage",
    ] {
        assert!(cur[k].is_null(), "{k}: {cur}");
    }
    assert!(
        cur["basis"]["customers"]
            .as_str()
            .unwrap()
            .contains("LTV context is not connected")
    );
    assert!(
        cur["basis"]["uplift"]
            .as_str()
            .unwrap()
            .contains("twin is not connected")
    );
    app.shutdown().await.unwrap();
}
