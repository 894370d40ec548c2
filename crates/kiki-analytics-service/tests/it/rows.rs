//! The daily rows report: JSON pages walked with the cursor give every
//! stored row of the level once, in key order; the CSV holds the same rows
//! (amounts exact), needs `export`, and names its row count; bad cursors
//! and formats are refused naming the field; another organisation's rows
//! never show.

use std::collections::BTreeSet;

use kiki_test_support::identity::member;
use serde_json::Value;

use crate::*;

const P: &str = "since=2026-02-20&until=2026-03-02";

/// The fixture's campaign-level rows: (platform, external id, day) → spend micros.
fn campaign_rows(ids: &Ids) -> Vec<(String, String, String, i64)> {
    let mut v: Vec<(String, String, String, i64)> = meta_rows(ids, 1.0)
        .into_iter()
        .chain(google_rows(ids))
        .chain(tiktok_rows(ids))
        .filter(|r| r.level == Level::Campaign)
        .map(|r| {
            (
                r.platform.clone(),
                r.external_id.clone(),
                r.day.to_string(),
                r.spend.micros,
            )
        })
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn daily_rows_page_with_a_cursor_and_download_as_one_csv() {
    let (app, svc) = spawn().await;
    let boss = owner(&app, "rows").await;
    let c = boss.caller(&app);
    let ids = Ids::default();
    feed(&svc, boss.org_id, &ids).await;
    // Another organisation's rows, on the same days and platforms.
    let other = owner(&app, "rows-other").await;
    feed(&svc, other.org_id, &Ids::default()).await;

    let want = campaign_rows(&ids);
    assert!(want.len() > 3, "the fixture has several campaign rows");

    // Pages of two, walked to the end.
    let mut got = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &cursor {
            None => format!("/v1/analytics/rows?{P}&limit=2"),
            Some(k) => format!("/v1/analytics/rows?{P}&limit=2&cursor={k}"),
        };
        let (status, body) = get(&c, &path).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["level"], "campaign");
        assert_eq!(body["period"]["since"], "2026-02-20");
        let rows = body["rows"].as_array().unwrap();
        assert!(rows.len() <= 2);
        for r in rows {
            assert_eq!(r["organisation_id"], boss.org_id.to_string());
            got.push((
                r["platform"].as_str().unwrap().to_owned(),
                r["external_id"].as_str().unwrap().to_owned(),
                r["day"].as_str().unwrap().to_owned(),
                micros(&r["spend"]),
            ));
        }
        pages += 1;
        match body["next_cursor"].as_str() {
            Some(k) => cursor = Some(k.to_owned()),
            None => break,
        }
        assert!(pages <= want.len(), "the cursor keeps going: {body}");
    }
    // Every row once, in key order (platform, object, day).
    assert_eq!(got, want);
    assert_eq!(
        pages,
        want.len().div_ceil(2) + usize::from(want.len().is_multiple_of(2))
    );

    // One large page: no cursor after it.
    let (status, body) = get(&c, &format!("/v1/analytics/rows?{P}&limit=1000")).await;
    assert_eq!(status, 200);
    assert_eq!(body["rows"].as_array().unwrap().len(), want.len());
    assert_eq!(body["next_cursor"], Value::Null);

    // Ad rows, one platform.
    let (status, body) = get(
        &c,
        &format!("/v1/analytics/rows?{P}&level=ad&platform=meta&limit=1000"),
    )
    .await;
    assert_eq!(status, 200);
    let ads: BTreeSet<&str> = body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ad_id"].as_str().unwrap())
        .collect();
    assert_eq!(ads, BTreeSet::from(["s1:a1", "s1:a2"]));

    // The CSV: the same rows, amounts exact, the count in a header.
    let resp = c.get(&format!("/v1/analytics/rows?{P}&format=csv")).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        resp.headers()["x-total-rows"].to_str().unwrap(),
        want.len().to_string()
    );
    assert_eq!(
        resp.headers()["content-disposition"].to_str().unwrap(),
        "attachment; filename=\"kiki-rows-campaign-2026-02-20-2026-03-02.csv\""
    );
    let text = resp.text().await.unwrap();
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let csv_rows: Vec<(String, String, String, i64)> = r
        .records()
        .map(Result::unwrap)
        .map(|rec| {
            let spend =
                kiki_core::Money::parse_decimal(&rec[col("spend")], kiki_core::Currency::USD)
                    .unwrap()
                    .micros;
            (
                rec[col("platform")].to_owned(),
                rec[col("external_id")].to_owned(),
                rec[col("day")].to_owned(),
                spend,
            )
        })
        .collect();
    assert_eq!(csv_rows, want);

    // Refusals, each naming its field.
    let (status, body) = get(&c, &format!("/v1/analytics/rows?{P}&cursor=abc")).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["error"]["details"]["fields"][0]["field"], "cursor",
        "{body}"
    );
    let (status, body) = get(&c, &format!("/v1/analytics/rows?{P}&format=xlsx")).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`xlsx`"),
        "{body}"
    );
    let (status, body) = get(&c, &format!("/v1/analytics/rows?{P}&format=csv&cursor=abc")).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["error"]["details"]["fields"][0]["field"], "cursor",
        "{body}"
    );
    let (status, body) = get(&c, &format!("/v1/analytics/rows?{P}&limit=0")).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        body["error"]["details"]["fields"][0]["field"], "limit",
        "{body}"
    );

    // A viewer pages but may not download.
    let viewer = member(
        &app,
        &c,
        "viewer",
        &format!("viewer-{}@rows.example", boss.org_id),
    )
    .await;
    let v = viewer.caller(&app);
    let (status, _) = get(&v, &format!("/v1/analytics/rows?{P}&limit=5")).await;
    assert_eq!(status, 200);
    let (status, body) = get(&v, &format!("/v1/analytics/rows?{P}&format=csv")).await;
    assert_eq!(status, 403, "{body}");
}
