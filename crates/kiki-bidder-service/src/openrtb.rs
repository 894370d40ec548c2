//! The exchange-facing endpoints (role `bidder`): `POST /openrtb2/bid`, the
//! win/billing/loss notices, and the impression and click trackers.
//!
//! The same handlers are served two ways: by the exchange listener
//! ([`listener`], `bidder.exchange_listen`: the bidder's own port, the one
//! exchanges use in production) and as routes of the API router under the
//! edge stack ([`routes`]; one port for development and tests).
//!
//! The bid handler reads the body (256 KiB by default, gzip accepted and
//! inflated with the same bound), then calls the engine synchronously: no
//! database, no Redis, no other await on the bid path. Every answer carries
//! `x-openrtb-version: 2.6`; errors use the JSON envelope with the engine's
//! one-line reason as the message.

pub mod listener;

use std::io::Read;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use kiki_bidder::valuation::PerformanceTotals;
use kiki_bidder::{BidReply, LineItemId, NoticeKind, OPENRTB_VERSION_HEADER, RequestContext};
use kiki_core::ErrorCode;
use kiki_server::ApiError;

use crate::reporting::HourCounts;
use crate::service::{BidderService, status_name};
use crate::trackers::TrackerVerdict;
use kiki_bidder::tracker::TrackerKind;

/// `x-openrtb-version` as a header name built at compile time: inserting a
/// custom header by `&str` copies the name into a new allocation every time.
const VERSION_HEADER: HeaderName = HeaderName::from_static(OPENRTB_VERSION_HEADER.0);
const NOTICE_STATUS: HeaderName = HeaderName::from_static(NOTICE_STATUS_HEADER);
const TRACKER_STATUS: HeaderName = HeaderName::from_static(TRACKER_STATUS_HEADER);

/// The header an exchange authenticates with.
pub const EXCHANGE_KEY_HEADER: &str = "x-kiki-exchange-key";
/// The notice status, for exchanges' and operators' debugging.
pub const NOTICE_STATUS_HEADER: &str = "x-kiki-notice-status";
/// Whether a tracker call counted: `counted`, `repeated`, `unsigned`,
/// `bad_signature` or `expired`.
pub const TRACKER_STATUS_HEADER: &str = "x-kiki-tracker-status";

/// The OpenRTB routes for the API router, under the edge stack like every
/// other route (access log, request id, rate limit, timeout, …). Each
/// handler holds the service, so the routes need nothing from the state.
pub fn routes<S: Clone + Send + Sync + 'static>(svc: Arc<BidderService>) -> Router<S> {
    // `read_body` applies the engine's `max_body_bytes` itself (413 above it);
    // no handler here uses axum's body-limited extractors.
    let notice_route = |kind: NoticeKind| {
        let svc = svc.clone();
        let h = move |req: Request| {
            let svc = svc.clone();
            async move { notice(&svc, kind, req, None).await }
        };
        get(h.clone()).post(h)
    };
    let (b, i, c) = (svc.clone(), svc.clone(), svc.clone());
    Router::new()
        .route(
            "/openrtb2/bid",
            post(move |req: Request| {
                let svc = b.clone();
                async move { bid(&svc, req, None).await }
            }),
        )
        .route("/openrtb2/win", notice_route(NoticeKind::Win))
        .route("/openrtb2/billing", notice_route(NoticeKind::Billing))
        .route("/openrtb2/loss", notice_route(NoticeKind::Loss))
        .route(
            "/openrtb2/imp",
            get(move |req: Request| {
                let svc = i.clone();
                async move { impression(&svc, req).await }
            }),
        )
        .route(
            "/openrtb2/click",
            get(move |req: Request| {
                let svc = c.clone();
                async move { click(&svc, req).await }
            }),
        )
}

fn versioned(mut r: Response) -> Response {
    r.headers_mut().insert(
        VERSION_HEADER,
        HeaderValue::from_static(OPENRTB_VERSION_HEADER.1),
    );
    r
}

fn error(code: ErrorCode, message: impl Into<String>) -> Response {
    versioned(ApiError::new(code, message).into_response())
}

