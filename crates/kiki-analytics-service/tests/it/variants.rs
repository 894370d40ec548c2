//! The variant comparison and the `by=variant` breakdown against a
//! hand-computed fixture: campaign C on Meta with ad sets S1 and S2 and two
//! creatives. V1 runs in both ad sets (ads m-11 and m-21), V2 in S1 (ad
//! m-12); ad m-x was not placed by KIKI (no KIKI ad id).
//!
//! | day    | ad   | spend | revenue | conv. | impr. | clicks |
//! |--------|------|-------|---------|-------|-------|--------|
//! | 27 Feb | m-11 | 30    | 90      | 1.5   | 2,000 | 40     |
//! | 28 Feb | m-11 | 5     | 0       | 0     | 500   | 0      |
//! | 1 Mar  | m-21 | 25    | 60      | 1.2   | 1,500 | 20     |
//! | 27 Feb | m-12 | 20    | 100     | 2     | 1,000 | 30     |
//! | 1 Mar  | m-12 | 20    | 20      | 0.5   | 1,000 | 20     |
//! | 27 Feb | m-x  | 10    | 0       | 0     | 100   | 1      |
//!
//! V1: $60 spend, $150 revenue, 2.7 conversions, 4,000 impressions, 60
//! clicks. V2: $40, $120, 2.5, 2,000, 50.

use serde_json::Value;
use time::macros::date;

use crate::*;

const P: &str = "since=2026-02-27&until=2026-03-01";

struct Fixture {
    campaign: Uuid,
    v1: Uuid,
    v2: Uuid,
}

async fn feed_variants(svc: &AnalyticsService, org: Uuid) -> Fixture {
    let f = Fixture {
        campaign: Uuid::now_v7(),
        v1: Uuid::now_v7(),
        v2: Uuid::now_v7(),
    };
    let (s1, s2) = (Uuid::now_v7(), Uuid::now_v7());
    let kiki_ad = |set: Uuid, creative: Uuid| format!("{set}:{creative}");
    let (a11, a21, a12) = (kiki_ad(s1, f.v1), kiki_ad(s2, f.v1), kiki_ad(s1, f.v2));
    #[rustfmt::skip]
    let ads = [
        (date!(2026 - 02 - 27), "m-11", s1, Some(a11.as_str()), 30.0, 90.0, 1.5, 2_000, 40),
        (date!(2026 - 02 - 28), "m-11", s1, Some(a11.as_str()), 5.0, 0.0, 0.0, 500, 0),
        (date!(2026 - 03 - 01), "m-21", s2, Some(a21.as_str()), 25.0, 60.0, 1.2, 1_500, 20),
        (date!(2026 - 02 - 27), "m-12", s1, Some(a12.as_str()), 20.0, 100.0, 2.0, 1_000, 30),
        (date!(2026 - 03 - 01), "m-12", s1, Some(a12.as_str()), 20.0, 20.0, 0.5, 1_000, 20),
        (date!(2026 - 02 - 27), "m-x", s1, None, 10.0, 0.0, 0.0, 100, 1),
    ];
    let rows: Vec<DailyRow> = ads
        .iter()
        .map(|(d, ext, set, ad, sp, rv, cv, im, cl)| {
            row(
                Level::Ad,
                "meta",
                ext,
                *d,
                (Some(f.campaign), Some(*set), *ad),
                usd(*sp),
                usd(*rv),
                *cv,
                *im,
                *cl,
            )
        })
        .collect();
    let period = kiki_analytics::Period::new(date!(2026 - 02 - 20), date!(2026 - 03 - 02)).unwrap();
    svc.record_daily(&TenantScope::single(OrgId(org)), "meta", period, &rows)
        .await
        .expect("the rows are recorded");
    f
}

fn close(v: &Value, want: f64) {
    let got = v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"));
    assert!((got - want).abs() < 1e-9, "{got} != {want}");
}

