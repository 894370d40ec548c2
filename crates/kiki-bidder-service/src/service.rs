//! `BidderService`: the engine plus what surrounds it in a process — exchange
//! authentication, the snapshot and segment loads, reporting counters,
//! metrics handles, and the background loops (maintenance, refresh,
//! reporting flush, delivery-status decisions, shared-counter sync).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use kiki_bidder::valuation::{PerformanceTotals, SegmentData};
use kiki_bidder::{
    Bidder, BidderDeps, LineItem, LineItemId, NoBidReason, NoticeAnomaly, NoticeKind,
    NoticeOutcome, NoticeStatus, SegmentTable,
};
use kiki_core::{Clock, OrgId};
use kiki_explain::{Decisions, NewDecision};
use kiki_ltv_service::LtvService;
use kiki_server::Platform;
use kiki_shield::{Actor, AuditEvent, AuditLog};
use kiki_store::{Db, EventBus};
use metrics::{Counter, Histogram};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::{BidderServiceConfig, Cidr};
use crate::reporting::{HourCounts, Reporting};
use crate::shared::SharedCounters;
use crate::store;
use crate::trackers::Trackers;

/// Event kinds that make every replica reload.
/// The engine name on decision records.
pub const ENGINE: &str = "bidder.delivery";
/// The engine name on the decision records of refused notices.
pub const NOTICE_ENGINE: &str = "bidder.notices";
/// Most refused notices waiting for their decision record; beyond it they are
/// still refused and counted, but not recorded one by one.
const MAX_PENDING_ANOMALIES: usize = 10_000;