/// A refusal before the engine runs (small, unlike a `Response`).
#[derive(Debug)]
struct Reject(ErrorCode, String);

impl Reject {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Reject(code, message.into())
    }

    fn response(self) -> Response {
        error(self.0, self.1)
    }
}

fn authenticate(
    svc: &BidderService,
    parts: &Parts,
    peer: Option<std::net::SocketAddr>,
) -> Result<(), Reject> {
    let key = parts
        .headers
        .get(EXCHANGE_KEY_HEADER)
        .map(HeaderValue::as_bytes);
    let ip = match peer {
        Some(p) => kiki_server::auth::client_ip_of(parts, svc.trust_forwarded_for, Some(p.ip())),
        None => kiki_server::auth::client_ip(parts, svc.trust_forwarded_for),
    };
    svc.authenticate(key, ip)
        .map(|_| ())
        .map_err(|f| Reject::new(ErrorCode::Unauthenticated, f.reason()))
}

fn is_gzip(headers: &HeaderMap) -> Result<bool, Reject> {
    match headers
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or("?").trim().to_ascii_lowercase())
    {
        None => Ok(false),
        Some(e) if e == "gzip" || e == "x-gzip" => Ok(true),
        Some(e) if e == "identity" || e.is_empty() => Ok(false),
        Some(e) => Err(Reject::new(
            ErrorCode::UnsupportedMediaType,
            format!("Content-Encoding `{e}` is not supported; send gzip or no encoding."),
        )),
    }
}

fn too_large(limit: usize) -> Reject {
    Reject::new(
        ErrorCode::PayloadTooLarge,
        format!("The bid request is larger than {limit} bytes."),
    )
}

/// Reads at most `limit` bytes of body, inflating gzip with the same bound.
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, Reject> {
    let gzip = is_gzip(headers)?;
    let raw = axum::body::to_bytes(body, limit).await.map_err(|e| {
        let too_big = std::error::Error::source(&e)
            .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
            || e.to_string().contains("length limit");
        if too_big {
            too_large(limit)
        } else {
            Reject::new(ErrorCode::BadRequest, "The body could not be read.")
        }
    })?;
    if !gzip {
        return Ok(raw);
    }
    let mut out = Vec::with_capacity(raw.len().saturating_mul(4).min(limit));
    let mut dec = flate2::read::GzDecoder::new(&raw[..]).take(limit as u64 + 1);
    dec.read_to_end(&mut out)
        .map_err(|_| Reject::new(ErrorCode::BadRequest, "The gzip body is not valid gzip."))?;
    if out.len() > limit {
        return Err(too_large(limit));
    }
    Ok(Bytes::from(out))
}

/// Whether the client takes a gzip answer: `gzip` (or `x-gzip`, or `*`) in
/// `Accept-Encoding` with a non-zero quality.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let coding = parts.next().unwrap_or("").trim();
            let wanted = coding.eq_ignore_ascii_case("gzip")
                || coding.eq_ignore_ascii_case("x-gzip")
                || coding == "*";
            let q_zero = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            wanted && !q_zero
        })
}