#[tokio::test]
async fn variants_are_compared_side_by_side_with_counts_and_intervals() {
    let (app, svc) = spawn().await;
    let boss = owner(&app, "variants").await;
    let c = boss.caller(&app);
    let f = feed_variants(&svc, boss.org_id).await;

    let (status, v) = get(
        &c,
        &format!("/v1/analytics/variants?{P}&campaign_id={}", f.campaign),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["campaign_id"], f.campaign.to_string());
    let rows = v["variants"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{v}");
    // The highest CTR first: V2 (2.5 %), then V1 (1.5 %).
    let (r2, r1) = (&rows[0], &rows[1]);
    assert_eq!(r2["creative_id"], f.v2.to_string());
    assert_eq!(r1["creative_id"], f.v1.to_string());
    // Not labelled without the campaigns module.
    assert_eq!(r1["variation"], Value::Null);

    // V1: the ads of both ad sets summed, the zero-click day included.
    assert_eq!(r1["ads"], 2);
    assert_eq!(r1["platform"], "meta");
    assert_eq!(r1["currency"], "USD");
    assert_eq!(r1["impressions"], 4_000);
    assert_eq!(r1["clicks"], 60);
    close(&r1["conversions"], 2.7);
    assert_eq!(micros(&r1["spend"]), 60_000_000);
    assert_eq!(micros(&r1["revenue"]), 150_000_000);
    // CTR 60 / 4000, Wilson 95 %: hand-computed to 1e-12.
    close(&r1["ctr"]["rate"], 0.015);
    assert_eq!(
        (
            r1["ctr"]["successes"].as_u64(),
            r1["ctr"]["trials"].as_u64()
        ),
        (Some(60), Some(4_000))
    );
    close(&r1["ctr"]["low"], 0.011671610632);
    close(&r1["ctr"]["high"], 0.019259049359);
    // CVR 2.7 / 60 = 0.045; the interval on whole conversions: 2 of 60.
    close(&r1["cvr"]["rate"], 0.045);
    assert_eq!(
        (
            r1["cvr"]["successes"].as_u64(),
            r1["cvr"]["trials"].as_u64()
        ),
        (Some(2), Some(60))
    );
    close(&r1["cvr"]["low"], 0.009189319256);
    close(&r1["cvr"]["high"], 0.113637742743);
    // CPA $60 / 2.7 = $22.222222; ROAS 150 / 60.
    assert_eq!(micros(&r1["cpa"]), 22_222_222);
    close(&r1["roas"], 2.5);

    // V2: 50 of 2000 (2.5 %), 2.5 conversions (2 counted) of 50 clicks.
    assert_eq!(r2["ads"], 1);
    assert_eq!(micros(&r2["spend"]), 40_000_000);
    close(&r2["ctr"]["rate"], 0.025);
    close(&r2["ctr"]["low"], 0.019014423504);
    close(&r2["ctr"]["high"], 0.032806771413);
    close(&r2["cvr"]["rate"], 0.05);
    assert_eq!(r2["cvr"]["successes"], 2);
    close(&r2["cvr"]["low"], 0.011038884328);
    close(&r2["cvr"]["high"], 0.134600906875);
    assert_eq!(micros(&r2["cpa"]), 16_000_000);
    close(&r2["roas"], 3.0);

    // V2 leads, but its low end (0.019014) is under V1's high end
    // (0.019259): the intervals overlap.
    let l = &v["leader"];
    assert_eq!(l["creative_id"], f.v2.to_string());
    close(&l["ctr"], 0.025);
    assert_eq!(l["compared"], 1);
    assert_eq!(l["overlapping"], serde_json::json!([f.v1.to_string()]));
    assert_eq!(l["separated"], false);
    let said = v["observation"].as_str().unwrap();
    assert!(
        said.contains("has the highest observed CTR (2.50 %)"),
        "{said}"
    );
    assert!(said.contains("not yet distinguishable"), "{said}");
    assert!(said.contains("not a significance test"), "{said}");

    // The ad KIKI did not place is apart.
    let un = v["unattributed"].as_array().unwrap();
    assert_eq!(un.len(), 1, "{v}");
    assert_eq!(micros(&un[0]["spend"]), 10_000_000);
    assert_eq!(un[0]["impressions"], 100);

    // The days narrow the sums: 27 Feb alone.
    let (_, day) = get(
        &c,
        &format!(
            "/v1/analytics/variants?since=2026-02-27&until=2026-02-27&campaign_id={}",
            f.campaign
        ),
    )
    .await;
    let one = &day["variants"];
    assert_eq!(one[0]["creative_id"], f.v2.to_string());
    close(&one[0]["ctr"]["rate"], 0.03);
    assert_eq!(one[1]["impressions"], 2_000);
    assert_eq!(one[1]["ads"], 1);
}

#[tokio::test]
async fn the_variant_breakdown_is_the_sum_of_its_ads() {
    let (app, svc) = spawn().await;
    let boss = owner(&app, "variant-breakdown").await;
    let c = boss.caller(&app);
    let f = feed_variants(&svc, boss.org_id).await;

    let q = format!("{P}&campaign_id={}", f.campaign);
    let (status, by_variant) = get(&c, &format!("/v1/analytics/breakdown?by=variant&{q}")).await;
    assert_eq!(status, 200, "{by_variant}");
    assert_eq!(by_variant["by"], "variant");
    let (status, by_ad) = get(&c, &format!("/v1/analytics/breakdown?by=ad&{q}")).await;
    assert_eq!(status, 200, "{by_ad}");
    let rows = by_variant["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "the unattributed ad is in no variant");
    // The largest spend first: V1 ($60), then V2 ($40).
    assert_eq!(rows[0]["creative"]["creative_id"], f.v1.to_string());
    assert_eq!(rows[1]["creative"]["creative_id"], f.v2.to_string());
    assert_eq!(rows[0]["campaign_id"], f.campaign.to_string());
    for (r, creative) in [(&rows[0], f.v1), (&rows[1], f.v2)] {
        let suffix = format!(":{creative}");
        let ads: Vec<&Value> = by_ad["rows"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["ad_id"].as_str().is_some_and(|id| id.ends_with(&suffix)))
            .collect();
        for field in ["spend", "revenue"] {
            let sum: i64 = ads.iter().map(|a| micros(&a[field])).sum();
            assert_eq!(micros(&r[field]), sum, "{field}");
        }
        for field in ["impressions", "clicks"] {
            let sum: i64 = ads.iter().map(|a| a[field].as_i64().unwrap()).sum();
            assert_eq!(r[field].as_i64().unwrap(), sum, "{field}");
        }
        let conv: f64 = ads.iter().map(|a| a["conversions"].as_f64().unwrap()).sum();
        close(&r["conversions"], conv);
    }
    assert_eq!(micros(&rows[0]["spend"]), 60_000_000);
    close(&rows[0]["ctr"], 0.015);
    close(&rows[1]["cvr"], 0.05);

    // The CSV carries the creative's columns first.
    let resp = c
        .get(&format!(
            "/v1/analytics/breakdown?by=variant&format=csv&{q}"
        ))
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    let body = resp.text().await.unwrap();
    let mut lines = body.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("creative_id,variation,headline,organisation_id,platform"),
        "{body}"
    );
    assert!(lines.next().unwrap().starts_with(&format!("{},,,", f.v1)));
}

#[tokio::test]
async fn the_variant_table_exports_and_the_campaign_is_required() {
    let (app, svc) = spawn().await;
    let boss = owner(&app, "variant-export").await;
    let c = boss.caller(&app);
    let f = feed_variants(&svc, boss.org_id).await;

    let resp = c
        .get(&format!(
            "/v1/analytics/variants?{P}&campaign_id={}&format=csv",
            f.campaign
        ))
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    let body = resp.text().await.unwrap();
    let mut r = csv::Reader::from_reader(body.as_bytes());
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(&header[..3], ["creative_id", "variation", "headline"]);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let recs: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(recs.len(), 2);
    assert_eq!(&recs[0][col("creative_id")], f.v2.to_string());
    assert_eq!(&recs[0][col("spend")], "40");
    assert_eq!(&recs[0][col("leader")], "highest CTR");
    assert_eq!(&recs[1][col("cvr_conversions_counted")], "2");
    assert_eq!(&recs[1][col("cpa")], "22.222222");

    // The PDF of the same table.
    let resp = c
        .get(&format!(
            "/v1/analytics/variants?{P}&campaign_id={}&format=pdf",
            f.campaign
        ))
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    let pdf = resp.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF"));

    // Without a campaign: refused, naming the field.
    let (status, e) = get(&c, &format!("/v1/analytics/variants?{P}")).await;
    assert!(status == 400 || status == 422, "{status} {e}");
    assert!(e.to_string().contains("campaign_id"), "{e}");
}

#[tokio::test]
async fn another_organisations_campaign_shows_no_variants() {
    let (app, svc) = spawn().await;
    let a = owner(&app, "variants-a").await;
    let b = owner(&app, "variants-b").await;
    let theirs = feed_variants(&svc, b.org_id).await;

    let (status, v) = get(
        &a.caller(&app),
        &format!("/v1/analytics/variants?{P}&campaign_id={}", theirs.campaign),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["variants"], serde_json::json!([]));
    assert_eq!(v["leader"], Value::Null);
    assert_eq!(v["unattributed"], serde_json::json!([]));
    assert!(
        v["observation"]
            .as_str()
            .unwrap()
            .starts_with("No ad of this campaign")
    );
    let (_, bd) = get(
        &a.caller(&app),
        &format!(
            "/v1/analytics/breakdown?by=variant&{P}&campaign_id={}",
            theirs.campaign
        ),
    )
    .await;
    assert_eq!(bd["rows"], serde_json::json!([]));
    // Its owner sees them.
    let (_, mine) = get(
        &b.caller(&app),
        &format!("/v1/analytics/variants?{P}&campaign_id={}", theirs.campaign),
    )
    .await;
    assert_eq!(mine["variants"].as_array().unwrap().len(), 2);
}