/// A refused notice waiting for the background flush to record it.
#[derive(Debug, Clone)]
pub struct PendingAnomaly {
    pub anomaly: NoticeAnomaly,
    pub kind: NoticeKind,
    /// `${AUCTION_PRICE}` as the exchange substituted it, and its currency.
    pub reported_price: String,
    pub reported_currency: String,
    pub at_ms: i64,
}

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
    pub daily_micros: i64,
    pub baseline_ltv_micros: i64,
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
    /// Refused notices whose decision records the reporting flush writes.
    anomalies: parking_lot::Mutex<Vec<PendingAnomaly>>,
    /// The platform's audit log and decision records.
    pub(crate) audit: AuditLog,
    pub(crate) decisions: Decisions,
    /// Where line-item and segment changes are published for every replica.
    pub(crate) events: EventBus,
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
    /// Redis counters, tracker URLs signed with `tracker_key` (see
    /// `trackers::derive_key`), and segment values synced from `ltv` when
    /// the module list wires it in.
    pub fn new(
        cfg: BidderServiceConfig,
        shared: Option<Arc<SharedCounters>>,
        platform: &Platform,
        tracker_key: kiki_bidder::tracker::TrackerKey,
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
            cfg,
            audit: platform.audit.clone(),
            decisions: platform.decisions.clone(),
            events: platform.events.clone(),
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

    /// Counts a refused notice and queues its decision record for the
    /// background flush: the notice path never waits for the database.
    pub fn queue_anomaly(
        &self,
        anomaly: NoticeAnomaly,
        kind: NoticeKind,
        query: &str,
        now_ms: i64,
    ) {
        metrics::counter!("kiki_bidder_notice_anomalies_total", "reason" => anomaly.reason.as_str())
            .increment(1);
        tracing::warn!(
            bid.id = %anomaly.bid_id,
            line_item.id = %anomaly.line_item,
            bid_price_micros = anomaly.bid_price_micros,
            reported_price_micros = anomaly.reported_price_micros,
            "bidder: a notice reports a clearing price above the bid; refused"
        );
        let (reported_price, reported_currency) =
            kiki_bidder::notice::NoticeParams::parse_query(query)
                .map(|p| {
                    (
                        p.price
                            .map(|s| s.chars().take(40).collect())
                            .unwrap_or_default(),
                        p.currency.unwrap_or(self.cfg.engine.currency).to_string(),
                    )
                })
                .unwrap_or_default();
        let mut q = self.anomalies.lock();
        if q.len() >= MAX_PENDING_ANOMALIES {
            metrics::counter!("kiki_bidder_notice_anomalies_unrecorded_total").increment(1);
            return;
        }
        q.push(PendingAnomaly {
            anomaly,
            kind,
            reported_price,
            reported_currency,
            at_ms: now_ms,
        });
    }

    /// Writes a decision record and an audit entry, in one transaction, for
    /// each refused notice queued since the last flush. A failed write keeps
    /// the rest for the next flush.
    pub async fn record_notice_anomalies(&self) -> anyhow::Result<usize> {
        let pending = std::mem::take(&mut *self.anomalies.lock());
        let mut recorded = 0;
        let mut iter = pending.into_iter();
        while let Some(p) = iter.next() {
            if let Err(e) = self.record_anomaly(&p).await {
                let mut q = self.anomalies.lock();
                let rest: Vec<PendingAnomaly> = std::iter::once(p).chain(iter).collect();
                let room = MAX_PENDING_ANOMALIES.saturating_sub(q.len());
                q.extend(rest.into_iter().take(room));
                return Err(e);
            }
            recorded += 1;
        }
        Ok(recorded)
    }

    async fn record_anomaly(&self, p: &PendingAnomaly) -> anyhow::Result<()> {
        let a = &p.anomaly;
        let org = self.item(a.line_item).map(|m| m.org);
        let cur = self.cfg.engine.currency;
        let explanation = format!(
            "The exchange reported a clearing price of {} {cur} CPM on a {} notice for bid {}, above the bid price of {} {cur} CPM; a clearing price never exceeds the bid (first or second price), so the notice was refused and no spend was booked.",
            crate::openrtb::micros_text(a.reported_price_micros),
            kind_name(p.kind),
            a.bid_id,
            crate::openrtb::micros_text(a.bid_price_micros),
        );
        let mut tx = self.db.begin().await?;
        let mut ev = AuditEvent::new(
            org,
            Actor::System(NOTICE_ENGINE.into()),
            "bidder.notice.refused",
        );
        ev.target_kind = Some("bidder_line_item".into());
        ev.target_id = Some(a.line_item.to_string());
        ev.details = serde_json::json!({
            "reason": a.reason.as_str(),
            "bid_id": a.bid_id.to_string(),
            "kind": kind_name(p.kind),
            "bid_price_micros": a.bid_price_micros,
            "reported_price_micros": a.reported_price_micros,
        });
        let entry = self.audit.append(&mut tx, ev).await?;
        self.decisions
            .record(
                &mut tx,
                NewDecision {
                    org_id: org,
                    engine: NOTICE_ENGINE.into(),
                    engine_version: env!("CARGO_PKG_VERSION").into(),
                    kind: a.reason.as_str().into(),
                    subject_kind: "bidder_bid".into(),
                    subject_id: a.bid_id.to_string(),
                    inputs: serde_json::json!({
                        "bid_id": a.bid_id.to_string(),
                        "line_item_id": a.line_item,
                        "notice": kind_name(p.kind),
                        "bid_price_micros": a.bid_price_micros,
                        "reported_price_micros": a.reported_price_micros,
                        "reported_price": p.reported_price,
                        "reported_currency": p.reported_currency,
                        "currency": cur.to_string(),
                        "received_at_ms": p.at_ms,
                    }),
                    output: serde_json::json!({ "status": "refused", "booked_micros": 0 }),
                    confidence: None,
                    explanation,
                    audit_entry_id: Some(entry.id),
                },
            )
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Reloads line items and segments from the database and swaps them in.
    pub async fn refresh(&self) -> Result<(), kiki_store::StoreError> {
        let now = self.clock.now();
        let rows = store::load_active(&self.db, now).await?;
        let (segs, members) = store::load_segments(&self.db).await?;
        // Building the segment table and compiling the snapshot is CPU work
        // (milliseconds for thousands of line items): off the runtime's
        // workers, so bids on the same worker do not wait behind it.
        let (bidder, segments, configured) = (
            self.bidder.clone(),
            self.segments.clone(),
            self.cfg.segments.clone(),
        );
        let old = self.meta.load_full();
        let compiled = tokio::task::spawn_blocking(move || {
            let mut data = SegmentData::new();
            for s in &configured {
                data.set_segment_ltv(OrgId(s.org_id), &s.segment, s.ltv);
                for u in &s.users {
                    data.assign_user(OrgId(s.org_id), u, &s.segment);
                }
            }
            for (org, seg, ltv) in &segs {
                data.set_segment_ltv(*org, seg, *ltv);
            }
            for (org, user, seg) in &members {
                data.assign_user(*org, user, seg);
            }
            segments.replace(data);

            let mut meta = HashMap::with_capacity(rows.len());
            let mut items: Vec<LineItem> = Vec::with_capacity(rows.len());
            for (li, delivery) in rows {
                let delivery = old
                    .get(&li.id)
                    .map(|m| m.delivery_status.clone())
                    .unwrap_or(delivery);
                meta.insert(
                    li.id,
                    ItemMeta {
                        org: li.org_id,
                        name: li.name.clone(),
                        daily_micros: li.budget.daily.micros,
                        baseline_ltv_micros: li.ltv_baseline.micros,
                        hosts: li
                            .creatives
                            .iter()
                            .flat_map(|c| c.adomain.iter())
                            .map(|h| h.trim().to_ascii_lowercase())
                            .collect(),
                        delivery_status: delivery,
                    },
                );
                items.push(li);
            }
            let report = bidder.load_line_items(&items, ms(now));
            (meta, report)
        })
        .await;
        let (meta, report) = match compiled {
            Ok(x) => x,
            // A panic while compiling is a bug: surface it as the task's panic.
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // The runtime is shutting down: nothing to load.
            Err(_) => return Ok(()),
        };
        for r in &report.rejected {
            tracing::warn!(line_item.id = %r.id, errors = ?r.errors, "bidder: a stored line item does not compile");
        }
        self.meta.store(Arc::new(meta));
        if !self.loaded.swap(true, Ordering::AcqRel) {
            // First load: restore the rate estimates from the stored report.
            match store::performance_totals(&self.db).await {
                Ok(rows) => {
                    for (li, imps, clicks) in rows {
                        self.bidder.set_performance(
                            li,
                            PerformanceTotals {
                                impressions: imps.max(0) as u64,
                                clicks: clicks.max(0) as u64,
                                ..PerformanceTotals::default()
                            },
                        );
                    }
                }
                Err(e) => tracing::warn!(error = %e, "bidder: cannot read performance totals"),
            }
        }
        tracing::debug!(
            snapshot.version = report.version,
            snapshot.active = report.active,
            "bidder snapshot loaded"
        );
        Ok(())
    }

    /// Writes the hourly counts gathered since the last flush (upsert-add).
    pub async fn flush_reporting(&self) -> Result<usize, kiki_store::StoreError> {
        let rows = self.reporting.drain();
        if rows.is_empty() {
            return Ok(0);
        }
        let meta = self.meta.load();
        let mut out = Vec::with_capacity(rows.len());
        let mut unknown = 0usize;
        for (li, hour, c) in &rows {
            let Some(m) = meta.get(li) else {
                unknown += 1;
                continue;
            };
            let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(*hour) * 1_000_000)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH);
            out.push((m.org, *li, at, *c));
        }
        if unknown > 0 {
            tracing::debug!(
                rows = unknown,
                "bidder: counts of line items no longer loaded dropped"
            );
        }
        let n = out.len();
        let res = async {
            let mut tx = self.db.begin().await?;
            store::add_hourly(&mut tx, &out).await?;
            tx.commit().await
        }
        .await;
        if let Err(e) = res {
            self.reporting.restore(rows);
            return Err(e);
        }
        Ok(n)
    }

    /// Compares each line item's delivery status with the last recorded one
    /// and records a decision (and an audit entry) for each change. A
    /// conditional update makes exactly one replica record a change.
    pub async fn record_status_changes(&self) -> anyhow::Result<usize> {
        let now_ms = self.now_ms();
        let meta = self.meta.load_full();
        let mut changed = Vec::new();
        for (id, m) in meta.iter() {
            let Some(st) = self.bidder.line_item_status(*id, now_ms) else {
                continue;
            };
            let policy = self
                .cfg
                .engine
                .margin_per_org
                .get(&m.org)
                .copied()
                .unwrap_or(self.cfg.engine.margin);
            let (status, why) = if m.baseline_ltv_micros < policy.min_ltv_micros {
                (
                    "margin_refused",
                    format!(
                        "MarginGuardian refuses contextual bids: the baseline LTV {} is below the minimum {} (micros); only users in segments above the minimum are bid on.",
                        m.baseline_ltv_micros, policy.min_ltv_micros
                    ),
                )
            } else if st.spent_today_micros >= m.daily_micros {
                (
                    "budget_exhausted",
                    format!(
                        "The daily budget of {} micros is spent ({} micros); bidding resumes tomorrow (UTC).",
                        m.daily_micros, st.spent_today_micros
                    ),
                )
            } else {
                (
                    "delivering",
                    format!(
                        "Delivering: {} of {} micros spent today, pacing throttle {:.4}.",
                        st.spent_today_micros, m.daily_micros, st.throttle
                    ),
                )
            };
            if m.delivery_status != status {
                changed.push((*id, m.clone(), status, why, st));
            }
        }
        let mut recorded = 0;
        for (id, m, status, why, st) in changed {
            let mut tx = self.db.begin().await?;
            if store::set_delivery_status(&mut tx, id, status).await? {
                let mut ev = AuditEvent::new(
                    Some(m.org),
                    Actor::System(ENGINE.into()),
                    "bidder.line_item.delivery_status",
                );
                ev.target_kind = Some("bidder_line_item".into());
                ev.target_id = Some(id.to_string());
                ev.details = serde_json::json!({ "from": m.delivery_status, "to": status });
                let entry = self.audit.append(&mut tx, ev).await?;
                self.decisions
                    .record(
                        &mut tx,
                        NewDecision {
                            org_id: Some(m.org),
                            engine: ENGINE.into(),
                            engine_version: env!("CARGO_PKG_VERSION").into(),
                            kind: status.into(),
                            subject_kind: "bidder_line_item".into(),
                            subject_id: id.to_string(),
                            inputs: serde_json::json!({
                                "daily_budget_micros": m.daily_micros,
                                "spent_today_micros": st.spent_today_micros,
                                "baseline_ltv_micros": m.baseline_ltv_micros,
                                "throttle": st.throttle,
                                "previous": m.delivery_status,
                            }),
                            output: serde_json::json!({ "status": status }),
                            confidence: None,
                            explanation: why,
                            audit_entry_id: Some(entry.id),
                        },
                    )
                    .await?;
                recorded += 1;
            }
            tx.commit().await?;
            // Remember it locally either way (another replica may have recorded it).
            let mut next = (*self.meta.load_full()).clone();
            if let Some(x) = next.get_mut(&id) {
                x.delivery_status = status.to_owned();
            }
            self.meta.store(Arc::new(next));
        }
        Ok(recorded)
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

pub fn kind_name(k: NoticeKind) -> &'static str {
    match k {
        NoticeKind::Win => "win",
        NoticeKind::Billing => "billing",
        NoticeKind::Loss => "loss",
    }
}

