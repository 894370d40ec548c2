//! The analytics benchmark's load (docs/benchmarks.md, "Analytics"):
//! `--users` concurrent sessions (default 1,000) against a running
//! `kiki serve`, each a user of one of the organisations `analytics_seed`
//! wrote, who waits a random `--think-ms` (default 1,000–5,000 ms, so about
//! 330 requests/s from 1,000 users) and then asks for one of
//!
//! - `GET /v1/analytics/summary` over a range of 7, 30, 90 or 365 days with
//!   the previous period as comparison (or none),
//! - `GET /v1/analytics/timeseries` over 90 days by day (or by week),
//! - `GET /v1/analytics/breakdown?by=platform` over 7 to 365 days,
//!
//! with the range ending on one of the last 60 days of the data and, one time
//! in three, a platform filter: a mix of organisations, ranges and filters,
//! not one cached query. Sessions start spread over the first think time;
//! `--warmup-secs` (default 15) are not measured, then `--secs` (default 60)
//! are. Latency is from sending the request to the last byte of the answer.
//!
//! ```sh
//! cargo run --release -p kiki-analytics-service --example analytics_load -- \
//!     --base http://127.0.0.1:18090 --seed-file bench/out/analytics/seed.json \
//!     [--users 1000] [--think-ms 1000-5000] [--warmup-secs 15] [--secs 60] [--seed 7]
//! ```
//!
//! Prints one JSON object: requests, their rate, statuses, and p50/p95/p99/max
//! in milliseconds overall and per route.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Value, json};

struct Args {
    base: String,
    seed_file: String,
    users: usize,
    think_min: u64,
    think_max: u64,
    warmup: u64,
    secs: u64,
    seed: u64,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        base: "http://127.0.0.1:18090".into(),
        seed_file: "bench/out/analytics/seed.json".into(),
        users: 1000,
        think_min: 1000,
        think_max: 5000,
        warmup: 15,
        secs: 60,
        seed: 7,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--base" => a.base = value()?,
            "--seed-file" => a.seed_file = value()?,
            "--users" => a.users = value()?.parse().context("--users")?,
            "--think-ms" => {
                let v = value()?;
                let (lo, hi) = v
                    .split_once('-')
                    .with_context(|| format!("--think-ms wants MIN-MAX, got {v}"))?;
                a.think_min = lo.parse().context("--think-ms")?;
                a.think_max = hi.parse().context("--think-ms")?;
            }
            "--warmup-secs" => a.warmup = value()?.parse().context("--warmup-secs")?,
            "--secs" => a.secs = value()?.parse().context("--secs")?,
            "--seed" => a.seed = value()?.parse().context("--seed")?,
            "-h" | "--help" => {
                println!(
                    "analytics_load [--base URL] [--seed-file FILE] [--users N] \
                     [--think-ms MIN-MAX] [--warmup-secs S] [--secs S] [--seed N]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown argument `{other}` (see --help)"),
        }
    }
    if a.users == 0 || a.think_max < a.think_min || a.secs == 0 {
        bail!("--users must be at least 1, --think-ms MIN ≤ MAX, --secs at least 1");
    }
    Ok(a)
}

/// A small deterministic generator per session (xorshift64*).
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }
}

const PLATFORMS: [&str; 6] = [
    "meta",
    "google",
    "tiktok",
    "linkedin",
    "amazon",
    "microsoft",
];
const ROUTES: [&str; 3] = ["summary", "timeseries", "breakdown"];

/// One request: its route index and the query.
fn request(rng: &mut Rng, until: time::Date, since_min: time::Date) -> (usize, String) {
    let route = rng.below(3) as usize;
    let end = until - time::Duration::days(rng.below(60) as i64);
    let days = match route {
        1 => 90,
        _ => [7, 30, 90, 365][rng.below(4) as usize],
    };
    let start = Ord::max(end - time::Duration::days(days - 1), since_min);
    let mut q = format!("since={start}&until={end}");
    match route {
        0 => {
            if rng.below(4) == 0 {
                q.push_str("&compare=none");
            }
        }
        1 => q.push_str(if rng.below(4) == 0 {
            "&granularity=week"
        } else {
            "&granularity=day"
        }),
        _ => q.push_str("&by=platform"),
    }
    if rng.below(3) == 0 {
        q.push_str("&platform=");
        q.push_str(PLATFORMS[rng.below(6) as usize]);
    }
    (route, format!("/v1/analytics/{}?{q}", ROUTES[route]))
}

#[derive(Default)]
struct Tally {
    /// Latencies in microseconds per route.
    latencies: [Vec<u64>; 3],
    statuses: BTreeMap<String, u64>,
}

