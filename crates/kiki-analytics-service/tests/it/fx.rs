//! Exchange rates and converted reads (`convert_to`), hand-computed.
//!
//! The fixture, 27 Feb to 1 Mar 2026, campaign level:
//!
//! | day    | meta (USD) spend / revenue | google (GBP)          | tiktok (EUR) |
//! |--------|----------------------------|-----------------------|--------------|
//! | 27 Feb | $100 / $300                | £10 / £30             | €10 / €25    |
//! | 28 Feb | $50 / $100                 |                       |              |
//! | 1 Mar  | $200 / $500                | £20.000015 / £20      |              |
//!
//! and $40 on 20 Mar (a day no rate reaches). Rates (manual): EUR→USD 1.25
//! on 27 Feb and 1.6 on 1 Mar (none on 28 Feb: the 27th's is used);
//! GBP→EUR 1.2 on 27 Feb and 1.1 on 1 Mar.
//!
//! In euros: USD divides by EUR→USD (the inverse pair): $100 → €80, $300 →
//! €240; $50 → €40, $100 → €80; $200 → €125, $500 → €312.50 — spend €245,
//! revenue €632.50. GBP multiplies: £10 → €12, £30 → €36; £20.000015 ×
//! 1.1 = €22.0000165 → €22.000016 (half to even), £20 → €22 — spend
//! €34.000016, revenue €58. With TikTok's €10 / €25: spend €289.000016,
//! revenue €715.50.
//!
//! In dollars: EUR multiplies by 1.25 (€10 → $12.50); GBP crosses through
//! EUR: × 1.2 × 1.25 = × 1.5 on 27 Feb (£10 → $15), × 1.1 × 1.6 = × 1.76
//! on 1 Mar (£20.000015 → $35.2000264 → $35.200026): spend $350 + $12.50 +
//! $15 + $35.200026 = $412.700026.

use std::sync::Arc;

use kiki_analytics_service::domain::{DailyRow, Level};
use kiki_analytics_service::{AnalyticsModule, AnalyticsService};
use kiki_core::{Currency, Money, OrgId, TenantScope, TestClock};
use kiki_test_support::TestApp;
use kiki_test_support::identity::{
    Caller, client_org, code, error_fields, identity_app, json, member,
};
use reqwest::Method;
use serde_json::{Value, json};
use time::Date;
use time::macros::date;
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::*;

const P: &str = "since=2026-02-27&until=2026-03-01";

fn gbp(micros: i64) -> Money {
    Money::from_micros(micros, Currency::GBP)
}

fn campaign(platform: &str, ext: &str, day: Date, spend: Money, revenue: Money) -> DailyRow {
    row(
        Level::Campaign,
        platform,
        ext,
        day,
        (Some(Uuid::now_v7()), None, None),
        spend,
        revenue,
        1.0,
        1_000,
        10,
    )
}

async fn feed_fx(svc: &AnalyticsService, org: Uuid) {
    let scope = TenantScope::single(OrgId(org));
    let period = kiki_analytics::Period::new(date!(2026 - 02 - 20), date!(2026 - 03 - 20)).unwrap();
    let c1 = Uuid::now_v7();
    let meta: Vec<DailyRow> = [
        (date!(2026 - 02 - 27), 100.0, 300.0),
        (date!(2026 - 02 - 28), 50.0, 100.0),
        (date!(2026 - 03 - 01), 200.0, 500.0),
        (date!(2026 - 03 - 20), 40.0, 0.0),
    ]
    .into_iter()
    .map(|(d, s, r)| {
        let mut x = campaign("meta", "m-c1", d, usd(s), usd(r));
        x.campaign_id = Some(c1.to_string());
        x
    })
    .collect();
    let c2 = Uuid::now_v7();
    let google: Vec<DailyRow> = [
        (date!(2026 - 02 - 27), 10_000_000, 30_000_000),
        (date!(2026 - 03 - 01), 20_000_015, 20_000_000),
    ]
    .into_iter()
    .map(|(d, s, r)| {
        let mut x = campaign("google", "g-c2", d, gbp(s), gbp(r));
        x.campaign_id = Some(c2.to_string());
        x
    })
    .collect();
    let tiktok = vec![campaign(
        "tiktok",
        "t-c3",
        date!(2026 - 02 - 27),
        eur(10.0),
        eur(25.0),
    )];
    for (platform, rows) in [("meta", meta), ("google", google), ("tiktok", tiktok)] {
        svc.record_daily(&scope, platform, period, &rows)
            .await
            .expect("the rows are recorded");
    }
}

