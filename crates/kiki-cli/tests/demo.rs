//! The live demo's seeding on the real application (every module of `kiki
//! serve`, SQLite, or PostgreSQL with `KIKI_TEST_DATABASE_URL`): both client
//! shops run on at least two sandbox platforms with about 90 days of daily
//! metrics, each has a fitted LTV model, a launch waiting for approval, a
//! mirror report and a rebalancing run with shifts; seeding again changes
//! nothing. Everything is read back through the API as the demo user.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use kiki_cli::demo::{DemoClock, HISTORY_DAYS, Seeded};
use kiki_identity::bootstrap::{DEMO_EMAIL, DEMO_PASSWORD};
use kiki_test_support::TestApp;
use kiki_test_support::identity::{Caller, sign_in};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

async fn spawn(clock: Arc<DemoClock>) -> TestApp {
    let mut b = TestApp::builder()
        .clock(clock)
        .configure(|c| kiki_cli::demo::configure(c).expect("development settings"));
    for m in kiki_cli::modules() {
        b = b.module(m);
    }
    b.spawn().await
}

fn day(d: time::Date) -> String {
    let f = time::macros::format_description!("[year]-[month]-[day]");
    d.format(&f).unwrap()
}

fn items(v: &Value) -> &Vec<Value> {
    v.get("items")
        .unwrap_or(v)
        .as_array()
        .unwrap_or_else(|| panic!("a list: {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_seeds_two_shops_with_ninety_days_of_campaigns_once() {
    let clock = Arc::new(DemoClock::new());
    let app = spawn(clock.clone()).await;
    let report = match kiki_cli::demo::seed(&app.state, &clock).await.unwrap() {
        Seeded::Now(r) => r,
        other => panic!("a fresh database is seeded: {other:?}"),
    };
    assert_eq!(clock.offset(), Duration::ZERO, "the clock is back");
    assert_eq!(report.clients.len(), 2);

    let tokens = sign_in(&app, DEMO_EMAIL, DEMO_PASSWORD).await;
    let me = Caller::new(&app, tokens.access_token);
    let today = OffsetDateTime::now_utc().date();
    let since = day(today - Duration::days(HISTORY_DAYS + 5));
    let mut campaigns_before = BTreeMap::new();
    for client in &report.clients {
        let c = me.in_org(client.org.0);
        let name = &client.name;

        let conns = c.get_ok("/v1/platforms/connections").await;
        let connected: Vec<&Value> = items(&conns)
            .iter()
            .filter(|x| x["status"] == "connected" && x["mode"] == "sandbox")
            .collect();
        assert!(connected.len() >= 2, "{name}: {conns}");

        // About 90 days of daily metrics on every connected platform.
        let rows = c
            .get_ok(&format!(
                "/v1/platforms/metrics?level=campaign&since={since}&limit=5000"
            ))
            .await;
        let mut days: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for r in items(&rows) {
            days.entry(r["platform"].as_str().unwrap().to_owned())
                .or_default()
                .insert(r["day"].as_str().unwrap().to_owned());
            assert_eq!(r["spend"]["currency"], "USD", "{r}");
        }
        assert!(days.len() >= 2, "{name}: {days:?}");
        for (platform, d) in &days {
            assert!(
                (HISTORY_DAYS as usize - 1..=HISTORY_DAYS as usize + 1).contains(&d.len()),
                "{name} on {platform}: {} days",
                d.len()
            );
        }
        let spend: i64 = items(&rows)
            .iter()
            .map(|r| r["spend"]["micros"].as_i64().unwrap())
            .sum();
        assert!(spend > 0, "{name} spent nothing");

        // The LTV model fitted on the synthetic customers' orders.
        let model = c.get_ok("/v1/ltv/models/current").await;
        assert_eq!(model["currency"], "USD", "{model}");
        assert!(model["version"].as_i64().unwrap() >= 1, "{model}");

        // Live campaigns, and one launch waiting for approval.
        let live = c.get_ok("/v1/campaigns?status=active").await;
        assert!(items(&live).len() >= 2, "{name}: {live}");
        let pending = c.get_ok("/v1/approvals?status=pending").await;
        assert_eq!(items(&pending).len(), 1, "{name}: {pending}");
        assert_eq!(items(&pending)[0]["kind"], "launch");

        // Creatives with the policy review's verdicts, one of them flagged.
        let creatives = c.get_ok("/v1/creatives?limit=200").await;
        let verdicts: BTreeSet<&str> = items(&creatives)
            .iter()
            .map(|x| x["verdict"].as_str().unwrap())
            .collect();
        assert!(verdicts.contains("approved"), "{name}: {verdicts:?}");
        assert!(verdicts.contains("needs_review"), "{name}: {verdicts:?}");

        // The mirror compared the launched plans with what happened.
        let sims = c.get_ok("/v1/simulations?limit=50").await;
        let mut reports = 0;
        for s in items(&sims) {
            let id = s["id"].as_str().unwrap();
            let m = c.get_ok(&format!("/v1/simulations/{id}/mirror")).await;
            reports += items(&m).len();
        }
        assert!(reports >= 2, "{name}: {reports} mirror reports");

        // The rebalancer moved (or proposed to move) budget.
        let shifts = c.get_ok("/v1/rebalancing").await;
        assert!(
            items(&shifts).len() >= client.rebalancing_shifts,
            "{name}: {shifts}"
        );
        campaigns_before.insert(
            name.clone(),
            items(&c.get_ok("/v1/campaigns?limit=100").await).len(),
        );
    }
    let shifts: usize = report.clients.iter().map(|c| c.rebalancing_shifts).sum();
    assert!(shifts >= 1, "no rebalancing proposal: {report:?}");

    // A second start finds the demo seeded and adds nothing.
    match kiki_cli::demo::seed(&app.state, &clock).await.unwrap() {
        Seeded::Already { agency, .. } => assert_eq!(agency, report.agency),
        other => panic!("seeded twice: {other:?}"),
    }
    for client in &report.clients {
        let c = me.in_org(client.org.0);
        let n = items(&c.get_ok("/v1/campaigns?limit=100").await).len();
        assert_eq!(n, campaigns_before[&client.name], "{}", client.name);
    }
    app.shutdown().await.unwrap();
}

/// The `kiki` binary with a clean environment: only what each test sets.
fn kiki(dir: &std::path::Path) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_kiki"));
    for (k, _) in std::env::vars() {
        if k.starts_with("KIKI__") || k == "RUST_LOG" {
            c.env_remove(k);
        }
    }
    c.current_dir(dir)
        .env("KIKI__HTTP__BIND", "127.0.0.1:0")
        .env("KIKI__LOG__LEVEL", "warn");
    c
}

fn text(out: &std::process::Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_demo_refuses_production_and_reset_refuses_postgresql() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["serve", "--demo"][..], &["demo", "reset"][..]] {
        let out = kiki(dir.path())
            .args(args)
            .env("KIKI__ENV", "production")
            .output()
            .unwrap();
        let (stdout, stderr) = text(&out);
        assert!(!out.status.success(), "{args:?}: {stdout}");
        assert!(stderr.contains("development only"), "{args:?}: {stderr}");
    }
    let out = kiki(dir.path())
        .args(["demo", "reset"])
        .env("KIKI__DATABASE__URL", "postgres://kiki@127.0.0.1:1/kiki")
        .output()
        .unwrap();
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(stderr.contains("not an SQLite file"), "{stderr}");
    assert!(
        !dir.path().join("data").exists(),
        "nothing was created: {stderr}"
    );
}

