//! A small HTTP load generator for the bidder (tokio + hyper, HTTP/1.1 keep-alive).
//!
//! `loadgen URL BODY_FILE --max --conns 64 --secs 10`: closed loop, as fast as
//! the server answers (maximum throughput).
//! `loadgen URL BODY_FILE --rate 5000 --conns 16 --secs 10`: open loop at a
//! fixed rate on OS threads (one blocking keep-alive connection each, woken by
//! a high-resolution timer with 1 ns slack); latency is measured from each
//! request's *scheduled* time, so a stalled server is not hidden (no
//! coordinated omission).
//! `--header 'name: value'` (repeatable) adds a request header and
//! `--content-type T` replaces `application/json`.
//! Prints one line: `rps=… ok=… err=… p50_us=… p99_us=… p999_us=… max_us=…
//! statuses=200:N,429:M,…` (latencies of 2xx answers; `statuses` counts every
//! answer by status, `io` the requests lost to a connection error).

use std::collections::BTreeMap;
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
    content_type: String,
    headers: Vec<(String, String)>,
}

/// Answers by status (`0`: a connection error).
type Statuses = BTreeMap<u16, u64>;

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
    let mut content_type = "application/json".to_owned();
    let mut headers = Vec::new();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--max" => rate = None,
            "--rate" => rate = Some(it.next().unwrap_or_default().parse()?),
            "--conns" => conns = it.next().unwrap_or_default().parse()?,
            "--secs" => secs = it.next().unwrap_or_default().parse()?,
            "--content-type" => content_type = it.next().unwrap_or_default(),
            "--header" => {
                let h = it.next().unwrap_or_default();
                let (k, v) = h
                    .split_once(':')
                    .ok_or_else(|| anyhow::anyhow!("--header wants `name: value`, got {h}"))?;
                headers.push((k.trim().to_owned(), v.trim().to_owned()));
            }
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    Ok(Args {
        url,
        body,
        rate,
        conns,
        secs,
        content_type,
        headers,
    })
}

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

/// The answer's status, `0` for a connection error.
async fn send(client: &HttpClient, a: &Args) -> u16 {
    let mut req = hyper::Request::post(a.url.as_str()).header("content-type", &a.content_type);
    for (k, v) in &a.headers {
        req = req.header(k, v);
    }
    let Ok(req) = req.body(Full::new(a.body.clone())) else {
        return 0;
    };
    match client.request(req).await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            if resp.into_body().collect().await.is_ok() {
                status
            } else {
                0
            }
        }
        Err(_) => 0,
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
                    let (mut lat, mut statuses) = (Vec::new(), Statuses::new());
                    while start.elapsed() < deadline {
                        let t = Instant::now();
                        let status = send(&client, &a).await;
                        if (200..300).contains(&status) {
                            lat.push(t.elapsed().as_micros() as u64);
                        }
                        *statuses.entry(status).or_default() += 1;
                    }
                    (lat, statuses)
                }));
            }
        }
        Some(rate) => {
            let (mut all, statuses, took) = run_open_loop(&a, rate)?;
            report(&mut all, &statuses, took);
            return Ok(());
        }
    }
    let mut all = Vec::new();
    let mut statuses = Statuses::new();
    for h in handles {
        let (lat, st) = h.await?;
        all.extend(lat);
        merge(&mut statuses, st);
    }
    report(&mut all, &statuses, start.elapsed().as_secs_f64());
    Ok(())
}

fn merge(into: &mut Statuses, from: Statuses) {
    for (k, v) in from {
        *into.entry(k).or_default() += v;
    }
}

