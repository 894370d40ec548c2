//! `BidderService`: the engine plus what surrounds it in a process — exchange
//! authentication, observation of bids and notices, reporting counters and
//! metrics handles (`mod.rs`); the snapshot refresh (`snapshot.rs`); refused
//! notices (`notices.rs`); the hourly report and delivery-status decisions
//! (`delivery.rs`); the background loops (`loops.rs`); line-item use cases
//! (`line_items.rs`); the LTV segment sync (`ltv_sync.rs`); hourly counts
//! (`reporting.rs`); the Redis budget and frequency store (`shared.rs`);
//! tracker signing (`trackers.rs`); and click ids and the conversions
//! credited to line items, which feed pCVR (`conversions.rs`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use arc_swap::ArcSwap;
use kiki_bidder::{
    Bidder, BidderDeps, LineItemId, NoBidReason, NoticeKind, NoticeOutcome, NoticeStatus,
    SegmentTable,
};
use kiki_core::{Clock, OrgId};
use kiki_explain::Recorder;
use kiki_ltv_service::LtvService;
use kiki_server::Platform;
use kiki_store::Db;
use metrics::{Counter, Histogram};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use crate::config::{BidderServiceConfig, Cidr};

pub mod conversions;
mod delivery;
pub mod line_items;
mod loops;
pub mod ltv_sync;
mod notices;
pub mod reads;
pub mod reporting;
mod segments;
pub mod shared;
mod snapshot;
pub mod trackers;

pub use loops::spawn_loops;
pub use notices::PendingAnomaly;

use reporting::{HourCounts, Reporting};
use shared::SharedCounters;
use trackers::Trackers;

/// The engine name on decision records.
pub const ENGINE: &str = "bidder.delivery";
/// The engine name on the decision records of refused notices.
pub const NOTICE_ENGINE: &str = "bidder.notices";

/// Unix milliseconds of a clock reading.
pub fn ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

#[derive(Debug)]
struct Exchange {
    name: String,
    key_hash: Option<[u8; 32]>,
    addrs: Vec<Cidr>,
}

/// What the service keeps about each loaded line item besides the engine.
#[derive(Debug, Clone)]
pub struct ItemMeta {
    pub org: OrgId,
    pub name: String,
    /// The daily budget, in the line item's currency.
    pub daily: kiki_core::Money,
    pub baseline_ltv: kiki_core::Money,
    /// Landing hosts (the creatives' `adomain`), lower case.
    pub hosts: Vec<String>,
    pub delivery_status: String,
}

/// Prometheus handles, resolved once. The bid path records only the decision
/// latency; request, bid and no-bid totals are the engine's striped counters,
/// published every second by the maintenance loop (one process, one bidder).
#[derive(Debug)]
struct BidMetrics {
    requests: Counter,
    bids: Counter,
    wins: Counter,
    decision: Histogram,
    nobid: Vec<(NoBidReason, Counter)>,
    /// Requests refused before the engine saw them (unreadable or too large).
    refused_at_edge: kiki_bidder::striped::StripedCounter,
}

impl BidMetrics {
    fn new() -> Self {
        BidMetrics {
            requests: metrics::counter!("kiki_bidder_requests_total"),
            bids: metrics::counter!("kiki_bidder_bids_total"),
            wins: metrics::counter!("kiki_bidder_wins_total"),
            decision: metrics::histogram!("kiki_bidder_decision_seconds"),
            nobid: NoBidReason::ALL
                .iter()
                .map(|r| {
                    (
                        *r,
                        metrics::counter!("kiki_bidder_nobid_total", "nbr" => r.nbr().to_string()),
                    )
                })
                .collect(),
            refused_at_edge: Default::default(),
        }
    }
}

