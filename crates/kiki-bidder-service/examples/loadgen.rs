//! A small HTTP load generator for the bidder (tokio + hyper, HTTP/1.1 keep-alive).
//!
//! `loadgen URL BODY_FILE --max --conns 64 --secs 10`: closed loop, as fast as
//! the server answers (maximum throughput).
//! `loadgen URL BODY_FILE --rate 5000 --conns 16 --secs 10`: open loop at a
//! fixed rate on OS threads (one blocking keep-alive connection each, woken by
//! a high-resolution timer with 1 ns slack); latency is measured from each
//! request's *scheduled* time, so a stalled server is not hidden (no
//! coordinated omission).
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
            let (mut all, errors, took) = run_open_loop(&a, rate)?;
            report(&mut all, errors, took);
            return Ok(());
        }
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for h in handles {
        let (lat, err) = h.await?;
        all.extend(lat);
        errors += err;
    }
    report(&mut all, errors, start.elapsed().as_secs_f64());
    Ok(())
}

fn report(all: &mut [u64], errors: u64, took: f64) {
    all.sort_unstable();
    println!(
        "rps={:.0} ok={} err={} p50_us={} p99_us={} max_us={}",
        all.len() as f64 / took,
        all.len(),
        errors,
        pct(all, 0.50),
        pct(all, 0.99),
        all.last().copied().unwrap_or(0)
    );
}

/// Open loop on OS threads with blocking sockets: each of `conns` threads owns
/// one keep-alive connection and every `conns`-th slot of the schedule, sleeps
/// until its slot (`nanosleep` on a high-resolution timer, timer slack 1 ns)
/// and measures from the slot's time. No async runtime sits between the clock
/// and the socket, so the generator's own floor is a few microseconds
/// instead of tokio's 1 ms timer wheel.
fn run_open_loop(a: &Args, rate: u64) -> anyhow::Result<(Vec<u64>, u64, f64)> {
    // Threads inherit the creating thread's timer slack (default 50 µs).
    let _ = std::fs::write("/proc/self/timerslack_ns", "1");
    let target = Target::parse(&a.url)?;
    let request = target.request(&a.body);
    let gap = Duration::from_secs_f64(a.conns as f64 / rate as f64);
    let deadline = Duration::from_secs(a.secs);
    let start = Instant::now() + Duration::from_millis(50);
    let mut handles = Vec::new();
    for w in 0..a.conns {
        let (target, request) = (target.clone(), request.clone());
        let offset = Duration::from_secs_f64(w as f64 / rate as f64);
        handles.push(std::thread::spawn(
            move || -> anyhow::Result<(Vec<u64>, u64)> {
                let mut conn = Conn::open(&target)?;
                let (mut lat, mut err) = (Vec::new(), 0u64);
                let mut due = start + offset;
                while due.duration_since(start) < deadline {
                    let now = Instant::now();
                    if due > now {
                        std::thread::sleep(due - now);
                    }
                    match conn.exchange(&request) {
                        Ok(status) if (200..300).contains(&status) => {
                            lat.push(due.elapsed().as_micros() as u64)
                        }
                        Ok(_) => err += 1,
                        Err(_) => {
                            err += 1;
                            conn = Conn::open(&target)?;
                        }
                    }
                    due += gap;
                }
                Ok((lat, err))
            },
        ));
    }
    let (mut all, mut errors) = (Vec::new(), 0);
    for h in handles {
        let (lat, err) = h
            .join()
            .map_err(|_| anyhow::anyhow!("a load thread panicked"))??;
        all.extend(lat);
        errors += err;
    }
    Ok((all, errors, start.elapsed().as_secs_f64()))
}

/// Host, port and path of an `http://` URL.
#[derive(Debug, Clone)]
struct Target {
    addr: String,
    host: String,
    path: String,
}

impl Target {
    fn parse(url: &str) -> anyhow::Result<Target> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| anyhow::anyhow!("only http:// URLs are supported"))?;
        let (host, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let addr = if host.contains(':') {
            host.to_owned()
        } else {
            format!("{host}:80")
        };
        Ok(Target {
            addr,
            host: host.to_owned(),
            path: path.to_owned(),
        })
    }

    /// One complete HTTP/1.1 request, written in a single `write`.
    fn request(&self, body: &[u8]) -> Arc<Vec<u8>> {
        let mut r = format!(
            "POST {} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            self.path,
            self.host,
            body.len()
        )
        .into_bytes();
        r.extend_from_slice(body);
        Arc::new(r)
    }
}

/// A blocking keep-alive HTTP/1.1 connection.
struct Conn {
    stream: std::net::TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    fn open(t: &Target) -> anyhow::Result<Conn> {
        let stream = std::net::TcpStream::connect(&t.addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(16 * 1024),
        })
    }

    /// Sends the request and reads the whole response; returns its status.
    fn exchange(&mut self, request: &[u8]) -> std::io::Result<u16> {
        use std::io::{Error, ErrorKind, Read, Write};
        self.stream.write_all(request)?;
        self.buf.clear();
        let mut chunk = [0u8; 8192];
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(Error::new(ErrorKind::UnexpectedEof, "connection closed"));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        };
        let head = std::str::from_utf8(&self.buf[..head_end])
            .map_err(|_| Error::new(ErrorKind::InvalidData, "response head is not UTF-8"))?;
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| Error::new(ErrorKind::InvalidData, "no status code"))?;
        let mut length = 0usize;
        let mut chunked = false;
        for line in head.split("\r\n").skip(1) {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            } else if k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked") {
                chunked = true;
            }
        }
        if chunked {
            while find(&self.buf[head_end..], b"0\r\n\r\n").is_none() {
                let n = self.stream.read(&mut chunk)?;
                if n == 0 {
                    return Err(Error::new(ErrorKind::UnexpectedEof, "connection closed"));
                }
                self.buf.extend_from_slice(&chunk[..n]);
            }
        } else {
            while self.buf.len() < head_end + length {
                let n = self.stream.read(&mut chunk)?;
                if n == 0 {
                    return Err(Error::new(ErrorKind::UnexpectedEof, "connection closed"));
                }
                self.buf.extend_from_slice(&chunk[..n]);
            }
        }
        Ok(status)
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