fn quantile(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i] as f64 / 1000.0
}

fn stats(mut v: Vec<u64>, secs: f64) -> Value {
    v.sort_unstable();
    let r = |x: f64| (x * 100.0).round() / 100.0;
    json!({
        "requests": v.len(),
        "per_s": r(v.len() as f64 / secs),
        "p50_ms": r(quantile(&v, 0.50)),
        "p95_ms": r(quantile(&v, 0.95)),
        "p99_ms": r(quantile(&v, 0.99)),
        "max_ms": r(v.last().copied().unwrap_or(0) as f64 / 1000.0),
    })
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    let seed: Value = serde_json::from_slice(
        &std::fs::read(&a.seed_file).with_context(|| format!("reading {}", a.seed_file))?,
    )?;
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let day = |k: &str| -> anyhow::Result<time::Date> {
        let s = seed[k]
            .as_str()
            .with_context(|| format!("{k} in the seed file"))?;
        Ok(time::Date::parse(s, fmt)?)
    };
    let (since, until) = (day("since")?, day("until")?);
    let emails: Vec<String> = serde_json::from_value(seed["emails"].clone())?;
    let password = seed["password"].as_str().context("password")?.to_owned();

    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(a.users)
        .timeout(Duration::from_secs(30))
        .build()?;
    // One token per organisation owner.
    let mut tokens = Vec::with_capacity(emails.len());
    for e in &emails {
        let res = client
            .post(format!("{}/v1/auth/token", a.base))
            .form(&[
                ("grant_type", "password"),
                ("username", e.as_str()),
                ("password", password.as_str()),
            ])
            .send()
            .await?;
        if !res.status().is_success() {
            bail!("signing in {e}: {} {}", res.status(), res.text().await?);
        }
        let body: Value = res.json().await?;
        tokens.push(Arc::new(format!(
            "Bearer {}",
            body["access_token"].as_str().context("access_token")?
        )));
    }
    eprintln!("{} sessions over {} organisations", a.users, tokens.len());

    let tally = Arc::new(Mutex::new(Tally::default()));
    let start = Instant::now();
    let measure_from = start + Duration::from_secs(a.warmup);
    let stop_at = measure_from + Duration::from_secs(a.secs);
    let mut sessions = Vec::with_capacity(a.users);
    for u in 0..a.users {
        let mut rng = Rng::new(a.seed ^ (u as u64 + 1).wrapping_mul(0xA24B_AED4_963E_E407));
        let token = tokens[rng.below(tokens.len() as u64) as usize].clone();
        let (client, tally, base) = (client.clone(), tally.clone(), a.base.clone());
        let (think_min, think_max) = (a.think_min, a.think_max);
        sessions.push(tokio::spawn(async move {
            // Spread the first requests over one think time.
            tokio::time::sleep(Duration::from_millis(rng.below(think_max + 1))).await;
            while Instant::now() < stop_at {
                let (route, path) = request(&mut rng, until, since);
                let sent = Instant::now();
                let res = client
                    .get(format!("{base}{path}"))
                    .header("authorization", token.as_str())
                    .send()
                    .await;
                let status = match res {
                    Ok(r) => {
                        let s = r.status().as_u16().to_string();
                        match r.bytes().await {
                            Ok(_) => s,
                            Err(_) => "body-error".into(),
                        }
                    }
                    Err(e) if e.is_timeout() => "timeout".into(),
                    Err(_) => "io".into(),
                };
                let done = Instant::now();
                if sent >= measure_from && done <= stop_at {
                    let mut t = tally.lock().expect("tally");
                    if status == "200" {
                        t.latencies[route].push((done - sent).as_micros() as u64);
                    }
                    *t.statuses.entry(status).or_default() += 1;
                }
                let think = rng.between(think_min, think_max);
                tokio::time::sleep(Duration::from_millis(think)).await;
            }
        }));
    }
    for s in sessions {
        s.await?;
    }
    let secs = a.secs as f64;
    let t = std::mem::take(&mut *tally.lock().expect("tally"));
    let all: Vec<u64> = t.latencies.iter().flatten().copied().collect();
    let [s, ts, b] = t.latencies;
    let out = json!({
        "users": a.users,
        "think_ms": [a.think_min, a.think_max],
        "secs": a.secs,
        "organisations": tokens.len(),
        "statuses": t.statuses,
        "all": stats(all, secs),
        "summary": stats(s, secs),
        "timeseries": stats(ts, secs),
        "breakdown": stats(b, secs),
    });
    println!("{out}");
    Ok(())
}
