//! Exports: CSV (streamed; parsed back) and Excel (a zip whose sheets are
//! read back: typed cells, bold frozen header), permission-checked
//! (`export`) and written to the audit log.

use std::io::Read;

use kiki_test_support::identity::member;
use serde_json::Value;

use crate::*;

const P: &str = "since=2026-02-27&until=2026-03-01";

fn sheet(zip: &mut zip::ZipArchive<std::io::Cursor<Vec<u8>>>, name: &str) -> String {
    let mut s = String::new();
    zip.by_name(name)
        .unwrap_or_else(|_| panic!("{name} in the workbook"))
        .read_to_string(&mut s)
        .unwrap();
    s
}

#[tokio::test]
async fn tables_export_as_csv_and_excel_with_permission_and_audit() {
    let (app, svc) = spawn().await;
    let boss = owner(&app, "exports").await;
    let c = boss.caller(&app);
    let ids = Ids::default();
    feed(&svc, boss.org_id, &ids).await;

    // CSV by parameter: the ads, largest spend first, amounts exact.
    let resp = c
        .get(&format!("/v1/analytics/breakdown?{P}&by=ad&format=csv"))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/csv; charset=utf-8");
    let disposition = resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        disposition,
        "attachment; filename=\"analytics-breakdown-2026-02-27-2026-03-01.csv\""
    );
    let body = resp.text().await.unwrap();
    let mut r = csv::Reader::from_reader(body.as_bytes());
    let headers: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(&rows[0][col("ad_id")], "s1:a1");
    assert_eq!(&rows[0][col("spend")], "210");
    assert_eq!(&rows[0][col("currency")], "USD");
    // A2: $90 for 2.5 conversions = $36; CTR 180 / 9,000 = 0.02.
    assert_eq!(&rows[2][col("cpa")], "36");
    assert_eq!(&rows[2][col("ctr")], "0.02");

    // CSV by Accept header; an undefined ratio is an empty cell.
    let resp = c
        .request(
            reqwest::Method::GET,
            &format!("/v1/analytics/timeseries?{P}&currency=USD"),
        )
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body = resp.text().await.unwrap();
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines.len(), 4, "{body}");
    assert!(
        lines[0].starts_with("start,first_day,last_day,currency,spend,revenue"),
        "{body}"
    );
    assert_eq!(
        lines[2], "2026-02-28,2026-02-28,2026-02-28,USD,0,0,0,0,0,,,,,,",
        "{body}"
    );

    // Excel: the drill-down's three sheets.
    let resp = c
        .get(&format!(
            "/v1/analytics/drilldown?{P}&campaign_id={}&format=xlsx",
            ids.c1
        ))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let bytes = resp.bytes().await.unwrap().to_vec();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("an .xlsx is a zip");
    let workbook = sheet(&mut zip, "xl/workbook.xml");
    for name in ["Daily", "Totals", "Ad sets"] {
        assert!(workbook.contains(&format!("name=\"{name}\"")), "{workbook}");
    }
    let daily = sheet(&mut zip, "xl/worksheets/sheet1.xml");
    assert!(
        daily.contains("state=\"frozen\""),
        "the header row is frozen: {daily}"
    );
    assert!(daily.contains("ySplit=\"1\""), "{daily}");
    // The first day is a date serial (27 Feb 2026 = 46080), the spend a number.
    let a2 = daily.split("<c r=\"A2\"").nth(1).expect("cell A2");
    assert!(
        a2.starts_with(" s=\"") && a2.contains("<v>46080</v>"),
        "{a2}"
    );
    let c2 = daily.split("<c r=\"C2\"").nth(1).expect("cell C2");
    assert!(
        !c2.starts_with(" t=\"s\"") && c2.contains("<v>100</v>"),
        "{c2}"
    );
    let styles = sheet(&mut zip, "xl/styles.xml");
    assert!(styles.contains("<b/>"), "a bold header style");
    assert!(
        styles.contains("yyyy-mm-dd") && styles.contains("0.00%"),
        "{styles}"
    );

    // The audit log has each export.
    let (status, audit) = get(&c, "/v1/audit?action=analytics.exported").await;
    assert_eq!(status, 200, "{audit}");
    let items = audit["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{audit}");
    let formats: Vec<&str> = items
        .iter()
        .map(|e| e["details"]["format"].as_str().unwrap())
        .collect();
    assert!(
        formats.contains(&"xlsx") && formats.contains(&"csv"),
        "{formats:?}"
    );
    assert_eq!(
        items
            .iter()
            .filter(|e| e["target_id"] == "breakdown")
            .count(),
        1,
        "{audit}"
    );

    // A viewer reads but may not export.
    let viewer = member(
        &app,
        &c,
        "viewer",
        &format!("viewer-{}@exports.example", boss.org_id),
    )
    .await;
    let v = viewer.caller(&app);
    let (status, _) = get(&v, &format!("/v1/analytics/breakdown?{P}")).await;
    assert_eq!(status, 200);
    let (status, e) = get(&v, &format!("/v1/analytics/breakdown?{P}&format=csv")).await;
    assert_eq!(status, 403, "{e}");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("`export`"),
        "{e}"
    );
    let (_, audit) = get(&c, "/v1/audit?action=analytics.exported").await;
    assert_eq!(
        audit["items"].as_array().unwrap().len(),
        3,
        "a refused export is not one"
    );
    let _: Option<Value> = None;
}

