//! PDF exports read back with a PDF parser: the page count, the header
//! row repeated on every page a table spans, "Page n of N" footers, the
//! heading (organisation, period, filters, generation time), amounts in
//! their currency, the embedded fonts and the chart drawn as paths.

use lopdf::content::Content;

use crate::*;

/// The text of each page.
fn pages(bytes: &[u8]) -> (lopdf::Document, Vec<String>) {
    let doc = lopdf::Document::load_mem(bytes).expect("a PDF that parses");
    let n = doc.get_pages().len() as u32;
    let texts = (1..=n)
        .map(|i| doc.extract_text(&[i]).expect("the page's text"))
        .collect();
    (doc, texts)
}

/// Path operations (`l`: a line segment) on a page.
fn line_segments(doc: &lopdf::Document, page: u32) -> usize {
    let id = doc.get_pages()[&page];
    let content = doc.get_page_content(id);
    Content::decode(&content)
        .expect("a content stream")
        .operations
        .iter()
        .filter(|op| op.operator == "l")
        .count()
}

#[tokio::test]
async fn a_long_time_series_pdf_repeats_its_header_on_every_page_and_numbers_them() {
    let (app, svc) = spawn().await;
    let boss = owner(&app, "pdfseries").await;
    let c = boss.caller(&app);
    feed(&svc, boss.org_id, &Ids::default()).await;

    // 1 Jan 2025 to 1 Mar 2026 by day: 425 rows of USD, several pages.
    let resp = c
        .request(
            reqwest::Method::GET,
            "/v1/analytics/timeseries?since=2025-01-01&until=2026-03-01&currency=USD&tz=Europe/Berlin",
        )
        .header("accept", "application/pdf")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    assert_eq!(
        resp.headers()["content-disposition"],
        "attachment; filename=\"analytics-timeseries-2025-01-01-2026-03-01.pdf\""
    );
    let bytes = resp.bytes().await.unwrap().to_vec();
    assert!(bytes.starts_with(b"%PDF-"));
    let (doc, texts) = pages(&bytes);
    let n = texts.len();
    // 425 rows at 35 a page after the first page's heading and chart.
    assert!(n >= 12, "{n} pages");
    for (i, t) in texts.iter().enumerate() {
        assert!(
            t.contains(&format!("Page {} of {n}", i + 1)),
            "page {}: {t}",
            i + 1
        );
        assert!(
            t.contains("First day") && t.contains("Spend") && t.contains("ROAS"),
            "the header row on page {}: {t}",
            i + 1
        );
        assert!(
            t.contains("pdfseries"),
            "the organisation on page {}",
            i + 1
        );
    }
    let first = &texts[0];
    assert!(first.contains("KIKI analytics: Time series"), "{first}");
    assert!(
        first.contains("2025-01-01 to 2026-03-01 (425 days)"),
        "{first}"
    );
    assert!(first.contains("currency = USD"), "{first}");
    assert!(first.contains("granularity = day"), "{first}");
    assert!(first.contains("Europe/Berlin"), "{first}");
    assert!(first.contains("2026-03-01 23:30:00 UTC"), "{first}");
    assert!(first.contains("Revenue vs spend by day (USD)"), "{first}");
    // The chart: two polylines of 425 points, drawn as path segments.
    assert!(
        line_segments(&doc, 1) >= 2 * 424,
        "{} segments",
        line_segments(&doc, 1)
    );
    // The last page holds the last days: 27 Feb ($150 spent, $350 earned),
    // 28 Feb (nothing: undefined ratios print as a dash), 1 Mar.
    let last = &texts[n - 1];
    assert!(last.contains("2026-02-27"), "{last}");
    assert!(
        last.contains("$150.00") && last.contains("$350.00") && last.contains("2.33"),
        "{last}"
    );
    assert!(last.contains("$250.00"), "{last}");
    // Fonts are embedded (TrueType outlines in the file).
    let embedded = doc
        .objects
        .values()
        .filter(|o| {
            o.as_dict()
                .is_ok_and(|d| d.has(b"FontFile2") || d.has(b"FontFile3"))
        })
        .count();
    assert!(embedded >= 1, "an embedded font");
}

#[tokio::test]
async fn every_table_report_exports_as_pdf() {
    let (app, svc) = spawn().await;
    let boss = owner(&app, "pdftables").await;
    let c = boss.caller(&app);
    let ids = Ids::default();
    feed(&svc, boss.org_id, &ids).await;
    let p = "since=2026-02-27&until=2026-03-01";

    let resp = c
        .get(&format!("/v1/analytics/breakdown?{p}&by=ad&format=pdf"))
        .await;
    assert_eq!(resp.status(), 200);
    let (_, texts) = pages(&resp.bytes().await.unwrap());
    assert_eq!(texts.len(), 1);
    let t = &texts[0];
    assert!(t.contains("Breakdown by ad"), "{t}");
    assert!(t.contains("by = ad"), "{t}");
    // Ad A1: $210 spent; A2: CPA $36.00 and CTR 2.00 %.
    assert!(t.contains("s1:a1") && t.contains("$210.00"), "{t}");
    assert!(t.contains("$36.00") && t.contains("2.00%"), "{t}");
    assert!(t.contains("Page 1 of 1"), "{t}");
    // The bars: spend and revenue per ad, each value printed at its bar.
    assert!(t.contains("Spend and revenue by ad (USD)"), "{t}");
    assert!(t.contains("meta · m-a1"), "{t}");

    let resp = c
        .get(&format!(
            "/v1/analytics/performers?{p}&metric=roas&currency=USD&format=pdf"
        ))
        .await;
    assert_eq!(resp.status(), 200);
    let (_, texts) = pages(&resp.bytes().await.unwrap());
    assert!(texts[0].contains("Top performers by roas"), "{}", texts[0]);
    assert!(texts[0].contains("metric = roas"), "{}", texts[0]);
    assert!(texts[0].contains("Top campaign by ROAS"), "{}", texts[0]);
    assert!(texts[0].contains("1. "), "{}", texts[0]);

    let resp = c
        .get(&format!(
            "/v1/analytics/drilldown?{p}&campaign_id={}&format=pdf",
            ids.c1
        ))
        .await;
    assert_eq!(resp.status(), 200);
    let (doc, texts) = pages(&resp.bytes().await.unwrap());
    let all = texts.concat();
    for table in ["Daily", "Totals", "Ad sets"] {
        assert!(all.contains(table), "{table}: {all}");
    }
    assert!(all.contains("Revenue vs spend by day (USD)"), "{all}");
    assert!(line_segments(&doc, 1) > 0);

    // The audit log has each, with its format.
    let (_, audit) = get(&c, "/v1/audit?action=analytics.exported").await;
    let items = audit["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{audit}");
    assert!(items.iter().all(|e| e["details"]["format"] == "pdf"));
}