/// The service shared with handlers (`Service<BidderService>`).
pub struct BidderService {
    pub bidder: Arc<Bidder>,
    pub cfg: BidderServiceConfig,
    pub reporting: Reporting,
    pub segments: Arc<SegmentTable>,
    pub shared: Option<Arc<SharedCounters>>,
    exchanges: Vec<Exchange>,
    meta: ArcSwap<HashMap<LineItemId, ItemMeta>>,
    metrics: BidMetrics,
    pub(crate) db: Db,
    pub(crate) clock: Arc<dyn Clock>,
    loaded: AtomicBool,
    /// The LTV service, when the module list wires it in (see `ltv_sync`).
    pub(crate) ltv: Option<Arc<LtvService>>,
    /// `http.trust_forwarded_for`: an exchange's address may come from
    /// `X-Forwarded-For` (behind a trusted proxy).
    pub trust_forwarded_for: bool,
    /// Verifies tracker calls and remembers the counted ones.
    pub trackers: Trackers,
    /// Signs the click ids appended to landing pages and verifies them when
    /// a conversion names one.
    pub(crate) click_key: kiki_bidder::click_id::ClickKey,
    /// Refused notices whose decision records the reporting flush writes.
    anomalies: parking_lot::Mutex<Vec<PendingAnomaly>>,
    /// Writes each change with its audit entry and decision record, and
    /// publishes line-item and segment changes for every replica.
    pub(crate) record: Recorder,
}

impl std::fmt::Debug for BidderService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BidderService")
            .field("exchanges", &self.exchanges.len())
            .field("shared", &self.shared.is_some())
            .field("ltv", &self.ltv.is_some())
            .finish_non_exhaustive()
    }
}

fn hash_key(k: &[u8]) -> [u8; 32] {
    Sha256::digest(k).into()
}

/// Why an exchange request was refused (the 401's one-line reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    BadKey,
    NotAllowed,
}

impl AuthFailure {
    pub fn reason(self) -> &'static str {
        match self {
            AuthFailure::BadKey => "The x-kiki-exchange-key header does not match any exchange.",
            AuthFailure::NotAllowed => {
                "Send the x-kiki-exchange-key header or call from an exchange's allowed address."
            }
        }
    }
}

impl BidderService {
    /// Builds the service on the platform: the engine with in-memory or
    /// Redis counters, tracker URLs signed with `tracker_key` and click ids
    /// with `click_key` (see `trackers::derive_key` and
    /// `trackers::derive_click_key`), and segment values synced from `ltv`
    /// when the module list wires it in.
    pub fn new(
        cfg: BidderServiceConfig,
        shared: Option<Arc<SharedCounters>>,
        platform: &Platform,
        (tracker_key, click_key): (
            kiki_bidder::tracker::TrackerKey,
            kiki_bidder::click_id::ClickKey,
        ),
        ltv: Option<Arc<LtvService>>,
    ) -> anyhow::Result<BidderService> {
        let segments = Arc::new(SegmentTable::default());
        // Bid ids must not repeat across replicas (their notices are claimed in
        // Redis by id): the seed is 64 random bits, not the start time or the
        // process id (every container is pid 1, and a test clock stands still).
        let seed = uuid::Uuid::new_v4().as_u64_pair().0;
        let mut deps = BidderDeps::in_memory(seed);
        deps.segments = segments.clone();
        deps.tracker_key = Some(tracker_key.clone());
        if let Some(s) = &shared {
            deps.ledger = s.ledger();
            deps.frequency = s.frequency();
        }
        let bidder = Bidder::new(cfg.engine.clone(), deps)
            .map_err(|e| anyhow::anyhow!("bidder configuration: {e}"))?;
        let exchanges = cfg
            .exchanges
            .iter()
            .map(|x| Exchange {
                name: x.name.clone(),
                key_hash: x
                    .key
                    .as_ref()
                    .map(|k| hash_key(k.expose_secret().as_bytes())),
                addrs: x
                    .allowed_addrs
                    .iter()
                    .filter_map(|a| Cidr::parse(a))
                    .collect(),
            })
            .collect();
        Ok(BidderService {
            bidder: Arc::new(bidder),
            reporting: Reporting::default(),
            segments,
            shared,
            exchanges,
            meta: ArcSwap::from_pointee(HashMap::new()),
            metrics: BidMetrics::new(),
            db: platform.db.clone(),
            clock: platform.clock.clone(),
            loaded: AtomicBool::new(false),
            ltv,
            trust_forwarded_for: false,
            anomalies: parking_lot::Mutex::new(Vec::new()),
            trackers: Trackers::new(tracker_key, cfg.trackers),
            click_key,
            cfg,
            record: platform.recorder(),
        })
    }

    /// Takes the exchange's address from `X-Forwarded-For` when `yes`
    /// (`http.trust_forwarded_for`, set by the module from the server config).
    pub fn trusting_forwarded_for(mut self, yes: bool) -> BidderService {
        self.trust_forwarded_for = yes;
        self
    }