pub fn status_name(s: NoticeStatus) -> &'static str {
    match s {
        NoticeStatus::Applied => "applied",
        NoticeStatus::Duplicate => "duplicate",
        NoticeStatus::Unmatched => "unmatched",
        NoticeStatus::Late => "late",
        NoticeStatus::Conflicting => "conflicting",
        NoticeStatus::Test => "test",
        NoticeStatus::Refused => "refused",
    }
}

/// Publishes a change so every replica reloads.
pub async fn publish<E: kiki_store::Event>(
    events: &EventBus,
    org: OrgId,
    payload: &E,
    now: OffsetDateTime,
) {
    if let Err(e) = events.emit(Some(org), payload, now).await {
        tracing::warn!(error = %e, "bidder: cannot publish a change event; replicas reload on their timer");
    }
}

/// Starts the background loops. `bidding` is false in processes without the
/// `bidder` role: they keep the snapshot for status pages but never lease budget.
pub fn spawn_loops(
    svc: Arc<BidderService>,
    state: kiki_server::AppState,
    bidding: bool,
    cancel: CancellationToken,
) -> Vec<JoinHandle<()>> {
    let mut out = Vec::new();
    // Snapshot refresh: on change events and on a timer.
    {
        let svc = svc.clone();
        let cancel = cancel.clone();
        let state = state.clone();
        let mut rx = state.events.subscribe();
        out.push(tokio::spawn(async move {
            let mut tick =
                tokio::time::interval(Duration::from_secs(svc.cfg.snapshot_refresh_secs));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tick.tick() => {}
                    ev = rx.recv() => match ev {
                        Ok(e) if e.kind.starts_with("bidder.") => {}
                        Ok(_) => continue,
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                            rx = state.events.subscribe();
                            continue;
                        }
                    },
                }
                if let Err(e) = svc.refresh().await {
                    tracing::warn!(error = %e, "bidder: snapshot refresh failed; keeping the last one");
                }
            }
        }));
    }
    if !bidding {
        return out;
    }
    // Shared counters: flush queued increments, refresh caches.
    if let Some(shared) = svc.shared.clone() {
        out.push(tokio::spawn(shared.run(svc.clock.clone(), cancel.clone())));
    }
    // Maintenance every second; leases given back at shutdown.
    {
        let svc = svc.clone();
        let cancel = cancel.clone();
        out.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tick.tick() => {}
                }
                let s = svc.clone();
                // Blocking thread: a shared ledger's grant waits for Redis.
                let res = tokio::task::spawn_blocking(move || {
                    let now = s.now_ms();
                    let r = s.bidder.maintain(now);
                    s.update_gauges(now);
                    r
                })
                .await;
                if let Err(e) = res {
                    tracing::error!(error = %e, "bidder: maintenance panicked");
                }
            }
            let returned = svc.bidder.return_leases();
            if let Some(shared) = &svc.shared {
                shared.final_flush().await;
            }
            tracing::info!(
                budget.returned_micros = returned,
                "bidder stopped; unused budget leases given back"
            );
        }));
    }
    // Reporting flush and delivery-status decisions.
    {
        let svc = svc.clone();
        out.push(tokio::spawn(async move {
            let mut tick =
                tokio::time::interval(Duration::from_secs(svc.cfg.reporting_flush_secs));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tick.tick().await;
            loop {
                let stop = tokio::select! {
                    _ = cancel.cancelled() => true,
                    _ = tick.tick() => false,
                };
                if let Err(e) = svc.flush_reporting().await {
                    tracing::warn!(error = %e, "bidder: cannot write the hourly report; kept for the next flush");
                }
                if let Err(e) = svc.record_notice_anomalies().await {
                    tracing::warn!(error = %e, "bidder: cannot record refused notices; kept for the next flush");
                }
                if stop {
                    break;
                }
                if let Err(e) = svc.record_status_changes().await {
                    tracing::warn!(error = %e, "bidder: cannot record delivery status changes");
                }
            }
        }));
    }
    out
}
