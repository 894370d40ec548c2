//! The reads against the hand-computed fixture (see `main.rs`): 27 Feb to
//! 1 Mar holds, in dollars, meta's C1 (spend 100 + 0 + 200, revenue 300 +
//! 0 + 500, conversions 3 + 0 + 4.5, impressions 30,000, clicks 500) and
//! google's C2 (spend 50 + 50, revenue 50 + 150, conversions 1.5,
//! impressions 10,000, clicks 100); in euros, TikTok's C3 (spend 10,
//! revenue 30, one conversion, 1,000 impressions, 10 clicks).

use serde_json::{Value, json};

use crate::*;

const P: &str = "since=2026-02-27&until=2026-03-01";

#[tokio::test]
async fn the_summary_is_computed_from_sums_per_currency_with_the_previous_period() {
    let (app, svc) = spawn().await;
    let boss = owner(&app, "summary").await;
    let c = boss.caller(&app);
    let ids = Ids::default();
    feed(&svc, boss.org_id, &ids).await;

    let (status, s) = get(&c, &format!("/v1/analytics/summary?{P}")).await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(
        s["period"],
        json!({"since": "2026-02-27", "until": "2026-03-01", "days": 3})
    );
    assert_eq!(
        s["comparison"],
        json!({"since": "2026-02-24", "until": "2026-02-26", "days": 3})
    );
    let currencies: Vec<&str> = s["currencies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["currency"].as_str().unwrap())
        .collect();
    assert_eq!(currencies, ["EUR", "USD"], "never summed across currencies");

    let usd = in_currency(&s, "USD");
    let cur = &usd["current"];
    assert_eq!(micros(&cur["spend"]), 400_000_000);
    assert_eq!(micros(&cur["revenue"]), 1_000_000_000);
    assert_eq!(cur["conversions"], 9.0);
    assert_eq!(cur["impressions"], 40_000);
    assert_eq!(cur["clicks"], 600);
    assert_eq!(cur["roas"], 2.5);
    // $400 / 9 = $44.444444…
    assert_eq!(micros(&cur["cpa"]), 44_444_444);
    assert_eq!(cur["ctr"], 0.015);
    assert_eq!(micros(&cur["cpc"]), 666_667);
    assert_eq!(micros(&cur["cpm"]), 10_000_000);
    assert_eq!(cur["cvr"], 0.015);
    assert_eq!(cur["active_campaigns"], 2);
    // No margin configured: 100 % of revenue is assumed to be profit.
    assert_eq!(micros(&cur["gross_profit"]), 1_000_000_000);
    assert_eq!(micros(&cur["profit_after_ad_spend"]), 600_000_000);
    assert_eq!(s["margins"][0]["assumed"], true);

    // The previous period: C1 on 25 Feb ($50 spend, $100 revenue).
    let prev = &usd["previous"];
    assert_eq!(micros(&prev["spend"]), 50_000_000);
    assert_eq!(prev["roas"], 2.0);
    assert_eq!(prev["active_campaigns"], 1);
    let ch = &usd["change"];
    assert_eq!(micros(&ch["spend"]["absolute"]), 350_000_000);
    assert_eq!(ch["spend"]["relative"], 7.0);
    assert_eq!(ch["roas"]["absolute"], 0.5);
    assert_eq!(ch["roas"]["relative"], 0.25);
    assert_eq!(ch["active_campaigns"]["absolute"], 1.0);

    // Euros had nothing before: no relative change, no ROAS change.
    let eur = in_currency(&s, "EUR");
    assert_eq!(micros(&eur["current"]["spend"]), 10_000_000);
    assert_eq!(eur["current"]["roas"], 3.0);
    assert_eq!(eur["previous"]["roas"], Value::Null, "zero spend: no ROAS");
    assert_eq!(eur["change"]["spend"]["relative"], Value::Null);
    assert_eq!(eur["change"]["roas"]["absolute"], Value::Null);

    // A 30 % margin: $1,000 × 30 % = $300 gross profit, −$100 after ads.
    let (status, org) = json(
        c.patch(
            &format!("/v1/organisations/{}", boss.org_id),
            &json!({"contribution_margin_bps": 3000}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{org}");
    let (_, s) = get(
        &c,
        &format!("/v1/analytics/summary?{P}&currency=USD&compare=none"),
    )
    .await;
    assert_eq!(s["comparison"], Value::Null);
    let usd = in_currency(&s, "USD");
    assert_eq!(usd["previous"], Value::Null);
    assert_eq!(micros(&usd["current"]["gross_profit"]), 300_000_000);
    assert_eq!(
        micros(&usd["current"]["profit_after_ad_spend"]),
        -100_000_000
    );
    assert_eq!(
        s["margins"][0],
        json!({"organisation_id": boss.org_id, "margin_bps": 3000, "assumed": false})
    );
    assert_eq!(s["currencies"].as_array().unwrap().len(), 1);

    // A chosen comparison period, and one platform.
    let (_, s) = get(
        &c,
        &format!("/v1/analytics/summary?{P}&platform=google&compare=custom&compare_since=2026-03-01&compare_until=2026-03-01"),
    )
    .await;
    let usd = in_currency(&s, "USD");
    assert_eq!(micros(&usd["current"]["spend"]), 100_000_000);
    assert_eq!(micros(&usd["previous"]["spend"]), 50_000_000);
    assert_eq!(usd["change"]["spend"]["relative"], 1.0);

    // Another organisation sees none of it.
    let other = owner(&app, "other").await;
    let (_, s) = get(&other.caller(&app), &format!("/v1/analytics/summary?{P}")).await;
    assert_eq!(s["currencies"], json!([]));
}

#[tokio::test]
async fn today_is_the_time_zones_and_bad_queries_name_their_field() {
    let (app, svc) = spawn().await;
    let boss = owner(&app, "zones").await;
    let c = boss.caller(&app);
    let ids = Ids::default();
    feed(&svc, boss.org_id, &ids).await;
    // 23:30 UTC on 1 March: in UTC the default range ends on 1 March; in
    // Auckland it is already 2 March, whose $70 counts.
    let spend = |s: &Value| micros(&in_currency(s, "USD")["current"]["spend"]);
    let (_, utc) = get(&c, "/v1/analytics/summary?currency=USD").await;
    assert_eq!(utc["period"]["until"], "2026-03-01");
    assert_eq!(utc["period"]["since"], "2026-01-31", "30 days by default");
    assert_eq!(spend(&utc), 450_000_000);
    let (_, akl) = get(&c, "/v1/analytics/summary?currency=USD&tz=Pacific/Auckland").await;
    assert_eq!(akl["period"]["until"], "2026-03-02");
    assert_eq!(akl["time_zone"], "Pacific/Auckland");
    assert_eq!(spend(&akl), 520_000_000);
    // The organisation's own time zone is the default once set; `tz` still
    // wins, and clearing it goes back to the configured default.
    let org_path = format!("/v1/organisations/{}", boss.org_id);
    let (status, o) = json(
        c.patch(&org_path, &json!({"time_zone": "Pacific/Auckland"}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{o}");
    assert_eq!(o["time_zone"], "Pacific/Auckland");
    let (_, own) = get(&c, "/v1/analytics/summary?currency=USD").await;
    assert_eq!(own["time_zone"], "Pacific/Auckland", "{own}");
    assert_eq!(own["period"]["until"], "2026-03-02");
    assert_eq!(spend(&own), 520_000_000);
    let (_, asked) = get(&c, "/v1/analytics/summary?currency=USD&tz=UTC").await;
    assert_eq!(asked["period"]["until"], "2026-03-01");
    let (status, e) = json(
        c.patch(&org_path, &json!({"time_zone": "Mars/Olympus"}))
            .await,
    )
    .await;
    assert_eq!(status, 422, "{e}");
    assert_eq!(e["error"]["details"]["fields"][0]["field"], "time_zone");
    let (status, o) = json(c.patch(&org_path, &json!({"time_zone": null})).await).await;
    assert_eq!(status, 200, "{o}");
    assert!(o["time_zone"].is_null());
    let (_, back) = get(&c, "/v1/analytics/summary?currency=USD").await;
    assert_eq!(back["time_zone"], "UTC");

    for (query, field) in [
        ("since=2026-03-02&until=2026-03-01", "until"),
        ("since=2000-01-01&until=2026-03-01", "until"),
        ("tz=Mars/Olympus", "tz"),
        ("currency=US1", "currency"),
    ] {
        let (status, e) = get(&c, &format!("/v1/analytics/summary?{query}")).await;
        assert_eq!(status, 422, "{query}: {e}");
        assert_eq!(e["error"]["details"]["fields"][0]["field"], field, "{e}");
    }
    let (status, e) = get(&c, "/v1/analytics/summary?compare=custom").await;
    assert_eq!(status, 422, "{e}");
    assert_eq!(e["error"]["details"]["fields"].as_array().unwrap().len(), 2);
    // A value outside a parameter's enumeration is the query string's 400.
    let (status, e) = get(&c, "/v1/analytics/timeseries?granularity=hour").await;
    assert_eq!(status, 400, "{e}");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("`hour`"),
        "{e}"
    );
}

#[tokio::test]
async fn time_series_fill_every_bucket_and_leave_undefined_ratios_null() {
    let (app, svc) = spawn().await;
    let boss = owner(&app, "series").await;
    let c = boss.caller(&app);
    feed(&svc, boss.org_id, &Ids::default()).await;

    let (status, t) = get(&c, &format!("/v1/analytics/timeseries?{P}&currency=USD")).await;
    assert_eq!(status, 200, "{t}");
    let points = t["points"].as_array().unwrap();
    let days: Vec<(&str, i64)> = points
        .iter()
        .map(|p| (p["start"].as_str().unwrap(), micros(&p["spend"])))
        .collect();
    assert_eq!(
        days,
        [
            ("2026-02-27", 150_000_000),
            ("2026-02-28", 0),
            ("2026-03-01", 250_000_000)
        ]
    );
    // The day without spend: ratios with a zero denominator are null.
    assert_eq!(points[1]["roas"], Value::Null);
    assert_eq!(points[1]["ctr"], Value::Null);
    assert_eq!(points[1]["cpa"], Value::Null);
    // 27 Feb: $350 / $150.
    assert_eq!(points[0]["roas"], 350.0 / 150.0);

    let (_, w) = get(
        &c,
        &format!("/v1/analytics/timeseries?{P}&currency=USD&granularity=week"),
    )
    .await;
    assert_eq!(w["points"].as_array().unwrap().len(), 1);
    assert_eq!(
        w["points"][0]["start"], "2026-02-23",
        "the ISO week's Monday"
    );
    assert_eq!(w["points"][0]["first_day"], "2026-02-27");
    assert_eq!(w["points"][0]["last_day"], "2026-03-01");
    assert_eq!(micros(&w["points"][0]["spend"]), 400_000_000);
    assert_eq!(
        w["points"][0]["roas"], 2.5,
        "the week's sums, not a mean of days"
    );

    let (_, m) = get(
        &c,
        &format!("/v1/analytics/timeseries?{P}&currency=USD&granularity=month"),
    )
    .await;
    let months: Vec<(&str, i64)> = m["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["start"].as_str().unwrap(), micros(&p["spend"])))
        .collect();
    assert_eq!(
        months,
        [("2026-02-01", 150_000_000), ("2026-03-01", 250_000_000)]
    );

    // Both currencies: one point per day and currency.
    let (_, both) = get(&c, &format!("/v1/analytics/timeseries?{P}")).await;
    let pts = both["points"].as_array().unwrap();
    assert_eq!(pts.len(), 6);
    assert_eq!(pts[0]["currency"], "EUR");
    assert_eq!(micros(&pts[0]["spend"]), 10_000_000);
    assert_eq!(micros(&pts[2]["spend"]), 0, "EUR on 28 Feb");
}

#[tokio::test]
async fn breakdowns_rankings_and_drill_down() {
    let (app, svc) = spawn().await;
    let boss = owner(&app, "tables").await;
    let c = boss.caller(&app);
    let ids = Ids::default();
    feed(&svc, boss.org_id, &ids).await;

    let (status, b) = get(&c, &format!("/v1/analytics/breakdown?{P}")).await;
    assert_eq!(status, 200, "{b}");
    let rows: Vec<(&str, &str, i64)> = b["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["platform"].as_str().unwrap(),
                r["currency"].as_str().unwrap(),
                micros(&r["spend"]),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("meta", "USD", 300_000_000),
            ("google", "USD", 100_000_000),
            ("tiktok", "EUR", 10_000_000)
        ]
    );
    assert_eq!(b["total_rows"], 3);

    let (_, ads) = get(&c, &format!("/v1/analytics/breakdown?{P}&by=ad")).await;
    let rows: Vec<(&str, i64)> = ads["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["ad_id"].as_str().unwrap(), micros(&r["spend"])))
        .collect();
    assert_eq!(
        rows,
        [
            ("s1:a1", 210_000_000),
            ("s2:a3", 100_000_000),
            ("s1:a2", 90_000_000)
        ]
    );
    let (_, one) = get(&c, &format!("/v1/analytics/breakdown?{P}&by=ad&limit=1")).await;
    assert_eq!(one["rows"].as_array().unwrap().len(), 1);
    assert_eq!(one["total_rows"], 3);
    assert_eq!(one["truncated"], true);
    let (_, camp) = get(
        &c,
        &format!(
            "/v1/analytics/breakdown?{P}&by=campaign&campaign_id={}",
            ids.c2
        ),
    )
    .await;
    assert_eq!(camp["rows"].as_array().unwrap().len(), 1);
    assert_eq!(camp["rows"][0]["external_id"], "g-c2");
    assert_eq!(camp["rows"][0]["cvr"], 0.015);

    // ROAS: C3 3.0, C1 800/300, C2 2.0.
    let (status, top) = get(&c, &format!("/v1/analytics/performers?{P}&metric=roas")).await;
    assert_eq!(status, 200, "{top}");
    let order: Vec<&str> = top["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["external_id"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["t-c3", "m-c1", "g-c2"]);
    assert_eq!(top["rows"][1]["rank"], 2);
    assert_eq!(top["rows"][1]["value"], 800.0 / 300.0);
    let (_, bottom) = get(
        &c,
        &format!("/v1/analytics/performers?{P}&metric=roas&direction=bottom&limit=1"),
    )
    .await;
    assert_eq!(bottom["rows"][0]["external_id"], "g-c2");
    let (_, min) = get(
        &c,
        &format!("/v1/analytics/performers?{P}&metric=roas&min_clicks=150"),
    )
    .await;
    assert_eq!(min["rows"].as_array().unwrap().len(), 1);
    assert_eq!(min["below_minimum"], 2);
    // A minimum spend is a decimal amount in each row's currency: C2 spent
    // $100, C1 $300.
    let (status, spend) = get(
        &c,
        &format!("/v1/analytics/performers?{P}&metric=roas&min_spend=150.00"),
    )
    .await;
    assert_eq!(status, 200, "{spend}");
    let kept: Vec<&str> = spend["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["external_id"].as_str().unwrap())
        .collect();
    assert!(kept.contains(&"m-c1") && !kept.contains(&"g-c2"), "{spend}");
    for bad in ["-1", "1%2C5", "abc", "1.1234567"] {
        let (status, e) = get(
            &c,
            &format!("/v1/analytics/performers?{P}&metric=roas&min_spend={bad}"),
        )
        .await;
        assert_eq!(status, 422, "{bad}: {e}");
        assert_eq!(
            e["error"]["details"]["fields"][0]["field"], "min_spend",
            "{e}"
        );
    }
    // An amount across currencies is refused; in one currency the lowest
    // CPA is the best: C1 $300 / 7.5 = $40, C2 $100 / 1.5.
    let (status, e) = get(&c, &format!("/v1/analytics/performers?{P}&metric=cpa")).await;
    assert_eq!(status, 422, "{e}");
    assert_eq!(e["error"]["details"]["fields"][0]["field"], "currency");
    let (_, cpa) = get(
        &c,
        &format!("/v1/analytics/performers?{P}&metric=cpa&currency=USD"),
    )
    .await;
    assert_eq!(cpa["rows"][0]["external_id"], "m-c1");
    assert_eq!(cpa["rows"][0]["value"], 40_000_000.0);
    assert_eq!(micros(&cpa["rows"][1]["cpa"]), 66_666_667);

    // Drill-down: C1, its ad set, its days; then the ad set and its ads.
    let (status, d) = get(
        &c,
        &format!("/v1/analytics/drilldown?{P}&campaign_id={}", ids.c1),
    )
    .await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["level"], "campaign");
    assert_eq!(micros(&d["totals"][0]["spend"]), 300_000_000);
    assert_eq!(d["children"].as_array().unwrap().len(), 1);
    assert_eq!(d["children"][0]["ad_set_id"], ids.s1.to_string());
    let daily: Vec<i64> = d["daily"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| micros(&p["spend"]))
        .collect();
    assert_eq!(daily, [100_000_000, 0, 200_000_000]);
    let (_, d) = get(
        &c,
        &format!(
            "/v1/analytics/drilldown?{P}&campaign_id={}&ad_set_id={}",
            ids.c1, ids.s1
        ),
    )
    .await;
    assert_eq!(d["level"], "ad_set");
    let ads: Vec<(&str, i64)> = d["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["ad_id"].as_str().unwrap(), micros(&r["spend"])))
        .collect();
    assert_eq!(ads, [("s1:a1", 210_000_000), ("s1:a2", 90_000_000)]);
    // One ad (by its id on the platform): its totals and its own days only.
    let f = kiki_analytics_service::domain::Filters {
        since: Some(date!(2026 - 02 - 27)),
        until: Some(date!(2026 - 03 - 01)),
        campaign_id: Some(ids.c1),
        ..Default::default()
    };
    let ad = svc
        .drilldown_ad(&TenantScope::single(OrgId(boss.org_id)), &f, ids.s1, "m-a2")
        .await
        .expect("the ad's figures");
    assert_eq!(ad.level.as_str(), "ad");
    assert_eq!(ad.totals.len(), 1);
    assert_eq!(ad.totals[0].spend.micros, 90_000_000);
    assert!(ad.children.is_empty() && !ad.children_truncated);
    let days: Vec<(String, i64)> = ad
        .daily
        .iter()
        .map(|p| {
            (
                kiki_analytics_service::domain::day_text(p.day),
                p.metrics.spend.micros,
            )
        })
        .collect();
    assert_eq!(
        days,
        [
            ("2026-02-27".to_owned(), 40_000_000),
            ("2026-03-01".to_owned(), 50_000_000)
        ]
    );
    // Without a campaign: the organisation, its campaigns below.
    let (status, d) = get(&c, &format!("/v1/analytics/drilldown?{P}&currency=USD")).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["level"], "organisation");
    assert_eq!(micros(&d["totals"][0]["spend"]), 400_000_000);
    let campaigns: Vec<&str> = d["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["external_id"].as_str().unwrap())
        .collect();
    assert_eq!(campaigns, ["m-c1", "g-c2"]);
    assert_eq!(d["daily"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn a_day_fed_again_is_replaced_not_added() {
    let (app, svc) = spawn().await;
    let boss = owner(&app, "replace").await;
    let c = boss.caller(&app);
    let ids = Ids::default();
    feed(&svc, boss.org_id, &ids).await;
    let scope = TenantScope::single(OrgId(boss.org_id));
    let period = kiki_analytics::Period::new(date!(2026 - 02 - 20), date!(2026 - 03 - 02)).unwrap();
    let spend = |s: &Value| micros(&in_currency(s, "USD")["current"]["spend"]);

    // Meta re-synced with doubled numbers: $600 + google's $100.
    svc.record_daily(&scope, "meta", period, &meta_rows(&ids, 2.0))
        .await
        .unwrap();
    let (_, s) = get(&c, &format!("/v1/analytics/summary?{P}")).await;
    assert_eq!(spend(&s), 700_000_000);
    // And again as first reported.
    svc.record_daily(&scope, "meta", period, &meta_rows(&ids, 1.0))
        .await
        .unwrap();
    let (_, s) = get(&c, &format!("/v1/analytics/summary?{P}")).await;
    assert_eq!(spend(&s), 400_000_000);
    let (_, b) = get(
        &c,
        &format!("/v1/analytics/breakdown?{P}&by=ad&currency=USD"),
    )
    .await;
    assert_eq!(b["total_rows"], 3);
    // A sync of one day replaces that day only.
    let one = kiki_analytics::Period::new(date!(2026 - 03 - 01), date!(2026 - 03 - 01)).unwrap();
    let rows: Vec<_> = meta_rows(&ids, 1.0)
        .into_iter()
        .filter(|r| r.day == date!(2026 - 03 - 01))
        .collect();
    svc.record_daily(&scope, "meta", one, &rows).await.unwrap();
    let (_, s) = get(&c, &format!("/v1/analytics/summary?{P}")).await;
    assert_eq!(spend(&s), 400_000_000);
    // A row outside the days it claims to replace is refused.
    let err = svc
        .record_daily(&scope, "meta", one, &meta_rows(&ids, 1.0))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("rows[0]"), "{err}");
}

/// The active campaigns of a summary in one currency (0 when the currency
/// has no entry at all).
fn active_in(summary: &Value, currency: &str) -> i64 {
    summary["currencies"]
        .as_array()
        .expect("currencies")
        .iter()
        .find(|c| c["currency"] == currency)
        .map_or(0, |c| c["current"]["active_campaigns"].as_i64().unwrap())
}

#[tokio::test]
async fn active_campaigns_count_only_days_of_the_range_with_spend() {
    let (app, svc) = spawn().await;
    let boss = owner(&app, "active").await;
    let c = boss.caller(&app);
    let ids = Ids::default();
    feed(&svc, boss.org_id, &ids).await;

    // 28 Feb lies inside both USD campaigns' spend spans (C1: 25 Feb – 2 Mar,
    // C2: 27 Feb – 1 Mar), but C1 spent nothing that day and C2 has no row.
    let (status, s) = get(
        &c,
        "/v1/analytics/summary?since=2026-02-28&until=2026-02-28",
    )
    .await;
    assert_eq!(status, 200, "{s}");
    assert_eq!(active_in(&s, "USD"), 0);

    let (_, s) = get(
        &c,
        &format!("/v1/analytics/summary?{P}&campaign_id={}", ids.c1),
    )
    .await;
    assert_eq!(active_in(&s, "USD"), 1, "the campaign filter applies: {s}");
    let (_, s) = get(&c, &format!("/v1/analytics/summary?{P}&platform=google")).await;
    assert_eq!(active_in(&s, "USD"), 1, "the platform filter applies: {s}");
    let (_, s) = get(&c, &format!("/v1/analytics/summary?{P}&currency=EUR")).await;
    assert_eq!(active_in(&s, "EUR"), 1);
    assert_eq!(active_in(&s, "USD"), 0, "the currency filter applies: {s}");

    // A re-sync that takes C1's spend on 1 Mar away: the span stays wide,
    // but C1 no longer counts on that day; C2 still does.
    let scope = kiki_core::TenantScope::single(kiki_core::OrgId(boss.org_id));
    let day = time::macros::date!(2026 - 03 - 01);
    let period = kiki_analytics::Period::new(day, day).unwrap();
    let rows: Vec<_> = meta_rows(&ids, 1.0)
        .into_iter()
        .filter(|r| r.day == day)
        .map(|mut r| {
            r.spend = usd(0.0);
            r
        })
        .collect();
    svc.record_daily(&scope, "meta", period, &rows)
        .await
        .unwrap();
    let (_, s) = get(
        &c,
        "/v1/analytics/summary?since=2026-03-01&until=2026-03-01",
    )
    .await;
    assert_eq!(active_in(&s, "USD"), 1, "{s}");
}
