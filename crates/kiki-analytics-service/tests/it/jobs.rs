//! Export jobs: queued with `POST /v1/analytics/exports` (Idempotency-Key
//! honoured), written by the worker with progress, downloaded until the
//! link expires (then 410), permission-checked, tenant-scoped, audited.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use kiki_analytics_service::AnalyticsModule;
use kiki_core::TestClock;
use kiki_test_support::identity::{Caller, PASSWORD, identity_app, member, sign_in};
use serde_json::{Value, json};
use time::Duration;

use crate::*;

/// Polls an export until the worker has finished with it.
pub(crate) async fn finished(c: &Caller<'_>, id: &str) -> Value {
    for _ in 0..1200 {
        let (status, v) = get(c, &format!("/v1/analytics/exports/{id}")).await;
        assert_eq!(status, 200, "{v}");
        if !matches!(v["status"].as_str(), Some("queued" | "running")) {
            return v;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    panic!("export {id} did not finish within a minute");
}

#[tokio::test]
async fn a_queued_pdf_export_is_written_downloaded_and_expires() {
    let clock = Arc::new(TestClock::at(NOW));
    let app = identity_app()
        .clock(clock.clone())
        .module(Arc::new(AnalyticsModule::new()))
        .spawn()
        .await;
    let svc = service(&app);
    let boss = owner(&app, "exportjobs").await;
    let c = boss.caller(&app);
    feed(&svc, boss.org_id, &Ids::default()).await;

    let body = json!({
        "report": "timeseries",
        "format": "pdf",
        "query": {"since": "2026-02-27", "until": "2026-03-01", "currency": "USD"}
    });
    let send = || {
        c.request(reqwest::Method::POST, "/v1/analytics/exports")
            .header("idempotency-key", "export-1")
            .json(&body)
            .send()
    };
    let resp = send().await.unwrap();
    assert_eq!(resp.status(), 202);
    let queued: Value = resp.json().await.unwrap();
    let id = queued["id"].as_str().unwrap().to_owned();
    // The answer shows the export as it stands when read back: a worker may
    // already have written it.
    match queued["status"].as_str() {
        Some("queued" | "running") => assert_eq!(queued["download_url"], Value::Null),
        Some("ready") => assert!(queued["download_url"].is_string(), "{queued}"),
        _ => panic!("{queued}"),
    }
    assert_eq!(queued["query"]["until"], "2026-03-01");
    // The same key again: the first answer, nothing queued twice.
    let again = send().await.unwrap();
    assert_eq!(again.status(), 202);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["id"], queued["id"]);
    let (_, list) = get(&c, "/v1/analytics/exports").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");

    let done = finished(&c, &id).await;
    assert_eq!(done["status"], "ready", "{done}");
    assert_eq!(done["progress"], 1.0);
    assert_eq!(done["rows"], 3);
    assert_eq!(
        done["file_name"],
        "analytics-timeseries-2026-02-27-2026-03-01.pdf"
    );
    assert_eq!(
        done["expires_at"], "2026-03-02T23:30:00Z",
        "24 hours after it was written"
    );
    let url = done["download_url"].as_str().unwrap();
    assert_eq!(url, format!("/v1/analytics/exports/{id}/download"));

    let resp = c.get(url).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    let bytes = resp.bytes().await.unwrap();
    assert_eq!(Some(bytes.len() as u64), done["size_bytes"].as_u64());
    let doc = lopdf::Document::load_mem(&bytes).expect("a PDF");
    let text = doc.extract_text(&[1]).unwrap();
    assert!(text.contains("KIKI analytics: Time series"), "{text}");
    assert!(text.contains("exportjobs"), "{text}");
    assert!(
        text.contains("$150.00") && text.contains("$250.00"),
        "{text}"
    );
    assert!(text.contains("Page 1 of 1"), "{text}");

    // Both steps are in the audit log.
    let (_, requested) = get(&c, "/v1/audit?action=analytics.export_requested").await;
    let requested = requested["items"].as_array().unwrap();
    assert_eq!(requested.len(), 1);
    assert_eq!(requested[0]["target_id"], id.as_str());
    let (_, exported) = get(&c, "/v1/audit?action=analytics.exported").await;
    let exported = exported["items"].as_array().unwrap();
    assert_eq!(exported.len(), 1);
    assert_eq!(exported[0]["details"]["export_id"], id.as_str());

    // Another organisation cannot see or fetch it.
    let other = owner(&app, "otherorg").await;
    let o = other.caller(&app);
    let (status, e) = get(&o, &format!("/v1/analytics/exports/{id}")).await;
    assert_eq!(status, 404, "{e}");
    let (status, _) = get(&o, url).await;
    assert_eq!(status, 404);
    let (_, list) = get(&o, "/v1/analytics/exports").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 0);

    // A viewer reads analytics but may not export.
    let viewer = member(
        &app,
        &c,
        "viewer",
        &format!("viewer-{}@exportjobs.example", boss.org_id),
    )
    .await;
    let v = viewer.caller(&app);
    let (status, e) = json(v.post("/v1/analytics/exports", &body).await).await;
    assert_eq!(status, 403, "{e}");
    let (status, _) = get(&v, url).await;
    assert_eq!(status, 403);

    // A day later the link has expired: 410 in the error envelope.
    clock.advance(Duration::hours(25));
    let tokens = sign_in(&app, &boss.email, PASSWORD).await;
    let c = Caller::new(&app, tokens.access_token);
    let (_, expired) = get(&c, &format!("/v1/analytics/exports/{id}")).await;
    assert_eq!(expired["status"], "expired", "{expired}");
    assert_eq!(expired["download_url"], Value::Null);
    let (status, e) = get(&c, url).await;
    assert_eq!(status, 410, "{e}");
    assert_eq!(e["error"]["code"], "gone", "{e}");
    assert!(e["error"]["request_id"].is_string(), "{e}");
}