/// `kiki demo reset` seeds a fresh `data/kiki-demo.db`; a second reset
/// deletes it and seeds anew; `kiki serve --demo` then finds the demo
/// seeded, prints the sign-in, and the demo user signs in with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_reset_seeds_afresh_and_serve_demo_prints_the_sign_in() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let mut pending = Vec::new();
    for _ in 0..2 {
        let out = kiki(dir.path()).args(["demo", "reset"]).output().unwrap();
        let (stdout, stderr) = text(&out);
        assert!(out.status.success(), "{stdout}\n{stderr}");
        assert!(stdout.contains("deleted the demo database"), "{stdout}");
        assert!(
            stdout.contains("Demo Shop: 2 live campaigns on 3 platforms"),
            "{stdout}"
        );
        pending.push(
            stdout
                .lines()
                .find(|l| l.starts_with("Demo Shop:"))
                .unwrap()
                .to_owned(),
        );
    }
    assert!(dir.path().join("data/kiki-demo.db").exists());
    assert_ne!(pending[0], pending[1], "the second reset seeded anew");

    let mut child = kiki(dir.path())
        .args(["serve", "--demo"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut banner = String::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("the server prints its URL").unwrap();
        banner.push_str(&line);
        banner.push('\n');
        if line.starts_with("KIKI is listening") {
            break line
                .split_whitespace()
                .find(|w| w.starts_with("http://"))
                .unwrap()
                .to_owned();
        }
    };
    assert!(banner.contains("Demo (seeded "), "{banner}");
    assert!(banner.contains(DEMO_EMAIL), "{banner}");
    assert!(banner.contains(DEMO_PASSWORD), "{banner}");
    let signed_in = reqwest::Client::new()
        .post(format!("{url}/v1/auth/token"))
        .form(&[
            ("grant_type", "password"),
            ("username", DEMO_EMAIL),
            ("password", DEMO_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 200);
    let _ = child.kill();
    let _ = child.wait();
}