/// A 200 JSON answer, gzipped when the exchange asked for it. The bid
/// handler compresses its own answers (only they have a body worth it), so
/// the exchange listener needs no compression layer wrapping every response
/// (on the API router the edge's compression layer sees the encoding and
/// leaves the answer alone).
fn json_answer(body: Vec<u8>, gzip: bool) -> Response {
    let (body, encoded) = if gzip {
        let mut enc = flate2::write::GzEncoder::new(
            Vec::with_capacity(body.len() / 2 + 64),
            flate2::Compression::fast(),
        );
        match std::io::Write::write_all(&mut enc, &body).and_then(|()| enc.finish()) {
            Ok(z) => (z, true),
            Err(_) => (body, false),
        }
    } else {
        (body, false)
    };
    let mut r = Response::new(Body::from(body));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if encoded {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    versioned(r)
}

/// Answers an OpenRTB bid request.
/// `peer` is the connection's address when the exchange listener calls the
/// handler; through the router it is read from the request's `ConnectInfo`.
pub async fn bid(
    svc: &BidderService,
    req: Request,
    peer: Option<std::net::SocketAddr>,
) -> Response {
    let received_at_ms = svc.now_ms();
    let (parts, body) = req.into_parts();
    if let Err(r) = authenticate(svc, &parts, peer) {
        return r.response();
    }
    let limit = svc.cfg.engine.max_body_bytes;
    let body = match read_body(&parts.headers, body, limit).await {
        Ok(b) => b,
        Err(r) => {
            svc.observe_refused_at_edge();
            return r.response();
        }
    };
    let started = Instant::now();
    let now_ms = svc.now_ms();
    let reply = svc.bidder.handle_bid_request(
        &body,
        RequestContext {
            now_ms,
            received_at_ms,
        },
    );
    svc.observe_bid(&reply, started.elapsed(), now_ms);
    match reply {
        BidReply::Bid { body, .. } => json_answer(body, accepts_gzip(&parts.headers)),
        BidReply::NoBid { body: Some(b), .. } => json_answer(b, accepts_gzip(&parts.headers)),
        BidReply::NoBid { body: None, .. } => versioned(StatusCode::NO_CONTENT.into_response()),
        BidReply::Rejected {
            status: 413,
            reason,
        } => error(ErrorCode::PayloadTooLarge, reason),
        BidReply::Rejected { reason, .. } => error(ErrorCode::BadRequest, reason),
    }
}

/// Answers a win, billing or loss notice (`peer` as for [`bid`]).
pub async fn notice(
    svc: &BidderService,
    kind: NoticeKind,
    req: Request,
    peer: Option<std::net::SocketAddr>,
) -> Response {
    let (parts, _) = req.into_parts();
    if let Err(r) = authenticate(svc, &parts, peer) {
        return r.response();
    }
    let query = parts.uri.query().unwrap_or("");
    let notice = match svc.bidder.prepare_notice(kind, query) {
        Ok(n) => n,
        Err(e) => return error(ErrorCode::BadRequest, e.to_string()),
    };
    let now_ms = svc.now_ms();
    let mut out = svc.bidder.record_notice(notice, now_ms);
    if let Some(shared) = &svc.shared {
        // Several replicas: a bid's spend and impression are counted by the
        // first replica to claim them in Redis, whichever got the notice.
        let wanted = out.claims();
        if wanted.spend || wanted.impression {
            let retention = svc.bidder.config().notices.retention_ms;
            match shared.claim(notice.key, wanted, retention).await {
                Ok(lost) => out.counted_elsewhere(lost),
                Err(e) => {
                    // Redis unreachable: count here; this replica's ledger still
                    // makes repeats of the notice idempotent. Spend is never dropped.
                    tracing::warn!(error = %e, "claiming a notice in Redis failed; counting it here");
                    metrics::counter!("kiki_bidder_notice_claim_errors_total").increment(1);
                }
            }
        }
    }
    let out = svc.bidder.finish_notice(out, now_ms);
    svc.observe_notice(&out, now_ms);
    let mut r = match out.anomaly {
        // Refused: an impossible price is not booked. 422 tells the exchange
        // the notice was understood and will not be taken (no retry helps);
        // the decision record is written by the background flush.
        Some(a) => {
            svc.queue_anomaly(a, kind, query, now_ms);
            versioned(
                ApiError::validation(vec![kiki_core::FieldError::new(
                    "price",
                    format!(
                        "The clearing price {} is above the bid price {} ({}); a clearing price never exceeds the bid, so nothing was booked.",
                        micros_text(a.reported_price_micros),
                        micros_text(a.bid_price_micros),
                        svc.cfg.engine.currency,
                    ),
                )])
                .into_response(),
            )
        }
        None => versioned(StatusCode::OK.into_response()),
    };
    r.headers_mut().insert(
        NOTICE_STATUS,
        HeaderValue::from_static(status_name(out.status)),
    );
    r
}

/// Micros as a decimal amount (`2690000` → `2.69`), for messages.
pub(crate) fn micros_text(m: i64) -> String {
    let sign = if m < 0 { "-" } else { "" };
    let m = m.unsigned_abs();
    let frac = format!("{:06}", m % 1_000_000);
    let frac = frac.trim_end_matches('0');
    let frac = if frac.len() < 2 {
        &format!("{frac:0<2}")
    } else {
        frac
    };
    format!("{sign}{}.{frac}", m / 1_000_000)
}

fn query_pairs(q: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(q.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .take(32)
        .collect()
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn line_item_param(pairs: &[(String, String)]) -> Result<LineItemId, Reject> {
    param(pairs, "li")
        .and_then(|s| s.parse::<LineItemId>().ok())
        .ok_or_else(|| {
            Reject::new(
                ErrorCode::BadRequest,
                "The `li` parameter must be a line item id.",
            )
        })
}

/// Checks a tracker call and counts it in the tracker metrics; the answer
/// says whether the call may be counted.
async fn tracker_verdict(
    svc: &BidderService,
    kind: TrackerKind,
    pairs: &[(String, String)],
    li: LineItemId,
) -> TrackerVerdict {
    let q = crate::trackers::query_of(pairs, li);
    let v = svc
        .trackers
        .check(
            kind,
            &q,
            svc.now_ms().div_euclid(1000),
            svc.shared.as_deref(),
        )
        .await;
    metrics::counter!("kiki_bidder_tracker_calls_total",
        "tracker" => kind.as_str(), "result" => v.as_str())
    .increment(1);
    v
}

fn with_tracker_status(mut r: Response, v: TrackerVerdict) -> Response {
    r.headers_mut()
        .insert(TRACKER_STATUS, HeaderValue::from_static(v.as_str()));
    r
}

/// The impression beacon in the creative (`${KIKI_IMP_URL}`): counts a
/// rendered impression when its URL is signed, fresh and not seen before.
/// Browsers call it, so it takes no exchange key and moves no budget; it
/// answers 204 either way.
pub async fn impression(svc: &BidderService, req: Request) -> Response {
    let pairs = query_pairs(req.uri().query());
    let li = match line_item_param(&pairs) {
        Ok(li) => li,
        Err(r) => return r.response(),
    };
    let v = tracker_verdict(svc, TrackerKind::Impression, &pairs, li).await;
    if v.counts() && svc.item(li).is_some() {
        svc.reporting.add(
            li,
            svc.now_ms(),
            HourCounts {
                impressions: 1,
                ..HourCounts::default()
            },
        );
    }
    let mut r = versioned(StatusCode::NO_CONTENT.into_response());
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    with_tracker_status(r, v)
}

/// True when `host` is `allowed` or one of its subdomains.
fn host_matches(host: &str, allowed: &str) -> bool {
    let allowed = allowed.trim_start_matches("www.");
    let host = host.trim_start_matches("www.");
    !allowed.is_empty()
        && (host == allowed || host.strip_suffix(allowed).is_some_and(|p| p.ends_with('.')))
}

/// The click tracker (`${KIKI_CLICK_URL}` followed by the landing page):
/// redirects to the landing page, which must be on one of the line item's
/// advertiser domains (`adomain`) or an allow-listed host — never an open
/// redirect —, and counts the click when its URL is signed, fresh and not
/// seen before. A signed, fresh click (counted or repeated) also carries a
/// signed click id to the landing page (`kiki_click=…`, added to its query,
/// fragment kept), which a conversion reported later names.
pub async fn click(svc: &BidderService, req: Request) -> Response {
    let pairs = query_pairs(req.uri().query());
    let li = match line_item_param(&pairs) {
        Ok(li) => li,
        Err(r) => return r.response(),
    };
    let Some(item) = svc.item(li) else {
        return error(ErrorCode::NotFound, "No such line item is running.");
    };
    let Some(target) = param(&pairs, "url") else {
        return error(
            ErrorCode::BadRequest,
            "The `url` parameter (the landing page) is missing.",
        );
    };
    let parsed = url::Url::parse(target).ok().filter(|u| {
        matches!(u.scheme(), "https" | "http")
            && u.host_str().is_some_and(|h| {
                let h = h.to_ascii_lowercase();
                item.hosts
                    .iter()
                    .chain(svc.cfg.click_allowed_hosts.iter())
                    .any(|a| host_matches(&h, &a.to_ascii_lowercase()))
            })
    });
    let Some(landing) = parsed else {
        return error(
            ErrorCode::BadRequest,
            "The `url` is not a landing page of this line item's advertiser.",
        );
    };
    // The redirect happens either way; only a signed, fresh, first click
    // counts (the report and the engine's pCTR), and only a signed, fresh
    // one carries a click id (an unsigned URL is anyone's to make).
    let v = tracker_verdict(svc, TrackerKind::Click, &pairs, li).await;
    let click_id = v.signed_bid().and_then(|bid| {
        let creative = param(&pairs, "cr").unwrap_or_default();
        svc.issue_click_id(li, bid, creative)
    });
    let target = match &click_id {
        Some(id) => kiki_bidder::click_id::with_click_param(landing.as_str(), id),
        None => landing.as_str().to_owned(),
    };
    let Ok(location) = HeaderValue::from_str(&target) else {
        return error(ErrorCode::BadRequest, "The `url` cannot be redirected to.");
    };
    let mut r = versioned(StatusCode::FOUND.into_response());
    r.headers_mut().insert(header::LOCATION, location);
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let r = with_tracker_status(r, v);
    if !v.counts() {
        return r;
    }
    svc.reporting.add(
        li,
        svc.now_ms(),
        HourCounts {
            clicks: 1,
            ..HourCounts::default()
        },
    );
    svc.bidder.record_performance(
        li,
        PerformanceTotals {
            clicks: 1,
            ..PerformanceTotals::default()
        },
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_is_chosen_from_accept_encoding_with_its_quality() {
        let check = |values: &[&str], want: bool| {
            let mut h = HeaderMap::new();
            for v in values {
                h.append(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
            }
            assert_eq!(accepts_gzip(&h), want, "{values:?}");
        };
        check(&[], false);
        check(&["gzip"], true);
        check(&["GZIP"], true);
        check(&["deflate, br"], false);
        check(&["br", "gzip;q=0.5"], true);
        check(&["x-gzip"], true);
        check(&["*"], true);
        check(&["gzip;q=0"], false);
        check(&["gzip; q=0.000"], false);
        check(&["identity, gzip ; q=1"], true);
    }

    #[test]
    fn a_gzip_answer_says_so_and_a_plain_one_does_not() {
        let body = br#"{"id":"r","seatbid":[]}"#.repeat(20);
        let r = json_answer(body.clone(), true);
        assert_eq!(r.headers()[header::CONTENT_ENCODING], "gzip");
        assert_eq!(r.headers()[header::VARY], "accept-encoding");
        assert_eq!(r.headers()[OPENRTB_VERSION_HEADER.0], "2.6");
        let plain = json_answer(body, false);
        assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
        assert_eq!(plain.headers()[header::CONTENT_TYPE], "application/json");
    }

    #[test]
    fn micros_read_as_decimal_amounts() {
        for (m, want) in [
            (2_690_000, "2.69"),
            (1_000_000_000_000, "1000000.00"),
            (1, "0.000001"),
            (0, "0.00"),
            (2_500_000, "2.50"),
        ] {
            assert_eq!(micros_text(m), want);
        }
    }

    #[test]
    fn landing_hosts_match_the_domain_and_its_subdomains_only() {
        for (host, allowed, want) in [
            ("shop.example", "shop.example", true),
            ("www.shop.example", "shop.example", true),
            ("m.shop.example", "shop.example", true),
            ("evilshop.example", "shop.example", false),
            ("shop.example.evil.test", "shop.example", false),
            ("shop.example", "", false),
        ] {
            assert_eq!(host_matches(host, allowed), want, "{host} vs {allowed}");
        }
    }
}