#[tokio::test]
async fn export_jobs_take_larger_tables_and_refuse_bad_requests_naming_the_field() {
    let (app, svc) = spawn().await;
    let boss = owner(&app, "bigexports").await;
    let c = boss.caller(&app);
    feed(&svc, boss.org_id, &Ids::default()).await;

    // 5,000 rows is over the synchronous route's limit, not the job's.
    let (status, e) = get(
        &c,
        "/v1/analytics/breakdown?since=2026-02-27&until=2026-03-01&by=ad&limit=5000&format=csv",
    )
    .await;
    assert_eq!(status, 422, "{e}");
    let (status, queued) = json(
        c.post(
            "/v1/analytics/exports",
            &json!({"report": "breakdown", "format": "csv",
                    "query": {"since": "2026-02-27", "until": "2026-03-01", "by": "ad", "limit": 5000}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 202, "{queued}");
    let done = finished(&c, queued["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "ready", "{done}");
    let body = c
        .get(done["download_url"].as_str().unwrap())
        .await
        .text()
        .await
        .unwrap();
    let mut r = csv::Reader::from_reader(body.as_bytes());
    assert_eq!(r.records().count(), 3, "{body}");

    // An Excel workbook of the drill-down.
    let (status, queued) = json(
        c.post(
            "/v1/analytics/exports",
            &json!({"report": "drilldown", "format": "xlsx",
                    "query": {"since": "2026-02-27", "until": "2026-03-01"}}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 202, "{queued}");
    let done = finished(&c, queued["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "ready", "{done}");
    let bytes = c
        .get(done["download_url"].as_str().unwrap())
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(&bytes[..2], b"PK");

    for (body, field) in [
        (
            json!({"report": "timeseries", "format": "json", "query": {}}),
            "format",
        ),
        (
            json!({"report": "timeseries", "format": "pdf", "query": {"granularity": "hour"}}),
            "query",
        ),
        (
            json!({"report": "breakdown", "format": "pdf", "query": {"limit": 0}}),
            "limit",
        ),
        (
            json!({"report": "timeseries", "format": "pdf",
                   "query": {"since": "2026-03-01", "until": "2026-02-01"}}),
            "until",
        ),
    ] {
        let (status, e) = json(c.post("/v1/analytics/exports", &body).await).await;
        assert_eq!(status, 422, "{body}: {e}");
        assert!(e.to_string().contains(field), "{field}: {e}");
    }
    let (status, e) = json(
        c.post(
            "/v1/analytics/exports",
            &json!({"report": "funnel", "format": "pdf"}),
        )
        .await,
    )
    .await;
    assert!(status == 422 || status == 400, "{status} {e}");
    let (status, e) = get(
        &c,
        "/v1/analytics/exports/01939e7a-1c2b-7d3e-8f40-5a6b7c8d9e0f",
    )
    .await;
    assert_eq!(status, 404, "{e}");
}