fn rates() -> Value {
    json!({"rates": [
        {"day": "2026-02-27", "base": "EUR", "quote": "USD", "rate": "1.25"},
        {"day": "2026-03-01", "base": "EUR", "quote": "USD", "rate": "1.6"},
        {"day": "2026-02-27", "base": "GBP", "quote": "EUR", "rate": "1.2"},
        {"day": "2026-03-01", "base": "GBP", "quote": "EUR", "rate": "1.100000000"},
    ]})
}

async fn put(c: &Caller<'_>, body: &Value) -> (u16, Value) {
    json(
        c.send(Method::PUT, "/v1/analytics/fx-rates", Some(body))
            .await,
    )
    .await
}

fn spend_of(rows: &Value, key: &str, value: &str) -> i64 {
    let r = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r[key] == value)
        .unwrap_or_else(|| panic!("no {value} in {rows}"));
    assert_eq!(r["currency"], "EUR", "{r}");
    micros(&r["spend"])
}

#[tokio::test]
async fn reads_convert_each_day_at_that_days_rate_and_say_so() {
    let (app, svc) = spawn().await;
    let boss = owner(&app, "fx").await;
    let c = boss.caller(&app);
    feed_fx(&svc, boss.org_id).await;
    let (status, w) = put(&c, &rates()).await;
    assert_eq!(status, 200, "{w}");
    assert_eq!(w["written"], 4);
    assert_eq!(w["first_day"], "2026-02-27");

    // Without convert_to: one entry per currency, as before.
    let (_, s) = get(&c, &format!("/v1/analytics/summary?{P}")).await;
    assert_eq!(s["currencies"].as_array().unwrap().len(), 3, "{s}");
    assert_eq!(s["fx"], Value::Null);

    let (status, s) = get(&c, &format!("/v1/analytics/summary?{P}&convert_to=eur")).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["currencies"].as_array().unwrap().len(), 1, "{s}");
    let cur = &in_currency(&s, "EUR")["current"];
    assert_eq!(micros(&cur["spend"]), 289_000_016);
    assert_eq!(micros(&cur["revenue"]), 715_500_000);
    // Ratios of the converted sums, never averages of ratios.
    assert_eq!(cur["roas"], 715_500_000.0 / 289_000_016.0);
    assert_eq!(cur["active_campaigns"], 3);
    // Without the LTV module there is nothing to convert; with it, the
    // outcome figures are converted too (tests/it/outcomes.rs).
    assert_eq!(cur["new_customers"], Value::Null);
    assert!(
        cur["basis"]["customers"]
            .as_str()
            .unwrap()
            .contains("not connected"),
        "{cur}"
    );
    assert_eq!(
        cur["basis"]["fx"],
        "Converted to EUR from GBP (2 days, manual rates 2026-02-27 – 2026-03-01, GBP→EUR) and USD (3 days, manual rates 2026-02-27 – 2026-03-01, USD→EUR (inverse of EUR→USD)), each day at that day's rate."
    );
    let fx = &s["fx"];
    assert_eq!(fx["target"], "EUR");
    assert_eq!(
        fx["converted"],
        json!([
            {"currency": "GBP", "days_converted": 2, "first_rate_day": "2026-02-27",
             "last_rate_day": "2026-03-01", "min_rate": "1.1", "max_rate": "1.2",
             "routes": ["GBP→EUR"], "sources": ["manual"]},
            {"currency": "USD", "days_converted": 3, "first_rate_day": "2026-02-27",
             "last_rate_day": "2026-03-01", "min_rate": "0.625", "max_rate": "0.8",
             "routes": ["USD→EUR (inverse of EUR→USD)"], "sources": ["manual"]}
        ])
    );

    // Day by day: 28 Feb falls back to the 27th's rate.
    let (status, t) = get(&c, &format!("/v1/analytics/timeseries?{P}&convert_to=EUR")).await;
    assert_eq!(status, 200, "{t}");
    let days: Vec<(String, i64, i64)> = t["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            assert_eq!(p["currency"], "EUR");
            (
                p["start"].as_str().unwrap().to_owned(),
                micros(&p["spend"]),
                micros(&p["revenue"]),
            )
        })
        .collect();
    assert_eq!(
        days,
        [
            ("2026-02-27".to_owned(), 102_000_000, 301_000_000),
            ("2026-02-28".to_owned(), 40_000_000, 80_000_000),
            ("2026-03-01".to_owned(), 147_000_016, 334_500_000),
        ]
    );
    assert_eq!(t["fx"]["target"], "EUR");

    for by in ["platform", "campaign"] {
        let (status, b) = get(
            &c,
            &format!("/v1/analytics/breakdown?{P}&by={by}&convert_to=EUR"),
        )
        .await;
        assert_eq!(status, 200, "{b}");
        let key = if by == "platform" {
            "platform"
        } else {
            "external_id"
        };
        let (m, g, t) = if by == "platform" {
            ("meta", "google", "tiktok")
        } else {
            ("m-c1", "g-c2", "t-c3")
        };
        assert_eq!(spend_of(&b["rows"], key, m), 245_000_000, "{by}");
        assert_eq!(spend_of(&b["rows"], key, g), 34_000_016, "{by}");
        assert_eq!(spend_of(&b["rows"], key, t), 10_000_000, "{by}");
        assert_eq!(b["rows"].as_array().unwrap().len(), 3);
    }
    let (status, b) = get(
        &c,
        &format!("/v1/analytics/breakdown?{P}&by=organisation&convert_to=EUR"),
    )
    .await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(micros(&b["rows"][0]["spend"]), 289_000_016);
    let (status, e) = get(
        &c,
        &format!("/v1/analytics/breakdown?{P}&by=country&convert_to=EUR"),
    )
    .await;
    assert_eq!(status, 422, "{e}");
    assert_eq!(error_fields(&e), ["convert_to"]);

    // An amount ranked across currencies needs one currency: converted, it
    // has one (the lowest spend ranks first).
    let (status, e) = get(&c, &format!("/v1/analytics/performers?{P}&metric=spend")).await;
    assert_eq!(status, 422, "{e}");
    let (status, r) = get(
        &c,
        &format!("/v1/analytics/performers?{P}&metric=spend&convert_to=EUR"),
    )
    .await;
    assert_eq!(status, 200, "{r}");
    let ranked: Vec<(&str, f64)> = r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["external_id"].as_str().unwrap(),
                x["value"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ranked,
        [
            ("t-c3", 10_000_000.0),
            ("g-c2", 34_000_016.0),
            ("m-c1", 245_000_000.0)
        ],
        "the least spend is the best"
    );
    assert_eq!(r["fx"]["converted"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_cross_goes_through_eur_and_a_day_without_a_rate_is_refused() {
    let (app, svc) = spawn().await;
    let boss = owner(&app, "fxcross").await;
    let c = boss.caller(&app);
    feed_fx(&svc, boss.org_id).await;
    assert_eq!(put(&c, &rates()).await.0, 200);

    let (status, s) = get(&c, &format!("/v1/analytics/summary?{P}&convert_to=USD")).await;
    assert_eq!(status, 200, "{s}");
    let cur = &in_currency(&s, "USD")["current"];
    assert_eq!(micros(&cur["spend"]), 412_700_026);
    let by: Vec<&Value> = s["fx"]["converted"].as_array().unwrap().iter().collect();
    assert_eq!(by[0]["currency"], "EUR");
    assert_eq!(by[0]["routes"], json!(["EUR→USD"]));
    assert_eq!(by[1]["currency"], "GBP");
    assert_eq!(by[1]["routes"], json!(["GBP→EUR→USD"]));
    assert_eq!(by[1]["min_rate"], "1.5");
    assert_eq!(by[1]["max_rate"], "1.76");

    // 20 March: the newest USD rate is 1 March's, 19 days old (the most is 7).
    let (status, e) = get(
        &c,
        "/v1/analytics/summary?since=2026-02-27&until=2026-03-20&convert_to=EUR",
    )
    .await;
    assert_eq!(status, 422, "{e}");
    assert_eq!(code(&e), "validation_failed");
    assert_eq!(error_fields(&e), ["convert_to"]);
    let message = e["error"]["details"]["fields"][0]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("{e}"));
    assert!(
        message.starts_with("USD has no usable rate to EUR on 2026-03-20"),
        "{message}"
    );
    // An unknown currency is named as such.
    let (status, e) = get(&c, &format!("/v1/analytics/timeseries?{P}&convert_to=EURO")).await;
    assert_eq!(status, 422, "{e}");
    assert_eq!(error_fields(&e), ["convert_to"]);
}

#[tokio::test]
async fn a_client_without_rates_converts_at_its_agencys() {
    let (app, svc) = spawn().await;
    let boss = owner(&app, "fxagency").await;
    let agency = boss.caller(&app);
    let client = client_org(&agency, "Client FX").await;
    feed_fx(&svc, client).await;
    assert_eq!(put(&agency, &rates()).await.0, 200);
    let (status, s) = get(
        &agency.in_org(client),
        &format!("/v1/analytics/summary?{P}&convert_to=EUR"),
    )
    .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(
        micros(&in_currency(&s, "EUR")["current"]["spend"]),
        289_000_016
    );
    // The agency's roll-up of its clients converts at the agency's rates.
    let (status, s) = get(
        &agency,
        &format!("/v1/analytics/summary?{P}&convert_to=EUR&scope=clients"),
    )
    .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(
        micros(&in_currency(&s, "EUR")["current"]["spend"]),
        289_000_016
    );
    // The client's own rate of a pair wins over the agency's: GBP→EUR 2.
    let own = json!({"rates": [
        {"day": "2026-02-27", "base": "GBP", "quote": "EUR", "rate": "2"},
        {"day": "2026-03-01", "base": "GBP", "quote": "EUR", "rate": "2"},
    ]});
    assert_eq!(put(&agency.in_org(client), &own).await.0, 200);
    let (_, s) = get(
        &agency.in_org(client),
        &format!("/v1/analytics/summary?{P}&convert_to=EUR&compare=none"),
    )
    .await;
    // USD €245 and EUR €10 as before; GBP £30.000015 × 2 = €60.00003.
    assert_eq!(
        micros(&in_currency(&s, "EUR")["current"]["spend"]),
        315_000_030
    );
}

#[tokio::test]
async fn rates_are_written_all_or_nothing_listed_by_page_and_need_org_manage() {
    let (app, _svc) = spawn().await;
    let boss = owner(&app, "fxwrite").await;
    let c = boss.caller(&app);
    let bad = json!({"rates": [
        {"day": "2026-02-27", "base": "EUR", "quote": "USD", "rate": "1.25"},
        {"day": "2026-02-27", "base": "EUR", "quote": "GBP", "rate": "0.8.1"},
    ]});
    let (status, e) = put(&c, &bad).await;
    assert_eq!(status, 422, "{e}");
    assert_eq!(error_fields(&e), ["rates[1].rate"]);
    let (_, list) = get(&c, "/v1/analytics/fx-rates").await;
    assert_eq!(list["items"], json!([]), "nothing written");

    assert_eq!(put(&c, &rates()).await.0, 200);
    // The same pair and day again replaces the rate.
    let again =
        json!({"rates": [{"day": "2026-02-27", "base": "EUR", "quote": "USD", "rate": "1.2500"}]});
    assert_eq!(put(&c, &again).await.0, 200);
    let (status, page) = get(&c, "/v1/analytics/fx-rates?limit=3").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        page["items"][0],
        json!({"day": "2026-02-27", "base": "EUR", "quote": "USD", "rate": "1.25", "source": "manual"})
    );
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    let cursor = page["next_cursor"].as_str().unwrap();
    let (_, rest) = get(
        &c,
        &format!("/v1/analytics/fx-rates?limit=3&cursor={cursor}"),
    )
    .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1, "{rest}");
    assert_eq!(rest["items"][0]["day"], "2026-03-01");
    assert_eq!(rest["items"][0]["base"], "GBP");
    assert_eq!(rest["next_cursor"], Value::Null);
    let (_, only) = get(&c, "/v1/analytics/fx-rates?base=GBP&since=2026-03-01").await;
    assert_eq!(only["items"].as_array().unwrap().len(), 1, "{only}");
    let (_, audit) = get(&c, "/v1/audit?action=analytics.fx_rates_written").await;
    assert_eq!(audit["items"].as_array().unwrap().len(), 2, "{audit}");
    let (status, e) = get(&c, "/v1/analytics/fx-rates?cursor=nonsense").await;
    assert_eq!(status, 422, "{e}");
    assert_eq!(error_fields(&e), ["cursor"]);

    // An analyst reads rates but may not write them.
    let analyst = member(
        &app,
        &c,
        "analyst",
        &format!("a-{}@fx.example", Uuid::now_v7()),
    )
    .await;
    let a = analyst.caller(&app);
    assert_eq!(get(&a, "/v1/analytics/fx-rates").await.0, 200);
    let (status, e) = put(&a, &rates()).await;
    assert_eq!(status, 403, "{e}");
    let (status, _) = json(a.post_empty("/v1/analytics/fx-rates/import").await).await;
    assert_eq!(status, 403);
}

