//! Structured logs carry the request id, route template, status and duration.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use kiki_test_support::TestApp;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn captured_logs() -> Buffer {
    static BUF: OnceLock<Buffer> = OnceLock::new();
    BUF.get_or_init(|| {
        let buf = Buffer::default();
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_env_filter("info")
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("only this test sets the subscriber");
        buf
    })
    .clone()
}

#[tokio::test]
async fn the_access_log_line_is_json_with_request_id_route_status_and_duration() {
    let logs = captured_logs();
    let app = TestApp::spawn().await;
    let rid = format!("log-test-{}", uuid::Uuid::now_v7());
    let resp = app
        .client
        .get(app.url("/v1/jobs/not-a-uuid"))
        .header("x-request-id", &rid)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let line = text
        .lines()
        .filter(|l| l.contains(&rid))
        .find(|l| l.contains("request finished"))
        .unwrap_or_else(|| panic!("no access log line for {rid} in:\n{text}"));
    let v: serde_json::Value = serde_json::from_str(line).unwrap();
    assert_eq!(v["level"], "INFO");
    assert!(v["timestamp"].is_string());
    assert_eq!(v["span"]["request_id"], rid);
    assert_eq!(v["http.method"], "GET");
    assert_eq!(v["http.route"], "/v1/jobs/{id}");
    assert_eq!(v["http.status_code"], 400);
    assert!(v["duration_ms"].as_f64().unwrap() >= 0.0);
}