#[tokio::test]
async fn the_summary_exports_as_csv_excel_pdf_and_as_a_queued_export() {
    let (app, svc) = spawn().await;
    let boss = owner(&app, "summaryfile").await;
    let c = boss.caller(&app);
    feed(&svc, boss.org_id, &Ids::default()).await;

    // CSV: one row per currency and figure, this period, the previous one,
    // the change and the relative change (the values of the JSON summary).
    let resp = c
        .get(&format!("/v1/analytics/summary?{P}&format=csv"))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-disposition"],
        "attachment; filename=\"analytics-summary-2026-02-27-2026-03-01.csv\""
    );
    let body = resp.text().await.unwrap();
    let mut r = csv::Reader::from_reader(body.as_bytes());
    let headers: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(
        headers,
        [
            "currency",
            "figure",
            "current",
            "previous",
            "change",
            "relative_change"
        ]
    );
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    let find = |currency: &str, figure: &str| {
        rows.iter()
            .find(|r| &r[0] == currency && &r[1] == figure)
            .unwrap_or_else(|| panic!("{currency} {figure} in {body}"))
            .clone()
    };
    let spend = find("USD", "spend");
    assert_eq!(
        (&spend[2], &spend[3], &spend[4], &spend[5]),
        ("400", "50", "350", "7")
    );
    let active = find("USD", "active_campaigns");
    assert_eq!((&active[2], &active[3], &active[4]), ("2", "1", "1"));
    // An undefined figure (no ROAS without spend) is an empty cell.
    assert_eq!(&find("EUR", "roas")[3], "");
    assert_eq!(&find("EUR", "spend")[2], "10");

    // Excel: the summary, the basis sentences and the margins, one sheet each.
    let resp = c
        .get(&format!("/v1/analytics/summary?{P}&format=xlsx"))
        .await;
    assert_eq!(resp.status(), 200);
    let bytes = resp.bytes().await.unwrap().to_vec();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("an .xlsx is a zip");
    let workbook = sheet(&mut zip, "xl/workbook.xml");
    for name in ["Summary", "Basis", "Margins"] {
        assert!(workbook.contains(&format!("name=\"{name}\"")), "{workbook}");
    }

    // PDF: the heading names the comparison; amounts in their currency.
    let resp = c
        .get(&format!("/v1/analytics/summary?{P}&format=pdf"))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    let bytes = resp.bytes().await.unwrap();
    let doc = lopdf::Document::load_mem(&bytes).expect("a PDF");
    let n = doc.get_pages().len() as u32;
    let text: String = (1..=n)
        .map(|i| doc.extract_text(&[i]).unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(text.contains("KIKI analytics: Summary"), "{text}");
    assert!(text.contains("compared with = previous"), "{text}");
    assert!(
        text.contains("$400.00") && text.contains("$350.00"),
        "{text}"
    );
    assert!(text.contains("Margins"), "{text}");

    // Queued as an export job, with a custom comparison.
    let resp = c
        .request(reqwest::Method::POST, "/v1/analytics/exports")
        .json(&serde_json::json!({
            "report": "summary",
            "format": "csv",
            "query": {"since": "2026-02-27", "until": "2026-03-01", "compare": "custom",
                      "compare_since": "2026-02-25", "compare_until": "2026-02-25"}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let queued: Value = resp.json().await.unwrap();
    let done = crate::jobs::finished(&c, queued["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "ready", "{done}");
    let body = c
        .get(done["download_url"].as_str().unwrap())
        .await
        .text()
        .await
        .unwrap();
    assert!(body.contains("USD,spend,400,50,350,7"), "{body}");

    // A schedule cannot fix comparison days.
    let resp = c
        .request(reqwest::Method::POST, "/v1/analytics/schedules")
        .json(&serde_json::json!({
            "name": "Weekly summary",
            "report": "summary",
            "format": "pdf",
            "query": {"compare": "custom", "compare_since": "2026-02-01", "compare_until": "2026-02-07"},
            "recipients": ["someone@summaryfile.example"],
            "cadence": "weekly",
            "hour": 8,
            "weekday": 1,
            "time_zone": "Europe/Berlin"
        }))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let err: Value = resp.json().await.unwrap();
    assert_eq!(status, 422, "{err}");
    assert!(err.to_string().contains("query.compare_since"), "{err}");
}