const ECB: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">
  <gesmes:subject>Reference rates</gesmes:subject>
  <gesmes:Sender><gesmes:name>European Central Bank</gesmes:name></gesmes:Sender>
  <Cube>
    <Cube time="2026-03-01"><Cube currency="USD" rate="1.6"/><Cube currency="GBP" rate="0.8"/></Cube>
    <Cube time="2026-02-27"><Cube currency="USD" rate="1.25"/><Cube currency="GBP" rate="0.8"/></Cube>
  </Cube>
</gesmes:Envelope>"#;

async fn spawn_with_ecb(server: &MockServer) -> (TestApp, Arc<AnalyticsService>) {
    let url = format!("{}/eurofxref-hist-90d.xml", server.uri());
    let app = identity_app()
        .clock(Arc::new(TestClock::at(NOW)))
        .configure(move |c| {
            c.set_section("analytics", json!({"fx_ecb_url": url}));
            c.outbound.max_attempts = 2;
            c.outbound.backoff_base_ms = 1;
            c.outbound.backoff_max_ms = 5;
        })
        .module(Arc::new(AnalyticsModule::new()))
        .spawn()
        .await;
    let svc = service(&app);
    (app, svc)
}

#[tokio::test]
async fn the_ecb_reference_rates_are_imported_as_euro_rates() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/eurofxref-hist-90d.xml"))
        .respond_with(ResponseTemplate::new(200).set_body_string(ECB))
        .mount(&server)
        .await;
    let (app, svc) = spawn_with_ecb(&server).await;
    let boss = owner(&app, "ecb").await;
    let c = boss.caller(&app);
    feed_fx(&svc, boss.org_id).await;
    let (status, w) = json(c.post_empty("/v1/analytics/fx-rates/import").await).await;
    assert_eq!(status, 200, "{w}");
    assert_eq!(
        w,
        json!({"written": 4, "source": "ecb", "first_day": "2026-02-27", "last_day": "2026-03-01"})
    );
    let (_, list) = get(&c, "/v1/analytics/fx-rates?quote=USD").await;
    assert_eq!(
        list["items"][1],
        json!({"day": "2026-03-01", "base": "EUR", "quote": "USD", "rate": "1.6", "source": "ecb"})
    );
    // GBP → EUR is the inverse of EUR → GBP 0.8: £10 → €12.50.
    let (status, s) = get(&c, &format!("/v1/analytics/summary?{P}&convert_to=EUR")).await;
    assert_eq!(status, 200, "{s}");
    let gbp = &s["fx"]["converted"][0];
    assert_eq!(gbp["routes"], json!(["GBP→EUR (inverse of EUR→GBP)"]));
    assert_eq!(gbp["sources"], json!(["ecb"]));
    assert!(
        s["fx"]["basis"]
            .as_str()
            .unwrap()
            .contains("ECB reference rates 2026-02-27 – 2026-03-01"),
        "{s}"
    );
}