fn report(all: &mut [u64], statuses: &Statuses, took: f64) {
    all.sort_unstable();
    let errors: u64 = statuses
        .iter()
        .filter(|(s, _)| !(200..300).contains(*s))
        .map(|(_, n)| n)
        .sum();
    let listed: Vec<String> = statuses
        .iter()
        .map(|(s, n)| match s {
            0 => format!("io:{n}"),
            s => format!("{s}:{n}"),
        })
        .collect();
    println!(
        "rps={:.0} ok={} err={} p50_us={} p99_us={} p999_us={} max_us={} statuses={}",
        all.len() as f64 / took,
        all.len(),
        errors,
        pct(all, 0.50),
        pct(all, 0.99),
        pct(all, 0.999),
        all.last().copied().unwrap_or(0),
        listed.join(",")
    );
}

/// Open loop on OS threads with blocking sockets: each of `conns` threads owns
/// one keep-alive connection and every `conns`-th slot of the schedule, sleeps
/// until its slot (`nanosleep` on a high-resolution timer, timer slack 1 ns)
/// and measures from the slot's time. No async runtime sits between the clock
/// and the socket, so the generator's own floor is a few microseconds
/// instead of tokio's 1 ms timer wheel.
fn run_open_loop(a: &Args, rate: u64) -> anyhow::Result<(Vec<u64>, Statuses, f64)> {
    // Threads inherit the creating thread's timer slack (default 50 µs).
    let _ = std::fs::write("/proc/self/timerslack_ns", "1");
    let target = Target::parse(&a.url)?;
    let request = target.request(&a.body, &a.content_type, &a.headers);
    let gap = Duration::from_secs_f64(a.conns as f64 / rate as f64);
    let deadline = Duration::from_secs(a.secs);
    let start = Instant::now() + Duration::from_millis(50);
    let mut handles = Vec::new();
    for w in 0..a.conns {
        let (target, request) = (target.clone(), request.clone());
        let offset = Duration::from_secs_f64(w as f64 / rate as f64);
        handles.push(std::thread::spawn(
            move || -> anyhow::Result<(Vec<u64>, Statuses)> {
                let mut conn = Conn::open(&target)?;
                let (mut lat, mut statuses) = (Vec::new(), Statuses::new());
                let mut due = start + offset;
                while due.duration_since(start) < deadline {
                    let now = Instant::now();
                    if due > now {
                        std::thread::sleep(due - now);
                    }
                    match conn.exchange(&request) {
                        Ok((status, close)) => {
                            if (200..300).contains(&status) {
                                lat.push(due.elapsed().as_micros() as u64);
                            }
                            *statuses.entry(status).or_default() += 1;
                            // The server said it closes the connection
                            // (`Connection: close`): open the next one now.
                            if close {
                                conn = Conn::open(&target)?;
                            }
                        }
                        Err(_) => {
                            *statuses.entry(0).or_default() += 1;
                            conn = Conn::open(&target)?;
                        }
                    }
                    due += gap;
                }
                Ok((lat, statuses))
            },
        ));
    }
    let (mut all, mut statuses) = (Vec::new(), Statuses::new());
    for h in handles {
        let (lat, st) = h
            .join()
            .map_err(|_| anyhow::anyhow!("a load thread panicked"))??;
        all.extend(lat);
        merge(&mut statuses, st);
    }
    Ok((all, statuses, start.elapsed().as_secs_f64()))
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
    fn request(
        &self,
        body: &[u8],
        content_type: &str,
        headers: &[(String, String)],
    ) -> Arc<Vec<u8>> {
        let extra: String = headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}\r\n"))
            .collect();
        let mut r = format!(
            "POST {} HTTP/1.1\r\nhost: {}\r\ncontent-type: {content_type}\r\n{extra}content-length: {}\r\n\r\n",
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

    /// Sends the request and reads the whole response; returns its status
    /// and whether the server closes the connection after it.
    fn exchange(&mut self, request: &[u8]) -> std::io::Result<(u16, bool)> {
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
        let mut close = false;
        for line in head.split("\r\n").skip(1) {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            } else if k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked") {
                chunked = true;
            } else if k.eq_ignore_ascii_case("connection") && v.trim().eq_ignore_ascii_case("close")
            {
                close = true;
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
        Ok((status, close))
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