    pub fn now_ms(&self) -> i64 {
        ms(self.clock.now())
    }

    /// The exchange a request comes from: by key (constant time over every
    /// exchange) or by source address.
    pub fn authenticate(
        &self,
        key: Option<&[u8]>,
        ip: Option<IpAddr>,
    ) -> Result<&str, AuthFailure> {
        if let Some(k) = key {
            let h = hash_key(k);
            let mut found = None;
            for x in &self.exchanges {
                if let Some(kh) = &x.key_hash
                    && bool::from(kh.ct_eq(&h))
                    && found.is_none()
                {
                    found = Some(x.name.as_str());
                }
            }
            return found.ok_or(AuthFailure::BadKey);
        }
        if let Some(ip) = ip
            && let Some(x) = self
                .exchanges
                .iter()
                .find(|x| x.addrs.iter().any(|c| c.contains(ip)))
        {
            return Ok(&x.name);
        }
        Err(AuthFailure::NotAllowed)
    }

    /// The service's record of a loaded line item.
    pub fn item(&self, id: LineItemId) -> Option<ItemMeta> {
        self.meta.load().get(&id).cloned()
    }

    /// Counts a bid decision in the metrics and the hourly report.
    pub fn observe_bid(&self, reply: &kiki_bidder::BidReply, elapsed: Duration, now_ms: i64) {
        self.metrics.decision.record(elapsed.as_secs_f64());
        if let kiki_bidder::BidReply::Bid { decision, .. } = reply {
            for b in &decision.bids {
                self.reporting.add(
                    b.line_item,
                    now_ms,
                    HourCounts {
                        bids: 1,
                        ..HourCounts::default()
                    },
                );
            }
        }
    }

    /// Counts a request refused before the engine (body unreadable or too large).
    pub fn observe_refused_at_edge(&self) {
        self.metrics.refused_at_edge.add(1);
    }

    /// Publishes the engine's request, bid and no-bid totals to Prometheus.
    fn publish_counts(&self) {
        let st = self.bidder.stats();
        let m = &self.metrics;
        let edge = m.refused_at_edge.get();
        m.requests.absolute(st.requests + edge);
        m.bids.absolute(st.bids);
        for (reason, counter) in &m.nobid {
            let engine = st
                .no_bids
                .iter()
                .find(|n| n.reason == *reason)
                .map_or(0, |n| n.count);
            let at_edge = if *reason == NoBidReason::InvalidRequest {
                edge
            } else {
                0
            };
            counter.absolute(engine + at_edge);
        }
    }

    /// Counts a notice: wins and spend in the report, notice metrics.
    pub fn observe_notice(&self, out: &NoticeOutcome, now_ms: i64) {
        let status = status_name(out.status);
        metrics::counter!("kiki_bidder_notices_total",
            "kind" => kind_name(out.kind), "status" => status)
        .increment(1);
        if matches!(
            out.status,
            NoticeStatus::Duplicate | NoticeStatus::Test | NoticeStatus::Refused
        ) {
            return;
        }
        let Some(li) = out.line_item else {
            return;
        };
        let is_win = out.kind == NoticeKind::Win;
        if is_win {
            self.metrics.wins.increment(1);
        }
        self.reporting.add(
            li,
            now_ms,
            HourCounts {
                wins: i64::from(is_win),
                spend_micros: out.spend_micros.unwrap_or(0),
                ..HourCounts::default()
            },
        );
    }

    /// Sets the per-line-item pacing gauges (at most `throttle_gauge_limit`).
    fn update_gauges(&self, now_ms: i64) {
        self.publish_counts();
        let meta = self.meta.load();
        let mut ids: Vec<&LineItemId> = meta.keys().collect();
        ids.sort();
        for id in ids.into_iter().take(self.cfg.throttle_gauge_limit) {
            if let Some(st) = self.bidder.line_item_status(*id, now_ms) {
                metrics::gauge!("kiki_bidder_pacing_throttle", "line_item" => id.to_string())
                    .set(st.throttle);
            }
        }
        metrics::gauge!("kiki_bidder_line_items").set(meta.len() as f64);
    }
}

/// A notice kind's name (metrics labels, audit details).
pub fn kind_name(k: NoticeKind) -> &'static str {
    k.as_str()
}

/// A notice status's name (metrics labels, the notice answer).
pub fn status_name(s: NoticeStatus) -> &'static str {
    s.as_str()
}
