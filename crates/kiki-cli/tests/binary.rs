//! The `kiki` binary end to end: `version`, `config check`, `migrate`, and
//! `serve` started as a real process — prints its URL, answers `/healthz`,
//! exports spans to an OTLP collector, and exits 0 on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn kiki() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_kiki"));
    // A clean environment: only what each test sets.
    for (k, _) in std::env::vars() {
        if k.starts_with("KIKI__") || k == "RUST_LOG" {
            c.env_remove(k);
        }
    }
    c
}

#[test]
fn version_prints_the_crate_version() {
    let out = kiki().arg("version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        format!("kiki {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn config_check_prints_the_redacted_config_and_fails_on_an_invalid_one() {
    let dir = tempfile::tempdir().unwrap();
    let ok = kiki()
        .current_dir(dir.path())
        .args(["config", "check"])
        .env("KIKI__DATABASE__URL", "postgres://kiki:hunter2@db/kiki")
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let shown = String::from_utf8(ok.stdout).unwrap();
    assert!(shown.contains("postgres://kiki:***@db/kiki"));
    assert!(!shown.contains("hunter2"));

    let bad = kiki()
        .current_dir(dir.path())
        .args(["config", "check"])
        .env("KIKI__ENV", "production")
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let err = String::from_utf8(bad.stderr).unwrap();
    assert!(err.contains("KIKI__SECURITY__SECRET_KEY"), "{err}");
    assert!(err.contains("KIKI__DATABASE__URL"), "{err}");
}

#[test]
fn config_check_reads_every_module_section_hides_their_secrets_and_names_typos() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kiki.toml"),
        "[ltv]\nhorizon_days = 180\n\n[[bidder.exchanges]]\nname = \"adx\"\nkey = \"exchange-secret-0123456789abcdef\"\n",
    )
    .unwrap();
    let ok = kiki()
        .current_dir(dir.path())
        .args(["config", "check"])
        .output()
        .unwrap();
    let shown = String::from_utf8(ok.stdout).unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(shown.contains("horizon_days = 180"), "{shown}");
    assert!(
        shown.contains("[twin]"),
        "defaults of every section: {shown}"
    );
    assert!(
        !shown.contains("exchange-secret"),
        "a secret was printed:\n{shown}"
    );

    // A typo in a module section is an error of `config check` itself.
    std::fs::write(dir.path().join("kiki.toml"), "[ltv]\nhorizon_dayz = 180\n").unwrap();
    let bad = kiki()
        .current_dir(dir.path())
        .args(["config", "check"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let err = String::from_utf8(bad.stderr).unwrap();
    assert!(err.contains("horizon_dayz"), "{err}");

    // So is a section no module declares.
    std::fs::write(dir.path().join("kiki.toml"), "[campains]\nx = 1\n").unwrap();
    let bad = kiki()
        .current_dir(dir.path())
        .args(["config", "check"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let err = String::from_utf8(bad.stderr).unwrap();
    assert!(err.contains("campains"), "{err}");
}

#[test]
fn migrate_applies_migrations_to_the_given_database() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/m.db", dir.path().display());
    let out = kiki()
        .current_dir(dir.path())
        .args(["migrate", "--database-url", &url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("m.db").exists());
}

struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn start_server(dir: &std::path::Path, env: &[(&str, &str)]) -> Server {
    let mut cmd = kiki();
    cmd.current_dir(dir)
        .arg("serve")
        .env("KIKI__HTTP__BIND", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"))
        .to_owned();
    Server { child, url }
}

fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn wait_exit(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(
            started.elapsed() < limit,
            "the server did not exit within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_with_no_configuration_uses_sqlite_under_data_answers_healthy_and_exits_0_on_sigterm()
{
    let dir = tempfile::tempdir().unwrap();
    let mut server = start_server(dir.path(), &[]);
    let health: serde_json::Value = reqwest::get(format!("{}/healthz", server.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "healthy", "{health}");
    assert!(
        dir.path().join("data/kiki.db").exists(),
        "the default database is ./data/kiki.db"
    );
    sigterm(&server.child);
    let status = wait_exit(&mut server.child, Duration::from_secs(20));
    assert!(status.success(), "exit status {status:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn spans_are_exported_to_an_otlp_collector() {
    let collector = kiki_test_support::fakes::otlp_collector().await;
    let dir = tempfile::tempdir().unwrap();
    let mut server = start_server(
        dir.path(),
        &[("KIKI__TELEMETRY__OTLP_ENDPOINT", &collector.uri())],
    );
    let resp = reqwest::get(format!("{}/v1/status", server.url))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    sigterm(&server.child);
    assert!(wait_exit(&mut server.child, Duration::from_secs(20)).success());
    let received = collector.received_requests().await.unwrap();
    let traces: Vec<_> = received
        .iter()
        .filter(|r| r.url.path() == "/v1/traces")
        .collect();
    assert!(!traces.is_empty(), "the collector received no spans");
    assert_eq!(traces[0].headers["content-type"], "application/x-protobuf");
    let all: Vec<u8> = traces.iter().flat_map(|r| r.body.clone()).collect();
    let contains = |needle: &str| all.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(contains("GET /v1/status"), "the request span is exported");
    assert!(contains("db.query"), "query spans are exported");
    assert!(contains("kiki"), "the service name is set");
}