#[tokio::test]
async fn a_broken_ecb_file_is_a_clear_error_and_a_failing_server_a_transient_one() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/eurofxref-hist-90d.xml"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string("<gesmes:Envelope><Cube></gesmes:Envelope>"),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/eurofxref-hist-90d.xml"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let (app, _svc) = spawn_with_ecb(&server).await;
    let boss = owner(&app, "ecbfail").await;
    let c = boss.caller(&app);

    let (status, e) = json(c.post_empty("/v1/analytics/fx-rates/import").await).await;
    assert_eq!(status, 502, "{e}");
    assert_eq!(code(&e), "upstream_failed");
    let message = e["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("not the European Central Bank's reference rates")
            && message.contains("not well-formed"),
        "{message}"
    );
    let resp = c.post_empty("/v1/analytics/fx-rates/import").await;
    assert_eq!(resp.status(), 503);
    assert!(resp.headers().get("retry-after").is_some());
    let (_, e) = json(resp).await;
    assert_eq!(code(&e), "unavailable");
    let (_, list) = get(&c, "/v1/analytics/fx-rates").await;
    assert_eq!(list["items"], json!([]), "nothing written");
}

#[tokio::test]
async fn an_export_job_carries_convert_to() {
    let (app, svc) = spawn().await;
    let boss = owner(&app, "fxexport").await;
    let c = boss.caller(&app);
    feed_fx(&svc, boss.org_id).await;
    assert_eq!(put(&c, &rates()).await.0, 200);
    let body = json!({
        "report": "breakdown",
        "format": "csv",
        "query": {"since": "2026-02-27", "until": "2026-03-01", "by": "platform", "convert_to": "EUR"}
    });
    let (status, queued) = json(c.post("/v1/analytics/exports", &body).await).await;
    assert_eq!(status, 202, "{queued}");
    assert_eq!(queued["query"]["convert_to"], "EUR");
    let id = queued["id"].as_str().unwrap().to_owned();
    let mut done = Value::Null;
    for _ in 0..1200 {
        let (_, v) = get(&c, &format!("/v1/analytics/exports/{id}")).await;
        if !matches!(v["status"].as_str(), Some("queued" | "running")) {
            done = v;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(done["status"], "ready", "{done}");
    let csv = c
        .get(done["download_url"].as_str().unwrap())
        .await
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(lines[1..].iter().all(|l| l.contains(",EUR,")), "{csv}");
    assert!(!csv.contains("USD") && !csv.contains("GBP"), "{csv}");
    let line = |platform: &str| {
        *lines
            .iter()
            .find(|l| l.contains(&format!(",{platform},")))
            .unwrap_or_else(|| panic!("no {platform} in {csv}"))
    };
    assert!(line("meta").contains(",EUR,245,"), "{csv}");
    assert!(line("google").contains(",EUR,34.000016,"), "{csv}");
}
