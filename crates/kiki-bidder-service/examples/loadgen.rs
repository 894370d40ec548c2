//! A small HTTP load generator for the bidder (tokio + hyper, HTTP/1.1 keep-alive).
//!
//! `loadgen URL BODY_FILE --max --conns 64 --secs 10`: closed loop, as fast as
//! the server answers (maximum throughput).
//! `loadgen URL BODY_FILE --rate 5000 --conns 256 --secs 10`: open loop at a
//! fixed rate; latency is measured from each request's *scheduled* time, so a
//! stalled server is not hidden (no coordinated omission).
//! Prints one line: `rps=… ok=… err=… p50_us=… p99_us=… max_us=…`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

#[derive(Debug, Clone)]
struct Args {
    url: String,
    body: Bytes,
    rate: Option<u64>,
    conns: usize,
    secs: u64,
}

fn parse() -> anyhow::Result<Args> {
    let mut it = std::env::args().skip(1);
    let url = it.next().ok_or_else(|| {
        anyhow::anyhow!("usage: loadgen URL BODY_FILE [--max|--rate N] [--conns N] [--secs N]")
    })?;
    let body = Bytes::from(std::fs::read(
        it.next()
            .ok_or_else(|| anyhow::anyhow!("missing BODY_FILE"))?,
    )?);
    let (mut rate, mut conns, mut secs) = (None, 64, 10);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--max" => rate = None,
            "--rate" => rate = Some(it.next().unwrap_or_default().parse()?),
            "--conns" => conns = it.next().unwrap_or_default().parse()?,
            "--secs" => secs = it.next().unwrap_or_default().parse()?,
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    Ok(Args {
        url,
        body,
        rate,
        conns,
        secs,
    })
}

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

async fn send(client: &HttpClient, a: &Args) -> bool {
    let req = hyper::Request::post(a.url.as_str())
        .header("content-type", "application/json")
        .body(Full::new(a.body.clone()));
    let Ok(req) = req else { return false };
    match client.request(req).await {
        Ok(resp) => {
            let ok = resp.status().is_success();
            ok && resp.into_body().collect().await.is_ok()
        }
        Err(_) => false,
    }
}

fn pct(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = Arc::new(parse()?);
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(a.conns)
        .build_http();
    let deadline = Duration::from_secs(a.secs);
    let start = Instant::now();
    let mut handles = Vec::new();
    match a.rate {
        None => {
            for _ in 0..a.conns {
                let (a, client) = (a.clone(), client.clone());
                handles.push(tokio::spawn(async move {
                    let (mut lat, mut err) = (Vec::new(), 0u64);
                    while start.elapsed() < deadline {
                        let t = Instant::now();
                        if send(&client, &a).await {
                            lat.push(t.elapsed().as_micros() as u64);
                        } else {
                            err += 1;
                        }
                    }
                    (lat, err)
                }));
            }
        }
        Some(rate) => {
            // Each of `conns` workers owns an equal share of the schedule.
            let per = rate as f64 / a.conns as f64;
            for w in 0..a.conns {
                let (a, client) = (a.clone(), client.clone());
                handles.push(tokio::spawn(async move {
                    let (mut lat, mut err) = (Vec::new(), 0u64);
                    let gap = Duration::from_secs_f64(1.0 / per);
                    let mut due = start + gap.mul_f64(w as f64 / a.conns as f64);
                    while due.duration_since(start) < deadline {
                        tokio::time::sleep_until(due.into()).await;
                        if send(&client, &a).await {
                            lat.push(due.elapsed().as_micros() as u64);
                        } else {
                            err += 1;
                        }
                        due += gap;
                    }
                    (lat, err)
                }));
            }
        }
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for h in handles {
        let (lat, err) = h.await?;
        all.extend(lat);
        errors += err;
    }
    let took = start.elapsed().as_secs_f64();
    all.sort_unstable();
    println!(
        "rps={:.0} ok={} err={} p50_us={} p99_us={} max_us={}",
        all.len() as f64 / took,
        all.len(),
        errors,
        pct(&all, 0.50),
        pct(&all, 0.99),
        all.last().copied().unwrap_or(0)
    );
    Ok(())
}
